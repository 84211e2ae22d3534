/* PReLU(num_parameters=1, init=0.25): y = x if x > 0 else weight[c] * x,
 * with c the index on dim 1 (one weight for every element when
 * num_parameters is 1, and for inputs of fewer than 2 dims), as PyTorch's
 * CPU prelu computes it in float: the kernel table's prelu, channel plane by
 * channel plane. */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct prelu_state {
    int64_t n;
} prelu_state;

static lam_status check(const lam_module *m, int ndim, const int64_t *in)
{
    const prelu_state *s = m->state;
    int64_t channels = ndim >= 2 ? in[1] : 1;
    if (s->n != 1 && s->n != channels)
        return lam__error(LAM_ERR_SHAPE,
                          "PReLU: Mismatch of parameter numbers and input channel size. Found "
                          "parameter numbers = %" PRId64 " and channel size = %" PRId64 ".",
                          s->n, channels);
    return LAM_OK;
}

static lam_status prelu_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                              int64_t *out)
{
    lam_status st = check(m, ndim, in);
    if (st)
        return st;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status prelu_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const prelu_state *s = m->state;
    lam_status st = check(m, in->ndim, in->shape);
    if (st || in->numel == 0) /* empty: other dims may multiply past int64 */
        return st;
    const float *w = m->params[0].tensor->data, *x = in->data;
    float *y = out->data;
    const lam__kernel_table *k = lam__kernels();
    int64_t C = in->ndim >= 2 ? in->shape[1] : 1, inner = 1, outer = in->ndim >= 1 ? in->shape[0] : 1;
    for (int i = 2; i < in->ndim; i++)
        inner *= in->shape[i];
    if (in->ndim < 2)
        outer = in->numel, C = 1;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t c = 0; c < C; c++) {
            float a = w[s->n == 1 ? 0 : c];
            const float *xp = x + (o * C + c) * inner;
            float *yp = y + (o * C + c) * inner;
            k->prelu((size_t)inner, xp, yp, a);
        }
    return LAM_OK;
}

static int prelu_repr(const lam_module *m, char *buf, size_t size)
{
    const prelu_state *s = m->state;
    return snprintf(buf, size, "num_parameters=%" PRId64, s->n);
}

static void prelu_destroy(lam_module *m) { free(m->state); }

/* The weight follows dim 1, so rows of dim 0 are independent. */
static bool prelu_rowwise(const lam_module *m, int ndim)
{
    const prelu_state *s = m->state;
    return ndim >= 2 || s->n == 1;
}

static const lam__module_ops prelu_ops = {
    .type_name = "PReLU",
    .py_module = "torch.nn.modules.activation",
    .output_shape = prelu_shape,
    .forward_into = prelu_forward,
    .extra_repr = prelu_repr,
    .destroy = prelu_destroy,
    .rowwise = prelu_rowwise,
};

LAM_API lam_status lam_prelu_create(lam_module **out, int64_t num_parameters, double init)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (num_parameters < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "PReLU: Trying to create tensor with negative dimension %" PRId64
                          ": [%" PRId64 "]",
                          num_parameters, num_parameters);
    if (!isfinite(init))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "PReLU: init must be finite");
    if (lam__budget_charge(num_parameters, "PReLU with %" PRId64 " parameters", num_parameters))
        return LAM_ERR_INVALID_ARGUMENT;
    prelu_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("PReLU");
    s->n = num_parameters;
    lam_module *m;
    lam_status st = lam__module_new(&m, &prelu_ops, s);
    if (st) {
        free(s);
        return st;
    }
    lam_tensor *w = NULL;
    st = lam_tensor_create(&w, 1, &num_parameters);
    if (!st && (st = lam__module_add_param(m, "weight", w)))
        lam_tensor_release(w);
    if (st) {
        lam_module_release(m);
        return st;
    }
    for (int64_t i = 0; i < num_parameters; i++)
        w->data[i] = (float)init;
    *out = m;
    return LAM_OK;
}
