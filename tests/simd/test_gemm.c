/* GEMM (y = act(x W^T + bias)): exact small-integer cases, an elementwise
 * error bound against a float64 reference for many shapes (tails in M, N
 * and K, K blocks, every epilogue), column ranges and row splits that must
 * give the same bits, strides with poisoned padding, NaN propagation. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#include "tests/simd/kt-gemm.h"

/* Every table this build and CPU can run, the scalar twin first. */
static const lam__kernel_table *tables[KT_MAX_TABLES];
static int ntables;
static void init_tables(void) { ntables = kt_gemm_tables(tables); }

typedef struct gemm_case {
    size_t M, N, K, ldx, ldy;
    float *x, *W, *bias, *packed, *y;
} gemm_case;

static void gc_alloc(gemm_case *g, const lam__kernel_table *k, size_t M, size_t N, size_t K, size_t padx,
                     size_t pady)
{
    g->M = M, g->N = N, g->K = K, g->ldx = K + padx, g->ldy = N + pady;
    g->x = malloc((M * g->ldx + 1) * sizeof(float));
    g->W = malloc((N * K + 1) * sizeof(float));
    g->bias = malloc((N + 1) * sizeof(float));
    g->packed = malloc((k->gemm_packed_size(N, K) + 1) * sizeof(float));
    g->y = malloc((M * g->ldy + 1) * sizeof(float));
    /* padding of x is poison: a kernel that reads it produces NaN */
    for (size_t i = 0; i < M * g->ldx; i++)
        g->x[i] = NAN;
}

static void gc_free(gemm_case *g)
{
    free(g->x), free(g->W), free(g->bias), free(g->packed), free(g->y);
}

static void gc_fill(gemm_case *g, kt_rng *r, int ints)
{
    for (size_t m = 0; m < g->M; m++)
        for (size_t k = 0; k < g->K; k++)
            g->x[m * g->ldx + k] = ints ? (float)((int)(kt_next(r) % 9) - 4) : kt_uniform(r, -1, 1);
    for (size_t i = 0; i < g->N * g->K; i++)
        g->W[i] = ints ? (float)((int)(kt_next(r) % 9) - 4) : kt_uniform(r, -1, 1);
    for (size_t i = 0; i < g->N; i++)
        g->bias[i] = ints ? (float)((int)(kt_next(r) % 9) - 4) : kt_uniform(r, -1, 1);
}

static void gc_run(const lam__kernel_table *k, gemm_case *g, const float *bias, lam__epilogue ep,
                   size_t nb, size_t ne)
{
    k->gemm(g->M, g->N, g->K, g->x, g->ldx, g->packed, bias, g->y, g->ldy, ep, nb, ne);
}

static const lam_activation all_acts[] = {LAM_ACTIVATION_IDENTITY, LAM_ACTIVATION_RELU, LAM_ACTIVATION_LEAKY_RELU,
                                   LAM_ACTIVATION_RELU6, LAM_ACTIVATION_SIGMOID, LAM_ACTIVATION_TANH,
                                   LAM_ACTIVATION_GELU, LAM_ACTIVATION_GELU_TANH, LAM_ACTIVATION_SILU};

/* |y - act(exact)| <= L (K + 2) eps (sum |x w| + |b|) + the activation's own
 * error (4 ULP or 5e-7), L = 1.2 bounds every activation's slope. */
static void gc_check(const lam__kernel_table *k, gemm_case *g, const float *bias, lam__epilogue ep,
                     size_t nb, size_t ne)
{
    for (size_t m = 0; m < g->M; m++)
        for (size_t n = nb; n < ne; n++) {
            double acc = bias ? bias[n] : 0.0, mag = bias ? fabs(bias[n]) : 0.0;
            for (size_t kk = 0; kk < g->K; kk++) {
                double p = (double)g->x[m * g->ldx + kk] * g->W[n * g->K + kk];
                acc += p;
                mag += fabs(p);
            }
            double r = kt_ref_act(ep.act, ep.alpha, acc);
            double tol = 1.2 * (double)(g->K + 2) * FLT_EPSILON * mag + 4 * kt_ulp_at(r) + 5e-7;
            float y = g->y[m * g->ldy + n];
            cr_assert(fabs(y - r) <= tol, "%s gemm M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, exact %.9g",
                      k->isa, g->M, g->N, g->K, (int)ep.act, m, n, y, r);
        }
}

Test(gemm, exact_small_case, .init = init_tables)
{
    /* y = relu(x W^T + b) worked by hand */
    const float x[2 * 3] = {1, 2, 3, 4, 5, 6};
    const float W[2 * 3] = {1, 0, -1, 2, 1, 0};
    const float b[2] = {0.5f, -1};
    const float expect_none[4] = {-1.5f, 3, -1.5f, 12}, expect_relu[4] = {0, 3, 0, 12};
    float packed[64 * 3], y[4];
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        cr_assert(k->gemm_packed_size(2, 3) <= 64 * 3);
        k->gemm_pack(2, 3, W, packed);
        k->gemm(2, 2, 3, x, 3, packed, b, y, 2, (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY, .alpha = 0}, 0, 2);
        for (int i = 0; i < 4; i++)
            cr_assert(y[i] == expect_none[i], "%s y[%d] = %g", k->isa, i, y[i]);
        k->gemm(2, 2, 3, x, 3, packed, b, y, 2, (lam__epilogue){.act = LAM_ACTIVATION_RELU, .alpha = 0}, 0, 2);
        for (int i = 0; i < 4; i++)
            cr_assert(y[i] == expect_relu[i], "%s relu y[%d] = %g", k->isa, i, y[i]);
        /* K = 0: y = act(bias) */
        k->gemm(2, 2, 0, x, 3, packed, b, y, 2, (lam__epilogue){.act = LAM_ACTIVATION_RELU, .alpha = 0}, 0, 2);
        cr_assert(y[0] == 0.5f && y[1] == 0 && y[2] == 0.5f && y[3] == 0, "%s K=0", k->isa);
    }
}

/* Small integers: every partial sum is exact in float, so y must equal the
 * integer result exactly, for every shape, path and tail. */
Test(gemm, exact_integers, .init = init_tables)
{
    const size_t Ms[] = {1, 2, 3, 6, 7, 13}, Ns[] = {1, 5, 16, 17, 40}, Ks[] = {1, 3, 255, 256, 257, 700};
    kt_rng r = {5};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        for (size_t a = 0; a < 6; a++)
            for (size_t b = 0; b < 5; b++)
                for (size_t c = 0; c < 6; c++) {
                    gemm_case g;
                    gc_alloc(&g, k, Ms[a], Ns[b], Ks[c], 3, 2);
                    gc_fill(&g, &r, 1);
                    k->gemm_pack(g.N, g.K, g.W, g.packed);
                    gc_run(k, &g, g.bias, (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY, .alpha = 0}, 0, g.N);
                    for (size_t m = 0; m < g.M; m++)
                        for (size_t n = 0; n < g.N; n++) {
                            long s = (long)g.bias[n];
                            for (size_t kk = 0; kk < g.K; kk++)
                                s += (long)g.x[m * g.ldx + kk] * (long)g.W[n * g.K + kk];
                            cr_assert(g.y[m * g.ldy + n] == (float)s, "%s M=%zu N=%zu K=%zu [%zu,%zu]: %g != %ld",
                                      k->isa, g.M, g.N, g.K, m, n, g.y[m * g.ldy + n], s);
                        }
                    gc_free(&g);
                }
    }
}

Test(gemm, shapes_and_epilogues, .init = init_tables)
{
    const size_t shapes[][3] = {
        {1, 1, 1},    {1, 10, 50},   {1, 50, 10},   {1, 64, 64},  {1, 100, 300}, {2, 33, 17},
        {2, 64, 257}, {3, 7, 5},     {4, 16, 16},   {5, 31, 100}, {6, 16, 256},  {7, 17, 257},
        {12, 48, 64}, {13, 50, 513}, {17, 3, 2},    {64, 70, 33}, {100, 33, 300}, {97, 129, 600},
        {200, 20, 40},
    };
    kt_rng r = {11};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gemm_case g;
            gc_alloc(&g, k, shapes[s][0], shapes[s][1], shapes[s][2], s % 3, s % 2 * 5);
            gc_fill(&g, &r, 0);
            k->gemm_pack(g.N, g.K, g.W, g.packed);
            for (size_t a = 0; a < sizeof all_acts / sizeof all_acts[0]; a++) {
                lam__epilogue ep = {.act = all_acts[a], .alpha = 0.1f};
                const float *bias = a % 2 ? NULL : g.bias;
                gc_run(k, &g, bias, ep, 0, g.N);
                gc_check(k, &g, bias, ep, 0, g.N);
            }
            gc_free(&g);
        }
    }
}

/* Column ranges and row splits give the same bits as one call, and never
 * write outside [n_begin, n_end) or into the ldy padding. */
Test(gemm, ranges_and_splits_are_bit_identical, .init = init_tables)
{
    const size_t shapes[][3] = {{1, 100, 70}, {2, 50, 300}, {9, 77, 260}, {40, 45, 31}, {3, 16, 8}};
    kt_rng r = {3};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            gemm_case g;
            gc_alloc(&g, k, shapes[s][0], shapes[s][1], shapes[s][2], 1, 3);
            gc_fill(&g, &r, 0);
            k->gemm_pack(g.N, g.K, g.W, g.packed);
            lam__epilogue ep = {.act = LAM_ACTIVATION_GELU, .alpha = 0};
            gc_run(k, &g, g.bias, ep, 0, g.N);
            size_t ny = g.M * g.ldy;
            float *full = malloc(ny * sizeof *full);
            memcpy(full, g.y, ny * sizeof *full);
            /* three uneven column ranges, sentinel elsewhere */
            size_t cut1 = g.N / 3 + 1, cut2 = g.N - g.N / 4;
            for (int part = 0; part < 3; part++) {
                size_t nb = part == 0 ? 0 : part == 1 ? cut1 : cut2;
                size_t ne = part == 0 ? cut1 : part == 1 ? cut2 : g.N;
                for (size_t i = 0; i < ny; i++)
                    g.y[i] = -7.0f;
                gc_run(k, &g, g.bias, ep, nb, ne);
                for (size_t m = 0; m < g.M; m++)
                    for (size_t n = 0; n < g.ldy; n++) {
                        float v = g.y[m * g.ldy + n];
                        if (n >= nb && n < ne)
                            cr_assert(kt_same_bits(v, full[m * g.ldy + n]), "%s range [%zu,%zu) differs at [%zu,%zu]",
                                      k->isa, nb, ne, m, n);
                        else
                            cr_assert(v == -7.0f, "%s range [%zu,%zu) wrote [%zu,%zu]", k->isa, nb, ne, m, n);
                    }
            }
            /* rows one at a time, then in pairs: same bits (GEMV vs blocked paths) */
            for (size_t step = 1; step <= 2; step++) {
                for (size_t i = 0; i < ny; i++)
                    g.y[i] = -7.0f;
                for (size_t m = 0; m < g.M; m += step) {
                    size_t mm = g.M - m < step ? g.M - m : step;
                    k->gemm(mm, g.N, g.K, g.x + m * g.ldx, g.ldx, g.packed, g.bias, g.y + m * g.ldy,
                            g.ldy, ep, 0, g.N);
                }
                for (size_t m = 0; m < g.M; m++)
                    for (size_t n = 0; n < g.N; n++)
                        cr_assert(kt_same_bits(g.y[m * g.ldy + n], full[m * g.ldy + n]),
                                  "%s rows by %zu differ at [%zu,%zu]", k->isa, step, m, n);
            }
            free(full);
            gc_free(&g);
        }
    }
}

Test(gemm, nan_propagates, .init = init_tables)
{
    kt_rng r = {8};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        for (size_t M = 1; M <= 8; M += 7) {
            gemm_case g;
            gc_alloc(&g, k, M, 20, 30, 0, 0);
            gc_fill(&g, &r, 0);
            g.x[(M - 1) * g.ldx + 7] = NAN; /* last row */
            g.W[3 * g.K + 2] = NAN;        /* column 3 */
            k->gemm_pack(g.N, g.K, g.W, g.packed);
            gc_run(k, &g, g.bias, (lam__epilogue){.act = LAM_ACTIVATION_RELU, .alpha = 0}, 0, g.N);
            for (size_t m = 0; m < M; m++)
                for (size_t n = 0; n < g.N; n++) {
                    int want = m == M - 1 || n == 3;
                    cr_assert((isnan(g.y[m * g.ldy + n]) != 0) == want, "%s M=%zu [%zu,%zu] = %g", k->isa, M,
                              m, n, g.y[m * g.ldy + n]);
                }
            gc_free(&g);
        }
    }
}

/* Small layers (one K block, few columns; the direct no-pack path): each y
 * is one FMA chain over k in order, then + bias, then ReLU, so y must equal
 * that chain computed here with fmaf bit for bit; other activations must
 * match the GEMV path (rows one at a time) bit for bit. */
Test(gemm, small_layers_match_fma_chain, .init = init_tables)
{
    const size_t shapes[][3] = {{512, 50, 10}, {512, 2, 50}, {13, 8, 256}, {7, 9, 1},
                                {20, 64, 33},  {11, 16, 0},  {6, 31, 100}, {5, 3, 7}};
    kt_rng r = {21};
    for (int t = 0; t < ntables; t++) {
    const lam__kernel_table *k = tables[t];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        gemm_case g;
        gc_alloc(&g, k, shapes[s][0], shapes[s][1], shapes[s][2], s % 3, s % 2 * 3);
        gc_fill(&g, &r, 0);
        k->gemm_pack(g.N, g.K, g.W, g.packed);
        float *row = malloc(g.ldy * sizeof *row);
        for (size_t a = 0; a < sizeof all_acts / sizeof all_acts[0]; a++) {
            lam__epilogue ep = {.act = all_acts[a], .alpha = 0.1f};
            const float *bias = a % 2 ? NULL : g.bias;
            size_t nb = s % 4 == 3 ? 1 : 0;
            gc_run(k, &g, bias, ep, nb, g.N);
            for (size_t m = 0; m < g.M; m++) {
                k->gemm(1, g.N, g.K, g.x + m * g.ldx, g.ldx, g.packed, bias, row, g.ldy, ep, nb, g.N);
                for (size_t n = nb; n < g.N; n++) {
                    float v = g.y[m * g.ldy + n];
                    cr_assert(kt_same_bits(v, row[n]), "%s M=%zu N=%zu K=%zu act=%d [%zu,%zu] vs GEMV",
                              k->isa, g.M, g.N, g.K, (int)ep.act, m, n);
                    if (ep.act != LAM_ACTIVATION_IDENTITY && ep.act != LAM_ACTIVATION_RELU)
                        continue;
                    float c = 0;
                    for (size_t kk = 0; kk < g.K; kk++)
                        c = fmaf(g.x[m * g.ldx + kk], g.W[n * g.K + kk], c);
                    if (bias)
                        c += bias[n];
                    if (ep.act == LAM_ACTIVATION_RELU)
                        c = c > 0 ? c : 0;
                    cr_assert(kt_same_bits(v, c), "%s M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, chain %.9g",
                              k->isa, g.M, g.N, g.K, (int)ep.act, m, n, v, c);
                }
            }
        }
        free(row);
        gc_free(&g);
    }
    }
}

/* Narrow layers (output columns within 0..7, M >= 8: the AVX2 rows-in-lanes
 * path): every row and column equals the GEMV path (rows one at a time) bit
 * for bit, and the FMA chain computed here with fmaf for none / ReLU; row
 * tails (M not a multiple of 8 or 16), K tails (K mod 4), column ranges
 * inside a wider layer, and strides whose padding is poisoned.  Nothing
 * outside the wanted rows and columns is written. */
Test(gemm, narrow_layers_match_gemv_and_fma_chain, .init = init_tables)
{
    const size_t Ms[] = {8, 9, 15, 16, 17, 24, 31, 100};
    const size_t Ks[] = {0, 1, 2, 3, 4, 5, 7, 9, 50, 300};
    kt_rng r = {33};
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        for (size_t N = 1; N <= 11; N++)
            for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
                for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                    const size_t M = Ms[mi], K = Ks[ki];
                    gemm_case g;
                    gc_alloc(&g, k, M, N, K, (mi + ki) % 3, N % 2 * 3);
                    gc_fill(&g, &r, 0);
                    k->gemm_pack(g.N, g.K, g.W, g.packed);
                    /* N > 8: a column range within 0..7 */
                    const size_t nb = N > 8 ? 2 : (N > 3 && ki % 2 ? 1 : 0), ne = N > 8 ? 7 : N;
                    const size_t ny = M * g.ldy;
                    float *row = malloc(g.ldy * sizeof *row);
                    for (size_t a = 0; a < sizeof all_acts / sizeof all_acts[0]; a++) {
                        lam__epilogue ep = {.act = all_acts[a], .alpha = 0.1f};
                        const float *bias = (a + N) % 2 ? NULL : g.bias;
                        for (size_t i = 0; i < ny; i++)
                            g.y[i] = -7.0f;
                        gc_run(k, &g, bias, ep, nb, ne);
                        for (size_t m = 0; m < M; m++) {
                            for (size_t n = 0; n < g.ldy; n++)
                                row[n] = -7.0f;
                            k->gemm(1, g.N, g.K, g.x + m * g.ldx, g.ldx, g.packed, bias, row, g.ldy,
                                    ep, nb, ne);
                            for (size_t n = 0; n < g.ldy; n++) {
                                const float v = g.y[m * g.ldy + n];
                                if (n < nb || n >= ne) {
                                    cr_assert(v == -7.0f, "%s M=%zu N=%zu K=%zu wrote [%zu,%zu]",
                                              k->isa, M, N, K, m, n);
                                    continue;
                                }
                                cr_assert(kt_same_bits(v, row[n]),
                                          "%s M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, GEMV %.9g",
                                          k->isa, M, N, K, (int)ep.act, m, n, v, row[n]);
                                if (ep.act != LAM_ACTIVATION_IDENTITY && ep.act != LAM_ACTIVATION_RELU)
                                    continue;
                                float c = 0;
                                for (size_t kk = 0; kk < K; kk++)
                                    c = fmaf(g.x[m * g.ldx + kk], g.W[n * K + kk], c);
                                if (bias)
                                    c += bias[n];
                                if (ep.act == LAM_ACTIVATION_RELU)
                                    c = c > 0 ? c : 0;
                                cr_assert(kt_same_bits(v, c),
                                          "%s M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, chain %.9g",
                                          k->isa, M, N, K, (int)ep.act, m, n, v, c);
                            }
                        }
                        gc_check(k, &g, bias, ep, nb, ne);
                    }
                    free(row);
                    gc_free(&g);
                }
    }
}

/* mlp2 (every table has it): two Linear layers fused must equal gemm
 * into a hidden buffer, then gemm on it, bit for bit; row tails (M mod 8,
 * mod 16), K tails, hidden sizes not a multiple of the unit groups, every
 * N up to 8, several activation pairs with and without biases, strided x
 * and y with poisoned / sentinel padding. */
Test(gemm, mlp2_matches_two_gemms, .init = init_tables)
{
    const size_t Ms[] = {1, 8, 17, 100}, Ks[] = {0, 1, 4, 10, 33, LAM_MLP2_KMAX};
    const size_t Hs[] = {1, 5, 16, 50, 67}, Ns[] = {1, 2, 3, 5, 8};
    const lam_activation pairs[][2] = {{LAM_ACTIVATION_RELU, LAM_ACTIVATION_SIGMOID},
                                {LAM_ACTIVATION_IDENTITY, LAM_ACTIVATION_IDENTITY},
                                {LAM_ACTIVATION_GELU, LAM_ACTIVATION_TANH},
                                {LAM_ACTIVATION_LEAKY_RELU, LAM_ACTIVATION_SILU}};
    kt_rng r = {44};
    int tested = 0;
    for (int t = 0; t < 2; t++) {
        const lam__kernel_table *k = tables[t];
        cr_assert_not_null(k->mlp2, "%s: mlp2 is NULL", k->isa);
        for (size_t a = 0; a < sizeof Ms / sizeof Ms[0]; a++)
            for (size_t b = 0; b < sizeof Ks / sizeof Ks[0]; b++)
                for (size_t c = 0; c < sizeof Hs / sizeof Hs[0]; c++)
                    for (size_t d = 0; d < sizeof Ns / sizeof Ns[0]; d++) {
                        const size_t M = Ms[a], K = Ks[b], H = Hs[c], N = Ns[d];
                        const size_t ldx = K + (a + c) % 3, ldy = N + d % 2 * 3;
                        float *x = malloc((M * ldx + 1) * sizeof *x);
                        float *W1 = malloc((H * K + 1) * sizeof *W1);
                        float *W2 = malloc((N * H + 1) * sizeof *W2);
                        float *b1 = malloc(H * sizeof *b1), *b2 = malloc(N * sizeof *b2);
                        float *p1 = malloc((k->gemm_packed_size(H, K) + 1) * sizeof *p1);
                        float *p2 = malloc((k->gemm_packed_size(N, H) + 1) * sizeof *p2);
                        float *h = malloc((M * H + 1) * sizeof *h);
                        float *want = malloc(M * ldy * sizeof *want);
                        float *y = malloc(M * ldy * sizeof *y);
                        for (size_t i = 0; i < M * ldx; i++)
                            x[i] = i % ldx < K ? kt_uniform(&r, -2, 2) : NAN;
                        for (size_t i = 0; i < H * K; i++)
                            W1[i] = kt_uniform(&r, -1, 1);
                        for (size_t i = 0; i < N * H; i++)
                            W2[i] = kt_uniform(&r, -1, 1);
                        for (size_t i = 0; i < H; i++)
                            b1[i] = kt_uniform(&r, -1, 1);
                        for (size_t i = 0; i < N; i++)
                            b2[i] = kt_uniform(&r, -1, 1);
                        k->gemm_pack(H, K, W1, p1);
                        k->gemm_pack(N, H, W2, p2);
                        for (size_t e = 0; e < sizeof pairs / sizeof pairs[0]; e++) {
                            const lam__epilogue e1 = {.act = pairs[e][0], .alpha = 0.05f}, e2 = {.act = pairs[e][1], .alpha = 0.3f};
                            const float *bb1 = (e + d) % 3 == 2 ? NULL : b1;
                            const float *bb2 = (e + a) % 3 == 1 ? NULL : b2;
                            for (size_t i = 0; i < M * ldy; i++)
                                want[i] = y[i] = -7.0f;
                            k->gemm(M, H, K, x, ldx, p1, bb1, h, H, e1, 0, H);
                            k->gemm(M, N, H, h, H, p2, bb2, want, ldy, e2, 0, N);
                            k->mlp2(M, K, H, N, x, ldx, p1, bb1, e1, p2, bb2, e2, y, ldy);
                            for (size_t m = 0; m < M; m++)
                                for (size_t n = 0; n < ldy; n++)
                                    cr_assert(kt_same_bits(y[m * ldy + n], want[m * ldy + n]),
                                              "%s mlp2 M=%zu K=%zu H=%zu N=%zu acts %d,%d [%zu,%zu]: "
                                              "%.9g, two gemms %.9g",
                                              k->isa, M, K, H, N, (int)e1.act, (int)e2.act, m, n,
                                              y[m * ldy + n], want[m * ldy + n]);
                            tested++;
                        }
                        free(x), free(W1), free(W2), free(b1), free(b2), free(p1), free(p2);
                        free(h), free(want), free(y);
                    }
    }
    cr_assert(tested > 0);
}

/* ---- the kernel list drives these: every entry of every table ----
 *
 * simd/gemm/gemm-kernels.h names each GEMM-family entry with its shape
 * limits, accuracy bound and tail rules; here each entry has a checker
 * (kt_check_<name>: the list does not compile without one), run on every
 * table against the scalar twin (bit-identical where the chain order is
 * the contract: IDENTITY and RELU) and against a float64 reference, over
 * tails at every threshold of every ISA's descriptor: M around MR (6, 8,
 * 12, 14), the GEMV limit (2) and the lanes limit (8); N around NR (16, 32,
 * 64), the lanes widths (8, 16) and the direct width (64); K = 0, 1, and
 * around KC and the direct depth (256, 384). */

typedef struct kt_gemm_entry kt_gemm_entry;
typedef void (*kt_gemm_check_fn)(const lam__kernel_table *k, const kt_gemm_entry *e);
struct kt_gemm_entry {
    const char *name;
    size_t off, nmax, kmax;
    int bound;
    const char *tails;
    kt_gemm_check_fn check;
};

static const size_t kt_Ms[] = {1, 2, 3, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 25, 33};
static const size_t kt_Ns[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 97};
static const size_t kt_Ks[] = {0, 1, 2, 3, 7, 255, 256, 257, 383, 384, 385, 513};

static void kt_check_gemm_packed_size(const lam__kernel_table *k, const kt_gemm_entry *e)
{
    for (size_t a = 0; a < sizeof kt_Ns / sizeof kt_Ns[0]; a++)
        for (size_t b = 0; b < sizeof kt_Ks / sizeof kt_Ks[0]; b++) {
            const size_t N = kt_Ns[a], K = kt_Ks[b], sz = k->gemm_packed_size(N, K);
            cr_assert(sz >= N * K, "%s %s(%zu, %zu) = %zu", k->isa, e->name, N, K, sz);
            cr_assert(k->gemm_packed_size(0, K) == 0 && k->gemm_packed_size(N, 0) == 0,
                      "%s %s: no weights, no floats", k->isa, e->name);
        }
}

/* gemm_pack writes gemm_packed_size floats and nothing past them (what it
 * writes is checked through gemm). */
static void kt_check_gemm_pack(const lam__kernel_table *k, const kt_gemm_entry *e)
{
    kt_rng r = {71};
    for (size_t a = 0; a < sizeof kt_Ns / sizeof kt_Ns[0]; a++)
        for (size_t b = 0; b < 7; b++) {
            const size_t N = kt_Ns[a], K = kt_Ks[b], sz = k->gemm_packed_size(N, K);
            float *W = malloc((N * K + 1) * sizeof *W), *p = malloc((sz + 8) * sizeof *p);
            for (size_t i = 0; i < N * K; i++)
                W[i] = kt_uniform(&r, -1, 1);
            for (size_t i = 0; i < sz + 8; i++)
                p[i] = -7.0f;
            k->gemm_pack(N, K, W, p);
            for (size_t i = sz; i < sz + 8; i++)
                cr_assert(p[i] == -7.0f, "%s %s(%zu, %zu) wrote past its size", k->isa, e->name,
                          N, K);
            free(W), free(p);
        }
}

/* One gemm case on table k and on the scalar twin: bits for IDENTITY (with
 * bias) and RELU (without), the float64 bound for those and SIGMOID; then a
 * column range inside the layer must give the same bits and write nothing
 * else. */
static void kt_gemm_case(const lam__kernel_table *k, const lam__kernel_table *s, size_t M,
                         size_t N, size_t K, kt_rng *r)
{
    gemm_case g, h;
    gc_alloc(&g, k, M, N, K, K % 3, N % 2 * 3);
    gc_alloc(&h, s, M, N, K, K % 3, N % 2 * 3);
    gc_fill(&g, r, 0);
    memcpy(h.x, g.x, M * g.ldx * sizeof *g.x);
    memcpy(h.W, g.W, N * K * sizeof *g.W);
    memcpy(h.bias, g.bias, N * sizeof *g.bias);
    k->gemm_pack(N, K, g.W, g.packed);
    s->gemm_pack(N, K, h.W, h.packed);
    const lam_activation acts[] = {LAM_ACTIVATION_IDENTITY, LAM_ACTIVATION_RELU,
                                   LAM_ACTIVATION_SIGMOID};
    const size_t ny = M * g.ldy;
    float *full = malloc(ny * sizeof *full);
    for (int a = 0; a < 3; a++) {
        const lam__epilogue ep = {.act = acts[a], .alpha = 0};
        const float *bias = a == 1 ? NULL : g.bias;
        for (size_t i = 0; i < ny; i++)
            g.y[i] = h.y[i] = -7.0f;
        gc_run(k, &g, bias, ep, 0, N);
        gc_run(s, &h, bias, ep, 0, N);
        gc_check(k, &g, bias, ep, 0, N);
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < g.ldy; n++) {
                const float v = g.y[m * g.ldy + n], w = h.y[m * g.ldy + n];
                if (n >= N)
                    cr_assert(v == -7.0f, "%s gemm M=%zu N=%zu K=%zu wrote padding [%zu,%zu]",
                              k->isa, M, N, K, m, n);
                else if (a < 2)
                    cr_assert(kt_same_bits(v, w),
                              "%s gemm M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, scalar %.9g",
                              k->isa, M, N, K, (int)ep.act, m, n, v, w);
            }
        memcpy(full, g.y, ny * sizeof *full);
        const size_t nb = N / 3, ne = N - N / 4;
        if (nb >= ne)
            continue;
        for (size_t i = 0; i < ny; i++)
            g.y[i] = -7.0f;
        gc_run(k, &g, bias, ep, nb, ne);
        for (size_t m = 0; m < M; m++)
            for (size_t n = 0; n < g.ldy; n++) {
                const float v = g.y[m * g.ldy + n];
                if (n >= nb && n < ne)
                    cr_assert(kt_same_bits(v, full[m * g.ldy + n]),
                              "%s gemm M=%zu N=%zu K=%zu columns [%zu,%zu) differ at [%zu,%zu]",
                              k->isa, M, N, K, nb, ne, m, n);
                else
                    cr_assert(v == -7.0f, "%s gemm M=%zu N=%zu K=%zu columns [%zu,%zu) wrote [%zu,%zu]",
                              k->isa, M, N, K, nb, ne, m, n);
            }
    }
    free(full);
    gc_free(&g), gc_free(&h);
}

static void kt_check_gemm(const lam__kernel_table *k, const kt_gemm_entry *e)
{
    (void)e;
    const lam__kernel_table *s = lam__kernels_for("scalar");
    kt_rng r = {72};
    /* every M x N, shallow K */
    const size_t shallow[] = {0, 1, 3, 17};
    for (size_t a = 0; a < sizeof kt_Ms / sizeof kt_Ms[0]; a++)
        for (size_t b = 0; b < sizeof kt_Ns / sizeof kt_Ns[0]; b++)
            for (size_t c = 0; c < 4; c++)
                kt_gemm_case(k, s, kt_Ms[a], kt_Ns[b], shallow[c], &r);
    /* every K, at shapes that reach each path */
    const size_t mn[][2] = {{1, 33}, {2, 17}, {7, 65}, {13, 16}, {17, 9}, {33, 97}, {9, 64}, {15, 48}};
    for (size_t a = 0; a < sizeof mn / sizeof mn[0]; a++)
        for (size_t c = 0; c < sizeof kt_Ks / sizeof kt_Ks[0]; c++)
            kt_gemm_case(k, s, mn[a][0], mn[a][1], kt_Ks[c], &r);
}

/* mlp2 at its limits against the scalar twin: bit-identical for IDENTITY /
 * RELU pairs (the chains are the contract's), and for every pair the bits
 * of two of the table's own gemm calls (mlp2_matches_two_gemms). */
static void kt_check_mlp2(const lam__kernel_table *k, const kt_gemm_entry *e)
{
    const lam__kernel_table *s = lam__kernels_for("scalar");
    const size_t Ms[] = {1, 2, 7, 8, 9, 16, 17, 33}, Hs[] = {1, 3, 16, 17, 33, 64, 129};
    const size_t Ks[] = {0, 1, 5, e->kmax}, Ns[] = {1, 2, 3, e->nmax};
    kt_rng r = {73};
    for (size_t a = 0; a < 8; a++)
        for (size_t b = 0; b < 4; b++)
            for (size_t c = 0; c < 7; c++)
                for (size_t d = 0; d < 4; d++) {
                    const size_t M = Ms[a], K = Ks[b], H = Hs[c], N = Ns[d];
                    const size_t ldx = K + 1, ldy = N + 2;
                    float *x = malloc((M * ldx + 1) * sizeof *x), *W1 = malloc((H * K + 1) * 4);
                    float *W2 = malloc(N * H * 4), *b1 = malloc(H * 4), *b2 = malloc(N * 4);
                    float *p1 = malloc((k->gemm_packed_size(H, K) + 1) * 4);
                    float *p2 = malloc((k->gemm_packed_size(N, H) + 1) * 4);
                    float *q1 = malloc((H * K + 1) * 4), *q2 = malloc(N * H * 4);
                    float *y = malloc(M * ldy * 4), *z = malloc(M * ldy * 4);
                    for (size_t i = 0; i < M * ldx; i++)
                        x[i] = i % ldx < K ? kt_uniform(&r, -2, 2) : NAN;
                    for (size_t i = 0; i < H * K; i++)
                        W1[i] = kt_uniform(&r, -1, 1);
                    for (size_t i = 0; i < N * H; i++)
                        W2[i] = kt_uniform(&r, -1, 1);
                    for (size_t i = 0; i < H; i++)
                        b1[i] = kt_uniform(&r, -1, 1);
                    for (size_t i = 0; i < N; i++)
                        b2[i] = kt_uniform(&r, -1, 1);
                    k->gemm_pack(H, K, W1, p1), k->gemm_pack(N, H, W2, p2);
                    s->gemm_pack(H, K, W1, q1), s->gemm_pack(N, H, W2, q2);
                    for (int pr = 0; pr < 2; pr++) {
                        const lam__epilogue e1 = {.act = pr ? LAM_ACTIVATION_RELU : LAM_ACTIVATION_IDENTITY, .alpha = 0};
                        const lam__epilogue e2 = {.act = pr ? LAM_ACTIVATION_IDENTITY : LAM_ACTIVATION_RELU, .alpha = 0};
                        const float *bb1 = pr ? b1 : NULL, *bb2 = b2;
                        for (size_t i = 0; i < M * ldy; i++)
                            y[i] = z[i] = -7.0f;
                        k->mlp2(M, K, H, N, x, ldx, p1, bb1, e1, p2, bb2, e2, y, ldy);
                        s->mlp2(M, K, H, N, x, ldx, q1, bb1, e1, q2, bb2, e2, z, ldy);
                        for (size_t i = 0; i < M * ldy; i++)
                            cr_assert(kt_same_bits(y[i], z[i]),
                                      "%s mlp2 M=%zu K=%zu H=%zu N=%zu pair %d [%zu]: %.9g, scalar %.9g",
                                      k->isa, M, K, H, N, pr, i, y[i], z[i]);
                    }
                    free(x), free(W1), free(W2), free(b1), free(b2), free(p1), free(p2);
                    free(q1), free(q2), free(y), free(z);
                }
}

#define KT_GEMM_ENTRY(isa, name, ret, params, nmax, kmax, bound, tails) \
    {#name, offsetof(lam__kernel_table, name), nmax, kmax, bound, tails, kt_check_##name},
static const kt_gemm_entry kt_gemm_entries[] = {LAM_GEMM_KERNELS(KT_GEMM_ENTRY, any)};
#undef KT_GEMM_ENTRY

Test(gemm_list, every_entry_of_every_table, .init = init_tables)
{
    kt_gemm_avx512_note("gemm_list");
    cr_assert(ntables >= 1 && strcmp(tables[0]->isa, "scalar") == 0);
    for (int t = 0; t < ntables; t++)
        for (size_t i = 0; i < sizeof kt_gemm_entries / sizeof kt_gemm_entries[0]; i++) {
            const kt_gemm_entry *e = &kt_gemm_entries[i];
            void *f;
            memcpy(&f, (const char *)tables[t] + e->off, sizeof f);
            cr_assert_not_null(f, "%s: %s is NULL", tables[t]->isa, e->name);
            e->check(tables[t], e);
        }
}

/* The AVX-512 GEMM entries against the AVX2 ones: Linear without
 * activation and with ReLU bit for bit on every shape and tail of the list
 * grid (the contract's chain order is ISA-independent), mlp2 too.  Skipped,
 * with a note, on a CPU without AVX-512. */
Test(gemm_avx512, bit_identical_to_avx2)
{
    const lam__kernel_table *k5 = kt_gemm_avx512(), *k2 = lam__kernels_for("avx2");
    if (!k5 || !k2)
        cr_skip_test("skipped: no AVX-512 (this CPU, or LAMINA_MAX_ISA=scalar|avx2)");
    kt_rng r = {91};
    const size_t Ks[] = {0, 1, 3, 17, 255, 256, 257, 383, 384, 385, 769};
    for (size_t a = 0; a < sizeof kt_Ms / sizeof kt_Ms[0]; a++)
        for (size_t b = 0; b < sizeof kt_Ns / sizeof kt_Ns[0]; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof Ks[0]; c += (a + b) % 3 + 1) {
                const size_t M = kt_Ms[a], N = kt_Ns[b], K = Ks[c];
                gemm_case g, h;
                gc_alloc(&g, k5, M, N, K, 1, 2);
                gc_alloc(&h, k2, M, N, K, 1, 2);
                gc_fill(&g, &r, 0);
                memcpy(h.x, g.x, M * g.ldx * sizeof *g.x);
                k5->gemm_pack(N, K, g.W, g.packed);
                k2->gemm_pack(N, K, g.W, h.packed);
                for (int act = 0; act < 2; act++) {
                    const lam__epilogue ep = {.act = act ? LAM_ACTIVATION_RELU : LAM_ACTIVATION_IDENTITY, .alpha = 0};
                    const float *bias = (a + act) % 2 ? NULL : g.bias;
                    gc_run(k5, &g, bias, ep, 0, N);
                    gc_run(k2, &h, bias, ep, 0, N);
                    for (size_t m = 0; m < M; m++)
                        for (size_t n = 0; n < N; n++)
                            cr_assert(kt_same_bits(g.y[m * g.ldy + n], h.y[m * g.ldy + n]),
                                      "avx512 vs avx2 M=%zu N=%zu K=%zu act=%d [%zu,%zu]: %.9g, %.9g",
                                      M, N, K, (int)ep.act, m, n, g.y[m * g.ldy + n],
                                      h.y[m * g.ldy + n]);
                }
                gc_free(&g), gc_free(&h);
            }
    /* mlp2: the same bits as the AVX2 kernel for IDENTITY / RELU */
    const size_t Ms[] = {1, 15, 16, 17, 33, 100}, Hs[] = {1, 4, 5, 64, 65}, Ns[] = {1, 2, 3, 8};
    for (size_t a = 0; a < 6; a++)
        for (size_t c = 0; c < 5; c++)
            for (size_t d = 0; d < 4; d++) {
                const size_t M = Ms[a], H = Hs[c], N = Ns[d], K = (a * 7 + c) % LAM_MLP2_KMAX + 1;
                float *x = malloc(M * K * 4), *W1 = malloc(H * K * 4), *W2 = malloc(N * H * 4);
                float *b1 = malloc(H * 4), *b2 = malloc(N * 4);
                float *p1 = malloc(k5->gemm_packed_size(H, K) * 4), *p2 = malloc(k5->gemm_packed_size(N, H) * 4);
                float *q1 = malloc(k2->gemm_packed_size(H, K) * 4), *q2 = malloc(k2->gemm_packed_size(N, H) * 4);
                float *y = malloc(M * N * 4), *z = malloc(M * N * 4);
                for (size_t i = 0; i < M * K; i++)
                    x[i] = kt_uniform(&r, -2, 2);
                for (size_t i = 0; i < H * K; i++)
                    W1[i] = kt_uniform(&r, -1, 1);
                for (size_t i = 0; i < N * H; i++)
                    W2[i] = kt_uniform(&r, -1, 1);
                for (size_t i = 0; i < H; i++)
                    b1[i] = kt_uniform(&r, -1, 1);
                for (size_t i = 0; i < N; i++)
                    b2[i] = kt_uniform(&r, -1, 1);
                k5->gemm_pack(H, K, W1, p1), k5->gemm_pack(N, H, W2, p2);
                k2->gemm_pack(H, K, W1, q1), k2->gemm_pack(N, H, W2, q2);
                const lam__epilogue e1 = {.act = LAM_ACTIVATION_RELU, .alpha = 0}, e2 = {.act = LAM_ACTIVATION_IDENTITY, .alpha = 0};
                k5->mlp2(M, K, H, N, x, K, p1, b1, e1, p2, b2, e2, y, N);
                k2->mlp2(M, K, H, N, x, K, q1, b1, e1, q2, b2, e2, z, N);
                for (size_t i = 0; i < M * N; i++)
                    cr_assert(kt_same_bits(y[i], z[i]), "avx512 vs avx2 mlp2 M=%zu K=%zu H=%zu N=%zu [%zu]",
                              M, K, H, N, i);
                free(x), free(W1), free(W2), free(b1), free(b2), free(p1), free(p2), free(q1), free(q2);
                free(y), free(z);
            }
}

#if defined(KT_HAVE_AVX512_GEMM)
/* The AVX-512 lanes kernel takes up to 16 columns, the chooser gives it at
 * most 12 (measured): columns 9..16, and ranges starting past 0, called
 * directly, must give the bits of the table's gemm (the tile) for every
 * activation, and those of the scalar twin for IDENTITY / RELU; rows past
 * M and columns outside the range are not written. */
Test(gemm_avx512, lanes_kernel_up_to_16_columns)
{
    const lam__kernel_table *k5 = kt_gemm_avx512(), *s = lam__kernels_for("scalar");
    if (!k5)
        cr_skip_test("skipped: no AVX-512 (this CPU, or LAMINA_MAX_ISA=scalar|avx2)");
    const size_t Ms[] = {16, 17, 31, 33, 64, 100}, Ks[] = {0, 1, 3, 4, 5, 50, 257};
    kt_rng r = {95};
    for (size_t N = 9; N <= 16; N++)
        for (size_t a = 0; a < 6; a++)
            for (size_t c = 0; c < 7; c++) {
                const size_t M = Ms[a], K = Ks[c], nb = (N + a) % 3 == 0 ? 2 : 0;
                gemm_case g, h;
                gc_alloc(&g, k5, M, N, K, 1, 3);
                gc_alloc(&h, s, M, N, K, 1, 3);
                gc_fill(&g, &r, 0);
                memcpy(h.x, g.x, M * g.ldx * sizeof *g.x);
                k5->gemm_pack(N, K, g.W, g.packed);
                s->gemm_pack(N, K, g.W, h.packed);
                float *want = malloc(M * g.ldy * sizeof *want);
                for (size_t e = 0; e < 3; e++) {
                    const lam__epilogue ep = {.act = all_acts[(N + e) % 9], .alpha = 0.1f};
                    const float *bias = e == 1 ? NULL : g.bias;
                    for (size_t i = 0; i < M * g.ldy; i++)
                        g.y[i] = want[i] = h.y[i] = -7.0f;
                    lam__f32_gemm_lanes_avx512(M, K, g.x, g.ldx, g.packed, bias, g.y, g.ldy, ep, nb, N);
                    k5->gemm(M, N, K, g.x, g.ldx, g.packed, bias, want, g.ldy, ep, nb, N);
                    s->gemm(M, N, K, g.x, g.ldx, h.packed, bias, h.y, g.ldy, ep, nb, N);
                    const int exact = ep.act == LAM_ACTIVATION_IDENTITY || ep.act == LAM_ACTIVATION_RELU;
                    for (size_t i = 0; i < M * g.ldy; i++) {
                        cr_assert(kt_same_bits(g.y[i], want[i]),
                                  "lanes M=%zu N=%zu K=%zu act=%d [%zu]: %.9g, tile %.9g", M, N, K,
                                  (int)ep.act, i, g.y[i], want[i]);
                        if (exact)
                            cr_assert(kt_same_bits(g.y[i], h.y[i]),
                                      "lanes M=%zu N=%zu K=%zu act=%d [%zu]: %.9g, scalar %.9g", M,
                                      N, K, (int)ep.act, i, g.y[i], h.y[i]);
                    }
                }
                free(want);
                gc_free(&g), gc_free(&h);
            }
}
#endif
