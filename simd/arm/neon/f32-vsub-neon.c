/* f32 subtract, NEON (AArch64).
 *
 * Contract, for i in [0, n):
 *   vsub: y[i] = a[i] - b[i]
 *   vsubc: y[i] = a[i] - c
 *   vrsubc: y[i] = c - a[i]
 * n in floats, any n (0 is a no-op); no alignment needed; y may equal a or
 * b (in place).  8 floats per step, then 4, then a buffered tail
 * (simd/arm/neon/vbinary-neon.h).  Accuracy: one correctly rounded IEEE-754
 * operation per element: bit-identical to the scalar kernel. */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vbinary-neon.h"

void lam__f32_vsub_neon(size_t n, const float *a, const float *b, float *y)
{
    LAM__NEON_BINARY_LOOP(n, a, b, y, vsubq_f32);
}

void lam__f32_vsubc_neon(size_t n, const float *a, float c, float *y)
{
    LAM__NEON_BINARYC_LOOP(n, a, c, y, vsubq_f32);
}

void lam__f32_vrsubc_neon(size_t n, const float *a, float c, float *y)
{
    LAM__NEON_BINARYC_LOOP(n, a, c, y, lam__n_rsub);
}
