#!/usr/bin/env bash
# Reproduces the README's simulated online evaluation on ML-100K (3 seeds, mean ± std).
#   Scripts/simulate-ml100k.sh [DATA_DIR] [OUT_DIR] [TRAIN_EPISODES]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/ml-100k}
OUT=${2:-out/simulate}
EPISODES=${3:-500}
mkdir -p "$OUT"
if [ -z "${RECRL:-}" ]; then swift build -c release --product recrl >/dev/null; fi
R=${RECRL:-.build/release/recrl}
for seed in 0 1 2; do
  f="$OUT/seed-$seed.json"
  [ -s "$f" ] || $R simulate --data "$DATA" --policies drr-ave,als,popularity,random --episodes 500 --horizon 10 \
      --train-episodes "$EPISODES" --seed "$seed" --json > "$f"
done
python3 - "$OUT" <<'PY'
import json, statistics, sys, glob
rows = {}
for path in sorted(glob.glob(sys.argv[1] + "/seed-*.json")):
    for r in json.load(open(path))["results"]:
        rows.setdefault(r["policy"], []).append(r["mean_cumulative_reward"])
print("| policy | mean cumulative reward (T = 10) |\n|---|---|")
for p, v in rows.items():
    print(f"| {p} | {statistics.fmean(v):.3f} ± {statistics.stdev(v) if len(v) > 1 else 0:.3f} |")
PY
