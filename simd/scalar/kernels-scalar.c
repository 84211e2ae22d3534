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
    LAM__GEMM_TABLE_INIT(k, scalar);
}
