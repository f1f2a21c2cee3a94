#!/usr/bin/env bash
# What each hop of the scaled-out shape costs, on this machine, under wrk (loopback only):
#
#   sqlite-1   one `recrl serve`, SQLite event log, in-process sessions (the embedded default)
#   pg-1       one replica, PostgreSQL event log + shared sessions (--shared-sessions)
#   pg-2       two replicas on the same PostgreSQL, each driven by its own wrk with half the
#              connections (requests/s added, the worse p99 reported)
#
# each with the mixed load (80% recommend / 20% feedback), plus recommend-only runs of
# sqlite-1 and pg-1: their latency difference is the per-request cost of the PostgreSQL
# session lookup against the in-process one. A `recrl learn` runs beside pg-2's replicas.
#
#   Scripts/scale-out.sh [CONNECTIONS] [SECONDS] [OUT_DIR]
#
# Starts its own throw-away PostgreSQL (Scripts/pg-cluster.sh) and installs wrk with apt when
# missing. On a 2-core machine the replicas, the database, the learner and wrk share the same
# cores: the figures say what each hop costs, not how far N machines scale (see the Scaling
# out article for that estimate). Don't run it while something else is building.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-32}
SECONDS_=${2:-20}
OUT=${3:-out/scale-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
fi
if [ -z "${RECRL:-}" ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-$(pwd)/.build/release/recrl}
[ -s "$OUT/model/manifest.json" ] || $R train --synthetic --seed 1 --episodes 200 --out "$OUT/model" > "$OUT/train.log" 2>&1
python3 Scripts/lua-ids.py "$OUT/model" "$OUT/ids.lua" --scripts "$OUT" --mixed-seed time

export RECRL_PG_STATE="$OUT/pg-state"
rm -f "$RECRL_PG_STATE"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  Scripts/pg-cluster.sh stop || true
}
trap cleanup EXIT
URL=$(Scripts/pg-cluster.sh start)

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/v2/health/ready" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server on port $1 did not become ready" >&2; return 1
}
serve() {  # serve PORT LOG ARGS...: starts a replica in the background (ARGS name the model)
  local port=$1 log=$2; shift 2
  $R serve --host 127.0.0.1 --port "$port" --blas-threads 1 --log-level warning "$@" > "$log" 2>&1 &
  PIDS+=($!)
  wait_ready "$port"
}
stop_servers() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; PIDS=(); }


run_wrk() {  # run_wrk NAME SCRIPT CONNECTIONS PORT
  wrk -t1 -c"$3" -d"${SECONDS_}s" --latency -s "$OUT/$2.lua" "http://127.0.0.1:$4" > "$OUT/$1.txt"
}
rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
mean() { awk '$1 == "Latency" {print $2; exit}' "$1"; }

SUMMARY="$OUT/summary.txt"
printf '%-22s %12s %10s %10s\n' scenario requests/s p99 mean > "$SUMMARY"
row() { printf '%-22s %12s %10s %10s\n' "$1" "$2" "$3" "$4" >> "$SUMMARY"; }

P1=$(free_port)
serve "$P1" "$OUT/sqlite-1.log" --model "$OUT/model" --events "$OUT/events.sqlite"
run_wrk sqlite-1-recommend recommend "$CONNECTIONS" "$P1"
run_wrk sqlite-1-mixed mixed "$CONNECTIONS" "$P1"
stop_servers
for s in sqlite-1-recommend sqlite-1-mixed; do row "$s" "$(rps "$OUT/$s.txt")" "$(p99 "$OUT/$s.txt")" "$(mean "$OUT/$s.txt")"; done

serve "$P1" "$OUT/pg-1.log" --model "$OUT/model" --events "$URL" --shared-sessions
run_wrk pg-1-recommend recommend "$CONNECTIONS" "$P1"
run_wrk pg-1-mixed mixed "$CONNECTIONS" "$P1"
stop_servers
for s in pg-1-recommend pg-1-mixed; do row "$s" "$(rps "$OUT/$s.txt")" "$(p99 "$OUT/$s.txt")" "$(mean "$OUT/$s.txt")"; done

P2=$(free_port)
PL=$(free_port)
# The learner starts first: it registers the initial model and promotes it to production,
# which the replicas then serve and follow.
rm -rf "$OUT/registry"
RECRL_EVENTS="$URL" $R learn --model "$OUT/model" --registry "$OUT/registry" --port "$PL" --log-level warning > "$OUT/learn.log" 2>&1 &
PIDS+=($!)
# Its readiness waits for its first batch of learning (pg-1's events), so wait for the pointer.
for _ in $(seq 600); do [ -L "$OUT/registry/production" ] && break; sleep 0.1; done
[ -L "$OUT/registry/production" ] || { echo "the learner promoted no initial version" >&2; exit 1; }
serve "$P1" "$OUT/pg-2a.log" --registry "$OUT/registry" --stage production --poll-interval 2 --events "$URL" --shared-sessions
serve "$P2" "$OUT/pg-2b.log" --registry "$OUT/registry" --stage production --poll-interval 2 --events "$URL" --shared-sessions
run_wrk pg-2-mixed-a mixed $((CONNECTIONS / 2)) "$P1" &
A=$!
run_wrk pg-2-mixed-b mixed $((CONNECTIONS / 2)) "$P2"
wait $A
stop_servers
TOTAL=$(python3 -c "print(round($(rps "$OUT/pg-2-mixed-a.txt") + $(rps "$OUT/pg-2-mixed-b.txt"), 2))")
row pg-2-mixed "$TOTAL" "$(p99 "$OUT/pg-2-mixed-a.txt")/$(p99 "$OUT/pg-2-mixed-b.txt")" "$(mean "$OUT/pg-2-mixed-a.txt")/$(mean "$OUT/pg-2-mixed-b.txt")"

EVENTS=$(psql -tA "$URL" -c 'SELECT count(*) FROM events')
echo "events in PostgreSQL after the pg runs: $EVENTS" >> "$SUMMARY"
cat "$SUMMARY"
