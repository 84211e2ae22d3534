/* lamina — batch inference over the ranks of an MPI communicator.
 *
 * Installed only when lamina is built with MPI (configure finds Open MPI);
 * link with -llamina-mpi -llamina and your MPI (pkg-config lamina-mpi).
 * liblamina itself has no MPI dependency: everything here lives in the
 * separate library liblamina-mpi, which uses only lamina's public API.
 *
 * The model: the rows (axis 0) of an input .npy -- one file, or several
 * shard files read as their concatenation along axis 0 -- are split into
 * contiguous ranges, one per rank, nearly equal (sizes differ by at most
 * one row; lam_mpi_split_rows), with no padding and no row read twice.
 * Each rank reads its rows a chunk at a time, runs the model on each chunk
 * and writes the output rows at their place in one output .npy, opened,
 * sized and synced collectively with MPI-IO (rank 0 writes the header; the
 * rows go with direct I/O or MPI-IO, see mpi_io_output), so the output is byte for byte what
 * `lamina run` (lam_module_forward over the whole input, saved with
 * lam_npy_save) gives in one process, for any number of ranks, threads and
 * chunk sizes.  That needs a model whose rows are independent
 * (lam_plan_rows_independent); any other model is refused.
 *
 * Errors: the functions that take a communicator are collective and
 * succeed or fail together: LAM_OK on every rank, or an error on every rank.
 * A rank where something failed gets that status and its message in
 * lam_mpi_last_error(); every other rank gets LAM_ERR_RUNTIME and "rank R
 * failed" there (R the lowest failing rank).  No output file is left
 * behind: the output is written to a temporary file next to it, which rank
 * 0 renames over the output only after every rank succeeded, and removes
 * otherwise.  A rank that dies (a signal, a node lost) cannot report:
 * mpirun then ends the job, and the temporary file is removed by the
 * on_tmpfile hook's owner (the `lamina` command removes it on SIGTERM).
 *
 * Threads: call these from one thread per rank (MPI_THREAD_FUNNELED is
 * enough; lamina's worker threads never call MPI).  lam_mpi_last_error is
 * per thread. */
#ifndef LAMINA_MPI_H
#define LAMINA_MPI_H

#include <mpi.h>
#include "module.h"

#if defined(LAMINA_BUILDING) && defined(__GNUC__)
#define LAM_MPI_API __attribute__((visibility("default")))
#else
#define LAM_MPI_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The message of this thread's last failed lam_mpi_ call: lamina's message
 * when lamina failed on this rank, "rank R failed" when another rank did.
 * Never NULL ("" before any failure). */
LAM_MPI_API const char *lam_mpi_last_error(void);

/* Rank `rank` of `nranks` gets rows [*begin, *begin + *count) of `total`:
 * the first total % nranks ranks get one row more than the others
 * (begin is the exclusive prefix sum of the counts).  Out-of-range
 * arguments (total < 0, nranks < 1, rank outside [0, nranks)) give an
 * empty range at 0. */
LAM_MPI_API void lam_mpi_split_rows(int64_t total, int nranks, int rank, int64_t *begin,
                                    int64_t *count);

/* Collective: agree on a status.  Every rank passes its own; all get
 * LAM_OK when all passed LAM_OK.  Otherwise a rank that failed gets its own
 * status back (and keeps its message), every other rank gets
 * LAM_ERR_RUNTIME with "rank R failed" in lam_mpi_last_error(), R being the
 * lowest failing rank, and *failed_rank (when not NULL) is R on every rank
 * (-1 when none failed).  LAM_ERR_RUNTIME when the MPI call itself fails. */
LAM_MPI_API lam_status lam_mpi_agree(MPI_Comm comm, lam_status local, int *failed_rank);

/* Options of lam_mpi_run; zero-initialise, then set what you need. */
typedef struct lam_mpi_run_options {
    /* rows per forward (the memory used per rank grows with it); 0 chooses
     * from the model's planned memory, see lam_mpi_default_chunk_rows */
    int64_t chunk_rows;
    /* the per-call argument for custom forwards (lam_module_forward_args) */
    void *args;
    /* called on every rank with the temporary file's name once it is
     * known, and with NULL once it is renamed or removed: a program that
     * wants to remove it when killed (a signal handler) keeps the name */
    void (*on_tmpfile)(const char *path, void *user);
    void *user;
    /* false (the default): on Linux, where the file system takes it, each
     * rank writes its output rows with direct I/O (O_DIRECT, asynchronous,
     * bypassing the page cache), and only the partial pages at the two ends
     * of its range with MPI-IO; true: every write with MPI-IO
     * (MPI_File_iwrite_at).  The bytes written are the same. */
    bool mpi_io_output;
} lam_mpi_run_options;

/* What lam_mpi_run did on this rank (seconds are wall-clock). */
typedef struct lam_mpi_run_stats {
    int64_t total_rows;        /* rows of the whole input */
    int64_t first_row, rows;   /* this rank's range */
    int64_t chunk_rows;        /* rows per forward used */
    double read_seconds;       /* waiting for input rows */
    double compute_seconds;    /* forwards */
    double write_seconds;      /* waiting for output writes */
    double seconds;            /* the whole call, on this rank */
    int failed_rank;           /* after a failure, the lowest rank that failed; else -1 */
    bool failed_here;          /* this rank failed (its message is its own, not "rank R failed") */
    bool direct_output;        /* this rank wrote its rows with direct I/O (see mpi_io_output; false
                                  when the file system refused it) */
} lam_mpi_run_stats;

/* Collective over `comm`: run `m` on the rows of the n_inputs .npy files
 * `inputs` (read as one array, concatenated along axis 0: every file has
 * the same trailing shape; at least 2 dimensions, as rows are axis 0) and
 * write the output to `output` (.npy, float32), replacing it atomically
 * (a symbolic link is followed; the old file's permission bits are kept).
 * Every rank passes the same inputs, output and options and a model of the
 * same structure and weights.  opt may be NULL (defaults); stats may be
 * NULL.  Errors as described at the top; a model whose rows are not
 * independent gives LAM_ERR_INVALID_ARGUMENT. */
LAM_MPI_API lam_status lam_mpi_run(MPI_Comm comm, lam_module *m, int n_inputs,
                                   const char *const *inputs, const char *output,
                                   const lam_mpi_run_options *opt, lam_mpi_run_stats *stats);

/* The chunk size lam_mpi_run uses when chunk_rows is 0, for inputs whose
 * rows have `ndim` - 1 trailing dimensions shape[1..] (shape[0] is
 * ignored): as many rows as fit in LAM_MPI_CHUNK_BYTES counting the input
 * chunk, two output chunks (one being written while the next is computed)
 * and the model's planned activation buffers, at least 1.  0 on error
 * (message in lam_mpi_last_error()). */
#define LAM_MPI_CHUNK_BYTES (64 << 20)
LAM_MPI_API int64_t lam_mpi_default_chunk_rows(lam_module *m, int ndim, const int64_t *shape);

#ifdef __cplusplus
}
#endif
#endif
