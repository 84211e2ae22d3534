/* gpt.c — the custom types of examples/plugins/gpt.py's GPT, so that its
 * print(model) and state_dict run in lamina (examples/gpt.c):
 *
 *   GPT()                  wte, wpe (Embedding), drop, blocks (ModuleList of
 *                          Block), ln_f, lm_head (Linear, weight tied to
 *                          wte's); forward(idx) -> logits [B, T, vocab_size]
 *   Block()                x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))
 *   CausalSelfAttention(n_head)
 *                          c_attn -> q, k, v -> causal attention -> c_proj
 *   MLP()                  c_fc -> gelu -> c_proj -> dropout: a forward that
 *                          runs its children in order, so a Sequential type
 *                          (LAM_LAYER_SEQUENTIAL: plans fuse c_fc's GELU)
 *
 * Built on the host table only: the children run through
 * host->module_forward, the sums and the split are host->ops, the attention
 * is host->kv_cache (plugin ABI 1.5).
 *
 * The key/value cache.  GPT's per-call argument (lam_module_forward_args)
 * is a lam_kv_cache * with one layer per block (<lamina/kv_cache.h>), or
 * NULL for a plain forward.  With a cache holding P positions, the T given
 * tokens are positions P .. P+T-1 (wpe), each block appends its keys and
 * values to its layer (GPT hands Block, and Block hands
 * CausalSelfAttention, the layer as the per-call argument), and the cache
 * then holds P+T.  A forward that fails part-way truncates the cache back
 * to P.
 *
 * Weight tying.  nanoGPT's `self.wte.weight = self.lm_head.weight` is not in
 * the repr, so GPT's bind (run when a model file has attached the children,
 * before the weights load) makes lm_head's weight wte's tensor: a state_dict
 * with both keys (equal) or with either one loads into it. */
#include <lamina/plugin_util.h>
#include <stdio.h>
#include <string.h>

static lam_module *need_child(const lam_host_api *h, lam_module *self, const char *type,
                              const char *name, lam_status *st)
{
    lam_module *c = h->module_child(self, name);
    if (!c && !*st)
        *st = h->error(LAM_ERR_KEY, "%s: no child '%s'", type, name);
    return c;
}

static bool same_shape(const lam_host_api *h, const lam_tensor *a, const lam_tensor *b)
{
    int n = h->tensor_ndim(a);
    return n == h->tensor_ndim(b) &&
           memcmp(h->tensor_shape(a), h->tensor_shape(b), sizeof(int64_t) * (size_t)n) == 0;
}

/* y = m(x, args); releases *owned and sets it (and *cur) to y */
static lam_status step(const lam_host_api *h, lam_module *m, void *args, const lam_tensor **cur,
                       lam_tensor **owned)
{
    lam_tensor *y = NULL;
    lam_status st = h->module_forward(m, *cur, args, &y);
    h->tensor_release(*owned);
    *owned = y;
    *cur = y;
    return st;
}

/* ---- CausalSelfAttention(n_head) ---- */

typedef struct attn_state {
    int64_t n_head;
} attn_state;

static const lam_arg_spec attn_args[] = {
    LAM_REQUIRED_ARG("n_head", LAM_ARG_INT, LAM_ARG_POSITIVE),
};

static lam_status attn_create(const lam_host_api *h, const lam_layer_type *type,
                              const lam_value *args, lam_module **out)
{
    attn_state s = {args[0].i};
    return lam_plugin_module_new(h, type, &s, sizeof s, out);
}

static int attn_repr(const lam_host_api *h, const lam_module *self, char *buf, size_t size)
{
    const attn_state *s = h->module_state(self);
    return snprintf(buf, size, "n_head=%lld", (long long)s->n_head);
}

/* q, k, v = c_attn(x).split(n_embd, dim=2); y = attention; c_proj; dropout */
static lam_status attn_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                               void *args, lam_tensor **out)
{
    const attn_state *s = h->module_state(self);
    lam_status st = LAM_OK;
    lam_module *c_attn = need_child(h, self, "CausalSelfAttention", "c_attn", &st);
    lam_module *c_proj = need_child(h, self, "CausalSelfAttention", "c_proj", &st);
    lam_module *drop = h->module_child(self, "resid_dropout");
    if (st)
        return st;
    lam_module *adrop = h->module_child(self, "attn_dropout");
    if (adrop && h->module_is_training(adrop))
        return h->error(LAM_ERR_NOT_IMPLEMENTED,
                        "CausalSelfAttention: attn_dropout in training mode is not supported "
                        "(the fused attention never forms the weights: call eval())");
    if (h->tensor_ndim(x) != 3)
        return h->error(LAM_ERR_SHAPE, "CausalSelfAttention: expected x of 3 dims [B, T, C], "
                                       "got %d",
                        h->tensor_ndim(x));
    const int64_t C = h->tensor_shape(x)[2];
    lam_tensor *qkv = NULL, *parts[3] = {NULL, NULL, NULL}, *y = NULL;
    size_t n = 0;
    st = h->module_forward(c_attn, x, NULL, &qkv);
    if (!st)
        st = h->ops->split(parts, 3, &n, qkv, C, 2);
    if (!st && n != 3)
        st = h->error(LAM_ERR_SHAPE, "CausalSelfAttention: c_attn gives %lld features, not "
                                     "3 x n_embd = %lld",
                      (long long)h->tensor_shape(qkv)[2], (long long)(3 * C));
    h->tensor_release(qkv);
    if (!st)
        st = args ? h->kv_cache->attention(args, &y, parts[0], parts[1], parts[2], s->n_head)
                  : h->kv_cache->causal_attention(&y, parts[0], parts[1], parts[2], s->n_head);
    for (size_t i = 0; i < n; i++)
        h->tensor_release(parts[i]);
    const lam_tensor *cur = y;
    lam_tensor *owned = y;
    if (!st)
        st = step(h, c_proj, NULL, &cur, &owned);
    if (!st && drop)
        st = step(h, drop, NULL, &cur, &owned);
    if (st) {
        h->tensor_release(owned);
        return st;
    }
    *out = owned;
    return LAM_OK;
}

static lam_status same_shape_out(const lam_host_api *h, lam_module *self, int ndim,
                                 const int64_t *in, int *out_ndim, int64_t *out)
{
    (void)h;
    (void)self;
    *out_ndim = ndim;
    memcpy(out, in, sizeof(int64_t) * (size_t)ndim);
    return LAM_OK;
}

static const lam_layer_type attn_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "CausalSelfAttention",
    .doc = "nanoGPT's causal self-attention: c_attn, the fused attention, c_proj",
    .args = attn_args,
    .n_args = LAM_COUNTOF(attn_args),
    .create = attn_create,
    .output_shape = same_shape_out,
    .forward = attn_forward,
    .extra_repr = attn_repr,
    .destroy = lam_plugin_free_state,
};

/* ---- MLP(): c_fc, gelu, c_proj, dropout in order ---- */

static const lam_layer_type mlp_type = {
    .struct_size = sizeof(lam_layer_type),
    .flags = LAM_LAYER_SEQUENTIAL,
    .name = "MLP",
    .doc = "c_fc -> gelu -> c_proj -> dropout (its children in order)",
};

/* ---- Block() ---- */

static lam_status block_create(const lam_host_api *h, const lam_layer_type *type,
                               const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

/* x = x + attn(ln_1(x), cache layer); x = x + mlp(ln_2(x)) */
static lam_status block_forward(const lam_host_api *h, lam_module *self, const lam_tensor *x,
                                void *args, lam_tensor **out)
{
    lam_status st = LAM_OK;
    lam_module *ln_1 = need_child(h, self, "Block", "ln_1", &st);
    lam_module *attn = need_child(h, self, "Block", "attn", &st);
    lam_module *ln_2 = need_child(h, self, "Block", "ln_2", &st);
    lam_module *mlp = need_child(h, self, "Block", "mlp", &st);
    if (st)
        return st;
    lam_tensor *a = NULL, *b = NULL;
    const lam_tensor *cur = x;
    st = step(h, ln_1, NULL, &cur, &a);
    if (!st)
        st = step(h, attn, args, &cur, &a);
    /* a is attn's output, a tensor of its own: the sums go into it */
    if (!st)
        st = h->ops->add(&a, a, x);
    cur = a;
    if (!st)
        st = step(h, ln_2, NULL, &cur, &b);
    if (!st)
        st = step(h, mlp, NULL, &cur, &b);
    if (!st)
        st = h->ops->add(&a, a, b);
    h->tensor_release(b);
    if (st) {
        h->tensor_release(a);
        return st;
    }
    *out = a;
    return LAM_OK;
}

static const lam_layer_type block_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "Block",
    .doc = "a pre-norm transformer block: x + attn(ln_1(x)), then x + mlp(ln_2(x))",
    .create = block_create,
    .output_shape = same_shape_out,
    .forward = block_forward,
};

/* ---- GPT() ---- */

static lam_status gpt_create(const lam_host_api *h, const lam_layer_type *type,
                             const lam_value *args, lam_module **out)
{
    (void)args;
    return h->module_new(out, type, NULL);
}

/* The children are in: check them and tie lm_head.weight to wte.weight. */
static lam_status gpt_bind(const lam_host_api *h, lam_module *self)
{
    lam_status st = LAM_OK;
    lam_module *wte = need_child(h, self, "GPT", "wte", &st);
    lam_module *lm_head = need_child(h, self, "GPT", "lm_head", &st);
    need_child(h, self, "GPT", "wpe", &st);
    need_child(h, self, "GPT", "blocks", &st);
    need_child(h, self, "GPT", "ln_f", &st);
    if (st)
        return st;
    lam_tensor *ew = h->module_param(wte, "weight"), *hw = h->module_param(lm_head, "weight");
    if (!ew || !hw)
        return h->error(LAM_ERR_KEY, "GPT: wte and lm_head must have a parameter 'weight' (an "
                                     "Embedding and a Linear)");
    if (ew == hw)
        return LAM_OK;
    if (!same_shape(h, ew, hw)) {
        char a[96], b[96];
        h->shape_str(h->tensor_ndim(hw), h->tensor_shape(hw), a, sizeof a);
        h->shape_str(h->tensor_ndim(ew), h->tensor_shape(ew), b, sizeof b);
        return h->error(LAM_ERR_SHAPE,
                        "GPT: lm_head.weight %s cannot be tied to wte.weight %s (lm_head must be "
                        "Linear(n_embd, vocab_size, bias=False) for Embedding(vocab_size, n_embd))",
                        a, b);
    }
    return h->module_register_parameter(lm_head, "weight", ew);
}

static lam_status gpt_shape(const lam_host_api *h, lam_module *self, int ndim, const int64_t *in,
                            int *out_ndim, int64_t *out)
{
    lam_module *lm_head = h->module_child(self, "lm_head");
    lam_tensor *w = lm_head ? h->module_param(lm_head, "weight") : NULL;
    if (!w)
        return h->error(LAM_ERR_KEY, "GPT: no child 'lm_head' with a weight");
    if (ndim != 2)
        return h->error(LAM_ERR_SHAPE, "GPT: expected token ids of 2 dims [B, T], got %d", ndim);
    out[0] = in[0];
    out[1] = in[1];
    out[2] = h->tensor_shape(w)[0];
    *out_ndim = 3;
    return LAM_OK;
}

static lam_status gpt_run(const lam_host_api *h, lam_module *self, const lam_tensor *idx,
                          lam_kv_cache *cache, int64_t past, lam_tensor **out)
{
    lam_module *wte = h->module_child(self, "wte"), *wpe = h->module_child(self, "wpe");
    lam_module *drop = h->module_child(self, "drop"), *blocks = h->module_child(self, "blocks");
    lam_module *ln_f = h->module_child(self, "ln_f"), *lm_head = h->module_child(self, "lm_head");
    const int64_t T = h->tensor_shape(idx)[1];
    lam_tensor *x = NULL, *pos = NULL, *pe = NULL;
    lam_status st = h->module_forward(wte, idx, NULL, &x);
    if (!st)
        st = h->tensor_create_dtype(&pos, LAM_INT64, 1, &T);
    if (!st) {
        int64_t *p = h->tensor_data_i64(pos);
        for (int64_t t = 0; t < T; t++)
            p[t] = past + t;
        st = h->module_forward(wpe, pos, NULL, &pe);
    }
    h->tensor_release(pos);
    if (!st)
        st = h->ops->add(&x, x, pe); /* [B, T, C] + [T, C] */
    h->tensor_release(pe);
    const lam_tensor *cur = x;
    if (!st && drop)
        st = step(h, drop, NULL, &cur, &x);
    size_t n = h->module_num_children(blocks);
    for (size_t i = 0; i < n && !st; i++) {
        lam_kv_cache *layer = NULL;
        if (cache)
            st = h->kv_cache->layer(cache, (int64_t)i, &layer);
        if (!st)
            st = step(h, h->module_child_at(blocks, i, NULL), layer, &cur, &x);
    }
    if (!st)
        st = step(h, ln_f, NULL, &cur, &x);
    if (!st)
        st = step(h, lm_head, NULL, &cur, &x);
    if (st) {
        h->tensor_release(x);
        return st;
    }
    *out = x;
    return LAM_OK;
}

static lam_status gpt_forward(const lam_host_api *h, lam_module *self, const lam_tensor *idx,
                              void *args, lam_tensor **out)
{
    lam_status st = LAM_OK;
    need_child(h, self, "GPT", "wte", &st);
    lam_module *wpe = need_child(h, self, "GPT", "wpe", &st);
    lam_module *blocks = need_child(h, self, "GPT", "blocks", &st);
    need_child(h, self, "GPT", "ln_f", &st);
    need_child(h, self, "GPT", "lm_head", &st);
    if (st)
        return st;
    char shape[96];
    h->shape_str(h->tensor_ndim(idx), h->tensor_shape(idx), shape, sizeof shape);
    if (h->tensor_dtype(idx) != LAM_INT64)
        return h->error(LAM_ERR_TYPE,
                        "GPT: expected token ids (an int64 tensor [B, T]), got %s (input "
                        "shape %s)",
                        h->dtype_name(h->tensor_dtype(idx)), shape);
    if (h->tensor_ndim(idx) != 2)
        return h->error(LAM_ERR_SHAPE, "GPT: expected token ids of 2 dims [B, T], got shape %s",
                        shape);
    lam_kv_cache *cache = args;
    const int64_t T = h->tensor_shape(idx)[1];
    const lam_tensor *wpe_w = h->module_param(wpe, "weight");
    const int64_t block_size = wpe_w ? h->tensor_shape(wpe_w)[0] : 0;
    const int64_t past = cache ? h->kv_cache->length(cache) : 0;
    if (cache && h->kv_cache->num_layers(cache) != (int64_t)h->module_num_children(blocks))
        return h->error(LAM_ERR_INVALID_ARGUMENT,
                        "GPT: the key/value cache has %lld layers but the model has %zu blocks",
                        (long long)h->kv_cache->num_layers(cache),
                        h->module_num_children(blocks));
    if (past + T > block_size) {
        if (cache)
            return h->error(LAM_ERR_INDEX,
                            "GPT: Cannot forward sequence of length %lld (%lld cached + %lld "
                            "new positions), block size is only %lld",
                            (long long)(past + T), (long long)past, (long long)T,
                            (long long)block_size);
        return h->error(LAM_ERR_INDEX,
                        "GPT: Cannot forward sequence of length %lld, block size is only %lld",
                        (long long)T, (long long)block_size);
    }
    st = gpt_run(h, self, idx, cache, past, out);
    if (st && cache)
        h->kv_cache->truncate(cache, past); /* the layers appended before the failure */
    return st;
}

static const lam_layer_type gpt_type = {
    .struct_size = sizeof(lam_layer_type),
    .name = "GPT",
    .doc = "a decoder-only language model: wte + wpe, blocks, ln_f, lm_head (tied to wte)",
    .create = gpt_create,
    .output_shape = gpt_shape,
    .forward = gpt_forward,
    .bind = gpt_bind,
};

LAM_PLUGIN_DEFINE_TYPES("gpt", "1.0.0",
                        "examples/plugins/gpt.py's GPT: GPT, Block, CausalSelfAttention, MLP",
                        "MIT", &gpt_type, &block_type, &attn_type, &mlp_type);
