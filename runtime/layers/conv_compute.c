/* The convolutions' arithmetic, on NCHW tensors (a 1-d one has H = 1).
 *
 * Convolution: per sample and group, Y = W . B through the kernel table's
 * conv_gemm (LAM_CONV_KERNELS): y[co, pixel] = act(sum_k W[co, k] B[k,
 * pixel] + bias[co]), k = (ci, kh, kw) in PyTorch's weight order (the
 * weight packed once, conv.c / lam__conv_pack), the pixels contiguous in
 * the NCHW output, so nothing is transposed.  Row k of B is a pointer
 * (rows[k]), made once per thread, and the task's pixels an offset:
 *   - pointwise (1x1, stride 1, no padding): B is the input itself,
 *     rows[ci] = channel ci's plane; no copy at all;
 *   - flat (stride 1, any kernel, dilation, padding mode): per task (a
 *     band of output rows), the input rows it reads are copied once into a
 *     block padded by the padding mode (map_index), hb x wp per channel;
 *     output (oh, ow) is then pixel (oh - oh0) wp + ow of every tap's row
 *     blk + ci hb wp + a dh wp + b dw, so the kernel runs on the padded
 *     width straight into the output, the wp - ow extra columns per row
 *     not stored (conv_gemm_rows), or, where whole rows waste fewer lanes
 *     than that (the stem), row by row (conv_gemm, off = the row's start
 *     in the block);
 *   - im2col (where the flat path's extra columns would cost more): the
 *     patches as columns (K x chunk, in L2), chunk by chunk, never for the
 *     whole image.
 *   - Winograd F(4x4, 3x3) or, on small planes, F(2x2, 3x3) (3x3,
 *     stride 1, one group, 16 or more channels, planes the tiles fit:
 *     conv_winograd): 4x (2.25x) fewer multiply-adds, through the same
 *     conv_gemm (below, "Winograd").
 * Depthwise-style convolutions (one input channel per group) run the
 * kernel table's dwconv2d plane by plane (a padding mode other than zeros
 * copies the plane, padded, first), or, on small planes (zero padding, one
 * output channel per input channel), dwconv2d_nc on blocks of channels,
 * 16 (AVX-512) to a vector: the same bits.
 *
 * Transposed convolution: split by output phase (oh mod stride, ow mod
 * stride) into ordinary stride-1 convolutions over the input, each with
 * the weight's taps of that phase, run through conv_gemm like the flat
 * path (t_phase_task, below), their outputs stored at the stride.  Where
 * that does not pay (taps reaching far past a small input: the phases
 * would multiply many zeros; see lam__conv_compute), per sample and group
 * the input pixels' NHWC rows times the weight give each pixel's
 * contribution to kH x kW output pixels of every output channel (a GEMM
 * with N = out/groups * kH * kW), which are added into the output (col2im)
 * in a fixed order.  Which of the two runs depends only on the shapes.
 *
 * Determinism: every output element is computed by one task, with a fixed
 * summation order (conv_gemm and the GEMM promise the same bits whatever
 * the pixel or row range), so results do not depend on the thread count,
 * and the three paths give the same bits (one chain over k in the same
 * order, the padding's zeros included; Winograd's bits are its own, the
 * same on every ISA).  Tasks (sample x group x pixel or
 * row chunk; im2col on a small plane: chunks of the batch's pixels across
 * its samples; sample x channel for the direct loop; sample x group x phase
 * row band x column chunk for the transposed one by phases, sample x group
 * for its col2im) go to lam__parallel.  Scratch memory is per thread and
 * kept for reuse (freed when the thread ends): each task's buffer grows to
 * the largest chunk, the calling thread's to the largest input (the
 * transposed col2im path's NHWC copy) and tap or phase tables, so that a forward of a shape
 * seen before allocates nothing. */
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

/* How a convolution's B (K x pixels) is made (conv_gemm's rows). */
enum {
    CONV_PATH_POINTWISE, /* 1x1, stride 1, no padding: the input planes */
    CONV_PATH_FLAT,      /* stride 1: padded rows of the input, flat */
    CONV_PATH_COL,       /* the rest: im2col columns, chunk by chunk */
    CONV_PATH_WINO,      /* 3x3 stride 1: Winograd (conv_winograd) */
};

/* Winograd: about the most tiles a task transforms at once (whole rows of
 * tiles: at least one row, however wide). */
#define LAM__WINO_TMAX 144

typedef struct conv_job {
    const conv_state *s;
    const conv_geom *g;
    const float *x, *packed, *weight, *bias;
    float *y;
    lam__epilogue ep; /* a joined activation (the kernels' epilogue) */
    /* A residual (forward_ep's ep.add, laid out as y): y = rep.act(conv + res),
     * added by the conv_gemm kernels' epilogue (kernel_ep: the pointwise,
     * flat and im2col paths) or by each task on the outputs it just wrote
     * (add_res: the others); ep is then the identity */
    const float *res;
    lam__epilogue rep;
    const int32_t *th, *tw; /* tap tables (convolution) */
    float *xt;              /* the input as NHWC rows (transposed convolution) */
    const int64_t *ph[2];   /* transposed by phases: per dimension, t_phases' table */
    const size_t *po;       /* ... each phase's packed weight offset in a group */
    bool phased;            /* transposed: by output phases (else GEMM + col2im) */
    int64_t qb, cw, nqb, ncb, span[2], qn[2]; /* the phases' row bands, column chunks */
    int path;               /* CONV_PATH_* (convolution) */
    int64_t N, K, chunk, nchunks, ntasks;
    int64_t wp, hb, ldt; /* the flat path's padded width, block rows; the transposed
                          * one's tile stride */
    bool xs;             /* im2col: chunks of the batch's pixels, across samples */
    bool rowwise;        /* the flat path: conv_gemm per output row (else the band at once,
                          * conv_gemm_rows) */
    int64_t tail;        /* pointwise: the plane's last pixels done by gemm (conv_pw_tail) */
    int failed; /* a task found no scratch memory */
    int stream; /* the direct kernel may store its output past the caches */
    int64_t cb; /* depthwise by channel blocks (dwconv2d_nc): channels a task (0: planes) */
    /* Winograd: tiles across and down a plane, tiles a task (tp: rounded up to
     * 16), output channels a task (a multiple of 8), tile and channel chunks;
     * the padded rows' and columns' input indices (-1: a zero) */
    int64_t wm; /* Winograd: the tile's outputs across, 4 (F(4x4, 3x3)) or 2 */
    int64_t ntx, nty, tt, tp, mc, ntc, noc;
    bool wrows; /* wino_in reads padded rows side by side (else gathered patches) */
    const int32_t *wh, *ww;
} conv_job;

static void job_fail(conv_job *j)
{
    __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
}

static void apply_ep(lam__epilogue ep, float *y, size_t n);

/* The residual, when there is one: y = act(y + res) on channels [c0, c1)
 * of sample n, pixels [p0, p1) of their planes (just written: in cache),
 * by the add op's kernel, then the activation's: the bits of the
 * convolution, then torch's `out + identity`, then the activation. */
static void add_res(const conv_job *j, int64_t n, int64_t c0, int64_t c1, int64_t p0, int64_t p1)
{
    if (!j->res || p1 <= p0)
        return;
    const lam__kernel_table *k = lam__kernels();
    int64_t ohw = j->g->oh * j->g->ow;
    bool whole = p0 == 0 && p1 == ohw; /* the planes one after another: one run */
    for (int64_t c = c0; c < c1; c += whole ? c1 - c0 : 1) {
        size_t o = (size_t)((n * j->s->out_ch + c) * ohw + p0);
        size_t len = (size_t)(whole ? (c1 - c0) * ohw : p1 - p0);
        k->add(len, j->y + o, j->res + o, j->y + o);
        apply_ep(j->rep, j->y + o, len);
    }
}

/* The epilogue of a conv_gemm (conv_gemm_rows) call whose output starts at
 * sample n, channel c0, pixel p0: the residual, if any, goes to the kernel
 * (added before the activation, as add_res would: the same bits), at the
 * same place in its planes. */
static lam__epilogue kernel_ep(const conv_job *j, int64_t n, int64_t c0, int64_t p0)
{
    if (!j->res)
        return j->ep;
    int64_t ohw = j->g->oh * j->g->ow;
    lam__epilogue e = j->rep;
    e.add = j->res + (n * j->s->out_ch + c0) * ohw + p0;
    e.ldadd = (size_t)ohw;
    return e;
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

/* The first [lo, hi) of the n outputs o with 0 <= o s + t < w (a tap t's
 * interior: every input index inside the row). */
static void interior(int64_t n, int64_t s, int64_t t, int64_t w, int64_t *lo, int64_t *hi)
{
    int64_t a = t >= 0 ? 0 : (-t + s - 1) / s, b = w - 1 - t < 0 ? 0 : (w - 1 - t) / s + 1;
    *lo = a < n ? a : n;
    *hi = b < *lo ? *lo : (b < n ? b : n);
}

/* One task of the pointwise path: sample n, group gi, output pixels [p0,
 * p1): B is the input itself (rows[ci] = channel ci's plane, set up once
 * per thread; the sample, group and pixels are the offset). */
static void pw_task(conv_job *j, int64_t t, const float *const *rows, float *xt, float *yt)
{
    const conv_state *s = j->s;
    int64_t ohw = j->g->oh * j->g->ow, cin = s->in_ch / s->groups;
    int64_t c = t % j->nchunks, gi = (t / j->nchunks) % s->groups, n = t / j->nchunks / s->groups;
    int64_t p0 = c * j->chunk, p1 = p0 + j->chunk < ohw ? p0 + j->chunk : ohw;
    int64_t q = p1 == ohw && ohw - j->tail > p0 ? ohw - j->tail : p1 == ohw ? p0 : p1;
    /* [q, p1): gemm's (the chunking may leave part of the tail to [p0, q):
     * the same bits either way) */
    const lam__kernel_table *k = lam__kernels();
    if (q > p0)
        k->conv_gemm((size_t)j->N, (size_t)(q - p0), (size_t)j->K,
                     j->packed + (size_t)gi * s->packed_group, rows,
                     (size_t)((n * s->in_ch + gi * cin) * ohw + p0),
                     j->bias ? j->bias + gi * j->N : NULL,
                     j->y + (n * s->out_ch + gi * j->N) * ohw + p0, (size_t)ohw,
                     kernel_ep(j, n, gi * j->N, p0));
    if (q == p1)
        return;
    /* the tail's pixels as rows of K channels (xt), through gemm into rows
     * of N channels (yt), put back in their planes (one group: gi = 0) */
    const int64_t r = p1 - q, K = j->K, N = j->N;
    const float *x = j->x + n * s->in_ch * ohw + q;
    for (int64_t ci = 0; ci < K; ci++)
        for (int64_t i = 0; i < r; i++)
            xt[i * K + ci] = x[ci * ohw + i];
    k->gemm((size_t)r, (size_t)N, (size_t)K, xt, (size_t)K, j->s->gpacked, j->bias, yt,
            (size_t)N, j->ep, 0, (size_t)N);
    float *y = j->y + n * s->out_ch * ohw + q;
    for (int64_t co = 0; co < N; co++)
        for (int64_t i = 0; i < r; i++)
            y[co * ohw + i] = yt[i * N + co];
    add_res(j, n, 0, N, q, p1);
}

/* d[q] = x[q s] for q in [0, n): a phase plane's row from an input row (the
 * flat path), an im2col row at a stride.  Stride 2 vectorized (the
 * baseline ISA's shuffles: GCC vectorizes it at -O3 only; clang at -O2). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("tree-vectorize")))
#endif
static void copy_stride2(float *restrict d, const float *restrict x, int64_t n)
{
    for (int64_t q = 0; q < n; q++)
        d[q] = x[2 * q];
}

static void copy_strided(float *d, const float *x, int64_t n, int64_t s)
{
    if (s == 2) {
        copy_stride2(d, x, n);
        return;
    }
    for (int64_t q = 0; q < n; q++)
        d[q] = x[q * s];
}

/* The phases (mod stride s) that the taps a dil, a < k, fall in, as bits
 * (the residues repeat after s taps); every bit for a stride past 64. */
static uint64_t phases_read(int64_t k, int64_t dil, int64_t s)
{
    if (s > 64)
        return ~UINT64_C(0);
    uint64_t m = 0;
    for (int64_t a = 0; a < k && a < s; a++)
        m |= UINT64_C(1) << (a * dil % s);
    return m;
}

/* One task of the flat path: sample n, group gi, output rows [oh0, oh1).
 * The padded input rows they read are copied (padding by the padding
 * mode) into blk, split by stride into sh x sw phase planes per channel
 * (space to depth): plane (ph, pw) holds padded (r sh + ph, c sw + pw) at
 * row r - oh0 sh, column c, hb x wq floats.  Tap (a, b) of output (oh, ow)
 * is padded (oh sh + a dh, ow sw + b dw): in plane ((a dh) % sh, (b dw) %
 * sw), at pixel (oh - oh0 + (a dh) / sh) wq + ow + (b dw) / sw, so with
 * rows[(ci, a, b)] = that plane + ((a dh) / sh) wq + (b dw) / sw (set up
 * once per thread) output (oh, ow) is pixel (oh - oh0) wq + ow of every
 * row: the kernel runs over (oh1 - oh0 - 1) wq + ow pixels into the
 * output, the wq - ow extra columns per row not stored (conv_gemm_rows);
 * or (rowwise) once per output row, ow pixels from offset (oh - oh0) wq. */
static void flat_task(conv_job *j, int64_t t, const float *const *rows, float *blk)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t ohw = g->oh * g->ow, cin = s->in_ch / s->groups, wq = j->wp, hb = j->hb;
    int64_t sh = s->stride[0], sw = s->stride[1];
    int64_t c = t % j->nchunks, gi = (t / j->nchunks) % s->groups, n = t / j->nchunks / s->groups;
    int64_t oh0 = c * j->chunk, oh1 = oh0 + j->chunk < g->oh ? oh0 + j->chunk : g->oh;
    int64_t rb = oh1 - oh0 + (s->k[0] - 1) * s->dil[0] / sh; /* plane rows needed */
    int64_t pl = s->pad_lo[1];
    int64_t hp = g->h + s->pad_lo[0] + s->pad_hi[0], wpad = g->w + pl + s->pad_hi[1];
    const float *xg = j->x + (n * s->in_ch + gi * cin) * g->h * g->w;
    /* the phases some tap reads (a 1x1 kernel at stride 2: only (0, 0);
     * the others' planes are left unwritten) */
    uint64_t used_h = phases_read(s->k[0], s->dil[0], sh);
    uint64_t used_w = phases_read(s->k[1], s->dil[1], sw);
    /* the padded rows in order (each input row read once, for all its
     * phases); the next channel's rows prefetched while a channel is copied
     * (rows a stride apart, a few lines each: the hardware prefetchers do
     * not follow them) */
    for (int64_t ci = 0; ci < cin; ci++) {
        if (ci + 1 < cin)
            for (int64_t r = 0; r < rb; r++)
                for (int64_t ph = 0; ph < sh && ph < 64; ph++) {
                    int64_t pr = (oh0 + r) * sh + ph;
                    int64_t ih = pr < hp ? map_index(pr - s->pad_lo[0], g->h, s->mode) : -1;
                    if (!(used_h >> ph & 1) || ih < 0)
                        continue;
                    const float *xr = xg + ((ci + 1) * g->h + ih) * g->w;
                    for (int64_t o = 0; o < g->w; o += 16)
                        __builtin_prefetch(xr + o);
                    __builtin_prefetch(xr + g->w - 1);
                }
        for (int64_t r = 0; r < rb; r++)
            for (int64_t ph = 0; ph < sh; ph++)
                for (int64_t pw = 0; pw < sw; pw++) {
                    if (ph < 64 && pw < 64 && !(used_h >> ph & 1 && used_w >> pw & 1))
                        continue; /* (past 64: every phase is read) */
                    float *d = blk + ((ci * sh + ph) * sw + pw) * hb * wq + r * wq;
                    int64_t lo, hi; /* the columns inside the input */
                    interior(wq, sw, pw - pl, g->w, &lo, &hi);
                    int64_t pr = (oh0 + r) * sh + ph; /* padded row */
                    int64_t ih = pr < hp ? map_index(pr - s->pad_lo[0], g->h, s->mode) : -1;
                    if (ih < 0) {
                        memset(d, 0, (size_t)wq * sizeof(float));
                        continue;
                    }
                    const float *xr = xg + (ci * g->h + ih) * g->w;
                    for (int64_t q = 0; q < wq; q++) {
                        if (q == lo && hi > lo) { /* the interior */
                            if (sw == 1)
                                memcpy(d + lo, xr + lo + pw - pl,
                                       (size_t)(hi - lo) * sizeof(float));
                            else
                                copy_strided(d + lo, xr + lo * sw + pw - pl, hi - lo, sw);
                            q = hi - 1;
                            continue;
                        }
                        int64_t pc = q * sw + pw; /* padded column */
                        int64_t iw = pc < wpad ? map_index(pc - pl, g->w, s->mode) : -1;
                        d[q] = iw < 0 ? 0.0f : xr[iw];
                    }
                }
    }
    int64_t np = (oh1 - oh0 - 1) * wq + g->ow, M = j->N;
    float *yg = j->y + (n * s->out_ch + gi * M) * ohw + oh0 * g->ow;
    if (j->rowwise) {
        /* row by row, in place: output row r is pixels [r wq, r wq + ow) */
        for (int64_t r = 0; r < oh1 - oh0; r++)
            lam__kernels()->conv_gemm((size_t)M, (size_t)g->ow, (size_t)j->K,
                                      j->packed + (size_t)gi * s->packed_group, rows,
                                      (size_t)(r * wq), j->bias ? j->bias + gi * M : NULL,
                                      yg + r * g->ow, (size_t)ohw,
                                      kernel_ep(j, n, gi * M, (oh0 + r) * g->ow));
    } else {
        lam__kernels()->conv_gemm_rows((size_t)M, (size_t)np, (size_t)j->K,
                                       j->packed + (size_t)gi * s->packed_group, rows, 0,
                                       j->bias ? j->bias + gi * M : NULL, yg, (size_t)ohw,
                                       kernel_ep(j, n, gi * M, oh0 * g->ow), (size_t)wq,
                                       (size_t)g->ow);
    }
}

/* One task of the im2col path (strides, the stem): sample n, group gi,
 * output pixels [p0, p1): the patches as columns, col[k][p - p0] for k =
 * (ci, a, b) (rows[k] = col + k chunk, set up once per thread), gathered
 * through the tap tables (interior runs without them), then the kernel
 * writes the NCHW output in place. */
static void col_gather(const conv_job *j, int64_t n, int64_t gi, int64_t p0, int64_t p1,
                       float *col)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t cin = s->in_ch / s->groups, kh = s->k[0], kw = s->k[1];
    int64_t sw = s->stride[1];
    const float *xg = j->x + (n * s->in_ch + gi * cin) * g->h * g->w;
    for (int64_t ci = 0; ci < cin; ci++)
        for (int64_t a = 0; a < kh; a++)
            for (int64_t b = 0; b < kw; b++) {
                float *d = col + ((ci * kh + a) * kw + b) * j->chunk;
                const int32_t *twb = j->tw + b * g->ow;
                int64_t lo, hi, tb = b * s->dil[1] - s->pad_lo[1];
                interior(g->ow, sw, tb, g->w, &lo, &hi);
                for (int64_t p = p0; p < p1;) {
                    int64_t oh = p / g->ow, ow = p % g->ow;
                    int64_t e = (oh + 1) * g->ow < p1 ? (oh + 1) * g->ow : p1, ow1 = ow + e - p;
                    int32_t ih = j->th[a * g->oh + oh];
                    float *dd = d + (p - p0); /* output ow at dd[ow - ow0] */
                    int64_t ow0 = ow;
                    if (ih < 0) {
                        memset(dd, 0, (size_t)(ow1 - ow) * sizeof(float));
                    } else {
                        const float *xr = xg + (ci * g->h + ih) * g->w;
                        int64_t q = ow, m0 = lo > ow ? lo : ow, m1 = hi < ow1 ? hi : ow1;
                        for (; q < m0 && q < ow1; q++)
                            dd[q - ow0] = twb[q] < 0 ? 0.0f : xr[twb[q]];
                        if (m1 > m0) {
                            if (sw == 1)
                                memcpy(dd + (m0 - ow0), xr + m0 + tb,
                                       (size_t)(m1 - m0) * sizeof(float));
                            else
                                copy_strided(dd + (m0 - ow0), xr + m0 * sw + tb, m1 - m0, sw);
                            q = m1;
                        }
                        for (; q < ow1; q++)
                            dd[q - ow0] = twb[q] < 0 ? 0.0f : xr[twb[q]];
                    }
                    p = e;
                }
            }
}

static void col_task(conv_job *j, int64_t t, const float *const *rows, float *col)
{
    const conv_state *s = j->s;
    int64_t ohw = j->g->oh * j->g->ow;
    const lam__kernel_table *k = lam__kernels();
    if (j->xs) {
        /* pixels [q0, q1) of the whole batch (one group), sample by sample
         * into the columns; a chunk within one sample goes straight to the
         * output, one across samples through the buffer after the columns */
        int64_t q0 = t * j->chunk, q1 = q0 + j->chunk < j->g->n * ohw ? q0 + j->chunk
                                                                        : j->g->n * ohw;
        for (int64_t q = q0; q < q1;) {
            int64_t n = q / ohw, p = q % ohw, e = (n + 1) * ohw < q1 ? (n + 1) * ohw : q1;
            col_gather(j, n, 0, p, p + e - q, col + (q - q0));
            q = e;
        }
        if (q0 / ohw == (q1 - 1) / ohw) {
            int64_t n = q0 / ohw, p = q0 % ohw;
            k->conv_gemm((size_t)j->N, (size_t)(q1 - q0), (size_t)j->K, j->packed, rows, 0,
                         j->bias, j->y + n * s->out_ch * ohw + p, (size_t)ohw,
                         kernel_ep(j, n, 0, p));
            return;
        }
        float *yt = col + j->K * j->chunk;
        k->conv_gemm((size_t)j->N, (size_t)(q1 - q0), (size_t)j->K, j->packed, rows, 0, j->bias,
                     yt, (size_t)j->chunk, j->ep);
        for (int64_t q = q0; q < q1;) {
            int64_t n = q / ohw, p = q % ohw, e = (n + 1) * ohw < q1 ? (n + 1) * ohw : q1;
            for (int64_t m = 0; m < j->N; m++)
                memcpy(j->y + (n * s->out_ch + m) * ohw + p, yt + m * j->chunk + (q - q0),
                       (size_t)(e - q) * sizeof(float));
            add_res(j, n, 0, j->N, p, p + e - q);
            q = e;
        }
        return;
    }
    int64_t c = t % j->nchunks, gi = (t / j->nchunks) % s->groups, n = t / j->nchunks / s->groups;
    int64_t p0 = c * j->chunk, p1 = p0 + j->chunk < ohw ? p0 + j->chunk : ohw;
    col_gather(j, n, gi, p0, p1, col);
    k->conv_gemm((size_t)j->N, (size_t)(p1 - p0), (size_t)j->K,
                 j->packed + (size_t)gi * s->packed_group, rows, 0,
                 j->bias ? j->bias + gi * j->N : NULL,
                 j->y + (n * s->out_ch + gi * j->N) * ohw + p0, (size_t)ohw,
                 kernel_ep(j, n, gi * j->N, p0));
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

static lam__win2d direct_geom(const conv_job *j)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    return (lam__win2d){.h = (size_t)g->h, .w = (size_t)g->w, .oh = (size_t)g->oh,
                        .ow = (size_t)g->ow, .kh = (size_t)s->k[0], .kw = (size_t)s->k[1],
                        .sh = (size_t)s->stride[0], .sw = (size_t)s->stride[1],
                        .dh = (size_t)s->dil[0], .dw = (size_t)s->dil[1],
                        .ph = (size_t)s->pad_lo[0], .pw = (size_t)s->pad_lo[1],
                        .stream = j->stream};
}

/* One depthwise task by channels: sample n, channels [c0, c0 + cb) of
 * block t, through dwconv2d_nc (zero padding, one input channel per
 * output channel), then the joined activation over the block's planes
 * (contiguous, just written: in L2). */
static void conv_nc_task(conv_job *j, int64_t t, float *scratch)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t nb = (s->out_ch + j->cb - 1) / j->cb, n = t / nb, c0 = t % nb * j->cb;
    int64_t nc = s->out_ch - c0 < j->cb ? s->out_ch - c0 : j->cb;
    int64_t hw = g->h * g->w, ohw = g->oh * g->ow, taps = s->k[0] * s->k[1];
    lam__win2d w2 = direct_geom(j);
    float *y = j->y + (n * s->out_ch + c0) * ohw;
    lam__kernels()->dwconv2d_nc(&w2, (size_t)nc, j->x + (n * s->in_ch + c0) * hw, (size_t)hw,
                                j->weight + c0 * taps, j->bias ? j->bias + c0 : NULL, y,
                                (size_t)ohw, scratch);
    apply_ep(j->ep, y, (size_t)(nc * ohw));
    add_res(j, n, c0, c0 + nc, 0, ohw);
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
    lam__win2d w2 = direct_geom(j);
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
    if (j->ep.act != LAM_ACTIVATION_IDENTITY || j->res) {
        step = (4096 / (g->ow > 0 ? g->ow : 1)) & ~(int64_t)3; /* whole 4-row blocks */
        step = step < 4 ? 4 : step;
    }
    for (int64_t r0 = 0; r0 < g->oh; r0 += step) {
        int64_t r1 = r0 + step < g->oh ? r0 + step : g->oh;
        lam__kernels()->dwconv2d(&w2, xc, j->weight + co * kh * kw,
                                 j->bias ? j->bias[co] : 0.0f, yc, (size_t)r0, (size_t)r1);
        apply_ep(j->ep, yc + r0 * g->ow, (size_t)((r1 - r0) * g->ow));
        add_res(j, n, co, co + 1, r0 * g->ow, r1 * g->ow);
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
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY}; /* the sums are not final yet */
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
    add_res(j, n, gi * cout, (gi + 1) * cout, 0, ohw);
}

/* ---- transposed convolution by output phases ----
 *
 * Output o (in one dimension) of a transposed convolution with stride s,
 * padding p, dilation d sums the taps a whose input index (o + p - a d) / s
 * is whole, i.e. (o + p - a d) = 0 mod s: a set that depends only on the
 * phase o mod s.  So with o = q s + ph, output q of phase ph is an ordinary
 * stride-1 correlation over the input: tap a reads input q + off(a), off(a)
 * = (ph + p - a d) / s.  Every tap is in exactly one phase of each
 * dimension.  The weight is packed once per group and phase (ph_h, ph_w)
 * as conv_gemm's W (cout x K, K = (ci, a, b) over the phase's taps, a and
 * b ascending), and each task (sample x group x band of phase rows q x
 * chunk of phase columns) copies the input rows and columns its band reads
 * into a zero-padded block, then runs conv_gemm per phase on it (the flat
 * path's trick: output (q, c) is pixel (q - q0) wb + c - c0 of every tap's
 * row, the wb - (c1 - c0) extra columns per row dropped) and stores the
 * phase's outputs at their stride into y.  Each output is then one chain
 * over its taps (ci major) + bias, then the epilogue: the same bits on any
 * split.  The summation order differs from the col2im path's (per tap a chain over
 * ci, the taps then added into y in input-pixel order): the error is
 * conv_gemm's bound, 1.2 (K + 2) eps (sum |w x| + |b|) with K = in/groups x
 * the phase's taps, at most in/groups kH kW, the K of a convolution of the
 * same weight, so the tests' tolerance for convolutions (1e-6 + 1e-5 x that
 * sum, against float64) holds for the transposed ones alike. */

/* Dimension d's phases: tab[0 .. s) the number of taps of phase p, tab[s ..
 * 2s) where its taps start in tab[2s .. 2s + k) (the taps a, ascending
 * within a phase), then their offsets off(a) (k entries).  2 s + 2 k int64
 * in all. */
static size_t t_phase_len(const conv_state *s, int d)
{
    return (size_t)(2 * s->stride[d] + 2 * s->k[d]);
}

static void t_phases(const conv_state *s, int d, int64_t *tab)
{
    int64_t st = s->stride[d], k = s->k[d], n = 0;
    int64_t *cnt = tab, *start = tab + st, *tap = tab + 2 * st, *off = tap + k;
    for (int64_t p = 0; p < st; p++) {
        start[p] = n;
        for (int64_t a = 0; a < k; a++) {
            int64_t v = p + s->pad[d] - a * s->dil[d];
            if (v % st == 0) {
                tap[n] = a;
                off[n] = v / st;
                n++;
            }
        }
        cnt[p] = n - start[p];
    }
}

/* The number of taps of phase p of dimension d (t_phases' count). */
static int64_t t_taps(const conv_state *s, int d, int64_t p)
{
    int64_t n = 0;
    for (int64_t a = 0; a < s->k[d]; a++)
        n += (p + s->pad[d] - a * s->dil[d]) % s->stride[d] == 0;
    return n;
}

/* The floats of one phase's packed weight, whole 64-byte lines. */
static size_t t_phase_floats(const conv_state *s, int64_t taps)
{
    size_t m = (size_t)(s->out_ch / s->groups), kk = (size_t)(s->in_ch / s->groups * taps);
    return (lam__kernels()->conv_packed_size(m, kk) + 15) & ~(size_t)15;
}

size_t lam__conv_t_packed_floats(const conv_state *s)
{
    int64_t N, K;
    conv_gemm_dims(s, &N, &K);
    size_t n = (lam__kernels()->gemm_packed_size((size_t)N, (size_t)K) + 15) & ~(size_t)15;
    for (int64_t a = 0; a < s->stride[0]; a++)
        for (int64_t b = 0; b < s->stride[1]; b++)
            n += t_phase_floats(s, t_taps(s, 0, a) * t_taps(s, 1, b));
    return n;
}

/* The minimum and maximum offset of dimension d's taps. */
static void t_span(const conv_state *s, const int64_t *tab, int d, int64_t *lo, int64_t *hi)
{
    const int64_t *off = tab + 2 * s->stride[d] + s->k[d];
    *lo = *hi = off[0];
    for (int64_t i = 1; i < s->k[d]; i++) {
        *lo = off[i] < *lo ? off[i] : *lo;
        *hi = off[i] > *hi ? off[i] : *hi;
    }
}

/* The outputs of phase p of n outputs at stride s. */
static inline int64_t t_count(int64_t n, int64_t s, int64_t p)
{
    return p < n ? (n - p + s - 1) / s : 0;
}

/* The column phases of one output row are stored together where there
 * are at most this many (a tile each), else one by one. */
#define T_TILES 4

/* Output row y's columns c sw + p for phase columns c in [c0, c1) from
 * the phases' tiles (phase p's at t + p ts, column c at c - c0); phase p
 * has t_count(ow, sw, p) columns. */
static void t_interleave(const float *t, int64_t ts, int64_t sw, int64_t ow, int64_t c0,
                         int64_t c1, float *y)
{
    int64_t cm = t_count(ow, sw, sw - 1); /* the columns every phase has */
    cm = cm < c1 ? cm : c1;
    float *d = y + c0 * sw;
    int64_t m = cm > c0 ? cm - c0 : 0;
    if (sw == 2) {
        const float *a = t, *b = t + ts;
        int64_t c = 0;
#if defined(__GNUC__) /* 4 at a time with the compiler's generic vectors (any ISA) */
        typedef float v4f __attribute__((vector_size(16)));
        for (; c + 4 <= m; c += 4) {
            v4f va, vb, lo, hi;
            memcpy(&va, a + c, sizeof va);
            memcpy(&vb, b + c, sizeof vb);
#if defined(__clang__)
            lo = __builtin_shufflevector(va, vb, 0, 4, 1, 5);
            hi = __builtin_shufflevector(va, vb, 2, 6, 3, 7);
#else
            typedef int v4i __attribute__((vector_size(16)));
            lo = __builtin_shuffle(va, vb, (v4i){0, 4, 1, 5});
            hi = __builtin_shuffle(va, vb, (v4i){2, 6, 3, 7});
#endif
            memcpy(d + 2 * c, &lo, sizeof lo);
            memcpy(d + 2 * c + 4, &hi, sizeof hi);
        }
#endif
        for (; c < m; c++) {
            d[2 * c] = a[c];
            d[2 * c + 1] = b[c];
        }
    } else {
        for (int64_t c = 0; c < m; c++)
            for (int64_t p = 0; p < sw; p++)
                d[c * sw + p] = t[p * ts + c];
    }
    for (int64_t p = 0; p < sw; p++) { /* the last column, where only some phases have it */
        int64_t ce = t_count(ow, sw, p);
        ce = ce < c1 ? ce : c1;
        for (int64_t c = c0 + m; c < ce; c++)
            d[(c - c0) * sw + p] = t[p * ts + c - c0];
    }
}

/* One task of the phases: sample n, group gi, phase rows [q0, q1), phase
 * columns [c0, c1).  blk holds input rows q0 + lo_h .. and columns c0 +
 * lo_w .. (zeros outside the input), hb x wb per channel; lo = the
 * smallest tap offset, span = largest - smallest. */
static void t_phase_task(conv_job *j, int64_t t, const float **rows, float *blk, float *tile)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    int64_t cin = s->in_ch / s->groups, cout = s->out_ch / s->groups;
    int64_t sh = s->stride[0], sw = s->stride[1];
    int64_t bc = t % j->ncb, bq = t / j->ncb % j->nqb, gi = t / j->ncb / j->nqb % s->groups,
            n = t / j->ncb / j->nqb / s->groups;
    int64_t q0 = bq * j->qb, q1 = q0 + j->qb < j->qn[0] ? q0 + j->qb : j->qn[0];
    int64_t c0 = bc * j->cw, c1 = c0 + j->cw < j->qn[1] ? c0 + j->cw : j->qn[1];
    const int64_t *th = j->ph[0], *tw = j->ph[1];
    int64_t loh, hih, low, hiw;
    t_span(s, th, 0, &loh, &hih);
    t_span(s, tw, 1, &low, &hiw);
    int64_t hb = q1 - q0 + hih - loh, wb = c1 - c0 + hiw - low;
    int64_t r0 = q0 + loh, x0 = c0 + low; /* the block's first input row, column */
    int64_t xa = x0 < 0 ? 0 : x0 > g->w ? g->w : x0, xb = x0 + wb > g->w ? g->w : x0 + wb;
    if (xb < xa)
        xb = xa;
    const float *xg = j->x + (n * s->in_ch + gi * cin) * g->h * g->w;
    for (int64_t ci = 0; ci < cin; ci++)
        for (int64_t r = 0; r < hb; r++) {
            float *d = blk + (ci * hb + r) * wb;
            int64_t ih = r0 + r;
            if (ih < 0 || ih >= g->h || xb == xa) {
                memset(d, 0, (size_t)wb * sizeof(float));
                continue;
            }
            if (xa > x0)
                memset(d, 0, (size_t)(xa - x0) * sizeof(float));
            memcpy(d + (xa - x0), xg + (ci * g->h + ih) * g->w + xa,
                   (size_t)(xb - xa) * sizeof(float));
            if (x0 + wb > xb)
                memset(d + (xb - x0), 0, (size_t)(x0 + wb - xb) * sizeof(float));
        }
    int64_t ohw = g->oh * g->ow, ldt = j->ldt;
    const float *bias = j->bias ? j->bias + gi * cout : NULL;
    float *yg = j->y + (n * s->out_ch + gi * cout) * ohw;
    const float *packed = j->packed + (size_t)gi * s->packed_group;
    for (int64_t ph = 0; ph < sh; ph++) {
        int64_t qe = t_count(g->oh, sh, ph);
        qe = qe < q1 ? qe : q1;
        if (qe <= q0)
            continue;
        int64_t na = th[ph], ha = th[sh + ph];
        const int64_t *offh = th + 2 * sh + s->k[0] + ha;
        for (int64_t pw = 0; pw < sw; pw++) {
            int64_t ce = t_count(g->ow, sw, pw);
            ce = ce < c1 ? ce : c1;
            if (ce <= c0)
                continue;
            int64_t nb = tw[pw], hbw = tw[sw + pw];
            const int64_t *offw = tw + 2 * sw + s->k[1] + hbw;
            int64_t K = cin * na * nb;
            for (int64_t ci = 0; ci < cin; ci++)
                for (int64_t a = 0; a < na; a++)
                    for (int64_t b = 0; b < nb; b++)
                        rows[(ci * na + a) * nb + b] =
                            blk + (ci * hb + offh[a] - loh) * wb + offw[b] - low;
            int64_t np = (qe - q0 - 1) * wb + (ce - c0);
            float *tp = tile + (sw <= T_TILES ? pw : 0) * cout * ldt;
            lam__kernels()->conv_gemm((size_t)cout, (size_t)np, (size_t)K,
                                      packed + j->po[ph * sw + pw], rows, 0, bias, tp,
                                      (size_t)ldt, j->ep);
            if (sw > T_TILES || sw == 1) /* phase outputs (q, c) to (q sh + ph, c sw + pw) */
                for (int64_t co = 0; co < cout; co++)
                    for (int64_t q = q0; q < qe; q++) {
                        const float *src = tp + co * ldt + (q - q0) * wb;
                        float *dst = yg + co * ohw + (q * sh + ph) * g->ow + c0 * sw + pw;
                        if (sw == 1)
                            memcpy(dst, src, (size_t)(ce - c0) * sizeof(float));
                        else
                            for (int64_t c = 0; c < ce - c0; c++)
                                dst[c * sw] = src[c];
                    }
        }
        if (sw > 1 && sw <= T_TILES) /* the row's phases interleaved, in one pass */
            for (int64_t co = 0; co < cout; co++)
                for (int64_t q = q0; q < qe; q++)
                    t_interleave(tile + co * ldt + (q - q0) * wb, cout * ldt, sw, g->ow, c0, c1,
                                 yg + co * ohw + (q * sh + ph) * g->ow);
    }
}

/* ---- Winograd F(4x4, 3x3) and F(2x2, 3x3) ----
 *
 * Y = A^T [U . V] A per 4 x 4 output tile, U = G g G^T (the weight, made
 * once: lam__conv_wino_pack), V = B^T d B (the tile's 6 x 6 input patch):
 * 36 matrix products, one per element e of the 6 x 6 transformed tile, of
 * U_e (out x in) by V_e (in x tiles), through conv_gemm with the tiles as
 * its pixels, instead of 9 of the direct sum's (4x fewer multiply-adds,
 * for 16/9 more GEMM columns per output read and written).  F(2x2, 3x3),
 * for planes too small for 8 tiles of 4 x 4, is the same with 2 x 2
 * tiles, 4 x 4 patches and 16 products (the wino2_ kernels).  A task is a
 * run of the batch's rows of tiles (any samples) and a chunk of the output
 * channels: per input channel the patches go to wino_in, which writes V,
 * either as each tile row's padded input rows, side by side in six (four)
 * long rows (wino_in reads them at a stride of 4 (2): planes of 6 or more
 * tiles across, one lane of waste per tile row), or gathered tile by tile
 * (narrower planes), the padding mode through the index tables; the 36
 * products go into M; per output channel wino_out gives the outputs of
 * each tile, + bias, the activation, and wino_store puts each tile row's
 * where they lie inside the plane.  Every step is lane by lane over
 * tiles, and conv_gemm's bits do not depend on the pixel range or the
 * rows, so a tile's outputs do not depend on the chunking.  Which convolutions go so depends on their
 * shapes only (conv_winograd in conv.h). */

static size_t wino_rows_floats(const conv_job *j)
{
    return ((size_t)j->s->in_ch * sizeof(float *) / sizeof(float) + 15) & ~(size_t)15;
}

/* The tile's outputs across (wm: 4 or 2), its patch's (wm + 2), the
 * transformed tile's elements ((wm + 2)^2: 36 or 16). */
static int64_t wino_al(const conv_job *j) { return j->wm + 2; }
static int64_t wino_ne(const conv_job *j) { return (j->wm + 2) * (j->wm + 2); }

/* The tiles' lanes: tile (r, tx) of a task's tile rows is lane r ls + tx,
 * ls = ntx + 1 where the rows are wide enough (j->wrows: each tile row's
 * padded rows side by side, wm ls floats apart, a lane of waste per row),
 * else ntx (the patches gathered tile by tile). */
static int64_t wino_ls(const conv_job *j) { return j->ntx + (j->wrows ? 1 : 0); }

/* wino_in's input: the patch rows of the task's tile rows side by side (+
 * what wino_in may read past the last patch), or the gathered patches'
 * elements, tp floats each. */
static int64_t wino_rs(const conv_job *j)
{
    return j->wrows ? (j->tt / wino_ls(j) * j->wm * wino_ls(j) + 8 + 15) / 16 * 16
                    : wino_al(j) * j->tp;
}

/* P (wino_in's input), V, M, Q (the outputs), tp floats each row. */
static size_t wino_buf_floats(const conv_job *j)
{
    size_t ne = (size_t)wino_ne(j);
    return (size_t)(wino_al(j) * wino_rs(j)) +
           (size_t)j->tp * (ne * (size_t)j->s->in_ch + ne * (size_t)j->mc + 16);
}

/* Padded row p (of the tile rows' wm nty + 2) of channel plane x, columns
 * [0, n), into d: the padding mode's values, zeros past the padded input. */
static void wino_pad_row(const conv_job *j, const float *x, int64_t p, float *d, int64_t n)
{
    const conv_state *s = j->s;
    int32_t ih = j->wh[p];
    if (ih < 0) {
        memset(d, 0, (size_t)n * sizeof(float));
        return;
    }
    const float *row = x + (int64_t)ih * j->g->w;
    int64_t lo = s->pad_lo[1], w = j->g->w;
    if (s->mode == CONV_ZEROS && lo + w <= n) {
        memset(d, 0, (size_t)lo * sizeof(float));
        memcpy(d + lo, row, (size_t)w * sizeof(float));
        memset(d + lo + w, 0, (size_t)(n - lo - w) * sizeof(float));
        return;
    }
    for (int64_t q = 0; q < n; q++)
        d[q] = j->ww[q] < 0 ? 0.0f : row[j->ww[q]];
}

static void wino_task(conv_job *j, int64_t t, const float *const *rows, float *pbuf)
{
    const conv_state *s = j->s;
    const conv_geom *g = j->g;
    const lam__kernel_table *k = lam__kernels();
    const bool f4 = j->wm == 4;
    int64_t cin = s->in_ch, cout = s->out_ch, tp = j->tp, ntx = j->ntx, ls = wino_ls(j);
    int64_t wm = j->wm, al = wino_al(j), ne = wino_ne(j);
    int64_t nrows = g->n * j->nty, rpt = j->tt / ls; /* tile rows, a task's */
    int64_t r0 = t / j->noc * rpt, r1 = r0 + rpt < nrows ? r0 + rpt : nrows;
    int64_t co0 = t % j->noc * j->mc, co1 = co0 + j->mc < cout ? co0 + j->mc : cout;
    if (co0 >= co1 || r0 >= r1)
        return;
    int64_t nt = (r1 - r0) * ls, mc = co1 - co0, hw = g->h * g->w, rs = wino_rs(j);
    float *v = pbuf + al * rs, *mb = v + ne * cin * tp, *q = mb + ne * j->mc * tp;
    lam__wino_in_fn win = f4 ? k->wino_in : k->wino2_in;
    for (int64_t ci = 0; ci < cin; ci++) {
        if (j->wrows) {
            for (int64_t r = r0; r < r1; r++) {
                int64_t n = r / j->nty, ty = r % j->nty;
                const float *x = j->x + (n * cin + ci) * hw;
                for (int64_t a = 0; a < al; a++)
                    wino_pad_row(j, x, wm * ty + a, pbuf + a * rs + (r - r0) * wm * ls, wm * ls);
            }
            for (int64_t a = 0; a < al; a++) /* what wino_in may read past the patches */
                memset(pbuf + a * rs + nt * wm, 0, 8 * sizeof(float));
            win((size_t)nt, pbuf, (size_t)rs, 1, (size_t)wm, v + ci * ne * tp, (size_t)tp);
            continue;
        }
        /* (gathered: fewer than 6 tiles a row) each patch row's padded
         * input row once, then its al columns of every tile */
        float prow[6 * 4 + 2];
        int64_t pn = wm * ntx + 2;
        for (int64_t r = r0; r < r1; r++) {
            int64_t n = r / j->nty, tyw = r % j->nty * wm;
            const float *x = j->x + (n * cin + ci) * hw;
            for (int64_t a = 0; a < al; a++) {
                wino_pad_row(j, x, tyw + a, prow, pn);
                float *dr = pbuf + a * al * tp + (r - r0) * ls;
                for (int64_t c = 0; c < al; c++)
                    for (int64_t tx = 0; tx < ntx; tx++)
                        dr[c * tp + tx] = prow[wm * tx + c];
            }
        }
        win((size_t)nt, pbuf, (size_t)(al * tp), (size_t)tp, 1, v + ci * ne * tp, (size_t)tp);
    }
    const lam__epilogue none = {.act = LAM_ACTIVATION_IDENTITY};
    size_t uf = lam__conv_wino_floats(s);
    const float *u = f4 ? s->wpacked : s->w2packed;
    for (int64_t e = 0; e < ne; e++)
        k->conv_gemm((size_t)mc, (size_t)nt, (size_t)cin, u + (size_t)e * uf + (size_t)(co0 * cin),
                     rows, (size_t)(e * tp), NULL, mb + e * tp, (size_t)(ne * tp), none);
    int64_t oh = g->oh, ow = g->ow;
    for (int64_t co = co0; co < co1; co++) {
        (f4 ? k->wino_out : k->wino2_out)((size_t)nt, mb + (co - co0) * ne * tp, (size_t)tp, q,
                                          (size_t)tp);
        for (int64_t e = 0; e < wm * wm; e++) {
            if (j->bias)
                k->addc((size_t)nt, q + e * tp, j->bias[co], q + e * tp);
            apply_ep(j->ep, q + e * tp, (size_t)nt);
        }
        for (int64_t r = r0; r < r1; r++) {
            int64_t n = r / j->nty, oy = r % j->nty * wm, ra = oh - oy < wm ? oh - oy : wm;
            (f4 ? k->wino_store : k->wino2_store)((size_t)ntx, q + (r - r0) * ls, (size_t)tp,
                                                  j->y + ((n * cout + co) * oh + oy) * ow,
                                                  (size_t)ow, (size_t)ra, (size_t)ow);
        }
    }
    for (int64_t r = r0; r < r1; r++) {
        int64_t n = r / j->nty, oy = r % j->nty * wm, ra = oh - oy < wm ? oh - oy : wm;
        add_res(j, n, co0, co1, oy * ow, (oy + ra) * ow);
    }
}

size_t lam__conv_wino_floats(const conv_state *s)
{
    return (lam__kernels()->conv_packed_size((size_t)s->out_ch, (size_t)s->in_ch) + 15) &
           ~(size_t)15;
}

lam_status lam__conv_wino_pack(const conv_state *s, const float *w, int m, float *out)
{
    static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    const double(*G)[3] = m == 4 ? G4 : G2;
    int al = m + 2, ne = al * al;
    int64_t cin = s->in_ch, cout = s->out_ch;
    float *u = malloc(sizeof(float) * (size_t)ne * (size_t)(cin * cout > 0 ? cin * cout : 1));
    if (!u)
        return lam__oom("convolution weight packing");
    for (int64_t co = 0; co < cout; co++)
        for (int64_t ci = 0; ci < cin; ci++) {
            const float *gw = w + (co * cin + ci) * 9;
            double t[6][3]; /* G g */
            for (int a = 0; a < al; a++)
                for (int c = 0; c < 3; c++)
                    t[a][c] = G[a][0] * gw[c] + G[a][1] * gw[3 + c] + G[a][2] * gw[6 + c];
            for (int a = 0; a < al; a++)
                for (int b = 0; b < al; b++)
                    u[((a * al + b) * cout + co) * cin + ci] =
                        (float)(t[a][0] * G[b][0] + t[a][1] * G[b][1] + t[a][2] * G[b][2]);
        }
    size_t uf = lam__conv_wino_floats(s);
    for (int e = 0; e < ne; e++)
        lam__kernels()->conv_pack((size_t)cout, (size_t)cin, u + (size_t)e * (size_t)(cout * cin),
                                  out + (size_t)e * uf);
    free(u);
    return LAM_OK;
}

/* A task's buffers, in floats.  Transposed: the GEMM's output rows.
 * Convolution: conv_gemm's K row pointers, then the im2col columns (K x
 * chunk) or the flat path's padded block (cin x hb x wp). */
static size_t rows_floats(const conv_job *j)
{
    size_t k = (size_t)j->K;
    if (j->s->transposed) /* the phases: at most every tap of every channel */
        k = (size_t)(j->s->in_ch / j->s->groups * j->s->k[0] * j->s->k[1]);
    return (k * sizeof(float *) / sizeof(float) + 15) & ~(size_t)15;
}

/* The phases' block (cin x hb x wb, hb and wb at most a band's and a
 * chunk's plus the taps' span), whole 64-byte lines. */
static size_t t_block_floats(const conv_job *j)
{
    const conv_state *s = j->s;
    return ((size_t)(s->in_ch / s->groups * (j->qb + j->span[0]) * (j->cw + j->span[1])) + 15) &
           ~(size_t)15;
}

static size_t buf_floats(const conv_job *j)
{
    const conv_state *s = j->s;
    if (s->transposed && j->phased)
        return t_block_floats(j) + (size_t)(s->stride[1] <= T_TILES ? s->stride[1] : 1) *
                                       (size_t)(s->out_ch / s->groups) * (size_t)j->ldt;
    if (s->transposed)
        return (size_t)j->chunk * (size_t)j->N;
    switch (j->path) {
    case CONV_PATH_COL: /* the columns, and across samples the results */
        return (size_t)j->K * (size_t)j->chunk + (j->xs ? (size_t)j->N * (size_t)j->chunk : 0);
    case CONV_PATH_POINTWISE: /* the tail's rows, in and out */
        return ((size_t)(j->tail * j->K + 15) & ~(size_t)15) + (size_t)(j->tail * j->N);
    case CONV_PATH_FLAT:
        return ((size_t)(s->in_ch / s->groups * s->stride[0] * s->stride[1] * j->hb * j->wp) +
                15) & ~(size_t)15;
    default: return 0;
    }
}

static size_t task_scratch(const conv_job *j)
{
    if (j->path == CONV_PATH_WINO)
        return (wino_rows_floats(j) + wino_buf_floats(j)) * sizeof(float) + 64;
    if (conv_is_direct(j->s)) {
        const conv_state *s = j->s;
        if (j->cb) {
            lam__win2d w2 = direct_geom(j);
            return lam__dwconv2d_nc_scratch(&w2) * sizeof(float) + 64;
        }
        if (s->mode == CONV_ZEROS)
            return 0;
        return (size_t)((j->g->h + s->pad_lo[0] + s->pad_hi[0]) *
                        (j->g->w + s->pad_lo[1] + s->pad_hi[1])) *
                   sizeof(float) + 64; /* the padded plane */
    }
    if (j->s->transposed && !j->phased)
        return buf_floats(j) * sizeof(float) + 64;
    return (rows_floats(j) + buf_floats(j)) * sizeof(float) + 64;
}

static void run_tasks(void *ctx, int ith, int nth)
{
    conv_job *j = ctx;
    const conv_state *s = j->s;
    float *a = NULL;
    size_t bytes = task_scratch(j);
    if (bytes) {
        a = scratch_get(0, bytes);
        if (!a) {
            job_fail(j);
            return;
        }
    }
    if (s->transposed && j->phased) {
        float *blk = a + rows_floats(j);
        for (int64_t t = ith; t < j->ntasks; t += nth)
            t_phase_task(j, t, (const float **)(void *)a, blk, blk + t_block_floats(j));
        return;
    }
    if (s->transposed) {
        for (int64_t t = ith; t < j->ntasks; t += nth)
            conv_t_task(j, t, a);
        return;
    }
    if (conv_is_direct(s) && j->cb) {
        for (int64_t t = ith; t < j->ntasks; t += nth)
            conv_nc_task(j, t, a);
        return;
    }
    if (conv_is_direct(s)) {
        for (int64_t t = ith; t < j->ntasks; t += nth)
            conv_direct_task(j, t, a);
        return;
    }
    if (j->path == CONV_PATH_WINO) {
        /* rows[ci] = V's row of channel ci (element e at offset e cin tp) */
        const float **rows = (const float **)(void *)a;
        float *d = a + wino_rows_floats(j);
        for (int64_t ci = 0; ci < s->in_ch; ci++)
            rows[ci] = d + wino_al(j) * wino_rs(j) + ci * wino_ne(j) * j->tp;
        for (int64_t t = ith; t < j->ntasks; t += nth)
            wino_task(j, t, rows, d);
        return;
    }
    /* conv_gemm's rows, the same for every task of this thread */
    const float **rows = (const float **)(void *)a;
    float *buf = a + rows_floats(j); /* on a 64-byte boundary */
    int64_t kh = s->k[0], kw = s->k[1], cin = s->in_ch / s->groups;
    for (int64_t ci = 0; ci < cin; ci++)
        for (int64_t q = 0; q < kh * kw; q++) {
            int64_t k = ci * kh * kw + q, qa = q / kw, qb = q % kw;
            switch (j->path) {
            case CONV_PATH_POINTWISE: rows[k] = j->x + ci * j->g->h * j->g->w; break;
            case CONV_PATH_FLAT: {
                int64_t sh = s->stride[0], sw = s->stride[1], da = qa * s->dil[0],
                        db = qb * s->dil[1];
                rows[k] = buf + ((ci * sh + da % sh) * sw + db % sw) * j->hb * j->wp +
                          da / sh * j->wp + db / sw;
                break;
            }
            default: rows[k] = buf + k * j->chunk; break;
            }
        }
    for (int64_t t = ith; t < j->ntasks; t += nth) {
        switch (j->path) {
        case CONV_PATH_POINTWISE:
            pw_task(j, t, rows, buf, buf + ((j->tail * j->K + 15) & ~INT64_C(15)));
            break;
        case CONV_PATH_FLAT: flat_task(j, t, rows, buf); break;
        default: col_task(j, t, rows, buf); break;
        }
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

/* n items in chunks of about `want` (at least 1), evened out: the chunk
 * size. */
static int64_t even_chunk(int64_t n, int64_t want)
{
    if (want < 1)
        want = 1;
    if (n <= want)
        return n > 0 ? n : 1;
    int64_t nc = (n + want - 1) / want;
    return (n + nc - 1) / nc;
}

/* Depthwise inputs at most this wide go by channel blocks (dwconv2d_nc).
 * AVX-512, one thread, data in cache, against plane by plane: 7 x 7
 * planes 2.3x (3x3) and 3.1x (5x5) faster, 14 x 14 1.3x (5x5) and the same
 * (3x3), 14 -> 7 at stride 2 1.9x; 28 x 28 0.8x, 56 x 56 0.6x (the two
 * transposes cost more than the lanes the plane kernel wastes at the
 * rows' edges). */
#define DW_NC_MAX_W 16
/* ... and at most this many pixels a plane (its padded block, 16 floats a
 * pixel, is each thread's scratch: a tall narrow plane goes plane by
 * plane) */
#define DW_NC_MAX_HW 1024

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
    if (ep.add) { /* the kernels add it (kernel_ep) or the tasks after them (add_res) */
        j.res = ep.add;
        j.rep = ep;
        j.rep.add = NULL;
        j.ep = (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY};
    }
    conv_gemm_dims(s, &j.N, &j.K);
    double flops = 2.0 * (double)g->n * (double)s->out_ch * (double)ohw *
                   (double)(s->in_ch / s->groups) * (double)(s->k[0] * s->k[1]);
    bool direct = conv_is_direct(s);
    if (!s->transposed && !direct) {
        bool s1 = s->stride[0] == 1 && s->stride[1] == 1;
        bool nopad = s->pad_lo[0] == 0 && s->pad_lo[1] == 0 && s->pad_hi[0] == 0 &&
                     s->pad_hi[1] == 0;
        /* flat unless its extra columns cost more FMAs than im2col's copy
         * (about one cycle per patch element against out/groups / 16 per
         * FMA column) */
        int64_t wq = (g->w + s->pad_lo[1] + s->pad_hi[1] + s->stride[1] - 1) / s->stride[1];
        bool flat = (wq - g->ow) * (s->out_ch / s->groups) < 16 * g->ow;
        /* but a strided 1x1 on a small plane (ResNet's downsample to 14x14
         * and 7x7) goes as im2col, whose chunks run across the batch's
         * samples, where the flat path's last strip of each plane, part
         * empty, reads the whole weight again (ResNet-50's 1024 -> 2048 on
         * 7x7 at batch 8: ~30% faster) */
        if (s->k[0] == 1 && s->k[1] == 1 && ohw % 48 != 0 && ohw <= 256)
            flat = false;
        j.path = s1 && nopad && s->k[0] == 1 && s->k[1] == 1 ? CONV_PATH_POINTWISE
                 : flat                                     ? CONV_PATH_FLAT
                                                            : CONV_PATH_COL;
        j.wm = conv_winograd(s, g);
        if (j.wm && (j.wm == 4 ? s->wpacked : s->w2packed))
            j.path = CONV_PATH_WINO;
    }
    /* the caller's scratch: the tap tables (convolution); the phase tables
     * and packed offsets, then the NHWC rows where the phases do not pay
     * (transposed) */
    size_t ntab = 0, nx = 0;
    if (s->transposed) {
        ntab = (t_phase_len(s, 0) + t_phase_len(s, 1) + (size_t)(s->stride[0] * s->stride[1]) +
                1) & ~(size_t)1; /* in int64 */
        float *mem = scratch_get(1, ntab * sizeof(int64_t) + 64);
        if (!mem)
            return lam__oom("convolution scratch");
        int64_t *th = (int64_t *)(void *)mem, *tw = th + t_phase_len(s, 0);
        t_phases(s, 0, th);
        t_phases(s, 1, tw);
        /* the phases' multiply-adds (with the flat extra columns) against
         * the GEMM's (input pixels x taps): the phases compute every output
         * from every tap of its phase, zeros outside the input included,
         * which does not pay where the taps reach far past a small input
         * (dilation) */
        int64_t lo, hi;
        double mh = 0, mw = 0;
        t_span(s, tw, 1, &lo, &hi);
        for (int64_t p = 0; p < s->stride[0]; p++)
            mh += (double)t_count(g->oh, s->stride[0], p) * (double)th[p];
        for (int64_t p = 0; p < s->stride[1]; p++)
            mw += (double)(t_count(g->ow, s->stride[1], p) + hi - lo) * (double)tw[p];
        j.phased = mh * mw <= 2.0 * (double)(g->h * s->k[0]) * (double)(g->w * s->k[1]);
        if (!j.phased)
            nx = ((size_t)(g->n * hw * s->in_ch) + 15) & ~(size_t)15;
    }
    size_t ntaps = s->transposed ? 0 : (size_t)(s->k[0] * g->oh + s->k[1] * g->ow);
    if (j.path == CONV_PATH_WINO) { /* and the tiles' padded rows and columns */
        j.nty = (g->oh + j.wm - 1) / j.wm;
        j.ntx = (g->ow + j.wm - 1) / j.wm;
        j.wrows = j.ntx >= 6;
        ntaps += (size_t)(j.wm * j.nty + 2 + j.wm * j.ntx + 4);
    }
    float *mem = scratch_get(1, ntab * sizeof(int64_t) + nx * sizeof(float) +
                                    ntaps * sizeof(int32_t) + 64);
    if (!mem)
        return lam__oom("convolution scratch");
    if (!s->transposed) {
        int32_t *taps = (int32_t *)(void *)(mem + nx);
        fill_taps(taps, s->k[0], g->oh, s->stride[0], s->dil[0], s->pad_lo[0], g->h, s->mode);
        fill_taps(taps + s->k[0] * g->oh, s->k[1], g->ow, s->stride[1], s->dil[1], s->pad_lo[1],
                  g->w, s->mode);
        j.th = taps;
        j.tw = taps + s->k[0] * g->oh;
        if (j.path == CONV_PATH_WINO) {
            int32_t *wh = taps + s->k[0] * g->oh + s->k[1] * g->ow, *ww = wh + j.wm * j.nty + 2;
            for (int64_t p = 0; p < j.wm * j.nty + 2; p++)
                wh[p] = p < g->h + s->pad_lo[0] + s->pad_hi[0]
                            ? (int32_t)map_index(p - s->pad_lo[0], g->h, s->mode)
                            : -1;
            for (int64_t p = 0; p < j.wm * j.ntx + 4; p++)
                ww[p] = p < g->w + s->pad_lo[1] + s->pad_hi[1]
                            ? (int32_t)map_index(p - s->pad_lo[1], g->w, s->mode)
                            : -1;
            j.wh = wh;
            j.ww = ww;
        }
    }
    int nth = flops < CONV_PARALLEL_MIN_FLOPS ? 1 : lam__threads_for_call();
    if (s->transposed && j.phased) {
        int64_t *th = (int64_t *)(void *)mem, *tw = th + t_phase_len(s, 0);
        size_t *po = (size_t *)(tw + t_phase_len(s, 1)), off;
        j.ph[0] = th;
        j.ph[1] = tw;
        j.po = po;
        int64_t N, K;
        conv_gemm_dims(s, &N, &K);
        off = (lam__kernels()->gemm_packed_size((size_t)N, (size_t)K) + 15) & ~(size_t)15;
        for (int64_t a = 0; a < s->stride[0]; a++)
            for (int64_t b = 0; b < s->stride[1]; b++) {
                po[a * s->stride[1] + b] = off;
                off += t_phase_floats(s, th[a] * tw[b]);
            }
        for (int d = 0; d < 2; d++) {
            int64_t lo, hi;
            t_span(s, j.ph[d], d, &lo, &hi);
            j.span[d] = hi - lo;
        }
        /* phase 0 has the most rows and columns; tasks of about 512 pixels
         * of the block's width, whole rows unless a row is longer than 1024 */
        j.qn[0] = t_count(g->oh, s->stride[0], 0);
        j.qn[1] = t_count(g->ow, s->stride[1], 0);
        j.cw = j.qn[1] + j.span[1] <= 1024 ? j.qn[1] : even_chunk(j.qn[1], 512);
        j.qb = even_chunk(j.qn[0], 512 / (j.cw + j.span[1]));
        j.nqb = (j.qn[0] + j.qb - 1) / j.qb;
        j.ncb = (j.qn[1] + j.cw - 1) / j.cw;
        if (nth > 1 && (g->n * s->groups) % nth != 0) {
            /* (a batch of 1) as many tasks per thread, by rows, else by
             * columns: the split changes no bit */
            if (j.qn[0] >= nth && j.nqb % nth != 0) {
                int64_t nc = (j.nqb + nth - 1) / nth * nth;
                j.qb = (j.qn[0] + nc - 1) / nc;
                j.nqb = (j.qn[0] + j.qb - 1) / j.qb;
            } else if (j.qn[0] < nth && j.qn[1] >= nth && (j.nqb * j.ncb) % nth != 0) {
                int64_t nc = (j.ncb + nth - 1) / nth * nth;
                j.cw = (j.qn[1] + nc - 1) / nc;
                j.ncb = (j.qn[1] + j.cw - 1) / j.cw;
            }
        }
        j.ldt = ((j.qb - 1) * (j.cw + j.span[1]) + j.cw + 15) & ~INT64_C(15);
        j.ntasks = g->n * s->groups * j.nqb * j.ncb;
    } else if (s->transposed) {
        j.xt = mem + ntab * 2;
        int64_t blocks = g->n * ((hw + 63) / 64);
        int t = nth < blocks ? nth : (int)blocks;
        if (t > 1)
            lam__parallel(t, nhwc_tasks, &j);
        else
            nhwc_tasks(&j, 0, 1);
        j.chunk = chunk_rows(0, j.N, hw);
        j.ntasks = g->n * s->groups;
    } else if (direct && s->mode == CONV_ZEROS && s->out_ch == s->in_ch &&
               s->k[0] * s->k[1] <= 32 && g->w <= DW_NC_MAX_W && g->h * g->w <= DW_NC_MAX_HW) {
        /* small planes: blocks of 64 channels through dwconv2d_nc, or
         * smaller ones (whole vectors of 16) where a batch has too few
         * blocks for the threads */
        j.cb = 64;
        int64_t nb = (s->out_ch + j.cb - 1) / j.cb;
        if (nth > 1 && g->n * nb < 4 * nth) { /* smaller blocks, for the threads */
            int64_t want = (s->out_ch + 4 * nth - 1) / (4 * nth);
            j.cb = want < 16 ? 16 : (want + 15) / 16 * 16;
            nb = (s->out_ch + j.cb - 1) / j.cb;
        }
        j.ntasks = g->n * nb;
    } else if (direct) {
        j.ntasks = g->n * s->out_ch;
        /* an output that leaves the caches before anyone reads it (the
         * call's input and output exceed this thread's share of them)
         * streams past them: no read-for-ownership of its lines.  Not with
         * a joined activation, which reads the rows back at once. */
        double bytes = 4.0 * (double)g->n * ((double)s->in_ch * (double)hw +
                                             (double)s->out_ch * (double)ohw);
        j.stream = ep.act == LAM_ACTIVATION_IDENTITY && !ep.add &&
                   bytes > (double)lam__stream_bytes();
    } else if (j.path == CONV_PATH_WINO) {
        /* chunks of at most LAM__WINO_TMAX tiles, V and M in about 4 MiB;
         * a batch with too few chunks for the threads splits the output
         * channels too (each such task transforms the input again) */
        int64_t want = (INT64_C(4) << 20) / (4 * wino_ne(&j) * (s->in_ch + s->out_ch));
        want = want < 32 ? 32 : want > LAM__WINO_TMAX ? LAM__WINO_TMAX : want;
        /* whole rows of tiles (wino_in's calls), at least one; of the
         * counts up to that, the one whose tiles fill conv_gemm's strips of
         * 48 pixels best (a strip of 16 or 32 has too few accumulators to
         * hide the FMA latency) */
        int64_t nrows = g->n * j.nty, ls = wino_ls(&j);
        int64_t rmax = want / ls < 1 ? 1 : want / ls < nrows ? want / ls : nrows, rpt = rmax;
        double best = 0;
        for (int64_t r = rmax; r >= 1 && r * ls * 2 >= rmax * ls; r--) {
            double fill = (double)(r * ls) / (double)((r * ls + 47) / 48 * 48);
            if (fill > best + 1e-9) {
                best = fill;
                rpt = r;
            }
        }
        j.ntc = (nrows + rpt - 1) / rpt;
        if (nth > 1 && j.ntc % nth != 0 && j.ntc > nth) {
            /* as many chunks per thread (the chunking changes no bit) */
            int64_t nc = (j.ntc + nth - 1) / nth * nth;
            rpt = (nrows + nc - 1) / nc;
            j.ntc = (nrows + rpt - 1) / rpt;
        }
        j.tt = rpt * ls;
        j.noc = 1;
        if (nth > 1 && j.ntc % nth != 0 && j.ntc < 4 * nth)
            j.noc = nth;
        j.mc = ((s->out_ch + j.noc - 1) / j.noc + 7) / 8 * 8;
        j.noc = (s->out_ch + j.mc - 1) / j.mc;
        j.tp = (j.tt + 15) / 16 * 16;
        j.ntasks = j.ntc * j.noc;
    } else {
        int64_t nitems;
        bool rowwise = false;
        if (j.path == CONV_PATH_FLAT) {
            /* whole output rows, about 512 pixels of the phase planes' width
             * at once (conv_gemm_rows); or, where a row wastes fewer lanes
             * of 16 than the wp - ow extra columns per row, row by row, in
             * blocks of about 128 KiB where that is more rows */
            j.wp = (g->w + s->pad_lo[1] + s->pad_hi[1] + s->stride[1] - 1) / s->stride[1];
            nitems = g->oh;
            rowwise = g->ow >= 48 && (-g->ow & 15) < j.wp - g->ow;
            int64_t rowf = s->in_ch / s->groups * s->stride[0] * s->stride[1] * j.wp;
            int64_t want = 512 / j.wp;
            if (rowwise && 32768 / rowf > want)
                want = 32768 / rowf;
            j.chunk = even_chunk(g->oh, want);
            j.hb = j.chunk + (s->k[0] - 1) * s->dil[0] / s->stride[0];
            j.rowwise = rowwise;
        } else if (j.path == CONV_PATH_POINTWISE) {
            /* whole strips of every ISA's tile (48, 24, 12 pixels), so
             * that only the plane's end is a tail */
            nitems = ohw;
            j.tail = s->gpacked ? conv_pw_tail(s, g) : 0;
            j.chunk = even_chunk(ohw, 768);
            if (j.chunk < ohw)
                j.chunk = (j.chunk + 47) / 48 * 48;
        } else {
            /* im2col columns of about 1.1 MiB (Zen 5's L2: 1 MiB; a third
             * of that made ResNet-50's 3x3 stride 2 on 28x28 ~17% slower at
             * batch 8), whole 48-pixel strips */
            nitems = ohw;
            int64_t want = (INT64_C(288) * 1024 / (j.K > 0 ? j.K : 1)) / 48 * 48;
            want = want < 48 ? 48 : want > 1536 ? 1536 : want;
            j.chunk = even_chunk(ohw, want);
            /* a small plane (ResNet's 3x3 stride 2 on 14x14 and 7x7 outputs)
             * leaves its chunks' last strips part empty, and each chunk reads
             * the whole weight: chunks of whole strips across the batch's
             * samples instead (conv_gemm's bits do not depend on the split) */
            if (s->groups == 1 && g->n > 1 && ohw % 48 != 0 && ohw < 4 * want) {
                j.xs = true;
                nitems = g->n * ohw;
                j.chunk = want < nitems ? want : nitems;
            }
        }
        j.nchunks = (nitems + j.chunk - 1) / j.chunk;
        bool uneven = j.xs ? j.nchunks % nth != 0 : (g->n * s->groups) % nth != 0;
        if (nth > 1 && uneven && j.nchunks < nitems) {
            /* (a batch of 1, or chunks across samples) as many chunks per
             * thread: the chunking changes no bit */
            int64_t nc = (j.nchunks + nth - 1) / nth * nth;
            j.chunk = (nitems + nc - 1) / nc;
            j.nchunks = (nitems + j.chunk - 1) / j.chunk;
            if (j.path == CONV_PATH_FLAT)
                j.hb = j.chunk + (s->k[0] - 1) * s->dil[0] / s->stride[0];
        }
        j.ntasks = j.xs ? j.nchunks : g->n * s->groups * j.nchunks;
    }
    if (nth > j.ntasks)
        nth = (int)j.ntasks;
    if (nth > 1)
        lam__parallel(nth, run_tasks, &j);
    else
        run_tasks(&j, 0, 1);
    if (__atomic_load_n(&j.failed, __ATOMIC_RELAXED))
        return lam__oom("convolution scratch");
    if (j.res && s->transposed && j.phased) /* (its tasks write strided pixels) */
        for (int64_t n = 0; n < g->n; n++)
            add_res(&j, n, 0, s->out_ch, 0, ohw);
    return LAM_OK;
}

lam_status lam__conv_pack(conv_state *s, const float *w)
{
    int64_t N, K;
    conv_gemm_dims(s, &N, &K);
    const lam__kernel_table *k = lam__kernels();
    float *t = NULL;
    int64_t *th = NULL, *tw = NULL;
    if (s->transposed) {
        t = malloc(sizeof(float) * (size_t)(N * K > 0 ? N * K : 1));
        th = malloc(sizeof(int64_t) * (t_phase_len(s, 0) + t_phase_len(s, 1)));
        if (!t || !th) {
            free(t);
            free(th);
            return lam__oom("convolution weight packing");
        }
        tw = th + t_phase_len(s, 0);
        t_phases(s, 0, th);
        t_phases(s, 1, tw);
    }
    for (int64_t gi = 0; gi < s->groups; gi++) {
        const float *wg = w + gi * K * N;
        if (s->transposed) {
            /* weight [in, out/groups, kH, kW]: group gi's rows are a K x N
             * matrix; the GEMM wants it as N x K */
            for (int64_t i = 0; i < K; i++)
                for (int64_t o = 0; o < N; o++)
                    t[o * K + i] = wg[i * N + o];
            float *pg = s->packed + gi * s->packed_group;
            k->gemm_pack((size_t)N, (size_t)K, t, pg);
            /* and per phase (a, b): conv_gemm's W, cout x (ci, the phase's
             * taps) */
            int64_t cin = K, cout = s->out_ch / s->groups, kh = s->k[0], kw = s->k[1];
            size_t off = (k->gemm_packed_size((size_t)N, (size_t)K) + 15) & ~(size_t)15;
            for (int64_t a = 0; a < s->stride[0]; a++)
                for (int64_t b = 0; b < s->stride[1]; b++) {
                    int64_t na = th[a], nb = tw[b], kk = cin * na * nb;
                    const int64_t *ta = th + 2 * s->stride[0] + th[s->stride[0] + a];
                    const int64_t *tb = tw + 2 * s->stride[1] + tw[s->stride[1] + b];
                    for (int64_t co = 0; co < cout; co++)
                        for (int64_t ci = 0; ci < cin; ci++)
                            for (int64_t p = 0; p < na; p++)
                                for (int64_t q = 0; q < nb; q++)
                                    t[co * kk + (ci * na + p) * nb + q] =
                                        wg[((ci * cout + co) * kh + ta[p]) * kw + tb[q]];
                    k->conv_pack((size_t)cout, (size_t)kk, t, pg + off);
                    off += t_phase_floats(s, na * nb);
                }
        } else {
            /* weight [out, in/groups, kH, kW]: group gi's rows are conv_gemm's
             * W (N x K, k = (ci, kh, kw)) as they are */
            k->conv_pack((size_t)N, (size_t)K, wg, s->packed + gi * s->packed_group);
        }
    }
    free(t);
    free(th);
    return LAM_OK;
}
