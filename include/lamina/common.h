/* lamina — common definitions: export macro, status codes, errors.
 *
 * Every lamina function that can fail returns a lam_status.  On failure a
 * thread-local message (lam_last_error()) says what failed and where, e.g.
 *   "Sequential[4] Linear(in_features=10): input has 2 features".
 * The library never calls abort() or exit() on bad input, bad files, bad
 * plugins or allocation failure.
 *
 * NULL pointers: an argument the header does not say may be NULL gives
 * LAM_ERR_INVALID_ARGUMENT with "<function>: <argument> is NULL"
 * ("lam_tensor_create: out is NULL").  A function that returns a value
 * instead returns NULL, 0 or false (-1 where it says so) and sets the same
 * message.  Release and free functions take NULL as a no-op, as free() does,
 * and leave the message alone.  An array of n items may be NULL when n is 0;
 * user data (`void *user`, `void *args`) is the caller's and may be NULL.
 *
 * Threads: every function here may be called from any thread.  The last
 * error is per thread: lam_last_error() and lam_clear_error() see only the
 * calling thread's failures.  lam_set_num_threads is process-wide: it sets
 * the count for the later forwards of every thread (a plan keeps the count it
 * was made with), and each thread that runs forwards gets its own lamina
 * worker threads.  lam_manual_seed and the layer constructors share one
 * generator behind a lock: safe from several threads at once, but weights
 * are reproducible only when one thread seeds and creates.  The log
 * callback's rules are at lam_set_log_callback. */
#ifndef LAMINA_COMMON_H
#define LAMINA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(LAMINA_BUILDING) && defined(__GNUC__)
#define LAM_API __attribute__((visibility("default")))
#else
#define LAM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lam_status {
    LAM_OK = 0,
    LAM_ERR_INVALID_ARGUMENT, /* an argument has a bad value (NULL, negative size, ...) */
    LAM_ERR_SHAPE,            /* tensor shapes do not fit the operation */
    LAM_ERR_INDEX,            /* an index is out of range */
    LAM_ERR_TYPE,             /* an object of the wrong kind (PyTorch's TypeError) */
    LAM_ERR_KEY,              /* a bad or missing name (PyTorch's KeyError) */
    LAM_ERR_NOT_IMPLEMENTED,  /* e.g. forward on a bare ModuleList */
    LAM_ERR_STATE_DICT,       /* load_state_dict found missing/unexpected/mismatched keys */
    LAM_ERR_NO_MEMORY,        /* an allocation failed */
    LAM_ERR_IO,               /* a file could not be opened, read or written */
    LAM_ERR_FORMAT,           /* a malformed file (model, weights, array) */
    LAM_ERR_PLUGIN,           /* a plugin could not be loaded or registered */
    LAM_ERR_RUNTIME,          /* a forward failed for another reason */
} lam_status;

/* A short constant name for a status ("shape error"); never NULL. */
LAM_API const char *lam_status_str(lam_status status);

/* The message of the last failure on this thread ("" when none).  Valid
 * until the next lamina call on this thread. */
LAM_API const char *lam_last_error(void);

/* Forget the last message on this thread. */
LAM_API void lam_clear_error(void);

/* Library version as "MAJOR.MINOR.PATCH" (the liblamina in use; the version
 * macros and lam_version_number() are in <lamina/version.h>). */
LAM_API const char *lam_version(void);

/* Seed the default generator used for parameter initialisation and dropout
 * masks (torch.manual_seed).  Two runs with one seed give identical weights. */
LAM_API void lam_manual_seed(uint64_t seed);

/* Threads used by forwards.  Precedence: the value set here (n >= 1) >
 * LAMINA_NUM_THREADS > OMP_NUM_THREADS > the CPUs this process may run on
 * (its CPU affinity mask, read at the first call: `taskset -c 0` or an MPI
 * rank bound to one core gives 1; the online CPUs where there is no mask to
 * read).  n <= 0 goes back to the environment/CPUs default.  Called from
 * inside someone else's OpenMP parallel region, lamina runs serially instead
 * of nesting. */
LAM_API void lam_set_num_threads(int n);
LAM_API int lam_get_num_threads(void);

/* The kernel ISA in use: "avx512", "avx2", "neon" or "scalar" (LAMINA_MAX_ISA caps it). */
LAM_API const char *lam_kernel_isa(void);

/* Free memory that lamina returned to the caller as a string (reprs). */
LAM_API void lam_free(void *ptr);


/* ---- log messages ----
 * lamina never writes to stderr or stdout by itself (only where a call asks
 * for it, as lam_tensor_print does).  What it has to say outside a status --
 * warnings such as "threads: could not start thread 12 of 64 (Resource
 * temporarily unavailable); running on 11 threads", the kernel choice under
 * LAMINA_VERBOSE=1, and the lines plugins write with host->log -- goes to the
 * callback the application installs, and nowhere while none is installed
 * (the default).  The `lamina` command installs one that prints
 * "lamina: warning: ..." to stderr. */
typedef enum lam_log_level {
    LAM_LOG_DEBUG = 0,
    LAM_LOG_INFO = 1,
    LAM_LOG_WARNING = 2,
    LAM_LOG_ERROR = 3,
} lam_log_level;

/* One message: a single line without a trailing newline and without a
 * "lamina:" prefix, valid only during the call.  `user` is the pointer given
 * to lam_set_log_callback. */
typedef void (*lam_log_fn)(lam_log_level level, const char *message, void *user);

/* Sends lamina's messages to fn (NULL: drop them, the default).  Warnings
 * and errors are always delivered; debug and info messages only when the
 * environment has LAMINA_VERBOSE=1 (then the first installation also reports
 * the kernel ISA chosen, "kernels: avx2").  A LAMINA_MAX_ISA that names no
 * ISA is reported as a warning.
 *
 * Threads: the callback may be called from any thread -- the caller's, or
 * one of lamina's worker threads -- and from several at once, so it must be
 * thread-safe.  lam_set_log_callback may be called at any time from any
 * thread; when it returns, the previous callback is no longer running and
 * will not be called again (so its `user` may be freed).  The callback must
 * not call lam_set_log_callback (that waits for the callback to return); it
 * may call other lamina functions. */
LAM_API void lam_set_log_callback(lam_log_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
