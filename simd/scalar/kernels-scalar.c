/* The scalar kernel table: every entry, always compiled.  It is the fallback
 * the ISA tables start from and the oracle of the kernel tests. */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_scalar(lam__kernel_table *k)
{
    k->isa = "scalar";
#define LAM__KT_ISA scalar
    LAM__KERNELS_INIT(k);
#undef LAM__KT_ISA
    k->gemm_packed_size = lam__f32_gemm_packed_size_scalar;
    k->gemm_pack = lam__f32_gemm_pack_scalar;
    k->gemm = lam__f32_gemm_scalar;
}
