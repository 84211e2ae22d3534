/* named_parameters, state_dict and load_state_dict with PyTorch's naming,
 * deduplication and error wording (torch/nn/modules/module.py, 1.13). */
#include "runtime/module/module.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef lam__ptrmap ptrset;

/* 1 if present, 0 if added, -1 on OOM */
static int ptrset_add(ptrset *s, const void *p)
{
    bool added;
    if (!lam__ptrmap_put(s, p, 0, &added))
        return -1;
    return !added;
}

static char *join_name(const char *prefix, const char *name)
{
    size_t a = strlen(prefix), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s)
        return NULL;
    memcpy(s, prefix, a);
    if (a)
        s[a++] = '.';
    memcpy(s + a, name, b + 1);
    return s;
}

/* What a walk lists: parameters(), buffers(), or state_dict() (each
 * module's parameters, then its persistent buffers). */
enum { W_PARAMS, W_BUFFERS, W_STATE };

/* Is params[i] listed by a walk for `what` in this pass (0: parameters,
 * 1: buffers)? */
static bool listed(const lam__param *p, int what, int pass)
{
    if (!p->tensor || p->buffer != (pass == 1))
        return false;
    if (pass == 0)
        return what != W_BUFFERS;
    return what == W_BUFFERS || (what == W_STATE && p->persistent);
}

typedef struct walk {
    lam_state_dict *out;
    int what;
    bool dedup, recurse;
    ptrset modules, tensors;
} walk;

/* named_modules() order (pre-order), then each module's own parameters */
static lam_status walk_params(walk *w, const lam_module *m, const char *prefix, int depth)
{
    if (w->dedup) {
        int r = ptrset_add(&w->modules, m);
        if (r < 0)
            return lam__oom("named_parameters");
        if (r > 0)
            return LAM_OK;
    }
    for (size_t k = 0; k < 2 * m->n_params; k++) {
        size_t i = k % m->n_params;
        if (!listed(&m->params[i], w->what, (int)(k / m->n_params)))
            continue;
        lam_tensor *t = m->params[i].tensor;
        if (w->dedup) {
            int r = ptrset_add(&w->tensors, t);
            if (r < 0)
                return lam__oom("named_parameters");
            if (r > 0)
                continue;
        }
        char *name = join_name(prefix, m->params[i].name);
        if (!name)
            return lam__oom("parameter name");
        lam_status st = lam_state_dict_set(w->out, name, t);
        free(name);
        if (st)
            return st;
    }
    if (!w->recurse && depth == 0)
        return LAM_OK;
    for (size_t i = 0; i < m->n_children; i++) {
        if (!w->recurse)
            break;
        char *p = join_name(prefix, m->children[i].name);
        if (!p)
            return lam__oom("module name");
        lam_status st = walk_params(w, m->children[i].module, p, depth + 1);
        free(p);
        if (st)
            return st;
    }
    return LAM_OK;
}

static lam_status collect(const lam_module *m, bool recurse, bool dedup, int what,
                          lam_state_dict **out)
{
    if (!m || !out)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "parameters: NULL argument");
    *out = NULL;
    walk w = {.what = what, .dedup = dedup, .recurse = recurse};
    lam_status st = lam_state_dict_create(&w.out);
    if (st)
        return st;
    st = walk_params(&w, m, "", 0);
    lam__ptrmap_free(&w.modules);
    lam__ptrmap_free(&w.tensors);
    if (st) {
        lam_state_dict_free(w.out);
        return st;
    }
    *out = w.out;
    return LAM_OK;
}

LAM_API lam_status lam_module_named_parameters(const lam_module *m, bool recurse,
                                               bool remove_duplicate, lam_state_dict **out)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(out);
    return collect(m, recurse, remove_duplicate, W_PARAMS, out);
}

LAM_API lam_status lam_module_named_buffers(const lam_module *m, bool recurse,
                                            bool remove_duplicate, lam_state_dict **out)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(out);
    return collect(m, recurse, remove_duplicate, W_BUFFERS, out);
}

LAM_API lam_status lam_module_state_dict(const lam_module *m, lam_state_dict **out)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(out);
    return collect(m, true, false, W_STATE, out);
}

LAM_API int64_t lam_module_num_parameters(const lam_module *m)
{
    LAM__CHECK_ARG_OR(m, -1);
    lam_state_dict *sd;
    if (collect(m, true, true, W_PARAMS, &sd) != LAM_OK)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < lam_state_dict_len(sd); i++)
        n += lam_tensor_numel(lam_state_dict_tensor(sd, i));
    lam_state_dict_free(sd);
    return n;
}

LAM_API void lam_incompatible_keys_clear(lam_incompatible_keys *keys)
{
    if (!keys)
        return;
    for (size_t i = 0; i < keys->n_missing; i++)
        free(keys->missing_keys[i]);
    for (size_t i = 0; i < keys->n_unexpected; i++)
        free(keys->unexpected_keys[i]);
    free(keys->missing_keys);
    free(keys->unexpected_keys);
    memset(keys, 0, sizeof *keys);
}

typedef struct load_ctx {
    const lam_state_dict *sd;
    lam__strlist missing, unexpected;
    lam__sb mismatch;        /* "size mismatch for ..." lines, "\n\t"-joined */
    size_t n_mismatch;
    lam_tensor **dst, **src; /* copies to do once everything checks out */
    size_t n_copy, cap_copy;
    bool oom;
    lam__strmap unexpected_at; /* prefix -> first unexpected key there (sd position) */
    size_t *next;              /* sd position -> next unexpected key, same prefix */
} load_ctx;

/* Where Module._load_from_state_dict finds a key unexpected: follow the
 * key's names down from the root; the first one that names neither a
 * parameter nor a child of the module reached makes it unexpected at that
 * module, whose prefix is the key up to there.  Keys are chained per prefix,
 * in dict order, so that load_rec reports them at that module's visit, in
 * PyTorch's order, in time linear in the keys (rather than every module
 * looking at every key). */
static bool find_unexpected(load_ctx *c, const lam_module *root)
{
    size_t n = lam_state_dict_len(c->sd);
    c->next = malloc((n + 1) * sizeof *c->next);
    if (!c->next)
        return false;
    for (size_t k = n; k-- > 0;) {
        const char *key = lam_state_dict_key(c->sd, k), *rest = key;
        const lam_module *m = root;
        for (;;) {
            size_t len = strcspn(rest, ".");
            ptrdiff_t i = lam__module_param_pos(m, rest, len);
            if (i >= 0 && listed(&m->params[i], W_STATE, m->params[i].buffer))
                break; /* a non-persistent buffer's name is unexpected */
            if (i < 0 && (i = lam__module_child_pos(m, rest, len)) >= 0) {
                if (rest[len] != '.')
                    break; /* the child's own name: not looked at below it */
                m = m->children[i].module;
                rest += len + 1;
                continue;
            }
            bool added;
            size_t *head = lam__strmap_putn(&c->unexpected_at, key, (size_t)(rest - key), k, &added);
            if (!head)
                return false;
            c->next[k] = added ? SIZE_MAX : *head;
            *head = k;
            break;
        }
    }
    return true;
}

static void torch_size(const lam_tensor *t, lam__sb *sb)
{
    lam__sb_puts(sb, "torch.Size([");
    for (int i = 0; i < t->ndim; i++)
        lam__sb_printf(sb, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    lam__sb_puts(sb, "])");
}

/* An int64 or bool tensor loads only into a buffer of its type (an I32
 * entry is an int64 tensor by now); a float one into an int64 buffer only
 * when every value is finite (it is truncated, as PyTorch's copy_ does).
 * NULL when `in` may be copied into `p`. */
static const char *dtype_mismatch(const lam_tensor *in, const lam_tensor *p)
{
    if (in->dtype == p->dtype)
        return NULL;
    if (in->dtype == LAM_INT64 && p->dtype == LAM_FLOAT32)
        return "copying an I64 (integer) tensor from checkpoint into a float32 tensor in "
               "current model (lamina loads integer tensors only into integer buffers "
               "such as num_batches_tracked).";
    if (in->dtype == LAM_FLOAT32 && p->dtype == LAM_INT64) {
        for (int64_t j = 0; j < in->numel; j++)
            if (!isfinite(in->data[j]))
                return "copying a float tensor holding NaN or infinity from checkpoint into an "
                       "integer buffer in current model.";
        return NULL;
    }
    return p->dtype == LAM_BOOL ? "copying a non-bool tensor from checkpoint into a bool tensor in "
                                  "current model."
                                : "copying a BOOL tensor from checkpoint into a non-bool tensor in "
                                  "current model.";
}

/* Module._load_from_state_dict + the recursion of load_state_dict */
static void load_rec(load_ctx *c, lam_module *m, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (m->ops->load_error) {
        lam__sb err = {0};
        m->ops->load_error(m, c->sd, prefix, &err);
        if (err.failed)
            c->oom = true;
        else if (err.buf && *err.buf) {
            if (c->n_mismatch++)
                lam__sb_puts(&c->mismatch, "\n\t");
            lam__sb_puts(&c->mismatch, err.buf);
        }
        free(err.buf);
    }
    for (size_t k = 0; k < 2 * m->n_params; k++) {
        size_t i = k % m->n_params;
        if (!listed(&m->params[i], W_STATE, (int)(k / m->n_params)))
            continue;
        lam_tensor *p = m->params[i].tensor;
        char *key = malloc(plen + strlen(m->params[i].name) + 1);
        if (!key) {
            c->oom = true;
            return;
        }
        strcpy(key, prefix);
        strcat(key, m->params[i].name);
        lam_tensor *in = lam_state_dict_get(c->sd, key);
        const char *bad = in ? dtype_mismatch(in, p) : NULL;
        if (!in && !m->params[i].zero_if_missing) {
            lam__strlist_push(&c->missing, key);
        } else if (in && !lam_tensor_same_shape(in, p)) {
            if (c->n_mismatch++)
                lam__sb_puts(&c->mismatch, "\n\t");
            lam__sb_printf(&c->mismatch, "size mismatch for %s: copying a param with shape ", key);
            torch_size(in, &c->mismatch);
            lam__sb_puts(&c->mismatch, " from checkpoint, the shape in current model is ");
            torch_size(p, &c->mismatch);
            lam__sb_puts(&c->mismatch, ".");
        } else if (bad) {
            if (c->n_mismatch++)
                lam__sb_puts(&c->mismatch, "\n\t");
            lam__sb_printf(&c->mismatch, "dtype mismatch for %s: %s", key, bad);
        } else {
            if (c->n_copy == c->cap_copy) {
                size_t cap = c->cap_copy ? c->cap_copy * 2 : 16;
                lam_tensor **d = realloc(c->dst, cap * sizeof *d);
                if (d)
                    c->dst = d;
                lam_tensor **s = d ? realloc(c->src, cap * sizeof *s) : NULL;
                if (!d || !s) {
                    c->oom = true;
                    free(key);
                    return;
                }
                c->src = s;
                c->cap_copy = cap;
            }
            c->dst[c->n_copy] = p;
            c->src[c->n_copy] = in;
            c->n_copy++;
        }
        free(key);
    }
    /* keys under this prefix naming neither a parameter nor a child */
    const size_t *head = lam__strmap_getn(&c->unexpected_at, prefix, plen);
    for (size_t k = head ? *head : SIZE_MAX; k != SIZE_MAX; k = c->next[k])
        if (!m->ops->load_claims || !m->ops->load_claims(m, lam_state_dict_key(c->sd, k) + plen))
            lam__strlist_push(&c->unexpected, lam_state_dict_key(c->sd, k));
    for (size_t i = 0; i < m->n_children && !c->oom; i++) {
        const char *name = m->children[i].name;
        char *child_prefix = malloc(plen + strlen(name) + 2);
        if (!child_prefix) {
            c->oom = true;
            return;
        }
        sprintf(child_prefix, "%s%s.", prefix, name);
        load_rec(c, m->children[i].module, child_prefix);
        free(child_prefix);
    }
}

static void quoted_list(lam__sb *sb, const lam__strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        lam__sb_printf(sb, i ? ", \"%s\"" : "\"%s\"", l->items[i]);
}

static lam_status move_keys(lam__strlist *l, char ***items, size_t *n)
{
    *items = l->items;
    *n = l->n;
    l->items = NULL;
    l->n = l->cap = 0;
    return LAM_OK;
}

LAM_API lam_status lam_module_load_state_dict(lam_module *m, const lam_state_dict *sd, bool strict,
                                              lam_incompatible_keys *keys)
{
    LAM__SYNC();
    if (keys)
        memset(keys, 0, sizeof *keys);
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(sd);
    load_ctx c = {.sd = sd};
    if (!find_unexpected(&c, m))
        c.oom = true;
    else
        load_rec(&c, m, "");
    lam_status st = LAM_OK;
    if (c.oom || c.missing.failed || c.unexpected.failed || c.mismatch.failed) {
        st = lam__oom("load_state_dict");
        goto done;
    }
    bool report_keys = strict && (c.missing.n || c.unexpected.n);
    if (report_keys || c.n_mismatch) {
        lam__sb msg = {0};
        lam__sb_printf(&msg, "Error(s) in loading state_dict for %s:", lam_module_type_name(m));
        if (strict && c.missing.n) {
            lam__sb_puts(&msg, "\n\tMissing key(s) in state_dict: ");
            quoted_list(&msg, &c.missing);
            lam__sb_puts(&msg, ". ");
        }
        if (strict && c.unexpected.n) {
            lam__sb_puts(&msg, "\n\tUnexpected key(s) in state_dict: ");
            quoted_list(&msg, &c.unexpected);
            lam__sb_puts(&msg, ". ");
        }
        if (c.n_mismatch) {
            lam__sb_puts(&msg, "\n\t");
            lam__sb_puts(&msg, c.mismatch.buf);
        }
        if (msg.failed)
            st = lam__oom("load_state_dict message");
        else
            st = lam__error(LAM_ERR_STATE_DICT, "%s", msg.buf);
        free(msg.buf);
    } else {
        for (size_t i = 0; i < c.n_copy; i++) {
            if (c.src[i])
                lam_tensor_copy(c.dst[i], c.src[i]);
            else /* num_batches_tracked missing: 0, as PyTorch fills it in */
                for (int64_t j = 0; j < c.dst[i]->numel; j++)
                    lam__tensor_int_set(c.dst[i], j, 0);
        }
    }
    if (keys) {
        move_keys(&c.missing, &keys->missing_keys, &keys->n_missing);
        move_keys(&c.unexpected, &keys->unexpected_keys, &keys->n_unexpected);
    }
done:
    lam__strlist_free(&c.missing);
    lam__strlist_free(&c.unexpected);
    free(c.mismatch.buf);
    free(c.dst);
    free(c.src);
    free(c.next);
    lam__strmap_free(&c.unexpected_at);
    return st;
}

/* A built-in or plugin layer reads its declared parameters with the shape it
 * declared them with: replacing one by a tensor of another shape would make
 * the next forward read past its end.  load_state_dict's wording. */
static lam_status size_mismatch(const lam_module *m, const char *name, const lam_tensor *t,
                                const lam_tensor *cur, bool buffer)
{
    lam__sb msg = {0};
    char *repr = m->n_children == 0 ? lam_module_repr(m) : NULL;
    lam__sb_printf(&msg, "%s: size mismatch for %s: registering a %s with shape ",
                   repr && !strchr(repr, '\n') ? repr : lam_module_type_name(m), name,
                   buffer ? "buffer" : "param");
    free(repr);
    torch_size(t, &msg);
    lam__sb_puts(&msg, ", the shape in current model is ");
    torch_size(cur, &msg);
    lam__sb_puts(&msg, ".");
    lam_status st = msg.failed ? lam__oom("register_parameter")
                               : lam__error(LAM_ERR_SHAPE, "%s", msg.buf);
    free(msg.buf);
    return st;
}

/* register_parameter and register_buffer: PyTorch's name rules, and a
 * name is a parameter's or a buffer's, never both (as attributes). */
static lam_status register_tensor(lam_module *m, const char *name, lam_tensor *t, bool buffer,
                                  bool persistent)
{
    const char *what = buffer ? "buffer" : "parameter";
    if (strchr(name, '.'))
        return lam__error(LAM_ERR_KEY, "%s name can't contain \".\"", what);
    if (!*name)
        return lam__error(LAM_ERR_KEY, "%s name can't be empty string \"\"", what);
    size_t len = strlen(name);
    ptrdiff_t i = lam__module_param_pos(m, name, len);
    if (lam__module_child_pos(m, name, len) >= 0 || (i >= 0 && m->params[i].buffer != buffer))
        return lam__error(LAM_ERR_KEY, "attribute '%s' already exists", name);
    if (i >= 0) {
        lam__param *p = &m->params[i];
        if (p->declared && p->tensor && !lam_tensor_same_shape(t, p->tensor))
            return size_mismatch(m, name, t, p->tensor, buffer);
        if (p->kept && p->tensor != t)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "%s: parameter '%s' is declared by a plugin layer, which keeps "
                              "that tensor: copy new values into it (lam_tensor_copy, "
                              "lam_module_load_state_dict) instead of replacing it",
                              lam_module_type_name(m), name);
        lam_tensor_retain(t);
        lam_tensor_release(p->tensor);
        p->tensor = t;
        if (buffer)
            p->persistent = persistent;
        /* after the store: a layer that sees the new params_version sees t */
        __atomic_add_fetch(&m->params_version, 1, __ATOMIC_RELEASE);
        return LAM_OK;
    }
    lam_tensor_retain(t);
    lam_status st = buffer ? lam__module_add_buffer(m, name, t, persistent)
                           : lam__module_add_param(m, name, t);
    if (st)
        lam_tensor_release(t);
    else
        m->params[m->n_params - 1].declared = false; /* the module's forward decides */
    return st;
}

LAM_API lam_status lam_module_register_parameter(lam_module *m, const char *name, lam_tensor *t)
{
    LAM__SYNC();
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(name);
    LAM__CHECK_ARG(t);
    return register_tensor(m, name, t, false, false);
}

LAM_API lam_status lam_module_register_buffer(lam_module *m, const char *name, lam_tensor *t,
                                              bool persistent)
{
    LAM__SYNC();
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(name);
    LAM__CHECK_ARG(t);
    return register_tensor(m, name, t, true, persistent);
}

typedef struct nm_walk {
    bool dedup;
    ptrset seen;
    lam_named_module_fn fn;
    void *user;
} nm_walk;

static lam_status named_modules_rec(nm_walk *w, lam_module *m, const char *prefix)
{
    if (w->dedup) {
        int r = ptrset_add(&w->seen, m);
        if (r < 0)
            return lam__oom("named_modules");
        if (r > 0)
            return LAM_OK;
    }
    lam_status st = w->fn(prefix, m, w->user);
    for (size_t i = 0; i < m->n_children && !st; i++) {
        char *p = join_name(prefix, m->children[i].name);
        if (!p)
            return lam__oom("module name");
        st = named_modules_rec(w, m->children[i].module, p);
        free(p);
    }
    return st;
}

LAM_API lam_status lam_module_named_modules(lam_module *m, bool remove_duplicate,
                                            lam_named_module_fn fn, void *user)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(fn);
    nm_walk w = {.dedup = remove_duplicate, .fn = fn, .user = user};
    lam_status st = named_modules_rec(&w, m, "");
    lam__ptrmap_free(&w.seen);
    return st;
}
