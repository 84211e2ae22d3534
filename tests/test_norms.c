/* BatchNorm1d/2d, InstanceNorm1d/2d, GroupNorm, LocalResponseNorm and
 * module buffers against PyTorch 1.13 (fixtures in tests/fixtures/norms,
 * from tools/gen-fixtures.py's gen_norms).
 *
 * Tolerances: outputs |got - expected| <= 1e-6 + 1e-5 |expected| against
 * PyTorch's forward in float64 (FX_ATOL/FX_RTOL); running statistics after a
 * training step within 1e-6 + 1e-5 |expected| of PyTorch's float32 values
 * (lamina sums in float64 where PyTorch sums squares of float32
 * differences); num_batches_tracked exactly.  Eval-mode BatchNorm (running
 * statistics) is PyTorch's float32 output bit for bit. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    lam_status st = lam_model_parse(text, strlen(text), "<repr>", &m);
    cr_assert_eq(st, LAM_OK, "parse %s: %s", text, lam_last_error());
    return m;
}

static void expect_names(lam_state_dict *sd, const fx_file *fx, const char *list, const char *c)
{
    char msg[512];
    cr_expect(fx_keys_equal(sd, fx, list, msg, sizeof msg), "%s %s: %s", c, list, msg);
    lam_state_dict_free(sd);
}

/* the tensor of `key` in m's state_dict (borrowed: the module holds it) */
static lam_tensor *buffer_of(lam_module *m, const char *key)
{
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK);
    lam_tensor *t = lam_state_dict_get(sd, key);
    lam_state_dict_free(sd);
    return t;
}

struct norm_case {
    char file[40];
};

ParameterizedTestParameters(norms, matches_pytorch)
{
    static struct norm_case cases[] = {
        {"bn1d_2d_eval"}, {"bn1d_3d_eval"}, {"bn1d_batch1_eval"}, {"bn2d_eval"},
        {"bn2d_batch1_eval"}, {"bn2d_noaffine_eval"},
        {"bn2d_train_affine_track_0.1"}, {"bn2d_train_affine_track_none"},
        {"bn2d_train_affine_track_0.3"}, {"bn2d_train_affine_notrack_0.1"},
        {"bn2d_train_affine_notrack_none"}, {"bn2d_train_affine_notrack_0.3"},
        {"bn2d_train_noaffine_track_0.1"}, {"bn2d_train_noaffine_track_none"},
        {"bn2d_train_noaffine_track_0.3"}, {"bn2d_train_noaffine_notrack_0.1"},
        {"bn2d_train_noaffine_notrack_none"}, {"bn2d_train_noaffine_notrack_0.3"},
        {"bn1d_train_2d_none"}, {"bn1d_train_3d"}, {"bn1d_train_batch1_3d"},
        {"bn1d_notrack_eval"}, {"bn2d_fresh_train"},
        {"in1d_default"}, {"in1d_unbatched"}, {"in1d_affine"}, {"in2d_default"},
        {"in2d_unbatched"}, {"in2d_track_train"}, {"in2d_track_eval"},
        {"in1d_track_unbatched_train"},
        {"in1d_affine_track_train"}, {"in1d_affine_track_eval"}, {"in1d_affine_notrack_train"},
        {"in1d_affine_notrack_eval"}, {"in1d_noaffine_track_train"}, {"in1d_noaffine_track_eval"},
        {"in1d_noaffine_notrack_train"}, {"in1d_noaffine_notrack_eval"},
        {"in2d_affine_track_train"}, {"in2d_affine_track_eval"}, {"in2d_affine_notrack_train"},
        {"in2d_affine_notrack_eval"}, {"in2d_noaffine_track_train"}, {"in2d_noaffine_track_eval"},
        {"in2d_noaffine_notrack_train"}, {"in2d_noaffine_notrack_eval"},
        {"gn_2_4"}, {"gn_noaffine"}, {"gn_3_6_3d"}, {"gn_1_4_2d"}, {"gn_4_4_batch1"},
        {"lrn_2"}, {"lrn_3_3d"}, {"lrn_5_wide"}, {"lrn_int_args"},
    };
    return cr_make_param_array(struct norm_case, cases, sizeof cases / sizeof cases[0]);
}

/* Built from its repr (the model-file parser), the layer has PyTorch's repr,
 * names and state_dict; loaded with PyTorch's state, each step's output and
 * the buffers after it are PyTorch's. */
ParameterizedTest(struct norm_case *c, norms, matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "norms/%s.txt", c->file);
    fx_file *fx = FX_OPEN(path);
    const char *repr = fx_text(fx, "repr");
    cr_assert_not_null(repr);
    lam_module *m = parse(repr);
    EXPECT_REPR(m, fx, "repr");

    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &sd));
    expect_names(sd, fx, "params", c->file);
    ASSERT_OK(lam_module_named_buffers(m, true, true, &sd));
    expect_names(sd, fx, "buffers", c->file);
    ASSERT_OK(lam_module_state_dict(m, &sd));
    expect_names(sd, fx, "state_dict_keys", c->file);
    int64_t nparams = -1, train = 0, steps = 0;
    cr_assert(fx_int(fx, "num_parameters", &nparams) && fx_int(fx, "train", &train) &&
              fx_int(fx, "steps", &steps));
    cr_expect_eq(lam_module_num_parameters(m), nparams, "%s: num_parameters", c->file);

    lam_state_dict *theirs = fx_state_dict(fx);
    ASSERT_OK(lam_module_load_state_dict(m, theirs, true, NULL));
    lam_state_dict_free(theirs);
    lam_module_train(m, train != 0);
    bool bn_eval = !train && strncmp(c->file, "bn", 2) == 0 && buffer_of(m, "running_mean");

    for (int64_t i = 0; i < steps; i++) {
        char name[64];
        snprintf(name, sizeof name, "input_%lld", (long long)i);
        lam_tensor *x = fx_lam_tensor(fx, name), *y = NULL;
        cr_assert_not_null(x);
        ASSERT_OK(lam_module_forward(m, x, &y));
        snprintf(name, sizeof name, "output_%lld", (long long)i);
        cr_expect(fx_tensor_close(y, fx_get_tensor(fx, name), msg, sizeof msg), "%s step %lld: %s",
                  c->file, (long long)i, msg);
        if (bn_eval) { /* PyTorch's kernel operation for operation */
            snprintf(name, sizeof name, "output_f32_%lld", (long long)i);
            const fx_tensor *f = fx_get_tensor(fx, name);
            cr_expect(memcmp(lam_tensor_cdata(y), f->data, (size_t)f->numel * sizeof(float)) == 0,
                      "%s: eval output is not PyTorch's float32 output bit for bit", c->file);
        }
        if (!train) { /* the second call (planned) is bit-identical */
            lam_tensor *y2 = NULL;
            ASSERT_OK(lam_module_forward(m, x, &y2));
            cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(y2),
                             (size_t)lam_tensor_numel(y) * sizeof(float)) == 0,
                      "%s: second forward differs", c->file);
            lam_tensor_release(y2);
        }
        static const char *const bufs[] = {"running_mean", "running_var"};
        for (int b = 0; b < 2; b++) {
            snprintf(name, sizeof name, "after_%lld:%s", (long long)i, bufs[b]);
            const fx_tensor *want = fx_get_tensor(fx, name);
            lam_tensor *got = buffer_of(m, bufs[b]);
            cr_expect((want != NULL) == (got != NULL), "%s: %s", c->file, name);
            if (want && got)
                cr_expect(fx_tensor_close(got, want, msg, sizeof msg), "%s %s: %s", c->file, name, msg);
        }
        int64_t nbt;
        snprintf(name, sizeof name, "after_%lld:num_batches_tracked", (long long)i);
        if (fx_int(fx, name, &nbt)) {
            lam_tensor *got = buffer_of(m, "num_batches_tracked");
            cr_assert_not_null(got);
            cr_expect_eq(lam_tensor_dtype(got), LAM_INT64);
            cr_expect_eq(lam_tensor_cdata_i64(got)[0], nbt, "%s: %s = %lld, expected %lld", c->file,
                         name, (long long)lam_tensor_cdata_i64(got)[0], (long long)nbt);
        }
        lam_tensor_release(y);
        lam_tensor_release(x);
    }
    lam_module_release(m);
    fx_close(fx);
}

/* The C constructors print PyTorch's reprs, and the parser reads each back. */
Test(norms, reprs_constructors_and_parser)
{
    fx_file *fx = FX_OPEN("norms/reprs.txt");
    lam_module *m[12] = {0};
    ASSERT_OK(lam_batch_norm1d_create(&m[0], 10, 1e-5, 0.1, true, true));
    ASSERT_OK(lam_batch_norm2d_create(&m[1], 64, 1e-3, LAM_MOMENTUM_NONE, true, true));
    m[2] = NULL; /* eps=1, momentum=1 as ints: only a model file can say so */
    ASSERT_OK(lam_batch_norm1d_create(&m[3], 0, 1e-5, 0.1, true, true));
    ASSERT_OK(lam_instance_norm1d_create(&m[4], 8, 1e-5, 0.1, false, false));
    ASSERT_OK(lam_instance_norm2d_create(&m[5], 3, 1e-5, 0.1, true, false));
    ASSERT_OK(lam_instance_norm2d_create(&m[6], 5, 1e-5, 0.5, false, true));
    ASSERT_OK(lam_group_norm_create(&m[7], 32, 64, 1e-5, true));
    ASSERT_OK(lam_group_norm_create(&m[8], 1, 3, 1e-6, false));
    m[9] = NULL; /* eps=2 (an int) */
    ASSERT_OK(lam_local_response_norm_create(&m[10], 2, 1e-4, 0.75, 1.0));
    m[11] = NULL; /* k=2 (an int) */
    for (int i = 0; i < 12; i++) {
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        if (m[i])
            EXPECT_REPR(m[i], fx, name);
        lam_module_release(m[i]);
        lam_module *p = parse(fx_text(fx, name));
        EXPECT_REPR(p, fx, name);
        lam_module_release(p);
    }
    fx_close(fx);
}

/* Every error PyTorch raises for a bad input or argument, word for word,
 * with the module path in front. */
static void expect_error(const fx_file *fx, const char *entry, const char *model, int ndim,
                         const int64_t *shape, bool train)
{
    const char *want = fx_text(fx, entry);
    cr_assert_not_null(want, "fixture lacks %s", entry);
    lam_module *m = parse(model);
    lam_module_train(m, train);
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, ndim, shape));
    lam_status st = lam_module_forward(m, x, &y);
    cr_expect_neq(st, LAM_OK, "%s: no error", entry);
    cr_expect(strstr(lam_last_error(), want) != NULL, "%s:\n got: %s\nwant: %s", entry,
              lam_last_error(), want);
    cr_expect_null(y);
    /* in a Sequential: the path and the layer come first */
    char seq[512];
    snprintf(seq, sizeof seq, "Sequential(Identity(), %s)", model);
    lam_module *s = parse(seq);
    lam_module_train(s, train);
    cr_expect_neq(lam_module_forward(s, x, &y), LAM_OK);
    cr_expect(strncmp(lam_last_error(), "Sequential[1] ", 14) == 0 && strstr(lam_last_error(), want),
              "%s in a Sequential: %s", entry, lam_last_error());
    lam_module_release(s);
    lam_tensor_release(x);
    lam_module_release(m);
}

#define SHAPE(...) (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

Test(norms, errors_as_pytorch)
{
    fx_file *fx = FX_OPEN("norms/errors.txt");
    expect_error(fx, "bn2d_3d", "BatchNorm2d(3)", SHAPE(3, 4, 5), false);
    expect_error(fx, "bn1d_4d", "BatchNorm1d(3)", SHAPE(2, 3, 4, 5), false);
    expect_error(fx, "bn1d_train_batch1", "BatchNorm1d(3)", SHAPE(1, 3), true);
    expect_error(fx, "bn2d_train_1x1", "BatchNorm2d(3)", SHAPE(1, 3, 1, 1), true);
    expect_error(fx, "bn1d_notrack_eval_batch1", "BatchNorm1d(3, track_running_stats=False)",
                 SHAPE(1, 3), false);
    expect_error(fx, "bn2d_channels", "BatchNorm2d(4)", SHAPE(2, 3, 4, 4), false);
    expect_error(fx, "bn2d_channels_notrack", "BatchNorm2d(4, track_running_stats=False)",
                 SHAPE(2, 3, 4, 4), true);
    expect_error(fx, "in2d_2d", "InstanceNorm2d(3)", SHAPE(3, 4), true);
    expect_error(fx, "in1d_4d", "InstanceNorm1d(3)", SHAPE(1, 3, 4, 4), true);
    expect_error(fx, "in1d_spatial1", "InstanceNorm1d(3)", SHAPE(2, 3, 1), true);
    expect_error(fx, "in1d_unbatched_spatial1", "InstanceNorm1d(3)", SHAPE(3, 1), true);
    expect_error(fx, "in1d_channels_affine", "InstanceNorm1d(4, affine=True)", SHAPE(2, 3, 5), true);
    expect_error(fx, "in1d_channels_track", "InstanceNorm1d(4, track_running_stats=True)",
                 SHAPE(2, 3, 5), true);
    expect_error(fx, "in1d_momentum_none", "InstanceNorm1d(3, momentum=None)", SHAPE(2, 3, 5), true);
    expect_error(fx, "gn_channels", "GroupNorm(2, 4)", SHAPE(2, 5, 3), true);
    expect_error(fx, "gn_weight", "GroupNorm(2, 4)", SHAPE(2, 6, 3), true);
    expect_error(fx, "gn_batch1", "GroupNorm(2, 2)", SHAPE(1, 2), false);
    expect_error(fx, "gn_1d", "GroupNorm(1, 3)", SHAPE(3), true);
    expect_error(fx, "lrn_2d", "LocalResponseNorm(2)", SHAPE(3, 4), false);

    lam_module *m = NULL;
    EXPECT_FAIL(lam_group_norm_create(&m, 3, 4, 1e-5, true), LAM_ERR_INVALID_ARGUMENT,
                fx_text(fx, "gn_ctor"));
    cr_expect_null(m);
    const char *bad = "GroupNorm(3, 4)";
    cr_expect_neq(lam_model_parse(bad, strlen(bad), NULL, &m), LAM_OK);
    cr_expect(strstr(lam_last_error(), fx_text(fx, "gn_ctor")), "%s", lam_last_error());
    EXPECT_FAIL(lam_batch_norm2d_create(&m, -1, 1e-5, 0.1, true, true), LAM_ERR_INVALID_ARGUMENT,
                "Trying to create tensor with negative dimension -1: [-1]");
    EXPECT_FAIL(lam_batch_norm2d_create(&m, 3, NAN, 0.1, true, true), LAM_ERR_INVALID_ARGUMENT,
                "eps must be a finite number");
    EXPECT_FAIL(lam_local_response_norm_create(&m, 0, 1e-4, 0.75, 1.0), LAM_ERR_INVALID_ARGUMENT,
                "size must be positive");
    EXPECT_FAIL(lam_group_norm_create(&m, -1, INT64_MIN, 1e-5, true), LAM_ERR_INVALID_ARGUMENT,
                "num_groups must be positive"); /* INT64_MIN % -1 would trap */
    EXPECT_FAIL(lam_group_norm_create(&m, 0, 4, 1e-5, true), LAM_ERR_INVALID_ARGUMENT,
                "integer division or modulo by zero");
    fx_close(fx);
}

/* A training forward changes the buffers' versions (what later derives from
 * them, such as a folded BatchNorm, sees the change); eval changes nothing. */
Test(norms, training_moves_buffer_versions)
{
    lam_module *m = parse("BatchNorm1d(2)");
    lam_tensor *rm = buffer_of(m, "running_mean"), *nbt = buffer_of(m, "num_batches_tracked");
    uint64_t v0 = lam_tensor_version(rm), n0 = lam_tensor_version(nbt);
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_from_data(&x, 2, (int64_t[]){2, 2}, (float[]){1, 2, 3, 5}));
    ASSERT_OK(lam_module_forward(m, x, &y)); /* eval (from a model file) */
    lam_tensor_release(y);
    cr_expect_eq(lam_tensor_version(rm), v0);
    lam_module_train(m, true);
    ASSERT_OK(lam_module_forward(m, x, &y));
    lam_tensor_release(y);
    cr_expect_gt(lam_tensor_version(rm), v0);
    cr_expect_gt(lam_tensor_version(nbt), n0);
    cr_expect_eq(lam_tensor_cdata_i64(nbt)[0], 1);
    /* mean 2, 3.5; unbiased variance 2, 4.5; momentum 0.1 */
    cr_expect_float_eq(lam_tensor_cdata(rm)[0], 0.2f, 1e-7);
    cr_expect_float_eq(lam_tensor_cdata(rm)[1], 0.35f, 1e-7);
    cr_expect_float_eq(lam_tensor_cdata(buffer_of(m, "running_var"))[1], 0.9f + 0.45f, 1e-6);
    lam_tensor_release(x);
    lam_module_release(m);
}

/* ---- buffers: register_buffer, named_buffers, state_dict, parameters() ---- */

Test(buffers, register_and_list_as_pytorch)
{
    lam_module *m = th_custom("Net");
    lam_tensor *w = NULL, *a = NULL, *b = NULL;
    ASSERT_OK(lam_tensor_create(&w, 1, (int64_t[]){3}));
    ASSERT_OK(lam_tensor_create(&a, 1, (int64_t[]){2}));
    ASSERT_OK(lam_tensor_create(&b, 1, (int64_t[]){4}));
    ASSERT_OK(lam_module_register_buffer(m, "stats", a, true));
    ASSERT_OK(lam_module_register_parameter(m, "weight", w));
    ASSERT_OK(lam_module_register_buffer(m, "scratch", b, false));
    lam_module *bn = parse("BatchNorm1d(3)");
    th_add(m, "bn", bn);

    /* state_dict: own parameters, own persistent buffers, then children */
    static const char *const sd_keys[] = {"weight", "stats", "bn.weight", "bn.bias",
                                          "bn.running_mean", "bn.running_var",
                                          "bn.num_batches_tracked"};
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_assert_eq(lam_state_dict_len(sd), 7);
    for (size_t i = 0; i < 7; i++)
        cr_expect_str_eq(lam_state_dict_key(sd, i), sd_keys[i]);
    lam_state_dict_free(sd);
    static const char *const buf_keys[] = {"stats", "scratch", "bn.running_mean", "bn.running_var",
                                           "bn.num_batches_tracked"};
    ASSERT_OK(lam_module_named_buffers(m, true, true, &sd));
    cr_assert_eq(lam_state_dict_len(sd), 5);
    for (size_t i = 0; i < 5; i++)
        cr_expect_str_eq(lam_state_dict_key(sd, i), buf_keys[i]);
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_named_buffers(m, false, true, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 2, "recurse=False: own buffers only");
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_named_parameters(m, true, true, &sd));
    cr_expect_eq(lam_state_dict_len(sd), 3, "weight, bn.weight, bn.bias");
    lam_state_dict_free(sd);
    cr_expect_eq(lam_module_num_parameters(m), 3 + 6, "buffers are not parameters");

    /* PyTorch's name rules */
    EXPECT_FAIL(lam_module_register_buffer(m, "weight", a, true), LAM_ERR_KEY,
                "attribute 'weight' already exists");
    EXPECT_FAIL(lam_module_register_parameter(m, "stats", a), LAM_ERR_KEY,
                "attribute 'stats' already exists");
    EXPECT_FAIL(lam_module_register_buffer(m, "bn", a, true), LAM_ERR_KEY,
                "attribute 'bn' already exists");
    EXPECT_FAIL(lam_module_register_buffer(m, "a.b", a, true), LAM_ERR_KEY,
                "buffer name can't contain \".\"");
    EXPECT_FAIL(lam_module_register_buffer(m, "", a, true), LAM_ERR_KEY,
                "buffer name can't be empty string \"\"");
    /* a layer's declared buffer keeps its shape */
    EXPECT_FAIL(lam_module_register_buffer(bn, "running_mean", a, true), LAM_ERR_SHAPE,
                "size mismatch for running_mean: registering a buffer with shape torch.Size([2])");
    /* re-registering changes persistence: scratch joins the state_dict */
    ASSERT_OK(lam_module_register_buffer(m, "scratch", b, true));
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_expect_str_eq(lam_state_dict_key(sd, 2), "scratch");
    lam_state_dict_free(sd);
    ASSERT_OK(lam_module_register_buffer(m, "scratch", b, false));

    /* load_state_dict: a non-persistent buffer's key is unexpected */
    ASSERT_OK(lam_module_state_dict(m, &sd));
    ASSERT_OK(lam_state_dict_set(sd, "scratch", b));
    lam_incompatible_keys keys;
    ASSERT_OK(lam_module_load_state_dict(m, sd, false, &keys));
    cr_expect_eq(keys.n_unexpected, 1);
    cr_expect_eq(keys.n_missing, 0);
    if (keys.n_unexpected)
        cr_expect_str_eq(keys.unexpected_keys[0], "scratch");
    lam_incompatible_keys_clear(&keys);
    EXPECT_FAIL(lam_module_load_state_dict(m, sd, true, NULL), LAM_ERR_STATE_DICT,
                "Unexpected key(s) in state_dict: \"scratch\"");
    lam_state_dict_free(sd);

    lam_module_release(bn);
    lam_module_release(m);
    lam_tensor_release(w);
    lam_tensor_release(a);
    lam_tensor_release(b);
}

/* ---- safetensors from PyTorch: num_batches_tracked is I64 ---- */

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static lam_module *bn_model(fx_file **fx)
{
    *fx = FX_OPEN("norms/bn_model.txt");
    return parse(fx_text(*fx, "repr"));
}

Test(safetensors_buffers, pytorch_file_runs_and_saves_back_byte_for_byte)
{
    fx_file *fx;
    lam_module *m = bn_model(&fx);
    char path[512], msg[512];
    snprintf(path, sizeof path, "%s/norms/bn_model.safetensors", fx_dir());
    ASSERT_OK(lam_model_load_weights(m, path, true, NULL));

    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_expect(fx_keys_equal(sd, fx, "state_dict_keys", msg, sizeof msg), "%s", msg);
    int64_t nbt0, n;
    cr_assert(fx_int(fx, "nbt0", &nbt0) && fx_int(fx, "num_parameters", &n));
    cr_expect_eq(lam_tensor_cdata_i64(lam_state_dict_get(sd, "0.num_batches_tracked"))[0], nbt0);
    cr_expect_eq(lam_module_num_parameters(m), n);

    lam_tensor *x = fx_lam_tensor(fx, "input"), *y = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(fx_tensor_close(y, fx_get_tensor(fx, "output"), msg, sizeof msg), "%s", msg);

    /* written back, it is the file PyTorch's state_dict made: I64 counts with
     * shape [], 2^53 + 3 exactly, the same header and bytes */
    char out[256];
    snprintf(out, sizeof out, "/tmp/lamina-test-norms-%d.safetensors", (int)getpid());
    ASSERT_OK(lam_safetensors_save(out, sd));
    size_t la, lb;
    unsigned char *a = read_all(path, &la), *b = read_all(out, &lb);
    cr_expect(la == lb && memcmp(a, b, la) == 0, "saved file differs from PyTorch's");
    b[lb] = 0;
    cr_expect(strstr((char *)b + 8, "\"2.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]"),
              "%.300s", (char *)b + 8);
    free(a);
    free(b);
    /* and loads again, keeping the count exact (saved again: same bytes) */
    lam_state_dict *again = NULL;
    ASSERT_OK(lam_safetensors_load(out, &again));
    ASSERT_OK(lam_module_load_state_dict(m, again, true, NULL));
    lam_state_dict_free(again);
    ASSERT_OK(lam_safetensors_save(out, sd));
    a = read_all(path, &la);
    b = read_all(out, &lb);
    cr_expect(la == lb && memcmp(a, b, la) == 0, "second round trip differs");
    free(a);
    free(b);
    unlink(out);

    lam_state_dict_free(sd);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}

Test(safetensors_buffers, i32_counts_load)
{
    fx_file *fx;
    lam_module *m = bn_model(&fx);
    char path[512];
    snprintf(path, sizeof path, "%s/norms/bn_model_i32.safetensors", fx_dir());
    ASSERT_OK(lam_model_load_weights(m, path, true, NULL));
    int64_t nbt0;
    cr_assert(fx_int(fx, "nbt0", &nbt0));
    cr_expect_eq(lam_tensor_cdata_i64(buffer_of(m, "0.num_batches_tracked"))[0], nbt0);
    cr_expect_eq(lam_tensor_cdata_i64(buffer_of(m, "2.num_batches_tracked"))[0], 5);
    lam_module_release(m);
    fx_close(fx);
}

/* An integer tensor for a float parameter stays an error, and nothing loads. */
Test(safetensors_buffers, integer_tensor_for_float_weight_fails)
{
    fx_file *fx;
    lam_module *m = bn_model(&fx);
    char path[512];
    snprintf(path, sizeof path, "%s/norms/bn_model_int_weight.safetensors", fx_dir());
    size_t n0;
    float *before = th_snapshot(m, &n0);
    EXPECT_FAIL(lam_model_load_weights(m, path, true, NULL), LAM_ERR_STATE_DICT,
                "dtype mismatch for 1.bias: copying an I64 (integer) tensor from checkpoint into "
                "a float32 tensor");
    cr_expect(strstr(lam_last_error(), "bn_model_int_weight.safetensors:"), "%s", lam_last_error());
    size_t n1;
    float *after = th_snapshot(m, &n1);
    cr_expect(n0 == n1 && memcmp(before, after, n0 * sizeof(float)) == 0, "a failed load changed the model");
    free(before);
    free(after);
    /* non-strict too: a dtype mismatch is not a missing key */
    EXPECT_FAIL(lam_model_load_weights(m, path, false, NULL), LAM_ERR_STATE_DICT, "dtype mismatch");
    lam_module_release(m);
    fx_close(fx);
}

/* A state_dict without num_batches_tracked (from before PyTorch 0.4.1) loads
 * it as 0, as PyTorch does for a state_dict without version metadata. */
Test(safetensors_buffers, missing_count_loads_as_zero)
{
    fx_file *fx;
    lam_module *m = bn_model(&fx);
    char path[512];
    snprintf(path, sizeof path, "%s/norms/bn_model_no_count.safetensors", fx_dir());
    lam_module_train(m, true);
    lam_tensor *x = fx_lam_tensor(fx, "input"), *y = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y)); /* count 1 */
    lam_tensor_release(y);
    lam_module_eval(m);
    ASSERT_OK(lam_model_load_weights(m, path, true, NULL));
    int64_t want;
    cr_assert(fx_int(fx, "no_count_nbt0", &want));
    cr_expect_eq(lam_tensor_cdata_i64(buffer_of(m, "0.num_batches_tracked"))[0], want);
    lam_tensor_release(x);
    lam_module_release(m);
    fx_close(fx);
}

/* A float32 count (lamina's own files before integer buffers) loads
 * truncated, as PyTorch's copy_ into an int64; NaN cannot. */
Test(buffers, float_into_integer_buffer)
{
    lam_module *m = parse("BatchNorm1d(2)");
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    lam_state_dict *in = NULL;
    ASSERT_OK(lam_state_dict_create(&in));
    for (size_t i = 0; i < lam_state_dict_len(sd); i++)
        ASSERT_OK(lam_state_dict_set(in, lam_state_dict_key(sd, i), lam_state_dict_tensor(sd, i)));
    lam_tensor *c = NULL;
    ASSERT_OK(lam_tensor_from_data(&c, 1, (int64_t[]){1}, (float[]){3.7f}));
    ASSERT_OK(lam_state_dict_set(in, "num_batches_tracked", c));
    ASSERT_OK(lam_module_load_state_dict(m, in, true, NULL));
    cr_expect_eq(lam_tensor_cdata_i64(buffer_of(m, "num_batches_tracked"))[0], 3);
    lam_tensor_data(c)[0] = NAN;
    EXPECT_FAIL(lam_module_load_state_dict(m, in, true, NULL), LAM_ERR_STATE_DICT,
                "dtype mismatch for num_batches_tracked: copying a float tensor holding NaN");
    cr_expect_eq(lam_tensor_cdata_i64(buffer_of(m, "num_batches_tracked"))[0], 3);
    lam_tensor_release(c);
    lam_state_dict_free(in);
    lam_state_dict_free(sd);
    lam_module_release(m);
}

/* num_batches_tracked at INT64_MAX: the next training step wraps it as
 * PyTorch's int64 add_ does (no signed overflow: UBSan checks). */
Test(buffers, count_wraps_as_int64)
{
    char header[] = "{\"num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}";
    size_t hl = strlen(header), padded = (hl + 7) / 8 * 8;
    unsigned char buf[256] = {0};
    buf[0] = (unsigned char)padded;
    memcpy(buf + 8, header, hl);
    memset(buf + 8 + hl, ' ', padded - hl);
    memset(buf + 8 + padded, 0xff, 7);
    buf[8 + padded + 7] = 0x7f; /* INT64_MAX, little-endian */
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_safetensors_parse(buf, 8 + padded + 8, &sd));
    lam_module *m = parse("BatchNorm1d(2)");
    ASSERT_OK(lam_module_load_state_dict(m, sd, false, NULL));
    lam_state_dict_free(sd);
    lam_module_train(m, true);
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_from_data(&x, 2, (int64_t[]){2, 2}, (float[]){1, 2, 3, 5}));
    ASSERT_OK(lam_module_forward(m, x, &y));
    char out[256];
    snprintf(out, sizeof out, "/tmp/lamina-test-wrap-%d.safetensors", (int)getpid());
    ASSERT_OK(lam_module_state_dict(m, &sd));
    ASSERT_OK(lam_safetensors_save(out, sd));
    size_t len;
    unsigned char *file = read_all(out, &len);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)file[i] << (8 * i);
    /* the I64 count comes first in the data (8-byte dtypes sort first) */
    static const unsigned char int64_min[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
    cr_expect(memcmp(file + 8 + hlen, int64_min, 8) == 0, "count did not wrap to INT64_MIN");
    free(file);
    unlink(out);
    lam_state_dict_free(sd);
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
}

/* InstanceNorm without running statistics refuses a state_dict that has
 * them, strict or not, in PyTorch's words and order; nothing loads. */
Test(norms, instance_norm_refuses_legacy_running_stats)
{
    fx_file *fx = FX_OPEN("norms/in_legacy_load.txt");
    lam_module *m = parse(fx_text(fx, "repr"));
    lam_state_dict *sd = fx_state_dict(fx);
    size_t n0;
    float *before = th_snapshot(m, &n0);
    for (int strict = 1; strict >= 0; strict--) {
        lam_incompatible_keys keys;
        lam_status st = lam_module_load_state_dict(m, sd, strict, &keys);
        cr_expect_eq(st, LAM_ERR_STATE_DICT);
        EXPECT_STR_EQ(lam_last_error(), fx_text(fx, strict ? "error_strict" : "error_nonstrict"),
                      strict ? "strict" : "non-strict");
        lam_incompatible_keys_clear(&keys);
    }
    size_t n1;
    float *after = th_snapshot(m, &n1);
    cr_expect(n0 == n1 && memcmp(before, after, n0 * sizeof(float)) == 0, "a failed load changed the model");
    free(before);
    free(after);
    lam_state_dict_free(sd);
    lam_module_release(m);
    fx_close(fx);
}
