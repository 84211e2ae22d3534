/* The AVX2+FMA GEMM table entries: the descriptor of the AVX2 microkernels
 * for the portable driver (simd/gemm/f32-gemm-driver.c), and thin wrappers.
 *
 *   tile    6 x 16 (f32-gemm-6x16-avx2.c), KC = 256 (a 16 x KC W
 *           micro-panel is 16 KiB, L1), MC = 96 (96 x 256 floats, L2)
 *   GEMV    M <= 2 (f32-gemv-4p-avx2.c)
 *   lanes   n_end <= 8 and M >= 8 (f32-gemm-lanes-avx2.c)
 *   direct  K <= 256 and at most 64 wanted columns (f32-gemm-6x16-avx2.c)
 *   mlp2    f32-mlp2-lanes-avx2.c (its own register kernel)
 * Packing: panels of 16 columns.  Read-only data and calls only: no AVX
 * instruction runs here. */
#include "config.h"

#include "simd/gemm/gemm-ukernel.h"
#include "simd/x86/avx2/gemm-avx2.h"

static const lam__gemm_ukernel lam__ukernel_avx2 = {
    .mr = 6, .nr = LAM__GEMM_NR, .kc = 256, .mc = 96,
    .tile = lam__f32_gemm_6x16_avx2,
    .gemv_mmax = 2, .gemv = lam__f32_gemv_avx2,
    .lanes_nmax = 8, .lanes_mmin = 8, .lanes = lam__f32_gemm_lanes_avx2,
    .direct_kmax = 256, .direct_nmax = 64, .direct = lam__f32_gemm_direct_6x16_avx2,
};

size_t lam__f32_gemm_packed_size_avx2(size_t N, size_t K)
{
    return lam__gemm_packed_size(LAM__GEMM_NR, N, K);
}

void lam__f32_gemm_pack_avx2(size_t N, size_t K, const float *W, float *packed)
{
    lam__gemm_pack(LAM__GEMM_NR, N, K, W, packed);
}

void lam__f32_gemm_avx2(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                        const float *packed, const float *bias, float *y, size_t ldy,
                        lam__epilogue ep, size_t n_begin, size_t n_end)
{
    (void)N;
    lam__gemm_run(&lam__ukernel_avx2, M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
}
