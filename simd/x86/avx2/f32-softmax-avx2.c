/* f32 softmax over one row, AVX2+FMA.
 *
 * Contract: y[i] = exp(x[i] - max) / sum_j exp(x[j] - max), i in [0, n); n in
 * floats, any n (0 is a no-op); no alignment; y may equal x; masked tails.
 * Three passes: max; e = exp(x - max) stored to y, summed in float64; scale
 * by 1/sum.  Accuracy: <= 3 ULP on normal results (exp u10 with the x - max
 * rounding error compensated, float64 sum, one reciprocal, one multiply).
 * A NaN or +inf anywhere, or a row of only -inf, gives a row of NaN. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/rowmax-avx2.h"

void lam__f32_softmax_avx2(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    const __m256 negm = _mm256_set1_ps(-lam__rowmax_avx2(n, x));
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = lam__exp_shifted_avx2(_mm256_loadu_ps(x + i), negm);
        _mm256_storeu_ps(y + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    const size_t tail = n - i;
    const __m256i mask = lam__mask_avx2(tail);
    if (tail) {
        /* masked-off lanes would be exp(0 - max): zero them before the sum */
        __m256 e = lam__exp_shifted_avx2(_mm256_maskload_ps(x + i, mask), negm);
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        _mm256_maskstore_ps(y + i, mask, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    const __m256 r = _mm256_set1_ps((float)(1.0 / lam__hsum_pd_avx2(_mm256_add_pd(s0, s1))));
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(y + i), r));
    if (tail)
        _mm256_maskstore_ps(y + i, mask, _mm256_mul_ps(_mm256_maskload_ps(y + i, mask), r));
}
