/* RNN (tanh / relu), LSTM (proj_size too) and GRU, as PyTorch 1.13's
 * torch.nn.modules.rnn: the same constructor arguments, parameters
 * (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, weight_hr_l{k},
 * "_reverse" for the second direction; layer by layer, direction by
 * direction), initialisation (every parameter ~ U(-1/sqrt(hidden),
 * 1/sqrt(hidden)) from the default generator, in that order), repr, and
 * PyTorch's messages for bad arguments and inputs.
 *
 * forward_multi is PyTorch's forward(input, hx=None), returning (output, h_n)
 * or (output, (h_n, c_n)); the single-tensor forward gives `output` from zero
 * initial states; lam_rnn_forward (<lamina/layers.h>) gives every tensor.
 *
 * Compute, per layer and direction: the input projection of every time
 * step, xp = x W_ihᵀ + b_ih, is one GEMM through the kernel table (all T x B
 * rows at once, in the input's own row order); then each step runs only the
 * recurrent GEMM hp = h W_hhᵀ + b_hh (B rows) and the gates with the kernel
 * table's elementwise kernels (sigmoid, tanh, relu, add, mul, sub), and for
 * LSTM with proj_size the projection h = (o * tanh(c)) W_hrᵀ.  The previous
 * step's h is read straight from the output rows (the GEMM takes a row
 * stride), so nothing is copied per step.
 *
 * Threads (runtime/core/parallel.c only): the input projection splits its
 * output columns; a step splits the hidden units, each task computing the
 * GEMM columns of its units in every gate and their gates (the projection
 * then splits its columns).  The GEMM gives the same bits whatever the
 * column range, and every element is computed by one task with one
 * formula, so results are bit-identical for any thread count.
 *
 * Memory: the packed weights live in the module (repacked when a weight's
 * version or the module's parameters change, as Linear does); the working
 * buffers are the calling thread's scratch, kept and grown to the largest
 * shape seen, so a forward of a shape seen before allocates nothing, and a
 * step never does. */
#include "runtime/core/parallel.h"
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { RNN_TANH, RNN_RELU, RNN_LSTM, RNN_GRU };

typedef struct rnn_state {
    int mode;
    int64_t in, hid, layers, proj;
    bool bias, batch_first, bidir;
    double dropout;
    int64_t G, D, R; /* gates (1, 4, 3), directions, h's size (proj or hid) */
    int np;          /* parameters per layer and direction */
    pthread_mutex_t lock;
    float *packed;
    size_t *off;         /* per (layer, dir): packed offsets of ih, hh, hr */
    uint64_t *versions;  /* the weights' versions `packed` was made from */
    unsigned packed_params;
    bool packed_valid;
} rnn_state;

static const char *type_name(const rnn_state *s)
{
    return s->mode == RNN_LSTM ? "LSTM" : s->mode == RNN_GRU ? "GRU" : "RNN";
}

/* The index of parameter j (0 ih, 1 hh, 2 b_ih, 3 b_hh, 4 hr) of (l, d). */
static size_t pidx(const rnn_state *s, int64_t l, int64_t d, int j)
{
    size_t base = (size_t)((l * s->D + d) * s->np);
    if (j == 4)
        return base + 2 + (s->bias ? 2 : 0);
    return base + (size_t)j;
}

static int64_t layer_in(const rnn_state *s, int64_t l)
{
    return l == 0 ? s->in : s->D * s->R;
}

/* ---- shapes and errors ---- */

static lam_status check_input(const lam_module *m, int ndim, const int64_t *in)
{
    const rnn_state *s = m->state;
    if (ndim != 2 && ndim != 3)
        /* PyTorch unsqueezes a non-3-D input, then asks for 3 dimensions */
        return lam__error(LAM_ERR_SHAPE, "input must have 3 dimensions, got %d", ndim + 1);
    if (in[ndim - 1] != s->in)
        return lam__error(LAM_ERR_SHAPE,
                          "input.size(-1) must be equal to input_size. Expected %" PRId64
                          ", got %" PRId64,
                          s->in, in[ndim - 1]);
    int64_t T = ndim == 3 && s->batch_first ? in[1] : in[0];
    if (T == 0)
        return lam__error(LAM_ERR_SHAPE, "Expected sequence length to be larger than 0 in RNN");
    return LAM_OK;
}

static lam_status rnn_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                            int64_t *out)
{
    const rnn_state *s = m->state;
    lam_status st = check_input(m, ndim, in);
    if (st)
        return st;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    out[ndim - 1] = s->D * s->R;
    return LAM_OK;
}

/* ---- packed weights ---- */

static bool packed_current(const lam_module *m)
{
    const rnn_state *s = m->state;
    if (!__atomic_load_n(&s->packed_valid, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&s->packed_params, __ATOMIC_RELAXED) !=
            __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE))
        return false;
    for (int64_t k = 0; k < s->layers * s->D; k++)
        for (int j = 0; j < 3; j++) {
            if (j == 2 && !s->proj)
                continue;
            size_t i = pidx(s, k / s->D, k % s->D, j == 2 ? 4 : j);
            if (__atomic_load_n(&s->versions[k * 3 + j], __ATOMIC_RELAXED) !=
                lam__tensor_version(m->params[i].tensor))
                return false;
        }
    return true;
}

static const float *packed_weights(lam_module *m)
{
    rnn_state *s = m->state;
    if (__builtin_expect(packed_current(m), 1))
        return s->packed;
    pthread_mutex_lock(&s->lock);
    if (!packed_current(m)) {
        __atomic_store_n(&s->packed_valid, false, __ATOMIC_RELEASE);
        const lam__kernel_table *k = lam__kernels();
        unsigned pv = __atomic_load_n(&m->params_version, __ATOMIC_ACQUIRE);
        for (int64_t kk = 0; kk < s->layers * s->D; kk++) {
            int64_t l = kk / s->D, d = kk % s->D;
            const int64_t n[3] = {s->G * s->hid, s->G * s->hid, s->proj};
            const int64_t K[3] = {layer_in(s, l), s->R, s->hid};
            for (int j = 0; j < 3; j++) {
                if (j == 2 && !s->proj)
                    continue;
                const lam_tensor *w = m->params[pidx(s, l, d, j == 2 ? 4 : j)].tensor;
                uint64_t v = lam__tensor_version(w);
                k->gemm_pack((size_t)n[j], (size_t)K[j], w->data, s->packed + s->off[kk * 3 + j]);
                __atomic_store_n(&s->versions[kk * 3 + j], v, __ATOMIC_RELAXED);
            }
        }
        __atomic_store_n(&s->packed_params, pv, __ATOMIC_RELAXED);
        __atomic_store_n(&s->packed_valid, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&s->lock);
    return s->packed;
}

/* ---- per-thread scratch (the calling thread's, kept for reuse) ---- */

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread struct {
    float *p;
    size_t cap;
} tls_scratch;

static void scratch_free(void *p)
{
    (void)p;
    lam__aligned_free(tls_scratch.p);
    tls_scratch.p = NULL;
    tls_scratch.cap = 0;
}

static void scratch_init(void) { (void)pthread_key_create(&scratch_key, scratch_free); }

static float *scratch_get(size_t floats)
{
    if (tls_scratch.cap >= floats)
        return tls_scratch.p;
    pthread_once(&scratch_once, scratch_init);
    float *p = lam__aligned_alloc(floats * sizeof(float));
    if (!p)
        return NULL;
    lam__aligned_free(tls_scratch.p);
    tls_scratch.p = p;
    tls_scratch.cap = floats;
    pthread_setspecific(scratch_key, &tls_scratch); /* freed when the thread ends */
    return p;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* ---- the jobs ---- */

/* The input projection: y[rows, N] = x W_ihᵀ + b_ih, columns split. */
typedef struct proj_job {
    const lam__kernel_table *k;
    size_t M, N, K;
    const float *x, *packed, *bias;
    float *y;
} proj_job;

static void proj_task(void *ctx, int ith, int nth)
{
    const proj_job *j = ctx;
    int64_t b, e;
    lam__split_range((int64_t)j->N, ith, nth, 64, &b, &e);
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY};
    if (b < e)
        j->k->gemm(j->M, j->N, j->K, j->x, j->K, j->packed, j->bias, j->y, j->N, ep, (size_t)b,
                   (size_t)e);
}

/* One time step of one direction. */
typedef struct step_job {
    const lam__kernel_table *k;
    int mode;
    size_t B, H, G, R;
    const float *hprev; /* B rows of R, stride ldh */
    size_t ldh;
    const float *xp; /* B rows of G H, stride ldxp */
    size_t ldxp;
    const float *packed_hh, *b_hh;
    float *hp;   /* B x G H */
    float *c;    /* LSTM: B x H, updated in place */
    float *hout; /* B rows of H (LSTM with proj: o * tanh(c)), stride ldo */
    size_t ldo;
    /* LSTM projection: h = mbuf W_hrᵀ into `y` rows (stride ldy) */
    const float *packed_hr;
    float *y;
    size_t ldy;
} step_job;

static void gates(const step_job *j, size_t j0, size_t j1)
{
    const lam__kernel_table *k = j->k;
    const size_t H = j->H, GH = j->G * j->H, n = j1 - j0;
    for (size_t b = 0; b < j->B; b++) {
        float *g = j->hp + b * GH;
        const float *x = j->xp + b * j->ldxp;
        float *h = j->hout + b * j->ldo + j0;
        switch (j->mode) {
        case RNN_TANH:
        case RNN_RELU:
            k->add(n, g + j0, x + j0, g + j0);
            (j->mode == RNN_TANH ? k->tanh : k->relu)(n, g + j0, h);
            break;
        case RNN_LSTM: {
            float *i = g + j0, *f = g + H + j0, *gg = g + 2 * H + j0, *o = g + 3 * H + j0;
            float *c = j->c + b * H + j0;
            for (size_t q = 0; q < 4; q++)
                k->add(n, g + q * H + j0, x + q * H + j0, g + q * H + j0);
            k->sigmoid(n, i, i);
            k->sigmoid(n, f, f);
            k->tanh(n, gg, gg);
            k->sigmoid(n, o, o);
            k->mul(n, f, c, c);  /* f c */
            k->mul(n, i, gg, i); /* i g */
            k->add(n, c, i, c);
            k->tanh(n, c, gg);
            k->mul(n, o, gg, h);
            break;
        }
        case RNN_GRU: {
            /* PyTorch's GRUCell: r, z = sigmoid(..), n = tanh(x_n + r
             * (h W_hnᵀ + b_hn)), h' = (h - n) z + n */
            float *r = g + j0, *z = g + H + j0, *nn = g + 2 * H + j0;
            const float *hp = j->hprev + b * j->ldh + j0;
            k->add(n, r, x + j0, r);
            k->add(n, z, x + H + j0, z);
            k->sigmoid(n, r, r);
            k->sigmoid(n, z, z);
            k->mul(n, r, nn, nn);
            k->add(n, nn, x + 2 * H + j0, nn);
            k->tanh(n, nn, nn);
            k->sub(n, hp, nn, r);
            k->mul(n, r, z, r);
            k->add(n, r, nn, h);
            break;
        }
        }
    }
}

static void step_task(void *ctx, int ith, int nth)
{
    const step_job *j = ctx;
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY};
    const size_t GH = j->G * j->H;
    if (nth == 1) {
        j->k->gemm(j->B, GH, j->R, j->hprev, j->ldh, j->packed_hh, j->b_hh, j->hp, GH, ep, 0, GH);
        gates(j, 0, j->H);
        return;
    }
    int64_t b, e;
    lam__split_range((int64_t)j->H, ith, nth, 16, &b, &e);
    if (b >= e)
        return;
    for (size_t q = 0; q < j->G; q++)
        j->k->gemm(j->B, GH, j->R, j->hprev, j->ldh, j->packed_hh, j->b_hh, j->hp, GH, ep,
                   q * j->H + (size_t)b, q * j->H + (size_t)e);
    gates(j, (size_t)b, (size_t)e);
}

static void hr_task(void *ctx, int ith, int nth)
{
    const step_job *j = ctx;
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY};
    int64_t b, e;
    lam__split_range((int64_t)j->R, ith, nth, 16, &b, &e);
    if (b < e)
        j->k->gemm(j->B, j->R, j->H, j->hout, j->ldo, j->packed_hr, NULL, j->y, j->ldy, ep,
                   (size_t)b, (size_t)e);
}

/* Work below this many flops stays on the calling thread. */
#define RNN_PARALLEL_MIN_FLOPS 1e6

static int threads_for(double flops, int64_t units)
{
    if (flops < RNN_PARALLEL_MIN_FLOPS)
        return 1;
    int nth = lam__threads_for_call();
    int64_t most = (units + 15) / 16;
    return nth < most ? nth : (int)(most > 0 ? most : 1);
}

static void run(int nth, lam__task_fn fn, void *ctx)
{
    if (nth > 1)
        lam__parallel(nth, fn, ctx);
    else
        fn(ctx, 0, 1);
}

/* ---- the computation ---- */

/* x [T, B, in] (batch_first: [B, T, in]) into y [T, B, D R] (batch_first
 * [B, T, D R]); h0 [L D, B, R] and c0 [L D, B, H] may be NULL (zeros); hn /
 * cn (same shapes) may be NULL. */
static lam_status rnn_compute(lam_module *m, const float *x, int64_t T, int64_t B,
                              const float *h0, const float *c0, float *y, float *hn, float *cn)
{
    rnn_state *s = m->state;
    const float *packed = packed_weights(m);
    const lam__kernel_table *k = lam__kernels();
    const size_t H = (size_t)s->hid, R = (size_t)s->R, G = (size_t)s->G, GH = G * H;
    const size_t D = (size_t)s->D, L = (size_t)s->layers, DR = D * R;
    const size_t TB = (size_t)(T * B);
    if (TB == 0)
        return LAM_OK;
    const bool lstm = s->mode == RNN_LSTM;
    /* scratch: xp, hp, zeros, c, m (proj), two layer buffers */
    size_t n_xp = round16(TB * GH), n_hp = round16((size_t)B * GH);
    size_t n_zero = round16((size_t)B * (R > H ? R : H));
    size_t n_c = lstm ? round16((size_t)B * H) : 0, n_m = s->proj ? round16((size_t)B * H) : 0;
    size_t n_buf = L > 1 ? round16(TB * DR) : 0;
    float *mem = scratch_get(n_xp + n_hp + n_zero + n_c + n_m + 2 * n_buf);
    if (!mem)
        return lam__oom("RNN scratch");
    float *xp = mem, *hp = xp + n_xp, *zero = hp + n_hp, *cbuf = zero + n_zero,
          *mbuf = cbuf + n_c, *buf[2] = {mbuf + n_m, mbuf + n_m + n_buf};
    memset(zero, 0, n_zero * sizeof(float));
    /* rows: (t, b) is row t B + b, or b T + t when batch_first */
    const size_t tstep = s->batch_first ? 1 : (size_t)B, bstep = s->batch_first ? (size_t)T : 1;
    const float *lin = x;
    for (size_t l = 0; l < L; l++) {
        float *lout = l + 1 == L ? y : buf[l % 2];
        size_t K = (size_t)layer_in(s, (int64_t)l);
        for (size_t d = 0; d < D; d++) {
            size_t kk = l * D + d;
            const float *w_hh = packed + s->off[kk * 3 + 1];
            const float *b_ih = s->bias ? m->params[pidx(s, l, d, 2)].tensor->data : NULL;
            const float *b_hh = s->bias ? m->params[pidx(s, l, d, 3)].tensor->data : NULL;
            proj_job pj = {k, TB, GH, K, lin, packed + s->off[kk * 3], b_ih, xp};
            run(threads_for(2.0 * (double)TB * (double)GH * (double)K, (int64_t)GH), proj_task,
                &pj);
            const float *hinit = h0 ? h0 + kk * (size_t)B * R : zero;
            if (lstm) {
                if (c0)
                    memcpy(cbuf, c0 + kk * (size_t)B * H, (size_t)B * H * sizeof(float));
                else
                    memset(cbuf, 0, (size_t)B * H * sizeof(float));
            }
            step_job j = {.k = k, .mode = s->mode, .B = (size_t)B, .H = H, .G = G, .R = R,
                          .packed_hh = w_hh, .b_hh = b_hh, .hp = hp, .c = cbuf,
                          .packed_hr = s->proj ? packed + s->off[kk * 3 + 2] : NULL};
            int nth = threads_for(2.0 * (double)B * (double)GH * (double)R, (int64_t)H);
            int nth_hr = s->proj ? threads_for(2.0 * (double)B * (double)R * (double)H,
                                               (int64_t)R) : 1;
            for (size_t step = 0; step < (size_t)T; step++) {
                size_t t = d ? (size_t)T - 1 - step : step;
                if (step == 0) {
                    j.hprev = hinit;
                    j.ldh = R;
                } else {
                    size_t tp = d ? t + 1 : t - 1;
                    j.hprev = lout + tp * tstep * DR + d * R;
                    j.ldh = bstep * DR;
                }
                j.xp = xp + t * tstep * GH;
                j.ldxp = bstep * GH;
                float *yt = lout + t * tstep * DR + d * R;
                if (s->proj) {
                    j.hout = mbuf;
                    j.ldo = H;
                    j.y = yt;
                    j.ldy = bstep * DR;
                } else {
                    j.hout = yt;
                    j.ldo = bstep * DR;
                }
                run(nth, step_task, &j);
                if (s->proj)
                    run(nth_hr, hr_task, &j);
            }
            /* h_n: the last step's rows (t = T - 1 forward, 0 reverse) */
            size_t tl = d ? 0 : (size_t)T - 1;
            if (hn)
                for (size_t b = 0; b < (size_t)B; b++)
                    memcpy(hn + (kk * (size_t)B + b) * R, lout + (tl * tstep + b * bstep) * DR + d * R,
                           R * sizeof(float));
            if (cn && lstm)
                memcpy(cn + kk * (size_t)B * H, cbuf, (size_t)B * H * sizeof(float));
        }
        /* dropout on each layer's output but the last, in training mode */
        if (m->training && s->dropout > 0.0 && l + 1 < L) {
            size_t n = TB * DR;
            if (s->dropout >= 1.0) {
                memset(lout, 0, n * sizeof(float));
            } else {
                float scale = (float)(1.0 / (1.0 - s->dropout));
                double u[256];
                for (size_t i = 0; i < n; i += 256) {
                    size_t c = n - i < 256 ? n - i : 256;
                    lam__rand_unit(u, c);
                    for (size_t q = 0; q < c; q++)
                        lout[i + q] = u[q] < s->dropout ? 0.0f : lout[i + q] * scale;
                }
            }
        }
        lin = lout;
    }
    return LAM_OK;
}

static lam_status rnn_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const rnn_state *s = m->state;
    lam_status st = check_input(m, in->ndim, in->shape);
    if (st)
        return st;
    int64_t T, B;
    if (in->ndim == 2) {
        T = in->shape[0];
        B = 1;
    } else {
        T = s->batch_first ? in->shape[1] : in->shape[0];
        B = s->batch_first ? in->shape[0] : in->shape[1];
    }
    /* The single-tensor forward gives `output` from zero initial states;
     * PyTorch's tuple and initial states are rnn_forward_multi's. */
    return rnn_compute(m, in->data, T, B, NULL, NULL, out->data, NULL, NULL);
}

/* ---- lam_rnn_forward: initial states in, final states out ---- */

static lam_status state_error(const rnn_state *s, bool batched, const lam_tensor *h0,
                              const lam_tensor *c0, int64_t B)
{
    bool lstm = s->mode == RNN_LSTM;
    int want = batched ? 3 : 2;
    if ((h0 && h0->ndim != want) || (c0 && c0->ndim != want)) {
        if (lstm)
            return lam__error(LAM_ERR_SHAPE,
                              "For %s input, hx and cx should also be %d-D but got (%d-D, %d-D) "
                              "tensors",
                              batched ? "batched 3-D" : "unbatched 2-D", want,
                              h0 ? h0->ndim : c0->ndim, c0 ? c0->ndim : h0->ndim);
        return lam__error(LAM_ERR_SHAPE, "For %s input, hx should also be %d-D but got %d-D tensor",
                          batched ? "batched 3-D" : "unbatched 2-D", want, h0->ndim);
    }
    for (int q = 0; q < 2; q++) {
        const lam_tensor *t = q ? c0 : h0;
        if (!t)
            continue;
        int64_t want_shape[3] = {s->layers * s->D, B, q ? s->hid : s->R};
        int64_t got[3] = {t->shape[0], batched ? t->shape[1] : 1, t->shape[t->ndim - 1]};
        if (got[0] == want_shape[0] && got[1] == want_shape[1] && got[2] == want_shape[2])
            continue;
        /* PyTorch unsqueezes an unbatched input's states first: 3-D texts */
        char e[96], g[96];
        snprintf(e, sizeof e, "(%" PRId64 ", %" PRId64 ", %" PRId64 ")", want_shape[0],
                 want_shape[1], want_shape[2]);
        snprintf(g, sizeof g, "[%" PRId64 ", %" PRId64 ", %" PRId64 "]", got[0], got[1], got[2]);
        if (lstm)
            return lam__error(LAM_ERR_SHAPE, "Expected hidden[%d] size %s, got %s", q, e, g);
        return lam__error(LAM_ERR_SHAPE, "Expected hidden size %s, got %s", e, g);
    }
    return LAM_OK;
}

static bool is_rnn(const lam_module *m);

LAM_API lam_status lam_rnn_forward(lam_module *m, const lam_tensor *input, const lam_tensor *h_0,
                                   const lam_tensor *c_0, lam_tensor **output, lam_tensor **h_n,
                                   lam_tensor **c_n)
{
    LAM__SYNC();
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(input);
    LAM__CHECK_ARG(output);
    *output = NULL;
    if (h_n)
        *h_n = NULL;
    if (c_n)
        *c_n = NULL;
    if (!is_rnn(m))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_rnn_forward: the module is not an RNN, LSTM or GRU");
    const rnn_state *s = m->state;
    if (c_0 && s->mode != RNN_LSTM)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_rnn_forward: c_0 is given but %s has no cell state", type_name(s));
    lam_status st = lam__check_f32(type_name(s), "input", input);
    if (!st && h_0)
        st = lam__check_f32(type_name(s), "h_0", h_0);
    if (!st && c_0)
        st = lam__check_f32(type_name(s), "c_0", c_0);
    if (st)
        return st;
    st = check_input(m, input->ndim, input->shape);
    if (st)
        return lam__error(st, "%s: %s", type_name(s), lam_last_error());
    bool batched = input->ndim == 3;
    int64_t T = batched && s->batch_first ? input->shape[1] : input->shape[0];
    int64_t B = batched ? (s->batch_first ? input->shape[0] : input->shape[1]) : 1;
    if ((st = state_error(s, batched, h_0, c_0, B)))
        return lam__error(st, "%s: %s", type_name(s), lam_last_error());
    int out_ndim = input->ndim;
    int64_t oshape[3];
    rnn_shape(m, input->ndim, input->shape, &out_ndim, oshape);
    int64_t hshape[3] = {s->layers * s->D, B, s->R}, cshape[3] = {s->layers * s->D, B, s->hid};
    if (!batched) {
        hshape[1] = hshape[2];
        cshape[1] = cshape[2];
    }
    lam_tensor *y = NULL, *hn = NULL, *cn = NULL;
    st = lam_tensor_create(&y, out_ndim, oshape);
    if (!st && h_n)
        st = lam_tensor_create(&hn, batched ? 3 : 2, hshape);
    if (!st && c_n && s->mode == RNN_LSTM)
        st = lam_tensor_create(&cn, batched ? 3 : 2, cshape);
    if (!st)
        st = rnn_compute(m, input->data, T, B, h_0 ? h_0->data : NULL, c_0 ? c_0->data : NULL,
                         y->data, hn ? hn->data : NULL, cn ? cn->data : NULL);
    if (st) {
        lam_tensor_release(y);
        lam_tensor_release(hn);
        lam_tensor_release(cn);
        return st;
    }
    *output = y;
    if (h_n)
        *h_n = hn;
    if (c_n)
        *c_n = cn;
    return LAM_OK;
}

/* ---- module ops ---- */

static double rnn_flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                        const int64_t *out)
{
    const rnn_state *s = m->state;
    (void)out_ndim, (void)out;
    double rows = 1;
    for (int i = 0; i < in_ndim - 1; i++)
        rows *= (double)in[i];
    double f = 0;
    for (int64_t l = 0; l < s->layers; l++)
        f += 2.0 * rows * (double)s->D * (double)(s->G * s->hid) *
             (double)(layer_in(s, l) + s->R) + 2.0 * rows * (double)s->D * (double)s->proj *
             (double)s->hid;
    return f;
}

static int rnn_repr(const lam_module *m, char *buf, size_t size)
{
    const rnn_state *s = m->state;
    lam__sb sb = {0};
    lam__sb_printf(&sb, "%" PRId64 ", %" PRId64, s->in, s->hid);
    if (s->proj)
        lam__sb_printf(&sb, ", proj_size=%" PRId64, s->proj);
    if (s->layers != 1)
        lam__sb_printf(&sb, ", num_layers=%" PRId64, s->layers);
    if (!s->bias)
        lam__sb_puts(&sb, ", bias=False");
    if (s->batch_first)
        lam__sb_puts(&sb, ", batch_first=True");
    if (s->dropout != 0) {
        char f[40];
        lam__sb_printf(&sb, ", dropout=%s", lam__py_float(s->dropout, f, sizeof f));
    }
    if (s->bidir)
        lam__sb_puts(&sb, ", bidirectional=True");
    int n = snprintf(buf, size, "%s", sb.buf ? sb.buf : "");
    free(sb.buf);
    return n;
}

static void rnn_destroy(lam_module *m)
{
    rnn_state *s = m->state;
    pthread_mutex_destroy(&s->lock);
    lam__aligned_free(s->packed);
    free(s->off);
    free(s->versions);
    free(s);
}

/* PyTorch's forward(input, hx=None) with several values: (output, h_n), for
 * LSTM (output, (h_n, c_n)); hx None or absent gives zero initial states,
 * an LSTM's hx is the tuple (h_0, c_0).  A Sequential holding one of these
 * layers passes this tuple on, as PyTorch's does (so Sequential(LSTM,
 * Linear) fails as it does there). */
static lam_status rnn_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out)
{
    (void)args;
    const rnn_state *s = m->state;
    const char *name = type_name(s);
    bool lstm = s->mode == RNN_LSTM;
    if (in->n < 1 || in->n > 2)
        return in->n == 0
                   ? lam__error(LAM_ERR_TYPE,
                                "%s.forward() missing 1 required positional argument: 'input'", name)
                   : lam__error(LAM_ERR_TYPE,
                                "%s.forward() takes from 2 to 3 positional arguments but %zu were "
                                "given",
                                name, in->n + 1);
    const lam__val *x = &in->items[0];
    if (!x->t)
        return lam__error(LAM_ERR_TYPE, "%s: '%s' object has no attribute 'dim'", name,
                          lam__val_kind(x));
    const lam_tensor *h0 = NULL, *c0 = NULL;
    if (in->n == 2 && (in->items[1].t || in->items[1].tup)) {
        const lam__val *hx = &in->items[1];
        if (lstm) {
            if (!hx->tup || hx->tup->n != 2 || !hx->tup->items[0].t || !hx->tup->items[1].t)
                return lam__error(LAM_ERR_TYPE,
                                  "LSTM: hx must be a tuple of two tensors (h_0, c_0), got %s",
                                  lam__val_kind(hx));
            h0 = hx->tup->items[0].t;
            c0 = hx->tup->items[1].t;
        } else {
            if (!hx->t)
                return lam__error(LAM_ERR_TYPE, "%s: hx must be a Tensor, got %s", name,
                                  lam__val_kind(hx));
            h0 = hx->t;
        }
    }
    lam_tensor *y = NULL, *hn = NULL, *cn = NULL;
    lam_tuple *res = NULL, *hc = NULL;
    lam_status st = lam_rnn_forward(m, x->t, h0, c0, &y, &hn, lstm ? &cn : NULL);
    if (!st)
        st = lam_tuple_create(&res, 2);
    if (!st)
        st = lam_tuple_set_tensor(res, 0, y);
    if (!st && lstm) {
        st = lam_tuple_create(&hc, 2);
        if (!st)
            st = lam_tuple_set_tensor(hc, 0, hn);
        if (!st)
            st = lam_tuple_set_tensor(hc, 1, cn);
        if (!st)
            st = lam_tuple_set_tuple(res, 1, hc);
    } else if (!st) {
        st = lam_tuple_set_tensor(res, 1, hn);
    }
    lam_tensor_release(y);
    lam_tensor_release(hn);
    lam_tensor_release(cn);
    lam_tuple_release(hc);
    if (st) {
        lam_tuple_release(res);
        return st;
    }
    out->tup = res;
    return LAM_OK;
}

#define RNN_OPS(var, name)                                                                         \
    static const lam__module_ops var = {                                                           \
        .type_name = name,                                                                         \
        .py_module = "torch.nn.modules.rnn",                                                       \
        .output_shape = rnn_shape,                                                                 \
        .forward_into = rnn_forward,                                                               \
        .forward_multi = rnn_forward_multi,                                                        \
        .tuple_result = true,                                                                      \
        .extra_repr = rnn_repr,                                                                    \
        .destroy = rnn_destroy,                                                                    \
        .flops = rnn_flops,                                                                        \
    }
RNN_OPS(rnn_ops, "RNN");
RNN_OPS(lstm_ops, "LSTM");
RNN_OPS(gru_ops, "GRU");

static bool is_rnn(const lam_module *m)
{
    return m->ops == &rnn_ops || m->ops == &lstm_ops || m->ops == &gru_ops;
}

static lam_status rnn_create(lam_module **out, int mode, int64_t input_size, int64_t hidden_size,
                             int64_t num_layers, bool bias, bool batch_first, double dropout,
                             bool bidirectional, int64_t proj_size)
{
    *out = NULL;
    const char *name = mode == RNN_LSTM ? "LSTM" : mode == RNN_GRU ? "GRU" : "RNN";
    if (!(dropout >= 0.0 && dropout <= 1.0))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "dropout should be a number in range [0, 1] representing the "
                          "probability of an element being zeroed");
    if (proj_size < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "proj_size should be a positive integer or zero to disable projections");
    if (proj_size >= hidden_size)
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "proj_size has to be smaller than hidden_size");
    if (mode != RNN_LSTM && proj_size != 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "proj_size argument is only supported for LSTM, not RNN or GRU");
    if (num_layers < 1)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: num_layers must be at least 1, got %" PRId64
                          " (PyTorch 1.13 fails with IndexError: list index out of range)",
                          name, num_layers);
    if (input_size < 0 || input_size > (INT64_C(1) << 31) || hidden_size > (INT64_C(1) << 28) ||
        num_layers > 4096)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: input_size must be non-negative and at most 2^31, hidden_size at "
                          "most 2^28 and num_layers at most 4096, got %" PRId64 ", %" PRId64
                          ", num_layers=%" PRId64,
                          name, input_size, hidden_size, num_layers);
    int64_t G = mode == RNN_LSTM ? 4 : mode == RNN_GRU ? 3 : 1, D = bidirectional ? 2 : 1;
    int64_t R = proj_size ? proj_size : hidden_size;
    /* the parameter count, checked before anything is allocated */
    double total = 0;
    for (int64_t l = 0; l < num_layers; l++)
        total += (double)D * ((double)G * (double)hidden_size *
                                  ((l == 0 ? (double)input_size : (double)(D * R)) + (double)R +
                                   (bias ? 2.0 : 0.0)) +
                              (double)proj_size * (double)hidden_size);
    if (total > (double)(INT64_C(1) << 32))
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s(%" PRId64 ", %" PRId64 "): %.0f weights, at most 2^32 supported",
                          name, input_size, hidden_size, total);
    lam_status st = lam__budget_charge((int64_t)total, "%s(%" PRId64 ", %" PRId64 ")", name,
                                       input_size, hidden_size);
    if (st)
        return st;
    rnn_state *s = calloc(1, sizeof *s);
    if (!s)
        return lam__oom(name);
    s->mode = mode;
    s->in = input_size;
    s->hid = hidden_size;
    s->layers = num_layers;
    s->proj = proj_size;
    s->bias = bias;
    s->batch_first = batch_first;
    s->bidir = bidirectional;
    s->dropout = dropout;
    s->G = G;
    s->D = D;
    s->R = R;
    s->np = 2 + (bias ? 2 : 0) + (proj_size ? 1 : 0);
    pthread_mutex_init(&s->lock, NULL);
    size_t nk = (size_t)(num_layers * D);
    s->off = calloc(nk * 3, sizeof *s->off);
    s->versions = calloc(nk * 3, sizeof *s->versions);
    const lam__kernel_table *k = lam__kernels();
    size_t len = 0;
    for (size_t kk = 0; kk < nk && s->off; kk++) {
        const int64_t n[3] = {G * hidden_size, G * hidden_size, proj_size};
        const int64_t K[3] = {layer_in(s, (int64_t)kk / D), R, hidden_size};
        for (int j = 0; j < 3; j++) {
            s->off[kk * 3 + j] = len;
            len += round16(k->gemm_packed_size((size_t)n[j], (size_t)K[j]));
        }
    }
    s->packed = lam__aligned_alloc((len ? len : 1) * sizeof(float));
    lam_module *m = NULL;
    const lam__module_ops *ops = mode == RNN_LSTM ? &lstm_ops : mode == RNN_GRU ? &gru_ops : &rnn_ops;
    st = s->packed && s->off && s->versions ? lam__module_new(&m, ops, s) : lam__oom(name);
    if (st) {
        lam__aligned_free(s->packed);
        free(s->off);
        free(s->versions);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return st;
    }
    /* reset_parameters: every parameter ~ U(-stdv, stdv), in order */
    float stdv = hidden_size > 0 ? (float)(1.0 / sqrt((double)hidden_size)) : 0.0f;
    static const char *const names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh",
                                        "weight_hr"};
    for (int64_t l = 0; l < num_layers; l++)
        for (int64_t d = 0; d < D; d++)
            for (int j = 0; j < 5; j++) {
                if ((j == 2 || j == 3) && !bias)
                    continue;
                if (j == 4 && !proj_size)
                    continue;
                int64_t shape[2];
                int nd = 2;
                switch (j) {
                case 0: shape[0] = G * hidden_size, shape[1] = layer_in(s, l); break;
                case 1: shape[0] = G * hidden_size, shape[1] = R; break;
                case 4: shape[0] = proj_size, shape[1] = hidden_size; break;
                default: shape[0] = G * hidden_size, nd = 1; break;
                }
                char pname[48];
                snprintf(pname, sizeof pname, "%s_l%" PRId64 "%s", names[j], l,
                         d ? "_reverse" : "");
                lam_tensor *t = NULL;
                st = lam_tensor_create(&t, nd, shape);
                if (!st && (st = lam__module_add_param(m, pname, t)))
                    lam_tensor_release(t);
                if (st) {
                    lam_module_release(m);
                    return st;
                }
                lam__rand_uniform(t->data, (size_t)t->numel, -stdv, stdv);
            }
    packed_weights(m); /* now, so that the first forward need not */
    *out = m;
    return LAM_OK;
}

LAM_API lam_status lam_rnn_create(lam_module **out, int64_t input_size, int64_t hidden_size,
                                  int64_t num_layers, const char *nonlinearity, bool bias,
                                  bool batch_first, double dropout, bool bidirectional)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    int mode = RNN_TANH;
    if (nonlinearity && strcmp(nonlinearity, "relu") == 0)
        mode = RNN_RELU;
    else if (nonlinearity && strcmp(nonlinearity, "tanh") != 0) {
        return lam__error(LAM_ERR_INVALID_ARGUMENT, "Unknown nonlinearity '%s'", nonlinearity);
    }
    return rnn_create(out, mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                      bidirectional, 0);
}

LAM_API lam_status lam_lstm_create(lam_module **out, int64_t input_size, int64_t hidden_size,
                                   int64_t num_layers, bool bias, bool batch_first, double dropout,
                                   bool bidirectional, int64_t proj_size)
{
    LAM__CHECK_ARG(out);
    return rnn_create(out, RNN_LSTM, input_size, hidden_size, num_layers, bias, batch_first,
                      dropout, bidirectional, proj_size);
}

LAM_API lam_status lam_gru_create(lam_module **out, int64_t input_size, int64_t hidden_size,
                                  int64_t num_layers, bool bias, bool batch_first, double dropout,
                                  bool bidirectional)
{
    LAM__CHECK_ARG(out);
    return rnn_create(out, RNN_GRU, input_size, hidden_size, num_layers, bias, batch_first,
                      dropout, bidirectional, 0);
}
