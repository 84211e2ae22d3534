/* The scalar kernel table: every entry, always compiled.  It is the fallback
 * the ISA tables start from and the oracle of the kernel tests. */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_scalar(lam__kernel_table *k)
{
    k->isa = "scalar";
#define LAM__SET(name) k->name = lam__f32_v##name##_scalar;
    LAM_UNARY_KERNELS(LAM__SET)
    LAM_UNARY1_KERNELS(LAM__SET)
    LAM_BINARY_KERNELS(LAM__SET)
    LAM_BINARYC_KERNELS(LAM__SET)
#undef LAM__SET
    k->softplus = lam__f32_vsoftplus_scalar;
    k->softmax = lam__f32_softmax_scalar;
    k->log_softmax = lam__f32_log_softmax_scalar;
    k->layer_norm = lam__f32_layer_norm_scalar;
    LAM__GEMM_TABLE_INIT(k, scalar);
}
