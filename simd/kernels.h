/* lamina kernel layer — the kernel table.
 *
 * simd/ holds pure kernels: float arrays in, float arrays out; no malloc, no
 * threads, no status codes, no knowledge of modules.  runtime/ calls kernels
 * only through this table.  The scalar kernels fill the table first and stay
 * the test oracle; the best ISA the CPU and OS support overwrites entries
 * once, at first use.  A missing kernel is slow, never NULL.
 *
 * Ranges: every kernel is single-threaded and re-entrant; callers split work
 * by passing sub-ranges (rows, or output columns [n_begin, n_end) for GEMM).
 * Elementwise kernels allow y == x (in place). */
#ifndef LAMINA_SIMD_KERNELS_H
#define LAMINA_SIMD_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <lamina/activation.h> /* public and dependency-free: simd/ may include it */

#include "simd/kernel-list.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The activations a GEMM epilogue can fuse are lam_activation's first ones,
 * IDENTITY .. SILU: those below this bound. */
#define LAM_ACTIVATION__EPILOGUE_COUNT (LAM_ACTIVATION_SILU + 1)

/* What a GEMM does to each finished output element: the activation (after
 * the bias), then, when add is not NULL, + the addend r: y[m, n] =
 * act(x W^T + b)[m, n] + add[m ldadd + n] (row m counted from y's first
 * row, column n as y's), one IEEE add, the bits of the unfused gemm and then
 * the add kernel (a residual x + sublayer(x)).  The gemm entry takes an
 * addend so; conv_gemm and conv_gemm_rows take it before the activation
 * (act(... + b + add): a convolution's residual, kernel-list.h), as a
 * convolution's forward_ep does; mlp2 and the other run_rows / forward_ep
 * require add == NULL.  add must not overlap y (y holds the partial sums
 * between K blocks). */
typedef struct lam__epilogue {
    lam_activation act; /* < LAM_ACTIVATION__EPILOGUE_COUNT */
    float alpha;
    const float *add; /* NULL: no addend */
    size_t ldadd;     /* add's row stride in floats */
} lam__epilogue;

typedef void (*lam__unary_fn)(size_t n, const float *x, float *y);
typedef void (*lam__unary1_fn)(size_t n, const float *x, float *y, float a);
typedef void (*lam__unary2_fn)(size_t n, const float *x, float *y, float a, float b);
/* y[i] = a[i] op b[i]; and with a scalar, y[i] = a[i] op c (or c op a[i]) */
typedef void (*lam__binary_fn)(size_t n, const float *a, const float *b, float *y);
typedef void (*lam__binaryc_fn)(size_t n, const float *a, float c, float *y);

typedef void (*lam__softplus_fn)(size_t n, const float *x, float *y, float beta,
                                 float threshold);
typedef void (*lam__layer_norm_fn)(size_t n, const float *x, float *y, const float *gamma,
                                   const float *beta, float eps);

/* One head of scaled-dot-product attention (the attention entry; contract
 * in LAM_ATTN_KERNELS, simd/kernel-list.h).  Rows are absolute: query row i
 * is q + i ldq, its output o + i ldo, its weights w + i ldw; key/value row j
 * is k + j ldk / v + j ldv.  score(i, j) = scale (q_i . k_j) + (attn_add[i
 * ld_add + j] + key_add[j]) (each NULL: 0), or -inf where attn_bool[i
 * ld_bool + j], key_bool[j] (nonzero: masked; NULL: none) or causal and j >
 * i; ld_add / ld_bool may be 0 (one row for every query). */
typedef struct lam__attn_args {
    size_t Tk, D, Dv;        /* keys, q/k head size, v head size */
    const float *q, *k, *v;
    size_t ldq, ldk, ldv;
    float *o;
    size_t ldo;
    float scale;
    int causal;
    const float *attn_add, *key_add;
    size_t ld_add;
    const unsigned char *attn_bool, *key_bool;
    size_t ld_bool;
    float *w; /* NULL: no weights (nothing T x T is stored); else softmax rows, ldw floats apart */
    size_t ldw;
} lam__attn_args;
typedef void (*lam__attention_fn)(const lam__attn_args *a, size_t i_begin, size_t i_end);

/* The geometry of a window kernel (LAM_WINDOW_KERNELS): an input plane of
 * h x w floats (row stride w), an output plane of oh x ow (row stride ow),
 * a kh x kw window with stride sh, sw (>= 1), dilation dh, dw (>= 1) and
 * leading padding ph, pw; output (i, j) reads input rows i sh - ph + a dh,
 * columns j sw - pw + b dw.  Trailing padding needs no field: taps past
 * the input are skipped as leading ones are. */
typedef struct lam__win2d {
    size_t h, w, oh, ow;
    size_t kh, kw, sh, sw, dh, dw, ph, pw;
    /* nonzero: the caller will not read the output back while it could
     * still be in the caches (it streams a working set larger than them):
     * a kernel may write it with non-temporal stores, ordered (sfence)
     * before it returns.  The bits do not change. */
    int stream;
} lam__win2d;

/* Depthwise convolution of one plane: y = x (*) w (w: kh x kw, row-major) +
 * bias; zero padding. */
typedef void (*lam__dwconv2d_fn)(const lam__win2d *g, const float *x, const float *w, float bias,
                                 float *y, size_t oh_begin, size_t oh_end);
/* Depthwise convolution of nc planes (one input channel per output
 * channel) at once, all output rows: plane c at x + c xs, weights w + c kh
 * kw, bias[c] (NULL: 0), output y + c ys; the bits of dwconv2d plane by
 * plane.  scratch: lam__dwconv2d_nc_scratch(g) floats, 64-byte aligned. */
typedef void (*lam__dwconv2d_nc_fn)(const lam__win2d *g, size_t nc, const float *x, size_t xs,
                                    const float *w, const float *bias, float *y, size_t ys,
                                    float *scratch);
/* The scratch of dwconv2d_nc: the zero-padded input block a group of up
 * to 16 channels reads (hp x wp pixels of 16 floats), whatever the ISA. */
static inline size_t lam__dwconv2d_nc_scratch(const lam__win2d *g)
{
    if (g->oh == 0 || g->ow == 0)
        return 0;
    size_t hp = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1;
    size_t wp = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    return hp * wp * 16;
}
/* Max pooling of one plane, -inf padding, NaN propagating. */
typedef void (*lam__maxpool2d_fn)(const lam__win2d *g, const float *x, float *y, size_t oh_begin,
                                  size_t oh_end);
/* Average pooling of one plane (dilation 1): count_include_pad and a
 * divisor override (0: none), as nn.AvgPool2d. */
typedef void (*lam__avgpool2d_fn)(const lam__win2d *g, const float *x, float *y, size_t oh_begin,
                                  size_t oh_end, int count_include_pad, int64_t divisor);

/* The convolution GEMM (LAM_CONV_KERNELS in simd/kernel-list.h): the
 * weight of one group, M x K row-major, packed once; row k of B at
 * rows[k] + off. */
typedef size_t (*lam__conv_packed_size_fn)(size_t M, size_t K);
typedef void (*lam__conv_pack_fn)(size_t M, size_t K, const float *W, float *packed);
typedef void (*lam__conv_gemm_fn)(size_t M, size_t N, size_t K, const float *packed,
                                  const float *const *rows, size_t off, const float *bias,
                                  float *y, size_t ldy, lam__epilogue ep);
/* conv_gemm whose pixel j goes to output row j / wp, column j % wp (not
 * stored where that is >= ow): y[m ldy + (j / wp) ow + j % wp]. */
typedef void (*lam__conv_gemm_rows_fn)(size_t M, size_t N, size_t K, const float *packed,
                                       const float *const *rows, size_t off, const float *bias,
                                       float *y, size_t ldy, lam__epilogue ep, size_t wp,
                                       size_t ow);
/* Winograd F(4x4, 3x3) and F(2x2, 3x3) tile transforms, lane by lane over
 * n tiles (wino_in, wino_out, wino_store and the wino2_ twins:
 * LAM_CONV_KERNELS). */
typedef void (*lam__wino_fn)(size_t n, const float *x, size_t xs, float *y, size_t ys);
typedef void (*lam__wino_store_fn)(size_t n, const float *q, size_t qs, float *y, size_t ys,
                                   size_t ra, size_t wl);
typedef void (*lam__wino_in_fn)(size_t n, const float *x, size_t rs, size_t cs, size_t ts,
                                float *y, size_t ys);
/* Sum of (x_i - c) and of (x_i - c)^2 over n floats, in float64:
 * s[0], s[1] (LAM_STATS_KERNELS). */
typedef void (*lam__moments_fn)(size_t n, const float *x, double c, double s[2]);
/* LocalResponseNorm of positions [p_begin, p_end) of one sample: x and y
 * are C channels of S floats (channel c at c S); size, alpha, beta, k as
 * nn.LocalResponseNorm (LAM_CHANNEL_KERNELS). */
typedef void (*lam__lrn_fn)(size_t C, size_t S, const float *x, float *y, size_t size, double alpha,
                            double beta, double k, size_t p_begin, size_t p_end);

/* The entries of the elementwise, row and binary families, and their
 * contracts (accuracy, tails, special values), are the lists of
 * simd/kernel-list.h; the members below are generated from them. */
typedef struct lam__kernel_table {
    const char *isa; /* "scalar", "avx2", "avx512", "neon" */

    /* elementwise, y[i] = f(x[i]) for i in [0, n): relu, leaky_relu (a =
     * negative_slope), relu6, elu (a = alpha), sigmoid, tanh, gelu (0.5 x (1
     * + erf(x / sqrt 2))), gelu_tanh (0.5 x (1 + tanh(sqrt(2/pi) (x +
     * 0.044715 x^3)))), silu, exp, softplus (log1p(exp(beta x)) / beta, or x
     * where beta x > threshold), hardswish, hardsigmoid, hardtanh (a = min_val,
     * b = max_val), mish, prelu (a = the channel's weight), affine (fmaf(x,
     * a, b): BatchNorm in eval) */
    LAM_ELEMENTWISE_KERNELS(LAM__KT_MEMBER_E)

    /* row kernels over one row of n floats: softmax, log_softmax, layer_norm
     * (y = (x - mean) / sqrt(var + eps) * gamma + beta; gamma/beta may be
     * NULL) */
    LAM_ROW_KERNELS(LAM__KT_MEMBER_R)

    /* GEMM as nn.Linear does it: y[M, N] = act(x[M, K] · W[N, K]ᵀ + bias[N])
     * (+ ep.add[M, N], the residual addend, when not NULL).
     * W is packed once by gemm_pack into gemm_packed_size(N, K) floats (the
     * layout belongs to this table's ISA).  gemm computes output columns
     * [n_begin, n_end) of every row; ldx / ldy are row strides in floats.
     * bias may be NULL. */
    size_t (*gemm_packed_size)(size_t N, size_t K);
    void (*gemm_pack)(size_t N, size_t K, const float *W, float *packed);
    void (*gemm)(size_t M, size_t N, size_t K, const float *x, size_t ldx, const float *packed,
                 const float *bias, float *y, size_t ldy, lam__epilogue ep, size_t n_begin,
                 size_t n_end);

    /* Two Linear layers fused, y = act2(act1(x · W1ᵀ + b1) · W2ᵀ +
     * b2): x [M, K] (row stride ldx), W1 [H, K] and W2 [N, H] each packed by
     * gemm_pack, y [M, N] (row stride ldy), N <= 8, K <= LAM_MLP2_KMAX; bias1
     * / bias2 may be NULL.  Gives the same bits as gemm(x, W1) into a hidden
     * buffer, then gemm(hidden, W2) (the hidden layer stays in registers
     * or in stack chunks).  Never NULL: every table has one (the scalar
     * twin, or the driver's generic path).  ep1.add and ep2.add must be
     * NULL (no addend: the runtime checks before calling).  The GEMM
     * family's contract, entry by entry, is the list in
     * simd/gemm/gemm-kernels.h. */
    void (*mlp2)(size_t M, size_t K, size_t H, size_t N, const float *x, size_t ldx,
                 const float *packed1, const float *bias1, lam__epilogue ep1,
                 const float *packed2, const float *bias2, lam__epilogue ep2, float *y,
                 size_t ldy);

    /* elementwise binary, for i in [0, n): add..div give y[i] = a[i] op b[i];
     * addc..divc give y[i] = a[i] op c; rsubc and rdivc the reversed
     * y[i] = c - a[i], c / a[i].  y may equal a or b.  One IEEE-754 operation
     * per element: every ISA gives the same bits. */
    LAM_BINARY_KERNELS(LAM__KT_MEMBER_B)

    /* fused attention over query rows [i_begin, i_end) of one head
     * (lam__attn_args above; LAM_ATTN_KERNELS in simd/kernel-list.h) */
    LAM_ATTN_KERNELS(LAM__KT_MEMBER_R)
    /* window kernels over one plane, output rows [oh_begin, oh_end):
     * dwconv2d, maxpool2d, avgpool2d (contract: LAM_WINDOW_KERNELS) */
    LAM_WINDOW_KERNELS(LAM__KT_MEMBER_W)
    /* convolution as Y = W . B over NCHW planes: conv_packed_size,
     * conv_pack, conv_gemm, conv_gemm_rows, and the Winograd transforms
     * wino_in, wino_out, wino_store (contract: LAM_CONV_KERNELS) */
    LAM_CONV_KERNELS(LAM__KT_MEMBER_C)

    /* row statistics: moments (sum of x - c and of its square, float64,
     * in a fixed order; contract: LAM_STATS_KERNELS) */
    LAM_STATS_KERNELS(LAM__KT_MEMBER_W)

    /* across the channels of one sample: lrn (LocalResponseNorm; contract:
     * LAM_CHANNEL_KERNELS) */
    LAM_CHANNEL_KERNELS(LAM__KT_MEMBER_W)
} lam__kernel_table;

/* The largest K and N of lam__kernel_table.mlp2. */
#define LAM_MLP2_KMAX 64
#define LAM_MLP2_NMAX 8

/* The table for this process: scalar, overwritten once (pthread_once) by the
 * best ISA available, capped by LAMINA_MAX_ISA=scalar|avx2|avx512|neon
 * (a cap allows that ISA and the ones below it: avx512 > avx2 > scalar). */
const lam__kernel_table *lam__kernels(void);
/* That choice as one line ("kernels: avx2 (LAMINA_MAX_ISA=avx2)") for the
 * runtime to log (simd/ prints nothing); *bad_cap is set to 1 when
 * LAMINA_MAX_ISA names no ISA (it is then ignored), else 0. */
const char *lam__kernels_choice(int *bad_cap);

/* A specific ISA's table ("scalar", "avx2", "avx512", "neon"), or NULL when
 * this build or CPU lacks it (LAMINA_MAX_ISA does not apply).  For tests
 * and benchmarks. */
const lam__kernel_table *lam__kernels_for(const char *isa);
/* Why lam__kernels_for(isa) is NULL, as a line of text ("CPU lacks
 * AVX-512F/VL/BW/DQ or OS did not enable ZMM state"), or NULL when the table
 * is there. */
const char *lam__kernels_missing(const char *isa);

/* Fill a table with the scalar kernels (always compiled). */
void lam__kernels_init_scalar(lam__kernel_table *k);

#ifdef __cplusplus
}
#endif
#endif
