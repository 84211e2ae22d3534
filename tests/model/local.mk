# tests/model/ — .lam model files, weights loading and the `lamina` command.
# Fixtures (tests/model/fixtures, tests/model/malformed) come from
# tools/gen-model-fixtures.py (PyTorch) and are committed; the tests need no
# PyTorch.  tests/model/corpus seeds the fuzz target fuzz/fuzz_model.c.
AM_TESTS_ENVIRONMENT += MODEL_TESTS_DIR='$(abs_top_srcdir)/tests/model'; export MODEL_TESTS_DIR; \
	LAMINA_BIN='$(abs_top_builddir)/tools/lamina'; export LAMINA_BIN; \
	NPY_COMPARE='$(abs_top_builddir)/tests/model/npy-compare'; export NPY_COMPARE; \
	ODD_PLUGIN='$(abs_top_builddir)/tests/model/.libs/odd_strings.so'; export ODD_PLUGIN; \
	TESTTYPES_PLUGIN='$(abs_top_builddir)/tests/plugins/.libs/testtypes.so'; export TESTTYPES_PLUGIN;

EXTRA_DIST += tests/model/fixtures tests/model/malformed tests/model/corpus \
	tests/model/cli-roundtrip.sh tests/model/cli-errors.sh tests/model/export-with-torch.sh \
	tests/model/export-transformer.sh

model_test_cppflags = $(AM_CPPFLAGS) -DMODEL_TESTS_DIR='"$(abs_top_srcdir)/tests/model"'
model_test_helpers = tests/model/modeltest.c tests/model/modeltest.h

check_PROGRAMS += tests/model/npy-compare
tests_model_npy_compare_SOURCES = tests/model/npy-compare.c $(model_test_helpers)
tests_model_npy_compare_CPPFLAGS = $(model_test_cppflags)
tests_model_npy_compare_LDFLAGS = -no-install
tests_model_npy_compare_LDADD = liblamina.la $(LIBM)
TESTS += tests/model/cli-roundtrip.sh tests/model/cli-errors.sh tests/model/export-with-torch.sh \
	tests/model/export-transformer.sh

# a plugin with control bytes in its strings, for `lamina info` (cli-errors.sh);
# outside tests/plugins so that the plugin-path listings there do not see it
check_LTLIBRARIES += tests/model/odd_strings.la
tests_model_odd_strings_la_SOURCES = tests/model/odd_strings.c
tests_model_odd_strings_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
tests_model_odd_strings_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_model_odd_strings_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS) -rpath /nowhere

if HAVE_CRITERION
check_PROGRAMS += tests/model/test_model_syntax tests/model/test_model_fixtures \
	tests/model/test_model_malformed
TESTS += tests/model/test_model_syntax tests/model/test_model_fixtures \
	tests/model/test_model_malformed

model_test_cflags = $(AM_CFLAGS) $(CRITERION_CFLAGS)
model_test_ldadd = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_model_test_model_syntax_SOURCES = tests/model/test_model_syntax.c $(model_test_helpers)
tests_model_test_model_syntax_CPPFLAGS = $(model_test_cppflags)
tests_model_test_model_syntax_CFLAGS = $(model_test_cflags)
tests_model_test_model_syntax_LDFLAGS = -no-install
tests_model_test_model_syntax_LDADD = $(model_test_ldadd)

tests_model_test_model_fixtures_SOURCES = tests/model/test_model_fixtures.c $(model_test_helpers)
tests_model_test_model_fixtures_CPPFLAGS = $(model_test_cppflags)
tests_model_test_model_fixtures_CFLAGS = $(model_test_cflags)
tests_model_test_model_fixtures_LDFLAGS = -no-install
tests_model_test_model_fixtures_LDADD = $(model_test_ldadd)

tests_model_test_model_malformed_SOURCES = tests/model/test_model_malformed.c $(model_test_helpers)
tests_model_test_model_malformed_CPPFLAGS = $(model_test_cppflags)
tests_model_test_model_malformed_CFLAGS = $(model_test_cflags)
tests_model_test_model_malformed_LDFLAGS = -no-install
tests_model_test_model_malformed_LDADD = $(model_test_ldadd)
endif
