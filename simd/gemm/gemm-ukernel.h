/* The GEMM framework: one portable driver (f32-gemm-driver.c), per-ISA
 * register-level microkernels described by a lam__gemm_ukernel.
 *
 * The BLIS split: the driver owns everything that is not register code —
 * the choice of path, the K / M / N blocking loops, the packing of x rows
 * into MR-row micro-panels and of W into NR-column panels, the generic
 * fused two-layer path — and calls the ISA's microkernels through the
 * descriptor, once per MR x NR x KC tile (packed path), so an indirect call
 * costs nothing measurable.  An ISA provides the
 * tile, and optionally a GEMV (M <= 2), a rows-in-lanes path for narrow
 * layers, a direct row-block kernel and a fused mlp2 of its own; the table
 * entries are thin wrappers that pass the descriptor (f32-gemm-<isa>.c).
 *
 * Packed W layout (lam__gemm_pack): panels of NR output columns; panel p
 * holds W[NR p + j][k] at packed[p NR K + NR k + j], zero for NR p + j >= N,
 * so a KC-slice of a panel is one contiguous KC x NR block.
 *
 * Summation order (the determinism contract, every ISA and path): each y
 * element is one fused multiply-add chain over k = 0 .. K-1 in order,
 * starting from 0 (K blocks continue the chain from the stored float), then
 * + bias, then the activation, then + the addend (lam__epilogue.add: one
 * add, after everything else).  So results are bit-identical whatever M,
 * the column range, the tile position, the path (GEMV, lanes, direct,
 * packed) or the ISA (the activation aside, which each ISA evaluates within
 * its stated bound; IDENTITY, RELU, RELU6 and LEAKY_RELU are exact). */
#ifndef LAMINA_SIMD_GEMM_GEMM_UKERNEL_H
#define LAMINA_SIMD_GEMM_GEMM_UKERNEL_H

#include <stddef.h>

#include "simd/kernels.h"

/* Tile flags. */
#define LAM__GEMM_FIRST 1 /* the chain starts from 0 (else from y) */
#define LAM__GEMM_LAST 2  /* the chain ends here: + bias, activation */

/* One tile: rows [0, mr) (1 <= mr <= MR) x one NR-column panel, k in
 * [0, kc).  a: x packed by the driver, element (row i, k) at a[k MR + i]
 * (rows mr .. MR-1 undefined: not to be used).  b: the panel's KC-slice
 * (NR k + j).  pf: the next panel's slice to prefetch while this tile
 * runs, or NULL.  Only columns [lo, hi) of the panel are read from (when
 * not FIRST) and written to y (row stride ldy); bias: the panel's NR
 * floats or NULL, added when LAST, then ep's activation, then (ep.add not
 * NULL) the addend: the tile's own rows and columns, row i column j at
 * ep.add[i ep.ldadd + j] (the driver points it at the tile). */
typedef void (*lam__gemm_tile_fn)(size_t mr, size_t kc, const float *a, const float *b,
                                  const float *pf, float *y, size_t ldy, size_t lo, size_t hi,
                                  int flags, const float *bias, lam__epilogue ep);

/* A whole-rows path (GEMV, lanes, direct): the gemm entry without N.  These
 * get no addend (ep.add NULL): the driver runs them on blocks of rows and
 * adds the addend to each block while it is in L1. */
typedef void (*lam__gemm_rows_fn)(size_t M, size_t K, const float *x, size_t ldx,
                                  const float *packed, const float *bias, float *y, size_t ldy,
                                  lam__epilogue ep, size_t n_begin, size_t n_end);

typedef void (*lam__mlp2_fn)(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                             const float *packed1, const float *bias1, lam__epilogue ep1,
                             const float *packed2, const float *bias2, lam__epilogue ep2,
                             float *y, size_t ldy);

typedef struct lam__gemm_ukernel {
    size_t mr, nr;   /* tile rows; panel columns (the packing's NR) */
    size_t kc, mc;   /* K block; rows per packed x block (multiple of mr) */
    lam__gemm_tile_fn tile;
    /* M <= gemv_mmax rows (0: none) */
    size_t gemv_mmax;
    lam__gemm_rows_fn gemv;
    /* n_end <= lanes_nmax and M >= lanes_mmin (lanes_nmax 0: none) */
    size_t lanes_nmax, lanes_mmin;
    lam__gemm_rows_fn lanes;
    /* the direct (no packing) path: K <= direct_kmax and at most
     * direct_nmax wanted columns (direct_nmax 0: none).  The ISA's kernel
     * runs each block of MR rows through every panel while the rows are in
     * L1, reading x in place: tiny layers, where a call per tile measured
     * +22% instructions and a call per row block +9% (1024 x 50 x 10). */
    size_t direct_kmax, direct_nmax;
    lam__gemm_rows_fn direct;
} lam__gemm_ukernel;

/* The largest mc * kc of any descriptor (the packed x block lives on the
 * stack: 24576 floats = 96 KiB). */
#define LAM__GEMM_ABUF_MAX (96 * 256)

/* The gemm table entry through descriptor u (kernels.h contract). */
void lam__gemm_run(const lam__gemm_ukernel *u, size_t M, size_t K, const float *x, size_t ldx,
                   const float *packed, const float *bias, float *y, size_t ldy, lam__epilogue ep,
                   size_t n_begin, size_t n_end);

/* gemm_packed_size / gemm_pack for panels of nr columns. */
size_t lam__gemm_packed_size(size_t nr, size_t N, size_t K);
void lam__gemm_pack(size_t nr, size_t N, size_t K, const float *W, float *packed);

/* The mlp2 table entry for any descriptor: rows in blocks, the hidden layer
 * in chunks on the stack, each chunk computed by the gemm path and fed at
 * once into the output chains (continued K blocks), so the bits are those
 * of gemm into a hidden buffer, then gemm (kernels.h). */
void lam__mlp2_run(const lam__gemm_ukernel *u, size_t M, size_t K, size_t H, size_t N,
                   const float *x, size_t ldx, const float *packed1, const float *bias1,
                   lam__epilogue ep1, const float *packed2, const float *bias2, lam__epilogue ep2,
                   float *y, size_t ldy);

#endif
