/* f32 gelu, NEON (AArch64): 0.5 x (1 + erf(x / sqrt 2)), erf by a rational minimax fit (vmath-neon.h).
 *
 * Contract: y[i] = gelu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: absolute error <= 5e-7 (relative accuracy is lost for x < -5.6,
 * as in every float GELU); gelu(-inf) = NaN as PyTorch. */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vgelu_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_gelu);
}
