/* Error paths: every error names the failing module's path, whichever call
 * found it -- lam_module_forward, lam_module_output_shape, lam_plan_create,
 * lam_plan_run -- through nested Sequentials, a ModuleList walked by a custom
 * module and plugin containers (shipped Residual, testtypes' GatedBlock,
 * which feeds x to both its children), with the types of the modules that
 * feed their children themselves named after the message.  And the forward
 * hook (lam_set_forward_hook) that `lamina summary` records shapes with. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LAM_TEST_SHIPPED_DIR
#define LAM_TEST_SHIPPED_DIR "plugins/.libs"
#endif
#ifndef LAM_TEST_PLUGIN_DIR
#define LAM_TEST_PLUGIN_DIR "tests/plugins/.libs"
#endif

static void setup(void)
{
    lam_manual_seed(7);
    cr_assert_eq(lam_plugin_load(LAM_TEST_SHIPPED_DIR "/containers.so", NULL), LAM_OK, "%s",
                 lam_last_error());
    cr_assert_eq(lam_plugin_load(LAM_TEST_PLUGIN_DIR "/testtypes.so", NULL), LAM_OK, "%s",
                 lam_last_error());
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* Criterion's workers end without LeakSanitizer's exit-time check */
static void teardown(void) { __lsan_do_recoverable_leak_check(); }
#else
static void teardown(void) {}
#endif

TestSuite(error_paths, .init = setup, .fini = teardown);
TestSuite(forward_hook, .init = setup, .fini = teardown);

/* ---- helpers ---- */

#define OK(call)                                                                                   \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_assert(st_ == LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_), lam_last_error());   \
    } while (0)

static lam_module *linear(int64_t in, int64_t out)
{
    lam_module *m = NULL;
    OK(lam_linear_create(&m, in, out, true));
    return m;
}

static lam_module *relu(void)
{
    lam_module *m = NULL;
    OK(lam_relu_create(&m));
    return m;
}

static lam_module *create(const char *type)
{
    lam_module *m = NULL;
    OK(lam_module_create(&m, type, 0, NULL));
    return m;
}

/* Takes the references passed in. */
static lam_module *seq(size_t n, lam_module **mods)
{
    lam_module *s = NULL;
    OK(lam_sequential_create(&s, n, mods));
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
    return s;
}

static lam_module *list(size_t n, lam_module **mods)
{
    lam_module *s = NULL;
    OK(lam_modulelist_create(&s, n, mods));
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
    return s;
}

/* Adds `layers` (takes the reference) under "layers". */
static lam_module *with_layers(lam_module *m, lam_module *layers)
{
    OK(lam_module_add_child(m, "layers", layers));
    lam_module_release(layers);
    return m;
}

#define SEQ(...) seq(sizeof((lam_module *[]){__VA_ARGS__}) / sizeof(lam_module *), (lam_module *[]){__VA_ARGS__})
#define LIST(...) list(sizeof((lam_module *[]){__VA_ARGS__}) / sizeof(lam_module *), (lam_module *[]){__VA_ARGS__})

/* The message of a failing output_shape (status want). */
static char *shape_error(lam_module *m, int ndim, const int64_t *shape, lam_status want)
{
    int nd;
    int64_t out[LAM_MAX_DIMS];
    lam_clear_error();
    lam_status st = lam_module_output_shape(m, ndim, shape, &nd, out);
    cr_expect_eq(st, want, "output_shape: %s (%s)", lam_status_str(st), lam_last_error());
    return strdup(lam_last_error());
}

static char *forward_error(lam_module *m, int ndim, const int64_t *shape, void *args,
                           lam_status want)
{
    lam_tensor *x = NULL, *y = (lam_tensor *)1;
    OK(lam_tensor_create(&x, ndim, shape));
    lam_clear_error();
    lam_status st = lam_module_forward_args(m, x, args, &y);
    cr_expect_eq(st, want, "forward: %s (%s)", lam_status_str(st), lam_last_error());
    cr_expect_null(y);
    lam_tensor_release(x);
    return strdup(lam_last_error());
}

/* output_shape and forward fail with exactly `want` */
static void expect_both(lam_module *m, int ndim, const int64_t *shape, lam_status st,
                        const char *want)
{
    char *a = shape_error(m, ndim, shape, st), *b = forward_error(m, ndim, shape, NULL, st);
    cr_expect_str_eq(a, want, "lam_module_output_shape");
    cr_expect_str_eq(b, want, "lam_module_forward");
    free(a);
    free(b);
}

/* ---- nested Sequentials ---- */

Test(error_paths, nested_sequentials)
{
    lam_module *m = SEQ(linear(8, 8), SEQ(relu(), SEQ(linear(5, 3))));
    const char *want = "Sequential[1][1][0] Linear(in_features=5): input has 8 features, "
                       "expected 5 (input shape [2, 8])";
    expect_both(m, 2, (int64_t[]){2, 8}, LAM_ERR_SHAPE, want);
    /* a plan says the same, and so does a plan made for a second shape */
    lam_plan *p = NULL;
    cr_expect_eq(lam_plan_create(&p, m, 2, (int64_t[]){2, 8}), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), want);
    cr_expect_null(p);
    cr_expect_eq(lam_plan_create(&p, m, 2, (int64_t[]){9, 8}), LAM_ERR_SHAPE);
    cr_expect(strstr(lam_last_error(), "Sequential[1][1][0] Linear(in_features=5)") != NULL, "%s",
              lam_last_error());
    lam_module_release(m);
}

Test(error_paths, a_shared_module_is_named_where_it_fails)
{
    /* the same Linear at [0] and [2]: the one at [2] gets 6 features */
    lam_module *a = linear(4, 4);
    lam_module *m = SEQ(lam_module_retain(a), linear(4, 6), lam_module_retain(a));
    const char *want = "Sequential[2] Linear(in_features=4): input has 6 features, "
                       "expected 4 (input shape [3, 6])";
    expect_both(m, 2, (int64_t[]){3, 4}, LAM_ERR_SHAPE, want);
    lam_plan *p = NULL;
    cr_expect_eq(lam_plan_create(&p, m, 2, (int64_t[]){3, 4}), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), want);
    lam_module_release(m);
    lam_module_release(a);
}

/* ---- a ModuleList inside a custom module ---- */

static lam_status walk_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers");
    lam_tensor *cur = NULL;
    for (size_t i = 0; i < lam_module_num_children(layers); i++) {
        lam_tensor *next = NULL;
        lam_status st = lam_module_forward(lam_module_child_at(layers, i, NULL), cur ? cur : x,
                                           &next);
        lam_tensor_release(cur);
        if (st)
            return st;
        cur = next;
    }
    *out = cur;
    return LAM_OK;
}

static lam_status walk_shape(lam_module *self, int ndim, const int64_t *in, int *out_ndim,
                             int64_t *out)
{
    lam_module *layers = lam_module_child(self, "layers");
    int nd = ndim;
    int64_t cur[LAM_MAX_DIMS];
    memcpy(cur, in, sizeof(int64_t) * (size_t)ndim);
    for (size_t i = 0; i < lam_module_num_children(layers); i++) {
        int64_t next[LAM_MAX_DIMS];
        lam_status st = lam_module_output_shape(lam_module_child_at(layers, i, NULL), nd, cur, &nd,
                                                next);
        if (st)
            return st;
        memcpy(cur, next, sizeof next);
    }
    *out_ndim = nd;
    memcpy(out, cur, sizeof(int64_t) * (size_t)nd);
    return LAM_OK;
}

static lam_module *my_model(lam_module *layers)
{
    lam_custom_spec spec = {.type_name = "MyModel", .forward = walk_forward,
                            .output_shape = walk_shape};
    lam_module *m = NULL;
    OK(lam_custom_create(&m, &spec));
    return with_layers(m, layers);
}

Test(error_paths, modulelist_in_a_custom_module)
{
    lam_module *my = my_model(LIST(linear(8, 8), relu(), linear(5, 2)));
    expect_both(my, 2, (int64_t[]){2, 8}, LAM_ERR_SHAPE,
                "MyModel.layers[2] Linear(in_features=5): input has 8 features, expected 5 "
                "(input shape [2, 8])");
    /* inside a Sequential: the path goes through it, and MyModel is named */
    lam_module *m = SEQ(relu(), lam_module_retain(my));
    expect_both(m, 2, (int64_t[]){2, 8}, LAM_ERR_SHAPE,
                "Sequential[1].layers[2] Linear(in_features=5): input has 8 features, expected 5 "
                "(input shape [2, 8]) (in MyModel at Sequential[1])");
    lam_module_release(m);
    lam_module_release(my);
}

/* ---- plugin containers ---- */

Test(error_paths, child_of_a_plugin_container)
{
    /* Residual(f) with f = layers[0] then layers[1], the second expecting 5 */
    lam_module *res = with_layers(create("Residual"), LIST(linear(8, 4), linear(5, 8)));
    lam_module *m = SEQ(linear(8, 8), relu(), lam_module_retain(res));
    const char *want = "Sequential[2].layers[1] Linear(in_features=5): input has 4 features, "
                       "expected 5 (input shape [3, 4]) (in Residual at Sequential[2])";
    expect_both(m, 2, (int64_t[]){3, 8}, LAM_ERR_SHAPE, want);
    /* a plan of it runs the Sequential's forward: the same */
    lam_plan *p = NULL;
    lam_tensor *x = NULL, *y = NULL;
    OK(lam_tensor_create(&x, 2, (int64_t[]){3, 8}));
    OK(lam_tensor_create(&y, 2, (int64_t[]){3, 8}));
    OK(lam_plan_create(&p, m, 2, (int64_t[]){3, 8}));
    cr_expect_eq(lam_plan_run(p, x, y), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(), want);
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    /* the container itself on top: its type leads, no note */
    expect_both(res, 2, (int64_t[]){3, 8}, LAM_ERR_SHAPE,
                "Residual.layers[1] Linear(in_features=5): input has 4 features, expected 5 "
                "(input shape [3, 4])");
    lam_module_release(m);
    lam_module_release(res);
}

Test(error_paths, a_plugin_containers_own_error)
{
    /* f(x) is [3, 4] but x is [3, 8]: Residual's own message, with its path */
    lam_module *m = SEQ(relu(), with_layers(create("Residual"), LIST(linear(8, 4))));
    expect_both(m, 2, (int64_t[]){3, 8}, LAM_ERR_SHAPE,
                "Sequential[1] Residual: f(x) has shape [3, 4] but x has shape [3, 8]");
    lam_module_release(m);

    /* GatedBlock's children disagree: its shape check, and in the forward the
     * host's mul fails -- the message says whose forward called it */
    m = SEQ(relu(), with_layers(create("GatedBlock"), LIST(linear(8, 4), linear(8, 2))));
    char *a = shape_error(m, 2, (int64_t[]){3, 8}, LAM_ERR_SHAPE);
    cr_expect_str_eq(a, "Sequential[1] GatedBlock: the value and the gate differ in shape");
    char *b = forward_error(m, 2, (int64_t[]){3, 8}, NULL, LAM_ERR_SHAPE);
    cr_expect(strncmp(b, "Sequential[1] GatedBlock: ", 26) == 0 && strstr(b, "must match"), "%s",
              b);
    free(a);
    free(b);
    lam_module_release(m);
}

Test(error_paths, nested_plugin_and_custom_containers)
{
    /* Sequential[1] is a GatedBlock whose gate is a MyModel: both named */
    lam_module *gate = my_model(LIST(linear(16, 4), relu(), linear(5, 4)));
    lam_module *m = SEQ(linear(8, 16),
                        with_layers(create("GatedBlock"), LIST(linear(16, 4), gate)));
    expect_both(m, 2, (int64_t[]){2, 8}, LAM_ERR_SHAPE,
                "Sequential[1].layers[1].layers[2] Linear(in_features=5): input has 4 features, "
                "expected 5 (input shape [2, 4]) (in GatedBlock at Sequential[1], in MyModel at "
                "Sequential[1].layers[1])");
    lam_module_release(m);
}

/* ---- plans: layers run without calls, maybe on worker threads ---- */

static void expect_plan_run_error(lam_module *m, int64_t rows, const char *want)
{
    lam_plan *p = NULL;
    lam_tensor *x = NULL, *y = NULL;
    OK(lam_plan_create(&p, m, 2, (int64_t[]){rows, 64}));
    OK(lam_tensor_create(&x, 2, (int64_t[]){rows, 64}));
    OK(lam_tensor_create(&y, 2, (int64_t[]){rows, 64}));
    cr_expect_eq(lam_plan_run(p, x, y), LAM_ERR_RUNTIME);
    cr_expect_str_eq(lam_last_error(), want, "rows %lld, %s", (long long)rows,
                     lam_plan_strategy(p, NULL));
    /* and through lam_module_forward (a cached plan, then child by child) */
    lam_tensor *z = (lam_tensor *)1;
    cr_expect_eq(lam_module_forward(m, x, &z), LAM_ERR_RUNTIME);
    cr_expect_str_eq(lam_last_error(), want);
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
}

Test(error_paths, plan_run_names_the_failing_layer)
{
    lam_set_num_threads(2);
    lam_module *m = SEQ(linear(64, 64), create("FailingLayer"), relu());
    for (int64_t rows = 1; rows <= 4096; rows *= 64)
        expect_plan_run_error(m, rows, "Sequential[1] FailingLayer: simulated failure");
    lam_module_release(m);
    /* rowwise: a big batch runs it on the worker threads */
    m = SEQ(SEQ(linear(64, 64), create("FailingRows")));
    for (int64_t rows = 1; rows <= 4096; rows *= 64)
        expect_plan_run_error(m, rows, "Sequential[0][1] FailingRows: simulated failure");
    lam_module_release(m);
    lam_set_num_threads(0);
}

/* ---- an error is located once, a new one again ---- */

static lam_status fallback_forward(lam_module *self, const lam_tensor *x, void *args,
                                   lam_tensor **out)
{
    (void)args;
    lam_status st = lam_module_forward(lam_module_child(self, "first"), x, out);
    if (st == LAM_OK)
        return st;
    /* the first failed (its message has its path); try the second */
    return lam_module_forward(lam_module_child(self, "second"), x, out);
}

Test(error_paths, a_new_error_after_a_caught_one_gets_its_own_path)
{
    lam_custom_spec spec = {.type_name = "Fallback", .forward = fallback_forward};
    lam_module *fb = NULL;
    OK(lam_custom_create(&fb, &spec));
    lam_module *a = linear(5, 2), *b = linear(7, 2);
    OK(lam_module_add_child(fb, "first", a));
    OK(lam_module_add_child(fb, "second", b));
    lam_module_release(a);
    lam_module_release(b);
    lam_module *m = SEQ(fb);
    char *msg = forward_error(m, 2, (int64_t[]){1, 8}, NULL, LAM_ERR_SHAPE);
    cr_expect_str_eq(msg, "Sequential[0].second Linear(in_features=7): input has 8 features, "
                          "expected 7 (input shape [1, 8]) (in Fallback at Sequential[0])");
    free(msg);
    lam_module_release(m);
}

/* ---- the forward hook ---- */

typedef struct call {
    const lam_module *m;
    int64_t in1, out1; /* last dims */
} call;

typedef struct calls {
    call v[64];
    int n;
    lam_module *inner; /* forwarded from inside the hook, once */
} calls;

static void record(lam_module *m, const lam_tensor *in, const lam_tensor *out, void *user)
{
    calls *c = user;
    if (c->n < 64)
        c->v[c->n++] = (call){m, lam_tensor_shape(in)[lam_tensor_ndim(in) - 1],
                              lam_tensor_shape(out)[lam_tensor_ndim(out) - 1]};
    if (c->inner) { /* not seen by the hook */
        lam_tensor *y = NULL;
        cr_expect_eq(lam_module_forward(c->inner, in, &y), LAM_OK);
        lam_tensor_release(y);
    }
}

static lam_module *child(lam_module *m, const char *path)
{
    lam_module *c = NULL;
    OK(lam_module_get_submodule(m, path, &c));
    return c;
}

Test(forward_hook, sees_every_call_as_made)
{
    /* Sequential(Linear(8, 16), ReLU, GatedBlock(Linear(16, 4), Linear(16, 4))) */
    lam_module *m = SEQ(linear(8, 16), relu(),
                        with_layers(create("GatedBlock"), LIST(linear(16, 4), linear(16, 4))));
    lam_tensor *x = NULL, *y = NULL;
    OK(lam_tensor_create(&x, 2, (int64_t[]){3, 8}));
    calls c = {.n = 0};
    lam_set_forward_hook(record, &c);
    OK(lam_module_forward(m, x, &y));
    lam_tensor_release(y);
    /* children before their callers; both of GatedBlock's fed x (16) */
    const call want[] = {
        {child(m, "0"), 8, 16},          {child(m, "1"), 16, 16},
        {child(m, "2.layers.0"), 16, 4}, {child(m, "2.layers.1"), 16, 4},
        {child(m, "2"), 16, 4},          {m, 8, 4},
    };
    cr_assert_eq(c.n, 6, "%d calls", c.n);
    for (int i = 0; i < 6; i++)
        cr_expect(c.v[i].m == want[i].m && c.v[i].in1 == want[i].in1 &&
                      c.v[i].out1 == want[i].out1,
                  "call %d: %s %lld -> %lld", i, lam_module_type_name(c.v[i].m),
                  (long long)c.v[i].in1, (long long)c.v[i].out1);

    /* a plain Sequential (planned without a hook) is still seen child by child */
    lam_module *s = SEQ(linear(8, 4), relu());
    c.n = 0;
    OK(lam_module_forward(s, x, &y));
    lam_tensor_release(y);
    cr_expect_eq(c.n, 3);

    /* forwards made inside the hook do not call it */
    c.n = 0;
    c.inner = s;
    OK(lam_module_forward(child(m, "0"), x, &y));
    lam_tensor_release(y);
    cr_expect_eq(c.n, 1);
    c.inner = NULL;

    /* failing calls are not seen; those that succeeded before are */
    c.n = 0;
    lam_module *bad = SEQ(linear(8, 4), linear(5, 2));
    cr_expect_eq(lam_module_forward(bad, x, &y), LAM_ERR_SHAPE);
    cr_expect_eq(c.n, 1);
    cr_expect(c.n == 1 && c.v[0].m == child(bad, "0"));

    /* removed: nothing more */
    lam_set_forward_hook(NULL, NULL);
    c.n = 0;
    OK(lam_module_forward(m, x, &y));
    lam_tensor_release(y);
    cr_expect_eq(c.n, 0);
    lam_module_release(bad);
    lam_module_release(s);
    lam_tensor_release(x);
    lam_module_release(m);
}

static void *forward_elsewhere(void *arg)
{
    lam_module *m = arg;
    lam_tensor *x = NULL, *y = NULL;
    if (lam_tensor_create(&x, 2, (int64_t[]){2, 8}) || lam_module_forward(m, x, &y))
        return (void *)1;
    lam_tensor_release(x);
    lam_tensor_release(y);
    return NULL;
}

Test(forward_hook, is_per_thread)
{
    lam_module *m = SEQ(linear(8, 4), relu());
    calls c = {.n = 0};
    lam_set_forward_hook(record, &c);
    pthread_t t;
    void *ret = (void *)1;
    cr_assert_eq(pthread_create(&t, NULL, forward_elsewhere, m), 0);
    pthread_join(t, &ret);
    cr_expect_null(ret);
    cr_expect_eq(c.n, 0, "another thread's forward called this thread's hook");
    lam_set_forward_hook(NULL, NULL);
    lam_module_release(m);
}

static void remove_self(lam_module *m, const lam_tensor *in, const lam_tensor *out, void *user)
{
    (void)m, (void)in, (void)out;
    ++*(int *)user;
    lam_set_forward_hook(NULL, NULL);
}

Test(forward_hook, may_remove_itself)
{
    lam_module *m = SEQ(linear(8, 4), relu());
    lam_tensor *x = NULL, *y = NULL;
    OK(lam_tensor_create(&x, 2, (int64_t[]){2, 8}));
    int n = 0;
    lam_set_forward_hook(remove_self, &n);
    OK(lam_module_forward(m, x, &y)); /* the Linear's call removes it */
    lam_tensor_release(y);
    OK(lam_module_forward(m, x, &y));
    lam_tensor_release(y);
    cr_expect_eq(n, 1);
    lam_tensor_release(x);
    lam_module_release(m);
}
