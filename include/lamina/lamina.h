/* lamina — a C runtime for neural-network inference on CPUs.  Umbrella header. */
#ifndef LAMINA_H
#define LAMINA_H

#include "common.h"
#include "version.h"
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

#endif
