/* The AVX-512 GEMM family (AVX512F/VL/BW/DQ + FMA; simd/gemm/gemm-ukernel.h).
 *
 * The four table entries, lam__f32_<name>_avx512 with the kernels.h
 * signatures, come from the GEMM list (simd/gemm/gemm-kernels.h).  Call them
 * only on a CPU (and OS) with AVX-512: the caller checks.
 *
 * Packed W layout: panels of NR = 64 output columns (gemm-ukernel.h).
 * Summation order: the determinism contract of gemm-ukernel.h, so Linear
 * outputs are bit-identical to the scalar and AVX2 tables (IDENTITY, RELU
 * and the exact activations), and to the activation's bound otherwise.
 *
 * Epilogue activations: IDENTITY and RELU inline; the others run the
 * elementwise kernels over the finished tile in a stack buffer, through
 * LAM__GEMM_AVX512_VMATH (the AVX-512 table's kernels), so Linear + act
 * equals Linear then the table's act, bit for bit. */
#ifndef LAMINA_SIMD_X86_AVX512_GEMM_AVX512_H
#define LAMINA_SIMD_X86_AVX512_GEMM_AVX512_H

#include "simd/simd.h"

LAM_GEMM_KERNELS(LAM__GEMM_DECL, avx512)

/* The paths of the AVX-512 descriptor (f32-gemm-avx512.c; the tests call
 * the lanes kernel directly for the widths the chooser leaves to the
 * tile). */
void lam__f32_gemm_6x64_avx512(size_t mr, size_t kc, const float *a, const float *b,
                               const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                               int flags, const float *bias, lam__epilogue ep);
void lam__f32_gemm_direct_6x64_avx512(size_t M, size_t K, const float *x, size_t ldx,
                                      const float *packed, const float *bias, float *y,
                                      size_t ldy, lam__epilogue ep, size_t n_begin, size_t n_end);
void lam__f32_gemv_avx512(size_t M, size_t K, const float *x, size_t ldx, const float *packed,
                          const float *bias, float *y, size_t ldy, lam__epilogue ep,
                          size_t n_begin, size_t n_end);
void lam__f32_gemm_lanes_avx512(size_t M, size_t K, const float *x, size_t ldx,
                                const float *packed, const float *bias, float *y, size_t ldy,
                                lam__epilogue ep, size_t n_begin, size_t n_end);

#if defined(__AVX512F__)
#include <immintrin.h>

#include "simd/gemm/gemm-ukernel.h"

#ifndef LAM__INLINE
#define LAM__INLINE static inline __attribute__((always_inline))
#endif

#define LAM__GEMM_NR512 64

/* The elementwise kernels of the epilogue: lam__f32_v<name>_<this>. */
#ifndef LAM__GEMM_AVX512_VMATH
#define LAM__GEMM_AVX512_VMATH(name) lam__f32_v##name##_avx512
#endif

/* Lanes t of vector j (columns 16 j + t) with lo <= 16 j + t < hi. */
LAM__INLINE __mmask16 lam__colmask_avx512(int j, size_t lo, size_t hi)
{
    const size_t c0 = 16 * (size_t)j;
    const unsigned l = lo > c0 ? (unsigned)(lo - c0 < 16 ? lo - c0 : 16) : 0;
    const unsigned h = hi > c0 ? (unsigned)(hi - c0 < 16 ? hi - c0 : 16) : 0;
    return (__mmask16)(((1u << h) - 1u) & ~((1u << l) - 1u));
}

/* Bias-free activation of n floats in place, the table's elementwise
 * kernels (IDENTITY: nothing). */
void lam__gemm_act_avx512(size_t n, float *v, lam__epilogue ep);

#endif

#endif
