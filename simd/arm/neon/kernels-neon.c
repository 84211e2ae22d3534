/* The NEON (AArch64) kernel table: overwrites every scalar entry.  Called by
 * simd/dispatch.c on AArch64, where Advanced SIMD is baseline. */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_neon(lam__kernel_table *k)
{
    k->isa = "neon";
#define LAM__SET(name) k->name = lam__f32_v##name##_neon;
    LAM_UNARY_KERNELS(LAM__SET)
    LAM_UNARY1_KERNELS(LAM__SET)
    LAM_BINARY_KERNELS(LAM__SET)
    LAM_BINARYC_KERNELS(LAM__SET)
#undef LAM__SET
    k->softplus = lam__f32_vsoftplus_neon;
    k->softmax = lam__f32_softmax_neon;
    k->log_softmax = lam__f32_log_softmax_neon;
    k->layer_norm = lam__f32_layer_norm_neon;
    LAM__GEMM_TABLE_INIT(k, neon);
}
