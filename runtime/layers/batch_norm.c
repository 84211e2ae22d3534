/* BatchNorm1d, BatchNorm2d, InstanceNorm1d, InstanceNorm2d: PyTorch 1.13's
 * _NormBase (torch/nn/modules/batchnorm.py, instancenorm.py) and the CPU
 * kernels of aten/src/ATen/native (Normalization.cpp, batch_norm_kernel.cpp).
 *
 * Parameters weight (ones) and bias (zeros) when affine; buffers
 * running_mean (zeros), running_var (ones) and num_batches_tracked (an
 * int64 0, shape [1] for PyTorch's 0-dim) when track_running_stats.
 *
 * Normalising uses PyTorch's order: per channel invstd = 1 / sqrt(var + eps),
 * alpha = invstd * weight, beta = bias - mean * alpha, then y = x * alpha +
 * beta, all in float32, the last two as fused multiply-adds: PyTorch's CPU
 * kernel (batch_norm_kernel.cpp, built with -mavx2 -mfma) has the compiler
 * contract both into FMAs, and fmaf() gives the same single rounding on
 * every machine (in eval, the kernel table's `affine` entry: one fused
 * multiply-add per element on every table).  With the running statistics
 * (eval) that is PyTorch's float32 output bit for bit (tests/test_norms.c checks it against PyTorch's
 * own float32 outputs).  Batch statistics (training,
 * or track_running_stats=False) are summed in float64, by the kernel table's
 * `moments` in a fixed order, the same bits on every table (PyTorch sums the mean
 * in float64 and the squares of float32 differences), so they may differ
 * from PyTorch's in the last float32 bit.
 *
 * Training mode updates the running statistics as _BatchNorm.forward and
 * at::batch_norm do: num_batches_tracked += 1; factor = momentum, or 1 /
 * num_batches_tracked when momentum is None (a cumulative average); running
 * = factor * batch + (1 - factor) * running, with the unbiased variance.
 * InstanceNorm updates them (when tracking) with the mean over the batch of
 * each sample's update, and leaves num_batches_tracked alone, as PyTorch.
 * A training forward writes the module's buffers: like any change to a
 * module it must not overlap another use of it (<lamina/module.h>). */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { BN1D, BN2D, IN1D, IN2D };

static const char *const type_names[] = {"BatchNorm1d", "BatchNorm2d", "InstanceNorm1d",
                                         "InstanceNorm2d"};

typedef struct norm_state {
    unsigned int_args; /* first member: lam__norm_set_int_args */
    int kind;
    int64_t num_features;
    double eps, momentum;
    bool momentum_none, affine, track;
} norm_state;

/* Parameter positions: weight, bias when affine; then the buffers. */
static lam_tensor *param(const lam_module *m, size_t i) { return m->params[i].tensor; }
static size_t buf0(const norm_state *s) { return s->affine ? 2 : 0; }

static bool is_instance(const norm_state *s) { return s->kind == IN1D || s->kind == IN2D; }

/* Whether this forward normalises with batch statistics (bn_training /
 * use_input_stats in PyTorch). */
static bool batch_stats(const lam_module *m)
{
    const norm_state *s = m->state;
    return m->training || !s->track;
}

/* "torch.Size([1, 3])" */
static void torch_size(char *buf, size_t size, int ndim, const int64_t *shape, bool prepend1)
{
    size_t o = (size_t)snprintf(buf, size, "torch.Size([%s", prepend1 ? "1" : "");
    for (int i = 0; i < ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, i || prepend1 ? ", %" PRId64 : "%" PRId64, shape[i]);
    if (o < size)
        snprintf(buf + o, size - o, "])");
}

static lam_status norm_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                             int64_t *out)
{
    const norm_state *s = m->state;
    static const int lo[] = {2, 4, 2, 3}, hi[] = {3, 4, 3, 4};
    if (ndim < lo[s->kind] || ndim > hi[s->kind]) {
        if (lo[s->kind] == hi[s->kind])
            return lam__error(LAM_ERR_SHAPE, "expected %dD input (got %dD input)", lo[s->kind], ndim);
        return lam__error(LAM_ERR_SHAPE, "expected %dD or %dD input (got %dD input)", lo[s->kind],
                          hi[s->kind], ndim);
    }
    char sz[160];
    if (!is_instance(s)) {
        bool one = in[0] == 1; /* size[0] * prod(size[2:]) == 1: all are 1 */
        for (int i = 2; i < ndim; i++)
            one = one && in[i] == 1;
        if (batch_stats(m) && one) {
            torch_size(sz, sizeof sz, ndim, in, false);
            return lam__error(LAM_ERR_SHAPE,
                              "Expected more than 1 value per channel when training, got input "
                              "size %s", sz);
        }
        /* at::batch_norm checks running_mean (passed when tracking), then
         * weight: "<what> should contain <input channels> elements not <ours>" */
        if ((s->track || s->affine) && in[1] != s->num_features)
            return lam__error(LAM_ERR_SHAPE, "%s should contain %" PRId64 " elements not %" PRId64,
                              s->track ? "running_mean" : "weight", in[1], s->num_features);
    } else {
        bool batched = ndim == hi[s->kind];
        bool one = true;
        for (int i = batched ? 2 : 1; i < ndim; i++)
            one = one && in[i] == 1;
        if (batch_stats(m) && one) {
            torch_size(sz, sizeof sz, ndim, in, !batched);
            return lam__error(LAM_ERR_SHAPE,
                              "Expected more than 1 spatial element when training, got input "
                              "size %s", sz);
        }
        if (s->momentum_none) /* F.instance_norm passes it to a float argument */
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "instance_norm(): argument 'momentum' "
                              "(position 7) must be float, not NoneType");
        /* at::instance_norm runs batch_norm on (1, N*C, ...) with the
         * statistics and the affine parameters repeated N times */
        int64_t n = batched ? in[0] : 1, c = in[batched ? 1 : 0];
        int64_t want, have;
        if ((s->track || s->affine) && c != s->num_features && n != 0) { /* n * c elements */
            if (__builtin_mul_overflow(n, c, &want) || __builtin_mul_overflow(n, s->num_features, &have))
                return lam__error(LAM_ERR_SHAPE, "%s should contain %" PRId64 " x %" PRId64
                                  " elements not %" PRId64 " x %" PRId64,
                                  s->track ? "running_mean" : "weight", n, c, n, s->num_features);
            return lam__error(LAM_ERR_SHAPE, "%s should contain %" PRId64 " elements not %" PRId64,
                              s->track ? "running_mean" : "weight", want, have);
        }
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

/* y = x * alpha + beta over n values, one rounding, as PyTorch's kernel
 * (the kernel table's affine: fmaf(x, alpha, beta)) */
static void affine_apply(const float *x, float *y, int64_t n, float alpha, float beta)
{
    lam__kernels()->affine((size_t)n, x, y, alpha, beta);
}

/* alpha and beta of one channel from its mean and invstd */
static void terms(const lam_module *m, int64_t c, float mean, float invstd, float *alpha,
                  float *beta)
{
    const norm_state *s = m->state;
    float w = s->affine ? param(m, 0)->data[c] : 1.0f;
    float b = s->affine ? param(m, 1)->data[c] : 0.0f;
    *alpha = invstd * w;
    *beta = fmaf(-mean, *alpha, b);
}

/* Batch statistics of the values x[n * stride + i], n < rows, i < len:
 * the float32 mean, the float64 sum of squared deviations. */
static void moments(const float *x, int64_t rows, int64_t stride, int64_t len, float *mean,
                    double *var_sum)
{
    /* each row's float64 sums by the kernel table (a fixed order: the same
     * bits on every table), the rows added in order */
    const lam__kernel_table *k = lam__kernels();
    double sum = 0.0, m[2];
    for (int64_t n = 0; n < rows; n++) {
        k->moments((size_t)len, x + n * stride, 0.0, m);
        sum += m[0];
    }
    int64_t cnt = rows * len;
    float mf = (float)(sum / (double)cnt);
    double vs = 0.0;
    for (int64_t n = 0; n < rows; n++) {
        k->moments((size_t)len, x + n * stride, (double)mf, m);
        vs += m[1];
    }
    *mean = mf;
    *var_sum = vs;
}

/* As at::batch_norm: the sum of squares is kept as a float32, divided in
 * float32, and the inverse standard deviation taken in float64. */
static float invstd_of(double var_sum, int64_t cnt, double eps)
{
    float var = (float)var_sum / (float)cnt;
    return (float)(1.0 / sqrt((double)var + eps));
}

static double unbiased(double var_sum, int64_t cnt)
{
    return (double)((float)var_sum / (float)(cnt - 1));
}

/* factor * batch + (1 - factor) * running, in float64 as at::batch_norm */
static float update(float running, double batch, double factor)
{
    return (float)(factor * batch + (1.0 - factor) * (double)running);
}

static lam_status norm_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const norm_state *s = m->state;
    bool inst = is_instance(s);
    bool batched = !inst || in->ndim == (s->kind == IN1D ? 3 : 4);
    bool stats = batch_stats(m), update_running = m->training && s->track;
    double factor = s->momentum;
    if (update_running && !inst) {
        lam_tensor *nbt = param(m, buf0(s) + 2);
        int64_t count = (int64_t)((uint64_t)lam__tensor_int_at(nbt, 0) + 1); /* wraps as int64 */
        lam__tensor_int_set(nbt, 0, count);
        if (s->momentum_none)
            factor = 1.0 / (double)count;
    }
    if (in->numel == 0) /* (N * C may not even fit then) */
        return LAM_OK;
    int64_t N = batched ? in->shape[0] : 1, C = in->shape[batched ? 1 : 0];
    int64_t S = in->numel / (N * C);
    const float *x = in->data;
    float *y = out->data;
    float *rm = s->track ? param(m, buf0(s))->data : NULL;
    float *rv = s->track ? param(m, buf0(s) + 1)->data : NULL;
    if (update_running) { /* the buffers change: move their versions */
        lam_tensor_mark_modified(param(m, buf0(s)));
        lam_tensor_mark_modified(param(m, buf0(s) + 1));
    }

    if (!stats) { /* eval with running statistics */
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < C; c++) {
                float alpha, beta;
                float invstd = 1.0f / sqrtf(rv[c] + (float)s->eps);
                terms(m, c, rm[c], invstd, &alpha, &beta);
                /* the kernel table's fmaf(x, alpha, beta): affine_apply's bits */
                lam__kernels()->affine((size_t)S, x + (n * C + c) * S, y + (n * C + c) * S,
                                       alpha, beta);
            }
        return LAM_OK;
    }
    if (!inst) {
        int64_t cnt = N * S;
        for (int64_t c = 0; c < C; c++) {
            float mean, alpha, beta;
            double var_sum;
            moments(x + c * S, N, C * S, S, &mean, &var_sum);
            terms(m, c, mean, invstd_of(var_sum, cnt, s->eps), &alpha, &beta);
            for (int64_t n = 0; n < N; n++)
                affine_apply(x + (n * C + c) * S, y + (n * C + c) * S, S, alpha, beta);
            if (update_running) {
                rm[c] = update(rm[c], mean, factor);
                rv[c] = update(rv[c], unbiased(var_sum, cnt), factor);
            }
        }
        return LAM_OK;
    }
    /* instance norm: statistics per sample and channel */
    for (int64_t c = 0; c < C; c++) {
        double rm_acc = 0.0, rv_acc = 0.0;
        for (int64_t n = 0; n < N; n++) {
            float mean, alpha, beta;
            double var_sum;
            const float *xs = x + (n * C + c) * S;
            moments(xs, 1, S, S, &mean, &var_sum);
            terms(m, c, mean, invstd_of(var_sum, S, s->eps), &alpha, &beta);
            affine_apply(xs, y + (n * C + c) * S, S, alpha, beta);
            if (update_running) {
                rm_acc += update(rm[c], mean, factor);
                rv_acc += update(rv[c], unbiased(var_sum, S), factor);
            }
        }
        if (update_running) {
            rm[c] = (float)(rm_acc / (double)N);
            rv[c] = (float)(rv_acc / (double)N);
        }
    }
    return LAM_OK;
}

static int norm_repr(const lam_module *m, char *buf, size_t size)
{
    const norm_state *s = m->state;
    char eps[40], mom[40];
    lam__py_number(s->eps, s->int_args & 1, eps, sizeof eps);
    if (s->momentum_none)
        snprintf(mom, sizeof mom, "None");
    else
        lam__py_number(s->momentum, s->int_args & 2, mom, sizeof mom);
    return snprintf(buf, size, "%" PRId64 ", eps=%s, momentum=%s, affine=%s, track_running_stats=%s",
                    s->num_features, eps, mom, s->affine ? "True" : "False",
                    s->track ? "True" : "False");
}

static void norm_destroy(lam_module *m) { free(m->state); }

/* Rows of dim 0 are independent when nothing is summed over the batch:
 * running statistics (eval), or instance norm when it updates nothing. */
static bool norm_rowwise(const lam_module *m, int ndim)
{
    const norm_state *s = m->state;
    if (is_instance(s))
        return ndim == (s->kind == IN1D ? 3 : 4) && !(m->training && s->track);
    return !batch_stats(m);
}

/* Eval-mode BatchNorm is y = x * scale[c] + shift[c] along dim 1, with
 * scale = weight / sqrt(running_var + eps), shift = bias - running_mean *
 * scale: a plan folds it into the layer before (lam__module_ops).  In
 * double: the folded weights are then rounded once. */
static int bn_channel_affine(const lam_module *m, int ndim, const int64_t *in, double *scale,
                             double *shift)
{
    const norm_state *s = m->state;
    if (is_instance(s) || batch_stats(m) || ndim < 2 || in[1] != s->num_features)
        return -1;
    if (scale && shift) {
        const float *rm = param(m, buf0(s))->data, *rv = param(m, buf0(s) + 1)->data;
        for (int64_t c = 0; c < s->num_features; c++) {
            double w = s->affine ? param(m, 0)->data[c] : 1.0;
            double b = s->affine ? param(m, 1)->data[c] : 0.0;
            scale[c] = w / sqrt((double)rv[c] + s->eps);
            shift[c] = b - (double)rm[c] * scale[c];
        }
    }
    return 1;
}

static const char *const stat_names[] = {"running_mean", "running_var"};

/* _InstanceNorm._load_from_state_dict: without running statistics, a
 * state_dict that has them (from before PyTorch 0.4.0) is an error, strict
 * or not, and its keys are not unexpected. */
static bool in_load_claims(const lam_module *m, const char *name)
{
    const norm_state *s = m->state;
    return !s->track && (!strcmp(name, stat_names[0]) || !strcmp(name, stat_names[1]));
}

static void in_load_error(const lam_module *m, const lam_state_dict *sd, const char *prefix,
                          lam__sb *err)
{
    const norm_state *s = m->state;
    if (s->track)
        return;
    lam__sb names = {0};
    int n = 0;
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(prefix) + strlen(stat_names[i]) + 1;
        char *key = malloc(len);
        if (!key) {
            err->failed = true;
            break;
        }
        snprintf(key, len, "%s%s", prefix, stat_names[i]);
        if (lam_state_dict_get(sd, key))
            lam__sb_printf(&names, n++ ? " and \"%s\"" : "\"%s\"", key);
        free(key);
    }
    const char *k = type_names[s->kind];
    if (names.failed)
        err->failed = true;
    else if (n)
        lam__sb_printf(err,
                       "Unexpected running stats buffer(s) %s for %s with track_running_stats=False. "
                       "If state_dict is a checkpoint saved before 0.4.0, this may be expected "
                       "because %s does not track running stats by default since 0.4.0. Please "
                       "remove these keys from state_dict. If the running stats are actually "
                       "needed, instead set track_running_stats=True in %s to enable them. See the "
                       "documentation of %s for details.",
                       names.buf, k, k, k, k);
    free(names.buf);
}

#define NORM_OPS(var, i, pymod, err, claims, affine)                                               \
    static const lam__module_ops var = {                                                           \
        .type_name = #i,                                                                           \
        .py_module = pymod,                                                                        \
        .output_shape = norm_shape,                                                                \
        .forward_into = norm_forward,                                                              \
        .extra_repr = norm_repr,                                                                   \
        .destroy = norm_destroy,                                                                   \
        .rowwise = norm_rowwise,                                                                   \
        .load_error = err,                                                                         \
        .load_claims = claims,                                                                     \
        .channel_affine = affine,                                                                  \
    }
NORM_OPS(bn1d_ops, BatchNorm1d, "torch.nn.modules.batchnorm", NULL, NULL, bn_channel_affine);
NORM_OPS(bn2d_ops, BatchNorm2d, "torch.nn.modules.batchnorm", NULL, NULL, bn_channel_affine);
NORM_OPS(in1d_ops, InstanceNorm1d, "torch.nn.modules.instancenorm", in_load_error, in_load_claims,
         NULL);
NORM_OPS(in2d_ops, InstanceNorm2d, "torch.nn.modules.instancenorm", in_load_error, in_load_claims,
         NULL);
static const lam__module_ops *const ops_of[] = {&bn1d_ops, &bn2d_ops, &in1d_ops, &in2d_ops};

void lam__norm_set_int_args(lam_module *m, unsigned mask)
{
    *(unsigned *)m->state = mask;
}

/* a [n] tensor filled with v, registered as a parameter or a buffer */
static lam_status add_filled(lam_module *m, const char *name, int64_t n, float v, int what)
{
    lam_tensor *t = NULL;
    lam_status st = what == 2 ? lam__tensor_create_int(&t, 1, &n, 64) : lam_tensor_create(&t, 1, &n);
    if (st)
        return st;
    for (int64_t i = 0; i < n && what != 2; i++) /* the int64 count starts at 0 */
        t->data[i] = v;
    if (what == 2)
        t->scalar = true; /* PyTorch's 0-dim tensor(0, dtype=torch.long) */
    st = what ? lam__module_add_buffer(m, name, t, true) : lam__module_add_param(m, name, t);
    if (st)
        lam_tensor_release(t);
    else if (what == 2)
        m->params[m->n_params - 1].zero_if_missing = true;
    return st;
}

static lam_status norm_create(lam_module **out, int kind, int64_t num_features, double eps,
                              double momentum, bool affine, bool track)
{
    *out = NULL;
    const char *name = type_names[kind];
    if (num_features < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: Trying to create tensor with negative dimension %" PRId64 ": [%" PRId64 "]",
                          name, num_features, num_features);
    if (num_features > (INT64_C(1) << 32))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: num_features=%" PRId64 " is above 2^32",
                          name, num_features);
    if (!isfinite(eps))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: eps must be a finite number", name);
    if (isinf(momentum))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: momentum must be a finite number or None (LAM_MOMENTUM_NONE)", name);
    int64_t n = (affine ? 2 * num_features : 0) + (track ? 2 * num_features + 1 : 0);
    if (lam__budget_charge(n, "%s(%" PRId64 ")", name, num_features))
        return LAM_ERR_INVALID_ARGUMENT;
    norm_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(name);
    s->kind = kind;
    s->num_features = num_features;
    s->eps = eps;
    s->momentum_none = isnan(momentum);
    s->momentum = s->momentum_none ? 0.0 : momentum;
    s->affine = affine;
    s->track = track;
    lam_module *m;
    lam_status st = lam__module_new(&m, ops_of[kind], s);
    if (st) {
        free(s);
        return st;
    }
    if (affine && !st)
        st = add_filled(m, "weight", num_features, 1.0f, 0);
    if (affine && !st)
        st = add_filled(m, "bias", num_features, 0.0f, 0);
    if (track && !st)
        st = add_filled(m, "running_mean", num_features, 0.0f, 1);
    if (track && !st)
        st = add_filled(m, "running_var", num_features, 1.0f, 1);
    if (track && !st)
        st = add_filled(m, "num_batches_tracked", 1, 0.0f, 2);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

LAM_API lam_status lam_batch_norm1d_create(lam_module **out, int64_t num_features, double eps,
                                           double momentum, bool affine, bool track_running_stats)
{
    LAM__CHECK_ARG(out);
    return norm_create(out, BN1D, num_features, eps, momentum, affine, track_running_stats);
}

LAM_API lam_status lam_batch_norm2d_create(lam_module **out, int64_t num_features, double eps,
                                           double momentum, bool affine, bool track_running_stats)
{
    LAM__CHECK_ARG(out);
    return norm_create(out, BN2D, num_features, eps, momentum, affine, track_running_stats);
}

LAM_API lam_status lam_instance_norm1d_create(lam_module **out, int64_t num_features, double eps,
                                              double momentum, bool affine,
                                              bool track_running_stats)
{
    LAM__CHECK_ARG(out);
    return norm_create(out, IN1D, num_features, eps, momentum, affine, track_running_stats);
}

LAM_API lam_status lam_instance_norm2d_create(lam_module **out, int64_t num_features, double eps,
                                              double momentum, bool affine,
                                              bool track_running_stats)
{
    LAM__CHECK_ARG(out);
    return norm_create(out, IN2D, num_features, eps, momentum, affine, track_running_stats);
}
