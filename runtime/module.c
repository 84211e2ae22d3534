/* Modules: lifetime, children, the forward call machinery and error paths. */
#include "runtime/internal.h"
#include "runtime/plan.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The parent links and the stamping of structure changes (internal.h):
 * one lock for all modules, taken only when a structure or mode changes or
 * a module with children is freed, never on a forward. */
static pthread_mutex_t graph_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned graph_stamp; /* the last stamp handed out */

static void stamp_up(lam_module *m, unsigned s)
{
    if (m->tree_version == s)
        return; /* reached before through another parent */
    __atomic_store_n(&m->tree_version, s, __ATOMIC_RELAXED);
    for (size_t i = 0; i < m->n_parents; i++)
        stamp_up(m->parents[i], s);
}

/* Own version before the release of anything: see runtime/plan.h, lam__deps. */
static void touch_locked(lam_module *m)
{
    __atomic_add_fetch(&m->version, 1, __ATOMIC_RELAXED);
    stamp_up(m, ++graph_stamp);
}

void lam__module_touch(lam_module *m)
{
    pthread_mutex_lock(&graph_lock);
    touch_locked(m);
    pthread_mutex_unlock(&graph_lock);
}

static bool add_parent_locked(lam_module *child, lam_module *parent)
{
    if (child->n_parents == child->cap_parents) {
        size_t cap = child->cap_parents ? child->cap_parents * 2 : 2;
        lam_module **p = realloc(child->parents, cap * sizeof *p);
        if (!p)
            return false;
        child->parents = p;
        child->cap_parents = cap;
    }
    child->parents[child->n_parents++] = parent;
    return true;
}

static void remove_parent_locked(lam_module *child, lam_module *parent)
{
    for (size_t i = 0; i < child->n_parents; i++) {
        if (child->parents[i] == parent) {
            child->parents[i] = child->parents[--child->n_parents];
            return;
        }
    }
}

lam_status lam__module_new(lam_module **out, const lam_module_ops *ops, void *state)
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
    lam__plan_cache_free(m->plans);
    if (m->ops->destroy)
        m->ops->destroy(m);
    if (m->n_children) {
        pthread_mutex_lock(&graph_lock);
        for (size_t i = 0; i < m->n_children; i++)
            remove_parent_locked(m->children[i].module, m);
        pthread_mutex_unlock(&graph_lock);
    }
    free(m->parents); /* empty: every parent held a reference */
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
    if (!m)
        return "(null)";
    return m->type_name ? m->type_name : m->ops->type_name;
}

void lam__py_class(const lam_module *m, char *buf, size_t size)
{
    snprintf(buf, size, "<class '%s.%s'>", m->ops->py_module ? m->ops->py_module : "__main__",
             lam_module_type_name(m));
}

lam_status lam__module_add_param(lam_module *m, const char *name, lam_tensor *t)
{
    lam__param *p = realloc(m->params, (m->n_params + 1) * sizeof *p);
    if (!p)
        return lam__oom("parameter list");
    m->params = p;
    char *nm = lam__strdup(name);
    if (!nm)
        return lam__oom("parameter name");
    p[m->n_params].name = nm;
    p[m->n_params].tensor = t;
    p[m->n_params].declared = true;
    p[m->n_params].kept = false;
    m->n_params++;
    __atomic_add_fetch(&m->params_version, 1, __ATOMIC_RELEASE);
    return LAM_OK;
}

/* ---- children ---- */

static bool reaches(const lam_module *from, const lam_module *target, int depth)
{
    if (from == target)
        return true;
    if (depth > 100000)
        return true; /* absurd depth: treat as a cycle rather than overflow */
    for (size_t i = 0; i < from->n_children; i++)
        if (reaches(from->children[i].module, target, depth + 1))
            return true;
    return false;
}

lam_status lam__children_insert(lam_module *m, size_t pos, const char *name, lam_module *child)
{
    if (reaches(child, m, 0)) {
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "cannot add %s as a child of itself or of one of its descendants",
                          lam_module_type_name(child));
    }
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
    pthread_mutex_lock(&graph_lock);
    bool linked = add_parent_locked(child, m);
    if (linked)
        touch_locked(m);
    pthread_mutex_unlock(&graph_lock);
    if (!linked) {
        free(nm);
        return lam__oom("parent list");
    }
    memmove(m->children + pos + 1, m->children + pos, (m->n_children - pos) * sizeof *m->children);
    m->children[pos].name = nm;
    m->children[pos].module = lam_module_retain(child);
    m->n_children++;
    return LAM_OK;
}

void lam__children_remove(lam_module *m, size_t pos)
{
    pthread_mutex_lock(&graph_lock);
    remove_parent_locked(m->children[pos].module, m);
    touch_locked(m);
    pthread_mutex_unlock(&graph_lock);
    lam_module_release(m->children[pos].module);
    free(m->children[pos].name);
    memmove(m->children + pos, m->children + pos + 1,
            (m->n_children - pos - 1) * sizeof *m->children);
    m->n_children--;
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
    for (size_t i = 0; i < m->n_children; i++) {
        free(m->children[i].name);
        m->children[i].name = names[i];
    }
    free(names);
    return LAM_OK;
}

static lam_status check_child_name(const char *name)
{
    if (!name)
        return lam__error(LAM_ERR_TYPE, "module name should be a string. Got NoneType");
    if (!*name)
        return lam__error(LAM_ERR_KEY, "module name can't be empty string \"\"");
    if (strchr(name, '.'))
        return lam__error(LAM_ERR_KEY, "module name can't contain \".\", got: %s", name);
    return LAM_OK;
}

LAM_API lam_status lam_module_add_child(lam_module *parent, const char *name, lam_module *child)
{
    if (!parent)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "add_module: parent is NULL");
    lam_status st = check_child_name(name);
    if (st)
        return st;
    if (!child)
        return lam__error(LAM_ERR_TYPE, "None is not a Module subclass");
    for (size_t i = 0; i < parent->n_params; i++)
        if (strcmp(parent->params[i].name, name) == 0)
            return lam__error(LAM_ERR_KEY, "attribute '%s' already exists", name);
    for (size_t i = 0; i < parent->n_children; i++) {
        if (strcmp(parent->children[i].name, name) == 0) {
            /* PyTorch replaces an existing child of the same name, in place */
            if (reaches(child, parent, 0))
                return lam__error(LAM_ERR_INVALID_ARGUMENT,
                                  "cannot add %s as a child of itself or of one of its descendants",
                                  lam_module_type_name(child));
            lam_module *old = parent->children[i].module;
            pthread_mutex_lock(&graph_lock);
            bool linked = add_parent_locked(child, parent);
            if (linked) {
                remove_parent_locked(old, parent);
                touch_locked(parent);
            }
            pthread_mutex_unlock(&graph_lock);
            if (!linked)
                return lam__oom("parent list");
            parent->children[i].module = lam_module_retain(child);
            lam_module_release(old);
            return LAM_OK;
        }
    }
    return lam__children_insert(parent, parent->n_children, name, child);
}

LAM_API size_t lam_module_num_children(const lam_module *m) { return m ? m->n_children : 0; }

LAM_API lam_module *lam_module_child_at(const lam_module *m, size_t i, const char **name)
{
    if (!m || i >= m->n_children)
        return NULL;
    if (name)
        *name = m->children[i].name;
    return m->children[i].module;
}

LAM_API lam_module *lam_module_child(const lam_module *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->n_children; i++)
        if (strcmp(m->children[i].name, name) == 0)
            return m->children[i].module;
    return NULL;
}

LAM_API lam_status lam_module_get_submodule(lam_module *m, const char *path, lam_module **out)
{
    if (!m || !path || !out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "get_submodule: NULL argument");
    *out = NULL;
    lam_module *cur = m;
    const char *p = path;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        lam_module *next = NULL;
        for (size_t i = 0; i < cur->n_children; i++) {
            if (strlen(cur->children[i].name) == n && memcmp(cur->children[i].name, p, n) == 0) {
                next = cur->children[i].module;
                break;
            }
        }
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

LAM_API void lam_module_train(lam_module *m, bool mode)
{
    if (!m)
        return;
    if (m->training != mode) { /* unchanged modules keep their plans */
        m->training = mode;
        lam__module_touch(m);
    }
    for (size_t i = 0; i < m->n_children; i++)
        lam_module_train(m->children[i].module, mode);
}

LAM_API void lam_module_eval(lam_module *m) { lam_module_train(m, false); }
LAM_API bool lam_module_is_training(const lam_module *m) { return m && m->training; }

typedef struct visit_set {
    const lam_module **items;
    size_t n, cap;
} visit_set;

static int visit_seen(visit_set *s, const lam_module *m)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i] == m)
            return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        const lam_module **p = realloc(s->items, cap * sizeof *p);
        if (!p)
            return -1;
        s->items = p;
        s->cap = cap;
    }
    s->items[s->n++] = m;
    return 0;
}

static lam_status apply_rec(lam_module *m, lam_module_visit_fn fn, void *user, visit_set *seen)
{
    int r = visit_seen(seen, m);
    if (r < 0)
        return lam__oom("apply");
    if (r > 0)
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
    if (!m || !fn)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "apply: NULL argument");
    visit_set seen = {0};
    lam_status st = apply_rec(m, fn, user, &seen);
    free(seen.items);
    return st;
}
