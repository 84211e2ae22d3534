/* Elementwise kernels: every SIMD kernel and the scalar reference against a
 * float64 reference (ULP / absolute bounds from the kernels' contracts),
 * the SIMD kernel against the scalar one for every tail length, in place,
 * and on special values. */
#include "config.h"

#include <criterion/criterion.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/simd/kt.h"

typedef struct vcase {
    const char *name;
    size_t off;        /* offset of the table field */
    int kind;          /* 0: unary, 1: one parameter, 2: softplus */
    double (*ref)(double);
    double (*ref1)(double, double);
    float param;
    double ulp, abs;   /* SIMD bound on [-20, 20]; scalar kernels: 1 ULP */
    int exact;         /* SIMD bit-identical to scalar */
} vcase;

static double ref_leaky(double x, double a) { return kt_ref_leaky(x, a); }
static double ref_elu(double x, double a) { return kt_ref_elu(x, a); }
static double ref_softplus(double x, double beta) { return kt_ref_softplus(x, beta, 20.0); }

#define F(name) offsetof(lam__kernel_table, name)
static const vcase cases[] = {
    {"relu", F(relu), 0, kt_ref_relu, NULL, 0, 0, 0, 1},
    {"relu6", F(relu6), 0, kt_ref_relu6, NULL, 0, 0, 0, 1},
    {"leaky_relu", F(leaky_relu), 1, NULL, ref_leaky, 0.01f, 0.5, 0, 1},
    {"leaky_relu(-2)", F(leaky_relu), 1, NULL, ref_leaky, -2.0f, 0.5, 0, 1},
    {"elu", F(elu), 1, NULL, ref_elu, 1.0f, 2, 0, 0},
    {"elu(0.5)", F(elu), 1, NULL, ref_elu, 0.5f, 2, 0, 0},
    {"sigmoid", F(sigmoid), 0, kt_ref_sigmoid, NULL, 0, 3, 0, 0},
    {"tanh", F(tanh), 0, kt_ref_tanh, NULL, 0, 3, 0, 0},
    {"gelu", F(gelu), 0, kt_ref_gelu, NULL, 0, 0, 5e-7, 0},
    {"gelu_tanh", F(gelu_tanh), 0, kt_ref_gelu_tanh, NULL, 0, 0, 5e-7, 0},
    {"silu", F(silu), 0, kt_ref_silu, NULL, 0, 3, 0, 0},
    {"exp", F(exp), 0, kt_ref_exp, NULL, 0, 1, 0, 0},
    {"softplus", F(softplus), 2, NULL, ref_softplus, 1.0f, 4, 0, 0},
    {"softplus(2)", F(softplus), 2, NULL, ref_softplus, 2.0f, 4, 0, 0},
    {"softplus(0.3)", F(softplus), 2, NULL, ref_softplus, 0.3f, 4, 0, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void run(const lam__kernel_table *k, const vcase *c, size_t n, const float *x, float *y)
{
    const char *p = (const char *)k + c->off;
    switch (c->kind) {
    case 0: (*(const lam__unary_fn *)p)(n, x, y); break;
    case 1: (*(const lam__unary1_fn *)p)(n, x, y, c->param); break;
    default:
        (*(void (*const *)(size_t, const float *, float *, float, float))p)(n, x, y, c->param,
                                                                             20.0f);
    }
}

static double ref(const vcase *c, float x)
{
    return c->ref ? c->ref((double)x) : c->ref1((double)x, (double)c->param);
}

/* Inputs: a bit-pattern sweep over [-20, 20] plus uniform random points. */
static size_t sweep_inputs(float **out)
{
    const size_t nsweep = 1 << 18, nrand = 1 << 16;
    float *x = malloc((2 * nsweep + nrand) * sizeof *x);
    size_t n = 0;
    uint32_t top = 0x41a00000u; /* 20.0f */
    for (size_t i = 0; i < nsweep; i++) {
        uint32_t b = (uint32_t)((uint64_t)top * i / nsweep);
        float f;
        memcpy(&f, &b, 4);
        x[n++] = f;
        x[n++] = -f;
    }
    kt_rng r = {0x1234567u};
    for (size_t i = 0; i < nrand; i++)
        x[n++] = kt_uniform(&r, -20.0f, 20.0f);
    *out = x;
    return n;
}

static void check_accuracy(const lam__kernel_table *k, double ulp, double abs_tol, const vcase *c)
{
    float *x, *y;
    size_t n = sweep_inputs(&x);
    y = malloc(n * sizeof *y);
    run(k, c, n, x, y);
    double worst = 0, worst_abs = 0;
    for (size_t i = 0; i < n; i++) {
        double r = ref(c, x[i]);
        cr_assert(kt_close(y[i], r, ulp, abs_tol),
                  "%s %s(%.9g) = %.9g, exact %.17g: %.3g ULP, abs %.3g (bound %g ULP / %g)",
                  k->isa, c->name, x[i], y[i], r, kt_ulp_err(y[i], r), fabs(y[i] - r), ulp, abs_tol);
        if (fabs(r) >= FLT_MIN && kt_ulp_err(y[i], r) > worst)
            worst = kt_ulp_err(y[i], r);
        if (fabs(y[i] - r) > worst_abs)
            worst_abs = fabs(y[i] - r);
    }
    if (abs_tol > 0) /* relative accuracy is not promised: report the absolute error */
        cr_log_info("%s %s: max abs error %.3g", k->isa, c->name, worst_abs);
    else
        cr_log_info("%s %s: max %.3f ULP", k->isa, c->name, worst);
    free(x);
    free(y);
}

Test(vunary, simd_accuracy)
{
    const lam__kernel_table *k = kt_simd();
    if (!k)
        cr_skip_test("no SIMD kernels in this build or CPU");
    for (size_t i = 0; i < NCASES; i++)
        check_accuracy(k, cases[i].ulp, cases[i].abs, &cases[i]);
}

Test(vunary, scalar_accuracy)
{
    for (size_t i = 0; i < NCASES; i++) {
        /* scalar: float64 rounded once; GELU keeps its absolute bound */
        double ulp = cases[i].ulp == 0 && cases[i].abs == 0 ? 0 : 1;
        check_accuracy(kt_scalar(), ulp, cases[i].abs ? 5e-7 : 0, &cases[i]);
    }
}

static const float specials[] = {
    NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 0x1p-149f, -0x1p-149f,
    FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f, 1.0f, -1.0f, 6.0f, 5.999f, 6.001f, 20.0f, 20.5f,
    -20.5f, 40.0f, -40.0f, 87.5f, -87.5f, 88.5f, -88.5f, 89.0f, -89.0f, 100.0f, -100.0f,
    -103.0f, -104.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
};
#define NSPEC (sizeof specials / sizeof specials[0])

Test(vunary, special_values)
{
    const lam__kernel_table *tables[2] = {kt_scalar(), kt_simd()};
    float y[NSPEC];
    for (int t = 0; t < 2; t++) {
        const lam__kernel_table *k = tables[t];
        if (!k)
            continue;
        for (size_t i = 0; i < NCASES; i++) {
            const vcase *c = &cases[i];
            run(k, c, NSPEC, specials, y);
            for (size_t j = 0; j < NSPEC; j++) {
                double r = ref(c, specials[j]);
                /* far outside [-20, 20] a GELU's absolute bound becomes relative */
                double ulp = c->exact ? c->ulp : (c->ulp > 1 ? c->ulp : 1), abs_tol = c->abs;
                cr_assert(kt_close(y[j], r, ulp, abs_tol), "%s %s(%.9g) = %.9g, expected %.9g",
                          k->isa, c->name, specials[j], y[j], r);
            }
        }
    }
}

/* Every length from 0 to 3 full vectors + 1 (and past the 16-wide step),
 * with guard floats after the end that must stay untouched, and in place. */
Test(vunary, tails_and_in_place)
{
    const lam__kernel_table *k = kt_simd(), *s = kt_scalar();
    if (!k)
        cr_skip_test("no SIMD kernels in this build or CPU");
    enum { MAXN = 3 * 16 + 1, GUARD = 16 };
    float x[MAXN + GUARD], ys[MAXN + GUARD], yv[MAXN + GUARD], yi[MAXN + GUARD];
    kt_rng r = {42};
    for (size_t i = 0; i < NCASES; i++) {
        const vcase *c = &cases[i];
        for (size_t n = 0; n <= MAXN; n++) {
            for (size_t j = 0; j < n + GUARD; j++) {
                x[j] = kt_uniform(&r, -12.0f, 12.0f);
                ys[j] = yv[j] = 1234.5f;
            }
            if (n > 3)
                x[n / 2] = NAN;
            memcpy(yi, x, sizeof x);
            run(s, c, n, x, ys);
            run(k, c, n, x, yv);
            run(k, c, n, yi, yi);
            for (size_t j = 0; j < n; j++) {
                cr_assert(kt_same_bits(yv[j], yi[j]), "%s n=%zu: in place differs at %zu",
                          c->name, n, j);
                if (c->exact)
                    cr_assert(kt_same_bits(yv[j], ys[j]), "%s n=%zu [%zu]: %.9g vs scalar %.9g",
                              c->name, n, j, yv[j], ys[j]);
                else
                    cr_assert(kt_close(yv[j], ys[j], c->ulp + 1, c->abs * 2),
                              "%s n=%zu [%zu] x=%.9g: %.9g vs scalar %.9g", c->name, n, j, x[j],
                              yv[j], ys[j]);
            }
            for (size_t j = n; j < n + GUARD; j++)
                cr_assert(yv[j] == 1234.5f && yi[j] == x[j], "%s n=%zu wrote past the end",
                          c->name, n);
        }
    }
}

/* Hand-checked values (independent of any formula in the code). */
Test(vunary, known_values)
{
    const lam__kernel_table *tables[2] = {kt_scalar(), kt_simd()};
    const float x[5] = {-2.0f, -0.5f, 0.0f, 3.0f, 7.0f};
    float y[5];
    for (int t = 0; t < 2; t++) {
        const lam__kernel_table *k = tables[t];
        if (!k)
            continue;
        k->relu(5, x, y);
        cr_assert(y[0] == 0 && y[1] == 0 && y[2] == 0 && y[3] == 3 && y[4] == 7);
        k->relu6(5, x, y);
        cr_assert(y[0] == 0 && y[3] == 3 && y[4] == 6);
        k->leaky_relu(5, x, y, 0.25f);
        cr_assert(y[0] == -0.5f && y[1] == -0.125f && y[3] == 3);
        k->sigmoid(5, x, y);
        cr_assert(y[2] == 0.5f);
        k->tanh(5, x, y);
        cr_assert(y[2] == 0.0f);
        k->exp(5, x, y);
        cr_assert(y[2] == 1.0f);
        k->gelu(5, x, y);
        cr_assert(y[2] == 0.0f && y[4] == 7.0f);
        k->silu(5, x, y);
        cr_assert(y[2] == 0.0f);
        cr_assert(fabsf(y[3] - 2.857722984f) < 1e-6f); /* 3 / (1 + e^-3) */
    }
}
