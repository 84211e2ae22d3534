/* Dropout(p=0.5): identity in eval mode; in training mode each element is
 * zeroed with probability p (mask from the default generator) and the rest
 * are scaled by 1/(1-p), as PyTorch does.  Dropout1d/Dropout2d draw one
 * mask value per (dim 0, dim 1) channel (Dropout1d: per dim 0 of a 2-D
 * input); AlphaDropout and FeatureAlphaDropout keep SELU's mean and
 * variance (_dropout_impl in aten/src/ATen/native/Dropout.cpp). */
#include "runtime/layers/layers.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { D_PLAIN, D_1D, D_2D, D_ALPHA, D_FEATURE_ALPHA };

typedef struct dropout_state {
    double p;
    int kind;
    bool inplace; /* as written; the output is new either way */
} dropout_state;

static bool feature(const dropout_state *s)
{
    return s->kind == D_1D || s->kind == D_2D || s->kind == D_FEATURE_ALPHA;
}

static lam_status dropout_check(const lam_module *m, int ndim)
{
    const dropout_state *s = m->state;
    if (s->kind == D_1D && ndim != 2 && ndim != 3)
        return lam__error(LAM_ERR_SHAPE,
                          "Dropout1d: dropout1d: Expected 2D or 3D input, but received a %dD "
                          "input. Note that dropout1d exists to provide channel-wise dropout on "
                          "inputs with 1 spatial dimension, a channel dimension, and an optional "
                          "batch dimension (i.e. 2D or 3D inputs).",
                          ndim);
    if (m->training && s->p > 0.0 && s->p < 1.0 && feature(s) && ndim < 2)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Feature dropout requires at least 2 dimensions in the input",
                          lam_module_type_name(m));
    return LAM_OK;
}

static lam_status dropout_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                int64_t *out)
{
    lam_status st = dropout_check(m, ndim);
    if (st)
        return st;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

/* Training-mode feature dropout and alpha dropout: noise is 1 (keep) with
 * probability 1-p, per element or per channel (dims 0 and 1; a 2-D input
 * to Dropout1d is one unbatched sample, so per dim 0); then
 * y = x * noise / (1-p), or for alpha dropout
 * y = x * noise * a + (noise - 1) * alpha * a + alpha * a * p. */
static void dropout_general(const dropout_state *s, const lam_tensor *in, lam_tensor *out)
{
    size_t n = (size_t)in->numel;
    size_t block = 1; /* elements sharing one noise value */
    if (n == 0) /* other dims may multiply past size_t */
        return;
    if (feature(s)) {
        int lead = s->kind == D_1D && in->ndim == 2 ? 1 : 2;
        for (int i = lead; i < in->ndim; i++)
            block *= (size_t)in->shape[i];
    }
    bool alpha = s->kind == D_ALPHA || s->kind == D_FEATURE_ALPHA;
    const double al = 1.7580993408473766;
    double a = alpha ? 1.0 / sqrt((al * al * s->p + 1) * (1 - s->p)) : 1.0 / (1.0 - s->p);
    float fa = (float)a, fb = (float)(al * a * s->p), fc = (float)(al * a);
    size_t groups = block ? n / block : 0;
    double u[256];
    for (size_t g = 0; g < groups; g += 256) {
        size_t c = groups - g < 256 ? groups - g : 256;
        lam__rand_unit(u, c);
        for (size_t j = 0; j < c; j++) {
            float noise = u[j] < s->p ? 0.0f : 1.0f;
            const float *x = in->data + (g + j) * block;
            float *y = out->data + (g + j) * block;
            for (size_t i = 0; i < block; i++)
                y[i] = alpha ? x[i] * noise * fa + ((noise - 1.0f) * fc + fb) : x[i] * noise * fa;
        }
    }
}

static lam_status dropout_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const dropout_state *s = m->state;
    size_t n = (size_t)in->numel;
    lam_status st = dropout_check(m, in->ndim);
    if (st)
        return st;
    if (!m->training || s->p == 0.0) {
        if (out->data != in->data)
            memcpy(out->data, in->data, n * sizeof(float));
        return LAM_OK;
    }
    if (s->p >= 1.0) {
        memset(out->data, 0, n * sizeof(float));
        return LAM_OK;
    }
    if (s->kind != D_PLAIN) {
        dropout_general(s, in, out);
        return LAM_OK;
    }
    float scale = (float)(1.0 / (1.0 - s->p));
    double u[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t c = n - i < 256 ? n - i : 256;
        lam__rand_unit(u, c);
        for (size_t j = 0; j < c; j++)
            out->data[i + j] = u[j] < s->p ? 0.0f : in->data[i + j] * scale;
    }
    return LAM_OK;
}

static int dropout_repr(const lam_module *m, char *buf, size_t size)
{
    const dropout_state *s = m->state;
    char p[40];
    return snprintf(buf, size, "p=%s, inplace=%s", lam__py_float(s->p, p, sizeof p),
                    s->inplace ? "True" : "False");
}

static void dropout_destroy(lam_module *m) { free(m->state); }

/* In eval mode a Dropout is an identity over rows; in training mode it draws
 * from the shared generator, so it must run on one thread in order. */
static bool dropout_rowwise(const lam_module *m, int ndim)
{
    (void)ndim;
    return !m->training;
}

#define DROPOUT_OPS(var, name)                                                                     \
    static const lam__module_ops var = {                                                            \
        .type_name = name,                                                                         \
        .py_module = "torch.nn.modules.dropout",                                                   \
        .output_shape = dropout_shape,                                                             \
        .forward_into = dropout_forward,                                                           \
        .extra_repr = dropout_repr,                                                                \
        .destroy = dropout_destroy,                                                                \
        .rowwise = dropout_rowwise,                                                                \
    }
DROPOUT_OPS(dropout_ops, "Dropout");
DROPOUT_OPS(dropout1d_ops, "Dropout1d");
DROPOUT_OPS(dropout2d_ops, "Dropout2d");
DROPOUT_OPS(alpha_ops, "AlphaDropout");
DROPOUT_OPS(feature_alpha_ops, "FeatureAlphaDropout");

static lam_status make(lam_module **out, const lam__module_ops *ops, int kind, double p)
{
    *out = NULL;
    if (!(p >= 0.0 && p <= 1.0)) {
        char buf[40];
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "dropout probability has to be between 0 and 1, but got %s",
                          lam__py_float(p, buf, sizeof buf));
    }
    dropout_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(ops->type_name);
    s->p = p;
    s->kind = kind;
    lam_status st = lam__module_new(out, ops, s);
    if (st)
        free(s);
    return st;
}

LAM_API lam_status lam_dropout_create(lam_module **out, double p)
{
    LAM__CHECK_ARG(out);
    return make(out, &dropout_ops, D_PLAIN, p);
}
LAM_API lam_status lam_dropout1d_create(lam_module **out, double p)
{
    LAM__CHECK_ARG(out);
    return make(out, &dropout1d_ops, D_1D, p);
}
LAM_API lam_status lam_dropout2d_create(lam_module **out, double p)
{
    LAM__CHECK_ARG(out);
    return make(out, &dropout2d_ops, D_2D, p);
}
LAM_API lam_status lam_alpha_dropout_create(lam_module **out, double p)
{
    LAM__CHECK_ARG(out);
    return make(out, &alpha_ops, D_ALPHA, p);
}
LAM_API lam_status lam_feature_alpha_dropout_create(lam_module **out, double p)
{
    LAM__CHECK_ARG(out);
    return make(out, &feature_alpha_ops, D_FEATURE_ALPHA, p);
}

void lam__dropout_set_inplace(lam_module *m, bool inplace)
{
    const lam__module_ops *o = m ? m->ops : NULL;
    if (o == &dropout_ops || o == &dropout1d_ops || o == &dropout2d_ops || o == &alpha_ops ||
        o == &feature_alpha_ops)
        ((dropout_state *)m->state)->inplace = inplace;
}
