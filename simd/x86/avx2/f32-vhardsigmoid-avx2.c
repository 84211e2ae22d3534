/* f32 hardsigmoid, AVX2+FMA: min(max(x + 3, 0), 6) / 6.
 * Contract: y[i] = hardsigmoid(x[i]) for i in [0, n); n in floats, any n: 16 per step, then 8,
 * then a masked tail (never reads or writes past n); no alignment needed; y may equal x.
 * Accuracy: exact (the scalar kernel's bits); <= 2 ULP of the exact value. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

LAM__INLINE __m256 lam__v_hardsigmoid(__m256 x)
{
    __m256 t = _mm256_max_ps(_mm256_setzero_ps(), _mm256_add_ps(x, _mm256_set1_ps(3.0f)));
    return _mm256_div_ps(_mm256_min_ps(_mm256_set1_ps(6.0f), t), _mm256_set1_ps(6.0f));
}

void lam__f32_vhardsigmoid_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_hardsigmoid);
}
