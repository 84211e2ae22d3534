/* The portable GEMM driver: y = act(x . W^T + bias) (+ ep.add) (kernels.h)
 * for any ISA, through its microkernel descriptor (gemm-ukernel.h).
 *
 * Contract: any M, N, K (K = 0 gives act(bias)); output columns [n_begin,
 * n_end) of every row; row strides ldx, ldy in floats; no alignment needed;
 * W packed by lam__gemm_pack with the descriptor's NR; bias may be NULL; y
 * must not overlap x, W, bias or ep.add (K blocks keep partial sums in y).
 * The addend: the packed path's tiles add it in registers after the
 * activation; the whole-rows paths run on blocks of rows, each block's
 * addend added while it is in cache (lam__gemm_rows_add).
 * Accuracy: the FMA chain's rounding, |err| <= K eps sum_k |x_k w_k|, plus
 * the epilogue activation's error (the ISA's vmath bound).  Every path
 * gives the same bits (summation order in gemm-ukernel.h).
 *
 * The chooser, in this order:
 *   GEMV    M <= gemv_mmax (batch 1 and 2): x rows read in place, W
 *           streamed once; bandwidth-bound.
 *   lanes   narrow layers (wanted columns within 0 .. lanes_nmax - 1, M >=
 *           lanes_mmin, e.g. Linear(50, 2)): rows in the vector lanes.
 *   direct  small layers (K <= direct_kmax and at most direct_nmax wanted
 *           columns, e.g. 512 x 50 x 10): packing x would dominate, so the
 *           ISA's direct kernel reads x in place; an MR-row block goes
 *           through every panel while its rows are in L1.
 *   packed  everything else, BLIS order: K in KC blocks (a KC x NR W
 *           micro-panel stays in L1 while MC rows of x go past it); rows in
 *           MC blocks packed into MR-row micro-panels (MC x KC floats on the
 *           stack, L2 resident); then panels, then MR-row tiles.  While the
 *           last tile of a panel runs, the next panel's slice is prefetched. */
#include "config.h"

#include <string.h>

#include "simd/gemm/gemm-ukernel.h"

size_t lam__gemm_packed_size(size_t nr, size_t N, size_t K)
{
    return (N + nr - 1) / nr * nr * K;
}

/* Done once per weight matrix, so a plain loop: each panel reads nr rows of
 * W in parallel streams and writes one contiguous block. */
void lam__gemm_pack(size_t nr, size_t N, size_t K, const float *W, float *packed)
{
    for (size_t n0 = 0; n0 < N; n0 += nr) {
        float *dst = packed + n0 * K;
        const size_t nw = N - n0 < nr ? N - n0 : nr;
        for (size_t k = 0; k < K; k++) {
            size_t j = 0;
            for (; j < nw; j++)
                dst[k * nr + j] = W[(n0 + j) * K + k];
            for (; j < nr; j++)
                dst[k * nr + j] = 0.0f;
        }
    }
}

typedef float lam__v4f __attribute__((vector_size(16)));
typedef int lam__v4i __attribute__((vector_size(16)));
#if defined(__clang__)
#define LAM__SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define LAM__SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (lam__v4i){i, j, k, l})
#endif

/* Rows [0, mr) x k [0, kc) of x into a[k MR + i] (rows mr .. MR-1 are
 * not written: the tile does not use them). */
static void lam__pack_a(size_t MR, size_t mr, size_t kc, const float *x, size_t ldx, float *a)
{
    if (mr == 6 && MR == 6) {
        /* 4 k at a time: rows 0..3 transposed 4 x 4 in vector registers
         * (GCC vector extensions: SSE2 / NEON, no ISA flags), rows 4, 5 as
         * scalars */
        const float *r0 = x, *r1 = x + ldx, *r2 = x + 2 * ldx, *r3 = x + 3 * ldx,
                    *r4 = x + 4 * ldx, *r5 = x + 5 * ldx;
        size_t k = 0;
        for (; k + 4 <= kc; k += 4, a += 24) {
            lam__v4f v0, v1, v2, v3;
            memcpy(&v0, r0 + k, 16);
            memcpy(&v1, r1 + k, 16);
            memcpy(&v2, r2 + k, 16);
            memcpy(&v3, r3 + k, 16);
            const lam__v4f t0 = LAM__SHUF(v0, v1, 0, 4, 1, 5), t1 = LAM__SHUF(v2, v3, 0, 4, 1, 5);
            const lam__v4f t2 = LAM__SHUF(v0, v1, 2, 6, 3, 7), t3 = LAM__SHUF(v2, v3, 2, 6, 3, 7);
            const lam__v4f c0 = LAM__SHUF(t0, t1, 0, 1, 4, 5), c1 = LAM__SHUF(t0, t1, 2, 3, 6, 7);
            const lam__v4f c2 = LAM__SHUF(t2, t3, 0, 1, 4, 5), c3 = LAM__SHUF(t2, t3, 2, 3, 6, 7);
            memcpy(a, &c0, 16);
            a[4] = r4[k], a[5] = r5[k];
            memcpy(a + 6, &c1, 16);
            a[10] = r4[k + 1], a[11] = r5[k + 1];
            memcpy(a + 12, &c2, 16);
            a[16] = r4[k + 2], a[17] = r5[k + 2];
            memcpy(a + 18, &c3, 16);
            a[22] = r4[k + 3], a[23] = r5[k + 3];
        }
        for (; k < kc; k++, a += 6) {
            a[0] = r0[k], a[1] = r1[k], a[2] = r2[k];
            a[3] = r3[k], a[4] = r4[k], a[5] = r5[k];
        }
        return;
    }
    for (size_t k = 0; k < kc; k++, a += MR)
        for (size_t i = 0; i < mr; i++)
            a[i] = x[i * ldx + k];
}

/* Prefetch rows [0, rows) x columns [lo, hi) of an addend into L1: the
 * next tile's, while this one runs (an epilogue that waited for its addend
 * from memory measured +15% on 128 x 512 x 2048). */
static void lam__prefetch_add(const float *a, size_t lda, size_t rows, size_t lo, size_t hi)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = a + r * lda;
        for (size_t c = lo; c < hi; c += 16)
            __builtin_prefetch(row + c, 0, 3);
        __builtin_prefetch(row + hi - 1, 0, 3);
    }
}

/* The packed path over k in [k_begin, k_end) of a K-long chain (the whole
 * of it for gemm; mlp2 feeds its hidden chunks as K blocks). */
static void lam__gemm_packed(const lam__gemm_ukernel *u, size_t M, size_t K, size_t k_begin,
                             size_t k_end, const float *x, size_t ldx, const float *packed,
                             const float *bias, float *y, size_t ldy, lam__epilogue ep,
                             size_t n_begin, size_t n_end)
{
    float abuf[LAM__GEMM_ABUF_MAX] __attribute__((aligned(64)));
    const size_t MR = u->mr, NR = u->nr, KC = u->kc;
    const size_t MC = u->mc * KC <= LAM__GEMM_ABUF_MAX ? u->mc : LAM__GEMM_ABUF_MAX / KC / MR * MR;
    const size_t p_begin = n_begin / NR, p_end = (n_end + NR - 1) / NR;
    /* K blocks of equal depth (784 = 2 x 392 rather than 512 + 272): no
     * short block whose tiles are all overhead */
    const size_t nkb = (k_end - k_begin + KC - 1) / KC;
    const size_t KB = nkb > 1 ? (k_end - k_begin + nkb - 1) / nkb : KC;
    size_t pc = k_begin;
    do {
        const size_t kc = k_end - pc < KB ? k_end - pc : KB;
        const int flags = (pc == 0 ? LAM__GEMM_FIRST : 0) | (pc + kc >= K ? LAM__GEMM_LAST : 0);
        for (size_t ic = 0; ic < M; ic += MC) {
            const size_t mc = M - ic < MC ? M - ic : MC;
            for (size_t ir = 0; ir < mc; ir += MR) {
                const size_t mr = mc - ir < MR ? mc - ir : MR;
                lam__pack_a(MR, mr, kc, x + (ic + ir) * ldx + (pc - k_begin), ldx,
                            abuf + ir * kc);
            }
            for (size_t p = p_begin; p < p_end; p++) {
                const size_t n0 = p * NR;
                const size_t lo = n_begin > n0 ? n_begin - n0 : 0;
                const size_t hi = n_end - n0 < NR ? n_end - n0 : NR;
                const float *b = packed + n0 * K + pc * NR;
                const float *bp = bias ? bias + n0 : NULL;
                float *yp = y + ic * ldy + n0;
                const float *pf = p + 1 < p_end ? b + NR * K : NULL;
                lam__epilogue e = ep;
                const int padd = ep.add && (flags & LAM__GEMM_LAST);
                if (padd && p == p_begin) /* the first tile's addend */
                    lam__prefetch_add(ep.add + ic * ep.ldadd + n0, ep.ldadd, mc < MR ? mc : MR,
                                      lo, hi);
                for (size_t ir = 0; ir < mc; ir += MR) {
                    const size_t mr = mc - ir < MR ? mc - ir : MR;
                    if (ep.add) /* the tile's own rows and panel */
                        e.add = ep.add + (ic + ir) * ep.ldadd + n0;
                    if (padd && ir + MR < mc) /* the next tile's, below */
                        lam__prefetch_add(e.add + MR * ep.ldadd, ep.ldadd,
                                          mc - ir - MR < MR ? mc - ir - MR : MR, lo, hi);
                    else if (padd && p + 1 < p_end) /* the next panel's first */
                        lam__prefetch_add(ep.add + ic * ep.ldadd + n0 + NR, ep.ldadd,
                                          mc < MR ? mc : MR, 0,
                                          n_end - n0 - NR < NR ? n_end - n0 - NR : NR);
                    u->tile(mr, kc, abuf + ir * kc, b, ir + MR < mc ? NULL : pf, yp + ir * ldy,
                            ldy, lo, hi, flags, bp, e);
                }
            }
        }
        pc += kc;
    } while (pc < k_end);
}

/* Rows per block of a whole-rows path with an addend: a multiple of every
 * MR and lanes block (6, 8, 16), and at most 96 x 128 floats of y (48 KiB,
 * the direct path's widest), so a block is still in L1/L2 for the add. */
#define LAM__GEMM_ADD_ROWS 96

/* A whole-rows path with the addend: the path on LAM__GEMM_ADD_ROWS rows
 * at a time (no addend), then y += add over those rows, one IEEE add an
 * element after the finished value, as the tiles add it in registers. */
static void lam__gemm_rows_add(lam__gemm_rows_fn f, size_t M, size_t K, const float *x,
                               size_t ldx, const float *packed, const float *bias, float *y,
                               size_t ldy, lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const float *add = ep.add;
    const size_t lda = ep.ldadd;
    ep.add = NULL;
    for (size_t r0 = 0; r0 < M; r0 += LAM__GEMM_ADD_ROWS) {
        const size_t rows = M - r0 < LAM__GEMM_ADD_ROWS ? M - r0 : LAM__GEMM_ADD_ROWS;
        f(rows, K, x + r0 * ldx, ldx, packed, bias, y + r0 * ldy, ldy, ep, n_begin, n_end);
        for (size_t i = r0; i < r0 + rows; i++) {
            float *yr = y + i * ldy;
            const float *ar = add + i * lda;
            for (size_t n = n_begin; n < n_end; n++)
                yr[n] = yr[n] + ar[n];
        }
    }
}

void lam__gemm_run(const lam__gemm_ukernel *u, size_t M, size_t K, const float *x, size_t ldx,
                   const float *packed, const float *bias, float *y, size_t ldy, lam__epilogue ep,
                   size_t n_begin, size_t n_end)
{
    if (M == 0 || n_begin >= n_end)
        return;
    lam__gemm_rows_fn f = NULL;
    if (M <= u->gemv_mmax)
        f = u->gemv;
    else if (n_end <= u->lanes_nmax && M >= u->lanes_mmin)
        f = u->lanes;
    else if (n_end - n_begin <= u->direct_nmax && K <= u->direct_kmax)
        f = u->direct;
    if (!f)
        lam__gemm_packed(u, M, K, 0, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
    else if (ep.add)
        lam__gemm_rows_add(f, M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
    else
        f(M, K, x, ldx, packed, bias, y, ldy, ep, n_begin, n_end);
}

/* ---- two layers fused, for any descriptor ----
 *
 * Rows in blocks of LAM__MLP2_ROWS; the hidden layer in chunks of at most
 * LAM__MLP2_HC units, a multiple of NR (NR <= LAM__MLP2_HC), so that a
 * chunk starts a panel:
 * the chunk is one gemm (the path the chooser takes for those rows gives
 * the same bits as any other), then the K block [j0, j0 + hc) of the
 * second layer's chains over the hidden units, in order. */
#define LAM__MLP2_ROWS 32
#define LAM__MLP2_HC 128

void lam__mlp2_run(const lam__gemm_ukernel *u, size_t M, size_t K, size_t H, size_t N,
                   const float *x, size_t ldx, const float *packed1, const float *bias1,
                   lam__epilogue ep1, const float *packed2, const float *bias2, lam__epilogue ep2,
                   float *y, size_t ldy)
{
    float h[LAM__MLP2_ROWS * LAM__MLP2_HC];
    if (N == 0)
        return;
    const size_t HC = LAM__MLP2_HC / u->nr * u->nr;
    for (size_t r = 0; r < M; r += LAM__MLP2_ROWS) {
        const size_t rows = M - r < LAM__MLP2_ROWS ? M - r : LAM__MLP2_ROWS;
        size_t j0 = 0;
        do {
            const size_t hc = H - j0 < HC ? H - j0 : HC;
            if (hc)
                lam__gemm_run(u, rows, K, x + r * ldx, ldx, packed1 + j0 * K,
                              bias1 ? bias1 + j0 : NULL, h, LAM__MLP2_HC, ep1, 0, hc);
            lam__gemm_packed(u, rows, H, j0, j0 + hc, h, LAM__MLP2_HC, packed2, bias2,
                             y + r * ldy, ldy, ep2, 0, N);
            j0 += hc;
        } while (j0 < H);
    }
}
