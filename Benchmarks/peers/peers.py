#!/usr/bin/env python3
"""Python peers of RecRL's training benchmark: one DDPG actor-critic update
exactly as /work/shared/WORKLOAD.md defines it, in

  numpy   float32, explicit backprop (flat parameter buffers, in-place ops)
  tf      TensorFlow, the whole update in one tf.function (graph mode)
  tf-xla  the same tf.function with jit_compile=True (XLA)
  jax     jax.jit of the whole update (targets, both grads, Adam, soft update),
          state buffers donated
  torch   PyTorch eager on CPU, autograd + torch.optim.Adam, no input grads

Usage:
  python peers.py --framework numpy|tf|tf-xla|jax|torch --config paper|medium|large
                  [--threads 2] [--runs 5] [--seconds 2] [--init FILE] [--json]
  python peers.py --framework F --init FILE --losses 10   # agreement mode:
      prints {"critic_loss": [...], "actor_loss": [...]} like reference.py

Each framework should run in its own process: thread settings are applied
through the environment before the framework is imported.

Timing: one update + sync (compile / first call), then a warm-up of
max(1 s, 3 updates), synchronised after each update, that also estimates the
rate. Each timed run then executes n = max(1, round(seconds * rate)) updates
back to back and synchronises once at the end; its figure is n / elapsed.
updates_per_second is the median of the runs. other_processes_cores: the average
number of cores other processes used during the timed runs (/proc/stat), to
spot a measurement disturbed by a busy machine; updates_per_cpu_second: updates
per second of this process's CPU time (all threads) in the timed runs. gflops = effective GFLOP/s =
GFLOP/update (WORKLOAD.md: 4 F(A) + 6 F(C)) x updates_per_second.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FRAMEWORKS = ("numpy", "tf", "tf-xla", "jax", "torch")


def set_thread_env(framework, n):
    """Must run before numpy / the framework is imported."""
    ncpu = os.cpu_count() or n
    if n < ncpu:
        # A hard cap every runtime honours (XLA, Eigen and OpenMP size their
        # pools from the schedulable CPUs).
        os.sched_setaffinity(0, list(sorted(os.sched_getaffinity(0)))[:n])
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(n)
    if framework in ("tf", "tf-xla"):
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(n)
        os.environ["TF_NUM_INTEROP_THREADS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if framework in ("tf-xla", "jax"):
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_multi_thread_eigen" not in flags:
            flags += f" --xla_cpu_multi_thread_eigen={'true' if n > 1 else 'false'}"
        if "intra_op_parallelism_threads" not in flags:
            flags += f" intra_op_parallelism_threads={n}"
        os.environ["XLA_FLAGS"] = flags.strip()
    if framework == "jax":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")


def cpu_snapshot():
    """(system busy jiffies, this process's jiffies) from /proc, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = sum(v) - v[3] - (v[4] if len(v) > 4 else 0)   # minus idle, iowait
        with open("/proc/self/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        own = int(st[11]) + int(st[12])                      # utime + stime, all threads
        return busy, own
    except Exception:
        return None


def foreign_cores(a, b, seconds):
    """Average number of cores other processes kept busy between two snapshots."""
    if not a or not b or seconds <= 0:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    return max(0.0, ((b[0] - a[0]) - (b[1] - a[1])) / hz / seconds)


# ---------------------------------------------------------------- numpy ---

def build_numpy(t, threads):
    import numpy as np
    from common import (ACTOR_LR, ACTOR_NAMES, BETA1, BETA2, CRITIC_LR, CRITIC_NAMES,
                        EPS, GAMMA, TAU, infer_dims)

    k, S, H, B = infer_dims(t)
    f32 = np.float32
    names = ACTOR_NAMES + CRITIC_NAMES
    sizes = [t[n].size for n in names]
    na = sum(sizes[:6])
    total = sum(sizes)

    # One flat buffer per role, with per-tensor views into it: Adam and the
    # soft update are then a handful of vector ops instead of 4 x 12.
    P = np.empty(total, f32)      # online actor | critic
    T = np.empty(total, f32)      # targets
    G = np.zeros(total, f32)      # gradients
    M = np.zeros(total, f32)
    V = np.zeros(total, f32)
    TMP = np.empty(total, f32)

    def views(buf):
        out, o = [], 0
        for n, sz in zip(names, sizes):
            out.append(buf[o:o + sz].reshape(t[n].shape))
            o += sz
        return out[:6], out[6:]

    pa, pc = views(P)
    ta, tc = views(T)
    ga, gc = views(G)
    for dst, n in zip(pa + pc, names):
        dst[...] = t[n]
    T[...] = P

    s = np.ascontiguousarray(t["batch.state"], f32)
    r = np.ascontiguousarray(t["batch.reward"], f32)
    d = np.ascontiguousarray(t["batch.done"], f32)
    s2 = np.ascontiguousarray(t["batch.next_state"], f32)
    x = np.concatenate([s, t["batch.action"]], 1).astype(f32)   # [s, a], constant
    x2 = np.concatenate([s2, np.zeros((B, k), f32)], 1)          # [s', a'], a' written in place
    xa = np.concatenate([s, np.zeros((B, k), f32)], 1)           # [s, mu(s)]
    notdone_g = (GAMMA * (1.0 - d)).astype(f32)

    # activations
    h0 = np.empty((B, H), f32); h1 = np.empty((B, H), f32); mu = np.empty((B, k), f32)
    z0 = np.empty((B, H), f32); z1 = np.empty((B, H), f32); q = np.empty((B, 1), f32)
    d0 = np.empty((B, H), f32); d1 = np.empty((B, H), f32); dk = np.empty((B, k), f32)
    dq = np.empty((B, 1), f32)
    relu = lambda a: np.maximum(a, 0, out=a)

    def dense(xin, W, b, out):
        np.matmul(xin, W, out=out)
        out += b
        return out

    def actor_fwd(p, sin, mu_out):
        relu(dense(sin, p[0], p[1], h0))
        relu(dense(h0, p[2], p[3], h1))
        np.tanh(dense(h1, p[4], p[5], mu_out), out=mu_out)

    def critic_fwd(p, xin):
        relu(dense(xin, p[0], p[1], z0))
        relu(dense(z0, p[2], p[3], z1))
        return dense(z1, p[4], p[5], q)

    def critic_hidden_back(p):
        # dq -> d1 (at z1) -> d0 (at z0), masks of ReLU
        np.matmul(dq, p[4].T, out=d1)
        np.multiply(d1, z1 > 0, out=d1)
        np.matmul(d1, p[2].T, out=d0)
        np.multiply(d0, z0 > 0, out=d0)

    sl_a, sl_c = slice(0, na), slice(na, total)
    state = {"tc": 0, "ta": 0}

    def adam(sl, lr, tstep):
        g, m, v, p, tmp = G[sl], M[sl], V[sl], P[sl], TMP[sl]
        bc1 = 1.0 - BETA1 ** tstep
        bc2 = 1.0 - BETA2 ** tstep
        m *= BETA1
        np.multiply(g, 1.0 - BETA1, out=tmp); m += tmp
        v *= BETA2
        np.multiply(g, g, out=tmp); tmp *= (1.0 - BETA2); v += tmp
        # p -= lr * (m / bc1) / (sqrt(v / bc2) + eps)
        np.multiply(v, 1.0 / bc2, out=tmp); np.sqrt(tmp, out=tmp); tmp += EPS
        np.divide(m, tmp, out=tmp); tmp *= (lr / bc1)
        p -= tmp

    def step():
        # 1. target: y = r + gamma (1 - done) Q'(s', mu'(s'))
        actor_fwd(ta, s2, x2[:, S:])
        y = critic_fwd(tc, x2) * notdone_g
        y += r
        # 2. critic: loss mean((Q(s,a) - y)^2)
        critic_fwd(pc, x)
        np.subtract(q, y, out=dq)
        closs = float(np.vdot(dq, dq)) / B
        np.multiply(dq, 2.0 / B, out=dq)
        np.matmul(z1.T, dq, out=gc[4]); np.sum(dq, 0, out=gc[5])
        critic_hidden_back(pc)
        np.matmul(z0.T, d1, out=gc[2]); np.sum(d1, 0, out=gc[3])
        np.matmul(x.T, d0, out=gc[0]); np.sum(d0, 0, out=gc[1])
        state["tc"] += 1
        adam(sl_c, CRITIC_LR, state["tc"])
        # 3. actor: loss -mean(Q(s, mu(s))) through the updated critic
        actor_fwd(pa, s, xa[:, S:])
        critic_fwd(pc, xa)
        aloss = -float(q.sum()) / B
        dq.fill(-1.0 / B)
        critic_hidden_back(pc)
        np.matmul(d0, pc[0][S:].T, out=dk)          # dLoss/d(action)
        m = xa[:, S:]
        np.multiply(m, m, out=mu); np.subtract(1.0, mu, out=mu); np.multiply(dk, mu, out=dk)   # tanh'
        np.matmul(h1.T, dk, out=ga[4]); np.sum(dk, 0, out=ga[5])
        np.matmul(dk, pa[4].T, out=d1); np.multiply(d1, h1 > 0, out=d1)
        np.matmul(h0.T, d1, out=ga[2]); np.sum(d1, 0, out=ga[3])
        np.matmul(d1, pa[2].T, out=d0); np.multiply(d0, h0 > 0, out=d0)
        np.matmul(s.T, d0, out=ga[0]); np.sum(d0, 0, out=ga[1])
        state["ta"] += 1
        adam(sl_a, ACTOR_LR, state["ta"])
        # 4. soft update, both nets: T = tau P + (1 - tau) T
        np.multiply(T, 1.0 - TAU, out=T)
        np.multiply(P, TAU, out=TMP); np.add(T, TMP, out=T)
        return closs, aloss

    def info():
        tiny = np.finfo(np.float32).tiny
        sub = lambda a: int(np.count_nonzero((a != 0) & (np.abs(a) < tiny)))
        out = {"denormal_handling": "none (numpy cannot flush; IEEE subnormals kept)",
               "subnormals_in_state": {"params": sub(P), "targets": sub(T), "adam_m": sub(M), "adam_v": sub(V)}}
        try:
            from threadpoolctl import threadpool_info
            out["blas"] = [{k_: i.get(k_) for k_ in ("internal_api", "version", "architecture",
                                                       "num_threads", "threading_layer")}
                           for i in threadpool_info()]
        except Exception as e:  # pragma: no cover
            out["blas"] = f"threadpoolctl unavailable: {e}"
        out["numpy"] = np.__version__
        return out

    return step, (lambda h: h), info


# ------------------------------------------------------------ tensorflow ---

def build_tf(t, threads, xla):
    import numpy as np
    import tensorflow as tf
    from common import (ACTOR_LR, ACTOR_NAMES, BETA1, BETA2, CRITIC_LR, CRITIC_NAMES,
                        EPS, GAMMA, TAU)

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    var = lambda a, n: tf.Variable(np.asarray(a, np.float32), name=n.replace(".", "_"))
    actor = [var(t[n], n) for n in ACTOR_NAMES]
    critic = [var(t[n], n) for n in CRITIC_NAMES]
    actor_t = [var(t[n], "t_" + n) for n in ACTOR_NAMES]
    critic_t = [var(t[n], "t_" + n) for n in CRITIC_NAMES]
    zeros = lambda ps: [tf.Variable(tf.zeros_like(p)) for p in ps]
    ma, va, mc, vc = zeros(actor), zeros(actor), zeros(critic), zeros(critic)
    step_a = tf.Variable(0.0, dtype=tf.float32)
    step_c = tf.Variable(0.0, dtype=tf.float32)
    batch = [tf.constant(np.asarray(t[n], np.float32)) for n in
             ("batch.state", "batch.action", "batch.reward", "batch.next_state", "batch.done")]

    def mlp(ps, xin):
        h = tf.nn.relu(tf.matmul(xin, ps[0]) + ps[1])
        h = tf.nn.relu(tf.matmul(h, ps[2]) + ps[3])
        return tf.matmul(h, ps[4]) + ps[5]

    def adam(ps, gs, ms, vs, tvar, lr):
        tvar.assign_add(1.0)
        tt = tvar.read_value()
        bc1 = 1.0 - tf.pow(BETA1, tt)
        bc2 = 1.0 - tf.pow(BETA2, tt)
        for p, g, m, v in zip(ps, gs, ms, vs):
            m.assign(BETA1 * m + (1.0 - BETA1) * g)
            v.assign(BETA2 * v + (1.0 - BETA2) * tf.square(g))
            p.assign_sub(lr * (m / bc1) / (tf.sqrt(v / bc2) + EPS))

    @tf.function(jit_compile=xla)
    def step(s, a, r, s2, d):
        a2 = tf.tanh(mlp(actor_t, s2))
        q2 = mlp(critic_t, tf.concat([s2, a2], 1))
        y = r + GAMMA * (1.0 - d) * q2
        x = tf.concat([s, a], 1)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(critic)
            closs = tf.reduce_mean(tf.square(mlp(critic, x) - y))
        adam(critic, tape.gradient(closs, critic), mc, vc, step_c, CRITIC_LR)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(actor)
            mu = tf.tanh(mlp(actor, s))
            aloss = -tf.reduce_mean(mlp(critic, tf.concat([s, mu], 1)))
        adam(actor, tape.gradient(aloss, actor), ma, va, step_a, ACTOR_LR)
        for tv, p in zip(actor_t + critic_t, actor + critic):
            tv.assign((1.0 - TAU) * tv + TAU * p)
        return closs, aloss

    def sync(h):
        return float(h[0].numpy()), float(h[1].numpy())

    def info():
        return {"tensorflow": tf.__version__, "jit_compile": xla,
                "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
                "denormal_handling": "flushed (XLA CPU sets FTZ/DAZ)" if xla else
                "flushed (TF executor threads run with FTZ/DAZ)"}

    return (lambda: step(*batch)), sync, info


# ------------------------------------------------------------------- jax ---

def build_jax(t, threads):
    import numpy as np
    import jax
    import jax.numpy as jnp
    from common import (ACTOR_LR, ACTOR_NAMES, BETA1, BETA2, CRITIC_LR, CRITIC_NAMES,
                        EPS, GAMMA, TAU)

    arr = lambda n: jnp.asarray(np.asarray(t[n], np.float32))
    actor = [arr(n) for n in ACTOR_NAMES]
    critic = [arr(n) for n in CRITIC_NAMES]
    z = lambda ps: [jnp.zeros_like(p) for p in ps]
    state = {
        "actor": actor, "critic": critic,
        "actor_t": [jnp.array(p) for p in actor], "critic_t": [jnp.array(p) for p in critic],
        "ma": z(actor), "va": z(actor), "mc": z(critic), "vc": z(critic),
        "ta": jnp.zeros((), jnp.float32), "tc": jnp.zeros((), jnp.float32),
    }
    batch = tuple(arr(n) for n in ("batch.state", "batch.action", "batch.reward",
                                   "batch.next_state", "batch.done"))

    def mlp(ps, xin):
        h = jax.nn.relu(xin @ ps[0] + ps[1])
        h = jax.nn.relu(h @ ps[2] + ps[3])
        return h @ ps[4] + ps[5]

    def adam(ps, gs, ms, vs, tt, lr):
        tt = tt + 1.0
        bc1 = 1.0 - BETA1 ** tt
        bc2 = 1.0 - BETA2 ** tt
        ms = [BETA1 * m + (1.0 - BETA1) * g for m, g in zip(ms, gs)]
        vs = [BETA2 * v + (1.0 - BETA2) * g * g for v, g in zip(vs, gs)]
        ps = [p - lr * (m / bc1) / (jnp.sqrt(v / bc2) + EPS) for p, m, v in zip(ps, ms, vs)]
        return ps, ms, vs, tt

    def step(st, batch):
        s, a, r, s2, d = batch
        a2 = jnp.tanh(mlp(st["actor_t"], s2))
        y = r + GAMMA * (1.0 - d) * mlp(st["critic_t"], jnp.concatenate([s2, a2], 1))
        x = jnp.concatenate([s, a], 1)
        closs, gc = jax.value_and_grad(lambda C: jnp.mean(jnp.square(mlp(C, x) - y)))(st["critic"])
        critic, mc, vc, tc = adam(st["critic"], gc, st["mc"], st["vc"], st["tc"], CRITIC_LR)

        def actor_loss(A):
            mu = jnp.tanh(mlp(A, s))
            return -jnp.mean(mlp(critic, jnp.concatenate([s, mu], 1)))  # critic closed over: no weight grads
        aloss, ga = jax.value_and_grad(actor_loss)(st["actor"])
        actor, ma, va, ta = adam(st["actor"], ga, st["ma"], st["va"], st["ta"], ACTOR_LR)
        soft = lambda tp, p: [(1.0 - TAU) * u + TAU * w for u, w in zip(tp, p)]
        new = {"actor": actor, "critic": critic,
               "actor_t": soft(st["actor_t"], actor), "critic_t": soft(st["critic_t"], critic),
               "ma": ma, "va": va, "mc": mc, "vc": vc, "ta": ta, "tc": tc}
        return new, (closs, aloss)

    jstep = jax.jit(step, donate_argnums=(0,))
    box = {"st": state}

    def run():
        box["st"], losses = jstep(box["st"], batch)
        return losses

    def sync(h):
        jax.block_until_ready(h)
        return float(h[0]), float(h[1])

    def info():
        import jaxlib
        return {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "devices": [str(x) for x in jax.devices()],
                "xla_flags": os.environ.get("XLA_FLAGS", ""), "donated": True,
                "denormal_handling": "flushed (XLA CPU sets FTZ/DAZ)"}

    return run, sync, info


# ----------------------------------------------------------------- torch ---

def build_torch(t, threads, flush_denormal):
    import numpy as np
    import torch
    from common import (ACTOR_LR, ACTOR_NAMES, BETA1, BETA2, CRITIC_LR, CRITIC_NAMES,
                        EPS, GAMMA, TAU)

    torch.set_num_threads(threads)
    ftz = bool(torch.set_flush_denormal(True)) if flush_denormal else False
    ten = lambda n: torch.from_numpy(np.array(t[n], np.float32, copy=True))
    actor = [ten(n).requires_grad_() for n in ACTOR_NAMES]
    critic = [ten(n).requires_grad_() for n in CRITIC_NAMES]
    actor_t = [ten(n) for n in ACTOR_NAMES]
    critic_t = [ten(n) for n in CRITIC_NAMES]
    critic_frozen = [p.detach() for p in critic]   # shares storage, sees Adam's in-place updates
    s, a, r, s2, d = (ten(n) for n in ("batch.state", "batch.action", "batch.reward",
                                       "batch.next_state", "batch.done"))  # requires_grad False
    x = torch.cat([s, a], 1)
    notdone_g = GAMMA * (1.0 - d)

    def make_opt(ps, lr):
        kw = dict(lr=lr, betas=(BETA1, BETA2), eps=EPS)
        try:
            return torch.optim.Adam(ps, fused=True, **kw), "fused"
        except Exception:
            return torch.optim.Adam(ps, foreach=True, **kw), "foreach"
    opt_c, kind = make_opt(critic, CRITIC_LR)
    opt_a, _ = make_opt(actor, ACTOR_LR)

    def mlp(ps, xin):
        h = torch.relu(torch.addmm(ps[1], xin, ps[0]))
        h = torch.relu(torch.addmm(ps[3], h, ps[2]))
        return torch.addmm(ps[5], h, ps[4])

    targets, onlines = actor_t + critic_t, actor + critic

    def step():
        with torch.no_grad():
            a2 = torch.tanh(mlp(actor_t, s2))
            y = torch.addcmul(r, notdone_g, mlp(critic_t, torch.cat([s2, a2], 1)))
        closs = torch.mean(torch.square(mlp(critic, x) - y))
        opt_c.zero_grad(set_to_none=True)
        closs.backward()
        opt_c.step()
        mu = torch.tanh(mlp(actor, s))
        aloss = -torch.mean(mlp(critic_frozen, torch.cat([s, mu], 1)))
        opt_a.zero_grad(set_to_none=True)
        aloss.backward()
        opt_a.step()
        with torch.no_grad():
            torch._foreach_mul_(targets, 1.0 - TAU)
            torch._foreach_add_(targets, [p.detach() for p in onlines], alpha=TAU)
        return closs, aloss

    def sync(h):
        return float(h[0].item()), float(h[1].item())

    def info():
        return {"torch": torch.__version__, "num_threads": torch.get_num_threads(),
                "adam": kind, "flush_denormal": ftz,
                "denormal_handling": "flushed (torch.set_flush_denormal(True))" if ftz else "none",
                "mkldnn": torch.backends.mkldnn.is_available()}

    return step, sync, info


# ------------------------------------------------------------------ main ---

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framework", required=True, choices=FRAMEWORKS)
    ap.add_argument("--config", default="paper", choices=["tiny", "paper", "medium", "large"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds (after the first update)")
    ap.add_argument("--init", help="safetensors file with the initial weights and batch")
    ap.add_argument("--seed", type=int, default=0, help="numpy seed of the generated init (no --init)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument("--losses", type=int, metavar="U",
                    help="agreement mode: run U updates, print the losses as JSON")
    ap.add_argument("--no-flush-denormal", action="store_true",
                    help="torch: keep IEEE subnormals (default flushes, like XLA and TF)")
    a = ap.parse_args()

    set_thread_env(a.framework, a.threads)
    from common import config_of_dims, infer_dims, load_init, step_flops  # imports numpy
    t = load_init(a.init, a.config, a.seed)
    dims = infer_dims(t)
    config = config_of_dims(dims) if a.init else a.config

    if a.framework == "numpy":
        step, sync, info = build_numpy(t, a.threads)
    elif a.framework in ("tf", "tf-xla"):
        step, sync, info = build_tf(t, a.threads, a.framework == "tf-xla")
    elif a.framework == "jax":
        step, sync, info = build_jax(t, a.threads)
    else:
        step, sync, info = build_torch(t, a.threads, not a.no_flush_denormal)

    if a.losses:
        cl, al = [], []
        for _ in range(a.losses):
            c, l = sync(step())
            cl.append(c)
            al.append(l)
        print(json.dumps({"framework": a.framework, "critic_loss": cl, "actor_loss": al}))
        return

    gflop = step_flops(*dims) / 1e9
    t0 = time.perf_counter()
    sync(step())                                   # compile / first call
    first = time.perf_counter() - t0
    n, t0 = 0, time.perf_counter()
    while True:
        sync(step())
        n += 1
        el = time.perf_counter() - t0
        if n >= 3 and el >= a.warmup:
            break
    rate = n / el
    per_run = max(1, round(a.seconds * rate))
    runs = []
    snap0, tr0 = cpu_snapshot(), time.perf_counter()
    for _ in range(a.runs):
        t0 = time.perf_counter()
        h = None
        for _ in range(per_run):
            h = step()
        last = sync(h)
        runs.append(per_run / (time.perf_counter() - t0))
    snap1 = cpu_snapshot()
    foreign = foreign_cores(snap0, snap1, time.perf_counter() - tr0)
    own_cpu = (snap1[1] - snap0[1]) / os.sysconf("SC_CLK_TCK") if snap0 and snap1 else None
    ups = statistics.median(runs)
    res = {"framework": a.framework, "config": config, "updates_per_second": ups, "runs": runs,
           "threads": a.threads, "gflops": gflop * ups, "gflop_per_update": gflop,
           "updates_per_run": per_run, "first_update_seconds": first,
           "other_processes_cores": foreign,
           "updates_per_cpu_second": (a.runs * per_run / own_cpu) if own_cpu else None,
           "dims": dict(zip("kSHB", dims)), "last_losses": list(last),
           "python": platform.python_version(), "info": info()}
    if a.json:
        print(json.dumps(res))
    else:
        k, S, H, B = dims
        print(f"{a.framework} {config} (k={k} S={S} H={H} B={B}), {a.threads} threads: "
              f"{ups:.2f} updates/s (median of {a.runs} runs of {per_run} updates; "
              f"runs {', '.join(f'{x:.2f}' for x in runs)})")
        print(f"  {gflop:.4f} GFLOP/update -> {gflop * ups:.1f} effective GFLOP/s; "
              f"first update {first:.2f} s; other processes kept "
              f"{foreign if foreign is not None else float('nan'):.2f} cores busy meanwhile")
        print(f"  info: {json.dumps(info())}")


if __name__ == "__main__":
    main()
