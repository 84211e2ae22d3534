/* .lam model files — finding a layer type by name: the registry first, then
 * the plugin search path; an unknown name gets a "did you mean" suggestion
 * over every registered type. */
#include "runtime/model/model_internal.h"
#include "lamina/plugin.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool same_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return false;
    return *a == *b;
}

/* The registered name closest to `name`, or NULL when none is close. */
static const char *suggest(const char *name)
{
    size_t len = strlen(name);
    size_t cap = len <= 3 ? 1 : len <= 7 ? 2 : 3;
    const char *best = NULL;
    size_t best_d = cap + 1;
    static const char *const containers[] = {"Sequential", "ModuleList"};
    for (size_t i = 0;; i++) {
        const char *cand = i < 2 ? containers[i] : lam_layer_type_name(i - 2);
        if (!cand)
            break;
        if (same_ignoring_case(cand, name))
            return cand;
        size_t d = lam__edit_distance(name, cand, cap);
        if (d < best_d) {
            best_d = d;
            best = cand;
        }
    }
    return best;
}

lam_status lam__model_resolve_type(const char *type, const char *file, lam__pos pos)
{
    if (lam_layer_type_exists(type))
        return LAM_OK;
    lam_status st = lam__model_find_plugin_type(type);
    if (st == LAM_OK && lam_layer_type_exists(type))
        return LAM_OK;
    if (st != LAM_OK && st != LAM_ERR_KEY) {
        /* a plugin claims the type but fails to load: that is the news */
        return lam__model_rethrow(st, file, pos);
    }
    const char *s = suggest(type);
    if (s)
        return lam__model_error(LAM_ERR_KEY, file, pos,
                                "unknown layer type '%.100s' (did you mean '%s'?)", type, s);
    if (st == LAM_ERR_KEY && strstr(lam_last_error(), "search path")) {
        /* the loader's message says where it looked */
        lam__model_rethrow(st, file, pos);
        char hint[] = "; a custom module type needs the plugin that defines it: load it "
                      "(lamina --plugin, lam_plugin_load) or put it in LAMINA_PLUGIN_PATH";
        size_t n = strlen(lam_last_error());
        char *msg = malloc(n + sizeof hint);
        if (msg) {
            memcpy(msg, lam_last_error(), n);
            memcpy(msg + n, hint, sizeof hint);
            lam__error(st, "%s", msg);
            free(msg);
        }
        return st;
    }
    return lam__model_error(LAM_ERR_KEY, file, pos,
                            "unknown layer type '%.100s': no built-in layer or plugin provides it "
                            "(a custom module type needs the plugin that defines it: load it "
                            "(lamina --plugin, lam_plugin_load) or put it in LAMINA_PLUGIN_PATH)",
                            type);
}

lam_status lam__model_find_plugin_type(const char *type)
{
    return lam_plugin_find_type(type);
}
