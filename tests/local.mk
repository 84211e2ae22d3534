# tests/ — shared test settings.  Test programs live in the fragments below.
AM_TESTS_ENVIRONMENT = LAMINA_FIXTURES='$(abs_top_srcdir)/tests/fixtures'; export LAMINA_FIXTURES;

if HAVE_CRITERION
check_PROGRAMS += tests/test_module_api
TESTS += tests/test_module_api
tests_test_module_api_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_module_api_LDADD = liblamina.la $(CRITERION_LIBS)
tests_test_module_api_LDFLAGS = -no-install
check_PROGRAMS += tests/test_versions
TESTS += tests/test_versions
tests_test_versions_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_versions_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
tests_test_versions_LDFLAGS = -no-install
endif

# The layer and model tests again on the scalar kernels (the test oracle).
TESTS += tests/scalar-isa.sh
EXTRA_DIST += tests/scalar-isa.sh

# Models at the documented limits: 100,000 modules, LAM_MAX_MODULE_DEPTH deep.
if HAVE_CRITERION
check_PROGRAMS += tests/test_scale
TESTS += tests/test_scale
tests_test_scale_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_scale_LDADD = liblamina.la $(CRITERION_LIBS)
tests_test_scale_LDFLAGS = -no-install
endif
