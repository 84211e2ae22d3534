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

/* MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True,
 * add_bias_kv=False, add_zero_attn=False, kdim=None, vdim=None,
 * batch_first=False); kdim / vdim 0 are None (embed_dim).  Parameters as
 * PyTorch 1.13 names and initialises them: in_proj_weight [3E, E]
 * (xavier_uniform_), or q_proj_weight [E, E], k_proj_weight [E, kdim],
 * v_proj_weight [E, vdim] when kdim or vdim differ from E; in_proj_bias
 * [3E] (zeros) when bias; bias_k, bias_v [1, 1, E] (xavier_normal_) when
 * add_bias_kv; and the child out_proj, a Linear(E, E, bias) that prints as
 * NonDynamicallyQuantizableLinear (bias zeros).  As a module (Sequential,
 * lam_module_forward) it is self-attention: forward(x) = attn(x, x, x)[0],
 * x (L, N, E), (N, L, E) when batch_first, or (L, E) unbatched, without
 * masks; it needs kdim = vdim = E.  dropout applies only in training mode,
 * which lamina does not run (a forward in training mode with dropout > 0
 * fails with LAM_ERR_NOT_IMPLEMENTED).  Errors: LAM_ERR_INVALID_ARGUMENT for
 * a non-positive size or embed_dim not divisible by num_heads. */
LAM_API lam_status lam_multihead_attention_create(lam_module **out, int64_t embed_dim,
                                                  int64_t num_heads, double dropout, bool bias,
                                                  bool add_bias_kv, bool add_zero_attn,
                                                  int64_t kdim, int64_t vdim, bool batch_first);
/* MultiheadAttention.forward(query, key, value, key_padding_mask,
 * need_weights, attn_mask, average_attn_weights) of PyTorch 1.13 in eval
 * mode.  query (L, N, E) / key (S, N, kdim) / value (S, N, vdim), batch
 * first (N, L, E) when the module is, or unbatched (L, E).  Masks may be
 * NULL; a bool tensor is a boolean mask (True: masked), and so is a float
 * tensor with *_is_bool true (nonzero: masked); else the mask is added to
 * the scores: key_padding_mask (N, S) or (S), attn_mask (L, S) or
 * (N num_heads, L, S).  A query row that may attend to no key gives NaN, as
 * PyTorch.  *attn_output gets a new tensor of the query's shape; when
 * need_weights and attn_weights is not NULL, *attn_weights gets a new tensor
 * (N, L, S') averaged over heads or (N, num_heads, L, S') (without N
 * unbatched; S' = S + 1 for add_bias_kv, + 1 for add_zero_attn), else it
 * is set to NULL; nothing of size L x S is computed without weights.
 * lam_module_forward_multi(m, (query, key, value, key_padding_mask,
 * need_weights, attn_mask, average_attn_weights)) is the same call in
 * PyTorch's form (flags None or one-element tensors), returning the tuple
 * (attn_output, attn_weights or None); lam_module_forward is
 * self-attention without masks or weights.
 * Errors: LAM_ERR_TYPE when m is not a MultiheadAttention, LAM_ERR_SHAPE
 * with PyTorch's words for shapes that do not fit, LAM_ERR_NOT_IMPLEMENTED
 * for dropout > 0 in training mode. */
LAM_API lam_status lam_multihead_attention_forward(
    lam_module *m, const lam_tensor *query, const lam_tensor *key, const lam_tensor *value,
    const lam_tensor *key_padding_mask, bool key_padding_mask_is_bool, bool need_weights,
    const lam_tensor *attn_mask, bool attn_mask_is_bool, bool average_attn_weights,
    lam_tensor **attn_output, lam_tensor **attn_weights);

/* TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
 * activation="relu" (or "gelu"; NULL: relu), layer_norm_eps=1e-5,
 * batch_first=False, norm_first=False): PyTorch 1.13's children self_attn
 * (MultiheadAttention(d_model, nhead, dropout, batch_first)), linear1,
 * dropout, linear2, norm1, norm2, dropout1, dropout2, and its eval-mode
 * forward (input (L, N, d_model), (N, L, d_model) when batch_first, or (L,
 * d_model)): lam_module_forward without masks, lam_module_forward_multi
 * with PyTorch's (src, src_mask, src_key_padding_mask), masks bool (True:
 * masked) or additive float tensors.  A forward in training mode with dropout >
 * 0 fails (LAM_ERR_NOT_IMPLEMENTED).  Errors: LAM_ERR_INVALID_ARGUMENT
 * (PyTorch's "activation should be relu/gelu, not x"; sizes). */
LAM_API lam_status lam_transformer_encoder_layer_create(lam_module **out, int64_t d_model,
                                                        int64_t nhead, int64_t dim_feedforward,
                                                        double dropout, const char *activation,
                                                        double layer_norm_eps, bool batch_first,
                                                        bool norm_first);
/* TransformerEncoder(encoder_layer, num_layers, norm=None): children
 * `layers`, a ModuleList of num_layers new layers with encoder_layer's
 * configuration and parameter values (PyTorch deep-copies it; encoder_layer
 * itself is not kept, the caller still owns it), and `norm` (a reference is
 * taken) when not NULL.  forward: the layers in order, then norm;
 * lam_module_forward_multi takes PyTorch's (src, mask, src_key_padding_mask)
 * and gives every layer both masks (PyTorch's slow path: under no_grad its
 * nested-tensor fast path gives 0 at padded positions before the norm,
 * lamina computes them).  Errors: LAM_ERR_TYPE when encoder_layer is not a
 * TransformerEncoderLayer. */
LAM_API lam_status lam_transformer_encoder_create(lam_module **out, lam_module *encoder_layer,
                                                  int64_t num_layers, lam_module *norm);
/* TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
 * activation="relu" (or "gelu"; NULL: relu), layer_norm_eps=1e-5,
 * batch_first=False, norm_first=False): PyTorch 1.13's children self_attn,
 * multihead_attn (both MultiheadAttention(d_model, nhead, dropout,
 * batch_first)), linear1, dropout, linear2, norm1, norm2, norm3, dropout1,
 * dropout2, dropout3, and its eval-mode forward through
 * lam_module_forward_multi with PyTorch's (tgt, memory, tgt_mask,
 * memory_mask, tgt_key_padding_mask, memory_key_padding_mask) (masks None,
 * bool (True: masked) or additive float; tgt (T, N, d_model), memory (S, N,
 * d_model), batch first when batch_first, or unbatched (T, d_model)).  It
 * has no single-tensor forward: lam_module_forward fails with PyTorch's
 * TypeError (memory missing).  Errors as lam_transformer_encoder_layer_create. */
LAM_API lam_status lam_transformer_decoder_layer_create(lam_module **out, int64_t d_model,
                                                        int64_t nhead, int64_t dim_feedforward,
                                                        double dropout, const char *activation,
                                                        double layer_norm_eps, bool batch_first,
                                                        bool norm_first);
/* TransformerDecoder(decoder_layer, num_layers, norm=None): children
 * `layers` (num_layers copies of decoder_layer's configuration and values;
 * the caller still owns decoder_layer) and `norm` (a reference is taken)
 * when not NULL; lam_module_forward_multi takes the decoder layer's six
 * arguments and gives them to every layer, then norm.  Errors: LAM_ERR_TYPE
 * when decoder_layer is not a TransformerDecoderLayer. */
LAM_API lam_status lam_transformer_decoder_create(lam_module **out, lam_module *decoder_layer,
                                                  int64_t num_layers, lam_module *norm);
/* Transformer(d_model=512, nhead=8, num_encoder_layers=6,
 * num_decoder_layers=6, dim_feedforward=2048, dropout=0.1,
 * activation="relu", custom_encoder=None, custom_decoder=None,
 * layer_norm_eps=1e-5, batch_first=False, norm_first=False): children
 * encoder (TransformerEncoder of num_encoder_layers layers and a final
 * LayerNorm, or custom_encoder: a reference is taken) and decoder (the
 * same), every parameter of 2 or more dims re-initialised with
 * xavier_uniform_ as PyTorch's _reset_parameters does (custom ones
 * included).  lam_module_forward_multi takes PyTorch's (src, tgt, src_mask,
 * tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask,
 * memory_key_padding_mask) and returns the decoder's output; the children
 * are called through their forward_multi, so custom ones may be any module
 * that takes those arguments.  Errors: those of the layers; at forward,
 * PyTorch's "the batch number of src and tgt must be equal" and "the
 * feature number of src and tgt must be equal to d_model" (LAM_ERR_SHAPE). */
LAM_API lam_status lam_transformer_create(lam_module **out, int64_t d_model, int64_t nhead,
                                          int64_t num_encoder_layers, int64_t num_decoder_layers,
                                          int64_t dim_feedforward, double dropout,
                                          const char *activation, lam_module *custom_encoder,
                                          lam_module *custom_decoder, double layer_norm_eps,
                                          bool batch_first, bool norm_first);
/* Transformer.generate_square_subsequent_mask(sz): a new float (sz, sz)
 * tensor, -inf above the diagonal and 0 elsewhere (the causal mask).
 * Errors: LAM_ERR_INVALID_ARGUMENT for sz < 0. */
LAM_API lam_status lam_transformer_generate_square_subsequent_mask(lam_tensor **out, int64_t sz);

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

/* ---- recurrent layers (PyTorch 1.13's RNN, LSTM, GRU) ----
 *
 * Input [T, B, input_size] ([B, T, input_size] when batch_first), or
 * unbatched [T, input_size]; output [T, B, D * H_out] (batch_first: [B, T,
 * D * H_out]; unbatched [T, D * H_out]), D = 2 when bidirectional, H_out =
 * proj_size when given (LSTM only), else hidden_size.  Parameters, per layer
 * k and direction (suffix "_reverse" for the second): weight_ih_l{k} [G H,
 * in_k], weight_hh_l{k} [G H, H_out], bias_ih_l{k} and bias_hh_l{k} [G H]
 * when `bias`, weight_hr_l{k} [proj_size, H] when proj_size (G = 1 RNN, 4
 * LSTM, 3 GRU; in_0 = input_size, later D * H_out), in PyTorch's order, each
 * ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) from the default generator.
 * nonlinearity: "tanh" (also for NULL) or "relu".  dropout in [0, 1]: on
 * every layer's output but the last, in training mode only (identity in
 * eval, as PyTorch).  Errors: PyTorch's messages (LAM_ERR_INVALID_ARGUMENT)
 * for what its constructor refuses; a wrong input shape fails the forward
 * with PyTorch's message (LAM_ERR_SHAPE), e.g. "input.size(-1) must be equal
 * to input_size. Expected 10, got 7".
 *
 * PyTorch's forward(input, hx=None) is lam_module_forward_multi: it returns
 * the tuple (output, h_n), for LSTM (output, (h_n, c_n)), and takes hx (an
 * LSTM's as the tuple (h_0, c_0)); a Sequential passes that tuple on, as
 * PyTorch's does.  lam_module_forward, which returns one tensor, gives the
 * layer's `output` from zero initial states (a Sequential holding the layer
 * still passes the tuple on, whichever call runs it); lam_rnn_forward below
 * gives every tensor without tuples. */
LAM_API lam_status lam_rnn_create(lam_module **out, int64_t input_size, int64_t hidden_size,
                                  int64_t num_layers, const char *nonlinearity, bool bias,
                                  bool batch_first, double dropout, bool bidirectional);
LAM_API lam_status lam_lstm_create(lam_module **out, int64_t input_size, int64_t hidden_size,
                                   int64_t num_layers, bool bias, bool batch_first, double dropout,
                                   bool bidirectional, int64_t proj_size);
LAM_API lam_status lam_gru_create(lam_module **out, int64_t input_size, int64_t hidden_size,
                                  int64_t num_layers, bool bias, bool batch_first, double dropout,
                                  bool bidirectional);
/* The whole forward of an RNN, LSTM or GRU module m: `input` as above; h_0
 * [num_layers * D, B, H_out] and (LSTM) c_0 [num_layers * D, B, hidden_size]
 * (without B for an unbatched input) may be NULL (zeros).  *output gets a
 * new tensor; *h_n and *c_n, when those pointers are not NULL, new tensors
 * of h_0's / c_0's shape (c_n: LSTM only, else NULL).  The caller owns them.
 * Errors: PyTorch's messages for a wrong input or state shape (LAM_ERR_SHAPE,
 * "LSTM: Expected hidden[0] size (1, 3, 20), got [1, 4, 20]"),
 * LAM_ERR_INVALID_ARGUMENT when m is not one of these layers or c_0 is
 * given to an RNN or GRU. */
LAM_API lam_status lam_rnn_forward(lam_module *m, const lam_tensor *input, const lam_tensor *h_0,
                                   const lam_tensor *c_0, lam_tensor **output, lam_tensor **h_n,
                                   lam_tensor **c_n);

#ifdef __cplusplus
}
#endif
#endif
