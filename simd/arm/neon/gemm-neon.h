/* Shared pieces of the NEON GEMM.  The packed W layout and the summation
 * order (one in-order fused multiply-add chain per y element, bit-identical
 * whatever M, column range or path) are those of simd/gemm/gemm-ukernel.h:
 * panels of 16 columns, panel p holds W[16p + j][k] at packed[p*16*K + 16k + j]. */
#ifndef LAMINA_SIMD_ARM_NEON_GEMM_NEON_H
#define LAMINA_SIMD_ARM_NEON_GEMM_NEON_H

#include "simd/simd.h"
#include "simd/arm/neon/vmath-neon.h"

#define LAM__GEMM_NR 16

/* Store an mr x 16 tile c[4 i + j] (row i, quarter j) into y (row stride
 * ldy), columns [lo, hi) of the tile only; when `last`, add bias (the
 * panel's 16 floats, or NULL) and apply the activation first, then ep.add
 * (row i at ep.add + i ep.ldadd) when not NULL. */
void lam__gemm_store_tile_neon(int mr, float32x4_t *c, float *y, size_t ldy, size_t lo, size_t hi,
                               int last, const float *bias, lam__epilogue ep);

/* Load columns [lo, hi) of an mr x 16 tile (zeros elsewhere). */
void lam__gemm_load_tile_neon(int mr, float32x4_t *c, const float *y, size_t ldy, size_t lo,
                              size_t hi);

/* The 6 x 16 tile (lam__gemm_tile_fn). */
void lam__f32_gemm_6x16_neon(size_t mr, size_t kc, const float *a, const float *b,
                             const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                             int flags, const float *bias, lam__epilogue ep);

/* M <= 2 path. */
void lam__f32_gemv_neon(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                        const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                        size_t n_end);

#endif
