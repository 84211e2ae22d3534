/* f32 gelu_tanh, NEON (AArch64): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as
 * x / (1 + exp(-2u)) to avoid the cancellation of 1 + tanh u for x < 0.
 *
 * Contract: y[i] = gelu_tanh(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: absolute error <= 5e-7, relative <= 4 ULP for x > 0. */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vgelu_tanh_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_gelu_tanh);
}
