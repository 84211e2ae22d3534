/* f32 mish, AVX2+FMA: x tanh(log1p(exp(x))) (PyTorch's formula).
 * Contract: y[i] = mish(x[i]) for i in [0, n); n in floats, any n: 16 per step, then 8, then a
 * masked tail (never reads or writes past n); no alignment needed; y may equal x.  Accuracy:
 * <= 4 ULP (SLEEF exp, log1p and tanh, each u10, and a product; the scalar kernel is float64
 * rounded once). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

LAM__INLINE __m256 lam__v_mish(__m256 x)
{
    return _mm256_mul_ps(x, Sleef_tanhf8_u10avx2(Sleef_log1pf8_u10avx2(Sleef_expf8_u10avx2(x))));
}

void lam__f32_vmish_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_mish);
}
