/* f32 layer_norm over one row, AVX2+FMA (nn.LayerNorm semantics).
 *
 * Contract: y[i] = (x[i] - mean) / sqrt(var + eps) * gamma[i] + beta[i], i in
 * [0, n), biased variance; gamma, beta may be NULL; n in floats, any n (0 is
 * a no-op); no alignment; y may equal x; masked tails.  Mean and variance
 * are two-pass sums in float64; the mean is split into hi + lo floats so
 * that x - mean loses nothing when x is close to the mean.
 * Accuracy: |y - exact| <= 3 ULP(|xhat gamma|) + 0.5 ULP(|y|), xhat the
 * normalised value.  NaN or inf anywhere in the row gives a row of NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

static inline __m256d lam__lo_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline __m256d lam__hi_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

void lam__f32_layer_norm_avx2(size_t n, const float *x, float *y, const float *gamma,
                              const float *beta, float eps)
{
    if (n == 0)
        return;
    const size_t nv = n & ~(size_t)7, tail = n - nv;
    const __m256i mask = lam__mask_avx2(tail);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (size_t i = 0; i < nv; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        s0 = _mm256_add_pd(s0, lam__lo_pd(v));
        s1 = _mm256_add_pd(s1, lam__hi_pd(v));
    }
    if (tail) {
        __m256 v = _mm256_maskload_ps(x + nv, mask);
        s0 = _mm256_add_pd(s0, lam__lo_pd(v));
        s1 = _mm256_add_pd(s1, lam__hi_pd(v));
    }
    const double mean = lam__hsum_pd_avx2(_mm256_add_pd(s0, s1)) / (double)n;
    const __m256d vm = _mm256_set1_pd(mean);
    s0 = s1 = _mm256_setzero_pd();
    for (size_t i = 0; i < nv; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d d0 = _mm256_sub_pd(lam__lo_pd(v), vm), d1 = _mm256_sub_pd(lam__hi_pd(v), vm);
        s0 = _mm256_fmadd_pd(d0, d0, s0);
        s1 = _mm256_fmadd_pd(d1, d1, s1);
    }
    double var = lam__hsum_pd_avx2(_mm256_add_pd(s0, s1));
    for (size_t i = nv; i < n; i++) /* masked lanes would add mean^2 */
        var += ((double)x[i] - mean) * ((double)x[i] - mean);
    var /= (double)n;
    const double rstd = 1.0 / sqrt(var + (double)eps);
    const __m256 mhi = _mm256_set1_ps((float)mean);
    const __m256 mlo = _mm256_set1_ps((float)(mean - (double)(float)mean));
    const __m256 vr = _mm256_set1_ps((float)rstd);
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
        const int full = i + 8 <= n;
        __m256 v = full ? _mm256_loadu_ps(x + i) : _mm256_maskload_ps(x + i, mask);
        __m256 g = gamma ? (full ? _mm256_loadu_ps(gamma + i) : _mm256_maskload_ps(gamma + i, mask))
                         : one;
        __m256 b = beta ? (full ? _mm256_loadu_ps(beta + i) : _mm256_maskload_ps(beta + i, mask))
                        : zero;
        __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(v, mhi), mlo), vr);
        __m256 r = _mm256_fmadd_ps(xhat, g, b);
        if (full)
            _mm256_storeu_ps(y + i, r);
        else
            _mm256_maskstore_ps(y + i, mask, r);
    }
}
