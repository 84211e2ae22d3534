/* torch.sum / torch.mean over dims (<lamina/ops.h>).
 *
 * Each output element is a float64 sum over the reduced indices in index
 * order, rounded once to float (the mean divides in float64 first), so it
 * does not depend on how outputs are split across threads.  Outputs whose
 * kept dims end the shape (sum over dim 0 of [N, C]) are computed a row
 * segment at a time: the reduced rows are added into float64 accumulators
 * in order, reading memory contiguously. */
#include "runtime/ops/ops.h"
#include <math.h>
#include <string.h>

#define SEG 256 /* accumulators per row segment */

typedef struct reduce_ctx {
    const float *x;
    float *y;
    int64_t inner;        /* product of the trailing kept dims (contiguous) */
    int nkept, nred;      /* the other kept dims, and the reduced dims */
    int64_t kshape[LAM_MAX_DIMS], kstride[LAM_MAX_DIMS];
    int64_t rshape[LAM_MAX_DIMS], rstride[LAM_MAX_DIMS];
    int64_t count;        /* reduced elements per output */
    bool mean;
    bool tail;            /* the reduced dims end the shape: each output's
                             elements are one contiguous run (x.mean([2, 3])) */
} reduce_ctx;

static int64_t offset_of(int64_t i, int n, const int64_t *shape, const int64_t *stride)
{
    int64_t off = 0;
    for (int d = n - 1; d >= 0; d--) {
        off += (i % shape[d]) * stride[d];
        i /= shape[d];
    }
    return off;
}

static void reduce_range(void *p, int64_t begin, int64_t end)
{
    const reduce_ctx *c = p;
    double acc[SEG];
    if (c->tail) { /* inner == 1; the same sum, without an index per element */
        for (int64_t o = begin; o < end; o++) {
            const float *row = c->x + offset_of(o, c->nkept, c->kshape, c->kstride);
            double a = 0.0;
            for (int64_t r = 0; r < c->count; r++)
                a += (double)row[r];
            c->y[o] = (float)(c->mean ? a / (double)c->count : a);
        }
        return;
    }
    while (begin < end) {
        int64_t o = begin / c->inner, c0 = begin % c->inner;
        int64_t len = c->inner - c0 < end - begin ? c->inner - c0 : end - begin;
        if (len > SEG)
            len = SEG;
        const float *base = c->x + offset_of(o, c->nkept, c->kshape, c->kstride) + c0;
        for (int64_t j = 0; j < len; j++)
            acc[j] = 0.0;
        for (int64_t r = 0; r < c->count; r++) {
            const float *row = base + offset_of(r, c->nred, c->rshape, c->rstride);
            for (int64_t j = 0; j < len; j++)
                acc[j] += (double)row[j];
        }
        float *y = c->y + begin;
        for (int64_t j = 0; j < len; j++)
            y[j] = (float)(c->mean ? acc[j] / (double)c->count : acc[j]);
        begin += len;
    }
}

static lam_status reduce(const char *what, lam_tensor **out, const lam_tensor *x, int n,
                         const int *dims, bool keepdim, bool mean)
{
    LAM__SYNC();
    bool red[LAM_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        int64_t d;
        lam_status st = lam__wrap_dim(dims[i], x->ndim, &d);
        if (st)
            return st;
        if (red[d])
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "dim %d appears multiple times in the list of dims",
                              (int)d);
        red[d] = true;
    }
    if (n <= 0) /* torch's sum(x): every dim */
        for (int i = 0; i < x->ndim; i++)
            red[i] = true;
    int64_t shape[LAM_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!red[i] || keepdim)
            shape[nd++] = red[i] ? 1 : x->shape[i];
    if (nd == 0) /* torch's 0-dim result is [1] here */
        shape[nd++] = 1;
    lam_tensor *y;
    lam_status st = lam__op_output(what, out, nd, shape, &x, 1, false, &y);
    if (st)
        return st;
    if (y->numel == 0)
        return lam__op_finish(out, y, LAM_OK);
    if (x->numel == 0) {
        /* every output sums no elements: 0, or NaN for the mean (and x's
         * strides and reduced sizes may not fit in int64: [0, 2^62, 2^62]) */
        float *v = lam_tensor_data(y);
        for (int64_t i = 0; i < y->numel; i++)
            v[i] = mean ? NAN : 0.0f;
        return lam__op_finish(out, y, LAM_OK);
    }
    int64_t strides[LAM_MAX_DIMS];
    lam__contiguous_strides(x->ndim, x->shape, strides);
    reduce_ctx c;
    memset(&c, 0, sizeof c);
    c.inner = 1;
    c.count = 1;
    c.mean = mean;
    int last_kept = x->ndim; /* the trailing kept dims start here */
    while (last_kept > 0 && !red[last_kept - 1])
        last_kept--;
    for (int i = 0; i < x->ndim; i++) {
        if (red[i]) {
            c.rshape[c.nred] = x->shape[i];
            c.rstride[c.nred++] = strides[i];
            c.count *= x->shape[i];
        } else if (i >= last_kept) {
            c.inner *= x->shape[i];
        } else {
            c.kshape[c.nkept] = x->shape[i];
            c.kstride[c.nkept++] = strides[i];
        }
    }
    int first_red = x->ndim;
    while (first_red > 0 && red[first_red - 1])
        first_red--;
    c.tail = c.inner == 1 && first_red < x->ndim;
    for (int i = 0; i < first_red; i++)
        c.tail = c.tail && !red[i];
    c.x = x->data;
    c.y = lam_tensor_data(y);
    lam__ops_for(y->numel, 2.0 * (double)c.count, 16, reduce_range, &c);
    return lam__op_finish(out, y, LAM_OK);
}

LAM_API lam_status lam_tensor_sum(lam_tensor **out, const lam_tensor *x, int n, const int *dims,
                                  bool keepdim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    LAM__CHECK_ARRAY(dims, n > 0); /* n == 0: every dim */
    return reduce("lam_tensor_sum", out, x, n, dims, keepdim, false);
}

LAM_API lam_status lam_tensor_mean(lam_tensor **out, const lam_tensor *x, int n, const int *dims,
                                   bool keepdim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    LAM__CHECK_ARRAY(dims, n > 0); /* n == 0: every dim */
    return reduce("lam_tensor_mean", out, x, n, dims, keepdim, true);
}
