/* f32 hardtanh, NEON (AArch64): x < a ? a : x > b ? b : x (a = min_val, b = max_val; NaN stays
 * NaN, a signed zero input equal to a bound is kept).
 * Contract: y[i] = hardtanh(x[i]) for i in [0, n); n in floats, any n: 8 per step, then 4,
 * then a tail through a 4-float buffer; no alignment needed; y may equal x.  Accuracy: exact. */
#include "config.h"

#include <string.h>

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

LAM__INLINE float32x4_t lam__n_hardtanh(float32x4_t x, float32x4_t a, float32x4_t b)
{
    /* compare and select (FMAX would order -0 below +0) */
    float32x4_t t = vbslq_f32(vcltq_f32(x, a), a, x);
    return vbslq_f32(vcgtq_f32(t, b), b, t);
}

void lam__f32_vhardtanh_neon(size_t n, const float *x, float *y, float a, float b)
{
    const float32x4_t va = vdupq_n_f32(a), vb = vdupq_n_f32(b);
#define LAM__OP(v) lam__n_hardtanh((v), va, vb)
    LAM__NEON_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
