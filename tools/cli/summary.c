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
 * ("--").  The model's own row shows what the forward returned (a tuple as
 * "([2, 5, 8], [2, 5, 5])").  Several --input-shape options are the
 * forward's positional arguments, as run's --input options are; int64
 * inputs are zeros (token id 0) and bool ones False.  A forward that fails stops the summary with its error, which
 * names the failing module's path. */
#include "tools/cli/cli.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char summary_help[] =
    "Usage: lamina summary MODEL --input-shape D0,D1,...[:DTYPE] [options]\n"
    "Print every module of MODEL with its output shape for an input of the given\n"
    "shape (batch first, e.g. 1,10) and its parameter count, then the totals.\n"
    "The shapes are those seen when the model runs once on zeros of that shape.\n"
    "\n"
    "  -s, --input-shape SHAPE[:DTYPE]\n"
    "                           input shape, comma separated (1 to 4 dims); DTYPE\n"
    "                           float32 (default), int64 (token ids, given as 0)\n"
    "                           or bool (False).  Repeat it for a forward that takes\n"
    "                           several inputs, in order, as run's --input ('none'\n"
    "                           passes None): --input-shape 2,5,8 --input-shape\n"
    "                           2,7,8 --input-shape 2,7,8 for attention\n"
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
    const char *root; /* what the forward returned, for the model's row */
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

static void shape_text(const table *T, const row *r, char *buf, size_t size)
{
    if (r == &T->rows[0] && T->root)
        snprintf(buf, size, "%s", T->root);
    else if (r->no_forward)
        snprintf(buf, size, "--");
    else if (!r->shape)
        snprintf(buf, size, "(not run)");
    else
        lam_shape_str(r->shape->ndim, r->shape->shape, buf, size);
}

static void print_table(const table *T, const char *inputs)
{
    size_t wp = strlen("Module"), wt = strlen("Type"), ws = strlen("Output Shape");
    char buf[128];
    for (size_t i = 0; i < T->n; i++) {
        size_t p = strlen(T->rows[i].path) + 2 * (size_t)T->rows[i].depth;
        wp = p > wp ? p : wp;
        size_t t = strlen(T->rows[i].type);
        wt = t > wt ? t : wt;
        shape_text(T, &T->rows[i], buf, sizeof buf);
        ws = strlen(buf) > ws ? strlen(buf) : ws;
    }
    int total = (int)(wp + wt + ws + 6 + 12);
    printf("%-*s  %-*s  %-*s  %12s\n", (int)wp, "Module", (int)wt, "Type", (int)ws,
           "Output Shape", "Param #");
    printf("%.*s\n", total, "=================================================================="
                            "==================================================================");
    for (size_t i = 0; i < T->n; i++) {
        const row *r = &T->rows[i];
        shape_text(T, r, buf, sizeof buf);
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
    printf("Input shape: %s\n", inputs);
    if (T->n)
        shape_text(T, &T->rows[0], buf, sizeof buf);
    printf("Output shape: %s\n", buf);
    printf("Params size (MB): %.2f\n", (double)params * 4.0 / 1e6);
}

typedef struct summary_args {
    const char **shapes; /* every --input-shape, in order */
    int n;
} summary_args;

static int summary_option(int opt, const char *arg, void *user)
{
    if (opt != 's' && opt != OPT_INPUT_SHAPE)
        return -1;
    summary_args *a = user;
    const char **p = realloc(a->shapes, (size_t)(a->n + 1) * sizeof *p);
    if (!p)
        return cli_fail("out of memory");
    a->shapes = p;
    a->shapes[a->n++] = arg;
    return CLI_OK;
}

/* a bounded string (what does not fit is cut) */
typedef struct sbuf {
    char buf[1024];
    size_t len;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s), room = sizeof b->buf - 1 - b->len;
    n = n < room ? n : room;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

/* y, ys or None as the model's row shows it: "[2, 5]", "([2, 5], None)" */
static void val_text(sbuf *b, const lam_tensor *y, const lam_tuple *ys)
{
    char one[160];
    if (!ys) {
        cli_input_str(y, one, sizeof one);
        sb_add(b, one);
        return;
    }
    size_t n = lam_tuple_len(ys);
    sb_add(b, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_add(b, ", ");
        val_text(b, lam_tuple_tensor(ys, i), lam_tuple_tuple(ys, i));
    }
    sb_add(b, n == 1 ? ",)" : ")");
}

int cmd_summary(int argc, char **argv)
{
    static const struct option opts[] = {
        CLI_MODEL_OPTIONS,
        {"input-shape", required_argument, NULL, OPT_INPUT_SHAPE},
        {NULL, 0, NULL, 0},
    };
    cli_common c = {.strict = 1};
    summary_args a = {0};
    lam_tuple *xs = NULL;
    int rc = cli_parse_args(argc, argv, "summary", summary_help, ":s:w:p:t:h", opts, &c,
                            summary_option, &a, "MODEL");
    if (rc != CLI_CONTINUE)
        goto out;
    if (!a.n) {
        rc = cli_usage("summary", "missing --input-shape (e.g. --input-shape 1,10)");
        goto out;
    }
    /* the forward's positional arguments: zeros of each shape, or None */
    sbuf inputs = {{0}, 0};
    if (lam_tuple_create(&xs, (size_t)a.n)) {
        rc = cli_fail_status(LAM_ERR_NO_MEMORY, NULL);
        goto out;
    }
    for (int i = 0; i < a.n; i++) {
        cli_input_spec sp;
        const char *why;
        if (cli_parse_input_spec(a.shapes[i], false, &sp, &why)) {
            rc = cli_usage("summary",
                           "--input-shape needs 1 to %d positive sizes like 1,10, an optional "
                           ":int64 or :bool, or none; got '%s' (%s)",
                           LAM_MAX_DIMS, a.shapes[i], why);
            goto out;
        }
        lam_tensor *x = NULL;
        lam_status st = cli_input_tensor(&sp, false, 0, &x);
        if (!st)
            st = lam_tuple_set_tensor(xs, (size_t)i, x);
        char one[160];
        cli_input_str(x, one, sizeof one);
        if (i)
            sb_add(&inputs, ", ");
        sb_add(&inputs, one);
        lam_tensor_release(x);
        if (st) {
            rc = cli_fail_status(st, "input");
            goto out;
        }
    }
    lam_module *m;
    if ((rc = cli_load_model(&c, &m)) != 0)
        goto out;
    /* run once on zeros, recording what every module outputs */
    recorder rec = {0};
    sbuf root = {{0}, 0};
    if (!lam_module_is_modulelist(m)) { /* a ModuleList has no forward */
        lam_tensor *y = NULL;
        lam_tuple *ys = NULL;
        bool cond = c.condition;
        lam_set_forward_hook(record, &rec);
        lam_status st = lam_module_forward_multi(m, xs, cond ? &cond : NULL, &y, &ys);
        lam_set_forward_hook(NULL, NULL);
        if (!st)
            val_text(&root, y, ys);
        lam_tensor_release(y);
        lam_tuple_release(ys);
        if (st)
            rc = cli_fail_status(st, "cannot compute the output shape");
        else if (rec.oom)
            rc = cli_fail("out of memory");
    }
    table T = {.rec = &rec, .root = root.len ? root.buf : NULL};
    if (!rc)
        rc = cli_walk(m, add_row, &T);
    if (!rc)
        print_table(&T, inputs.buf);
    for (size_t i = 0; i < T.n; i++)
        free(T.rows[i].path);
    free(T.rows);
    free(rec.slots);
    lam_module_release(m);
out:
    lam_tuple_release(xs);
    free(a.shapes);
    cli_common_free(&c);
    return rc;
}
