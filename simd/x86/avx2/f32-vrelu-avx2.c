/* f32 relu, AVX2+FMA: max(0, x), NaN kept, relu(-0) = -0.
 *
 * Contract: y[i] = relu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: exact (bit-identical to the scalar kernel). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vrelu_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_relu);
}
