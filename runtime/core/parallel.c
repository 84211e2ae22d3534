/* The one owner of threads: the only file in lamina that starts threads or
 * asks OpenMP anything.  Kernels receive ranges and never start threads.
 *
 * Thread count: lam_set_num_threads > LAMINA_NUM_THREADS > OMP_NUM_THREADS >
 * the CPUs this process may run on (its affinity mask, so a process started
 * with `taskset -c 0`, or an MPI rank bound to one core, defaults to 1
 * thread; the online CPUs where the mask cannot be read).  Inside someone
 * else's OpenMP parallel region, or inside one of lamina's own tasks, lamina
 * runs serially, so it never nests or oversubscribes.
 *
 * Why lamina starts its own worker threads instead of opening OpenMP
 * regions: the library must never exit, and libgomp does when it cannot
 * create a thread.  gomp_team_start() reuses the idle threads that the
 * calling thread's pool kept from its previous team and pthread_create()s
 * the rest, inside the region; when that fails (EAGAIN under `ulimit -u`, or
 * under `ulimit -v` when no room is left for another stack) it calls
 * gomp_fatal("Thread creation failed: ..."), which prints and exit(1)s the
 * whole process, and its own small allocations (gomp_malloc) do the same.
 * Keeping libgomp's pool warm cannot make that safe: the pool keeps only the
 * size of the last team (a smaller team, lamina's or the application's own
 * `#pragma omp parallel` on that thread, lets the other threads exit), so a
 * later larger team creates threads again inside the region; and a probe
 * with pthread_create before the region races with every other thread that
 * takes memory in between.  So lamina creates its workers itself, before
 * any work is handed out, where a failure only makes the team smaller:
 *
 *  - Each user thread that runs forwards gets its own pool of workers (as
 *    each OpenMP master thread gets its own team), grown by the first
 *    lam__parallel that wants more of them, joined when that thread exits.
 *  - When a worker cannot be started (pthread_create fails, or memory for it
 *    runs out) the pool keeps the workers it has, remembers the limit, and
 *    says so once through the log callback ("could not start thread 12 of
 *    64 (...); running on 11 threads").  Every task index still runs exactly
 *    once, so results do not change (they are bit-identical for any thread
 *    count); with no worker at all the caller runs every task itself.  Later
 *    calls on that thread plan for the threads it has; lam_set_num_threads
 *    lets every pool try again.
 *  - A worker waits for its next job spinning for about 0.1 ms (a forward's
 *    next region usually follows within microseconds), then sleeps on a
 *    condition variable.  Workers run with every signal blocked, so signals
 *    go to the application's threads.
 *  - OpenMP is still what tells that the caller is inside its own parallel
 *    region (omp_in_parallel); a --disable-openmp build is serial. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT_S */
#include "runtime/core/parallel.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int explicit_threads; /* 0 = not set */
/* Bumped by lam_set_num_threads: pools that hit a limit try again. */
static unsigned retry_epoch;
/* > 0 on lamina's workers, and on a caller while it runs its own tasks. */
static __thread int tls_busy;

#ifdef _OPENMP /* without OpenMP lamina runs serially: no default to find */
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

/* The CPUs this process may run on: its affinity mask (taskset, cgroups'
 * cpusets, the binding mpirun or srun gives a rank), read once when the
 * default is first asked for; 0 when it cannot be read.  The mask may be
 * wider than a cpu_set_t (1024 CPUs): grow the set until the kernel takes it. */
static long affinity_cpus(void)
{
#if defined(__linux__) && defined(CPU_COUNT_S)
    for (int ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpu);
        if (!set)
            return 0;
        size_t size = CPU_ALLOC_SIZE(ncpu);
        CPU_ZERO_S(size, set);
        long n = 0;
        int rc = sched_getaffinity(0, size, set);
        if (rc == 0)
            n = CPU_COUNT_S(size, set);
        CPU_FREE(set);
        if (rc == 0)
            return n;
        if (errno != EINVAL)
            return 0;
    }
#endif
    return 0;
}

static void init_default(void)
{
    int n = env_threads("LAMINA_NUM_THREADS");
    if (!n)
        n = env_threads("OMP_NUM_THREADS");
    if (!n) {
        long c = affinity_cpus();
        if (c < 1)
            c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c >= 1 ? (int)(c > 4096 ? 4096 : c) : 1;
    }
    default_threads = n;
}
#endif

LAM_API void lam_set_num_threads(int n)
{
    __atomic_store_n(&explicit_threads, n > 0 ? (n > 4096 ? 4096 : n) : 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&retry_epoch, 1, __ATOMIC_RELAXED);
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
    return tls_busy > 0 || omp_in_parallel();
#else
    return tls_busy > 0;
#endif
}

static void run_serial(int nth, lam__task_fn fn, void *ctx)
{
    tls_busy++;
    for (int i = 0; i < nth; i++)
        fn(ctx, i, nth);
    tls_busy--;
}

#ifndef _OPENMP

int lam__threads_for_call(void) { return 1; }

void lam__parallel(int nth, lam__task_fn fn, void *ctx) { run_serial(nth > 1 ? nth : 1, fn, ctx); }

#else /* the worker pool */

#define SPIN_NS 100000 /* how long an idle thread spins before it sleeps */

typedef struct pool pool;

typedef struct worker {
    unsigned seq; /* the caller adds 1 to hand this worker the pool's job */
    int index;    /* runs task indices index, index + team, ... */
    pool *pool;
    pthread_t tid;
} __attribute__((aligned(64))) worker;

struct pool {
    /* the job: written by the caller before it bumps the workers' seq */
    lam__task_fn fn;
    void *ctx;
    int nth, team;
    int stop;
    /* completion */
    unsigned pending __attribute__((aligned(64))); /* team workers not done yet */
    int caller_sleeping;
    /* idle workers sleep here */
    unsigned sleepers __attribute__((aligned(64)));
    pthread_mutex_t wake_mu, done_mu;
    pthread_cond_t wake_cv, done_cv;
    /* the workers (only the owning thread touches these) */
    worker **w;
    int n, cap;       /* started; room in w */
    int limit;        /* workers that could be started; INT_MAX until a failure */
    unsigned limit_epoch;
};

static __thread pool *tls_pool;
static __thread bool tls_pool_failed; /* said once that there is no pool */
static pthread_key_t pool_key;
static int pool_key_ok;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Spins for at most SPIN_NS until (*addr == value) == equal; true when it
 * got there. */
static bool spin_until(const unsigned *addr, unsigned value, bool equal)
{
    uint64_t start = 0;
    for (unsigned i = 1;; i++) {
        if ((__atomic_load_n(addr, __ATOMIC_ACQUIRE) == value) == equal)
            return true;
        cpu_relax();
        if ((i & 255) == 0) {
            uint64_t t = now_ns();
            if (!start)
                start = t;
            else if (t - start > SPIN_NS)
                return false;
        }
    }
}

/* The sleeping sides below publish "I sleep" and then re-read the
 * condition, the waking sides publish the condition and then read "who
 * sleeps", all sequentially consistent: one of the two always sees the
 * other, so no wake-up is lost. */

static unsigned wait_for_job(worker *w, unsigned seen)
{
    pool *p = w->pool;
    if (spin_until(&w->seq, seen, false))
        return __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE);
    unsigned s;
    pthread_mutex_lock(&p->wake_mu);
    __atomic_add_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
    while ((s = __atomic_load_n(&w->seq, __ATOMIC_SEQ_CST)) == seen)
        pthread_cond_wait(&p->wake_cv, &p->wake_mu);
    __atomic_sub_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&p->wake_mu);
    return s;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->pool;
    tls_busy = 1; /* whatever a task calls runs serially here */
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_job(w, seen);
        if (p->stop)
            break;
        lam__task_fn fn = p->fn;
        void *ctx = p->ctx;
        int nth = p->nth, team = p->team;
        for (int i = w->index; i < nth; i += team)
            fn(ctx, i, nth);
        /* nothing of the job is touched after this: the caller may reuse it */
        if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_SEQ_CST) == 0 &&
            __atomic_load_n(&p->caller_sleeping, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&p->done_mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->done_mu);
        }
    }
    return NULL;
}

/* Hands the job (or the stop) to workers [0, k), waking the sleeping ones. */
static void hand_out(pool *p, int k)
{
    for (int i = 0; i < k; i++) {
        worker *w = p->w[i];
        __atomic_store_n(&w->seq, __atomic_load_n(&w->seq, __ATOMIC_RELAXED) + 1, __ATOMIC_SEQ_CST);
    }
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&p->wake_mu);
        pthread_cond_broadcast(&p->wake_cv);
        pthread_mutex_unlock(&p->wake_mu);
    }
}

static void wait_done(pool *p)
{
    if (spin_until(&p->pending, 0, true))
        return;
    pthread_mutex_lock(&p->done_mu);
    __atomic_store_n(&p->caller_sleeping, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&p->pending, __ATOMIC_SEQ_CST) != 0)
        pthread_cond_wait(&p->done_cv, &p->done_mu);
    __atomic_store_n(&p->caller_sleeping, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&p->done_mu);
}

static void pool_free(pool *p)
{
    pthread_mutex_destroy(&p->wake_mu);
    pthread_mutex_destroy(&p->done_mu);
    pthread_cond_destroy(&p->wake_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->w);
    free(p);
}

/* At the exit of the thread that owns the pool: stop and join its workers. */
static void pool_destroy(void *arg)
{
    pool *p = arg;
    if (!p)
        return;
    tls_pool = NULL; /* this runs on the owning thread, as it exits */
    p->stop = 1;
    hand_out(p, p->n);
    for (int i = 0; i < p->n; i++) {
        pthread_join(p->w[i]->tid, NULL);
        free(p->w[i]);
    }
    pool_free(p);
}

/* A forked child has only the thread that forked, none of its workers: it
 * forgets the pool (its memory is lost, the workers cannot be joined) and
 * starts a new one when it needs threads. */
static void pool_forget_after_fork(void)
{
    tls_pool = NULL;
    if (pool_key_ok)
        pthread_setspecific(pool_key, NULL);
}

static void pool_init_once(void)
{
    pool_key_ok = pthread_key_create(&pool_key, pool_destroy) == 0;
    if (pool_key_ok)
        pthread_atfork(NULL, NULL, pool_forget_after_fork);
}

static pool *pool_new(void)
{
    pthread_once(&pool_once, pool_init_once);
    if (!pool_key_ok)
        return NULL; /* the workers could never be joined: stay serial */
    pool *p;
    if (posix_memalign((void **)&p, 64, sizeof *p))
        return NULL;
    memset(p, 0, sizeof *p);
    p->limit = INT_MAX;
    if (pthread_mutex_init(&p->wake_mu, NULL) || pthread_mutex_init(&p->done_mu, NULL) ||
        pthread_cond_init(&p->wake_cv, NULL) || pthread_cond_init(&p->done_cv, NULL)) {
        free(p); /* glibc's never fail; elsewhere, stay serial */
        return NULL;
    }
    if (pthread_setspecific(pool_key, p)) {
        pool_free(p);
        return NULL;
    }
    return p;
}

/* strerror's text for what pthread_create returns (strerror itself is not
 * thread-safe) */
static const char *errno_text(int err, char *buf, size_t size)
{
    switch (err) {
    case EAGAIN: return "Resource temporarily unavailable";
    case ENOMEM: return "Cannot allocate memory";
    case EPERM: return "Operation not permitted";
    case EINVAL: return "Invalid argument";
    default: snprintf(buf, size, "error %d", err); return buf;
    }
}

/* Starts workers until there are `want`; on failure keeps those it has. */
static void pool_grow(pool *p, int want, unsigned epoch)
{
    int err = 0;
    if (want > p->cap) {
        worker **w = realloc(p->w, sizeof *w * (size_t)want);
        if (w) {
            p->w = w;
            p->cap = want;
        } else {
            err = ENOMEM;
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the workers inherit it */
    while (!err && p->n < want) {
        worker *w;
        if (posix_memalign((void **)&w, 64, sizeof *w)) {
            err = ENOMEM;
            break;
        }
        memset(w, 0, sizeof *w);
        w->index = p->n + 1;
        w->pool = p;
        err = pthread_create(&w->tid, NULL, worker_main, w);
        if (err) {
            free(w);
            break;
        }
        p->w[p->n++] = w;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        char buf[32];
        p->limit = p->n;
        p->limit_epoch = epoch;
        lam__log(LAM_LOG_WARNING,
                 "threads: could not start thread %d of %d (%s); running on %d thread%s",
                 p->n + 2, want + 1, errno_text(err, buf, sizeof buf), p->n + 1,
                 p->n ? "s" : "");
    }
}

/* This thread's pool with up to `want` workers, as many as could be
 * started; NULL when not even the pool could be made. */
static pool *pool_get(int want)
{
    pool *p = tls_pool;
    if (!p) {
        p = tls_pool = pool_new();
        if (!p) {
            if (!tls_pool_failed)
                lam__log(LAM_LOG_WARNING,
                         "threads: out of memory for the thread pool; running on 1 thread");
            tls_pool_failed = true;
            return NULL;
        }
    }
    if (p->n >= want)
        return p;
    unsigned epoch = __atomic_load_n(&retry_epoch, __ATOMIC_RELAXED);
    if (p->limit != INT_MAX && p->limit_epoch == epoch)
        return p; /* known limit: run on what there is, say nothing new */
    p->limit = INT_MAX;
    pool_grow(p, want, epoch);
    return p;
}

int lam__threads_for_call(void)
{
    if (lam__in_parallel())
        return 1;
    int n = lam_get_num_threads();
    const pool *p = tls_pool;
    if (p && p->limit < n - 1 &&
        p->limit_epoch == __atomic_load_n(&retry_epoch, __ATOMIC_RELAXED))
        n = p->limit + 1; /* plan for the threads this thread can have */
    return n;
}

void lam__parallel(int nth, lam__task_fn fn, void *ctx)
{
    if (nth <= 1) { /* no threads to share out: nested calls may still use them */
        fn(ctx, 0, 1);
        return;
    }
    if (lam__in_parallel()) {
        run_serial(nth > 1 ? nth : 1, fn, ctx);
        return;
    }
    pool *p = pool_get(nth - 1);
    int workers = p ? (p->n < nth - 1 ? p->n : nth - 1) : 0;
    if (workers == 0) {
        run_serial(nth, fn, ctx);
        return;
    }
    /* Every task index runs exactly once, whatever number of threads the
     * pool has: thread t runs t, t + team, ... */
    int team = workers + 1;
    p->fn = fn;
    p->ctx = ctx;
    p->nth = nth;
    p->team = team;
    __atomic_store_n(&p->pending, (unsigned)workers, __ATOMIC_RELAXED);
    hand_out(p, workers);
    tls_busy++;
    for (int i = 0; i < nth; i += team)
        fn(ctx, i, nth);
    tls_busy--;
    wait_done(p);
}

#endif /* _OPENMP */

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
