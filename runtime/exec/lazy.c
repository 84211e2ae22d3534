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
 *     it as one kernel (lam__can_pair, the plan's rule): both, as one.
 *
 * Everything else makes the deferred calls happen first: any call that is
 * not one of those, every public function that reads or writes a tensor's
 * data or changes a module (LAM__SYNC, runtime/tensor/tensor.h), a forward
 * hook, and the end of the plan step.  A pending tensor released unread is
 * never computed.  The arithmetic is the plan's (run_rows with the
 * epilogue, run_pair), which gives the same bits as the calls one by one:
 * deferring changes when, never what, is computed.
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

static void pending_drop(lam_tensor *t)
{
    lam__pending p = t->pend;
    t->pend.run = NULL;
    for (int i = 0; i < p.n; i++)
        lam_module_release(p.m[i]);
}

static lam_status pending_run(lam_tensor *t)
{
    lam__pending p = t->pend;
    t->pend.run = NULL;
    lam_module *m0 = p.m[0], *m1 = p.n > 1 ? p.m[1] : NULL;
    lam__epilogue e0 = {(lam_activation)p.act[0], p.alpha[0]};
    lam__epilogue e1 = {(lam_activation)p.act[1], p.alpha[1]};
    int64_t vectors = vectors_of(p.src);
    lam_status st;
    if (m1)
        st = m0->ops->run_pair(m0, e0, m1, e1, p.src->data, vectors, t->data);
    else
        st = m0->ops->run_rows(m0, p.src->data, vectors, t->data, e0, 0,
                               (size_t)t->shape[t->ndim - 1]);
    if (st) /* a reader must not see stale memory */
        for (int64_t i = 0; i < t->numel; i++)
            t->data[i] = NAN;
    for (int i = 0; i < p.n; i++)
        lam_module_release(p.m[i]);
    return st;
}

bool lam__defer(lam_module *m, const lam_tensor *in, lam_tensor **out, lam_status *st)
{
    if (in->numel == 0 || in->ndim < 1 || in->dtype != LAM_FLOAT32)
        return false;
    const lam__pending *ip = in->pend.run ? &in->pend : NULL;
    lam_activation act = LAM_ACTIVATION_IDENTITY;
    float alpha = 0.0f;
    bool join = false;
    if (ip) {
        if (ip->act[ip->n - 1] == LAM_ACTIVATION_IDENTITY &&
            (act = lam__epilogue_act(m, &alpha)) != LAM_ACTIVATION_IDENTITY)
            join = true;
        else if (!(ip->n == 1 && lam__runs_rows(m) && lam__rowwise(m, in->ndim) &&
                   vectors_of(in) >= 8 && lam__can_pair(ip->m[0], m)))
            return false; /* (else: the two layers as one kernel) */
    } else if (!(in->lazy_src && lam__runs_rows(m) && lam__rowwise(m, in->ndim))) {
        return false;
    }
    int nd = in->ndim;
    int64_t shape[LAM_MAX_DIMS];
    if (join) {
        memcpy(shape, in->shape, sizeof(int64_t) * (size_t)nd);
    } else if (m->ops->output_shape(m, in->ndim, in->shape, &nd, shape) != LAM_OK) {
        lam_clear_error(); /* the call, run as usual, says what is wrong */
        return false;
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
    if (ip) {
        p = *ip;
        for (int i = 0; i < p.n; i++)
            lam_module_retain(p.m[i]);
    } else {
        p.src = in;
    }
    if (join) {
        p.act[p.n - 1] = (int)act;
        p.alpha[p.n - 1] = alpha;
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
