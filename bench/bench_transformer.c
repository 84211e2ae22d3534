/* TransformerEncoder(TransformerEncoderLayer(d_model 512, nhead 8,
 * dim_feedforward 2048, batch_first), 6 layers) in eval mode: ms per
 * forward at sequence 128, batch 1 and 8 (issue 16's row), median of the
 * repetitions, process CPU time and wall clock.  Not a test: figures only.
 * Usage: bench_transformer [threads] [reps] */
#include <lamina/lamina.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1, reps = argc > 2 ? atoi(argv[2]) : 5;
    if (reps < 1 || reps > 50)
        reps = 5;
    lam_set_num_threads(threads);
    lam_module *layer = NULL, *enc = NULL;
    if (lam_transformer_encoder_layer_create(&layer, 512, 8, 2048, 0.1, "relu", 1e-5, true,
                                             false) ||
        lam_transformer_encoder_create(&enc, layer, 6, NULL)) {
        fprintf(stderr, "%s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(enc);
    printf("| TransformerEncoder 512/8/2048 x6, seq 128 | threads | ms (wall, median) | ms (CPU) |\n"
           "|---|---|---|---|\n");
    const int64_t batches[2] = {1, 8};
    for (int b = 0; b < 2; b++) {
        lam_tensor *x = NULL, *y = NULL;
        if (lam_tensor_create(&x, 3, (int64_t[]){batches[b], 128, 512}))
            return 1;
        float *d = lam_tensor_data(x);
        for (int64_t i = 0; i < lam_tensor_numel(x); i++)
            d[i] = (float)((i * 2654435761u) % 2001) * 0.001f - 1.0f;
        if (lam_module_forward(enc, x, &y)) { /* warm-up */
            fprintf(stderr, "%s\n", lam_last_error());
            return 1;
        }
        lam_tensor_release(y);
        double w[50], c[50];
        for (int r = 0; r < reps; r++) {
            double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
            lam_module_forward(enc, x, &y);
            w[r] = now(CLOCK_MONOTONIC) - w0;
            c[r] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
            lam_tensor_release(y);
        }
        qsort(w, (size_t)reps, sizeof *w, cmp);
        qsort(c, (size_t)reps, sizeof *c, cmp);
        printf("| batch %lld | %d | %.1f | %.1f |\n", (long long)batches[b], threads,
               1e3 * w[reps / 2], 1e3 * c[reps / 2]);
        lam_tensor_release(x);
    }
    lam_module_release(enc);
    lam_module_release(layer);
    return 0;
}
