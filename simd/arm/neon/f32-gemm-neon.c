/* The NEON (AArch64) GEMM table entries: the descriptor of the NEON
 * microkernels for the portable driver (simd/gemm/f32-gemm-driver.c), and
 * thin wrappers.
 *
 *   tile    6 x 16 (f32-gemm-6x16-neon.c), KC = 256, MC = 96
 *   GEMV    M <= 2 (f32-gemv-4p-neon.c)
 *   lanes, direct: none (the packed path)
 *   mlp2    the driver's generic fused path (lam__mlp2_run): the same bits
 *           as two gemm calls, the hidden layer in stack chunks
 * Packing: panels of 16 columns. */
#include "config.h"

#include "simd/gemm/gemm-ukernel.h"
#include "simd/arm/neon/gemm-neon.h"

static const lam__gemm_ukernel lam__ukernel_neon = {
    .mr = 6, .nr = LAM__GEMM_NR, .kc = 256, .mc = 96,
    .tile = lam__f32_gemm_6x16_neon,
    .gemv_mmax = 2, .gemv = lam__f32_gemv_neon,
};

size_t lam__f32_gemm_packed_size_neon(size_t N, size_t K)
{
    return lam__gemm_packed_size(LAM__GEMM_NR, N, K);
}

void lam__f32_gemm_pack_neon(size_t N, size_t K, const float *W, float *packed)
{
    lam__gemm_pack(LAM__GEMM_NR, N, K, W, packed);
}

void lam__f32_gemm_neon(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                        const float *packed, const float *bias, float *y, size_t ldy,
                        lam__epilogue ep, size_t n_begin, size_t n_end)
{
    (void)N;
    lam__gemm_run(&lam__ukernel_neon, M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
}

void lam__f32_mlp2_neon(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                        const float *packed1, const float *bias1, lam__epilogue ep1,
                        const float *packed2, const float *bias2, lam__epilogue ep2, float *y,
                        size_t ldy)
{
    lam__mlp2_run(&lam__ukernel_neon, M, K, H, N, x, ldx, packed1, bias1, ep1, packed2, bias2,
                  ep2, y, ldy);
}
