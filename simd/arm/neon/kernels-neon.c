/* The NEON (AArch64) kernel table: overwrites every scalar entry.  Called by
 * simd/dispatch.c on AArch64, where Advanced SIMD is baseline. */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_neon(lam__kernel_table *k)
{
    k->isa = "neon";
#define LAM__KT_ISA neon
    LAM__KERNELS_INIT(k);
#undef LAM__KT_ISA
    LAM__GEMM_TABLE_INIT(k, neon);
}
