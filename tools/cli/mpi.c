/* lamina run --mpi / bench --mpi — the command's side of an MPI job.
 *
 * Built only when configure finds MPI; the work is in liblamina-mpi
 * (<lamina/mpi.h>).  Here: MPI_Init/MPI_Finalize, rank-prefixed messages,
 * the warning about a rank bound to one core with several threads, removing
 * the temporary output when mpirun ends the job with SIGTERM (a rank was
 * killed), and the bench's synchronised timing windows. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "tools/cli/cli.h"
#include <lamina/mpi.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rank, nranks;

/* the temporary output, removed by the signal handler */
static char tmp_path[PATH_MAX + 64];
static volatile sig_atomic_t have_tmp;

static void on_signal(int sig)
{
    (void)sig;
    if (have_tmp)
        unlink(tmp_path); /* async-signal-safe */
    _exit(CLI_FAIL);
}

/* Open MPI may end a rank with exit() when a peer dies (its runtime's
 * abort), before mpirun's SIGTERM arrives: remove the file then too. */
static void remove_tmp_at_exit(void)
{
    if (have_tmp)
        unlink(tmp_path);
}

static void on_tmpfile(const char *path, void *user)
{
    (void)user;
    have_tmp = 0;
    if (path) {
        snprintf(tmp_path, sizeof tmp_path, "%s", path);
        have_tmp = 1;
    }
}

static int mpi_init(void)
{
    int provided, err = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (err != MPI_SUCCESS)
        return cli_fail("MPI_Init failed (error %d)", err);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    snprintf(cli_prefix, sizeof cli_prefix, "lamina: rank %d", rank);
    cli_log_start(); /* the library's messages (the kernel choice first) with the prefix */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    atexit(remove_tmp_at_exit);
    return CLI_OK;
}

/* Every rank's exit code from its own: CLI_OK when all are, else CLI_FAIL;
 * rank 0, when it did not fail itself, says which rank did (the failing
 * rank has printed its message). */
static int mpi_agree(int rc)
{
    int failed;
    if (lam_mpi_agree(MPI_COMM_WORLD, rc ? LAM_ERR_RUNTIME : LAM_OK, &failed) == LAM_OK)
        return CLI_OK;
    if (!rc && rank == 0)
        cli_fail("stopped: rank %d failed (its message is above); nothing was written", failed);
    return rc ? rc : CLI_FAIL;
}

static int affinity_cores(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 0;
}

static bool env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* The thread count of a rank: --threads, LAMINA_NUM_THREADS or
 * OMP_NUM_THREADS when given; otherwise the cores this rank may run on
 * (Open MPI binds each rank to one core by default when there are at most
 * 2 ranks; the library's own default follows the affinity mask too, and
 * this says so explicitly for the rank).  A count given explicitly beyond
 * the cores of a rank bound to one gets a warning. */
static int rank_threads(const cli_common *c)
{
    int cores = affinity_cores();
    bool asked = c->threads > 0 || env_set("LAMINA_NUM_THREADS") || env_set("OMP_NUM_THREADS");
    if (!asked)
        return cores > 0 ? cores : 0;
    int threads = c->threads > 0 ? c->threads : lam_get_num_threads();
    if (threads > 1 && cores == 1) {
        char msg[512];
        snprintf(msg, sizeof msg, "this rank is bound to one core but runs %d threads, which will share it: "
                 "start mpirun with --bind-to none, or --map-by ppr:N:socket:pe=%d with OMP_PLACES=cores "
                 "OMP_PROC_BIND=close (docs/scale-out.md)", threads, threads);
        cli_log(LAM_LOG_WARNING, msg, NULL);
    }
    return c->threads;
}

/* "VmPeak 123456 kB, VmHWM 2345 kB" from /proc/self/status (Linux), or "" */
static void memory_peaks(char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen("/proc/self/status", "re");
    if (!f)
        return;
    char line[256], peak[40] = "", hwm[40] = "";
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "VmPeak:", 7))
            snprintf(peak, sizeof peak, "%s", line + 7 + strspn(line + 7, " \t"));
        else if (!strncmp(line, "VmHWM:", 6))
            snprintf(hwm, sizeof hwm, "%s", line + 6 + strspn(line + 6, " \t"));
    }
    fclose(f);
    if (*peak)
        snprintf(buf, size, "; peak address space %s, peak resident %s", peak, hwm);
}

static int mpi_finish(int rc)
{
    MPI_Finalize();
    return rc;
}

void cli_mpi_library(char *buf, size_t size)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (MPI_Get_library_version(v, &len) != MPI_SUCCESS)
        len = 0;
    v[len < (int)sizeof v ? len : (int)sizeof v - 1] = '\0';
    v[strcspn(v, ",\n")] = '\0'; /* "Open MPI v4.1.4" */
    snprintf(buf, size, "%s", v);
}

int cli_mpi_run(const cli_common *c, int n_inputs, const char **inputs, const char *output,
                long long chunk_rows, bool mpi_io)
{
    if (!output)
        return cli_usage("run", "--mpi needs --output Y.npy (every rank writes its rows there)");
    if (!strcmp(output, "-"))
        return cli_usage("run", "--mpi writes a file: --output - (standard output) cannot take it");
    int rc = mpi_init();
    if (rc)
        return rc;
    lam_module *m = NULL;
    cli_common rc_common = *c;
    rc_common.threads = rank_threads(c);
    rc = mpi_agree(cli_load_model(&rc_common, &m));
    if (rc)
        goto out;
    bool condition = c->condition;
    /* without --condition, custom forwards get no per-call argument (NULL) */
    lam_mpi_run_options opt = {.chunk_rows = chunk_rows, .args = condition ? &condition : NULL,
                               .on_tmpfile = on_tmpfile, .mpi_io_output = mpi_io};
    lam_mpi_run_stats stats;
    lam_status st = lam_mpi_run(MPI_COMM_WORLD, m, n_inputs, inputs, output, &opt, &stats);
    if (st) {
        if (stats.failed_here)
            cli_fail("%s", lam_mpi_last_error());
        else if (rank == 0)
            cli_fail("stopped: %s (its message is above); nothing was written", lam_mpi_last_error());
        rc = CLI_FAIL;
    } else if (getenv("LAMINA_VERBOSE") && *getenv("LAMINA_VERBOSE") && strcmp(getenv("LAMINA_VERBOSE"), "0")) {
        char line[768], mem[160];
        memory_peaks(mem, sizeof mem);
        snprintf(line, sizeof line, "rows [%lld, %lld) of %lld in chunks of %lld, %d thread%s: read %.3f s, "
                 "compute %.3f s, write %.3f s (%s), total %.3f s%s", (long long)stats.first_row,
                 (long long)(stats.first_row + stats.rows), (long long)stats.total_rows,
                 (long long)stats.chunk_rows, lam_get_num_threads(), lam_get_num_threads() == 1 ? "" : "s",
                 stats.read_seconds, stats.compute_seconds, stats.write_seconds,
                 stats.direct_output ? "direct I/O" : "MPI-IO", stats.seconds, mem);
        cli_log(LAM_LOG_INFO, line, NULL);
    }
out:
    lam_module_release(m);
    return mpi_finish(rc);
}

int cli_mpi_bench_begin(cli_common *c)
{
    int rc = mpi_init();
    if (rc == CLI_OK)
        c->threads = rank_threads(c);
    return rc;
}

int cli_mpi_bench_agree(int rc)
{
    return mpi_agree(rc);
}

int cli_mpi_bench_end(int rc)
{
    return mpi_finish(rc);
}

/* The synchronised window: after a barrier every rank runs forwards until
 * `seconds` have passed on its clock; the aggregate rate is all samples
 * over the longest rank's time (the window closes when the last rank's
 * last forward ends). */
int cli_mpi_bench_measure(const cli_bench_run *b)
{
    lam_tensor *y = NULL;
    bool cond = b->condition;
    lam_status st = LAM_OK;
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime(), t = t0, last_progress = t0;
    long long n = 0;
    bool tty = rank == 0 && isatty(2) && !b->json;
    while (t - t0 < b->seconds) {
        if ((st = lam_module_forward_args(b->m, b->x, cond ? &cond : NULL, &y)) != LAM_OK)
            break;
        lam_tensor_release(y);
        y = NULL;
        n++;
        t = MPI_Wtime();
        if (tty && t - last_progress > 0.5) {
            fprintf(stderr, "\rbench: %.1f/%.1f s, rank 0: %.0f samples/s (x %d ranks ~ %.0f)   ", t - t0,
                    b->seconds, (double)n * (double)b->batch / (t - t0), nranks,
                    (double)n * (double)b->batch / (t - t0) * nranks);
            last_progress = t;
        }
    }
    if (tty)
        fprintf(stderr, "\r%70s\r", "");
    int rc = st ? cli_fail_status(st, "forward") : CLI_OK;
    if ((rc = mpi_agree(rc)) != CLI_OK)
        return rc;
    double mine[2] = {(double)n * (double)b->batch, t - t0};
    double *all = rank == 0 ? malloc(2 * sizeof(double) * (size_t)nranks) : NULL;
    if (rank == 0 && !all) {
        MPI_Abort(MPI_COMM_WORLD, CLI_FAIL); /* nothing else can end a collective cleanly here */
        return CLI_FAIL;
    }
    MPI_Gather(mine, 2, MPI_DOUBLE, all, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank != 0)
        return CLI_OK;
    double samples = 0, window = 0;
    for (int r = 0; r < nranks; r++) {
        samples += all[2 * r];
        window = all[2 * r + 1] > window ? all[2 * r + 1] : window;
    }
    int threads = lam_get_num_threads();
    if (b->json) {
        fputs("{\"model\": ", stdout);
        cli_json_string(stdout, b->model);
        printf(", \"batch\": %lld, \"input_shape\": %s, \"ranks\": %d, \"threads_per_rank\": %d, \"isa\": \"%s\", "
               "\"seconds\": %.3f, \"samples_per_second\": %.1f, \"gflops\": %.3f, \"per_rank\": [",
               b->batch, b->in_shape, nranks, threads, lam_kernel_isa(), window, samples / window,
               b->flops_per_row * samples / window / 1e9);
        for (int r = 0; r < nranks; r++)
            printf("%s{\"rank\": %d, \"samples\": %.0f, \"seconds\": %.3f, \"samples_per_second\": %.1f}",
                   r ? ", " : "", r, all[2 * r], all[2 * r + 1], all[2 * r] / all[2 * r + 1]);
        printf("]}\n");
    } else {
        printf("model:        %s\n", b->model);
        printf("input:        %s (batch %lld) per rank, %d rank%s x %d thread%s, %s kernels\n", b->in_shape,
               b->batch, nranks, nranks == 1 ? "" : "s", threads, threads == 1 ? "" : "s", lam_kernel_isa());
        printf("throughput:   %.1f samples/s over all ranks (%.2f s window), %.3f GFLOP/s\n",
               samples / window, window, b->flops_per_row * samples / window / 1e9);
        for (int r = 0; r < nranks; r++)
            printf("  rank %-4d   %.1f samples/s (%.0f samples in %.2f s)\n", r, all[2 * r] / all[2 * r + 1],
                   all[2 * r], all[2 * r + 1]);
    }
    free(all);
    return CLI_OK;
}
