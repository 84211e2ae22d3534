# fuzz/ — libFuzzer targets, built only with ./configure --enable-fuzzing
# (never installed, not part of `make check`).  Recipe (clang 14):
#
#   mkdir build-fuzz && cd build-fuzz
#   ../configure --enable-fuzzing --disable-shared --disable-openmp CC=clang-14
#   make -j2 fuzz-check      # every target 60 s (FUZZ_SECONDS) from its seeds, as CI
#   make -j2 fuzz/fuzz_safetensors fuzz/fuzz_npy     # or by hand:
#   mkdir -p corpus-st corpus-npy   # new inputs land in the first dir; seeds stay read-only
#   ./fuzz/fuzz_safetensors -max_total_time=600 -dict=../fuzz/safetensors.dict corpus-st ../tests/io/corpus/safetensors
#   ./fuzz/fuzz_npy -max_total_time=600 -dict=../fuzz/npy.dict corpus-npy ../tests/io/corpus/npy
#
# With --enable-fuzzing the whole library is compiled with
# -fsanitize=fuzzer-no-link,address,undefined (coverage for libFuzzer plus the
# sanitizers) and the targets link with -fsanitize=fuzzer.  --disable-shared:
# a shared liblamina linked with -Wl,-z,defs cannot leave the sanitizer
# runtimes undefined.  --disable-openmp as OSS-Fuzz does (no libgomp noise).
# A crash input becomes a regression case in tests/io/ (table or fixture).
# Other targets (e.g. the model-file parser below) reuse $(fuzz_cflags) and
# $(fuzz_ldflags) inside their own "if ENABLE_FUZZING".
EXTRA_DIST += fuzz/fuzz_safetensors.c fuzz/fuzz_npy.c fuzz/safetensors.dict fuzz/npy.dict

if ENABLE_FUZZING
fuzz_sanitize = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
liblamina_la_CFLAGS += -fsanitize=fuzzer-no-link $(fuzz_sanitize)
fuzz_cflags = $(AM_CFLAGS) -fsanitize=fuzzer $(fuzz_sanitize)
fuzz_ldflags = -fsanitize=fuzzer $(fuzz_sanitize)

noinst_PROGRAMS += fuzz/fuzz_safetensors fuzz/fuzz_npy
fuzz_fuzz_safetensors_SOURCES = fuzz/fuzz_safetensors.c
fuzz_fuzz_safetensors_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_safetensors_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_safetensors_LDADD = liblamina.la
fuzz_fuzz_npy_SOURCES = fuzz/fuzz_npy.c
fuzz_fuzz_npy_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_npy_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_npy_LDADD = liblamina.la
endif

# fuzz/fuzz_model — .lam model files (runtime/model); seeds in tests/model/corpus:
#   make fuzz/fuzz_model && mkdir -p corpus-model
#   ./fuzz/fuzz_model -max_total_time=600 -dict=../fuzz/model.dict corpus-model ../tests/model/corpus
EXTRA_DIST += fuzz/fuzz_model.c fuzz/model.dict
if ENABLE_FUZZING
noinst_PROGRAMS += fuzz/fuzz_model
fuzz_fuzz_model_SOURCES = fuzz/fuzz_model.c
fuzz_fuzz_model_CFLAGS = $(fuzz_cflags)
fuzz_fuzz_model_LDFLAGS = $(fuzz_ldflags)
fuzz_fuzz_model_LDADD = liblamina.la
endif

# make fuzz-check: every target for FUZZ_SECONDS (default 60) from its
# committed corpus into a temporary one; a crash fails (CI runs this).
EXTRA_DIST += fuzz/run-fuzzers.sh
.PHONY: fuzz-check
if ENABLE_FUZZING
fuzz-check: fuzz/fuzz_safetensors fuzz/fuzz_npy fuzz/fuzz_model
	$(SHELL) $(top_srcdir)/fuzz/run-fuzzers.sh $(abs_builddir)
else
fuzz-check:
	@echo "fuzz-check: configure with --enable-fuzzing --disable-shared --disable-openmp CC=clang-14" >&2; exit 1
endif
