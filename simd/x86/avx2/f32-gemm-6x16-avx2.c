/* f32 GEMM tile, AVX2+FMA: 6 rows x 16 columns (one panel), the
 * microkernel of the AVX2 descriptor (f32-gemm-avx2.c; contract and
 * blocking in simd/gemm/gemm-ukernel.h and f32-gemm-driver.c).
 *
 * 12 ymm accumulators: per k, 2 loads of W, 6 broadcasts of x, 12 FMAs.
 * Row tails (1..5 rows) are the same code with fewer rows; column tails
 * compute the full panel (zero padded) and store masked; the epilogue (bias
 * + activation, gemm-epilogue-avx2.c) runs on the tile's registers before
 * the store.  The direct path (lam__f32_gemm_direct_6x16_avx2, x read in
 * place, one K block) runs the same tile through every panel; a
 * panel whose wanted columns lie in 0..7 runs the lower half only, and
 * bias + ReLU / none is stored inline (tiny layers: no epilogue call).
 * Accuracy: one FMA chain per output (gemm-ukernel.h), then the
 * activation's error (vmath-avx2.h). */
#include "config.h"

#include "simd/gemm/gemm-ukernel.h"
#include "simd/x86/avx2/gemm-avx2.h"

#define LAM__MR 6

/* The accumulators are named locals, not an array: the tile array escapes
 * to the (out-of-line) epilogue, and GCC would then keep it in memory. */
#define LAM__ROW(i)                                                         \
    if (mr > i) {                                                           \
        const __m256 ai = _mm256_broadcast_ss(a + i * rs);                  \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                         \
        if (nh == 2)                                                        \
            c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                     \
    }
#define LAM__IN(i)                                                          \
    __m256 c##i##0 = mr > i && !z ? c[2 * i] : _mm256_setzero_ps();         \
    __m256 c##i##1 = mr > i && !z ? c[2 * i + 1] : _mm256_setzero_ps();
#define LAM__OUT(i)                                                         \
    if (mr > i) {                                                           \
        c[2 * i] = c##i##0;                                                 \
        c[2 * i + 1] = c##i##1;                                             \
    }

/* x element (row i, k) at a[i * rs + k * ks]: packed (rs 1, ks 6) or read
 * in place (rs ldx, ks 1).  z: start from 0 rather than from c.  nh: halves
 * of the panel computed (2, or 1 when only columns 0..7 are wanted; c[2 i +
 * 1] is then 0 or as it was).  pf: the next W micro-panel (same k range),
 * fetched into L1 one line per k while the last tile of this one runs, or
 * NULL. */
LAM__INLINE void lam__ukr_avx2(const int mr, const int z, const int nh, size_t kc, const float *a,
                               const size_t rs, const size_t ks, const float *b, const float *pf,
                               __m256 *c)
{
    LAM__IN(0) LAM__IN(1) LAM__IN(2) LAM__IN(3) LAM__IN(4) LAM__IN(5)
#pragma GCC unroll 4
    for (size_t k = 0; k < kc; k++) {
        if (pf)
            _mm_prefetch((const char *)(pf + k * LAM__GEMM_NR), _MM_HINT_T0);
        const __m256 b0 = _mm256_loadu_ps(b), b1 = nh == 2 ? _mm256_loadu_ps(b + 8) : b0;
        LAM__ROW(0) LAM__ROW(1) LAM__ROW(2) LAM__ROW(3) LAM__ROW(4) LAM__ROW(5)
        a += ks;
        b += LAM__GEMM_NR;
    }
    LAM__OUT(0) LAM__OUT(1) LAM__OUT(2) LAM__OUT(3) LAM__OUT(4) LAM__OUT(5)
}
#undef LAM__ROW
#undef LAM__IN
#undef LAM__OUT

LAM__INLINE void lam__tile_avx2(const int mr, size_t kc, const float *a, const float *b,
                                const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                                int first, int last, const float *bias, lam__epilogue ep)
{
    __m256 c[2 * LAM__MR];
    if (first)
        for (int i = 0; i < 2 * mr; i++)
            c[i] = _mm256_setzero_ps();
    else
        lam__gemm_load_tile_avx2(mr, c, y, ldy, lo, hi);
    if (pf)
        lam__ukr_avx2(mr, 0, 2, kc, a, 1, LAM__MR, b, pf, c);
    else
        lam__ukr_avx2(mr, 0, 2, kc, a, 1, LAM__MR, b, NULL, c);
    lam__gemm_store_tile_avx2(mr, c, y, ldy, lo, hi, last, bias, ep);
}

/* Direct (x in place, FIRST | LAST): half panels and the inline epilogue. */
LAM__INLINE void lam__tile_direct_avx2(const int mr, size_t K, const float *x, size_t ldx,
                                       const float *b, float *y, size_t ldy, size_t lo,
                                       size_t hi, const float *bias, lam__epilogue ep)
{
    const int simple = ep.act == LAM_ACTIVATION_IDENTITY || ep.act == LAM_ACTIVATION_RELU;
    __m256 c[2 * LAM__MR];
    if (hi <= 8)
        lam__ukr_avx2(mr, 1, 1, K, x, ldx, 1, b, NULL, c);
    else
        lam__ukr_avx2(mr, 1, 2, K, x, ldx, 1, b, NULL, c);
    if (simple && lo == 0 && (hi == LAM__GEMM_NR || hi <= 8)) {
        /* tiny layers: inline bias + ReLU, the same arithmetic as the
         * epilogue (gemm-epilogue-avx2.c), no call */
        const __m256i m0 = lam__colmask_avx2(0, 0, hi);
        const int h2 = hi == LAM__GEMM_NR;
        const __m256 b0 = bias ? _mm256_maskload_ps(bias, m0) : _mm256_setzero_ps();
        const __m256 b1 = bias && h2 ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
        for (int i = 0; i < mr; i++) {
            __m256 v0 = c[2 * i], v1 = c[2 * i + 1];
            if (bias) {
                v0 = _mm256_add_ps(v0, b0);
                v1 = _mm256_add_ps(v1, b1);
            }
            if (ep.act == LAM_ACTIVATION_RELU) {
                v0 = lam__v_relu(v0);
                v1 = lam__v_relu(v1);
            }
            float *yp = y + i * ldy;
            if (h2) {
                _mm256_storeu_ps(yp, v0);
                _mm256_storeu_ps(yp + 8, v1);
            } else {
                _mm256_maskstore_ps(yp, m0, v0);
            }
        }
    } else {
        lam__gemm_store_tile_avx2(mr, c, y, ldy, lo, hi, 1, bias, ep);
    }
}

void lam__f32_gemm_6x16_avx2(size_t mr, size_t kc, const float *a, const float *b,
                             const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                             int flags, const float *bias, lam__epilogue ep)
{
    const int first = flags & LAM__GEMM_FIRST, last = (flags & LAM__GEMM_LAST) != 0;
    if (mr == LAM__MR) { /* the common case first */
        lam__tile_avx2(LAM__MR, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep);
        return;
    }
    switch (mr) {
#define LAM__CASE(n) \
    case n: lam__tile_avx2(n, kc, a, b, pf, y, ldy, lo, hi, first, last, bias, ep); break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4) LAM__CASE(5)
#undef LAM__CASE
    default: break;
    }
}

/* The direct path (lam__gemm_rows_fn, one K block): x read in place, each
 * 6-row block through every wanted panel in turn. */
LAM__INLINE void lam__direct_rows_avx2(const int mr, size_t K, const float *x, size_t ldx,
                                       const float *packed, const float *bias, float *y,
                                       size_t ldy, lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const size_t p_begin = n_begin / LAM__GEMM_NR, p_end = (n_end + LAM__GEMM_NR - 1) / LAM__GEMM_NR;
    for (size_t p = p_begin; p < p_end; p++) {
        const size_t n0 = p * LAM__GEMM_NR;
        const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
        const size_t hi = n_end - n0 < LAM__GEMM_NR ? n_end - n0 : LAM__GEMM_NR;
        lam__tile_direct_avx2(mr, K, x, ldx, packed + n0 * K, y + n0, ldy, lo, hi,
                              bias ? bias + n0 : NULL, ep);
    }
}

void lam__f32_gemm_direct_6x16_avx2(size_t M, size_t K, const float *x, size_t ldx,
                                    const float *packed, const float *bias, float *y, size_t ldy,
                                    lam__epilogue ep, size_t n_begin, size_t n_end)
{
    size_t i = 0;
    for (; i + LAM__MR <= M; i += LAM__MR)
        lam__direct_rows_avx2(LAM__MR, K, x + i * ldx, ldx, packed, bias, y + i * ldy, ldy, ep,
                              n_begin, n_end);
    x += i * ldx, y += i * ldy;
    switch (M - i) {
#define LAM__CASE(n) \
    case n: lam__direct_rows_avx2(n, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end); break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4) LAM__CASE(5)
#undef LAM__CASE
    default: break;
    }
}
