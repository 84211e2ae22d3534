/* Modules: lifetime, children, the forward call machinery and error paths. */
#include "runtime/module/module.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The stamping of structure changes (module.h): through the parent links
 * that tree.c keeps, under its lock (taken only when a structure or mode
 * changes or a module with children is freed, never on a forward). */
static unsigned graph_stamp; /* the last stamp handed out */

static void stamp_up(lam_module *m, unsigned s)
{
    if (m->tree_version == s)
        return; /* reached before through another parent */
    __atomic_store_n(&m->tree_version, s, __ATOMIC_RELAXED);
    if (!m->parents)
        return;
    for (size_t i = 0; i < m->parents->cap; i++)
        if (m->parents->slots[i].key)
            stamp_up((lam_module *)m->parents->slots[i].key, s);
}

/* Own version before the release of anything: see runtime/exec/plan.h, lam__deps.
 * The caller holds lam__tree_lock. */
static void touch_locked(lam_module *m)
{
    __atomic_add_fetch(&m->version, 1, __ATOMIC_RELAXED);
    stamp_up(m, ++graph_stamp);
}

void lam__module_touch(lam_module *m)
{
    lam__tree_lock();
    touch_locked(m);
    lam__tree_unlock();
}

lam_status lam__module_new(lam_module **out, const lam__module_ops *ops, void *state)
{
    lam_module *m = calloc(1, sizeof *m);
    if (!m)
        return lam__oom(ops->type_name);
    m->ops = ops;
    m->refcount = 1;
    m->training = true; /* PyTorch modules start in training mode */
    m->state = state;
    *out = m;
    return LAM_OK;
}

LAM_API lam_module *lam_module_retain(lam_module *m)
{
    if (m)
        __atomic_add_fetch(&m->refcount, 1, __ATOMIC_RELAXED);
    return m;
}

LAM_API void lam_module_release(lam_module *m)
{
    if (!m || __atomic_sub_fetch(&m->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (m->plans)
        m->plans->free(m->plans);
    if (m->folds)
        m->folds->free(m->folds);
    if (m->ops->destroy)
        m->ops->destroy(m);
    lam__tree_forget(m);
    for (size_t i = 0; i < m->n_children; i++) {
        lam_module_release(m->children[i].module);
        free(m->children[i].name);
    }
    free(m->children);
    for (size_t i = 0; i < m->n_params; i++) {
        lam_tensor_release(m->params[i].tensor);
        free(m->params[i].name);
    }
    free(m->params);
    free(m);
}

LAM_API const char *lam_module_type_name(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, "(null)");
    return m->type_name ? m->type_name : m->ops->type_name;
}

void lam__py_class(const lam_module *m, char *buf, size_t size)
{
    snprintf(buf, size, "<class '%s.%s'>", m->ops->py_module ? m->ops->py_module : "__main__",
             lam_module_type_name(m));
}

lam_status lam__module_add_param(lam_module *m, const char *name, lam_tensor *t)
{
    lam__param *p = m->params;
    if (!(m->n_params & (m->n_params - 1))) { /* 0, 1, 2, 4, ...: full, grow 2x */
        p = realloc(m->params, (m->n_params ? 2 * m->n_params : 1) * sizeof *p);
        if (!p)
            return lam__oom("parameter list");
        m->params = p;
    }
    char *nm = lam__strdup(name);
    if (!nm)
        return lam__oom("parameter name");
    p[m->n_params].name = nm;
    p[m->n_params].tensor = t;
    p[m->n_params].declared = true;
    p[m->n_params].kept = false;
    p[m->n_params].buffer = false;
    p[m->n_params].persistent = false;
    p[m->n_params].zero_if_missing = false;
    m->n_params++;
    lam__names_param_added(m);
    __atomic_add_fetch(&m->params_version, 1, __ATOMIC_RELEASE);
    return LAM_OK;
}

lam_status lam__module_add_buffer(lam_module *m, const char *name, lam_tensor *t, bool persistent)
{
    lam_status st = lam__module_add_param(m, name, t);
    if (!st) {
        m->params[m->n_params - 1].buffer = true;
        m->params[m->n_params - 1].persistent = persistent;
    }
    return st;
}

/* ---- children ---- */

lam_status lam__children_insert(lam_module *m, size_t pos, const char *name, lam_module *child)
{
    if (m->n_children == m->cap_children) {
        size_t cap = m->cap_children ? m->cap_children * 2 : 4;
        lam__named_module *c = realloc(m->children, cap * sizeof *c);
        if (!c)
            return lam__oom("child list");
        m->children = c;
        m->cap_children = cap;
    }
    char *nm = lam__strdup(name);
    if (!nm)
        return lam__oom("child name");
    lam__tree_lock();
    lam_status st = lam__tree_attach(m, child); /* cycles, depth */
    if (st) {
        lam__tree_unlock();
        free(nm);
        return st;
    }
    touch_locked(m);
    memmove(m->children + pos + 1, m->children + pos, (m->n_children - pos) * sizeof *m->children);
    m->children[pos].name = nm;
    m->children[pos].module = lam_module_retain(child);
    m->n_children++;
    lam__names_added(m, pos);
    lam__tree_unlock();
    return LAM_OK;
}

void lam__children_remove(lam_module *m, size_t pos)
{
    lam_module *child = m->children[pos].module;
    free(m->children[pos].name);
    lam__tree_lock();
    memmove(m->children + pos, m->children + pos + 1,
            (m->n_children - pos - 1) * sizeof *m->children);
    m->n_children--;
    lam__tree_detach(m, child);
    lam__names_rebuild(m);
    touch_locked(m);
    lam__tree_unlock();
    lam_module_release(child);
}

lam_status lam__children_renumber(lam_module *m)
{
    /* allocate all names first so that failure leaves the keys as they were */
    char **names = malloc((m->n_children + 1) * sizeof *names);
    if (!names)
        return lam__oom("child names");
    for (size_t i = 0; i < m->n_children; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%zu", i);
        names[i] = lam__strdup(buf);
        if (!names[i]) {
            while (i--)
                free(names[i]);
            free(names);
            return lam__oom("child names");
        }
    }
    lam__tree_lock();
    for (size_t i = 0; i < m->n_children; i++) {
        free(m->children[i].name);
        m->children[i].name = names[i];
    }
    lam__names_rebuild(m);
    lam__tree_unlock();
    free(names);
    return LAM_OK;
}

static lam_status check_child_name(const char *name)
{
    if (!*name)
        return lam__error(LAM_ERR_KEY, "module name can't be empty string \"\"");
    if (strchr(name, '.'))
        return lam__error(LAM_ERR_KEY, "module name can't contain \".\", got: %s", name);
    return LAM_OK;
}

LAM_API lam_status lam_module_add_child(lam_module *parent, const char *name, lam_module *child)
{
    LAM__SYNC();
    LAM__CHECK_ARG(parent);
    LAM__CHECK_ARG(name);
    LAM__CHECK_ARG(child);
    lam_status st = check_child_name(name);
    if (st)
        return st;
    size_t len = strlen(name);
    if (lam__module_param_pos(parent, name, len) >= 0)
        return lam__error(LAM_ERR_KEY, "attribute '%s' already exists", name);
    ptrdiff_t i = lam__module_child_pos(parent, name, len);
    if (i >= 0) {
        /* PyTorch replaces an existing child of the same name, in place */
        lam__tree_lock();
        st = lam__tree_attach(parent, child); /* cycles, depth */
        if (st) {
            lam__tree_unlock();
            return st;
        }
        lam_module *old = parent->children[i].module;
        parent->children[i].module = lam_module_retain(child);
        lam__tree_detach(parent, old);
        touch_locked(parent);
        lam__tree_unlock();
        lam_module_release(old);
        return LAM_OK;
    }
    return lam__children_insert(parent, parent->n_children, name, child);
}

LAM_API size_t lam_module_num_children(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, 0);
    return m->n_children;
}

LAM_API lam_module *lam_module_child_at(const lam_module *m, size_t i, const char **name)
{
    LAM__CHECK_ARG_OR(m, NULL);
    if (i >= m->n_children)
        return NULL;
    if (name)
        *name = m->children[i].name;
    return m->children[i].module;
}

LAM_API lam_module *lam_module_child(const lam_module *m, const char *name)
{
    LAM__CHECK_ARG_OR(m, NULL);
    LAM__CHECK_ARG_OR(name, NULL);
    ptrdiff_t i = lam__module_child_pos(m, name, strlen(name));
    return i >= 0 ? m->children[i].module : NULL;
}

LAM_API lam_status lam_module_get_submodule(lam_module *m, const char *path, lam_module **out)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(path);
    LAM__CHECK_ARG(out);
    *out = NULL;
    lam_module *cur = m;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        ptrdiff_t i = lam__module_child_pos(cur, p, n);
        lam_module *next = i >= 0 ? cur->children[i].module : NULL;
        if (!next)
            return lam__error(LAM_ERR_KEY, "%s has no attribute `%.*s`", lam_module_type_name(cur),
                              (int)n, p);
        cur = next;
        p += n;
        if (*p == '.')
            p++;
    }
    *out = cur;
    return LAM_OK;
}

/* ---- modes and traversal ---- */

/* Each module once: a module shared k times at each of d levels would
 * otherwise be visited k^d times. */
static void train_rec(lam_module *m, bool mode, lam__ptrmap *seen)
{
    bool added = true;
    if (!lam__ptrmap_put(seen, m, 0, &added))
        added = true; /* out of memory: visit again rather than skip */
    if (!added)
        return;
    if (m->training != mode) { /* unchanged modules keep their plans */
        m->training = mode;
        lam__module_touch(m);
    }
    for (size_t i = 0; i < m->n_children; i++)
        train_rec(m->children[i].module, mode, seen);
}

LAM_API void lam_module_train(lam_module *m, bool mode)
{
    LAM__CHECK_ARG_OR(m, );
    (void)lam__sync(); /* deferred calls run in the mode they were called in */
    lam__ptrmap seen = {0};
    train_rec(m, mode, &seen);
    lam__ptrmap_free(&seen);
}

LAM_API void lam_module_eval(lam_module *m)
{
    LAM__CHECK_ARG_OR(m, );
    lam_module_train(m, false);
}

LAM_API bool lam_module_is_training(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, false);
    return m->training;
}

static lam_status apply_rec(lam_module *m, lam_module_visit_fn fn, void *user, lam__ptrmap *seen)
{
    bool added;
    if (!lam__ptrmap_put(seen, m, 0, &added))
        return lam__oom("apply");
    if (!added)
        return LAM_OK;
    for (size_t i = 0; i < m->n_children; i++) {
        lam_status st = apply_rec(m->children[i].module, fn, user, seen);
        if (st)
            return st;
    }
    return fn(m, user);
}

LAM_API lam_status lam_module_apply(lam_module *m, lam_module_visit_fn fn, void *user)
{
    LAM__SYNC();
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(fn);
    lam__ptrmap seen = {0};
    lam_status st = apply_rec(m, fn, user, &seen);
    lam__ptrmap_free(&seen);
    return st;
}

/* The container kinds are the module's (its ops'), so exec/ can ask them
 * without calling into nn/. */
LAM_API bool lam_module_is_sequential(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, false);
    return m && m->ops->kind == LAM__KIND_SEQUENTIAL;
}

LAM_API bool lam_module_is_modulelist(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, false);
    return m && m->ops->kind == LAM__KIND_MODULELIST;
}

static __thread struct {
    unsigned serial;
    int n;
    lam_module *m[LAM__WITHIN_MAX];
} within;

void lam__error_within(lam_module *d)
{
    if (!d)
        return;
    if (within.serial != lam__error_serial())
        within.n = 0;
    within.serial = lam__error_serial();
    int n = within.n < LAM__WITHIN_MAX ? within.n : LAM__WITHIN_MAX - 1; /* the innermost goes */
    memmove(within.m + 1, within.m, sizeof within.m[0] * (size_t)n);
    within.m[0] = d;
    within.n = n + 1;
}

int lam__error_within_take(lam_module **chain, int max)
{
    int n = within.serial == lam__error_serial() ? within.n : 0;
    if (n > max)
        n = max;
    memcpy(chain, within.m, sizeof within.m[0] * (size_t)n);
    within.n = 0;
    return n;
}
