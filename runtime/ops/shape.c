/* Views and layout ops (<lamina/ops.h>): view, flatten, narrow, split,
 * chunk, cat, transpose, permute, contiguous, with torch 1.13's checks and
 * messages.
 *
 * lamina's tensors are contiguous with no strides, so a view is a shape over
 * a contiguous run of another tensor's data (sharing it, keeping its owner
 * alive).  A slice along a dim is such a run when every dim before it has
 * size 1 or the whole dim is taken; other slices are copies, and transpose
 * and permute always copy (into a contiguous tensor, in parallel ranges of
 * output rows). */
#include "runtime/ops/ops.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

LAM_API lam_status lam_tensor_view(lam_tensor **out, const lam_tensor *x, int ndim,
                                   const int64_t *shape)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(x);
    LAM__CHECK_ARRAY(shape, ndim > 0);
    if (ndim < 1 || ndim > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "tensor: %d dimensions requested, lamina supports 1 to %d", ndim,
                          LAM_MAX_DIMS);
    /* torch's infer_size; a product past int64 (of sizes that include no
     * 0) matches no tensor: -2 stands for it */
    int64_t res[LAM_MAX_DIMS], newsize = 1;
    int infer = -1;
    bool zero = false, overflow = false;
    for (int i = 0; i < ndim; i++) {
        res[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0)
                return lam__error(LAM_ERR_SHAPE, "only one dimension can be inferred");
            infer = i;
        } else if (shape[i] >= 0) {
            zero |= shape[i] == 0;
            overflow |= __builtin_mul_overflow(newsize, shape[i], &newsize);
        } else {
            return lam__error(LAM_ERR_SHAPE, "invalid shape dimension %" PRId64, shape[i]);
        }
    }
    if (zero)
        newsize = 0;
    else if (overflow)
        newsize = -2;
    char buf[96];
    if (x->numel == newsize || (infer >= 0 && newsize > 0 && x->numel % newsize == 0)) {
        if (infer >= 0) {
            if (newsize == 0)
                return lam__error(LAM_ERR_SHAPE,
                                  "cannot reshape tensor of 0 elements into shape %s because the "
                                  "unspecified dimension size -1 can be any value and is ambiguous",
                                  lam_shape_str(ndim, shape, buf, sizeof buf));
            res[infer] = x->numel / newsize;
        }
        return lam__tensor_view_at(out, x, 0, ndim, res);
    }
    return lam__error(LAM_ERR_SHAPE, "shape '%s' is invalid for input of size %" PRId64,
                      lam_shape_str(ndim, shape, buf, sizeof buf), x->numel);
}

LAM_API lam_status lam_tensor_flatten(lam_tensor **out, const lam_tensor *x, int start_dim,
                                      int end_dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(x);
    int64_t s, e;
    lam_status st = lam__wrap_dim(start_dim, x->ndim, &s);
    if (!st)
        st = lam__wrap_dim(end_dim, x->ndim, &e);
    if (st)
        return st;
    if (s > e)
        return lam__error(LAM_ERR_SHAPE,
                          "flatten() has invalid args: start_dim cannot come after end_dim");
    int64_t shape[LAM_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        if (i <= s || i > e) {
            shape[nd++] = x->shape[i];
        } else if (__builtin_mul_overflow(shape[nd - 1], x->shape[i], &shape[nd - 1])) {
            /* an empty tensor's dims: [0, 2^62, 2^62] */
            char buf[96];
            return lam__error(LAM_ERR_SHAPE,
                              "lam_tensor_flatten: dims %d to %d of shape %s flatten to a size "
                              "too large for int64",
                              (int)s, (int)e, lam_shape_str(x->ndim, x->shape, buf, sizeof buf));
        }
    }
    return lam__tensor_view_at(out, x, 0, nd, shape);
}

/* ---- strided copies: out[i] = x[perm(i)], walked in flat output ranges ---- */

typedef struct copy_ctx {
    int nd;
    int64_t shape[LAM_MAX_DIMS], stride[LAM_MAX_DIMS]; /* output shape, input strides */
    const float *x;
    float *y;
} copy_ctx;

static void copy_range(void *p, int64_t begin, int64_t end)
{
    const copy_ctx *c = p;
    int last = c->nd - 1;
    int64_t len_row = c->shape[last], s = c->stride[last];
    while (begin < end) {
        int64_t row = begin / len_row, col = begin % len_row;
        int64_t len = len_row - col < end - begin ? len_row - col : end - begin;
        int64_t off = col * s, r = row;
        for (int d = last - 1; d >= 0; d--) {
            off += (r % c->shape[d]) * c->stride[d];
            r /= c->shape[d];
        }
        const float *src = c->x + off;
        float *dst = c->y + begin;
        if (s == 1)
            memcpy(dst, src, sizeof(float) * (size_t)len);
        else
            for (int64_t i = 0; i < len; i++)
                dst[i] = src[i * s];
        begin += len;
    }
}

/* y (of shape out_shape, numel n) = the strided walk of x */
static void strided_copy(float *y, const float *x, int nd, const int64_t *out_shape,
                         const int64_t *in_strides, int64_t n)
{
    copy_ctx c;
    c.nd = nd;
    memcpy(c.shape, out_shape, sizeof(int64_t) * (size_t)nd);
    memcpy(c.stride, in_strides, sizeof(int64_t) * (size_t)nd);
    c.x = x;
    c.y = y;
    lam__ops_for(n, 2.0, 16, copy_range, &c);
}

/* Elements [start, start + length) of dim d: a view when contiguous, else a copy. */
static lam_status slice(lam_tensor **out, const lam_tensor *x, int d, int64_t start, int64_t length)
{
    int64_t shape[LAM_MAX_DIMS], strides[LAM_MAX_DIMS], outer = 1;
    memcpy(shape, x->shape, sizeof shape);
    shape[d] = length;
    if (length == 0 || x->numel == 0) /* (x's strides may not fit in int64 then) */
        return lam__tensor_view_at(out, x, 0, x->ndim, shape);
    lam__contiguous_strides(x->ndim, x->shape, strides);
    for (int i = 0; i < d; i++)
        outer *= x->shape[i];
    if (outer == 1 || length == x->shape[d])
        return lam__tensor_view_at(out, x, start * strides[d], x->ndim, shape);
    lam_tensor *y;
    if (x->dtype != LAM_FLOAT32) /* the strided copy below moves floats */
        return lam__dtype_error("lam_tensor_narrow", "input", x);
    lam_status st = lam__tensor_create_uninit(&y, x->ndim, shape);
    if (st)
        return st;
    strided_copy(y->data, x->data + start * strides[d], x->ndim, shape, strides, y->numel);
    *out = y;
    return LAM_OK;
}

LAM_API lam_status lam_tensor_narrow(lam_tensor **out, const lam_tensor *x, int dim,
                                     int64_t start, int64_t length)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(x);
    int64_t d;
    lam_status st = lam__wrap_dim(dim, x->ndim, &d);
    if (st)
        return st;
    int64_t size = x->shape[d];
    if (start != size && (st = lam__wrap_dim(start, size, &start))) /* start == size is the end */
        return st;
    if (length < 0 || start > size - length)
        return lam__error(LAM_ERR_SHAPE,
                          "start (%" PRId64 ") + length (%" PRId64 ") exceeds dimension size (%" PRId64
                          ").",
                          start, length, size);
    return slice(out, x, (int)d, start, length);
}

/* n pieces of the given sizes along d (checked by the caller) */
static lam_status pieces(lam_tensor **outs, const lam_tensor *x, int d, size_t n,
                         const int64_t *sizes, int64_t uniform)
{
    int64_t start = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t left = x->shape[d] - start;
        int64_t len = sizes ? sizes[i] : uniform <= left ? uniform : left;
        lam_status st = slice(&outs[i], x, d, start, len);
        if (st) {
            for (size_t j = 0; j < i; j++) {
                lam_tensor_release(outs[j]);
                outs[j] = NULL;
            }
            return st;
        }
        start += len;
    }
    return LAM_OK;
}

static lam_status split_uniform(const char *what, lam_tensor **outs, size_t max_outs,
                                size_t *n_outs, const lam_tensor *x, int64_t split_size,
                                int64_t d, size_t want)
{
    int64_t size = x->shape[d];
    size_t n = want;
    if (!n && split_size) /* ceil(size / split_size); size + split_size may overflow */
        n = (size_t)(size / split_size + (size % split_size != 0));
    if (n == 0)
        n = 1;
    if (n_outs)
        *n_outs = n;
    if (n > max_outs)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %zu pieces, room for %zu", what, n,
                          max_outs);
    return pieces(outs, x, (int)d, n, NULL, split_size);
}

LAM_API lam_status lam_tensor_split(lam_tensor **outs, size_t max_outs, size_t *n_outs,
                                    const lam_tensor *x, int64_t split_size, int dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(outs);
    LAM__CHECK_ARG(x); /* n_outs may be NULL */
    if (split_size < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "split expects split_size be non-negative, but got split_size=%" PRId64,
                          split_size);
    int64_t d;
    lam_status st = lam__wrap_dim(dim, x->ndim, &d);
    if (st)
        return st;
    if (split_size == 0 && x->shape[d] != 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "split_size can only be 0 if dimension size is 0, but got dimension size "
                          "of %" PRId64,
                          x->shape[d]);
    return split_uniform("lam_tensor_split", outs, max_outs, n_outs, x, split_size, d, 0);
}

LAM_API lam_status lam_tensor_split_sizes(lam_tensor **outs, const lam_tensor *x, size_t n,
                                          const int64_t *sizes, int dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(outs);
    LAM__CHECK_ARG(x);
    LAM__CHECK_ARRAY(sizes, n);
    int64_t d;
    lam_status st = lam__wrap_dim(dim, x->ndim, &d);
    if (st)
        return st;
    int64_t sum = 0;
    bool negative = false, overflow = false;
    for (size_t i = 0; i < n; i++) {
        negative |= sizes[i] < 0;
        overflow |= __builtin_add_overflow(sum, sizes[i], &sum);
    }
    if (negative || overflow || sum != x->shape[d]) {
        lam__sb sb = {0};
        for (size_t i = 0; i < n; i++)
            lam__sb_printf(&sb, i ? ", %" PRId64 : "%" PRId64, sizes[i]);
        if (negative)
            st = lam__error(LAM_ERR_INVALID_ARGUMENT,
                            "split_with_sizes expects split_sizes have only non-negative entries, "
                            "but got split_sizes=[%s]",
                            sb.buf ? sb.buf : "");
        else
            st = lam__error(LAM_ERR_SHAPE,
                            "split_with_sizes expects split_sizes to sum exactly to %" PRId64
                            " (input tensor's size at dimension %d), but got split_sizes=[%s]",
                            x->shape[d], dim, sb.buf ? sb.buf : "");
        free(sb.buf);
        return st;
    }
    return pieces(outs, x, (int)d, n, sizes, 0);
}

LAM_API lam_status lam_tensor_chunk(lam_tensor **outs, size_t *n_outs, const lam_tensor *x,
                                    int64_t chunks, int dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(outs);
    LAM__CHECK_ARG(x); /* n_outs may be NULL */
    if (chunks <= 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "chunk expects `chunks` to be greater than 0, got: %" PRId64, chunks);
    int64_t d;
    lam_status st = lam__wrap_dim(dim, x->ndim, &d);
    if (st)
        return st;
    int64_t size = x->shape[d], split_size = size / chunks + (size % chunks != 0);
    /* an empty dim still gives `chunks` empty pieces, as torch */
    size_t want = split_size == 0 && size == 0 ? (size_t)chunks : 0;
    return split_uniform("lam_tensor_chunk", outs, (size_t)chunks, n_outs, x, split_size, d, want);
}

/* ---- cat ---- */

typedef struct cat_ctx {
    size_t n;
    const lam_tensor *const *ts;
    int dim;
    int64_t inner, out_row; /* floats per index of dim after it, floats per output row */
    float *y;
} cat_ctx;

/* torch 1.13 skips 1-D empty tensors (the legacy "no tensor" placeholder) */
static bool cat_skip(const lam_tensor *t) { return t->ndim == 1 && t->numel == 0; }

static void cat_range(void *p, int64_t begin, int64_t end)
{
    const cat_ctx *c = p;
    for (int64_t o = begin; o < end; o++) {
        float *dst = c->y + o * c->out_row;
        for (size_t i = 0; i < c->n; i++) {
            const lam_tensor *t = c->ts[i];
            if (cat_skip(t))
                continue;
            int64_t len = t->shape[c->dim] * c->inner;
            memcpy(dst, t->data + o * len, sizeof(float) * (size_t)len);
            dst += len;
        }
    }
}

LAM_API lam_status lam_tensor_cat(lam_tensor **out, size_t n, const lam_tensor *const *tensors,
                                  int dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARRAY(tensors, n);
    if (n == 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "torch.cat(): expected a non-empty list of Tensors");
    for (size_t i = 0; i < n; i++)
        if (!tensors[i])
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_tensor_cat: tensors[%zu] is NULL", i);
    const lam_tensor *ref = NULL;
    for (size_t i = 0; i < n && !ref; i++)
        if (!cat_skip(tensors[i]))
            ref = tensors[i];
    if (!ref) /* only empty tensors: an empty result, whatever dim */
        return lam__op_output("lam_tensor_cat", out, 1, tensors[0]->shape, NULL, 0, false, out);
    int64_t d;
    lam_status st = lam__wrap_dim(dim, ref->ndim, &d);
    if (st)
        return st;
    int64_t shape[LAM_MAX_DIMS];
    memcpy(shape, ref->shape, sizeof shape);
    shape[d] = 0;
    for (size_t i = 0; i < n; i++) {
        const lam_tensor *t = tensors[i];
        if (cat_skip(t))
            continue;
        if (t->ndim != ref->ndim)
            return lam__error(LAM_ERR_SHAPE, "Tensors must have same number of dimensions: got %d and %d",
                              ref->ndim, t->ndim);
        for (int j = 0; j < ref->ndim; j++)
            if (j != d && t->shape[j] != ref->shape[j])
                return lam__error(LAM_ERR_SHAPE,
                                  "Sizes of tensors must match except in dimension %d. Expected size "
                                  "%" PRId64 " but got size %" PRId64 " for tensor number %zu in the list.",
                                  (int)d, ref->shape[j], t->shape[j], i);
        if (__builtin_add_overflow(shape[d], t->shape[d], &shape[d])) /* empty tensors' dims */
            return lam__error(LAM_ERR_SHAPE,
                              "lam_tensor_cat: the sizes in dimension %d add up to more than "
                              "%" PRId64,
                              (int)d, INT64_MAX);
    }
    lam_tensor *y;
    st = lam__op_output("lam_tensor_cat", out, ref->ndim, shape, tensors, (int)n, false, &y);
    if (st)
        return st;
    if (y->numel == 0) /* (its row sizes may not fit in int64) */
        return lam__op_finish(out, y, LAM_OK);
    cat_ctx c = {n, tensors, (int)d, 1, 0, lam_tensor_data(y)};
    int64_t outer = 1;
    for (int j = 0; j < d; j++)
        outer *= shape[j];
    for (int j = (int)d + 1; j < ref->ndim; j++)
        c.inner *= shape[j];
    c.out_row = shape[d] * c.inner;
    lam__ops_for(outer, 2.0 * (double)c.out_row, 1, cat_range, &c);
    return lam__op_finish(out, y, LAM_OK);
}

/* ---- transpose, permute, contiguous ---- */

static lam_status permute(const char *what, lam_tensor **out, const lam_tensor *x, const int64_t *perm)
{
    int64_t shape[LAM_MAX_DIMS], strides[LAM_MAX_DIMS], in_strides[LAM_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[perm[i]];
    lam_tensor *y;
    lam_status st = lam__op_output(what, out, x->ndim, shape, &x, 1, false, &y);
    if (st || y->numel == 0) /* (an empty x's strides may not fit in int64) */
        return st ? st : lam__op_finish(out, y, LAM_OK);
    lam__contiguous_strides(x->ndim, x->shape, in_strides);
    for (int i = 0; i < x->ndim; i++)
        strides[i] = in_strides[perm[i]];
    strided_copy(lam_tensor_data(y), x->data, x->ndim, shape, strides, y->numel);
    return lam__op_finish(out, y, LAM_OK);
}

LAM_API lam_status lam_tensor_transpose(lam_tensor **out, const lam_tensor *x, int dim0, int dim1)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    int64_t d0, d1, perm[LAM_MAX_DIMS];
    lam_status st = lam__wrap_dim(dim0, x->ndim, &d0);
    if (!st)
        st = lam__wrap_dim(dim1, x->ndim, &d1);
    if (st)
        return st;
    for (int i = 0; i < x->ndim; i++)
        perm[i] = i;
    perm[d0] = d1;
    perm[d1] = d0;
    return permute("lam_tensor_transpose", out, x, perm);
}

LAM_API lam_status lam_tensor_permute(lam_tensor **out, const lam_tensor *x, int n, const int *dims)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    LAM__CHECK_ARRAY(dims, n);
    /* torch 1.13 says "permute(sparse_coo): ..." for every tensor; the
     * label is dropped here */
    if (n != x->ndim)
        return lam__error(LAM_ERR_SHAPE,
                          "permute(): number of dimensions in the tensor input does not match the "
                          "length of the desired ordering of dimensions i.e. input.dim() = %d is not "
                          "equal to len(dims) = %d",
                          x->ndim, n);
    int64_t perm[LAM_MAX_DIMS];
    bool seen[LAM_MAX_DIMS] = {false};
    for (int i = 0; i < n; i++) {
        lam_status st = lam__wrap_dim(dims[i], x->ndim, &perm[i]);
        if (st)
            return st;
        if (seen[perm[i]])
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "permute(): duplicate dims are not allowed.");
        seen[perm[i]] = true;
    }
    return permute("lam_tensor_permute", out, x, perm);
}

LAM_API lam_status lam_tensor_contiguous(lam_tensor **out, const lam_tensor *x)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    if (!*out) { /* torch returns self for a contiguous tensor; lamina's always are */
        *out = lam_tensor_retain((lam_tensor *)x);
        return LAM_OK;
    }
    lam_tensor *y;
    lam_status st = lam__op_output("lam_tensor_contiguous", out, x->ndim, x->shape, &x, 1, true, &y);
    if (!st && y->data != x->data)
        memcpy(lam_tensor_data(y), x->data, sizeof(float) * (size_t)x->numel);
    return st;
}
