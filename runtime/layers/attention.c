/* MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
 * add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None,
 * batch_first=False), as PyTorch 1.13's F.multi_head_attention_forward
 * computes it in eval mode: the q/k/v projections (one GEMM of
 * in_proj_weight, or q/k/v_proj_weight when kdim/vdim differ from
 * embed_dim), bias_k/bias_v and a zero key/value appended when asked (the
 * masks padded with "attend"), the table's fused attention per batch x head
 * x query block (lam__kernel_table.attention: without weights nothing of
 * size L x S is stored), then out_proj, a NonDynamicallyQuantizableLinear
 * child.  Results are bit-identical for any thread count: each output
 * element is computed by one task whatever the split. */
#include "runtime/layers/layers.h"
#include "runtime/core/parallel.h"
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct mha_state {
    int64_t E, H, kdim, vdim;
    double dropout;
    bool bias, bias_kv, zero_attn, batch_first, same;
    /* parameter positions: in_proj_weight, or q/k/v_proj_weight (w[0..2]);
     * in_proj_bias; bias_k, bias_v (-1 when absent) */
    int w[3], b, bk, bv;
    pthread_mutex_t lock;
    float *packed[3]; /* in_proj_weight whole in packed[0], or each of q/k/v */
    unsigned packed_params;
    uint64_t packed_version[3];
    bool packed_valid;
    unsigned unknown; /* LAM__HID_* a model file did not give (lam__mha_forget) */
} mha_state;

static const lam_tensor *mha_param(const lam_module *m, int pos)
{
    return pos >= 0 ? m->params[pos].tensor : NULL;
}

/* The packed projection weights for the current parameter values. */
static lam_status mha_packed(lam_module *m, const float *packed[3])
{
    mha_state *s = m->state;
    const lam__kernel_table *k = lam__kernels();
    lam_status st = LAM_OK;
    pthread_mutex_lock(&s->lock);
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    int n = s->same ? 1 : 3;
    bool ok = s->packed_valid && s->packed_params == pv;
    for (int i = 0; i < n && ok; i++)
        ok = s->packed_version[i] == lam__tensor_version(mha_param(m, s->w[i]));
    if (!ok) {
        for (int i = 0; i < n && !st; i++) {
            const lam_tensor *w = mha_param(m, s->w[i]);
            size_t N = (size_t)w->shape[0], K = (size_t)w->shape[1];
            free(s->packed[i]);
            s->packed[i] = malloc((k->gemm_packed_size(N, K) + 1) * sizeof(float));
            if (!s->packed[i]) {
                st = lam__oom("MultiheadAttention: packed projection");
                break;
            }
            k->gemm_pack(N, K, w->data, s->packed[i]);
            s->packed_version[i] = lam__tensor_version(w);
        }
        s->packed_params = pv;
        s->packed_valid = !st;
    }
    for (int i = 0; i < 3; i++)
        packed[i] = s->packed[s->same ? 0 : i];
    pthread_mutex_unlock(&s->lock);
    return st;
}

/* ---- a GEMM split by columns across threads (each output element is one
 * chain whatever the split: the bits do not depend on the thread count) ---- */
typedef struct gemm_job {
    size_t M, N, K, ldx, ldy, n0, n1;
    const float *x, *packed, *bias;
    float *y;
    const float *add; /* the epilogue's residual addend (ldy apart), or NULL */
} gemm_job;

static void gemm_task(void *ctx, int ith, int nth)
{
    const gemm_job *g = ctx;
    int64_t b, e;
    lam__split_range((int64_t)(g->n1 - g->n0), ith, nth, 16, &b, &e);
    if (b < e)
        lam__kernels()->gemm(g->M, g->N, g->K, g->x, g->ldx, g->packed, g->bias, g->y, g->ldy,
                             (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY, .add = g->add,
                                             .ldadd = g->ldy},
                             g->n0 + (size_t)b, g->n0 + (size_t)e);
}

static void par_gemm(gemm_job *g)
{
    if (!g->M || g->n1 <= g->n0)
        return;
    int nth = lam__threads_for_call();
    int64_t cols = (int64_t)(g->n1 - g->n0);
    if (nth > (cols + 15) / 16)
        nth = (int)((cols + 15) / 16);
    /* small GEMMs are not worth a thread */
    if ((double)g->M * (double)cols * (double)g->K < 2e5)
        nth = 1;
    lam__parallel(nth, gemm_task, g);
}

/* ---- the attention over batch x heads x query blocks ---- */
typedef struct attn_job {
    lam__attn_args base;
    int64_t N, H, L, S, hd;
    size_t q_bstride, k_bstride, v_bstride, o_bstride; /* floats between batches */
    const float *attn_add;
    const unsigned char *attn_bool;
    bool attn_3d;
    const float *kpm_add;
    const unsigned char *kpm_bool;
    float *w; /* [N, H, L, S] or NULL */
    int64_t qblocks, ntasks;
} attn_job;

#define MHA_QBLOCK 64

static void attn_task(void *ctx, int ith, int nth)
{
    const attn_job *j = ctx;
    const lam__attn_args *k = &j->base;
    int64_t b, e;
    lam__split_range(j->ntasks, ith, nth, 1, &b, &e);
    /* a run of this thread's tasks in one (sample, head) is one call: the
     * kernel then packs each key block once for more query rows (rows are
     * independent: the same bits) */
    for (int64_t t = b, t2; t < e; t = t2) {
        int64_t qb = t % j->qblocks, nh = t / j->qblocks, h = nh % j->H, n = nh / j->H;
        for (t2 = t + 1; t2 < e && t2 / j->qblocks == nh;)
            t2++;
        int64_t qe = (t2 - 1) % j->qblocks + 1; /* past the run's last block */
        lam__attn_args a = *k;
        a.q += (size_t)n * j->q_bstride + (size_t)(h * j->hd);
        a.k += (size_t)n * j->k_bstride + (size_t)(h * j->hd);
        a.v += (size_t)n * j->v_bstride + (size_t)(h * j->hd);
        a.o += (size_t)n * j->o_bstride + (size_t)(h * j->hd);
        size_t mslice = j->attn_3d ? (size_t)(n * j->H + h) * (size_t)(j->L * j->S) : 0;
        a.attn_add = j->attn_add ? j->attn_add + mslice : NULL;
        a.attn_bool = j->attn_bool ? j->attn_bool + mslice : NULL;
        a.key_add = j->kpm_add ? j->kpm_add + n * j->S : NULL;
        a.key_bool = j->kpm_bool ? j->kpm_bool + n * j->S : NULL;
        a.w = j->w ? j->w + (size_t)(n * j->H + h) * (size_t)(j->L * j->S) : NULL;
        int64_t i0 = qb * MHA_QBLOCK, i1 = qe * MHA_QBLOCK < j->L ? qe * MHA_QBLOCK : j->L;
        lam__kernels()->attention(&a, (size_t)i0, (size_t)i1);
    }
}

/* A mask as given (ndim 0: none) with `extra` columns of "attend" (0 /
 * false) appended to each row of S: a new buffer in *buf (free it), or the
 * mask's own data when extra is 0. */
static lam_status pad_mask(const lam__attn_mask *mk, int64_t rows, int64_t S, int64_t extra,
                           void **buf, const float **f, const unsigned char **bo)
{
    *buf = NULL;
    *f = mk->f;
    *bo = mk->b;
    if (!extra || !mk->ndim)
        return LAM_OK;
    size_t es = mk->f ? sizeof(float) : 1;
    char *p = calloc((size_t)(rows * (S + extra)) + 1, es);
    if (!p)
        return lam__oom("MultiheadAttention: padded mask");
    const char *src = mk->f ? (const char *)mk->f : (const char *)mk->b;
    for (int64_t r = 0; r < rows; r++)
        memcpy(p + (size_t)(r * (S + extra)) * es, src + (size_t)(r * S) * es, (size_t)S * es);
    *buf = p;
    if (mk->f)
        *f = (const float *)(void *)p, *bo = NULL;
    else
        *bo = (const unsigned char *)p, *f = NULL;
    return LAM_OK;
}

static bool shape_is(const lam__attn_mask *mk, int nd, int64_t a, int64_t b, int64_t c)
{
    if (mk->ndim != nd)
        return false;
    int64_t want[3] = {a, b, c};
    for (int i = 0; i < nd; i++)
        if (mk->shape[i] != want[i])
            return false;
    return true;
}

static const char *mask_shape(const lam__attn_mask *mk, char *buf, size_t size)
{
    return lam_shape_str(mk->ndim, mk->shape, buf, size);
}

/* A scratch buffer of n floats as a tensor (*t: release it), uninitialised. */
static lam_status scratch(lam_tensor **t, size_t n, float **data)
{
    int64_t shape[1] = {(int64_t)n};
    lam_status st = lam__tensor_create_uninit(t, 1, shape);
    *data = st ? NULL : (*t)->data;
    return st;
}

static lam_status mha_compute(lam_module *m, const lam_tensor *query, const lam_tensor *key,
                              const lam_tensor *value, const lam__attn_mask *key_padding_mask,
                              const lam__attn_mask *attn_mask, bool need_weights,
                              bool average_attn_weights, lam_tensor *out, lam_tensor **weights,
                              const float *residual)
{
    mha_state *s = m->state;
    const int64_t E = s->E, H = s->H, hd = E / H;
    if (weights)
        *weights = NULL;
    if (s->unknown & (LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "MultiheadAttention(embed_dim=%" PRId64 "): %s is not known (PyTorch's "
                          "repr does not print it): %s",
                          E, s->unknown & LAM__HID_NUM_HEADS ? "num_heads" : "batch_first",
                          LAM__HID_HOW);
    if (m->training && s->dropout > 0)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "MultiheadAttention: dropout=%g in training mode is not supported "
                          "(lamina runs inference: call eval())",
                          s->dropout);
    const bool batched = query->ndim == 3;
    if (!(query->ndim == 3 || query->ndim == 2) || key->ndim != query->ndim ||
        value->ndim != query->ndim) {
        char a[64], b[64], c[64];
        return lam__error(LAM_ERR_SHAPE,
                          "MultiheadAttention: query, key and value must all be 2-D (unbatched) "
                          "or all 3-D (batched), got %s, %s and %s",
                          lam_shape_str(query->ndim, query->shape, a, sizeof a),
                          lam_shape_str(key->ndim, key->shape, b, sizeof b),
                          lam_shape_str(value->ndim, value->shape, c, sizeof c));
    }
    /* (L, N, E), or (N, L, E) when batch_first; unbatched (L, E) as N = 1 */
    const bool bf = batched && s->batch_first;
    const int64_t N = batched ? query->shape[bf ? 0 : 1] : 1;
    const int64_t L = query->shape[batched ? (bf ? 1 : 0) : 0];
    const int64_t S = key->shape[batched ? (bf ? 1 : 0) : 0];
    const int64_t qd = query->shape[query->ndim - 1], kd = key->shape[key->ndim - 1],
                  vd = value->shape[value->ndim - 1];
    if (qd != E || kd != s->kdim || vd != s->vdim)
        return lam__error(LAM_ERR_SHAPE,
                          "MultiheadAttention: was expecting embedding dimensions query %" PRId64
                          ", key %" PRId64 ", value %" PRId64 ", but got %" PRId64 ", %" PRId64
                          ", %" PRId64,
                          E, s->kdim, s->vdim, qd, kd, vd);
    const int64_t kN = batched ? key->shape[bf ? 0 : 1] : 1;
    const int64_t vN = batched ? value->shape[bf ? 0 : 1] : 1;
    const int64_t vS = value->shape[batched ? (bf ? 1 : 0) : 0];
    if (kN != N || vN != N || vS != S) {
        char a[64], b[64];
        return lam__error(LAM_ERR_SHAPE, "MultiheadAttention: key shape %s does not match value "
                          "shape %s, or their batch differs from the query's",
                          lam_shape_str(key->ndim, key->shape, a, sizeof a),
                          lam_shape_str(value->ndim, value->shape, b, sizeof b));
    }
    const int64_t extra = (s->bias_kv ? 1 : 0) + (s->zero_attn ? 1 : 0);
    const int64_t Sx = S + extra;
    char sb[64];
    lam__attn_mask none = {0};
    const lam__attn_mask *kpm = key_padding_mask ? key_padding_mask : &none;
    const lam__attn_mask *am = attn_mask ? attn_mask : &none;
    if (kpm->ndim && !(batched ? shape_is(kpm, 2, N, S, 0) : shape_is(kpm, 1, S, 0, 0)))
        return batched ? lam__error(LAM_ERR_SHAPE,
                                    "expecting key_padding_mask shape of (%" PRId64 ", %" PRId64
                                    "), but got torch.Size(%s)",
                                    N, S, mask_shape(kpm, sb, sizeof sb))
                       : lam__error(LAM_ERR_SHAPE,
                                    "expecting key_padding_mask shape of (%" PRId64
                                    ",), but got torch.Size(%s)",
                                    S, mask_shape(kpm, sb, sizeof sb));
    bool am3 = false;
    if (am->ndim == 2) {
        if (!shape_is(am, 2, L, S, 0))
            return lam__error(LAM_ERR_SHAPE,
                              "The shape of the 2D attn_mask is torch.Size(%s), but should be "
                              "(%" PRId64 ", %" PRId64 ").",
                              mask_shape(am, sb, sizeof sb), L, S);
    } else if (am->ndim == 3) {
        if (!shape_is(am, 3, N * H, L, S))
            return lam__error(LAM_ERR_SHAPE,
                              "The shape of the 3D attn_mask is torch.Size(%s), but should be "
                              "(%" PRId64 ", %" PRId64 ", %" PRId64 ").",
                              mask_shape(am, sb, sizeof sb), N * H, L, S);
        am3 = true;
    } else if (am->ndim)
        return lam__error(LAM_ERR_SHAPE,
                          "attn_mask's dimension %d is not supported (2-D or 3-D only)", am->ndim);

    lam_module *op = lam_module_child(m, "out_proj");
    int64_t oin = 0, oout = 0;
    const float *obias = NULL, *opacked = NULL;
    if (!op || op->ops != &lam__linear_ops)
        return lam__error(LAM_ERR_RUNTIME, "MultiheadAttention: out_proj is not a Linear");
    lam__linear_info(op, &oin, &oout, &obias);
    if (oin != E || oout != E)
        return lam__error(LAM_ERR_SHAPE,
                          "MultiheadAttention: out_proj is Linear(%" PRId64 ", %" PRId64
                          "), expected (%" PRId64 ", %" PRId64 ")",
                          oin, oout, E, E);
    lam_status st = lam__linear_packed(op, &opacked);
    const float *packed[3];
    if (!st)
        st = mha_packed(m, packed);
    if (st)
        return st;
    if (need_weights && weights) {
        int64_t ws[4] = {N, H, L, Sx};
        int wnd;
        int64_t *wsh;
        int64_t w3[3] = {N, L, Sx}, w2[2] = {L, Sx}, wh3[3] = {H, L, Sx};
        if (batched)
            wnd = average_attn_weights ? 3 : 4, wsh = average_attn_weights ? w3 : ws;
        else
            wnd = average_attn_weights ? 2 : 3, wsh = average_attn_weights ? w2 : wh3;
        if ((st = lam_tensor_create(weights, wnd, wsh)))
            return st;
    }

    /* projections: rows in the input's own order; q/k/v of in_proj share
     * one 3E-wide buffer layout (ld 3E), the separate ones are E wide */
    const float *bias = mha_param(m, s->b) ? mha_param(m, s->b)->data : NULL;
    const bool self = query == key && key == value && s->same;
    const size_t ld = s->same ? (size_t)(3 * E) : (size_t)E;
    const size_t Lr = (size_t)(N * L), Sr = (size_t)(N * S);
    float *qbuf = NULL, *kbuf = NULL, *vbuf = NULL, *obuf = NULL, *kx = NULL, *vx = NULL,
          *wbuf = NULL;
    void *am_pad = NULL, *kpm_pad = NULL;
    /* scratch tensors: from the forward pool when a plan runs this
     * (pooled_scratch), so a planned forward allocates nothing */
    lam_tensor *scr[4] = {NULL, NULL, NULL, NULL};
    if ((st = scratch(&scr[0], Lr * ld, &qbuf)) ||
        (!self && ((st = scratch(&scr[1], Sr * ld, &kbuf)) ||
                   (st = scratch(&scr[2], Sr * ld, &vbuf)))) ||
        (st = scratch(&scr[3], Lr * (size_t)E, &obuf)))
        goto done;
    if (self) {
        kbuf = vbuf = qbuf;
        gemm_job g = {Lr, (size_t)(3 * E), (size_t)E, (size_t)E, ld, 0, (size_t)(3 * E),
                      query->data, packed[0], bias, qbuf, NULL};
        par_gemm(&g);
    } else {
        const lam_tensor *in[3] = {query, key, value};
        float *bufs[3] = {qbuf, kbuf, vbuf};
        const size_t rows[3] = {Lr, Sr, Sr};
        const size_t kin[3] = {(size_t)E, (size_t)s->kdim, (size_t)s->vdim};
        for (int i = 0; i < 3; i++) {
            gemm_job g;
            if (s->same)
                g = (gemm_job){rows[i], (size_t)(3 * E), kin[i], kin[i], ld, (size_t)(i * E),
                               (size_t)((i + 1) * E), in[i]->data, packed[0], bias, bufs[i],
                               NULL};
            else
                g = (gemm_job){rows[i], (size_t)E, kin[i], kin[i], ld, 0, (size_t)E,
                               in[i]->data, packed[i], bias ? bias + i * E : NULL, bufs[i],
                               NULL};
            par_gemm(&g);
        }
    }
    /* the head views: row r of q (and of k, v) at buf + r ld + column */
    const float *qv = qbuf, *kv = kbuf + (s->same ? E : 0), *vv = vbuf + (s->same ? 2 * E : 0);
    size_t ldk = ld, ldv = ld;
    /* batch n's row i: (i N + n) (sequence first) or (n L + i) (batch first) */
    size_t q_row = bf || !batched ? (size_t)L : 1, q_step = bf || !batched ? 1 : (size_t)N;
    size_t k_row = bf || !batched ? (size_t)S : 1, k_step = bf || !batched ? 1 : (size_t)N;
    if (extra) {
        /* bias_k / bias_v, then a zero key and value: copy k and v to
         * [N, S + extra, E] */
        kx = malloc(((size_t)(N * Sx * E) + 1) * sizeof(float));
        vx = malloc(((size_t)(N * Sx * E) + 1) * sizeof(float));
        if (!kx || !vx) {
            st = lam__oom("MultiheadAttention: keys");
            goto done;
        }
        for (int64_t n = 0; n < N; n++) {
            for (int64_t j = 0; j < S; j++) {
                size_t r = (size_t)n * k_row + (size_t)j * k_step;
                memcpy(kx + (size_t)((n * Sx + j) * E), kv + r * ldk, (size_t)E * sizeof(float));
                memcpy(vx + (size_t)((n * Sx + j) * E), vv + r * ldv, (size_t)E * sizeof(float));
            }
            int64_t j = S;
            if (s->bias_kv) {
                memcpy(kx + (size_t)((n * Sx + j) * E), mha_param(m, s->bk)->data,
                       (size_t)E * sizeof(float));
                memcpy(vx + (size_t)((n * Sx + j) * E), mha_param(m, s->bv)->data,
                       (size_t)E * sizeof(float));
                j++;
            }
            if (s->zero_attn) {
                memset(kx + (size_t)((n * Sx + j) * E), 0, (size_t)E * sizeof(float));
                memset(vx + (size_t)((n * Sx + j) * E), 0, (size_t)E * sizeof(float));
            }
        }
        kv = kx, vv = vx, ldk = ldv = (size_t)E, k_row = (size_t)Sx, k_step = 1;
    }
    attn_job j;
    memset(&j, 0, sizeof j);
    if ((st = pad_mask(am, am3 ? N * H * L : L, S, extra, &am_pad, &j.attn_add, &j.attn_bool)) ||
        (st = pad_mask(kpm, N, S, extra, &kpm_pad, &j.kpm_add, &j.kpm_bool)))
        goto done;
    if (!kpm->ndim)
        j.kpm_add = NULL, j.kpm_bool = NULL;
    if (!am->ndim)
        j.attn_add = NULL, j.attn_bool = NULL;
    if (need_weights) {
        wbuf = malloc(((size_t)(N * H * L * Sx) + 1) * sizeof(float));
        if (!wbuf) {
            st = lam__oom("MultiheadAttention: attention weights");
            goto done;
        }
    }
    j.base = (lam__attn_args){.Tk = (size_t)Sx, .D = (size_t)hd, .Dv = (size_t)hd, .q = qv,
                              .k = kv, .v = vv, .ldq = ld * q_step, .ldk = ldk * k_step,
                              .ldv = ldv * k_step, .o = obuf, .ldo = (size_t)E * q_step,
                              .scale = (float)(1.0 / sqrt((double)hd)), .ld_add = (size_t)Sx,
                              .ld_bool = (size_t)Sx, .ldw = (size_t)Sx};
    j.N = N, j.H = H, j.L = L, j.S = Sx, j.hd = hd, j.attn_3d = am3, j.w = wbuf;
    j.q_bstride = ld * q_row, j.k_bstride = ldk * k_row, j.v_bstride = ldv * k_row;
    j.o_bstride = (size_t)E * q_row;
    j.qblocks = (L + MHA_QBLOCK - 1) / MHA_QBLOCK;
    j.ntasks = N * H * j.qblocks;
    if (j.ntasks) {
        int nth = lam__threads_for_call();
        if (nth > j.ntasks)
            nth = (int)j.ntasks;
        lam__parallel(nth, attn_task, &j);
    }
    /* out_proj over every row, in the input's order: the output's layout;
     * + residual in its epilogue when there is one */
    gemm_job g = {Lr, (size_t)E, (size_t)E, (size_t)E, (size_t)E, 0, (size_t)E,
                  obuf, opacked, obias, out->data, residual};
    par_gemm(&g);
    if (need_weights && weights) {
        float *w = (*weights)->data;
        if (!average_attn_weights)
            memcpy(w, wbuf, (size_t)(N * H * L * Sx) * sizeof(float));
        else
            for (int64_t n = 0; n < N; n++)
                for (int64_t e = 0; e < L * Sx; e++) {
                    float acc = 0.0f;
                    for (int64_t h = 0; h < H; h++)
                        acc += wbuf[(size_t)((n * H + h) * L * Sx + e)];
                    w[n * L * Sx + e] = acc / (float)H;
                }
    }
done:
    for (int i = 0; i < 4; i++)
        lam_tensor_release(scr[i]);
    free(kx), free(vx), free(wbuf), free(am_pad), free(kpm_pad);
    if (st && weights && *weights) {
        lam_tensor_release(*weights);
        *weights = NULL;
    }
    return st;
}

/* A layer that runs this attention itself (a Transformer layer) gets its
 * error's path through m (lam__error_within). */
lam_status lam__mha_compute(lam_module *m, const lam_tensor *query, const lam_tensor *key,
                            const lam_tensor *value, const lam__attn_mask *key_padding_mask,
                            const lam__attn_mask *attn_mask, bool need_weights,
                            bool average_attn_weights, lam_tensor *out, lam_tensor **weights)
{
    lam_status st = mha_compute(m, query, key, value, key_padding_mask, attn_mask, need_weights,
                                average_attn_weights, out, weights, NULL);
    if (st)
        lam__error_within(m);
    return st;
}

lam_status lam__mha_compute_add(lam_module *m, const lam_tensor *query, const lam_tensor *key,
                                const lam_tensor *value, const lam__attn_mask *key_padding_mask,
                                const lam__attn_mask *attn_mask, lam_tensor *out,
                                const float *residual)
{
    lam_status st = mha_compute(m, query, key, value, key_padding_mask, attn_mask, false, true,
                                out, NULL, residual);
    if (st)
        lam__error_within(m);
    return st;
}

/* ---- the single-tensor module: self-attention, attn_output only ---- */

static lam_status mha_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                            int64_t *out)
{
    const mha_state *s = m->state;
    if ((ndim != 2 && ndim != 3) || in[ndim - 1] != s->E || s->kdim != s->E ||
        s->vdim != s->E) {
        char buf[64];
        return lam__error(LAM_ERR_SHAPE,
                          "MultiheadAttention(embed_dim=%" PRId64 "): self-attention takes a 2-D "
                          "or 3-D input whose last dimension is embed_dim (and kdim = vdim = "
                          "embed_dim), got %s",
                          s->E, lam_shape_str(ndim, in, buf, sizeof buf));
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

/* The single-tensor forward: self_attn(x, x, x)[0], no masks,
 * need_weights=False.  PyTorch's forward with key, value, masks and flags,
 * returning (attn_output, attn_weights), is lam__mha_forward_multi. */
static lam_status mha_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    return lam__mha_compute(m, in, in, in, NULL, NULL, false, true, out, NULL);
}

static void mha_destroy(lam_module *m)
{
    mha_state *s = m->state;
    for (int i = 0; i < 3; i++)
        free(s->packed[i]);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static double mha_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                        const int64_t *out)
{
    (void)out_ndim, (void)out;
    const mha_state *s = m->state;
    double rows = 1, L = (double)in[in_ndim == 3 && !s->batch_first ? 0 : in_ndim - 2];
    for (int i = 0; i < in_ndim - 1; i++)
        rows *= (double)in[i];
    return 8.0 * rows * (double)(s->E * s->E) + 4.0 * rows * L * (double)s->E;
}

const lam__module_ops lam__mha_ops = {
    .type_name = "MultiheadAttention",
    .py_module = "torch.nn.modules.activation",
    .output_shape = mha_shape,
    .forward_into = mha_forward,
    .forward_multi = lam__mha_forward_multi,
    .tuple_result = true,
    .destroy = mha_destroy,
    .flops = mha_flops,
    .pooled_scratch = true,
};

static lam_status add_param(lam_module *m, const char *name, int ndim, const int64_t *shape,
                            int *pos)
{
    lam_tensor *t = NULL;
    lam_status st = lam_tensor_create(&t, ndim, shape);
    if (!st && (st = lam__module_add_param(m, name, t)))
        lam_tensor_release(t);
    if (!st)
        *pos = (int)m->n_params - 1;
    return st;
}

/* xavier_uniform_ of a 2-D [out, in] weight: U(-a, a), a = sqrt(6 / (in + out)) */
static void xavier_uniform(lam_tensor *w, int64_t fan_in, int64_t fan_out)
{
    float a = (float)sqrt(6.0 / (double)(fan_in + fan_out));
    lam__rand_uniform(w->data, (size_t)w->numel, -a, a);
}

/* xavier_normal_ of a (1, 1, E) tensor: fan_in = fan_out = E, N(0, 1 / E) */
static void xavier_normal_1x1(lam_tensor *t, int64_t E)
{
    const double sd = sqrt(2.0 / (double)(2 * E));
    for (int64_t i = 0; i < t->numel; i += 2) {
        double u[2];
        lam__rand_unit(u, 2);
        double r = sqrt(-2.0 * log(1.0 - u[0])), th = 2.0 * M_PI * u[1];
        t->data[i] = (float)(sd * r * cos(th));
        if (i + 1 < t->numel)
            t->data[i + 1] = (float)(sd * r * sin(th));
    }
}

LAM_API lam_status lam_multihead_attention_create(lam_module **out, int64_t embed_dim,
                                                  int64_t num_heads, double dropout, bool bias,
                                                  bool add_bias_kv, bool add_zero_attn,
                                                  int64_t kdim, int64_t vdim, bool batch_first)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (embed_dim <= 0 || num_heads <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "MultiheadAttention: embed_dim and num_heads must be positive, got %" PRId64
                          " and %" PRId64,
                          embed_dim, num_heads);
    if (embed_dim % num_heads)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "embed_dim must be divisible by num_heads");
    if (!(dropout >= 0 && dropout <= 1))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "MultiheadAttention: dropout must be in [0, 1], got %g", dropout);
    if (kdim < 0 || vdim < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "MultiheadAttention: kdim and vdim must be positive (0: embed_dim)");
    const int64_t E = embed_dim, kd = kdim ? kdim : E, vd = vdim ? vdim : E;
    const bool same = kd == E && vd == E;
    if (embed_dim > (int64_t)1 << 24 || kd > (int64_t)1 << 24 || vd > (int64_t)1 << 24)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "MultiheadAttention: dimensions too large");
    if (lam__budget_charge(E * (E + kd + vd) + (bias ? 3 * E : 0) + E * E + (bias ? E : 0) +
                               (add_bias_kv ? 2 * E : 0),
                           "MultiheadAttention(%" PRId64 ")", E))
        return LAM_ERR_INVALID_ARGUMENT;
    mha_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("MultiheadAttention");
    s->E = E, s->H = num_heads, s->kdim = kd, s->vdim = vd, s->dropout = dropout;
    s->bias = bias, s->bias_kv = add_bias_kv, s->zero_attn = add_zero_attn;
    s->batch_first = batch_first, s->same = same;
    s->w[0] = s->w[1] = s->w[2] = s->b = s->bk = s->bv = -1;
    pthread_mutex_init(&s->lock, NULL);
    lam_module *m;
    lam_status st = lam__module_new(&m, &lam__mha_ops, s);
    if (st) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return st;
    }
    /* PyTorch's registration order: the weights, in_proj_bias, out_proj,
     * bias_k, bias_v (state_dict: own parameters, then out_proj's) */
    if (same) {
        int64_t sh[2] = {3 * E, E};
        st = add_param(m, "in_proj_weight", 2, sh, &s->w[0]);
        if (!st)
            xavier_uniform(m->params[s->w[0]].tensor, E, 3 * E);
        s->w[1] = s->w[2] = s->w[0];
    } else {
        const char *names[3] = {"q_proj_weight", "k_proj_weight", "v_proj_weight"};
        const int64_t ins[3] = {E, kd, vd};
        for (int i = 0; i < 3 && !st; i++) {
            int64_t sh[2] = {E, ins[i]};
            st = add_param(m, names[i], 2, sh, &s->w[i]);
            if (!st)
                xavier_uniform(m->params[s->w[i]].tensor, ins[i], E);
        }
    }
    if (!st && bias) {
        int64_t sh[1] = {3 * E};
        st = add_param(m, "in_proj_bias", 1, sh, &s->b); /* zeros */
    }
    lam_module *op = NULL;
    if (!st)
        st = lam_linear_create(&op, E, E, bias);
    if (!st) {
        op->type_name = "NonDynamicallyQuantizableLinear";
        if (bias) /* constant_(out_proj.bias, 0.) */
            memset(op->params[1].tensor->data, 0, (size_t)E * sizeof(float));
        st = lam_module_add_child(m, "out_proj", op);
        lam_module_release(op);
    }
    if (!st && add_bias_kv) {
        int64_t sh[3] = {1, 1, E};
        st = add_param(m, "bias_k", 3, sh, &s->bk);
        if (!st)
            st = add_param(m, "bias_v", 3, sh, &s->bv);
        if (!st) {
            xavier_normal_1x1(m->params[s->bk].tensor, E);
            xavier_normal_1x1(m->params[s->bv].tensor, E);
        }
    }
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

/* ---- the public call with key, value and masks ---- */

static lam_status mask_from(const lam_tensor *t, bool is_bool, lam__attn_mask *mk,
                            unsigned char **owned)
{
    memset(mk, 0, sizeof *mk);
    *owned = NULL;
    if (!t)
        return LAM_OK;
    if (t->ndim > 3)
        return lam__error(LAM_ERR_SHAPE, "MultiheadAttention: a mask has %d dimensions", t->ndim);
    mk->ndim = t->ndim;
    memcpy(mk->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    if (t->dtype == LAM_BOOL) { /* a bool tensor: True masks (bool is one byte, 0 or 1) */
        mk->b = (const unsigned char *)lam__tensor_bool(t);
        return LAM_OK;
    }
    lam_status st = lam__check_f32("MultiheadAttention", "mask", t);
    if (st)
        return st;
    if (!is_bool) {
        mk->f = t->data;
        return LAM_OK;
    }
    unsigned char *b = malloc((size_t)t->numel + 1);
    if (!b)
        return lam__oom("MultiheadAttention: mask");
    for (int64_t i = 0; i < t->numel; i++)
        b[i] = t->data[i] != 0.0f;
    mk->b = b;
    *owned = b;
    return LAM_OK;
}

lam_status lam__attn_mask_of(const lam_tensor *t, lam__attn_mask *mk, unsigned char **owned)
{
    return mask_from(t, false, mk, owned);
}

LAM_API lam_status lam_multihead_attention_forward(
    lam_module *m, const lam_tensor *query, const lam_tensor *key, const lam_tensor *value,
    const lam_tensor *key_padding_mask, bool key_padding_mask_is_bool, bool need_weights,
    const lam_tensor *attn_mask, bool attn_mask_is_bool, bool average_attn_weights,
    lam_tensor **attn_output, lam_tensor **attn_weights)
{
    LAM__SYNC();
    LAM__CHECK_ARG(attn_output);
    *attn_output = NULL;
    if (attn_weights)
        *attn_weights = NULL;
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(query);
    LAM__CHECK_ARG(key);
    LAM__CHECK_ARG(value);
    if (m->ops != &lam__mha_ops)
        return lam__error(LAM_ERR_TYPE, "lam_multihead_attention_forward: %s is not a "
                          "MultiheadAttention", m->type_name ? m->type_name : m->ops->type_name);
    lam__attn_mask kpm, am;
    unsigned char *kb = NULL, *ab = NULL;
    lam_tensor *out = NULL;
    lam_status st = mask_from(key_padding_mask, key_padding_mask_is_bool, &kpm, &kb);
    if (!st)
        st = mask_from(attn_mask, attn_mask_is_bool, &am, &ab);
    if (!st)
        st = lam_tensor_create(&out, query->ndim, query->shape);
    if (!st)
        st = lam__mha_compute(m, query, key, value, key_padding_mask ? &kpm : NULL,
                              attn_mask ? &am : NULL, need_weights && attn_weights,
                              average_attn_weights, out, attn_weights);
    free(kb);
    free(ab);
    if (st) {
        lam_tensor_release(out);
        return st;
    }
    *attn_output = out;
    return LAM_OK;
}

/* PyTorch's forward(query, key, value, key_padding_mask=None,
 * need_weights=True, attn_mask=None, average_attn_weights=True) with
 * several values: the masks bool tensors (True: masked) or float tensors
 * (added to the scores); the flags None (their default) or one-element
 * tensors read as Python reads them.  Returns (attn_output, attn_weights),
 * attn_weights None unless need_weights. */
static lam_status mha_flag(const lam__val *v, const char *name, bool dflt, bool *out)
{
    *out = dflt;
    if (!v->t && !v->tup)
        return LAM_OK;
    if (!v->t || v->t->numel != 1)
        return lam__error(LAM_ERR_TYPE,
                          "MultiheadAttention: %s must be a bool (None or a one-element tensor), "
                          "got %s",
                          name, v->t ? "a tensor of several elements" : lam__val_kind(v));
    const lam_tensor *t = v->t;
    *out = t->dtype == LAM_BOOL    ? lam__tensor_bool(t)[0]
           : t->dtype == LAM_INT64 ? lam__tensor_i64(t)[0] != 0
                                   : t->data[0] != 0.0f;
    return LAM_OK;
}

lam_status lam__mha_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    static const char *const names[] = {"query", "key", "value"};
    if (in->n < 3) {
        if (in->n == 2)
            return lam__error(LAM_ERR_TYPE,
                              "MultiheadAttention.forward() missing 1 required positional "
                              "argument: 'value'");
        if (in->n == 1)
            return lam__error(LAM_ERR_TYPE,
                              "MultiheadAttention.forward() missing 2 required positional "
                              "arguments: 'key' and 'value'");
        return lam__error(LAM_ERR_TYPE,
                          "MultiheadAttention.forward() missing 3 required positional arguments: "
                          "'query', 'key', and 'value'");
    }
    if (in->n > 7)
        return lam__error(LAM_ERR_TYPE,
                          "MultiheadAttention.forward() takes from 4 to 8 positional arguments but "
                          "%zu were given",
                          in->n + 1);
    for (int i = 0; i < 3; i++) {
        if (!in->items[i].t)
            return lam__error(LAM_ERR_TYPE, "MultiheadAttention: %s must be a Tensor, not %s",
                              names[i], lam__val_kind(&in->items[i]));
        lam_status st = lam__check_f32("MultiheadAttention", names[i], in->items[i].t);
        if (st)
            return st;
    }
    const lam_tensor *kpm = NULL, *am = NULL;
    bool need_weights = true, average = true;
    lam_status st = LAM_OK;
    if (in->n > 3) {
        if (in->items[3].tup)
            return lam__error(LAM_ERR_TYPE, "MultiheadAttention: key_padding_mask must be a "
                                            "Tensor or None, not tuple");
        kpm = in->items[3].t;
    }
    if (in->n > 4)
        st = mha_flag(&in->items[4], "need_weights", true, &need_weights);
    if (!st && in->n > 5) {
        if (in->items[5].tup)
            return lam__error(LAM_ERR_TYPE,
                              "MultiheadAttention: attn_mask must be a Tensor or None, not tuple");
        am = in->items[5].t;
    }
    if (!st && in->n > 6)
        st = mha_flag(&in->items[6], "average_attn_weights", true, &average);
    if (st)
        return st;
    lam_tensor *o = NULL, *w = NULL;
    lam_tuple *res = NULL;
    st = lam_multihead_attention_forward(m, in->items[0].t, in->items[1].t, in->items[2].t, kpm,
                                         false, need_weights, am, false, average, &o,
                                         need_weights ? &w : NULL);
    if (!st)
        st = lam_tuple_create(&res, 2);
    if (!st)
        st = lam_tuple_set_tensor(res, 0, o);
    if (!st && w)
        st = lam_tuple_set_tensor(res, 1, w);
    lam_tensor_release(o);
    lam_tensor_release(w);
    if (st) {
        lam_tuple_release(res);
        return st;
    }
    out->tup = res;
    return LAM_OK;
}

/* ---- what a model file may not know (layers.h, LAM__HID_*) ---- */

void lam__mha_hidden(const lam_module *m, lam__hidden *h)
{
    const mha_state *s = m->state;
    memset(h, 0, sizeof *h);
    h->takes = LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST;
    h->known = h->takes & ~s->unknown;
    if (s->unknown & LAM__HID_KV)
        h->takes |= LAM__HID_KV;
    h->num_heads = s->H;
    h->batch_first = s->batch_first;
    h->dropout = s->dropout;
    h->add_zero_attn = s->zero_attn;
}

lam_status lam__mha_set_hidden(lam_module *m, const lam__hidden *v, unsigned which)
{
    mha_state *s = m->state;
    if (which & LAM__HID_NUM_HEADS) {
        if (v->num_heads <= 0 || s->E % v->num_heads)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "MultiheadAttention(embed_dim=%" PRId64 "): num_heads=%" PRId64
                              ": embed_dim must be divisible by num_heads",
                              s->E, v->num_heads);
        s->H = v->num_heads;
    }
    if (which & LAM__HID_BATCH_FIRST)
        s->batch_first = v->batch_first;
    s->unknown &= ~which;
    return LAM_OK;
}

void lam__mha_forget(lam_module *m, unsigned which)
{
    mha_state *s = m->state;
    s->unknown |= which & (LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST | LAM__HID_KV);
}
