/* f32 sigmoid, NEON (AArch64): 1 / (1 + exp(-x)), exp = Sleef_expf4_u10advsimd.
 *
 * Contract: y[i] = sigmoid(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: <= 3 ULP on normal results, e/(1+e) for x < 0 keeps
 * the subnormal results of x in (-104, -87). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vsigmoid_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_sigmoid);
}
