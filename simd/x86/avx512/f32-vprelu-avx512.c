/* f32 prelu, AVX-512: x > 0 ? x : a x (a = the channel's weight; PyTorch's prelu: -0 gives -0
 * a, NaN gives NaN).
 * Contract: y[i] = prelu(x[i]) for i in [0, n); n in floats, any n: masked tails (never reads
 * or writes past n); no alignment needed; y may equal x.  Accuracy: exact (one rounding). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vprelu_avx512(size_t n, const float *x, float *y, float a)
{
    const __m512 va = _mm512_set1_ps(a);
#define LAM__OP(v) _mm512_mask_mul_ps((v), _mm512_cmp_ps_mask((v), _mm512_setzero_ps(), _CMP_NGT_UQ), va, (v))
    LAM__AVX512_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
