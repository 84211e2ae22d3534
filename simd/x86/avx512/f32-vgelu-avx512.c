/* f32 gelu, AVX-512: x Phi(x) in float, as x Q or x - x Q with
 * Q = 1 - Phi(|x|) = exp(-x^2/2) t S(t), t = 1/(1 + 0.35 |x|), S a degree-8 fit
 * (lam__v16_gelu in vmath-avx512.h).
 *
 * Contract: y[i] = gelu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: abs <= 5e-7 on [-20, 20] (measured: 5.5 ULP relative, also
 * for x < -5.6 where the float64 1 + erf form loses everything);
 * gelu(-inf) = NaN as PyTorch. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vgelu_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_gelu);
}
