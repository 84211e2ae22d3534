/* Custom forwards in the executor (issue 11.2): plans run them with forward
 * pools, split row-independent ones across threads like a Sequential, keep
 * the bits of the direct forward, survive tensors kept beyond the forward,
 * and lam_module_forward_into writes into a caller's tensor. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tests/threads/models.h"

/* The forward called directly, outside any plan: a per-call argument makes
 * lam_module_forward_args skip the plan (our forwards ignore it). */
static lam_tensor *direct(lam_module *m, const lam_tensor *x)
{
    int dummy = 0;
    lam_tensor *y = NULL;
    cr_assert_eq(lam_module_forward_args(m, x, &dummy, &y), LAM_OK, "%s", lam_last_error());
    return y;
}

static void assert_same_bits(const lam_tensor *a, const lam_tensor *b, const char *what)
{
    cr_assert(lam_tensor_same_shape(a, b), "%s: shapes differ", what);
    cr_assert(memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                     (size_t)lam_tensor_numel(a) * sizeof(float)) == 0,
              "%s: differs from the direct forward", what);
}

static char *describe(lam_module *m, int64_t rows, int64_t cols, int threads)
{
    lam_set_num_threads(threads);
    int64_t shape[2] = {rows, cols};
    lam_plan *p;
    cr_assert_eq(lam_plan_create(&p, m, 2, shape), LAM_OK, "%s", lam_last_error());
    char *d = lam_plan_describe(p);
    lam_plan_free(p);
    lam_set_num_threads(0);
    return d;
}

/* A plan description; in a serial build (--disable-openmp) only its steps */
static void assert_describes(char *d, const char *want)
{
    lam_set_num_threads(2);
    bool threads = lam_get_num_threads() == 2;
    lam_set_num_threads(0);
    if (threads)
        cr_assert_str_eq(d, want);
    else
        cr_assert_str_eq(strchr(d, ':'), strchr(want, ':'), "%s", d);
    lam_free(d);
}

/* plan, forward and forward_into on 1-4 threads against the direct forward */
static void check_against_direct(lam_module *m, int64_t cols, const char *name)
{
    static const int64_t batches[] = {1, 7, 64, 1000, 4096};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        lam_tensor *x = make_input(batches[b], cols, (unsigned)b + 11);
        lam_tensor *ref = direct(m, x);
        for (int t = 1; t <= 4; t++) {
            lam_set_num_threads(t);
            for (int rep = 0; rep < 2; rep++) { /* the second run reuses the pools */
                lam_tensor *y = NULL;
                cr_assert_eq(lam_module_forward(m, x, &y), LAM_OK, "%s", lam_last_error());
                assert_same_bits(ref, y, name);
                memset(lam_tensor_data(y), 0xff, (size_t)lam_tensor_numel(y) * sizeof(float));
                cr_assert_eq(lam_module_forward_into(m, x, y), LAM_OK, "%s", lam_last_error());
                assert_same_bits(ref, y, name);
                lam_plan *p;
                cr_assert_eq(lam_plan_create(&p, m, 2, lam_tensor_shape(x)), LAM_OK);
                memset(lam_tensor_data(y), 0xff, (size_t)lam_tensor_numel(y) * sizeof(float));
                cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
                cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
                assert_same_bits(ref, y, name);
                lam_plan_free(p);
                lam_tensor_release(y);
            }
        }
        lam_tensor_release(ref);
        lam_tensor_release(x);
    }
    lam_set_num_threads(0);
}

Test(custom, rowwise_custom_forward_is_split_like_a_sequential)
{
    lam_manual_seed(21);
    lam_module *list = make_loop_model_shaped(10, 50, 2, true);
    lam_module *seq = make_seed_model();
    cr_assert(list && seq);
    char *a = describe(list, 1024, 10, 2), *b = describe(seq, 1024, 10, 2);
    /* split as the Sequential is, threads or not */
    cr_assert_eq(strncmp(b, "batch/2:", 8) == 0, strncmp(a, "batch/2:", 8) == 0,
                 "the Sequential: %s", b);
    lam_free(b);
    assert_describes(a, "batch/2: MyModel (its own forward, row-independent)");
    /* at batch 1 it stays on the calling thread, as the Sequential does */
    a = describe(list, 1, 10, 2);
    cr_assert_eq(strncmp(a, "serial/1:", 9), 0, "%s", a);
    lam_free(a);
    /* not declared row-independent: run whole, on the calling thread */
    lam_module *nr = make_loop_model_shaped(10, 50, 2, false);
    a = describe(nr, 4096, 10, 2);
    cr_assert(strstr(a, "MyModel (its own forward)") && strncmp(a, "batch", 5) != 0, "%s", a);
    lam_free(a);
    cr_assert_eq(lam_custom_flags(list), LAM_CUSTOM_ROWWISE);
    cr_assert_eq(lam_custom_flags(nr), 0u);
    lam_module_release(nr);
    lam_module_release(list);
    lam_module_release(seq);
}

Test(custom, plugin_container_declared_rowwise_is_split)
{
    lam_manual_seed(22);
    lam_module *g = make_gated_plugin(64);
    cr_assert_not_null(g, "%s", lam_last_error());
    char *a = describe(g, 4096, 64, 2);
    assert_describes(a, "batch/2: GatedResidual (its own forward, row-independent)");
    lam_module_release(g);
}

Test(custom, custom_forwards_match_the_direct_forward)
{
    lam_manual_seed(23);
    lam_module *list = make_loop_model_shaped(10, 50, 2, true);
    lam_module *nr = make_loop_model_shaped(10, 50, 2, false);
    lam_module *g = make_gated_plugin(64);
    cr_assert(list && nr && g, "%s", lam_last_error());
    check_against_direct(list, 10, "rowwise custom forward");
    check_against_direct(nr, 10, "custom forward");
    check_against_direct(g, 64, "GatedResidual");
    /* a custom module inside a Sequential is a step of its plan */
    lam_module *lin = NULL, *seq = NULL;
    cr_assert_eq(lam_linear_create(&lin, 10, 10, true), LAM_OK);
    lam_module *parts[2] = {lin, list};
    cr_assert_eq(lam_sequential_create(&seq, 2, parts), LAM_OK);
    lam_module_eval(seq);
    char *d = describe(seq, 4096, 10, 2);
    assert_describes(d, "batch/2: Linear, MyModel (its own forward, row-independent)");
    lam_tensor *x = make_input(4096, 10, 5), *h = NULL, *want = NULL, *y = NULL;
    cr_assert_eq(lam_module_forward(lin, x, &h), LAM_OK);
    want = direct(list, h);
    lam_set_num_threads(2);
    cr_assert_eq(lam_module_forward(seq, x, &y), LAM_OK, "%s", lam_last_error());
    assert_same_bits(want, y, "Sequential(Linear, MyModel)");
    lam_set_num_threads(0);
    lam_tensor_release(x);
    lam_tensor_release(h);
    lam_tensor_release(want);
    lam_tensor_release(y);
    lam_module_release(lin);
    lam_module_release(seq);
    lam_module_release(list);
    lam_module_release(nr);
    lam_module_release(g);
}

/* A forward that keeps the first layer's output of every call (as a user
 * might, for inspection): kept tensors must stay intact and valid, also
 * after the plan that made them is gone. */
#define KEEP_MAX 512
typedef struct keeper {
    lam_tensor *kept[KEEP_MAX];
    int n;
} keeper;

static lam_status keeping_forward(lam_module *self, const lam_tensor *x, void *args,
                                  lam_tensor **out)
{
    (void)args;
    keeper *k = lam_module_user(self);
    lam_module *layers = lam_module_child(self, "layers"), *l0, *l1;
    lam_container_get(layers, 0, &l0);
    lam_container_get(layers, 1, &l1);
    lam_tensor *h = NULL;
    lam_status st = lam_module_forward(l0, x, &h);
    if (st)
        return st;
    st = lam_module_forward(l1, h, out);
    if (k->n < KEEP_MAX)
        k->kept[k->n++] = h; /* our reference now */
    else
        lam_tensor_release(h);
    return st;
}

static void keeper_free(void *u)
{
    keeper *k = u;
    for (int i = 0; i < k->n; i++)
        lam_tensor_release(k->kept[i]);
    free(k);
}

Test(custom, tensors_kept_beyond_the_forward_stay_valid)
{
    lam_manual_seed(24);
    lam_module *l[2], *list = NULL, *m = NULL;
    cr_assert_eq(lam_linear_create(&l[0], 8, 16, true), LAM_OK);
    cr_assert_eq(lam_linear_create(&l[1], 16, 4, true), LAM_OK);
    cr_assert_eq(lam_modulelist_create(&list, 2, l), LAM_OK);
    keeper *k = calloc(1, sizeof *k);
    lam_custom_spec spec = {.type_name = "Keeper", .forward = keeping_forward,
                            .output_shape = loop_shape, .user = k, .user_free = keeper_free};
    cr_assert_eq(lam_custom_create(&m, &spec), LAM_OK);
    cr_assert_eq(lam_module_add_child(m, "layers", list), LAM_OK);
    cr_assert_eq(lam_custom_set_flags(m, LAM_CUSTOM_ROWWISE), LAM_OK);
    lam_tensor *x1 = make_input(1, 8, 1), *x2 = make_input(1, 8, 2), *h1 = NULL, *y = NULL;
    cr_assert_eq(lam_module_forward(l[0], x1, &h1), LAM_OK);
    lam_plan *p;
    lam_set_num_threads(1);
    cr_assert_eq(lam_plan_create(&p, m, 2, lam_tensor_shape(x1)), LAM_OK);
    int64_t os[2] = {1, 4};
    cr_assert_eq(lam_tensor_create(&y, 2, os), LAM_OK);
    cr_assert_eq(lam_plan_run(p, x1, y), LAM_OK, "%s", lam_last_error());
    /* later calls must not write into the kept ones; past the pool's 256
     * entries the tensors come from the heap */
    for (int i = 0; i < 299; i++)
        cr_assert_eq(lam_plan_run(p, x2, y), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(k->n, 300);
    lam_plan_free(p); /* the kept tensors outlive their pool */
    assert_same_bits(h1, k->kept[0], "kept tensor");
    cr_assert(memcmp(lam_tensor_cdata(k->kept[1]), lam_tensor_cdata(h1), 16 * sizeof(float)) != 0);
    for (int i = 2; i < 300; i++)
        assert_same_bits(k->kept[1], k->kept[i], "kept tensor");
    lam_set_num_threads(0);
    lam_tensor_release(x1);
    lam_tensor_release(x2);
    lam_tensor_release(h1);
    lam_tensor_release(y);
    lam_module_release(l[0]);
    lam_module_release(l[1]);
    lam_module_release(list);
    lam_module_release(m); /* keeper_free releases the kept tensors */
}

static lam_status wrong_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)self, (void)args;
    int64_t shape[2] = {lam_tensor_dim(x, 0), 3};
    return lam_tensor_create(out, 2, shape);
}

static lam_status wrong_shape(lam_module *self, int ndim, const int64_t *shape, int *out_ndim,
                              int64_t *out_shape)
{
    (void)self, (void)ndim;
    *out_ndim = 2;
    out_shape[0] = shape[0];
    out_shape[1] = 2;
    return LAM_OK;
}

Test(custom, errors)
{
    lam_module *m = NULL, *lin = NULL;
    lam_custom_spec spec = {.type_name = "Liar", .forward = wrong_forward,
                            .output_shape = wrong_shape};
    cr_assert_eq(lam_custom_create(&m, &spec), LAM_OK);
    cr_assert_eq(lam_custom_set_flags(m, LAM_CUSTOM_ROWWISE), LAM_OK);
    lam_tensor *x = make_input(4096, 5, 1), *small = make_input(8, 5, 1), *y = NULL;
    for (int t = 1; t <= 2; t++) {
        lam_set_num_threads(t);
        cr_assert_eq(lam_module_forward(m, small, &y), LAM_ERR_SHAPE);
        cr_assert_null(y);
        cr_assert_str_eq(lam_last_error(),
                         "Liar: forward returned shape [8, 3], but its output_shape says [8, 2]",
                         "%s", lam_last_error());
        /* on row blocks, from the worker threads too */
        cr_assert_eq(lam_module_forward(m, x, &y), LAM_ERR_SHAPE);
        cr_assert_null(y);
        cr_assert(strstr(lam_last_error(), "Liar: forward returned shape ["), "%s",
                  lam_last_error());
    }
    lam_set_num_threads(0);
    lam_tensor_release(small);
    /* flags */
    cr_assert_eq(lam_linear_create(&lin, 5, 2, true), LAM_OK);
    cr_assert_eq(lam_custom_set_flags(lin, LAM_CUSTOM_ROWWISE), LAM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(lam_custom_set_flags(m, 0x10u), LAM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(lam_custom_flags(lin), 0u);
    /* forward_into: wrong output shape, output overlapping the input */
    int64_t bad[2] = {4096, 3};
    cr_assert_eq(lam_tensor_create(&y, 2, bad), LAM_OK);
    cr_assert_eq(lam_module_forward_into(lin, x, y), LAM_ERR_SHAPE);
    cr_assert_str_eq(lam_last_error(),
                     "Linear: forward_into: the output has shape [4096, 3], the forward "
                     "produces [4096, 2]",
                     "%s", lam_last_error());
    lam_tensor_release(y);
    lam_module *relu = NULL;
    cr_assert_eq(lam_relu_create(&relu), LAM_OK);
    cr_assert_eq(lam_module_forward_into(relu, x, x), LAM_ERR_INVALID_ARGUMENT);
    cr_assert(strstr(lam_last_error(), "shares memory with the input"), "%s", lam_last_error());
    cr_assert_eq(lam_module_forward_into(NULL, x, x), LAM_ERR_INVALID_ARGUMENT);
    lam_tensor_release(x);
    lam_module_release(relu);
    lam_module_release(lin);
    lam_module_release(m);
}

/* Images (rows of 4 x 100 x 100 floats, past the 32,768 of a plan's row
 * block: one image a block) through a row-independent forward: with a
 * Linear below it (a CNN's classifier) the forward gets each thread's
 * share of the rows, up to 8, a block (evened out over the blocks), so that the Linear's weight is read
 * once a block; without one, one image a block.  Either way the bits of
 * the direct forward. */
typedef struct rows_seen {
    pthread_mutex_t lock; /* the plan's threads call the forward at once */
    int64_t max, min;
} rows_seen;

static lam_status head_forward(lam_module *self, const lam_tensor *x, void *args,
                               lam_tensor **out)
{
    (void)args;
    rows_seen *r = lam_module_user(self);
    int64_t n = lam_tensor_dim(x, 0);
    pthread_mutex_lock(&r->lock);
    r->max = n > r->max ? n : r->max;
    r->min = n < r->min ? n : r->min;
    pthread_mutex_unlock(&r->lock);
    lam_module *body = lam_module_child(self, "body");
    lam_tensor *f = NULL;
    lam_status st = lam_tensor_flatten(&f, x, 1, -1);
    if (!st)
        st = lam_module_forward(body, f, out);
    lam_tensor_release(f);
    return st;
}

static lam_status head_shape(lam_module *self, int ndim, const int64_t *shape, int *out_ndim,
                             int64_t *out_shape)
{
    (void)ndim;
    lam_module *body = lam_module_child(self, "body");
    int64_t flat[2] = {shape[0], shape[1] * shape[2] * shape[3]};
    return lam_module_output_shape(body, 2, flat, out_ndim, out_shape);
}

Test(custom, images_through_a_forward_with_a_linear_take_blocks_of_8)
{
    for (int linear = 0; linear <= 1; linear++) {
        lam_manual_seed(31);
        lam_module *body = NULL, *m = NULL;
        if (linear)
            cr_assert_eq(lam_linear_create(&body, 40000, 5, true), LAM_OK);
        else
            cr_assert_eq(lam_relu_create(&body), LAM_OK);
        rows_seen *seen = calloc(1, sizeof *seen);
        pthread_mutex_init(&seen->lock, NULL);
        lam_custom_spec spec = {.type_name = "Head", .forward = head_forward,
                                .output_shape = head_shape, .user = seen, .user_free = free};
        cr_assert_eq(lam_custom_create(&m, &spec), LAM_OK);
        cr_assert_eq(lam_module_add_child(m, "body", body), LAM_OK);
        cr_assert_eq(lam_custom_set_flags(m, LAM_CUSTOM_ROWWISE), LAM_OK);
        static const int64_t batches[] = {1, 16, 20};
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            int64_t shape[4] = {batches[b], 4, 100, 100};
            lam_tensor *x = NULL;
            cr_assert_eq(lam_tensor_create(&x, 4, shape), LAM_OK);
            float *xd = lam_tensor_data(x);
            for (int64_t i = 0; i < lam_tensor_numel(x); i++)
                xd[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
            lam_tensor *ref = direct(m, x);
            for (int t = 1; t <= 2; t++) {
                lam_set_num_threads(t);
                int nth = 0;
                lam_plan *p;
                cr_assert_eq(lam_plan_create(&p, m, 4, shape), LAM_OK, "%s", lam_last_error());
                (void)lam_plan_strategy(p, &nth);
                lam_tensor *y = NULL;
                cr_assert_eq(lam_tensor_create(&y, lam_tensor_ndim(ref), lam_tensor_shape(ref)),
                             LAM_OK);
                seen->max = 0;
                seen->min = INT64_MAX;
                cr_assert_eq(lam_plan_run(p, x, y), LAM_OK, "%s", lam_last_error());
                assert_same_bits(ref, y, linear ? "with a Linear" : "without");
                /* each thread's share, up to 8, then equal blocks, a
                 * multiple of the thread count of them */
                int64_t rows = batches[b], share = (rows + nth - 1) / nth;
                int64_t bl = share < 8 ? share : 8, nb = (rows + bl - 1) / bl;
                nb = (nb + nth - 1) / nth * nth;
                int64_t want = linear ? (rows + nb - 1) / nb : 1;
                cr_expect_eq(seen->max, want, "%s, batch %lld, %d thread(s): blocks of up to "
                             "%lld rows, want %lld", linear ? "with a Linear" : "without",
                             (long long)batches[b], nth, (long long)seen->max, (long long)want);
                lam_tensor_release(y);
                lam_plan_free(p);
            }
            lam_set_num_threads(0);
            lam_tensor_release(ref);
            lam_tensor_release(x);
        }
        lam_module_release(body);
        lam_module_release(m);
    }
}
