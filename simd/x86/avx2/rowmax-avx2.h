/* Row maximum for the softmax kernels (AVX2): NaN-ignoring like the scalar
 * kernel's `x > max` scan, except that the result only has to make a NaN
 * anywhere in the row reach the sum, which exp(x - max) does by itself. */
#ifndef LAMINA_SIMD_X86_AVX2_ROWMAX_AVX2_H
#define LAMINA_SIMD_X86_AVX2_ROWMAX_AVX2_H

#include "simd/x86/avx2/vmath-avx2.h"

LAM__INLINE float lam__rowmax_avx2(size_t n, const float *x)
{
    __m256 m0 = _mm256_set1_ps(-__builtin_inff()), m1 = m0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
    }
    if (i + 8 <= n) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
        i += 8;
    }
    m0 = _mm256_max_ps(m0, m1);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float m = _mm_cvtss_f32(h);
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* e^(x - m) with the rounding error of x - m put back (TwoSum), so that
 * results stay within a few ULP even where |x - m| is large. */
LAM__INLINE __m256 lam__exp_shifted_avx2(__m256 x, __m256 negm)
{
    __m256 d = _mm256_add_ps(x, negm);
    __m256 bb = _mm256_sub_ps(d, x);
    __m256 err = _mm256_add_ps(_mm256_sub_ps(x, _mm256_sub_ps(d, bb)), _mm256_sub_ps(negm, bb));
    /* x = -inf or an overflowing x - m make err NaN: use 0 there */
    err = _mm256_and_ps(err, _mm256_cmp_ps(err, err, _CMP_ORD_Q));
    __m256 e = Sleef_expf8_u10avx2(d);
    return _mm256_fmadd_ps(e, err, e);
}

#endif
