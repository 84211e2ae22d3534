/* Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
 * norm_type=2.0, scale_grad_by_freq=False, sparse=False), as PyTorch 1.13's
 * torch/nn/modules/sparse.py and F.embedding: int64 ids of any shape (up to
 * 3 dims, so that the output's (*, embedding_dim) fits in 4) look up rows
 * of `weight`.  With max_norm, the rows looked up are first renormalised in
 * place, as embedding_renorm_ does (aten/src/ATen/native/Embedding.cpp):
 * the distinct ids in ascending order, each row whose norm_type-norm
 * exceeds max_norm scaled by max_norm / (norm + 1e-7).  Ids are checked
 * before any row is read: an id outside [0, num_embeddings) is PyTorch's
 * "index out of range in self", never a read out of bounds. */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct embedding_state {
    int64_t num, dim;
    int64_t padding_idx; /* LAM_EMBEDDING_NO_PADDING: None; else in [0, num) */
    double max_norm;     /* NAN: None */
    double norm_type;
    bool scale_grad_by_freq, sparse;
    bool max_norm_int, norm_type_int; /* printed as ints ("max_norm=1") */
    pthread_mutex_t lock; /* renormalisation writes the weight */
} embedding_state;

static lam_status embedding_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                  int64_t *out)
{
    const embedding_state *s = m->state;
    if (ndim + 1 > LAM_MAX_DIMS) {
        char buf[64];
        return lam__error(LAM_ERR_SHAPE,
                          "Embedding: ids of shape %s give a %d-dimensional output; lamina "
                          "tensors have at most %d dimensions",
                          lam_shape_str(ndim, in, buf, sizeof buf), ndim + 1, LAM_MAX_DIMS);
    }
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[ndim] = s->dim;
    *out_ndim = ndim + 1;
    return LAM_OK;
}

/* PyTorch's check of the ids' type, for `fn` (its message names the
 * argument as that function numbers it). */
static lam_status ids_type_error(const lam_tensor *in, bool renorm)
{
    const char *got = in->dtype == LAM_BOOL ? "CPUBoolType" : "torch.FloatTensor";
    return lam__error(LAM_ERR_TYPE,
                      "Expected tensor for argument #%d 'indices' to have one of the following "
                      "scalar types: Long, Int; but got %s instead (while checking arguments for "
                      "%s)",
                      renorm ? 2 : 1, got, renorm ? "embedding_renorm_" : "embedding");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The norm of one row as torch.norm(row, p) gives it (a float32 result). */
static float row_norm(const float *r, int64_t n, double p)
{
    double acc = 0;
    if (isinf(p) && p > 0) {
        for (int64_t j = 0; j < n; j++)
            acc = fmax(acc, fabs((double)r[j]));
    } else if (isinf(p)) {
        acc = INFINITY;
        for (int64_t j = 0; j < n; j++)
            acc = fmin(acc, fabs((double)r[j]));
        if (n == 0)
            acc = 0;
    } else if (p == 0) {
        for (int64_t j = 0; j < n; j++)
            acc += r[j] != 0.0f;
    } else if (p == 1) {
        for (int64_t j = 0; j < n; j++)
            acc += fabs((double)r[j]);
    } else if (p == 2) {
        for (int64_t j = 0; j < n; j++)
            acc += (double)r[j] * r[j];
        acc = sqrt(acc);
    } else {
        for (int64_t j = 0; j < n; j++)
            acc += pow(fabs((double)r[j]), p);
        acc = pow(acc, 1.0 / p);
    }
    return (float)acc;
}

/* embedding_renorm_: the distinct ids in ascending order; an id is
 * wrapped as Tensor.select wraps it (-1 is the last row), and one outside
 * [-num, num) stops it with select()'s IndexError, the rows before it
 * already renormalised (as in PyTorch). */
static lam_status renorm(lam_module *m, const int64_t *ids, int64_t n)
{
    embedding_state *s = m->state;
    lam_tensor *w = m->params[0].tensor;
    int64_t *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return lam__oom("Embedding max_norm");
    memcpy(sorted, ids, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
    lam_status st = LAM_OK;
    bool changed = false;
    pthread_mutex_lock(&s->lock);
    for (int64_t i = 0; i < n; i++) {
        if (i > 0 && sorted[i] == sorted[i - 1])
            continue;
        int64_t id = sorted[i];
        if (id < -s->num || id >= s->num) {
            st = lam__error(LAM_ERR_INDEX,
                            "select(): index %" PRId64 " out of range for tensor of size [%" PRId64
                            ", %" PRId64 "] at dimension 0",
                            id, s->num, s->dim);
            break;
        }
        float *row = w->data + (id < 0 ? id + s->num : id) * s->dim;
        double norm = row_norm(row, s->dim, s->norm_type);
        if (norm > s->max_norm) {
            float scale = (float)(s->max_norm / (norm + 1e-7));
            for (int64_t j = 0; j < s->dim; j++)
                row[j] *= scale;
            changed = true;
        }
    }
    pthread_mutex_unlock(&s->lock);
    if (changed)
        lam_tensor_mark_modified(w);
    free(sorted);
    return st;
}

static lam_status embedding_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const embedding_state *s = m->state;
    bool has_max_norm = !isnan(s->max_norm);
    if (in->dtype != LAM_INT64)
        return ids_type_error(in, has_max_norm);
    const int64_t *ids = lam__tensor_i64(in);
    if (has_max_norm) {
        lam_status st = renorm(m, ids, in->numel);
        if (st)
            return st;
    }
    for (int64_t i = 0; i < in->numel; i++)
        if (ids[i] < 0 || ids[i] >= s->num)
            return lam__error(LAM_ERR_INDEX, "index out of range in self");
    const float *w = m->params[0].tensor->data;
    float *y = out->data;
    for (int64_t i = 0; i < in->numel; i++)
        memcpy(y + i * s->dim, w + ids[i] * s->dim, (size_t)s->dim * sizeof(float));
    return LAM_OK;
}

static int embedding_repr(const lam_module *m, char *buf, size_t size)
{
    const embedding_state *s = m->state;
    lam__sb sb = {0};
    char num[64];
    lam__sb_printf(&sb, "%" PRId64 ", %" PRId64, s->num, s->dim);
    if (s->padding_idx != LAM_EMBEDDING_NO_PADDING)
        lam__sb_printf(&sb, ", padding_idx=%" PRId64, s->padding_idx);
    if (!isnan(s->max_norm))
        lam__sb_printf(&sb, ", max_norm=%s",
                       lam__py_number(s->max_norm, s->max_norm_int, num, sizeof num));
    if (s->norm_type != 2)
        lam__sb_printf(&sb, ", norm_type=%s",
                       lam__py_number(s->norm_type, s->norm_type_int, num, sizeof num));
    if (s->scale_grad_by_freq)
        lam__sb_puts(&sb, ", scale_grad_by_freq=True");
    if (s->sparse)
        lam__sb_puts(&sb, ", sparse=True");
    int n = sb.failed ? 0 : (int)sb.len;
    if (size)
        snprintf(buf, size, "%s", sb.buf && !sb.failed ? sb.buf : "");
    free(sb.buf);
    return n;
}

static void embedding_destroy(lam_module *m)
{
    embedding_state *s = m->state;
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static double embedding_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                              const int64_t *out)
{
    (void)m, (void)in_ndim, (void)in;
    double n = 1;
    for (int i = 0; i < out_ndim; i++)
        n *= (double)out[i];
    return n; /* a copy per element */
}

static const lam__module_ops embedding_ops = {
    .type_name = "Embedding",
    .py_module = "torch.nn.modules.sparse",
    .output_shape = embedding_shape,
    .forward_into = embedding_forward,
    .extra_repr = embedding_repr,
    .destroy = embedding_destroy,
    .flops = embedding_flops,
    /* every type reaches the forward, which refuses all but int64 ids in
     * PyTorch's words */
    .in_dtypes = 1u << LAM_FLOAT32 | 1u << LAM_INT64 | 1u << LAM_BOOL,
};

/* init.normal_: N(0, 1) from the default generator (Box-Muller). */
static void fill_normal(float *w, int64_t n)
{
    enum { CHUNK = 512 };
    double u[CHUNK];
    for (int64_t i = 0; i < n;) {
        int64_t k = n - i < CHUNK / 2 ? n - i : CHUNK / 2;
        lam__rand_unit(u, (size_t)(2 * k));
        for (int64_t j = 0; j < k; j++) {
            double r = sqrt(-2.0 * log(1.0 - u[2 * j])); /* 1 - u in (0, 1] */
            w[i + j] = (float)(r * cos(2.0 * M_PI * u[2 * j + 1]));
        }
        i += k;
    }
}

LAM_API lam_status lam_embedding_create(lam_module **out, int64_t num_embeddings,
                                        int64_t embedding_dim, int64_t padding_idx,
                                        double max_norm, double norm_type,
                                        bool scale_grad_by_freq, bool sparse)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    if (padding_idx != LAM_EMBEDDING_NO_PADDING) {
        if ((padding_idx > 0 && padding_idx >= num_embeddings) ||
            (padding_idx < 0 && padding_idx < -num_embeddings))
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "Padding_idx must be within num_embeddings");
        if (padding_idx < 0)
            padding_idx += num_embeddings;
    }
    if (num_embeddings < 0 || embedding_dim < 0) {
        int64_t bad = num_embeddings < 0 ? num_embeddings : embedding_dim;
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Trying to create tensor with negative dimension %" PRId64 ": [%" PRId64
                          ", %" PRId64 "]",
                          bad, num_embeddings, embedding_dim);
    }
    if (!isnan(max_norm) && !isfinite(max_norm))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Embedding: max_norm must be finite or None");
    if (isnan(norm_type))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Embedding: norm_type must be a number");
    if (embedding_dim > 0 && num_embeddings > INT64_MAX / 4 / embedding_dim)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Embedding: %" PRId64 " x %" PRId64
                          " is too large", num_embeddings, embedding_dim);
    int64_t shape[2] = {num_embeddings, embedding_dim};
    if (lam__budget_charge(num_embeddings * embedding_dim,
                           "Embedding(%" PRId64 ", %" PRId64 ")", num_embeddings, embedding_dim))
        return LAM_ERR_INVALID_ARGUMENT;
    embedding_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Embedding");
    s->num = num_embeddings;
    s->dim = embedding_dim;
    s->padding_idx = padding_idx;
    s->max_norm = max_norm;
    s->norm_type = norm_type;
    s->scale_grad_by_freq = scale_grad_by_freq;
    s->sparse = sparse;
    pthread_mutex_init(&s->lock, NULL);
    lam_module *m;
    lam_status st = lam__module_new(&m, &embedding_ops, s);
    if (st) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return st;
    }
    lam_tensor *w = NULL;
    st = lam__tensor_create_uninit(&w, 2, shape);
    if (!st && (st = lam__module_add_param(m, "weight", w)))
        lam_tensor_release(w);
    if (st) {
        lam_module_release(m);
        return st;
    }
    fill_normal(w->data, w->numel);
    if (padding_idx != LAM_EMBEDDING_NO_PADDING && padding_idx < num_embeddings)
        /* _fill_padding_idx_with_zero */
        memset(w->data + padding_idx * embedding_dim, 0, (size_t)embedding_dim * sizeof(float));
    *out = m;
    return LAM_OK;
}

void lam__embedding_set_repr_style(lam_module *m, bool max_norm_int, bool norm_type_int)
{
    embedding_state *s = m->state;
    s->max_norm_int = max_norm_int;
    s->norm_type_int = norm_type_int;
}
