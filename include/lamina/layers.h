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

#ifdef __cplusplus
}
#endif
#endif
