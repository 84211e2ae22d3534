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

/* The GEMM family of one ISA, and its table initialiser. */
#define LAM__DECL_ISA(isa)                                                                      \
    size_t lam__f32_gemm_packed_size_##isa(size_t N, size_t K);                                \
    void lam__f32_gemm_pack_##isa(size_t N, size_t K, const float *W, float *packed);          \
    void lam__f32_gemm_##isa(size_t M, size_t N, size_t K, const float *x, size_t ldx,         \
                             const float *packed, const float *bias, float *y, size_t ldy,     \
                             lam__epilogue ep, size_t n_begin, size_t n_end);                   \
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
void lam__f32_mlp2_avx2(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                        const float *packed1, const float *bias1, lam__epilogue ep1,
                        const float *packed2, const float *bias2, lam__epilogue ep2, float *y,
                        size_t ldy);
#endif

#if defined(__x86_64__) && defined(LAM_HAVE_AVX512)
#define LAM__KT_ISA avx512
LAM__KERNELS_DECLARE()
#undef LAM__KT_ISA
void lam__kernels_init_avx512(lam__kernel_table *k);
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
