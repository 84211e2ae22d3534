/* f32 hardswish, NEON (AArch64): x min(max(x + 3, 0), 6) / 6 (PyTorch's order: (x t) / 6).
 * Contract: y[i] = hardswish(x[i]) for i in [0, n); n in floats, any n: 8 per step, then 4,
 * then a tail through a 4-float buffer; no alignment needed; y may equal x.  Accuracy: exact
 * (the scalar kernel's bits: the same IEEE-754 operations); <= 2 ULP of the exact value. */
#include "config.h"

#include <string.h>

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

LAM__INLINE float32x4_t lam__n_hardswish(float32x4_t x)
{
    /* FMAX/FMIN propagate NaN; t is never -0 */
    float32x4_t t = vmaxq_f32(vdupq_n_f32(0.0f), vaddq_f32(x, vdupq_n_f32(3.0f)));
    t = vminq_f32(vdupq_n_f32(6.0f), t);
    return vdivq_f32(vmulq_f32(x, t), vdupq_n_f32(6.0f));
}

void lam__f32_vhardswish_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_hardswish);
}
