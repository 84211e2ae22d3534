/* Dropout(p=0.5): identity in eval mode; in training mode each element is
 * zeroed with probability p (mask from the default generator) and the rest
 * are scaled by 1/(1-p), as PyTorch does. */
#include "runtime/layers/layers.h"
#include <stdlib.h>
#include <string.h>

typedef struct dropout_state {
    double p;
} dropout_state;

static lam_status dropout_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                int64_t *out)
{
    (void)m;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static lam_status dropout_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const dropout_state *s = m->state;
    size_t n = (size_t)in->numel;
    if (!m->training || s->p == 0.0) {
        if (out->data != in->data)
            memcpy(out->data, in->data, n * sizeof(float));
        return LAM_OK;
    }
    if (s->p >= 1.0) {
        memset(out->data, 0, n * sizeof(float));
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
    return snprintf(buf, size, "p=%s, inplace=False", lam__py_float(s->p, p, sizeof p));
}

static void dropout_destroy(lam_module *m) { free(m->state); }

/* In eval mode a Dropout is an identity over rows; in training mode it draws
 * from the shared generator, so it must run on one thread in order. */
static bool dropout_rowwise(const lam_module *m, int ndim)
{
    (void)ndim;
    return !m->training;
}

static const lam__module_ops dropout_ops = {
    .type_name = "Dropout",
    .py_module = "torch.nn.modules.dropout",
    .output_shape = dropout_shape,
    .forward_into = dropout_forward,
    .extra_repr = dropout_repr,
    .destroy = dropout_destroy,
    .rowwise = dropout_rowwise,
};


LAM_API lam_status lam_dropout_create(lam_module **out, double p)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (!(p >= 0.0 && p <= 1.0)) {
        char buf[40];
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "dropout probability has to be between 0 and 1, but got %s",
                          lam__py_float(p, buf, sizeof buf));
    }
    dropout_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Dropout");
    s->p = p;
    lam_status st = lam__module_new(out, &dropout_ops, s);
    if (st)
        free(s);
    return st;
}
