/* The AVX2+FMA kernel table: overwrites every scalar entry.  Called by
 * simd/dispatch.c only after the CPU probe said yes (this file is built with
 * -mavx2 -mfma but runs no AVX instruction itself). */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_avx2(lam__kernel_table *k)
{
    k->isa = "avx2";
#define LAM__KT_ISA avx2
    LAM__KERNELS_INIT(k);
#undef LAM__KT_ISA
    LAM__GEMM_TABLE_INIT(k, avx2);
}
