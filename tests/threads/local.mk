# tests/threads — the worker pool, plans, zero allocation, concurrent use, logging.
EXTRA_DIST += tests/threads/models.h

# plain programs (no Criterion): the allocation counter and the stress test
check_PROGRAMS += tests/threads/alloc_count tests/threads/stress
TESTS += tests/threads/alloc_count tests/threads/stress
tests_threads_alloc_count_SOURCES = tests/threads/alloc_count.c
tests_threads_alloc_count_LDADD = liblamina.la
tests_threads_alloc_count_LDFLAGS = -no-install
EXTRA_tests_threads_alloc_count_DEPENDENCIES = tests/plugins/gated/gated.la plugins/torchvision.la
tests_threads_alloc_count_CPPFLAGS = $(AM_CPPFLAGS) $(LAM_TEST_GATED_CPPFLAGS) \
	-DLAM_TEST_TV_PLUGIN='"$(abs_top_builddir)/plugins/.libs/torchvision.so"'
tests_threads_stress_SOURCES = tests/threads/stress.c
tests_threads_stress_LDADD = liblamina.la
tests_threads_stress_LDFLAGS = -no-install
EXTRA_tests_threads_stress_DEPENDENCIES = plugins/torchvision.la
tests_threads_stress_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLAM_TEST_TV_PLUGIN='"$(abs_top_builddir)/plugins/.libs/torchvision.so"'

# thread creation that fails (ulimit -v / -u): lamina run, lamina bench and an
# embedding program must go on with fewer threads (issue 12.3)
check_PROGRAMS += tests/threads/thread_limits
TESTS += tests/threads/thread-limits.sh
EXTRA_DIST += tests/threads/thread-limits.sh
AM_TESTS_ENVIRONMENT += THREAD_LIMITS_BIN='$(abs_top_builddir)/tests/threads/thread_limits'; \
	export THREAD_LIMITS_BIN;
# the default thread count follows the CPU affinity mask (taskset -c 0: 1)
TESTS += tests/threads/affinity.sh
EXTRA_DIST += tests/threads/affinity.sh
tests_threads_thread_limits_SOURCES = tests/threads/thread_limits.c
tests_threads_thread_limits_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
tests_threads_thread_limits_LDADD = liblamina.la
tests_threads_thread_limits_LDFLAGS = -no-install

if HAVE_CRITERION
check_PROGRAMS += tests/threads/test_threads
TESTS += tests/threads/test_threads
tests_threads_test_threads_SOURCES = tests/threads/test_threads.c
tests_threads_test_threads_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(OPENMP_CFLAGS)
tests_threads_test_threads_LDADD = liblamina.la $(CRITERION_LIBS)
tests_threads_test_threads_LDFLAGS = -no-install $(OPENMP_CFLAGS)

# custom forwards in the executor: forward pools, row splits, forward_into
# (issue 11.2)
check_PROGRAMS += tests/threads/test_custom
TESTS += tests/threads/test_custom
EXTRA_tests_threads_test_custom_DEPENDENCIES = tests/plugins/gated/gated.la
tests_threads_test_custom_CPPFLAGS = $(AM_CPPFLAGS) $(LAM_TEST_GATED_CPPFLAGS)
tests_threads_test_custom_SOURCES = tests/threads/test_custom.c
tests_threads_test_custom_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_threads_test_custom_LDADD = liblamina.la $(CRITERION_LIBS)
tests_threads_test_custom_LDFLAGS = -no-install

# the log callback, and the warning when threads cannot be started
check_PROGRAMS += tests/threads/test_log
TESTS += tests/threads/test_log
tests_threads_test_log_SOURCES = tests/threads/test_log.c
tests_threads_test_log_CPPFLAGS = $(AM_CPPFLAGS) \
	-DLAM_TEST_PLUGIN_DIR='"$(abs_top_builddir)/tests/plugins/.libs"'
tests_threads_test_log_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(OPENMP_CFLAGS)
tests_threads_test_log_LDADD = liblamina.la $(CRITERION_LIBS) -lpthread
tests_threads_test_log_LDFLAGS = -no-install $(OPENMP_CFLAGS)
endif

# The concurrency tests under ThreadSanitizer, in their own build tree.
# lamina's worker pool runs there: OpenMP only tells lamina whether its
# caller is in a parallel region, and lamina opens none, so libgomp's own
# barriers (not built with TSan) never run.  Only plain programs can run:
# Criterion cannot start under TSan (its arena cannot be mapped), so
# test_threads stays out.  Append concurrency tests to tsan_check_programs.
# A report fails the run (TSan then exits 66).
tsan_check_programs = tests/threads/stress tests/plugins/load_threads
.PHONY: tsan-check
tsan-check:
	rm -rf tsan-build && mkdir tsan-build
	werror=; test -z '$(WERROR_CFLAGS)' || werror=--enable-werror; \
	cd tsan-build && $(abs_top_srcdir)/configure -q $$werror --without-criterion \
	  CFLAGS='-O1 -g -fsanitize=thread' LDFLAGS='-fsanitize=thread' >/dev/null
	$(MAKE) -C tsan-build $(tsan_check_programs) >/dev/null
	@st=0; for t in $(tsan_check_programs); do \
	  echo "== ThreadSanitizer: $$t"; \
	  TSAN_OPTIONS="second_deadlock_stack=1 $$TSAN_OPTIONS" \
	    tsan-build/$$t || { echo "FAIL: $$t under ThreadSanitizer"; st=1; }; \
	done; exit $$st

clean-local: clean-tsan
.PHONY: clean-tsan
clean-tsan:
	rm -rf tsan-build
