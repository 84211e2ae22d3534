/* f32 divide, AVX-512.
 *
 * Contract, for i in [0, n):
 *   vdiv: y[i] = a[i] / b[i]
 *   vdivc: y[i] = a[i] / c
 *   vrdivc: y[i] = c / a[i]
 * n in floats, any n (0 is a no-op); no alignment needed; y may equal a or
 * b (in place).  32 floats per step, then 16, then one masked tail
 * (simd/x86/avx512/vbinary-avx512.h).  Accuracy: one correctly rounded
 * IEEE-754 operation per element: bit-identical to the scalar kernel. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vbinary-avx512.h"

void lam__f32_vdiv_avx512(size_t n, const float *a, const float *b, float *y)
{
    LAM__AVX512_BINARY_LOOP(n, a, b, y, _mm512_div_ps);
}

void lam__f32_vdivc_avx512(size_t n, const float *a, float c, float *y)
{
    LAM__AVX512_BINARYC_LOOP(n, a, c, y, _mm512_div_ps);
}

void lam__f32_vrdivc_avx512(size_t n, const float *a, float c, float *y)
{
    LAM__AVX512_BINARYC_LOOP(n, a, c, y, lam__v16_rdiv);
}
