/* f32 subtract, AVX-512.
 *
 * Contract, for i in [0, n):
 *   vsub: y[i] = a[i] - b[i]
 *   vsubc: y[i] = a[i] - c
 *   vrsubc: y[i] = c - a[i]
 * n in floats, any n (0 is a no-op); no alignment needed; y may equal a or
 * b (in place).  32 floats per step, then 16, then one masked tail
 * (simd/x86/avx512/vbinary-avx512.h).  Accuracy: one correctly rounded
 * IEEE-754 operation per element: bit-identical to the scalar kernel. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vbinary-avx512.h"

void lam__f32_vsub_avx512(size_t n, const float *a, const float *b, float *y)
{
    LAM__AVX512_BINARY_LOOP(n, a, b, y, _mm512_sub_ps);
}

void lam__f32_vsubc_avx512(size_t n, const float *a, float c, float *y)
{
    LAM__AVX512_BINARYC_LOOP(n, a, c, y, _mm512_sub_ps);
}

void lam__f32_vrsubc_avx512(size_t n, const float *a, float c, float *y)
{
    LAM__AVX512_BINARYC_LOOP(n, a, c, y, lam__v16_rsub);
}
