/* A good test-only plugin whose types misbehave on purpose (and one that
 * exercises the host's GEMM):
 *   Picky(k)         — create rejects odd k ("Picky: k must be even, got 3")
 *   FailingLayer()   — forward fails ("FailingLayer: simulated failure")
 *   FailingRows()    — the same, rowwise (a plan runs it on worker threads):
 *                      "FailingRows: simulated failure"
 *   BadShape()       — output_shape returns 9 dimensions
 *   Sloppy()         — create returns LAM_OK without a module
 *   LeakyCreate(), ReleasedCreate(), LeakyContainer(), LeakyBuiltin()
 *                    — create fails after making a module, leaving it in
 *                      *out: not released, released, holding a child, a
 *                      built-in from host->module_create
 *   Counter()        — an identity that counts its forward_into calls in its
 *                      parameter "calls" (shape [1]), so tests can see how
 *                      often a planned pipeline ran it
 *   PackedLinear(in_features, out_features) — x·Wᵀ + b, then ReLU, through
 *                      host->gemm_pack / host->gemm with a fused epilogue;
 *                      parameters weight/bias like nn.Linear.
 *   Chatty()         — the identity, rowwise, that logs "Chatty: <level>"
 *                      through host->log at each level on every call.
 *   Hoard(n, way='tensor') — create takes n floats of memory through the
 *                      host table (way: 'tensor', 'clone' (n/2 floats, then
 *                      a copy of them) or 'alloc'), which a model file's
 *                      parameter limit counts; forward copies.
 *   RowsLinear(in_features, out_features) — PackedLinear without the ReLU, with
 *                      the forward_rows and flops capabilities, and (ABI 1.4)
 *                      affine_axis / fold_affine: a norm after it folds in.
 *   ChannelAffine(n) — y = x * weight[c] + bias[c], c along dim 1 (parameters
 *                      weight = 1, bias = 0), declaring channel_affine: a plan
 *                      folds it into the layer before it, as an eval BatchNorm.
 *   GatedBlock()     — a container that feeds x to both of its children
 *                      (a ModuleList "layers"), not one into the other:
 *                      layers[0](x) * sigmoid(layers[1](x)).
 *   PairUp()         — forward(*inputs) (ABI 1.4): (x) gives the tuple
 *                      (x, 2 * x, None), (x, y) gives x + y, (x, None) gives
 *                      x; its single-tensor forward gives x.
 *   OutputTaker()    — a container computing relu(x) into the caller's
 *                      output buffer when host->forward_output offers one;
 *                      parameters "calls" and "taken" (shape [1]) count its
 *                      forwards and the offers it took.
 *   PlaneSoftsign(), Softsign(), RankSoftsign() — y = x / (1 + |x|), an
 *                      activation no epilogue computes; (ABI 1.7) declared
 *                      LAM_LAYER_PLANEWISE, not declared, and plane-wise
 *                      through `capabilities` for 4-d inputs only: a plan
 *                      runs the first inside a convolution's sample blocks.
 *   PointMix(in_channels, out_channels) — y[n, o, ...] = sum over c of
 *                      weight[o, c] * x[n, c, ...] (a 1x1 convolution
 *                      without bias, c in order), declared (ABI 1.7)
 *                      LAM_LAYER_SAMPLE_BLOCKS: it can start sample blocks. */
#include <lamina/plugin.h>
#include <stdlib.h>
#include <string.h>

static lam_status plain_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static lam_status copy_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                               lam_tensor *out)
{
    (void)self;
    memcpy(h->tensor_data(out), h->tensor_cdata(in), sizeof(float) * (size_t)h->tensor_numel(in));
    return LAM_OK;
}

/* ---- Picky ---- */
static const lam_arg_spec picky_args[] = {
    {.name = "k", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED},
};
static lam_status picky_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    if (args[0].i % 2)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "Picky: k must be even, got %lld",
                        (long long)args[0].i);
    return h->module_new(out, type, NULL);
}
static const lam_layer_type picky_type = {
    .struct_size = sizeof(lam_layer_type), .name = "Picky", .args = picky_args, .n_args = 1,
    .create = picky_create, .forward_into = copy_forward,
};

/* ---- FailingLayer ---- */
static lam_status failing_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                  lam_tensor *out)
{
    (void)in, (void)out;
    return h->error(LAM_ERR_RUNTIME, "%s: simulated failure", h->module_type_name(self));
}
static const lam_layer_type failing_type = {
    .struct_size = sizeof(lam_layer_type), .name = "FailingLayer", .create = plain_create,
    .forward_into = failing_forward,
};
static const lam_layer_type failing_rows_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "FailingRows",
    .create = plain_create, .forward_into = failing_forward,
};

/* ---- BadShape ---- */
static lam_status bad_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                            int *out_ndim, int64_t *out)
{
    (void)h, (void)self, (void)ndim, (void)in, (void)out;
    *out_ndim = 9;
    return LAM_OK;
}
static const lam_layer_type bad_shape_type = {
    .struct_size = sizeof(lam_layer_type), .name = "BadShape", .create = plain_create,
    .output_shape = bad_shape, .forward_into = copy_forward,
};

/* ---- Sloppy ---- */
static lam_status sloppy_create(const lam_host_api *h, const lam_layer_type *type,
                                const lam_value *args, lam_module **out)
{
    (void)h, (void)type, (void)args, (void)out;
    return LAM_OK;
}
static const lam_layer_type sloppy_type = {
    .struct_size = sizeof(lam_layer_type), .name = "Sloppy", .create = sloppy_create,
    .forward_into = copy_forward,
};

/* ---- creates that fail after making a module ---- */

/* Modules of these types destroyed so far (read by the tests with dlsym). */
LAM_PLUGIN_EXPORT int testtypes_destroyed;
int testtypes_destroyed;

static void counted_destroy(const lam_host_api *h, void *state)
{
    (void)h;
    free(state);
    testtypes_destroyed++;
}

/* module_new, then fail without releasing: *out still holds the module */
static lam_status leaky_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    void *state = malloc(64);
    lam_status st = h->module_new(out, type, state);
    if (st) {
        free(state);
        return st;
    }
    return h->error(LAM_ERR_RUNTIME, "LeakyCreate: failed after module_new");
}

/* release the module, but leave the stale pointer in *out */
static lam_status released_create(const lam_host_api *h, const lam_layer_type *type,
                                  const lam_value *args, lam_module **out)
{
    (void)args;
    lam_status st = h->module_new(out, type, malloc(64));
    if (st)
        return st;
    h->module_release(*out);
    return h->error(LAM_ERR_RUNTIME, "ReleasedCreate: failed after releasing its module");
}

/* a module holding a child, not released */
static lam_status leaky_container_create(const lam_host_api *h, const lam_layer_type *type,
                                         const lam_value *args, lam_module **out)
{
    (void)args;
    lam_status st = h->module_new(out, type, malloc(64));
    if (st)
        return st;
    lam_module *child;
    lam_kwarg lin[] = {{NULL, LAM_INT(3)}, {NULL, LAM_INT(2)}};
    if ((st = h->module_create(&child, "Linear", 2, lin)))
        return st;
    st = h->module_add_child(*out, "fc", child);
    h->module_release(child);
    return st ? st : h->error(LAM_ERR_RUNTIME, "LeakyContainer: failed after adding a child");
}

/* a built-in module from host->module_create, not released */
static lam_status leaky_builtin_create(const lam_host_api *h, const lam_layer_type *type,
                                       const lam_value *args, lam_module **out)
{
    (void)type, (void)args;
    lam_kwarg lin[] = {{NULL, LAM_INT(4)}, {NULL, LAM_INT(5)}};
    lam_status st = h->module_create(out, "Linear", 2, lin);
    return st ? st : h->error(LAM_ERR_RUNTIME, "LeakyBuiltin: failed after module_create");
}

static lam_status container_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                    void *args, lam_tensor **out)
{
    (void)self;
    return h->module_forward(h->module_child(self, "fc"), in, args, out);
}

static const lam_layer_type leaky_type = {
    .struct_size = sizeof(lam_layer_type), .name = "LeakyCreate", .create = leaky_create,
    .forward_into = copy_forward, .destroy = counted_destroy,
};
static const lam_layer_type released_type = {
    .struct_size = sizeof(lam_layer_type), .name = "ReleasedCreate", .create = released_create,
    .forward_into = copy_forward, .destroy = counted_destroy,
};
static const lam_layer_type leaky_container_type = {
    .struct_size = sizeof(lam_layer_type), .name = "LeakyContainer",
    .create = leaky_container_create, .forward = container_forward, .destroy = counted_destroy,
};
static const lam_layer_type leaky_builtin_type = {
    .struct_size = sizeof(lam_layer_type), .name = "LeakyBuiltin", .create = leaky_builtin_create,
    .forward_into = copy_forward,
};

/* ---- Counter ---- */
static lam_status counter_create(const lam_host_api *h, const lam_layer_type *type,
                                 const lam_value *args, lam_module **out)
{
    (void)args;
    lam_status st = h->module_new(out, type, NULL);
    int64_t one = 1;
    if (!st && (st = h->module_add_param(*out, "calls", 1, &one, NULL))) {
        h->module_release(*out);
        *out = NULL;
    }
    return st;
}
static lam_status counter_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                  lam_tensor *out)
{
    h->tensor_data(h->module_param(self, "calls"))[0] += 1.0f; /* single-threaded tests only */
    return copy_forward(h, self, in, out);
}
static const lam_layer_type counter_type = {
    .struct_size = sizeof(lam_layer_type), .name = "Counter", .create = counter_create,
    .forward_into = counter_forward,
};

/* ---- PackedLinear ---- */
typedef struct packed_linear {
    int64_t in, out;
    const lam_tensor *weight, *bias;
} packed_linear;

static const lam_arg_spec packed_args[] = {
    {.name = "in_features", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
    {.name = "out_features", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
};

static void packed_destroy(const lam_host_api *h, void *state)
{
    (void)h;
    free(state);
}

static lam_status packed_create(const lam_host_api *h, const lam_layer_type *type,
                                const lam_value *args, lam_module **out)
{
    packed_linear *s = calloc(1, sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "PackedLinear: out of memory");
    s->in = args[0].i;
    s->out = args[1].i;
    lam_status st = h->module_new(out, type, s);
    if (st) {
        free(s);
        return st;
    }
    int64_t wshape[2] = {s->out, s->in};
    lam_tensor *w, *b;
    if ((st = h->module_add_param(*out, "weight", 2, wshape, &w)) ||
        (st = h->module_add_param(*out, "bias", 1, &s->out, &b))) {
        h->module_release(*out);
        *out = NULL;
        return st;
    }
    s->weight = w;
    s->bias = b;
    return LAM_OK;
}

static lam_status packed_shape(const lam_host_api *h, lam_module *self, int ndim,
                               const int64_t *in, int *out_ndim, int64_t *out)
{
    const packed_linear *s = h->module_state(self);
    if (in[ndim - 1] != s->in)
        return h->error(LAM_ERR_SHAPE, "PackedLinear: input has %lld features, expected %lld",
                        (long long)in[ndim - 1], (long long)s->in);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[ndim - 1] = s->out;
    return LAM_OK;
}

static lam_status packed_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                 lam_tensor *out)
{
    const packed_linear *s = h->module_state(self);
    size_t N = (size_t)s->out, K = (size_t)s->in, M = (size_t)(h->tensor_numel(in) / s->in);
    /* packed per call: the weight may have been reloaded since the last one */
    float *packed = h->alloc(h->gemm_packed_size(N, K) * sizeof(float));
    if (!packed)
        return h->error(LAM_ERR_NO_MEMORY, "PackedLinear: out of memory");
    lam_status st = h->gemm_pack(N, K, h->tensor_cdata(s->weight), packed);
    if (!st)
        st = h->gemm(M, N, K, h->tensor_cdata(in), K, packed, h->tensor_cdata(s->bias),
                     h->tensor_data(out), N, LAM_ACTIVATION_RELU, 0.0f, 0, N);
    h->free(packed);
    return st;
}

static int packed_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const packed_linear *s = h->module_state(self);
    return snprintf(buf, size, "in_features=%lld, out_features=%lld", (long long)s->in,
                    (long long)s->out);
}

static const lam_layer_type packed_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "PackedLinear",
    .args = packed_args, .n_args = 2, .create = packed_create, .output_shape = packed_shape,
    .forward_into = packed_forward, .extra_repr = packed_repr, .destroy = packed_destroy,
};

/* ---- Chatty ---- */
static lam_status chatty_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                 lam_tensor *out)
{
    h->log(LAM_LOG_DEBUG, "Chatty: %s", "debug");
    h->log(LAM_LOG_INFO, "Chatty: info");
    h->log(LAM_LOG_WARNING, "Chatty: warning\n"); /* the host drops the newline */
    h->log(LAM_LOG_ERROR, "Chatty: error");
    return copy_forward(h, self, in, out);
}
static const lam_layer_type chatty_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "Chatty",
    .create = plain_create, .forward_into = chatty_forward,
};

/* ---- Hoard ---- */
typedef struct hoard {
    lam_tensor *t, *copy;
    void *mem;
} hoard;

static const char *const hoard_ways[] = {"tensor", "clone", "alloc", NULL};
static const lam_arg_spec hoard_args[] = {
    {.name = "n", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
    {.name = "way", .type = LAM_ARG_STRING, .default_value = LAM_DEFAULT_STRING("tensor"),
     .choices = hoard_ways},
};

static void hoard_destroy(const lam_host_api *h, void *state)
{
    hoard *s = state;
    h->tensor_release(s->t);
    h->tensor_release(s->copy);
    h->free(s->mem);
    free(s);
}

static lam_status hoard_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    hoard *s = calloc(1, sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "Hoard: out of memory");
    int64_t n = args[0].i, half = n / 2;
    lam_status st = LAM_OK;
    if (!strcmp(args[1].s, "tensor")) {
        st = h->tensor_create(&s->t, 1, &n);
    } else if (!strcmp(args[1].s, "clone")) {
        st = h->tensor_create(&s->t, 1, &half);
        if (!st)
            st = h->tensor_clone(&s->copy, s->t);
    } else if (!(s->mem = h->alloc((size_t)n * sizeof(float)))) {
        st = LAM_ERR_NO_MEMORY; /* the host's message says why */
    }
    if (!st)
        st = h->module_new(out, type, s);
    if (st)
        hoard_destroy(h, s);
    return st;
}

static const lam_layer_type hoard_type = {
    .struct_size = sizeof(lam_layer_type), .name = "Hoard", .args = hoard_args, .n_args = 2,
    .create = hoard_create, .forward_into = copy_forward, .destroy = hoard_destroy,
};

/* ---- RowsLinear: PackedLinear's arithmetic without the ReLU, declaring the
 * capabilities a plan asks for (ABI 1.1): forward_rows (rows with a fused
 * epilogue, any column range) and flops. ---- */
static lam_status rows_linear_rows(const lam_host_api *h, lam_module *self, const float *x,
                                   int64_t rows, float *y, lam_activation f, float alpha,
                                   size_t n_begin, size_t n_end)
{
    const packed_linear *s = h->module_state(self);
    size_t N = (size_t)s->out, K = (size_t)s->in;
    float *packed = h->alloc(h->gemm_packed_size(N, K) * sizeof(float));
    if (!packed)
        return h->error(LAM_ERR_NO_MEMORY, "RowsLinear: out of memory");
    lam_status st = h->gemm_pack(N, K, h->tensor_cdata(s->weight), packed);
    if (!st)
        st = h->gemm((size_t)rows, N, K, x, K, packed, h->tensor_cdata(s->bias), y, N, f, alpha,
                     n_begin, n_end);
    h->free(packed);
    return st;
}

static lam_status rows_linear_forward(const lam_host_api *h, lam_module *self,
                                      const lam_tensor *in, lam_tensor *out)
{
    const packed_linear *s = h->module_state(self);
    return rows_linear_rows(h, self, h->tensor_cdata(in), h->tensor_numel(in) / s->in,
                            h->tensor_data(out), LAM_ACTIVATION_IDENTITY, 0.0f, 0, (size_t)s->out);
}

static double rows_linear_flops(const lam_host_api *h, const lam_module *self, int ndim,
                                const int64_t *in, int out_ndim, const int64_t *out)
{
    (void)h, (void)self;
    double f = 2.0 * (double)in[ndim - 1];
    for (int i = 0; i < out_ndim; i++)
        f *= (double)out[i];
    return f;
}

static int rows_linear_axis(const lam_host_api *h, const lam_module *self, int ndim,
                            const int64_t *out)
{
    (void)h, (void)self, (void)out;
    return ndim >= 2 ? ndim - 1 : -1;
}

static const lam_layer_type rows_linear_type;

/* weight * scale per output row, bias * scale + shift, into a RowsLinear of
 * the same size (made on the first call) */
static lam_status rows_linear_fold(const lam_host_api *h, const lam_module *self,
                                   const double *scale, const double *shift, lam_module **folded)
{
    const packed_linear *s = h->module_state(self);
    if (!*folded) {
        lam_value args[2] = {LAM_INT(s->in), LAM_INT(s->out)};
        lam_status st = packed_create(h, &rows_linear_type, args, folded);
        if (st)
            return st;
    }
    const packed_linear *f = h->module_state(*folded);
    const float *w = h->tensor_cdata(s->weight), *b = h->tensor_cdata(s->bias);
    float *fw = h->tensor_data((lam_tensor *)f->weight), *fb = h->tensor_data((lam_tensor *)f->bias);
    for (int64_t o = 0; o < s->out; o++) {
        for (int64_t i = 0; i < s->in; i++)
            fw[o * s->in + i] = (float)((double)w[o * s->in + i] * scale[o]);
        fb[o] = (float)((double)b[o] * scale[o] + shift[o]);
    }
    return LAM_OK;
}

static const lam_layer_type rows_linear_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "RowsLinear",
    .args = packed_args, .n_args = 2, .create = packed_create, .output_shape = packed_shape,
    .forward_into = rows_linear_forward, .extra_repr = packed_repr, .destroy = packed_destroy,
    .forward_rows = rows_linear_rows, .flops = rows_linear_flops,
    .affine_axis = rows_linear_axis, .fold_affine = rows_linear_fold,
};

/* ---- ChannelAffine ---- */
typedef struct channel_affine {
    int64_t n;
    const lam_tensor *weight, *bias;
} channel_affine;

static const lam_arg_spec channel_affine_args[] = {
    {.name = "n", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
};

static lam_status channel_affine_create(const lam_host_api *h, const lam_layer_type *type,
                                        const lam_value *args, lam_module **out)
{
    channel_affine *s = calloc(1, sizeof *s);
    if (!s)
        return h->error(LAM_ERR_NO_MEMORY, "ChannelAffine: out of memory");
    s->n = args[0].i;
    lam_status st = h->module_new(out, type, s);
    if (st) {
        free(s);
        return st;
    }
    lam_tensor *w, *b;
    if ((st = h->module_add_param(*out, "weight", 1, &s->n, &w)) ||
        (st = h->module_add_param(*out, "bias", 1, &s->n, &b))) {
        h->module_release(*out);
        *out = NULL;
        return st;
    }
    float *wd = h->tensor_data(w);
    for (int64_t i = 0; i < s->n; i++)
        wd[i] = 1.0f;
    s->weight = w;
    s->bias = b;
    return LAM_OK;
}

static lam_status channel_affine_shape(const lam_host_api *h, lam_module *self, int ndim,
                                       const int64_t *in, int *out_ndim, int64_t *out)
{
    const channel_affine *s = h->module_state(self);
    if (ndim < 2 || in[1] != s->n)
        return h->error(LAM_ERR_SHAPE, "ChannelAffine: expected [N, %lld, ...]", (long long)s->n);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status channel_affine_forward(const lam_host_api *h, lam_module *self,
                                         const lam_tensor *in, lam_tensor *out)
{
    const channel_affine *s = h->module_state(self);
    const float *x = h->tensor_cdata(in), *w = h->tensor_cdata(s->weight);
    const float *b = h->tensor_cdata(s->bias);
    float *y = h->tensor_data(out);
    int64_t n = h->tensor_numel(in), rows = h->tensor_shape(in)[0];
    int64_t inner = rows ? n / (rows * s->n) : 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t c = i / inner % s->n;
        y[i] = x[i] * w[c] + b[c];
    }
    return LAM_OK;
}

static int channel_affine_scale(const lam_host_api *h, const lam_module *self, int ndim,
                                const int64_t *shape, double *scale, double *shift)
{
    const channel_affine *s = h->module_state(self);
    if (ndim < 2 || shape[1] != s->n)
        return -1;
    if (scale && shift)
        for (int64_t c = 0; c < s->n; c++) {
            scale[c] = h->tensor_cdata(s->weight)[c];
            shift[c] = h->tensor_cdata(s->bias)[c];
        }
    return 1;
}

static const lam_layer_type channel_affine_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "ChannelAffine",
    .args = channel_affine_args, .n_args = 1, .create = channel_affine_create,
    .output_shape = channel_affine_shape, .forward_into = channel_affine_forward,
    .destroy = packed_destroy, .channel_affine = channel_affine_scale,
};

/* ---- GatedBlock ---- */

static lam_module *gated_child(const lam_host_api *h, lam_module *self, size_t i)
{
    lam_module *layers = h->module_child(self, "layers");
    return layers && h->module_num_children(layers) > i ? h->module_child_at(layers, i, NULL)
                                                        : NULL;
}

static lam_status gated_children(const lam_host_api *h, lam_module *self, lam_module **v,
                                 lam_module **g)
{
    *v = gated_child(h, self, 0);
    *g = gated_child(h, self, 1);
    if (!*v || !*g)
        return h->error(LAM_ERR_RUNTIME, "GatedBlock: needs a ModuleList 'layers' of two modules");
    return LAM_OK;
}

static lam_status gated_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                              int *out_ndim, int64_t *out)
{
    lam_module *v, *g;
    lam_status st = gated_children(h, self, &v, &g);
    int gnd;
    int64_t gs[LAM_MAX_DIMS];
    if (!st)
        st = h->module_output_shape(v, ndim, in, out_ndim, out);
    if (!st)
        st = h->module_output_shape(g, ndim, in, &gnd, gs);
    if (!st && (gnd != *out_ndim || memcmp(gs, out, sizeof(int64_t) * (size_t)gnd) != 0))
        st = h->error(LAM_ERR_SHAPE, "GatedBlock: the value and the gate differ in shape");
    return st;
}

static lam_status gated_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                void *args, lam_tensor **out)
{
    lam_module *v, *g;
    lam_status st = gated_children(h, self, &v, &g);
    if (st)
        return st;
    lam_tensor *value = NULL, *gate = NULL, *sig = NULL;
    st = h->module_forward(v, in, args, &value);
    if (!st)
        st = h->module_forward(g, in, args, &gate);
    if (!st)
        st = h->ops->sigmoid(&sig, gate);
    if (!st)
        st = h->ops->mul(out, value, sig);
    h->tensor_release(value);
    h->tensor_release(gate);
    h->tensor_release(sig);
    return st;
}

static const lam_layer_type gated_type = {
    .struct_size = sizeof(lam_layer_type), .name = "GatedBlock", .create = plain_create,
    .output_shape = gated_shape, .forward = gated_forward,
};

/* ---- PairUp: several inputs and outputs ---- */
static lam_status pair_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                               void *args, lam_tensor **out)
{
    (void)self, (void)args;
    return h->tensor_clone(out, in);
}
static lam_status pair_forward_multi(const lam_host_api *h, lam_module *self,
                                     const lam_tuple *inputs, void *args, lam_tensor **output,
                                     lam_tuple **outputs)
{
    (void)self, (void)args;
    size_t n = h->tuple_len(inputs);
    lam_tensor *x = n ? h->tuple_tensor(inputs, 0) : NULL;
    if (!x || n > 2)
        return h->error(LAM_ERR_TYPE, "PairUp: takes (x) or (x, y), x a tensor");
    if (n == 2) {
        lam_tensor *y = h->tuple_tensor(inputs, 1);
        if (!y)
            return h->tensor_clone(output, x); /* (x, None) */
        return h->ops->add(output, x, y);
    }
    lam_tensor *twice = NULL;
    lam_status st = h->ops->mul_scalar(&twice, x, 2.0);
    if (!st)
        st = h->tuple_create(outputs, 3);
    if (!st)
        st = h->tuple_set_tensor(*outputs, 0, x);
    if (!st)
        st = h->tuple_set_tensor(*outputs, 1, twice);
    h->tensor_release(twice);
    return st;
}
static const lam_layer_type pair_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "PairUp",
    .create = plain_create,
    .forward = pair_forward,
    .forward_multi = pair_forward_multi,
};

/* ---- OutputTaker ---- */
static lam_status taker_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    lam_status st = h->module_new(out, type, NULL);
    int64_t one = 1;
    if (!st && !(st = h->module_add_param(*out, "calls", 1, &one, NULL)))
        st = h->module_add_param(*out, "taken", 1, &one, NULL);
    if (st) {
        h->module_release(*out);
        *out = NULL;
    }
    return st;
}
static lam_status taker_shape(const lam_host_api *h, lam_module *self, int ndim,
                              const int64_t *in, int *out_ndim, int64_t *out)
{
    (void)h, (void)self;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}
static lam_status taker_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                void *args, lam_tensor **out)
{
    (void)args; /* single-threaded tests only: the counters */
    h->tensor_data(h->module_param(self, "calls"))[0] += 1.0f;
    lam_tensor *t = h->forward_output(self, h->tensor_ndim(in), h->tensor_shape(in));
    if (t)
        h->tensor_data(h->module_param(self, "taken"))[0] += 1.0f;
    lam_status st = h->ops->relu(&t, in);
    if (st && t)
        h->tensor_release(t);
    if (!st)
        *out = t;
    return st;
}
static const lam_layer_type taker_type = {
    .struct_size = sizeof(lam_layer_type), .name = "OutputTaker", .create = taker_create,
    .output_shape = taker_shape, .forward = taker_forward,
};

/* ---- PlaneSoftsign, Softsign, RankSoftsign (ABI 1.7) ---- */
static lam_status softsign_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                   lam_tensor *out)
{
    (void)self;
    const float *x = h->tensor_cdata(in);
    float *y = h->tensor_data(out);
    for (int64_t i = 0, n = h->tensor_numel(in); i < n; i++)
        y[i] = x[i] / (1.0f + (x[i] < 0.0f ? -x[i] : x[i]));
    return LAM_OK;
}
static uint32_t softsign_caps(const lam_host_api *h, const lam_module *self, int ndim)
{
    (void)h, (void)self;
    return ndim == 4 ? LAM_LAYER_PLANEWISE : 0;
}
static const lam_layer_type plane_softsign_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE | LAM_LAYER_PLANEWISE,
    .name = "PlaneSoftsign", .create = plain_create, .forward_into = softsign_forward,
};
static const lam_layer_type softsign_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "Softsign",
    .create = plain_create, .forward_into = softsign_forward,
};
static const lam_layer_type rank_softsign_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_ROWWISE, .name = "RankSoftsign",
    .create = plain_create, .forward_into = softsign_forward, .capabilities = softsign_caps,
};

/* ---- PointMix (ABI 1.7) ---- */
static const lam_arg_spec point_mix_args[] = {
    {.name = "in_channels", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
    {.name = "out_channels", .type = LAM_ARG_INT, .flags = LAM_ARG_REQUIRED | LAM_ARG_POSITIVE},
};
static lam_status point_mix_create(const lam_host_api *h, const lam_layer_type *type,
                                   const lam_value *args, lam_module **out)
{
    lam_status st = h->module_new(out, type, NULL);
    int64_t wshape[2] = {args[1].i, args[0].i};
    if (!st && (st = h->module_add_param(*out, "weight", 2, wshape, NULL))) {
        h->module_release(*out);
        *out = NULL;
    }
    return st;
}
static lam_status point_mix_shape(const lam_host_api *h, lam_module *self, int ndim,
                                  const int64_t *in, int *out_ndim, int64_t *out)
{
    const int64_t *w = h->tensor_shape(h->module_param(self, "weight"));
    if (ndim < 2 || in[1] != w[1])
        return h->error(LAM_ERR_SHAPE, "PointMix: expected [N, %lld, ...]", (long long)w[1]);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[1] = w[0];
    return LAM_OK;
}
static lam_status point_mix_forward(const lam_host_api *h, lam_module *self,
                                    const lam_tensor *in, lam_tensor *out)
{
    const lam_tensor *wt = h->module_param(self, "weight");
    const float *x = h->tensor_cdata(in), *w = h->tensor_cdata(wt);
    float *y = h->tensor_data(out);
    const int64_t O = h->tensor_shape(wt)[0], C = h->tensor_shape(wt)[1];
    const int64_t rows = h->tensor_shape(in)[0];
    const int64_t plane = rows ? h->tensor_numel(in) / (rows * C) : 0;
    for (int64_t n = 0; n < rows; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t p = 0; p < plane; p++) {
                float acc = 0.0f;
                for (int64_t c = 0; c < C; c++)
                    acc += w[o * C + c] * x[(n * C + c) * plane + p];
                y[(n * O + o) * plane + p] = acc;
            }
    return LAM_OK;
}
static const lam_layer_type point_mix_type = {
    .struct_size = sizeof(lam_layer_type), .flags = LAM_LAYER_SAMPLE_BLOCKS, .name = "PointMix",
    .args = point_mix_args, .n_args = 2, .create = point_mix_create,
    .output_shape = point_mix_shape, .forward_into = point_mix_forward,
};

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    const lam_layer_type *types[] = {
        &picky_type,        &failing_type, &bad_shape_type, &sloppy_type,
        &packed_type,       &leaky_type,   &released_type,  &leaky_container_type,
        &leaky_builtin_type, &chatty_type, &hoard_type,     &rows_linear_type,
        &counter_type,      &gated_type,   &failing_rows_type, &channel_affine_type,
        &pair_type,         &taker_type,   &plane_softsign_type, &softsign_type,
        &rank_softsign_type, &point_mix_type,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        lam_status st = h->register_type(reg, types[i]);
        if (st)
            return st;
    }
    return LAM_OK;
}

LAM_PLUGIN_DEFINE("testtypes", "0.1.0", "test-only layer types that fail on purpose", "MIT",
                  register_types);
