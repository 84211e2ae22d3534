/* Elementwise tensor ops (<lamina/ops.h>): add/sub/mul/div with torch's
 * broadcasting and with a scalar, the activations, softmax over a dim.
 *
 * Broadcasting: the two shapes are padded to the output's rank and each
 * operand gets stride 0 where it is broadcast; adjacent dims that every
 * operand walks contiguously are merged (torch's TensorIterator does the
 * same), so same-shape operands are one flat run and [3,1] x [1,4] is rows
 * of 4.  The output is walked in flat ranges (split across threads); each
 * row segment is one kernel call: array op array, array op scalar, or the
 * reversed scalar op array when the first operand is the broadcast one. */
#include "runtime/ops/ops.h"
#include <stdlib.h>
#include <string.h>

typedef enum binop { OP_ADD, OP_SUB, OP_MUL, OP_DIV } binop;

static const char *const binop_names[] = {"lam_tensor_add", "lam_tensor_sub", "lam_tensor_mul",
                                          "lam_tensor_div"};

typedef struct binary_ctx {
    int nd;
    int64_t shape[LAM_MAX_DIMS], sa[LAM_MAX_DIMS], sb[LAM_MAX_DIMS];
    const float *a, *b;
    float *y;
    lam__binary_fn vv;   /* a[i] op b[i] */
    lam__binaryc_fn vc;  /* a[i] op c */
    lam__binaryc_fn cv;  /* c op b[i], called as cv(n, b, c, y) */
} binary_ctx;

static void binary_range(void *p, int64_t begin, int64_t end)
{
    const binary_ctx *c = p;
    int last = c->nd - 1;
    int64_t len_row = c->shape[last];
    bool va = c->sa[last] != 0, vb = c->sb[last] != 0;
    while (begin < end) {
        int64_t row = begin / len_row, col = begin % len_row;
        int64_t len = len_row - col < end - begin ? len_row - col : end - begin;
        int64_t oa = col * c->sa[last], ob = col * c->sb[last], r = row;
        for (int d = last - 1; d >= 0; d--) {
            int64_t i = r % c->shape[d];
            r /= c->shape[d];
            oa += i * c->sa[d];
            ob += i * c->sb[d];
        }
        const float *pa = c->a + oa, *pb = c->b + ob;
        float *py = c->y + begin;
        if (va && vb) {
            c->vv((size_t)len, pa, pb, py);
        } else if (va) {
            c->vc((size_t)len, pa, *pb, py);
        } else if (vb) {
            c->cv((size_t)len, pb, *pa, py);
        } else {
            c->vc(1, pa, *pb, py);
            for (int64_t i = 1; i < len; i++)
                py[i] = py[0];
        }
        begin += len;
    }
}

/* Strides of operand t (rank nt) against an output of rank nd: 0 where t
 * has size 1 or no dim. */
static void broadcast_strides(const lam_tensor *t, int nd, int64_t *strides)
{
    int64_t own[LAM_MAX_DIMS];
    lam__contiguous_strides(t->ndim, t->shape, own);
    for (int i = 0; i < nd; i++) {
        int d = i - (nd - t->ndim);
        strides[i] = d >= 0 && t->shape[d] != 1 ? own[d] : 0;
    }
}

/* Drop the output's size-1 dims, then merge an outer dim into the next
 * inner one where both operands step through them as one (stride[outer] ==
 * stride[inner] * size[inner]). */
static void coalesce(binary_ctx *c, int nd, const int64_t *shape, const int64_t *sa,
                     const int64_t *sb)
{
    int n = 0;
    for (int i = 0; i < nd; i++) {
        if (shape[i] == 1)
            continue;
        if (n > 0 && c->sa[n - 1] == sa[i] * shape[i] && c->sb[n - 1] == sb[i] * shape[i]) {
            c->shape[n - 1] *= shape[i];
            c->sa[n - 1] = sa[i];
            c->sb[n - 1] = sb[i];
            continue;
        }
        c->shape[n] = shape[i];
        c->sa[n] = sa[i];
        c->sb[n] = sb[i];
        n++;
    }
    if (n == 0) { /* a single element */
        c->shape[0] = 1;
        c->sa[0] = c->sb[0] = 0;
        n = 1;
    }
    c->nd = n;
}

static lam_status binary(binop op, lam_tensor **out, const lam_tensor *a, const lam_tensor *b)
{
    LAM__SYNC();
    const char *what = binop_names[op];
    int nd;
    int64_t shape[LAM_MAX_DIMS];
    lam_status st = lam__broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, &nd, shape);
    if (st)
        return st;
    lam_tensor *y;
    const lam_tensor *ins[2] = {a, b};
    st = lam__op_output(what, out, nd, shape, ins, 2, true, &y);
    if (st)
        return st;
    if (y->numel == 0) /* an empty operand's strides may not fit in int64 */
        return lam__op_finish(out, y, LAM_OK);
    const lam__kernel_table *k = lam__kernels();
    binary_ctx c;
    int64_t sa[LAM_MAX_DIMS], sb[LAM_MAX_DIMS];
    broadcast_strides(a, nd, sa);
    broadcast_strides(b, nd, sb);
    coalesce(&c, nd, shape, sa, sb);
    c.a = a->data;
    c.b = b->data;
    c.y = lam_tensor_data(y);
    switch (op) {
    case OP_ADD: c.vv = k->add, c.vc = k->addc, c.cv = k->addc; break;
    case OP_SUB: c.vv = k->sub, c.vc = k->subc, c.cv = k->rsubc; break;
    case OP_MUL: c.vv = k->mul, c.vc = k->mulc, c.cv = k->mulc; break;
    case OP_DIV: c.vv = k->div, c.vc = k->divc, c.cv = k->rdivc; break;
    }
    lam__ops_for(y->numel, 2.0, 16, binary_range, &c);
    return lam__op_finish(out, y, LAM_OK);
}

/* Before the sync: an operand whose deferred call can take the op
 * (lam__pending.join: a convolution's residual, or its activation) */
static bool joined(lam_tensor **out, const lam_tensor *t, const lam_tensor *other, int act,
                   lam_status *st)
{
    return t->pend.run && t->pend.join && t->pend.join(out, t, other, act, st);
}

LAM_API lam_status lam_tensor_add(lam_tensor **out, const lam_tensor *a, const lam_tensor *b)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    lam_status st;
    if (joined(out, a, b, -1, &st) || joined(out, b, a, -1, &st)) /* (a + b == b + a, bit for bit) */
        return st;
    LAM__SYNC();
    return binary(OP_ADD, out, a, b);
}

LAM_API lam_status lam_tensor_sub(lam_tensor **out, const lam_tensor *a, const lam_tensor *b)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    return binary(OP_SUB, out, a, b);
}

LAM_API lam_status lam_tensor_mul(lam_tensor **out, const lam_tensor *a, const lam_tensor *b)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    return binary(OP_MUL, out, a, b);
}

LAM_API lam_status lam_tensor_div(lam_tensor **out, const lam_tensor *a, const lam_tensor *b)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    return binary(OP_DIV, out, a, b);
}

/* ---- with a scalar, and the activations: one kernel over flat ranges ---- */

typedef struct flat_ctx {
    const float *x;
    float *y;
    lam__binaryc_fn bc; /* with a scalar */
    float c;
    lam__unary_fn un;   /* or an activation */
} flat_ctx;

static void flat_range(void *p, int64_t begin, int64_t end)
{
    const flat_ctx *c = p;
    if (c->bc)
        c->bc((size_t)(end - begin), c->x + begin, c->c, c->y + begin);
    else
        c->un((size_t)(end - begin), c->x + begin, c->y + begin);
}

static lam_status flat(const char *what, lam_tensor **out, const lam_tensor *x, lam__binaryc_fn bc,
                       double s, lam__unary_fn un, double unit_cost)
{
    LAM__SYNC();
    lam_tensor *y;
    lam_status st = lam__op_output(what, out, x->ndim, x->shape, &x, 1, true, &y);
    if (st)
        return st;
    flat_ctx c = {x->data, lam_tensor_data(y), bc, (float)s, un};
    lam__ops_for(y->numel, unit_cost, 16, flat_range, &c);
    return lam__op_finish(out, y, LAM_OK);
}

#define SCALAR_OP(fn, field)                                                                       \
    LAM_API lam_status fn(lam_tensor **out, const lam_tensor *a, double s)                         \
    {                                                                                              \
        LAM__CHECK_ARG(out);                                                                       \
        LAM__CHECK_ARG(a);                                                                         \
        return flat(#fn, out, a, lam__kernels()->field, s, NULL, 2.0);                             \
    }
SCALAR_OP(lam_tensor_add_scalar, addc)
SCALAR_OP(lam_tensor_sub_scalar, subc)
SCALAR_OP(lam_tensor_rsub_scalar, rsubc)
SCALAR_OP(lam_tensor_mul_scalar, mulc)
SCALAR_OP(lam_tensor_div_scalar, divc)
SCALAR_OP(lam_tensor_rdiv_scalar, rdivc)

#define ACTIVATION(fn, field, cost)                                                                \
    LAM_API lam_status fn(lam_tensor **out, const lam_tensor *x)                                   \
    {                                                                                              \
        LAM__CHECK_ARG(out);                                                                       \
        LAM__CHECK_ARG(x);                                                                         \
        return flat(#fn, out, x, NULL, 0.0, lam__kernels()->field, cost);                          \
    }
ACTIVATION(lam_tensor_sigmoid, sigmoid, 10.0)
ACTIVATION(lam_tensor_tanh, tanh, 10.0)

LAM_API lam_status lam_tensor_relu(lam_tensor **out, const lam_tensor *x)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    lam_status st;
    if (joined(out, x, NULL, LAM_ACTIVATION_RELU, &st))
        return st;
    return flat("lam_tensor_relu", out, x, NULL, 0.0, lam__kernels()->relu, 2.0);
}
ACTIVATION(lam_tensor_silu, silu, 10.0)

LAM_API lam_status lam_tensor_gelu(lam_tensor **out, const lam_tensor *x, const char *approximate)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    const lam__kernel_table *k = lam__kernels();
    lam__unary_fn f;
    if (!approximate || strcmp(approximate, "none") == 0)
        f = k->gelu;
    else if (strcmp(approximate, "tanh") == 0)
        f = k->gelu_tanh;
    else
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "approximate argument must be either none or tanh.");
    return flat("lam_tensor_gelu", out, x, NULL, 0.0, f, 10.0);
}

/* ---- softmax over a dim ----
 * [outer, len, inner]: with inner == 1 every row is contiguous; otherwise
 * each of the outer * inner strided rows is gathered into a buffer, run and
 * scattered back.  Threads take ranges of rows. */

typedef struct softmax_ctx {
    const float *x;
    float *y;
    int64_t len, inner;
    lam__unary_fn row;
    float *scratch; /* 2 * len floats per thread slot, strided rows only */
    int64_t rows_per_slot;
} softmax_ctx;

static void softmax_range(void *p, int64_t begin, int64_t end)
{
    const softmax_ctx *c = p;
    int64_t len = c->len, inner = c->inner;
    if (inner == 1) {
        for (int64_t r = begin; r < end; r++)
            c->row((size_t)len, c->x + r * len, c->y + r * len);
        return;
    }
    /* one buffer per chunk: chunks are whole multiples of rows_per_slot */
    float *buf = c->scratch + (begin / c->rows_per_slot) * 2 * len, *res = buf + len;
    for (int64_t r = begin; r < end; r++) {
        int64_t o = r / inner, i = r % inner;
        const float *x = c->x + o * len * inner + i;
        float *y = c->y + o * len * inner + i;
        for (int64_t j = 0; j < len; j++)
            buf[j] = x[j * inner];
        c->row((size_t)len, buf, res);
        for (int64_t j = 0; j < len; j++)
            y[j * inner] = res[j];
    }
}

static lam_status softmax(const char *what, lam_tensor **out, const lam_tensor *x, int dim, bool log)
{
    LAM__SYNC();
    int64_t d;
    lam_status st = lam__wrap_dim(dim, x->ndim, &d);
    if (st)
        return st;
    lam_tensor *y;
    /* in place is fine for contiguous rows; strided rows go through a buffer */
    st = lam__op_output(what, out, x->ndim, x->shape, &x, 1, true, &y);
    if (st)
        return st;
    if (x->numel == 0) /* and the product of the other dims may not fit in int64 */
        return lam__op_finish(out, y, LAM_OK);
    const lam__kernel_table *k = lam__kernels();
    softmax_ctx c = {x->data, lam_tensor_data(y), x->shape[d], 1, log ? k->log_softmax : k->softmax,
                     NULL, 1};
    for (int i = (int)d + 1; i < x->ndim; i++)
        c.inner *= x->shape[i];
    int64_t rows = x->numel / c.len;
    if (c.inner > 1) {
        /* chunks of rows_per_slot rows, each with its own buffer */
        int slots = lam__threads_for_call();
        c.rows_per_slot = (rows + slots - 1) / slots;
        slots = (int)((rows + c.rows_per_slot - 1) / c.rows_per_slot);
        c.scratch = malloc(sizeof(float) * 2 * (size_t)c.len * (size_t)slots);
        if (!c.scratch)
            return lam__op_finish(out, y, lam__oom("softmax row buffers"));
    }
    lam__ops_for(rows, 20.0 * (double)c.len, c.rows_per_slot, softmax_range, &c);
    free(c.scratch);
    return lam__op_finish(out, y, LAM_OK);
}

LAM_API lam_status lam_tensor_softmax(lam_tensor **out, const lam_tensor *x, int dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    return softmax("lam_tensor_softmax", out, x, dim, false);
}

LAM_API lam_status lam_tensor_log_softmax(lam_tensor **out, const lam_tensor *x, int dim)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    return softmax("lam_tensor_log_softmax", out, x, dim, true);
}
