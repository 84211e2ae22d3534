# runtime/ — everything with state, one folder a subsystem; each folder uses
# only those listed before it (docs/architecture.md; tests/layering.sh checks
# the includes and the symbols).  Included by Makefile.am; io/, plugin/ and
# model/ have their own local.mk.
noinst_HEADERS += \
	runtime/core/core.h \
	runtime/core/parallel.h \
	runtime/tensor/tensor.h \
	runtime/module/module.h \
	runtime/layers/layers.h \
	runtime/layers/conv.h \
	runtime/ops/ops.h \
	runtime/exec/exec.h \
	runtime/exec/plan.h \
	runtime/nn/nn.h

liblamina_la_SOURCES += \
	runtime/core/error.c \
	runtime/core/util.c \
	runtime/core/hash.c \
	runtime/core/rng.c \
	runtime/core/budget.c \
	runtime/core/parallel.c \
	runtime/tensor/tensor.c \
	runtime/tensor/tensor_print.c \
	runtime/tensor/fpool.c \
	runtime/tensor/tuple.c \
	runtime/module/module.c \
	runtime/module/tree.c \
	runtime/module/params.c \
	runtime/module/state_dict.c \
	runtime/module/repr.c \
	runtime/layers/linear.c \
	runtime/layers/activation.c \
	runtime/layers/softmax.c \
	runtime/layers/layer_norm.c \
	runtime/layers/attention.c \
	runtime/layers/kv_cache.c \
	runtime/layers/transformer.c \
	runtime/layers/dropout.c \
	runtime/layers/flatten.c \
	runtime/layers/rowwise.c \
	runtime/layers/batch_norm.c \
	runtime/layers/group_norm.c \
	runtime/layers/pool.c \
	runtime/layers/prelu.c \
	runtime/layers/embedding.c \
	runtime/layers/reshape.c \
	runtime/layers/padding.c \
	runtime/layers/upsample.c \
	runtime/layers/conv.c \
	runtime/layers/conv_compute.c \
	runtime/layers/rnn.c \
	runtime/ops/util.c \
	runtime/ops/elementwise.c \
	runtime/ops/linalg.c \
	runtime/ops/shape.c \
	runtime/ops/reduce.c \
	runtime/exec/forward.c \
	runtime/exec/plan.c \
	runtime/exec/plan_cache.c \
	runtime/exec/lazy.c \
	runtime/nn/container.c \
	runtime/nn/custom.c \
	runtime/nn/transformer.c
