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
# DDPG learner's parallelism stays 1), and the table marks it with `*`.
#
# Figures: `train s` is recrl's JSON `train_seconds` (embedding pretraining + the training
# loop; not data loading, evaluation or saving) and drr_torch.py's `train_seconds` (the
# same span). `embed s`: the embedding pretraining alone; RecRL's JSON has no such field
# today (if it gains `embedding_seconds` it is used), so each round also runs `recrl
# train --episodes 1` per thread count and takes its train_seconds (pretraining + set-up
# + one warm-up episode). `learn ep/s`: episodes per second between the first and the
# last progress line ("episode N/E: ...", every 100 episodes in both programs; the first,
# at episode 100, is where the 1,000-transition warm-up ends), timed as the lines arrive:
# the rate of the learning phase, measured the same way for both (needs --episodes >= 200).
# `ep/s` = episodes / train s. `wall s`: the whole process (for recrl also loading,
# evaluation and saving). `others`: the average number of cores other processes kept busy
# during the run (/proc/stat); above ~0.3 the run was disturbed by other work.
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
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
DATA="${DATA:-$REPO/../shared/data/ml-100k}"
[ -f "$DATA/u.data" ] || { echo "no ML-100K at $DATA (u.data missing); pass --data DIR" >&2; exit 1; }
DATA="$(cd "$DATA" && pwd)"
CSV="${CSV:-$HERE/drr-train-runs.csv}"
PY="$HERE/.venv/bin/python"
UTIL=("$(command -v python3)" "$HERE/drr_compare.py")
NCPU="$(nproc)"

if [ "$RUN_TORCH" = 1 ] && ! "$PY" -c "import torch, numpy" >/dev/null 2>&1; then
  echo "[compare] $HERE/.venv lacks torch/numpy: running setup.sh" >&2
  "$HERE/setup.sh" >&2
fi
BIN="" THREAD_FLAG=""
if [ "$RUN_RECRL" = 1 ]; then
  if [ "$BUILD" = 1 ]; then
    echo "[compare] swift build -c release --product recrl in $REPO" >&2
    (cd "$REPO" && swift build -c release --product recrl >&2)
  fi
  BIN="$(cd "$REPO" && swift build -c release --show-bin-path)/recrl"
  [ -x "$BIN" ] || { echo "no release binary at $BIN (drop --no-build)" >&2; exit 1; }
  HELP="$("$BIN" train --help 2>&1 || true)"
  for f in --parallelism --threads; do
    if grep -q -- "$f" <<<"$HELP"; then THREAD_FLAG="$f"; break; fi
  done
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/drr-compare.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
[ -f "$CSV" ] || echo "utc,contender,threads,repeat,episodes,status,train_seconds,embedding_seconds,learning_episodes_per_second,episodes_per_second,wall_seconds,cpu_seconds,other_processes_cores,thread_option,host" > "$CSV"
HOST="$(hostname)"
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

pin() {  # pin N: a taskset prefix for N below the core count
  if [ "$1" -lt "$NCPU" ]; then echo "taskset -c 0-$(( $1 - 1 ))"; fi
}

# record contender threads repeat status train embed learn wall cpu others option
record() {
  local eps="" learn="${7#-}"
  if [ "$4" = ok ] && [ -n "$5" ]; then eps="$("${UTIL[0]}" -c "print(f'{$EPISODES / $5:.3f}')")"; fi
  echo "$(date -u +%FT%TZ),$1,$2,$3,$EPISODES,$4,$5,$6,$learn,$eps,$8,$9,${10},${11},$HOST" >> "$CSV"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$4" "$5" "$6" "$learn" "$eps" "$8" "${10}" >> "$RESULTS"
  echo "[compare]   $1 threads $2 repeat $3: $4, train ${5:-?} s, embeddings ${6:-?} s, learning ${learn:-?} episodes/s, ${eps:-?} episodes/s overall, wall $8 s, others busy ${10}" >&2
}

run_recrl() {  # run_recrl N repeat
  local n="$1" rep="$2" opt="" rc wall cpu others learn crc
  [ -n "$THREAD_FLAG" ] && opt="$THREAD_FLAG $n"
  # shellcheck disable=SC2046,SC2086
  read -r rc wall cpu others learn < <(OPENBLAS_NUM_THREADS="$n" "${UTIL[@]}" run "$WORK/recrl.out" "$TIMEOUT" \
      $(pin "$n") "$BIN" train --data "$DATA" --json --out "$WORK/model-$n-$rep" --episodes "$EPISODES" $opt)
  local train="" embed="" status=ok
  if [ "$rc" != 0 ]; then status="failed(rc $rc)"; learn=-; tail -5 "$WORK/recrl.out.err" >&2; else
    train="$("${UTIL[@]}" field "$WORK/recrl.out" train_seconds)"
    embed="$("${UTIL[@]}" field "$WORK/recrl.out" embedding_seconds)"
    if [ -z "$embed" ]; then
      # shellcheck disable=SC2046,SC2086
      read -r crc _ _ _ _ < <(OPENBLAS_NUM_THREADS="$n" "${UTIL[@]}" run "$WORK/calib.out" "$TIMEOUT" \
          $(pin "$n") "$BIN" train --data "$DATA" --json --out "$WORK/calib-$n-$rep" --episodes 1 $opt)
      if [ "$crc" = 0 ]; then embed="$("${UTIL[@]}" field "$WORK/calib.out" train_seconds)"; fi
    fi
  fi
  record recrl "$n" "$rep" "$status" "$train" "$embed" "$learn" "$wall" "$cpu" "$others" "${THREAD_FLAG:-none}"
}

run_torch() {  # run_torch N repeat
  local n="$1" rep="$2" rc wall cpu others learn
  read -r rc wall cpu others learn < <("${UTIL[@]}" run "$WORK/torch.out" "$TIMEOUT" \
      "$PY" "$HERE/drr_torch.py" --data "$DATA" --episodes "$EPISODES" --threads "$n" --json)
  local train="" embed="" status=ok
  if [ "$rc" != 0 ]; then status="failed(rc $rc)"; learn=-; tail -5 "$WORK/torch.out.err" >&2; else
    train="$("${UTIL[@]}" field "$WORK/torch.out" train_seconds)"
    embed="$("${UTIL[@]}" field "$WORK/torch.out" embedding_seconds)"
  fi
  record torch "$n" "$rep" "$status" "$train" "$embed" "$learn" "$wall" "$cpu" "$others" "torch.set_num_threads"
}

RUNS=$(( REPEATS * $(wc -w <<<"$THREADS") * (RUN_RECRL + RUN_TORCH) ))
echo "[compare] $RUNS runs of $EPISODES episodes on $DATA (timeout $TIMEOUT s each); recrl train thread option: ${THREAD_FLAG:-none}" >&2
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

"${UTIL[@]}" table "$RESULTS" "$EPISODES" "$THREAD_FLAG" "$RUN_RECRL"
echo "[compare] raw runs appended to $CSV" >&2
