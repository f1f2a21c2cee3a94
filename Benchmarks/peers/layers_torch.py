#!/usr/bin/env python3
"""PyTorch peer of `recrl-bench layers`: forward + backward (parameter and input
gradients) of Conv2d, ConvTranspose2d and GRU at the same DeepPage shapes, float32, CPU.

  conv2d            batch 64, 32x3x5 -> 32x3x5, kernel 3x3, stride 1, padding 1
  conv-transpose2d  batch 64, 32x2x3 -> 32x3x5, kernel 3x3, stride 2, padding 1
  gru               batch 64, 10 steps, input 32, hidden 64 (nn.GRU, batch_first)

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

SHAPES = {
    "conv2d": "batch 64, 3x5x32 -> 3x5x32, kernel 3x3, stride 1, padding 1",
    "conv-transpose2d": "batch 64, 2x3x32 -> 3x5x32, kernel 3x3, stride 2, padding 1",
    "gru": "batch 64, 10 steps, input 32, hidden 64",
}
FLOPS = {
    "conv2d": 3 * 2 * 64 * 15 * (9 * 32) * 32,
    "conv-transpose2d": 3 * 2 * 64 * 6 * 32 * (9 * 32),
    "gru": 3 * 2 * 64 * 10 * (32 + 64) * 3 * 64,
}


def build(name, torch):
    torch.manual_seed(1)
    if name == "conv2d":
        layer = torch.nn.Conv2d(32, 32, 3, stride=1, padding=1)
        x = torch.rand(64, 32, 3, 5) * 2 - 1
        run = lambda: layer(x)
    elif name == "conv-transpose2d":
        layer = torch.nn.ConvTranspose2d(32, 32, 3, stride=2, padding=1)
        x = torch.rand(64, 32, 2, 3) * 2 - 1
        run = lambda: layer(x)
    else:
        layer = torch.nn.GRU(32, 64, batch_first=True)
        x = torch.rand(64, 10, 32) * 2 - 1
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
    p.add_argument("--layers", default="conv2d,conv-transpose2d,gru")
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
