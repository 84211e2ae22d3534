/* The kernel table of this process, chosen once (pthread_once).
 *
 * The scalar kernels fill the table first; the best ISA this build has and
 * the CPU and OS support then overwrites entries (a missing kernel is slow,
 * never NULL: every entry, the fused mlp2 included, has a scalar twin).  LAMINA_MAX_ISA=scalar|avx2|avx512|neon caps the choice, so
 * every path can be tested on one machine: each ISA has a level (scalar 0,
 * avx2 and neon 1, avx512 2) and the cap allows the ISAs up to its level:
 * "scalar" forces the scalar table, "avx2" the AVX2 table on an AVX-512
 * machine, and a name of the other architecture caps at its level (neon on
 * x86-64 allows avx2).
 * The choice is kept as a line of text that the runtime logs (LAMINA_VERBOSE=1
 * or a bad LAMINA_MAX_ISA): the kernel layer writes nothing itself. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simd/simd.h"

enum { LAM__ISA_SCALAR, LAM__ISA_AVX2, LAM__ISA_AVX512, LAM__ISA_NEON, LAM__ISA_COUNT };

static const char *const lam__isa_names[LAM__ISA_COUNT] = {"scalar", "avx2", "avx512", "neon"};
/* what a cap of that name allows, and what an ISA needs (see above) */
static const int lam__isa_level[LAM__ISA_COUNT] = {0, 1, 2, 1};

/* Why this build or CPU cannot run the ISA's table, or NULL when it can. */
static const char *lam__isa_missing(int isa)
{
    switch (isa) {
    case LAM__ISA_SCALAR: return NULL;
#if defined(__x86_64__)
    case LAM__ISA_AVX2:
        return lam__cpu_has_avx2_fma() ? NULL
                                       : "CPU lacks AVX2/FMA or OS did not enable YMM state";
    case LAM__ISA_AVX512:
#if defined(LAM_HAVE_AVX512)
        return lam__cpu_has_avx512() ? NULL
                                     : "CPU lacks AVX-512F/VL/BW/DQ or OS did not enable ZMM state";
#else
        return "this build has no AVX-512 kernels (configure: no compiler or SLEEF support, or "
               "--disable-avx512)";
#endif
    case LAM__ISA_NEON: return "not built for AArch64";
#elif defined(__aarch64__)
    case LAM__ISA_NEON: return NULL; /* Advanced SIMD is baseline on AArch64 */
    case LAM__ISA_AVX2:
    case LAM__ISA_AVX512: return "not built for x86-64";
#endif
    default: return "no SIMD kernels for this architecture";
    }
}

/* Whether this build has the ISA's kernels and this CPU can run them. */
static int lam__isa_available(int isa) { return lam__isa_missing(isa) == NULL; }

static void lam__isa_init(int isa, lam__kernel_table *k)
{
    lam__kernels_init_scalar(k);
    switch (isa) {
#if defined(__x86_64__)
    case LAM__ISA_AVX2: lam__kernels_init_avx2(k); break;
#endif
#if defined(__x86_64__) && defined(LAM_HAVE_AVX512)
    case LAM__ISA_AVX512: lam__kernels_init_avx512(k); break;
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
    int level = 2, bad_cap = 0;
    if (cap && *cap) {
        int c = lam__isa_by_name(cap);
        if (c < 0)
            bad_cap = 1;
        else
            level = lam__isa_level[c];
    }
    /* the best available ISA within the cap: highest level, first listed */
    int isa = LAM__ISA_SCALAR;
    for (int i = 1; i < LAM__ISA_COUNT; i++)
        if (lam__isa_level[i] <= level && lam__isa_level[i] > lam__isa_level[isa] &&
            lam__isa_available(i))
            isa = i;
    lam__isa_init(isa, &lam__table);
    lam__table_bad_cap = bad_cap;
    if (cap && *cap)
        snprintf(lam__table_choice, sizeof lam__table_choice, "kernels: %s (LAMINA_MAX_ISA=%.24s%s)",
                 lam__table.isa, cap,
                 bad_cap ? " not one of scalar|avx2|avx512|neon, ignored" : "");
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

const char *lam__kernels_missing(const char *isa)
{
    int i = isa ? lam__isa_by_name(isa) : -1;
    if (i < 0)
        return "no such ISA (scalar, avx2, avx512, neon)";
    return lam__isa_missing(i);
}
