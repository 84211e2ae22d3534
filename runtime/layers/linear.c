/* Linear(in_features, out_features, bias=True): y = x Wᵀ + b over the last dim.
 * W is packed for the kernel table's GEMM when first needed and again only
 * when the weight changes: its version moves (lam_tensor_data, _set, _copy,
 * load_state_dict, mark_modified, writes through a view) or another tensor
 * takes its place (register_parameter moves the module's params_version).
 * The rule and what it cannot see are in include/lamina/tensor.h. */
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
    /* what `packed` was made from (atomics: read without the lock) */
    lam__stamp packed_stamp; /* the module's params_version, the weight's version */
    uint64_t packed_hash;     /* the weight's values, under LAMINA_CHECK_WEIGHTS */
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

/* LAMINA_CHECK_WEIGHTS=1: check on every use that the weight still holds the
 * values that were packed (finds writes that lamina cannot see).  -1 until
 * read, so that the first use takes the slow path, which reads it. */
static int check_weights = -1;

static bool checking_weights(void)
{
    int v = __atomic_load_n(&check_weights, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("LAMINA_CHECK_WEIGHTS");
        v = e && *e && strcmp(e, "0") != 0;
        __atomic_store_n(&check_weights, v, __ATOMIC_RELAXED);
    }
    return v;
}

static uint64_t weight_hash(const lam_tensor *w)
{
    uint64_t h = 0xcbf29ce484222325u;
    const uint32_t *p = (const uint32_t *)(const void *)w->data;
    for (int64_t i = 0; i < w->numel; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* Repack under the lock if still needed; the LAMINA_CHECK_WEIGHTS check. */
static __attribute__((noinline)) lam_status packed_slow(lam_module *m, const float **packed)
{
    linear_state *s = m->state;
    pthread_mutex_lock(&s->lock);
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    const lam_tensor *w = m->params[0].tensor;
    uint64_t v = lam__tensor_version(w);
    if (!lam__stamp_current(&s->packed_stamp, pv, v)) {
        lam__stamp_clear(&s->packed_stamp);
        lam__kernels()->gemm_pack((size_t)s->out, (size_t)s->in, w->data, s->packed);
        if (checking_weights())
            __atomic_store_n(&s->packed_hash, weight_hash(w), __ATOMIC_RELAXED);
        lam__stamp_set(&s->packed_stamp, pv, v);
    }
    pthread_mutex_unlock(&s->lock);
    if (checking_weights() && weight_hash(w) != __atomic_load_n(&s->packed_hash, __ATOMIC_RELAXED))
        return lam__error(LAM_ERR_RUNTIME,
                          "Linear(in_features=%" PRId64 ", out_features=%" PRId64
                          "): the weight's values changed but its version did not (written "
                          "through an old lam_tensor_data pointer or into wrapped memory); call "
                          "lam_tensor_mark_modified on the weight after writing it "
                          "(found by LAMINA_CHECK_WEIGHTS)",
                          s->in, s->out);
    *packed = s->packed;
    return LAM_OK;
}

/* The packed weight for the current weight, or NULL with the error set
 * (only under LAMINA_CHECK_WEIGHTS).  Inline: every Linear run asks. */
static inline const float *packed_weight(lam_module *m)
{
    linear_state *s = m->state;
    /* params_version first: a replaced weight is stored before it moves */
    unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
    const lam_tensor *w = m->params[0].tensor;
    if (__builtin_expect(lam__stamp_current(&s->packed_stamp, pv, lam__tensor_version(w)) &&
                             __atomic_load_n(&check_weights, __ATOMIC_RELAXED) == 0,
                         1))
        return s->packed;
    const float *packed;
    return packed_slow(m, &packed) ? NULL : packed;
}

lam_status lam__linear_packed(lam_module *m, const float **packed)
{
    *packed = packed_weight(m);
    return *packed ? LAM_OK : LAM_ERR_RUNTIME;
}

void lam__linear_info(const lam_module *m, int64_t *in, int64_t *out, const float **bias)
{
    linear_state *s = m->state;
    *in = s->in;
    *out = s->out;
    *bias = s->bias ? m->params[1].tensor->data : NULL;
}

static lam_status linear_run_rows(lam_module *m, const float *x, int64_t rows, float *y,
                                  lam__epilogue ep, size_t n_begin, size_t n_end)
{
    linear_state *s = m->state;
    const float *packed = packed_weight(m);
    if (!packed)
        return LAM_ERR_RUNTIME;
    const float *bias = s->bias ? m->params[1].tensor->data : NULL;
    lam__kernels()->gemm((size_t)rows, (size_t)s->out, (size_t)s->in, x, (size_t)s->in, packed,
                         bias, y, (size_t)s->out, ep, n_begin, n_end);
    return LAM_OK;
}

/* A Linear into a narrow Linear (at most LAM_MLP2_NMAX outputs, the first
 * with at most LAM_MLP2_KMAX inputs) runs as one lam__kernel_table.mlp2 call
 * where the kernel table has it. */
static bool linear_can_pair(const lam_module *m1, const lam_module *m2)
{
    if (m2->ops != &lam__linear_ops)
        return false;
    const linear_state *a = m1->state, *b = m2->state;
    return a->out == b->in && a->in <= LAM_MLP2_KMAX &&
           b->out <= LAM_MLP2_NMAX;
}

static lam_status linear_run_pair(lam_module *m1, lam__epilogue ep1, lam_module *m2,
                                  lam__epilogue ep2, const float *x, int64_t rows, float *y)
{
    linear_state *a = m1->state, *b = m2->state;
    if (ep1.add || ep2.add) /* mlp2 takes no addend (kernels.h) */
        return lam__error(LAM_ERR_RUNTIME, "Linear: a residual addend in a fused Linear pair is "
                          "not supported (internal error)");
    const float *p1 = packed_weight(m1), *p2 = p1 ? packed_weight(m2) : NULL;
    if (!p2)
        return LAM_ERR_RUNTIME;
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
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY};
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

/* A per-output-feature scale and shift (an eval-mode BatchNorm1d after it)
 * folds into the weight's rows and the bias (lam__module_ops). */
static int linear_affine_axis(const lam_module *m, int out_ndim, const int64_t *out)
{
    (void)m;
    (void)out;
    return out_ndim >= 2 ? out_ndim - 1 : -1;
}

static lam_status linear_fold_affine(const lam_module *m, const double *scale,
                                     const double *shift, lam_module **folded)
{
    const linear_state *s = m->state;
    lam_status st = LAM_OK;
    if (!*folded) { /* a Linear with a bias, not drawn from the generator */
        linear_state *f = calloc(1, sizeof *f);
        if (!f)
            return lam__oom("folded Linear");
        *f = (linear_state){.in = s->in, .out = s->out, .bias = true};
        pthread_mutex_init(&f->lock, NULL);
        f->packed_len = lam__kernels()->gemm_packed_size((size_t)s->out, (size_t)s->in);
        f->packed = lam__aligned_alloc(f->packed_len * sizeof(float));
        lam_module *fm = NULL;
        st = f->packed ? lam__module_new(&fm, &lam__linear_ops, f) : lam__oom("folded Linear");
        if (st) {
            lam__aligned_free(f->packed);
            pthread_mutex_destroy(&f->lock);
            free(f);
            return st;
        }
        lam_tensor *w = NULL, *b = NULL;
        int64_t wshape[2] = {s->out, s->in};
        st = lam_tensor_create(&w, 2, wshape);
        if (!st && (st = lam__module_add_param(fm, "weight", w)))
            lam_tensor_release(w);
        if (!st && !(st = lam_tensor_create(&b, 1, &s->out)) &&
            (st = lam__module_add_param(fm, "bias", b)))
            lam_tensor_release(b);
        if (st) {
            lam_module_release(fm);
            return st;
        }
        *folded = fm;
    }
    lam_tensor *fw = (*folded)->params[0].tensor, *fb = (*folded)->params[1].tensor;
    const float *w = m->params[0].tensor->data;
    const float *b = s->bias ? m->params[1].tensor->data : NULL;
    for (int64_t o = 0; o < s->out; o++) {
        for (int64_t i = 0; i < s->in; i++)
            fw->data[o * s->in + i] = (float)((double)w[o * s->in + i] * scale[o]);
        fb->data[o] = (float)((b ? (double)b[o] * scale[o] : 0.0) + shift[o]);
    }
    lam_tensor_mark_modified(fw); /* repacked at its next use */
    lam_tensor_mark_modified(fb);
    return LAM_OK;
}

const lam__module_ops lam__linear_ops = {
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
    .affine_axis = linear_affine_axis,
    .fold_affine = linear_fold_affine,
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
    const lam__kernel_table *k = lam__kernels();
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
    const float *packed;
    lam__linear_packed(m, &packed); /* now, so that the first forward need not */
    *out = m;
    return LAM_OK;
}
