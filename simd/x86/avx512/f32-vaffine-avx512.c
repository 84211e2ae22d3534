/* f32 affine, AVX-512: fmaf(x, a, b): BatchNorm's eval step y = x alpha + beta with one
 * rounding, as PyTorch's CPU kernel (its compiler contracts it into an FMA).
 * Contract: y[i] = affine(x[i]) for i in [0, n); n in floats, any n: masked tails (never reads
 * or writes past n); no alignment needed; y may equal x.  Accuracy: exact (one fused multiply-
 * add, <= 0.5 ULP). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vaffine_avx512(size_t n, const float *x, float *y, float a, float b)
{
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
#define LAM__OP(v) _mm512_fmadd_ps((v), va, vb)
    LAM__AVX512_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
