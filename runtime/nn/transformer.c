/* TransformerEncoder(encoder_layer, num_layers, norm=None): PyTorch 1.13's
 * children — `layers`, a ModuleList of num_layers copies of encoder_layer
 * (copy.deepcopy: the same parameter values), and `norm` when given — and
 * its eval-mode forward without masks: the layers in order, then norm.  In
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

static lam_status te_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    lam_module *layers = lam_module_child(m, "layers"), *norm = lam_module_child(m, "norm");
    size_t n = layers ? layers->n_children : 0;
    lam_tensor *buf[2] = {NULL, NULL};
    lam_status st = LAM_OK;
    for (int i = 0; i < 2 && !st && n > 1; i++)
        st = lam_tensor_create(&buf[i], in->ndim, in->shape);
    const lam_tensor *cur = in;
    for (size_t i = 0; i < n && !st; i++) {
        lam_tensor *dst = i + 1 == n && !norm ? out : (n == 1 ? out : buf[i % 2]);
        if (i + 1 == n && norm && n == 1) {
            if (!buf[0])
                st = lam_tensor_create(&buf[0], in->ndim, in->shape);
            dst = buf[0];
        }
        if (!st)
            st = run_child(layers->children[i].module, cur, dst);
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

static void te_destroy(lam_module *m) { (void)m; }

static const lam__module_ops te_ops = {
    .type_name = "TransformerEncoder",
    .py_module = "torch.nn.modules.transformer",
    .output_shape = te_shape,
    .forward_into = te_forward,
    .destroy = te_destroy,
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
