/* Test-only plugins that call back into the plugin loader from their own
 * code while it loads or closes them — one source, one place per build:
 *   -DREENTER_CTOR      a constructor (runs inside dlopen)
 *   -DREENTER_REGISTER  register_types
 *   -DREENTER_DTOR      a destructor (runs inside dlclose)
 * Each calls lam_plugin_load, _load_dir, _find_type, _add_search_dir and
 * _unload (which must fail with a message naming this plugin, not
 * deadlock), and the lookups lam_plugin_at, _find, _search_path and
 * find_type of a registered type (which work); register_types also creates
 * modules with host->module_create (which works for registered types).  A real plugin does not link
 * liblamina; these find its functions with dlsym(RTLD_DEFAULT), as a
 * misbehaving one could.
 *
 * What each call returned is written, a line per call, to `reenter_log`
 * (exported; tests read it with dlsym).  The destructor also copies it to
 * the environment variable LAM_TEST_REENTER_DTOR_LOG, since the library is
 * gone afterwards; it acts only after register_types has run, not at exit.
 * Environment: LAM_TEST_REENTER_FAIL makes register_types fail (the loader
 * then closes the library itself); LAM_TEST_REENTER_GATE makes it set
 * `reenter_entered` and wait (30 s at most) for `reenter_gate`, so that
 * another thread can try to load meanwhile (tests/plugins/load_threads.c). */
#include <lamina/plugin.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(REENTER_CTOR)
#define PLUGIN_NAME "reenter_ctor"
#define TYPE_NAME "ReenterCtor"
#elif defined(REENTER_REGISTER)
#define PLUGIN_NAME "reenter_register"
#define TYPE_NAME "ReenterRegister"
#else
#define PLUGIN_NAME "reenter_dtor"
#define TYPE_NAME "ReenterDtor"
#endif

LAM_PLUGIN_EXPORT char reenter_log[4096];
char reenter_log[4096];
LAM_PLUGIN_EXPORT int reenter_entered, reenter_gate;
int reenter_entered, reenter_gate;

static void append(const char *fmt, ...) LAM_PLUGIN_PRINTF(1, 2);
static void append(const char *fmt, ...)
{
    size_t n = strlen(reenter_log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reenter_log + n, sizeof reenter_log - n, fmt, ap);
    va_end(ap);
}

#define LAMINA_FN(name) __typeof__(name) *name##_ = (__typeof__(name) *)dlsym(RTLD_DEFAULT, #name)

static void call_back(const char *where)
{
    LAMINA_FN(lam_plugin_load);
    LAMINA_FN(lam_plugin_load_dir);
    LAMINA_FN(lam_plugin_find_type);
    LAMINA_FN(lam_plugin_add_search_dir);
    LAMINA_FN(lam_plugin_unload);
    LAMINA_FN(lam_plugin_at);
    LAMINA_FN(lam_plugin_find);
    LAMINA_FN(lam_plugin_name);
    LAMINA_FN(lam_plugin_search_path);
    LAMINA_FN(lam_free);
    LAMINA_FN(lam_last_error);
    LAMINA_FN(lam_status_str);
    if (!lam_plugin_load_ || !lam_plugin_load_dir_ || !lam_plugin_find_type_ ||
        !lam_plugin_add_search_dir_ || !lam_plugin_unload_ || !lam_plugin_at_ ||
        !lam_plugin_find_ || !lam_plugin_name_ || !lam_plugin_search_path_ || !lam_free_ ||
        !lam_last_error_ || !lam_status_str_) {
        append("[%s] liblamina's functions not found\n", where);
        return;
    }
    append("[%s]\n", where);
#define NOTE(label, call)                                                                          \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        append("%s: %s: %s\n", label, lam_status_str_(st_), st_ ? lam_last_error_() : "");        \
    } while (0)
    lam_plugin *p = NULL;
    NOTE("load", lam_plugin_load_("swish", &p));
    NOTE("load_dir", lam_plugin_load_dir_("/nonexistent", NULL));
    NOTE("find_type Linear", lam_plugin_find_type_("Linear"));
    NOTE("find_type NoSuchType", lam_plugin_find_type_("NoSuchType"));
    NOTE("add_search_dir", lam_plugin_add_search_dir_("/nonexistent"));
    lam_plugin *first = lam_plugin_at_(0);
    if (first)
        NOTE("unload", lam_plugin_unload_(first));
    char *path = lam_plugin_search_path_();
    append("at(0)=%s find(swish)=%s search_path=%s\n", first ? lam_plugin_name_(first) : "NULL",
           lam_plugin_find_("swish") ? "found" : "NULL", path ? "ok" : "NULL");
    lam_free_(path);
}

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

static const lam_layer_type the_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = TYPE_NAME,
    .create = plain_create,
    .forward_into = copy_forward,
};

static int armed; /* register_types has run: the destructor may act */

static lam_status register_types(const lam_host_api *h, lam_registry *reg)
{
    armed = 1;
    if (getenv("LAM_TEST_REENTER_GATE")) {
        __atomic_store_n(&reenter_entered, 1, __ATOMIC_RELEASE);
        struct timespec ms = {0, 1000000};
        for (int i = 0; i < 30000 && !__atomic_load_n(&reenter_gate, __ATOMIC_ACQUIRE); i++)
            nanosleep(&ms, NULL);
    }
#if defined(REENTER_REGISTER)
    call_back("register_types");
    /* creating modules works there (for registered types; this plugin's own
     * are not registered yet) */
    lam_kwarg lin[] = {{NULL, LAM_INT(2)}, {NULL, LAM_INT(3)}};
    lam_module *m = NULL;
    lam_status st = h->module_create(&m, "Linear", 2, lin);
    append("module_create Linear: %s\n", st ? "failed" : "ok");
    h->module_release(m);
    st = h->module_create(&m, TYPE_NAME, 0, NULL);
    append("module_create " TYPE_NAME ": %s\n", st == LAM_ERR_KEY ? "unknown" : "unexpected");
#endif
    if (getenv("LAM_TEST_REENTER_FAIL"))
        return h->error(LAM_ERR_RUNTIME, PLUGIN_NAME ": failing on purpose");
    return h->register_type(reg, &the_type);
}

#if defined(REENTER_CTOR)
__attribute__((constructor)) static void at_load(void) { call_back("constructor"); }
#endif

#if defined(REENTER_DTOR)
__attribute__((destructor)) static void at_close(void)
{
    if (!armed)
        return;
    call_back("destructor");
    setenv("LAM_TEST_REENTER_DTOR_LOG", reenter_log, 1);
}
#endif

LAM_PLUGIN_DEFINE(PLUGIN_NAME, "0.0.1", "calls back into the loader while being loaded", "MIT",
                  register_types);
