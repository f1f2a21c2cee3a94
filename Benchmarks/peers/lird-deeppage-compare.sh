#!/usr/bin/env bash
# Training throughput of one LIRD and one DeepPage update at their default configurations
# (`recrl-bench update`: LIRD = DRRLearningStep's DDPG update + supervised step, DeepPage =
# DeepPageModel's DDPG update; fixed synthetic batch, target networks, soft updates, Adam)
# against the same updates in PyTorch (list_update_torch.py), side by side at the same thread
# counts. Runs alternate between the contenders; prints one table of medians (updates/s,
# RecRL/PyTorch, RecRL's allocations per warm update, how busy other processes kept the
# machine) and appends every run's JSON to a file.
#
# Usage: Benchmarks/peers/lird-deeppage-compare.sh [REPO] [options]
#   REPO              repository root to build and run (default: this script's repository)
#   --threads 1,2     thread counts (default 1,2)
#   --repeats N       runs per contender and thread count (default 3)
#   --seconds S       timed seconds per model and run, split over --runs (default: each side's, 3)
#   --runs R          timed runs per model inside each process; each run's figure is their median (default 5)
#   --models LIST     lird,deeppage (default both)
#   --raw FILE        JSON lines appended here (default Benchmarks/peers/lird-deeppage-runs.jsonl, git-ignored)
#   --no-build        use the existing release recrl-bench
#
# Threads: RecRL gets `--threads N`: 1 runs the sequential update; N >= 2 runs LIRD's two-lane
# update (as `recrl train --policy lird --parallelism N`) and DeepPage's sequential one (its
# networks have no two-lane path, so DeepPage uses one core at any N, as `recrl train --policy
# deeppage` does); BLAS runs one thread throughout, as in the trainers; the JSON says which path
# (`path`). PyTorch gets torch.set_num_threads(N) and the same pinning below the core count.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$HERE/side-by-side.sh" update "$@"
