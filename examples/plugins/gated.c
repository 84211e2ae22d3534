/* gated.c — two layer types in one plugin, with <lamina/plugin_util.h>:
 *   ScaleShift(d)     y = x * scale + shift over the last dim, with parameters
 *                     scale (ones) and shift (zeros) of shape [d];
 *   GatedResidual(d)  layers = ModuleList of 3 Linear(d, d) and
 *                     y = x + sigmoid(layers[1](x)) * layers[2](layers[0](x)).
 * examples/plugins/gated.py holds the PyTorch classes they mirror. */
#include <lamina/plugin_util.h>
#include <stdio.h>

/* Both types take d, the feature size, and keep it as their state. */
static const lam_arg_spec d_arg[] = {LAM_REQUIRED_ARG("d", LAM_ARG_INT, LAM_ARG_POSITIVE)};

/* PyTorch's extra_repr() of both: "d=8" */
static int d_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const int64_t *d = h->module_state(self);
    return snprintf(buf, size, "d=%lld", (long long)*d);
}

/* ---- ScaleShift ---- */

static lam_status scaleshift_create(const lam_host_api *h, const lam_layer_type *type,
                                    const lam_value *args, lam_module **out)
{
    static const lam_plugin_param params[] = {{"scale", 1.0f}, {"shift", 0.0f}};
    int64_t d = args[0].i;
    lam_status st = lam_plugin_module_new(h, type, &d, sizeof d, out);
    return st ? st : lam_plugin_add_params(h, out, 1, &d, LAM_COUNTOF(params), params);
}

/* Into y, which the host allocated with x's shape; the ops broadcast [d]. */
static lam_status scaleshift_forward(const lam_host_api *h, lam_module *self,
                                     const lam_tensor *x, lam_tensor *y)
{
    lam_status st = h->ops->mul(&y, x, h->module_param(self, "scale"));
    return st ? st : h->ops->add(&y, y, h->module_param(self, "shift"));
}

static const lam_layer_type scaleshift_type = {
    .struct_size = sizeof(lam_layer_type),
    .flags = LAM_LAYER_ROWWISE,
    .name = "ScaleShift",
    .args = d_arg,
    .n_args = LAM_COUNTOF(d_arg),
    .create = scaleshift_create,
    .forward_into = scaleshift_forward,
    .extra_repr = d_repr,
    .destroy = lam_plugin_free_state,
};

/* ---- GatedResidual ---- */

/* __init__: self.layers = ModuleList([Linear(d, d) for _ in range(3)]).  A
 * model file's "(layers): ModuleList(...)" replaces this default. */
static lam_status gated_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    int64_t d = args[0].i;
    lam_kwarg linear[] = {{"in_features", LAM_INT(d)}, {"out_features", LAM_INT(d)}};
    lam_status st = lam_plugin_module_new(h, type, &d, sizeof d, out);
    return st ? st : lam_plugin_add_modulelist(h, out, "layers", 3, "Linear", 2, linear);
}

static lam_status gated_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                                void *args, lam_tensor **out)
{
    lam_module *layers[3]; /* looked up on each call, never kept */
    lam_tensor *a = NULL, *b = NULL, *c = NULL, *y = NULL;
    lam_status st = lam_plugin_get_modulelist(h, self, "layers", 3, layers);
    if (!st) st = h->module_forward(layers[0], x, args, &a); /* a = layers[0](x) */
    if (!st) st = h->module_forward(layers[1], x, args, &b); /* b = layers[1](x) */
    if (!st) st = h->module_forward(layers[2], a, args, &c); /* c = layers[2](a) */
    if (!st) st = h->ops->sigmoid(&y, b);                    /* y = sigmoid(b), new */
    if (!st) st = h->ops->mul(&y, y, c);                     /* y *= c */
    if (!st) st = h->ops->add(&y, y, x);                     /* y += x */
    h->tensor_release(a);
    h->tensor_release(b);
    h->tensor_release(c);
    if (st)
        h->tensor_release(y);
    else
        *out = y;
    return st;
}

static const lam_layer_type gated_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "GatedResidual",
    .args = d_arg,
    .n_args = LAM_COUNTOF(d_arg),
    .create = gated_create,
    .forward = gated_forward,
    .extra_repr = d_repr,
    .destroy = lam_plugin_free_state,
};

LAM_PLUGIN_DEFINE_TYPES("gated", "1.0.0", "ScaleShift and GatedResidual", "MIT",
                        &scaleshift_type, &gated_type);
