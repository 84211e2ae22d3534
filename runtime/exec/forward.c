/* The call machinery behind every forward (PyTorch's Module.__call__) and
 * every output-shape inference, and error paths: when a module fails, the
 * message is prefixed once with its path from the outermost module being
 * called on this thread, e.g.
 *   "ConditionalModel.layers[4] Linear(in_features=10): input has 2 features".
 * A caller that knows the callee's position among its children (a
 * Sequential) says so; otherwise the callee is searched among the caller's
 * children (through ModuleLists and other containers the caller walks
 * itself).  Modules on the path with a forward of their own (custom modules,
 * plugin containers) are named in a note after the message, since the path
 * does not show their types: "... (in GatedBlock at Sequential[2])".  Plans
 * that run layers without calls locate their errors here too. */
#include "runtime/exec/plan.h"
#include <stdlib.h>
#include <string.h>

#define CALL_STACK_MAX 256

typedef struct call_frame {
    lam_module *m;
    size_t index; /* m's position among the caller's children, or LAM__NO_INDEX */
} call_frame;

/* This thread's calls.  One thread-local struct, so that a function finds
 * all of it with one TLS lookup (in a shared library each lookup is a call
 * to __tls_get_addr). */
typedef struct call_state {
    int depth;
    bool in_hook; /* calls the hook makes do not call it */
    lam_forward_hook_fn hook_fn;
    void *hook_user;
    call_frame stack[CALL_STACK_MAX];
} call_state;
static __thread call_state calls;
#define call_stack (calls.stack)
#define call_depth (calls.depth)
/* The message (lam__error_serial) that already carries its path. */
static __thread bool have_located;
static __thread unsigned located_serial;
/* Threads with a hook installed: when none, a forward needs no look at its
 * thread's hook. */
static int hooked_threads;

static bool is_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static void append_key(lam__sb *sb, const char *name)
{
    if (is_digits(name))
        lam__sb_printf(sb, "[%s]", name);
    else
        lam__sb_printf(sb, ".%s", name);
}

/* Append the key path from `from` down to `target` (exclusive of `from`). */
static bool find_path(const lam_module *from, const lam_module *target, lam__sb *sb, int depth)
{
    if (depth > 64)
        return false;
    for (size_t i = 0; i < from->n_children; i++) {
        size_t mark = sb->len;
        append_key(sb, from->children[i].name);
        if (from->children[i].module == target)
            return true;
        if (find_path(from->children[i].module, target, sb, depth + 1))
            return true;
        sb->len = mark;
        if (sb->buf)
            sb->buf[mark] = '\0';
    }
    return false;
}

static bool key_of(const call_frame *caller, const call_frame *callee, lam__sb *sb)
{
    const lam_module *p = caller->m;
    if (callee->index < p->n_children && p->children[callee->index].module == callee->m) {
        append_key(sb, p->children[callee->index].name);
        return true;
    }
    return find_path(p, callee->m, sb, 0);
}

bool lam__error_located(void) { return have_located && located_serial == lam__error_serial(); }

static void mark_located(void)
{
    have_located = true;
    located_serial = lam__error_serial();
}

/* stack[0 .. depth-1] with the failing module on top; the descendants it
 * ran itself where the error arose (lam__error_within) extend the path. */
static void locate_error(const call_frame *stack, int depth, lam_status st)
{
    if (lam__error_located())
        return;
    if (depth > CALL_STACK_MAX)
        depth = CALL_STACK_MAX;
    lam_module *within[LAM__WITHIN_MAX];
    int n_within = depth > 0 ? lam__error_within_take(within, LAM__WITHIN_MAX) : 0;
    call_frame ext[CALL_STACK_MAX + LAM__WITHIN_MAX];
    if (n_within) {
        memcpy(ext, stack, sizeof *ext * (size_t)depth);
        for (int i = 0; i < n_within; i++) {
            if (within[i] == ext[depth - 1].m)
                continue; /* the failing module itself */
            lam__sb probe = {0};
            bool below = find_path(ext[depth - 1].m, within[i], &probe, 0);
            free(probe.buf);
            if (!below) /* not a descendant (the chain is stale): the path ends here */
                break;
            ext[depth++] = (call_frame){within[i], LAM__NO_INDEX};
        }
        stack = ext;
    }
    if (depth >= 2) {
        lam__sb sb = {0}, note = {0};
        lam__sb_puts(&sb, lam_module_type_name(stack[0].m));
        for (int i = 1; i < depth; i++) {
            if (!key_of(&stack[i - 1], &stack[i], &sb)) {
                lam__sb_printf(&sb, "->%s", lam_module_type_name(stack[i].m));
                continue;
            }
            /* a module that feeds its children itself: its type is news */
            if (i + 1 < depth && !sb.failed && !lam_module_is_sequential(stack[i].m))
                lam__sb_printf(&note, "%s%s at %s", note.len ? ", in " : " (in ",
                               lam_module_type_name(stack[i].m), sb.buf);
        }
        if (note.len)
            lam__sb_puts(&note, ")");
        if (!sb.failed && !note.failed)
            lam__error(st, "%s %s%s", sb.buf, lam_last_error(), note.len ? note.buf : "");
        free(sb.buf);
        free(note.buf);
    } /* else the outermost module failed: its own message says enough */
    mark_located();
}

static void call_enter(lam_module *m, size_t index)
{
    if (call_depth < CALL_STACK_MAX)
        call_stack[call_depth] = (call_frame){m, index};
    call_depth++;
}

static lam_status call_leave(lam_status st)
{
    if (st != LAM_OK)
        locate_error(call_stack, call_depth, st);
    call_depth--;
    return st;
}

static bool innermost_is(const lam_module *m)
{
    return call_depth > 0 && call_depth <= CALL_STACK_MAX && call_stack[call_depth - 1].m == m;
}

lam_status lam__locate_at(lam_module *root, lam_module *m, lam_status st)
{
    if (st == LAM_OK || lam__error_located())
        return st;
    int pushed = 0;
    if (!innermost_is(root)) {
        call_enter(root, LAM__NO_INDEX);
        pushed++;
    }
    if (m && m != root) {
        call_enter(m, LAM__NO_INDEX);
        pushed++;
    }
    locate_error(call_stack, call_depth, st);
    call_depth -= pushed;
    return st;
}

void lam__error_locate(lam_module *const *chain, const size_t *index, int n, lam_status st)
{
    if (n < 1 || lam__error_located())
        return;
    int depth = call_depth < CALL_STACK_MAX ? call_depth : CALL_STACK_MAX;
    call_frame stack[CALL_STACK_MAX + 64];
    int k = 0;
    if (depth > 0 && call_stack[depth - 1].m == chain[0]) {
        /* chain[0] is being forwarded: its path continues the call stack's */
        for (int i = 0; i < depth; i++)
            stack[k++] = call_stack[i];
    } else {
        stack[k++] = (call_frame){chain[0], LAM__NO_INDEX}; /* a plan run of its own */
    }
    for (int i = 1; i < n && k < CALL_STACK_MAX + 64; i++)
        stack[k++] = (call_frame){chain[i], index[i]};
    locate_error(stack, k, st);
}

lam_status lam__locate_shape_error(lam_module *m, int ndim, const int64_t *shape, lam_status st)
{
    if (st == LAM_OK || st == LAM_ERR_NO_MEMORY || lam__error_located())
        return st;
    char *first = lam__strdup(lam_last_error());
    int nd;
    int64_t out[LAM_MAX_DIMS];
    bool pushed = !innermost_is(m);
    if (pushed)
        call_enter(m, LAM__NO_INDEX);
    lam_status again = m->ops->output_shape(m, ndim, shape, &nd, out);
    if (pushed)
        again = call_leave(again);
    else if (again)
        locate_error(call_stack, call_depth, again);
    if (again == LAM_OK && first) /* not again (a module that changes its mind): the first */
        lam__error(st, "%s", first);
    free(first);
    return again ? again : st;
}

LAM_API void lam_set_forward_hook(lam_forward_hook_fn fn, void *user)
{
    if (fn && !calls.hook_fn)
        __atomic_add_fetch(&hooked_threads, 1, __ATOMIC_RELAXED);
    else if (!fn && calls.hook_fn)
        __atomic_sub_fetch(&hooked_threads, 1, __ATOMIC_RELAXED);
    calls.hook_fn = fn;
    calls.hook_user = user;
}

bool lam__forward_hooked(void)
{
    if (!__atomic_load_n(&hooked_threads, __ATOMIC_RELAXED))
        return false;
    return calls.hook_fn && !calls.in_hook;
}

/* A layer given an element type it does not take. */
static lam_status dtype_refused(const lam_module *m, const lam_tensor *in)
{
    if (m->ops->in_dtypes)
        return lam__error(LAM_ERR_TYPE, "%s: the input is %s, which this layer does not take",
                          lam_module_type_name(m), lam_dtype_name((lam_dtype)in->dtype));
    return lam__dtype_error(lam_module_type_name(m), "input", in);
}

static lam_status run_leaf(lam_module *m, const lam_tensor *in, lam_tensor **out)
{
    if (lam__fpool_active()) { /* in a custom forward that a plan runs */
        lam_status st;
        if (!lam__forward_hooked() && lam__defer(m, in, out, &st))
            return st;
        if ((st = lam__tensor_ready(in)) != LAM_OK)
            return st;
    }
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    if (__builtin_expect(in->dtype != LAM_FLOAT32, 0) && !lam__module_takes(m, in->dtype))
        return dtype_refused(m, in);
    lam_status st = m->ops->output_shape(m, in->ndim, in->shape, &ndim, shape);
    if (st)
        return st;
    lam_tensor *y;
    st = lam__tensor_create_uninit(&y, ndim, shape);
    if (st)
        return st;
    st = lam__leaf_run(m, in, y);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    *out = y;
    return LAM_OK;
}

/* A module with only forward(*inputs), called with one tensor: its result
 * must be a tensor here. */
static lam_status multi_as_single(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out)
{
    lam_tuple *t;
    lam_status st = lam_tuple_create(&t, 1);
    if (st)
        return st;
    t->items[0].t = lam_tensor_retain((lam_tensor *)in);
    lam__val y = {0};
    st = m->ops->forward_multi(m, t, args, &y);
    lam_tuple_release(t);
    if (!st && !y.t)
        st = lam__error(LAM_ERR_TYPE,
                        "%s returned %s, not a tensor: call it with lam_module_forward_multi",
                        lam_module_type_name(m), y.tup ? "a tuple" : "None");
    if (st) {
        lam__val_clear(&y);
        return st;
    }
    *out = y.t;
    return LAM_OK;
}

lam_status lam__call_forward(lam_module *m, size_t index, const lam_tensor *in, void *args,
                             lam_tensor **out)
{
    *out = NULL;
    call_state *cs = &calls; /* one TLS lookup for the whole call */
    if (cs->depth < CALL_STACK_MAX)
        cs->stack[cs->depth] = (call_frame){m, index};
    cs->depth++;
    lam_status st;
    if (m->ops->forward) /* it may read any tensor: deferred calls happen first */
        st = (st = lam__sync()) != LAM_OK ? st : m->ops->forward(m, in, args, out);
    else if (__builtin_expect(!m->ops->forward_into && m->ops->forward_multi != NULL, 0))
        st = (st = lam__sync()) != LAM_OK ? st : multi_as_single(m, in, args, out);
    else
        st = run_leaf(m, in, out);
    if (st != LAM_OK)
        locate_error(cs->stack, cs->depth, st);
    cs->depth--;
    if (st != LAM_OK && *out) {
        lam_tensor_release(*out);
        *out = NULL;
    }
    if (st == LAM_OK && cs->hook_fn && !cs->in_hook) {
        cs->in_hook = true;
        cs->hook_fn(m, in, *out, cs->hook_user);
        cs->in_hook = false;
    }
    return st;
}

LAM_API lam_status lam_module_forward_args(lam_module *m, const lam_tensor *input, void *args,
                                           lam_tensor **output)
{
    LAM__CHECK_ARG(output);
    *output = NULL;
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(input);
    return lam__call_forward(m, LAM__NO_INDEX, input, args, output);
}

/* The torch function a built-in layer's forward calls first, which is what
 * PyTorch's TypeError names when the layer is given a tuple or None ("relu():
 * argument 'input' (position 1) must be Tensor, not tuple"); a layer whose
 * forward calls a method of its input fails with AttributeError instead. */
static const struct {
    const char *type, *fn, *attr;
} torch_fns[] = {
    {"Linear", "linear", NULL},         {"ReLU", "relu", NULL},
    {"Sigmoid", "sigmoid", NULL},       {"Tanh", "tanh", NULL},
    {"GELU", "gelu", NULL},             {"SiLU", "silu", NULL},
    {"LayerNorm", "layer_norm", NULL},  {"Dropout", "dropout", NULL},
    {"LeakyReLU", "leaky_relu", NULL},  {"ELU", "elu", NULL},
    {"ReLU6", "hardtanh", NULL},        {"Hardtanh", "hardtanh", NULL},
    {"Softplus", "softplus", NULL},     {"MaxPool1d", "max_pool1d", NULL},
    {"MaxPool2d", "max_pool2d", NULL},  {"AvgPool1d", "avg_pool1d", NULL},
    {"AvgPool2d", "avg_pool2d", NULL},  {"Mish", "mish", NULL},
    {"Hardswish", "hardswish", NULL},   {"Hardsigmoid", "hardsigmoid", NULL},
    {"Softmax", NULL, "softmax"},       {"LogSoftmax", NULL, "log_softmax"},
    {"Flatten", NULL, "flatten"},       {"BatchNorm1d", NULL, "dim"},
    {"BatchNorm2d", NULL, "dim"},
};

static lam_status not_a_tensor(const lam_module *m, const lam__val *x)
{
    const char *type = lam_module_type_name(m), *got = lam__val_kind(x);
    if (!strcmp(type, "Embedding"))
        return lam__error(LAM_ERR_TYPE,
                          "embedding(): argument 'indices' (position 2) must be Tensor, not %s", got);
    for (size_t i = 0; i < sizeof torch_fns / sizeof torch_fns[0]; i++) {
        if (strcmp(torch_fns[i].type, type))
            continue;
        if (torch_fns[i].attr)
            return lam__error(LAM_ERR_TYPE, "'%s' object has no attribute '%s'", got,
                              torch_fns[i].attr);
        return lam__error(LAM_ERR_TYPE, "%s(): argument 'input' (position 1) must be Tensor, not %s",
                          torch_fns[i].fn, got);
    }
    return lam__error(LAM_ERR_TYPE, "%s.forward(): argument 'input' (position 1) must be Tensor, "
                      "not %s", type, got);
}

/* Identity returns its argument, whatever it is. */
static bool is_identity(const lam_module *m)
{
    return m->ops->kind == LAM__KIND_LEAF && !strcmp(m->ops->type_name, "Identity") &&
           m->ops->py_module && !strcmp(m->ops->py_module, "torch.nn.modules.linear");
}

static lam_status forward_multi(lam_module *m, size_t index, const lam_tuple *in, void *args,
                                lam__val *out)
{
    if (m->ops->forward_multi) { /* it may read any tensor: deferred calls happen first */
        lam_status st = lam__sync();
        return st ? st : m->ops->forward_multi(m, in, args, out);
    }
    const char *type = lam_module_type_name(m);
    if (in->n != 1)
        return in->n == 0
                   ? lam__error(LAM_ERR_TYPE,
                                "%s.forward() missing 1 required positional argument: 'input'", type)
                   : lam__error(LAM_ERR_TYPE,
                                "%s.forward() takes 2 positional arguments but %zu were given", type,
                                in->n + 1);
    const lam__val *x = &in->items[0];
    if (!x->t) {
        if (is_identity(m)) {
            out->tup = lam_tuple_retain(x->tup);
            return LAM_OK;
        }
        return not_a_tensor(m, x);
    }
    call_depth--; /* lam__call_forward pushes m again, with its index */
    lam_status st = lam__call_forward(m, index, x->t, args, &out->t);
    call_depth++;
    if (st)
        mark_located(); /* located by the inner call */
    return st;
}

lam_status lam__call_forward_multi(lam_module *m, size_t index, const lam_tuple *in, void *args,
                                   lam__val *out)
{
    out->t = NULL;
    out->tup = NULL;
    call_enter(m, index);
    lam_status st = forward_multi(m, index, in, args, out);
    if (st)
        lam__val_clear(out);
    return call_leave(st);
}

LAM_API lam_status lam_module_forward_multi(lam_module *m, const lam_tuple *inputs, void *args,
                                            lam_tensor **output, lam_tuple **outputs)
{
    LAM__CHECK_ARG(output);
    LAM__CHECK_ARG(outputs);
    *output = NULL;
    *outputs = NULL;
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(inputs);
    lam__val y;
    lam_status st = lam__call_forward_multi(m, LAM__NO_INDEX, inputs, args, &y);
    if (!st) {
        *output = y.t;
        *outputs = y.tup;
    }
    return st;
}

static __thread lam__fwd_dest offered;

lam__fwd_dest lam__forward_dest_begin(const lam_module *m, lam_tensor *t)
{
    lam__fwd_dest saved = offered;
    offered.m = m;
    offered.t = t;
    return saved;
}

void lam__forward_dest_end(lam__fwd_dest saved) { offered = saved; }

lam_tensor *lam__forward_dest(const lam_module *m, int ndim, const int64_t *shape)
{
    lam_tensor *t = offered.t;
    if (!m || offered.m != m || !t || !shape || t->ndim != ndim ||
        memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim) != 0)
        return NULL;
    offered.t = NULL; /* once */
    return t;
}

lam_status lam__forward_step(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out)
{
    if (innermost_is(m)) {
        /* the plan runs m's forward for lam_module_forward(m) on this
         * thread: m is on the call stack already */
        *out = NULL;
        lam_status st = m->ops->forward(m, in, args, out);
        if (st != LAM_OK && *out) {
            lam_tensor_release(*out);
            *out = NULL;
        }
        return st;
    }
    return lam_module_forward_args(m, in, args, out);
}

/* Into a caller's tensor: a layer computes there directly; a Sequential or
 * a custom module that a plan can run writes there through its plan; any
 * other forward's result is copied. */
static lam_status forward_into(lam_module *m, const lam_tensor *in, void *args, lam_tensor *out)
{
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    lam_status st = LAM_OK;
    if (!m->ops->forward && in->dtype != LAM_FLOAT32 && !lam__module_takes(m, in->dtype))
        return dtype_refused(m, in);
    if (out->dtype != LAM_FLOAT32)
        return lam__dtype_error(lam_module_type_name(m), "output", out);
    bool known = m->ops->output_shape != NULL;
    if (known) {
        st = m->ops->output_shape(m, in->ndim, in->shape, &ndim, shape);
        if (st && !m->ops->forward)
            return st;
        if (st) { /* a custom forward may still run: let it say what is wrong */
            lam_clear_error();
            known = false;
        }
    }
    if (known && (ndim != out->ndim ||
                  memcmp(shape, out->shape, sizeof(int64_t) * (size_t)ndim) != 0)) {
        char a[64], b[64];
        return lam__error(LAM_ERR_SHAPE, "%s: forward_into: the output has shape %s, the forward produces %s",
                          lam_module_type_name(m), lam_shape_str(out->ndim, out->shape, a, sizeof a),
                          lam_shape_str(ndim, shape, b, sizeof b));
    }
    if (in->data && out->data && in->numel && out->numel &&
        (const char *)in->data < (const char *)(out->data + out->numel) &&
        (const char *)out->data < (const char *)in->data + in->numel * (int64_t)lam__dtype_size(in->dtype))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: forward_into: the output shares memory with the input",
                          lam_module_type_name(m));
    if (!m->ops->forward)
        return lam__leaf_run(m, in, out);
    if (known && !args && !lam__fpool_active() && m->ops->kind != LAM__KIND_MODULELIST) {
        bool ran;
        st = lam__forward_planned_custom(m, in, NULL, out, &ran);
        if (ran)
            return st;
    }
    lam_tensor *y = NULL;
    st = m->ops->forward(m, in, args, &y);
    if (!st && y->dtype != LAM_FLOAT32)
        st = lam__dtype_error(lam_module_type_name(m), "output", y);
    if (!st && !lam_tensor_same_shape(y, out)) {
        char a[64], b[64];
        st = lam__error(LAM_ERR_SHAPE, "%s: forward produced shape %s, the output has %s",
                        lam_module_type_name(m), lam_shape_str(y->ndim, y->shape, a, sizeof a),
                        lam_shape_str(out->ndim, out->shape, b, sizeof b));
    }
    if (!st)
        memcpy(out->data, y->data, (size_t)y->numel * sizeof(float));
    lam_tensor_release(y);
    return st;
}

LAM_API lam_status lam_module_forward_args_into(lam_module *m, const lam_tensor *input, void *args,
                                                lam_tensor *output)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(input);
    LAM__CHECK_ARG(output);
    LAM__SYNC();
    call_enter(m, LAM__NO_INDEX);
    return call_leave(forward_into(m, input, args, output));
}

LAM_API lam_status lam_module_forward_into(lam_module *m, const lam_tensor *input, lam_tensor *output)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(input);
    LAM__CHECK_ARG(output);
    return lam_module_forward_args_into(m, input, NULL, output);
}

LAM_API lam_status lam_module_forward(lam_module *m, const lam_tensor *input, lam_tensor **output)
{
    LAM__CHECK_ARG(output);
    *output = NULL;
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(input);
    return lam_module_forward_args(m, input, NULL, output);
}

lam_status lam__call_shape(lam_module *m, size_t index, int ndim, const int64_t *shape,
                           int *out_ndim, int64_t *out_shape)
{
    call_enter(m, index);
    lam_status st;
    if (!m->ops->output_shape)
        st = lam__error(LAM_ERR_NOT_IMPLEMENTED, "%s does not declare its output shape",
                        lam_module_type_name(m));
    else
        st = m->ops->output_shape(m, ndim, shape, out_ndim, out_shape);
    return call_leave(st);
}

LAM_API lam_status lam_module_output_shape(lam_module *m, int ndim, const int64_t *shape,
                                           int *out_ndim, int64_t *out_shape)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(shape);
    LAM__CHECK_ARG(out_ndim);
    LAM__CHECK_ARG(out_shape);
    int64_t numel;
    lam_status st = lam__check_shape(ndim, shape, &numel);
    if (st)
        return st;
    return lam__call_shape(m, LAM__NO_INDEX, ndim, shape, out_ndim, out_shape);
}
