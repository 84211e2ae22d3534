/* .npy row reader (lam_npy_reader_*) and lam_npy_header: every row range
 * of every numpy fixture reads as the same rows of lam_npy_load's tensor
 * (big-endian and float64 converted alike); every malformed fixture fails
 * to open with lam_npy_load's status and message; ranges outside the array
 * and a file truncated after opening are errors; the header is
 * lam_npy_save's, byte for byte. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iotest.h"

static int64_t row_numel(const lam_tensor *t)
{
    int64_t n = 1;
    for (int i = 1; i < lam_tensor_ndim(t); i++)
        n *= lam_tensor_shape(t)[i];
    return n;
}

Test(npy_rows, every_range_reads_as_load)
{
    static const char *const files[] = {"arange_2x3_f4.npy", "vec5_f4.npy", "four_d_f4.npy", "empty_f4.npy",
                                        "f8_2x3.npy", "be_f4.npy", "be_f8.npy", "v2_f4.npy", "v3_f4.npy",
                                        "scalar_f4.npy"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        lam_tensor *t = NULL;
        lam_npy_reader *r = NULL;
        cr_assert_eq(lam_npy_load(io_fixture(files[f]), &t), LAM_OK, "%s", lam_last_error());
        cr_assert_eq(lam_npy_reader_open(io_fixture(files[f]), &r), LAM_OK, "%s", lam_last_error());
        cr_assert_eq(lam_npy_reader_ndim(r), lam_tensor_ndim(t), "%s", files[f]);
        cr_assert_eq(memcmp(lam_npy_reader_shape(r), lam_tensor_shape(t), sizeof(int64_t) * lam_tensor_ndim(t)),
                     0, "%s: shape", files[f]);
        int64_t rows = lam_tensor_shape(t)[0], rn = row_numel(t);
        float *buf = malloc(sizeof(float) * (size_t)(rows * rn + 1));
        for (int64_t b = 0; b <= rows; b++)
            for (int64_t n = 0; b + n <= rows; n++) {
                memset(buf, 0xff, sizeof(float) * (size_t)(rows * rn + 1));
                cr_assert_eq(lam_npy_reader_read(r, b, n, buf), LAM_OK, "%s", lam_last_error());
                cr_expect_eq(memcmp(buf, lam_tensor_cdata(t) + b * rn, sizeof(float) * (size_t)(n * rn)), 0,
                             "%s rows [%lld, %lld)", files[f], (long long)b, (long long)(b + n));
                cr_expect_eq(lam_npy_reader_prefetch(r, b, n), LAM_OK);
            }
        cr_expect_eq(lam_npy_reader_read(r, 0, rows + 1, buf), LAM_ERR_INVALID_ARGUMENT);
        cr_expect(strstr(lam_last_error(), "are not within the"), "%s", lam_last_error());
        cr_expect_eq(lam_npy_reader_read(r, -1, 1, buf), LAM_ERR_INVALID_ARGUMENT);
        cr_expect_eq(lam_npy_reader_read(r, rows, 1, buf), LAM_ERR_INVALID_ARGUMENT);
        cr_expect_eq(lam_npy_reader_prefetch(r, rows, 1), LAM_ERR_INVALID_ARGUMENT);
        cr_expect_eq(lam_npy_reader_read(r, 0, 0, NULL), LAM_OK); /* nothing to read: dst may be NULL */
        free(buf);
        lam_npy_reader_close(r);
        lam_tensor_release(t);
    }
    io_leak_check();
}

/* lam_npy_reader_map gives the bytes lam_npy_load gives for every non-empty
 * range of a float32 file (data at any offset in its page), refuses files
 * whose bytes need converting, empty ranges and ranges outside the array. */
Test(npy_rows, every_range_maps_as_load)
{
    static const char *const files[] = {"arange_2x3_f4.npy", "vec5_f4.npy", "four_d_f4.npy", "v2_f4.npy",
                                        "v3_f4.npy", "scalar_f4.npy"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        lam_tensor *t = NULL;
        lam_npy_reader *r = NULL;
        cr_assert_eq(lam_npy_load(io_fixture(files[f]), &t), LAM_OK, "%s", lam_last_error());
        cr_assert_eq(lam_npy_reader_open(io_fixture(files[f]), &r), LAM_OK, "%s", lam_last_error());
        int64_t rows = lam_tensor_shape(t)[0], rn = row_numel(t);
        for (int64_t b = 0; b < rows; b++)
            for (int64_t n = 1; b + n <= rows; n++) {
                const float *data = NULL;
                cr_assert_eq(lam_npy_reader_map(r, b, n, &data), LAM_OK, "%s", lam_last_error());
                cr_expect_eq(memcmp(data, lam_tensor_cdata(t) + b * rn, sizeof(float) * (size_t)(n * rn)), 0,
                             "%s rows [%lld, %lld)", files[f], (long long)b, (long long)(b + n));
                lam_npy_reader_unmap(r, data, n);
            }
        const float *data = (const float *)1;
        cr_expect_eq(lam_npy_reader_map(r, 0, rows + 1, &data), LAM_ERR_INVALID_ARGUMENT);
        cr_expect_null(data);
        cr_expect_eq(lam_npy_reader_map(r, -1, 1, &data), LAM_ERR_INVALID_ARGUMENT);
        cr_expect_eq(lam_npy_reader_map(r, 0, 0, &data), LAM_ERR_INVALID_ARGUMENT);
        cr_expect(strstr(lam_last_error(), "map at least one"), "%s", lam_last_error());
        lam_npy_reader_close(r);
        lam_tensor_release(t);
    }
    static const char *const converted[] = {"f8_2x3.npy", "be_f4.npy", "be_f8.npy"};
    for (size_t f = 0; f < sizeof converted / sizeof *converted; f++) {
        lam_npy_reader *r = NULL;
        const float *data = (const float *)1;
        cr_assert_eq(lam_npy_reader_open(io_fixture(converted[f]), &r), LAM_OK, "%s", lam_last_error());
        cr_expect_eq(lam_npy_reader_map(r, 0, 1, &data), LAM_ERR_NOT_IMPLEMENTED, "%s", converted[f]);
        cr_expect(strstr(lam_last_error(), "lam_npy_reader_read"), "%s", lam_last_error());
        cr_expect_null(data);
        lam_npy_reader_close(r);
    }
    io_leak_check();
}

/* The header parser is lam_npy_load's: same status, same message. */
Test(npy_rows, open_fails_as_load)
{
    static const char *const files[] = {"fortran_2x3.npy", "f2.npy", "five_d.npy"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        lam_tensor *t = NULL;
        lam_npy_reader *r = (lam_npy_reader *)1;
        lam_status want = lam_npy_load(io_fixture(files[f]), &t);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", lam_last_error());
        cr_expect_eq(lam_npy_reader_open(io_fixture(files[f]), &r), want, "%s", files[f]);
        cr_expect_null(r);
        cr_expect_str_eq(lam_last_error(), msg);
    }
    /* an int64 array loads whole, but the row reader reads floats only */
    lam_npy_reader *ir = (lam_npy_reader *)1;
    cr_expect_eq(lam_npy_reader_open(io_fixture("int64.npy"), &ir), LAM_ERR_FORMAT);
    cr_expect_null(ir);
    cr_expect(strstr(lam_last_error(), "the row reader reads float arrays"), "%s", lam_last_error());
    /* truncated, trailing bytes, empty, not .npy, missing, a directory */
    size_t len;
    unsigned char *good = io_read(io_fixture("arange_2x3_f4.npy"), &len);
    const struct { const char *name; size_t len; const char *expect; } c[] = {
        {"trunc.npy", len - 4, "(file truncated)"}, {"trail.npy", len, "4 trailing bytes"},
        {"empty.npy", 0, "file is empty"}, {"header.npy", 9, "truncated inside the header length"},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        const char *p = io_tmp(c[i].name);
        unsigned char *bytes = malloc(len + 4);
        memcpy(bytes, good, len);
        memset(bytes + len, 0, 4);
        io_write(p, bytes, c[i].len + (strcmp(c[i].name, "trail.npy") ? 0 : 4));
        free(bytes);
        lam_npy_reader *r = NULL;
        cr_expect_eq(lam_npy_reader_open(p, &r), LAM_ERR_FORMAT, "%s", c[i].name);
        cr_expect(strstr(lam_last_error(), c[i].expect), "%s: %s", c[i].name, lam_last_error());
    }
    lam_npy_reader *r = NULL;
    cr_expect_eq(lam_npy_reader_open(io_tmp("missing.npy"), &r), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "cannot open: No such file"), "%s", lam_last_error());
    cr_expect_eq(lam_npy_reader_open("/", &r), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "not a regular file"), "%s", lam_last_error());
    free(good);
    io_leak_check();
}

/* A file cut short after the reader checked it: an error, not SIGBUS. */
Test(npy_rows, truncated_after_open)
{
    size_t len;
    unsigned char *good = io_read(io_fixture("arange_2x3_f4.npy"), &len);
    const char *p = io_tmp("shrinks.npy");
    io_write(p, good, len);
    lam_npy_reader *r = NULL;
    cr_assert_eq(lam_npy_reader_open(p, &r), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(truncate(p, (off_t)len - 12), 0);
    float buf[6];
    cr_expect_eq(lam_npy_reader_read(r, 0, 1, buf), LAM_OK); /* row 0 is still there */
    cr_expect_eq(lam_npy_reader_read(r, 0, 2, buf), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "truncated after it was opened"), "%s", lam_last_error());
    /* mapping checks the file's length first: an error, not a mapping to SIGBUS on */
    const float *data = NULL;
    cr_expect_eq(lam_npy_reader_map(r, 0, 2, &data), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "truncated after it was opened"), "%s", lam_last_error());
    cr_expect_null(data);
    cr_expect_eq(lam_npy_reader_map(r, 0, 1, &data), LAM_OK, "%s", lam_last_error());
    cr_expect_eq(memcmp(data, good + len - 24, sizeof(float) * 3), 0);
    lam_npy_reader_unmap(r, data, 1);
    lam_npy_reader_close(r);
    free(good);
    io_leak_check();
}

/* lam_npy_header is the header lam_npy_save writes; too small a buffer and
 * bad shapes are refused. */
Test(npy_rows, header_is_saves)
{
    static const struct { int nd; int64_t shape[4]; } c[] = {
        {1, {5}}, {2, {2, 3}}, {2, {0, 10}}, {4, {1, 2, 3, 2}}, {2, {123456789012345, 7}}, {3, {9, 0, 1}},
    };
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        char h[LAM_NPY_HEADER_MAX];
        size_t hl = 0;
        cr_assert_eq(lam_npy_header(c[i].nd, c[i].shape, h, sizeof h, &hl), LAM_OK, "%s", lam_last_error());
        cr_expect_eq(hl % 64, 0, "header of %zu bytes", hl);
        if (c[i].shape[0] > 1000)
            continue; /* not a tensor to make */
        lam_tensor *t;
        cr_assert_eq(lam_tensor_create(&t, c[i].nd, c[i].shape), LAM_OK);
        const char *p = io_tmp("h.npy");
        cr_assert_eq(lam_npy_save(p, t), LAM_OK, "%s", lam_last_error());
        size_t len;
        unsigned char *saved = io_read(p, &len);
        cr_expect(len >= hl && memcmp(saved, h, hl) == 0, "shape %zu: header differs from lam_npy_save's", i);
        cr_expect_eq(len - hl, sizeof(float) * (size_t)lam_tensor_numel(t));
        free(saved);
        lam_tensor_release(t);
    }
    char small[64];
    size_t hl;
    int64_t s[2] = {2, 3}, neg[2] = {2, -3};
    cr_expect_eq(lam_npy_header(2, s, small, sizeof small, &hl), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "buf holds 64"), "%s", lam_last_error());
    cr_expect_eq(lam_npy_header(2, neg, small, sizeof small, &hl), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_npy_header(0, s, small, sizeof small, &hl), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_npy_header(5, s, small, sizeof small, &hl), LAM_ERR_INVALID_ARGUMENT);
    io_leak_check();
}
