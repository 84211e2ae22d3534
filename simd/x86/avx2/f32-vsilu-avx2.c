/* f32 silu, AVX2+FMA: x / (1 + exp(-x)) (nn.SiLU), exp = Sleef_expf8_u10avx2.
 *
 * Contract: y[i] = silu(x[i]) for i in [0, n); n in floats, any n; no
 * alignment needed; y may equal x.  16 floats per step, then 8, then a
 * masked tail (maskload/maskstore: never reads or writes past n).
 * Accuracy: <= 3 ULP on normal results; silu(-inf) = NaN as PyTorch;
 * subnormal results for x in (-104, -87) instead of 0. */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

void lam__f32_vsilu_avx2(size_t n, const float *x, float *y)
{
    LAM__AVX2_UNARY_LOOP(n, x, y, lam__v_silu);
}
