/* lamina — version macros, the runtime version query, and the ABI policy.
 *
 * The version is written here and in AC_INIT of configure.ac (which gives
 * lam_version() and lamina.pc's Version); configure refuses to run when the
 * two differ (tools/version.sh reads the numbers below), and
 * tests/test_version checks the built library against this header.
 *
 * Compile time vs run time: the macros say which lamina a program was
 * COMPILED against, lam_version() / lam_version_number() which liblamina it
 * RUNS with (the same soname may be a newer release).
 *
 *     #if LAM_VERSION_AT_LEAST(0, 2, 0)
 *         ... use something 0.2.0 added ...
 *     #endif
 *     if (lam_version_number() < LAM_VERSION_ENCODE(0, 2, 0)) ...
 *
 * ABI policy
 *
 * liblamina: the shared library's interface version is libtool's
 * -version-info current:revision:age (LAM_LT_VERSION in configure.ac),
 * changed only when a release is made, never per commit, by libtool's rules:
 *   - only the implementation changed:          revision + 1;
 *   - functions, enum values or flags added:    current + 1, revision = 0,
 *                                               age + 1;
 *   - anything removed or changed incompatibly: current + 1, revision = 0,
 *                                               age = 0;
 * so the soname (liblamina.so.<current - age>) changes exactly when a
 * program built against the old library could break with the new one.
 * What counts as the ABI: every LAM_API function's signature and meaning,
 * the numbers of the public enums (lam_status, lam_activation, lam_log_level,
 * lam_value_kind, ...: new values are appended, existing ones keep their
 * number), and the layout of the structs the headers show (lam_value,
 * lam_kwarg, lam_custom_spec, lam_model_options, lam_incompatible_keys and
 * the plugin structs).  The handles (lam_tensor, lam_module,
 * lam_plan, lam_state_dict, lam_plugin, lam_registry) are opaque: their
 * contents may change in any release.  Before 1.0.0, a minor release
 * (0.x -> 0.y) may change the API; the soname says whether the ABI did.
 *
 * Plugins: the plugin ABI is versioned on its own, by LAM_PLUGIN_ABI_MAJOR
 * and LAM_PLUGIN_ABI_MINOR in <lamina/plugin.h>, not by the library version.
 * The major changes when something becomes incompatible (a field moves or
 * changes type or meaning), the minor when fields are appended to a struct
 * (the descriptor, lam_layer_type, the host table, the ops table) or flags
 * are added.  A host loads a plugin when the majors are equal and the
 * plugin's minor is not newer than the host's; every struct carries its size
 * and the host tables are append-only, so a plugin built for an older minor
 * keeps working.  Plugins never link against liblamina, so a liblamina soname
 * change does not by itself require rebuilding them.  docs/plugins.md has the
 * details.
 *
 * Threads: everything here is constant; call it from any thread. */
#ifndef LAMINA_VERSION_H
#define LAMINA_VERSION_H

#include "common.h"

/* tools/version.sh reads these three lines: keep their form, and change
 * AC_INIT in configure.ac with them. */
#define LAM_VERSION_MAJOR 0
#define LAM_VERSION_MINOR 1
#define LAM_VERSION_PATCH 0

#define LAM__VERSION_STR2(x) #x
#define LAM__VERSION_STR(x) LAM__VERSION_STR2(x)
/* "MAJOR.MINOR.PATCH" of the headers, "0.1.0": a string literal. */
#define LAM_VERSION_STRING                                                                         \
    LAM__VERSION_STR(LAM_VERSION_MAJOR)                                                            \
    "." LAM__VERSION_STR(LAM_VERSION_MINOR) "." LAM__VERSION_STR(LAM_VERSION_PATCH)

/* One integer that orders versions: MAJOR * 1000000 + MINOR * 1000 + PATCH
 * (0.1.0 is 1000; each part below 1000). */
#define LAM_VERSION_ENCODE(major, minor, patch)                                                    \
    ((major) * 1000000L + (minor) * 1000L + (patch))
#define LAM_VERSION_NUMBER LAM_VERSION_ENCODE(LAM_VERSION_MAJOR, LAM_VERSION_MINOR, LAM_VERSION_PATCH)

/* True when the headers are version major.minor.patch or newer (usable in #if). */
#define LAM_VERSION_AT_LEAST(major, minor, patch)                                                  \
    (LAM_VERSION_NUMBER >= LAM_VERSION_ENCODE(major, minor, patch))

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the liblamina in use, encoded as LAM_VERSION_NUMBER is
 * (compare it with LAM_VERSION_ENCODE(...)).  lam_version() in
 * <lamina/common.h> gives the same version as a string. */
LAM_API long lam_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
