/* End-to-end model timings for the benchmark report (figures, no pass/fail).
 *
 * A small server driven by bench/run: it reads one command per line on
 * stdin and answers one JSON object per line on stdout, so the orchestrator
 * can alternate lamina and PyTorch row by row in one sitting.
 *
 *   info      version, ISA, default thread count
 *   probe     build the plugin model now, load the torchvision plugin: are they
 *             available?
 *   run CASE API BATCH THREADS BUDGET_S MIN_SAMPLES MAX_SAMPLES [WARM_CALLS]
 *   quit
 *
 * CASE  seed_seq   Sequential(Linear(10,50), ReLU(), Linear(50,2), Sigmoid())
 *       seed_list  the same four layers in a ModuleList inside a custom
 *                  module whose forward loops over it (lam_custom_create)
 *       mlp        Sequential(Linear(784,1024), ReLU(), Linear(1024,1024),
 *                  ReLU(), Linear(1024,10))
 *       mix        Sequential(Linear(64,256), Swish(beta=1.5), RMSNorm(256),
 *                  Linear(256,10)): built-in and plugin layers
 *       gated_plugin  GatedResidual (tests/plugins/gated.c, a plugin container
 *                  declared LAM_LAYER_ROWWISE) over a ModuleList of three
 *                  Linear(64,64): x + sigmoid(L1(x)) * L2(relu(L0(x)))
 *       gated_seq  its built-in twin with the same GEMMs: Sequential(
 *                  Linear(64,64), ReLU(), Linear(64,64), Sigmoid(),
 *                  Linear(64,64))
 *       The CNN rows (issue 14), inputs [BATCH, C, H, W]:
 *       conv3x3    Conv2d(64, 64, 3, padding=1) on 64 x 56 x 56
 *       conv1x1    Conv2d(256, 64, 1) on 256 x 56 x 56
 *       dw3x3      Conv2d(32, 32, 3, padding=1, groups=32) on 32 x 112 x 112
 *       stem7x7    Conv2d(3, 64, 7, stride=2, padding=3) on 3 x 224 x 224
 *       maxpool    MaxPool2d(3, 2, 1) on 64 x 112 x 112
 *       lenet5     examples/lenet5.c's LeNet-5 on 1 x 28 x 28
 *       convt4x4   ConvTranspose2d(64, 32, 4, stride=2, padding=1) on
 *                  64 x 56 x 56 (informational: no goal)
 *       The sequence-model rows (issue 16), BATCH where the layer takes it:
 *       encoder    TransformerEncoder(TransformerEncoderLayer(512, 8, 2048,
 *                  batch_first=True), 6) on [BATCH, 128, 512]
 *       mha        MultiheadAttention(512, 8) self-attention (x, x, x, no
 *                  weights) on [1024, BATCH, 512]
 *       lstm       LSTM(256, 512, num_layers=2), output only, on
 *                  [100, BATCH, 256]
 *       The torchvision rows (issue 15): any name, made by
 *   tvload NAME MODEL.lam WEIGHTS.safetensors C H W
 *                  a model file and its weights (tools/lamina-export's, made
 *                  by bench/torch_models.py's tvexport), loaded with the
 *                  torchvision plugin; then `run NAME ...` times it on
 *                  [BATCH, C, H, W]
 * seed_list declares itself row-independent (lam_custom_set_flags, looked up
 * at run time like the plugin API) where the library has it.
 * API   plan       lam_plan_create once, then lam_plan_run on wrapped buffers
 *                  (zero allocation)
 *       forward    lam_module_forward + lam_tensor_release per call
 *
 * Threads are set with lam_set_num_threads before the plan is made.  A run
 * warms up, then takes timed samples until BUDGET_S has passed and at least
 * MIN_SAMPLES (at most MAX_SAMPLES) were taken.  A call shorter than 10 µs is
 * timed in groups of `inner` back-to-back calls (the clock costs ~20 ns), so
 * its samples are group means; "samples_us" are per-call µs of wall-clock
 * time, "cpu_samples_us" the same samples in process CPU time.
 *
 * Plugins come from the directories given with --plugin-dir (then
 * LAMINA_PLUGIN_PATH and the installed directory, as lam_plugin_load looks).
 * The plugin API is looked up at run time, so this program builds and runs
 * against a library without it and reports "plugin not available". */
#include <lamina/lamina.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PLUGIN_DIRS 8
#define SAMPLE_CAP 20000

static const char *plugin_dirs[MAX_PLUGIN_DIRS];
static int n_plugin_dirs;
static int no_plugins;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The process's CPU time (all its threads): on a shared machine the figure
 * that waiting for a core does not inflate. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Print a string as a JSON string literal. */
static void jstr(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if (*s == '\n')
            printf("\\n");
        else if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

static void reply_error(const char *what, const char *detail)
{
    printf("{\"kind\":\"error\",\"error\":");
    jstr(what);
    printf(",\"detail\":");
    jstr(detail);
    printf("}\n");
    fflush(stdout);
}

/* ------------------------------------------------------------- models */

static lam_status seq_of(lam_module **out, size_t n, lam_module **mods)
{
    lam_status st = LAM_OK;
    for (size_t i = 0; i < n; i++)
        if (!mods[i])
            st = LAM_ERR_NO_MEMORY;
    if (st == LAM_OK)
        st = lam_sequential_create(out, n, mods);
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
    return st;
}

static lam_module *linear(int64_t in, int64_t out)
{
    lam_module *m = NULL;
    return lam_linear_create(&m, in, out, true) == LAM_OK ? m : NULL;
}
static lam_module *relu(void)
{
    lam_module *m = NULL;
    return lam_relu_create(&m) == LAM_OK ? m : NULL;
}
static lam_module *sigmoid(void)
{
    lam_module *m = NULL;
    return lam_sigmoid_create(&m) == LAM_OK ? m : NULL;
}

static lam_status build_seed_seq(lam_module **out)
{
    lam_module *l[4] = {linear(10, 50), relu(), linear(50, 2), sigmoid()};
    return seq_of(out, 4, l);
}

static lam_status build_mlp(lam_module **out)
{
    lam_module *l[5] = {linear(784, 1024), relu(), linear(1024, 1024), relu(), linear(1024, 10)};
    return seq_of(out, 5, l);
}

/* MyModel.forward: for layer in self.layers: x = layer(x) */
static lam_status list_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers");
    const lam_tensor *cur = x;
    lam_tensor *owned = NULL;
    for (size_t i = 0; i < lam_container_len(layers); i++) {
        lam_module *layer;
        lam_tensor *next = NULL;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (st == LAM_OK)
            st = lam_module_forward(layer, cur, &next);
        lam_tensor_release(owned);
        if (st != LAM_OK)
            return st;
        cur = owned = next;
    }
    return owned ? (*out = owned, LAM_OK) : lam_tensor_clone(out, x);
}

static lam_status list_shape(lam_module *self, int ndim, const int64_t *shape, int *out_ndim,
                             int64_t *out_shape)
{
    lam_module *layers = lam_module_child(self, "layers");
    int64_t cur[LAM_MAX_DIMS];
    int cn = ndim;
    memcpy(cur, shape, sizeof(int64_t) * (size_t)ndim);
    for (size_t i = 0; i < lam_container_len(layers); i++) {
        lam_module *layer;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (st == LAM_OK)
            st = lam_module_output_shape(layer, cn, cur, &cn, cur);
        if (st != LAM_OK)
            return st;
    }
    *out_ndim = cn;
    memcpy(out_shape, cur, sizeof(int64_t) * (size_t)cn);
    return LAM_OK;
}

typedef lam_status (*custom_set_flags_fn)(lam_module *m, unsigned flags);

static lam_status build_seed_list(lam_module **out)
{
    lam_module *l[4] = {linear(10, 50), relu(), linear(50, 2), sigmoid()}, *layers = NULL;
    lam_status st = LAM_OK;
    for (int i = 0; i < 4; i++)
        if (!l[i])
            st = LAM_ERR_NO_MEMORY;
    if (st == LAM_OK)
        st = lam_modulelist_create(&layers, 4, l);
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    if (st != LAM_OK)
        return st;
    lam_custom_spec spec = {.type_name = "MyModel", .forward = list_forward,
                            .output_shape = list_shape};
    st = lam_custom_create(out, &spec);
    if (st == LAM_OK)
        st = lam_module_add_child(*out, "layers", layers);
    lam_module_release(layers);
    custom_set_flags_fn set_flags =
        (custom_set_flags_fn)dlsym(RTLD_DEFAULT, "lam_custom_set_flags");
    if (st == LAM_OK && set_flags)
        st = set_flags(*out, 1u /* LAM_CUSTOM_ROWWISE */);
    return st;
}

/* The plugin API, looked up at run time (a library built without the
 * plugin loader still runs every other case). */
typedef lam_status (*plugin_load_fn)(const char *path_or_name, void **out);
typedef lam_status (*module_create_fn)(lam_module **out, const char *type_name, size_t nargs,
                                       const lam_kwarg *args);
typedef bool (*type_exists_fn)(const char *type_name);

static char plugin_note[2048];

/* Make `type` available: already registered, or loaded from `file` in one
 * of the plugin directories, or by name through the library's search path. */
static int ensure_type(const char *type, const char *file)
{
    type_exists_fn exists = (type_exists_fn)dlsym(RTLD_DEFAULT, "lam_layer_type_exists");
    plugin_load_fn load = (plugin_load_fn)dlsym(RTLD_DEFAULT, "lam_plugin_load");
    if (exists && exists(type))
        return 1;
    if (!load) {
        snprintf(plugin_note, sizeof plugin_note,
                 "plugin not available: this liblamina has no lam_plugin_load");
        return 0;
    }
    char path[1024];
    for (int i = 0; i < n_plugin_dirs; i++) {
        snprintf(path, sizeof path, "%s/%s.so", plugin_dirs[i], file);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fclose(f);
        if (load(path, NULL) == LAM_OK && (!exists || exists(type)))
            return 1;
        snprintf(plugin_note, sizeof plugin_note, "plugin not available: %s: %s", path,
                 lam_last_error());
        return 0;
    }
    if (load(file, NULL) == LAM_OK && (!exists || exists(type)))
        return 1;
    snprintf(plugin_note, sizeof plugin_note, "plugin not available: %s.so not found (%s)", file,
             lam_last_error());
    return 0;
}

static lam_status build_mix(lam_module **out)
{
    if (no_plugins) {
        snprintf(plugin_note, sizeof plugin_note, "plugin not available: plugins disabled (%s)",
                 "--no-plugins");
        return LAM_ERR_PLUGIN;
    }
    module_create_fn create = (module_create_fn)dlsym(RTLD_DEFAULT, "lam_module_create");
    if (!create) {
        snprintf(plugin_note, sizeof plugin_note,
                 "plugin not available: this liblamina has no lam_module_create");
        return LAM_ERR_PLUGIN;
    }
    if (!ensure_type("Swish", "swish") || !ensure_type("RMSNorm", "rmsnorm"))
        return LAM_ERR_PLUGIN;
    lam_module *swish = NULL, *norm = NULL;
    lam_kwarg swish_args[] = {{"beta", LAM_FLOAT(1.5)}};
    lam_kwarg norm_args[] = {{NULL, LAM_INT(256)}};
    if (create(&swish, "Swish", 1, swish_args) != LAM_OK ||
        create(&norm, "RMSNorm", 1, norm_args) != LAM_OK) {
        snprintf(plugin_note, sizeof plugin_note, "plugin layer creation failed: %s",
                 lam_last_error());
        lam_module_release(swish);
        lam_module_release(norm);
        return LAM_ERR_PLUGIN;
    }
    lam_module *l[4] = {linear(64, 256), swish, norm, linear(256, 10)};
    return seq_of(out, 4, l);
}

static lam_status build_gated_seq(lam_module **out)
{
    lam_module *l[5] = {linear(64, 64), relu(), linear(64, 64), sigmoid(), linear(64, 64)};
    return seq_of(out, 5, l);
}

static lam_status build_gated_plugin(lam_module **out)
{
    module_create_fn create = (module_create_fn)dlsym(RTLD_DEFAULT, "lam_module_create");
    if (no_plugins || !create) {
        snprintf(plugin_note, sizeof plugin_note, "plugin not available");
        return LAM_ERR_PLUGIN;
    }
    if (!ensure_type("GatedResidual", "gated"))
        return LAM_ERR_PLUGIN;
    lam_module *l[3] = {linear(64, 64), linear(64, 64), linear(64, 64)}, *list = NULL;
    lam_status st = l[0] && l[1] && l[2] ? lam_modulelist_create(&list, 3, l) : LAM_ERR_NO_MEMORY;
    for (int i = 0; i < 3; i++)
        lam_module_release(l[i]);
    if (st == LAM_OK)
        st = create(out, "GatedResidual", 0, NULL);
    if (st == LAM_OK)
        st = lam_module_add_child(*out, "layers", list);
    lam_module_release(list);
    if (st != LAM_OK)
        snprintf(plugin_note, sizeof plugin_note, "GatedResidual: %s", lam_last_error());
    return st;
}

/* The CNN rows, parsed from the text print(model) gives. */
static const char *const cnn_text[] = {
    "Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
    "Conv2d(256, 64, kernel_size=(1, 1), stride=(1, 1))",
    "Conv2d(32, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=32)",
    "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3))",
    "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)",
    "Sequential(\n"
    "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
    "  (1): ReLU()\n"
    "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (3): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n"
    "  (4): ReLU()\n"
    "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (6): Flatten(start_dim=1, end_dim=-1)\n"
    "  (7): Linear(in_features=400, out_features=120, bias=True)\n"
    "  (8): ReLU()\n"
    "  (9): Linear(in_features=120, out_features=84, bias=True)\n"
    "  (10): ReLU()\n"
    "  (11): Linear(in_features=84, out_features=10, bias=True)\n"
    ")",
};

static lam_status parse_text(lam_module **out, const char *text)
{
    return lam_model_parse(text, strlen(text), "bench", out);
}
static lam_status build_conv3x3(lam_module **out) { return parse_text(out, cnn_text[0]); }
static lam_status build_conv1x1(lam_module **out) { return parse_text(out, cnn_text[1]); }
static lam_status build_dw3x3(lam_module **out) { return parse_text(out, cnn_text[2]); }
static lam_status build_stem7x7(lam_module **out) { return parse_text(out, cnn_text[3]); }
static lam_status build_maxpool(lam_module **out) { return parse_text(out, cnn_text[4]); }
static lam_status build_lenet5(lam_module **out) { return parse_text(out, cnn_text[5]); }
static lam_status build_convt4x4(lam_module **out)
{
    return parse_text(out, "ConvTranspose2d(64, 32, kernel_size=(4, 4), stride=(2, 2), "
                           "padding=(1, 1))");
}

/* The sequence-model rows, through the C API. */
static lam_status build_encoder(lam_module **out)
{
    lam_module *layer = NULL;
    lam_status st = lam_transformer_encoder_layer_create(&layer, 512, 8, 2048, 0.1, "relu", 1e-5,
                                                         true, false);
    if (st == LAM_OK)
        st = lam_transformer_encoder_create(out, layer, 6, NULL);
    lam_module_release(layer);
    return st;
}
static lam_status build_mha(lam_module **out)
{
    return lam_multihead_attention_create(out, 512, 8, 0.0, true, false, false, 0, 0, false);
}
static lam_status build_lstm(lam_module **out)
{
    return lam_lstm_create(out, 256, 512, 2, true, false, 0.0, false, 0);
}

typedef struct model_case {
    const char *name;
    int64_t in_features;
    lam_status (*build)(lam_module **out);
    lam_module *model;
    int tried;
    lam_status status;
    int64_t chw[3]; /* a CNN row's input [C, H, W] (then in_features is C * H * W) */
    int64_t seq[3]; /* a sequence row's input, 0 where the batch goes (then in_features is
                       the product of the others) */
} model_case;

static model_case cases[] = {
    {"seed_seq", 10, build_seed_seq, NULL, 0, LAM_OK, {0, 0, 0}, {0, 0, 0}},
    {"seed_list", 10, build_seed_list, NULL, 0, LAM_OK, {0, 0, 0}, {0, 0, 0}},
    {"mlp", 784, build_mlp, NULL, 0, LAM_OK, {0, 0, 0}, {0, 0, 0}},
    {"mix", 64, build_mix, NULL, 0, LAM_OK, {0, 0, 0}, {0, 0, 0}},
    {"gated_plugin", 64, build_gated_plugin, NULL, 0, LAM_OK, {0, 0, 0}, {0, 0, 0}},
    {"gated_seq", 64, build_gated_seq, NULL, 0, LAM_OK, {0, 0, 0}, {0, 0, 0}},
    {"conv3x3", 64 * 56 * 56, build_conv3x3, NULL, 0, LAM_OK, {64, 56, 56}, {0, 0, 0}},
    {"conv1x1", 256 * 56 * 56, build_conv1x1, NULL, 0, LAM_OK, {256, 56, 56}, {0, 0, 0}},
    {"dw3x3", 32 * 112 * 112, build_dw3x3, NULL, 0, LAM_OK, {32, 112, 112}, {0, 0, 0}},
    {"stem7x7", 3 * 224 * 224, build_stem7x7, NULL, 0, LAM_OK, {3, 224, 224}, {0, 0, 0}},
    {"maxpool", 64 * 112 * 112, build_maxpool, NULL, 0, LAM_OK, {64, 112, 112}, {0, 0, 0}},
    {"lenet5", 28 * 28, build_lenet5, NULL, 0, LAM_OK, {1, 28, 28}, {0, 0, 0}},
    {"convt4x4", 64 * 56 * 56, build_convt4x4, NULL, 0, LAM_OK, {64, 56, 56}, {0, 0, 0}},
    {"encoder", 128 * 512, build_encoder, NULL, 0, LAM_OK, {0, 0, 0}, {0, 128, 512}},
    {"mha", 1024 * 512, build_mha, NULL, 0, LAM_OK, {0, 0, 0}, {1024, 0, 512}},
    {"lstm", 100 * 256, build_lstm, NULL, 0, LAM_OK, {0, 0, 0}, {100, 0, 256}},
};

/* The torchvision rows: loaded by `tvload` (slots reused by name). */
#define MAX_TV_CASES 8
static model_case tv_cases[MAX_TV_CASES];
static char tv_names[MAX_TV_CASES][32];

static model_case *get_case(const char *name)
{
    for (int i = 0; i < MAX_TV_CASES; i++)
        if (tv_cases[i].name && strcmp(tv_cases[i].name, name) == 0)
            return &tv_cases[i];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        model_case *c = &cases[i];
        if (strcmp(c->name, name) != 0)
            continue;
        if (!c->tried) {
            c->tried = 1;
            lam_manual_seed(0);
            c->status = c->build(&c->model);
            if (c->status == LAM_OK)
                lam_module_eval(c->model);
            else if (!plugin_note[0] || (strcmp(name, "mix") != 0 && strcmp(name, "gated_plugin") != 0))
                snprintf(plugin_note, sizeof plugin_note, "%s", lam_last_error());
        }
        return c;
    }
    return NULL;
}

/* ------------------------------------------------------------- timing */

typedef struct runner {
    int api_plan;
    lam_module *model;
    lam_plan *plan;
    lam_tensor *in, *out;
    lam_status st;
} runner;

static inline void call_once(runner *r)
{
    if (r->api_plan) {
        r->st |= lam_plan_run(r->plan, r->in, r->out);
    } else {
        lam_tensor *y = NULL;
        r->st |= lam_module_forward(r->model, r->in, &y);
        lam_tensor_release(y);
    }
}

static float *falloc(size_t n)
{
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)))
        return NULL;
    return p;
}

static void cmd_run(const char *case_name, const char *api, long batch, int threads, double budget,
                    int min_samples, int max_samples, int warm_min)
{
    model_case *c = get_case(case_name);
    if (!c) {
        reply_error("unknown case", case_name);
        return;
    }
    if (c->status != LAM_OK) {
        reply_error(strcmp(case_name, "mix") == 0 || strcmp(case_name, "gated_plugin") == 0
                        ? "plugin not available"
                        : "model failed",
                    plugin_note);
        return;
    }
    if (max_samples > SAMPLE_CAP)
        max_samples = SAMPLE_CAP;
    if (min_samples < 1)
        min_samples = 1;
    lam_set_num_threads(threads);

    runner r = {strcmp(api, "plan") == 0, c->model, NULL, NULL, NULL, LAM_OK};
    int64_t in_shape[4] = {batch, c->in_features, 0, 0}, out_shape[LAM_MAX_DIMS];
    int in_ndim = 2, out_ndim = 0;
    if (c->chw[0]) {
        in_ndim = 4;
        memcpy(in_shape + 1, c->chw, sizeof c->chw);
    } else if (c->seq[2]) {
        in_ndim = 3;
        for (int i = 0; i < 3; i++)
            in_shape[i] = c->seq[i] ? c->seq[i] : batch;
    }
    float *x = falloc((size_t)batch * (size_t)c->in_features), *y = NULL;
    double *samples = malloc(sizeof(double) * (size_t)max_samples);
    double *cpu_samples = malloc(sizeof(double) * (size_t)max_samples);
    char strategy[64] = "forward";
    int plan_threads = 0;
    lam_status st = x && samples && cpu_samples ? LAM_OK : LAM_ERR_NO_MEMORY;
    if (st == LAM_OK) {
        uint32_t s = 12345u;
        for (long i = 0; i < batch * c->in_features; i++) {
            s = s * 1664525u + 1013904223u;
            x[i] = (float)(s >> 8) * (2.0f / 16777216.0f) - 1.0f;
        }
        st = lam_module_output_shape(c->model, in_ndim, in_shape, &out_ndim, out_shape);
    }
    if (st == LAM_OK) {
        int64_t n_out = 1;
        for (int i = 0; i < out_ndim; i++)
            n_out *= out_shape[i];
        y = falloc((size_t)n_out);
        st = y ? LAM_OK : LAM_ERR_NO_MEMORY;
        if (st == LAM_OK)
            st = lam_tensor_wrap(&r.in, x, in_ndim, in_shape);
        if (st == LAM_OK)
            st = lam_tensor_wrap(&r.out, y, out_ndim, out_shape);
    }
    double t_plan = 0;
    if (st == LAM_OK && r.api_plan) {
        double t0 = now();
        st = lam_plan_create(&r.plan, c->model, in_ndim, in_shape);
        t_plan = now() - t0;
        if (st == LAM_OK)
            snprintf(strategy, sizeof strategy, "%s", lam_plan_strategy(r.plan, &plan_threads));
    }
    if (st != LAM_OK) {
        reply_error("setup failed", lam_last_error());
        goto done;
    }

    /* Warm-up: min(budget/5, 50 ms), at least warm_min calls (default 3), or
     * fewer when they take 0.2 s (the sequence models' forwards take up to a
     * second on a busy machine: 3 would double a row's time) */
    double t0 = now(), warm = budget / 5 < 0.05 ? budget / 5 : 0.05;
    long warm_calls = 0;
    do {
        call_once(&r);
        warm_calls++;
    } while ((warm_calls < warm_min && now() - t0 < 0.2) || now() - t0 < warm);
    double per_call = (now() - t0) / (double)warm_calls;
    if (r.st != LAM_OK) {
        reply_error("run failed", lam_last_error());
        goto done;
    }
    /* Group calls so a sample lasts >= 10 µs and max_samples cover the budget. */
    double target = 10e-6;
    if (budget / max_samples > target)
        target = budget / max_samples;
    long inner = per_call >= target ? 1 : (long)ceil(target / per_call);

    int n = 0;
    double start = now();
    while (n < max_samples && (n < min_samples || now() - start < budget)) {
        double a = now(), ca = cpu_now();
        for (long i = 0; i < inner; i++)
            call_once(&r);
        cpu_samples[n] = (cpu_now() - ca) / (double)inner;
        samples[n++] = (now() - a) / (double)inner;
    }
    if (r.st != LAM_OK) {
        reply_error("run failed", lam_last_error());
        goto done;
    }
    printf("{\"kind\":\"result\",\"impl\":\"lamina\",\"case\":\"%s\",\"api\":\"%s\","
           "\"batch\":%ld,\"threads\":%d,\"strategy\":\"%s\",\"plan_threads\":%d,"
           "\"plan_create_us\":%.2f,\"inner\":%ld,\"samples_us\":[",
           case_name, api, batch, threads, strategy, plan_threads, t_plan * 1e6, inner);
    for (int i = 0; i < n; i++)
        printf("%s%.5g", i ? "," : "", samples[i] * 1e6);
    printf("],\"cpu_samples_us\":[");
    for (int i = 0; i < n; i++)
        printf("%s%.5g", i ? "," : "", cpu_samples[i] * 1e6);
    printf("]}\n");
    fflush(stdout);
done:
    lam_plan_free(r.plan);
    lam_tensor_release(r.in);
    lam_tensor_release(r.out);
    free(x);
    free(y);
    free(samples);
    free(cpu_samples);
}

static void cmd_info(void)
{
    printf("{\"kind\":\"info\",\"lamina_version\":");
    jstr(lam_version());
    printf(",\"isa\":");
    jstr(lam_kernel_isa());
    printf(",\"default_threads\":%d,\"plugin_api\":%s}\n", lam_get_num_threads(),
           dlsym(RTLD_DEFAULT, "lam_plugin_load") ? "true" : "false");
    fflush(stdout);
}

/* tvload NAME MODEL.lam WEIGHTS.safetensors C H W: a torchvision model
 * (print(model) and its state_dict), run with the torchvision plugin. */
static void cmd_tvload(const char *name, const char *lam_path, const char *weights, long c,
                       long h, long w)
{
    if (no_plugins) {
        reply_error("plugin not available", "plugins disabled (--no-plugins)");
        return;
    }
    if (!ensure_type("ResNet", "torchvision")) {
        reply_error("plugin not available", plugin_note);
        return;
    }
    int slot = -1;
    for (int i = 0; i < MAX_TV_CASES && slot < 0; i++)
        if (!tv_cases[i].name || strcmp(tv_names[i], name) == 0)
            slot = i;
    if (slot < 0 || strlen(name) >= sizeof tv_names[0]) {
        reply_error("tvload", slot < 0 ? "no free model slot" : "name too long");
        return;
    }
    lam_module *m = NULL;
    lam_status st = lam_model_load(lam_path, &m);
    if (st == LAM_OK)
        st = lam_model_load_weights(m, weights, true, NULL);
    if (st != LAM_OK) {
        reply_error("model failed", lam_last_error());
        lam_module_release(m);
        return;
    }
    lam_module_eval(m);
    model_case *k = &tv_cases[slot];
    lam_module_release(k->model);
    snprintf(tv_names[slot], sizeof tv_names[slot], "%s", name);
    *k = (model_case){tv_names[slot], c * h * w, NULL, m, 1, LAM_OK, {c, h, w}, {0, 0, 0}};
    printf("{\"kind\":\"loaded\",\"case\":");
    jstr(name);
    printf(",\"type\":");
    jstr(lam_module_type_name(m));
    printf("}\n");
    fflush(stdout);
}

/* Build the plugin model (loading the plugins) and say whether it worked.
 * bench/run asks this of a throwaway process first, so that a plugin that
 * crashes the loader costs the row, not the run. */
static void cmd_probe(void)
{
    model_case *mix = get_case("mix");
    printf("{\"kind\":\"probe\",\"mix_available\":%s,\"mix_note\":",
           mix->status == LAM_OK ? "true" : "false");
    jstr(mix->status == LAM_OK ? "" : plugin_note);
    int tv = !no_plugins && ensure_type("ResNet", "torchvision");
    printf(",\"tv_available\":%s,\"tv_note\":", tv ? "true" : "false");
    jstr(tv ? "" : no_plugins ? "plugins disabled (--no-plugins)" : plugin_note);
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plugin-dir") == 0 && i + 1 < argc) {
            if (n_plugin_dirs < MAX_PLUGIN_DIRS)
                plugin_dirs[n_plugin_dirs++] = argv[++i];
            else
                i++;
        } else if (strcmp(argv[i], "--no-plugins") == 0) {
            no_plugins = 1;
        } else {
            fprintf(stderr,
                    "usage: %s [--plugin-dir DIR]... [--no-plugins] (commands on stdin; see the source)\n",
                    argv[0]);
            return 2;
        }
    }
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", case_name[32] = "", api[32] = "", path1[1024], path2[1024];
        long batch = 0, c = 0, h = 0, w = 0;
        int threads = 1, min_samples = 5, max_samples = 5000, warm_min = 3;
        double budget = 0.2;
        if (sscanf(line, "%31s", cmd) != 1)
            continue;
        if (strcmp(cmd, "quit") == 0)
            break;
        if (strcmp(cmd, "info") == 0) {
            cmd_info();
        } else if (strcmp(cmd, "probe") == 0) {
            cmd_probe();
        } else if (strcmp(cmd, "run") == 0 &&
                   sscanf(line, "%*s %31s %31s %ld %d %lf %d %d %d", case_name, api, &batch,
                          &threads, &budget, &min_samples, &max_samples, &warm_min) >= 7 &&
                   batch > 0 && threads > 0 && warm_min >= 1) {
            cmd_run(case_name, api, batch, threads, budget, min_samples, max_samples, warm_min);
        } else if (strcmp(cmd, "tvload") == 0 &&
                   sscanf(line, "%*s %31s %1023s %1023s %ld %ld %ld", case_name, path1, path2, &c,
                          &h, &w) == 6 &&
                   c > 0 && h > 0 && w > 0) {
            cmd_tvload(case_name, path1, path2, c, h, w);
        } else {
            reply_error("bad command", line);
        }
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        lam_module_release(cases[i].model);
    for (int i = 0; i < MAX_TV_CASES; i++)
        lam_module_release(tv_cases[i].model);
    return 0;
}
