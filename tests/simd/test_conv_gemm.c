/* The convolution GEMM (LAM_CONV_KERNELS in simd/kernel-list.h:
 * conv_packed_size, conv_pack, conv_gemm), every table this build and CPU
 * have, the scalar twin first:
 *   - every table against a float64 reference within the chain's bound, for
 *     every epilogue, over odd M (channel tails of each ISA's panels), N
 *     (pixel tails around every vector and strip width) and K (K blocks,
 *     K = 0);
 *   - every table bit-identical to the scalar twin for the exact epilogues
 *     (IDENTITY, RELU, RELU6, LEAKY_RELU), with B rows at odd offsets and
 *     overlapping (as the flat path's taps), the last row ending at an
 *     unreadable page (a read past N would fault), outputs outside [0, N)
 *     of each row untouched;
 *   - pixel splits (two calls, the second with a larger offset) giving the
 *     same bits as one call;
 *   - an infinite weight meeting a zero pixel gives NaN (no skipped taps);
 *   - conv_gemm_rows (pixel j to output row j / wp, column j % wp < ow):
 *     every table bit-identical to its own conv_gemm row by row and, for
 *     the exact epilogues, to the scalar twin, over widths whose rows end
 *     inside vectors, at their ends and across strips, with several rows
 *     per vector, masked tails and K blocks; nothing written in the gap
 *     columns, past the last row's pixels or outside [0, M) rows;
 *   - a residual addend (ep.add, laid out as y) goes in before the
 *     activation: every table against float64 act(chain + bias + add), and
 *     for the exact epilogues bit-identical to the same table's kernel
 *     without it, the scalar add kernel and then the scalar activation
 *     kernel; conv_gemm_rows with one bit-identical to its own conv_gemm
 *     row by row; the addend ending at an unreadable page (no read past
 *     the last output) and left unchanged. */
#include "config.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/simd/kt-gemm.h"
#include "tests/simd/kt-guard.h"

static const lam__kernel_table *tables[KT_MAX_TABLES];
static int ntables;
static void init_tables(void) { ntables = kt_gemm_tables(tables); }

static const lam_activation acts[] = {LAM_ACTIVATION_IDENTITY, LAM_ACTIVATION_RELU,
                                      LAM_ACTIVATION_LEAKY_RELU, LAM_ACTIVATION_RELU6,
                                      LAM_ACTIVATION_SIGMOID, LAM_ACTIVATION_TANH,
                                      LAM_ACTIVATION_GELU, LAM_ACTIVATION_GELU_TANH,
                                      LAM_ACTIVATION_SILU};
#define NACTS (sizeof acts / sizeof acts[0])

static int exact_act(lam_activation a)
{
    return a == LAM_ACTIVATION_IDENTITY || a == LAM_ACTIVATION_RELU ||
           a == LAM_ACTIVATION_RELU6 || a == LAM_ACTIVATION_LEAKY_RELU;
}


typedef struct ccase {
    size_t M, N, K, off, ldy;
    guarded src;
    const float **rows;
    float *W, *bias, *y, *y0;
} ccase;

/* Rows of B: row k at a pseudo-random position of one source (rows may
 * overlap), the last row ending exactly at the unreadable page. */
static void cc_make(ccase *c, kt_rng *r, size_t M, size_t N, size_t K, size_t off)
{
    c->M = M, c->N = N, c->K = K, c->off = off, c->ldy = N + 3;
    size_t span = off + N, nb = span + 3 * K + 64;
    c->src = guarded_alloc(nb);
    for (size_t i = 0; i < nb; i++)
        c->src.x[i] = kt_uniform(r, -1, 1);
    c->rows = malloc((K + 1) * sizeof *c->rows);
    for (size_t k = 0; k < K; k++)
        c->rows[k] = k + 1 == K ? c->src.x + nb - span : c->src.x + (kt_next(r) % (nb - span + 1));
    c->W = malloc((M * K + 1) * sizeof(float));
    for (size_t i = 0; i < M * K; i++)
        c->W[i] = kt_uniform(r, -1, 1);
    c->bias = malloc((M + 1) * sizeof(float));
    for (size_t i = 0; i < M; i++)
        c->bias[i] = kt_uniform(r, -1, 1);
    c->y = malloc((M * c->ldy + 1) * sizeof(float));
    c->y0 = malloc((M * c->ldy + 1) * sizeof(float));
}

static void cc_free(ccase *c)
{
    kt_guard_free(c->src);
    free(c->rows), free(c->W), free(c->bias), free(c->y), free(c->y0);
}

static float *cc_pack(const lam__kernel_table *k, const ccase *c)
{
    float *p = malloc((k->conv_packed_size(c->M, c->K) + 1) * sizeof(float));
    k->conv_pack(c->M, c->K, c->W, p);
    return p;
}

/* Run with y poisoned (-7: outside [0, N) of each row must stay so). */
static void cc_run(const lam__kernel_table *k, ccase *c, const float *packed, const float *bias,
                   lam__epilogue ep, float *y)
{
    for (size_t i = 0; i < c->M * c->ldy; i++)
        y[i] = -7.0f;
    k->conv_gemm(c->M, c->N, c->K, packed, c->rows, c->off, bias, y, c->ldy, ep);
    for (size_t m = 0; m < c->M; m++)
        for (size_t j = c->N; j < c->ldy; j++)
            cr_assert(y[m * c->ldy + j] == -7.0f, "%s conv_gemm wrote y[%zu][%zu] (N=%zu)",
                      k->isa, m, j, c->N);
}

static void cc_check_ref(const lam__kernel_table *k, const ccase *c, const float *bias,
                         lam__epilogue ep, const float *y)
{
    for (size_t m = 0; m < c->M; m++)
        for (size_t j = 0; j < c->N; j++) {
            double acc = bias ? bias[m] : 0.0, mag = bias ? fabs(bias[m]) : 0.0;
            for (size_t kk = 0; kk < c->K; kk++) {
                double p = (double)c->W[m * c->K + kk] * c->rows[kk][c->off + j];
                acc += p;
                mag += fabs(p);
            }
            double r = kt_ref_act(ep.act, ep.alpha, acc);
            double tol = 1.2 * (double)(c->K + 2) * FLT_EPSILON * mag + 4 * kt_ulp_at(r) + 5e-7;
            float v = y[m * c->ldy + j];
            cr_assert(fabs(v - r) <= tol, "%s conv_gemm M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, exact %.9g",
                      k->isa, c->M, c->N, c->K, (int)ep.act, m, j, v, r);
        }
}

Test(conv_gemm, every_table_against_float64_and_the_scalar_twin, .init = init_tables)
{
    const size_t Ms[] = {1, 3, 4, 5, 8, 13, 16, 64, 70};
    const size_t Ns[] = {1, 3, 4, 7, 8, 12, 15, 16, 17, 24, 25, 31, 47, 48, 49, 100, 131};
    const size_t Ks[] = {0, 1, 2, 7, 25, 127, 128, 129, 300};
    kt_rng r = {29};
    const lam__kernel_table *sc = kt_scalar();
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
            for (size_t ni = (mi + ki) % 3; ni < sizeof Ns / sizeof Ns[0]; ni += 3) {
                ccase c;
                cc_make(&c, &r, Ms[mi], Ns[ni], Ks[ki], (mi * 7 + ni) % 5);
                float *ps = cc_pack(sc, &c);
                for (int t = 0; t < ntables; t++) {
                    const lam__kernel_table *k = tables[t];
                    float *pk = cc_pack(k, &c);
                    for (size_t a = 0; a < NACTS; a++) {
                        lam__epilogue ep = {.act = acts[a], .alpha = 0.1f};
                        const float *bias = (a + ni) % 2 ? NULL : c.bias;
                        cc_run(k, &c, pk, bias, ep, c.y);
                        cc_check_ref(k, &c, bias, ep, c.y);
                        if (t == 0 || !exact_act(acts[a]))
                            continue;
                        cc_run(sc, &c, ps, bias, ep, c.y0);
                        for (size_t i = 0; i < c.M * c.ldy; i++)
                            cr_assert(kt_same_bits(c.y[i], c.y0[i]),
                                      "%s conv_gemm M=%zu N=%zu K=%zu act=%d: y[%zu] %.9g, scalar %.9g",
                                      k->isa, c.M, c.N, c.K, (int)ep.act, i, c.y[i], c.y0[i]);
                    }
                    free(pk);
                }
                free(ps);
                cc_free(&c);
            }
}

Test(conv_gemm, pixel_splits_are_bit_identical, .init = init_tables)
{
    kt_rng r = {31};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        ccase c;
        cc_make(&c, &r, 19, 157, 140, 2);
        float *pk = cc_pack(k, &c);
        lam__epilogue ep = {.act = LAM_ACTIVATION_SILU, .alpha = 0.0f};
        cc_run(k, &c, pk, c.bias, ep, c.y0);
        const size_t cuts[] = {1, 5, 16, 33, 48, 100, 156};
        for (size_t s = 0; s < sizeof cuts / sizeof cuts[0]; s++) {
            size_t n1 = cuts[s];
            for (size_t i = 0; i < c.M * c.ldy; i++)
                c.y[i] = -7.0f;
            k->conv_gemm(c.M, n1, c.K, pk, c.rows, c.off, c.bias, c.y, c.ldy, ep);
            k->conv_gemm(c.M, c.N - n1, c.K, pk, c.rows, c.off + n1, c.bias, c.y + n1, c.ldy, ep);
            for (size_t i = 0; i < c.M * c.ldy; i++)
                cr_assert(kt_same_bits(c.y[i], c.y0[i]), "%s split at %zu: y[%zu] %.9g vs %.9g",
                          k->isa, n1, i, c.y[i], c.y0[i]);
        }
        free(pk);
        cc_free(&c);
    }
}

Test(conv_gemm, inf_weight_times_zero_is_nan, .init = init_tables)
{
    kt_rng r = {37};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        ccase c;
        cc_make(&c, &r, 9, 20, 5, 0);
        c.W[2 * c.K + 3] = INFINITY; /* channel 2, tap 3 */
        float *zero = calloc(40, sizeof(float));
        c.rows[3] = zero;
        float *pk = cc_pack(k, &c);
        lam__epilogue ep = {.act = LAM_ACTIVATION_RELU, .alpha = 0.0f};
        cc_run(k, &c, pk, c.bias, ep, c.y);
        for (size_t m = 0; m < c.M; m++)
            for (size_t j = 0; j < c.N; j++)
                cr_assert(isnan(c.y[m * c.ldy + j]) == (m == 2), "%s [%zu,%zu] %g", k->isa, m, j,
                          c.y[m * c.ldy + j]);
        free(pk);
        free(zero);
        cc_free(&c);
    }
}

/* K past every ISA's K block (the chains continue from the stored floats)
 * and more pixels than two strips (the next strip's prefetch): the scalar
 * twin's bits. */
Test(conv_gemm, long_k_and_many_strips_match_the_scalar_twin, .init = init_tables)
{
    kt_rng r = {41};
    const lam__kernel_table *sc = kt_scalar();
    ccase c;
    cc_make(&c, &r, 11, 203, 2100, 1);
    float *ps = cc_pack(sc, &c);
    lam__epilogue ep = {.act = LAM_ACTIVATION_RELU, .alpha = 0.0f};
    cc_run(sc, &c, ps, c.bias, ep, c.y0);
    cc_check_ref(sc, &c, c.bias, ep, c.y0);
    for (int t = 1; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        float *pk = cc_pack(k, &c);
        cc_run(k, &c, pk, c.bias, ep, c.y);
        for (size_t i = 0; i < c.M * c.ldy; i++)
            cr_assert(kt_same_bits(c.y[i], c.y0[i]), "%s K=%zu: y[%zu] %.9g, scalar %.9g",
                      k->isa, c.K, i, c.y[i], c.y0[i]);
        free(pk);
    }
    free(ps);
    cc_free(&c);
}

/* conv_gemm_rows' expected output: conv_gemm of table k once per output
 * row, into y poisoned with -7 (the gaps and the rest stay so). */
static void rows_expect(const lam__kernel_table *k, const ccase *c, const float *packed,
                        const float *bias, lam__epilogue ep, size_t wp, size_t ow, float *y)
{
    for (size_t i = 0; i < c->M * c->ldy; i++)
        y[i] = -7.0f;
    for (size_t j = 0; j < c->N; j += wp)
        k->conv_gemm(c->M, c->N - j < ow ? c->N - j : ow, c->K, packed, c->rows, c->off + j,
                     bias, y + j / wp * ow, c->ldy, ep);
}

Test(conv_gemm, rows_geometry_matches_conv_gemm_row_by_row, .init = init_tables)
{
    /* (wp, ow): several rows per vector, rows ending inside and at vector
     * and strip ends (16, 48 of AVX-512; 8, 24 of AVX2; 4, 12 of NEON) */
    const size_t geo[][2] = {{1, 1},   {3, 1},   {3, 2},   {5, 5},   {7, 4},   {9, 8},
                             {16, 15}, {17, 16}, {18, 16}, {20, 3},  {26, 24}, {33, 31},
                             {50, 48}, {58, 56}, {60, 1},  {130, 128}};
    const size_t Ms[] = {1, 5, 8, 13, 64};
    const size_t Ks[] = {1, 9, 130, 1100};
    kt_rng r = {41};
    const lam__kernel_table *sc = kt_scalar();
    size_t n = 0;
    for (size_t gi = 0; gi < sizeof geo / sizeof geo[0]; gi++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++, n++) {
            size_t wp = geo[gi][0], ow = geo[gi][1], K = Ks[ki];
            size_t M = Ks[ki] > 200 ? Ms[n % 3] : Ms[n % 5];
            /* whole rows, a last row cut inside its pixels or in its gap */
            size_t nrows = 1 + n % 4, cut = (n * 7) % (wp + 1);
            size_t N = nrows * wp - (cut < nrows * wp ? cut : 0);
            ccase c;
            cc_make(&c, &r, M, N, K, n % 5);
            float *ps = cc_pack(sc, &c);
            for (int t = 0; t < ntables; t++) {
                const lam__kernel_table *k = tables[t];
                float *pk = cc_pack(k, &c);
                for (size_t a = 0; a < NACTS; a += 1 + (K > 200)) {
                    lam__epilogue ep = {.act = acts[a], .alpha = 0.1f};
                    const float *bias = (a + n) % 2 ? NULL : c.bias;
                    rows_expect(k, &c, pk, bias, ep, wp, ow, c.y0);
                    for (size_t i = 0; i < c.M * c.ldy; i++)
                        c.y[i] = -7.0f;
                    k->conv_gemm_rows(c.M, c.N, c.K, pk, c.rows, c.off, bias, c.y, c.ldy, ep,
                                      wp, ow);
                    for (size_t i = 0; i < c.M * c.ldy; i++)
                        cr_assert(kt_same_bits(c.y[i], c.y0[i]),
                                  "%s conv_gemm_rows M=%zu N=%zu K=%zu wp=%zu ow=%zu act=%d: "
                                  "y[%zu] %.9g, conv_gemm row by row %.9g",
                                  k->isa, c.M, c.N, c.K, wp, ow, (int)ep.act, i, c.y[i], c.y0[i]);
                    if (t == 0 || !exact_act(acts[a]))
                        continue;
                    for (size_t i = 0; i < c.M * c.ldy; i++)
                        c.y0[i] = -7.0f;
                    sc->conv_gemm_rows(c.M, c.N, c.K, ps, c.rows, c.off, bias, c.y0, c.ldy, ep,
                                       wp, ow);
                    for (size_t i = 0; i < c.M * c.ldy; i++)
                        cr_assert(kt_same_bits(c.y[i], c.y0[i]),
                                  "%s conv_gemm_rows M=%zu N=%zu K=%zu wp=%zu ow=%zu act=%d: "
                                  "y[%zu] %.9g, scalar %.9g",
                                  k->isa, c.M, c.N, c.K, wp, ow, (int)ep.act, i, c.y[i], c.y0[i]);
                }
                free(pk);
            }
            free(ps);
            cc_free(&c);
        }
}

/* ---- Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms ------------- */

static const double wg_bt4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0},
                                    {0, 4, -4, -1, 1, 0}, {0, -2, -1, 2, 1, 0},
                                    {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double wg_at4[4][6] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
static const double wg_bt2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double wg_at2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

static double wg_bt(int m, int i, int a) { return m == 4 ? wg_bt4[i][a] : wg_bt2[i][a]; }
static double wg_at(int m, int i, int a) { return m == 4 ? wg_at4[i][a] : wg_at2[i][a]; }

/* Every table, both tile sizes (wino_in / wino_out with tiles of 4 x 4
 * outputs, wino2_in / wino2_out with 2 x 2): the input transform in both
 * layouts (patches gathered, ts = 1; tiles side by side in padded rows, ts
 * = m) and the output transform, over tile counts around every vector
 * width, against B^T d B and A^T m A in float64 (within a few ulps of the
 * terms' magnitudes) and bit-identical to the scalar twin; nothing outside
 * [0, n) of each output row written; the inputs' last floats at an
 * unreadable page (a read past what the contract allows would fault). */
Test(conv_gemm, winograd_transforms_against_float64_and_the_scalar_twin, .init = init_tables)
{
    kt_rng r = {77};
    static const size_t ns[] = {1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 50};
    for (int m = 4; m >= 2; m -= 2) {
        const int al = m + 2, ne = al * al;
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            size_t n = ns[ni], vs = n + 5;
            for (int layout = 0; layout < 2; layout++) {
                /* gathered (rs = al ds, cs = ds, ts = 1) or rows (rs, 1, m) */
                size_t ds = n + 2, rs = layout ? (size_t)m * n + 9 : (size_t)al * ds;
                size_t cs = layout ? 1 : ds, ts = layout ? (size_t)m : 1;
                /* up to the last float a read may touch */
                size_t len = layout ? (size_t)(al - 1) * rs + (size_t)m * n + (m == 4 ? 5 : 3)
                                    : (size_t)(ne - 1) * ds + n;
                guarded src = guarded_alloc(len);
                float *d = src.x;
                for (size_t i = 0; i < len; i++)
                    d[i] = kt_uniform(&r, -2.0f, 2.0f);
                float *v0 = malloc(sizeof(float) * 36 * vs), *v = malloc(sizeof(float) * 36 * vs);
                cr_assert(v0 && v);
                for (int ti = 0; ti < ntables; ti++) {
                    const lam__kernel_table *k = tables[ti];
                    float *out = ti ? v : v0;
                    for (size_t i = 0; i < 36 * vs; i++)
                        out[i] = -7.0f;
                    (m == 4 ? k->wino_in : k->wino2_in)(n, d, rs, cs, ts, out, vs);
                    int bad = 0;
                    for (size_t t = 0; t < n; t++)
                        for (int i = 0; i < al; i++)
                            for (int jj = 0; jj < al; jj++) {
                                double want = 0, mag = 0;
                                for (int a = 0; a < al; a++)
                                    for (int b = 0; b < al; b++) {
                                        double x = d[a * rs + b * cs + t * ts];
                                        want += wg_bt(m, i, a) * x * wg_bt(m, jj, b);
                                        mag += fabs(wg_bt(m, i, a) * x * wg_bt(m, jj, b));
                                    }
                                float got = out[(i * al + jj) * vs + t];
                                if (!(fabs(got - want) <= 16 * 0x1p-24 * mag + 1e-30) &&
                                    bad++ < 3)
                                    cr_expect(0, "%s wino%s_in n %zu layout %d tile %zu (%d, %d): "
                                              "%.9g, expected %.9g", k->isa, m == 4 ? "" : "2", n,
                                              layout, t, i, jj, got, want);
                                if (ti && !kt_same_bits(got, v0[(i * al + jj) * vs + t]) &&
                                    bad++ < 3)
                                    cr_expect(0, "%s wino%s_in n %zu layout %d: not the scalar "
                                              "twin's bits", k->isa, m == 4 ? "" : "2", n, layout);
                            }
                    for (int e = 0; e < 36; e++)
                        for (size_t t = e < ne ? n : 0; t < vs; t++)
                            cr_expect(out[e * vs + t] == -7.0f, "%s wino%s_in wrote past n",
                                      k->isa, m == 4 ? "" : "2");
                }
                free(v0);
                free(v);
                kt_guard_free(src);
            }
            /* the output transform: m[(i al + j) ms + t] -> q[(a m + b) qs + t] */
            size_t ms = n + 1, qs = n + 4, len = (size_t)(ne - 1) * ms + n;
            guarded src = guarded_alloc(len);
            float *mm = src.x;
            for (size_t i = 0; i < len; i++)
                mm[i] = kt_uniform(&r, -3.0f, 3.0f);
            float *q0 = malloc(sizeof(float) * 16 * qs), *q = malloc(sizeof(float) * 16 * qs);
            cr_assert(q0 && q);
            for (int ti = 0; ti < ntables; ti++) {
                const lam__kernel_table *k = tables[ti];
                float *out = ti ? q : q0;
                for (size_t i = 0; i < 16 * qs; i++)
                    out[i] = -7.0f;
                (m == 4 ? k->wino_out : k->wino2_out)(n, mm, ms, out, qs);
                int bad = 0;
                for (size_t t = 0; t < n; t++)
                    for (int a = 0; a < m; a++)
                        for (int b = 0; b < m; b++) {
                            double want = 0, mag = 0;
                            for (int i = 0; i < al; i++)
                                for (int jj = 0; jj < al; jj++) {
                                    double x = mm[(i * al + jj) * ms + t];
                                    want += wg_at(m, a, i) * x * wg_at(m, b, jj);
                                    mag += fabs(wg_at(m, a, i) * x * wg_at(m, b, jj));
                                }
                            float got = out[(a * m + b) * qs + t];
                            if (!(fabs(got - want) <= 16 * 0x1p-24 * mag + 1e-30) && bad++ < 3)
                                cr_expect(0, "%s wino%s_out n %zu tile %zu (%d, %d): %.9g, "
                                          "expected %.9g", k->isa, m == 4 ? "" : "2", n, t, a, b,
                                          got, want);
                            if (ti && !kt_same_bits(got, q0[(a * m + b) * qs + t]) && bad++ < 3)
                                cr_expect(0, "%s wino%s_out n %zu: not the scalar twin's bits",
                                          k->isa, m == 4 ? "" : "2", n);
                        }
                for (int e = 0; e < 16; e++)
                    for (size_t t = e < m * m ? n : 0; t < qs; t++)
                        cr_expect(out[e * qs + t] == -7.0f, "%s wino%s_out wrote past n", k->isa,
                                  m == 4 ? "" : "2");
            }
            free(q0);
            free(q);
            kt_guard_free(src);
        }
    }
}

/* wino_store (wino2_store): every table writes exactly y[a ys + m t + b] =
 * q[(a m + b) qs + t] for a < ra, m t + b < wl, m = 4 (2) (whole vectors,
 * the stack-buffered rest, a short last row set), every bit kept (NaN
 * payloads, -0), nothing else touched; q's last float at an unreadable
 * page. */
Test(conv_gemm, winograd_store_interleaves_exactly, .init = init_tables)
{
    kt_rng r = {91};
    static const size_t ns[] = {1, 2, 4, 7, 14, 16, 17, 33, 40};
    for (size_t m = 4; m >= 2; m -= 2)
    for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
        for (size_t ra = 1; ra <= m; ra++)
            for (int cut = 0; cut < 3; cut++) {
                size_t n = ns[ni], qs = n + 3, ys = m * n + 5;
                size_t wl = cut == 0 ? m * n : cut == 1 ? m * n - 1 - (n > 1) : m * n - m + 1;
                size_t len = (m * m - 1) * qs + n;
                guarded src = guarded_alloc(len);
                float *q = src.x;
                for (size_t i = 0; i < len; i++)
                    q[i] = kt_uniform(&r, -1.0f, 1.0f);
                q[0] = -0.0f;
                uint32_t nan = 0x7fc01234u;
                memcpy(&q[qs + n - 1], &nan, sizeof nan);
                float *y = malloc(sizeof(float) * 4 * ys);
                cr_assert(y);
                for (int ti = 0; ti < ntables; ti++) {
                    const lam__kernel_table *k = tables[ti];
                    for (size_t i = 0; i < 4 * ys; i++)
                        y[i] = 99.0f;
                    (m == 4 ? k->wino_store : k->wino2_store)(n, q, qs, y, ys, ra, wl);
                    int bad = 0;
                    for (size_t a = 0; a < 4; a++)
                        for (size_t x = 0; x < ys; x++) {
                            float want =
                                a < ra && x < wl ? q[(a * m + x % m) * qs + x / m] : 99.0f;
                            if (!kt_same_bits(y[a * ys + x], want) && bad++ < 3)
                                cr_expect(0, "%s wino%s_store n %zu ra %zu wl %zu: y[%zu][%zu] "
                                          "= %g, expected %g", k->isa, m == 4 ? "" : "2", n, ra,
                                          wl, a, x, y[a * ys + x], want);
                        }
                }
                free(y);
                kt_guard_free(src);
            }
}

/* The unfused residual: y = act(y + r) by the scalar table's add and
 * activation kernels (n floats). */
static void unfused_residual(lam__epilogue ep, const float *r, float *y, size_t n)
{
    const lam__kernel_table *sc = kt_scalar();
    sc->add(n, y, r, y);
    switch (ep.act) {
    case LAM_ACTIVATION_RELU: sc->relu(n, y, y); break;
    case LAM_ACTIVATION_RELU6: sc->relu6(n, y, y); break;
    case LAM_ACTIVATION_LEAKY_RELU: sc->leaky_relu(n, y, y, ep.alpha); break;
    default: break;
    }
}

Test(conv_gemm, a_residual_addend_goes_in_before_the_activation, .init = init_tables)
{
    const size_t Ms[] = {1, 5, 8, 13, 70};
    const size_t Ns[] = {1, 7, 16, 17, 47, 48, 49, 100, 131};
    const size_t Ks[] = {0, 3, 64, 1100};
    kt_rng r = {53};
    size_t n = 0;
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
        for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++)
            for (size_t ni = (mi + ki) % 2; ni < sizeof Ns / sizeof Ns[0]; ni += 2, n++) {
                ccase c;
                cc_make(&c, &r, Ms[mi], Ns[ni], Ks[ki], n % 5);
                /* the addend: rows of ldy as y, its last output the last float
                 * before an unreadable page */
                size_t na = (c.M - 1) * c.ldy + c.N;
                guarded add = guarded_alloc(na);
                for (size_t i = 0; i < na; i++)
                    add.x[i] = kt_uniform(&r, -1.5, 1.5);
                float *keep = malloc(na * sizeof(float));
                memcpy(keep, add.x, na * sizeof(float));
                for (int t = 0; t < ntables; t++) {
                    const lam__kernel_table *k = tables[t];
                    float *pk = cc_pack(k, &c);
                    for (size_t a = 0; a < NACTS; a++) {
                        const float *bias = (a + n) % 2 ? NULL : c.bias;
                        lam__epilogue ep = {.act = acts[a], .alpha = 0.1f, .add = add.x,
                                            .ldadd = c.ldy};
                        cc_run(k, &c, pk, bias, ep, c.y);
                        cr_assert(memcmp(keep, add.x, na * sizeof(float)) == 0,
                                  "%s conv_gemm changed its addend", k->isa);
                        for (size_t m = 0; m < c.M; m++)
                            for (size_t j = 0; j < c.N; j++) {
                                double acc = (bias ? bias[m] : 0.0) + add.x[m * c.ldy + j];
                                double mag = fabs(acc);
                                for (size_t kk = 0; kk < c.K; kk++) {
                                    double p = (double)c.W[m * c.K + kk] * c.rows[kk][c.off + j];
                                    acc += p;
                                    mag += fabs(p);
                                }
                                double e = kt_ref_act(ep.act, ep.alpha, acc);
                                double tol = 1.2 * (double)(c.K + 3) * FLT_EPSILON * mag +
                                             4 * kt_ulp_at(e) + 5e-7;
                                float v = c.y[m * c.ldy + j];
                                cr_assert(fabs(v - e) <= tol,
                                          "%s conv_gemm + addend M=%zu N=%zu K=%zu act=%d "
                                          "[%zu,%zu]: %.9g, exact %.9g",
                                          k->isa, c.M, c.N, c.K, (int)ep.act, m, j, v, e);
                            }
                        if (!exact_act(acts[a]))
                            continue;
                        lam__epilogue plain = {.act = LAM_ACTIVATION_IDENTITY};
                        cc_run(k, &c, pk, bias, plain, c.y0);
                        for (size_t m = 0; m < c.M; m++)
                            unfused_residual(ep, add.x + m * c.ldy, c.y0 + m * c.ldy, c.N);
                        for (size_t i = 0; i < c.M * c.ldy; i++)
                            cr_assert(kt_same_bits(c.y[i], c.y0[i]),
                                      "%s conv_gemm + addend M=%zu N=%zu K=%zu act=%d: y[%zu] "
                                      "%.9g, unfused %.9g",
                                      k->isa, c.M, c.N, c.K, (int)ep.act, i, c.y[i], c.y0[i]);
                    }
                    free(pk);
                }
                free(keep);
                kt_guard_free(add);
                cc_free(&c);
            }
    /* conv_gemm_rows: the addend read where the outputs go (rows of ow,
     * the gap columns not), as conv_gemm row by row */
    const size_t geo[][2] = {{3, 2}, {7, 4}, {9, 8}, {17, 16}, {18, 16}, {26, 24}, {50, 48},
                             {60, 1}};
    for (size_t gi = 0; gi < sizeof geo / sizeof geo[0]; gi++) {
        size_t wp = geo[gi][0], ow = geo[gi][1], K = gi % 2 ? 1100 : 9, M = gi % 3 ? 13 : 8;
        size_t nrows = 1 + gi % 4, N = nrows * wp - (gi % 2 ? wp - ow : 0);
        ccase c;
        cc_make(&c, &r, M, N, K, gi % 5);
        size_t na = (c.M - 1) * c.ldy + nrows * ow; /* to a row's last output */
        guarded add = guarded_alloc(na);
        for (size_t i = 0; i < na; i++)
            add.x[i] = kt_uniform(&r, -1.5, 1.5);
        for (int t = 0; t < ntables; t++) {
            const lam__kernel_table *k = tables[t];
            float *pk = cc_pack(k, &c);
            for (size_t a = 0; a < NACTS; a += 2) {
                const float *bias = (a + gi) % 2 ? NULL : c.bias;
                lam__epilogue ep = {.act = acts[a], .alpha = 0.1f, .add = add.x, .ldadd = c.ldy};
                for (size_t i = 0; i < c.M * c.ldy; i++)
                    c.y0[i] = -7.0f;
                for (size_t j = 0; j < c.N; j += wp) {
                    lam__epilogue e = ep;
                    e.add += j / wp * ow;
                    k->conv_gemm(c.M, c.N - j < ow ? c.N - j : ow, c.K, pk, c.rows, c.off + j,
                                 bias, c.y0 + j / wp * ow, c.ldy, e);
                }
                for (size_t i = 0; i < c.M * c.ldy; i++)
                    c.y[i] = -7.0f;
                k->conv_gemm_rows(c.M, c.N, c.K, pk, c.rows, c.off, bias, c.y, c.ldy, ep, wp, ow);
                for (size_t i = 0; i < c.M * c.ldy; i++)
                    cr_assert(kt_same_bits(c.y[i], c.y0[i]),
                              "%s conv_gemm_rows + addend M=%zu N=%zu K=%zu wp=%zu ow=%zu "
                              "act=%d: y[%zu] %.9g, conv_gemm row by row %.9g",
                              k->isa, c.M, c.N, c.K, wp, ow, (int)ep.act, i, c.y[i], c.y0[i]);
            }
            free(pk);
        }
        kt_guard_free(add);
        cc_free(&c);
    }
}
