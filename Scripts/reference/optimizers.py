#!/usr/bin/env python3
"""Golden trajectories for RecRL's optimizer tests (numpy reference).

Writes Tests/RecRLNNTests/Golden/optimizers.json. Each optimizer runs 10 steps on
two parameters (a [2, 3] "weight" and a [3] "bias") with the deterministic
gradient  g_t(p) = 2 * (p - target) + 0.1 * t * sign_pattern  so the trajectory
exercises bias correction and momentum. All arithmetic in float64, reported as
float64; the Swift side runs in float32 and compares with a stated tolerance.

    python3 Scripts/reference/optimizers.py
"""
import json
import os
import numpy as np

W0 = np.array([[0.5, -1.0, 0.25], [2.0, 0.0, -0.75]])
B0 = np.array([0.1, -0.2, 0.3])
WT = np.array([[1.0, 1.0, -1.0], [0.0, 0.5, 0.5]])
BT = np.array([0.0, 1.0, -1.0])
WS = np.array([[1, -1, 1], [-1, 1, -1]], dtype=float)
BS = np.array([1, 1, -1], dtype=float)
STEPS = 10


def grads(w, b, t):
    return 2 * (w - WT) + 0.1 * t * WS, 2 * (b - BT) + 0.1 * t * BS


def adam(lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
    w, b = W0.copy(), B0.copy()
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    traj = []
    for t in range(1, STEPS + 1):
        gs = grads(w, b, t)
        ps = [w, b]
        for i in range(2):
            m[i] = b1 * m[i] + (1 - b1) * gs[i]
            v[i] = b2 * v[i] + (1 - b2) * gs[i] ** 2
            mhat = m[i] / (1 - b1 ** t)
            vhat = v[i] / (1 - b2 ** t)
            ps[i] -= lr * mhat / (np.sqrt(vhat) + eps)
        traj.append({"weight": w.ravel().tolist(), "bias": b.ravel().tolist()})
    return {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps, "trajectory": traj}


def sgd_momentum(lr=0.05, mu=0.9):
    w, b = W0.copy(), B0.copy()
    vel = [np.zeros_like(w), np.zeros_like(b)]
    traj = []
    for t in range(1, STEPS + 1):
        gs = grads(w, b, t)
        ps = [w, b]
        for i in range(2):
            vel[i] = mu * vel[i] + gs[i]
            ps[i] -= lr * vel[i]
        traj.append({"weight": w.ravel().tolist(), "bias": b.ravel().tolist()})
    return {"learning_rate": lr, "momentum": mu, "trajectory": traj}


def main():
    out = {
        "problem": {
            "weight0": W0.ravel().tolist(), "bias0": B0.ravel().tolist(),
            "weight_target": WT.ravel().tolist(), "bias_target": BT.ravel().tolist(),
            "weight_sign": WS.ravel().tolist(), "bias_sign": BS.ravel().tolist(),
            "steps": STEPS,
        },
        "adam": adam(),
        "sgd_momentum": sgd_momentum(),
    }
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "..", "Tests", "RecRLNNTests", "Golden", "optimizers.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
