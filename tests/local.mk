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

# The layer and model tests again on the scalar kernels (the test oracle),
# and on each SIMD table the machine has (LAMINA_MAX_ISA=avx2 keeps the AVX2
# table tested on an AVX-512 machine; avx512 skips, saying why, elsewhere).
TESTS += tests/scalar-isa.sh tests/avx2-isa.sh tests/avx512-isa.sh
EXTRA_DIST += tests/scalar-isa.sh tests/max-isa.sh tests/avx2-isa.sh tests/avx512-isa.sh

# runtime/'s folders use only earlier ones (docs/architecture.md): includes
# and the built objects' symbols.
TESTS += tests/layering.sh
EXTRA_DIST += tests/layering.sh
AM_TESTS_ENVIRONMENT += NM='$(NM)'; export NM;

# Models at the documented limits: 100,000 modules, LAM_MAX_MODULE_DEPTH deep.
if HAVE_CRITERION
check_PROGRAMS += tests/test_scale
TESTS += tests/test_scale
tests_test_scale_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_scale_LDADD = liblamina.la $(CRITERION_LIBS)
tests_test_scale_LDFLAGS = -no-install
endif

# Deferred layer calls in custom forwards (runtime/exec/lazy.c).
if HAVE_CRITERION
check_PROGRAMS += tests/test_lazy
TESTS += tests/test_lazy
tests_test_lazy_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_lazy_LDADD = liblamina.la $(CRITERION_LIBS) $(LIBM)
tests_test_lazy_LDFLAGS = -no-install
endif

# `make check` once more, with AddressSanitizer, LeakSanitizer and UBSan, in
# its own build tree (plugins and test plugins are built with them too).
# Criterion reports a test that LeakSanitizer flags at exit as passed, and
# the shell tests capture stderr, so every sanitizer report goes to a file
# under asan-build/sanitizer-reports and any file there fails the run.
# -fno-sanitize-recover: a UBSan finding aborts the test like an ASan one.
# tests/threads/alloc_count and tests/io/test_io_oom replace malloc and skip
# (77) here.  LSAN_OPTIONS=suppressions=FILE is honoured for third-party
# leaks (none needed so far).  allocator_may_return_null: an allocation
# that cannot be satisfied returns NULL, as malloc does, instead of
# aborting (lamina reports it; tests ask for impossible sizes on purpose);
# the warning ASan logs for such a request alone is not a finding.
asan_cflags = -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer
.PHONY: asan-check
asan-check:
	rm -rf asan-build && mkdir -p asan-build/sanitizer-reports
	werror=; test -z '$(WERROR_CFLAGS)' || werror=--enable-werror; \
	cd asan-build && $(abs_top_srcdir)/configure -q $$werror \
	  CFLAGS='$(asan_cflags)' LDFLAGS='-fsanitize=address,undefined' >/dev/null
	$(MAKE) -C asan-build >/dev/null
	@r=$(abs_builddir)/asan-build/sanitizer-reports; st=0; \
	ASAN_OPTIONS="log_path=$$r/asan:detect_leaks=1:check_initialization_order=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1 $$ASAN_OPTIONS" \
	UBSAN_OPTIONS="log_path=$$r/ubsan:print_stacktrace=1:halt_on_error=1 $$UBSAN_OPTIONS" \
	  $(MAKE) -C asan-build check || st=1; \
	for f in $$r/*; do \
	  test -f "$$f" || continue; \
	  grep -qv 'WARNING: AddressSanitizer failed to allocate' "$$f" || continue; \
	  echo "== sanitizer report $$f"; cat "$$f"; st=1; \
	done; \
	test $$st = 0 && echo "asan-check: make check passed, no sanitizer reports"; exit $$st

clean-local: clean-asan
.PHONY: clean-asan
clean-asan:
	rm -rf asan-build

# <lamina/version.h> against the library (lam_version, lam_version_number).
if HAVE_CRITERION
check_PROGRAMS += tests/test_version
TESTS += tests/test_version
tests_test_version_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_version_LDADD = liblamina.la $(CRITERION_LIBS)
tests_test_version_LDFLAGS = -no-install
endif
