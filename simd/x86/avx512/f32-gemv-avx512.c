/* f32 GEMM for M <= 2 rows (batch 1 and 2), AVX-512: the GEMV path.
 *
 * Contract: as lam__f32_gemm_avx512 (kernels.h), for M in {1, 2}.  Nothing
 * is packed or buffered: x rows are read in place and the packed W streams
 * through once (bandwidth-bound).  One row: 2 panels (128 columns, 8 zmm
 * accumulators) per pass, 8 independent FMA chains against the 4-cycle FMA
 * latency, 2 W streams prefetched 8 k ahead.  Two rows: one panel x 2
 * rows, each W load used twice.  Column tails: only the vectors holding
 * wanted columns, masked loads of bias and masked stores.  Each y element
 * is the in-order FMA chain of the blocked path (gemm-ukernel.h), so the
 * results are bit-identical to it.  Accuracy: as lam__f32_gemm_avx512. */
#include "config.h"

#include "simd/x86/avx512/gemm-avx512.h"

#define LAM__NR LAM__GEMM_NR512

/* + bias, activation, masked store of nv vectors of one row of a panel. */
LAM__INLINE void lam__gemv_store_avx512(const int nv, __m512 *c, float *y, size_t lo, size_t hi,
                                        const float *bias, lam__epilogue ep)
{
    __mmask16 m[4];
    _Pragma("GCC unroll 4")
    for (int j = 0; j < nv; j++) {
        m[j] = lam__colmask_avx512(j, lo, hi);
        if (bias)
            c[j] = _mm512_add_ps(c[j], _mm512_maskz_loadu_ps(m[j], bias + 16 * j));
    }
    if (ep.act == LAM_ACTIVATION_RELU) {
        _Pragma("GCC unroll 4")
        for (int j = 0; j < nv; j++)
            c[j] = _mm512_max_ps(_mm512_setzero_ps(), c[j]);
    } else if (ep.act != LAM_ACTIVATION_IDENTITY) {
        float t[4 * 16] __attribute__((aligned(64)));
        _Pragma("GCC unroll 4")
        for (int j = 0; j < nv; j++)
            _mm512_store_ps(t + 16 * j, c[j]);
        lam__gemm_act_avx512((size_t)nv * 16, t, ep);
        _Pragma("GCC unroll 4")
        for (int j = 0; j < nv; j++)
            c[j] = _mm512_load_ps(t + 16 * j);
    }
    _Pragma("GCC unroll 4")
    for (int j = 0; j < nv; j++)
        _mm512_mask_storeu_ps(y + 16 * j, m[j], c[j]);
}

/* One row, np panels (1 or 2) from panel p0, nv vectors of the last one. */
LAM__INLINE void lam__gemv1_avx512(const int np, const int nv, size_t K, const float *x,
                                   const float *packed, size_t p0, const float *bias, float *y,
                                   lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const size_t ps = K * LAM__NR;
    const float *b = packed + p0 * ps;
    __m512 c[2][4];
    _Pragma("GCC unroll 2")
    for (int p = 0; p < 2; p++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < 4; j++)
            c[p][j] = _mm512_setzero_ps();
    const int nv0 = np == 2 ? 4 : nv; /* vectors of the first panel */
    _Pragma("GCC unroll 2")
    for (size_t k = 0; k < K; k++, b += LAM__NR) {
        _mm_prefetch((const char *)(b + 8 * LAM__NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * LAM__NR + 32), _MM_HINT_T0);
        if (np == 2) {
            _mm_prefetch((const char *)(b + ps + 8 * LAM__NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + ps + 8 * LAM__NR + 32), _MM_HINT_T0);
        }
        const __m512 a = _mm512_set1_ps(x[k]);
        _Pragma("GCC unroll 4")
        for (int j = 0; j < 4; j++)
            if (j < nv0)
                c[0][j] = _mm512_fmadd_ps(a, _mm512_loadu_ps(b + 16 * j), c[0][j]);
        if (np == 2)
            _Pragma("GCC unroll 4")
            for (int j = 0; j < 4; j++)
                if (j < nv)
                    c[1][j] = _mm512_fmadd_ps(a, _mm512_loadu_ps(b + ps + 16 * j), c[1][j]);
    }
    _Pragma("GCC unroll 2")
    for (int p = 0; p < np; p++) {
        const size_t n0 = (p0 + (size_t)p) * LAM__NR;
        const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
        const size_t hi = n_end - n0 < LAM__NR ? n_end - n0 : LAM__NR;
        lam__gemv_store_avx512(p + 1 == np ? nv : 4, c[p], y + n0, lo, hi,
                               bias ? bias + n0 : NULL, ep);
    }
}

/* Two rows, one panel p0, nv vectors. */
LAM__INLINE void lam__gemv2_avx512(const int nv, size_t K, const float *x, size_t ldx,
                                   const float *packed, size_t p0, const float *bias, float *y,
                                   size_t ldy, lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const float *b = packed + p0 * K * LAM__NR, *x1 = x + ldx;
    __m512 c[2][4];
    _Pragma("GCC unroll 2")
    for (int r = 0; r < 2; r++)
        _Pragma("GCC unroll 4")
        for (int j = 0; j < 4; j++)
            c[r][j] = _mm512_setzero_ps();
    _Pragma("GCC unroll 2")
    for (size_t k = 0; k < K; k++, b += LAM__NR) {
        _mm_prefetch((const char *)(b + 8 * LAM__NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 8 * LAM__NR + 32), _MM_HINT_T0);
        const __m512 a0 = _mm512_set1_ps(x[k]), a1 = _mm512_set1_ps(x1[k]);
        _Pragma("GCC unroll 4")
        for (int j = 0; j < 4; j++)
            if (j < nv) {
                const __m512 w = _mm512_loadu_ps(b + 16 * j);
                c[0][j] = _mm512_fmadd_ps(a0, w, c[0][j]);
                c[1][j] = _mm512_fmadd_ps(a1, w, c[1][j]);
            }
    }
    const size_t n0 = p0 * LAM__NR;
    const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
    const size_t hi = n_end - n0 < LAM__NR ? n_end - n0 : LAM__NR;
    lam__gemv_store_avx512(nv, c[0], y + n0, lo, hi, bias ? bias + n0 : NULL, ep);
    lam__gemv_store_avx512(nv, c[1], y + ldy + n0, lo, hi, bias ? bias + n0 : NULL, ep);
}

void lam__f32_gemv_avx512(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                          const float *bias, float *y, size_t ldy, lam__epilogue ep,
                          size_t n_begin, size_t n_end)
{
    const size_t p_begin = n_begin / LAM__NR, p_end = (n_end + LAM__NR - 1) / LAM__NR;
    /* vectors of the last panel that hold wanted columns */
    const int nvl = (int)((n_end - (p_end - 1) * LAM__NR + 15) / 16);
    size_t p = p_begin;
    if (M == 1) {
        for (; p + 2 < p_end; p += 2)
            lam__gemv1_avx512(2, 4, K, x, packed, p, bias, y, ep, n_begin, n_end);
        const int np = (int)(p_end - p);
        switch (nvl + 4 * (np - 1)) {
#define LAM__CASE(np_, nv_) \
    case nv_ + 4 * (np_ - 1): lam__gemv1_avx512(np_, nv_, K, x, packed, p, bias, y, ep, n_begin, n_end); break;
        LAM__CASE(1, 1) LAM__CASE(1, 2) LAM__CASE(1, 3) LAM__CASE(1, 4)
        LAM__CASE(2, 1) LAM__CASE(2, 2) LAM__CASE(2, 3) LAM__CASE(2, 4)
#undef LAM__CASE
        default: break;
        }
    } else {
        for (; p + 1 < p_end; p++)
            lam__gemv2_avx512(4, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end);
        switch (nvl) {
        case 1: lam__gemv2_avx512(1, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        case 2: lam__gemv2_avx512(2, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        case 3: lam__gemv2_avx512(3, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        default: lam__gemv2_avx512(4, K, x, ldx, packed, p, bias, y, ldy, ep, n_begin, n_end); break;
        }
    }
}
