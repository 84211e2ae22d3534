/* A test-only plugin for <lamina/plugin_util.h>: types that drive each
 * helper, and its error paths, from their constructor arguments.
 *
 *   UtilParams(n, bad='')   parameters a (1.5) and b (-2.0) of shape [n], then
 *                           a third named `bad` when given ('a': taken,
 *                           'x.y': refused); forward: y = x * a + b (n = last dim)
 *   UtilBig(bytes=64)       lam_plugin_module_new with a state of `bytes`
 *                           bytes (16 .. 1 MiB): past a model file's
 *                           parameter limit it fails
 *   UtilList(type='Linear', n=3, features=2, name='layers', need=-1)
 *                           lam_plugin_add_modulelist(name, n, type(...)) with
 *                           in_features = out_features = features for
 *                           Linear, no arguments for other types; forward
 *                           runs the first `need` (n when -1) modules of
 *                           'layers' in turn (lam_plugin_get_modulelist)
 *
 * Every state is made by lam_plugin_module_new; each type's destroy logs
 * "<Type>: destroy" (LAM_LOG_WARNING) before lam_plugin_free_state, so a test
 * can count that a failing create cleaned up exactly once.
 *
 * Built twice: as utiltypes (the three types, LAM_PLUGIN_DEFINE_TYPES), and
 * with -DUTIL_DUP as util_dup, whose second type is named 'Linear' (taken):
 * the load fails and none of its types (UtilDupFirst first) is registered. */
#include <lamina/plugin_util.h>
#include <stdlib.h>
#include <string.h>

#define BIG_MAX (1 << 20)

static void logging_destroy(const lam_host_api *h, void *state)
{
    h->log(LAM_LOG_WARNING, "%s: destroy", (const char *)state);
    lam_plugin_free_state(h, state);
}

/* ---- UtilParams ---- */
typedef struct params_state {
    char type[16]; /* first in every state: logging_destroy prints it */
    int64_t n;
} params_state;

static const lam_arg_spec params_args[] = {
    LAM_REQUIRED_ARG("n", LAM_ARG_INT, LAM_ARG_POSITIVE),
    LAM_STRING_ARG("bad", "", NULL),
};

static lam_status params_create(const lam_host_api *h, const lam_layer_type *type,
                                const lam_value *args, lam_module **out)
{
    static const lam_plugin_param ab[] = {{"a", 1.5f}, {"b", -2.0f}};
    params_state s = {"UtilParams", args[0].i};
    lam_status st = lam_plugin_module_new(h, type, &s, sizeof s, out);
    if (!st)
        st = lam_plugin_add_params(h, out, 1, &s.n, LAM_COUNTOF(ab), ab);
    if (!st && *args[1].s) {
        lam_plugin_param extra = {args[1].s, 7.0f};
        st = lam_plugin_add_params(h, out, 1, &s.n, 1, &extra);
    }
    return st;
}

static lam_status params_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                                 lam_tensor *y)
{
    lam_status st = h->ops->mul(&y, x, h->module_param(self, "a"));
    return st ? st : h->ops->add(&y, y, h->module_param(self, "b"));
}

static const lam_layer_type params_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "UtilParams",
    .args = params_args,
    .n_args = LAM_COUNTOF(params_args),
    .create = params_create,
    .forward_into = params_forward,
    .destroy = logging_destroy,
};

/* ---- UtilBig ---- */
static const lam_arg_spec big_args[] = {
    LAM_INT_ARG("bytes", 64, 0),
};

static lam_status big_create(const lam_host_api *h, const lam_layer_type *type,
                             const lam_value *args, lam_module **out)
{
    static const char state[BIG_MAX] = "UtilBig"; /* then zeros */
    if (args[0].i > BIG_MAX || args[0].i < 16)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "UtilBig: bytes must be in [16, %d]", BIG_MAX);
    return lam_plugin_module_new(h, type, state, (size_t)args[0].i, out);
}

static lam_status copy_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                               lam_tensor *y)
{
    (void)self;
    memcpy(h->tensor_data(y), h->tensor_cdata(x), sizeof(float) * (size_t)h->tensor_numel(x));
    return LAM_OK;
}

static const lam_layer_type big_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "UtilBig",
    .args = big_args,
    .n_args = LAM_COUNTOF(big_args),
    .create = big_create,
    .forward_into = copy_forward,
    .destroy = logging_destroy,
};

/* ---- UtilList ---- */
typedef struct list_state {
    char type[16];
    int64_t need;
} list_state;

static const lam_arg_spec list_args[] = {
    LAM_STRING_ARG("type", "Linear", NULL),
    LAM_INT_ARG("n", 3, LAM_ARG_NONNEGATIVE),
    LAM_INT_ARG("features", 2, 0),
    LAM_STRING_ARG("name", "layers", NULL),
    LAM_INT_ARG("need", -1, 0),
};

static lam_status list_create(const lam_host_api *h, const lam_layer_type *type,
                              const lam_value *args, lam_module **out)
{
    list_state s = {"UtilList", args[4].i < 0 ? args[1].i : args[4].i};
    bool linear = strcmp(args[0].s, "Linear") == 0;
    lam_kwarg kw[] = {{"in_features", LAM_INT(args[2].i)}, {"out_features", LAM_INT(args[2].i)}};
    lam_status st = lam_plugin_module_new(h, type, &s, sizeof s, out);
    return st ? st
              : lam_plugin_add_modulelist(h, out, args[3].s, (size_t)args[1].i, args[0].s,
                                          linear ? 2 : 0, linear ? kw : NULL);
}

static lam_status list_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                               void *args, lam_tensor **out)
{
    const list_state *s = h->module_state(self);
    lam_module *mods[8];
    if (s->need > 8)
        return h->error(LAM_ERR_INVALID_ARGUMENT, "UtilList: need at most 8");
    lam_status st = lam_plugin_get_modulelist(h, self, "layers", (size_t)s->need, mods);
    if (st)
        return st;
    lam_tensor *cur = NULL;
    st = h->tensor_clone(&cur, x);
    for (int64_t i = 0; i < s->need && !st; i++) {
        lam_tensor *next = NULL;
        st = h->module_forward(mods[i], cur, args, &next);
        h->tensor_release(cur);
        cur = next;
    }
    if (st) {
        h->tensor_release(cur);
        return st;
    }
    *out = cur;
    return LAM_OK;
}

static const lam_layer_type list_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "UtilList",
    .args = list_args,
    .n_args = LAM_COUNTOF(list_args),
    .create = list_create,
    .forward = list_forward,
    .destroy = logging_destroy,
};

#ifndef UTIL_DUP
LAM_PLUGIN_DEFINE_TYPES("utiltypes", "1.0.0", "plugin_util.h test types", "MIT", &params_type,
                        &big_type, &list_type);
#else
static const lam_layer_type first_type = {
    .struct_size = sizeof(lam_layer_type), .name = "UtilDupFirst", .create = big_create,
    .forward_into = copy_forward, .destroy = logging_destroy,
};
static const lam_layer_type linear_again_type = {
    .struct_size = sizeof(lam_layer_type), .name = "Linear", .create = big_create,
    .forward_into = copy_forward, .destroy = logging_destroy,
};
LAM_PLUGIN_DEFINE_TYPES("util_dup", "1.0.0", "a plugin whose second type name is taken", "MIT",
                        &first_type, &linear_again_type, &params_type, &big_type, &list_type);
#endif
