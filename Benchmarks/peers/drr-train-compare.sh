#!/usr/bin/env bash
# DRR-ave training on MovieLens 100K: RecRL's `recrl train` against the PyTorch peer
# drr_torch.py (same data, split, configuration and work per step), side by side at the
# same thread counts. Runs alternate between the contenders; prints one table of medians
# and appends every run to a CSV.
#
# Usage: Benchmarks/peers/drr-train-compare.sh [REPO] [options]
#   REPO              repository root to build and run (default: this script's repository)
#   --data DIR        ML-100K directory (default: REPO/../shared/data/ml-100k)
#   --episodes N      training episodes (default 500, recrl train's default)
#   --repeats R       runs per contender and thread count (default 3)
#   --threads "1 2"   thread counts (default "1 2")
#   --csv FILE        raw runs appended here (default Benchmarks/peers/drr-train-runs.csv, git-ignored)
#   --timeout SEC     per-run limit; a run over it is killed and recorded as failed (default 900)
#   --no-build        use the existing release binary
#   --no-recrl | --no-torch   run one contender only
#
# Threads: torch gets torch.set_num_threads(N) plus OMP/OPENBLAS/MKL_NUM_THREADS=N, and
# is pinned to N cores when N is below the core count (drr_torch.py --threads N). RecRL
# gets OPENBLAS_NUM_THREADS=N and the same pinning (taskset), and `--parallelism N` /
# `--threads N` if `recrl train --help` offers such an option; without one, RecRL's DRR
# training runs on one thread whatever N is (DRRTrainer sets BLAS to one thread and the
# DDPG learner's parallelism stays 1), and the table says so.
#
# Figures: `train s` is recrl's JSON `train_seconds` (embedding pretraining + the training
# loop; not data loading, evaluation or saving) and drr_torch.py's `train_seconds` (the
# same span). `embed s`: the embedding pretraining alone; RecRL's JSON has no such field
# today (if it gains `embedding_seconds` it is used), so each round runs `recrl train
# --episodes 1` once per thread count and takes its train_seconds (pretraining + setup
# + one warm-up episode). `loop s` = train s - embed s; `episodes/s` = episodes / loop s.
# `wall s` is the whole process (loading, evaluation and saving included for recrl).
# `others` is the average number of cores other processes kept busy during the run
# (/proc/stat): above ~0.3 the run was disturbed by other work on the machine.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then REPO="$(cd "$1" && pwd)"; shift; fi
DATA="" EPISODES=500 REPEATS=3 THREADS="1 2" CSV="" TIMEOUT=900 BUILD=1 RUN_RECRL=1 RUN_TORCH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --episodes) EPISODES="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --csv) CSV="$2"; shift 2 ;;
    --timeout) TIMEOUT="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-recrl) RUN_RECRL=0; shift ;;
    --no-torch) RUN_TORCH=0; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
DATA="${DATA:-$REPO/../shared/data/ml-100k}"
[ -f "$DATA/u.data" ] || { echo "no ML-100K at $DATA (u.data missing); pass --data DIR" >&2; exit 1; }
DATA="$(cd "$DATA" && pwd)"
CSV="${CSV:-$HERE/drr-train-runs.csv}"
PEER="$HERE/drr_torch.py"
PY="$HERE/.venv/bin/python"
SYSPY="$(command -v python3)"
NCPU="$(nproc)"

if [ "$RUN_TORCH" = 1 ] && ! "$PY" -c "import torch, numpy" >/dev/null 2>&1; then
  echo "[compare] $HERE/.venv lacks torch/numpy: running setup.sh" >&2
  "$HERE/setup.sh" >&2
fi
BIN=""
if [ "$RUN_RECRL" = 1 ]; then
  if [ "$BUILD" = 1 ]; then
    echo "[compare] swift build -c release --product recrl in $REPO" >&2
    (cd "$REPO" && swift build -c release --product recrl >&2)
  fi
  BIN="$(cd "$REPO" && swift build -c release --show-bin-path)/recrl"
  [ -x "$BIN" ] || { echo "no release binary at $BIN (drop --no-build)" >&2; exit 1; }
  HELP="$("$BIN" train --help 2>&1 || true)"
  THREAD_FLAG=""
  for f in --parallelism --threads; do
    if grep -q -- "$f" <<<"$HELP"; then THREAD_FLAG="$f"; break; fi
  done
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/drr-compare.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
[ -f "$CSV" ] || echo "utc,contender,threads,repeat,episodes,status,train_seconds,embedding_seconds,loop_seconds,episodes_per_second,wall_seconds,cpu_seconds,other_processes_cores,thread_option,host" > "$CSV"
HOST="$(hostname)"
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

# run_timed OUTFILE CMD...: runs CMD (stdout -> OUTFILE, stderr -> OUTFILE.err) under the
# timeout; prints "rc wall_seconds cpu_seconds other_cores".
run_timed() {
  local out="$1"; shift
  "$SYSPY" - "$out" "$TIMEOUT" "$@" <<'EOF'
import os, resource, subprocess, sys, time
out, limit, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
def snap():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - (v[4] if len(v) > 4 else 0)
hz = os.sysconf("SC_CLK_TCK")
b0, r0, t0 = snap(), resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
with open(out, "w") as so, open(out + ".err", "w") as se:
    try:
        rc = subprocess.run(cmd, stdout=so, stderr=se, timeout=limit).returncode
    except subprocess.TimeoutExpired:
        rc = 124
t1, r1, b1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN), snap()
wall = t1 - t0
cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
others = max(0.0, (b1 - b0) / hz - cpu) / wall if wall > 0 else 0.0
print(rc, f"{wall:.3f}", f"{cpu:.3f}", f"{others:.2f}")
EOF
}

# json_field FILE KEY: the KEY of the last JSON line of FILE, or empty.
json_field() {
  "$SYSPY" - "$1" "$2" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip().startswith("{")]
v = json.loads(lines[-1]).get(sys.argv[2]) if lines else None
print("" if v is None else v)
EOF
}

pin() {  # pin N: a taskset prefix for N < core count
  if [ "$1" -lt "$NCPU" ]; then echo "taskset -c 0-$(( $1 - 1 ))"; fi
}

record() {  # record contender threads repeat status train embed wall cpu others option
  local loop="" eps=""
  if [ "$4" = ok ] && [ -n "$5" ] && [ -n "$6" ]; then
    loop="$("$SYSPY" -c "print(f'{$5 - $6:.3f}')")"
    eps="$("$SYSPY" -c "print(f'{$EPISODES / ($5 - $6):.3f}' if $5 > $6 else '')")"
  fi
  echo "$(date -u +%FT%TZ),$1,$2,$3,$EPISODES,$4,$5,$6,$loop,$eps,$7,$8,$9,${10},$HOST" >> "$CSV"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$4" "$5" "$6" "$loop" "$eps" "$7" "$9" >> "$RESULTS"
  echo "[compare]   $1 threads $2 repeat $3: $4, train ${5:-?} s, embeddings ${6:-?} s, loop ${loop:-?} s, ${eps:-?} episodes/s, wall $7 s, others busy $9" >&2
}

run_recrl() {  # run_recrl N repeat
  local n="$1" rep="$2" opt="" label
  [ -n "$THREAD_FLAG" ] && opt="$THREAD_FLAG $n"
  label="${THREAD_FLAG:-none}"
  local common=(train --data "$DATA" --json)
  # shellcheck disable=SC2046,SC2086
  read -r rc wall cpu others < <(OPENBLAS_NUM_THREADS="$n" run_timed "$WORK/recrl.out" $(pin "$n") "$BIN" "${common[@]}" \
      --out "$WORK/model-$n-$rep" --episodes "$EPISODES" $opt)
  local train="" embed="" status=ok
  if [ "$rc" != 0 ]; then status="failed(rc $rc)"; tail -5 "$WORK/recrl.out.err" >&2; else
    train="$(json_field "$WORK/recrl.out" train_seconds)"
    embed="$(json_field "$WORK/recrl.out" embedding_seconds)"
    if [ -z "$embed" ]; then
      # shellcheck disable=SC2046,SC2086
      read -r crc _ _ _ < <(OPENBLAS_NUM_THREADS="$n" run_timed "$WORK/calib.out" $(pin "$n") "$BIN" "${common[@]}" \
          --out "$WORK/calib-$n-$rep" --episodes 1 $opt)
      [ "$crc" = 0 ] && embed="$(json_field "$WORK/calib.out" train_seconds)"
    fi
  fi
  record recrl "$n" "$rep" "$status" "$train" "$embed" "$wall" "$cpu" "$others" "$label"
}

run_torch() {  # run_torch N repeat
  local n="$1" rep="$2"
  read -r rc wall cpu others < <(run_timed "$WORK/torch.out" "$PY" "$PEER" --data "$DATA" --episodes "$EPISODES" \
      --threads "$n" --json)
  local train="" embed="" status=ok
  if [ "$rc" != 0 ]; then status="failed(rc $rc)"; tail -5 "$WORK/torch.out.err" >&2; else
    train="$(json_field "$WORK/torch.out" train_seconds)"
    embed="$(json_field "$WORK/torch.out" embedding_seconds)"
  fi
  record torch "$n" "$rep" "$status" "$train" "$embed" "$wall" "$cpu" "$others" "torch.set_num_threads"
}

RUNS=$(( REPEATS * $(wc -w <<<"$THREADS") * (RUN_RECRL + RUN_TORCH) ))
echo "[compare] $RUNS runs of $EPISODES episodes on $DATA (timeout $TIMEOUT s each); RecRL thread option: ${THREAD_FLAG:-none}" >&2
for rep in $(seq 1 "$REPEATS"); do
  for n in $THREADS; do
    # Alternate which contender goes first, so drift on the machine hits both alike.
    if [ $(( rep % 2 )) = 1 ]; then order="recrl torch"; else order="torch recrl"; fi
    for c in $order; do
      if [ "$c" = recrl ] && [ "$RUN_RECRL" = 1 ]; then run_recrl "$n" "$rep"; fi
      if [ "$c" = torch ] && [ "$RUN_TORCH" = 1 ]; then run_torch "$n" "$rep"; fi
    done
  done
done

"$SYSPY" - "$RESULTS" "$EPISODES" "${THREAD_FLAG:-}" "$RUN_RECRL" <<'EOF'
import statistics, sys
path, episodes, flag, ran_recrl = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
rows = {}
for line in open(path):
    c, n, status, train, embed, loop, eps, wall, others = line.rstrip("\n").split("\t")
    rows.setdefault((c, int(n)), []).append((status, train, embed, loop, eps, wall, others))
def med(vals):
    v = [float(x) for x in vals if x not in ("", None)]
    return statistics.median(v) if v else None
def fmt(x, d=2):
    return "-" if x is None else f"{x:.{d}f}"
print(f"\nDRR-ave training on ML-100K, {episodes} episodes: medians over the runs")
print(f"{'contender':<10} {'threads':>7} {'train s':>9} {'embed s':>8} {'loop s':>8} {'episodes/s':>10} {'wall s':>8} {'others':>12} {'runs':>5}")
eps_of = {}
for (c, n) in sorted(rows, key=lambda k: (k[1], k[0])):
    ok = [r for r in rows[(c, n)] if r[0] == "ok"]
    e = med(r[4] for r in ok)
    eps_of[(c, n)] = e
    oth = [float(r[6]) for r in ok if r[6]]
    rng = f"{min(oth):.1f}-{max(oth):.1f}" if oth else "-"
    label = f"{n}" if c != "recrl" or flag else f"{n}*"
    print(f"{c:<10} {label:>7} {fmt(med(r[1] for r in ok)):>9} {fmt(med(r[2] for r in ok)):>8} "
          f"{fmt(med(r[3] for r in ok)):>8} {fmt(e):>10} {fmt(med(r[5] for r in ok)):>8} {rng:>12} "
          f"{len(ok)}/{len(rows[(c, n)])}")
for n in sorted({k[1] for k in rows}):
    a, b = eps_of.get(("recrl", n)), eps_of.get(("torch", n))
    if a and b:
        print(f"threads {n}: RecRL / PyTorch episodes/s = {a / b:.2f}x")
if ran_recrl and not flag:
    print("* recrl train has no thread option: its DRR training runs on one thread at every N "
          "(BLAS pinned to 1 thread by DRRTrainer, learner parallelism 1); N only sets OPENBLAS_NUM_THREADS "
          "(embedding pretraining) and the core pinning.")
EOF
echo "[compare] raw runs appended to $CSV" >&2
