# Core correctness tests: built-in layers, containers and the canonical models
# against PyTorch 1.13 fixtures (tests/fixtures, written by tools/gen-fixtures.py
# and committed, so `make check` needs no PyTorch).

# The fixtures are read from $LAMINA_FIXTURES; the compiled-in default covers
# running a test binary by hand.  Both point into the source tree, which is
# read-only under `make distcheck`: the tests only read them.
AM_TESTS_ENVIRONMENT += LAMINA_FIXTURES='$(abs_top_srcdir)/tests/fixtures'; export LAMINA_FIXTURES;

EXTRA_DIST += tools/gen-fixtures.py tools/gen-ops-fixtures.py tests/fixtures

if HAVE_CRITERION
check_PROGRAMS += tests/test_layers tests/test_containers tests/test_module_tree tests/test_models \
	tests/test_ops tests/test_norms tests/test_vision tests/test_fold tests/test_attention \
	tests/test_transformer tests/test_sequence tests/test_blocks
TESTS += tests/test_layers tests/test_containers tests/test_module_tree tests/test_models \
	tests/test_ops tests/test_norms tests/test_vision tests/test_fold tests/test_attention \
	tests/test_transformer tests/test_sequence tests/test_blocks

LAM_CORE_TEST_CPPFLAGS = $(AM_CPPFLAGS) -DLAMINA_FIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"'
LAM_CORE_TEST_SOURCES = tests/fixture.c tests/fixture.h

tests_test_norms_SOURCES = tests/test_norms.c $(LAM_CORE_TEST_SOURCES)
tests_test_norms_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_norms_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_norms_LDFLAGS = -no-install
tests_test_norms_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_fold_SOURCES = tests/test_fold.c $(LAM_CORE_TEST_SOURCES)
tests_test_fold_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_fold_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_fold_LDFLAGS = -no-install
tests_test_fold_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_blocks_SOURCES = tests/test_blocks.c $(LAM_CORE_TEST_SOURCES)
tests_test_blocks_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_blocks_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_blocks_LDFLAGS = -no-install
tests_test_blocks_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_attention_SOURCES = tests/test_attention.c $(LAM_CORE_TEST_SOURCES)
tests_test_attention_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_attention_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_attention_LDFLAGS = -no-install
tests_test_attention_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_transformer_SOURCES = tests/test_transformer.c $(LAM_CORE_TEST_SOURCES)
tests_test_transformer_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_transformer_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_transformer_LDFLAGS = -no-install
tests_test_transformer_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_sequence_SOURCES = tests/test_sequence.c $(LAM_CORE_TEST_SOURCES)
tests_test_sequence_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_sequence_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_sequence_LDFLAGS = -no-install
tests_test_sequence_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_layers_SOURCES = tests/test_layers.c $(LAM_CORE_TEST_SOURCES)
tests_test_layers_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_layers_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_layers_LDFLAGS = -no-install
tests_test_layers_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_vision_SOURCES = tests/test_vision.c $(LAM_CORE_TEST_SOURCES)
tests_test_vision_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_vision_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_vision_LDFLAGS = -no-install
tests_test_vision_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_containers_SOURCES = tests/test_containers.c $(LAM_CORE_TEST_SOURCES)
tests_test_containers_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_containers_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_containers_LDFLAGS = -no-install
tests_test_containers_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_module_tree_SOURCES = tests/test_module_tree.c $(LAM_CORE_TEST_SOURCES)
tests_test_module_tree_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_module_tree_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_module_tree_LDFLAGS = -no-install
tests_test_module_tree_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

tests_test_models_SOURCES = tests/test_models.c $(LAM_CORE_TEST_SOURCES)
tests_test_models_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_models_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_models_LDFLAGS = -no-install
tests_test_models_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)

# the tensor ops against tests/fixtures/ops (tools/gen-ops-fixtures.py)
tests_test_ops_SOURCES = tests/test_ops.c $(LAM_CORE_TEST_SOURCES)
tests_test_ops_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_ops_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_ops_LDFLAGS = -no-install
tests_test_ops_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif

# Every public function with NULL pointer arguments; the test reads the
# headers to find functions that have no row.
if HAVE_CRITERION
check_PROGRAMS += tests/test_null_args
TESTS += tests/test_null_args
tests_test_null_args_CPPFLAGS = $(AM_CPPFLAGS) -DLAMINA_INCLUDE_DIR='"$(abs_top_srcdir)/include/lamina"'
tests_test_null_args_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_null_args_LDFLAGS = -no-install
tests_test_null_args_LDADD = liblamina.la $(CRITERION_LIBS)
endif

# Zero-size inputs with huge other dims ([0, 2^62, 2^62]) through every
# built-in layer, Sequentials and plans, and the tensor ops: the right
# output or a clean error, never a signed overflow (run it under UBSan).
if HAVE_CRITERION
check_PROGRAMS += tests/test_zero_size
TESTS += tests/test_zero_size
tests_test_zero_size_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_zero_size_LDFLAGS = -no-install
tests_test_zero_size_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif

# Tensor printing against PyTorch's str(tensor) (tools/gen-print-fixtures.py).
EXTRA_DIST += tools/gen-print-fixtures.py
if HAVE_CRITERION
check_PROGRAMS += tests/test_tensor_print
TESTS += tests/test_tensor_print
tests_test_tensor_print_SOURCES = tests/test_tensor_print.c $(LAM_CORE_TEST_SOURCES)
tests_test_tensor_print_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_tensor_print_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_tensor_print_LDFLAGS = -no-install
tests_test_tensor_print_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif

# The convolution layers against PyTorch 1.13 (tests/fixtures/conv, from
# tools/gen-fixtures.py's gen_conv).
if HAVE_CRITERION
check_PROGRAMS += tests/test_conv
TESTS += tests/test_conv
tests_test_conv_SOURCES = tests/test_conv.c $(LAM_CORE_TEST_SOURCES)
tests_test_conv_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_conv_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_conv_LDFLAGS = -no-install
tests_test_conv_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif

# The recurrent layers against PyTorch 1.13 (tests/fixtures/rnn, from
# tools/gen-fixtures.py's gen_rnn).
if HAVE_CRITERION
check_PROGRAMS += tests/test_rnn
TESTS += tests/test_rnn
tests_test_rnn_SOURCES = tests/test_rnn.c $(LAM_CORE_TEST_SOURCES)
tests_test_rnn_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS)
tests_test_rnn_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_rnn_LDFLAGS = -no-install
tests_test_rnn_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
endif

# Issue 16's GPT: lam_causal_attention and the key/value cache, and
# examples/plugins/gpt.py's model with the types of examples/plugins/gpt.c
# against PyTorch (tests/fixtures/gpt, tools/gen-fixtures.py's gen_gpt).
if HAVE_CRITERION
check_PROGRAMS += tests/test_gpt
TESTS += tests/test_gpt
tests_test_gpt_SOURCES = tests/test_gpt.c $(LAM_CORE_TEST_SOURCES)
tests_test_gpt_CPPFLAGS = $(LAM_CORE_TEST_CPPFLAGS) \
	-DGPT_PLUGIN='"$(abs_top_builddir)/examples/plugins/.libs/gpt.so"'
tests_test_gpt_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_gpt_LDFLAGS = -no-install
tests_test_gpt_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
EXTRA_tests_test_gpt_DEPENDENCIES = examples/plugins/gpt.la
endif
# ... and through the lamina command (tests/gpt-cli.sh)
TESTS += tests/gpt-cli.sh
EXTRA_DIST += tests/gpt-cli.sh
AM_TESTS_ENVIRONMENT += GPT_PLUGIN='$(abs_top_builddir)/examples/plugins/.libs/gpt.so'; export GPT_PLUGIN;
