#!/usr/bin/env python3
"""Aggregates `recrl evaluate --json` outputs into mean ± std markdown tables,
one per (split, protocol), over the seeds present."""
import json
import statistics
import sys
from collections import defaultdict

groups = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
chosen = defaultdict(lambda: defaultdict(list))  # (split, protocol) -> policy -> chosen values per seed
for path in sys.argv[1:]:
    with open(path) as f:
        report = json.load(f)
    if "results" not in report:
        continue
    key = (report["split"], report["protocol"])
    for result in report["results"]:
        for metric, value in result["metrics"].items():
            groups[key][result["policy"]][metric].append(value)
        groups[key][result["policy"]]["train_seconds"].append(result["train_seconds"])
        if "tuning" in result:  # `recrl evaluate --tune`
            values = ", ".join(f"{k} {v:g}" for k, v in sorted(result["tuning"]["chosen"].items()))
            chosen[key][result["policy"]].append(values)
            groups[key][result["policy"]]["validation ndcg@10"].append(result["tuning"]["validation_ndcg@10"])
    # `recrl train` records its own training time in the model; evaluate --model only loads it.


def cell(values):
    if not values:
        return "–"
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4f} ± {std:.4f}"


for (split, protocol), policies in sorted(groups.items()):
    metrics = ["precision@10", "ndcg@10"] + (["recall@10", "hit@10", "coverage", "diversity", "novelty"] if protocol == "full" else [])
    seeds = max(len(m["precision@10"]) for m in policies.values())
    print(f"\n**{split} split, `{protocol}` protocol** ({seeds} seeds)\n")
    print("| policy | " + " | ".join(metrics) + " | train s |")
    print("|---" * (len(metrics) + 2) + "|")
    for policy, m in policies.items():
        train = statistics.fmean(m["train_seconds"])
        print(f"| {policy} | " + " | ".join(cell(m.get(x, [])) for x in metrics) + f" | {train:.1f} |")
    if chosen[(split, protocol)]:
        print("\nTuned values (validation split carved from training; one entry per seed):\n")
        print("| policy | chosen | validation NDCG@10 |")
        print("|---|---|---|")
        for policy, values in chosen[(split, protocol)].items():
            print(f"| {policy} | {'; '.join(values)} | {cell(policies[policy]['validation ndcg@10'])} |")
