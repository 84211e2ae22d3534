# tools/ — the `lamina` command and the PyTorch export script.  Included by Makefile.am.
bin_PROGRAMS += tools/lamina
tools_lamina_SOURCES = \
	tools/lamina.c \
	tools/cli/cli.h \
	tools/cli/common.c \
	tools/cli/plugins.c \
	tools/cli/run.c \
	tools/cli/outputs.c \
	tools/cli/summary.c \
	tools/cli/bench.c \
	tools/cli/info.c
tools_lamina_LDADD = liblamina.la $(LIBM)
# the --mpi parts: linked with liblamina-mpi when configure found MPI
if HAVE_MPI
tools_lamina_SOURCES += tools/cli/mpi.c
tools_lamina_CPPFLAGS = $(AM_CPPFLAGS) -DLAM_HAVE_MPI
tools_lamina_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)
tools_lamina_LDADD += liblamina-mpi.la $(MPI_LIBS)
else
tools_lamina_CPPFLAGS = $(AM_CPPFLAGS) -DLAM_MPI_WHY='"$(MPI_WHY)"'
EXTRA_DIST += tools/cli/mpi.c
endif

# nothing else defines bin_SCRIPTS yet; make this += if Makefile.am ever does
bin_SCRIPTS = tools/lamina-export
EXTRA_DIST += tools/lamina-export tools/gen-model-fixtures.py docs/model-format.md
