/* f32 exp, NEON (AArch64): Sleef_expf4_u10advsimd.
 *
 * Contract: y[i] = exp(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: <= 1 ULP (SLEEF u10); overflow to +inf, underflow to 0. */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vexp_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_exp);
}
