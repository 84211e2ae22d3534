/* f32 leaky_relu, AVX-512: x < 0 ? a x : x (a = negative_slope).
 *
 * Contract: y[i] = leaky_relu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (never reads or writes past n).
 * Accuracy: exact (one multiplication, bit-identical to the scalar kernel). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vleaky_relu_avx512(size_t n, const float *x, float *y, float a)
{
    const __m512 va = _mm512_set1_ps(a);
#define LAM__OP(v) lam__v16_leaky_relu(v, va)
    LAM__AVX512_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
