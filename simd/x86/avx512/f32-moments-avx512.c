/* f32 moments, avx512: s[0] = sum (x_i - c), s[1] = sum (x_i - c)^2 in
 * float64; the 16 partial sums of the contract are the lanes of two zmm
 * accumulators (elements 0-7 and 8-15 of every 16), the tail a masked load
 * whose missing lanes add +0 (a partial sum is never -0, so that changes
 * nothing).
 *
 * Contract: LAM_STATS_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: same partial sums,
 * same tree). */
#include "config.h"

#include <immintrin.h>

#include "simd/simd.h"

static inline double tree512(__m512d a, __m512d b)
{
    __m512d t = _mm512_add_pd(a, b);                                              /* j + 8 */
    __m256d u = _mm256_add_pd(_mm512_castpd512_pd256(t), _mm512_extractf64x4_pd(t, 1)); /* + 4 */
    __m128d v = _mm_add_pd(_mm256_castpd256_pd128(u), _mm256_extractf128_pd(u, 1));     /* + 2 */
    return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v)));                        /* + 1 */
}

void lam__f32_moments_avx512(size_t n, const float *x, double c, double s[2])
{
    const __m512d vc = _mm512_set1_pd(c);
    __m512d a1 = _mm512_setzero_pd(), b1 = a1, a2 = a1, b2 = a1;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512d da = _mm512_sub_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)), vc);
        __m512d db = _mm512_sub_pd(
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), vc);
        a1 = _mm512_add_pd(a1, da), b1 = _mm512_add_pd(b1, db);
        a2 = _mm512_fmadd_pd(da, da, a2), b2 = _mm512_fmadd_pd(db, db, b2);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512d da = _mm512_maskz_sub_pd((__mmask8)(m & 0xff),
                                         _mm512_cvtps_pd(_mm512_castps512_ps256(v)), vc);
        __m512d db = _mm512_maskz_sub_pd(
            (__mmask8)(m >> 8),
            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))), vc);
        a1 = _mm512_add_pd(a1, da), b1 = _mm512_add_pd(b1, db);
        a2 = _mm512_fmadd_pd(da, da, a2), b2 = _mm512_fmadd_pd(db, db, b2);
    }
    s[0] = tree512(a1, b1);
    s[1] = tree512(a2, b2);
}
