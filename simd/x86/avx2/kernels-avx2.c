/* The AVX2+FMA kernel table: overwrites every scalar entry.  Called by
 * simd/dispatch.c only after the CPU probe said yes (this file is built with
 * -mavx2 -mfma but runs no AVX instruction itself). */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_avx2(lam__kernel_table *k)
{
    k->isa = "avx2";
#define LAM__SET(name) k->name = lam__f32_v##name##_avx2;
    LAM_UNARY_KERNELS(LAM__SET)
    LAM_UNARY1_KERNELS(LAM__SET)
    LAM_BINARY_KERNELS(LAM__SET)
    LAM_BINARYC_KERNELS(LAM__SET)
#undef LAM__SET
    k->softplus = lam__f32_vsoftplus_avx2;
    k->softmax = lam__f32_softmax_avx2;
    k->log_softmax = lam__f32_log_softmax_avx2;
    k->layer_norm = lam__f32_layer_norm_avx2;
    LAM__GEMM_TABLE_INIT(k, avx2);
}
