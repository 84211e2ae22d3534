/* f32 tanh, NEON (AArch64): Sleef_tanhf4_u35advsimd (u35: about twice as fast as u10).
 *
 * Contract: y[i] = tanh(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  8 floats per step, then 4, then a
 * tail through a 4-float buffer (never reads or writes past n).
 * Accuracy: <= 3 ULP (SLEEF u35, measured 2.73). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

void lam__f32_vtanh_neon(size_t n, const float *x, float *y)
{
    LAM__NEON_UNARY_LOOP(n, x, y, lam__n_tanh);
}
