/* The convolution layers' shared state (conv.c: construction, shapes,
 * errors, repr, weight packing; conv_compute.c: the arithmetic).
 * Conv1d is Conv2d with a 1 x k kernel over a 1-row input: index 0 of the
 * per-dimension arrays is the height (H), index 1 the width (W). */
#ifndef LAMINA_RUNTIME_LAYERS_CONV_H
#define LAMINA_RUNTIME_LAYERS_CONV_H

#include "runtime/layers/layers.h"
#include <pthread.h>

enum { CONV_PAD_NUMERIC = 0, CONV_PAD_VALID, CONV_PAD_SAME };
enum { CONV_ZEROS = 0, CONV_REFLECT, CONV_REPLICATE, CONV_CIRCULAR };

typedef struct conv_state {
    int nsp;         /* spatial dims: 1 or 2 */
    bool transposed; /* ConvTranspose */
    int64_t in_ch, out_ch, groups;
    int64_t k[2], stride[2], pad[2], dil[2], opad[2];
    int pad_str;                  /* CONV_PAD_* (padding='valid' / 'same') */
    int64_t pad_lo[2], pad_hi[2]; /* the padding applied (asymmetric for even 'same') */
    int mode;                     /* CONV_ZEROS .. (padding_mode) */
    bool bias;
    /* the packed weight, one conv_pack (transposed: gemm_pack, then a
     * conv_pack per output phase) panel set per group, remade when the
     * weight changes (as Linear's: its version or the module's
     * params_version) */
    pthread_mutex_t lock;
    float *packed;
    size_t packed_group; /* floats per group */
    lam__stamp packed_stamp; /* what `packed` was made from */
    /* a pointwise convolution's weight packed for the kernel table's gemm
     * too, for the last pixels of planes that end in a short tail
     * (conv_pw_tail): made at the first such forward, remade as packed */
    float *gpacked;
    lam__stamp gpacked_stamp;
    /* a 3x3 convolution's weight transformed for Winograd F(4x4, 3x3)
     * (conv_winograd): 36 conv_pack panel sets, made at the first such
     * forward (lam__conv_wino_pack), remade as packed (one buffer a tile
     * size: a module may see planes of both kinds, from several threads) */
    float *wpacked;
    lam__stamp wpacked_stamp;
    float *w2packed; /* ... for F(2x2, 3x3): 16 panel sets */
    lam__stamp w2packed_stamp;
} conv_state;

/* Per-group GEMM sizes: a convolution's weight is conv_gemm's W, N =
 * out/groups rows (its M) by K = in/groups * kH * kW (its columns are the
 * output pixels); a transposed one's GEMM rows are input pixels, K =
 * in/groups, N = out/groups * kH * kW. */
static inline void conv_gemm_dims(const conv_state *s, int64_t *N, int64_t *K)
{
    int64_t kk = s->k[0] * s->k[1];
    if (s->transposed) {
        *N = s->out_ch / s->groups * kk;
        *K = s->in_ch / s->groups;
    } else {
        *N = s->out_ch / s->groups;
        *K = s->in_ch / s->groups * kk;
    }
}

/* Depthwise-style: one input channel per group, computed plane by plane by
 * the kernel table's dwconv2d. */
static inline bool conv_is_direct(const conv_state *s)
{
    return !s->transposed && s->groups > 1 && s->in_ch == s->groups;
}

/* The sizes of one forward: batch, spatial input and output. */
typedef struct conv_geom {
    int64_t n, h, w, oh, ow;
} conv_geom;

/* The pixels at the end of each plane that a pointwise convolution (1x1,
 * stride 1, no padding, one group) computes with the kernel table's gemm
 * (pixels as rows, the channels as its vectors) rather than conv_gemm,
 * whose last vector of 16 pixels would hold only these few: the 7 x 7 and
 * 14 x 14 maps of MobileNet / EfficientNet / ResNet stages (1 and 4 left
 * over) and the 1 x 1 maps of squeeze-excitation.  0: none.  Both kernels
 * compute each output as one fmaf chain over k in order, + bias, then the
 * activation, so the bits are those of conv_gemm alone. */
static inline int64_t conv_pw_tail(const conv_state *s, const conv_geom *g)
{
    if (s->transposed || s->groups != 1 || s->k[0] != 1 || s->k[1] != 1 || s->stride[0] != 1 ||
        s->stride[1] != 1 || s->pad_lo[0] || s->pad_lo[1] || s->pad_hi[0] || s->pad_hi[1])
        return 0;
    int64_t r = g->oh * g->ow % 16;
    return r <= 6 ? r : 0;
}

/* Whether a convolution runs as Winograd (conv_compute.c), and with which
 * tile: 3x3, stride 1, no dilation, one group, at least 16 channels in and
 * out; F(4x4, 3x3) (4, returned) where the plane has at least 8 tiles of 4
 * x 4 outputs and they cover it with at most 35% to spare, else F(2x2, 3x3)
 * (2) where tiles of 2 x 2 do (7 x 7: 64 outputs computed for 49 either
 * way, but 16 tiles of 2 x 2 against 4 of 4 x 4, whose 36 transformed
 * weights per channel pair would be read for 4 tiles a sample); 0: direct.
 * The shapes of a sample decide, never the batch or the thread count, so a
 * sample's bits do not depend on either. */
static inline int conv_winograd(const conv_state *s, const conv_geom *g)
{
    if (s->transposed || s->groups != 1 || s->k[0] != 3 || s->k[1] != 3 || s->stride[0] != 1 ||
        s->stride[1] != 1 || s->dil[0] != 1 || s->dil[1] != 1 || s->in_ch < 16 ||
        s->out_ch < 16 || g->oh < 2 || g->ow < 2)
        return 0;
    double px = (double)g->oh * (double)g->ow;
    double t4 = (double)((g->oh + 3) / 4) * (double)((g->ow + 3) / 4);
    if (t4 >= 8 && 16.0 * t4 <= 1.35 * px)
        return 4;
    double t2 = (double)((g->oh + 1) / 2) * (double)((g->ow + 1) / 2);
    return 4.0 * t2 <= 1.35 * px ? 2 : 0;
}

/* The floats of one of a Winograd weight's panel sets (a multiple of 16). */
size_t lam__conv_wino_floats(const conv_state *s);
/* Transform and pack the weight w (the parameter's layout) for F(m x m, 3x3)
 * (m = 4: 36 panel sets, m = 2: 16) into out: U = G g G^T per (out, in)
 * channel pair, in float64, rounded once. */
lam_status lam__conv_wino_pack(const conv_state *s, const float *w, int m, float *out);

/* Compute y from x (both contiguous NCHW, with geometry g); packed is the
 * current packed weight (NULL for the direct path), weight and bias the
 * parameters' data (bias may be NULL); ep is applied to every output (a
 * joined activation: the same bits as the activation's own kernel after). */
lam_status lam__conv_compute(const conv_state *s, const conv_geom *g, const float *x, float *y,
                             const float *packed, const float *weight, const float *bias,
                             lam__epilogue ep);
/* A transposed convolution's packed floats per group: the GEMM's panels,
 * then conv_gemm's W of each output phase (conv_compute.c). */
size_t lam__conv_t_packed_floats(const conv_state *s);
/* Pack the weight w (the parameter's layout) into s->packed. */
lam_status lam__conv_pack(conv_state *s, const float *w);

#endif
