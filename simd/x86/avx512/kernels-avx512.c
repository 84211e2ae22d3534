/* The AVX-512 kernel table: every entry of the elementwise, row and binary
 * families (simd/kernel-list.h) is an AVX-512 kernel.  Called by
 * simd/dispatch.c only after the CPU probe said yes (this file is built
 * with the AVX-512 flags but runs no AVX instruction itself). */
#include "config.h"

#include "simd/simd.h"

void lam__kernels_init_avx512(lam__kernel_table *k)
{
    k->isa = "avx512";
#define LAM__KT_ISA avx512
    LAM__KERNELS_INIT(k);
#undef LAM__KT_ISA
    LAM__GEMM_TABLE_INIT(k, avx512);
}
