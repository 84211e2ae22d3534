/* .lam model files — public entry points: read, lex, parse, build, eval. */
#include "runtime/model/model_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

LAM_API lam_status lam_model_parse_ex(const char *text, size_t len, const char *filename,
                                      const lam_model_options *opts, lam_module **out)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARRAY(text, len);
    const char *file = filename ? filename : "<string>";
    lam__limits lim = {LAM_MODEL_DEFAULT_MAX_DEPTH, LAM_MODEL_DEFAULT_MAX_MODULES,
                       LAM_MODEL_DEFAULT_MAX_PARAMS};
    bool syntax_only = false;
    if (opts) {
        if (opts->max_depth > 0)
            lim.max_depth = opts->max_depth;
        if (opts->max_modules > 0)
            lim.max_modules = opts->max_modules;
        if (opts->max_params > 0)
            lim.max_params = opts->max_params;
        syntax_only = opts->syntax_only;
    }
    if (len > LAM_MODEL_MAX_FILE_SIZE)
        return lam__error(LAM_ERR_FORMAT, "%s: model file too large (%zu bytes; the limit is %zu)",
                          file, len, LAM_MODEL_MAX_FILE_SIZE);
    lam__arena arena = {0};
    lam__lexed lx;
    lam__node *root = NULL;
    lam_module *m = NULL;
    lam_status st = lam__model_lex(&arena, text ? text : "", len, file, &lx);
    if (!st)
        st = lam__model_parse_tree(&arena, &lx, file, &lim, &root);
    if (!st && !syntax_only)
        st = lam__model_build(&arena, root, file, &lim, &m);
    lam__arena_free(&arena);
    if (st)
        return st;
    if (m) {
        lam_module_eval(m); /* a model read from a file is for inference */
        *out = m;
    }
    return LAM_OK;
}

LAM_API lam_status lam_model_parse(const char *text, size_t len, const char *filename,
                                   lam_module **out)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARRAY(text, len);
    return lam_model_parse_ex(text, len, filename, NULL, out);
}

static lam_status read_file(const char *path, char **buf, size_t *len)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
     * below); it changes nothing for the regular file we go on to read */
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return lam__error(LAM_ERR_IO, "cannot open model file '%s': %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return lam__error(LAM_ERR_IO, "cannot read model file '%s': not a regular file", path);
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return lam__oom("model file");
    }
    if ((uint64_t)sb.st_size > LAM_MODEL_MAX_FILE_SIZE) {
        fclose(fp);
        return lam__error(LAM_ERR_FORMAT, "%s: model file too large (%lld bytes; the limit is %zu)",
                          path, (long long)sb.st_size, LAM_MODEL_MAX_FILE_SIZE);
    }
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    char *p = malloc(cap);
    if (!p) {
        fclose(fp);
        return lam__oom("model file");
    }
    /* read to EOF (the file may change size under us): stop at the cap */
    for (;;) {
        size_t r = fread(p + n, 1, cap - n, fp);
        n += r;
        if (r == 0 || n == cap)
            break;
    }
    bool err = ferror(fp), more = n == cap && fgetc(fp) != EOF;
    fclose(fp);
    if (err || more) {
        free(p);
        return err ? lam__error(LAM_ERR_IO, "cannot read model file '%s'", path)
                   : lam__error(LAM_ERR_IO, "model file '%s' changed while being read", path);
    }
    *buf = p;
    *len = n;
    return LAM_OK;
}

LAM_API lam_status lam_model_load(const char *path, lam_module **out)
{
    LAM__CHECK_ARG(out);
    *out = NULL;
    LAM__CHECK_ARG(path);
    char *text = NULL;
    size_t len = 0;
    lam_status st = read_file(path, &text, &len);
    if (st)
        return st;
    st = lam_model_parse_ex(text, len, path, NULL, out);
    free(text);
    return st;
}
