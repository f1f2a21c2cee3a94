#!/usr/bin/env python3
"""PyTorch peer of RecRL's DRR-ave training (`recrl train --data ml-100k`), for
side-by-side speed figures at the same thread count.

It does, per episode and per step, the work RecRL's `DRRTrainer.train` does with the
default `DRRConfiguration` (Sources/RecRLDRR), in float32:

  data       MovieLens 100K `u.data`; per-user temporal split (each user's latest
             round(0.2 n) ratings held out, at most n - 1), as `recrl train --split
             temporal --test-fraction 0.2`. Only the training split is read below.
  embeddings implicit-feedback ALS (Hu, Koren & Volinsky 2008), k 100, lambda 50,
             alpha 5 (c = 1 + alpha r), 10 sweeps, N(0, 0.1) init: numpy, timed apart
             (`embedding_seconds`). `--embeddings explicit`: PMF by ALS with weighted-lambda
             (lambda n_u), mu = mean rating.
  simulator  OfflineSimulator: users with >= 1 positive (rating > 3) served in shuffled
             order; window = the user's first 5 positives, oldest first, empty slots are
             zero embeddings; episode of T = 10 steps; an item in the window or already
             recommended is not a candidate; reward (r - 3) / 2 for a logged rating, else
             `unratedReward` (default 0; `--unrated-reward pmf` uses the clipped PMF
             prediction, the paper's simulator); a positive reward pushes the item into
             the window; discount 1 every step (truncation, gamma in the learner).
  acting     per step: state module and actor on one row, Gaussian action noise (std
             0.1, clipped to [-1, 1]); epsilon-greedy over the ranking (epsilon 0.5 -> 0.05
             linearly over the first half of the episodes): a random candidate, else the
             best-scoring candidate argmax E a; the replay stores the recommended item's
             embedding scaled by 1 / max|E| as the action (`replayAction .itemEmbedding`).
  replay     proportional prioritized replay, capacity 100,000, alpha 0.6, beta 0.4 -> 1
             linearly over episodes x T samples, p = |delta| + 1e-6, new transitions at the
             largest priority so far, stratified sampling (one draw per 1/B of the total),
             IS weights normalised by the buffer's smallest priority; a sum tree with a
             min tree (2^17 leaves). Learning starts at 1,000 transitions (warm-up).
  state      DRR-ave: input row [u | i_1 .. i_5] (600 wide); v = sum_a w_a i_a / 5 with
             learned position weights w (init 1); s = [u, u * v, v] (300 wide).
  networks   actor 300 -> 256 ReLU -> 256 ReLU -> 100 tanh; critic [s | a] 400 -> 256
             ReLU -> 256 ReLU -> 1; Glorot-uniform weights, zero biases; targets start as
             copies.
  one learn  (after every step past the warm-up; B = 64):
             1. sample B transitions; s = module(raw s) (kept for backward),
                s' = module(raw s') (no gradient);
             2. a' = mu'(s') projected onto the nearest scaled item embedding
                (argmax over the 1,682 scores of (E/max|E|) a', `projectsTargetActions`);
                y = r + 0.9 * discount * Q'(s', a');
             3. critic loss mean(w (Q(s, a) - y)^2); backward to the critic's weights and
                to s (hence to the module's w); Adam (lr 1e-3) on the critic; TD errors
                y - Q(s, a) become the new priorities;
             4. actor loss -mean Q(s, mu(s)) through the updated critic, whose weights get
                no gradient; backward to the actor's weights and to s (the state
                gradient RecRL computes; `actorTrainsStateModule` is false, so it is not
                applied); Adam (lr 1e-4) on the actor;
             5. soft updates tau = 0.01 of both targets;
             6. Adam (lr 1e-3) on the module's w with the critic loss's gradient;
             7. supervised next-item step (`supervisedWeight` 100): B logged examples
                (a user's window of positives -> the positive that followed), module ->
                actor -> logits E a over the whole catalogue (B x 1,682), 100 x softmax
                cross-entropy; backward through the actor and the module; Adam on the
                actor (the same optimizer as step 4) and on the module (same as step 6).
             gamma 0.9, no gradient clipping, FTZ on (RecRL runs updates flush-to-zero).

Where it deviates from RecRL, and why:
  - Random streams: numpy / torch generators instead of RecRL's xoshiro256**; the
    initial weights, embeddings, user order and exploration therefore differ, and the
    runs agree in distribution, not numerically (the task asks for the same work).
  - ALS builds each row's k x k system in a Python loop, then solves all of a side's
    systems in one batched numpy `linalg.solve` (LU, gesv) where RecRL calls LAPACK
    `sposv` (Cholesky) per row: the same systems, a little more arithmetic per solve;
    numpy has no Cholesky solve without scipy, which the venv does not carry.
  - The best-candidate search: torch computes all 1,682 scores (as RecRL's GEMV), then
    masks the at most 15 excluded items and takes argmax, where RecRL's top-1 heap tests
    exclusion per item; same scores computed.
  - The replay's sum tree is vectorised with numpy over the batch (B leaves per level
    at once) instead of RecRL's per-slot loops; the same tree and the same operations
    (find by prefix, set, minimum), just in the form a Python implementation would take.
  - Module input rows are gathered from an embedding table with a zero row appended for
    empty window slots, and the supervised examples' windows are listed once at set-up
    (RecRL rebuilds each sampled window from the user's positives): numpy fancy indexing,
    the usual form in Python, instead of per-row copies; the same rows result.
  - The actor update's state gradient (step 4) is requested by making s a leaf that
    requires grad, so torch computes the actor's first-layer input gradient as RecRL does
    (computesStateGradients is on for DRR-ave); its value is discarded, as in RecRL.
  - Critic loss: torch autograd of mean(w (Q - y)^2) gives the same gradient
    2 w (Q - y) / B that RecRL's MeanSquaredError writes.
  - Acting runs under `torch.no_grad()` (RecRL's acting pass keeps no backward state).
  - Not mirrored, as it is not training work: `recrl train`'s data loading, evaluation
    on the test split and model saving (RecRL's `train_seconds` excludes them too).
    `--evaluate` computes NDCG@10 on the held-out split (full ranking over items unseen in
    training, relevance = rating >= 4, state = the user's last 5 positive training items),
    outside the timed region, to check the loop learns.

Timing (all wall-clock, time.perf_counter):
  embedding_seconds  ALS pretraining;
  loop_seconds       building the model, simulator and replay plus the episodes;
  train_seconds      the two together (the analogue of recrl's JSON `train_seconds`);
  episodes_per_second = episodes / loop_seconds.

Usage:
  drr_torch.py [--data DIR] [--episodes 500] [--threads 1] [--seed 0] [--json]
               [--curve-every 100] [--warmup 1000] [--evaluate] [--no-flush-denormal]
"""
import argparse
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers import cpu_snapshot, foreign_cores, set_thread_env  # noqa: E402  (stdlib only at import)

DEFAULT_DATA = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data", "ml-100k"))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="MovieLens 100K directory (u.data)")
    p.add_argument("--episodes", type=int, default=500)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and BLAS/OpenMP threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--embeddings", choices=("implicit", "explicit"), default="implicit")
    p.add_argument("--unrated-reward", default="0", help="a number, or 'pmf' for the PMF-predicted rating")
    p.add_argument("--supervised-weight", type=float, default=100.0)
    p.add_argument("--warmup", type=int, default=1000, help="transitions collected before learning starts")
    p.add_argument("--curve-every", type=int, default=100)
    p.add_argument("--evaluate", action="store_true", help="NDCG@10 on the held-out split after training (not timed)")
    p.add_argument("--no-flush-denormal", action="store_true")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return p.parse_args()


# Default DRRConfiguration (Sources/RecRLDRR/DRRConfiguration.swift).
K, WINDOW, HIDDEN, T_LEN = 100, 5, 256, 10
GAMMA, ACTOR_LR, CRITIC_LR, STATE_LR = 0.9, 1e-4, 1e-3, 1e-3
BATCH, TAU, CAPACITY = 64, 0.01, 100_000
PRIO_ALPHA, PRIO_BETA0, PRIO_EPS = 0.6, 0.4, 1e-6
EPS_START, EPS_END, ACTION_NOISE = 0.5, 0.05, 0.1
ALS_ITERS, ALS_LAMBDA_IMPLICIT, ALS_ALPHA, ALS_LAMBDA_EXPLICIT, ALS_INIT = 10, 50.0, 5.0, 0.1, 0.1
RATING_MIN, RATING_MAX = 1.0, 5.0


# ------------------------------------------------------------------ data ---

def load_split(np, path, test_fraction):
    """u.data -> training rows (users, items, ratings, timestamps) and test rows, dense ids."""
    raw = np.loadtxt(os.path.join(path, "u.data"), dtype=np.int64)
    users_raw, items_raw, ratings, ts = raw[:, 0], raw[:, 1], raw[:, 2].astype(np.float32), raw[:, 3]
    _, users = np.unique(users_raw, return_inverse=True)
    _, items = np.unique(items_raw, return_inverse=True)
    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    is_test = np.zeros(len(users), bool)
    order = np.lexsort((np.arange(len(users)), ts, users))   # by user, then time, then row
    bounds = np.searchsorted(users[order], np.arange(n_users + 1))
    for u in range(n_users):
        rows = order[bounds[u]:bounds[u + 1]]
        n_test = min(int(np.floor(len(rows) * test_fraction + 0.5)), len(rows) - 1)
        if n_test > 0:
            is_test[rows[len(rows) - n_test:]] = True
    tr, te = ~is_test, is_test
    return (n_users, n_items,
            (users[tr], items[tr], ratings[tr], ts[tr]),
            (users[te], items[te], ratings[te]))


# ------------------------------------------------------------ embeddings ---

def fit_als(np, n_users, n_items, users, items, ratings, implicit, rng):
    """ALS as RecRLEmbeddings.MatrixFactorization.fitImplicit / fitExplicit."""
    k = K
    P = (rng.standard_normal((n_users, k)) * ALS_INIT).astype(np.float32)
    Q = (rng.standard_normal((n_items, k)) * ALS_INIT).astype(np.float32)
    mu = 0.0 if implicit else float(ratings.mean())
    lam = ALS_LAMBDA_IMPLICIT if implicit else ALS_LAMBDA_EXPLICIT

    def csr(rows, cols, n):
        o = np.argsort(rows, kind="stable")
        return np.searchsorted(rows[o], np.arange(n + 1)), cols[o], ratings[o]

    by_user, by_item = csr(users, items, n_users), csr(items, users, n_items)
    eye = np.eye(k, dtype=np.float32)

    def solve_side(offsets_cols_vals, fixed, solved):
        offsets, cols, vals = offsets_cols_vals
        rows = solved.shape[0]
        gram = fixed.T @ fixed if implicit else None
        A = np.empty((rows, k, k), np.float32)
        rhs = np.empty((rows, k), np.float32)
        empty = np.diff(offsets) == 0
        for r in range(rows):
            b, e = offsets[r], offsets[r + 1]
            if b == e:
                A[r], rhs[r] = eye, 0
                continue
            Y, v = fixed[cols[b:e]], vals[b:e]
            if implicit:
                conf = 1 + ALS_ALPHA * v
                G = Y * np.sqrt(conf - 1)[:, None]
                A[r] = gram + G.T @ G + lam * eye
                rhs[r] = Y.T @ conf
            else:
                A[r] = Y.T @ Y + (lam * (e - b)) * eye
                rhs[r] = Y.T @ (v - mu)
        solved[:] = np.linalg.solve(A, rhs[:, :, None])[:, :, 0]    # one batched LAPACK call
        solved[empty] = 0

    for _ in range(ALS_ITERS):
        solve_side(by_user, Q, P)
        solve_side(by_item, P, Q)
    return P, Q, mu


# ---------------------------------------------------------------- replay ---

class PrioritizedReplay:
    """Proportional prioritized replay with a sum/min tree (RecRLAgents.PrioritizedReplayBuffer)."""

    def __init__(self, np, capacity, state_size, action_size, beta_steps):
        self.np = np
        self.capacity = capacity
        n = 1
        while n < capacity:
            n *= 2
        self.leaves = n
        self.depth = n.bit_length() - 1
        self.sums = np.zeros(2 * n)
        self.minima = np.full(2 * n, np.inf)
        self.states = np.zeros((capacity, state_size), np.float32)
        self.next_states = np.zeros((capacity, state_size), np.float32)
        self.actions = np.zeros((capacity, action_size), np.float32)
        self.rewards = np.zeros(capacity, np.float32)
        self.discounts = np.zeros(capacity, np.float32)
        self.position = 0
        self.count = 0
        self.max_priority = 1.0
        self.samples_drawn = 0
        self.beta_steps = beta_steps

    def _set(self, slots, values):
        np = self.np
        i = slots + self.leaves
        self.sums[i] = values
        self.minima[i] = values
        for _ in range(self.depth):
            i = i // 2
            self.sums[i] = self.sums[2 * i] + self.sums[2 * i + 1]
            self.minima[i] = np.minimum(self.minima[2 * i], self.minima[2 * i + 1])

    def add(self, state, action, reward, discount, next_state):
        s = self.position
        self.states[s] = state
        self.actions[s] = action
        self.rewards[s] = reward
        self.discounts[s] = discount
        self.next_states[s] = next_state
        self.position = (s + 1) % self.capacity
        self.count = min(self.count + 1, self.capacity)
        self._set(self.np.array([s]), self.max_priority ** PRIO_ALPHA)

    def sample(self, b, rng):
        np = self.np
        total = self.sums[1]
        n = float(self.count)
        beta = PRIO_BETA0 + (1.0 - PRIO_BETA0) * min(1.0, self.samples_drawn / max(1, self.beta_steps))
        self.samples_drawn += 1
        max_weight = (n * self.minima[1] / total) ** (-beta)
        u = (total / b) * (np.arange(b) + rng.random(b))
        i = np.ones(b, np.int64)
        for _ in range(self.depth):
            left = self.sums[2 * i]
            go_left = (u < left) | (self.sums[2 * i + 1] == 0)
            u = np.where(go_left, u, u - left)
            i = np.where(go_left, 2 * i, 2 * i + 1)
        slots = np.minimum(i - self.leaves, self.count - 1)
        p = self.sums[slots + self.leaves] / total
        weights = ((n * p) ** (-beta) / max_weight).astype(np.float32)
        return slots, weights

    def update_priorities(self, slots, td_errors):
        p = self.np.abs(td_errors).astype(self.np.float64) + PRIO_EPS
        self.max_priority = max(self.max_priority, float(p.max()))
        self._set(slots, p ** PRIO_ALPHA)


# ------------------------------------------------------------- simulator ---

class OfflineSimulator:
    """RecRLDRR.OfflineSimulator on the training split."""

    def __init__(self, np, U, E, rating_matrix, positives, unrated, pmf_predict, rng):
        self.np, self.U = np, U
        self.E_padded = np.vstack([E, np.zeros((1, E.shape[1]), E.dtype)])
        self.ratings = rating_matrix        # [users, items], 0 = unrated
        self.positives = positives
        self.unrated = unrated
        self.pmf_predict = pmf_predict
        self.rng = rng
        self.users = [u for u in range(len(positives)) if positives[u]]
        self.order, self.pos = [], 0

    def observation(self):
        x = self.np.empty((WINDOW + 1) * K, self.np.float32)
        x[:K] = self.U[self.user]
        x[K:] = self.E_padded[self.window].ravel()     # slot -1 -> the zero row
        return x

    def reset(self):
        if self.pos >= len(self.order):
            self.order = list(self.rng.permutation(self.users))
            self.pos = 0
        self.user = int(self.order[self.pos])
        self.pos += 1
        first = self.positives[self.user][:WINDOW]
        self.window = [-1] * (WINDOW - len(first)) + list(first)
        self.recommended = set()
        self.step_index = 0
        return self.observation()

    def is_candidate(self, item):
        return item not in self.recommended and item not in self.window

    def excluded(self):
        return list(self.recommended) + [i for i in self.window if i >= 0]

    def reward(self, item):
        r = self.ratings[self.user, item]
        if r == 0:
            if self.unrated is not None:
                return self.unrated
            r = min(max(self.pmf_predict(self.user, item), RATING_MIN), RATING_MAX)
        mid, half = (RATING_MIN + RATING_MAX) / 2, (RATING_MAX - RATING_MIN) / 2
        return (float(r) - mid) / half

    def recommend(self, item):
        r = self.reward(item)
        self.recommended.add(item)
        if r > 0:
            self.window = self.window[1:] + [item]
        self.step_index += 1
        return r, self.observation(), self.step_index >= T_LEN


# ----------------------------------------------------------------- main ---

def main():
    args = parse_args()
    set_thread_env("torch", args.threads)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    ftz = bool(torch.set_flush_denormal(True)) if not args.no_flush_denormal else False
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    log = (lambda s: print(s, file=sys.stderr, flush=True))

    n_users, n_items, train, test = load_split(np, args.data, args.test_fraction)
    tr_users, tr_items, tr_ratings, tr_ts = train
    log(f"training drr-ave (torch, {args.threads} thread(s)) on {args.data}: "
        f"{len(tr_users)} training interactions, {len(test[0])} held out")

    snap0, t0 = cpu_snapshot(), time.perf_counter()
    # ---- embeddings (timed apart) ----
    P, Q, mu = fit_als(np, n_users, n_items, tr_users, tr_items, tr_ratings,
                       args.embeddings == "implicit", rng)
    t1 = time.perf_counter()

    # ---- model, simulator, replay ----
    order = np.lexsort((np.arange(len(tr_users)), tr_ts, tr_users))
    bounds = np.searchsorted(tr_users[order], np.arange(n_users + 1))
    mid = (RATING_MIN + RATING_MAX) / 2
    positives = []
    for u in range(n_users):
        rows = order[bounds[u]:bounds[u + 1]]
        positives.append([int(i) for i in tr_items[rows][tr_ratings[rows] > mid]])
    rating_matrix = np.zeros((n_users, n_items), np.float32)
    rating_matrix[tr_users, tr_items] = tr_ratings
    unrated = None if args.unrated_reward == "pmf" else float(args.unrated_reward)
    if unrated is None and args.embeddings != "explicit":
        sys.exit("--unrated-reward pmf needs --embeddings explicit (implicit embeddings predict no ratings)")
    env = OfflineSimulator(np, P, Q, rating_matrix, positives, unrated,
                           lambda u, i: mu + float(P[u] @ Q[i]), rng)

    E = torch.from_numpy(Q)                                   # [items, k]
    action_scale = 1.0 / float(np.abs(Q).max())
    E_scaled = E * action_scale                               # projection candidates / stored actions
    S, X = 3 * K, (WINDOW + 1) * K

    def glorot(i, o):
        lim = (6.0 / (i + o)) ** 0.5
        return (torch.rand(i, o) * 2 - 1) * lim

    def mlp_params(sizes):
        ps = []
        for i, o in zip(sizes[:-1], sizes[1:]):
            ps += [glorot(i, o).requires_grad_(), torch.zeros(o).requires_grad_()]
        return ps

    def mlp(ps, x):                                           # ReLU hidden layers, linear last
        h = x
        for j in range(0, len(ps) - 2, 2):
            h = torch.relu(torch.addmm(ps[j + 1], h, ps[j]))
        return torch.addmm(ps[-1], h, ps[-2])

    actor = mlp_params([S, HIDDEN, HIDDEN, K])
    critic = mlp_params([S + K, HIDDEN, HIDDEN, 1])
    actor_t = [p.detach().clone() for p in actor]
    critic_t = [p.detach().clone() for p in critic]
    critic_frozen = [p.detach() for p in critic]              # shares storage; no weight gradients
    w_items = torch.ones(WINDOW, requires_grad=True)          # DRR-ave position weights

    def module(x):                                            # [B, 600] -> [B, 300]
        u = x[:, :K]
        v = torch.einsum("a,bak->bk", w_items / WINDOW, x[:, K:].reshape(-1, WINDOW, K))
        return torch.cat([u, u * v, v], 1)

    def make_opt(ps, lr):
        try:
            return torch.optim.Adam(ps, lr=lr, fused=True), "fused"
        except Exception:
            return torch.optim.Adam(ps, lr=lr, foreach=True), "foreach"
    opt_actor, adam_kind = make_opt(actor, ACTOR_LR)
    opt_critic, _ = make_opt(critic, CRITIC_LR)
    opt_module, _ = make_opt([w_items], STATE_LR)
    targets, onlines = actor_t + critic_t, [p.detach() for p in actor + critic]

    total_steps = max(1, args.episodes * T_LEN)
    replay = PrioritizedReplay(np, CAPACITY, X, K, total_steps)

    # Supervised next-item examples: (user, end of the window in the user's positives).
    # Per example: the user, the window (oldest first, -1 = empty) and the target.
    sup_users, sup_windows, sup_targets = [], [], []
    for u in range(n_users):
        p = positives[u]
        for end in range(len(p)):
            win = p[max(0, end - WINDOW):end]
            sup_users.append(u)
            sup_windows.append([-1] * (WINDOW - len(win)) + win)
            sup_targets.append(p[end])
    sup_users, sup_windows = np.array(sup_users), np.array(sup_windows)
    sup_targets = torch.from_numpy(np.array(sup_targets, np.int64))
    E_padded = env.E_padded

    def sample_supervised():
        e = rng.integers(0, len(sup_users), BATCH)
        x = np.concatenate([P[sup_users[e]], E_padded[sup_windows[e]].reshape(BATCH, WINDOW * K)], 1)
        return torch.from_numpy(x), sup_targets[torch.from_numpy(e)]

    stats = {"updates": 0, "supervised_steps": 0, "loss_sum": 0.0, "loss_n": 0}

    def learn():
        slots, weights = replay.sample(BATCH, rng)
        raw_s = torch.from_numpy(replay.states[slots])
        raw_s2 = torch.from_numpy(replay.next_states[slots])
        a = torch.from_numpy(replay.actions[slots])
        r = torch.from_numpy(replay.rewards[slots]).unsqueeze(1)
        d = torch.from_numpy(replay.discounts[slots]).unsqueeze(1)
        w = torch.from_numpy(weights).unsqueeze(1)
        s = module(raw_s)
        with torch.no_grad():
            s2 = module(raw_s2)
            a2 = torch.tanh(mlp(actor_t, s2))
            a2 = E_scaled[torch.argmax(a2 @ E_scaled.T, dim=1)]           # nearest item
            y = r + GAMMA * d * mlp(critic_t, torch.cat([s2, a2], 1))
        q = mlp(critic, torch.cat([s, a], 1))
        critic_loss = torch.mean(w * torch.square(q - y))
        opt_critic.zero_grad(set_to_none=True)
        w_items.grad = None
        critic_loss.backward()                                            # critic weights and module w
        opt_critic.step()
        td = (y - q).detach()
        s_leaf = s.detach().requires_grad_(True)
        mu_s = torch.tanh(mlp(actor, s_leaf))
        actor_loss = -torch.mean(mlp(critic_frozen, torch.cat([s_leaf, mu_s], 1)))
        opt_actor.zero_grad(set_to_none=True)
        actor_loss.backward()                                             # actor weights and dL/ds
        opt_actor.step()
        with torch.no_grad():
            torch._foreach_lerp_(targets, onlines, TAU)
        opt_module.step()
        replay.update_priorities(slots, td.numpy().ravel())
        stats["updates"] += 1
        stats["loss_sum"] += float(critic_loss.detach())
        stats["loss_n"] += 1
        if args.supervised_weight > 0:
            x_sup, tgt = sample_supervised()
            mu_sup = torch.tanh(mlp(actor, module(x_sup)))
            sup_loss = args.supervised_weight * torch.nn.functional.cross_entropy(mu_sup @ E.T, tgt)
            opt_actor.zero_grad(set_to_none=True)
            w_items.grad = None
            sup_loss.backward()
            opt_actor.step()
            opt_module.step()
            stats["supervised_steps"] += 1

    def epsilon(episode):
        t = min(1.0, episode / max(1, args.episodes // 2))
        return EPS_START + (EPS_END - EPS_START) * t

    curve = []
    reward_sum, in_point = 0.0, 0
    learn_from = max(args.warmup, BATCH)
    obs_row = torch.zeros(1, X)
    for episode in range(args.episodes):
        obs = env.reset()
        eps, total, done = epsilon(episode), 0.0, False
        while not done:
            with torch.no_grad():
                obs_row[0] = torch.from_numpy(obs)
                action = torch.tanh(mlp(actor, module(obs_row)))[0]
                action = torch.clamp(action + ACTION_NOISE * torch.randn(K), -1, 1)
                if rng.random() < eps:
                    item = int(rng.integers(n_items))
                    while not env.is_candidate(item):
                        item = int(rng.integers(n_items))
                else:
                    scores = E @ action
                    scores[env.excluded()] = -float("inf")
                    item = int(torch.argmax(scores))
            reward, next_obs, done = env.recommend(item)
            total += reward
            replay.add(obs, E_scaled[item].numpy(), reward, 1.0, next_obs)
            obs = next_obs
            if replay.count >= learn_from:
                learn()
        reward_sum += total
        in_point += 1
        if (episode + 1) % max(1, args.curve_every) == 0 or episode + 1 == args.episodes:
            point = {"episode": episode + 1, "mean_episode_reward": reward_sum / in_point,
                     "mean_critic_loss": stats["loss_sum"] / stats["loss_n"] if stats["loss_n"] else 0.0,
                     "epsilon": eps, "seconds": time.perf_counter() - t1}
            curve.append(point)
            log(f"episode {point['episode']}/{args.episodes}: reward {point['mean_episode_reward']:.3f}, "
                f"critic loss {point['mean_critic_loss']:.4f}, epsilon {eps:.2f}")
            reward_sum, in_point, stats["loss_sum"], stats["loss_n"] = 0.0, 0, 0.0, 0
    t2 = time.perf_counter()
    snap1 = cpu_snapshot()

    result = {
        "contender": "torch", "threads": args.threads, "episodes": args.episodes,
        "updates": stats["updates"], "supervised_steps": stats["supervised_steps"],
        "embedding_seconds": t1 - t0, "loop_seconds": t2 - t1, "train_seconds": t2 - t0,
        "episodes_per_second": args.episodes / (t2 - t1) if t2 > t1 else None,
        "other_processes_cores": foreign_cores(snap0, snap1, t2 - t0),
        "curve": curve,
        "info": {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
                 "num_threads": torch.get_num_threads(), "adam": adam_kind, "flush_denormal": ftz,
                 "embeddings": args.embeddings, "supervised_weight": args.supervised_weight,
                 "warmup": args.warmup},
    }
    if args.evaluate:
        result["ndcg@10"] = evaluate(np, torch, n_items, positives, train, test, actor, mlp, module, P, Q)
    log(f"trained in {t2 - t0:.1f} s (embeddings {t1 - t0:.1f} s, loop {t2 - t1:.1f} s, "
        f"{result['episodes_per_second']:.2f} episodes/s; {stats['updates']} updates)"
        + (f"; NDCG@10 {result['ndcg@10']:.4f}" if args.evaluate else ""))
    if args.json:
        print(json.dumps(result))


def evaluate(np, torch, n_items, positives, train, test, actor, mlp, module, P, Q):
    """NDCG@10, full protocol as RecRL's Evaluator (relevance: rating >= 4)."""
    tr_users, tr_items = train[0], train[1]
    te_users, te_items, te_ratings = test
    seen = np.zeros((len(positives), n_items), bool)
    seen[tr_users, tr_items] = True
    E = torch.from_numpy(Q)
    total, n = 0.0, 0
    with torch.no_grad():
        for u in np.unique(te_users):
            rel = set(int(i) for i in te_items[(te_users == u) & (te_ratings >= 4)])
            if not rel:
                continue
            x = torch.zeros(1, (WINDOW + 1) * K)
            x[0, :K] = torch.from_numpy(P[u])
            win = positives[u][-WINDOW:]
            for j, item in enumerate(win):
                slot = WINDOW - len(win) + j
                x[0, K * (slot + 1):K * (slot + 2)] = E[item]
            scores = E @ torch.tanh(mlp(actor, module(x)))[0]
            scores[torch.from_numpy(seen[u])] = -float("inf")
            top = torch.topk(scores, 10).indices.tolist()
            dcg = sum(1 / np.log2(p + 2) for p, i in enumerate(top) if i in rel)
            ideal = sum(1 / np.log2(p + 2) for p in range(min(10, len(rel))))
            total += dcg / ideal
            n += 1
    return total / max(1, n)


if __name__ == "__main__":
    main()
