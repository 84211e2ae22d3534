/* f32 tanh, AVX2+FMA: Sleef_tanhf8_u35avx2 (2.3x faster than u10).
 *
 * Contract: y[i] = tanh(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: <= 3 ULP (SLEEF u35, measured 2.73). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vtanh_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_tanh);
}
