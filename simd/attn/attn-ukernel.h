/* The attention framework: one portable driver (f32-attention-driver.c)
 * and, per ISA, three register-level pieces described by a
 * lam__attn_ukernel, in the BLIS split the GEMM uses (gemm-ukernel.h).
 *
 * The driver takes query rows in blocks of LAM__ATTN_QB and keys in blocks
 * of LAM__ATTN_KB.  For each key block it packs K's block transposed (d
 * major, LAM__ATTN_KB keys a row, zero beyond the last key; d in chunks of
 * LAM__ATTN_DC), has the ISA compute the block's scores, applies scale and
 * masks (portable C: the same bits on every ISA), then either runs the
 * online softmax step and the P V accumulation (no weights: only a
 * LAM__ATTN_QB x LAM__ATTN_KB score block ever exists; up to LAM__ATTN_QG
 * query blocks take each packed key block in turn, so a block is packed
 * once for them all) or copies the scores into the weights rows, which are
 * softmaxed whole before P V.
 *
 * Determinism: every score is one fma chain over d in order; every output
 * element is o = o alpha, then one fma chain over the block's keys in
 * order; a row never sees another row's data, so the bits do not depend on
 * the rows a call is given or the tile a row falls in. */
#ifndef LAMINA_SIMD_ATTN_ATTN_UKERNEL_H
#define LAMINA_SIMD_ATTN_ATTN_UKERNEL_H

#include <stddef.h>

#include "simd/kernels.h"

#define LAM__ATTN_QB 96 /* query rows a block (a multiple of every mr) */
#define LAM__ATTN_KB 64 /* keys a block (a multiple of every ISA's key tile) */
#define LAM__ATTN_DC 128 /* d a packed chunk */
#define LAM__ATTN_QG 4 /* query blocks sharing a packed key block (no weights) */

/* s[r lds + j] = (first ? 0 : s[r lds + j]) + sum_{d < dc} q[r ldq + d]
 * kt[d kb + j], as one fma chain over d, for rows r < mr and all j < kb,
 * then times scale when last (the chain's end: one rounding more). */
typedef void (*lam__attn_score_fn)(size_t mr, size_t dc, const float *q, size_t ldq,
                                   const float *kt, size_t kb, float *s, size_t lds, int first,
                                   int last, float scale);
/* The online softmax step of one row over nk scores s (already scaled and
 * masked): m' = max(*m, max s); s[j] = exp(s[j] - m'); *alpha = exp(*m - m');
 * *l = *l alpha + sum s; *m = m'.  When m' = -inf the s become 0 and
 * *alpha = 1. */
typedef void (*lam__attn_rowstep_fn)(size_t nk, float *s, float *m, float *l, float *alpha);
/* o[r ldo + c] = (alpha ? o[r ldo + c] alpha[r] : 0) + sum_{j < nk} p[r ldp + j]
 * v[j ldv + c], one fma chain over j in order, rows r < mr, columns c < dv. */
typedef void (*lam__attn_pv_fn)(size_t mr, size_t nk, const float *p, size_t ldp, const float *v,
                                size_t ldv, float *o, size_t ldo, size_t dv, const float *alpha);

typedef struct lam__attn_ukernel {
    size_t mr; /* rows of a score or P V tile (divides LAM__ATTN_QB) */
    lam__attn_score_fn score;
    lam__attn_rowstep_fn rowstep;
    lam__attn_pv_fn pv;
    lam__unary_fn softmax; /* the table's softmax row kernel (weights) */
} lam__attn_ukernel;

/* The attention table entry through descriptor u (kernel-list.h contract). */
void lam__attn_run(const lam__attn_ukernel *u, const lam__attn_args *a, size_t i_begin,
                   size_t i_end);

#endif
