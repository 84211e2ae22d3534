# runtime/ — tensors, modules, containers, built-in layers.  Included by Makefile.am.
noinst_HEADERS += runtime/internal.h runtime/layers/layers.h runtime/parallel.h runtime/plan.h \
	runtime/ops_internal.h

liblamina_la_SOURCES += \
	runtime/error.c \
	runtime/util.c \
	runtime/hash.c \
	runtime/tree.c \
	runtime/budget.c \
	runtime/rng.c \
	runtime/tensor.c \
	runtime/fpool.c \
	runtime/tensor_print.c \
	runtime/module.c \
	runtime/forward.c \
	runtime/repr.c \
	runtime/params.c \
	runtime/state_dict.c \
	runtime/container.c \
	runtime/custom.c \
	runtime/layers/linear.c \
	runtime/layers/activation.c \
	runtime/layers/softmax.c \
	runtime/layers/layer_norm.c \
	runtime/layers/dropout.c \
	runtime/layers/flatten.c \
	runtime/layers/rowwise.c \
	runtime/parallel.c \
	runtime/plan.c \
	runtime/plan_cache.c \
	runtime/ops_util.c \
	runtime/ops_elementwise.c \
	runtime/ops_linalg.c \
	runtime/ops_shape.c \
	runtime/ops_reduce.c
