#!/usr/bin/env python3
"""Numerical-agreement reference: U updates of the WORKLOAD.md DDPG step in
numpy float64, from the initial state in a safetensors file (see common.py
for the tensor-name contract). The same batch is used at every update.

  python reference.py --init FILE [--updates 10] [--out FILE]
Writes {"critic_loss": [...U], "actor_loss": [...U]}: the critic loss of
update t (before its Adam step) and the actor loss of update t (computed with
the critic after its update in this step, before the actor's Adam step).

Step: a' = mu'(s'); y = r + 0.9 (1 - done) Q'(s', a').
      critic loss mean((Q(s,a) - y)^2), Adam(lr 1e-3, .9, .999, 1e-8, bias-corrected) on Q.
      actor loss -mean(Q(s, mu(s))) with the updated Q; Adam(lr 1e-4) on mu only.
      soft update tau = 0.001 of both targets.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ACTOR_LR, ACTOR_NAMES, BETA1, BETA2, CRITIC_LR, CRITIC_NAMES,  # noqa: E402
                    EPS, GAMMA, TAU, read_safetensors, validate)


def relu(x):
    return np.maximum(x, 0.0)


def actor_fwd(p, s):
    W0, b0, W1, b1, W2, b2 = p
    h0 = relu(s @ W0 + b0)
    h1 = relu(h0 @ W1 + b1)
    return (h0, h1), np.tanh(h1 @ W2 + b2)


def critic_fwd(p, x):
    V0, c0, V1, c1, V2, c2 = p
    z0 = relu(x @ V0 + c0)
    z1 = relu(z0 @ V1 + c1)
    return (z0, z1), z1 @ V2 + c2


def critic_back(p, x, cache, dq, want_weights, want_input):
    """dq: dLoss/dq [B,1]. Returns (weight grads or None, input grad or None)."""
    V0, c0, V1, c1, V2, c2 = p
    z0, z1 = cache
    dz1 = (dq @ V2.T) * (z1 > 0)
    dz0 = (dz1 @ V1.T) * (z0 > 0)
    grads = None
    if want_weights:
        grads = [x.T @ dz0, dz0.sum(0), z0.T @ dz1, dz1.sum(0), z1.T @ dq, dq.sum(0)]
    dx = dz0 @ V0.T if want_input else None
    return grads, dx


def actor_back(p, s, cache, mu, dmu):
    W0, b0, W1, b1, W2, b2 = p
    h0, h1 = cache
    d2 = dmu * (1.0 - mu * mu)
    d1 = (d2 @ W2.T) * (h1 > 0)
    d0 = (d1 @ W1.T) * (h0 > 0)
    return [s.T @ d0, d0.sum(0), h0.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0)]


class Adam:
    def __init__(self, params, lr):
        self.lr, self.t = lr, 0
        self.m = [np.zeros_like(q) for q in params]
        self.v = [np.zeros_like(q) for q in params]

    def step(self, params, grads):
        self.t += 1
        bc1, bc2 = 1.0 - BETA1 ** self.t, 1.0 - BETA2 ** self.t
        for q, g, m, v in zip(params, grads, self.m, self.v):
            m *= BETA1
            m += (1.0 - BETA1) * g
            v *= BETA2
            v += (1.0 - BETA2) * g * g
            q -= self.lr * (m / bc1) / (np.sqrt(v / bc2) + EPS)


def run(t, updates, dtype=np.float64):
    actor = [t[n].astype(dtype) for n in ACTOR_NAMES]
    critic = [t[n].astype(dtype) for n in CRITIC_NAMES]
    actor_t = [q.copy() for q in actor]
    critic_t = [q.copy() for q in critic]
    s, a, r, s2, d = (t[n].astype(dtype) for n in
                      ("batch.state", "batch.action", "batch.reward", "batch.next_state", "batch.done"))
    S = s.shape[1]
    B = s.shape[0]
    opt_c, opt_a = Adam(critic, CRITIC_LR), Adam(actor, ACTOR_LR)
    closs, aloss = [], []
    for _ in range(updates):
        # 1. target
        _, a2 = actor_fwd(actor_t, s2)
        _, q2 = critic_fwd(critic_t, np.concatenate([s2, a2], 1))
        y = r + GAMMA * (1.0 - d) * q2
        # 2. critic
        x = np.concatenate([s, a], 1)
        cc, q = critic_fwd(critic, x)
        diff = q - y
        closs.append(float(np.mean(diff * diff)))
        g, _ = critic_back(critic, x, cc, 2.0 * diff / B, True, False)
        opt_c.step(critic, g)
        # 3. actor, through the updated critic (its weights frozen here)
        ac, mu = actor_fwd(actor, s)
        xa = np.concatenate([s, mu], 1)
        cc, q = critic_fwd(critic, xa)
        aloss.append(float(-np.mean(q)))
        _, dx = critic_back(critic, xa, cc, np.full_like(q, -1.0 / B), False, True)
        opt_a.step(actor, actor_back(actor, s, ac, mu, dx[:, S:]))
        # 4. soft update
        for tq, q_ in zip(actor_t + critic_t, actor + critic):
            tq *= (1.0 - TAU)
            tq += TAU * q_
    return {"critic_loss": closs, "actor_loss": aloss}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="safetensors file with the initial state")
    ap.add_argument("--updates", "-U", type=int, default=10)
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    a = ap.parse_args()
    t = read_safetensors(a.init)
    validate(t)
    res = run(t, a.updates)
    js = json.dumps(res)
    if a.out:
        with open(a.out, "w") as f:
            f.write(js + "\n")
    else:
        print(js)


if __name__ == "__main__":
    main()
