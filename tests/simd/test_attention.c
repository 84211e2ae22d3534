/* The fused attention entry (LAM_ATTN_KERNELS in simd/kernel-list.h):
 * every table this build and CPU have (one Criterion test per ISA, skipped
 * with the reason where it is missing) against a float64 evaluation of
 * PyTorch's definition (softmax(scale q k^T + mask) v, masked scores -inf),
 * within the list's bound: head sizes 1..128 (odd ones too), odd and
 * block-crossing sequence lengths (past a group of query blocks too), Tq != Tk, every mask kind and their
 * mixes, fully masked rows (NaN, as PyTorch), Tk = 0, the weights variant,
 * strided rows with nothing written outside, and the same bits whatever
 * the row range a call is given. */
#include "config.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>

#include "tests/simd/kt.h"

#define KT_ATT_TOL_(name, kind, tol, flags, specials) static const double kt_att_tol = tol;
LAM_ATTN_KERNELS(KT_ATT_TOL_)
#undef KT_ATT_TOL_

enum { M_CAUSAL = 1, M_ADD = 2, M_KADD = 4, M_BOOL = 8, M_KBOOL = 16, M_DEAD = 32 };

typedef struct {
    size_t Tq, Tk, D, Dv, pad;
    float *q, *k, *v, *o, *w;
    float *add, *kadd;
    unsigned char *bm, *kbm;
    lam__attn_args a;
} att_case;

static void att_make(att_case *c, kt_rng *rng, size_t Tq, size_t Tk, size_t D, size_t Dv,
                     unsigned masks, int weights, float span)
{
    memset(c, 0, sizeof *c);
    c->Tq = Tq, c->Tk = Tk, c->D = D, c->Dv = Dv, c->pad = 3;
    size_t ldq = D + 1, ldk = D + 2, ldv = Dv + 1, ldo = Dv + c->pad;
    c->q = malloc((Tq * ldq + 1) * sizeof(float));
    c->k = malloc((Tk * ldk + 1) * sizeof(float));
    c->v = malloc((Tk * ldv + 1) * sizeof(float));
    c->o = malloc((Tq * ldo + 1) * sizeof(float));
    for (size_t i = 0; i < Tq * ldq; i++)
        c->q[i] = kt_uniform(rng, -span, span);
    for (size_t i = 0; i < Tk * ldk; i++)
        c->k[i] = kt_uniform(rng, -span, span);
    for (size_t i = 0; i < Tk * ldv; i++)
        c->v[i] = kt_uniform(rng, -1.0f, 1.0f);
    for (size_t i = 0; i < Tq * ldo; i++)
        c->o[i] = 1234.5f;
    lam__attn_args *a = &c->a;
    a->Tk = Tk, a->D = D, a->Dv = Dv;
    a->q = c->q, a->k = c->k, a->v = c->v, a->o = c->o;
    a->ldq = ldq, a->ldk = ldk, a->ldv = ldv, a->ldo = ldo;
    a->scale = D ? (float)(1.0 / sqrt((double)D)) : 1.0f;
    a->causal = (masks & M_CAUSAL) != 0;
    if (masks & M_ADD) {
        c->add = malloc((Tq * Tk + 1) * sizeof(float));
        for (size_t i = 0; i < Tq * Tk; i++)
            c->add[i] = (kt_next(rng) % 7 == 0) ? -INFINITY : kt_uniform(rng, -2.0f, 2.0f);
        a->attn_add = c->add, a->ld_add = Tk;
    }
    if (masks & M_KADD) {
        c->kadd = malloc((Tk + 1) * sizeof(float));
        for (size_t j = 0; j < Tk; j++)
            c->kadd[j] = (kt_next(rng) % 9 == 0) ? -INFINITY : kt_uniform(rng, -1.0f, 1.0f);
        a->key_add = c->kadd;
    }
    if (masks & (M_BOOL | M_DEAD)) {
        c->bm = calloc(Tq * Tk + 1, 1);
        for (size_t i = 0; i < Tq * Tk; i++)
            c->bm[i] = (masks & M_BOOL) && kt_next(rng) % 5 == 0;
        if (masks & M_DEAD) /* rows 0 and Tq / 2 fully masked */
            for (size_t j = 0; j < Tk; j++)
                c->bm[j] = c->bm[(Tq / 2) * Tk + j] = 1;
        a->attn_bool = c->bm, a->ld_bool = Tk;
    }
    if (masks & M_KBOOL) {
        c->kbm = calloc(Tk + 1, 1);
        for (size_t j = 0; j < Tk; j++)
            c->kbm[j] = kt_next(rng) % 4 == 0;
        a->key_bool = c->kbm;
    }
    if (weights) {
        c->w = malloc((Tq * (Tk + 2) + 1) * sizeof(float));
        a->w = c->w, a->ldw = Tk + 2;
    }
}

static void att_free(att_case *c)
{
    free(c->q), free(c->k), free(c->v), free(c->o), free(c->w);
    free(c->add), free(c->kadd), free(c->bm), free(c->kbm);
}

/* float64: the scores of row i (masked: -inf), softmax, o = p v */
static void att_ref_row(const att_case *c, size_t i, double *s, double *p, double *o,
                        double *amax_s)
{
    const lam__attn_args *a = &c->a;
    double mx = -INFINITY, am = 0;
    int bad = 0;
    for (size_t j = 0; j < c->Tk; j++) {
        double d = 0;
        for (size_t t = 0; t < c->D; t++)
            d += (double)a->q[i * a->ldq + t] * a->k[j * a->ldk + t];
        double x = (double)a->scale * d;
        double m = 0;
        if (a->attn_add)
            m += a->attn_add[i * a->ld_add + j];
        if (a->key_add)
            m += a->key_add[j];
        x += m;
        if ((a->attn_bool && a->attn_bool[i * a->ld_bool + j]) || (a->key_bool && a->key_bool[j]) ||
            (a->causal && j > i))
            x = -INFINITY;
        s[j] = x;
        if (isfinite(x) && fabs(x) > am)
            am = fabs(x);
        if (isnan(x) || x == INFINITY)
            bad = 1;
        if (x > mx)
            mx = x;
    }
    *amax_s = am;
    double sum = 0;
    for (size_t j = 0; j < c->Tk; j++)
        sum += (p[j] = exp(s[j] - mx));
    for (size_t j = 0; j < c->Tk; j++)
        p[j] = (bad || mx == -INFINITY) ? NAN : p[j] / sum;
    for (size_t t = 0; t < c->Dv; t++) {
        double acc = 0;
        for (size_t j = 0; j < c->Tk; j++)
            acc += p[j] * a->v[j * a->ldv + t];
        o[t] = c->Tk == 0 ? 0.0 : acc;
    }
}

static void att_check(const lam__kernel_table *k, att_case *c, const char *what)
{
    const lam__attn_args *a = &c->a;
    k->attention(a, 0, c->Tq);
    double *s = malloc((c->Tk + 1) * sizeof(double)), *p = malloc((c->Tk + 1) * sizeof(double));
    double *o = malloc((c->Dv + 1) * sizeof(double));
    const double eps = 0x1p-24;
    for (size_t i = 0; i < c->Tq; i++) {
        double ams;
        att_ref_row(c, i, s, p, o, &ams);
        double vmax = 0;
        for (size_t j = 0; j < c->Tk * a->ldv; j++)
            vmax = fabs(a->v[j]) > vmax ? fabs(a->v[j]) : vmax;
        const double bo = kt_att_tol * (double)(c->D + 64) * eps * vmax * (1 + ams);
        const double bw = kt_att_tol * (double)(c->D + 64) * eps * (1 + ams);
        for (size_t t = 0; t < c->Dv; t++) {
            float y = a->o[i * a->ldo + t];
            if (isnan(o[t]))
                cr_assert(isnan(y), "%s %s Tq=%zu Tk=%zu D=%zu row %zu [%zu]: %.9g, want NaN",
                          k->isa, what, c->Tq, c->Tk, c->D, i, t, y);
            else
                cr_assert(fabs(y - o[t]) <= bo,
                          "%s %s Tq=%zu Tk=%zu D=%zu Dv=%zu row %zu [%zu]: %.9g, exact %.17g "
                          "(err %.3g, bound %.3g)",
                          k->isa, what, c->Tq, c->Tk, c->D, c->Dv, i, t, y, o[t], fabs(y - o[t]),
                          bo);
        }
        for (size_t t = c->Dv; t < a->ldo; t++)
            cr_assert(a->o[i * a->ldo + t] == 1234.5f, "%s %s: wrote past Dv", k->isa, what);
        if (a->w)
            for (size_t j = 0; j < c->Tk; j++) {
                float y = a->w[i * a->ldw + j];
                if (isnan(p[j]))
                    cr_assert(isnan(y), "%s %s weights row %zu [%zu]: %.9g, want NaN", k->isa,
                              what, i, j, y);
                else
                    cr_assert(fabs(y - p[j]) <= bw,
                              "%s %s weights Tq=%zu Tk=%zu D=%zu row %zu [%zu]: %.9g, exact %.17g",
                              k->isa, what, c->Tq, c->Tk, c->D, i, j, y, p[j]);
            }
    }
    free(s), free(p), free(o);
}

static const size_t heads[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128};

ParameterizedTestParameters(attention, head_sizes) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, attention, head_sizes)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng rng = {11};
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        att_case c;
        size_t T = 37 + 2 * h; /* odd */
        att_make(&c, &rng, T, T + 40, heads[h], heads[h], 0, 0, 1.0f);
        att_check(k, &c, "plain");
        att_free(&c);
        att_make(&c, &rng, T, T, heads[h], heads[h], M_CAUSAL, 1, 1.0f);
        att_check(k, &c, "causal+weights");
        att_free(&c);
    }
}

ParameterizedTestParameters(attention, lengths) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, attention, lengths)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng rng = {12};
    const size_t Ts[] = {1, 2, 5, 47, 48, 49, 63, 64, 65, 129, 201};
    for (size_t a = 0; a < sizeof Ts / sizeof Ts[0]; a++)
        for (size_t b = 0; b < sizeof Ts / sizeof Ts[0]; b += 2) {
            att_case c;
            att_make(&c, &rng, Ts[a], Ts[b], 24, 20, (a + b) % 2 ? M_CAUSAL : 0, b % 4 == 0, 1.5f);
            att_check(k, &c, "lengths");
            att_free(&c);
        }
    /* more query rows than a group of blocks that share a packed key block
     * (LAM__ATTN_QG x LAM__ATTN_QB), causal (the group's blocks end their
     * keys at different places) and not, a key-padding mask, Tq != Tk */
    const size_t big[][2] = {{800, 700}, {450, 450}, {390, 1000}};
    for (size_t a = 0; a < sizeof big / sizeof big[0]; a++)
        for (int causal = 0; causal < 2; causal++) {
            att_case c;
            att_make(&c, &rng, big[a][0], big[a][1], 24, 20, (causal ? M_CAUSAL : 0) | M_KADD, 0,
                     1.5f);
            att_check(k, &c, "groups");
            att_free(&c);
        }
    /* a long head (D past one packed chunk) with large scores */
    att_case c;
    att_make(&c, &rng, 70, 90, 300, 33, 0, 1, 2.0f);
    att_check(k, &c, "D=300");
    att_free(&c);
}

ParameterizedTestParameters(attention, masks) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, attention, masks)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng rng = {13};
    for (unsigned masks = 1; masks < 64; masks++)
        for (int wts = 0; wts < 2; wts++) {
            att_case c;
            att_make(&c, &rng, 53, 77, 16, 16, masks, wts, 1.0f);
            att_check(k, &c, "masks");
            /* rows 0 and Tq/2 dead: NaN, as PyTorch's softmax gives */
            if (masks & M_DEAD)
                cr_assert(isnan(c.o[0]) && isnan(c.o[(53 / 2) * c.a.ldo]), "%s: dead row not NaN",
                          k->isa);
            att_free(&c);
        }
    /* a score of +inf (additive mask) or NaN: the row is NaN */
    att_case c;
    att_make(&c, &rng, 9, 70, 8, 8, M_ADD, 0, 1.0f);
    c.add[3 * 70 + 65] = INFINITY;
    c.add[5 * 70 + 2] = NAN;
    att_check(k, &c, "inf/nan");
    cr_assert(isnan(c.o[3 * c.a.ldo]) && isnan(c.o[5 * c.a.ldo]) && !isnan(c.o[4 * c.a.ldo]));
    att_free(&c);
    /* no keys: zeros, as PyTorch's empty bmm */
    att_make(&c, &rng, 4, 0, 8, 8, 0, 0, 1.0f);
    att_check(k, &c, "Tk=0");
    cr_assert(c.o[0] == 0.0f);
    att_free(&c);
}

ParameterizedTestParameters(attention, row_ranges_same_bits) { return KT_ISA_PARAMS(); }
ParameterizedTest(int *isa, attention, row_ranges_same_bits)
{
    const lam__kernel_table *k;
    KT_TABLE_OR_SKIP(k, kt_isa_names[*isa]);
    kt_rng rng = {14};
    for (int wts = 0; wts < 2; wts++) {
        att_case c;
        const size_t T = 900; /* past two groups of blocks (no weights) */
        att_make(&c, &rng, T, T, 40, 40, M_CAUSAL | M_KADD, wts, 1.0f);
        k->attention(&c.a, 0, T);
        float *whole = malloc(T * c.a.ldo * sizeof(float));
        memcpy(whole, c.o, T * c.a.ldo * sizeof(float));
        for (size_t i = 0; i < T * c.a.ldo; i++)
            c.o[i] = 1234.5f;
        /* pieces of uneven sizes, in reverse order; each call writes only its rows */
        const size_t cuts[] = {0, 1, 7, 8, 55, 97, 149, 150, 500, 899, 900};
        for (size_t p = sizeof cuts / sizeof cuts[0] - 1; p-- > 0;) {
            k->attention(&c.a, cuts[p], cuts[p + 1]);
            for (size_t i = 0; i < cuts[p] * c.a.ldo; i++)
                cr_assert(c.o[i] == 1234.5f, "%s: rows below %zu written", k->isa, cuts[p]);
        }
        for (size_t i = 0; i < T * c.a.ldo; i++)
            cr_assert(c.o[i] == whole[i] || (isnan(c.o[i]) && isnan(whole[i])),
                      "%s weights=%d: [%zu] %.9g split, %.9g whole", k->isa, wts, i, c.o[i],
                      whole[i]);
        free(whole);
        att_free(&c);
    }
}
