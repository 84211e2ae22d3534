/* f32 softplus, AVX2+FMA: nn.Softplus(beta, threshold): x where beta x >
 * threshold, else log1p(exp(beta x)) / beta, evaluated as
 * (max(z, 0) + log1p(exp(-|z|))) / beta with z = beta x, so that it never
 * overflows, whatever the threshold; the rounding of beta x is compensated.
 *
 * Contract: n in floats, any n; no alignment; y may equal x; masked tail.
 * Accuracy: <= 4 ULP (SLEEF u10 exp and log1p, one add, one division).  NaN in, NaN out. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vsoftplus_avx2(size_t n, const float *x, float *y, float beta, float threshold)
{
    const __m256 vb = _mm256_set1_ps(beta), vt = _mm256_set1_ps(threshold);
#define LAM__OP(v) lam__v_softplus(v, vb, vt)
    LAM__AVX2_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
