/* f32 prelu, NEON (AArch64): x > 0 ? x : a x (a = the channel's weight; PyTorch's prelu: -0
 * gives -0 a, NaN gives NaN).
 * Contract: y[i] = prelu(x[i]) for i in [0, n); n in floats, any n: 8 per step, then 4, then a
 * tail through a 4-float buffer; no alignment needed; y may equal x.  Accuracy: exact (one
 * rounding). */
#include "config.h"

#include <string.h>

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vprelu_neon(size_t n, const float *x, float *y, float a)
{
    const float32x4_t va = vdupq_n_f32(a);
#define LAM__OP(v) vbslq_f32(vcgtq_f32((v), vdupq_n_f32(0.0f)), (v), vmulq_f32(va, (v)))
    LAM__NEON_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
