/* Vision layers (issue 14) against PyTorch 1.13: the files in tests/fixtures/vision
 * from tools/gen-fixtures.py (gen_vision).
 *
 * Per case: the constructor call read by the model-file parser, its repr
 * byte for byte, the repr read back to the same repr, forward vs PyTorch
 * (FX_ATOL/FX_RTOL of fixture.h: expected = PyTorch in float64 rounded to
 * float32), output_shape agreeing with forward, and a planned second
 * forward inside a Sequential giving the same bits.  Per error case:
 * PyTorch's message for a malformed configuration or input, found in
 * lamina's (after the module path and type name). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    lam_status st = lam_model_parse(text, strlen(text), "<fixture>", &m);
    cr_assert_eq(st, LAM_OK, "parse %s: %s", text, fx_show(lam_last_error()));
    return m;
}

static void set_weight(lam_module *m, const fx_tensor *w)
{
    th_set_param(m, "weight", w->data, (size_t)w->numel);
}

static void run_file(const char *file)
{
    char path[96], key[32], msg[512];
    snprintf(path, sizeof path, "vision/%s.txt", file);
    fx_file *fx = FX_OPEN(path);
    int64_t n = 0, nerr = 0;
    cr_assert(fx_int(fx, "n", &n) && fx_int(fx, "nerr", &nerr));
    for (int64_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "ctor_%lld", (long long)i);
        const char *ctor = fx_text(fx, key);
        snprintf(key, sizeof key, "repr_%lld", (long long)i);
        const char *want = fx_text(fx, key);
        cr_assert(ctor && want, "%s: case %lld missing", file, (long long)i);
        lam_module *m = parse(ctor);
        char *repr = lam_module_repr(m);
        EXPECT_STR_EQ(repr, want, ctor);
        lam_free(repr);
        lam_module *back = parse(want); /* the repr reads back to itself */
        repr = lam_module_repr(back);
        EXPECT_STR_EQ(repr, want, want);
        lam_free(repr);
        lam_module_release(back);

        snprintf(key, sizeof key, "weight_%lld", (long long)i);
        const fx_tensor *w = fx_get_tensor(fx, key);
        if (w)
            set_weight(m, w);
        snprintf(key, sizeof key, "input_%lld", (long long)i);
        lam_tensor *x = fx_lam_tensor(fx, key);
        snprintf(key, sizeof key, "output_%lld", (long long)i);
        const fx_tensor *y = fx_get_tensor(fx, key);
        cr_assert(x && y);

        int ondim = 0;
        int64_t oshape[LAM_MAX_DIMS];
        ASSERT_OK(lam_module_output_shape(m, lam_tensor_ndim(x), lam_tensor_shape(x), &ondim,
                                          oshape));
        lam_tensor *got = NULL;
        lam_status st = lam_module_forward(m, x, &got);
        cr_assert_eq(st, LAM_OK, "%s: %s", ctor, fx_show(lam_last_error()));
        cr_expect(fx_tensor_close(got, y, msg, sizeof msg), "%s on input_%lld: %s", ctor,
                  (long long)i, msg);
        cr_expect_eq(ondim, lam_tensor_ndim(got), "%s: output_shape rank", ctor);
        for (int d = 0; d < ondim && d < lam_tensor_ndim(got); d++)
            cr_expect_eq(oshape[d], lam_tensor_shape(got)[d], "%s: output_shape[%d]", ctor, d);

        /* planned: inside a Sequential, twice, the same bits */
        lam_module *seq = TH_SEQ(m);
        for (int rep = 0; rep < 2; rep++) {
            lam_tensor *p = NULL;
            ASSERT_OK(lam_module_forward(seq, x, &p));
            cr_expect(lam_tensor_same_shape(p, got) &&
                          memcmp(lam_tensor_cdata(p), lam_tensor_cdata(got),
                                 (size_t)lam_tensor_numel(got) * sizeof(float)) == 0,
                      "%s: planned forward differs", ctor);
            lam_tensor_release(p);
        }
        lam_module_release(seq);
        lam_tensor_release(got);
        lam_tensor_release(x);
        lam_module_release(m);
    }
    for (int64_t i = 0; i < nerr; i++) {
        snprintf(key, sizeof key, "ector_%lld", (long long)i);
        const char *ctor = fx_text(fx, key);
        snprintf(key, sizeof key, "emsg_%lld", (long long)i);
        const char *want = fx_text(fx, key);
        snprintf(key, sizeof key, "einput_%lld", (long long)i);
        lam_tensor *x = fx_lam_tensor(fx, key);
        cr_assert(ctor && want && x);
        lam_module *m = NULL;
        lam_clear_error();
        lam_status st = lam_model_parse(ctor, strlen(ctor), "<fixture>", &m);
        if (st == LAM_OK) {
            lam_tensor *got = NULL;
            st = lam_module_forward(m, x, &got);
            cr_expect_neq(st, LAM_OK, "%s on %s: no error (PyTorch: %s)", ctor,
                          lam_shape_str(lam_tensor_ndim(x), lam_tensor_shape(x), msg, sizeof msg),
                          want);
            lam_tensor_release(got);
        }
        snprintf(msg, sizeof msg, "%s", lam_last_error());
        cr_expect(strstr(msg, want) != NULL, "%s:\n got: %s\nwant: %s", ctor, fx_show(msg), want);
        lam_module_release(m);
        lam_tensor_release(x);
    }
    fx_close(fx);
}

Test(vision, maxpool1d) { run_file("maxpool1d"); }
Test(vision, maxpool2d) { run_file("maxpool2d"); }
Test(vision, avgpool1d) { run_file("avgpool1d"); }
Test(vision, avgpool2d) { run_file("avgpool2d"); }
Test(vision, adaptiveavgpool1d) { run_file("adaptiveavgpool1d"); }
Test(vision, adaptiveavgpool2d) { run_file("adaptiveavgpool2d"); }
Test(vision, adaptivemaxpool1d) { run_file("adaptivemaxpool1d"); }
Test(vision, adaptivemaxpool2d) { run_file("adaptivemaxpool2d"); }
Test(vision, activations) { run_file("activations"); }
Test(vision, unflatten) { run_file("unflatten"); }
Test(vision, shuffle) { run_file("shuffle"); }
Test(vision, upsample) { run_file("upsample"); }
Test(vision, padding) { run_file("padding"); }

/* ---- the new activations against PyTorch's own float32 results ----
 * Hardswish, Hardsigmoid, Hardtanh and PReLU are exact (0 ULP); Mish is
 * tanhf(log1pf(expf(x))) from libm against PyTorch's vectorised one:
 * at most MISH_ULP units in the last place (or 1e-6 absolute near 0). */
#define MISH_ULP 4

static int64_t ulp_distance(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    if (ia < 0)
        ia = INT32_MIN - ia;
    if (ib < 0)
        ib = INT32_MIN - ib;
    return ia > ib ? (int64_t)ia - ib : (int64_t)ib - ia;
}

Test(vision, activations_within_ulp_of_pytorch_float32)
{
    fx_file *fx = FX_OPEN("vision/activations.txt");
    int64_t n = 0;
    cr_assert(fx_int(fx, "n", &n));
    int checked = 0;
    for (int64_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof key, "ctor_%lld", (long long)i);
        const char *ctor = fx_text(fx, key);
        bool mish = strncmp(ctor, "Mish", 4) == 0;
        bool exact = !strncmp(ctor, "Hard", 4) || !strncmp(ctor, "PReLU", 5);
        if (!mish && !exact)
            continue;
        lam_module *m = parse(ctor);
        snprintf(key, sizeof key, "weight_%lld", (long long)i);
        const fx_tensor *w = fx_get_tensor(fx, key);
        if (w)
            set_weight(m, w);
        snprintf(key, sizeof key, "input_%lld", (long long)i);
        lam_tensor *x = fx_lam_tensor(fx, key), *got = NULL;
        snprintf(key, sizeof key, "f32_%lld", (long long)i);
        const fx_tensor *want = fx_get_tensor(fx, key);
        cr_assert(x && want);
        ASSERT_OK(lam_module_forward(m, x, &got));
        const float *g = lam_tensor_cdata(got);
        for (int64_t j = 0; j < want->numel; j++) {
            int64_t d = ulp_distance(g[j], want->data[j]);
            bool ok = exact ? d == 0 : d <= MISH_ULP || fabsf(g[j] - want->data[j]) <= 1e-6f;
            cr_expect(ok, "%s: [%lld] = %.9g, PyTorch float32 %.9g (%lld ULP)", ctor, (long long)j,
                      g[j], want->data[j], (long long)d);
        }
        checked++;
        lam_tensor_release(got);
        lam_tensor_release(x);
        lam_module_release(m);
    }
    cr_expect_geq(checked, 10);
    fx_close(fx);
}

/* ---- the C constructors: PyTorch's reprs, the same layer as the model-file form ---- */

static lam_tensor *random_tensor(int ndim, const int64_t *shape, unsigned seed)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create(&t, ndim, shape));
    float *d = lam_tensor_data(t);
    for (int64_t i = 0; i < lam_tensor_numel(t); i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (float)((seed >> 8) % 2001) / 250.0f - 4.0f;
    }
    return t;
}

/* (takes &m: argument evaluation order would otherwise read m before the call) */
static void same_layer(lam_status st, lam_module **pm, const char *repr, const char *ctor, int ndim,
                       const int64_t *shape)
{
    lam_module *m = *pm;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    cr_assert_eq(st, LAM_OK, "%s: %s", repr, msg);
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, repr, repr);
    lam_free(r);
    lam_module *p = parse(ctor);
    lam_tensor *x = random_tensor(ndim, shape, 7), *a = NULL, *b = NULL;
    ASSERT_OK(lam_module_forward(m, x, &a));
    ASSERT_OK(lam_module_forward(p, x, &b));
    cr_expect(lam_tensor_same_shape(a, b) &&
                  memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                         (size_t)lam_tensor_numel(a) * sizeof(float)) == 0,
              "%s differs from %s", repr, ctor);
    lam_tensor_release(a);
    lam_tensor_release(b);
    lam_tensor_release(x);
    lam_module_release(p);
    lam_module_release(m);
}

Test(vision, c_constructors_match_the_model_file_forms)
{
    const int64_t s4[4] = {2, 3, 9, 8}, s3[3] = {2, 3, 11}, s2[2] = {3, 12};
    const int64_t k33[2] = {3, 3}, k32[2] = {3, 2}, s22[2] = {2, 2}, p11[2] = {1, 1};
    lam_module *m = NULL;
    same_layer(lam_max_pool2d_create(&m, k33, s22, p11, NULL, true), &m,
               "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)",
               "MaxPool2d(3, 2, 1, ceil_mode=True)", 4, s4);
    same_layer(lam_max_pool2d_create(&m, k32, NULL, NULL, NULL, false), &m,
               "MaxPool2d(kernel_size=(3, 2), stride=(3, 2), padding=0, dilation=1, ceil_mode=False)",
               "MaxPool2d((3, 2))", 4, s4);
    same_layer(lam_max_pool1d_create(&m, 3, LAM_NONE_INT, 1, 2, false), &m,
               "MaxPool1d(kernel_size=3, stride=3, padding=1, dilation=2, ceil_mode=False)",
               "MaxPool1d(3, padding=1, dilation=2)", 3, s3);
    same_layer(lam_avg_pool1d_create(&m, 3, 2, 1, true, false), &m,
               "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))",
               "AvgPool1d(3, 2, 1, ceil_mode=True, count_include_pad=False)", 3, s3);
    same_layer(lam_avg_pool2d_create(&m, k32, s22, p11, false, true, 5), &m,
               "AvgPool2d(kernel_size=(3, 2), stride=2, padding=1)",
               "AvgPool2d((3, 2), 2, 1, divisor_override=5)", 4, s4);
    const int64_t o_none7[2] = {LAM_NONE_INT, 7}, o11[2] = {1, 1};
    same_layer(lam_adaptive_avg_pool2d_create(&m, o_none7), &m,
               "AdaptiveAvgPool2d(output_size=(None, 7))", "AdaptiveAvgPool2d((None, 7))", 4, s4);
    same_layer(lam_adaptive_max_pool2d_create(&m, o11), &m, "AdaptiveMaxPool2d(output_size=1)",
               "AdaptiveMaxPool2d(1)", 4, s4);
    same_layer(lam_adaptive_avg_pool1d_create(&m, 5), &m, "AdaptiveAvgPool1d(output_size=5)",
               "AdaptiveAvgPool1d(5)", 3, s3);
    same_layer(lam_adaptive_max_pool1d_create(&m, 13), &m, "AdaptiveMaxPool1d(output_size=13)",
               "AdaptiveMaxPool1d(13)", 3, s3);
    same_layer(lam_hardswish_create(&m), &m, "Hardswish()", "Hardswish(inplace=True)", 2, s2);
    same_layer(lam_hardsigmoid_create(&m), &m, "Hardsigmoid()", "Hardsigmoid()", 2, s2);
    same_layer(lam_mish_create(&m), &m, "Mish()", "Mish()", 2, s2);
    same_layer(lam_hardtanh_create(&m, -2, 3), &m, "Hardtanh(min_val=-2.0, max_val=3.0)",
               "Hardtanh(-2, 3)", 2, s2);
    same_layer(lam_prelu_create(&m, 3, 0.1), &m, "PReLU(num_parameters=3)",
               "PReLU(3, init=0.1)", 4, s4);
    const int64_t uf[2] = {2, 6};
    same_layer(lam_unflatten_create(&m, 1, 2, uf), &m, "Unflatten(dim=1, unflattened_size=(2, 6))",
               "Unflatten(1, (2, 6))", 2, s2);
    same_layer(lam_pixel_unshuffle_create(&m, 2), &m, "PixelUnshuffle(downscale_factor=2)",
               "PixelUnshuffle(2)", 4, (const int64_t[]){1, 2, 4, 6});
    same_layer(lam_pixel_shuffle_create(&m, 2), &m, "PixelShuffle(upscale_factor=2)",
               "PixelShuffle(2)", 4, (const int64_t[]){1, 8, 3, 5});
    same_layer(lam_channel_shuffle_create(&m, 3), &m, "ChannelShuffle(groups=3)",
               "ChannelShuffle(3)", 4, s4);
    const double two = 2.0, sf[2] = {1.5, 2.0};
    same_layer(lam_upsample_create(&m, 0, NULL, &two, "bilinear", 1), &m,
               "Upsample(scale_factor=2.0, mode=bilinear)",
               "Upsample(scale_factor=2, mode='bilinear', align_corners=True)", 4, s4);
    same_layer(lam_upsample_create(&m, 2, NULL, sf, NULL, -1), &m,
               "Upsample(scale_factor=(1.5, 2.0), mode=nearest)",
               "Upsample(scale_factor=(1.5, 2), mode=nearest)", 4, s4);
    const int64_t sz[2] = {5, 4};
    same_layer(lam_upsample_create(&m, 2, sz, NULL, "bilinear", 0), &m,
               "Upsample(size=(5, 4), mode=bilinear)",
               "Upsample(size=(5, 4), mode=bilinear, align_corners=False)", 4, s4);
    const int64_t p1234[4] = {1, 2, 3, 4}, p12[2] = {1, 2};
    same_layer(lam_zero_pad2d_create(&m, p1234), &m, "ZeroPad2d((1, 2, 3, 4))",
               "ZeroPad2d((1, 2, 3, 4))", 4, s4);
    same_layer(lam_constant_pad2d_create(&m, p1234, 3.5), &m,
               "ConstantPad2d(padding=(1, 2, 3, 4), value=3.5)",
               "ConstantPad2d((1, 2, 3, 4), 3.5)", 4, s4);
    same_layer(lam_constant_pad1d_create(&m, p12, -1), &m,
               "ConstantPad1d(padding=(1, 2), value=-1.0)", "ConstantPad1d((1, 2), -1.0)", 3, s3);
    same_layer(lam_reflection_pad2d_create(&m, p1234), &m, "ReflectionPad2d((1, 2, 3, 4))",
               "ReflectionPad2d((1, 2, 3, 4))", 4, s4);
    same_layer(lam_reflection_pad1d_create(&m, p12), &m, "ReflectionPad1d((1, 2))",
               "ReflectionPad1d((1, 2))", 3, s3);
    same_layer(lam_replication_pad2d_create(&m, p1234), &m, "ReplicationPad2d((1, 2, 3, 4))",
               "ReplicationPad2d((1, 2, 3, 4))", 4, s4);
    same_layer(lam_replication_pad1d_create(&m, p12), &m, "ReplicationPad1d((1, 2))",
               "ReplicationPad1d(padding=(1, 2))", 3, s3);

    EXPECT_FAIL(lam_hardtanh_create(&m, 1, 1), LAM_ERR_INVALID_ARGUMENT,
                "Hardtanh: max_val (1.0) must be greater than min_val (1.0)");
    EXPECT_FAIL(lam_prelu_create(&m, -1, 0.25), LAM_ERR_INVALID_ARGUMENT,
                "PReLU: Trying to create tensor with negative dimension -1: [-1]");
    EXPECT_FAIL(lam_upsample_create(&m, 0, NULL, &two, "bicubic", -1), LAM_ERR_INVALID_ARGUMENT,
                "Upsample: mode 'bicubic' is not supported");
    EXPECT_FAIL(lam_dropout2d_create(&m, 1.5), LAM_ERR_INVALID_ARGUMENT,
                "dropout probability has to be between 0 and 1, but got 1.5");
}

/* PReLU's parameter: named weight, num_parameters values of init. */
Test(vision, prelu_weight_is_filled_with_init)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_prelu_create(&m, 4, 0.3));
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_assert_eq(lam_state_dict_len(sd), 1);
    lam_tensor *w = lam_state_dict_get(sd, "weight");
    cr_assert_not_null(w);
    cr_expect_eq(lam_tensor_numel(w), 4);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(lam_tensor_cdata(w)[i], 0.3f);
    lam_state_dict_free(sd);
    lam_module_release(m);
}

/* The model-file forms that only a constructor call can express. */
Test(vision, model_file_forms)
{
    lam_module *m = NULL;
    const char *bad = "MaxPool2d(2, return_indices=True)";
    EXPECT_FAIL(lam_model_parse(bad, strlen(bad), "x.lam", &m), LAM_ERR_INVALID_ARGUMENT,
                "MaxPool2d: return_indices=True is not supported");
    bad = "AdaptiveMaxPool2d(2, True)";
    EXPECT_FAIL(lam_model_parse(bad, strlen(bad), "x.lam", &m), LAM_ERR_INVALID_ARGUMENT,
                "AdaptiveMaxPool2d: return_indices=True is not supported");
    bad = "Upsample(scale_factor=2, mode=nearest, recompute_scale_factor=True)";
    EXPECT_FAIL(lam_model_parse(bad, strlen(bad), "x.lam", &m), LAM_ERR_INVALID_ARGUMENT,
                "recompute_scale_factor=True is not supported");
    bad = "Upsample(scale_factor=2, mode=nearest, align=nearest)"; /* a bare name only for mode */
    EXPECT_FAIL(lam_model_parse(bad, strlen(bad), "x.lam", &m), LAM_ERR_FORMAT,
                "unknown name 'nearest'");
    bad = "MaxPool2d(kernel_size=(3, 'a'))";
    EXPECT_FAIL(lam_model_parse(bad, strlen(bad), "x.lam", &m), LAM_ERR_INVALID_ARGUMENT,
                "MaxPool2d: kernel_size must be an int or a tuple of ints, got an entry 'a'");
    /* a torchvision-style features block reads back to itself */
    const char *text = "Sequential(\n"
                       "  (0): ReLU(inplace=True)\n"
                       "  (1): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)\n"
                       "  (2): Hardswish()\n"
                       "  (3): AdaptiveAvgPool2d(output_size=(1, 1))\n"
                       "  (4): Dropout(p=0.2, inplace=True)\n"
                       "  (5): Upsample(scale_factor=2.0, mode=nearest)\n"
                       "  (6): Unflatten(dim=1, unflattened_size=[2, 2])\n"
                       ")";
    ASSERT_OK(lam_model_parse(text, strlen(text), "x.lam", &m));
    char *r = lam_module_repr(m);
    EXPECT_STR_EQ(r, text, "features");
    lam_free(r);
    lam_module_release(m);
}

/* Training mode: Dropout2d zeroes whole channels, the rest scaled by
 * 1/(1-p); AlphaDropout gives a*x + alpha*a*p (kept) or the dropped value
 * -alpha*a + alpha*a*p; Feature variants per channel; eval is the identity. */
Test(vision, channel_and_alpha_dropout_in_training)
{
    const int64_t shape[4] = {4, 16, 3, 5};
    lam_tensor *x = random_tensor(4, shape, 11), *y = NULL;
    const float *xd = lam_tensor_cdata(x);
    lam_manual_seed(3);
    lam_module *m = NULL;
    double p = 0.4;
    ASSERT_OK(lam_dropout2d_create(&m, p));
    lam_module_train(m, true);
    ASSERT_OK(lam_module_forward(m, x, &y));
    int zeroed = 0;
    float scale = (float)(1.0 / (1.0 - p));
    for (int c = 0; c < 64; c++) {
        const float *yc = lam_tensor_cdata(y) + c * 15, *xc = xd + c * 15;
        bool z = yc[0] == 0.0f && xc[0] != 0.0f;
        zeroed += z;
        for (int i = 0; i < 15; i++)
            cr_expect_eq(yc[i], z ? 0.0f : xc[i] * scale, "channel %d [%d]", c, i);
    }
    cr_expect(zeroed > 10 && zeroed < 45, "%d of 64 channels dropped with p=0.4", zeroed);
    lam_tensor_release(y);
    lam_module_eval(m);
    ASSERT_OK(lam_module_forward(m, x, &y));
    cr_expect(memcmp(lam_tensor_cdata(y), xd, 960 * sizeof(float)) == 0, "eval: identity");
    lam_tensor_release(y);
    lam_module_release(m);

    const double al = 1.7580993408473766;
    double a = 1.0 / sqrt((al * al * p + 1) * (1 - p));
    for (int feature = 0; feature < 2; feature++) {
        ASSERT_OK(feature ? lam_feature_alpha_dropout_create(&m, p) : lam_alpha_dropout_create(&m, p));
        lam_module_train(m, true);
        ASSERT_OK(lam_module_forward(m, x, &y));
        const float *yd = lam_tensor_cdata(y);
        int dropped = 0;
        for (int i = 0; i < 960; i++) {
            double kept = xd[i] * a + al * a * p, gone = -al * a + al * a * p;
            bool is_kept = fabs(yd[i] - kept) <= 1e-5 * (1 + fabs(kept));
            bool is_gone = fabs(yd[i] - gone) <= 1e-5;
            cr_expect(is_kept || is_gone, "alpha dropout [%d] = %g", i, yd[i]);
            dropped += is_gone && !is_kept;
            if (feature && i % 15) /* one decision per channel */
                cr_expect_eq(is_gone && !is_kept,
                             fabs(yd[i - 1] - (-al * a + al * a * p)) <= 1e-5 &&
                                 !(fabs(yd[i - 1] - (xd[i - 1] * a + al * a * p)) <=
                                   1e-5 * (1 + fabs(xd[i - 1] * a + al * a * p))),
                             "feature alpha dropout: [%d] differs from its channel", i);
        }
        cr_expect(dropped > 150 && dropped < 650, "%d of 960 dropped with p=0.4", dropped);
        lam_tensor_release(y);
        lam_module_release(m);
    }
    /* Dropout1d checks its input rank in eval mode too, as PyTorch */
    ASSERT_OK(lam_dropout1d_create(&m, 0.5));
    EXPECT_FAIL(lam_module_forward(m, x, &y), LAM_ERR_SHAPE,
                "dropout1d: Expected 2D or 3D input, but received a 4D input");
    lam_module_release(m);
    lam_tensor_release(x);
}

/* In a plan with other layers, split across threads: the same bits as each
 * layer run alone, for 1 and 4 threads. */
Test(vision, planned_and_threaded_same_bits)
{
    const char *text = "Sequential(\n"
                       "  (0): Linear(in_features=12, out_features=32, bias=True)\n"
                       "  (1): Hardswish()\n"
                       "  (2): Unflatten(dim=1, unflattened_size=(2, 4, 4))\n"
                       "  (3): ReflectionPad2d((1, 1, 1, 1))\n"
                       "  (4): MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)\n"
                       "  (5): Upsample(scale_factor=2.0, mode=nearest)\n"
                       "  (6): AvgPool2d(kernel_size=2, stride=1, padding=1)\n"
                       "  (7): PReLU(num_parameters=2)\n"
                       "  (8): AdaptiveMaxPool2d(output_size=(3, 2))\n"
                       "  (9): Flatten(start_dim=1, end_dim=-1)\n"
                       "  (10): Linear(in_features=12, out_features=5, bias=True)\n"
                       "  (11): Mish()\n"
                       ")";
    lam_manual_seed(5);
    lam_module *m = NULL;
    ASSERT_OK(lam_model_parse(text, strlen(text), "x.lam", &m));
    const int64_t shape[2] = {67, 12};
    lam_tensor *x = random_tensor(2, shape, 13);
    /* one layer after another */
    lam_tensor *ref = NULL;
    ASSERT_OK(lam_tensor_clone(&ref, x));
    for (size_t i = 0; i < 12; i++) {
        lam_module *c = NULL;
        char name[8];
        snprintf(name, sizeof name, "%zu", i);
        ASSERT_OK(lam_module_get_submodule(m, name, &c));
        lam_tensor *next = NULL;
        ASSERT_OK(lam_module_forward(c, ref, &next));
        lam_tensor_release(ref);
        ref = next;
    }
    for (int threads = 1; threads <= 4; threads += 3) {
        lam_set_num_threads(threads);
        for (int rep = 0; rep < 2; rep++) {
            lam_tensor *y = NULL;
            ASSERT_OK(lam_module_forward(m, x, &y));
            cr_expect(lam_tensor_same_shape(y, ref) &&
                          memcmp(lam_tensor_cdata(y), lam_tensor_cdata(ref),
                                 (size_t)lam_tensor_numel(ref) * sizeof(float)) == 0,
                      "%d threads, run %d: differs from the layers run alone", threads, rep);
            lam_tensor_release(y);
        }
    }
    lam_set_num_threads(0);
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_module_release(m);
}

/* MaxPool2d keeps PyTorch 1.13's rule in every kernel table: NaN anywhere in
 * a window gives NaN, padding is -inf (a window of -inf and padding gives
 * -inf), and of equal values (+0 and -0) the first in window order is
 * kept.  Expected bits printed by PyTorch 1.13 for this input. */
Test(vision, maxpool2d_nan_inf_signed_zeros_as_pytorch)
{
    const float nan = NAN, inf = INFINITY;
    const float xv[30] = {1, 2, nan, -1, 0, -0.0f, -0.0f, 0, 3, -inf, -2, -0.0f,
                          -inf, -inf, -inf, 5, nan, 1, 0, -0.0f, -3, -4, 2, 2,
                          -0.0f, 0, 7, -1, inf, -0.0f};
    const int64_t shape[4] = {1, 1, 5, 6};
    static const struct {
        int64_t k[2], s[2], p[2], d[2];
        bool ceil;
        int64_t oh, ow;
        uint32_t bits[42];
    } cases[] = {
        {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, 3, 3,
         {0x40000000u, 0x7fc00000u, 0u, 0x80000000u, 0x40a00000u, 0x7fc00000u, 0u, 0x40e00000u,
          0x7f800000u}},
        {{2, 2}, {1, 1}, {1, 1}, {1, 1}, false, 6, 7,
         {0x3f800000u, 0x40000000u, 0x7fc00000u, 0x7fc00000u, 0u, 0u, 0x80000000u,
          0x3f800000u, 0x40000000u, 0x7fc00000u, 0x7fc00000u, 0u, 0u, 0x80000000u,
          0x80000000u, 0x80000000u, 0x40400000u, 0x40a00000u, 0x7fc00000u, 0x7fc00000u,
          0x3f800000u, 0u, 0u, 0x80000000u, 0x40a00000u, 0x7fc00000u, 0x7fc00000u,
          0x40000000u, 0u, 0u, 0x40e00000u, 0x40e00000u, 0x7f800000u, 0x7f800000u,
          0x40000000u, 0x80000000u, 0x80000000u, 0x40e00000u, 0x40e00000u, 0x7f800000u,
          0x7f800000u, 0x80000000u}},
        {{3, 3}, {1, 1}, {1, 1}, {1, 1}, true, 5, 6,
         {0x40000000u, 0x7fc00000u, 0x7fc00000u, 0x7fc00000u, 0u, 0u, 0x40000000u,
          0x7fc00000u, 0x7fc00000u, 0x7fc00000u, 0x7fc00000u, 0x7fc00000u, 0x80000000u,
          0x40400000u, 0x40a00000u, 0x7fc00000u, 0x7fc00000u, 0x7fc00000u, 0u, 0x40e00000u,
          0x40e00000u, 0x7fc00000u, 0x7fc00000u, 0x7fc00000u, 0u, 0x40e00000u, 0x40e00000u,
          0x7f800000u, 0x7f800000u, 0x7f800000u}},
        {{2, 3}, {2, 1}, {1, 1}, {2, 1}, false, 3, 6,
         {0x80000000u, 0x40400000u, 0x40400000u, 0x40400000u, 0x80000000u, 0x80000000u,
          0x80000000u, 0x40400000u, 0x40400000u, 0x40400000u, 0x40000000u, 0x40000000u, 0u,
          0u, 0x80000000u, 0x40000000u, 0x40000000u, 0x40000000u}},
    };
    lam_tensor *x = NULL;
    ASSERT_OK(lam_tensor_from_data(&x, 4, shape, xv));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lam_module *m = NULL;
        ASSERT_OK(lam_max_pool2d_create(&m, cases[c].k, cases[c].s, cases[c].p, cases[c].d,
                                        cases[c].ceil));
        lam_tensor *y = NULL;
        ASSERT_OK(lam_module_forward(m, x, &y));
        cr_assert(lam_tensor_shape(y)[2] == cases[c].oh && lam_tensor_shape(y)[3] == cases[c].ow);
        const float *yd = lam_tensor_cdata(y);
        for (int64_t i = 0; i < cases[c].oh * cases[c].ow; i++) {
            uint32_t b;
            memcpy(&b, &yd[i], 4);
            if (isnan(yd[i]))
                b = 0x7fc00000u; /* the payload is not PyTorch's to promise */
            cr_expect_eq(b, cases[c].bits[i], "case %zu [%lld]: %g (0x%08x), PyTorch 0x%08x", c,
                         (long long)i, yd[i], b, cases[c].bits[i]);
        }
        lam_tensor_release(y);
        lam_module_release(m);
    }
    lam_tensor_release(x);
}

/* The new activations' special values as PyTorch 1.13 gives them
 * (F.hardsigmoid / hardswish / mish / prelu on this input): NaN stays NaN
 * (lamina's Hardsigmoid gave 0 for NaN before it became a kernel-table
 * entry: fmaxf drops NaN), -inf through hardswish and mish is NaN, and the
 * signs of zeros are PyTorch's. */
Test(vision, activation_special_values_as_pytorch)
{
    const float nan = NAN, inf = INFINITY;
    const float xv[8] = {nan, -0.0f, 0.0f, -3.0f, 3.0f, inf, -inf, -1.5f};
    const int64_t shape[2] = {1, 8};
    static const struct {
        int which;
        float y[8];
        bool neg0[8];
    } cases[] = {
        {0, {NAN, 0.5f, 0.5f, 0.0f, 1.0f, 1.0f, 0.0f, 0.25f}, {0}},
        {1, {NAN, 0.0f, 0.0f, 0.0f, 3.0f, INFINITY, NAN, -0.375f}, {0, 1, 0, 1, 0, 0, 0, 0}},
        {2, {NAN, 0.0f, 0.0f, -0.145647466f, 2.98653507f, INFINITY, NAN, -0.298099756f}, {0, 1}},
        {3, {NAN, 0.0f, 0.0f, 1.5f, 3.0f, INFINITY, INFINITY, 0.75f}, {0, 0, 1}},
    };
    lam_tensor *x = NULL;
    ASSERT_OK(lam_tensor_from_data(&x, 2, shape, xv));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lam_module *m = NULL;
        switch (cases[c].which) {
        case 0: ASSERT_OK(lam_hardsigmoid_create(&m)); break;
        case 1: ASSERT_OK(lam_hardswish_create(&m)); break;
        case 2: ASSERT_OK(lam_mish_create(&m)); break;
        default: ASSERT_OK(lam_prelu_create(&m, 1, -0.5)); break;
        }
        lam_tensor *y = NULL;
        ASSERT_OK(lam_module_forward(m, x, &y));
        const float *yd = lam_tensor_cdata(y);
        for (int i = 0; i < 8; i++) {
            float e = cases[c].y[i];
            if (isnan(e))
                cr_expect(isnan(yd[i]), "case %zu [%d]: %g, PyTorch nan", c, i, yd[i]);
            else
                cr_expect(fabsf(yd[i] - e) <= 1e-6f * (1 + fabsf(e)) || yd[i] == e,
                          "case %zu [%d]: %g, PyTorch %g", c, i, yd[i], e);
            if (e == 0)
                cr_expect(!!signbit(yd[i]) == cases[c].neg0[i], "case %zu [%d]: sign of zero", c,
                          i);
        }
        lam_tensor_release(y);
        lam_module_release(m);
    }
    lam_tensor_release(x);
}
