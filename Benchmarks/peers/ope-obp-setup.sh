#!/usr/bin/env bash
# Creates Benchmarks/peers/.venv-ope (git-ignored) with Open Bandit Pipeline for
# ope_obp_check.py. obp 0.5.7 pins torch 1.12 and Python < 3.11, neither of which
# installs on Python 3.11, so it is installed without its pins (--no-deps
# --ignore-requires-python) on top of versions that do: the estimators it is checked
# with (obp.ope) use numpy only. Idempotent: re-runs only check.
set -euo pipefail
cd "$(dirname "$0")"
if [ -x .venv-ope/bin/python ] && .venv-ope/bin/python -c "import obp" 2>/dev/null; then
    echo ".venv-ope ready: obp $(.venv-ope/bin/python -c 'import obp; print(obp.__version__)' 2>/dev/null)"
    exit 0
fi
python3 -m venv .venv-ope
.venv-ope/bin/pip install -q "torch==2.13.0+cpu" "numpy<2" "scipy<1.12" "scikit-learn<1.4" "pandas<2.2" tqdm matplotlib \
    "seaborn<0.13" pyyaml "mypy-extensions<0.5"
.venv-ope/bin/pip install -q --no-deps --ignore-requires-python obp==0.5.7
.venv-ope/bin/python -c "import obp; print('obp', obp.__version__)"
