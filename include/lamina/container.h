/* lamina — Sequential, ModuleList and custom modules.
 *
 * Sequential DEFINES forward: each child's output is the next child's input
 * (the call machinery — lam_module_forward — is the same for every module;
 * Sequential only supplies the forward behind it).
 *
 * ModuleList has no forward of its own; it holds modules for a custom
 * module's forward to walk.  Its children ARE registered with whatever module
 * holds it: a custom module with a ModuleList child "layers" lists their
 * parameters as "layers.0.weight", exactly as PyTorch does.  (Only a plain
 * Python list fails to register modules; there is no such thing here.)
 *
 * The list operations below work on both, with each one's PyTorch rules:
 * slicing a Sequential keeps its keys, slicing a ModuleList renumbers; delete,
 * pop and + renumber; set by index keeps the key.  Errors carry PyTorch's
 * messages ("index 5 is out of range", "Index out of range: -5", ...).
 *
 * Depth: a module tree is at most LAM_MAX_MODULE_DEPTH modules deep (the
 * outermost module and the innermost leaf included).  Every way of adding a
 * child (lam_module_add_child, the constructors and list operations below,
 * model files) refuses one that would make some tree deeper, with
 * LAM_ERR_INVALID_ARGUMENT and a message such as
 *   "cannot add Sequential (1000 levels deep) to Sequential: the module tree
 *    would be more than 1000 modules deep (LAM_MAX_MODULE_DEPTH)",
 * and leaves everything as it was; so forward, repr, state_dict and the
 * other walks over a tree never recurse deeper than that.  Since a module
 * may be shared, the check counts every place it sits in.  Adding a module
 * to itself or to one of its descendants (a cycle) is refused the same way.
 * (Model files have their own, lower nesting limit: docs/model-format.md.)
 *
 * Threads: the list operations change a container: the rules of
 * <lamina/module.h> apply (no other thread may use it, or a tree holding it,
 * meanwhile).  A custom module's forward and output_shape run on the thread
 * that runs the module (lamina does not hand them to its worker threads), but
 * when the application runs one module from several threads they run on each
 * of them at once: keep per-call data on the stack or in `args`, and guard
 * what `user` points to. */
#ifndef LAMINA_CONTAINER_H
#define LAMINA_CONTAINER_H

#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The deepest a module tree may be, in modules (see above). */
#define LAM_MAX_MODULE_DEPTH 1000

/* Sequential(*mods): keys "0", "1", ...  Takes a reference to each module. */
LAM_API lam_status lam_sequential_create(lam_module **out, size_t n, lam_module *const *mods);
/* Sequential(OrderedDict(names, mods)). */
LAM_API lam_status lam_sequential_create_named(lam_module **out, size_t n, const char *const *names,
                                               lam_module *const *mods);
/* ModuleList(mods). */
LAM_API lam_status lam_modulelist_create(lam_module **out, size_t n, lam_module *const *mods);

LAM_API bool lam_module_is_sequential(const lam_module *m);
LAM_API bool lam_module_is_modulelist(const lam_module *m);

/* Marks an absent slice bound (Python's None). */
#define LAM_NONE INT64_MIN

/* len(c) */
LAM_API size_t lam_container_len(const lam_module *c);
/* c[i] (negative i counts from the end); *out is borrowed. */
LAM_API lam_status lam_container_get(lam_module *c, int64_t i, lam_module **out);
/* c[i] = m (keeps the i-th key). */
LAM_API lam_status lam_container_set(lam_module *c, int64_t i, lam_module *m);
/* del c[i] */
LAM_API lam_status lam_container_delete(lam_module *c, int64_t i);
/* c[start:stop:step] as a new container of the same kind (new reference);
 * LAM_NONE for an absent bound; step 0 is an error. */
LAM_API lam_status lam_container_slice(lam_module *c, int64_t start, int64_t stop, int64_t step,
                                       lam_module **out);
/* del c[start:stop:step] */
LAM_API lam_status lam_container_delete_slice(lam_module *c, int64_t start, int64_t stop,
                                              int64_t step);
/* c.append(m) */
LAM_API lam_status lam_container_append(lam_module *c, lam_module *m);
/* c.extend(other): other must be a Sequential or ModuleList (an iterable). */
LAM_API lam_status lam_container_extend(lam_module *c, lam_module *other);
/* c.insert(i, m): Sequential validates -len <= i <= len; ModuleList clamps
 * like list.insert (documented difference: PyTorch's would fail or leave a hole). */
LAM_API lam_status lam_container_insert(lam_module *c, int64_t i, lam_module *m);
/* c.pop(i): *out receives a NEW reference to the removed module (may be NULL
 * to drop it). */
LAM_API lam_status lam_container_pop(lam_module *c, int64_t i, lam_module **out);
/* a + b as a new container (keys renumbered). Sequential + non-Sequential is
 * PyTorch's ValueError; ModuleList accepts any container. */
LAM_API lam_status lam_container_concat(lam_module *a, lam_module *b, lam_module **out);
/* a += b */
LAM_API lam_status lam_container_iadd(lam_module *a, lam_module *b);
/* a * k (Sequential only): the same modules repeated, shared not copied. */
LAM_API lam_status lam_container_repeat(lam_module *a, int64_t k, lam_module **out);
/* a *= k */
LAM_API lam_status lam_container_irepeat(lam_module *a, int64_t k);

/* ---- custom modules: the C form of subclassing nn.Module ---- */

/* A custom forward.  Call children through lam_module_forward /
 * lam_module_forward_args like any user; return a new tensor in *output. */
typedef lam_status (*lam_forward_fn)(lam_module *self, const lam_tensor *input, void *args,
                                     lam_tensor **output);
/* Optional shape inference for a custom module (used by plans and summaries). */
typedef lam_status (*lam_shape_fn)(lam_module *self, int ndim, const int64_t *shape, int *out_ndim,
                                   int64_t *out_shape);

typedef struct lam_custom_spec {
    const char *type_name;      /* printed in repr and error paths: "ConditionalModel" */
    lam_forward_fn forward;     /* required */
    lam_shape_fn output_shape;  /* optional */
    void *user;                 /* your state, reachable with lam_module_user() */
    void (*user_free)(void *user); /* called once when the module is freed; optional */
} lam_custom_spec;

/* A new custom module with no children yet: add them with lam_module_add_child
 * (typically a ModuleList under "layers").
 *
 * How custom forwards run: lam_module_forward on a custom module with an
 * output_shape callback (and no per-call argument) runs it through a plan
 * cached in the module, as a Sequential.  While a plan runs a custom
 * forward, every tensor made on that thread (the outputs of the children it
 * calls, of the tensor ops, of lam_tensor_create) comes from a pool the plan
 * keeps per thread, and releasing it gives it back: after the first forward
 * of a shape none of them is allocated.  A tensor kept beyond the forward
 * stays valid (it is simply not reused; released after the plan is gone, it
 * is freed).  Without output_shape, or with per-call arguments,
 * lam_module_forward calls the forward directly.
 *
 * Inside such a plan, layer calls that can run as one kernel wait for each
 * other: a Linear on the forward's input, an activation on its result and a
 * second Linear the first can run with (the Sequential's fused kernels)
 * return at once, and are computed when anything needs their values: any
 * other call or op, reading the data, changing a module, or the end of the
 * forward.  The bits are those of the calls made one by one.  Not seen: a
 * write, through a data pointer taken before the call, into the parameters
 * of a layer whose result is not used yet (docs/plugins.md). */
LAM_API lam_status lam_custom_create(lam_module **out, const lam_custom_spec *spec);

/* lam_custom_set_flags: the forward treats the rows of dim 0 independently
 * (row i of the output depends only on row i of the input, and the forward
 * accepts any number of rows), so a plan may cut the batch into row blocks
 * and run the forward on each, on several threads, as it does a Sequential
 * of layers.  Its children then run serially inside each block.  With a
 * per-call argument (lam_module_forward_args, lam_plan_run_args) the
 * forward always sees the whole batch: the argument may describe rows. */
#define LAM_CUSTOM_ROWWISE 0x1u
/* Set a custom module's LAM_CUSTOM_* flags (replacing them).  Existing plans
 * of any model become stale (lam_plan_run refuses them; forwards re-plan).
 * LAM_ERR_INVALID_ARGUMENT for a module that is not custom or unknown
 * flags. */
LAM_API lam_status lam_custom_set_flags(lam_module *m, unsigned flags);
/* A custom module's flags (0 for other modules). */
LAM_API unsigned lam_custom_flags(const lam_module *m);
/* A custom forward with several inputs and outputs (forward(*inputs)): it
 * reads the positional arguments from `inputs` and returns a tensor in
 * *output, a tuple in *outputs, or None (neither), as described at
 * lam_module_forward_multi in <lamina/module.h>. */
typedef lam_status (*lam_forward_multi_fn)(lam_module *self, const lam_tuple *inputs, void *args,
                                           lam_tensor **output, lam_tuple **outputs);
/* Give a custom module a forward with several inputs and outputs (NULL:
 * none).  lam_module_forward_multi then calls it; lam_module_forward still
 * calls the spec's single-tensor forward.  LAM_ERR_INVALID_ARGUMENT for a
 * module that is not custom. */
LAM_API lam_status lam_custom_set_forward_multi(lam_module *m, lam_forward_multi_fn fn);
/* The user pointer of a custom module (NULL for other modules). */
LAM_API void *lam_module_user(const lam_module *m);

#ifdef __cplusplus
}
#endif
#endif
