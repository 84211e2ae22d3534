/* TransformerEncoder(encoder_layer, num_layers, norm=None): PyTorch 1.13's
 * children — `layers`, a ModuleList of num_layers copies of encoder_layer
 * (copy.deepcopy: the same parameter values), and `norm` when given — and
 * its eval-mode forward (masks through forward_multi): the layers in order,
 * then norm.  In
 * nn/ because it builds a ModuleList. */
#include "runtime/nn/nn.h"
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static lam_status te_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                           int64_t *out)
{
    lam_module *layers = lam_module_child(m, "layers");
    size_t n = layers ? layers->n_children : 0;
    if (n)
        return layers->children[0].module->ops->output_shape(layers->children[0].module, ndim,
                                                              in, out_ndim, out);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status run_child(lam_module *c, const lam_tensor *x, lam_tensor *y)
{
    if (!c->ops->forward_into || !c->ops->output_shape)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "TransformerEncoder: %s has no single-tensor forward",
                          c->type_name ? c->type_name : c->ops->type_name);
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    lam_status st = c->ops->output_shape(c, x->ndim, x->shape, &nd, sh);
    if (st)
        return st;
    if (nd != y->ndim || memcmp(sh, y->shape, sizeof(int64_t) * (size_t)nd))
        return lam__error(LAM_ERR_SHAPE, "TransformerEncoder: a layer changes the shape");
    return c->ops->forward_into(c, x, y);
}

/* A layer with the masks: an encoder layer takes them; any other module only
 * when there are none. */
static lam_status run_layer(lam_module *c, const lam_tensor *x, const lam__attn_mask *am,
                            const lam__attn_mask *kpm, lam_tensor *y)
{
    if (!am && !kpm)
        return run_child(c, x, y);
    if (c->ops != &lam__tel_ops)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                          "TransformerEncoder: %s takes no masks (only TransformerEncoderLayer "
                          "layers do)",
                          c->type_name ? c->type_name : c->ops->type_name);
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    lam_status st = c->ops->output_shape(c, x->ndim, x->shape, &nd, sh);
    if (st)
        return st;
    return lam__tel_run(c, x, am, kpm, y);
}

static lam_status te_run(lam_module *m, const lam_tensor *in, const lam__attn_mask *am,
                         const lam__attn_mask *kpm, lam_tensor *out)
{
    lam_module *layers = lam_module_child(m, "layers"), *norm = lam_module_child(m, "norm");
    size_t n = layers ? layers->n_children : 0;
    lam_tensor *buf[2] = {NULL, NULL};
    lam_status st = LAM_OK;
    for (int i = 0; i < 2 && !st && n > 1; i++)
        st = lam__tensor_create_uninit(&buf[i], in->ndim, in->shape);
    const lam_tensor *cur = in;
    for (size_t i = 0; i < n && !st; i++) {
        lam_tensor *dst = i + 1 == n && !norm ? out : (n == 1 ? out : buf[i % 2]);
        if (i + 1 == n && norm && n == 1) {
            if (!buf[0])
                st = lam__tensor_create_uninit(&buf[0], in->ndim, in->shape);
            dst = buf[0];
        }
        if (!st)
            st = run_layer(layers->children[i].module, cur, am, kpm, dst);
        cur = dst;
    }
    if (!st && norm)
        st = run_child(norm, cur, out);
    else if (!st && n == 0)
        memcpy(out->data, in->data, (size_t)in->numel * sizeof(float));
    lam_tensor_release(buf[0]);
    lam_tensor_release(buf[1]);
    return st;
}

static lam_status te_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    return te_run(m, in, NULL, NULL, out);
}

/* PyTorch 1.13's forward(src, mask=None, src_key_padding_mask=None), every
 * layer given both masks: its slow path.  (Under torch.no_grad(), with a
 * key padding mask and no mask, batch_first, post-norm layers and an even
 * head count, PyTorch's fast path runs nested tensors instead and gives 0
 * at padded positions before the final norm; lamina computes them.) */
static lam_status te_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const lam_tensor *src = NULL;
    lam__attn_mask am, kpm;
    bool has_am = false, has_kpm = false;
    lam_status st = lam__tel_args("TransformerEncoder", in, &src, &am, &kpm, &has_am, &has_kpm);
    lam_tensor *y = NULL;
    int nd;
    int64_t sh[LAM_MAX_DIMS];
    if (!st)
        st = te_shape(m, src->ndim, src->shape, &nd, sh);
    if (!st)
        st = lam_tensor_create(&y, nd, sh);
    if (!st)
        st = te_run(m, src, has_am ? &am : NULL, has_kpm ? &kpm : NULL, y);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    out->t = y;
    return LAM_OK;
}

static void te_destroy(lam_module *m) { (void)m; }

static const lam__module_ops te_ops = {
    .type_name = "TransformerEncoder",
    .py_module = "torch.nn.modules.transformer",
    .output_shape = te_shape,
    .forward_into = te_forward,
    .forward_multi = te_forward_multi,
    .destroy = te_destroy,
    .pooled_scratch = true,
};

LAM_API lam_status lam_transformer_encoder_create(lam_module **out, lam_module *encoder_layer,
                                                  int64_t num_layers, lam_module *norm)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(encoder_layer);
    if (num_layers < 0 || num_layers > 100000)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "TransformerEncoder: num_layers=%" PRId64 " is out of range", num_layers);
    lam_module *m = NULL, *list = NULL;
    lam_status st = lam__module_new(&m, &te_ops, NULL);
    if (st)
        return st;
    st = lam_modulelist_create(&list, 0, NULL);
    for (int64_t i = 0; i < num_layers && !st; i++) {
        lam_module *c = NULL;
        st = lam__tel_clone(encoder_layer, &c);
        if (!st) {
            char name[24];
            snprintf(name, sizeof name, "%" PRId64, i);
            st = lam_module_add_child(list, name, c);
            lam_module_release(c);
        }
    }
    if (!st)
        st = lam_module_add_child(m, "layers", list);
    lam_module_release(list);
    if (!st && norm)
        st = lam_module_add_child(m, "norm", norm);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}
