/* f32 log_softmax over one row, AVX2+FMA.
 *
 * Contract: y[i] = (x[i] - max) - log(sum_j exp(x[j] - max)), i in [0, n);
 * n in floats, any n (0 is a no-op); no alignment; y may equal x; masked
 * tails.  The sum is float64 and its log is taken in float64 once per row;
 * x - max <= 0 and the log-sum-exp >= 0, so the final subtraction never
 * cancels.  Accuracy: <= 2 ULP.  NaN or +inf anywhere, or a row of only
 * -inf, gives a row of NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"
#include "simd/x86/avx2/rowmax-avx2.h"

void lam__f32_log_softmax_avx2(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    const float max = lam__rowmax_avx2(n, x);
    const __m256 negm = _mm256_set1_ps(-max);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = lam__exp_shifted_avx2(_mm256_loadu_ps(x + i), negm);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    const size_t tail = n - i;
    const __m256i mask = lam__mask_avx2(tail);
    if (tail) {
        __m256 e = lam__exp_shifted_avx2(_mm256_maskload_ps(x + i, mask), negm);
        e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    const __m256 lse = _mm256_set1_ps((float)log(lam__hsum_pd_avx2(_mm256_add_pd(s0, s1))));
    /* y = (x - max) - lse: x - max is exact near the max (Sterbenz) and
     * otherwise rounded once; both terms are <= 0, so nothing cancels. */
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_sub_ps(_mm256_add_ps(_mm256_loadu_ps(x + i), negm), lse));
    if (tail)
        _mm256_maskstore_ps(y + i, mask,
                            _mm256_sub_ps(_mm256_add_ps(_mm256_maskload_ps(x + i, mask), negm), lse));
}
