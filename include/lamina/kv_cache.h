/* lamina — causal self-attention over packed heads, and a key/value cache
 * so that a decoder generates each new token in one step instead of
 * rerunning the whole prefix.
 *
 * Layout.  q, k and v are float32 [B, T, num_heads * head_dim], the heads
 * side by side in the last dim: what a GPT block's c_attn(x).split(n_embd,
 * dim=2) gives before the view(B, T, nh, hs).transpose(1, 2).  The output
 * has the same layout, y.transpose(1, 2).contiguous().view(B, T, C) in
 * nanoGPT's words, ready for c_proj.  For each head h and position t,
 *
 *     out[b, t, h] = softmax(q[b, t, h] . K[b, j, h] / sqrt(head_dim)) V[b, j, h]
 *
 * over the keys j the position may see.  The table's fused attention kernel
 * computes it (online softmax over key blocks: nothing T x T is stored),
 * split over batch x heads x query blocks across lamina's threads, with the
 * same bits for any thread count.
 *
 * The cache.  A lam_kv_cache holds, for each of num_layers attention
 * layers, the keys and values of up to max_len positions of `batch`
 * sequences: 2 * num_layers * batch * max_len * num_heads * head_dim floats,
 * allocated once by lam_kv_cache_create.  lam_kv_cache_attention on one
 * layer (lam_kv_cache_layer) appends the T new positions' keys and values
 * after the P the layer holds, and the new position P + t attends to the
 * keys 0 .. P + t (causal for the new positions, everything before them).
 * A forward of a whole model appends to each layer once, in order, so
 * between forwards every layer holds the same number of positions:
 * lam_kv_cache_length.  Generation: reset, run the prompt in one forward
 * (prefill), then one token per forward; a step costs attention over the
 * cached positions instead of a rerun of the prefix.
 *
 * Ownership and threads: the caller creates and frees the cache; a layer
 * handle is borrowed from it (valid until lam_kv_cache_free).  A cache
 * belongs to one sequence batch and one thread at a time (an attention call
 * writes it); several caches may be used from several threads at once.
 * The GPT example (examples/gpt.c, examples/plugins/gpt.c) passes a cache
 * as the model's per-call argument; plugins reach these functions through
 * host->kv_cache (<lamina/plugin.h>).  docs/plugins.md, "A GPT from a
 * ModuleList", describes the whole loop.
 *
 * Errors: LAM_ERR_INVALID_ARGUMENT for NULL arguments and bad sizes,
 * LAM_ERR_TYPE for a tensor that is not float32, LAM_ERR_SHAPE for shapes
 * that do not fit (the message gives them), LAM_ERR_INDEX for positions past
 * max_len and a layer index out of range, LAM_ERR_NO_MEMORY. */
#ifndef LAMINA_KV_CACHE_H
#define LAMINA_KV_CACHE_H

#include "common.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_kv_cache lam_kv_cache;

/* Causal self-attention without a cache: position t of q attends to
 * positions 0 .. t of k and v (all [B, T, num_heads * head_dim], float32).
 * *out as in <lamina/ops.h>: NULL for a new tensor (release it), or a
 * tensor of q's shape to write into (it must not share memory with q, k or
 * v).  LAM_ERR_SHAPE when q, k and v differ in shape, are not 3-D, or their
 * last dim does not split into num_heads heads. */
LAM_API lam_status lam_causal_attention(lam_tensor **out, const lam_tensor *q, const lam_tensor *k,
                                        const lam_tensor *v, int64_t num_heads);

/* A cache for num_layers attention layers of num_heads heads of head_dim
 * values, `batch` sequences, up to max_len positions; empty.  Every size
 * must be positive (LAM_ERR_INVALID_ARGUMENT otherwise), and the whole must
 * fit in memory (LAM_ERR_NO_MEMORY).  Free it with lam_kv_cache_free. */
LAM_API lam_status lam_kv_cache_create(lam_kv_cache **out, int64_t num_layers, int64_t batch,
                                       int64_t num_heads, int64_t head_dim, int64_t max_len);
/* Free a cache made by lam_kv_cache_create (NULL: nothing).  A layer handle
 * is not freed by itself: passing one does nothing. */
LAM_API void lam_kv_cache_free(lam_kv_cache *cache);
/* Layer i (0 <= i < num_layers) as a one-layer cache, borrowed from `cache`
 * (*out), for lam_kv_cache_attention.  The layer of a one-layer cache is the
 * cache itself.  LAM_ERR_INDEX: "lam_kv_cache_layer: layer 4 is out of
 * range for a cache of 4 layers". */
LAM_API lam_status lam_kv_cache_layer(lam_kv_cache *cache, int64_t i, lam_kv_cache **out);
/* Empty every layer (lengths 0); the memory is kept for the next sequence. */
LAM_API void lam_kv_cache_reset(lam_kv_cache *cache);
/* Keep the first `length` positions of every layer (those past it are
 * forgotten; a layer holding fewer keeps what it has): to undo a forward
 * that failed part-way, or to go back in a sequence.  LAM_ERR_INVALID_ARGUMENT
 * for a negative length. */
LAM_API lam_status lam_kv_cache_truncate(lam_kv_cache *cache, int64_t length);
/* Positions held (of layer 0 for a cache of several layers: the position
 * of the next token); -1 for NULL. */
LAM_API int64_t lam_kv_cache_length(const lam_kv_cache *cache);
/* The sizes given to lam_kv_cache_create (a layer handle: num_layers 1);
 * -1 for NULL. */
LAM_API int64_t lam_kv_cache_max_length(const lam_kv_cache *cache);
LAM_API int64_t lam_kv_cache_num_layers(const lam_kv_cache *cache);

/* Attention of T new positions through one layer of a cache: k and v of
 * q, k, v ([B, T, num_heads * head_dim] with the cache's batch, heads and
 * head size; num_heads, the attention's, must be the cache's) are appended after the P positions the layer holds, then new
 * position t attends to cached positions 0 .. P + t; the layer then holds
 * P + T.  *out as lam_causal_attention's.  Nothing is appended when the call
 * fails: LAM_ERR_INDEX when P + T exceeds max_len ("lam_kv_cache_attention:
 * 60 cached + 10 new positions exceed the cache's max_len of 64"),
 * LAM_ERR_SHAPE when the shapes or num_heads differ from the cache's
 * ("... the cache holds 2 heads of 24 values, the attention has 4 heads"),
 * LAM_ERR_INVALID_ARGUMENT
 * for a cache of several layers (pass lam_kv_cache_layer's handle). */
LAM_API lam_status lam_kv_cache_attention(lam_kv_cache *layer, lam_tensor **out,
                                          const lam_tensor *q, const lam_tensor *k,
                                          const lam_tensor *v, int64_t num_heads);

#ifdef __cplusplus
}
#endif
#endif
