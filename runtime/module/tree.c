/* The module tree's bookkeeping: name lookups in O(1), and the depth limit.
 *
 * Names: a module with many children or parameters keeps a hash index of
 * their names (value 2*pos for a child, 2*pos+1 for a parameter).  It is a
 * cache: when it cannot be allocated, lookups scan, which is what a module
 * with few names does anyway.
 *
 * Depth: a module may sit in several places (modules are shared, as in
 * PyTorch), so "how deep is it" has no single answer.  Each module records
 * instead how many levels of modules hang below it (`below`, exact at all
 * times) and which modules hold it (`parents`, with a count per parent).
 * Adding a child raises `below` along the holders above only where it
 * grows, and is refused when some module would get LAM_MAX_MODULE_DEPTH
 * or more levels under it; removing one lowers them again.  A cycle needs
 * the parent to lie below the child, so it is looked for only upwards from
 * the parent and only among modules lower than the child: adding a leaf,
 * or adding to a fresh container, costs O(1).  Every walk here goes at most
 * LAM_MAX_MODULE_DEPTH levels, so the recursion is bounded. */
#include "runtime/module/module.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NAMES_MIN 16 /* fewer names than this: scan */

static pthread_mutex_t tree_mutex = PTHREAD_MUTEX_INITIALIZER;

void lam__tree_lock(void) { pthread_mutex_lock(&tree_mutex); }
void lam__tree_unlock(void) { pthread_mutex_unlock(&tree_mutex); }

/* ---- names ---- */

static void names_drop(lam_module *m)
{
    if (m->names) {
        lam__strmap_free(m->names);
        free(m->names);
        m->names = NULL;
    }
}

static bool names_put(lam__strmap *idx, const char *name, size_t val)
{
    return lam__strmap_putn(idx, name, strlen(name), val, NULL) != NULL;
}

void lam__names_rebuild(lam_module *m)
{
    names_drop(m);
    if (m->n_children + m->n_params < NAMES_MIN)
        return;
    lam__strmap *idx = calloc(1, sizeof *idx);
    bool ok = idx != NULL;
    for (size_t i = 0; ok && i < m->n_children; i++)
        ok = names_put(idx, m->children[i].name, 2 * i);
    for (size_t i = 0; ok && i < m->n_params; i++)
        ok = names_put(idx, m->params[i].name, 2 * i + 1);
    if (!ok && idx) {
        lam__strmap_free(idx);
        free(idx);
        idx = NULL;
    }
    m->names = idx;
}

void lam__names_added(lam_module *m, size_t pos)
{
    if (!m->names || pos + 1 != m->n_children) { /* new, or positions moved */
        lam__names_rebuild(m);
        return;
    }
    if (!names_put(m->names, m->children[pos].name, 2 * pos))
        names_drop(m);
}

void lam__names_param_added(lam_module *m)
{
    if (!m->names) {
        lam__names_rebuild(m);
        return;
    }
    size_t i = m->n_params - 1;
    if (!names_put(m->names, m->params[i].name, 2 * i + 1))
        names_drop(m);
}

static ptrdiff_t find_name(const lam_module *m, const char *name, size_t len, bool param)
{
    if (m->names) {
        const size_t *v = lam__strmap_getn(m->names, name, len);
        return v && (*v & 1) == param ? (ptrdiff_t)(*v >> 1) : -1;
    }
    size_t n = param ? m->n_params : m->n_children;
    for (size_t i = 0; i < n; i++) {
        const char *s = param ? m->params[i].name : m->children[i].name;
        if (strncmp(s, name, len) == 0 && s[len] == '\0')
            return (ptrdiff_t)i;
    }
    return -1;
}

ptrdiff_t lam__module_child_pos(const lam_module *m, const char *name, size_t len)
{
    return find_name(m, name, len, false);
}

ptrdiff_t lam__module_param_pos(const lam_module *m, const char *name, size_t len)
{
    return find_name(m, name, len, true);
}

/* ---- depth and cycles ---- */

/* Is `target` among the holders above q?  Only modules lower than target
 * can lie on the way.  1 yes, 0 no, -1 out of memory. */
static int held_by(lam__ptrmap *seen, const lam_module *q, const lam_module *target)
{
    if (!q->parents)
        return 0;
    for (size_t i = 0; i < q->parents->cap; i++) {
        const lam_module *r = q->parents->slots[i].key;
        if (!r)
            continue;
        if (r == target)
            return 1;
        if (r->below >= target->below)
            continue;
        bool added;
        if (!lam__ptrmap_put(seen, r, 0, &added))
            return -1;
        int x = added ? held_by(seen, r, target) : 0;
        if (x)
            return x;
    }
    return 0;
}

typedef struct grow_ctx {
    lam__ptrmap tentative; /* module -> its new `below` */
    bool oom;
} grow_ctx;

/* q would get v levels below it: note the new depths up the holders;
 * false when that goes past the limit. */
static bool grow(grow_ctx *g, lam_module *q, int v)
{
    size_t *t = lam__ptrmap_get(&g->tentative, q);
    if (v <= (t ? (int)*t : q->below))
        return true;
    if (v >= LAM_MAX_MODULE_DEPTH)
        return false;
    if (t)
        *t = (size_t)v;
    else if (!lam__ptrmap_put(&g->tentative, q, (size_t)v, NULL))
        return !(g->oom = true);
    for (size_t i = 0; q->parents && i < q->parents->cap; i++) {
        lam_module *r = (lam_module *)q->parents->slots[i].key;
        if (r && !grow(g, r, v + 1))
            return false;
    }
    return true;
}

lam_status lam__tree_attach(lam_module *parent, lam_module *child)
{
    int cyc = child == parent;
    if (!cyc && child->below > parent->below) {
        lam__ptrmap seen = {0};
        cyc = held_by(&seen, parent, child);
        lam__ptrmap_free(&seen);
    }
    if (cyc < 0)
        return lam__oom("cycle check");
    if (cyc)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "cannot add %s as a child of itself or of one of its descendants",
                          lam_module_type_name(child));
    grow_ctx g = {{0}, false};
    if (!grow(&g, parent, child->below + 1)) {
        lam__ptrmap_free(&g.tentative);
        if (g.oom)
            return lam__oom("depth check");
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "cannot add %s (%d level%s deep) to %s: the module tree would be more "
                          "than %d modules deep (LAM_MAX_MODULE_DEPTH)",
                          lam_module_type_name(child), child->below + 1,
                          child->below ? "s" : "", lam_module_type_name(parent),
                          LAM_MAX_MODULE_DEPTH);
    }
    size_t *count = NULL;
    if (!child->parents)
        child->parents = calloc(1, sizeof *child->parents);
    if (child->parents)
        count = lam__ptrmap_put(child->parents, parent, 0, NULL);
    if (!count) {
        lam__ptrmap_free(&g.tentative);
        return lam__oom("child list");
    }
    (*count)++;
    for (size_t i = 0; i < g.tentative.cap; i++)
        if (g.tentative.slots[i].key)
            ((lam_module *)g.tentative.slots[i].key)->below = (int)g.tentative.slots[i].val;
    lam__ptrmap_free(&g.tentative);
    return LAM_OK;
}

/* q's children changed and may no longer reach as deep: lower `below`
 * here and up the holders for which q was the deepest way down. */
static void shrink(lam_module *q)
{
    int b = 0;
    for (size_t i = 0; i < q->n_children; i++)
        if (q->children[i].module->below + 1 > b)
            b = q->children[i].module->below + 1;
    if (b >= q->below)
        return;
    int old = q->below;
    q->below = b;
    for (size_t i = 0; q->parents && i < q->parents->cap; i++) {
        lam_module *r = (lam_module *)q->parents->slots[i].key;
        if (r && r->below == old + 1)
            shrink(r);
    }
}

static void unlink_parent(lam_module *parent, lam_module *child)
{
    size_t *count = lam__ptrmap_get(child->parents, parent);
    if (count && --*count == 0)
        lam__ptrmap_remove(child->parents, parent);
}

void lam__tree_detach(lam_module *parent, lam_module *child)
{
    unlink_parent(parent, child);
    if (child->below + 1 == parent->below)
        shrink(parent);
}

void lam__tree_forget(lam_module *m)
{
    if (m->n_children) {
        lam__tree_lock();
        for (size_t i = 0; i < m->n_children; i++)
            unlink_parent(m, m->children[i].module);
        lam__tree_unlock();
    }
    names_drop(m);
    if (m->parents) {
        lam__ptrmap_free(m->parents);
        free(m->parents);
        m->parents = NULL;
    }
}
