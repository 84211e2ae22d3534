/* Built-in layers against PyTorch 1.13 (fixtures from tools/gen-fixtures.py).
 *
 * Tolerance for every output: |got - expected| <= 1e-6 + 1e-5 * |expected|
 * (FX_ATOL/FX_RTOL in fixture.h).  Reprs and parameter names: byte for byte.
 *
 * Per layer case: repr, parameter names and state_dict keys, loading the
 * fixture's weights, forward output vs PyTorch, the input left untouched,
 * output_shape agreeing with forward, and a second forward (planned path)
 * giving bit-identical output.  Then: PyTorch-style init, constructor
 * validation, wrong input shapes, dropout in training mode. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

enum kind {
    K_LINEAR, K_IDENTITY, K_RELU, K_LEAKY, K_RELU6, K_ELU, K_SIGMOID, K_TANH, K_GELU, K_SILU,
    K_SOFTPLUS, K_SOFTMAX, K_LOGSOFTMAX, K_LAYERNORM, K_DROPOUT, K_FLATTEN
};

/* Plain arrays only: Criterion copies parameters into the test process. */
struct layer_case {
    char file[40];
    enum kind kind;
    int64_t i, j;       /* in/out features, softmax dim, flatten start/end */
    double a, b;        /* slope, alpha, beta/threshold, eps, p */
    bool flag;          /* Linear bias, LayerNorm elementwise_affine */
    int nd;             /* LayerNorm normalized_shape */
    int64_t shape[2];
    char str[8];        /* GELU approximate */
};

static lam_status make_layer(const struct layer_case *c, lam_module **m)
{
    switch (c->kind) {
    case K_LINEAR: return lam_linear_create(m, c->i, c->j, c->flag);
    case K_IDENTITY: return lam_identity_create(m);
    case K_RELU: return lam_relu_create(m);
    case K_LEAKY: return lam_leaky_relu_create(m, c->a);
    case K_RELU6: return lam_relu6_create(m);
    case K_ELU: return lam_elu_create(m, c->a);
    case K_SIGMOID: return lam_sigmoid_create(m);
    case K_TANH: return lam_tanh_create(m);
    case K_GELU: return lam_gelu_create(m, c->str);
    case K_SILU: return lam_silu_create(m);
    case K_SOFTPLUS: return lam_softplus_create(m, c->a, c->b);
    case K_SOFTMAX: return lam_softmax_create(m, (int)c->i);
    case K_LOGSOFTMAX: return lam_log_softmax_create(m, (int)c->i);
    case K_LAYERNORM: return lam_layer_norm_create(m, c->nd, c->shape, c->a, c->flag);
    case K_DROPOUT: return lam_dropout_create(m, c->a);
    case K_FLATTEN: return lam_flatten_create(m, (int)c->i, (int)c->j);
    }
    return LAM_ERR_INVALID_ARGUMENT;
}

#define LIN(f, bias, in, out) { .file = f, .kind = K_LINEAR, .i = in, .j = out, .flag = bias }
#define ACT(f, k) { .file = f, .kind = k }
#define ACT_A(f, k, x) { .file = f, .kind = k, .a = x }
#define SM(f, k, d) { .file = f, .kind = k, .i = d }
#define LN(f, n, s0, s1, e, aff) { .file = f, .kind = K_LAYERNORM, .nd = n, .shape = { s0, s1 }, .a = e, .flag = aff }
#define FL(f, s, e) { .file = f, .kind = K_FLATTEN, .i = s, .j = e }

ParameterizedTestParameters(layers, matches_pytorch)
{
    static struct layer_case cases[] = {
        LIN("linear_bias_1d", true, 6, 4), LIN("linear_bias_2d", true, 6, 4),
        LIN("linear_bias_3d", true, 6, 4), LIN("linear_bias_4d", true, 6, 4),
        LIN("linear_nobias_1d", false, 6, 4), LIN("linear_nobias_2d", false, 6, 4),
        LIN("linear_nobias_3d", false, 6, 4), LIN("linear_nobias_4d", false, 6, 4),
        LIN("linear_bias_big_3d", true, 67, 45), LIN("linear_nobias_big_2d", false, 37, 19),
        ACT("identity", K_IDENTITY), ACT("relu", K_RELU),
        ACT_A("leaky_relu_default", K_LEAKY, 0.01), ACT_A("leaky_relu_0.2", K_LEAKY, 0.2),
        ACT("relu6", K_RELU6), ACT_A("elu_1.0", K_ELU, 1.0), ACT_A("elu_0.5", K_ELU, 0.5),
        ACT("sigmoid", K_SIGMOID), ACT("tanh", K_TANH),
        { .file = "gelu_none", .kind = K_GELU, .str = "none" },
        { .file = "gelu_tanh", .kind = K_GELU, .str = "tanh" },
        ACT("silu", K_SILU),
        { .file = "softplus_default", .kind = K_SOFTPLUS, .a = 1, .b = 20 },
        { .file = "softplus_b2_t5", .kind = K_SOFTPLUS, .a = 2, .b = 5 },
        SM("softmax_2d_dim0", K_SOFTMAX, 0), SM("softmax_2d_dim1", K_SOFTMAX, 1),
        SM("softmax_2d_dim-1", K_SOFTMAX, -1), SM("softmax_3d_dim0", K_SOFTMAX, 0),
        SM("softmax_3d_dim1", K_SOFTMAX, 1), SM("softmax_3d_dim2", K_SOFTMAX, 2),
        SM("softmax_3d_dim-1", K_SOFTMAX, -1), SM("softmax_4d_dim0", K_SOFTMAX, 0),
        SM("softmax_4d_dim1", K_SOFTMAX, 1), SM("softmax_4d_dim-1", K_SOFTMAX, -1),
        SM("softmax_long_rows", K_SOFTMAX, -1), SM("softmax_long_cols", K_SOFTMAX, 0),
        SM("log_softmax_long_rows", K_LOGSOFTMAX, -1), SM("log_softmax_long_cols", K_LOGSOFTMAX, 0),
        SM("softmax_large", K_SOFTMAX, 1), SM("softmax_dimnone_1d", K_SOFTMAX, LAM_DIM_NONE),
        SM("softmax_dimnone_2d", K_SOFTMAX, LAM_DIM_NONE),
        SM("softmax_dimnone_3d", K_SOFTMAX, LAM_DIM_NONE),
        SM("softmax_dimnone_4d", K_SOFTMAX, LAM_DIM_NONE),
        SM("log_softmax_2d_dim0", K_LOGSOFTMAX, 0), SM("log_softmax_2d_dim1", K_LOGSOFTMAX, 1),
        SM("log_softmax_2d_dim-1", K_LOGSOFTMAX, -1), SM("log_softmax_3d_dim0", K_LOGSOFTMAX, 0),
        SM("log_softmax_3d_dim1", K_LOGSOFTMAX, 1), SM("log_softmax_3d_dim2", K_LOGSOFTMAX, 2),
        SM("log_softmax_3d_dim-1", K_LOGSOFTMAX, -1), SM("log_softmax_4d_dim0", K_LOGSOFTMAX, 0),
        SM("log_softmax_4d_dim1", K_LOGSOFTMAX, 1), SM("log_softmax_4d_dim-1", K_LOGSOFTMAX, -1),
        SM("log_softmax_large", K_LOGSOFTMAX, 1),
        SM("log_softmax_dimnone_1d", K_LOGSOFTMAX, LAM_DIM_NONE),
        SM("log_softmax_dimnone_2d", K_LOGSOFTMAX, LAM_DIM_NONE),
        SM("log_softmax_dimnone_3d", K_LOGSOFTMAX, LAM_DIM_NONE),
        SM("log_softmax_dimnone_4d", K_LOGSOFTMAX, LAM_DIM_NONE),
        LN("layer_norm_f", 1, 8, 0, 1e-5, true), LN("layer_norm_f_init", 1, 8, 0, 1e-5, true),
        LN("layer_norm_f_3d", 1, 8, 0, 1e-5, true), LN("layer_norm_long", 1, 77, 0, 1e-5, true), LN("layer_norm_cf", 2, 4, 5, 1e-5, true),
        LN("layer_norm_cf_eps", 2, 4, 5, 1e-3, true),
        LN("layer_norm_noaffine", 1, 8, 0, 1e-5, false),
        LN("layer_norm_noaffine_eps", 2, 4, 5, 0.1, false),
        ACT_A("dropout_eval", K_DROPOUT, 0.5), ACT_A("dropout_eval_0.2", K_DROPOUT, 0.2),
        FL("flatten_default", 1, -1), FL("flatten_0_-1", 0, -1), FL("flatten_1_2", 1, 2),
        FL("flatten_2_3", 2, 3), FL("flatten_-3_-2", -3, -2), FL("flatten_default_2d", 1, -1),
    };
    return cr_make_param_array(struct layer_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct layer_case *c, layers, matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "layers/%s.txt", c->file);
    fx_file *fx = FX_OPEN(path);

    lam_manual_seed(0);
    lam_module *m = NULL;
    ASSERT_OK(make_layer(c, &m));
    cr_assert_not_null(m);

    char *repr = lam_module_repr(m);
    EXPECT_STR_EQ(repr, fx_text(fx, "repr"), c->file);
    lam_free(repr);

    lam_state_dict *names = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &names));
    cr_expect(fx_keys_equal(names, fx, "params", msg, sizeof msg), "%s: %s", c->file, msg);
    lam_state_dict_free(names);

    /* state_dict keys are the fixture's "sd:" tensors, in order */
    lam_state_dict *mine = NULL, *theirs = fx_state_dict(fx);
    cr_assert_not_null(theirs);
    ASSERT_OK(lam_module_state_dict(m, &mine));
    cr_expect_eq(lam_state_dict_len(mine), lam_state_dict_len(theirs), "%s: state_dict size", c->file);
    for (size_t k = 0; k < lam_state_dict_len(mine) && k < lam_state_dict_len(theirs); k++)
        EXPECT_STR_EQ(lam_state_dict_key(mine, k), lam_state_dict_key(theirs, k), c->file);
    lam_state_dict_free(mine);
    ASSERT_OK(lam_module_load_state_dict(m, theirs, true, NULL));
    lam_state_dict_free(theirs);

    lam_module_eval(m);
    lam_tensor *x = fx_lam_tensor(fx, "input");
    cr_assert_not_null(x);
    lam_tensor *x_copy = NULL;
    ASSERT_OK(lam_tensor_clone(&x_copy, x));

    lam_tensor *y = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(fx_tensor_close(y, fx_get_tensor(fx, "output"), msg, sizeof msg), "%s: %s", c->file, msg);
    cr_expect(memcmp(lam_tensor_cdata(x), lam_tensor_cdata(x_copy),
                     (size_t)lam_tensor_numel(x) * sizeof(float)) == 0,
              "%s: forward modified its input", c->file);

    /* the shape inference agrees with forward */
    int ond = 0;
    int64_t oshape[LAM_MAX_DIMS] = { 0 };
    ASSERT_OK(lam_module_output_shape(m, lam_tensor_ndim(x), lam_tensor_shape(x), &ond, oshape));
    cr_expect_eq(ond, lam_tensor_ndim(y), "%s: output_shape ndim %d, forward gave %d", c->file, ond,
                 lam_tensor_ndim(y));
    for (int d = 0; d < ond && d < lam_tensor_ndim(y); d++)
        cr_expect_eq(oshape[d], lam_tensor_shape(y)[d], "%s: output_shape dim %d", c->file, d);

    /* the second call (planned) is bit-identical */
    lam_tensor *y2 = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y2));
    cr_expect(lam_tensor_same_shape(y, y2) &&
                  memcmp(lam_tensor_cdata(y), lam_tensor_cdata(y2),
                         (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
              "%s: second forward differs from the first", c->file);

    lam_tensor_release(y2);
    lam_tensor_release(y);
    lam_tensor_release(x_copy);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}

/* ---- reprs of argument values (Python's float repr) ----------------------- */

Test(layers, reprs_of_arguments)
{
    /* same order as gen-fixtures.py's reprs.txt */
    static const struct layer_case cases[] = {
        ACT_A("r0", K_LEAKY, 0.0001), ACT_A("r1", K_LEAKY, 0.00001), ACT_A("r2", K_LEAKY, 0.1 + 0.2),
        ACT_A("r3", K_ELU, 1e16), ACT_A("r4", K_ELU, 123456789.0), ACT_A("r5", K_ELU, 2.0),
        ACT_A("r6", K_ELU, -0.5),
        { .file = "r7", .kind = K_SOFTPLUS, .a = 0.5, .b = 20 },
        { .file = "r8", .kind = K_SOFTPLUS, .a = 1, .b = 7.5 },
        ACT_A("r9", K_DROPOUT, 0.1), ACT_A("r10", K_DROPOUT, 1.0), ACT_A("r11", K_DROPOUT, 0.0),
        LN("r12", 1, 3, 0, 1e-12, true),
        LIN("r15", false, 7, 5), FL("r16", 0, 2),
        SM("r17", K_SOFTMAX, -2), SM("r18", K_LOGSOFTMAX, 3),
    };
    fx_file *fx = FX_OPEN("layers/reprs.txt");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lam_module *m = NULL;
        lam_status st = make_layer(&cases[i], &m);
        cr_expect_eq(st, LAM_OK, "%s (%s): %s", cases[i].file, fx_text(fx, cases[i].file),
                     lam_last_error());
        if (st != LAM_OK)
            continue;
        char *r = lam_module_repr(m);
        EXPECT_STR_EQ(r, fx_text(fx, cases[i].file), cases[i].file);
        lam_free(r);
        lam_module_release(m);
    }
    /* LayerNorm((2, 3, 4)) */
    lam_module *m = NULL;
    ASSERT_OK(lam_layer_norm_create(&m, 3, (int64_t[]){ 2, 3, 4 }, 1e-5, true));
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, fx_text(fx, "r13"), "r13");
    lam_free(r);
    lam_module_release(m);
    fx_close(fx);
}

/* ---- empty batches --------------------------------------------------------- */

Test(layers, zero_sized_batch)
{
    /* PyTorch maps a [0, 6] batch through Linear(6, 4) to [0, 4] */
    lam_module *m = NULL;
    ASSERT_OK(lam_linear_create(&m, 6, 4, true));
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 0, 6 }));
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(lam_tensor_ndim(y) == 2 && lam_tensor_dim(y, 0) == 0 && lam_tensor_dim(y, 1) == 4,
              "Linear(6, 4) on [0, 6]");
    lam_tensor_release(y);
    lam_module_release(m);
    ASSERT_OK(lam_softmax_create(&m, 1));
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(lam_tensor_same_shape(x, y), "Softmax(dim=1) on [0, 6]");
    lam_tensor_release(y);
    lam_module_release(m);
    lam_tensor_release(x);
}

Test(layers, linear_zero_out_features)
{
    /* PyTorch accepts Linear(3, 0) (an empty weight) and maps [2, 3] to [2, 0] */
    fx_file *fx = FX_OPEN("layers/reprs.txt");
    lam_module *m = NULL;
    ASSERT_OK(lam_linear_create(&m, 3, 0, true));
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, fx_text(fx, "r14"), "Linear(3, 0)");
    lam_free(r);
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 2, 3 }));
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(lam_tensor_ndim(y) == 2 && lam_tensor_dim(y, 0) == 2 && lam_tensor_dim(y, 1) == 0);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}

/* ---- PyTorch-style initialisation ---------------------------------------- */

static void linear_params(lam_module *m, const float **w, int64_t *nw, const float **b, int64_t *nb)
{
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    lam_tensor *tw = lam_state_dict_get(sd, "weight"), *tb = lam_state_dict_get(sd, "bias");
    cr_assert(tw && tb, "Linear state_dict lacks weight/bias");
    /* the dict holds the module's own tensors: the pointers stay valid while m lives */
    *w = lam_tensor_cdata(tw);
    *nw = lam_tensor_numel(tw);
    *b = lam_tensor_cdata(tb);
    *nb = lam_tensor_numel(tb);
    lam_state_dict_free(sd);
}

Test(layers, linear_init_uniform_within_bound)
{
    const int64_t in = 50, out = 20;
    const double bound = 1.0 / sqrt((double)in);
    lam_manual_seed(1234);
    lam_module *m = NULL;
    ASSERT_OK(lam_linear_create(&m, in, out, true));
    const float *w, *b;
    int64_t nw, nb;
    linear_params(m, &w, &nw, &b, &nb);
    cr_assert_eq(nw, in * out);
    cr_assert_eq(nb, out);
    double lo = 1, hi = -1, sum = 0;
    for (int64_t i = 0; i < nw; i++) {
        cr_expect(fabs(w[i]) <= bound, "weight[%lld] = %g outside +-%g", (long long)i, w[i], bound);
        lo = fmin(lo, w[i]);
        hi = fmax(hi, w[i]);
        sum += w[i];
    }
    /* 1000 uniform draws: the extremes come close to the bound, the mean near 0 */
    cr_expect(lo < -0.9 * bound && hi > 0.9 * bound, "weights span [%g, %g], bound %g", lo, hi, bound);
    cr_expect(fabs(sum / (double)nw) < 0.1 * bound, "weight mean %g", sum / (double)nw);
    int distinct_b = 0;
    for (int64_t i = 0; i < nb; i++) {
        cr_expect(fabs(b[i]) <= bound, "bias[%lld] = %g outside +-%g", (long long)i, b[i], bound);
        distinct_b += i > 0 && b[i] != b[i - 1];
    }
    cr_expect(distinct_b > 0, "bias is constant");
    lam_module_release(m);
}

Test(layers, linear_init_same_seed_same_weights)
{
    lam_module *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
    lam_manual_seed(7);
    ASSERT_OK(lam_linear_create(&m1, 10, 50, true));
    ASSERT_OK(lam_linear_create(&m3, 10, 50, true)); /* generator has advanced */
    lam_manual_seed(7);
    ASSERT_OK(lam_linear_create(&m2, 10, 50, true));
    lam_manual_seed(8);
    ASSERT_OK(lam_linear_create(&m4, 10, 50, true));
    const float *w1, *b1, *w2, *b2, *w3, *b3, *w4, *b4;
    int64_t nw, nb;
    linear_params(m1, &w1, &nw, &b1, &nb);
    linear_params(m2, &w2, &nw, &b2, &nb);
    linear_params(m3, &w3, &nw, &b3, &nb);
    linear_params(m4, &w4, &nw, &b4, &nb);
    cr_expect(memcmp(w1, w2, (size_t)nw * sizeof(float)) == 0, "same seed, different weights");
    cr_expect(memcmp(b1, b2, (size_t)nb * sizeof(float)) == 0, "same seed, different biases");
    cr_expect(memcmp(w1, w3, (size_t)nw * sizeof(float)) != 0, "second Linear repeats the first");
    cr_expect(memcmp(w1, w4, (size_t)nw * sizeof(float)) != 0, "seeds 7 and 8 give the same weights");
    lam_module_release(m1);
    lam_module_release(m2);
    lam_module_release(m3);
    lam_module_release(m4);
}

Test(layers, layer_norm_init_ones_zeros)
{
    lam_module *m = NULL;
    const int64_t shape[2] = { 3, 4 };
    ASSERT_OK(lam_layer_norm_create(&m, 2, shape, 1e-5, true));
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    lam_tensor *w = lam_state_dict_get(sd, "weight"), *b = lam_state_dict_get(sd, "bias");
    cr_assert(w && b);
    cr_expect_eq(lam_tensor_ndim(w), 2);
    cr_expect(lam_tensor_dim(w, 0) == 3 && lam_tensor_dim(w, 1) == 4);
    for (int64_t i = 0; i < 12; i++) {
        cr_expect_eq(lam_tensor_cdata(w)[i], 1.0f);
        cr_expect_eq(lam_tensor_cdata(b)[i], 0.0f);
    }
    lam_state_dict_free(sd);
    lam_module_release(m);
}

/* ---- constructor arguments ------------------------------------------------ */

Test(layers, constructor_validation)
{
    lam_module *m = NULL;
    cr_expect_neq(lam_linear_create(&m, -1, 4, true), LAM_OK, "Linear(-1, 4)");
    cr_expect_null(m);
    cr_expect_neq(lam_linear_create(&m, 4, -2, true), LAM_OK, "Linear(4, -2)");
    cr_expect_null(m);
    cr_expect_eq(lam_linear_create(NULL, 4, 2, true), LAM_ERR_INVALID_ARGUMENT, "NULL out");

    EXPECT_FAIL(lam_dropout_create(&m, -0.1), LAM_ERR_INVALID_ARGUMENT,
                "dropout probability has to be between 0 and 1, but got ");
    cr_expect_null(m);
    EXPECT_FAIL(lam_dropout_create(&m, 1.5), LAM_ERR_INVALID_ARGUMENT,
                "dropout probability has to be between 0 and 1, but got 1.5");
    cr_expect_null(m);

    int64_t bad_shape[1] = { -3 }, ok_shape[1] = { 4 };
    cr_expect_neq(lam_layer_norm_create(&m, 1, bad_shape, 1e-5, true), LAM_OK, "LayerNorm((-3,))");
    cr_expect_null(m);
    cr_expect_neq(lam_layer_norm_create(&m, 0, ok_shape, 1e-5, true), LAM_OK, "LayerNorm(())");
    cr_expect_null(m);
    cr_expect_neq(lam_layer_norm_create(&m, LAM_MAX_DIMS + 1, ok_shape, 1e-5, true), LAM_OK,
                  "LayerNorm with more dims than a tensor can have");
    cr_expect_null(m);
    cr_expect_neq(lam_layer_norm_create(&m, 1, NULL, 1e-5, true), LAM_OK, "LayerNorm(NULL shape)");
    cr_expect_null(m);

    /* GELU(approximate="foo"): rejected at construction, or (as PyTorch 1.13
     * does) at the first forward -- never silently accepted */
    lam_status st = lam_gelu_create(&m, "foo");
    if (st == LAM_OK) {
        lam_tensor *x = NULL, *y = NULL;
        const int64_t s[1] = { 3 };
        ASSERT_OK(lam_tensor_create(&x, 1, s));
        cr_expect_neq(lam_module_forward(m, x, &y), LAM_OK, "GELU(approximate='foo') ran");
        cr_expect_null(y);
        lam_tensor_release(x);
        lam_module_release(m);
    } else {
        cr_expect_null(m);
    }

    /* valid edge values are accepted */
    m = NULL;
    ASSERT_OK(lam_dropout_create(&m, 0.0));
    lam_module_release(m);
    ASSERT_OK(lam_dropout_create(&m, 1.0));
    lam_module_release(m);
    ASSERT_OK(lam_gelu_create(&m, NULL));
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, "GELU(approximate='none')", "GELU(NULL) repr");
    lam_free(r);
    lam_module_release(m);
}

/* ---- wrong input shapes ---------------------------------------------------- */

/* forward must fail with `status`, give no output, name the layer in the
 * message (and `also`, when given) and leave the input untouched. */
static void expect_shape_error(lam_module *m, int ndim, const int64_t *shape, const char *layer,
                               const char *also)
{
    lam_tensor *x = NULL, *y = (lam_tensor *)0x1, *copy = NULL;
    ASSERT_OK(lam_tensor_create(&x, ndim, shape));
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        d[i] = (float)i * 0.25f - 1.0f;
    ASSERT_OK(lam_tensor_clone(&copy, x));
    lam_clear_error();
    lam_status st = lam_module_forward(m, x, &y);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    cr_expect_eq(st, LAM_ERR_SHAPE, "%s: status %s (%s)", layer, lam_status_str(st), msg);
    cr_expect_null(y, "%s: output set on failure", layer);
    cr_expect(strstr(msg, layer) != NULL, "message \"%s\" does not name %s", msg, layer);
    if (also)
        cr_expect(strstr(msg, also) != NULL, "message \"%s\" lacks \"%s\"", msg, also);
    cr_expect(memcmp(lam_tensor_cdata(x), lam_tensor_cdata(copy),
                     (size_t)lam_tensor_numel(x) * sizeof(float)) == 0,
              "%s: input modified by a failed forward", layer);
    int ond;
    int64_t oshape[LAM_MAX_DIMS];
    cr_expect_eq(lam_module_output_shape(m, ndim, shape, &ond, oshape), LAM_ERR_SHAPE,
                 "%s: output_shape accepts a bad shape", layer);
    lam_tensor_release(copy);
    lam_tensor_release(x);
}

Test(layers, wrong_input_shapes)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_linear_create(&m, 6, 4, true));
    expect_shape_error(m, 2, (int64_t[]){ 2, 7 }, "Linear(in_features=6", "7");
    expect_shape_error(m, 1, (int64_t[]){ 5 }, "Linear(in_features=6", "5");
    expect_shape_error(m, 4, (int64_t[]){ 2, 2, 6, 3 }, "Linear(in_features=6", "3");
    lam_module_release(m);

    const int64_t ln1[1] = { 8 }, ln2[2] = { 4, 5 };
    ASSERT_OK(lam_layer_norm_create(&m, 1, ln1, 1e-5, true));
    expect_shape_error(m, 2, (int64_t[]){ 3, 5 }, "LayerNorm", NULL);
    lam_module_release(m);
    ASSERT_OK(lam_layer_norm_create(&m, 2, ln2, 1e-5, true));
    expect_shape_error(m, 3, (int64_t[]){ 2, 5, 4 }, "LayerNorm", NULL);
    expect_shape_error(m, 1, (int64_t[]){ 20 }, "LayerNorm", NULL);
    lam_module_release(m);

    ASSERT_OK(lam_flatten_create(&m, 2, 3));
    expect_shape_error(m, 2, (int64_t[]){ 3, 4 }, "Flatten", NULL);
    lam_module_release(m);
    ASSERT_OK(lam_flatten_create(&m, 2, 1)); /* start_dim after end_dim */
    expect_shape_error(m, 4, (int64_t[]){ 2, 3, 4, 5 }, "Flatten", NULL);
    lam_module_release(m);
}

Test(layers, softmax_dim_out_of_range)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_softmax_create(&m, 2));
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 3, 4 }));
    lam_status st = lam_module_forward(m, x, &y);
    cr_expect(st == LAM_ERR_SHAPE || st == LAM_ERR_INDEX, "Softmax(dim=2) on 2-D: %s",
              lam_status_str(st));
    cr_expect_null(y);
    cr_expect(strstr(lam_last_error(), "Softmax") != NULL, "message: %s", lam_last_error());
    lam_tensor_release(x);
    lam_module_release(m);

    ASSERT_OK(lam_log_softmax_create(&m, -3));
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 3, 4 }));
    st = lam_module_forward(m, x, &y);
    cr_expect(st == LAM_ERR_SHAPE || st == LAM_ERR_INDEX, "LogSoftmax(dim=-3) on 2-D: %s",
              lam_status_str(st));
    cr_expect_null(y);
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(layers, null_arguments)
{
    lam_module *m = NULL;
    lam_tensor *y = NULL;
    ASSERT_OK(lam_relu_create(&m));
    cr_expect_eq(lam_module_forward(m, NULL, &y), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_null(y);
    lam_module_release(m);
}

/* ---- Dropout in training mode ------------------------------------------- */

#define DROP_N 100000

static lam_tensor *dropout_input(void)
{
    lam_tensor *x = NULL;
    ASSERT_OK(lam_tensor_create(&x, 2, (int64_t[]){ 200, DROP_N / 200 }));
    float *d = lam_tensor_data(x);
    for (int i = 0; i < DROP_N; i++)
        d[i] = (float)((i % 13) - 6) * 0.75f + ((i % 13) == 6 ? 0.5f : 0.0f); /* never 0 */
    return x;
}

/* Each output is 0 or x/(1-p); the zero fraction is p within 6 sigma. */
static void check_dropout_output(const lam_tensor *x, const lam_tensor *y, double p)
{
    const float *in = lam_tensor_cdata(x), *out = lam_tensor_cdata(y);
    int64_t zeros = 0;
    for (int i = 0; i < DROP_N; i++) {
        if (out[i] == 0.0f) {
            zeros++;
            continue;
        }
        double want = (double)in[i] / (1.0 - p);
        cr_assert(fabs(out[i] - want) <= 1e-6 * fabs(want) + 1e-7,
                  "dropout p=%g: out[%d] = %.9g is neither 0 nor x/(1-p) = %.9g", p, i, out[i], want);
    }
    double frac = (double)zeros / DROP_N;
    double sigma = sqrt(p * (1 - p) / DROP_N);
    cr_expect(fabs(frac - p) <= 6 * sigma + 1e-12, "dropout p=%g zeroed a fraction %g", p, frac);
}

Test(layers, dropout_training_masks)
{
    lam_tensor *x = dropout_input(), *y1 = NULL, *y2 = NULL, *y3 = NULL, *y4 = NULL;
    lam_module *m = NULL;
    ASSERT_OK(lam_dropout_create(&m, 0.3));
    cr_expect(lam_module_is_training(m), "a new module is in training mode");
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, "Dropout(p=0.3, inplace=False)", "Dropout repr");
    lam_free(r);

    lam_manual_seed(99);
    ASSERT_OK(lam_module_forward(m, x, &y1));
    check_dropout_output(x, y1, 0.3);
    ASSERT_OK(lam_module_forward(m, x, &y2)); /* the generator moved on */
    check_dropout_output(x, y2, 0.3);
    cr_expect(memcmp(lam_tensor_cdata(y1), lam_tensor_cdata(y2), DROP_N * sizeof(float)) != 0,
              "two training forwards drew the same mask");
    lam_manual_seed(99);
    ASSERT_OK(lam_module_forward(m, x, &y3));
    cr_expect(memcmp(lam_tensor_cdata(y1), lam_tensor_cdata(y3), DROP_N * sizeof(float)) == 0,
              "same seed, different mask");
    lam_manual_seed(100);
    ASSERT_OK(lam_module_forward(m, x, &y4));
    cr_expect(memcmp(lam_tensor_cdata(y1), lam_tensor_cdata(y4), DROP_N * sizeof(float)) != 0,
              "seeds 99 and 100 drew the same mask");
    lam_tensor_release(y1);
    lam_tensor_release(y2);
    lam_tensor_release(y3);
    lam_tensor_release(y4);

    /* eval: identity; back to train: masks again */
    lam_module_eval(m);
    cr_expect_not(lam_module_is_training(m));
    ASSERT_OK(lam_module_forward(m, x, &y1));
    cr_expect(memcmp(lam_tensor_cdata(x), lam_tensor_cdata(y1), DROP_N * sizeof(float)) == 0,
              "Dropout in eval mode is not the identity");
    lam_tensor_release(y1);
    lam_module_train(m, true);
    ASSERT_OK(lam_module_forward(m, x, &y1));
    check_dropout_output(x, y1, 0.3);
    lam_tensor_release(y1);
    lam_module_release(m);

    /* other rates, including the ends */
    const double ps[] = { 0.0, 0.1, 0.5, 0.9 };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        ASSERT_OK(lam_dropout_create(&m, ps[k]));
        ASSERT_OK(lam_module_forward(m, x, &y1));
        check_dropout_output(x, y1, ps[k]);
        lam_tensor_release(y1);
        lam_module_release(m);
    }
    ASSERT_OK(lam_dropout_create(&m, 1.0));
    ASSERT_OK(lam_module_forward(m, x, &y1));
    for (int i = 0; i < DROP_N; i++)
        cr_assert_eq(lam_tensor_cdata(y1)[i], 0.0f, "Dropout(p=1) kept element %d", i);
    lam_tensor_release(y1);
    lam_module_release(m);
    lam_tensor_release(x);
}
