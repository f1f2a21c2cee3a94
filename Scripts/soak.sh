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
#   Scripts/soak.sh [SECONDS] [CONNECTIONS] --users N     N distinct users, some returning
#
# --events N replaces the 80/20 mix: every request pair is a recommend for a brand-new user
# followed by that user's feedback (so most feedback is a replay transition), until N
# feedback requests were sent or SECONDS passed, whichever comes first. Resident memory is
# sampled every 10 s (OUT/rss.txt); start, middle, end and the spread after the first
# quarter (warm-up) are printed.
#
# --users N also replaces the mix, and exercises learning memory too: N distinct new users
# each send one feedback event (no ranking first), and every RETURN_EVERY-th of them
# (default 3; its first reward is positive) comes back once that event was acknowledged: a
# recommend (which, with a positive item in the user's window, records a state) and then a
# second feedback event, which is a replay transition. So N * (1 + 1/RETURN_EVERY) feedback
# events from N distinct users, N / RETURN_EVERY of them transitions; it stops after N first
# events and every started return, or when SECONDS passed.
#
# --kill sends SIGKILL to the server in the middle of the run, restarts it on the same
# event log and checks afterwards that no acknowledged event was lost (requests that hit
# the dead server count as errors in that mode).
# Environment: RECRL=path/to/recrl (default: .build/release/recrl, built when missing),
# PORT (default 8097), OUT (default out/soak), THREADS (wrk threads, default 2).
# Only 127.0.0.1 is ever targeted; every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=300; CONNECTIONS=16; KILL=0; EVENTS=0; USERS=0; positional=0; expect=
for arg in "$@"; do
  if [ "$expect" = events ]; then EVENTS=$arg; expect=; continue; fi
  if [ "$expect" = users ]; then USERS=$arg; expect=; continue; fi
  case "$arg" in
    --kill) KILL=1 ;;
    --events) expect=events ;;
    --users) expect=users ;;
    *) if [ $positional -eq 0 ]; then DURATION=$arg; else CONNECTIONS=$arg; fi; positional=$((positional + 1)) ;;
  esac
done
[[ "$EVENTS" =~ ^[0-9]+$ && "$EVENTS" -le 100000000 ]] || { echo "--events N must be in 0...100000000"; exit 2; }
[[ "$USERS" =~ ^[0-9]+$ && "$USERS" -le 100000000 ]] || { echo "--users N must be in 0...100000000"; exit 2; }
RETURN_EVERY=${RETURN_EVERY:-3}
[[ "$RETURN_EVERY" =~ ^[0-9]+$ && "$RETURN_EVERY" -ge 1 ]] || { echo "RETURN_EVERY must be a positive integer"; exit 2; }
[ "$EVENTS" -eq 0 ] || [ "$USERS" -eq 0 ] || { echo "--events and --users do not combine"; exit 2; }
[ "$EVENTS" -eq 0 ] && [ "$USERS" -eq 0 ] || [ $KILL -eq 0 ] || { echo "--kill combines with neither --events nor --users"; exit 2; }
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
rm -f "$OUT"/events.sqlite* "$OUT"/acks-*.txt "$OUT"/done-*.txt "$OUT"/rss.txt

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
local user_quota = math.floor($USERS / $THREADS) + (($USERS % $THREADS) >= 1 and 1 or 0)
function init(args)
  math.randomseed(tid * 7919 + os.time())
  pending_user = nil
  n = 0
  acks = 0
  feedback = 0
  acklog = io.open("$OUT/acks-" .. tid .. ".txt", "a")
  -- --users: returning users whose first event was acknowledged (to_rank) and whose
  -- recommend was answered (to_reward); requests other than health checks not answered yet.
  to_rank, to_reward = {}, {}
  rank_head, rank_tail, reward_head, reward_tail = 1, 0, 1, 0
  unanswered = 0
  -- wrk calls the first thread's request() once to inspect it and never sends that request.
  inspected = tid ~= 1
  returned = 0
  stamp = os.time()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end
local function feedback_request(user, event_id, reward)
  feedback = feedback + 1
  unanswered = unanswered + 1
  return wrk.format("POST", "/v1/feedback", nil,
    string.format('{"user": "%s", "item": "%s", "reward": %.2f, "event_id": "%s"}',
                  user, items[math.random(#items)], reward, event_id))
end
function request()
  if $USERS > 0 then
    -- Each request is issued only after the answer it depends on arrived (response()),
    -- whichever connection of the thread carried it.
    if not inspected then
      inspected = true
      return wrk.format("GET", "/v2/health/live")
    end
    if reward_head <= reward_tail then
      local user = to_reward[reward_head]; to_reward[reward_head] = nil; reward_head = reward_head + 1
      return feedback_request(user, user .. "-2", math.random() * 2 - 1)
    end
    if rank_head <= rank_tail then
      local user = to_rank[rank_head]; to_rank[rank_head] = nil; rank_head = rank_head + 1
      unanswered = unanswered + 1
      return wrk.format("POST", "/v1/recommend", nil, string.format('{"user": "%s", "k": 10}', user))
    end
    if n >= user_quota then
      -- Done once every request was answered and no return is left to start (wrk itself
      -- runs for its whole duration: done-<thread> tells the script to interrupt it).
      if unanswered == 0 then
        io.open("$OUT/done-" .. tid .. ".txt", "w"):close()
        wrk.thread:stop()
      end
      return wrk.format("GET", "/v2/health/live")
    end
    n = n + 1
    if n % $RETURN_EVERY == 0 then
      local user = string.format("r%d-t%d-%d", stamp, tid, n)
      return feedback_request(user, user, 0.5 + math.random() * 0.5)
    end
    local user = string.format("u%d-t%d-%d", stamp, tid, n)
    return feedback_request(user, user, math.random() * 2 - 1)
  end
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
  if $USERS > 0 and (status ~= 200 or string.find(body, '"event_id":"', 1, true) or string.find(body, '"user":"', 1, true)) then
    unanswered = unanswered - 1
  end
  if status == 200 then
    local id = string.match(body, '"event_id":"([^"]+)"')
    if id then
      acks = acks + 1
      acklog:write(id, "\n")
      acklog:flush()
      if $USERS > 0 and string.sub(id, 1, 1) == "r" then
        if string.sub(id, -2) == "-2" then
          returned = returned + 1
        else
          rank_tail = rank_tail + 1; to_rank[rank_tail] = id
        end
      end
    elseif $USERS > 0 then
      local user = string.match(body, '"user":"(r[^"]+)"')
      if user then reward_tail = reward_tail + 1; to_reward[reward_tail] = user end
    end
  end
end
function done(summary, latency, requests)
  local a, f, u, r = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("acks"); f = f + t:get("feedback"); u = u + t:get("n"); r = r + t:get("returned")
  end
  io.write(string.format("[soak] feedback requests generated by wrk (including ones that failed to send): %d, acknowledged: %d\n", f, a))
  if $USERS > 0 then
    io.write(string.format("[soak] --users: %d new users started, %d returned (recommend, then a second feedback event)\n", u, r))
  end
end
LUA

( start=$(date +%s); while kill -0 "$SERVER" 2>/dev/null; do
    echo "$(( $(date +%s) - start )) $(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status" 2>/dev/null)" >> "$OUT/rss.txt"; sleep 10
  done ) &
SAMPLER=$!
echo "[soak] wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s against http://$HOST:$PORT (kill mid-run: $KILL, feedback events: $EVENTS, users: $USERS, every ${RETURN_EVERY}th returning (both 0: 80/20 mix))"
timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
  -s "$OUT/soak.lua" "http://$HOST:$PORT" > "$OUT/wrk.txt" 2>&1 &
WRK=$!
if [ "$EVENTS" -eq 0 ] && [ "$USERS" -eq 0 ]; then
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
if [ "$USERS" -gt 0 ]; then
  # wrk runs for its whole duration even when every thread stopped: interrupt it (it then
  # prints its summary) once each thread reported done.
  while kill -0 "$WRK" 2>/dev/null && [ "$(ls "$OUT"/done-*.txt 2>/dev/null | wc -l)" -lt "$THREADS" ]; do sleep 1; done
  kill -INT "$WRK" 2>/dev/null || true
fi
wait "$WRK" || true
WRK=
RSS_END=$(rss "$SERVER")
curl -sf "http://$HOST:$PORT/metrics" > "$OUT/metrics-end.txt" || true
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=
echo "$(awk 'END {print $1 + 1}' "$OUT/rss.txt") $(awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status")" >> "$OUT/rss.txt"
cat "$OUT/wrk.txt"

python3 - "$OUT" "$DURATION" "$KILL" "$RSS_START" "$RSS_MIDDLE" "$RSS_END" <<'PY'
import glob, re, sqlite3, sys
out, duration, kill = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
text = open(f"{out}/wrk.txt").read()
span = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", text)
requests = int(span.group(1)) if span else 0
seconds = float(span.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[span.group(3)] if span else duration
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
print(f"[soak] requests: {requests} in {seconds:.0f} s ({requests / max(seconds, 1e-9):.0f}/s)")
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
engine = {}
try:
    for line in open(f"{out}/metrics-end.txt"):
        m = re.match(r"recrl_(engine_replay_size|engine_sessions|engine_online_updates|engine_dropped_transitions|session_evictions_total)\{[^}]*\} (\S+)", line)
        if m: engine[m.group(1)] = float(m.group(2))
except OSError:
    pass
if engine:
    print("[soak] at the end (/metrics): " + ", ".join(f"{k} {v:.0f}" for k, v in engine.items()))
ok = not missing and (kill or (non2xx == 0 and socket_errors == 0))
print("[soak] " + ("PASS" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
