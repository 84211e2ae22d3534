/* The GEMM family's tables under test: every table this build and CPU can
 * run, the scalar twin (the oracle) first.  Without AVX-512 the AVX-512
 * tests say why they were skipped (kt_gemm_avx512_note, cr_skip_test). */
#ifndef LAMINA_TESTS_SIMD_KT_GEMM_H
#define LAMINA_TESTS_SIMD_KT_GEMM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/simd/kt.h"
#if defined(__x86_64__) && defined(LAM_HAVE_AVX512)
#include "simd/x86/avx512/gemm-avx512.h"
#define KT_HAVE_AVX512_GEMM 1
#endif

#define KT_MAX_TABLES 5

/* The AVX-512 table, or NULL (no AVX-512 here). */
static inline const lam__kernel_table *kt_gemm_avx512(void) { return lam__kernels_for("avx512"); }

static inline void kt_gemm_avx512_note(const char *test)
{
    if (!kt_gemm_avx512())
        fprintf(stderr, "%s: AVX-512 GEMM skipped: %s\n", test, lam__kernels_missing("avx512"));
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
