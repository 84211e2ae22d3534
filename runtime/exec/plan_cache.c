/* Plans cached inside a module, so that lam_module_forward plans each input
 * shape once and later forwards of that shape only allocate their output.
 * Several user threads may forward one model at once: a plan in use by one
 * call is never handed to another (a second plan is made instead).  Inside
 * a plan's forward (a custom forward run on row blocks by several threads
 * at once, each with its own forward pool), a plan is kept for the pool
 * that made it: each thread of the team reuses its own from run to run, so
 * which threads happen to meet in a child decides no allocation.  A plan
 * is used while the module's tree_version is the one it was made with
 * (module/module.h); a module that cannot be planned is remembered the same way. */
#include "runtime/exec/plan.h"
#include "runtime/core/parallel.h"
#include <pthread.h>
#include <stdlib.h>

#define CACHE_SLOTS 8

struct lam__plan_cache {
    lam__module_cache base; /* first: m->plans points here */
    pthread_mutex_t lock;
    lam_plan *plans[CACHE_SLOTS];
    const lam__fpool *owner[CACHE_SLOTS]; /* the forward pool plans[i] is kept for */
    bool unplannable;           /* m could not be planned ... */
    unsigned unplannable_stamp; /* ... when its tree_version was this */
};

static void cache_free(lam__module_cache *base)
{
    lam__plan_cache *c = (lam__plan_cache *)base;
    if (!c)
        return;
    for (int i = 0; i < CACHE_SLOTS; i++)
        lam__plan_destroy(c->plans[i]);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static lam__plan_cache *cache_of(lam_module *m)
{
    lam__module_cache *have = __atomic_load_n(&m->plans, __ATOMIC_ACQUIRE);
    if (have)
        return (lam__plan_cache *)have;
    lam__plan_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base.free = cache_free;
    pthread_mutex_init(&c->lock, NULL);
    lam__module_cache *expected = NULL;
    if (!__atomic_compare_exchange_n(&m->plans, &expected, &c->base, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        cache_free(&c->base);
        return (lam__plan_cache *)expected;
    }
    return c;
}

/* A free plan for this shape, made from what m is now (stale ones met on
 * the way are dropped); NULL if none.  *unplannable when m is known not to
 * be plannable. */
static lam_plan *take(lam__plan_cache *c, lam_module *m, int ndim, const int64_t *shape,
                      int threads, bool *unplannable)
{
    lam_plan *found = NULL, *stale[CACHE_SLOTS];
    int n_stale = 0;
    const lam__fpool *pool = lam__fpool_current();
    pthread_mutex_lock(&c->lock);
    if (c->unplannable) {
        if (c->unplannable_stamp == lam__module_tree_version(m)) {
            pthread_mutex_unlock(&c->lock);
            *unplannable = true;
            return NULL;
        }
        c->unplannable = false;
    }
    for (int i = 0; i < CACHE_SLOTS && !found; i++) {
        lam_plan *p = c->plans[i];
        if (p && c->owner[i] == pool && !lam__plan_in_use(p) &&
            lam__plan_matches(p, ndim, shape, threads)) {
            if (lam__plan_stale(p)) {
                stale[n_stale++] = p;
                c->plans[i] = NULL;
                continue;
            }
            lam__plan_set_in_use(p, true);
            found = p;
        }
    }
    pthread_mutex_unlock(&c->lock);
    while (n_stale)
        lam__plan_destroy(stale[--n_stale]);
    return found;
}

/* Remember that m cannot be planned (while its tree_version is `stamp`). */
static void remember_unplannable(lam__plan_cache *c, unsigned stamp)
{
    pthread_mutex_lock(&c->lock);
    c->unplannable = true;
    c->unplannable_stamp = stamp;
    pthread_mutex_unlock(&c->lock);
}

/* Keep p in the cache if there is room (or a free slot to reuse). */
static bool keep(lam__plan_cache *c, lam_plan *p)
{
    bool kept = false;
    lam_plan *evicted = NULL;
    const lam__fpool *pool = lam__fpool_current();
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < CACHE_SLOTS && !kept; i++) {
        if (!c->plans[i]) {
            c->plans[i] = p;
            c->owner[i] = pool;
            kept = true;
        }
    }
    for (int i = 0; i < CACHE_SLOTS && !kept; i++) {
        if (!lam__plan_in_use(c->plans[i])) {
            evicted = c->plans[i];
            c->plans[i] = p;
            c->owner[i] = pool;
            kept = true;
        }
    }
    if (kept)
        lam__plan_set_in_use(p, true);
    pthread_mutex_unlock(&c->lock);
    lam__plan_destroy(evicted);
    return kept;
}

static void give_back(lam__plan_cache *c, lam_plan *p)
{
    pthread_mutex_lock(&c->lock);
    lam__plan_set_in_use(p, false);
    pthread_mutex_unlock(&c->lock);
}

static lam_status forward_planned(lam_module *m, const lam_tensor *in, lam_tensor **out,
                                  lam_tensor *into, bool *unplannable)
{
    *unplannable = false;
    if (__builtin_expect(in->dtype != LAM_FLOAT32, 0)) {
        /* plans run float32 activations: an int64 input (token ids for an
         * Embedding) goes child by child, each layer checking its type */
        *unplannable = true;
        return LAM_OK;
    }
    lam__plan_cache *c = cache_of(m);
    if (!c)
        return lam__oom("plan cache");
    int threads = lam__threads_for_call();
    lam_plan *p = take(c, m, in->ndim, in->shape, threads, unplannable);
    if (*unplannable)
        return LAM_OK;
    bool cached = p != NULL;
    if (!p) {
        lam_status st = lam__plan_build(&p, m, in->ndim, in->shape, false);
        if (st)
            return st;
        if (lam__plan_is_generic(p)) {
            remember_unplannable(c, lam__plan_stamp(p));
            lam__plan_destroy(p);
            *unplannable = true;
            return LAM_OK;
        }
        cached = keep(c, p);
    }
    lam_status st = LAM_OK;
    if (into) {
        st = lam__plan_exec(p, in, NULL, into);
    } else {
        int ndim;
        int64_t shape[LAM_MAX_DIMS];
        lam__plan_shape(p, &ndim, shape);
        lam_tensor *y;
        st = lam__tensor_create_uninit(&y, ndim, shape);
        if (!st) {
            st = lam__plan_exec(p, in, NULL, y);
            if (st)
                lam_tensor_release(y);
            else
                *out = y;
        }
    }
    if (cached)
        give_back(c, p);
    else
        lam__plan_destroy(p);
    return st;
}

lam_status lam__forward_planned(lam_module *m, const lam_tensor *in, lam_tensor **out,
                                bool *unplannable)
{
    return forward_planned(m, in, out, NULL, unplannable);
}

lam_status lam__forward_planned_custom(lam_module *m, const lam_tensor *in, lam_tensor **out,
                                       lam_tensor *into, bool *ran)
{
    bool unplannable;
    lam_status st = forward_planned(m, in, out, into, &unplannable);
    *ran = !unplannable;
    return st;
}
