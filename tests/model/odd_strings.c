/* A test-only plugin whose free-text fields hold terminal control bytes:
 * `lamina info` must show them escaped, never raw (tests/model/cli-errors.sh).
 * One layer type that is never run, so it is listed like any other plugin. */
#include <lamina/plugin.h>

static lam_status odd_create(const lam_host_api *h, const lam_layer_type *type, const lam_value *args,
                             lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

static lam_status odd_forward(const lam_host_api *h, lam_module *self, const lam_tensor *in, lam_tensor *out)
{
    (void)h, (void)self, (void)in, (void)out;
    return LAM_OK; /* never run */
}

static const lam_layer_type odd_type = {
    .struct_size = sizeof(lam_layer_type), .name = "OddStrings", .create = odd_create,
    .forward_into = odd_forward,
};

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    return h->register_type(reg, &odd_type);
}

/* ESC [ 2 J clears a terminal; BEL; a raw C1 CSI byte; U+009B as UTF-8;
 * a newline; and UTF-8 text that must pass through as it is */
LAM_PLUGIN_DEFINE("odd_strings", "1.0\033[2J", "caf\xc3\xa9 line one\nline two\a \x9b" "1m \xc2\x9b" "2m \\", "MIT",
                  register_types);
