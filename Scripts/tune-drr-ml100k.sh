#!/usr/bin/env bash
# The validation sweep behind DRRConfiguration's defaults (README, "DRR on MovieLens 100K"):
# DRR-ave trained on the temporal split's training part minus its own latest 20% per user,
# scored on that 20% (`--validation`: the test split is never read), for a few settings.
#
#   Scripts/tune-drr-ml100k.sh [DATA_DIR] [OUT_DIR] [EPISODES]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/ml-100k}
OUT=${2:-out/tune}
EPISODES=${3:-500}
mkdir -p "$OUT"
if [ -z "${RECRL:-}" ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-.build/release/recrl}
run() {  # name, extra flags...
  local name=$1; shift
  local f="$OUT/$name.json"
  [ -s "$f" ] || $R train --data "$DATA" --split temporal --policy drr-ave --seed 0 --episodes "$EPISODES" \
      --validation --out "$OUT/models/$name" "$@" --json > "$f"
  python3 -c "import json,sys; d=json.load(open('$f')); print(f\"| $name | {d['ndcg@10']:.4f} | {d['precision@10']:.4f} | {d['train_seconds']:.0f} |\")"
}
echo "| setting | validation NDCG@10 | validation P@10 | train s |"
echo "|---|---|---|---|"
run paper-preset --preset paper
run defaults
run supervised-0 --supervised-weight 0
run supervised-1 --supervised-weight 1
run supervised-10 --supervised-weight 10
run supervised-1000 --supervised-weight 1000
run explicit-pmf --embeddings explicit --set unratedReward=null --embedding-regularization 0.1
run clip-1 --set maxGradientNorm=1
run no-projection --set projectsTargetActions=false
run actor-trains-module --set actorTrainsStateModule=true
# The classical baselines on the same validation split.
f="$OUT/baselines.json"
[ -s "$f" ] || $R evaluate --data "$DATA" --split temporal --protocol full --validation \
    --policies popularity,itemknn,bpr,ials --seed 0 --json > "$f"
python3 - "$f" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    print(f"| {r['policy']} (baseline) | {r['metrics']['ndcg@10']:.4f} | {r['metrics']['precision@10']:.4f} | {r['train_seconds']:.0f} |")
PY
