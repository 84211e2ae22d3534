/* Internal side of plans (runtime/plan.c). */
#ifndef LAMINA_RUNTIME_PLAN_H
#define LAMINA_RUNTIME_PLAN_H

#include "runtime/internal.h"
#include "lamina/plan.h"

/* Build a plan; retain = take a reference to m (public plans) or not
 * (plans cached inside m itself). */
lam_status lam__plan_build(lam_plan **out, lam_module *m, int ndim, const int64_t *shape,
                           bool retain);
void lam__plan_destroy(lam_plan *p);
lam_status lam__plan_exec(lam_plan *p, const lam_tensor *in, void *args, lam_tensor *out);
bool lam__plan_matches(const lam_plan *p, int ndim, const int64_t *shape, int threads);
bool lam__plan_is_generic(const lam_plan *p);
void lam__plan_set_in_use(lam_plan *p, bool v);
bool lam__plan_in_use(const lam_plan *p);
void lam__plan_shape(const lam_plan *p, int *ndim, int64_t *shape);
/* Run one layer (forward_into), splitting big work across threads. */
lam_status lam__leaf_run(lam_module *m, const lam_tensor *in, lam_tensor *out);
/* Any change of structure or mode anywhere makes existing plans stale. */
void lam__plan_invalidate_all(void);

/* Plans cached in a module for lam_module_forward (runtime/plan_cache.c). */
typedef struct lam__plan_cache lam__plan_cache;
void lam__plan_cache_free(lam__plan_cache *c);
/* Forward m through a cached plan; LAM_ERR_NOT_IMPLEMENTED when m cannot be
 * planned (the caller then runs its children one by one). */
lam_status lam__forward_planned(lam_module *m, const lam_tensor *in, lam_tensor **out);
/* The same for a module with its own forward (a custom module, a plugin
 * container) called with no per-call arguments outside any plan: *ran says
 * whether a plan ran it (false: m cannot be planned for this input, and
 * the caller runs its forward itself).  Into `into` when not NULL (shape
 * checked by the caller), else a new tensor in *out. */
lam_status lam__forward_planned_custom(lam_module *m, const lam_tensor *in, lam_tensor **out,
                                       lam_tensor *into, bool *ran);
/* A plan's custom step: m's forward through the call machinery (its error
 * path included), once only when m is already the module being called on
 * this thread (runtime/forward.c). */
lam_status lam__forward_step(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out);

#endif
