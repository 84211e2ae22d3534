/* f32 wino_in, wino_out, wino_store and the wino2_ twins, neon: the Winograd F(4x4, 3x3) and F(2x2, 3x3)
 * tile transforms,
 * one tile a lane (simd/window/winograd-impl.h).
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (bit-identical to the scalar twin: the same operations
 * per lane). */
#include "config.h"

#include "simd/simd.h"
#include "simd/arm/neon/vwin-neon.h"
#define LW_LDS4(p) (vld4q_f32(p).val[0])
#define LW_ST4(p, v0, v1, v2, v3) vst4q_f32((p), (float32x4x4_t){{(v0), (v1), (v2), (v3)}})
#define LW_ST2(p, v0, v1) vst2q_f32((p), (float32x4x2_t){{(v0), (v1)}})
#include "simd/window/winograd-impl.h"

void lam__f32_wino_in_neon(size_t n, const float *d, size_t rs, size_t cs, size_t ts,
                          float *v, size_t vs)
{
    lam__wg_in(n, d, rs, cs, ts, v, vs);
}

void lam__f32_wino_out_neon(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    lam__wg_out(n, m, ms, q, qs);
}

void lam__f32_wino_store_neon(size_t n, const float *q, size_t qs, float *y, size_t ys, size_t ra,
                           size_t wl)
{
    lam__wg_store(n, q, qs, y, ys, ra, wl);
}

void lam__f32_wino2_in_neon(size_t n, const float *d, size_t rs, size_t cs, size_t ts,
                           float *v, size_t vs)
{
    lam__wg2_in(n, d, rs, cs, ts, v, vs);
}

void lam__f32_wino2_out_neon(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    lam__wg2_out(n, m, ms, q, qs);
}

void lam__f32_wino2_store_neon(size_t n, const float *q, size_t qs, float *y, size_t ys,
                              size_t ra, size_t wl)
{
    lam__wg2_store(n, q, qs, y, ys, ra, wl);
}
