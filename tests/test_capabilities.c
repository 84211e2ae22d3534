/* The executor asks layers what they can do (issue 11, item 6): a plugin
 * activation is fused into the layer before it, a plugin layer that runs
 * rows with a fused epilogue takes a following built-in activation and is
 * split over output columns, and lam_plan_describe shows what was planned.
 * Expected values: the layers run one at a time (same bits) and a float64
 * computation. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef LAM_TEST_SHIPPED_DIR
#define LAM_TEST_SHIPPED_DIR "plugins/.libs"
#endif
#ifndef LAM_TEST_PLUGIN_DIR
#define LAM_TEST_PLUGIN_DIR "tests/plugins/.libs"
#endif

#define OK(call)                                                                                   \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_assert(st_ == LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_), lam_last_error());   \
    } while (0)

static void setup(void)
{
    lam_manual_seed(7);
    OK(lam_plugin_load(LAM_TEST_SHIPPED_DIR "/swish.so", NULL));
    OK(lam_plugin_load(LAM_TEST_PLUGIN_DIR "/testtypes.so", NULL));
}

TestSuite(capabilities, .init = setup);

static lam_module *make(const char *type, size_t n, const lam_kwarg *kw)
{
    lam_module *m = NULL;
    OK(lam_module_create(&m, type, n, kw));
    return m;
}

static lam_module *seq2(lam_module *a, lam_module *b)
{
    lam_module *l[2] = {a, b}, *s;
    OK(lam_sequential_create(&s, 2, l));
    lam_module_release(a);
    lam_module_release(b);
    lam_module_eval(s);
    return s;
}

static lam_tensor *input(int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    lam_tensor *x;
    OK(lam_tensor_create(&x, 2, shape));
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < rows * cols; i++)
        d[i] = (float)sin(0.37 * (double)i) * 2.0f;
    return x;
}

/* The plan's output for x, and its description. */
static lam_tensor *run_plan(lam_module *m, const lam_tensor *x, char **desc)
{
    lam_plan *p;
    OK(lam_plan_create(&p, m, lam_tensor_ndim(x), lam_tensor_shape(x)));
    int nd;
    int64_t shape[LAM_MAX_DIMS];
    OK(lam_plan_output_shape(p, &nd, shape));
    lam_tensor *y;
    OK(lam_tensor_create(&y, nd, shape));
    OK(lam_plan_run(p, x, y));
    *desc = lam_plan_describe(p);
    cr_assert(*desc != NULL, "%s", lam_last_error());
    lam_plan_free(p);
    return y;
}

/* The children one at a time: the unfused path. */
static lam_tensor *run_children(lam_module *seq, const lam_tensor *x)
{
    lam_tensor *h, *y;
    OK(lam_module_forward(lam_module_child_at(seq, 0, NULL), x, &h));
    OK(lam_module_forward(lam_module_child_at(seq, 1, NULL), h, &y));
    lam_tensor_release(h);
    return y;
}

static void expect_same_bits(const lam_tensor *a, const lam_tensor *b)
{
    cr_assert(lam_tensor_same_shape(a, b));
    cr_expect(memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                     sizeof(float) * (size_t)lam_tensor_numel(a)) == 0,
              "fused and unfused outputs differ");
}

/* y = act(x Wᵀ + b) in float64 from the module's parameters. */
static void expect_reference(lam_module *lin, const lam_tensor *x, const lam_tensor *y,
                             double (*act)(double))
{
    lam_state_dict *sd;
    OK(lam_module_state_dict(lin, &sd));
    const float *w = lam_tensor_cdata(lam_state_dict_get(sd, "weight"));
    const float *b = lam_tensor_cdata(lam_state_dict_get(sd, "bias"));
    int64_t rows = lam_tensor_shape(x)[0], K = lam_tensor_shape(x)[1], N = lam_tensor_shape(y)[1];
    const float *xd = lam_tensor_cdata(x), *yd = lam_tensor_cdata(y);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t n = 0; n < N; n++) {
            double acc = b[n];
            for (int64_t k = 0; k < K; k++)
                acc += (double)xd[r * K + k] * (double)w[n * K + k];
            double want = act(acc);
            cr_assert(fabs(yd[r * N + n] - want) <= 1e-5 + 1e-5 * fabs(want),
                      "y[%lld, %lld] = %.9g, want %.9g", (long long)r, (long long)n,
                      (double)yd[r * N + n], want);
        }
    lam_state_dict_free(sd);
}

static double silu(double v) { return v / (1.0 + exp(-v)); }
static double swish2(double v) { return v / (1.0 + exp(-2.0 * v)); }
static double relu(double v) { return v > 0 ? v : 0; }

Test(capabilities, plugin_activation_is_fused_into_the_linear_before_it)
{
    lam_kwarg lin_kw[] = {{NULL, LAM_INT(24)}, {NULL, LAM_INT(40)}};
    lam_module *seq = seq2(make("Linear", 2, lin_kw), make("Swish", 0, NULL));
    lam_tensor *x = input(64, 24);
    char *desc;
    lam_tensor *y = run_plan(seq, x, &desc);
    cr_expect(strstr(desc, "Linear+Swish") != NULL, "plan: %s", desc);
    lam_tensor *ref = run_children(seq, x);
    expect_same_bits(y, ref);
    expect_reference(lam_module_child_at(seq, 0, NULL), x, y, silu);
    lam_free(desc);
    lam_tensor_release(ref);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(seq);
}

Test(capabilities, plugin_activation_that_no_epilogue_computes_runs_on_its_own)
{
    lam_kwarg lin_kw[] = {{NULL, LAM_INT(24)}, {NULL, LAM_INT(40)}};
    lam_kwarg sw_kw[] = {{"beta", LAM_FLOAT(2.0)}};
    lam_module *seq = seq2(make("Linear", 2, lin_kw), make("Swish", 1, sw_kw));
    lam_tensor *x = input(64, 24);
    char *desc;
    lam_tensor *y = run_plan(seq, x, &desc);
    cr_expect(strstr(desc, "Linear, Swish") != NULL, "plan: %s", desc);
    expect_reference(lam_module_child_at(seq, 0, NULL), x, y, swish2);
    lam_free(desc);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(seq);
}

static lam_module *rows_linear(int64_t in, int64_t out)
{
    lam_kwarg kw[] = {{NULL, LAM_INT(in)}, {NULL, LAM_INT(out)}};
    lam_module *m = make("RowsLinear", 2, kw);
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    float *w = lam_tensor_data(lam_state_dict_get(sd, "weight"));
    float *b = lam_tensor_data(lam_state_dict_get(sd, "bias"));
    for (int64_t i = 0; i < in * out; i++)
        w[i] = (float)cos(0.11 * (double)i) / (float)in;
    for (int64_t i = 0; i < out; i++)
        b[i] = 0.01f * (float)(i % 7) - 0.03f;
    lam_state_dict_free(sd);
    return m;
}

Test(capabilities, plugin_layer_that_runs_rows_takes_a_builtin_activation)
{
    lam_module *relu_m;
    OK(lam_relu_create(&relu_m));
    lam_module *seq = seq2(rows_linear(32, 48), relu_m);
    lam_tensor *x = input(100, 32);
    char *desc;
    lam_tensor *y = run_plan(seq, x, &desc);
    cr_expect(strstr(desc, "RowsLinear+ReLU") != NULL, "plan: %s", desc);
    lam_tensor *ref = run_children(seq, x);
    expect_same_bits(y, ref);
    expect_reference(lam_module_child_at(seq, 0, NULL), x, y, relu);
    lam_free(desc);
    lam_tensor_release(ref);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(seq);
}

Test(capabilities, plugin_layer_is_split_over_columns_like_a_linear)
{
    /* 4 rows of a 256 -> 512 layer: too few rows for a batch split, enough
     * work (1 MFLOP by the plugin's own estimate) for two threads */
    lam_module *relu_m;
    OK(lam_relu_create(&relu_m));
    lam_module *seq = seq2(rows_linear(256, 512), relu_m);
    lam_tensor *x = input(4, 256);
    lam_set_num_threads(1);
    char *d1, *d2;
    lam_tensor *y1 = run_plan(seq, x, &d1);
    lam_set_num_threads(2);
    lam_tensor *y2 = run_plan(seq, x, &d2);
    lam_set_num_threads(0);
    cr_expect(strncmp(d1, "serial/1:", 9) == 0, "1 thread: %s", d1);
    cr_expect(strncmp(d2, "columns/2:", 10) == 0, "2 threads: %s", d2);
    cr_expect(strstr(d2, "RowsLinear+ReLU") != NULL, "plan: %s", d2);
    expect_same_bits(y1, y2);
    expect_reference(lam_module_child_at(seq, 0, NULL), x, y2, relu);
    lam_free(d1);
    lam_free(d2);
    lam_tensor_release(y1);
    lam_tensor_release(y2);
    lam_tensor_release(x);
    lam_module_release(seq);
}

Test(capabilities, describe_shows_builtin_fusion_and_custom_forwards)
{
    lam_module *l[4], *seq;
    OK(lam_linear_create(&l[0], 10, 50, true));
    OK(lam_relu_create(&l[1]));
    OK(lam_linear_create(&l[2], 50, 20, true));
    OK(lam_sigmoid_create(&l[3]));
    OK(lam_sequential_create(&seq, 4, l));
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    lam_tensor *x = input(8, 10);
    char *desc;
    lam_tensor *y = run_plan(seq, x, &desc);
    cr_expect(strcmp(desc, "serial/1: Linear+ReLU, Linear+Sigmoid") == 0, "plan: %s", desc);
    lam_free(desc);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(seq);
    cr_expect(lam_plan_describe(NULL) == NULL);
}

/* ---- folding (ABI 1.4): a per-channel affine layer folds into the layer
 * before it, built-in or plugin on either side ---- */

static lam_module *seq3(lam_module *a, lam_module *b, lam_module *c)
{
    lam_module *l[3] = {a, b, c}, *s;
    OK(lam_sequential_create(&s, 3, l));
    for (int i = 0; i < 3; i++)
        lam_module_release(l[i]);
    lam_module_eval(s);
    return s;
}

/* the state_dict tensor `key` of m (borrowed) */
static lam_tensor *param_of(lam_module *m, const char *key)
{
    lam_state_dict *sd;
    OK(lam_module_state_dict(m, &sd));
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert_not_null(t, "%s", key);
    lam_state_dict_free(sd);
    return t;
}

/* ChannelAffine's weight and bias (or a BatchNorm's affine terms in eval) */
static void set_channels(lam_module *norm, int64_t n, double phase)
{
    float *w = lam_tensor_data(param_of(norm, "weight"));
    float *b = lam_tensor_data(param_of(norm, "bias"));
    for (int64_t c = 0; c < n; c++) {
        w[c] = 0.5f + (float)fabs(sin(phase + 0.7 * (double)c));
        b[c] = 0.2f * (float)cos(phase + 1.3 * (double)c);
    }
}

/* y = act((x Wᵀ + b) * scale + shift) in float64, scale and shift from the
 * norm: ChannelAffine's weight and bias, or an eval BatchNorm1d's */
static void expect_folded(lam_module *lin, lam_module *norm, const lam_tensor *x,
                          const lam_tensor *y, double (*act)(double))
{
    lam_state_dict *sd;
    OK(lam_module_state_dict(lin, &sd));
    const float *w = lam_tensor_cdata(lam_state_dict_get(sd, "weight"));
    const float *b = lam_tensor_cdata(lam_state_dict_get(sd, "bias"));
    const float *nw = lam_tensor_cdata(param_of(norm, "weight"));
    const float *nb = lam_tensor_cdata(param_of(norm, "bias"));
    bool bn = strcmp(lam_module_type_name(norm), "BatchNorm1d") == 0;
    const float *rm = bn ? lam_tensor_cdata(param_of(norm, "running_mean")) : NULL;
    const float *rv = bn ? lam_tensor_cdata(param_of(norm, "running_var")) : NULL;
    int64_t rows = lam_tensor_shape(x)[0], K = lam_tensor_shape(x)[1], N = lam_tensor_shape(y)[1];
    const float *xd = lam_tensor_cdata(x), *yd = lam_tensor_cdata(y);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t n = 0; n < N; n++) {
            double acc = b[n];
            for (int64_t k = 0; k < K; k++)
                acc += (double)xd[r * K + k] * (double)w[n * K + k];
            double want = bn ? (acc - rm[n]) / sqrt((double)rv[n] + 1e-5) * nw[n] + nb[n]
                             : acc * nw[n] + nb[n];
            want = act(want);
            cr_assert(fabs(yd[r * N + n] - want) <= 1e-5 + 1e-5 * fabs(want),
                      "y[%lld, %lld] = %.9g, want %.9g", (long long)r, (long long)n,
                      (double)yd[r * N + n], want);
        }
    lam_state_dict_free(sd);
}

static double identity(double v) { return v; }

/* A plan of m for x, run; then the norm's terms change and the same plan
 * runs again (it refolds). */
static void check_fold(lam_module *seq, lam_module *norm, int64_t n, const char *want,
                       double (*act)(double))
{
    lam_tensor *x = input(37, 24);
    lam_plan *p;
    OK(lam_plan_create(&p, seq, 2, lam_tensor_shape(x)));
    char *d = lam_plan_describe(p);
    cr_expect(d && strstr(d, want) != NULL, "plan: %s (want %s)", d, want);
    lam_free(d);
    int64_t yshape[2] = {37, n};
    lam_tensor *y;
    OK(lam_tensor_create(&y, 2, yshape));
    OK(lam_plan_run(p, x, y));
    lam_module *lin = lam_module_child_at(seq, 0, NULL);
    expect_folded(lin, norm, x, y, act);
    set_channels(norm, n, 2.0);
    OK(lam_plan_run(p, x, y));
    expect_folded(lin, norm, x, y, act);
    lam_plan_free(p);
    lam_tensor_release(y);
    lam_tensor_release(x);
}

Test(capabilities, plugin_producer_folds_a_plugin_norm)
{
    lam_kwarg one[] = {{NULL, LAM_INT(16)}};
    lam_module *relu_m, *norm = make("ChannelAffine", 1, one);
    OK(lam_relu_create(&relu_m));
    set_channels(norm, 16, 0.0);
    lam_module *seq = seq3(rows_linear(24, 16), norm, relu_m);
    check_fold(seq, norm, 16, "RowsLinear+ChannelAffine+ReLU", relu);
    lam_module_release(seq);
}

Test(capabilities, builtin_linear_folds_a_plugin_norm)
{
    lam_kwarg lin_kw[] = {{NULL, LAM_INT(24)}, {NULL, LAM_INT(16)}};
    lam_kwarg one[] = {{NULL, LAM_INT(16)}};
    lam_module *norm = make("ChannelAffine", 1, one);
    set_channels(norm, 16, 0.0);
    lam_module *seq = seq2(make("Linear", 2, lin_kw), norm);
    check_fold(seq, norm, 16, "Linear+ChannelAffine", identity);
    lam_module_release(seq);
}

Test(capabilities, plugin_producer_folds_a_batchnorm)
{
    lam_module *norm;
    OK(lam_batch_norm1d_create(&norm, 16, 1e-5, 0.1, true, true));
    float *rm = lam_tensor_data(param_of(norm, "running_mean"));
    float *rv = lam_tensor_data(param_of(norm, "running_var"));
    for (int c = 0; c < 16; c++) {
        rm[c] = 0.1f * (float)(c % 5) - 0.2f;
        rv[c] = 0.5f + 0.1f * (float)(c % 3);
    }
    set_channels(norm, 16, 0.0);
    lam_module *seq = seq2(rows_linear(24, 16), norm);
    check_fold(seq, norm, 16, "RowsLinear+BatchNorm1d", identity);
    /* in training mode it is not folded */
    lam_module_train(seq, true);
    lam_tensor *x = input(37, 24);
    char *d;
    lam_tensor *y = run_plan(seq, x, &d);
    cr_expect(strstr(d, "+BatchNorm1d") == NULL, "plan: %s", d);
    lam_free(d);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(seq);
}

/* ---- sample blocks (ABI 1.7): a plugin layer declaring LAM_LAYER_PLANEWISE
 * or LAM_LAYER_SAMPLE_BLOCKS (or answering them through `capabilities`) runs
 * inside a convolution's sample blocks as the built-in activations and pools
 * do; one that does not declare them runs step by step.  Every plan gives the
 * bits of the step-by-step plan (LAMINA_SAMPLE_BLOCKS=0), of lam_module_forward
 * and of the children one by one, on 1, 2 and 3 threads, and is close to a
 * float64 computation of the same layers. ---- */

/* One layer of the float64 reference, on [N, C, H, W] (H = 1 for 1-d):
 * 'c' a convolution (weight [O, C, (kh,) kw] and bias from the state_dict,
 * stride 1, padding `pad` on the spatial dims), 's' softsign, 'w'
 * Swish(beta=k), 'm' PointMix,
 * 'p' max pooling with kernel and stride `k` on the spatial dims. */
struct ref_step {
    char kind;
    int k, pad;
};

static lam_tensor *sd_tensor(lam_state_dict *sd, size_t i, const char *what)
{
    char key[32];
    snprintf(key, sizeof key, "%zu.%s", i, what);
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert(t != NULL, "no %s in the state_dict", key);
    return t;
}

/* The reference output (malloc'd, out_numel doubles) for x through steps. */
static double *reference(lam_module *m, const lam_tensor *x, const struct ref_step *steps,
                         size_t n_steps, int64_t *out_numel)
{
    lam_state_dict *sd = NULL;
    OK(lam_module_state_dict(m, &sd));
    const int nd = lam_tensor_ndim(x);
    const int64_t *xs = lam_tensor_shape(x);
    int64_t N = xs[0], C = xs[1], H = nd == 4 ? xs[2] : 1, W = xs[nd - 1];
    double *a = malloc(sizeof(double) * (size_t)lam_tensor_numel(x));
    cr_assert(a);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        a[i] = lam_tensor_data((lam_tensor *)x)[i];
    for (size_t s = 0; s < n_steps; s++) {
        const struct ref_step *r = &steps[s];
        int64_t O = C, OH = H, OW = W;
        const float *w = NULL, *b = NULL;
        int64_t kh = 1, kw = 1, ph = 0, pw = r->pad;
        if (r->kind == 'c' || r->kind == 'm') {
            lam_tensor *wt = sd_tensor(sd, s, "weight");
            w = lam_tensor_data(wt);
            O = lam_tensor_shape(wt)[0];
            if (r->kind == 'c') {
                b = lam_tensor_data(sd_tensor(sd, s, "bias"));
                kw = r->k;
                kh = nd == 4 ? r->k : 1;
                ph = nd == 4 ? r->pad : 0;
                OH = H + 2 * ph - kh + 1;
                OW = W + 2 * pw - kw + 1;
            }
        } else if (r->kind == 'p') {
            OH = nd == 4 ? H / r->k : 1;
            OW = W / r->k;
        }
        double *o = malloc(sizeof(double) * (size_t)(N * O * OH * OW));
        cr_assert(o);
        for (int64_t n = 0; n < N; n++)
            for (int64_t c = 0; c < O; c++)
                for (int64_t y = 0; y < OH; y++)
                    for (int64_t z = 0; z < OW; z++) {
                        double v = 0.0;
                        if (r->kind == 'c') {
                            v = b[c];
                            for (int64_t i = 0; i < C; i++)
                                for (int64_t u = 0; u < kh; u++)
                                    for (int64_t t = 0; t < kw; t++) {
                                        int64_t iy = y + u - ph, iz = z + t - pw;
                                        if (iy >= 0 && iy < H && iz >= 0 && iz < W)
                                            v += (double)w[((c * C + i) * kh + u) * kw + t] *
                                                 a[((n * C + i) * H + iy) * W + iz];
                                    }
                        } else if (r->kind == 'm') {
                            for (int64_t i = 0; i < C; i++)
                                v += (double)w[c * C + i] * a[((n * C + i) * H + y) * W + z];
                        } else if (r->kind == 's') {
                            double e = a[((n * C + c) * H + y) * W + z];
                            v = e / (1.0 + fabs(e));
                        } else if (r->kind == 'w') { /* Swish(beta=k) */
                            double e = a[((n * C + c) * H + y) * W + z];
                            v = e / (1.0 + exp(-r->k * e));
                        } else {
                            int64_t ky = nd == 4 ? r->k : 1;
                            v = -INFINITY;
                            for (int64_t u = 0; u < ky; u++)
                                for (int64_t t = 0; t < r->k; t++) {
                                    double e = a[((n * C + c) * H + y * ky + u) * W + z * r->k + t];
                                    v = e > v ? e : v;
                                }
                        }
                        o[((n * O + c) * OH + y) * OW + z] = v;
                    }
        free(a);
        a = o;
        C = O;
        H = OH;
        W = OW;
    }
    lam_state_dict_free(sd);
    *out_numel = N * C * H * W;
    return a;
}

static bool same_bits(const lam_tensor *a, const lam_tensor *b)
{
    return a && b && lam_tensor_numel(a) == lam_tensor_numel(b) &&
           memcmp(lam_tensor_data((lam_tensor *)a), lam_tensor_data((lam_tensor *)b),
                  sizeof(float) * (size_t)lam_tensor_numel(a)) == 0;
}

/* Parses text, draws its parameters in [-0.5, 0.5], runs x of this shape
 * through it every way, checks the bits and the reference, and checks the
 * description of the plan with blocks on 1 thread against want (the text
 * after "strategy/n: "). */
static void check_blocks(const char *text, int ndim, const int64_t *shape,
                         const struct ref_step *steps, size_t n_steps, const char *want)
{
    lam_module *m = NULL;
    OK(lam_model_parse(text, strlen(text), "<case>", &m));
    lam_module_eval(m);
    lam_state_dict *sd = NULL;
    OK(lam_module_state_dict(m, &sd));
    unsigned seed = 5;
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        lam_tensor *t = lam_state_dict_get(sd, lam_state_dict_key(sd, i));
        float *d = lam_tensor_data(t);
        for (int64_t j = 0; j < lam_tensor_numel(t); j++) {
            seed = seed * 1103515245u + 12345u;
            d[j] = (float)((seed >> 9) % 1001) / 1000.0f - 0.5f;
        }
        lam_tensor_mark_modified(t);
    }
    lam_state_dict_free(sd);
    lam_tensor *x;
    OK(lam_tensor_create(&x, ndim, shape));
    float *xd = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        xd[i] = (float)sin(0.113 * (double)i) * 1.5f;

    /* the step-by-step plan on 1 thread */
    char *d = NULL;
    lam_set_num_threads(1);
    setenv("LAMINA_SAMPLE_BLOCKS", "0", 1);
    lam_tensor *ref = run_plan(m, x, &d);
    cr_expect(strchr(d, '{') == NULL, "LAMINA_SAMPLE_BLOCKS=0 plan: %s", d);
    lam_free(d);
    unsetenv("LAMINA_SAMPLE_BLOCKS");

    /* close to float64 */
    int64_t n_ref = 0;
    double *r = reference(m, x, steps, n_steps, &n_ref);
    cr_assert_eq(n_ref, lam_tensor_numel(ref));
    const float *rd = lam_tensor_data(ref);
    double worst = 0.0;
    for (int64_t i = 0; i < n_ref; i++) {
        double e = fabs(rd[i] - r[i]) / (1.0 + fabs(r[i]));
        worst = e > worst ? e : worst;
    }
    cr_expect(worst < 1e-5, "%s: off float64 by %g (relative)", text, worst);
    free(r);

    /* the children one by one */
    lam_tensor *h = x;
    lam_tensor_retain(h);
    for (size_t i = 0; i < lam_module_num_children(m); i++) {
        lam_tensor *next = NULL;
        OK(lam_module_forward(lam_module_child_at(m, i, NULL), h, &next));
        lam_tensor_release(h);
        h = next;
    }
    cr_expect(same_bits(ref, h), "%s: the children one by one differ", text);
    lam_tensor_release(h);

    /* (3 threads: planes of a block split across threads, in views that
     * cut a sample's channels, where the threads do not take whole blocks) */
    for (int threads = 1; threads <= 3; threads++) {
        lam_set_num_threads(threads);
        setenv("LAMINA_SAMPLE_BLOCKS", "0", 1);
        lam_tensor *y0 = run_plan(m, x, &d);
        cr_expect(same_bits(ref, y0), "%d threads: step-by-step plan %s differs", threads, d);
        lam_free(d);
        lam_tensor_release(y0);
        unsetenv("LAMINA_SAMPLE_BLOCKS");
        lam_tensor *y = run_plan(m, x, &d);
        cr_expect(same_bits(ref, y), "%d threads: plan %s differs", threads, d);
        if (threads == 1)
            cr_expect(strchr(d, ':') && strcmp(strchr(d, ':') + 2, want) == 0,
                      "plan %s, want ...: %s", d, want);
        else if (strchr(want, '{')) /* block sizes may follow the threads */
            cr_expect(strstr(d, "{blocks of ") != NULL, "2 threads: plan %s has no blocks", d);
        lam_free(d);
        lam_tensor_release(y);
        lam_tensor *y2 = NULL;
        OK(lam_module_forward(m, x, &y2));
        cr_expect(same_bits(ref, y2), "%d threads: lam_module_forward differs", threads);
        lam_tensor_release(y2);
    }
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_module_release(m);
}

#define CONV_ACT_CONV_POOL(act)                                                                    \
    "Sequential(\n"                                                                                \
    "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"                     \
    "  (1): " act "\n"                                                                             \
    "  (2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1))\n"                                     \
    "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"          \
    ")"
static const struct ref_step conv_act_conv_pool[] = {
    {'c', 3, 1}, {'s', 0, 0}, {'c', 3, 0}, {'p', 2, 0}};
static const int64_t img[4] = {16, 3, 30, 30};

Test(capabilities, planewise_plugin_activation_runs_in_the_convolutions_blocks)
{
    check_blocks(CONV_ACT_CONV_POOL("PlaneSoftsign()"), 4, img, conv_act_conv_pool, 4,
                 "{blocks of 8: Conv2d, PlaneSoftsign, Conv2d, MaxPool2d}");
    /* one sample a block (its intermediates exceed the block budget) */
    const int64_t big[4] = {2, 3, 120, 120};
    check_blocks(CONV_ACT_CONV_POOL("PlaneSoftsign()"), 4, big, conv_act_conv_pool, 4,
                 "{blocks of 1: Conv2d, PlaneSoftsign, Conv2d, MaxPool2d}");
}

/* The shipped Swish declares LAM_LAYER_PLANEWISE: with beta != 1 (no
 * epilogue computes it) it runs in the blocks. */
Test(capabilities, shipped_swish_runs_in_the_convolutions_blocks)
{
    static const struct ref_step steps[] = {{'c', 3, 1}, {'w', 2, 0}, {'c', 3, 0}, {'p', 2, 0}};
    check_blocks(CONV_ACT_CONV_POOL("Swish(beta=2)"), 4, img, steps, 4,
                 "{blocks of 8: Conv2d, Swish, Conv2d, MaxPool2d}");
    const int64_t big[4] = {2, 3, 120, 120}; /* planes split across 3 threads */
    check_blocks(CONV_ACT_CONV_POOL("Swish(beta=2)"), 4, big, steps, 4,
                 "{blocks of 1: Conv2d, Swish, Conv2d, MaxPool2d}");
}

Test(capabilities, plugin_activation_without_the_flag_runs_step_by_step)
{
    /* (the second convolution and the pool still make a block) */
    check_blocks(CONV_ACT_CONV_POOL("Softsign()"), 4, img, conv_act_conv_pool, 4,
                 "Conv2d, Softsign, {blocks of 8: Conv2d, MaxPool2d}");
}

Test(capabilities, capabilities_callback_answers_per_rank)
{
    check_blocks(CONV_ACT_CONV_POOL("RankSoftsign()"), 4, img, conv_act_conv_pool, 4,
                 "{blocks of 8: Conv2d, RankSoftsign, Conv2d, MaxPool2d}");
    /* plane-wise for 4-d inputs only: not in a 1-d block */
    static const struct ref_step steps[] = {{'c', 3, 1}, {'s', 0, 0}, {'p', 2, 0}};
    const int64_t shape[3] = {16, 3, 1000};
    static const char text[] =
        "Sequential(\n"
        "  (0): Conv1d(3, 8, kernel_size=(3,), stride=(1,), padding=(1,))\n"
        "  (1): RankSoftsign()\n"
        "  (2): MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        ")";
    check_blocks(text, 3, shape, steps, 3, "Conv1d, RankSoftsign, MaxPool1d");
    static const char plane[] =
        "Sequential(\n"
        "  (0): Conv1d(3, 8, kernel_size=(3,), stride=(1,), padding=(1,))\n"
        "  (1): PlaneSoftsign()\n"
        "  (2): MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        ")";
    check_blocks(plane, 3, shape, steps, 3,
                 "{blocks of 8: Conv1d, PlaneSoftsign, MaxPool1d}");
}

Test(capabilities, sample_blocks_plugin_layer_starts_a_block)
{
    static const struct ref_step steps[] = {{'m', 0, 0}, {'s', 0, 0}, {'p', 2, 0}};
    static const char text[] = "Sequential(\n"
                               "  (0): PointMix(3, 8)\n"
                               "  (1): PlaneSoftsign()\n"
                               "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                               "ceil_mode=False)\n"
                               ")";
    check_blocks(text, 4, img, steps, 3, "{blocks of 8: PointMix, PlaneSoftsign, MaxPool2d}");
}
