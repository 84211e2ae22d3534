/* Deferred layer calls: how a custom forward gets the Sequential's fused
 * kernels (issue 11.2).
 *
 * A custom forward (a C callback or a plugin container) calls its layers
 * one by one: Linear, then ReLU, then Linear...  Run as called, each is a
 * pass over memory, and the Linear-activation-Linear chain that a
 * Sequential's plan runs as one kernel (the hidden layer kept in
 * registers, the activations in its epilogues) costs about twice as much.
 * So while a plan runs a custom forward (its forward pool entered on the
 * thread), a layer call whose input is the forward's own input, or the
 * result of such a deferred call, is not run: it returns a tensor whose
 * data is *pending*, and records the call:
 *
 *   - a layer that runs rows with an epilogue (a Linear), on the forward's
 *     input: pending;
 *   - an activation its producer's epilogue can compute, on a pending
 *     tensor whose last layer has no epilogue yet: the producer's call with
 *     that epilogue;
 *   - a second row-running layer on a pending one, when the first can run
 *     it as one kernel (lam__can_pair, the plan's rule): both, as one;
 *   - a layer that forwards whole tensors and can take an epilogue or
 *     absorb a per-channel affine map (a convolution: forward_ep,
 *     fold_affine), on the forward's input: pending;
 *   - a per-channel affine map (an eval-mode BatchNorm) on a pending tensor
 *     whose layer can absorb it (lam__can_fold, the plan's rule) and has no
 *     epilogue yet: folded into that layer (a copy with folded weights,
 *     cached in the layer and made again when either module's parameters
 *     change, as a plan's fold is), so conv -> BatchNorm -> ReLU in a
 *     ResNet block is one convolution with the ReLU in its epilogue;
 *   - the ops `t + x` and ReLU (lam_tensor_add, lam_tensor_relu) on a
 *     pending convolution (its norm folded) with nothing after it yet:
 *     the residual and the activation join its epilogue (forward_ep's
 *     ep.add: added by each task on outputs still in cache), so a ResNet
 *     block's relu(bn3(conv3(x)) + identity) is one convolution; into the
 *     caller's tensor when the op is given one (computed then);
 *   - one of those layers (rows or whole tensors) on a pending tensor that
 *     it cannot join: the pending one is computed now, and the new call
 *     waits on it (the record holds a reference to it).  Its data was never
 *     reachable before the call (a pending tensor's data is only reached
 *     through functions that compute every deferred call first), so
 *     nothing can write it unseen until the step ends.
 *
 * Everything else makes the deferred calls happen first: any call that is
 * not one of those, every public function that reads or writes a tensor's
 * data or changes a module (LAM__SYNC, runtime/tensor/tensor.h), a forward
 * hook, and the end of the plan step.  A pending tensor released unread is
 * never computed.  The arithmetic is the plan's (run_rows with the
 * epilogue, run_pair, forward_ep, a folded copy of the layer), which gives
 * the same bits as the calls one by one, except that a folded norm rounds
 * as a plan's fold does (<lamina/plan.h>): a block's conv, bn, relu give
 * the bits of Sequential(conv, bn, relu) planned.
 *
 * Why it is safe to wait: the forward's input is the plan's row block,
 * which nothing writes until the step ends, and a pending tensor's data
 * can only be reached through a function that computes it first.  The one
 * thing it cannot see is a write through a pointer taken earlier into a
 * layer's parameters, between the call and the read of its result (see
 * docs/plugins.md). */
#include "runtime/exec/plan.h"
#include "runtime/layers/layers.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int64_t vectors_of(const lam_tensor *t)
{
    if (t->ndim <= 1)
        return 1;
    int64_t v = 1;
    for (int i = 0; i < t->ndim - 1; i++)
        v *= t->shape[i];
    return v;
}

/* ---- norms folded into a layer, cached in it (m->folds) ----
 * Entries are keyed by the norm and the channels folded; an entry holds a
 * reference to the norm (so that its address cannot be reused while the
 * entry matches it) and to the folded copy, which a deferred call retains
 * while it runs: an entry replaced meanwhile (parameters changed, another
 * norm) frees its copy only when that call is done.  Several threads may
 * run one layer at once (a plan's row blocks), hence the lock; steady state
 * takes it, checks the stamps and retains the copy, allocating nothing. */
#define FOLD_SLOTS 2
typedef struct fold_entry {
    lam_module *norm, *folded;
    int ndim;
    int64_t channels;
    unsigned pv[2];
    uint64_t v[2];
} fold_entry;
typedef struct fold_cache {
    lam__module_cache base; /* first: m->folds points here */
    pthread_mutex_t lock;
    fold_entry e[FOLD_SLOTS];
    unsigned next; /* the slot a new entry replaces */
} fold_cache;

static void fold_cache_free(lam__module_cache *base)
{
    fold_cache *c = (fold_cache *)base;
    for (int i = 0; i < FOLD_SLOTS; i++) {
        lam_module_release(c->e[i].norm);
        lam_module_release(c->e[i].folded);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static fold_cache *fold_cache_of(lam_module *m)
{
    lam__module_cache *have = __atomic_load_n(&m->folds, __ATOMIC_ACQUIRE);
    if (have)
        return (fold_cache *)have;
    fold_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base.free = fold_cache_free;
    pthread_mutex_init(&c->lock, NULL);
    lam__module_cache *expected = NULL;
    if (!__atomic_compare_exchange_n(&m->folds, &expected, &c->base, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        fold_cache_free(&c->base);
        return (fold_cache *)expected;
    }
    return c;
}

static void fold_stamp(lam_module *m, lam_module *norm, unsigned pv[2], uint64_t v[2])
{
    lam_module *mm[2] = {m, norm};
    for (int k = 0; k < 2; k++) {
        pv[k] = __atomic_load_n(&mm[k]->params_version, __ATOMIC_ACQUIRE);
        v[k] = lam__params_stamp(mm[k]);
    }
}

/* m with norm folded in for an output of this shape, as a new reference. */
static lam_status folded_of(lam_module *m, lam_module *norm, int ndim, const int64_t *shape,
                            lam_module **out)
{
    int axis = m->ops->affine_axis(m, ndim, shape);
    if (axis < 0 || axis >= ndim) /* (lam__fold says so) */
        return lam__fold(m, norm, ndim, shape, out);
    fold_cache *c = fold_cache_of(m);
    if (!c)
        return lam__oom("folding a norm into its producer");
    unsigned pv[2];
    uint64_t v[2];
    fold_stamp(m, norm, pv, v); /* before reading: a write during the fold is seen next time */
    pthread_mutex_lock(&c->lock);
    fold_entry *e = NULL;
    for (int i = 0; i < FOLD_SLOTS && !e; i++)
        if (c->e[i].norm == norm && c->e[i].ndim == ndim && c->e[i].channels == shape[axis])
            e = &c->e[i];
    lam_status st = LAM_OK;
    if (!e || memcmp(e->pv, pv, sizeof pv) != 0 || memcmp(e->v, v, sizeof v) != 0) {
        lam_module *f = NULL;
        st = lam__fold(m, norm, ndim, shape, &f);
        if (!st) {
            if (!e) {
                e = &c->e[c->next++ % FOLD_SLOTS];
                lam_module_release(e->norm);
                e->norm = lam_module_retain(norm);
            }
            lam_module_release(e->folded); /* (freed when no deferred call holds it) */
            e->folded = f;
            e->ndim = ndim;
            e->channels = shape[axis];
            memcpy(e->pv, pv, sizeof pv);
            memcpy(e->v, v, sizeof v);
        }
    }
    if (!st)
        *out = lam_module_retain(e->folded);
    pthread_mutex_unlock(&c->lock);
    return st;
}

/* ---- pending records ---- */

static void pending_drop(lam_tensor *t)
{
    lam__pending p = t->pend;
    t->pend.run = NULL;
    t->pend.join = NULL;
    for (int i = 0; i < p.n; i++)
        lam_module_release(p.m[i]);
    lam_module_release(p.norm);
    if (p.own_src)
        lam_tensor_release((lam_tensor *)p.src);
    if (p.own_add)
        lam_tensor_release((lam_tensor *)p.add);
}

/* Compute record p into t's data (t's shape). */
static lam_status record_run(const lam__pending *p, lam_tensor *t)
{
    lam_module *m0 = p->m[0], *m1 = p->n > 1 ? p->m[1] : NULL, *folded = NULL;
    lam__epilogue e0 = {.act = (lam_activation)p->act[0], .alpha = p->alpha[0]};
    lam__epilogue e1 = {.act = (lam_activation)p->act[1], .alpha = p->alpha[1]};
    e0.add = p->add ? p->add->data : NULL; /* (whole records only: forward_ep's residual) */
    int64_t vectors = vectors_of(p->src);
    lam_status st = LAM_OK;
    if (p->norm && (st = folded_of(m0, p->norm, t->ndim, t->shape, &folded)) == LAM_OK)
        m0 = folded;
    if (st)
        ;
    else if (p->whole)
        st = lam__leaf_run_ep(m0, p->src, t, e0);
    else if (m1)
        st = m0->ops->run_pair(m0, e0, m1, e1, p->src->data, vectors, t->data);
    else
        st = m0->ops->run_rows(m0, p->src->data, vectors, t->data, e0, 0,
                               (size_t)t->shape[t->ndim - 1]);
    lam_module_release(folded);
    return st;
}

static lam_status pending_run(lam_tensor *t)
{
    lam__pending p = t->pend;
    t->pend.run = NULL;
    lam_status st = record_run(&p, t);
    if (st) /* a reader must not see stale memory */
        for (int64_t i = 0; i < t->numel; i++)
            t->data[i] = NAN;
    t->pend = p; /* (pending_drop releases what the record holds) */
    pending_drop(t);
    return st;
}

/* A copy of record p for another tensor: its own references. */
static lam__pending record_copy(const lam__pending *p)
{
    lam__pending q = *p;
    for (int i = 0; i < q.n; i++)
        lam_module_retain(q.m[i]);
    lam_module_retain(q.norm);
    if (q.own_src)
        lam_tensor_retain((lam_tensor *)q.src);
    if (q.own_add)
        lam_tensor_retain((lam_tensor *)q.add);
    return q;
}

/* Do two tensors' data overlap? */
static bool overlaps(const lam_tensor *a, const lam_tensor *b)
{
    const char *pa = (const char *)a->data, *pb = (const char *)b->data;
    return a->numel && b->numel && pa < pb + (size_t)b->numel * sizeof(float) &&
           pb < pa + (size_t)a->numel * sizeof(float);
}

static bool same_shape(const lam_tensor *a, const lam_tensor *b)
{
    return a->ndim == b->ndim && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim);
}

/* An op joined to pending t (lam__pending.join): `t + other`, or ReLU,
 * taken by a whole-tensor record (a convolution, its norm folded) that
 * has nothing after it yet: the residual and the activation then run in
 * the convolution's tasks, on outputs still in cache (forward_ep), with
 * the bits of the ops run one after the other.  The result is a new
 * pending tensor (*out NULL), t itself (ReLU in place: t's record takes
 * it), or the caller's tensor *out, computed now. */
static bool pending_join(lam_tensor **out, const lam_tensor *t, const lam_tensor *other, int act,
                         lam_status *st)
{
    const lam__pending *ip = &t->pend;
    if (ip->run != pending_run || !ip->whole || ip->n != 1 || !lam__forwards_ep(ip->m[0]) ||
        ip->act[0] != LAM_ACTIVATION_IDENTITY || t->dtype != LAM_FLOAT32 || t->numel == 0)
        return false;
    if (other) {
        /* the addend: same shape (no broadcasting), ready, and unchanged
         * until the record runs: the forward's input, or a forward pool's
         * tensor that the record holds (any write to one syncs first) */
        if (ip->add || other == t || other->dtype != LAM_FLOAT32 || !same_shape(t, other) ||
            other->base || (!other->lazy_src && !other->pool_entry) || overlaps(t, other))
            return false;
        if ((*st = lam__tensor_ready(other)) != LAM_OK) {
            *out = NULL;
            return true; /* the error of the call it waited on */
        }
    } else if (act != LAM_ACTIVATION_RELU) {
        return false;
    }
    lam__pending p = *ip;
    if (other) {
        p.add = other;
        p.own_add = !other->lazy_src;
    } else {
        p.act[0] = act;
    }
    lam_tensor *y = *out;
    if (y == t && !other) { /* in place: t's own record takes the activation */
        ((lam_tensor *)t)->pend.act[0] = act;
        *st = LAM_OK;
        return true;
    }
    if (y) { /* the caller's tensor, now */
        if (y->pend.run || y->base || y->dtype != LAM_FLOAT32 || !same_shape(y, t) ||
            overlaps(y, t) || overlaps(y, p.src) || (p.add && overlaps(y, p.add)))
            return false; /* (into the addend itself: the op's own rule decides) */
        p.own_add = false; /* (nothing outlives this call) */
        lam__tensor_bump(y);
        *st = record_run(&p, y);
        return true;
    }
    if (lam__tensor_create_uninit(&y, t->ndim, t->shape) != LAM_OK) {
        lam_clear_error();
        return false;
    }
    if (!y->pool_entry) { /* the pool is full: run it as usual */
        lam_tensor_release(y);
        return false;
    }
    p.own_add = false;
    y->pend = record_copy(&p);
    if (other && !other->lazy_src) {
        lam_tensor_retain((lam_tensor *)other);
        y->pend.own_add = true;
    }
    lam__fpool_mark_pending();
    *out = y;
    *st = LAM_OK;
    return true;
}

/* Can m's call wait, and what joins it later?  A layer that runs rows (a
 * Linear), or one that forwards whole tensors and takes an epilogue or a
 * fold (a convolution). */
static bool defers_rows(const lam_module *m, int ndim)
{
    return lam__runs_rows(m) && lam__rowwise(m, ndim);
}

static bool defers_whole(const lam_module *m)
{
    return !lam__runs_rows(m) && m->ops->forward_into &&
           (lam__forwards_ep(m) || (m->ops->affine_axis && m->ops->fold_affine));
}

bool lam__defer(lam_module *m, const lam_tensor *in, lam_tensor **out, lam_status *st)
{
    if (in->numel == 0 || in->ndim < 1 || in->dtype != LAM_FLOAT32)
        return false;
    const lam__pending *ip = in->pend.run ? &in->pend : NULL;
    lam_activation act = LAM_ACTIVATION_IDENTITY;
    float alpha = 0.0f;
    enum { NEW, JOIN_ACT, JOIN_NORM, PAIR } how = NEW;
    bool after = false; /* m waits on `in`, which is computed now */
    if (ip) {
        lam_module *m0 = ip->m[0];
        if (ip->act[ip->n - 1] == LAM_ACTIVATION_IDENTITY &&
            (!ip->whole || lam__forwards_ep(m0)) &&
            (act = lam__epilogue_act(m, &alpha)) != LAM_ACTIVATION_IDENTITY)
            how = JOIN_ACT;
        else if (ip->n == 1 && !ip->norm && !ip->add && ip->act[0] == LAM_ACTIVATION_IDENTITY &&
                 lam__can_fold(m0, m, in->ndim, in->shape))
            how = JOIN_NORM;
        else if (!ip->whole && !ip->norm && ip->n == 1 && defers_rows(m, in->ndim) &&
                 vectors_of(in) >= 8 && lam__can_pair(m0, m))
            how = PAIR; /* the two layers as one kernel */
        else if (defers_rows(m, in->ndim) || defers_whole(m))
            after = true;
        else
            return false;
    } else if (!(in->lazy_src && (defers_rows(m, in->ndim) || defers_whole(m)))) {
        return false;
    }
    int nd = in->ndim;
    int64_t shape[LAM_MAX_DIMS];
    if (how == JOIN_ACT) {
        memcpy(shape, in->shape, sizeof(int64_t) * (size_t)nd);
    } else if (m->ops->output_shape(m, in->ndim, in->shape, &nd, shape) != LAM_OK) {
        lam_clear_error(); /* the call, run as usual, says what is wrong */
        return false;
    } else if (how == JOIN_NORM &&
               (nd != in->ndim || memcmp(shape, in->shape, sizeof(int64_t) * (size_t)nd) != 0)) {
        return false; /* (a norm that changes the shape is no per-channel map) */
    }
    if (after && (*st = lam__tensor_ready(in)) != LAM_OK) {
        *out = NULL;
        return true; /* the error of the call it waited on */
    }
    lam_tensor *y;
    if (lam__tensor_create_uninit(&y, nd, shape) != LAM_OK) {
        lam_clear_error();
        return false;
    }
    if (!y->pool_entry || y->numel == 0) { /* the pool is full: run it now */
        lam_tensor_release(y);
        return false;
    }
    lam__pending p;
    memset(&p, 0, sizeof p);
    p.run = pending_run;
    p.drop = pending_drop;
    p.join = pending_join;
    if (ip && !after) {
        p = record_copy(ip);
    } else {
        p.src = in;
        p.whole = !lam__runs_rows(m);
        if (after) { /* a pool tensor, computed: it must live until m runs */
            lam_tensor_retain((lam_tensor *)in);
            p.own_src = true;
        }
    }
    if (how == JOIN_ACT) {
        p.act[p.n - 1] = (int)act;
        p.alpha[p.n - 1] = alpha;
    } else if (how == JOIN_NORM) {
        p.norm = lam_module_retain(m);
    } else {
        p.m[p.n] = lam_module_retain(m);
        p.act[p.n] = LAM_ACTIVATION_IDENTITY;
        p.alpha[p.n] = 0.0f;
        p.n++;
    }
    y->pend = p;
    lam__fpool_mark_pending();
    *out = y;
    *st = LAM_OK;
    return true;
}
