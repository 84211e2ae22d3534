/* lamina runtime — internal declarations shared by runtime/ files.
 * Never installed; plugins never see it. */
#ifndef LAMINA_RUNTIME_INTERNAL_H
#define LAMINA_RUNTIME_INTERNAL_H

#include "config.h"
#include <stdarg.h>
#include "lamina/lamina.h"
#include "simd/kernels.h"

/* ---- errors ---- */
lam_status lam__error(lam_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
lam_status lam__verror(lam_status st, const char *fmt, va_list ap);
/* Prefix the current message with `prefix` (used when an error travels up). */
void lam__error_prefix(const char *prefix);
lam_status lam__oom(const char *what);

/* ---- strings ---- */
char *lam__strdup(const char *s);
/* A growable string builder; on allocation failure `failed` is set and
 * later appends do nothing. */
typedef struct lam__sb {
    char *buf;
    size_t len, cap;
    bool failed;
} lam__sb;
void lam__sb_puts(lam__sb *sb, const char *s);
void lam__sb_printf(lam__sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A growable list of owned strings; on allocation failure `failed` is set
 * and later pushes do nothing. */
typedef struct lam__strlist {
    char **items;
    size_t n, cap;
    bool failed;
} lam__strlist;
void lam__strlist_push(lam__strlist *l, const char *s);
void lam__strlist_free(lam__strlist *l);
/* Python's repr() of a float: "1.0", "0.01", "1e-05". */
char *lam__py_float(double v, char *buf, size_t size);
/* A float argument printed as Python prints what the user passed: integral
 * values as ints when `int_style` ("1", "20"), otherwise as floats. */
char *lam__py_number(double v, bool int_style, char *buf, size_t size);

/* ---- tensors ---- */
struct lam_tensor {
    float *data;
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int64_t numel;
    int refcount;
    bool borrowed;
    size_t capacity;                  /* bytes of owned data (for the buffer cache) */
    uint64_t version;                 /* of the storage: views use their base's (tensor.h) */
    void (*release)(void *ctx);       /* keeper of borrowed data, if any */
    void *release_ctx;
    lam_tensor *base;                 /* view of another tensor's data */
};
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
void *lam__aligned_alloc(size_t bytes);
void lam__aligned_free(void *p);

/* ---- random numbers (the default generator) ---- */
/* n uniform floats in [lo, hi) from the default generator (thread-safe). */
void lam__rand_uniform(float *out, size_t n, float lo, float hi);
/* n draws in [0, 1) */
void lam__rand_unit(double *out, size_t n);

/* ---- modules ---- */
enum {
    LAM__KIND_LEAF = 0,
    LAM__KIND_SEQUENTIAL,
    LAM__KIND_MODULELIST,
    LAM__KIND_CUSTOM,
};

/* The layer-type descriptor built-in layers register through. */
typedef struct lam_module_ops {
    const char *type_name;   /* "Linear" */
    const char *py_module;   /* "torch.nn.modules.linear", for "<class '...'>" texts */
    int kind;
    /* output shape for an input shape, or LAM_ERR_SHAPE with a message */
    lam_status (*output_shape)(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                               int64_t *out);
    /* compute into a preallocated output of the inferred shape */
    lam_status (*forward_into)(lam_module *m, const lam_tensor *in, lam_tensor *out);
    /* or produce the output itself (containers, custom modules) */
    lam_status (*forward)(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out);
    /* PyTorch's extra_repr(): snprintf-like, returns the length */
    int (*extra_repr)(const lam_module *m, char *buf, size_t size);
    void (*destroy)(lam_module *m);
    /* true when forward treats the rows of dim 0 independently for an input
     * of this rank (so a batch may be split across threads); NULL = never */
    bool (*rowwise)(const lam_module *m, int ndim);
} lam_module_ops;

typedef struct lam__named_module {
    char *name;
    lam_module *module;
} lam__named_module;

typedef struct lam__param {
    char *name;
    lam_tensor *tensor;
    bool declared; /* declared by the layer, which reads it with this shape:
                      a replacement must have the same shape */
    bool kept;     /* declared by a plugin, which may keep the tensor (the host
                      table promises it lives as long as the module) */
} lam__param;

struct lam_module {
    const lam_module_ops *ops;
    const char *type_name;  /* overrides ops->type_name (custom modules) */
    int refcount;
    bool training;
    lam__named_module *children;
    size_t n_children, cap_children;
    lam__param *params;
    size_t n_params;
    void *state;
    struct lam__plan_cache *plans; /* plans for lam_module_forward, made lazily */
    unsigned params_version; /* moves when a parameter of m is registered or replaced */
    /* Structure versions (runtime/module.c): `version` moves when m's own
     * children or mode change; `tree_version` when m's or any descendant's
     * do (a change is stamped upward through every parent, so a plan of m
     * checks this one number).  `parents` lists each module holding m as a
     * child, once per slot; both it and the stamping are under one lock. */
    unsigned version, tree_version;
    lam_module **parents;
    size_t n_parents, cap_parents;
};

/* m's children or mode changed: moves its version and its and every
 * ancestor's tree_version. */
void lam__module_touch(lam_module *m);
/* Relaxed: a change made on another thread is seen once that thread's work
 * is ordered before this one (changing a model while it runs is a race). */
static inline unsigned lam__module_version(const lam_module *m)
{
    return __atomic_load_n(&m->version, __ATOMIC_RELAXED);
}
static inline unsigned lam__module_tree_version(const lam_module *m)
{
    return __atomic_load_n(&m->tree_version, __ATOMIC_RELAXED);
}

lam_status lam__module_new(lam_module **out, const lam_module_ops *ops, void *state);
/* Register a parameter the layer declares (takes the reference). */
lam_status lam__module_add_param(lam_module *m, const char *name, lam_tensor *t);
/* Insert a child at position pos (0..n) under `name` (takes a reference). */
lam_status lam__children_insert(lam_module *m, size_t pos, const char *name, lam_module *child);
/* Remove the child at pos, dropping its reference. */
void lam__children_remove(lam_module *m, size_t pos);
/* Rename children "0".."n-1" in order. */
lam_status lam__children_renumber(lam_module *m);
/* "<class 'torch.nn.modules.container.Sequential'>" */
void lam__py_class(const lam_module *m, char *buf, size_t size);
/* A stack-allocated view of rows [r0, r1) along dim 0 (no allocation). */
void lam__tensor_rows_view(lam_tensor *view, const lam_tensor *t, int64_t r0, int64_t r1);

#endif
