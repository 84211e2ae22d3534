# examples/ — the canonical examples as C programs.  `make examples` runs them.
EXAMPLES = examples/seed_sequential examples/seed_modulelist examples/conditional_model \
	examples/ops_forward
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

.PHONY: examples
examples: $(EXAMPLES)
	@for e in $(EXAMPLES); do \
	  echo "==== $$e"; ./$$e || exit 1; echo; \
	done
