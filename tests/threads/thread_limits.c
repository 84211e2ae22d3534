/* An application that embeds lamina, for tests/threads/thread-limits.sh,
 * which runs it under `ulimit -v` (with big thread stacks) and `ulimit -u`:
 * asking for many threads where only a few can be started must neither end
 * the process nor change the output, and the shortfall must reach the log
 * callback, not stderr.
 *
 *   thread_limits threads N        print what lam_get_num_threads gives for N
 *   thread_limits sanitized        exit 0 under a sanitizer, else 1
 *   thread_limits input PATH R C   write a deterministic R x C input .npy
 *   thread_limits embed N          1-thread reference, then N threads: forward,
 *                                  again, and a plan; prints the warnings seen
 *                                  and "same bits" or "DIFFERENT"; exit 0 when
 *                                  every call succeeded with the same bits */
#include <lamina/lamina.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/threads/models.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int warnings;
static char first[256];

static void on_log(lam_log_level level, const char *message, void *user)
{
    (void)user;
    pthread_mutex_lock(&mu);
    if (level >= LAM_LOG_WARNING && warnings++ == 0)
        snprintf(first, sizeof first, "%s", message);
    pthread_mutex_unlock(&mu);
}

static int same(const lam_tensor *a, const lam_tensor *b)
{
    return lam_tensor_same_shape(a, b) &&
           memcmp(lam_tensor_cdata(a), lam_tensor_cdata(b),
                  sizeof(float) * (size_t)lam_tensor_numel(a)) == 0;
}

static int fail(const char *what)
{
    printf("%s failed: %s\n", what, lam_last_error());
    return 1;
}

static int embed(int threads)
{
    lam_set_log_callback(on_log, NULL);
    lam_manual_seed(11);
    lam_module *m = make_mlp(64, 256, 16);
    lam_tensor *x = make_input(1024, 64, 3), *ref = NULL, *y = NULL;
    if (!m || !x)
        return fail("setup");
    lam_set_num_threads(1);
    if (lam_module_forward(m, x, &ref))
        return fail("1-thread forward");
    lam_set_num_threads(threads);
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        if (lam_module_forward(m, x, &y))
            return fail("forward");
        ok = ok && same(y, ref);
        lam_tensor_release(y);
    }
    lam_plan *p;
    int nth = 0;
    if (lam_plan_create(&p, m, 2, lam_tensor_shape(x)) || lam_tensor_clone(&y, ref) ||
        lam_plan_run(p, x, y))
        return fail("plan");
    lam_plan_strategy(p, &nth);
    ok = ok && same(y, ref);
    lam_tensor_release(y);
    lam_plan_free(p);
    printf("threads: %d asked, plan uses %d\n", threads, nth);
    printf("warnings: %d%s%s\n", warnings, warnings ? ": " : "", first);
    printf("%s\n", ok ? "same bits" : "DIFFERENT");
    lam_tensor_release(ref);
    lam_tensor_release(x);
    lam_module_release(m);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "threads")) {
        lam_set_num_threads(atoi(argv[2]));
        printf("%d\n", lam_get_num_threads());
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "sanitized")) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        return 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
        return 0;
#endif
#endif
        return 1;
    }
    if (argc == 5 && !strcmp(argv[1], "input")) {
        lam_tensor *x = make_input(atoll(argv[3]), atoll(argv[4]), 7);
        if (!x || lam_npy_save(argv[2], x))
            return fail("input");
        lam_tensor_release(x);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "embed"))
        return embed(atoi(argv[2]));
    fprintf(stderr, "usage: thread_limits threads N | sanitized | input PATH R C | embed N\n");
    return 2;
}
