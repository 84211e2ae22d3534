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
