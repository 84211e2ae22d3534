/* The GEMM family's tables under test: every table this build and CPU can
 * run, the scalar twin (the oracle) first.  On x86-64 with AVX-512 the
 * AVX-512 GEMM kernels are tested through a table of their own when the
 * dispatcher has no "avx512" table yet: the AVX2 table with the GEMM
 * entries replaced, line by line from the list (LAM__GEMM_TABLE_INIT).
 * Without AVX-512 (or with LAMINA_MAX_ISA=scalar|avx2) the tests say so
 * (kt_gemm_avx512_note, cr_skip_test). */
#ifndef LAMINA_TESTS_SIMD_KT_GEMM_H
#define LAMINA_TESTS_SIMD_KT_GEMM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/simd/kt.h"
#if defined(__x86_64__) && __has_include("simd/x86/avx512/gemm-avx512.h")
#include "simd/x86/avx512/gemm-avx512.h"
#define KT_HAVE_AVX512_GEMM 1
#endif

#define KT_MAX_TABLES 5

#if defined(KT_HAVE_AVX512_GEMM)
static inline int kt_cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
}
#endif

/* The AVX-512 GEMM table, or NULL (no AVX-512 here: a note on stderr once). */
static inline const lam__kernel_table *kt_gemm_avx512(void)
{
    const lam__kernel_table *k = lam__kernels_for("avx512");
    if (k)
        return k;
#if defined(KT_HAVE_AVX512_GEMM)
    static lam__kernel_table t;
    static int done;
    if (!done) {
        done = 1;
        /* LAMINA_MAX_ISA=scalar|avx2 caps it too, as it caps the table */
        const char *cap = getenv("LAMINA_MAX_ISA");
        const int capped = cap && (strcmp(cap, "scalar") == 0 || strcmp(cap, "avx2") == 0);
        if (!capped && kt_cpu_has_avx512() && lam__kernels_for("avx2")) {
            t = *lam__kernels_for("avx2");
            t.isa = "avx512-gemm";
            LAM__GEMM_TABLE_INIT(&t, avx512);
        }
    }
    if (t.gemm)
        return &t;
#endif
    return NULL;
}

static inline void kt_gemm_avx512_note(const char *test)
{
#if defined(KT_HAVE_AVX512_GEMM)
    if (!kt_gemm_avx512())
        fprintf(stderr, "%s: AVX-512 GEMM skipped: no AVX-512 on this CPU (or LAMINA_MAX_ISA)\n",
                test);
#else
    (void)test;
#endif
}

static inline int kt_gemm_tables(const lam__kernel_table **t)
{
    int n = 0;
    t[n++] = lam__kernels_for("scalar");
    if (lam__kernels_for("avx2"))
        t[n++] = lam__kernels_for("avx2");
    if (kt_gemm_avx512())
        t[n++] = kt_gemm_avx512();
    if (lam__kernels_for("neon"))
        t[n++] = lam__kernels_for("neon");
    return n;
}

#endif
