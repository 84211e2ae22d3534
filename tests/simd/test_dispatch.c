/* The process table: LAMINA_MAX_ISA caps it, the default is the best ISA
 * this build and CPU have, and no table has a NULL entry (the fused mlp2
 * included: every ISA has one).  Each Criterion
 * test runs in its own process, so each sees a fresh pthread_once. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#include "tests/simd/kt.h"

static void assert_complete(const lam__kernel_table *k)
{
    cr_assert_not_null(k);
    cr_assert_not_null(k->isa);
    const char *p = (const char *)k;
    for (size_t off = offsetof(lam__kernel_table, relu); off + sizeof(void *) <= sizeof *k;
         off += sizeof(void *)) {
        void *f;
        memcpy(&f, p + off, sizeof f);
        cr_assert_not_null(f, "%s: NULL entry at offset %zu", k->isa, off);
    }
}

Test(dispatch, max_isa_scalar_gives_the_scalar_table)
{
    setenv("LAMINA_MAX_ISA", "scalar", 1);
    const lam__kernel_table *k = lam__kernels();
    cr_assert_str_eq(k->isa, "scalar");
    cr_assert(k->gemm == kt_scalar()->gemm && k->sigmoid == kt_scalar()->sigmoid);
    cr_assert(lam__kernels() == k, "the table is chosen once");
}

Test(dispatch, default_is_the_best_available)
{
    unsetenv("LAMINA_MAX_ISA");
    const lam__kernel_table *k = lam__kernels(), *simd = kt_simd();
    cr_assert_str_eq(k->isa, simd ? simd->isa : "scalar");
#if defined(__x86_64__)
    cr_assert_eq(simd != NULL, lam__cpu_has_avx2_fma() != 0);
#elif defined(__aarch64__)
    cr_assert_not_null(simd, "NEON is baseline on AArch64");
#endif
    if (simd)
        cr_assert(k->gemm == simd->gemm && k->exp == simd->exp);
}

Test(dispatch, max_isa_names_and_garbage)
{
    setenv("LAMINA_MAX_ISA", "no-such-isa", 1);
    const lam__kernel_table *k = lam__kernels(), *simd = kt_simd();
    cr_assert_str_eq(k->isa, simd ? simd->isa : "scalar", "an unknown cap is ignored");
}

Test(dispatch, tables_are_complete)
{
    assert_complete(lam__kernels());
    assert_complete(lam__kernels_for("scalar"));
    const char *isas[] = {"avx2", "avx512", "neon"};
    for (int i = 0; i < 3; i++)
        if (lam__kernels_for(isas[i])) {
            assert_complete(lam__kernels_for(isas[i]));
            cr_assert_str_eq(lam__kernels_for(isas[i])->isa, isas[i]);
        }
    cr_assert_str_eq(lam__kernels_for("scalar")->isa, "scalar");
    cr_assert_null(lam__kernels_for("sse9"));
    cr_assert_null(lam__kernels_for(NULL));
#if defined(__x86_64__)
    cr_assert_null(lam__kernels_for("neon"));
#elif defined(__aarch64__)
    cr_assert_null(lam__kernels_for("avx2"));
    cr_assert_null(lam__kernels_for("avx512"));
#endif
    for (size_t i = 0; i < KT_NISA; i++)
        cr_assert_eq(lam__kernels_for(kt_isa_names[i]) == NULL,
                     lam__kernels_missing(kt_isa_names[i]) != NULL, "%s", kt_isa_names[i]);
}

/* LAMINA_MAX_ISA=avx2 keeps the AVX2 table testable on an AVX-512 machine;
 * =avx512 allows the best. */
Test(dispatch, max_isa_avx2_caps_below_avx512)
{
    setenv("LAMINA_MAX_ISA", "avx2", 1);
    const lam__kernel_table *k = lam__kernels(), *avx2 = lam__kernels_for("avx2");
    if (!avx2)
        cr_skip_test("avx2: skipped: %s", lam__kernels_missing("avx2"));
    cr_assert_str_eq(k->isa, "avx2");
    cr_assert(k->sigmoid == avx2->sigmoid && k->gemm == avx2->gemm);
    int bad = 1;
    cr_assert_str_eq(lam__kernels_choice(&bad), "kernels: avx2 (LAMINA_MAX_ISA=avx2)");
    cr_assert_eq(bad, 0);
}

Test(dispatch, max_isa_avx512)
{
    setenv("LAMINA_MAX_ISA", "avx512", 1);
    const lam__kernel_table *k = lam__kernels(), *simd = kt_simd();
    cr_assert_str_eq(k->isa, simd ? simd->isa : "scalar");
}

/* The AVX-512 table exactly where the probe says the CPU and OS can run it
 * (and this build has it); else the reason is given. */
Test(dispatch, avx512_where_the_cpu_has_it)
{
#if defined(__x86_64__) && defined(LAM_HAVE_AVX512)
    cr_assert_eq(lam__kernels_for("avx512") != NULL, lam__cpu_has_avx512() != 0);
    if (lam__cpu_has_avx512())
        cr_assert(lam__cpu_has_avx2_fma(), "AVX-512 without AVX2");
#endif
    const lam__kernel_table *k = lam__kernels_for("avx512");
    if (!k)
        cr_skip_test("avx512: skipped: %s", lam__kernels_missing("avx512"));
    cr_assert_str_eq(k->isa, "avx512");
    unsetenv("LAMINA_MAX_ISA");
    cr_assert_str_eq(lam__kernels()->isa, "avx512", "the default is the widest table");
}
