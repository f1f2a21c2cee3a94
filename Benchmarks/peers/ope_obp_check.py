#!/usr/bin/env python3
"""Cross-checks `recrl ope` against Open Bandit Pipeline (obp) on the same rounds.

`recrl ope --estimator all --export-rounds rounds.jsonl --json > recrl.json` writes the
evaluated rounds (per slate position: logging and target propensities, reward,
reward-model prediction at the logged item and its expectation under the target) and
recrl's estimates. This script feeds the same rounds to obp's estimators and prints both
side by side; it exits 1 when a point estimate differs by more than --tolerance
(relative, default 1e-4).

How the rounds become obp inputs: each slate position j is evaluated with obp's
single-position estimators on the rounds that have a position j, in a two-action form
that loses nothing the estimators use: action 0 is the logged item (target probability
pi_j, prediction q_j), action 1 stands for every other item (probability 1 - pi_j,
prediction chosen so that the target's expected prediction is the logged one). recrl's
per-position estimators sum the positions' values (weighted by the share of rounds
having that position), so obp's are summed the same way. The slate estimators use obp's
SlateStandardIPS and SlateIndependentIPS. obp has no pseudo-inverse estimator: `pi` is
checked against the closed form here, in numpy (an independent reimplementation, not obp).
"""
import argparse
import json
import sys

import numpy as np
from obp.ope import (DirectMethod, DoublyRobust, InverseProbabilityWeighting,
                     SelfNormalizedInverseProbabilityWeighting, SlateIndependentIPS,
                     SlateStandardIPS, SwitchDoublyRobust)


def load_rounds(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def position_records(rounds, j):
    rows = [r for r in rounds if len(r["rewards"]) > j]
    pi = np.array([r["target_propensities"][j] for r in rows])
    mu = np.array([r["logging_propensities"][j] for r in rows])
    reward = np.array([r["rewards"][j] for r in rows])
    q = np.array([r["predicted_rewards"][j] for r in rows])
    q_pi = np.array([r["target_predicted_rewards"][j] for r in rows])
    n = len(rows)
    action_dist = np.zeros((n, 2, 1))
    action_dist[:, 0, 0] = pi
    action_dist[:, 1, 0] = 1 - pi
    rest = np.where(pi < 1, (q_pi - pi * q) / np.where(pi < 1, 1 - pi, 1), 0.0)
    estimated = np.zeros((n, 2, 1))
    estimated[:, 0, 0] = q
    estimated[:, 1, 0] = rest
    return dict(reward=reward, action=np.zeros(n, dtype=int), position=np.zeros(n, dtype=int), pscore=mu,
                action_dist=action_dist, estimated_rewards_by_reg_model=estimated)


def obp_estimates(rounds, clip):
    n = len(rounds)
    length = max(len(r["rewards"]) for r in rounds)
    per_position = {
        "dm": DirectMethod(),
        "ips": InverseProbabilityWeighting(),
        "snips": SelfNormalizedInverseProbabilityWeighting(),
        "dr": DoublyRobust(),
        "dr-clip": DoublyRobust(lambda_=clip),
        "switch-dr": SwitchDoublyRobust(lambda_=clip),
    }
    values = {name: 0.0 for name in per_position}
    for j in range(length):
        inputs = position_records(rounds, j)
        share = len(inputs["reward"]) / n
        for name, estimator in per_position.items():
            args = {k: v for k, v in inputs.items()}
            if name == "dm":
                args = {k: args[k] for k in ("action_dist", "estimated_rewards_by_reg_model", "position")}
            elif name in ("ips", "snips"):
                args.pop("estimated_rewards_by_reg_model")
            value = estimator.estimate_policy_value(**args)
            values[name] += value if name == "snips" else value * share

    # Slate estimators: one row per (slate, position).
    slate_id, position, reward, pscore, e_pscore, pscore_ip, e_pscore_ip = [], [], [], [], [], [], []
    for i, r in enumerate(rounds):
        for j in range(len(r["rewards"])):
            slate_id.append(i); position.append(j); reward.append(r["rewards"][j])
            pscore.append(r["logging_slate_propensity"]); e_pscore.append(r["target_slate_propensity"])
            pscore_ip.append(r["logging_propensities"][j]); e_pscore_ip.append(r["target_propensities"][j])
    slate_id, position, reward = np.array(slate_id), np.array(position), np.array(reward, dtype=float)
    values["slate-ips"] = SlateStandardIPS(len_list=length).estimate_policy_value(
        slate_id=slate_id, reward=reward, position=position, pscore=np.array(pscore),
        evaluation_policy_pscore=np.array(e_pscore))
    values["ips (obp SlateIndependentIPS)"] = SlateIndependentIPS(len_list=length).estimate_policy_value(
        slate_id=slate_id, reward=reward, position=position, pscore_item_position=np.array(pscore_ip),
        evaluation_policy_pscore_item_position=np.array(e_pscore_ip))
    # Pseudo-inverse (Swaminathan et al. 2017) for a factorised logging policy, in numpy.
    pi_terms = [(sum(t / m for t, m in zip(r["target_propensities"], r["logging_propensities"])) - len(r["rewards"]) + 1)
                * sum(r["rewards"]) for r in rounds]
    values["pi (numpy closed form)"] = float(np.mean(pi_terms))
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", required=True, help="rounds.jsonl from `recrl ope --export-rounds`")
    parser.add_argument("--recrl", required=True, help="`recrl ope --estimator all --json` output")
    parser.add_argument("--clip", type=float, default=10, help="the --clip given to recrl ope")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    rounds = load_rounds(args.rounds)
    with open(args.recrl) as f:
        recrl = {e["estimator"]: e["value"] for e in json.load(f)["estimates"]}
    theirs = obp_estimates(rounds, args.clip)
    pairs = [(name, recrl[name.split(" ")[0]], value) for name, value in theirs.items()]
    worst = 0.0
    if args.markdown:
        print(f"| estimator | recrl | obp | relative difference |\n|---|---|---|---|")
    for name, ours, value in pairs:
        rel = abs(ours - value) / max(abs(value), 1e-12)
        worst = max(worst, rel)
        if args.markdown:
            print(f"| {name} | {ours:.6f} | {value:.6f} | {rel:.1e} |")
        else:
            print(f"{name:32s} recrl {ours: .8f}  obp {value: .8f}  rel.diff {rel:.1e}")
    print(f"{len(rounds)} rounds; largest relative difference {worst:.1e} (tolerance {args.tolerance:g})")
    sys.exit(0 if worst <= args.tolerance else 1)


if __name__ == "__main__":
    main()
