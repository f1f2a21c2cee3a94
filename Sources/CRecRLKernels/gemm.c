// RecRL's own single-threaded SGEMM for x86-64 CPUs, in two builds: AVX-512F and AVX2 + FMA.
//
// Row-major C = alpha * op(A) * op(B) + beta * C, blocked the BLIS way: op(B) is packed
// in KC x NC blocks of NR-column micro-panels (a copy, or in-register transposes when B is
// transposed), MR rows of op(A) at a time into an MR x kc micro-panel (8 x 8 in-register
// transposes for a row-major A), and an MR x NR register-blocked micro-kernel multiplies the
// A micro-panel with each B micro-panel:
// - AVX-512F: 8 x 32 (16 zmm accumulators), B blocks of 256 x 512. Eight rows divide the
//   batch sizes and layer widths of RecRL's networks, so no work is wasted there.
// - AVX2 + FMA: 6 x 16 (12 of the 16 ymm registers accumulate, two hold B, one A; the
//   BLIS shape for Haswell and Zen), B blocks of 256 x 256 (fits a 512 KB L2).
// Partial blocks are handled with masks. Each element of C is the same sum in the same
// order wherever it falls in a block, so any split of a product into row or column ranges
// gives the same bits as the whole product in one call (the two-lane update relies on it).
// The packing buffers are allocated once per thread (64-byte aligned), reused by every
// later call and freed when the thread exits, so warm calls never touch the heap.
//
// The functions are compiled for their instruction sets with target attributes (no
// command-line flags), and recrl_sgemm_best_kernel() tells at run time which one the CPU runs.
#include "CRecRLKernels.h"
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <pthread.h>
#define RECRL_GEMM_X86 1
#endif

#define RECRL_MR 8
#define RECRL_NR 32
#define RECRL_KC 256
#define RECRL_NC 512
#define Y_MR 6
#define Y_NR 16
#define Y_NC 256

#if RECRL_GEMM_X86

#define AVX512 __attribute__((target("avx512f")))
#define AVX2 __attribute__((target("avx2,fma")))

static pthread_key_t workspace_key;
static pthread_once_t workspace_once = PTHREAD_ONCE_INIT;

static void workspace_free(void *p) { free(p); }
static void workspace_init(void) { pthread_key_create(&workspace_key, workspace_free); }

/// The calling thread's packing buffers: [KC*NC] for B, then [MR*KC] for A (the AVX-512
/// kernel's sizes, which hold the AVX2 kernel's too).
static float *workspace(void) {
    pthread_once(&workspace_once, workspace_init);
    float *w = (float *)pthread_getspecific(workspace_key);
    if (w == NULL) {
        size_t bytes = sizeof(float) * ((size_t)RECRL_KC * RECRL_NC + (size_t)RECRL_MR * RECRL_KC);
        if (posix_memalign((void **)&w, 64, bytes) != 0) return NULL;
        pthread_setspecific(workspace_key, w);
    }
    return w;
}

static int detect_best_kernel(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return RECRL_SGEMM_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return RECRL_SGEMM_AVX2;
    return RECRL_SGEMM_NONE;
}

int recrl_sgemm_best_kernel(void) {
    static _Atomic int state = -1;
    int s = state;
    if (s < 0) state = s = detect_best_kernel();
    return s;
}

/// Whether this CPU runs `kernel` (AVX-512F CPUs also run the AVX2 build).
static int kernel_runs(int kernel) {
    int best = recrl_sgemm_best_kernel();
    return (kernel == RECRL_SGEMM_AVX512 && best == RECRL_SGEMM_AVX512)
        || (kernel == RECRL_SGEMM_AVX2 && best != RECRL_SGEMM_NONE);
}

int recrl_sgemm_prepare(void) { return recrl_sgemm_best_kernel() != RECRL_SGEMM_NONE && workspace() != NULL ? 1 : 0; }

/// dst[q*ldd + r] = src[r*lds + q] for a 16 x 16 block (an in-register transpose).
AVX512 static inline void transpose16(const float *src, long lds, float *dst, long ldd) {
    __m512 t[16], u[16];
    for (int r = 0; r < 16; r += 2) {
        __m512 x = _mm512_loadu_ps(src + r * lds), y = _mm512_loadu_ps(src + (r + 1) * lds);
        t[r] = _mm512_unpacklo_ps(x, y);
        t[r + 1] = _mm512_unpackhi_ps(x, y);
    }
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88), v1 = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xDD);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88), v3 = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xDD);
        _mm512_storeu_ps(dst + q * ldd, _mm512_shuffle_f32x4(v0, v2, 0x88));
        _mm512_storeu_ps(dst + (q + 8) * ldd, _mm512_shuffle_f32x4(v0, v2, 0xDD));
        _mm512_storeu_ps(dst + (q + 4) * ldd, _mm512_shuffle_f32x4(v1, v3, 0x88));
        _mm512_storeu_ps(dst + (q + 12) * ldd, _mm512_shuffle_f32x4(v1, v3, 0xDD));
    }
}

/// Copies `rows` rows (row stride ldb) of `full + rest` columns into the NR-column
/// micro-panels of a kc-deep packed block at `dst` (zero past the last column).
AVX512 static inline __attribute__((always_inline)) void pack_b_rows(const float *s, long ldb, float *dst, long kc,
                                                                     long full, long rest, int rows) {
    for (long jr = 0; jr < full; jr += RECRL_NR) {
        float *d = dst + jr * kc;
        for (int q = 0; q < rows; q++) {
            _mm512_store_ps(d + q * RECRL_NR, _mm512_loadu_ps(s + q * ldb + jr));
            _mm512_store_ps(d + q * RECRL_NR + 16, _mm512_loadu_ps(s + q * ldb + jr + 16));
        }
    }
    if (rest > 0) {
        __mmask16 m0 = (__mmask16)(rest >= 16 ? 0xFFFF : ((1u << rest) - 1));
        __mmask16 m1 = (__mmask16)(rest <= 16 ? 0 : ((1u << (rest - 16)) - 1));
        float *d = dst + full * kc;
        for (int q = 0; q < rows; q++) {
            _mm512_store_ps(d + q * RECRL_NR, _mm512_maskz_loadu_ps(m0, s + q * ldb + full));
            _mm512_store_ps(d + q * RECRL_NR + 16, _mm512_maskz_loadu_ps(m1, s + q * ldb + full + 16));
        }
    }
}

/// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-column micro-panels:
/// panel j holds, for each depth index, NR consecutive columns (zero past nc).
AVX512 static void pack_b(int transB, const float *b, long ldb, long p0, long j0, long kc, long nc, float *dst) {
    if (!transB) {
        // op(B)[p][j] = b[p*ldb + j], each row read contiguously (the hardware prefetcher
        // streams it). Row by row, one row's writes go to every micro-panel, kc * NR floats
        // apart, in the same two L1 sets of 8 lines each. Past 8 panels that thrashed (two
        // thirds of the packing time on the medium shapes), so wider blocks go eight rows
        // at a time, written as 1 KB runs into each panel in turn; up to 8 panels row by row
        // measured faster (paper, one lane: +5%).
        long full = nc / RECRL_NR * RECRL_NR, rest = nc - full;
        long p = 0;
        if (nc > 8 * RECRL_NR)
            for (; p + 8 <= kc; p += 8) pack_b_rows(b + (p0 + p) * ldb + j0, ldb, dst + p * RECRL_NR, kc, full, rest, 8);
        for (; p < kc; p++) pack_b_rows(b + (p0 + p) * ldb + j0, ldb, dst + p * RECRL_NR, kc, full, rest, 1);
        return;
    }
    for (long jr = 0; jr < nc; jr += RECRL_NR) {
        long nr = nc - jr < RECRL_NR ? nc - jr : RECRL_NR;
        // op(B)[p][j] = b[j*ldb + p]: column j of op(B) is row j of b (contiguous in p).
        const float *src = b + (j0 + jr) * ldb + p0;
        long p = 0;
        if (nr == RECRL_NR) {
            for (; p + 16 <= kc; p += 16) {
                transpose16(src + p, ldb, dst, RECRL_NR);
                transpose16(src + 16 * ldb + p, ldb, dst + 16, RECRL_NR);
                dst += 16 * RECRL_NR;
            }
        }
        for (; p < kc; p++) {
            long c = 0;
            for (; c < nr; c++) dst[c] = src[c * ldb + p];
            for (; c < RECRL_NR; c++) dst[c] = 0;
            dst += RECRL_NR;
        }
    }
}

#define ROW_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define ALL_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/// out[q] = (r[0][q], ..., r[7][q]): an 8 x 8 in-register transpose (AVX; both builds use it).
AVX2 static inline __attribute__((always_inline)) void transpose8(const __m256 r[8], __m256 out[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    out[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    out[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    out[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    out[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    out[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    out[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    out[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    out[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/// Packs rows [0, mr) x depth [0, kc) of op(A), element (r, p) at a[r*rs + p*cs], into
/// dst[p*MR + r] (zero for rows past mr). Rows of a row-major A (cs == 1) are transposed
/// 8 x 8 in registers; a transposed A (rs == 1) has the MR values of a depth contiguous.
AVX512 static void pack_a(const float *a, long rs, long cs, long mr, long kc, float *dst) {
    long p = 0;
    if (cs == 1 && mr == RECRL_MR) {
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8], t[8];
            for (int q = 0; q < RECRL_MR; q++) r[q] = _mm256_loadu_ps(a + q * rs + p);
            transpose8(r, t);
            for (int q = 0; q < 8; q++) _mm256_store_ps(dst + (p + q) * RECRL_MR, t[q]);
        }
    } else if (rs == 1 && mr == RECRL_MR) {
        for (; p < kc; p++) _mm256_store_ps(dst + p * RECRL_MR, _mm256_loadu_ps(a + p * cs));
    }
    for (; p < kc; p++)
        for (long r = 0; r < RECRL_MR; r++) dst[p * RECRL_MR + r] = r < mr ? a[r * rs + p * cs] : 0;
}

#define ROW_FMA(r)                                   \
    {                                                \
        __m512 av = _mm512_set1_ps(a[r]);            \
        c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);  \
        c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);  \
    }
#define ROW_INIT(r) {c##r##0, c##r##1},
/* A whole 8 x 32 tile: straight from the accumulators (alpha 1 multiplies by nothing,
   which gives the same bits as multiplying by 1). */
#define ROW_STORE(r)                                                      \
    {                                                                     \
        float *cr = c + (r) * ldc;                                        \
        __m512 x0 = c##r##0, x1 = c##r##1;                                \
        if (alpha != 1.0f) {                                              \
            x0 = _mm512_mul_ps(va, x0);                                   \
            x1 = _mm512_mul_ps(va, x1);                                   \
        }                                                                 \
        if (beta != 0) {                                                  \
            x0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr), x0);            \
            x1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr + 16), x1);       \
        }                                                                 \
        _mm512_storeu_ps(cr, x0);                                         \
        _mm512_storeu_ps(cr + 16, x1);                                    \
    }

/// The 8 x 32 micro-kernel: acc = packedA(8 x kc) * packedB(kc x 32), then
/// C[mr x nr] = alpha * acc + beta * C (beta == 0 never reads C).
AVX512 static void micro_kernel(long kc, const float *restrict a, const float *restrict b, float *c, long ldc,
                                float alpha, float beta, long mr, long nr) {
    ALL_ROWS(ROW_DECL)
    for (long p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        ALL_ROWS(ROW_FMA)
        a += RECRL_MR;
        b += RECRL_NR;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (mr == RECRL_MR && nr == RECRL_NR) {
        ALL_ROWS(ROW_STORE)
        return;
    }
    __m512 acc[RECRL_MR][2] = {ALL_ROWS(ROW_INIT)};
    __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xFFFF : ((1u << nr) - 1));
    __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : ((1u << (nr - 16)) - 1));
    for (long r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        __m512 x0 = _mm512_mul_ps(va, acc[r][0]), x1 = _mm512_mul_ps(va, acc[r][1]);
        if (beta != 0) {
            x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), x0);
            x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), x1);
        }
        _mm512_mask_storeu_ps(cr, m0, x0);
        _mm512_mask_storeu_ps(cr + 16, m1, x1);
    }
}

// ---- AVX2 + FMA: 6 x 16 ------------------------------------------------------------

/// Lanes [0, count) set (count clamped to 0...8): a mask for maskload/maskstore.
AVX2 static inline __m256i lanes_below(long count) {
    long n = count < 0 ? 0 : count > 8 ? 8 : count;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Copies `rows` rows (row stride ldb) of `full + rest` columns into the 16-column
/// micro-panels of a kc-deep packed block at `dst` (zero past the last column).
AVX2 static inline __attribute__((always_inline)) void pack_b_rows_y(const float *s, long ldb, float *dst, long kc,
                                                                     long full, long rest, int rows) {
    for (long jr = 0; jr < full; jr += Y_NR) {
        float *d = dst + jr * kc;
        for (int q = 0; q < rows; q++) {
            _mm256_store_ps(d + q * Y_NR, _mm256_loadu_ps(s + q * ldb + jr));
            _mm256_store_ps(d + q * Y_NR + 8, _mm256_loadu_ps(s + q * ldb + jr + 8));
        }
    }
    if (rest > 0) {
        __m256i m0 = lanes_below(rest), m1 = lanes_below(rest - 8);
        float *d = dst + full * kc;
        for (int q = 0; q < rows; q++) {
            _mm256_store_ps(d + q * Y_NR, _mm256_maskload_ps(s + q * ldb + full, m0));
            _mm256_store_ps(d + q * Y_NR + 8, _mm256_maskload_ps(s + q * ldb + full + 8, m1));
        }
    }
}

/// pack_b for 16-column micro-panels (see pack_b; 8 x 8 transposes when B is transposed).
AVX2 static void pack_b_y(int transB, const float *b, long ldb, long p0, long j0, long kc, long nc, float *dst) {
    if (!transB) {
        // Eight rows at a time past 8 panels, for the same L1-set reason as pack_b.
        long full = nc / Y_NR * Y_NR, rest = nc - full;
        long p = 0;
        if (nc > 8 * Y_NR)
            for (; p + 8 <= kc; p += 8) pack_b_rows_y(b + (p0 + p) * ldb + j0, ldb, dst + p * Y_NR, kc, full, rest, 8);
        for (; p < kc; p++) pack_b_rows_y(b + (p0 + p) * ldb + j0, ldb, dst + p * Y_NR, kc, full, rest, 1);
        return;
    }
    for (long jr = 0; jr < nc; jr += Y_NR) {
        long nr = nc - jr < Y_NR ? nc - jr : Y_NR;
        const float *src = b + (j0 + jr) * ldb + p0;
        long p = 0;
        if (nr == Y_NR) {
            for (; p + 8 <= kc; p += 8) {
                for (int h = 0; h < 2; h++) {
                    __m256 r[8], t[8];
                    for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(src + (8 * h + q) * ldb + p);
                    transpose8(r, t);
                    for (int q = 0; q < 8; q++) _mm256_store_ps(dst + q * Y_NR + 8 * h, t[q]);
                }
                dst += 8 * Y_NR;
            }
        }
        for (; p < kc; p++) {
            long c = 0;
            for (; c < nr; c++) dst[c] = src[c * ldb + p];
            for (; c < Y_NR; c++) dst[c] = 0;
            dst += Y_NR;
        }
    }
}

/// pack_a for 6-row micro-panels: dst[p*6 + r] = a[r*rs + p*cs] (zero past mr). The vector
/// paths store 8 lanes per depth; the two extra floats land where the next depth goes (after
/// the last depth, inside the buffer, which holds 8 * KC floats).
AVX2 static void pack_a_y(const float *a, long rs, long cs, long mr, long kc, float *dst) {
    long p = 0;
    if (cs == 1 && mr == Y_MR) {
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8], t[8];
            for (int q = 0; q < Y_MR; q++) r[q] = _mm256_loadu_ps(a + q * rs + p);
            r[6] = r[7] = _mm256_setzero_ps();
            transpose8(r, t);
            for (int q = 0; q < 8; q++) _mm256_storeu_ps(dst + (p + q) * Y_MR, t[q]);
        }
    } else if (rs == 1 && mr == Y_MR) {
        __m256i six = lanes_below(Y_MR);
        for (; p < kc; p++) _mm256_storeu_ps(dst + p * Y_MR, _mm256_maskload_ps(a + p * cs, six));
    }
    for (; p < kc; p++)
        for (long r = 0; r < Y_MR; r++) dst[p * Y_MR + r] = r < mr ? a[r * rs + p * cs] : 0;
}

#define Y_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define Y_ROW_DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define Y_ROW_FMA(r)                                 \
    {                                                \
        __m256 av = _mm256_broadcast_ss(a + (r));    \
        c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);  \
        c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);  \
    }
#define Y_ROW_INIT(r) {c##r##0, c##r##1},
#define Y_ROW_STORE(r)                                                    \
    {                                                                     \
        float *cr = c + (r) * ldc;                                        \
        __m256 x0 = c##r##0, x1 = c##r##1;                                \
        if (alpha != 1.0f) {                                              \
            x0 = _mm256_mul_ps(va, x0);                                   \
            x1 = _mm256_mul_ps(va, x1);                                   \
        }                                                                 \
        if (beta != 0) {                                                  \
            x0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), x0);            \
            x1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), x1);        \
        }                                                                 \
        _mm256_storeu_ps(cr, x0);                                         \
        _mm256_storeu_ps(cr + 8, x1);                                     \
    }

/// The 6 x 16 micro-kernel: acc = packedA(6 x kc) * packedB(kc x 16), then
/// C[mr x nr] = alpha * acc + beta * C (beta == 0 never reads C).
AVX2 static void micro_kernel_y(long kc, const float *restrict a, const float *restrict b, float *c, long ldc,
                                float alpha, float beta, long mr, long nr) {
    Y_ROWS(Y_ROW_DECL)
    for (long p = 0; p < kc; p++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        Y_ROWS(Y_ROW_FMA)
        a += Y_MR;
        b += Y_NR;
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mr == Y_MR && nr == Y_NR) {
        Y_ROWS(Y_ROW_STORE)
        return;
    }
    __m256 acc[Y_MR][2] = {Y_ROWS(Y_ROW_INIT)};
    __m256i m0 = lanes_below(nr), m1 = lanes_below(nr - 8);
    for (long r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        __m256 x0 = _mm256_mul_ps(va, acc[r][0]), x1 = _mm256_mul_ps(va, acc[r][1]);
        if (beta != 0) {
            x0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, m0), x0);
            x1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8, m1), x1);
        }
        _mm256_maskstore_ps(cr, m0, x0);
        _mm256_maskstore_ps(cr + 8, m1, x1);
    }
}

/// One build of the kernel: its block sizes and its packing and micro-kernel functions.
typedef struct {
    long mr, nr, nc;
    void (*pack_b)(int transB, const float *b, long ldb, long p0, long j0, long kc, long nc, float *dst);
    void (*pack_a)(const float *a, long rs, long cs, long mr, long kc, float *dst);
    void (*micro)(long kc, const float *restrict a, const float *restrict b, float *c, long ldc, float alpha,
                  float beta, long mr, long nr);
} gemm_build;

static const gemm_build build_avx512 = {RECRL_MR, RECRL_NR, RECRL_NC, pack_b, pack_a, micro_kernel};
static const gemm_build build_avx2 = {Y_MR, Y_NR, Y_NC, pack_b_y, pack_a_y, micro_kernel_y};

/// The blocked product with one build (pb: KC x NC floats, pa: MR x KC; op(A)[i][p] = a[i*rs + p*cs]).
static void sgemm_blocked(const gemm_build *g, int transB, long m, long n, long k, float alpha, const float *a,
                          long rs, long cs, const float *b, long ldb, float beta, float *c, long ldc, float *pb,
                          float *pa) {
    for (long jc = 0; jc < n; jc += g->nc) {
        long nc = n - jc < g->nc ? n - jc : g->nc;
        for (long pc = 0; pc < k; pc += RECRL_KC) {
            long kc = k - pc < RECRL_KC ? k - pc : RECRL_KC;
            float bk = pc == 0 ? beta : 1.0f;
            g->pack_b(transB, b, ldb, pc, jc, kc, nc, pb);
            for (long ir = 0; ir < m; ir += g->mr) {
                long mr = m - ir < g->mr ? m - ir : g->mr;
                g->pack_a(a + ir * rs + pc * cs, rs, cs, mr, kc, pa);
                for (long jr = 0; jr < nc; jr += g->nr) {
                    long nr = nc - jr < g->nr ? nc - jr : g->nr;
                    g->micro(kc, pa, pb + jr * kc, c + ir * ldc + jc + jr, ldc, alpha, bk, mr, nr);
                }
            }
        }
    }
}

int recrl_sgemm(int kernel, int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                const float *b, long ldb, float beta, float *c, long ldc) {
    if (!kernel_runs(kernel)) return 0;
    if (m <= 0 || n <= 0) return 1;
    float *ws = workspace();
    if (ws == NULL) return 0;
    if (k <= 0 || alpha == 0) {
        for (long i = 0; i < m; i++) {
            float *ci = c + i * ldc;
            if (beta == 0) memset(ci, 0, sizeof(float) * (size_t)n);
            else for (long j = 0; j < n; j++) ci[j] *= beta;
        }
        return 1;
    }
    float *pb = ws, *pa = ws + (size_t)RECRL_KC * RECRL_NC;
    // op(A)[i][p] = a[i*rs + p*cs].
    long rs = transA ? 1 : lda, cs = transA ? lda : 1;
    sgemm_blocked(kernel == RECRL_SGEMM_AVX512 ? &build_avx512 : &build_avx2, transB, m, n, k, alpha, a, rs, cs, b,
                  ldb, beta, c, ldc, pb, pa);
    return 1;
}

#else

int recrl_sgemm_best_kernel(void) { return RECRL_SGEMM_NONE; }

int recrl_sgemm_prepare(void) { return 0; }

int recrl_sgemm(int kernel, int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
                const float *b, long ldb, float beta, float *c, long ldc) {
    (void)kernel; (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return 0;
}

#endif
