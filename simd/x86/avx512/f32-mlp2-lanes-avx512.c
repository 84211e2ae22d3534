/* f32 mlp2 (two Linear layers fused, kernels.h), AVX-512, rows in lanes.
 * Contract: as kernels.h (N <= 8, K <= LAM_MLP2_KMAX, any M and H; the bits
 * of gemm into a hidden buffer, then gemm).  Accuracy: that of two gemm
 * calls (lam__f32_gemm_avx512).
 *
 * The AVX2 kernel's scheme with 16 rows per zmm: the rows of a block (two
 * blocks when N <= 2) are transposed once into a K x 16 buffer; then for
 * each group of 4 hidden units the chains over k run with the rows in the
 * lanes, bias and act1 are applied, and each hidden vector is fed at once
 * into the N output chains (chain over j = 0..H-1 in order from 0, + b2,
 * act2): the bits of the two gemm calls. */
#include "config.h"

#include "simd/x86/avx512/gemm-lanes-avx512.h"

#define LAM__NR LAM__GEMM_NR512
#define LAM__JG 4

LAM__INLINE void lam__mlp2_block_avx512(const int nn, const int nb, size_t row, size_t M,
                                        size_t K, size_t H, const float *x, size_t ldx,
                                        const float *w1, const float *b1, lam__epilogue ep1,
                                        const float *w2, const float *b2, lam__epilogue ep2,
                                        float *y, size_t ldy, float *xt)
{
    /* x^T of the rows: xt[(b K + k) 16 + i] = x[row + 16 b + i][k] */
    _Pragma("GCC unroll 2")
    for (int b = 0; b < nb; b++) {
        const float *r[16];
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 16; i++) {
            const size_t m = row + 16 * (size_t)b + (size_t)i;
            r[i] = x + (m < M ? m : M - 1) * ldx;
        }
        float *xb = xt + (size_t)b * K * 16;
        size_t k = 0;
        for (; k + 4 <= K; k += 4) {
            __m512 t[4];
            lam__lanes_t4_avx512(r, k, 4, t);
            _Pragma("GCC unroll 4")
            for (int q = 0; q < 4; q++)
                _mm512_store_ps(xb + (k + (size_t)q) * 16, t[q]);
        }
        if (k < K) {
            __m512 t[4];
            const int kr = (int)(K - k);
            lam__lanes_t4_avx512(r, k, kr, t);
            for (int q = 0; q < kr; q++)
                _mm512_store_ps(xb + (k + (size_t)q) * 16, t[q]);
        }
    }
    __m512 out[4][16];
    _Pragma("GCC unroll 2")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 8")
        for (int n = 0; n < nn; n++)
            out[b][n] = _mm512_setzero_ps();
    for (size_t j = 0; j < H; j += LAM__JG) {
        /* W1[j + jj][k] at wp[64 k + jj]: JG divides 64, so a group stays
         * in one (zero-padded) panel */
        const float *wp = w1 + j / LAM__NR * LAM__NR * K + j % LAM__NR;
        __m512 acc[4][16];
        _Pragma("GCC unroll 2")
        for (int b = 0; b < nb; b++)
            _Pragma("GCC unroll 4")
            for (int jj = 0; jj < LAM__JG; jj++)
                acc[b][jj] = _mm512_setzero_ps();
        for (size_t kk = 0; kk < K; kk++) {
            const float *wk = wp + kk * LAM__NR;
            __m512 t[2];
            _Pragma("GCC unroll 2")
            for (int b = 0; b < nb; b++)
                t[b] = _mm512_load_ps(xt + ((size_t)b * K + kk) * 16);
            _Pragma("GCC unroll 4")
            for (int jj = 0; jj < LAM__JG; jj++) {
                const __m512 w = _mm512_set1_ps(wk[jj]);
                _Pragma("GCC unroll 2")
                for (int b = 0; b < nb; b++)
                    acc[b][jj] = _mm512_fmadd_ps(t[b], w, acc[b][jj]);
            }
        }
        const int jn = H - j < (size_t)LAM__JG ? (int)(H - j) : LAM__JG;
        lam__lanes_epilogue_avx512(LAM__JG, nb, acc, b1 ? b1 + j : NULL, jn, ep1);
        _Pragma("GCC unroll 4")
        for (int jj = 0; jj < LAM__JG; jj++) {
            if (jj >= jn)
                break;
            const float *w2j = w2 + (j + (size_t)jj) * LAM__NR;
            _Pragma("GCC unroll 8")
            for (int n = 0; n < nn; n++) {
                const __m512 w = _mm512_set1_ps(w2j[n]);
                _Pragma("GCC unroll 2")
                for (int b = 0; b < nb; b++)
                    out[b][n] = _mm512_fmadd_ps(acc[b][jj], w, out[b][n]);
            }
        }
    }
    lam__lanes_epilogue_avx512(nn, nb, out, b2, nn, ep2);
    lam__lanes_store_avx512(nn, nb, out, y, ldy, row, M);
}

LAM__INLINE void lam__mlp2_all_avx512(const int nn, size_t M, size_t K, size_t H, const float *x,
                                      size_t ldx, const float *w1, const float *b1,
                                      lam__epilogue ep1, const float *w2, const float *b2,
                                      lam__epilogue ep2, float *y, size_t ldy)
{
    float xt[2 * LAM_MLP2_KMAX * 16] __attribute__((aligned(64)));
    size_t row = 0;
    if (nn <= 2) /* two 16-row blocks at a time, while there are 32 rows */
        for (; row + 32 <= M; row += 32)
            lam__mlp2_block_avx512(nn, 2, row, M, K, H, x, ldx, w1, b1, ep1, w2, b2, ep2, y, ldy,
                                   xt);
    for (; row < M; row += 16)
        lam__mlp2_block_avx512(nn, 1, row, M, K, H, x, ldx, w1, b1, ep1, w2, b2, ep2, y, ldy, xt);
}

void lam__f32_mlp2_avx512(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                          const float *packed1, const float *bias1, lam__epilogue ep1,
                          const float *packed2, const float *bias2, lam__epilogue ep2, float *y,
                          size_t ldy)
{
    if (M == 0 || K > LAM_MLP2_KMAX)
        return;
    switch (N) {
#define LAM__CASE(n)                                                                           \
    case n:                                                                                    \
        lam__mlp2_all_avx512(n, M, K, H, x, ldx, packed1, bias1, ep1, packed2, bias2, ep2, y, \
                             ldy);                                                             \
        break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4)
    LAM__CASE(5) LAM__CASE(6) LAM__CASE(7) LAM__CASE(8)
#undef LAM__CASE
    default: break;
    }
}
