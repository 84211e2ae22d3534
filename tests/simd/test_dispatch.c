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
    const char *isas[] = {"avx2", "neon"};
    for (int i = 0; i < 2; i++)
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
#endif
}
