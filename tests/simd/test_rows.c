/* Row kernels (LAM_ROW_KERNELS in simd/kernel-list.h: softmax, log_softmax,
 * layer_norm): every table this build and CPU have (one Criterion test per
 * ISA, skipped with the reason where it is missing) against a float64
 * reference with the list's bound for every length 0 .. 2 KT_STEP + 1 and
 * long rows, in place, and the special rows (NaN, +-inf, constant rows,
 * large offsets). */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>

#include "tests/simd/kt.h"

static void ref_softmax(size_t n, const float *x, double *r, int log_form)
{
    double m = -INFINITY, s = 0;
    for (size_t i = 0; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (size_t i = 0; i < n; i++)
        s += exp((double)x[i] - m);
    for (size_t i = 0; i < n; i++)
        r[i] = log_form ? (double)x[i] - m - log(s) : exp((double)x[i] - m) / s;
}

/* the bounds of the list: kt_ulp_softmax, kt_ulp_log_softmax, kt_ulp_layer_norm */
#define KT_ROW_ULP(name, kind, ulp, flags, specials) static const double kt_ulp_##name = ulp;
LAM_ROW_KERNELS(KT_ROW_ULP)
#undef KT_ROW_ULP


static void check_softmax(const lam__kernel_table *k, size_t n, const float *x, int log_form)
{
    float *y = malloc((n + 8) * sizeof *y);
    double *r = malloc((n + 1) * sizeof *r);
    for (size_t i = 0; i < n + 8; i++)
        y[i] = 77.0f;
    ref_softmax(n, x, r, log_form);
    (log_form ? k->log_softmax : k->softmax)(n, x, y);
    for (size_t i = 0; i < n; i++)
        cr_assert(kt_close(y[i], r[i], log_form ? kt_ulp_log_softmax : kt_ulp_softmax, 0), "%s %s n=%zu [%zu] x=%.9g: %.9g, exact %.17g (%.2f ULP)",
                  k->isa, log_form ? "log_softmax" : "softmax", n, i, x[i], y[i], r[i],
                  kt_ulp_err(y[i], r[i]));
    for (size_t i = n; i < n + 8; i++)
        cr_assert(y[i] == 77.0f, "wrote past the row");
    /* in place gives the same bits */
    float *z = malloc((n + 1) * sizeof *z);
    memcpy(z, x, n * sizeof *z);
    (log_form ? k->log_softmax : k->softmax)(n, z, z);
    for (size_t i = 0; i < n; i++)
        cr_assert(kt_same_bits(z[i], y[i]), "in place differs");
    free(z);
    free(y);
    free(r);
}

ParameterizedTestParameters(rows, softmax_lengths_and_ranges) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, rows, softmax_lengths_and_ranges)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng rng = {7};
    static float x[5000];
    const size_t lens[] = {100, 1000, 4099};
    const float spans[] = {1.0f, 10.0f, 60.0f};
    for (int lf = 0; lf < 2; lf++)
        for (int s = 0; s < 3; s++) {
            for (size_t n = 0; n <= 2 * KT_STEP + 1; n++) {
                for (size_t i = 0; i < n; i++)
                    x[i] = kt_uniform(&rng, -spans[s], spans[s]) + 1000.0f * (s == 2);
                check_softmax(k, n, x, lf);
            }
            for (size_t l = 0; l < 3; l++) {
                for (size_t i = 0; i < lens[l]; i++)
                    x[i] = kt_uniform(&rng, -spans[s], spans[s]);
                check_softmax(k, lens[l], x, lf);
            }
        }
}

ParameterizedTestParameters(rows, softmax_special_rows) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, rows, softmax_special_rows)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    float y[20], x[20];
    {
        for (int lf = 0; lf < 2; lf++) {
            lam__unary_fn f = lf ? k->log_softmax : k->softmax;
            /* a NaN or +inf anywhere: the whole row is NaN (torch.softmax) */
            for (int which = 0; which < 3; which++)
                for (size_t pos = 0; pos < 19; pos += 6) {
                    for (size_t i = 0; i < 19; i++)
                        x[i] = (float)i * 0.25f;
                    x[pos] = which == 0 ? NAN : INFINITY;
                    if (which == 2)
                        for (size_t i = 0; i < 19; i++)
                            x[i] = -INFINITY;
                    f(19, x, y);
                    for (size_t i = 0; i < 19; i++)
                        cr_assert(isnan(y[i]), "%s case %d pos %zu: y[%zu] = %g", k->isa, which,
                                  pos, i, y[i]);
                }
            /* one -inf among finite values: probability 0, log-probability -inf */
            for (size_t i = 0; i < 19; i++)
                x[i] = (float)i;
            x[5] = -INFINITY;
            f(19, x, y);
            cr_assert(lf ? y[5] == -INFINITY : y[5] == 0.0f, "%s: %g", k->isa, y[5]);
            cr_assert(!isnan(y[0]) && !isnan(y[18]));
            /* a single element: probability 1, log-probability 0 */
            x[0] = -3.5f;
            f(1, x, y);
            cr_assert(y[0] == (lf ? 0.0f : 1.0f));
            /* equal values: exactly uniform 1/4 */
            for (size_t i = 0; i < 4; i++)
                x[i] = 2.5f;
            f(4, x, y);
            for (size_t i = 0; i < 4; i++)
                cr_assert(kt_close(y[i], lf ? -log(4.0) : 0.25, 1, 0), "%g", y[i]);
        }
    }
}

static void ref_layer_norm(size_t n, const float *x, const float *g, const float *b, float eps,
                           double *r, double *mag)
{
    double mean = 0, var = 0;
    for (size_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        var += ((double)x[i] - mean) * ((double)x[i] - mean);
    var /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double xh = ((double)x[i] - mean) / sqrt(var + eps) * (g ? g[i] : 1.0);
        r[i] = xh + (b ? b[i] : 0.0);
        mag[i] = fabs(xh);
    }
}

ParameterizedTestParameters(rows, layer_norm) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, rows, layer_norm)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng rng = {99};
    static float x[3000], g[3000], b[3000], y[3008];
    static double r[3000], mag[3000];
    const size_t lens[] = {0,  1,  2,  3,  5,  7,  8,  9,  15, 16,  17,  23,  24,  25,  31,
                           32, 33, 34, 47, 48, 49, 63, 64, 65, 66, 100, 768, 2999};
    {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
            for (int variant = 0; variant < 4; variant++) {
                size_t n = lens[li];
                float offset = variant == 3 ? 1000.0f : 0.0f;
                for (size_t i = 0; i < n; i++) {
                    x[i] = offset + kt_uniform(&rng, -3.0f, 3.0f);
                    g[i] = kt_uniform(&rng, 0.5f, 2.0f);
                    b[i] = kt_uniform(&rng, -1.0f, 1.0f);
                }
                const float *gp = variant & 1 ? NULL : g, *bp = variant & 2 ? NULL : b;
                for (size_t i = 0; i < n + 8; i++)
                    y[i] = 55.0f;
                k->layer_norm(n, x, y, gp, bp, 1e-5f);
                ref_layer_norm(n, x, gp, bp, 1e-5f, r, mag);
                for (size_t i = 0; i < n; i++) {
                    /* the list's ULP of the normalised value + 1 ULP of the result */
                    double tol = kt_ulp_layer_norm * kt_ulp_at(mag[i]) + kt_ulp_at(r[i]);
                    cr_assert(fabs(y[i] - r[i]) <= tol, "%s n=%zu v%d [%zu]: %.9g, exact %.17g",
                              k->isa, n, variant, i, y[i], r[i]);
                }
                for (size_t i = n; i < n + 8; i++)
                    cr_assert(y[i] == 55.0f, "wrote past the row");
            }
        /* a constant row normalises to 0: y = beta exactly */
        for (size_t i = 0; i < 37; i++)
            x[i] = 4.25f;
        k->layer_norm(37, x, y, g, b, 1e-5f);
        for (size_t i = 0; i < 37; i++)
            cr_assert(y[i] == b[i], "%s constant row: %g vs %g", k->isa, y[i], b[i]);
        /* known values: x = {1, 3}: mean 2, var 1, eps 0 -> {-1, 1} */
        x[0] = 1.0f;
        x[1] = 3.0f;
        k->layer_norm(2, x, y, NULL, NULL, 0.0f);
        cr_assert(y[0] == -1.0f && y[1] == 1.0f, "%s: %g %g", k->isa, y[0], y[1]);
        /* NaN or inf anywhere: a row of NaN */
        x[2] = 5.0f;
        x[1] = INFINITY;
        k->layer_norm(3, x, y, NULL, NULL, 1e-5f);
        cr_assert(isnan(y[0]) && isnan(y[2]));
        x[1] = NAN;
        k->layer_norm(3, x, y, NULL, NULL, 1e-5f);
        cr_assert(isnan(y[0]) && isnan(y[2]));
    }
}
