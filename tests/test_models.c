/* The three canonical models, built with the C API, loaded with PyTorch's
 * weights (tests/fixtures/models/), against PyTorch 1.13:
 *   1. Sequential(Linear(10, 50), ReLU(), Linear(50, 2), Sigmoid())
 *   2. MyModel: a ModuleList "layers" of the same four, walked by its forward
 *   3. ConditionalModel: layers[0..2] always, layers[3..] only when
 *      `condition`; its last layer Linear(10, 100) cannot take the 2 features
 *      of layers[3] -- the error must name it -- and the corrected variant
 *      with Linear(2, 100).
 * Tolerance: |got - expected| <= 1e-6 + 1e-5 |expected| (fixture.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* ---- the models ------------------------------------------------------------ */

/* Linear(10, 50), ReLU(), Linear(50, 2), Sigmoid() [, Linear(last_in, 100)] */
static void four_layers(lam_module **mods, int64_t last_in, bool with_last)
{
    mods[0] = th_linear(10, 50, true);
    mods[1] = TH_MAKE(lam_relu_create);
    mods[2] = th_linear(50, 2, true);
    mods[3] = TH_MAKE(lam_sigmoid_create);
    if (with_last)
        mods[4] = th_linear(last_in, 100, true);
}

static void release_n(lam_module **mods, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
}

static lam_module *make_sequential(void)
{
    lam_module *mods[4], *s = NULL;
    four_layers(mods, 0, false);
    ASSERT_OK(lam_sequential_create(&s, 4, mods));
    release_n(mods, 4);
    return s;
}

/* x = layers[i](x) for i in [from, to) -- the body of both custom forwards */
static lam_status run_layers(lam_module *self, size_t from, size_t to, lam_tensor **x)
{
    lam_module *layers = lam_module_child(self, "layers");
    if (!layers)
        return LAM_ERR_RUNTIME;
    for (size_t i = from; i < to; i++) {
        lam_module *layer = NULL;
        lam_tensor *next = NULL;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (st == LAM_OK)
            st = lam_module_forward(layer, *x, &next);
        if (st != LAM_OK)
            return st;
        lam_tensor_release(*x);
        *x = next;
    }
    return LAM_OK;
}

/* MyModel.forward: for layer in self.layers: x = layer(x) */
static lam_status mymodel_forward(lam_module *self, const lam_tensor *input, void *args,
                                  lam_tensor **output)
{
    (void)args;
    lam_tensor *x = lam_tensor_retain((lam_tensor *)input);
    lam_status st = run_layers(self, 0, lam_container_len(lam_module_child(self, "layers")), &x);
    if (st != LAM_OK) {
        lam_tensor_release(x);
        return st;
    }
    *output = x;
    return LAM_OK;
}

/* ConditionalModel.forward(x, condition) */
static lam_status conditional_forward(lam_module *self, const lam_tensor *input, void *args,
                                      lam_tensor **output)
{
    bool condition = args && *(const bool *)args;
    lam_tensor *x = lam_tensor_retain((lam_tensor *)input);
    lam_status st = run_layers(self, 0, 3, &x);
    if (st == LAM_OK && condition)
        st = run_layers(self, 3, lam_container_len(lam_module_child(self, "layers")), &x);
    if (st != LAM_OK) {
        lam_tensor_release(x);
        return st;
    }
    *output = x;
    return LAM_OK;
}

static lam_module *make_custom(const char *type, lam_forward_fn fwd, size_t n, int64_t last_in)
{
    lam_custom_spec spec = { .type_name = type, .forward = fwd };
    lam_module *m = NULL, *mods[5], *layers = NULL;
    ASSERT_OK(lam_custom_create(&m, &spec));
    four_layers(mods, last_in, n == 5);
    ASSERT_OK(lam_modulelist_create(&layers, n, mods));
    th_add(m, "layers", layers);
    lam_module_release(layers);
    release_n(mods, n);
    return m;
}

static lam_module *make_mymodel(void) { return make_custom("MyModel", mymodel_forward, 4, 0); }
static lam_module *make_conditional(int64_t last_in)
{
    return make_custom("ConditionalModel", conditional_forward, 5, last_in);
}

/* ---- checks ---------------------------------------------------------------- */

/* repr, parameter names, state_dict keys and size, then load PyTorch's weights */
static void check_structure_and_load(lam_module *m, const fx_file *fx, const char *what)
{
    char msg[512];
    EXPECT_REPR(m, fx, "repr");
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &sd));
    cr_expect(fx_keys_equal(sd, fx, "named_parameters", msg, sizeof msg), "%s: %s", what, msg);
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_expect(fx_keys_equal(sd, fx, "state_dict_keys", msg, sizeof msg), "%s: %s", what, msg);
    lam_state_dict_free(sd);
    int64_t np = 0;
    cr_assert(fx_int(fx, "num_parameters", &np));
    cr_expect_eq(lam_module_num_parameters(m), np, "%s: num_parameters", what);

    sd = fx_state_dict(fx);
    cr_assert_not_null(sd);
    lam_incompatible_keys keys = { 0 };
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, &keys));
    cr_expect_eq(keys.n_missing + keys.n_unexpected, 0, "%s: incompatible keys on a full load", what);
    lam_incompatible_keys_clear(&keys);
    lam_state_dict_free(sd);
    lam_module_eval(m);
}

/* forward(x[, condition]) == fixture output; the input is left untouched */
static void check_forward(lam_module *m, const fx_file *fx, const char *input, const char *output,
                          const bool *condition, const char *what)
{
    char msg[512];
    lam_tensor *x = fx_lam_tensor(fx, input), *copy = NULL, *y = NULL;
    cr_assert_not_null(x, "fixture lacks %s", input);
    ASSERT_OK(lam_tensor_clone(&copy, x));
    if (condition)
        ASSERT_OK(lam_module_forward_args(m, x, (void *)condition, &y));
    else
        ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(fx_tensor_close(y, fx_get_tensor(fx, output), msg, sizeof msg), "%s: %s", what, msg);
    cr_expect(!memcmp(lam_tensor_cdata(x), lam_tensor_cdata(copy),
                      (size_t)lam_tensor_numel(x) * sizeof(float)),
              "%s: forward modified its input", what);
    lam_tensor_release(y);
    lam_tensor_release(copy);
    lam_tensor_release(x);
}

/* forward fails with LAM_ERR_SHAPE and `message`; no output; input untouched */
static void check_shape_error(lam_module *m, const fx_file *fx, const char *input,
                              const bool *condition, const char *message)
{
    lam_tensor *x = fx_lam_tensor(fx, input), *copy = NULL, *y = (lam_tensor *)0x1;
    cr_assert_not_null(x);
    ASSERT_OK(lam_tensor_clone(&copy, x));
    lam_clear_error();
    lam_status st = condition ? lam_module_forward_args(m, x, (void *)condition, &y)
                              : lam_module_forward(m, x, &y);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    cr_expect_eq(st, LAM_ERR_SHAPE, "%s: status %s (%s)", input, lam_status_str(st), msg);
    cr_expect(strstr(msg, message) != NULL, "message\n got: \"%s\"\nwant: \"%s\"", msg, message);
    cr_expect_null(y, "output set by a failed forward");
    cr_expect(!memcmp(lam_tensor_cdata(x), lam_tensor_cdata(copy),
                      (size_t)lam_tensor_numel(x) * sizeof(float)),
              "a failed forward modified its input");
    lam_tensor_release(copy);
    lam_tensor_release(x);
}

/* ---- 1. Sequential -------------------------------------------------------- */

Test(models, sequential)
{
    fx_file *fx = FX_OPEN("models/sequential.txt");
    lam_module *m = make_sequential();
    check_structure_and_load(m, fx, "sequential");
    check_forward(m, fx, "input_1", "output_1", NULL, "sequential batch 1");
    check_forward(m, fx, "input_7", "output_7", NULL, "sequential batch 7");
    check_forward(m, fx, "input_1", "output_1", NULL, "sequential batch 1 again");

    int ond = 0;
    int64_t os[LAM_MAX_DIMS];
    ASSERT_OK(lam_module_output_shape(m, 2, (int64_t[]){ 7, 10 }, &ond, os));
    cr_expect(ond == 2 && os[0] == 7 && os[1] == 2, "output_shape([7, 10])");
    cr_expect_eq(lam_module_output_shape(m, 2, (int64_t[]){ 7, 11 }, &ond, os), LAM_ERR_SHAPE);
    lam_module_release(m);
    fx_close(fx);
}

Test(models, sequential_with_bad_last_layer)
{
    /* the Sequential form of example 3: the message names the position */
    fx_file *fx = FX_OPEN("models/conditional.txt");
    lam_module *mods[5], *m = NULL;
    four_layers(mods, 10, true);
    ASSERT_OK(lam_sequential_create(&m, 5, mods));
    release_n(mods, 5);
    check_shape_error(m, fx, "input_1", NULL, "Sequential[4] Linear(in_features=10): input has 2 features");
    check_shape_error(m, fx, "input_7", NULL, "Sequential[4] Linear(in_features=10): input has 2 features");
    int ond;
    int64_t os[LAM_MAX_DIMS];
    cr_expect_eq(lam_module_output_shape(m, 2, (int64_t[]){ 1, 10 }, &ond, os), LAM_ERR_SHAPE);
    lam_module_release(m);
    fx_close(fx);
}

/* ---- 2. MyModel ------------------------------------------------------------ */

Test(models, mymodel)
{
    fx_file *fx = FX_OPEN("models/mymodel.txt");
    lam_module *m = make_mymodel();
    cr_expect_str_eq(lam_module_type_name(m), "MyModel");
    check_structure_and_load(m, fx, "mymodel");
    check_forward(m, fx, "input_1", "output_1", NULL, "mymodel batch 1");
    check_forward(m, fx, "input_7", "output_7", NULL, "mymodel batch 7");
    /* custom modules without a shape callback cannot infer shapes */
    int ond;
    int64_t os[LAM_MAX_DIMS];
    cr_expect_eq(lam_module_output_shape(m, 2, (int64_t[]){ 1, 10 }, &ond, os), LAM_ERR_NOT_IMPLEMENTED);
    lam_module_release(m);
    fx_close(fx);
}

Test(models, mymodel_equals_sequential_with_same_weights)
{
    /* the ModuleList registers its children with MyModel: one state_dict
     * (renamed keys) drives both forms to the same numbers */
    fx_file *fx = FX_OPEN("models/sequential.txt");
    lam_module *seq = make_sequential(), *my = make_mymodel();
    lam_state_dict *sd = fx_state_dict(fx), *renamed = NULL;
    ASSERT_OK(lam_module_load_state_dict(seq, sd, true, NULL));
    ASSERT_OK(lam_state_dict_create(&renamed));
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        char key[64];
        snprintf(key, sizeof key, "layers.%s", lam_state_dict_key(sd, i));
        ASSERT_OK(lam_state_dict_set(renamed, key, lam_state_dict_tensor(sd, i)));
    }
    ASSERT_OK(lam_module_load_state_dict(my, renamed, true, NULL));
    lam_tensor *x = fx_lam_tensor(fx, "input_7"), *a = NULL, *b = NULL;
    ASSERT_OK(lam_module_forward(seq, x, &a));
    ASSERT_OK(lam_module_forward(my, x, &b));
    cr_expect(lam_tensor_same_shape(a, b) &&
                  !memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b), (size_t)lam_tensor_numel(a) * sizeof(float)),
              "MyModel and Sequential differ on the same weights");
    lam_tensor_release(a);
    lam_tensor_release(b);
    lam_tensor_release(x);
    lam_state_dict_free(renamed);
    lam_state_dict_free(sd);
    lam_module_release(seq);
    lam_module_release(my);
    fx_close(fx);
}

/* ---- 3. ConditionalModel ------------------------------------------------- */

Test(models, conditional_false_runs_true_fails_at_layers_4)
{
    fx_file *fx = FX_OPEN("models/conditional.txt");
    /* PyTorch's own text, kept in the fixture for reference */
    cr_assert_not_null(fx_text(fx, "pytorch_error_1_cond_true"));
    lam_module *m = make_conditional(10);
    cr_expect_str_eq(lam_module_type_name(m), "ConditionalModel");
    check_structure_and_load(m, fx, "conditional");
    const bool no = false, yes = true;
    check_forward(m, fx, "input_1", "output_1_cond_false", &no, "conditional(False) batch 1");
    check_forward(m, fx, "input_7", "output_7_cond_false", &no, "conditional(False) batch 7");

    const char *expected = "ConditionalModel.layers[4] Linear(in_features=10): input has 2 features";
    check_shape_error(m, fx, "input_1", &yes, expected);
    check_shape_error(m, fx, "input_7", &yes, expected);

    /* the process and the model carry on */
    check_forward(m, fx, "input_1", "output_1_cond_false", &no, "conditional(False) after the error");
    check_forward(m, fx, "input_7", "output_7_cond_false", &no, "conditional(False) batch 7 after the error");
    check_shape_error(m, fx, "input_1", &yes, expected);

    /* the failing layer is reachable by its PyTorch path */
    lam_module *layer = NULL, *layers = lam_module_child(m, "layers"), *by_index = NULL;
    ASSERT_OK(lam_module_get_submodule(m, "layers.4", &layer));
    ASSERT_OK(lam_container_get(layers, -1, &by_index));
    cr_expect(layer == by_index);
    char *r = lam_module_repr(layer);
    EXPECT_STR_EQ(r, "Linear(in_features=10, out_features=100, bias=True)", "layers.4");
    lam_free(r);
    EXPECT_FAIL(lam_module_get_submodule(m, "layers.5", &layer), LAM_ERR_KEY,
                "ModuleList has no attribute `5`");
    EXPECT_FAIL(lam_module_get_submodule(m, "layer", &layer), LAM_ERR_KEY,
                "ConditionalModel has no attribute `layer`");
    lam_module_release(m);
    fx_close(fx);
}

Test(models, conditional_fixed_runs_both_ways)
{
    fx_file *fx = FX_OPEN("models/conditional_fixed.txt");
    lam_module *m = make_conditional(2);
    check_structure_and_load(m, fx, "conditional_fixed");
    const bool no = false, yes = true;
    check_forward(m, fx, "input_1", "output_1_cond_true", &yes, "fixed(True) batch 1");
    check_forward(m, fx, "input_7", "output_7_cond_true", &yes, "fixed(True) batch 7");
    check_forward(m, fx, "input_1", "output_1_cond_false", &no, "fixed(False) batch 1");
    check_forward(m, fx, "input_7", "output_7_cond_false", &no, "fixed(False) batch 7");
    check_forward(m, fx, "input_7", "output_7_cond_true", &yes, "fixed(True) batch 7 again");
    lam_module_release(m);
    fx_close(fx);
}

static int g_freed;
static void count_free(void *user)
{
    cr_expect_eq(*(int *)user, 42, "user_free got another pointer");
    g_freed++;
}

Test(models, custom_module_spec)
{
    static int payload = 42;
    lam_custom_spec spec = { .type_name = "Holder", .forward = mymodel_forward, .user = &payload };
    lam_module *m = NULL;
    ASSERT_OK(lam_custom_create(&m, &spec));
    cr_expect(lam_module_user(m) == &payload);
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, "Holder()", "a custom module without children");
    lam_free(r);
    lam_module *l = th_linear(2, 2, true);
    cr_expect_null(lam_module_user(l), "built-in modules have no user pointer");
    lam_module_release(l);
    lam_module_release(m);

    /* user_free runs once, when the last reference goes */
    g_freed = 0;
    spec.user_free = count_free;
    ASSERT_OK(lam_custom_create(&m, &spec));
    lam_module *holder = TH_SEQ(m);
    lam_module_release(m);
    cr_expect_eq(g_freed, 0, "user_free ran while a container still held the module");
    lam_module_release(holder);
    cr_expect_eq(g_freed, 1, "user_free ran %d times", g_freed);

    /* a forward is required */
    lam_custom_spec bad = { .type_name = "NoForward" };
    m = NULL;
    cr_expect_eq(lam_custom_create(&m, &bad), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(m);
    cr_expect_eq(lam_custom_create(&m, NULL), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(m);
}
