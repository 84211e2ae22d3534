/* Issue 16, item 5: a GPT from a ModuleList, and the key/value cache.
 *
 * - lam_causal_attention against a float64 evaluation, and a cache fed in
 *   chunks (the first forward, single steps, a chunk after cached
 *   positions) against the same attention over the whole sequence;
 * - examples/plugins/gpt.py's GPT from its print(model) and state_dict
 *   (tests/fixtures/gpt, tools/gen-fixtures.py's gen_gpt) with the types of
 *   examples/plugins/gpt.c: the logits of a full forward against PyTorch's,
 *   every cached step's logits against the full forward's, greedy
 *   generation with the cache giving PyTorch's tokens (PyTorch's without a
 *   cache), the tied lm_head/wte weight from files with both keys or one;
 * - bad inputs: ids out of range, float ids, sequences past the block size
 *   or the cache, a cache of the wrong shape, each a clear error that leaves
 *   the cache as it was. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#ifndef GPT_PLUGIN
#define GPT_PLUGIN "examples/plugins/.libs/gpt.so"
#endif

/* ---------------------------------------------------------------- cache --- */

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static lam_tensor *rand3(int64_t B, int64_t T, int64_t E, unsigned seed)
{
    int64_t shape[3] = {B, T, E};
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_create(&t, 3, shape));
    float *d = lam_tensor_data(t);
    for (int64_t i = 0; i < B * T * E; i++)
        d[i] = 2.0f * frand(&seed);
    return t;
}

/* out[b, t, h] = softmax_j<=t(q.k / sqrt(D)) v, in float64 */
static double *reference(const lam_tensor *q, const lam_tensor *k, const lam_tensor *v, int64_t H)
{
    const int64_t *s = lam_tensor_shape(q);
    const int64_t B = s[0], T = s[1], E = s[2], D = E / H;
    const float *Q = lam_tensor_cdata(q), *K = lam_tensor_cdata(k), *V = lam_tensor_cdata(v);
    double *o = calloc((size_t)(B * T * E), sizeof *o), *w = malloc(sizeof(double) * (size_t)T);
    cr_assert(o && w);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t t = 0; t < T; t++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j <= t; j++) {
                    double dot = 0;
                    for (int64_t d = 0; d < D; d++)
                        dot += (double)Q[(b * T + t) * E + h * D + d] *
                               (double)K[(b * T + j) * E + h * D + d];
                    w[j] = dot / sqrt((double)D);
                    mx = w[j] > mx ? w[j] : mx;
                }
                for (int64_t j = 0; j <= t; j++)
                    sum += (w[j] = exp(w[j] - mx));
                for (int64_t d = 0; d < D; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j <= t; j++)
                        acc += w[j] * (double)V[(b * T + j) * E + h * D + d];
                    o[(b * T + t) * E + h * D + d] = acc / sum;
                }
            }
    free(w);
    return o;
}

Test(kv_cache, causal_attention_against_float64)
{
    const int64_t B = 2, T = 71, H = 3, D = 5;
    lam_tensor *q = rand3(B, T, H * D, 1), *k = rand3(B, T, H * D, 2), *v = rand3(B, T, H * D, 3);
    lam_tensor *o = NULL;
    ASSERT_OK(lam_causal_attention(&o, q, k, v, H));
    double *want = reference(q, k, v, H);
    char msg[256];
    cr_expect(fx_values_close(lam_tensor_cdata(o), want, (size_t)(B * T * H * D), msg, sizeof msg),
              "%s", msg);
    /* into a given output */
    lam_tensor *o2 = NULL;
    int64_t shape[3] = {B, T, H * D};
    ASSERT_OK(lam_tensor_create(&o2, 3, shape));
    ASSERT_OK(lam_causal_attention(&o2, q, k, v, H));
    cr_expect(memcmp(lam_tensor_cdata(o2), lam_tensor_cdata(o), sizeof(float) * (size_t)(B * T * H * D)) == 0);
    EXPECT_FAIL(lam_causal_attention(&o2, q, k, v, 4), LAM_ERR_SHAPE, "does not split into 4 heads");
    EXPECT_FAIL(lam_causal_attention(&q, q, k, v, H), LAM_ERR_INVALID_ARGUMENT, "shares memory");
    free(want);
    lam_tensor_release(o);
    lam_tensor_release(o2);
    lam_tensor_release(q);
    lam_tensor_release(k);
    lam_tensor_release(v);
}

/* The positions [t0, t0 + n) of a [B, T, E] tensor as a new tensor. */
static lam_tensor *rows(const lam_tensor *x, int64_t t0, int64_t n)
{
    const int64_t *s = lam_tensor_shape(x);
    int64_t shape[3] = {s[0], n, s[2]};
    lam_tensor *y = NULL;
    ASSERT_OK(lam_tensor_create(&y, 3, shape));
    for (int64_t b = 0; b < s[0]; b++)
        memcpy(lam_tensor_data(y) + b * n * s[2], lam_tensor_cdata(x) + (b * s[1] + t0) * s[2],
               sizeof(float) * (size_t)(n * s[2]));
    return y;
}

Test(kv_cache, chunks_match_the_whole_sequence)
{
    const int64_t B = 2, T = 100, H = 4, D = 8, E = H * D;
    lam_tensor *q = rand3(B, T, E, 4), *k = rand3(B, T, E, 5), *v = rand3(B, T, E, 6);
    double *want = reference(q, k, v, H);
    lam_kv_cache *cache = NULL, *layer = NULL;
    ASSERT_OK(lam_kv_cache_create(&cache, 1, B, H, D, T));
    ASSERT_OK(lam_kv_cache_layer(cache, 0, &layer));
    cr_expect_eq(layer, cache, "the layer of a one-layer cache is the cache");
    cr_expect_eq(lam_kv_cache_max_length(cache), T);
    /* a prompt, single steps, a chunk after cached positions, and more */
    const int64_t chunks[] = {9, 1, 1, 30, 1, 57, 1};
    int64_t t0 = 0;
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        const int64_t n = chunks[c];
        lam_tensor *qc = rows(q, t0, n), *kc = rows(k, t0, n), *vc = rows(v, t0, n), *o = NULL;
        ASSERT_OK(lam_kv_cache_attention(layer, &o, qc, kc, vc, H));
        cr_expect_eq(lam_kv_cache_length(cache), t0 + n);
        double *w = malloc(sizeof(double) * (size_t)(B * n * E));
        for (int64_t b = 0; b < B; b++)
            memcpy(w + b * n * E, want + (b * T + t0) * E, sizeof(double) * (size_t)(n * E));
        char msg[256];
        cr_expect(fx_values_close(lam_tensor_cdata(o), w, (size_t)(B * n * E), msg, sizeof msg),
                  "chunk %zu (positions %lld..%lld): %s", c, (long long)t0,
                  (long long)(t0 + n - 1), msg);
        free(w);
        lam_tensor_release(qc);
        lam_tensor_release(kc);
        lam_tensor_release(vc);
        lam_tensor_release(o);
        t0 += n;
    }
    cr_assert_eq(t0, T);
    /* full: one more is past max_len, and changes nothing */
    lam_tensor *q1 = rows(q, 0, 1), *o = NULL;
    EXPECT_FAIL(lam_kv_cache_attention(layer, &o, q1, q1, q1, H), LAM_ERR_INDEX,
                "lam_kv_cache_attention: 100 cached + 1 new positions exceed the cache's "
                "max_len of 100");
    cr_expect_null(o);
    cr_expect_eq(lam_kv_cache_length(cache), T);
    /* back to 30 positions: position 30 again gives the same values */
    ASSERT_OK(lam_kv_cache_truncate(cache, 30));
    cr_expect_eq(lam_kv_cache_length(cache), 30);
    lam_tensor *qc = rows(q, 30, 1), *kc = rows(k, 30, 1), *vc = rows(v, 30, 1);
    ASSERT_OK(lam_kv_cache_attention(layer, &o, qc, kc, vc, H));
    double w[2 * 32];
    for (int64_t b = 0; b < B; b++)
        memcpy(w + b * E, want + (b * T + 30) * E, sizeof(double) * (size_t)E);
    char msg[256];
    cr_expect(fx_values_close(lam_tensor_cdata(o), w, (size_t)(B * E), msg, sizeof msg), "%s", msg);
    lam_kv_cache_reset(cache);
    cr_expect_eq(lam_kv_cache_length(cache), 0);
    lam_tensor_release(o);
    lam_tensor_release(qc);
    lam_tensor_release(kc);
    lam_tensor_release(vc);
    lam_tensor_release(q1);
    free(want);
    lam_kv_cache_free(cache);
    lam_tensor_release(q);
    lam_tensor_release(k);
    lam_tensor_release(v);
}

Test(kv_cache, errors)
{
    lam_kv_cache *c = NULL, *l = NULL;
    EXPECT_FAIL(lam_kv_cache_create(&c, 2, 1, 0, 8, 16), LAM_ERR_INVALID_ARGUMENT,
                "lam_kv_cache_create: num_heads must be positive, got 0");
    EXPECT_FAIL(lam_kv_cache_create(&c, 1, 1, 1, 1, -3), LAM_ERR_INVALID_ARGUMENT,
                "max_len must be positive, got -3");
    EXPECT_FAIL(lam_kv_cache_create(&c, 1 << 20, 1 << 20, 1 << 20, 1 << 20, 1 << 20),
                LAM_ERR_NO_MEMORY, "do not fit in memory");
    cr_expect_null(c);
    ASSERT_OK(lam_kv_cache_create(&c, 3, 2, 2, 4, 8));
    cr_expect_eq(lam_kv_cache_num_layers(c), 3);
    EXPECT_FAIL(lam_kv_cache_layer(c, 3, &l), LAM_ERR_INDEX,
                "lam_kv_cache_layer: layer 3 is out of range for a cache of 3 layers");
    EXPECT_FAIL(lam_kv_cache_truncate(c, -1), LAM_ERR_INVALID_ARGUMENT, "must not be negative");
    lam_tensor *x = rand3(2, 3, 8, 7), *y = NULL;
    EXPECT_FAIL(lam_kv_cache_attention(c, &y, x, x, x, 2), LAM_ERR_INVALID_ARGUMENT,
                "the cache has 3 layers: pass one of them (lam_kv_cache_layer)");
    ASSERT_OK(lam_kv_cache_layer(c, 1, &l));
    cr_expect_eq(lam_kv_cache_num_layers(l), 1);
    lam_tensor *wrong = rand3(1, 3, 8, 8);
    EXPECT_FAIL(lam_kv_cache_attention(l, &y, wrong, wrong, wrong, 2), LAM_ERR_SHAPE,
                "q [1, 3, 8] does not fit the cache's batch 2 x 2 heads x head_dim 4");
    EXPECT_FAIL(lam_kv_cache_attention(l, &y, x, wrong, x, 2), LAM_ERR_SHAPE,
                "q, k and v must be 3-D [batch, positions, num_heads * head_dim] of one shape, "
                "got q [2, 3, 8], k [1, 3, 8], v [2, 3, 8]");
    lam_tensor *ids = NULL;
    ASSERT_OK(lam_tensor_to_dtype(&ids, x, LAM_INT64));
    EXPECT_FAIL(lam_kv_cache_attention(l, &y, ids, x, x, 2), LAM_ERR_TYPE, "int64");
    /* one layer appended: the whole cache's length is layer 0's */
    ASSERT_OK(lam_kv_cache_attention(l, &y, x, x, x, 2));
    cr_expect_eq(lam_kv_cache_length(l), 3);
    cr_expect_eq(lam_kv_cache_length(c), 0);
    lam_kv_cache_free(l); /* a layer handle: nothing */
    lam_kv_cache_free(c);
    lam_kv_cache_free(NULL);
    cr_expect_eq(lam_kv_cache_length(NULL), -1);
    lam_tensor_release(x);
    lam_tensor_release(y);
    lam_tensor_release(wrong);
    lam_tensor_release(ids);
}

/* ------------------------------------------------------------------ GPT --- */

static char path_buf[4096];
static const char *fixture(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/gpt/%s", fx_dir(), name);
    return path_buf;
}

static lam_module *load_gpt(bool weights)
{
    ASSERT_OK(lam_plugin_load(GPT_PLUGIN, NULL));
    lam_module *m = NULL;
    ASSERT_OK(lam_model_load(fixture("gpt.lam"), &m));
    if (weights)
        ASSERT_OK(lam_model_load_weights(m, fixture("gpt.safetensors"), true, NULL));
    return m;
}

static lam_tensor *npy(const char *name)
{
    lam_tensor *t = NULL;
    ASSERT_OK(lam_npy_load(fixture(name), &t));
    return t;
}

static lam_tensor *ids(int64_t B, int64_t T, const int64_t *data)
{
    int64_t shape[2] = {B, T};
    lam_tensor *t = NULL;
    ASSERT_OK(lam_tensor_from_i64(&t, 2, shape, data));
    return t;
}

static void expect_close(const float *got, const float *want, int64_t n, double tol,
                         const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - (double)want[i]) <= tol + tol * fabs((double)want[i]))) {
            cr_expect_fail("%s[%lld] = %.9g, expected %.9g", what, (long long)i, got[i], want[i]);
            return;
        }
}

Test(gpt, forward_matches_pytorch)
{
    lam_module *m = load_gpt(true);
    char *repr = lam_module_repr(m);
    FILE *f = fopen(fixture("gpt.lam"), "r");
    cr_assert_not_null(f);
    char text[4096] = {0};
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    cr_expect(n > 0 && strncmp(repr, text, strlen(repr)) == 0, "repr:\n%s", repr);
    lam_free(repr);
    lam_tensor *tokens = npy("tokens.npy"), *want = npy("logits.npy"), *y = NULL;
    ASSERT_OK(lam_module_forward(m, tokens, &y));
    cr_assert(lam_tensor_same_shape(y, want));
    expect_close(lam_tensor_cdata(y), lam_tensor_cdata(want), lam_tensor_numel(want), 1e-4,
                 "logits");
    /* again (a cached plan), and with 2 threads: the same bits */
    lam_tensor *y2 = NULL;
    lam_set_num_threads(2);
    ASSERT_OK(lam_module_forward(m, tokens, &y2));
    lam_set_num_threads(1);
    cr_expect(memcmp(lam_tensor_cdata(y), lam_tensor_cdata(y2),
                     sizeof(float) * (size_t)lam_tensor_numel(y)) == 0);
    lam_tensor_release(y);
    lam_tensor_release(y2);
    lam_tensor_release(tokens);
    lam_tensor_release(want);
    lam_module_release(m);
}

/* Every cached step (a prompt of 5, chunks, single positions) against the
 * full forward on the sequence so far, for a batch of 2. */
Test(gpt, cached_steps_match_the_full_forward)
{
    lam_module *m = load_gpt(true);
    lam_tensor *tokens = npy("tokens.npy");
    const int64_t B = 2, T = lam_tensor_dim(tokens, 1), V = 67;
    const int64_t *tok = lam_tensor_cdata_i64(tokens);
    lam_kv_cache *cache = NULL;
    ASSERT_OK(lam_kv_cache_create(&cache, 2, B, 4, 12, 48));
    const int64_t chunks[] = {5, 1, 1, 4, 1, 1};
    int64_t t0 = 0;
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        const int64_t n = chunks[c];
        int64_t part[2 * 13], prefix[2 * 13];
        for (int64_t b = 0; b < B; b++) {
            memcpy(part + b * n, tok + b * T + t0, sizeof(int64_t) * (size_t)n);
            memcpy(prefix + b * (t0 + n), tok + b * T, sizeof(int64_t) * (size_t)(t0 + n));
        }
        lam_tensor *x = ids(B, n, part), *full_x = ids(B, t0 + n, prefix), *y = NULL, *full = NULL;
        ASSERT_OK(lam_module_forward_args(m, x, cache, &y));
        ASSERT_OK(lam_module_forward(m, full_x, &full));
        cr_expect_eq(lam_kv_cache_length(cache), t0 + n);
        cr_assert_eq(lam_tensor_dim(y, 1), n);
        for (int64_t b = 0; b < B; b++) {
            char what[64];
            snprintf(what, sizeof what, "step %zu batch %lld logits", c, (long long)b);
            expect_close(lam_tensor_cdata(y) + b * n * V,
                         lam_tensor_cdata(full) + (b * (t0 + n) + t0) * V, n * V, 2e-5, what);
        }
        lam_tensor_release(x);
        lam_tensor_release(full_x);
        lam_tensor_release(y);
        lam_tensor_release(full);
        t0 += n;
    }
    lam_kv_cache_free(cache);
    lam_tensor_release(tokens);
    lam_module_release(m);
}

/* Greedy generation with the cache gives PyTorch's tokens (PyTorch without
 * a cache, the whole sequence again each step). */
Test(gpt, cached_generation_gives_pytorchs_tokens)
{
    lam_module *m = load_gpt(true);
    lam_tensor *prompt = npy("prompt.npy"), *expected = npy("generated.npy");
    const int64_t P = lam_tensor_dim(prompt, 1), N = lam_tensor_dim(expected, 1);
    int64_t seq[64];
    memcpy(seq, lam_tensor_cdata_i64(prompt), sizeof(int64_t) * (size_t)P);
    lam_kv_cache *cache = NULL;
    ASSERT_OK(lam_kv_cache_create(&cache, 2, 1, 4, 12, 48));
    int64_t n = P;
    while (n < N) {
        int64_t start = n == P ? 0 : n - 1;
        lam_tensor *x = ids(1, n - start, seq + start), *y = NULL;
        ASSERT_OK(lam_module_forward_args(m, x, cache, &y));
        const float *last = lam_tensor_cdata(y) + (lam_tensor_numel(y) - 67);
        int64_t best = 0;
        for (int64_t i = 1; i < 67; i++)
            if (last[i] > last[best])
                best = i;
        seq[n++] = best;
        lam_tensor_release(x);
        lam_tensor_release(y);
    }
    cr_expect_eq(lam_kv_cache_length(cache), N - 1);
    for (int64_t i = 0; i < N; i++)
        cr_expect_eq(seq[i], lam_tensor_cdata_i64(expected)[i], "token %lld: %lld, PyTorch %lld",
                     (long long)i, (long long)seq[i], (long long)lam_tensor_cdata_i64(expected)[i]);
    lam_kv_cache_free(cache);
    lam_tensor_release(prompt);
    lam_tensor_release(expected);
    lam_module_release(m);
}

/* lm_head.weight is wte.weight: one parameter; state_dict with both keys,
 * a file with both (equal) or with either one loads; different values for
 * the two keys are refused. */
Test(gpt, tied_weights)
{
    lam_module *m = load_gpt(true), *lm_head = NULL;
    lam_state_dict *params = NULL, *sd = NULL, *file = NULL;
    ASSERT_OK(lam_module_named_parameters(m, true, true, &params));
    cr_expect_not_null(lam_state_dict_get(params, "wte.weight"));
    cr_expect_null(lam_state_dict_get(params, "lm_head.weight"));
    ASSERT_OK(lam_module_state_dict(m, &sd));
    cr_expect_eq(lam_state_dict_get(sd, "wte.weight"), lam_state_dict_get(sd, "lm_head.weight"));
    ASSERT_OK(lam_safetensors_load(fixture("gpt.safetensors"), &file));
    lam_tensor *w = lam_state_dict_get(file, "wte.weight");
    cr_assert_not_null(w);
    for (int only = 0; only < 2; only++) {
        lam_module *fresh = load_gpt(false);
        lam_state_dict *one = NULL;
        ASSERT_OK(lam_state_dict_create(&one));
        for (size_t i = 0; i < lam_state_dict_len(file); i++) {
            const char *k = lam_state_dict_key(file, i);
            if (strcmp(k, only ? "wte.weight" : "lm_head.weight") != 0)
                ASSERT_OK(lam_state_dict_set(one, k, lam_state_dict_tensor(file, i)));
        }
        ASSERT_OK(lam_model_load_state_dict(fresh, one, true, NULL));
        ASSERT_OK(lam_module_get_submodule(fresh, "lm_head", &lm_head));
        lam_state_dict *hp = NULL;
        ASSERT_OK(lam_module_named_parameters(lm_head, false, true, &hp));
        cr_expect(memcmp(lam_tensor_cdata(lam_state_dict_get(hp, "weight")), lam_tensor_cdata(w),
                         sizeof(float) * (size_t)lam_tensor_numel(w)) == 0,
                  "lm_head.weight from a file with only %s", only ? "lm_head.weight" : "wte.weight");
        lam_state_dict_free(hp);
        lam_state_dict_free(one);
        lam_module_release(fresh);
    }
    /* both, different */
    lam_tensor *other = NULL;
    ASSERT_OK(lam_tensor_clone(&other, w));
    lam_tensor_data(other)[5] += 1.0f;
    ASSERT_OK(lam_state_dict_set(file, "lm_head.weight", other));
    EXPECT_FAIL(lam_model_load_state_dict(m, file, true, NULL), LAM_ERR_STATE_DICT,
                "'lm_head.weight' and 'wte.weight' are one tensor in the model (tied), but the "
                "state_dict holds different values for them");
    lam_tensor_release(other);
    lam_state_dict_free(file);
    lam_state_dict_free(sd);
    lam_state_dict_free(params);
    lam_module_release(m);
}

Test(gpt, bad_inputs)
{
    lam_module *m = load_gpt(true);
    lam_tensor *y = NULL;
    const int64_t ok[4] = {1, 2, 3, 4}, bad[4] = {1, 67, 3, 4};
    lam_tensor *x = ids(1, 4, bad);
    EXPECT_FAIL(lam_module_forward(m, x, &y), LAM_ERR_INDEX, "index out of range in self");
    EXPECT_FAIL(lam_module_forward(m, x, &y), LAM_ERR_INDEX, "wte");
    lam_tensor *f = NULL;
    ASSERT_OK(lam_tensor_to_dtype(&f, x, LAM_FLOAT32));
    EXPECT_FAIL(lam_module_forward(m, f, &y), LAM_ERR_TYPE,
                "GPT: expected token ids (an int64 tensor [B, T]), got float32 (input shape "
                "[1, 4])");
    int64_t long_ids[49] = {0};
    lam_tensor *too_long = ids(1, 49, long_ids);
    EXPECT_FAIL(lam_module_forward(m, too_long, &y), LAM_ERR_INDEX,
                "GPT: Cannot forward sequence of length 49, block size is only 48");
    cr_expect_null(y);

    /* with a cache: a failure leaves it as it was */
    lam_kv_cache *cache = NULL, *small = NULL, *three = NULL;
    ASSERT_OK(lam_kv_cache_create(&cache, 2, 1, 4, 12, 48));
    lam_tensor *prompt = ids(1, 45, long_ids), *four = ids(1, 4, ok);
    ASSERT_OK(lam_module_forward_args(m, prompt, cache, &y));
    lam_tensor_release(y);
    y = NULL;
    EXPECT_FAIL(lam_module_forward_args(m, four, cache, &y), LAM_ERR_INDEX,
                "GPT: Cannot forward sequence of length 49 (45 cached + 4 new positions), block "
                "size is only 48");
    lam_tensor *bad2 = ids(1, 2, bad);
    EXPECT_FAIL(lam_module_forward_args(m, bad2, cache, &y), LAM_ERR_INDEX,
                "index out of range in self");
    lam_tensor_release(bad2);
    cr_expect_eq(lam_kv_cache_length(cache), 45);
    /* a cache shorter than the block size */
    ASSERT_OK(lam_kv_cache_create(&small, 2, 1, 4, 12, 6));
    ASSERT_OK(lam_module_forward_args(m, four, small, &y));
    lam_tensor_release(y);
    y = NULL;
    EXPECT_FAIL(lam_module_forward_args(m, four, small, &y), LAM_ERR_INDEX,
                "lam_kv_cache_attention: 4 cached + 4 new positions exceed the cache's max_len "
                "of 6");
    EXPECT_FAIL(lam_module_forward_args(m, four, small, &y), LAM_ERR_INDEX,
                "GPT.blocks[0].attn CausalSelfAttention: ");
    cr_expect_eq(lam_kv_cache_length(small), 4);
    /* a cache of another shape */
    ASSERT_OK(lam_kv_cache_create(&three, 3, 1, 4, 12, 48));
    EXPECT_FAIL(lam_module_forward_args(m, four, three, &y), LAM_ERR_INVALID_ARGUMENT,
                "GPT: the key/value cache has 3 layers but the model has 2 blocks");
    lam_kv_cache_free(three);
    ASSERT_OK(lam_kv_cache_create(&three, 2, 1, 2, 24, 48));
    EXPECT_FAIL(lam_module_forward_args(m, four, three, &y), LAM_ERR_SHAPE,
                "the cache holds 2 heads of 24 values, the attention has 4 heads");
    cr_expect_eq(lam_kv_cache_length(three), 0);
    lam_kv_cache_free(three);
    lam_kv_cache_free(small);
    lam_kv_cache_free(cache);
    lam_tensor_release(prompt);
    lam_tensor_release(four);
    lam_tensor_release(too_long);
    lam_tensor_release(f);
    lam_tensor_release(x);
    lam_module_release(m);
}
