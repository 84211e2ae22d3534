/* <lamina/plugin_util.h>: the guide's example plugin (examples/plugins/gated.c:
 * ScaleShift and GatedResidual) against references computed here and
 * PyTorch's fixtures, and each helper's error paths through a test plugin
 * (tests/plugins/utiltypes.c) whose types drive them from their arguments.
 * A failing create must clean up: its state is destroyed exactly once (the
 * test types log "<Type>: destroy"), and the ASan build finds no leak. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <lamina/registry.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LAM_TEST_UTIL_DIR
#define LAM_TEST_UTIL_DIR "tests/plugins/util/.libs"
#endif
#ifndef LAM_TEST_GATED
#define LAM_TEST_GATED "examples/plugins/.libs/gated.so"
#endif
#ifndef LAM_TEST_EXAMPLES_DIR
#define LAM_TEST_EXAMPLES_DIR "examples/plugins"
#endif

#define OK(call)                                                                                   \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_assert(st_ == LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_), lam_last_error());   \
    } while (0)

/* ---- the destroys the test types log ---- */

static int n_destroyed;
static char last_destroyed[64];

static void on_log(lam_log_level level, const char *msg, void *user)
{
    (void)level, (void)user;
    size_t n = strlen(msg);
    if (n > 9 && strcmp(msg + n - 9, ": destroy") == 0) {
        __atomic_add_fetch(&n_destroyed, 1, __ATOMIC_SEQ_CST);
        snprintf(last_destroyed, sizeof last_destroyed, "%.*s", (int)(n - 9), msg);
    }
}

static void setup(void) { lam_set_log_callback(on_log, NULL); }

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
static void teardown(void)
{
    lam_set_log_callback(NULL, NULL);
    __lsan_do_recoverable_leak_check();
}
#else
static void teardown(void) { lam_set_log_callback(NULL, NULL); }
#endif

TestSuite(gated, .init = setup, .fini = teardown);
TestSuite(util, .init = setup, .fini = teardown);

static void expect_error(lam_status got, lam_status want, const char *text)
{
    cr_expect_eq(got, want, "status %s, expected %s (%s)", lam_status_str(got),
                 lam_status_str(want), lam_last_error());
    cr_expect(strstr(lam_last_error(), text) != NULL, "message '%s' lacks '%s'", lam_last_error(),
              text);
}

static lam_plugin *load(const char *path)
{
    lam_plugin *p = NULL;
    OK(lam_plugin_load(path, &p));
    return p;
}

static lam_plugin *load_util(void) { return load(LAM_TEST_UTIL_DIR "/utiltypes.so"); }

/* lam_module_create with keyword arguments */
static lam_status create(lam_module **m, const char *type, size_t n, const lam_kwarg *kw)
{
    *m = (lam_module *)0x1; /* must come back NULL on failure */
    lam_status st = lam_module_create(m, type, n, kw);
    if (st)
        cr_expect_null(*m, "%s: a failed create left a module in *out", type);
    return st;
}

static lam_tensor *param(const lam_module *m, const char *key)
{
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert(t != NULL, "no parameter %s", key);
    lam_state_dict_free(sd); /* t stays: the module holds it */
    return t;
}

static lam_tensor *tensor(int ndim, const int64_t *shape, unsigned seed)
{
    lam_tensor *t;
    OK(lam_tensor_create(&t, ndim, shape));
    float *p = lam_tensor_data(t);
    for (int64_t i = 0; i < lam_tensor_numel(t); i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
    return t;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f != NULL, "%s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* ================= the example: ScaleShift, GatedResidual ================= */

Test(gated, registers_both_types_in_order)
{
    lam_plugin *p = load(LAM_TEST_GATED);
    cr_expect_eq(lam_plugin_num_types(p), 2);
    cr_expect_str_eq(lam_plugin_type_name(p, 0), "ScaleShift");
    cr_expect_str_eq(lam_plugin_type_name(p, 1), "GatedResidual");
    char *sig = lam_layer_type_signature("GatedResidual");
    cr_expect_str_eq(sig, "GatedResidual(d)");
    lam_free(sig);
}

Test(gated, arguments)
{
    load(LAM_TEST_GATED);
    lam_module *m;
    expect_error(create(&m, "GatedResidual", 0, NULL), LAM_ERR_INVALID_ARGUMENT,
                 "GatedResidual: missing required argument 'd'");
    lam_kwarg zero[] = {{"d", LAM_INT(0)}};
    expect_error(create(&m, "ScaleShift", 1, zero), LAM_ERR_INVALID_ARGUMENT,
                 "ScaleShift: d must be a positive integer, got 0");
}

Test(gated, scaleshift)
{
    load(LAM_TEST_GATED);
    lam_kwarg d3[] = {{NULL, LAM_INT(3)}};
    lam_module *m;
    OK(create(&m, "ScaleShift", 1, d3));
    char *repr = lam_module_repr(m);
    cr_expect_str_eq(repr, "ScaleShift(d=3)");
    lam_free(repr);
    cr_expect_eq(lam_module_num_parameters(m), 6);
    float *s = lam_tensor_data(param(m, "scale")), *b = lam_tensor_data(param(m, "shift"));
    for (int i = 0; i < 3; i++)
        cr_expect(s[i] == 1.0f && b[i] == 0.0f, "initial scale/shift [%d]: %g %g", i, s[i], b[i]);
    const float sv[3] = {2.0f, -1.0f, 0.5f}, bv[3] = {0.25f, 1.0f, -3.0f};
    memcpy(s, sv, sizeof sv);
    memcpy(b, bv, sizeof bv);

    int64_t shape[3] = {2, 5, 3};
    lam_tensor *x = tensor(3, shape, 7), *y;
    OK(lam_module_forward(m, x, &y));
    const float *xd = lam_tensor_cdata(x), *yd = lam_tensor_cdata(y);
    for (int i = 0; i < 30; i++) {
        volatile float t = xd[i] * sv[i % 3]; /* two roundings, as PyTorch's x * scale + shift */
        float want = t + bv[i % 3];
        cr_expect(yd[i] == want, "y[%d] = %.9g, want %.9g", i, yd[i], want);
    }
    lam_tensor_release(y);
    lam_tensor_release(x);

    int64_t wrong[2] = {2, 4};
    x = tensor(2, wrong, 1);
    expect_error(lam_module_forward(m, x, &y), LAM_ERR_SHAPE,
                 "ScaleShift: The size of tensor a (4) must match the size of tensor b (3) at "
                 "non-singleton dimension 1");
    lam_tensor_release(x);
    lam_module_release(m);
}

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

/* y = W·x + b in double, for rows of d */
static void linear_ref(const lam_module *m, int i, const double *x, int rows, int d, double *y)
{
    char key[32];
    snprintf(key, sizeof key, "layers.%d.weight", i);
    const float *w = lam_tensor_cdata(param(m, key));
    snprintf(key, sizeof key, "layers.%d.bias", i);
    const float *b = lam_tensor_cdata(param(m, key));
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < d; o++) {
            double acc = b[o];
            for (int k = 0; k < d; k++)
                acc += (double)w[o * d + k] * x[r * d + k];
            y[r * d + o] = acc;
        }
}

Test(gated, default_children_and_forward)
{
    load(LAM_TEST_GATED);
    lam_manual_seed(3);
    lam_kwarg d4[] = {{"d", LAM_INT(4)}};
    lam_module *m;
    OK(create(&m, "GatedResidual", 1, d4));
    char *repr = lam_module_repr(m);
    cr_expect_str_eq(repr, "GatedResidual(\n"
                           "  d=4\n"
                           "  (layers): ModuleList(\n"
                           "    (0): Linear(in_features=4, out_features=4, bias=True)\n"
                           "    (1): Linear(in_features=4, out_features=4, bias=True)\n"
                           "    (2): Linear(in_features=4, out_features=4, bias=True)\n"
                           "  )\n"
                           ")");
    lam_free(repr);
    lam_state_dict *sd;
    OK(lam_module_named_parameters(m, true, true, &sd));
    const char *keys[] = {"layers.0.weight", "layers.0.bias", "layers.1.weight",
                          "layers.1.bias",   "layers.2.weight", "layers.2.bias"};
    cr_expect_eq(lam_state_dict_len(sd), 6);
    for (size_t i = 0; i < 6 && i < lam_state_dict_len(sd); i++)
        cr_expect_str_eq(lam_state_dict_key(sd, i), keys[i]);
    lam_state_dict_free(sd);

    enum { R = 3, D = 4 };
    int64_t shape[2] = {R, D};
    lam_tensor *x = tensor(2, shape, 11), *y;
    OK(lam_module_forward(m, x, &y));
    double xd[R * D], a[R * D], g[R * D], c[R * D];
    for (int i = 0; i < R * D; i++)
        xd[i] = lam_tensor_cdata(x)[i];
    linear_ref(m, 0, xd, R, D, a);
    linear_ref(m, 1, xd, R, D, g);
    linear_ref(m, 2, a, R, D, c);
    for (int i = 0; i < R * D; i++) {
        double want = xd[i] + sigmoid(g[i]) * c[i];
        float got = lam_tensor_cdata(y)[i];
        cr_expect(fabs(got - want) <= 1e-5 + 1e-5 * fabs(want), "y[%d] = %.9g, want %.9g", i, got,
                  want);
    }
    lam_tensor_release(y);

    /* the children are looked up on each call: a replaced, shorter list is reported */
    lam_module *l0, *l1, *list;
    lam_kwarg lin[] = {{NULL, LAM_INT(4)}, {NULL, LAM_INT(4)}};
    OK(lam_module_create(&l0, "Linear", 2, lin));
    OK(lam_module_create(&l1, "Linear", 2, lin));
    lam_module *two[] = {l0, l1};
    OK(lam_modulelist_create(&list, 2, two));
    OK(lam_module_add_child(m, "layers", list));
    lam_module_release(list);
    lam_module_release(l0);
    lam_module_release(l1);
    expect_error(lam_module_forward(m, x, &y), LAM_ERR_INDEX,
                 "GatedResidual: layers has 2 modules, its forward needs 3 (index 2 is out of range)");
    lam_tensor_release(x);
    lam_module_release(m);
}

/* The PyTorch fixtures through the C API: the model file reads back to
 * itself, the state_dict loads strictly, the output is PyTorch's. */
static void check_fixture(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.lam", LAM_TEST_EXAMPLES_DIR, name);
    lam_module *m;
    OK(lam_model_load(path, &m));
    char *repr = lam_module_repr(m);
    const char *text = read_file(path);
    cr_expect(strncmp(repr, text, strlen(repr)) == 0 && !strcmp(text + strlen(repr), "\n"),
              "%s: repr\n%s\ndiffers from the file\n%s", name, repr, text);
    lam_free(repr);
    snprintf(path, sizeof path, "%s/%s.safetensors", LAM_TEST_EXAMPLES_DIR, name);
    OK(lam_model_load_weights(m, path, true, NULL));
    lam_tensor *x, *want, *y;
    snprintf(path, sizeof path, "%s/%s.input.npy", LAM_TEST_EXAMPLES_DIR, name);
    OK(lam_npy_load(path, &x));
    snprintf(path, sizeof path, "%s/%s.output.npy", LAM_TEST_EXAMPLES_DIR, name);
    OK(lam_npy_load(path, &want));
    OK(lam_module_forward(m, x, &y));
    cr_assert_eq(lam_tensor_numel(y), lam_tensor_numel(want));
    for (int64_t i = 0; i < lam_tensor_numel(y); i++) {
        float g = lam_tensor_cdata(y)[i], w = lam_tensor_cdata(want)[i];
        cr_expect(fabsf(g - w) <= 1e-5f + 1e-5f * fabsf(w), "%s: y[%lld] = %.9g, PyTorch %.9g",
                  name, (long long)i, g, w);
    }
    lam_tensor_release(x);
    lam_tensor_release(want);
    lam_tensor_release(y);
    lam_module_release(m);
}

Test(gated, pytorch_fixtures)
{
    load(LAM_TEST_GATED);
    check_fixture("gated");
    /* layers[2] is a Sequential(Linear, ScaleShift) in the file: it replaces
     * the Linear the constructor built */
    check_fixture("gated_replaced");
}

/* ================= the helpers' error paths ================= */

Test(util, register_all)
{
    lam_plugin *p = load_util();
    cr_expect_eq(lam_plugin_num_types(p), 3);
    cr_expect_str_eq(lam_plugin_type_name(p, 0), "UtilParams");
    cr_expect_str_eq(lam_plugin_type_name(p, 1), "UtilBig");
    cr_expect_str_eq(lam_plugin_type_name(p, 2), "UtilList");
    /* a rejected type stops the registration; nothing of the plugin stays */
    expect_error(lam_plugin_load(LAM_TEST_UTIL_DIR "/util_dup.so", NULL), LAM_ERR_PLUGIN,
                 "layer type 'Linear' is already registered by built-in");
    cr_expect_not(lam_layer_type_exists("UtilDupFirst"));
    cr_expect_null(lam_plugin_find("util_dup"));
}

Test(util, params)
{
    load_util();
    lam_kwarg n3[] = {{"n", LAM_INT(3)}};
    lam_module *m;
    OK(create(&m, "UtilParams", 1, n3));
    const float *a = lam_tensor_cdata(param(m, "a")), *b = lam_tensor_cdata(param(m, "b"));
    for (int i = 0; i < 3; i++)
        cr_expect(a[i] == 1.5f && b[i] == -2.0f, "[%d]: %g %g", i, a[i], b[i]);
    cr_expect_eq(lam_module_num_parameters(m), 6);
    lam_module_release(m);
    cr_expect_eq(n_destroyed, 1);
}

Test(util, failing_param_cleans_up)
{
    load_util();
    lam_module *m;
    lam_kwarg taken[] = {{"n", LAM_INT(2)}, {"bad", LAM_STRING("a")}};
    expect_error(create(&m, "UtilParams", 2, taken), LAM_ERR_KEY,
                 "UtilParams: attribute 'a' already exists");
    cr_expect_eq(n_destroyed, 1, "the state was destroyed %d times", n_destroyed);
    cr_expect_str_eq(last_destroyed, "UtilParams");
    lam_kwarg dotted[] = {{"n", LAM_INT(2)}, {"bad", LAM_STRING("x.y")}};
    expect_error(create(&m, "UtilParams", 2, dotted), LAM_ERR_KEY,
                 "UtilParams: parameter name must be non-empty and without '.'");
    cr_expect_eq(n_destroyed, 2);
}

static lam_status parse_limited(const char *text, int64_t max_params, lam_module **m)
{
    lam_model_options o = {0};
    o.max_params = max_params;
    *m = NULL;
    return lam_model_parse_ex(text, strlen(text), "limited.lam", &o, m);
}

Test(util, params_past_the_model_limit)
{
    load_util();
    lam_module *m;
    expect_error(parse_limited("UtilParams(100000)", 1000, &m), LAM_ERR_INVALID_ARGUMENT,
                 "UtilParams: parameter 'a' of shape [100000] brings the model to");
    cr_expect_null(m);
    cr_expect_eq(n_destroyed, 1);
    /* the second parameter crosses it: the first goes with the module */
    expect_error(parse_limited("UtilParams(600)", 1000, &m), LAM_ERR_INVALID_ARGUMENT,
                 "UtilParams: parameter 'b' of shape [600]");
    cr_expect_eq(n_destroyed, 2);
}

Test(util, state_past_the_model_limit)
{
    load_util();
    lam_module *m;
    /* host->alloc returns NULL for both causes: the message names both */
    expect_error(parse_limited("UtilBig(bytes=65536)", 1000, &m), LAM_ERR_NO_MEMORY,
                 "UtilBig: cannot allocate 65536 bytes of module state (out of memory, or past "
                 "a model file's parameter limit)");
    cr_expect_null(m);
    cr_expect_eq(n_destroyed, 0, "no state was made, none destroyed");
    OK(parse_limited("UtilBig(bytes=65536)", 100000, &m)); /* within it */
    lam_module_release(m);
    cr_expect_eq(n_destroyed, 1);
    cr_expect_str_eq(last_destroyed, "UtilBig");
}

Test(util, modulelist)
{
    load_util();
    lam_module *m;
    OK(create(&m, "UtilList", 0, NULL));
    char *repr = lam_module_repr(m);
    cr_expect_str_eq(repr, "UtilList(\n"
                           "  (layers): ModuleList(\n"
                           "    (0): Linear(in_features=2, out_features=2, bias=True)\n"
                           "    (1): Linear(in_features=2, out_features=2, bias=True)\n"
                           "    (2): Linear(in_features=2, out_features=2, bias=True)\n"
                           "  )\n"
                           ")");
    lam_free(repr);
    cr_expect_eq(lam_module_num_parameters(m), 18);
    param(m, "layers.2.bias");
    int64_t shape[2] = {4, 2};
    lam_tensor *x = tensor(2, shape, 5), *y;
    OK(lam_module_forward(m, x, &y));
    cr_expect_eq(lam_tensor_shape(y)[1], 2);
    lam_tensor_release(y);
    lam_module_release(m);

    /* n = 0: an empty ModuleList */
    lam_kwarg none[] = {{"n", LAM_INT(0)}};
    OK(create(&m, "UtilList", 1, none));
    lam_module *list = lam_module_child(m, "layers");
    cr_assert(list != NULL);
    cr_expect_eq(lam_module_num_children(list), 0);
    OK(lam_module_forward(m, x, &y));
    cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(x), 8 * sizeof(float)) == 0);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
    cr_expect_eq(n_destroyed, 2);
}

Test(util, failing_modulelist_cleans_up)
{
    load_util();
    lam_module *m;
    struct {
        size_t n;
        lam_kwarg kw[2];
        lam_status status;
        const char *message;
    } cases[] = {
        {1, {{"type", LAM_STRING("Nope")}}, LAM_ERR_KEY, "unknown layer type 'Nope'"},
        {1, {{"features", LAM_INT(-1)}}, LAM_ERR_INVALID_ARGUMENT,
         "Linear: in_features must be a positive integer, got -1"},
        /* fails after the list and its three children were made */
        {1, {{"name", LAM_STRING("a.b")}}, LAM_ERR_KEY, "module name can't contain \".\""},
        {2, {{"name", LAM_STRING("weight")}, {"type", LAM_STRING("ReLU")}}, LAM_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = n_destroyed;
        lam_status st = create(&m, "UtilList", cases[i].n, cases[i].kw);
        if (cases[i].status == LAM_OK) {
            cr_expect_eq(st, LAM_OK, "case %zu: %s", i, lam_last_error());
            lam_module_release(m);
        } else {
            expect_error(st, cases[i].status, cases[i].message);
        }
        cr_expect_eq(n_destroyed, before + 1, "case %zu: destroyed %d times", i,
                     n_destroyed - before);
    }
    /* a model file's limit crossed by the third Linear child */
    expect_error(parse_limited("UtilList(features=1000)", 2500000, &m), LAM_ERR_INVALID_ARGUMENT,
                 "brings the model to");
    cr_expect_null(m);
    cr_expect_eq(n_destroyed, 5);
}

Test(util, get_modulelist_errors)
{
    load_util();
    int64_t shape[2] = {1, 2};
    lam_tensor *x = tensor(2, shape, 9), *y = NULL;
    lam_module *m;
    lam_kwarg other[] = {{"name", LAM_STRING("other")}};
    OK(create(&m, "UtilList", 1, other));
    expect_error(lam_module_forward(m, x, &y), LAM_ERR_KEY,
                 "UtilList: no child 'layers' (its forward needs 3 modules there)");
    lam_module_release(m);
    lam_kwarg more[] = {{"need", LAM_INT(4)}};
    OK(create(&m, "UtilList", 1, more));
    expect_error(lam_module_forward(m, x, &y), LAM_ERR_INDEX,
                 "UtilList: layers has 3 modules, its forward needs 4 (index 3 is out of range)");
    lam_module_release(m);
    lam_kwarg one[] = {{"n", LAM_INT(1)}, {"need", LAM_INT(2)}};
    OK(create(&m, "UtilList", 2, one));
    expect_error(lam_module_forward(m, x, &y), LAM_ERR_INDEX,
                 "UtilList: layers has 1 module, its forward needs 2");
    lam_module_release(m);
    cr_expect_null(y);
    lam_tensor_release(x);
}
