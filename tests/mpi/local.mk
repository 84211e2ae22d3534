# tests/mpi/ — `lamina run --mpi` under mpirun (issue 17).  The scripts
# skip (77) when lamina was built without MPI and say why; larger-than-memory.sh
# streams an input 5 times a rank's ulimit -v every time (its 1 GB form with
# LAMINA_LARGE_TESTS=1).  Included by Makefile.am.
check_PROGRAMS += tests/mpi/npytool
tests_mpi_npytool_SOURCES = tests/mpi/npytool.c
tests_mpi_npytool_LDADD = liblamina.la
tests_mpi_npytool_LDFLAGS = -no-install
TESTS += tests/mpi/mpi-run.sh tests/mpi/larger-than-memory.sh
EXTRA_DIST += tests/mpi/mpi-run.sh tests/mpi/larger-than-memory.sh tests/mpi/lsan-openmpi.supp
AM_TESTS_ENVIRONMENT += NPYTOOL='$(abs_top_builddir)/tests/mpi/npytool'; export NPYTOOL; \
	MPIRUN='$(MPIRUN)'; export MPIRUN; LAMINA_MPI_WHY='$(MPI_WHY)'; export LAMINA_MPI_WHY;
# <lamina/mpi.h> from a program of one's own (run by mpi-run.sh)
if HAVE_MPI
check_PROGRAMS += tests/mpi/embed
tests_mpi_embed_SOURCES = tests/mpi/embed.c
tests_mpi_embed_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
tests_mpi_embed_LDADD = liblamina-mpi.la liblamina.la $(MPI_LIBS)
tests_mpi_embed_LDFLAGS = -no-install
else
EXTRA_DIST += tests/mpi/embed.c
endif
AM_TESTS_ENVIRONMENT += EMBED='$(abs_top_builddir)/tests/mpi/embed'; export EMBED;
