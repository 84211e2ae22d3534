/* lamina — built-in layers, with PyTorch's constructor arguments, defaults,
 * parameter names and repr.  Each returns a new reference in *out.
 * Parameters are initialised as PyTorch initialises them, from the default
 * generator (lam_manual_seed).
 *
 * Threads: the constructors may be called from several threads at once
 * (they draw from the default generator under its lock: lam_manual_seed).
 * The layers are modules; <lamina/module.h> says how they may be shared. */
#ifndef LAMINA_LAYERS_H
#define LAMINA_LAYERS_H

#include <math.h>
#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Softmax(dim=None): PyTorch's implicit choice (dim 0 for 1-D and 3-D input, else 1). */
#define LAM_DIM_NONE INT32_MIN

/* Linear(in_features, out_features, bias=True): y = x Wᵀ + b over the last
 * dim.  weight [out, in] and bias [out] ~ U(-1/sqrt(in), 1/sqrt(in)). */
LAM_API lam_status lam_linear_create(lam_module **out, int64_t in_features, int64_t out_features,
                                     bool bias);
LAM_API lam_status lam_identity_create(lam_module **out);
LAM_API lam_status lam_relu_create(lam_module **out);
LAM_API lam_status lam_leaky_relu_create(lam_module **out, double negative_slope); /* 0.01 */
LAM_API lam_status lam_relu6_create(lam_module **out);
LAM_API lam_status lam_elu_create(lam_module **out, double alpha);                 /* 1.0 */
LAM_API lam_status lam_sigmoid_create(lam_module **out);
LAM_API lam_status lam_tanh_create(lam_module **out);
/* approximate: "none" (erf form, also for NULL) or "tanh". */
LAM_API lam_status lam_gelu_create(lam_module **out, const char *approximate);
LAM_API lam_status lam_silu_create(lam_module **out);
/* Softplus(beta=1, threshold=20): log(1 + exp(beta x)) / beta, x where beta x > threshold. */
LAM_API lam_status lam_softplus_create(lam_module **out, double beta, double threshold);
LAM_API lam_status lam_softmax_create(lam_module **out, int dim);
LAM_API lam_status lam_log_softmax_create(lam_module **out, int dim);
/* LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True): weight (ones)
 * and bias (zeros) of normalized_shape when affine. */
LAM_API lam_status lam_layer_norm_create(lam_module **out, int ndim, const int64_t *normalized_shape,
                                         double eps, bool elementwise_affine);
/* Dropout(p=0.5): identity in eval mode; in training mode zeroes each
 * element with probability p (mask drawn from the default generator) and
 * scales the rest by 1/(1-p), as PyTorch does. */
LAM_API lam_status lam_dropout_create(lam_module **out, double p);
/* Flatten(start_dim=1, end_dim=-1) */
LAM_API lam_status lam_flatten_create(lam_module **out, int start_dim, int end_dim);

/* ---- normalisation layers (PyTorch 1.13, NCHW) ----
 *
 * BatchNorm1d / BatchNorm2d(num_features, eps=1e-5, momentum=0.1,
 * affine=True, track_running_stats=True) and InstanceNorm1d /
 * InstanceNorm2d(num_features, eps=1e-5, momentum=0.1, affine=False,
 * track_running_stats=False): parameters weight (ones) and bias (zeros) when
 * affine; buffers running_mean (zeros), running_var (ones) and the integer
 * num_batches_tracked (0; shape [1], PyTorch's 0-dim) when
 * track_running_stats (<lamina/module.h>, buffers).  momentum
 * LAM_MOMENTUM_NONE is None: a cumulative moving average.  Inputs:
 * BatchNorm1d (N, C) or (N, C, L); BatchNorm2d (N, C, H, W); InstanceNorm1d
 * (N, C, L) or (C, L); InstanceNorm2d (N, C, H, W) or (C, H, W).
 * In eval mode BatchNorm (and a tracking InstanceNorm) normalise with the
 * running statistics; in training mode, or without running statistics, with
 * the batch's, and a training forward updates the running statistics (and
 * BatchNorm's num_batches_tracked) as PyTorch does.  Shape errors are
 * PyTorch's ("expected 4D input (got 3D input)", "Expected more than 1 value
 * per channel when training, got input size torch.Size([1, 3])",
 * "running_mean should contain 4 elements not 3").  LAM_ERR_INVALID_ARGUMENT
 * for a negative num_features, a non-finite eps or an infinite momentum.
 * As in PyTorch, loading a state_dict with running_mean / running_var into
 * an InstanceNorm without running statistics fails (a checkpoint from before
 * PyTorch 0.4.0: "Unexpected running stats buffer(s) ..."), strict or not. */
#define LAM_MOMENTUM_NONE NAN
LAM_API lam_status lam_batch_norm1d_create(lam_module **out, int64_t num_features, double eps,
                                           double momentum, bool affine, bool track_running_stats);
LAM_API lam_status lam_batch_norm2d_create(lam_module **out, int64_t num_features, double eps,
                                           double momentum, bool affine, bool track_running_stats);
LAM_API lam_status lam_instance_norm1d_create(lam_module **out, int64_t num_features, double eps,
                                              double momentum, bool affine,
                                              bool track_running_stats);
LAM_API lam_status lam_instance_norm2d_create(lam_module **out, int64_t num_features, double eps,
                                              double momentum, bool affine,
                                              bool track_running_stats);
/* GroupNorm(num_groups, num_channels, eps=1e-5, affine=True): input (N, C,
 * *); weight (ones) and bias (zeros) of num_channels when affine.
 * LAM_ERR_INVALID_ARGUMENT "num_channels must be divisible by num_groups". */
LAM_API lam_status lam_group_norm_create(lam_module **out, int64_t num_groups, int64_t num_channels,
                                         double eps, bool affine);
/* LocalResponseNorm(size, alpha=1e-4, beta=0.75, k=1.0): across channels
 * (dim 1) of a 3-D or 4-D input; no parameters. */
LAM_API lam_status lam_local_response_norm_create(lam_module **out, int64_t size, double alpha,
                                                  double beta, double k);
/* ---- activations and dropouts of vision models ---- */
/* Hardswish: x * min(max(x + 3, 0), 6) / 6; Hardsigmoid: min(max(x + 3, 0), 6) / 6 */
LAM_API lam_status lam_hardswish_create(lam_module **out);
LAM_API lam_status lam_hardsigmoid_create(lam_module **out);
/* Hardtanh(min_val=-1.0, max_val=1.0): clamp; max_val must be > min_val. */
LAM_API lam_status lam_hardtanh_create(lam_module **out, double min_val, double max_val);
/* Mish: x * tanh(log1p(exp(x))) */
LAM_API lam_status lam_mish_create(lam_module **out);
/* PReLU(num_parameters=1, init=0.25): parameter `weight` [num_parameters],
 * filled with init; x if x > 0 else weight[c] * x, c on dim 1 (one weight
 * for all when num_parameters is 1). */
LAM_API lam_status lam_prelu_create(lam_module **out, int64_t num_parameters, double init);
/* Embedding(num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
 * norm_type=2.0, scale_grad_by_freq=False, sparse=False): parameter
 * `weight` [num_embeddings, embedding_dim] drawn from N(0, 1) with the
 * padding_idx row zeroed.  Takes int64 ids of 1 to 3 dims and gives
 * (*ids.shape, embedding_dim); float or bool ids fail (LAM_ERR_TYPE, in
 * PyTorch's words), ids outside [0, num_embeddings) fail with PyTorch's
 * "index out of range in self" (LAM_ERR_INDEX) before anything is read.
 * padding_idx: LAM_EMBEDDING_NO_PADDING for None, negative counts from the
 * end ("Padding_idx must be within num_embeddings" otherwise).  max_norm:
 * LAM_EMBEDDING_NO_MAX_NORM (NaN) for None; otherwise every forward first
 * renormalises the rows it looks up, in place, as PyTorch does (the weight
 * changes: its version moves).  scale_grad_by_freq and sparse only matter
 * for gradients: kept for the repr. */
#define LAM_EMBEDDING_NO_PADDING INT64_MIN
#define LAM_EMBEDDING_NO_MAX_NORM (__builtin_nan(""))
LAM_API lam_status lam_embedding_create(lam_module **out, int64_t num_embeddings,
                                        int64_t embedding_dim, int64_t padding_idx,
                                        double max_norm, double norm_type,
                                        bool scale_grad_by_freq, bool sparse);
/* Dropout1d/Dropout2d(p=0.5): identity in eval mode; in training mode zero
 * whole channels (dims 0 and 1; Dropout1d of a 2-D input: dim 0) with
 * probability p and scale the rest by 1/(1-p).  Dropout1d takes 2-D or 3-D
 * input only (in eval mode too, as PyTorch). */
LAM_API lam_status lam_dropout1d_create(lam_module **out, double p);
LAM_API lam_status lam_dropout2d_create(lam_module **out, double p);
/* AlphaDropout / FeatureAlphaDropout(p=0.5): identity in eval mode; in
 * training mode PyTorch's alpha dropout (per element / per channel), which
 * keeps SELU's mean and variance. */
LAM_API lam_status lam_alpha_dropout_create(lam_module **out, double p);
LAM_API lam_status lam_feature_alpha_dropout_create(lam_module **out, double p);

/* ---- pooling (NCHW: 1d layers take (N, C, L) or (C, L), 2d layers
 * (N, C, H, W) or (C, H, W)) ----
 * The arguments are PyTorch's and are checked at forward, as PyTorch checks
 * them, with its messages ("pad should be at most half of kernel size, but
 * got pad=2 and kernel_size=2", "Given input size: (2x5x5). Calculated
 * output size: (2x0x0). Output size is too small").  2d arguments are
 * {height, width}; a pair of equal entries prints as one int, as
 * MaxPool2d(3) prints kernel_size=3.  return_indices=True is not supported
 * (the model-file form is rejected with a message). */

/* None for an int argument: stride=None (the kernel size), an output_size
 * entry of None (the input's size), divisor_override=None. */
#define LAM_NONE_INT INT64_MIN

/* MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) */
LAM_API lam_status lam_max_pool1d_create(lam_module **out, int64_t kernel_size, int64_t stride,
                                         int64_t padding, int64_t dilation, bool ceil_mode);
/* MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
 * stride NULL = kernel_size, padding NULL = 0, dilation NULL = 1. */
LAM_API lam_status lam_max_pool2d_create(lam_module **out, const int64_t kernel_size[2],
                                         const int64_t stride[2], const int64_t padding[2],
                                         const int64_t dilation[2], bool ceil_mode);
/* AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) */
LAM_API lam_status lam_avg_pool1d_create(lam_module **out, int64_t kernel_size, int64_t stride,
                                         int64_t padding, bool ceil_mode, bool count_include_pad);
/* AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
 * count_include_pad=True, divisor_override=None (LAM_NONE_INT)) */
LAM_API lam_status lam_avg_pool2d_create(lam_module **out, const int64_t kernel_size[2],
                                         const int64_t stride[2], const int64_t padding[2],
                                         bool ceil_mode, bool count_include_pad,
                                         int64_t divisor_override);
/* Adaptive pools: output window i covers input [floor(i*in/out), ceil((i+1)*in/out)).
 * output_size entries may be LAM_NONE_INT (2d: keep that input size). */
LAM_API lam_status lam_adaptive_avg_pool1d_create(lam_module **out, int64_t output_size);
LAM_API lam_status lam_adaptive_avg_pool2d_create(lam_module **out, const int64_t output_size[2]);
LAM_API lam_status lam_adaptive_max_pool1d_create(lam_module **out, int64_t output_size);
LAM_API lam_status lam_adaptive_max_pool2d_create(lam_module **out, const int64_t output_size[2]);

/* ---- shape layers ---- */
/* Unflatten(dim, unflattened_size): dim expanded to the n sizes (one may be
 * -1, inferred).  unflattened_size may be NULL when n is 0 (an error at
 * forward, as PyTorch's "unflatten: sizes must be non-empty"). */
LAM_API lam_status lam_unflatten_create(lam_module **out, int dim, int n,
                                        const int64_t *unflattened_size);
/* PixelShuffle(upscale_factor): (*, C*r*r, H, W) -> (*, C, H*r, W*r);
 * PixelUnshuffle(downscale_factor) the inverse; ChannelShuffle(groups):
 * the channels (dim 1) seen as (groups, C/groups) and transposed. */
LAM_API lam_status lam_pixel_shuffle_create(lam_module **out, int64_t upscale_factor);
LAM_API lam_status lam_pixel_unshuffle_create(lam_module **out, int64_t downscale_factor);
LAM_API lam_status lam_channel_shuffle_create(lam_module **out, int64_t groups);
/* Upsample(size=None, scale_factor=None, mode='nearest', align_corners=None):
 * give size or scale_factor (the other NULL), each with n entries, one per
 * spatial dim (n = 0: one value for every spatial dim, printed as a number).
 * mode: "nearest" (also for NULL), "linear" ((N, C, L)) or "bilinear"
 * ((N, C, H, W)); "bicubic", "trilinear", "area" and "nearest-exact" are
 * not supported.  align_corners: -1 None, 0 False, 1 True (nearest takes
 * None only, checked at forward as PyTorch). */
LAM_API lam_status lam_upsample_create(lam_module **out, int n, const int64_t *size,
                                       const double *scale_factor, const char *mode,
                                       int align_corners);
/* Padding of the last dims, padding = (left, right) for the last dim, then
 * (top, bottom) for the one before; negative entries crop. */
LAM_API lam_status lam_constant_pad1d_create(lam_module **out, const int64_t padding[2],
                                             double value);
LAM_API lam_status lam_constant_pad2d_create(lam_module **out, const int64_t padding[4],
                                             double value);
LAM_API lam_status lam_zero_pad2d_create(lam_module **out, const int64_t padding[4]);
/* Reflection: mirrored without the edge (padding < the input size);
 * replication: the edge repeated. */
LAM_API lam_status lam_reflection_pad1d_create(lam_module **out, const int64_t padding[2]);
LAM_API lam_status lam_reflection_pad2d_create(lam_module **out, const int64_t padding[4]);
LAM_API lam_status lam_replication_pad1d_create(lam_module **out, const int64_t padding[2]);
LAM_API lam_status lam_replication_pad2d_create(lam_module **out, const int64_t padding[4]);
/* ---- convolutions (PyTorch 1.13's Conv1d, Conv2d, ConvTranspose1d,
 * ConvTranspose2d) ----
 *
 * Inputs are NCL / NCHW, batched or not ([C, L], [C, H, W]), as PyTorch
 * takes them.  Two-element arrays are (height, width); a NULL stride,
 * padding, dilation or output_padding is PyTorch's default (1, 0, 1, 0).
 * padding_mode: "zeros" (also for NULL), "reflect", "replicate" or
 * "circular" (ConvTranspose: "zeros" only).  padding = LAM_CONV_PADDING_SAME
 * / _VALID (in every entry) is PyTorch's padding='same' / 'valid'; 'same'
 * pads an even effective kernel one more at the end, as PyTorch does, and is
 * refused with a stride other than 1.
 * Parameters: weight [out, in/groups, kH, kW] (ConvTranspose: [in,
 * out/groups, kH, kW]; 1-d: without kH) and bias [out] when `bias`, both ~
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from the default generator, fan_in =
 * weight.size(1) * kH * kW (kaiming_uniform_(a=sqrt(5)) as reset_parameters).
 * Errors: LAM_ERR_INVALID_ARGUMENT with PyTorch's message for what its
 * constructor refuses (groups not dividing the channels, ...) and for what
 * it refuses at the first forward (non-positive kernel, stride, dilation;
 * negative padding), made here; a wrong input shape fails the forward with
 * PyTorch's message (LAM_ERR_SHAPE). */
#define LAM_CONV_PADDING_VALID (-1)
#define LAM_CONV_PADDING_SAME (-2)
LAM_API lam_status lam_conv1d_create(lam_module **out, int64_t in_channels, int64_t out_channels,
                                     int64_t kernel_size, int64_t stride, int64_t padding,
                                     int64_t dilation, int64_t groups, bool bias,
                                     const char *padding_mode);
/* kernel_size must not be NULL. */
LAM_API lam_status lam_conv2d_create(lam_module **out, int64_t in_channels, int64_t out_channels,
                                     const int64_t kernel_size[2], const int64_t stride[2],
                                     const int64_t padding[2], const int64_t dilation[2],
                                     int64_t groups, bool bias, const char *padding_mode);
/* PyTorch's argument order: output_padding, groups, bias, dilation. */
LAM_API lam_status lam_conv_transpose1d_create(lam_module **out, int64_t in_channels,
                                               int64_t out_channels, int64_t kernel_size,
                                               int64_t stride, int64_t padding,
                                               int64_t output_padding, int64_t groups, bool bias,
                                               int64_t dilation, const char *padding_mode);
LAM_API lam_status lam_conv_transpose2d_create(lam_module **out, int64_t in_channels,
                                               int64_t out_channels, const int64_t kernel_size[2],
                                               const int64_t stride[2], const int64_t padding[2],
                                               const int64_t output_padding[2], int64_t groups,
                                               bool bias, const int64_t dilation[2],
                                               const char *padding_mode);

#ifdef __cplusplus
}
#endif
#endif
