#!/usr/bin/env bash
# Tuned baselines against DRR-ave on ML-100K (Benchmarks/RESULTS.md, README "Results"):
# `recrl evaluate --tune` on the temporal and the random split, 3 seeds; every baseline's
# (GRU4Rec's included) hyper-parameters are chosen by NDCG@10 on a validation split carved from the training split,
# refitted on all of training and evaluated once on test; DRR-ave's supervised target (next or any
# positive, DRRTuning) is chosen the same way.
#
#   Scripts/quality-ml100k.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/ml-100k}
OUT=${2:-out/quality}
POLICIES=${POLICIES:-popularity,itemknn,ials,bpr,ease,gru4rec,drr-ave}
SEEDS=${SEEDS:-0 1 2}
mkdir -p "$OUT/json"
if [ -z "${RECRL:-}" ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-.build/release/recrl}   # RECRL=path uses an already built binary
for seed in $SEEDS; do
  for split in temporal random; do
    f="$OUT/json/tuned-$split-full-$seed.json"
    [ -s "$f" ] || $R evaluate --data "$DATA" --split "$split" --protocol full --policies "$POLICIES" --tune \
        --seed "$seed" --json > "$f"
  done
done
python3 Scripts/aggregate.py "$OUT"/json/tuned-*.json
