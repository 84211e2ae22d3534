/* Sequential and ModuleList (torch/nn/modules/container.py, 1.13). */
#include "runtime/nn/nn.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Has a child (at any depth of nested Sequentials) a forward with several
 * values?  Such a Sequential goes child by child, passing values. */
bool lam__seq_has_multi(const lam_module *m)
{
    for (size_t i = 0; i < m->n_children; i++) {
        const lam_module *c = m->children[i].module;
        if (lam_module_is_sequential(c) ? lam__seq_has_multi(c)
              : c->ops->kind == LAM__KIND_CUSTOM ? lam__custom_has_multi(c)
                                                 : c->ops->forward_multi != NULL)
            return true;
    }
    return false;
}

lam_status lam__sequential_output_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                        int64_t *out)
{
    int nd = ndim;
    int64_t shape[LAM_MAX_DIMS];
    memcpy(shape, in, sizeof(int64_t) * (size_t)ndim);
    for (size_t i = 0; i < m->n_children; i++) {
        lam_module *c = m->children[i].module;
        int nd2;
        int64_t s2[LAM_MAX_DIMS];
        lam_status st = lam__call_shape(c, i, nd, shape, &nd2, s2);
        if (st)
            return st;
        nd = nd2;
        memcpy(shape, s2, sizeof shape);
    }
    *out_ndim = nd;
    memcpy(out, shape, sizeof(int64_t) * (size_t)nd);
    return LAM_OK;
}

/* Sequential.forward: for module in self: input = module(input).  Runs
 * through a cached plan (fused, threaded, allocation-free inside; its errors
 * name the failing module's path); a Sequential that cannot be planned goes
 * child by child, and so does every Sequential while a forward hook is
 * installed, so that the hook sees every child's call. */
/* Sequential.forward(input) with values: for module in self: input =
 * module(input), whatever a module returns (a tuple is the next one's single
 * argument, as in PyTorch). */
static lam_status seq_chain(lam_module *m, lam__val x, lam__val *out)
{
    for (size_t i = 0; i < m->n_children; i++) {
        lam_tuple *arg;
        lam_status st = lam__tuple_of(&arg, &x);
        lam__val_clear(&x);
        if (st)
            return st;
        st = lam__call_forward_multi(m->children[i].module, i, arg, NULL, &x);
        lam_tuple_release(arg);
        if (st)
            return st;
    }
    *out = x;
    return LAM_OK;
}

static lam_status seq_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    if (in->n != 1)
        return in->n == 0
                   ? lam__error(LAM_ERR_TYPE,
                                "Sequential.forward() missing 1 required positional argument: "
                                "'input'")
                   : lam__error(LAM_ERR_TYPE,
                                "Sequential.forward() takes 2 positional arguments but %zu were "
                                "given",
                                in->n + 1);
    const lam__val *x0 = &in->items[0];
    if (x0->t && !lam__seq_has_multi(m)) { /* a tensor through tensor layers: the usual forward */
        lam_status st = m->ops->forward(m, x0->t, NULL, &out->t);
        return st;
    }
    lam__val x = {lam_tensor_retain(x0->t), lam_tuple_retain(x0->tup)};
    return seq_chain(m, x, out);
}

lam_status lam__sequential_forward(lam_module *m, const lam_tensor *in, void *args,
                                   lam_tensor **out)
{
    (void)args;
    if (m->n_children == 0)
        return lam_tensor_clone(out, in);
    bool unplannable = true;
    lam_status st = lam__forward_hooked() ? LAM_OK : lam__forward_planned(m, in, out, &unplannable);
    if (!unplannable)
        return st;
    if (__builtin_expect(lam__seq_has_multi(m), 0)) {
        /* a child takes or returns several values: tuples may pass between
         * children; the result must be a tensor here */
        lam__val y = {0};
        st = seq_chain(m, (lam__val){lam_tensor_retain((lam_tensor *)in), NULL}, &y);
        if (!st && !y.t)
            st = lam__error(LAM_ERR_TYPE,
                            "Sequential returned %s, not a tensor: call it with "
                            "lam_module_forward_multi",
                            y.tup ? "a tuple" : "None");
        if (st) {
            lam__val_clear(&y);
            return st;
        }
        *out = y.t;
        return LAM_OK;
    }
    const lam_tensor *x = in;
    lam_tensor *owned = NULL;
    for (size_t i = 0; i < m->n_children; i++) {
        lam_tensor *y;
        st = lam__call_forward(m->children[i].module, i, x, NULL, &y);
        lam_tensor_release(owned);
        if (st)
            return st;
        owned = y;
        x = y;
    }
    *out = owned;
    return LAM_OK;
}

static lam_status list_forward(lam_module *m, const lam_tensor *in, void *args, lam_tensor **out)
{
    (void)m, (void)in, (void)args, (void)out;
    return lam__error(LAM_ERR_NOT_IMPLEMENTED,
                      "ModuleList has no forward; use it inside a module that defines one");
}

static const lam__module_ops sequential_ops = {
    .type_name = "Sequential",
    .py_module = "torch.nn.modules.container",
    .kind = LAM__KIND_SEQUENTIAL,
    .output_shape = lam__sequential_output_shape,
    .forward = lam__sequential_forward,
    .forward_multi = seq_forward_multi,
};

static const lam__module_ops modulelist_ops = {
    .type_name = "ModuleList",
    .py_module = "torch.nn.modules.container",
    .kind = LAM__KIND_MODULELIST,
    .forward = list_forward,
};

/* What slicing, + and * make of a container: PyTorch 1.13's Sequential.__add__
 * and __mul__ make a plain Sequential, and so does slicing here for a
 * Sequential under another name (its type's state stays with it). */
static const lam__module_ops *plain_ops(const lam_module *c)
{
    return lam_module_is_sequential(c) ? &sequential_ops : c->ops;
}

static bool is_container(const lam_module *m)
{
    return lam_module_is_sequential(m) || lam_module_is_modulelist(m);
}

static lam_status create(lam_module **out, const lam__module_ops *ops, size_t n,
                         const char *const *names, lam_module *const *mods)
{
    *out = NULL; /* out and mods were checked by the public callers */
    lam_module *m;
    lam_status st = lam__module_new(&m, ops, NULL);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", i);
        if (!mods[i])
            st = lam__error(LAM_ERR_TYPE, "%s: element %zu is NULL, not a Module", ops->type_name, i);
        else
            st = lam_module_add_child(m, names ? names[i] : buf, mods[i]);
        if (st) {
            lam_module_release(m);
            return st;
        }
    }
    *out = m;
    return LAM_OK;
}

LAM_API lam_status lam_sequential_create(lam_module **out, size_t n, lam_module *const *mods)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARRAY(mods, n);
    return create(out, &sequential_ops, n, NULL, mods);
}

LAM_API lam_status lam_sequential_create_named(lam_module **out, size_t n, const char *const *names,
                                               lam_module *const *mods)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARRAY(names, n);
    LAM__CHECK_ARRAY(mods, n);
    return create(out, &sequential_ops, n, names, mods);
}

LAM_API lam_status lam_modulelist_create(lam_module **out, size_t n, lam_module *const *mods)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARRAY(mods, n);
    return create(out, &modulelist_ops, n, NULL, mods);
}

/* ---- list operations ---- */

static lam_status need_container(const lam_module *c, const char *op)
{
    if (!c)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: container is NULL", op);
    if (!is_container(c))
        return lam__error(LAM_ERR_TYPE, "'%s' object does not support %s", lam_module_type_name(c),
                          op);
    return LAM_OK;
}

/* _get_item_by_idx / _get_abs_string_index */
static lam_status abs_index(const lam_module *c, int64_t i, size_t *pos)
{
    int64_t n = (int64_t)c->n_children;
    if (!(-n <= i && i < n))
        return lam__error(LAM_ERR_INDEX, "index %" PRId64 " is out of range", i);
    *pos = (size_t)(i < 0 ? i + n : i);
    return LAM_OK;
}

LAM_API size_t lam_container_len(const lam_module *c)
{
    LAM__CHECK_ARG_OR(c, 0);
    return c->n_children;
}

LAM_API lam_status lam_container_get(lam_module *c, int64_t i, lam_module **out)
{
    LAM__CHECK_ARG(c);
    LAM__CHECK_ARG(out);
    lam_status st = need_container(c, "indexing");
    if (st)
        return st;
    *out = NULL;
    size_t pos = 0;
    if ((st = abs_index(c, i, &pos)))
        return st;
    *out = c->children[pos].module;
    return LAM_OK;
}

LAM_API lam_status lam_container_set(lam_module *c, int64_t i, lam_module *m)
{
    LAM__CHECK_ARG(c);
    LAM__CHECK_ARG(m);
    lam_status st = need_container(c, "item assignment");
    if (st)
        return st;
    size_t pos = 0;
    if ((st = abs_index(c, i, &pos)))
        return st;
    return lam_module_add_child(c, c->children[pos].name, m);
}

LAM_API lam_status lam_container_delete(lam_module *c, int64_t i)
{
    LAM__CHECK_ARG(c);
    lam_status st = need_container(c, "item deletion");
    if (st)
        return st;
    size_t pos = 0;
    if ((st = abs_index(c, i, &pos)))
        return st;
    lam__children_remove(c, pos);
    return lam__children_renumber(c); /* "To preserve numbering" */
}

/* Python's slice.indices(len) followed by range(start, stop, step) */
typedef struct slice_range {
    int64_t start, stop, step, count;
} slice_range;

static lam_status slice_indices(int64_t len, int64_t start, int64_t stop, int64_t step,
                                slice_range *r)
{
    if (step == LAM_NONE)
        step = 1;
    if (step == 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "slice step cannot be zero");
    int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? len - 1 : len;
    if (start == LAM_NONE) {
        start = step < 0 ? hi : lo;
    } else {
        if (start < 0)
            start += len;
        start = start < lo ? lo : start > hi ? hi : start;
    }
    if (stop == LAM_NONE) {
        stop = step < 0 ? lo : hi;
    } else {
        if (stop < 0)
            stop += len;
        stop = stop < lo ? lo : stop > hi ? hi : stop;
    }
    int64_t count = 0;
    if (step > 0 && start < stop)
        count = (stop - start - 1) / step + 1;
    else if (step < 0 && stop < start)
        count = (start - stop - 1) / (-step) + 1;
    r->start = start;
    r->stop = stop;
    r->step = step;
    r->count = count;
    return LAM_OK;
}

LAM_API lam_status lam_container_slice(lam_module *c, int64_t start, int64_t stop, int64_t step,
                                       lam_module **out)
{
    LAM__CHECK_ARG(c);
    LAM__CHECK_ARG(out);
    lam_status st = need_container(c, "slicing");
    if (st)
        return st;
    *out = NULL;
    slice_range r;
    if ((st = slice_indices((int64_t)c->n_children, start, stop, step, &r)))
        return st;
    lam_module *res;
    if ((st = lam__module_new(&res, plain_ops(c), NULL)))
        return st;
    bool keep_keys = lam_module_is_sequential(c); /* ModuleList renumbers */
    for (int64_t k = 0; k < r.count; k++) {
        size_t pos = (size_t)(r.start + k * r.step);
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, k);
        st = lam__children_insert(res, res->n_children, keep_keys ? c->children[pos].name : buf,
                                  c->children[pos].module);
        if (st) {
            lam_module_release(res);
            return st;
        }
    }
    *out = res;
    return LAM_OK;
}

LAM_API lam_status lam_container_delete_slice(lam_module *c, int64_t start, int64_t stop,
                                              int64_t step)
{
    LAM__CHECK_ARG(c);
    lam_status st = need_container(c, "item deletion");
    if (st)
        return st;
    slice_range r;
    if ((st = slice_indices((int64_t)c->n_children, start, stop, step, &r)))
        return st;
    /* mark, then remove from the back so positions stay valid */
    bool *del = calloc(c->n_children + 1, sizeof *del);
    if (!del)
        return lam__oom("slice deletion");
    for (int64_t k = 0; k < r.count; k++)
        del[r.start + k * r.step] = true;
    for (size_t pos = c->n_children; pos-- > 0;)
        if (del[pos])
            lam__children_remove(c, pos);
    free(del);
    return lam__children_renumber(c);
}

LAM_API lam_status lam_container_append(lam_module *c, lam_module *m)
{
    LAM__CHECK_ARG(c);
    LAM__CHECK_ARG(m);
    lam_status st = need_container(c, "append");
    if (st)
        return st;
    char buf[32];
    snprintf(buf, sizeof buf, "%zu", c->n_children);
    return lam_module_add_child(c, buf, m);
}

/* Snapshot other's children first: `a.extend(a)` must not loop forever. */
static lam_status snapshot(const lam_module *o, lam_module ***mods, size_t *n)
{
    *n = o->n_children;
    *mods = malloc((*n + 1) * sizeof **mods);
    if (!*mods)
        return lam__oom("container copy");
    for (size_t i = 0; i < *n; i++)
        (*mods)[i] = lam_module_retain(o->children[i].module);
    return LAM_OK;
}

static void snapshot_free(lam_module **mods, size_t n)
{
    for (size_t i = 0; i < n; i++)
        lam_module_release(mods[i]);
    free(mods);
}

LAM_API lam_status lam_container_extend(lam_module *c, lam_module *other)
{
    LAM__CHECK_ARG(c);
    LAM__CHECK_ARG(other);
    lam_status st = need_container(c, "extend");
    if (st)
        return st;
    if (!other || !is_container(other)) {
        const char *tn = other ? lam_module_type_name(other) : "NoneType";
        if (lam_module_is_modulelist(c))
            return lam__error(LAM_ERR_TYPE,
                              "ModuleList.extend should be called with an iterable, but got %s", tn);
        return lam__error(LAM_ERR_TYPE, "'%s' object is not iterable", tn);
    }
    lam_module **mods;
    size_t n;
    if ((st = snapshot(other, &mods, &n)))
        return st;
    for (size_t i = 0; i < n && !st; i++)
        st = lam_container_append(c, mods[i]);
    snapshot_free(mods, n);
    return st;
}

LAM_API lam_status lam_container_insert(lam_module *c, int64_t i, lam_module *m)
{
    LAM__CHECK_ARG(c);
    LAM__CHECK_ARG(m);
    lam_status st = need_container(c, "insert");
    if (st)
        return st;
    int64_t n = (int64_t)c->n_children;
    if (lam_module_is_sequential(c)) {
        if (!(-n <= i && i <= n))
            return lam__error(LAM_ERR_INDEX, "Index out of range: %" PRId64, i);
        if (i < 0)
            i += n;
    } else { /* list.insert semantics */
        if (i < 0)
            i = i + n < 0 ? 0 : i + n;
        if (i > n)
            i = n;
    }
    bool digits = true;
    for (size_t k = 0; k < c->n_children && digits; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", k);
        digits = strcmp(buf, c->children[k].name) == 0;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, i);
    if ((st = lam__children_insert(c, (size_t)i, buf, m)))
        return st;
    if (digits)
        return lam__children_renumber(c);
    return LAM_OK;
}

LAM_API lam_status lam_container_pop(lam_module *c, int64_t i, lam_module **out)
{
    LAM__CHECK_ARG(c);
    if (out)
        *out = NULL;
    lam_module *m;
    lam_status st = lam_container_get(c, i, &m);
    if (st)
        return st;
    lam_module_retain(m);
    if ((st = lam_container_delete(c, i))) {
        lam_module_release(m);
        return st;
    }
    if (out)
        *out = m;
    else
        lam_module_release(m);
    return LAM_OK;
}

static lam_status seq_only(const lam_module *a, const lam_module *b)
{
    if (lam_module_is_sequential(a) && !lam_module_is_sequential(b)) {
        char cls[160] = "<class 'NoneType'>";
        if (b)
            lam__py_class(b, cls, sizeof cls);
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "add operator supports only objects of Sequential class, but %s is given.",
                          cls);
    }
    return LAM_OK;
}

LAM_API lam_status lam_container_concat(lam_module *a, lam_module *b, lam_module **out)
{
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    LAM__CHECK_ARG(out);
    lam_status st = need_container(a, "+");
    if (st)
        return st;
    *out = NULL;
    if ((st = seq_only(a, b)))
        return st;
    lam_module *res;
    if ((st = lam__module_new(&res, plain_ops(a), NULL)))
        return st;
    if (!(st = lam_container_extend(res, a)))
        st = lam_container_extend(res, b);
    if (st) {
        lam_module_release(res);
        return st;
    }
    *out = res;
    return LAM_OK;
}

LAM_API lam_status lam_container_iadd(lam_module *a, lam_module *b)
{
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    lam_status st = need_container(a, "+=");
    if (st)
        return st;
    if ((st = seq_only(a, b)))
        return st;
    return lam_container_extend(a, b);
}

static lam_status check_factor(const lam_module *a, int64_t k)
{
    if (!lam_module_is_sequential(a)) {
        char cls[160];
        lam__py_class(a, cls, sizeof cls);
        return lam__error(LAM_ERR_TYPE, "unsupported operand type(s) for *: %s and <class 'int'>",
                          cls);
    }
    if (k <= 0) {
        char cls[160];
        lam__py_class(a, cls, sizeof cls);
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Non-positive multiplication factor %" PRId64
                          " for %s", k, cls);
    }
    return LAM_OK;
}

LAM_API lam_status lam_container_repeat(lam_module *a, int64_t k, lam_module **out)
{
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(out);
    lam_status st = need_container(a, "*");
    if (st)
        return st;
    *out = NULL;
    if ((st = check_factor(a, k)))
        return st;
    lam_module *res;
    if ((st = lam__module_new(&res, plain_ops(a), NULL)))
        return st;
    for (int64_t r = 0; r < k && !st; r++)
        st = lam_container_extend(res, a);
    if (st) {
        lam_module_release(res);
        return st;
    }
    *out = res;
    return LAM_OK;
}

LAM_API lam_status lam_container_irepeat(lam_module *a, int64_t k)
{
    LAM__CHECK_ARG(a);
    lam_status st = need_container(a, "*=");
    if (st)
        return st;
    if ((st = check_factor(a, k)))
        return st;
    lam_module **mods;
    size_t n;
    if ((st = snapshot(a, &mods, &n)))
        return st;
    for (int64_t r = 1; r < k && !st; r++)
        for (size_t i = 0; i < n && !st; i++)
            st = lam_container_append(a, mods[i]);
    snapshot_free(mods, n);
    return st;
}
