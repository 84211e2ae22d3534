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
/* Changes whenever this thread's message is set or cleared: tells whether
 * the message is still the one seen before (forward.c's error paths). */
unsigned lam__error_serial(void);
lam_status lam__oom(const char *what);
/* Public functions check their pointer arguments first, one line each:
 *     LAM__CHECK_ARG(out);          LAM_ERR_INVALID_ARGUMENT, "lam_tensor_create: out is NULL"
 *     LAM__CHECK_ARRAY(mods, n);    the same when n > 0 and mods is NULL
 *     LAM__CHECK_ARG_OR(t, NULL);   the same message; returns the value (non-status functions)
 * The argument must carry the header's name (the message shows it). */
lam_status lam__null_arg(const char *func, const char *arg);
#define LAM__CHECK_ARG(arg)                                                                        \
    do {                                                                                           \
        if (!(arg))                                                                                \
            return lam__null_arg(__func__, #arg);                                                  \
    } while (0)
#define LAM__CHECK_ARRAY(arg, n)                                                                   \
    do {                                                                                           \
        if ((n) && !(arg))                                                                         \
            return lam__null_arg(__func__, #arg);                                                  \
    } while (0)
#define LAM__CHECK_ARG_OR(arg, value)                                                              \
    do {                                                                                           \
        if (!(arg)) {                                                                              \
            (void)lam__null_arg(__func__, #arg);                                                   \
            return value;                                                                          \
        }                                                                                          \
    } while (0)
/* A message for the application's log callback (lam_set_log_callback);
 * debug and info only when LAMINA_VERBOSE=1, nothing when no callback. */
void lam__log(lam_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lam__vlog(lam_log_level level, const char *fmt, va_list ap);

/* ---- strings ---- */
char *lam__strdup(const char *s);
/* The value of a hexadecimal digit (0-9, a-f, A-F), -1 for anything else. */
int lam__hexval(int c);
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

/* ---- hash tables (hash.c) ---- */
/* SipHash-1-3 under a per-process random key. */
uint64_t lam__hash_bytes(const void *data, size_t len);
/* name -> size_t.  Keys are borrowed (they must outlive their entry) and
 * need not be NUL-terminated; a zeroed struct is an empty map. */
typedef struct lam__strmap_slot {
    const char *key; /* NULL: empty slot */
    size_t len;
    uint64_t hash;
    size_t val;
} lam__strmap_slot;
typedef struct lam__strmap {
    lam__strmap_slot *slots;
    size_t n, cap;
} lam__strmap;
size_t *lam__strmap_get(const lam__strmap *m, const char *key);
size_t *lam__strmap_getn(const lam__strmap *m, const char *key, size_t len);
/* The value of key, added with `val` when absent (*added, may be NULL, says
 * which); NULL on OOM. */
size_t *lam__strmap_putn(lam__strmap *m, const char *key, size_t len, size_t val, bool *added);
void lam__strmap_free(lam__strmap *m);
/* pointer -> size_t (keys non-NULL); a zeroed struct is an empty map. */
typedef struct lam__ptrmap_slot {
    const void *key;
    size_t val;
} lam__ptrmap_slot;
typedef struct lam__ptrmap {
    lam__ptrmap_slot *slots;
    size_t n, cap;
} lam__ptrmap;
size_t *lam__ptrmap_get(const lam__ptrmap *m, const void *key);
size_t *lam__ptrmap_put(lam__ptrmap *m, const void *key, size_t val, bool *added);
bool lam__ptrmap_remove(lam__ptrmap *m, const void *key);
void lam__ptrmap_free(lam__ptrmap *m);

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
    struct lam__fpool_entry *pool_entry; /* struct (and data) from a forward pool */
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
typedef struct lam__module_ops {
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

    /* ---- capabilities: what the executor may do with a layer.  Plans ask
     * these, never a type's name, so built-in and plugin layers are planned
     * and fused by the same rules.  NULL = the layer cannot. ---- */
    /* "Runs rows with a fused epilogue": x holds `rows` vectors of the
     * input's last dimension, y `rows` vectors of the output's last
     * dimension; computes output columns [n_begin, n_end) and applies `ep`
     * to them.  The executor then fuses a following activation into `ep` and
     * may split the columns (or the rows) across threads. */
    lam_status (*run_rows)(lam_module *m, const float *x, int64_t rows, float *y,
                           lam__epilogue ep, size_t n_begin, size_t n_end);
    /* "Is an elementwise activation that its producer's epilogue can
     * compute": the activation and its alpha, or LAM_ACTIVATION_IDENTITY. */
    lam_activation (*epilogue_act)(const lam_module *m, float *alpha);
    /* Floating-point operations of one forward for this input shape (the
     * executor's estimate for choosing threads); NULL: 10 per output element. */
    double (*flops)(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                    const int64_t *out);
    /* This layer's run_rows then `next`'s as one kernel (the intermediate
     * kept in registers), with the same bits as the two calls: can_pair
     * says whether it can for this pair, run_pair runs it. */
    bool (*can_pair)(const lam_module *m, const lam_module *next);
    lam_status (*run_pair)(lam_module *m, lam__epilogue ep, lam_module *next, lam__epilogue next_ep,
                           const float *x, int64_t rows, float *y);
} lam__module_ops;

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
    const lam__module_ops *ops;
    const char *type_name;  /* overrides ops->type_name (custom modules) */
    int refcount;
    bool training;
    lam__named_module *children;
    size_t n_children, cap_children;
    lam__param *params;
    size_t n_params;
    /* tree.c: an index of the child and parameter names (NULL while there
     * are few), the modules holding this one (with counts; NULL when none)
     * and the levels of modules below it (0: no children).  Changed under
     * lam__tree_lock. */
    lam__strmap *names;
    lam__ptrmap *parents;
    int below;
    void *state;
    struct lam__plan_cache *plans; /* plans for lam_module_forward, made lazily */
    unsigned params_version; /* moves when a parameter of m is registered or replaced */
    /* Structure versions (runtime/module.c): `version` moves when m's own
     * children or mode change; `tree_version` when m's or any descendant's
     * do (a change is stamped upward through `parents`, so a plan of m
     * checks this one number); stamped under lam__tree_lock. */
    unsigned version, tree_version;
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

lam_status lam__module_new(lam_module **out, const lam__module_ops *ops, void *state);
/* Register a parameter the layer declares (takes the reference). */
lam_status lam__module_add_param(lam_module *m, const char *name, lam_tensor *t);
/* Insert a child at position pos (0..n) under `name` (takes a reference). */
lam_status lam__children_insert(lam_module *m, size_t pos, const char *name, lam_module *child);
/* Remove the child at pos, dropping its reference. */
void lam__children_remove(lam_module *m, size_t pos);
/* Rename children "0".."n-1" in order. */
lam_status lam__children_renumber(lam_module *m);
/* The position of the child / parameter called name[0..len), or -1. */
ptrdiff_t lam__module_child_pos(const lam_module *m, const char *name, size_t len);
ptrdiff_t lam__module_param_pos(const lam_module *m, const char *name, size_t len);

/* ---- the call path (forward.c) ----
 * Every call of a module (forward, output shape, a plan's step) goes on a
 * thread-local stack; the first frame that sees a new error prefixes it with
 * the module path from the outermost call ("Sequential[2].layers[0]") and
 * marks it located, so that the frames above pass it on unchanged.
 * `index` is the callee's position among the caller's children when the
 * caller knows it (a Sequential), LAM__NO_INDEX otherwise (it is searched). */
#define LAM__NO_INDEX ((size_t)-1)
lam_status lam__call_forward(lam_module *m, size_t index, const lam_tensor *in, void *args,
                             lam_tensor **out);
lam_status lam__call_shape(lam_module *m, size_t index, int ndim, const int64_t *shape,
                           int *out_ndim, int64_t *out_shape);
/* Has the current message its path already (set by a frame below)? */
bool lam__error_located(void);
/* Locate the current error (status st) at `m` called from `root`, where the
 * call did not go through the stack (a plan's steps, maybe on worker
 * threads): root is taken as called unless it is the innermost call now. */
lam_status lam__locate_at(lam_module *root, lam_module *m, lam_status st);
/* A plan's shape inference failed with st: infer m's output shape again
 * through the call path, for the message with the failing module's path. */
lam_status lam__locate_shape_error(lam_module *m, int ndim, const int64_t *shape, lam_status st);
/* Is a forward hook installed on this thread (lam_set_forward_hook)? */
bool lam__forward_hooked(void);

/* ---- the module tree (tree.c) ---- */
/* One lock for every change to children, parents and depths. */
void lam__tree_lock(void);
void lam__tree_unlock(void);
/* Under the lock, before `child` joins `parent`'s children: refuses a cycle
 * and a tree deeper than LAM_MAX_MODULE_DEPTH, then records parent as a
 * holder of child and the new depths.  Nothing changes on failure. */
lam_status lam__tree_attach(lam_module *parent, lam_module *child);
/* Under the lock, after one slot holding `child` left `parent`'s children. */
void lam__tree_detach(lam_module *parent, lam_module *child);
/* Under the lock: after a child was added at pos / after any other change
 * of parent's child or parameter list.  Never fails (the index is only a
 * cache: without it lookups scan). */
void lam__names_added(lam_module *m, size_t child_pos);
void lam__names_param_added(lam_module *m);
void lam__names_rebuild(lam_module *m);
/* When m is freed: it no longer holds its children. */
void lam__tree_forget(lam_module *m);

/* ---- the parameter budget of a model file being built (budget.c) ---- */
typedef struct lam__budget {
    int64_t used, limit;
    struct lam__budget *prev;
} lam__budget;
/* From now on, on this thread, every parameter and plugin allocation counts
 * against b (nested budgets: the innermost). */
void lam__budget_begin(lam__budget *b, int64_t limit);
void lam__budget_end(lam__budget *b);
/* Before allocating n floats for what the format names ("Linear(10, 20)"):
 * LAM_OK (counted), or LAM_ERR_INVALID_ARGUMENT when they would take this
 * thread's budget past its limit (nothing counted).  No budget: LAM_OK. */
lam_status lam__budget_charge(int64_t n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "<class 'torch.nn.modules.container.Sequential'>" */
void lam__py_class(const lam_module *m, char *buf, size_t size);
/* A stack-allocated view of rows [r0, r1) along dim 0 (no allocation). */
void lam__tensor_rows_view(lam_tensor *view, const lam_tensor *t, int64_t r0, int64_t r1);

#endif
