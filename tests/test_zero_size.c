/* Zero-size inputs with huge other dims (lamina issue 12, item 11).
 *
 * A shape like [0, 2^62, 2^62] has no elements, so it is a valid tensor (torch
 * accepts it too), yet a product of its other dims -- a row size, a stride,
 * a flattened size -- does not fit in int64.  Every built-in layer (through
 * lam_module_forward and through a plan), Sequentials planned and run on 1
 * and 2 threads, and the tensor ops get such inputs.  Each must give the
 * right output (its shape computed here with 128-bit arithmetic: empty, or
 * filled where a zero dim is summed away: Linear(0, n) gives the bias, a sum
 * 0, a mean NaN) or, where the output's shape does not fit, a clean error --
 * never undefined behaviour.  Built with -fsanitize=undefined
 * -fno-sanitize-recover=undefined, a signed overflow ends the test. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define H (INT64_C(1) << 62)

/* The input shapes: each has a zero dim, most of them huge dims after it. */
typedef struct shape {
    int nd;
    int64_t d[LAM_MAX_DIMS];
} shape;

static const shape INPUTS[] = {
    {3, {0, H, H}},    {3, {0, H, 4}},    {4, {0, H, H, 4}}, {4, {3, 0, H, 4}},
    {4, {0, 4, H, 4}}, {4, {2, 0, H, H}}, {2, {0, H}},       {1, {0}},
};
#define N_INPUTS (sizeof INPUTS / sizeof INPUTS[0])

static lam_tensor *make(int nd, const int64_t *d)
{
    lam_tensor *t = NULL;
    cr_assert_eq(lam_tensor_create(&t, nd, d), LAM_OK, "%s", lam_last_error());
    return t;
}
#define MAKE(...)                                                                                  \
    make((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static const char *str(int nd, const int64_t *d)
{
    static __thread char buf[4][160];
    static __thread int k;
    k = (k + 1) % 4;
    return lam_shape_str(nd, d, buf[k], sizeof buf[k]);
}

/* ---- expected shapes, in 128-bit arithmetic ---- */

/* false when a dim does not fit in int64, or lam_tensor_create refuses the
 * shape (the product of its dims in order, up to the first 0, past
 * INT64_MAX / 4: torch's storage-size check is of the same kind) */
static bool fits(int nd, const __int128 *d, int64_t *out)
{
    __int128 prod = 1;
    for (int i = 0; i < nd; i++) {
        if (d[i] > INT64_MAX)
            return false;
        prod *= d[i];
        if (prod > INT64_MAX / 4)
            return false;
        out[i] = (int64_t)d[i];
    }
    return true;
}

/* ---- checks ---- */

/* st/y: an output of shape want (want == NULL: a clean error), all of whose
 * elements are `fill` (NAN: NaN) when it has any. */
static void check(const char *what, lam_status st, const lam_tensor *y, const shape *want,
                  float fill)
{
    if (!want) {
        cr_expect_neq(st, LAM_OK, "%s: succeeded (shape %s), expected an error", what,
                      y ? str(lam_tensor_ndim(y), lam_tensor_shape(y)) : "-");
        cr_expect(lam_last_error()[0] != '\0', "%s: failed without a message", what);
        return;
    }
    cr_assert_eq(st, LAM_OK, "%s: %s (%s)", what, lam_status_str(st), lam_last_error());
    cr_assert_not_null(y, "%s: no output", what);
    cr_assert(lam_tensor_ndim(y) == want->nd &&
                  memcmp(lam_tensor_shape(y), want->d, sizeof(int64_t) * (size_t)want->nd) == 0,
              "%s: shape %s, expected %s", what, str(lam_tensor_ndim(y), lam_tensor_shape(y)),
              str(want->nd, want->d));
    const float *v = lam_tensor_cdata(y);
    for (int64_t i = 0; i < lam_tensor_numel(y); i++)
        cr_assert(isnan(fill) ? isnan(v[i]) : v[i] == fill, "%s: element %lld is %g, expected %g",
                  what, (long long)i, v[i], fill);
}

#define SHAPE(...)                                                                                 \
    (&(shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})

/* An op into a new output: the shape (or NULL for an error), the fill. */
#define OP(call, want, fill)                                                                       \
    do {                                                                                           \
        lam_tensor *y = NULL;                                                                      \
        lam_clear_error();                                                                         \
        lam_status st_ = (call);                                                                   \
        check(#call, st_, y, want, fill);                                                          \
        if (st_ != LAM_OK)                                                                         \
            cr_expect_null(y, "%s: failed but set *out", #call);                                   \
        lam_tensor_release(y);                                                                     \
    } while (0)

/* ---- the built-in layers ---- */

/* ANY: the vision layers, whose output shapes follow PyTorch's formulas:
 * the module's own output_shape is taken as the expectation when it fits
 * (else a clean error is expected), so these cases check that no input
 * leads to undefined behaviour, a crash or a non-empty output. */
enum kind { SAME, LINEAR, FLATTEN, NORM, ANY, CONV };

typedef struct layer_case {
    const char *type; /* the registry's name */
    const char *label;
    lam_status (*create)(lam_module **);
    enum kind kind;
    int a, b; /* LINEAR: in, out features; FLATTEN: start, end dims; NORM: ranks; CONV:
                 spatial dims, transposed */
} layer_case;

static lam_status linear(lam_module **m) { return lam_linear_create(m, 4, 3, true); }
static lam_status linear0(lam_module **m) { return lam_linear_create(m, 0, 3, true); }
static lam_status linear0_wide(lam_module **m) { return lam_linear_create(m, 0, 1 << 20, true); }
static lam_status identity(lam_module **m) { return lam_identity_create(m); }
static lam_status relu(lam_module **m) { return lam_relu_create(m); }
static lam_status leaky(lam_module **m) { return lam_leaky_relu_create(m, 0.01); }
static lam_status relu6(lam_module **m) { return lam_relu6_create(m); }
static lam_status elu(lam_module **m) { return lam_elu_create(m, 1.0); }
static lam_status sigmoid(lam_module **m) { return lam_sigmoid_create(m); }
static lam_status tanh_(lam_module **m) { return lam_tanh_create(m); }
static lam_status gelu(lam_module **m) { return lam_gelu_create(m, "tanh"); }
static lam_status silu(lam_module **m) { return lam_silu_create(m); }
static lam_status softplus(lam_module **m) { return lam_softplus_create(m, 1.0, 20.0); }
static lam_status softmax0(lam_module **m) { return lam_softmax_create(m, 0); }
static lam_status softmax1(lam_module **m) { return lam_softmax_create(m, 1); }
static lam_status softmax_last(lam_module **m) { return lam_softmax_create(m, -1); }
static lam_status softmax_none(lam_module **m) { return lam_softmax_create(m, LAM_DIM_NONE); }
static lam_status log_softmax0(lam_module **m) { return lam_log_softmax_create(m, 0); }
static lam_status log_softmax1(lam_module **m) { return lam_log_softmax_create(m, 1); }
static lam_status layer_norm(lam_module **m)
{
    const int64_t ns[1] = {4};
    return lam_layer_norm_create(m, 1, ns, 1e-5, true);
}
static lam_status dropout(lam_module **m) { return lam_dropout_create(m, 0.5); }
static lam_status flatten(lam_module **m) { return lam_flatten_create(m, 1, -1); }
static lam_status flatten01(lam_module **m) { return lam_flatten_create(m, 0, 1); }
static lam_status flatten_all(lam_module **m) { return lam_flatten_create(m, 0, -1); }
static lam_status flatten23(lam_module **m) { return lam_flatten_create(m, -2, -1); }

static lam_status batch_norm1d(lam_module **m)
{
    return lam_batch_norm1d_create(m, 4, 1e-5, 0.1, true, true);
}
static lam_status batch_norm2d(lam_module **m)
{
    return lam_batch_norm2d_create(m, 4, 1e-5, 0.1, true, true);
}
static lam_status instance_norm1d(lam_module **m)
{
    return lam_instance_norm1d_create(m, 4, 1e-5, 0.1, false, false);
}
static lam_status instance_norm2d(lam_module **m)
{
    return lam_instance_norm2d_create(m, 4, 1e-5, 0.1, false, false);
}
static lam_status group_norm(lam_module **m) { return lam_group_norm_create(m, 2, 4, 1e-5, true); }
static lam_status lrn(lam_module **m) { return lam_local_response_norm_create(m, 2, 1e-4, 0.75, 1.0); }
static lam_status hardswish(lam_module **m) { return lam_hardswish_create(m); }
static lam_status hardsigmoid(lam_module **m) { return lam_hardsigmoid_create(m); }
static lam_status hardtanh(lam_module **m) { return lam_hardtanh_create(m, -1, 1); }
static lam_status mish(lam_module **m) { return lam_mish_create(m); }
static lam_status prelu(lam_module **m) { return lam_prelu_create(m, 1, 0.25); }
static lam_status embedding(lam_module **m)
{
    return lam_embedding_create(m, 10, 3, 0, LAM_EMBEDDING_NO_MAX_NORM, 2.0, false, false);
}
static lam_status dropout1d(lam_module **m) { return lam_dropout1d_create(m, 0.5); }
static lam_status dropout2d(lam_module **m) { return lam_dropout2d_create(m, 0.5); }
static lam_status alpha_dropout(lam_module **m) { return lam_alpha_dropout_create(m, 0.5); }
static lam_status fa_dropout(lam_module **m) { return lam_feature_alpha_dropout_create(m, 0.5); }
static const int64_t K2[2] = {2, 2}, P1[4] = {1, 1, 1, 1};
static lam_status maxpool1d(lam_module **m) { return lam_max_pool1d_create(m, 2, LAM_NONE_INT, 1, 1, true); }
static lam_status maxpool2d(lam_module **m) { return lam_max_pool2d_create(m, K2, NULL, NULL, NULL, false); }
static lam_status avgpool1d(lam_module **m) { return lam_avg_pool1d_create(m, 2, 1, 1, true, false); }
static lam_status avgpool2d(lam_module **m) { return lam_avg_pool2d_create(m, K2, NULL, NULL, false, true, LAM_NONE_INT); }
static lam_status aavg1d(lam_module **m) { return lam_adaptive_avg_pool1d_create(m, 3); }
static lam_status aavg2d(lam_module **m) { return lam_adaptive_avg_pool2d_create(m, K2); }
static lam_status amax1d(lam_module **m) { return lam_adaptive_max_pool1d_create(m, 3); }
static lam_status amax2d(lam_module **m) { return lam_adaptive_max_pool2d_create(m, K2); }
static lam_status unflatten(lam_module **m)
{
    const int64_t s[2] = {2, -1};
    return lam_unflatten_create(m, 1, 2, s);
}
static lam_status pixel_shuffle(lam_module **m) { return lam_pixel_shuffle_create(m, 2); }
static lam_status pixel_unshuffle(lam_module **m) { return lam_pixel_unshuffle_create(m, 2); }
static lam_status channel_shuffle(lam_module **m) { return lam_channel_shuffle_create(m, 2); }
static lam_status upsample(lam_module **m)
{
    const double two = 2.0;
    return lam_upsample_create(m, 0, NULL, &two, "nearest", -1);
}
static lam_status upsample_bl(lam_module **m)
{
    const int64_t size[2] = {3, 5};
    return lam_upsample_create(m, 2, size, NULL, "bilinear", 1);
}
static lam_status cpad1d(lam_module **m) { return lam_constant_pad1d_create(m, P1, 0.0); }
static lam_status cpad2d(lam_module **m) { return lam_constant_pad2d_create(m, P1, 0.0); }
static lam_status zpad2d(lam_module **m) { return lam_zero_pad2d_create(m, P1); }
static lam_status rfpad1d(lam_module **m) { return lam_reflection_pad1d_create(m, P1); }
static lam_status rfpad2d(lam_module **m) { return lam_reflection_pad2d_create(m, P1); }
static lam_status rppad1d(lam_module **m) { return lam_replication_pad1d_create(m, P1); }
static lam_status rppad2d(lam_module **m) { return lam_replication_pad2d_create(m, P1); }
/* 4 -> 3 channels, kernel 3: padding 1 (the same size), or transposed with stride 2 */
static lam_status conv1d(lam_module **m) { return lam_conv1d_create(m, 4, 3, 3, 1, 1, 1, 1, true, NULL); }
static lam_status conv2d(lam_module **m)
{
    const int64_t k[2] = {3, 3}, p[2] = {1, 1};
    return lam_conv2d_create(m, 4, 3, k, NULL, p, NULL, 1, true, NULL);
}
static lam_status conv_t1d(lam_module **m)
{
    return lam_conv_transpose1d_create(m, 4, 3, 3, 2, 0, 0, 1, true, 1, NULL);
}
static lam_status conv_t2d(lam_module **m)
{
    const int64_t k[2] = {3, 3}, s[2] = {2, 2};
    return lam_conv_transpose2d_create(m, 4, 3, k, s, NULL, NULL, 1, true, NULL, NULL);
}
/* recurrent: input_size 4, hidden 3 (batch_first: the time dim second) */
static lam_status rnn(lam_module **m) { return lam_rnn_create(m, 4, 3, 1, "relu", true, false, 0.0, false); }
static lam_status lstm(lam_module **m) { return lam_lstm_create(m, 4, 3, 2, true, true, 0.0, true, 2); }
static lam_status gru(lam_module **m) { return lam_gru_create(m, 4, 3, 1, false, true, 0.0, true); }

static const layer_case LAYERS[] = {
    {"Linear", "Linear(4, 3)", linear, LINEAR, 4, 3},
    {"Linear", "Linear(0, 3)", linear0, LINEAR, 0, 3},
    {"Identity", "Identity", identity, SAME, 0, 0},
    {"ReLU", "ReLU", relu, SAME, 0, 0},
    {"LeakyReLU", "LeakyReLU", leaky, SAME, 0, 0},
    {"ReLU6", "ReLU6", relu6, SAME, 0, 0},
    {"ELU", "ELU", elu, SAME, 0, 0},
    {"Sigmoid", "Sigmoid", sigmoid, SAME, 0, 0},
    {"Tanh", "Tanh", tanh_, SAME, 0, 0},
    {"GELU", "GELU", gelu, SAME, 0, 0},
    {"SiLU", "SiLU", silu, SAME, 0, 0},
    {"Softplus", "Softplus", softplus, SAME, 0, 0},
    {"Softmax", "Softmax(0)", softmax0, SAME, 0, 0},
    {"Softmax", "Softmax(1)", softmax1, SAME, 0, 0},
    {"Softmax", "Softmax(-1)", softmax_last, SAME, 0, 0},
    {"Softmax", "Softmax(None)", softmax_none, SAME, 0, 0},
    {"LogSoftmax", "LogSoftmax(0)", log_softmax0, SAME, 0, 0},
    {"LogSoftmax", "LogSoftmax(1)", log_softmax1, SAME, 0, 0},
    {"LayerNorm", "LayerNorm(4)", layer_norm, SAME, 4, 0},
    {"Dropout", "Dropout", dropout, SAME, 0, 0},
    {"Flatten", "Flatten(1, -1)", flatten, FLATTEN, 1, -1},
    {"Flatten", "Flatten(0, 1)", flatten01, FLATTEN, 0, 1},
    {"Flatten", "Flatten(0, -1)", flatten_all, FLATTEN, 0, -1},
    {"Flatten", "Flatten(-2, -1)", flatten23, FLATTEN, -2, -1},
    {"BatchNorm1d", "BatchNorm1d(4)", batch_norm1d, NORM, 2, 3},
    {"BatchNorm2d", "BatchNorm2d(4)", batch_norm2d, NORM, 4, 4},
    {"InstanceNorm1d", "InstanceNorm1d(4)", instance_norm1d, NORM, 2, 3},
    {"InstanceNorm2d", "InstanceNorm2d(4)", instance_norm2d, NORM, 3, 4},
    {"GroupNorm", "GroupNorm(2, 4)", group_norm, NORM, 2, LAM_MAX_DIMS},
    {"LocalResponseNorm", "LocalResponseNorm(2)", lrn, NORM, 3, LAM_MAX_DIMS},
    {"Hardswish", "Hardswish", hardswish, SAME, 0, 0},
    {"Hardsigmoid", "Hardsigmoid", hardsigmoid, SAME, 0, 0},
    {"Hardtanh", "Hardtanh", hardtanh, SAME, 0, 0},
    {"Mish", "Mish", mish, SAME, 0, 0},
    {"PReLU", "PReLU(1)", prelu, SAME, 0, 0},
    {"Dropout2d", "Dropout2d", dropout2d, SAME, 0, 0},
    {"AlphaDropout", "AlphaDropout", alpha_dropout, SAME, 0, 0},
    {"FeatureAlphaDropout", "FeatureAlphaDropout", fa_dropout, SAME, 0, 0},
    {"Dropout1d", "Dropout1d", dropout1d, ANY, 0, 0},
    {"MaxPool1d", "MaxPool1d(2, padding=1, ceil_mode=True)", maxpool1d, ANY, 0, 0},
    {"MaxPool2d", "MaxPool2d(2)", maxpool2d, ANY, 0, 0},
    {"AvgPool1d", "AvgPool1d(2, 1, 1, True, False)", avgpool1d, ANY, 0, 0},
    {"AvgPool2d", "AvgPool2d(2)", avgpool2d, ANY, 0, 0},
    {"AdaptiveAvgPool1d", "AdaptiveAvgPool1d(3)", aavg1d, ANY, 0, 0},
    {"AdaptiveAvgPool2d", "AdaptiveAvgPool2d(2)", aavg2d, ANY, 0, 0},
    {"AdaptiveMaxPool1d", "AdaptiveMaxPool1d(3)", amax1d, ANY, 0, 0},
    {"AdaptiveMaxPool2d", "AdaptiveMaxPool2d(2)", amax2d, ANY, 0, 0},
    {"Unflatten", "Unflatten(1, (2, -1))", unflatten, ANY, 0, 0},
    {"PixelShuffle", "PixelShuffle(2)", pixel_shuffle, ANY, 0, 0},
    {"PixelUnshuffle", "PixelUnshuffle(2)", pixel_unshuffle, ANY, 0, 0},
    {"ChannelShuffle", "ChannelShuffle(2)", channel_shuffle, ANY, 0, 0},
    {"Upsample", "Upsample(scale_factor=2.0)", upsample, ANY, 0, 0},
    {"Upsample", "Upsample(size=(3, 5), mode=bilinear)", upsample_bl, ANY, 0, 0},
    {"ConstantPad1d", "ConstantPad1d(1, 0.0)", cpad1d, ANY, 0, 0},
    {"ConstantPad2d", "ConstantPad2d(1, 0.0)", cpad2d, ANY, 0, 0},
    {"ZeroPad2d", "ZeroPad2d(1)", zpad2d, ANY, 0, 0},
    {"ReflectionPad1d", "ReflectionPad1d(1)", rfpad1d, ANY, 0, 0},
    {"ReflectionPad2d", "ReflectionPad2d(1)", rfpad2d, ANY, 0, 0},
    {"ReplicationPad1d", "ReplicationPad1d(1)", rppad1d, ANY, 0, 0},
    {"ReplicationPad2d", "ReplicationPad2d(1)", rppad2d, ANY, 0, 0},
    {"Conv1d", "Conv1d(4, 3, 3, padding=1)", conv1d, CONV, 1, 0},
    {"Conv2d", "Conv2d(4, 3, 3, padding=1)", conv2d, CONV, 2, 0},
    {"ConvTranspose1d", "ConvTranspose1d(4, 3, 3, stride=2)", conv_t1d, CONV, 1, 1},
    {"ConvTranspose2d", "ConvTranspose2d(4, 3, 3, stride=2)", conv_t2d, CONV, 2, 1},
    {"RNN", "RNN(4, 3, nonlinearity='relu')", rnn, ANY, 0, 0},
    {"LSTM", "LSTM(4, 3, 2, batch_first=True, bidirectional=True, proj_size=2)", lstm, ANY, 0, 0},
    {"GRU", "GRU(4, 3, bias=False, batch_first=True, bidirectional=True)", gru, ANY, 0, 0},
    {"Embedding", "Embedding(10, 3)", embedding, ANY, 1, 0}, /* a = 1: int64 ids */
};
#define N_LAYERS (sizeof LAYERS / sizeof LAYERS[0])

/* The output shape the layer gives `in` (false: it refuses the input or the
 * output does not fit). */
static lam_module *m_any; /* the module of an ANY case */
static bool layer_output(const layer_case *c, const shape *in, shape *out)
{
    __int128 d[LAM_MAX_DIMS];
    int nd = 0;
    switch (c->kind) {
    case SAME:
        if (c->a && in->d[in->nd - 1] != c->a) /* LayerNorm's normalized shape */
            return false;
        for (int i = 0; i < in->nd; i++)
            d[nd++] = in->d[i];
        if (!strcmp(c->type, "Softmax") || !strcmp(c->type, "LogSoftmax")) {
            /* Softmax(1) on a 1-D input: dim out of range */
            if (strstr(c->label, "(1)") && in->nd < 2)
                return false;
        }
        break;
    case LINEAR:
        if (in->d[in->nd - 1] != c->a)
            return false;
        for (int i = 0; i < in->nd; i++)
            d[nd++] = in->d[i];
        d[nd - 1] = c->b;
        break;
    case NORM: { /* eval mode: PyTorch's rank, channel and batch checks */
        if (in->nd < c->a || in->nd > c->b)
            return false;
        if (!strncmp(c->type, "BatchNorm", 9) && in->d[1] != 4)
            return false; /* running_mean should contain 4 elements */
        if (!strncmp(c->type, "InstanceNorm", 12)) { /* batch statistics: spatial > 1 */
            bool one = true;
            for (int i = in->nd == c->b ? 2 : 1; i < in->nd; i++)
                one = one && in->d[i] == 1;
            if (one)
                return false;
        }
        if (!strcmp(c->type, "GroupNorm")) {
            bool one = (__int128)in->d[0] * in->d[1] / 2 == 1;
            for (int i = 2; i < in->nd; i++)
                one = one && in->d[i] == 1;
            if (one || in->d[1] != 4)
                return false;
        }
        for (int i = 0; i < in->nd; i++)
            d[nd++] = in->d[i];
        break;
    }
    case CONV: {
        int cd = in->nd - c->a - 1; /* the channel dim */
        if ((in->nd != c->a + 1 && in->nd != c->a + 2) || in->d[cd] != 4)
            return false;
        for (int i = 0; i < in->nd; i++)
            d[nd++] = i > cd && c->b ? 2 * (__int128)in->d[i] + 1 : in->d[i];
        d[cd] = 3;
        break;
    }
    case FLATTEN: {
        int s = c->a < 0 ? c->a + in->nd : c->a, e = c->b < 0 ? c->b + in->nd : c->b;
        if (s < 0 || e < 0 || s >= in->nd || e >= in->nd || s > e)
            return false;
        for (int i = 0; i < in->nd; i++) {
            if (i <= s || i > e) {
                d[nd++] = in->d[i];
            } else {
                d[nd - 1] *= in->d[i];
                if (d[nd - 1] > INT64_MAX)
                    return false;
            }
        }
        break;
    }
    case ANY: { /* the layer's own shape, when it has one and a tensor can hold it */
        shape got;
        if (lam_module_output_shape(m_any, in->nd, in->d, &got.nd, got.d) != LAM_OK)
            return false;
        for (int i = 0; i < got.nd; i++)
            d[nd++] = got.d[i];
        break;
    }
    }
    out->nd = nd;
    return fits(nd, d, out->d);
}

/* Set a parameter of m (a state_dict key) to the given values. */
static void set_param(lam_module *m, const char *key, size_t n, const float *v)
{
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK);
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert_not_null(t, "no parameter %s", key);
    cr_assert_eq(lam_tensor_numel(t), (int64_t)n);
    memcpy(lam_tensor_data(t), v, n * sizeof *v);
    lam_state_dict_free(sd);
}

/* Linear(0, n) gives its bias for any input with a zero last dim: one value
 * for all n outputs, so that one fill checks them all (reset_parameters
 * leaves it 0 when there are no inputs, which would prove little). */
static float linear0_fill(lam_module *m, int n)
{
    float *b = malloc(sizeof(float) * (size_t)n);
    cr_assert_not_null(b);
    for (int i = 0; i < n; i++)
        b[i] = 0.75f;
    set_param(m, "bias", (size_t)n, b);
    free(b);
    return 0.75f;
}

static void run_layer(const layer_case *c, const shape *in, int threads)
{
    lam_set_num_threads(threads);
    lam_module *m = NULL;
    cr_assert_eq(c->create(&m), LAM_OK, "%s: %s", c->label, lam_last_error());
    lam_module_eval(m);
    float fill = c->kind == LINEAR && c->a == 0 ? linear0_fill(m, c->b) : 0.0f;
    shape want;
    m_any = m;
    bool ok = layer_output(c, in, &want);
    char what[256];
    lam_tensor *x = make(in->nd, in->d);
    if (c->kind == ANY && c->a == 1) { /* token ids */
        lam_tensor_release(x);
        cr_assert_eq(lam_tensor_create_dtype(&x, LAM_INT64, in->nd, in->d), LAM_OK, "%s",
                     lam_last_error());
    }

    /* the output shape, as a module reports it */
    shape got;
    lam_clear_error();
    lam_status st = lam_module_output_shape(m, in->nd, in->d, &got.nd, got.d);
    snprintf(what, sizeof what, "%s output_shape %s", c->label, str(in->nd, in->d));
    if (ok) {
        cr_expect_eq(st, LAM_OK, "%s: %s", what, lam_last_error());
        if (st == LAM_OK)
            cr_expect(got.nd == want.nd &&
                          memcmp(got.d, want.d, sizeof(int64_t) * (size_t)got.nd) == 0,
                      "%s: %s, expected %s", what, str(got.nd, got.d), str(want.nd, want.d));
    }

    /* forward */
    lam_tensor *y = NULL;
    lam_clear_error();
    st = lam_module_forward(m, x, &y);
    snprintf(what, sizeof what, "%s forward %s (%d threads)", c->label, str(in->nd, in->d),
             threads);
    check(what, st, y, ok ? &want : NULL, fill);
    lam_tensor_release(y);

    /* a plan of it, run */
    lam_plan *p = NULL;
    lam_clear_error();
    st = lam_plan_create(&p, m, in->nd, in->d);
    snprintf(what, sizeof what, "%s plan %s (%d threads)", c->label, str(in->nd, in->d), threads);
    if (!ok) {
        if (st == LAM_OK) { /* a plan may be made; running it must fail then */
            int nd;
            int64_t d[LAM_MAX_DIMS];
            cr_expect_neq(lam_plan_output_shape(p, &nd, d), LAM_OK, "%s: gives shape %s", what,
                          str(nd, d));
        }
    } else {
        cr_assert_eq(st, LAM_OK, "%s: %s", what, lam_last_error());
        y = make(want.nd, want.d);
        st = lam_plan_run(p, x, y);
        check(what, st, y, &want, fill);
        lam_tensor_release(y);
    }
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_module_release(m);
    lam_set_num_threads(0);
}

Test(zero_size, every_builtin_layer)
{
    for (size_t i = 0; i < N_LAYERS; i++)
        for (size_t j = 0; j < N_INPUTS; j++)
            for (int threads = 1; threads <= 2; threads++)
                run_layer(&LAYERS[i], &INPUTS[j], threads);
}

/* Linear(0, n) on inputs with a zero last dim and some rows: the bias; an
 * output too large for a tensor: a clean error. */
Test(zero_size, linear_without_inputs_gives_the_bias)
{
    static const shape in[] = {{2, {5, 0}}, {3, {16, 3, 0}}, {4, {2, 0, H, 0}}, {1, {0}}};
    for (size_t j = 0; j < sizeof in / sizeof in[0]; j++)
        for (int threads = 1; threads <= 2; threads++)
            run_layer(&LAYERS[1], &in[j], threads);
    static const layer_case wide = {"Linear", "Linear(0, 2^20)", linear0_wide, LINEAR, 0, 1 << 20};
    static const shape big[] = {{3, {INT64_C(1) << 30, INT64_C(1) << 30, 0}}, {3, {0, H, 0}}};
    for (size_t j = 0; j < sizeof big / sizeof big[0]; j++)
        run_layer(&wide, &big[j], 1);
}

/* Every registered layer type but the containers has a case above. */
Test(zero_size, covers_every_builtin_layer)
{
    for (size_t i = 0; lam_layer_type_name(i); i++) {
        const char *name = lam_layer_type_name(i);
        if (!strcmp(name, "Sequential") || !strcmp(name, "ModuleList"))
            continue;
        bool have = false;
        for (size_t j = 0; j < N_LAYERS && !have; j++)
            have = !strcmp(LAYERS[j].type, name);
        cr_expect(have, "layer type %s has no case in tests/test_zero_size.c", name);
    }
}

/* ---- Sequentials, through forward and through plans ---- */

static lam_module *sequential(size_t n, lam_status (*const *create)(lam_module **))
{
    lam_module *mods[8], *s = NULL;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(create[i](&mods[i]), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(lam_sequential_create(&s, n, mods), LAM_OK, "%s", lam_last_error());
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
    lam_module_eval(s);
    return s;
}

static lam_status linear48(lam_module **m) { return lam_linear_create(m, 4, 8, true); }
static lam_status linear82(lam_module **m) { return lam_linear_create(m, 8, 2, true); }
static lam_status linear08(lam_module **m) { return lam_linear_create(m, 0, 8, true); }
static lam_status layer_norm2(lam_module **m)
{
    const int64_t ns[1] = {2};
    return lam_layer_norm_create(m, 1, ns, 1e-5, true);
}

/* Forward and plan agree: both fail, or both give `want` filled with `fill`. */
static void run_model(const char *label, lam_module *s, const shape *in, const shape *want,
                      float fill)
{
    for (int threads = 1; threads <= 2; threads++) {
        lam_set_num_threads(threads);
        char what[256];
        lam_tensor *x = make(in->nd, in->d), *y = NULL;
        lam_clear_error();
        lam_status st = lam_module_forward(s, x, &y);
        snprintf(what, sizeof what, "%s forward %s (%d threads)", label, str(in->nd, in->d),
                 threads);
        check(what, st, y, want, fill);
        lam_tensor_release(y);
        y = NULL;

        lam_plan *p = NULL;
        lam_clear_error();
        st = lam_plan_create(&p, s, in->nd, in->d);
        snprintf(what, sizeof what, "%s plan %s (%d threads)", label, str(in->nd, in->d), threads);
        if (want) {
            cr_assert_eq(st, LAM_OK, "%s: %s", what, lam_last_error());
            y = make(want->nd, want->d);
            st = lam_plan_run(p, x, y);
            check(what, st, y, want, fill);
            lam_tensor_release(y);
        } else {
            check(what, st, NULL, NULL, 0.0f);
        }
        lam_plan_free(p);
        lam_tensor_release(x);
    }
    lam_set_num_threads(0);
}

Test(zero_size, sequential)
{
    static lam_status (*const mlp[])(lam_module **) = {
        linear48, relu, linear82, softmax_last, layer_norm2, gelu, dropout, tanh_,
    };
    lam_module *s = sequential(8, mlp);
    run_model("MLP", s, SHAPE(0, H, 4), SHAPE(0, H, 2), 0.0f);
    run_model("MLP", s, SHAPE(0, H, H, 4), SHAPE(0, H, H, 2), 0.0f);
    run_model("MLP", s, SHAPE(3, 0, H, 4), SHAPE(3, 0, H, 2), 0.0f);
    run_model("MLP", s, SHAPE(0, 4, H, 4), SHAPE(0, 4, H, 2), 0.0f);
    run_model("MLP", s, SHAPE(0, H, H), NULL, 0.0f); /* 4 features expected */
    lam_module_release(s);

    /* ending in a Flatten whose output does not fit */
    static lam_status (*const flat[])(lam_module **) = {linear48, relu, linear82, flatten};
    s = sequential(4, flat);
    run_model("MLP+Flatten", s, SHAPE(0, H, 4), NULL, 0.0f);     /* [0, 2^63] */
    run_model("MLP+Flatten", s, SHAPE(0, H, H, 4), NULL, 0.0f);  /* [0, 2^125] */
    run_model("MLP+Flatten", s, SHAPE(3, 0, H, 4), SHAPE(3, 0), 0.0f);
    run_model("MLP+Flatten", s, SHAPE(0, 2, H / 4, 4), SHAPE(0, H), 0.0f);
    lam_module_release(s);

    /* steps that are not rowwise (dim 0 merged, softmax over dim 0) */
    static lam_status (*const cols[])(lam_module **) = {flatten01, softmax0, sigmoid};
    s = sequential(3, cols);
    run_model("Flatten(0,1)+Softmax(0)", s, SHAPE(0, H, H), SHAPE(0, H), 0.0f);
    run_model("Flatten(0,1)+Softmax(0)", s, SHAPE(0, H, H, 4), SHAPE(0, H, 4), 0.0f);
    run_model("Flatten(0,1)+Softmax(0)", s, SHAPE(2, 0, H, H), SHAPE(0, H, H), 0.0f);
    lam_module_release(s);
}

/* Linear(0, 8)-ReLU-Linear(8, 2): the first layer gives its bias, the rest
 * computes on it (the two Linears may run as one kernel). */
Test(zero_size, sequential_without_inputs)
{
    static lam_status (*const mlp[])(lam_module **) = {linear08, relu, linear82};
    lam_module *s = sequential(3, mlp);
    /* W2 relu(b1) + b2 = 0.25 * (0.5 + 1 + 2) + b2: 1.125 for both outputs */
    static const float b1[8] = {0.5f, -1, 1, -2, 2, -0.5f, 0, -4};
    static const float b2[2] = {0.25f, -0.625f};
    float w2[16];
    for (int k = 0; k < 8; k++)
        w2[k] = 0.25f, w2[8 + k] = 0.5f;
    set_param(s, "0.bias", 8, b1);
    set_param(s, "2.weight", 16, w2);
    set_param(s, "2.bias", 2, b2);
    const double want = 1.125;

    static const shape in[] = {{2, {64, 0}}, {3, {16, 3, 0}}, {2, {5, 0}}};
    for (size_t j = 0; j < sizeof in / sizeof in[0]; j++) {
        shape out = in[j];
        out.d[out.nd - 1] = 2;
        for (int threads = 1; threads <= 2; threads++) {
            lam_set_num_threads(threads);
            lam_tensor *x = make(in[j].nd, in[j].d), *y = NULL;
            for (int pass = 0; pass < 2; pass++) { /* forward, then a plan */
                lam_plan *p = NULL;
                lam_status st;
                if (pass == 0) {
                    st = lam_module_forward(s, x, &y);
                } else {
                    cr_assert_eq(lam_plan_create(&p, s, in[j].nd, in[j].d), LAM_OK, "%s",
                                 lam_last_error());
                    y = make(out.nd, out.d);
                    st = lam_plan_run(p, x, y);
                }
                cr_assert_eq(st, LAM_OK, "%s: %s", str(in[j].nd, in[j].d), lam_last_error());
                cr_assert(lam_tensor_ndim(y) == out.nd &&
                              !memcmp(lam_tensor_shape(y), out.d, sizeof(int64_t) * (size_t)out.nd),
                          "%s: output shape %s", str(in[j].nd, in[j].d),
                          str(lam_tensor_ndim(y), lam_tensor_shape(y)));
                const float *v = lam_tensor_cdata(y);
                for (int64_t i = 0; i < lam_tensor_numel(y); i++)
                    cr_assert(fabs((double)v[i] - want) <= 1e-5 * (1 + fabs(want)),
                              "%s pass %d (%d threads): y[%lld] = %.9g, expected %.9g",
                              str(in[j].nd, in[j].d), pass, threads, (long long)i, v[i], want);
                lam_tensor_release(y);
                y = NULL;
                lam_plan_free(p);
            }
            lam_tensor_release(x);
        }
    }
    lam_set_num_threads(0);
    lam_module_release(s);
}

/* A plan for a shape whose activation buffers would pass SIZE_MAX: a clean
 * error (no tensor of the shape can exist, but a plan can be asked for). */
Test(zero_size, plan_too_large_for_memory)
{
    static lam_status (*const two[])(lam_module **) = {relu, sigmoid};
    lam_module *s = sequential(2, two);
    lam_plan *p = NULL;
    for (int threads = 1; threads <= 2; threads++) {
        lam_set_num_threads(threads);
        lam_clear_error();
        lam_status st = lam_plan_create(&p, s, 2, (int64_t[]){1, INT64_C(1) << 60});
        check("plan [1, 2^60]", st, NULL, NULL, 0.0f);
        cr_expect_null(p);
    }
    lam_set_num_threads(0);
    lam_module_release(s);
}

/* lam_tensor_reshape and lam_tensor_str of an empty tensor with huge dims. */
Test(zero_size, tensor_reshape_and_str)
{
    lam_tensor *a = MAKE(0, H, H), *v = NULL;
    char *text = lam_tensor_str(a);
    cr_expect_not_null(text, "%s", lam_last_error());
    lam_free(text);
    cr_expect_eq(lam_tensor_reshape(&v, a, 2, (int64_t[]){0, H}), LAM_OK, "%s", lam_last_error());
    check("reshape [0, H]", LAM_OK, v, SHAPE(0, H), 0);
    lam_tensor_release(v);
    v = NULL;
    cr_expect_eq(lam_tensor_reshape(&v, a, 4, (int64_t[]){H, 0, H, H}), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(v);
    cr_expect_eq(lam_tensor_reshape(&v, a, 3, (int64_t[]){H, H, 4}), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(v);
    lam_tensor_release(a);
}

/* ---- the tensor ops ---- */

Test(zero_size, elementwise_ops)
{
    lam_tensor *a = MAKE(0, H, H), *b = MAKE(0, 1, H), *one = MAKE(1), *c = MAKE(3, 0, H, 4);
    lam_tensor_data(one)[0] = 2.0f;
    OP(lam_tensor_add(&y, a, a), SHAPE(0, H, H), 0);
    OP(lam_tensor_sub(&y, a, b), SHAPE(0, H, H), 0);
    OP(lam_tensor_mul(&y, b, a), SHAPE(0, H, H), 0);
    OP(lam_tensor_div(&y, a, one), SHAPE(0, H, H), 0);
    OP(lam_tensor_add(&y, one, c), SHAPE(3, 0, H, 4), 0);
    OP(lam_tensor_add(&y, a, c), NULL, 0); /* H vs 4 */
    OP(lam_tensor_add_scalar(&y, a, 1.0), SHAPE(0, H, H), 0);
    OP(lam_tensor_rdiv_scalar(&y, c, 1.0), SHAPE(3, 0, H, 4), 0);
    OP(lam_tensor_sigmoid(&y, a), SHAPE(0, H, H), 0);
    OP(lam_tensor_gelu(&y, c, "tanh"), SHAPE(3, 0, H, 4), 0);
    for (int d = -3; d < 3; d++) {
        OP(lam_tensor_softmax(&y, a, d), SHAPE(0, H, H), 0);
        OP(lam_tensor_log_softmax(&y, a, d), SHAPE(0, H, H), 0);
    }
    for (int d = 0; d < 4; d++)
        OP(lam_tensor_softmax(&y, c, d), SHAPE(3, 0, H, 4), 0);
    /* into a given output, and in place */
    lam_tensor *y = MAKE(0, H, H);
    cr_expect_eq(lam_tensor_add(&y, a, b), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(lam_tensor_softmax(&y, y, 0), LAM_OK, "%s", lam_last_error());
    lam_tensor_release(y);
    lam_tensor_release(a);
    lam_tensor_release(b);
    lam_tensor_release(one);
    lam_tensor_release(c);
}

Test(zero_size, matmul_and_linear)
{
    lam_tensor *a = MAKE(0, H, 4), *w = MAKE(3, 4), *bias = MAKE(3), *v = MAKE(4);
    OP(lam_tensor_matmul(&y, a, w), NULL, 0); /* [4] x [3, 4]: 4 vs 3 */
    lam_tensor *wt = MAKE(4, 3);
    OP(lam_tensor_matmul(&y, a, wt), SHAPE(0, H, 3), 0);
    OP(lam_tensor_matmul(&y, a, v), SHAPE(0, H), 0);
    lam_tensor *bb = MAKE(0, H, 4, 3);
    OP(lam_tensor_matmul(&y, v, bb), SHAPE(0, H, 3), 0);
    OP(lam_tensor_matmul(&y, w, bb), SHAPE(0, H, 3, 3), 0);
    lam_tensor *a4 = MAKE(0, H, 2, 4);
    OP(lam_tensor_matmul(&y, a4, bb), SHAPE(0, H, 2, 3), 0);
    lam_tensor *one_b = MAKE(1, 4, 3);
    OP(lam_tensor_matmul(&y, a4, one_b), SHAPE(0, H, 2, 3), 0);
    /* batch dims that broadcast to a shape too large: a clean error */
    lam_tensor *p = MAKE(INT64_C(1) << 40, 1, 0, 4), *q = MAKE(1, INT64_C(1) << 40, 4, 0);
    OP(lam_tensor_matmul(&y, p, q), NULL, 0);
    lam_tensor *bad = MAKE(1, INT64_C(1) << 40, 5, 0); /* K mismatch, same batch */
    OP(lam_tensor_matmul(&y, p, bad), NULL, 0);
    lam_tensor *tall = MAKE(INT64_C(1) << 40, 0, INT64_C(1) << 40);
    OP(lam_tensor_matmul(&y, w, tall), NULL, 0); /* [3, 4] x [.., 0, 2^40]: 4 vs 0 */
    OP(lam_tensor_matmul(&y, v, tall), NULL, 0);
    /* K = 0: zeros */
    lam_tensor *k0a = MAKE(2, 3, 0), *k0b = MAKE(0, 5);
    OP(lam_tensor_matmul(&y, k0a, k0b), SHAPE(2, 3, 5), 0);

    OP(lam_tensor_linear(&y, a, w, bias), SHAPE(0, H, 3), 0);
    OP(lam_tensor_linear(&y, a, w, NULL), SHAPE(0, H, 3), 0);
    lam_tensor *x0 = MAKE(5, 0), *w0 = MAKE(3, 0);
    for (int i = 0; i < 3; i++)
        lam_tensor_data(bias)[i] = 0.5f;
    OP(lam_tensor_linear(&y, x0, w0, bias), SHAPE(5, 3), 0.5f);
    lam_tensor *x1 = MAKE(2, 0, H, 0);
    OP(lam_tensor_linear(&y, x1, w0, bias), SHAPE(2, 0, H, 3), 0);

    lam_tensor *all[] = {a, w, bias, v, wt, bb, a4, one_b, p, q, bad, tall, k0a, k0b, x0, w0, x1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lam_tensor_release(all[i]);
}

Test(zero_size, shape_ops)
{
    lam_tensor *a = MAKE(0, H, H), *h = MAKE(0, H), *c = MAKE(3, 0, H, 4);
    /* cat: sizes that add up past int64 are refused */
    const lam_tensor *hh[2] = {h, h}, *aa[2] = {a, a};
    OP(lam_tensor_cat(&y, 2, hh, 0), SHAPE(0, H), 0);
    OP(lam_tensor_cat(&y, 2, hh, 1), NULL, 0);
    OP(lam_tensor_cat(&y, 2, aa, 0), SHAPE(0, H, H), 0);
    OP(lam_tensor_cat(&y, 2, aa, 2), NULL, 0);
    lam_tensor *half = MAKE(0, H / 2, H);
    const lam_tensor *halves[2] = {half, half};
    OP(lam_tensor_cat(&y, 2, halves, 1), SHAPE(0, H, H), 0);

    /* views */
    OP(lam_tensor_view(&y, a, 3, (int64_t[]){0, H, H}), SHAPE(0, H, H), 0);
    OP(lam_tensor_view(&y, a, 3, (int64_t[]){H, H, 0}), NULL, 0);
    OP(lam_tensor_view(&y, a, 3, (int64_t[]){H, H, 4}), NULL, 0); /* 2^126 elements */
    OP(lam_tensor_view(&y, a, 2, (int64_t[]){H, -1}), NULL, 0);
    OP(lam_tensor_view(&y, a, 3, (int64_t[]){INT64_C(1) << 30, 0, H}),
       SHAPE(INT64_C(1) << 30, 0, H), 0);
    OP(lam_tensor_flatten(&y, a, 1, 2), NULL, 0);
    OP(lam_tensor_flatten(&y, a, 0, 1), SHAPE(0, H), 0);
    OP(lam_tensor_flatten(&y, a, 0, -1), SHAPE(0), 0);
    OP(lam_tensor_flatten(&y, c, 2, 3), NULL, 0);
    OP(lam_tensor_flatten(&y, c, 0, 2), SHAPE(0, 4), 0);
    OP(lam_tensor_narrow(&y, a, 2, 1, H - 1), SHAPE(0, H, H - 1), 0);
    OP(lam_tensor_narrow(&y, a, 1, H / 2, H / 2), SHAPE(0, H / 2, H), 0);
    OP(lam_tensor_narrow(&y, c, 2, 1, H - 2), SHAPE(3, 0, H - 2, 4), 0);
    OP(lam_tensor_narrow(&y, c, 3, 1, 2), SHAPE(3, 0, H, 2), 0);

    /* split and chunk */
    lam_tensor *o[4] = {NULL};
    size_t n = 0;
    cr_expect_eq(lam_tensor_split(o, 4, &n, a, H / 2, 1), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(n, 2);
    check("split(a, 2^61, 1)[1]", LAM_OK, o[1], SHAPE(0, H / 2, H), 0);
    for (size_t i = 0; i < n; i++)
        lam_tensor_release(o[i]), o[i] = NULL;
    cr_expect_eq(lam_tensor_split(o, 4, &n, a, INT64_MAX, 2), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(n, 1);
    check("split(a, INT64_MAX, 2)[0]", LAM_OK, o[0], SHAPE(0, H, H), 0);
    lam_tensor_release(o[0]), o[0] = NULL;
    cr_expect_eq(lam_tensor_split(o, 4, &n, c, INT64_MAX - 1, 2), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(n, 1);
    lam_tensor_release(o[0]), o[0] = NULL;
    cr_expect_eq(lam_tensor_split(o, 4, &n, c, 3, 3), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(n, 2);
    check("split(c, 3, 3)[1]", LAM_OK, o[1], SHAPE(3, 0, H, 1), 0);
    for (size_t i = 0; i < n; i++)
        lam_tensor_release(o[i]), o[i] = NULL;
    cr_expect_eq(lam_tensor_split_sizes(o, a, 2, (int64_t[]){H - 1, 1}, 2), LAM_OK, "%s",
                 lam_last_error());
    check("split_sizes(a, [2^62-1, 1], 2)[0]", LAM_OK, o[0], SHAPE(0, H, H - 1), 0);
    for (size_t i = 0; i < 2; i++)
        lam_tensor_release(o[i]), o[i] = NULL;
    lam_clear_error();
    cr_expect_neq(lam_tensor_split_sizes(o, a, 3, (int64_t[]){INT64_MAX, INT64_MAX, 2}, 2), LAM_OK);
    cr_expect(lam_last_error()[0] != '\0');
    cr_expect_null(o[0]);
    cr_expect_eq(lam_tensor_chunk(o, &n, a, 3, 2), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(n, 3);
    check("chunk(a, 3, 2)[2]", LAM_OK, o[2], SHAPE(0, H, H - 2 * ((H + 2) / 3)), 0);
    for (size_t i = 0; i < n; i++)
        lam_tensor_release(o[i]), o[i] = NULL;
    cr_expect_eq(lam_tensor_chunk(o, &n, c, 4, 3), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(n, 4);
    for (size_t i = 0; i < n; i++)
        lam_tensor_release(o[i]), o[i] = NULL;

    /* transpose and permute: a clean error where the result is too large */
    OP(lam_tensor_transpose(&y, a, 1, 2), SHAPE(0, H, H), 0);
    OP(lam_tensor_transpose(&y, a, 0, 1), NULL, 0);
    OP(lam_tensor_transpose(&y, c, 2, 3), SHAPE(3, 0, 4, H), 0);
    OP(lam_tensor_permute(&y, a, 3, (int[]){0, 2, 1}), SHAPE(0, H, H), 0);
    OP(lam_tensor_permute(&y, a, 3, (int[]){2, 1, 0}), NULL, 0);
    OP(lam_tensor_permute(&y, c, 4, (int[]){1, 3, 0, 2}), SHAPE(0, 4, 3, H), 0);
    OP(lam_tensor_contiguous(&y, a), SHAPE(0, H, H), 0);

    lam_tensor_release(a);
    lam_tensor_release(h);
    lam_tensor_release(c);
    lam_tensor_release(half);
}

Test(zero_size, reductions)
{
    lam_tensor *a = MAKE(0, H, H), *c = MAKE(3, 0, H, 4);
    OP(lam_tensor_sum(&y, a, 0, NULL, false), SHAPE(1), 0);
    OP(lam_tensor_mean(&y, a, 0, NULL, false), SHAPE(1), NAN);
    OP(lam_tensor_sum(&y, a, 0, NULL, true), SHAPE(1, 1, 1), 0);
    OP(lam_tensor_sum(&y, a, 2, ((int[]){1, 2}), false), SHAPE(0), 0);
    OP(lam_tensor_sum(&y, a, 1, ((int[]){2}), true), SHAPE(0, H, 1), 0);
    OP(lam_tensor_sum(&y, a, 1, ((int[]){0}), false), NULL, 0); /* [2^62, 2^62] */
    OP(lam_tensor_sum(&y, c, 2, ((int[]){1, 2}), false), SHAPE(3, 4), 0);
    OP(lam_tensor_mean(&y, c, 2, ((int[]){1, 2}), false), SHAPE(3, 4), NAN);
    OP(lam_tensor_mean(&y, c, 2, ((int[]){2, 1}), true), SHAPE(3, 1, 1, 4), NAN);
    OP(lam_tensor_sum(&y, c, 1, ((int[]){1}), false), NULL, 0); /* [3, 2^62, 4] */
    OP(lam_tensor_sum(&y, c, 1, ((int[]){3}), false), SHAPE(3, 0, H), 0);
    OP(lam_tensor_mean(&y, c, 1, ((int[]){0}), false), SHAPE(0, H, 4), 0);
    lam_tensor_release(a);
    lam_tensor_release(c);
}
