/* GatedResidual: a plugin container written as docs/plugins.md teaches (a
 * forward over children, host->module_forward and host->ops), for the
 * executor's tests and benchmarks (issue 11.2):
 *
 *     y = x + sigmoid(layers[1](x)) * layers[2](relu(layers[0](x)))
 *
 * with `layers` a ModuleList of three Linear(n, n) that the caller adds
 * (lam_module_add_child(m, "layers", list)).  Declared LAM_LAYER_ROWWISE:
 * every op is per row, so the host may run it on row blocks.  The built-in
 * twin with the same GEMMs is Sequential(Linear, ReLU, Linear, Sigmoid,
 * Linear). */
#include <lamina/plugin.h>
#include <string.h>

static lam_status gated_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static lam_module *layer(const lam_host_api *h, lam_module *self, size_t i)
{
    lam_module *list = h->module_child(self, "layers");
    return list && h->module_num_children(list) == 3 ? h->module_child_at(list, i, NULL) : NULL;
}

static lam_status gated_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                                void *args, lam_tensor **out)
{
    (void)args;
    lam_module *l0 = layer(h, self, 0), *l1 = layer(h, self, 1), *l2 = layer(h, self, 2);
    if (!l0 || !l1 || !l2)
        return h->error(LAM_ERR_RUNTIME, "GatedResidual: needs a ModuleList 'layers' of 3 layers");
    lam_tensor *a = NULL, *g = NULL, *p = NULL;
    lam_status st = h->module_forward(l0, x, NULL, &a);
    if (!st)
        st = h->ops->relu(&a, a); /* in place */
    if (!st)
        st = h->module_forward(l1, x, NULL, &g);
    if (!st)
        st = h->ops->sigmoid(&g, g);
    if (!st)
        st = h->module_forward(l2, a, NULL, &p);
    if (!st)
        st = h->ops->mul(&p, p, g); /* p *= g */
    if (!st)
        st = h->ops->add(&p, p, x); /* p += x */
    h->tensor_release(a);
    h->tensor_release(g);
    if (st) {
        h->tensor_release(p);
        return st;
    }
    *out = p;
    return LAM_OK;
}

static lam_status gated_shape(const lam_host_api *h, lam_module *self, int ndim,
                              const int64_t *in, int *out_ndim, int64_t *out)
{
    (void)h, (void)self;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static const lam_layer_type gated_type = {
    .struct_size = sizeof(lam_layer_type),
    .flags = LAM_LAYER_ROWWISE,
    .name = "GatedResidual",
    .doc = "x + sigmoid(layers[1](x)) * layers[2](relu(layers[0](x)))",
    .create = gated_create,
    .output_shape = gated_shape,
    .forward = gated_forward,
};

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    return h->register_type(reg, &gated_type);
}

LAM_PLUGIN_DEFINE("gated", "1.0.0", "GatedResidual container (tests and benchmarks)", "MIT",
                  register_types);
