// The FMA-throughput probe (see the header). Compiled for AVX2 + FMA with a target attribute
// (no command-line flags) and run only after a run-time check of the CPU.
#include "CRecRLBenchmarkProbes.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

static int has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// 12 chains of 8 lanes, each x = x * m + c with one rounding.
__attribute__((target("avx2,fma"))) static float fma_probe_avx2(long iterations, float start, float m, float c) {
    __m256 x[12];
    for (int j = 0; j < 12; j++) x[j] = _mm256_set1_ps(start + (float)j);
    __m256 vm = _mm256_set1_ps(m), vc = _mm256_set1_ps(c);
    for (long i = 0; i < iterations; i++)
        for (int j = 0; j < 12; j++) x[j] = _mm256_fmadd_ps(x[j], vm, vc);
    float sum = 0;
    for (int j = 0; j < 12; j++) sum += _mm256_cvtss_f32(x[j]);
    return sum;
}

long recrl_fma_probe(long iterations, float start, float m, float c, float *result) {
    if (!has_avx2_fma() || iterations < 0) return -1;
    *result = fma_probe_avx2(iterations, start, m, c);
    return iterations * 12 * 8 * 2;
}

#else

long recrl_fma_probe(long iterations, float start, float m, float c, float *result) {
    (void)iterations; (void)start; (void)m; (void)c; (void)result;
    return -1;
}

#endif
