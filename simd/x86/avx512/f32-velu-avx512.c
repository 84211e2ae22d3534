/* f32 elu, AVX-512: x <= 0 ? a (exp(x) - 1) : x (a = alpha), expm1 =
 * Sleef_expm1f16_u10avx512f.
 *
 * Contract: y[i] = elu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (never reads or writes past n).
 * Accuracy: <= 2 ULP for a = 1 (expm1 <= 1 ULP, times a: + 0.5 ULP). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_velu_avx512(size_t n, const float *x, float *y, float a)
{
    const __m512 va = _mm512_set1_ps(a);
#define LAM__OP(v) lam__v16_elu(v, va)
    LAM__AVX512_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
