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

/* stack[0 .. depth-1] with the failing module on top */
static void locate_in(lam_module *const *stack, int depth)
{
    if (depth < 2)
        return; /* the outermost module failed: its own message says enough */
    lam__sb sb = {0};
    lam__sb_puts(&sb, lam_module_type_name(stack[0]));
    for (int i = 1; i < depth; i++) {
        if (!find_path(stack[i - 1], stack[i], &sb, 0))
            lam__sb_printf(&sb, "->%s", lam_module_type_name(stack[i]));
    }
    if (!sb.failed)
        lam__error_prefix(sb.buf);
    free(sb.buf);
}

static void locate_error(void)
{
    locate_in(call_stack, call_depth < CALL_STACK_MAX ? call_depth : CALL_STACK_MAX);
}

void lam__error_locate(lam_module *const *chain, int n)
{
    int depth = call_depth < CALL_STACK_MAX ? call_depth : CALL_STACK_MAX;
    if (n < 1)
        return;
    if (depth == 0 || call_stack[depth - 1] != chain[0]) {
        locate_in(chain, n); /* not inside chain[0]'s forward: a plan run */
        return;
    }
    /* chain[0] is being forwarded: its path continues the call stack's */
    lam_module *stack[CALL_STACK_MAX + 64];
    int k = 0;
    for (int i = 0; i < depth; i++)
        stack[k++] = call_stack[i];
    for (int i = 1; i < n && k < CALL_STACK_MAX + 64; i++)
        stack[k++] = chain[i];
    locate_in(stack, k);
    error_located = true;
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
