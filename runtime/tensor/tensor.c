/* Tensors: float32, int64 or bool, contiguous, 1-4 dims, 64-byte aligned when owning. */
#include "runtime/tensor/tensor.h"
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Large activation buffers are kept for reuse when freed: allocating tens of
 * megabytes per layer per forward (custom forwards return a new tensor from
 * every layer) would otherwise go back to the kernel each time and fault
 * every page in again, which costs more than the arithmetic.  A few buffers
 * of at least 1 MiB, at most 256 MiB in all; a buffer is reused for a request
 * of between half its size and its size. */
#define CACHE_MIN_BYTES (1u << 20)
#define CACHE_MAX_TOTAL ((size_t)256 << 20)
#define CACHE_SLOTS 8

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *cache_ptr[CACHE_SLOTS];
static size_t cache_bytes[CACHE_SLOTS];
static size_t cache_total;

static void *buffer_get(size_t bytes, size_t *capacity)
{
    if (bytes >= CACHE_MIN_BYTES) {
        int best = -1;
        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++)
            if (cache_ptr[i] && cache_bytes[i] >= bytes && cache_bytes[i] / 2 <= bytes &&
                (best < 0 || cache_bytes[i] < cache_bytes[best]))
                best = i;
        void *p = NULL;
        if (best >= 0) {
            p = cache_ptr[best];
            *capacity = cache_bytes[best];
            cache_total -= cache_bytes[best];
            cache_ptr[best] = NULL;
        }
        pthread_mutex_unlock(&cache_lock);
        if (p)
            return p;
    }
    *capacity = bytes;
    return lam__aligned_alloc(bytes);
}

static void buffer_put(void *p, size_t capacity)
{
    if (p && capacity >= CACHE_MIN_BYTES) {
        pthread_mutex_lock(&cache_lock);
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (!cache_ptr[i] && cache_total + capacity <= CACHE_MAX_TOTAL) {
                cache_ptr[i] = p;
                cache_bytes[i] = capacity;
                cache_total += capacity;
                p = NULL;
                break;
            }
        }
        pthread_mutex_unlock(&cache_lock);
    }
    lam__aligned_free(p);
}

void *lam__aligned_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0)
        bytes = LAM_ALIGNMENT;
    if (posix_memalign(&p, LAM_ALIGNMENT, bytes) != 0)
        return NULL;
    return p;
}

void lam__aligned_free(void *p) { free(p); }

lam_status lam__check_shape(int ndim, const int64_t *shape, int64_t *numel)
{
    if (ndim < 1 || ndim > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "tensor: %d dimensions requested, lamina supports 1 to %d", ndim,
                          LAM_MAX_DIMS);
    if (!shape)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "tensor: shape is NULL");
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "tensor: dimension %d has negative size %" PRId64, i, shape[i]);
        if (shape[i] != 0 && n > (INT64_MAX / 4) / shape[i])
            return lam__error(LAM_ERR_INVALID_ARGUMENT, "tensor: shape is too large");
        n *= shape[i];
    }
    if ((uint64_t)n > SIZE_MAX / sizeof(float))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "tensor: shape is too large");
    *numel = n;
    return LAM_OK;
}

lam_tensor *lam__tensor_struct_new(void)
{
    lam_tensor *t = lam__fpool_take(0, false);
    return t ? t : calloc(1, sizeof *t);
}

/* The struct of a tensor that failed before it was handed out. */
static void tensor_free_struct(lam_tensor *t)
{
    if (t->pool_entry)
        lam__fpool_put(t->pool_entry);
    else
        free(t);
}

static lam_status tensor_alloc_struct(lam_tensor **out, int ndim, const int64_t *shape)
{
    if (!out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "tensor: output pointer is NULL");
    *out = NULL;
    int64_t numel;
    lam_status st = lam__check_shape(ndim, shape, &numel);
    if (st)
        return st;
    lam_tensor *t = lam__tensor_struct_new();
    if (!t)
        return lam__oom("tensor");
    t->ndim = ndim;
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    t->numel = numel;
    t->refcount = 1;
    *out = t;
    return LAM_OK;
}

lam_status lam__tensor_create_uninit_dtype(lam_tensor **out, int dtype, int ndim,
                                           const int64_t *shape)
{
    size_t esize = lam__dtype_size(dtype);
    if (lam__fpool_active()) {
        /* inside a custom forward run by a plan: struct and data from its pool */
        int64_t numel;
        lam_status st = lam__check_shape(ndim, shape, &numel);
        if (st)
            return st;
        lam_tensor *t = lam__fpool_take((size_t)numel * esize, true);
        if (t) {
            t->ndim = ndim;
            memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
            t->numel = numel;
            t->dtype = (uint8_t)dtype;
            *out = t;
            return LAM_OK;
        }
    }
    lam_tensor *t;
    lam_status st = tensor_alloc_struct(&t, ndim, shape);
    if (st)
        return st;
    if ((uint64_t)t->numel > SIZE_MAX / esize) {
        tensor_free_struct(t);
        *out = NULL;
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "tensor: shape is too large");
    }
    size_t bytes = (size_t)t->numel * esize;
    t->dtype = (uint8_t)dtype;
    t->data = buffer_get(bytes, &t->capacity);
    if (!t->data) {
        char buf[64];
        tensor_free_struct(t);
        *out = NULL;
        return lam__error(LAM_ERR_NO_MEMORY, "out of memory: tensor of shape %s (%zu bytes)",
                          lam_shape_str(ndim, shape, buf, sizeof buf), bytes);
    }
    *out = t;
    return LAM_OK;
}

lam_status lam__tensor_create_uninit(lam_tensor **out, int ndim, const int64_t *shape)
{
    return lam__tensor_create_uninit_dtype(out, LAM_FLOAT32, ndim, shape);
}

static bool dtype_known(lam_dtype d) { return d == LAM_FLOAT32 || d == LAM_INT64 || d == LAM_BOOL; }

LAM_API const char *lam_dtype_name(lam_dtype dtype)
{
    switch (dtype) {
    case LAM_FLOAT32: return "float32";
    case LAM_INT64: return "int64";
    case LAM_BOOL: return "bool";
    }
    return "unknown";
}

LAM_API size_t lam_dtype_size(lam_dtype dtype)
{
    return dtype_known(dtype) ? lam__dtype_size(dtype) : 0;
}

LAM_API lam_status lam_tensor_create_dtype(lam_tensor **out, lam_dtype dtype, int ndim,
                                           const int64_t *shape)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(shape);
    if (!dtype_known(dtype))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_tensor_create_dtype: unknown dtype %d",
                          (int)dtype);
    lam_status st = lam__tensor_create_uninit_dtype(out, dtype, ndim, shape);
    if (!st)
        memset((*out)->data, 0, (size_t)(*out)->numel * lam__dtype_size(dtype));
    return st;
}

LAM_API lam_status lam_tensor_create(lam_tensor **out, int ndim, const int64_t *shape)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(shape);
    return lam_tensor_create_dtype(out, LAM_FLOAT32, ndim, shape);
}

LAM_API lam_status lam_tensor_from_data(lam_tensor **out, int ndim, const int64_t *shape,
                                        const float *data)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(shape);
    LAM__CHECK_ARG(data);
    lam_status st = lam__tensor_create_uninit(out, ndim, shape);
    if (st)
        return st;
    memcpy((*out)->data, data, (size_t)(*out)->numel * sizeof(float));
    return LAM_OK;
}

LAM_API lam_status lam_tensor_from_i64(lam_tensor **out, int ndim, const int64_t *shape,
                                       const int64_t *data)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(shape);
    LAM__CHECK_ARG(data);
    lam_status st = lam__tensor_create_uninit_dtype(out, LAM_INT64, ndim, shape);
    if (st)
        return st;
    memcpy((*out)->data, data, (size_t)(*out)->numel * sizeof(int64_t));
    return LAM_OK;
}

LAM_API lam_status lam_tensor_from_bool(lam_tensor **out, int ndim, const int64_t *shape,
                                        const bool *data)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(shape);
    LAM__CHECK_ARG(data);
    lam_status st = lam__tensor_create_uninit_dtype(out, LAM_BOOL, ndim, shape);
    if (st)
        return st;
    const unsigned char *src = (const unsigned char *)data; /* a byte, whatever it holds */
    bool *dst = lam__tensor_bool(*out);
    for (int64_t i = 0; i < (*out)->numel; i++)
        dst[i] = src[i] != 0;
    return LAM_OK;
}

lam_status lam__tensor_wrap_keep(lam_tensor **out, float *data, int ndim, const int64_t *shape,
                                 void (*release)(void *ctx), void *ctx)
{
    lam_tensor *t;
    lam_status st = tensor_alloc_struct(&t, ndim, shape);
    if (st)
        return st;
    if (!data && t->numel > 0) {
        tensor_free_struct(t);
        return lam__null_arg("lam_tensor_wrap", "data");
    }
    t->data = data;
    t->borrowed = true;
    t->release = release;
    t->release_ctx = ctx;
    *out = t;
    return LAM_OK;
}

LAM_API lam_status lam_tensor_wrap(lam_tensor **out, float *data, int ndim, const int64_t *shape)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(shape);
    return lam__tensor_wrap_keep(out, data, ndim, shape, NULL, NULL);
}

LAM_API lam_status lam_tensor_wrap_dtype(lam_tensor **out, lam_dtype dtype, void *data, int ndim,
                                         const int64_t *shape)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(shape);
    if (!dtype_known(dtype))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_tensor_wrap_dtype: unknown dtype %d",
                          (int)dtype);
    int64_t numel;
    if (!data && lam__check_shape(ndim, shape, &numel) == LAM_OK && numel > 0)
        return lam__null_arg(__func__, "data");
    if ((uintptr_t)data % lam__dtype_size(dtype))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_tensor_wrap_dtype: data is not aligned for %s elements",
                          lam_dtype_name(dtype));
    lam_status st = lam__tensor_wrap_keep(out, data, ndim, shape, NULL, NULL);
    if (!st)
        (*out)->dtype = (uint8_t)dtype;
    return st;
}

LAM_API lam_status lam_tensor_clone(lam_tensor **out, const lam_tensor *src)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(src);
    lam_status st = lam__tensor_create_uninit_dtype(out, src->dtype, src->ndim, src->shape);
    if (st)
        return st;
    memcpy((*out)->data, src->data, (size_t)src->numel * lam__dtype_size(src->dtype));
    (*out)->scalar = src->scalar;
    return LAM_OK;
}

LAM_API lam_status lam_tensor_to_dtype(lam_tensor **out, const lam_tensor *t, lam_dtype dtype)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(t);
    if (!dtype_known(dtype))
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_tensor_to_dtype: unknown dtype %d",
                          (int)dtype);
    lam_status st = lam__tensor_create_uninit_dtype(out, dtype, t->ndim, t->shape);
    if (st)
        return st;
    (*out)->scalar = t->scalar;
    return lam_tensor_copy(*out, t);
}

LAM_API lam_dtype lam_tensor_dtype(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, LAM_FLOAT32);
    return (lam_dtype)t->dtype;
}

lam_status lam__tensor_create_int(lam_tensor **out, int ndim, const int64_t *shape, int bits)
{
    (void)bits;
    return lam_tensor_create_dtype(out, LAM_INT64, ndim, shape);
}

lam_status lam__dtype_error(const char *what, const char *role, const lam_tensor *t)
{
    char sh[64];
    return lam__error(LAM_ERR_TYPE, "%s: expected a float32 %s, got %s (%s shape %s)", what, role,
                      lam_dtype_name((lam_dtype)t->dtype), role,
                      lam_shape_str(t->ndim, t->shape, sh, sizeof sh));
}

int64_t lam__f32_to_i64(float f)
{
    if (f != f)
        return 0;
    if (f >= 9223372036854775808.0f)
        return INT64_MAX;
    if (f < -9223372036854775808.0f)
        return INT64_MIN;
    return (int64_t)f;
}

int64_t lam__tensor_int_at(const lam_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case LAM_INT64: return lam__tensor_i64(t)[i];
    case LAM_BOOL: return lam__tensor_bool(t)[i] ? 1 : 0;
    default: return lam__f32_to_i64(t->data[i]);
    }
}

double lam__tensor_value_at(const lam_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case LAM_INT64: return (double)lam__tensor_i64(t)[i];
    case LAM_BOOL: return lam__tensor_bool(t)[i] ? 1.0 : 0.0;
    default: return (double)t->data[i];
    }
}

/* Store element i of dst from element j of src, converted. */
static void convert_one(lam_tensor *dst, int64_t i, const lam_tensor *src, int64_t j)
{
    switch (dst->dtype) {
    case LAM_INT64: lam__tensor_i64(dst)[i] = lam__tensor_int_at(src, j); break;
    case LAM_BOOL: lam__tensor_bool(dst)[i] = lam__tensor_value_at(src, j) != 0.0; break;
    default: dst->data[i] = (float)lam__tensor_value_at(src, j); break;
    }
}

void lam__tensor_int_set(lam_tensor *t, int64_t i, int64_t v)
{
    switch (t->dtype) {
    case LAM_INT64: lam__tensor_i64(t)[i] = v; break;
    case LAM_BOOL: lam__tensor_bool(t)[i] = v != 0; break;
    default: t->data[i] = (float)v; break;
    }
    lam_tensor_mark_modified(t);
}

LAM_API lam_tensor *lam_tensor_retain(lam_tensor *t)
{
    if (t)
        __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
    return t;
}

LAM_API void lam_tensor_release(lam_tensor *t)
{
    if (!t || __atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (t->pend.run) /* released unread: the deferred call never happens */
        t->pend.drop(t);
    if (t->base)
        lam_tensor_release(t->base);
    else if (!t->borrowed && lam__fpool_owns_data(t))
        ; /* the data is the pool entry's */
    else if (!t->borrowed)
        buffer_put(t->data, t->capacity);
    else if (t->release)
        t->release(t->release_ctx);
    tensor_free_struct(t);
}

LAM_API int lam_tensor_ndim(const lam_tensor *t) { LAM__CHECK_ARG_OR(t, 0); return t->ndim; }

LAM_API int64_t lam_tensor_dim(const lam_tensor *t, int dim)
{
    LAM__CHECK_ARG_OR(t, -1);
    if (dim < 0)
        dim += t->ndim;
    if (dim < 0 || dim >= t->ndim)
        return -1;
    return t->shape[dim];
}

LAM_API const int64_t *lam_tensor_shape(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    return t->shape;
}
LAM_API int64_t lam_tensor_numel(const lam_tensor *t) { LAM__CHECK_ARG_OR(t, 0); return t->numel; }
LAM_API bool lam_tensor_is_borrowed(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, false);
    return t->borrowed || t->base;
}

/* Versions live in the storage: a view (lam_tensor_reshape) counts on its
 * base, so a write through either is seen by whoever reads the other. */
static lam_tensor *storage(lam_tensor *t) { return t->base ? t->base : t; }

LAM_API void lam_tensor_mark_modified(lam_tensor *t)
{
    (void)lam__sync(); /* a deferred call must not see the write */
    if (t)
        __atomic_add_fetch(&storage(t)->version, 1, __ATOMIC_RELEASE);
}

static bool has_dtype(const lam_tensor *t, int dtype, const char *fn)
{
    if (t->dtype == dtype)
        return true;
    static const char *const getter[] = {"lam_tensor_data", "lam_tensor_data_i64",
                                         "lam_tensor_data_bool"};
    lam__error(LAM_ERR_TYPE, "%s: the tensor is %s, not %s (use %s)", fn,
               lam_dtype_name((lam_dtype)t->dtype), lam_dtype_name((lam_dtype)dtype),
               t->dtype <= LAM_BOOL ? getter[t->dtype] : "lam_tensor_dtype");
    return false;
}

LAM_API float *lam_tensor_data(lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    if (!has_dtype(t, LAM_FLOAT32, __func__))
        return NULL;
    lam_tensor_mark_modified(t);
    return t->data;
}

LAM_API const float *lam_tensor_cdata(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    if (!has_dtype(t, LAM_FLOAT32, __func__))
        return NULL;
    (void)lam__tensor_ready(t); /* on failure its data is NaN, and the error is set */
    return t->data;
}

LAM_API int64_t *lam_tensor_data_i64(lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    if (!has_dtype(t, LAM_INT64, __func__))
        return NULL;
    lam_tensor_mark_modified(t);
    return lam__tensor_i64(t);
}

LAM_API const int64_t *lam_tensor_cdata_i64(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    return has_dtype(t, LAM_INT64, __func__) ? lam__tensor_i64(t) : NULL;
}

LAM_API bool *lam_tensor_data_bool(lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    if (!has_dtype(t, LAM_BOOL, __func__))
        return NULL;
    lam_tensor_mark_modified(t);
    return lam__tensor_bool(t);
}

LAM_API const bool *lam_tensor_cdata_bool(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, NULL);
    return has_dtype(t, LAM_BOOL, __func__) ? lam__tensor_bool(t) : NULL;
}

LAM_API uint64_t lam_tensor_version(const lam_tensor *t)
{
    LAM__CHECK_ARG_OR(t, 0);
    return lam__tensor_version(t);
}

static lam_status flat_index(const lam_tensor *t, const int64_t *index, int64_t *flat)
{
    int64_t f = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (index[i] < 0 || index[i] >= t->shape[i])
            return lam__error(LAM_ERR_INDEX,
                              "index %" PRId64 " is out of bounds for dimension %d with size %" PRId64,
                              index[i], i, t->shape[i]);
        f = f * t->shape[i] + index[i];
    }
    *flat = f;
    return LAM_OK;
}

LAM_API lam_status lam_tensor_get(const lam_tensor *t, const int64_t *index, float *value)
{
    LAM__SYNC();
    LAM__CHECK_ARG(t);
    LAM__CHECK_ARG(index);
    LAM__CHECK_ARG(value);
    int64_t f;
    lam_status st = flat_index(t, index, &f);
    if (st)
        return st;
    *value = t->dtype == LAM_FLOAT32 ? t->data[f] : (float)lam__tensor_value_at(t, f);
    return LAM_OK;
}

LAM_API lam_status lam_tensor_set(lam_tensor *t, const int64_t *index, float value)
{
    LAM__SYNC();
    LAM__CHECK_ARG(t);
    LAM__CHECK_ARG(index);
    int64_t f;
    lam_status st = flat_index(t, index, &f);
    if (st)
        return st;
    if (t->dtype == LAM_INT64)
        lam__tensor_i64(t)[f] = lam__f32_to_i64(value);
    else if (t->dtype == LAM_BOOL)
        lam__tensor_bool(t)[f] = value != 0;
    else
        t->data[f] = value;
    lam_tensor_mark_modified(t); /* after the write: a reader that sees the version sees the value */
    return LAM_OK;
}

LAM_API lam_status lam_tensor_get_i64(const lam_tensor *t, const int64_t *index, int64_t *value)
{
    LAM__SYNC();
    LAM__CHECK_ARG(t);
    LAM__CHECK_ARG(index);
    LAM__CHECK_ARG(value);
    int64_t f;
    lam_status st = flat_index(t, index, &f);
    if (st)
        return st;
    *value = lam__tensor_int_at(t, f);
    return LAM_OK;
}

LAM_API lam_status lam_tensor_set_i64(lam_tensor *t, const int64_t *index, int64_t value)
{
    LAM__SYNC();
    LAM__CHECK_ARG(t);
    LAM__CHECK_ARG(index);
    int64_t f;
    lam_status st = flat_index(t, index, &f);
    if (st)
        return st;
    lam__tensor_int_set(t, f, value);
    return LAM_OK;
}

LAM_API bool lam_tensor_same_shape(const lam_tensor *a, const lam_tensor *b)
{
    LAM__CHECK_ARG_OR(a, false);
    LAM__CHECK_ARG_OR(b, false);
    if (a->ndim != b->ndim)
        return false;
    return memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0;
}

LAM_API lam_status lam_tensor_copy(lam_tensor *dst, const lam_tensor *src)
{
    LAM__SYNC();
    LAM__CHECK_ARG(dst);
    LAM__CHECK_ARG(src);
    if (!lam_tensor_same_shape(dst, src)) {
        char a[64], b[64];
        return lam__error(LAM_ERR_SHAPE, "tensor copy: source shape %s does not match destination %s",
                          lam_shape_str(src->ndim, src->shape, a, sizeof a),
                          lam_shape_str(dst->ndim, dst->shape, b, sizeof b));
    }
    if (dst->dtype != src->dtype) { /* converted, as PyTorch's copy_ */
        if (dst->data == src->data) /* a view of another type cannot be made */
            return LAM_OK;
        for (int64_t i = 0; i < src->numel; i++)
            convert_one(dst, i, src, i);
        lam_tensor_mark_modified(dst);
        return LAM_OK;
    }
    if (dst->data != src->data) {
        memmove(dst->data, src->data, (size_t)src->numel * lam__dtype_size(src->dtype));
        lam_tensor_mark_modified(dst);
    }
    return LAM_OK;
}

LAM_API lam_status lam_tensor_reshape(lam_tensor **out, lam_tensor *t, int ndim, const int64_t *shape)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(t);
    LAM__CHECK_ARG(shape);
    lam_tensor *v;
    lam_status st = tensor_alloc_struct(&v, ndim, shape);
    if (st)
        return st;
    if (v->numel != t->numel) {
        char a[64], b[64];
        tensor_free_struct(v);
        *out = NULL;
        return lam__error(LAM_ERR_SHAPE, "shape '%s' is invalid for input of size %" PRId64 " (shape %s)",
                          lam_shape_str(ndim, shape, a, sizeof a), t->numel,
                          lam_shape_str(t->ndim, t->shape, b, sizeof b));
    }
    v->data = t->data;
    v->dtype = t->dtype;
    v->base = lam_tensor_retain(t->base ? t->base : t);
    *out = v;
    return LAM_OK;
}

void lam__tensor_rows_view(lam_tensor *view, const lam_tensor *t, int64_t r0, int64_t r1)
{
    int64_t inner = t->shape[0] ? t->numel / t->shape[0] : 0;
    *view = *t;
    view->shape[0] = r1 - r0;
    view->numel = (r1 - r0) * inner;
    view->data = (float *)(void *)((char *)t->data + (size_t)(r0 * inner) * lam__dtype_size(t->dtype));
    view->refcount = 1;
    view->borrowed = true;
    view->release = NULL;
    view->base = NULL;
    view->pool_entry = NULL;
    view->lazy_src = false;
    memset(&view->pend, 0, sizeof view->pend); /* (the caller made t ready) */
}

LAM_API char *lam_shape_str(int ndim, const int64_t *shape, char *buf, size_t size)
{
    LAM__CHECK_ARG_OR(buf, NULL);
    size_t o = 0;
    if (size == 0)
        return buf;
    if (!shape && ndim > 0) {
        lam__null_arg(__func__, "shape");
        snprintf(buf, size, "[?]");
        return buf;
    }
    o += (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, i ? ", %" PRId64 : "%" PRId64, shape[i]);
    if (o < size)
        snprintf(buf + o, size - o, "]");
    return buf;
}
