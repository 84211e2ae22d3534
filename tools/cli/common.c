/* lamina command — messages, option helpers, loading models and plugins. */
#include "tools/cli/cli.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

char cli_prefix[32] = "lamina";

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    /* one fputs: the lines of several ranks or threads do not interleave */
    char line[4096];
    int n = snprintf(line, sizeof line, "%s: error: ", cli_prefix);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    fputs(line, stderr);
    return CLI_FAIL;
}

int cli_fail_status(lam_status st, const char *what)
{
    const char *msg = lam_last_error();
    if (!*msg)
        msg = lam_status_str(st);
    if (what && *what)
        return cli_fail("%s: %s", what, msg);
    return cli_fail("%s", msg);
}

void cli_log(lam_log_level level, const char *message, void *user)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    (void)user;
    /* one fputs per line: lines from several threads do not interleave */
    char line[1024];
    snprintf(line, sizeof line, "%s: %s: %s\n", cli_prefix,
             (unsigned)level <= LAM_LOG_ERROR ? names[level] : "log", message);
    fputs(line, stderr);
}

void cli_log_start(void)
{
    static bool started;
    if (!started) {
        started = true;
        lam_set_log_callback(cli_log, NULL);
    }
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lamina%s%s: error: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'lamina %s%s--help' for more information.\n", cmd ? cmd : "",
            cmd ? " " : "");
    va_end(ap);
    return CLI_USAGE;
}

int cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !*s)
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_shape(const char *s, int64_t *dims)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        if (n == LAM_MAX_DIMS)
            return -1;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 1 || v > ((long long)1 << 40))
            return -1;
        dims[n++] = v;
        p = end;
        if (*p == ',' || *p == 'x') {
            p++;
            if (!*p)
                return -1;
        } else if (*p) {
            return -1;
        }
    }
    return n ? n : -1;
}

int cli_parse_input_spec(const char *s, bool allow_batch, cli_input_spec *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->batch_at = -1;
    out->dtype = LAM_FLOAT32;
    *why = NULL;
    if (!strcmp(s, "none")) {
        out->none = true;
        return 0;
    }
    char buf[256];
    if (strlen(s) >= sizeof buf) {
        *why = "too long";
        return -1;
    }
    strcpy(buf, s);
    char *colon = strchr(buf, ':');
    if (colon) {
        *colon++ = '\0';
        if (!strcmp(colon, "float32"))
            out->dtype = LAM_FLOAT32;
        else if (!strcmp(colon, "int64"))
            out->dtype = LAM_INT64;
        else if (!strcmp(colon, "bool"))
            out->dtype = LAM_BOOL;
        else {
            *why = "the element type is float32, int64 or bool";
            return -1;
        }
    }
    /* 'B' (bench's batch) becomes 1 for cli_parse_shape, then is marked */
    for (char *p = buf; *p; p++) {
        if (*p != 'B')
            continue;
        bool alone = (p == buf || p[-1] == ',' || p[-1] == 'x') &&
                     (!p[1] || p[1] == ',' || p[1] == 'x');
        if (!allow_batch || !alone || out->batch_at >= 0) {
            *why = allow_batch ? "B stands for --batch, once, as a whole size"
                               : "the sizes are numbers (B is for lamina bench)";
            return -1;
        }
        int idx = 0;
        for (char *q = buf; q < p; q++)
            idx += *q == ',' || *q == 'x';
        out->batch_at = idx;
        *p = '1';
    }
    out->ndim = cli_parse_shape(buf, out->shape);
    if (out->ndim < 0) {
        *why = "the sizes are 1 to 4 positive integers separated by commas";
        return -1;
    }
    return 0;
}

lam_status cli_input_tensor(const cli_input_spec *sp, bool random, unsigned long long seed,
                            lam_tensor **out)
{
    *out = NULL;
    if (sp->none)
        return LAM_OK;
    lam_tensor *x = NULL;
    lam_status st = lam_tensor_create_dtype(&x, sp->dtype, sp->ndim, sp->shape);
    if (st)
        return st;
    if (random && sp->dtype == LAM_FLOAT32) {
        float *xd = lam_tensor_data(x);
        uint64_t r = 0x9E3779B97F4A7C15ull ^ seed;
        for (int64_t i = 0; i < lam_tensor_numel(x); i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            xd[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
        }
    }
    *out = x;
    return LAM_OK;
}

void cli_input_str(const lam_tensor *x, char *buf, size_t size)
{
    if (!x) {
        snprintf(buf, size, "None");
        return;
    }
    char sh[128];
    lam_shape_str(lam_tensor_ndim(x), lam_tensor_shape(x), sh, sizeof sh);
    if (lam_tensor_dtype(x) == LAM_FLOAT32)
        snprintf(buf, size, "%s", sh);
    else
        snprintf(buf, size, "%s %s", sh, lam_dtype_name(lam_tensor_dtype(x)));
}

int cli_common_option(cli_common *c, const char *cmd, int opt, const char *arg)
{
    long long v;
    switch (opt) {
    case OPT_WEIGHTS:
        c->weights = arg;
        return 0;
    case OPT_PLUGIN: {
        const char **p = realloc(c->plugins, (size_t)(c->n_plugins + 1) * sizeof *p);
        if (!p)
            return cli_fail("out of memory");
        c->plugins = p;
        c->plugins[c->n_plugins++] = arg;
        return 0;
    }
    case OPT_THREADS:
        if (cli_parse_int(arg, 1, 4096, &v))
            return cli_usage(cmd, "--threads needs an integer from 1 to 4096, got '%s'", arg);
        c->threads = (int)v;
        return 0;
    case OPT_SEED:
        if (cli_parse_int(arg, 0, INT64_MAX, &v))
            return cli_usage(cmd, "--seed needs a non-negative integer, got '%s'", arg);
        c->seed = (unsigned long long)v;
        return 0;
    case OPT_NO_STRICT:
        c->strict = 0;
        return 0;
    case OPT_CONDITION:
        c->condition = 1;
        return 0;
    case OPT_SET: {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1])
            return cli_usage(cmd, "--set needs PATH.ARG=VALUE (num_heads=8, "
                                  "encoder.layers.0.self_attn.batch_first=True), got '%s'",
                             arg);
        const char **p = realloc(c->sets, (size_t)(c->n_sets + 1) * sizeof *p);
        if (!p)
            return cli_fail("out of memory");
        c->sets = p;
        c->sets[c->n_sets++] = arg;
        return 0;
    }
    default:
        return -1;
    }
}

int cli_parse_args(int argc, char **argv, const char *cmd, const char *help, const char *shortopts,
                   const struct option *longopts, cli_common *c, cli_option_fn own, void *user,
                   const char *operand)
{
    int opt, rc;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (own && (rc = own(opt, optarg, user)) >= 0) {
            if (rc != CLI_OK)
                return rc;
            continue;
        }
        switch (opt) {
        case 'w': opt = OPT_WEIGHTS; break;
        case 'p': opt = OPT_PLUGIN; break;
        case 't': opt = OPT_THREADS; break;
        case 's': opt = OPT_SEED; break;
        case 'h': case OPT_HELP: fputs(help, stdout); return CLI_OK;
        case ':': return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
        case '?': return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
        if ((rc = cli_common_option(c, cmd, opt, optarg)) != 0)
            return rc > 0 ? rc : cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
    }
    if (!operand) {
        if (optind < argc)
            return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
        return CLI_CONTINUE;
    }
    if (optind >= argc)
        return cli_usage(cmd, "missing %s", operand);
    if (optind + 1 < argc)
        return cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
    c->model = argv[optind];
    return CLI_CONTINUE;
}

void cli_common_free(cli_common *c)
{
    free(c->plugins);
    c->plugins = NULL;
    free(c->sets);
    c->sets = NULL;
}

static void print_keys(const char *what, char **keys, size_t n)
{
    if (!n)
        return;
    fprintf(stderr, "lamina: warning: %s key(s) in the weights: ", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, i ? ", \"%s\"" : "\"%s\"", keys[i]);
    fputc('\n', stderr);
}

int cli_load_model(const cli_common *c, lam_module **out)
{
    *out = NULL;
    if (c->threads > 0)
        lam_set_num_threads(c->threads);
    lam_manual_seed(c->seed);
    int rc = cli_load_plugins(c);
    if (rc)
        return rc;
    lam_module *m;
    lam_status st = lam_model_load(c->model, &m);
    if (st)
        return cli_fail_status(st, NULL);
    if (c->weights) {
        lam_incompatible_keys keys;
        st = lam_model_load_weights(m, c->weights, c->strict, &keys);
        if (st) {
            lam_module_release(m);
            return cli_fail_status(st, NULL);
        }
        print_keys("missing", keys.missing_keys, keys.n_missing);
        print_keys("unexpected", keys.unexpected_keys, keys.n_unexpected);
        lam_incompatible_keys_clear(&keys);
    }
    /* the arguments PyTorch's repr does not print: --set, then every module
     * must know what its forward needs */
    for (int i = 0; i < c->n_sets && !st; i++) {
        const char *eq = strchr(c->sets[i], '=');
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(eq - c->sets[i]), c->sets[i]);
        st = lam_model_set_arg(m, name, eq + 1);
    }
    if (!st)
        st = lam_model_check_args(m);
    if (st) {
        lam_module_release(m);
        return cli_fail_status(st, NULL);
    }
    *out = m;
    return CLI_OK;
}

typedef struct walk_frame {
    cli_visit_fn fn;
    void *user;
} walk_frame;

static int walk(walk_frame *w, lam_module *m, const char *path, int depth)
{
    int rc = w->fn(m, path, depth, w->user);
    if (rc)
        return rc;
    for (size_t i = 0; i < lam_module_num_children(m); i++) {
        const char *name;
        lam_module *child = lam_module_child_at(m, i, &name);
        size_t n = strlen(path) + strlen(name) + 2;
        char *p = malloc(n);
        if (!p)
            return cli_fail("out of memory");
        snprintf(p, n, "%s%s%s", path, *path ? "." : "", name);
        rc = walk(w, child, p, depth + 1);
        free(p);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_walk(lam_module *m, cli_visit_fn fn, void *user)
{
    walk_frame w = {fn, user};
    return walk(&w, m, "", 0);
}

void cli_json_string(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(fp, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(fp, "\\u%04x", *p);
        else
            fputc(*p, fp);
    }
    fputc('"', fp);
}

/* Bytes of the printable character at p: 1 for printable ASCII other than
 * '\\', 2 to 4 for a well-formed UTF-8 sequence that is not a C1 control;
 * 0 for what must be escaped. */
static size_t printable_len(const unsigned char *p)
{
    size_t n;
    uint32_t cp, min;
    if (*p < 0x80)
        return *p >= 0x20 && *p != 0x7f && *p != '\\' ? 1 : 0;
    if ((*p & 0xe0) == 0xc0)
        n = 2, cp = *p & 0x1fu, min = 0x80;
    else if ((*p & 0xf0) == 0xe0)
        n = 3, cp = *p & 0x0fu, min = 0x800;
    else if ((*p & 0xf8) == 0xf0)
        n = 4, cp = *p & 0x07u, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
        return 0; /* overlong, out of range, a surrogate, or a C1 control */
    return n;
}

void cli_print_text(FILE *fp, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = printable_len(p);
        if (n) {
            fwrite(p, 1, n, fp);
            p += n;
        } else {
            if (*p == '\\')
                fputs("\\\\", fp);
            else
                fprintf(fp, "\\x%02x", *p);
            p++;
        }
    }
}

int cli_close_stdout(int rc)
{
    int err = 0;
    bool lost = ferror(stdout) != 0; /* an earlier write failed; errno is gone */
    if (fflush(stdout) != 0) {
        lost = true;
        err = errno;
    }
    if (fclose(stdout) != 0 && !err) {
        lost = true;
        err = errno;
    }
    if (lost && rc == CLI_OK)
        return cli_fail("cannot write to standard output%s%s", err ? ": " : "", err ? strerror(err) : "");
    return rc;
}
