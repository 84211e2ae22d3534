/* f32 gelu, AVX2+FMA: 0.5 x (1 + erf(x / sqrt 2)), erf by a rational minimax fit (vmath-avx2.h).
 *
 * Contract: y[i] = gelu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: absolute error <= 5e-7 (relative accuracy is lost for x < -5.6,
 * as in every float GELU); gelu(-inf) = NaN as PyTorch. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vgelu_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_gelu);
}
