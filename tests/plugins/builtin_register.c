/* A built-in layer type that does not register must be loud, never absent
 * in silence (before, it showed up later as "unknown layer type 'Linear'").
 *
 * The registry registers the built-in types at its first use.  A test cannot
 * hand it a broken built-in descriptor (the list is compiled in), but it can
 * make registration fail the other way it can: an allocation.  For N = 0, 1,
 * 2, ... a child process fails the N-th allocation made while the registry
 * starts, until a run makes no allocation fail; in each, every built-in type
 * that is then missing must
 *  - have been reported through the log callback as it failed ("built-in
 *    layer type 'X' ... could not be registered: out of memory ...", or, when
 *    the registry itself could not grow, "the 57 built-in layer types could
 *    not be registered: out of memory ..."), and
 *  - make lam_module_create(X), and a model file that uses X, fail with
 *    LAM_ERR_NO_MEMORY and "built-in layer type 'X' is not available: ...",
 *    not with "unknown layer type".
 * And in a run without failures no error is logged: every built-in passes
 * the registry's checks.
 *
 * This program replaces malloc/calloc/realloc/posix_memalign for itself and
 * liblamina, so it is not a Criterion test; it skips (77) under sanitizers or
 * outside glibc. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lamina/lamina.h>
#include <lamina/model.h>

#if defined(__SANITIZE_ADDRESS__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif
#if !defined(__GLIBC__)
#define NO_INTERPOSE 1
#endif

#ifndef NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static long countdown = -1; /* the allocation that fails when it reaches 0 */
static int hit;

static int fail_now(void)
{
    if (countdown < 0 || countdown-- != 0)
        return 0;
    hit = 1;
    return 1;
}

void *malloc(size_t n) { return fail_now() ? NULL : __libc_malloc(n); }
void *calloc(size_t a, size_t b) { return fail_now() ? NULL : __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return fail_now() ? NULL : __libc_realloc(p, n); }
int posix_memalign(void **p, size_t align, size_t n)
{
    if (fail_now())
        return ENOMEM;
    *p = __libc_memalign(align, n);
    return *p ? 0 : ENOMEM;
}

/* what the log callback received (fixed buffers: it may run while
 * allocations fail) */
static char logged[16384];
static size_t logged_len;

static void capture(lam_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level < LAM_LOG_WARNING)
        return;
    int n = snprintf(logged + logged_len, sizeof logged - logged_len, "%s\n", msg);
    if (n > 0 && (size_t)n < sizeof logged - logged_len)
        logged_len += (size_t)n;
}

/* the built-in type names, from a child that registered them all */
static char names[8192];

static int failf(const char *what, const char *name, const char *detail)
{
    printf("FAIL: %s '%s': %s\n", what, name, detail);
    return 1;
}

/* One run: fail the n-th allocation of the registry's start (n < 0: none).
 * Exit status 0 ok, 1 failed, 3 no allocation failed (n is past the last). */
static int child(long n, int names_fd)
{
    lam_set_log_callback(capture, NULL);
    hit = 0;
    countdown = n;
    lam_layer_type_exists("Linear"); /* the registry's first use */
    countdown = -1;
    if (n < 0) {
        if (logged_len)
            return failf("an error was logged when the registry started", "", logged);
        for (size_t i = 0; lam_layer_type_name(i); i++)
            dprintf(names_fd, "%s\n", lam_layer_type_name(i));
        return 0;
    }
    if (!hit)
        return 3;
    int bad = 0, missing = 0;
    char *save = NULL, list[sizeof names];
    memcpy(list, names, sizeof list);
    for (char *name = strtok_r(list, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
        if (lam_layer_type_exists(name))
            continue;
        missing++;
        char want[256];
        snprintf(want, sizeof want, "built-in layer type '%s'", name);
        if ((!strstr(logged, want) && !strstr(logged, "built-in layer types could not be registered")) ||
            !strstr(logged, "could not be registered: ") || !strstr(logged, "out of memory"))
            bad |= failf("missing and not logged (when the allocation failed)", name, logged);
        lam_module *m = NULL;
        lam_status st = lam_module_create(&m, name, 0, NULL);
        snprintf(want, sizeof want, "built-in layer type '%s' is not available: ", name);
        if (st != LAM_ERR_NO_MEMORY || m || !strstr(lam_last_error(), want) ||
            !strstr(lam_last_error(), "out of memory"))
            bad |= failf("missing, and lam_module_create says", name, lam_last_error());
        /* a model file that uses it: the parser must not call it unknown either
         * (it may not need the registry: containers it builds itself) */
        char text[256];
        int len = snprintf(text, sizeof text, "Sequential(\n  (0): %s()\n)\n", name);
        st = lam_model_parse(text, (size_t)len, "m.lam", &m);
        if (st == LAM_OK) /* the parser builds Sequential/ModuleList itself */
            lam_module_release(m);
        else if (!strstr(lam_last_error(), want))
            bad |= failf("missing, and lam_model_parse says", name, lam_last_error());
    }
    if (missing) {
        lam_module *m = NULL;
        if (lam_module_create(&m, "NoSuchLayer", 0, NULL) != LAM_ERR_KEY ||
            !strstr(lam_last_error(), "unknown layer type 'NoSuchLayer'") ||
            !strstr(lam_last_error(), "failed to register"))
            bad |= failf("an unknown type, with built-ins missing", "NoSuchLayer", lam_last_error());
    }
    printf("allocation %ld failed: %d built-in type(s) missing%s\n", n, missing,
           bad ? "" : missing ? ", each logged and named by lam_module_create" : "");
    return bad;
}

static int run_child(long n, int names_fd)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 99;
    }
    if (pid == 0) {
        int rc = child(n, names_fd);
        fflush(stdout);
        _exit(rc);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return 99;
    if (WIFSIGNALED(status)) {
        printf("FAIL: allocation %ld failed: the process died of signal %d\n", n, WTERMSIG(status));
        return 1;
    }
    return WEXITSTATUS(status);
}

int main(void)
{
    int fd[2];
    if (pipe(fd))
        return 99;
    int rc = run_child(-1, fd[1]);
    close(fd[1]);
    size_t len = 0;
    ssize_t r;
    while (len < sizeof names - 1 && (r = read(fd[0], names + len, sizeof names - 1 - len)) > 0)
        len += (size_t)r;
    close(fd[0]);
    if (rc)
        return rc;
    if (!strstr(names, "Linear\n") || !strstr(names, "Sequential\n")) {
        printf("FAIL: the built-in types: %s\n", names);
        return 1;
    }
    int bad = 0;
    long n;
    for (n = 0; n < 100000; n++) {
        rc = run_child(n, -1);
        if (rc == 3)
            break;
        if (rc == 99)
            return 99;
        bad |= rc;
    }
    printf("%ld allocation points while the registry starts\n", n);
    if (!n) {
        puts("FAIL: the registry's start allocated nothing: the test reached no failure");
        return 1;
    }
    return bad;
}
#else
int main(void)
{
    puts("SKIP: allocation interposition needs glibc and no sanitizer");
    return 77;
}
#endif
