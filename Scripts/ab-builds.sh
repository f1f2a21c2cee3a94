#!/usr/bin/env bash
# A/B of two commits' training update: builds `recrl` (release) at each git revision in a
# worktree under .build-ab/, then alternates
#   A/recrl bench train --config C --threads N --seconds S --json
#   B/recrl bench train ...
# ROUNDS times each and prints the median, mean and upper quartile of all timed runs per
# side (the upper quartile follows the faster of the machine's two speed levels).
#
#   Scripts/ab-builds.sh REV_A REV_B [--config paper] [--threads 2] [--rounds 8] [--seconds 1]
#                        [--a-binary PATH] [--b-binary PATH]   (an existing build of that revision)
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,10p' "$0"; exit 2; }
REV_A="$1"; REV_B="$2"; shift 2
CONFIG=paper; ROUNDS=8; THREADS=2; SECONDS_PER=1; A=""; B=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) CONFIG="$2"; shift 2;;
    --rounds) ROUNDS="$2"; shift 2;;
    --threads) THREADS="$2"; shift 2;;
    --seconds) SECONDS_PER="$2"; shift 2;;
    --a-binary) A="$2"; shift 2;;
    --b-binary) B="$2"; shift 2;;
    -h|--help) sed -n '2,10p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
ROOT="$(git rev-parse --show-toplevel)"
build() {  # prints the path of the recrl binary built at revision $1
  local sha dir
  sha="$(git -C "$ROOT" rev-parse --short "$1")"
  dir="$ROOT/.build-ab/$sha"
  if [ ! -d "$dir" ]; then git -C "$ROOT" worktree add --detach "$dir" "$sha" >&2; fi
  (cd "$dir" && swift build -c release --product recrl >&2)
  echo "$dir/.build/release/recrl"
}
[ -n "$A" ] || A="$(build "$REV_A")"
[ -n "$B" ] || B="$(build "$REV_B")"
for bin in "$A" "$B"; do
  [ -x "$bin" ] || { echo "ab-builds: no executable recrl at $bin" >&2; exit 1; }
done
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
runs() { python3 -c "import json,sys; print(' '.join(str(x) for x in json.load(sys.stdin)['runs']))"; }
for r in $(seq "$ROUNDS"); do
  echo "A $("$A" bench train --config "$CONFIG" --threads "$THREADS" --seconds "$SECONDS_PER" --json | runs)" >>"$OUT"
  echo "B $("$B" bench train --config "$CONFIG" --threads "$THREADS" --seconds "$SECONDS_PER" --json | runs)" >>"$OUT"
  echo "round $r/$ROUNDS done" >&2
done
python3 - "$OUT" "$CONFIG" "$THREADS" "$REV_A" "$REV_B" <<'PY'
import statistics, sys
out, config, threads, rev_a, rev_b = sys.argv[1:]
runs = {"A": [], "B": []}
for line in open(out):
    side, *xs = line.split()
    runs[side] += [float(x) for x in xs]
def p75(xs):  # the upper quartile: runs on these VMs fall on two speed levels (README)
    return statistics.quantiles(xs, n=4)[2] if len(xs) >= 2 else xs[0]
for side, rev in (("A", rev_a), ("B", rev_b)):
    xs = runs[side]
    print(f"{config} --threads {threads} {rev:12s} median {statistics.median(xs):8.2f}  mean {statistics.mean(xs):8.2f}  p75 {p75(xs):8.2f} updates/s  ({len(xs)} runs)")
print(f"B / A: medians {statistics.median(runs['B']) / statistics.median(runs['A']):.3f}, upper quartiles {p75(runs['B']) / p75(runs['A']):.3f}")
PY
