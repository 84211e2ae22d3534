/* FMA peak probes, one per SIMD ISA: independent FMA chains (enough to cover
 * latency x throughput), timed; flop/s.  x86-64: 12 ymm chains for AVX2+FMA
 * and 16 zmm chains for AVX-512 (a CPU that splits a 512-bit FMA in two, as
 * Zen 4 does, shows about the AVX2 figure there); AArch64: 16 q-register
 * chains.  The names are lamina's kernel-table names (lam_kernel_isa()), so
 * "% of peak" can be taken against the peak of the table that ran.  Compiled
 * through target attributes (the -m flags per function), so the programs
 * that include this need no ISA flags; each probe is checked at run time
 * (__builtin_cpu_supports also checks that the OS saves the register state). */
#ifndef LAMINA_BENCH_KERNELS_PEAK_H
#define LAMINA_BENCH_KERNELS_PEAK_H

#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"), noinline)) static float lam_bench_fma_chains_avx2(long iters)
{
    __m256 a[12];
    const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
    for (int i = 0; i < 12; i++)
        a[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++)
            a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    for (int i = 1; i < 12; i++)
        a[0] = _mm256_add_ps(a[0], a[i]);
    float out[8];
    _mm256_storeu_ps(out, a[0]);
    return out[0];
}

__attribute__((target("avx512f"), noinline)) static float lam_bench_fma_chains_avx512(long iters)
{
    __m512 a[16];
    const __m512 m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    for (int i = 0; i < 16; i++)
        a[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    for (int i = 1; i < 16; i++)
        a[0] = _mm512_add_ps(a[0], a[i]);
    float out[16];
    _mm512_storeu_ps(out, a[0]);
    return out[0];
}

static int lam_bench_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int lam_bench_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
#elif defined(__aarch64__)
#include <arm_neon.h>

__attribute__((noinline)) static float lam_bench_fma_chains_neon(long iters)
{
    float32x4_t a[16];
    const float32x4_t m = vdupq_n_f32(0.9999f), c = vdupq_n_f32(1e-4f);
    for (int i = 0; i < 16; i++)
        a[i] = vdupq_n_f32((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            a[i] = vfmaq_f32(c, a[i], m);
    }
    for (int i = 1; i < 16; i++)
        a[0] = vaddq_f32(a[0], a[i]);
    return vgetq_lane_f32(a[0], 0);
}

static int lam_bench_has_neon(void) { return 1; }
#endif

typedef struct {
    const char *isa;      /* lamina's name of the kernel table */
    const char *what;     /* the chains, for the report */
    double flop_per_iter; /* per iteration of chains() */
    float (*chains)(long iters);
    int (*supported)(void);
} lam_bench_peak_probe;

/* Narrowest first; the last supported one is the machine's widest. */
static const lam_bench_peak_probe lam_bench_peak_probes[] = {
#if defined(__x86_64__)
    {"avx2", "12 ymm FMA chains", 12.0 * 8 * 2, lam_bench_fma_chains_avx2, lam_bench_has_avx2},
    {"avx512", "16 zmm FMA chains", 16.0 * 16 * 2, lam_bench_fma_chains_avx512,
     lam_bench_has_avx512},
#elif defined(__aarch64__)
    {"neon", "16 q-register vfmaq chains", 16.0 * 4 * 2, lam_bench_fma_chains_neon,
     lam_bench_has_neon},
#endif
    {NULL, NULL, 0, NULL, NULL}};

/* The probe of kernel table `isa` when this CPU can run it; NULL (or any
 * unknown name, "scalar" included): the widest probe this CPU supports;
 * NULL when it supports none. */
static inline const lam_bench_peak_probe *lam_bench_peak_probe_for(const char *isa)
{
    const lam_bench_peak_probe *widest = NULL;
    for (const lam_bench_peak_probe *p = lam_bench_peak_probes; p->isa; p++) {
        if (!p->supported())
            continue;
        if (isa && strcmp(isa, p->isa) == 0)
            return p;
        widest = p;
    }
    return widest;
}

/* Best of 7 samples of one thread's process CPU time, in flop/s; 0 without
 * a probe. */
static inline double lam_bench_fma_peak(const lam_bench_peak_probe *p)
{
    if (!p)
        return 0;
    volatile float sink = p->chains(2 * 1000 * 1000); /* warm-up: clocks, power licence */
    double best = 0;
    const long iters = (long)(3.84e9 / p->flop_per_iter); /* 20M iterations of 12 ymm chains */
    for (int r = 0; r < 7; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        sink = p->chains(iters);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        double f = p->flop_per_iter * (double)iters / s;
        best = f > best ? f : best;
    }
    (void)sink;
    return best;
}

#endif
