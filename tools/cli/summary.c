/* lamina summary — a table of every module: path, type, output shape for
 * a given input shape, parameters (like torchinfo.summary).
 *
 * The shapes are those the model actually produces: it is run once on zeros
 * of the input shape with a forward hook (lam_set_forward_hook) that records
 * each module's output shape the first time it is called.  So every module
 * gets the shape its caller really fed it -- the children of a Sequential,
 * of a custom forward or of a plugin container alike -- without the module
 * declaring anything.  The limits are those of any traced run: a forward
 * that branches on values sees zeros (and --condition's flag); a module the
 * forward does not call shows "(not run)"; a module called more than once
 * shows its first call's shape.  A ModuleList has no output of its own
 * ("--").  A forward that fails stops the summary with its error, which
 * names the failing module's path. */
#include "tools/cli/cli.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char summary_help[] =
    "Usage: lamina summary MODEL --input-shape D0,D1,... [options]\n"
    "Print every module of MODEL with its output shape for an input of the given\n"
    "shape (batch first, e.g. 1,10) and its parameter count, then the totals.\n"
    "The shapes are those seen when the model runs once on zeros of that shape.\n"
    "\n"
    "  -s, --input-shape SHAPE  input shape, comma separated (1 to 4 dims)\n"
    "  -w, --weights W.safetensors   load (and check) weights first\n"
    "      --no-strict          report missing/unexpected weight keys and go on\n"
    "      --set PATH.ARG=VALUE an argument PyTorch's repr does not print (num_heads,\n"
    "                           batch_first, norm_first, activation) for the module at\n"
    "                           PATH and those under it; repeatable\n"
    "  -p, --plugin P.so        load a layer plugin first (repeatable)\n"
    "      --condition          pass condition=True to custom forwards\n"
    "      --seed S, --threads N     as for 'lamina run'\n"
    "  -h, --help               show this help\n";

/* ---- the output shapes seen, by module (open addressing on the pointer) ---- */

typedef struct seen {
    const lam_module *m; /* NULL: empty slot */
    int ndim;
    int64_t shape[LAM_MAX_DIMS];
} seen;

typedef struct recorder {
    seen *slots;
    size_t cap, n; /* cap: a power of two */
    bool oom;
} recorder;

static size_t slot_of(const recorder *r, const lam_module *m)
{
    uintptr_t h = (uintptr_t)m;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 7) & (r->cap - 1);
    while (r->slots[i].m && r->slots[i].m != m)
        i = (i + 1) & (r->cap - 1);
    return i;
}

static const seen *lookup(const recorder *r, const lam_module *m)
{
    if (!r->cap)
        return NULL;
    const seen *s = &r->slots[slot_of(r, m)];
    return s->m ? s : NULL;
}

static bool grow(recorder *r)
{
    size_t cap = r->cap ? r->cap * 2 : 64;
    recorder g = {calloc(cap, sizeof *g.slots), cap, 0, false};
    if (!g.slots)
        return false;
    for (size_t i = 0; i < r->cap; i++)
        if (r->slots[i].m)
            g.slots[slot_of(&g, r->slots[i].m)] = r->slots[i];
    g.n = r->n;
    free(r->slots);
    *r = g;
    return true;
}

/* the forward hook: the first call of each module */
static void record(lam_module *m, const lam_tensor *in, const lam_tensor *out, void *user)
{
    (void)in;
    recorder *r = user;
    if (r->oom || lookup(r, m))
        return;
    if (2 * (r->n + 1) > r->cap && !grow(r)) {
        r->oom = true;
        return;
    }
    seen *s = &r->slots[slot_of(r, m)];
    s->m = m;
    s->ndim = lam_tensor_ndim(out);
    memcpy(s->shape, lam_tensor_shape(out), (size_t)s->ndim * sizeof *s->shape);
    r->n++;
}

/* ---- the table ---- */

typedef struct row {
    bool no_forward; /* a ModuleList: no output of its own */
    char *path;
    const char *type;
    int depth;
    const seen *shape; /* NULL: not run */
    int64_t params;
} row;

typedef struct table {
    row *rows;
    size_t n, cap;
    const recorder *rec;
} table;

static int add_row(lam_module *m, const char *path, int depth, void *user)
{
    table *T = user;
    if (T->n == T->cap) {
        size_t cap = T->cap ? T->cap * 2 : 32;
        row *r = realloc(T->rows, cap * sizeof *r);
        if (!r)
            return cli_fail("out of memory");
        T->rows = r;
        T->cap = cap;
    }
    row *r = &T->rows[T->n];
    memset(r, 0, sizeof *r);
    r->path = strdup(*path ? path : "(model)");
    if (!r->path)
        return cli_fail("out of memory");
    T->n++;
    r->type = lam_module_type_name(m);
    r->depth = depth;
    r->params = lam_module_num_parameters(m);
    r->no_forward = lam_module_is_modulelist(m);
    r->shape = lookup(T->rec, m);
    return CLI_OK;
}

static void shape_text(const row *r, char *buf, size_t size)
{
    if (r->no_forward)
        snprintf(buf, size, "--");
    else if (!r->shape)
        snprintf(buf, size, "(not run)");
    else
        lam_shape_str(r->shape->ndim, r->shape->shape, buf, size);
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
    /* run once on zeros, recording what every module outputs */
    recorder rec = {0};
    if (!lam_module_is_modulelist(m)) { /* a ModuleList has no forward */
        lam_tensor *x = NULL, *y = NULL;
        lam_status st = lam_tensor_create(&x, ndim, in);
        bool cond = c.condition;
        lam_set_forward_hook(record, &rec);
        if (!st)
            st = lam_module_forward_args(m, x, cond ? &cond : NULL, &y);
        lam_set_forward_hook(NULL, NULL);
        lam_tensor_release(x);
        lam_tensor_release(y);
        if (st)
            rc = cli_fail_status(st, "cannot compute the output shape");
        else if (rec.oom)
            rc = cli_fail("out of memory");
    }
    table T = {.rec = &rec};
    if (!rc)
        rc = cli_walk(m, add_row, &T);
    if (!rc)
        print_table(&T, ndim, in);
    for (size_t i = 0; i < T.n; i++)
        free(T.rows[i].path);
    free(T.rows);
    free(rec.slots);
    lam_module_release(m);
out:
    cli_common_free(&c);
    return rc;
}
