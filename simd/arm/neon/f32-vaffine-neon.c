/* f32 affine, NEON (AArch64): fmaf(x, a, b): BatchNorm's eval step y = x alpha + beta with one
 * rounding, as PyTorch's CPU kernel (its compiler contracts it into an FMA).
 * Contract: y[i] = affine(x[i]) for i in [0, n); n in floats, any n: 8 per step, then 4, then
 * a tail through a 4-float buffer; no alignment needed; y may equal x.  Accuracy: exact (one
 * fused multiply-add, <= 0.5 ULP). */
#include "config.h"

#include <string.h>

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vaffine_neon(size_t n, const float *x, float *y, float a, float b)
{
    const float32x4_t va = vdupq_n_f32(a), vb = vdupq_n_f32(b);
#define LAM__OP(v) vfmaq_f32(vb, (v), va)
    LAM__NEON_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
