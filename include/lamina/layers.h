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

#ifdef __cplusplus
}
#endif
#endif
