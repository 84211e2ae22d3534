/* Status strings and the thread-local error message. */
#include "runtime/core/core.h"
#include "simd/kernels.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAM_STATIC_MSG 256

typedef struct err_tls {
    char *msg;
    size_t cap;
} err_tls;

static pthread_key_t err_key;
static pthread_once_t err_once = PTHREAD_ONCE_INIT;
static __thread err_tls *err_state;
/* Used when even the message buffer cannot be allocated. */
static __thread char err_fallback[LAM_STATIC_MSG];
/* Counts the messages set or cleared on this thread (lam__error_serial). */
static __thread unsigned err_serial;

static void err_free(void *p)
{
    err_tls *e = p;
    if (e) {
        free(e->msg);
        free(e);
    }
}

static void err_init(void) { (void)pthread_key_create(&err_key, err_free); }

static err_tls *err_get(void)
{
    if (err_state)
        return err_state;
    pthread_once(&err_once, err_init);
    err_tls *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    pthread_setspecific(err_key, e);
    err_state = e;
    return e;
}

static void err_set(const char *text)
{
    err_serial++;
    err_tls *e = err_get();
    size_t n = strlen(text) + 1;
    if (e && n > e->cap) {
        char *p = realloc(e->msg, n);
        if (p) {
            e->msg = p;
            e->cap = n;
        }
    }
    if (e && e->cap >= n) {
        memcpy(e->msg, text, n);
        err_fallback[0] = '\0';
    } else {
        snprintf(err_fallback, sizeof err_fallback, "%s", text);
        if (e && e->msg)
            e->msg[0] = '\0';
    }
}

LAM_API const char *lam_last_error(void)
{
    if (err_fallback[0])
        return err_fallback;
    err_tls *e = err_state;
    return e && e->msg ? e->msg : "";
}

unsigned lam__error_serial(void) { return err_serial; }

LAM_API void lam_clear_error(void)
{
    err_serial++;
    err_fallback[0] = '\0';
    if (err_state && err_state->msg)
        err_state->msg[0] = '\0';
}

lam_status lam__verror(lam_status st, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[LAM_STATIC_MSG];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n >= 0 && (size_t)n >= sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            err_set(big);
            free(big);
            va_end(ap2);
            return st;
        }
    }
    va_end(ap2);
    err_set(n >= 0 ? small : "(error message could not be formatted)");
    return st;
}

lam_status lam__error(lam_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lam__verror(st, fmt, ap);
    va_end(ap);
    return st;
}

lam_status lam__oom(const char *what)
{
    return lam__error(LAM_ERR_NO_MEMORY, "out of memory: %s", what);
}

lam_status lam__null_arg(const char *func, const char *arg)
{
    return lam__error(LAM_ERR_INVALID_ARGUMENT, "%s: %s is NULL", func, arg);
}

void lam__error_prefix(const char *prefix)
{
    const char *cur = lam_last_error();
    size_t n = strlen(prefix) + strlen(cur) + 2;
    char *buf = malloc(n);
    if (!buf)
        return; /* keep the unprefixed message */
    snprintf(buf, n, "%s %s", prefix, cur);
    err_set(buf);
    free(buf);
}

/* ---- the log callback ----
 * A message is formatted only when a callback is installed; the callback is
 * called without any lock held, counted in log_calls so that
 * lam_set_log_callback can wait until the previous one has returned. */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t log_idle = PTHREAD_COND_INITIALIZER;
static lam_log_fn log_fn;   /* atomic: read without log_mu to skip formatting */
static void *log_user;      /* under log_mu */
static unsigned log_calls;  /* under log_mu: callbacks running now */
static int log_verbose = -1;
static int log_choice_done;

static bool log_is_verbose(void)
{
    int v = __atomic_load_n(&log_verbose, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("LAMINA_VERBOSE");
        v = e && *e && strcmp(e, "0") != 0;
        __atomic_store_n(&log_verbose, v, __ATOMIC_RELAXED);
    }
    return v;
}

void lam__vlog(lam_log_level level, const char *fmt, va_list ap)
{
    if ((int)level > LAM_LOG_ERROR)
        level = LAM_LOG_ERROR;
    else if ((int)level < LAM_LOG_DEBUG)
        level = LAM_LOG_DEBUG;
    if (!fmt || (level < LAM_LOG_WARNING && !log_is_verbose()) ||
        !__atomic_load_n(&log_fn, __ATOMIC_ACQUIRE))
        return;
    char small[512], *msg = small, *big = NULL;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0)
        snprintf(small, sizeof small, "(log message could not be formatted)");
    else if ((size_t)n >= sizeof small && (big = malloc((size_t)n + 1)) != NULL) {
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        msg = big;
    }
    va_end(ap2);
    size_t len = strlen(msg); /* one line: no trailing newline */
    while (len && msg[len - 1] == '\n')
        msg[--len] = '\0';
    pthread_mutex_lock(&log_mu);
    lam_log_fn fn = __atomic_load_n(&log_fn, __ATOMIC_RELAXED);
    void *user = log_user;
    if (fn)
        log_calls++;
    pthread_mutex_unlock(&log_mu);
    if (fn) {
        fn(level, msg, user);
        pthread_mutex_lock(&log_mu);
        if (--log_calls == 0)
            pthread_cond_broadcast(&log_idle);
        pthread_mutex_unlock(&log_mu);
    }
    free(big);
}

void lam__log(lam_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lam__vlog(level, fmt, ap);
    va_end(ap);
}

LAM_API void lam_set_log_callback(lam_log_fn fn, void *user)
{
    pthread_mutex_lock(&log_mu);
    __atomic_store_n(&log_fn, fn, __ATOMIC_RELEASE);
    log_user = user;
    while (log_calls)
        pthread_cond_wait(&log_idle, &log_mu);
    pthread_mutex_unlock(&log_mu);
    /* the kernel choice, once, to the first callback (simd/ prints nothing) */
    if (fn && !__atomic_exchange_n(&log_choice_done, 1, __ATOMIC_ACQ_REL)) {
        int bad_cap;
        const char *choice = lam__kernels_choice(&bad_cap);
        lam__log(bad_cap ? LAM_LOG_WARNING : LAM_LOG_INFO, "%s", choice);
    }
}

LAM_API const char *lam_status_str(lam_status status)
{
    switch (status) {
    case LAM_OK: return "ok";
    case LAM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case LAM_ERR_SHAPE: return "shape error";
    case LAM_ERR_INDEX: return "index error";
    case LAM_ERR_TYPE: return "type error";
    case LAM_ERR_KEY: return "key error";
    case LAM_ERR_NOT_IMPLEMENTED: return "not implemented";
    case LAM_ERR_STATE_DICT: return "state_dict error";
    case LAM_ERR_NO_MEMORY: return "out of memory";
    case LAM_ERR_IO: return "I/O error";
    case LAM_ERR_FORMAT: return "format error";
    case LAM_ERR_PLUGIN: return "plugin error";
    case LAM_ERR_RUNTIME: return "runtime error";
    }
    return "unknown status";
}

LAM_API const char *lam_version(void) { return PACKAGE_VERSION; }

LAM_API long lam_version_number(void) { return LAM_VERSION_NUMBER; }

LAM_API void lam_free(void *ptr) { free(ptr); }

LAM_API const char *lam_kernel_isa(void) { return lam__kernels()->isa; }
