/* safetensors: loading PyTorch-written fixtures, conversions, zero-copy
 * mapping lifetime, saving, and I/O errors.  Malformed files are in
 * test_safetensors_bad.c.  Fixtures: tools/gen-io-fixtures.py. */
#include "config.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iotest.h"

static lam_state_dict *load_ok(const char *path)
{
    lam_state_dict *sd = (lam_state_dict *)1;
    lam_status st = lam_safetensors_load(path, &sd);
    cr_assert_eq(st, LAM_OK, "%s: %s", path, lam_last_error());
    cr_assert_not_null(sd);
    return sd;
}

static void expect_shape(const lam_tensor *t, int ndim, const int64_t *shape)
{
    cr_assert_not_null(t);
    cr_assert_eq(lam_tensor_ndim(t), ndim);
    for (int i = 0; i < ndim; i++)
        cr_expect_eq(lam_tensor_shape(t)[i], shape[i], "dim %d", i);
}

static void expect_pattern(const lam_tensor *t, int64_t n)
{
    cr_assert_eq(lam_tensor_numel(t), n);
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(lam_tensor_cdata(t)[i], io_pattern(i), "element %lld", (long long)i);
}

static bool same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

Test(safetensors, model_matches_numpy_copies)
{
    static const char *keys[] = {"0.bias", "0.weight", "2.bias", "2.weight"};
    lam_state_dict *sd = load_ok(io_fixture("model.safetensors"));
    cr_assert_eq(lam_state_dict_len(sd), 4);
    for (size_t i = 0; i < 4; i++) {
        char name[64];
        lam_tensor *ref = NULL;
        cr_expect_str_eq(lam_state_dict_key(sd, i), keys[i], "keys in sorted order");
        snprintf(name, sizeof name, "model_%s.npy", keys[i]);
        cr_assert_eq(lam_npy_load(io_fixture(name), &ref), LAM_OK, "%s", lam_last_error());
        lam_tensor *t = lam_state_dict_get(sd, keys[i]);
        cr_assert(lam_tensor_same_shape(t, ref), "%s shape", keys[i]);
        cr_expect(lam_tensor_is_borrowed(t), "%s: F32 from a file is zero-copy", keys[i]);
        cr_expect_eq(memcmp(lam_tensor_cdata(t), lam_tensor_cdata(ref), (size_t)lam_tensor_numel(t) * 4), 0,
                     "%s values", keys[i]);
        lam_tensor_release(ref);
    }
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, pattern_dtypes_scalar_empty_4d)
{
    lam_state_dict *sd = load_ok(io_fixture("pattern.safetensors"));
    cr_assert_eq(lam_state_dict_len(sd), 7);
    const char *order = "abcdefg";
    for (size_t i = 0; i < 7; i++)
        cr_expect_eq(lam_state_dict_key(sd, i)[0], order[i]);
    expect_shape(lam_state_dict_get(sd, "a"), 2, (int64_t[]){2, 3});
    expect_pattern(lam_state_dict_get(sd, "a"), 6);
    expect_shape(lam_state_dict_get(sd, "b"), 1, (int64_t[]){4}); /* F16 */
    expect_pattern(lam_state_dict_get(sd, "b"), 4);
    expect_shape(lam_state_dict_get(sd, "c"), 3, (int64_t[]){2, 2, 2}); /* BF16 */
    expect_pattern(lam_state_dict_get(sd, "c"), 8);
    expect_shape(lam_state_dict_get(sd, "d"), 2, (int64_t[]){3, 1}); /* F64 */
    expect_pattern(lam_state_dict_get(sd, "d"), 3);
    cr_expect(!lam_tensor_is_borrowed(lam_state_dict_get(sd, "b")), "converted tensors own their data");
    /* 0-dim scalar -> [1] */
    expect_shape(lam_state_dict_get(sd, "e"), 1, (int64_t[]){1});
    cr_expect_eq(lam_tensor_cdata(lam_state_dict_get(sd, "e"))[0], 42.0f);
    expect_shape(lam_state_dict_get(sd, "f"), 2, (int64_t[]){2, 0});
    expect_shape(lam_state_dict_get(sd, "g"), 4, (int64_t[]){1, 2, 1, 2});
    expect_pattern(lam_state_dict_get(sd, "g"), 4);
    lam_state_dict_free(sd);
    io_leak_check();
}

/* F16 (every subnormal/inf/NaN pattern and a stride through the rest), BF16
 * and F64 against numpy's / PyTorch's float32 conversions, bit for bit. */
Test(safetensors, conversions_bit_exact)
{
    static const char *pairs[][2] = {{"f16", "f16_expected"}, {"bf16", "bf16_expected"}, {"f64", "f64_expected"}};
    lam_state_dict *sd = load_ok(io_fixture("specials.safetensors"));
    for (int k = 0; k < 3; k++) {
        const lam_tensor *got = lam_state_dict_get(sd, pairs[k][0]), *exp = lam_state_dict_get(sd, pairs[k][1]);
        cr_assert(got && exp);
        cr_assert_eq(lam_tensor_numel(got), lam_tensor_numel(exp));
        int64_t bad = 0;
        for (int64_t i = 0; i < lam_tensor_numel(got); i++) {
            float g = lam_tensor_cdata(got)[i], e = lam_tensor_cdata(exp)[i];
            if (!same_bits(g, e) && bad++ < 5)
                cr_expect_fail("%s[%lld]: got %a, expected %a", pairs[k][0], (long long)i, g, e);
        }
        cr_expect_eq(bad, 0, "%s: %lld mismatches", pairs[k][0], (long long)bad);
    }
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, unaligned_f32_is_copied)
{
    lam_state_dict *sd = load_ok(io_fixture("unaligned.safetensors"));
    lam_tensor *x = lam_state_dict_get(sd, "x");
    cr_expect(!lam_tensor_is_borrowed(x));
    expect_pattern(x, 3);
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, header_order_differs_from_offsets)
{
    lam_state_dict *sd = load_ok(io_fixture("order.safetensors"));
    cr_expect_str_eq(lam_state_dict_key(sd, 0), "a");
    cr_expect_str_eq(lam_state_dict_key(sd, 1), "z");
    cr_expect_eq(lam_tensor_cdata(lam_state_dict_get(sd, "a"))[1], io_pattern(1));
    cr_expect_eq(lam_tensor_cdata(lam_state_dict_get(sd, "z"))[0], io_pattern(2));
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, empty_dict)
{
    lam_state_dict *sd = load_ok(io_fixture("empty_dict.safetensors"));
    cr_expect_eq(lam_state_dict_len(sd), 0);
    lam_state_dict_free(sd);
    io_leak_check();
}

/* save_model() keeps one name per tied group; the other is only in metadata. */
Test(safetensors, tied_weights_from_save_model)
{
    lam_state_dict *sd = load_ok(io_fixture("tied_save_model.safetensors"));
    cr_expect_eq(lam_state_dict_len(sd), 1);
    cr_expect_not_null(lam_state_dict_get(sd, "decoder.weight"));
    cr_expect_null(lam_state_dict_get(sd, "encoder.weight"));
    lam_state_dict_free(sd);
    io_leak_check();
}

/* PyTorch's BatchNorm count: an I64 scalar loads as an int64 tensor [1]
 * (what load_state_dict does with it: tests/test_norms.c). */
Test(safetensors, i64_count_loads)
{
    lam_state_dict *sd = load_ok(io_fixture("unsupported_i64.safetensors"));
    lam_tensor *t = lam_state_dict_get(sd, "bn.num_batches_tracked");
    cr_assert_not_null(t);
    cr_expect_eq(lam_tensor_ndim(t), 1);
    cr_expect_eq(lam_tensor_dim(t, 0), 1);
    cr_expect_eq(lam_tensor_dtype(t), LAM_INT64);
    cr_expect_eq(lam_tensor_cdata_i64(t)[0], 7);
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, unsupported_but_valid)
{
    lam_state_dict *sd = (lam_state_dict *)1;
    cr_expect_eq(lam_safetensors_load(io_fixture("unsupported_u8.safetensors"), &sd), LAM_ERR_FORMAT);
    cr_expect_null(sd);
    cr_expect(strstr(lam_last_error(), "unsupported_u8.safetensors: tensor \"mask\": dtype U8 "
                                       "is not supported"), "%s", lam_last_error());
    cr_expect_eq(lam_safetensors_load(io_fixture("five_dims.safetensors"), &sd), LAM_ERR_FORMAT);
    cr_expect(strstr(lam_last_error(), "tensor \"w\": F32 [1, 1, 1, 1, 2] has 5 dimensions"), "%s",
              lam_last_error());
    io_leak_check();
}

/* The mapping lives exactly as long as the last zero-copy tensor. */
Test(safetensors, mapping_outlives_dict_until_last_tensor)
{
    char real[PATH_MAX];
    const char *path = io_tmp("map.safetensors");
    size_t len;
    unsigned char *bytes = io_read(io_fixture("model.safetensors"), &len);
    io_write(path, bytes, len);
    free(bytes);
    cr_assert_not_null(realpath(path, real));

    lam_state_dict *sd = load_ok(path);
    cr_expect_eq(io_mappings_of(real), 1, "one mapping while tensors live");
    lam_tensor *w = lam_tensor_retain(lam_state_dict_get(sd, "0.weight"));
    float first = lam_tensor_cdata(w)[0];
    lam_state_dict_free(sd);
    cr_expect_eq(io_mappings_of(real), 1, "still mapped: w holds it");
    cr_expect_eq(lam_tensor_cdata(w)[0], first);
    /* private mapping: writing the tensor never reaches the file */
    lam_tensor_data(w)[0] = 1234.5f;
    lam_tensor_release(w);
    cr_expect_eq(io_mappings_of(real), 0, "unmapped after the last tensor");
    sd = load_ok(path);
    cr_expect_eq(lam_tensor_cdata(lam_state_dict_get(sd, "0.weight"))[0], first, "file unchanged");
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, parse_from_memory_copies)
{
    size_t len;
    unsigned char *bytes = io_read(io_fixture("pattern.safetensors"), &len);
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_safetensors_parse(bytes, len, &sd), LAM_OK, "%s", lam_last_error());
    memset(bytes, 0xff, len);
    free(bytes);
    cr_expect(!lam_tensor_is_borrowed(lam_state_dict_get(sd, "a")));
    expect_pattern(lam_state_dict_get(sd, "a"), 6);
    lam_state_dict_free(sd);
    io_leak_check();
}

static lam_state_dict *sample_dict(void)
{
    static const struct { const char *key; int nd; int64_t shape[2]; } k[] = {
        {"2.weight", 2, {2, 4}}, {"0.weight", 2, {4, 3}}, {"2.bias", 1, {2}}, {"0.bias", 1, {4}},
    };
    lam_state_dict *sd;
    cr_assert_eq(lam_state_dict_create(&sd), LAM_OK);
    for (int i = 0; i < 4; i++) {
        lam_tensor *t;
        cr_assert_eq(lam_tensor_create(&t, k[i].nd, k[i].shape), LAM_OK);
        for (int64_t j = 0; j < lam_tensor_numel(t); j++)
            lam_tensor_data(t)[j] = io_pattern(j);
        cr_assert_eq(lam_state_dict_set(sd, k[i].key, t), LAM_OK);
        lam_tensor_release(t);
    }
    return sd;
}

/* Byte for byte what the Python writer (= safetensors' Rust writer) makes. */
Test(safetensors, save_matches_reference_writer)
{
    lam_state_dict *sd = sample_dict();
    const char *path = io_tmp("saved.safetensors");
    size_t n1, n2;
    cr_assert_eq(lam_safetensors_save(path, sd), LAM_OK, "%s", lam_last_error());
    unsigned char *got = io_read(path, &n1), *exp = io_read(io_fixture("expected_save.safetensors"), &n2);
    cr_expect_eq(n1, n2);
    cr_expect(n1 == n2 && memcmp(got, exp, n1) == 0, "bytes differ from expected_save.safetensors");
    free(got);
    free(exp);
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, save_load_roundtrip_with_tied_and_odd_keys)
{
    lam_state_dict *sd = sample_dict(), *back = NULL;
    lam_tensor *shared = lam_state_dict_get(sd, "0.weight");
    cr_assert_eq(lam_state_dict_set(sd, "tied.weight", shared), LAM_OK);
    cr_assert_eq(lam_state_dict_set(sd, "we\"ird\\\n\xc3\xa9", shared), LAM_OK);
    const char *path = io_tmp("roundtrip.safetensors");
    cr_assert_eq(lam_safetensors_save(path, sd), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(lam_safetensors_load(path, &back), LAM_OK, "%s", lam_last_error());
    cr_assert_eq(lam_state_dict_len(back), 6);
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        const char *key = lam_state_dict_key(sd, i);
        lam_tensor *a = lam_state_dict_tensor(sd, i), *b = lam_state_dict_get(back, key);
        cr_assert_not_null(b, "%s", key);
        cr_expect(lam_tensor_same_shape(a, b), "%s", key);
        cr_expect_eq(memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b), (size_t)lam_tensor_numel(a) * 4), 0, "%s", key);
        cr_expect(lam_tensor_is_borrowed(b), "%s zero-copy (the writer aligns data)", key);
    }
    cr_expect_neq(lam_state_dict_get(back, "tied.weight"), lam_state_dict_get(back, "0.weight"),
                  "tied tensors load as two tensors");
    lam_state_dict_free(sd);
    lam_state_dict_free(back);
    io_leak_check();
}

Test(safetensors, save_rejects_bad_keys_and_leaves_no_file)
{
    lam_state_dict *sd = sample_dict();
    lam_tensor *t = lam_state_dict_get(sd, "0.bias");
    const char *path = io_tmp("badkey.safetensors");
    char keep[1024];
    snprintf(keep, sizeof keep, "%s", path);
    cr_assert_eq(lam_state_dict_set(sd, "__metadata__", t), LAM_OK);
    cr_expect_eq(lam_safetensors_save(keep, sd), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "__metadata__"), "%s", lam_last_error());
    cr_expect_neq(access(keep, F_OK), 0, "no file written");
    lam_state_dict_free(sd);

    sd = sample_dict();
    cr_assert_eq(lam_state_dict_set(sd, "bad\xff", t = lam_state_dict_get(sd, "0.bias")), LAM_OK);
    cr_expect_eq(lam_safetensors_save(keep, sd), LAM_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(lam_last_error(), "not valid UTF-8"), "%s", lam_last_error());
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, save_replaces_atomically_and_reports_errno)
{
    lam_state_dict *sd = sample_dict();
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s", io_tmp("atomic.safetensors"));
    io_write(path, "old", 3);
    cr_assert_eq(lam_safetensors_save(path, sd), LAM_OK, "%s", lam_last_error());
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_expect_gt(st.st_size, 3);

    snprintf(dir, sizeof dir, "%s", io_tmp("no-such-dir/x.safetensors"));
    cr_expect_eq(lam_safetensors_save(dir, sd), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "No such file or directory"), "%s", lam_last_error());
    cr_expect(strstr(lam_last_error(), "x.safetensors"), "%s", lam_last_error());
    lam_state_dict_free(sd);
    io_leak_check();
}

Test(safetensors, io_errors)
{
    lam_state_dict *sd = (lam_state_dict *)1;
    cr_expect_eq(lam_safetensors_load(io_tmp("missing.safetensors"), &sd), LAM_ERR_IO);
    cr_expect_null(sd);
    cr_expect(strstr(lam_last_error(), "missing.safetensors: cannot open: No such file or directory"), "%s",
              lam_last_error());
    cr_expect_eq(lam_safetensors_load(io_fixture(""), &sd), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "not a regular file"), "%s", lam_last_error());
    cr_expect_eq(lam_safetensors_load(NULL, &sd), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_safetensors_load(io_fixture("model.safetensors"), NULL), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_safetensors_parse(NULL, 8, &sd), LAM_ERR_INVALID_ARGUMENT);
    cr_expect_eq(lam_safetensors_save(io_tmp("x"), NULL), LAM_ERR_INVALID_ARGUMENT);
    if (geteuid() != 0) { /* root reads anything */
        const char *p = io_tmp("noperm.safetensors");
        io_write(p, "x", 1);
        chmod(p, 0);
        cr_expect_eq(lam_safetensors_load(p, &sd), LAM_ERR_IO);
        cr_expect(strstr(lam_last_error(), "Permission denied"), "%s", lam_last_error());
    }
    io_leak_check();
}
