/* The plugin loader: find a .so, dlopen it (RTLD_NOW | RTLD_LOCAL), check its
 * descriptor field by field before using it, let it register its types into
 * a pending list and commit them all or none.  A loaded plugin stays mapped
 * while any module made from it exists (each such module holds a reference);
 * lam_plugin_unload only unregisters its types.  Every failure is
 * LAM_ERR_PLUGIN with a message naming the file and the reason. */
#include "runtime/plugin/plugin.h"
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#ifndef LAM_PLUGINDIR
#define LAM_PLUGINDIR "/usr/local/lib/lamina/plugins"
#endif

#define NAME_MAX_LEN 64
#define TEXT_MAX_LEN 4096

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static lam_plugin **loaded;
static size_t n_loaded, cap_loaded;
static char **search_dirs;
static size_t n_search_dirs;

/* The loader runs a plugin's code while it holds load_lock: constructors
 * inside dlopen, register_types, destructors inside dlclose.  That code
 * calling back into a function that takes load_lock would wait forever for
 * its own thread.  So each thread knows whether it holds the lock and whose
 * code may be running: the functions that would change the loader's state
 * then fail (LAM_ERR_PLUGIN, naming the plugin), and those that only read
 * it read without locking again.  Other threads are not affected: they wait
 * for the lock as usual. */
static __thread bool holds_lock;
static __thread const char *running; /* "loading plugin 'x' (/path/x.so)" */

static void loader_lock(void)
{
    pthread_mutex_lock(&load_lock);
    holds_lock = true;
}

static void loader_unlock(void)
{
    holds_lock = false;
    pthread_mutex_unlock(&load_lock);
}

/* A call that would change the loader's state, made from a plugin's code
 * while the loader runs it on this thread. */
static lam_status reentered(const char *fn, const char *arg)
{
    return lam__error(LAM_ERR_PLUGIN,
                      "%s(%s%.200s%s) called while %s (from its constructor, register function "
                      "or destructor): the plugin loader cannot be re-entered from a plugin's "
                      "own code; only lookups of loaded plugins and registered types work there",
                      fn, arg ? "'" : "", arg ? arg : "", arg ? "'" : "",
                      running ? running : "the plugin loader is busy on this thread");
}

/* ---- plugin records ---- */

const char *lam__plugin_label(const struct lam_plugin *p) { return p->label; }

void lam__plugin_retain(struct lam_plugin *p) { __atomic_add_fetch(&p->refcount, 1, __ATOMIC_RELAXED); }

static void plugin_free(lam_plugin *p)
{
    for (size_t i = 0; i < p->n_types; i++)
        lam__type_entry_free(p->types[i]);
    free(p->types);
    free(p->path);
    free(p->name);
    free(p->version);
    free(p->description);
    free(p->license);
    free(p->label);
    free(p);
}

void lam__plugin_release(struct lam_plugin *p)
{
    if (__atomic_sub_fetch(&p->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    /* Unloaded and no module left: nothing can run its code any more.  The
     * library is closed under load_lock like every dlopen/dlclose of the
     * loader: a destructor that calls back into the loader is then told so,
     * and cannot deadlock against a load on another thread (which takes
     * load_lock, then the dynamic linker's lock, as this does). */
    bool relock = !holds_lock;
    if (relock)
        loader_lock();
    const char *outer = running;
    char ctx[PATH_MAX + 160];
    snprintf(ctx, sizeof ctx, "closing %s", p->label);
    running = ctx;
    if (p->handle)
        dlclose(p->handle);
    running = outer;
    if (relock)
        loader_unlock();
    plugin_free(p);
}

/* ---- small helpers ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", dir, (*dir && dir[strlen(dir) - 1] == '/') ? "" : "/", file);
    return p;
}

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The search path: explicit dirs, LAMINA_PLUGIN_PATH, the installed dir. */
static void search_path_locked(lam__strlist *out)
{
    for (size_t i = 0; i < n_search_dirs; i++)
        lam__strlist_push(out, search_dirs[i]);
    const char *env = getenv("LAMINA_PLUGIN_PATH");
    if (env) {
        char *copy = lam__strdup(env);
        if (!copy) {
            out->failed = true;
            return;
        }
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
            if (*d)
                lam__strlist_push(out, d);
        free(copy);
    }
    lam__strlist_push(out, LAM_PLUGINDIR);
}

static char *joined(const lam__strlist *l)
{
    lam__sb sb = {0};
    for (size_t i = 0; i < l->n; i++)
        lam__sb_printf(&sb, "%s%s", i ? ":" : "", l->items[i]);
    if (sb.failed || !sb.buf) {
        free(sb.buf);
        return lam__strdup("");
    }
    return sb.buf;
}

/* The *.so files of a directory, sorted by name. */
static bool list_plugins(const char *dir, lam__strlist *out)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && ends_with(de->d_name, ".so"))
            lam__strlist_push(out, de->d_name);
    closedir(d);
    if (out->n)
        qsort(out->items, out->n, sizeof *out->items, cmp_str);
    return true;
}

/* ---- descriptor checks ---- */

static bool valid_plugin_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= NAME_MAX_LEN || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                   (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
                                   c == '+'))
            return false;
    }
    return n > 0;
}

static lam_status check_descriptor(const char *path, const lam_plugin_descriptor *d)
{
    if (d->magic != LAM_PLUGIN_MAGIC)
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': bad magic 0x%08" PRIx32 " in '%s' (expected 0x%08" PRIx32
                          "): not a lamina plugin descriptor, or a corrupt one",
                          path, d->magic, LAM_PLUGIN_SYMBOL, (uint32_t)LAM_PLUGIN_MAGIC);
    if (d->abi_major != LAM_PLUGIN_ABI_MAJOR)
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': built for plugin ABI %" PRIu32 ".%" PRIu32
                          ", but this lamina (%s) has ABI %u.%u: major versions differ, rebuild "
                          "the plugin against this lamina",
                          path, d->abi_major, d->abi_minor, PACKAGE_VERSION, LAM_PLUGIN_ABI_MAJOR,
                          LAM_PLUGIN_ABI_MINOR);
    if (d->abi_minor > LAM_PLUGIN_ABI_MINOR)
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': built for plugin ABI %" PRIu32 ".%" PRIu32
                          ", newer than this lamina's (%s) ABI %u.%u: upgrade lamina or rebuild "
                          "the plugin against it",
                          path, d->abi_major, d->abi_minor, PACKAGE_VERSION, LAM_PLUGIN_ABI_MAJOR,
                          LAM_PLUGIN_ABI_MINOR);
    if (d->struct_size < LAM__DESC_MIN_SIZE)
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': descriptor struct too small (%" PRIu32
                          " bytes, at least %" PRIu32 " expected for ABI %u.%u)",
                          path, d->struct_size, LAM__DESC_MIN_SIZE, LAM_PLUGIN_ABI_MAJOR,
                          LAM_PLUGIN_ABI_MINOR);
    if (!d->name)
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': descriptor field 'name' is NULL", path);
    if (!valid_plugin_name(d->name))
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': descriptor field 'name' is not a valid plugin name "
                          "(1 to %d letters, digits, '_', '-', '.', '+')",
                          path, NAME_MAX_LEN);
    if (!d->version || !*d->version || strnlen(d->version, TEXT_MAX_LEN) == TEXT_MAX_LEN)
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': descriptor field 'version' is %s", path,
                          d->version ? "invalid" : "NULL");
    if (d->description && strnlen(d->description, TEXT_MAX_LEN) == TEXT_MAX_LEN)
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': descriptor field 'description' is too long",
                          path);
    if (d->license && strnlen(d->license, TEXT_MAX_LEN) == TEXT_MAX_LEN)
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': descriptor field 'license' is too long",
                          path);
    if (!d->register_types)
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': descriptor field 'register_types' is NULL", path);
    return LAM_OK;
}

static lam_plugin *new_record(const char *path, void *handle, const lam_plugin_descriptor *d)
{
    lam_plugin *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->path = lam__strdup(path);
    p->name = lam__strdup(d->name);
    p->version = lam__strdup(d->version);
    p->description = lam__strdup(d->description ? d->description : "");
    p->license = lam__strdup(d->license ? d->license : "");
    size_t n = strlen(path) + strlen(d->name) + 32;
    p->label = malloc(n);
    if (p->label)
        snprintf(p->label, n, "plugin '%s' (%s)", d->name, path);
    p->handle = handle;
    p->refcount = 1;
    if (!p->path || !p->name || !p->version || !p->description || !p->license || !p->label) {
        p->handle = NULL;
        plugin_free(p);
        return NULL;
    }
    return p;
}

static lam_plugin *find_loaded_locked(const char *path, void *handle, const char *name)
{
    for (size_t i = 0; i < n_loaded; i++) {
        lam_plugin *p = loaded[i];
        if ((path && strcmp(p->path, path) == 0) || (handle && p->handle == handle) ||
            (name && strcmp(p->name, name) == 0))
            return p;
    }
    return NULL;
}

static bool pending_has(const lam_registry *reg, const char *type_name)
{
    for (size_t i = 0; i < reg->n_pending; i++)
        if (strcmp(reg->pending[i]->name, type_name) == 0)
            return true;
    return false;
}

/* Does d's register_types list `want`?  (Asked of a plugin that cannot be
 * loaded: was it the one being looked for?)  Nothing is kept. */
static bool probe_lists(const lam_plugin_descriptor *d, const char *want)
{
    lam_registry reg = {.want = want, .desc = d};
    lam__plugin_error_begin();
    d->register_types(lam__host_api(), &reg);
    bool seen = reg.want_seen;
    lam__registry_discard(&reg);
    return seen;
}

/* Close a library the load gives up on, after the message saying why: its
 * destructors may run and call into lamina, which must not replace it. */
static lam_status close_failed(void *handle, lam_status st)
{
    char *why = *lam_last_error() ? lam__strdup(lam_last_error()) : NULL;
    dlclose(handle);
    if (why)
        lam__error(st, "%s", why);
    free(why);
    return st;
}

/* load_file_locked's work; ctx (what `running` points to) is kept up to date
 * with what is known of the plugin. */
static lam_status load_file_running(const char *file, const char *want_type, lam_plugin **out,
                                    bool *provides, char *ctx, size_t ctx_size)
{
    *out = NULL;
    char real[PATH_MAX];
    if (!realpath(file, real))
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': cannot open: %s", file, strerror(errno));
    if (!is_regular_file(real))
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': not a regular file", file);
    snprintf(ctx, ctx_size, "loading plugin '%s'", real);
    lam_plugin *have = find_loaded_locked(real, NULL, NULL);
    if (have) {
        if (want_type)
            return LAM_ERR_KEY;
        *out = have;
        return LAM_OK;
    }
    dlerror();
    void *handle = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return lam__error(LAM_ERR_PLUGIN, "plugin '%s': not a loadable shared object: %s", real,
                          why ? why : "unknown dlopen error");
    }
    have = find_loaded_locked(NULL, handle, NULL); /* the same file by another path */
    if (have) {
        dlclose(handle);
        if (want_type)
            return LAM_ERR_KEY;
        *out = have;
        return LAM_OK;
    }
    dlerror();
    const lam_plugin_descriptor *d = dlsym(handle, LAM_PLUGIN_SYMBOL);
    if (!d) {
        dlclose(handle);
        return lam__error(LAM_ERR_PLUGIN,
                          "plugin '%s': no '%s' symbol: not a lamina plugin (a plugin defines "
                          "it with LAM_PLUGIN_DEFINE)",
                          real, LAM_PLUGIN_SYMBOL);
    }
    lam_status st = check_descriptor(real, d);
    if (st)
        return close_failed(handle, st);
    snprintf(ctx, ctx_size, "loading plugin '%s' (%s)", d->name, real);
    if ((have = find_loaded_locked(NULL, NULL, d->name))) {
        /* say which plugin is in the way, and whether this one is the one
         * lam_plugin_find_type was looking for */
        if (want_type)
            *provides = probe_lists(d, want_type);
        st = lam__error(LAM_ERR_PLUGIN,
                        "plugin '%s' (%s, version %.64s): a plugin named '%s' is already loaded, "
                        "from %s (version %.64s); plugin names must be unique: unload that one "
                        "first, or rename this one",
                        d->name, real, d->version, d->name, have->path, have->version);
        return close_failed(handle, st);
    }
    lam_plugin *p = new_record(real, handle, d);
    if (!p) {
        dlclose(handle);
        return lam__oom("plugin record");
    }
    lam_registry reg = {.owner = p, .want = want_type, .desc = d};
    lam__plugin_error_begin();
    st = lam__plugin_status(d->register_types(lam__host_api(), &reg));
    *provides = reg.want_seen;
    if (st != LAM_OK) {
        char *why = lam__strdup(*lam_last_error() ? lam_last_error() : lam_status_str(st));
        lam__error(LAM_ERR_PLUGIN, "%s: register_types failed: %s", p->label,
                   why ? why : lam_status_str(st));
        free(why);
        st = LAM_ERR_PLUGIN;
    } else if (reg.failed) {
        st = lam__error(LAM_ERR_PLUGIN, "%s: %s", p->label,
                        reg.fail_msg ? reg.fail_msg : "a layer type was rejected");
    } else if (want_type && !pending_has(&reg, want_type)) {
        st = LAM_ERR_KEY;
    }
    if (st == LAM_OK && n_loaded == cap_loaded) {
        size_t cap = cap_loaded ? cap_loaded * 2 : 8;
        lam_plugin **l = realloc(loaded, cap * sizeof *l);
        if (l) {
            loaded = l;
            cap_loaded = cap;
        } else {
            st = lam__oom("plugin list");
        }
    }
    if (st != LAM_OK) {
        lam__registry_discard(&reg);
        p->handle = NULL;
        plugin_free(p);
        return close_failed(handle, st);
    }
    p->types = malloc((reg.n_pending + 1) * sizeof *p->types);
    if (!p->types) {
        lam__registry_discard(&reg);
        p->handle = NULL;
        plugin_free(p);
        dlclose(handle);
        return lam__oom("plugin types");
    }
    p->n_types = reg.n_pending;
    memcpy(p->types, reg.pending, reg.n_pending * sizeof *p->types);
    lam__registry_commit(&reg);
    if (reg.n_pending) { /* the registry could not grow: undo */
        lam__registry_remove_owner(p);
        reg.n_pending = 0;
        lam__registry_discard(&reg);
        p->handle = NULL;
        plugin_free(p);
        dlclose(handle);
        return lam__oom("layer type registry");
    }
    lam__registry_discard(&reg);
    loaded[n_loaded++] = p;
    *out = p;
    return LAM_OK;
}

/* Load one file.  With want_type, keep the plugin only if it provides that
 * type (LAM_ERR_KEY, without a message, when it does not); *provides (may
 * be NULL) then says whether the plugin lists the type, even when it fails
 * to load.  The plugin's code (constructors, register_types, destructors)
 * runs with `running` naming it. */
static lam_status load_file_locked(const char *file, const char *want_type, lam_plugin **out,
                                   bool *provides)
{
    bool provides_unused = false;
    if (!provides)
        provides = &provides_unused;
    *provides = false;
    char ctx[PATH_MAX + 160];
    const char *outer = running;
    snprintf(ctx, sizeof ctx, "loading plugin '%s'", file);
    running = ctx;
    lam_status st = load_file_running(file, want_type, out, provides, ctx, sizeof ctx);
    running = outer;
    return st;
}

/* A file for `name` in the search path ("swish" -> dir/swish.so). */
static lam_status resolve_name_locked(const char *name, char **out)
{
    *out = NULL;
    lam__strlist dirs = {0};
    search_path_locked(&dirs);
    if (dirs.failed) {
        lam__strlist_free(&dirs);
        return lam__oom("plugin search path");
    }
    for (size_t i = 0; i < dirs.n && !*out; i++) {
        char file[NAME_MAX + 8];
        snprintf(file, sizeof file, "%s%s", name, ends_with(name, ".so") ? "" : ".so");
        char *p = join_path(dirs.items[i], file);
        if (p && is_regular_file(p)) {
            *out = p;
            break;
        }
        free(p);
    }
    lam_status st = LAM_OK;
    if (!*out) {
        char *path = joined(&dirs);
        st = lam__error(LAM_ERR_PLUGIN, "plugin '%s': not found in the plugin search path (%s)",
                        name, path ? path : "");
        free(path);
    }
    lam__strlist_free(&dirs);
    return st;
}

LAM_API lam_status lam_plugin_load(const char *path_or_name, lam_plugin **out)
{
    if (out)
        *out = NULL;
    LAM__CHECK_ARG(path_or_name);
    if (!*path_or_name)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_load: no path or name given");
    if (!strchr(path_or_name, '/') && strlen(path_or_name) > NAME_MAX)
        return lam__error(LAM_ERR_PLUGIN, "plugin '%.64s...': name too long", path_or_name);
    if (holds_lock)
        return reentered("lam_plugin_load", path_or_name);
    lam__registry_ensure();
    loader_lock();
    char *file = NULL;
    lam_status st = LAM_OK;
    if (strchr(path_or_name, '/'))
        file = lam__strdup(path_or_name), st = file ? LAM_OK : lam__oom("plugin path");
    else
        st = resolve_name_locked(path_or_name, &file);
    lam_plugin *p = NULL;
    if (!st)
        st = load_file_locked(file, NULL, &p, NULL);
    loader_unlock();
    free(file);
    if (!st && out)
        *out = p;
    return st;
}

LAM_API lam_status lam_plugin_load_dir(const char *dir, size_t *n_ok)
{
    if (n_ok)
        *n_ok = 0;
    LAM__CHECK_ARG(dir);
    if (!*dir)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_load_dir: no directory given");
    if (holds_lock)
        return reentered("lam_plugin_load_dir", dir);
    lam__registry_ensure();
    lam__strlist files = {0};
    if (!list_plugins(dir, &files)) {
        int e = errno;
        lam__strlist_free(&files);
        return lam__error(LAM_ERR_PLUGIN, "plugin directory '%s': cannot open: %s", dir,
                          strerror(e));
    }
    if (files.failed) {
        lam__strlist_free(&files);
        return lam__oom("plugin directory listing");
    }
    lam__sb errs = {0};
    size_t n_failed = 0, n_good = 0;
    loader_lock();
    for (size_t i = 0; i < files.n; i++) {
        char *path = join_path(dir, files.items[i]);
        lam_plugin *p;
        lam_status st = path ? load_file_locked(path, NULL, &p, NULL) : lam__oom("plugin path");
        if (st) {
            lam__sb_printf(&errs, "%s%s", n_failed ? "; " : "", lam_last_error());
            n_failed++;
        } else {
            n_good++;
        }
        free(path);
    }
    loader_unlock();
    lam_status st = LAM_OK;
    if (n_failed)
        st = lam__error(LAM_ERR_PLUGIN, "%zu of %zu plugins in '%s' could not be loaded: %s",
                        n_failed, files.n, dir, errs.buf && !errs.failed ? errs.buf : "");
    free(errs.buf);
    lam__strlist_free(&files);
    if (n_ok)
        *n_ok = n_good;
    return st;
}

static bool stem_matches(const char *file, const char *type_name)
{
    size_t n = strlen(file) - 3; /* without ".so" */
    return strlen(type_name) == n && strncasecmp(file, type_name, n) == 0;
}

LAM_API lam_status lam_plugin_find_type(const char *type_name)
{
    LAM__CHECK_ARG(type_name);
    if (!*type_name)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_find_type: no type name given");
    if (lam_layer_type_exists(type_name))
        return LAM_OK;
    /* a built-in that could not register: that is the news, not that no plugin has it */
    lam_status missing = lam__registry_builtin_missing(type_name);
    if (missing)
        return missing;
    if (holds_lock) /* it would have to load a plugin */
        return reentered("lam_plugin_find_type", type_name);
    loader_lock();
    /* another thread may have loaded it while we waited */
    lam_status st = lam_layer_type_exists(type_name) ? LAM_OK : LAM_ERR_KEY;
    size_t n_broken = 0;
    char *claim = NULL; /* the load error of a plugin that lists the type */
    lam__strlist dirs = {0};
    search_path_locked(&dirs);
    /* pass 0: files named like the type; pass 1: every plugin */
    for (int pass = 0; pass < 2 && st != LAM_OK && !dirs.failed; pass++) {
        for (size_t i = 0; i < dirs.n && st != LAM_OK; i++) {
            lam__strlist files = {0};
            if (!list_plugins(dirs.items[i], &files)) {
                lam__strlist_free(&files);
                continue;
            }
            for (size_t j = 0; j < files.n && st != LAM_OK; j++) {
                if (stem_matches(files.items[j], type_name) != (pass == 0))
                    continue;
                char *path = join_path(dirs.items[i], files.items[j]);
                lam_plugin *p;
                bool provides = false;
                lam_status r = path ? load_file_locked(path, type_name, &p, &provides)
                                    : LAM_ERR_NO_MEMORY;
                if (r == LAM_OK) {
                    st = LAM_OK;
                } else if (r != LAM_ERR_KEY) {
                    n_broken++;
                    if (provides && !claim)
                        claim = lam__strdup(lam_last_error());
                }
                free(path);
            }
            lam__strlist_free(&files);
        }
    }
    if (st != LAM_OK && claim) {
        /* the news is why that plugin failed, not that the type is unknown */
        st = lam__error(LAM_ERR_PLUGIN,
                        "layer type '%.128s' is provided by a plugin that could not be loaded: %s",
                        type_name, claim);
    } else if (st != LAM_OK) {
        char *path = joined(&dirs);
        char broken[96] = "";
        if (n_broken)
            snprintf(broken, sizeof broken, "; %zu file%s there could not be loaded", n_broken,
                     n_broken == 1 ? "" : "s");
        st = lam__error(LAM_ERR_KEY,
                        "unknown layer type '%.128s': no plugin in the plugin search path (%s) "
                        "provides it%s",
                        type_name, path ? path : "", broken);
        free(path);
    }
    free(claim);
    lam__strlist_free(&dirs);
    loader_unlock();
    return st;
}

LAM_API lam_status lam_plugin_add_search_dir(const char *dir)
{
    LAM__CHECK_ARG(dir);
    if (!*dir)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_add_search_dir: no directory given");
    if (holds_lock)
        return reentered("lam_plugin_add_search_dir", dir);
    loader_lock();
    lam_status st = LAM_OK;
    bool have = false;
    for (size_t i = 0; i < n_search_dirs; i++)
        have |= strcmp(search_dirs[i], dir) == 0;
    if (!have) {
        char **d = realloc(search_dirs, (n_search_dirs + 1) * sizeof *d);
        char *c = lam__strdup(dir);
        if (d)
            search_dirs = d;
        if (!d || !c) {
            free(c);
            st = lam__oom("plugin search path");
        } else {
            search_dirs[n_search_dirs++] = c;
        }
    }
    loader_unlock();
    return st;
}

LAM_API char *lam_plugin_search_path(void)
{
    bool mine = holds_lock; /* a plugin's code under load: read without relocking */
    if (!mine)
        loader_lock();
    lam__strlist dirs = {0};
    search_path_locked(&dirs);
    char *s = dirs.failed ? NULL : joined(&dirs);
    lam__strlist_free(&dirs);
    if (!mine)
        loader_unlock();
    if (!s)
        lam__oom("plugin search path");
    return s;
}

LAM_API lam_status lam_plugin_unload(lam_plugin *plugin)
{
    LAM__CHECK_ARG(plugin);
    if (holds_lock)
        return reentered("lam_plugin_unload", NULL);
    loader_lock();
    size_t i = 0;
    while (i < n_loaded && loaded[i] != plugin)
        i++;
    if (i == n_loaded) {
        loader_unlock();
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_plugin_unload: plugin is not loaded");
    }
    memmove(loaded + i, loaded + i + 1, (n_loaded - i - 1) * sizeof *loaded);
    n_loaded--;
    lam__registry_remove_owner(plugin);
    loader_unlock();
    lam__plugin_release(plugin);
    return LAM_OK;
}

/* ---- queries ---- */

LAM_API lam_plugin *lam_plugin_at(size_t i)
{
    bool mine = holds_lock;
    if (!mine)
        loader_lock();
    lam_plugin *p = i < n_loaded ? loaded[i] : NULL;
    if (!mine)
        loader_unlock();
    return p;
}

LAM_API lam_plugin *lam_plugin_find(const char *name)
{
    LAM__CHECK_ARG_OR(name, NULL);
    bool mine = holds_lock;
    if (!mine)
        loader_lock();
    lam_plugin *p = find_loaded_locked(NULL, NULL, name);
    if (!mine)
        loader_unlock();
    return p;
}

LAM_API const char *lam_plugin_name(const lam_plugin *plugin)
{
    LAM__CHECK_ARG_OR(plugin, NULL);
    return plugin->name;
}

LAM_API const char *lam_plugin_version(const lam_plugin *plugin)
{
    LAM__CHECK_ARG_OR(plugin, NULL);
    return plugin->version;
}

LAM_API const char *lam_plugin_description(const lam_plugin *plugin)
{
    LAM__CHECK_ARG_OR(plugin, NULL);
    return plugin->description;
}

LAM_API const char *lam_plugin_license(const lam_plugin *plugin)
{
    LAM__CHECK_ARG_OR(plugin, NULL);
    return plugin->license;
}

LAM_API const char *lam_plugin_path(const lam_plugin *plugin)
{
    LAM__CHECK_ARG_OR(plugin, NULL);
    return plugin->path;
}

LAM_API size_t lam_plugin_num_types(const lam_plugin *plugin)
{
    LAM__CHECK_ARG_OR(plugin, 0);
    return plugin->n_types;
}

LAM_API const char *lam_plugin_type_name(const lam_plugin *plugin, size_t i)
{
    LAM__CHECK_ARG_OR(plugin, NULL);
    return i < plugin->n_types ? plugin->types[i]->name : NULL;
}
