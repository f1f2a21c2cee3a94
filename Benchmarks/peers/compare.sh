#!/usr/bin/env bash
# Side-by-side training-throughput comparison: RecRL and the Python peers on the
# WORKLOAD.md DDPG update, same thread count for all, contenders alternated.
#
#   Benchmarks/peers/compare.sh [--rounds 3] [--threads 2] [--configs "paper medium"]
#                               [--peers "numpy tf tf-xla jax torch"] [--runs 5] [--seconds 2]
#                               [--no-recrl] [--out DIR] [--wait-idle SECONDS] [--no-cpu-probe]
#
# Each round runs every contender once per config, in an order rotated by the
# round number (so no contender always goes first or last). Each contender
# run reports the median of its own timed runs; the table shows, per config,
# the median over rounds of those medians, and RecRL/peer ratios.
# RecRL's side:
#   swift run -c release --package-path "$ROOT" recrl bench train --config C --threads N --json
# (override with RECRL_CMD, where {config} and {threads} are substituted). If that
# does not build or prints no JSON with "updates_per_second", RecRL is reported
# as n/a and the peers still run.
# numpy runs unset OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (they slow a current
# OpenBLAS); its JSON records which kernel OpenBLAS then uses (threadpoolctl).
# Every raw result line is kept in DIR/results.jsonl (default: a temp dir).
# --wait-idle S: before each contender run, wait (at most S seconds) until the
# machine is idle (under 0.3 cores busy over a 2 s sample): on a shared machine
# other processes' load ruins 2-thread figures (spinning thread pools).
# Peers' JSON has "other_processes_cores", the load others added during
# their timed runs; the table flags medians from runs with more than 0.3.
# Before and after each contender run, `recrl bench cpu --threads N` measures how
# many cores' FMA throughput the machine gives at that moment ("scaling": N
# threads' total over one thread's; a 2-vCPU VM reads 2.0 when it gets both cores
# and about 1.0 when the host runs both vCPUs on one core). Each result line keeps
# both readings ("cpu_before", "cpu_after") and the table prints their medians,
# so a ratio measured while one contender had the slow level shows as such.
# --no-cpu-probe turns this off.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="$HERE/.venv/bin/python"
ROUNDS=3; THREADS=2; CONFIGS="paper medium"; PEERS="numpy tf tf-xla jax torch"
RUNS=5; SECONDS_PER_RUN=2; RECRL=1; OUT=""; WAIT_IDLE=0; CPU_PROBE=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2;;
    --threads) THREADS="$2"; shift 2;;
    --configs) CONFIGS="$2"; shift 2;;
    --peers) PEERS="$2"; shift 2;;
    --runs) RUNS="$2"; shift 2;;
    --seconds) SECONDS_PER_RUN="$2"; shift 2;;
    --no-recrl) RECRL=0; shift;;
    --out) OUT="$2"; shift 2;;
    --wait-idle) WAIT_IDLE="$2"; shift 2;;
    --no-cpu-probe) CPU_PROBE=0; shift;;
    -h|--help) sed -n '2,36p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
done
[ -x "$PY" ] || { echo "no $PY: run $HERE/setup.sh first" >&2; exit 1; }
[ -n "$OUT" ] || OUT="$(mktemp -d /tmp/recrl-compare.XXXXXX)"
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

echo "compare: $(date -u '+%Y-%m-%d %H:%M UTC'); $(lscpu | grep 'Model name' | sed 's/  */ /g'); $(nproc) cores"
echo "compare: rounds=$ROUNDS threads=$THREADS configs='$CONFIGS' peers='$PEERS' runs=$RUNS seconds=$SECONDS_PER_RUN"
echo "compare: load average before: $(cut -d' ' -f1-3 /proc/loadavg); raw results: $RESULTS"

CONTENDERS=()
if [ "$RECRL" = 1 ]; then
  if [ -n "${RECRL_CMD:-}" ]; then
    CONTENDERS+=(recrl)
  elif command -v swift >/dev/null 2>&1 && \
       swift build -c release --package-path "$ROOT" --product recrl >"$OUT/recrl-build.log" 2>&1; then
    CONTENDERS+=(recrl)
  else
    echo "compare: RecRL's recrl did not build (see $OUT/recrl-build.log); peers only" >&2
  fi
fi
for p in $PEERS; do CONTENDERS+=("$p"); done

# The FMA probe (recrl bench cpu), when recrl builds.
PROBE=""
if [ "$CPU_PROBE" = 1 ] && command -v swift >/dev/null 2>&1 && \
   swift build -c release --package-path "$ROOT" --product recrl >>"$OUT/recrl-build.log" 2>&1; then
  PROBE="$(swift build -c release --package-path "$ROOT" --show-bin-path 2>/dev/null)/recrl"
  [ -x "$PROBE" ] || PROBE=""
fi
[ "$CPU_PROBE" = 0 ] || [ -n "$PROBE" ] || echo "compare: recrl did not build: no CPU probe" >&2
# cpu_probe: one `recrl bench cpu` JSON line, or "null"
cpu_probe() {
  local j=""
  [ -n "$PROBE" ] && j="$("$PROBE" bench cpu --threads "$THREADS" --seconds 0.25 --json 2>/dev/null | tail -1)"
  case "$j" in "{"*) echo "$j";; *) echo null;; esac
}

# busy_cores: cores busy (all processes) over a 2 s sample
busy_cores() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local tot=0 idle i
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  awk -v t="$tot" -v i="$idle" -v n="$(nproc)" 'BEGIN { printf "%.2f", (t > 0 ? (t - i) / t * n : 0) }'
}
wait_idle() {
  [ "$WAIT_IDLE" -gt 0 ] 2>/dev/null || return 0
  local start=$SECONDS b
  while :; do
    b=$(busy_cores)
    awk -v b="$b" 'BEGIN { exit !(b < 0.3) }' && return 0
    if [ $((SECONDS - start)) -ge "$WAIT_IDLE" ]; then
      echo "  (machine still busy: $b cores; running anyway)" >&2; return 0
    fi
  done
}

# run_one CONTENDER CONFIG ROUND: appends one JSON line to $RESULTS
run_one() {
  local who="$1" cfg="$2" round="$3" log="$OUT/$1-$2-r$3.log" cmd before after
  wait_idle
  before="$(cpu_probe)"
  if [ "$who" = recrl ]; then
    if [ -n "${RECRL_CMD:-}" ]; then
      cmd="${RECRL_CMD//\{config\}/$cfg}"; cmd="${cmd//\{threads\}/$THREADS}"
      bash -c "$cmd" >"$log" 2>"$log.err"
    else
      swift run -c release --package-path "$ROOT" recrl bench train \
        --config "$cfg" --threads "$THREADS" --json >"$log" 2>"$log.err"
    fi
  elif [ "$who" = numpy ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$HERE/peers.py" --framework numpy --config "$cfg" \
      --threads "$THREADS" --runs "$RUNS" --seconds "$SECONDS_PER_RUN" --json >"$log" 2>"$log.err"
  else
    "$PY" "$HERE/peers.py" --framework "$who" --config "$cfg" \
      --threads "$THREADS" --runs "$RUNS" --seconds "$SECONDS_PER_RUN" --json >"$log" 2>"$log.err"
  fi
  local rc=$?
  after="$(cpu_probe)"
  "$PY" - "$who" "$cfg" "$round" "$rc" "$log" "$before" "$after" >>"$RESULTS" <<'EOF'
import json, sys
who, cfg, rnd, rc, log, before, after = sys.argv[1:]
rec = None
for line in reversed(open(log, errors="replace").read().splitlines()):
    line = line.strip()
    if line.startswith("{"):
        try:
            rec = json.loads(line)
            break
        except ValueError:
            pass
out = {"contender": who, "config": cfg, "round": int(rnd), "rc": int(rc),
       "cpu_before": json.loads(before), "cpu_after": json.loads(after)}
if rec is not None and "updates_per_second" in rec:
    out["updates_per_second"] = rec["updates_per_second"]
    out["result"] = rec
else:
    out["error"] = f"exit {rc}, no JSON with updates_per_second (see {log}.err)"
print(json.dumps(out))
msg = f"{out['updates_per_second']:10.{2 if out['updates_per_second'] >= 1 else 3}f} updates/s" if "updates_per_second" in out else out["error"]
oc = (rec or {}).get("other_processes_cores")
if oc is not None:
    msg += f"  (others busy: {oc:.2f} cores)"
sc = [p["scaling"] for p in (out["cpu_before"], out["cpu_after"]) if isinstance(p, dict) and "scaling" in p]
if sc:
    msg += "  (cpu scaling " + " / ".join(f"{x:.2f}" for x in sc) + ")"
print(f"  round {rnd} {cfg:7s} {who:7s} {msg}", file=sys.stderr)
EOF
}

n=${#CONTENDERS[@]}
for cfg in $CONFIGS; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
      run_one "${CONTENDERS[$(((i + r - 1) % n))]}" "$cfg" "$r"
    done
  done
done
echo "compare: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$RESULTS" "$THREADS" "$CONFIGS" "${CONTENDERS[*]}" <<'EOF'
import json, statistics, sys
path, threads, configs, contenders = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
if "recrl" not in contenders:
    contenders = ["recrl"] + contenders
rows = [json.loads(l) for l in open(path)]
med, blas, noisy = {}, {}, set()
for c in contenders:
    for cfg in configs:
        v = [r["updates_per_second"] for r in rows
             if r["contender"] == c and r["config"] == cfg and "updates_per_second" in r]
        med[c, cfg] = statistics.median(v) if v else None
        if any((r.get("result", {}).get("other_processes_cores") or 0) > 0.3 for r in rows
               if r["contender"] == c and r["config"] == cfg):
            noisy.add((c, cfg))
        if c == "numpy":
            for r in rows:
                if r["contender"] == c and "result" in r:
                    blas[cfg] = r["result"].get("info", {}).get("blas")
fmt = lambda x: (f"{x:10.2f}" if x >= 1 else f"{x:10.3f}") if x is not None else f"{'n/a':>10s}"
flag = lambda c, cfg: "*" if (c, cfg) in noisy else " "
print(f"\nupdates/s, {threads} threads (median over rounds of each contender's median)")
print(f"{'contender':10s}" + "".join(f"{c:>12s}" for c in configs))
for c in contenders:
    print(f"{c:10s}" + "".join(" " + fmt(med[c, cfg]) + flag(c, cfg) for cfg in configs))
print(f"\nRecRL / peer")
print(f"{'peer':10s}" + "".join(f"{c:>12s}" for c in configs))
for c in contenders:
    if c == "recrl":
        continue
    cells = []
    for cfg in configs:
        a, b = med["recrl", cfg], med[c, cfg]
        cells.append(f"{a / b:10.2f}x" if a and b else f"{'n/a':>11s}")
    print(f"{c:10s}" + "".join(" " + x for x in cells))
scal = {}
for c in contenders:
    for cfg in configs:
        v = [p["scaling"] for r in rows if r["contender"] == c and r["config"] == cfg
             for p in (r.get("cpu_before"), r.get("cpu_after")) if isinstance(p, dict) and "scaling" in p]
        scal[c, cfg] = statistics.median(v) if v else None
if any(v is not None for v in scal.values()):
    print(f"\nCPU scaling around each contender's runs ({threads} threads' FMA throughput over one thread's,")
    print(f"median of the readings before and after its runs; {threads}.0: all cores, 1.0: one core's worth)")
    print(f"{'contender':10s}" + "".join(f"{c:>12s}" for c in configs))
    for c in contenders:
        print(f"{c:10s}" + "".join(" " + (f"{scal[c, cfg]:10.2f} " if scal[c, cfg] is not None else f"{'n/a':>10s} ")
                                   for cfg in configs))
if noisy:
    print("* some runs had other processes using > 0.3 cores: figure disturbed")
for cfg, b in blas.items():
    print(f"numpy BLAS ({cfg}): {json.dumps(b)}")
EOF
