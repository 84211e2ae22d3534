/* runtime/tensor — tensors (tensor.c), their storage versions and views,
 * PyTorch's printing (tensor_print.c), the forward pools that a plan
 * lends to custom forwards (fpool.c), and the tuples forwards take and
 * return (tuple.c).  Uses core. */
#ifndef LAMINA_RUNTIME_TENSOR_TENSOR_H
#define LAMINA_RUNTIME_TENSOR_TENSOR_H

#include "runtime/core/core.h"

/* ---- tensors ---- */

/* A layer call deferred inside a custom forward that a plan runs
 * (runtime/exec/lazy.c): the tensor's data is not computed yet.  `run`
 * computes it and clears the record; `drop` forgets it (the tensor was
 * released unread).  tensor/ only calls them; what the record means
 * (layers, epilogues) belongs to exec/.  Only tensors from a forward pool
 * are ever pending, and only while the plan step that made them runs. */
typedef struct lam__pending {
    lam_status (*run)(lam_tensor *t); /* NULL: not pending */
    void (*drop)(lam_tensor *t);
    /* An op on pending t that the record may take instead of computing t
     * first (the ops ask before they sync): t + other (act < 0), or the
     * activation act (a lam_activation) on t (other NULL).  True when it
     * took the op: *st is the op's status, *out its result by the op's
     * output rule; false: the op runs as usual. */
    bool (*join)(lam_tensor **out, const lam_tensor *t, const lam_tensor *other, int act,
                 lam_status *st);
    const lam_tensor *add; /* a residual added before act[0] (whole records), or NULL */
    bool own_add;          /* the record holds a reference to add */
    const lam_tensor *src;
    void *m[2];
    int act[2];
    float alpha[2];
    int n;
    void *norm;   /* a norm folded into m[0], or NULL */
    bool whole;   /* m[0] forwards whole tensors (a convolution), not rows */
    bool own_src; /* the record holds a reference to src */
} lam__pending;
struct lam_tensor {
    float *data;   /* the storage: float32 values, or int64 / bool ones by dtype
                      (lam__tensor_i64, lam__tensor_bool); 64-byte aligned when owned */
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int64_t numel;
    int refcount;
    bool borrowed;
    uint8_t dtype;                    /* lam_dtype; 0 (float32) in a zeroed struct */
    bool scalar;                      /* a 0-dim tensor, held as [1]: saved back with shape [] */
    size_t capacity;                  /* bytes of owned data (for the buffer cache) */
    uint64_t version;                 /* of the storage: views use their base's (tensor.h) */
    void (*release)(void *ctx);       /* keeper of borrowed data, if any */
    void *release_ctx;
    lam_tensor *base;                 /* view of another tensor's data */
    struct lam__fpool_entry *pool_entry; /* struct (and data) from a forward pool */
    /* The input a plan hands a custom forward: unchanged until the forward
     * returns, so layer calls on it may be deferred (runtime/exec/lazy.c). */
    bool lazy_src;
    lam__pending pend; /* a deferred call that makes this tensor's data */
};
static inline size_t lam__dtype_size(int dtype)
{
    return dtype == LAM_INT64 ? 8 : dtype == LAM_BOOL ? 1 : 4;
}
static inline int64_t *lam__tensor_i64(const lam_tensor *t) { return (int64_t *)(void *)t->data; }
static inline bool *lam__tensor_bool(const lam_tensor *t) { return (bool *)(void *)t->data; }
/* A new zero int64 tensor (bits: the width it came as, 64 or 32; both are
 * held as int64). */
lam_status lam__tensor_create_int(lam_tensor **out, int ndim, const int64_t *shape, int bits);
static inline bool lam__tensor_is_int(const lam_tensor *t) { return t->dtype == LAM_INT64; }
/* Element i as an int64: exact for int64, truncated toward zero for float32
 * as PyTorch's float-to-int copy_ does (NaN gives 0, the out-of-range
 * saturate), 0/1 for bool. */
int64_t lam__tensor_int_at(const lam_tensor *t, int64_t i);
/* Element i as a double (int64 rounded to the nearest double). */
double lam__tensor_value_at(const lam_tensor *t, int64_t i);
/* Store v in element i (converted to t's type); moves the version. */
void lam__tensor_int_set(lam_tensor *t, int64_t i, int64_t v);
/* float -> int64 as lam__tensor_int_at reads a float. */
int64_t lam__f32_to_i64(float f);
/* LAM_ERR_TYPE: "<what>: expected a float32 tensor, got int64" (what: a
 * function or a module's type). */
lam_status lam__dtype_error(const char *what, const char *role, const lam_tensor *t);
/* t is float32, or the error above. */
static inline lam_status lam__check_f32(const char *what, const char *role, const lam_tensor *t)
{
    return t->dtype == LAM_FLOAT32 ? LAM_OK : lam__dtype_error(what, role, t);
}
/* Like lam__tensor_create_uninit, of any element type. */
lam_status lam__tensor_create_uninit_dtype(lam_tensor **out, int dtype, int ndim,
                                           const int64_t *shape);
lam_status lam__tensor_wrap_keep(lam_tensor **out, float *data, int ndim, const int64_t *shape,
                                 void (*release)(void *ctx), void *ctx);
/* A tensor whose data is not zeroed: for outputs that are about to be
 * overwritten.  Large buffers come from a small cache of freed ones. */
lam_status lam__tensor_create_uninit(lam_tensor **out, int ndim, const int64_t *shape);
lam_status lam__check_shape(int ndim, const int64_t *shape, int64_t *numel);
/* The storage's version (a view reads its base's); see lam_tensor_version. */
static inline uint64_t lam__tensor_version(const lam_tensor *t)
{
    return __atomic_load_n(&(t->base ? t->base : t)->version, __ATOMIC_ACQUIRE);
}
/* Move the storage's version (a write) without lam_tensor_mark_modified's
 * sync: for a write that a deferred call makes itself. */
static inline void lam__tensor_bump(lam_tensor *t)
{
    __atomic_add_fetch(&(t->base ? t->base : t)->version, 1, __ATOMIC_RELEASE);
}
void *lam__aligned_alloc(size_t bytes);
void lam__aligned_free(void *p);

/* ---- tuples (tuple.c): a forward's values ---- */
/* A value: a tensor, a tuple, or None (both NULL); holds references. */
typedef struct lam__val {
    lam_tensor *t;
    lam_tuple *tup;
} lam__val;
/* Python's type name of a value, for TypeError messages: "Tensor", "tuple", "NoneType". */
static inline const char *lam__val_kind(const lam__val *v)
{
    return v->t ? "Tensor" : v->tup ? "tuple" : "NoneType";
}
struct lam_tuple {
    int refcount;
    size_t n;
    lam__val items[];
};
/* Release what the item holds; it becomes None. */
void lam__val_clear(lam__val *it);
/* A new 1-tuple holding (references to) it's value. */
lam_status lam__tuple_of(lam_tuple **out, const lam__val *it);
/* Python's type name of the value: "Tensor", "tuple", "NoneType". */
const char *lam__val_type(const lam__val *it);

/* Forward pools (runtime/fpool.c): while one is entered on a thread, the
 * tensors made there (struct and data) come from it and go back to it on
 * release; a plan enters one per thread around a custom forward. */
typedef struct lam__fpool lam__fpool;
typedef struct lam__fpool_entry lam__fpool_entry;
lam__fpool *lam__fpool_new(void);
/* Frees what was released; tensors still held are freed by their release. */
void lam__fpool_free(lam__fpool *p);
/* Make p this thread's pool (NULL: none); returns the previous one. */
lam__fpool *lam__fpool_enter(lam__fpool *p);
void lam__fpool_leave(lam__fpool *prev);
bool lam__fpool_active(void);
/* This thread's pool (NULL: none). */
lam__fpool *lam__fpool_current(void);
/* A zeroed tensor struct (refcount 1) from this thread's pool, with `bytes`
 * of data when `buffer`; NULL when no pool is entered or it is full. */
lam_tensor *lam__fpool_take(size_t bytes, bool buffer);
void lam__fpool_put(lam__fpool_entry *e);
/* Is t's data its pool entry's buffer (not a heap buffer under a pool struct)? */
bool lam__fpool_owns_data(const lam_tensor *t);
/* After a parallel run in which one of these per-thread pools grew: give
 * each pool what the largest holds, so that the next run (whichever thread
 * slot takes which row blocks) finds what it needs.  Call while none is in
 * use. */
void lam__fpool_balance(lam__fpool **pools, int n);
/* A zeroed tensor struct (refcount 1) for a view: from the pool or calloc. */
lam_tensor *lam__tensor_struct_new(void);

/* Deferred layer calls (runtime/exec/lazy.c).  Whatever reads a tensor's
 * data or may change a tensor or a module first makes every deferred call
 * of this thread happen: lam__sync() at the top of the public functions
 * that take tensors or change modules (LAM__SYNC).  lam__tensor_ready
 * computes one tensor.  Both are a load and a branch while nothing was
 * ever deferred. */
extern bool lam__lazy_used;
lam_status lam__sync_slow(void);
static inline lam_status lam__sync(void)
{
    return __atomic_load_n(&lam__lazy_used, __ATOMIC_RELAXED) ? lam__sync_slow() : LAM_OK;
}
#define LAM__SYNC()                                                                                \
    do {                                                                                           \
        lam_status sync_st_ = lam__sync();                                                         \
        if (sync_st_ != LAM_OK)                                                                    \
            return sync_st_;                                                                       \
    } while (0)
lam_status lam__tensor_ready_slow(lam_tensor *t);
static inline lam_status lam__tensor_ready(const lam_tensor *t)
{
    return t && t->pend.run ? lam__tensor_ready_slow((lam_tensor *)t) : LAM_OK;
}
/* This thread's pool holds a pending tensor (exec/lazy.c, after deferring). */
void lam__fpool_mark_pending(void);

/* A stack-allocated view of rows [r0, r1) along dim 0 (no allocation). */
void lam__tensor_rows_view(lam_tensor *view, const lam_tensor *t, int64_t r0, int64_t r1);

#endif
