/* Every public function called with NULL pointers (lamina issue 12, item 8).
 *
 * One row per LAM_API function of the headers in include/lamina/.  A status function
 * gives LAM_ERR_INVALID_ARGUMENT for each NULL pointer argument, one at a
 * time; a function that returns a value gives its documented error value
 * (NULL, 0, false, -1).  Either way lam_last_error() says
 * "<function>: <argument> is NULL", with the argument's name as the header
 * writes it.  release/free functions take NULL as a no-op, as free(NULL)
 * does, and leave the last message alone.  Pointers that the header says may
 * be NULL (optional outputs, arrays of n = 0 items) are called NULL too and
 * must work.
 *
 * covers_every_public_function reads the headers (LAMINA_INCLUDE_DIR) and
 * fails when a LAM_API function has no row here, or a row no function: a new
 * public function needs a row. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <lamina/lamina.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LAMINA_INCLUDE_DIR
#error "LAMINA_INCLUDE_DIR must name include/lamina in the source tree"
#endif

/* ---- objects the rows pass for the arguments that are not NULL ---- */

static const int64_t SHAPE[2] = {2, 2};
static float DATA[4] = {1, 2, 3, 4};
static lam_tensor *T;      /* [2, 2] */
static lam_module *M;      /* Linear(2, 2) */
static lam_module *SEQ;    /* Sequential(Linear(2, 2)) */
static lam_state_dict *SD; /* M's state_dict */
static lam_plan *P;        /* a plan of SEQ for [2, 2] */

static void make_objects(void)
{
    cr_assert_eq(lam_tensor_from_data(&T, 2, SHAPE, DATA), LAM_OK);
    cr_assert_eq(lam_linear_create(&M, 2, 2, true), LAM_OK);
    cr_assert_eq(lam_sequential_create(&SEQ, 1, &M), LAM_OK);
    cr_assert_eq(lam_module_state_dict(M, &SD), LAM_OK);
    cr_assert_eq(lam_plan_create(&P, SEQ, 2, SHAPE), LAM_OK);
}

static void free_objects(void)
{
    lam_plan_free(P);
    lam_state_dict_free(SD);
    lam_module_release(SEQ);
    lam_module_release(M);
    lam_tensor_release(T);
}

static lam_status visit(lam_module *m, void *user)
{
    (void)m, (void)user;
    return LAM_OK;
}

static lam_status visit_named(const char *path, lam_module *m, void *user)
{
    (void)path, (void)m, (void)user;
    return LAM_OK;
}

static void log_fn(lam_log_level level, const char *message, void *user)
{
    (void)level, (void)message, (void)user;
}

static lam_status fwd(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)self, (void)args;
    return lam_tensor_clone(out, x);
}

/* ---- checks (fn: the row's function, for the message) ---- */

static void expect_message(const char *call, const char *fn, const char *arg)
{
    char want[160];
    snprintf(want, sizeof want, "%s: %s is NULL", fn, arg);
    cr_expect(strstr(lam_last_error(), want) != NULL, "%s: message \"%s\" lacks \"%s\"", call,
              lam_last_error(), want);
}

/* A status function: LAM_ERR_INVALID_ARGUMENT naming `arg`. */
#define NULL_STATUS(call, arg)                                                                     \
    do {                                                                                           \
        lam_clear_error();                                                                         \
        lam_status st_ = (call);                                                                   \
        cr_expect_eq(st_, LAM_ERR_INVALID_ARGUMENT, "%s -> %s (%s)", #call, lam_status_str(st_),   \
                     lam_last_error());                                                            \
        expect_message(#call, fn, arg);                                                            \
    } while (0)

/* A function returning a value: `want`, with the message naming `arg`. */
#define NULL_VALUE(call, want, arg)                                                                \
    do {                                                                                           \
        lam_clear_error();                                                                         \
        cr_expect((call) == (want), "%s: not the error value %s", #call, #want);                   \
        expect_message(#call, fn, arg);                                                            \
    } while (0)

/* A void function: returns having done nothing, with the message naming `arg`. */
#define NULL_VOID(call, arg)                                                                       \
    do {                                                                                           \
        lam_clear_error();                                                                         \
        call;                                                                                      \
        expect_message(#call, fn, arg);                                                            \
    } while (0)

/* free(NULL)-like: nothing happens, the last message stays. */
#define NULL_NOOP(call)                                                                            \
    do {                                                                                           \
        lam_tensor *t_ = NULL;                                                                     \
        cr_assert_neq(lam_tensor_create(&t_, 0, SHAPE), LAM_OK); /* a message to keep */          \
        char before_[256];                                                                         \
        snprintf(before_, sizeof before_, "%s", lam_last_error());                                 \
        call;                                                                                      \
        cr_expect_str_eq(lam_last_error(), before_, "%s changed the message", #call);              \
    } while (0)

/* A NULL the header allows: the call works. */
#define NULL_ALLOWED(call)                                                                         \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        cr_expect_eq(st_, LAM_OK, "%s -> %s (%s)", #call, lam_status_str(st_), lam_last_error()); \
    } while (0)

/* ---- the rows ---- */

#define ROW(name) static void row_##name(const char *fn)

/* common.h */
ROW(lam_status_str) { (void)fn; cr_expect_str_eq(lam_status_str((lam_status)999), "unknown status"); }
ROW(lam_last_error) { (void)fn; cr_expect_not_null(lam_last_error()); } /* no pointer arguments */
ROW(lam_clear_error) { (void)fn; lam_clear_error(); cr_expect_str_eq(lam_last_error(), ""); }
ROW(lam_version) { (void)fn; cr_expect_not_null(lam_version()); }
/* version.h */
ROW(lam_version_number) { (void)fn; cr_expect_eq(lam_version_number(), LAM_VERSION_NUMBER); }
ROW(lam_manual_seed) { (void)fn; lam_manual_seed(0); }
ROW(lam_set_num_threads) { (void)fn; lam_set_num_threads(0); }
ROW(lam_get_num_threads) { (void)fn; cr_expect_geq(lam_get_num_threads(), 1); }
ROW(lam_kernel_isa) { (void)fn; cr_expect_not_null(lam_kernel_isa()); }
ROW(lam_free) { (void)fn; NULL_NOOP(lam_free(NULL)); }
ROW(lam_set_log_callback)
{
    (void)fn; /* both may be NULL: */
    lam_set_log_callback(log_fn, NULL); /* user is the caller's */
    lam_set_log_callback(NULL, NULL);   /* fn NULL drops the messages (the default) */
}

/* tensor.h */
ROW(lam_tensor_create)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_tensor_create(NULL, 2, SHAPE), "out");
    NULL_STATUS(lam_tensor_create(&t, 2, NULL), "shape");
}
ROW(lam_tensor_from_data)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_tensor_from_data(NULL, 2, SHAPE, DATA), "out");
    NULL_STATUS(lam_tensor_from_data(&t, 2, NULL, DATA), "shape");
    NULL_STATUS(lam_tensor_from_data(&t, 2, SHAPE, NULL), "data");
}
ROW(lam_tensor_wrap)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_tensor_wrap(NULL, DATA, 2, SHAPE), "out");
    NULL_STATUS(lam_tensor_wrap(&t, DATA, 2, NULL), "shape");
    NULL_STATUS(lam_tensor_wrap(&t, NULL, 2, SHAPE), "data");
    const int64_t empty[2] = {0, 2}; /* no elements: no data needed */
    NULL_ALLOWED(lam_tensor_wrap(&t, NULL, 2, empty));
    lam_tensor_release(t);
}
ROW(lam_tensor_clone)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_tensor_clone(NULL, T), "out");
    NULL_STATUS(lam_tensor_clone(&t, NULL), "src");
}
ROW(lam_tensor_retain) { (void)fn; NULL_NOOP(cr_expect_null(lam_tensor_retain(NULL))); }
ROW(lam_tensor_release) { (void)fn; NULL_NOOP(lam_tensor_release(NULL)); }
ROW(lam_tensor_ndim) { NULL_VALUE(lam_tensor_ndim(NULL), 0, "t"); }
ROW(lam_tensor_dim) { NULL_VALUE(lam_tensor_dim(NULL, 0), -1, "t"); }
ROW(lam_tensor_shape) { NULL_VALUE(lam_tensor_shape(NULL), NULL, "t"); }
ROW(lam_tensor_numel) { NULL_VALUE(lam_tensor_numel(NULL), 0, "t"); }
ROW(lam_tensor_is_borrowed) { NULL_VALUE(lam_tensor_is_borrowed(NULL), false, "t"); }
ROW(lam_tensor_data) { NULL_VALUE(lam_tensor_data(NULL), NULL, "t"); }
ROW(lam_tensor_cdata) { NULL_VALUE(lam_tensor_cdata(NULL), NULL, "t"); }
ROW(lam_tensor_mark_modified) { (void)fn; NULL_NOOP(lam_tensor_mark_modified(NULL)); }
ROW(lam_tensor_version) { NULL_VALUE(lam_tensor_version(NULL), 0, "t"); }
ROW(lam_tensor_get)
{
    const int64_t index[2] = {0, 0};
    float v;
    NULL_STATUS(lam_tensor_get(NULL, index, &v), "t");
    NULL_STATUS(lam_tensor_get(T, NULL, &v), "index");
    NULL_STATUS(lam_tensor_get(T, index, NULL), "value");
}
ROW(lam_tensor_set)
{
    const int64_t index[2] = {0, 0};
    NULL_STATUS(lam_tensor_set(NULL, index, 1.0f), "t");
    NULL_STATUS(lam_tensor_set(T, NULL, 1.0f), "index");
}
ROW(lam_dtype_name) { (void)fn; cr_expect_str_eq(lam_dtype_name((lam_dtype)99), "unknown"); }
ROW(lam_dtype_size) { (void)fn; cr_expect_eq(lam_dtype_size((lam_dtype)99), 0); }
ROW(lam_tensor_create_dtype)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_tensor_create_dtype(NULL, LAM_INT64, 2, SHAPE), "out");
    NULL_STATUS(lam_tensor_create_dtype(&t, LAM_INT64, 2, NULL), "shape");
}
ROW(lam_tensor_from_i64)
{
    lam_tensor *t = NULL;
    const int64_t v[4] = {1, 2, 3, 4};
    NULL_STATUS(lam_tensor_from_i64(NULL, 2, SHAPE, v), "out");
    NULL_STATUS(lam_tensor_from_i64(&t, 2, NULL, v), "shape");
    NULL_STATUS(lam_tensor_from_i64(&t, 2, SHAPE, NULL), "data");
}
ROW(lam_tensor_from_bool)
{
    lam_tensor *t = NULL;
    const bool v[4] = {true, false, true, false};
    NULL_STATUS(lam_tensor_from_bool(NULL, 2, SHAPE, v), "out");
    NULL_STATUS(lam_tensor_from_bool(&t, 2, NULL, v), "shape");
    NULL_STATUS(lam_tensor_from_bool(&t, 2, SHAPE, NULL), "data");
}
ROW(lam_tensor_wrap_dtype)
{
    lam_tensor *t = NULL;
    static int64_t v[4];
    const int64_t empty[2] = {0, 2};
    NULL_STATUS(lam_tensor_wrap_dtype(NULL, LAM_INT64, v, 2, SHAPE), "out");
    NULL_STATUS(lam_tensor_wrap_dtype(&t, LAM_INT64, v, 2, NULL), "shape");
    NULL_STATUS(lam_tensor_wrap_dtype(&t, LAM_INT64, NULL, 2, SHAPE), "data");
    NULL_ALLOWED(lam_tensor_wrap_dtype(&t, LAM_INT64, NULL, 2, empty));
    lam_tensor_release(t);
}
ROW(lam_tensor_to_dtype)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_tensor_to_dtype(NULL, T, LAM_INT64), "out");
    NULL_STATUS(lam_tensor_to_dtype(&t, NULL, LAM_INT64), "t");
}
ROW(lam_tensor_dtype) { NULL_VALUE(lam_tensor_dtype(NULL), LAM_FLOAT32, "t"); }
ROW(lam_tensor_data_i64) { NULL_VALUE(lam_tensor_data_i64(NULL), NULL, "t"); }
ROW(lam_tensor_cdata_i64) { NULL_VALUE(lam_tensor_cdata_i64(NULL), NULL, "t"); }
ROW(lam_tensor_data_bool) { NULL_VALUE(lam_tensor_data_bool(NULL), NULL, "t"); }
ROW(lam_tensor_cdata_bool) { NULL_VALUE(lam_tensor_cdata_bool(NULL), NULL, "t"); }
ROW(lam_tensor_get_i64)
{
    const int64_t index[2] = {0, 0};
    int64_t v;
    NULL_STATUS(lam_tensor_get_i64(NULL, index, &v), "t");
    NULL_STATUS(lam_tensor_get_i64(T, NULL, &v), "index");
    NULL_STATUS(lam_tensor_get_i64(T, index, NULL), "value");
}
ROW(lam_tensor_set_i64)
{
    const int64_t index[2] = {0, 0};
    NULL_STATUS(lam_tensor_set_i64(NULL, index, 1), "t");
    NULL_STATUS(lam_tensor_set_i64(T, NULL, 1), "index");
}
ROW(lam_tensor_copy)
{
    NULL_STATUS(lam_tensor_copy(NULL, T), "dst");
    NULL_STATUS(lam_tensor_copy(T, NULL), "src");
}
ROW(lam_tensor_reshape)
{
    lam_tensor *v = NULL;
    const int64_t four[1] = {4};
    NULL_STATUS(lam_tensor_reshape(NULL, T, 1, four), "out");
    NULL_STATUS(lam_tensor_reshape(&v, NULL, 1, four), "t");
    NULL_STATUS(lam_tensor_reshape(&v, T, 1, NULL), "shape");
}
ROW(lam_tensor_same_shape)
{
    NULL_VALUE(lam_tensor_same_shape(NULL, T), false, "a");
    NULL_VALUE(lam_tensor_same_shape(T, NULL), false, "b");
}
ROW(lam_shape_str)
{
    char buf[32] = "x";
    NULL_VALUE(lam_shape_str(2, SHAPE, NULL, 32), NULL, "buf");
    NULL_VALUE(lam_shape_str(2, NULL, buf, sizeof buf), buf, "shape");
    cr_expect_str_eq(buf, "[?]");
    cr_expect_str_eq(lam_shape_str(0, NULL, buf, sizeof buf), "[]"); /* no dims: no shape needed */
}
ROW(lam_tensor_print)
{
    NULL_STATUS(lam_tensor_print(NULL, stdout), "t");
    NULL_STATUS(lam_tensor_print(T, NULL), "fp");
}
ROW(lam_tensor_str) { NULL_VALUE(lam_tensor_str(NULL), NULL, "t"); }

/* module.h */
ROW(lam_module_retain) { (void)fn; NULL_NOOP(cr_expect_null(lam_module_retain(NULL))); }
ROW(lam_module_release) { (void)fn; NULL_NOOP(lam_module_release(NULL)); }
ROW(lam_module_type_name) { NULL_VALUE(strcmp(lam_module_type_name(NULL), "(null)"), 0, "m"); }
ROW(lam_module_forward)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_module_forward(NULL, T, &y), "m");
    NULL_STATUS(lam_module_forward(M, NULL, &y), "input");
    NULL_STATUS(lam_module_forward(M, T, NULL), "output");
}
ROW(lam_module_forward_args)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_module_forward_args(NULL, T, NULL, &y), "m");
    NULL_STATUS(lam_module_forward_args(M, NULL, NULL, &y), "input");
    NULL_STATUS(lam_module_forward_args(M, T, NULL, NULL), "output");
    NULL_ALLOWED(lam_module_forward_args(M, T, NULL, &y)); /* args is the caller's */
    lam_tensor_release(y);
}
ROW(lam_module_forward_into)
{
    NULL_STATUS(lam_module_forward_into(NULL, T, T), "m");
    NULL_STATUS(lam_module_forward_into(M, NULL, T), "input");
    NULL_STATUS(lam_module_forward_into(M, T, NULL), "output");
}
ROW(lam_module_forward_args_into)
{
    NULL_STATUS(lam_module_forward_args_into(NULL, T, NULL, T), "m");
    NULL_STATUS(lam_module_forward_args_into(M, NULL, NULL, T), "input");
    NULL_STATUS(lam_module_forward_args_into(M, T, NULL, NULL), "output");
}
ROW(lam_module_output_shape)
{
    int nd;
    int64_t s[LAM_MAX_DIMS];
    NULL_STATUS(lam_module_output_shape(NULL, 2, SHAPE, &nd, s), "m");
    NULL_STATUS(lam_module_output_shape(M, 2, NULL, &nd, s), "shape");
    NULL_STATUS(lam_module_output_shape(M, 2, SHAPE, NULL, s), "out_ndim");
    NULL_STATUS(lam_module_output_shape(M, 2, SHAPE, &nd, NULL), "out_shape");
}
ROW(lam_module_repr) { NULL_VALUE(lam_module_repr(NULL), NULL, "m"); }
ROW(lam_tuple_create) { NULL_STATUS(lam_tuple_create(NULL, 1), "out"); }
ROW(lam_tuple_retain) { (void)fn; NULL_NOOP(cr_expect_null(lam_tuple_retain(NULL))); }
ROW(lam_tuple_release) { (void)fn; NULL_NOOP(lam_tuple_release(NULL)); }
ROW(lam_tuple_len) { NULL_VALUE(lam_tuple_len(NULL), 0, "t"); }
ROW(lam_tuple_tensor) { NULL_VALUE(lam_tuple_tensor(NULL, 0), NULL, "t"); }
ROW(lam_tuple_tuple) { NULL_VALUE(lam_tuple_tuple(NULL, 0), NULL, "t"); }
ROW(lam_tuple_is_none) { NULL_VALUE(lam_tuple_is_none(NULL, 0), false, "t"); }
ROW(lam_tuple_set_tensor)
{
    NULL_STATUS(lam_tuple_set_tensor(NULL, 0, T), "t");
    lam_tuple *t = NULL;
    cr_assert_eq(lam_tuple_create(&t, 1), LAM_OK);
    NULL_ALLOWED(lam_tuple_set_tensor(t, 0, NULL)); /* None */
    lam_tuple_release(t);
}
ROW(lam_tuple_set_tuple)
{
    NULL_STATUS(lam_tuple_set_tuple(NULL, 0, NULL), "t");
    lam_tuple *t = NULL;
    cr_assert_eq(lam_tuple_create(&t, 1), LAM_OK);
    NULL_ALLOWED(lam_tuple_set_tuple(t, 0, NULL)); /* None */
    lam_tuple_release(t);
}
ROW(lam_module_forward_multi)
{
    lam_tuple *in = NULL, *ys = NULL;
    lam_tensor *y = NULL;
    cr_assert_eq(lam_tuple_create(&in, 1), LAM_OK);
    cr_assert_eq(lam_tuple_set_tensor(in, 0, T), LAM_OK);
    NULL_STATUS(lam_module_forward_multi(M, in, NULL, NULL, &ys), "output");
    NULL_STATUS(lam_module_forward_multi(M, in, NULL, &y, NULL), "outputs");
    NULL_STATUS(lam_module_forward_multi(NULL, in, NULL, &y, &ys), "m");
    NULL_STATUS(lam_module_forward_multi(M, NULL, NULL, &y, &ys), "inputs");
    lam_tuple_release(in);
}
ROW(lam_set_forward_hook) { (void)fn; lam_set_forward_hook(NULL, NULL); } /* NULL removes it */
ROW(lam_module_add_child)
{
    lam_module *r = NULL;
    cr_assert_eq(lam_relu_create(&r), LAM_OK);
    NULL_STATUS(lam_module_add_child(NULL, "a", r), "parent");
    NULL_STATUS(lam_module_add_child(SEQ, NULL, r), "name");
    NULL_STATUS(lam_module_add_child(SEQ, "a", NULL), "child");
    lam_module_release(r);
}
ROW(lam_module_num_children) { NULL_VALUE(lam_module_num_children(NULL), 0, "m"); }
ROW(lam_module_child_at)
{
    NULL_VALUE(lam_module_child_at(NULL, 0, NULL), NULL, "m");
    cr_expect_eq(lam_module_child_at(SEQ, 0, NULL), M); /* name is optional */
}
ROW(lam_module_child)
{
    NULL_VALUE(lam_module_child(NULL, "0"), NULL, "m");
    NULL_VALUE(lam_module_child(SEQ, NULL), NULL, "name");
}
ROW(lam_module_get_submodule)
{
    lam_module *out = NULL;
    NULL_STATUS(lam_module_get_submodule(NULL, "0", &out), "m");
    NULL_STATUS(lam_module_get_submodule(SEQ, NULL, &out), "path");
    NULL_STATUS(lam_module_get_submodule(SEQ, "0", NULL), "out");
}
ROW(lam_module_named_modules)
{
    NULL_STATUS(lam_module_named_modules(NULL, true, visit_named, NULL), "m");
    NULL_STATUS(lam_module_named_modules(SEQ, true, NULL, NULL), "fn");
    NULL_ALLOWED(lam_module_named_modules(SEQ, true, visit_named, NULL)); /* user */
}
ROW(lam_module_register_parameter)
{
    NULL_STATUS(lam_module_register_parameter(NULL, "w", T), "m");
    NULL_STATUS(lam_module_register_parameter(M, NULL, T), "name");
    NULL_STATUS(lam_module_register_parameter(M, "w", NULL), "t");
}
ROW(lam_module_named_parameters)
{
    lam_state_dict *sd = NULL;
    NULL_STATUS(lam_module_named_parameters(NULL, true, true, &sd), "m");
    NULL_STATUS(lam_module_named_parameters(M, true, true, NULL), "out");
}
ROW(lam_module_register_buffer)
{
    NULL_STATUS(lam_module_register_buffer(NULL, "b", T, true), "m");
    NULL_STATUS(lam_module_register_buffer(M, NULL, T, true), "name");
    NULL_STATUS(lam_module_register_buffer(M, "b", NULL, true), "t");
}
ROW(lam_module_named_buffers)
{
    lam_state_dict *sd = NULL;
    NULL_STATUS(lam_module_named_buffers(NULL, true, true, &sd), "m");
    NULL_STATUS(lam_module_named_buffers(M, true, true, NULL), "out");
}
ROW(lam_module_num_parameters) { NULL_VALUE(lam_module_num_parameters(NULL), -1, "m"); }
ROW(lam_module_state_dict)
{
    lam_state_dict *sd = NULL;
    NULL_STATUS(lam_module_state_dict(NULL, &sd), "m");
    NULL_STATUS(lam_module_state_dict(M, NULL), "out");
}
ROW(lam_incompatible_keys_clear) { (void)fn; NULL_NOOP(lam_incompatible_keys_clear(NULL)); }
ROW(lam_module_load_state_dict)
{
    NULL_STATUS(lam_module_load_state_dict(NULL, SD, true, NULL), "m");
    NULL_STATUS(lam_module_load_state_dict(M, NULL, true, NULL), "sd");
    NULL_ALLOWED(lam_module_load_state_dict(M, SD, true, NULL)); /* keys */
}
ROW(lam_module_train) { NULL_VOID(lam_module_train(NULL, true), "m"); }
ROW(lam_module_eval) { NULL_VOID(lam_module_eval(NULL), "m"); }
ROW(lam_module_is_training) { NULL_VALUE(lam_module_is_training(NULL), false, "m"); }
ROW(lam_module_apply)
{
    NULL_STATUS(lam_module_apply(NULL, visit, NULL), "m");
    NULL_STATUS(lam_module_apply(SEQ, NULL, NULL), "fn");
    NULL_ALLOWED(lam_module_apply(SEQ, visit, NULL)); /* user */
}
ROW(lam_state_dict_create) { NULL_STATUS(lam_state_dict_create(NULL), "out"); }
ROW(lam_state_dict_free) { (void)fn; NULL_NOOP(lam_state_dict_free(NULL)); }
ROW(lam_state_dict_set)
{
    NULL_STATUS(lam_state_dict_set(NULL, "k", T), "sd");
    NULL_STATUS(lam_state_dict_set(SD, NULL, T), "key");
    NULL_STATUS(lam_state_dict_set(SD, "k", NULL), "t");
}
ROW(lam_state_dict_len) { NULL_VALUE(lam_state_dict_len(NULL), 0, "sd"); }
ROW(lam_state_dict_key) { NULL_VALUE(lam_state_dict_key(NULL, 0), NULL, "sd"); }
ROW(lam_state_dict_tensor) { NULL_VALUE(lam_state_dict_tensor(NULL, 0), NULL, "sd"); }
ROW(lam_state_dict_get)
{
    NULL_VALUE(lam_state_dict_get(NULL, "weight"), NULL, "sd");
    NULL_VALUE(lam_state_dict_get(SD, NULL), NULL, "key");
}

/* container.h */
ROW(lam_sequential_create)
{
    lam_module *s = NULL;
    NULL_STATUS(lam_sequential_create(NULL, 1, &M), "out");
    NULL_STATUS(lam_sequential_create(&s, 1, NULL), "mods");
    NULL_ALLOWED(lam_sequential_create(&s, 0, NULL)); /* no modules, no array */
    lam_module_release(s);
}
ROW(lam_sequential_create_named)
{
    lam_module *s = NULL;
    const char *names[1] = {"a"};
    NULL_STATUS(lam_sequential_create_named(NULL, 1, names, &M), "out");
    NULL_STATUS(lam_sequential_create_named(&s, 1, NULL, &M), "names");
    NULL_STATUS(lam_sequential_create_named(&s, 1, names, NULL), "mods");
    NULL_ALLOWED(lam_sequential_create_named(&s, 0, NULL, NULL));
    lam_module_release(s);
}
ROW(lam_modulelist_create)
{
    lam_module *s = NULL;
    NULL_STATUS(lam_modulelist_create(NULL, 1, &M), "out");
    NULL_STATUS(lam_modulelist_create(&s, 1, NULL), "mods");
    NULL_ALLOWED(lam_modulelist_create(&s, 0, NULL));
    lam_module_release(s);
}
ROW(lam_module_is_sequential) { NULL_VALUE(lam_module_is_sequential(NULL), false, "m"); }
ROW(lam_module_is_modulelist) { NULL_VALUE(lam_module_is_modulelist(NULL), false, "m"); }
ROW(lam_container_len) { NULL_VALUE(lam_container_len(NULL), 0, "c"); }
ROW(lam_container_get)
{
    lam_module *out = NULL;
    NULL_STATUS(lam_container_get(NULL, 0, &out), "c");
    NULL_STATUS(lam_container_get(SEQ, 0, NULL), "out");
}
ROW(lam_container_set)
{
    NULL_STATUS(lam_container_set(NULL, 0, M), "c");
    NULL_STATUS(lam_container_set(SEQ, 0, NULL), "m");
}
ROW(lam_container_delete) { NULL_STATUS(lam_container_delete(NULL, 0), "c"); }
ROW(lam_container_slice)
{
    lam_module *out = NULL;
    NULL_STATUS(lam_container_slice(NULL, 0, 1, 1, &out), "c");
    NULL_STATUS(lam_container_slice(SEQ, 0, 1, 1, NULL), "out");
}
ROW(lam_container_delete_slice) { NULL_STATUS(lam_container_delete_slice(NULL, 0, 1, 1), "c"); }
ROW(lam_container_append)
{
    NULL_STATUS(lam_container_append(NULL, M), "c");
    NULL_STATUS(lam_container_append(SEQ, NULL), "m");
}
ROW(lam_container_extend)
{
    NULL_STATUS(lam_container_extend(NULL, SEQ), "c");
    NULL_STATUS(lam_container_extend(SEQ, NULL), "other");
}
ROW(lam_container_insert)
{
    NULL_STATUS(lam_container_insert(NULL, 0, M), "c");
    NULL_STATUS(lam_container_insert(SEQ, 0, NULL), "m");
}
ROW(lam_container_pop)
{
    NULL_STATUS(lam_container_pop(NULL, 0, NULL), "c");
    NULL_ALLOWED(lam_container_pop(SEQ, 0, NULL)); /* out is optional */
}
ROW(lam_container_concat)
{
    lam_module *out = NULL;
    NULL_STATUS(lam_container_concat(NULL, SEQ, &out), "a");
    NULL_STATUS(lam_container_concat(SEQ, NULL, &out), "b");
    NULL_STATUS(lam_container_concat(SEQ, SEQ, NULL), "out");
}
ROW(lam_container_iadd)
{
    NULL_STATUS(lam_container_iadd(NULL, SEQ), "a");
    NULL_STATUS(lam_container_iadd(SEQ, NULL), "b");
}
ROW(lam_container_repeat)
{
    lam_module *out = NULL;
    NULL_STATUS(lam_container_repeat(NULL, 2, &out), "a");
    NULL_STATUS(lam_container_repeat(SEQ, 2, NULL), "out");
}
ROW(lam_container_irepeat) { NULL_STATUS(lam_container_irepeat(NULL, 2), "a"); }
ROW(lam_custom_create)
{
    lam_module *m = NULL;
    lam_custom_spec spec = {.type_name = "Net", .forward = fwd};
    NULL_STATUS(lam_custom_create(NULL, &spec), "out");
    NULL_STATUS(lam_custom_create(&m, NULL), "spec");
}
ROW(lam_module_user) { NULL_VALUE(lam_module_user(NULL), NULL, "m"); }
ROW(lam_custom_set_forward_multi) { NULL_STATUS(lam_custom_set_forward_multi(NULL, NULL), "m"); }
ROW(lam_custom_set_flags) { NULL_STATUS(lam_custom_set_flags(NULL, 0), "m"); }
ROW(lam_custom_flags) { NULL_VALUE(lam_custom_flags(NULL), 0u, "m"); }

/* layers.h: the output pointer (and LayerNorm's shape; GELU's string is optional) */
#define CREATE_ROW(name, ...)                                                                      \
    ROW(name) { NULL_STATUS(name(NULL, ##__VA_ARGS__), "out"); }
CREATE_ROW(lam_linear_create, 2, 2, true)
CREATE_ROW(lam_identity_create)
CREATE_ROW(lam_relu_create)
CREATE_ROW(lam_leaky_relu_create, 0.01)
CREATE_ROW(lam_relu6_create)
CREATE_ROW(lam_elu_create, 1.0)
CREATE_ROW(lam_sigmoid_create)
CREATE_ROW(lam_tanh_create)
CREATE_ROW(lam_silu_create)
CREATE_ROW(lam_softplus_create, 1.0, 20.0)
CREATE_ROW(lam_softmax_create, 1)
CREATE_ROW(lam_log_softmax_create, 1)
CREATE_ROW(lam_dropout_create, 0.5)
CREATE_ROW(lam_flatten_create, 1, -1)
ROW(lam_gelu_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_gelu_create(NULL, "none"), "out");
    NULL_ALLOWED(lam_gelu_create(&m, NULL)); /* approximate NULL is "none" */
    lam_module_release(m);
}
CREATE_ROW(lam_batch_norm1d_create, 2, 1e-5, 0.1, true, true)
CREATE_ROW(lam_batch_norm2d_create, 2, 1e-5, 0.1, true, true)
CREATE_ROW(lam_instance_norm1d_create, 2, 1e-5, 0.1, false, false)
CREATE_ROW(lam_instance_norm2d_create, 2, 1e-5, 0.1, false, false)
CREATE_ROW(lam_group_norm_create, 1, 2, 1e-5, true)
CREATE_ROW(lam_local_response_norm_create, 2, 1e-4, 0.75, 1.0)
ROW(lam_layer_norm_create)
{
    lam_module *m = NULL;
    const int64_t ns[1] = {2};
    NULL_STATUS(lam_layer_norm_create(NULL, 1, ns, 1e-5, true), "out");
    NULL_STATUS(lam_layer_norm_create(&m, 1, NULL, 1e-5, true), "normalized_shape");
}
CREATE_ROW(lam_multihead_attention_create, 4, 2, 0.0, true, false, false, 0, 0, false)
ROW(lam_multihead_attention_forward)
{
    lam_module *a = NULL;
    lam_tensor *y = NULL, *w = NULL;
    cr_assert_eq(lam_multihead_attention_create(&a, 2, 1, 0.0, true, false, false, 0, 0, false),
                 LAM_OK);
    NULL_STATUS(lam_multihead_attention_forward(NULL, T, T, T, NULL, false, true, NULL, false,
                                                true, &y, &w),
                "m");
    NULL_STATUS(lam_multihead_attention_forward(a, NULL, T, T, NULL, false, true, NULL, false,
                                                true, &y, &w),
                "query");
    NULL_STATUS(lam_multihead_attention_forward(a, T, NULL, T, NULL, false, true, NULL, false,
                                                true, &y, &w),
                "key");
    NULL_STATUS(lam_multihead_attention_forward(a, T, T, NULL, NULL, false, true, NULL, false,
                                                true, &y, &w),
                "value");
    NULL_STATUS(lam_multihead_attention_forward(a, T, T, T, NULL, false, true, NULL, false, true,
                                                NULL, &w),
                "attn_output");
    /* the masks and attn_weights are optional */
    NULL_ALLOWED(lam_multihead_attention_forward(a, T, T, T, NULL, false, true, NULL, false, true,
                                                 &y, NULL));
    lam_tensor_release(y);
    lam_module_release(a);
}
ROW(lam_transformer_encoder_layer_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_transformer_encoder_layer_create(NULL, 4, 2, 8, 0.1, "relu", 1e-5, false,
                                                     false),
                "out");
    /* activation NULL is "relu" */
    NULL_ALLOWED(lam_transformer_encoder_layer_create(&m, 4, 2, 8, 0.1, NULL, 1e-5, false, false));
    lam_module_release(m);
}
ROW(lam_transformer_encoder_create)
{
    lam_module *layer = NULL, *m = NULL;
    cr_assert_eq(lam_transformer_encoder_layer_create(&layer, 4, 2, 8, 0.1, NULL, 1e-5, false,
                                                      false),
                 LAM_OK);
    NULL_STATUS(lam_transformer_encoder_create(NULL, layer, 2, NULL), "out");
    NULL_STATUS(lam_transformer_encoder_create(&m, NULL, 2, NULL), "encoder_layer");
    NULL_ALLOWED(lam_transformer_encoder_create(&m, layer, 2, NULL)); /* norm is optional */
    lam_module_release(m);
    lam_module_release(layer);
}
ROW(lam_transformer_decoder_layer_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_transformer_decoder_layer_create(NULL, 4, 2, 8, 0.1, "relu", 1e-5, false,
                                                     false),
                "out");
    NULL_ALLOWED(lam_transformer_decoder_layer_create(&m, 4, 2, 8, 0.1, NULL, 1e-5, false, false));
    lam_module_release(m);
}
ROW(lam_transformer_decoder_create)
{
    lam_module *layer = NULL, *m = NULL;
    cr_assert_eq(lam_transformer_decoder_layer_create(&layer, 4, 2, 8, 0.1, NULL, 1e-5, false,
                                                      false),
                 LAM_OK);
    NULL_STATUS(lam_transformer_decoder_create(NULL, layer, 2, NULL), "out");
    NULL_STATUS(lam_transformer_decoder_create(&m, NULL, 2, NULL), "decoder_layer");
    NULL_ALLOWED(lam_transformer_decoder_create(&m, layer, 2, NULL)); /* norm is optional */
    lam_module_release(m);
    lam_module_release(layer);
}
ROW(lam_transformer_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_transformer_create(NULL, 4, 2, 1, 1, 8, 0.1, NULL, NULL, NULL, 1e-5, false,
                                       false),
                "out");
    /* activation, custom_encoder and custom_decoder are optional */
    NULL_ALLOWED(lam_transformer_create(&m, 4, 2, 1, 1, 8, 0.1, NULL, NULL, NULL, 1e-5, false,
                                        false));
    lam_module_release(m);
}
ROW(lam_transformer_generate_square_subsequent_mask)
{
    NULL_STATUS(lam_transformer_generate_square_subsequent_mask(NULL, 3), "out");
}
ROW(lam_model_set_arg)
{
    lam_module *m = NULL;
    cr_assert_eq(lam_multihead_attention_create(&m, 4, 2, 0.0, true, false, false, 0, 0, false),
                 LAM_OK);
    NULL_STATUS(lam_model_set_arg(NULL, "num_heads", "2"), "m");
    NULL_STATUS(lam_model_set_arg(m, NULL, "2"), "name");
    NULL_STATUS(lam_model_set_arg(m, "num_heads", NULL), "value");
    NULL_ALLOWED(lam_model_set_arg(m, "num_heads", "4"));
    lam_module_release(m);
}
ROW(lam_model_check_args)
{
    NULL_STATUS(lam_model_check_args(NULL), "m");
}
CREATE_ROW(lam_hardswish_create)
CREATE_ROW(lam_hardsigmoid_create)
CREATE_ROW(lam_hardtanh_create, -1.0, 1.0)
CREATE_ROW(lam_mish_create)
CREATE_ROW(lam_prelu_create, 1, 0.25)
CREATE_ROW(lam_embedding_create, 4, 2, LAM_EMBEDDING_NO_PADDING, LAM_EMBEDDING_NO_MAX_NORM, 2.0,
           false, false)
CREATE_ROW(lam_dropout1d_create, 0.5)
CREATE_ROW(lam_dropout2d_create, 0.5)
CREATE_ROW(lam_alpha_dropout_create, 0.5)
CREATE_ROW(lam_feature_alpha_dropout_create, 0.5)
CREATE_ROW(lam_max_pool1d_create, 2, LAM_NONE_INT, 0, 1, false)
CREATE_ROW(lam_avg_pool1d_create, 2, LAM_NONE_INT, 0, false, true)
CREATE_ROW(lam_adaptive_avg_pool1d_create, 2)
CREATE_ROW(lam_adaptive_max_pool1d_create, 2)
/* 2d pools: stride, padding and dilation may be NULL (their defaults) */
ROW(lam_max_pool2d_create)
{
    lam_module *m = NULL;
    const int64_t k[2] = {2, 2};
    NULL_STATUS(lam_max_pool2d_create(NULL, k, NULL, NULL, NULL, false), "out");
    NULL_STATUS(lam_max_pool2d_create(&m, NULL, NULL, NULL, NULL, false), "kernel_size");
    NULL_ALLOWED(lam_max_pool2d_create(&m, k, NULL, NULL, NULL, false));
    lam_module_release(m);
}
ROW(lam_avg_pool2d_create)
{
    lam_module *m = NULL;
    const int64_t k[2] = {2, 2};
    NULL_STATUS(lam_avg_pool2d_create(NULL, k, NULL, NULL, false, true, LAM_NONE_INT), "out");
    NULL_STATUS(lam_avg_pool2d_create(&m, NULL, NULL, NULL, false, true, LAM_NONE_INT),
                "kernel_size");
    NULL_ALLOWED(lam_avg_pool2d_create(&m, k, NULL, NULL, false, true, LAM_NONE_INT));
    lam_module_release(m);
}
ROW(lam_adaptive_avg_pool2d_create)
{
    lam_module *m = NULL;
    const int64_t o[2] = {1, 1};
    NULL_STATUS(lam_adaptive_avg_pool2d_create(NULL, o), "out");
    NULL_STATUS(lam_adaptive_avg_pool2d_create(&m, NULL), "output_size");
}
ROW(lam_adaptive_max_pool2d_create)
{
    lam_module *m = NULL;
    const int64_t o[2] = {1, 1};
    NULL_STATUS(lam_adaptive_max_pool2d_create(NULL, o), "out");
    NULL_STATUS(lam_adaptive_max_pool2d_create(&m, NULL), "output_size");
}
CREATE_ROW(lam_pixel_shuffle_create, 2)
CREATE_ROW(lam_pixel_unshuffle_create, 2)
CREATE_ROW(lam_channel_shuffle_create, 2)
ROW(lam_unflatten_create)
{
    lam_module *m = NULL;
    const int64_t s[2] = {2, 5};
    NULL_STATUS(lam_unflatten_create(NULL, 1, 2, s), "out");
    NULL_STATUS(lam_unflatten_create(&m, 1, 2, NULL), "unflattened_size");
    NULL_ALLOWED(lam_unflatten_create(&m, 1, 0, NULL)); /* n = 0: an error at forward */
    lam_module_release(m);
}
ROW(lam_upsample_create)
{
    lam_module *m = NULL;
    const double two = 2.0;
    NULL_STATUS(lam_upsample_create(NULL, 0, NULL, &two, "nearest", -1), "out");
    NULL_ALLOWED(lam_upsample_create(&m, 0, NULL, &two, NULL, -1)); /* mode NULL: nearest */
    lam_module_release(m);
}
#define PAD_ROW(name, n)                                                                           \
    ROW(name)                                                                                      \
    {                                                                                              \
        lam_module *m = NULL;                                                                      \
        const int64_t p[4] = {1, 1, 1, 1};                                                         \
        NULL_STATUS(name(NULL, p PAD_VALUE_##n), "out");                                           \
        NULL_STATUS(name(&m, NULL PAD_VALUE_##n), "padding");                                      \
    }
#define PAD_VALUE_0
#define PAD_VALUE_1 , 0.0
PAD_ROW(lam_constant_pad1d_create, 1)
PAD_ROW(lam_constant_pad2d_create, 1)
PAD_ROW(lam_zero_pad2d_create, 0)
PAD_ROW(lam_reflection_pad1d_create, 0)
PAD_ROW(lam_reflection_pad2d_create, 0)
PAD_ROW(lam_replication_pad1d_create, 0)
PAD_ROW(lam_replication_pad2d_create, 0)
/* convolutions: the output and the kernel size; stride, padding, dilation,
 * output_padding and padding_mode may be NULL (PyTorch's defaults) */
ROW(lam_conv1d_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_conv1d_create(NULL, 2, 2, 3, 1, 0, 1, 1, true, "zeros"), "out");
    NULL_ALLOWED(lam_conv1d_create(&m, 2, 2, 3, 1, 0, 1, 1, true, NULL));
    lam_module_release(m);
}
ROW(lam_conv2d_create)
{
    lam_module *m = NULL;
    const int64_t k[2] = {3, 3};
    NULL_STATUS(lam_conv2d_create(NULL, 2, 2, k, NULL, NULL, NULL, 1, true, NULL), "out");
    NULL_STATUS(lam_conv2d_create(&m, 2, 2, NULL, NULL, NULL, NULL, 1, true, NULL), "kernel_size");
    NULL_ALLOWED(lam_conv2d_create(&m, 2, 2, k, NULL, NULL, NULL, 1, true, NULL));
    lam_module_release(m);
}
ROW(lam_conv_transpose1d_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_conv_transpose1d_create(NULL, 2, 2, 3, 1, 0, 0, 1, true, 1, "zeros"), "out");
    NULL_ALLOWED(lam_conv_transpose1d_create(&m, 2, 2, 3, 1, 0, 0, 1, true, 1, NULL));
    lam_module_release(m);
}
ROW(lam_conv_transpose2d_create)
{
    lam_module *m = NULL;
    const int64_t k[2] = {3, 3};
    NULL_STATUS(lam_conv_transpose2d_create(NULL, 2, 2, k, NULL, NULL, NULL, 1, true, NULL, NULL),
                "out");
    NULL_STATUS(lam_conv_transpose2d_create(&m, 2, 2, NULL, NULL, NULL, NULL, 1, true, NULL, NULL),
                "kernel_size");
    NULL_ALLOWED(lam_conv_transpose2d_create(&m, 2, 2, k, NULL, NULL, NULL, 1, true, NULL, NULL));
    lam_module_release(m);
}
ROW(lam_rnn_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_rnn_create(NULL, 2, 3, 1, "tanh", true, false, 0.0, false), "out");
    NULL_ALLOWED(lam_rnn_create(&m, 2, 3, 1, NULL, true, false, 0.0, false));
    lam_module_release(m);
}
ROW(lam_lstm_create)
{
    NULL_STATUS(lam_lstm_create(NULL, 2, 3, 1, true, false, 0.0, false, 0), "out");
}
ROW(lam_gru_create) { NULL_STATUS(lam_gru_create(NULL, 2, 3, 1, true, false, 0.0, false), "out"); }
ROW(lam_rnn_forward)
{
    lam_module *m = NULL;
    cr_assert_eq(lam_lstm_create(&m, 2, 3, 1, true, false, 0.0, false, 0), LAM_OK);
    const int64_t shape[3] = {2, 1, 2};
    lam_tensor *x = NULL, *y = NULL;
    cr_assert_eq(lam_tensor_create(&x, 3, shape), LAM_OK);
    NULL_STATUS(lam_rnn_forward(NULL, x, NULL, NULL, &y, NULL, NULL), "m");
    NULL_STATUS(lam_rnn_forward(m, NULL, NULL, NULL, &y, NULL, NULL), "input");
    NULL_STATUS(lam_rnn_forward(m, x, NULL, NULL, NULL, NULL, NULL), "output");
    NULL_ALLOWED(lam_rnn_forward(m, x, NULL, NULL, &y, NULL, NULL));
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(m);
}

/* io.h */
ROW(lam_safetensors_load)
{
    lam_state_dict *sd = NULL;
    NULL_STATUS(lam_safetensors_load(NULL, &sd), "path");
    NULL_STATUS(lam_safetensors_load("x.safetensors", NULL), "out");
}
ROW(lam_safetensors_parse)
{
    lam_state_dict *sd = NULL;
    NULL_STATUS(lam_safetensors_parse(NULL, 8, &sd), "buf");
    NULL_STATUS(lam_safetensors_parse("12345678", 8, NULL), "out");
}
ROW(lam_safetensors_save)
{
    NULL_STATUS(lam_safetensors_save(NULL, SD), "path");
    NULL_STATUS(lam_safetensors_save("x.safetensors", NULL), "sd");
}
ROW(lam_npy_load)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_npy_load(NULL, &t), "path");
    NULL_STATUS(lam_npy_load("x.npy", NULL), "out");
}
ROW(lam_npy_parse)
{
    lam_tensor *t = NULL;
    NULL_STATUS(lam_npy_parse(NULL, 8, &t), "buf");
    NULL_STATUS(lam_npy_parse("12345678", 8, NULL), "out");
}
ROW(lam_npy_save)
{
    NULL_STATUS(lam_npy_save(NULL, T), "path");
    NULL_STATUS(lam_npy_save("x.npy", NULL), "t");
}

ROW(lam_npy_header)
{
    char buf[LAM_NPY_HEADER_MAX];
    size_t len;
    NULL_STATUS(lam_npy_header(2, NULL, buf, sizeof buf, &len), "shape");
    NULL_STATUS(lam_npy_header(2, SHAPE, NULL, sizeof buf, &len), "buf");
    NULL_STATUS(lam_npy_header(2, SHAPE, buf, sizeof buf, NULL), "len");
}
ROW(lam_npy_reader_open)
{
    lam_npy_reader *r = NULL;
    NULL_STATUS(lam_npy_reader_open(NULL, &r), "path");
    NULL_STATUS(lam_npy_reader_open("x.npy", NULL), "out");
}
ROW(lam_npy_reader_close) { (void)fn; NULL_NOOP(lam_npy_reader_close(NULL)); }
ROW(lam_npy_reader_ndim) { NULL_VALUE(lam_npy_reader_ndim(NULL), -1, "r"); }
ROW(lam_npy_reader_shape) { NULL_VALUE(lam_npy_reader_shape(NULL), NULL, "r"); }
ROW(lam_npy_reader_read)
{
    float f[4];
    NULL_STATUS(lam_npy_reader_read(NULL, 0, 1, f), "r");
}
ROW(lam_npy_reader_prefetch) { NULL_STATUS(lam_npy_reader_prefetch(NULL, 0, 1), "r"); }
ROW(lam_npy_reader_map)
{
    const float *data = NULL;
    NULL_STATUS(lam_npy_reader_map(NULL, 0, 1, &data), "r");
}
ROW(lam_npy_reader_unmap) { (void)fn; NULL_NOOP(lam_npy_reader_unmap(NULL, NULL, 1)); }

/* model.h */
ROW(lam_model_load)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_model_load(NULL, &m), "path");
    NULL_STATUS(lam_model_load("x.lam", NULL), "out");
}
ROW(lam_model_parse)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_model_parse(NULL, 6, NULL, &m), "text");
    NULL_STATUS(lam_model_parse("ReLU()", 6, NULL, NULL), "out");
    NULL_ALLOWED(lam_model_parse("ReLU()", 6, NULL, &m)); /* filename is optional */
    lam_module_release(m);
}
ROW(lam_model_parse_ex)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_model_parse_ex(NULL, 6, NULL, NULL, &m), "text");
    NULL_STATUS(lam_model_parse_ex("ReLU()", 6, NULL, NULL, NULL), "out");
    NULL_ALLOWED(lam_model_parse_ex("ReLU()", 6, NULL, NULL, &m)); /* filename, opts */
    lam_module_release(m);
}
ROW(lam_model_load_state_dict)
{
    NULL_STATUS(lam_model_load_state_dict(NULL, SD, true, NULL), "m");
    NULL_STATUS(lam_model_load_state_dict(M, NULL, true, NULL), "sd");
    NULL_ALLOWED(lam_model_load_state_dict(M, SD, true, NULL)); /* keys */
}
ROW(lam_model_load_weights)
{
    NULL_STATUS(lam_model_load_weights(NULL, "x.safetensors", true, NULL), "m");
    NULL_STATUS(lam_model_load_weights(M, NULL, true, NULL), "safetensors_path");
}

/* plan.h */
ROW(lam_plan_create)
{
    lam_plan *p = NULL;
    NULL_STATUS(lam_plan_create(NULL, SEQ, 2, SHAPE), "out");
    NULL_STATUS(lam_plan_create(&p, NULL, 2, SHAPE), "m");
    NULL_STATUS(lam_plan_create(&p, SEQ, 2, NULL), "shape");
}
ROW(lam_plan_free) { (void)fn; NULL_NOOP(lam_plan_free(NULL)); }
ROW(lam_plan_output_shape)
{
    int nd;
    int64_t s[LAM_MAX_DIMS];
    NULL_STATUS(lam_plan_output_shape(NULL, &nd, s), "p");
    NULL_STATUS(lam_plan_output_shape(P, NULL, s), "out_ndim");
    NULL_STATUS(lam_plan_output_shape(P, &nd, NULL), "out_shape");
}
ROW(lam_plan_run)
{
    NULL_STATUS(lam_plan_run(NULL, T, T), "p");
    NULL_STATUS(lam_plan_run(P, NULL, T), "input");
    NULL_STATUS(lam_plan_run(P, T, NULL), "output");
}
ROW(lam_plan_run_args)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_plan_run_args(NULL, T, NULL, T), "p");
    NULL_STATUS(lam_plan_run_args(P, NULL, NULL, T), "input");
    NULL_STATUS(lam_plan_run_args(P, T, NULL, NULL), "output");
    cr_assert_eq(lam_tensor_create(&y, 2, SHAPE), LAM_OK);
    NULL_ALLOWED(lam_plan_run_args(P, T, NULL, y)); /* args */
    lam_tensor_release(y);
}
ROW(lam_plan_strategy)
{
    NULL_VALUE(lam_plan_strategy(NULL, NULL), NULL, "p");
    cr_expect_not_null(lam_plan_strategy(P, NULL)); /* nthreads is optional */
}
ROW(lam_plan_describe) { NULL_VALUE(lam_plan_describe(NULL), NULL, "p"); }
ROW(lam_plan_rows_independent)
{
    NULL_VALUE(lam_plan_rows_independent(NULL), false, "p");
    cr_expect(lam_plan_rows_independent(P)); /* Sequential(Linear(2, 2)) */
}
ROW(lam_plan_buffer_bytes) { NULL_VALUE(lam_plan_buffer_bytes(NULL), 0, "p"); }

/* plugin.h */
ROW(lam_plugin_load) { NULL_STATUS(lam_plugin_load(NULL, NULL), "path_or_name"); }
ROW(lam_plugin_load_dir) { NULL_STATUS(lam_plugin_load_dir(NULL, NULL), "dir"); }
ROW(lam_plugin_find_type) { NULL_STATUS(lam_plugin_find_type(NULL), "type_name"); }
ROW(lam_plugin_add_search_dir) { NULL_STATUS(lam_plugin_add_search_dir(NULL), "dir"); }
ROW(lam_plugin_search_path)
{
    (void)fn; /* no pointer arguments */
    char *s = lam_plugin_search_path();
    cr_expect_not_null(s);
    lam_free(s);
}
ROW(lam_plugin_unload) { NULL_STATUS(lam_plugin_unload(NULL), "plugin"); }
ROW(lam_plugin_at) { (void)fn; (void)lam_plugin_at(0); } /* no pointer arguments */
ROW(lam_plugin_find) { NULL_VALUE(lam_plugin_find(NULL), NULL, "name"); }
ROW(lam_plugin_name) { NULL_VALUE(lam_plugin_name(NULL), NULL, "plugin"); }
ROW(lam_plugin_version) { NULL_VALUE(lam_plugin_version(NULL), NULL, "plugin"); }
ROW(lam_plugin_description) { NULL_VALUE(lam_plugin_description(NULL), NULL, "plugin"); }
ROW(lam_plugin_license) { NULL_VALUE(lam_plugin_license(NULL), NULL, "plugin"); }
ROW(lam_plugin_path) { NULL_VALUE(lam_plugin_path(NULL), NULL, "plugin"); }
ROW(lam_plugin_num_types) { NULL_VALUE(lam_plugin_num_types(NULL), 0, "plugin"); }
ROW(lam_plugin_type_name) { NULL_VALUE(lam_plugin_type_name(NULL, 0), NULL, "plugin"); }
ROW(lam_layer_type_plugin) { NULL_VALUE(lam_layer_type_plugin(NULL), NULL, "type_name"); }
ROW(lam_layer_type_signature) { NULL_VALUE(lam_layer_type_signature(NULL), NULL, "type_name"); }
ROW(lam_module_bind)
{
    lam_module *none = NULL, *m = M;
    NULL_STATUS(lam_module_bind(NULL, 0, NULL), "m");
    NULL_STATUS(lam_module_bind(&none, 0, NULL), "*m");
    NULL_STATUS(lam_module_bind(&m, 1, NULL), "args");
    cr_expect_eq(m, M);
    cr_expect_eq(lam_module_bind(&m, 0, NULL), LAM_OK); /* a built-in: nothing to do */
    cr_expect_eq(m, M);
}

/* registry.h */
ROW(lam_module_create)
{
    lam_module *m = NULL;
    NULL_STATUS(lam_module_create(NULL, "ReLU", 0, NULL), "out");
    NULL_STATUS(lam_module_create(&m, NULL, 0, NULL), "type_name");
    NULL_STATUS(lam_module_create(&m, "Flatten", 1, NULL), "args");
    NULL_ALLOWED(lam_module_create(&m, "ReLU", 0, NULL)); /* no arguments, no array */
    lam_module_release(m);
}
ROW(lam_layer_type_exists) { NULL_VALUE(lam_layer_type_exists(NULL), false, "type_name"); }
ROW(lam_layer_type_name) { (void)fn; cr_expect_not_null(lam_layer_type_name(0)); }

/* ops.h: out must not be NULL; *out == NULL asks for a new tensor, so
 * every row also makes one that way */
#define OUT_ALLOWED(call)                                                                          \
    do {                                                                                           \
        lam_tensor *y_ = NULL;                                                                     \
        NULL_ALLOWED(call);                                                                        \
        cr_expect_not_null(y_, "%s made no tensor", #call);                                        \
        lam_tensor_release(y_);                                                                    \
    } while (0)
#define BINARY_OP_ROW(name)                                                                        \
    ROW(name)                                                                                      \
    {                                                                                              \
        lam_tensor *y = NULL;                                                                      \
        NULL_STATUS(name(NULL, T, T), "out");                                                      \
        NULL_STATUS(name(&y, NULL, T), "a");                                                       \
        NULL_STATUS(name(&y, T, NULL), "b");                                                       \
        OUT_ALLOWED(name(&y_, T, T));                                                              \
    }
#define SCALAR_OP_ROW(name)                                                                        \
    ROW(name)                                                                                      \
    {                                                                                              \
        lam_tensor *y = NULL;                                                                      \
        NULL_STATUS(name(NULL, T, 2.0), "out");                                                    \
        NULL_STATUS(name(&y, NULL, 2.0), "a");                                                     \
        OUT_ALLOWED(name(&y_, T, 2.0));                                                            \
    }
#define UNARY_OP_ROW(name, ...)                                                                    \
    ROW(name)                                                                                      \
    {                                                                                              \
        lam_tensor *y = NULL;                                                                      \
        NULL_STATUS(name(NULL, T, ##__VA_ARGS__), "out");                                          \
        NULL_STATUS(name(&y, NULL, ##__VA_ARGS__), "x");                                           \
        OUT_ALLOWED(name(&y_, T, ##__VA_ARGS__));                                                  \
    }
BINARY_OP_ROW(lam_tensor_add)
BINARY_OP_ROW(lam_tensor_sub)
BINARY_OP_ROW(lam_tensor_mul)
BINARY_OP_ROW(lam_tensor_div)
SCALAR_OP_ROW(lam_tensor_add_scalar)
SCALAR_OP_ROW(lam_tensor_sub_scalar)
SCALAR_OP_ROW(lam_tensor_rsub_scalar)
SCALAR_OP_ROW(lam_tensor_mul_scalar)
SCALAR_OP_ROW(lam_tensor_div_scalar)
SCALAR_OP_ROW(lam_tensor_rdiv_scalar)
UNARY_OP_ROW(lam_tensor_sigmoid)
UNARY_OP_ROW(lam_tensor_tanh)
UNARY_OP_ROW(lam_tensor_relu)
UNARY_OP_ROW(lam_tensor_silu)
UNARY_OP_ROW(lam_tensor_softmax, 1)
UNARY_OP_ROW(lam_tensor_log_softmax, 1)
UNARY_OP_ROW(lam_tensor_flatten, 0, -1)     /* a view: *out is output only */
UNARY_OP_ROW(lam_tensor_narrow, 0, 0, 1)    /* likewise */
UNARY_OP_ROW(lam_tensor_transpose, 0, 1)
UNARY_OP_ROW(lam_tensor_contiguous)         /* *out == NULL: a new reference to x */
ROW(lam_tensor_gelu)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_tensor_gelu(NULL, T, "none"), "out");
    NULL_STATUS(lam_tensor_gelu(&y, NULL, "none"), "x");
    OUT_ALLOWED(lam_tensor_gelu(&y_, T, NULL)); /* approximate NULL is "none" */
}
ROW(lam_tensor_matmul)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_tensor_matmul(NULL, T, T), "out");
    NULL_STATUS(lam_tensor_matmul(&y, NULL, T), "a");
    NULL_STATUS(lam_tensor_matmul(&y, T, NULL), "b");
    OUT_ALLOWED(lam_tensor_matmul(&y_, T, T));
}
ROW(lam_tensor_linear)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_tensor_linear(NULL, T, T, T), "out");
    NULL_STATUS(lam_tensor_linear(&y, NULL, T, NULL), "x");
    NULL_STATUS(lam_tensor_linear(&y, T, NULL, NULL), "weight");
    OUT_ALLOWED(lam_tensor_linear(&y_, T, T, NULL)); /* no bias */
}
ROW(lam_tensor_cat)
{
    lam_tensor *y = NULL;
    const lam_tensor *list[2] = {T, NULL};
    NULL_STATUS(lam_tensor_cat(NULL, 1, list, 0), "out");
    NULL_STATUS(lam_tensor_cat(&y, 1, NULL, 0), "tensors");
    NULL_STATUS(lam_tensor_cat(&y, 2, list, 0), "tensors[1]");
    OUT_ALLOWED(lam_tensor_cat(&y_, 1, list, 0));
}
ROW(lam_tensor_split)
{
    lam_tensor *o[2] = {NULL, NULL};
    size_t n = 0;
    NULL_STATUS(lam_tensor_split(NULL, 2, &n, T, 1, 0), "outs");
    NULL_STATUS(lam_tensor_split(o, 2, &n, NULL, 1, 0), "x");
    NULL_ALLOWED(lam_tensor_split(o, 2, NULL, T, 1, 0)); /* n_outs is optional */
    lam_tensor_release(o[0]);
    lam_tensor_release(o[1]);
}
ROW(lam_tensor_split_sizes)
{
    lam_tensor *o[2] = {NULL, NULL};
    const int64_t sizes[2] = {1, 1};
    NULL_STATUS(lam_tensor_split_sizes(NULL, T, 2, sizes, 0), "outs");
    NULL_STATUS(lam_tensor_split_sizes(o, NULL, 2, sizes, 0), "x");
    NULL_STATUS(lam_tensor_split_sizes(o, T, 2, NULL, 0), "sizes");
}
ROW(lam_tensor_chunk)
{
    lam_tensor *o[2] = {NULL, NULL};
    size_t n = 0;
    NULL_STATUS(lam_tensor_chunk(NULL, &n, T, 2, 0), "outs");
    NULL_STATUS(lam_tensor_chunk(o, &n, NULL, 2, 0), "x");
    NULL_ALLOWED(lam_tensor_chunk(o, NULL, T, 2, 0)); /* n_outs is optional */
    lam_tensor_release(o[0]);
    lam_tensor_release(o[1]);
}
ROW(lam_tensor_view)
{
    lam_tensor *y = NULL;
    const int64_t four[1] = {4};
    NULL_STATUS(lam_tensor_view(NULL, T, 1, four), "out");
    NULL_STATUS(lam_tensor_view(&y, NULL, 1, four), "x");
    NULL_STATUS(lam_tensor_view(&y, T, 1, NULL), "shape");
}
ROW(lam_tensor_permute)
{
    lam_tensor *y = NULL;
    const int dims[2] = {1, 0};
    NULL_STATUS(lam_tensor_permute(NULL, T, 2, dims), "out");
    NULL_STATUS(lam_tensor_permute(&y, NULL, 2, dims), "x");
    NULL_STATUS(lam_tensor_permute(&y, T, 2, NULL), "dims");
    OUT_ALLOWED(lam_tensor_permute(&y_, T, 2, dims));
}
#define REDUCE_ROW(name)                                                                           \
    ROW(name)                                                                                      \
    {                                                                                              \
        lam_tensor *y = NULL;                                                                      \
        const int dims[1] = {0};                                                                   \
        NULL_STATUS(name(NULL, T, 1, dims, false), "out");                                         \
        NULL_STATUS(name(&y, NULL, 1, dims, false), "x");                                          \
        NULL_STATUS(name(&y, T, 1, NULL, false), "dims");                                          \
        OUT_ALLOWED(name(&y_, T, 0, NULL, false)); /* n == 0: every dim, no array */               \
    }
REDUCE_ROW(lam_tensor_sum)
REDUCE_ROW(lam_tensor_mean)

/* ---- the table ---- */

typedef struct row {
    const char *name;
    void (*run)(const char *fn);
} row;

#define R(name) {#name, row_##name}
/* kv_cache.h */
ROW(lam_causal_attention)
{
    lam_tensor *y = NULL;
    NULL_STATUS(lam_causal_attention(NULL, T, T, T, 1), "out");
    NULL_STATUS(lam_causal_attention(&y, NULL, T, T, 1), "q");
    NULL_STATUS(lam_causal_attention(&y, T, NULL, T, 1), "k");
    NULL_STATUS(lam_causal_attention(&y, T, T, NULL, 1), "v");
}
ROW(lam_kv_cache_create) { NULL_STATUS(lam_kv_cache_create(NULL, 1, 1, 1, 1, 1), "out"); }
ROW(lam_kv_cache_free) { (void)fn; NULL_NOOP(lam_kv_cache_free(NULL)); }
ROW(lam_kv_cache_layer)
{
    lam_kv_cache *c = NULL, *l = NULL;
    cr_assert_eq(lam_kv_cache_create(&c, 1, 1, 1, 1, 1), LAM_OK);
    NULL_STATUS(lam_kv_cache_layer(NULL, 0, &l), "cache");
    NULL_STATUS(lam_kv_cache_layer(c, 0, NULL), "out");
    lam_kv_cache_free(c);
}
ROW(lam_kv_cache_reset) { NULL_VOID(lam_kv_cache_reset(NULL), "cache"); }
ROW(lam_kv_cache_truncate) { NULL_STATUS(lam_kv_cache_truncate(NULL, 0), "cache"); }
ROW(lam_kv_cache_length) { NULL_VALUE(lam_kv_cache_length(NULL), -1, "cache"); }
ROW(lam_kv_cache_max_length) { NULL_VALUE(lam_kv_cache_max_length(NULL), -1, "cache"); }
ROW(lam_kv_cache_num_layers) { NULL_VALUE(lam_kv_cache_num_layers(NULL), -1, "cache"); }
ROW(lam_kv_cache_attention)
{
    lam_kv_cache *c = NULL;
    lam_tensor *y = NULL;
    cr_assert_eq(lam_kv_cache_create(&c, 1, 1, 1, 1, 1), LAM_OK);
    NULL_STATUS(lam_kv_cache_attention(NULL, &y, T, T, T, 1), "layer");
    NULL_STATUS(lam_kv_cache_attention(c, NULL, T, T, T, 1), "out");
    NULL_STATUS(lam_kv_cache_attention(c, &y, NULL, T, T, 1), "q");
    NULL_STATUS(lam_kv_cache_attention(c, &y, T, NULL, T, 1), "k");
    NULL_STATUS(lam_kv_cache_attention(c, &y, T, T, NULL, 1), "v");
    lam_kv_cache_free(c);
}

static const row ROWS[] = {
    /* common.h */
    R(lam_status_str), R(lam_last_error), R(lam_clear_error), R(lam_version),
    R(lam_version_number), /* version.h */
    R(lam_manual_seed), R(lam_set_num_threads), R(lam_get_num_threads), R(lam_kernel_isa),
    R(lam_free), R(lam_set_log_callback),
    /* tensor.h */
    R(lam_tensor_create), R(lam_tensor_from_data), R(lam_tensor_wrap), R(lam_tensor_clone),
    R(lam_tensor_retain), R(lam_tensor_release), R(lam_tensor_ndim), R(lam_tensor_dim),
    R(lam_tensor_shape), R(lam_tensor_numel), R(lam_tensor_is_borrowed), R(lam_tensor_data),
    R(lam_tensor_cdata), R(lam_tensor_mark_modified), R(lam_tensor_version),
    R(lam_tensor_get), R(lam_tensor_set), R(lam_tensor_copy),
    R(lam_tensor_reshape), R(lam_tensor_same_shape), R(lam_shape_str), R(lam_tensor_print),
    R(lam_tensor_str), R(lam_dtype_name), R(lam_dtype_size), R(lam_tensor_create_dtype),
    R(lam_tensor_from_i64), R(lam_tensor_from_bool), R(lam_tensor_wrap_dtype),
    R(lam_tensor_to_dtype), R(lam_tensor_dtype), R(lam_tensor_data_i64), R(lam_tensor_cdata_i64),
    R(lam_tensor_data_bool), R(lam_tensor_cdata_bool), R(lam_tensor_get_i64),
    R(lam_tensor_set_i64),
    /* module.h */
    R(lam_module_retain), R(lam_module_release), R(lam_module_type_name), R(lam_module_forward),
    R(lam_module_forward_args), R(lam_module_forward_into), R(lam_module_forward_args_into),
    R(lam_module_output_shape), R(lam_module_repr), R(lam_tuple_create), R(lam_tuple_retain),
    R(lam_tuple_release), R(lam_tuple_len), R(lam_tuple_tensor), R(lam_tuple_tuple),
    R(lam_tuple_is_none), R(lam_tuple_set_tensor), R(lam_tuple_set_tuple),
    R(lam_module_forward_multi),
    R(lam_module_add_child), R(lam_module_num_children), R(lam_module_child_at),
    R(lam_module_child), R(lam_module_get_submodule), R(lam_module_named_modules),
    R(lam_module_register_parameter), R(lam_module_named_parameters),
    R(lam_module_num_parameters), R(lam_module_state_dict), R(lam_incompatible_keys_clear),
    R(lam_module_load_state_dict), R(lam_module_train), R(lam_module_eval),
    R(lam_module_is_training), R(lam_module_apply), R(lam_state_dict_create),
    R(lam_state_dict_free), R(lam_state_dict_set), R(lam_state_dict_len), R(lam_state_dict_key),
    R(lam_state_dict_tensor), R(lam_state_dict_get), R(lam_set_forward_hook),
    R(lam_module_register_buffer), R(lam_module_named_buffers),
    /* container.h */
    R(lam_sequential_create), R(lam_sequential_create_named), R(lam_modulelist_create),
    R(lam_module_is_sequential), R(lam_module_is_modulelist), R(lam_container_len),
    R(lam_container_get), R(lam_container_set), R(lam_container_delete), R(lam_container_slice),
    R(lam_container_delete_slice), R(lam_container_append), R(lam_container_extend),
    R(lam_container_insert), R(lam_container_pop), R(lam_container_concat),
    R(lam_container_iadd), R(lam_container_repeat), R(lam_container_irepeat),
    R(lam_custom_create), R(lam_module_user), R(lam_custom_set_forward_multi), R(lam_custom_set_flags), R(lam_custom_flags),
    /* layers.h */
    R(lam_linear_create), R(lam_identity_create), R(lam_relu_create), R(lam_leaky_relu_create),
    R(lam_relu6_create), R(lam_elu_create), R(lam_sigmoid_create), R(lam_tanh_create),
    R(lam_gelu_create), R(lam_silu_create), R(lam_softplus_create), R(lam_softmax_create),
    R(lam_log_softmax_create), R(lam_layer_norm_create), R(lam_dropout_create),
    R(lam_flatten_create), R(lam_batch_norm1d_create), R(lam_batch_norm2d_create),
    R(lam_instance_norm1d_create), R(lam_instance_norm2d_create), R(lam_group_norm_create),
    R(lam_local_response_norm_create), R(lam_multihead_attention_create),
    R(lam_multihead_attention_forward), R(lam_transformer_encoder_layer_create),
    R(lam_transformer_encoder_create), R(lam_transformer_decoder_layer_create),
    R(lam_transformer_decoder_create), R(lam_transformer_create),
    R(lam_transformer_generate_square_subsequent_mask),
    R(lam_hardswish_create), R(lam_hardsigmoid_create),
    R(lam_hardtanh_create), R(lam_mish_create), R(lam_prelu_create), R(lam_embedding_create), R(lam_dropout1d_create),
    R(lam_dropout2d_create), R(lam_alpha_dropout_create), R(lam_feature_alpha_dropout_create),
    R(lam_max_pool1d_create), R(lam_max_pool2d_create), R(lam_avg_pool1d_create),
    R(lam_avg_pool2d_create), R(lam_adaptive_avg_pool1d_create),
    R(lam_adaptive_avg_pool2d_create), R(lam_adaptive_max_pool1d_create),
    R(lam_adaptive_max_pool2d_create), R(lam_unflatten_create), R(lam_pixel_shuffle_create),
    R(lam_pixel_unshuffle_create), R(lam_channel_shuffle_create), R(lam_upsample_create),
    R(lam_constant_pad1d_create), R(lam_constant_pad2d_create), R(lam_zero_pad2d_create),
    R(lam_reflection_pad1d_create), R(lam_reflection_pad2d_create),
    R(lam_replication_pad1d_create), R(lam_replication_pad2d_create),
    R(lam_conv1d_create), R(lam_conv2d_create), R(lam_conv_transpose1d_create),
    R(lam_conv_transpose2d_create), R(lam_rnn_create), R(lam_lstm_create), R(lam_gru_create),
    R(lam_rnn_forward),
    /* io.h */
    R(lam_safetensors_load), R(lam_safetensors_parse), R(lam_safetensors_save), R(lam_npy_load),
    R(lam_npy_parse), R(lam_npy_save), R(lam_npy_header), R(lam_npy_reader_open),
    R(lam_npy_reader_close), R(lam_npy_reader_ndim), R(lam_npy_reader_shape),
    R(lam_npy_reader_read), R(lam_npy_reader_prefetch), R(lam_npy_reader_map), R(lam_npy_reader_unmap),
    /* model.h */
    R(lam_model_load), R(lam_model_parse), R(lam_model_parse_ex), R(lam_model_load_state_dict),
    R(lam_model_load_weights), R(lam_model_set_arg), R(lam_model_check_args),
    /* plan.h */
    R(lam_plan_create), R(lam_plan_free), R(lam_plan_output_shape), R(lam_plan_run),
    R(lam_plan_run_args), R(lam_plan_strategy), R(lam_plan_describe),
    R(lam_plan_rows_independent), R(lam_plan_buffer_bytes),
    /* plugin.h */
    R(lam_plugin_load), R(lam_plugin_load_dir), R(lam_plugin_find_type),
    R(lam_plugin_add_search_dir), R(lam_plugin_search_path), R(lam_plugin_unload),
    R(lam_plugin_at), R(lam_plugin_find), R(lam_plugin_name), R(lam_plugin_version),
    R(lam_plugin_description), R(lam_plugin_license), R(lam_plugin_path),
    R(lam_plugin_num_types), R(lam_plugin_type_name), R(lam_layer_type_plugin),
    R(lam_layer_type_signature), R(lam_module_bind),
    /* registry.h */
    R(lam_module_create), R(lam_layer_type_exists), R(lam_layer_type_name),
    /* ops.h */
    R(lam_tensor_add), R(lam_tensor_sub), R(lam_tensor_mul), R(lam_tensor_div),
    R(lam_tensor_add_scalar), R(lam_tensor_sub_scalar), R(lam_tensor_rsub_scalar),
    R(lam_tensor_mul_scalar), R(lam_tensor_div_scalar), R(lam_tensor_rdiv_scalar),
    R(lam_tensor_sigmoid), R(lam_tensor_tanh), R(lam_tensor_relu), R(lam_tensor_gelu),
    R(lam_tensor_silu), R(lam_tensor_softmax), R(lam_tensor_log_softmax), R(lam_tensor_matmul),
    R(lam_tensor_linear), R(lam_tensor_cat), R(lam_tensor_split), R(lam_tensor_split_sizes),
    R(lam_tensor_chunk), R(lam_tensor_view), R(lam_tensor_flatten), R(lam_tensor_narrow),
    R(lam_tensor_transpose), R(lam_tensor_permute), R(lam_tensor_contiguous), R(lam_tensor_sum),
    R(lam_tensor_mean),
    /* kv_cache.h */
    R(lam_causal_attention), R(lam_kv_cache_create), R(lam_kv_cache_free), R(lam_kv_cache_layer),
    R(lam_kv_cache_reset), R(lam_kv_cache_truncate), R(lam_kv_cache_length),
    R(lam_kv_cache_max_length), R(lam_kv_cache_num_layers), R(lam_kv_cache_attention),
};
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])

/* Criterion copies parameters into the test process: pass the row's index. */
typedef struct row_param {
    size_t index;
} row_param;

ParameterizedTestParameters(null_args, row)
{
    static row_param params[N_ROWS];
    for (size_t i = 0; i < N_ROWS; i++)
        params[i].index = i;
    return cr_make_param_array(row_param, params, N_ROWS);
}

ParameterizedTest(row_param *p, null_args, row)
{
    const row *r = &ROWS[p->index];
    cr_log_info("%s", r->name);
    make_objects();
    r->run(r->name);
    free_objects();
}

/* ---- the headers' LAM_API functions against the table ---- */

typedef struct names {
    char **items;
    size_t n, cap;
} names;

static void names_add(names *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        cr_assert_not_null(l->items);
    }
    l->items[l->n] = strndup(s, len);
    cr_assert_not_null(l->items[l->n]);
    l->n++;
}

/* The function names declared with LAM_API in one header, comments and
 * preprocessor lines (the LAM_API definition) left out. */
static void header_functions(const char *path, names *out)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    char line[4096];
    bool in_comment = false;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!in_comment && *p == '#') {
            while (strlen(line) > 1 && line[strlen(line) - 2] == '\\' && fgets(line, sizeof line, f))
                ;
            continue;
        }
        for (p = line; *p; p++) {
            if (in_comment) {
                if (p[0] == '*' && p[1] == '/')
                    in_comment = false, p++;
            } else if (p[0] == '/' && p[1] == '*') {
                in_comment = true, p++;
            } else if (p[0] == '/' && p[1] == '/') {
                break;
            } else {
                fputc(*p == '\n' ? ' ' : *p, mem);
            }
        }
        fputc(' ', mem);
    }
    fclose(f);
    fclose(mem);
    for (const char *p = text; (p = strstr(p, "LAM_API")) != NULL; p += 7) {
        const char *paren = strchr(p, '(');
        cr_assert_not_null(paren, "%s: LAM_API without a '('", path);
        const char *end = paren;
        while (end > p && end[-1] == ' ')
            end--;
        const char *start = end;
        while (start > p && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
            start--;
        cr_assert(end > start && strncmp(start, "lam_", 4) == 0, "%s: cannot read the name at %.60s",
                  path, p);
        names_add(out, start, (size_t)(end - start));
    }
    free(text);
}

Test(null_args, covers_every_public_function)
{
    names found = {0};
    DIR *d = opendir(LAMINA_INCLUDE_DIR);
    cr_assert_not_null(d, "cannot open %s", LAMINA_INCLUDE_DIR);
    struct dirent *e;
    int headers = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 3 || strcmp(e->d_name + n - 2, ".h") != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", LAMINA_INCLUDE_DIR, e->d_name);
        header_functions(path, &found);
        headers++;
    }
    closedir(d);
    cr_assert_geq(headers, 10, "only %d headers in %s", headers, LAMINA_INCLUDE_DIR);
    for (size_t i = 0; i < found.n; i++) {
        bool have = false;
        for (size_t j = 0; j < N_ROWS && !have; j++)
            have = strcmp(ROWS[j].name, found.items[i]) == 0;
        cr_expect(have, "public function %s has no row in tests/test_null_args.c", found.items[i]);
    }
    for (size_t j = 0; j < N_ROWS; j++) {
        bool have = false;
        for (size_t i = 0; i < found.n && !have; i++)
            have = strcmp(ROWS[j].name, found.items[i]) == 0;
        cr_expect(have, "row %s names no LAM_API function in the headers", ROWS[j].name);
        for (size_t k = 0; k < j; k++)
            cr_expect(strcmp(ROWS[j].name, ROWS[k].name) != 0, "row %s twice", ROWS[j].name);
    }
    cr_expect_eq(found.n, N_ROWS, "%zu LAM_API functions, %zu rows", found.n, (size_t)N_ROWS);
    for (size_t i = 0; i < found.n; i++)
        free(found.items[i]);
    free(found.items);
}
