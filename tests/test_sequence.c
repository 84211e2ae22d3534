/* Issue 16: tensor element types (int64, bool) and Embedding.
 *
 * Embedding against PyTorch 1.13 (tests/fixtures/sequence/embedding.txt from
 * tools/gen-fixtures.py, gen_sequence): per case the constructor read by the
 * model-file parser, the repr byte for byte and read back, the forward from
 * PyTorch's weight (exact: a lookup; max_norm's renormalised rows within the
 * fixture tolerance) and the weight after it (max_norm renormalises in
 * place), alone and as the first layer of a Sequential; ids out of range,
 * float and bool ids, and bad constructor arguments give PyTorch's messages. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    lam_status st = lam_model_parse(text, strlen(text), "<fixture>", &m);
    cr_assert_eq(st, LAM_OK, "parse %s: %s", text, fx_show(lam_last_error()));
    return m;
}

/* A fixture tensor of exact integral floats as an int64 tensor. */
static lam_tensor *ids_of(const fx_file *fx, const char *name)
{
    lam_tensor *f = fx_lam_tensor(fx, name), *ids = NULL;
    cr_assert_not_null(f, "%s", name);
    ASSERT_OK(lam_tensor_to_dtype(&ids, f, LAM_INT64));
    lam_tensor_release(f);
    return ids;
}

static lam_tensor *weight_of(lam_module *m)
{
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &sd));
    lam_tensor *w = lam_tensor_retain(lam_state_dict_get(sd, "weight"));
    cr_assert_not_null(w);
    lam_state_dict_free(sd);
    return w;
}

static void set_weight(lam_module *m, const fx_tensor *w)
{
    lam_tensor *t = weight_of(m);
    cr_assert_eq(lam_tensor_numel(t), w->numel);
    memcpy(lam_tensor_data(t), w->data, (size_t)w->numel * sizeof(float));
    lam_tensor_release(t);
}

static void one_case(fx_file *fx, int64_t i, bool in_sequential)
{
    char key[48], msg[512];
    snprintf(key, sizeof key, "ctor_%lld", (long long)i);
    const char *ctor = fx_text(fx, key);
    snprintf(key, sizeof key, "repr_%lld", (long long)i);
    const char *want = fx_text(fx, key);
    cr_assert(ctor && want);
    lam_module *m = parse(ctor);
    char *repr = lam_module_repr(m);
    EXPECT_STR_EQ(repr, want, ctor);
    lam_free(repr);
    lam_module *back = parse(want);
    repr = lam_module_repr(back);
    EXPECT_STR_EQ(repr, want, want);
    lam_free(repr);
    lam_module_release(back);

    snprintf(key, sizeof key, "weight_%lld", (long long)i);
    const fx_tensor *w0 = fx_get_tensor(fx, key);
    if (w0)
        set_weight(m, w0);
    lam_tensor *ids;
    snprintf(key, sizeof key, "ids_%lld", (long long)i);
    if (fx_get_tensor(fx, key)) {
        ids = ids_of(fx, key);
    } else { /* an empty ids tensor */
        const char *const *dims;
        snprintf(key, sizeof key, "ids_shape_%lld", (long long)i);
        long nd = fx_list(fx, key, &dims);
        int64_t shape[LAM_MAX_DIMS];
        for (long d = 0; d < nd; d++)
            shape[d] = atoll(dims[d]);
        ASSERT_OK(lam_tensor_create_dtype(&ids, LAM_INT64, (int)nd, shape));
    }
    lam_module *run = m;
    if (in_sequential)
        run = TH_SEQ(m);
    lam_tensor *y = NULL;
    lam_status st = lam_module_forward(run, ids, &y);
    cr_assert_eq(st, LAM_OK, "%s: %s", ctor, fx_show(lam_last_error()));
    cr_expect_eq(lam_tensor_dtype(y), LAM_FLOAT32);
    cr_expect_eq(lam_tensor_ndim(y), lam_tensor_ndim(ids) + 1);
    snprintf(key, sizeof key, "output_%lld", (long long)i);
    const fx_tensor *want_y = fx_get_tensor(fx, key);
    if (want_y)
        cr_expect(fx_tensor_close(y, want_y, msg, sizeof msg), "%s: %s", ctor, msg);
    else
        cr_expect_eq(lam_tensor_numel(y), 0);
    snprintf(key, sizeof key, "weight_after_%lld", (long long)i);
    const fx_tensor *w1 = fx_get_tensor(fx, key);
    if (w1) {
        lam_tensor *w = weight_of(m);
        cr_expect(fx_tensor_close(w, w1, msg, sizeof msg), "%s: weight after: %s", ctor, msg);
        lam_tensor_release(w);
    }
    lam_tensor_release(y);
    lam_tensor_release(ids);
    if (run != m)
        lam_module_release(run);
    lam_module_release(m);
}

Test(embedding, against_pytorch)
{
    fx_file *fx = FX_OPEN("sequence/embedding.txt");
    int64_t n = 0;
    cr_assert(fx_int(fx, "n", &n));
    for (int64_t i = 0; i < n; i++)
        one_case(fx, i, false);
    fx_close(fx);
}

/* An Embedding-first Sequential takes the int64 ids (it goes child by
 * child; the float layers after it are planned as usual). */
Test(embedding, first_in_sequential)
{
    fx_file *fx = FX_OPEN("sequence/embedding.txt");
    int64_t n = 0;
    cr_assert(fx_int(fx, "n", &n));
    for (int64_t i = 0; i < n; i++)
        one_case(fx, i, true);
    fx_close(fx);
}

Test(embedding, out_of_range_ids_are_pytorch_errors)
{
    fx_file *fx = FX_OPEN("sequence/embedding.txt");
    int64_t n = 0;
    char key[48];
    cr_assert(fx_int(fx, "nerr", &n));
    for (int64_t j = 0; j < n; j++) {
        snprintf(key, sizeof key, "ector_%lld", (long long)j);
        const char *ctor = fx_text(fx, key);
        snprintf(key, sizeof key, "error_%lld", (long long)j);
        const char *want = fx_text(fx, key);
        snprintf(key, sizeof key, "eids_%lld", (long long)j);
        lam_tensor *ids = ids_of(fx, key), *y = NULL;
        lam_module *m = parse(ctor);
        lam_status st = lam_module_forward(m, ids, &y);
        cr_expect_eq(st, LAM_ERR_INDEX, "%s", ctor);
        cr_expect_null(y);
        cr_expect(strstr(lam_last_error(), want), "%s:\n got: %s\nwant: %s", ctor,
                  lam_last_error(), want);
        /* with its path inside a Sequential */
        lam_module *seq = TH_SEQ(m);
        EXPECT_FAIL(lam_module_forward(seq, ids, &y), LAM_ERR_INDEX, "Sequential[0] ");
        cr_expect(strstr(lam_last_error(), want), "%s", lam_last_error());
        lam_module_release(seq);
        lam_module_release(m);
        lam_tensor_release(ids);
    }
    fx_close(fx);
}

Test(embedding, constructor_errors)
{
    fx_file *fx = FX_OPEN("sequence/embedding.txt");
    int64_t n = 0;
    char key[48];
    cr_assert(fx_int(fx, "ncerr", &n));
    for (int64_t j = 0; j < n; j++) {
        snprintf(key, sizeof key, "cerr_ctor_%lld", (long long)j);
        const char *ctor = fx_text(fx, key);
        snprintf(key, sizeof key, "cerr_%lld", (long long)j);
        const char *want = fx_text(fx, key);
        lam_module *m = NULL;
        cr_expect_neq(lam_model_parse(ctor, strlen(ctor), "<fixture>", &m), LAM_OK, "%s", ctor);
        cr_expect(strstr(lam_last_error(), want), "%s:\n got: %s\nwant: %s", ctor,
                  lam_last_error(), want);
        lam_module_release(m);
    }
    fx_close(fx);
}

/* Float and bool ids are refused in PyTorch's words, with the path. */
Test(embedding, float_and_bool_ids_refused)
{
    fx_file *fx = FX_OPEN("sequence/embedding.txt");
    const char *ctors[2] = {"Embedding(10, 3)", "Embedding(10, 3, max_norm=1.0)"};
    for (int k = 0; k < 2; k++) {
        lam_module *m = parse(ctors[k]);
        lam_module *seq = TH_SEQ(m);
        char key[48];
        lam_tensor *f = NULL, *b = NULL, *y = NULL;
        ASSERT_OK(lam_tensor_from_data(&f, 1, (int64_t[]){1}, (float[]){1.0f}));
        ASSERT_OK(lam_tensor_from_bool(&b, 1, (int64_t[]){1}, (bool[]){true}));
        snprintf(key, sizeof key, "type_error_float_%d", k);
        EXPECT_FAIL(lam_module_forward(m, f, &y), LAM_ERR_TYPE, fx_text(fx, key));
        EXPECT_FAIL(lam_module_forward(seq, f, &y), LAM_ERR_TYPE, "Sequential[0] ");
        cr_expect(strstr(lam_last_error(), fx_text(fx, key)), "%s", lam_last_error());
        snprintf(key, sizeof key, "type_error_bool_%d", k);
        EXPECT_FAIL(lam_module_forward(m, b, &y), LAM_ERR_TYPE, fx_text(fx, key));
        EXPECT_FAIL(lam_module_forward(seq, b, &y), LAM_ERR_TYPE, fx_text(fx, key));
        cr_expect_null(y);
        lam_tensor_release(f);
        lam_tensor_release(b);
        lam_module_release(seq);
        lam_module_release(m);
    }
    fx_close(fx);
}

/* init: N(0, 1) (mean and spread of 20,000 draws) with the padding row zero;
 * the parameter is `weight`. */
Test(embedding, init_and_parameters)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_embedding_create(&m, 1000, 20, -3, LAM_EMBEDDING_NO_MAX_NORM, 2.0, false, false));
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 1);
    cr_expect_str_eq(lam_state_dict_key(sd, 0), "weight");
    lam_state_dict_free(sd);
    cr_expect_eq(lam_module_num_parameters(m), 20000);
    lam_tensor *w = weight_of(m);
    const float *d = lam_tensor_cdata(w);
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < 20000; i++) {
        sum += d[i];
        sq += (double)d[i] * d[i];
    }
    for (int j = 0; j < 20; j++)
        cr_expect_eq(d[997 * 20 + j], 0.0f, "padding row 997 not zero");
    double mean = sum / 19980, var = sq / 19980 - mean * mean;
    cr_expect(fabs(mean) < 0.05 && fabs(var - 1) < 0.05, "mean %g var %g", mean, var);
    char *r = lam_module_repr(m);
    cr_expect_str_eq(r, "Embedding(1000, 20, padding_idx=997)");
    lam_free(r);
    lam_tensor_release(w);
    lam_module_release(m);
}

/* ---- element types ---- */

Test(dtype, accessors_check_the_type)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_from_i64(&t, 1, (int64_t[]){3}, (int64_t[]){7, -1, INT64_MAX}));
    cr_expect_eq(lam_tensor_dtype(t), LAM_INT64);
    cr_expect_null(lam_tensor_cdata(t));
    cr_expect(strstr(lam_last_error(), "lam_tensor_cdata: the tensor is int64, not float32 (use "
                                       "lam_tensor_data_i64)"), "%s", lam_last_error());
    cr_expect_null(lam_tensor_data(t));
    cr_expect_null(lam_tensor_cdata_bool(t));
    const int64_t *v = lam_tensor_cdata_i64(t);
    cr_assert_not_null(v);
    cr_expect(v[0] == 7 && v[1] == -1 && v[2] == INT64_MAX, "int64 values kept exactly");
    int64_t x;
    ASSERT_OK(lam_tensor_get_i64(t, (int64_t[]){2}, &x));
    cr_expect_eq(x, INT64_MAX);
    float f;
    ASSERT_OK(lam_tensor_get(t, (int64_t[]){1}, &f));
    cr_expect_eq(f, -1.0f);
    lam_tensor *c = NULL;
    ASSERT_OK(lam_tensor_clone(&c, t));
    cr_expect_eq(lam_tensor_dtype(c), LAM_INT64);
    cr_expect_eq(lam_tensor_cdata_i64(c)[2], INT64_MAX);
    lam_tensor_release(c);
    lam_tensor *r = NULL; /* a view keeps the type */
    ASSERT_OK(lam_tensor_reshape(&r, t, 2, (int64_t[]){3, 1}));
    cr_expect_eq(lam_tensor_dtype(r), LAM_INT64);
    cr_expect_eq(lam_tensor_cdata_i64(r)[1], -1);
    lam_tensor_release(r);

    lam_tensor *b = NULL;
    ASSERT_OK(lam_tensor_from_bool(&b, 1, (int64_t[]){2}, (bool[]){true, false}));
    cr_expect_eq(lam_tensor_dtype(b), LAM_BOOL);
    cr_expect_null(lam_tensor_cdata_i64(b));
    cr_expect(lam_tensor_cdata_bool(b)[0] && !lam_tensor_cdata_bool(b)[1]);
    lam_tensor_release(b);

    /* conversions as Tensor.to: float -> int64 truncates, NaN gives 0 */
    lam_tensor *fl = NULL, *as_int = NULL, *as_bool = NULL;
    ASSERT_OK(lam_tensor_from_data(&fl, 1, (int64_t[]){4}, (float[]){2.9f, -2.9f, NAN, 0.0f}));
    ASSERT_OK(lam_tensor_to_dtype(&as_int, fl, LAM_INT64));
    const int64_t *iv = lam_tensor_cdata_i64(as_int);
    cr_expect(iv[0] == 2 && iv[1] == -2 && iv[2] == 0 && iv[3] == 0);
    ASSERT_OK(lam_tensor_to_dtype(&as_bool, as_int, LAM_BOOL));
    const bool *bv = lam_tensor_cdata_bool(as_bool);
    cr_expect(bv[0] && bv[1] && !bv[2] && !bv[3]);
    lam_tensor_release(fl);
    lam_tensor_release(as_int);
    lam_tensor_release(as_bool);
    lam_tensor_release(t);
    cr_expect_eq(lam_tensor_create_dtype(&t, (lam_dtype)7, 1, (int64_t[]){1}),
                 LAM_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(lam_dtype_name(LAM_INT64), "int64");
    cr_expect_eq(lam_dtype_size(LAM_BOOL), 1);
}

/* str(tensor) of PyTorch 1.13 for int64 and bool tensors, byte for byte
 * (the texts below are what PyTorch prints for the same values). */
Test(dtype, printing_as_pytorch)
{
    struct {
        lam_dtype dt;
        int ndim;
        int64_t shape[2];
        int64_t v[4];
        const char *want;
    } c[] = {
        {LAM_INT64, 1, {1}, {7}, "tensor([7])"},
        {LAM_INT64, 1, {3}, {1, 100, -5}, "tensor([  1, 100,  -5])"},
        {LAM_INT64, 1, {3}, {-1, 2, 3}, "tensor([-1,  2,  3])"},
        {LAM_INT64, 2, {2, 2}, {1, 2, 3, 4}, "tensor([[1, 2],\n        [3, 4]])"},
        {LAM_BOOL, 1, {2}, {1, 0}, "tensor([ True, False])"},
        {LAM_BOOL, 1, {1}, {1}, "tensor([True])"},
        {LAM_INT64, 1, {0}, {0}, "tensor([], dtype=torch.int64)"},
        {LAM_BOOL, 2, {0, 3}, {0}, "tensor([], size=(0, 3), dtype=torch.bool)"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        lam_tensor *t = NULL;
        ASSERT_OK(lam_tensor_create_dtype(&t, c[k].dt, c[k].ndim, c[k].shape));
        for (int64_t i = 0; i < lam_tensor_numel(t); i++) {
            int64_t idx[2] = {c[k].ndim == 1 ? i : i / c[k].shape[1], i % c[k].shape[c[k].ndim - 1]};
            ASSERT_OK(lam_tensor_set_i64(t, idx, c[k].v[i]));
        }
        char *s = lam_tensor_str(t);
        cr_expect_str_eq(s, c[k].want);
        lam_free(s);
        lam_tensor_release(t);
    }
    /* summarised: torch.arange(2000) */
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create_dtype(&t, LAM_INT64, 1, (int64_t[]){2000}));
    int64_t *d = lam_tensor_data_i64(t);
    for (int64_t i = 0; i < 2000; i++)
        d[i] = i;
    char *s = lam_tensor_str(t);
    cr_expect_str_eq(s, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
    lam_free(s);
    lam_tensor_release(t);
}

/* Float-only entry points say which type they got, with the module path. */
Test(dtype, float_layers_and_ops_refuse_other_types)
{
    lam_module *m = parse("Sequential(\n  (0): Linear(in_features=3, out_features=2, bias=True)\n"
                          "  (1): ReLU()\n)");
    lam_tensor *ids = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create_dtype(&ids, LAM_INT64, 2, (int64_t[]){2, 3}));
    EXPECT_FAIL(lam_module_forward(m, ids, &y), LAM_ERR_TYPE,
                "Sequential[0] Linear: expected a float32 input, got int64 (input shape [2, 3])");
    cr_expect_null(y);
    lam_module *relu = NULL;
    ASSERT_OK(lam_module_get_submodule(m, "1", &relu));
    EXPECT_FAIL(lam_module_forward(relu, ids, &y), LAM_ERR_TYPE,
                "ReLU: expected a float32 input, got int64");
    lam_tensor *out = NULL;
    ASSERT_OK(lam_tensor_create(&out, 2, (int64_t[]){2, 2}));
    EXPECT_FAIL(lam_module_forward_into(m, ids, out), LAM_ERR_TYPE, "got int64");
    lam_plan *p = NULL;
    ASSERT_OK(lam_plan_create(&p, m, 2, (int64_t[]){2, 3}));
    EXPECT_FAIL(lam_plan_run(p, ids, out), LAM_ERR_TYPE, "Linear: expected a float32 input");
    lam_plan_free(p);
    EXPECT_FAIL(lam_tensor_add(&y, ids, ids), LAM_ERR_TYPE,
                "lam_tensor_add: expected a float32 input, got int64");
    EXPECT_FAIL(lam_tensor_relu(&y, ids), LAM_ERR_TYPE, "got int64");
    lam_tensor *b = NULL;
    ASSERT_OK(lam_tensor_create_dtype(&b, LAM_BOOL, 2, (int64_t[]){2, 2}));
    EXPECT_FAIL(lam_tensor_add(&b, out, out), LAM_ERR_TYPE, "expected a float32 output, got bool");
    lam_tensor *v = NULL; /* views share any type */
    ASSERT_OK(lam_tensor_flatten(&v, ids, 0, -1));
    cr_expect_eq(lam_tensor_dtype(v), LAM_INT64);
    lam_tensor_release(v);
    lam_tensor_release(b);
    lam_tensor_release(out);
    lam_tensor_release(ids);
    lam_module_release(m);
}

/* .npy: '<i8', '<i4' (widened) and '|b1' load as int64 / bool; saved back
 * as numpy writes them. */
Test(dtype, npy_round_trip)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/lamina-dtype-%d.npy", (int)getpid());
    lam_tensor *t = NULL, *back = NULL;
    ASSERT_OK(lam_tensor_from_i64(&t, 2, (int64_t[]){2, 2}, (int64_t[]){1, -2, 1LL << 40, 5}));
    ASSERT_OK(lam_npy_save(path, t));
    ASSERT_OK(lam_npy_load(path, &back));
    cr_expect_eq(lam_tensor_dtype(back), LAM_INT64);
    cr_expect(memcmp(lam_tensor_cdata_i64(back), lam_tensor_cdata_i64(t), 4 * sizeof(int64_t)) == 0);
    lam_tensor_release(back);
    lam_tensor_release(t);
    ASSERT_OK(lam_tensor_from_bool(&t, 1, (int64_t[]){3}, (bool[]){true, false, true}));
    ASSERT_OK(lam_npy_save(path, t));
    ASSERT_OK(lam_npy_load(path, &back));
    cr_expect_eq(lam_tensor_dtype(back), LAM_BOOL);
    cr_expect(lam_tensor_cdata_bool(back)[2] && !lam_tensor_cdata_bool(back)[1]);
    lam_tensor_release(back);
    lam_tensor_release(t);
    unlink(path);
    /* '<i4' (numpy's int32) is widened to int64 */
    static const unsigned char i4[] = "\x93NUMPY\x01\x00\x76\x00{'descr': '<i4', 'fortran_order': "
                                      "False, 'shape': (2,), }";
    unsigned char buf[256];
    size_t hl = sizeof i4 - 1;
    memcpy(buf, i4, hl);
    memset(buf + hl, ' ', 128 - hl - 1);
    buf[127] = '\n';
    int32_t vals[2] = {-7, 2147483647};
    memcpy(buf + 128, vals, 8);
    ASSERT_OK(lam_npy_parse(buf, 136, &back));
    cr_expect_eq(lam_tensor_dtype(back), LAM_INT64);
    cr_expect(lam_tensor_cdata_i64(back)[0] == -7 && lam_tensor_cdata_i64(back)[1] == 2147483647);
    lam_tensor_release(back);
}

/* safetensors: I64, I32 (widened) and BOOL load as their types; int64 and
 * bool save back as I64 and BOOL. */
Test(dtype, safetensors_round_trip)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/lamina-dtype-%d.safetensors", (int)getpid());
    lam_state_dict *sd = NULL, *back = NULL;
    ASSERT_OK(lam_state_dict_create(&sd));
    lam_tensor *i = NULL, *b = NULL, *f = NULL;
    ASSERT_OK(lam_tensor_from_i64(&i, 1, (int64_t[]){2}, (int64_t[]){-3, 1LL << 60}));
    ASSERT_OK(lam_tensor_from_bool(&b, 2, (int64_t[]){1, 3}, (bool[]){false, true, true}));
    ASSERT_OK(lam_tensor_from_data(&f, 1, (int64_t[]){1}, (float[]){0.5f}));
    ASSERT_OK(lam_state_dict_set(sd, "ids", i));
    ASSERT_OK(lam_state_dict_set(sd, "mask", b));
    ASSERT_OK(lam_state_dict_set(sd, "w", f));
    ASSERT_OK(lam_safetensors_save(path, sd));
    ASSERT_OK(lam_safetensors_load(path, &back));
    lam_tensor *i2 = lam_state_dict_get(back, "ids"), *b2 = lam_state_dict_get(back, "mask");
    cr_assert(i2 && b2);
    cr_expect_eq(lam_tensor_dtype(i2), LAM_INT64);
    cr_expect_eq(lam_tensor_cdata_i64(i2)[1], 1LL << 60);
    cr_expect_eq(lam_tensor_dtype(b2), LAM_BOOL);
    cr_expect(!lam_tensor_cdata_bool(b2)[0] && lam_tensor_cdata_bool(b2)[2]);
    cr_expect_eq(lam_tensor_cdata(lam_state_dict_get(back, "w"))[0], 0.5f);
    lam_state_dict_free(back);
    lam_state_dict_free(sd);
    lam_tensor_release(i);
    lam_tensor_release(b);
    lam_tensor_release(f);
    unlink(path);
}

/* ---- several inputs and outputs (issue 16 item 2) ---- */

static lam_tensor *vec(float a, float b)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_from_data(&t, 2, (int64_t[]){1, 2}, (float[]){a, b}));
    return t;
}

/* forward(x, mask=None) -> (x + 1, (2 * x, None)) */
static lam_status two_out(lam_module *self, const lam_tuple *in, void *args, lam_tensor **y,
                          lam_tuple **ys)
{
    (void)self, (void)args, (void)y;
    if (lam_tuple_len(in) < 1 || lam_tuple_len(in) > 2 || !lam_tuple_tensor(in, 0))
        return LAM_ERR_TYPE;
    lam_tensor *x = lam_tuple_tensor(in, 0), *a = NULL, *b = NULL;
    lam_tuple *inner = NULL;
    lam_status st = lam_tensor_add_scalar(&a, x, 1.0);
    if (!st && lam_tuple_len(in) == 2 && lam_tuple_tensor(in, 1)) /* a mask: x + 1 + mask */
        st = lam_tensor_add(&a, a, lam_tuple_tensor(in, 1));
    if (!st)
        st = lam_tensor_mul_scalar(&b, x, 2.0);
    if (!st)
        st = lam_tuple_create(ys, 2);
    if (!st)
        st = lam_tuple_create(&inner, 2);
    if (!st)
        st = lam_tuple_set_tensor(inner, 0, b);
    if (!st)
        st = lam_tuple_set_tensor(*ys, 0, a);
    if (!st)
        st = lam_tuple_set_tuple(*ys, 1, inner);
    lam_tuple_release(inner);
    lam_tensor_release(a);
    lam_tensor_release(b);
    return st;
}

/* forward((a, (b, None))) -> a + b: takes what two_out returns */
static lam_status sum_pair(lam_module *self, const lam_tuple *in, void *args, lam_tensor **y,
                           lam_tuple **ys)
{
    (void)self, (void)args, (void)ys;
    const lam_tuple *t = lam_tuple_len(in) == 1 ? lam_tuple_tuple(in, 0) : NULL;
    if (!t || !lam_tuple_tensor(t, 0) || !lam_tuple_tuple(t, 1))
        return LAM_ERR_TYPE;
    return lam_tensor_add(y, lam_tuple_tensor(t, 0), lam_tuple_tensor(lam_tuple_tuple(t, 1), 0));
}

static lam_status unused_single(lam_module *self, const lam_tensor *in, void *args,
                                lam_tensor **out)
{
    (void)self, (void)args;
    return lam_tensor_clone(out, in);
}

static lam_module *multi_custom(const char *name, lam_forward_multi_fn fn)
{
    lam_custom_spec spec = {.type_name = name, .forward = unused_single};
    lam_module *m = NULL;
    ASSERT_OK(lam_custom_create(&m, &spec));
    ASSERT_OK(lam_custom_set_forward_multi(m, fn));
    return m;
}

Test(multi, custom_forward_takes_and_returns_several_values)
{
    lam_module *m = multi_custom("TwoOut", two_out);
    lam_tuple *in = NULL, *ys = NULL;
    lam_tensor *x = vec(1, 2), *mask = vec(10, 20), *y = NULL;
    ASSERT_OK(lam_tuple_create(&in, 2));
    ASSERT_OK(lam_tuple_set_tensor(in, 0, x));
    cr_expect(lam_tuple_is_none(in, 1));
    ASSERT_OK(lam_module_forward_multi(m, in, NULL, &y, &ys)); /* mask=None */
    cr_assert_null(y);
    cr_assert_not_null(ys);
    cr_assert_eq(lam_tuple_len(ys), 2);
    cr_expect_eq(lam_tensor_cdata(lam_tuple_tensor(ys, 0))[1], 3.0f);
    lam_tuple *inner = lam_tuple_tuple(ys, 1);
    cr_assert_not_null(inner);
    cr_expect_eq(lam_tensor_cdata(lam_tuple_tensor(inner, 0))[1], 4.0f);
    cr_expect(lam_tuple_is_none(inner, 1));
    lam_tuple_release(ys);
    ASSERT_OK(lam_tuple_set_tensor(in, 1, mask)); /* with a mask */
    ASSERT_OK(lam_module_forward_multi(m, in, NULL, &y, &ys));
    cr_expect_eq(lam_tensor_cdata(lam_tuple_tensor(ys, 0))[1], 23.0f);
    lam_tuple_release(ys);
    lam_tuple_release(in);
    lam_tensor_release(x);
    lam_tensor_release(mask);
    lam_module_release(m);
}

/* Sequential passes what a child returns on: a tuple into a child that takes
 * it works, into Linear it is PyTorch's TypeError with the path; Identity
 * passes it on; the single-tensor API says to use forward_multi. */
Test(multi, sequential_passes_tuples_as_pytorch)
{
    lam_tensor *x = vec(1, 2), *y = NULL;
    lam_tuple *ys = NULL, *in = NULL;
    ASSERT_OK(lam_tuple_create(&in, 1));
    ASSERT_OK(lam_tuple_set_tensor(in, 0, x));

    lam_module *a = multi_custom("TwoOut", two_out), *b = multi_custom("SumPair", sum_pair);
    lam_module *ok = TH_SEQ(a, b);
    ASSERT_OK(lam_module_forward(ok, x, &y)); /* (x + 1) + 2x */
    cr_expect(lam_tensor_cdata(y)[0] == 4.0f && lam_tensor_cdata(y)[1] == 7.0f);
    lam_tensor_release(y);
    ASSERT_OK(lam_module_forward_multi(ok, in, NULL, &y, &ys));
    cr_expect(y && (!ys) && lam_tensor_cdata(y)[1] == 7.0f);
    lam_tensor_release(y);

    lam_module *lin = th_linear(2, 2, true), *first = th_linear(2, 2, true);
    lam_module *bad = TH_SEQ(first, a, lin);
    EXPECT_FAIL(lam_module_forward(bad, x, &y), LAM_ERR_TYPE,
                "Sequential[2] linear(): argument 'input' (position 1) must be Tensor, not tuple");
    EXPECT_FAIL(lam_module_forward_multi(bad, in, NULL, &y, &ys), LAM_ERR_TYPE,
                "Sequential[2] linear(): argument 'input' (position 1) must be Tensor, not tuple");
    cr_expect((!y) && (!ys));

    lam_module *idm = NULL;
    ASSERT_OK(lam_identity_create(&idm));
    lam_module *through = TH_SEQ(a, idm);
    ASSERT_OK(lam_module_forward_multi(through, in, NULL, &y, &ys));
    cr_expect((!y) && ys && lam_tuple_len(ys) == 2);
    lam_tuple_release(ys);
    EXPECT_FAIL(lam_module_forward(through, x, &y), LAM_ERR_TYPE,
                "Sequential returned a tuple, not a tensor: call it with lam_module_forward_multi");

    /* a layer takes one tensor: two arguments, none, or None */
    lam_tuple *two = NULL, *none = NULL, *zero = NULL;
    ASSERT_OK(lam_tuple_create(&two, 2));
    ASSERT_OK(lam_tuple_set_tensor(two, 0, x));
    ASSERT_OK(lam_tuple_set_tensor(two, 1, x));
    ASSERT_OK(lam_tuple_create(&none, 1));
    ASSERT_OK(lam_tuple_create(&zero, 0));
    EXPECT_FAIL(lam_module_forward_multi(lin, two, NULL, &y, &ys), LAM_ERR_TYPE,
                "Linear.forward() takes 2 positional arguments but 3 were given");
    EXPECT_FAIL(lam_module_forward_multi(ok, two, NULL, &y, &ys), LAM_ERR_TYPE,
                "Sequential.forward() takes 2 positional arguments but 3 were given");
    EXPECT_FAIL(lam_module_forward_multi(lin, none, NULL, &y, &ys), LAM_ERR_TYPE,
                "linear(): argument 'input' (position 1) must be Tensor, not NoneType");
    EXPECT_FAIL(lam_module_forward_multi(lin, zero, NULL, &y, &ys), LAM_ERR_TYPE,
                "Linear.forward() missing 1 required positional argument: 'input'");
    ASSERT_OK(lam_module_forward_multi(lin, in, NULL, &y, &ys)); /* one tensor: as forward */
    cr_expect(y && (!ys));
    lam_tensor_release(y);

    lam_tuple_release(two);
    lam_tuple_release(none);
    lam_tuple_release(zero);
    lam_module_release(through);
    lam_module_release(idm);
    lam_module_release(bad);
    lam_module_release(first);
    lam_module_release(lin);
    lam_module_release(ok);
    lam_module_release(a);
    lam_module_release(b);
    lam_tuple_release(in);
    lam_tensor_release(x);
}

Test(multi, tuple_api)
{
    lam_tuple *t = NULL, *u = NULL;
    ASSERT_OK(lam_tuple_create(&t, 2));
    ASSERT_OK(lam_tuple_create(&u, 1));
    cr_expect_eq(lam_tuple_set_tensor(t, 2, NULL), LAM_ERR_INDEX);
    cr_expect_null(lam_tuple_tensor(t, 5));
    ASSERT_OK(lam_tuple_set_tuple(t, 0, u));
    cr_expect_eq(lam_tuple_set_tuple(u, 0, t), LAM_ERR_INVALID_ARGUMENT); /* a cycle */
    cr_expect_eq(lam_tuple_set_tuple(t, 1, t), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_tuple_tuple(t, 0), u);
    cr_expect((!lam_tuple_is_none(t, 0)) && lam_tuple_is_none(t, 1));
    ASSERT_OK(lam_tuple_set_tensor(t, 0, NULL)); /* back to None, u released once */
    cr_expect(lam_tuple_is_none(t, 0));
    lam_tuple_release(u);
    lam_tuple_release(t);
}
