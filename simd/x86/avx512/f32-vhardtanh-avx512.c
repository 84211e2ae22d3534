/* f32 hardtanh, AVX-512: x < a ? a : x > b ? b : x (a = min_val, b = max_val; NaN stays NaN, a
 * signed zero input equal to a bound is kept).
 * Contract: y[i] = hardtanh(x[i]) for i in [0, n); n in floats, any n: masked tails (never
 * reads or writes past n); no alignment needed; y may equal x.  Accuracy: exact. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vhardtanh_avx512(size_t n, const float *x, float *y, float a, float b)
{
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    /* max_ps(a, x) = a > x ? a : x, min_ps(b, t) = b < t ? b : t: the
     * scalar rule, NaN and signed zeros included */
#define LAM__OP(v) _mm512_min_ps(vb, _mm512_max_ps(va, (v)))
    LAM__AVX512_UNARY_LOOP(n, x, y, LAM__OP);
#undef LAM__OP
}
