/* The one owner of threads: the only file in lamina that opens OpenMP
 * parallel regions.  Kernels receive ranges and never open regions.
 *
 * Thread count: lam_set_num_threads > LAMINA_NUM_THREADS > OMP_NUM_THREADS >
 * cores.  Inside someone else's parallel region lamina runs serially, so it
 * never nests or oversubscribes. */
#include "runtime/parallel.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int explicit_threads; /* 0 = not set */
#ifdef _OPENMP /* without OpenMP lamina is serial: no default to find */
static int default_threads;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static int env_threads(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    /* OMP_NUM_THREADS may be a list ("4,2"): its first entry is the outer level */
    if (end == v || (*end && *end != ','))
        return 0;
    return n >= 1 && n <= 4096 ? (int)n : 0;
}

static void init_default(void)
{
    int n = env_threads("LAMINA_NUM_THREADS");
    if (!n)
        n = env_threads("OMP_NUM_THREADS");
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c >= 1 ? (int)(c > 4096 ? 4096 : c) : 1;
    }
    default_threads = n;
}
#endif

LAM_API void lam_set_num_threads(int n)
{
    __atomic_store_n(&explicit_threads, n > 0 ? (n > 4096 ? 4096 : n) : 0, __ATOMIC_RELAXED);
}

LAM_API int lam_get_num_threads(void)
{
#ifndef _OPENMP
    return 1;
#else
    int n = __atomic_load_n(&explicit_threads, __ATOMIC_RELAXED);
    if (n > 0)
        return n;
    pthread_once(&default_once, init_default);
    return default_threads;
#endif
}

bool lam__in_parallel(void)
{
#ifdef _OPENMP
    return omp_in_parallel();
#else
    return false;
#endif
}

int lam__threads_for_call(void)
{
    return lam__in_parallel() ? 1 : lam_get_num_threads();
}

void lam__parallel(int nth, lam__task_fn fn, void *ctx)
{
    if (nth <= 1 || lam__in_parallel()) {
        for (int i = 0; i < (nth > 1 ? nth : 1); i++)
            fn(ctx, i, nth > 1 ? nth : 1);
        return;
    }
#ifdef _OPENMP
    /* Every task index runs exactly once, whatever number of threads the
     * runtime actually grants. */
#pragma omp parallel num_threads(nth)
    {
        int got = omp_get_num_threads();
        for (int i = omp_get_thread_num(); i < nth; i += got)
            fn(ctx, i, nth);
    }
#else
    for (int i = 0; i < nth; i++)
        fn(ctx, i, nth);
#endif
}

void lam__split_range(int64_t n, int ith, int nth, int64_t align, int64_t *begin, int64_t *end)
{
    /* contiguous chunks, multiples of `align` except the last */
    int64_t units = (n + align - 1) / align;
    int64_t per = units / nth, extra = units % nth;
    int64_t ub = ith * per + (ith < extra ? ith : extra);
    int64_t ue = ub + per + (ith < extra ? 1 : 0);
    *begin = ub * align < n ? ub * align : n;
    *end = ue * align < n ? ue * align : n;
}
