/* f32 subtract, AVX2.
 *
 * Contract, for i in [0, n):
 *   vsub: y[i] = a[i] - b[i]
 *   vsubc: y[i] = a[i] - c
 *   vrsubc: y[i] = c - a[i]
 * n in floats, any n (0 is a no-op); no alignment needed; y may equal a or
 * b (in place).  16 floats per step, then 8, then a masked tail
 * (simd/x86/avx2/vbinary-avx2.h).  Accuracy: one correctly rounded IEEE-754
 * operation per element: bit-identical to the scalar kernel. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vbinary-avx2.h"

void lam__f32_vsub_avx2(size_t n, const float *a, const float *b, float *y)
{
    LAM__AVX2_BINARY_LOOP(n, a, b, y, _mm256_sub_ps);
}

void lam__f32_vsubc_avx2(size_t n, const float *a, float c, float *y)
{
    LAM__AVX2_BINARYC_LOOP(n, a, c, y, _mm256_sub_ps);
}

void lam__f32_vrsubc_avx2(size_t n, const float *a, float c, float *y)
{
    LAM__AVX2_BINARYC_LOOP(n, a, c, y, lam__v_rsub);
}
