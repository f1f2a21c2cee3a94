// C probes behind RecRLBenchmarkSupport (benchmarks and diagnostics, not the library).
// No stable API: call them through RecRLBenchmarkSupport's Swift types.
#ifndef CRECRL_BENCHMARK_PROBES_H
#define CRECRL_BENCHMARK_PROBES_H

/// An FMA-throughput probe (x86-64 with AVX2 + FMA): 12 independent chains of 8 lanes, each
/// starting at start + j (chain j) and stepping x = fma(x, m, c) `iterations` times, enough
/// independent work to keep a core's FMA units busy. Writes the sum of the chains' final
/// values (j = 0, 1, ..., 11, float additions in that order) to *result so the work cannot be
/// optimised away, and returns the FLOPs done (192 per iteration), or -1 (and leaves *result
/// alone) on CPUs without AVX2 + FMA or for negative `iterations`.
long recrl_fma_probe(long iterations, float start, float m, float c, float *result);

#endif
