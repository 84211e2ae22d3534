/* f32 elu, AVX2+FMA: x <= 0 ? a (exp(x) - 1) : x (a = alpha), expm1 = Sleef_expm1f8_u10avx2.
 *
 * Contract: y[i] = elu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: <= 2 ULP for a = 1 (expm1 <= 1 ULP, times a: + 0.5 ULP). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_velu_avx2(size_t n, const float *x, float *y, float a)
{
    const __m256 va = _mm256_set1_ps(a);
#define LAM__OP(v) lam__v_elu(v, va)
    LAM__AVX2_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
