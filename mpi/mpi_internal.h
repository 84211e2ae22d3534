/* liblamina-mpi — internal declarations.  The library is a client of
 * liblamina's public API (plus MPI); nothing here is exported. */
#ifndef LAMINA_MPI_INTERNAL_H
#define LAMINA_MPI_INTERNAL_H

#include <lamina/lamina.h>
#include <lamina/io.h>
#include <lamina/plan.h>
#include <lamina/mpi.h>

/* Set lam_mpi_last_error() and return st. */
lam_status lam__mpi_fail(lam_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* lam_last_error() (after "what: " when what is not NULL) into lam_mpi_last_error(). */
lam_status lam__mpi_lamina_fail(lam_status st, const char *what);
/* An MPI error code's text after "what: "; returns LAM_ERR_IO. */
lam_status lam__mpi_call_fail(int err, const char *what);

#endif
