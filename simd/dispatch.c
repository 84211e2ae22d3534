/* The kernel table of this process, chosen once (pthread_once).
 *
 * The scalar kernels fill the table first; the best ISA this build has and
 * the CPU and OS support then overwrites entries (a missing kernel is slow,
 * never NULL; the one optional entry, the fused mlp2, is NULL where the ISA
 * has none).  LAMINA_MAX_ISA=scalar|avx2|neon caps the choice, so every
 * path can be tested on one machine: "scalar" forces the scalar table, a
 * SIMD name allows this machine's SIMD table (x86-64: avx2, aarch64: neon).
 * The choice is kept as a line of text that the runtime logs (LAMINA_VERBOSE=1
 * or a bad LAMINA_MAX_ISA): the kernel layer writes nothing itself. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd/simd.h"

enum { LAM__ISA_SCALAR, LAM__ISA_AVX2, LAM__ISA_NEON, LAM__ISA_COUNT };

static const char *const lam__isa_names[LAM__ISA_COUNT] = {"scalar", "avx2", "neon"};

/* Whether this build has the ISA's kernels and this CPU can run them. */
static int lam__isa_available(int isa)
{
    switch (isa) {
    case LAM__ISA_SCALAR: return 1;
#if defined(__x86_64__)
    case LAM__ISA_AVX2: return lam__cpu_has_avx2_fma();
#endif
#if defined(__aarch64__)
    case LAM__ISA_NEON: return 1; /* Advanced SIMD is baseline on AArch64 */
#endif
    default: return 0;
    }
}

static void lam__isa_init(int isa, lam__kernel_table *k)
{
    lam__kernels_init_scalar(k);
    switch (isa) {
#if defined(__x86_64__)
    case LAM__ISA_AVX2: lam__kernels_init_avx2(k); break;
#endif
#if defined(__aarch64__)
    case LAM__ISA_NEON: lam__kernels_init_neon(k); break;
#endif
    default: break;
    }
}

static int lam__isa_by_name(const char *name)
{
    for (int i = 0; i < LAM__ISA_COUNT; i++)
        if (strcmp(name, lam__isa_names[i]) == 0)
            return i;
    return -1;
}

/* ---- the process table ---- */

static lam__kernel_table lam__table;
static pthread_once_t lam__table_once = PTHREAD_ONCE_INIT;
static char lam__table_choice[128];
static int lam__table_bad_cap;

static void lam__table_init(void)
{
    const char *cap = getenv("LAMINA_MAX_ISA");
    int allow_simd = 1, bad_cap = 0;
    if (cap && *cap) {
        int c = lam__isa_by_name(cap);
        if (c < 0)
            bad_cap = 1;
        else if (c == LAM__ISA_SCALAR)
            allow_simd = 0;
    }
    int isa = LAM__ISA_SCALAR;
    if (allow_simd) {
        if (lam__isa_available(LAM__ISA_AVX2))
            isa = LAM__ISA_AVX2;
        else if (lam__isa_available(LAM__ISA_NEON))
            isa = LAM__ISA_NEON;
    }
    lam__isa_init(isa, &lam__table);
    lam__table_bad_cap = bad_cap;
    if (cap && *cap)
        snprintf(lam__table_choice, sizeof lam__table_choice, "kernels: %s (LAMINA_MAX_ISA=%.24s%s)",
                 lam__table.isa, cap, bad_cap ? " not one of scalar|avx2|neon, ignored" : "");
    else
        snprintf(lam__table_choice, sizeof lam__table_choice, "kernels: %s", lam__table.isa);
}

const lam__kernel_table *lam__kernels(void)
{
    pthread_once(&lam__table_once, lam__table_init);
    return &lam__table;
}

const char *lam__kernels_choice(int *bad_cap)
{
    pthread_once(&lam__table_once, lam__table_init);
    *bad_cap = lam__table_bad_cap;
    return lam__table_choice;
}

/* ---- one table per ISA, for tests and benchmarks ---- */

static lam__kernel_table lam__isa_tables[LAM__ISA_COUNT];
static int lam__isa_ok[LAM__ISA_COUNT];
static pthread_once_t lam__isa_once = PTHREAD_ONCE_INIT;

static void lam__isa_tables_init(void)
{
    for (int i = 0; i < LAM__ISA_COUNT; i++) {
        lam__isa_ok[i] = lam__isa_available(i);
        if (lam__isa_ok[i])
            lam__isa_init(i, &lam__isa_tables[i]);
    }
}

const lam__kernel_table *lam__kernels_for(const char *isa)
{
    int i = isa ? lam__isa_by_name(isa) : -1;
    if (i < 0)
        return NULL;
    pthread_once(&lam__isa_once, lam__isa_tables_init);
    return lam__isa_ok[i] ? &lam__isa_tables[i] : NULL;
}
