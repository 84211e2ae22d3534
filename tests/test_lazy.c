/* Deferred layer calls in custom forwards (runtime/exec/lazy.c).
 *
 * While a plan runs a custom forward, a Linear called on the forward's
 * input, an activation on its result, and a second Linear after it may be
 * deferred and run as one kernel.  These tests check that this never
 * changes what the forward computes: the output is the same bits as the
 * same layers called one by one with deferral off (a forward hook turns
 * it off), it matches a float64 reference, and every way a forward can
 * look at, keep, change or drop an intermediate sees the values the calls
 * would have produced when they were made.  A convolution -> BatchNorm ->
 * activation chain (the tests at the end) runs folded, as a Sequential's
 * plan runs it, so its bits are that plan's, not the calls' one by one. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define OK(call) cr_assert_eq((call), LAM_OK, "%s: %s", #call, lam_last_error())

/* What the forward under test does, chosen per test. */
enum mode {
    PLAIN,        /* Linear, ReLU, Linear, Sigmoid */
    READ_HIDDEN,  /* reads Linear0's output (cdata) before going on */
    KEEP_HIDDEN,  /* keeps Linear0's output beyond the forward, unread */
    WRITE_WEIGHT, /* after Linear0's call, overwrites its weight, then reads the output */
    DROP_UNREAD,  /* computes a Linear it releases unread */
    OP_ON_HIDDEN, /* adds relu(Linear0(x)) to itself with the tensor op */
    SEQ_ON_HIDDEN,/* runs a Sequential child on relu(Linear0(x)) */
    TRAIN_TOGGLE, /* toggles train/eval between a call and its read */
    MULTI_ON_HIDDEN, /* runs the Sequential child through lam_module_forward_multi */
    TO_DTYPE,     /* copies relu(Linear0(x)) with lam_tensor_to_dtype */
};

static enum mode g_mode;
static lam_tensor *g_kept;      /* KEEP_HIDDEN */
static float g_seen[4096 * 50];   /* READ_HIDDEN, WRITE_WEIGHT: Linear0's output as read */
static int64_t g_seen_rows;

static lam_module *layer(lam_module *self, int i)
{
    lam_module *layers = lam_module_child(self, "layers"), *l = NULL;
    cr_assert_eq(lam_container_get(layers, i, &l), LAM_OK);
    return l;
}

static lam_status fwd(lam_module *m, const lam_tensor *in, lam_tensor **out)
{
    return lam_module_forward(m, in, out);
}

static lam_tensor *weight_of(lam_module *m)
{
    lam_state_dict *sd;
    cr_assert_eq(lam_module_named_parameters(m, false, true, &sd), LAM_OK);
    lam_tensor *w = lam_tensor_retain(lam_state_dict_get(sd, "weight"));
    lam_state_dict_free(sd);
    return w;
}

static lam_status forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_tensor *h = NULL, *a = NULL, *z = NULL;
    lam_status st = fwd(layer(self, 0), x, &h);
    if (st)
        return st;
    if (g_mode == READ_HIDDEN || g_mode == WRITE_WEIGHT) {
        if (g_mode == WRITE_WEIGHT) { /* PyTorch: h was computed with the old weight */
            lam_tensor *w = weight_of(layer(self, 0));
            float *wd = lam_tensor_data(w);
            for (int64_t i = 0; i < lam_tensor_numel(w); i++)
                wd[i] = 100.0f;
            lam_tensor_release(w);
        }
        const float *hd = lam_tensor_cdata(h);
        g_seen_rows = lam_tensor_dim(h, 0);
        memcpy(g_seen, hd, sizeof(float) * (size_t)lam_tensor_numel(h));
    }
    if (g_mode == KEEP_HIDDEN) {
        lam_tensor_release(g_kept);
        g_kept = lam_tensor_retain(h);
    }
    if (g_mode == DROP_UNREAD) {
        lam_tensor *unused = NULL;
        if ((st = fwd(layer(self, 0), x, &unused)) != LAM_OK)
            goto out;
        lam_tensor_release(unused);
    }
    if (g_mode == TRAIN_TOGGLE) {
        lam_module_train(self, true);
        lam_module_eval(self);
    }
    if ((st = fwd(layer(self, 1), h, &a)) != LAM_OK)
        goto out;
    if (g_mode == OP_ON_HIDDEN) {
        lam_tensor *twice = NULL;
        if ((st = lam_tensor_add(&twice, a, a)) != LAM_OK)
            goto out;
        lam_tensor_release(a);
        a = twice;
    }
    if (g_mode == SEQ_ON_HIDDEN) {
        lam_tensor *s = NULL;
        if ((st = fwd(lam_module_child(self, "seq"), a, &s)) != LAM_OK)
            goto out;
        lam_tensor_release(a);
        a = s;
    }
    if (g_mode == MULTI_ON_HIDDEN) {
        lam_tuple *args1 = NULL, *tup = NULL;
        lam_tensor *s = NULL;
        if ((st = lam_tuple_create(&args1, 1)) == LAM_OK &&
            (st = lam_tuple_set_tensor(args1, 0, a)) == LAM_OK)
            st = lam_module_forward_multi(lam_module_child(self, "seq"), args1, NULL, &s, &tup);
        lam_tuple_release(args1);
        lam_tuple_release(tup);
        if (st)
            goto out;
        lam_tensor_release(a);
        a = s;
    }
    if (g_mode == TO_DTYPE) {
        lam_tensor *c = NULL;
        if ((st = lam_tensor_to_dtype(&c, a, LAM_FLOAT32)) != LAM_OK)
            goto out;
        lam_tensor_release(a);
        a = c;
    }
    if ((st = fwd(layer(self, 2), a, &z)) != LAM_OK)
        goto out;
    st = fwd(layer(self, 3), z, out);
out:
    lam_tensor_release(h);
    lam_tensor_release(a);
    lam_tensor_release(z);
    return st;
}

static lam_status shape(lam_module *self, int ndim, const int64_t *in, int *out_ndim,
                        int64_t *out)
{
    (void)self;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[ndim - 1] = 2;
    return LAM_OK;
}

/* The seed model's layers in a custom module (plus a Sequential(ReLU()) child
 * for SEQ_ON_HIDDEN), row-independent, in eval mode. */
static lam_module *make_model(void)
{
    lam_manual_seed(7);
    lam_module *l[4], *layers, *model, *relu, *seq;
    OK(lam_linear_create(&l[0], 10, 50, true));
    OK(lam_relu_create(&l[1]));
    OK(lam_linear_create(&l[2], 50, 2, true));
    OK(lam_sigmoid_create(&l[3]));
    OK(lam_modulelist_create(&layers, 4, l));
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    lam_custom_spec spec = {.type_name = "Lazy", .forward = forward, .output_shape = shape};
    OK(lam_custom_create(&model, &spec));
    OK(lam_module_add_child(model, "layers", layers));
    lam_module_release(layers);
    OK(lam_relu_create(&relu));
    OK(lam_sequential_create(&seq, 1, &relu));
    lam_module_release(relu);
    OK(lam_module_add_child(model, "seq", seq));
    lam_module_release(seq);
    OK(lam_custom_set_flags(model, LAM_CUSTOM_ROWWISE));
    lam_module_eval(model);
    return model;
}

static lam_tensor *make_input(int64_t rows)
{
    lam_tensor *x;
    int64_t shape[2] = {rows, 10};
    OK(lam_tensor_create(&x, 2, shape));
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < rows * 10; i++)
        d[i] = (float)sin(0.37 * (double)i + 0.1) * 2.0f;
    return x;
}

/* float64 reference of one layer or of the model, from the parameters */
static void params(lam_module *lin, const float **w, const float **b, lam_tensor **keep)
{
    lam_state_dict *sd;
    OK(lam_module_named_parameters(lin, false, true, &sd));
    keep[0] = lam_tensor_retain(lam_state_dict_get(sd, "weight"));
    keep[1] = lam_tensor_retain(lam_state_dict_get(sd, "bias"));
    lam_state_dict_free(sd);
    *w = lam_tensor_cdata(keep[0]);
    *b = lam_tensor_cdata(keep[1]);
}

static double ref_hidden(lam_module *model, const float *x, int j)
{
    lam_tensor *k[2];
    const float *w, *b;
    params(layer(model, 0), &w, &b, k);
    double s = b[j];
    for (int i = 0; i < 10; i++)
        s += (double)w[j * 10 + i] * x[i];
    lam_tensor_release(k[0]);
    lam_tensor_release(k[1]);
    return s;
}

static void ref_model(lam_module *model, const float *x, int relu_times, double out[2])
{
    lam_tensor *k[2];
    const float *w, *b;
    double h[50];
    for (int j = 0; j < 50; j++) {
        double v = ref_hidden(model, x, j);
        h[j] = (v > 0 ? v : 0) * relu_times;
    }
    params(layer(model, 2), &w, &b, k);
    for (int o = 0; o < 2; o++) {
        double s = b[o];
        for (int j = 0; j < 50; j++)
            s += (double)w[o * 50 + j] * h[j];
        out[o] = 1.0 / (1.0 + exp(-s));
    }
    lam_tensor_release(k[0]);
    lam_tensor_release(k[1]);
}

static int hook_calls;
static void hook(lam_module *m, const lam_tensor *in, const lam_tensor *out, void *user)
{
    (void)m, (void)in, (void)out, (void)user;
    hook_calls++;
}

/* The model's output with deferral off: the same forward, a forward hook
 * installed (a hook must see each call's output, so nothing waits; hooks
 * are per thread, so on this thread alone). */
static lam_tensor *eager(lam_module *model, const lam_tensor *x)
{
    lam_tensor *y;
    int threads = lam_get_num_threads();
    hook_calls = 0;
    lam_set_num_threads(1);
    lam_set_forward_hook(hook, NULL);
    OK(lam_module_forward(model, x, &y));
    lam_set_forward_hook(NULL, NULL);
    lam_set_num_threads(threads);
    cr_assert_gt(hook_calls, 4, "hook calls %d", hook_calls);
    return y;
}

static void check_model(enum mode mode, int64_t rows, int relu_times)
{
    g_mode = mode;
    lam_module *model = make_model();
    lam_tensor *x = make_input(rows), *y, *ye;
    for (int rep = 0; rep < 3; rep++) { /* the first run sizes the pools */
        OK(lam_module_forward(model, x, &y));
        ye = eager(model, x);
        cr_assert_eq(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(ye), sizeof(float) * (size_t)rows * 2),
                     0, "mode %d rows %lld: deferred and one-by-one calls differ", mode,
                     (long long)rows);
        const float *yd = lam_tensor_cdata(y), *xd = lam_tensor_cdata(x);
        for (int64_t r = 0; r < rows; r += rows / 7 + 1) {
            double want[2];
            ref_model(model, xd + r * 10, relu_times, want);
            for (int o = 0; o < 2; o++)
                cr_assert_float_eq(yd[r * 2 + o], want[o], 2e-6, "row %lld", (long long)r);
        }
        lam_tensor_release(y);
        lam_tensor_release(ye);
    }
    lam_tensor_release(x);
    lam_module_release(model);
}

Test(lazy, chain_matches_calls_one_by_one)
{
    for (int64_t rows = 1; rows <= 4096; rows = rows * 3 + 1)
        check_model(PLAIN, rows, 1);
    check_model(PLAIN, 1024, 1);
}

Test(lazy, the_same_under_two_threads)
{
    lam_set_num_threads(2);
    check_model(PLAIN, 4096, 1);
    lam_set_num_threads(0);
}

Test(lazy, reading_an_intermediate_gives_the_call_result)
{
    g_mode = READ_HIDDEN;
    lam_module *model = make_model();
    lam_tensor *x = make_input(40), *y;
    OK(lam_module_forward(model, x, &y));
    cr_assert_eq(g_seen_rows, 40);
    const float *xd = lam_tensor_cdata(x);
    for (int r = 0; r < 40; r++)
        for (int j = 0; j < 50; j++)
            cr_assert_float_eq(g_seen[r * 50 + j], ref_hidden(model, xd + r * 10, j), 2e-6);
    lam_tensor_release(y);
    check_model(READ_HIDDEN, 333, 1);
    lam_tensor_release(x);
    lam_module_release(model);
}

Test(lazy, a_kept_intermediate_is_computed_before_the_step_ends)
{
    g_mode = KEEP_HIDDEN;
    lam_module *model = make_model();
    lam_tensor *x = make_input(30), *y;
    OK(lam_module_forward(model, x, &y));
    cr_assert_not_null(g_kept);
    cr_assert_eq(lam_tensor_dim(g_kept, 0), 30);
    const float *kd = lam_tensor_cdata(g_kept), *xd = lam_tensor_cdata(x);
    for (int r = 0; r < 30; r++)
        for (int j = 0; j < 50; j++)
            cr_assert_float_eq(kd[r * 50 + j], ref_hidden(model, xd + r * 10, j), 2e-6);
    lam_tensor_release(g_kept);
    g_kept = NULL;
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(model);
}

Test(lazy, a_weight_written_after_the_call_does_not_change_its_result)
{
    g_mode = WRITE_WEIGHT;
    lam_module *model = make_model();
    lam_tensor *x = make_input(20), *y;
    const float *xd = lam_tensor_cdata(x);
    double want[20 * 50];
    for (int r = 0; r < 20; r++)
        for (int j = 0; j < 50; j++)
            want[r * 50 + j] = ref_hidden(model, xd + r * 10, j);
    OK(lam_module_forward(model, x, &y));
    for (int i = 0; i < 20 * 50; i++)
        cr_assert_float_eq(g_seen[i], want[i], 2e-6, "element %d", i);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(model);
}

Test(lazy, dropped_ops_and_children_on_intermediates)
{
    check_model(DROP_UNREAD, 1000, 1);
    check_model(OP_ON_HIDDEN, 1000, 2);
    check_model(SEQ_ON_HIDDEN, 1000, 1);
    check_model(TRAIN_TOGGLE, 1000, 1);
    check_model(MULTI_ON_HIDDEN, 1000, 1);
    check_model(TO_DTYPE, 1000, 1);
}

/* ---- convolution -> BatchNorm -> activation in a block (issue 15.3) ----
 * A ResNet block calls conv1, bn1, relu, conv2, bn2 one by one.  Run by a
 * plan, those calls wait and run as a Sequential's plan runs them: each
 * eval-mode BatchNorm folded into the convolution before it (through
 * lam__can_fold, the layers' capabilities), the ReLU in that convolution's
 * epilogue.  So the block gives the bits of Sequential(conv1, bn1, relu,
 * conv2, bn2) planned, which test_fold holds to PyTorch; changed parameters
 * are folded in again; an intermediate read gives the unfolded call's
 * result. */
static float g_conv_seen[5 * 8 * 9 * 7];
static bool g_block_read; /* read conv1's output after bn1 was called on it */

static lam_status block_forward(lam_module *self, const lam_tensor *x, void *args,
                                lam_tensor **out)
{
    (void)args;
    static const char *const names[] = {"conv1", "bn1", "relu", "conv2", "bn2"};
    lam_tensor *cur = NULL, *c1 = NULL;
    lam_status st = LAM_OK;
    for (int i = 0; i < 5 && !st; i++) {
        lam_tensor *y = NULL;
        st = lam_module_forward(lam_module_child(self, names[i]), cur ? cur : x, &y);
        if (i == 0)
            c1 = lam_tensor_retain(y);
        lam_tensor_release(cur);
        cur = y;
    }
    if (!st && g_block_read)
        memcpy(g_conv_seen, lam_tensor_cdata(c1), sizeof(float) * (size_t)lam_tensor_numel(c1));
    lam_tensor_release(c1);
    if (st)
        lam_tensor_release(cur);
    else
        *out = cur;
    return st;
}

static lam_status block_shape(lam_module *self, int ndim, const int64_t *in, int *out_ndim,
                              int64_t *out)
{
    (void)self;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[1] = 6;
    return LAM_OK;
}

static lam_module *parse_layer(const char *text)
{
    lam_module *m = NULL;
    OK(lam_model_parse(text, strlen(text), "<test>", &m));
    return m;
}

/* running statistics and affine parameters away from 0 and 1 */
static void randomise_norm(lam_module *bn, float seed)
{
    lam_state_dict *sd;
    OK(lam_module_state_dict(bn, &sd));
    static const char *const keys[] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
        lam_tensor *t = lam_state_dict_get(sd, keys[k]);
        cr_assert_not_null(t, "%s", keys[k]);
        float *d = lam_tensor_data(t);
        for (int64_t i = 0; i < lam_tensor_numel(t); i++) {
            float s = (float)sin(seed + 1.7 * (double)i + 0.9 * k);
            d[i] = k == 3 ? 0.8f + 0.4f * s * s : k == 0 ? 1.0f + 0.3f * s : 0.3f * s;
        }
    }
    lam_state_dict_free(sd);
}

/* the block (a custom module) and its Sequential twin over the same children */
static void make_block(lam_module **block, lam_module **twin)
{
    lam_manual_seed(11);
    lam_module *l[5] = {
        parse_layer("Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"),
        parse_layer("BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, "
                    "track_running_stats=True)"),
        parse_layer("ReLU()"),
        parse_layer("Conv2d(8, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"),
        parse_layer("BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, "
                    "track_running_stats=True)"),
    };
    randomise_norm(l[1], 0.3f);
    randomise_norm(l[4], 2.1f);
    static const char *const names[] = {"conv1", "bn1", "relu", "conv2", "bn2"};
    lam_custom_spec spec = {.type_name = "Block", .forward = block_forward,
                            .output_shape = block_shape};
    OK(lam_custom_create(block, &spec));
    for (int i = 0; i < 5; i++)
        OK(lam_module_add_child(*block, names[i], l[i]));
    OK(lam_custom_set_flags(*block, LAM_CUSTOM_ROWWISE));
    OK(lam_sequential_create(twin, 5, l));
    for (int i = 0; i < 5; i++)
        lam_module_release(l[i]);
    lam_module_eval(*block);
    lam_module_eval(*twin);
}

static lam_tensor *make_image(int64_t n)
{
    lam_tensor *x;
    int64_t shape[4] = {n, 3, 9, 7};
    OK(lam_tensor_create(&x, 4, shape));
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        d[i] = (float)sin(0.61 * (double)i + 0.2) * 1.5f;
    return x;
}

static lam_tensor *planned(lam_module *m, const lam_tensor *x)
{
    lam_plan *p;
    lam_tensor *y;
    int nd;
    int64_t shape[LAM_MAX_DIMS];
    OK(lam_plan_create(&p, m, lam_tensor_ndim(x), lam_tensor_shape(x)));
    OK(lam_plan_output_shape(p, &nd, shape));
    OK(lam_tensor_create(&y, nd, shape));
    for (int rep = 0; rep < 2; rep++)
        OK(lam_plan_run(p, x, y));
    lam_plan_free(p);
    return y;
}

static bool same_bits(const lam_tensor *a, const lam_tensor *b)
{
    return lam_tensor_numel(a) == lam_tensor_numel(b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  sizeof(float) * (size_t)lam_tensor_numel(a)) == 0;
}

static void expect_close(const lam_tensor *got, const lam_tensor *want, const char *what)
{
    const float *g = lam_tensor_cdata(got), *w = lam_tensor_cdata(want);
    for (int64_t i = 0; i < lam_tensor_numel(want); i++)
        cr_assert(fabsf(g[i] - w[i]) <= 1e-5f + 1e-5f * fabsf(w[i]), "%s[%lld]: %.9g vs %.9g",
                  what, (long long)i, g[i], w[i]);
}

Test(lazy, conv_norm_relu_in_a_block_runs_as_the_sequential_plan_does)
{
    lam_module *block, *twin;
    make_block(&block, &twin);
    lam_set_num_threads(1);
    for (int64_t n = 1; n <= 5; n += 4) {
        lam_tensor *x = make_image(n);
        lam_tensor *yb = planned(block, x), *ys = planned(twin, x), *ye = eager(block, x);
        cr_expect(same_bits(yb, ys), "batch %lld: the block's calls are not the Sequential "
                                     "plan's folded kernels", (long long)n);
        expect_close(yb, ye, "block vs its calls one by one");
        lam_tensor *yf = NULL; /* lam_module_forward's cached plan too */
        OK(lam_module_forward(block, x, &yf));
        cr_expect(same_bits(yf, ys), "batch %lld: lam_module_forward", (long long)n);
        lam_tensor_release(yf);
        /* 2 threads (batch 5: the rows split between them): the same bits */
        lam_set_num_threads(2);
        lam_tensor *y2 = planned(block, x);
        cr_expect(same_bits(y2, yb), "batch %lld: 1 and 2 threads differ", (long long)n);
        lam_set_num_threads(1);
        lam_tensor_release(y2);
        lam_tensor_release(yb);
        lam_tensor_release(ys);
        lam_tensor_release(ye);
        lam_tensor_release(x);
    }
    lam_module_release(block);
    lam_module_release(twin);
}

/* A norm's statistics or a convolution's weight changed after the block ran:
 * the next run folds them in again, as the Sequential's plan does. */
Test(lazy, a_block_refolds_changed_parameters)
{
    lam_module *block, *twin;
    make_block(&block, &twin);
    lam_set_num_threads(1);
    lam_tensor *x = make_image(2);
    lam_plan *p;
    OK(lam_plan_create(&p, block, 4, lam_tensor_shape(x)));
    int64_t oshape[4] = {2, 6, 9, 7};
    lam_tensor *y, *before;
    OK(lam_tensor_create(&y, 4, oshape));
    OK(lam_plan_run(p, x, y));
    OK(lam_tensor_clone(&before, y));
    for (int change = 0; change < 3; change++) {
        if (change == 0) {
            randomise_norm(lam_module_child(block, "bn1"), 5.0f);
        } else {
            lam_state_dict *sd;
            OK(lam_module_state_dict(lam_module_child(block, change == 1 ? "conv2" : "bn2"), &sd));
            lam_tensor *w = lam_state_dict_get(sd, change == 1 ? "weight" : "running_var");
            float *d = lam_tensor_data(w);
            for (int64_t i = 0; i < lam_tensor_numel(w); i++)
                d[i] *= 1.5f;
            lam_state_dict_free(sd);
        }
        OK(lam_plan_run(p, x, y));
        lam_tensor *ys = planned(twin, x), *ye = eager(block, x);
        cr_expect(same_bits(y, ys), "change %d: not the Sequential plan's refolded result", change);
        expect_close(y, ye, "refolded block vs its calls one by one");
        cr_expect(!same_bits(y, before), "change %d: the output did not change", change);
        lam_tensor_release(before);
        OK(lam_tensor_clone(&before, y));
        lam_tensor_release(ys);
        lam_tensor_release(ye);
    }
    lam_plan_free(p);
    lam_tensor_release(before);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(block);
    lam_module_release(twin);
}

/* conv1's output, read after bn1 was called on it, is the convolution's own
 * result (the fold is bn1's call's, not conv1's). */
Test(lazy, a_convolution_read_after_its_norm_is_unfolded)
{
    lam_module *block, *twin;
    make_block(&block, &twin);
    lam_set_num_threads(1);
    lam_tensor *x = make_image(5), *y, *c;
    g_block_read = true;
    y = planned(block, x);
    g_block_read = false;
    OK(lam_module_forward(lam_module_child(block, "conv1"), x, &c));
    cr_expect(memcmp(g_conv_seen, lam_tensor_cdata(c), sizeof(float) * (size_t)lam_tensor_numel(c)) ==
                  0,
              "conv1's output as read in the block is not conv1(x)");
    lam_tensor *ys = planned(twin, x);
    cr_expect(same_bits(y, ys));
    lam_tensor_release(ys);
    lam_tensor_release(c);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(block);
    lam_module_release(twin);
}

/* ---- the residual sum and its ReLU in a block (issue 15.3) ----
 * A ResNet block ends relu(bn2(conv2(...)) + identity), the sum and the
 * ReLU being tensor ops (lam_tensor_add, lam_tensor_relu).  Run by a plan,
 * they join conv2's epilogue (the sum added, then the ReLU, by each of the
 * convolution's tasks on outputs still in cache): the bits of the
 * Sequential(conv1, bn1, relu, conv2, bn2) plan's output, then the add op,
 * then the relu op, run outside any plan.  The cases go through each way a
 * forward can call the ops (result new or given, operands either way
 * round, ReLU in place or into another tensor) and read what it keeps, and
 * through every convolution path: pointwise, flat rows, im2col (stride 2),
 * Winograd F(4x4) and F(2x2), depthwise, transposed. */
enum res_mode {
    RES_NEW,      /* s = c + idn (new); relu(s) in place */
    RES_SWAPPED,  /* s = idn + c; relu into a new tensor */
    RES_GIVEN,    /* s = c + idn into the forward's own tensor (computed now); relu in place */
    RES_RELU_INTO,/* s = c + idn (new); relu into the forward's own tensor */
    RES_READ_C,   /* c read after the sum was made from it: bn2(conv2(...)) alone */
    RES_READ_S,   /* the sum read before its relu */
    RES_NO_RELU,  /* the sum alone (MobileNet's inverted residual) */
    RES_INTO_IDN, /* s = c + idn (new); relu into idn itself when it is the forward's own */
};
static enum res_mode g_res;
static float g_res_seen[2 * 24 * 20 * 20]; /* (the largest case's output) */
static int64_t g_res_seen_n;

static lam_status res_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    static const char *const names[] = {"conv1", "bn1", "relu", "conv2", "bn2"};
    lam_tensor *c = NULL, *idn = NULL, *s = NULL, *r = NULL;
    lam_status st = LAM_OK;
    for (int i = 0; i < 5 && !st; i++) {
        lam_tensor *y = NULL;
        st = lam_module_forward(lam_module_child(self, names[i]), c ? c : x, &y);
        lam_tensor_release(c);
        c = y;
    }
    lam_module *down = lam_module_child(self, "down");
    if (!st)
        st = down ? lam_module_forward(down, x, &idn) : LAM_OK;
    if (!st && !idn)
        idn = lam_tensor_retain((lam_tensor *)x);
    if (!st && g_res == RES_GIVEN) {
        st = lam_tensor_create(&s, lam_tensor_ndim(c), lam_tensor_shape(c));
        if (!st)
            st = lam_tensor_add(&s, c, idn);
    } else if (!st) {
        st = g_res == RES_SWAPPED ? lam_tensor_add(&s, idn, c) : lam_tensor_add(&s, c, idn);
    }
    if (!st && lam_tensor_numel(c) > (int64_t)(sizeof g_res_seen / sizeof g_res_seen[0]))
        st = LAM_ERR_RUNTIME; /* (a case too big for g_res_seen) */
    if (!st && g_res == RES_READ_C) {
        g_res_seen_n = lam_tensor_numel(c);
        memcpy(g_res_seen, lam_tensor_cdata(c), sizeof(float) * (size_t)g_res_seen_n);
    }
    if (!st && g_res == RES_READ_S) {
        g_res_seen_n = lam_tensor_numel(s);
        memcpy(g_res_seen, lam_tensor_cdata(s), sizeof(float) * (size_t)g_res_seen_n);
    }
    if (!st && g_res == RES_INTO_IDN && down && lam_tensor_numel(idn) == lam_tensor_numel(s)) {
        /* the addend overwritten by the result */
        st = lam_tensor_relu(&idn, s);
        lam_tensor_release(s);
        s = lam_tensor_retain(idn);
    } else if (!st && g_res == RES_RELU_INTO) {
        st = lam_tensor_create(&r, lam_tensor_ndim(s), lam_tensor_shape(s));
        if (!st)
            st = lam_tensor_relu(&r, s);
    } else if (!st && g_res == RES_SWAPPED) {
        st = lam_tensor_relu(&r, s);
    } else if (!st && g_res != RES_NO_RELU) {
        st = lam_tensor_relu(&s, s);
    }
    if (r) {
        lam_tensor_release(s);
        s = r;
    }
    lam_tensor_release(c);
    lam_tensor_release(idn);
    if (st)
        lam_tensor_release(s);
    else
        *out = s;
    return st;
}

/* conv2(conv1(x))'s shape (the norms and the ReLU keep it) */
static lam_status res_shape(lam_module *self, int ndim, const int64_t *in, int *out_ndim,
                            int64_t *out)
{
    int nd;
    int64_t mid[LAM_MAX_DIMS];
    lam_status st = lam_module_output_shape(lam_module_child(self, "conv1"), ndim, in, &nd, mid);
    return st ? st : lam_module_output_shape(lam_module_child(self, "conv2"), nd, mid, out_ndim, out);
}

typedef struct res_case {
    const char *what, *conv1, *conv2, *down; /* down NULL: the identity is x */
    int64_t c, h, w;                          /* the input's channels and size */
} res_case;

static const res_case res_cases[] = {
    {"pointwise (a Bottleneck's conv3)", "Conv2d(6, 8, kernel_size=(1, 1), stride=(1, 1), bias=False)",
     "Conv2d(8, 6, kernel_size=(1, 1), stride=(1, 1), bias=False)", NULL, 6, 7, 9},
    {"flat rows (3x3, few channels)", "Conv2d(6, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
     "Conv2d(8, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)", NULL, 6, 9, 7},
    {"im2col (stride 2) with a downsample",
     "Conv2d(6, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)",
     "Conv2d(8, 10, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
     "Conv2d(6, 10, kernel_size=(1, 1), stride=(2, 2), bias=False)", 6, 11, 9},
    {"Winograd F(4x4)", "Conv2d(16, 16, kernel_size=(1, 1), stride=(1, 1), bias=False)",
     "Conv2d(16, 24, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
     "Conv2d(16, 24, kernel_size=(1, 1), stride=(1, 1), bias=False)", 16, 20, 18},
    {"flat, row by row", "Conv2d(6, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
     "Conv2d(8, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)", NULL, 6, 5,
     48},
    {"Winograd F(4x4), padded rows", "Conv2d(16, 16, kernel_size=(1, 1), stride=(1, 1), bias=False)",
     "Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)", NULL, 16, 9,
     40},
    {"Winograd F(2x2)", "Conv2d(16, 16, kernel_size=(1, 1), stride=(1, 1), bias=False)",
     "Conv2d(16, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)", NULL, 16, 7,
     7},
    {"depthwise", "Conv2d(6, 6, kernel_size=(1, 1), stride=(1, 1))",
     "Conv2d(6, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=6)", NULL, 6, 9, 11},
    {"depthwise, plane by plane", "Conv2d(6, 6, kernel_size=(1, 1), stride=(1, 1))",
     "Conv2d(6, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=6)", NULL, 6, 9, 20},
    /* im2col chunks across the samples (a stride-2 body on a 7x7 output):
     * at batch 2 a chunk inside the first sample (the kernel adds the
     * residual), one across both (through a buffer, then added), and a
     * last one inside the second */
    {"im2col across samples", "Conv2d(16, 128, kernel_size=(1, 1), stride=(1, 1), bias=False)",
     "Conv2d(128, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)",
     "Conv2d(16, 128, kernel_size=(1, 1), stride=(2, 2), bias=False)", 16, 14, 14},
    {"transposed", "Conv2d(6, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))",
     "ConvTranspose2d(4, 6, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))", NULL, 6, 10, 8},
    /* a sum the convolution cannot take (it broadcasts): the op runs after it */
    {"a broadcast sum", "Conv2d(6, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
     "Conv2d(8, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)",
     "AdaptiveAvgPool2d(output_size=1)", 6, 9, 7},
};

static void make_res(const res_case *rc, lam_module **block, lam_module **twin, lam_module **dtwin)
{
    lam_manual_seed(5);
    char bn1[160], bn2[160];
    lam_module *c1 = parse_layer(rc->conv1), *c2 = parse_layer(rc->conv2);
    int nd;
    int64_t in[4] = {1, rc->c, rc->h, rc->w}, mid[4], o[4];
    OK(lam_module_output_shape(c1, 4, in, &nd, mid));
    OK(lam_module_output_shape(c2, 4, mid, &nd, o));
    snprintf(bn1, sizeof bn1, "BatchNorm2d(%lld, eps=1e-05, momentum=0.1, affine=True, "
             "track_running_stats=True)", (long long)mid[1]);
    snprintf(bn2, sizeof bn2, "BatchNorm2d(%lld, eps=1e-05, momentum=0.1, affine=True, "
             "track_running_stats=True)", (long long)o[1]);
    lam_module *l[5] = {c1, parse_layer(bn1), parse_layer("ReLU()"), c2, parse_layer(bn2)};
    randomise_norm(l[1], 0.7f);
    randomise_norm(l[4], 1.9f);
    static const char *const names[] = {"conv1", "bn1", "relu", "conv2", "bn2"};
    lam_custom_spec spec = {.type_name = "ResBlock", .forward = res_forward,
                            .output_shape = res_shape};
    OK(lam_custom_create(block, &spec));
    for (int i = 0; i < 5; i++)
        OK(lam_module_add_child(*block, names[i], l[i]));
    *dtwin = NULL;
    if (rc->down) {
        lam_module *d = parse_layer(rc->down);
        OK(lam_module_add_child(*block, "down", d));
        OK(lam_sequential_create(dtwin, 1, &d));
        lam_module_release(d);
        lam_module_eval(*dtwin);
    }
    OK(lam_custom_set_flags(*block, LAM_CUSTOM_ROWWISE));
    OK(lam_sequential_create(twin, 5, l));
    for (int i = 0; i < 5; i++)
        lam_module_release(l[i]);
    lam_module_eval(*block);
    lam_module_eval(*twin);
}

static lam_tensor *res_input(const res_case *rc, int64_t n)
{
    lam_tensor *x;
    int64_t shape[4] = {n, rc->c, rc->h, rc->w};
    OK(lam_tensor_create(&x, 4, shape));
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        d[i] = (float)sin(0.37 * (double)i + 0.4) * 1.2f;
    return x;
}

/* The expected bits: the Sequential twin's plan, then the ops one by one
 * outside any plan (nothing deferred there). */
static lam_tensor *res_expected(lam_module *twin, lam_module *dtwin, const lam_tensor *x,
                                bool relu, lam_tensor **body)
{
    lam_tensor *c = planned(twin, x), *idn = dtwin ? planned(dtwin, x) : lam_tensor_retain((lam_tensor *)x);
    lam_tensor *s = NULL;
    OK(lam_tensor_add(&s, c, idn));
    if (relu)
        OK(lam_tensor_relu(&s, s));
    *body = c;
    lam_tensor_release(idn);
    return s;
}

Test(lazy, a_residual_sum_and_relu_join_the_convolution_with_the_ops_bits)
{
    for (size_t k = 0; k < sizeof res_cases / sizeof res_cases[0]; k++) {
        const res_case *rc = &res_cases[k];
        lam_module *block, *twin, *dtwin;
        make_res(rc, &block, &twin, &dtwin);
        for (int mode = RES_NEW; mode <= RES_INTO_IDN; mode++) {
            g_res = (enum res_mode)mode;
            for (int64_t n = 1; n <= 2; n++) {
                lam_set_num_threads(1);
                lam_tensor *x = res_input(rc, n), *body;
                lam_tensor *want = res_expected(twin, dtwin, x, mode != RES_NO_RELU, &body);
                g_res_seen_n = 0;
                lam_tensor *y = planned(block, x);
                cr_expect(same_bits(y, want), "%s, mode %d, batch %lld: not the plan's "
                          "convolution, then the add and relu ops", rc->what, mode, (long long)n);
                if (mode == RES_READ_C || mode == RES_READ_S) {
                    lam_tensor *seen = mode == RES_READ_C ? body : NULL;
                    if (!seen) {
                        lam_tensor *idn = dtwin ? planned(dtwin, x) : lam_tensor_retain(x);
                        OK(lam_tensor_add(&seen, body, idn));
                        lam_tensor_release(idn);
                    }
                    cr_expect(g_res_seen_n == lam_tensor_numel(seen) &&
                                  memcmp(g_res_seen, lam_tensor_cdata(seen),
                                         sizeof(float) * (size_t)g_res_seen_n) == 0,
                              "%s, batch %lld: the %s as read in the forward", rc->what,
                              (long long)n, mode == RES_READ_C ? "convolution" : "sum");
                    if (seen != body)
                        lam_tensor_release(seen);
                }
                lam_set_num_threads(2);
                lam_tensor *y2 = planned(block, x);
                cr_expect(same_bits(y2, y), "%s, mode %d, batch %lld: 1 and 2 threads differ",
                          rc->what, mode, (long long)n);
                lam_set_num_threads(1);
                lam_tensor_release(y2);
                lam_tensor_release(y);
                lam_tensor_release(want);
                lam_tensor_release(body);
                lam_tensor_release(x);
            }
        }
        lam_module_release(block);
        lam_module_release(twin);
        lam_module_release(dtwin);
    }
}
