/* The AVX-512 GEMM table entries: the descriptor of the AVX-512
 * microkernels for the portable driver (simd/gemm/f32-gemm-driver.c), and
 * thin wrappers (declared in gemm-avx512.h; the AVX-512 table points at
 * them).
 *
 *   tile    6 x 64 (f32-gemm-6x64-avx512.c), KC = 512, MC = 48 (x block
 *           96 KiB and W slice 128 KiB, both L2; measured against KC / MC
 *           = 192/126, 256/60, 256/96, 384/60, 384/120: within noise here,
 *           512/48 ahead on 1024^3 and 256 x 1024 x 784)
 *   GEMV    M <= 2 (f32-gemv-avx512.c)
 *   lanes   n_end <= 12 and M >= 16 (f32-gemm-lanes-avx512.c, which takes
 *           up to 16): measured against the direct path, GFLOP/s lanes vs
 *           direct: 512x10x50 59.6 / 50.9, 256x9x100 74.1 / 52.3, 512x12x64
 *           67.8 / 66.5, but 512x14x64 78.2 / 100.1, 512x16x64 72.6 / 94.5
 *           (a 13..16-column panel is one full zmm for the tile)
 *   direct  K <= 512 and at most 128 wanted columns (f32-gemm-6x64-avx512.c)
 *   mlp2    f32-mlp2-lanes-avx512.c
 * Packing: panels of 64 columns.  Read-only data and calls only. */
#include "config.h"

#include "simd/x86/avx512/gemm-avx512.h"

/* (-D overrides: for the blocking measurements only) */
#ifndef LAM__KC512
#define LAM__KC512 512
#endif
#ifndef LAM__LANES512
#define LAM__LANES512 12
#endif
#ifndef LAM__MC512
#define LAM__MC512 48
#endif

static const lam__gemm_ukernel lam__ukernel_avx512 = {
    .mr = 6, .nr = LAM__GEMM_NR512, .kc = LAM__KC512, .mc = LAM__MC512,
    .tile = lam__f32_gemm_6x64_avx512,
    .gemv_mmax = 2, .gemv = lam__f32_gemv_avx512,
    .lanes_nmax = LAM__LANES512, .lanes_mmin = 16, .lanes = lam__f32_gemm_lanes_avx512,
    .direct_kmax = 512, .direct_nmax = 128, .direct = lam__f32_gemm_direct_6x64_avx512,
};

size_t lam__f32_gemm_packed_size_avx512(size_t N, size_t K)
{
    return lam__gemm_packed_size(LAM__GEMM_NR512, N, K);
}

void lam__f32_gemm_pack_avx512(size_t N, size_t K, const float *W, float *packed)
{
    lam__gemm_pack(LAM__GEMM_NR512, N, K, W, packed);
}

void lam__f32_gemm_avx512(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                          const float *packed, const float *bias, float *y, size_t ldy,
                          lam__epilogue ep, size_t n_begin, size_t n_end)
{
    (void)N;
    lam__gemm_run(&lam__ukernel_avx512, M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
}
