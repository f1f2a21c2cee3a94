#!/usr/bin/env bash
# Soak test of `recrl serve` on loopback: trains a small synthetic model, serves it with
# online learning on, and drives it with wrk for a given time: 80% POST /v1/recommend for
# known users, 20% POST /v1/feedback from ever-new users (unique user ids and event ids).
# Prints requests, errors, p99 latency, acknowledged feedback against events in the SQLite
# log (every acknowledged event_id must be in the log), and the server's resident memory
# (VmRSS) at start, middle and end.
#
#   Scripts/soak.sh [SECONDS] [CONNECTIONS] [--kill]      defaults: 300 s, 16 connections
#   Scripts/soak.sh [SECONDS] [CONNECTIONS] --events N    N feedback events from N distinct users
#
# --events N replaces the 80/20 mix: every request pair is a recommend for a brand-new user
# followed by that user's feedback (so most feedback is a replay transition), until N
# feedback requests were sent or SECONDS passed, whichever comes first. Resident memory is
# sampled every 10 s (OUT/rss.txt); start, middle, end and the spread after the first
# quarter (warm-up) are printed.
#
# --kill sends SIGKILL to the server in the middle of the run, restarts it on the same
# event log and checks afterwards that no acknowledged event was lost (requests that hit
# the dead server count as errors in that mode).
# Environment: RECRL=path/to/recrl (default: .build/release/recrl, built when missing),
# PORT (default 8097), OUT (default out/soak), THREADS (wrk threads, default 2).
# Only 127.0.0.1 is ever targeted; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=300; CONNECTIONS=16; KILL=0; EVENTS=0; positional=0; expect_events=0
for arg in "$@"; do
  if [ $expect_events -eq 1 ]; then EVENTS=$arg; expect_events=0; continue; fi
  case "$arg" in
    --kill) KILL=1 ;;
    --events) expect_events=1 ;;
    *) if [ $positional -eq 0 ]; then DURATION=$arg; else CONNECTIONS=$arg; fi; positional=$((positional + 1)) ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -le 100000000 ]] || { echo "--events N must be in 0...100000000"; exit 2; }
[ "$EVENTS" -eq 0 ] || [ $KILL -eq 0 ] || { echo "--kill and --events do not combine"; exit 2; }
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 10 && "$DURATION" -le 86400 ]] || { echo "SECONDS must be in 10...86400"; exit 2; }
[[ "$CONNECTIONS" =~ ^[0-9]+$ && "$CONNECTIONS" -ge 1 && "$CONNECTIONS" -le 1024 ]] || { echo "CONNECTIONS must be in 1...1024"; exit 2; }
PORT=${PORT:-8097}
OUT=${OUT:-out/soak}
THREADS=${THREADS:-2}
[ "$THREADS" -le "$CONNECTIONS" ] || THREADS=$CONNECTIONS
HOST=127.0.0.1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if ! command -v wrk >/dev/null 2>&1; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk
fi
if [ -z "${RECRL:-}" ] && [ ! -x .build/release/recrl ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-.build/release/recrl}

if [ ! -s "$OUT/model/manifest.json" ]; then
  echo "[soak] training a synthetic model (50 episodes)"
  timeout 900 "$R" train --synthetic --seed 1 --episodes 50 --out "$OUT/model" > "$OUT/train.log" 2>&1
fi
rm -f "$OUT"/events.sqlite* "$OUT"/acks-*.txt "$OUT"/rss.txt

SERVER=
start_server() {
  "$R" serve --model "$OUT/model" --host "$HOST" --port "$PORT" --events "$OUT/events.sqlite" \
    --updates-per-second 20 --log-level warning >> "$OUT/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 300); do   # up to 30 s
    curl -sf "http://$HOST:$PORT/v2/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER" 2>/dev/null || { echo "[soak] the server exited; see $OUT/serve.log"; exit 1; }
    sleep 0.1
  done
  echo "[soak] the server did not become ready in 30 s"; exit 1
}
rss() { awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  [ -n "${WRK:-}" ] && kill "$WRK" 2>/dev/null || true
  [ -n "${SAMPLER:-}" ] && kill "$SAMPLER" 2>/dev/null || true
}
trap cleanup EXIT

: > "$OUT/serve.log"
start_server
RSS_START=$(rss "$SERVER")

# Known user and item ids as Lua tables (feedback on an unknown item is a 404).
python3 Scripts/lua-ids.py "$OUT/model" "$OUT/ids.lua"
cat > "$OUT/soak.lua" <<LUA
-- 80% recommend for known users, 20% feedback from ever-new users with unique event ids.
-- Each thread writes the event ids the server acknowledged to acks-<thread>.txt.
dofile("$OUT/ids.lua")
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end
local quota = math.floor($EVENTS / $THREADS) + (($EVENTS % $THREADS) >= 1 and 1 or 0)
function init(args)
  math.randomseed(tid * 7919 + os.time())
  pending_user = nil
  n = 0
  acks = 0
  feedback = 0
  acklog = io.open("$OUT/acks-" .. tid .. ".txt", "a")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  if $EVENTS > 0 then
    -- A recommend for a new user, then that user's feedback; stop after the thread's quota.
    if pending_user == nil then
      if feedback >= quota then
        wrk.thread:stop()
        return wrk.format("GET", "/v2/health/live")
      end
      n = n + 1
      pending_user = string.format("e%d-t%d-%d", os.time(), tid, n)
      return wrk.format(nil, "/v1/recommend", nil, string.format('{"user": "%s", "k": 10}', pending_user))
    end
    local id = pending_user
    pending_user = nil
    feedback = feedback + 1
    return wrk.format(nil, "/v1/feedback", nil,
      string.format('{"user": "%s", "item": "%s", "reward": %.2f, "event_id": "%s"}',
                    id, items[math.random(#items)], math.random() * 2 - 1, id))
  end
  if math.random() < 0.8 then
    return wrk.format(nil, "/v1/recommend", nil,
      string.format('{"user": "%s", "k": 10}', users[math.random(#users)]))
  end
  n = n + 1
  feedback = feedback + 1
  local id = string.format("s%d-t%d-%d", os.time(), tid, n)
  return wrk.format(nil, "/v1/feedback", nil,
    string.format('{"user": "new-%s", "item": "%s", "reward": %.2f, "event_id": "%s"}',
                  id, items[math.random(#items)], math.random() * 2 - 1, id))
end
function response(status, headers, body)
  if status == 200 then
    local id = string.match(body, '"event_id":"([^"]+)"')
    if id then
      acks = acks + 1
      acklog:write(id, "\n")
      acklog:flush()
    end
  end
end
function done(summary, latency, requests)
  local a, f = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("acks"); f = f + t:get("feedback") end
  io.write(string.format("[soak] feedback requests generated by wrk (including ones that failed to send): %d, acknowledged: %d\n", f, a))
end
LUA

( start=$(date +%s); while kill -0 "$SERVER" 2>/dev/null; do
    echo "$(( $(date +%s) - start )) $(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null)" >> "$OUT/rss.txt"; sleep 10
  done ) &
SAMPLER=$!
echo "[soak] wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s against http://$HOST:$PORT (kill mid-run: $KILL, feedback events: ${EVENTS:-0} (0: 80/20 mix))"
timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
  -s "$OUT/soak.lua" "http://$HOST:$PORT" > "$OUT/wrk.txt" 2>&1 &
WRK=$!
if [ "$EVENTS" -eq 0 ]; then
  sleep $((DURATION / 2))
  RSS_MIDDLE=$(rss "$SERVER")
else
  RSS_MIDDLE="(see the samples)"
fi
if [ $KILL -eq 1 ]; then
  echo "[soak] SIGKILL to the server (pid $SERVER) at $((DURATION / 2)) s, restarting it"
  kill -9 "$SERVER"; wait "$SERVER" 2>/dev/null || true
  start_server
fi
wait "$WRK" || true
WRK=
RSS_END=$(rss "$SERVER")
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=
echo "$(awk 'END {print $1 + 1}' "$OUT/rss.txt") $(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")" >> "$OUT/rss.txt"
cat "$OUT/wrk.txt"

python3 - "$OUT" "$DURATION" "$KILL" "$RSS_START" "$RSS_MIDDLE" "$RSS_END" <<'PY'
import glob, re, sqlite3, sys
out, duration, kill = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
text = open(f"{out}/wrk.txt").read()
requests = int(re.search(r"(\d+) requests in", text).group(1)) if re.search(r"(\d+) requests in", text) else 0
non2xx = int(re.search(r"Non-2xx or 3xx responses: (\d+)", text).group(1)) if "Non-2xx" in text else 0
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
socket_errors = sum(int(x) for x in sock.groups()) if sock else 0
p99 = re.search(r"^\s*99%\s+(\S+)", text, re.M)
acked = set()
for path in glob.glob(f"{out}/acks-*.txt"):
    acked.update(line.strip() for line in open(path) if line.strip())
db = sqlite3.connect(f"{out}/events.sqlite")
logged = {row[0] for row in db.execute("SELECT event_id FROM events WHERE event_id IS NOT NULL")}
total = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
missing = acked - logged
print(f"[soak] requests: {requests} in {duration} s ({requests / duration:.0f}/s)")
print(f"[soak] errors: {non2xx} non-2xx, {socket_errors} socket errors" + (" (server killed mid-run)" if kill else ""))
print(f"[soak] p99 latency: {p99.group(1) if p99 else '?'}")
print(f"[soak] feedback acknowledged: {len(acked)}, events in the log: {total}, acknowledged but missing: {len(missing)}")
print(f"[soak] resident memory: start {sys.argv[4]}, middle {sys.argv[5]}, end {sys.argv[6]}")
samples = [tuple(map(int, line.split())) for line in open(f"{out}/rss.txt") if len(line.split()) == 2]
if samples:
    mib = [kib / 1024 for _, kib in samples]
    middle = samples[len(samples) // 2]
    warm = mib[len(mib) // 4:] or mib
    print(f"[soak] sampled every 10 s ({len(samples)} samples): start {mib[0]:.1f} MiB, middle {middle[1] / 1024:.1f} MiB at {middle[0]} s, "
          f"end {mib[-1]:.1f} MiB; after the first quarter: min {min(warm):.1f}, max {max(warm):.1f} MiB "
          f"(spread {100 * (max(warm) - min(warm)) / min(warm):.1f}%)")
distinct_users = db.execute("SELECT COUNT(DISTINCT user) FROM events").fetchone()[0]
print(f"[soak] distinct users in the log: {distinct_users}")
ok = not missing and (kill or (non2xx == 0 and socket_errors == 0))
print("[soak] " + ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
