/* lamina — helpers for writing plugins: what every plugin repeats.
 *
 *     #include <lamina/plugin_util.h>     (includes <lamina/plugin.h>)
 *
 * Header-only: static inline functions and macros that use nothing but the
 * host table, so a plugin that uses them still never links liblamina.
 *
 *   LAM_REQUIRED_ARG, LAM_INT_ARG, ...   one lam_arg_spec in a line
 *   LAM_COUNTOF(array)                   .n_args = LAM_COUNTOF(my_args)
 *   lam_plugin_module_new                module_new with a copy of a state
 *   lam_plugin_free_state                the matching default `destroy`
 *   lam_plugin_add_params                parameters with initial values
 *   lam_plugin_add_modulelist            a default ModuleList of n children
 *   lam_plugin_get_modulelist            its modules, checked, in a forward
 *   lam_plugin_register_all,
 *   LAM_PLUGIN_DEFINE_TYPES              a plugin of several types
 *
 * The helpers that take `lam_module **m` clean up after themselves: when
 * one fails it releases *m (whatever the module holds goes with it, its
 * state through the type's destroy), sets *m to NULL and returns the
 * status with a message set, so a create function can return at once:
 *
 *     lam_status st = lam_plugin_module_new(h, type, &s, sizeof s, out);
 *     return st ? st : lam_plugin_add_params(h, out, 1, &d, 2, params);
 *
 * Everything here works in C and C++ and uses only the plugin ABI 1.0 part
 * of the host table.  docs/plugins.md shows the helpers in a complete
 * plugin (examples/plugins/gated.c). */
#ifndef LAMINA_PLUGIN_UTIL_H
#define LAMINA_PLUGIN_UTIL_H

#include "plugin.h"
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Declaring a type's constructor arguments.
 * ---------------------------------------------------------------------- */

/* One lam_arg_spec: name, LAM_ARG_* type, LAM_ARG_* flags, a default
 * written with LAM_DEFAULT_*. */
#define LAM_ARG_SPEC(name_, type_, flags_, default_)                                               \
    {(name_), (type_), (flags_), default_, NULL, NULL, {NULL, NULL}}
/* An argument without a default: LAM_REQUIRED_ARG("d", LAM_ARG_INT, LAM_ARG_POSITIVE) */
#define LAM_REQUIRED_ARG(name_, type_, flags_)                                                     \
    LAM_ARG_SPEC(name_, type_, (flags_) | LAM_ARG_REQUIRED, LAM_DEFAULT_NONE)
/* Arguments with a default: LAM_FLOAT_ARG("eps", 1e-05, LAM_ARG_FINITE) */
#define LAM_INT_ARG(name_, default_, flags_)                                                       \
    LAM_ARG_SPEC(name_, LAM_ARG_INT, flags_, LAM_DEFAULT_INT(default_))
#define LAM_FLOAT_ARG(name_, default_, flags_)                                                     \
    LAM_ARG_SPEC(name_, LAM_ARG_FLOAT, flags_, LAM_DEFAULT_FLOAT(default_))
#define LAM_BOOL_ARG(name_, default_) LAM_ARG_SPEC(name_, LAM_ARG_BOOL, 0, LAM_DEFAULT_BOOL(default_))
/* choices_: a NULL-terminated array of the allowed strings, or NULL */
#define LAM_STRING_ARG(name_, default_, choices_)                                                  \
    {(name_), LAM_ARG_STRING, 0, LAM_DEFAULT_STRING(default_), (choices_), NULL, {NULL, NULL}}

/* The number of elements of an array (not a pointer). */
#define LAM_COUNTOF(array_) (sizeof(array_) / sizeof((array_)[0]))

/* ------------------------------------------------------------------------
 * Modules and their state.
 * ---------------------------------------------------------------------- */

/* host->module_new(out, type, state) with `state` a copy of the `size`
 * bytes at `init`, taken with host->alloc (so that it counts against a model
 * file's parameter limit like everything else); size 0: state NULL.  Pair it
 * with `.destroy = lam_plugin_free_state`.  On failure *out is NULL and
 * nothing is left allocated: LAM_ERR_NO_MEMORY when the state cannot be
 * allocated (host->alloc's NULL does not say whether memory or a model
 * file's limit ran out; the message names both), else module_new's error. */
static inline lam_status lam_plugin_module_new(const lam_host_api *h, const lam_layer_type *type,
                                               const void *init, size_t size, lam_module **out)
{
    void *state = NULL;
    if (out)
        *out = NULL;
    if (size && !init)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_module_new: init is NULL");
    if (size) {
        state = h->alloc(size);
        if (!state)
            return h->error(LAM_ERR_NO_MEMORY,
                            "%s: cannot allocate %zu bytes of module state (out of memory, or "
                            "past a model file's parameter limit)",
                            type && type->name ? type->name : "module", size);
        memcpy(state, init, size);
    }
    lam_status st = h->module_new(out, type, state);
    if (st)
        h->free(state); /* module_new frees nothing on failure */
    return st;
}

/* The `destroy` of a state made by lam_plugin_module_new (host->free). */
static inline void lam_plugin_free_state(const lam_host_api *h, void *state)
{
    h->free(state);
}

/* Release *m and set it to NULL; returns st (the helpers' cleanup). */
static inline lam_status lam_plugin_fail_(const lam_host_api *h, lam_module **m, lam_status st)
{
    h->module_release(*m);
    *m = NULL;
    return st;
}

/* ------------------------------------------------------------------------
 * Parameters.
 * ---------------------------------------------------------------------- */

/* A parameter for lam_plugin_add_params: its name (a state_dict key below
 * the module's path, "scale" -> "0.scale") and the value every element
 * starts with (what the weights file then overwrites). */
typedef struct lam_plugin_param {
    const char *name;
    float init;
} lam_plugin_param;

/* Declare n parameters of one shape on *m (a module made with module_new),
 * each filled with its init value, in order.  Look them up in a forward
 * with host->module_param(self, name).  When one cannot be created (a bad
 * or taken name, a bad shape, a model file's parameter limit, memory),
 * *m is released and set to NULL and that failure's status is returned. */
static inline lam_status lam_plugin_add_params(const lam_host_api *h, lam_module **m, int ndim,
                                               const int64_t *shape, size_t n,
                                               const lam_plugin_param *params)
{
    if (!m || !*m)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_add_params: no module");
    for (size_t k = 0; k < n; k++) {
        lam_tensor *t = NULL;
        lam_status st = h->module_add_param(*m, params[k].name, ndim, shape, &t);
        if (st)
            return lam_plugin_fail_(h, m, st);
        float *p = h->tensor_data(t);
        for (int64_t i = 0, numel = h->tensor_numel(t); i < numel; i++)
            p[i] = params[k].init;
    }
    return LAM_OK;
}

/* ------------------------------------------------------------------------
 * Children: a default ModuleList, as an __init__ builds one.
 * ---------------------------------------------------------------------- */

/* Add to *m a child `name` holding a ModuleList of n modules, each
 * type_name(args) made with host->module_create (n independent copies, as
 * ModuleList([Linear(d, d) for _ in range(n)])).  This is the default a
 * constructor builds: a model file that lists the child replaces it, so a
 * forward looks children up on each call (lam_plugin_get_modulelist) and
 * never keeps pointers to them.  On failure *m is released and set to NULL,
 * what was made is released, and the failure's status is returned (an
 * unknown type or bad arguments: module_create's message). */
static inline lam_status lam_plugin_add_modulelist(const lam_host_api *h, lam_module **m,
                                                   const char *name, size_t n,
                                                   const char *type_name, size_t nargs,
                                                   const lam_kwarg *args)
{
    if (!m || !*m)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_add_modulelist: no module");
    lam_module *list = NULL;
    lam_status st = h->module_create(&list, "ModuleList", 0, NULL);
    for (size_t i = 0; i < n && !st; i++) {
        lam_module *child = NULL;
        char index[24];
        snprintf(index, sizeof index, "%zu", i);
        st = h->module_create(&child, type_name, nargs, args);
        if (!st)
            st = h->module_add_child(list, index, child);
        h->module_release(child); /* the list holds its own reference */
    }
    if (!st)
        st = h->module_add_child(*m, name, list);
    h->module_release(list);
    return st ? lam_plugin_fail_(h, m, st) : LAM_OK;
}

/* In a forward: the first n modules of the child `name` (a ModuleList or a
 * Sequential), borrowed, into mods[0..n).  LAM_ERR_KEY when there is no such
 * child, LAM_ERR_INDEX when it holds fewer than n, with a message naming
 * self's type. */
static inline lam_status lam_plugin_get_modulelist(const lam_host_api *h, const lam_module *self,
                                                   const char *name, size_t n, lam_module **mods)
{
    const char *type = h->module_type_name(self);
    lam_module *list = h->module_child(self, name);
    if (!list)
        return h->error(LAM_ERR_KEY, "%s: no child '%s' (its forward needs %zu modules there)",
                        type, name, n);
    size_t have = h->module_num_children(list);
    if (have < n)
        return h->error(LAM_ERR_INDEX,
                        "%s: %s has %zu module%s, its forward needs %zu (index %zu is out of "
                        "range)",
                        type, name, have, have == 1 ? "" : "s", n, have);
    for (size_t i = 0; i < n; i++)
        mods[i] = h->module_child_at(list, i, NULL);
    return LAM_OK;
}

/* ------------------------------------------------------------------------
 * Registering several types.
 * ---------------------------------------------------------------------- */

/* host->register_type for each of types[0..n), stopping at the first
 * failure (the host then registers none of the plugin's types). */
static inline lam_status lam_plugin_register_all(const lam_host_api *h, lam_registry *reg,
                                                 size_t n, const lam_layer_type *const *types)
{
    for (size_t i = 0; i < n; i++) {
        lam_status st = h->register_type(reg, types[i]);
        if (st)
            return st;
    }
    return LAM_OK;
}

/* LAM_PLUGIN_DEFINE with a register function that registers the types
 * given (pointers to static const lam_layer_type), in order:
 *     LAM_PLUGIN_DEFINE_TYPES("mine", "1.0.0", "what it is", "MIT", &a_type, &b_type);
 * Once per plugin, at file scope. */
#define LAM_PLUGIN_DEFINE_TYPES(name_, version_, description_, license_, ...)                      \
    static lam_status lam_plugin_register_types_(const lam_host_api *h, lam_registry *reg)         \
    {                                                                                              \
        static const lam_layer_type *const types_[] = {__VA_ARGS__};                               \
        return lam_plugin_register_all(h, reg, LAM_COUNTOF(types_), types_);                       \
    }                                                                                              \
    LAM_PLUGIN_DEFINE(name_, version_, description_, license_, lam_plugin_register_types_)

#ifdef __cplusplus
}
#endif
#endif
