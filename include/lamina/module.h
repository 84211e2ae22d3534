/* lamina — modules: the C form of torch.nn.Module.
 *
 * A module is a reference-counted object with a type name ("Linear"),
 * parameters, named children and a forward.  A module may be held in several
 * places at once (PyTorch allows it): parameters() deduplicates shared tensors,
 * state_dict() lists every path.
 *
 * Ownership rules:
 *  - every lam_*_create function returns a NEW reference (release it with
 *    lam_module_release when you no longer need it);
 *  - adding a module to a container or as a child TAKES ITS OWN reference: the
 *    caller keeps (and still releases) its own;
 *  - getters (lam_module_child, lam_container_get, ...) return BORROWED
 *    references, valid while the parent holds the child.
 *
 * Threads: a module may be run from several threads at once
 * (lam_module_forward, lam_module_forward_args, and lam_plan_run on separate
 * plans): each call gets its own plan and activations, and shared state (the
 * Linear layers' packed weights, the plans cached in a module, the dropout
 * generator) is behind locks.  Functions that only read a module (lookups,
 * repr, output_shape, named_modules, named_parameters, state_dict,
 * is_training) may run alongside those forwards.  Changing a module
 * (lam_module_add_child, register_parameter, the container operations,
 * load_state_dict, train/eval, writing a parameter's data) needs that no
 * other thread uses it, or a tree that holds it, at the same time (train,
 * eval and load_state_dict change every module below m too); forwards that
 * start afterwards see the change.  Models that share no module may be
 * built and changed on different threads at once.  retain and release are
 * atomic, as for tensors.  A state dict follows the rules of a
 * tensor: readers in parallel, lam_state_dict_set alone; its tensors are the
 * module's own, so writing them changes the module. */
#ifndef LAMINA_MODULE_H
#define LAMINA_MODULE_H

#include "common.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_module lam_module;
typedef struct lam_state_dict lam_state_dict;

LAM_API lam_module *lam_module_retain(lam_module *m);
LAM_API void lam_module_release(lam_module *m);

/* "Linear", "Sequential", or a custom module's type name ("(null)" for NULL). */
LAM_API const char *lam_module_type_name(const lam_module *m);

/* Run the module: *output receives a new tensor (release it).  On failure
 * *output is NULL, the input is untouched and lam_last_error() names the
 * module path, its type and the shapes involved:
 *   "Sequential[2].layers[0] Linear(in_features=16): input has 32 features,
 *    expected 16 (input shape [1, 32]) (in GatedBlock at Sequential[2])"
 * The path runs from the outermost module called on this thread (its type
 * first) to the failing one; the trailing note names the modules with a
 * forward of their own (custom modules, plugin containers) that the path
 * goes through, as the path alone does not show their types. */
LAM_API lam_status lam_module_forward(lam_module *m, const lam_tensor *input, lam_tensor **output);
/* The same with a per-call argument for custom modules (the C form of
 * forward(x, condition)); built-in layers and containers ignore it. */
LAM_API lam_status lam_module_forward_args(lam_module *m, const lam_tensor *input, void *args,
                                           lam_tensor **output);
/* Run the module into `output`, a tensor the caller made (or wrapped) with
 * the output shape: nothing is allocated for the result.  A layer computes
 * into it directly, a Sequential or a custom module that a plan can run
 * through its cached plan; any other forward's result is copied into it.
 * LAM_ERR_SHAPE when output does not have the output shape,
 * LAM_ERR_INVALID_ARGUMENT when it shares memory with the input; on any
 * failure output's contents are unspecified.  The output is borrowed: the
 * caller keeps its reference.  Errors name the module path as forward's. */
LAM_API lam_status lam_module_forward_into(lam_module *m, const lam_tensor *input,
                                           lam_tensor *output);
/* The same with a per-call argument (see lam_module_forward_args). */
LAM_API lam_status lam_module_forward_args_into(lam_module *m, const lam_tensor *input, void *args,
                                                lam_tensor *output);

/* ---- several inputs and outputs: forward(*inputs) and tuples ----
 *
 * PyTorch modules may take several tensors (forward(query, key, value,
 * mask=None)) and return tuples ((output, weights), LSTM's (output, (h, c))).
 * A lam_tuple is an ordered list of values, each a tensor, None or a nested
 * tuple; the positional arguments of a forward are one, and so is a result
 * that is a tuple.  Tuples are reference-counted like tensors: create and
 * retain give a reference, release drops one; a tuple holds references to
 * its tensors and nested tuples.  Set the items before handing a tuple to a
 * forward; the forward only reads it.
 *
 * lam_module_forward_multi(m, inputs, args, &y, &ys) calls forward(*inputs)
 * and gives what it returned: a tensor in *y (*ys NULL), a tuple in *ys (*y
 * NULL), or None (both NULL); release what you get.  A module that takes one
 * tensor (every built-in layer) takes a tuple of exactly one tensor: else
 * LAM_ERR_TYPE with PyTorch's TypeError ("Linear.forward() takes 2
 * positional arguments but 3 were given", "linear(): argument 'input'
 * (position 1) must be Tensor, not tuple") and the module path.  A
 * Sequential passes what a child returns to the next child, as PyTorch
 * does: a tuple returned by one child is the single argument of the next
 * (so a layer after it fails as above), and Identity passes anything on.
 * Custom modules (lam_custom_set_forward_multi) and plugin containers
 * (lam_layer_type.forward_multi) may take and return several values.
 * lam_module_forward on a module that returns a tuple fails (LAM_ERR_TYPE)
 * and says to use this function. */
typedef struct lam_tuple lam_tuple;
/* A new tuple of n Nones. */
LAM_API lam_status lam_tuple_create(lam_tuple **out, size_t n);
LAM_API lam_tuple *lam_tuple_retain(lam_tuple *t);
/* Drop a reference; at zero the tuple releases its items (NULL: no-op). */
LAM_API void lam_tuple_release(lam_tuple *t);
/* Items; 0 for NULL (with a message). */
LAM_API size_t lam_tuple_len(const lam_tuple *t);
/* Item i when it is a tensor (borrowed), else NULL (None, a tuple, or i out
 * of range: see lam_tuple_is_none). */
LAM_API lam_tensor *lam_tuple_tensor(const lam_tuple *t, size_t i);
/* Item i when it is a tuple (borrowed), else NULL. */
LAM_API lam_tuple *lam_tuple_tuple(const lam_tuple *t, size_t i);
/* Is item i None?  (false for NULL t or i out of range, with a message) */
LAM_API bool lam_tuple_is_none(const lam_tuple *t, size_t i);
/* Set item i to a tensor or a tuple (the tuple takes a reference; NULL:
 * None).  LAM_ERR_INDEX for i out of range; setting a tuple into itself
 * (directly or through a nested one) is LAM_ERR_INVALID_ARGUMENT. */
LAM_API lam_status lam_tuple_set_tensor(lam_tuple *t, size_t i, lam_tensor *x);
LAM_API lam_status lam_tuple_set_tuple(lam_tuple *t, size_t i, lam_tuple *x);
/* forward(*inputs) (see above).  inputs may hold Nones and nested tuples;
 * args is the per-call argument as for lam_module_forward_args. */
LAM_API lam_status lam_module_forward_multi(lam_module *m, const lam_tuple *inputs, void *args,
                                            lam_tensor **output, lam_tuple **outputs);

/* The output shape for an input shape, without running the module.
 * out_shape must hold LAM_MAX_DIMS entries.  Custom modules without a shape
 * callback give LAM_ERR_NOT_IMPLEMENTED.  Errors name the module path as
 * lam_module_forward's do (children asked from a Sequential's, a custom
 * module's or a plugin container's shape inference included). */
LAM_API lam_status lam_module_output_shape(lam_module *m, int ndim, const int64_t *shape,
                                           int *out_ndim, int64_t *out_shape);

/* A forward hook for the calling thread (the C form of PyTorch's
 * register_module_forward_hook): after every module call on this thread
 * that succeeds -- lam_module_forward[_args], including each child a
 * container or a custom forward calls -- fn(m, input, output, user) is
 * called with the module and its input and output (borrowed, valid during
 * the call).  NULL removes it; one hook per thread, a new one replaces the
 * old.  While one is installed, Sequentials run child by child rather than
 * through a plan, so every child's call is seen (slower; meant for tools
 * such as `lamina summary`, which records the shapes it sees with one).
 * lam_plan_run runs a planned pipeline's layers without calls: only a
 * module with its own forward, and what it calls, is seen there.  Calls
 * made inside fn do not call fn. */
typedef void (*lam_forward_hook_fn)(lam_module *m, const lam_tensor *input,
                                    const lam_tensor *output, void *user);
LAM_API void lam_set_forward_hook(lam_forward_hook_fn fn, void *user);

/* PyTorch's repr(model), byte for byte.  Free with lam_free; NULL on OOM. */
LAM_API char *lam_module_repr(const lam_module *m);

/* ---- children (Module.add_module / named_children / get_submodule) ---- */

/* Register `child` under `name` (takes a reference).  Names follow PyTorch's
 * rules: non-empty, no '.'; an existing child of that name is replaced.
 * LAM_ERR_INVALID_ARGUMENT, changing nothing, when `child` is `parent` or
 * one of its ancestors (a cycle) or when some tree would get deeper than
 * LAM_MAX_MODULE_DEPTH modules (<lamina/container.h>).  Lookups by name are
 * O(1), so a module may have 100,000 children. */
LAM_API lam_status lam_module_add_child(lam_module *parent, const char *name, lam_module *child);
LAM_API size_t lam_module_num_children(const lam_module *m);
/* The i-th child (borrowed) and its name (borrowed; `name` may be NULL), in
 * registration order. */
LAM_API lam_module *lam_module_child_at(const lam_module *m, size_t i, const char **name);
/* The child called `name` (borrowed), or NULL. */
LAM_API lam_module *lam_module_child(const lam_module *m, const char *name);
/* A descendant by dotted path ("layers.0"); LAM_ERR_KEY with PyTorch's
 * "Sequential has no attribute `x`" when missing. Borrowed. */
LAM_API lam_status lam_module_get_submodule(lam_module *m, const char *path, lam_module **out);

/* named_modules(remove_duplicate): fn(path, module) for m ("" as its path)
 * and every descendant in pre-order ("0", "0.block", ...); with
 * remove_duplicate a module held in several places is visited once.
 * named_children() is the depth-1 part of it.  Stops at a non-OK status. */
typedef lam_status (*lam_named_module_fn)(const char *path, lam_module *m, void *user);
LAM_API lam_status lam_module_named_modules(lam_module *m, bool remove_duplicate,
                                            lam_named_module_fn fn, void *user);

/* ---- parameters and state_dict ---- */

/* register_parameter(name, t): a parameter of m itself (custom modules own
 * weights this way).  Takes a reference; replaces a parameter of that name;
 * PyTorch's name rules ("parameter name can't contain \".\"").  The next
 * forward, and plans made before, compute with the new tensor.  A parameter
 * the layer itself declares (a built-in's weight and bias, a plugin's
 * host->module_add_param) can only be replaced by a tensor of the same shape:
 * LAM_ERR_SHAPE, "Linear(in_features=64, out_features=64, bias=True): size
 * mismatch for bias: registering a param with shape torch.Size([1]), the
 * shape in current model is torch.Size([64]).".  A plugin layer's declared
 * parameters cannot be replaced at all (LAM_ERR_INVALID_ARGUMENT): the plugin
 * may keep the tensor (docs/plugins.md); copy new values into it instead. */
LAM_API lam_status lam_module_register_parameter(lam_module *m, const char *name, lam_tensor *t);

/* named_parameters(recurse=True, remove_duplicate=True) into a new dict:
 * keys as PyTorch builds them ("0.weight", "layers.2.bias"); shared tensors once. */
LAM_API lam_status lam_module_named_parameters(const lam_module *m, bool recurse,
                                               bool remove_duplicate, lam_state_dict **out);
/* sum(p.numel() for p in model.parameters()); -1 on failure (NULL m, no memory). */
LAM_API int64_t lam_module_num_parameters(const lam_module *m);
/* state_dict(): every path, shared tensors under each of their names.  The
 * dict holds references to the module's own tensors (not copies). */
LAM_API lam_status lam_module_state_dict(const lam_module *m, lam_state_dict **out);

/* What a non-strict load left out: keys in the module missing from the dict,
 * and keys in the dict the module does not have. */
typedef struct lam_incompatible_keys {
    char **missing_keys;
    size_t n_missing;
    char **unexpected_keys;
    size_t n_unexpected;
} lam_incompatible_keys;
LAM_API void lam_incompatible_keys_clear(lam_incompatible_keys *keys);

/* load_state_dict(sd, strict): copies values into the module's parameters.
 * Every missing key, unexpected key and size mismatch is reported together
 * in PyTorch's wording ("Error(s) in loading state_dict for Sequential:\n\t
 * Missing key(s) in state_dict: ..."); size mismatches fail even when not
 * strict.  On failure no parameter is changed.  `keys` may be NULL. */
LAM_API lam_status lam_module_load_state_dict(lam_module *m, const lam_state_dict *sd, bool strict,
                                              lam_incompatible_keys *keys);

/* ---- modes and traversal ---- */

/* train(mode) / eval(): sets the flag on m and every descendant.  Modules
 * start in training mode, as in PyTorch (Dropout is active until eval()). */
LAM_API void lam_module_train(lam_module *m, bool mode);
LAM_API void lam_module_eval(lam_module *m);
LAM_API bool lam_module_is_training(const lam_module *m);

/* apply(fn): fn on every descendant, children first, then m itself (each
 * module once).  Stops at the first non-OK status and returns it. */
typedef lam_status (*lam_module_visit_fn)(lam_module *m, void *user);
LAM_API lam_status lam_module_apply(lam_module *m, lam_module_visit_fn fn, void *user);

/* ---- state dicts: ordered name -> tensor maps ---- */

LAM_API lam_status lam_state_dict_create(lam_state_dict **out);
LAM_API void lam_state_dict_free(lam_state_dict *sd);
/* Insert or replace `key` (the dict takes a reference to t). */
LAM_API lam_status lam_state_dict_set(lam_state_dict *sd, const char *key, lam_tensor *t);
LAM_API size_t lam_state_dict_len(const lam_state_dict *sd);
LAM_API const char *lam_state_dict_key(const lam_state_dict *sd, size_t i);
LAM_API lam_tensor *lam_state_dict_tensor(const lam_state_dict *sd, size_t i);
/* Borrowed tensor for key, or NULL. */
LAM_API lam_tensor *lam_state_dict_get(const lam_state_dict *sd, const char *key);

/* ---- buffers (Module.register_buffer / named_buffers) ----
 *
 * A buffer is a tensor a module keeps that is not a parameter: BatchNorm's
 * running_mean, running_var and num_batches_tracked.  As in PyTorch,
 * parameters() (lam_module_named_parameters, lam_module_num_parameters,
 * `lamina summary`'s counts) leaves buffers out; state_dict() lists each
 * module's parameters, then its persistent buffers ("0.weight", "0.bias",
 * "0.running_mean", "0.running_var", "0.num_batches_tracked"), and
 * load_state_dict loads them; a non-persistent buffer is in neither (a key
 * naming one is unexpected).
 *
 * Integer buffers: num_batches_tracked is an int64 tensor, as in PyTorch
 * (read it with lam_tensor_cdata_i64), which load_state_dict fills from an
 * I64 or I32 safetensors entry and lam_safetensors_save writes back as I64
 * (shape [], as PyTorch's 0-dim tensor).  An int64 tensor loads only into an
 * int64 buffer (LAM_ERR_STATE_DICT, "dtype mismatch for 0.weight: ..."), a
 * bool one only into a bool tensor; a float tensor loads into an int64
 * buffer truncated toward zero, as PyTorch's copy_ does, when its values
 * are finite.  A state_dict without num_batches_tracked loads it
 * as 0 rather than reporting it missing, as PyTorch does for a state_dict
 * without version metadata (every one that lamina reads). */

/* register_buffer(name, t, persistent): takes a reference to t; replaces a
 * buffer of that name (a buffer a built-in layer declares only by a tensor
 * of the same shape: LAM_ERR_SHAPE).  LAM_ERR_KEY with PyTorch's messages
 * for a name with '.', an empty name, or the name of a parameter or child
 * ("attribute 'weight' already exists"); register_parameter refuses a
 * buffer's name likewise. */
LAM_API lam_status lam_module_register_buffer(lam_module *m, const char *name, lam_tensor *t,
                                              bool persistent);
/* named_buffers(recurse, remove_duplicate) into a new dict (persistent or
 * not; keys as state_dict's; with remove_duplicate a shared tensor once).
 * The dict holds references to the module's own tensors. */
LAM_API lam_status lam_module_named_buffers(const lam_module *m, bool recurse,
                                            bool remove_duplicate, lam_state_dict **out);

#ifdef __cplusplus
}
#endif
#endif
