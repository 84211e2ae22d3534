/* RMSNorm(normalized_shape, eps=1e-06, elementwise_affine=True):
 *   y = x / sqrt(mean(x², over the normalized dims) + eps) · weight
 * — a layer with a learnable parameter, `weight` (ones), that loads from a
 * state_dict by name like a built-in's ("2.weight").  The sum of squares is
 * accumulated in double, in a fixed order, so results do not depend on how
 * a batch is split across threads. */
#include <lamina/plugin.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct rmsnorm {
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int64_t size; /* product of shape */
    double eps;
    bool affine;
    const lam_tensor *weight; /* the module's parameter (borrowed), or NULL */
} rmsnorm;

static const lam_arg_spec rmsnorm_args[] = {
    {.name = "normalized_shape", .type = LAM_ARG_SHAPE,
     .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE, .doc = "trailing dims to normalise"},
    {.name = "eps", .type = LAM_ARG_FLOAT, .flags = LAM_ARG_NONNEGATIVE | LAM_ARG_FINITE,
     .default_value = LAM_DEFAULT_FLOAT(1e-06)},
    {.name = "elementwise_affine", .type = LAM_ARG_BOOL, .default_value = LAM_DEFAULT_BOOL(true)},
};

static lam_status rmsnorm_create(const lam_host_api *h, const lam_layer_type *type,
                                 const lam_value *args, lam_module **out)
{
    const lam_value *ns = &args[0]; /* always a tuple of positive ints here */
    if (ns->len > LAM_MAX_DIMS)
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "RMSNorm: normalized_shape has %zu dimensions, at most %d supported",
                        ns->len, LAM_MAX_DIMS);
    rmsnorm *s = calloc(1, sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "RMSNorm: out of memory");
    s->ndim = (int)ns->len;
    s->size = 1;
    for (int i = 0; i < s->ndim; i++) {
        s->shape[i] = ns->items[i].i;
        if (s->shape[i] > (INT64_C(1) << 40) / s->size) {
            free(s);
            return h->error(LAM_ERR_INVALID_ARGUMENT, "RMSNorm: normalized_shape is too large");
        }
        s->size *= s->shape[i];
    }
    s->eps = args[1].f;
    s->affine = args[2].b;
    lam_status st = h->module_new(out, type, s);
    if (st) {
        free(s);
        return st;
    }
    if (s->affine) {
        lam_tensor *w;
        st = h->module_add_param(*out, "weight", s->ndim, s->shape, &w);
        if (st) {
            h->module_release(*out); /* frees s through destroy */
            *out = NULL;
            return st;
        }
        float *wd = h->tensor_data(w);
        for (int64_t i = 0; i < s->size; i++)
            wd[i] = 1.0f;
        s->weight = w;
    }
    return LAM_OK;
}

static lam_status rmsnorm_shape(const lam_host_api *h, lam_module *self, int ndim,
                                const int64_t *in, int *out_ndim, int64_t *out)
{
    const rmsnorm *s = h->module_state(self);
    bool ok = ndim >= s->ndim;
    for (int i = 0; ok && i < s->ndim; i++)
        ok = in[ndim - s->ndim + i] == s->shape[i];
    if (!ok) {
        char want[96], got[96];
        h->shape_str(s->ndim, s->shape, want, sizeof want);
        h->shape_str(ndim, in, got, sizeof got);
        return h->error(LAM_ERR_SHAPE,
                        "RMSNorm: Given normalized_shape=%s, expected input with shape [*, %s, but "
                        "got input of size%s",
                        want, want + 1, got);
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status rmsnorm_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                  lam_tensor *out)
{
    const rmsnorm *s = h->module_state(self);
    const float *x = h->tensor_cdata(in);
    float *y = h->tensor_data(out);
    const float *w = s->weight ? h->tensor_cdata(s->weight) : NULL;
    int64_t rows = h->tensor_numel(in) / s->size;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * s->size;
        float *yr = y + r * s->size;
        double ss = 0.0;
        for (int64_t i = 0; i < s->size; i++)
            ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / (double)s->size + s->eps));
        for (int64_t i = 0; i < s->size; i++)
            yr[i] = xr[i] * inv * (w ? w[i] : 1.0f);
    }
    return LAM_OK;
}

static int rmsnorm_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const rmsnorm *s = h->module_state(self);
    char shape[128], eps[40];
    size_t o = 0;
    o += (size_t)snprintf(shape + o, sizeof shape - o, "(");
    for (int i = 0; i < s->ndim && o < sizeof shape; i++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, i ? ", %" PRId64 : "%" PRId64,
                              s->shape[i]);
    if (o < sizeof shape)
        snprintf(shape + o, sizeof shape - o, s->ndim == 1 ? ",)" : ")");
    return snprintf(buf, size, "%s, eps=%s, elementwise_affine=%s", shape,
                    h->format_float(s->eps, false, eps, sizeof eps),
                    s->affine ? "True" : "False");
}

/* Rows of dim 0 are independent when dim 0 is not one of the normalised dims. */
static bool rmsnorm_rowwise(const lam_host_api *h, const lam_module *self, int ndim)
{
    const rmsnorm *s = h->module_state(self);
    return ndim > s->ndim;
}

static void rmsnorm_destroy(const lam_host_api *h, void *state)
{
    (void)h;
    free(state);
}

static const lam_layer_type rmsnorm_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "RMSNorm",
    .doc = "root-mean-square normalisation over the trailing dims, with a learnable weight",
    .args = rmsnorm_args,
    .n_args = 3,
    .create = rmsnorm_create,
    .output_shape = rmsnorm_shape,
    .forward_into = rmsnorm_forward,
    .extra_repr = rmsnorm_repr,
    .destroy = rmsnorm_destroy,
    .rowwise = rmsnorm_rowwise,
};

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    return h->register_type(reg, &rmsnorm_type);
}

LAM_PLUGIN_DEFINE("rmsnorm", "1.0.0", "RMSNorm: x / sqrt(mean(x^2) + eps) * weight", "MIT",
                  register_types);
