/* The GEMM family's kernel list: the contract of the table entries
 * gemm_packed_size, gemm_pack, gemm and mlp2 (kernels.h), one line each.
 * It generates the declarations of every ISA's symbols
 * (lam__f32_<name>_<isa>), the per-ISA table initialisers
 * (LAM__GEMM_TABLE_INIT) and drives the kernel tests (tests/simd/
 * test_gemm.c: every ISA's entry against the scalar twin and a float64
 * reference).  Adding an ISA means writing its microkernels and one
 * LAM_GEMM_KERNELS(LAM__GEMM_DECL, <isa>) / LAM__GEMM_TABLE_INIT(k, <isa>).
 *
 * X(isa, name, ret, params, nmax, kmax, bound, tails):
 *   name     the table field; the symbol is lam__f32_<name>_<isa>
 *   ret, params   its signature
 *   nmax, kmax    shape limits on N and K (0: none); M, and H for mlp2,
 *                 are unbounded
 *   bound    accuracy against the float64 value (LAM__GEMM_BOUND_*)
 *   tails    what every M / N / K / column range must give
 *
 * Bounds:
 *   LAM__GEMM_BOUND_LAYOUT  no arithmetic (a size, a copy into the ISA's
 *                           layout); tested through gemm
 *   LAM__GEMM_BOUND_CHAIN   each output is one fmaf chain over k in order
 *                           from 0, + bias, act (simd/gemm/gemm-ukernel.h):
 *                           bit-identical to the scalar twin for IDENTITY,
 *                           RELU, RELU6, LEAKY_RELU, and for every ISA and
 *                           path; |y - exact| <= 1.2 (K + 2) eps (sum |x w|
 *                           + |b|) + the activation's bound (4 ULP + 5e-7)
 *   LAM__GEMM_BOUND_TWO     the bits of two gemm calls of the same table
 *                           (a hidden buffer in between) */
#ifndef LAMINA_SIMD_GEMM_GEMM_KERNELS_H
#define LAMINA_SIMD_GEMM_GEMM_KERNELS_H

#include "simd/kernels.h"

enum { LAM__GEMM_BOUND_LAYOUT, LAM__GEMM_BOUND_CHAIN, LAM__GEMM_BOUND_TWO };

#define LAM_GEMM_KERNELS(X, isa)                                                                 \
    X(isa, gemm_packed_size, size_t, (size_t N, size_t K), 0, 0, LAM__GEMM_BOUND_LAYOUT,         \
      "any N, K (0 too): the floats gemm_pack writes")                                          \
    X(isa, gemm_pack, void, (size_t N, size_t K, const float *W, float *packed), 0, 0,          \
      LAM__GEMM_BOUND_LAYOUT, "any N, K; packed holds gemm_packed_size(N, K) floats")           \
    X(isa, gemm, void,                                                                           \
      (size_t M, size_t N, size_t K, const float *x, size_t ldx, const float *packed,           \
       const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t n_begin,               \
       size_t n_end),                                                                            \
      0, 0, LAM__GEMM_BOUND_CHAIN,                                                               \
      "any M, N, K (K = 0: act(bias)); columns [n_begin, n_end) only, nothing else written; "   \
      "same bits whatever the path, row split or column range")                                 \
    X(isa, mlp2, void,                                                                           \
      (size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,                      \
       const float *packed1, const float *bias1, lam__epilogue ep1, const float *packed2,       \
       const float *bias2, lam__epilogue ep2, float *y, size_t ldy),                            \
      LAM_MLP2_NMAX, LAM_MLP2_KMAX, LAM__GEMM_BOUND_TWO,                                         \
      "any M, H; N <= LAM_MLP2_NMAX, K <= LAM_MLP2_KMAX; columns [0, N) of y only")

#define LAM__GEMM_DECL(isa, name, ret, params, nmax, kmax, bound, tails) \
    ret lam__f32_##name##_##isa params;
#define LAM__GEMM_SET(isa, name, ret, params, nmax, kmax, bound, tails) \
    lam__gemm_table_->name = lam__f32_##name##_##isa;
/* Point table k's GEMM entries at ISA isa's kernels. */
#define LAM__GEMM_TABLE_INIT(k, isa)                    \
    do {                                                \
        lam__kernel_table *lam__gemm_table_ = (k);      \
        LAM_GEMM_KERNELS(LAM__GEMM_SET, isa)            \
    } while (0)

#endif
