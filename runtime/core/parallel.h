/* The thread owner's interface (runtime/core/parallel.c). */
#ifndef LAMINA_RUNTIME_CORE_PARALLEL_H
#define LAMINA_RUNTIME_CORE_PARALLEL_H

#include "runtime/core/core.h"

/* True inside the caller's OpenMP parallel region, on lamina's worker
 * threads, and while a caller runs its share of lam__parallel's tasks. */
bool lam__in_parallel(void);
/* Threads a call made now may use: 1 inside a parallel region; at most the
 * threads this thread's pool could start, once it met a limit. */
int lam__threads_for_call(void);

/* Run fn(ctx, i, nth) for every i in [0, nth), each exactly once: on up to
 * nth threads (the caller and its pool's workers; fewer when no more could
 * be started), or serially on the caller when nth <= 1 or inside a parallel
 * region.  Returns when every task has returned. */
typedef void (*lam__task_fn)(void *ctx, int ith, int nth);
void lam__parallel(int nth, lam__task_fn fn, void *ctx);

/* The ith of nth contiguous chunks of [0, n), aligned to `align`. */
void lam__split_range(int64_t n, int ith, int nth, int64_t align, int64_t *begin, int64_t *end);

#endif
