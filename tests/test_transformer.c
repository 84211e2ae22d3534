/* TransformerEncoderLayer and TransformerEncoder against PyTorch 1.13
 * (tests/fixtures/transformer, tools/gen-fixtures.py, the slow path in
 * float64): repr, parameter names, state_dict keys and the eval-mode
 * forward for relu and gelu, norm_first, batch_first both ways, unbatched
 * input, layer_norm_eps, sequences past one attention block, stacks with
 * and without a final norm; the same bits for 1, 2 and 3 threads, through
 * lam_module_forward and through a plan (scratch from its pool); the
 * layers of an encoder start as copies of its encoder_layer; errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fixture.h"

static int64_t fxi(const fx_file *fx, const char *name)
{
    int64_t v = 0;
    cr_assert(fx_int(fx, name, &v), "fixture has no int %s", name);
    return v;
}

static double fxd(const fx_file *fx, const char *name)
{
    const char *t = fx_text(fx, name);
    cr_assert_not_null(t, "fixture has no text %s", name);
    return strtod(t, NULL);
}

static lam_module *make_model(const fx_file *fx)
{
    lam_module *layer = NULL, *m = NULL;
    ASSERT_OK(lam_transformer_encoder_layer_create(
        &layer, fxi(fx, "d_model"), fxi(fx, "nhead"), fxi(fx, "dim_feedforward"),
        fxd(fx, "dropout"), fxi(fx, "gelu") ? "gelu" : "relu", fxd(fx, "layer_norm_eps"),
        fxi(fx, "batch_first"), fxi(fx, "norm_first")));
    if (!fxi(fx, "num_layers"))
        return layer;
    lam_module *norm = NULL;
    if (fxi(fx, "final_norm"))
        ASSERT_OK(lam_layer_norm_create(&norm, 1, (int64_t[]){fxi(fx, "d_model")},
                                        fxd(fx, "layer_norm_eps"), true));
    ASSERT_OK(lam_transformer_encoder_create(&m, layer, fxi(fx, "num_layers"), norm));
    lam_module_release(norm);
    lam_module_release(layer);
    return m;
}

struct tcase {
    char file[40];
};

ParameterizedTestParameters(transformer, matches_pytorch)
{
    static struct tcase cases[] = {
        {"layer_relu"}, {"layer_gelu_bf"}, {"layer_norm_first"}, {"layer_unbatched"},
        {"layer_long"}, {"encoder_3"}, {"encoder_2_norm"}, {"encoder_1_norm"},
        {"layer_masks"}, {"layer_bool_mask_bf"}, {"encoder_masks"},
    };
    return cr_make_param_array(struct tcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct tcase *c, transformer, matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "transformer/%s.txt", c->file);
    fx_file *fx = FX_OPEN(path);
    lam_module *m = make_model(fx);
    char *repr = lam_module_repr(m);
    EXPECT_STR_EQ(repr, fx_text(fx, "repr"), c->file);
    lam_free(repr);
    lam_state_dict *names = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &names));
    cr_expect(fx_keys_equal(names, fx, "params", msg, sizeof msg), "%s: %s", c->file, msg);
    lam_state_dict_free(names);
    lam_state_dict *mine = NULL, *theirs = fx_state_dict(fx);
    ASSERT_OK(lam_module_state_dict(m, &mine));
    cr_expect_eq(lam_state_dict_len(mine), lam_state_dict_len(theirs), "%s: state_dict size",
                 c->file);
    for (size_t k = 0; k < lam_state_dict_len(mine) && k < lam_state_dict_len(theirs); k++)
        EXPECT_STR_EQ(lam_state_dict_key(mine, k), lam_state_dict_key(theirs, k), c->file);
    lam_state_dict_free(mine);
    ASSERT_OK(lam_module_load_state_dict(m, theirs, true, NULL));
    lam_state_dict_free(theirs);
    lam_module_eval(m);

    lam_tensor *x = fx_lam_tensor(fx, "input"), *y = NULL;
    if (fx_get_tensor(fx, "src_mask") || fx_get_tensor(fx, "kpm")) {
        /* PyTorch's forward(src, mask, src_key_padding_mask) */
        lam_tuple *args = NULL;
        ASSERT_OK(lam_tuple_create(&args, 3));
        ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
        const char *names[2] = {"src_mask", "kpm"}, *flags[2] = {"src_mask_bool", "kpm_bool"};
        for (int i = 0; i < 2; i++) {
            if (!fx_get_tensor(fx, names[i]))
                continue;
            lam_tensor *mk = fx_lam_tensor(fx, names[i]), *b = NULL;
            if (fxi(fx, flags[i])) {
                ASSERT_OK(lam_tensor_to_dtype(&b, mk, LAM_BOOL));
                lam_tensor_release(mk);
                mk = b;
            }
            ASSERT_OK(lam_tuple_set_tensor(args, (size_t)i + 1, mk));
            lam_tensor_release(mk);
        }
        lam_tuple *none = NULL;
        ASSERT_OK(lam_module_forward_multi(m, args, NULL, &y, &none));
        cr_assert_null(none);
        cr_expect(fx_tensor_close(y, fx_get_tensor(fx, "output"), msg, sizeof msg), "%s: %s",
                  c->file, msg);
        for (int t = 2; t <= 3; t++) {
            lam_set_num_threads(t);
            lam_tensor *yt = NULL;
            ASSERT_OK(lam_module_forward_multi(m, args, NULL, &yt, &none));
            cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(yt),
                             (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                      "%s: %d threads differ", c->file, t);
            lam_tensor_release(yt);
        }
        lam_set_num_threads(1);
        lam_tuple_release(args);
        lam_tensor_release(y);
        lam_tensor_release(x);
        lam_module_release(m);
        fx_close(fx);
        return;
    }
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(fx_tensor_close(y, fx_get_tensor(fx, "output"), msg, sizeof msg), "%s: %s",
              c->file, msg);
    for (int t = 2; t <= 3; t++) {
        lam_set_num_threads(t);
        lam_tensor *yt = NULL;
        ASSERT_OK(lam_module_forward(m, x, &yt));
        cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(yt),
                         (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                  "%s: %d threads differ", c->file, t);
        lam_tensor_release(yt);
    }
    /* a plan (its scratch from the plan's forward pool from the second run
     * on): the same bits at 1, 2 and 3 threads */
    for (int t = 1; t <= 3; t++) {
        lam_set_num_threads(t);
        lam_plan *p = NULL;
        lam_tensor *yp = NULL;
        ASSERT_OK(lam_plan_create(&p, m, lam_tensor_ndim(x), lam_tensor_shape(x)));
        ASSERT_OK(lam_tensor_create(&yp, lam_tensor_ndim(y), lam_tensor_shape(y)));
        for (int r = 0; r < 2; r++) {
            ASSERT_OK(lam_plan_run(p, x, yp));
            cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(yp),
                             (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                      "%s: plan run %d, %d threads differ", c->file, r, t);
        }
        lam_tensor_release(yp);
        lam_plan_free(p);
    }
    lam_set_num_threads(1);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}

Test(transformer, layers_are_copies)
{
    lam_module *layer = NULL, *enc = NULL;
    ASSERT_OK(lam_transformer_encoder_layer_create(&layer, 8, 2, 16, 0.1, "relu", 1e-5, false,
                                                   false));
    ASSERT_OK(lam_transformer_encoder_create(&enc, layer, 2, NULL));
    lam_state_dict *a = NULL, *b = NULL;
    ASSERT_OK(lam_module_state_dict(layer, &a));
    ASSERT_OK(lam_module_state_dict(enc, &b));
    cr_assert_eq(lam_state_dict_len(b), 2 * lam_state_dict_len(a));
    for (size_t i = 0; i < lam_state_dict_len(b); i++) {
        const lam_tensor *p = lam_state_dict_tensor(b, i);
        const lam_tensor *q = lam_state_dict_tensor(a, i % lam_state_dict_len(a));
        cr_expect(p != q && lam_tensor_numel(p) == lam_tensor_numel(q) &&
                      memcmp(lam_tensor_cdata(p), lam_tensor_cdata(q),
                             (size_t)lam_tensor_numel(p) * sizeof(float)) == 0,
                  "%s: not a copy of the encoder_layer's", lam_state_dict_key(b, i));
    }
    lam_state_dict_free(a);
    lam_state_dict_free(b);
    lam_module_release(enc);
    lam_module_release(layer);
}

Test(transformer, errors)
{
    lam_module *m = NULL;
    cr_expect_eq(lam_transformer_encoder_layer_create(&m, 8, 2, 16, 0.1, "tanh", 1e-5, false,
                                                      false),
                 LAM_ERR_INVALID_ARGUMENT);
    EXPECT_STR_EQ(lam_last_error(), "activation should be relu/gelu, not tanh", "message");
    lam_module *lin = NULL;
    ASSERT_OK(lam_linear_create(&lin, 4, 4, true));
    cr_expect_eq(lam_transformer_encoder_create(&m, lin, 2, NULL), LAM_ERR_TYPE);
    lam_module_release(lin);
    ASSERT_OK(lam_transformer_encoder_layer_create(&m, 8, 2, 16, 0.1, NULL, 1e-5, false, false));
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 3, (int64_t[]){4, 1, 8}));
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_NOT_IMPLEMENTED, "training mode");
    lam_module_eval(m);
    ASSERT_OK(lam_module_forward(m, x, &y));
    lam_tensor_release(y);
    lam_tensor_release(x);
    ASSERT_OK(lam_tensor_create(&x, 3, (int64_t[]){4, 1, 7}));
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_SHAPE);
    lam_tensor_release(x);
    lam_module_release(m);
}
