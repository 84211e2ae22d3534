/* f32 GEMM for narrow layers (at most 8 output columns, e.g. a classifier
 * head Linear(50, 2)), AVX2+FMA, rows in lanes.
 *
 * With the 6x16 microkernel a layer of N <= 8 outputs uses at most 8 of a
 * panel's 16 lanes (2 of 16 for N = 2), keeps only 6 FMA chains in flight,
 * and runs its activation on vectors that are mostly padding.  Here the
 * lanes hold 8 ROWS instead: x is transposed in registers, 4 k at a time
 * (a 4x4 transpose inside each 128-bit half of [row i | row i+4] loads),
 * each W[n][k] is broadcast from the packed panel, and every output column
 * n of the 8 rows is one accumulator.  Two 8-row blocks run together when
 * N <= 2 (4 independent chains), one otherwise.  The epilogue (bias and
 * activation) then runs on full vectors, and a transpose stores the rows.
 *
 * Summation order is the one of gemm-avx2.h: each y element is one FMA
 * chain over k = 0..K-1 in order starting from 0, then + bias, then the
 * activation, so the results are the same bits as the other paths (the
 * tests compare this path with the GEMV path row by row).  K tails are read
 * with masked loads (nothing past the row is touched); rows past M in the
 * last block read the last row again and are not stored. */
#include "config.h"

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

/* nb (1 or 2) blocks of 8 rows starting at row `row` of M; nn columns
 * n_begin .. n_begin + nn - 1. */
LAM__INLINE void lam__lanes_block_avx2(const int nn, const int nb, size_t row, size_t M, size_t K,
                                       const float *x, size_t ldx, const float *w,
                                       const float *bias, float *y, size_t ldy, lam__epilogue ep)
{
    const float *r[2][8];
    _Pragma("GCC unroll 16")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 8; i++) {
            const size_t m = row + 8 * (size_t)b + (size_t)i;
            r[b][i] = x + (m < M ? m : M - 1) * ldx;
        }
    __m256 acc[2][8];
    _Pragma("GCC unroll 16")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++)
            acc[b][j] = _mm256_setzero_ps();
    /* the q loops have constant bounds (kr 4, then 1..3 for the tail), so
     * t and acc stay in registers */
#define LAM__KSTEP(kr_)                                                       \
    {                                                                         \
        __m256 t[2][4];                                                       \
        _Pragma("GCC unroll 16") \
        for (int b = 0; b < nb; b++)                                          \
            lam__lanes_t4_avx2(r[b], k, kr_, t[b]);                           \
        _Pragma("GCC unroll 16") \
        for (int q = 0; q < kr_; q++) {                                       \
            const float *wk = w + (k + (size_t)q) * LAM__GEMM_NR;             \
            _Pragma("GCC unroll 16") \
            for (int j = 0; j < nn; j++) {                                    \
                const __m256 wj = _mm256_broadcast_ss(wk + j);                \
                _Pragma("GCC unroll 16") \
                for (int b = 0; b < nb; b++)                                  \
                    acc[b][j] = _mm256_fmadd_ps(t[b][q], wj, acc[b][j]);      \
            }                                                                 \
        }                                                                     \
    }
    size_t k = 0;
    for (; k + 4 <= K; k += 4)
        LAM__KSTEP(4)
    switch (K - k) {
    case 1: LAM__KSTEP(1) break;
    case 2: LAM__KSTEP(2) break;
    case 3: LAM__KSTEP(3) break;
    default: break;
    }
#undef LAM__KSTEP
    lam__lanes_finish_avx2(nn, nb, acc, bias, ep, y, ldy, row, M);
}

LAM__INLINE void lam__lanes_all_avx2(const int nn, size_t M, size_t K, const float *x, size_t ldx,
                                     const float *w, const float *bias, float *y, size_t ldy,
                                     lam__epilogue ep)
{
    const int nb = nn <= 2 ? 2 : 1;
    for (size_t row = 0; row < M; row += 8 * (size_t)nb)
        lam__lanes_block_avx2(nn, nb, row, M, K, x, ldx, w, bias, y, ldy, ep);
}

void lam__f32_gemm_lanes_avx2(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                              const float *bias, float *y, size_t ldy, lam__epilogue ep,
                              size_t n_begin, size_t n_end)
{
    const float *w = packed + n_begin;
    const float *b = bias ? bias + n_begin : NULL;
    y += n_begin;
    switch (n_end - n_begin) {
    case 1: lam__lanes_all_avx2(1, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 2: lam__lanes_all_avx2(2, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 3: lam__lanes_all_avx2(3, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 4: lam__lanes_all_avx2(4, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 5: lam__lanes_all_avx2(5, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 6: lam__lanes_all_avx2(6, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 7: lam__lanes_all_avx2(7, M, K, x, ldx, w, b, y, ldy, ep); break;
    case 8: lam__lanes_all_avx2(8, M, K, x, ldx, w, b, y, ldy, ep); break;
    default: break;
    }
}

/* ---- two layers fused: y = act2(act1(x W1^T + b1) W2^T + b2), N <= 8 ----
 *
 * For a tiny MLP such as Linear(10, 50)-ReLU-Linear(50, 2)-Sigmoid the
 * hidden activations never leave the registers: 8 rows of x (16 when
 * N <= 2) are transposed once into a K x 8 buffer per 8 rows; then for each
 * group of 4 hidden units the chains over k run with the rows in the lanes
 * (per k: one load of x^T[k] per 8 rows, 4 broadcasts of W1, 4 or 8 FMAs),
 * bias and act1 are applied, and each hidden vector is fed at once into
 * the N output chains.  Order: each hidden unit is the chain over k from 0,
 * + b1, act1 (as gemm); each output is the chain over j = 0..H-1 in order
 * from 0, + b2, act2 (as gemm over the stored hidden layer), so the bits
 * are those of the two gemm calls.  (Groups of 8 hidden units, or one
 * 8-row block for N <= 2, measured 5-15% slower: spills, or too few
 * independent chains.) */

/* nb (1 or 2) blocks of 8 rows from `row`; xt holds nb x K x 8 floats. */
LAM__INLINE void lam__mlp2_block_avx2(const int nn, const int nb, const int jg, size_t row,
                                      size_t M, size_t K, size_t H, const float *x, size_t ldx,
                                      const float *w1, const float *b1, lam__epilogue ep1,
                                      const float *w2, const float *b2, lam__epilogue ep2, float *y,
                                      size_t ldy, float *xt)
{
    /* x^T of the rows: xt[(b K + k) 8 + i] = x[row + 8 b + i][k] */
    _Pragma("GCC unroll 2")
    for (int b = 0; b < nb; b++) {
        const float *r[8];
        _Pragma("GCC unroll 8")
        for (int i = 0; i < 8; i++) {
            const size_t m = row + 8 * (size_t)b + (size_t)i;
            r[i] = x + (m < M ? m : M - 1) * ldx;
        }
        float *xb = xt + (size_t)b * K * 8;
        size_t k = 0;
        for (; k + 4 <= K; k += 4) {
            __m256 t[4];
            lam__lanes_t4_avx2(r, k, 4, t);
            _Pragma("GCC unroll 4")
            for (int q = 0; q < 4; q++)
                _mm256_store_ps(xb + (k + (size_t)q) * 8, t[q]);
        }
        if (k < K) {
            __m256 t[4];
            const int kr = (int)(K - k);
            lam__lanes_t4_avx2(r, k, kr, t);
            for (int q = 0; q < kr; q++)
                _mm256_store_ps(xb + (k + (size_t)q) * 8, t[q]);
        }
    }
    __m256 out[2][8];
    _Pragma("GCC unroll 2")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 8")
        for (int n = 0; n < nn; n++)
            out[b][n] = _mm256_setzero_ps();
    for (size_t j = 0; j < H; j += (size_t)jg) {
        /* W1[j + jj][k] at wp[16 k + jj]: jg divides 16, so a group stays in
         * one (zero-padded) panel */
        const float *wp = w1 + j / LAM__GEMM_NR * LAM__GEMM_NR * K + j % LAM__GEMM_NR;
        __m256 acc[2][8];
        _Pragma("GCC unroll 2")
        for (int b = 0; b < nb; b++)
            _Pragma("GCC unroll 8")
            for (int jj = 0; jj < jg; jj++)
                acc[b][jj] = _mm256_setzero_ps();
        for (size_t kk = 0; kk < K; kk++) {
            const float *wk = wp + kk * LAM__GEMM_NR;
            __m256 t[2];
            _Pragma("GCC unroll 2")
            for (int b = 0; b < nb; b++)
                t[b] = _mm256_load_ps(xt + ((size_t)b * K + kk) * 8);
            _Pragma("GCC unroll 8")
            for (int jj = 0; jj < jg; jj++) {
                const __m256 w = _mm256_broadcast_ss(wk + jj);
                _Pragma("GCC unroll 2")
                for (int b = 0; b < nb; b++)
                    acc[b][jj] = _mm256_fmadd_ps(t[b], w, acc[b][jj]);
            }
        }
        const int jn = H - j < (size_t)jg ? (int)(H - j) : jg;
        lam__lanes_epilogue_avx2(jg, nb, acc, b1 ? b1 + j : NULL, jn, ep1);
        _Pragma("GCC unroll 8")
        for (int jj = 0; jj < jg; jj++) {
            if (jj >= jn)
                break;
            const float *w2j = w2 + (j + (size_t)jj) * LAM__GEMM_NR;
            _Pragma("GCC unroll 8")
            for (int n = 0; n < nn; n++) {
                const __m256 w = _mm256_broadcast_ss(w2j + n);
                _Pragma("GCC unroll 2")
                for (int b = 0; b < nb; b++)
                    out[b][n] = _mm256_fmadd_ps(acc[b][jj], w, out[b][n]);
            }
        }
    }
    lam__lanes_finish_avx2(nn, nb, out, b2, ep2, y, ldy, row, M);
}

LAM__INLINE void lam__mlp2_all_avx2(const int nn, size_t M, size_t K, size_t H, const float *x,
                                    size_t ldx, const float *w1, const float *b1, lam__epilogue ep1,
                                    const float *w2, const float *b2, lam__epilogue ep2, float *y,
                                    size_t ldy)
{
    float xt[2 * LAM_MLP2_KMAX * 8] __attribute__((aligned(32)));
    size_t row = 0;
    if (nn <= 2) /* two 8-row blocks at a time, while there are 16 rows */
        for (; row + 16 <= M; row += 16)
            lam__mlp2_block_avx2(nn, 2, 4, row, M, K, H, x, ldx, w1, b1, ep1, w2, b2, ep2, y, ldy,
                                 xt);
    for (; row < M; row += 8)
        lam__mlp2_block_avx2(nn, 1, 4, row, M, K, H, x, ldx, w1, b1, ep1, w2, b2, ep2, y, ldy, xt);
}

void lam__f32_mlp2_avx2(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                        const float *packed1, const float *bias1, lam__epilogue ep1,
                        const float *packed2, const float *bias2, lam__epilogue ep2, float *y,
                        size_t ldy)
{
    if (M == 0 || K > LAM_MLP2_KMAX)
        return;
    switch (N) {
#define LAM__CASE(n)                                                                         \
    case n:                                                                                  \
        lam__mlp2_all_avx2(n, M, K, H, x, ldx, packed1, bias1, ep1, packed2, bias2, ep2, y, \
                           ldy);                                                             \
        break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4)
    LAM__CASE(5) LAM__CASE(6) LAM__CASE(7) LAM__CASE(8)
#undef LAM__CASE
    default: break;
    }
}
