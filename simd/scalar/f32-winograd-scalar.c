/* f32 wino_in, wino_out, wino_store and the wino2_ twins, scalar: the Winograd F(4x4, 3x3) and F(2x2, 3x3)
 * tile transforms,
 * one tile at a time (simd/window/winograd-impl.h with one lane): the
 * oracle of the vector kernels.
 *
 * Contract: LAM_CONV_KERNELS (simd/kernel-list.h).
 * Accuracy: exact (the contract's order of operations, fmaf fused). */
#include "config.h"

#include "simd/simd.h"
#define LAM__WG_SCALAR
#include "simd/window/winograd-impl.h"

void lam__f32_wino_in_scalar(size_t n, const float *d, size_t rs, size_t cs, size_t ts,
                          float *v, size_t vs)
{
    lam__wg_in(n, d, rs, cs, ts, v, vs);
}

void lam__f32_wino_out_scalar(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    lam__wg_out(n, m, ms, q, qs);
}

void lam__f32_wino_store_scalar(size_t n, const float *q, size_t qs, float *y, size_t ys,
                               size_t ra, size_t wl)
{
    lam__wg_store(n, q, qs, y, ys, ra, wl);
}

void lam__f32_wino2_in_scalar(size_t n, const float *d, size_t rs, size_t cs, size_t ts,
                           float *v, size_t vs)
{
    lam__wg2_in(n, d, rs, cs, ts, v, vs);
}

void lam__f32_wino2_out_scalar(size_t n, const float *m, size_t ms, float *q, size_t qs)
{
    lam__wg2_out(n, m, ms, q, qs);
}

void lam__f32_wino2_store_scalar(size_t n, const float *q, size_t qs, float *y, size_t ys,
                              size_t ra, size_t wl)
{
    lam__wg2_store(n, q, qs, y, ys, ra, wl);
}
