# mpi/ — liblamina-mpi: batch inference over an MPI communicator
# (<lamina/mpi.h>, `lamina run --mpi`).  A library of its own so that
# liblamina never depends on MPI; it uses only lamina's public API.
# Built when configure finds Open MPI.  Included by Makefile.am.
EXTRA_DIST += lamina-mpi.pc.in docs/scale-out.md
if HAVE_MPI
lib_LTLIBRARIES += liblamina-mpi.la
liblamina_mpi_la_SOURCES = mpi/mpi_internal.h mpi/common.c mpi/run.c
liblamina_mpi_la_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS) -fvisibility=hidden
liblamina_mpi_la_LDFLAGS = -version-info $(LAM_LT_VERSION) -no-undefined -Wl,-z,defs
liblamina_mpi_la_LIBADD = liblamina.la $(MPI_LIBS)
lamina_include_HEADERS += include/lamina/mpi.h
pkgconfig_DATA += lamina-mpi.pc
else
EXTRA_DIST += include/lamina/mpi.h mpi/mpi_internal.h mpi/common.c mpi/run.c
endif

# ranks x threads scaling table of `lamina bench --mpi` (docs/scale-out.md)
EXTRA_DIST += bench/mpi-scaling.sh
.PHONY: bench-mpi
bench-mpi: tools/lamina$(EXEEXT)
if HAVE_MPI
	LAMINA_BIN='$(abs_builddir)/tools/lamina' MPIRUN='$(MPIRUN)' $(SHELL) $(srcdir)/bench/mpi-scaling.sh
else
	@echo "bench-mpi: lamina was built without MPI ($(MPI_WHY))"
endif
