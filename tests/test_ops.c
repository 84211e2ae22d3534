/* The tensor ops (<lamina/ops.h>) against PyTorch 1.13: every case of
 * tests/fixtures/ops/ops.txt (tools/gen-ops-fixtures.py) — values (copies
 * and one-operation results bit for bit, others within tests/fixture.h's
 * tolerance plus, for matmul and linear, the float32 dot product's error
 * bound that the fixture carries), shapes,
 * broadcasting, empty tensors, and every refused call's status and message
 * byte for byte — computed into a new output and again into a given one;
 * then the output rule (in place, overlap, wrong shape), views sharing data,
 * NULL arguments, and bit-identical results on 1 and 2 threads. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fixture.h"

#define MAX_OUTS 16

/* ---- running one fixture case ---- */

typedef struct op_case {
    const char *op;
    const char *const *args;
    long nargs;
    lam_tensor *in[8];
    int nin;
} op_case;

static int64_t iarg(const op_case *c, long i)
{
    cr_assert(i < c->nargs, "%s: argument %ld missing", c->op, i);
    return strtoll(c->args[i], NULL, 10);
}

/* The ints of args[from..] */
static int int_args(const op_case *c, long from, int *out)
{
    int n = 0;
    for (long i = from; i < c->nargs; i++)
        out[n++] = (int)iarg(c, i);
    return n;
}

static bool is_view_op(const char *op)
{
    return !strcmp(op, "view") || !strcmp(op, "flatten") || !strcmp(op, "narrow") ||
           !strcmp(op, "split") || !strcmp(op, "split_sizes") || !strcmp(op, "chunk");
}

/* Run the case.  outs[0] is the in/out of the computing ops; the view ops
 * fill outs[0..*nout). */
static lam_status run_op(const op_case *c, lam_tensor **outs, size_t *nout)
{
    const char *op = c->op;
    lam_tensor *const *in = c->in;
    int dims[8];
    *nout = 1;
    if (!strcmp(op, "add"))
        return lam_tensor_add(outs, in[0], in[1]);
    if (!strcmp(op, "sub"))
        return lam_tensor_sub(outs, in[0], in[1]);
    if (!strcmp(op, "mul"))
        return lam_tensor_mul(outs, in[0], in[1]);
    if (!strcmp(op, "div"))
        return lam_tensor_div(outs, in[0], in[1]);
    if (strstr(op, "_scalar")) {
        double s = strtod(c->args[0], NULL);
        if (!strcmp(op, "add_scalar"))
            return lam_tensor_add_scalar(outs, in[0], s);
        if (!strcmp(op, "sub_scalar"))
            return lam_tensor_sub_scalar(outs, in[0], s);
        if (!strcmp(op, "rsub_scalar"))
            return lam_tensor_rsub_scalar(outs, in[0], s);
        if (!strcmp(op, "mul_scalar"))
            return lam_tensor_mul_scalar(outs, in[0], s);
        if (!strcmp(op, "div_scalar"))
            return lam_tensor_div_scalar(outs, in[0], s);
        if (!strcmp(op, "rdiv_scalar"))
            return lam_tensor_rdiv_scalar(outs, in[0], s);
    }
    if (!strcmp(op, "sigmoid"))
        return lam_tensor_sigmoid(outs, in[0]);
    if (!strcmp(op, "tanh"))
        return lam_tensor_tanh(outs, in[0]);
    if (!strcmp(op, "relu"))
        return lam_tensor_relu(outs, in[0]);
    if (!strcmp(op, "silu"))
        return lam_tensor_silu(outs, in[0]);
    if (!strcmp(op, "gelu"))
        return lam_tensor_gelu(outs, in[0], c->args[0]);
    if (!strcmp(op, "softmax"))
        return lam_tensor_softmax(outs, in[0], (int)iarg(c, 0));
    if (!strcmp(op, "log_softmax"))
        return lam_tensor_log_softmax(outs, in[0], (int)iarg(c, 0));
    if (!strcmp(op, "matmul"))
        return lam_tensor_matmul(outs, in[0], in[1]);
    if (!strcmp(op, "linear"))
        return lam_tensor_linear(outs, in[0], in[1], c->nin > 2 ? in[2] : NULL);
    if (!strcmp(op, "cat"))
        return lam_tensor_cat(outs, (size_t)c->nin, (const lam_tensor *const *)in, (int)iarg(c, 0));
    if (!strcmp(op, "split"))
        return lam_tensor_split(outs, MAX_OUTS, nout, in[0], iarg(c, 0), (int)iarg(c, 1));
    if (!strcmp(op, "split_sizes")) {
        int64_t sizes[8];
        for (long i = 1; i < c->nargs; i++)
            sizes[i - 1] = iarg(c, i);
        *nout = (size_t)(c->nargs - 1);
        return lam_tensor_split_sizes(outs, in[0], *nout, sizes, (int)iarg(c, 0));
    }
    if (!strcmp(op, "chunk"))
        return lam_tensor_chunk(outs, nout, in[0], iarg(c, 0), (int)iarg(c, 1));
    if (!strcmp(op, "view")) {
        int64_t shape[8];
        for (long i = 0; i < c->nargs; i++)
            shape[i] = iarg(c, i);
        return lam_tensor_view(outs, in[0], (int)c->nargs, shape);
    }
    if (!strcmp(op, "flatten"))
        return lam_tensor_flatten(outs, in[0], (int)iarg(c, 0), (int)iarg(c, 1));
    if (!strcmp(op, "narrow"))
        return lam_tensor_narrow(outs, in[0], (int)iarg(c, 0), iarg(c, 1), iarg(c, 2));
    if (!strcmp(op, "transpose"))
        return lam_tensor_transpose(outs, in[0], (int)iarg(c, 0), (int)iarg(c, 1));
    if (!strcmp(op, "permute"))
        return lam_tensor_permute(outs, in[0], int_args(c, 0, dims), dims);
    if (!strcmp(op, "contiguous"))
        return lam_tensor_contiguous(outs, in[0]);
    if (!strcmp(op, "sum"))
        return lam_tensor_sum(outs, in[0], int_args(c, 1, dims), dims, iarg(c, 0) != 0);
    if (!strcmp(op, "mean"))
        return lam_tensor_mean(outs, in[0], int_args(c, 1, dims), dims, iarg(c, 0) != 0);
    cr_assert_fail("unknown op '%s' in the fixture", op);
    return LAM_ERR_RUNTIME;
}

static lam_status status_named(const char *s)
{
    if (!strcmp(s, "index"))
        return LAM_ERR_INDEX;
    if (!strcmp(s, "shape"))
        return LAM_ERR_SHAPE;
    cr_assert_str_eq(s, "invalid");
    return LAM_ERR_INVALID_ARGUMENT;
}

static const char *case_str(const op_case *c, int i, char *buf, size_t size)
{
    size_t o = (size_t)snprintf(buf, size, "case %d: %s(", i, c->op);
    for (int k = 0; k < c->nin && o < size; k++) {
        char s[64];
        o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? ", " : "",
                              lam_shape_str(lam_tensor_ndim(c->in[k]), lam_tensor_shape(c->in[k]), s,
                                            sizeof s));
    }
    for (long k = 0; k < c->nargs && o < size; k++)
        o += (size_t)snprintf(buf + o, size - o, ", %s", c->args[k]);
    if (o < size)
        snprintf(buf + o, size - o, ")");
    return buf;
}

static void expect_equal(const lam_tensor *got, const fx_tensor *want, bool exact,
                         const fx_tensor *bound, const char *what)
{
    char msg[512];
    cr_assert_not_null(got, "%s: no output", what);
    cr_assert_eq(lam_tensor_ndim(got), want->ndim, "%s: %d dims, expected %d", what,
                 lam_tensor_ndim(got), want->ndim);
    cr_assert(memcmp(lam_tensor_shape(got), want->shape, sizeof(int64_t) * (size_t)want->ndim) == 0,
              "%s: shape %s", what,
              lam_shape_str(lam_tensor_ndim(got), lam_tensor_shape(got), msg, sizeof msg));
    if (exact) {
        const float *g = lam_tensor_cdata(got);
        for (int64_t i = 0; i < want->numel; i++)
            cr_assert(memcmp(&g[i], &want->data[i], sizeof(float)) == 0,
                      "%s: [%lld] = %.9g, expected exactly %.9g", what, (long long)i, g[i],
                      want->data[i]);
    } else if (bound) { /* a dot product: its error bound on top of the usual tolerance */
        const float *g = lam_tensor_cdata(got);
        for (int64_t i = 0; i < want->numel; i++) {
            double e = want->data[i], tol = FX_ATOL + FX_RTOL * fabs(e) + bound->data[i];
            cr_assert(fabs(g[i] - e) <= tol, "%s: [%lld] = %.9g, expected %.9g (tolerance %.3g)",
                      what, (long long)i, g[i], e, tol);
        }
    } else {
        cr_assert(fx_tensor_close(got, want, msg, sizeof msg), "%s: %s", what, msg);
    }
}

Test(ops, pytorch_fixture)
{
    fx_file *f = FX_OPEN("ops/ops.txt");
    int64_t ncases = 0;
    cr_assert(fx_int(f, "ncases", &ncases) && ncases > 300, "fixture has %lld cases", (long long)ncases);
    int failures_checked = 0, into_checked = 0;
    for (int i = 0; i < ncases; i++) {
        char name[64], what[512];
        op_case c = {0};
        snprintf(name, sizeof name, "c%d.op", i);
        c.op = fx_text(f, name);
        snprintf(name, sizeof name, "c%d.args", i);
        c.nargs = fx_list(f, name, &c.args);
        snprintf(name, sizeof name, "c%d.nin", i);
        int64_t nin = 0;
        cr_assert(c.op && c.nargs >= 0 && fx_int(f, name, &nin), "case %d incomplete", i);
        c.nin = (int)nin;
        for (int k = 0; k < c.nin; k++) {
            snprintf(name, sizeof name, "c%d.in%d", i, k);
            c.in[k] = fx_lam_tensor(f, name);
            cr_assert_not_null(c.in[k], "%s", name);
        }
        case_str(&c, i, what, sizeof what);

        lam_tensor *outs[MAX_OUTS] = {0};
        size_t nout = 0;
        lam_clear_error();
        lam_status st = run_op(&c, outs, &nout);
        char err[1024];
        snprintf(err, sizeof err, "%s", lam_last_error());

        snprintf(name, sizeof name, "c%d.error", i);
        const char *want_err = fx_text(f, name);
        if (want_err) {
            snprintf(name, sizeof name, "c%d.status", i);
            lam_status want_st = status_named(fx_text(f, name));
            cr_expect_eq(st, want_st, "%s: %s, expected %s (%s)", what, lam_status_str(st),
                         lam_status_str(want_st), err);
            EXPECT_STR_EQ(err, want_err, what);
            for (size_t k = 0; k < MAX_OUTS; k++)
                cr_expect_null(outs[k], "%s: output %zu set on failure", what, k);
            failures_checked++;
        } else {
            cr_assert_eq(st, LAM_OK, "%s: %s: %s", what, lam_status_str(st), err);
            int64_t want_n = 0, exact = 0;
            snprintf(name, sizeof name, "c%d.nout", i);
            cr_assert(fx_int(f, name, &want_n));
            snprintf(name, sizeof name, "c%d.exact", i);
            cr_assert(fx_int(f, name, &exact));
            cr_assert_eq((int64_t)nout, want_n, "%s: %zu outputs, expected %lld", what, nout,
                         (long long)want_n);
            const fx_tensor *want0 = NULL;
            for (size_t k = 0; k < nout; k++) {
                snprintf(name, sizeof name, "c%d.out%zu", i, k);
                const fx_tensor *want = fx_get_tensor(f, name);
                cr_assert_not_null(want, "%s", name);
                if (!k)
                    want0 = want;
                snprintf(name, sizeof name, "c%d.tol%zu", i, k);
                expect_equal(outs[k], want, exact != 0, fx_get_tensor(f, name), what);
            }
            /* again into a given output of the right shape, holding garbage */
            if (!is_view_op(c.op)) {
                lam_tensor *given = NULL;
                ASSERT_OK(lam_tensor_create(&given, want0->ndim, want0->shape));
                float *g = lam_tensor_data(given);
                for (int64_t k = 0; k < want0->numel; k++)
                    g[k] = NAN;
                lam_tensor *o = given;
                size_t n1;
                cr_assert_eq(run_op(&c, &o, &n1), LAM_OK, "%s into a given output: %s", what,
                             lam_last_error());
                cr_assert_eq(o, given, "%s: the given output was replaced", what);
                snprintf(name, sizeof name, "c%d.tol0", i);
                expect_equal(given, want0, exact != 0, fx_get_tensor(f, name), what);
                lam_tensor_release(given);
                into_checked++;
            }
        }
        for (size_t k = 0; k < MAX_OUTS; k++)
            lam_tensor_release(outs[k]);
        for (int k = 0; k < c.nin; k++)
            lam_tensor_release(c.in[k]);
    }
    cr_log_info("%lld cases, %d refused calls, %d into a given output", (long long)ncases,
                failures_checked, into_checked);
    cr_expect(failures_checked > 80);
    fx_close(f);
}

/* ---- helpers for the hand-written cases ---- */

static lam_tensor *tensor_of(int ndim, const int64_t *shape, uint64_t seed)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create(&t, ndim, shape));
    float *d = lam_tensor_data(t);
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < lam_tensor_numel(t); i++) {
        s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
        d[i] = (float)((double)((s * 0x2545F4914F6CDD1Dull) >> 40) / (double)(1 << 24)) * 4.0f - 2.0f;
    }
    return t;
}
#define T(seed, ...) tensor_of(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__}, seed)

static bool same_bits(const lam_tensor *a, const lam_tensor *b)
{
    return lam_tensor_same_shape(a, b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  sizeof(float) * (size_t)lam_tensor_numel(a)) == 0;
}

/* ---- the output rule ---- */

Test(ops, in_place_and_given_outputs)
{
    lam_tensor *a = T(1, 3, 4), *b = T(2, 1, 4), *want = NULL;
    ASSERT_OK(lam_tensor_add(&want, a, b));
    lam_tensor *y = a; /* a += b */
    ASSERT_OK(lam_tensor_add(&y, a, b));
    cr_expect_eq(y, a);
    cr_expect(same_bits(a, want), "in place add differs");
    lam_tensor_release(want);
    want = NULL;
    ASSERT_OK(lam_tensor_softmax(&want, a, 0));
    y = a;
    ASSERT_OK(lam_tensor_softmax(&y, a, 0)); /* strided rows, in place */
    cr_expect(same_bits(a, want), "in place softmax over dim 0 differs");

    /* a given output of the wrong shape is refused and left alone */
    lam_tensor *wrong = T(3, 4, 3);
    float before = lam_tensor_cdata(wrong)[0];
    y = wrong;
    EXPECT_FAIL(lam_tensor_add(&y, a, b), LAM_ERR_SHAPE,
                "output has shape [4, 3], which does not match the required output shape [3, 4]");
    cr_expect_eq(y, wrong);
    cr_expect_eq(lam_tensor_cdata(wrong)[0], before);

    /* ops other than the elementwise ones refuse an output sharing an input's memory */
    lam_tensor *sq = T(4, 3, 3), *v = NULL;
    y = sq;
    EXPECT_FAIL(lam_tensor_matmul(&y, sq, sq), LAM_ERR_INVALID_ARGUMENT,
                "unsupported operation: some elements of the input tensor and the written-to tensor "
                "refer to a single memory location. Please clone() the tensor before performing the "
                "operation.");
    y = sq;
    EXPECT_FAIL(lam_tensor_transpose(&y, sq, 0, 1), LAM_ERR_INVALID_ARGUMENT, "single memory location");
    /* and an elementwise op refuses a partial overlap (a view at an offset) */
    ASSERT_OK(lam_tensor_narrow(&v, sq, 0, 1, 2)); /* rows 1..2: a view */
    lam_tensor *first = NULL;
    ASSERT_OK(lam_tensor_narrow(&first, sq, 0, 0, 2));
    y = v;
    EXPECT_FAIL(lam_tensor_mul_scalar(&y, first, 2.0), LAM_ERR_INVALID_ARGUMENT, "single memory location");

    /* contiguous: the same tensor, or a copy into a given output */
    lam_tensor *c = NULL, *given = T(5, 3, 4);
    ASSERT_OK(lam_tensor_contiguous(&c, a));
    cr_expect_eq(c, a, "contiguous of a contiguous tensor is the tensor");
    lam_tensor_release(c);
    c = given;
    ASSERT_OK(lam_tensor_contiguous(&c, a));
    cr_expect(same_bits(given, a));
    c = a;
    ASSERT_OK(lam_tensor_contiguous(&c, a)); /* into itself: nothing to do */

    lam_tensor *list[] = {a, b};
    EXPECT_FAIL(lam_tensor_cat(&c, 0, (const lam_tensor *const *)list, 0), LAM_ERR_INVALID_ARGUMENT,
                "torch.cat(): expected a non-empty list of Tensors");
    c = a;
    EXPECT_FAIL(lam_tensor_cat(&c, 2, (const lam_tensor *const *)list, 0), LAM_ERR_SHAPE,
                "output has shape [3, 4], which does not match the required output shape [4, 4]");
    lam_tensor *big = T(6, 4, 4);
    c = big;
    list[1] = big;
    EXPECT_FAIL(lam_tensor_cat(&c, 1, (const lam_tensor *const *)&list[1], 0), LAM_ERR_INVALID_ARGUMENT,
                "single memory location");

    lam_tensor *ts[] = {a, b, want, wrong, sq, v, first, given, big};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        lam_tensor_release(ts[i]);
}

Test(ops, views_share_data_and_outlive_their_source)
{
    lam_tensor *x = T(7, 2, 3, 4), *v = NULL, *f = NULL, *n = NULL, *rows = NULL;
    int64_t shape[] = {4, -1};
    ASSERT_OK(lam_tensor_view(&v, x, 2, shape));
    cr_expect_eq(lam_tensor_dim(v, 1), 6);
    cr_expect_eq(lam_tensor_cdata(v), lam_tensor_cdata(x), "view shares the data");
    ASSERT_OK(lam_tensor_flatten(&f, x, 1, 2));
    cr_expect_eq(lam_tensor_cdata(f), lam_tensor_cdata(x));
    /* along the leading dim: a view at an offset; along another: a copy */
    ASSERT_OK(lam_tensor_narrow(&rows, x, 0, 1, 1));
    cr_expect_eq(lam_tensor_cdata(rows), lam_tensor_cdata(x) + 12);
    ASSERT_OK(lam_tensor_narrow(&n, x, 2, 1, 2));
    cr_expect_neq(lam_tensor_cdata(n), lam_tensor_cdata(x) + 1);
    cr_expect_eq(lam_tensor_cdata(n)[0], lam_tensor_cdata(x)[1]);
    cr_expect_eq(lam_tensor_cdata(n)[2], lam_tensor_cdata(x)[5]);
    /* writing through a view writes the source */
    lam_tensor_data(v)[5] = 42.0f;
    cr_expect_eq(lam_tensor_cdata(x)[5], 42.0f);
    /* the views keep the data alive */
    float x17 = lam_tensor_cdata(x)[17];
    lam_tensor_release(x);
    cr_expect_eq(lam_tensor_cdata(rows)[5], x17);
    lam_tensor *more = NULL;
    ASSERT_OK(lam_tensor_view(&more, rows, 1, (int64_t[]){-1})); /* a view of a view */
    cr_expect_eq(lam_tensor_cdata(more)[5], x17);
    lam_tensor_release(rows);
    cr_expect_eq(lam_tensor_cdata(more)[5], x17);
    lam_tensor_release(more);
    lam_tensor_release(v);
    lam_tensor_release(f);
    lam_tensor_release(n);
}

Test(ops, split_needs_room_and_cleans_up)
{
    lam_tensor *x = T(8, 5, 3), *outs[4] = {0};
    size_t n = 0;
    EXPECT_FAIL(lam_tensor_split(outs, 2, &n, x, 2, 0), LAM_ERR_INVALID_ARGUMENT,
                "lam_tensor_split: 3 pieces, room for 2");
    cr_expect_eq(n, 3, "the number needed is reported");
    cr_expect_null(outs[0]);
    ASSERT_OK(lam_tensor_split(outs, 4, &n, x, 2, 0));
    cr_expect_eq(n, 3);
    cr_expect_eq(lam_tensor_cdata(outs[2]), lam_tensor_cdata(x) + 12);
    for (size_t i = 0; i < n; i++)
        lam_tensor_release(outs[i]);
    lam_tensor_release(x);
}

Test(ops, empty_mean_is_nan_and_empty_sum_zero)
{
    lam_tensor *x = NULL, *m = NULL, *s = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){0, 3}));
    int d0 = 0;
    ASSERT_OK(lam_tensor_mean(&m, x, 1, &d0, false));
    ASSERT_OK(lam_tensor_sum(&s, x, 1, &d0, false));
    cr_assert_eq(lam_tensor_numel(m), 3);
    for (int i = 0; i < 3; i++) {
        cr_expect(isnan(lam_tensor_cdata(m)[i]));
        cr_expect_eq(lam_tensor_cdata(s)[i], 0.0f);
    }
    lam_tensor_release(x);
    lam_tensor_release(m);
    lam_tensor_release(s);
}

Test(ops, null_arguments_are_errors)
{
    lam_tensor *a = T(9, 2, 2), *y = NULL;
    EXPECT_FAIL(lam_tensor_add(NULL, a, a), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_add: out is NULL");
    EXPECT_FAIL(lam_tensor_add(&y, NULL, a), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_add: a is NULL");
    EXPECT_FAIL(lam_tensor_sigmoid(&y, NULL), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_sigmoid: x is NULL");
    EXPECT_FAIL(lam_tensor_matmul(&y, a, NULL), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_matmul: b is NULL");
    EXPECT_FAIL(lam_tensor_linear(&y, a, NULL, NULL), LAM_ERR_INVALID_ARGUMENT,
                "lam_tensor_linear: weight is NULL");
    EXPECT_FAIL(lam_tensor_view(&y, a, 1, NULL), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_view: shape is NULL");
    EXPECT_FAIL(lam_tensor_sum(&y, a, 1, NULL, false), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_sum: dims is NULL");
    EXPECT_FAIL(lam_tensor_split(NULL, 1, NULL, a, 1, 0), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_split: outs is NULL");
    const lam_tensor *list[] = {a, NULL};
    EXPECT_FAIL(lam_tensor_cat(&y, 2, list, 0), LAM_ERR_INVALID_ARGUMENT, "lam_tensor_cat: tensors[1] is NULL");
    cr_expect_null(y);
    /* lamina's own limits, said as such */
    lam_tensor *w1 = T(10, 2), *b2 = T(11, 1, 2);
    EXPECT_FAIL(lam_tensor_linear(&y, a, w1, NULL), LAM_ERR_SHAPE,
                "lam_tensor_linear: lamina takes a 2-D weight [out_features, in_features], got shape [2]");
    EXPECT_FAIL(lam_tensor_linear(&y, a, a, b2), LAM_ERR_SHAPE,
                "lam_tensor_linear: lamina takes a 1-D bias (out_features values), got shape [1, 2]");
    lam_tensor_release(a);
    lam_tensor_release(w1);
    lam_tensor_release(b2);
}

/* ---- 1 and 2 threads: the same bits ----
 * Every op below has enough work to be split (ops_util.c's threshold), so
 * with 2 threads it runs in two chunks: rows, or output columns for the
 * vector-matrix product. */

typedef lam_status (*run_fn)(lam_tensor **out, lam_tensor *const *in);

static lam_status r_add(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_add(o, in[0], in[1]); }
static lam_status r_div(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_div(o, in[1], in[0]); }
static lam_status r_muls(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_mul_scalar(o, in[0], 0.3); }
static lam_status r_sig(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_sigmoid(o, in[0]); }
static lam_status r_gelu(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_gelu(o, in[0], "tanh"); }
static lam_status r_sm1(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_softmax(o, in[0], -1); }
static lam_status r_sm0(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_log_softmax(o, in[0], 0); }
static lam_status r_mm(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_matmul(o, in[0], in[2]); }
static lam_status r_bmm(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_matmul(o, in[3], in[4]); }
static lam_status r_vm(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_matmul(o, in[5], in[8]); }
static lam_status r_lin(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_linear(o, in[0], in[6], in[7]); }
static lam_status r_cat(lam_tensor **o, lam_tensor *const *in)
{
    const lam_tensor *l[] = {in[0], in[0]};
    return lam_tensor_cat(o, 2, l, 1);
}
static lam_status r_tr(lam_tensor **o, lam_tensor *const *in) { return lam_tensor_transpose(o, in[0], 0, 1); }
static lam_status r_sum0(lam_tensor **o, lam_tensor *const *in)
{
    int d = 0;
    return lam_tensor_sum(o, in[0], 1, &d, false);
}
static lam_status r_mean1(lam_tensor **o, lam_tensor *const *in)
{
    int d = 1;
    return lam_tensor_mean(o, in[0], 1, &d, true);
}

Test(ops, one_and_two_threads_give_the_same_bits)
{
    lam_tensor *in[] = {
        T(20, 700, 513),     /* 0: x */
        T(21, 700, 1),       /* 1: broadcast column */
        T(22, 513, 300),     /* 2: matrix */
        T(23, 6, 100, 64),   /* 3: batch */
        T(24, 1, 64, 90),    /* 4: a batch of one, broadcast */
        T(25, 513),          /* 5: vector (few rows: the columns are split) */
        T(26, 257, 513),     /* 6: weight */
        T(27, 257),          /* 7: bias */
        T(28, 513, 1200),    /* 8: wide matrix */
    };
    const struct { const char *name; run_fn fn; } ops[] = {
        {"add", r_add}, {"div", r_div}, {"mul_scalar", r_muls}, {"sigmoid", r_sig},
        {"gelu", r_gelu}, {"softmax(-1)", r_sm1}, {"log_softmax(0)", r_sm0}, {"matmul", r_mm},
        {"batched matmul", r_bmm}, {"vector matmul", r_vm}, {"linear", r_lin}, {"cat", r_cat},
        {"transpose", r_tr}, {"sum(0)", r_sum0}, {"mean(1)", r_mean1},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        lam_tensor *one = NULL, *two = NULL;
        lam_set_num_threads(1);
        ASSERT_OK(ops[i].fn(&one, in));
        lam_set_num_threads(2);
        ASSERT_OK(ops[i].fn(&two, in));
        cr_expect(same_bits(one, two), "%s: 1 and 2 threads differ", ops[i].name);
        lam_tensor_release(one);
        lam_tensor_release(two);
    }
    lam_set_num_threads(0); /* back to the default */
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        lam_tensor_release(in[i]);
}

/* ---- a custom forward written with the ops, against PyTorch ----
 * GatedResidual (examples/ops_forward.c, tools/gen-ops-fixtures.py):
 * softmax(layers[2](x + sigmoid(layers[1](x)) * tanh(layers[0](x))), -1) */

static lam_status gated_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers"), *l0, *l1, *l2;
    lam_tensor *h = NULL, *g = NULL, *y = NULL;
    lam_status st = lam_container_get(layers, 0, &l0);
    if (!st) st = lam_container_get(layers, 1, &l1);
    if (!st) st = lam_container_get(layers, 2, &l2);
    if (!st) st = lam_module_forward(l0, x, &h);
    if (!st) st = lam_tensor_tanh(&h, h);
    if (!st) st = lam_module_forward(l1, x, &g);
    if (!st) st = lam_tensor_sigmoid(&g, g);
    if (!st) st = lam_tensor_mul(&g, g, h);
    if (!st) st = lam_tensor_add(&g, x, g);
    if (!st) st = lam_module_forward(l2, g, &y);
    if (!st) st = lam_tensor_softmax(&y, y, -1);
    lam_tensor_release(h);
    lam_tensor_release(g);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    *out = y;
    return LAM_OK;
}

Test(ops, custom_forward_with_ops_matches_pytorch)
{
    fx_file *f = FX_OPEN("ops/gated_residual.txt");
    lam_module *l0 = th_linear(10, 10, true), *l1 = th_linear(10, 10, true), *l2 = th_linear(10, 4, true);
    lam_module *layers = TH_LIST(l0, l1, l2);
    lam_module_release(l0);
    lam_module_release(l1);
    lam_module_release(l2);
    lam_custom_spec spec = {.type_name = "GatedResidual", .forward = gated_forward};
    lam_module *m = NULL;
    ASSERT_OK(lam_custom_create(&m, &spec));
    ASSERT_OK(lam_module_add_child(m, "layers", layers));
    lam_module_release(layers);
    lam_module_eval(m);
    EXPECT_REPR(m, f, "repr");
    lam_state_dict *sd = fx_state_dict(f);
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, NULL));
    lam_state_dict_free(sd);
    lam_tensor *x = fx_lam_tensor(f, "input"), *y = NULL, *bad = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y));
    char msg[512];
    cr_expect(fx_tensor_close(y, fx_get_tensor(f, "output"), msg, sizeof msg), "%s", msg);
    /* a child's error inside the forward carries its path */
    lam_tensor *x4 = NULL;
    ASSERT_OK(lam_tensor_narrow(&x4, x, 1, 0, 4));
    EXPECT_FAIL(lam_module_forward(m, x4, &bad), LAM_ERR_SHAPE,
                "GatedResidual.layers[0] Linear(in_features=10): input has 4 features");
    lam_tensor_release(x4);
    lam_tensor_release(x);
    lam_tensor_release(y);
    lam_module_release(m);
    fx_close(f);
}
