/* f32 gelu, AVX-512: x Phi(x) in float, as x Q or x - x Q with
 * Q = 1 - Phi(|x|) from 32 degree-6 polynomial pieces on [0, 8) picked by
 * vpermt2ps (no exp, no division; lam__v16_gelu in vmath-avx512.h).
 *
 * Contract: y[i] = gelu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: abs <= 5e-7 on [-20, 20] (measured 2.4e-7); relative, against
 * x erfc(-x/sqrt 2)/2 (tests/simd, avx512_gelu_relative): <= 8 ULP for
 * x >= -6 (5.0 measured), <= 34 ULP on [-8, -6), 0 below -8 where
 * |gelu| < 5e-15.  gelu(+inf) = +inf, gelu(-inf) = NaN as
 * PyTorch, NaN stays NaN. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vgelu_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_gelu);
}
