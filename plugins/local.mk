# plugins/ — layer types shipped as .so files, installed in $(plugindir)
# ($(pkglibdir)/plugins) as <name>.so.  Included by Makefile.am.
#
# A plugin sees only <lamina/plugin.h>: no internal headers, no config.h,
# no liblamina at link time.  -Wl,-z,defs without liblamina proves the last
# point (every lamina call goes through the host table), and
# -fvisibility=hidden leaves the descriptor as the only exported symbol.
LAM_PLUGIN_CPPFLAGS = -I$(top_srcdir)/include
LAM_PLUGIN_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
LAM_PLUGIN_LDFLAGS = -module -avoid-version -shared -no-undefined -Wl,-z,defs

LAM_SHIPPED_PLUGINS = swish rmsnorm containers torchvision
plugin_LTLIBRARIES += plugins/swish.la plugins/rmsnorm.la plugins/containers.la \
	plugins/torchvision.la

plugins_swish_la_SOURCES = plugins/swish.c
plugins_swish_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
plugins_swish_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
plugins_swish_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS)

plugins_rmsnorm_la_SOURCES = plugins/rmsnorm.c
plugins_rmsnorm_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
plugins_rmsnorm_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
plugins_rmsnorm_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS)
plugins_rmsnorm_la_LIBADD = $(LIBM)

plugins_containers_la_SOURCES = plugins/containers.c
plugins_containers_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
plugins_containers_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
plugins_containers_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS)

# torchvision 0.14's classification models from their printed form: one
# file per family group, the shared helpers in common.c (tv.h).
plugins_torchvision_la_SOURCES = plugins/torchvision/tv.h plugins/torchvision/common.c \
	plugins/torchvision/resnet.c plugins/torchvision/classic.c plugins/torchvision/mobile.c \
	plugins/torchvision/densenet.c plugins/torchvision/regnet.c plugins/torchvision/convnext.c \
	plugins/torchvision/inception.c plugins/torchvision/vit.c \
	plugins/torchvision/swin.c
plugins_torchvision_la_CPPFLAGS = $(LAM_PLUGIN_CPPFLAGS)
plugins_torchvision_la_CFLAGS = $(LAM_PLUGIN_CFLAGS)
plugins_torchvision_la_LDFLAGS = $(LAM_PLUGIN_LDFLAGS)
plugins_torchvision_la_LIBADD = $(LIBM)

# The loader needs only the .so: drop libtool's .la files (as Debian does),
# and remove the .so files ourselves on uninstall, since libtool's uninstall
# finds them through the .la files (distcheck checks that nothing is left).
install-data-hook:
	for p in $(LAM_SHIPPED_PLUGINS); do rm -f "$(DESTDIR)$(plugindir)/$$p.la"; done
uninstall-hook:
	for p in $(LAM_SHIPPED_PLUGINS); do rm -f "$(DESTDIR)$(plugindir)/$$p.so"; done

EXTRA_DIST += docs/plugins.md
