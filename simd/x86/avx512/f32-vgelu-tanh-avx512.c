/* f32 gelu_tanh, AVX-512: 0.5 x (1 + tanh u) as x r or x - x e r, r = 1/(1 + e), e = exp(-2u).
 *
 * Contract: y[i] = gelu_tanh(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  32 floats per step, then 16, then one
 * masked tail (masked loads/stores: never reads or writes past n).
 * Accuracy: abs <= 5e-7 on [-20, 20]. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx512/vmath-avx512.h"

void lam__f32_vgelu_tanh_avx512(size_t n, const float *x, float *y)
{
    LAM__AVX512_UNARY_LOOP(n, x, y, lam__v16_gelu_tanh);
}
