# bench/kernels/ — kernel benchmarks.  `make bench-kernels` builds and runs
# bench_kernels alone; `make bench` (bench/local.mk) runs it as part of the
# whole suite.  Built with the rest (so it cannot rot), never run by make
# check: benchmarks report figures, they do not pass or fail.
noinst_PROGRAMS += bench/kernels/bench_kernels
bench_kernels_bench_kernels_SOURCES = bench/kernels/bench_kernels.c bench/kernels/peak.h
bench_kernels_bench_kernels_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
bench_kernels_bench_kernels_CPPFLAGS = $(AM_CPPFLAGS)
bench_kernels_bench_kernels_LDFLAGS = -no-install $(OPENMP_CFLAGS)
bench_kernels_bench_kernels_LDADD = $(LAM_SIMD_LIBS) $(SLEEF_LIBS) $(LIBM) $(LIBS)
if HAVE_OPENBLAS
bench_kernels_bench_kernels_CPPFLAGS += -DHAVE_OPENBLAS_BENCH
bench_kernels_bench_kernels_LDADD += -lopenblas
endif
if HAVE_DNNL
bench_kernels_bench_kernels_CPPFLAGS += -DHAVE_DNNL_BENCH
bench_kernels_bench_kernels_LDADD += -ldnnl
endif

.PHONY: bench-kernels
bench-kernels: bench/kernels/bench_kernels$(EXEEXT)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(TEST_EMULATOR) bench/kernels/bench_kernels$(EXEEXT) $(BENCH_FLAGS)
