#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (address sanitizer on) and runs each one for a given
# time on a copy of its committed seed corpus (Fuzz/Corpus/<target>/). Crashing inputs are
# written to out/fuzz/<target>/ and make the script fail.
#
#   Scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      default: 60 s, every target
#   FUZZ_RUNS=N Scripts/fuzz.sh ...                        stop each target after N executions instead
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  TARGETS=($(ls Fuzz/Corpus))
fi
SCRATCH=${FUZZ_SCRATCH:-.build-fuzz}
echo "[fuzz] building ${TARGETS[*]} (release, -sanitize=fuzzer,address)"
( cd Fuzz && swift build -c release --scratch-path "../$SCRATCH" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -E "error|warning: .*Fuzz|Compiling Fuzz|Build complete" || true )
status=0
for t in "${TARGETS[@]}"; do
  bin="$SCRATCH/release/$t"
  [ -x "$bin" ] || { echo "[fuzz] $t: not built ($bin)"; exit 1; }
  work=$(mktemp -d)
  cp Fuzz/Corpus/"$t"/* "$work"/ 2>/dev/null || true
  mkdir -p "out/fuzz/$t"
  limit=(-max_total_time="$SECONDS_PER_TARGET")
  [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
  log="out/fuzz/$t/last-run.log"
  set +e
  "$bin" "$work" "${limit[@]}" -max_len=4096 -rss_limit_mb=4096 -artifact_prefix="out/fuzz/$t/" -print_final_stats=1 > "$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  crashes=$(ls "out/fuzz/$t" | grep -c -E '^(crash|leak|timeout|oom)-' || true)
  echo "[fuzz] $t: $execs executions in ${SECONDS_PER_TARGET}s budget, exit $rc, crash files: $crashes"
  if [ $rc -ne 0 ]; then status=1; tail -30 "$log"; fi
  rm -rf "$work"
done
exit $status
