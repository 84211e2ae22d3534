/* Unflatten(dim, unflattened_size), PixelShuffle(upscale_factor),
 * PixelUnshuffle(downscale_factor) and ChannelShuffle(groups), with
 * PyTorch 1.13's checks and messages (TensorShape.cpp unflatten and
 * infer_size, PixelShuffle.cpp, ChannelShuffle.cpp).  Each writes a copy:
 * Unflatten the same values, the others permuted. */
#include "runtime/layers/layers.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { R_UNFLATTEN, R_PIXEL_SHUFFLE, R_PIXEL_UNSHUFFLE, R_CHANNEL_SHUFFLE };

typedef struct reshape_state {
    int kind;
    int64_t dim;          /* Unflatten */
    int64_t sizes[LAM_MAX_DIMS];
    int n;                /* number of sizes */
    bool list;            /* unflattened_size written as a list: printed [2, 5] */
    int64_t factor;       /* upscale / downscale factor, groups */
} reshape_state;

static void fmt_sizes(const int64_t *v, int n, char *buf, size_t size)
{
    lam_shape_str(n, v, buf, size);
}

static lam_status unflatten_shape(const reshape_state *s, int ndim, const int64_t *in, int *out_ndim,
                                  int64_t *out)
{
    int64_t d = s->dim;
    if (ndim == 0 || d < -ndim || d >= ndim)
        return lam__error(LAM_ERR_SHAPE,
                          "Unflatten: Dimension out of range (expected to be in range of [%d, %d], "
                          "but got %" PRId64 ")",
                          ndim ? -ndim : -1, ndim ? ndim - 1 : 0, d);
    if (d < 0)
        d += ndim;
    if (s->n == 0)
        return lam__error(LAM_ERR_SHAPE, "Unflatten: unflatten: sizes must be non-empty");
    if (ndim - 1 + s->n > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_SHAPE,
                          "Unflatten: the output would have %d dimensions, at most %d supported",
                          ndim - 1 + s->n, LAM_MAX_DIMS);
    /* infer_size */
    int infer = -1;
    int64_t newsize = 1, numel = in[d];
    char sb[96];
    for (int i = 0; i < s->n; i++) {
        if (s->sizes[i] == -1) {
            if (infer >= 0)
                return lam__error(LAM_ERR_SHAPE, "Unflatten: unflatten got an unexpected error:\n"
                                                 "only one dimension can be inferred");
            infer = i;
        } else if (s->sizes[i] >= 0) {
            if (__builtin_mul_overflow(newsize, s->sizes[i], &newsize))
                newsize = INT64_MAX;
        } else {
            return lam__error(LAM_ERR_SHAPE, "Unflatten: invalid shape dimension %" PRId64,
                              s->sizes[i]);
        }
    }
    int64_t inferred = 0;
    if (numel == newsize || (infer >= 0 && newsize > 0 && numel % newsize == 0)) {
        if (infer >= 0) {
            if (newsize == 0) {
                fmt_sizes(s->sizes, s->n, sb, sizeof sb);
                return lam__error(LAM_ERR_SHAPE,
                                  "Unflatten: cannot reshape tensor of 0 elements into shape %s "
                                  "because the unspecified dimension size -1 can be any value and "
                                  "is ambiguous",
                                  sb);
            }
            inferred = numel / newsize;
        }
    } else {
        fmt_sizes(s->sizes, s->n, sb, sizeof sb);
        return lam__error(LAM_ERR_SHAPE,
                          "Unflatten: unflatten: Provided sizes %s don't multiply up to the size of "
                          "dim %" PRId64 " (%" PRId64 ") in the input tensor",
                          sb, d, numel);
    }
    int o = 0;
    for (int i = 0; i < d; i++)
        out[o++] = in[i];
    for (int i = 0; i < s->n; i++)
        out[o++] = i == infer ? inferred : s->sizes[i];
    for (int i = (int)d + 1; i < ndim; i++)
        out[o++] = in[i];
    *out_ndim = o;
    return LAM_OK;
}

static lam_status shuffle_check(const reshape_state *s, int ndim, const int64_t *in)
{
    char sb[96];
    int64_t r = s->factor;
    switch (s->kind) {
    case R_PIXEL_SHUFFLE:
        if (ndim < 3)
            return lam__error(LAM_ERR_SHAPE,
                              "PixelShuffle: pixel_shuffle expects input to have at least 3 "
                              "dimensions, but got input with %d dimension(s)",
                              ndim);
        if (r <= 0)
            return lam__error(LAM_ERR_SHAPE,
                              "PixelShuffle: pixel_shuffle expects a positive upscale_factor, but "
                              "got %" PRId64,
                              r);
        if (r > 3037000499) /* r * r beyond int64 */
            return lam__error(LAM_ERR_SHAPE, "PixelShuffle: upscale_factor %" PRId64 " is too large",
                              r);
        if (in[ndim - 3] % (r * r))
            return lam__error(LAM_ERR_SHAPE,
                              "PixelShuffle: pixel_shuffle expects its input's 'channel' dimension "
                              "to be divisible by the square of upscale_factor, but "
                              "input.size(-3)=%" PRId64 " is not divisible by %" PRId64,
                              in[ndim - 3], r * r);
        return LAM_OK;
    case R_PIXEL_UNSHUFFLE:
        if (ndim < 3)
            return lam__error(LAM_ERR_SHAPE,
                              "PixelUnshuffle: pixel_unshuffle expects input to have at least 3 "
                              "dimensions, but got input with %d dimension(s)",
                              ndim);
        if (r <= 0)
            return lam__error(LAM_ERR_SHAPE,
                              "PixelUnshuffle: pixel_unshuffle expects a positive "
                              "downscale_factor, but got %" PRId64,
                              r);
        if (in[ndim - 2] % r)
            return lam__error(LAM_ERR_SHAPE,
                              "PixelUnshuffle: pixel_unshuffle expects height to be divisible by "
                              "downscale_factor, but input.size(-2)=%" PRId64
                              " is not divisible by %" PRId64,
                              in[ndim - 2], r);
        if (in[ndim - 1] % r)
            return lam__error(LAM_ERR_SHAPE,
                              "PixelUnshuffle: pixel_unshuffle expects width to be divisible by "
                              "downscale_factor, but input.size(-1)=%" PRId64
                              " is not divisible by %" PRId64,
                              in[ndim - 1], r);
        return LAM_OK;
    default:
        if (ndim <= 2)
            return lam__error(LAM_ERR_SHAPE,
                              "ChannelShuffle: channel_shuffle expects input with > 2 dims, but got "
                              "input with sizes %s",
                              lam_shape_str(ndim, in, sb, sizeof sb));
        if (r <= 0)
            return lam__error(LAM_ERR_SHAPE,
                              "ChannelShuffle: Number of groups to divide channels in must be "
                              "positive. Value of groups:%" PRId64,
                              r);
        if (in[1] % r)
            return lam__error(LAM_ERR_SHAPE,
                              "ChannelShuffle: Number of channels must be divisible by groups. Got "
                              "%" PRId64 " channels and %" PRId64 " groups.",
                              in[1], r);
        return LAM_OK;
    }
}

static lam_status reshape_shape(lam_module *m, int ndim, const int64_t *in, int *out_ndim,
                                int64_t *out)
{
    const reshape_state *s = m->state;
    if (s->kind == R_UNFLATTEN)
        return unflatten_shape(s, ndim, in, out_ndim, out);
    lam_status st = shuffle_check(s, ndim, in);
    if (st)
        return st;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    int64_t r = s->factor;
    if (s->kind == R_PIXEL_SHUFFLE) {
        out[ndim - 3] /= r * r;
        if (__builtin_mul_overflow(out[ndim - 2], r, &out[ndim - 2]) ||
            __builtin_mul_overflow(out[ndim - 1], r, &out[ndim - 1]))
            return lam__error(LAM_ERR_SHAPE,
                              "PixelShuffle: the output size is beyond int64 (upscale_factor "
                              "%" PRId64 ")",
                              r);
    } else if (s->kind == R_PIXEL_UNSHUFFLE) {
        int64_t r2;
        if (__builtin_mul_overflow(r, r, &r2) ||
            __builtin_mul_overflow(out[ndim - 3], r2, &out[ndim - 3]))
            return lam__error(LAM_ERR_SHAPE,
                              "PixelUnshuffle: the output size is beyond int64 (downscale_factor "
                              "%" PRId64 ")",
                              r);
        out[ndim - 2] /= r;
        out[ndim - 1] /= r;
    }
    return LAM_OK;
}

static lam_status reshape_forward(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    const reshape_state *s = m->state;
    int ndim = in->ndim;
    const float *x = in->data;
    float *y = out->data;
    if (s->kind == R_UNFLATTEN) {
        if (y != x)
            memcpy(y, x, (size_t)in->numel * sizeof(float));
        return LAM_OK;
    }
    lam_status st = shuffle_check(s, ndim, in->shape);
    if (st || in->numel == 0) /* empty: other dims may multiply past int64 */
        return st;
    int64_t r = s->factor;
    if (s->kind == R_CHANNEL_SHUFFLE) {
        /* (N, g, C/g, *) -> (N, C/g, g, *) */
        int64_t N = in->shape[0], C = in->shape[1], inner = 1, cg = C / r;
        for (int i = 2; i < ndim; i++)
            inner *= in->shape[i];
        for (int64_t n = 0; n < N; n++)
            for (int64_t g = 0; g < r; g++)
                for (int64_t j = 0; j < cg; j++)
                    memcpy(y + ((n * C) + j * r + g) * inner, x + ((n * C) + g * cg + j) * inner,
                           (size_t)inner * sizeof(float));
        return LAM_OK;
    }
    int64_t outer = 1;
    for (int i = 0; i < ndim - 3; i++)
        outer *= in->shape[i];
    bool up = s->kind == R_PIXEL_SHUFFLE;
    /* the small side: (OC, H, W) of the shuffle's output channels */
    int64_t C = up ? in->shape[ndim - 3] / (r * r) : in->shape[ndim - 3];
    int64_t H = up ? in->shape[ndim - 2] : in->shape[ndim - 2] / r;
    int64_t W = up ? in->shape[ndim - 1] : in->shape[ndim - 1] / r;
    /* big[c, h*r+i, w*r+j] = small[c*r*r + i*r + j, h, w] */
    for (int64_t o = 0; o < outer; o++) {
        const float *xb = x + o * C * r * r * H * W;
        float *yb = y + o * C * r * r * H * W;
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < r; i++)
                for (int64_t j = 0; j < r; j++)
                    for (int64_t h = 0; h < H; h++)
                        for (int64_t w = 0; w < W; w++) {
                            int64_t small = ((c * r * r + i * r + j) * H + h) * W + w;
                            int64_t big = (c * H * r + h * r + i) * W * r + w * r + j;
                            if (up)
                                yb[big] = xb[small];
                            else
                                yb[small] = xb[big];
                        }
    }
    return LAM_OK;
}

static int reshape_repr(const lam_module *m, char *buf, size_t size)
{
    const reshape_state *s = m->state;
    switch (s->kind) {
    case R_UNFLATTEN: {
        char sb[160] = "(";
        sb[0] = s->list ? '[' : '(';
        size_t len = 1;
        for (int i = 0; i < s->n; i++)
            len += (size_t)snprintf(sb + len, sizeof sb - len, "%s%" PRId64, i ? ", " : "",
                                    s->sizes[i]);
        snprintf(sb + len, sizeof sb - len, "%s", s->list ? "]" : s->n == 1 ? ",)" : ")");
        return snprintf(buf, size, "dim=%" PRId64 ", unflattened_size=%s", s->dim, sb);
    }
    case R_PIXEL_SHUFFLE: return snprintf(buf, size, "upscale_factor=%" PRId64, s->factor);
    case R_PIXEL_UNSHUFFLE: return snprintf(buf, size, "downscale_factor=%" PRId64, s->factor);
    default: return snprintf(buf, size, "groups=%" PRId64, s->factor);
    }
}

static void reshape_destroy(lam_module *m) { free(m->state); }

static bool reshape_rowwise(const lam_module *m, int ndim)
{
    const reshape_state *s = m->state;
    switch (s->kind) {
    case R_UNFLATTEN: return (s->dim < 0 ? s->dim + ndim : s->dim) >= 1;
    case R_CHANNEL_SHUFFLE: return true; /* channels are dim 1 */
    default: return ndim >= 4;           /* dim 0 is a batch, not the channels */
    }
}

#define RESHAPE_OPS(var, name, pymod)                                                              \
    static const lam__module_ops var = {                                                            \
        .type_name = name,                                                                         \
        .py_module = pymod,                                                                        \
        .output_shape = reshape_shape,                                                             \
        .forward_into = reshape_forward,                                                           \
        .extra_repr = reshape_repr,                                                                \
        .destroy = reshape_destroy,                                                                \
        .rowwise = reshape_rowwise,                                                                \
    }
RESHAPE_OPS(unflatten_ops, "Unflatten", "torch.nn.modules.flatten");
RESHAPE_OPS(pixel_shuffle_ops, "PixelShuffle", "torch.nn.modules.pixelshuffle");
RESHAPE_OPS(pixel_unshuffle_ops, "PixelUnshuffle", "torch.nn.modules.pixelshuffle");
RESHAPE_OPS(channel_shuffle_ops, "ChannelShuffle", "torch.nn.modules.channelshuffle");

static lam_status make(lam_module **out, const lam__module_ops *ops, const reshape_state *init)
{
    *out = NULL;
    reshape_state *s = malloc(sizeof *s);
    if (!s)
        return lam__oom(ops->type_name);
    *s = *init;
    lam_status st = lam__module_new(out, ops, s);
    if (st)
        free(s);
    return st;
}

LAM_API lam_status lam_unflatten_create(lam_module **out, int dim, int n,
                                        const int64_t *unflattened_size)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARRAY(unflattened_size, n);
    *out = NULL;
    if (n < 0 || n > LAM_MAX_DIMS)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "Unflatten: unflattened_size has %d entries, at most %d supported", n,
                          LAM_MAX_DIMS);
    reshape_state s = {.kind = R_UNFLATTEN, .dim = dim, .n = n};
    if (n)
        memcpy(s.sizes, unflattened_size, sizeof(int64_t) * (size_t)n);
    return make(out, &unflatten_ops, &s);
}

LAM_API lam_status lam_pixel_shuffle_create(lam_module **out, int64_t upscale_factor)
{
    LAM__CHECK_ARG(out);
    reshape_state s = {.kind = R_PIXEL_SHUFFLE, .factor = upscale_factor};
    return make(out, &pixel_shuffle_ops, &s);
}

LAM_API lam_status lam_pixel_unshuffle_create(lam_module **out, int64_t downscale_factor)
{
    LAM__CHECK_ARG(out);
    reshape_state s = {.kind = R_PIXEL_UNSHUFFLE, .factor = downscale_factor};
    return make(out, &pixel_unshuffle_ops, &s);
}

LAM_API lam_status lam_channel_shuffle_create(lam_module **out, int64_t groups)
{
    LAM__CHECK_ARG(out);
    reshape_state s = {.kind = R_CHANNEL_SHUFFLE, .factor = groups};
    return make(out, &channel_shuffle_ops, &s);
}

void lam__unflatten_set_list(lam_module *m, bool list)
{
    if (m && m->ops == &unflatten_ops)
        ((reshape_state *)m->state)->list = list;
}
