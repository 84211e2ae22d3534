/* Flatten(start_dim=1, end_dim=-1): a copy with dims start..end merged. */
#include "runtime/layers/layers.h"
#include <stdlib.h>
#include <string.h>

typedef struct flatten_state {
    int start, end;
} flatten_state;

static lam_status norm_dim(const lam_module *m, int d, int ndim, int *out)
{
    int r = d < 0 ? d + ndim : d;
    if (r < 0 || r >= ndim)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: Dimension out of range (expected to be in range of [%d, %d], but "
                          "got %d)",
                          lam_module_type_name(m), -ndim, ndim - 1, d);
    *out = r;
    return LAM_OK;
}

static lam_status flatten_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                int64_t *out)
{
    const flatten_state *s = m->state;
    int a = 0, b = 0;
    lam_status st = norm_dim(m, s->start, ndim, &a);
    if (!st)
        st = norm_dim(m, s->end, ndim, &b);
    if (st)
        return st;
    if (a > b)
        return lam__error(LAM_ERR_SHAPE,
                          "Flatten: flatten() has invalid args: start_dim cannot come after end_dim");
    int o = 0;
    for (int i = 0; i < a; i++)
        out[o++] = in[i];
    /* the dims of an empty input may multiply past int64 ([0, 2^62, 2^62]) */
    int64_t prod = 1;
    bool zero = false, overflow = false;
    for (int i = a; i <= b; i++) {
        zero |= in[i] == 0;
        overflow |= __builtin_mul_overflow(prod, in[i], &prod);
    }
    if (zero)
        prod = 0;
    else if (overflow) {
        char buf[96];
        return lam__error(LAM_ERR_SHAPE,
                          "Flatten: dims %d to %d of input shape %s flatten to a size too large "
                          "for int64",
                          a, b, lam_shape_str(ndim, in, buf, sizeof buf));
    }
    out[o++] = prod;
    for (int i = b + 1; i < ndim; i++)
        out[o++] = in[i];
    *out_ndim = o;
    return LAM_OK;
}

static lam_status flatten_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    (void)m;
    if (out->data != in->data)
        memcpy(out->data, in->data, (size_t)in->numel * sizeof(float));
    return LAM_OK;
}

static int flatten_repr(const lam_module *m, char *buf, size_t size)
{
    const flatten_state *s = m->state;
    return snprintf(buf, size, "start_dim=%d, end_dim=%d", s->start, s->end);
}

static void flatten_destroy(lam_module *m) { free(m->state); }

/* Rows stay rows when dim 0 is not merged. */
static bool flatten_rowwise(const lam_module *m, int ndim)
{
    const flatten_state *s = m->state;
    int a = s->start < 0 ? s->start + ndim : s->start;
    return a >= 1;
}

static const lam__module_ops flatten_ops = {
    .type_name = "Flatten",
    .py_module = "torch.nn.modules.flatten",
    .output_shape = flatten_shape,
    .forward_into = flatten_forward,
    .extra_repr = flatten_repr,
    .destroy = flatten_destroy,
    .rowwise = flatten_rowwise,
};


LAM_API lam_status lam_flatten_create(lam_module **out, int start_dim, int end_dim)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    flatten_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Flatten");
    s->start = start_dim;
    s->end = end_dim;
    lam_status st = lam__module_new(out, &flatten_ops, s);
    if (st)
        free(s);
    return st;
}
