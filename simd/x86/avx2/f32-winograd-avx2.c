/* f32 wino_in, wino_out, avx2: the Winograd F(4x4, 3x3) tile transforms,
 * one tile a lane (simd/window/winograd-impl.h).
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: the same operations
 * per lane). */
#include "config.h"

#include "simd/simd.h"
#include "simd/x86/avx2/vwin-avx2.h"
#include "simd/window/winograd-impl.h"

void lam__f32_wino_in_avx2(size_t n, const float *d, size_t rs, size_t cs, size_t ts,
                          float *v, size_t vs)
{
    lam__wg_in(n, d, rs, cs, ts, v, vs);
}

void lam__f32_wino_out_avx2(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    lam__wg_out(n, m, ms, q, qs);
}
