/* f32 leaky_relu, AVX2+FMA: x < 0 ? a x : x (a = negative_slope), NaN kept.
 *
 * Contract: y[i] = leaky_relu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: exact (bit-identical to the scalar kernel). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vleaky_relu_avx2(size_t n, const float *x, float *y, float a)
{
    const __m256 va = _mm256_set1_ps(a);
#define LAM__OP(v) lam__v_leaky_relu(v, va)
    LAM__AVX2_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
