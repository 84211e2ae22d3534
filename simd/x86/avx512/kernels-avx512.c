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
    /* GEMM: AVX-512 microkernels wired at merge */
    k->gemm_packed_size = lam__f32_gemm_packed_size_avx2;
    k->gemm_pack = lam__f32_gemm_pack_avx2;
    k->gemm = lam__f32_gemm_avx2;
    k->mlp2 = lam__f32_mlp2_avx2;
    /* The activations a GEMM epilogue fuses must give the bits of that
     * epilogue (Linear+act == Linear then act, the fused mlp2 == layer by
     * layer): with the AVX2 GEMM above (epilogue lam__gemm_act_avx2) the
     * non-exact ones are AVX2's too.  GEMM: AVX-512 microkernels wired at
     * merge, and with them (epilogue lam__gemm_act_avx512) these five lines
     * go: the AVX-512 kernels are tested already (tests/simd, "avx512+"). */
    k->sigmoid = lam__f32_vsigmoid_avx2;
    k->tanh = lam__f32_vtanh_avx2;
    k->gelu = lam__f32_vgelu_avx2;
    k->gelu_tanh = lam__f32_vgelu_tanh_avx2;
    k->silu = lam__f32_vsilu_avx2;
}
