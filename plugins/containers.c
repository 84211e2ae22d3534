/* Container types with their own forward over children that the caller adds
 * (lam_module_add_child, or a model file's "(layers): ModuleList(...)"):
 *
 *   ConditionalModel — the canonical custom forward:
 *       for i, layer in enumerate(self.layers):
 *           if i < 3 or condition: x = layer(x)
 *     with `condition` the per-call argument (a bool *, default False).
 *   Residual — y = x + f(x), f being its children run in order (a child
 *     ModuleList is walked too, so "(layers): ModuleList(...)" works); the
 *     sum is the host's tensor op (host->ops->add, plugin ABI 1.1).
 *
 * The children may be built-in layers or other plugins' layers: they are run
 * through host->module_forward, the same call machinery as everything else. */
#include <lamina/plugin.h>
#include <stdlib.h>
#include <string.h>

#define CONDITIONAL_ALWAYS 3

/* Run `m` on *cur, replacing *cur (and releasing what *owned held). */
static lam_status step(const lam_host_api *h, lam_module *m, const lam_tensor **cur,
                       lam_tensor **owned)
{
    lam_tensor *next = NULL;
    lam_status st = h->module_forward(m, *cur, NULL, &next);
    h->tensor_release(*owned);
    *owned = next;
    *cur = next;
    return st;
}

static bool is_modulelist(const lam_host_api *h, const lam_module *m)
{
    return strcmp(h->module_type_name(m), "ModuleList") == 0;
}

/* ---- ConditionalModel ---- */

static lam_status conditional_create(const lam_host_api *h, const lam_layer_type *type,
                                     const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static lam_status conditional_forward(const lam_host_api *h, lam_module *self,
                                      const lam_tensor *in, void *args, lam_tensor **out)
{
    bool condition = args && *(const bool *)args;
    lam_module *layers = h->module_child(self, "layers");
    if (!layers)
        return h->error(LAM_ERR_RUNTIME,
                        "ConditionalModel: no child 'layers' (add a ModuleList under that name)");
    const lam_tensor *cur = in;
    lam_tensor *owned = NULL;
    size_t n = h->module_num_children(layers);
    for (size_t i = 0; i < n; i++) {
        if (!(i < CONDITIONAL_ALWAYS || condition))
            continue;
        lam_status st = step(h, h->module_child_at(layers, i, NULL), &cur, &owned);
        if (st)
            return st;
    }
    if (!owned)
        return h->tensor_clone(out, in);
    *out = owned;
    return LAM_OK;
}

static const lam_layer_type conditional_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "ConditionalModel",
    .doc = "layers[0..2] always, the rest when the per-call condition (bool *) is true",
    .create = conditional_create,
    .forward = conditional_forward, /* no output_shape: it depends on the condition */
};

/* ---- Residual ---- */

static lam_status residual_create(const lam_host_api *h, const lam_layer_type *type,
                                  const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

/* f(x): the children in order, ModuleList children walked in order too */
static lam_status residual_f(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                             lam_tensor **out)
{
    const lam_tensor *cur = in;
    lam_tensor *owned = NULL;
    for (size_t i = 0; i < h->module_num_children(self); i++) {
        lam_module *c = h->module_child_at(self, i, NULL);
        size_t n = is_modulelist(h, c) ? h->module_num_children(c) : 0;
        lam_status st = LAM_OK;
        if (!is_modulelist(h, c))
            st = step(h, c, &cur, &owned);
        for (size_t j = 0; j < n && !st; j++)
            st = step(h, h->module_child_at(c, j, NULL), &cur, &owned);
        if (st)
            return st;
    }
    *out = owned;
    return LAM_OK;
}

static bool same_shape(const lam_host_api *h, const lam_tensor *a, const lam_tensor *b)
{
    int n = h->tensor_ndim(a);
    return n == h->tensor_ndim(b) &&
           memcmp(h->tensor_shape(a), h->tensor_shape(b), sizeof(int64_t) * (size_t)n) == 0;
}

static lam_status residual_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                   void *args, lam_tensor **out)
{
    (void)args;
    lam_tensor *fx = NULL;
    lam_status st = residual_f(h, self, in, &fx);
    if (st)
        return st;
    const lam_tensor *f = fx ? fx : in; /* no children: f is the identity */
    if (!same_shape(h, f, in)) {
        char a[96], b[96];
        h->shape_str(h->tensor_ndim(f), h->tensor_shape(f), a, sizeof a);
        h->shape_str(h->tensor_ndim(in), h->tensor_shape(in), b, sizeof b);
        h->tensor_release(fx);
        return h->error(LAM_ERR_SHAPE, "Residual: f(x) has shape %s but x has shape %s", a, b);
    }
    /* x + f(x) into a new output: fx may be shared with someone else (a
     * child may return a tensor it keeps), so it is not written in place */
    *out = NULL;
    st = h->ops->add(out, in, f);
    h->tensor_release(fx);
    return st;
}

static lam_status residual_shape(const lam_host_api *h, lam_module *self, int ndim,
                                 const int64_t *in, int *out_ndim, int64_t *out)
{
    int nd = ndim;
    int64_t cur[LAM_MAX_DIMS];
    memcpy(cur, in, sizeof(int64_t) * (size_t)ndim);
    for (size_t i = 0; i < h->module_num_children(self); i++) {
        lam_module *c = h->module_child_at(self, i, NULL);
        bool list = is_modulelist(h, c);
        size_t n = list ? h->module_num_children(c) : 1;
        for (size_t j = 0; j < n; j++) {
            int64_t next[LAM_MAX_DIMS];
            lam_status st = h->module_output_shape(list ? h->module_child_at(c, j, NULL) : c, nd,
                                                   cur, &nd, next);
            if (st)
                return st;
            memcpy(cur, next, sizeof next);
        }
    }
    if (nd != ndim || memcmp(cur, in, sizeof(int64_t) * (size_t)ndim) != 0) {
        char a[96], b[96];
        h->shape_str(nd, cur, a, sizeof a);
        h->shape_str(ndim, in, b, sizeof b);
        return h->error(LAM_ERR_SHAPE, "Residual: f(x) has shape %s but x has shape %s", a, b);
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static const lam_layer_type residual_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Residual",
    .doc = "y = x + f(x), f = the children run in order",
    .create = residual_create,
    .output_shape = residual_shape,
    .forward = residual_forward,
};

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    lam_status st = h->register_type(reg, &conditional_type);
    return st ? st : h->register_type(reg, &residual_type);
}

LAM_PLUGIN_DEFINE("containers", "1.0.0",
                  "Container types with a custom forward: ConditionalModel, Residual", "MIT",
                  register_types);
