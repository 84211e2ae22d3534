# runtime/io/ — safetensors and .npy readers/writers.  Included by Makefile.am.
lamina_include_HEADERS += include/lamina/io.h

liblamina_la_SOURCES += \
	runtime/io/io_internal.h \
	runtime/io/json.h \
	runtime/io/json.c \
	runtime/io/file.c \
	runtime/io/safetensors.c \
	runtime/io/safetensors_save.c \
	runtime/io/npy.c \
	runtime/io/npy_rows.c
