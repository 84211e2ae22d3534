/* Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d against PyTorch 1.13
 * (fixtures under tests/fixtures/conv/ from tools/gen-fixtures.py's
 * gen_conv: hand-picked cases and a random sweep over kernel, stride,
 * padding (numbers, 'same', 'valid'), dilation, groups, depthwise, padding
 * modes, batched and unbatched, odd and non-square sizes).
 *
 * Per case: the module made three ways (the C constructor, the model parser
 * from the constructor text and from PyTorch's repr) prints PyTorch's repr
 * byte for byte and has its parameter names; with PyTorch's weights the
 * forward matches PyTorch's float64 result within 1e-6 + 1e-5 * scale,
 * where scale is the same forward through |x|, |weight| and |bias| (a sum of
 * K products is exact to about K eps times that); the input is untouched;
 * output_shape agrees; a second forward and a forward on 1 and on 3
 * threads give the same bits.  Then: PyTorch's error messages for every bad
 * configuration and input (tests/fixtures/conv/errors.txt) with the module
 * path, initialisation, repacking after a weight change, larger cases on
 * 1/2/5 threads against a float64 definition, a following activation
 * joined with the same bits, and user threads sharing a module. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* Criterion's workers end without LeakSanitizer's exit-time check */
static void teardown(void) { __lsan_do_recoverable_leak_check(); }
#else
static void teardown(void) {}
#endif
TestSuite(conv, .fini = teardown);

struct conv_case {
    char name[40];
};

#define MAX_CASES 160

ParameterizedTestParameters(conv, matches_pytorch)
{
    static struct conv_case cases[MAX_CASES];
    size_t n = 0;
    fx_file *fx = fx_open("conv/cases.txt");
    if (fx) {
        const char *const *items;
        long k = fx_list(fx, "cases", &items);
        for (long i = 0; i < k && n < MAX_CASES; i++, n++)
            snprintf(cases[n].name, sizeof cases[n].name, "%s", items[i]);
        fx_close(fx);
    }
    if (n == 0) /* a missing list fails the case below */
        snprintf(cases[n++].name, sizeof cases[0].name, "cases-list-missing");
    return cr_make_param_array(struct conv_case, cases, n);
}

static lam_module *from_cfg(const fx_file *fx)
{
    const char *const *it;
    long n = fx_list(fx, "cfg", &it);
    cr_assert_eq(n, 17, "cfg has %ld entries", n);
    int64_t c[17];
    for (int i = 0; i < 17; i++)
        c[i] = strtoll(it[i], NULL, 10);
    static const char *const modes[] = {"zeros", "reflect", "replicate", "circular"};
    int nsp = (int)c[0];
    bool tr = c[1];
    int64_t in = c[2], out = c[3], k[2] = {c[4], c[5]}, st[2] = {c[6], c[7]}, pad[2] = {c[8], c[9]},
            dil[2] = {c[10], c[11]}, op[2] = {c[12], c[13]}, groups = c[14];
    bool bias = c[15];
    const char *mode = modes[c[16]];
    lam_module *m = NULL;
    if (!tr && nsp == 1)
        ASSERT_OK(lam_conv1d_create(&m, in, out, k[1], st[1], pad[1], dil[1], groups, bias, mode));
    else if (!tr)
        ASSERT_OK(lam_conv2d_create(&m, in, out, k, st, pad, dil, groups, bias, mode));
    else if (nsp == 1)
        ASSERT_OK(lam_conv_transpose1d_create(&m, in, out, k[1], st[1], pad[1], op[1], groups, bias,
                                              dil[1], mode));
    else
        ASSERT_OK(lam_conv_transpose2d_create(&m, in, out, k, st, pad, op, groups, bias, dil, mode));
    return m;
}

static lam_module *parse(const char *text)
{
    lam_module *m = NULL;
    ASSERT_OK(lam_model_parse(text, strlen(text), "<case>", &m));
    return m;
}

static void expect_repr(lam_module *m, const char *want, const char *what, const char *name)
{
    char *r = lam_module_repr(m);
    cr_expect(r && strcmp(r, want) == 0, "%s (%s): repr\n  got  %s\n  want %s", name, what,
              r ? r : "(null)", want);
    lam_free(r);
}

static bool same_bits(const lam_tensor *a, const lam_tensor *b)
{
    return lam_tensor_same_shape(a, b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  (size_t)lam_tensor_numel(a) * sizeof(float)) == 0;
}

ParameterizedTest(struct conv_case *c, conv, matches_pytorch)
{
    char path[96], msg[512];
    snprintf(path, sizeof path, "conv/%s.txt", c->name);
    fx_file *fx = FX_OPEN(path);
    const char *want = fx_text(fx, "repr");
    cr_assert_not_null(want);

    lam_module *m = from_cfg(fx);
    expect_repr(m, want, "C constructor", c->name);
    lam_module *p1 = parse(fx_text(fx, "ctor")), *p2 = parse(want);
    expect_repr(p1, want, "parsed constructor", c->name);
    expect_repr(p2, want, "parsed repr", c->name);

    lam_state_dict *names = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &names));
    cr_expect(fx_keys_equal(names, fx, "params", msg, sizeof msg), "%s: %s", c->name, msg);
    lam_state_dict_free(names);

    lam_state_dict *sd = fx_state_dict(fx);
    ASSERT_OK(lam_module_load_state_dict(m, sd, true, NULL));
    ASSERT_OK(lam_module_load_state_dict(p2, sd, true, NULL));
    lam_state_dict_free(sd);

    lam_tensor *x = fx_lam_tensor(fx, "input"), *x_copy = NULL, *y = NULL;
    cr_assert_not_null(x);
    ASSERT_OK(lam_tensor_clone(&x_copy, x));
    ASSERT_OK(lam_module_forward(m, x, &y));
    const fx_tensor *e = fx_get_tensor(fx, "output"), *sc = fx_get_tensor(fx, "scale");
    cr_assert(e && sc);
    cr_assert(lam_tensor_ndim(y) == e->ndim, "%s: output ndim %d, expected %d", c->name,
              lam_tensor_ndim(y), e->ndim);
    for (int d = 0; d < e->ndim; d++)
        cr_assert_eq(lam_tensor_shape(y)[d], e->shape[d], "%s: output dim %d", c->name, d);
    const float *got = lam_tensor_cdata(y);
    int bad = 0;
    for (int64_t i = 0; i < e->numel; i++) {
        double tol = 1e-6 + 1e-5 * (double)sc->data[i];
        if (!(fabs((double)got[i] - (double)e->data[i]) <= tol) && bad++ < 5)
            cr_expect(0, "%s: output[%lld] = %.9g, expected %.9g (tolerance %.3g)", c->name,
                      (long long)i, got[i], e->data[i], tol);
    }
    cr_expect(memcmp(lam_tensor_cdata(x), lam_tensor_cdata(x_copy),
                     (size_t)lam_tensor_numel(x) * sizeof(float)) == 0,
              "%s: forward modified its input", c->name);

    int ond = 0;
    int64_t oshape[LAM_MAX_DIMS] = {0};
    ASSERT_OK(lam_module_output_shape(m, lam_tensor_ndim(x), lam_tensor_shape(x), &ond, oshape));
    cr_expect_eq(ond, e->ndim, "%s: output_shape ndim", c->name);
    for (int d = 0; d < ond && d < e->ndim; d++)
        cr_expect_eq(oshape[d], e->shape[d], "%s: output_shape dim %d", c->name, d);

    /* again (planned), from the parsed module, and on 1 and 3 threads */
    lam_tensor *y2 = NULL, *y3 = NULL, *y4 = NULL, *y5 = NULL;
    ASSERT_OK(lam_module_forward(m, x, &y2));
    ASSERT_OK(lam_module_forward(p2, x, &y3));
    int threads = lam_get_num_threads();
    lam_set_num_threads(1);
    ASSERT_OK(lam_module_forward(m, x, &y4));
    lam_set_num_threads(3);
    ASSERT_OK(lam_module_forward(m, x, &y5));
    lam_set_num_threads(threads);
    cr_expect(same_bits(y, y2), "%s: second forward differs", c->name);
    cr_expect(same_bits(y, y3), "%s: the module parsed from its repr differs", c->name);
    cr_expect(same_bits(y, y4) && same_bits(y, y5), "%s: results depend on the thread count",
              c->name);

    lam_tensor_release(y5);
    lam_tensor_release(y4);
    lam_tensor_release(y3);
    lam_tensor_release(y2);
    lam_tensor_release(y);
    lam_tensor_release(x_copy);
    lam_tensor_release(x);
    lam_module_release(p2);
    lam_module_release(p1);
    lam_module_release(m);
    fx_close(fx);
}

/* ---- PyTorch's errors ---------------------------------------------------- */

Test(conv, constructor_errors_are_pytorchs)
{
    fx_file *fx = FX_OPEN("conv/errors.txt");
    const char *const *ctors, *const *msgs;
    long n = fx_list(fx, "ctor_errors", &ctors);
    cr_assert(n > 0 && fx_list(fx, "ctor_messages", &msgs) == n);
    for (long i = 0; i < n; i++) {
        lam_module *m = NULL;
        lam_clear_error();
        lam_status st = lam_model_parse(ctors[i], strlen(ctors[i]), "<case>", &m);
        cr_expect_eq(st, LAM_ERR_INVALID_ARGUMENT, "%s: %s", ctors[i], lam_status_str(st));
        cr_expect(strstr(lam_last_error(), msgs[i]) != NULL, "%s: message\n  %s\nlacks\n  %s",
                  ctors[i], lam_last_error(), msgs[i]);
        lam_module_release(m);
    }
    fx_close(fx);
}

Test(conv, forward_errors_are_pytorchs)
{
    fx_file *fx = FX_OPEN("conv/errors.txt");
    const char *const *ctors, *const *shapes, *const *msgs;
    long n = fx_list(fx, "forward_errors", &ctors);
    cr_assert(n > 0 && fx_list(fx, "forward_shapes", &shapes) == n &&
              fx_list(fx, "forward_messages", &msgs) == n);
    for (long i = 0; i < n; i++) {
        lam_module *m = parse(ctors[i]);
        int64_t shape[LAM_MAX_DIMS];
        int nd = 0;
        for (char *p = (char *)shapes[i], *end; nd < LAM_MAX_DIMS; p = end) {
            shape[nd] = strtoll(p, &end, 10);
            if (end == p)
                break;
            nd++;
        }
        lam_tensor *x = NULL, *y = NULL;
        ASSERT_OK(lam_tensor_create(&x, nd, shape));
        char want[1024];
        char *r = lam_module_repr(m);
        snprintf(want, sizeof want, "%s: %s", r, msgs[i]);
        lam_free(r);
        lam_status st = lam_module_forward(m, x, &y);
        cr_expect_eq(st, LAM_ERR_SHAPE, "%s on %s: %s", ctors[i], shapes[i], lam_status_str(st));
        cr_expect_str_eq(lam_last_error(), want, "%s on %s", ctors[i], shapes[i]);
        int ond;
        int64_t os[LAM_MAX_DIMS];
        st = lam_module_output_shape(m, nd, shape, &ond, os);
        cr_expect_eq(st, LAM_ERR_SHAPE);
        cr_expect_str_eq(lam_last_error(), want, "output_shape: %s on %s", ctors[i], shapes[i]);
        lam_tensor_release(x);
        lam_module_release(m);
    }
    fx_close(fx);
}

Test(conv, errors_name_the_module_path)
{
    static const char text[] = "Sequential(\n"
                               "  (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))\n"
                               "  (1): ReLU()\n"
                               "  (2): Conv2d(4, 2, kernel_size=(3, 3), stride=(1, 1))\n"
                               ")";
    lam_module *m = parse(text);
    int64_t shape[4] = {1, 3, 10, 10};
    lam_tensor *x = NULL, *y = NULL;
    ASSERT_OK(lam_tensor_create(&x, 4, shape));
    cr_expect_eq(lam_module_forward(m, x, &y), LAM_ERR_SHAPE);
    cr_expect_str_eq(lam_last_error(),
                     "Sequential[2] Conv2d(4, 2, kernel_size=(3, 3), stride=(1, 1)): Given "
                     "groups=1, weight of size [2, 4, 3, 3], expected input[1, 8, 8, 8] to have 4 "
                     "channels, but got 8 channels instead");
    lam_tensor_release(x);
    lam_module_release(m);
}

/* A bare name is a string only where the argument takes one. */
Test(conv, bare_names_only_for_string_arguments)
{
    static const char *const bad[] = {"Conv2d(3, 8, 3, bias=yes)", "Conv2d(3, 8, 3, groups=two)",
                                      "Conv2d(3, 8, 3, same)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lam_module *m = NULL;
        EXPECT_FAIL(lam_model_parse(bad[i], strlen(bad[i]), "<case>", &m), LAM_ERR_FORMAT,
                    "unknown name '");
        cr_expect_null(m);
    }
    lam_module *m = parse("Conv1d(2, 2, kernel_size=(3,), stride=(1,), padding=valid, "
                          "padding_mode=circular)");
    expect_repr(m, "Conv1d(2, 2, kernel_size=(3,), stride=(1,), padding=valid, "
                   "padding_mode=circular)", "bare names", "parse");
    lam_module_release(m);
}

Test(conv, c_api_checks)
{
    lam_module *m = NULL;
    int64_t k[2] = {3, 3}, zero[2] = {0, 3}, neg[2] = {-1, 0}, same[2] = {LAM_CONV_PADDING_SAME,
                                                                          LAM_CONV_PADDING_SAME};
    EXPECT_FAIL(lam_conv2d_create(&m, 3, 8, zero, NULL, NULL, NULL, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT,
                "Conv2d: kernel size should be greater than zero, but got kernel_height: 0 "
                "kernel_width: 3");
    EXPECT_FAIL(lam_conv2d_create(&m, 3, 8, k, zero, NULL, NULL, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT, "Conv2d: non-positive stride is not supported");
    EXPECT_FAIL(lam_conv2d_create(&m, 3, 8, k, NULL, neg, NULL, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT, "Conv2d: negative padding is not supported");
    EXPECT_FAIL(lam_conv2d_create(&m, 3, 8, k, NULL, NULL, zero, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT,
                "Conv2d: dilation should be greater than zero, but got [0, 3]");
    EXPECT_FAIL(lam_conv1d_create(&m, 3, 8, 3, 2, LAM_CONV_PADDING_SAME, 1, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT,
                "Conv1d: padding='same' is not supported for strided convolutions");
    EXPECT_FAIL(lam_conv_transpose2d_create(&m, 3, 8, k, NULL, same, NULL, 1, true, NULL, NULL),
                LAM_ERR_INVALID_ARGUMENT, "ConvTranspose2d: padding must be non-negative");
    EXPECT_FAIL(lam_conv_transpose1d_create(&m, 3, 8, 3, 1, 0, -1, 1, true, 1, NULL),
                LAM_ERR_INVALID_ARGUMENT, "negative output_padding is not supported");
    EXPECT_FAIL(lam_conv2d_create(&m, 0, 8, k, NULL, NULL, NULL, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT, "in_channels and out_channels must be positive");
    EXPECT_FAIL(lam_conv2d_create(&m, 1 << 20, 1 << 20, k, NULL, NULL, NULL, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT, "the weight has more than 2^32 elements");
    EXPECT_FAIL(lam_conv2d_create(&m, 3, 8, NULL, NULL, NULL, NULL, 1, true, NULL),
                LAM_ERR_INVALID_ARGUMENT, "kernel_size is NULL");
    cr_expect_null(m);
}

/* ---- initialisation, repacking --------------------------------------------- */

static void params(lam_module *m, lam_tensor **w, lam_tensor **b)
{
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    *w = lam_state_dict_get(sd, "weight");
    *b = lam_state_dict_get(sd, "bias");
    cr_assert(*w && *b);
    lam_state_dict_free(sd); /* the tensors are the module's: they live while it does */
}

static void check_init(lam_module *m, double fan_in, int64_t nw, int64_t nb)
{
    lam_tensor *w, *b;
    params(m, &w, &b);
    cr_assert_eq(lam_tensor_numel(w), nw);
    cr_assert_eq(lam_tensor_numel(b), nb);
    double bound = 1.0 / sqrt(fan_in), lo = 1, hi = -1;
    const float *wd = lam_tensor_cdata(w), *bd = lam_tensor_cdata(b);
    for (int64_t i = 0; i < nw; i++) {
        cr_expect(fabs(wd[i]) <= bound, "weight[%lld] = %g outside +-%g", (long long)i, wd[i], bound);
        lo = fmin(lo, wd[i]);
        hi = fmax(hi, wd[i]);
    }
    cr_expect(lo < -0.8 * bound && hi > 0.8 * bound, "weights span [%g, %g], bound %g", lo, hi,
              bound);
    for (int64_t i = 0; i < nb; i++)
        cr_expect(fabs(bd[i]) <= bound, "bias[%lld] = %g outside +-%g", (long long)i, bd[i], bound);
}

Test(conv, init_as_reset_parameters)
{
    lam_module *a = NULL, *b = NULL, *t = NULL;
    int64_t k[2] = {3, 5};
    lam_manual_seed(0);
    ASSERT_OK(lam_conv2d_create(&a, 6, 8, k, NULL, NULL, NULL, 2, true, NULL));
    check_init(a, 3 * 15, 8 * 3 * 15, 8); /* fan_in = in/groups * kH * kW */
    /* ConvTranspose: weight [in, out/groups, kH, kW], fan_in = out/groups * kH * kW */
    ASSERT_OK(lam_conv_transpose2d_create(&t, 6, 4, k, NULL, NULL, NULL, 2, true, NULL, NULL));
    check_init(t, 2 * 15, 6 * 2 * 15, 4);
    lam_manual_seed(0);
    ASSERT_OK(lam_conv2d_create(&b, 6, 8, k, NULL, NULL, NULL, 2, true, NULL));
    lam_tensor *wa, *ba, *wb, *bb;
    params(a, &wa, &ba);
    params(b, &wb, &bb);
    cr_expect(same_bits(wa, wb) && same_bits(ba, bb), "same seed, different parameters");
    lam_module_release(a);
    lam_module_release(b);
    lam_module_release(t);
}

/* The packed weight follows the weight: doubling it doubles the output
 * exactly (no bias), for the GEMM, direct and transposed paths. */
Test(conv, repacks_when_the_weight_changes)
{
    const char *ctors[] = {"Conv2d(3, 4, 3, padding=1, bias=False)",
                           "Conv2d(4, 4, 3, groups=4, bias=False)",
                           "ConvTranspose2d(3, 4, 3, stride=2, bias=False)"};
    for (int c = 0; c < 3; c++) {
        lam_manual_seed(1);
        lam_module *m = parse(ctors[c]);
        int64_t shape[4] = {2, c == 1 ? 4 : 3, 5, 6};
        lam_tensor *x = NULL, *y1 = NULL, *y2 = NULL, *w, *b = NULL;
        ASSERT_OK(lam_tensor_create(&x, 4, shape));
        float *xd = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            xd[i] = (float)((i * 37) % 11) - 5.0f;
        ASSERT_OK(lam_module_forward(m, x, &y1));
        lam_state_dict *sd = NULL;
        ASSERT_OK(lam_module_state_dict(m, &sd));
        w = lam_state_dict_get(sd, "weight");
        lam_state_dict_free(sd);
        (void)b;
        float *wd = lam_tensor_data(w);
        for (int64_t i = 0; i < lam_tensor_numel(w); i++)
            wd[i] *= 2.0f;
        ASSERT_OK(lam_module_forward(m, x, &y2));
        const float *a = lam_tensor_cdata(y1), *d = lam_tensor_cdata(y2);
        int bad = 0;
        for (int64_t i = 0; i < lam_tensor_numel(y1); i++)
            bad += d[i] != 2.0f * a[i];
        cr_expect_eq(bad, 0, "%s: %d outputs did not double", ctors[c], bad);
        lam_tensor_release(x);
        lam_tensor_release(y1);
        lam_tensor_release(y2);
        lam_module_release(m);
    }
}

/* ---- larger convolutions: threads, chunks, a Sequential ------------------- */

/* Padding modes of the reference (PyTorch's padding_mode). */
enum { PAD_ZEROS, PAD_REFLECT, PAD_REPLICATE, PAD_CIRCULAR };

/* Input index that padded index i (i - pad, maybe outside [0, n)) reads
 * under a padding mode, or -1 for a zero: PyTorch's F.pad definitions
 * (reflect mirrors without repeating the edge, circular wraps). */
static int64_t pad_index(int64_t i, int64_t n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case PAD_REFLECT: return i < 0 ? -i : 2 * (n - 1) - i;
    case PAD_REPLICATE: return i < 0 ? 0 : n - 1;
    case PAD_CIRCULAR: return ((i % n) + n) % n;
    default: return -1;
    }
}

/* The convolution by its definition, in float64: x [n, c, h, w] (NCHW; a
 * 1-d one has h = 1), the module's own weight and bias, padded by `mode`
 * (a convolution; a transposed one pads with zeros only). */
static void reference(bool tr, int64_t groups, int64_t st, int64_t pad,
                      int64_t dil, int mode, const lam_tensor *x, lam_module *m,
                      const lam_tensor *y, double *out, double *scale)
{
    lam_tensor *w, *b;
    params(m, &w, &b);
    const int64_t *xs = lam_tensor_shape(x), *ys = lam_tensor_shape(y), *ws = lam_tensor_shape(w);
    int64_t n = xs[0], c = xs[1], h = xs[2], wd = xs[3], oc = ys[1], oh = ys[2], ow = ys[3];
    int64_t kh = ws[2], kw = ws[3], cin = c / groups, cout = oc / groups;
    const float *xd = lam_tensor_cdata(x), *wt = lam_tensor_cdata(w), *bd = lam_tensor_cdata(b);
    for (int64_t i = 0; i < n * oc * oh * ow; i++) {
        out[i] = bd[(i / (oh * ow)) % oc];
        scale[i] = fabs(out[i]);
    }
    for (int64_t s = 0; s < n; s++)
        for (int64_t g = 0; g < groups; g++)
            for (int64_t ci = 0; ci < cin; ci++)
                for (int64_t co = 0; co < cout; co++)
                    for (int64_t a = 0; a < kh; a++)
                        for (int64_t bb = 0; bb < kw; bb++) {
                            double wv = tr ? wt[(((g * cin + ci) * cout + co) * kh + a) * kw + bb]
                                           : wt[(((g * cout + co) * cin + ci) * kh + a) * kw + bb];
                            const float *xc = xd + (s * c + g * cin + ci) * h * wd;
                            double *oc_ = out + (s * oc + g * cout + co) * oh * ow;
                            double *sc_ = scale + (s * oc + g * cout + co) * oh * ow;
                            for (int64_t i = 0; i < (tr ? h : oh); i++)
                                for (int64_t j = 0; j < (tr ? wd : ow); j++) {
                                    int64_t p = i * st - pad + a * dil, q = j * st - pad + bb * dil;
                                    if (tr) { /* input (i, j) adds to output (p, q) */
                                        if (p < 0 || p >= oh || q < 0 || q >= ow)
                                            continue;
                                        oc_[p * ow + q] += wv * xc[i * wd + j];
                                        sc_[p * ow + q] += fabs(wv * xc[i * wd + j]);
                                    } else { /* output (i, j) reads input (p, q) */
                                        p = pad_index(p, h, mode);
                                        q = pad_index(q, wd, mode);
                                        if (p < 0 || q < 0)
                                            continue;
                                        oc_[i * ow + j] += wv * xc[p * wd + q];
                                        sc_[i * ow + j] += fabs(wv * xc[p * wd + q]);
                                    }
                                }
                        }
}

Test(conv, large_cases_any_thread_count)
{
    static const struct {
        const char *ctor;
        bool tr;
        int64_t groups, stride, pad, dil, shape[4];
        int mode; /* PAD_* */
    } cases[] = {
        {"Conv2d(16, 24, 3, padding=1)", false, 1, 1, 1, 1, {3, 16, 37, 41}, PAD_ZEROS},
        {"Conv2d(32, 32, 3, stride=2, padding=2, dilation=2, groups=32)", false, 32, 2, 2, 2,
         {2, 32, 45, 38}, PAD_ZEROS},
        {"Conv2d(24, 24, 5, padding=2, groups=24)", false, 24, 1, 2, 1, {2, 24, 40, 43}, PAD_ZEROS},
        /* a depthwise call whose input + output (52 MB) exceed a thread's
         * share of the caches: its output streams (lam__stream_bytes) */
        {"Conv2d(32, 32, 3, padding=1, groups=32)", false, 32, 1, 1, 1, {8, 32, 160, 160},
         PAD_ZEROS},
        {"Conv2d(64, 48, 1)", false, 1, 1, 0, 1, {2, 64, 33, 35}, PAD_ZEROS},
        /* more kernel rows than the direct loop sums at once (32) */
        {"Conv2d(3, 6, 35, padding=17, groups=3)", false, 3, 1, 17, 1, {1, 3, 40, 37}, PAD_ZEROS},
        {"Conv2d(12, 18, 3, stride=2, padding=1, groups=3)", false, 3, 2, 1, 1, {4, 12, 40, 36}, PAD_ZEROS},
        /* conv_compute.c's paths: flat with phase planes (a stem), flat with
         * dilation, and im2col columns (many output channels on a narrow
         * image), stride 1 and 2 */
        {"Conv2d(3, 16, 7, stride=2, padding=3)", false, 1, 2, 3, 1, {2, 3, 45, 39}, PAD_ZEROS},
        {"Conv2d(6, 10, 3, padding=2, dilation=2)", false, 1, 1, 2, 2, {2, 6, 23, 19}, PAD_ZEROS},
        {"Conv2d(20, 96, 3, padding=1)", false, 1, 1, 1, 1, {3, 20, 7, 9}, PAD_ZEROS},
        /* depthwise on small planes by channel blocks (dwconv2d_nc): whole
         * vectors of channels and a rest plane by plane (40), stride 2
         * with 5x5, a batch of 1 in blocks smaller than 64 for the
         * threads, the widest plane that goes so (16), dilation; and a
         * tall narrow plane that goes plane by plane (too many pixels) */
        {"Conv2d(40, 40, 3, padding=1, groups=40)", false, 40, 1, 1, 1, {3, 40, 7, 7}, PAD_ZEROS},
        {"Conv2d(96, 96, 5, stride=2, padding=2, groups=96)", false, 96, 2, 2, 1,
         {2, 96, 14, 13}, PAD_ZEROS},
        {"Conv2d(64, 64, 3, padding=1, groups=64)", false, 64, 1, 1, 1, {1, 64, 14, 14},
         PAD_ZEROS},
        {"Conv2d(33, 33, 5, padding=2, groups=33)", false, 33, 1, 2, 1, {2, 33, 9, 16}, PAD_ZEROS},
        {"Conv2d(32, 32, 3, padding=2, dilation=2, groups=32)", false, 32, 1, 2, 2,
         {2, 32, 11, 12}, PAD_ZEROS},
        {"Conv2d(16, 16, 3, padding=1, groups=16)", false, 16, 1, 1, 1, {1, 16, 200, 8},
         PAD_ZEROS},
        {"Conv2d(8, 64, 3, stride=2, padding=1, dilation=2)", false, 1, 2, 1, 2, {2, 8, 13, 11}, PAD_ZEROS},
        /* the flat path's phases that no tap reads are not copied: a 1x1
         * stride-2 projection (ResNet's downsample: phase (0, 0) only), and
         * stride 3 with dilation 3 (phase 0 of each dimension) */
        {"Conv2d(24, 40, 1, stride=2)", false, 1, 2, 0, 1, {2, 24, 40, 37}, PAD_ZEROS},
        /* ... but on a small plane (7x7) im2col across the samples */
        {"Conv2d(48, 40, 1, stride=2)", false, 1, 2, 0, 1, {3, 48, 14, 13}, PAD_ZEROS},
        {"Conv2d(6, 20, 3, stride=3, padding=2, dilation=3)", false, 1, 3, 2, 3, {2, 6, 29, 31}, PAD_ZEROS},
        /* the flat path row by row into the output (rows of 48 or more
         * pixels wasting fewer lanes of 16 than the padded width): a stem
         * with whole vectors, and a 7x7 stride 1 with a masked tail on one
         * sample (the chunks evened out per thread) */
        {"Conv2d(3, 16, 7, stride=2, padding=3)", false, 1, 2, 3, 1, {2, 3, 20, 96}, PAD_ZEROS},
        {"Conv2d(4, 12, 7, padding=3)", false, 1, 1, 3, 1, {1, 4, 9, 61}, PAD_ZEROS},
        /* the im2col path with the other padding modes (the columns'
         * edges come from the tap tables): stride 1, stride 2 with a 5x5
         * kernel, dilation, and a narrow tall image whose pixel chunks
         * start and end inside rows */
        {"Conv2d(8, 64, 3, padding=1, padding_mode='reflect')", false, 1, 1, 1, 1,
         {2, 8, 6, 7}, PAD_REFLECT},
        {"Conv2d(6, 48, 5, stride=2, padding=2, padding_mode='replicate')", false, 1, 2, 2, 1,
         {2, 6, 9, 10}, PAD_REPLICATE},
        {"Conv2d(5, 40, 3, padding=2, dilation=2, padding_mode='circular')", false, 1, 1, 2, 2,
         {3, 5, 7, 6}, PAD_CIRCULAR},
        {"Conv2d(64, 64, 3, padding=1, padding_mode='reflect')", false, 1, 1, 1, 1,
         {1, 64, 41, 7}, PAD_REFLECT},
        {"Conv2d(64, 48, 5, stride=2, padding=3, padding_mode='replicate')", false, 1, 2, 3, 1,
         {1, 64, 43, 5}, PAD_REPLICATE},
        /* im2col chunks across the samples (ResNet's 3x3 stride 2 on a 7x7
         * output): 48-pixel chunks inside one sample, across two, and a
         * last one of 3 pixels */
        {"Conv2d(128, 128, 3, stride=2, padding=1)", false, 1, 2, 1, 1, {3, 128, 14, 14},
         PAD_ZEROS},
        {"Conv2d(16, 40, 3, padding=1, padding_mode='circular')", false, 1, 1, 1, 1,
         {1, 16, 37, 4}, PAD_CIRCULAR},
        /* Winograd F(4x4, 3x3) (3x3, stride 1, 16 or more channels): tiles
         * side by side in padded rows (wide planes) with row and column
         * tails, no padding and padding 2; patches gathered tile by tile
         * (narrow planes: 14 x 14; 7 x 7, by F(2x2, 3x3), with a batch of 1
         * split by output channels for the threads); the other padding
         * modes both ways */
        {"Conv2d(24, 40, 3)", false, 1, 1, 0, 1, {2, 24, 30, 27}, PAD_ZEROS},
        {"Conv2d(16, 17, 3, padding=2)", false, 1, 1, 2, 1, {3, 16, 21, 26}, PAD_ZEROS},
        {"Conv2d(32, 48, 3, padding=1)", false, 1, 1, 1, 1, {3, 32, 14, 14}, PAD_ZEROS},
        {"Conv2d(64, 72, 3, padding=1)", false, 1, 1, 1, 1, {1, 64, 7, 7}, PAD_ZEROS},
        {"Conv2d(16, 16, 3, padding=1, padding_mode='replicate')", false, 1, 1, 1, 1,
         {2, 16, 25, 33}, PAD_REPLICATE},
        {"Conv2d(16, 24, 3, padding=1, padding_mode='circular')", false, 1, 1, 1, 1,
         {2, 16, 12, 10}, PAD_CIRCULAR},
        /* F(2x2, 3x3) (planes with fewer than 8 tiles of 4 x 4): side by
         * side (4 x 12), gathered with circular padding (6 x 6) */
        {"Conv2d(16, 32, 3, padding=1)", false, 1, 1, 1, 1, {3, 16, 4, 12}, PAD_ZEROS},
        {"Conv2d(24, 16, 3, padding=1, padding_mode='circular')", false, 1, 1, 1, 1,
         {2, 24, 6, 6}, PAD_CIRCULAR},
        {"ConvTranspose2d(16, 12, 4, stride=2, padding=1)", true, 1, 2, 1, 1, {3, 16, 21, 19}, PAD_ZEROS},
        {"ConvTranspose2d(8, 12, 3, stride=3, dilation=2, groups=2)", true, 2, 3, 0, 2,
         {2, 8, 17, 20}, PAD_ZEROS},
    };
    int threads = lam_get_num_threads();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lam_manual_seed(11 + c);
        lam_module *m = parse(cases[c].ctor);
        lam_tensor *x = NULL, *y[4] = {NULL, NULL, NULL, NULL};
        ASSERT_OK(lam_tensor_create(&x, 4, cases[c].shape));
        float *xd = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            xd[i] = (float)((i * 7919) % 2003) / 1001.0f - 1.0f;
        for (int k = 0; k < 4; k++) {
            lam_set_num_threads(k == 3 ? 5 : k + 1);
            ASSERT_OK(lam_module_forward(m, x, &y[k]));
        }
        lam_set_num_threads(threads);
        cr_expect(same_bits(y[0], y[1]) && same_bits(y[0], y[2]) && same_bits(y[0], y[3]),
                  "%s: results depend on the thread count", cases[c].ctor);
        int64_t n = lam_tensor_numel(y[0]);
        double *want = malloc(sizeof(double) * (size_t)n), *scale = malloc(sizeof(double) * (size_t)n);
        cr_assert(want && scale);
        reference(cases[c].tr, cases[c].groups, cases[c].stride, cases[c].pad,
                  cases[c].dil, cases[c].mode, x, m, y[0], want, scale);
        const float *got = lam_tensor_cdata(y[0]);
        int bad = 0;
        for (int64_t i = 0; i < n; i++)
            if (!(fabs(got[i] - want[i]) <= 1e-6 + 1e-5 * scale[i]) && bad++ < 3)
                cr_expect(0, "%s: output[%lld] = %.9g, expected %.9g", cases[c].ctor,
                          (long long)i, got[i], want[i]);
        free(want);
        free(scale);
        for (int k = 0; k < 4; k++)
            lam_tensor_release(y[k]);
        lam_tensor_release(x);
        lam_module_release(m);
    }
}

/* ---- transposed convolutions: a sweep against the definition ----------- */

typedef struct tcase {
    int nsp;
    int64_t in, out, groups, k[2], st[2], pad[2], dil[2], op[2], h, w;
    bool bias;
} tcase;

/* The transposed convolution by its definition, in float64: input pixel
 * (i, j) of channel ci adds x w[ci, co, a, b] to output (i sh - ph + a dh,
 * j sw - pw + b dw) of each channel co of its group (w [in, out/groups, kh,
 * kw]); out starts at the bias; scale is the same through |x|, |w|, |b|. */
static void reference_t(const tcase *c, int64_t n, int64_t oh, int64_t ow, const float *x,
                        const float *wt, const float *bd, double *out, double *scale)
{
    int64_t cin = c->in / c->groups, cout = c->out / c->groups, kh = c->k[0], kw = c->k[1];
    for (int64_t i = 0; i < n * c->out * oh * ow; i++) {
        out[i] = bd ? bd[(i / (oh * ow)) % c->out] : 0.0;
        scale[i] = fabs(out[i]);
    }
    for (int64_t s = 0; s < n; s++)
        for (int64_t ci = 0; ci < c->in; ci++)
            for (int64_t i = 0; i < c->h; i++)
                for (int64_t j = 0; j < c->w; j++) {
                    double xv = x[((s * c->in + ci) * c->h + i) * c->w + j];
                    int64_t g = ci / cin;
                    for (int64_t co = 0; co < cout; co++)
                        for (int64_t a = 0; a < kh; a++)
                            for (int64_t b = 0; b < kw; b++) {
                                int64_t p = i * c->st[0] - c->pad[0] + a * c->dil[0];
                                int64_t q = j * c->st[1] - c->pad[1] + b * c->dil[1];
                                if (p < 0 || p >= oh || q < 0 || q >= ow)
                                    continue;
                                double v = xv * wt[((ci * cout + co) * kh + a) * kw + b];
                                int64_t o = ((s * c->out + g * cout + co) * oh + p) * ow + q;
                                out[o] += v;
                                scale[o] += fabs(v);
                            }
                }
}

/* One case: batch 3 on 1 and 2 threads (the same bits), batch 1 (the
 * first sample's bits), a second (planned) forward, all within 1e-6 + 1e-5
 * scale of the definition. */
static void check_t(const tcase *c, const char *what)
{
    lam_module *m = NULL;
    if (c->nsp == 1)
        ASSERT_OK(lam_conv_transpose1d_create(&m, c->in, c->out, c->k[1], c->st[1], c->pad[1],
                                              c->op[1], c->groups, c->bias, c->dil[1], NULL));
    else
        ASSERT_OK(lam_conv_transpose2d_create(&m, c->in, c->out, c->k, c->st, c->pad, c->op,
                                              c->groups, c->bias, c->dil, NULL));
    lam_state_dict *sd = NULL;
    ASSERT_OK(lam_module_state_dict(m, &sd));
    const lam_tensor *w = lam_state_dict_get(sd, "weight"), *b = lam_state_dict_get(sd, "bias");
    lam_state_dict_free(sd); /* the module's tensors */
    int64_t oh = (c->h - 1) * c->st[0] - 2 * c->pad[0] + c->dil[0] * (c->k[0] - 1) + c->op[0] + 1;
    int64_t ow = (c->w - 1) * c->st[1] - 2 * c->pad[1] + c->dil[1] * (c->k[1] - 1) + c->op[1] + 1;
    int64_t xs3[4] = {3, c->in, c->h, c->w}, xs1[4] = {1, c->in, c->h, c->w};
    if (c->nsp == 1)
        xs3[2] = xs1[2] = c->w;
    lam_tensor *x3 = NULL, *x1 = NULL, *y[4] = {NULL, NULL, NULL, NULL};
    ASSERT_OK(lam_tensor_create(&x3, c->nsp + 2, xs3));
    ASSERT_OK(lam_tensor_create(&x1, c->nsp + 2, xs1));
    float *xd = lam_tensor_data(x3);
    for (int64_t i = 0; i < lam_tensor_numel(x3); i++)
        xd[i] = (float)((i * 7919 + 17) % 2003) / 1001.0f - 1.0f;
    memcpy(lam_tensor_data(x1), xd, (size_t)lam_tensor_numel(x1) * sizeof(float));
    int threads = lam_get_num_threads();
    lam_set_num_threads(1);
    ASSERT_OK(lam_module_forward(m, x3, &y[0]));
    ASSERT_OK(lam_module_forward(m, x1, &y[2]));
    lam_set_num_threads(2);
    ASSERT_OK(lam_module_forward(m, x3, &y[1]));
    ASSERT_OK(lam_module_forward(m, x1, &y[3]));
    lam_set_num_threads(threads);
    cr_assert_eq(lam_tensor_shape(y[0])[c->nsp + 1], ow, "%s: output width", what);
    cr_expect(same_bits(y[0], y[1]), "%s: batch 3 depends on the thread count", what);
    cr_expect(same_bits(y[2], y[3]), "%s: batch 1 depends on the thread count", what);
    int64_t n1 = lam_tensor_numel(y[2]), n3 = lam_tensor_numel(y[0]);
    cr_expect(memcmp(lam_tensor_cdata(y[0]), lam_tensor_cdata(y[2]),
                     (size_t)n1 * sizeof(float)) == 0,
              "%s: batch 1 differs from batch 3's first sample", what);
    lam_tensor *y2 = NULL;
    ASSERT_OK(lam_module_forward(m, x3, &y2));
    cr_expect(same_bits(y[0], y2), "%s: a second forward differs", what);
    double *want = malloc(sizeof(double) * (size_t)n3);
    double *scale = malloc(sizeof(double) * (size_t)n3);
    cr_assert(want && scale);
    reference_t(c, 3, c->nsp == 1 ? 1 : oh, ow, xd, lam_tensor_cdata(w),
                b ? lam_tensor_cdata(b) : NULL, want, scale);
    const float *got = lam_tensor_cdata(y[0]);
    int bad = 0;
    for (int64_t i = 0; i < n3; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-6 + 1e-5 * scale[i]) && bad++ < 3)
            cr_expect(0, "%s: output[%lld] = %.9g, expected %.9g", what, (long long)i, got[i],
                      want[i]);
    free(want);
    free(scale);
    for (int k = 0; k < 4; k++)
        lam_tensor_release(y[k]);
    lam_tensor_release(y2);
    lam_tensor_release(x1);
    lam_tensor_release(x3);
    lam_module_release(m);
}

static void tcase_name(const tcase *c, char *buf, size_t size)
{
    snprintf(buf, size,
             "ConvTranspose%dd(%lld, %lld, k=(%lld, %lld), stride=(%lld, %lld), pad=(%lld, %lld), "
             "dil=(%lld, %lld), op=(%lld, %lld), groups=%lld, bias=%d) on %lldx%lld",
             c->nsp, (long long)c->in, (long long)c->out, (long long)c->k[0], (long long)c->k[1],
             (long long)c->st[0], (long long)c->st[1], (long long)c->pad[0],
             (long long)c->pad[1], (long long)c->dil[0], (long long)c->dil[1],
             (long long)c->op[0], (long long)c->op[1], (long long)c->groups, c->bias,
             (long long)c->h, (long long)c->w);
}

/* A random sweep over stride, padding, output_padding, dilation, groups,
 * kernel and odd sizes, 1-d and 2-d, with and without bias (small: one
 * thread runs them), then larger cases that split across threads: by
 * output phase rows (batch 1), by phase columns (a long 1-d input), strides
 * past the kernel (phases without taps: the bias alone), different strides
 * and dilations per dimension, and taps reaching far past a small input
 * (the col2im path). */
Test(conv, transposed_sweep_against_the_definition)
{
    uint64_t r = 12345;
#define RND(n) ((int64_t)((r = r * 6364136223846793005ULL + 1442695040888963407ULL) >> 33) % (n))
    char name[256];
    for (int i = 0; i < 90; i++) {
        tcase c = {.nsp = i % 3 == 0 ? 1 : 2, .k = {1, 1}, .st = {1, 1}, .dil = {1, 1}, .h = 1};
        c.groups = 1 + RND(3);
        c.in = c.groups * (1 + RND(4));
        c.out = c.groups * (1 + RND(4));
        c.bias = RND(4) != 0;
        for (int d = 2 - c.nsp; d < 2; d++) {
            c.k[d] = 1 + RND(5);
            c.st[d] = 1 + RND(4);
            c.dil[d] = 1 + RND(3);
            c.pad[d] = RND(c.dil[d] * (c.k[d] - 1) + 1);
            int64_t m = c.st[d] > c.dil[d] ? c.st[d] : c.dil[d];
            c.op[d] = RND(m);
        }
        c.w = 1 + RND(13);
        if (c.nsp == 2)
            c.h = 1 + RND(13);
        int64_t oh = (c.h - 1) * c.st[0] - 2 * c.pad[0] + c.dil[0] * (c.k[0] - 1) + c.op[0] + 1;
        int64_t ow = (c.w - 1) * c.st[1] - 2 * c.pad[1] + c.dil[1] * (c.k[1] - 1) + c.op[1] + 1;
        if (oh <= 0 || ow <= 0)
            continue;
        lam_manual_seed(100 + i);
        tcase_name(&c, name, sizeof name);
        check_t(&c, name);
    }
#undef RND
    static const tcase big[] = {
        {2, 16, 12, 1, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, 21, 19, true},
        {2, 24, 18, 3, {3, 3}, {2, 3}, {1, 2}, {2, 1}, {1, 2}, 40, 37, true},
        {1, 16, 16, 1, {1, 5}, {1, 3}, {0, 2}, {1, 2}, {0, 1}, 1, 1500, true},
        {2, 8, 8, 2, {2, 1}, {5, 4}, {0, 0}, {1, 1}, {3, 2}, 30, 33, true},
        {2, 16, 16, 1, {3, 3}, {1, 1}, {0, 0}, {15, 15}, {0, 0}, 4, 5, true},
        {1, 12, 20, 4, {1, 3}, {1, 2}, {0, 0}, {1, 40}, {0, 1}, 1, 3, false},
        {2, 64, 32, 1, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, 14, 13, true},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        lam_manual_seed(200 + i);
        tcase_name(&big[i], name, sizeof name);
        check_t(&big[i], name);
    }
}

/* A Sequential of convolutions on 1 and 4 threads (each convolution splits
 * its samples, groups and pixel chunks across the threads): the same bits. */
Test(conv, sequential_batch_split_same_bits)
{
    static const char text[] = "Sequential(\n"
                               "  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
                               "  (1): ReLU()\n"
                               "  (2): Conv2d(16, 16, kernel_size=(3, 3), stride=(2, 2), groups=16)\n"
                               "  (3): ConvTranspose2d(16, 4, kernel_size=(2, 2), stride=(2, 2))\n"
                               ")";
    lam_manual_seed(5);
    lam_module *m = parse(text);
    int64_t shape[4] = {8, 3, 32, 30};
    lam_tensor *x = NULL, *y1 = NULL, *y2 = NULL;
    ASSERT_OK(lam_tensor_create(&x, 4, shape));
    float *xd = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        xd[i] = (float)((i * 31) % 97) / 48.0f - 1.0f;
    int threads = lam_get_num_threads();
    lam_set_num_threads(1);
    ASSERT_OK(lam_module_forward(m, x, &y1));
    lam_set_num_threads(4);
    ASSERT_OK(lam_module_forward(m, x, &y2));
    lam_set_num_threads(threads);
    cr_expect(same_bits(y1, y2), "a Sequential of convolutions depends on the thread count");
    cr_expect_eq(lam_tensor_shape(y1)[2], 30);
    lam_tensor_release(x);
    lam_tensor_release(y1);
    lam_tensor_release(y2);
    lam_module_release(m);
}

/* A sample's output has the same bits whatever batch it is in: the paths
 * that chunk a batch's pixels across its samples (im2col on small planes)
 * or its tile rows (Winograd) against each sample alone. */
Test(conv, a_samples_bits_do_not_depend_on_its_batch)
{
    static const struct {
        const char *ctor;
        int64_t shape[4];
    } cases[] = {
        {"Conv2d(128, 128, 3, stride=2, padding=1)", {5, 128, 14, 14}},
        {"Conv2d(6, 48, 5, stride=2, padding=2, padding_mode='replicate')", {4, 6, 9, 10}},
        {"Conv2d(256, 64, 3, stride=2, padding=1, bias=False)", {3, 256, 7, 7}},
        {"Conv2d(32, 48, 3, padding=1)", {3, 32, 14, 14}},
        {"Conv2d(64, 96, 1, stride=2, bias=False)", {5, 64, 14, 14}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lam_manual_seed(23 + c);
        lam_module *m = parse(cases[c].ctor);
        lam_tensor *x = NULL, *y = NULL;
        ASSERT_OK(lam_tensor_create(&x, 4, cases[c].shape));
        float *xd = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            xd[i] = (float)((i * 7919) % 2003) / 1001.0f - 1.0f;
        ASSERT_OK(lam_module_forward(m, x, &y));
        int64_t one[4] = {1, cases[c].shape[1], cases[c].shape[2], cases[c].shape[3]};
        int64_t per_in = one[1] * one[2] * one[3], per_out = lam_tensor_numel(y) / cases[c].shape[0];
        for (int64_t n = 0; n < cases[c].shape[0]; n++) {
            lam_tensor *x1 = NULL, *y1 = NULL;
            ASSERT_OK(lam_tensor_create(&x1, 4, one));
            memcpy(lam_tensor_data(x1), xd + n * per_in, (size_t)per_in * sizeof(float));
            ASSERT_OK(lam_module_forward(m, x1, &y1));
            cr_expect(memcmp(lam_tensor_cdata(y1), (const float *)lam_tensor_cdata(y) + n * per_out,
                             (size_t)per_out * sizeof(float)) == 0,
                      "%s: sample %lld of the batch differs from the sample alone", cases[c].ctor,
                      (long long)n);
            lam_tensor_release(x1);
            lam_tensor_release(y1);
        }
        lam_tensor_release(x);
        lam_tensor_release(y);
        lam_module_release(m);
    }
}

/* ---- a following activation joins the convolution (forward_ep) ---------- */

/* Sequential(conv, act) planned -- the activation in the convolution's
 * epilogue -- gives the bits of the two layers run one after the other, for
 * every activation the epilogue takes and every compute path; the plan
 * says what it joined. */
Test(conv, following_activation_is_joined_with_the_same_bits)
{
    static const char *const convs[] = {
        "Conv2d(5, 7, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
        "Conv2d(6, 9, kernel_size=(1, 1), stride=(1, 1))",
        "Conv2d(6, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=6)",
        "ConvTranspose2d(5, 4, kernel_size=(3, 3), stride=(2, 2))",
        "Conv1d(5, 8, kernel_size=(3,), stride=(1,), padding=same, padding_mode=reflect)",
        /* small planes: channel blocks (dwconv2d_nc), two whole vectors
         * of 16 channels and 8 plane by plane */
        "Conv2d(40, 40, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2), groups=40)",
        /* Winograd F(4x4, 3x3) on a 12 x 16 plane (its bias and the
         * activation applied to the transformed tiles) */
        "Conv2d(16, 20, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
    };
    static const char *const acts[] = {
        "ReLU()", "LeakyReLU(negative_slope=0.2)", "ReLU6()", "Sigmoid()", "Tanh()",
        "GELU(approximate='none')", "GELU(approximate='tanh')", "SiLU()",
    };
    for (size_t c = 0; c < sizeof convs / sizeof convs[0]; c++) {
        for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
            char text[512];
            snprintf(text, sizeof text, "Sequential(\n  (0): %s\n  (1): %s\n)", convs[c], acts[a]);
            lam_manual_seed(40 + c);
            lam_module *seq = parse(text);
            lam_module *conv = NULL, *act = NULL; /* borrowed */
            ASSERT_OK(lam_container_get(seq, 0, &conv));
            ASSERT_OK(lam_container_get(seq, 1, &act));
            bool one_d = convs[c][4] == '1';
            int64_t shape[4] = {3, c == 6 ? 16 : c == 5 ? 40 : c == 1 || c == 2 ? 6 : 5,
                                c == 6 ? 12 : 9, c == 6 ? 16 : 10};
            if (one_d)
                shape[2] = 11;
            lam_tensor *x = NULL, *y = NULL, *h = NULL, *y2 = NULL;
            ASSERT_OK(lam_tensor_create(&x, one_d ? 3 : 4, shape));
            float *xd = lam_tensor_data(x);
            for (int64_t i = 0; i < lam_tensor_numel(x); i++)
                xd[i] = (float)((i * 53) % 89) / 11.0f - 4.0f;
            ASSERT_OK(lam_module_forward(seq, x, &y));
            ASSERT_OK(lam_module_forward(conv, x, &h));
            ASSERT_OK(lam_module_forward(act, h, &y2));
            cr_expect(same_bits(y, y2), "%s: joined and separate results differ", text);
            lam_plan *p = NULL;
            ASSERT_OK(lam_plan_create(&p, seq, lam_tensor_ndim(x), lam_tensor_shape(x)));
            char *d = lam_plan_describe(p);
            char want[64];
            snprintf(want, sizeof want, "+%.*s", (int)strcspn(acts[a], "("), acts[a]);
            cr_expect(d && strstr(d, want), "%s: plan %s lacks %s", text, d ? d : "-", want);
            lam_free(d);
            lam_plan_free(p);
            lam_tensor_release(x);
            lam_tensor_release(y);
            lam_tensor_release(h);
            lam_tensor_release(y2);
            lam_module_release(seq);
        }
    }
}

/* A 1x1 convolution on planes whose pixel count leaves a short tail past
 * the last 16 (7 x 7: 1, 14 x 14: 4, 1 x 1: 1, 2 x 3: 6) computes those
 * pixels with the GEMM (conv_pw_tail): every output must have the bits of
 * the same pixel in a plane 16 wide (no tail), with each joined
 * activation, on 1 and 3 threads, and again after the weight changes (the
 * GEMM's packed copy remade). */
Test(conv, pointwise_plane_tails_same_bits)
{
    static const char *const acts[] = {"Identity()", "ReLU6()", "SiLU()", "Sigmoid()"};
    static const int64_t planes[][2] = {{7, 7}, {14, 14}, {1, 1}, {2, 3}, {5, 5}};
    int threads = lam_get_num_threads();
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
        for (size_t q = 0; q < sizeof planes / sizeof planes[0]; q++)
            for (int nt = 1; nt <= 3; nt += 2) {
                lam_set_num_threads(nt);
                char text[256];
                snprintf(text, sizeof text,
                         "Sequential(\n  (0): Conv2d(37, 70, kernel_size=(1, 1), stride=(1, 1))\n"
                         "  (1): %s\n)", acts[a]);
                lam_manual_seed(70 + (uint64_t)q);
                lam_module *seq = parse(text);
                const int64_t H = planes[q][0], W = planes[q][1];
                int64_t s1[4] = {3, 37, H, W}, s2[4] = {3, 37, H, 16};
                lam_tensor *x = NULL, *xw = NULL;
                ASSERT_OK(lam_tensor_create(&x, 4, s1));
                ASSERT_OK(lam_tensor_create(&xw, 4, s2));
                float *xd = lam_tensor_data(x), *wd = lam_tensor_data(xw);
                memset(wd, 0, sizeof(float) * (size_t)lam_tensor_numel(xw));
                for (int64_t p = 0; p < 3 * 37; p++)
                    for (int64_t i = 0; i < H * W; i++) {
                        float v = (float)((p * 131 + i * 53) % 97) / 13.0f - 3.5f;
                        xd[p * H * W + i] = v;
                        wd[(p * H + i / W) * 16 + i % W] = v;
                    }
                for (int round = 0; round < 2; round++) {
                    lam_tensor *y = NULL, *yw = NULL;
                    ASSERT_OK(lam_module_forward(seq, x, &y));
                    ASSERT_OK(lam_module_forward(seq, xw, &yw));
                    const float *yd = lam_tensor_cdata(y), *ywd = lam_tensor_cdata(yw);
                    int bad = 0;
                    for (int64_t p = 0; p < 3 * 70; p++)
                        for (int64_t i = 0; i < H * W; i++)
                            bad += memcmp(&yd[p * H * W + i], &ywd[(p * H + i / W) * 16 + i % W],
                                          sizeof(float)) != 0;
                    cr_expect_eq(bad, 0, "%s on %lldx%lld, %d thread(s), round %d: %d outputs "
                                 "differ from the same pixels of a plane 16 wide", acts[a],
                                 (long long)H, (long long)W, nt, round, bad);
                    lam_tensor_release(y);
                    lam_tensor_release(yw);
                    /* round 2: a new weight (the GEMM's copy must follow) */
                    lam_module *conv = NULL;
                    ASSERT_OK(lam_container_get(seq, 0, &conv));
                    lam_state_dict *sd = NULL;
                    ASSERT_OK(lam_module_state_dict(conv, &sd));
                    lam_tensor *w = lam_state_dict_get(sd, "weight");
                    lam_state_dict_free(sd);
                    float *wt = lam_tensor_data(w);
                    for (int64_t i = 0; i < lam_tensor_numel(w); i++)
                        wt[i] = wt[i] * -1.5f + 0.01f * (float)(i % 7);
                }
                lam_tensor_release(x);
                lam_tensor_release(xw);
                lam_module_release(seq);
            }
    lam_set_num_threads(threads);
}

/* ---- several user threads on one module ----------------------------------- */

struct user_thread {
    lam_module *m;
    const lam_tensor *x;
    const lam_tensor *want;
    int bad;
};

static void *user_forward(void *arg)
{
    struct user_thread *u = arg;
    for (int i = 0; i < 20; i++) {
        lam_tensor *y = NULL;
        if (lam_module_forward(u->m, u->x, &y) != LAM_OK || !same_bits(y, u->want))
            u->bad++;
        lam_tensor_release(y);
    }
    return NULL;
}

/* The packed weight and the per-thread scratch: four user threads running
 * the same convolutions at once get the single-threaded bits. */
Test(conv, user_threads_share_a_module)
{
    static const char *const ctors[] = {"Conv2d(8, 16, 3, padding=1)",
                                        "Conv2d(8, 8, 5, padding=2, groups=8)",
                                        "ConvTranspose2d(8, 4, 3, stride=2)", "Conv2d(8, 12, 1)"};
    for (size_t c = 0; c < sizeof ctors / sizeof ctors[0]; c++) {
        lam_manual_seed(60 + c);
        lam_module *m = parse(ctors[c]);
        int64_t shape[4] = {2, 8, 23, 19};
        lam_tensor *x = NULL, *want = NULL;
        ASSERT_OK(lam_tensor_create(&x, 4, shape));
        float *xd = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            xd[i] = (float)((i * 13) % 29) / 7.0f - 2.0f;
        ASSERT_OK(lam_module_forward(m, x, &want));
        struct user_thread u[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            u[i] = (struct user_thread){m, x, want, 0};
            cr_assert_eq(pthread_create(&th[i], NULL, user_forward, &u[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            cr_expect_eq(u[i].bad, 0, "%s: thread %d got other results %d times", ctors[c], i,
                         u[i].bad);
        }
        lam_tensor_release(want);
        lam_tensor_release(x);
        lam_module_release(m);
    }
}
