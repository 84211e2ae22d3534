# runtime/plugin/ — the layer-type registry, the built-in types registered
# through the same descriptor, the plugin loader and the host table plugins
# see.  Included by Makefile.am.
lamina_include_HEADERS += include/lamina/plugin.h
noinst_HEADERS += runtime/plugin/plugin.h

liblamina_la_SOURCES += \
	runtime/plugin/registry.c \
	runtime/plugin/builtin_types.c \
	runtime/plugin/plugin_loader.c \
	runtime/plugin/plugin_module.c \
	runtime/plugin/host_api.c
