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
