#!/usr/bin/env bash
# Shared body of layers-compare.sh and lird-deeppage-compare.sh (see their headers):
#   side-by-side.sh layers|update [REPO] [options]
# Builds recrl-bench (release) unless --no-build, makes sure the venv has torch, then runs
# side_by_side.py, which alternates the contenders and prints the table.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KIND="$1"; shift
case "$KIND" in
  layers) SELECT=--layers; RAW_NAME=layers-runs.jsonl; HELP="$HERE/layers-compare.sh" ;;
  update) SELECT=--models; RAW_NAME=lird-deeppage-runs.jsonl; HELP="$HERE/lird-deeppage-compare.sh" ;;
  *) echo "unknown kind $KIND" >&2; exit 2 ;;
esac
REPO="$(cd "$HERE/../.." && pwd)"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then REPO="$(cd "$1" && pwd)"; shift; fi
BUILD=1 ARGS=() RAW=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads|--repeats|--seconds|--runs) ARGS+=("$1" "$2"); shift 2 ;;
    "$SELECT") ARGS+=(--select "$2"); shift 2 ;;
    --raw) RAW="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$HELP" | sed '$d'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
PY="$HERE/.venv/bin/python"
if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "[compare] $HERE/.venv lacks torch: running setup.sh" >&2
  "$HERE/setup.sh" >&2
fi
if [ "$BUILD" = 1 ]; then
  echo "[compare] swift build -c release --product recrl-bench in $REPO" >&2
  (cd "$REPO" && swift build -c release --product recrl-bench >&2)
fi
BIN="$(cd "$REPO" && swift build -c release --show-bin-path)/recrl-bench"
[ -x "$BIN" ] || { echo "no release recrl-bench at $BIN (drop --no-build)" >&2; exit 1; }
exec python3 "$HERE/side_by_side.py" "$KIND" --recrl-bench "$BIN" --python "$PY" --raw "${RAW:-$HERE/$RAW_NAME}" "${ARGS[@]}"
