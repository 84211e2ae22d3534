/* The portable attention driver (attn-ukernel.h): blocking, packing, scale
 * and masks, the online-softmax bookkeeping.  No ISA flags: the ISA's
 * pieces come through the descriptor.  Stack: LAM__ATTN_DC x LAM__ATTN_KB
 * packed keys (32 KiB), a LAM__ATTN_QB x LAM__ATTN_KB score block (24 KiB)
 * and the online softmax's m, l, alpha for a group of query blocks
 * (4.5 KiB). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "simd/attn/attn-ukernel.h"

typedef float lam__attn_v4f __attribute__((vector_size(16)));
typedef int lam__attn_v4i __attribute__((vector_size(16)));
#if defined(__clang__)
#define LAM__ATTN_SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define LAM__ATTN_SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (lam__attn_v4i){i, j, k, l})
#endif

/* kt[d kb + j] = k[(j0 + j) ldk + d0 + d] for j < nk, d < dc: the key block
 * transposed, 4 x 4 tiles through vector shuffles (plain data movement: the
 * same floats as an element loop, which ran ~4x slower, one strided store
 * each, and took 15% of a 1,024-token MultiheadAttention). */
static void lam__attn_pack_kt(const lam__attn_args *a, size_t j0, size_t nk, size_t d0,
                              size_t dc, float *kt)
{
    size_t j = 0;
    for (; j + 4 <= nk; j += 4) {
        const float *r0 = a->k + (j0 + j) * a->ldk + d0, *r1 = r0 + a->ldk, *r2 = r1 + a->ldk,
                    *r3 = r2 + a->ldk;
        size_t d = 0;
        for (; d + 4 <= dc; d += 4) {
            lam__attn_v4f v0, v1, v2, v3;
            memcpy(&v0, r0 + d, 16);
            memcpy(&v1, r1 + d, 16);
            memcpy(&v2, r2 + d, 16);
            memcpy(&v3, r3 + d, 16);
            const lam__attn_v4f t0 = LAM__ATTN_SHUF(v0, v1, 0, 4, 1, 5),
                                t1 = LAM__ATTN_SHUF(v2, v3, 0, 4, 1, 5),
                                t2 = LAM__ATTN_SHUF(v0, v1, 2, 6, 3, 7),
                                t3 = LAM__ATTN_SHUF(v2, v3, 2, 6, 3, 7);
            const lam__attn_v4f c0 = LAM__ATTN_SHUF(t0, t1, 0, 1, 4, 5),
                                c1 = LAM__ATTN_SHUF(t0, t1, 2, 3, 6, 7),
                                c2 = LAM__ATTN_SHUF(t2, t3, 0, 1, 4, 5),
                                c3 = LAM__ATTN_SHUF(t2, t3, 2, 3, 6, 7);
            memcpy(kt + (d + 0) * LAM__ATTN_KB + j, &c0, 16);
            memcpy(kt + (d + 1) * LAM__ATTN_KB + j, &c1, 16);
            memcpy(kt + (d + 2) * LAM__ATTN_KB + j, &c2, 16);
            memcpy(kt + (d + 3) * LAM__ATTN_KB + j, &c3, 16);
        }
        for (; d < dc; d++) {
            float *o = kt + d * LAM__ATTN_KB + j;
            o[0] = r0[d], o[1] = r1[d], o[2] = r2[d], o[3] = r3[d];
        }
    }
    for (; j < nk; j++) {
        const float *kr = a->k + (j0 + j) * a->ldk + d0;
        for (size_t d = 0; d < dc; d++)
            kt[d * LAM__ATTN_KB + j] = kr[d];
    }
}

/* The additive masks, then the -inf of the boolean and causal masks, on
 * the nk scaled scores of query row i from key j0 (PyTorch's order: the
 * masks are summed first, then added to the scaled product). */
static void lam__attn_mask_row(const lam__attn_args *a, size_t i, size_t j0, size_t nk, float *s)
{
    const float *am = a->attn_add ? a->attn_add + i * a->ld_add + j0 : NULL;
    const float *km = a->key_add ? a->key_add + j0 : NULL;
    if (am && km)
        for (size_t j = 0; j < nk; j++)
            s[j] += am[j] + km[j];
    else if (am || km) {
        const float *m = am ? am : km;
        for (size_t j = 0; j < nk; j++)
            s[j] += m[j];
    }
    if (a->attn_bool) {
        const unsigned char *b = a->attn_bool + i * a->ld_bool + j0;
        for (size_t j = 0; j < nk; j++)
            if (b[j])
                s[j] = -INFINITY;
    }
    if (a->key_bool) {
        const unsigned char *b = a->key_bool + j0;
        for (size_t j = 0; j < nk; j++)
            if (b[j])
                s[j] = -INFINITY;
    }
    if (a->causal)
        for (size_t j = i + 1 > j0 ? i + 1 - j0 : 0; j < nk; j++)
            s[j] = -INFINITY;
}

static int lam__attn_masked(const lam__attn_args *a)
{
    return a->attn_add || a->key_add || a->attn_bool || a->key_bool || a->causal;
}

/* The key block [j0, j0 + nk), d in [d0, d0 + dc), packed for the score
 * kernel: transposed, zero past the last key. */
static void lam__attn_pack_block(const lam__attn_args *a, size_t j0, size_t nk, size_t d0,
                                 size_t dc, float *kt)
{
    lam__attn_pack_kt(a, j0, nk, d0, dc, kt);
    if (nk < LAM__ATTN_KB)
        for (size_t d = 0; d < dc; d++)
            memset(kt + d * LAM__ATTN_KB + nk, 0, (LAM__ATTN_KB - nk) * sizeof *kt);
}

/* Scores of rows [i0, i0 + qb) against the packed d chunk [d0, d0 + dc) of
 * a key block, into s (row stride LAM__ATTN_KB). */
static void lam__attn_score_chunk(const lam__attn_ukernel *u, const lam__attn_args *a, size_t i0,
                                  size_t qb, size_t d0, size_t dc, const float *kt, float *s)
{
    for (size_t r0 = 0; r0 < qb; r0 += u->mr)
        u->score(qb - r0 < u->mr ? qb - r0 : u->mr, dc, a->q + (i0 + r0) * a->ldq + d0, a->ldq,
                 kt, LAM__ATTN_KB, s + r0 * LAM__ATTN_KB, LAM__ATTN_KB, d0 == 0, d0 + dc >= a->D,
                 a->scale);
}

/* Scores of rows [i0, i0 + qb) against keys [j0, j0 + nk) into s (row
 * stride LAM__ATTN_KB), scaled, before the masks; kt is overwritten. */
static void lam__attn_scores(const lam__attn_ukernel *u, const lam__attn_args *a, size_t i0,
                             size_t qb, size_t j0, size_t nk, float *kt, float *s)
{
    for (size_t d0 = 0; d0 < a->D || d0 == 0; d0 += LAM__ATTN_DC) {
        size_t dc = a->D - d0 < LAM__ATTN_DC ? a->D - d0 : LAM__ATTN_DC;
        lam__attn_pack_block(a, j0, nk, d0, dc, kt);
        lam__attn_score_chunk(u, a, i0, qb, d0, dc, kt, s);
        if (a->D == 0)
            break;
    }
}

void lam__attn_run(const lam__attn_ukernel *u, const lam__attn_args *a, size_t i_begin,
                   size_t i_end)
{
    enum { GR = LAM__ATTN_QG * LAM__ATTN_QB }; /* rows a group */
    float kt[LAM__ATTN_DC * LAM__ATTN_KB] __attribute__((aligned(64)));
    float s[LAM__ATTN_QB * LAM__ATTN_KB] __attribute__((aligned(64)));
    float m[GR], l[GR], alpha[GR], ones[LAM__ATTN_QB];
    const size_t Tk = a->Tk, Dv = a->Dv;
    const int masked = lam__attn_masked(a);
    for (size_t r = 0; r < LAM__ATTN_QB; r++)
        ones[r] = 1.0f;
    if (Tk == 0) {
        for (size_t i = i_begin; i < i_end; i++)
            memset(a->o + i * a->ldo, 0, Dv * sizeof(float));
        return;
    }
    if (a->w) {
        /* the weights: whole score rows, softmaxed, then P V */
        for (size_t i0 = i_begin; i0 < i_end; i0 += LAM__ATTN_QB) {
            const size_t qb = i_end - i0 < LAM__ATTN_QB ? i_end - i0 : LAM__ATTN_QB;
            for (size_t j0 = 0; j0 < Tk; j0 += LAM__ATTN_KB) {
                const size_t nk = Tk - j0 < LAM__ATTN_KB ? Tk - j0 : LAM__ATTN_KB;
                lam__attn_scores(u, a, i0, qb, j0, nk, kt, s);
                for (size_t r = 0; r < qb; r++) {
                    float *row = s + r * LAM__ATTN_KB;
                    if (masked)
                        lam__attn_mask_row(a, i0 + r, j0, nk, row);
                    memcpy(a->w + (i0 + r) * a->ldw + j0, row, nk * sizeof *row);
                }
            }
            for (size_t r = 0; r < qb; r++)
                u->softmax(Tk, a->w + (i0 + r) * a->ldw, a->w + (i0 + r) * a->ldw);
            for (size_t j0 = 0; j0 < Tk; j0 += LAM__ATTN_KB) {
                const size_t nk = Tk - j0 < LAM__ATTN_KB ? Tk - j0 : LAM__ATTN_KB;
                for (size_t r0 = 0; r0 < qb; r0 += u->mr)
                    u->pv(qb - r0 < u->mr ? qb - r0 : u->mr, nk, a->w + (i0 + r0) * a->ldw + j0,
                          a->ldw, a->v + j0 * a->ldv, a->ldv, a->o + (i0 + r0) * a->ldo, a->ldo,
                          Dv, j0 == 0 ? NULL : ones);
            }
        }
        return;
    }
    /* No weights: the online softmax.  Query blocks in groups of up to
     * LAM__ATTN_QG, key blocks outer within a group, so that a key block
     * (d <= LAM__ATTN_DC) is packed once for the group's rows rather than
     * once per query block; each row still meets the key blocks in order,
     * through the same kernels: the same bits as block by block. */
    const int once = a->D <= LAM__ATTN_DC;
    for (size_t g0 = i_begin; g0 < i_end; g0 += GR) {
        const size_t gend = i_end - g0 < GR ? i_end : g0 + GR;
        for (size_t i = g0; i < gend; i++) {
            m[i - g0] = -INFINITY;
            l[i - g0] = 0.0f;
            memset(a->o + i * a->ldo, 0, Dv * sizeof(float));
        }
        /* causal: the keys past a block's last row are masked for all of
         * its rows; skipping them adds only zeros */
        const size_t gkend = a->causal && gend < Tk ? gend : Tk;
        for (size_t j0 = 0; j0 < gkend; j0 += LAM__ATTN_KB) {
            const size_t gnk = gkend - j0 < LAM__ATTN_KB ? gkend - j0 : LAM__ATTN_KB;
            if (once)
                lam__attn_pack_block(a, j0, gnk, 0, a->D, kt);
            for (size_t i0 = g0; i0 < gend; i0 += LAM__ATTN_QB) {
                const size_t qb = gend - i0 < LAM__ATTN_QB ? gend - i0 : LAM__ATTN_QB;
                const size_t kend = a->causal && i0 + qb < Tk ? i0 + qb : Tk;
                if (j0 >= kend)
                    continue;
                /* the block's keys: a score is one chain over d whatever
                 * other keys the packed block holds */
                const size_t nk = kend - j0 < gnk ? kend - j0 : gnk;
                float *mb = m + (i0 - g0), *lb = l + (i0 - g0), *ab = alpha + (i0 - g0);
                if (once)
                    lam__attn_score_chunk(u, a, i0, qb, 0, a->D, kt, s);
                else
                    lam__attn_scores(u, a, i0, qb, j0, nk, kt, s);
                for (size_t r = 0; r < qb; r++) {
                    if (masked)
                        lam__attn_mask_row(a, i0 + r, j0, nk, s + r * LAM__ATTN_KB);
                    u->rowstep(nk, s + r * LAM__ATTN_KB, &mb[r], &lb[r], &ab[r]);
                }
                for (size_t r0 = 0; r0 < qb; r0 += u->mr)
                    u->pv(qb - r0 < u->mr ? qb - r0 : u->mr, nk, s + r0 * LAM__ATTN_KB,
                          LAM__ATTN_KB, a->v + j0 * a->ldv, a->ldv, a->o + (i0 + r0) * a->ldo,
                          a->ldo, Dv, ab + r0);
            }
        }
        /* l = 0 (every score -inf) gives 0 x inf = NaN, as PyTorch */
        for (size_t i = g0; i < gend; i++) {
            const float inv = 1.0f / l[i - g0];
            float *o = a->o + i * a->ldo;
            for (size_t c = 0; c < Dv; c++)
                o[c] *= inv;
        }
    }
}
