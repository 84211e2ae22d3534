/* ConvNeXt (torchvision/models/convnext.py): CNBlock, LayerNorm2d,
 * torchvision.ops' Permute and the ConvNeXt model.
 *
 * What the printed form leaves out: CNBlock's `layer_scale` parameter
 * ([dim, 1, 1], a parameter of the block itself that repr never shows) is
 * declared by CNBlock's bind once its children are in, with dim read from
 * the depthwise convolution's weight; and Permute() prints no dims: the
 * CNBlock it sits in gives its two Permutes their dims ((0, 2, 3, 1) then
 * (0, 3, 1, 2)), as CNBlock.__init__ does. */
#include "tv.h"
#include <math.h>
#include <stdio.h>

/* ---- Permute ---- */

#define PERMUTE_MAGIC 0x50524d54u

typedef struct permute_state {
    uint32_t magic;
    int n;            /* 0: dims not known yet */
    bool given;       /* written in the constructor call (printed back) */
    int dims[LAM_MAX_DIMS];
} permute_state;

static const lam_arg_spec permute_args[] = {
    {.name = "dims", .type = LAM_ARG_ANY, .default_value = LAM_DEFAULT_NONE},
};

static lam_status permute_create(const lam_host_api *h, const lam_layer_type *type,
                                 const lam_value *args, lam_module **out)
{
    permute_state *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "Permute: out of memory");
    memset(s, 0, sizeof *s);
    s->magic = PERMUTE_MAGIC;
    const lam_value *d = &args[0];
    if (d->kind == LAM_VALUE_TUPLE) {
        bool ok = d->len >= 1 && d->len <= LAM_MAX_DIMS;
        for (size_t i = 0; ok && i < d->len; i++)
            ok = d->items[i].kind == LAM_VALUE_INT && d->items[i].i >= 0 &&
                 d->items[i].i < (int64_t)d->len;
        if (!ok) {
            h->free(s);
            return h->error(LAM_ERR_INVALID_ARGUMENT,
                            "Permute: dims must be a list of 1 to %d dimension indices",
                            LAM_MAX_DIMS);
        }
        s->n = (int)d->len;
        s->given = true;
        for (size_t i = 0; i < d->len; i++)
            s->dims[i] = (int)d->items[i].i;
    } else if (d->kind != LAM_VALUE_NONE) {
        h->free(s);
        return h->error(LAM_ERR_INVALID_ARGUMENT, "Permute: dims must be a list of ints");
    }
    lam_status st = h->module_new(out, type, s);
    if (st)
        h->free(s);
    return st;
}

static void free_state(const lam_host_api *h, void *state) { h->free(state); }

static lam_status permute_dims(const lam_host_api *h, const lam_module *self, int ndim,
                               const permute_state **out)
{
    const permute_state *s = h->module_state(self);
    if (!s->n)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "Permute: its dims are not known (torchvision's Permute does not print "
                        "them: the CNBlock it is in gives them, or write Permute(dims=[0, 2, 3, "
                        "1]))");
    if (s->n != ndim)
        return h->error(LAM_ERR_SHAPE, "Permute: number of dims don't match in permute (%d dims, "
                        "input has %d)", s->n, ndim);
    *out = s;
    return LAM_OK;
}

static lam_status permute_shape(const lam_host_api *h, lam_module *self, int ndim,
                                const int64_t *in, int *out_ndim, int64_t *out)
{
    const permute_state *s;
    lam_status st = permute_dims(h, self, ndim, &s);
    if (st)
        return st;
    for (int i = 0; i < ndim; i++)
        out[i] = in[s->dims[i]];
    *out_ndim = ndim;
    return LAM_OK;
}

static lam_status permute_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                  lam_tensor *out)
{
    const permute_state *s;
    lam_status st = permute_dims(h, self, h->tensor_ndim(in), &s);
    return st ? st : h->ops->permute(&out, in, s->n, s->dims);
}

static int permute_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const permute_state *s = h->module_state(self);
    if (!s->given)
        return snprintf(buf, size, "%s", ""); /* torchvision prints "Permute()" */
    int n = snprintf(buf, size, "dims=[");
    for (int i = 0; i < s->n; i++)
        n += snprintf(buf + (n < (int)size ? n : (int)size), (size_t)n < size ? size - (size_t)n : 0,
                      "%s%d", i ? ", " : "", s->dims[i]);
    n += snprintf(buf + (n < (int)size ? n : (int)size), (size_t)n < size ? size - (size_t)n : 0,
                  "]");
    return n;
}

static const lam_layer_type permute_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Permute",
    .py_module = "torchvision.ops.misc",
    .doc = "torch.permute(x, dims)",
    .args = permute_args,
    .n_args = TV_COUNT(permute_args),
    .create = permute_create,
    .output_shape = permute_shape,
    .forward_into = permute_forward,
    .extra_repr = permute_repr,
    .destroy = free_state,
};

void tv_permute_give(const lam_host_api *h, lam_module *m, const int dims[4])
{
    permute_state *s = strcmp(h->module_type_name(m), "Permute") ? NULL : h->module_state(m);
    if (s && s->magic == PERMUTE_MAGIC && !s->given) {
        s->n = 4;
        memcpy(s->dims, dims, sizeof(int) * 4);
    }
}

/* ---- LayerNorm2d: LayerNorm over the channels of an NCHW input ---- */

typedef struct ln2d_state {
    int64_t c;
    double eps;
    bool affine;
} ln2d_state;

static const lam_arg_spec ln2d_args[] = {
    {.name = "normalized_shape", .type = LAM_ARG_SHAPE,
     .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
    {.name = "eps", .type = LAM_ARG_FLOAT, .flags = LAM_ARG_FINITE,
     .default_value = LAM_DEFAULT_FLOAT(1e-05)},
    {.name = "elementwise_affine", .type = LAM_ARG_BOOL, .default_value = LAM_DEFAULT_BOOL(true)},
};

static lam_status ln2d_create(const lam_host_api *h, const lam_layer_type *type,
                              const lam_value *args, lam_module **out)
{
    if (args[0].len != 1)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "LayerNorm2d: normalized_shape must be (channels,), got %zu dims",
                        args[0].len);
    ln2d_state *s = h->alloc(sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "LayerNorm2d: out of memory");
    s->c = args[0].items[0].i;
    s->eps = args[1].f;
    s->affine = args[2].b;
    lam_status st = h->module_new(out, type, s);
    if (st) {
        h->free(s);
        return st;
    }
    if (!s->affine)
        return LAM_OK;
    lam_tensor *w;
    if ((st = h->module_add_param(*out, "weight", 1, &s->c, &w)) ||
        (st = h->module_add_param(*out, "bias", 1, &s->c, NULL)))
        return st;
    float *wd = h->tensor_data(w);
    for (int64_t i = 0; i < s->c; i++)
        wd[i] = 1.0f;
    return LAM_OK;
}

static lam_status ln2d_shape(const lam_host_api *h, lam_module *self, int ndim,
                             const int64_t *in, int *out_ndim, int64_t *out)
{
    const ln2d_state *s = h->module_state(self);
    if (ndim != 4 || in[1] != s->c) {
        char b[96];
        return h->error(LAM_ERR_SHAPE,
                        "LayerNorm2d: expected an input of shape [N, %lld, H, W], got %s",
                        (long long)s->c, h->shape_str(ndim, in, b, sizeof b));
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

#define LN_BLOCK 128

/* x.permute(0, 2, 3, 1) -> layer_norm over C -> permute back, computed in
 * place on NCHW: per pixel, the mean and the (biased) variance over the
 * channels, accumulated in double over blocks of pixels. */
static lam_status ln2d_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                               lam_tensor *out)
{
    const ln2d_state *s = h->module_state(self);
    const int64_t *sh = h->tensor_shape(in);
    int64_t n = sh[0], C = sh[1], hw = sh[2] * sh[3];
    const float *x = h->tensor_cdata(in);
    float *y = h->tensor_data(out);
    const float *w = s->affine ? h->tensor_cdata(h->module_param(self, "weight")) : NULL;
    const float *b = s->affine ? h->tensor_cdata(h->module_param(self, "bias")) : NULL;
    for (int64_t i = 0; i < n; i++) {
        const float *xi = x + i * C * hw;
        float *yi = y + i * C * hw;
        for (int64_t p0 = 0; p0 < hw; p0 += LN_BLOCK) {
            int64_t np = hw - p0 < LN_BLOCK ? hw - p0 : LN_BLOCK;
            double mean[LN_BLOCK] = {0}, var[LN_BLOCK] = {0};
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < np; p++)
                    mean[p] += xi[c * hw + p0 + p];
            for (int64_t p = 0; p < np; p++)
                mean[p] /= (double)C;
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < np; p++) {
                    double d = xi[c * hw + p0 + p] - mean[p];
                    var[p] += d * d;
                }
            for (int64_t p = 0; p < np; p++)
                var[p] = 1.0 / sqrt(var[p] / (double)C + s->eps);
            for (int64_t c = 0; c < C; c++)
                for (int64_t p = 0; p < np; p++) {
                    double v = (xi[c * hw + p0 + p] - mean[p]) * var[p];
                    if (w)
                        v = v * w[c] + b[c];
                    yi[c * hw + p0 + p] = (float)v;
                }
        }
    }
    return LAM_OK;
}

/* nn.LayerNorm's extra_repr: "(96,), eps=1e-06, elementwise_affine=True" */
static int ln2d_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const ln2d_state *s = h->module_state(self);
    char f[32];
    return snprintf(buf, size, "(%lld,), eps=%s, elementwise_affine=%s", (long long)s->c,
                    h->format_float(s->eps, false, f, sizeof f), s->affine ? "True" : "False");
}

static const lam_layer_type ln2d_type = {
    .struct_size = sizeof(lam_layer_type),
    .flags = LAM_LAYER_ROWWISE,
    .name = "LayerNorm2d",
    .py_module = "torchvision.models.convnext",
    .doc = "LayerNorm over the channels of an NCHW input",
    .args = ln2d_args,
    .n_args = TV_COUNT(ln2d_args),
    .create = ln2d_create,
    .output_shape = ln2d_shape,
    .forward_into = ln2d_forward,
    .extra_repr = ln2d_repr,
    .destroy = free_state,
};

/* ---- CNBlock ---- */

/* x + stochastic_depth(layer_scale * block(x)) */
static lam_status cnblock(tv_ctx *c, tv_val *x)
{
    lam_tensor *scale = c->h->module_param(c->self, "layer_scale");
    if (!scale)
        return c->h->error(LAM_ERR_RUNTIME,
                           "CNBlock: no parameter 'layer_scale' (it is declared when the block's "
                           "children are in: lam_module_bind)");
    tv_val idn, ls = {.t = scale, .nd = c->h->tensor_ndim(scale)};
    memcpy(ls.s, c->h->tensor_shape(scale), sizeof(int64_t) * (size_t)ls.nd);
    tv_copy(c, x, &idn);
    lam_status st = tv_call(c, "block", x);
    if (!st)
        st = tv_mul(c, x, &ls);
    if (!st)
        st = tv_call(c, "stochastic_depth", x);
    if (!st)
        st = tv_add(c, x, &idn);
    tv_drop(c, &idn);
    return st;
}

TV_CONTAINER(cnblock)

/* CNBlock(dim, layer_scale, stochastic_depth_prob): dim is the depthwise
 * convolution's (block[0]) output channels. */
static lam_status cnblock_bind(const lam_host_api *h, lam_module *self)
{
    lam_module *block = h->module_child(self, "block");
    lam_module *conv = block ? h->module_child(block, "0") : NULL;
    lam_tensor *w = conv ? h->module_param(conv, "weight") : NULL;
    if (!w || h->tensor_ndim(w) != 4)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "CNBlock: expected a child 'block' whose first module is the depthwise "
                        "Conv2d (its weight gives the block's dim)");
    int64_t dim = h->tensor_shape(w)[0];
    int permutes = 0;
    for (size_t i = 0; i < h->module_num_children(block); i++) {
        lam_module *m = h->module_child_at(block, i, NULL);
        permute_state *s = strcmp(h->module_type_name(m), "Permute") ? NULL : h->module_state(m);
        if (!s || s->magic != PERMUTE_MAGIC)
            continue;
        static const int to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
        if (!s->given && permutes < 2) {
            s->n = 4;
            memcpy(s->dims, permutes ? to_nchw : to_nhwc, sizeof to_nhwc);
        }
        permutes++;
    }
    lam_tensor *ls = h->module_param(self, "layer_scale");
    if (ls) /* bound before */
        return LAM_OK;
    int64_t shape[3] = {dim, 1, 1};
    lam_status st = h->module_add_param(self, "layer_scale", 3, shape, &ls);
    if (st)
        return st;
    float *d = h->tensor_data(ls);
    for (int64_t i = 0; i < dim; i++)
        d[i] = 1e-6f; /* torchvision's default layer_scale */
    return LAM_OK;
}

static const lam_layer_type cnblock_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "CNBlock",
    .py_module = "torchvision.models.convnext",
    .doc = "x + stochastic_depth(layer_scale * block(x))",
    .create = tv_create_plain,
    .output_shape = cnblock_shape,
    .forward = cnblock_forward,
    .bind = cnblock_bind,
};

TV_TOP(convnext_type, "ConvNeXt", "features avgpool classifier");

static const lam_layer_type *const types[] = {&permute_type, &ln2d_type, &cnblock_type,
                                              &convnext_type};
const tv_family tv_convnext_family = {types, TV_COUNT(types)};
