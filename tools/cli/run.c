/* lamina run — one forward of a model on an input array. */
#include "tools/cli/cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char run_help[] =
    "Usage: lamina run MODEL --input X.npy [--input X2.npy ...] [options]\n"
    "Run the model described in MODEL (a .lam file: the text print(model) shows)\n"
    "on the array in X.npy and print the result as PyTorch prints a tensor.\n"
    "Several --input options are the forward's positional arguments, in order\n"
    "(forward(x, mask)); '--input none' passes None.  A model that returns a\n"
    "tuple prints it as Python does, or writes it as below.\n"
    "\n"
    "  -i, --input X.npy        the input: a float32 or float64 .npy, or int64/int32\n"
    "                           token ids ('<i8', '<i4') for a model that starts\n"
    "                           with Embedding, or a bool ('|b1') array\n"
    "  -o, --output Y.npy       write the output to Y.npy instead of printing it\n"
    "                           (a tuple: each tensor to Y.0.npy, Y.1.npy, ..., a\n"
    "                           nested one to Y.1.0.npy; Nones are not written);\n"
    "      --output Y.npz       write the output(s) to one .npz (numpy.savez's\n"
    "                           format: members 0.npy, 1.npy, 1.0.npy ...);\n"
    "                           '-' writes the .npy to standard output.  A file is\n"
    "                           replaced atomically (keeping its mode); a symlink is\n"
    "                           followed; a device, FIFO or hard-linked file is\n"
    "                           written in place\n"
    "  -w, --weights W.safetensors\n"
    "                           load parameters from a safetensors file (state_dict\n"
    "                           keys); without it they are initialised from --seed\n"
    "      --no-strict          report missing/unexpected weight keys and go on\n"
    "      --set PATH.ARG=VALUE an argument PyTorch's repr does not print (num_heads,\n"
    "                           batch_first, norm_first, activation) for the module at\n"
    "                           PATH and those under it; repeatable\n"
    "  -p, --plugin P.so        load a layer plugin first (repeatable; a bare name\n"
    "                           is looked up in the plugin search path)\n"
    "      --condition          pass condition=True to custom forwards (default False)\n"
    "  -t, --threads N          threads for the forward\n"
    "  -s, --seed S             seed for parameter initialisation (default 0)\n"
    "      --mpi                run as one rank of an MPI job (mpirun -n K lamina\n"
    "                           run --mpi ...): the rows of the input are split\n"
    "                           among the ranks, each reads and runs its rows a\n"
    "                           chunk at a time, and all write one --output .npy,\n"
    "                           byte-identical to a run in one process.  --input may\n"
    "                           be given several times (shards, read as one array\n"
    "                           concatenated along axis 0).  See docs/scale-out.md\n"
    "      --chunk-rows N       with --mpi: rows per forward (default: from the\n"
    "                           model's planned memory, about 64 MiB a chunk)\n"
    "      --mpi-io             with --mpi: write every output row with MPI-IO\n"
    "                           (default: whole pages with direct I/O where the\n"
    "                           file system takes it, bypassing the page cache)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Exit status: 0 success, 1 bad model/weights/input/plugin (with --mpi: on any\n"
    "rank), 2 bad usage.\n";

typedef struct run_args {
    const char *input, *output;
    const char **inputs; /* every --input, for --mpi */
    int n_inputs;
    int mpi, mpi_io;
    long long chunk_rows;
} run_args;

static int run_option(int opt, const char *arg, void *user)
{
    run_args *a = user;
    switch (opt) {
    case 'i': case OPT_INPUT: {
        const char **p = realloc(a->inputs, (size_t)(a->n_inputs + 1) * sizeof *p);
        if (!p)
            return cli_fail("out of memory");
        a->inputs = p;
        a->inputs[a->n_inputs++] = arg;
        a->input = arg;
        return CLI_OK;
    }
    case 'o': case OPT_OUTPUT: a->output = arg; return CLI_OK;
    case OPT_MPI: a->mpi = 1; return CLI_OK;
    case OPT_MPI_IO: a->mpi_io = 1; return CLI_OK;
    case OPT_CHUNK_ROWS:
        if (cli_parse_int(arg, 1, INT64_MAX, &a->chunk_rows))
            return cli_usage("run", "--chunk-rows needs a positive integer, got '%s'", arg);
        return CLI_OK;
    }
    return -1;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_MODEL_OPTIONS,
        {"input", required_argument, NULL, OPT_INPUT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"mpi", no_argument, NULL, OPT_MPI},
        {"chunk-rows", required_argument, NULL, OPT_CHUNK_ROWS},
        {"mpi-io", no_argument, NULL, OPT_MPI_IO},
        {NULL, 0, NULL, 0},
    };
    cli_common c = {.strict = 1};
    run_args a = {0};
    int rc = cli_parse_args(argc, argv, "run", run_help, ":i:o:w:p:t:s:h", opts, &c, run_option, &a,
                            "MODEL");
    if (rc != CLI_CONTINUE)
        goto out;
    if (!a.mpi)
        cli_log_start(); /* with --mpi, after MPI_Init (the rank prefix) */
    if (!a.input) {
        rc = cli_usage("run", "missing --input X.npy");
        goto out;
    }
    if (a.mpi) {
#ifdef LAM_HAVE_MPI
        rc = cli_mpi_run(&c, a.n_inputs, a.inputs, a.output, a.chunk_rows, a.mpi_io);
#else
        rc = cli_usage("run", "--mpi: this lamina was built without MPI (%s)", LAM_MPI_WHY);
#endif
        goto out;
    }
    if (a.chunk_rows || a.mpi_io) {
        rc = cli_usage("run", a.mpi_io ? "--mpi-io needs --mpi" : "--chunk-rows needs --mpi");
        goto out;
    }
    /* '-' is standard output, written where it points (see lam_npy_save) */
    const char *output = a.output && !strcmp(a.output, "-") ? "/dev/stdout" : a.output;

    lam_module *m = NULL;
    lam_tensor *y = NULL;
    lam_tuple *xs = NULL, *ys = NULL;
    if ((rc = cli_load_model(&c, &m)) != 0)
        goto out;
    /* the positional arguments: forward(*inputs) */
    lam_status st = lam_tuple_create(&xs, (size_t)a.n_inputs);
    for (int i = 0; !st && i < a.n_inputs; i++) {
        if (!strcmp(a.inputs[i], "none"))
            continue; /* None */
        lam_tensor *x = NULL;
        st = lam_npy_load(a.inputs[i], &x);
        if (!st)
            st = lam_tuple_set_tensor(xs, (size_t)i, x);
        lam_tensor_release(x);
    }
    if (st) {
        rc = cli_fail_status(st, NULL);
        goto done;
    }
    bool condition = c.condition;
    /* without --condition, custom forwards get no per-call argument (NULL):
     * a forward may take another kind of argument (a GPT's key/value cache) */
    st = lam_module_forward_multi(m, xs, condition ? &condition : NULL, &y, &ys);
    if (st) {
        rc = cli_fail_status(st, "forward");
        goto done;
    }
    rc = cli_write_outputs(y, ys, output); /* lamina.c checks that stdout took it all */
done:
    lam_tensor_release(y);
    lam_tuple_release(ys);
    lam_tuple_release(xs);
    lam_module_release(m);
out:
    free(a.inputs);
    cli_common_free(&c);
    return rc;
}
