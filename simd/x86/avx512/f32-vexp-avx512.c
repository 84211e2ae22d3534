/* f32 exp, AVX-512: lam__v16_exp (SLEEF expf u10 inlined, 2^q by vscalefps).
 *
 * Contract: y[i] = exp(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: <= 1 ULP; > 88.7228 gives +inf, results below FLT_MIN are correctly rounded subnormals. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vexp_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_exp);
}
