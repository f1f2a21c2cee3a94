#!/usr/bin/env python3
"""Helpers of drr-train-compare.sh (standard library only; any python3).

  drr_compare.py run OUT TIMEOUT CMD...
      Runs CMD with stdout -> OUT and stderr through a pseudo-terminal -> OUT.err, each
      line prefixed with its arrival time (s). A pseudo-terminal because `recrl train`
      prints its progress lines only to a terminal when --json is given. Kills CMD after
      TIMEOUT seconds (rc 124). Prints one line:
        rc wall_seconds cpu_seconds other_cores learn_episodes_per_second
      cpu_seconds: the child's user + system time; other_cores: the average number of
      cores other processes kept busy meanwhile (/proc/stat); learn_episodes_per_second:
      episodes per second between the first and the last "episode N/E:" progress line
      ("-" with fewer than two).
  drr_compare.py field FILE KEY
      KEY of the last JSON object line in FILE (empty if absent).
  drr_compare.py table RESULTS EPISODES THREAD_FLAG RAN_RECRL
      The median table of drr-train-compare.sh from its tab-separated RESULTS file.
"""
import json
import os
import pty
import re
import resource
import select
import statistics
import subprocess
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import cpu_snapshot  # noqa: E402  (stdlib only at import)


def busy_jiffies():
    """All cores' busy jiffies (/proc/stat)."""
    return cpu_snapshot()[0]


def run(out, limit, cmd):
    hz = os.sysconf("SC_CLK_TCK")
    master, slave = pty.openpty()
    b0, r0, t0 = busy_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    progress = []   # (seconds since start, episode)
    rc = None
    with open(out, "w") as so, open(out + ".err", "w") as se:
        child = subprocess.Popen(cmd, stdout=so, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        pending = b""
        while True:
            left = t0 + limit - time.perf_counter()
            if left <= 0:
                child.kill()
                child.wait()
                rc = 124
                break
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:          # EIO: the child closed the terminal
                chunk = b""
            if not chunk:
                break
            now = time.perf_counter() - t0
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                se.write(f"{now:10.3f}  {line}\n")
                m = re.match(r"episode (\d+)/\d+:", line)
                if m:
                    progress.append((now, int(m.group(1))))
        if rc is None:
            rc = child.wait()
    os.close(master)
    t1, r1, b1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN), busy_jiffies()
    wall = t1 - t0
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    others = max(0.0, (b1 - b0) / hz - cpu) / wall if wall > 0 else 0.0
    learn = "-"
    if len(progress) >= 2 and progress[-1][0] > progress[0][0]:
        learn = f"{(progress[-1][1] - progress[0][1]) / (progress[-1][0] - progress[0][0]):.3f}"
    print(rc, f"{wall:.3f}", f"{cpu:.3f}", f"{others:.2f}", learn)


def field(path, key):
    lines = [line for line in open(path) if line.strip().startswith("{")]
    v = json.loads(lines[-1]).get(key) if lines else None
    print("" if v is None else v)


def table(path, episodes, flag, ran_recrl):
    rows = {}
    for line in open(path):
        c, n, status, train, embed, learn, eps, wall, others = line.rstrip("\n").split("\t")
        rows.setdefault((c, int(n)), []).append((status, train, embed, learn, eps, wall, others))

    def med(vals):
        v = [float(x) for x in vals if x not in ("", "-", None)]
        return statistics.median(v) if v else None

    def fmt(x):
        return "-" if x is None else f"{x:.2f}"

    print(f"\nDRR-ave training on ML-100K, {episodes} episodes: medians over the runs")
    print(f"{'contender':<10} {'threads':>7} {'train s':>9} {'embed s':>8} {'learn ep/s':>10} {'ep/s':>7} "
          f"{'wall s':>8} {'others':>9} {'runs':>5}")
    rate = {}
    for (c, n) in sorted(rows, key=lambda k: (k[1], k[0])):
        ok = [r for r in rows[(c, n)] if r[0] == "ok"]
        rate[(c, n)] = (med(r[3] for r in ok), med(r[4] for r in ok))
        oth = [float(r[6]) for r in ok if r[6]]
        span = f"{min(oth):.1f}-{max(oth):.1f}" if oth else "-"
        label = f"{n}" if c != "recrl" or flag else f"{n}*"
        print(f"{c:<10} {label:>7} {fmt(med(r[1] for r in ok)):>9} {fmt(med(r[2] for r in ok)):>8} "
              f"{fmt(rate[(c, n)][0]):>10} {fmt(rate[(c, n)][1]):>7} {fmt(med(r[5] for r in ok)):>8} "
              f"{span:>9} {len(ok)}/{len(rows[(c, n)])}")
    for n in sorted({k[1] for k in rows}):
        a, b = rate.get(("recrl", n)), rate.get(("torch", n))
        if a and b:
            parts = [f"{name} {x / y:.2f}x" for name, x, y in
                     (("learning episodes/s", a[0], b[0]), ("episodes/s", a[1], b[1])) if x and y]
            if parts:
                print(f"threads {n}: RecRL / PyTorch " + ", ".join(parts))
    if ran_recrl and not flag:
        print("* recrl train has no thread option: its DRR training runs on one thread at every N (DRRTrainer "
              "sets BLAS to one thread, the learner's parallelism is 1); N only sets OPENBLAS_NUM_THREADS "
              "(embedding pretraining) and the core pinning.")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "run" and len(sys.argv) > 4:
        run(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    elif what == "field" and len(sys.argv) == 4:
        field(sys.argv[2], sys.argv[3])
    elif what == "table" and len(sys.argv) == 6:
        table(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")
    else:
        sys.exit(__doc__)
