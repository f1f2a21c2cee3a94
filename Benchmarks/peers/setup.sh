#!/usr/bin/env bash
# Creates Benchmarks/peers/.venv and installs the Python peer frameworks:
#   numpy, threadpoolctl, tensorflow-cpu, jax[cpu] (jax + jaxlib), torch (CPU).
# Idempotent: re-running only installs what is missing. Prints what it installed.
#
# torch: the plain `torch` wheel on PyPI is the CUDA build and pulls ~3 GB of
# nvidia-* packages. We install torch with --no-deps plus its small pure-Python
# deps. If pip's find-links (PIP_FIND_LINKS / pip.conf) offers a "+cpu" local
# wheel, that CPU-only build is preferred; otherwise the PyPI wheel is used with
# --no-deps. Either way the script checks that torch imports and runs a CPU matmul.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY_SYS="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating venv $VENV"
  "$PY_SYS" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

have() { "$PY" - "$1" <<'EOF' >/dev/null 2>&1
import importlib.util, sys
sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)
EOF
}

if ! have numpy || ! have threadpoolctl; then
  echo "[setup] installing numpy threadpoolctl"
  "${PIP[@]}" install -q numpy threadpoolctl
fi

if ! have tensorflow; then
  echo "[setup] installing tensorflow-cpu"
  "${PIP[@]}" install -q tensorflow-cpu
fi

if ! have jax || ! have jaxlib; then
  echo "[setup] installing jax[cpu]"
  "${PIP[@]}" install -q "jax[cpu]"
fi

torch_ok() {
  "$PY" - <<'EOF'
import torch
a = torch.randn(64, 64)
b = a @ a
assert b.shape == (64, 64) and b.device.type == "cpu"
print("[setup] torch", torch.__version__, "imports and runs a CPU matmul; cuda built:", torch.version.cuda)
EOF
}

if ! have torch || ! torch_ok >/dev/null 2>&1; then
  echo "[setup] installing torch deps (pure Python)"
  "${PIP[@]}" install -q filelock typing-extensions sympy networkx jinja2 fsspec mpmath markupsafe
  # A local CPU-only wheel offered through find-links, if any.
  CPU_WHEEL=""
  for d in ${PIP_FIND_LINKS:-} $("$PY" -m pip config get global.find-links 2>/dev/null || true); do
    [ -d "$d" ] || continue
    w=$(ls "$d"/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$w" ] && CPU_WHEEL="$w"
  done
  if [ -n "$CPU_WHEEL" ]; then
    echo "[setup] installing torch --no-deps from CPU wheel $CPU_WHEEL"
    "${PIP[@]}" install -q --no-deps "$CPU_WHEEL"
  else
    echo "[setup] installing torch --no-deps from PyPI"
    "${PIP[@]}" install -q --no-deps torch
  fi
fi
torch_ok

echo "[setup] installed:"
"${PIP[@]}" list 2>/dev/null | grep -iE '^(numpy|threadpoolctl|tensorflow[-_]cpu|tensorflow|keras|jax|jaxlib|torch|ml.dtypes) ' || true
"$PY" - <<'EOF'
import numpy, tensorflow as tf, jax, torch
print("[setup] numpy", numpy.__version__, "| tensorflow", tf.__version__,
      "| jax", jax.__version__, jax.devices(), "| torch", torch.__version__)
EOF
echo "[setup] done: $VENV"
