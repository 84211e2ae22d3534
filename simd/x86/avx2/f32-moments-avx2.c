/* f32 moments, avx2: s[0] = sum (x_i - c), s[1] = sum (x_i - c)^2 in
 * float64; the 16 partial sums of the contract are the lanes of four ymm
 * accumulators (elements 0-3, 4-7, 8-11, 12-15 of every 16), the tail a
 * masked load with the missing lanes' differences zeroed (+0 changes no
 * partial sum: one is never -0).
 *
 * Contract: LAM_STATS_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: same partial sums,
 * same tree). */
#include "config.h"

#include <immintrin.h>

#include "simd/simd.h"

static inline double tree256(__m256d a0, __m256d a1, __m256d a2, __m256d a3)
{
    __m256d u = _mm256_add_pd(_mm256_add_pd(a0, a2), _mm256_add_pd(a1, a3)); /* j + 8, + 4 */
    __m128d v = _mm_add_pd(_mm256_castpd256_pd128(u), _mm256_extractf128_pd(u, 1)); /* + 2 */
    return _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v)));                    /* + 1 */
}

/* lanes [0, m) of 4: all ones */
static inline __m256d lanes4(ptrdiff_t m)
{
    __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)m), idx));
}

void lam__f32_moments_avx2(size_t n, const float *x, double c, double s[2])
{
    const __m256d vc = _mm256_set1_pd(c);
    __m256d p[4], q[4];
    for (int k = 0; k < 4; k++)
        p[k] = q[k] = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 4; k++) {
            __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * k)), vc);
            p[k] = _mm256_add_pd(p[k], d);
            q[k] = _mm256_fmadd_pd(d, d, q[k]);
        }
    if (i < n) {
        ptrdiff_t r = (ptrdiff_t)(n - i);
        for (int k = 0; k < 4 && r > 4 * k; k++) {
            __m128i m = _mm_cmpgt_epi32(_mm_set1_epi32((int)(r - 4 * k)), _mm_setr_epi32(0, 1, 2, 3));
            __m256d d = _mm256_sub_pd(_mm256_cvtps_pd(_mm_maskload_ps(x + i + 4 * k, m)), vc);
            d = _mm256_and_pd(d, lanes4(r - 4 * k));
            p[k] = _mm256_add_pd(p[k], d);
            q[k] = _mm256_fmadd_pd(d, d, q[k]);
        }
    }
    s[0] = tree256(p[0], p[1], p[2], p[3]);
    s[1] = tree256(q[0], q[1], q[2], q[3]);
}
