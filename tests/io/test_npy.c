/* .npy: numpy-written fixtures (tools/gen-io-fixtures.py), saving byte for
 * byte as np.save does, and malformed files (table below). */
#include "config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iotest.h"

static lam_tensor *load_ok(const char *name)
{
    lam_tensor *t = NULL;
    lam_status st = lam_npy_load(io_fixture(name), &t);
    cr_assert_eq(st, LAM_OK, "%s: %s", name, lam_last_error());
    return t;
}

static void expect_pattern(const lam_tensor *t, int ndim, const int64_t *shape)
{
    cr_assert_eq(lam_tensor_ndim(t), ndim);
    for (int i = 0; i < ndim; i++)
        cr_expect_eq(lam_tensor_shape(t)[i], shape[i], "dim %d", i);
    for (int64_t i = 0; i < lam_tensor_numel(t); i++)
        cr_expect_eq(lam_tensor_cdata(t)[i], io_pattern(i), "element %lld", (long long)i);
}

Test(npy, float32_shapes_and_versions)
{
    static const struct { const char *file; int nd; int64_t shape[4]; } c[] = {
        {"arange_2x3_f4.npy", 2, {2, 3}}, {"vec5_f4.npy", 1, {5}}, {"four_d_f4.npy", 4, {1, 2, 3, 2}},
        {"v2_f4.npy", 2, {2, 3}},         {"v3_f4.npy", 2, {2, 3}}, {"be_f4.npy", 2, {3, 2}},
        {"be_f8.npy", 1, {4}},            {"empty_f4.npy", 2, {3, 0}},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lam_tensor *t = load_ok(c[i].file);
        expect_pattern(t, c[i].nd, c[i].shape);
        lam_tensor_release(t);
    }
    io_leak_check();
}

Test(npy, scalar_loads_as_1)
{
    lam_tensor *t = load_ok("scalar_f4.npy");
    cr_expect_eq(lam_tensor_ndim(t), 1);
    cr_expect_eq(lam_tensor_shape(t)[0], 1);
    cr_expect_eq(lam_tensor_cdata(t)[0], 42.0f);
    lam_tensor_release(t);
    io_leak_check();
}

Test(npy, float64_rounds_to_nearest)
{
    const double v[] = {0.1, 1.0 / 3, 1e300, -1e-50, -0.0, 16777217.0};
    lam_tensor *t = load_ok("f8_2x3.npy");
    cr_assert_eq(lam_tensor_numel(t), 6);
    for (int i = 0; i < 6; i++) {
        float want = (float)v[i], got = lam_tensor_cdata(t)[i];
        cr_expect_eq(memcmp(&got, &want, 4), 0, "element %d: %a vs %a", i, got, want);
    }
    cr_expect(isinf(lam_tensor_cdata(t)[2]));
    cr_expect(signbit(lam_tensor_cdata(t)[3]) && lam_tensor_cdata(t)[3] == 0.0f);
    lam_tensor_release(t);
    io_leak_check();
}

Test(npy, unsupported_fixtures)
{
    static const struct { const char *file, *expect; } c[] = {
        {"fortran_2x3.npy", "fortran_order=True (column-major) arrays are not supported"},
        {"f2.npy", "dtype '<f2' is not supported"},
        {"five_d.npy", "shape (1, 1, 1, 1, 2) has 5 dimensions; lamina tensors have 1 to 4"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lam_tensor *t = (lam_tensor *)1;
        cr_expect_eq(lam_npy_load(io_fixture(c[i].file), &t), LAM_ERR_FORMAT, "%s", c[i].file);
        cr_expect_null(t);
        cr_expect(strstr(lam_last_error(), c[i].file) && strstr(lam_last_error(), c[i].expect), "%s: %s",
                  c[i].file, lam_last_error());
    }
    io_leak_check();
}

/* '<i8' (np.arange(4)) loads as an int64 tensor (issue 16). */
Test(npy, int64_loads_as_int64)
{
    lam_tensor *t = NULL;
    cr_assert_eq(lam_npy_load(io_fixture("int64.npy"), &t), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(lam_tensor_dtype(t), LAM_INT64);
    const int64_t *v = lam_tensor_cdata_i64(t);
    cr_assert_not_null(v);
    cr_expect(lam_tensor_numel(t) == 4 && v[0] == 0 && v[3] == 3);
    lam_tensor_release(t);
    io_leak_check();
}

/* np.save's bytes exactly, including numpy's spare header space. */
Test(npy, save_matches_numpy)
{
    static const struct { const char *file; int nd; int64_t shape[4]; } c[] = {
        {"arange_2x3_f4.npy", 2, {2, 3}}, {"vec5_f4.npy", 1, {5}}, {"four_d_f4.npy", 4, {1, 2, 3, 2}},
        {"empty_f4.npy", 2, {3, 0}},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lam_tensor *t;
        char path[1024];
        size_t n1, n2;
        cr_assert_eq(lam_tensor_create(&t, c[i].nd, c[i].shape), LAM_OK);
        for (int64_t j = 0; j < lam_tensor_numel(t); j++)
            lam_tensor_data(t)[j] = io_pattern(j);
        snprintf(path, sizeof path, "%s", io_tmp("saved.npy"));
        cr_assert_eq(lam_npy_save(path, t), LAM_OK, "%s", lam_last_error());
        unsigned char *got = io_read(path, &n1), *exp = io_read(io_fixture(c[i].file), &n2);
        cr_expect(n1 == n2 && memcmp(got, exp, n1) == 0, "%s: lamina's bytes differ from np.save's (%zu vs %zu)",
                  c[i].file, n1, n2);
        lam_tensor *back = NULL;
        cr_assert_eq(lam_npy_load(path, &back), LAM_OK, "%s", lam_last_error());
        expect_pattern(back, c[i].nd, c[i].shape);
        lam_tensor_release(back);
        lam_tensor_release(t);
        free(got);
        free(exp);
    }
    io_leak_check();
}

Test(npy, io_errors)
{
    lam_tensor *t = (lam_tensor *)1;
    cr_expect_eq(lam_npy_load(io_tmp("missing.npy"), &t), LAM_ERR_IO);
    cr_expect_null(t);
    cr_expect(strstr(lam_last_error(), "missing.npy: cannot open: No such file or directory"), "%s", lam_last_error());
    cr_expect_eq(lam_npy_save(io_tmp("no/such/dir.npy"), NULL), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_npy_parse(NULL, 3, &t), LAM_ERR_INVALID_ARGUMENT);
    lam_tensor *ok = load_ok("vec5_f4.npy");
    cr_expect_eq(lam_npy_save(io_tmp("no/such/dir.npy"), ok), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "No such file or directory"), "%s", lam_last_error());
    lam_tensor_release(ok);
    io_leak_check();
}

/* ---- malformed files: version byte, header text, data bytes ---- */

typedef struct bad_npy {
    const char *what;
    unsigned char major, minor;
    const char *header; /* NULL: raw */
    size_t header_len, data;
    const char *raw;
    size_t raw_len;
    const char *expect;
} bad_npy;

#define RAW(what, bytes, expect) {what, 0, 0, NULL, 0, 0, bytes, sizeof(bytes) - 1, expect}
#define HDR(what, ver, header, data, expect) {what, ver, 0, header, sizeof(header) - 1, data, NULL, 0, expect}
#define DICT(descr, fo, shape) "{'descr': '" descr "', 'fortran_order': " fo ", 'shape': " shape ", }"

static const bad_npy npy_cases[] = {
    RAW("empty file", "", "file is empty"),
    RAW("bad magic", "\x93NUMPX\x01\x00\x10\x00{}              ", "not a .npy file (bad magic"),
    RAW("too short for magic", "\x93NUM", "bad magic"),
    RAW("version 4.0", "\x93NUMPY\x04\x00\x02\x00{}", "unsupported .npy format version 4.0"),
    RAW("version 1.1", "\x93NUMPY\x01\x01\x02\x00{}", "unsupported .npy format version 1.1"),
    RAW("v2 header length cut", "\x93NUMPY\x02\x00\x10\x00", "truncated inside the header length"),
    RAW("header length past EOF", "\x93NUMPY\x01\x00\x76\x00{'descr'", "header length 118 runs past the end of the file"),
    RAW("v2 header length past EOF", "\x93NUMPY\x02\x00\x11\x27\x00\x00", "runs past the end"),
    HDR("not a dict", 1, "hello\n", 0, "not a Python dict literal"),
    HDR("missing shape", 1, "{'descr': '<f4', 'fortran_order': False}\n", 0, "header has no 'shape' key"),
    HDR("missing descr", 1, "{'fortran_order': False, 'shape': (1,)}", 4, "header has no 'descr' key"),
    HDR("unknown key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'foo': 1}", 4,
        "unexpected key 'foo'"),
    HDR("duplicate key", 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4,
        "key 'descr' appears twice"),
    HDR("shape is not a tuple", 1, DICT("<f4", "False", "[2]"), 8, "'shape' is not a tuple"),
    HDR("1-tuple without comma", 1, DICT("<f4", "False", "(5)"), 20, "'shape' (5) is not a tuple"),
    HDR("negative dimension", 1, DICT("<f4", "False", "(-2,)"), 0, "negative dimension"),
    HDR("empty tuple slot", 1, DICT("<f4", "False", "(2,,)"), 8, "'shape' must hold non-negative integers"),
    HDR("dimension too large", 1, DICT("<f4", "False", "(99999999999999999999,)"), 0, "does not fit in 63 bits"),
    HDR("shape overflow", 1, DICT("<f4", "False", "(4294967296, 4294967296)"), 0, "overflows"),
    HDR("fortran_order not a bool", 1, DICT("<f4", "maybe", "(2,)"), 8, "'fortran_order' must be True or False"),
    HDR("fortran order 2-D", 2, DICT("<f4", "True", "(2, 2)"), 16, "fortran_order=True (column-major)"),
    HDR("structured dtype", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", 8,
        "structured dtypes"),
    HDR("unsupported dtype", 1, DICT("|u1", "False", "(2,)"), 2, "dtype '|u1' is not supported"),
    HDR("unterminated string", 1, "{'descr: 1}", 0, "unterminated key"),
    HDR("data truncated", 1, DICT("<f4", "False", "(2, 3)"), 20, "data is 20 bytes but <f4 (2, 3) needs 24 (file truncated)"),
    HDR("trailing bytes", 3, DICT("<f8", "False", "(2,)"), 17, "1 trailing bytes after the data of <f8 (2,)"),
    HDR("garbage after dict", 1, DICT("<f4", "False", "(1,)") " x", 4, "unexpected characters after the dict"),
    HDR("six dimensions", 1, DICT("<f4", "False", "(1, 1, 1, 1, 1, 1)"), 4, "has 6 dimensions"),
    /* numpy's literal_eval refuses NUL bytes; a C string compare would stop at them */
    HDR("NUL in descr", 1, DICT("<f4\0junk", "False", "(1,)"), 4, "NUL byte in 'descr'"),
    HDR("NUL in key", 1, "{'descr': '<f4', 'fortran_order': False, 'shape\0x': (1,)}", 4, "NUL byte in key"),
};

static unsigned char *build(const bad_npy *c, size_t *len)
{
    if (!c->header) {
        unsigned char *b = malloc(c->raw_len + 1);
        memcpy(b, c->raw, c->raw_len);
        *len = c->raw_len;
        return b;
    }
    size_t pre = c->major == 1 ? 10 : 12;
    *len = pre + c->header_len + c->data;
    unsigned char *b = calloc(1, *len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = c->major;
    b[7] = c->minor;
    for (size_t i = 0; i < pre - 8; i++)
        b[8 + i] = (unsigned char)(c->header_len >> (8 * i));
    memcpy(b + pre, c->header, c->header_len);
    return b;
}

Test(npy_bad, table)
{
    char path[1024], prefix[1100];
    cr_expect_geq(sizeof npy_cases / sizeof npy_cases[0], 10);
    for (size_t i = 0; i < sizeof npy_cases / sizeof npy_cases[0]; i++) {
        const bad_npy *c = &npy_cases[i];
        size_t len;
        unsigned char *b = build(c, &len);
        lam_tensor *t = (lam_tensor *)1;
        lam_status st = lam_npy_parse(len ? b : NULL, len, &t);
        cr_expect_eq(st, LAM_ERR_FORMAT, "%s: status %d (%s)", c->what, st, lam_last_error());
        cr_expect_null(t);
        cr_expect(strncmp(lam_last_error(), "<memory>: ", 10) == 0 && strstr(lam_last_error(), c->expect),
                  "%s:\n  got      %s\n  expected ...%s", c->what, lam_last_error(), c->expect);
        snprintf(path, sizeof path, "%s", io_tmp("bad.npy"));
        snprintf(prefix, sizeof prefix, "%s: ", path);
        io_write(path, b, len);
        st = lam_npy_load(path, &t);
        cr_expect_eq(st, LAM_ERR_FORMAT, "%s (file): %s", c->what, lam_last_error());
        cr_expect(strncmp(lam_last_error(), prefix, strlen(prefix)) == 0 && strstr(lam_last_error(), c->expect),
                  "%s (file): %s", c->what, lam_last_error());
        free(b);
    }
    io_leak_check();
}

Test(npy_bad, every_truncation_of_a_valid_file)
{
    size_t len;
    unsigned char *b = io_read(io_fixture("arange_2x3_f4.npy"), &len);
    for (size_t n = 0; n < len; n++) {
        lam_tensor *t = NULL;
        unsigned char *copy = n ? malloc(n) : NULL;
        if (n)
            memcpy(copy, b, n);
        cr_expect_eq(lam_npy_parse(copy, n, &t), LAM_ERR_FORMAT, "prefix %zu", n);
        free(copy);
    }
    free(b);
    io_leak_check();
}
