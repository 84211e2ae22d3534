# runtime/model/ — .lam model files (parser, builder) and weights loading.
# Included by Makefile.am.
lamina_include_HEADERS += include/lamina/model.h

liblamina_la_SOURCES += \
	runtime/model/model_internal.h \
	runtime/model/support.c \
	runtime/model/lexer.c \
	runtime/model/parser.c \
	runtime/model/builder.c \
	runtime/model/attention_types.c \
	runtime/model/attention_args.c \
	runtime/model/resolve.c \
	runtime/model/model.c \
	runtime/model/weights.c
