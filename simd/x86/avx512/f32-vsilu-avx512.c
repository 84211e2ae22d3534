/* f32 silu, AVX-512: x sigmoid(x), as x/(1+e) or x e/(1+e), e = exp(-|x|).
 *
 * Contract: y[i] = silu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: <= 3 ULP; silu(-inf) = NaN (-inf * 0, as PyTorch). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vsilu_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_silu);
}
