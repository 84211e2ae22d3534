/* TransformerEncoderLayer and TransformerEncoder against PyTorch 1.13
 * (tests/fixtures/transformer, tools/gen-fixtures.py, the slow path in
 * float64): repr, parameter names, state_dict keys and the eval-mode
 * forward for relu and gelu, norm_first, batch_first both ways, unbatched
 * input, layer_norm_eps, sequences past one attention block, stacks with
 * and without a final norm; the same bits for 1, 2 and 3 threads; the
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

/* ---- TransformerDecoderLayer, TransformerDecoder, Transformer ---- */

static lam_module *make_decoder_side(const fx_file *fx)
{
    const char *kind = fx_text(fx, "kind");
    cr_assert_not_null(kind);
    lam_module *m = NULL;
    const char *act = fxi(fx, "gelu") ? "gelu" : "relu";
    if (!strcmp(kind, "transformer")) {
        ASSERT_OK(lam_transformer_create(&m, fxi(fx, "d_model"), fxi(fx, "nhead"),
                                         fxi(fx, "num_encoder_layers"),
                                         fxi(fx, "num_decoder_layers"),
                                         fxi(fx, "dim_feedforward"), fxd(fx, "dropout"), act,
                                         NULL, NULL, fxd(fx, "layer_norm_eps"),
                                         fxi(fx, "batch_first"), fxi(fx, "norm_first")));
        return m;
    }
    lam_module *layer = NULL;
    ASSERT_OK(lam_transformer_decoder_layer_create(
        &layer, fxi(fx, "d_model"), fxi(fx, "nhead"), fxi(fx, "dim_feedforward"),
        fxd(fx, "dropout"), act, fxd(fx, "layer_norm_eps"), fxi(fx, "batch_first"),
        fxi(fx, "norm_first")));
    if (!strcmp(kind, "layer"))
        return layer;
    lam_module *norm = NULL;
    if (fxi(fx, "final_norm"))
        ASSERT_OK(lam_layer_norm_create(&norm, 1, (int64_t[]){fxi(fx, "d_model")},
                                        fxd(fx, "layer_norm_eps"), true));
    ASSERT_OK(lam_transformer_decoder_create(&m, layer, fxi(fx, "num_layers"), norm));
    lam_module_release(norm);
    lam_module_release(layer);
    return m;
}

ParameterizedTestParameters(transformer, decoder_matches_pytorch)
{
    static struct tcase cases[] = {
        {"dec_layer_relu"},  {"dec_layer_gelu_bf_nf"}, {"dec_layer_unbatched"},
        {"dec_layer_long"},  {"dec_layer_masks"},      {"dec_layer_bool_masks_bf"},
        {"decoder_3"},       {"decoder_2_norm_masks"}, {"transformer_small"},
        {"transformer_bf_nf_gelu"},
    };
    return cr_make_param_array(struct tcase, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct tcase *c, transformer, decoder_matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "transformer/%s.txt", c->file);
    fx_file *fx = FX_OPEN(path);
    lam_module *m = make_decoder_side(fx);
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

    /* PyTorch's positional order of the masks after the two tensors */
    const bool tf = !strcmp(fx_text(fx, "kind"), "transformer");
    static const char *const dec_masks[] = {"tgt_mask", "memory_mask", "tgt_key_padding_mask",
                                            "memory_key_padding_mask"};
    static const char *const tf_masks[] = {"src_mask", "tgt_mask", "memory_mask",
                                           "src_key_padding_mask", "tgt_key_padding_mask",
                                           "memory_key_padding_mask"};
    const char *const *mnames = tf ? tf_masks : dec_masks;
    const size_t nm = tf ? 6 : 4;
    lam_tuple *args = NULL;
    ASSERT_OK(lam_tuple_create(&args, 2 + nm));
    lam_tensor *x = fx_lam_tensor(fx, "input"), *x2 = fx_lam_tensor(fx, "input2"), *y = NULL;
    ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(args, 1, x2));
    for (size_t i = 0; i < nm; i++) {
        if (!fx_get_tensor(fx, mnames[i]))
            continue;
        char flag[64];
        snprintf(flag, sizeof flag, "%s_bool", mnames[i]);
        lam_tensor *mk = fx_lam_tensor(fx, mnames[i]), *b = NULL;
        if (fxi(fx, flag)) {
            ASSERT_OK(lam_tensor_to_dtype(&b, mk, LAM_BOOL));
            lam_tensor_release(mk);
            mk = b;
        }
        ASSERT_OK(lam_tuple_set_tensor(args, 2 + i, mk));
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
    lam_tensor_release(x2);
    lam_module_release(m);
    fx_close(fx);
}

Test(transformer, decoder_errors)
{
    lam_module *m = NULL, *enc = NULL;
    cr_expect_eq(lam_transformer_decoder_layer_create(&m, 8, 2, 16, 0.1, "tanh", 1e-5, false,
                                                      false),
                 LAM_ERR_INVALID_ARGUMENT);
    EXPECT_STR_EQ(lam_last_error(), "activation should be relu/gelu, not tanh", "message");
    /* an encoder layer is not a decoder layer */
    ASSERT_OK(lam_transformer_encoder_layer_create(&enc, 8, 2, 16, 0.0, NULL, 1e-5, false,
                                                   false));
    cr_expect_eq(lam_transformer_decoder_create(&m, enc, 2, NULL), LAM_ERR_TYPE);
    EXPECT_STR_EQ(lam_last_error(),
                  "TransformerDecoder: decoder_layer must be a TransformerDecoderLayer",
                  "message");
    lam_module_release(enc);
    ASSERT_OK(lam_transformer_decoder_layer_create(&m, 8, 2, 16, 0.0, NULL, 1e-5, false,
                                                   false));
    lam_module_eval(m);
    lam_tensor *x = NULL, *y = NULL, *mem = NULL;
    ASSERT_OK(lam_tensor_create(&x, 3, (int64_t[]){4, 1, 8}));
    /* forward(tgt): memory missing, PyTorch's TypeError */
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_TYPE);
    cr_expect(strstr(lam_last_error(), "TransformerDecoderLayer.forward() missing 1 required "
                                       "positional argument: 'memory'") != NULL,
              "%s", lam_last_error());
    /* memory of another width: MultiheadAttention's words */
    ASSERT_OK(lam_tensor_create(&mem, 3, (int64_t[]){3, 1, 6}));
    lam_tuple *args = NULL, *none = NULL;
    ASSERT_OK(lam_tuple_create(&args, 2));
    ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(args, 1, mem));
    cr_expect_eq(lam_module_forward_multi(m, args, NULL, &y, &none), LAM_ERR_SHAPE);
    lam_tuple_release(args);
    lam_tensor_release(mem);
    lam_module_release(m);

    /* Transformer: PyTorch's batch and feature checks */
    ASSERT_OK(lam_transformer_create(&m, 8, 2, 1, 1, 16, 0.0, NULL, NULL, NULL, 1e-5, false,
                                     false));
    lam_module_eval(m);
    lam_tensor *t2 = NULL;
    ASSERT_OK(lam_tensor_create(&t2, 3, (int64_t[]){4, 2, 8}));
    ASSERT_OK(lam_tuple_create(&args, 2));
    ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(args, 1, t2));
    cr_expect_eq(lam_module_forward_multi(m, args, NULL, &y, &none), LAM_ERR_SHAPE);
    cr_expect(strstr(lam_last_error(), "the batch number of src and tgt must be equal") != NULL,
              "%s", lam_last_error());
    lam_tuple_release(args);
    lam_tensor_release(t2);
    ASSERT_OK(lam_tensor_create(&t2, 3, (int64_t[]){4, 1, 6}));
    ASSERT_OK(lam_tuple_create(&args, 2));
    ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(args, 1, t2));
    cr_expect_eq(lam_module_forward_multi(m, args, NULL, &y, &none), LAM_ERR_SHAPE);
    cr_expect(strstr(lam_last_error(),
                     "the feature number of src and tgt must be equal to d_model") != NULL,
              "%s", lam_last_error());
    lam_tuple_release(args);
    lam_tensor_release(t2);
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_TYPE);
    cr_expect(strstr(lam_last_error(), "missing 1 required positional argument: 'tgt'") != NULL,
              "%s", lam_last_error());
    lam_tensor_release(x);
    lam_module_release(m);
}

Test(transformer, square_subsequent_mask)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_transformer_generate_square_subsequent_mask(&t, 3));
    const float *d = lam_tensor_cdata(t);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            cr_expect(j > i ? isinf(d[i * 3 + j]) && d[i * 3 + j] < 0 : d[i * 3 + j] == 0.0f,
                      "[%d, %d] = %g", i, j, d[i * 3 + j]);
    lam_tensor_release(t);
    cr_expect_eq(lam_transformer_generate_square_subsequent_mask(&t, -1),
                 LAM_ERR_INVALID_ARGUMENT);
}

/* Transformer's _reset_parameters: every weight of 2 or more dims is
 * xavier_uniform_ (within sqrt(6 / (fan_in + fan_out))), biases keep their
 * layer's init. */
Test(transformer, transformer_init)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_transformer_create(&m, 16, 4, 2, 2, 24, 0.1, NULL, NULL, NULL, 1e-5, false,
                                     false));
    lam_state_dict *ps = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &ps));
    cr_expect_eq(lam_state_dict_len(ps), 2 * 12 + 2 * 18 + 4);
    for (size_t i = 0; i < lam_state_dict_len(ps); i++) {
        const lam_tensor *p = lam_state_dict_tensor(ps, i);
        if (lam_tensor_ndim(p) < 2)
            continue;
        const int64_t *sh = lam_tensor_shape(p);
        double a = sqrt(6.0 / (double)(sh[0] + sh[1])), mx = 0;
        for (int64_t k = 0; k < lam_tensor_numel(p); k++)
            mx = fmax(mx, fabs(lam_tensor_cdata(p)[k]));
        cr_expect(mx <= a && mx > 0.8 * a, "%s: max |w| %g, bound %g",
                  lam_state_dict_key(ps, i), mx, a);
    }
    lam_state_dict_free(ps);
    lam_module_release(m);
}
