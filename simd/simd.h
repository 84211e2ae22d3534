/* Internal declarations of the kernel layer: every kernel's symbol, the
 * per-ISA table initialisers and the CPU probe.  Not installed; included by
 * simd/ sources, by the kernel tests and by the kernel benchmarks.
 *
 * Naming: lam__f32_<op>_<isa>, op as in the table field with a leading 'v'
 * for elementwise kernels (lam__f32_vsigmoid_avx2).  The kernel lists of
 * simd/kernel-list.h are the single list of elementwise, row and binary
 * kernels: the declarations below, the table initialisers, the tests and
 * the benchmarks expand them. */
#ifndef LAMINA_SIMD_SIMD_H
#define LAMINA_SIMD_SIMD_H

#include "simd/kernels.h"
#include "simd/gemm/gemm-kernels.h" /* the GEMM family's list */

/* The GEMM family of one ISA, and its table initialiser. */
#define LAM__DECL_ISA(isa)                                                                      \
    LAM_GEMM_KERNELS(LAM__GEMM_DECL, isa)                                                      \
    void lam__kernels_init_##isa(lam__kernel_table *k);

#define LAM__KT_ISA scalar
LAM__KERNELS_DECLARE()
#undef LAM__KT_ISA
LAM__DECL_ISA(scalar)

#if defined(__x86_64__)
#define LAM__KT_ISA avx2
LAM__KERNELS_DECLARE()
#undef LAM__KT_ISA
LAM__DECL_ISA(avx2)
#endif

#if defined(__x86_64__) && defined(LAM_HAVE_AVX512)
#define LAM__KT_ISA avx512
LAM__KERNELS_DECLARE()
#undef LAM__KT_ISA
LAM__DECL_ISA(avx512)
#endif

#if defined(__aarch64__)
#define LAM__KT_ISA neon
LAM__KERNELS_DECLARE()
#undef LAM__KT_ISA
LAM__DECL_ISA(neon)
#endif

/* CPU probe (simd/cpu.c, compiled without ISA flags): nonzero when the CPU
 * has AVX2 and FMA and the OS saves ymm state (CPUID + XGETBV). */
int lam__cpu_has_avx2_fma(void);
/* Nonzero when, in addition, the CPU has AVX-512 F, VL, BW and DQ and the OS
 * saves the opmask and zmm state (XCR0 bits 5, 6, 7). */
int lam__cpu_has_avx512(void);

#endif
