#!/usr/bin/env python3
"""Numerical agreement of every peer with reference.py (numpy float64).

  .venv/bin/python verify.py [--configs tiny paper] [--updates 10] [--frameworks numpy tf tf-xla jax torch]
                             [--init FILE]   # e.g. a file from RecRL's exporter instead of make_init.py

For each init file: reference.py's losses, then each peer's `--losses U`;
passes when every loss satisfies |peer - ref| <= atol + rtol * |ref|
(float32 vs float64: atol 1e-5, rtol 1e-4). Prints the max deviations.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(args):
    out = subprocess.run([sys.executable] + args, cwd=HERE, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="+", default=["tiny", "paper"])
    ap.add_argument("--init", help="use this init file instead of make_init.py's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--updates", type=int, default=10)
    ap.add_argument("--frameworks", nargs="+", default=["numpy", "tf", "tf-xla", "jax", "torch"])
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="recrl-peers-")
    inits = []
    if a.init:
        inits.append(("file", a.init))
    else:
        for c in a.configs:
            f = os.path.join(tmp, f"{c}.safetensors")
            subprocess.run([sys.executable, "make_init.py", "--config", c, "--seed", str(a.seed), "--out", f],
                           cwd=HERE, check=True, capture_output=True)
            inits.append((c, f))
    passed = failed = 0
    for name, f in inits:
        ref = run(["reference.py", "--init", f, "--updates", str(a.updates)])
        print(f"[{name}] reference critic_loss[0]={ref['critic_loss'][0]:.8g} [-1]={ref['critic_loss'][-1]:.8g}  "
              f"actor_loss[0]={ref['actor_loss'][0]:.8g} [-1]={ref['actor_loss'][-1]:.8g}")
        for fw in a.frameworks:
            try:
                got = run(["peers.py", "--framework", fw, "--init", f, "--losses", str(a.updates)])
            except RuntimeError as e:
                print(f"[{name}] {fw:7s} ERROR {e}")
                failed += 1
                continue
            worst, ok = {}, True
            for key in ("critic_loss", "actor_loss"):
                devs = [abs(g - r) for g, r in zip(got[key], ref[key])]
                ok &= len(got[key]) == len(ref[key]) and all(
                    d <= a.atol + a.rtol * abs(r) for d, r in zip(devs, ref[key]))
                worst[key] = max(devs)
            print(f"[{name}] {fw:7s} {'ok  ' if ok else 'FAIL'} max|dev| critic {worst['critic_loss']:.2e} "
                  f"actor {worst['actor_loss']:.2e}")
            passed += ok
            failed += not ok
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
