/* f32 softplus, NEON (AArch64): nn.Softplus(beta, threshold): x where beta x >
 * threshold, else log1p(exp(beta x)) / beta, evaluated as
 * (max(z, 0) + log1p(exp(-|z|))) / beta with z = beta x, so that it never
 * overflows, whatever the threshold; the rounding of beta x is compensated.
 *
 * Contract: n in floats, any n; no alignment; y may equal x; tail through a buffer.
 * Accuracy: <= 4 ULP (SLEEF u10 exp and log1p, one add, one division).  NaN in, NaN out. */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vsoftplus_neon(size_t n, const float *x, float *y, float beta, float threshold)
{
    const float32x4_t vb = vdupq_n_f32(beta), vt = vdupq_n_f32(threshold);
#define LAM__OP(v) lam__n_softplus(v, vb, vt)
    LAM__NEON_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
