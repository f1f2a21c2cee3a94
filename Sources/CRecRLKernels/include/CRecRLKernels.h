// Small C kernels behind RecRL's Swift API. This module has no stable API:
// call it only through the RecRL Swift types.
#ifndef CRECRL_KERNELS_H
#define CRECRL_KERNELS_H

#include <stdint.h>

/// Returns 1 when the CPU supports the named feature ("avx512f", "avx2", "fma"), else 0.
int recrl_cpu_supports(const char *feature);

/// recrl_cpu_vendor's answers.
enum { RECRL_CPU_VENDOR_OTHER = 0, RECRL_CPU_VENDOR_AMD = 1, RECRL_CPU_VENDOR_INTEL = 2 };

/// The x86 CPU's vendor read with CPUID (RECRL_CPU_VENDOR_*); RECRL_CPU_VENDOR_OTHER elsewhere.
int recrl_cpu_vendor(void);

/// The x86 CPU's family as the OS reports it ("cpu family" in /proc/cpuinfo: the base family,
/// plus the extended family when the base is 0xF), read with CPUID; 0 on other architectures.
int recrl_cpu_family(void);

/// Reads the SSE control/status register (MXCSR) of the calling thread; 0 on non-x86.
uint32_t recrl_get_fp_control(void);
/// Writes MXCSR of the calling thread (no-op on non-x86).
void recrl_set_fp_control(uint32_t value);
/// The MXCSR bits for flush-to-zero and denormals-are-zero.
uint32_t recrl_ftz_daz_bits(void);

/// One Adam step over `count` parameters, in place:
///   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
///   p -= lr_t * m / (sqrt(v) + eps_t)
/// `lr_t` and `eps_t` already carry the bias corrections.
/// Each element is computed with one rounding per operation (no fused multiply-add), in
/// AVX2 vectors when the CPU has them: the same bits at any position and on any CPU.
void recrl_adam_step(float *param, const float *grad, float *m, float *v, long count,
                     float beta1, float beta2, float lr_t, float eps_t);

/// Soft update in place: target = tau * source + (1 - tau) * target.
void recrl_soft_update(float *target, const float *source, long count, float tau);

/// tanh in place over `count` floats, vectorised (AVX2 when the CPU has it); within a few
/// ulp of the exact value, the same bits on every CPU and at every position; tanh(-0) = -0,
/// NaN stays NaN, +-inf gives +-1.
void recrl_tanh(float *x, long count);

/// Fused bias add and activation over a row-major [rows, cols] matrix, in place.
/// activation: 0 identity, 1 relu, 2 tanh, 3 sigmoid.
void recrl_bias_activation(float *y, const float *bias, long rows, long cols, int activation);

/// Multiplies `delta` (the gradient w.r.t. an activation's output) by the activation's
/// derivative expressed through its output `y`, in place. Same activation codes.
void recrl_activation_backward(float *delta, const float *y, long count, int activation);

/// Softmax cross-entropy over each row of a [rows, cols] block of logits `z` (row stride `ld`),
/// in place: returns sum_rows -log softmax(z_row)[targets[row]] (the probability floored at the
/// smallest normal float) and leaves scale * (softmax(z_row) - onehot(targets[row])) in `z`, the
/// gradient of `scale` times that sum. Vectorised (AVX2 when the CPU has it) with a fixed
/// summation order, so every CPU gets the same bits. Every target must lie in [0, cols).
float recrl_softmax_cross_entropy(float *z, long rows, long cols, long ld, const int32_t *targets, float scale);

/// Column sums of a row-major [rows, cols] matrix into out[cols] (out = beta*out + sum).
void recrl_column_sums(const float *x, long rows, long cols, float *out, float beta);

/// The rank-1 product C[m x n] = alpha * x * y^T + beta * C (row stride ldc; x[i*incx],
/// y[j*incy]): a GEMM of depth 1. Each element is (alpha * x_i) * y_j (+ beta * C), so with
/// alpha 1 and beta 0 it is the exactly rounded product. beta == 0 never reads C.
void recrl_outer_product(long m, long n, float alpha, const float *x, long incx, const float *y, long incy,
                         float beta, float *c, long ldc);

/// recrl_bias_activation over `rows` rows of `cols` columns with row stride `ldy`.
void recrl_bias_activation_strided(float *y, long ldy, const float *bias, long rows, long cols, int activation);

/// recrl_activation_backward over a [rows, cols] block of row strides `ldd` (delta) and `ldy` (y).
void recrl_activation_backward_strided(float *delta, long ldd, const float *y, long ldy, long rows, long cols,
                                       int activation);

/// recrl_adam_step followed by recrl_soft_update(target, param, count, tau) (skipped when
/// `target` is NULL), in cache-sized blocks; bit-identical to the two calls one after the other.
void recrl_adam_soft_step(float *param, const float *grad, float *m, float *v, float *target, long count,
                          float beta1, float beta2, float lr_t, float eps_t, float tau);

/// A spin-wait hint (x86 PAUSE); no-op elsewhere.
void recrl_cpu_relax(void);

/// recrl_sgemm's builds: none, AVX2 + FMA (6 x 16 micro-kernel), AVX-512F (8 x 32).
enum { RECRL_SGEMM_NONE = 0, RECRL_SGEMM_AVX2 = 1, RECRL_SGEMM_AVX512 = 2 };

/// The fastest recrl_sgemm build this CPU runs (x86-64 only), or RECRL_SGEMM_NONE.
int recrl_sgemm_best_kernel(void);

/// Allocates the calling thread's recrl_sgemm packing buffers if it has none yet.
/// Returns 1 when they exist afterwards, 0 otherwise (no kernel runs here, or out of memory).
int recrl_sgemm_prepare(void);

/// Single-threaded row-major SGEMM with the given build (RECRL_SGEMM_AVX2 or
/// RECRL_SGEMM_AVX512): C[m x n] = alpha * op(A) * op(B) + beta * C, where op(A) is m x k
/// (A is k x m with row stride lda when transA, else m x k) and op(B) is k x n. beta == 0
/// never reads C. Uses per-thread packing buffers allocated on the thread's first call.
/// Returns 1 on success, 0 when it cannot run (the CPU lacks that build's instructions, or
/// the packing buffers could not be allocated); C is then unchanged.
int recrl_sgemm(int kernel, int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                const float *b, long ldb, float beta, float *c, long ldc);

#endif
