/* lamina — creating modules by type name, with constructor arguments written
 * the way PyTorch takes them (positional and keyword, Python literal types).
 *
 * The registry holds every layer type: the built-ins (registered statically)
 * and those that plugins register.  It does not know which is which.
 *
 *   lam_value args[] = {LAM_INT(10), LAM_INT(50)};
 *   lam_kwarg kw[]   = {{NULL, args[0]}, {NULL, args[1]}, {"bias", LAM_BOOL(false)}};
 *   lam_module_create(&m, "Linear", 3, kw);        // Linear(10, 50, bias=False)
 *
 * Threads: every function here may be called from any thread, several at
 * once (the registry is behind a lock; constructors run outside it).  A name
 * from lam_layer_type_name stays valid while its type is registered: a
 * plugin's types go when lam_plugin_unload unloads it. */
#ifndef LAMINA_REGISTRY_H
#define LAMINA_REGISTRY_H

#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lam_value_kind {
    LAM_VALUE_NONE = 0, /* Python None */
    LAM_VALUE_BOOL,
    LAM_VALUE_INT,
    LAM_VALUE_FLOAT,
    LAM_VALUE_STRING,
    LAM_VALUE_TUPLE,    /* (64,) or (3, 4): items; .b is true when it was
                           written as a list, [3, 4] (a model file) */
} lam_value_kind;

typedef struct lam_value {
    lam_value_kind kind;
    bool b;
    int64_t i;
    double f;
    const char *s;
    size_t len;                    /* tuple length */
    const struct lam_value *items; /* tuple items */
} lam_value;

#define LAM_NONE_VALUE ((lam_value){.kind = LAM_VALUE_NONE})
#define LAM_BOOL(v) ((lam_value){.kind = LAM_VALUE_BOOL, .b = (v)})
#define LAM_INT(v) ((lam_value){.kind = LAM_VALUE_INT, .i = (v)})
#define LAM_FLOAT(v) ((lam_value){.kind = LAM_VALUE_FLOAT, .f = (v)})
#define LAM_STRING(v) ((lam_value){.kind = LAM_VALUE_STRING, .s = (v)})

/* One constructor argument: name NULL for a positional one.  Positional
 * arguments come first, as in Python. */
typedef struct lam_kwarg {
    const char *name;
    lam_value value;
} lam_kwarg;

/* Create a module of a registered type ("Linear", "Sequential", "Swish", ...)
 * from constructor arguments, checked against the type's declared signature
 * (unknown keyword, missing required argument, wrong type, out-of-range value
 * each give LAM_ERR_INVALID_ARGUMENT with a message naming the argument).
 * An unknown type gives LAM_ERR_KEY.  A built-in type that could not be
 * registered when the registry started (it failed one of the registry's
 * checks, or memory ran out; the log callback was told then) gives the
 * status of that failure and "built-in layer type 'X' is not available:
 * <the check or failure>", not "unknown layer type".  New reference in *out. */
LAM_API lam_status lam_module_create(lam_module **out, const char *type_name, size_t nargs,
                                     const lam_kwarg *args);

/* Is a layer type of this name registered? */
LAM_API bool lam_layer_type_exists(const char *type_name);
/* The registered type names, in registration order: i from 0 until NULL. */
LAM_API const char *lam_layer_type_name(size_t i);

#ifdef __cplusplus
}
#endif
#endif
