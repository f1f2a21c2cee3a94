#!/usr/bin/env bash
# Reproduces the README's ML-100K tables (3 seeds, mean ± std):
#   classical baselines under `full` (temporal and random splits) and `drr` (temporal),
#   and the four DRR variants, each trained once per seed with `recrl train` on the
#   temporal split's training part and evaluated with `--model` under both protocols.
#
#   Scripts/results-ml100k.sh [DATA_DIR] [OUT_DIR] [EPISODES]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/ml-100k}
OUT=${2:-out/results}
EPISODES=${3:-3000}
BASELINES=${BASELINES-random,popularity,itemknn,bpr,als,ials}   # BASELINES= skips them
VARIANTS=${VARIANTS:-ave n p u}
TRAIN_FLAGS=${TRAIN_FLAGS:-}   # extra `recrl train` flags, e.g. "--embeddings implicit --unrated-reward=0"
mkdir -p "$OUT/json" "$OUT/models"
if [ -z "${RECRL:-}" ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-.build/release/recrl}   # RECRL=path uses an already built binary
for seed in 0 1 2; do
  if [ -n "$BASELINES" ]; then
    for split in temporal random; do
      f="$OUT/json/baselines-$split-full-$seed.json"
      [ -s "$f" ] || $R evaluate --data "$DATA" --split "$split" --protocol full --policies $BASELINES --seed "$seed" --json > "$f"
    done
    f="$OUT/json/baselines-temporal-drr-$seed.json"
    [ -s "$f" ] || $R evaluate --data "$DATA" --split temporal --protocol drr --policies $BASELINES --seed "$seed" --json > "$f"
  fi
  for v in $VARIANTS; do
    m="$OUT/models/drr-$v-$seed"
    [ -s "$m/manifest.json" ] || $R train --data "$DATA" --split temporal --policy "drr-$v" --seed "$seed" \
        --episodes "$EPISODES" --out "$m" --curves "$OUT/curves-$seed" $TRAIN_FLAGS --json > "$OUT/json/train-drr-$v-$seed.json"
    for protocol in full drr; do
      f="$OUT/json/drr-$v-temporal-$protocol-$seed.json"
      [ -s "$f" ] || $R evaluate --data "$DATA" --split temporal --protocol "$protocol" --policies "drr-$v" \
          --model "$m" --seed "$seed" --json > "$f"
    done
  done
done
python3 Scripts/aggregate.py "$OUT"/json/*-temporal-*.json "$OUT"/json/*-random-*.json
