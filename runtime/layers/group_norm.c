/* GroupNorm(num_groups, num_channels, eps=1e-5, affine=True) and
 * LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1.0): PyTorch 1.13's
 * torch/nn/modules/normalization.py, F.group_norm and F.local_response_norm.
 *
 * GroupNorm normalises each sample's groups of num_channels / num_groups
 * channels (and every position after dim 1) by their mean and biased
 * variance, summed in float64 (the kernel table's `moments`: a fixed
 * order, the same bits on every table); then, as PyTorch's CPU kernel, per channel
 * scale = rstd * weight, bias = bias - scale * mean and y = x * scale + bias
 * in float32, the last two fused multiply-adds (as batch_norm.c).  LocalResponseNorm divides each value by (k + alpha / size *
 * the sum of the squares of the size channels around it, zero-padded)^beta,
 * computed in float64 by the kernel table's `lrn` (within 1 ULP of the
 * exact value on every table).  Both are per sample: a batch may be split
 * across threads. */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gn_state {
    unsigned int_args; /* first member: lam__norm_set_int_args */
    int64_t groups, channels;
    double eps;
    bool affine;
} gn_state;

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
    lam_shape_str(ndim, shape, buf, size);
}

static lam_status gn_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim, int64_t *out)
{
    const gn_state *s = m->state;
    char sz[160];
    if (ndim < 2)
        return lam__error(LAM_ERR_SHAPE,
                          "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
    /* F.group_norm: _verify_batch_size([N * C // G, G] + spatial): the
     * product is 1 when every factor is */
    int64_t nc;
    bool one = !__builtin_mul_overflow(in[0], in[1], &nc) && nc / s->groups == 1;
    for (int i = 2; i < ndim; i++)
        one = one && in[i] == 1;
    if (one) {
        size_t o = (size_t)snprintf(sz, sizeof sz, "[%" PRId64 ", %" PRId64, in[0] * in[1] / s->groups,
                                    s->groups);
        for (int i = 2; i < ndim && o < sizeof sz; i++)
            o += (size_t)snprintf(sz + o, sizeof sz - o, ", %" PRId64, in[i]);
        if (o < sizeof sz)
            snprintf(sz + o, sizeof sz - o, "]");
        return lam__error(LAM_ERR_SHAPE,
                          "Expected more than 1 value per channel when training, got input size %s", sz);
    }
    if (in[1] % s->groups) {
        shape_str(sz, sizeof sz, ndim, in);
        return lam__error(LAM_ERR_SHAPE,
                          "Expected number of channels in input to be divisible by num_groups, but "
                          "got input of shape %s and num_groups=%" PRId64, sz, s->groups);
    }
    if (s->affine && in[1] != s->channels) {
        shape_str(sz, sizeof sz, ndim, in);
        return lam__error(LAM_ERR_SHAPE,
                          "Expected weight to be a vector of size equal to the number of channels "
                          "in input, but got weight of shape [%" PRId64 "] and input of shape %s",
                          s->channels, sz);
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status gn_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const gn_state *s = m->state;
    if (in->numel == 0) /* (N * C may not even fit then) */
        return LAM_OK;
    int64_t N = in->shape[0], C = in->shape[1], G = s->groups;
    int64_t S = in->numel / (N * C), D = C / G;
    const float *w = s->affine ? m->params[0].tensor->data : NULL;
    const float *b = s->affine ? m->params[1].tensor->data : NULL;
    int64_t cnt = D * S;
    const lam__kernel_table *k = lam__kernels();
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *x = in->data + (n * C + g * D) * S;
            float *y = out->data + (n * C + g * D) * S;
            /* the kernel table's float64 sums: in a fixed order, so every
             * table gives the same bits */
            double m[2];
            k->moments((size_t)cnt, x, 0.0, m);
            double mean = cnt ? m[0] / (double)cnt : 0.0;
            k->moments((size_t)cnt, x, mean, m);
            double sq = m[1];
            float meanf = (float)mean;
            float rstd = (float)(1.0 / sqrt((cnt ? sq / (double)cnt : 0.0) + s->eps));
            for (int64_t d = 0; d < D; d++) {
                int64_t c = g * D + d;
                float scale = w ? rstd * w[c] : rstd;
                float shift = fmaf(-scale, meanf, b ? b[c] : 0.0f);
                k->affine((size_t)S, x + d * S, y + d * S, scale, shift); /* fmaf(x, scale, shift) */
            }
        }
    return LAM_OK;
}

static int gn_repr(const lam_module *m, char *buf, size_t size)
{
    const gn_state *s = m->state;
    char eps[40];
    return snprintf(buf, size, "%" PRId64 ", %" PRId64 ", eps=%s, affine=%s", s->groups, s->channels,
                    lam__py_number(s->eps, s->int_args & 1, eps, sizeof eps),
                    s->affine ? "True" : "False");
}

static void state_destroy(lam_module *m) { free(m->state); }

static bool per_sample(const lam_module *m, int ndim)
{
    (void)m;
    return ndim >= 2;
}

static const lam__module_ops gn_ops = {
    .type_name = "GroupNorm",
    .py_module = "torch.nn.modules.normalization",
    .output_shape = gn_shape,
    .forward_into = gn_forward,
    .extra_repr = gn_repr,
    .destroy = state_destroy,
    .rowwise = per_sample,
};

LAM_API lam_status lam_group_norm_create(lam_module **out, int64_t num_groups, int64_t num_channels,
                                         double eps, bool affine)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (num_groups == 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "GroupNorm: integer division or modulo by zero");
    if (num_groups < 0 || num_channels < 0 || num_channels > (INT64_C(1) << 32))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "GroupNorm: num_groups must be positive and num_channels between 0 and "
                          "2^32, got num_groups=%" PRId64 ", num_channels=%" PRId64,
                          num_groups, num_channels);
    if (num_channels % num_groups != 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "num_channels must be divisible by num_groups");
    if (!isfinite(eps))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "GroupNorm: eps must be a finite number");
    if (affine && lam__budget_charge(2 * num_channels, "GroupNorm(%" PRId64 ", %" PRId64 ")",
                                     num_groups, num_channels))
        return LAM_ERR_INVALID_ARGUMENT;
    gn_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("GroupNorm");
    s->groups = num_groups;
    s->channels = num_channels;
    s->eps = eps;
    s->affine = affine;
    lam_module *m;
    lam_status st = lam__module_new(&m, &gn_ops, s);
    if (st) {
        free(s);
        return st;
    }
    for (int i = 0; affine && i < 2 && !st; i++) {
        lam_tensor *t = NULL;
        st = lam_tensor_create(&t, 1, &num_channels);
        if (st)
            break;
        for (int64_t c = 0; c < num_channels; c++)
            t->data[c] = i ? 0.0f : 1.0f;
        if ((st = lam__module_add_param(m, i ? "bias" : "weight", t)))
            lam_tensor_release(t);
    }
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

/* ---- LocalResponseNorm ---- */

typedef struct lrn_state {
    unsigned int_args; /* first member: bit 0 alpha, 1 beta, 2 k */
    int64_t size;
    double alpha, beta, k;
} lrn_state;

static lam_status lrn_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim, int64_t *out)
{
    (void)m;
    if (ndim < 3) /* F.local_response_norm's message, its line continuation included */
        return lam__error(LAM_ERR_SHAPE, "Expected 3D or higher dimensionality                       "
                                         "   input (got %d dimensions)", ndim);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status lrn_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const lrn_state *s = m->state;
    if (in->numel == 0)
        return LAM_OK;
    int64_t N = in->shape[0], C = in->shape[1];
    int64_t S = in->numel / (N * C);
    const lam__kernel_table *k = lam__kernels();
    for (int64_t n = 0; n < N; n++)
        k->lrn((size_t)C, (size_t)S, in->data + n * C * S, out->data + n * C * S, (size_t)s->size,
               s->alpha, s->beta, s->k, 0, (size_t)S);
    return LAM_OK;
}

static int lrn_repr(const lam_module *m, char *buf, size_t size)
{
    const lrn_state *s = m->state;
    char a[40], b[40], k[40];
    return snprintf(buf, size, "%" PRId64 ", alpha=%s, beta=%s, k=%s", s->size,
                    lam__py_number(s->alpha, s->int_args & 1, a, sizeof a),
                    lam__py_number(s->beta, s->int_args & 2, b, sizeof b),
                    lam__py_number(s->k, s->int_args & 4, k, sizeof k));
}

static const lam__module_ops lrn_ops = {
    .type_name = "LocalResponseNorm",
    .py_module = "torch.nn.modules.normalization",
    .output_shape = lrn_shape,
    .forward_into = lrn_forward,
    .extra_repr = lrn_repr,
    .destroy = state_destroy,
    .rowwise = per_sample,
};

LAM_API lam_status lam_local_response_norm_create(lam_module **out, int64_t size, double alpha,
                                                  double beta, double k)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (size <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "LocalResponseNorm: size must be positive, got %" PRId64, size);
    if (!isfinite(alpha) || !isfinite(beta) || !isfinite(k))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "LocalResponseNorm: alpha, beta and k must be finite numbers");
    lrn_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("LocalResponseNorm");
    s->size = size;
    s->alpha = alpha;
    s->beta = beta;
    s->k = k;
    lam_status st = lam__module_new(out, &lrn_ops, s);
    if (st)
        free(s);
    return st;
}
