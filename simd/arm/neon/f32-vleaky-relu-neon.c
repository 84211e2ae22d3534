/* f32 leaky_relu, NEON (AArch64): x < 0 ? a x : x (a = negative_slope), NaN kept.
 *
 * Contract: y[i] = leaky_relu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: exact (bit-identical to the scalar kernel). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vleaky_relu_neon(size_t n, const float *x, float *y, float a)
{
    const float32x4_t va = vdupq_n_f32(a);
#define LAM__OP(v) lam__n_leaky_relu(v, va)
    LAM__NEON_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
