/* Modules made from a layer-type descriptor (host->module_new): lam__module_ops
 * that call the type's callbacks, check what they return, and hold a
 * reference on the providing plugin for as long as the module lives. */
#include "runtime/plugin/plugin.h"
#include "runtime/exec/plan.h"
#include <stdlib.h>
#include <string.h>

#define EXTRA_REPR_MAX 65536

typedef struct pmod {
    lam__type_entry *entry; /* lives as long as its plugin, which we hold */
    void *state;
} pmod;

static const lam_layer_type *type_of(const lam_module *m)
{
    return &((const pmod *)m->state)->entry->type;
}

lam_status lam__plugin_status(lam_status st)
{
    return (unsigned)st > (unsigned)LAM_ERR_RUNTIME ? LAM_ERR_RUNTIME : st;
}

void lam__plugin_error_begin(void) { lam_clear_error(); }

lam_status lam__plugin_error_end(lam_status st, const char *type_name, const char *what)
{
    st = lam__plugin_status(st);
    if (st == LAM_OK || lam__error_located()) /* a child's, with its path */
        return st;
    const char *msg = lam_last_error();
    if (!*msg)
        return lam__error(st, "%s: %s failed (%s)", type_name, what, lam_status_str(st));
    size_t n = strlen(type_name);
    if (strncmp(msg, type_name, n) != 0) {
        char prefix[160];
        snprintf(prefix, sizeof prefix, "%s:", type_name);
        lam__error_prefix(prefix);
    }
    return st;
}

static lam_status pm_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim, int64_t *out)
{
    const lam_layer_type *t = type_of(m);
    if (!t->output_shape) {
        if (t->forward)
            return lam__error(LAM_ERR_NOT_IMPLEMENTED, "%s does not declare its output shape",
                              t->name);
        *out_ndim = ndim;
        memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
        return LAM_OK;
    }
    int nd = -1;
    int64_t shape[LAM_MAX_DIMS] = {0};
    lam__plugin_error_begin();
    lam_status st = t->output_shape(lam__host_api(), m, ndim, in, &nd, shape);
    if (st)
        return lam__plugin_error_end(st, t->name, "output_shape");
    int64_t numel;
    if (nd < 1 || nd > LAM_MAX_DIMS || lam__check_shape(nd, shape, &numel))
        return lam__error(LAM_ERR_RUNTIME, "%s: output_shape returned an invalid shape", t->name);
    *out_ndim = nd;
    memcpy(out, shape, sizeof(int64_t) * (size_t)nd);
    return LAM_OK;
}

static lam_status pm_forward_into(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const lam_layer_type *t = type_of(m);
    lam__plugin_error_begin();
    lam_status st = t->forward_into(lam__host_api(), m, in, out);
    return st ? lam__plugin_error_end(st, t->name, "forward") : LAM_OK;
}

static lam_status pm_forward(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out)
{
    const lam_layer_type *t = type_of(m);
    if (!args && t->output_shape && !lam__fpool_active()) {
        /* called from outside: a cached plan runs this container with a
         * forward pool (and on row blocks across threads when rowwise) */
        bool ran;
        lam_status st = lam__forward_planned_custom(m, in, out, NULL, &ran);
        if (ran)
            return st;
    }
    lam__plugin_error_begin();
    lam_status st = lam__plugin_status(t->forward(lam__host_api(), m, in, args, out));
    if (st) /* a container passes its children's located errors on unchanged */
        return lam__plugin_error_end(st, t->name, "forward");
    if (!*out)
        return lam__error(LAM_ERR_RUNTIME, "%s: forward returned success but no output", t->name);
    return LAM_OK;
}

static lam_status pm_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    const lam_layer_type *t = type_of(m);
    lam__plugin_error_begin();
    lam_status st = lam__plugin_status(
        t->forward_multi(lam__host_api(), m, in, args, &out->t, &out->tup));
    if (st) {
        lam__val_clear(out);
        return lam__plugin_error_end(st, t->name, "forward_multi");
    }
    return LAM_OK;
}

static int pm_extra_repr(const lam_module *m, char *buf, size_t size)
{
    const lam_layer_type *t = type_of(m);
    if (size)
        buf[0] = '\0';
    if (!t->extra_repr)
        return 0;
    int n = t->extra_repr(lam__host_api(), m, buf, size);
    if (size)
        buf[size - 1] = '\0';
    if (n < 0) {
        if (size)
            buf[0] = '\0';
        return 0;
    }
    return n > EXTRA_REPR_MAX ? EXTRA_REPR_MAX : n;
}

static bool pm_rowwise(const lam_module *m, int ndim)
{
    const lam_layer_type *t = type_of(m);
    if (t->rowwise)
        return t->rowwise(lam__host_api(), m, ndim);
    return t->flags & LAM_LAYER_ROWWISE;
}

/* Sample blocks (ABI 1.7): the flag, or the type's answer for this rank. */
static uint32_t pm_block_caps(const lam_module *m, int ndim)
{
    const lam_layer_type *t = type_of(m);
    if (t->capabilities)
        return t->capabilities(lam__host_api(), m, ndim);
    return t->flags;
}

static bool pm_sample_blocks(const lam_module *m, int ndim)
{
    return ndim >= 2 && (pm_block_caps(m, ndim) & LAM_LAYER_SAMPLE_BLOCKS);
}

static bool pm_planewise(const lam_module *m, int ndim)
{
    return ndim >= 2 && (pm_block_caps(m, ndim) & LAM_LAYER_PLANEWISE);
}

/* The capabilities a type declares (lam_layer_type, ABI 1.1), as the
 * executor asks them of any layer. */
static lam_activation pm_epilogue_act(const lam_module *m, float *alpha)
{
    const lam_layer_type *t = type_of(m);
    lam_activation f = LAM_ACTIVATION_IDENTITY;
    float a = 0.0f;
    *alpha = 0.0f;
    if (!t->as_activation(lam__host_api(), m, &f, &a))
        return LAM_ACTIVATION_IDENTITY;
    /* only the epilogue's ones fuse */
    if (f == LAM_ACTIVATION_IDENTITY || (unsigned)f >= LAM_ACTIVATION__EPILOGUE_COUNT)
        return LAM_ACTIVATION_IDENTITY;
    *alpha = a;
    return f;
}

static lam_status pm_run_rows(lam_module *m, const float *x, int64_t rows, float *y,
                              lam__epilogue ep, size_t n_begin, size_t n_end)
{
    const lam_layer_type *t = type_of(m);
    if (ep.add) /* forward_rows has no addend to pass it to */
        return lam__error(LAM_ERR_RUNTIME, "%s: a residual addend in a plugin layer's epilogue "
                          "is not supported (internal error)", t->name);
    lam__plugin_error_begin();
    lam_status st = t->forward_rows(lam__host_api(), m, x, rows, y, ep.act,
                                    ep.alpha, n_begin, n_end);
    return st ? lam__plugin_error_end(st, t->name, "forward_rows") : LAM_OK;
}

static double pm_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                       const int64_t *out)
{
    const lam_layer_type *t = type_of(m);
    double f = t->flops(lam__host_api(), m, in_ndim, in, out_ndim, out);
    return f >= 0.0 ? f : 0.0; /* NaN and negatives count as nothing */
}

static int pm_channel_affine(const lam_module *m, int ndim, const int64_t *in, double *scale,
                             double *shift)
{
    const lam_layer_type *t = type_of(m);
    return t->channel_affine(lam__host_api(), m, ndim, in, scale, shift);
}

static int pm_affine_axis(const lam_module *m, int out_ndim, const int64_t *out)
{
    const lam_layer_type *t = type_of(m);
    return t->affine_axis(lam__host_api(), m, out_ndim, out);
}

static lam_status pm_fold_affine(const lam_module *m, const double *scale, const double *shift,
                                 lam_module **folded)
{
    const lam_layer_type *t = type_of(m);
    lam_module *before = *folded;
    lam__plugin_error_begin();
    lam_status st = lam__plugin_status(t->fold_affine(lam__host_api(), m, scale, shift, folded));
    if (st) {
        if (*folded != before) { /* a module it made before failing */
            lam_module_release(*folded);
            *folded = before;
        }
        return lam__plugin_error_end(st, t->name, "fold_affine");
    }
    if (!*folded || (before && *folded != before))
        return lam__error(LAM_ERR_PLUGIN, "%s: fold_affine %s", t->name,
                          *folded ? "replaced the module it was given to update"
                                  : "returned success but no module");
    return LAM_OK;
}

static void pm_destroy(lam_module *m)
{
    pmod *p = m->state;
    const lam_layer_type *t = &p->entry->type;
    struct lam_plugin *owner = p->entry->owner;
    if (t->destroy)
        t->destroy(lam__host_api(), p->state);
    free(p);
    m->state = NULL;
    /* Last: this may close the library (and free the entry and these ops);
     * module.c reads nothing of m->ops after destroy. */
    if (owner)
        lam__plugin_release(owner);
}

void lam__plugin_ops_init(lam__type_entry *e)
{
    lam__module_ops *o = &e->ops;
    memset(o, 0, sizeof *o);
    o->type_name = e->name;
    o->py_module = e->type.py_module ? e->type.py_module : "__main__";
    o->kind = LAM__KIND_LEAF;
    o->output_shape = pm_shape;
    if (e->type.forward)
        o->forward = pm_forward;
    else
        o->forward_into = pm_forward_into;
    o->extra_repr = pm_extra_repr;
    o->destroy = pm_destroy;
    if (e->type.flags & LAM_LAYER_SEQUENTIAL) {
        /* a Sequential under the type's name: the executor plans, fuses and
         * splits it as any Sequential, and the container API edits it */
        o->kind = LAM__KIND_SEQUENTIAL;
        o->output_shape = lam__sequential_output_shape;
        o->forward = lam__sequential_forward;
        o->forward_into = NULL;
        return;
    }
    o->rowwise = pm_rowwise;
    if (e->type.as_activation)
        o->epilogue_act = pm_epilogue_act;
    if (e->type.forward_rows && e->type.forward_into)
        o->run_rows = pm_run_rows;
    if (e->type.flops)
        o->flops = pm_flops;
    if (e->type.channel_affine)
        o->channel_affine = pm_channel_affine;
    if (e->type.affine_axis && e->type.fold_affine) {
        o->affine_axis = pm_affine_axis;
        o->fold_affine = pm_fold_affine;
    }
    if (e->type.forward_multi)
        o->forward_multi = pm_forward_multi;
    if (e->type.forward_into &&
        (e->type.capabilities || (e->type.flags & LAM_LAYER_SAMPLE_BLOCKS)))
        o->sample_blocks = pm_sample_blocks;
    if (e->type.forward_into && (e->type.capabilities || (e->type.flags & LAM_LAYER_PLANEWISE)))
        o->planewise = pm_planewise;
}

static bool is_plugin_module(const lam_module *m) { return m && m->ops->destroy == pm_destroy; }

lam_status lam__plugin_module_new(lam_module **out, const lam_layer_type *type, void *state)
{
    if (!out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "module_new: output pointer is NULL");
    *out = NULL;
    if (!type)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "module_new: layer type is NULL");
    lam__registry_lock();
    lam__type_entry *e = lam__registry_find_type_locked(type);
    if (e && e->owner)
        lam__plugin_retain(e->owner);
    lam__registry_unlock();
    if (!e)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "module_new: the layer type is not registered (register it in "
                          "register_types and pass the same pointer)");
    lam_status st = LAM_OK;
    if (!e->type.forward_into && !e->type.forward && !(e->type.flags & LAM_LAYER_SEQUENTIAL))
        st = lam__error(LAM_ERR_PLUGIN, "%s declares neither forward_into nor forward", e->name);
    pmod *p = st ? NULL : calloc(1, sizeof *p);
    if (!st && !p)
        st = lam__oom(e->name);
    if (!st) {
        p->entry = e;
        p->state = state;
        st = lam__module_new(out, &e->ops, p);
        if (st)
            free(p);
        else
            lam__create_track(*out);
    }
    if (st && e->owner)
        lam__plugin_release(e->owner);
    return st;
}

lam__type_entry *lam__plugin_module_entry(const lam_module *m)
{
    return is_plugin_module(m) ? ((const pmod *)m->state)->entry : NULL;
}

void *lam__plugin_module_state(const lam_module *m)
{
    return is_plugin_module(m) ? ((const pmod *)m->state)->state : NULL;
}

lam_tensor *lam__module_param(const lam_module *m, const char *name)
{
    if (!m || !name)
        return NULL;
    ptrdiff_t i = lam__module_param_pos(m, name, strlen(name));
    return i >= 0 ? m->params[i].tensor : NULL;
}

lam_status lam__plugin_module_add_param(lam_module *m, const char *name, int ndim,
                                        const int64_t *shape, lam_tensor **param)
{
    if (param)
        *param = NULL;
    if (!is_plugin_module(m))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "module_add_param: not a module made with module_new");
    if (!name || !*name || strchr(name, '.'))
        return lam__error(LAM_ERR_KEY, "%s: parameter name must be non-empty and without '.'",
                          lam_module_type_name(m));
    if (lam__module_param(m, name) || lam_module_child(m, name))
        return lam__error(LAM_ERR_KEY, "%s: attribute '%s' already exists",
                          lam_module_type_name(m), name);
    int64_t numel;
    lam_status st = lam__check_shape(ndim, shape, &numel);
    if (st)
        return st;
    /* counted before it is allocated (model files have a parameter limit) */
    char sh[96];
    if ((st = lam__budget_charge(numel, "%s: parameter '%.60s' of shape %s",
                                 lam_module_type_name(m), name,
                                 lam_shape_str(ndim, shape, sh, sizeof sh))))
        return st;
    lam_tensor *t;
    if ((st = lam_tensor_create(&t, ndim, shape)))
        return st;
    if ((st = lam__module_add_param(m, name, t))) {
        lam_tensor_release(t);
        return st;
    }
    m->params[m->n_params - 1].kept = true;
    if (param)
        *param = t;
    return LAM_OK;
}
