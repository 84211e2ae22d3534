/* The plugin loader from several threads at once.  A plain program (not
 * Criterion) so that it also runs under ThreadSanitizer (`make tsan-check`).
 *
 * 1. A plugin's register_types calls back into the loader (it must get an
 *    error at once, not deadlock on the loader's lock) while another thread
 *    loads a plugin: that thread must simply wait, then load normally — the
 *    "called while loading" refusal belongs to the first thread only.
 * 2. Threads load, probe for types, list plugins and create modules while
 *    another loads, unloads and closes a plugin (the last module's release
 *    closes the library under the loader's lock) over and over. */
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef LAM_TEST_SHIPPED_DIR
#define LAM_TEST_SHIPPED_DIR "plugins/.libs"
#endif
#ifndef LAM_TEST_PLUGIN_DIR
#define LAM_TEST_PLUGIN_DIR "tests/plugins/.libs"
#endif
#ifndef LAM_TEST_REENTER_DIR
#define LAM_TEST_REENTER_DIR "tests/plugins/reenter/.libs"
#endif

#define SWISH LAM_TEST_SHIPPED_DIR "/swish.so"
#define RMSNORM LAM_TEST_SHIPPED_DIR "/rmsnorm.so"
#define REENTER LAM_TEST_REENTER_DIR "/reenter_register.so"

static int failures;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "load_threads: FAIL: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    failures++;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

typedef struct load_job {
    const char *path;
    lam_status st;
    char msg[1024];
} load_job;

static void *load_one(void *arg)
{
    load_job *j = arg;
    j->st = lam_plugin_load(j->path, NULL);
    snprintf(j->msg, sizeof j->msg, "%s", j->st ? lam_last_error() : "");
    return NULL;
}

/* ---- 1. re-entry on one thread, a plain wait on the other ---- */

static void reentry_while_another_thread_loads(void)
{
    setenv("LAM_TEST_REENTER_GATE", "1", 1); /* before any thread starts */
    load_job a = {.path = REENTER}, b = {.path = SWISH};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, load_one, &a);
    /* wait until thread a is inside the plugin's register_types */
    void *h = NULL;
    int *entered = NULL, *gate = NULL;
    for (int i = 0; i < 30000 && !(entered && __atomic_load_n(entered, __ATOMIC_ACQUIRE)); i++) {
        if (!h && (h = dlopen(REENTER, RTLD_NOW | RTLD_NOLOAD))) {
            entered = dlsym(h, "reenter_entered");
            gate = dlsym(h, "reenter_gate");
        }
        sleep_ms(1);
    }
    if (!entered || !gate || !__atomic_load_n(entered, __ATOMIC_ACQUIRE)) {
        fail("the reenter plugin never reached register_types", lam_last_error());
        if (gate)
            __atomic_store_n(gate, 1, __ATOMIC_RELEASE);
        pthread_join(ta, NULL);
        if (h)
            dlclose(h);
        return;
    }
    /* thread b now waits for the loader's lock, which thread a holds; give it
     * time to get there (if it has not, the test covers less, but passes) */
    pthread_create(&tb, NULL, load_one, &b);
    sleep_ms(50);
    __atomic_store_n(gate, 1, __ATOMIC_RELEASE);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    unsetenv("LAM_TEST_REENTER_GATE");

    if (a.st != LAM_OK)
        fail("loading the reenter plugin", a.msg);
    if (b.st != LAM_OK)
        fail("the other thread's load (it must wait, then load)", b.msg);
    if (!lam_plugin_find("swish") || !lam_layer_type_exists("Swish"))
        fail("swish is not loaded after the other thread's load", NULL);
    if (!lam_plugin_find("reenter_register") || !lam_layer_type_exists("ReenterRegister"))
        fail("reenter_register is not loaded", NULL);
    const char *log = dlsym(h, "reenter_log");
    if (!log) {
        fail("no reenter_log", NULL);
    } else {
        static const char *const want[] = {
            "load: ", "lam_plugin_load('swish') called while loading plugin 'reenter_register' (",
            "find_type Linear: ", "lam_plugin_find_type('NoSuchType') called while loading",
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
            if (!strstr(log, want[i]))
                fail("the plugin's re-entrant calls did not get the expected answers", log);
        if (strstr(log, "find_type Linear: ") && !strstr(log, "find_type Linear: ok"))
            fail("find_type of a built-in from register_types should work", log);
    }
    dlclose(h);
}

/* ---- 2. loads, probes, lookups and closes, all at once ---- */

#define ROUNDS 40

static void *user(void *arg)
{
    int *bad = arg;
    for (int r = 0; r < ROUNDS; r++) {
        lam_module *m = NULL;
        lam_kwarg n8[] = {{NULL, LAM_INT(8)}};
        if (lam_plugin_load(RMSNORM, NULL) != LAM_OK ||
            lam_plugin_find_type("ConditionalModel") != LAM_OK ||
            lam_module_create(&m, "RMSNorm", 1, n8) != LAM_OK) {
            fprintf(stderr, "load_threads: user: %s\n", lam_last_error());
            (*bad)++;
        }
        lam_module_release(m);
        /* lam_plugin_at's pointers are borrowed: another thread's unload may
         * free them, so only count them; rmsnorm is never unloaded here */
        size_t n = 0;
        while (lam_plugin_at(n))
            n++;
        if (n == 0 || !lam_plugin_name(lam_plugin_find("rmsnorm")))
            (*bad)++;
        char *path = lam_plugin_search_path();
        if (!path)
            (*bad)++;
        lam_free(path);
    }
    return NULL;
}

static void *closer(void *arg)
{
    int *bad = arg;
    for (int r = 0; r < ROUNDS; r++) {
        lam_plugin *p = NULL;
        lam_module *m = NULL;
        if (lam_plugin_load(SWISH, &p) != LAM_OK || lam_module_create(&m, "Swish", 0, NULL) ||
            lam_plugin_unload(p) != LAM_OK) {
            fprintf(stderr, "load_threads: closer: %s\n", lam_last_error());
            (*bad)++;
        }
        lam_module_release(m); /* the last module: closes the library */
    }
    return NULL;
}

static void everything_at_once(void)
{
    enum { USERS = 3 };
    int bad[USERS + 1] = {0};
    pthread_t th[USERS + 1];
    for (int i = 0; i < USERS; i++)
        pthread_create(&th[i], NULL, user, &bad[i]);
    pthread_create(&th[USERS], NULL, closer, &bad[USERS]);
    for (int i = 0; i <= USERS; i++) {
        pthread_join(th[i], NULL);
        if (bad[i])
            fail(i < USERS ? "a user thread's calls failed" : "the closing thread's calls failed",
                 NULL);
    }
}

int main(void)
{
    /* a deadlock (the bug this guards against) ends the run instead of
     * hanging it; the work itself takes well under a second */
    alarm(600);
    setenv("LAMINA_PLUGIN_PATH", LAM_TEST_SHIPPED_DIR ":" LAM_TEST_PLUGIN_DIR, 0);
    reentry_while_another_thread_loads();
    /* swish must be unloaded for the closer's first load to be its own */
    if (lam_plugin_find("swish") && lam_plugin_unload(lam_plugin_find("swish")) != LAM_OK)
        fail("unloading swish", lam_last_error());
    everything_at_once();
    if (failures)
        return 1;
    printf("load_threads: ok\n");
    return 0;
}
