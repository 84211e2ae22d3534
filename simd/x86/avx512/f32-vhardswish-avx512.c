/* f32 hardswish, AVX-512: x min(max(x + 3, 0), 6) / 6 (PyTorch's order: (x t) / 6).
 * Contract: y[i] = hardswish(x[i]) for i in [0, n); n in floats, any n: masked tails (never
 * reads or writes past n); no alignment needed; y may equal x.  Accuracy: exact (the scalar
 * kernel's bits: the same IEEE-754 operations); <= 2 ULP of the exact value. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

LAM__INLINE __m512 lam__v16_hardswish(__m512 x)
{
    /* max/min return their second operand on NaN: the input goes second */
    __m512 t = _mm512_max_ps(_mm512_setzero_ps(), _mm512_add_ps(x, _mm512_set1_ps(3.0f)));
    t = _mm512_min_ps(_mm512_set1_ps(6.0f), t);
    return _mm512_div_ps(_mm512_mul_ps(x, t), _mm512_set1_ps(6.0f));
}

void lam__f32_vhardswish_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_hardswish);
}
