#!/usr/bin/env python3
"""PyTorch peer of `recrl-bench layers`: forward + backward (parameter and input
gradients) of Conv2d, ConvTranspose2d and GRU at DeepPage's default shapes
(DeepPageConfiguration(): a 2 x 2 page, k = 32, history 5, 3 recent pages, state 32,
filters 16, deconvolution 16, batch 32), float32, CPU, with the layers' activations:

  conv2d            page CNN: batch 96 (32 users x 3 pages), 2x2x33 -> 1x1x16, kernel 2x2, ReLU
  conv2d-action     critic action CNN: batch 32, 2x2x32 -> 1x1x16, kernel 2x2, ReLU
  conv-transpose2d  actor deconvolution: batch 32, 1x1x16 -> 2x2x32, kernel 2x2, tanh
  gru               history GRU: batch 32, 5 steps, input 32, hidden 32 (nn.GRU, batch_first)
  gru-pages         page GRU: batch 32, 3 steps, input 16, hidden 32

PyTorch runs its native layouts (NCHW, oneDNN where it chooses); RecRL runs NHWC. Each call:
zero the parameter gradients (set_to_none), forward, (output * R).sum().backward() with the
input requiring a gradient, so both do the same work. Threads: torch.set_num_threads(N),
OMP/MKL/OpenBLAS = N and, below the core count, the process pinned to N cores, as peers.py.

Timing as peers.py: a warm-up of at least 0.3 s and 3 calls estimates the rate; then --runs
timed runs of seconds/runs worth of calls; calls_per_second is the median.
other_processes_cores: cores other processes kept busy meanwhile (/proc/stat).

    Benchmarks/peers/.venv/bin/python Benchmarks/peers/layers_torch.py --threads 1 [--json]
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

# name: (shape as `recrl-bench layers` prints it, FLOPs of forward + backward (GEMMs only), builder)
LAYERS = {
    "conv2d": ("page CNN: batch 96, 2x2x33 -> 1x1x16, kernel 2x2, stride 1, padding 0, relu",
               3 * 2 * 96 * 1 * 2 * 2 * 33 * 16, ("conv", 96, 33, 16)),
    "conv2d-action": ("critic action CNN: batch 32, 2x2x32 -> 1x1x16, kernel 2x2, stride 1, padding 0, relu",
                      3 * 2 * 32 * 1 * 2 * 2 * 32 * 16, ("conv", 32, 32, 16)),
    "conv-transpose2d": ("actor deconvolution: batch 32, 1x1x16 -> 2x2x32, kernel 2x2, stride 1, padding 0, tanh",
                         3 * 2 * 32 * 1 * 16 * 2 * 2 * 32, ("deconv", 32, 16, 32)),
    "gru": ("history GRU: batch 32, 5 steps, input 32, hidden 32", 3 * 2 * 32 * 5 * (32 + 32) * 3 * 32,
            ("gru", 32, 5, 32, 32)),
    "gru-pages": ("page GRU: batch 32, 3 steps, input 16, hidden 32", 3 * 2 * 32 * 3 * (16 + 32) * 3 * 32,
                  ("gru", 32, 3, 16, 32)),
}
SHAPES = {name: v[0] for name, v in LAYERS.items()}
FLOPS = {name: v[1] for name, v in LAYERS.items()}


def build(name, torch):
    torch.manual_seed(1)
    kind, *dims = LAYERS[name][2]
    if kind == "conv":
        b, cin, cout = dims
        layer = torch.nn.Conv2d(cin, cout, 2)
        x = torch.rand(b, cin, 2, 2) * 2 - 1
        run = lambda: torch.relu(layer(x))
    elif kind == "deconv":
        b, cin, cout = dims
        layer = torch.nn.ConvTranspose2d(cin, cout, 2)
        x = torch.rand(b, cin, 1, 1) * 2 - 1
        run = lambda: torch.tanh(layer(x))
    else:
        b, steps, n_in, hidden = dims
        layer = torch.nn.GRU(n_in, hidden, batch_first=True)
        x = torch.rand(b, steps, n_in) * 2 - 1
        run = lambda: layer(x)[0]
    x.requires_grad_(True)
    with torch.no_grad():
        r = torch.rand_like(run()) * 2 - 1

    def step():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        (run() * r).sum().backward()
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", default=",".join(LAYERS))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    set_thread_env("torch", a.threads)
    import torch
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    results = []
    for name in a.layers.split(","):
        if name not in LAYERS:
            sys.exit(f"unknown layer {name!r}; expected one of {', '.join(LAYERS)}")
        step = build(name, torch)
        calls, t0 = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - t0 < 0.3:
            step()
            calls += 1
        per_run = max(1, int(calls / (time.perf_counter() - t0) * a.seconds / a.runs))
        rates = []
        before, tb = cpu_snapshot(), time.perf_counter()
        for _ in range(a.runs):
            s = time.perf_counter()
            for _ in range(per_run):
                step()
            rates.append(per_run / (time.perf_counter() - s))
        others = foreign_cores(before, cpu_snapshot(), time.perf_counter() - tb)
        median = statistics.median(rates)
        results.append({"layer": name, "shape": SHAPES[name], "calls_per_second": round(median, 1),
                        "ms_per_call": round(1000 / median, 4), "gflops": round(median * FLOPS[name] / 1e9, 2),
                        "runs": [round(x, 1) for x in rates],
                        "other_processes_cores": None if others is None else round(others, 2)})
    out = {"framework": "torch", "version": torch.__version__, "threads": a.threads, "results": results}
    if a.json:
        print(json.dumps(out))
    else:
        print(f"torch {torch.__version__}, {a.threads} threads; forward + backward (parameter and input gradients) per call")
        for r in results:
            print(f"{r['layer']:<18} {r['calls_per_second']:9.1f} calls/s {r['ms_per_call']:8.3f} ms {r['gflops']:7.1f} GFLOP/s"
                  f"  others busy {r['other_processes_cores']}  ({r['shape']})")


if __name__ == "__main__":
    main()
