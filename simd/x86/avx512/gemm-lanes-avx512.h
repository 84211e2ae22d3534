/* Register-level helpers of the AVX-512 rows-in-lanes kernels (16 rows of
 * x in the 16 lanes of a zmm): the in-register 4-k transpose of 16 rows,
 * the epilogue on lane accumulators and the transposed (scatter) store.
 * Shared by the lanes GEMM (f32-gemm-lanes-avx512.c) and the fused mlp2
 * (f32-mlp2-lanes-avx512.c). */
#ifndef LAMINA_SIMD_X86_AVX512_GEMM_LANES_AVX512_H
#define LAMINA_SIMD_X86_AVX512_GEMM_LANES_AVX512_H

#include "simd/x86/avx512/gemm-avx512.h"

/* Rows r[0..15], k [k, k + kr), kr in 1..4: t[q] lane i = r[i][k + q]. */
LAM__INLINE void lam__lanes_t4_avx512(const float *const *r, size_t k, int kr, __m512 *t)
{
    const __mmask8 km = (__mmask8)((1u << kr) - 1u);
    __m512 a[4];
    _Pragma("GCC unroll 4")
    for (int i = 0; i < 4; i++) {
        __m128 v0, v1, v2, v3;
        if (kr == 4) {
            v0 = _mm_loadu_ps(r[i] + k), v1 = _mm_loadu_ps(r[i + 4] + k);
            v2 = _mm_loadu_ps(r[i + 8] + k), v3 = _mm_loadu_ps(r[i + 12] + k);
        } else {
            v0 = _mm_maskz_loadu_ps(km, r[i] + k), v1 = _mm_maskz_loadu_ps(km, r[i + 4] + k);
            v2 = _mm_maskz_loadu_ps(km, r[i + 8] + k), v3 = _mm_maskz_loadu_ps(km, r[i + 12] + k);
        }
        __m512 z = _mm512_castps128_ps512(v0);
        z = _mm512_insertf32x4(z, v1, 1);
        z = _mm512_insertf32x4(z, v2, 2);
        a[i] = _mm512_insertf32x4(z, v3, 3);
    }
    const __m512 u0 = _mm512_unpacklo_ps(a[0], a[1]), u1 = _mm512_unpackhi_ps(a[0], a[1]);
    const __m512 u2 = _mm512_unpacklo_ps(a[2], a[3]), u3 = _mm512_unpackhi_ps(a[2], a[3]);
    t[0] = _mm512_shuffle_ps(u0, u2, 0x44);
    t[1] = _mm512_shuffle_ps(u0, u2, 0xEE);
    t[2] = _mm512_shuffle_ps(u1, u3, 0x44);
    t[3] = _mm512_shuffle_ps(u1, u3, 0xEE);
}

/* Bias (columns [0, nbias) of bias; NULL: none), then the activation of
 * the nb x nn accumulators (RELU inline; others on a copy, so that acc
 * does not escape). */
LAM__INLINE void lam__lanes_epilogue_avx512(const int nn, const int nb, __m512 (*acc)[16],
                                            const float *bias, int nbias, lam__epilogue ep)
{
    if (bias)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++) {
            if (j >= nbias)
                break;
            const __m512 bj = _mm512_set1_ps(bias[j]);
            _Pragma("GCC unroll 4")
            for (int b = 0; b < nb; b++)
                acc[b][j] = _mm512_add_ps(acc[b][j], bj);
        }
    if (ep.act == LAM_ACTIVATION_IDENTITY)
        return;
    if (ep.act == LAM_ACTIVATION_RELU) {
        _Pragma("GCC unroll 4")
        for (int b = 0; b < nb; b++)
            _Pragma("GCC unroll 16")
            for (int j = 0; j < nn; j++)
                acc[b][j] = _mm512_max_ps(_mm512_setzero_ps(), acc[b][j]);
        return;
    }
    float t[4 * 16 * 16] __attribute__((aligned(64)));
    _Pragma("GCC unroll 4")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++)
            _mm512_store_ps(t + (b * nn + j) * 16, acc[b][j]);
    lam__gemm_act_avx512((size_t)(nb * nn * 16), t, ep);
    _Pragma("GCC unroll 4")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++)
            acc[b][j] = _mm512_load_ps(t + (b * nn + j) * 16);
}

/* Store nb 16-row blocks from row `row` of M (rows past M are not
 * stored): column j of rows i at y[i ldy + j], one masked scatter per
 * column and 8 rows (64-bit indices: any ldy). */
LAM__INLINE void lam__lanes_store_avx512(const int nn, const int nb, __m512 (*acc)[16], float *y,
                                         size_t ldy, size_t row, size_t M)
{
    const __m512i i8 = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
    const __m512i idx = _mm512_mullo_epi64(i8, _mm512_set1_epi64((long long)ldy));
    const size_t hl = 8 * ldy;
    _Pragma("GCC unroll 4")
    for (int b = 0; b < nb; b++) {
        const size_t r0 = row + 16 * (size_t)b;
        if (r0 >= M)
            break;
        const size_t rows = M - r0 < 16 ? M - r0 : 16;
        const __mmask8 m0 = (__mmask8)(rows >= 8 ? 0xFF : (1u << rows) - 1u);
        const __mmask8 m1 = (__mmask8)(rows >= 16 ? 0xFF : rows > 8 ? (1u << (rows - 8)) - 1u : 0);
        float *yb = y + r0 * ldy;
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++) {
            _mm512_mask_i64scatter_ps(yb + j, m0, idx, _mm512_castps512_ps256(acc[b][j]), 4);
            if (m1)
                _mm512_mask_i64scatter_ps(yb + hl + j, m1, idx,
                                          _mm512_extractf32x8_ps(acc[b][j], 1), 4);
        }
    }
}

#endif
