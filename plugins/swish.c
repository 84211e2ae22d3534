/* Swish(beta=1.0): y = x · sigmoid(beta · x) — an activation with a
 * constructor argument.  The arithmetic is the host's kernels: SiLU when
 * beta == 1, otherwise the sigmoid kernel over a stack buffer. */
#include <lamina/plugin.h>
#include <stdlib.h>

typedef struct swish {
    float beta;
    double beta_repr;
    bool beta_int; /* the caller wrote an int: print beta=2 as PyTorch would */
} swish;

static const lam_arg_spec swish_args[] = {
    {.name = "beta", .type = LAM_ARG_FLOAT, .flags = LAM_ARG_FINITE,
     .default_value = LAM_DEFAULT_FLOAT(1.0), .doc = "slope inside the sigmoid"},
};

static lam_status swish_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    swish *s = malloc(sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "Swish: out of memory");
    s->beta = (float)args[0].f;
    s->beta_repr = args[0].f;
    s->beta_int = args[0].kind == LAM_VALUE_INT;
    lam_status st = h->module_new(out, type, s);
    if (st)
        free(s);
    return st;
}

static lam_status swish_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                lam_tensor *out)
{
    const swish *s = h->module_state(self);
    size_t n = (size_t)h->tensor_numel(in);
    const float *x = h->tensor_cdata(in);
    float *y = h->tensor_data(out);
    if (s->beta == 1.0f)
        return h->activation(LAM_ACTIVATION_SILU, n, x, y, 0.0f, 0.0f);
    float t[256]; /* per call, on the stack: forward runs on many threads */
    for (size_t i = 0; i < n; i += 256) {
        size_t c = n - i < 256 ? n - i : 256;
        for (size_t j = 0; j < c; j++)
            t[j] = s->beta * x[i + j];
        lam_status st = h->activation(LAM_ACTIVATION_SIGMOID, c, t, t, 0.0f, 0.0f);
        if (st)
            return st;
        for (size_t j = 0; j < c; j++)
            y[i + j] = x[i + j] * t[j];
    }
    return LAM_OK;
}

/* Swish(beta=1) is SiLU: a plan computes it in the epilogue of the layer
 * before it (Linear -> Swish as one GEMM pass). */
static bool swish_as_activation(const lam_host_api *h, const lam_module *self, lam_activation *f,
                                float *alpha)
{
    const swish *s = h->module_state(self);
    *f = LAM_ACTIVATION_SILU;
    *alpha = 0.0f;
    return s->beta == 1.0f;
}

static int swish_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const swish *s = h->module_state(self);
    char b[40];
    return snprintf(buf, size, "beta=%s", h->format_float(s->beta_repr, s->beta_int, b, sizeof b));
}

static void swish_destroy(const lam_host_api *h, void *state)
{
    (void)h;
    free(state);
}

/* Elementwise, so it maps each (sample, channel) plane alone: a plan runs
 * it inside the sample blocks of a convolution before it (ABI 1.7). */
static const lam_layer_type swish_type = {
    .struct_size = sizeof(lam_layer_type),
    .flags = LAM_LAYER_ROWWISE | LAM_LAYER_PLANEWISE,
    .name = "Swish",
    .doc = "x * sigmoid(beta * x)",
    .args = swish_args,
    .n_args = 1,
    .create = swish_create,
    .forward_into = swish_forward, /* output_shape NULL: same shape as the input */
    .extra_repr = swish_repr,
    .destroy = swish_destroy,
    .as_activation = swish_as_activation,
};

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    return h->register_type(reg, &swish_type);
}

LAM_PLUGIN_DEFINE("swish", "1.0.0", "Swish activation: x * sigmoid(beta * x)", "MIT",
                  register_types);
