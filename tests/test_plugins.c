/* The layer-type registry and the plugin system: argument binding for the
 * built-ins, the shipped plugins (Swish, RMSNorm, ConditionalModel,
 * Residual) against references computed here in double precision, and one
 * test-only broken plugin per loader failure.  Criterion runs every test in
 * its own process, so what one test loads does not leak into another. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dlfcn.h>
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <lamina/registry.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LAM_TEST_SHIPPED_DIR
#define LAM_TEST_SHIPPED_DIR "plugins/.libs"
#endif
#ifndef LAM_TEST_PLUGIN_DIR
#define LAM_TEST_PLUGIN_DIR "tests/plugins/.libs"
#endif
#ifndef LAM_TEST_REENTER_DIR
#define LAM_TEST_REENTER_DIR "tests/plugins/reenter/.libs"
#endif
#ifndef LAM_TEST_COLLIDE_DIR
#define LAM_TEST_COLLIDE_DIR "tests/plugins/collide/.libs"
#endif
#ifndef LAM_TEST_OLD_DIR
#define LAM_TEST_OLD_DIR "tests/plugins/old/.libs"
#endif

static void setup(void)
{
    /* `make check` sets it; a test binary run by hand gets the same */
    setenv("LAMINA_PLUGIN_PATH", LAM_TEST_SHIPPED_DIR ":" LAM_TEST_PLUGIN_DIR, 0);
    lam_manual_seed(1234);
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* Criterion's workers end without LeakSanitizer's exit-time check: run it
 * after each test (reports go to stderr, where the sanitizer run looks). */
static void teardown(void) { __lsan_do_recoverable_leak_check(); }
#else
static void teardown(void) {}
#endif

TestSuite(registry, .init = setup, .fini = teardown);
TestSuite(plugins, .init = setup, .fini = teardown);
TestSuite(broken, .init = setup, .fini = teardown);
TestSuite(reenter, .init = setup, .fini = teardown);

/* ---- helpers ---- */

#define OK(call)                                                                                   \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_assert(st_ == LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_), lam_last_error());   \
    } while (0)

static char *path_of(const char *dir, const char *name)
{
    static __thread char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s.so", dir, name);
    return buf;
}

static lam_plugin *load_shipped(const char *name)
{
    lam_plugin *p = NULL;
    OK(lam_plugin_load(path_of(LAM_TEST_SHIPPED_DIR, name), &p));
    cr_assert(p != NULL);
    return p;
}

static lam_plugin *load_test(const char *name)
{
    lam_plugin *p = NULL;
    OK(lam_plugin_load(path_of(LAM_TEST_PLUGIN_DIR, name), &p));
    return p;
}

/* An exported symbol of a loaded plugin (its library stays mapped while the
 * plugin is loaded). */
static void *plugin_symbol(const lam_plugin *p, const char *name)
{
    void *h = dlopen(lam_plugin_path(p), RTLD_NOW | RTLD_NOLOAD);
    cr_assert(h != NULL, "%s is not mapped", lam_plugin_path(p));
    void *sym = dlsym(h, name);
    dlclose(h);
    cr_assert(sym != NULL, "no %s in %s", name, lam_plugin_path(p));
    return sym;
}

static lam_module *create(const char *type, size_t n, const lam_kwarg *args)
{
    lam_module *m = NULL;
    OK(lam_module_create(&m, type, n, args));
    cr_assert(m != NULL);
    return m;
}

static void expect_repr(const lam_module *m, const char *want)
{
    char *r = lam_module_repr(m);
    cr_assert(r != NULL);
    cr_expect_str_eq(r, want);
    lam_free(r);
}

static void expect_error(lam_status got, lam_status want, const char *text)
{
    cr_expect_eq(got, want, "status %s, expected %s (%s)", lam_status_str(got),
                 lam_status_str(want), lam_last_error());
    cr_expect(strstr(lam_last_error(), text) != NULL, "message '%s' lacks '%s'", lam_last_error(),
              text);
}

static lam_module *add(lam_module *parent, const char *name, lam_module *child)
{
    OK(lam_module_add_child(parent, name, child));
    lam_module_release(child);
    return parent;
}

static lam_tensor *input_2d(int64_t rows, int64_t cols, float scale)
{
    int64_t shape[2] = {rows, cols};
    lam_tensor *t;
    OK(lam_tensor_create(&t, 2, shape));
    float *d = lam_tensor_data(t);
    for (int64_t i = 0; i < rows * cols; i++)
        d[i] = scale * (float)sin(0.7 * (double)i + 0.3) * (1.0f + (float)(i % 5) * 0.25f);
    return t;
}

static const float *param(lam_module *m, const char *key)
{
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert(t != NULL, "no parameter %s", key);
    const float *d = lam_tensor_cdata(t); /* the module's own tensor: stays valid */
    lam_state_dict_free(sd);
    return d;
}

/* ---- double-precision references ---- */

static void ref_linear(const double *x, int64_t rows, int64_t in, int64_t out, const float *w,
                       const float *b, double *y)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < out; o++) {
            double s = b ? b[o] : 0.0;
            for (int64_t i = 0; i < in; i++)
                s += (double)w[o * in + i] * x[r * in + i];
            y[r * out + o] = s;
        }
}

static void ref_swish(double *x, size_t n, double beta)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] / (1.0 + exp(-beta * x[i]));
}

static void ref_rmsnorm(double *x, int64_t rows, int64_t n, const float *w, double eps)
{
    for (int64_t r = 0; r < rows; r++) {
        double ss = 0;
        for (int64_t i = 0; i < n; i++)
            ss += x[r * n + i] * x[r * n + i];
        double inv = 1.0 / sqrt(ss / (double)n + eps);
        for (int64_t i = 0; i < n; i++)
            x[r * n + i] *= inv * (w ? w[i] : 1.0);
    }
}

static void to_double(const lam_tensor *t, double *out)
{
    for (int64_t i = 0; i < lam_tensor_numel(t); i++)
        out[i] = lam_tensor_cdata(t)[i];
}

static void expect_close(const lam_tensor *got, const double *want, int64_t n)
{
    cr_assert_eq(lam_tensor_numel(got), n);
    const float *g = lam_tensor_cdata(got);
    for (int64_t i = 0; i < n; i++)
        cr_expect(fabs(g[i] - want[i]) <= 2e-5 + 1e-4 * fabs(want[i]), "[%lld] %.8g vs %.8g",
                  (long long)i, g[i], want[i]);
}

/* ================= the registry and the built-in signatures ================= */

static const char *const builtin_names[] = {
    "Linear", "Identity", "ReLU", "LeakyReLU", "ReLU6", "ELU", "Sigmoid", "Tanh", "GELU", "SiLU",
    "Softplus", "Softmax", "LogSoftmax", "LayerNorm", "Dropout", "Flatten", "Sequential",
    "ModuleList", "BatchNorm1d", "BatchNorm2d", "InstanceNorm1d", "InstanceNorm2d", "GroupNorm",
    "LocalResponseNorm",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "Hardswish", "Hardsigmoid", "Hardtanh", "PReLU",
    "Mish", "Dropout1d", "Dropout2d", "AlphaDropout", "FeatureAlphaDropout", "Unflatten",
    "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Upsample", "ConstantPad1d",
    "ConstantPad2d", "ZeroPad2d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
    "ReplicationPad2d",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Embedding",
    "RNN", "LSTM", "GRU",
};

Test(registry, builtins_are_registered_in_order)
{
    size_t n = sizeof builtin_names / sizeof builtin_names[0];
    for (size_t i = 0; i < n; i++) {
        cr_expect(lam_layer_type_exists(builtin_names[i]), "%s", builtin_names[i]);
        cr_expect_str_eq(lam_layer_type_name(i), builtin_names[i]);
        cr_expect_null(lam_layer_type_plugin(builtin_names[i]));
    }
    cr_expect_null(lam_layer_type_name(n));
    cr_expect_not(lam_layer_type_exists("Swish"));
    cr_expect_not(lam_layer_type_exists(NULL));
}

Test(registry, positional_and_keyword_arguments)
{
    lam_kwarg a[] = {{NULL, LAM_INT(10)}, {NULL, LAM_INT(50)}, {"bias", LAM_BOOL(false)}};
    lam_module *m = create("Linear", 3, a);
    expect_repr(m, "Linear(in_features=10, out_features=50, bias=False)");
    cr_expect_eq(lam_module_num_parameters(m), 500);
    lam_module_release(m);

    lam_kwarg b[] = {{"out_features", LAM_INT(3)}, {"in_features", LAM_INT(2)}};
    m = create("Linear", 2, b);
    expect_repr(m, "Linear(in_features=2, out_features=3, bias=True)");
    lam_module_release(m);
}

typedef struct repr_case {
    const char *type;
    size_t n;
    lam_kwarg args[3];
    const char *repr;
} repr_case;

Test(registry, builtin_reprs_follow_pytorch)
{
    static const lam_value shape23[] = {LAM_INT(2), LAM_INT(3)};
    lam_value t23 = {.kind = LAM_VALUE_TUPLE, .len = 2, .items = shape23};
    repr_case cases[] = {
        {"Identity", 0, {{0}}, "Identity()"},
        {"ReLU", 1, {{"inplace", LAM_BOOL(false)}}, "ReLU()"},
        /* lamina writes a new output either way; the repr keeps inplace */
        {"ReLU", 1, {{"inplace", LAM_BOOL(true)}}, "ReLU(inplace=True)"},
        {"Dropout", 1, {{"inplace", LAM_BOOL(true)}}, "Dropout(p=0.5, inplace=True)"},
        {"LeakyReLU", 0, {{0}}, "LeakyReLU(negative_slope=0.01)"},
        {"LeakyReLU", 1, {{NULL, LAM_INT(1)}}, "LeakyReLU(negative_slope=1)"},
        {"LeakyReLU", 1, {{"negative_slope", LAM_FLOAT(0.2)}}, "LeakyReLU(negative_slope=0.2)"},
        {"ELU", 0, {{0}}, "ELU(alpha=1.0)"},
        {"GELU", 0, {{0}}, "GELU(approximate='none')"},
        {"GELU", 1, {{"approximate", LAM_STRING("tanh")}}, "GELU(approximate='tanh')"},
        {"Softplus", 0, {{0}}, "Softplus(beta=1, threshold=20)"},
        {"Softplus", 1, {{"beta", LAM_FLOAT(1.5)}}, "Softplus(beta=1.5, threshold=20)"},
        {"Softmax", 0, {{0}}, "Softmax(dim=None)"},
        {"Softmax", 1, {{"dim", LAM_INT(-1)}}, "Softmax(dim=-1)"},
        {"LogSoftmax", 1, {{NULL, LAM_INT(1)}}, "LogSoftmax(dim=1)"},
        {"LayerNorm", 1, {{NULL, LAM_INT(8)}}, "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"},
        {"LayerNorm", 2, {{NULL, t23}, {"eps", LAM_FLOAT(0.001)}},
         "LayerNorm((2, 3), eps=0.001, elementwise_affine=True)"},
        {"Dropout", 0, {{0}}, "Dropout(p=0.5, inplace=False)"},
        {"Dropout", 1, {{"p", LAM_FLOAT(0.1)}}, "Dropout(p=0.1, inplace=False)"},
        {"Flatten", 0, {{0}}, "Flatten(start_dim=1, end_dim=-1)"},
        {"Flatten", 2, {{NULL, LAM_INT(0)}, {NULL, LAM_INT(1)}}, "Flatten(start_dim=0, end_dim=1)"},
        {"Sequential", 0, {{0}}, "Sequential()"},
        {"ModuleList", 0, {{0}}, "ModuleList()"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lam_module *m = create(cases[i].type, cases[i].n, cases[i].args);
        expect_repr(m, cases[i].repr);
        lam_module_release(m);
    }
}

typedef struct bad_case {
    const char *type;
    size_t n;
    lam_kwarg args[4];
    lam_status status;
    const char *message;
} bad_case;

Test(registry, bad_arguments_name_the_argument)
{
    static const lam_value shape80[] = {LAM_INT(8), LAM_INT(0)};
    lam_value t80 = {.kind = LAM_VALUE_TUPLE, .len = 2, .items = shape80};
    const lam_status INV = LAM_ERR_INVALID_ARGUMENT;
    bad_case cases[] = {
        {"Linear", 2, {{NULL, LAM_INT(-3)}, {NULL, LAM_INT(5)}}, INV,
         "Linear: in_features must be a positive integer, got -3"},
        {"Linear", 1, {{NULL, LAM_INT(3)}}, INV, "Linear: missing required argument 'out_features'"},
        {"Linear", 4, {{NULL, LAM_INT(3)}, {NULL, LAM_INT(4)}, {NULL, LAM_BOOL(true)}, {NULL, LAM_INT(5)}},
         INV, "Linear() takes 3 positional arguments but 4 were given"},
        {"Linear", 3, {{NULL, LAM_INT(3)}, {NULL, LAM_INT(4)}, {"bogus", LAM_INT(1)}}, INV,
         "Linear: got an unexpected keyword argument 'bogus'"},
        {"Linear", 3, {{NULL, LAM_INT(3)}, {NULL, LAM_INT(4)}, {"in_features", LAM_INT(3)}}, INV,
         "Linear: got multiple values for argument 'in_features'"},
        {"Linear", 2, {{NULL, LAM_FLOAT(3.5)}, {NULL, LAM_INT(4)}}, INV,
         "Linear: in_features must be an integer, got float 3.5"},
        {"Linear", 3, {{NULL, LAM_INT(3)}, {NULL, LAM_INT(4)}, {"bias", LAM_INT(1)}}, INV,
         "Linear: bias must be a bool (True or False), got int 1"},
        {"Linear", 2, {{"in_features", LAM_INT(3)}, {NULL, LAM_INT(4)}}, INV,
         "Linear: positional argument follows keyword argument"},
        {"GELU", 1, {{"approximate", LAM_STRING("fast")}}, INV,
         "GELU: approximate must be one of 'none', 'tanh', got 'fast'"},
        {"LayerNorm", 1, {{NULL, t80}}, INV, "LayerNorm: normalized_shape must be positive"},
        {"LayerNorm", 1, {{NULL, LAM_STRING("8")}}, INV,
         "LayerNorm: normalized_shape must be an integer or a tuple of integers, got str '8'"},
        {"LayerNorm", 2, {{NULL, LAM_INT(8)}, {"eps", LAM_FLOAT(-1.0)}}, INV,
         "LayerNorm: eps must be a non-negative number, got -1.0"},
        {"Dropout", 1, {{NULL, LAM_FLOAT(1.5)}}, INV,
         "Dropout: dropout probability has to be between 0 and 1, but got 1.5"},
        {"MaxPool2d", 2, {{NULL, LAM_INT(2)}, {"return_indices", LAM_BOOL(true)}}, INV,
         "MaxPool2d: return_indices=True is not supported"},
        {"MaxPool2d", 1, {{NULL, LAM_FLOAT(2.5)}}, INV,
         "MaxPool2d: kernel_size must be an int or a tuple of ints, got 2.5"},
        {"Softmax", 1, {{"dim", LAM_STRING("x")}}, INV, "Softmax: dim must be an integer, got str 'x'"},
        {"LeakyReLU", 1, {{NULL, LAM_FLOAT(INFINITY)}}, INV,
         "LeakyReLU: negative_slope must be a finite number, got inf"},
        {"Sequential", 1, {{NULL, LAM_INT(1)}}, INV,
         "Sequential() takes 0 positional arguments but 1 was given"},
        {"Conv9d", 0, {{0}}, LAM_ERR_KEY, "unknown layer type 'Conv9d' (registered types: Linear"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lam_module *m = (lam_module *)1;
        lam_status st = lam_module_create(&m, cases[i].type, cases[i].n, cases[i].args);
        cr_expect_null(m);
        expect_error(st, cases[i].status, cases[i].message);
    }
}

Test(registry, signatures)
{
    const char *want[][2] = {
        {"Linear", "Linear(in_features, out_features, bias=True)"},
        {"LayerNorm", "LayerNorm(normalized_shape, eps=1e-05, elementwise_affine=True)"},
        {"Softmax", "Softmax(dim=None)"},
        {"GELU", "GELU(approximate='none')"},
        {"Softplus", "Softplus(beta=1, threshold=20)"},
        {"Dropout", "Dropout(p=0.5, inplace=False)"},
        {"Sigmoid", "Sigmoid()"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *s = lam_layer_type_signature(want[i][0]);
        cr_assert(s != NULL);
        cr_expect_str_eq(s, want[i][1]);
        lam_free(s);
    }
    cr_expect_null(lam_layer_type_signature("Nope"));
}

Test(registry, containers_by_name_take_children)
{
    lam_kwarg lin[] = {{NULL, LAM_INT(3)}, {NULL, LAM_INT(2)}};
    lam_module *seq = create("Sequential", 0, NULL);
    add(seq, "0", create("Linear", 2, lin));
    add(seq, "1", create("ReLU", 0, NULL));
    expect_repr(seq, "Sequential(\n  (0): Linear(in_features=3, out_features=2, bias=True)\n"
                     "  (1): ReLU()\n)");
    lam_tensor *x = input_2d(2, 3, 1.0f), *y;
    OK(lam_module_forward(seq, x, &y));
    cr_expect_eq(lam_tensor_dim(y, 1), 2);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(seq);
}

/* ================= loading and querying ================= */

Test(plugins, load_by_path_and_query)
{
    lam_plugin *p = load_shipped("swish");
    cr_expect_str_eq(lam_plugin_name(p), "swish");
    cr_expect_str_eq(lam_plugin_version(p), "1.0.0");
    cr_expect_str_eq(lam_plugin_license(p), "MIT");
    cr_expect(strstr(lam_plugin_description(p), "Swish") != NULL);
    cr_expect(strstr(lam_plugin_path(p), "/swish.so") != NULL);
    cr_expect_eq(lam_plugin_num_types(p), 1);
    cr_expect_str_eq(lam_plugin_type_name(p, 0), "Swish");
    cr_expect_null(lam_plugin_type_name(p, 1));
    cr_expect(lam_layer_type_exists("Swish"));
    cr_expect_eq(lam_layer_type_plugin("Swish"), p);
    cr_expect_eq(lam_plugin_find("swish"), p);
    cr_expect_eq(lam_plugin_at(0), p);
    cr_expect_null(lam_plugin_at(1));
    char *sig = lam_layer_type_signature("Swish");
    cr_expect_str_eq(sig, "Swish(beta=1.0)");
    lam_free(sig);

    lam_plugin *c = load_shipped("containers");
    cr_expect_eq(lam_plugin_num_types(c), 2);
    cr_expect_str_eq(lam_plugin_type_name(c, 0), "ConditionalModel");
    cr_expect_str_eq(lam_plugin_type_name(c, 1), "Residual");
}

Test(plugins, load_by_name_through_the_search_path)
{
    lam_plugin *p = NULL, *q = NULL;
    OK(lam_plugin_load("rmsnorm", &p));
    cr_expect_str_eq(lam_plugin_name(p), "rmsnorm");
    OK(lam_plugin_load("rmsnorm.so", &q));
    cr_expect_eq(p, q);
    char *sp = lam_plugin_search_path();
    cr_expect(strstr(sp, LAM_TEST_SHIPPED_DIR) != NULL, "%s", sp);
    cr_expect(strstr(sp, LAM_PLUGINDIR) != NULL, "%s", sp);
    lam_free(sp);

    OK(lam_plugin_add_search_dir("/first/dir"));
    sp = lam_plugin_search_path();
    cr_expect(strncmp(sp, "/first/dir:", 11) == 0, "%s", sp);
    lam_free(sp);

    expect_error(lam_plugin_load("no_such_plugin", NULL), LAM_ERR_PLUGIN,
                 "plugin 'no_such_plugin': not found in the plugin search path (/first/dir:");
}

Test(plugins, loading_twice_is_harmless)
{
    lam_plugin *a = load_shipped("swish"), *b = NULL, *c = NULL;
    OK(lam_plugin_load(path_of(LAM_TEST_SHIPPED_DIR, "swish"), &b));
    OK(lam_plugin_load(LAM_TEST_SHIPPED_DIR "/../.libs/./swish.so", &c));
    cr_expect_eq(a, b);
    cr_expect_eq(a, c);
    cr_expect_eq(lam_plugin_num_types(a), 1);
    cr_expect_null(lam_plugin_at(1));
}

Test(plugins, load_dir)
{
    size_t n = 0;
    OK(lam_plugin_load_dir(LAM_TEST_SHIPPED_DIR, &n));
    cr_expect_eq(n, 4); /* swish, rmsnorm, containers, torchvision */
    cr_expect(lam_layer_type_exists("Swish"));
    cr_expect(lam_layer_type_exists("RMSNorm"));
    cr_expect(lam_layer_type_exists("ConditionalModel"));
    cr_expect(lam_layer_type_exists("Residual"));
    /* the test-plugin dir holds broken ones: the good one loads, the rest are listed */
    lam_status st = lam_plugin_load_dir(LAM_TEST_PLUGIN_DIR, &n);
    cr_expect_eq(st, LAM_ERR_PLUGIN);
    cr_expect_eq(n, 1, "%zu: %s", n, lam_last_error());
    cr_expect(strstr(lam_last_error(), "bad_magic.so': bad magic") != NULL, "%s", lam_last_error());
    cr_expect(lam_layer_type_exists("FailingLayer"));
    cr_expect_not(lam_layer_type_exists("HalfRegistered"));
    expect_error(lam_plugin_load_dir("/no/such/dir", NULL), LAM_ERR_PLUGIN,
                 "plugin directory '/no/such/dir': cannot open");
}

Test(plugins, find_type_searches_the_path)
{
    OK(lam_plugin_find_type("Linear")); /* already there: nothing to do */
    cr_expect_null(lam_plugin_at(0));
    OK(lam_plugin_find_type("RMSNorm")); /* by file name */
    cr_expect(lam_layer_type_exists("RMSNorm"));
    OK(lam_plugin_find_type("Residual")); /* by probing: containers.so */
    cr_expect(lam_layer_type_exists("ConditionalModel"));
    cr_expect_not(lam_layer_type_exists("Swish"), "probing must not load unrelated plugins");
    cr_expect_not(lam_layer_type_exists("HalfRegistered"));
    lam_status st = lam_plugin_find_type("NoSuchLayer");
    expect_error(st, LAM_ERR_KEY,
                 "unknown layer type 'NoSuchLayer': no plugin in the plugin search path");
    cr_expect(strstr(lam_last_error(), LAM_TEST_PLUGIN_DIR) != NULL);
    cr_expect(lam_plugin_find("rmsnorm") && lam_plugin_find("containers"));
    cr_expect_null(lam_plugin_at(2));
}

/* ================= the shipped plugins at work ================= */

/* Sequential(Linear(4, 8), Swish(beta=1.5), RMSNorm(8), Linear(8, 2)) */
static lam_module *mixed_model(void)
{
    lam_kwarg l1[] = {{NULL, LAM_INT(4)}, {NULL, LAM_INT(8)}};
    lam_kwarg sw[] = {{"beta", LAM_FLOAT(1.5)}};
    lam_kwarg rn[] = {{NULL, LAM_INT(8)}};
    lam_kwarg l2[] = {{NULL, LAM_INT(8)}, {NULL, LAM_INT(2)}};
    lam_module *seq = create("Sequential", 0, NULL);
    add(seq, "0", create("Linear", 2, l1));
    add(seq, "1", create("Swish", 1, sw));
    add(seq, "2", create("RMSNorm", 1, rn));
    add(seq, "3", create("Linear", 2, l2));
    return seq;
}

static void mixed_reference(lam_module *m, const lam_tensor *x, double *out)
{
    int64_t rows = lam_tensor_dim(x, 0);
    double xin[64 * 4], h[64 * 8];
    cr_assert(rows <= 64);
    to_double(x, xin);
    ref_linear(xin, rows, 4, 8, param(m, "0.weight"), param(m, "0.bias"), h);
    ref_swish(h, (size_t)(rows * 8), 1.5);
    ref_rmsnorm(h, rows, 8, param(m, "2.weight"), 1e-6);
    ref_linear(h, rows, 8, 2, param(m, "3.weight"), param(m, "3.bias"), out);
}

Test(plugins, mixed_sequential_matches_reference)
{
    load_shipped("swish");
    load_shipped("rmsnorm");
    lam_module *m = mixed_model();
    expect_repr(m, "Sequential(\n"
                   "  (0): Linear(in_features=4, out_features=8, bias=True)\n"
                   "  (1): Swish(beta=1.5)\n"
                   "  (2): RMSNorm((8,), eps=1e-06, elementwise_affine=True)\n"
                   "  (3): Linear(in_features=8, out_features=2, bias=True)\n"
                   ")");
    lam_tensor *x = input_2d(5, 4, 1.5f), *y;
    OK(lam_module_forward(m, x, &y));
    double want[5 * 2];
    mixed_reference(m, x, want);
    expect_close(y, want, 10);
    lam_tensor_release(y);

    int64_t s[2] = {5, 4}, os[LAM_MAX_DIMS];
    int ond;
    OK(lam_module_output_shape(m, 2, s, &ond, os));
    cr_expect(ond == 2 && os[0] == 5 && os[1] == 2);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(plugins, plugin_parameters_have_pytorch_names_and_load)
{
    load_shipped("swish");
    load_shipped("rmsnorm");
    lam_module *m = mixed_model();
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    const char *keys[] = {"0.weight", "0.bias", "2.weight", "3.weight", "3.bias"};
    cr_assert_eq(lam_state_dict_len(sd), 5);
    for (size_t i = 0; i < 5; i++)
        cr_expect_str_eq(lam_state_dict_key(sd, i), keys[i]);
    const float *w = lam_tensor_cdata(lam_state_dict_get(sd, "2.weight"));
    for (int i = 0; i < 8; i++)
        cr_expect_eq(w[i], 1.0f, "RMSNorm weight starts at ones");
    cr_expect_eq(lam_tensor_ndim(lam_state_dict_get(sd, "2.weight")), 1);
    cr_expect_eq(lam_tensor_dim(lam_state_dict_get(sd, "2.weight"), 0), 8);
    lam_state_dict_free(sd);
    cr_expect_eq(lam_module_num_parameters(m), 4 * 8 + 8 + 8 + 8 * 2 + 2);

    /* load a state_dict that changes the plugin's weight (non-strict: only it) */
    float nw[8] = {0.5f, -1.0f, 2.0f, 0.25f, 1.5f, -0.5f, 3.0f, 1.0f};
    int64_t n8 = 8;
    lam_tensor *t;
    OK(lam_tensor_from_data(&t, 1, &n8, nw));
    OK(lam_state_dict_create(&sd));
    OK(lam_state_dict_set(sd, "2.weight", t));
    lam_tensor_release(t);
    lam_incompatible_keys keys_left = {0};
    OK(lam_module_load_state_dict(m, sd, false, &keys_left));
    cr_expect_eq(keys_left.n_missing, 4);
    cr_expect_eq(keys_left.n_unexpected, 0);
    lam_incompatible_keys_clear(&keys_left);
    lam_state_dict_free(sd);
    cr_expect_eq(param(m, "2.weight")[6], 3.0f);

    lam_tensor *x = input_2d(3, 4, 1.0f), *y;
    OK(lam_module_forward(m, x, &y));
    double want[3 * 2];
    mixed_reference(m, x, want);
    expect_close(y, want, 6);
    lam_tensor_release(y);

    /* a wrong shape is refused like a built-in's */
    int64_t n7 = 7;
    OK(lam_tensor_create(&t, 1, &n7));
    OK(lam_state_dict_create(&sd));
    OK(lam_state_dict_set(sd, "2.weight", t));
    lam_tensor_release(t);
    expect_error(lam_module_load_state_dict(m, sd, false, NULL), LAM_ERR_STATE_DICT,
                 "size mismatch for 2.weight");
    lam_state_dict_free(sd);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(plugins, swish_beta_one_and_int_repr)
{
    load_shipped("swish");
    lam_module *a = create("Swish", 0, NULL);
    lam_kwarg two[] = {{NULL, LAM_INT(2)}};
    lam_module *b = create("Swish", 1, two);
    expect_repr(a, "Swish(beta=1.0)");
    expect_repr(b, "Swish(beta=2)");
    lam_tensor *x = input_2d(3, 301, 4.0f), *ya, *yb;
    OK(lam_module_forward(a, x, &ya));
    OK(lam_module_forward(b, x, &yb));
    double ra[3 * 301], rb[3 * 301];
    to_double(x, ra);
    to_double(x, rb);
    ref_swish(ra, 903, 1.0);
    ref_swish(rb, 903, 2.0);
    expect_close(ya, ra, 903);
    expect_close(yb, rb, 903);
    lam_kwarg bad[] = {{"beta", LAM_STRING("big")}};
    lam_module *m = NULL;
    expect_error(lam_module_create(&m, "Swish", 1, bad), LAM_ERR_INVALID_ARGUMENT,
                 "Swish: beta must be a number, got str 'big'");
    lam_tensor_release(ya);
    lam_tensor_release(yb);
    lam_tensor_release(x);
    lam_module_release(a);
    lam_module_release(b);
}

Test(plugins, rmsnorm_shapes_and_errors)
{
    load_shipped("rmsnorm");
    static const lam_value s23[] = {LAM_INT(2), LAM_INT(3)};
    lam_kwarg a[] = {{NULL, {.kind = LAM_VALUE_TUPLE, .len = 2, .items = s23}},
                     {"eps", LAM_FLOAT(1e-3)},
                     {"elementwise_affine", LAM_BOOL(false)}};
    lam_module *m = create("RMSNorm", 3, a);
    expect_repr(m, "RMSNorm((2, 3), eps=0.001, elementwise_affine=False)");
    cr_expect_eq(lam_module_num_parameters(m), 0);
    int64_t shape[3] = {4, 2, 3};
    lam_tensor *x, *y;
    OK(lam_tensor_create(&x, 3, shape));
    for (int i = 0; i < 24; i++)
        lam_tensor_data(x)[i] = (float)(i % 7) - 2.5f;
    OK(lam_module_forward(m, x, &y));
    double want[24];
    to_double(x, want);
    ref_rmsnorm(want, 4, 6, NULL, 1e-3);
    expect_close(y, want, 24);
    lam_tensor_release(y);
    lam_tensor_release(x);

    lam_tensor *bad = input_2d(2, 5, 1.0f);
    expect_error(lam_module_forward(m, bad, &y), LAM_ERR_SHAPE,
                 "RMSNorm: Given normalized_shape=[2, 3], expected input with shape [*, 2, 3], "
                 "but got input of size[2, 5]");
    cr_expect_null(y);
    lam_tensor_release(bad);
    lam_module_release(m);

    lam_kwarg z[] = {{NULL, LAM_INT(0)}};
    expect_error(lam_module_create(&m, "RMSNorm", 1, z), LAM_ERR_INVALID_ARGUMENT,
                 "RMSNorm: normalized_shape must be positive");
    expect_error(lam_module_create(&m, "RMSNorm", 0, NULL), LAM_ERR_INVALID_ARGUMENT,
                 "RMSNorm: missing required argument 'normalized_shape'");
}

/* ConditionalModel with layers = ModuleList([Linear(10, 50), Swish(), Linear(50, 2),
 * Sigmoid(), Linear(last_in, 100)]) — built-in and plugin children. */
static lam_module *conditional_model(int64_t last_in)
{
    lam_kwarg l0[] = {{NULL, LAM_INT(10)}, {NULL, LAM_INT(50)}};
    lam_kwarg l2[] = {{NULL, LAM_INT(50)}, {NULL, LAM_INT(2)}};
    lam_kwarg l4[] = {{NULL, LAM_INT(last_in)}, {NULL, LAM_INT(100)}};
    lam_module *list = create("ModuleList", 0, NULL);
    add(list, "0", create("Linear", 2, l0));
    add(list, "1", create("Swish", 0, NULL));
    add(list, "2", create("Linear", 2, l2));
    add(list, "3", create("Sigmoid", 0, NULL));
    add(list, "4", create("Linear", 2, l4));
    lam_module *m = create("ConditionalModel", 0, NULL);
    return add(m, "layers", list);
}

Test(plugins, conditional_model_plugin_drives_builtin_and_plugin_children)
{
    load_shipped("swish");
    load_shipped("containers");
    lam_module *m = conditional_model(2);
    expect_repr(m, "ConditionalModel(\n"
                   "  (layers): ModuleList(\n"
                   "    (0): Linear(in_features=10, out_features=50, bias=True)\n"
                   "    (1): Swish(beta=1.0)\n"
                   "    (2): Linear(in_features=50, out_features=2, bias=True)\n"
                   "    (3): Sigmoid()\n"
                   "    (4): Linear(in_features=2, out_features=100, bias=True)\n"
                   "  )\n"
                   ")");
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    cr_expect_str_eq(lam_state_dict_key(sd, 0), "layers.0.weight");
    cr_expect_str_eq(lam_state_dict_key(sd, 5), "layers.4.bias");
    lam_state_dict_free(sd);

    lam_tensor *x = input_2d(3, 10, 1.0f), *y;
    double xin[30], h[150], z[6], full[300];
    to_double(x, xin);
    ref_linear(xin, 3, 10, 50, param(m, "layers.0.weight"), param(m, "layers.0.bias"), h);
    ref_swish(h, 150, 1.0);
    ref_linear(h, 3, 50, 2, param(m, "layers.2.weight"), param(m, "layers.2.bias"), z);

    OK(lam_module_forward(m, x, &y)); /* no args: condition False */
    expect_close(y, z, 6);
    lam_tensor_release(y);

    bool cond = true;
    OK(lam_module_forward_args(m, x, &cond, &y));
    for (int i = 0; i < 6; i++)
        z[i] = 1.0 / (1.0 + exp(-z[i]));
    ref_linear(z, 3, 2, 100, param(m, "layers.4.weight"), param(m, "layers.4.bias"), full);
    expect_close(y, full, 300);
    lam_tensor_release(y);

    /* without a 'layers' child it says so */
    lam_module *empty = create("ConditionalModel", 0, NULL);
    expect_error(lam_module_forward(empty, x, &y), LAM_ERR_RUNTIME,
                 "ConditionalModel: no child 'layers'");
    lam_module_release(empty);
    lam_tensor_release(x);
    lam_module_release(m);
}

static lam_status pass_args_to_inner(lam_module *self, const lam_tensor *x, void *args,
                                     lam_tensor **out)
{
    return lam_module_forward_args(lam_module_child(self, "inner"), x, args, out);
}

Test(plugins, conditional_model_as_written_fails_with_the_path)
{
    load_shipped("swish");
    load_shipped("containers");
    lam_module *m = conditional_model(10);
    lam_tensor *x = input_2d(1, 10, 1.0f), *y = NULL;
    bool cond = true;
    expect_error(lam_module_forward_args(m, x, &cond, &y), LAM_ERR_SHAPE,
                 "ConditionalModel.layers[4] Linear(in_features=10): input has 2 features");
    cr_expect_null(y);
    cond = false;
    OK(lam_module_forward_args(m, x, &cond, &y)); /* and the host keeps going */
    lam_tensor_release(y);

    /* inside another module that passes the argument on, the path goes through it */
    lam_custom_spec spec = {.type_name = "Outer", .forward = pass_args_to_inner};
    lam_module *outer;
    OK(lam_custom_create(&outer, &spec));
    OK(lam_module_add_child(outer, "inner", m));
    cond = true;
    expect_error(lam_module_forward_args(outer, x, &cond, &y), LAM_ERR_SHAPE,
                 "Outer.inner.layers[4] Linear(in_features=10)");
    lam_module_release(outer);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(plugins, residual_over_a_modulelist)
{
    load_shipped("rmsnorm");
    load_shipped("containers");
    lam_kwarg l[] = {{NULL, LAM_INT(6)}, {NULL, LAM_INT(6)}};
    lam_kwarg rn[] = {{NULL, LAM_INT(6)}};
    lam_module *list = create("ModuleList", 0, NULL);
    add(list, "0", create("Linear", 2, l));
    add(list, "1", create("ReLU", 0, NULL));
    add(list, "2", create("RMSNorm", 1, rn));
    lam_module *res = add(create("Residual", 0, NULL), "layers", list);
    lam_tensor *x = input_2d(4, 6, 1.0f), *y;
    OK(lam_module_forward(res, x, &y));
    double xin[24], h[24];
    to_double(x, xin);
    ref_linear(xin, 4, 6, 6, param(res, "layers.0.weight"), param(res, "layers.0.bias"), h);
    for (int i = 0; i < 24; i++)
        h[i] = h[i] > 0 ? h[i] : 0;
    ref_rmsnorm(h, 4, 6, param(res, "layers.2.weight"), 1e-6);
    for (int i = 0; i < 24; i++)
        h[i] += xin[i];
    expect_close(y, h, 24);
    lam_tensor_release(y);
    int64_t s[2] = {4, 6}, os[LAM_MAX_DIMS];
    int ond;
    OK(lam_module_output_shape(res, 2, s, &ond, os));
    cr_expect(ond == 2 && os[1] == 6);

    /* f changing the shape is an error, with the container's name */
    lam_kwarg l3[] = {{NULL, LAM_INT(6)}, {NULL, LAM_INT(3)}};
    lam_module *bad = add(create("Residual", 0, NULL), "fn", create("Linear", 2, l3));
    expect_error(lam_module_forward(bad, x, &y), LAM_ERR_SHAPE,
                 "Residual: f(x) has shape [4, 3] but x has shape [4, 6]");
    expect_error(lam_module_output_shape(bad, 2, s, &ond, os), LAM_ERR_SHAPE,
                 "Residual: f(x) has shape [4, 3]");
    lam_module_release(bad);
    lam_tensor_release(x);
    lam_module_release(res);
}

typedef struct thread_job {
    lam_module *model;
    lam_tensor *x;
    lam_tensor *ref;
    int mismatches, failures;
} thread_job;

static void *run_many(void *arg)
{
    thread_job *j = arg;
    for (int it = 0; it < 200; it++) {
        lam_tensor *y;
        if (lam_module_forward(j->model, j->x, &y)) {
            j->failures++;
            continue;
        }
        if (memcmp(lam_tensor_cdata(y), lam_tensor_cdata(j->ref),
                   sizeof(float) * (size_t)lam_tensor_numel(y)) != 0)
            j->mismatches++;
        lam_tensor_release(y);
    }
    return NULL;
}

Test(plugins, two_user_threads_get_identical_outputs)
{
    load_shipped("swish");
    load_shipped("rmsnorm");
    lam_module *m = mixed_model();
    lam_tensor *xa = input_2d(17, 4, 1.0f), *xb = input_2d(9, 4, -2.0f);
    thread_job jobs[2] = {{m, xa, NULL, 0, 0}, {m, xb, NULL, 0, 0}};
    for (int i = 0; i < 2; i++)
        OK(lam_module_forward(m, jobs[i].x, &jobs[i].ref));
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, run_many, &jobs[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(jobs[i].failures, 0);
        cr_expect_eq(jobs[i].mismatches, 0);
        lam_tensor_release(jobs[i].ref);
    }
    lam_tensor_release(xa);
    lam_tensor_release(xb);
    lam_module_release(m);
}

Test(plugins, unload_waits_for_the_last_module)
{
    lam_plugin *p = load_shipped("swish");
    char path[4096];
    snprintf(path, sizeof path, "%s", lam_plugin_path(p));
    lam_module *m = create("Swish", 0, NULL);
    OK(lam_plugin_unload(p));
    cr_expect_not(lam_layer_type_exists("Swish"));
    cr_expect_null(lam_plugin_find("swish"));
    lam_module *again = NULL;
    expect_error(lam_module_create(&again, "Swish", 0, NULL), LAM_ERR_KEY,
                 "unknown layer type 'Swish'");
    /* the module still works: the library is still mapped */
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    cr_expect(h != NULL);
    if (h)
        dlclose(h);
    lam_tensor *x = input_2d(2, 3, 1.0f), *y;
    OK(lam_module_forward(m, x, &y));
    expect_repr(m, "Swish(beta=1.0)");
    lam_tensor_release(y);
    lam_module_release(m); /* the last one: now it is closed */
    cr_expect_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD));
    /* and it can be loaded again */
    p = load_shipped("swish");
    m = create("Swish", 0, NULL);
    lam_module_release(m);
    lam_tensor_release(x);
}

Test(plugins, host_gemm_through_a_plugin)
{
    load_test("testtypes");
    lam_kwarg a[] = {{NULL, LAM_INT(7)}, {NULL, LAM_INT(19)}};
    lam_module *pl = create("PackedLinear", 2, a);
    expect_repr(pl, "PackedLinear(in_features=7, out_features=19)");
    lam_state_dict *sd;
    OK(lam_module_state_dict(pl, &sd));
    cr_assert_eq(lam_state_dict_len(sd), 2);
    float *wd = lam_tensor_data(lam_state_dict_get(sd, "weight"));
    float *bd = lam_tensor_data(lam_state_dict_get(sd, "bias"));
    for (int i = 0; i < 7 * 19; i++)
        wd[i] = (float)sin(i * 0.37);
    for (int i = 0; i < 19; i++)
        bd[i] = 0.1f * (float)(i % 4) - 0.15f;
    lam_state_dict_free(sd);
    lam_tensor *x = input_2d(11, 7, 1.0f), *y;
    OK(lam_module_forward(pl, x, &y));
    double xin[77], want[11 * 19];
    to_double(x, xin);
    ref_linear(xin, 11, 7, 19, wd, bd, want);
    for (int i = 0; i < 11 * 19; i++)
        want[i] = want[i] > 0 ? want[i] : 0;
    expect_close(y, want, 11 * 19);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(pl);
}

/* A model file's parameter limit counts what plugin types take through the
 * host table while they are built, before it is allocated: parameters
 * (module_add_param), tensors, copies and raw memory. */
Test(plugins, model_file_limit_counts_plugin_memory_before_it_is_taken)
{
    load_test("testtypes");
    lam_model_options o = {.max_params = 1000};
    lam_module *m = (lam_module *)&o;
    const char *t = "PackedLinear(100, 100)";
    expect_error(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT,
                 "x.lam:1:1: PackedLinear: parameter 'weight' of shape [100, 100] brings the "
                 "model to 10000 parameters, more than the limit of 1000 per model file");
    cr_expect_null(m);
    t = "Sequential(PackedLinear(10, 10), PackedLinear(30, 30))"; /* 110 + 900 + 30 */
    expect_error(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT,
                 "x.lam:1:34: PackedLinear: parameter 'weight' of shape [30, 30] brings the "
                 "model to 1010 parameters");
    t = "Hoard(2000)";
    expect_error(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT,
                 "x.lam:1:1: Hoard: a plugin tensor of shape [2000] brings the model to 2000 "
                 "parameters, more than the limit of 1000 per model file");
    t = "Sequential(\n  (0): Hoard(600)\n  (1): Hoard(600)\n)";
    expect_error(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT,
                 "x.lam:3:8: Hoard: a plugin tensor of shape [600] brings the model to 1200 "
                 "parameters");
    t = "Hoard(1200, way='clone')"; /* 600, then 600 more */
    expect_error(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_ERR_INVALID_ARGUMENT,
                 "Hoard: a plugin copy of a tensor of shape [600] brings the model to 1200");
    t = "Hoard(2000, way='alloc')";
    cr_expect_neq(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m), LAM_OK);
    cr_expect(strstr(lam_last_error(), "a plugin allocation of 8000 bytes brings the model to "
                                       "2000 parameters") != NULL, "%s", lam_last_error());
    cr_expect_null(m);
    /* up to the limit is fine, and the limit is the model file's alone */
    t = "Sequential(Hoard(500), PackedLinear(15, 20), Hoard(180, way='alloc'))"; /* 1000 */
    OK(lam_model_parse_ex(t, strlen(t), "x.lam", &o, &m));
    lam_module_release(m);
    lam_kwarg big[] = {{NULL, LAM_INT(100000)}};
    m = create("Hoard", 1, big);
    lam_module_release(m);
}

/* ================= failures ================= */

Test(broken, constructor_rejects_its_arguments)
{
    load_test("testtypes");
    lam_kwarg k3[] = {{NULL, LAM_INT(3)}}, k4[] = {{"k", LAM_INT(4)}};
    lam_module *m = NULL;
    expect_error(lam_module_create(&m, "Picky", 1, k3), LAM_ERR_INVALID_ARGUMENT,
                 "Picky: k must be even, got 3");
    cr_expect_null(m);
    expect_error(lam_module_create(&m, "Picky", 0, NULL), LAM_ERR_INVALID_ARGUMENT,
                 "Picky: missing required argument 'k'");
    m = create("Picky", 1, k4);
    lam_module_release(m);
    m = NULL;
    expect_error(lam_module_create(&m, "Sloppy", 0, NULL), LAM_ERR_RUNTIME,
                 "Sloppy: create returned success but no module");
}

Test(broken, forward_fails_mid_pipeline)
{
    load_test("testtypes");
    lam_kwarg l[] = {{NULL, LAM_INT(3)}, {NULL, LAM_INT(3)}};
    lam_module *seq = create("Sequential", 0, NULL);
    add(seq, "0", create("Linear", 2, l));
    add(seq, "1", create("FailingLayer", 0, NULL));
    add(seq, "2", create("ReLU", 0, NULL));
    lam_tensor *x = input_2d(2, 3, 1.0f), *y = (lam_tensor *)1;
    expect_error(lam_module_forward(seq, x, &y), LAM_ERR_RUNTIME,
                 "Sequential[1] FailingLayer: simulated failure");
    cr_expect_null(y);

    lam_module *bs = create("BadShape", 0, NULL);
    expect_error(lam_module_forward(bs, x, &y), LAM_ERR_RUNTIME,
                 "BadShape: output_shape returned an invalid shape");
    lam_module_release(bs);

    /* the host goes on: a good plugin still loads and runs */
    load_shipped("swish");
    lam_module *sw = create("Swish", 0, NULL);
    OK(lam_module_forward(sw, x, &y));
    lam_tensor_release(y);
    lam_module_release(sw);
    lam_tensor_release(x);
    lam_module_release(seq);
}

/* A planned run that fails reports once, with the failing module's path,
 * and does not run the Sequential again child by child to find it (the
 * Counter before the failing layer runs once per forward). */
Test(broken, failed_planned_run_reports_once)
{
    load_test("testtypes");
    lam_module *seq = create("Sequential", 0, NULL);
    add(seq, "0", create("Counter", 0, NULL));
    add(seq, "1", create("FailingLayer", 0, NULL));
    lam_tensor *x = input_2d(2, 3, 1.0f), *y = (lam_tensor *)1;
    for (int k = 1; k <= 2; k++) {
        cr_expect_eq(lam_module_forward(seq, x, &y), LAM_ERR_RUNTIME);
        cr_expect_str_eq(lam_last_error(), "Sequential[1] FailingLayer: simulated failure");
        cr_expect_null(y);
        cr_expect_eq(param(seq, "0.calls")[0], (float)k, "Counter ran %g times in %d forwards",
                     (double)param(seq, "0.calls")[0], k);
    }
    /* the same through a plan */
    lam_plan *p;
    OK(lam_plan_create(&p, seq, 2, lam_tensor_shape(x)));
    lam_tensor *out;
    OK(lam_tensor_clone(&out, x));
    cr_expect_eq(lam_plan_run(p, x, out), LAM_ERR_RUNTIME);
    cr_expect_str_eq(lam_last_error(), "Sequential[1] FailingLayer: simulated failure");
    cr_expect_eq(param(seq, "0.calls")[0], 3.0f);
    lam_plan_free(p);
    lam_tensor_release(out);
    lam_tensor_release(x);
    lam_module_release(seq);
}

/* A parameter a plugin layer declared (host->module_add_param) is kept by
 * the plugin (PackedLinear holds its weight and bias): a tensor of another
 * shape is refused as for built-ins (PackedLinear would read out_features
 * floats of a 1-float bias: a heap overflow under ASan before the check),
 * and so is one of the same shape (the plugin would read a freed tensor);
 * copying values in is the way, and the next forward uses them. */
Test(broken, declared_param_replacement_checks_shape)
{
    load_test("testtypes");
    lam_kwarg a[] = {{NULL, LAM_INT(8)}, {NULL, LAM_INT(64)}};
    lam_module *pl = create("PackedLinear", 2, a);
    int64_t one = 1, w_bad[2] = {64, 7}, n64 = 64;
    lam_tensor *t;
    OK(lam_tensor_create(&t, 1, &one));
    expect_error(lam_module_register_parameter(pl, "bias", t), LAM_ERR_SHAPE,
                 "PackedLinear(in_features=8, out_features=64): size mismatch for bias: registering "
                 "a param with shape torch.Size([1]), the shape in current model is "
                 "torch.Size([64]).");
    lam_tensor_release(t);
    OK(lam_tensor_create(&t, 2, w_bad));
    expect_error(lam_module_register_parameter(pl, "weight", t), LAM_ERR_SHAPE,
                 "size mismatch for weight: registering a param with shape torch.Size([64, 7]), "
                 "the shape in current model is torch.Size([64, 8]).");
    lam_tensor_release(t);
    OK(lam_tensor_create(&t, 1, &n64));
    for (int i = 0; i < 64; i++)
        lam_tensor_data(t)[i] = (float)i;
    expect_error(lam_module_register_parameter(pl, "bias", t), LAM_ERR_INVALID_ARGUMENT,
                 "PackedLinear: parameter 'bias' is declared by a plugin layer, which keeps that "
                 "tensor: copy new values into it");
    lam_state_dict *sd;
    OK(lam_module_state_dict(pl, &sd));
    OK(lam_tensor_copy(lam_state_dict_get(sd, "bias"), t));
    lam_state_dict_free(sd);
    lam_tensor_release(t);
    lam_tensor *x = input_2d(3, 8, 1.0f), *y;
    OK(lam_module_forward(pl, x, &y));
    double want[3 * 64];
    double xd[3 * 8];
    to_double(x, xd);
    ref_linear(xd, 3, 8, 64, param(pl, "weight"), param(pl, "bias"), want);
    for (int i = 0; i < 3 * 64; i++) {
        cr_expect_eq(param(pl, "bias")[i % 64], (float)(i % 64));
        want[i] = want[i] > 0 ? want[i] : 0;
    }
    expect_close(y, want, 3 * 64);
    lam_tensor_release(x);
    lam_tensor_release(y);
    lam_module_release(pl);
}

typedef struct broken_case {
    const char *file; /* in the test-plugin dir */
    const char *reason;
} broken_case;

static void check_broken(const char *path, const char *reason)
{
    lam_plugin *p = (lam_plugin *)1;
    lam_status st = lam_plugin_load(path, &p);
    cr_expect_null(p, "%s", path);
    expect_error(st, LAM_ERR_PLUGIN, reason);
    cr_expect(strstr(lam_last_error(), path) != NULL || strstr(lam_last_error(), "/") != NULL,
              "message names the file: %s", lam_last_error());
    cr_expect_not(lam_layer_type_exists("HalfRegistered"), "%s half-registered", path);
    cr_expect_not(lam_layer_type_exists("AlsoFine"));
}

Test(broken, each_defect_has_its_message_and_nothing_half_registers)
{
    /* abi_major.so and abi_minor.so are built for this header's major + 1
     * and minor + 1 */
    char major[96], newer[96];
    snprintf(major, sizeof major, "built for plugin ABI %u.%u, but this lamina",
             LAM_PLUGIN_ABI_MAJOR + 1, LAM_PLUGIN_ABI_MINOR);
    snprintf(newer, sizeof newer, "built for plugin ABI %u.%u, newer than this lamina's",
             LAM_PLUGIN_ABI_MAJOR, LAM_PLUGIN_ABI_MINOR + 1);
    broken_case cases[] = {
        {"no_symbol", "no 'lamina_plugin' symbol: not a lamina plugin"},
        {"bad_magic", "bad magic 0xdeadbeef in 'lamina_plugin' (expected 0x4c4d5047)"},
        {"abi_major", major},
        {"abi_minor", newer},
        {"small_struct", "descriptor struct too small (16 bytes, at least"},
        {"null_name", "descriptor field 'name' is NULL"},
        {"null_register", "descriptor field 'register_types' is NULL"},
        {"null_create", "layer type 'AlsoFine': create function is NULL"},
        {"dup_builtin", "layer type 'Linear' is already registered by built-in"},
        {"register_fails", "register_types failed: register_fails: the widget service is down"},
        {"no_forward", "layer type 'AlsoFine' sets neither forward_into nor forward"},
        {"seq_forward", "layer type 'AlsoFine' is a Sequential (LAM_LAYER_SEQUENTIAL): it runs "
                        "its children and sets neither forward nor forward_into"},
        {"variant_only", "layer type 'AlsoFine' sets variant without matches"},
        {"unknown_flag", "layer type 'AlsoFine': unknown bits 0x40 in flags 0x41"},
        {"plane_container", "layer type 'AlsoFine' declares LAM_LAYER_PLANEWISE without "
                            "forward_into (a plan runs sample blocks through forward_into)"},
    };
    size_t n_types = 0;
    while (lam_layer_type_name(n_types))
        n_types++;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = path_of(LAM_TEST_PLUGIN_DIR, cases[i].file);
        check_broken(path, cases[i].reason);
        cr_expect(strstr(lam_last_error(), cases[i].file) != NULL, "%s", lam_last_error());
    }
    size_t after = 0;
    while (lam_layer_type_name(after))
        after++;
    cr_expect_eq(after, n_types);
    cr_expect_null(lam_plugin_at(0));
    /* after all that, good plugins load and work */
    load_shipped("swish");
    lam_module *m = create("Swish", 0, NULL);
    lam_module_release(m);
}

Test(broken, duplicate_of_another_plugins_type)
{
    lam_plugin *sw = load_shipped("swish");
    check_broken(path_of(LAM_TEST_PLUGIN_DIR, "dup_plugin"),
                 "layer type 'Swish' is already registered by plugin 'swish' (");
    cr_expect(strstr(lam_last_error(), lam_plugin_path(sw)) != NULL, "%s", lam_last_error());
    /* ... and which plugin wanted it */
    cr_expect(strncmp(lam_last_error(), "plugin 'dup_plugin' (/", 22) == 0, "%s", lam_last_error());
    cr_expect_eq(lam_layer_type_plugin("Swish"), sw);
    /* once swish is unloaded, the other one may take the name */
    OK(lam_plugin_unload(sw));
    lam_plugin *dup = load_test("dup_plugin");
    cr_expect_eq(lam_layer_type_plugin("Swish"), dup);
    cr_expect(lam_layer_type_exists("HalfRegistered"));
}

Test(broken, missing_file_and_not_an_elf)
{
    check_broken("/nonexistent/dir/nothing.so", "cannot open: No such file or directory");
    char dir[] = "/tmp/lamina-plugin-test-XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/text.so", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL);
    fputs("this is not a shared object\n", f);
    fclose(f);
    check_broken(path, "not a loadable shared object: ");
    cr_expect(strstr(lam_last_error(), "invalid ELF header") != NULL ||
                  strstr(lam_last_error(), "file too short") != NULL,
              "dlerror text: %s", lam_last_error());
    unlink(path);
    rmdir(dir);
    check_broken(LAM_TEST_PLUGIN_DIR, "not a regular file");
    expect_error(lam_plugin_load(NULL, NULL), LAM_ERR_INVALID_ARGUMENT, "path_or_name is NULL");
    expect_error(lam_plugin_load("", NULL), LAM_ERR_INVALID_ARGUMENT, "no path or name");
    expect_error(lam_plugin_unload(NULL), LAM_ERR_INVALID_ARGUMENT, "plugin is NULL");
    load_shipped("rmsnorm");
}

Test(broken, type_without_forward_is_rejected_at_registration)
{
    char real[4096];
    cr_assert(realpath(path_of(LAM_TEST_PLUGIN_DIR, "no_forward"), real) != NULL);
    char want[4300];
    snprintf(want, sizeof want,
             "plugin 'no_forward' (%s): layer type 'AlsoFine' sets neither forward_into nor "
             "forward",
             real);
    lam_plugin *p = (lam_plugin *)1;
    expect_error(lam_plugin_load(real, &p), LAM_ERR_PLUGIN, want);
    cr_expect_null(p);
    cr_expect_not(lam_layer_type_exists("AlsoFine"));
    cr_expect_not(lam_layer_type_exists("HalfRegistered"));
}

/* ABI 1.7: a flag bit this lamina does not know fails the load, naming the
 * plugin, the type, the bits and the flags it knows. */
Test(broken, unknown_flag_is_rejected_at_registration)
{
    char real[4096];
    cr_assert(realpath(path_of(LAM_TEST_PLUGIN_DIR, "unknown_flag"), real) != NULL);
    char want[4400];
    snprintf(want, sizeof want,
             "plugin 'unknown_flag' (%s): layer type 'AlsoFine': unknown bits 0x40 in flags 0x41 "
             "(plugin ABI %u.%u knows LAM_LAYER_ROWWISE, LAM_LAYER_SEQUENTIAL, "
             "LAM_LAYER_PLANEWISE and LAM_LAYER_SAMPLE_BLOCKS: 0xf)",
             real, LAM_PLUGIN_ABI_MAJOR, LAM_PLUGIN_ABI_MINOR);
    lam_plugin *p = (lam_plugin *)1;
    lam_status st = lam_plugin_load(real, &p);
    cr_expect_eq(st, LAM_ERR_PLUGIN);
    cr_expect_str_eq(lam_last_error(), want);
    cr_expect_null(p);
    cr_expect_not(lam_layer_type_exists("AlsoFine"));
    cr_expect_not(lam_layer_type_exists("HalfRegistered"));
}

/* A plugin built against ABI 1.6 keeps loading and running as under 1.6:
 * flag bits 1.6 did not define, and what it has in the slot that was
 * reserved then (capabilities now), are ignored, so its layer between a
 * convolution and a pool is not run in sample blocks (a 1.7 plugin's
 * plane-wise layer is: tests/test_capabilities.c). */
Test(plugins, abi_1_6_plugin_keeps_its_flags_meaning)
{
    lam_plugin *p = NULL;
    OK(lam_plugin_load(path_of(LAM_TEST_OLD_DIR, "old_flags"), &p));
    static const char text[] =
        "Sequential(\n"
        "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
        "  (1): AlsoFine()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        ")";
    lam_module *m = NULL;
    OK(lam_model_parse(text, strlen(text), "<old>", &m));
    lam_module_eval(m);
    int64_t shape[4] = {16, 3, 30, 30};
    lam_tensor *x = NULL, *y = NULL, *want = NULL;
    OK(lam_tensor_create(&x, 4, shape));
    float *xd = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        xd[i] = (float)((i * 37) % 101) / 25.0f - 2.0f;
    for (int threads = 1; threads <= 2; threads++) {
        lam_set_num_threads(threads);
        lam_plan *plan = NULL;
        OK(lam_plan_create(&plan, m, 4, shape));
        char *d = lam_plan_describe(plan);
        cr_expect(d && strchr(d, '{') == NULL && strstr(d, "Conv2d, AlsoFine, MaxPool2d"),
                  "%d threads: plan %s", threads, d);
        lam_free(d);
        int nd;
        int64_t os[LAM_MAX_DIMS];
        OK(lam_plan_output_shape(plan, &nd, os));
        OK(lam_tensor_create(&y, nd, os));
        OK(lam_plan_run(plan, x, y));
        lam_plan_free(plan);
        /* the children one by one (AlsoFine copies) */
        lam_tensor *h = NULL;
        OK(lam_module_forward(lam_module_child_at(m, 0, NULL), x, &h));
        OK(lam_module_forward(lam_module_child_at(m, 2, NULL), h, &want));
        lam_tensor_release(h);
        cr_expect(lam_tensor_numel(want) == lam_tensor_numel(y) &&
                      memcmp(lam_tensor_data(want), lam_tensor_data(y),
                             sizeof(float) * (size_t)lam_tensor_numel(y)) == 0,
                  "%d threads: the plan differs from the layers one by one", threads);
        lam_tensor_release(want);
        lam_tensor_release(y);
    }
    lam_tensor_release(x);
    lam_module_release(m);
    OK(lam_plugin_unload(p));
}

/* What a failing create made is released by the host: the module it left in
 * *out (and what that holds), but never twice. */
Test(broken, failing_create_does_not_leak_its_module)
{
    lam_plugin *p = load_test("testtypes");
    const int *destroyed = plugin_symbol(p, "testtypes_destroyed");
    struct {
        const char *type, *message;
    } cases[] = {
        {"LeakyCreate", "LeakyCreate: failed after module_new"},
        {"ReleasedCreate", "ReleasedCreate: failed after releasing its module"},
        {"LeakyContainer", "LeakyContainer: failed after adding a child"},
    };
    for (int i = 0; i < 3; i++) {
        lam_module *m = (lam_module *)1;
        expect_error(lam_module_create(&m, cases[i].type, 0, NULL), LAM_ERR_RUNTIME,
                     cases[i].message);
        cr_expect_null(m);
        cr_expect_eq(*destroyed, i + 1, "%s: %d modules destroyed, expected %d", cases[i].type,
                     *destroyed, i + 1);
    }
    /* a built-in made with host->module_create (LeakSanitizer sees the rest) */
    lam_module *m = (lam_module *)1;
    expect_error(lam_module_create(&m, "LeakyBuiltin", 0, NULL), LAM_ERR_RUNTIME,
                 "LeakyBuiltin: failed after module_create");
    cr_expect_null(m);
    /* nothing holds the plugin any more: unloading closes the library */
    char path[4096];
    snprintf(path, sizeof path, "%s", lam_plugin_path(p));
    OK(lam_plugin_unload(p));
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    cr_expect_null(h, "a module of the failing creates still holds %s", path);
    if (h)
        dlclose(h);
}

/* ================= plugin and type names that collide ================= */

Test(broken, plugin_name_collision_says_what_collided)
{
    lam_plugin *sw = load_shipped("swish");
    char real[4096];
    cr_assert(realpath(path_of(LAM_TEST_COLLIDE_DIR, "swishy"), real) != NULL);
    char want[9000];
    snprintf(want, sizeof want,
             "plugin 'swish' (%s, version 2.0.0): a plugin named 'swish' is already loaded, from "
             "%s (version 1.0.0)",
             real, lam_plugin_path(sw));
    expect_error(lam_plugin_load(real, NULL), LAM_ERR_PLUGIN, want);

    /* looking for the type it provides reports that, not "unknown type" */
    OK(lam_plugin_add_search_dir(LAM_TEST_COLLIDE_DIR));
    expect_error(lam_plugin_find_type("Swishy"), LAM_ERR_PLUGIN,
                 "layer type 'Swishy' is provided by a plugin that could not be loaded: ");
    cr_expect(strstr(lam_last_error(), want) != NULL, "%s", lam_last_error());

    /* and so does a model file, without a misleading "did you mean 'Swish'?" */
    static const char text[] = "Sequential(Linear(2, 2), Swishy())\n";
    lam_module *m = (lam_module *)1;
    expect_error(lam_model_parse(text, sizeof text - 1, "m.lam", &m), LAM_ERR_PLUGIN,
                 "a plugin named 'swish' is already loaded, from");
    cr_expect_null(m);
    cr_expect(strstr(lam_last_error(), "did you mean") == NULL, "%s", lam_last_error());
    cr_expect(strstr(lam_last_error(), "m.lam:1:") != NULL, "%s", lam_last_error());
    cr_expect_eq(lam_layer_type_plugin("Swish"), sw);
    cr_expect_not(lam_layer_type_exists("Swishy"));

    /* a type name taken by another plugin: both plugins and both files named */
    char other[4096];
    cr_assert(realpath(path_of(LAM_TEST_COLLIDE_DIR, "swishier"), other) != NULL);
    snprintf(want, sizeof want,
             "plugin 'swishier' (%s): register_types failed: layer type 'Swish' is already "
             "registered by plugin 'swish' (%s)",
             other, lam_plugin_path(sw));
    static const char text2[] = "Sequential(Swishier())\n";
    expect_error(lam_model_parse(text2, sizeof text2 - 1, "m.lam", &m), LAM_ERR_PLUGIN, want);
    cr_expect(strstr(lam_last_error(), "did you mean") == NULL, "%s", lam_last_error());
    cr_expect_not(lam_layer_type_exists("Swishier"));

    /* once swish is unloaded, both load */
    OK(lam_plugin_unload(sw));
    OK(lam_plugin_find_type("Swishy"));
    OK(lam_plugin_find_type("Swishier"));
}

/* ================= a plugin calling back into the loader ================= */

/* The line of a reenter plugin's log that starts with `label`. */
static const char *log_line(const char *log, const char *label, char *buf, size_t size)
{
    size_t n = strlen(label);
    for (const char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, label, n) == 0 && l[n] == ':') {
            size_t len = strcspn(l, "\n");
            snprintf(buf, size, "%.*s", (int)(len < size ? len : size - 1), l);
            return buf;
        }
    cr_assert(false, "no '%s' in the log:\n%s", label, log);
    return NULL;
}

/* Every call that would change the loader's state was refused, naming
 * `context` (e.g. "loading plugin 'x' (/path/x.so)"); the lookups worked. */
static void expect_reentry_refused(const char *log, const char *context)
{
    static const char *const refused[][2] = {
        {"load", "lam_plugin_load('swish')"},
        {"load_dir", "lam_plugin_load_dir('/nonexistent')"},
        {"find_type NoSuchType", "lam_plugin_find_type('NoSuchType')"},
        {"add_search_dir", "lam_plugin_add_search_dir('/nonexistent')"},
        {"unload", "lam_plugin_unload()"},
    };
    char line[2048], want[2048];
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        log_line(log, refused[i][0], line, sizeof line);
        snprintf(want, sizeof want,
                 "plugin error: %s called while %s (from its constructor, register function or "
                 "destructor): the plugin loader cannot be re-entered",
                 refused[i][1], context);
        cr_expect(strstr(line, want) != NULL, "got  '%s'\nwant '%s'", line, want);
    }
    cr_expect_str_eq(log_line(log, "find_type Linear", line, sizeof line), "find_type Linear: ok: ");
    cr_expect(strstr(log, "at(0)=swish find(swish)=found search_path=ok") != NULL, "%s", log);
}

/* The loader and the registry are as the plugin found them. */
static void expect_loader_unchanged(const lam_plugin *sw)
{
    cr_expect_eq(lam_plugin_find("swish"), sw);
    cr_expect_eq(lam_layer_type_plugin("Swish"), sw);
    cr_expect_not(lam_layer_type_exists("NoSuchType"));
    char *sp = lam_plugin_search_path();
    cr_expect(strstr(sp, "/nonexistent") == NULL, "%s", sp);
    lam_free(sp);
}

/* (A deadlock would hang these tests: the timeout turns it into a failure.) */
Test(reenter, constructor_calling_the_loader_gets_an_error, .timeout = 60)
{
    lam_plugin *sw = load_shipped("swish");
    char real[4096], context[4200];
    cr_assert(realpath(path_of(LAM_TEST_REENTER_DIR, "reenter_ctor"), real) != NULL);
    lam_plugin *p = NULL;
    OK(lam_plugin_load(real, &p));
    /* inside dlopen the descriptor is not read yet: the file is named */
    snprintf(context, sizeof context, "loading plugin '%s'", real);
    const char *log = plugin_symbol(p, "reenter_log");
    cr_expect(strncmp(log, "[constructor]\n", 14) == 0, "%s", log);
    expect_reentry_refused(log, context);
    expect_loader_unchanged(sw);
    cr_expect(lam_layer_type_exists("ReenterCtor"));
    cr_expect_eq(lam_plugin_at(1), p);
}

Test(reenter, register_function_calling_the_loader_gets_an_error, .timeout = 60)
{
    lam_plugin *sw = load_shipped("swish");
    char real[4096], context[4200];
    cr_assert(realpath(path_of(LAM_TEST_REENTER_DIR, "reenter_register"), real) != NULL);
    lam_plugin *p = NULL;
    OK(lam_plugin_load(real, &p));
    snprintf(context, sizeof context, "loading plugin 'reenter_register' (%s)", real);
    const char *log = plugin_symbol(p, "reenter_log");
    cr_expect(strncmp(log, "[register_types]\n", 17) == 0, "%s", log);
    expect_reentry_refused(log, context);
    cr_expect(strstr(log, "module_create Linear: ok\n") != NULL, "%s", log);
    cr_expect(strstr(log, "module_create ReenterRegister: unknown\n") != NULL, "%s", log);
    expect_loader_unchanged(sw);
    cr_expect(lam_layer_type_exists("ReenterRegister"));
    cr_expect_eq(lam_plugin_at(1), p);
}

Test(reenter, destructor_calling_the_loader_gets_an_error, .timeout = 60)
{
    lam_plugin *sw = load_shipped("swish");
    char real[4096], context[4200];
    cr_assert(realpath(path_of(LAM_TEST_REENTER_DIR, "reenter_dtor"), real) != NULL);

    /* closed by the loader, after its register function failed */
    setenv("LAM_TEST_REENTER_FAIL", "1", 1);
    expect_error(lam_plugin_load(real, NULL), LAM_ERR_PLUGIN,
                 "register_types failed: reenter_dtor: failing on purpose");
    unsetenv("LAM_TEST_REENTER_FAIL");
    const char *log = getenv("LAM_TEST_REENTER_DTOR_LOG");
    cr_assert(log != NULL, "the destructor did not run");
    snprintf(context, sizeof context, "loading plugin 'reenter_dtor' (%s)", real);
    expect_reentry_refused(log, context);
    expect_loader_unchanged(sw);
    unsetenv("LAM_TEST_REENTER_DTOR_LOG");

    /* closed when the last module made from it goes, after unload */
    lam_plugin *p = NULL;
    OK(lam_plugin_load(real, &p));
    lam_module *m = create("ReenterDtor", 0, NULL);
    OK(lam_plugin_unload(p));
    cr_expect_null(getenv("LAM_TEST_REENTER_DTOR_LOG"), "closed before its last module went");
    lam_module_release(m);
    log = getenv("LAM_TEST_REENTER_DTOR_LOG");
    cr_assert(log != NULL, "the destructor did not run");
    snprintf(context, sizeof context, "closing plugin 'reenter_dtor' (%s)", real);
    expect_reentry_refused(log, context);
    expect_loader_unchanged(sw);
}

/* A plugin container with forward_multi (ABI 1.4): several inputs in, a
 * tuple out, through the host table. */
Test(plugins, container_forward_multi)
{
    load_test("testtypes");
    lam_module *m = NULL;
    OK(lam_module_create(&m, "PairUp", 0, NULL));
    lam_tensor *x = NULL, *y = NULL;
    OK(lam_tensor_from_data(&x, 1, (int64_t[]){2}, (float[]){1, 2}));
    lam_tuple *in = NULL, *ys = NULL;
    OK(lam_tuple_create(&in, 1));
    OK(lam_tuple_set_tensor(in, 0, x));
    OK(lam_module_forward_multi(m, in, NULL, &y, &ys));
    cr_assert_null(y);
    cr_assert_not_null(ys);
    cr_assert_eq(lam_tuple_len(ys), 3);
    cr_expect_eq(lam_tensor_cdata(lam_tuple_tensor(ys, 1))[1], 4.0f);
    cr_expect_eq(lam_tuple_is_none(ys, 2), true);
    lam_tuple_release(ys);
    lam_tuple_release(in);
    OK(lam_tuple_create(&in, 2));
    OK(lam_tuple_set_tensor(in, 0, x));
    OK(lam_tuple_set_tensor(in, 1, x));
    OK(lam_module_forward_multi(m, in, NULL, &y, &ys));
    cr_assert_not_null(y);
    cr_assert_null(ys);
    cr_expect_eq(lam_tensor_cdata(y)[1], 4.0f);
    lam_tensor_release(y);
    lam_tuple_release(in);
    /* its single-tensor forward still works */
    OK(lam_module_forward(m, x, &y));
    cr_expect_eq(lam_tensor_cdata(y)[0], 1.0f);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
}

/* host->forward_output: a plan offers a custom step's forward its own
 * output buffer (the forward writes there and the plan copies nothing);
 * outside a plan, or for a shape that is not the output's, nothing is
 * offered, and the results are the same. */
Test(plugins, forward_output_offers_the_plans_buffer)
{
    load_test("testtypes");
    lam_module *seq = create("Sequential", 0, NULL);
    add(seq, "0", create("OutputTaker", 0, NULL));
    lam_tensor *x = input_2d(4, 5, -0.5f), *want = NULL, *y = NULL;
    OK(lam_tensor_relu(&want, x));
    lam_set_num_threads(1);
    lam_plan *p;
    OK(lam_plan_create(&p, seq, 2, lam_tensor_shape(x)));
    OK(lam_tensor_clone(&y, x));
    for (int k = 1; k <= 2; k++) {
        memset(lam_tensor_data(y), 0xff, 20 * sizeof(float));
        OK(lam_plan_run(p, x, y));
        cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(want), 20 * sizeof(float)) == 0);
        cr_expect_eq(param(seq, "0.calls")[0], (float)k);
        cr_expect_eq(param(seq, "0.taken")[0], (float)k, "the plan offered its buffer %g times "
                     "in %d runs", (double)param(seq, "0.taken")[0], k);
    }
    lam_plan_free(p);
    /* the custom module called with a per-call argument: no plan, no offer */
    int dummy = 0;
    lam_tensor *z = NULL;
    OK(lam_module_forward_args(lam_module_child(seq, "0"), x, &dummy, &z));
    cr_expect(memcmp(lam_tensor_cdata(z), lam_tensor_cdata(want), 20 * sizeof(float)) == 0);
    cr_expect_eq(param(seq, "0.calls")[0], 3.0f);
    cr_expect_eq(param(seq, "0.taken")[0], 2.0f);
    lam_set_num_threads(0);
    lam_tensor_release(z);
    lam_tensor_release(y);
    lam_tensor_release(want);
    lam_tensor_release(x);
    lam_module_release(seq);
}
