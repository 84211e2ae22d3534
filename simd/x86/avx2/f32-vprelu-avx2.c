/* f32 prelu, AVX2+FMA: x > 0 ? x : a x (a = the channel's weight; PyTorch's prelu: -0 gives -0
 * a, NaN gives NaN).
 * Contract: y[i] = prelu(x[i]) for i in [0, n); n in floats, any n: 16 per step, then 8, then
 * a masked tail (never reads or writes past n); no alignment needed; y may equal x.  Accuracy:
 * exact (one rounding). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vprelu_avx2(size_t n, const float *x, float *y, float a)
{
    const __m256 va = _mm256_set1_ps(a);
#define LAM__OP(v) _mm256_blendv_ps(_mm256_mul_ps(va, (v)), (v), _mm256_cmp_ps((v), _mm256_setzero_ps(), _CMP_GT_OQ))
    LAM__AVX2_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
