/* runtime/core — what every other runtime/ folder builds on: the
 * thread-local error message and the log callback (error.c), strings and
 * Python-style number printing (util.c), hash maps (hash.c), the default
 * generator (rng.c), the parameter budget of a model file being built
 * (budget.c) and lamina's worker threads (parallel.c, parallel.h: the one
 * place that starts threads).  Uses nothing else of runtime/ (only the
 * public headers and simd/).  Never installed; plugins never see it.
 *
 * runtime/ folders, each using only those before it (docs/architecture.md,
 * checked by tests/layering.sh): core, tensor, module, layers, ops, exec, nn,
 * plugin, io, model. */
#ifndef LAMINA_RUNTIME_CORE_CORE_H
#define LAMINA_RUNTIME_CORE_CORE_H

#include "config.h"
#include <stdarg.h>
#include "lamina/lamina.h"

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

/* ---- a packing's stamp ----
 * What a buffer derived from a parameter (a packed weight) was made from:
 * the module's params_version and the parameter's version.  The forward
 * reads it without the lock (lam__stamp_current); the remake, under the
 * module's lock, clears it, rebuilds the buffer, then sets it (the release
 * store of `valid` publishes the buffer with the stamp). */
typedef struct lam__stamp {
    unsigned params;
    uint64_t version;
    bool valid;
} lam__stamp;

static inline bool lam__stamp_current(const lam__stamp *st, unsigned pv, uint64_t v)
{
    return __atomic_load_n(&st->valid, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&st->params, __ATOMIC_RELAXED) == pv &&
           __atomic_load_n(&st->version, __ATOMIC_RELAXED) == v;
}

static inline void lam__stamp_clear(lam__stamp *st)
{
    __atomic_store_n(&st->valid, false, __ATOMIC_RELEASE);
}

static inline void lam__stamp_set(lam__stamp *st, unsigned pv, uint64_t v)
{
    __atomic_store_n(&st->params, pv, __ATOMIC_RELAXED);
    __atomic_store_n(&st->version, v, __ATOMIC_RELAXED);
    __atomic_store_n(&st->valid, true, __ATOMIC_RELEASE);
}

/* ---- strings ---- */
char *lam__strdup(const char *s);
/* The working set (bytes read + written by one layer call) above which its
 * output will have left the caches before the next layer reads it, so the
 * call may store it with non-temporal stores: this thread's share of the
 * last-level cache (its size over the online CPUs) plus its L2, times 3/4 —
 * the estimate glibc's memcpy uses to switch to streaming stores.  From
 * sysconf where it knows the caches (the last level capped at 32 MiB: a
 * guest may be told the whole socket's), else 12 MiB; computed once. */
size_t lam__stream_bytes(void);
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

/* ---- random numbers (the default generator) ---- */
/* n uniform floats in [lo, hi) from the default generator (thread-safe). */
void lam__rand_uniform(float *out, size_t n, float lo, float hi);
/* n draws in [0, 1) */
void lam__rand_unit(double *out, size_t n);

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

#endif
