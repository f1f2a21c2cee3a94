#include "CRecRLKernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <cpuid.h>
#define RECRL_X86 1
#endif

int recrl_cpu_supports(const char *feature) {
#if RECRL_X86
    __builtin_cpu_init();
    if (strcmp(feature, "avx512f") == 0) return __builtin_cpu_supports("avx512f") ? 1 : 0;
    if (strcmp(feature, "avx2") == 0) return __builtin_cpu_supports("avx2") ? 1 : 0;
    if (strcmp(feature, "fma") == 0) return __builtin_cpu_supports("fma") ? 1 : 0;
#endif
    (void)feature;
    return 0;
}

int recrl_cpu_vendor(void) {
#if RECRL_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return RECRL_CPU_VENDOR_OTHER;
    // The vendor string is in EBX, EDX, ECX: "AuthenticAMD" or "GenuineIntel".
    if (b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u) return RECRL_CPU_VENDOR_AMD;
    if (b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu) return RECRL_CPU_VENDOR_INTEL;
#endif
    return RECRL_CPU_VENDOR_OTHER;
}

int recrl_cpu_family(void) {
#if RECRL_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    unsigned family = (a >> 8) & 0xF;
    return (int)(family == 0xF ? family + ((a >> 20) & 0xFF) : family);
#else
    return 0;
#endif
}

uint32_t recrl_get_fp_control(void) {
#if RECRL_X86
    return _mm_getcsr();
#else
    return 0;
#endif
}

void recrl_set_fp_control(uint32_t value) {
#if RECRL_X86
    _mm_setcsr(value);
#else
    (void)value;
#endif
}

uint32_t recrl_ftz_daz_bits(void) {
#if RECRL_X86
    return 0x8040u; /* FTZ (bit 15) | DAZ (bit 6) */
#else
    return 0;
#endif
}

/* No a*b+c is contracted into a fused multiply-add anywhere in this file: every operation
   rounds on its own, so a vector lane, the scalar tail and another CPU's build compute the
   same bits for the same element (results do not depend on where a loop or a split starts). */
#pragma clang fp contract(off)

/* A correctly rounded square root that loops can vectorise (sqrtf may set errno, which
   keeps the vectoriser away). */
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
static inline float recrl_sqrt(float x) { return __builtin_elementwise_sqrt(x); }
#else
static inline float recrl_sqrt(float x) { return __builtin_sqrtf(x); }
#endif

#if RECRL_X86
#define RECRL_AVX2 __attribute__((target("avx2")))
/// 1 when the CPU runs AVX2 (checked once).
static int recrl_has_avx2(void) {
    static _Atomic int state = -1;
    int s = state;
    if (s < 0) {
        __builtin_cpu_init();
        state = s = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return s;
}
#endif

/* One Adam element; the vector loops below compute exactly this, lane by lane. */
#define RECRL_ADAM_SCALAR(i)                                                        \
    do {                                                                            \
        float g_ = grad[i];                                                         \
        float mm_ = beta1 * m[i] + c1 * g_;                                         \
        float vv_ = beta2 * v[i] + c2 * (g_ * g_);                                  \
        m[i] = mm_;                                                                 \
        v[i] = vv_;                                                                 \
        param[i] = param[i] - (lr_t * mm_) / (recrl_sqrt(vv_) + eps_t);             \
    } while (0)

/* Restrict pointers and no contraction: the compiler vectorises this loop, and every lane
   computes exactly RECRL_ADAM_SCALAR. */
static inline __attribute__((always_inline)) void adam_loop(float *restrict param, const float *restrict grad,
                                                            float *restrict m, float *restrict v, long count,
                                                            float beta1, float beta2, float lr_t, float eps_t) {
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    for (long i = 0; i < count; i++) RECRL_ADAM_SCALAR(i);
}

/* The soft update; like adam_loop, compiled once generic and once for AVX2. */
static inline __attribute__((always_inline)) void soft_update_loop(float *restrict target,
                                                                   const float *restrict source,
                                                                   long count, float tau) {
    const float keep = 1.0f - tau;
    for (long i = 0; i < count; i++) target[i] = tau * source[i] + keep * target[i];
}

#if RECRL_X86
RECRL_AVX2 static void adam_avx2(float *restrict param, const float *restrict grad, float *restrict m,
                                 float *restrict v, long count, float beta1, float beta2, float lr_t,
                                 float eps_t) {
    adam_loop(param, grad, m, v, count, beta1, beta2, lr_t, eps_t);
}

RECRL_AVX2 static void soft_update_avx2(float *restrict target, const float *restrict source, long count,
                                        float tau) {
    soft_update_loop(target, source, count, tau);
}
#endif

void recrl_adam_step(float *restrict param, const float *restrict grad, float *restrict m,
                     float *restrict v, long count, float beta1, float beta2, float lr_t,
                     float eps_t) {
#if RECRL_X86
    if (recrl_has_avx2()) {
        adam_avx2(param, grad, m, v, count, beta1, beta2, lr_t, eps_t);
        return;
    }
#endif
    adam_loop(param, grad, m, v, count, beta1, beta2, lr_t, eps_t);
}

void recrl_soft_update(float *restrict target, const float *restrict source, long count, float tau) {
#if RECRL_X86
    if (recrl_has_avx2()) {
        soft_update_avx2(target, source, count, tau);
        return;
    }
#endif
    soft_update_loop(target, source, count, tau);
}

/* e^y = 2^n * p(r), y = n ln2 + r, |r| <= ln2 / 2, p the degree-7 Taylor polynomial (relative
   truncation below 6e-9), for y in [-87, 88] (callers clamp); branch-free, so loops over it
   vectorise. n = round(y / ln2) comes from the 1.5 * 2^23 trick: t lies in [2^23, 2^24), so its low
   mantissa bits hold n (-126 <= n <= 127) in two's complement, with no float-to-int conversion
   of NaN (NaN in gives NaN out), and 2^n has the biased exponent n + 127. */
static inline __attribute__((always_inline)) float recrl_exp_in_range(float y) {
    float t = y * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = y - n * 0.693145751953125f;
    r = r - n * 1.42860682030941723e-06f;
    float q = 1.0f / 5040.0f;
    q = q * r + 1.0f / 720.0f;
    q = q * r + 1.0f / 120.0f;
    q = q * r + 1.0f / 24.0f;
    q = q * r + 1.0f / 6.0f;
    q = q * r + 0.5f;
    q = q * r + 1.0f;
    q = q * r + 1.0f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    uint32_t sb = (tb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return q * scale;
}

/* tanh of one float, branch-free so that loops over it vectorise.
   |x| < 0.625: the odd Taylor series through x^21 (truncation below 1.3e-9 relative);
   otherwise 1 - 2 / (e^(2|x|) + 1) with recrl_exp_in_range; |x| is clamped at 9.5, where
   tanh rounds to 1 in float. The sign is copied from x, so tanh(-0) = -0;
   NaN stays NaN and infinities give +-1. Checked against double precision in
   Tests/RecRLTensorTests (a few ulp at most). */
static inline __attribute__((always_inline)) float recrl_tanh1(float x) {
    float ax = __builtin_fabsf(x);
    float z = ax * ax;
    float p = 9.691537956929451e-05f;
    p = p * z + -2.3912911424355248e-04f;
    p = p * z + 5.90027440945586e-04f;
    p = p * z + -1.4558343870513183e-03f;
    p = p * z + 3.592128036572481e-03f;
    p = p * z + -8.863235529902197e-03f;
    p = p * z + 2.1869488536155203e-02f;
    p = p * z + -5.396825396825397e-02f;
    p = p * z + 1.3333333333333333e-01f;
    p = p * z + -3.333333333333333e-01f;
    float small = ax + ax * (z * p);

    float c = ax > 9.5f ? 9.5f : ax; /* NaN stays NaN */
    float e = recrl_exp_in_range(c + c);
    float large = 1.0f - 2.0f / (e + 1.0f);

    float v = ax < 0.625f ? small : large;
    return __builtin_copysignf(v, x);
}

static inline __attribute__((always_inline)) void tanh_loop(float *restrict x, long count) {
    for (long i = 0; i < count; i++) x[i] = recrl_tanh1(x[i]);
}

#if RECRL_X86
RECRL_AVX2 static void tanh_avx2(float *restrict x, long count) { tanh_loop(x, count); }
#endif

void recrl_tanh(float *x, long count) {
#if RECRL_X86
    if (recrl_has_avx2()) {
        tanh_avx2(x, count);
        return;
    }
#endif
    tanh_loop(x, count);
}

/* e^y for y <= 0 (the shifted logits of a softmax), branch-free so that loops over it
   vectorise. Below -87 (where e^y nears the smallest normal float) the result is 0; NaN stays
   NaN. */
static inline __attribute__((always_inline)) float recrl_exp_nonpositive(float y) {
    float c = y < -87.0f ? -87.0f : y; /* NaN stays NaN */
    float e = recrl_exp_in_range(c);
    return y < -87.0f ? 0.0f : e;
}

/* Sixteen partial maxima and sums in a fixed order: the loops vectorise at any width and
   every build (scalar, AVX2) adds in the same order, so the results are the same bits. */
#define RECRL_SOFTMAX_LANES 16

static inline __attribute__((always_inline)) float softmax_xent_loop(float *restrict z, long rows, long cols, long ld,
                                                                      const int32_t *restrict targets, float scale) {
    float loss = 0.0f;
    for (long row = 0; row < rows; row++) {
        float *restrict x = z + row * ld;
        long full = cols - cols % RECRL_SOFTMAX_LANES;
        float top[RECRL_SOFTMAX_LANES];
        for (int l = 0; l < RECRL_SOFTMAX_LANES; l++) top[l] = -INFINITY;
        for (long j = 0; j < full; j += RECRL_SOFTMAX_LANES)
            for (int l = 0; l < RECRL_SOFTMAX_LANES; l++) top[l] = x[j + l] > top[l] ? x[j + l] : top[l];
        for (long j = full; j < cols; j++) top[j - full] = x[j] > top[j - full] ? x[j] : top[j - full];
        float m = -INFINITY;
        for (int l = 0; l < RECRL_SOFTMAX_LANES; l++) m = top[l] > m ? top[l] : m;

        float part[RECRL_SOFTMAX_LANES];
        for (int l = 0; l < RECRL_SOFTMAX_LANES; l++) part[l] = 0.0f;
        for (long j = 0; j < full; j += RECRL_SOFTMAX_LANES)
            for (int l = 0; l < RECRL_SOFTMAX_LANES; l++) {
                float e = recrl_exp_nonpositive(x[j + l] - m);
                x[j + l] = e;
                part[l] += e;
            }
        for (long j = full; j < cols; j++) {
            float e = recrl_exp_nonpositive(x[j] - m);
            x[j] = e;
            part[j - full] += e;
        }
        float sum = 0.0f;
        for (int l = 0; l < RECRL_SOFTMAX_LANES; l++) sum += part[l];

        long target = targets[row];
        float p = x[target] / sum;
        loss -= logf(p < 1.17549435e-38f ? 1.17549435e-38f : p); /* NaN stays NaN */
        float inv = scale / sum;
        for (long j = 0; j < cols; j++) x[j] *= inv;
        x[target] -= scale;
    }
    return loss;
}

#if RECRL_X86
RECRL_AVX2 static float softmax_xent_avx2(float *restrict z, long rows, long cols, long ld, const int32_t *restrict targets,
                                          float scale) {
    return softmax_xent_loop(z, rows, cols, ld, targets, scale);
}
#endif

float recrl_softmax_cross_entropy(float *z, long rows, long cols, long ld, const int32_t *targets, float scale) {
#if RECRL_X86
    if (recrl_has_avx2()) return softmax_xent_avx2(z, rows, cols, ld, targets, scale);
#endif
    return softmax_xent_loop(z, rows, cols, ld, targets, scale);
}

void recrl_bias_activation(float *restrict y, const float *restrict bias, long rows, long cols,
                           int activation) {
    for (long r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (bias) {
            for (long c = 0; c < cols; c++) row[c] += bias[c];
        }
        switch (activation) {
        case 1:
            for (long c = 0; c < cols; c++) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
            break;
        case 2:
            recrl_tanh(row, cols);
            break;
        case 3:
            for (long c = 0; c < cols; c++) row[c] = 1.0f / (1.0f + expf(-row[c]));
            break;
        default:
            break;
        }
    }
}

void recrl_activation_backward(float *restrict delta, const float *restrict y, long count,
                               int activation) {
    switch (activation) {
    case 1: {
        /* Branch-free (a data-dependent branch here mispredicts on half the units):
           delta & (y > 0), bit-identical to the scalar select below. */
        long i = 0;
#if RECRL_X86 && defined(__SSE2__)
        const __m128 zero = _mm_setzero_ps();
        for (; i + 4 <= count; i += 4) {
            __m128 keep = _mm_cmpgt_ps(_mm_loadu_ps(y + i), zero);
            _mm_storeu_ps(delta + i, _mm_and_ps(_mm_loadu_ps(delta + i), keep));
        }
#endif
        for (; i < count; i++) delta[i] = y[i] > 0.0f ? delta[i] : 0.0f;
        break;
    }
    case 2:
        for (long i = 0; i < count; i++) delta[i] *= 1.0f - y[i] * y[i];
        break;
    case 3:
        for (long i = 0; i < count; i++) delta[i] *= y[i] * (1.0f - y[i]);
        break;
    default:
        break;
    }
}

void recrl_column_sums(const float *restrict x, long rows, long cols, float *restrict out, float beta) {
    if (beta == 0.0f) {
        memset(out, 0, sizeof(float) * (size_t)cols);
    } else if (beta != 1.0f) {
        for (long c = 0; c < cols; c++) out[c] *= beta;
    }
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        for (long c = 0; c < cols; c++) out[c] += row[c];
    }
}

void recrl_outer_product(long m, long n, float alpha, const float *restrict x, long incx, const float *restrict y,
                         long incy, float beta, float *restrict c, long ldc) {
    for (long i = 0; i < m; i++) {
        float s = alpha * x[i * incx];
        float *restrict ci = c + i * ldc;
        if (incy == 1) {
            if (beta == 0.0f) for (long j = 0; j < n; j++) ci[j] = s * y[j];
            else for (long j = 0; j < n; j++) ci[j] = s * y[j] + beta * ci[j];
        } else {
            if (beta == 0.0f) for (long j = 0; j < n; j++) ci[j] = s * y[j * incy];
            else for (long j = 0; j < n; j++) ci[j] = s * y[j * incy] + beta * ci[j];
        }
    }
}

void recrl_bias_activation_strided(float *restrict y, long ldy, const float *restrict bias, long rows,
                                   long cols, int activation) {
    for (long r = 0; r < rows; r++) recrl_bias_activation(y + r * ldy, bias, 1, cols, activation);
}

void recrl_activation_backward_strided(float *restrict delta, long ldd, const float *restrict y, long ldy,
                                       long rows, long cols, int activation) {
    for (long r = 0; r < rows; r++) recrl_activation_backward(delta + r * ldd, y + r * ldy, cols, activation);
}

void recrl_adam_soft_step(float *restrict param, const float *restrict grad, float *restrict m,
                          float *restrict v, float *restrict target, long count, float beta1,
                          float beta2, float lr_t, float eps_t, float tau) {
    /* Blocks keep the freshly updated parameters in L1 for the soft update; block
       starts are multiples of 4, so the vector/scalar split matches recrl_adam_step. */
    const long block = 2048;
    for (long start = 0; start < count; start += block) {
        long n = count - start < block ? count - start : block;
        recrl_adam_step(param + start, grad + start, m + start, v + start, n, beta1, beta2, lr_t, eps_t);
        if (target) recrl_soft_update(target + start, param + start, n, tau);
    }
}

void recrl_cpu_relax(void) {
#if RECRL_X86
    _mm_pause();
#endif
}
