/* Channel kernels (LAM_CHANNEL_KERNELS in simd/kernel-list.h: lrn, the
 * LocalResponseNorm of one sample): every table this build and CPU have
 * (one Criterion test per ISA, skipped with the reason where it is
 * missing).
 *   - every table, the scalar twin included, within 1 ULP of a reference
 *     written here from F.local_response_norm's definition (the window of
 *     size channels, size / 2 before and (size - 1) / 2 after, zero padded,
 *     the divisor always size) in long double, and within 1 ULP of the
 *     scalar twin (the contract: only pow differs), over channel counts,
 *     window sizes (even, odd, wider than C), PyTorch's default and other
 *     alpha / beta / k, spatial sizes around every vector width, and
 *     position ranges, bit-identical to the scalar twin where beta = 0.75
 *     (PyTorch's default: sqrt, not pow, on every table), with positions
 *     outside the range untouched and the
 *     sample ending at an unreadable page (a read past it would fault);
 *   - special values: NaN and infinities in a window, zero windows with
 *     k = 0, beta = 0, signed zeros, the same on every table. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>

#include "tests/simd/kt-guard.h"
#include "tests/simd/kt.h"

/* F.local_response_norm at channel c, position i, in long double:
 * x / (k + alpha / size sum x'^2)^beta over the zero-padded window */
static double ref_lrn(size_t C, size_t S, const float *x, size_t size, double alpha, double beta,
                      double k, size_t c, size_t i)
{
    long double sq = 0;
    for (long j = (long)c - (long)(size / 2); j <= (long)c + (long)((size - 1) / 2); j++)
        if (j >= 0 && j < (long)C)
            sq += (long double)x[(size_t)j * S + i] * x[(size_t)j * S + i];
    long double d = (long double)k + (long double)alpha / (long double)size * sq;
    return (double)((long double)x[c * S + i] / powl(d, (long double)beta));
}

/* |a - b| in ULP of the floats (NaN = NaN; both infinite and equal: 0) */
static int within_ulp(float a, float b, double ulp)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (a == b)
        return 1;
    if (isinf(a) || isinf(b))
        return 0;
    double lo = fabs((double)a) < fabs((double)b) ? a : b;
    return fabs((double)a - (double)b) <= ulp * kt_ulp_at(lo);
}

static const struct {
    double alpha, beta, k;
} params[] = {
    {1e-4, 0.75, 1.0}, /* PyTorch's defaults (AlexNet's) */
    {1e-2, 0.5, 2.0},  {1.0, 1.0, 3.0}, {0.1, 0.75, 1.0}, {2.0, 3.5, 0.5}, {0.5, 0.75, 0.0},
    {1e-3, -0.5, 1.0}, {0.3, 0.7500001, 0.25},
};

ParameterizedTestParameters(lrn, against_reference_and_scalar) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, lrn, against_reference_and_scalar)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    static const size_t Cs[] = {1, 2, 3, 5, 8, 13};
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 30};
    kt_rng r = {29};
    long checked = 0;
    double worst = 0;
    for (size_t S = 1; S < 1200; S += S < 2 * KT_STEP + 2 ? 1 : 331)
        for (size_t ci = 0; ci < sizeof Cs / sizeof Cs[0]; ci++) {
            size_t C = Cs[ci], n = C * S;
            /* a few (C, size, params) per S: every combination over the sweep */
            size_t size = sizes[(S + ci) % (sizeof sizes / sizeof sizes[0])];
            size_t pi = (S * 7 + ci) % (sizeof params / sizeof params[0]);
            double alpha = params[pi].alpha, beta = params[pi].beta, kk = params[pi].k;
            guarded g = guarded_alloc(n);
            float *x = g.x, *ys = malloc((n + 1) * sizeof *ys), *yk = malloc((n + 1) * sizeof *yk);
            float scale = (S % 3 == 0) ? 100.0f : (S % 3 == 1 ? 1.0f : 1e-3f);
            for (size_t i = 0; i < n; i++)
                x[i] = scale * kt_uniform(&r, -3.0f, 3.0f);
            /* the whole sample, then a range [p0, p1) inside it */
            for (int part = 0; part < 2; part++) {
                size_t p0 = part ? S / 3 : 0, p1 = part ? S - S / 4 : S;
                for (size_t i = 0; i < n; i++)
                    ys[i] = yk[i] = 12345.0f;
                s->lrn(C, S, x, ys, size, alpha, beta, kk, p0, p1);
                k->lrn(C, S, x, yk, size, alpha, beta, kk, p0, p1);
                for (size_t c = 0; c < C; c++)
                    for (size_t i = 0; i < S; i++) {
                        float a = ys[c * S + i], b = yk[c * S + i];
                        if (i < p0 || i >= p1) {
                            cr_assert(a == 12345.0f && b == 12345.0f,
                                      "%s C %zu S %zu [%zu, %zu): position %zu of channel %zu "
                                      "written outside the range",
                                      k->isa, C, S, p0, p1, i, c);
                            continue;
                        }
                        double ref = ref_lrn(C, S, x, size, alpha, beta, kk, c, i);
                        double e = kt_ulp_err(b, ref);
                        worst = e > worst ? e : worst;
                        cr_assert(kt_close(b, ref, 1.0, 0.0),
                                  "%s C %zu S %zu size %zu alpha %g beta %g k %g (c %zu, i %zu): "
                                  "%.9g vs reference %.17g (%.2f ULP)",
                                  k->isa, C, S, size, alpha, beta, kk, c, i, b, ref, e);
                        cr_assert(beta != 0.75 || kt_same_bits(a, b),
                                  "%s C %zu S %zu size %zu (c %zu, i %zu): beta = 0.75, %.9g vs "
                                  "scalar %.9g (not the same bits)",
                                  k->isa, C, S, size, c, i, b, a);
                        cr_assert(within_ulp(a, b, 1.0),
                                  "%s C %zu S %zu size %zu (c %zu, i %zu): %.9g vs scalar %.9g",
                                  k->isa, C, S, size, c, i, b, a);
                        checked++;
                    }
            }
            kt_guard_free(g);
            free(ys);
            free(yk);
        }
    cr_log_info("%s: %ld outputs within 1 ULP of the reference and the scalar twin (worst %.3f "
                "ULP)",
                k->isa, checked, worst);
}

/* NaN and infinities in a window, zero windows, beta = 0, signed zeros:
 * what the reference says, on every table; the same as the scalar twin. */
ParameterizedTestParameters(lrn, special_values) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, lrn, special_values)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    enum { C = 7, S = 37 };
    float x[C * S], y[C * S], ys[C * S];
    for (size_t i = 0; i < C * S; i++)
        x[i] = (float)((int)(i % 11) - 5) * 0.25f; /* zeros, both signs */
    x[3 * S + 20] = -0.0f;
    x[3 * S + 5] = NAN;       /* channel 3, position 5 */
    x[1 * S + 30] = INFINITY; /* channel 1, position 30 */
    x[5 * S + 33] = -INFINITY;
    /* size 3: channels c - 1 .. c + 1; beta = 0.75 (sqrt) and 0.7 (pow) */
    for (int bi = 0; bi < 2; bi++) {
        double beta = bi ? 0.7 : 0.75;
        k->lrn(C, S, x, y, 3, 1e-4, beta, 1.0, 0, S);
        s->lrn(C, S, x, ys, 3, 1e-4, beta, 1.0, 0, S);
        for (size_t c = 0; c < C; c++)
            for (size_t i = 0; i < S; i++) {
                float v = y[c * S + i], xv = x[c * S + i];
                int nan_win = i == 5 && c >= 2 && c <= 4;
                int inf_win = (i == 30 && c <= 2) || (i == 33 && c >= 4);
                if (nan_win || (inf_win && isinf(xv)))
                    cr_assert(isnan(v), "%s: (c %zu, i %zu) %g, not NaN", k->isa, c, i, v);
                else if (inf_win)
                    cr_assert(v == 0.0f && signbit(v) == signbit(xv),
                              "%s: (c %zu, i %zu) %g, not %s0", k->isa, c, i, v,
                              signbit(xv) ? "-" : "+");
                else if (xv == 0.0f)
                    cr_assert(v == 0.0f && signbit(v) == signbit(xv),
                              "%s: (c %zu, i %zu) %g vs x %g", k->isa, c, i, v, xv);
                else
                    cr_assert(isfinite(v) && fabsf(v) <= fabsf(xv), "%s: (c %zu, i %zu) %g",
                              k->isa, c, i, v);
                cr_assert(within_ulp(v, ys[c * S + i], 1.0), "%s: (c %zu, i %zu) %g vs scalar %g",
                          k->isa, c, i, v, ys[c * S + i]);
            }
    }
    /* k = 0: an all-zero window gives 0 / 0 = NaN (PyTorch's x / 0^beta) */
    float z[3 * 5] = {0};
    z[1 * 5 + 4] = 2.0f;
    k->lrn(3, 5, z, y, 1, 1.0, 0.75, 0.0, 0, 5);
    for (size_t i = 0; i < 15; i++)
        cr_assert(i == 9 ? y[i] == powf(2.0f, -0.5f) : isnan(y[i]), "%s: k = 0, %zu: %g", k->isa, i,
                  y[i]);
    /* beta = 0: y = x exactly */
    kt_rng r = {5};
    for (size_t i = 0; i < C * S; i++)
        x[i] = kt_uniform(&r, -1e6f, 1e6f);
    k->lrn(C, S, x, y, 5, 0.1, 0.0, 1.0, 0, S);
    cr_assert(memcmp(x, y, sizeof x) == 0, "%s: beta = 0 is not the identity", k->isa);
    /* C = 0 or an empty range writes nothing */
    y[0] = 7.0f;
    k->lrn(0, S, x, y, 5, 1e-4, 0.75, 1.0, 0, S);
    k->lrn(C, S, x, y, 5, 1e-4, 0.75, 1.0, 3, 3);
    cr_assert(y[0] == 7.0f && y[3] == x[3], "%s: empty calls wrote", k->isa);
}
