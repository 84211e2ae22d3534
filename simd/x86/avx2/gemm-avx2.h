/* Shared pieces of the AVX2 GEMM microkernels (f32-gemm-*-avx2.c,
 * f32-gemv-*-avx2.c, f32-mlp2-*-avx2.c).
 *
 * Packed W layout: panels of NR = 16 output columns (simd/gemm/
 * gemm-ukernel.h).  Summation order (the determinism contract, also in
 * gemm-ukernel.h): every y element is one FMA chain over k = 0..K-1 in
 * order, starting from 0 (K blocks continue the chain from the stored
 * float), then + bias, then the activation.  So results are bit-identical
 * whatever M, the column range, the tile position or the path — splitting
 * rows or columns between threads never changes a bit. */
#ifndef LAMINA_SIMD_X86_AVX2_GEMM_AVX2_H
#define LAMINA_SIMD_X86_AVX2_GEMM_AVX2_H

#include "simd/simd.h"
#include "simd/x86/avx2/vmath-avx2.h"

#define LAM__GEMM_NR 16

/* Lanes j of half h (0, 1) with lo <= 8h + j < hi. */
LAM__INLINE __m256i lam__colmask_avx2(int h, size_t lo, size_t hi)
{
    __m256i j = _mm256_setr_epi32(8 * h, 8 * h + 1, 8 * h + 2, 8 * h + 3, 8 * h + 4, 8 * h + 5,
                                  8 * h + 6, 8 * h + 7);
    __m256i ge = _mm256_cmpgt_epi32(j, _mm256_set1_epi32((int)lo - 1));
    __m256i lt = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), j);
    return _mm256_and_si256(ge, lt);
}

/* Store an mr x 16 accumulator tile c[2 i + h] (row i, half h) into y (row
 * stride ldy), columns [lo, hi) of the tile only.  When `last`, add bias
 * (16 floats of the panel, or NULL) and apply the activation first, then
 * ep.add (row i at ep.add + i ep.ldadd, the tile's columns) when not NULL. */
void lam__gemm_store_tile_avx2(int mr, __m256 *c, float *y, size_t ldy, size_t lo, size_t hi,
                               int last, const float *bias, lam__epilogue ep);

/* Bias-free activation of nreg vectors in place (ep.act; NONE: nothing),
 * the same arithmetic as the elementwise kernels. */
void lam__gemm_act_avx2(int nreg, __m256 *c, lam__epilogue ep);

/* Load columns [lo, hi) of an mr x 16 tile (for continuing K blocks). */
LAM__INLINE void lam__gemm_load_tile_avx2(int mr, __m256 *c, const float *y, size_t ldy, size_t lo,
                                          size_t hi)
{
    if (lo == 0 && hi == 16) {
        for (int i = 0; i < mr; i++) {
            c[2 * i] = _mm256_loadu_ps(y + i * ldy);
            c[2 * i + 1] = _mm256_loadu_ps(y + i * ldy + 8);
        }
    } else {
        __m256i m0 = lam__colmask_avx2(0, lo, hi), m1 = lam__colmask_avx2(1, lo, hi);
        for (int i = 0; i < mr; i++) {
            c[2 * i] = _mm256_maskload_ps(y + i * ldy, m0);
            c[2 * i + 1] = _mm256_maskload_ps(y + i * ldy + 8, m1);
        }
    }
}

/* The 6 x 16 tile (lam__gemm_tile_fn) and the direct path
 * (lam__gemm_rows_fn), f32-gemm-6x16-avx2.c. */
void lam__f32_gemm_6x16_avx2(size_t mr, size_t kc, const float *a, const float *b,
                             const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                             int flags, const float *bias, lam__epilogue ep);
void lam__f32_gemm_direct_6x16_avx2(size_t M, size_t K, const float *x, size_t ldx,
                                    const float *packed, const float *bias, float *y, size_t ldy,
                                    lam__epilogue ep, size_t n_begin, size_t n_end);

/* M <= 2 path: x rows read directly, W streamed panel by panel. */
void lam__f32_gemv_avx2(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                        const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                        size_t n_end);

/* Narrow layers, rows in lanes (f32-gemm-lanes-avx2.c): columns
 * [n_begin, n_end) with n_end <= 8, any M and K. */
void lam__f32_gemm_lanes_avx2(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                              const float *bias, float *y, size_t ldy, lam__epilogue ep,
                              size_t n_begin, size_t n_end);

#endif
