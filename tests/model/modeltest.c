/* Helpers shared by the model-file tests. */
#include "tests/model/modeltest.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MODEL_TESTS_DIR
#define MODEL_TESTS_DIR "tests/model"
#endif

static const char *join(const char *sub, const char *name)
{
    static char bufs[8][4096];
    static int slot;
    char *b = bufs[slot++ % 8];
    const char *env = getenv("MODEL_TESTS_DIR");
    snprintf(b, sizeof bufs[0], "%s/%s/%s", env && *env ? env : MODEL_TESTS_DIR, sub, name);
    return b;
}

const char *mt_fixture(const char *name) { return join("fixtures", name); }
const char *mt_malformed(const char *name) { return join("malformed", name); }

char *mt_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (n + 1 >= cap) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, fp);
        n += r;
        if (r == 0)
            break;
    }
    fclose(fp);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

size_t mt_read_lines(const char *path, char ***lines)
{
    size_t len, n = 0;
    char *text = mt_read_file(path, &len);
    *lines = calloc(1, sizeof **lines);
    if (!text || !*lines) {
        free(text);
        return 0;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (!*line || *line == '#')
            continue;
        char **p = realloc(*lines, (n + 2) * sizeof *p);
        if (!p)
            break;
        *lines = p;
        (*lines)[n++] = strdup(line);
        (*lines)[n] = NULL;
    }
    free(text);
    return n;
}

void mt_free_lines(char **lines)
{
    for (size_t i = 0; lines && lines[i]; i++)
        free(lines[i]);
    free(lines);
}

double mt_excess(const lam_tensor *a, const lam_tensor *b, double *max_abs)
{
    *max_abs = INFINITY;
    if (!a || !b || !lam_tensor_same_shape(a, b))
        return INFINITY;
    const float *x = lam_tensor_cdata(a), *y = lam_tensor_cdata(b);
    double worst = -INFINITY, m = 0;
    for (int64_t i = 0; i < lam_tensor_numel(a); i++) {
        double d = fabs((double)x[i] - (double)y[i]);
        if (isnan(d))
            d = INFINITY;
        m = d > m ? d : m;
        double e = d - (1e-5 + 1e-5 * fabs((double)y[i]));
        worst = e > worst ? e : worst;
    }
    *max_abs = m;
    return lam_tensor_numel(a) ? worst : 0;
}

lam_status mt_parse(const char *text, lam_module **out)
{
    return lam_model_parse(text, strlen(text), "model.lam", out);
}
