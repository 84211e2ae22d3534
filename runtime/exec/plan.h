/* Internal side of plans (runtime/exec/plan.c) and of the plans cached in
 * a module (plan_cache.c).  Part of runtime/exec (exec.h). */
#ifndef LAMINA_RUNTIME_EXEC_PLAN_H
#define LAMINA_RUNTIME_EXEC_PLAN_H

#include "runtime/exec/exec.h"
#include "lamina/plan.h"

/* A plan holds while its root's tree_version is the one it was made with
 * (module/module.h: any change of children or mode below the root moves it).
 * For messages, a plan also records the modules it reached, in pre-order
 * (each module's parent before it, `parent` its index), with their own
 * versions: a step's path, and which module changed.  Checked in order and
 * stopping at the first change, that never reads a freed module: a
 * module's parent comes first, and a parent's version moves before it
 * drops a child (runtime/module/module.c). */
typedef struct lam__dep {
    lam_module *m;
    unsigned version;
    int parent; /* index in the list; -1 for the root */
    size_t index; /* m's position among its parent's children (LAM__NO_INDEX: root) */
} lam__dep;
typedef struct lam__deps {
    lam__dep *items;
    size_t n, cap;
} lam__deps;

/* Index of the first module whose version moved since it was recorded, or -1. */
static inline ptrdiff_t lam__deps_changed(const lam__deps *d)
{
    const lam__dep *items = d->items;
    for (size_t i = 0, n = d->n; i < n; i++)
        if (lam__module_version(items[i].m) != items[i].version)
            return (ptrdiff_t)i;
    return -1;
}

/* Build a plan; retain = take a reference to m (public plans) or not
 * (plans cached inside m itself).  A shape error names the failing module's
 * path, as a forward would (runtime/exec/forward.c, lam__error_locate). */
lam_status lam__plan_build(lam_plan **out, lam_module *m, int ndim, const int64_t *shape,
                           bool retain);
void lam__plan_destroy(lam_plan *p);
lam_status lam__plan_exec(lam_plan *p, const lam_tensor *in, void *args, lam_tensor *out);
bool lam__plan_matches(const lam_plan *p, int ndim, const int64_t *shape, int threads);
/* The root's tree_version when the plan was made, and whether it moved since. */
unsigned lam__plan_stamp(const lam_plan *p);
bool lam__plan_stale(const lam_plan *p);
bool lam__plan_is_generic(const lam_plan *p);
void lam__plan_set_in_use(lam_plan *p, bool v);
bool lam__plan_in_use(const lam_plan *p);
void lam__plan_shape(const lam_plan *p, int *ndim, int64_t *shape);
/* Run one layer (forward_into), splitting big work across threads. */
lam_status lam__leaf_run(lam_module *m, const lam_tensor *in, lam_tensor *out);
/* The same with an epilogue: run_rows' for a layer that runs rows, else
 * forward_ep (the layer must have it when ep is not the identity). */
lam_status lam__leaf_run_ep(lam_module *m, const lam_tensor *in, lam_tensor *out,
                            lam__epilogue ep);

/* A layer call inside a custom forward that a plan runs, deferred when it
 * can join the calls before or after it in one kernel (runtime/exec/lazy.c):
 * true with *out pending and *st = LAM_OK; false when m must run now. */
bool lam__defer(lam_module *m, const lam_tensor *in, lam_tensor **out, lam_status *st);

/* Plans cached in a module for lam_module_forward (runtime/exec/plan_cache.c). */
typedef struct lam__plan_cache lam__plan_cache;
/* Forward m through a cached plan.  When m cannot be planned, *unplannable
 * is set and nothing else happens (the caller runs its children one by one);
 * the cache remembers that until m's tree_version moves.
 * Errors are located (their message has the failing module's path). */
lam_status lam__forward_planned(lam_module *m, const lam_tensor *in, lam_tensor **out,
                                bool *unplannable);

/* The same for a module with its own forward (a custom module, a plugin
 * container) called with no per-call arguments outside any plan: *ran says
 * whether a plan ran it (false: m cannot be planned for this input, and
 * the caller runs its forward itself).  Into `into` when not NULL (shape
 * checked by the caller), else a new tensor in *out. */
lam_status lam__forward_planned_custom(lam_module *m, const lam_tensor *in, lam_tensor **out,
                                       lam_tensor *into, bool *ran);
/* A plan's custom step: m's forward through the call machinery (its error
 * path included), once only when m is already the module being called on
 * this thread (runtime/exec/forward.c). */
lam_status lam__forward_step(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out);

/* The output a plan offers a custom step's forward: while m's forward runs
 * on this thread (until the matching lam__forward_dest_end), `t` (the
 * plan's own buffer for the step's output, as a borrowed view) is what
 * lam__forward_dest(m, ...) hands out, once.  A forward that writes its
 * last result there (an elementwise op's output rule) saves the plan the
 * copy.  Nests: lam__forward_dest_end restores what `saved` holds. */
typedef struct lam__fwd_dest {
    const lam_module *m;
    lam_tensor *t;
} lam__fwd_dest;
lam__fwd_dest lam__forward_dest_begin(const lam_module *m, lam_tensor *t);
void lam__forward_dest_end(lam__fwd_dest saved);
/* t, when m's forward is being offered one of exactly this shape and has
 * not taken it yet; else NULL. */
lam_tensor *lam__forward_dest(const lam_module *m, int ndim, const int64_t *shape);

/* An error raised in chain[n-1], reached from chain[0] through chain[1..n-2]
 * without the call machinery (a planned run; index[i]: chain[i]'s position
 * among chain[i-1]'s children): prefix the message with the path a forward
 * would give it, once (runtime/exec/forward.c). */
void lam__error_locate(lam_module *const *chain, const size_t *index, int n, lam_status st);

#endif
