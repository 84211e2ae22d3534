/* The torchvision plugin: the helpers every family uses (tv.h), the types
 * several families share (Conv2dNormActivation, StochasticDepth), the
 * top-level model types' script runner, and the plugin's descriptor, which
 * registers every family's types. */
#include "tv.h"
#include <stdio.h>
#include <stdlib.h>

/* ---- values ---- */

static void from_tensor(tv_ctx *c, tv_val *v, lam_tensor *t)
{
    v->t = t;
    v->nd = c->h->tensor_ndim(t);
    memcpy(v->s, c->h->tensor_shape(t), sizeof(int64_t) * (size_t)v->nd);
}

/* replace v's tensor by t (a new reference) */
static void replace(tv_ctx *c, tv_val *v, lam_tensor *t)
{
    c->h->tensor_release(v->t);
    from_tensor(c, v, t);
}

void tv_drop(tv_ctx *c, tv_val *v)
{
    if (v->t)
        c->h->tensor_release(v->t);
    v->t = NULL;
    v->nd = 0;
}

void tv_copy(tv_ctx *c, const tv_val *v, tv_val *out)
{
    *out = *v;
    if (v->t)
        c->h->tensor_retain(v->t);
}

static lam_status shape_error(tv_ctx *c, const char *what, const tv_val *a, const tv_val *b)
{
    char x[96], y[96];
    c->h->shape_str(a->nd, a->s, x, sizeof x);
    c->h->shape_str(b->nd, b->s, y, sizeof y);
    return c->h->error(LAM_ERR_SHAPE, "%s: %s of shapes %s and %s",
                       c->h->module_type_name(c->self), what, x, y);
}

/* ---- children ---- */

lam_status tv_need(tv_ctx *c, const char *name, lam_module **out)
{
    *out = c->h->module_child(c->self, name);
    if (!*out)
        return c->h->error(LAM_ERR_KEY, "%s: no child '%s' (torchvision's forward runs it)",
                           c->h->module_type_name(c->self), name);
    return LAM_OK;
}

lam_status tv_run(tv_ctx *c, lam_module *m, tv_val *v)
{
    if (c->shape_only) {
        int nd;
        int64_t s[LAM_MAX_DIMS];
        lam_status st = c->h->module_output_shape(m, v->nd, v->s, &nd, s);
        if (st)
            return st;
        v->nd = nd;
        memcpy(v->s, s, sizeof s);
        return LAM_OK;
    }
    lam_tensor *y = NULL;
    lam_status st = c->h->module_forward(m, v->t, NULL, &y);
    if (st)
        return st;
    replace(c, v, y);
    return LAM_OK;
}

lam_status tv_call(tv_ctx *c, const char *name, tv_val *v)
{
    lam_module *m;
    lam_status st = tv_need(c, name, &m);
    return st ? st : tv_run(c, m, v);
}

static lam_tensor *result_tensor(tv_ctx *c, bool last, int nd, const int64_t *s);

static lam_status call_inplace(tv_ctx *c, const char *name, tv_val *v, bool last)
{
    lam_module *m;
    lam_status st = tv_need(c, name, &m);
    if (st)
        return st;
    if (strcmp(c->h->module_type_name(m), "ReLU"))
        return tv_run(c, m, v);
    if (c->shape_only)
        return LAM_OK;
    lam_tensor *r = result_tensor(c, last, v->nd, v->s);
    if (!r) /* elementwise: in place is allowed */
        return c->h->ops->relu(&v->t, v->t);
    st = c->h->ops->relu(&r, v->t);
    if (!st)
        replace(c, v, r);
    else
        c->h->tensor_release(r);
    return st;
}

lam_status tv_call_inplace(tv_ctx *c, const char *name, tv_val *v)
{
    return call_inplace(c, name, v, false);
}

lam_status tv_call_inplace_last(tv_ctx *c, const char *name, tv_val *v)
{
    return call_inplace(c, name, v, true);
}

lam_status tv_chain(tv_ctx *c, const char *names, tv_val *v)
{
    const char *p = names;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        char name[64];
        if (n >= sizeof name)
            return c->h->error(LAM_ERR_RUNTIME, "child name too long");
        memcpy(name, p, n);
        name[n] = '\0';
        lam_status st = tv_call(c, name, v);
        if (st)
            return st;
        p += n;
    }
    return LAM_OK;
}

/* ---- ops ---- */

static bool same(const tv_val *a, const tv_val *b)
{
    return a->nd == b->nd && !memcmp(a->s, b->s, sizeof(int64_t) * (size_t)a->nd);
}

/* The tensor for an op's result of shape (nd, s): when `last` (the
 * forward's final result), the caller's own output buffer if it offers
 * one (host->forward_output: no copy after the forward), else NULL (a new
 * tensor).  An owned reference. */
static lam_tensor *result_tensor(tv_ctx *c, bool last, int nd, const int64_t *s)
{
    if (!last || !LAM_HOST_HAS(c->h, forward_output))
        return NULL;
    return c->h->forward_output(c->self, nd, s);
}

static lam_status add_impl(tv_ctx *c, tv_val *a, const tv_val *b, bool last)
{
    if (!same(a, b))
        return shape_error(c, "the residual sum", a, b);
    if (c->shape_only)
        return LAM_OK;
    /* into a new tensor (or the caller's output): a child may hand out a
     * tensor it keeps */
    lam_tensor *r = result_tensor(c, last, a->nd, a->s);
    lam_status st = c->h->ops->add(&r, a->t, b->t);
    if (!st)
        replace(c, a, r);
    else if (r)
        c->h->tensor_release(r);
    return st;
}

lam_status tv_add(tv_ctx *c, tv_val *a, const tv_val *b) { return add_impl(c, a, b, false); }
lam_status tv_add_last(tv_ctx *c, tv_val *a, const tv_val *b) { return add_impl(c, a, b, true); }

static lam_status mul_impl(tv_ctx *c, tv_val *a, const tv_val *b, bool last)
{
    tv_val r = *a; /* the broadcast shape */
    if (r.nd < b->nd)
        return shape_error(c, "the product", a, b);
    for (int i = 0; i < b->nd; i++) {
        int64_t *x = &r.s[r.nd - b->nd + i];
        int64_t y = b->s[i];
        if (*x != y && *x != 1 && y != 1)
            return shape_error(c, "the product", a, b);
        if (*x == 1)
            *x = y;
    }
    if (c->shape_only) {
        memcpy(a->s, r.s, sizeof r.s);
        return LAM_OK;
    }
    lam_tensor *t = result_tensor(c, last, r.nd, r.s);
    lam_status st = c->h->ops->mul(&t, a->t, b->t);
    if (!st)
        replace(c, a, t);
    else if (t)
        c->h->tensor_release(t);
    return st;
}

lam_status tv_mul(tv_ctx *c, tv_val *a, const tv_val *b) { return mul_impl(c, a, b, false); }
lam_status tv_mul_last(tv_ctx *c, tv_val *a, const tv_val *b) { return mul_impl(c, a, b, true); }

lam_status tv_relu(tv_ctx *c, tv_val *v)
{
    if (c->shape_only)
        return LAM_OK;
    lam_tensor *r = NULL;
    lam_status st = c->h->ops->relu(&r, v->t);
    if (!st)
        replace(c, v, r);
    return st;
}

lam_status tv_flatten(tv_ctx *c, tv_val *v)
{
    if (v->nd < 2)
        return c->h->error(LAM_ERR_SHAPE, "%s: flatten(x, 1) of a %d-d input",
                           c->h->module_type_name(c->self), v->nd);
    if (c->shape_only) {
        int64_t p = 1;
        for (int i = 1; i < v->nd; i++)
            p *= v->s[i];
        v->s[1] = p;
        v->nd = 2;
        return LAM_OK;
    }
    lam_tensor *r = NULL;
    lam_status st = c->h->ops->flatten(&r, v->t, 1, -1);
    if (!st)
        replace(c, v, r);
    return st;
}

lam_status tv_mean_hw(tv_ctx *c, tv_val *v, bool keepdim)
{
    if (v->nd != 4)
        return c->h->error(LAM_ERR_SHAPE, "%s: expected a 4-d input (N, C, H, W), got %d-d",
                           c->h->module_type_name(c->self), v->nd);
    if (c->shape_only) {
        if (keepdim)
            v->s[2] = v->s[3] = 1;
        else
            v->nd = 2;
        return LAM_OK;
    }
    static const int dims[2] = {2, 3};
    lam_tensor *r = NULL;
    lam_status st = c->h->ops->mean(&r, v->t, 2, dims, keepdim);
    if (!st)
        replace(c, v, r);
    return st;
}

lam_status tv_cat(tv_ctx *c, size_t n, tv_val *vals, tv_val *out)
{
    lam_status st = LAM_OK;
    tv_val r = vals[0];
    for (size_t i = 1; i < n && !st; i++) {
        tv_val a = r, b = vals[i];
        a.s[1] = b.s[1] = 0;
        if (!same(&a, &b) || vals[i].nd < 2)
            st = shape_error(c, "the concatenation on dim 1", &vals[0], &vals[i]);
        r.s[1] += vals[i].s[1];
    }
    if (!st && !c->shape_only) {
        const lam_tensor *ts[8] = {NULL};
        if (n > 8)
            st = c->h->error(LAM_ERR_RUNTIME, "tv_cat: too many inputs");
        for (size_t i = 0; i < n && !st; i++)
            ts[i] = vals[i].t;
        r.t = NULL;
        if (!st)
            st = c->h->ops->cat(&r.t, n, ts, 1);
    }
    for (size_t i = 0; i < n; i++)
        tv_drop(c, &vals[i]);
    if (!st)
        *out = r;
    return st;
}

lam_status tv_chunk2(tv_ctx *c, const tv_val *x, tv_val *a, tv_val *b)
{
    if (x->nd < 2)
        return c->h->error(LAM_ERR_SHAPE, "%s: chunk(2, dim=1) of a %d-d input",
                           c->h->module_type_name(c->self), x->nd);
    if (c->shape_only) {
        *a = *b = *x;
        a->s[1] = (x->s[1] + 1) / 2;
        b->s[1] = x->s[1] - a->s[1];
        return LAM_OK;
    }
    lam_tensor *outs[2] = {NULL, NULL};
    size_t n = 0;
    lam_status st = c->h->ops->chunk(outs, &n, x->t, 2, 1);
    if (st)
        return st;
    if (n != 2) {
        for (size_t i = 0; i < n; i++)
            c->h->tensor_release(outs[i]);
        return c->h->error(LAM_ERR_SHAPE, "%s: chunk(2, dim=1) of %lld channels",
                           c->h->module_type_name(c->self), (long long)x->s[1]);
    }
    from_tensor(c, a, outs[0]);
    from_tensor(c, b, outs[1]);
    return LAM_OK;
}

lam_status tv_channel_shuffle(tv_ctx *c, tv_val *v, int64_t groups)
{
    if (v->nd != 4 || v->s[1] % groups)
        return c->h->error(LAM_ERR_SHAPE, "%s: channel_shuffle of %d-d input with %lld channels "
                           "in %lld groups", c->h->module_type_name(c->self), v->nd,
                           (long long)(v->nd > 1 ? v->s[1] : 0), (long long)groups);
    if (c->shape_only)
        return LAM_OK;
    /* x.view(N, g, C/g, H, W).transpose(1, 2).contiguous().view(N, C, H, W),
     * with H and W as one dim (lamina's tensors have at most 4) */
    int64_t four[4] = {v->s[0], groups, v->s[1] / groups, v->s[2] * v->s[3]};
    lam_tensor *a = NULL, *b = NULL, *r = NULL;
    lam_status st = c->h->ops->view(&a, v->t, 4, four);
    if (!st)
        st = c->h->ops->transpose(&b, a, 1, 2);
    if (!st)
        st = c->h->ops->view(&r, b, 4, v->s);
    c->h->tensor_release(a);
    c->h->tensor_release(b);
    if (!st)
        replace(c, v, r);
    return st;
}

lam_status tv_keeps_shape(tv_ctx *c, lam_module *m, int64_t channels, bool *keeps)
{
    int64_t in[4] = {1, channels, 16, 16}, out[LAM_MAX_DIMS];
    int nd;
    lam_status st = c->h->module_output_shape(m, 4, in, &nd, out);
    if (st)
        return st;
    *keeps = nd == 4 && out[1] == channels && out[2] == 16 && out[3] == 16;
    return LAM_OK;
}

/* ---- running a tv_fn as a forward or a shape ---- */

lam_status tv_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                      lam_tensor **out, tv_fn fn)
{
    tv_ctx c = {h, false, self};
    tv_val v;
    from_tensor(&c, &v, h->tensor_retain((lam_tensor *)in));
    lam_status st = fn(&c, &v);
    if (!st && v.t == in) /* nothing ran: the output is a new tensor all the same */
        st = h->tensor_clone(out, in);
    else if (!st)
        *out = v.t, v.t = NULL;
    tv_drop(&c, &v);
    return st;
}

lam_status tv_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                    int *out_ndim, int64_t *out, tv_fn fn)
{
    tv_ctx c = {h, true, self};
    tv_val v = {.t = NULL, .nd = ndim};
    memcpy(v.s, in, sizeof(int64_t) * (size_t)ndim);
    lam_status st = fn(&c, &v);
    if (st)
        return st;
    *out_ndim = v.nd;
    memcpy(out, v.s, sizeof(int64_t) * (size_t)v.nd);
    return LAM_OK;
}

lam_status tv_create_plain(const lam_host_api *h, const lam_layer_type *type,
                           const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

/* ---- top-level model types: a script of children and functional steps ---- */

lam_status tv_top_create(const lam_host_api *h, const lam_layer_type *type, const lam_value *args,
                         lam_module **out)
{
    (void)args;
    return h->module_new(out, type, (void *)type->doc); /* static text: no destroy */
}

static lam_status top_fn(tv_ctx *c, tv_val *v)
{
    const char *p = c->h->module_state(c->self);
    while (p && *p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (!n)
            break;
        char tok[64];
        if (n >= sizeof tok)
            return c->h->error(LAM_ERR_RUNTIME, "script token too long");
        memcpy(tok, p, n);
        tok[n] = '\0';
        p += n;
        lam_status st;
        if (!strcmp(tok, "@flatten"))
            st = tv_flatten(c, v);
        else if (!strcmp(tok, "@relu"))
            st = tv_relu(c, v);
        else if (!strcmp(tok, "@gap"))
            st = tv_mean_hw(c, v, true);
        else if (!strcmp(tok, "@mean"))
            st = tv_mean_hw(c, v, false);
        else
            st = tv_call(c, tok, v);
        if (st)
            return st;
    }
    return LAM_OK;
}

lam_status tv_top_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                          void *args, lam_tensor **out)
{
    (void)args;
    return tv_forward(h, self, in, out, top_fn);
}

lam_status tv_top_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                        int *out_ndim, int64_t *out)
{
    return tv_shape(h, self, ndim, in, out_ndim, out, top_fn);
}

/* No module of the tree is in training mode (a BatchNorm there would sum
 * over the batch; a Dropout would draw per batch). */
static bool tv_all_eval(const lam_host_api *h, const lam_module *m, int depth)
{
    if (h->module_is_training(m) || depth > 64)
        return false;
    size_t n = h->module_num_children(m);
    for (size_t i = 0; i < n; i++) {
        const lam_module *c = h->module_child_at(m, i, NULL);
        if (c && !tv_all_eval(h, c, depth + 1))
            return false;
    }
    return true;
}

bool tv_top_rowwise(const lam_host_api *h, const lam_module *self, int ndim)
{
    return ndim == 4 && tv_all_eval(h, self, 0);
}

/* ---- shared types ---- */

TV_SEQUENTIAL(conv_norm_act_type, "Conv2dNormActivation");

/* torchvision.ops.StochasticDepth(p, mode): the identity in eval mode.
 * Its repr is "StochasticDepth(p=0.0, mode=row)". */
typedef struct sd_state {
    double p;
    char mode[8];
} sd_state;

static const char *const sd_modes[] = {"row", "batch", NULL};
static const lam_arg_spec sd_args[] = {
    {.name = "p", .type = LAM_ARG_FLOAT, .flags = LAM_ARG_REQUIRED | LAM_ARG_FINITE},
    {.name = "mode", .type = LAM_ARG_STRING, .flags = LAM_ARG_REQUIRED, .choices = sd_modes},
};

static lam_status sd_create(const lam_host_api *h, const lam_layer_type *type,
                            const lam_value *args, lam_module **out)
{
    if (args[0].f < 0.0 || args[0].f > 1.0)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "StochasticDepth: drop probability has to be between 0 and 1, but got %s",
                        h->format_float(args[0].f, false, (char[32]){0}, 32));
    sd_state *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "StochasticDepth: out of memory");
    s->p = args[0].f;
    snprintf(s->mode, sizeof s->mode, "%s", args[1].s);
    lam_status st = h->module_new(out, type, s);
    if (st)
        h->free(s);
    return st;
}

static void sd_destroy(const lam_host_api *h, void *state) { h->free(state); }

static lam_status sd_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                             lam_tensor *out)
{
    const sd_state *s = h->module_state(self);
    if (h->module_is_training(self) && s->p > 0.0)
        return h->error(LAM_ERR_NOT_IMPLEMENTED,
                        "StochasticDepth: training mode drops random rows; lamina runs it in "
                        "eval mode only (call eval)");
    memcpy(h->tensor_data(out), h->tensor_cdata(in), sizeof(float) * (size_t)h->tensor_numel(in));
    return LAM_OK;
}

/* torchvision writes its own __repr__: "StochasticDepth(p=0.0, mode=row)" */
static int sd_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const sd_state *s = h->module_state(self);
    char f[32];
    return snprintf(buf, size, "p=%s, mode=%s", h->format_float(s->p, false, f, sizeof f),
                    s->mode);
}

static const lam_layer_type stochastic_depth_type = {
    .struct_size = sizeof(lam_layer_type),
    .flags = LAM_LAYER_ROWWISE,
    .name = "StochasticDepth",
    .py_module = "torchvision.ops.stochastic_depth",
    .doc = "torchvision.ops.StochasticDepth: the identity in eval mode",
    .args = sd_args,
    .n_args = TV_COUNT(sd_args),
    .create = sd_create,
    .forward_into = sd_forward,
    .extra_repr = sd_repr,
    .destroy = sd_destroy,
};

static const lam_layer_type *const common_types[] = {&conv_norm_act_type,
                                                     &stochastic_depth_type};
const tv_family tv_common_family = {common_types, TV_COUNT(common_types)};

/* ---- the plugin ---- */

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    const tv_family *fams[] = {&tv_common_family,   &tv_resnet_family,   &tv_classic_family,
                               &tv_mobile_family,   &tv_densenet_family, &tv_regnet_family,
                               &tv_convnext_family, &tv_inception_family, &tv_vit_family,
                               &tv_swin_family};
    for (size_t f = 0; f < TV_COUNT(fams); f++)
        for (size_t i = 0; i < fams[f]->n; i++) {
            lam_status st = h->register_type(reg, fams[f]->types[i]);
            if (st)
                return st;
        }
    return LAM_OK;
}

LAM_PLUGIN_DEFINE("torchvision", "0.14.0",
                  "torchvision 0.14's classification models from their printed form", "MIT",
                  register_types);
