#!/usr/bin/env python3
"""PyTorch peer of `recrl-bench update`: one LIRD and one DeepPage training update at
RecRL's default configurations (Sources/RecRLBenchmarkSupport/ListUpdateWorkload.swift),
float32, CPU, on a fixed synthetic batch, for updates/s side by side.

lird (LIRDConfiguration(): DRR-ave state, K = 4, k = 100, hidden 256, batch 64), as
  DRRLearningStep.update + supervisedStep:
  1. s = module(raw s) (kept for backward), s' = module(raw s') (no gradient), with
     module(x) = [u, u * v, v], v = sum_a w_a i_a / 5 over the 5-item window;
  2. a' = mu'(s') projected on real items: per row, slot j takes the item with the
     highest score (E/max|E|) . a'_j not taken by an earlier slot (ListSelection);
     y = r + 0.9 d Q'(s', a');
  3. critic loss mean(w (Q(s, a) - y)^2), backward to the critic and to s (the module's
     w); Adam (1e-3) on the critic;
  4. actor loss -mean Q(s, mu(s)) through the updated critic (no critic weight
     gradients), backward to the actor and to s; Adam (1e-4) on the actor;
  5. soft updates tau = 0.01 of both targets; Adam (1e-3) on the module's w;
  6. supervised next-item step (weight 100): B module rows -> actor -> [B K, k] ->
     logits over the catalogue, softmax cross-entropy against B K targets; backward to
     the actor and the module; Adam on both.
  Networks: actor 300 -> 256 ReLU -> 256 ReLU -> K k tanh; critic [s | a] 700 -> 256
  ReLU -> 256 ReLU -> 1.

deeppage (DeepPageConfiguration(): a 2 x 2 page, k = 32, history 5, 3 recent pages, state
  32, filters 16, deconvolution 16, critic hidden 64, batch 32), as DDPGLearner.update:
  encoder(obs): a GRU (k -> 32) over the 5 history items (masked: the last valid state),
    a Conv2d over every recent page's 2 x 2 grid of [embedding | feedback] (33 -> 16,
    kernel 2 x 2, ReLU), a GRU (16 -> 32) over the 3 page encodings started from the
    history state, additive attention (v^T tanh(h W + b), 32 -> 32) over [h_0, h_1..h_3]
    with the page mask;
  actor: encoder -> Linear(32 -> 1*1*16) ReLU -> ConvTranspose2d(16 -> 32, kernel 2 x 2)
    tanh: a 2 x 2 page of embeddings;
  critic: its own encoder; the action page through Conv2d(32 -> 16, kernel 2 x 2, ReLU);
    [state | page encoding] -> Linear(48 -> 64) ReLU -> Linear(64 -> 1);
  then steps 2-5 above (no module, no state gradients: DeepPage's learner computes none);
  then the supervised next-page step (weight SUP_PAGE, DeepPageConfiguration.supervisedWeight):
  B observations with a full history and no page -> actor -> [B P, k] -> logits over the
  catalogue, softmax cross-entropy against B P targets; backward to the actor (its
  encoder included); Adam on the actor.

Both: the batch's observations have every history item and r mod 4 recent pages in row r
(RecRL's ListUpdateWorkload), actions in [-1, 1], rewards in [-1, 1], discount 1, IS
weights 1. RecRL stores pages NHWC; here the grids are permuted to NCHW per call (the
usual PyTorch layout), which is part of the measured work. Catalogue: --items (1,682).

Threads: torch.set_num_threads(N), OMP/MKL/OpenBLAS = N and, below the core count, the
process pinned to N cores (peers.py's set_thread_env). Timing as layers_torch.py: a
warm-up of at least 1 s and 20 updates, then --runs runs of seconds/runs worth of
updates; updates_per_second is the median. other_processes_cores: cores other processes
kept busy meanwhile (/proc/stat); above ~0.3 the figure is disturbed.

    Benchmarks/peers/.venv/bin/python Benchmarks/peers/list_update_torch.py --threads 1 [--json]
"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers import cpu_snapshot, foreign_cores, set_thread_env  # noqa: E402

GAMMA, TAU, ACTOR_LR, CRITIC_LR, STATE_LR = 0.9, 0.01, 1e-4, 1e-3, 1e-3


def make_adam(torch, params, lr):
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except Exception:  # older torch: no fused CPU Adam
        return torch.optim.Adam(params, lr=lr, foreach=True)


def project(torch, actions, e_scaled, slots):
    """Each row's K slot vectors -> the best distinct items, slot by slot (ListSelection)."""
    b, k = actions.shape[0], e_scaled.shape[1]
    scores = (actions.reshape(b * slots, k) @ e_scaled.T).reshape(b, slots, -1)
    taken = torch.zeros(b, scores.shape[2], dtype=torch.bool)
    rows = torch.arange(b)
    picks = []
    for j in range(slots):
        best = scores[:, j].masked_fill(taken, float("-inf")).argmax(1)
        taken[rows, best] = True
        picks.append(best)
    return e_scaled[torch.stack(picks, 1)].reshape(b, slots * k)


def lird(torch, items, rng):
    B, K, k, N, H, SUP = 64, 4, 100, 5, 256, 100.0
    S, X, A = 3 * k, (N + 1) * k, K * k
    nn = torch.nn
    E = torch.randn(items, k, generator=rng) * 0.3
    E_scaled = E / E.abs().max()
    users = torch.randn(64, k, generator=rng) * 0.3

    def rows(n):
        u = users[torch.randint(0, 64, (n,), generator=rng)]
        i = E[torch.randint(0, items, (n, N), generator=rng)].reshape(n, N * k)
        return torch.cat([u, i], 1)

    def mlp(i, o):
        return nn.Sequential(nn.Linear(i, H), nn.ReLU(), nn.Linear(H, H), nn.ReLU(), nn.Linear(H, o))

    actor, critic = mlp(S, A), mlp(S + A, 1)
    actor_t, critic_t = mlp(S, A), mlp(S + A, 1)
    actor_t.load_state_dict(actor.state_dict())
    critic_t.load_state_dict(critic.state_dict())
    for p in list(actor_t.parameters()) + list(critic_t.parameters()):
        p.requires_grad_(False)
    w_items = torch.ones(N, requires_grad=True)

    def module(x):
        u = x[:, :k]
        v = torch.einsum("a,bak->bk", w_items / N, x[:, k:].reshape(-1, N, k))
        return torch.cat([u, u * v, v], 1)

    opt_a, opt_c, opt_m = make_adam(torch, actor.parameters(), ACTOR_LR), make_adam(torch, critic.parameters(), CRITIC_LR), \
        make_adam(torch, [w_items], STATE_LR)
    targets = list(actor_t.parameters()) + list(critic_t.parameters())
    onlines = [p.detach() for p in list(actor.parameters()) + list(critic.parameters())]
    critic_params = list(critic.parameters())
    raw_s, raw_s2 = rows(B), rows(B)
    a = torch.rand(B, A, generator=rng) * 2 - 1
    r = (torch.rand(B, 1, generator=rng) * 2 - 1)
    d, w = torch.ones(B, 1), torch.ones(B, 1)
    x_sup = rows(B)
    t_sup = torch.randint(0, items, (B * K,), generator=rng)

    def step():
        s = module(raw_s)
        with torch.no_grad():
            s2 = module(raw_s2)
            a2 = project(torch, torch.tanh(actor_t(s2)), E_scaled, K)
            y = r + GAMMA * d * critic_t(torch.cat([s2, a2], 1))
        q = critic(torch.cat([s, a], 1))
        critic_loss = torch.mean(w * torch.square(q - y))
        opt_c.zero_grad(set_to_none=True)
        w_items.grad = None
        critic_loss.backward()
        opt_c.step()
        s_leaf = s.detach().requires_grad_(True)
        for p in critic_params:
            p.requires_grad_(False)
        actor_loss = -critic(torch.cat([s_leaf, torch.tanh(actor(s_leaf))], 1)).mean()
        opt_a.zero_grad(set_to_none=True)
        actor_loss.backward()
        for p in critic_params:
            p.requires_grad_(True)
        opt_a.step()
        with torch.no_grad():
            torch._foreach_lerp_(targets, onlines, TAU)
        opt_m.step()
        mu = torch.tanh(actor(module(x_sup)))
        sup = SUP * torch.nn.functional.cross_entropy(mu.reshape(B * K, k) @ E.T, t_sup)
        opt_a.zero_grad(set_to_none=True)
        w_items.grad = None
        sup.backward()
        opt_a.step()
        opt_m.step()
        return float(critic_loss.detach())

    shape = f"batch {B}, DRR-ave window {N}, k {k}, K {K}, hidden {H}, {items} items, supervised weight {SUP:g}"
    return step, shape


def deeppage(torch, items, rng):
    B, k, N, M, ROWS, COLS, HS, F, D, CH, SUP_PAGE = 32, 32, 5, 3, 2, 2, 32, 16, 16, 64, 100.0
    P, C = ROWS * COLS, k + 1                       # positions, page channels [embedding | feedback]
    OBS = N * (k + 1) + M * (P * C + 1)
    nn = torch.nn
    E = torch.randn(items, k, generator=rng) * 0.3
    E_scaled = E / E.abs().max()

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.history = nn.GRU(k, HS, batch_first=True)
            self.cnn = nn.Conv2d(C, F, (2, 2))
            self.pages = nn.GRU(F, HS, batch_first=True)
            self.att_w = nn.Linear(HS, HS)
            self.att_v = nn.Linear(HS, 1, bias=False)

        def forward(self, obs):
            b = obs.shape[0]
            o = 0
            hist = obs[:, o:o + N * k].reshape(b, N, k); o += N * k
            hmask = obs[:, o:o + N]; o += N
            pages = obs[:, o:o + M * P * C].reshape(b * M, ROWS, COLS, C).permute(0, 3, 1, 2); o += M * P * C
            pmask = obs[:, o:o + M]
            out, _ = self.history(hist)
            last = (hmask.sum(1).long() - 1).clamp(min=0)            # valid history is a prefix
            h0 = out[torch.arange(b), last] * (hmask.sum(1, keepdim=True) > 0)
            enc = torch.relu(self.cnn(pages)).reshape(b, M, F)
            steps, _ = self.pages(enc, h0.unsqueeze(0).contiguous())
            seq = torch.cat([h0.unsqueeze(1), steps], 1)            # [b, M + 1, HS]
            mask = torch.cat([torch.ones(b, 1), pmask], 1)
            scores = self.att_v(torch.tanh(self.att_w(seq))).squeeze(2).masked_fill(mask == 0, float("-inf"))
            return (torch.softmax(scores, 1).unsqueeze(2) * seq).sum(1)

    class Actor(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.projection = nn.Linear(HS, D)                       # to a 1 x 1 x D seed grid
            self.deconv = nn.ConvTranspose2d(D, k, (2, 2))

        def forward(self, obs):
            seed = torch.relu(self.projection(self.encoder(obs))).reshape(-1, D, 1, 1)
            return torch.tanh(self.deconv(seed)).permute(0, 2, 3, 1).reshape(-1, P * k)   # NHWC rows

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.cnn = nn.Conv2d(k, F, (2, 2))
            self.hidden = nn.Linear(HS + F, CH)
            self.out = nn.Linear(CH, 1)

        def forward(self, obs, action):
            page = torch.relu(self.cnn(action.reshape(-1, ROWS, COLS, k).permute(0, 3, 1, 2))).reshape(-1, F)
            return self.out(torch.relu(self.hidden(torch.cat([self.encoder(obs), page], 1))))

    actor, critic, actor_t, critic_t = Actor(), Critic(), Actor(), Critic()
    actor_t.load_state_dict(actor.state_dict())
    critic_t.load_state_dict(critic.state_dict())
    for p in list(actor_t.parameters()) + list(critic_t.parameters()):
        p.requires_grad_(False)
    opt_a, opt_c = make_adam(torch, actor.parameters(), ACTOR_LR), make_adam(torch, critic.parameters(), CRITIC_LR)
    targets = list(actor_t.parameters()) + list(critic_t.parameters())
    onlines = [p.detach() for p in list(actor.parameters()) + list(critic.parameters())]
    critic_params = list(critic.parameters())

    def observations(b):
        x = torch.zeros(b, OBS)
        x[:, :N * k] = E[torch.randint(0, items, (b, N), generator=rng)].reshape(b, N * k)
        x[:, N * k:N * (k + 1)] = 1
        base = N * (k + 1)
        for row in range(b):
            for m in range(row % (M + 1)):
                grid = torch.cat([E[torch.randint(0, items, (P,), generator=rng)], torch.rand(P, 1, generator=rng) * 2 - 1], 1)
                x[row, base + m * P * C:base + (m + 1) * P * C] = grid.reshape(-1)
                x[row, base + M * P * C + m] = 1
        return x

    s, s2 = observations(B), observations(B)
    x_sup = torch.zeros(B, OBS)
    x_sup[:, :N * k] = E[torch.randint(0, items, (B, N), generator=rng)].reshape(B, N * k)
    x_sup[:, N * k:N * (k + 1)] = 1
    t_sup = torch.randint(0, items, (B * P,), generator=rng)
    a = torch.rand(B, P * k, generator=rng) * 2 - 1
    r = torch.rand(B, 1, generator=rng) * 2 - 1
    d, w = torch.ones(B, 1), torch.ones(B, 1)

    def step():
        with torch.no_grad():
            a2 = project(torch, actor_t(s2), E_scaled, P)
            y = r + GAMMA * d * critic_t(s2, a2)
        q = critic(s, a)
        critic_loss = torch.mean(w * torch.square(q - y))
        opt_c.zero_grad(set_to_none=True)
        critic_loss.backward()
        opt_c.step()
        for p in critic_params:
            p.requires_grad_(False)
        actor_loss = -critic(s, actor(s)).mean()
        opt_a.zero_grad(set_to_none=True)
        actor_loss.backward()
        for p in critic_params:
            p.requires_grad_(True)
        opt_a.step()
        with torch.no_grad():
            torch._foreach_lerp_(targets, onlines, TAU)
        if SUP_PAGE > 0:
            sup = SUP_PAGE * torch.nn.functional.cross_entropy(actor(x_sup).reshape(B * P, k) @ E.T, t_sup)
            opt_a.zero_grad(set_to_none=True)
            sup.backward()
            opt_a.step()
        return float(critic_loss.detach())

    shape = (f"batch {B}, page {ROWS}x{COLS}, k {k}, history {N}, {M} pages, state {HS}, filters {F}, "
             f"deconvolution {D}, critic hidden {CH}, {items} items, supervised weight {SUP_PAGE:g}")
    return step, shape


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="lird,deeppage")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--items", type=int, default=1682)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    set_thread_env("torch", a.threads)
    import torch
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    results = []
    for name in a.models.split(","):
        if name not in ("lird", "deeppage"):
            sys.exit(f"unknown model {name!r}; expected lird, deeppage")
        rng = torch.Generator().manual_seed(1)
        torch.manual_seed(1)
        step, shape = (lird if name == "lird" else deeppage)(torch, a.items, rng)
        calls, t0 = 0, time.perf_counter()
        while calls < 20 or time.perf_counter() - t0 < 1.0:
            step()
            calls += 1
        per_run = max(1, int(calls / (time.perf_counter() - t0) * a.seconds / a.runs))
        rates, losses = [], 0.0
        before, tb = cpu_snapshot(), time.perf_counter()
        for _ in range(a.runs):
            s = time.perf_counter()
            for _ in range(per_run):
                losses += step()
            rates.append(per_run / (time.perf_counter() - s))
        others = foreign_cores(before, cpu_snapshot(), time.perf_counter() - tb)
        if losses != losses:
            sys.exit(f"{name}: the critic loss diverged")
        median = statistics.median(rates)
        results.append({"model": name, "shape": shape, "updates_per_second": round(median, 2),
                        "ms_per_update": round(1000 / median, 4), "runs": [round(x, 2) for x in rates],
                        "other_processes_cores": None if others is None else round(others, 2)})
    out = {"framework": "torch", "version": torch.__version__, "threads": a.threads, "results": results}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"torch {torch.__version__}, {a.threads} threads; one training update per call")
        for r in results:
            print(f"{r['model']:<9} {r['updates_per_second']:9.1f} updates/s {r['ms_per_update']:8.3f} ms"
                  f"  others busy {r['other_processes_cores']}  ({r['shape']})")


if __name__ == "__main__":
    main()
