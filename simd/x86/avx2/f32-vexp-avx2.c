/* f32 exp, AVX2+FMA: Sleef_expf8_u10avx2.
 *
 * Contract: y[i] = exp(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: <= 1 ULP (SLEEF u10); overflow to +inf, underflow to 0. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vexp_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_exp);
}
