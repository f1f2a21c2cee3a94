#include "CRecRLKernels.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
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

/* Vectorisable: __builtin_sqrtf with no errno dependence is lowered to sqrtps. */
static inline float recrl_sqrt(float x) { return __builtin_sqrtf(x); }

void recrl_adam_step(float *restrict param, const float *restrict grad, float *restrict m,
                     float *restrict v, long count, float beta1, float beta2, float lr_t,
                     float eps_t) {
    const float c1 = 1.0f - beta1, c2 = 1.0f - beta2;
    long i = 0;
#if RECRL_X86 && defined(__SSE2__)
    const __m128 vb1 = _mm_set1_ps(beta1), vb2 = _mm_set1_ps(beta2);
    const __m128 vc1 = _mm_set1_ps(c1), vc2 = _mm_set1_ps(c2);
    const __m128 vlr = _mm_set1_ps(lr_t), veps = _mm_set1_ps(eps_t);
    for (; i + 4 <= count; i += 4) {
        __m128 g = _mm_loadu_ps(grad + i);
        __m128 mm = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(vc1, g));
        __m128 vv = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(vc2, _mm_mul_ps(g, g)));
        _mm_storeu_ps(m + i, mm);
        _mm_storeu_ps(v + i, vv);
        __m128 upd = _mm_div_ps(_mm_mul_ps(vlr, mm), _mm_add_ps(_mm_sqrt_ps(vv), veps));
        _mm_storeu_ps(param + i, _mm_sub_ps(_mm_loadu_ps(param + i), upd));
    }
#endif
    for (; i < count; i++) {
        float g = grad[i];
        float mm = beta1 * m[i] + c1 * g;
        float vv = beta2 * v[i] + c2 * g * g;
        m[i] = mm;
        v[i] = vv;
        param[i] -= lr_t * mm / (recrl_sqrt(vv) + eps_t);
    }
}

void recrl_soft_update(float *restrict target, const float *restrict source, long count, float tau) {
    const float keep = 1.0f - tau;
    for (long i = 0; i < count; i++) target[i] = tau * source[i] + keep * target[i];
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
            for (long c = 0; c < cols; c++) row[c] = tanhf(row[c]);
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
