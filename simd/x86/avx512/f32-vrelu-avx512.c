/* f32 relu, AVX-512: max(0, x).
 *
 * Contract: y[i] = relu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: exact (bit-identical to the scalar kernel); relu(NaN) = NaN, relu(-0) = -0. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vrelu_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_relu);
}
