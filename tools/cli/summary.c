/* lamina summary — a table of every module: path, type, output shape for a
 * given input shape, parameters (like torchinfo.summary).
 *
 * Shapes come from lam_module_output_shape; a custom module that declares no
 * shape is run once on zeros instead.  Children are given shapes in order,
 * each taking the previous one's output: exact for Sequential, the usual
 * reading of a ModuleList walked by a custom forward (shown "?" once a child
 * does not fit; a ModuleList itself has no output: "--"). */
#include "tools/cli/cli.h"
#include <stdlib.h>
#include <string.h>

static const char summary_help[] =
    "Usage: lamina summary MODEL --input-shape D0,D1,... [options]\n"
    "Print every module of MODEL with its output shape for an input of the given\n"
    "shape (batch first, e.g. 1,10) and its parameter count, then the totals.\n"
    "\n"
    "  -s, --input-shape SHAPE  input shape, comma separated (1 to 4 dims)\n"
    "  -w, --weights W.safetensors   load (and check) weights first\n"
    "      --no-strict          report missing/unexpected weight keys and go on\n"
    "  -p, --plugin P.so        load a layer plugin first (repeatable)\n"
    "      --condition          pass condition=True to custom forwards\n"
    "      --seed S, --threads N     as for 'lamina run'\n"
    "  -h, --help               show this help\n";

typedef struct row {
    bool no_forward; /* a ModuleList: no output of its own */
    char *path;
    const char *type;
    int depth;
    bool known;
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
    int64_t params;
} row;

typedef struct table {
    row *rows;
    size_t n, cap;
    bool condition;
} table;

/* output shape of m, by inference or by running it on zeros */
static lam_status shape_of(table *T, lam_module *m, int ndim, const int64_t *in, int *ondim,
                           int64_t *out)
{
    lam_status st = lam_module_output_shape(m, ndim, in, ondim, out);
    if (st != LAM_ERR_NOT_IMPLEMENTED)
        return st;
    lam_tensor *x, *y;
    st = lam_tensor_create(&x, ndim, in);
    if (st)
        return st;
    bool cond = T->condition;
    st = lam_module_forward_args(m, x, &cond, &y);
    lam_tensor_release(x);
    if (st)
        return st;
    *ondim = lam_tensor_ndim(y);
    memcpy(out, lam_tensor_shape(y), (size_t)*ondim * sizeof *out);
    lam_tensor_release(y);
    return LAM_OK;
}

/* adds m's row, then its children's; returns an exit code */
static int visit(table *T, lam_module *m, const char *path, int depth, bool have_in, int ndim,
                 const int64_t *in, row **out_row)
{
    if (T->n == T->cap) {
        size_t cap = T->cap ? T->cap * 2 : 32;
        row *r = realloc(T->rows, cap * sizeof *r);
        if (!r)
            return cli_fail("out of memory");
        T->rows = r;
        T->cap = cap;
    }
    size_t idx = T->n++;
    row *r = &T->rows[idx];
    memset(r, 0, sizeof *r);
    r->path = strdup(*path ? path : "(model)");
    if (!r->path)
        return cli_fail("out of memory");
    r->type = lam_module_type_name(m);
    r->depth = depth;
    r->params = lam_module_num_parameters(m);
    r->no_forward = lam_module_is_modulelist(m);
    if (have_in && !r->no_forward) {
        lam_status st = shape_of(T, m, ndim, in, &r->ndim, r->shape);
        if (st == LAM_OK)
            r->known = true;
        else if (depth == 0)
            return cli_fail_status(st, "cannot compute the output shape");
    }
    bool chain = have_in;
    int cur_ndim = ndim;
    int64_t cur[LAM_MAX_DIMS];
    if (have_in)
        memcpy(cur, in, (size_t)ndim * sizeof *cur);
    for (size_t i = 0; i < lam_module_num_children(m); i++) {
        const char *name;
        lam_module *child = lam_module_child_at(m, i, &name);
        size_t n = strlen(path) + strlen(name) + 2;
        char *p = malloc(n);
        if (!p)
            return cli_fail("out of memory");
        snprintf(p, n, "%s%s%s", path, *path ? "." : "", name);
        row *cr;
        int rc = visit(T, child, p, depth + 1, chain, cur_ndim, cur, &cr);
        free(p);
        if (rc)
            return rc;
        if (chain && cr->known) {
            cur_ndim = cr->ndim;
            memcpy(cur, cr->shape, sizeof cur);
        } else {
            chain = false;
        }
    }
    *out_row = &T->rows[idx]; /* rows may have moved */
    return CLI_OK;
}

static void shape_text(const row *r, char *buf, size_t size)
{
    if (r->no_forward)
        snprintf(buf, size, "--");
    else if (!r->known)
        snprintf(buf, size, "?");
    else
        lam_shape_str(r->ndim, r->shape, buf, size);
}

static void print_table(const table *T, int ndim, const int64_t *in)
{
    size_t wp = strlen("Module"), wt = strlen("Type"), ws = strlen("Output Shape");
    char buf[128];
    for (size_t i = 0; i < T->n; i++) {
        size_t p = strlen(T->rows[i].path) + 2 * (size_t)T->rows[i].depth;
        wp = p > wp ? p : wp;
        size_t t = strlen(T->rows[i].type);
        wt = t > wt ? t : wt;
        shape_text(&T->rows[i], buf, sizeof buf);
        ws = strlen(buf) > ws ? strlen(buf) : ws;
    }
    int total = (int)(wp + wt + ws + 6 + 12);
    printf("%-*s  %-*s  %-*s  %12s\n", (int)wp, "Module", (int)wt, "Type", (int)ws,
           "Output Shape", "Param #");
    printf("%.*s\n", total, "=================================================================="
                            "==================================================================");
    for (size_t i = 0; i < T->n; i++) {
        const row *r = &T->rows[i];
        shape_text(r, buf, sizeof buf);
        printf("%*s%-*s  %-*s  %-*s  %12lld\n", 2 * r->depth, "",
               (int)wp - 2 * r->depth, r->path, (int)wt, r->type, (int)ws, buf,
               (long long)r->params);
    }
    printf("%.*s\n", total, "=================================================================="
                            "==================================================================");
    long long params = T->n ? (long long)T->rows[0].params : 0;
    printf("Total params: %lld\n", params);
    printf("Trainable params: %lld\n", params);
    printf("Non-trainable params: 0\n");
    printf("Input shape: %s\n", lam_shape_str(ndim, in, buf, sizeof buf));
    if (T->n)
        shape_text(&T->rows[0], buf, sizeof buf);
    printf("Output shape: %s\n", buf);
    printf("Params size (MB): %.2f\n", (double)params * 4.0 / 1e6);
}

static int summary_option(int opt, const char *arg, void *user)
{
    if (opt != 's' && opt != OPT_INPUT_SHAPE)
        return -1;
    *(const char **)user = arg;
    return CLI_OK;
}

int cmd_summary(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_MODEL_OPTIONS,
        {"input-shape", required_argument, NULL, OPT_INPUT_SHAPE},
        {NULL, 0, NULL, 0},
    };
    cli_common c = {.strict = 1};
    const char *shape = NULL;
    int rc = cli_parse_args(argc, argv, "summary", summary_help, ":s:w:p:t:h", opts, &c,
                            summary_option, &shape, "MODEL");
    if (rc != CLI_CONTINUE)
        goto out;
    if (!shape) {
        rc = cli_usage("summary", "missing --input-shape (e.g. --input-shape 1,10)");
        goto out;
    }
    int64_t in[LAM_MAX_DIMS];
    int ndim = cli_parse_shape(shape, in);
    if (ndim < 0) {
        rc = cli_usage("summary", "--input-shape needs 1 to %d positive sizes like 1,10, got '%s'",
                       LAM_MAX_DIMS, shape);
        goto out;
    }
    lam_module *m;
    if ((rc = cli_load_model(&c, &m)) != 0)
        goto out;
    table T = {.condition = c.condition};
    row *root;
    rc = visit(&T, m, "", 0, true, ndim, in, &root);
    if (!rc)
        print_table(&T, ndim, in);
    for (size_t i = 0; i < T.n; i++)
        free(T.rows[i].path);
    free(T.rows);
    lam_module_release(m);
out:
    cli_common_free(&c);
    return rc;
}
