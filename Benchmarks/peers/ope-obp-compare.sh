#!/usr/bin/env bash
# `recrl ope` against Open Bandit Pipeline on the same logs: (1) `recrl generate` output
# (one-item slates of the synthetic logging policy) with a DRR model trained on it, and
# (2) event logs of `recrl serve --serving-policy` with 5-item slates (epsilon-greedy, then
# softmax/Plackett-Luce), exported with `recrl export-events`. Prints the comparisons
# (Markdown with --markdown); exits 1 when any estimate differs by more than 1e-4 relative.
# Usage: Benchmarks/peers/ope-obp-compare.sh [--markdown] [RECRL_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
MD=""; if [ "${1:-}" = "--markdown" ]; then MD="--markdown"; shift; fi
RECRL=${1:-.build/release/recrl}
PY=Benchmarks/peers/.venv-ope/bin/python
Benchmarks/peers/ope-obp-setup.sh >/dev/null
WORK=$(mktemp -d); trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER=""

"$RECRL" generate --out "$WORK/gen" --users 200 --items 300 >/dev/null
"$RECRL" train --data "$WORK/gen" --out "$WORK/model" --episodes 60 >/dev/null 2>&1
"$RECRL" ope --events "$WORK/gen" --model "$WORK/model" --estimator all --policy epsilon-greedy:0.3:50 \
    --export-rounds "$WORK/gen-rounds.jsonl" --json > "$WORK/gen-ope.json"
echo "## recrl generate log (one-item slates), candidate: DRR epsilon-greedy(0.3, pool 50)"
$PY Benchmarks/peers/ope_obp_check.py $MD --rounds "$WORK/gen-rounds.jsonl" --recrl "$WORK/gen-ope.json" 2>/dev/null
status=$?

# serve_log POLICY NAME: serves the model with --serving-policy POLICY to a scripted client
# (600 five-item slates, click-like rewards) and exports the event log to $WORK/NAME.
serve_log() {
    local port=$((20000 + RANDOM % 20000))
    "$RECRL" serve --model "$WORK/model" --port $port --events "$WORK/$2.sqlite" --serving-policy "$1" \
        --log-level error & SERVER=$!
    $PY - "$port" <<'PYEOF'
import json, sys, time, urllib.request, random
port = sys.argv[1]
def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
for _ in range(100):
    try: post("/v1/recommend", {"user": "u0", "k": 1}); break
    except Exception: time.sleep(0.2)
rng = random.Random(7)
for n in range(600):
    user = f"u{rng.randrange(200)}"
    answer = post("/v1/recommend", {"user": user, "k": 5})
    for item in answer["items"]:
        if rng.random() < 0.3:  # a click-like reward, more likely on low item ids
            reward = 1.0 if int(item["item"][1:]) < 150 else 0.5
            post("/v1/feedback", {"user": user, "item": item["item"], "reward": reward, "request_id": answer["request_id"]})
PYEOF
    kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=""
    "$RECRL" export-events --events "$WORK/$2.sqlite" --out "$WORK/$2" >/dev/null
}

serve_log epsilon-greedy:0.3:20 serve
"$RECRL" ope --events "$WORK/serve" --model "$WORK/model" --estimator all --policy epsilon-greedy:0.5:20 \
    --export-rounds "$WORK/serve-rounds.jsonl" --json > "$WORK/serve-ope.json"
echo
echo "## recrl serve event log (5-item slates, epsilon-greedy(0.3, pool 20)), candidate: the same model, epsilon-greedy(0.5, pool 20)"
$PY Benchmarks/peers/ope_obp_check.py $MD --rounds "$WORK/serve-rounds.jsonl" --recrl "$WORK/serve-ope.json" 2>/dev/null || status=1

# Softmax (Plackett-Luce) serving: the logged propensities are the marginals of each
# position, the slate propensity the exact product of the conditionals (see SlateDistribution).
serve_log softmax:0.05:20 softmax
"$RECRL" ope --events "$WORK/softmax" --model "$WORK/model" --estimator all --policy softmax:0.1:20 \
    --export-rounds "$WORK/softmax-rounds.jsonl" --json > "$WORK/softmax-ope.json"
echo
echo "## recrl serve event log (5-item slates, softmax(temperature 0.05, pool 20)), candidate: the same model, softmax(temperature 0.1, pool 20)"
$PY Benchmarks/peers/ope_obp_check.py $MD --rounds "$WORK/softmax-rounds.jsonl" --recrl "$WORK/softmax-ope.json" 2>/dev/null || status=1
exit $status
