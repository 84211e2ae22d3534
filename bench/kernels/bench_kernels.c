/* Kernel benchmarks (not a test: figures, no pass/fail).  `make bench`.
 *
 *   FMA peak   of the table's ISA (bench/kernels/peak.h): 12 ymm FMA chains
 *              for avx2, 16 zmm chains for avx512, 16 vfmaq chains for neon;
 *              the scalar table is measured against the widest SIMD probe
 *   vunary     Gelem/s of every elementwise, row (rows of 1000) and binary
 *              kernel of the kernel lists (simd/kernel-list.h) on 1M floats,
 *              preallocated output, and memcpy; bandwidth in GB/s
 *   gemm       GFLOP/s and % of the measured peak, single thread, for the
 *              shapes of measured-anchors.md, side by side with OpenBLAS
 *              cblas_sgemm (RowMajor, NoTrans, Trans) and oneDNN dnnl_sgemm
 *              ('N', 'T') when built with them, as ratios (--no-anchors: lamina
 *              only, for a second table in the same benchmark run); JSON
 *              names the ISA oneDNN may use (dnnl_get_effective_cpu_isa).
 *   conv_gemm  the convolution's GEMM (LAM_CONV_KERNELS) in GFLOP/s and % of
 *              the peak, single thread, for two layers of issue 14 as
 *              runtime/layers/conv_compute.c runs them: 3x3 64->64 on 56x56
 *              (flat path: B rows in a padded block of 8 output rows, 462
 *              pixels a task, the extra columns counted) and 1x1 256->64
 *              (pointwise: B is the input planes, 672-pixel chunks); "in
 *              cache" repeats one task, "layer" runs every task of a batch
 *              of 8 in turn, each on its own B (1x1: the input, writing the
 *              NCHW output; 3x3: a padded block per task, cold where the
 *              layer's copy leaves it warm, into one tile as a thread does)
 *   attention  the fused attention entry, one head, T = 1024 queries and
 *              keys, head size 64, without weights (plain and causal):
 *              GFLOP/s counting 4 T Tk D (Q K^T and P V; causal: the
 *              T (T + 1) / 2 unmasked pairs) and % of the FMA peak
 *   window     the window kernels (LAM_WINDOW_KERNELS) on the CNN shapes of
 *              issue 14, single thread, plane by plane: depthwise 3x3
 *              (stride 1 and 2) on 8x32x112x112 in GFLOP/s and ms, max and
 *              average pooling 3x3 stride 2 padding 1 on 8x64x112x112 in ms
 * The table is LAMINA_MAX_ISA's choice, as in the library, or --isa's.
 * Every figure is the median of several timed repetitions after a warm-up.
 * --which prints the table's ISA name and exits.
 * Usage: bench_kernels [--isa scalar|avx2|avx512|neon] [--json] [--quick]
 *                      [--gemm|--vunary|--attn|--window] (--gemm: conv_gemm too)
 *                      [--wall] [--no-anchors] [--which] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "simd/simd.h"

#ifdef HAVE_OPENBLAS_BENCH
#include <cblas.h>
#endif
#ifdef HAVE_DNNL_BENCH
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench/kernels/peak.h"

/* Process CPU time by default: the development machine is shared, and CPU
 * time does not count the time spent waiting for a core; it does count
 * any helper thread a library starts, so "single thread" stays honest
 * (--wall: wall clock). */
static clockid_t lam_bench_clock = CLOCK_PROCESS_CPUTIME_ID;

static double now(void)
{
    struct timespec ts;
    clock_gettime(lam_bench_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per call of fn(ctx), and the best (minimum) sample in
 * *best (JSON only: CPU-time accounting on a busy VM sometimes reads low,
 * so the best sample can overstate): calls batched so a sample is >= 2 ms. */
static double time_median(void (*fn)(void *), void *ctx, int reps, double *best)
{
    fn(ctx); /* warm-up */
    int inner = 1;
    for (;;) {
        double t0 = now();
        for (int i = 0; i < inner; i++)
            fn(ctx);
        if (now() - t0 > 2e-3 || inner >= (1 << 24))
            break;
        inner *= 2;
    }
    double s[32];
    if (reps > 32)
        reps = 32;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < inner; i++)
            fn(ctx);
        s[r] = (now() - t0) / inner;
    }
    qsort(s, (size_t)reps, sizeof s[0], cmp_d);
    if (best)
        *best = s[0];
    return s[reps / 2];
}

static float *falloc(size_t n)
{
    float *p = NULL;
    if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)))
        abort();
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 2001) * 0.001f - 1.0f;
    return p;
}

/* ---- elementwise, row and binary kernels: one row per entry of the
 * kernel lists (simd/kernel-list.h) ---- */
enum { K_UNARY, K_UNARY1, K_SOFTPLUS, K_UNARY2, K_ROW, K_LAYER_NORM, K_BINARY, K_BINARYC, K_RBINARYC, K_MEMCPY };

typedef struct {
    const char *name;
    int kind;
    size_t off; /* of the table member */
    float param;
} krow;

#define LAM__ROW_E(name, kind, ulp, abs, flags, param, specials) \
    {#name, K_##kind, offsetof(lam__kernel_table, name), param},
#define LAM__ROW_R(name, kind, ...) {#name, K_##kind, offsetof(lam__kernel_table, name), 0.0f},
#define LAM__ROW_B(name, kind, op) {#name, K_##kind, offsetof(lam__kernel_table, name), 0.0f},
static const krow krows[] = {
    LAM_ELEMENTWISE_KERNELS(LAM__ROW_E) LAM_ROW_KERNELS(LAM__ROW_R) LAM_BINARY_KERNELS(LAM__ROW_B)
    {"memcpy", K_MEMCPY, 0, 0.0f},
};
#undef LAM__ROW_E
#undef LAM__ROW_R
#undef LAM__ROW_B

/* bytes read + written per element */
static double krow_bytes(const krow *r) { return r->kind == K_BINARY ? 12.0 : 8.0; }

typedef struct {
    const lam__kernel_table *k;
    const krow *row;
    size_t n;
    float *x, *b, *y;
} vctx;

static void run_kernel(void *p)
{
    vctx *c = p;
    const krow *r = c->row;
    void (*f)(void) = NULL;
    if (r->kind != K_MEMCPY)
        memcpy(&f, (const char *)c->k + r->off, sizeof f);
    switch (r->kind) {
    case K_UNARY: ((lam__unary_fn)f)(c->n, c->x, c->y); break;
    case K_UNARY1: ((lam__unary1_fn)f)(c->n, c->x, c->y, r->param); break;
    case K_SOFTPLUS: ((lam__softplus_fn)f)(c->n, c->x, c->y, r->param, 20.0f); break;
    case K_UNARY2: ((lam__unary2_fn)f)(c->n, c->x, c->y, r->param, 1.0f); break;
    case K_ROW: /* rows of 1000 floats */
        for (size_t i = 0; i < c->n; i += 1000)
            ((lam__unary_fn)f)(1000, c->x + i, c->y + i);
        break;
    case K_LAYER_NORM:
        for (size_t i = 0; i < c->n; i += 1000)
            ((lam__layer_norm_fn)f)(1000, c->x + i, c->y + i, NULL, NULL, 1e-5f);
        break;
    case K_BINARY: ((lam__binary_fn)f)(c->n, c->x, c->b, c->y); break;
    case K_BINARYC:
    case K_RBINARYC: ((lam__binaryc_fn)f)(c->n, c->x, 1.5f, c->y); break;
    default: memcpy(c->y, c->x, c->n * sizeof(float)); break;
    }
}

/* ---- window kernels: one call per plane ---- */
typedef struct {
    const lam__kernel_table *k;
    int kind; /* 0 dwconv2d, 1 maxpool2d, 2 avgpool2d */
    lam__win2d g;
    size_t planes;
    float *x, *w, *y;
} wctx;

static void run_window(void *p)
{
    wctx *c = p;
    size_t isz = c->g.h * c->g.w, osz = c->g.oh * c->g.ow;
    for (size_t i = 0; i < c->planes; i++) {
        const float *x = c->x + i * isz;
        float *y = c->y + i * osz;
        if (c->kind == 0)
            c->k->dwconv2d(&c->g, x, c->w + (i % 32) * 9, 0.5f, y, 0, c->g.oh);
        else if (c->kind == 1)
            c->k->maxpool2d(&c->g, x, y, 0, c->g.oh);
        else
            c->k->avgpool2d(&c->g, x, y, 0, c->g.oh, 1, 0);
    }
}

/* ---- GEMM ---- */
typedef struct {
    const lam__kernel_table *k;
    size_t M, N, K;
    float *x, *W, *packed, *bias, *y;
    int lib; /* 0 lamina, 1 OpenBLAS, 2 oneDNN */
} gctx;

static void run_gemm(void *p)
{
    gctx *g = p;
    switch (g->lib) {
    case 0:
        g->k->gemm(g->M, g->N, g->K, g->x, g->K, g->packed, NULL, g->y, g->N,
                   (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY}, 0, g->N);
        break;
#ifdef HAVE_OPENBLAS_BENCH
    case 1:
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->M, (int)g->N, (int)g->K, 1.0f,
                    g->x, (int)g->K, g->W, (int)g->K, 0.0f, g->y, (int)g->N);
        break;
#endif
#ifdef HAVE_DNNL_BENCH
    case 2:
        dnnl_sgemm('N', 'T', (dnnl_dim_t)g->M, (dnnl_dim_t)g->N, (dnnl_dim_t)g->K, 1.0f, g->x,
                   (dnnl_dim_t)g->K, g->W, (dnnl_dim_t)g->K, 0.0f, g->y, (dnnl_dim_t)g->N);
        break;
#endif
    default: break;
    }
}

/* ---- conv_gemm ---- */
typedef struct {
    const lam__kernel_table *k;
    size_t M, K, ntasks;
    const float *const *rows; /* task 0's B rows; task t at off[t] */
    const float *packed, *bias;
    float *y;
    size_t ldy, *n, *off, *yoff;
} cctx;

static void run_conv(void *p)
{
    cctx *c = p;
    for (size_t t = 0; t < c->ntasks; t++)
        c->k->conv_gemm(c->M, c->n[t], c->K, c->packed, c->rows, c->off[t], c->bias,
                        c->y + c->yoff[t], c->ldy, (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY});
}

/* ---- attention ---- */
typedef struct {
    const lam__kernel_table *k;
    lam__attn_args a;
    size_t T;
} actx;

static void run_attn(void *p)
{
    actx *c = p;
    c->k->attention(&c->a, 0, c->T);
}

#ifdef HAVE_DNNL_BENCH
/* dnnl_cpu_isa_t as oneDNN's documentation names it; the values, not the
 * enumerators, so that any oneDNN 2.x builds this. */
static const char *dnnl_isa_name(unsigned v)
{
    switch (v) {
    case 0x1: return "sse41";
    case 0x3: return "avx";
    case 0x7: return "avx2";
    case 0x407: return "avx2_vnni";
    case 0xf: return "avx512_mic";
    case 0x1f: return "avx512_mic_4ops";
    case 0x27: return "avx512_core";
    case 0x67: return "avx512_core_vnni";
    case 0xe7: return "avx512_core_bf16";
    case 0x3e7: return "avx512_core_amx";
    default: return NULL;
    }
}
#endif

int main(int argc, char **argv)
{
    const char *isa = NULL;
    int json = 0, quick = 0, do_v = 1, do_g = 1, do_a = 1, do_w = 1, anchors = 1, which = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--isa") == 0 && i + 1 < argc)
            isa = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--wall") == 0)
            lam_bench_clock = CLOCK_MONOTONIC;
        else if (strcmp(argv[i], "--gemm") == 0)
            do_v = do_a = do_w = 0;
        else if (strcmp(argv[i], "--vunary") == 0)
            do_g = do_a = do_w = 0;
        else if (strcmp(argv[i], "--attn") == 0)
            do_v = do_g = do_w = 0;
        else if (strcmp(argv[i], "--window") == 0)
            do_v = do_g = do_a = 0;
        else if (strcmp(argv[i], "--no-anchors") == 0)
            anchors = 0;
        else if (strcmp(argv[i], "--which") == 0)
            which = 1;
        else {
            fprintf(stderr, "usage: %s [--isa scalar|avx2|avx512|neon] [--json] [--quick] "
                            "[--gemm|--vunary|--attn|--window] [--wall] [--no-anchors] [--which]\n", argv[0]);
            return 2;
        }
    }
    const lam__kernel_table *k = isa ? lam__kernels_for(isa) : lam__kernels();
    if (!k) {
        fprintf(stderr, "ISA %s not available here: %s\n", isa, lam__kernels_missing(isa));
        return 1;
    }
    if (which) {
        printf("%s\n", k->isa);
        return 0;
    }
#ifdef HAVE_OPENBLAS_BENCH
    openblas_set_num_threads(1);
#endif
#ifdef _OPENMP
    omp_set_num_threads(1); /* oneDNN's OpenMP runtime: one thread */
#endif
    const int reps = quick ? 3 : 11;
    const lam_bench_peak_probe *probe = lam_bench_peak_probe_for(k->isa);
    double peak = lam_bench_fma_peak(probe);
    const char *peak_isa = probe ? probe->isa : "none";
    const char *dnnl_isa = NULL;
    char dnnl_isa_buf[16];
#ifdef HAVE_DNNL_BENCH
    if (anchors) {
        unsigned v = (unsigned)dnnl_get_effective_cpu_isa();
        dnnl_isa = dnnl_isa_name(v);
        if (!dnnl_isa) {
            snprintf(dnnl_isa_buf, sizeof dnnl_isa_buf, "0x%x", v);
            dnnl_isa = dnnl_isa_buf;
        }
    }
#else
    (void)dnnl_isa_buf;
#endif
    if (json) {
        printf("{\"isa\":\"%s\",\"fma_peak_gflops\":%.2f,\"fma_peak_isa\":\"%s\",\"anchors\":%s",
               k->isa, peak / 1e9, peak_isa, anchors ? "true" : "false");
        if (dnnl_isa)
            printf(",\"dnnl_isa\":\"%s\"", dnnl_isa);
        printf(",\n \"vunary\":[");
    } else
        printf("# lamina kernels (%s), single thread\n\nFMA peak (%s): %.1f GFLOP/s%s%s\n\n",
               k->isa, peak_isa, peak / 1e9, dnnl_isa ? "; oneDNN ISA: " : "",
               dnnl_isa ? dnnl_isa : "");

    const size_t nv = 1000 << 10; /* 1,024,000: whole rows of 1000 */
    vctx vc = {k, NULL, nv, falloc(nv), falloc(nv), falloc(nv)};
    if (!json && do_v)
        printf("| kernel (1M floats) | Gelem/s | GB/s (read+write) |\n|---|---|---|\n");
    for (size_t i = 0; do_v && i < sizeof krows / sizeof krows[0]; i++) {
        vc.row = &krows[i];
        double t = time_median(run_kernel, &vc, reps, NULL);
        double ge = (double)nv / t / 1e9;
        if (json)
            printf("%s{\"kernel\":\"%s\",\"gelem_s\":%.3f,\"gb_s\":%.2f}", i ? "," : "",
                   krows[i].name, ge, ge * krow_bytes(&krows[i]));
        else
            printf("| %s | %.2f | %.1f |\n", krows[i].name, ge, ge * krow_bytes(&krows[i]));
    }
    free(vc.b);
    free(vc.x);
    free(vc.y);

    static const size_t shapes[][3] = {{1024, 1024, 1024}, {256, 1024, 784}, {64, 1024, 784},
                                       {16, 1024, 784},    {1, 1024, 1024},  {1, 1024, 784},
                                       {64, 10, 1024},     {1, 50, 10},      {1, 2, 50},
                                       {1024, 50, 10}};
    if (json)
        printf("],\n \"gemm\":[");
    else if (do_g)
        printf("\nGEMM y = x W^T (nn.Linear), single thread, median of the repetitions\n\n"
               "| M x N x K | lamina GFLOP/s | %% of peak | µs/call | OpenBLAS GFLOP/s | lamina/OpenBLAS | oneDNN GFLOP/s | lamina/oneDNN |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (size_t s = 0; do_g && s < sizeof shapes / sizeof shapes[0]; s++) {
        gctx g = {k, shapes[s][0], shapes[s][1], shapes[s][2], NULL, NULL, NULL, NULL, NULL, 0};
        g.x = falloc(g.M * g.K);
        g.W = falloc(g.N * g.K);
        g.y = falloc(g.M * g.N);
        g.packed = falloc(k->gemm_packed_size(g.N, g.K));
        k->gemm_pack(g.N, g.K, g.W, g.packed);
        double flop = 2.0 * (double)g.M * (double)g.N * (double)g.K, gf[3] = {0, 0, 0}, bf[3] = {0, 0, 0};
        for (int lib = 0; lib < 3; lib++) {
#ifndef HAVE_OPENBLAS_BENCH
            if (lib == 1)
                continue;
#endif
#ifndef HAVE_DNNL_BENCH
            if (lib == 2)
                continue;
#endif
            if (lib > 0 && !anchors)
                continue;
            g.lib = lib;
            double best;
            gf[lib] = flop / time_median(run_gemm, &g, reps, &best) / 1e9;
            bf[lib] = flop / best / 1e9;
        }
        char shape[64];
        snprintf(shape, sizeof shape, "%zux%zux%zu", g.M, g.N, g.K);
        const double pct = peak > 0 ? 100 * gf[0] * 1e9 / peak : 0; /* 0: no probe here */
        if (json)
            printf("%s{\"shape\":\"%s\",\"gflops\":%.2f,\"best_gflops\":%.2f,\"pct_peak\":%.1f,"
                   "\"us\":%.4f,\"openblas_gflops\":%.2f,\"openblas_best_gflops\":%.2f,"
                   "\"dnnl_gflops\":%.2f,\"dnnl_best_gflops\":%.2f}",
                   s ? "," : "", shape, gf[0], bf[0], pct, flop / gf[0] / 1e3,
                   gf[1], bf[1], gf[2], bf[2]);
        else {
            printf("| %s | %.1f | %.0f%% | %.3f |", shape, gf[0], pct, flop / gf[0] / 1e3);
            for (int lib = 1; lib < 3; lib++)
                if (gf[lib] > 0)
                    printf(" %.1f | %.2f× |", gf[lib], gf[0] / gf[lib]);
                else
                    printf(" — | — |");
            printf("\n");
        }
        free(g.x), free(g.W), free(g.y), free(g.packed);
    }

    /* conv_gemm on two layers' shapes: in cache (one task) and the layer
     * (batch 8, every task in turn) */
    if (json)
        printf("],\n \"conv_gemm\":[");
    else if (do_g)
        printf("\nconv_gemm (the convolution's GEMM, W . B), single thread, median\n\n"
               "| layer, B | M x N x K a task | GFLOP/s | %% of peak |\n|---|---|---|---|\n");
    for (int row = 0; do_g && row < 4; row++) {
        const int pw = row >= 2, layer = row & 1; /* 1x1 256->64, or 3x3 64->64 */
        const size_t M = 64, hw = 56 * 56, cin = pw ? 256 : 64, K = pw ? 256 : 576;
        const size_t wp = 58, hb = 10, blk = cin * hb * wp;           /* flat: 8 rows + 2 */
        const size_t chunk = 672, nch = (hw + chunk - 1) / chunk, batch = 8;
        const size_t ntasks = layer ? (pw ? batch * nch : batch * 7) : 1;
        size_t *n = malloc(3 * ntasks * sizeof(size_t));
        if (!n)
            abort();
        size_t *off = n + ntasks, *yoff = off + ntasks;
        const float **rows = malloc(K * sizeof(float *));
        float *b = falloc(pw ? (layer ? batch : 1) * cin * hw : ntasks * blk);
        float *w = falloc(M * K), *bias = falloc(M);
        float *y = falloc(pw ? (layer ? batch : 1) * M * hw : M * 464);
        float *packed = falloc(k->conv_packed_size(M, K));
        if (!rows)
            abort();
        k->conv_pack(M, K, w, packed);
        for (size_t ci = 0; ci < cin; ci++)
            for (size_t q = 0; q < K / cin; q++)
                rows[ci * (K / cin) + q] = pw ? b + ci * hw : b + ci * hb * wp + q / 3 * wp + q % 3;
        double flop = 0;
        for (size_t t = 0; t < ntasks; t++) {
            if (pw) { /* sample t / nch, pixels from (t % nch) chunk */
                size_t s0 = t / nch, p0 = t % nch * chunk;
                n[t] = hw - p0 < chunk ? hw - p0 : chunk;
                off[t] = s0 * cin * hw + p0;
                yoff[t] = s0 * M * hw + p0;
            } else {
                n[t] = 7 * wp + 56;
                off[t] = t * blk;
                yoff[t] = 0;
            }
            flop += 2.0 * (double)M * (double)n[t] * (double)K;
        }
        cctx c = {k, M, K, ntasks, rows, packed, bias, y, pw ? hw : 464, n, off, yoff};
        double best, t = time_median(run_conv, &c, reps, &best);
        const double gfl = flop / t / 1e9, pct = peak > 0 ? 100 * gfl * 1e9 / peak : 0;
        const char *name = pw ? "1x1 256->64 56x56" : "3x3 64->64 56x56";
        if (json)
            printf("%s{\"shape\":\"%s, %s\",\"gflops\":%.2f,\"best_gflops\":%.2f,"
                   "\"pct_peak\":%.1f}",
                   row ? "," : "", name, layer ? "layer" : "in cache", gfl, flop / best / 1e9, pct);
        else
            printf("| %s, %s | %zu x %zu x %zu | %.1f | %.0f%% |\n", name,
                   layer ? "layer (batch 8)" : "in cache", M, n[0], K, gfl, pct);
        free(n), free(rows), free(b), free(w), free(bias), free(y), free(packed);
    }

    if (json)
        printf("],\n \"attention\":[");
    else if (do_a)
        printf("\nAttention, one head, no weights (online softmax), single thread, median\n\n"
               "| T x head size | GFLOP/s | %% of peak | ms/call |\n|---|---|---|---|\n");
    for (int causal = 0; do_a && causal < 2; causal++) {
        const size_t T = 1024, D = 64;
        actx c = {k, {0}, T};
        float *q = falloc(T * D), *kk = falloc(T * D), *v = falloc(T * D), *o = falloc(T * D);
        for (size_t i = 0; i < T * D; i++) /* scores of a few units, as trained models have */
            q[i] = 0.5f * q[i], kk[i] = 0.5f * kk[i];
        c.a = (lam__attn_args){.Tk = T, .D = D, .Dv = D, .q = q, .k = kk, .v = v, .ldq = D,
                               .ldk = D, .ldv = D, .o = o, .ldo = D, .scale = 0.125f,
                               .causal = causal};
        const double pairs = causal ? (double)T * (double)(T + 1) / 2 : (double)T * (double)T;
        const double flop = 4.0 * pairs * (double)D;
        double best, t = time_median(run_attn, &c, reps, &best);
        const double gfl = flop / t / 1e9, pct = peak > 0 ? 100 * gfl * 1e9 / peak : 0;
        if (json)
            printf("%s{\"shape\":\"%zux%zu%s\",\"gflops\":%.2f,\"best_gflops\":%.2f,"
                   "\"pct_peak\":%.1f,\"ms\":%.4f}",
                   causal ? "," : "", T, D, causal ? " causal" : "", gfl, flop / best / 1e9, pct,
                   t * 1e3);
        else
            printf("| %zu x %zu%s | %.1f | %.0f%% | %.3f |\n", T, D, causal ? " causal" : "", gfl,
                   pct, t * 1e3);
        free(q), free(kk), free(v), free(o);
    }
    /* window kernels on issue 14's CNN shapes */
    static const struct {
        const char *name;
        int kind;
        size_t n, c, hw, k, s, p;
    } wrows[] = {
        {"dwconv2d 3x3 s1 p1, 8x32x112x112", 0, 8, 32, 112, 3, 1, 1},
        {"dwconv2d 3x3 s2 p1, 8x32x112x112", 0, 8, 32, 112, 3, 2, 1},
        {"maxpool2d 3x3 s2 p1, 8x64x112x112", 1, 8, 64, 112, 3, 2, 1},
        {"avgpool2d 3x3 s2 p1, 8x64x112x112", 2, 8, 64, 112, 3, 2, 1},
    };
    if (json)
        printf("],\n \"window\":[");
    else if (do_w)
        printf("\nWindow kernels, single thread, plane by plane (median of the repetitions)\n\n"
               "| kernel, input | ms | GFLOP/s (convolution) |\n|---|---|---|\n");
    for (size_t i = 0; do_w && i < sizeof wrows / sizeof wrows[0]; i++) {
        wctx c = {k, wrows[i].kind, {0}, wrows[i].n * wrows[i].c, NULL, NULL, NULL};
        size_t hw = wrows[i].hw, kk = wrows[i].k, st = wrows[i].s, p = wrows[i].p;
        size_t o = (hw + 2 * p - kk) / st + 1;
        c.g = (lam__win2d){hw, hw, o, o, kk, kk, st, st, 1, 1, p, p, 0};
        c.x = falloc(c.planes * hw * hw);
        c.y = falloc(c.planes * o * o);
        c.w = falloc(32 * 9);
        double t = time_median(run_window, &c, quick ? 3 : 7, NULL);
        double flop = 2.0 * (double)(c.planes * o * o * kk * kk);
        if (json)
            printf("%s{\"kernel\":\"%s\",\"ms\":%.4f,\"gflops\":%.2f}", i ? "," : "",
                   wrows[i].name, t * 1e3, wrows[i].kind == 0 ? flop / t / 1e9 : 0.0);
        else if (wrows[i].kind == 0)
            printf("| %s | %.3f | %.1f |\n", wrows[i].name, t * 1e3, flop / t / 1e9);
        else
            printf("| %s | %.3f | — |\n", wrows[i].name, t * 1e3);
        free(c.x), free(c.y), free(c.w);
    }
    printf(json ? "]}\n" : "\n");
    return 0;
}
