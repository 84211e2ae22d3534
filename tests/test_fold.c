/* Plans fold an eval-mode BatchNorm into the Conv/Linear before it (through
 * the layer capabilities channel_affine / affine_axis / fold_affine), then
 * fuse the activation after the norm into the epilogue.  Against PyTorch
 * 1.13 in float64 (tests/fixtures/fold, tools/gen-fixtures.py's gen_fold).
 *
 * Tolerance: folding changes rounding (the weights are scaled and rounded
 * once, the norm's multiply-add disappears), so a folded output is not the
 * unfolded one bit for bit.  Both stay within
 *     |got - expected| <= FOLD_ATOL + FOLD_RTOL * |expected|
 * of PyTorch's float64 forward, FOLD_ATOL = 1e-5, FOLD_RTOL = 1e-5 (the
 * outputs here are O(1); a convolution's sum of K products rounds to
 * about K * 2^-24 of the sum of their magnitudes, and the norm's shift
 * cancels most of it).  Training mode uses batch statistics and is not
 * folded; it is held to the same tolerance (a norm over a batch of 4
 * divides by a small standard deviation, which magnifies the float32
 * rounding of the layers before it). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <string.h>

#include "fixture.h"

#define FOLD_ATOL 1e-5
#define FOLD_RTOL 1e-5

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    lam_status st = lam_model_parse(text, strlen(text), "<repr>", &m);
    cr_assert_eq(st, LAM_OK, "parse: %s", lam_last_error());
    return m;
}

static bool close_to(const lam_tensor *got, const fx_tensor *want, double atol, double rtol,
                     const char *what)
{
    cr_assert_not_null(want, "%s: missing in the fixture", what);
    if (lam_tensor_numel(got) != want->numel) {
        cr_expect(false, "%s: %lld elements, expected %lld", what, (long long)lam_tensor_numel(got),
                  (long long)want->numel);
        return false;
    }
    const float *g = lam_tensor_cdata(got);
    for (int64_t i = 0; i < want->numel; i++) {
        double e = want->data[i], d = fabs((double)g[i] - e);
        if (!(d <= atol + rtol * fabs(e))) {
            cr_expect(false, "%s[%lld] = %.9g, expected %.9g (tolerance %.3g)", what, (long long)i,
                      g[i], e, atol + rtol * fabs(e));
            return false;
        }
    }
    return true;
}

/* m's state_dict tensor `key` takes `value` (lam_tensor_copy: its version moves) */
static void set_tensor(lam_module *m, const char *key, const fx_tensor *value)
{
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK);
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert_not_null(t, "%s", key);
    lam_tensor *v = NULL;
    cr_assert_eq(lam_tensor_create(&v, value->ndim, value->shape), LAM_OK);
    memcpy(lam_tensor_data(v), value->data, (size_t)value->numel * sizeof(float));
    cr_assert_eq(lam_tensor_copy(t, v), LAM_OK, "%s", lam_last_error());
    lam_tensor_release(v);
    lam_state_dict_free(sd);
}

struct fold_case {
    char file[32];
    char steps[160]; /* what lam_plan_describe shows after "serial/1: " */
};

ParameterizedTestParameters(fold, matches_pytorch)
{
    static struct fold_case cases[] = {
        {"conv2d_bn_relu", "Conv2d+BatchNorm2d+ReLU"},
        {"conv2d_nobias_bn_relu6", "Conv2d+BatchNorm2d+ReLU6"},
        {"conv2d_bn_noaffine", "Conv2d+BatchNorm2d+ReLU"},
        {"conv2d_depthwise_bn", "Conv2d+BatchNorm2d+ReLU"},
        {"conv2d_groups_bn", "Conv2d+BatchNorm2d"},
        {"conv1d_bn1d", "Conv1d+BatchNorm1d+LeakyReLU"},
        {"convt2d_bn", "ConvTranspose2d+BatchNorm2d+ReLU"},
        {"linear_bn1d", "Linear+BatchNorm1d"},
        {"linear_nobias_bn1d_relu", "Linear+BatchNorm1d+ReLU"},
        /* not folded: BatchNorm1d's channels (dim 1) are not the Linear's
         * features (the last dim); a ReLU between the conv and the norm */
        {"linear3d_bn1d", "Linear, BatchNorm1d"},
        {"conv_relu_bn", "Conv2d+ReLU, BatchNorm2d"},
        {"vgg_block", "Conv2d+BatchNorm2d+ReLU, MaxPool2d, Conv2d+BatchNorm2d+ReLU, "
                      "AdaptiveAvgPool2d, Flatten, Linear+BatchNorm1d"},
    };
    return cr_make_param_array(struct fold_case, cases, sizeof cases / sizeof cases[0]);
}

/* Planned (public plan and lam_module_forward's cached one), the folded
 * model gives PyTorch's numbers; after a running_mean and then the
 * producer's weight change, the same plans give the new numbers; in
 * training mode nothing is folded. */
ParameterizedTest(struct fold_case *c, fold, matches_pytorch)
{
    char path[64], what[128];
    snprintf(path, sizeof path, "fold/%s.txt", c->file);
    fx_file *fx = FX_OPEN(path);
    lam_module *m = parse(fx_text(fx, "repr"));
    lam_state_dict *sd = fx_state_dict(fx);
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, NULL));
    lam_state_dict_free(sd);
    lam_module_eval(m);
    lam_set_num_threads(1);

    lam_tensor *x = fx_lam_tensor(fx, "input");
    cr_assert_not_null(x);
    lam_plan *p = NULL;
    ASSERT_OK(lam_plan_create(&p, m, lam_tensor_ndim(x), lam_tensor_shape(x)));
    char *d = lam_plan_describe(p);
    cr_assert_not_null(d);
    char want[192];
    snprintf(want, sizeof want, "serial/1: %s", c->steps);
    cr_expect_str_eq(d, want, "%s", c->file);
    lam_free(d);
    int ond;
    int64_t oshape[LAM_MAX_DIMS];
    ASSERT_OK(lam_plan_output_shape(p, &ond, oshape));
    lam_tensor *y = NULL, *y2 = NULL;
    ASSERT_OK(lam_tensor_create(&y, ond, oshape));

    static const char *const outs[] = {"output", "output_changed", "output_changed2"};
    static const char *const keys[] = {NULL, "changed_key", "changed2_key"};
    static const char *const values[] = {NULL, "changed_value", "changed2_value"};
    for (int k = 0; k < 3; k++) {
        if (keys[k]) /* after the plans ran: they refold */
            set_tensor(m, fx_text(fx, keys[k]), fx_get_tensor(fx, values[k]));
        ASSERT_OK(lam_plan_run(p, x, y));
        snprintf(what, sizeof what, "%s plan %s", c->file, outs[k]);
        close_to(y, fx_get_tensor(fx, outs[k]), FOLD_ATOL, FOLD_RTOL, what);
        ASSERT_OK(lam_module_forward(m, x, &y2));
        snprintf(what, sizeof what, "%s forward %s", c->file, outs[k]);
        close_to(y2, fx_get_tensor(fx, outs[k]), FOLD_ATOL, FOLD_RTOL, what);
        cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(y2),
                         (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                  "%s: the public plan and the cached one differ", c->file);
        lam_tensor_release(y2);
        y2 = NULL;
    }

    /* 2 threads: the same bits */
    lam_set_num_threads(2);
    lam_plan *p2 = NULL;
    ASSERT_OK(lam_plan_create(&p2, m, lam_tensor_ndim(x), lam_tensor_shape(x)));
    ASSERT_OK(lam_tensor_create(&y2, ond, oshape));
    ASSERT_OK(lam_plan_run(p2, x, y2));
    cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(y2),
                     (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
              "%s: 1 and 2 threads differ", c->file);
    lam_plan_free(p2);
    lam_tensor_release(y2);
    y2 = NULL;
    lam_set_num_threads(1);

    /* training mode: the plan is stale; a new one folds nothing and uses
     * batch statistics */
    lam_module_train(m, true);
    cr_expect_eq(lam_plan_run(p, x, y), LAM_ERR_RUNTIME);
    lam_plan_free(p);
    ASSERT_OK(lam_plan_create(&p, m, lam_tensor_ndim(x), lam_tensor_shape(x)));
    d = lam_plan_describe(p);
    cr_assert_not_null(d);
    cr_expect(strstr(d, "+BatchNorm") == NULL, "%s in training mode: %s", c->file, d);
    lam_free(d);
    ASSERT_OK(lam_plan_run(p, x, y));
    snprintf(what, sizeof what, "%s training", c->file);
    close_to(y, fx_get_tensor(fx, "output_train"), FOLD_ATOL, FOLD_RTOL, what);

    lam_plan_free(p);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}

/* A parameter replaced (register_parameter) after a plan ran is folded in
 * at the next run too. */
Test(fold, replaced_norm_weight_is_refolded)
{
    fx_file *fx = FX_OPEN("fold/conv2d_bn_relu.txt");
    lam_module *m = parse(fx_text(fx, "repr"));
    lam_state_dict *sd = fx_state_dict(fx);
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, NULL));
    lam_state_dict_free(sd);
    lam_tensor *x = fx_lam_tensor(fx, "input"), *y = NULL, *y2 = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y));
    /* BatchNorm2d's weight doubled, as a new tensor: every output doubles
     * before the ReLU, the shift stays (so compare with the layers run one
     * by one) */
    lam_module *bn = lam_module_child(m, "1");
    cr_assert_not_null(bn);
    lam_tensor *w = NULL;
    int64_t n = 8;
    ASSERT_OK(lam_tensor_create(&w, 1, &n));
    lam_state_dict *own = NULL;
    ASSERT_OK(lam_module_state_dict(bn, &own));
    const float *old = lam_tensor_cdata(lam_state_dict_get(own, "weight"));
    for (int i = 0; i < 8; i++)
        lam_tensor_data(w)[i] = 2.0f * old[i];
    lam_state_dict_free(own);
    ASSERT_OK(lam_module_register_parameter(bn, "weight", w));
    lam_tensor_release(w);
    ASSERT_OK(lam_module_forward(m, x, &y2));
    /* the layers one by one (nothing folded) */
    lam_tensor *a = NULL, *b = NULL, *r = NULL;
    ASSERT_OK(lam_module_forward(lam_module_child(m, "0"), x, &a));
    ASSERT_OK(lam_module_forward(bn, a, &b));
    ASSERT_OK(lam_module_forward(lam_module_child(m, "2"), b, &r));
    const float *g = lam_tensor_cdata(y2), *e = lam_tensor_cdata(r);
    for (int64_t i = 0; i < lam_tensor_numel(r); i++)
        cr_assert(fabsf(g[i] - e[i]) <= 1e-5f + 1e-5f * fabsf(e[i]), "[%lld] %g vs %g", (long long)i,
                  g[i], e[i]);
    cr_expect(memcmp(lam_tensor_cdata(y), g, (size_t)lam_tensor_numel(r) * sizeof(float)) != 0);
    lam_tensor_release(a);
    lam_tensor_release(b);
    lam_tensor_release(r);
    lam_tensor_release(y);
    lam_tensor_release(y2);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}
