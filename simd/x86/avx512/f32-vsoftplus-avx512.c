/* f32 softplus, AVX-512: nn.Softplus(beta, threshold): x where beta x >
 * threshold, else log1p(exp(beta x)) / beta, evaluated as
 * (max(z, 0) + log1p(exp(-|z|))) / beta with z = beta x, so that it never
 * overflows, whatever the threshold; the rounding of beta x is compensated.
 *
 * Contract: n in floats, any n; no alignment; y may equal x; one masked
 * tail.  Accuracy: <= 4 ULP (exp u10 inlined, Sleef_log1pf16_u10avx512f,
 * one add, one division).  NaN in, NaN out. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vsoftplus_avx512(size_t n, const float *x, float *y, float beta, float threshold)
{
    const __m512 vb = _mm512_set1_ps(beta), vt = _mm512_set1_ps(threshold);
#define LAM__OP(v) lam__v16_softplus(v, vb, vt)
    LAM__AVX512_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
