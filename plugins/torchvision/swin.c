/* Swin Transformer (torchvision/models/swin_transformer.py, v1):
 * SwinTransformer, SwinTransformerBlock, ShiftedWindowAttention,
 * PatchMerging and torchvision.ops' MLP.
 *
 * What the printed form leaves out, and where it comes from:
 *   - ShiftedWindowAttention prints only qkv and proj.  dim is qkv's
 *     in_features; window_size, shift_size and num_heads are the arguments
 *     written in its call before the children (lamina-export writes
 *     `window_size=[7, 7], shift_size=[3, 3], num_heads=3`), else the
 *     defaults of torchvision's swin_t / swin_s / swin_b builders: window
 *     7 x 7, num_heads = dim / 32, and shift_size 0 in the even blocks of a
 *     stage and window // 2 in the odd ones (SwinTransformer's bind gives
 *     it, as SwinTransformer.__init__ does).  Square windows only.
 *   - relative_position_bias_table ([(2w-1)^2, num_heads], a parameter the
 *     repr never shows) is declared by the attention's bind, and
 *     relative_position_index (an int64 buffer, which lamina-export leaves
 *     out) is computed as define_relative_position_index does.
 *   - the Permute()s of the stem and of the model (no dims printed) get
 *     (0, 2, 3, 1) and (0, 3, 1, 2) from SwinTransformer's bind.
 * The window attention is computed here (gather windows with the cyclic
 * shift and padding, qkv and proj through the children's Linear forwards,
 * the per-window softmax(q k^T * scale + bias + mask) v, scatter back). */
#include "tv.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- ShiftedWindowAttention ---- */

#define SWA_MAGIC 0x53574154u

typedef struct swa_state {
    uint32_t magic;
    int64_t w, shift, heads; /* heads 0: dim / 32 at bind */
    bool shift_given, heads_given, window_given;
    int64_t C;    /* qkv's in_features, at bind */
    int32_t *idx; /* relative_position_index [N * N] */
} swa_state;

static const lam_arg_spec swa_args[] = {
    {.name = "window_size", .type = LAM_ARG_ANY, .flags = LAM_ARG_KEYWORD_ONLY,
     .default_value = LAM_DEFAULT_NONE},
    {.name = "shift_size", .type = LAM_ARG_ANY, .flags = LAM_ARG_KEYWORD_ONLY,
     .default_value = LAM_DEFAULT_NONE},
    {.name = "num_heads", .type = LAM_ARG_INT,
     .flags = LAM_ARG_KEYWORD_ONLY | LAM_ARG_NONE_OK | LAM_ARG_POSITIVE,
     .default_value = LAM_DEFAULT_NONE},
};

/* an int or a pair of equal ints */
static lam_status square(const lam_host_api *h, const lam_value *v, const char *what,
                         bool nonneg_ok, int64_t *out)
{
    int64_t a, b;
    if (v->kind == LAM_VALUE_INT)
        a = b = v->i;
    else if (v->kind == LAM_VALUE_TUPLE && v->len == 2 && v->items[0].kind == LAM_VALUE_INT &&
             v->items[1].kind == LAM_VALUE_INT)
        a = v->items[0].i, b = v->items[1].i;
    else
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "ShiftedWindowAttention: %s must be a list of 2 ints", what);
    if (a != b)
        return h->error(LAM_ERR_NOT_IMPLEMENTED,
                        "ShiftedWindowAttention: %s [%lld, %lld]: lamina runs square windows only",
                        what, (long long)a, (long long)b);
    if (a < (nonneg_ok ? 0 : 1) || a > 64)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "ShiftedWindowAttention: %s %lld out of range",
                        what, (long long)a);
    *out = a;
    return LAM_OK;
}

static void swa_destroy(const lam_host_api *h, void *state)
{
    swa_state *s = state;
    h->free(s->idx);
    h->free(s);
}

static lam_status swa_create(const lam_host_api *h, const lam_layer_type *type,
                             const lam_value *args, lam_module **out)
{
    swa_state *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "ShiftedWindowAttention: out of memory");
    memset(s, 0, sizeof *s);
    s->magic = SWA_MAGIC;
    s->w = 7; /* torchvision's swin_t/s/b */
    lam_status st = LAM_OK;
    if (args[0].kind != LAM_VALUE_NONE && !(st = square(h, &args[0], "window_size", false, &s->w)))
        s->window_given = true;
    if (!st && args[1].kind != LAM_VALUE_NONE &&
        !(st = square(h, &args[1], "shift_size", true, &s->shift)))
        s->shift_given = true;
    if (!st && args[2].kind != LAM_VALUE_NONE) {
        s->heads = args[2].i;
        s->heads_given = true;
    }
    if (!st && s->shift >= s->w)
        st = h->error(LAM_ERR_INVALID_ARGUMENT,
                      "ShiftedWindowAttention: shift_size %lld must be less than window_size %lld",
                      (long long)s->shift, (long long)s->w);
    if (st) {
        h->free(s);
        return st;
    }
    st = h->module_new(out, type, s);
    if (st)
        h->free(s);
    return st;
}

static lam_status swa_bind(const lam_host_api *h, lam_module *self)
{
    swa_state *s = h->module_state(self);
    lam_module *qkv = h->module_child(self, "qkv"), *proj = h->module_child(self, "proj");
    lam_tensor *qw = qkv ? h->module_param(qkv, "weight") : NULL;
    if (!qw || !proj || h->tensor_ndim(qw) != 2 || h->tensor_shape(qw)[0] != 3 * h->tensor_shape(qw)[1])
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "ShiftedWindowAttention: expected children 'qkv' (Linear(dim, 3 * dim)) "
                        "and 'proj'");
    s->C = h->tensor_shape(qw)[1];
    if (!s->heads_given)
        s->heads = s->C / 32 > 0 ? s->C / 32 : 1; /* torchvision's swin builders */
    if (s->C % s->heads)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "ShiftedWindowAttention: dim %lld does not split into num_heads %lld%s",
                        (long long)s->C, (long long)s->heads,
                        s->heads_given ? "" : " (the default dim / 32: write num_heads=N in its "
                                              "call)");
    const int64_t w = s->w, N = w * w, T = (2 * w - 1) * (2 * w - 1);
    if (!s->idx) {
        s->idx = h->alloc(sizeof(int32_t) * (size_t)(N * N));
        if (!s->idx)
            return h->error(LAM_ERR_NO_MEMORY, "ShiftedWindowAttention: out of memory");
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < N; j++)
                s->idx[i * N + j] = (int32_t)((i / w - j / w + w - 1) * (2 * w - 1) +
                                              (i % w - j % w + w - 1));
    }
    lam_tensor *t = h->module_param(self, "relative_position_bias_table");
    if (t) {
        if (h->tensor_ndim(t) != 2 || h->tensor_shape(t)[0] != T ||
            h->tensor_shape(t)[1] != s->heads)
            return h->error(LAM_ERR_INVALID_ARGUMENT, "ShiftedWindowAttention: "
                            "relative_position_bias_table is not [%lld, %lld]",
                            (long long)T, (long long)s->heads);
        return LAM_OK;
    }
    int64_t shape[2] = {T, s->heads};
    return h->module_add_param(self, "relative_position_bias_table", 2, shape, NULL);
}

static lam_status swa_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                            int *out_ndim, int64_t *out)
{
    const swa_state *s = h->module_state(self);
    if (ndim != 4 || in[3] != s->C) {
        char b[96];
        return h->error(LAM_ERR_SHAPE,
                        "ShiftedWindowAttention: expected an input [B, H, W, %lld], got %s",
                        (long long)s->C, h->shape_str(ndim, in, b, sizeof b));
    }
    *out_ndim = 4;
    memcpy(out, in, sizeof(int64_t) * 4);
    return LAM_OK;
}

/* A tensor of `shape` to fill: from the plan's pools (like * 0, viewed)
 * when it has like's size, which is every step of a model whose feature
 * maps are multiples of the window, else a new one. */
static lam_status scratch(const lam_host_api *h, const lam_tensor *like, int nd,
                          const int64_t *shape, lam_tensor **out)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= shape[i];
    if (n != h->tensor_numel(like))
        return h->tensor_create(out, nd, shape);
    lam_tensor *z = NULL;
    lam_status st = h->ops->mul_scalar(&z, like, 0.0);
    if (st)
        return st;
    st = h->ops->view(out, z, nd, shape);
    h->tensor_release(z);
    return st;
}

#define SWA_STACK 8192 /* floats of logits and keys on the stack (w 7, 128 per head) */

/* the shifted-window mask's region of padded position p (of P) */
static int region(int64_t p, int64_t P, int64_t w, int64_t shift)
{
    if (!shift)
        return 0;
    return p < P - w ? 0 : p < P - shift ? 1 : 2;
}

static lam_status swa_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                              lam_tensor *out)
{
    const swa_state *s = h->module_state(self);
    lam_tensor *table = h->module_param(self, "relative_position_bias_table");
    if (!table || !s->idx)
        return h->error(LAM_ERR_RUNTIME, "ShiftedWindowAttention: not bound (lam_module_bind)");
    const int64_t *sh = h->tensor_shape(in);
    const int64_t B = sh[0], H = sh[1], W = sh[2], C = sh[3], w = s->w, N = w * w;
    const int64_t pH = (H + w - 1) / w * w, pW = (W + w - 1) / w * w;
    const int64_t shH = w >= pH ? 0 : s->shift, shW = w >= pW ? 0 : s->shift;
    const bool masked = shH + shW > 0;
    const int64_t nWh = pH / w, nWw = pW / w, Bn = B * nWh * nWw;
    const int64_t heads = s->heads, hd = C / heads;
    const float *x = h->tensor_cdata(in);
    float *y = h->tensor_data(out);

    /* windows of the rolled, padded input: [Bn, N, C] */
    lam_tensor *X = NULL, *qkv = NULL, *A = NULL, *P = NULL;
    int64_t xs[3] = {Bn, N, C};
    lam_status st = scratch(h, in, 3, xs, &X);
    if (st)
        return st;
    float *xd = h->tensor_data(X);
    for (int64_t b = 0, bw = 0; b < B; b++)
        for (int64_t wy = 0; wy < nWh; wy++)
            for (int64_t wx = 0; wx < nWw; wx++, bw++)
                for (int64_t i = 0; i < N; i++) {
                    int64_t r = (wy * w + i / w + shH) % pH, q = (wx * w + i % w + shW) % pW;
                    float *d = xd + (bw * N + i) * C;
                    if (r < H && q < W)
                        memcpy(d, x + ((b * H + r) * W + q) * C, sizeof(float) * (size_t)C);
                    else
                        memset(d, 0, sizeof(float) * (size_t)C);
                }
    lam_module *qkv_m = h->module_child(self, "qkv"), *proj_m = h->module_child(self, "proj");
    st = h->module_forward(qkv_m, X, NULL, &qkv);
    if (!st)
        st = scratch(h, X, 3, xs, &A);
    float stack[SWA_STACK], *logit = NULL, *kt = NULL;
    const bool heap = N + hd * N > SWA_STACK;
    if (!st && !(logit = heap ? h->alloc(sizeof(float) * (size_t)(N + hd * N)) : stack))
        st = h->error(LAM_ERR_NO_MEMORY, "ShiftedWindowAttention: out of memory");
    if (!st) {
        const float *qd = h->tensor_cdata(qkv), *tb = h->tensor_cdata(table);
        float *ad = h->tensor_data(A);
        const float scale = 1.0f / sqrtf((float)hd);
        kt = logit + N;
        for (int64_t bw = 0; bw < Bn; bw++) {
            int64_t win = bw % (nWh * nWw), wy = win / nWw, wx = win % nWw;
            const float *base = qd + bw * N * 3 * C;
            for (int64_t hh = 0; hh < heads; hh++) {
                /* this head's keys as [hd, N]: the logits' loop runs over keys */
                for (int64_t j = 0; j < N; j++)
                    for (int64_t d = 0; d < hd; d++)
                        kt[d * N + j] = base[j * 3 * C + C + hh * hd + d];
                for (int64_t i = 0; i < N; i++) {
                    const float *qi = base + i * 3 * C + hh * hd;
                    int ri = region(wy * w + i / w, pH, w, shH) * 3 +
                             region(wx * w + i % w, pW, w, shW);
                    for (int64_t j = 0; j < N; j++)
                        logit[j] = 0.0f;
                    for (int64_t d = 0; d < hd; d++) {
                        const float qd_ = qi[d] * scale, *kd = kt + d * N;
                        for (int64_t j = 0; j < N; j++)
                            logit[j] += qd_ * kd[j];
                    }
                    float mx = -INFINITY;
                    for (int64_t j = 0; j < N; j++) {
                        float acc = logit[j] + tb[(int64_t)s->idx[i * N + j] * heads + hh];
                        if (masked && ri != region(wy * w + j / w, pH, w, shH) * 3 +
                                                region(wx * w + j % w, pW, w, shW))
                            acc += -100.0f;
                        logit[j] = acc;
                        mx = acc > mx ? acc : mx;
                    }
                    double sum = 0.0;
                    for (int64_t j = 0; j < N; j++) {
                        logit[j] = expf(logit[j] - mx);
                        sum += logit[j];
                    }
                    float inv = (float)(1.0 / sum);
                    float *o = ad + (bw * N + i) * C + hh * hd;
                    for (int64_t d = 0; d < hd; d++)
                        o[d] = 0.0f;
                    for (int64_t j = 0; j < N; j++) {
                        const float *vj = base + j * 3 * C + 2 * C + hh * hd;
                        float p = logit[j] * inv;
                        for (int64_t d = 0; d < hd; d++)
                            o[d] += p * vj[d];
                    }
                }
            }
        }
    }
    if (heap)
        h->free(logit);
    if (!st)
        st = h->module_forward(proj_m, A, NULL, &P);
    if (!st) {
        /* reverse the windows and the roll, drop the padding */
        const float *pd = h->tensor_cdata(P);
        for (int64_t b = 0, bw = 0; b < B; b++)
            for (int64_t wy = 0; wy < nWh; wy++)
                for (int64_t wx = 0; wx < nWw; wx++, bw++)
                    for (int64_t i = 0; i < N; i++) {
                        int64_t r = (wy * w + i / w + shH) % pH, q = (wx * w + i % w + shW) % pW;
                        if (r < H && q < W)
                            memcpy(y + ((b * H + r) * W + q) * C, pd + (bw * N + i) * C,
                                   sizeof(float) * (size_t)C);
                    }
    }
    h->tensor_release(X);
    if (qkv)
        h->tensor_release(qkv);
    if (A)
        h->tensor_release(A);
    if (P)
        h->tensor_release(P);
    return st;
}

static int swa_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    /* torchvision prints its children only; what a file wrote is printed
     * back, so that lamina's print of the model reads back to it */
    const swa_state *s = h->module_state(self);
    int n = 0;
    if (s->window_given)
        n += snprintf(buf, size, "window_size=[%lld, %lld]", (long long)s->w, (long long)s->w);
    if (s->shift_given)
        n += snprintf(buf + (n < (int)size ? n : (int)size), (size_t)n < size ? size - (size_t)n : 0,
                      "%sshift_size=[%lld, %lld]", n ? ", " : "", (long long)s->shift,
                      (long long)s->shift);
    if (s->heads_given)
        n += snprintf(buf + (n < (int)size ? n : (int)size), (size_t)n < size ? size - (size_t)n : 0,
                      "%snum_heads=%lld", n ? ", " : "", (long long)s->heads);
    return n;
}

static const lam_layer_type swa_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "ShiftedWindowAttention",
    .py_module = "torchvision.models.swin_transformer",
    .doc = "Swin's window attention (W-MSA / SW-MSA) with relative position bias",
    .args = swa_args,
    .n_args = TV_COUNT(swa_args),
    .create = swa_create,
    .output_shape = swa_shape,
    .forward_into = swa_forward,
    .extra_repr = swa_repr,
    .destroy = swa_destroy,
    .bind = swa_bind,
};

/* ---- SwinTransformerBlock ---- */

/* x = x + stochastic_depth(attn(norm1(x))); x + stochastic_depth(mlp(norm2(x))) */
static lam_status swin_block(tv_ctx *c, tv_val *x)
{
    static const char *const halves[2] = {"norm1 attn stochastic_depth",
                                          "norm2 mlp stochastic_depth"};
    for (int k = 0; k < 2; k++) {
        tv_val y;
        tv_copy(c, x, &y);
        lam_status st = tv_chain(c, halves[k], &y);
        if (!st)
            st = tv_add(c, x, &y);
        tv_drop(c, &y);
        if (st)
            return st;
    }
    return LAM_OK;
}

TV_CONTAINER(swin_block)

static const lam_layer_type swin_block_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "SwinTransformerBlock",
    .py_module = "torchvision.models.swin_transformer",
    .doc = "x + stochastic_depth(attn(norm1(x))), then + stochastic_depth(mlp(norm2(x)))",
    .create = tv_create_plain,
    .output_shape = swin_block_shape,
    .forward = swin_block_forward,
};

/* ---- PatchMerging ---- */

/* _patch_merging_pad: [B, H, W, C] -> [B, ceil(H/2), ceil(W/2), 4C] of
 * x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] (zero past
 * the edge); then norm and reduction */
static lam_status patch_merging(tv_ctx *c, tv_val *x)
{
    if (x->nd != 4)
        return c->h->error(LAM_ERR_SHAPE, "PatchMerging: expected an input [B, H, W, C], got "
                           "%d-d", x->nd);
    const int64_t B = x->s[0], H = x->s[1], W = x->s[2], C = x->s[3];
    int64_t shape[4] = {B, (H + 1) / 2, (W + 1) / 2, 4 * C};
    if (!c->shape_only) {
        lam_tensor *t = NULL;
        lam_status st = scratch(c->h, x->t, 4, shape, &t);
        if (st)
            return st;
        const float *xd = c->h->tensor_cdata(x->t);
        float *td = c->h->tensor_data(t);
        static const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < shape[1]; i++)
                for (int64_t j = 0; j < shape[2]; j++)
                    for (int k = 0; k < 4; k++) {
                        int64_t r = 2 * i + dy[k], q = 2 * j + dx[k];
                        float *d = td + ((b * shape[1] + i) * shape[2] + j) * 4 * C + k * C;
                        if (r < H && q < W)
                            memcpy(d, xd + ((b * H + r) * W + q) * C, sizeof(float) * (size_t)C);
                        else
                            memset(d, 0, sizeof(float) * (size_t)C);
                    }
        c->h->tensor_release(x->t);
        x->t = t;
    }
    memcpy(x->s, shape, sizeof shape);
    return tv_chain(c, "norm reduction", x);
}

TV_CONTAINER(patch_merging)

static const lam_layer_type patch_merging_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "PatchMerging",
    .py_module = "torchvision.models.swin_transformer",
    .doc = "reduction(norm(cat of the 2 x 2 neighbours' channels))",
    .create = tv_create_plain,
    .output_shape = patch_merging_shape,
    .forward = patch_merging_forward,
};

/* torchvision.ops.MLP: an nn.Sequential subclass */
TV_SEQUENTIAL(mlp_type, "MLP");

/* ---- SwinTransformer ---- */

/* the shifts of the blocks of one stage (a Sequential of blocks) */
static void give_shifts(const lam_host_api *h, lam_module *stage)
{
    for (size_t i = 0; i < h->module_num_children(stage); i++) {
        lam_module *blk = h->module_child_at(stage, i, NULL);
        if (strcmp(h->module_type_name(blk), "SwinTransformerBlock"))
            continue;
        lam_module *attn = h->module_child(blk, "attn");
        swa_state *s = attn && !strcmp(h->module_type_name(attn), "ShiftedWindowAttention")
                           ? h->module_state(attn)
                           : NULL;
        if (s && s->magic == SWA_MAGIC && !s->shift_given)
            s->shift = i % 2 ? s->w / 2 : 0;
    }
}

static lam_status swin_bind(const lam_host_api *h, lam_module *self)
{
    lam_module *features = h->module_child(self, "features");
    if (!features)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "SwinTransformer: expected a child 'features'");
    static const int to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
    for (size_t i = 0; i < h->module_num_children(features); i++) {
        lam_module *stage = h->module_child_at(features, i, NULL);
        if (i == 0) {
            for (size_t k = 0; k < h->module_num_children(stage); k++)
                tv_permute_give(h, h->module_child_at(stage, k, NULL), to_nhwc);
        } else {
            give_shifts(h, stage);
        }
    }
    lam_module *p = h->module_child(self, "permute");
    if (p)
        tv_permute_give(h, p, to_nchw);
    return LAM_OK;
}

static const lam_layer_type swin_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "SwinTransformer",
    .py_module = "torchvision.models",
    .doc = "features norm permute avgpool flatten head",
    .create = tv_top_create,
    .output_shape = tv_top_shape,
    .forward = tv_top_forward,
    .bind = swin_bind,
};

static const lam_layer_type *const types[] = {&swa_type, &swin_block_type, &patch_merging_type,
                                              &mlp_type, &swin_type};
const tv_family tv_swin_family = {types, TV_COUNT(types)};
