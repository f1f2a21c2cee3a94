#!/usr/bin/env bash
# HTTP load test of `recrl serve` on loopback with wrk (the README's figures):
# trains a model on the synthetic world, serves it on 127.0.0.1 with online learning on,
# and runs wrk against POST /v1/recommend (random users, k = 10), then against a mix of
# 80% recommend / 20% feedback requests (every feedback is written to the SQLite log).
#
#   Scripts/wrk-serve.sh [CONNECTIONS] [SECONDS] [OUT_DIR]
#
# Installs wrk with apt when it is missing. Only 127.0.0.1 is ever targeted.
# BLAS_THREADS=N passes --blas-threads N to the server (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-64}
SECONDS_=${2:-30}
OUT=${3:-out/wrk}
PORT=${PORT:-8099}
BLAS_THREADS=${BLAS_THREADS:-1}
mkdir -p "$OUT"
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
fi
if [ -z "${RECRL:-}" ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-.build/release/recrl}
[ -s "$OUT/model/manifest.json" ] || $R train --synthetic --seed 1 --episodes 200 --out "$OUT/model" > "$OUT/train.log" 2>&1
rm -f "$OUT"/events.sqlite*
$R serve --model "$OUT/model" --host 127.0.0.1 --port "$PORT" --events "$OUT/events.sqlite" \
  --updates-per-second 20 --blas-threads "$BLAS_THREADS" --log-level warning > "$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.1
done
# The model's own user and item ids, as Lua tables (feedback on an unknown item is a 404).
python3 Scripts/lua-ids.py "$OUT/model" "$OUT/ids.lua" --scripts "$OUT"


for scenario in recommend mixed; do
  echo "== $scenario: wrk -t2 -c$CONNECTIONS -d${SECONDS_}s --latency (127.0.0.1:$PORT)"
  wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_}s" --latency -s "$OUT/$scenario.lua" "http://127.0.0.1:$PORT" | tee "$OUT/$scenario.txt"
done
echo "== server counters"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -E '^recrl_(http_requests_total|engine_)' | tee "$OUT/metrics.txt" || true
echo "events logged: $(python3 -c "import sqlite3; print(sqlite3.connect('$OUT/events.sqlite').execute('select count(*) from events').fetchone()[0])")"
