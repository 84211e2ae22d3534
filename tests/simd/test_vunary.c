/* Elementwise kernels, generated from the kernel list (LAM_ELEMENTWISE_KERNELS
 * in simd/kernel-list.h): every entry of every table this build and CPU
 * have (one Criterion test per ISA, skipped with the reason where the table
 * is missing) against a float64 reference with the entry's bound, against
 * its scalar twin for every tail length and a large n, in place, and on
 * special values. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/simd/kt.h"

enum { KT_UNARY, KT_UNARY1, KT_SOFTPLUS, KT_UNARY2 };

typedef struct vcase {
    const char *name;
    int kind;
    size_t off; /* of the table member */
    double (*ref)(double x, double param);
    float param, param2; /* param2: UNARY2's b (LAM__KT_P2_<name>) */
    double ulp, abs; /* the SIMD bound of the list */
    unsigned flags;
    const char *specials;
} vcase;

#define KT_P2_UNARY(name) 0.0f
#define KT_P2_UNARY1(name) 0.0f
#define KT_P2_SOFTPLUS(name) 0.0f
#define KT_P2_UNARY2(name) LAM__KT_P2_##name
#define KT_CASE(name, kind, ulp, abs, flags, param, specials)                                     \
    {#name, KT_##kind, offsetof(lam__kernel_table, name), kt_eref_##name, param,                \
     KT_P2_##kind(name), ulp, abs, flags, specials},
static const vcase cases[] = {LAM_ELEMENTWISE_KERNELS(KT_CASE)};
#undef KT_CASE
#define NCASES (sizeof cases / sizeof cases[0])

/* The parameters each kind is tested with besides the list's (negative and
 * fractional slopes and alphas; softplus betas other than 1). */
static float params_of(const vcase *c, int j)
{
    static const float unary1[] = {-2.0f, 0.5f}, softplus[] = {2.0f, 0.3f};
    if (j == 0)
        return c->param;
    if (c->kind == KT_UNARY1)
        return unary1[j - 1];
    return softplus[j - 1];
}
static int nparams(const vcase *c) { return c->kind == KT_UNARY || c->kind == KT_UNARY2 ? 1 : 3; }

static int is_scalar(const lam__kernel_table *k) { return strcmp(k->isa, "scalar") == 0; }

/* The bound a table is held to: the list's for SIMD tables; the scalar
 * kernels are float64 rounded once (1 ULP; exact entries exact; entries with
 * an absolute bound keep it). */
static void bound(const lam__kernel_table *k, const vcase *c, double *ulp, double *abs_tol)
{
    *ulp = c->ulp;
    *abs_tol = c->abs;
    if (is_scalar(k) && !(c->flags & LAM_KF_EXACT))
        *ulp = 1;
}

static void run(const lam__kernel_table *k, const vcase *c, float param, size_t n, const float *x,
                float *y)
{
    void (*f)(void);
    memcpy(&f, (const char *)k + c->off, sizeof f);
    switch (c->kind) {
    case KT_UNARY: ((lam__unary_fn)f)(n, x, y); break;
    case KT_UNARY1: ((lam__unary1_fn)f)(n, x, y, param); break;
    case KT_UNARY2: ((lam__unary2_fn)f)(n, x, y, param, c->param2); break;
    default: ((lam__softplus_fn)f)(n, x, y, param, 20.0f); break;
    }
}

/* Inputs: a bit-pattern sweep over [-20, 20] plus uniform random points. */
static size_t sweep_inputs(float **out)
{
    const size_t nsweep = 1 << 18, nrand = 1 << 16;
    float *x = malloc((2 * nsweep + nrand) * sizeof *x);
    cr_assert_not_null(x);
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


ParameterizedTestParameters(vunary, accuracy) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, vunary, accuracy)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    float *x, *y;
    size_t n = sweep_inputs(&x);
    y = malloc(n * sizeof *y);
    cr_assert_not_null(y);
    for (size_t ci = 0; ci < NCASES; ci++) {
        const vcase *c = &cases[ci];
        double ulp, abs_tol;
        bound(k, c, &ulp, &abs_tol);
        for (int pj = 0; pj < nparams(c); pj++) {
            float p = params_of(c, pj);
            run(k, c, p, n, x, y);
            double worst = 0, worst_abs = 0;
            for (size_t i = 0; i < n; i++) {
                double r = c->ref((double)x[i], (double)p);
                cr_assert(kt_close(y[i], r, ulp, abs_tol),
                          "%s %s(%.9g; %g) = %.9g, exact %.17g: %.3g ULP, abs %.3g (bound %g ULP / %g)",
                          k->isa, c->name, x[i], p, y[i], r, kt_ulp_err(y[i], r), fabs(y[i] - r), ulp,
                          abs_tol);
                if (fabs(r) >= FLT_MIN && kt_ulp_err(y[i], r) > worst)
                    worst = kt_ulp_err(y[i], r);
                if (fabs(y[i] - r) > worst_abs)
                    worst_abs = fabs(y[i] - r);
            }
            if (abs_tol > 0) /* relative accuracy is not promised: report the absolute error */
                cr_log_info("%s %s(%g): max abs error %.3g (max %.3f ULP)", k->isa, c->name, p,
                            worst_abs, worst);
            else
                cr_log_info("%s %s(%g): max %.3f ULP", k->isa, c->name, p, worst);
        }
    }
    free(x);
    free(y);
}

static const float specials[] = {
    NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, 0x1p-149f, -0x1p-149f,
    FLT_MIN, -FLT_MIN, 1e-30f, -1e-30f, 1.0f, -1.0f, 6.0f, 5.999f, 6.001f, 20.0f, 20.5f,
    -20.5f, 40.0f, -40.0f, 87.5f, -87.5f, 88.5f, -88.5f, 88.72f, 88.73f, 89.0f, -89.0f,
    100.0f, -100.0f, -103.0f, -103.9f, -104.0f, -104.1f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX,
};
#define NSPEC (sizeof specials / sizeof specials[0])

/* NaN, +-Inf, +-0, subnormals, large |x|: the float64 reference within the
 * entry's bound (outside [-20, 20] an absolute bound becomes 1 ULP), zeros
 * with their sign where the entry is exact. */
ParameterizedTestParameters(vunary, special_values) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, vunary, special_values)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    float y[NSPEC];
    for (size_t i = 0; i < NCASES; i++) {
        const vcase *c = &cases[i];
        double ulp, abs_tol;
        bound(k, c, &ulp, &abs_tol);
        if (!(c->flags & LAM_KF_EXACT) && ulp < 1)
            ulp = 1;
        for (int pj = 0; pj < nparams(c); pj++) {
            float p = params_of(c, pj);
            run(k, c, p, NSPEC, specials, y);
            for (size_t j = 0; j < NSPEC; j++) {
                double r = c->ref((double)specials[j], (double)p);
                cr_assert(kt_close(y[j], r, ulp, abs_tol), "%s %s(%.9g; %g) = %.9g, expected %.9g [%s]",
                          k->isa, c->name, specials[j], p, y[j], r, c->specials);
                if ((c->flags & LAM_KF_EXACT) && r == 0)
                    cr_assert(signbit(y[j]) == signbit((float)r), "%s %s(%.9g): sign of zero",
                              k->isa, c->name, specials[j]);
            }
        }
    }
}

/* Against the scalar twin for every length 0 .. 2 KT_STEP + 1 (all tails of
 * every width, past the unrolled step) and one large n, guard floats after
 * the end untouched, and in place (y == x) giving the same bits. */
ParameterizedTestParameters(vunary, tails_and_in_place) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, vunary, tails_and_in_place)
{
    const lam__kernel_table *k, *s = kt_scalar();
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    enum { MAXN = 2 * KT_STEP + 1, BIG = 100003, GUARD = 16 };
    float *x = malloc((BIG + GUARD) * sizeof *x), *ys = malloc((BIG + GUARD) * sizeof *ys),
          *yv = malloc((BIG + GUARD) * sizeof *yv), *yi = malloc((BIG + GUARD) * sizeof *yi);
    cr_assert(x && ys && yv && yi);
    kt_rng r = {42};
    for (size_t i = 0; i < NCASES; i++) {
        const vcase *c = &cases[i];
        double ulp, abs_tol;
        bound(k, c, &ulp, &abs_tol);
        for (size_t n = 0; n <= MAXN + 1; n++) {
            const size_t len = n <= MAXN ? n : BIG;
            for (size_t j = 0; j < len + GUARD; j++) {
                x[j] = kt_uniform(&r, -12.0f, 12.0f);
                ys[j] = yv[j] = 1234.5f;
            }
            if (len > 3)
                x[len / 2] = NAN;
            memcpy(yi, x, (len + GUARD) * sizeof *x);
            run(s, c, c->param, len, x, ys);
            run(k, c, c->param, len, x, yv);
            run(k, c, c->param, len, yi, yi);
            for (size_t j = 0; j < len; j++) {
                cr_assert(kt_same_bits(yv[j], yi[j]), "%s %s n=%zu: in place differs at %zu", k->isa,
                          c->name, len, j);
                if (c->flags & LAM_KF_EXACT)
                    cr_assert(kt_same_bits(yv[j], ys[j]), "%s %s n=%zu [%zu]: %.9g vs scalar %.9g",
                              k->isa, c->name, len, j, yv[j], ys[j]);
                else
                    cr_assert(kt_close(yv[j], ys[j], ulp + 1, abs_tol * 2),
                              "%s %s n=%zu [%zu] x=%.9g: %.9g vs scalar %.9g", k->isa, c->name, len,
                              j, x[j], yv[j], ys[j]);
            }
            for (size_t j = len; j < len + GUARD; j++)
                cr_assert(yv[j] == 1234.5f && kt_same_bits(yi[j], x[j]),
                          "%s %s n=%zu wrote past the end", k->isa, c->name, len);
        }
    }
    free(x);
    free(ys);
    free(yv);
    free(yi);
}

/* Hand-checked values (independent of any formula in the code). */
ParameterizedTestParameters(vunary, known_values) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, vunary, known_values)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    const float x[5] = {-2.0f, -0.5f, 0.0f, 3.0f, 7.0f};
    float y[5];
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

/* The AVX-512 GELU also keeps relative accuracy where the list promises
 * only an absolute bound: <= 8 ULP for x >= -6 (5.0 measured), <= 34 ULP on [-8, -6)
 * (simd/x86/avx512/f32-vgelu-avx512.c); the reference is x erfc(-x/sqrt 2)/2. */
Test(vunary, avx512_gelu_relative)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, "avx512");
    float *x, *y;
    size_t n = sweep_inputs(&x);
    y = malloc(n * sizeof *y);
    cr_assert_not_null(y);
    k->gelu(n, x, y);
    for (size_t i = 0; i < n; i++) {
        if (x[i] < -8.0f)
            continue;
        double r = kt_ref_gelu((double)x[i]), ulp = x[i] >= -6.0f ? 8 : 34;
        cr_assert(kt_close(y[i], r, ulp, 0), "gelu(%.9g) = %.9g, exact %.17g: %.3g ULP (bound %g)",
                  x[i], y[i], r, kt_ulp_err(y[i], r), ulp);
    }
    free(x);
    free(y);
}
