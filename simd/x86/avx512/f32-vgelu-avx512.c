/* f32 gelu, AVX-512: x Phi(x), Phi = (1 + erf(x / sqrt 2)) / 2 in float64 (odd rational erf fit, error 4e-8), rounded once.
 *
 * Contract: y[i] = gelu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: abs <= 5e-7 on [-20, 20]; gelu(-inf) = NaN as PyTorch. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vgelu_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_gelu);
}
