/* MultiheadAttention against PyTorch 1.13 (tests/fixtures/attention, written
 * by tools/gen-fixtures.py from the module's slow path in float64): repr,
 * parameter names, state_dict keys, attn_output and weights for self and
 * cross attention, batch_first both ways, unbatched input, kdim/vdim
 * projections, bias=False, add_bias_kv, add_zero_attn, boolean and float
 * masks of every shape PyTorch takes, fully masked rows (NaN), per-head
 * and averaged weights; the single-tensor forward (self-attention); the
 * same bits for 1, 2 and 3 threads; PyTorch's initialisation ranges; and
 * the errors. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/fixture.h"

static int64_t fxi(const fx_file *fx, const char *name)
{
    int64_t v = 0;
    cr_assert(fx_int(fx, name, &v), "fixture has no int %s", name);
    return v;
}

static int64_t fxi_or(const fx_file *fx, const char *name, int64_t dflt)
{
    int64_t v = 0;
    return fx_int(fx, name, &v) ? v : dflt;
}

/* NaN where PyTorch gives NaN, else the fixtures' tolerance */
static void expect_close(const lam_tensor *got, const fx_tensor *want, const char *file,
                         const char *what)
{
    cr_assert_not_null(want, "%s: no %s", file, what);
    cr_assert_eq(lam_tensor_ndim(got), want->ndim, "%s %s: ndim %d, want %d", file, what,
                 lam_tensor_ndim(got), want->ndim);
    for (int d = 0; d < want->ndim; d++)
        cr_assert_eq(lam_tensor_shape(got)[d], want->shape[d], "%s %s: dim %d", file, what, d);
    const float *g = lam_tensor_cdata(got);
    for (int64_t i = 0; i < want->numel; i++) {
        double e = want->data[i];
        if (isnan(e))
            cr_assert(isnan(g[i]), "%s %s[%lld] = %.9g, want NaN", file, what, (long long)i,
                      (double)g[i]);
        else
            cr_assert(fabs(g[i] - e) <= FX_ATOL + FX_RTOL * fabs(e),
                      "%s %s[%lld] = %.9g, want %.9g", file, what, (long long)i, (double)g[i], e);
    }
}

static lam_module *make_mha(const fx_file *fx)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_multihead_attention_create(
        &m, fxi(fx, "embed_dim"), fxi(fx, "num_heads"), 0.0, fxi(fx, "bias"),
        fxi(fx, "add_bias_kv"), fxi(fx, "add_zero_attn"), fxi(fx, "kdim"), fxi(fx, "vdim"),
        fxi(fx, "batch_first")));
    return m;
}

/* forward with the fixture's inputs and masks */
static lam_status run_case(lam_module *m, const fx_file *fx, lam_tensor **out, lam_tensor **w)
{
    lam_tensor *q = fx_lam_tensor(fx, "query");
    bool self = fxi(fx, "self");
    lam_tensor *k = self ? q : fx_lam_tensor(fx, "key"), *v = self ? q : fx_lam_tensor(fx, "value");
    lam_tensor *kpm = fx_get_tensor(fx, "kpm") ? fx_lam_tensor(fx, "kpm") : NULL;
    lam_tensor *am = fx_get_tensor(fx, "attn_mask") ? fx_lam_tensor(fx, "attn_mask") : NULL;
    lam_status st = lam_multihead_attention_forward(
        m, q, k, v, kpm, fxi_or(fx, "kpm_bool", 0), fxi(fx, "need_weights"), am,
        fxi_or(fx, "attn_mask_bool", 0), fxi(fx, "average"), out, w);
    if (!self) {
        lam_tensor_release(k);
        lam_tensor_release(v);
    }
    lam_tensor_release(q);
    lam_tensor_release(kpm);
    lam_tensor_release(am);
    return st;
}

/* The same through PyTorch's forward(query, key, value, key_padding_mask,
 * need_weights, attn_mask, average_attn_weights) as lam_module_forward_multi
 * gives it: boolean masks as bool tensors, the flags as one-element bool
 * tensors; the result the tuple (attn_output, attn_weights or None). */
static lam_tensor *flag(bool v)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create_dtype(&t, LAM_BOOL, 1, (int64_t[]){1}));
    lam_tensor_data_bool(t)[0] = v;
    return t;
}

static lam_tensor *mask(const fx_file *fx, const char *name, const char *is_bool)
{
    if (!fx_get_tensor(fx, name))
        return NULL;
    lam_tensor *t = fx_lam_tensor(fx, name), *b = NULL;
    if (!fxi_or(fx, is_bool, 0))
        return t;
    ASSERT_OK(lam_tensor_to_dtype(&b, t, LAM_BOOL));
    lam_tensor_release(t);
    return b;
}

static lam_status run_case_multi(lam_module *m, const fx_file *fx, lam_tuple **res)
{
    lam_tensor *q = fx_lam_tensor(fx, "query");
    bool self = fxi(fx, "self");
    lam_tensor *items[7] = {
        q,
        self ? lam_tensor_retain(q) : fx_lam_tensor(fx, "key"),
        self ? lam_tensor_retain(q) : fx_lam_tensor(fx, "value"),
        mask(fx, "kpm", "kpm_bool"),
        flag(fxi(fx, "need_weights")),
        mask(fx, "attn_mask", "attn_mask_bool"),
        flag(fxi(fx, "average")),
    };
    lam_tuple *args = NULL;
    ASSERT_OK(lam_tuple_create(&args, 7));
    for (int i = 0; i < 7; i++) {
        if (items[i])
            ASSERT_OK(lam_tuple_set_tensor(args, i, items[i]));
        lam_tensor_release(items[i]);
    }
    lam_tensor *single = NULL;
    lam_status st = lam_module_forward_multi(m, args, NULL, &single, res);
    cr_expect_null(single);
    lam_tuple_release(args);
    return st;
}

struct mha_case {
    char file[40];
};

ParameterizedTestParameters(attention, matches_pytorch)
{
    static struct mha_case cases[] = {
        {"self_seqfirst"}, {"self_batchfirst_perhead"}, {"self_noweights"}, {"cross"},
        {"kdim_vdim"}, {"nobias"}, {"bias_kv_masks"}, {"zero_attn"}, {"bias_kv_zero_attn_3d"},
        {"float_mask_bool_kpm"}, {"dead_rows"}, {"unbatched"}, {"odd_head"}, {"float_kpm"},
        {"long"}, {"causal_float"},
    };
    return cr_make_param_array(struct mha_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct mha_case *c, attention, matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "attention/%s.txt", c->file);
    fx_file *fx = FX_OPEN(path);
    lam_module *m = make_mha(fx);

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

    lam_tensor *y = NULL, *w = NULL;
    ASSERT_OK(run_case(m, fx, &y, &w));
    expect_close(y, fx_get_tensor(fx, "output"), c->file, "output");
    if (fxi(fx, "need_weights"))
        expect_close(w, fx_get_tensor(fx, "weights"), c->file, "weights");
    else
        cr_expect_null(w);

    lam_tuple *res = NULL;
    ASSERT_OK(run_case_multi(m, fx, &res));
    cr_assert_eq(lam_tuple_len(res), 2, "%s: forward_multi's tuple", c->file);
    expect_close(lam_tuple_tensor(res, 0), fx_get_tensor(fx, "output"), c->file,
                 "forward_multi output");
    if (fxi(fx, "need_weights"))
        expect_close(lam_tuple_tensor(res, 1), fx_get_tensor(fx, "weights"), c->file,
                     "forward_multi weights");
    else
        cr_expect(lam_tuple_is_none(res, 1), "%s: weights not asked for, not None", c->file);
    lam_tuple_release(res);

    /* the module's own forward is self-attention without masks and without
     * weights: PyTorch's output, and the bits of the call without weights
     * (with weights, the softmax rows are whole: other roundings) */
    if (fxi(fx, "self") && !fx_get_tensor(fx, "kpm") && !fx_get_tensor(fx, "attn_mask")) {
        lam_tensor *q = fx_lam_tensor(fx, "query"), *y2 = NULL;
        ASSERT_OK(lam_module_forward(m, q, &y2));
        expect_close(y2, fx_get_tensor(fx, "output"), c->file, "module forward");
        cr_expect(fxi(fx, "need_weights") ||
                      (lam_tensor_same_shape(y, y2) &&
                       memcmp(lam_tensor_cdata(y), lam_tensor_cdata(y2),
                              (size_t)lam_tensor_numel(y) * sizeof(float)) == 0),
                  "%s: lam_module_forward differs from the call", c->file);
        lam_tensor_release(y2);
        lam_tensor_release(q);
    }

    /* 1, 2 and 3 threads give the same bits */
    for (int t = 2; t <= 3; t++) {
        lam_set_num_threads(t);
        lam_tensor *yt = NULL, *wt = NULL;
        ASSERT_OK(run_case(m, fx, &yt, &wt));
        cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(yt),
                         (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                  "%s: %d threads differ", c->file, t);
        if (w)
            cr_expect(memcmp(lam_tensor_cdata(w), lam_tensor_cdata(wt),
                             (size_t)lam_tensor_numel(w) * sizeof(float)) == 0,
                      "%s: weights with %d threads differ", c->file, t);
        lam_tensor_release(yt);
        lam_tensor_release(wt);
    }
    lam_set_num_threads(1);
    lam_tensor_release(y);
    lam_tensor_release(w);
    lam_module_release(m);
    fx_close(fx);
}

static const lam_tensor *param(lam_module *m, const char *name)
{
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    const lam_tensor *t = lam_state_dict_get(sd, name);
    lam_state_dict_free(sd); /* the module keeps its parameters */
    return t;
}

Test(attention, pytorch_init)
{
    lam_manual_seed(3);
    lam_module *m = NULL;
    ASSERT_OK(lam_multihead_attention_create(&m, 64, 8, 0.0, true, true, false, 0, 0, false));
    const lam_tensor *w = param(m, "in_proj_weight");
    const float *d = lam_tensor_cdata(w);
    double a = sqrt(6.0 / (64 + 192)), mx = 0;
    for (int64_t i = 0; i < lam_tensor_numel(w); i++)
        mx = fabs(d[i]) > mx ? fabs(d[i]) : mx;
    cr_expect(mx <= a && mx > 0.95 * a, "in_proj_weight: xavier_uniform_ bound %g, max %g", a, mx);
    const float *b = lam_tensor_cdata(param(m, "in_proj_bias"));
    const float *ob = lam_tensor_cdata(param(m, "out_proj.bias"));
    for (int i = 0; i < 192; i++)
        cr_expect(b[i] == 0.0f && (i >= 64 || ob[i] == 0.0f), "biases start at 0");
    const float *ow = lam_tensor_cdata(param(m, "out_proj.weight"));
    mx = 0;
    for (int i = 0; i < 64 * 64; i++)
        mx = fabs(ow[i]) > mx ? fabs(ow[i]) : mx;
    cr_expect(mx <= 1.0 / 8 && mx > 0.9 / 8, "out_proj.weight: U(-1/8, 1/8), max %g", mx);
    /* bias_k ~ N(0, 1/64): its sample variance over 64 values */
    const float *bk = lam_tensor_cdata(param(m, "bias_k"));
    double s2 = 0;
    for (int i = 0; i < 64; i++)
        s2 += (double)bk[i] * bk[i];
    cr_expect(s2 / 64 > 0.3 / 64 && s2 / 64 < 2.5 / 64, "bias_k variance %g", s2 / 64);
    lam_module_release(m);
}

Test(attention, errors)
{
    lam_module *m = NULL;
    cr_expect_eq(lam_multihead_attention_create(&m, 10, 3, 0.0, true, false, false, 0, 0, false),
                 LAM_ERR_INVALID_ARGUMENT);
    EXPECT_STR_EQ(lam_last_error(), "embed_dim must be divisible by num_heads", "message");
    ASSERT_OK(lam_multihead_attention_create(&m, 8, 2, 0.0, true, false, false, 0, 0, false));
    lam_tensor *q = NULL, *am = NULL, *y = NULL, *w = NULL;
    ASSERT_OK(lam_tensor_create(&q, 3, (int64_t[]){5, 2, 8}));
    ASSERT_OK(lam_tensor_create(&am, 2, (int64_t[]){5, 4}));
    cr_expect_eq(lam_multihead_attention_forward(m, q, q, q, NULL, false, true, am, false, true,
                                                 &y, &w),
                 LAM_ERR_SHAPE);
    EXPECT_STR_EQ(lam_last_error(),
                  "The shape of the 2D attn_mask is torch.Size([5, 4]), but should be (5, 5).",
                  "message");
    cr_expect_null(y);
    cr_expect_null(w);
    lam_tensor *kpm = NULL;
    ASSERT_OK(lam_tensor_create(&kpm, 2, (int64_t[]){2, 4}));
    cr_expect_eq(lam_multihead_attention_forward(m, q, q, q, kpm, true, false, NULL, false, true,
                                                 &y, NULL),
                 LAM_ERR_SHAPE);
    EXPECT_STR_EQ(lam_last_error(),
                  "expecting key_padding_mask shape of (2, 5), but got torch.Size([2, 4])",
                  "message");
    lam_tensor_release(kpm);
    /* PyTorch's forward(query, key, value, ...) with fewer than three */
    lam_tuple *one = NULL, *res = NULL;
    ASSERT_OK(lam_tuple_create(&one, 1));
    ASSERT_OK(lam_tuple_set_tensor(one, 0, q));
    cr_expect_eq(lam_module_forward_multi(m, one, NULL, &y, &res), LAM_ERR_TYPE);
    EXPECT_STR_EQ(lam_last_error(),
                  "MultiheadAttention.forward() missing 2 required positional arguments: 'key' "
                  "and 'value'",
                  "message");
    cr_expect_null(res);
    lam_tuple_release(one);
    lam_tensor *bad = NULL;
    ASSERT_OK(lam_tensor_create(&bad, 3, (int64_t[]){5, 2, 7}));
    cr_expect_eq(lam_module_forward(m, bad, &y), LAM_ERR_SHAPE);
    lam_tensor_release(bad);
    /* dropout in training mode is not run */
    lam_module *d = NULL;
    ASSERT_OK(lam_multihead_attention_create(&d, 8, 2, 0.1, true, false, false, 0, 0, false));
    lam_module_train(d, true);
    cr_expect_eq(lam_module_forward(d, q, &y), LAM_ERR_NOT_IMPLEMENTED);
    lam_module_eval(d);
    ASSERT_OK(lam_module_forward(d, q, &y));
    lam_tensor_release(y);
    lam_module_release(d);
    lam_tensor_release(am);
    lam_tensor_release(q);
    lam_module_release(m);
}
