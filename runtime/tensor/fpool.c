/* Forward pools: where a custom forward's intermediate tensors come from
 * while a plan runs it (issue 11.2).
 *
 * A custom forward (a C callback or a plugin container) calls its children
 * with lam_module_forward and the tensor ops, each returning a new tensor.
 * Taking those from malloc costs more than the arithmetic when they are
 * large (glibc maps and unmaps every buffer of 128 KiB and more, so every
 * page faults in again on every call).  So while a plan step runs a custom
 * forward, the step's thread has a pool (one per plan and thread slot):
 * every tensor made on that thread — its struct and its data — comes from
 * the pool, and its release gives both back instead of freeing them.  The
 * first forward sizes the pool; later forwards of the same shape find every
 * buffer they need and allocate nothing.
 *
 * Safety: an entry is reused only after its tensor was released, so a
 * tensor the user keeps beyond the forward simply stays out of the pool.
 * When the pool goes (its plan is freed) such a tensor is orphaned: its
 * release frees it.  The state of an entry is the only thing another thread
 * (the one releasing a tensor kept by the user) may touch, with atomics;
 * everything else belongs to the one thread using the pool at a time.  The
 * pool stops growing at POOL_MAX_ENTRIES entries or POOL_MAX_BYTES (a
 * forward that keeps its tensors would otherwise grow it every call); past
 * that, tensors come from the heap as usual. */
#include "runtime/tensor/tensor.h"
#include <stdlib.h>
#include <string.h>

#define POOL_MAX_ENTRIES 256
#define POOL_MAX_BYTES ((size_t)1 << 30)

enum { ENTRY_FREE, ENTRY_USED, ENTRY_ORPHAN };

struct lam__fpool_entry {
    lam_tensor t;
    float *buf;
    size_t cap; /* bytes of buf; 0 for a struct-only entry (views) */
    int state;
    lam__fpool_entry *next;
};

struct lam__fpool {
    lam__fpool_entry *head;
    size_t n, bytes;
    bool grew; /* since lam__fpool_balance last looked */
    bool maybe_pending; /* a tensor of this pool may be pending (lam__sync_slow) */
};

static __thread lam__fpool *tls_pool;
/* Set once a pool was made: until then no thread can have one entered, and
 * tensors skip the (in a shared library, costly) thread-local lookup. */
static bool pools_made;

lam__fpool *lam__fpool_new(void)
{
    if (!__atomic_load_n(&pools_made, __ATOMIC_RELAXED))
        __atomic_store_n(&pools_made, true, __ATOMIC_RELAXED);
    return calloc(1, sizeof(lam__fpool));
}

static void entry_free(lam__fpool_entry *e)
{
    lam__aligned_free(e->buf);
    free(e);
}

void lam__fpool_free(lam__fpool *p)
{
    if (!p)
        return;
    lam__fpool_entry *e = p->head;
    while (e) {
        lam__fpool_entry *next = e->next;
        int expected = ENTRY_USED;
        /* a tensor still held somewhere is freed by its last release;
         * one released meanwhile (FREE now) is freed here */
        if (!__atomic_compare_exchange_n(&e->state, &expected, ENTRY_ORPHAN, false,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            entry_free(e);
        e = next;
    }
    free(p);
}

lam__fpool *lam__fpool_enter(lam__fpool *p)
{
    lam__fpool *prev = tls_pool;
    tls_pool = p;
    return prev;
}

void lam__fpool_leave(lam__fpool *prev) { tls_pool = prev; }

bool lam__fpool_active(void)
{
    return __atomic_load_n(&pools_made, __ATOMIC_RELAXED) && tls_pool != NULL;
}

lam__fpool *lam__fpool_current(void)
{
    return __atomic_load_n(&pools_made, __ATOMIC_RELAXED) ? tls_pool : NULL;
}

static lam__fpool_entry *add_entry(lam__fpool *p, size_t cap)
{
    if (p->n >= POOL_MAX_ENTRIES || p->bytes + cap > POOL_MAX_BYTES)
        return NULL;
    lam__fpool_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (cap && !(e->buf = lam__aligned_alloc(cap))) {
        free(e);
        return NULL;
    }
    /* Its pages faulted in now, in the forward that sizes the pool: the
     * first forward need not write every buffer it takes (a deferred call's
     * result released unread is never computed), and a later forward that
     * hands this one to a request the first served from another would
     * otherwise fault its pages in then (slow on a virtual machine: ~5 us a
     * page) */
    for (size_t o = 0; o < cap; o += 4096)
        ((volatile char *)e->buf)[o] = 0;
    e->cap = cap;
    e->next = p->head;
    p->head = e;
    p->n++;
    p->bytes += cap;
    p->grew = true;
    return e;
}

static size_t count_cap(const lam__fpool *p, size_t cap)
{
    size_t n = 0;
    for (const lam__fpool_entry *e = p->head; e; e = e->next)
        n += e->cap == cap;
    return n;
}

void lam__fpool_balance(lam__fpool **pools, int n)
{
    bool grew = false;
    int src = 0;
    for (int i = 0; i < n; i++) {
        grew = grew || pools[i]->grew;
        pools[i]->grew = false;
        if (pools[i]->bytes > pools[src]->bytes ||
            (pools[i]->bytes == pools[src]->bytes && pools[i]->n > pools[src]->n))
            src = i;
    }
    if (!grew)
        return;
    for (int i = 0; i < n; i++) {
        if (i == src)
            continue;
        for (const lam__fpool_entry *e = pools[src]->head; e; e = e->next) {
            size_t have = count_cap(pools[i], e->cap), want = count_cap(pools[src], e->cap);
            while (have < want && add_entry(pools[i], e->cap))
                have++;
        }
        pools[i]->grew = false;
    }
}

lam_tensor *lam__fpool_take(size_t bytes, bool buffer)
{
    if (!__atomic_load_n(&pools_made, __ATOMIC_RELAXED))
        return NULL;
    lam__fpool *p = tls_pool;
    if (!p)
        return NULL;
    lam__fpool_entry *best = NULL;
    for (lam__fpool_entry *e = p->head; e; e = e->next) {
        if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != ENTRY_FREE)
            continue;
        if (!buffer) {
            if (e->cap == 0) {
                best = e;
                break;
            }
        } else if (e->cap >= bytes && e->cap > 0 && (!best || e->cap < best->cap)) {
            best = e;
        }
    }
    if (!best && !(best = add_entry(p, buffer ? (bytes ? bytes : LAM_ALIGNMENT) : 0)))
        return NULL;
    /* a FREE entry is touched by no other thread */
    __atomic_store_n(&best->state, ENTRY_USED, __ATOMIC_RELAXED);
    memset(&best->t, 0, sizeof best->t);
    best->t.data = buffer ? best->buf : NULL;
    best->t.capacity = best->cap;
    best->t.refcount = 1;
    best->t.pool_entry = best;
    return &best->t;
}

bool lam__fpool_owns_data(const lam_tensor *t)
{
    return t->pool_entry && t->pool_entry->buf && t->data == t->pool_entry->buf;
}

void lam__fpool_put(lam__fpool_entry *e)
{
    int expected = ENTRY_USED;
    if (!__atomic_compare_exchange_n(&e->state, &expected, ENTRY_FREE, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        entry_free(e); /* orphaned: its pool is gone */
}

/* ---- deferred calls (runtime/exec/lazy.c) ---- */

bool lam__lazy_used;

void lam__fpool_mark_pending(void)
{
    if (!__atomic_load_n(&lam__lazy_used, __ATOMIC_RELAXED))
        __atomic_store_n(&lam__lazy_used, true, __ATOMIC_RELAXED);
    if (tls_pool)
        tls_pool->maybe_pending = true;
}

lam_status lam__tensor_ready_slow(lam_tensor *t)
{
    if (!t->pend.run)
        return LAM_OK;
    return t->pend.run(t);
}

lam_status lam__sync_slow(void)
{
    lam__fpool *p = tls_pool;
    if (!p || !p->maybe_pending)
        return LAM_OK;
    p->maybe_pending = false;
    lam_status st = LAM_OK;
    for (lam__fpool_entry *e = p->head; e; e = e->next) {
        if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != ENTRY_USED || !e->t.pend.run)
            continue;
        lam_status s = e->t.pend.run(&e->t);
        if (s && !st)
            st = s;
    }
    return st;
}
