# tests/plugins/ — the plugin tests: test-only plugins (one broken plugin per
# loader failure, built from one source with -DBROKEN_*, and a good plugin
# whose types fail on purpose, plugins that call back into the loader and
# plugins whose names collide), never installed; tests/test_plugins;
# tests/plugins/load_threads (the loader from several threads); and the
# out-of-tree check (`make check-plugin-outoftree`, also run by CI).
# Included by Makefile.am after plugins/local.mk.

AM_TESTS_ENVIRONMENT += LAMINA_PLUGIN_PATH='$(abs_top_builddir)/plugins/.libs:$(abs_top_builddir)/tests/plugins/.libs'; export LAMINA_PLUGIN_PATH;

LAM_TEST_PLUGIN_LDFLAGS = $(LAM_PLUGIN_LDFLAGS) -rpath /nowhere

LAM_BROKEN_PLUGINS = \
	tests/plugins/no_symbol.la tests/plugins/bad_magic.la tests/plugins/abi_major.la \
	tests/plugins/abi_minor.la tests/plugins/small_struct.la tests/plugins/null_name.la \
	tests/plugins/null_register.la tests/plugins/null_create.la tests/plugins/dup_builtin.la \
	tests/plugins/dup_plugin.la tests/plugins/register_fails.la tests/plugins/no_forward.la \
	tests/plugins/seq_forward.la tests/plugins/variant_only.la tests/plugins/unknown_flag.la \
	tests/plugins/plane_container.la

# Plugins that call back into the loader from a constructor, register_types
# or a destructor (reenter.c), and plugins whose names collide with swish's
# (collide.c): each set in its own directory, outside the search path the
# tests set, so that directory scans and probes do not meet them.
LAM_REENTER_PLUGINS = tests/plugins/reenter/reenter_ctor.la \
	tests/plugins/reenter/reenter_register.la tests/plugins/reenter/reenter_dtor.la
LAM_COLLIDE_PLUGINS = tests/plugins/collide/swishy.la tests/plugins/collide/swishier.la
LAM_TEST_DIRS_CPPFLAGS = \
	-DLAM_TEST_SHIPPED_DIR='"$(abs_top_builddir)/plugins/.libs"' \
	-DLAM_TEST_PLUGIN_DIR='"$(abs_top_builddir)/tests/plugins/.libs"' \
	-DLAM_TEST_REENTER_DIR='"$(abs_top_builddir)/tests/plugins/reenter/.libs"' \
	-DLAM_TEST_COLLIDE_DIR='"$(abs_top_builddir)/tests/plugins/collide/.libs"' \
	-DLAM_TEST_OLD_DIR='"$(abs_top_builddir)/tests/plugins/old/.libs"'

# A built-in type that cannot register (an allocation failure while the
# registry starts) is logged and named by lam_module_create (own main: it
# replaces malloc).
check_PROGRAMS += tests/plugins/builtin_register
TESTS += tests/plugins/builtin_register
tests_plugins_builtin_register_SOURCES = tests/plugins/builtin_register.c
tests_plugins_builtin_register_LDFLAGS = -no-install
tests_plugins_builtin_register_LDADD = liblamina.la

# The loader from several threads (a plain program, also run under TSan by
# `make tsan-check`): built with or without Criterion.
check_LTLIBRARIES += tests/plugins/reenter/reenter_register.la
check_PROGRAMS += tests/plugins/load_threads
TESTS += tests/plugins/load_threads
EXTRA_tests_plugins_load_threads_DEPENDENCIES = plugins/swish.la plugins/rmsnorm.la \
	plugins/containers.la tests/plugins/reenter/reenter_register.la
tests_plugins_load_threads_SOURCES = tests/plugins/load_threads.c
tests_plugins_load_threads_CPPFLAGS = $(AM_CPPFLAGS) $(LAM_TEST_DIRS_CPPFLAGS)
tests_plugins_load_threads_LDFLAGS = -no-install
tests_plugins_load_threads_LDADD = liblamina.la -lpthread

tests_plugins_reenter_reenter_register_la_SOURCES = tests/plugins/reenter.c
tests_plugins_reenter_reenter_register_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DREENTER_REGISTER
tests_plugins_reenter_reenter_register_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_reenter_reenter_register_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

EXTRA_DIST += tests/plugin-outoftree.sh

# GatedResidual, a plugin container for the executor's tests (allocation
# counts, plans) and bench/bench_models (issue 11.2), built with Criterion or
# not.  In a directory of its own, outside the search path the tests set
# (the tests load it by path: LAM_TEST_GATED_PLUGIN).
check_LTLIBRARIES += tests/plugins/gated/gated.la
tests_plugins_gated_gated_la_SOURCES = tests/plugins/gated.c
tests_plugins_gated_gated_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
tests_plugins_gated_gated_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_gated_gated_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)
LAM_TEST_GATED_CPPFLAGS = \
	-DLAM_TEST_GATED_PLUGIN='"$(abs_top_builddir)/tests/plugins/gated/.libs/gated.so"'

if HAVE_CRITERION
check_LTLIBRARIES += $(LAM_BROKEN_PLUGINS) tests/plugins/testtypes.la tests/plugins/old/old_flags.la \
	tests/plugins/reenter/reenter_ctor.la tests/plugins/reenter/reenter_dtor.la \
	$(LAM_COLLIDE_PLUGINS)

tests_plugins_testtypes_la_SOURCES = tests/plugins/testtypes.c
tests_plugins_testtypes_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
tests_plugins_testtypes_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_testtypes_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_no_symbol_la_SOURCES = tests/plugins/broken.c
tests_plugins_no_symbol_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_NO_SYMBOL
tests_plugins_no_symbol_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_no_symbol_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_bad_magic_la_SOURCES = tests/plugins/broken.c
tests_plugins_bad_magic_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_BAD_MAGIC -DBROKEN_NAME='"bad_magic"'
tests_plugins_bad_magic_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_bad_magic_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_abi_major_la_SOURCES = tests/plugins/broken.c
tests_plugins_abi_major_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_ABI_MAJOR -DBROKEN_NAME='"abi_major"'
tests_plugins_abi_major_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_abi_major_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_abi_minor_la_SOURCES = tests/plugins/broken.c
tests_plugins_abi_minor_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_ABI_MINOR -DBROKEN_NAME='"abi_minor"'
tests_plugins_abi_minor_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_abi_minor_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_small_struct_la_SOURCES = tests/plugins/broken.c
tests_plugins_small_struct_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_SMALL_STRUCT -DBROKEN_NAME='"small_struct"'
tests_plugins_small_struct_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_small_struct_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_null_name_la_SOURCES = tests/plugins/broken.c
tests_plugins_null_name_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_NULL_NAME
tests_plugins_null_name_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_null_name_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_null_register_la_SOURCES = tests/plugins/broken.c
tests_plugins_null_register_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_NULL_REGISTER -DBROKEN_NAME='"null_register"'
tests_plugins_null_register_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_null_register_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_null_create_la_SOURCES = tests/plugins/broken.c
tests_plugins_null_create_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_NULL_CREATE -DBROKEN_NAME='"null_create"'
tests_plugins_null_create_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_null_create_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_dup_builtin_la_SOURCES = tests/plugins/broken.c
tests_plugins_dup_builtin_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_DUP_BUILTIN -DBROKEN_NAME='"dup_builtin"'
tests_plugins_dup_builtin_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_dup_builtin_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_dup_plugin_la_SOURCES = tests/plugins/broken.c
tests_plugins_dup_plugin_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_DUP_PLUGIN -DBROKEN_NAME='"dup_plugin"'
tests_plugins_dup_plugin_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_dup_plugin_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_register_fails_la_SOURCES = tests/plugins/broken.c
tests_plugins_register_fails_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_REGISTER_FAILS -DBROKEN_NAME='"register_fails"'
tests_plugins_register_fails_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_register_fails_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_no_forward_la_SOURCES = tests/plugins/broken.c
tests_plugins_no_forward_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_NO_FORWARD -DBROKEN_NAME='"no_forward"'
tests_plugins_no_forward_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_no_forward_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_seq_forward_la_SOURCES = tests/plugins/broken.c
tests_plugins_seq_forward_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_SEQ_FORWARD -DBROKEN_NAME='"seq_forward"'
tests_plugins_seq_forward_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_seq_forward_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_variant_only_la_SOURCES = tests/plugins/broken.c
tests_plugins_variant_only_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_VARIANT_ONLY -DBROKEN_NAME='"variant_only"'
tests_plugins_variant_only_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_variant_only_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_unknown_flag_la_SOURCES = tests/plugins/broken.c
tests_plugins_unknown_flag_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_UNKNOWN_FLAG -DBROKEN_NAME='"unknown_flag"'
tests_plugins_unknown_flag_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_unknown_flag_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_plane_container_la_SOURCES = tests/plugins/broken.c
tests_plugins_plane_container_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_PLANE_CONTAINER -DBROKEN_NAME='"plane_container"'
tests_plugins_plane_container_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_plane_container_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

# not broken: built for ABI 1.6, with flag bits and a slot 1.6 did not use
# (a good plugin: in a directory of its own, outside the search path)
tests_plugins_old_old_flags_la_SOURCES = tests/plugins/broken.c
tests_plugins_old_old_flags_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DBROKEN_OLD_FLAGS -DBROKEN_NAME='"old_flags"'
tests_plugins_old_old_flags_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_old_old_flags_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_reenter_reenter_ctor_la_SOURCES = tests/plugins/reenter.c
tests_plugins_reenter_reenter_ctor_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DREENTER_CTOR
tests_plugins_reenter_reenter_ctor_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_reenter_reenter_ctor_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_reenter_reenter_dtor_la_SOURCES = tests/plugins/reenter.c
tests_plugins_reenter_reenter_dtor_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DREENTER_DTOR
tests_plugins_reenter_reenter_dtor_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_reenter_reenter_dtor_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_collide_swishy_la_SOURCES = tests/plugins/collide.c
tests_plugins_collide_swishy_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DCOLLIDE_NAME
tests_plugins_collide_swishy_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_collide_swishy_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_collide_swishier_la_SOURCES = tests/plugins/collide.c
tests_plugins_collide_swishier_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DCOLLIDE_TYPE
tests_plugins_collide_swishier_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_collide_swishier_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

check_PROGRAMS += tests/test_plugins
TESTS += tests/test_plugins
tests_test_plugins_SOURCES = tests/test_plugins.c
tests_test_plugins_CPPFLAGS = $(AM_CPPFLAGS) $(LAM_TEST_DIRS_CPPFLAGS)
tests_test_plugins_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_plugins_LDFLAGS = -no-install
tests_test_plugins_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM) -lpthread

# plugin ABI 1.4 (Sequential types, variants, bind) through the shipped
# torchvision plugin
check_PROGRAMS += tests/test_plugin_forms
TESTS += tests/test_plugin_forms
EXTRA_tests_test_plugin_forms_DEPENDENCIES = plugins/torchvision.la
tests_test_plugin_forms_SOURCES = tests/test_plugin_forms.c
tests_test_plugin_forms_CPPFLAGS = $(AM_CPPFLAGS) $(LAM_TEST_DIRS_CPPFLAGS)
tests_test_plugin_forms_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_plugin_forms_LDFLAGS = -no-install
tests_test_plugin_forms_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

# module paths in errors (forward, output_shape, plans, plugin containers)
# and the forward hook
check_PROGRAMS += tests/test_error_paths
TESTS += tests/test_error_paths
tests_test_error_paths_SOURCES = tests/test_error_paths.c
tests_test_error_paths_CPPFLAGS = $(AM_CPPFLAGS) $(LAM_TEST_DIRS_CPPFLAGS)
tests_test_error_paths_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_error_paths_LDFLAGS = -no-install
tests_test_error_paths_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM) -lpthread
endif

# Build a plugin against the INSTALLED headers with only pkg-config's flags,
# then load and run it (tests/plugin-outoftree.sh says what it does).
.PHONY: check-plugin-outoftree
check-plugin-outoftree: all
	$(SHELL) $(top_srcdir)/tests/plugin-outoftree.sh "$(abs_top_builddir)"

if HAVE_CRITERION
check_PROGRAMS += tests/test_capabilities
TESTS += tests/test_capabilities
tests_test_capabilities_SOURCES = tests/test_capabilities.c
tests_test_capabilities_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLAM_TEST_SHIPPED_DIR='"$(abs_top_builddir)/plugins/.libs"' \
	-DLAM_TEST_PLUGIN_DIR='"$(abs_top_builddir)/tests/plugins/.libs"'
tests_test_capabilities_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_capabilities_LDFLAGS = -no-install
tests_test_capabilities_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif

# <lamina/plugin_util.h>: the guide's example (examples/plugins/gated.c,
# built by examples/local.mk) against PyTorch through the lamina command,
# and tests/test_plugin_util with a test plugin whose types drive each
# helper into its error paths (utiltypes, and util_dup whose second type
# name is taken), in a directory of their own outside the search path.
AM_TESTS_ENVIRONMENT += LAMINA_SRCDIR='$(abs_top_srcdir)'; export LAMINA_SRCDIR; \
	GATED_PLUGIN='$(abs_top_builddir)/examples/plugins/.libs/gated.so'; export GATED_PLUGIN;
TESTS += tests/plugins/example-gated.sh
EXTRA_DIST += tests/plugins/example-gated.sh

# torchvision's models through the shipped torchvision plugin, against
# PyTorch in the same run (skipped without python3-torchvision)
TESTS += tests/torchvision/models.sh
EXTRA_DIST += tests/torchvision/models.sh tests/torchvision/check.py

if HAVE_CRITERION
check_LTLIBRARIES += tests/plugins/util/utiltypes.la tests/plugins/util/util_dup.la
tests_plugins_util_utiltypes_la_SOURCES = tests/plugins/utiltypes.c
tests_plugins_util_utiltypes_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
tests_plugins_util_utiltypes_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_util_utiltypes_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

tests_plugins_util_util_dup_la_SOURCES = tests/plugins/utiltypes.c
tests_plugins_util_util_dup_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS) -DUTIL_DUP
tests_plugins_util_util_dup_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
tests_plugins_util_util_dup_la_LDFLAGS = $(LAM_TEST_PLUGIN_LDFLAGS)

check_PROGRAMS += tests/test_plugin_util
TESTS += tests/test_plugin_util
tests_test_plugin_util_SOURCES = tests/test_plugin_util.c
tests_test_plugin_util_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLAM_TEST_UTIL_DIR='"$(abs_top_builddir)/tests/plugins/util/.libs"' \
	-DLAM_TEST_GATED='"$(abs_top_builddir)/examples/plugins/.libs/gated.so"' \
	-DLAM_TEST_EXAMPLES_DIR='"$(abs_top_srcdir)/examples/plugins"'
tests_test_plugin_util_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_plugin_util_LDFLAGS = -no-install
tests_test_plugin_util_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif
