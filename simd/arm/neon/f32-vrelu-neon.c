/* f32 relu, NEON (AArch64): max(0, x), NaN kept, relu(-0) = -0.
 *
 * Contract: y[i] = relu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: exact (bit-identical to the scalar kernel). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vrelu_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_relu);
}
