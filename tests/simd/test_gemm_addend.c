/* The GEMM epilogue's residual addend (lam__epilogue.add): y = act(x W^T +
 * b) + r in one gemm call gives the bits of the gemm without it followed by
 * the table's add kernel, on every table and every path (GEMV, lanes,
 * direct, packed with K blocks), for odd M / N tails, column ranges, padded
 * strides and every epilogue activation; nothing outside the columns asked
 * for is written. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#include "tests/simd/kt-gemm.h"

static const lam__kernel_table *tables[KT_MAX_TABLES];
static int ntables;
static void init_tables(void) { ntables = kt_gemm_tables(tables); }

static const lam_activation acts[] = {
    LAM_ACTIVATION_IDENTITY, LAM_ACTIVATION_RELU,      LAM_ACTIVATION_LEAKY_RELU,
    LAM_ACTIVATION_RELU6,    LAM_ACTIVATION_SIGMOID,   LAM_ACTIVATION_TANH,
    LAM_ACTIVATION_GELU,     LAM_ACTIVATION_GELU_TANH, LAM_ACTIVATION_SILU};

/* M, N, K: GEMV (M <= 2), lanes (narrow, many rows), direct (small K and
 * N, more rows than the driver's 96-row addend block), packed (K past the
 * K block, N past a panel), K = 0, odd tails everywhere. */
static const size_t shapes[][3] = {
    {1, 33, 70},  {2, 100, 300}, {20, 5, 40},  {33, 3, 513},  {13, 64, 200}, {200, 48, 100},
    {97, 100, 600}, {50, 65, 257}, {6, 16, 0}, {130, 17, 9},  {7, 130, 33},  {101, 9, 64}};

Test(gemm_addend, fused_equals_gemm_then_add, .init = init_tables)
{
    kt_rng r = {11};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        const size_t ldx = K + 3, ldy = N + 2, lda = N + 5;
        float *x = malloc((M * ldx + 1) * sizeof(float)), *W = malloc((N * K + 1) * sizeof(float));
        float *bias = malloc(N * sizeof(float)), *add = malloc(M * lda * sizeof(float));
        float *y = malloc(M * ldy * sizeof(float)), *ref = malloc(M * ldy * sizeof(float));
        for (size_t i = 0; i < M * ldx; i++)
            x[i] = kt_uniform(&r, -1, 1);
        for (size_t i = 0; i < N * K; i++)
            W[i] = kt_uniform(&r, -1, 1);
        for (size_t i = 0; i < N; i++)
            bias[i] = kt_uniform(&r, -1, 1);
        for (size_t i = 0; i < M * lda; i++) /* the stride's padding is poison */
            add[i] = i % lda < N ? kt_uniform(&r, -2, 2) : NAN;
        const size_t ranges[][2] = {{0, N}, {N > 5 ? 3 : 0, N > 5 ? N - 2 : N}, {N / 2, N}};
        for (int t = 0; t < ntables; t++) {
            const lam__kernel_table *k = tables[t];
            float *packed = malloc((k->gemm_packed_size(N, K) + 1) * sizeof(float));
            k->gemm_pack(N, K, W, packed);
            for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
                for (size_t q = 0; q < 3; q++) {
                    const size_t nb = ranges[q][0], ne = ranges[q][1];
                    const float *b = a % 2 ? NULL : bias;
                    lam__epilogue ep = {.act = acts[a], .alpha = 0.125f};
                    for (size_t i = 0; i < M * ldy; i++)
                        y[i] = ref[i] = -7.0f;
                    k->gemm(M, N, K, x, ldx, packed, b, ref, ldy, ep, nb, ne);
                    for (size_t m = 0; m < M; m++)
                        k->add(ne - nb, ref + m * ldy + nb, add + m * lda + nb, ref + m * ldy + nb);
                    ep.add = add;
                    ep.ldadd = lda;
                    k->gemm(M, N, K, x, ldx, packed, b, y, ldy, ep, nb, ne);
                    for (size_t i = 0; i < M * ldy; i++)
                        cr_assert(kt_same_bits(y[i], ref[i]),
                                  "%s M=%zu N=%zu K=%zu act=%d [%zu,%zu): y[%zu,%zu] = %.9g, gemm "
                                  "then add %.9g",
                                  k->isa, M, N, K, (int)acts[a], nb, ne, i / ldy, i % ldy, y[i],
                                  ref[i]);
                }
            free(packed);
        }
        free(x), free(W), free(bias), free(add), free(y), free(ref);
    }
}

/* Column ranges split like the threads split them give the bits of one
 * call (the addend of each range is read where that range is). */
Test(gemm_addend, column_split_is_bit_identical, .init = init_tables)
{
    const size_t M = 37, N = 200, K = 300;
    kt_rng r = {5};
    float *x = malloc(M * K * sizeof(float)), *W = malloc(N * K * sizeof(float));
    float *add = malloc(M * N * sizeof(float)), *y1 = malloc(M * N * sizeof(float)),
          *y2 = malloc(M * N * sizeof(float));
    for (size_t i = 0; i < M * K; i++)
        x[i] = kt_uniform(&r, -1, 1);
    for (size_t i = 0; i < N * K; i++)
        W[i] = kt_uniform(&r, -1, 1);
    for (size_t i = 0; i < M * N; i++)
        add[i] = kt_uniform(&r, -1, 1);
    for (int t = 0; t < ntables; t++) {
        const lam__kernel_table *k = tables[t];
        float *packed = malloc((k->gemm_packed_size(N, K) + 1) * sizeof(float));
        k->gemm_pack(N, K, W, packed);
        lam__epilogue ep = {.act = LAM_ACTIVATION_GELU, .add = add, .ldadd = N};
        k->gemm(M, N, K, x, K, packed, NULL, y1, N, ep, 0, N);
        const size_t cuts[] = {0, 16, 48, 112, 113, N};
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
            k->gemm(M, N, K, x, K, packed, NULL, y2, N, ep, cuts[c], cuts[c + 1]);
        for (size_t i = 0; i < M * N; i++)
            cr_assert(kt_same_bits(y1[i], y2[i]), "%s split differs at %zu", k->isa, i);
        free(packed);
    }
    free(x), free(W), free(add), free(y1), free(y2);
}
