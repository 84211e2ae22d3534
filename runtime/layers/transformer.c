/* TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
 * activation="relu", layer_norm_eps=1e-5, batch_first=False,
 * norm_first=False), PyTorch 1.13's children and eval-mode forward:
 *   norm_first:  x = x + self_attn(norm1(x));  x = x + ff(norm2(x))
 *   else:        x = norm1(x + self_attn(x));  x = norm2(x + ff(x))
 * and TransformerDecoderLayer (the same arguments), with a cross-attention
 * block mha(x, memory) = multihead_attn(x, memory, memory) between the two:
 *   norm_first:  x += self_attn(norm1(x)); x += mha(norm2(x)); x += ff(norm3(x))
 *   else:        x = norm1(x + self_attn(x)); x = norm2(x + mha(x));
 *                x = norm3(x + ff(x))
 * with ff(x) = linear2(activation(linear1(x))) (the dropouts are the
 * identity in eval mode).  linear1 runs with its activation fused into the
 * GEMM epilogue; both Linears split their columns across threads (each
 * output element is one chain: the bits do not depend on the thread
 * count); the attention is the MultiheadAttention child's compute.  Each
 * residual add and the LayerNorm after it are one pass over rows split
 * across threads (add_norm): a row is normalised while it is in L1, with the
 * bits of the separate passes. */
#include "runtime/layers/layers.h"
#include "runtime/core/parallel.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tel_state {
    int64_t d, nhead, ff;
    double dropout, eps;
    lam_activation act; /* RELU or GELU */
    bool batch_first, norm_first;
    unsigned unknown; /* LAM__HID_NORM_FIRST, LAM__HID_ACTIVATION a model file did not give */
} tel_state;

/* A layer read from a model file without norm_first or activation cannot
 * run until they are given. */
static lam_status tel_known(const lam_module *m)
{
    const tel_state *s = m->state;
    if (!s->unknown)
        return LAM_OK;
    return lam__error(LAM_ERR_INVALID_ARGUMENT,
                      "%s(d_model=%" PRId64 "): %s is not known (PyTorch's repr does not print "
                      "it): %s",
                      m->ops->type_name, s->d,
                      s->unknown & LAM__HID_NORM_FIRST ? "norm_first" : "activation",
                      LAM__HID_HOW);
}

/* ---- a Linear's rows with a fused epilogue, columns split across threads ---- */
typedef struct rows_job {
    lam_module *lin;
    const float *x;
    int64_t rows;
    float *y;
    lam__epilogue ep;
    size_t n;
    lam_status st[64];
} rows_job;

static void rows_task(void *ctx, int ith, int nth)
{
    rows_job *j = ctx;
    int64_t b, e;
    lam__split_range((int64_t)j->n, ith, nth, 16, &b, &e);
    j->st[ith] = b < e ? j->lin->ops->run_rows(j->lin, j->x, j->rows, j->y, j->ep, (size_t)b,
                                               (size_t)e)
                       : LAM_OK;
}

/* y = act(lin(x)) (+ add, rows of out floats like y, when not NULL: the
 * residual in the GEMM epilogue) */
static lam_status linear_rows(lam_module *lin, const float *x, int64_t rows, float *y,
                              lam_activation act, const float *add)
{
    int64_t in, out;
    const float *bias;
    lam__linear_info(lin, &in, &out, &bias);
    rows_job j = {lin, x, rows, y, {.act = act, .add = add, .ldadd = (size_t)out}, (size_t)out,
                  {LAM_OK}};
    int nth = lam__threads_for_call();
    if (nth > 64)
        nth = 64;
    if (nth > (out + 15) / 16)
        nth = (int)((out + 15) / 16);
    if ((double)rows * (double)out * (double)in < 2e5 || nth < 1)
        nth = 1;
    lam__parallel(nth, rows_task, &j);
    for (int i = 0; i < nth; i++)
        if (j.st[i])
            return j.st[i];
    return LAM_OK;
}

static lam_module *child_of(lam_module *m, const char *name, const lam__module_ops *ops)
{
    lam_module *c = lam_module_child(m, name);
    return c && c->ops == ops ? c : NULL;
}

static lam_status tel_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                            int64_t *out)
{
    const tel_state *s = m->state;
    if ((ndim != 2 && ndim != 3) || in[ndim - 1] != s->d) {
        /* PyTorch's message, from the child that meets the input first:
         * norm1 (norm_first) or self_attn */
        lam_module *n1 = s->norm_first ? lam_module_child(m, "norm1") : NULL;
        if (n1 && n1->ops->output_shape && ndim >= 1 && in[ndim - 1] != s->d) {
            int nd;
            int64_t sh[LAM_MAX_DIMS];
            lam_status st = n1->ops->output_shape(n1, ndim, in, &nd, sh);
            if (st) {
                lam__error_within(n1);
                return st;
            }
        }
        if (ndim != 2 && ndim != 3)
            lam__error(LAM_ERR_SHAPE,
                       "query should be unbatched 2D or batched 3D tensor but received %d-D "
                       "query tensor",
                       ndim);
        else
            lam__error(LAM_ERR_SHAPE,
                       "was expecting embedding dimension of %" PRId64 ", but got %" PRId64, s->d,
                       in[ndim - 1]);
        lam__error_within(lam_module_child(m, "self_attn"));
        return LAM_ERR_SHAPE;
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

/* y = linear2(act(linear1(x))) (+ add when not NULL, in linear2's
 * epilogue), h: rows x ff scratch */
static lam_status tel_ff(lam_module *m, const float *x, int64_t rows, float *h, float *y,
                         const float *add)
{
    const tel_state *s = m->state;
    lam_module *l1 = child_of(m, "linear1", &lam__linear_ops),
               *l2 = child_of(m, "linear2", &lam__linear_ops);
    if (!l1 || !l2)
        return lam__error(LAM_ERR_RUNTIME, "%s: linear1 or linear2 is not a Linear",
                          m->ops->type_name);
    int64_t a, b, c, d;
    const float *bias;
    lam__linear_info(l1, &a, &b, &bias);
    lam__linear_info(l2, &c, &d, &bias);
    if (a != s->d || b != s->ff || c != s->ff || d != s->d)
        return lam__error(LAM_ERR_SHAPE, "%s: linear1/linear2 do not map "
                          "d_model %" PRId64 " -> %" PRId64 " -> d_model", m->ops->type_name, s->d,
                          s->ff);
    lam_status st = linear_rows(l1, x, rows, h, s->act, NULL);
    return st ? st : linear_rows(l2, h, rows, y, LAM_ACTIVATION_IDENTITY, add);
}

static lam_status tel_norm(lam_module *m, const char *name, const lam_tensor *x, lam_tensor *y)
{
    lam_module *n = lam_module_child(m, name);
    if (!n || !n->ops->forward_into)
        return lam__error(LAM_ERR_RUNTIME, "%s: no %s", m->ops->type_name, name);
    return n->ops->forward_into(n, x, y);
}

/* ---- the residual add and the LayerNorm after it, one pass over rows ----
 * sum = a + b row by row and, while that row is in L1, y = norm(sum) (y
 * NULL: the add alone), rows split across threads.  Each element gets the
 * one add and each row the one layer_norm call that the separate passes
 * (k->add over everything, then the LayerNorm's forward) gave it, so the
 * bits are theirs whatever the thread count.  a, b and sum may be the same
 * rows; y may be a's rows (a row is added before it is normalised). */
typedef struct addnorm_job {
    const float *a, *b;
    float *sum, *y;
    size_t d;
    int64_t rows;
    const float *gamma, *beta;
    float eps;
} addnorm_job;

static void addnorm_task(void *ctx, int ith, int nth)
{
    const addnorm_job *j = ctx;
    const lam__kernel_table *k = lam__kernels();
    int64_t b, e;
    lam__split_range(j->rows, ith, nth, 1, &b, &e);
    for (int64_t r = b; r < e; r++) {
        const size_t o = (size_t)r * j->d;
        if (j->a) /* NULL: sum is already there (the GEMM epilogue added it) */
            k->add(j->d, j->a + o, j->b + o, j->sum + o);
        if (j->y)
            k->layer_norm(j->d, j->sum + o, j->y + o, j->gamma, j->beta, j->eps);
    }
}

/* sum = a + b (all of x's shape), then y = the child `norm`(sum) unless
 * norm is NULL; a and b NULL: y = norm(sum) alone, rows split the same way.
 * A norm child that is not a LayerNorm over d_model (a model file may hold
 * another module) runs as its own pass. */
static lam_status add_norm(lam_module *m, const lam_tensor *a, const lam_tensor *b,
                           lam_tensor *sum, const char *norm, lam_tensor *y)
{
    const tel_state *s = m->state;
    addnorm_job j = {a ? a->data : NULL, b ? b->data : NULL, sum->data, NULL, (size_t)s->d,
                     sum->numel / s->d, NULL, NULL, 0.0f};
    int64_t size = 0;
    const bool fused = norm && lam__layer_norm_info(lam_module_child(m, norm), &size, &j.gamma,
                                                    &j.beta, &j.eps) && size == s->d;
    if (fused)
        j.y = y->data;
    int nth = lam__threads_for_call();
    if (nth > j.rows)
        nth = (int)j.rows;
    /* a row costs ~3 d flops: below ~32k elements one thread is quicker */
    if ((double)sum->numel < 32768.0 || nth < 1)
        nth = 1;
    if (a || fused)
        lam__parallel(nth, addnorm_task, &j);
    return norm && !fused ? tel_norm(m, norm, sum, y) : LAM_OK;
}

/* Whether n floats at a and at b share memory (the residual in a GEMM
 * epilogue must not be the GEMM's output). */
static bool overlap(const float *a, const float *b, int64_t n)
{
    return (uintptr_t)a < (uintptr_t)(b + n) && (uintptr_t)b < (uintptr_t)(a + n);
}

lam_status lam__tel_run(lam_module *m, const lam_tensor *in, const lam__attn_mask *am,
                        const lam__attn_mask *kpm, lam_tensor *out)
{
    const tel_state *s = m->state;
    if (tel_known(m))
        return LAM_ERR_INVALID_ARGUMENT;
    if (m->training && s->dropout > 0)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "TransformerEncoderLayer: dropout=%g in training mode is not supported "
                          "(lamina runs inference: call eval())",
                          s->dropout);
    lam_module *sa = child_of(m, "self_attn", &lam__mha_ops);
    if (!sa)
        return lam__error(LAM_ERR_RUNTIME, "TransformerEncoderLayer: self_attn is not a "
                          "MultiheadAttention");
    const int64_t rows = in->numel / s->d;
    lam_tensor *ta = NULL, *tb = NULL, *th = NULL;
    int64_t hs[2] = {rows, s->ff};
    lam_status st = lam__tensor_create_uninit(&ta, in->ndim, in->shape);
    if (!st)
        st = lam__tensor_create_uninit(&tb, in->ndim, in->shape);
    if (!st)
        st = lam__tensor_create_uninit(&th, 2, hs);
    if (st)
        goto done;
    if (s->norm_first && !overlap(in->data, out->data, in->numel)) {
        /* each residual add in the epilogue of the GEMM before it (out_proj,
         * linear2): x1 = in + sa(norm1(in)) in tb, out = x1 + ff(norm2(x1)) */
        if ((st = tel_norm(m, "norm1", in, ta)) ||
            (st = lam__mha_compute_add(sa, ta, ta, ta, kpm, am, tb, in->data)) ||
            (st = add_norm(m, NULL, NULL, tb, "norm2", ta)))
            goto done;
        st = tel_ff(m, ta->data, rows, th->data, out->data, tb->data);
    } else if (s->norm_first) {
        if ((st = tel_norm(m, "norm1", in, ta)) ||
            (st = lam__mha_compute(sa, ta, ta, ta, kpm, am, false, true, tb, NULL)) ||
            (st = add_norm(m, in, tb, out, "norm2", ta)) ||
            (st = tel_ff(m, ta->data, rows, th->data, tb->data, NULL)))
            goto done;
        st = add_norm(m, out, tb, out, NULL, NULL);
    } else {
        if ((st = lam__mha_compute(sa, in, in, in, kpm, am, false, true, ta, NULL)) ||
            (st = add_norm(m, in, ta, ta, "norm1", tb)) ||
            (st = tel_ff(m, tb->data, rows, th->data, ta->data, NULL)))
            goto done;
        st = add_norm(m, tb, ta, ta, "norm2", out);
    }
done:
    lam_tensor_release(ta);
    lam_tensor_release(tb);
    lam_tensor_release(th);
    return st;
}

static lam_status tel_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    return lam__tel_run(m, in, NULL, NULL, out);
}

/* Values a forward(src, mask, key_padding_mask) was given, as PyTorch 1.13's
 * TransformerEncoderLayer.forward(src, src_mask=None,
 * src_key_padding_mask=None) and TransformerEncoder.forward(src, mask=None,
 * src_key_padding_mask=None) take them. */
lam_status lam__tel_args(const char *type, const lam_tuple *in, const lam_tensor **src,
                         lam__attn_mask *am, lam__attn_mask *kpm, bool *has_am, bool *has_kpm)
{
    if (in->n < 1 || in->n > 3)
        return in->n == 0
                   ? lam__error(LAM_ERR_TYPE,
                                "%s.forward() missing 1 required positional argument: 'src'", type)
                   : lam__error(LAM_ERR_TYPE,
                                "%s.forward() takes from 2 to 4 positional arguments but %zu were "
                                "given",
                                type, in->n + 1);
    if (!in->items[0].t)
        return lam__error(LAM_ERR_TYPE, "%s: src must be a Tensor, not %s", type,
                          lam__val_kind(&in->items[0]));
    lam_status st = lam__check_f32(type, "src", in->items[0].t);
    if (st)
        return st;
    *src = in->items[0].t;
    for (size_t i = 1; i < 3; i++) {
        const lam__val *v = i < in->n ? &in->items[i] : NULL;
        if (v && v->tup)
            return lam__error(LAM_ERR_TYPE, "%s: a mask must be a Tensor or None, not tuple",
                              type);
        unsigned char *owned = NULL;
        st = lam__attn_mask_of(v ? v->t : NULL, i == 1 ? am : kpm, &owned);
        if (st)
            return st;
        *(i == 1 ? has_am : has_kpm) = v && v->t;
    }
    return LAM_OK;
}

static lam_status tel_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const lam_tensor *src = NULL;
    lam__attn_mask am, kpm;
    bool has_am = false, has_kpm = false;
    lam_status st = lam__tel_args("TransformerEncoderLayer", in, &src, &am, &kpm, &has_am, &has_kpm);
    lam_tensor *y = NULL;
    if (!st)
        st = lam_tensor_create(&y, src->ndim, src->shape);
    if (!st)
        st = lam__tel_run(m, src, has_am ? &am : NULL, has_kpm ? &kpm : NULL, y);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    out->t = y;
    return LAM_OK;
}

static void tel_destroy(lam_module *m) { free(m->state); }

static double tel_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                        const int64_t *out)
{
    (void)out_ndim, (void)out;
    const tel_state *s = m->state;
    double rows = 1, L = (double)in[in_ndim == 3 && !s->batch_first ? 0 : in_ndim - 2];
    for (int i = 0; i < in_ndim - 1; i++)
        rows *= (double)in[i];
    return rows * (8.0 * (double)(s->d * s->d) + 4.0 * L * (double)s->d +
                   4.0 * (double)(s->d * s->ff));
}

/* What the forward fuses (lam_plan_describe): where each residual add is. */
static int tel_plan_note(const lam_module *m, char *buf, size_t size)
{
    const tel_state *s = m->state;
    const bool dec = m->ops == &lam__tdl_ops;
    if (s->unknown)
        return 0;
    if (s->norm_first)
        return snprintf(buf, size, "residual adds in the GEMM epilogues of %s",
                        dec ? "self_attn.out_proj, multihead_attn.out_proj and linear2"
                            : "self_attn.out_proj and linear2");
    return snprintf(buf, size, "residual adds fused with %s",
                    dec ? "norm1, norm2 and norm3" : "norm1 and norm2");
}

const lam__module_ops lam__tel_ops = {
    .type_name = "TransformerEncoderLayer",
    .py_module = "torch.nn.modules.transformer",
    .output_shape = tel_shape,
    .forward_into = tel_forward,
    .forward_multi = tel_forward_multi,
    .destroy = tel_destroy,
    .flops = tel_flops,
    .pooled_scratch = true,
    .plan_note = tel_plan_note,
};

/* ---- TransformerDecoderLayer ---- */

/* The attention children a layer's forward needs, and the eval-mode check. */
static lam_status attn_child(lam_module *m, const char *name, lam_module **out)
{
    const tel_state *s = m->state;
    if (m->training && s->dropout > 0)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "%s: dropout=%g in training mode is not supported (lamina runs "
                          "inference: call eval())",
                          m->ops->type_name, s->dropout);
    *out = child_of(m, name, &lam__mha_ops);
    if (!*out)
        return lam__error(LAM_ERR_RUNTIME, "%s: %s is not a MultiheadAttention",
                          m->ops->type_name, name);
    return LAM_OK;
}

lam_status lam__tdl_run(lam_module *m, const lam_tensor *tgt, const lam_tensor *memory,
                        const lam__attn_mask *tgt_mask, const lam__attn_mask *memory_mask,
                        const lam__attn_mask *tgt_kpm, const lam__attn_mask *memory_kpm,
                        lam_tensor *out)
{
    const tel_state *s = m->state;
    lam_module *sa = NULL, *ca = NULL;
    lam_status st = tel_known(m);
    if (!st)
        st = attn_child(m, "self_attn", &sa);
    if (!st)
        st = attn_child(m, "multihead_attn", &ca);
    if (st)
        return st;
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    if ((st = tel_shape(m, tgt->ndim, tgt->shape, &nd, sh)))
        return st;
    const int64_t rows = tgt->numel / s->d;
    lam_tensor *ta = NULL, *tb = NULL, *th = NULL;
    int64_t hs[2] = {rows, s->ff};
    st = lam__tensor_create_uninit(&ta, tgt->ndim, tgt->shape); /* each written before read */
    if (!st)
        st = lam__tensor_create_uninit(&tb, tgt->ndim, tgt->shape);
    if (!st)
        st = lam__tensor_create_uninit(&th, 2, hs);
    if (st)
        goto done;
    if (s->norm_first && !overlap(tgt->data, out->data, tgt->numel)) {
        /* the residual adds in out_proj's and linear2's epilogues: x1 = tgt
         * + sa(norm1(tgt)) in out, x2 = x1 + mha(norm2(x1)) in tb, out = x2
         * + ff(norm3(x2)) */
        if ((st = tel_norm(m, "norm1", tgt, ta)) ||
            (st = lam__mha_compute_add(sa, ta, ta, ta, tgt_kpm, tgt_mask, out, tgt->data)) ||
            (st = add_norm(m, NULL, NULL, out, "norm2", ta)) ||
            (st = lam__mha_compute_add(ca, ta, memory, memory, memory_kpm, memory_mask, tb,
                                       out->data)) ||
            (st = add_norm(m, NULL, NULL, tb, "norm3", ta)))
            goto done;
        st = tel_ff(m, ta->data, rows, th->data, out->data, tb->data);
    } else if (s->norm_first) {
        if ((st = tel_norm(m, "norm1", tgt, ta)) ||
            (st = lam__mha_compute(sa, ta, ta, ta, tgt_kpm, tgt_mask, false, true, tb, NULL)) ||
            (st = add_norm(m, tgt, tb, out, "norm2", ta)) ||
            (st = lam__mha_compute(ca, ta, memory, memory, memory_kpm, memory_mask, false, true,
                                   tb, NULL)) ||
            (st = add_norm(m, out, tb, out, "norm3", ta)) ||
            (st = tel_ff(m, ta->data, rows, th->data, tb->data, NULL)))
            goto done;
        st = add_norm(m, out, tb, out, NULL, NULL);
    } else {
        /* ta, tb alternate: x1 = norm1(x + sa(x)) in tb, x2 = norm2(x1 +
         * mha(x1)) in tb, out = norm3(x2 + ff(x2)) */
        if ((st = lam__mha_compute(sa, tgt, tgt, tgt, tgt_kpm, tgt_mask, false, true, ta, NULL)) ||
            (st = add_norm(m, tgt, ta, ta, "norm1", tb)) ||
            (st = lam__mha_compute(ca, tb, memory, memory, memory_kpm, memory_mask, false, true,
                                   ta, NULL)) ||
            (st = add_norm(m, tb, ta, ta, "norm2", tb)) ||
            (st = tel_ff(m, tb->data, rows, th->data, ta->data, NULL)))
            goto done;
        st = add_norm(m, tb, ta, ta, "norm3", out);
    }
done:
    lam_tensor_release(ta);
    lam_tensor_release(tb);
    lam_tensor_release(th);
    return st;
}

/* Values a forward(tgt, memory, tgt_mask, memory_mask,
 * tgt_key_padding_mask, memory_key_padding_mask) was given, as PyTorch
 * 1.13's TransformerDecoderLayer and TransformerDecoder take them.  masks[i]
 * is NULL for a mask not given or None. */
lam_status lam__tdl_args(const char *type, const lam_tuple *in, const lam_tensor **tgt,
                         const lam_tensor **memory, lam__attn_mask masks[4],
                         const lam__attn_mask *given[4])
{
    if (in->n < 2)
        return in->n == 0
                   ? lam__error(LAM_ERR_TYPE,
                                "%s.forward() missing 2 required positional arguments: 'tgt' "
                                "and 'memory'",
                                type)
                   : lam__error(LAM_ERR_TYPE,
                                "%s.forward() missing 1 required positional argument: 'memory'",
                                type);
    if (in->n > 6)
        return lam__error(LAM_ERR_TYPE,
                          "%s.forward() takes from 3 to 7 positional arguments but %zu were given",
                          type, in->n + 1);
    static const char *const names[2] = {"tgt", "memory"};
    for (int i = 0; i < 2; i++) {
        if (!in->items[i].t)
            return lam__error(LAM_ERR_TYPE, "%s: %s must be a Tensor, not %s", type, names[i],
                              lam__val_kind(&in->items[i]));
        lam_status st = lam__check_f32(type, names[i], in->items[i].t);
        if (st)
            return st;
    }
    *tgt = in->items[0].t;
    *memory = in->items[1].t;
    for (size_t i = 0; i < 4; i++) {
        const lam__val *v = i + 2 < in->n ? &in->items[i + 2] : NULL;
        if (v && v->tup)
            return lam__error(LAM_ERR_TYPE, "%s: a mask must be a Tensor or None, not tuple",
                              type);
        unsigned char *owned = NULL;
        lam_status st = lam__attn_mask_of(v ? v->t : NULL, &masks[i], &owned);
        if (st)
            return st;
        given[i] = v && v->t ? &masks[i] : NULL;
    }
    return LAM_OK;
}

static lam_status tdl_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const lam_tensor *tgt = NULL, *mem = NULL;
    lam__attn_mask mk[4];
    const lam__attn_mask *g[4];
    lam_status st = lam__tdl_args("TransformerDecoderLayer", in, &tgt, &mem, mk, g);
    lam_tensor *y = NULL;
    if (!st)
        st = lam_tensor_create(&y, tgt->ndim, tgt->shape);
    if (!st)
        st = lam__tdl_run(m, tgt, mem, g[0], g[1], g[2], g[3], y);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    out->t = y;
    return LAM_OK;
}

static double tdl_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                        const int64_t *out)
{
    const tel_state *s = m->state;
    double rows = 1;
    for (int i = 0; i < in_ndim - 1; i++)
        rows *= (double)in[i];
    return tel_flops(m, in_ndim, in, out_ndim, out) + 8.0 * rows * (double)(s->d * s->d);
}

/* No single-tensor forward: forward(tgt) is PyTorch's TypeError (memory
 * missing), which the call machinery gets from forward_multi. */
const lam__module_ops lam__tdl_ops = {
    .type_name = "TransformerDecoderLayer",
    .py_module = "torch.nn.modules.transformer",
    .forward_multi = tdl_forward_multi,
    .destroy = tel_destroy,
    .flops = tdl_flops,
    .plan_note = tel_plan_note,
};

/* ---- construction, shared by both layers ---- */

static lam_status add_new(lam_module *m, const char *name, lam_status st, lam_module *child)
{
    if (st)
        return st;
    st = lam_module_add_child(m, name, child);
    lam_module_release(child);
    return st;
}

static lam_status layer_create(const lam__module_ops *ops, lam_module **out, int64_t d_model,
                               int64_t nhead, int64_t dim_feedforward, double dropout,
                               const char *activation, double layer_norm_eps, bool batch_first,
                               bool norm_first, bool children)
{
    *out = NULL;
    const bool dec = ops == &lam__tdl_ops;
    lam_activation act;
    if (!activation || !strcmp(activation, "relu"))
        act = LAM_ACTIVATION_RELU;
    else if (!strcmp(activation, "gelu"))
        act = LAM_ACTIVATION_GELU;
    else
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "activation should be relu/gelu, not %.40s", activation);
    if (d_model <= 0 || nhead <= 0 || dim_feedforward <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: d_model, nhead and dim_feedforward must be positive",
                          ops->type_name);
    if (!(layer_norm_eps >= 0) || !isfinite(layer_norm_eps))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: layer_norm_eps must be a non-negative number", ops->type_name);
    tel_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(ops->type_name);
    s->d = d_model, s->nhead = nhead, s->ff = dim_feedforward, s->dropout = dropout;
    s->eps = layer_norm_eps, s->act = act, s->batch_first = batch_first;
    s->norm_first = norm_first;
    lam_module *m;
    lam_status st = lam__module_new(&m, ops, s);
    if (st) {
        free(s);
        return st;
    }
    lam_module *c = NULL;
    int64_t shape[1] = {d_model};
    /* PyTorch's order: self_attn, (multihead_attn,) linear1, dropout,
     * linear2, norm1, norm2, (norm3,) dropout1, dropout2, (dropout3) */
    static const char *const enc_names[] = {"self_attn", "linear1", "dropout", "linear2",
                                            "norm1", "norm2", "dropout1", "dropout2"};
    static const char *const dec_names[] = {"self_attn", "multihead_attn", "linear1",
                                            "dropout",   "linear2",        "norm1",
                                            "norm2",     "norm3",          "dropout1",
                                            "dropout2",  "dropout3"};
    const char *const *names = dec ? dec_names : enc_names;
    const int count = !children ? 0 : dec ? 11 : 8;
    for (int i = 0; i < count && !st; i++) {
        const char *nm = names[i];
        c = NULL;
        if (!strcmp(nm, "self_attn") || !strcmp(nm, "multihead_attn"))
            st = lam_multihead_attention_create(&c, d_model, nhead, dropout, true, false, false,
                                                0, 0, batch_first);
        else if (!strcmp(nm, "linear1"))
            st = lam_linear_create(&c, d_model, dim_feedforward, true);
        else if (!strcmp(nm, "linear2"))
            st = lam_linear_create(&c, dim_feedforward, d_model, true);
        else if (!strncmp(nm, "norm", 4))
            st = lam_layer_norm_create(&c, 1, shape, layer_norm_eps, true);
        else
            st = lam_dropout_create(&c, dropout);
        st = add_new(m, nm, st, c);
    }
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

LAM_API lam_status lam_transformer_encoder_layer_create(lam_module **out, int64_t d_model,
                                                        int64_t nhead, int64_t dim_feedforward,
                                                        double dropout, const char *activation,
                                                        double layer_norm_eps, bool batch_first,
                                                        bool norm_first)
{
    LAM__CHECK_ARG(out);
    return layer_create(&lam__tel_ops, out, d_model, nhead, dim_feedforward, dropout, activation,
                        layer_norm_eps, batch_first, norm_first, true);
}

LAM_API lam_status lam_transformer_decoder_layer_create(lam_module **out, int64_t d_model,
                                                        int64_t nhead, int64_t dim_feedforward,
                                                        double dropout, const char *activation,
                                                        double layer_norm_eps, bool batch_first,
                                                        bool norm_first)
{
    LAM__CHECK_ARG(out);
    return layer_create(&lam__tdl_ops, out, d_model, nhead, dim_feedforward, dropout, activation,
                        layer_norm_eps, batch_first, norm_first, true);
}

lam_status lam__tel_clone(const lam_module *src, const lam__module_ops *ops, const char *owner,
                          lam_module **out)
{
    *out = NULL;
    if (!src || src->ops != ops)
        return lam__error(LAM_ERR_TYPE, "%s: %s must be a %s", owner,
                          ops == &lam__tdl_ops ? "decoder_layer" : "encoder_layer",
                          ops->type_name);
    const tel_state *s = src->state;
    lam_module *m = NULL;
    lam_state_dict *sd = NULL;
    lam_status st = layer_create(ops, &m, s->d, s->nhead, s->ff, s->dropout,
                                 s->act == LAM_ACTIVATION_GELU ? "gelu" : "relu", s->eps,
                                 s->batch_first, s->norm_first, true);
    /* copy.deepcopy: the same parameter values (and structure: a layer read
     * from a model file may hold other children) */
    if (!st)
        st = lam_module_state_dict(src, &sd);
    if (!st)
        st = lam_module_load_state_dict(m, sd, true, NULL);
    lam_state_dict_free(sd);
    if (st) {
        lam_module_release(m);
        return st;
    }
    ((tel_state *)m->state)->unknown = s->unknown;
    lam_module_train(m, src->training);
    *out = m;
    return LAM_OK;
}

lam_status lam__tel_shell(const lam__module_ops *ops, lam_module **out, int64_t d_model,
                          int64_t nhead, int64_t dim_feedforward, double dropout, bool gelu,
                          double layer_norm_eps, bool batch_first, bool norm_first)
{
    return layer_create(ops, out, d_model, nhead, dim_feedforward, dropout, gelu ? "gelu" : "relu",
                        layer_norm_eps, batch_first, norm_first, false);
}

void lam__tel_hidden(const lam_module *m, lam__hidden *h)
{
    const tel_state *s = m->state;
    memset(h, 0, sizeof *h);
    h->takes = LAM__HID_NUM_HEADS | LAM__HID_BATCH_FIRST | LAM__HID_NORM_FIRST |
               LAM__HID_ACTIVATION;
    h->known = h->takes & ~s->unknown;
    h->num_heads = s->nhead;
    h->batch_first = s->batch_first;
    h->norm_first = s->norm_first;
    h->gelu = s->act == LAM_ACTIVATION_GELU;
}

lam_status lam__tel_set_hidden(lam_module *m, const lam__hidden *v, unsigned which)
{
    tel_state *s = m->state;
    if ((which & LAM__HID_NUM_HEADS) && v->num_heads <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: nhead must be positive",
                          m->ops->type_name);
    if (which & LAM__HID_NUM_HEADS)
        s->nhead = v->num_heads;
    if (which & LAM__HID_BATCH_FIRST)
        s->batch_first = v->batch_first;
    if (which & LAM__HID_NORM_FIRST)
        s->norm_first = v->norm_first;
    if (which & LAM__HID_ACTIVATION)
        s->act = v->gelu ? LAM_ACTIVATION_GELU : LAM_ACTIVATION_RELU;
    s->unknown &= ~which;
    return LAM_OK;
}

void lam__tel_forget(lam_module *m, unsigned which)
{
    tel_state *s = m->state;
    s->unknown |= which & (LAM__HID_NORM_FIRST | LAM__HID_ACTIVATION);
}
