/* f32 GEMM tile, AVX-512: 6 rows x 64 columns (one panel, 4 zmm per row),
 * the microkernel of the AVX-512 descriptor (f32-gemm-avx512.c; contract
 * and blocking in simd/gemm/gemm-ukernel.h and f32-gemm-driver.c), and the
 * direct path (x read in place, one K block).
 *
 * 24 zmm accumulators: per k, 4 loads of W, 6 broadcasts of x, 24 FMAs
 * (the shape measured fastest on Zen 5 among 6x64, 8x48, 12x32, 14x32,
 * 8x32, 10x32, 4x64: see the commit message).  Row tails (1..5 rows) are
 * the same code with fewer rows; column tails compute only the vectors
 * that hold wanted columns and load / store them masked (no scalar loop).
 * Epilogue: + bias, then RELU inline or the elementwise kernels over the
 * tile in a stack buffer (gemm-epilogue-avx512.c).
 * Accuracy: one FMA chain per output (gemm-ukernel.h), then the
 * activation's error. */
#include "config.h"

#include "simd/x86/avx512/gemm-avx512.h"

#define LAM__MR 6
#define LAM__NV 4
#define LAM__NR LAM__GEMM_NR512

/* x element (row i, k) at a[i rs + k ks]: packed (rs 1, ks 6) or in place
 * (rs ldx, ks 1).  Rows [0, mr), vectors [0, nv) of the panel. */
LAM__INLINE void lam__tile_avx512(const int mr, const int nv, size_t kc, const float *a,
                                  const size_t rs, const size_t ks, const float *b,
                                  const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                                  int first, int last, const float *bias, lam__epilogue ep)
{
    __mmask16 m[LAM__NV];
    int full = 1;
    _Pragma("GCC unroll 4")
    for (int j = 0; j < LAM__NV; j++) {
        m[j] = lam__colmask_avx512(j, lo, hi);
        if (j < nv && m[j] != 0xFFFF)
            full = 0;
    }
    __m512 c[LAM__MR][LAM__NV];
    _Pragma("GCC unroll 6")
    for (int i = 0; i < LAM__MR; i++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < LAM__NV; j++)
            c[i][j] = i < mr && j < nv && !first ? _mm512_maskz_loadu_ps(m[j], y + i * ldy + 16 * j)
                                                 : _mm512_setzero_ps();
    _Pragma("GCC unroll 2")
    for (size_t k = 0; k < kc; k++) {
        if (pf) /* the start of the next panel's slice (one line per k, a
                 * quarter of it), into L1 while this tile runs; the
                 * hardware prefetcher follows the stream from there */
            _mm_prefetch((const char *)(pf + 16 * k), _MM_HINT_T0);
        __m512 bv[LAM__NV];
        _Pragma("GCC unroll 4")
        for (int j = 0; j < LAM__NV; j++)
            bv[j] = j < nv ? _mm512_loadu_ps(b + 16 * j) : _mm512_setzero_ps();
        _Pragma("GCC unroll 6")
        for (int i = 0; i < LAM__MR; i++) {
            if (i >= mr)
                break;
            const __m512 av = _mm512_set1_ps(a[(size_t)i * rs]);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < LAM__NV; j++)
                if (j < nv)
                    c[i][j] = _mm512_fmadd_ps(av, bv[j], c[i][j]);
        }
        a += ks;
        b += LAM__NR;
    }
    if (last) {
        if (bias)
            _Pragma("GCC unroll 4")
            for (int j = 0; j < LAM__NV; j++) {
                if (j >= nv)
                    break;
                const __m512 bj = _mm512_maskz_loadu_ps(m[j], bias + 16 * j);
                _Pragma("GCC unroll 6")
                for (int i = 0; i < LAM__MR; i++)
                    if (i < mr)
                        c[i][j] = _mm512_add_ps(c[i][j], bj);
            }
        if (ep.act == LAM_ACTIVATION_RELU) {
            _Pragma("GCC unroll 6")
            for (int i = 0; i < LAM__MR; i++)
                _Pragma("GCC unroll 4")
                for (int j = 0; j < LAM__NV; j++)
                    if (i < mr && j < nv)
                        c[i][j] = _mm512_max_ps(_mm512_setzero_ps(), c[i][j]);
        } else if (ep.act != LAM_ACTIVATION_IDENTITY) {
            /* through a buffer: c must not escape, or GCC keeps it in memory */
            float t[LAM__MR * LAM__NR] __attribute__((aligned(64)));
            _Pragma("GCC unroll 6")
            for (int i = 0; i < LAM__MR; i++)
                _Pragma("GCC unroll 4")
                for (int j = 0; j < LAM__NV; j++)
                    if (i < mr && j < nv)
                        _mm512_store_ps(t + (i * nv + j) * 16, c[i][j]);
            lam__gemm_act_avx512((size_t)(mr * nv * 16), t, ep);
            _Pragma("GCC unroll 6")
            for (int i = 0; i < LAM__MR; i++)
                _Pragma("GCC unroll 4")
                for (int j = 0; j < LAM__NV; j++)
                    if (i < mr && j < nv)
                        c[i][j] = _mm512_load_ps(t + (i * nv + j) * 16);
        }
        if (ep.add) /* the residual addend, after the activation */
            _Pragma("GCC unroll 6")
            for (int i = 0; i < LAM__MR; i++)
                _Pragma("GCC unroll 4")
                for (int j = 0; j < LAM__NV; j++)
                    if (i < mr && j < nv)
                        c[i][j] = _mm512_add_ps(
                            c[i][j], _mm512_maskz_loadu_ps(m[j], ep.add + i * ep.ldadd + 16 * j));
    }
    _Pragma("GCC unroll 6")
    for (int i = 0; i < LAM__MR; i++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < LAM__NV; j++)
            if (i < mr && j < nv) {
                if (full)
                    _mm512_storeu_ps(y + i * ldy + 16 * j, c[i][j]);
                else
                    _mm512_mask_storeu_ps(y + i * ldy + 16 * j, m[j], c[i][j]);
            }
}

#define LAM__NV_CASES(mr_, ...)                                             \
    switch ((hi + 15) / 16) {                                               \
    case 1: lam__tile_avx512(mr_, 1, __VA_ARGS__); break;                   \
    case 2: lam__tile_avx512(mr_, 2, __VA_ARGS__); break;                   \
    case 3: lam__tile_avx512(mr_, 3, __VA_ARGS__); break;                   \
    default: lam__tile_avx512(mr_, 4, __VA_ARGS__); break;                  \
    }

void lam__f32_gemm_6x64_avx512(size_t mr, size_t kc, const float *a, const float *b,
                               const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                               int flags, const float *bias, lam__epilogue ep)
{
    const int first = flags & LAM__GEMM_FIRST, last = (flags & LAM__GEMM_LAST) != 0;
    if (mr == LAM__MR && hi == LAM__NR) { /* the common case first, no test of pf per k */
        if (pf)
            lam__tile_avx512(LAM__MR, LAM__NV, kc, a, 1, LAM__MR, b, pf, y, ldy, lo, hi, first,
                             last, bias, ep);
        else
            lam__tile_avx512(LAM__MR, LAM__NV, kc, a, 1, LAM__MR, b, NULL, y, ldy, lo, hi, first,
                             last, bias, ep);
        return;
    }
    switch (mr) {
#define LAM__CASE(n) \
    case n: LAM__NV_CASES(n, kc, a, 1, LAM__MR, b, pf, y, ldy, lo, hi, first, last, bias, ep) break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4) LAM__CASE(5) LAM__CASE(6)
#undef LAM__CASE
    default: break;
    }
}

/* The direct path: each 6-row block of x, read in place, through every
 * wanted panel while its rows are in L1. */
LAM__INLINE void lam__direct_rows_avx512(const int mr, size_t K, const float *x, size_t ldx,
                                         const float *packed, const float *bias, float *y,
                                         size_t ldy, lam__epilogue ep, size_t n_begin,
                                         size_t n_end)
{
    const size_t p_begin = n_begin / LAM__NR, p_end = (n_end + LAM__NR - 1) / LAM__NR;
    for (size_t p = p_begin; p < p_end; p++) {
        const size_t n0 = p * LAM__NR;
        const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
        const size_t hi = n_end - n0 < LAM__NR ? n_end - n0 : LAM__NR;
        const float *bp = bias ? bias + n0 : NULL;
        LAM__NV_CASES(mr, K, x, ldx, 1, packed + n0 * K, NULL, y + n0, ldy, lo, hi, 1, 1, bp, ep)
    }
}

void lam__f32_gemm_direct_6x64_avx512(size_t M, size_t K, const float *x, size_t ldx,
                                      const float *packed, const float *bias, float *y,
                                      size_t ldy, lam__epilogue ep, size_t n_begin, size_t n_end)
{
    size_t i = 0;
    for (; i + LAM__MR <= M; i += LAM__MR)
        lam__direct_rows_avx512(LAM__MR, K, x + i * ldx, ldx, packed, bias, y + i * ldy, ldy, ep,
                                n_begin, n_end);
    x += i * ldx, y += i * ldy;
    switch (M - i) {
#define LAM__CASE(n) \
    case n: lam__direct_rows_avx512(n, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4) LAM__CASE(5)
#undef LAM__CASE
    default: break;
    }
}
