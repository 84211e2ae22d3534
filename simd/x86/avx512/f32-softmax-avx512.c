/* f32 softmax over one row, AVX-512.
 *
 * Contract: y[i] = exp(x[i] - max) / sum_j exp(x[j] - max), i in [0, n); n in
 * floats, any n (0 is a no-op); no alignment; y may equal x; masked tails.
 * Three passes: max; e = exp(x - max) stored to y, summed in float64; scale
 * by 1/sum.  Accuracy: <= 3 ULP on normal results (exp u10 with the x - max
 * rounding error compensated, float64 sum, one reciprocal, one multiply).
 * A NaN or +inf anywhere, or a row of only -inf, gives a row of NaN. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/rowmax-avx512.h"

void lam__f32_softmax_avx512(size_t n, const float *x, float *y)
{
    if (n == 0)
        return;
    const __m512 negm = _mm512_set1_ps(-lam__rowmax_avx512(n, x));
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = lam__exp_shifted_avx512(_mm512_loadu_ps(x + i), negm);
        _mm512_storeu_ps(y + i, e);
        lam__acc_pd_avx512(e, &s0, &s1);
    }
    const size_t tail = n - i;
    const __mmask16 mask = lam__mask_avx512(tail);
    if (tail) {
        /* masked-off lanes would be exp(0 - max): zero them before the sum */
        __m512 e = _mm512_maskz_mov_ps(mask, lam__exp_shifted_avx512(_mm512_maskz_loadu_ps(mask, x + i), negm));
        _mm512_mask_storeu_ps(y + i, mask, e);
        lam__acc_pd_avx512(e, &s0, &s1);
    }
    const __m512 r = _mm512_set1_ps((float)(1.0 / _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))));
    for (i = 0; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), r));
    if (tail)
        _mm512_mask_storeu_ps(y + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, y + i), r));
}
