# tools/ — the `lamina` command and the PyTorch export script.  Included by Makefile.am.
bin_PROGRAMS += tools/lamina
tools_lamina_SOURCES = \
	tools/lamina.c \
	tools/cli/cli.h \
	tools/cli/common.c \
	tools/cli/plugins.c \
	tools/cli/run.c \
	tools/cli/summary.c \
	tools/cli/bench.c \
	tools/cli/info.c
tools_lamina_LDADD = liblamina.la $(LIBM)

# nothing else defines bin_SCRIPTS yet; make this += if Makefile.am ever does
bin_SCRIPTS = tools/lamina-export
EXTRA_DIST += tools/lamina-export tools/gen-model-fixtures.py docs/model-format.md
