/* lamina command — shared declarations for the subcommands. */
#ifndef LAMINA_CLI_H
#define LAMINA_CLI_H

#include <lamina/lamina.h>
#include <lamina/model.h>
#include <lamina/io.h>
#include <getopt.h>
#include <stdio.h>

/* Exit codes: 0 success, 1 a bad model/weights/input/plugin, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* What messages start with: "lamina", or "lamina: rank R" in an MPI run. */
extern char cli_prefix[32];
/* "lamina: error: <fmt>" on stderr; returns CLI_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "lamina: error: <what>: <lam_last_error()>"; returns CLI_FAIL. */
int cli_fail_status(lam_status st, const char *what);
/* lamina run's result: a tensor (y), a tuple (ys) or None, printed (output
 * NULL) or written: OUT.npz holds every tensor of the tuple (members "0.npy",
 * "1.npy", "1.0.npy" for nested ones; Nones left out); OUT.npy holds a
 * tensor, or for a tuple each tensor goes to OUT.0.npy, OUT.1.npy, ... */
int cli_write_outputs(const lam_tensor *y, const lam_tuple *ys, const char *output);
/* "lamina CMD: error: <fmt>" + a pointer to --help; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The library's log callback: "lamina: warning: <message>" on stderr. */
void cli_log(lam_log_level level, const char *message, void *user);
/* Installs cli_log (once; later calls do nothing).  The first installation
 * makes the library log its kernel choice (LAMINA_VERBOSE=1), so run and
 * bench install it only once they know whether they are an MPI rank: after
 * MPI_Init, with the rank in cli_prefix. */
void cli_log_start(void);

/* Options several subcommands share. */
typedef struct cli_common {
    const char *model;
    const char *weights;
    const char **plugins;
    int n_plugins;
    int threads;        /* 0 = default */
    unsigned long long seed;
    int strict;         /* 1 unless --no-strict */
    int condition;      /* --condition: the per-call flag for custom forwards */
    const char **sets;  /* --set PATH.ARG=VALUE, in order (lam_model_set_arg) */
    int n_sets;
} cli_common;

/* Long-option ids shared by the subcommands' getopt_long tables. */
enum {
    OPT_WEIGHTS = 256, OPT_PLUGIN, OPT_THREADS, OPT_SEED, OPT_NO_STRICT, OPT_CONDITION,
    OPT_INPUT, OPT_OUTPUT, OPT_INPUT_SHAPE, OPT_BATCH, OPT_SECONDS, OPT_JSON, OPT_HELP,
    OPT_WARMUP, OPT_MPI, OPT_CHUNK_ROWS, OPT_SET, OPT_MPI_IO,
};
/* getopt_long table entries for the options every model command takes */
#define CLI_MODEL_OPTIONS                                                                          \
    {"weights", required_argument, NULL, OPT_WEIGHTS},                                            \
        {"plugin", required_argument, NULL, OPT_PLUGIN},                                          \
        {"threads", required_argument, NULL, OPT_THREADS},                                        \
        {"seed", required_argument, NULL, OPT_SEED},                                              \
        {"no-strict", no_argument, NULL, OPT_NO_STRICT},                                          \
        {"condition", no_argument, NULL, OPT_CONDITION},                                          \
        {"set", required_argument, NULL, OPT_SET}, {"help", no_argument, NULL, OPT_HELP}

/* Handles a shared option: 0 done, -1 not a shared option, else an exit code. */
int cli_common_option(cli_common *c, const char *cmd, int opt, const char *arg);

/* A command's own options: 0 handled, an exit code (a usage error), or -1
 * when `opt` is not one of them. */
typedef int (*cli_option_fn)(int opt, const char *arg, void *user);
enum { CLI_CONTINUE = -1 };
/* The argument parsing every command shares: getopt_long over `shortopts`
 * and `longopts`; each option goes to `own` first (may be NULL), then to
 * the shared ones (-w, -p, -t, -s and CLI_MODEL_OPTIONS); --help prints
 * `help`; a missing value or an unknown option is a usage error.  The
 * operands: one, named `operand` in messages ("MODEL"), stored in c->model;
 * none when `operand` is NULL.  Returns CLI_CONTINUE to go on, or the exit
 * code to return now (CLI_OK after --help). */
int cli_parse_args(int argc, char **argv, const char *cmd, const char *help, const char *shortopts,
                   const struct option *longopts, cli_common *c, cli_option_fn own, void *user,
                   const char *operand);
/* Frees what cli_common_option allocated. */
void cli_common_free(cli_common *c);

/* Parses a decimal integer in [lo, hi]; 0 on success. */
int cli_parse_int(const char *s, long long lo, long long hi, long long *out);
/* "1,10" or "1x10" into dims (1..LAM_MAX_DIMS, each >= 1); ndim or -1. */
int cli_parse_shape(const char *s, int64_t *dims);

/* One positional input of summary or bench: --input-shape SHAPE[:DTYPE]
 * (repeatable, in the forward's order, as run's --input), or 'none' (None).
 * SHAPE is "5,8" or "5x8"; with allow_batch one size may be 'B' (bench's
 * --batch).  DTYPE is float32 (the default), int64 (token ids) or bool. */
typedef struct cli_input_spec {
    bool none;
    lam_dtype dtype;
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int batch_at; /* the index of 'B' in shape, or -1 */
} cli_input_spec;
/* 0, or -1 with `why` saying what is wrong (a static string). */
int cli_parse_input_spec(const char *s, bool allow_batch, cli_input_spec *out, const char **why);
/* The inputs a forward gets from specs: float32 ones from the generator
 * `seed` in [-1, 1) (random) or zeros, int64 ones zeros (token id 0, valid
 * for any Embedding), bool ones False.  *out NULL for 'none'.  A status. */
lam_status cli_input_tensor(const cli_input_spec *sp, bool random, unsigned long long seed,
                            lam_tensor **out);
/* "[1, 16] int64" (no dtype for float32), "None" */
void cli_input_str(const lam_tensor *x, char *buf, size_t size);

/* Applies --threads and --seed, loads plugins, the model and the weights.
 * Returns CLI_OK with *out set, or an exit code after printing the error. */
int cli_load_model(const cli_common *c, lam_module **out);
/* Loads every --plugin (exit code). */
int cli_load_plugins(const cli_common *c);
/* The plugin search path, the plugins found there and their types (exit code). */
int cli_print_plugins(FILE *fp);

/* s as a JSON string literal. */
void cli_json_string(FILE *fp, const char *s);
/* s as it is, except that control characters (C0, DEL, C1), bytes that are
 * not UTF-8 and '\\' are written as \xNN / \\: for text from plugins and
 * file names, which must not drive the terminal. */
void cli_print_text(FILE *fp, const char *s);

/* Flushes and closes stdout; if anything written there was lost, reports
 * "cannot write to standard output" and returns CLI_FAIL (when rc is
 * CLI_OK; otherwise rc, whose error is already reported). */
int cli_close_stdout(int rc);

/* Each module of the tree, pre-order, with its dotted path ("" for the root). */
typedef int (*cli_visit_fn)(lam_module *m, const char *path, int depth, void *user);
int cli_walk(lam_module *m, cli_visit_fn fn, void *user);

#ifdef LAM_HAVE_MPI
/* tools/cli/mpi.c: the --mpi forms of run and bench (they call MPI_Init
 * and MPI_Finalize themselves), and "Open MPI v4.1.4" for info.  A rank's
 * default thread count is the cores it is bound to. */
int cli_mpi_run(const cli_common *c, int n_inputs, const char **inputs, const char *output,
                long long chunk_rows, bool mpi_io);
void cli_mpi_library(char *buf, size_t size);
/* bench --mpi: begin (MPI_Init), agree on the set-up's exit code (every
 * rank's, as one), measure and report on rank 0, end (MPI_Finalize). */
typedef struct cli_bench_run {
    lam_module *m;
    lam_tensor *x;
    bool condition, json;
    long long batch;
    double seconds, flops_per_row;
    const char *model, *in_shape;
} cli_bench_run;
int cli_mpi_bench_begin(cli_common *c); /* also sets c->threads for the rank */
int cli_mpi_bench_agree(int rc);
int cli_mpi_bench_measure(const cli_bench_run *b);
int cli_mpi_bench_end(int rc);
#endif

int cmd_run(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
