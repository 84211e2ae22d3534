# runtime/ — the layer-type registry, the plugin loader and the host table
# plugins see, and the built-in types registered through the same
# descriptor.  Included by Makefile.am.
lamina_include_HEADERS += include/lamina/plugin.h
noinst_HEADERS += runtime/plugin_internal.h

liblamina_la_SOURCES += \
	runtime/registry.c \
	runtime/plugin_loader.c \
	runtime/plugin_module.c \
	runtime/host_api.c \
	runtime/layers/builtin_types.c
