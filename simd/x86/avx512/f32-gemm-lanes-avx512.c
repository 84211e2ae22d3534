/* f32 GEMM for narrow layers (at most 16 output columns, e.g. a classifier
 * head Linear(50, 2)), AVX-512, rows in lanes.
 *
 * Contract: as lam__f32_gemm_avx512 for wanted columns [n_begin, n_end)
 * with n_end <= 16, any M and K.  The lanes hold 16 ROWS: x is transposed
 * in registers 4 k at a time (gemm-lanes-avx512.h), each W[n][k] is
 * broadcast from the packed panel, and every output column of the 16 rows
 * is one accumulator.  Several 16-row blocks run together when there are
 * few columns (4 blocks for <= 2 columns, 2 for <= 4), so that at least 4
 * independent chains are in flight.  K tails are masked loads; rows past M
 * in the last block read the last row again and are not stored (masked
 * scatters).  Each y element is the chain of gemm-ukernel.h, so the bits
 * of the other paths.  Accuracy: as lam__f32_gemm_avx512. */
#include "config.h"

#include "simd/x86/avx512/gemm-lanes-avx512.h"

#define LAM__NR LAM__GEMM_NR512

LAM__INLINE void lam__lanes_block_avx512(const int nn, const int nb, size_t row, size_t M,
                                         size_t K, const float *x, size_t ldx, const float *w,
                                         const float *bias, float *y, size_t ldy,
                                         lam__epilogue ep)
{
    const float *r[4][16];
    _Pragma("GCC unroll 4")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 16; i++) {
            const size_t m = row + 16 * (size_t)b + (size_t)i;
            r[b][i] = x + (m < M ? m : M - 1) * ldx;
        }
    __m512 acc[4][16];
    _Pragma("GCC unroll 4")
    for (int b = 0; b < nb; b++)
        _Pragma("GCC unroll 16")
        for (int j = 0; j < nn; j++)
            acc[b][j] = _mm512_setzero_ps();
#define LAM__KSTEP(kr_)                                                       \
    {                                                                         \
        __m512 t[4][4];                                                       \
        _Pragma("GCC unroll 4")                                               \
        for (int b = 0; b < nb; b++)                                          \
            lam__lanes_t4_avx512(r[b], k, kr_, t[b]);                         \
        _Pragma("GCC unroll 4")                                               \
        for (int q = 0; q < kr_; q++) {                                       \
            const float *wk = w + (k + (size_t)q) * LAM__NR;                  \
            _Pragma("GCC unroll 16")                                          \
            for (int j = 0; j < nn; j++) {                                    \
                const __m512 wj = _mm512_set1_ps(wk[j]);                      \
                _Pragma("GCC unroll 4")                                       \
                for (int b = 0; b < nb; b++)                                  \
                    acc[b][j] = _mm512_fmadd_ps(t[b][q], wj, acc[b][j]);      \
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
    lam__lanes_epilogue_avx512(nn, nb, acc, bias, nn, ep);
    lam__lanes_store_avx512(nn, nb, acc, y, ldy, row, M);
}

LAM__INLINE void lam__lanes_all_avx512(const int nn, size_t M, size_t K, const float *x,
                                       size_t ldx, const float *w, const float *bias, float *y,
                                       size_t ldy, lam__epilogue ep)
{
    const int nb = nn <= 2 ? 4 : nn <= 4 ? 2 : 1;
    for (size_t row = 0; row < M; row += 16 * (size_t)nb)
        lam__lanes_block_avx512(nn, nb, row, M, K, x, ldx, w, bias, y, ldy, ep);
}

void lam__f32_gemm_lanes_avx512(size_t M, size_t K, const float *x, size_t ldx,
                                const float *packed, const float *bias, float *y, size_t ldy,
                                lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const float *w = packed + n_begin;
    const float *b = bias ? bias + n_begin : NULL;
    y += n_begin;
    switch (n_end - n_begin) {
#define LAM__CASE(n) \
    case n: lam__lanes_all_avx512(n, M, K, x, ldx, w, b, y, ldy, ep); break;
    LAM__CASE(1) LAM__CASE(2) LAM__CASE(3) LAM__CASE(4) LAM__CASE(5) LAM__CASE(6)
    LAM__CASE(7) LAM__CASE(8) LAM__CASE(9) LAM__CASE(10) LAM__CASE(11) LAM__CASE(12)
    LAM__CASE(13) LAM__CASE(14) LAM__CASE(15) LAM__CASE(16)
#undef LAM__CASE
    default: break;
    }
}
