/* lamina bench — forward throughput and latency at a batch size.
 *
 * The input is random in [-1, 1); its per-sample shape comes from
 * --input-shape or from the first Linear (in_features) or LayerNorm
 * (normalized_shape) in the model.  Several --input-shape options are the
 * forward's positional arguments (as run's --input options are): the first
 * gets the batch in front unless it says where ('B'), the others are as
 * written with 'B' standing for the batch; int64 inputs (token ids) are
 * zeros and bool ones False.  GFLOP/s counts 2*B*in*out (+B*out for
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
    "      --input-shape D,...[:DTYPE]\n"
    "                           per-sample input shape (default: from the first\n"
    "                           Linear or LayerNorm); B in it says where the batch\n"
    "                           goes (5,B,8: sequence first).  DTYPE float32\n"
    "                           (default, random), int64 (token ids, given as 0) or\n"
    "                           bool (False).  Repeat it for a forward that takes\n"
    "                           several inputs, in order, as run's --input ('none'\n"
    "                           passes None); shapes after the first are whole\n"
    "                           shapes, B standing for the batch: --input-shape 5,8\n"
    "                           --input-shape B,7,8 --input-shape B,7,8 (attention)\n"
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
    bool embedding;        /* an Embedding came before any Linear or LayerNorm */
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
    if (!strcmp(type, "Embedding") && !s->ndim)
        s->embedding = true;
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
    const char **shapes; /* every --input-shape, in order */
    int n_shapes;
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
    case OPT_INPUT_SHAPE: {
        const char **p = realloc(a->shapes, (size_t)(a->n_shapes + 1) * sizeof *p);
        if (!p)
            return cli_fail("out of memory");
        a->shapes = p;
        a->shapes[a->n_shapes++] = arg;
        return CLI_OK;
    }
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
    bool json = a.json;
    if (!batch) {
        rc = cli_usage("bench", "missing --batch B");
        goto out;
    }
    scan s = {0};
    cli_input_spec specs[16];
    if (a.n_shapes > 16) {
        rc = cli_usage("bench", "at most 16 --input-shape options");
        goto out;
    }
    for (int i = 0; i < a.n_shapes; i++) {
        const char *why;
        cli_input_spec *sp = &specs[i];
        if (cli_parse_input_spec(a.shapes[i], true, sp, &why)) {
            rc = cli_usage("bench", "--input-shape needs 1 to %d positive sizes, an optional "
                           ":int64 or :bool, or none; got '%s' (%s)",
                           LAM_MAX_DIMS, a.shapes[i], why);
            goto out;
        }
        if (i == 0 && sp->none) {
            rc = cli_usage("bench", "the first --input-shape cannot be none");
            goto out;
        }
        if (i == 0 && sp->batch_at < 0) { /* per sample: the batch goes in front */
            if (sp->ndim >= LAM_MAX_DIMS) {
                rc = cli_usage("bench", "--input-shape is per sample: at most %d sizes",
                               LAM_MAX_DIMS - 1);
                goto out;
            }
            memmove(sp->shape + 1, sp->shape, (size_t)sp->ndim * sizeof *sp->shape);
            sp->ndim++;
            sp->batch_at = 0;
        }
        if (sp->batch_at >= 0)
            sp->shape[sp->batch_at] = batch;
    }
    /* one float32 input: the forward (and --mpi) as always */
    bool multi = a.n_shapes > 1 || (a.n_shapes == 1 && specs[0].dtype != LAM_FLOAT32);
    if (a.n_shapes == 1 && !multi) {
        s.ndim = specs[0].ndim - 1;
        memcpy(s.shape, specs[0].shape + 1, (size_t)s.ndim * sizeof *s.shape);
        if (specs[0].batch_at != 0) {
            multi = true; /* the batch elsewhere: the shape as it is */
            s.ndim = 0;
        }
    }
    if (multi && a.mpi) {
        rc = cli_usage("bench", "--mpi times one float32 input whose batch comes first");
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
    lam_tuple *xs = NULL, *ys = NULL;
    double *lat = NULL;
    /* with --mpi every rank agrees once, at the measurement or at done: */
    if ((rc = cli_load_model(&c, &m)) != 0)
        goto done;
    int given = s.ndim;
    cli_walk(m, scan_visit, &s);
    if (given)
        s.ndim = given; /* the walk only fills an empty shape */
    if (!multi && !a.n_shapes && s.embedding) {
        rc = cli_fail("cannot tell the input of '%s': it starts with an Embedding, which takes "
                      "int64 token ids: give --input-shape T:int64 (T ids per sample)",
                      c.model);
        goto done;
    }
    if (!multi && !s.ndim) {
        rc = cli_fail("cannot tell the input size of '%s' (no Linear or LayerNorm): "
                      "give --input-shape", c.model);
        goto done;
    }
    int64_t dims[LAM_MAX_DIMS] = {batch};
    memcpy(dims + 1, s.shape, (size_t)s.ndim * sizeof *dims);
    lam_status st = LAM_OK;
    /* in_shape: the text line's; in_json: JSON's ("[8, 10]", or a list for
     * several inputs), in_dtypes: JSON's list of element types */
    char in_shape[512] = "", in_json[600] = "", in_dtypes[256] = "[";
    if (!multi) {
        cli_input_spec one = {.dtype = LAM_FLOAT32, .ndim = s.ndim + 1};
        memcpy(one.shape, dims, sizeof dims);
        st = cli_input_tensor(&one, true, c.seed, &x);
        lam_shape_str(s.ndim + 1, dims, in_shape, sizeof in_shape);
        snprintf(in_json, sizeof in_json, "%s", in_shape);
        strcat(in_dtypes, "\"float32\"]");
    } else {
        st = lam_tuple_create(&xs, (size_t)a.n_shapes);
        strcat(in_json, "[");
        for (int i = 0; !st && i < a.n_shapes; i++) {
            lam_tensor *t = NULL;
            st = cli_input_tensor(&specs[i], true, c.seed + (unsigned long long)i, &t);
            if (!st)
                st = lam_tuple_set_tensor(xs, (size_t)i, t);
            char one[160], sh[128] = "null";
            cli_input_str(t, one, sizeof one);
            if (t)
                lam_shape_str(lam_tensor_ndim(t), lam_tensor_shape(t), sh, sizeof sh);
            size_t l = strlen(in_shape), lj = strlen(in_json), ld = strlen(in_dtypes);
            snprintf(in_shape + l, sizeof in_shape - l, "%s%s", i ? ", " : "", one);
            snprintf(in_json + lj, sizeof in_json - lj, "%s%s", i ? ", " : "", sh);
            snprintf(in_dtypes + ld, sizeof in_dtypes - ld, "%s%s%s%s", i ? ", " : "",
                     t ? "\"" : "", t ? lam_dtype_name(lam_tensor_dtype(t)) : "null",
                     t ? "\"" : "");
            lam_tensor_release(t);
        }
        strcat(in_json, "]");
        strcat(in_dtypes, "]");
    }
    if (st) {
        rc = cli_fail_status(st, "input");
        goto done;
    }
    bool cond = c.condition;
    for (long long i = 0; i < warmup || i == 0; i++) {
        st = xs ? lam_module_forward_multi(m, xs, cond ? &cond : NULL, &y, &ys)
                : lam_module_forward_args(m, x, cond ? &cond : NULL, &y);
        if (st != LAM_OK) {
            rc = cli_fail_status(st, "forward");
            goto done;
        }
        lam_tensor_release(y);
        lam_tuple_release(ys);
        y = NULL;
        ys = NULL;
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
        st = xs ? lam_module_forward_multi(m, xs, cond ? &cond : NULL, &y, &ys)
                : lam_module_forward_args(m, x, cond ? &cond : NULL, &y);
        if (st != LAM_OK) {
            rc = cli_fail_status(st, "forward");
            goto done;
        }
        t = now();
        lam_tensor_release(y);
        lam_tuple_release(ys);
        y = NULL;
        ys = NULL;
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
        printf(", \"batch\": %lld, \"input_shape\": %s, \"input_dtypes\": %s, \"threads\": %d, "
               "\"isa\": \"%s\", \"iterations\": %zu, \"seconds\": %.3f, "
               "\"samples_per_second\": %.1f, \"gflops\": %.3f, \"latency_ms\": {\"p50\": %.4f, "
               "\"p90\": %.4f, \"p99\": %.4f, \"min\": %.4f, \"max\": %.4f}}\n",
               batch, in_json, in_dtypes, lam_get_num_threads(), lam_kernel_isa(), n, total, sps,
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
    lam_tuple_release(xs);
    lam_module_release(m);
#ifdef LAM_HAVE_MPI
    if (mpi)
        rc = cli_mpi_bench_end(rc);
#endif
out:
    free(a.shapes);
    cli_common_free(&c);
    return rc;
}
