# bench/ — the throughput benchmark suite (issue 7): `make bench` (full) and
# `make bench-quick` build what they need and run bench/run, which measures
# the machine's limits, runs bench/kernels/bench_kernels, times the models
# against PyTorch and writes bench-results/<date>.json, bench-results/latest.md
# and plots.  See docs/benchmarks.md.  Benchmarks report figures; they never
# run under `make check` and never fail on time.
#
# The programs are EXTRA_PROGRAMS: built by the bench targets, not by `make all`.
EXTRA_PROGRAMS += bench/limits bench/bench_models
BENCH_BINS = bench/limits$(EXEEXT) bench/bench_models$(EXEEXT)
CLEANFILES += $(BENCH_BINS)

bench_limits_SOURCES = bench/limits.c
bench_limits_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS) -O3
bench_limits_CPPFLAGS = $(AM_CPPFLAGS)
bench_limits_LDFLAGS = -no-install $(OPENMP_CFLAGS)
bench_limits_LDADD = $(LIBS)
if HAVE_OPENBLAS
bench_limits_CPPFLAGS += -DHAVE_OPENBLAS_BENCH
bench_limits_LDADD += -lopenblas
endif
if HAVE_DNNL
bench_limits_CPPFLAGS += -DHAVE_DNNL_BENCH
bench_limits_LDADD += -ldnnl
endif

# Public headers only, as a user's program would build.
bench_bench_models_SOURCES = bench/bench_models.c
bench_bench_models_CPPFLAGS = -I$(top_srcdir)/include
bench_bench_models_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_models_LDFLAGS = -no-install
bench_bench_models_LDADD = liblamina.la $(LIBM) $(LIBS)

# The recurrent-layer row (issue 16): bench/bench_rnn next to bench/torch_rnn.py.
EXTRA_PROGRAMS += bench/bench_rnn
CLEANFILES += bench/bench_rnn$(EXEEXT)
bench_bench_rnn_SOURCES = bench/bench_rnn.c
bench_bench_rnn_CPPFLAGS = -I$(top_srcdir)/include
bench_bench_rnn_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_rnn_LDFLAGS = -no-install
bench_bench_rnn_LDADD = liblamina.la $(LIBM) $(LIBS)

EXTRA_DIST += bench/run bench/torch_models.py bench/torch_rnn.py bench/plot.gp docs/benchmarks.md \
	bench/build-static.sh bench/device-scaling.sh

# Python 3 runs the orchestrator; the PyTorch side runs with the first of
# $(BENCH_TORCH_PY), python3, /usr/bin/python3 that can import torch.
BENCH_PY = python3
BENCH_TORCH_PY =
BENCH_OUT = bench-results
BENCH_ARGS =
BENCH_RUN = $(BENCH_PY) $(srcdir)/bench/run --builddir . --srcdir $(srcdir) \
	--out $(BENCH_OUT) --cc "$(CC)" --torch-python "$(BENCH_TORCH_PY)" --mpirun "$(MPIRUN)" \
	$(BENCH_ARGS)

# bench/kernels/local.mk makes `bench` depend on `bench-kernels` (its own
# table, printed first).  Everything of ours is in the recipe, not in
# prerequisites, so `make -j` never runs two benchmarks at once.
.PHONY: bench bench-quick bench-build
bench-build:
	$(MAKE) $(AM_MAKEFLAGS) all $(BENCH_BINS) bench/kernels/bench_kernels$(EXEEXT) \
	  tests/plugins/gated/gated.la
bench:
	@$(MAKE) $(AM_MAKEFLAGS) bench-build
	$(BENCH_RUN) --full
bench-quick:
	@$(MAKE) $(AM_MAKEFLAGS) bench-build
	$(BENCH_RUN) --quick

# TransformerEncoder by hand (issue 16's rows are in bench/run's `seq` section, through
# bench_models): `make bench/bench_transformer`, then bench/bench_transformer [threads] [reps].
EXTRA_PROGRAMS += bench/bench_transformer
CLEANFILES += bench/bench_transformer$(EXEEXT)
bench_bench_transformer_SOURCES = bench/bench_transformer.c
bench_bench_transformer_CPPFLAGS = -I$(top_srcdir)/include
bench_bench_transformer_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_transformer_LDFLAGS = -no-install
bench_bench_transformer_LDADD = liblamina.la

# The GPT row (issue 16): tokens/s of greedy generation with the key/value
# cache, bench/bench_gpt next to bench/torch_gpt.py (bench/run's `gpt`
# section).  Needs the example plugin examples/plugins/gpt.la.
EXTRA_PROGRAMS += bench/bench_gpt
BENCH_BINS += bench/bench_gpt$(EXEEXT)
EXTRA_bench_bench_gpt_DEPENDENCIES = examples/plugins/gpt.la
bench_bench_gpt_SOURCES = bench/bench_gpt.c
bench_bench_gpt_CPPFLAGS = -I$(top_srcdir)/include
bench_bench_gpt_CFLAGS = $(AM_CFLAGS) -O2
bench_bench_gpt_LDFLAGS = -no-install
bench_bench_gpt_LDADD = liblamina.la
EXTRA_DIST += bench/torch_gpt.py
