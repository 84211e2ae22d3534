/* Elementwise binary kernels, generated from the kernel list
 * (LAM_BINARY_KERNELS in simd/kernel-list.h): the scalar reference against
 * float64 (one IEEE operation is correctly rounded, so the float64 result
 * rounded to float is exact), and every table this build and CPU have (one
 * Criterion test per ISA, skipped with the reason where it is missing) bit
 * for bit against the scalar one for every tail length, in place, and on
 * special values (NaN, ±Inf, ±0, subnormals). */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/simd/kt.h"

enum { KT_BINARY, KT_BINARYC, KT_RBINARYC };

typedef struct bcase {
    const char *name;
    size_t off;   /* offset of the table field */
    int kind;     /* KT_BINARY: y = a op b, KT_BINARYC: y = a op c, KT_RBINARYC: y = c op a */
    char op;
} bcase;

#define KT_CASE(name, kind, op) {#name, offsetof(lam__kernel_table, name), KT_##kind, op},
static const bcase cases[] = {LAM_BINARY_KERNELS(KT_CASE)};
#undef KT_CASE
#define NCASES (sizeof cases / sizeof cases[0])


static void run(const lam__kernel_table *k, const bcase *c, size_t n, const float *a, const float *b,
                float *y)
{
    const char *p = (const char *)k + c->off;
    if (c->kind == KT_BINARY)
        (*(const lam__binary_fn *)p)(n, a, b, y);
    else
        (*(const lam__binaryc_fn *)p)(n, a, b[0], y);
}

static double apply(char op, double x, double z)
{
    switch (op) {
    case '+': return x + z;
    case '-': return x - z;
    case '*': return x * z;
    default: return x / z;
    }
}

/* the exact result of element i, rounded to float */
static float expect(const bcase *c, const float *a, const float *b, size_t i)
{
    double x = a[i], z = c->kind == KT_BINARY ? b[i] : b[0];
    return (float)(c->kind == KT_RBINARYC ? apply(c->op, z, x) : apply(c->op, x, z));
}

static void fill(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    kt_rng r = {seed};
    for (size_t i = 0; i < n; i++)
        x[i] = kt_uniform(&r, lo, hi);
}

Test(vbinary, scalar_exact)
{
    const size_t n = 1 << 16;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *y = malloc(n * sizeof *y);
    fill(a, n, 11, -1e3f, 1e3f);
    fill(b, n, 12, -50.0f, 50.0f);
    b[0] = 0.37f; /* the scalar of the *c kernels */
    for (size_t ci = 0; ci < NCASES; ci++) {
        const bcase *c = &cases[ci];
        run(kt_scalar(), c, n, a, b, y);
        for (size_t i = 0; i < n; i++)
            cr_assert(kt_same_bits(y[i], expect(c, a, b, i)), "%s[%zu]: %.9g op %.9g = %.9g, exact %.9g",
                      c->name, i, a[i], c->kind ? b[0] : b[i], y[i], expect(c, a, b, i));
    }
    free(a);
    free(b);
    free(y);
}

/* Table == scalar for every length up to 2 KT_STEP + 1 and past it (all
 * tails of 16, 8, 4 lanes and of the unrolled steps), out of place and in
 * place (y == a, and y == b for the two-array kernels). */
ParameterizedTestParameters(vbinary, tails_and_in_place) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, vbinary, tails_and_in_place)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    enum { N = 2 * KT_STEP + 7 };
    float a[N], b[N], want[N + 1], got[N + 1], buf[N];
    fill(a, N, 21, -10.0f, 10.0f);
    fill(b, N, 22, -3.0f, 3.0f);
    for (size_t ci = 0; ci < NCASES; ci++) {
        const bcase *c = &cases[ci];
        for (size_t n = 0; n <= N; n++) {
            want[n] = got[n] = 12345.0f; /* the element after the last must stay */
            run(kt_scalar(), c, n, a, b, want);
            run(k, c, n, a, b, got);
            cr_assert_eq(got[n], 12345.0f, "%s %s n=%zu wrote past the end", k->isa, c->name, n);
            for (size_t i = 0; i < n; i++)
                cr_assert(kt_same_bits(got[i], want[i]), "%s %s n=%zu [%zu]: %.9g, scalar %.9g",
                          k->isa, c->name, n, i, got[i], want[i]);
            memcpy(buf, a, sizeof buf);
            run(k, c, n, buf, b, buf);
            for (size_t i = 0; i < n; i++)
                cr_assert(kt_same_bits(buf[i], want[i]), "%s %s in place (y == a) n=%zu [%zu]",
                          k->isa, c->name, n, i);
            if (c->kind == KT_BINARY) {
                memcpy(buf, b, sizeof buf);
                run(k, c, n, a, buf, buf);
                for (size_t i = 0; i < n; i++)
                    cr_assert(kt_same_bits(buf[i], want[i]), "%s %s in place (y == b) n=%zu [%zu]",
                              k->isa, c->name, n, i);
            }
        }
    }
}

static const float specials[] = {
    NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 0x1p-149f, -0x1p-149f,
    FLT_MIN, -FLT_MIN, 1.0f, -1.0f, 3.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
};
#define NSPEC (sizeof specials / sizeof specials[0])

/* Every pair of special values, on every table, against the exact result
 * (NaN must give NaN; signs of zeros and infinities must match). */
ParameterizedTestParameters(vbinary, special_values) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, vbinary, special_values)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    float a[NSPEC * NSPEC], b[NSPEC * NSPEC], y[NSPEC * NSPEC];
    for (size_t i = 0; i < NSPEC; i++)
        for (size_t j = 0; j < NSPEC; j++) {
            a[i * NSPEC + j] = specials[i];
            b[i * NSPEC + j] = specials[j];
        }
    {
        for (size_t ci = 0; ci < NCASES; ci++) {
            const bcase *c = &cases[ci];
            if (c->kind == KT_BINARY) {
                run(k, c, NSPEC * NSPEC, a, b, y);
                for (size_t i = 0; i < NSPEC * NSPEC; i++)
                    cr_assert(kt_same_bits(y[i], expect(c, a, b, i)), "%s %s(%g, %g) = %g, expected %g",
                              k->isa, c->name, a[i], b[i], y[i], expect(c, a, b, i));
            } else {
                for (size_t j = 0; j < NSPEC; j++) {
                    run(k, c, NSPEC, specials, &specials[j], y);
                    for (size_t i = 0; i < NSPEC; i++)
                        cr_assert(kt_same_bits(y[i], expect(c, specials, &specials[j], i)),
                                  "%s %s(%g, c=%g) = %g, expected %g", k->isa, c->name, specials[i],
                                  specials[j], y[i], expect(c, specials, &specials[j], i));
                }
            }
        }
    }
}
