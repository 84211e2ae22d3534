/* f32 mlp2 (two Linear layers fused, kernels.h), AVX2+FMA, rows in lanes.
 * Contract: as kernels.h (N <= 8, K <= LAM_MLP2_KMAX, any M and H; the bits
 * of gemm into a hidden buffer, then gemm).  Accuracy: that of two gemm
 * calls (f32-gemm-avx2.c). */
#include "config.h"

#include "simd/x86/avx2/gemm-lanes-avx2.h"

/* y = act2(act1(x W1^T + b1) W2^T + b2), N <= 8.
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
