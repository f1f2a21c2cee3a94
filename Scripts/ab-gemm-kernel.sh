#!/usr/bin/env bash
# A/B of the GEMM kernel inside the training update: alternates
#   RECRL_GEMM=openblas recrl bench train ...   (A: OpenBLAS for every GEMM)
#   recrl bench train ...                       (B: RecRL's own SGEMM, AVX-512 or AVX2, where it serves)
# ROUNDS times each and prints the median and mean of all timed runs per side.
#
#   Scripts/ab-gemm-kernel.sh [--config medium] [--rounds 5] [--threads 2] [--recrl .build/release/recrl]
set -euo pipefail
CONFIG=medium; ROUNDS=5; THREADS=2; RECRL=.build/release/recrl
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2;;
    --rounds) ROUNDS="$2"; shift 2;;
    --threads) THREADS="$2"; shift 2;;
    --recrl) RECRL="$2"; shift 2;;
    -h|--help) sed -n '2,8p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
[ -x "$RECRL" ] || { echo "no $RECRL: swift build -c release --product recrl" >&2; exit 1; }
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
runs() { python3 -c "import json,sys; print(' '.join(str(x) for x in json.load(sys.stdin)['runs']))"; }
for r in $(seq "$ROUNDS"); do
  echo "A $(RECRL_GEMM=openblas "$RECRL" bench train --config "$CONFIG" --threads "$THREADS" --seconds 2 --json | runs)" >>"$OUT"
  echo "B $("$RECRL" bench train --config "$CONFIG" --threads "$THREADS" --seconds 2 --json | runs)" >>"$OUT"
  echo "round $r/$ROUNDS done" >&2
done
python3 - "$OUT" "$CONFIG" <<'PY'
import statistics, sys
runs = {"A": [], "B": []}
for line in open(sys.argv[1]):
    side, *xs = line.split()
    runs[side] += [float(x) for x in xs]
names = {"A": "openblas (RECRL_GEMM=openblas)", "B": "recrl (default)"}
for side in "AB":
    xs = runs[side]
    print(f"{sys.argv[2]} {names[side]:32s} median {statistics.median(xs):8.2f}  mean {statistics.mean(xs):8.2f} updates/s  ({len(xs)} runs)")
PY
