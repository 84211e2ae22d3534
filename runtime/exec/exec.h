/* runtime/exec — how modules run: the call machinery every forward and
 * shape query goes through, with its error paths and the forward hook
 * (forward.c), plans — fusion by capability, thread strategies, buffers
 * (plan.c, plan.h) — and the plans cached in a module for
 * lam_module_forward (plan_cache.c).  Uses core, tensor, module, layers
 * (capabilities) and ops. */
#ifndef LAMINA_RUNTIME_EXEC_EXEC_H
#define LAMINA_RUNTIME_EXEC_EXEC_H

#include "runtime/module/module.h"

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
/* forward(*in) through the call machinery: m's forward_multi, or its
 * single-tensor forward when `in` is one tensor (PyTorch's TypeError
 * otherwise); *out is set (a tensor, a tuple or None) on success. */
lam_status lam__call_forward_multi(lam_module *m, size_t index, const lam_tuple *in, void *args,
                                   lam__val *out);
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

#endif
