/* runtime/plugin — the layer-type registry shared by built-in and plugin
 * types (registry.c; the built-in ones in builtin_types.c), dlopen loading
 * (plugin_loader.c), modules made from lam_layer_types (plugin_module.c)
 * and the host table plugins call (host_api.c).  Uses everything before
 * it: core, tensor, module, layers, ops, exec (a plugin container runs its
 * children through the call machinery) and nn.  Never installed. */
#ifndef LAMINA_RUNTIME_PLUGIN_PLUGIN_H
#define LAMINA_RUNTIME_PLUGIN_PLUGIN_H

#include "runtime/exec/plan.h"
#include "runtime/nn/nn.h"
#include "lamina/plugin.h"
#include <pthread.h>

/* The v1.0 sizes: a struct smaller than this is rejected as too small. */
#define LAM__DESC_MIN_SIZE ((uint32_t)offsetof(lam_plugin_descriptor, reserved))
#define LAM__TYPE_MIN_SIZE ((uint32_t)offsetof(lam_layer_type, capabilities)) /* 1.4's reserved */

/* One registered layer type. */
typedef struct lam__type_entry {
    char *name;                  /* copy of type.name */
    lam_layer_type type;         /* the registry's normalised copy (later fields zeroed) */
    const lam_layer_type *orig;  /* the pointer the provider registered */
    struct lam_plugin *owner;    /* NULL: built-in */
    lam__module_ops ops;          /* bridge ops for modules made with module_new */
} lam__type_entry;

/* A registration in progress: types collected by register_type, committed
 * together or not at all. */
struct lam_registry {
    struct lam_plugin *owner;
    lam__type_entry **pending;
    size_t n_pending, cap_pending;
    bool failed;                /* a type was rejected */
    char *fail_msg;             /* the first rejection's message */
    const char *want;           /* lam_plugin_find_type's type, or NULL */
    bool want_seen;             /* register_type was called with it (accepted or not) */
    const lam_plugin_descriptor *desc; /* the plugin's (its ABI minor), NULL: built-in */
};

struct lam_plugin {
    char *path;         /* realpath */
    void *handle;       /* dlopen handle */
    char *name, *version, *description, *license;
    char *label;        /* "plugin 'swish' (/path/swish.so)" for messages */
    lam__type_entry **types;
    size_t n_types;
    int refcount;       /* 1 while loaded + 1 per module made from it */
};

/* The host table given to plugins and to built-in create functions. */
const lam_host_api *lam__host_api(void);

/* ---- registry (registry.c) ---- */
/* Register the built-in types (once); the loader calls it before loading. */
void lam__registry_ensure(void);
void lam__registry_lock(void);
void lam__registry_unlock(void);
/* Validate `type` and add it to reg's pending list (register_type). */
lam_status lam__registry_add(lam_registry *reg, const lam_layer_type *type);
/* Commit reg's pending types to the registry (cannot fail: checked in add). */
void lam__registry_commit(lam_registry *reg);
/* Free reg's pending entries (after a failure or a probe). */
void lam__registry_discard(lam_registry *reg);
/* Remove a plugin's types from the registry (the entries stay allocated). */
void lam__registry_remove_owner(struct lam_plugin *p);
/* The entry registered with this type pointer (orig or copy), or NULL.
 * Caller holds the registry lock. */
lam__type_entry *lam__registry_find_type_locked(const lam_layer_type *type);
/* LAM_OK, or, when type_name is a built-in type that could not be
 * registered (it failed a check, or memory ran out, when the registry
 * started), that error ("built-in layer type 'X' is not available: ...")
 * with the status of the failure. */
lam_status lam__registry_builtin_missing(const char *type_name);
/* Whether the type's argument `arg` takes a string (LAM_ARG_STRING, or a
 * LAM_ARG_SHAPE with LAM_ARG_STRING_OK): the model parser reads a bare name
 * there as one (Conv2d(..., padding=same, padding_mode=reflect)). */
bool lam__registry_arg_takes_string(const char *type_name, const char *arg);
void lam__type_entry_free(lam__type_entry *e);
/* Hold a reference to a module made while a layer type's create runs on
 * this thread (module_new, module_create), until that create returns: what
 * a failing create leaves behind can then be released safely. */
void lam__create_track(lam_module *m);

/* ---- built-in types (builtin_types.c) ---- */
const lam_layer_type *const *lam__builtin_types(size_t *n);

/* ---- plugins (plugin_loader.c) ---- */
void lam__plugin_retain(struct lam_plugin *p);
/* Drop a reference; at zero the library is closed and the record freed. */
void lam__plugin_release(struct lam_plugin *p);
const char *lam__plugin_label(const struct lam_plugin *p);

/* ---- plugin modules (plugin_module.c) ---- */
/* Fill the bridge ops of an entry. */
void lam__plugin_ops_init(lam__type_entry *e);
lam_status lam__plugin_module_new(lam_module **out, const lam_layer_type *type, void *state);
void *lam__plugin_module_state(const lam_module *m);
/* The registry entry of a module made with module_new, or NULL. */
lam__type_entry *lam__plugin_module_entry(const lam_module *m);
lam_status lam__plugin_module_add_param(lam_module *m, const char *name, int ndim,
                                        const int64_t *shape, lam_tensor **param);
lam_tensor *lam__module_param(const lam_module *m, const char *name);

/* Clamp a status a plugin returned to the known range. */
lam_status lam__plugin_status(lam_status st);
/* Clear the message before calling into a provider; afterwards, make sure a
 * failure has a message that names `type_name`. */
void lam__plugin_error_begin(void);
lam_status lam__plugin_error_end(lam_status st, const char *type_name, const char *what);

#endif
