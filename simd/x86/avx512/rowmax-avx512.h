/* Row maximum and shifted exp for the softmax kernels (AVX-512): the max
 * ignores NaN like the scalar kernel's `x > max` scan (a NaN anywhere in the
 * row reaches the sum through exp(x - max) by itself); the tail is one
 * masked load filled with -inf. */
#ifndef LAMINA_SIMD_X86_AVX512_ROWMAX_AVX512_H
#define LAMINA_SIMD_X86_AVX512_ROWMAX_AVX512_H

#include "simd/x86/avx512/vmath-avx512.h"

LAM__INLINE float lam__rowmax_avx512(size_t n, const float *x)
{
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
    __m512 m0 = ninf, m1 = ninf;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
    }
    if (i + 16 <= n) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        i += 16;
    }
    if (i < n)
        m1 = _mm512_max_ps(_mm512_mask_loadu_ps(ninf, lam__mask_avx512(n - i), x + i), m1);
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

/* e^(x - m) with the rounding error of x - m put back (TwoSum), so that
 * results stay within a few ULP even where |x - m| is large. */
LAM__INLINE __m512 lam__exp_shifted_avx512(__m512 x, __m512 negm)
{
    __m512 d = _mm512_add_ps(x, negm);
    __m512 bb = _mm512_sub_ps(d, x);
    __m512 err = _mm512_add_ps(_mm512_sub_ps(x, _mm512_sub_ps(d, bb)), _mm512_sub_ps(negm, bb));
    /* x = -inf or an overflowing x - m make err NaN: use 0 there */
    err = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(err, err, _CMP_ORD_Q), err);
    __m512 e = lam__v16_exp(d);
    return _mm512_fmadd_ps(e, err, e);
}

/* Sum of 16 floats into two float64 accumulators. */
LAM__INLINE void lam__acc_pd_avx512(__m512 v, __m512d *s0, __m512d *s1)
{
    *s0 = _mm512_add_pd(*s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
    *s1 = _mm512_add_pd(*s1, _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
}

#endif
