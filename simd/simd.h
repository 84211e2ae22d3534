/* Internal declarations of the kernel layer: every kernel's symbol, the
 * per-ISA table initialisers and the CPU probe.  Not installed; included by
 * simd/ sources, by the kernel tests and by the kernel benchmarks.
 *
 * Naming: lam__f32_<op>_<isa>, op as in the table field with a leading 'v'
 * for elementwise kernels (lam__f32_vsigmoid_avx2).  The X-macro lists below
 * are the single list of elementwise kernels: the table initialisers, the
 * tests and the benchmarks expand them. */
#ifndef LAMINA_SIMD_SIMD_H
#define LAMINA_SIMD_SIMD_H

#include "simd/kernels.h"
#include "simd/gemm/gemm-kernels.h" /* the GEMM family's list */

/* X(name): lam__unary_fn kernels, table field `name`. */
#define LAM_UNARY_KERNELS(X) \
    X(relu) X(relu6) X(sigmoid) X(tanh) X(gelu) X(gelu_tanh) X(silu) X(exp)
/* X(name): lam__unary1_fn kernels (one float parameter). */
#define LAM_UNARY1_KERNELS(X) X(leaky_relu) X(elu)
/* X(name): lam__binary_fn kernels (two arrays), table field `name`. */
#define LAM_BINARY_KERNELS(X) X(add) X(sub) X(mul) X(div)
/* X(name): lam__binaryc_fn kernels (an array and a scalar), table field `name`. */
#define LAM_BINARYC_KERNELS(X) X(addc) X(subc) X(rsubc) X(mulc) X(divc) X(rdivc)

#define LAM__DECL_UNARY(isa, name) void lam__f32_v##name##_##isa(size_t n, const float *x, float *y);
#define LAM__DECL_UNARY1(isa, name) \
    void lam__f32_v##name##_##isa(size_t n, const float *x, float *y, float a);
#define LAM__DECL_BINARY(isa, name) \
    void lam__f32_v##name##_##isa(size_t n, const float *a, const float *b, float *y);
#define LAM__DECL_BINARYC(isa, name) \
    void lam__f32_v##name##_##isa(size_t n, const float *a, float c, float *y);
#define LAM__DECL_ISA(isa)                                                                      \
    void lam__f32_vsoftplus_##isa(size_t n, const float *x, float *y, float beta, float thr);   \
    void lam__f32_softmax_##isa(size_t n, const float *x, float *y);                           \
    void lam__f32_log_softmax_##isa(size_t n, const float *x, float *y);                       \
    void lam__f32_layer_norm_##isa(size_t n, const float *x, float *y, const float *gamma,     \
                                   const float *beta, float eps);                              \
    LAM_GEMM_KERNELS(LAM__GEMM_DECL, isa)                                                      \
    void lam__kernels_init_##isa(lam__kernel_table *k);

#define LAM__DECL_SCALAR_UNARY(name) LAM__DECL_UNARY(scalar, name)
#define LAM__DECL_SCALAR_UNARY1(name) LAM__DECL_UNARY1(scalar, name)
#define LAM__DECL_SCALAR_BINARY(name) LAM__DECL_BINARY(scalar, name)
#define LAM__DECL_SCALAR_BINARYC(name) LAM__DECL_BINARYC(scalar, name)
LAM_UNARY_KERNELS(LAM__DECL_SCALAR_UNARY)
LAM_UNARY1_KERNELS(LAM__DECL_SCALAR_UNARY1)
LAM_BINARY_KERNELS(LAM__DECL_SCALAR_BINARY)
LAM_BINARYC_KERNELS(LAM__DECL_SCALAR_BINARYC)
#undef LAM__DECL_SCALAR_UNARY
#undef LAM__DECL_SCALAR_UNARY1
#undef LAM__DECL_SCALAR_BINARY
#undef LAM__DECL_SCALAR_BINARYC
LAM__DECL_ISA(scalar)

#if defined(__x86_64__)
#define LAM__DECL_AVX2_UNARY(name) LAM__DECL_UNARY(avx2, name)
#define LAM__DECL_AVX2_UNARY1(name) LAM__DECL_UNARY1(avx2, name)
#define LAM__DECL_AVX2_BINARY(name) LAM__DECL_BINARY(avx2, name)
#define LAM__DECL_AVX2_BINARYC(name) LAM__DECL_BINARYC(avx2, name)
LAM_UNARY_KERNELS(LAM__DECL_AVX2_UNARY)
LAM_UNARY1_KERNELS(LAM__DECL_AVX2_UNARY1)
LAM_BINARY_KERNELS(LAM__DECL_AVX2_BINARY)
LAM_BINARYC_KERNELS(LAM__DECL_AVX2_BINARYC)
#undef LAM__DECL_AVX2_UNARY
#undef LAM__DECL_AVX2_UNARY1
#undef LAM__DECL_AVX2_BINARY
#undef LAM__DECL_AVX2_BINARYC
LAM__DECL_ISA(avx2)
#endif

#if defined(__aarch64__)
#define LAM__DECL_NEON_UNARY(name) LAM__DECL_UNARY(neon, name)
#define LAM__DECL_NEON_UNARY1(name) LAM__DECL_UNARY1(neon, name)
#define LAM__DECL_NEON_BINARY(name) LAM__DECL_BINARY(neon, name)
#define LAM__DECL_NEON_BINARYC(name) LAM__DECL_BINARYC(neon, name)
LAM_UNARY_KERNELS(LAM__DECL_NEON_UNARY)
LAM_UNARY1_KERNELS(LAM__DECL_NEON_UNARY1)
LAM_BINARY_KERNELS(LAM__DECL_NEON_BINARY)
LAM_BINARYC_KERNELS(LAM__DECL_NEON_BINARYC)
#undef LAM__DECL_NEON_UNARY
#undef LAM__DECL_NEON_UNARY1
#undef LAM__DECL_NEON_BINARY
#undef LAM__DECL_NEON_BINARYC
LAM__DECL_ISA(neon)
#endif

/* CPU probe (simd/cpu.c, compiled without ISA flags): nonzero when the CPU
 * has AVX2 and FMA and the OS saves ymm state (CPUID + XGETBV). */
int lam__cpu_has_avx2_fma(void);

#endif
