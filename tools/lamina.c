/* lamina — run, inspect and time PyTorch-style models from the command line.
 *
 *   lamina run MODEL --input X.npy [--weights W.safetensors] [--output Y.npy] ...
 *   lamina summary MODEL --input-shape 1,10 ...
 *   lamina bench MODEL --batch B ...
 *   lamina info
 *
 * Exit status: 0 success, 1 a bad model/weights/input/plugin or output that
 * could not be written (the message on stderr starts "lamina: error:"),
 * 2 bad usage. */
#include "tools/cli/cli.h"
#include <string.h>

static const char main_help[] =
    "Usage: lamina COMMAND [options]\n"
    "Run PyTorch-style models (a .lam file holding what print(model) shows, and\n"
    "the state_dict as safetensors) on the CPU.\n"
    "\n"
    "Commands:\n"
    "  run       run the model on an input .npy and print or save the output\n"
    "  summary   list every module with its output shape and parameter count\n"
    "  bench     measure throughput and latency at a batch size\n"
    "  info      version, CPU features, kernels, threads, plugins, layer types\n"
    "\n"
    "'lamina COMMAND --help' describes each command.  Options:\n"
    "  -h, --help       show this help\n"
    "  -V, --version    show the version\n"
    "\n"
    "Exit status: 0 success, 1 bad model/weights/input/plugin, 2 bad usage.\n";

static int dispatch(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage(NULL, "missing COMMAND (run, summary, bench or info)");
    const char *cmd = argv[1];
    /* the library's warnings, on stderr; run and bench start them themselves,
     * after MPI_Init with --mpi, so that every line has the rank prefix */
    if (strcmp(cmd, "run") && strcmp(cmd, "bench"))
        cli_log_start();
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(main_help, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("lamina %s\n", lam_version());
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", cmd_run}, {"summary", cmd_summary}, {"bench", cmd_bench}, {"info", cmd_info}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return cli_usage(NULL, "unknown option '%s'", cmd);
    return cli_usage(NULL, "unknown command '%s' (run, summary, bench or info)", cmd);
}

int main(int argc, char **argv)
{
    /* output that did not reach stdout (a full disk, /dev/full) is a failure */
    return cli_close_stdout(dispatch(argc, argv));
}
