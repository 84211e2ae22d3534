/* .lam model files — the builder: syntax tree to modules.
 *
 * Sequential and ModuleList are built here from their children (positional
 * modules become "0", "1", ...; "(name): M" items keep their names; a run
 * "(a-b): n x M" becomes n independent copies named a..b).  Every other type
 * goes through the registry (lam_module_create) with its arguments as
 * lam_values; children listed in the file are attached after construction,
 * replacing any the constructor made, so the file is the authority on the
 * tree; then lam_module_bind picks the variant of the type the children
 * match and runs the type's bind (plugin ABI 1.4).  Errors carry the position of the offending argument or module. */
#include "runtime/model/model_internal.h"
#include "runtime/plugin/plugin.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lam__builder {
    lam__arena *a;
    const char *file;
    const lam__limits *lim;
} builder;

static lam_status build_call(builder *B, const lam__node *call, lam_module **out);

static const char *type_of(const lam__node *call)
{
    const char *t = call->s;
    if (!strncmp(t, "torch.nn.", 9))
        return t + 9;
    if (!strncmp(t, "nn.", 3))
        return t + 3;
    return t;
}

static const char *kind_str(const lam__node *n)
{
    switch (n->kind) {
    case NODE_NONE: return "None";
    case NODE_BOOL: return "bool";
    case NODE_INT: return "int";
    case NODE_FLOAT: return "float";
    case NODE_STRING: return "str";
    case NODE_TUPLE: return "tuple";
    case NODE_CALL: return "a module";
    }
    return "?";
}

/* ---- containers ---- */

static lam_status add_child(builder *B, lam_module *parent, const char *type, const char *name,
                            const lam__node *call, lam__pos pos, bool replace)
{
    if (!replace && lam_module_child(parent, name))
        return lam__model_error(LAM_ERR_FORMAT, B->file, pos, "%s: duplicate child name '%.60s'",
                                type, name);
    lam_module *child;
    lam_status st = build_call(B, call, &child);
    if (st)
        return st;
    st = lam_module_add_child(parent, name, child);
    lam_module_release(child);
    return st ? lam__model_rethrow(st, B->file, pos) : LAM_OK;
}

static lam_status add_indexed(builder *B, lam_module *m, const char *type, const lam__node *v)
{
    char name[24];
    snprintf(name, sizeof name, "%zu", lam_module_num_children(m));
    return add_child(B, m, type, name, v, v->pos, false);
}

/* A name that "(name): ..." can carry: an identifier or digits (so that the
 * model's repr reads back). */
static bool writable_name(const char *s)
{
    bool digits = *s >= '0' && *s <= '9';
    if (!*s || strlen(s) > LAM__MODEL_MAX_TOKEN)
        return false;
    for (const char *p = s; *p; p++) {
        bool d = *p >= '0' && *p <= '9';
        bool a = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_';
        if (digits ? !d : !(a || d))
            return false;
    }
    return true;
}

/* Sequential(OrderedDict([('fc1', Linear(...)), ...])) */
static lam_status add_ordered_dict(builder *B, lam_module *m, const char *type, const lam__node *od)
{
    const lam__node *list = od->n_items == 1 && od->items[0].kind == ITEM_POSITIONAL
                                ? od->items[0].value : NULL;
    if (!list || list->kind != NODE_TUPLE)
        return lam__model_error(LAM_ERR_FORMAT, B->file, od->pos,
                                "OrderedDict takes one list of (name, module) pairs");
    for (size_t i = 0; i < list->n_elems; i++) {
        const lam__node *p = list->elems[i];
        if (p->kind != NODE_TUPLE || p->n_elems != 2 || p->elems[0]->kind != NODE_STRING ||
            p->elems[1]->kind != NODE_CALL)
            return lam__model_error(LAM_ERR_FORMAT, B->file, p->pos,
                                    "OrderedDict: expected a ('name', Module(...)) pair");
        if (!writable_name(p->elems[0]->s))
            return lam__model_error(LAM_ERR_FORMAT, B->file, p->elems[0]->pos,
                                    "OrderedDict: child name '%.60s' is not an identifier or a "
                                    "number of at most %d characters (a .lam file can only "
                                    "hold those)",
                                    p->elems[0]->s, LAM__MODEL_MAX_TOKEN);
        lam_status st = add_child(B, m, type, p->elems[0]->s, p->elems[1], p->pos, false);
        if (st)
            return st;
    }
    return LAM_OK;
}

/* a "(name): M" or "(a-b): n x M" item */
static lam_status add_listed_child(builder *B, lam_module *m, const char *type,
                                   const lam__item *it, bool replace)
{
    if (it->kind == ITEM_CHILD)
        return add_child(B, m, type, it->name, it->value, it->pos, replace);
    lam_status st = LAM_OK;
    for (int64_t k = 0; k < it->count && !st; k++) {
        char name[24];
        snprintf(name, sizeof name, "%lld", (long long)(it->first + k));
        st = add_child(B, m, type, name, it->value, it->pos, replace);
    }
    return st;
}

static lam_status build_container(builder *B, const lam__node *call, const char *type,
                                  lam_module **out)
{
    bool seq = !strcmp(type, "Sequential");
    lam_module *m;
    lam_status st = seq ? lam_sequential_create(&m, 0, NULL) : lam_modulelist_create(&m, 0, NULL);
    if (st)
        return st;
    for (size_t i = 0; i < call->n_items && !st; i++) {
        const lam__item *it = &call->items[i];
        const lam__node *v = it->value;
        if (it->kind == ITEM_KEYWORD) {
            st = lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, it->pos,
                                  "%s takes no keyword arguments (got '%.60s=')", type, it->name);
        } else if (it->kind == ITEM_CHILD || it->kind == ITEM_RUN) {
            st = add_listed_child(B, m, type, it, false);
        } else if (v->kind == NODE_CALL && seq && !strcmp(type_of(v), "OrderedDict")) {
            st = add_ordered_dict(B, m, type, v);
        } else if (v->kind == NODE_CALL) {
            st = add_indexed(B, m, type, v);
        } else if (v->kind == NODE_TUPLE && !seq) { /* ModuleList([a, b]) */
            for (size_t k = 0; k < v->n_elems && !st; k++) {
                if (v->elems[k]->kind != NODE_CALL)
                    st = lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, v->elems[k]->pos,
                                          "ModuleList: every item must be a module, got %s",
                                          kind_str(v->elems[k]));
                else
                    st = add_indexed(B, m, type, v->elems[k]);
            }
        } else {
            st = lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, it->pos,
                                  "%s: argument %zu must be a module, got %s", type, i + 1,
                                  kind_str(v));
        }
    }
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

/* ---- registered types ---- */

static lam_status to_value(builder *B, const char *type, const lam__item *it, const lam__node *n,
                           lam_value *v)
{
    memset(v, 0, sizeof *v);
    switch (n->kind) {
    case NODE_NONE: v->kind = LAM_VALUE_NONE; return LAM_OK;
    case NODE_BOOL: v->kind = LAM_VALUE_BOOL; v->b = n->b; return LAM_OK;
    case NODE_INT: v->kind = LAM_VALUE_INT; v->i = n->i; return LAM_OK;
    case NODE_FLOAT: v->kind = LAM_VALUE_FLOAT; v->f = n->f; return LAM_OK;
    case NODE_STRING:
        if (n->bare && !(it->kind == ITEM_KEYWORD && lam__registry_arg_takes_string(type, it->name)))
            return lam__model_error(LAM_ERR_FORMAT, B->file, n->pos,
                                    "unknown name '%.60s' (expected a value: a number, a string, "
                                    "True, False, None, a tuple or a module call)",
                                    n->s);
        v->kind = LAM_VALUE_STRING;
        v->s = n->s;
        return LAM_OK;
    case NODE_TUPLE: {
        lam_value *items = lam__arena_alloc(B->a, (n->n_elems ? n->n_elems : 1) * sizeof *items);
        if (!items)
            return lam__oom("model file");
        for (size_t i = 0; i < n->n_elems; i++) {
            lam_status st = to_value(B, type, it, n->elems[i], &items[i]);
            if (st)
                return st;
        }
        v->kind = LAM_VALUE_TUPLE;
        v->b = n->list;
        v->len = n->n_elems;
        v->items = items;
        return LAM_OK;
    }
    case NODE_CALL:
        break;
    }
    return lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, n->pos,
                            "%s: argument%s%s%s cannot be a module (%s); list modules as children "
                            "(name): Module(...) of a container or custom module",
                            type, it->name ? " '" : "", it->name ? it->name : "",
                            it->name ? "'" : "", type_of(n));
}

static bool word_char(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Where to point for a registry message: the keyword it names, else the
 * positional argument whose text it quotes after "got" ("got -3",
 * "got str 'ten'"), else the module. */
static lam__pos blame(const lam__node *call, const char *msg)
{
    for (size_t i = 0; i < call->n_items; i++) {
        const lam__item *it = &call->items[i];
        if (it->kind != ITEM_KEYWORD)
            continue;
        size_t n = strlen(it->name);
        for (const char *p = strstr(msg, it->name); p; p = strstr(p + 1, it->name)) {
            bool left = p == msg || !word_char(p[-1]);
            bool right = !word_char(p[n]);
            if (left && right)
                return it->pos;
        }
    }
    const char *got = strstr(msg, "got ");
    for (size_t i = 0; got && i < call->n_items; i++) {
        const lam__item *it = &call->items[i];
        if (it->kind != ITEM_POSITIONAL || it->src_len > 60)
            continue;
        char src[64];
        snprintf(src, sizeof src, "%.*s", (int)it->src_len, it->src);
        for (const char *p = strstr(got, src); p; p = strstr(p + 1, src)) {
            char after = p[it->src_len];
            if (p > msg && p[-1] == ' ' && (!after || after == ',' || after == ' ' || after == ')' ||
                                 after == ':' || after == ';'))
                return it->pos;
        }
    }
    return call->pos;
}

/* Linear(in, out) as written (positional or keyword ints), or false. */
static bool linear_dims(const lam__node *call, int64_t *in, int64_t *out)
{
    int64_t dims[2] = {0, 0};
    size_t pos = 0;
    for (size_t i = 0; i < call->n_items; i++) {
        const lam__item *it = &call->items[i];
        int slot = -1;
        if (it->kind == ITEM_POSITIONAL)
            slot = pos < 2 ? (int)pos : -1, pos++;
        else if (it->kind == ITEM_KEYWORD)
            slot = !strcmp(it->name, "in_features") ? 0 : !strcmp(it->name, "out_features") ? 1 : -1;
        if (slot >= 0 && it->value->kind == NODE_INT)
            dims[slot] = it->value->i;
    }
    *in = dims[0];
    *out = dims[1];
    return dims[0] > 0 && dims[1] > 0;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* prod(normalized_shape) of LayerNorm(normalized_shape, ...) as written, or 0. */
static int64_t layer_norm_size(const lam__node *call)
{
    const lam__node *v = NULL;
    size_t pos = 0; /* children may come before the arguments */
    for (size_t i = 0; i < call->n_items && !v; i++) {
        const lam__item *it = &call->items[i];
        if ((it->kind == ITEM_POSITIONAL && pos++ == 0) ||
            (it->kind == ITEM_KEYWORD && !strcmp(it->name, "normalized_shape")))
            v = it->value;
    }
    if (!v)
        return 0;
    if (v->kind == NODE_INT)
        return v->i > 0 ? v->i : 0;
    if (v->kind != NODE_TUPLE || !v->n_elems)
        return 0;
    int64_t prod = 1;
    for (size_t i = 0; i < v->n_elems; i++) {
        if (v->elems[i]->kind != NODE_INT || v->elems[i]->i <= 0)
            return 0; /* the registry names the bad entry */
        prod = sat_mul(prod, v->elems[i]->i);
    }
    return prod;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Before anything is built: add up the Linear and LayerNorm parameters the
 * file asks for (runs multiplied out) and refuse the file at the one that
 * crosses the parameter limit, so a hostile file cannot make us allocate and
 * fill gigabytes first.  This is only the early answer: while the model is
 * built every layer, plugins included, counts what it allocates against the
 * same limit before allocating it (lam__budget_charge). */
static lam_status precheck(builder *B, const lam__node *n, int64_t mult, int64_t *total)
{
    if (n->kind == NODE_TUPLE) {
        for (size_t i = 0; i < n->n_elems; i++) {
            lam_status st = precheck(B, n->elems[i], mult, total);
            if (st)
                return st;
        }
        return LAM_OK;
    }
    if (n->kind != NODE_CALL)
        return LAM_OK;
    int64_t in, out, norm;
    if (!strcmp(type_of(n), "Linear") && linear_dims(n, &in, &out)) {
        int64_t one = sat_add(sat_mul(in, out), out);
        *total = sat_add(*total, sat_mul(one, mult));
        if (*total > B->lim->max_params)
            return lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, n->pos,
                                    "Linear(%lld, %lld) brings the model to %s%lld parameters, "
                                    "more than the limit of %lld per model file",
                                    (long long)in, (long long)out,
                                    *total == INT64_MAX ? "more than " : "",
                                    (long long)*total, (long long)B->lim->max_params);
    } else if (!strcmp(type_of(n), "LayerNorm") && (norm = layer_norm_size(n)) > 0) {
        *total = sat_add(*total, sat_mul(sat_mul(norm, 2), mult));
        if (*total > B->lim->max_params)
            return lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, n->pos,
                                    "LayerNorm over %lld elements brings the model to %s%lld "
                                    "parameters, more than the limit of %lld per model file",
                                    (long long)norm, *total == INT64_MAX ? "more than " : "",
                                    (long long)*total, (long long)B->lim->max_params);
    }
    for (size_t i = 0; i < n->n_items; i++) {
        const lam__item *it = &n->items[i];
        int64_t m = it->kind == ITEM_RUN ? sat_mul(mult, it->count) : mult;
        lam_status st = precheck(B, it->value, m, total);
        if (st)
            return st;
    }
    return LAM_OK;
}

static lam_status build_registered(builder *B, const lam__node *call, const char *type,
                                   lam_module **out)
{
    lam_status st = lam__model_resolve_type(type, B->file, call->pos);
    if (st)
        return st;
    size_t n = 0;
    for (size_t i = 0; i < call->n_items; i++)
        n += call->items[i].kind == ITEM_POSITIONAL || call->items[i].kind == ITEM_KEYWORD;
    lam_kwarg *args = lam__arena_alloc(B->a, (n ? n : 1) * sizeof *args);
    if (!args)
        return lam__oom("model file");
    size_t k = 0;
    lam__strmap keywords = {0}; /* a call may have millions of them */
    for (size_t i = 0; i < call->n_items && !st; i++) {
        const lam__item *it = &call->items[i];
        if (it->kind != ITEM_POSITIONAL && it->kind != ITEM_KEYWORD)
            continue;
        bool added = true;
        if (it->kind == ITEM_KEYWORD &&
            !lam__strmap_putn(&keywords, it->name, strlen(it->name), 0, &added))
            st = lam__oom("model file");
        else if (!added)
            st = lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, it->pos,
                                  "%s: keyword argument repeated: %.60s", type, it->name);
        if (st)
            break;
        args[k].name = it->kind == ITEM_KEYWORD ? it->name : NULL;
        st = to_value(B, type, it, it->value, &args[k].value);
        k++;
    }
    lam__strmap_free(&keywords);
    if (st)
        return st;
    lam_module *m;
    st = lam_module_create(&m, type, n, args);
    if (st)
        return lam__model_rethrow(st, B->file, blame(call, lam_last_error()));
    for (size_t i = 0; i < call->n_items && !st; i++)
        if (call->items[i].kind == ITEM_CHILD || call->items[i].kind == ITEM_RUN)
            st = add_listed_child(B, m, type, &call->items[i], true);
    /* the children are in: the variant they match, and the type's bind */
    if (!st && (st = lam_module_bind(&m, n, args)))
        st = lam__model_rethrow(st, B->file, call->pos);
    if (st) {
        lam_module_release(m);
        return st;
    }
    *out = m;
    return LAM_OK;
}

static lam_status build_call(builder *B, const lam__node *call, lam_module **out)
{
    const char *type = type_of(call);
    if (lam__model_is_attention_type(type))
        return lam__model_build_attention(B, call, type, out);
    if (!strcmp(type, "Sequential") || !strcmp(type, "ModuleList"))
        return build_container(B, call, type, out);
    if (!strcmp(type, "OrderedDict"))
        return lam__model_error(LAM_ERR_INVALID_ARGUMENT, B->file, call->pos,
                                "OrderedDict is only valid as the argument of Sequential");
    return build_registered(B, call, type, out);
}

lam_status lam__model_build_call(lam__builder *B, const lam__node *call, lam_module **out)
{
    return build_call(B, call, out);
}

const char *lam__model_builder_file(const lam__builder *B) { return B->file; }

const char *lam__model_type_of(const lam__node *call) { return type_of(call); }

lam_status lam__model_build(lam__arena *a, const lam__node *root, const char *file,
                            const lam__limits *limits, lam_module **out)
{
    builder B = {.a = a, .file = file, .lim = limits};
    int64_t total = 0;
    lam_status st = precheck(&B, root, 1, &total);
    if (st)
        return st;
    lam__budget budget;
    lam__budget_begin(&budget, limits->max_params);
    st = build_call(&B, root, out);
    lam__budget_end(&budget);
    return st;
}
