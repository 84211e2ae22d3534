/* The convolutions' arithmetic, on NCHW tensors (a 1-d one has H = 1).
 *
 * Convolution: per sample and group, the output pixels are the rows of a
 * GEMM through the kernel table, y[pixel, co] = patch[pixel, (kh, kw, ci)] .
 * W[co, (kh, kw, ci)] + bias[co], with W the weight permuted to that order
 * and packed once (conv.c / lam__conv_pack).  The input is first copied to
 * NHWC rows, so a patch row is kH x kW contiguous runs of in/groups floats;
 * the patches are gathered (im2col) in chunks of a bounded number of rows
 * that stay in L2, never for the whole image, and each chunk's result is
 * written back transposed into the NCHW output.  A 1x1 convolution (stride
 * 1, no padding) is a plain GEMM on the pixels' rows, transposed from NCHW
 * chunk by chunk.  Depthwise-style convolutions (one input channel per
 * group) run the kernel table's dwconv2d plane by plane.  Padding modes map
 * a padded coordinate to an input coordinate (or to nothing, for zeros), so
 * no padded copy is made, except of one plane for a depthwise convolution
 * with a padding mode other than zeros.
 *
 * Transposed convolution: per sample and group, the input pixels' NHWC rows
 * times the weight give each pixel's contribution to kH x kW output pixels
 * of every output channel (a GEMM with N = out/groups * kH * kW), which
 * are added into the output (col2im) in a fixed order.
 *
 * Determinism: every output element is computed by one task, with a fixed
 * summation order (the GEMM promises the same bits whatever its M and
 * column range), so results do not depend on the thread count.  Tasks
 * (sample x group x row chunk; sample x channel for the direct loop; sample
 * x group for the transposed one) go to lam__parallel.  Scratch memory is
 * per thread and kept for reuse (freed when the thread ends): each task's
 * buffer grows to the largest chunk, the calling thread's to the largest
 * input (its NHWC copy) and tap tables, so that a forward of a shape seen
 * before allocates nothing. */
#include "runtime/core/parallel.h"
#include "runtime/layers/conv.h"
#include <stdlib.h>
#include <string.h>

/* ---- per-thread scratch ---- */

typedef struct scratch {
    void *p;
    size_t cap;
} scratch;

/* slot 0: a task's GEMM buffers; slot 1: the caller's tap tables */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread scratch tls_scratch[2];

static void scratch_free(void *p)
{
    scratch *s = p;
    for (int i = 0; i < 2; i++) {
        lam__aligned_free(s[i].p);
        s[i].p = NULL;
        s[i].cap = 0;
    }
}

static void scratch_init(void) { (void)pthread_key_create(&scratch_key, scratch_free); }

static void *scratch_get(int slot, size_t bytes)
{
    scratch *s = &tls_scratch[slot];
    if (s->cap >= bytes)
        return s->p;
    pthread_once(&scratch_once, scratch_init);
    void *p = lam__aligned_alloc(bytes);
    if (!p)
        return NULL;
    lam__aligned_free(s->p);
    s->p = p;
    s->cap = bytes;
    pthread_setspecific(scratch_key, tls_scratch); /* freed when the thread ends */
    return p;
}

/* ---- padded coordinates ---- */

/* Input index of padded coordinate i - lo (i may be outside [0, n)), or -1
 * for a zero.  PyTorch's checks (conv.c) keep reflect and circular to one
 * fold. */
static inline int64_t map_index(int64_t i, int64_t n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case CONV_REFLECT: return i < 0 ? -i : 2 * (n - 1) - i;
    case CONV_REPLICATE: return i < 0 ? 0 : n - 1;
    case CONV_CIRCULAR: return i < 0 ? i + n : i - n;
    default: return -1;
    }
}

/* tab[kk * out + o] = the input index tap kk of output o reads, or -1 */
static void fill_taps(int32_t *tab, int64_t k, int64_t out, int64_t stride, int64_t dil,
                      int64_t lo, int64_t n, int mode)
{
    for (int64_t kk = 0; kk < k; kk++)
        for (int64_t o = 0; o < out; o++)
            tab[kk * out + o] = (int32_t)map_index(o * stride + kk * dil - lo, n, mode);
}

/* ---- tasks ---- */

typedef struct conv_job {
    const conv_state *s;
    const conv_geom *g;
    const float *x, *packed, *weight, *bias;
    float *y;
    lam__epilogue ep; /* a joined activation */
    const int32_t *th, *tw; /* tap tables (convolution) */
    float *xt;              /* the input as NHWC rows (GEMM paths) */
    bool pointwise;         /* 1x1, stride 1, no padding: rows transposed per chunk */
    int64_t N, K, chunk, nchunks, ntasks;
    int failed; /* a task found no scratch memory */
} conv_job;

static void job_fail(conv_job *j)
{
    __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
}

/* The input, NCHW, as NHWC rows (one row of C floats per pixel), in tasks
 * of 64 pixels. */
static void nhwc_tasks(void *ctx, int ith, int nth)
{
    conv_job *j = ctx;
    int64_t c = j->s->in_ch, hw = j->g->h * j->g->w, blocks = (hw + 63) / 64;
    for (int64_t t = ith; t < j->g->n * blocks; t += nth) {
        int64_t n = t / blocks, p0 = t % blocks * 64, p1 = p0 + 64 < hw ? p0 + 64 : hw;
        const float *x = j->x + n * c * hw;
        float *xt = j->xt + n * hw * c;
        /* 16 x 16 tiles: the 16 rows read and the 16 written stay in L1 */
        for (int64_t c0 = 0; c0 < c; c0 += 16) {
            int64_t c1 = c0 + 16 < c ? c0 + 16 : c;
            for (int64_t q0 = p0; q0 < p1; q0 += 16) {
                int64_t q1 = q0 + 16 < p1 ? q0 + 16 : p1;
                for (int64_t p = q0; p < q1; p++)
                    for (int64_t ci = c0; ci < c1; ci++)
                        xt[p * c + ci] = x[ci * hw + p];
            }
        }
    }
}

/* One GEMM task: sample n, group gi, output pixels [p0, p1).  A patch row
 * is kH x kW runs of in/groups channels copied from the NHWC rows (the
 * packed weight is in that order: (kh, kw, ci)). */
static void conv_gemm_task(conv_job *j, int64_t t, float *col, float *tmp)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t ohw = g->oh * g->ow, hw = g->h * g->w, C = s->in_ch;
    int64_t c = t % j->nchunks, gi = (t / j->nchunks) % s->groups, n = t / j->nchunks / s->groups;
    int64_t p0 = c * j->chunk, p1 = p0 + j->chunk < ohw ? p0 + j->chunk : ohw, rows = p1 - p0;
    int64_t cin = C / s->groups, K = j->K, N = j->N;
    if (j->pointwise) {
        /* the rows are the NCHW input's pixels, transposed chunk by chunk
         * (in L2) rather than the whole input first */
        const float *xc = j->x + (n * C + gi * cin) * hw + p0;
        for (int64_t r0 = 0; r0 < rows; r0 += 16) { /* in 16 x 16 tiles (L1) */
            int64_t r1 = r0 + 16 < rows ? r0 + 16 : rows;
            for (int64_t c0 = 0; c0 < cin; c0 += 16) {
                int64_t c1 = c0 + 16 < cin ? c0 + 16 : cin;
                for (int64_t r = r0; r < r1; r++)
                    for (int64_t ci = c0; ci < c1; ci++)
                        col[r * K + ci] = xc[ci * hw + r];
            }
        }
    } else {
        const float *xg = j->xt + n * hw * C + gi * cin;
        int64_t kh = s->k[0], kw = s->k[1];
        size_t run = (size_t)cin * sizeof(float);
        bool contiguous = s->dil[1] == 1 && cin == C;
        int64_t oh = p0 / g->ow, ow = p0 % g->ow;
        for (int64_t r = 0; r < rows; r++) {
            float *dst = col + r * K;
            for (int64_t a = 0; a < kh; a++) {
                int32_t ih = j->th[a * g->oh + oh];
                if (ih < 0) {
                    memset(dst + a * kw * cin, 0, run * (size_t)kw);
                    continue;
                }
                const float *xrow = xg + (int64_t)ih * g->w * C;
                /* all of the kernel row inside the input, one group: its kw
                 * pixels' channels are one run of the NHWC rows */
                int32_t iw0 = j->tw[ow];
                if (contiguous && iw0 >= 0 && j->tw[(kw - 1) * g->ow + ow] == iw0 + kw - 1) {
                    float *d = dst + a * kw * cin;
                    const float *src = xrow + (int64_t)iw0 * C;
                    if (kw * cin >= 16) {
                        memcpy(d, src, run * (size_t)kw);
                    } else { /* a few floats (LeNet's 5 x 1): no call */
                        for (int64_t q = 0; q < kw * cin; q++)
                            d[q] = src[q];
                    }
                    continue;
                }
                for (int64_t b = 0; b < kw; b++) {
                    int32_t iw = j->tw[b * g->ow + ow];
                    float *d = dst + (a * kw + b) * cin;
                    if (iw < 0) {
                        memset(d, 0, run);
                    } else if (cin >= 16) {
                        memcpy(d, xrow + (int64_t)iw * C, run);
                    } else { /* a stem's 3 channels: no call */
                        const float *src = xrow + (int64_t)iw * C;
                        for (int64_t ci = 0; ci < cin; ci++)
                            d[ci] = src[ci];
                    }
                }
            }
            if (++ow == g->ow) {
                ow = 0;
                oh++;
            }
        }
    }
    lam__kernels()->gemm((size_t)rows, (size_t)N, (size_t)K, col, (size_t)K,
                         j->packed + (size_t)gi * s->packed_group, j->bias ? j->bias + gi * N : NULL,
                         tmp, (size_t)N, j->ep, 0, (size_t)N);
    float *yg = j->y + (n * s->out_ch + gi * N) * ohw + p0;
    for (int64_t c0 = 0; c0 < N; c0 += 16) { /* back to NCHW in 16 x 16 tiles */
        int64_t c1 = c0 + 16 < N ? c0 + 16 : N;
        for (int64_t r0 = 0; r0 < rows; r0 += 16) {
            int64_t r1 = r0 + 16 < rows ? r0 + 16 : rows;
            for (int64_t co = c0; co < c1; co++)
                for (int64_t r = r0; r < r1; r++)
                    yg[co * ohw + r] = tmp[r * N + co];
        }
    }
}

/* y = act(y) for n floats, by the activation's own elementwise kernel (what
 * the layer after would run; the GEMM's epilogue gives the same bits). */
static void apply_ep(lam__epilogue ep, float *y, size_t n)
{
    const lam__kernel_table *k = lam__kernels();
    switch (ep.act) {
    case LAM_ACTIVATION_RELU: k->relu(n, y, y); break;
    case LAM_ACTIVATION_LEAKY_RELU: k->leaky_relu(n, y, y, ep.alpha); break;
    case LAM_ACTIVATION_RELU6: k->relu6(n, y, y); break;
    case LAM_ACTIVATION_SIGMOID: k->sigmoid(n, y, y); break;
    case LAM_ACTIVATION_TANH: k->tanh(n, y, y); break;
    case LAM_ACTIVATION_GELU: k->gelu(n, y, y); break;
    case LAM_ACTIVATION_GELU_TANH: k->gelu_tanh(n, y, y); break;
    case LAM_ACTIVATION_SILU: k->silu(n, y, y); break;
    default: break; /* identity (the epilogue takes no others) */
    }
}

/* One direct task: sample n, output channel co (one input channel): the
 * kernel table's depthwise kernel on the plane (each output one fmaf chain
 * over its taps in window order, then + bias; zero padding skips taps).
 * Other padding modes first copy the plane, padded, into the task's
 * scratch, and run the kernel on it without padding. */
static void conv_direct_task(conv_job *j, int64_t t, float *padded)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t co = t % s->out_ch, n = t / s->out_ch;
    int64_t mult = s->out_ch / s->groups, ci = co / mult;
    int64_t ohw = g->oh * g->ow, kh = s->k[0], kw = s->k[1];
    const float *xc = j->x + (n * s->in_ch + ci) * g->h * g->w;
    float *yc = j->y + (n * s->out_ch + co) * ohw;
    lam__win2d w2 = {.h = (size_t)g->h, .w = (size_t)g->w, .oh = (size_t)g->oh,
                     .ow = (size_t)g->ow, .kh = (size_t)kh, .kw = (size_t)kw,
                     .sh = (size_t)s->stride[0], .sw = (size_t)s->stride[1],
                     .dh = (size_t)s->dil[0], .dw = (size_t)s->dil[1],
                     .ph = (size_t)s->pad_lo[0], .pw = (size_t)s->pad_lo[1]};
    if (s->mode != CONV_ZEROS) {
        int64_t hp = g->h + s->pad_lo[0] + s->pad_hi[0], wp = g->w + s->pad_lo[1] + s->pad_hi[1];
        for (int64_t r = 0; r < hp; r++) {
            const float *xr = xc + map_index(r - s->pad_lo[0], g->h, s->mode) * g->w;
            for (int64_t c = 0; c < wp; c++)
                padded[r * wp + c] = xr[map_index(c - s->pad_lo[1], g->w, s->mode)];
        }
        w2.h = (size_t)hp, w2.w = (size_t)wp, w2.ph = 0, w2.pw = 0;
        xc = padded;
    }
    /* a joined activation runs on blocks of about 16 KiB of rows while they
     * are in L1, not as a second pass over the plane (the rows' bits do not
     * depend on the blocks) */
    int64_t step = g->oh;
    if (j->ep.act != LAM_ACTIVATION_IDENTITY) {
        step = (4096 / (g->ow > 0 ? g->ow : 1)) & ~(int64_t)3; /* whole 4-row blocks */
        step = step < 4 ? 4 : step;
    }
    for (int64_t r0 = 0; r0 < g->oh; r0 += step) {
        int64_t r1 = r0 + step < g->oh ? r0 + step : g->oh;
        lam__kernels()->dwconv2d(&w2, xc, j->weight + co * kh * kw,
                                 j->bias ? j->bias[co] : 0.0f, yc, (size_t)r0, (size_t)r1);
        apply_ep(j->ep, yc + r0 * g->ow, (size_t)((r1 - r0) * g->ow));
    }
}

/* One transposed task: sample n, group gi. */
static void conv_t_task(conv_job *j, int64_t t, float *cols)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t gi = t % s->groups, n = t / s->groups;
    int64_t hw = g->h * g->w, ohw = g->oh * g->ow;
    int64_t cin = s->in_ch / s->groups, cout = s->out_ch / s->groups;
    int64_t K = j->K, N = j->N, kh = s->k[0], kw = s->k[1];
    const float *xg = j->xt + n * hw * s->in_ch + gi * cin; /* NHWC rows */
    float *yg = j->y + (n * s->out_ch + gi * cout) * ohw;
    for (int64_t co = 0; co < cout; co++) {
        float bv = j->bias ? j->bias[gi * cout + co] : 0.0f;
        for (int64_t p = 0; p < ohw; p++)
            yg[co * ohw + p] = bv;
    }
    lam__epilogue ep = {LAM_ACTIVATION_IDENTITY, 0.0f}; /* the sums are not final yet */
    for (int64_t p0 = 0; p0 < hw; p0 += j->chunk) {
        int64_t rows = hw - p0 < j->chunk ? hw - p0 : j->chunk;
        lam__kernels()->gemm((size_t)rows, (size_t)N, (size_t)K, xg + p0 * s->in_ch,
                             (size_t)s->in_ch,
                             j->packed + (size_t)gi * s->packed_group, NULL, cols, (size_t)N, ep,
                             0, (size_t)N);
        for (int64_t r = 0; r < rows; r++) {
            int64_t ih = (p0 + r) / g->w, iw = (p0 + r) % g->w;
            const float *cr = cols + r * N;
            for (int64_t co = 0; co < cout; co++) {
                float *yc = yg + co * ohw;
                for (int64_t a = 0; a < kh; a++) {
                    int64_t oh = ih * s->stride[0] - s->pad[0] + a * s->dil[0];
                    if (oh < 0 || oh >= g->oh)
                        continue;
                    float *yr = yc + oh * g->ow;
                    const float *cv = cr + (co * kh + a) * kw;
                    for (int64_t b = 0; b < kw; b++) {
                        int64_t ow = iw * s->stride[1] - s->pad[1] + b * s->dil[1];
                        if (ow >= 0 && ow < g->ow)
                            yr[ow] += cv[b];
                    }
                }
            }
        }
    }
    apply_ep(j->ep, yg, (size_t)(cout * ohw));
}

/* A task's buffers: the patch rows (none for a transposed one, which reads
 * the NHWC rows in place), then the GEMM's output rows. */
static size_t col_floats(const conv_job *j)
{
    if (j->s->transposed)
        return 0;
    return ((size_t)j->chunk * (size_t)j->K + 15) & ~(size_t)15;
}

static size_t task_scratch(const conv_job *j)
{
    if (conv_is_direct(j->s)) {
        const conv_state *s = j->s;
        if (s->mode == CONV_ZEROS)
            return 0;
        return (size_t)((j->g->h + s->pad_lo[0] + s->pad_hi[0]) *
                        (j->g->w + s->pad_lo[1] + s->pad_hi[1])) *
                   sizeof(float) + 64; /* the padded plane */
    }
    return (col_floats(j) + (size_t)j->chunk * (size_t)j->N) * sizeof(float) + 64;
}

static void run_tasks(void *ctx, int ith, int nth)
{
    conv_job *j = ctx;
    float *a = NULL, *b = NULL;
    size_t bytes = task_scratch(j);
    if (bytes) {
        a = scratch_get(0, bytes);
        if (!a) {
            job_fail(j);
            return;
        }
        b = a + col_floats(j); /* on a 64-byte boundary */
    }
    for (int64_t t = ith; t < j->ntasks; t += nth) {
        if (j->s->transposed)
            conv_t_task(j, t, b);
        else if (conv_is_direct(j->s))
            conv_direct_task(j, t, a);
        else
            conv_gemm_task(j, t, a, b);
    }
}

/* Rows per chunk: the chunk's patch rows and results in about 640 KiB. */
static int64_t chunk_rows(int64_t K, int64_t N, int64_t total)
{
    int64_t r = (INT64_C(160) * 1024) / (K + N);
    if (r < 48)
        r = 48;
    if (r > 1024)
        r = 1024;
    return total < r ? (total > 0 ? total : 1) : r;
}

/* Work below this many flops stays on the calling thread. */
#define CONV_PARALLEL_MIN_FLOPS 4e6

lam_status lam__conv_compute(const conv_state *s, const conv_geom *g, const float *x, float *y,
                             const float *packed, const float *weight, const float *bias,
                             lam__epilogue ep)
{
    if (g->n == 0 || g->oh == 0 || g->ow == 0 || s->out_ch == 0)
        return LAM_OK; /* an empty output (its other dims may be huge) */
    int64_t ohw = g->oh * g->ow, hw = g->h * g->w;
    conv_job j = {.s = s, .g = g, .x = x, .y = y, .packed = packed, .weight = weight,
                  .bias = bias, .ep = ep};
    conv_gemm_dims(s, &j.N, &j.K);
    double flops = 2.0 * (double)g->n * (double)s->out_ch * (double)ohw *
                   (double)(s->in_ch / s->groups) * (double)(s->k[0] * s->k[1]);
    bool direct = conv_is_direct(s);
    /* the caller's scratch: the NHWC rows (GEMM paths), then the tap tables */
    bool pointwise = !s->transposed && !direct && s->k[0] == 1 && s->k[1] == 1 &&
                     s->stride[0] == 1 && s->stride[1] == 1 && s->pad_lo[0] == 0 &&
                     s->pad_lo[1] == 0 && s->pad_hi[0] == 0 && s->pad_hi[1] == 0;
    size_t nx = direct || pointwise ? 0 : ((size_t)(g->n * hw * s->in_ch) + 15) & ~(size_t)15;
    size_t ntaps = s->transposed ? 0 : (size_t)(s->k[0] * g->oh + s->k[1] * g->ow);
    float *mem = scratch_get(1, nx * sizeof(float) + ntaps * sizeof(int32_t) + 64);
    if (!mem)
        return lam__oom("convolution scratch");
    if (!s->transposed) {
        int32_t *taps = (int32_t *)(void *)(mem + nx);
        fill_taps(taps, s->k[0], g->oh, s->stride[0], s->dil[0], s->pad_lo[0], g->h, s->mode);
        fill_taps(taps + s->k[0] * g->oh, s->k[1], g->ow, s->stride[1], s->dil[1], s->pad_lo[1],
                  g->w, s->mode);
        j.th = taps;
        j.tw = taps + s->k[0] * g->oh;
    }
    int nth = flops < CONV_PARALLEL_MIN_FLOPS ? 1 : lam__threads_for_call();
    j.pointwise = pointwise;
    if (!direct && !j.pointwise) {
        j.xt = mem;
        int64_t blocks = g->n * ((hw + 63) / 64);
        int t = nth < blocks ? nth : (int)blocks;
        if (t > 1)
            lam__parallel(t, nhwc_tasks, &j);
        else
            nhwc_tasks(&j, 0, 1);
    }
    if (s->transposed) {
        j.chunk = chunk_rows(0, j.N, hw);
        j.ntasks = g->n * s->groups;
    } else if (direct) {
        j.ntasks = g->n * s->out_ch;
    } else {
        j.chunk = chunk_rows(j.K, j.N, ohw);
        j.nchunks = (ohw + j.chunk - 1) / j.chunk;
        j.ntasks = g->n * s->groups * j.nchunks;
    }
    if (nth > j.ntasks)
        nth = (int)j.ntasks;
    if (nth > 1)
        lam__parallel(nth, run_tasks, &j);
    else
        run_tasks(&j, 0, 1);
    if (__atomic_load_n(&j.failed, __ATOMIC_RELAXED))
        return lam__oom("convolution scratch");
    return LAM_OK;
}

lam_status lam__conv_pack(conv_state *s, const float *w)
{
    int64_t N, K;
    conv_gemm_dims(s, &N, &K);
    const lam__kernel_table *k = lam__kernels();
    float *t = malloc(sizeof(float) * (size_t)(N * K > 0 ? N * K : 1));
    if (!t)
        return lam__oom("convolution weight packing");
    int64_t kk = s->k[0] * s->k[1];
    for (int64_t gi = 0; gi < s->groups; gi++) {
        const float *wg = w + gi * K * N;
        if (s->transposed) {
            /* weight [in, out/groups, kH, kW]: group gi's rows are a K x N
             * matrix; the GEMM wants it as N x K */
            for (int64_t i = 0; i < K; i++)
                for (int64_t o = 0; o < N; o++)
                    t[o * K + i] = wg[i * N + o];
        } else {
            /* weight [out, in/groups, kH, kW]: each output's row as (kh,
             * kw, ci), the order of the patch rows */
            int64_t cin = K / kk;
            for (int64_t o = 0; o < N; o++)
                for (int64_t ci = 0; ci < cin; ci++)
                    for (int64_t q = 0; q < kk; q++)
                        t[o * K + q * cin + ci] = wg[o * K + ci * kk + q];
        }
        k->gemm_pack((size_t)N, (size_t)K, t, s->packed + gi * s->packed_group);
    }
    free(t);
    return LAM_OK;
}
