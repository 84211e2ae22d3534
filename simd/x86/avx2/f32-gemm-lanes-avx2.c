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

#include "simd/x86/avx2/gemm-lanes-avx2.h"

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

