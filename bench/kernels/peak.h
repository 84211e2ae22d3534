/* FMA peak probe: independent FMA chains (enough to cover latency x
 * throughput: 12 ymm chains on x86-64, 16 q-register chains on AArch64),
 * timed; returns flop/s.  Compiled through target attributes, so the bench
 * program itself needs no ISA flags. */
#ifndef LAMINA_BENCH_KERNELS_PEAK_H
#define LAMINA_BENCH_KERNELS_PEAK_H

#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2,fma"), noinline)) static float lam_bench_fma_chains(long iters)
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
#define LAM_BENCH_FLOP_PER_ITER (12.0 * 8 * 2)
#define LAM_BENCH_HAS_PEAK __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
#elif defined(__aarch64__)
#include <arm_neon.h>

__attribute__((noinline)) static float lam_bench_fma_chains(long iters)
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
#define LAM_BENCH_FLOP_PER_ITER (16.0 * 4 * 2)
#define LAM_BENCH_HAS_PEAK 1
#endif

static inline double lam_bench_fma_peak(void)
{
#ifdef LAM_BENCH_FLOP_PER_ITER
    if (!(LAM_BENCH_HAS_PEAK))
        return 0;
    volatile float sink = lam_bench_fma_chains(1000);
    double best = 0;
    for (int r = 0; r < 7; r++) {
        const long iters = 20 * 1000 * 1000;
        struct timespec t0, t1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        sink = lam_bench_fma_chains(iters);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        double f = LAM_BENCH_FLOP_PER_ITER * (double)iters / s;
        best = f > best ? f : best;
    }
    (void)sink;
    return best;
#else
    return 0;
#endif
}

#endif
