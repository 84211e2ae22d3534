/* Statistics kernels (LAM_STATS_KERNELS in simd/kernel-list.h: moments):
 * every table the machine has against the scalar twin, bit for bit (the
 * fixed order of the contract), for every length around the vector widths
 * and long rows, with special values; the scalar twin against a long
 * double reference within the float64 summation bound. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt.h"

static int same64(double a, double b)
{
    if (isnan(a) && isnan(b))
        return 1;
    return memcmp(&a, &b, sizeof a) == 0;
}

static void fill(kt_rng *r, float *x, size_t n, float offset)
{
    for (size_t i = 0; i < n; i++)
        x[i] = offset + kt_uniform(r, -3.0f, 3.0f);
}

/* The scalar twin against long double sums: |s - ref| <= n eps64 sum|.| */
Test(stats, scalar_twin_against_definition)
{
    const lam__kernel_table *s = kt_scalar();
    kt_rng r = {17};
    for (size_t n = 0; n < 300; n += 1 + n / 8) {
        float *x = malloc((n + 1) * sizeof *x);
        fill(&r, x, n, 100.0f);
        for (int pass = 0; pass < 2; pass++) {
            double c = pass ? 100.25 : 0.0, got[2];
            long double r1 = 0, r2 = 0, a1 = 0, a2 = 0;
            for (size_t i = 0; i < n; i++) {
                long double d = (long double)x[i] - c;
                r1 += d, r2 += d * d, a1 += fabsl(d), a2 += d * d;
            }
            s->moments(n, x, c, got);
            double eps = 0x1p-52 * (double)(n + 2);
            cr_assert(fabsl(got[0] - r1) <= eps * a1, "n %zu c %g: sum %.17g vs %.17Lg", n, c,
                      got[0], r1);
            cr_assert(fabsl(got[1] - r2) <= eps * a2 * 2, "n %zu c %g: sq %.17g vs %.17Lg", n, c,
                      got[1], r2);
        }
        free(x);
    }
    double z[2] = {1, 1};
    s->moments(0, NULL, 3.0, z);
    cr_assert(z[0] == 0.0 && z[1] == 0.0 && !signbit(z[0]) && !signbit(z[1]));
}

/* Every table bit-identical to the scalar twin: every length to 3 x 16 + 1
 * (each tail), long rows, offsets from the pointer (no alignment), and
 * NaN / inf / signed zeros / subnormals at random places. */
ParameterizedTestParameters(stats, same_bits_as_scalar) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, stats, same_bits_as_scalar)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng r = {3};
    static const float sp[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f};
    long checked = 0;
    for (size_t n = 0; n < 2100; n += n < 49 ? 1 : 97) {
        for (int variant = 0; variant < 3; variant++) {
            size_t off = (size_t)variant;
            float *buf = malloc((n + 4) * sizeof *buf), *x = buf + off;
            fill(&r, x, n, variant == 1 ? 1000.0f : 0.0f);
            if (variant == 2) {
                for (size_t i = 0; i < n; i++)
                    if (kt_next(&r) % 5 == 0)
                        x[i] = (kt_next(&r) & 1) ? 0.0f : -0.0f;
                if (n && kt_next(&r) % 3 == 0)
                    x[kt_next(&r) % n] = sp[kt_next(&r) % (sizeof sp / sizeof sp[0])];
            }
            for (int pass = 0; pass < 2; pass++) {
                double c = pass ? (double)kt_uniform(&r, -2.0f, 2.0f) + (variant == 1) * 1000.0 : 0.0;
                double a[2], b[2];
                s->moments(n, x, c, a);
                k->moments(n, x, c, b);
                cr_assert(same64(a[0], b[0]) && same64(a[1], b[1]),
                          "%s n %zu variant %d c %.17g: (%.17g, %.17g) vs scalar (%.17g, %.17g)",
                          k->isa, n, variant, c, b[0], b[1], a[0], a[1]);
                checked++;
            }
            free(buf);
        }
    }
    cr_log_info("%s: %ld rows bit-identical to the scalar twin", k->isa, checked);
}

/* NaN in gives NaN sums; an infinity gives inf (its square's sum) */
ParameterizedTestParameters(stats, special_values) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, stats, special_values)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    float x[37];
    for (int i = 0; i < 37; i++)
        x[i] = (float)i;
    double s[2];
    x[35] = NAN;
    k->moments(37, x, 0.0, s);
    cr_assert(isnan(s[0]) && isnan(s[1]), "%s", k->isa);
    x[35] = INFINITY;
    k->moments(37, x, 0.0, s);
    cr_assert(isinf(s[0]) && s[0] > 0 && isinf(s[1]) && s[1] > 0, "%s", k->isa);
    x[35] = 35.0f;
    k->moments(37, x, 18.0, s); /* 0..36 around their mean */
    cr_assert(s[0] == 0.0 && s[1] == 4218.0, "%s: %.17g %.17g", k->isa, s[0], s[1]);
}
