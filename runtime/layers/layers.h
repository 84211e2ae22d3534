/* runtime/layers — the built-in layer types (Linear, the activations,
 * Softmax/LogSoftmax, LayerNorm, the dropouts, Flatten, BatchNorm,
 * InstanceNorm, GroupNorm, LocalResponseNorm, the pools of pool.c, PReLU, Embedding,
 * the padding layers, Upsample, Unflatten, the shuffles, the
 * convolutions in conv.h, the recurrent layers of rnn.c, MultiheadAttention,
 * TransformerEncoderLayer and TransformerDecoderLayer) as
 * lam__module_ops, and
 * the capability queries the executor asks of any layer, built-in or plugin
 * (rowwise.c).  Uses core, tensor and module; registered with the type
 * registry by plugin/builtin_types.c. */
#ifndef LAMINA_RUNTIME_LAYERS_LAYERS_H
#define LAMINA_RUNTIME_LAYERS_LAYERS_H

#include "runtime/module/module.h"

extern const lam__module_ops lam__linear_ops;
/* in/out features and bias data of a Linear */
void lam__linear_info(const lam_module *m, int64_t *in, int64_t *out, const float **bias);
/* The packed weight for the current weight values (an error only under
 * LAMINA_CHECK_WEIGHTS, for a weight changed behind lamina's back). */
lam_status lam__linear_packed(lam_module *m, const float **packed);

/* A LayerNorm's row length (the product of normalized_shape), its weight
 * and bias (NULL when not elementwise_affine) and eps; false when m is not
 * a LayerNorm (nothing is set). */
bool lam__layer_norm_info(const lam_module *m, int64_t *size, const float **gamma,
                          const float **beta, float *eps);

/* How an activation prints its numeric arguments (int or float literal),
 * for modules created from model files: LeakyReLU(negative_slope=1) prints 1. */
void lam__act_set_repr_style(lam_module *m, bool a_int, bool b_int);
/* inplace=True as written in a model file: kept for the repr (ReLU(inplace=True));
 * lamina layers write a new output, which gives the same results. */
void lam__act_set_inplace(lam_module *m, bool inplace);
void lam__dropout_set_inplace(lam_module *m, bool inplace);
/* Unflatten's unflattened_size was written as a list: its repr keeps [2, 5]. */
void lam__unflatten_set_list(lam_module *m, bool list);

/* ---- MultiheadAttention (attention.c) ---- */
extern const lam__module_ops lam__mha_ops;
/* A mask as PyTorch takes it: additive floats (f) or booleans (b, nonzero:
 * masked), ndim 0 for none.  key_padding_mask is (N, S) ((S) unbatched);
 * attn_mask (L, S) or (N num_heads, L, S). */
typedef struct lam__attn_mask {
    const float *f;
    const unsigned char *b;
    int ndim;
    int64_t shape[3];
} lam__attn_mask;
/* MultiheadAttention.forward(query, key, value, key_padding_mask,
 * need_weights, attn_mask, average_attn_weights) in eval mode: attn_output
 * into `out` (the query's shape, preallocated); when need_weights and
 * weights, *weights gets a new tensor ((N, L, S') averaged or (N, H, L, S'),
 * without N unbatched; S' counts bias_k and the zero key).  Masks may be
 * NULL.  Shape errors as PyTorch words them. */
lam_status lam__mha_compute(lam_module *m, const lam_tensor *query, const lam_tensor *key,
                            const lam_tensor *value, const lam__attn_mask *key_padding_mask,
                            const lam__attn_mask *attn_mask, bool need_weights,
                            bool average_attn_weights, lam_tensor *out, lam_tensor **weights);
/* The same without weights, out = residual + attn_output: the residual
 * (the query's shape and layout, not overlapping out) is added in
 * out_proj's GEMM epilogue, with the bits of attn_output then an add
 * (a pre-norm transformer's x + self_attn(norm1(x))). */
lam_status lam__mha_compute_add(lam_module *m, const lam_tensor *query, const lam_tensor *key,
                                const lam_tensor *value, const lam__attn_mask *key_padding_mask,
                                const lam__attn_mask *attn_mask, lam_tensor *out,
                                const float *residual);

/* A mask tensor as the attention takes it: a bool tensor masks where True,
 * a float one is added to the scores; *owned (to free) is always NULL for
 * these.  NULL t: no mask (ndim 0).  LAM_ERR_TYPE for another type. */
lam_status lam__attn_mask_of(const lam_tensor *t, lam__attn_mask *mk, unsigned char **owned);
/* TransformerEncoderLayer's eval forward with an attention mask and a key
 * padding mask (either NULL), into `out` (the input's shape). */
lam_status lam__tel_run(lam_module *m, const lam_tensor *in, const lam__attn_mask *attn_mask,
                        const lam__attn_mask *key_padding_mask, lam_tensor *out);
/* forward(src, mask=None, key_padding_mask=None)'s values (in->n 1..3) for
 * the encoder layer and the encoder: src float32, the masks as
 * lam__attn_mask_of makes them (*has_*: given and not None). */
lam_status lam__tel_args(const char *type, const lam_tuple *in, const lam_tensor **src,
                         lam__attn_mask *am, lam__attn_mask *kpm, bool *has_am, bool *has_kpm);
/* MultiheadAttention's forward with several values (forward_multi). */
lam_status lam__mha_forward_multi(lam_module *m, const lam_tuple *in, void *args, lam__val *out);

/* ---- constructor arguments PyTorch's repr does not print ----
 * A MultiheadAttention, Transformer{Encoder,Decoder}Layer or Transformer
 * read from a model file in PyTorch's printed form may not know some of
 * them (docs/model-format.md, "Arguments the repr does not print"): the
 * model file marks them unknown (forget), lam_model_set_arg and the
 * weights' metadata set them, and a forward that needs one still unknown
 * fails with LAM__HID_HOW. */
enum {
    LAM__HID_NUM_HEADS = 1u, /* num_heads, nhead */
    LAM__HID_BATCH_FIRST = 2u,
    LAM__HID_NORM_FIRST = 4u,
    LAM__HID_ACTIVATION = 8u,
    /* MultiheadAttention only, never reported missing: kdim, vdim and
     * add_bias_kv were not written, the weights may tell (their keys) */
    LAM__HID_KV = 16u,
};
#define LAM__HID_HOW                                                                               \
    "write it in the model file (as lamina-export does), or set it with "                         \
    "lam_model_set_arg() / lamina --set PATH.NAME=VALUE"
typedef struct lam__hidden {
    unsigned takes; /* the arguments the module has */
    unsigned known; /* those it knows */
    int64_t num_heads;
    bool batch_first, norm_first, gelu;
    /* MultiheadAttention's other arguments, for rebuilding it */
    double dropout;
    bool add_zero_attn;
} lam__hidden;
void lam__mha_hidden(const lam_module *m, lam__hidden *h);
/* Set the arguments of `which` from v (num_heads must divide embed_dim);
 * they become known. */
lam_status lam__mha_set_hidden(lam_module *m, const lam__hidden *v, unsigned which);
void lam__mha_forget(lam_module *m, unsigned which);
/* The same for both transformer layers: nhead and batch_first are the
 * layer's record of its attention children's (always known), norm_first
 * and activation its own. */
void lam__tel_hidden(const lam_module *m, lam__hidden *h);
lam_status lam__tel_set_hidden(lam_module *m, const lam__hidden *v, unsigned which);
void lam__tel_forget(lam_module *m, unsigned which);
/* A layer (ops lam__tel_ops or lam__tdl_ops) without children, for a model
 * file that lists them: the forward finds them by name. */
lam_status lam__tel_shell(const lam__module_ops *ops, lam_module **out, int64_t d_model,
                          int64_t nhead, int64_t dim_feedforward, double dropout, bool gelu,
                          double layer_norm_eps, bool batch_first, bool norm_first);

/* ---- TransformerEncoderLayer, TransformerDecoderLayer (transformer.c) ---- */
extern const lam__module_ops lam__tel_ops, lam__tdl_ops;
/* A new layer with src's configuration and parameter values
 * (copy.deepcopy, as TransformerEncoder / TransformerDecoder make their
 * layers); LAM_ERR_TYPE, naming `owner`, when src is not of type ops
 * (lam__tel_ops or lam__tdl_ops). */
lam_status lam__tel_clone(const lam_module *src, const lam__module_ops *ops, const char *owner,
                          lam_module **out);
/* TransformerDecoderLayer's eval forward (any mask NULL), into `out` (tgt's
 * shape). */
lam_status lam__tdl_run(lam_module *m, const lam_tensor *tgt, const lam_tensor *memory,
                        const lam__attn_mask *tgt_mask, const lam__attn_mask *memory_mask,
                        const lam__attn_mask *tgt_kpm, const lam__attn_mask *memory_kpm,
                        lam_tensor *out);
/* forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
 * memory_key_padding_mask)'s values (in->n 2..6) for the decoder layer and
 * the decoder: given[i] is &masks[i], or NULL for a mask absent or None. */
lam_status lam__tdl_args(const char *type, const lam_tuple *in, const lam_tensor **tgt,
                         const lam_tensor **memory, lam__attn_mask masks[4],
                         const lam__attn_mask *given[4]);

/* ---- pools (pool.c) ---- */
enum { LAM__POOL_MAX, LAM__POOL_AVG, LAM__POOL_ADAPTIVE_AVG, LAM__POOL_ADAPTIVE_MAX };
/* A pool's arguments as written: n* = 0 for an int (v[0]), else a tuple of
 * n* entries (printed as a tuple); checked at forward, as PyTorch does. */
typedef struct lam__pool_cfg {
    int kind, dims;            /* LAM__POOL_*, 1 or 2 */
    int64_t k[4], s[4], p[4], d[4];
    uint8_t nk, ns, np, nd;
    bool s_none;               /* stride=None: kernel_size */
    bool ceil_mode, count_include_pad;
    bool has_divisor;          /* divisor_override given */
    int64_t divisor;
    int64_t out[4];            /* adaptive output_size */
    bool out_none[4];          /* None entries (the input's size) */
    uint8_t nout;
    uint8_t lists;             /* bit per field (k, s, p, d, out): written as a list */
} lam__pool_cfg;
lam_status lam__pool_create(lam_module **out, const lam__pool_cfg *cfg);

/* ---- padding (padding.c) ---- */
enum {
    LAM__PAD_CONSTANT1D, LAM__PAD_CONSTANT2D, LAM__PAD_ZERO2D, LAM__PAD_REFLECTION1D,
    LAM__PAD_REFLECTION2D, LAM__PAD_REPLICATION1D, LAM__PAD_REPLICATION2D,
};
/* padding as written (n entries, 1..8; checked at forward); value printed
 * as an int when value_int (ConstantPad2d(2, 3)). */
lam_status lam__pad_create(lam_module **out, int type, int n, const int64_t *padding, double value,
                           bool value_int);

/* The normalisation layers (batch_norm.c, group_norm.c) made from model
 * files: bit i set when the i-th float argument was written as an int, so
 * that the repr prints it as PyTorch would ("eps=1").  BatchNorm and
 * InstanceNorm: eps, momentum; GroupNorm: eps; LocalResponseNorm: alpha,
 * beta, k.  (Each of their states starts with this mask.) */
void lam__norm_set_int_args(lam_module *m, unsigned mask);
/* Embedding's max_norm / norm_type printed as ints ("max_norm=1"). */
void lam__embedding_set_repr_style(lam_module *m, bool max_norm_int, bool norm_type_int);

/* The capabilities of lam__module_ops, asked of any module (NULL-safe). */
/* True for layers whose forward treats rows of dim 0 independently. */
bool lam__rowwise(const lam_module *m, int ndim);
/* The activation m is, if an epilogue can fuse it (LAM_ACTIVATION_IDENTITY otherwise). */
lam_activation lam__epilogue_act(const lam_module *m, float *alpha);
/* Whether m computes samples alone and splits its own work across threads
 * for an input of this rank (lam__module_ops.sample_blocks). */
bool lam__sample_blocks(const lam_module *m, int ndim);
/* Whether m maps each (sample, channel) plane alone for an input of this
 * rank (lam__module_ops.planewise). */
bool lam__planewise(const lam_module *m, int ndim);
/* Whether m runs rows with a fused epilogue (lam__module_ops.run_rows). */
bool lam__runs_rows(const lam_module *m);
/* Whether m forwards with a fused epilogue (lam__module_ops.forward_ep). */
bool lam__forwards_ep(const lam_module *m);
/* Whether m's run_rows then next's can run as one kernel. */
bool lam__can_pair(const lam_module *m, const lam_module *next);
/* The executor's flop estimate for one forward of m. */
double lam__flops(const lam_module *m, int in_ndim, const int64_t *in, int out_ndim,
                  const int64_t *out);
/* Whether `norm`, on an input of this shape (producer's output), can be
 * folded into `producer` now: both capabilities, the same channel dim. */
bool lam__can_fold(const lam_module *producer, const lam_module *norm, int ndim,
                   const int64_t *shape);
/* Make or update *folded: producer with norm folded in (norm's scale and
 * shift for this shape, producer's fold_affine). */
lam_status lam__fold(const lam_module *producer, const lam_module *norm, int ndim,
                     const int64_t *shape, lam_module **folded);
/* The sum of m's parameters' and buffers' versions: while m's
 * params_version holds (no tensor replaced), it moves on every write. */
uint64_t lam__params_stamp(const lam_module *m);

#endif
