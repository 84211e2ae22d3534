/* The call machinery behind every forward (PyTorch's Module.__call__), and
 * error paths: when a module fails, the message is prefixed once with its
 * path from the outermost module being run on this thread, e.g.
 *   "ConditionalModel.layers[4] Linear(in_features=10): input has 2 features".
 * The path is found by searching each caller's children (through ModuleLists
 * and other containers the caller walks itself) for the callee. */
#include "runtime/internal.h"
#include "runtime/plan.h"
#include <stdlib.h>
#include <string.h>

#define CALL_STACK_MAX 256

static __thread lam_module *call_stack[CALL_STACK_MAX];
static __thread int call_depth;
static __thread bool error_located;

static bool is_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Append the key path from `from` down to `target` (exclusive of `from`). */
static bool find_path(const lam_module *from, const lam_module *target, lam__sb *sb, int depth)
{
    if (depth > 64)
        return false;
    for (size_t i = 0; i < from->n_children; i++) {
        size_t mark = sb->len;
        const char *name = from->children[i].name;
        if (is_digits(name))
            lam__sb_printf(sb, "[%s]", name);
        else
            lam__sb_printf(sb, ".%s", name);
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

static void locate_error(void)
{
    /* call_stack[0 .. call_depth-1] with the failing module on top */
    int depth = call_depth < CALL_STACK_MAX ? call_depth : CALL_STACK_MAX;
    if (depth < 2)
        return; /* the outermost module failed: its own message says enough */
    lam__sb sb = {0};
    lam__sb_puts(&sb, lam_module_type_name(call_stack[0]));
    for (int i = 1; i < depth; i++) {
        if (!find_path(call_stack[i - 1], call_stack[i], &sb, 0))
            lam__sb_printf(&sb, "->%s", lam_module_type_name(call_stack[i]));
    }
    if (!sb.failed)
        lam__error_prefix(sb.buf);
    free(sb.buf);
}

static lam_status run_leaf(lam_module *m, const lam_tensor *in, lam_tensor **out)
{
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
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

LAM_API lam_status lam_module_forward_args(lam_module *m, const lam_tensor *input, void *args,
                                           lam_tensor **output)
{
    LAM__CHECK_ARG(output);
    *output = NULL;
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(input);
    if (call_depth == 0)
        error_located = false;
    if (call_depth < CALL_STACK_MAX)
        call_stack[call_depth] = m;
    call_depth++;
    lam_status st;
    if (m->ops->forward)
        st = m->ops->forward(m, input, args, output);
    else
        st = run_leaf(m, input, output);
    if (st != LAM_OK && !error_located) {
        locate_error();
        error_located = true;
    }
    call_depth--;
    if (st != LAM_OK && *output) {
        lam_tensor_release(*output);
        *output = NULL;
    }
    return st;
}

lam_status lam__forward_step(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out)
{
    if (call_depth > 0 && call_depth <= CALL_STACK_MAX && call_stack[call_depth - 1] == m) {
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
        in->data < out->data + out->numel && out->data < in->data + in->numel)
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
    if (call_depth == 0)
        error_located = false;
    if (call_depth < CALL_STACK_MAX)
        call_stack[call_depth] = m;
    call_depth++;
    lam_status st = forward_into(m, input, args, output);
    if (st != LAM_OK && !error_located) {
        locate_error();
        error_located = true;
    }
    call_depth--;
    return st;
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
    if (!m->ops->output_shape)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED, "%s does not declare its output shape",
                          lam_module_type_name(m));
    return m->ops->output_shape(m, ndim, shape, out_ndim, out_shape);
}
