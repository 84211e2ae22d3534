/* lamina bench — forward throughput and latency at a batch size.
 *
 * The input is random in [-1, 1); its per-sample shape comes from
 * --input-shape or from the first Linear (in_features) or LayerNorm
 * (normalized_shape) in the model.  GFLOP/s counts 2*B*in*out (+B*out for
 * the bias) per Linear occurrence: an estimate that ignores activations and
 * the branches a custom forward may skip. */
#include "tools/cli/cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char bench_help[] =
    "Usage: lamina bench MODEL --batch B [options]\n"
    "Time forwards of MODEL on random input and report samples/s, estimated\n"
    "GFLOP/s (from the Linear layers) and latency percentiles.\n"
    "\n"
    "  -b, --batch B            batch size (rows of the input)\n"
    "      --seconds S          how long to measure (default 3; warm-up comes first)\n"
    "      --warmup N           warm-up forwards (default 3)\n"
    "      --input-shape D,...  per-sample input shape (default: from the first\n"
    "                           Linear or LayerNorm)\n"
    "  -t, --threads N          threads for the forward\n"
    "  -w, --weights W.safetensors, -p, --plugin P.so, --condition, --seed S,\n"
    "      --set PATH.ARG=VALUE\n"
    "                           as for 'lamina run'\n"
    "      --json               print the result as one JSON object\n"
    "      --mpi                run as one rank of an MPI job (mpirun -n K lamina\n"
    "                           bench --mpi ...): every rank times its own forwards in\n"
    "                           one synchronised window; rank 0 prints the samples/s\n"
    "                           of all ranks together and of each rank\n"
    "  -h, --help               show this help\n"
    "A progress line is shown on stderr while measuring when stderr is a terminal.\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct scan {
    int ndim;              /* per-sample shape found (0 = none yet) */
    int64_t shape[LAM_MAX_DIMS];
    double flops_per_row;  /* per sample */
} scan;

static lam_tensor *own_param(lam_module *m, const char *name)
{
    lam_state_dict *sd;
    if (lam_module_named_parameters(m, false, true, &sd) != LAM_OK)
        return NULL;
    lam_tensor *t = lam_state_dict_get(sd, name);
    lam_state_dict_free(sd); /* the module keeps its reference */
    return t;
}

static int scan_visit(lam_module *m, const char *path, int depth, void *user)
{
    (void)path;
    (void)depth;
    scan *s = user;
    const char *type = lam_module_type_name(m);
    lam_tensor *w = own_param(m, "weight");
    if (!strcmp(type, "Linear") && w && lam_tensor_ndim(w) == 2) {
        double out = (double)lam_tensor_dim(w, 0), in = (double)lam_tensor_dim(w, 1);
        s->flops_per_row += 2.0 * in * out + (own_param(m, "bias") ? out : 0.0);
        if (!s->ndim) {
            s->ndim = 1;
            s->shape[0] = lam_tensor_dim(w, 1);
        }
    } else if (!strcmp(type, "LayerNorm") && w && !s->ndim) {
        s->ndim = lam_tensor_ndim(w) < LAM_MAX_DIMS ? lam_tensor_ndim(w) : LAM_MAX_DIMS - 1;
        memcpy(s->shape, lam_tensor_shape(w), (size_t)s->ndim * sizeof(int64_t));
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *sorted, size_t n, double p)
{
    size_t i = (size_t)ceil(p / 100.0 * (double)n);
    return sorted[i ? i - 1 : 0];
}

typedef struct bench_args {
    long long batch, warmup;
    double seconds;
    const char *shape;
    bool json, mpi;
} bench_args;

static int bench_option(int opt, const char *arg, void *user)
{
    bench_args *a = user;
    char *end;
    switch (opt) {
    case 'b': case OPT_BATCH:
        if (cli_parse_int(arg, 1, 1 << 24, &a->batch))
            return cli_usage("bench", "--batch needs an integer from 1 to %d, got '%s'", 1 << 24, arg);
        return CLI_OK;
    case OPT_SECONDS:
        a->seconds = strtod(arg, &end);
        if (*end || end == arg || !(a->seconds > 0 && a->seconds <= 86400))
            return cli_usage("bench", "--seconds needs a number of seconds in (0, 86400], got '%s'", arg);
        return CLI_OK;
    case OPT_WARMUP:
        if (cli_parse_int(arg, 0, 1000000, &a->warmup))
            return cli_usage("bench", "--warmup needs an integer from 0 to 1000000, got '%s'", arg);
        return CLI_OK;
    case OPT_INPUT_SHAPE: a->shape = arg; return CLI_OK;
    case OPT_JSON: a->json = true; return CLI_OK;
    case OPT_MPI: a->mpi = true; return CLI_OK;
    }
    return -1;
}

int cmd_bench(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_MODEL_OPTIONS,
        {"batch", required_argument, NULL, OPT_BATCH},
        {"seconds", required_argument, NULL, OPT_SECONDS},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"input-shape", required_argument, NULL, OPT_INPUT_SHAPE},
        {"json", no_argument, NULL, OPT_JSON},
        {"mpi", no_argument, NULL, OPT_MPI},
        {NULL, 0, NULL, 0},
    };
    cli_common c = {.strict = 1};
    bench_args a = {.warmup = 3, .seconds = 3.0};
    int rc = cli_parse_args(argc, argv, "bench", bench_help, ":b:w:p:t:h", opts, &c, bench_option, &a,
                            "MODEL");
    if (rc != CLI_CONTINUE)
        goto out;
    if (!a.mpi)
        cli_log_start(); /* with --mpi, after MPI_Init (the rank prefix) */
    long long batch = a.batch, warmup = a.warmup;
    double seconds = a.seconds;
    const char *shape = a.shape;
    bool json = a.json;
    if (!batch) {
        rc = cli_usage("bench", "missing --batch B");
        goto out;
    }
    scan s = {0};
    if (shape && (s.ndim = cli_parse_shape(shape, s.shape)) < 0) {
        rc = cli_usage("bench", "--input-shape needs 1 to %d positive sizes, got '%s'",
                       LAM_MAX_DIMS - 1, shape);
        goto out;
    }
    if (s.ndim >= LAM_MAX_DIMS) {
        rc = cli_usage("bench", "--input-shape is per sample: at most %d sizes", LAM_MAX_DIMS - 1);
        goto out;
    }
    bool mpi = a.mpi;
#ifdef LAM_HAVE_MPI
    if (mpi && (rc = cli_mpi_bench_begin(&c)) != CLI_OK)
        goto out;
#else
    if (a.mpi) {
        rc = cli_usage("bench", "--mpi: this lamina was built without MPI (%s)", LAM_MPI_WHY);
        goto out;
    }
#endif
    lam_module *m = NULL;
    lam_tensor *x = NULL, *y = NULL;
    double *lat = NULL;
    /* with --mpi every rank agrees once, at the measurement or at done: */
    if ((rc = cli_load_model(&c, &m)) != 0)
        goto done;
    int given = s.ndim;
    cli_walk(m, scan_visit, &s);
    if (given)
        s.ndim = given; /* the walk only fills an empty shape */
    if (!s.ndim) {
        rc = cli_fail("cannot tell the input size of '%s' (no Linear or LayerNorm): "
                      "give --input-shape", c.model);
        goto done;
    }
    int64_t dims[LAM_MAX_DIMS] = {batch};
    memcpy(dims + 1, s.shape, (size_t)s.ndim * sizeof *dims);
    lam_status st = lam_tensor_create(&x, s.ndim + 1, dims);
    if (st) {
        rc = cli_fail_status(st, "input");
        goto done;
    }
    float *xd = lam_tensor_data(x);
    uint64_t r = 0x9E3779B97F4A7C15ull ^ c.seed;
    for (int64_t i = 0; i < lam_tensor_numel(x); i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        xd[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    bool cond = c.condition;
    char in_shape[96];
    lam_shape_str(s.ndim + 1, dims, in_shape, sizeof in_shape);
    for (long long i = 0; i < warmup || i == 0; i++) {
        if ((st = lam_module_forward_args(m, x, cond ? &cond : NULL, &y)) != LAM_OK) {
            rc = cli_fail_status(st, "forward");
            goto done;
        }
        lam_tensor_release(y);
        y = NULL;
    }
#ifdef LAM_HAVE_MPI
    if (a.mpi) {
        a.mpi = false; /* agreed here */
        if ((rc = cli_mpi_bench_agree(CLI_OK)) != CLI_OK)
            goto end;
        cli_bench_run b = {.m = m, .x = x, .condition = cond, .json = json, .batch = batch,
                           .seconds = seconds, .flops_per_row = s.flops_per_row, .model = c.model,
                           .in_shape = in_shape};
        rc = cli_mpi_bench_measure(&b);
        goto end;
    }
#endif
    size_t n = 0, cap = 1024;
    lat = malloc(cap * sizeof *lat);
    if (!lat) {
        rc = cli_fail("out of memory");
        goto done;
    }
    bool tty = isatty(2) && !json;
    double t0 = now(), last_progress = t0, t;
    do {
        double a = now();
        if ((st = lam_module_forward_args(m, x, cond ? &cond : NULL, &y)) != LAM_OK) {
            rc = cli_fail_status(st, "forward");
            goto done;
        }
        t = now();
        lam_tensor_release(y);
        y = NULL;
        if (n == cap) {
            double *l = realloc(lat, 2 * cap * sizeof *l);
            if (!l) {
                rc = cli_fail("out of memory");
                goto done;
            }
            lat = l;
            cap *= 2;
        }
        lat[n++] = t - a;
        if (tty && t - last_progress > 0.2) {
            fprintf(stderr, "\rbench: %.1f/%.1f s, %zu forwards, %.0f samples/s   ", t - t0,
                    seconds, n, (double)n * (double)batch / (t - t0));
            last_progress = t;
        }
    } while (t - t0 < seconds);
    if (tty)
        fprintf(stderr, "\r%60s\r", "");
    double total = t - t0;
    qsort(lat, n, sizeof *lat, cmp_double);
    double sps = (double)n * (double)batch / total;
    double gflops = s.flops_per_row * (double)batch * (double)n / total / 1e9;
    if (json) {
        fputs("{\"model\": ", stdout);
        cli_json_string(stdout, c.model);
        printf(", \"batch\": %lld, \"input_shape\": %s, \"threads\": %d, "
               "\"isa\": \"%s\", \"iterations\": %zu, \"seconds\": %.3f, "
               "\"samples_per_second\": %.1f, \"gflops\": %.3f, \"latency_ms\": {\"p50\": %.4f, "
               "\"p90\": %.4f, \"p99\": %.4f, \"min\": %.4f, \"max\": %.4f}}\n",
               batch, in_shape, lam_get_num_threads(), lam_kernel_isa(), n, total, sps,
               gflops, pct(lat, n, 50) * 1e3, pct(lat, n, 90) * 1e3, pct(lat, n, 99) * 1e3,
               lat[0] * 1e3, lat[n - 1] * 1e3);
    } else {
        printf("model:        %s\n", c.model);
        printf("input:        %s (batch %lld), %d thread%s, %s kernels\n", in_shape, batch,
               lam_get_num_threads(), lam_get_num_threads() == 1 ? "" : "s", lam_kernel_isa());
        printf("forwards:     %zu in %.2f s (after %lld warm-up)\n", n, total, warmup);
        printf("throughput:   %.1f samples/s, %.3f GFLOP/s (Linear layers)\n", sps, gflops);
        printf("latency (ms): p50 %.4f  p90 %.4f  p99 %.4f  (min %.4f, max %.4f)\n",
               pct(lat, n, 50) * 1e3, pct(lat, n, 90) * 1e3, pct(lat, n, 99) * 1e3, lat[0] * 1e3,
               lat[n - 1] * 1e3);
    }
done:
#ifdef LAM_HAVE_MPI
    if (a.mpi) /* failed before the measurement */
        rc = cli_mpi_bench_agree(rc);
end:
#endif
    free(lat);
    lam_tensor_release(x);
    lam_module_release(m);
#ifdef LAM_HAVE_MPI
    if (mpi)
        rc = cli_mpi_bench_end(rc);
#endif
out:
    cli_common_free(&c);
    return rc;
}
