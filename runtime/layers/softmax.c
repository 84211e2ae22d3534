/* Softmax(dim) and LogSoftmax(dim). */
#include "runtime/layers/layers.h"
#include <stdlib.h>
#include <string.h>

typedef struct softmax_state {
    int dim; /* LAM_DIM_NONE for dim=None */
    bool log;
} softmax_state;

static int resolve_dim(const softmax_state *s, int ndim)
{
    if (s->dim == LAM_DIM_NONE) /* torch.nn.functional._get_softmax_dim */
        return (ndim == 0 || ndim == 1 || ndim == 3) ? 0 : 1;
    return s->dim < 0 ? s->dim + ndim : s->dim;
}

static lam_status softmax_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                int64_t *out)
{
    const softmax_state *s = m->state;
    int d = resolve_dim(s, ndim);
    if (d < 0 || d >= ndim)
        return lam__error(LAM_ERR_SHAPE,
                          "%s(dim=%d): Dimension out of range (expected to be in range of [%d, %d], "
                          "but got %d)",
                          lam_module_type_name(m), s->dim, -ndim, ndim - 1, s->dim);
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status softmax_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const softmax_state *s = m->state;
    const lam__kernel_table *k = lam__kernels();
    lam__unary_fn row = s->log ? k->log_softmax : k->softmax;
    int d = resolve_dim(s, in->ndim);
    if (in->numel == 0) /* (the other dims' product may not fit in int64: [0, 2^62, 2^62]) */
        return LAM_OK;
    int64_t outer = 1, len = in->shape[d], inner = 1;
    for (int i = 0; i < d; i++)
        outer *= in->shape[i];
    for (int i = d + 1; i < in->ndim; i++)
        inner *= in->shape[i];
    if (inner == 1) {
        for (int64_t o = 0; o < outer; o++)
            row((size_t)len, in->data + o * len, out->data + o * len);
        return LAM_OK;
    }
    /* strided rows: gather each into a contiguous buffer */
    float *buf = malloc((size_t)len * 2 * sizeof(float));
    if (!buf)
        return lam__oom("softmax row buffer");
    float *res = buf + len;
    for (int64_t o = 0; o < outer; o++) {
        const float *x = in->data + o * len * inner;
        float *y = out->data + o * len * inner;
        for (int64_t i = 0; i < inner; i++) {
            for (int64_t j = 0; j < len; j++)
                buf[j] = x[j * inner + i];
            row((size_t)len, buf, res);
            for (int64_t j = 0; j < len; j++)
                y[j * inner + i] = res[j];
        }
    }
    free(buf);
    return LAM_OK;
}

static int softmax_repr(const lam_module *m, char *buf, size_t size)
{
    const softmax_state *s = m->state;
    if (s->dim == LAM_DIM_NONE)
        return snprintf(buf, size, "dim=None");
    return snprintf(buf, size, "dim=%d", s->dim);
}

static void softmax_destroy(lam_module *m) { free(m->state); }

/* Rows of dim 0 are independent unless the softmax runs along dim 0. */
static bool softmax_rowwise(const lam_module *m, int ndim)
{
    return resolve_dim(m->state, ndim) != 0;
}

static const lam__module_ops softmax_ops = {
    .type_name = "Softmax",
    .py_module = "torch.nn.modules.activation",
    .output_shape = softmax_shape,
    .forward_into = softmax_forward,
    .extra_repr = softmax_repr,
    .destroy = softmax_destroy,
    .rowwise = softmax_rowwise,
};

static const lam__module_ops log_softmax_ops = {
    .type_name = "LogSoftmax",
    .py_module = "torch.nn.modules.activation",
    .output_shape = softmax_shape,
    .forward_into = softmax_forward,
    .extra_repr = softmax_repr,
    .destroy = softmax_destroy,
    .rowwise = softmax_rowwise,
};


static lam_status make(lam_module **out, const lam__module_ops *ops, int dim, bool log)
{
    if (!out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: output pointer is NULL", ops->type_name);
    *out = NULL;
    softmax_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(ops->type_name);
    s->dim = dim;
    s->log = log;
    lam_status st = lam__module_new(out, ops, s);
    if (st)
        free(s);
    return st;
}

LAM_API lam_status lam_softmax_create(lam_module **out, int dim)
{
    LAM__CHECK_ARG(out);
    return make(out, &softmax_ops, dim, false);
}

LAM_API lam_status lam_log_softmax_create(lam_module **out, int dim)
{
    LAM__CHECK_ARG(out);
    return make(out, &log_softmax_ops, dim, true);
}
