/* bench/bench_rnn — the recurrent-layer row of issue 16: LSTM(256, 512,
 * num_layers=2) on batch 16 x 100 steps (or what the arguments say), timed
 * through the public API as a user's program would run it.
 *
 *     bench/bench_rnn [--threads N] [--iters N] [--type LSTM|GRU|RNN]
 *                     [--input I] [--hidden H] [--layers L] [--batch B] [--steps T]
 *
 * Prints one line per run and a summary: the median and the minimum of the
 * wall time and of the process CPU time per forward (ms), and GFLOP/s of
 * the median.  bench/torch_rnn.py times PyTorch on the same shape; compare
 * them in one sitting (the machine is shared: interleave runs). */
#include <lamina/lamina.h>
#include <math.h>
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

int main(int argc, char **argv)
{
    int threads = 1, iters = 15;
    long in = 256, hid = 512, layers = 2, batch = 16, steps = 100;
    const char *type = "LSTM";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--iters")) iters = atoi(v);
        else if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--input")) in = atol(v);
        else if (!strcmp(a, "--hidden")) hid = atol(v);
        else if (!strcmp(a, "--layers")) layers = atol(v);
        else if (!strcmp(a, "--batch")) batch = atol(v);
        else if (!strcmp(a, "--steps")) steps = atol(v);
        else {
            fprintf(stderr, "bench_rnn: unknown argument %s\n", a);
            return 2;
        }
    }
    if (iters < 1 || iters > 1000)
        iters = 15;
    lam_set_num_threads(threads);
    lam_module *m = NULL;
    lam_status st;
    if (!strcmp(type, "GRU"))
        st = lam_gru_create(&m, in, hid, layers, true, false, 0.0, false);
    else if (!strcmp(type, "RNN"))
        st = lam_rnn_create(&m, in, hid, layers, "tanh", true, false, 0.0, false);
    else
        st = lam_lstm_create(&m, in, hid, layers, true, false, 0.0, false, 0);
    if (st) {
        fprintf(stderr, "bench_rnn: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(m);
    int64_t shape[3] = {steps, batch, in};
    lam_tensor *x = NULL;
    if (lam_tensor_create(&x, 3, shape)) {
        fprintf(stderr, "bench_rnn: %s\n", lam_last_error());
        return 1;
    }
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < steps * batch * in; i++)
        d[i] = (float)sin((double)i * 0.61);
    double gates = !strcmp(type, "LSTM") ? 4 : !strcmp(type, "GRU") ? 3 : 1;
    double flop = 0;
    for (long l = 0; l < layers; l++)
        flop += 2.0 * (double)steps * (double)batch * gates * (double)hid *
                ((double)(l ? hid : in) + (double)hid);
    double *wall = calloc((size_t)iters, sizeof *wall), *cpu = calloc((size_t)iters, sizeof *cpu);
    for (int i = -2; i < iters; i++) {
        lam_tensor *y = NULL;
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (lam_module_forward(m, x, &y)) {
            fprintf(stderr, "bench_rnn: %s\n", lam_last_error());
            return 1;
        }
        double w1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
        lam_tensor_release(y);
        if (i >= 0) {
            wall[i] = (w1 - w0) * 1e3;
            cpu[i] = (c1 - c0) * 1e3;
        }
    }
    qsort(wall, (size_t)iters, sizeof *wall, cmp);
    qsort(cpu, (size_t)iters, sizeof *cpu, cmp);
    printf("lamina %s(%ld, %ld, num_layers=%ld) batch %ld x %ld steps, %d thread(s): wall median "
           "%.1f ms (min %.1f), cpu median %.1f ms (min %.1f), %.1f GFLOP/s\n",
           type, in, hid, layers, batch, steps, threads, wall[iters / 2], wall[0], cpu[iters / 2],
           cpu[0], flop / (wall[iters / 2] * 1e6));
    free(wall);
    free(cpu);
    lam_tensor_release(x);
    lam_module_release(m);
    return 0;
}
