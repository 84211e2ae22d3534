/* Helpers of the tensor ops: dim wrapping, broadcasting, the output rule
 * of <lamina/ops.h> and the range-parallel loop. */
#include "runtime/ops/ops.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Below this much work (about one unit per float touched) an op runs on
 * the calling thread: starting threads costs more. */
#define OPS_PARALLEL_MIN_WORK 0.5e6

lam_status lam__wrap_dim(int64_t dim, int64_t ndim, int64_t *out)
{
    if (ndim <= 0)
        ndim = 1; /* torch wraps against a scalar's [-1, 0] */
    if (dim < -ndim || dim >= ndim)
        return lam__error(LAM_ERR_INDEX,
                          "Dimension out of range (expected to be in range of [%" PRId64 ", %" PRId64
                          "], but got %" PRId64 ")",
                          -ndim, ndim - 1, dim);
    *out = dim < 0 ? dim + ndim : dim;
    return LAM_OK;
}

lam_status lam__broadcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb, int *nout,
                                int64_t *out)
{
    int n = na > nb ? na : nb;
    int64_t res[LAM_MAX_DIMS];
    for (int i = n - 1; i >= 0; i--) {
        int off = n - 1 - i, da = na - 1 - off, db = nb - 1 - off;
        int64_t a = da >= 0 ? sa[da] : 1, b = db >= 0 ? sb[db] : 1;
        if (a != b && a != 1 && b != 1)
            return lam__error(LAM_ERR_SHAPE,
                              "The size of tensor a (%" PRId64 ") must match the size of tensor b "
                              "(%" PRId64 ") at non-singleton dimension %d",
                              a, b, i);
        res[i] = a == 1 ? b : a;
    }
    memcpy(out, res, sizeof(int64_t) * (size_t)n);
    *nout = n;
    return LAM_OK;
}

bool lam__tensors_overlap(const lam_tensor *a, const lam_tensor *b)
{
    if (!a->numel || !b->numel)
        return false;
    uintptr_t a0 = (uintptr_t)a->data, a1 = a0 + (uintptr_t)a->numel * lam__dtype_size(a->dtype);
    uintptr_t b0 = (uintptr_t)b->data, b1 = b0 + (uintptr_t)b->numel * lam__dtype_size(b->dtype);
    return a0 < b1 && b0 < a1;
}

lam_status lam__overlap_error(void)
{
    return lam__error(LAM_ERR_INVALID_ARGUMENT,
                      "unsupported operation: some elements of the input tensor and the written-to "
                      "tensor refer to a single memory location. Please clone() the tensor before "
                      "performing the operation.");
}

lam_status lam__op_output(const char *what, lam_tensor **out, int ndim, const int64_t *shape,
                          const lam_tensor *const *inputs, int n, bool in_place_ok,
                          lam_tensor **y)
{
    if (!out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: out is NULL", what);
    /* the ops compute on float32: any other type is refused here, once */
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->dtype != LAM_FLOAT32)
            return lam__dtype_error(what, "input", inputs[i]);
    lam_tensor *o = *out;
    if (!o)
        return lam__tensor_create_uninit(y, ndim, shape);
    if (o->dtype != LAM_FLOAT32)
        return lam__dtype_error(what, "output", o);
    if (o->ndim != ndim || memcmp(o->shape, shape, sizeof(int64_t) * (size_t)ndim) != 0) {
        char a[96], b[96];
        return lam__error(LAM_ERR_SHAPE,
                          "output has shape %s, which does not match the required output shape %s",
                          lam_shape_str(o->ndim, o->shape, a, sizeof a),
                          lam_shape_str(ndim, shape, b, sizeof b));
    }
    for (int i = 0; i < n; i++) {
        const lam_tensor *t = inputs[i];
        if (!t || !lam__tensors_overlap(o, t))
            continue;
        if (!(in_place_ok && t->data == o->data && t->numel == o->numel))
            return lam__overlap_error();
    }
    *y = o;
    return LAM_OK;
}

lam_status lam__op_finish(lam_tensor **out, lam_tensor *y, lam_status st)
{
    if (st) {
        if (y != *out)
            lam_tensor_release(y);
        return st;
    }
    *out = y;
    return LAM_OK;
}

typedef struct for_ctx {
    lam__range_fn fn;
    void *ctx;
    int64_t n, align;
} for_ctx;

static void for_task(void *p, int ith, int nth)
{
    const for_ctx *c = p;
    int64_t b, e;
    lam__split_range(c->n, ith, nth, c->align, &b, &e);
    if (b < e)
        c->fn(c->ctx, b, e);
}

void lam__ops_for(int64_t n, double unit_cost, int64_t align, lam__range_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (align < 1)
        align = 1;
    int nth = lam__threads_for_call();
    int64_t units = (n + align - 1) / align;
    if (nth > 1 && (double)n * unit_cost >= OPS_PARALLEL_MIN_WORK && units > 1) {
        if (units < nth)
            nth = (int)units;
        for_ctx c = {fn, ctx, n, align};
        lam__parallel(nth, for_task, &c);
        return;
    }
    fn(ctx, 0, n);
}

void lam__contiguous_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

lam_status lam__tensor_view_at(lam_tensor **out, const lam_tensor *x, int64_t offset, int ndim,
                               const int64_t *shape)
{
    int64_t n;
    lam_status st = lam__check_shape(ndim, shape, &n);
    if (st)
        return st;
    lam_tensor *v = lam__tensor_struct_new();
    if (!v)
        return lam__oom("tensor view");
    v->data = (float *)(void *)((char *)x->data + (size_t)offset * lam__dtype_size(x->dtype));
    v->dtype = x->dtype;
    v->ndim = ndim;
    memcpy(v->shape, shape, sizeof(int64_t) * (size_t)ndim);
    v->numel = n;
    v->refcount = 1;
    /* the view keeps the owner of the data alive (refcounts are not the
     * tensor's value: retaining a const tensor is fine) */
    v->base = lam_tensor_retain(x->base ? x->base : (lam_tensor *)x);
    *out = v;
    return LAM_OK;
}
