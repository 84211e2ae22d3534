# tests/threads — OpenMP batching, plans, zero allocation, concurrent use.
EXTRA_DIST += tests/threads/models.h

# plain programs (no Criterion): the allocation counter and the stress test
check_PROGRAMS += tests/threads/alloc_count tests/threads/stress
TESTS += tests/threads/alloc_count tests/threads/stress
tests_threads_alloc_count_SOURCES = tests/threads/alloc_count.c
tests_threads_alloc_count_LDADD = liblamina.la
tests_threads_alloc_count_LDFLAGS = -no-install
tests_threads_stress_SOURCES = tests/threads/stress.c
tests_threads_stress_LDADD = liblamina.la
tests_threads_stress_LDFLAGS = -no-install

if HAVE_CRITERION
check_PROGRAMS += tests/threads/test_threads
TESTS += tests/threads/test_threads
tests_threads_test_threads_SOURCES = tests/threads/test_threads.c
tests_threads_test_threads_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(OPENMP_CFLAGS)
tests_threads_test_threads_LDADD = liblamina.la $(CRITERION_LIBS)
tests_threads_test_threads_LDFLAGS = -no-install $(OPENMP_CFLAGS)
endif

# The threading tests under ThreadSanitizer, in their own build tree.
# OpenMP is disabled there: libgomp is not built with TSan and reports false
# races on its own barriers, so what TSan sees is user threads sharing models
# and plans.  Only plain programs can run: Criterion cannot start under TSan
# (its arena cannot be mapped), so test_threads stays out; without OpenMP it
# would run serially anyway.  Append concurrency tests to tsan_check_programs.
# A report fails the run (TSan then exits 66).
tsan_check_programs = tests/threads/stress
.PHONY: tsan-check
tsan-check:
	rm -rf tsan-build && mkdir tsan-build
	werror=; test -z '$(WERROR_CFLAGS)' || werror=--enable-werror; \
	cd tsan-build && $(abs_top_srcdir)/configure -q $$werror --without-criterion --disable-openmp \
	  CFLAGS='-O1 -g -fsanitize=thread' LDFLAGS='-fsanitize=thread' >/dev/null
	$(MAKE) -C tsan-build $(tsan_check_programs) >/dev/null
	@st=0; for t in $(tsan_check_programs); do \
	  echo "== ThreadSanitizer: $$t"; \
	  TSAN_OPTIONS="second_deadlock_stack=1 $$TSAN_OPTIONS" \
	    tsan-build/$$t || { echo "FAIL: $$t under ThreadSanitizer"; st=1; }; \
	done; exit $$st

# The same programs with OpenMP on: clang 14's libomp with its Archer tool
# (libomp-14-dev), which tells TSan about OpenMP's barriers and tasks, so the
# plans' worker threads are checked too without false reports.  The library
# is static there: clang does not link the TSan runtime into shared objects.
# ignore_noninstrumented_modules: libomp's own internals (its mutexes) are
# not instrumented; lamina's code still is, all of it.
tsan_omp_cc = clang-14
tsan_archer = /usr/lib/llvm-14/lib/libarcher.so
.PHONY: tsan-omp-check
tsan-omp-check:
	@test -e $(tsan_archer) || { echo "tsan-omp-check: needs $(tsan_omp_cc) and libomp-14-dev ($(tsan_archer))" >&2; exit 1; }
	rm -rf tsan-omp-build && mkdir tsan-omp-build
	werror=; test -z '$(WERROR_CFLAGS)' || werror=--enable-werror; \
	cd tsan-omp-build && $(abs_top_srcdir)/configure -q $$werror --without-criterion --disable-shared \
	  CC=$(tsan_omp_cc) CFLAGS='-O1 -g -fsanitize=thread' LDFLAGS='-fsanitize=thread' >/dev/null
	@grep -q '^OPENMP_CFLAGS = -f' tsan-omp-build/Makefile || { echo "tsan-omp-check: $(tsan_omp_cc) has no OpenMP" >&2; exit 1; }
	$(MAKE) -C tsan-omp-build $(tsan_check_programs) >/dev/null
	@st=0; for t in $(tsan_check_programs); do \
	  echo "== ThreadSanitizer with OpenMP (Archer): $$t"; \
	  OMP_TOOL_LIBRARIES=$(tsan_archer) \
	  TSAN_OPTIONS="ignore_noninstrumented_modules=1 second_deadlock_stack=1 $$TSAN_OPTIONS" \
	    tsan-omp-build/$$t || { echo "FAIL: $$t under ThreadSanitizer with OpenMP"; st=1; }; \
	done; exit $$st

clean-local: clean-tsan
.PHONY: clean-tsan
clean-tsan:
	rm -rf tsan-build tsan-omp-build
