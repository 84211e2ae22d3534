/* The layer-type registry: every type by name, built-in or from a plugin
 * (the registry does not know which is which), and lam_module_create, which
 * checks a call's arguments against the type's declared signature the way
 * Python binds arguments to parameters. */
#include "runtime/plugin/plugin.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64
#define MAX_NAME 128

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static lam__type_entry **entries;
static size_t n_entries, cap_entries;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

void lam__registry_lock(void) { pthread_mutex_lock(&reg_lock); }
void lam__registry_unlock(void) { pthread_mutex_unlock(&reg_lock); }

/* The built-in types that did not register: one that fails a check (a
 * mistake in its descriptor) or meets an allocation failure.  Each is said
 * once through the log callback when the registry starts, and again, as the
 * error, when a model or lam_module_create asks for it, instead of "unknown
 * layer type".  Kept in fixed buffers: memory may be what ran out.  Written
 * only inside builtin_once, read after it. */
#define MAX_BUILTIN_FAILS 8
static struct builtin_fail {
    char name[MAX_NAME + 1]; /* "" when the descriptor has no usable name */
    char why[384];
    lam_status status;
} builtin_fails[MAX_BUILTIN_FAILS];
static size_t n_builtin_fails;   /* may exceed MAX_BUILTIN_FAILS: the rest are counted */
static bool builtin_commit_failed; /* then none of them is registered */

static bool is_identifier(const char *s, size_t max);

static void builtin_failed(const lam_layer_type *t, size_t i, lam_status st)
{
    size_t k = n_builtin_fails++;
    const char *why = lam_last_error();
    if (!*why)
        why = lam_status_str(st);
    char label[MAX_NAME + 3] = "";
    if (t && t->struct_size >= LAM__TYPE_MIN_SIZE && t->name && is_identifier(t->name, MAX_NAME))
        snprintf(label, sizeof label, "'%s'", t->name);
    if (k < MAX_BUILTIN_FAILS) {
        struct builtin_fail *f = &builtin_fails[k];
        if (*label)
            snprintf(f->name, sizeof f->name, "%s", t->name);
        snprintf(f->why, sizeof f->why, "%s", why);
        f->status = st;
    }
    if (t)
        lam__log(LAM_LOG_ERROR, "built-in layer type %s (entry %zu of the built-in list) could not "
                 "be registered: %s", *label ? label : "(no valid name)", i, why);
    else
        lam__log(LAM_LOG_ERROR, "the %zu built-in layer types could not be registered: %s", i, why);
}

static void register_builtins(void)
{
    lam_registry reg = {0}; /* owner NULL: built-in */
    size_t n;
    const lam_layer_type *const *types = lam__builtin_types(&n);
    for (size_t i = 0; i < n; i++) {
        lam_status st = lam__registry_add(&reg, types[i]);
        if (st)
            builtin_failed(types[i], i, st);
    }
    lam__registry_commit(&reg);
    if (reg.n_pending) { /* the registry could not grow: none of them is there */
        builtin_commit_failed = true;
        builtin_failed(NULL, n, LAM_ERR_NO_MEMORY);
    }
    lam__registry_discard(&reg);
}

static void registry_init(void) { pthread_once(&builtin_once, register_builtins); }

static lam__type_entry *find_locked(const char *name)
{
    for (size_t i = 0; i < n_entries; i++)
        if (strcmp(entries[i]->name, name) == 0)
            return entries[i];
    return NULL;
}

bool lam__registry_arg_takes_string(const char *type_name, const char *arg)
{
    registry_init();
    bool yes = false;
    pthread_mutex_lock(&reg_lock);
    const lam__type_entry *e = find_locked(type_name);
    for (uint32_t i = 0; e && i < e->type.n_args; i++) {
        const lam_arg_spec *a = &e->type.args[i];
        if (!strcmp(a->name, arg))
            yes = a->type == LAM_ARG_STRING ||
                  (a->type == LAM_ARG_SHAPE && (a->flags & LAM_ARG_STRING_OK));
    }
    pthread_mutex_unlock(&reg_lock);
    return yes;
}

lam__type_entry *lam__registry_find_type_locked(const lam_layer_type *type)
{
    for (size_t i = 0; i < n_entries; i++)
        if (entries[i]->orig == type || &entries[i]->type == type)
            return entries[i];
    return NULL;
}

void lam__type_entry_free(lam__type_entry *e)
{
    if (e) {
        free(e->name);
        free(e);
    }
}

/* ---- validation of a type at registration ---- */

static bool is_identifier(const char *s, size_t max)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return false;
    size_t n = 0;
    for (; *s; s++, n++) {
        char c = *s;
        if (n >= max || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static bool in_choices(const char *const *choices, const char *s)
{
    for (size_t i = 0; choices[i] && i < 256; i++)
        if (strcmp(choices[i], s) == 0)
            return true;
    return false;
}

static bool default_fits(const lam_arg_spec *a)
{
    const lam_value *v = &a->default_value;
    if (a->type == LAM_ARG_ANY)
        return v->kind != LAM_VALUE_TUPLE || !v->len || v->items;
    if (v->kind == LAM_VALUE_NONE)
        return a->flags & LAM_ARG_NONE_OK;
    switch (a->type) {
    case LAM_ARG_BOOL: return v->kind == LAM_VALUE_BOOL;
    case LAM_ARG_INT: return v->kind == LAM_VALUE_INT;
    case LAM_ARG_FLOAT: return v->kind == LAM_VALUE_FLOAT || v->kind == LAM_VALUE_INT;
    case LAM_ARG_STRING:
        return v->kind == LAM_VALUE_STRING && v->s && (!a->choices || in_choices(a->choices, v->s));
    case LAM_ARG_SHAPE:
        if (v->kind == LAM_VALUE_STRING && (a->flags & LAM_ARG_STRING_OK))
            return v->s && (!a->choices || in_choices(a->choices, v->s));
        return v->kind == LAM_VALUE_INT || (v->kind == LAM_VALUE_TUPLE && v->len && v->items);
    }
    return false;
}

static lam_status check_args(const lam_layer_type *t)
{
    if (t->n_args > MAX_ARGS)
        return lam__error(LAM_ERR_PLUGIN, "layer type '%s' declares %u arguments (at most %d)",
                          t->name, t->n_args, MAX_ARGS);
    if (t->n_args && !t->args)
        return lam__error(LAM_ERR_PLUGIN, "layer type '%s' declares %u arguments but no list",
                          t->name, t->n_args);
    bool seen_default = false, seen_kwonly = false;
    for (uint32_t i = 0; i < t->n_args; i++) {
        const lam_arg_spec *a = &t->args[i];
        if (!is_identifier(a->name, MAX_NAME))
            return lam__error(LAM_ERR_PLUGIN, "layer type '%s': argument %u has no valid name",
                              t->name, i);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(t->args[j].name, a->name) == 0)
                return lam__error(LAM_ERR_PLUGIN, "layer type '%s': duplicate argument '%s'",
                                  t->name, a->name);
        if (a->type < LAM_ARG_BOOL || a->type > LAM_ARG_ANY)
            return lam__error(LAM_ERR_PLUGIN, "layer type '%s': argument '%s' has unknown type %u",
                              t->name, a->name, a->type);
        bool required = a->flags & LAM_ARG_REQUIRED;
        bool kwonly = a->flags & LAM_ARG_KEYWORD_ONLY;
        if (!required && !default_fits(a))
            return lam__error(LAM_ERR_PLUGIN,
                              "layer type '%s': the default of argument '%s' does not fit its type",
                              t->name, a->name);
        if (!kwonly && seen_kwonly)
            return lam__error(LAM_ERR_PLUGIN,
                              "layer type '%s': positional argument '%s' follows a keyword-only one",
                              t->name, a->name);
        if (!kwonly && required && seen_default)
            return lam__error(LAM_ERR_PLUGIN,
                              "layer type '%s': non-default argument '%s' follows default argument",
                              t->name, a->name);
        seen_default |= !kwonly && !required;
        seen_kwonly |= kwonly;
    }
    return LAM_OK;
}

static lam_status default_create(const lam_host_api *h, const lam_layer_type *type,
                                 const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static void owner_label(const lam__type_entry *e, char *buf, size_t size)
{
    if (e->owner)
        snprintf(buf, size, "%s", lam__plugin_label(e->owner));
    else
        snprintf(buf, size, "built-in");
}

static lam_status reject(lam_registry *reg, lam_status st)
{
    if (!reg->failed) {
        reg->failed = true;
        reg->fail_msg = lam__strdup(lam_last_error());
    }
    return st;
}

lam_status lam__registry_add(lam_registry *reg, const lam_layer_type *type)
{
    if (!reg)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "register_type: registry is NULL");
    if (!type)
        return reject(reg, lam__error(LAM_ERR_PLUGIN, "register_type: the layer type is NULL"));
    uint32_t size = type->struct_size;
    if (size < LAM__TYPE_MIN_SIZE)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type struct too small (%" PRIu32
                                      " bytes, at least %" PRIu32 " expected)",
                                      size, LAM__TYPE_MIN_SIZE));
    lam_layer_type t;
    memset(&t, 0, sizeof t);
    memcpy(&t, type, size < sizeof t ? size : sizeof t);
    t.struct_size = sizeof t;
    if (!t.name)
        return reject(reg, lam__error(LAM_ERR_PLUGIN, "a layer type has no name (NULL)"));
    if (!is_identifier(t.name, MAX_NAME))
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "invalid layer type name '%.64s' (a Python identifier "
                                      "of at most %d characters is expected)",
                                      t.name, MAX_NAME));
    if (reg->want && strcmp(t.name, reg->want) == 0)
        reg->want_seen = true;
    /* flags: a plugin built against ABI 1.6 or older keeps the meaning its
     * flags had then (bits it did not define were ignored; so they are, and
     * the capabilities slot was reserved); from 1.7 every bit must be known */
    const uint32_t blocks = LAM_LAYER_PLANEWISE | LAM_LAYER_SAMPLE_BLOCKS;
    const uint32_t known = LAM_LAYER_ROWWISE | LAM_LAYER_SEQUENTIAL | blocks;
    if (reg->desc && reg->desc->abi_minor < 7) {
        t.flags &= LAM_LAYER_ROWWISE | LAM_LAYER_SEQUENTIAL;
        t.capabilities = NULL;
    }
    if (t.flags & ~known)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s': unknown bits 0x%" PRIx32 " in flags "
                                      "0x%" PRIx32 " (plugin ABI %u.%u knows LAM_LAYER_ROWWISE, "
                                      "LAM_LAYER_SEQUENTIAL, LAM_LAYER_PLANEWISE and "
                                      "LAM_LAYER_SAMPLE_BLOCKS: 0x%" PRIx32 ")",
                                      t.name, t.flags & ~known, t.flags, LAM_PLUGIN_ABI_MAJOR,
                                      LAM_PLUGIN_ABI_MINOR, known));
    bool seq = t.flags & LAM_LAYER_SEQUENTIAL;
    if (seq && !t.create)
        t.create = default_create; /* a Sequential without state */
    if (!t.create)
        return reject(reg, lam__error(LAM_ERR_PLUGIN, "layer type '%s': create function is NULL",
                                      t.name));
    if (seq && (t.forward || t.forward_into || t.forward_rows))
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' is a Sequential (LAM_LAYER_SEQUENTIAL): it "
                                      "runs its children and sets neither forward nor forward_into",
                                      t.name));
    if (!!t.variant != !!t.matches)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' sets %s without %s (a variant says by "
                                      "matches which children it takes)",
                                      t.name, t.variant ? "variant" : "matches",
                                      t.variant ? "matches" : "variant"));
    if (t.forward && t.forward_into)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' sets both forward_into and forward", t.name));
    /* Built-in creates build their modules directly, not with module_new,
     * so only a plugin's type needs one of the two. */
    if (reg->owner && !seq && !t.forward && !t.forward_into)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' sets neither forward_into nor forward (a "
                                      "layer sets forward_into, a container forward)",
                                      t.name));
    if (t.forward_rows && !t.forward_into)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' sets forward_rows without forward_into",
                                      t.name));
    if (((t.flags & blocks) || t.capabilities) && (seq || !t.forward_into))
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' declares %s without forward_into%s (a plan "
                                      "runs sample blocks through forward_into)",
                                      t.name,
                                      (t.flags & LAM_LAYER_PLANEWISE) ? "LAM_LAYER_PLANEWISE"
                                      : (t.flags & LAM_LAYER_SAMPLE_BLOCKS)
                                          ? "LAM_LAYER_SAMPLE_BLOCKS"
                                          : "capabilities",
                                      seq ? " (it is a Sequential: LAM_LAYER_SEQUENTIAL)" : ""));
    lam_status st = check_args(&t);
    if (st)
        return reject(reg, st);
    for (size_t i = 0; i < reg->n_pending; i++)
        if (strcmp(reg->pending[i]->name, t.name) == 0 &&
            !(t.variant && reg->pending[i]->type.variant &&
              strcmp(t.variant, reg->pending[i]->type.variant) != 0))
            return reject(reg, lam__error(LAM_ERR_PLUGIN, "layer type '%s' is registered twice%s",
                                          t.name,
                                          t.variant && reg->pending[i]->type.variant
                                              ? " (with the same variant)"
                                              : t.variant || reg->pending[i]->type.variant
                                                    ? " (types sharing a name are all variants)"
                                                    : ""));
    pthread_mutex_lock(&reg_lock);
    lam__type_entry *dup = find_locked(t.name); /* variants: one plugin's, one registration */
    char holder[512] = "";
    if (dup)
        owner_label(dup, holder, sizeof holder);
    pthread_mutex_unlock(&reg_lock);
    if (dup)
        return reject(reg, lam__error(LAM_ERR_PLUGIN,
                                      "layer type '%s' is already registered by %s", t.name,
                                      holder));
    if (reg->n_pending == reg->cap_pending) {
        size_t cap = reg->cap_pending ? reg->cap_pending * 2 : 8;
        lam__type_entry **p = realloc(reg->pending, cap * sizeof *p);
        if (!p)
            return reject(reg, lam__oom("layer type list"));
        reg->pending = p;
        reg->cap_pending = cap;
    }
    lam__type_entry *e = calloc(1, sizeof *e);
    char *name = lam__strdup(t.name);
    if (!e || !name) {
        free(e);
        free(name);
        return reject(reg, lam__oom("layer type"));
    }
    e->name = name;
    e->type = t;
    e->type.name = name;
    e->orig = type;
    e->owner = reg->owner;
    lam__plugin_ops_init(e);
    reg->pending[reg->n_pending++] = e;
    return LAM_OK;
}

void lam__registry_commit(lam_registry *reg)
{
    pthread_mutex_lock(&reg_lock);
    size_t need = n_entries + reg->n_pending;
    if (need > cap_entries) {
        size_t cap = cap_entries ? cap_entries : 32;
        while (cap < need)
            cap *= 2;
        lam__type_entry **p = realloc(entries, cap * sizeof *p);
        if (!p) {
            /* keep what fits; the rest stay pending and are discarded */
            pthread_mutex_unlock(&reg_lock);
            lam__oom("layer type registry");
            return;
        }
        entries = p;
        cap_entries = cap;
    }
    for (size_t i = 0; i < reg->n_pending; i++)
        entries[n_entries++] = reg->pending[i];
    reg->n_pending = 0;
    pthread_mutex_unlock(&reg_lock);
}

void lam__registry_discard(lam_registry *reg)
{
    for (size_t i = 0; i < reg->n_pending; i++)
        lam__type_entry_free(reg->pending[i]);
    free(reg->pending);
    free(reg->fail_msg);
    reg->pending = NULL;
    reg->fail_msg = NULL;
    reg->n_pending = reg->cap_pending = 0;
}

void lam__registry_remove_owner(struct lam_plugin *p)
{
    pthread_mutex_lock(&reg_lock);
    size_t o = 0;
    for (size_t i = 0; i < n_entries; i++)
        if (entries[i]->owner != p)
            entries[o++] = entries[i];
    n_entries = o;
    pthread_mutex_unlock(&reg_lock);
}

/* ---- binding a call's arguments (Python semantics) ---- */

static const char *py_type(const lam_value *v)
{
    switch (v->kind) {
    case LAM_VALUE_NONE: return "NoneType";
    case LAM_VALUE_BOOL: return "bool";
    case LAM_VALUE_INT: return "int";
    case LAM_VALUE_FLOAT: return "float";
    case LAM_VALUE_STRING: return "str";
    case LAM_VALUE_TUPLE: return "tuple";
    }
    return "unknown";
}

/* A Python literal for a value ("None", "True", "3", "1.5", "'x'", "(1, 2)"). */
static void py_literal(lam__sb *sb, const lam_value *v, int depth)
{
    char buf[64];
    switch (v->kind) {
    case LAM_VALUE_NONE: lam__sb_puts(sb, "None"); break;
    case LAM_VALUE_BOOL: lam__sb_puts(sb, v->b ? "True" : "False"); break;
    case LAM_VALUE_INT: lam__sb_printf(sb, "%" PRId64, v->i); break;
    case LAM_VALUE_FLOAT: lam__sb_puts(sb, lam__py_float(v->f, buf, sizeof buf)); break;
    case LAM_VALUE_STRING: lam__sb_printf(sb, "'%.200s'", v->s ? v->s : ""); break;
    case LAM_VALUE_TUPLE:
        lam__sb_puts(sb, "(");
        for (size_t i = 0; v->items && i < v->len && i < 16 && depth < 4; i++) {
            if (i)
                lam__sb_puts(sb, ", ");
            py_literal(sb, &v->items[i], depth + 1);
        }
        if (v->len > 16)
            lam__sb_puts(sb, ", ...");
        lam__sb_puts(sb, v->len == 1 ? ",)" : ")");
        break;
    default: lam__sb_puts(sb, "?"); break;
    }
}

/* "<type> <literal>": "float 3.5", "str 'x'" */
static lam_status bad_value(const char *type_name, const lam_arg_spec *a, const char *expected,
                            const lam_value *v, bool with_type)
{
    lam__sb sb = {0};
    if (with_type) {
        lam__sb_puts(&sb, py_type(v));
        if (v->kind != LAM_VALUE_NONE) {
            lam__sb_puts(&sb, " ");
            py_literal(&sb, v, 0);
        }
    } else {
        py_literal(&sb, v, 0);
    }
    lam_status st = lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %s must be %s, got %s", type_name,
                               a->name, expected, sb.failed || !sb.buf ? "?" : sb.buf);
    free(sb.buf);
    return st;
}

static lam_status check_number(const char *tn, const lam_arg_spec *a, const lam_value *v,
                               double x, bool is_int)
{
    if ((a->flags & LAM_ARG_FINITE) && !isfinite(x))
        return bad_value(tn, a, "a finite number", v, false);
    if ((a->flags & LAM_ARG_POSITIVE) && !(x > 0))
        return bad_value(tn, a, is_int ? "a positive integer" : "a positive number", v, false);
    if ((a->flags & LAM_ARG_NONNEGATIVE) && !(x >= 0))
        return bad_value(tn, a, is_int ? "a non-negative integer" : "a non-negative number", v,
                         false);
    return LAM_OK;
}

/* Check one given value against its spec and normalise it into *out;
 * `one` is storage for an int turned into a 1-tuple. */
static lam_status bind_value(const char *tn, const lam_arg_spec *a, const lam_value *v,
                             lam_value *out, lam_value *one)
{
    *out = *v;
    if (a->type == LAM_ARG_ANY)
        return LAM_OK;
    if (v->kind == LAM_VALUE_NONE) {
        if (a->flags & LAM_ARG_NONE_OK)
            return LAM_OK;
    }
    switch (a->type) {
    case LAM_ARG_BOOL:
        if (v->kind != LAM_VALUE_BOOL)
            return bad_value(tn, a, "a bool (True or False)", v, true);
        return LAM_OK;
    case LAM_ARG_INT:
        if (v->kind != LAM_VALUE_INT)
            return bad_value(tn, a, "an integer", v, true);
        return check_number(tn, a, v, (double)v->i, true);
    case LAM_ARG_FLOAT:
        if (v->kind == LAM_VALUE_INT)
            out->f = (double)v->i;
        else if (v->kind != LAM_VALUE_FLOAT)
            return bad_value(tn, a, "a number", v, true);
        return check_number(tn, a, v, out->f, false);
    case LAM_ARG_STRING:
        if (v->kind != LAM_VALUE_STRING || !v->s)
            return bad_value(tn, a, "a string", v, true);
    string_choice:
        if (a->choices && !in_choices(a->choices, v->s)) {
            lam__sb sb = {0};
            for (size_t i = 0; a->choices[i] && i < 256; i++)
                lam__sb_printf(&sb, "%s'%s'", i ? ", " : "", a->choices[i]);
            lam_status st = lam__error(LAM_ERR_INVALID_ARGUMENT,
                                       "%s: %s must be one of %s, got '%.200s'", tn, a->name,
                                       sb.buf ? sb.buf : "", v->s);
            free(sb.buf);
            return st;
        }
        return LAM_OK;
    case LAM_ARG_SHAPE:
        if (v->kind == LAM_VALUE_STRING && v->s && (a->flags & LAM_ARG_STRING_OK))
            goto string_choice;
        if (v->kind == LAM_VALUE_INT) {
            *one = *v;
            *out = (lam_value){.kind = LAM_VALUE_TUPLE, .len = 1, .items = one};
        } else if (v->kind != LAM_VALUE_TUPLE) {
            return bad_value(tn, a, "an integer or a tuple of integers", v, true);
        }
        if (out->len == 0 || !out->items)
            return bad_value(tn, a, "a non-empty tuple of integers", v, false);
        for (size_t i = 0; i < out->len; i++) {
            const lam_value *it = &out->items[i];
            if (it->kind != LAM_VALUE_INT)
                return bad_value(tn, a, "an integer or a tuple of integers", v, false);
            if ((a->flags & LAM_ARG_POSITIVE) && it->i <= 0)
                return bad_value(tn, a, "positive (an integer or a tuple of positive integers)",
                                 v, false);
            if ((a->flags & LAM_ARG_NONNEGATIVE) && it->i < 0)
                return bad_value(tn, a, "non-negative", v, false);
        }
        return LAM_OK;
    }
    return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: argument %s has an unknown type", tn,
                      a->name);
}

static lam_status bind_args(const lam_layer_type *t, size_t nargs, const lam_kwarg *args,
                            lam_value *out, lam_value *one)
{
    const char *tn = t->name;
    const lam_value *given[MAX_ARGS] = {0};
    uint32_t n_pos = 0; /* arguments that can be given positionally */
    while (n_pos < t->n_args && !(t->args[n_pos].flags & LAM_ARG_KEYWORD_ONLY))
        n_pos++;
    size_t p = 0;
    bool seen_kw = false;
    for (size_t k = 0; k < nargs; k++) {
        if (args[k].name) {
            seen_kw = true;
            continue;
        }
        if (seen_kw)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "%s: positional argument follows keyword argument", tn);
        if (p >= n_pos) {
            size_t total = 0;
            for (size_t j = 0; j < nargs; j++)
                total += args[j].name == NULL;
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "%s() takes %u positional argument%s but %zu %s given", tn, n_pos,
                              n_pos == 1 ? "" : "s", total, total == 1 ? "was" : "were");
        }
        given[p++] = &args[k].value;
    }
    for (size_t k = 0; k < nargs; k++) {
        if (!args[k].name)
            continue;
        uint32_t i = 0;
        while (i < t->n_args && strcmp(t->args[i].name, args[k].name) != 0)
            i++;
        if (i == t->n_args)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "%s: got an unexpected keyword argument '%.128s'", tn, args[k].name);
        if (given[i])
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "%s: got multiple values for argument '%s'", tn, t->args[i].name);
        given[i] = &args[k].value;
    }
    for (uint32_t i = 0; i < t->n_args; i++) {
        const lam_arg_spec *a = &t->args[i];
        if (!given[i]) {
            if (a->flags & LAM_ARG_REQUIRED)
                return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: missing required argument '%s'",
                                  tn, a->name);
            given[i] = &a->default_value;
        }
        lam_status st = bind_value(tn, a, given[i], &out[i], &one[i]);
        if (st)
            return st;
    }
    return LAM_OK;
}

/* The error for a built-in type that did not register, or LAM_OK when
 * type_name is not one of the built-in list. */
static lam_status builtin_missing(const char *type_name)
{
    registry_init();
    if (!n_builtin_fails)
        return LAM_OK;
    size_t n, nf = n_builtin_fails < MAX_BUILTIN_FAILS ? n_builtin_fails : MAX_BUILTIN_FAILS;
    const lam_layer_type *const *types = lam__builtin_types(&n);
    bool builtin = false;
    for (size_t i = 0; i < n && !builtin; i++)
        builtin = types[i] && types[i]->struct_size >= LAM__TYPE_MIN_SIZE && types[i]->name &&
                  !strcmp(types[i]->name, type_name);
    if (!builtin)
        return LAM_OK;
    for (size_t i = 0; i < nf; i++) {
        const struct builtin_fail *f = &builtin_fails[i];
        if (builtin_commit_failed || !strcmp(f->name, type_name))
            return lam__error(f->status ? f->status : LAM_ERR_RUNTIME,
                              "built-in layer type '%.128s' is not available: %s when the "
                              "registry started: %s", type_name,
                              builtin_commit_failed ? "the built-in types could not be registered"
                                                    : "it could not be registered",
                              f->why);
    }
    return lam__error(LAM_ERR_RUNTIME, "built-in layer type '%.128s' is not available: it could "
                      "not be registered when the registry started (one of %zu that failed; "
                      "the log callback was told why)", type_name, n_builtin_fails);
}

static lam_status unknown_type(const char *type_name)
{
    lam_status st = builtin_missing(type_name);
    if (st)
        return st;
    lam__sb sb = {0};
    pthread_mutex_lock(&reg_lock);
    for (size_t i = 0; i < n_entries; i++)
        lam__sb_printf(&sb, "%s%s", i ? ", " : "", entries[i]->name);
    pthread_mutex_unlock(&reg_lock);
    /* a built-in without a usable name that failed: it may be the one asked for */
    char unnamed[96] = "";
    if (n_builtin_fails)
        snprintf(unnamed, sizeof unnamed, "; %zu built-in type(s) failed to register (logged)",
                 n_builtin_fails);
    st = lam__error(LAM_ERR_KEY,
                    "unknown layer type '%.128s' (registered types: %s); a plugin may "
                    "provide it: lam_plugin_load() or LAMINA_PLUGIN_PATH%s",
                    type_name, sb.buf && !sb.failed ? sb.buf : "none", unnamed);
    free(sb.buf);
    return st;
}

/* ---- what a create makes ---- */

/* The modules made on this thread while a create runs (innermost create
 * first), each held by one extra reference until that create returns.  A
 * create that fails after module_new may leave its module in *out: the host
 * releases it.  The extra reference makes that safe also when the create
 * did release it (and forgot to reset *out): the module is still there, and
 * its reference count says whether the create's reference is. */
typedef struct create_frame {
    struct create_frame *up;
    lam_module **made;
    size_t n, cap;
} create_frame;

static __thread create_frame *creating;

void lam__create_track(lam_module *m)
{
    create_frame *f = creating;
    if (!f || !m)
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        lam_module **p = realloc(f->made, cap * sizeof *p);
        if (!p)
            return; /* untracked: a failing create may leak it, never double-free it */
        f->made = p;
        f->cap = cap;
    }
    f->made[f->n++] = lam_module_retain(m);
}

/* After a failed create: release the reference the create still holds on
 * the module it left in *out, if it holds one.  References to m: the
 * frame's, one per tracked module that has m as a child, and the create's
 * own unless it released it. */
static void release_leftover(const create_frame *f, lam_module *m)
{
    bool tracked = false;
    int held = 1;
    for (size_t i = 0; i < f->n; i++) {
        const lam_module *x = f->made[i];
        tracked |= x == m;
        for (size_t c = 0; c < x->n_children; c++)
            held += x->children[c].module == m;
    }
    if (tracked && __atomic_load_n(&m->refcount, __ATOMIC_ACQUIRE) > held)
        lam_module_release(m);
}

/* Create a module of entry e (found by name, or a variant of it). */
static lam_status create_entry(lam__type_entry *e, const char *type_name, size_t nargs,
                               const lam_kwarg *args, lam_module **out);

LAM_API lam_status lam_module_create(lam_module **out, const char *type_name, size_t nargs,
                                     const lam_kwarg *args)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(type_name);
    LAM__CHECK_ARRAY(args, nargs);
    registry_init();
    pthread_mutex_lock(&reg_lock);
    lam__type_entry *e = find_locked(type_name);
    return create_entry(e, type_name, nargs, args, out);
}

/* Called with reg_lock held; releases it. */
static lam_status create_entry(lam__type_entry *e, const char *type_name, size_t nargs,
                               const lam_kwarg *args, lam_module **out)
{
    lam_layer_type t;
    struct lam_plugin *owner = NULL;
    if (e) {
        t = e->type;
        owner = e->owner;
        if (owner)
            lam__plugin_retain(owner); /* it cannot go away while its create runs */
    }
    const lam_layer_type *orig = e ? e->orig : NULL;
    pthread_mutex_unlock(&reg_lock);
    if (!e)
        return unknown_type(type_name);

    lam_value vals[MAX_ARGS], one[MAX_ARGS];
    lam_status st = bind_args(&t, nargs, args, vals, one);
    if (!st) {
        lam_module *m = NULL;
        create_frame frame = {.up = creating};
        creating = &frame;
        lam__plugin_error_begin();
        st = lam__plugin_status(t.create(lam__host_api(), orig, vals, &m));
        creating = frame.up;
        if (st == LAM_OK && !m)
            st = lam__error(LAM_ERR_RUNTIME, "%s: create returned success but no module", t.name);
        if (st) {
            if (m)
                release_leftover(&frame, m);
            st = lam__plugin_error_end(st, t.name, "create");
        } else {
            *out = m;
            lam__create_track(m); /* made inside an outer create (host->module_create) */
        }
        for (size_t i = 0; i < frame.n; i++)
            lam_module_release(frame.made[i]);
        free(frame.made);
    }
    if (owner)
        lam__plugin_release(owner);
    return st;
}

LAM_API bool lam_layer_type_exists(const char *type_name)
{
    LAM__CHECK_ARG_OR(type_name, false);
    registry_init();
    pthread_mutex_lock(&reg_lock);
    bool found = find_locked(type_name) != NULL;
    pthread_mutex_unlock(&reg_lock);
    return found;
}

LAM_API const char *lam_layer_type_name(size_t i)
{
    registry_init();
    pthread_mutex_lock(&reg_lock);
    const char *name = i < n_entries ? entries[i]->name : NULL;
    pthread_mutex_unlock(&reg_lock);
    return name;
}

LAM_API lam_plugin *lam_layer_type_plugin(const char *type_name)
{
    LAM__CHECK_ARG_OR(type_name, NULL);
    registry_init();
    pthread_mutex_lock(&reg_lock);
    lam__type_entry *e = find_locked(type_name);
    lam_plugin *p = e ? e->owner : NULL;
    pthread_mutex_unlock(&reg_lock);
    return p;
}

LAM_API char *lam_layer_type_signature(const char *type_name)
{
    LAM__CHECK_ARG_OR(type_name, NULL);
    registry_init();
    lam__sb sb = {0};
    pthread_mutex_lock(&reg_lock);
    lam__type_entry *e = find_locked(type_name);
    if (e) {
        const lam_layer_type *t = &e->type;
        lam__sb_printf(&sb, "%s(", t->name);
        bool kw = false;
        for (uint32_t i = 0; i < t->n_args; i++) {
            const lam_arg_spec *a = &t->args[i];
            if (i)
                lam__sb_puts(&sb, ", ");
            if ((a->flags & LAM_ARG_KEYWORD_ONLY) && !kw) {
                lam__sb_puts(&sb, "*, ");
                kw = true;
            }
            lam__sb_puts(&sb, a->name);
            if (!(a->flags & LAM_ARG_REQUIRED)) {
                lam__sb_puts(&sb, "=");
                py_literal(&sb, &a->default_value, 0);
            }
        }
        lam__sb_puts(&sb, ")");
    }
    pthread_mutex_unlock(&reg_lock);
    if (!e) {
        unknown_type(type_name);
        free(sb.buf);
        return NULL;
    }
    if (sb.failed) {
        free(sb.buf);
        lam__oom("signature");
        return NULL;
    }
    return sb.buf;
}

void lam__registry_ensure(void) { registry_init(); }

/* ---- variants and bind (ABI 1.4) ---- */

#define MAX_VARIANTS 16

LAM_API lam_status lam_module_bind(lam_module **m, size_t nargs, const lam_kwarg *args)
{
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(*m);
    LAM__CHECK_ARRAY(args, nargs);
    lam_module *cur = *m;
    lam__type_entry *e = lam__plugin_module_entry(cur);
    if (!e)
        return LAM_OK;
    const lam_host_api *h = lam__host_api();
    lam_module *made = NULL;
    if (e->type.variant) {
        lam__type_entry *vs[MAX_VARIANTS];
        size_t n = 0;
        pthread_mutex_lock(&reg_lock);
        for (size_t i = 0; i < n_entries && n < MAX_VARIANTS; i++)
            if (entries[i]->owner == e->owner && !strcmp(entries[i]->name, e->name))
                vs[n++] = entries[i];
        pthread_mutex_unlock(&reg_lock);
        if (!n) /* its plugin was unloaded: the module keeps its own variant */
            vs[n++] = e;
        /* the module holds its plugin, so these entries stay while we look */
        lam__type_entry *pick = NULL;
        for (size_t i = 0; i < n && !pick; i++)
            if (vs[i]->type.matches(h, cur))
                pick = vs[i];
        if (!pick) {
            lam__sb sb = {0};
            for (size_t i = 0; i < n; i++)
                lam__sb_printf(&sb, "%s%s", i ? "; " : "", vs[i]->type.variant);
            lam__sb_puts(&sb, "; its children are ");
            for (size_t i = 0; i < cur->n_children; i++)
                lam__sb_printf(&sb, "%s%s: %s", i ? ", " : "", cur->children[i].name,
                               lam_module_type_name(cur->children[i].module));
            if (!cur->n_children)
                lam__sb_puts(&sb, "none");
            lam_status st = lam__error(LAM_ERR_INVALID_ARGUMENT,
                                       "%s: the children match none of the forms of %s (%s)",
                                       e->name, e->name, sb.failed ? "?" : sb.buf);
            free(sb.buf);
            return st;
        }
        if (pick != e) {
            pthread_mutex_lock(&reg_lock);
            lam_status st = create_entry(pick, e->name, nargs, args, &made);
            for (size_t i = 0; i < cur->n_children && !st; i++)
                st = lam_module_add_child(made, cur->children[i].name, cur->children[i].module);
            if (st) {
                lam_module_release(made);
                return st;
            }
            cur = made;
            e = pick;
        }
    }
    if (e->type.bind) {
        lam__plugin_error_begin();
        lam_status st = e->type.bind(h, cur);
        if (st) {
            st = lam__plugin_error_end(st, e->name, "bind");
            lam_module_release(made);
            return st;
        }
    }
    if (made) {
        lam_module_release(*m);
        *m = made;
    }
    return LAM_OK;
}

lam_status lam__registry_builtin_missing(const char *type_name)
{
    return type_name ? builtin_missing(type_name) : LAM_OK;
}
