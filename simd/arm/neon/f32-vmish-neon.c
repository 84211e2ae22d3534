/* f32 mish, NEON (AArch64): x tanh(log1p(exp(x))) (PyTorch's formula).
 * Contract: y[i] = mish(x[i]) for i in [0, n); n in floats, any n: 8 per step, then 4, then a
 * tail through a 4-float buffer; no alignment needed; y may equal x.  Accuracy: <= 4 ULP
 * (SLEEF exp, log1p and tanh, each u10, and a product; the scalar kernel is float64 rounded
 * once). */
#include "config.h"

#include <string.h>

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

LAM__INLINE float32x4_t lam__n_mish(float32x4_t x)
{
    return vmulq_f32(x, Sleef_tanhf4_u10advsimd(Sleef_log1pf4_u10advsimd(Sleef_expf4_u10advsimd(x))));
}

void lam__f32_vmish_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_mish);
}
