/* lamina — layer-type plugins: the ABI between the host and a plugin .so,
 * and the host-side API that loads plugins.
 *
 * A plugin is a shared object that exports ONE data symbol,
 *
 *     const lam_plugin_descriptor lamina_plugin = {...};   // LAM_PLUGIN_DEFINE(...)
 *
 * holding a magic number, the plugin ABI version it was built against, its
 * own size, its name/version/description/license and a register function.
 * The host checks magic, ABI and size before it reads anything else, then
 * calls register_types(host, reg); the plugin calls host->register_type(reg,
 * &type) once per layer type.  Everything a plugin needs from lamina
 * (tensors, errors, logging, parameters, children, the SIMD kernels) comes
 * through the host table `host`, so a plugin builds with only
 *
 *     cc -shared -fPIC $(pkg-config --cflags lamina) my_plugin.c -o my_plugin.so
 *
 * and never links against liblamina.  It must not call lam_* functions
 * directly; lamina's handles (lam_module, lam_tensor) are opaque to it.
 *
 * Versioning: LAM_PLUGIN_ABI_MAJOR changes when something becomes
 * incompatible (a field moves or changes meaning); LAM_PLUGIN_ABI_MINOR when
 * fields are APPENDED to a struct.  The host loads a plugin when the majors
 * are equal and the plugin's minor is not newer than the host's.  Every
 * struct starts with (or carries) its size, so the host reads only the
 * fields a plugin knows about; the host table is append-only.
 * See docs/plugins.md for the guide.
 *
 * Threads.  In a plugin: register_types runs with the plugin loader's lock
 * held, one call at a time.  Every other callback (create, output_shape,
 * forward_into, forward, ...) may be called from several threads at once,
 * lamina's worker threads included, for one module or for several: keep
 * per-call data on the stack or in the output, never in the module's state.
 * The host table's functions may be called from any thread.  On the host
 * side, the loading functions below may be called from any thread: they
 * share one lock (another thread waits while a plugin loads).  A lam_plugin
 * pointer and the strings it gives stay valid until lam_plugin_unload(plugin),
 * which no other thread may call while they are in use. */
#ifndef LAMINA_PLUGIN_H
#define LAMINA_PLUGIN_H

#include "common.h"
#include "activation.h"
#include "tensor.h"
#include "module.h"
#include "registry.h"
#include "kv_cache.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LAM_PLUGIN_MAGIC 0x4C4D5047u /* "LMPG" */
#define LAM_PLUGIN_ABI_MAJOR 1u
#define LAM_PLUGIN_ABI_MINOR 7u /* 1.1: host->ops, layer-type capabilities;
                                   1.2: host->module_forward_into;
                                   1.3: LAM_ARG_ANY, tuples written as lists,
                                   LAM_ARG_STRING_OK;
                                   1.4: channel_affine, affine_axis and
                                   fold_affine (BatchNorm folding);
                                   LAM_LAYER_SEQUENTIAL, bind, variants;
                                   tensor element types (host->tensor_dtype
                                   and the int64/bool tensor functions);
                                   several inputs and outputs (tuples,
                                   host->module_forward_multi,
                                   lam_layer_type.forward_multi);
                                   1.5: host->kv_cache (causal attention
                                   and the key/value cache) and
                                   host->module_register_parameter;
                                   1.6: host->attention_default_args and
                                   host->forward_output;
                                   1.7: LAM_LAYER_PLANEWISE,
                                   LAM_LAYER_SAMPLE_BLOCKS and
                                   lam_layer_type.capabilities (sample
                                   blocks); unknown flags are rejected */
/* The name of the exported descriptor symbol. */
#define LAM_PLUGIN_SYMBOL "lamina_plugin"

#if defined(__GNUC__)
#define LAM_PLUGIN_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LAM_PLUGIN_VISIBLE __attribute__((visibility("default")))
#else
#define LAM_PLUGIN_PRINTF(f, a)
#define LAM_PLUGIN_VISIBLE
#endif
#ifdef __cplusplus
#define LAM_PLUGIN_EXPORT extern "C" LAM_PLUGIN_VISIBLE
#else
#define LAM_PLUGIN_EXPORT LAM_PLUGIN_VISIBLE
#endif

typedef struct lam_host_api lam_host_api;
typedef struct lam_layer_type lam_layer_type;
/* The registration context handed to register_types (opaque). */
typedef struct lam_registry lam_registry;

/* ------------------------------------------------------------------------
 * Constructor arguments: each layer type declares its signature, and the
 * host checks calls against it (positional and keyword, Python types,
 * defaults, required arguments) before the type's create runs.
 * ---------------------------------------------------------------------- */

typedef enum lam_arg_type {
    LAM_ARG_BOOL = 1,   /* True/False */
    LAM_ARG_INT = 2,    /* an int (not a bool) */
    LAM_ARG_FLOAT = 3,  /* a float or an int; create sees .f, and .kind says
                           which the caller wrote (for a repr like beta=1) */
    LAM_ARG_STRING = 4, /* a str; `choices` may restrict it */
    LAM_ARG_SHAPE = 5,  /* an int or a tuple of ints; create always sees a
                           LAM_VALUE_TUPLE (8 -> (8,)), as normalized_shape */
    LAM_ARG_ANY = 6,    /* any value, passed as written (an int or a tuple of
                           ints and Nones, a float or a tuple of floats, as
                           kernel_size or output_size); create checks it.  The
                           flags other than REQUIRED/KEYWORD_ONLY do not apply */
} lam_arg_type;

/* lam_arg_spec.flags */
#define LAM_ARG_REQUIRED 0x1u     /* no default: the caller must give it */
#define LAM_ARG_NONE_OK 0x2u      /* None is accepted (dim=None) */
#define LAM_ARG_POSITIVE 0x4u     /* > 0 (ints, floats, shape entries) */
#define LAM_ARG_NONNEGATIVE 0x8u  /* >= 0 */
#define LAM_ARG_FINITE 0x10u      /* floats: not NaN or infinite */
#define LAM_ARG_KEYWORD_ONLY 0x20u /* cannot be given positionally */
#define LAM_ARG_STRING_OK 0x40u   /* LAM_ARG_SHAPE: a string (of `choices`, when
                                     given) is accepted too; create sees it as a
                                     LAM_VALUE_STRING (Conv2d's padding='same') */

typedef struct lam_arg_spec {
    const char *name;          /* a Python identifier: "beta" */
    uint32_t type;             /* lam_arg_type */
    uint32_t flags;            /* LAM_ARG_* */
    lam_value default_value;   /* used when the caller leaves it out */
    const char *const *choices; /* strings: NULL-terminated list of allowed values, or NULL */
    const char *doc;           /* one line, for `lamina inspect`; may be NULL */
    void *reserved[2];
} lam_arg_spec;

/* Defaults without compound literals (usable in static initialisers in C and C++). */
#define LAM_DEFAULT_NONE {LAM_VALUE_NONE, false, 0, 0.0, NULL, 0, NULL}
#define LAM_DEFAULT_BOOL(v) {LAM_VALUE_BOOL, (v), 0, 0.0, NULL, 0, NULL}
#define LAM_DEFAULT_INT(v) {LAM_VALUE_INT, false, (v), 0.0, NULL, 0, NULL}
#define LAM_DEFAULT_FLOAT(v) {LAM_VALUE_FLOAT, false, 0, (v), NULL, 0, NULL}
#define LAM_DEFAULT_STRING(v) {LAM_VALUE_STRING, false, 0, 0.0, (v), 0, NULL}

/* lam_activation, the elementwise functions: <lamina/activation.h> */

/* ------------------------------------------------------------------------
 * A layer type.
 *
 * create() is the only callback the registry calls: it receives the checked
 * arguments (one lam_value per declared argument, in declaration order,
 * defaults filled in) and returns a new module.  A plugin makes its module
 * with host->module_new(out, type, state), declares parameters with
 * host->module_add_param, and the host then drives the module through the
 * callbacks below.  (The built-in layers are registered with this same
 * struct; their create builds the module directly.)
 *
 * Every callback gets the host table and `self`; host->module_state(self)
 * is the state pointer given to module_new.  Callbacks return LAM_OK or an
 * error status after setting a message with host->error(); the host adds the
 * module path ("Sequential[1] FailingLayer: ...").  Forward callbacks may be
 * called from several threads at once (on different inputs): keep per-call
 * data on the stack or in the output, never in the state.
 * ---------------------------------------------------------------------- */

/* lam_layer_type.flags */
#define LAM_LAYER_ROWWISE 0x1u /* forward treats rows of dim 0 independently,
                                  so the host may split a batch across threads
                                  and call forward_into on row slices.  On a
                                  container (ABI 1.2): its forward may be called
                                  on row blocks, on several threads at once
                                  (children then run serially in each block);
                                  with per-call args it sees the whole batch */
#define LAM_LAYER_SEQUENTIAL 0x2u /* ABI 1.4: a subclass of nn.Sequential that adds
                                     no forward (torchvision's Conv2dNormActivation):
                                     the module IS a Sequential under this type's
                                     name (it runs, plans, fuses and is edited as
                                     one); set neither forward_into nor forward;
                                     create may be NULL (a module without state) */
/* ABI 1.7: the capabilities that let a plan run a layer inside sample
 * blocks (docs/plugins.md, "Sample blocks"), as the built-in convolutions,
 * pools and activations do.  Both need forward_into, and do not go with
 * LAM_LAYER_SEQUENTIAL.  A flag this host does not know fails the
 * registration; a plugin built against ABI 1.6 or older has its flags read
 * as that ABI defined them (these bits ignored). */
#define LAM_LAYER_PLANEWISE 0x4u /* "maps each (sample, channel) plane alone"
                                    (an elementwise activation, a pool): for
                                    an input of rank >= 2, output[i, j]
                                    depends on input[i, j] only, by the same
                                    map for every i and j, and dims 0 and 1
                                    pass through.  A plan may call
                                    forward_into on any block of samples and
                                    channels (contiguous tensors [n', c', ...]
                                    cut from the input and the output), on
                                    any thread, and expects the same bits */
#define LAM_LAYER_SAMPLE_BLOCKS 0x8u /* "computes each sample alone" (a
                                        convolution): for an input of rank
                                        >= 2, forward_into on rows [r0, r1)
                                        of dim 0 gives rows [r0, r1) of the
                                        whole input's output, bit for bit.  A
                                        plan may run it on blocks of samples
                                        and the PLANEWISE layers after it on
                                        each block while it is in cache (on
                                        several threads at once, one block
                                        each).  Unlike ROWWISE it does not
                                        ask the host to split the layer */

struct lam_layer_type {
    uint32_t struct_size;       /* sizeof(lam_layer_type) */
    uint32_t flags;             /* LAM_LAYER_* */
    const char *name;           /* type name, a Python identifier: "Swish" */
    const char *py_module;      /* Python module for "<class '...'>" texts; NULL = "__main__" */
    const char *doc;            /* one line; may be NULL */
    const lam_arg_spec *args;   /* constructor signature (n_args entries) */
    uint32_t n_args;
    uint32_t reserved0;

    /* Required.  New reference in *out.  When it fails, a module it left in
     * *out is released by the host. */
    lam_status (*create)(const lam_host_api *host, const lam_layer_type *type,
                         const lam_value *args, lam_module **out);

    /* Output shape for an input shape (out_shape holds LAM_MAX_DIMS).  NULL:
     * the output has the input's shape (for a container type: undeclared). */
    lam_status (*output_shape)(const lam_host_api *host, lam_module *self, int ndim,
                               const int64_t *shape, int *out_ndim, int64_t *out_shape);
    /* A layer: compute into `out`, preallocated with the inferred shape.  With
     * LAM_LAYER_ROWWISE, in/out may be slices of rows [r0, r1) of the batch. */
    lam_status (*forward_into)(const lam_host_api *host, lam_module *self, const lam_tensor *in,
                               lam_tensor *out);
    /* A container: produce the output (a new tensor) from the input, calling
     * children with host->module_forward.  `args` is the per-call argument of
     * lam_module_forward_args (NULL for lam_module_forward).  Set exactly one of
     * forward_into and forward.  With output_shape declared, plans run it with
     * a per-thread pool: the tensors it makes (children's outputs, ops) are
     * reused from call to call instead of allocated (docs/plugins.md). */
    lam_status (*forward)(const lam_host_api *host, lam_module *self, const lam_tensor *in,
                          void *args, lam_tensor **out);
    /* PyTorch's extra_repr(): snprintf-like (returns the full length). NULL: none. */
    int (*extra_repr)(const lam_host_api *host, const lam_module *self, char *buf, size_t size);
    /* Free the state given to module_new (once, when the module is freed). */
    void (*destroy)(const lam_host_api *host, void *state);
    /* Row independence that depends on the module or the input rank
     * (overrides LAM_LAYER_ROWWISE when set). */
    bool (*rowwise)(const lam_host_api *host, const lam_module *self, int ndim);

    /* ---- capabilities (ABI 1.1).  The planner asks what a layer can do,
     * never its name, so a plugin layer that declares these is fused and
     * split exactly as the built-in layers that do.  NULL: it cannot. ---- */
    /* "Is an elementwise activation its producer's epilogue can compute":
     * return true and set *f (RELU .. SILU, the GEMM-fusable ones) and
     * *alpha when this module computes y = f(x) elementwise, bit for bit as
     * host->activation does.  A plan then computes it inside the previous
     * layer's epilogue (Linear -> Swish(beta=1) as one GEMM with SiLU). */
    bool (*as_activation)(const lam_host_api *host, const lam_module *self, lam_activation *f,
                          float *alpha);
    /* "Runs rows with a fused epilogue": x holds `rows` vectors of the
     * input's last dimension (row stride: the input's last dim), y `rows`
     * vectors of the output's last dimension; compute output columns
     * [n_begin, n_end) only and apply f(alpha) to them (f one of
     * IDENTITY .. SILU; host->gemm does this for a dense layer).  With it
     * the planner fuses a following activation into this layer and splits
     * its columns across threads when the batch is small.  Needs
     * forward_into, and must give the same bits as forward_into followed
     * by the activation.  A pure function of x and the layer's parameters:
     * inside a custom forward a call may be deferred, and one whose result
     * is never read never runs (docs/plugins.md). */
    lam_status (*forward_rows)(const lam_host_api *host, lam_module *self, const float *x,
                               int64_t rows, float *y, lam_activation f, float alpha,
                               size_t n_begin, size_t n_end);
    /* Floating-point operations of one forward for this input shape (the
     * planner's estimate for choosing threads).  NULL: 10 per output element. */
    double (*flops)(const lam_host_api *host, const lam_module *self, int ndim,
                    const int64_t *in_shape, int out_ndim, const int64_t *out_shape);

    /* ---- folding (ABI 1.4, in what were reserved slots): a plan folds a
     * per-channel affine layer (an eval-mode BatchNorm) into the layer
     * before it when the one answers channel_affine and the other
     * affine_axis with the same dim, and fold_affine (<lamina/plan.h>). ---- */
    /* "Is a per-channel affine map now": for an input of this shape,
     * y = x * scale[c] + shift[c], c the element's index along dim `axis`.
     * Return the axis and, when scale and shift are not NULL, fill
     * shape[axis] entries of each from the module as it is now; return -1
     * when it is not (a training mode, a rank it does not treat so). */
    int (*channel_affine)(const lam_host_api *host, const lam_module *self, int ndim,
                          const int64_t *shape, double *scale, double *shift);
    /* "Can absorb a per-output-channel scale and shift": for an output of
     * this shape, the dim whose index picks the weights and bias that made
     * an element (the last for a dense layer), or -1. */
    int (*affine_axis)(const lam_host_api *host, const lam_module *self, int ndim,
                       const int64_t *out_shape);
    /* Make (*folded NULL) or update (*folded made by this call before) a
     * module of this same type computing self(x) * scale[c] + shift[c], c
     * along affine_axis's dim, from self's parameters as they are now; write
     * its parameters through host->tensor_data (or mark them modified).  The
     * plan runs it in self's place (with self's capabilities: forward_rows
     * and the fused activation) and calls this again when self's or the
     * norm's parameters change.  Needs affine_axis. */
    lam_status (*fold_affine)(const lam_host_api *host, const lam_module *self,
                              const double *scale, const double *shift, lam_module **folded);

    /* ---- ABI 1.4: types whose printed form carries less than their
     * constructor (docs/plugins.md, "Types that print less than they hold") ---- */
    /* "The children are in place": called when a model file has attached
     * the children it lists (after create, before the state_dict loads), so
     * that the type can check the structure, recover what the repr does not
     * print from the children (strides by shape inference, channel counts
     * from parameter shapes) and declare parameters the repr never shows
     * (host->module_add_param: ConvNeXt's layer_scale).  An error fails the
     * file at this module.  NULL: nothing to do.  A C program that builds
     * such a module by hand calls lam_module_bind(m) when its children are in. */
    lam_status (*bind)(const lam_host_api *host, lam_module *self);
    /* Several types may share one name when each names its `variant` and
     * says by `matches` whether a module's children (names, types,
     * parameter shapes) have its structure: a model file builds the first
     * variant registered, attaches the children, then the module becomes
     * the variant that matches (InvertedResidual of MobileNetV2, MobileNetV3
     * or ShuffleNetV2); none matching fails the file, naming every variant.
     * All variants of a name come from one plugin and take the same
     * arguments.  lam_module_create gives the first registered variant. */
    const char *variant; /* a short description: "MobileNetV2's: a child 'conv'" */
    bool (*matches)(const lam_host_api *host, const lam_module *self);

    /* A container's forward(*inputs) with several values in and out (as
     * lam_module_forward_multi in <lamina/module.h>): read the positional
     * arguments from `inputs` (host->tuple_len, tuple_tensor, ...), return
     * a tensor in *output, a tuple in *outputs (host->tuple_create), or
     * None (neither).  Set it beside forward, which lam_module_forward and
     * plans still call with one tensor.  NULL: the container takes one
     * tensor. */
    lam_status (*forward_multi)(const lam_host_api *host, lam_module *self, const lam_tuple *inputs,
                                void *args, lam_tensor **output, lam_tuple **outputs);

    /* (ABI 1.4 used the five reserved slots and two more: the struct grew,
     * which its struct_size tells the host, and has four in reserve again) */
    /* ABI 1.7, in a reserved slot: the LAM_LAYER_PLANEWISE and
     * LAM_LAYER_SAMPLE_BLOCKS bits that hold for this module and an input of
     * this rank (a pool that also takes unbatched input: only for its
     * batched rank); overrides those two flags when set; other bits of the
     * result are ignored.  Needs forward_into. */
    uint32_t (*capabilities)(const lam_host_api *host, const lam_module *self, int ndim);
    void *reserved[3];
};

/* ------------------------------------------------------------------------
 * The host table.  Append-only: new functions go at the end (a minor ABI
 * bump); LAM_HOST_HAS(host, field) tells whether this host has one.
 * ---------------------------------------------------------------------- */

/* lam_log_level: <lamina/common.h> */


/* The tensor ops of <lamina/ops.h> for plugins (host->ops, ABI 1.1): each
 * entry is the function of the same name without "lam_tensor_" (add is
 * lam_tensor_add), with its semantics, ownership, output rule and messages.
 * A table of its own, so that it can grow (append-only, struct_size says
 * how far) without using up the host table's reserved room. */
typedef struct lam_host_ops {
    uint32_t struct_size; /* sizeof(lam_host_ops) of the host */
    uint32_t reserved0;
    lam_status (*add)(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
    lam_status (*sub)(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
    lam_status (*mul)(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
    lam_status (*div)(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
    lam_status (*add_scalar)(lam_tensor **out, const lam_tensor *a, double s);
    lam_status (*sub_scalar)(lam_tensor **out, const lam_tensor *a, double s);
    lam_status (*rsub_scalar)(lam_tensor **out, const lam_tensor *a, double s);
    lam_status (*mul_scalar)(lam_tensor **out, const lam_tensor *a, double s);
    lam_status (*div_scalar)(lam_tensor **out, const lam_tensor *a, double s);
    lam_status (*rdiv_scalar)(lam_tensor **out, const lam_tensor *a, double s);
    lam_status (*sigmoid)(lam_tensor **out, const lam_tensor *x);
    lam_status (*tanh)(lam_tensor **out, const lam_tensor *x);
    lam_status (*relu)(lam_tensor **out, const lam_tensor *x);
    lam_status (*gelu)(lam_tensor **out, const lam_tensor *x, const char *approximate);
    lam_status (*silu)(lam_tensor **out, const lam_tensor *x);
    lam_status (*softmax)(lam_tensor **out, const lam_tensor *x, int dim);
    lam_status (*log_softmax)(lam_tensor **out, const lam_tensor *x, int dim);
    lam_status (*matmul)(lam_tensor **out, const lam_tensor *a, const lam_tensor *b);
    lam_status (*linear)(lam_tensor **out, const lam_tensor *x, const lam_tensor *weight,
                         const lam_tensor *bias);
    lam_status (*cat)(lam_tensor **out, size_t n, const lam_tensor *const *tensors, int dim);
    lam_status (*split)(lam_tensor **outs, size_t max_outs, size_t *n_outs, const lam_tensor *x,
                        int64_t split_size, int dim);
    lam_status (*split_sizes)(lam_tensor **outs, const lam_tensor *x, size_t n,
                              const int64_t *sizes, int dim);
    lam_status (*chunk)(lam_tensor **outs, size_t *n_outs, const lam_tensor *x, int64_t chunks,
                        int dim);
    lam_status (*view)(lam_tensor **out, const lam_tensor *x, int ndim, const int64_t *shape);
    lam_status (*flatten)(lam_tensor **out, const lam_tensor *x, int start_dim, int end_dim);
    lam_status (*narrow)(lam_tensor **out, const lam_tensor *x, int dim, int64_t start,
                         int64_t length);
    lam_status (*transpose)(lam_tensor **out, const lam_tensor *x, int dim0, int dim1);
    lam_status (*permute)(lam_tensor **out, const lam_tensor *x, int n, const int *dims);
    lam_status (*contiguous)(lam_tensor **out, const lam_tensor *x);
    lam_status (*sum)(lam_tensor **out, const lam_tensor *x, int n, const int *dims, bool keepdim);
    lam_status (*mean)(lam_tensor **out, const lam_tensor *x, int n, const int *dims, bool keepdim);

    void (*reserved[32])(void);
} lam_host_ops;

/* The functions of <lamina/kv_cache.h> for plugins (host->kv_cache, ABI
 * 1.5): each is the function named in its comment, with its semantics,
 * ownership and messages.  Append-only, with its own struct_size. */
typedef struct lam_host_kv_cache {
    uint32_t struct_size; /* sizeof(lam_host_kv_cache) of the host */
    uint32_t reserved0;
    /* lam_causal_attention */
    lam_status (*causal_attention)(lam_tensor **out, const lam_tensor *q, const lam_tensor *k,
                                   const lam_tensor *v, int64_t num_heads);
    /* lam_kv_cache_attention */
    lam_status (*attention)(lam_kv_cache *layer, lam_tensor **out, const lam_tensor *q,
                            const lam_tensor *k, const lam_tensor *v, int64_t num_heads);
    /* lam_kv_cache_layer, lam_kv_cache_num_layers, lam_kv_cache_length,
     * lam_kv_cache_max_length, lam_kv_cache_truncate */
    lam_status (*layer)(lam_kv_cache *cache, int64_t i, lam_kv_cache **out);
    int64_t (*num_layers)(const lam_kv_cache *cache);
    int64_t (*length)(const lam_kv_cache *cache);
    int64_t (*max_length)(const lam_kv_cache *cache);
    lam_status (*truncate)(lam_kv_cache *cache, int64_t length);

    void (*reserved[8])(void);
} lam_host_kv_cache;

/* Does this host's ops table have `field`? */
#define LAM_HOST_OPS_HAS(ops, field)                                                               \
    ((ops)->struct_size >= offsetof(lam_host_ops, field) + sizeof((ops)->field) &&               \
     (ops)->field != NULL)

struct lam_host_api {
    uint32_t struct_size; /* sizeof(lam_host_api) of the host */
    uint32_t abi_major;   /* LAM_PLUGIN_ABI_MAJOR of the host */
    uint32_t abi_minor;
    uint32_t reserved0;
    const char *lamina_version; /* "0.1.0" */

    /* ---- registration (only inside register_types) ---- */
    /* Register a layer type.  The struct (and everything it points to) must
     * stay valid while the plugin is loaded: use static const data. */
    lam_status (*register_type)(lam_registry *reg, const lam_layer_type *type);

    /* ---- errors and logging ---- */
    /* Set this thread's error message; returns `status` (return host->error(...)). */
    lam_status (*error)(lam_status status, const char *fmt, ...) LAM_PLUGIN_PRINTF(2, 3);
    /* Log a line through the application's log callback (lam_set_log_callback
     * in <lamina/common.h>; the lamina command prints it to stderr): warnings
     * and errors always, debug and info lines when LAMINA_VERBOSE=1. */
    void (*log)(lam_log_level level, const char *fmt, ...) LAM_PLUGIN_PRINTF(2, 3);

    /* ---- memory: 64-byte aligned, NULL on failure ---- */
    void *(*alloc)(size_t bytes);
    void (*free)(void *ptr);

    /* ---- tensors (contiguous, row-major; float32 here, other types: ABI 1.4) ---- */
    lam_status (*tensor_create)(lam_tensor **out, int ndim, const int64_t *shape);
    lam_status (*tensor_clone)(lam_tensor **out, const lam_tensor *src);
    lam_tensor *(*tensor_retain)(lam_tensor *t);
    void (*tensor_release)(lam_tensor *t);
    int (*tensor_ndim)(const lam_tensor *t);
    const int64_t *(*tensor_shape)(const lam_tensor *t);
    int64_t (*tensor_numel)(const lam_tensor *t);
    float *(*tensor_data)(lam_tensor *t);
    const float *(*tensor_cdata)(const lam_tensor *t);
    /* "[2, 10]", as PyTorch prints shapes in messages; returns buf */
    char *(*shape_str)(int ndim, const int64_t *shape, char *buf, size_t size);

    /* ---- modules ---- */
    /* A new module of a registered `type` whose behaviour is the type's
     * callbacks; `state` becomes host->module_state(m) and is freed by
     * type->destroy when the module goes (not on failure here). */
    lam_status (*module_new)(lam_module **out, const lam_layer_type *type, void *state);
    void *(*module_state)(const lam_module *m);
    /* Declare a parameter (zero-filled); *param (may be NULL) is borrowed,
     * valid while the module lives; load_state_dict copies into it.  While
     * a model file is being built this, tensor_create, tensor_clone and
     * alloc count what they would allocate against the file's parameter
     * limit first, and fail past it (LAM_ERR_INVALID_ARGUMENT with a
     * message; alloc returns NULL) before allocating anything. */
    lam_status (*module_add_param)(lam_module *m, const char *name, int ndim,
                                   const int64_t *shape, lam_tensor **param);
    /* A parameter by name (borrowed), or NULL. */
    lam_tensor *(*module_param)(const lam_module *m, const char *name);
    lam_module *(*module_retain)(lam_module *m);
    void (*module_release)(lam_module *m);
    const char *(*module_type_name)(const lam_module *m);
    bool (*module_is_training)(const lam_module *m);
    size_t (*module_num_children)(const lam_module *m);
    lam_module *(*module_child_at)(const lam_module *m, size_t i, const char **name);
    lam_module *(*module_child)(const lam_module *m, const char *name);
    lam_status (*module_add_child)(lam_module *parent, const char *name, lam_module *child);
    /* Run a module (a child) through the normal call machinery. */
    lam_status (*module_forward)(lam_module *m, const lam_tensor *in, void *args,
                                 lam_tensor **out);
    lam_status (*module_output_shape)(lam_module *m, int ndim, const int64_t *shape,
                                      int *out_ndim, int64_t *out_shape);
    /* Any registered type by name, as lam_module_create. */
    lam_status (*module_create)(lam_module **out, const char *type_name, size_t nargs,
                                const lam_kwarg *args);

    /* ---- formatting ---- */
    /* Python's repr of a float ("1.0", "1e-06"); integral values as ints
     * ("1") when int_style.  Returns buf. */
    char *(*format_float)(double v, bool int_style, char *buf, size_t size);

    /* ---- kernels (the host's SIMD table; no ISA flags needed) ---- */
    const char *(*kernel_isa)(void); /* "avx512", "avx2", "neon", "scalar" */
    /* y[i] = f(x[i]), i < n; y may equal x. */
    lam_status (*activation)(lam_activation f, size_t n, const float *x, float *y, float alpha,
                             float beta);
    /* softmax (log_softmax when `log`) over each of `rows` rows of n floats */
    lam_status (*softmax_rows)(bool log, size_t rows, size_t n, const float *x, float *y);
    /* GEMM as nn.Linear does it: y[M,N] = act(x[M,K] · W[N,K]ᵀ + bias[N]).
     * Pack W once (gemm_packed_size floats, allocate with host->alloc);
     * compute output columns [n_begin, n_end); ldx/ldy are row strides in
     * floats; bias may be NULL; act one of IDENTITY..SILU (fused). */
    size_t (*gemm_packed_size)(size_t N, size_t K);
    lam_status (*gemm_pack)(size_t N, size_t K, const float *W, float *packed);
    lam_status (*gemm)(size_t M, size_t N, size_t K, const float *x, size_t ldx,
                       const float *packed, const float *bias, float *y, size_t ldy,
                       lam_activation act, float alpha, size_t n_begin, size_t n_end);

    /* ---- ABI 1.1 ---- */
    /* The tensor ops (<lamina/ops.h>) for custom forwards:
     * host->ops->add(&y, x, fx).  Check LAM_HOST_HAS(host, ops) first when
     * the plugin may load in a 1.0 host. */
    const lam_host_ops *ops;

    /* ---- ABI 1.2 ---- */
    /* Run a child into `out`, a tensor of the child's output shape that the
     * caller owns (lam_module_forward_args_into): no output is allocated.
     * Check LAM_HOST_HAS(host, module_forward_into) in a plugin that may
     * load in an older host. */
    lam_status (*module_forward_into)(lam_module *m, const lam_tensor *in, void *args,
                                      lam_tensor *out);

    /* ---- ABI 1.4: element types (<lamina/tensor.h>) ----
     * Tensors are float32 unless made otherwise; tensor_data / tensor_cdata
     * give NULL (LAM_ERR_TYPE) for an int64 or bool tensor.  A plugin
     * layer's forward_into is given float32 inputs only (the host refuses
     * others with the module path); a container's forward may be given
     * any type and should check (tensor_dtype) before reading the data.
     * Check LAM_HOST_HAS(host, tensor_dtype) in a plugin that may load in
     * an older host. */
    lam_dtype (*tensor_dtype)(const lam_tensor *t);
    lam_status (*tensor_create_dtype)(lam_tensor **out, lam_dtype dtype, int ndim,
                                      const int64_t *shape);
    lam_status (*tensor_to_dtype)(lam_tensor **out, const lam_tensor *t, lam_dtype dtype);
    int64_t *(*tensor_data_i64)(lam_tensor *t);
    const int64_t *(*tensor_cdata_i64)(const lam_tensor *t);
    bool *(*tensor_data_bool)(lam_tensor *t);
    const bool *(*tensor_cdata_bool)(const lam_tensor *t);
    const char *(*dtype_name)(lam_dtype dtype);

    /* ---- ABI 1.4: several inputs and outputs (<lamina/module.h>) ---- */
    lam_status (*module_forward_multi)(lam_module *m, const lam_tuple *inputs, void *args,
                                       lam_tensor **output, lam_tuple **outputs);
    lam_status (*tuple_create)(lam_tuple **out, size_t n);
    lam_tuple *(*tuple_retain)(lam_tuple *t);
    void (*tuple_release)(lam_tuple *t);
    size_t (*tuple_len)(const lam_tuple *t);
    lam_tensor *(*tuple_tensor)(const lam_tuple *t, size_t i);
    lam_tuple *(*tuple_tuple)(const lam_tuple *t, size_t i);
    bool (*tuple_is_none)(const lam_tuple *t, size_t i);
    lam_status (*tuple_set_tensor)(lam_tuple *t, size_t i, lam_tensor *x);
    lam_status (*tuple_set_tuple)(lam_tuple *t, size_t i, lam_tuple *x);

    /* ---- ABI 1.5 (in what were reserved slots) ---- */
    /* Causal self-attention and the key/value cache of <lamina/kv_cache.h>
     * (a table of its own, like ops): host->kv_cache->attention(layer, &y,
     * q, k, v).  Check LAM_HOST_HAS(host, kv_cache) in a plugin that may
     * load in an older host. */
    const lam_host_kv_cache *kv_cache;
    /* lam_module_register_parameter (<lamina/module.h>): a parameter of m
     * under `name`, replacing one of that name (a built-in layer's weight by
     * a tensor of its shape).  Ties weights: a GPT's bind makes lm_head's
     * weight the token embedding's tensor with
     * host->module_register_parameter(lm_head, "weight", wte_weight). */
    lam_status (*module_register_parameter)(lam_module *m, const char *name, lam_tensor *t);

    /* ---- ABI 1.6 (in a reserved slot) ---- */
    /* The model's default for a MultiheadAttention's arguments its printed
     * form hides (docs/model-format.md §1.7): each of num_heads and
     * batch_first that the model file left unknown gets the value given
     * (num_heads <= 0: num_heads is left as it is);
     * one the file (or an earlier lam_model_set_arg) gave is kept, and a
     * later lam_model_set_arg still replaces these.  For a type whose
     * builder ties them to sizes it sees (torchvision's ViT EncoderBlock:
     * num_heads from hidden_dim), called from its bind.  LAM_ERR_TYPE when
     * m is not a MultiheadAttention; LAM_ERR_INVALID_ARGUMENT, changing
     * nothing, when num_heads would be used and does not divide embed_dim. */
    lam_status (*attention_default_args)(lam_module *m, int64_t num_heads, bool batch_first);
    /* ---- ABI 1.6 too, in a reserved slot (check LAM_HOST_HAS(host,
     * forward_output)) ---- */
    /* Inside a container's forward: the tensor (a new reference) that the
     * caller will take as this call's output, when it offers one of exactly
     * this shape (a plan's own buffer for self's output), else NULL: make
     * the output as usual.  Handed out once per call.  Write the forward's
     * LAST result there with an elementwise op's output rule
     * (host->ops->mul(&t, x, s)) and return it as *out: the plan then skips
     * copying the output.  It may share memory with the forward's input, so
     * write it only after everything else has read the input, and only
     * elementwise (an op that may write into its inputs). */
    lam_tensor *(*forward_output)(lam_module *self, int ndim, const int64_t *shape);

    void (*reserved[8])(void);
};

/* Does this host's table have `field`?  (For plugins that use fields added
 * in a later minor version.) */
#define LAM_HOST_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(lam_host_api, field) + sizeof((host)->field) &&             \
     (host)->field != NULL)

/* ------------------------------------------------------------------------
 * The descriptor.
 * ---------------------------------------------------------------------- */

typedef struct lam_plugin_descriptor {
    uint32_t magic;       /* LAM_PLUGIN_MAGIC */
    uint32_t abi_major;   /* LAM_PLUGIN_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;   /* LAM_PLUGIN_ABI_MINOR */
    uint32_t struct_size; /* sizeof(lam_plugin_descriptor) */
    const char *name;        /* "swish": identifies the plugin (unique) */
    const char *version;     /* the plugin's own version, "1.0.0" */
    const char *description; /* one line; may be NULL */
    const char *license;     /* "MIT", "LGPL-2.1-or-later", ...; may be NULL */
    /* Register the plugin's types with host->register_type(reg, &type).
     * It may be called more than once (probing) and must do nothing else
     * that lasts.  A failure (or any rejected type) loads nothing. */
    lam_status (*register_types)(const lam_host_api *host, lam_registry *reg);
    void *reserved[8];
} lam_plugin_descriptor;

/* Define the exported descriptor (once per plugin, at file scope). */
#define LAM_PLUGIN_DEFINE(name_, version_, description_, license_, register_fn_)                   \
    LAM_PLUGIN_EXPORT const lam_plugin_descriptor lamina_plugin;                                   \
    const lam_plugin_descriptor lamina_plugin = {                                                  \
        LAM_PLUGIN_MAGIC, LAM_PLUGIN_ABI_MAJOR, LAM_PLUGIN_ABI_MINOR,                              \
        (uint32_t)sizeof(lam_plugin_descriptor), (name_), (version_), (description_), (license_), \
        (register_fn_), {0}}

/* ------------------------------------------------------------------------
 * Host side: loading plugins (in liblamina; plugins do not call these).
 *
 * Called from a plugin's own code while the loader runs it (a constructor
 * or destructor of the .so, register_types), the functions that would load,
 * unload or change the search path fail at once with LAM_ERR_PLUGIN
 * ("lam_plugin_load('x') called while loading plugin 'y' (...)") instead of
 * deadlocking; the lookups (lam_plugin_at, _find, _search_path, and
 * lam_plugin_find_type of a registered type) work.  Other threads wait.
 * ---------------------------------------------------------------------- */

typedef struct lam_plugin lam_plugin;

/* Load a plugin and register its layer types.  `path_or_name` is a path
 * (anything with a '/') or a name ("swish" or "swish.so") looked up in the
 * search path: the directories added with lam_plugin_add_search_dir (in
 * order), then LAMINA_PLUGIN_PATH (colon-separated), then the installed
 * plugin directory.  Loading a file that is already loaded returns the
 * loaded plugin.  Every failure is LAM_ERR_PLUGIN with a message naming the
 * file and the reason; nothing is left registered.  *out (may be NULL) is
 * borrowed: plugins stay loaded until lam_plugin_unload. */
LAM_API lam_status lam_plugin_load(const char *path_or_name, lam_plugin **out);
/* Load every *.so in `dir` (in name order).  Those that fail are skipped and
 * reported together (LAM_ERR_PLUGIN); the others stay loaded.  *n_loaded
 * (may be NULL) counts the plugins loaded or already loaded. */
LAM_API lam_status lam_plugin_load_dir(const char *dir, size_t *n_loaded);
/* Make sure `type_name` is registered: if it is not, search the plugin path
 * for a plugin that provides it (files named like the type first, then every
 * plugin, each probed without registering anything else) and load it.
 * LAM_ERR_KEY with a message listing the searched directories when none does;
 * LAM_ERR_PLUGIN with that plugin's load error when one lists the type but
 * cannot be loaded (e.g. its plugin name or a type name is taken).  A
 * built-in type that could not be registered (see lam_module_create) is not
 * searched for: its error is returned. */
LAM_API lam_status lam_plugin_find_type(const char *type_name);

/* Add a directory to the front part of the search path (after earlier ones). */
LAM_API lam_status lam_plugin_add_search_dir(const char *dir);
/* The search path as it stands ("a:b:c"); free with lam_free.  NULL on OOM. */
LAM_API char *lam_plugin_search_path(void);

/* Unregister the plugin's types now; the library itself is closed when the
 * last module made from it is released. */
LAM_API lam_status lam_plugin_unload(lam_plugin *plugin);

/* Loaded plugins, in load order: i from 0 until NULL (borrowed). */
LAM_API lam_plugin *lam_plugin_at(size_t i);
/* A loaded plugin by descriptor name, or NULL. */
LAM_API lam_plugin *lam_plugin_find(const char *name);
LAM_API const char *lam_plugin_name(const lam_plugin *plugin);
LAM_API const char *lam_plugin_version(const lam_plugin *plugin);
LAM_API const char *lam_plugin_description(const lam_plugin *plugin);
LAM_API const char *lam_plugin_license(const lam_plugin *plugin);
/* The resolved file path. */
LAM_API const char *lam_plugin_path(const lam_plugin *plugin);
LAM_API size_t lam_plugin_num_types(const lam_plugin *plugin);
LAM_API const char *lam_plugin_type_name(const lam_plugin *plugin, size_t i);

/* Which plugin provides a registered type: NULL for a built-in type or an
 * unknown one (check lam_layer_type_exists). */
LAM_API lam_plugin *lam_layer_type_plugin(const char *type_name);
/* The constructor signature, "Linear(in_features, out_features, bias=True)";
 * free with lam_free.  NULL (with a message) for an unknown type. */
LAM_API char *lam_layer_type_signature(const char *type_name);

/* Finish a module whose type has variants or a bind (ABI 1.4) once its
 * children are in, as reading a model file does: when the children match
 * another variant of the type's name, *m is replaced by a new module of
 * that variant made with the same arguments (nargs, args: those given to
 * lam_module_create) and holding the same children, and the old reference
 * is released (so call it before adding *m anywhere); then the type's bind
 * runs.  A module of any other type is left as it is (LAM_OK).  Errors:
 * LAM_ERR_INVALID_ARGUMENT when no variant matches (the message names them
 * all) and whatever bind returns; *m is then unchanged. */
LAM_API lam_status lam_module_bind(lam_module **m, size_t nargs, const lam_kwarg *args);

#ifdef __cplusplus
}
#endif
#endif
