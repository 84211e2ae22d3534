/* liblamina-mpi — the error message, the row split and status agreement.
 *
 * This library uses only lamina's public API (and MPI): liblamina has no
 * MPI dependency, and a program that does not use MPI never loads it. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mpi/mpi_internal.h"

static _Thread_local char last_error[1024];

LAM_MPI_API const char *lam_mpi_last_error(void) { return last_error; }

lam_status lam__mpi_fail(lam_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

lam_status lam__mpi_lamina_fail(lam_status st, const char *what)
{
    if (what)
        return lam__mpi_fail(st, "%s: %s", what, lam_last_error());
    return lam__mpi_fail(st, "%s", lam_last_error());
}

lam_status lam__mpi_call_fail(int err, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "MPI error %d", err);
    return lam__mpi_fail(LAM_ERR_IO, "%s: %s", what, msg);
}

LAM_MPI_API void lam_mpi_split_rows(int64_t total, int nranks, int rank, int64_t *begin, int64_t *count)
{
    int64_t b = 0, n = 0;
    if (total > 0 && nranks >= 1 && rank >= 0 && rank < nranks) {
        int64_t q = total / nranks, r = total % nranks;
        b = q * rank + (rank < r ? rank : r);
        n = q + (rank < r ? 1 : 0);
    }
    if (begin)
        *begin = b;
    if (count)
        *count = n;
}

LAM_MPI_API lam_status lam_mpi_agree(MPI_Comm comm, lam_status local, int *failed_rank)
{
    int rank = 0, size = 1;
    if (failed_rank)
        *failed_rank = -1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &size) != MPI_SUCCESS)
        return lam__mpi_fail(LAM_ERR_RUNTIME, "lam_mpi_agree: not a valid communicator");
    /* the lowest failing rank: MIN over (failed ? rank : size) */
    int mine = local != LAM_OK ? rank : size, low = size;
    int err = MPI_Allreduce(&mine, &low, 1, MPI_INT, MPI_MIN, comm);
    if (err != MPI_SUCCESS) {
        lam__mpi_call_fail(err, "lam_mpi_agree: MPI_Allreduce");
        return LAM_ERR_RUNTIME;
    }
    if (low == size)
        return LAM_OK;
    if (failed_rank)
        *failed_rank = low;
    if (local != LAM_OK)
        return local; /* this rank's own message stays */
    lam__mpi_fail(LAM_ERR_RUNTIME, "rank %d failed", low);
    return LAM_ERR_RUNTIME;
}
