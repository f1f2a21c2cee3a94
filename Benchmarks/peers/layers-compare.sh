#!/usr/bin/env bash
# Forward + backward of RecRL's Conv2D, ConvTranspose2D and GRU at DeepPage's default shapes
# (`recrl-bench layers`) against PyTorch's nn.Conv2d, nn.ConvTranspose2d and nn.GRU on the same
# shapes (layers_torch.py), side by side at the same thread counts. Runs alternate between the
# contenders; prints one table of medians (calls/s, RecRL/PyTorch, RecRL's allocations per warm
# call, how busy other processes kept the machine) and appends every run's JSON to a file.
#
# Usage: Benchmarks/peers/layers-compare.sh [REPO] [options]
#   REPO              repository root to build and run (default: this script's repository)
#   --threads 1,2     thread counts (default 1,2)
#   --repeats N       runs per contender and thread count (default 3)
#   --seconds S       timed seconds per layer and run, split over --runs (default: each side's, 2)
#   --runs R          timed runs per layer inside each process; each run's figure is their median (default 5)
#   --layers LIST     conv2d,conv2d-action,conv-transpose2d,gru,gru-pages (default: all)
#   --raw FILE        JSON lines appended here (default Benchmarks/peers/layers-runs.jsonl, git-ignored)
#   --no-build        use the existing release recrl-bench
#
# Threads: RecRL gets `--threads N` (OpenBLAS threads) and OPENBLAS_NUM_THREADS=N, and is pinned
# to N cores (taskset) below the core count; PyTorch gets torch.set_num_threads(N),
# OMP/MKL/OPENBLAS_NUM_THREADS=N and the same pinning (layers_torch.py --threads N).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$HERE/side-by-side.sh" layers "$@"
