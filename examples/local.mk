# examples/ — the canonical examples as C programs.  `make examples` runs them.
EXAMPLES = examples/seed_sequential examples/seed_modulelist examples/conditional_model \
	examples/ops_forward examples/lenet5 examples/vgg
noinst_PROGRAMS += $(EXAMPLES)
examples_seed_sequential_SOURCES = examples/seed_sequential.c
examples_seed_sequential_LDADD = liblamina.la
examples_seed_sequential_LDFLAGS = -no-install
examples_seed_modulelist_SOURCES = examples/seed_modulelist.c
examples_seed_modulelist_LDADD = liblamina.la
examples_seed_modulelist_LDFLAGS = -no-install
examples_conditional_model_SOURCES = examples/conditional_model.c
examples_conditional_model_LDADD = liblamina.la
examples_conditional_model_LDFLAGS = -no-install
examples_ops_forward_SOURCES = examples/ops_forward.c
examples_ops_forward_LDADD = liblamina.la
examples_ops_forward_LDFLAGS = -no-install
examples_lenet5_SOURCES = examples/lenet5.c
examples_lenet5_LDADD = liblamina.la
examples_lenet5_LDFLAGS = -no-install
# vgg checks its output against PyTorch's (tests/fixtures/vgg, from
# tools/gen-fixtures.py's gen_vgg); `make check` runs it too.
examples_vgg_SOURCES = examples/vgg.c
examples_vgg_CPPFLAGS = $(AM_CPPFLAGS) -DVGG_FIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"'
examples_vgg_LDADD = liblamina.la $(LIBM)
examples_vgg_LDFLAGS = -no-install
TESTS += examples/vgg

# gpt: a GPT from its print(model) with the types of the plugin
# examples/plugins/gpt.c, checked against PyTorch (tests/fixtures/gpt, from
# tools/gen-fixtures.py's gen_gpt); greedy generation with a key/value
# cache.  `make check` runs it too.
noinst_PROGRAMS += examples/gpt
examples_gpt_SOURCES = examples/gpt.c
examples_gpt_CPPFLAGS = $(AM_CPPFLAGS) -DGPT_FIXTURES_DIR='"$(abs_top_srcdir)/tests/fixtures"' \
	-DGPT_PLUGIN='"$(abs_top_builddir)/examples/plugins/.libs/gpt.so"'
examples_gpt_LDADD = liblamina.la $(LIBM)
examples_gpt_LDFLAGS = -no-install
EXTRA_examples_gpt_DEPENDENCIES = examples/plugins/gpt.la
TESTS += examples/gpt
EXAMPLES += examples/gpt

.PHONY: examples
examples: $(EXAMPLES)
	@for e in $(EXAMPLES); do \
	  echo "==== $$e"; ./$$e || exit 1; echo; \
	done

# examples/plugins/gated.c — the plugin example of docs/plugins.md, built
# with <lamina/plugin_util.h> like any plugin (never installed); its model
# files and PyTorch fixtures come from examples/plugins/gated.py, and
# tests/plugins/example-gated.sh runs it (`make check`).
check_LTLIBRARIES += examples/plugins/gated.la
examples_plugins_gated_la_SOURCES = examples/plugins/gated.c
examples_plugins_gated_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
examples_plugins_gated_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
examples_plugins_gated_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS) -rpath /nowhere
EXTRA_DIST += examples/plugins/gated.py examples/plugins/gated.lam \
	examples/plugins/gated.safetensors examples/plugins/gated.input.npy \
	examples/plugins/gated.output.npy examples/plugins/gated_replaced.lam \
	examples/plugins/gated_replaced.safetensors examples/plugins/gated_replaced.input.npy \
	examples/plugins/gated_replaced.output.npy

# examples/plugins/gpt.c — the types of examples/plugins/gpt.py's GPT (GPT,
# Block, CausalSelfAttention, MLP), built like any plugin and never
# installed: their names are the example's own classes, too common to claim
# for every model in the plugin search path.  examples/gpt and
# tests/test_gpt load it by path.
check_LTLIBRARIES += examples/plugins/gpt.la
examples_plugins_gpt_la_SOURCES = examples/plugins/gpt.c
examples_plugins_gpt_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
examples_plugins_gpt_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
examples_plugins_gpt_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS) -rpath /nowhere
EXTRA_DIST += examples/plugins/gpt.py
