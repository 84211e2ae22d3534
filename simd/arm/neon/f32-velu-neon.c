/* f32 elu, NEON (AArch64): x <= 0 ? a (exp(x) - 1) : x (a = alpha), expm1 = Sleef_expm1f4_u10advsimd.
 *
 * Contract: y[i] = elu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: <= 2 ULP for a = 1 (expm1 <= 1 ULP, times a: + 0.5 ULP). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_velu_neon(size_t n, const float *x, float *y, float a)
{
    const float32x4_t va = vdupq_n_f32(a);
#define LAM__OP(v) lam__n_elu(v, va)
    LAM__NEON_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
