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

/* ---- the fused residual add + LayerNorm pass (rows split across threads)
 * against the layer's forward written out with its children, as PyTorch's
 * forward reads: the same bits, at 1, 2 and 3 threads, post-norm and
 * norm_first, encoder and decoder layer; large enough (6 x 100 x 64) for
 * the pass to use threads. */
static uint32_t lcg_state = 12345;
static float lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)((lcg_state >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static lam_tensor *rand_tensor(int ndim, const int64_t *shape)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create(&t, ndim, shape));
    float *d = lam_tensor_data(t);
    for (int64_t i = 0; i < lam_tensor_numel(t); i++)
        d[i] = lcg();
    return t;
}

static void randomise(lam_module *m)
{
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &sd));
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        lam_tensor *t = (lam_tensor *)lam_state_dict_tensor(sd, i);
        float *d = lam_tensor_data(t);
        for (int64_t e = 0; e < lam_tensor_numel(t); e++)
            d[e] = 0.4f * lcg() + (strstr(lam_state_dict_key(sd, i), "norm") ? 1.0f : 0.0f);
    }
    lam_state_dict_free(sd);
}

static lam_tensor *child_fwd(lam_module *m, const char *name, lam_tensor *x)
{
    lam_tensor *y = NULL;
    ASSERT_OK(lam_module_forward(lam_module_child(m, name), x, &y));
    return y;
}

static lam_tensor *attn_fwd(lam_module *m, const char *name, lam_tensor *q, lam_tensor *kv)
{
    lam_tensor *y = NULL;
    ASSERT_OK(lam_multihead_attention_forward(lam_module_child(m, name), q, kv, kv, NULL, false,
                                              false, NULL, false, true, &y, NULL));
    return y;
}

/* x + f(x) with f one of the blocks below; releases both */
static lam_tensor *residual(lam_tensor *x, lam_tensor *fx)
{
    lam_tensor *y = NULL;
    ASSERT_OK(lam_tensor_add(&y, x, fx));
    lam_tensor_release(fx);
    return y;
}

static lam_tensor *ff_fwd(lam_module *m, lam_tensor *x)
{
    lam_tensor *h = child_fwd(m, "linear1", x), *r = NULL;
    ASSERT_OK(lam_tensor_relu(&r, h));
    lam_tensor *y = child_fwd(m, "linear2", r);
    lam_tensor_release(h);
    lam_tensor_release(r);
    return y;
}

/* the block `b` (0 self-attention, 1 cross-attention, 2 feed-forward) of x */
static lam_tensor *block(lam_module *m, int b, lam_tensor *x, lam_tensor *mem)
{
    return b == 0 ? attn_fwd(m, "self_attn", x, x)
                  : b == 1 ? attn_fwd(m, "multihead_attn", x, mem) : ff_fwd(m, x);
}

static lam_tensor *written_out(lam_module *m, bool dec, bool norm_first, lam_tensor *x,
                               lam_tensor *mem)
{
    static const char *const norms[2][3] = {{"norm1", "norm2", NULL}, {"norm1", "norm2", "norm3"}};
    const int blocks[2][3] = {{0, 2, -1}, {0, 1, 2}};
    lam_tensor *cur = lam_tensor_retain(x);
    for (int i = 0; i < 3 && blocks[dec][i] >= 0; i++) {
        lam_tensor *next;
        if (norm_first) {
            lam_tensor *n = child_fwd(m, norms[dec][i], cur);
            next = residual(cur, block(m, blocks[dec][i], n, mem));
            lam_tensor_release(n);
        } else {
            lam_tensor *s = residual(cur, block(m, blocks[dec][i], cur, mem));
            next = child_fwd(m, norms[dec][i], s);
            lam_tensor_release(s);
        }
        lam_tensor_release(cur);
        cur = next;
    }
    return cur;
}

static void fused_bits(int64_t d, int64_t ff, int64_t L)
{
    const int64_t shape[3] = {6, L, d}, mshape[3] = {6, 37, d};
    for (int dec = 0; dec < 2; dec++)
        for (int nf = 0; nf < 2; nf++) {
            lam_module *m = NULL;
            ASSERT_OK((dec ? lam_transformer_decoder_layer_create
                           : lam_transformer_encoder_layer_create)(&m, d, 4, ff, 0.1, "relu",
                                                                   1e-5, true, nf));
            lam_module_eval(m);
            randomise(m);
            lam_tensor *x = rand_tensor(3, shape), *mem = rand_tensor(3, mshape);
            lam_tensor *want = written_out(m, dec, nf, x, mem);
            lam_tuple *args = NULL;
            ASSERT_OK(lam_tuple_create(&args, dec ? 2 : 1));
            ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
            if (dec)
                ASSERT_OK(lam_tuple_set_tensor(args, 1, mem));
            for (int t = 1; t <= 3; t++) {
                lam_set_num_threads(t);
                lam_tensor *y = NULL;
                lam_tuple *none = NULL;
                ASSERT_OK(lam_module_forward_multi(m, args, NULL, &y, &none));
                cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(want),
                                 (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                          "%s norm_first=%d, %d threads: not the written-out forward's bits",
                          dec ? "decoder" : "encoder", nf, t);
                lam_tensor_release(y);
            }
            lam_set_num_threads(1);
            lam_tuple_release(args);
            lam_tensor_release(want);
            lam_tensor_release(x);
            lam_tensor_release(mem);
            lam_module_release(m);
        }
}

Test(transformer, fused_add_norm_bits) { fused_bits(64, 96, 100); }

/* norm_first adds each residual in the epilogue of the GEMM before it
 * (self_attn.out_proj, linear2): the written-out forward's bits where the
 * GEMMs take the packed path (K past a K block, N past a panel) and the
 * 96-row blocks of the whole-rows paths have tails. */
Test(transformer, residual_epilogue_bits) { fused_bits(160, 600, 33); }

/* The plan says where the residual adds are, so the fused path is seen to
 * be the one planned. */
Test(transformer, residual_epilogue_described)
{
    for (int nf = 0; nf < 2; nf++) {
        lam_module *m = NULL;
        ASSERT_OK(lam_transformer_encoder_layer_create(&m, 32, 4, 64, 0.1, "gelu", 1e-5, true,
                                                       nf));
        lam_module_eval(m);
        const int64_t shape[3] = {2, 5, 32};
        lam_plan *p = NULL;
        ASSERT_OK(lam_plan_create(&p, m, 3, shape));
        char *d = lam_plan_describe(p);
        cr_assert(d);
        const char *want = nf ? "TransformerEncoderLayer (residual adds in the GEMM epilogues of "
                                "self_attn.out_proj and linear2)"
                              : "TransformerEncoderLayer (residual adds fused with norm1 and "
                                "norm2)";
        cr_expect(strstr(d, want) != NULL, "norm_first=%d: plan \"%s\"", nf, d);
        lam_free(d);
        lam_plan_free(p);
        lam_module_release(m);
    }
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

/* ---- errors inside the layers of a stack name their module path (issue 16) ---- */

/* m(items...) through lam_module_forward_multi: its status; *msg the message.
 * items[i] NULL: None. */
static lam_status call_multi(lam_module *m, size_t n, lam_tensor *const *items)
{
    lam_tuple *t = NULL;
    ASSERT_OK(lam_tuple_create(&t, n));
    for (size_t i = 0; i < n; i++)
        if (items[i])
            ASSERT_OK(lam_tuple_set_tensor(t, i, items[i]));
    lam_tensor *y = NULL;
    lam_tuple *ys = NULL;
    lam_status st = lam_module_forward_multi(m, t, NULL, &y, &ys);
    lam_tensor_release(y);
    lam_tuple_release(ys);
    lam_tuple_release(t);
    return st;
}

static lam_tensor *tensor3(lam_dtype dt, int64_t a, int64_t b, int64_t c)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create_dtype(&t, dt, c ? 3 : 2, (int64_t[]){a, b, c}));
    return t;
}

static lam_module *stack_of(bool decoder, int64_t n, bool norm_first)
{
    lam_module *layer = NULL, *m = NULL;
    ASSERT_OK((decoder ? lam_transformer_decoder_layer_create
                       : lam_transformer_encoder_layer_create)(&layer, 8, 2, 16, 0.1, NULL, 1e-5,
                                                               false, norm_first));
    ASSERT_OK((decoder ? lam_transformer_decoder_create : lam_transformer_encoder_create)(
        &m, layer, n, NULL));
    lam_module_release(layer);
    lam_module_eval(m);
    return m;
}

/* The messages are PyTorch 1.13's (from the same calls on the same
 * modules), after the path of the child that raises them there. */
Test(transformer, stack_error_paths)
{
    lam_module *enc = stack_of(false, 4, false);
    lam_tensor *x = tensor3(LAM_FLOAT32, 5, 2, 8), *y = NULL;
    const char *in_l0 = " (in TransformerEncoderLayer at TransformerEncoder.layers[0])";
    char want[512];

    lam_tensor *x7 = tensor3(LAM_FLOAT32, 5, 2, 7);
    cr_expect_eq(lam_module_forward(enc, x7, &y), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerEncoder.layers[0].self_attn was expecting embedding "
             "dimension of 8, but got 7%s", in_l0);
    EXPECT_STR_EQ(lam_last_error(), want, "wrong d_model");
    lam_tensor *x4 = NULL;
    ASSERT_OK(lam_tensor_create(&x4, 4, (int64_t[]){1, 5, 2, 8}));
    cr_expect_eq(lam_module_forward(enc, x4, &y), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerEncoder.layers[0].self_attn query should be "
             "unbatched 2D or batched 3D tensor but received 4-D query tensor%s", in_l0);
    EXPECT_STR_EQ(lam_last_error(), want, "4-D input");

    lam_tensor *mask = tensor3(LAM_FLOAT32, 3, 3, 0);
    cr_expect_eq(call_multi(enc, 2, (lam_tensor *[]){x, mask}), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerEncoder.layers[0].self_attn The shape of the 2D "
             "attn_mask is torch.Size([3, 3]), but should be (5, 5).%s", in_l0);
    EXPECT_STR_EQ(lam_last_error(), want, "mask");
    lam_tensor *kpm = tensor3(LAM_BOOL, 2, 4, 0);
    cr_expect_eq(call_multi(enc, 3, (lam_tensor *[]){x, NULL, kpm}), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerEncoder.layers[0].self_attn expecting "
             "key_padding_mask shape of (2, 5), but got torch.Size([2, 4])%s", in_l0);
    EXPECT_STR_EQ(lam_last_error(), want, "key_padding_mask");

    /* an error in layer 3 only, run by the plan of a Sequential */
    lam_module *seq = NULL;
    ASSERT_OK(lam_sequential_create(&seq, 1, (lam_module *[]){enc}));
    lam_module_eval(seq);
    lam_module_train(lam_module_child_at(lam_module_child(enc, "layers"), 3, NULL), true);
    cr_expect_eq(lam_module_forward(seq, x, &y), LAM_ERR_NOT_IMPLEMENTED);
    EXPECT_STR_EQ(lam_last_error(),
                  "Sequential[0].layers[3] TransformerEncoderLayer: dropout=0.1 in training mode "
                  "is not supported (lamina runs inference: call eval()) (in TransformerEncoder "
                  "at Sequential[0])",
                  "layer 3");
    lam_module_eval(seq);
    cr_expect_eq(lam_module_forward(seq, x7, &y), LAM_ERR_SHAPE);
    EXPECT_STR_EQ(lam_last_error(),
                  "Sequential[0].layers[0].self_attn was expecting embedding dimension of 8, but "
                  "got 7 (in TransformerEncoder at Sequential[0], in TransformerEncoderLayer at "
                  "Sequential[0].layers[0])",
                  "planned, wrong d_model");
    lam_tensor *ids = tensor3(LAM_INT64, 5, 2, 8);
    cr_expect_eq(lam_module_forward(seq, ids, &y), LAM_ERR_TYPE);
    EXPECT_STR_EQ(lam_last_error(), "Sequential[0] TransformerEncoder: expected a float32 src, "
                  "got int64 (src shape [5, 2, 8])", "int64 input");
    lam_module_release(seq);
    lam_module_release(enc);

    /* pre-norm: norm1 meets the input first */
    enc = stack_of(false, 2, true);
    cr_expect_eq(lam_module_forward(enc, x7, &y), LAM_ERR_SHAPE);
    EXPECT_STR_EQ(lam_last_error(), "TransformerEncoder.layers[0].norm1 LayerNorm: Given "
                  "normalized_shape=[8], expected input with shape [*, 8], but got input of "
                  "size[5, 2, 7] (in TransformerEncoderLayer at TransformerEncoder.layers[0])",
                  "norm_first, wrong d_model");
    lam_module_release(enc);

    /* TransformerDecoder: self_attn and multihead_attn */
    lam_module *dec = stack_of(true, 3, false);
    lam_tensor *mem = tensor3(LAM_FLOAT32, 6, 2, 8), *mask5 = tensor3(LAM_FLOAT32, 5, 5, 0),
               *mkpm = tensor3(LAM_BOOL, 2, 5, 0), *mem7 = tensor3(LAM_FLOAT32, 6, 2, 7);
    const char *in_d0 = " (in TransformerDecoderLayer at TransformerDecoder.layers[0])";
    cr_expect_eq(call_multi(dec, 2, (lam_tensor *[]){x7, mem}), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerDecoder.layers[0].self_attn was expecting embedding "
             "dimension of 8, but got 7%s", in_d0);
    EXPECT_STR_EQ(lam_last_error(), want, "decoder, wrong d_model");
    cr_expect_eq(call_multi(dec, 3, (lam_tensor *[]){x, mem, mask}), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerDecoder.layers[0].self_attn The shape of the 2D "
             "attn_mask is torch.Size([3, 3]), but should be (5, 5).%s", in_d0);
    EXPECT_STR_EQ(lam_last_error(), want, "tgt_mask");
    cr_expect_eq(call_multi(dec, 4, (lam_tensor *[]){x, mem, NULL, mask5}), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerDecoder.layers[0].multihead_attn The shape of the 2D "
             "attn_mask is torch.Size([5, 5]), but should be (5, 6).%s", in_d0);
    EXPECT_STR_EQ(lam_last_error(), want, "memory_mask");
    cr_expect_eq(call_multi(dec, 6, (lam_tensor *[]){x, mem, NULL, NULL, NULL, mkpm}),
                 LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerDecoder.layers[0].multihead_attn expecting "
             "key_padding_mask shape of (2, 6), but got torch.Size([2, 5])%s", in_d0);
    EXPECT_STR_EQ(lam_last_error(), want, "memory_key_padding_mask");
    /* PyTorch: "mat1 and mat2 shapes cannot be multiplied (12x7 and 8x16)" from the k
     * projection; lamina's attention says which input */
    cr_expect_eq(call_multi(dec, 2, (lam_tensor *[]){x, mem7}), LAM_ERR_SHAPE);
    snprintf(want, sizeof want, "TransformerDecoder.layers[0].multihead_attn MultiheadAttention: "
             "was expecting embedding dimensions query 8, key 8, value 8, but got 8, 7, 7%s",
             in_d0);
    EXPECT_STR_EQ(lam_last_error(), want, "memory's d_model");
    lam_module_train(lam_module_child_at(lam_module_child(dec, "layers"), 2, NULL), true);
    cr_expect_eq(call_multi(dec, 2, (lam_tensor *[]){x, mem}), LAM_ERR_NOT_IMPLEMENTED);
    EXPECT_STR_EQ(lam_last_error(), "TransformerDecoder.layers[2] TransformerDecoderLayer: "
                  "dropout=0.1 in training mode is not supported (lamina runs inference: call "
                  "eval())", "decoder layer 2");
    lam_module_release(dec);

    /* Transformer: the encoder's and decoder's paths continue its own */
    lam_module *tf = NULL;
    ASSERT_OK(lam_transformer_create(&tf, 8, 2, 1, 1, 16, 0.1, NULL, NULL, NULL, 1e-5, false,
                                     false));
    lam_module_eval(tf);
    cr_expect_eq(call_multi(tf, 3, (lam_tensor *[]){x, mem, mask}), LAM_ERR_SHAPE);
    EXPECT_STR_EQ(lam_last_error(), "Transformer.encoder.layers[0].self_attn The shape of the 2D "
                  "attn_mask is torch.Size([3, 3]), but should be (5, 5). (in TransformerEncoder "
                  "at Transformer.encoder, in TransformerEncoderLayer at "
                  "Transformer.encoder.layers[0])", "Transformer, src_mask");
    lam_tensor *kpm4 = tensor3(LAM_BOOL, 2, 4, 0);
    cr_expect_eq(call_multi(tf, 8, (lam_tensor *[]){x, mem, NULL, NULL, NULL, NULL, NULL, kpm4}),
                 LAM_ERR_SHAPE);
    EXPECT_STR_EQ(lam_last_error(), "Transformer.decoder.layers[0].multihead_attn expecting "
                  "key_padding_mask shape of (2, 5), but got torch.Size([2, 4]) (in "
                  "TransformerDecoder at Transformer.decoder, in TransformerDecoderLayer at "
                  "Transformer.decoder.layers[0])", "Transformer, memory_key_padding_mask");
    lam_module_release(tf);
    lam_tensor *all[] = {x, x7, x4, mask, kpm, ids, mem, mask5, mkpm, mem7, kpm4};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        lam_tensor_release(all[i]);
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

/* ---- model files: MultiheadAttention and the transformer types ---- */

#include <lamina/model.h>

static lam_module *parse_ok(const char *text)
{
    lam_module *m = NULL;
    lam_status st = lam_model_parse(text, strlen(text), "t.lam", &m);
    cr_assert_eq(st, LAM_OK, "parse: %s", lam_last_error());
    return m;
}

static void parse_fails(const char *text, const char *want)
{
    lam_module *m = NULL;
    cr_expect_neq(lam_model_parse(text, strlen(text), "t.lam", &m), LAM_OK, "%s parsed", text);
    cr_expect_null(m);
    cr_expect(strstr(lam_last_error(), want) != NULL, "message %s lacks %s", lam_last_error(),
              want);
}

/* The printed form reads back to itself byte for byte, with or without the
 * written arguments; what it lacks is unknown until set. */
Test(transformer_files, printed_form_reads_back)
{
    const char *const files[] = {"layer_norm_first", "encoder_2_norm", "dec_layer_relu",
                                 "decoder_2_norm_masks", "transformer_small"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[96];
        snprintf(path, sizeof path, "transformer/%s.txt", files[i]);
        fx_file *fx = FX_OPEN(path);
        const char *text = fx_text(fx, "repr");
        lam_module *m = parse_ok(text);
        char *repr = lam_module_repr(m);
        EXPECT_STR_EQ(repr, text, files[i]);
        lam_free(repr);
        cr_expect_eq(lam_model_check_args(m), LAM_ERR_INVALID_ARGUMENT, "%s", files[i]);
        cr_expect(strstr(lam_last_error(), "not known") != NULL, "%s", lam_last_error());
        lam_module_release(m);
        fx_close(fx);
    }
}

/* The bare printed form, given its arguments with lam_model_set_arg, runs as
 * PyTorch (the fixture's state_dict and output). */
Test(transformer_files, set_arg_runs_as_pytorch)
{
    fx_file *fx = FX_OPEN("transformer/dec_layer_gelu_bf_nf.txt");
    lam_module *m = parse_ok(fx_text(fx, "repr"));
    lam_state_dict *sd = fx_state_dict(fx);
    ASSERT_OK(lam_model_load_state_dict(m, sd, true, NULL));
    lam_state_dict_free(sd);
    lam_tuple *args = NULL, *none = NULL;
    lam_tensor *x = fx_lam_tensor(fx, "input"), *mem = fx_lam_tensor(fx, "input2"), *y = NULL;
    ASSERT_OK(lam_tuple_create(&args, 2));
    ASSERT_OK(lam_tuple_set_tensor(args, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(args, 1, mem));
    /* unknown: the forward says so */
    cr_expect_eq(lam_module_forward_multi(m, args, NULL, &y, &none), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "is not known") != NULL, "%s", lam_last_error());
    ASSERT_OK(lam_model_set_arg(m, "nhead", "3"));
    ASSERT_OK(lam_model_set_arg(m, "batch_first", "True"));
    ASSERT_OK(lam_model_set_arg(m, "norm_first", "True"));
    cr_expect_eq(lam_model_check_args(m), LAM_ERR_INVALID_ARGUMENT);
    EXPECT_STR_EQ(lam_last_error(),
                  "TransformerDecoderLayer: activation not known: PyTorch's repr does not print "
                  "it; write it in the model file's TransformerDecoderLayer(...) call before its "
                  "children (lamina-export does), or set it: lamina --set activation=relu|gelu "
                  "(a path names a module and everything under it), or lam_model_set_arg()",
                  "message");
    ASSERT_OK(lam_model_set_arg(m, "activation", "'gelu'"));
    ASSERT_OK(lam_model_check_args(m));
    char msg[512];
    ASSERT_OK(lam_module_forward_multi(m, args, NULL, &y, &none));
    cr_expect(fx_tensor_close(y, fx_get_tensor(fx, "output"), msg, sizeof msg), "%s", msg);
    lam_tensor_release(y);
    /* one module by path; errors */
    ASSERT_OK(lam_model_set_arg(m, "self_attn.num_heads", "6"));
    cr_expect_eq(lam_model_set_arg(m, "self_attn.num_heads", "5"), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "embed_dim must be divisible by num_heads") != NULL, "%s",
              lam_last_error());
    cr_expect_eq(lam_model_set_arg(m, "linear1.num_heads", "2"), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "no module at 'linear1' takes num_heads") != NULL, "%s",
                     lam_last_error());
    cr_expect_eq(lam_model_set_arg(m, "nowhere.num_heads", "2"), LAM_ERR_KEY);
    cr_expect_eq(lam_model_set_arg(m, "dim_feedforward", "2"), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_set_arg(m, "norm_first", "maybe"), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_model_set_arg(m, "activation", "tanh"), LAM_ERR_INVALID_ARGUMENT);
    EXPECT_STR_EQ(lam_last_error(), "activation should be relu/gelu, not tanh", "message");
    lam_tuple_release(args);
    lam_tensor_release(x);
    lam_tensor_release(mem);
    lam_module_release(m);
    fx_close(fx);
}

/* Arguments written in the call, before the children (what lamina-export
 * writes), reach the modules under it. */
Test(transformer_files, written_arguments)
{
    const char *text =
        "TransformerEncoder(\n"
        "  (layers): ModuleList(\n"
        "    (0): TransformerEncoderLayer(\n"
        "      nhead=2, batch_first=True, norm_first=False, activation='relu'\n"
        "      (self_attn): MultiheadAttention(\n"
        "        (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, "
        "bias=True)\n"
        "      )\n"
        "      (linear1): Linear(in_features=8, out_features=16, bias=True)\n"
        "      (dropout): Dropout(p=0.1, inplace=False)\n"
        "      (linear2): Linear(in_features=16, out_features=8, bias=True)\n"
        "      (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
        "      (norm2): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
        "      (dropout1): Dropout(p=0.1, inplace=False)\n"
        "      (dropout2): Dropout(p=0.1, inplace=False)\n"
        "    )\n"
        "  )\n"
        ")\n";
    lam_module *m = parse_ok(text);
    ASSERT_OK(lam_model_check_args(m));
    lam_module_release(m);
    /* a contradiction inside the file */
    char bad[2048];
    snprintf(bad, sizeof bad, "%s", text);
    char *p = strstr(bad, "(self_attn): MultiheadAttention(\n");
    cr_assert_not_null(p);
    const char *with = "(self_attn): MultiheadAttention(num_heads=4,\n";
    memmove(p + strlen(with), p + strlen("(self_attn): MultiheadAttention(\n"),
            strlen(p) - strlen("(self_attn): MultiheadAttention(\n") + 1);
    memcpy(p, with, strlen(with));
    parse_fails(bad, "t.lam:4:7: num_heads=2 disagrees with self_attn MultiheadAttention's "
                     "num_heads=4");
}

/* Constructor calls: Python's defaults, modules as arguments. */
Test(transformer_files, constructor_calls)
{
    lam_module *a = parse_ok("TransformerEncoder(TransformerEncoderLayer(8, 2, "
                             "dim_feedforward=16, batch_first=True), 2, norm=LayerNorm(8))");
    lam_module *b = NULL, *layer = NULL, *norm = NULL;
    ASSERT_OK(lam_transformer_encoder_layer_create(&layer, 8, 2, 16, 0.1, NULL, 1e-5, true,
                                                   false));
    ASSERT_OK(lam_layer_norm_create(&norm, 1, (int64_t[]){8}, 1e-5, true));
    ASSERT_OK(lam_transformer_encoder_create(&b, layer, 2, norm));
    char *ra = lam_module_repr(a), *rb = lam_module_repr(b);
    EXPECT_STR_EQ(ra, rb, "TransformerEncoder");
    lam_free(ra);
    lam_free(rb);
    ASSERT_OK(lam_model_check_args(a));
    lam_module_release(a);
    lam_module_release(b);
    lam_module_release(layer);
    lam_module_release(norm);
    a = parse_ok("nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, "
                 "num_decoder_layers=1, dim_feedforward=16, activation='gelu')");
    ASSERT_OK(lam_model_check_args(a));
    lam_module_release(a);
    a = parse_ok("MultiheadAttention(8, 2, kdim=3, vdim=5, batch_first=True)");
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(a, &sd));
    cr_expect_not_null(lam_state_dict_get(sd, "k_proj_weight"));
    lam_state_dict_free(sd);
    lam_module_release(a);
    parse_fails("MultiheadAttention(8)", "MultiheadAttention: missing required argument "
                                         "'num_heads'");
    parse_fails("TransformerEncoderLayer(8, 2, activation='tanh')",
                "activation should be relu/gelu, not tanh");
    parse_fails("MultiheadAttention(8, 3)", "embed_dim must be divisible by num_heads");
    parse_fails("TransformerDecoderLayer(8, 2, bogus=1)",
                "TransformerDecoderLayer: got an unexpected keyword argument 'bogus'");
    parse_fails("TransformerEncoder(Linear(2, 2), 2)",
                "TransformerEncoder: encoder_layer must be a TransformerEncoderLayer");
    parse_fails("MultiheadAttention(\n  (proj): Linear(4, 4)\n)",
                "MultiheadAttention: expected a child (out_proj)");
}

/* kdim, vdim and add_bias_kv that the printed form does not show come from
 * the weights' keys (a nested MultiheadAttention is rebuilt to fit; the
 * model itself cannot be, and says what to write). */
Test(transformer_files, kv_from_weights)
{
    const char *text = "ModuleList(\n"
                       "  (0): MultiheadAttention(\n"
                       "    (out_proj): NonDynamicallyQuantizableLinear(in_features=8, "
                       "out_features=8, bias=True)\n"
                       "  )\n"
                       ")";
    lam_module *m = parse_ok(text), *want = NULL;
    ASSERT_OK(lam_multihead_attention_create(&want, 8, 2, 0.0, true, true, false, 3, 5, false));
    lam_state_dict *sd = NULL, *wrapped = NULL;
    ASSERT_OK(lam_module_state_dict(want, &sd));
    ASSERT_OK(lam_state_dict_create(&wrapped));
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        char key[128];
        snprintf(key, sizeof key, "0.%s", lam_state_dict_key(sd, i));
        ASSERT_OK(lam_state_dict_set(wrapped, key, lam_state_dict_tensor(sd, i)));
    }
    ASSERT_OK(lam_model_load_state_dict(m, wrapped, true, NULL));
    lam_module *c = lam_module_child(m, "0");
    lam_state_dict *got = NULL;
    ASSERT_OK(lam_module_state_dict(c, &got));
    cr_expect_eq(lam_state_dict_len(got), lam_state_dict_len(sd));
    for (size_t i = 0; i < lam_state_dict_len(sd) && i < lam_state_dict_len(got); i++) {
        EXPECT_STR_EQ(lam_state_dict_key(got, i), lam_state_dict_key(sd, i), "key");
        const lam_tensor *a = lam_state_dict_tensor(got, i), *b = lam_state_dict_tensor(sd, i);
        cr_expect(lam_tensor_numel(a) == lam_tensor_numel(b) &&
                      !memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                              (size_t)lam_tensor_numel(a) * sizeof(float)),
                  "%s", lam_state_dict_key(sd, i));
    }
    char *repr = lam_module_repr(m);
    EXPECT_STR_EQ(repr, text, "repr");
    lam_free(repr);
    /* num_heads is still for someone to say */
    cr_expect_eq(lam_model_check_args(m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "0 MultiheadAttention: num_heads, batch_first not known") !=
                  NULL,
              "%s", lam_last_error());
    lam_state_dict_free(got);
    lam_module_release(m);
    /* the model is the attention: it cannot be replaced */
    m = parse_ok("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                 "in_features=8, out_features=8, bias=True)\n)\n");
    cr_expect_eq(lam_model_load_state_dict(m, sd, true, NULL), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "write kdim=, vdim= and add_bias_kv=") != NULL, "%s",
              lam_last_error());
    lam_module_release(m);
    lam_state_dict_free(sd);
    lam_state_dict_free(wrapped);
    lam_module_release(want);
}

/* activation given as a module prints as a child: it tells the activation */
Test(transformer_files, activation_child)
{
    fx_file *fx = FX_OPEN("transformer/layer_relu.txt");
    const char *text = fx_text(fx, "repr");
    char buf[4096];
    size_t n = strlen(text);
    cr_assert(n < sizeof buf - 64 && text[n - 1] == ')');
    snprintf(buf, sizeof buf, "%.*s  (activation): GELU(approximate='none')\n)", (int)(n - 1),
             text);
    lam_module *m = parse_ok(buf);
    cr_expect_eq(lam_model_check_args(m), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "TransformerEncoderLayer: norm_first not known") != NULL,
              "%s", lam_last_error());
    char *repr = lam_module_repr(m);
    EXPECT_STR_EQ(repr, buf, "repr");
    lam_free(repr);
    lam_module_release(m);
    fx_close(fx);
}
