/* f32 mish, AVX-512: x tanh(log1p(exp(x))) (PyTorch's formula).
 * Contract: y[i] = mish(x[i]) for i in [0, n); n in floats, any n: masked tails (never reads
 * or writes past n); no alignment needed; y may equal x.  Accuracy: <= 4 ULP (SLEEF exp, log1p
 * and tanh, each u10, and a product; the scalar kernel is float64 rounded once). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

LAM__INLINE __m512 lam__v16_mish(__m512 x)
{
    return _mm512_mul_ps(x, Sleef_tanhf16_u10avx512f(Sleef_log1pf16_u10avx512f(Sleef_expf16_u10avx512f(x))));
}

void lam__f32_vmish_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_mish);
}
