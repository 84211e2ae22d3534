/* Register-level helpers of the AVX2 rows-in-lanes kernels (8 rows of x in
 * the 8 lanes of a ymm): the in-register 4-k transpose of 8 rows, the
 * epilogue on lane accumulators and the transposed store.  Shared by the
 * lanes GEMM (f32-gemm-lanes-avx2.c) and the fused mlp2
 * (f32-mlp2-lanes-avx2.c). */
#ifndef LAMINA_SIMD_X86_AVX2_GEMM_LANES_AVX2_H
#define LAMINA_SIMD_X86_AVX2_GEMM_LANES_AVX2_H

#include "simd/x86/avx2/gemm-avx2.h"

/* Rows r[0..7] of a block, k [k, k + kr), kr in 1..4: t[q] lane i (i < 4)
 * = r[i][k + q] and lane 4 + i = r[4 + i][k + q]. */
LAM__INLINE void lam__lanes_t4_avx2(const float *const *r, size_t k, int kr, __m256 *t)
{
    __m256 a0, a1, a2, a3;
    if (kr == 4) {
#define LAM__LD2(i) \
    _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[i] + k)), _mm_loadu_ps(r[i + 4] + k), 1)
        a0 = LAM__LD2(0), a1 = LAM__LD2(1), a2 = LAM__LD2(2), a3 = LAM__LD2(3);
#undef LAM__LD2
    } else {
        const __m128i m = _mm_cmpgt_epi32(_mm_set1_epi32(kr), _mm_setr_epi32(0, 1, 2, 3));
#define LAM__LD2(i)                                                              \
    _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_maskload_ps(r[i] + k, m)), \
                         _mm_maskload_ps(r[i + 4] + k, m), 1)
        a0 = LAM__LD2(0), a1 = LAM__LD2(1), a2 = LAM__LD2(2), a3 = LAM__LD2(3);
#undef LAM__LD2
    }
    const __m256 u0 = _mm256_unpacklo_ps(a0, a1), u1 = _mm256_unpackhi_ps(a0, a1);
    const __m256 u2 = _mm256_unpacklo_ps(a2, a3), u3 = _mm256_unpackhi_ps(a2, a3);
    t[0] = _mm256_shuffle_ps(u0, u2, 0x44);
    t[1] = _mm256_shuffle_ps(u0, u2, 0xEE);
    t[2] = _mm256_shuffle_ps(u1, u3, 0x44);
    t[3] = _mm256_shuffle_ps(u1, u3, 0xEE);
}

/* The activation of the nb x nn accumulators acc[b][j] (all at once, so
 * that the activation's latency chains overlap).  ReLU inline; the others
 * go out of line on a copy: acc itself must not escape, or GCC keeps it in
 * memory through the caller's k loop. */
LAM__INLINE void lam__lanes_act_avx2(const int nn, const int nb, __m256 (*acc)[8], lam__epilogue ep)
{
    if (ep.act == LAM_ACTIVATION_IDENTITY)
        return;
    if (ep.act == LAM_ACTIVATION_RELU) {
        _Pragma("GCC unroll 16")
        for (int b = 0; b < nb; b++)
            _Pragma("GCC unroll 16")
            for (int j = 0; j < nn; j++)
                acc[b][j] = lam__v_relu(acc[b][j]);
        return;
    }
    __m256 v[16];
    _Pragma("GCC unroll 16")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++)
            v[b * nn + j] = acc[b][j];
    lam__gemm_act_avx2(nb * nn, v, ep);
    _Pragma("GCC unroll 16")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++)
            acc[b][j] = v[b * nn + j];
}

/* Bias (columns [0, nbias) of bias; NULL: none), then the activation. */
LAM__INLINE void lam__lanes_epilogue_avx2(const int nn, const int nb, __m256 (*acc)[8],
                                          const float *bias, int nbias, lam__epilogue ep)
{
    if (bias)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++) {
            if (j >= nbias)
                break;
            const __m256 bj = _mm256_broadcast_ss(bias + j);
            _Pragma("GCC unroll 16")
            for (int b = 0; b < nb; b++)
                acc[b][j] = _mm256_add_ps(acc[b][j], bj);
        }
    lam__lanes_act_avx2(nn, nb, acc, ep);
}

/* The transposed store of one 8-row block: acc[j] = column j of rows 0..7
 * (lane order as lam__lanes_t4_avx2); rows [0, rows) are stored. */
LAM__INLINE void lam__lanes_store_avx2(const int nn, const __m256 *acc, float *y, size_t ldy,
                                       size_t rows)
{
    const __m256 z = _mm256_setzero_ps();
    if (nn <= 4) {
        /* 4 x 8 -> rows: o[q] = [row q | row 4 + q], columns 0..3 */
        const __m256 c0 = acc[0], c1 = nn > 1 ? acc[1] : z, c2 = nn > 2 ? acc[2] : z,
                     c3 = nn > 3 ? acc[3] : z;
        const __m256 u0 = _mm256_unpacklo_ps(c0, c1), u1 = _mm256_unpackhi_ps(c0, c1);
        const __m256 u2 = _mm256_unpacklo_ps(c2, c3), u3 = _mm256_unpackhi_ps(c2, c3);
        __m256 o[4];
        o[0] = _mm256_shuffle_ps(u0, u2, 0x44);
        o[1] = _mm256_shuffle_ps(u0, u2, 0xEE);
        o[2] = _mm256_shuffle_ps(u1, u3, 0x44);
        o[3] = _mm256_shuffle_ps(u1, u3, 0xEE);
        const __m128i m = _mm_cmpgt_epi32(_mm_set1_epi32(nn), _mm_setr_epi32(0, 1, 2, 3));
        for (size_t i = 0; i < rows; i++) {
            const __m128 v = i < 4 ? _mm256_castps256_ps128(o[i]) : _mm256_extractf128_ps(o[i - 4], 1);
            if (nn == 4)
                _mm_storeu_ps(y + i * ldy, v);
            else
                _mm_maskstore_ps(y + i * ldy, m, v);
        }
        return;
    }
    /* 8 x 8 transpose: o[i] = row i (lane order 0..3 | 4..7 of the blocks) */
    __m256 c[8];
    _Pragma("GCC unroll 16")
    for (int j = 0; j < 8; j++)
        c[j] = j < nn ? acc[j] : z;
    const __m256 u0 = _mm256_unpacklo_ps(c[0], c[1]), u1 = _mm256_unpackhi_ps(c[0], c[1]);
    const __m256 u2 = _mm256_unpacklo_ps(c[2], c[3]), u3 = _mm256_unpackhi_ps(c[2], c[3]);
    const __m256 u4 = _mm256_unpacklo_ps(c[4], c[5]), u5 = _mm256_unpackhi_ps(c[4], c[5]);
    const __m256 u6 = _mm256_unpacklo_ps(c[6], c[7]), u7 = _mm256_unpackhi_ps(c[6], c[7]);
    const __m256 s0 = _mm256_shuffle_ps(u0, u2, 0x44), s1 = _mm256_shuffle_ps(u0, u2, 0xEE);
    const __m256 s2 = _mm256_shuffle_ps(u1, u3, 0x44), s3 = _mm256_shuffle_ps(u1, u3, 0xEE);
    const __m256 s4 = _mm256_shuffle_ps(u4, u6, 0x44), s5 = _mm256_shuffle_ps(u4, u6, 0xEE);
    const __m256 s6 = _mm256_shuffle_ps(u5, u7, 0x44), s7 = _mm256_shuffle_ps(u5, u7, 0xEE);
    __m256 o[8];
    o[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    o[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    o[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    o[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    o[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    o[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    o[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    o[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
    const __m256i m = lam__mask_avx2((size_t)nn);
    for (size_t i = 0; i < rows; i++) {
        if (nn == 8)
            _mm256_storeu_ps(y + i * ldy, o[i]);
        else
            _mm256_maskstore_ps(y + i * ldy, m, o[i]);
    }
}

/* Bias, activation and the store of nb 8-row blocks from row `row` of M
 * (rows past M are not stored). */
LAM__INLINE void lam__lanes_finish_avx2(const int nn, const int nb, __m256 (*acc)[8],
                                        const float *bias, lam__epilogue ep, float *y, size_t ldy,
                                        size_t row, size_t M)
{
    lam__lanes_epilogue_avx2(nn, nb, acc, bias, nn, ep);
    _Pragma("GCC unroll 2")
    for (int b = 0; b < nb; b++) {
        const size_t r0 = row + 8 * (size_t)b;
        if (r0 >= M)
            break;
        lam__lanes_store_avx2(nn, acc[b], y + r0 * ldy, ldy, M - r0 < 8 ? M - r0 : 8);
    }
}

#endif
