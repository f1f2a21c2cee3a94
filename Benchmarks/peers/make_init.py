#!/usr/bin/env python3
"""Writes an initial-state safetensors file in the RecRL exporter's contract
(see common.py): Glorot-uniform weights, zero biases, and one batch.

  python make_init.py --config tiny|paper|medium|large --seed N --out FILE
tiny: k=4, S=12, H=8, B=5.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CONFIGS, generate_init, write_safetensors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=list(CONFIGS), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t = generate_init(a.config, a.seed)
    k, S, H, B = CONFIGS[a.config]
    write_safetensors(a.out, t, {"config": a.config, "seed": a.seed, "k": k, "S": S, "H": H, "B": B})
    print(f"wrote {a.out}: {len(t)} tensors, config {a.config} (k={k} S={S} H={H} B={B}), seed {a.seed}")


if __name__ == "__main__":
    main()
