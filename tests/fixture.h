/* Reader for the PyTorch fixtures written by tools/gen-fixtures.py, and the
 * comparison helpers the core tests share.
 *
 * The fixture directory comes from $LAMINA_FIXTURES (set by tests/core.mk for
 * `make check`/`distcheck`), else from the LAMINA_FIXTURES_DIR define.  A
 * fixture that cannot be found or parsed is a test failure, never a skip.
 *
 * Tolerance for float outputs (every layer and model test):
 *     |got - expected| <= FX_ATOL + FX_RTOL * |expected|
 * with FX_ATOL = 1e-6 and FX_RTOL = 1e-5; expected = PyTorch's forward in float64
 * on the float32 weights and inputs, rounded to float32 (gen-fixtures.py). */
#ifndef LAMINA_TESTS_FIXTURE_H
#define LAMINA_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lamina/lamina.h>

#define FX_ATOL 1e-6
#define FX_RTOL 1e-5

typedef struct fx_file fx_file;

/* Parse <fixture dir>/<relpath>.  NULL (with the reason in fx_error()) when
 * the file is missing or malformed. */
fx_file *fx_open(const char *relpath);
void fx_close(fx_file *f);
/* Why the last fx_open failed. */
const char *fx_error(void);
/* The directory fixtures are read from. */
const char *fx_dir(void);

/* A `text` entry (lines joined with "\n"), or NULL when absent. */
const char *fx_text(const fx_file *f, const char *name);
/* A `list` entry: -1 when absent, else the item count (*items borrowed). */
long fx_list(const fx_file *f, const char *name, const char *const **items);
/* An `int` entry; false when absent. */
bool fx_int(const fx_file *f, const char *name, int64_t *value);

/* A `tensor` entry: NULL when absent. */
typedef struct fx_tensor {
    char *name;
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int64_t numel;
    float *data;
} fx_tensor;
const fx_tensor *fx_get_tensor(const fx_file *f, const char *name);
/* A new lamina tensor holding a copy of the entry (NULL when absent). */
lam_tensor *fx_lam_tensor(const fx_file *f, const char *name);
/* A new state dict of every "sd:" tensor, in file order, keys without "sd:". */
lam_state_dict *fx_state_dict(const fx_file *f);
/* Number of "sd:" tensors. */
size_t fx_state_dict_len(const fx_file *f);

/* Compare a lamina tensor with an expected fixture tensor: shapes equal and
 * every element within the tolerance above.  On mismatch writes a
 * description ("output[3] = 0.5, expected 0.25 (tolerance 3.5e-06)") to msg
 * and returns false. */
bool fx_tensor_close(const lam_tensor *got, const fx_tensor *expected, char *msg, size_t msgsize);
/* The same against a plain float array (expected values from a float64
 * reference computed in the test). */
bool fx_values_close(const float *got, const double *expected, size_t n, char *msg, size_t msgsize);

/* Compare the keys of a lamina state dict with a fixture list, in order. */
bool fx_keys_equal(const lam_state_dict *sd, const fx_file *f, const char *list_name, char *msg,
                   size_t msgsize);

/* Escape a string for a readable failure message (\n, \t shown). Static buffer. */
const char *fx_show(const char *s);

/* ---- Criterion helpers (include <criterion/criterion.h> first) ---- */
#ifdef CRITERION_H_
/* Open a fixture or fail the test with the reason. */
#define FX_OPEN(relpath)                                                       \
    ({                                                                         \
        fx_file *fx_f_ = fx_open(relpath);                                     \
        cr_assert(fx_f_ != NULL, "fixture: %s", fx_error());                   \
        fx_f_;                                                                 \
    })
/* A lamina call that must succeed; on failure show the status and message. */
#define ASSERT_OK(call)                                                        \
    do {                                                                       \
        lam_status st_ = (call);                                               \
        char msg_[2048];                                                       \
        snprintf(msg_, sizeof msg_, "%s", lam_last_error());                   \
        cr_assert_eq(st_, LAM_OK, "%s -> %s: %s", #call, lam_status_str(st_),  \
                     fx_show(msg_));                                           \
    } while (0)
/* A lamina call that must fail with `status` and a message containing `text`
 * (the message is copied before any other lamina call). */
#define EXPECT_FAIL(call, status, text)                                        \
    do {                                                                       \
        lam_clear_error();                                                     \
        lam_status st_ = (call);                                               \
        char msg_[4096];                                                       \
        snprintf(msg_, sizeof msg_, "%s", lam_last_error());                   \
        cr_expect_eq(st_, (status), "%s -> %s, expected %s (message: %s)",     \
                     #call, lam_status_str(st_), lam_status_str(status),       \
                     fx_show(msg_));                                           \
        cr_expect(strstr(msg_, (text)) != NULL,                                \
                  "%s: message \"%s\" lacks \"%s\"", #call, fx_show(msg_),    \
                  fx_show(text));                                              \
    } while (0)

/* ---- small builders shared by the container and model tests ---- */

/* (takes &m: argument evaluation order would otherwise read m before the call) */
static inline lam_module *th_check(lam_status st, lam_module **pm, const char *what)
{
    lam_module *m = *pm;
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", lam_last_error());
    cr_assert_eq(st, LAM_OK, "%s -> %s: %s", what, lam_status_str(st), fx_show(msg));
    cr_assert_not_null(m, "%s gave no module", what);
    return m;
}
static inline lam_module *th_linear(int64_t in, int64_t out, bool bias)
{
    lam_module *m = NULL;
    return th_check(lam_linear_create(&m, in, out, bias), &m, "lam_linear_create");
}
#define TH_MAKE(fn, ...)                                                       \
    ({                                                                         \
        lam_module *m_ = NULL;                                                 \
        th_check(fn(&m_, ##__VA_ARGS__), &m_, #fn);                             \
    })
/* A module list built from an array (the array keeps its references). */
#define TH_SEQ(...)                                                            \
    ({                                                                         \
        lam_module *a_[] = { __VA_ARGS__ };                                    \
        lam_module *s_ = NULL;                                                 \
        th_check(lam_sequential_create(&s_, sizeof a_ / sizeof a_[0], a_), &s_, \
                 "lam_sequential_create");                                     \
    })
#define TH_LIST(...)                                                           \
    ({                                                                         \
        lam_module *a_[] = { __VA_ARGS__ };                                    \
        lam_module *s_ = NULL;                                                 \
        th_check(lam_modulelist_create(&s_, sizeof a_ / sizeof a_[0], a_), &s_, \
                 "lam_modulelist_create");                                     \
    })

/* A custom module whose forward returns a copy of its input (the C form of a
 * bare nn.Module subclass, for registration tests). */
static inline lam_status th_passthrough(lam_module *self, const lam_tensor *x, void *args,
                                        lam_tensor **out)
{
    (void)self;
    (void)args;
    return lam_tensor_clone(out, x);
}
static inline lam_module *th_custom(const char *type_name)
{
    lam_custom_spec spec = { .type_name = type_name, .forward = th_passthrough };
    lam_module *m = NULL;
    return th_check(lam_custom_create(&m, &spec), &m, "lam_custom_create");
}
static inline void th_add(lam_module *parent, const char *name, lam_module *child)
{
    lam_status st = lam_module_add_child(parent, name, child);
    cr_assert_eq(st, LAM_OK, "add_child(%s) -> %s: %s", name, lam_status_str(st),
                 fx_show(lam_last_error()));
}
/* Overwrite a parameter of m (by state_dict key) with `values`. */
static inline void th_set_param(lam_module *m, const char *key, const float *values, size_t n)
{
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK);
    lam_tensor *t = lam_state_dict_get(sd, key);
    cr_assert_not_null(t, "no parameter %s", key);
    cr_assert_eq((size_t)lam_tensor_numel(t), n, "%s has %lld values", key,
                 (long long)lam_tensor_numel(t));
    memcpy(lam_tensor_data(t), values, n * sizeof(float));
    lam_state_dict_free(sd);
}
/* A copy of every state_dict value of m, concatenated (for "nothing changed"). */
static inline float *th_snapshot(const lam_module *m, size_t *n)
{
    lam_state_dict *sd = NULL;
    cr_assert_eq(lam_module_state_dict(m, &sd), LAM_OK);
    size_t total = 0;
    for (size_t i = 0; i < lam_state_dict_len(sd); i++)
        total += (size_t)lam_tensor_numel(lam_state_dict_tensor(sd, i));
    float *buf = malloc((total + 1) * sizeof(float)), *w = buf;
    for (size_t i = 0; i < lam_state_dict_len(sd); i++) {
        lam_tensor *t = NULL; /* int64 buffers (num_batches_tracked) as floats */
        cr_assert_eq(lam_tensor_to_dtype(&t, lam_state_dict_tensor(sd, i), LAM_FLOAT32), LAM_OK);
        memcpy(w, lam_tensor_cdata(t), (size_t)lam_tensor_numel(t) * sizeof(float));
        w += lam_tensor_numel(t);
        lam_tensor_release(t);
    }
    lam_state_dict_free(sd);
    *n = total;
    return buf;
}
/* Compare a module's repr with a fixture text entry, byte for byte. */
#define EXPECT_REPR(m, fx, entry)                                              \
    do {                                                                       \
        char *r_ = lam_module_repr(m);                                         \
        const char *want_ = fx_text((fx), (entry));                            \
        cr_assert_not_null(want_, "fixture lacks text %s", (entry));           \
        EXPECT_STR_EQ(r_, want_, entry);                                       \
        lam_free(r_);                                                          \
    } while (0)
#define EXPECT_STR_EQ(got, expected, what)                                     \
    cr_expect((got) != NULL && (expected) != NULL && strcmp((got), (expected)) == 0, "%s:\n got: \"%s\"\nwant: \"%s\"", \
              (what), fx_show(got), fx_show(expected))
#endif

#endif
