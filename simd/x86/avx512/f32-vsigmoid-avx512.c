/* f32 sigmoid, AVX-512: 1 / (1 + exp(-x)) as 1/(1+e) or e/(1+e), e = exp(-|x|) (lam__v16_exp, SLEEF expf u10 inlined).
 *
 * Contract: y[i] = sigmoid(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: <= 3 ULP on normal results; e/(1+e) for x < 0 keeps the subnormal results of x in (-104, -87). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vsigmoid_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_sigmoid);
}
