/* f32 affine, AVX2+FMA: fmaf(x, a, b): BatchNorm's eval step y = x alpha + beta with one
 * rounding, as PyTorch's CPU kernel (its compiler contracts it into an FMA).
 * Contract: y[i] = affine(x[i]) for i in [0, n); n in floats, any n: 16 per step, then 8, then
 * a masked tail (never reads or writes past n); no alignment needed; y may equal x.  Accuracy:
 * exact (one fused multiply-add, <= 0.5 ULP). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vaffine_avx2(size_t n, const float *x, float *y, float a, float b)
{
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
#define LAM__OP(v) _mm256_fmadd_ps((v), va, vb)
    LAM__AVX2_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
