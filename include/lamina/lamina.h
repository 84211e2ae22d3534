/* lamina — a C runtime for neural-network inference on CPUs.  Umbrella header.
 *
 * Threads, in short (each header opens with the details): errors are per
 * thread; a module may be run from several threads at once, while changing
 * it needs it to yourself; a plan, and a tensor being written, belong to one
 * thread at a time; the registry, the plugin loader, the log callback and the
 * thread count are process-wide and may be used from any thread. */
#ifndef LAMINA_H
#define LAMINA_H

#include "common.h"
#include "version.h"
#include "activation.h"
#include "tensor.h"
#include "module.h"
#include "container.h"
#include "layers.h"
#include "plan.h"
#include "registry.h"
#include "io.h"
#include "plugin.h"
#include "model.h"
#include "ops.h"
#include "kv_cache.h"

#endif
