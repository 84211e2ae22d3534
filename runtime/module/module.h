/* runtime/module — refcounted modules and the operations a type gives them
 * (lam__module_ops: forward, shapes, repr and the capabilities the executor
 * asks), children with hashed names, parent links, the depth limit and
 * structure versions (module.c, tree.c), parameters and state_dicts
 * (params.c, state_dict.c), and repr (repr.c).  Uses core and tensor; the
 * kernel table's epilogue type comes from simd/. */
#ifndef LAMINA_RUNTIME_MODULE_MODULE_H
#define LAMINA_RUNTIME_MODULE_MODULE_H

#include "runtime/tensor/tensor.h"
#include "simd/kernels.h"

/* ---- modules ---- */
enum {
    LAM__KIND_LEAF = 0,
    LAM__KIND_SEQUENTIAL,
    LAM__KIND_MODULELIST,
    LAM__KIND_CUSTOM,
};

/* The layer-type descriptor built-in layers register through. */
typedef struct lam__module_ops {
    const char *type_name;   /* "Linear" */
    const char *py_module;   /* "torch.nn.modules.linear", for "<class '...'>" texts */
    int kind;
    /* output shape for an input shape, or LAM_ERR_SHAPE with a message */
    lam_status (*output_shape)(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                               int64_t *out);
    /* compute into a preallocated output of the inferred shape */
    lam_status (*forward_into)(lam_module *m, const lam_tensor *in, lam_tensor *out);
    /* or produce the output itself (containers, custom modules) */
    lam_status (*forward)(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out);
    /* PyTorch's extra_repr(): snprintf-like, returns the length */
    int (*extra_repr)(const lam_module *m, char *buf, size_t size);
    void (*destroy)(lam_module *m);
    /* true when forward treats the rows of dim 0 independently for an input
     * of this rank (so a batch may be split across threads); NULL = never */
    bool (*rowwise)(const lam_module *m, int ndim);

    /* ---- capabilities: what the executor may do with a layer.  Plans ask
     * these, never a type's name, so built-in and plugin layers are planned
     * and fused by the same rules.  NULL = the layer cannot. ---- */
    /* "Runs rows with a fused epilogue": x holds `rows` vectors of the
     * input's last dimension, y `rows` vectors of the output's last
     * dimension; computes output columns [n_begin, n_end) and applies `ep`
     * to them.  The executor then fuses a following activation into `ep` and
     * may split the columns (or the rows) across threads.  ep.add (the
     * residual addend, simd/kernels.h) only Linear's takes; the others
     * refuse it with an error, never drop it. */
    lam_status (*run_rows)(lam_module *m, const float *x, int64_t rows, float *y,
                           lam__epilogue ep, size_t n_begin, size_t n_end);
    /* "Is an elementwise activation that its producer's epilogue can
     * compute": the activation and its alpha, or LAM_ACTIVATION_IDENTITY. */
    lam_activation (*epilogue_act)(const lam_module *m, float *alpha);
    /* Floating-point operations of one forward for this input shape (the
     * executor's estimate for choosing threads); NULL: 10 per output element. */
    double (*flops)(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                    const int64_t *out);
    /* This layer's run_rows then `next`'s as one kernel (the intermediate
     * kept in registers), with the same bits as the two calls: can_pair
     * says whether it can for this pair, run_pair runs it. */
    bool (*can_pair)(const lam_module *m, const lam_module *next);
    lam_status (*run_pair)(lam_module *m, lam__epilogue ep, lam_module *next, lam__epilogue next_ep,
                           const float *x, int64_t rows, float *y);

    /* PyTorch's _load_from_state_dict overrides (InstanceNorm refusing
     * running statistics from before 0.4.0).  load_state_dict calls
     * load_error at m's visit, with m's key prefix ("2."): it may write one
     * error into `err`, which fails the load, strict or not, in PyTorch's
     * order; load_claims says which of the keys naming nothing of m it
     * took (they are then not reported unexpected).  NULL: none. */
    void (*load_error)(const lam_module *m, const lam_state_dict *sd, const char *prefix,
                       lam__sb *err);
    bool (*load_claims)(const lam_module *m, const char *name);
    /* "Forwards with a fused epilogue": forward_into, then `ep` applied to
     * every output element, in one pass (a convolution's GEMM epilogue),
     * with the same bits as the activation run after it.  The executor
     * then joins a following activation to the layer, as it does for
     * run_rows.  ep.add, when not NULL, is a residual laid out as the
     * output (contiguous, its own memory): y = act(forward(x) + add), the
     * bits of the forward, then the add op, then the activation (torch's
     * relu(out + identity)); ep.ldadd is not read.  (A Linear's run_rows
     * adds it after the activation instead.) */
    lam_status (*forward_ep)(lam_module *m, const lam_tensor *in, lam_tensor *out,
                             lam__epilogue ep);
    /* "Is a per-channel affine map now" (an eval-mode BatchNorm): for an
     * input of this shape, y = x * scale[c] + shift[c], c the element's
     * index along dim `axis`.  Returns the axis and, when scale and shift
     * are not NULL, fills in[axis] entries of each (in double, from the
     * parameters and buffers as they are now); -1 when it is not (training
     * mode, batch statistics, a rank it does not treat so). */
    int (*channel_affine)(const lam_module *m, int ndim, const int64_t *in, double *scale,
                          double *shift);
    /* "Can absorb a per-output-channel scale and shift": for an output of
     * this shape, the dim whose index picks the weights and the bias that
     * made an element (1 for a convolution, the last for a Linear), or -1.
     * fold_affine then makes (*folded NULL) or updates (*folded made by it
     * before, for the same shapes) a module of its own kind computing
     * m(x) * scale[c] + shift[c], c along that dim, from m's parameters as
     * they are now: weights times scale, bias * scale + shift, in double,
     * rounded once.  A plan runs *folded in m's place (its capabilities are
     * m's) and refolds when either module's parameters change. */
    int (*affine_axis)(const lam_module *m, int out_ndim, const int64_t *out);
    lam_status (*fold_affine)(const lam_module *m, const double *scale, const double *shift,
                              lam_module **folded);
    /* The element types a layer's forward takes, as bits 1 << lam_dtype
     * (Embedding: 1 << LAM_INT64).  0: float32 only; the call machinery
     * refuses any other input (LAM_ERR_TYPE with the module path), so a
     * layer's forward never sees a type it does not declare.  Plans run
     * float32 inputs only. */
    unsigned in_dtypes;
    /* forward(*inputs) with several values in and out (containers, custom
     * modules, plugin containers that declare it): reads the positional
     * arguments from `in`, sets *out (a tensor, a tuple or None; zeroed by
     * the caller).  NULL: the module takes exactly one tensor and returns
     * one (forward / forward_into). */
    lam_status (*forward_multi)(lam_module *m, const lam_tuple *in, void *args, lam__val *out);
    /* PyTorch's module(x) does not give one tensor for one tensor: it
     * returns a tuple (RNN, LSTM, GRU) or needs more arguments
     * (MultiheadAttention); forward_into is lamina's convenience (the
     * output alone, self-attention).  A Sequential holding such a layer
     * passes PyTorch's values from child to child (forward_multi), never
     * planned, so Sequential(LSTM, Linear) fails as PyTorch's does. */
    bool tuple_result;
    /* forward_into makes scratch tensors (lam_tensor_create and friends)
     * that it releases before returning: a plan runs it with its forward
     * pool entered (runtime/tensor/fpool.c), so that from the second run on
     * the scratch comes from the pool and the run allocates nothing. */
    bool pooled_scratch;
    /* "Computes each sample alone, and splits its own work across threads"
     * (a convolution: sample x group x pixel tasks): for an input of this
     * rank, forward_into (forward_ep) on rows [r0, r1) of dim 0 gives rows
     * [r0, r1) of the whole input's output, bit for bit.  Unlike `rowwise`
     * it does not ask the executor to split it across threads; a plan may
     * run it on blocks of samples, one block at a time with all the
     * threads, and the plane-wise layers after it on each block while the
     * block is in cache.  NULL = no. */
    bool (*sample_blocks)(const lam_module *m, int ndim);
    /* "Maps each (sample, channel) plane alone" (a pool, an elementwise
     * activation): for an input of this rank (>= 2), output[i, j] depends
     * on input[i, j] only, by the same map for every i and j, and dims 0
     * and 1 pass through; so a plan may run it on any block of samples
     * and channels (a view [n', c', ...] into the tensor), on any thread,
     * with the same bits.  NULL = no. */
    bool (*planewise)(const lam_module *m, int ndim);
    /* What the layer fuses inside its own forward, for lam_plan_describe
     * ("residual adds in the GEMM epilogues"): writes it to buf (snprintf's
     * contract) and returns its length, 0 for nothing.  NULL = nothing. */
    int (*plan_note)(const lam_module *m, char *buf, size_t size);
} lam__module_ops;

/* Does m's forward take an input of this element type? */
static inline bool lam__module_takes(const lam_module *m, int dtype);

/* What exec/ caches in a module (the plans of lam_module_forward): it is
 * freed with the module through its own `free`, so module/ never calls
 * into exec/. */
typedef struct lam__module_cache {
    void (*free)(struct lam__module_cache *c);
} lam__module_cache;

typedef struct lam__named_module {
    char *name;
    lam_module *module;
} lam__named_module;

typedef struct lam__param {
    char *name;
    lam_tensor *tensor;
    bool declared; /* declared by the layer, which reads it with this shape:
                      a replacement must have the same shape */
    bool kept;     /* declared by a plugin, which may keep the tensor (the host
                      table promises it lives as long as the module) */
    /* A buffer (PyTorch's register_buffer): in state_dict when persistent,
     * never in parameters().  Parameters and buffers share one list (and one
     * name space, as attributes do in PyTorch); state_dict lists a module's
     * parameters, then its persistent buffers, each in registration order. */
    bool buffer, persistent;
    bool zero_if_missing; /* num_batches_tracked: a state_dict without it loads
                             it as 0 (_NormBase._load_from_state_dict) */
} lam__param;

struct lam_module {
    const lam__module_ops *ops;
    const char *type_name;  /* overrides ops->type_name (custom modules) */
    int refcount;
    bool training;
    lam__named_module *children;
    size_t n_children, cap_children;
    lam__param *params;
    size_t n_params;
    /* tree.c: an index of the child and parameter names (NULL while there
     * are few), the modules holding this one (with counts; NULL when none)
     * and the levels of modules below it (0: no children).  Changed under
     * lam__tree_lock. */
    lam__strmap *names;
    lam__ptrmap *parents;
    int below;
    void *state;
    lam__module_cache *plans; /* plans for lam_module_forward (exec/), made lazily */
    /* norms folded into this layer for the deferred calls of custom forwards
     * (exec/lazy.c), made lazily */
    lam__module_cache *folds;
    unsigned params_version; /* moves when a parameter of m is registered or replaced */
    /* Structure versions (runtime/module.c): `version` moves when m's own
     * children or mode change; `tree_version` when m's or any descendant's
     * do (a change is stamped upward through `parents`, so a plan of m
     * checks this one number); stamped under lam__tree_lock. */
    unsigned version, tree_version;
};

/* m's children or mode changed: moves its version and its and every
 * ancestor's tree_version. */
void lam__module_touch(lam_module *m);
/* Relaxed: a change made on another thread is seen once that thread's work
 * is ordered before this one (changing a model while it runs is a race). */
static inline unsigned lam__module_version(const lam_module *m)
{
    return __atomic_load_n(&m->version, __ATOMIC_RELAXED);
}
static inline unsigned lam__module_tree_version(const lam_module *m)
{
    return __atomic_load_n(&m->tree_version, __ATOMIC_RELAXED);
}

lam_status lam__module_new(lam_module **out, const lam__module_ops *ops, void *state);

static inline bool lam__module_takes(const lam_module *m, int dtype)
{
    unsigned mask = m->ops->in_dtypes ? m->ops->in_dtypes : 1u << LAM_FLOAT32;
    return (mask >> dtype) & 1u;
}
/* Register a parameter the layer declares (takes the reference). */
lam_status lam__module_add_param(lam_module *m, const char *name, lam_tensor *t);
/* Register a buffer the layer declares (takes the reference); persistent
 * ones are in state_dict. */
lam_status lam__module_add_buffer(lam_module *m, const char *name, lam_tensor *t, bool persistent);
/* Insert a child at position pos (0..n) under `name` (takes a reference). */
lam_status lam__children_insert(lam_module *m, size_t pos, const char *name, lam_module *child);
/* Remove the child at pos, dropping its reference. */
void lam__children_remove(lam_module *m, size_t pos);
/* Rename children "0".."n-1" in order. */
lam_status lam__children_renumber(lam_module *m);
/* The position of the child / parameter called name[0..len), or -1. */
ptrdiff_t lam__module_child_pos(const lam_module *m, const char *name, size_t len);
ptrdiff_t lam__module_param_pos(const lam_module *m, const char *name, size_t len);

/* ---- the module tree (tree.c) ---- */
/* One lock for every change to children, parents and depths. */
void lam__tree_lock(void);
void lam__tree_unlock(void);
/* Under the lock, before `child` joins `parent`'s children: refuses a cycle
 * and a tree deeper than LAM_MAX_MODULE_DEPTH, then records parent as a
 * holder of child and the new depths.  Nothing changes on failure. */
lam_status lam__tree_attach(lam_module *parent, lam_module *child);
/* Under the lock, after one slot holding `child` left `parent`'s children. */
void lam__tree_detach(lam_module *parent, lam_module *child);
/* Under the lock: after a child was added at pos / after any other change
 * of parent's child or parameter list.  Never fails (the index is only a
 * cache: without it lookups scan). */
void lam__names_added(lam_module *m, size_t child_pos);
void lam__names_param_added(lam_module *m);
void lam__names_rebuild(lam_module *m);
/* When m is freed: it no longer holds its children. */
void lam__tree_forget(lam_module *m);

/* "<class 'torch.nn.modules.container.Sequential'>" */
void lam__py_class(const lam_module *m, char *buf, size_t size);

/* Where inside a failing module the current error arose, for modules that
 * run descendants without the call machinery (a TransformerEncoder's
 * layers, the attention inside a layer): lam__error_within(d), called after
 * the error was set, puts descendant d in front of the chain the current
 * error has (or starts one when the error is new); exec/'s error paths
 * extend the failing module's path by it ("TransformerEncoder.layers[3]
 * .self_attn ...").  Thread-local, no allocation; d may be NULL (ignored).
 * lam__error_within_take copies the chain (outermost first, at most max)
 * when it belongs to the current error, drops it, and returns its length. */
#define LAM__WITHIN_MAX 8
void lam__error_within(lam_module *d);
int lam__error_within_take(lam_module **chain, int max);

#endif
