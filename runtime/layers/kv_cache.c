/* Causal self-attention over packed heads and the key/value cache of
 * <lamina/kv_cache.h>: the table's fused attention kernel over batch x
 * heads x query blocks, reading keys and values in place ([B, S, H*D], a
 * head h at column h*D, row stride H*D), as MultiheadAttention does.
 *
 * The kernel's causal mask is "key j > query row i" with absolute rows.
 * Without a cache (and for a cache's first forward, P = 0) the new rows are
 * rows 0 .. T-1, so it applies as it is.  For T = 1 after P positions the
 * one query sees every key: no mask.  For T > 1 after P > 0 (a chunk of a
 * longer prompt) a boolean mask [T, P + T] masks key j > P + t for row t. */
#include "runtime/layers/layers.h"
#include "runtime/core/parallel.h"
#include "lamina/kv_cache.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lam_kv_cache {
    int64_t n_layers, B, H, D, max_len, len;
    float *k, *v;                /* [B, max_len, H*D] each; NULL on a cache of several layers */
    struct lam_kv_cache *layers; /* the layers of a cache of several, else NULL */
    bool owner;                  /* made by lam_kv_cache_create (a layer handle is not) */
    void *storage;
};

#define KV_QBLOCK 64

typedef struct kv_job {
    lam__attn_args base;
    int64_t H, D, T;
    size_t q_bstride, kv_bstride, o_bstride;
    int64_t qblocks, ntasks;
} kv_job;

static void kv_task(void *ctx, int ith, int nth)
{
    const kv_job *j = ctx;
    int64_t b, e;
    lam__split_range(j->ntasks, ith, nth, 1, &b, &e);
    /* a run of tasks in one (sample, head): one call (as attention.c) */
    for (int64_t t = b, t2; t < e; t = t2) {
        int64_t qb = t % j->qblocks, nh = t / j->qblocks, h = nh % j->H, n = nh / j->H;
        for (t2 = t + 1; t2 < e && t2 / j->qblocks == nh;)
            t2++;
        int64_t qe = (t2 - 1) % j->qblocks + 1; /* past the run's last block */
        lam__attn_args a = j->base;
        size_t col = (size_t)(h * j->D);
        a.q += (size_t)n * j->q_bstride + col;
        a.k += (size_t)n * j->kv_bstride + col;
        a.v += (size_t)n * j->kv_bstride + col;
        a.o += (size_t)n * j->o_bstride + col;
        int64_t i0 = qb * KV_QBLOCK, i1 = qe * KV_QBLOCK < j->T ? qe * KV_QBLOCK : j->T;
        lam__kernels()->attention(&a, (size_t)i0, (size_t)i1);
    }
}

/* q [B, T, H*D] against keys/values [B, S, H*D] (rows kv_stride floats
 * apart per batch) into o [B, T, H*D]; mask: NULL (causal when `causal`)
 * or a [T, S] boolean mask. */
static void run_attention(const float *q, const float *k, const float *v, float *o, int64_t B,
                          int64_t T, int64_t S, int64_t H, int64_t D, size_t kv_bstride,
                          bool causal, const unsigned char *mask)
{
    kv_job j;
    memset(&j, 0, sizeof j);
    const size_t E = (size_t)(H * D);
    j.base.Tk = (size_t)S;
    j.base.D = j.base.Dv = (size_t)D;
    j.base.q = q;
    j.base.k = k;
    j.base.v = v;
    j.base.o = o;
    j.base.ldq = j.base.ldk = j.base.ldv = j.base.ldo = E;
    j.base.scale = (float)(1.0 / sqrt((double)D));
    j.base.causal = causal;
    j.base.attn_bool = mask;
    j.base.ld_bool = (size_t)S;
    j.H = H;
    j.D = D;
    j.T = T;
    j.q_bstride = j.o_bstride = (size_t)T * E;
    j.kv_bstride = kv_bstride;
    j.qblocks = (T + KV_QBLOCK - 1) / KV_QBLOCK;
    j.ntasks = B * H * j.qblocks;
    int nth = lam__threads_for_call();
    if (nth > j.ntasks)
        nth = (int)j.ntasks;
    /* a decoding step of a small model is not worth waking threads */
    if ((double)B * (double)T * (double)S * (double)E * 4.0 < 2e5)
        nth = 1;
    lam__parallel(nth, kv_task, &j);
}

/* q, k, v float32 3-D of one shape whose last dim splits into heads; *out
 * NULL, or a float32 tensor of that shape sharing no memory with them. */
static lam_status check_qkv(const char *fn, lam_tensor **out, const lam_tensor *q,
                            const lam_tensor *k, const lam_tensor *v, int64_t H)
{
    const void *args[4] = {out, q, k, v};
    static const char *const names[4] = {"out", "q", "k", "v"};
    for (int i = 0; i < 4; i++)
        if (!args[i])
            return lam__null_arg(fn, names[i]);
    LAM__SYNC();
    lam_status st = lam__check_f32(fn, "q", q);
    if (!st)
        st = lam__check_f32(fn, "k", k);
    if (!st)
        st = lam__check_f32(fn, "v", v);
    if (!st)
        st = lam__tensor_ready(q);
    if (!st)
        st = lam__tensor_ready(k);
    if (!st)
        st = lam__tensor_ready(v);
    if (st)
        return st;
    char a[96], b[96], c[96];
    lam_shape_str(q->ndim, q->shape, a, sizeof a);
    lam_shape_str(k->ndim, k->shape, b, sizeof b);
    lam_shape_str(v->ndim, v->shape, c, sizeof c);
    if (q->ndim != 3 || !lam_tensor_same_shape(q, k) || !lam_tensor_same_shape(q, v))
        return lam__error(LAM_ERR_SHAPE,
                          "%s: q, k and v must be 3-D [batch, positions, num_heads * head_dim] "
                          "of one shape, got q %s, k %s, v %s",
                          fn, a, b, c);
    if (H <= 0 || q->shape[2] % H != 0 || q->shape[2] == 0)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: the last dim of q %s does not split into %" PRId64 " heads", fn, a,
                          H);
    if (*out) {
        lam_tensor *o = *out;
        if (o->dtype != LAM_FLOAT32 || !lam_tensor_same_shape(o, q)) {
            lam_shape_str(o->ndim, o->shape, b, sizeof b);
            return lam__error(LAM_ERR_SHAPE,
                              "%s: output has shape %s (%s), which does not match the required "
                              "output shape %s (float32)",
                              fn, b, lam_dtype_name((lam_dtype)o->dtype), a);
        }
        if (o->data == q->data || o->data == k->data || o->data == v->data)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "%s: the output shares memory with q, k or v; pass a tensor of "
                              "its own (or NULL for a new one)",
                              fn);
    }
    return LAM_OK;
}

static lam_status make_out(lam_tensor **out, const lam_tensor *q, bool *made)
{
    *made = false;
    if (*out)
        return LAM_OK;
    lam_status st = lam__tensor_create_uninit(out, 3, q->shape);
    *made = !st;
    return st;
}

LAM_API lam_status lam_causal_attention(lam_tensor **out, const lam_tensor *q, const lam_tensor *k,
                                        const lam_tensor *v, int64_t num_heads)
{
    lam_status st = check_qkv("lam_causal_attention", out, q, k, v, num_heads);
    if (st)
        return st;
    bool made;
    if ((st = make_out(out, q, &made)))
        return st;
    const int64_t B = q->shape[0], T = q->shape[1], D = q->shape[2] / num_heads;
    if (B && T)
        run_attention(q->data, k->data, v->data, (*out)->data, B, T, T, num_heads, D,
                      (size_t)(T * q->shape[2]), true, NULL);
    lam_tensor_mark_modified(*out);
    return LAM_OK;
}

LAM_API lam_status lam_kv_cache_create(lam_kv_cache **out, int64_t num_layers, int64_t batch,
                                       int64_t num_heads, int64_t head_dim, int64_t max_len)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    const int64_t v[5] = {num_layers, batch, num_heads, head_dim, max_len};
    static const char *const names[5] = {"num_layers", "batch", "num_heads", "head_dim",
                                         "max_len"};
    for (int i = 0; i < 5; i++)
        if (v[i] <= 0)
            return lam__error(LAM_ERR_INVALID_ARGUMENT,
                              "lam_kv_cache_create: %s must be positive, got %" PRId64, names[i],
                              v[i]);
    /* 2 num_layers batch max_len num_heads head_dim floats */
    uint64_t per = 0, n = 0;
    bool of = __builtin_mul_overflow((uint64_t)batch, (uint64_t)max_len, &per) ||
              __builtin_mul_overflow(per, (uint64_t)num_heads, &per) ||
              __builtin_mul_overflow(per, (uint64_t)head_dim, &per) ||
              __builtin_mul_overflow(per, (uint64_t)num_layers * 2u, &n) ||
              n > (uint64_t)(SIZE_MAX / sizeof(float) / 2);
    if (of)
        return lam__error(LAM_ERR_NO_MEMORY,
                          "lam_kv_cache_create: %" PRId64 " layers x batch %" PRId64
                          " x %" PRId64 " positions x %" PRId64 " heads x %" PRId64
                          " values do not fit in memory",
                          num_layers, batch, max_len, num_heads, head_dim);
    lam_kv_cache *c = calloc(1, sizeof *c);
    lam_kv_cache *layers = num_layers > 1 ? calloc((size_t)num_layers, sizeof *layers) : NULL;
    void *storage = NULL;
    if (c && (num_layers == 1 || layers) &&
        posix_memalign(&storage, 64, (size_t)n * sizeof(float)) != 0)
        storage = NULL;
    if (!c || (num_layers > 1 && !layers) || !storage) {
        free(c);
        free(layers);
        return lam__oom("lam_kv_cache_create");
    }
    float *base = storage;
    *c = (lam_kv_cache){num_layers, batch, num_heads, head_dim, max_len, 0, NULL, NULL,
                        layers, true, storage};
    for (int64_t i = 0; i < num_layers; i++) {
        lam_kv_cache *l = layers ? &layers[i] : c;
        if (layers)
            *l = (lam_kv_cache){1, batch, num_heads, head_dim, max_len, 0, NULL, NULL,
                                NULL, false, NULL};
        l->k = base + (size_t)(2 * i) * (size_t)per;
        l->v = base + (size_t)(2 * i + 1) * (size_t)per;
    }
    *out = c;
    return LAM_OK;
}

LAM_API void lam_kv_cache_free(lam_kv_cache *cache)
{
    if (!cache || !cache->owner)
        return;
    free(cache->storage);
    free(cache->layers);
    free(cache);
}

LAM_API lam_status lam_kv_cache_layer(lam_kv_cache *cache, int64_t i, lam_kv_cache **out)
{
    LAM__CHECK_ARG(cache);
    LAM__CHECK_ARG(out);
    if (i < 0 || i >= cache->n_layers)
        return lam__error(LAM_ERR_INDEX,
                          "lam_kv_cache_layer: layer %" PRId64 " is out of range for a cache of "
                          "%" PRId64 " layer%s",
                          i, cache->n_layers, cache->n_layers == 1 ? "" : "s");
    *out = cache->layers ? &cache->layers[i] : cache;
    return LAM_OK;
}

LAM_API lam_status lam_kv_cache_truncate(lam_kv_cache *cache, int64_t length)
{
    LAM__CHECK_ARG(cache);
    if (length < 0)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "lam_kv_cache_truncate: length must not be negative, got %" PRId64,
                          length);
    for (int64_t i = 0; i < cache->n_layers; i++) {
        lam_kv_cache *l = cache->layers ? &cache->layers[i] : cache;
        if (l->len > length)
            l->len = length;
    }
    return LAM_OK;
}

LAM_API void lam_kv_cache_reset(lam_kv_cache *cache)
{
    if (!cache) {
        lam__error(LAM_ERR_INVALID_ARGUMENT, "lam_kv_cache_reset: cache is NULL");
        return;
    }
    (void)lam_kv_cache_truncate(cache, 0);
}

LAM_API int64_t lam_kv_cache_length(const lam_kv_cache *cache)
{
    LAM__CHECK_ARG_OR(cache, -1);
    return cache->layers ? cache->layers[0].len : cache->len;
}

LAM_API int64_t lam_kv_cache_max_length(const lam_kv_cache *cache)
{
    LAM__CHECK_ARG_OR(cache, -1);
    return cache->max_len;
}

LAM_API int64_t lam_kv_cache_num_layers(const lam_kv_cache *cache)
{
    LAM__CHECK_ARG_OR(cache, -1);
    return cache->n_layers;
}

LAM_API lam_status lam_kv_cache_attention(lam_kv_cache *layer, lam_tensor **out,
                                          const lam_tensor *q, const lam_tensor *k,
                                          const lam_tensor *v, int64_t num_heads)
{
    static const char fn[] = "lam_kv_cache_attention";
    LAM__CHECK_ARG(layer);
    if (layer->layers)
        return lam__error(LAM_ERR_INVALID_ARGUMENT,
                          "%s: the cache has %" PRId64 " layers: pass one of them "
                          "(lam_kv_cache_layer)",
                          fn, layer->n_layers);
    lam_status st = check_qkv(fn, out, q, k, v, num_heads);
    if (st)
        return st;
    if (num_heads != layer->H)
        return lam__error(LAM_ERR_SHAPE,
                          "%s: the cache holds %" PRId64 " heads of %" PRId64 " values, the "
                          "attention has %" PRId64 " heads",
                          fn, layer->H, layer->D, num_heads);
    const int64_t B = q->shape[0], T = q->shape[1], E = q->shape[2];
    const int64_t P = layer->len, H = layer->H, D = layer->D;
    if (B != layer->B || E != H * D) {
        char a[96];
        lam_shape_str(q->ndim, q->shape, a, sizeof a);
        return lam__error(LAM_ERR_SHAPE,
                          "%s: q %s does not fit the cache's batch %" PRId64 " x %" PRId64
                          " heads x head_dim %" PRId64 " ([%" PRId64 ", T, %" PRId64 "] expected)",
                          fn, a, layer->B, H, D, layer->B, H * D);
    }
    if (T > layer->max_len - P)
        return lam__error(LAM_ERR_INDEX,
                          "%s: %" PRId64 " cached + %" PRId64 " new positions exceed the "
                          "cache's max_len of %" PRId64,
                          fn, P, T, layer->max_len);
    unsigned char *mask = NULL;
    if (P > 0 && T > 1) {
        mask = malloc((size_t)(T * (P + T)));
        if (!mask)
            return lam__oom(fn);
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < P + T; j++)
                mask[t * (P + T) + j] = j > P + t;
    }
    bool made;
    if ((st = make_out(out, q, &made))) {
        free(mask);
        return st;
    }
    /* append: rows P .. P+T-1 of each batch's [max_len, E] */
    const size_t bstride = (size_t)(layer->max_len * E), row = (size_t)E * sizeof(float);
    for (int64_t b = 0; b < B; b++) {
        memcpy(layer->k + (size_t)b * bstride + (size_t)(P * E), k->data + (size_t)(b * T * E),
               (size_t)T * row);
        memcpy(layer->v + (size_t)b * bstride + (size_t)(P * E), v->data + (size_t)(b * T * E),
               (size_t)T * row);
    }
    if (B && T)
        run_attention(q->data, layer->k, layer->v, (*out)->data, B, T, P + T, H, D, bstride,
                      P == 0, mask);
    free(mask);
    layer->len = P + T;
    lam_tensor_mark_modified(*out);
    return LAM_OK;
}
