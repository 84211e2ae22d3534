/* The log callback (lam_set_log_callback): lamina writes nothing to stderr by
 * itself; warnings, LAMINA_VERBOSE notes and plugins' host->log lines reach
 * the callback the application installs, from any thread; replacing the
 * callback waits for the old one to return.  And the warning that a worker
 * thread could not be started (issue 12.3): the forward still succeeds with
 * the same bits, on fewer threads.  Criterion runs every test in its own
 * process, so environment variables set here are read fresh. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <lamina/lamina.h>
#include <lamina/plugin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "tests/threads/models.h"

#ifndef LAM_TEST_PLUGIN_DIR
#define LAM_TEST_PLUGIN_DIR "tests/plugins/.libs"
#endif

/* ---- a recording callback ---- */

#define MAX_RECORDS 512

typedef struct record {
    lam_log_level level;
    char text[200];
    pthread_t thread;
} record;

static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static record records[MAX_RECORDS];
static int n_records, bad_user;

/* (no cr_assert here: it may run on one of lamina's threads) */
static void recorder(lam_log_level level, const char *message, void *user)
{
    pthread_mutex_lock(&rec_mu);
    bad_user += user != (void *)records;
    if (n_records < MAX_RECORDS) {
        records[n_records].level = level;
        snprintf(records[n_records].text, sizeof records[n_records].text, "%s", message);
        records[n_records].thread = pthread_self();
        n_records++;
    }
    pthread_mutex_unlock(&rec_mu);
}

static void record_start(void)
{
    n_records = bad_user = 0;
    lam_set_log_callback(recorder, records);
}

static void record_stop(void)
{
    lam_set_log_callback(NULL, NULL);
    cr_expect_eq(bad_user, 0, "the callback got another user pointer");
}

/* How many records have exactly this level and text. */
static int count(lam_log_level level, const char *text)
{
    int n = 0;
    for (int i = 0; i < n_records; i++)
        n += records[i].level == level && strcmp(records[i].text, text) == 0;
    return n;
}

/* The first record whose text starts with prefix, or NULL. */
static const record *find(const char *prefix)
{
    for (int i = 0; i < n_records; i++)
        if (strncmp(records[i].text, prefix, strlen(prefix)) == 0)
            return &records[i];
    return NULL;
}

static lam_module *chatty(void)
{
    cr_assert_eq(lam_plugin_load(LAM_TEST_PLUGIN_DIR "/testtypes.so", NULL), LAM_OK, "%s",
                 lam_last_error());
    lam_module *m = NULL;
    cr_assert_eq(lam_module_create(&m, "Chatty", 0, NULL), LAM_OK, "%s", lam_last_error());
    return m;
}

static void run_once(lam_module *m, int64_t rows, int64_t cols)
{
    lam_tensor *x = make_input(rows, cols, 1), *y = NULL;
    cr_assert_eq(lam_module_forward(m, x, &y), LAM_OK, "%s", lam_last_error());
    lam_tensor_release(y);
    lam_tensor_release(x);
}

/* ---- nothing on stderr without a callback ---- */

Test(log, silent_without_a_callback, .init = cr_redirect_stderr)
{
    setenv("LAMINA_VERBOSE", "1", 1);
    setenv("LAMINA_MAX_ISA", "no-such-isa", 1);
    lam_module *m = chatty();
    run_once(m, 3, 4);
    cr_assert_str_neq(lam_kernel_isa(), "");
    lam_module_release(m);
    fflush(stderr);
    cr_assert_stderr_eq_str("", "lamina wrote to stderr by itself");
}

/* ---- what reaches the callback ---- */

Test(log, plugin_lines_and_kernel_choice_when_verbose)
{
    setenv("LAMINA_VERBOSE", "1", 1);
    unsetenv("LAMINA_MAX_ISA");
    record_start();
    char choice[64];
    snprintf(choice, sizeof choice, "kernels: %s", lam_kernel_isa());
    cr_expect_eq(count(LAM_LOG_INFO, choice), 1, "the kernel choice, once, when installed");
    lam_module *m = chatty();
    run_once(m, 2, 3);
    cr_expect_eq(count(LAM_LOG_DEBUG, "Chatty: debug"), 1);
    cr_expect_eq(count(LAM_LOG_INFO, "Chatty: info"), 1);
    cr_expect_eq(count(LAM_LOG_WARNING, "Chatty: warning"), 1, "one line, newline dropped");
    cr_expect_eq(count(LAM_LOG_ERROR, "Chatty: error"), 1);
    /* a second installation does not repeat the kernel choice */
    lam_set_log_callback(recorder, records);
    cr_expect_eq(count(LAM_LOG_INFO, choice), 1);
    record_stop();
    lam_module_release(m);
}

Test(log, warnings_and_errors_only_without_verbose)
{
    unsetenv("LAMINA_VERBOSE");
    unsetenv("LAMINA_MAX_ISA");
    record_start();
    lam_module *m = chatty();
    run_once(m, 2, 3);
    cr_expect_eq(n_records, 2, "got %d messages", n_records);
    cr_expect_eq(count(LAM_LOG_WARNING, "Chatty: warning"), 1);
    cr_expect_eq(count(LAM_LOG_ERROR, "Chatty: error"), 1);
    record_stop();
    lam_module_release(m);
}

Test(log, bad_max_isa_is_a_warning)
{
    unsetenv("LAMINA_VERBOSE");
    setenv("LAMINA_MAX_ISA", "sse9", 1);
    record_start();
    const record *r = find("kernels: ");
    cr_assert_not_null(r, "no message about LAMINA_MAX_ISA");
    cr_expect_eq(r->level, LAM_LOG_WARNING);
    cr_expect(strstr(r->text, "LAMINA_MAX_ISA=sse9 not one of scalar|avx2|avx512|neon, ignored") != NULL,
              "%s", r->text);
    record_stop();
}

Test(log, replaced_and_removed)
{
    unsetenv("LAMINA_VERBOSE");
    lam_module *m = chatty();
    record_start();
    run_once(m, 1, 2);
    cr_expect_eq(n_records, 2);
    lam_set_log_callback(NULL, NULL);
    run_once(m, 1, 2);
    cr_expect_eq(n_records, 2, "nothing after the callback is removed");
    lam_set_log_callback(recorder, records);
    run_once(m, 1, 2);
    cr_expect_eq(n_records, 4);
    lam_set_log_callback(NULL, NULL);
    lam_module_release(m);
}

/* lam_set_log_callback returns only once the previous callback has
 * returned: a callback that is still running on another thread finishes
 * before the old `user` could be freed. */
static int slow_entered, slow_left;

static void slow(lam_log_level level, const char *message, void *user)
{
    (void)level, (void)message, (void)user;
    __atomic_store_n(&slow_entered, 1, __ATOMIC_SEQ_CST);
    usleep(100000);
    __atomic_store_n(&slow_left, 1, __ATOMIC_SEQ_CST);
}

static void *forward_chatty(void *arg)
{
    run_once(arg, 1, 2);
    return NULL;
}

Test(log, replacing_waits_for_a_running_callback)
{
    unsetenv("LAMINA_VERBOSE");
    lam_module *m = chatty();
    lam_set_log_callback(slow, NULL);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, forward_chatty, m), 0);
    while (!__atomic_load_n(&slow_entered, __ATOMIC_SEQ_CST))
        usleep(1000);
    lam_set_log_callback(NULL, NULL);
    cr_expect_eq(__atomic_load_n(&slow_left, __ATOMIC_SEQ_CST), 1,
                 "lam_set_log_callback returned while the old callback still ran");
    pthread_join(t, NULL);
    lam_module_release(m);
}

/* A rowwise plugin layer in a batch plan runs on lamina's worker threads:
 * its lines reach the callback from those threads too. */
Test(log, called_from_worker_threads)
{
    unsetenv("LAMINA_VERBOSE");
    lam_module *l[2];
    cr_assert_eq(lam_linear_create(&l[0], 16, 16, true), LAM_OK);
    l[1] = chatty();
    lam_module *seq;
    cr_assert_eq(lam_sequential_create(&seq, 2, l), LAM_OK, "%s", lam_last_error());
    lam_module_release(l[0]);
    lam_module_release(l[1]);
    lam_module_eval(seq);
    lam_set_num_threads(4);
    pthread_t me = pthread_self();
    bool other = false;
    int lines = 0;
    /* a worker the OS delays may find every block taken by the others:
     * try again until one has run a block (almost always the first time) */
    for (int round = 0; round < 100 && !other; round++) {
        record_start();
        run_once(seq, 20000, 16);
        record_stop();
        cr_assert_gt(n_records, 2);
        lines += n_records;
        for (int i = 0; i < n_records; i++)
            other = other || !pthread_equal(records[i].thread, me);
    }
    cr_expect(other, "every line came from the calling thread (%d lines)", lines);
    lam_set_num_threads(0);
    lam_module_release(seq);
}

/* ---- worker threads that cannot be started (issue 12.3) ----
 * Big default thread stacks in a small address space: only a couple of the
 * 63 workers that 64 threads want fit.  The forward must still succeed, with
 * the 1-thread bits, and the shortfall must arrive as one warning. */

static long vm_size_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

Test(threads_limited, warning_and_same_bits_when_threads_cannot_start)
{
#ifndef _OPENMP
    cr_skip_test("a --disable-openmp build is serial");
#elif !defined(__GLIBC__)
    cr_skip_test("needs glibc's pthread_setattr_default_np");
#else
    lam_manual_seed(9);
    lam_module *m = make_mlp(64, 256, 16);
    lam_tensor *x = make_input(1024, 64, 5), *ref = NULL, *y = NULL;
    lam_set_num_threads(1);
    cr_assert_eq(lam_module_forward(m, x, &ref), LAM_OK, "%s", lam_last_error());

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    cr_assert_eq(pthread_attr_setstacksize(&attr, (size_t)256 << 20), 0);
    cr_assert_eq(pthread_setattr_default_np(&attr), 0);
    pthread_attr_destroy(&attr);
    long vm = vm_size_kb();
    cr_assert_gt(vm, 0);
    struct rlimit rl = {(rlim_t)(vm + 700 * 1024) * 1024, (rlim_t)(vm + 700 * 1024) * 1024};
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);

    record_start();
    lam_set_num_threads(64);
    cr_assert_eq(lam_module_forward(m, x, &y), LAM_OK, "%s", lam_last_error());
    cr_assert(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(ref),
                     sizeof(float) * (size_t)lam_tensor_numel(ref)) == 0,
              "64 threads asked, fewer started: the output differs from 1 thread");
    lam_tensor_release(y);
    cr_assert_eq(n_records, 1, "expected one warning, got %d", n_records);
    int k = 0, of = 0, on = 0;
    cr_assert_eq(sscanf(records[0].text, "threads: could not start thread %d of %d (", &k, &of), 2,
                 "%s", records[0].text);
    cr_expect_eq(records[0].level, LAM_LOG_WARNING);
    cr_expect_eq(of, 64);
    const char *run = strstr(records[0].text, "running on ");
    cr_assert_not_null(run, "%s", records[0].text);
    cr_assert_eq(sscanf(run, "running on %d thread", &on), 1);
    cr_expect(k >= 2 && k < 64 && on == k - 1, "%s", records[0].text);

    /* later calls plan for the threads there are, and say nothing new */
    lam_plan *p;
    int nth = 0;
    cr_assert_eq(lam_plan_create(&p, m, 2, lam_tensor_shape(x)), LAM_OK, "%s", lam_last_error());
    lam_plan_strategy(p, &nth);
    cr_expect(nth <= on, "planned for %d threads, %d running", nth, on);
    lam_plan_free(p);
    cr_assert_eq(lam_module_forward(m, x, &y), LAM_OK, "%s", lam_last_error());
    cr_assert(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(ref),
                     sizeof(float) * (size_t)lam_tensor_numel(ref)) == 0);
    lam_tensor_release(y);
    cr_expect_eq(n_records, 1, "the same limit is not reported twice");

    /* lam_set_num_threads tries again (and reports again) */
    lam_set_num_threads(64);
    cr_assert_eq(lam_module_forward(m, x, &y), LAM_OK, "%s", lam_last_error());
    lam_tensor_release(y);
    cr_expect_eq(n_records, 2);
    record_stop();
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_module_release(m);
#endif
}
