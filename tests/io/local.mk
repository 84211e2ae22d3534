# tests/io/ — safetensors and .npy tests.  Included by Makefile.am.
# Fixtures come from tools/gen-io-fixtures.py (PyTorch + numpy) and are
# committed; the tests need neither.  Temporary files go to $TMPDIR.
io_fixture_files = \
	tests/io/fixtures/arange_2x3_f4.npy tests/io/fixtures/be_f4.npy \
	tests/io/fixtures/be_f8.npy tests/io/fixtures/empty_dict.safetensors \
	tests/io/fixtures/empty_f4.npy tests/io/fixtures/expected_save.safetensors \
	tests/io/fixtures/f2.npy tests/io/fixtures/f8_2x3.npy tests/io/fixtures/five_d.npy \
	tests/io/fixtures/five_dims.safetensors tests/io/fixtures/fortran_2x3.npy \
	tests/io/fixtures/four_d_f4.npy tests/io/fixtures/int64.npy \
	tests/io/fixtures/model.safetensors tests/io/fixtures/model_0.bias.npy \
	tests/io/fixtures/model_0.weight.npy tests/io/fixtures/model_2.bias.npy \
	tests/io/fixtures/model_2.weight.npy tests/io/fixtures/order.safetensors \
	tests/io/fixtures/pattern.safetensors tests/io/fixtures/scalar_f4.npy \
	tests/io/fixtures/specials.safetensors tests/io/fixtures/tied_save_model.safetensors \
	tests/io/fixtures/unaligned.safetensors tests/io/fixtures/unsupported_i64.safetensors tests/io/fixtures/unsupported_u8.safetensors \
	tests/io/fixtures/v2_f4.npy tests/io/fixtures/v3_f4.npy tests/io/fixtures/vec5_f4.npy
# seeds of fuzz/fuzz_safetensors and fuzz/fuzz_npy (tools/gen-io-fixtures.py,
# tools/gen-fuzz-seeds.py): whole directories
io_corpus_files = tests/io/corpus/safetensors tests/io/corpus/npy
EXTRA_DIST += $(io_fixture_files) $(io_corpus_files) tests/io/check-saved-with-torch.sh \
	tools/gen-io-fixtures.py tools/gen-fuzz-seeds.py

if HAVE_CRITERION
io_test_cppflags = $(AM_CPPFLAGS) -DIO_FIXTURES='"$(abs_top_srcdir)/tests/io/fixtures"'
io_test_cflags = $(AM_CFLAGS) $(CRITERION_CFLAGS)
io_test_ldadd = liblamina.la $(CRITERION_LIBS)

check_PROGRAMS += tests/io/test_safetensors tests/io/test_safetensors_bad tests/io/test_npy \
	tests/io/test_io_write
TESTS += tests/io/test_safetensors tests/io/test_safetensors_bad tests/io/test_npy \
	tests/io/test_io_write

tests_io_test_safetensors_SOURCES = tests/io/test_safetensors.c tests/io/iotest.c tests/io/iotest.h
tests_io_test_safetensors_CPPFLAGS = $(io_test_cppflags)
tests_io_test_safetensors_CFLAGS = $(io_test_cflags)
tests_io_test_safetensors_LDFLAGS = -no-install
tests_io_test_safetensors_LDADD = $(io_test_ldadd)

tests_io_test_safetensors_bad_SOURCES = tests/io/test_safetensors_bad.c tests/io/iotest.c tests/io/iotest.h
tests_io_test_safetensors_bad_CPPFLAGS = $(io_test_cppflags)
tests_io_test_safetensors_bad_CFLAGS = $(io_test_cflags)
tests_io_test_safetensors_bad_LDFLAGS = -no-install
tests_io_test_safetensors_bad_LDADD = $(io_test_ldadd)

tests_io_test_npy_SOURCES = tests/io/test_npy.c tests/io/test_npy_rows.c tests/io/iotest.c tests/io/iotest.h
tests_io_test_npy_CPPFLAGS = $(io_test_cppflags)
tests_io_test_npy_CFLAGS = $(io_test_cflags)
tests_io_test_npy_LDFLAGS = -no-install
tests_io_test_npy_LDADD = $(io_test_ldadd)

tests_io_test_io_write_SOURCES = tests/io/test_io_write.c tests/io/iotest.c tests/io/iotest.h
tests_io_test_io_write_CPPFLAGS = $(io_test_cppflags)
tests_io_test_io_write_CFLAGS = $(io_test_cflags)
tests_io_test_io_write_LDFLAGS = -no-install
tests_io_test_io_write_LDADD = $(io_test_ldadd)
endif

# every allocation failure -> LAM_ERR_NO_MEMORY (own main: it replaces malloc)
check_PROGRAMS += tests/io/test_io_oom
TESTS += tests/io/test_io_oom
tests_io_test_io_oom_SOURCES = tests/io/test_io_oom.c
tests_io_test_io_oom_CPPFLAGS = $(AM_CPPFLAGS) -DIO_FIXTURES='"$(abs_top_srcdir)/tests/io/fixtures"'
tests_io_test_io_oom_LDFLAGS = -no-install
tests_io_test_io_oom_LDADD = liblamina.la

# every descriptor the library opens is close-on-exec (own main: it replaces open/fopen)
check_PROGRAMS += tests/io/test_io_cloexec
TESTS += tests/io/test_io_cloexec
tests_io_test_io_cloexec_SOURCES = tests/io/test_io_cloexec.c
tests_io_test_io_cloexec_LDFLAGS = -no-install
tests_io_test_io_cloexec_LDADD = liblamina.la

# lamina's files read back by PyTorch and numpy (skips without them)
check_PROGRAMS += tests/io/save-sample
TESTS += tests/io/check-saved-with-torch.sh
tests_io_save_sample_SOURCES = tests/io/save-sample.c
tests_io_save_sample_LDFLAGS = -no-install
tests_io_save_sample_LDADD = liblamina.la
