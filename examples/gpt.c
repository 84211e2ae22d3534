/* A small GPT, written in PyTorch as people write it (examples/plugins/gpt.py,
 * nanoGPT's model with its blocks in an nn.ModuleList), run from its
 * print(model) and state_dict, with greedy generation through a key/value
 * cache:
 *
 *   class GPT(nn.Module):                       # wte, wpe, drop, blocks, ln_f, lm_head
 *       def forward(self, idx):
 *           x = self.drop(self.wte(idx) + self.wpe(pos))
 *           for block in self.blocks:           # nn.ModuleList([Block(...) ...])
 *               x = block(x)                    # x + attn(ln_1(x)), x + mlp(ln_2(x))
 *           return self.lm_head(self.ln_f(x))   # lm_head.weight is wte.weight
 *
 * The custom types (GPT, Block, CausalSelfAttention, MLP) come from the
 * plugin examples/plugins/gpt.c.  The model file and the weights are
 * tests/fixtures/gpt (tools/gen-fixtures.py's gen_gpt), with PyTorch's logits
 * for a batch of token ids and PyTorch's greedy generation from a prompt.
 * This program
 *   1. runs the forward on the token ids and checks the logits against
 *      PyTorch's (|diff| <= 1e-4 + 1e-4 |expected|);
 *   2. generates greedily with a cache (lam_kv_cache, <lamina/kv_cache.h>):
 *      the prompt in one forward, then one token per forward, the cache the
 *      model's per-call argument; the tokens must be PyTorch's exactly;
 *   3. times generation with and without the cache (without: the whole
 *      sequence again for every token, as nanoGPT's generate does).
 *
 *   examples/gpt [FIXTURE_DIR [PLUGIN.so]]
 *       (defaults: $LAMINA_FIXTURES/gpt or the source tree's, and the
 *        plugin built in the build tree)
 *
 * Exit status 1 when something fails or differs from PyTorch. */
#include <lamina/lamina.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef GPT_FIXTURES_DIR
#define GPT_FIXTURES_DIR "tests/fixtures"
#endif
#ifndef GPT_PLUGIN
#define GPT_PLUGIN "examples/plugins/.libs/gpt.so"
#endif

#define CHECK(call)                                                                                \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        if (st_ != LAM_OK) {                                                                       \
            fprintf(stderr, "error: %s: %s\n", lam_status_str(st_), lam_last_error());            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The index of the largest of the last row's logits (the first of equals, as
 * torch.argmax). */
static int64_t argmax_last(const lam_tensor *logits)
{
    const int64_t *s = lam_tensor_shape(logits);
    const int64_t V = s[2];
    const float *row = lam_tensor_cdata(logits) + (lam_tensor_numel(logits) - V);
    int64_t best = 0;
    for (int64_t i = 1; i < V; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

/* Greedy generation of n_new tokens after prompt[0..n_prompt) into out
 * (n_prompt + n_new ids).  With a cache: the prompt in one forward, then one
 * position per forward.  Without (cache NULL): the whole sequence each time. */
static lam_status generate(lam_module *gpt, lam_kv_cache *cache, const int64_t *prompt,
                           int64_t n_prompt, int64_t n_new, int64_t *out)
{
    memcpy(out, prompt, sizeof(int64_t) * (size_t)n_prompt);
    int64_t n = n_prompt;
    if (cache)
        lam_kv_cache_reset(cache);
    lam_status st = LAM_OK;
    for (int64_t i = 0; i < n_new && !st; i++) {
        /* cached: after the prompt, only the newest token is new */
        int64_t start = cache && i > 0 ? n - 1 : 0;
        int64_t shape[2] = {1, n - start};
        lam_tensor *ids = NULL, *logits = NULL;
        st = lam_tensor_from_i64(&ids, 2, shape, out + start);
        if (!st)
            st = lam_module_forward_args(gpt, ids, cache, &logits);
        if (!st)
            out[n++] = argmax_last(logits);
        lam_tensor_release(ids);
        lam_tensor_release(logits);
    }
    return st;
}

int main(int argc, char **argv)
{
    char dir[4096], path[4200];
    const char *env = getenv("LAMINA_FIXTURES");
    if (argc > 1)
        snprintf(dir, sizeof dir, "%s", argv[1]);
    else
        snprintf(dir, sizeof dir, "%s/gpt", env && *env ? env : GPT_FIXTURES_DIR);
    const char *plugin = argc > 2 ? argv[2] : GPT_PLUGIN;

    /* the types GPT, Block, CausalSelfAttention, MLP */
    CHECK(lam_plugin_load(plugin, NULL));

    /* print(model) and its state_dict (lm_head.weight tied to wte.weight) */
    lam_module *gpt;
    snprintf(path, sizeof path, "%s/gpt.lam", dir);
    CHECK(lam_model_load(path, &gpt));
    snprintf(path, sizeof path, "%s/gpt.safetensors", dir);
    CHECK(lam_model_load_weights(gpt, path, true, NULL));
    lam_module *blocks, *attn;
    CHECK(lam_module_get_submodule(gpt, "blocks", &blocks));
    CHECK(lam_module_get_submodule(gpt, "blocks.0.attn", &attn));
    lam_state_dict *params;
    CHECK(lam_module_named_parameters(gpt, true, true, &params));
    printf("GPT: %zu blocks, %lld parameters (%zu tensors; lm_head.weight is wte.weight: %s)\n",
           lam_container_len(blocks), (long long)lam_module_num_parameters(gpt),
           lam_state_dict_len(params),
           lam_state_dict_get(params, "wte.weight") && !lam_state_dict_get(params, "lm_head.weight")
               ? "yes"
               : "no");
    lam_state_dict_free(params);

    /* 1. a full forward against PyTorch */
    lam_tensor *tokens, *want, *logits = NULL;
    snprintf(path, sizeof path, "%s/tokens.npy", dir);
    CHECK(lam_npy_load(path, &tokens));
    snprintf(path, sizeof path, "%s/logits.npy", dir);
    CHECK(lam_npy_load(path, &want));
    CHECK(lam_module_forward(gpt, tokens, &logits));
    double worst = 0.0;
    const float *y = lam_tensor_cdata(logits), *e = lam_tensor_cdata(want);
    int bad = !lam_tensor_same_shape(logits, want);
    for (int64_t i = 0; !bad && i < lam_tensor_numel(want); i++) {
        double d = fabs((double)y[i] - (double)e[i]);
        worst = d > worst ? d : worst;
        if (!(d <= 1e-4 + 1e-4 * fabs((double)e[i])))
            bad = 1;
    }
    char shape[64];
    lam_shape_str(lam_tensor_ndim(logits), lam_tensor_shape(logits), shape, sizeof shape);
    printf("forward: token ids [%lld, %lld] -> logits %s, max |lamina - PyTorch| = %.2g: %s\n",
           (long long)lam_tensor_dim(tokens, 0), (long long)lam_tensor_dim(tokens, 1), shape,
           worst, bad ? "DIFFERENT" : "same");
    lam_tensor_release(tokens);
    lam_tensor_release(want);
    lam_tensor_release(logits);

    /* 2. greedy generation with a cache, against PyTorch's */
    lam_tensor *prompt, *expected;
    snprintf(path, sizeof path, "%s/prompt.npy", dir);
    CHECK(lam_npy_load(path, &prompt));
    snprintf(path, sizeof path, "%s/generated.npy", dir);
    CHECK(lam_npy_load(path, &expected));
    const int64_t n_prompt = lam_tensor_dim(prompt, 1), n_all = lam_tensor_dim(expected, 1);
    const int64_t n_new = n_all - n_prompt;
    /* one layer per block; batch 1; n_head heads of n_embd / n_head values
     * (n_head as the repr prints it: "CausalSelfAttention(\n  n_head=4"); up
     * to the model's block size (wpe's rows) */
    lam_module *wpe;
    CHECK(lam_module_get_submodule(gpt, "wpe", &wpe));
    lam_state_dict *wsd;
    CHECK(lam_module_state_dict(wpe, &wsd));
    const int64_t block_size = lam_tensor_dim(lam_state_dict_get(wsd, "weight"), 0);
    const int64_t n_embd = lam_tensor_dim(lam_state_dict_get(wsd, "weight"), 1);
    lam_state_dict_free(wsd);
    char *attn_repr = lam_module_repr(attn);
    const char *nh = attn_repr ? strstr(attn_repr, "n_head=") : NULL;
    const int64_t n_head = nh ? atoll(nh + 7) : 0;
    lam_free(attn_repr);
    lam_kv_cache *cache;
    CHECK(lam_kv_cache_create(&cache, (int64_t)lam_container_len(blocks), 1, n_head,
                              n_embd / n_head, block_size));
    int64_t *got = malloc(sizeof(int64_t) * (size_t)n_all);
    if (!got)
        return 1;
    CHECK(generate(gpt, cache, lam_tensor_cdata_i64(prompt), n_prompt, n_new, got));
    int same = 1;
    for (int64_t i = 0; i < n_all; i++)
        same &= got[i] == lam_tensor_cdata_i64(expected)[i];
    printf("generate: %lld tokens after a prompt of %lld, with the cache:", (long long)n_new,
           (long long)n_prompt);
    for (int64_t i = n_prompt; i < n_all; i++)
        printf(" %lld", (long long)got[i]);
    printf("\n          PyTorch's greedy tokens: %s\n", same ? "same" : "DIFFERENT");
    bad |= !same;

    /* 3. tokens per second, with and without the cache */
    for (int c = 1; c >= 0; c--) {
        int reps = 0;
        double t0 = now(), t1 = t0;
        while (reps < 3 || t1 - t0 < 0.3) {
            CHECK(generate(gpt, c ? cache : NULL, lam_tensor_cdata_i64(prompt), n_prompt, n_new,
                           got));
            reps++;
            t1 = now();
        }
        printf("          %s: %.0f tokens/s\n",
               c ? "with the cache (one position per step)"
                 : "without (the whole sequence per step)",
               (double)(reps * n_new) / (t1 - t0));
    }
    free(got);
    lam_kv_cache_free(cache);
    lam_tensor_release(prompt);
    lam_tensor_release(expected);
    lam_module_release(gpt);
    return bad;
}
