/* LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True). */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ln_state {
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int64_t size; /* product of shape */
    double eps;
    bool affine;
} ln_state;

static void shape_list(const int64_t *s, int n, char *buf, size_t size)
{
    lam_shape_str(n, s, buf, size);
}

static lam_status ln_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                           int64_t *out)
{
    const ln_state *s = m->state;
    bool ok = ndim >= s->ndim;
    for (int i = 0; ok && i < s->ndim; i++)
        ok = in[ndim - s->ndim + i] == s->shape[i];
    if (!ok) {
        char a[80], b[80], star[96];
        shape_list(s->shape, s->ndim, a, sizeof a);
        lam_shape_str(ndim, in, b, sizeof b);
        snprintf(star, sizeof star, "[*, %s", a + 1);
        return lam__error(LAM_ERR_SHAPE,
                          "LayerNorm: Given normalized_shape=%s, expected input with shape %s, but "
                          "got input of size%s",
                          a, star, b);
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status ln_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const ln_state *s = m->state;
    const lam__kernel_table *k = lam__kernels();
    const float *g = s->affine ? m->params[0].tensor->data : NULL;
    const float *b = s->affine ? m->params[1].tensor->data : NULL;
    int64_t rows = s->size ? in->numel / s->size : 0;
    for (int64_t r = 0; r < rows; r++)
        k->layer_norm((size_t)s->size, in->data + r * s->size, out->data + r * s->size, g, b,
                      (float)s->eps);
    return LAM_OK;
}

static int ln_repr(const lam_module *m, char *buf, size_t size)
{
    const ln_state *s = m->state;
    char shape[128];
    size_t o = 0;
    o += (size_t)snprintf(shape + o, sizeof shape - o, "(");
    for (int i = 0; i < s->ndim; i++)
        o += (size_t)snprintf(shape + o, sizeof shape - o, i ? ", %" PRId64 : "%" PRId64,
                              s->shape[i]);
    snprintf(shape + o, sizeof shape - o, s->ndim == 1 ? ",)" : ")");
    char eps[40];
    return snprintf(buf, size, "%s, eps=%s, elementwise_affine=%s", shape,
                    lam__py_float(s->eps, eps, sizeof eps), s->affine ? "True" : "False");
}

static void ln_destroy(lam_module *m) { free(m->state); }

/* Normalises trailing dims only: rows of dim 0 are independent when ndim > s->ndim. */
static bool ln_rowwise(const lam_module *m, int ndim)
{
    return ndim > ((const ln_state *)m->state)->ndim;
}

static const lam__module_ops ln_ops = {
    .type_name = "LayerNorm",
    .py_module = "torch.nn.modules.normalization",
    .output_shape = ln_shape,
    .forward_into = ln_forward,
    .extra_repr = ln_repr,
    .destroy = ln_destroy,
    .rowwise = ln_rowwise,
};

bool lam__layer_norm_info(const lam_module *m, int64_t *size, const float **gamma,
                          const float **beta, float *eps)
{
    if (!m || m->ops != &ln_ops)
        return false;
    const ln_state *s = m->state;
    *size = s->size;
    *gamma = s->affine ? m->params[0].tensor->data : NULL;
    *beta = s->affine ? m->params[1].tensor->data : NULL;
    *eps = (float)s->eps;
    return true;
}


LAM_API lam_status lam_layer_norm_create(lam_module **out, int ndim, const int64_t *normalized_shape,
                                         double eps, bool elementwise_affine)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(normalized_shape);
    int64_t size;
    if (ndim < 1 || ndim > LAM_MAX_DIMS || !normalized_shape)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "LayerNorm: normalized_shape must have 1 to %d dimensions", LAM_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        if (normalized_shape[i] <= 0)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "LayerNorm: normalized_shape entries must be positive, got %" PRId64,
                              normalized_shape[i]);
    if (lam__check_shape(ndim, normalized_shape, &size))
        return LAM_ERR_INVALID_ARGUMENT;
    if (!(eps >= 0) || !isfinite(eps))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "LayerNorm: eps must be a non-negative number");
    /* counted before anything is allocated (model files have a limit) */
    if (elementwise_affine &&
        lam__budget_charge(2 * size, "LayerNorm over %" PRId64 " elements", size))
        return LAM_ERR_INVALID_ARGUMENT;
    ln_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("LayerNorm");
    s->ndim = ndim;
    memcpy(s->shape, normalized_shape, sizeof(int64_t) * (size_t)ndim);
    s->size = size;
    s->eps = eps;
    s->affine = elementwise_affine;
    lam_module *m;
    lam_status st = lam__module_new(&m, &ln_ops, s);
    if (st) {
        free(s);
        return st;
    }
    if (elementwise_affine) {
        lam_tensor *w = NULL, *b = NULL;
        st = lam_tensor_create(&w, ndim, normalized_shape);
        if (!st && (st = lam__module_add_param(m, "weight", w)))
            lam_tensor_release(w);
        if (!st)
            st = lam_tensor_create(&b, ndim, normalized_shape);
        if (!st && (st = lam__module_add_param(m, "bias", b)))
            lam_tensor_release(b);
        if (st) {
            lam_module_release(m);
            return st;
        }
        for (int64_t i = 0; i < size; i++)
            w->data[i] = 1.0f;
    }
    *out = m;
    return LAM_OK;
}
