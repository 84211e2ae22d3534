/* f32 hardsigmoid, NEON (AArch64): min(max(x + 3, 0), 6) / 6.
 * Contract: y[i] = hardsigmoid(x[i]) for i in [0, n); n in floats, any n: 8 per step, then 4,
 * then a tail through a 4-float buffer; no alignment needed; y may equal x.  Accuracy: exact
 * (the scalar kernel's bits); <= 2 ULP of the exact value. */
#include "config.h"

#include <string.h>

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

LAM__INLINE float32x4_t lam__n_hardsigmoid(float32x4_t x)
{
    float32x4_t t = vmaxq_f32(vdupq_n_f32(0.0f), vaddq_f32(x, vdupq_n_f32(3.0f)));
    return vdivq_f32(vminq_f32(vdupq_n_f32(6.0f), t), vdupq_n_f32(6.0f));
}

void lam__f32_vhardsigmoid_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_hardsigmoid);
}
