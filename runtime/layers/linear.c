/* Linear(in_features, out_features, bias=True): y = x Wᵀ + b over the last dim.
 * W is packed for the kernel table's GEMM when first needed and again only
 * when the weight tensor's version changes (load_state_dict, lam_tensor_data). */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct linear_state {
    int64_t in, out;
    bool bias;
    pthread_mutex_t lock;
    float *packed;
    size_t packed_len;
    unsigned packed_version;
    bool packed_valid;
} linear_state;

static lam_status linear_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                               int64_t *out)
{
    linear_state *s = m->state;
    if (in[ndim - 1] != s->in) {
        char buf[64];
        return lam__error(LAM_ERR_SHAPE,
                          "Linear(in_features=%" PRId64 "): input has %" PRId64
                          " features, expected %" PRId64 " (input shape %s)",
                          s->in, in[ndim - 1], s->in, lam_shape_str(ndim, in, buf, sizeof buf));
    }
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[ndim - 1] = s->out;
    return LAM_OK;
}

/* The packed weight for the current weight values (repacks under a lock). */
const float *lam__linear_packed(lam_module *m)
{
    linear_state *s = m->state;
    const lam_tensor *w = m->params[0].tensor;
    unsigned v = lam__tensor_version(w);
    if (__atomic_load_n(&s->packed_valid, __ATOMIC_ACQUIRE) && s->packed_version == v)
        return s->packed;
    pthread_mutex_lock(&s->lock);
    if (!s->packed_valid || s->packed_version != v) {
        __atomic_store_n(&s->packed_valid, false, __ATOMIC_RELEASE);
        const lam_kernels *k = lam__kernels();
        k->gemm_pack((size_t)s->out, (size_t)s->in, w->data, s->packed);
        s->packed_version = v;
        __atomic_store_n(&s->packed_valid, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&s->lock);
    return s->packed;
}

void lam__linear_info(const lam_module *m, int64_t *in, int64_t *out, const float **bias)
{
    linear_state *s = m->state;
    *in = s->in;
    *out = s->out;
    *bias = s->bias ? m->params[1].tensor->data : NULL;
}

static lam_status linear_run_rows(lam_module *m, const float *x, int64_t rows, float *y,
                                  lam_epilogue ep, size_t n_begin, size_t n_end)
{
    linear_state *s = m->state;
    const float *packed = lam__linear_packed(m);
    const float *bias = s->bias ? m->params[1].tensor->data : NULL;
    lam__kernels()->gemm((size_t)rows, (size_t)s->out, (size_t)s->in, x, (size_t)s->in, packed,
                         bias, y, (size_t)s->out, ep, n_begin, n_end);
    return LAM_OK;
}

/* A Linear into a narrow Linear (at most LAM_MLP2_NMAX outputs, the first
 * with at most LAM_MLP2_KMAX inputs) runs as one lam_kernels.mlp2 call
 * where the kernel table has it. */
static bool linear_can_pair(const lam_module *m1, const lam_module *m2)
{
    if (m2->ops != &lam__linear_ops)
        return false;
    const linear_state *a = m1->state, *b = m2->state;
    return lam__kernels()->mlp2 && a->out == b->in && a->in <= LAM_MLP2_KMAX &&
           b->out <= LAM_MLP2_NMAX;
}

static lam_status linear_run_pair(lam_module *m1, lam_epilogue ep1, lam_module *m2,
                                  lam_epilogue ep2, const float *x, int64_t rows, float *y)
{
    linear_state *a = m1->state, *b = m2->state;
    const float *p1 = lam__linear_packed(m1), *p2 = lam__linear_packed(m2);
    const float *b1 = a->bias ? m1->params[1].tensor->data : NULL;
    const float *b2 = b->bias ? m2->params[1].tensor->data : NULL;
    lam__kernels()->mlp2((size_t)rows, (size_t)a->in, (size_t)a->out, (size_t)b->out, x,
                         (size_t)a->in, p1, b1, ep1, p2, b2, ep2, y, (size_t)b->out);
    return LAM_OK;
}

static lam_status linear_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    linear_state *s = m->state;
    /* counted on the output: with in_features 0 every row is the bias */
    int64_t rows = s->out ? out->numel / s->out : 0;
    lam_epilogue ep = {LAM_ACT_NONE, 0.0f};
    return linear_run_rows(m, in->data, rows, out->data, ep, 0, (size_t)s->out);
}

static double linear_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                           const int64_t *out)
{
    (void)m;
    double n = 2.0 * (double)in[in_ndim - 1];
    for (int i = 0; i < out_ndim; i++)
        n *= (double)out[i];
    return n;
}

static int linear_repr(const lam_module *m, char *buf, size_t size)
{
    linear_state *s = m->state;
    return snprintf(buf, size, "in_features=%" PRId64 ", out_features=%" PRId64 ", bias=%s", s->in,
                    s->out, s->bias ? "True" : "False");
}

static void linear_destroy(lam_module *m)
{
    linear_state *s = m->state;
    pthread_mutex_destroy(&s->lock);
    lam__aligned_free(s->packed);
    free(s);
}

static bool linear_rowwise(const lam_module *m, int ndim)
{
    (void)m;
    return ndim >= 2;
}

const lam_module_ops lam__linear_ops = {
    .type_name = "Linear",
    .py_module = "torch.nn.modules.linear",
    .output_shape = linear_shape,
    .forward_into = linear_forward,
    .extra_repr = linear_repr,
    .destroy = linear_destroy,
    .rowwise = linear_rowwise,
    .run_rows = linear_run_rows,
    .flops = linear_flops,
    .can_pair = linear_can_pair,
    .run_pair = linear_run_pair,
};

LAM_API lam_status lam_linear_create(lam_module **out, int64_t in_features, int64_t out_features,
                                     bool bias)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    /* PyTorch accepts zero sizes (an empty weight); lamina caps the weights at
     * 2^32 so that an absurd size fails here instead of in the allocator */
    if (in_features < 0 || out_features < 0 || in_features > (INT64_C(1) << 31) ||
        out_features > (INT64_C(1) << 31) || in_features * out_features > (INT64_C(1) << 32))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Linear: in_features and out_features must be non-negative and at most "
                          "2^31 (with at most 2^32 weights), got in_features=%" PRId64
                          ", out_features=%" PRId64, in_features, out_features);
    /* counted before anything is allocated (model files have a limit) */
    lam_status st = lam__budget_charge(in_features * out_features + (bias ? out_features : 0),
                                       "Linear(in_features=%" PRId64 ", out_features=%" PRId64 ")",
                                       in_features, out_features);
    if (st)
        return st;
    linear_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("Linear");
    s->in = in_features;
    s->out = out_features;
    s->bias = bias;
    pthread_mutex_init(&s->lock, NULL);
    const lam_kernels *k = lam__kernels();
    s->packed_len = k->gemm_packed_size((size_t)out_features, (size_t)in_features);
    s->packed = lam__aligned_alloc(s->packed_len * sizeof(float));
    lam_module *m = NULL;
    st = s->packed ? lam__module_new(&m, &lam__linear_ops, s) : lam__oom("Linear weights");
    if (st) {
        lam__aligned_free(s->packed);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return st;
    }
    /* kaiming_uniform_(a=sqrt(5)) gives bound 1/sqrt(fan_in); bias the same
     * (0 when fan_in is 0, as in Linear.reset_parameters) */
    float bound = in_features ? (float)(1.0 / sqrt((double)in_features)) : 0.0f;
    lam_tensor *w = NULL, *b = NULL;
    int64_t wshape[2] = {out_features, in_features};
    st = lam_tensor_create(&w, 2, wshape);
    if (!st)
        st = lam__module_add_param(m, "weight", w);
    else
        w = NULL;
    if (st) {
        lam_tensor_release(w);
        lam_module_release(m);
        return st;
    }
    lam__rand_uniform(w->data, (size_t)w->numel, -bound, bound);
    if (bias) {
        st = lam_tensor_create(&b, 1, &out_features);
        if (!st && (st = lam__module_add_param(m, "bias", b)))
            lam_tensor_release(b);
        if (st) {
            lam_module_release(m);
            return st;
        }
        lam__rand_uniform(b->data, (size_t)b->numel, -bound, bound);
    }
    lam__linear_packed(m);
    *out = m;
    return LAM_OK;
}
