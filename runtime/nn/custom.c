/* Custom modules: the C form of subclassing nn.Module. */
#include "runtime/nn/nn.h"
#include <stdlib.h>

typedef struct custom_state {
    char *type_name;
    lam_forward_fn forward;
    lam_shape_fn output_shape;
    void *user;
    void (*user_free)(void *);
    unsigned flags; /* LAM_CUSTOM_* */
    lam_forward_multi_fn forward_multi; /* lam_custom_set_forward_multi */
} custom_state;

static lam_status custom_forward(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out)
{
    custom_state *s = m->state;
    if (!args && s->output_shape && !lam__fpool_active()) {
        /* called from outside: a cached plan runs this forward with a
         * forward pool (and on row blocks across threads when rowwise) */
        bool ran;
        lam_status st = lam__forward_planned_custom(m, in, out, NULL, &ran);
        if (ran)
            return st;
    }
    lam_status st = s->forward(m, in, args, out);
    if (st == LAM_OK && !*out)
        return lam__error(LAM_ERR_RUNTIME, "%s: forward returned success but no output",
                          s->type_name);
    return st;
}

/* forward(*inputs): the user's multi forward, or the single one for one tensor. */
static lam_status custom_forward_multi(lam_module *m, const lam_tuple *in, void *args,
                                       lam__val *out)
{
    custom_state *s = m->state;
    if (!s->forward_multi) {
        if (in->n == 1 && in->items[0].t)
            return custom_forward(m, in->items[0].t, args, &out->t);
        if (in->n != 1)
            return lam__error(LAM_ERR_TYPE,
                              "%s.forward() takes 2 positional arguments but %zu were given "
                              "(give it a forward with lam_custom_set_forward_multi)",
                              s->type_name, in->n + 1);
        return lam__error(LAM_ERR_TYPE,
                          "%s.forward(): argument 'input' (position 1) must be Tensor, not %s",
                          s->type_name, lam__val_type(&in->items[0]));
    }
    return s->forward_multi(m, in, args, &out->t, &out->tup);
}

static lam_status custom_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                               int64_t *out)
{
    custom_state *s = m->state;
    if (!s->output_shape)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED, "%s does not declare its output shape",
                          s->type_name);
    return s->output_shape(m, ndim, in, out_ndim, out);
}

static bool custom_rowwise(const lam_module *m, int ndim)
{
    (void)ndim;
    return ((const custom_state *)m->state)->flags & LAM_CUSTOM_ROWWISE;
}

static void custom_destroy(lam_module *m)
{
    custom_state *s = m->state;
    if (s->user_free)
        s->user_free(s->user);
    free(s->type_name);
    free(s);
}

static const lam__module_ops custom_ops = {
    .type_name = "Module",
    .py_module = "__main__",
    .kind = LAM__KIND_CUSTOM,
    .output_shape = custom_shape,
    .forward = custom_forward,
    .destroy = custom_destroy,
    .rowwise = custom_rowwise,
    .forward_multi = custom_forward_multi,
    /* the user's forward checks what it is given */
    .in_dtypes = 1u << LAM_FLOAT32 | 1u << LAM_INT64 | 1u << LAM_BOOL,
};

LAM_API lam_status lam_custom_create(lam_module **out, const lam_custom_spec *spec)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(spec);
    if (!spec || !spec->type_name || !*spec->type_name || !spec->forward)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "custom module: a type name and a forward function are required");
    custom_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom("custom module");
    s->type_name = lam__strdup(spec->type_name);
    if (!s->type_name) {
        free(s);
        return lam__oom("custom module");
    }
    s->forward = spec->forward;
    s->output_shape = spec->output_shape;
    lam_module *m;
    lam_status st = lam__module_new(&m, &custom_ops, s);
    if (st) {
        free(s->type_name);
        free(s);
        return st;
    }
    /* only now does the module own the user's state */
    s->user = spec->user;
    s->user_free = spec->user_free;
    m->type_name = s->type_name;
    *out = m;
    return LAM_OK;
}

bool lam__custom_has_multi(const lam_module *m)
{
    return ((const custom_state *)m->state)->forward_multi != NULL;
}

LAM_API lam_status lam_custom_set_forward_multi(lam_module *m, lam_forward_multi_fn fn)
{
    LAM__CHECK_ARG(m);
    if (m->ops->kind != LAM__KIND_CUSTOM)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_custom_set_forward_multi: %s is not a custom module",
                          lam_module_type_name(m));
    ((custom_state *)m->state)->forward_multi = fn;
    return LAM_OK;
}

LAM_API void *lam_module_user(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, NULL);
    if (!m || m->ops->kind != LAM__KIND_CUSTOM)
        return NULL;
    return ((custom_state *)m->state)->user;
}

LAM_API lam_status lam_custom_set_flags(lam_module *m, unsigned flags)
{
    LAM__CHECK_ARG(m);
    if (m->ops->kind != LAM__KIND_CUSTOM)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "custom_set_flags: %s is not a custom module (lam_custom_create)",
                          lam_module_type_name(m));
    if (flags & ~(unsigned)LAM_CUSTOM_ROWWISE)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "custom_set_flags: unknown flags 0x%x",
                          flags & ~(unsigned)LAM_CUSTOM_ROWWISE);
    ((custom_state *)m->state)->flags = flags;
    lam__module_touch(m); /* its plans chose their thread split without it */
    return LAM_OK;
}

LAM_API unsigned lam_custom_flags(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, 0);
    return m->ops->kind == LAM__KIND_CUSTOM ? ((const custom_state *)m->state)->flags : 0;
}
