/* Test-only plugins whose names collide with the shipped swish plugin once
 * that is loaded (one source, -DCOLLIDE_NAME or -DCOLLIDE_TYPE):
 *   swishy.so    — a plugin also named 'swish', providing Swishy
 *   swishier.so  — plugin 'swishier', providing Swishier and Swish
 * A model naming Swishy or Swishier must then say which plugin collides with
 * which (and where each comes from), not "unknown layer type 'Swishy' (did
 * you mean 'Swish'?)". */
#include <lamina/plugin.h>
#include <string.h>

static lam_status plain_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static lam_status copy_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                               lam_tensor *out)
{
    (void)self;
    memcpy(h->tensor_data(out), h->tensor_cdata(in), sizeof(float) * (size_t)h->tensor_numel(in));
    return LAM_OK;
}

#if defined(COLLIDE_NAME)
#define PLUGIN_NAME "swish"
#define NEW_TYPE "Swishy"
#else
#define PLUGIN_NAME "swishier"
#define NEW_TYPE "Swishier"
#endif

static const lam_layer_type new_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = NEW_TYPE,
    .create = plain_create,
    .forward_into = copy_forward,
};

#if defined(COLLIDE_TYPE)
static const lam_layer_type swish_again = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Swish",
    .create = plain_create,
    .forward_into = copy_forward,
};
#endif

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    lam_status st = h->register_type(reg, &new_type);
#if defined(COLLIDE_TYPE)
    if (!st)
        st = h->register_type(reg, &swish_again);
#endif
    return st;
}

LAM_PLUGIN_DEFINE(PLUGIN_NAME, "2.0.0", "collides with the shipped swish plugin", "MIT",
                  register_types);
