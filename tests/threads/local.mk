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

# The stress test under ThreadSanitizer, in its own build tree (Criterion
# cannot run under TSan).  OpenMP is disabled there: libgomp is not built
# with TSan and reports false races on its own barriers.
.PHONY: tsan-check
tsan-check:
	rm -rf tsan-build && mkdir tsan-build
	cd tsan-build && $(abs_top_srcdir)/configure --without-criterion --disable-openmp \
	  CFLAGS='-O1 -g -fsanitize=thread' LDFLAGS='-fsanitize=thread' >/dev/null
	$(MAKE) -C tsan-build tests/threads/stress tests/plugins/load_threads
	tsan-build/tests/threads/stress
	tsan-build/tests/plugins/load_threads

clean-local: clean-tsan
.PHONY: clean-tsan
clean-tsan:
	rm -rf tsan-build
