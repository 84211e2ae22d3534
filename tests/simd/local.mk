# tests/simd/ — kernel tests (Criterion), run by make check.  They link the
# kernel layer's convenience libraries (the kernels are hidden in
# liblamina.so).  -no-install: a real ELF, so qemu-aarch64 can run it.
if HAVE_CRITERION
check_PROGRAMS += tests/simd/test_kernels
TESTS += tests/simd/test_kernels
tests_simd_test_kernels_SOURCES = \
	tests/simd/kt.h \
	tests/simd/kt-gemm.h \
	tests/simd/kt-guard.h \
	tests/simd/test_vunary.c \
	tests/simd/test_vbinary.c \
	tests/simd/test_rows.c \
	tests/simd/test_gemm.c \
	tests/simd/test_gemm_addend.c \
	tests/simd/test_attention.c \
	tests/simd/test_window.c \
	tests/simd/test_conv_gemm.c \
	tests/simd/test_stats.c \
	tests/simd/test_lrn.c \
	tests/simd/test_dispatch.c
tests_simd_test_kernels_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_simd_test_kernels_LDFLAGS = -no-install
tests_simd_test_kernels_LDADD = $(LAM_SIMD_LIBS) $(SLEEF_LIBS) $(CRITERION_LIBS) $(LIBM) $(LIBS)
endif
