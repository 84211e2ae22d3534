/* f32 layer_norm over one row, AVX-512 (nn.LayerNorm semantics).
 *
 * Contract: y[i] = (x[i] - mean) / sqrt(var + eps) * gamma[i] + beta[i], i in
 * [0, n), biased variance; gamma, beta may be NULL; n in floats, any n (0 is
 * a no-op); no alignment; y may equal x; masked tails (the variance pass
 * masks the deviations of the lanes left out too).  Mean and variance are
 * two-pass sums in float64; the mean is split into hi + lo floats so that
 * x - mean loses nothing when x is close to the mean.
 * Accuracy: |y - exact| <= 3 ULP(|xhat gamma|) + 1 ULP(|y|), xhat the
 * normalised value.  NaN or inf anywhere in the row gives a row of NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"
#include "simd/x86/avx512/rowmax-avx512.h"

void lam__f32_layer_norm_avx512(size_t n, const float *x, float *y, const float *gamma,
                                const float *beta, float eps)
{
    if (n == 0)
        return;
    const size_t nv = n & ~(size_t)15, tail = n - nv;
    const __mmask16 mask = lam__mask_avx512(tail);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (size_t i = 0; i < nv; i += 16)
        lam__acc_pd_avx512(_mm512_loadu_ps(x + i), &s0, &s1);
    if (tail)
        lam__acc_pd_avx512(_mm512_maskz_loadu_ps(mask, x + nv), &s0, &s1);
    const double mean = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)) / (double)n;
    const __m512d vm = _mm512_set1_pd(mean);
    s0 = s1 = _mm512_setzero_pd();
    for (size_t i = 0; i < n; i += 16) {
        /* masked-off lanes would add mean^2: their deviations are zeroed */
        const __mmask16 m = i + 16 <= n ? (__mmask16)0xffff : mask;
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512d d0 = _mm512_maskz_sub_pd((__mmask8)m, _mm512_cvtps_pd(_mm512_castps512_ps256(v)), vm);
        __m512d d1 = _mm512_maskz_sub_pd((__mmask8)(m >> 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)), vm);
        s0 = _mm512_fmadd_pd(d0, d0, s0);
        s1 = _mm512_fmadd_pd(d1, d1, s1);
    }
    const double var = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1)) / (double)n;
    const double rstd = 1.0 / sqrt(var + (double)eps);
    const __m512 mhi = _mm512_set1_ps((float)mean);
    const __m512 mlo = _mm512_set1_ps((float)(mean - (double)(float)mean));
    const __m512 vr = _mm512_set1_ps((float)rstd);
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        const __mmask16 m = i + 16 <= n ? (__mmask16)0xffff : mask;
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 g = gamma ? _mm512_mask_loadu_ps(one, m, gamma + i) : one;
        __m512 b = beta ? _mm512_maskz_loadu_ps(m, beta + i) : zero;
        __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(v, mhi), mlo), vr);
        _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(xhat, g, b));
    }
}
