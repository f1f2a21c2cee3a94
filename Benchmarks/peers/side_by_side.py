#!/usr/bin/env python3
"""Runs a RecRL bench command and its PyTorch peer side by side; the driver behind
layers-compare.sh (`recrl-bench layers` vs layers_torch.py) and lird-deeppage-compare.sh
(`recrl-bench update` vs list_update_torch.py). Standard library only.

For each repeat and thread count it runs both contenders (alternating which goes first, so
drift on the machine hits both alike), each as its own process with the same thread count:
RecRL with `--threads N` and OPENBLAS_NUM_THREADS=N, pinned to N cores with taskset below
the core count; the peer with `--threads N` (which sets torch's threads and pins itself).
Every JSON line is appended to --raw. The table shows, per item and thread count, the median
over the repeats of each side's rate (each run's own figure is already a median of its
timed runs), RecRL / PyTorch, RecRL's heap allocations per warm call (`recrl-bench` counts
them; n/a when it cannot), and `others`: the most cores other processes kept busy during
any of the runs behind the row (/proc/stat minus the child's CPU time); above ~0.3 the row
is disturbed. A shape RecRL and the peer describe differently is flagged under the table.

    side_by_side.py layers|update --recrl-bench BIN --python PY [--threads 1,2] [--repeats 3]
                    [--seconds S] [--runs R] [--select a,b] [--raw FILE] [--timeout SEC]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = {
    # kind: (recrl-bench subcommand, peer script, selection option, item key, rate key, rate unit, allocation key)
    "layers": ("layers", "layers_torch.py", "--layers", "layer", "calls_per_second", "calls/s", "allocations_per_call"),
    "update": ("update", "list_update_torch.py", "--models", "model", "updates_per_second", "updates/s",
               "allocations_per_update"),
}


def busy_jiffies():
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - (v[4] if len(v) > 4 else 0)
    except OSError:
        return None


def run(cmd, env, timeout):
    """Runs cmd; returns (parsed JSON of its last stdout line or None, cores others kept busy, stderr tail)."""
    hz = os.sysconf("SC_CLK_TCK")
    before, children, t0 = busy_jiffies(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {timeout} s"
    elapsed, after = time.perf_counter() - t0, busy_jiffies()
    c2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (c2.ru_utime - children.ru_utime) + (c2.ru_stime - children.ru_stime)
    others = None if before is None or after is None else max(0.0, ((after - before) / hz - own) / elapsed)
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if p.returncode != 0 or not lines:
        return None, others, f"exit {p.returncode}: " + "\n".join(p.stderr.strip().splitlines()[-5:])
    return json.loads(lines[-1]), others, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=sorted(KINDS))
    ap.add_argument("--recrl-bench", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seconds", type=float)
    ap.add_argument("--runs", type=int)
    ap.add_argument("--select", help="items to time (layer or model names, comma-separated)")
    ap.add_argument("--raw", help="append every JSON result here (one line per run)")
    ap.add_argument("--timeout", type=float, default=900)
    a = ap.parse_args()
    sub, script, select_opt, key, rate, unit, alloc = KINDS[a.kind]
    threads = [int(t) for t in a.threads.replace(" ", ",").split(",") if t]
    if not threads or min(threads) < 1 or a.repeats < 1:
        sys.exit("--threads needs positive counts and --repeats at least 1")
    common = []
    if a.seconds is not None:
        common += ["--seconds", str(a.seconds)]
    if a.runs is not None:
        common += ["--runs", str(a.runs)]
    if a.select:
        common += [select_opt, a.select]
    ncpu = os.cpu_count() or 1
    rows = {}      # (item, threads) -> {"recrl": [rates], "torch": [rates], "alloc": [..], "others": [..], "shape": {}}
    order = []
    failures = 0
    for rep in range(1, a.repeats + 1):
        for n in threads:
            contenders = ["recrl", "torch"] if rep % 2 else ["torch", "recrl"]
            for c in contenders:
                env = dict(os.environ)
                if c == "recrl":
                    env["OPENBLAS_NUM_THREADS"] = str(n)
                    pin = ["taskset", "-c", f"0-{n - 1}"] if n < ncpu else []
                    cmd = pin + [a.recrl_bench, sub, "--threads", str(n), "--json"] + common
                else:
                    cmd = [a.python, os.path.join(HERE, script), "--threads", str(n), "--json"] + common
                out, others, err = run(cmd, env, a.timeout)
                label = f"{c} threads {n} repeat {rep}"
                if out is None:
                    failures += 1
                    print(f"[compare] {label}: failed ({err})", file=sys.stderr)
                    continue
                if a.raw:
                    with open(a.raw, "a") as f:
                        f.write(json.dumps({"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "contender": c,
                                            "threads": n, "repeat": rep, "kind": a.kind,
                                            "other_processes_cores": others, "output": out}) + "\n")
                for r in out["results"]:
                    item = r[key]
                    row = rows.setdefault((item, n), {"recrl": [], "torch": [], "alloc": [], "others": [], "shape": {}})
                    if (item, n) not in order:
                        order.append((item, n))
                    row[c].append(r[rate])
                    row["shape"][c] = r.get("shape")
                    if c == "recrl" and r.get(alloc) is not None:
                        row["alloc"].append(r[alloc])
                    if others is not None:
                        row["others"].append(others)
                print(f"[compare] {label}: " + ", ".join(f"{r[key]} {r[rate]:.1f}" for r in out["results"])
                      + (f" {unit}; others busy {others:.2f}" if others is not None else f" {unit}"), file=sys.stderr)

    def med(v):
        return statistics.median(v) if v else None

    print(f"\n{a.kind}: RecRL (recrl-bench {sub}) vs PyTorch ({script}), median of {a.repeats} repeat(s), {unit}")
    head = f"{key:<18} {'threads':>7} {'RecRL':>10} {'PyTorch':>10} {'RecRL/PT':>9} {'allocs':>7} {'others':>7}"
    print(head)
    print("-" * len(head))
    mismatched = []
    items = list(dict.fromkeys(item for item, _ in order))
    for item, n in [(i, n) for i in items for n in threads if (i, n) in rows]:
        row = rows[(item, n)]
        r, t = med(row["recrl"]), med(row["torch"])
        ratio = f"{r / t:9.2f}" if r and t else f"{'-':>9}"
        allocs = f"{max(row['alloc']):7.1f}" if row["alloc"] else f"{'n/a':>7}"
        others = f"{max(row['others']):7.2f}" if row["others"] else f"{'?':>7}"
        print(f"{item:<18} {n:>7} {r if r is not None else float('nan'):>10.1f} {t if t is not None else float('nan'):>10.1f}"
              f" {ratio} {allocs} {others}")
        sh = row["shape"]
        if sh.get("recrl") and sh.get("torch") and sh["recrl"] != sh["torch"] and item not in [m[0] for m in mismatched]:
            mismatched.append((item, sh["recrl"], sh["torch"]))
    for item, rs, ts in mismatched:
        print(f"shape mismatch for {item}: RecRL '{rs}' vs PyTorch '{ts}'")
    shapes = {item: rows[(item, n)]["shape"].get("recrl") or rows[(item, n)]["shape"].get("torch") for item, n in order}
    for item, s in shapes.items():
        print(f"  {item}: {s}")
    print("allocs: RecRL's heap allocations per warm call (largest over the repeats); others: cores other processes"
          " kept busy (largest); above ~0.3 the row is disturbed.")
    if failures:
        print(f"{failures} run(s) failed (see above)")
        sys.exit(1)


if __name__ == "__main__":
    main()
