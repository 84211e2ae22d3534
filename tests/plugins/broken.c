/* Test-only broken plugins: one source, one defect per build (-DBROKEN_*).
 * Each must give LAM_ERR_PLUGIN and a message naming the file and the reason,
 * and leave nothing registered. */
#include <lamina/plugin.h>

static lam_status ok_create(const lam_host_api *h, const lam_layer_type *type,
                            const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static lam_status ok_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                             lam_tensor *out)
{
    (void)h, (void)self, (void)in, (void)out;
    return LAM_OK;
}

/* registered before the defect shows, to prove nothing half-registers */
static const lam_layer_type fine_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "HalfRegistered",
    .create = ok_create,
    .forward_into = ok_forward,
};

#if defined(BROKEN_DUP_BUILTIN)
#define SECOND_NAME "Linear"
#elif defined(BROKEN_DUP_PLUGIN)
#define SECOND_NAME "Swish"
#else
#define SECOND_NAME "AlsoFine"
#endif

#if defined(BROKEN_OLD_FLAGS)
/* Not broken: a plugin built against ABI 1.6 whose type has bits that 1.6
 * did not define in its flags and something in what was a reserved slot
 * then (capabilities now); it loads and runs as under 1.6: not plane-wise. */
static lam_status copy_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                               lam_tensor *out)
{
    (void)self;
    const float *x = h->tensor_cdata(in);
    float *y = h->tensor_data(out);
    for (int64_t i = 0, n = h->tensor_numel(in); i < n; i++)
        y[i] = x[i];
    return LAM_OK;
}
static uint32_t old_caps(const lam_host_api *h, const lam_module *self, int ndim)
{
    (void)h, (void)self, (void)ndim;
    return LAM_LAYER_PLANEWISE | LAM_LAYER_SAMPLE_BLOCKS;
}
#define ok_forward copy_forward
#endif

#if defined(BROKEN_PLANE_CONTAINER)
static lam_status container_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in,
                                    void *args, lam_tensor **out)
{
    (void)self, (void)args;
    return h->ops->relu(out, in);
}
#endif

/* unused in some variants */
__attribute__((unused)) static const lam_layer_type second_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = SECOND_NAME,
#ifdef BROKEN_UNKNOWN_FLAG
    .flags = LAM_LAYER_ROWWISE | 0x40u, /* a bit no ABI defines */
#endif
#ifdef BROKEN_PLANE_CONTAINER
    .flags = LAM_LAYER_PLANEWISE, /* a container: plans could not run it in blocks */
    .forward = container_forward,
#endif
#ifdef BROKEN_OLD_FLAGS
    .flags = LAM_LAYER_ROWWISE | LAM_LAYER_PLANEWISE | LAM_LAYER_SAMPLE_BLOCKS | 0x40u,
    .capabilities = old_caps,
#endif
#ifdef BROKEN_SEQ_FORWARD
    .flags = LAM_LAYER_SEQUENTIAL, /* a Sequential with a forward of its own */
#endif
#ifdef BROKEN_VARIANT_ONLY
    .variant = "a variant that cannot say which children it takes",
#endif
#ifndef BROKEN_NULL_CREATE
    .create = ok_create,
#endif
#if !defined(BROKEN_NO_FORWARD) && !defined(BROKEN_PLANE_CONTAINER)
    .forward_into = ok_forward,
#endif
};

__attribute__((unused)) static lam_status register_types(const lam_host_api *h,
                                                          lam_registry *reg)
{
    lam_status st = h->register_type(reg, &fine_type);
#if defined(BROKEN_REGISTER_FAILS)
    (void)st;
    return h->error(LAM_ERR_RUNTIME, "register_fails: the widget service is down");
#else
    /* the defect is the second type: its rejection must fail the whole load
     * even though the plugin returns OK */
    (void)st;
    h->register_type(reg, &second_type);
    return LAM_OK;
#endif
}

#if defined(BROKEN_NO_SYMBOL)
/* a shared object with code but no descriptor */
LAM_PLUGIN_VISIBLE int not_a_descriptor(void);
int not_a_descriptor(void) { return register_types(NULL, NULL) == LAM_OK; }
#else

#if defined(BROKEN_BAD_MAGIC)
#define MAGIC 0xDEADBEEFu
#else
#define MAGIC LAM_PLUGIN_MAGIC
#endif
#if defined(BROKEN_ABI_MAJOR)
#define MAJOR (LAM_PLUGIN_ABI_MAJOR + 1)
#else
#define MAJOR LAM_PLUGIN_ABI_MAJOR
#endif
#if defined(BROKEN_ABI_MINOR)
#define MINOR (LAM_PLUGIN_ABI_MINOR + 1)
#elif defined(BROKEN_OLD_FLAGS)
#define MINOR 6u
#else
#define MINOR LAM_PLUGIN_ABI_MINOR
#endif
#if defined(BROKEN_SMALL_STRUCT)
#define SIZE 16u
#else
#define SIZE ((uint32_t)sizeof(lam_plugin_descriptor))
#endif
#if defined(BROKEN_NULL_NAME)
#define NAME NULL
#else
#define NAME BROKEN_NAME
#endif
#if defined(BROKEN_NULL_REGISTER)
#define REGISTER NULL
#else
#define REGISTER register_types
#endif

LAM_PLUGIN_EXPORT const lam_plugin_descriptor lamina_plugin;
const lam_plugin_descriptor lamina_plugin = {
    MAGIC, MAJOR, MINOR, SIZE, NAME, "0.0.1", "a deliberately broken plugin", "MIT", REGISTER, {0},
};
#endif
