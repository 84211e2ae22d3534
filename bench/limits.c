/* Machine limits for the benchmark report (not a test: figures, no pass/fail).
 *
 *   peak       FP32 FMA GFLOP/s of each SIMD ISA the CPU has: 12 independent
 *              ymm FMA chains (AVX2+FMA) and 16 zmm chains (AVX-512F), checked
 *              at run time; 16 q-register vfmaq chains on AArch64; scalar
 *              multiply-add chains elsewhere; 1 thread and n threads
 *   bandwidth  STREAM-style copy (a = b) and triad (a = b + s*c), counted as
 *              STREAM counts (8 resp. 12 bytes per float, no write-allocate),
 *              plain (not streaming) stores.  In-cache sizes are per thread
 *              (each thread its own arrays); the out-of-cache size is one
 *              set of arrays split across the threads.
 *   omp        an empty OpenMP parallel region and a barrier, in µs
 *   versions   OpenBLAS (openblas_get_config) and oneDNN (dnnl_version) when
 *              built with them, so the report names the anchors' versions.
 *
 * Every figure is the median of several timed samples after a warm-up, with
 * the minimum and maximum.  Output: one JSON object per line on stdout.
 * Usage: limits [--quick] [--threads N] [--only peak|bandwidth|omp|versions] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif
#ifdef HAVE_OPENBLAS_BENCH
#include <cblas.h>
#endif
#ifdef HAVE_DNNL_BENCH
#include <oneapi/dnnl/dnnl.h>
#endif

#include "bench/kernels/peak.h"

#define MAX_SAMPLES 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double median, min, max;
} stats;

/* Sorts v in place. */
static stats summarise(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_d);
    stats s = {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v[0], v[n - 1]};
    return s;
}

static int num_threads_max(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

/* ---------------------------------------------------------------- peak */

/* The SIMD chains are the kernel benchmark's (bench/kernels/peak.h): one
 * probe per SIMD ISA this CPU has (AVX2 and AVX-512 on x86-64, NEON on
 * AArch64), each reported under lamina's name for that kernel table. */

/* The scalar fallback (other CPUs, or x86-64 without AVX2+FMA): 12
 * independent multiply-add chains; whatever the compiler makes of them. */
__attribute__((noinline)) static float scalar_chains(long iters)
{
    float a[12];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = a[i] * 0.9999f + 1e-4f;
    }
    for (int i = 1; i < 12; i++)
        a[0] += a[i];
    return a[0];
}

static int scalar_supported(void) { return 1; }

static const lam_bench_peak_probe scalar_probe = {"scalar", "12 multiply-add chains", 12.0 * 2,
                                                  scalar_chains, scalar_supported};

/* Median flop/s over `reps` samples of `iters` iterations on each of n threads. */
static void measure_peak(const lam_bench_peak_probe *k, int nthreads, int reps, long iters)
{
    double s[MAX_SAMPLES];
    static volatile float sink;
    for (int r = -1; r < reps; r++) { /* r = -1: warm-up (clocks ramp, threads start) */
        double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(nthreads)
        {
#pragma omp barrier
#pragma omp master
            t0 = now();
            float v = k->chains(iters);
            if (v == 1.2345f) /* keeps the chains live; practically never true */
                sink = v;
#pragma omp barrier
#pragma omp master
            t1 = now();
        }
        if (r >= 0)
            s[r] = k->flop_per_iter * (double)iters * nthreads / (t1 - t0) / 1e9;
    }
    (void)sink;
    stats st = summarise(s, reps);
    printf("{\"kind\":\"peak\",\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.2f,\"min\":%.2f,"
           "\"max\":%.2f,\"samples\":%d}\n",
           k->isa, nthreads, st.median, st.min, st.max, reps);
    fflush(stdout);
}

static void peak_one(const lam_bench_peak_probe *k, int quick, int nmax)
{
    /* Calibrate: one sample of about 20 ms (10 ms quick) on one thread. */
    long iters = 1 << 16;
    for (;;) {
        double t0 = now();
        volatile float v = k->chains(iters);
        (void)v;
        if (now() - t0 > (quick ? 0.01 : 0.02) || iters > (1L << 34))
            break;
        iters *= 2;
    }
    printf("{\"kind\":\"peak_probe\",\"isa\":\"%s\",\"what\":\"%s\"}\n", k->isa, k->what);
    measure_peak(k, 1, quick ? 7 : 11, iters);
    if (nmax > 1)
        measure_peak(k, nmax, quick ? 7 : 11, iters);
}

static void peak(int quick, int nmax)
{
    int any = 0;
    for (const lam_bench_peak_probe *p = lam_bench_peak_probes; p->isa; p++)
        if (p->supported()) {
            peak_one(p, quick, nmax);
            any = 1;
        }
    if (!any)
        peak_one(&scalar_probe, quick, nmax);
}

/* ----------------------------------------------------------- bandwidth */

/* Plain loads and stores (no streaming stores: STREAM's default), written
 * with intrinsics on x86-64 so the compiler neither calls memcpy (which
 * switches to non-temporal stores for large sizes) nor drops to SSE. */
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) static void copy_avx2(float *restrict a,
                                                          const float *restrict b, size_t n)
{
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 x0 = _mm256_load_ps(b + i), x1 = _mm256_load_ps(b + i + 8);
        __m256 x2 = _mm256_load_ps(b + i + 16), x3 = _mm256_load_ps(b + i + 24);
        _mm256_store_ps(a + i, x0);
        _mm256_store_ps(a + i + 8, x1);
        _mm256_store_ps(a + i + 16, x2);
        _mm256_store_ps(a + i + 24, x3);
    }
    for (; i < n; i++)
        a[i] = b[i];
}
__attribute__((target("avx2,fma"))) static void triad_avx2(float *restrict a,
                                                           const float *restrict b,
                                                           const float *restrict c, float s,
                                                           size_t n)
{
    const __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_store_ps(a + i, _mm256_fmadd_ps(vs, _mm256_load_ps(c + i), _mm256_load_ps(b + i)));
        _mm256_store_ps(a + i + 8,
                        _mm256_fmadd_ps(vs, _mm256_load_ps(c + i + 8), _mm256_load_ps(b + i + 8)));
    }
    for (; i < n; i++)
        a[i] = b[i] + s * c[i];
}
#endif

/* Keep the copy loop a loop: not a memcpy call. */
#if defined(__clang__)
#define LAM_NO_MEMCPY_IDIOM __attribute__((no_builtin("memcpy")))
#else
#define LAM_NO_MEMCPY_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
LAM_NO_MEMCPY_IDIOM static void copy_plain(float *restrict a, const float *restrict b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i];
}
static void triad_plain(float *restrict a, const float *restrict b, const float *restrict c,
                        float s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = b[i] + s * c[i];
}

#if defined(__x86_64__)
static int use_avx2;
#endif

static void run_kernel(int triad, float *a, const float *b, const float *c, size_t n)
{
#if defined(__x86_64__)
    if (use_avx2) {
        if (triad)
            triad_avx2(a, b, c, 3.0f, n);
        else
            copy_avx2(a, b, n);
        return;
    }
#endif
    if (triad)
        triad_plain(a, b, c, 3.0f, n);
    else
        copy_plain(a, b, n);
}

/* Arrays offset from each other by a few cache lines: L1-resident copies
 * slow down when source and destination share their low address bits. */
static float *alloc_array(size_t bytes, int which)
{
    char *p = NULL;
    if (posix_memalign((void **)&p, 4096, bytes + 4096))
        return NULL;
    return (float *)(p + 64 * 17 * which);
}
static void free_array(float *p, int which)
{
    if (p)
        free((char *)p - 64 * 17 * which);
}

/* bytes: per array.  per_thread: every thread its own arrays (in-cache
 * sizes); otherwise one set of arrays split across the threads. */
static void measure_bw(int triad, size_t bytes, int per_thread, int nthreads, int quick)
{
    const int reps = quick ? 7 : 11;
    const double target = quick ? 0.004 : 0.01; /* seconds per sample, at least */
    const size_t n_total = bytes / sizeof(float);
    double s[MAX_SAMPLES];
    int fail = 0;
    long passes = 1;
    float *shared[3] = {NULL, NULL, NULL};
    if (!per_thread) {
        for (int j = 0; j < 3; j++)
            if (!(shared[j] = alloc_array(bytes, j)))
                fail = 1;
    }
#pragma omp parallel num_threads(nthreads)
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        float *arr[3] = {NULL, NULL, NULL};
        size_t n;
        if (per_thread) {
            n = n_total;
            for (int j = 0; j < 3; j++) {
                if (!(arr[j] = alloc_array(bytes, j))) {
#pragma omp atomic write
                    fail = 1;
                }
            }
        } else {
            size_t chunk = (n_total / (size_t)nt + 63) & ~(size_t)63;
            size_t b0 = chunk * (size_t)t < n_total ? chunk * (size_t)t : n_total;
            size_t b1 = b0 + chunk < n_total ? b0 + chunk : n_total;
            n = b1 - b0;
            for (int j = 0; j < 3 && shared[j]; j++)
                arr[j] = shared[j] + b0;
        }
#pragma omp barrier
        if (!fail) {
            for (int j = 0; j < 3; j++) /* first touch by the thread that uses it */
                for (size_t i = 0; i < n; i++)
                    arr[j][i] = (float)(i % 7);
            /* Calibrate the passes per sample on the master, then share it. */
#pragma omp barrier
#pragma omp master
            {
                double dt = 0;
                for (;;) {
                    double t0 = now();
                    for (long p = 0; p < passes; p++)
                        run_kernel(triad, arr[0], arr[1], arr[2], n);
                    dt = now() - t0;
                    if (dt > target / 8 || passes > (1L << 30))
                        break;
                    passes *= 2;
                }
                long want = (long)(target / (dt / (double)passes));
                passes = want > 1 ? want : 1; /* a DRAM-sized pass is one sample */
            }
#pragma omp barrier
            for (int r = -1; r < reps; r++) {
                double t0 = 0;
#pragma omp barrier
#pragma omp master
                t0 = now();
                for (long p = 0; p < passes; p++)
                    run_kernel(triad, arr[0], arr[1], arr[2], n);
#pragma omp barrier
#pragma omp master
                {
                    double moved = (triad ? 3.0 : 2.0) * (double)bytes * (double)passes *
                                   (per_thread ? nt : 1);
                    if (r >= 0)
                        s[r] = moved / (now() - t0) / 1e9;
                }
            }
        }
        if (per_thread)
            for (int j = 0; j < 3; j++)
                free_array(arr[j], j);
    }
    for (int j = 0; j < 3; j++)
        free_array(shared[j], j);
    if (fail) {
        printf("{\"kind\":\"bandwidth\",\"kernel\":\"%s\",\"bytes\":%zu,\"threads\":%d,"
               "\"error\":\"out of memory\"}\n",
               triad ? "triad" : "copy", bytes, nthreads);
    } else {
        stats st = summarise(s, reps);
        printf("{\"kind\":\"bandwidth\",\"kernel\":\"%s\",\"bytes\":%zu,\"per_thread\":%s,"
               "\"threads\":%d,\"gbs\":%.2f,\"min\":%.2f,\"max\":%.2f,\"samples\":%d,"
               "\"passes\":%ld}\n",
               triad ? "triad" : "copy", bytes, per_thread ? "true" : "false", nthreads,
               st.median, st.min, st.max, reps, passes);
    }
    fflush(stdout);
}

static void bandwidth(int quick, int nmax)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    const size_t big = (size_t)(quick ? 64 : 256) << 20;
    const size_t sizes[3] = {64 << 10, 4 << 20, big};
    int tcounts[2] = {1, nmax};
    for (int si = 0; si < 3; si++)
        for (int ti = 0; ti < (nmax > 1 ? 2 : 1); ti++)
            for (int k = 0; k < 2; k++)
                measure_bw(k, sizes[si], si < 2, tcounts[ti], quick);
}

/* ---------------------------------------------------------------- omp */

static void omp_overhead(int nmax)
{
#ifdef _OPENMP
    if (nmax < 2)
        return;
    const int n = 500, reps = 5;
    double par[MAX_SAMPLES], bar[MAX_SAMPLES];
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < n; i++) {
#pragma omp parallel num_threads(nmax)
            {
                __asm__ volatile("" ::: "memory");
            }
        }
        double t1 = now();
#pragma omp parallel num_threads(nmax)
        {
            for (int i = 0; i < n; i++) {
#pragma omp barrier
            }
        }
        double t2 = now();
        if (r >= 0) {
            par[r] = (t1 - t0) / n * 1e6;
            bar[r] = (t2 - t1) / n * 1e6;
        }
    }
    stats p = summarise(par, reps), b = summarise(bar, reps);
    printf("{\"kind\":\"omp\",\"threads\":%d,\"parallel_us\":%.3f,\"parallel_min\":%.3f,"
           "\"parallel_max\":%.3f,\"barrier_us\":%.3f,\"barrier_min\":%.3f,\"barrier_max\":%.3f}\n",
           nmax, p.median, p.min, p.max, b.median, b.min, b.max);
    fflush(stdout);
#else
    (void)nmax;
#endif
}

/* ----------------------------------------------------------- versions */

static void json_str(const char *key, const char *v)
{
    printf(",\"%s\":\"", key);
    for (; v && *v; v++)
        if (*v == '"' || *v == '\\')
            printf("\\%c", *v);
        else if ((unsigned char)*v >= 0x20)
            putchar(*v);
    putchar('"');
}

static void versions(void)
{
    printf("{\"kind\":\"versions\"");
#ifdef HAVE_OPENBLAS_BENCH
    json_str("openblas", openblas_get_config());
#endif
#ifdef HAVE_DNNL_BENCH
    const dnnl_version_t *v = dnnl_version();
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", v->major, v->minor, v->patch);
    json_str("onednn", buf);
#endif
#ifdef _OPENMP
    printf(",\"openmp\":%d", _OPENMP);
#endif
#ifdef __VERSION__
    json_str("compiler", "gcc-compatible " __VERSION__);
#endif
    printf("}\n");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int quick = 0, nthreads = num_threads_max();
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            nthreads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--threads N] [--only peak|bandwidth|omp|versions]\n",
                    argv[0]);
            return 2;
        }
    }
#ifndef _OPENMP
    nthreads = 1;
#endif
    if (nthreads < 1)
        nthreads = 1;
    if (!only || strcmp(only, "versions") == 0)
        versions();
    if (!only || strcmp(only, "peak") == 0)
        peak(quick, nthreads);
    if (!only || strcmp(only, "bandwidth") == 0)
        bandwidth(quick, nthreads);
    if (!only || strcmp(only, "omp") == 0)
        omp_overhead(nthreads);
    return 0;
}
