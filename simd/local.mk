# simd/ — the kernel layer (contract: simd/kernels.h).  Included by Makefile.am.
#
# The kernels live in convenience libraries that liblamina and the kernel
# tests/benchmarks both link: libk_core (scalar kernels, table, dispatch, CPU
# probe; no ISA flags), one library per ISA with its flags (libk_avx2:
# -mavx2 -mfma; libk_avx512: LAM_AVX512_CFLAGS, F/VL/BW/DQ, built only when
# configure found compiler and SLEEF support; libk_neon: AArch64 baseline)
# and libk_gemm (the portable GEMM driver, simd/gemm/, no ISA flags, linked
# last: the ISA libraries call it).  Everything is built with
# -fvisibility=hidden: the kernels are internal (lam__ names) and only
# reached through lam__kernels().

LAM_SIMD_CFLAGS = $(AM_CFLAGS) $(SLEEF_CFLAGS) -fvisibility=hidden

noinst_HEADERS += simd/kernels.h simd/kernel-list.h simd/simd.h simd/scalar/act-scalar.h \
	simd/x86/avx512/vmath-avx512.h simd/x86/avx512/rowmax-avx512.h \
	simd/x86/avx512/vbinary-avx512.h \
	simd/x86/avx2/vmath-avx2.h simd/x86/avx2/rowmax-avx2.h simd/x86/avx2/gemm-avx2.h \
	simd/arm/neon/vmath-neon.h simd/arm/neon/rowmax-neon.h simd/arm/neon/gemm-neon.h \
	simd/x86/avx2/vbinary-avx2.h simd/arm/neon/vbinary-neon.h \
	simd/gemm/gemm-ukernel.h simd/gemm/gemm-kernels.h simd/attn/attn-ukernel.h simd/attn/attn-tile.h simd/x86/avx2/gemm-lanes-avx2.h \
	simd/x86/avx512/gemm-avx512.h simd/x86/avx512/gemm-lanes-avx512.h \
	simd/window/window-impl.h simd/window/winograd-impl.h simd/x86/avx2/vwin-avx2.h simd/x86/avx512/vwin-avx512.h \
	simd/arm/neon/vwin-neon.h

noinst_LTLIBRARIES += simd/libk_core.la
simd_libk_core_la_CFLAGS = $(LAM_SIMD_CFLAGS)
simd_libk_core_la_SOURCES = \
	simd/dispatch.c \
	simd/cpu.c \
	simd/scalar/kernels-scalar.c \
	simd/scalar/f32-vrelu-scalar.c \
	simd/scalar/f32-vleaky-relu-scalar.c \
	simd/scalar/f32-vrelu6-scalar.c \
	simd/scalar/f32-velu-scalar.c \
	simd/scalar/f32-vsigmoid-scalar.c \
	simd/scalar/f32-vtanh-scalar.c \
	simd/scalar/f32-vgelu-scalar.c \
	simd/scalar/f32-vgelu-tanh-scalar.c \
	simd/scalar/f32-vsilu-scalar.c \
	simd/scalar/f32-vexp-scalar.c \
	simd/scalar/f32-vsoftplus-scalar.c \
	simd/scalar/f32-softmax-scalar.c \
	simd/scalar/f32-log-softmax-scalar.c \
	simd/scalar/f32-layer-norm-scalar.c \
	simd/scalar/f32-gemm-scalar.c \
	simd/scalar/f32-mlp2-scalar.c \
	simd/scalar/f32-attention-scalar.c \
	simd/scalar/f32-vadd-scalar.c \
	simd/scalar/f32-vsub-scalar.c \
	simd/scalar/f32-vmul-scalar.c \
	simd/scalar/f32-vdiv-scalar.c \
	simd/scalar/f32-dwconv2d-scalar.c \
	simd/scalar/f32-dwconv2d-nc-scalar.c \
	simd/scalar/f32-winograd-scalar.c \
	simd/scalar/f32-moments-scalar.c \
	simd/scalar/f32-lrn-scalar.c \
	simd/scalar/f32-maxpool2d-scalar.c \
	simd/scalar/f32-adaptive-maxpool2d-scalar.c \
	simd/scalar/f32-adaptive-avgpool2d-scalar.c \
	simd/scalar/f32-avgpool2d-scalar.c \
	simd/scalar/f32-vhardswish-scalar.c \
	simd/scalar/f32-vhardsigmoid-scalar.c \
	simd/scalar/f32-vhardtanh-scalar.c \
	simd/scalar/f32-vmish-scalar.c \
	simd/scalar/f32-vprelu-scalar.c \
	simd/scalar/f32-vaffine-scalar.c \
	simd/scalar/f32-conv-gemm-scalar.c

# What a program needs to use the kernel layer (in this order).
LAM_SIMD_LIBS = simd/libk_core.la

if ARCH_X86_64
noinst_LTLIBRARIES += simd/libk_avx2.la
simd_libk_avx2_la_CFLAGS = $(LAM_SIMD_CFLAGS) -mavx2 -mfma
simd_libk_avx2_la_SOURCES = \
	simd/x86/avx2/kernels-avx2.c \
	simd/x86/avx2/f32-vrelu-avx2.c \
	simd/x86/avx2/f32-vleaky-relu-avx2.c \
	simd/x86/avx2/f32-vrelu6-avx2.c \
	simd/x86/avx2/f32-velu-avx2.c \
	simd/x86/avx2/f32-vsigmoid-avx2.c \
	simd/x86/avx2/f32-vtanh-avx2.c \
	simd/x86/avx2/f32-vgelu-avx2.c \
	simd/x86/avx2/f32-vgelu-tanh-avx2.c \
	simd/x86/avx2/f32-vsilu-avx2.c \
	simd/x86/avx2/f32-vexp-avx2.c \
	simd/x86/avx2/f32-vsoftplus-avx2.c \
	simd/x86/avx2/f32-softmax-avx2.c \
	simd/x86/avx2/f32-log-softmax-avx2.c \
	simd/x86/avx2/f32-layer-norm-avx2.c \
	simd/x86/avx2/f32-gemm-avx2.c \
	simd/x86/avx2/f32-gemm-6x16-avx2.c \
	simd/x86/avx2/f32-gemm-lanes-avx2.c \
	simd/x86/avx2/f32-mlp2-lanes-avx2.c \
	simd/x86/avx2/f32-gemv-4p-avx2.c \
	simd/x86/avx2/gemm-epilogue-avx2.c \
	simd/x86/avx2/f32-attention-avx2.c \
	simd/x86/avx2/f32-vadd-avx2.c \
	simd/x86/avx2/f32-vsub-avx2.c \
	simd/x86/avx2/f32-vmul-avx2.c \
	simd/x86/avx2/f32-vdiv-avx2.c \
	simd/x86/avx2/f32-dwconv2d-avx2.c \
	simd/x86/avx2/f32-dwconv2d-nc-avx2.c \
	simd/x86/avx2/f32-winograd-avx2.c \
	simd/x86/avx2/f32-moments-avx2.c \
	simd/x86/avx2/f32-lrn-avx2.c \
	simd/x86/avx2/f32-maxpool2d-avx2.c \
	simd/x86/avx2/f32-adaptive-maxpool2d-avx2.c \
	simd/x86/avx2/f32-adaptive-avgpool2d-avx2.c \
	simd/x86/avx2/f32-avgpool2d-avx2.c \
	simd/x86/avx2/f32-vhardswish-avx2.c \
	simd/x86/avx2/f32-vhardsigmoid-avx2.c \
	simd/x86/avx2/f32-vhardtanh-avx2.c \
	simd/x86/avx2/f32-vmish-avx2.c \
	simd/x86/avx2/f32-vprelu-avx2.c \
	simd/x86/avx2/f32-vaffine-avx2.c \
	simd/x86/avx2/f32-conv-gemm-avx2.c
LAM_SIMD_LIBS += simd/libk_avx2.la
endif

if HAVE_AVX512
noinst_LTLIBRARIES += simd/libk_avx512.la
simd_libk_avx512_la_CFLAGS = $(LAM_SIMD_CFLAGS) $(LAM_AVX512_CFLAGS)
simd_libk_avx512_la_SOURCES = \
	simd/x86/avx512/kernels-avx512.c \
	simd/x86/avx512/f32-vrelu-avx512.c \
	simd/x86/avx512/f32-vleaky-relu-avx512.c \
	simd/x86/avx512/f32-vrelu6-avx512.c \
	simd/x86/avx512/f32-velu-avx512.c \
	simd/x86/avx512/f32-vsigmoid-avx512.c \
	simd/x86/avx512/f32-vtanh-avx512.c \
	simd/x86/avx512/f32-vgelu-avx512.c \
	simd/x86/avx512/f32-vgelu-tanh-avx512.c \
	simd/x86/avx512/f32-vsilu-avx512.c \
	simd/x86/avx512/f32-vexp-avx512.c \
	simd/x86/avx512/f32-vsoftplus-avx512.c \
	simd/x86/avx512/f32-softmax-avx512.c \
	simd/x86/avx512/f32-log-softmax-avx512.c \
	simd/x86/avx512/f32-layer-norm-avx512.c \
	simd/x86/avx512/f32-gemm-avx512.c \
	simd/x86/avx512/f32-gemm-6x64-avx512.c \
	simd/x86/avx512/f32-gemv-avx512.c \
	simd/x86/avx512/f32-gemm-lanes-avx512.c \
	simd/x86/avx512/f32-mlp2-lanes-avx512.c \
	simd/x86/avx512/gemm-epilogue-avx512.c \
	simd/x86/avx512/f32-attention-avx512.c \
	simd/x86/avx512/f32-vadd-avx512.c \
	simd/x86/avx512/f32-vsub-avx512.c \
	simd/x86/avx512/f32-vmul-avx512.c \
	simd/x86/avx512/f32-vdiv-avx512.c \
	simd/x86/avx512/f32-dwconv2d-avx512.c \
	simd/x86/avx512/f32-dwconv2d-nc-avx512.c \
	simd/x86/avx512/f32-winograd-avx512.c \
	simd/x86/avx512/f32-moments-avx512.c \
	simd/x86/avx512/f32-lrn-avx512.c \
	simd/x86/avx512/f32-maxpool2d-avx512.c \
	simd/x86/avx512/f32-adaptive-maxpool2d-avx512.c \
	simd/x86/avx512/f32-adaptive-avgpool2d-avx512.c \
	simd/x86/avx512/f32-avgpool2d-avx512.c \
	simd/x86/avx512/f32-vhardswish-avx512.c \
	simd/x86/avx512/f32-vhardsigmoid-avx512.c \
	simd/x86/avx512/f32-vhardtanh-avx512.c \
	simd/x86/avx512/f32-vmish-avx512.c \
	simd/x86/avx512/f32-vprelu-avx512.c \
	simd/x86/avx512/f32-vaffine-avx512.c \
	simd/x86/avx512/f32-conv-gemm-avx512.c
LAM_SIMD_LIBS += simd/libk_avx512.la
endif

if ARCH_AARCH64
noinst_LTLIBRARIES += simd/libk_neon.la
simd_libk_neon_la_CFLAGS = $(LAM_SIMD_CFLAGS)
simd_libk_neon_la_SOURCES = \
	simd/arm/neon/kernels-neon.c \
	simd/arm/neon/f32-vrelu-neon.c \
	simd/arm/neon/f32-vleaky-relu-neon.c \
	simd/arm/neon/f32-vrelu6-neon.c \
	simd/arm/neon/f32-velu-neon.c \
	simd/arm/neon/f32-vsigmoid-neon.c \
	simd/arm/neon/f32-vtanh-neon.c \
	simd/arm/neon/f32-vgelu-neon.c \
	simd/arm/neon/f32-vgelu-tanh-neon.c \
	simd/arm/neon/f32-vsilu-neon.c \
	simd/arm/neon/f32-vexp-neon.c \
	simd/arm/neon/f32-vsoftplus-neon.c \
	simd/arm/neon/f32-softmax-neon.c \
	simd/arm/neon/f32-log-softmax-neon.c \
	simd/arm/neon/f32-layer-norm-neon.c \
	simd/arm/neon/f32-gemm-neon.c \
	simd/arm/neon/f32-gemm-6x16-neon.c \
	simd/arm/neon/f32-gemv-4p-neon.c \
	simd/arm/neon/gemm-epilogue-neon.c \
	simd/arm/neon/f32-attention-neon.c \
	simd/arm/neon/f32-vadd-neon.c \
	simd/arm/neon/f32-vsub-neon.c \
	simd/arm/neon/f32-vmul-neon.c \
	simd/arm/neon/f32-vdiv-neon.c \
	simd/arm/neon/f32-dwconv2d-neon.c \
	simd/arm/neon/f32-dwconv2d-nc-neon.c \
	simd/arm/neon/f32-winograd-neon.c \
	simd/arm/neon/f32-moments-neon.c \
	simd/arm/neon/f32-lrn-neon.c \
	simd/arm/neon/f32-maxpool2d-neon.c \
	simd/arm/neon/f32-adaptive-maxpool2d-neon.c \
	simd/arm/neon/f32-adaptive-avgpool2d-neon.c \
	simd/arm/neon/f32-avgpool2d-neon.c \
	simd/arm/neon/f32-vhardswish-neon.c \
	simd/arm/neon/f32-vhardsigmoid-neon.c \
	simd/arm/neon/f32-vhardtanh-neon.c \
	simd/arm/neon/f32-vmish-neon.c \
	simd/arm/neon/f32-vprelu-neon.c \
	simd/arm/neon/f32-vaffine-neon.c \
	simd/arm/neon/f32-conv-gemm-neon.c
LAM_SIMD_LIBS += simd/libk_neon.la
endif

# The portable GEMM and attention drivers (no ISA flags), which the ISA
# libraries call: last, so that static links resolve them.
noinst_LTLIBRARIES += simd/libk_gemm.la
simd_libk_gemm_la_CFLAGS = $(LAM_SIMD_CFLAGS)
simd_libk_gemm_la_SOURCES = simd/gemm/f32-gemm-driver.c simd/attn/f32-attention-driver.c
LAM_SIMD_LIBS += simd/libk_gemm.la

liblamina_la_LIBADD += $(LAM_SIMD_LIBS)
