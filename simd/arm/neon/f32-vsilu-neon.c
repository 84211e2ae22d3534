/* f32 silu, NEON (AArch64): x / (1 + exp(-x)) (nn.SiLU), exp = Sleef_expf4_u10advsimd.
 *
 * Contract: y[i] = silu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: <= 3 ULP on normal results; silu(-inf) = NaN as PyTorch;
 * subnormal results for x in (-104, -87) instead of 0. */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vsilu_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_silu);
}
