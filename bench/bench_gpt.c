/* bench/bench_gpt — the GPT row of issue 16: tokens per second of greedy
 * generation with examples/plugins/gpt.py's GPT, with the key/value cache
 * (the prompt in one forward, then one position per token) and without it
 * (the whole sequence again per token, as nanoGPT's generate does).
 *
 *     bench/bench_gpt --plugin PATH/gpt.so [--threads N] [--rounds N]
 *                     [--layers L] [--heads H] [--embd C] [--vocab V]
 *                     [--block B] [--prompt P] [--new N] [--no-uncached]
 *
 * The default model is nanoGPT's character-level Shakespeare configuration
 * (6 layers, 6 heads, n_embd 384, block 256, vocab 65): its print(model) is
 * written here and parsed, with PyTorch's initialisation from lamina's
 * generator (the speed does not depend on the values).  The prompt is P
 * token ids (i * 7 % V), N new tokens.  bench/torch_gpt.py runs the same
 * model and loops in PyTorch.  Prints one JSON object: the median and best
 * tokens/s of `rounds` timed generations (after one warm-up) each way, by
 * the wall clock and by the process CPU time (*_cpu: with one thread, the
 * steadier figure on a shared machine). */
#include <lamina/lamina.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* print(GPT(...)) as PyTorch writes it */
static char *model_text(long L, long H, long C, long V, long B)
{
    size_t cap = 4096 + (size_t)L * 2048, n = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
#define P(...) n += (size_t)snprintf(s + n, cap - n, __VA_ARGS__)
    P("GPT(\n  (wte): Embedding(%ld, %ld)\n  (wpe): Embedding(%ld, %ld)\n", V, C, B, C);
    P("  (drop): Dropout(p=0.0, inplace=False)\n  (blocks): ModuleList(\n");
    const char *ln = "LayerNorm((%ld,), eps=1e-05, elementwise_affine=True)";
    for (long i = 0; i < L; i++) {
        P("    (%ld): Block(\n      (ln_1): ", i);
        P(ln, C);
        P("\n      (attn): CausalSelfAttention(\n        n_head=%ld\n", H);
        P("        (c_attn): Linear(in_features=%ld, out_features=%ld, bias=True)\n", C, 3 * C);
        P("        (c_proj): Linear(in_features=%ld, out_features=%ld, bias=True)\n", C, C);
        P("        (attn_dropout): Dropout(p=0.0, inplace=False)\n");
        P("        (resid_dropout): Dropout(p=0.0, inplace=False)\n      )\n      (ln_2): ");
        P(ln, C);
        P("\n      (mlp): MLP(\n");
        P("        (c_fc): Linear(in_features=%ld, out_features=%ld, bias=True)\n", C, 4 * C);
        P("        (gelu): GELU(approximate='none')\n");
        P("        (c_proj): Linear(in_features=%ld, out_features=%ld, bias=True)\n", 4 * C, C);
        P("        (dropout): Dropout(p=0.0, inplace=False)\n      )\n    )\n");
    }
    P("  )\n  (ln_f): ");
    P(ln, C);
    P("\n  (lm_head): Linear(in_features=%ld, out_features=%ld, bias=False)\n)\n", C, V);
#undef P
    return s;
}

static int64_t argmax_last(const lam_tensor *y)
{
    const int64_t V = lam_tensor_shape(y)[2];
    const float *r = lam_tensor_cdata(y) + (lam_tensor_numel(y) - V);
    int64_t b = 0;
    for (int64_t i = 1; i < V; i++)
        if (r[i] > r[b])
            b = i;
    return b;
}

/* greedy: n_new tokens after seq[0..P); with a cache one position per step */
static lam_status generate(lam_module *m, lam_kv_cache *cache, int64_t *seq, int64_t P,
                           int64_t n_new)
{
    int64_t n = P;
    if (cache)
        lam_kv_cache_reset(cache);
    lam_status st = LAM_OK;
    for (int64_t i = 0; i < n_new && !st; i++) {
        int64_t start = cache && i > 0 ? n - 1 : 0, shape[2] = {1, n - start};
        lam_tensor *x = NULL, *y = NULL;
        st = lam_tensor_from_i64(&x, 2, shape, seq + start);
        if (!st)
            st = lam_module_forward_args(m, x, cache, &y);
        if (!st)
            seq[n++] = argmax_last(y);
        lam_tensor_release(x);
        lam_tensor_release(y);
    }
    return st;
}

int main(int argc, char **argv)
{
    const char *plugin = NULL;
    int threads = 1, rounds = 5, uncached = 1;
    long L = 6, H = 6, C = 384, V = 65, B = 256, P = 16, N = 128;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-uncached")) {
            uncached = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_gpt: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--plugin")) plugin = v;
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--rounds")) rounds = atoi(v);
        else if (!strcmp(a, "--layers")) L = atol(v);
        else if (!strcmp(a, "--heads")) H = atol(v);
        else if (!strcmp(a, "--embd")) C = atol(v);
        else if (!strcmp(a, "--vocab")) V = atol(v);
        else if (!strcmp(a, "--block")) B = atol(v);
        else if (!strcmp(a, "--prompt")) P = atol(v);
        else if (!strcmp(a, "--new")) N = atol(v);
        else {
            fprintf(stderr, "bench_gpt: unknown argument %s\n", a);
            return 2;
        }
    }
    if (!plugin || rounds < 1 || L < 1 || H < 1 || C % H || V < 1 || P < 1 || N < 1 || P + N > B) {
        fprintf(stderr, "usage: bench_gpt --plugin gpt.so [--threads N] [--rounds N] ... "
                        "(n_embd a multiple of the heads, prompt + new <= block)\n");
        return 2;
    }
    lam_set_num_threads(threads);
    lam_module *m = NULL;
    lam_kv_cache *cache = NULL;
    char *text = model_text(L, H, C, V, B);
    int64_t *seq = malloc(sizeof(int64_t) * (size_t)(P + N));
    lam_status st = text && seq ? lam_plugin_load(plugin, NULL) : LAM_ERR_NO_MEMORY;
    if (!st)
        st = lam_model_parse(text, strlen(text), "<bench_gpt>", &m);
    if (!st)
        st = lam_kv_cache_create(&cache, L, 1, H, C / H, B);
    /* [way][wall, cpu][round]: the machine is shared, and with one thread the
     * process CPU time is the steadier measure */
    double tok_s[2][2][64] = {{{0}}};
    if (rounds > 64)
        rounds = 64;
    for (int way = 0; way < 1 + uncached && !st; way++)
        for (int r = -1; r < rounds && !st; r++) {
            for (long i = 0; i < P; i++)
                seq[i] = i * 7 % V;
            double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
            st = generate(m, way == 0 ? cache : NULL, seq, P, N);
            if (r >= 0) {
                tok_s[way][0][r] = (double)N / (now(CLOCK_MONOTONIC) - t0);
                tok_s[way][1][r] = (double)N / (now(CLOCK_PROCESS_CPUTIME_ID) - c0);
            }
        }
    if (st) {
        fprintf(stderr, "bench_gpt: %s: %s\n", lam_status_str(st), lam_last_error());
        return 1;
    }
    for (int w = 0; w < 2; w++)
        for (int k = 0; k < 2; k++)
            qsort(tok_s[w][k], (size_t)rounds, sizeof(double), cmp);
    printf("{\"kind\": \"gpt\", \"impl\": \"lamina\", \"lamina_version\": \"%s\", \"isa\": \"%s\", "
           "\"threads\": %d, \"n_layer\": %ld, \"n_head\": %ld, \"n_embd\": %ld, "
           "\"vocab_size\": %ld, \"block_size\": %ld, \"prompt\": %ld, \"new_tokens\": %ld, "
           "\"rounds\": %d",
           lam_version(), lam_kernel_isa(), threads, L, H, C, V, B, P, N, rounds);
    for (int w = 0; w < 1 + uncached; w++)
        for (int k = 0; k < 2; k++)
            printf(", \"%s_tok_s%s\": %.2f, \"%s_tok_s%s_best\": %.2f", w ? "uncached" : "cached",
                   k ? "_cpu" : "", tok_s[w][k][rounds / 2], w ? "uncached" : "cached",
                   k ? "_cpu" : "", tok_s[w][k][rounds - 1]);
    printf("}\n");
    lam_kv_cache_free(cache);
    lam_module_release(m);
    free(seq);
    free(text);
    return 0;
}
