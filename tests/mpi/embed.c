/* <lamina/mpi.h> from a user's own MPI program (run by mpi-run.sh under
 * mpirun with 1-4 ranks):
 *   - lam_mpi_split_rows: contiguous ranges in rank order whose sizes differ
 *     by at most one (the first total % n ranks get the extra row), that
 *     cover [0, total) exactly -- for many totals and rank counts;
 *   - lam_mpi_agree: everyone learns the lowest failing rank; the failing
 *     rank keeps its status, the others get LAM_ERR_RUNTIME "rank R failed";
 *   - lam_mpi_run on a sub-communicator (the even ranks) with a model built
 *     in C: the file equals lam_npy_save of lam_module_forward over the
 *     whole input in one process;
 *   - argument errors, the same on every rank.
 *
 *   embed INPUT.npy OUTDIR     (exit 0 when every check passed on every rank) */
#include <lamina/lamina.h>
#include <lamina/mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size, failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "rank %d: FAIL %s:%d: ", rank, __FILE__, __LINE__);                    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void check_split(void)
{
    static const int64_t totals[] = {0, 1, 2, 3, 7, 8, 1003, 262144, ((int64_t)1 << 40) + 3};
    for (size_t t = 0; t < sizeof totals / sizeof *totals; t++)
        for (int n = 1; n <= 9; n++) {
            int64_t next = 0, q = totals[t] / n, r = totals[t] % n;
            for (int k = 0; k < n; k++) {
                int64_t b, c;
                lam_mpi_split_rows(totals[t], n, k, &b, &c);
                CHECK(b == next, "split %lld/%d rank %d: begins at %lld, not %lld", (long long)totals[t], n, k,
                      (long long)b, (long long)next);
                CHECK(c == q + (k < r), "split %lld/%d rank %d: %lld rows", (long long)totals[t], n, k,
                      (long long)c);
                next = b + c;
            }
            CHECK(next == totals[t], "split %lld/%d covers %lld rows", (long long)totals[t], n, (long long)next);
        }
    int64_t b = 5, c = 5;
    lam_mpi_split_rows(10, 0, 0, &b, &c);
    CHECK(b == 0 && c == 0, "0 ranks: [%lld, +%lld)", (long long)b, (long long)c);
    lam_mpi_split_rows(10, 2, 2, &b, &c);
    CHECK(b == 0 && c == 0, "rank 2 of 2: [%lld, +%lld)", (long long)b, (long long)c);
    lam_mpi_split_rows(-1, 2, 0, &b, &c);
    CHECK(b == 0 && c == 0, "-1 rows: [%lld, +%lld)", (long long)b, (long long)c);
}

static void check_agree(void)
{
    int failed = 7;
    CHECK(lam_mpi_agree(MPI_COMM_WORLD, LAM_OK, &failed) == LAM_OK && failed == -1, "all OK: failed %d", failed);
    /* the last rank and, with 3 or more, rank 1 fail: the lowest is reported */
    int low = size >= 3 ? 1 : size - 1;
    bool fails = rank == size - 1 || (size >= 3 && rank == 1);
    lam_status st = lam_mpi_agree(MPI_COMM_WORLD, fails ? LAM_ERR_IO : LAM_OK, &failed);
    CHECK(failed == low, "failed_rank %d, expected %d", failed, low);
    if (fails) {
        CHECK(st == LAM_ERR_IO, "a failing rank got %s", lam_status_str(st));
    } else {
        char want[32];
        snprintf(want, sizeof want, "rank %d failed", low);
        CHECK(st == LAM_ERR_RUNTIME && !strcmp(lam_mpi_last_error(), want), "got %s \"%s\"", lam_status_str(st),
              lam_mpi_last_error());
    }
}

static lam_module *model(void)
{
    lam_module *l, *a, *seq;
    lam_manual_seed(42); /* the same weights on every rank */
    if (lam_linear_create(&l, 10, 4, true) || lam_tanh_create(&a))
        return NULL;
    lam_module *mods[] = {l, a};
    lam_status st = lam_sequential_create(&seq, 2, mods);
    lam_module_release(l);
    lam_module_release(a);
    return st ? NULL : seq;
}

static bool same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        same = x == y;
        if (x == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void check_run(const char *input, const char *dir)
{
    lam_module *m = model();
    CHECK(m, "model: %s", lam_last_error());
    if (!m)
        return;
    char out[4096], ref[4096];
    snprintf(out, sizeof out, "%s/embed-even.npy", dir);
    snprintf(ref, sizeof ref, "%s/embed-ref.npy", dir);
    /* only the even ranks run: any communicator works */
    MPI_Comm even;
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &even);
    if (rank % 2 == 0) {
        const char *inputs[] = {input};
        lam_mpi_run_options opt = {.chunk_rows = 3};
        lam_mpi_run_stats stats;
        lam_status st = lam_mpi_run(even, m, 1, inputs, out, &opt, &stats);
        CHECK(st == LAM_OK, "lam_mpi_run: %s", lam_mpi_last_error());
        CHECK(stats.chunk_rows == 3 || stats.rows < 3, "chunk_rows %lld", (long long)stats.chunk_rows);
        /* argument errors: every rank alike, no collective needed */
        st = lam_mpi_run(even, NULL, 1, inputs, out, NULL, NULL);
        CHECK(st == LAM_ERR_INVALID_ARGUMENT && strstr(lam_mpi_last_error(), "lam_mpi_run: m is NULL"), "NULL m: %s",
              lam_mpi_last_error());
        st = lam_mpi_run(even, m, 0, inputs, out, NULL, &stats);
        CHECK(st == LAM_ERR_INVALID_ARGUMENT && stats.failed_here, "no inputs: %s", lam_mpi_last_error());
        /* a missing input: every rank of the group fails, no file left */
        const char *missing[] = {"/nonexistent/x.npy"};
        st = lam_mpi_run(even, m, 1, missing, ref, NULL, &stats);
        CHECK(st == LAM_ERR_IO && stats.failed_here && stats.failed_rank == 0, "missing input: %s %s",
              lam_status_str(st), lam_mpi_last_error());
    }
    MPI_Comm_free(&even);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        lam_tensor *x = NULL, *y = NULL;
        CHECK(lam_npy_load(input, &x) == LAM_OK && lam_module_forward(m, x, &y) == LAM_OK &&
                  lam_npy_save(ref, y) == LAM_OK,
              "one process: %s", lam_last_error());
        CHECK(same_file(out, ref), "%s differs from %s", out, ref);
        lam_tensor_release(x);
        lam_tensor_release(y);
    }
    lam_module_release(m);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 3) {
        fprintf(stderr, "usage: embed INPUT.npy OUTDIR\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    check_split();
    check_agree();
    check_run(argv[1], argv[2]);
    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Finalize();
    return all ? 1 : 0;
}
