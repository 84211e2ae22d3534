/* f32 log_softmax over one row, AVX-512.
 *
 * Contract: y[i] = (x[i] - max) - log(sum_j exp(x[j] - max)), i in [0, n);
 * n in floats, any n (0 is a no-op); no alignment; y may equal x; masked
 * tails.  The sum is float64 and its log is taken in float64 once per row;
 * x - max <= 0 and the log-sum-exp >= 0, so the final subtraction never
 * cancels.  Accuracy: <= 3 ULP (kernel-list.h; 2 expected).  NaN or +inf
 * anywhere, or a row of only -inf, gives a row of NaN. */
#include "config.h"

#include <math.h>

#include "simd/simd.h"
#include "simd/x86/avx512/rowmax-avx512.h"

void lam__f32_log_softmax_avx512(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    const __m512 negm = _mm512_set1_ps(-lam__rowmax_avx512(n, x));
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        lam__acc_pd_avx512(lam__exp_shifted_avx512(_mm512_loadu_ps(x + i), negm), &s0, &s1);
    const size_t tail = n - i;
    const __mmask16 mask = lam__mask_avx512(tail);
    if (tail)
        lam__acc_pd_avx512(_mm512_maskz_mov_ps(mask, lam__exp_shifted_avx512(_mm512_maskz_loadu_ps(mask, x + i), negm)),
                           &s0, &s1);
    const __m512 lse = _mm512_set1_ps((float)log(_mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
    /* y = (x - max) - lse: x - max is exact near the max (Sterbenz) and
     * otherwise rounded once; both terms are <= 0, so nothing cancels. */
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_sub_ps(_mm512_add_ps(_mm512_loadu_ps(x + i), negm), lse));
    if (tail)
        _mm512_mask_storeu_ps(y + i, mask,
                              _mm512_sub_ps(_mm512_add_ps(_mm512_maskz_loadu_ps(mask, x + i), negm), lse));
}
