/* lamina run: a forward's several outputs (a tuple) printed as Python
 * prints a tuple, or written as an .npz (numpy.savez's format: a zip of
 * stored .npy members) or as numbered .npy files. */
#include "tools/cli/cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The tensors of a (nested) tuple with their names: "0", "1", "1.0" ... */
typedef struct flat {
    char **names;
    const lam_tensor **tensors;
    size_t n, cap;
} flat;

static int flat_add(flat *f, const char *name, const lam_tensor *t)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        char **nn = realloc(f->names, cap * sizeof *nn);
        if (!nn)
            return -1;
        f->names = nn;
        const lam_tensor **nt = realloc(f->tensors, cap * sizeof *nt);
        if (!nt)
            return -1;
        f->tensors = nt;
        f->cap = cap;
    }
    f->names[f->n] = strdup(name);
    if (!f->names[f->n])
        return -1;
    f->tensors[f->n++] = t;
    return 0;
}

/* Nones have no array: they are left out (their names skipped). */
static int flatten(flat *f, const lam_tuple *t, const char *prefix)
{
    for (size_t i = 0; i < lam_tuple_len(t); i++) {
        char name[256];
        snprintf(name, sizeof name, "%s%s%zu", prefix, *prefix ? "." : "", i);
        if (lam_tuple_tensor(t, i) && flat_add(f, name, lam_tuple_tensor(t, i)))
            return -1;
        if (lam_tuple_tuple(t, i) && flatten(f, lam_tuple_tuple(t, i), name))
            return -1;
    }
    return 0;
}

static void flat_free(flat *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->names[i]);
    free(f->names);
    free(f->tensors);
}

/* Python's repr of the tuple: "(tensor(...), None, (tensor(...),))". */
static int print_tuple(const lam_tuple *t, FILE *fp)
{
    size_t n = lam_tuple_len(t);
    fputc('(', fp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", fp);
        if (lam_tuple_tensor(t, i)) {
            char *s = lam_tensor_str(lam_tuple_tensor(t, i));
            if (!s)
                return -1;
            fputs(s, fp);
            lam_free(s);
        } else if (lam_tuple_tuple(t, i)) {
            if (print_tuple(lam_tuple_tuple(t, i), fp))
                return -1;
        } else {
            fputs("None", fp);
        }
    }
    fputs(n == 1 ? ",)" : ")", fp);
    return 0;
}

static uint32_t crc32_of(const unsigned char *p, size_t n, uint32_t crc)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void put16(unsigned char *b, unsigned v) { b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* The bytes lam_npy_save writes for t (through a temporary file). */
static unsigned char *npy_bytes(const lam_tensor *t, const char *tmpdir, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lamina-npz-%ld.npy", tmpdir, (long)getpid());
    if (lam_npy_save(path, t) != LAM_OK)
        return NULL;
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) &&
            fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    if (f)
        fclose(f);
    unlink(path);
    return buf;
}

/* numpy.savez: a zip of stored members NAME.npy. */
static int write_npz(const flat *f, const char *path)
{
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    FILE *out = fopen(path, "wb");
    if (!out)
        return cli_fail("%s: cannot write: %m", path);
    unsigned char *central = NULL;
    size_t clen = 0;
    uint32_t offset = 0;
    int rc = CLI_OK;
    for (size_t i = 0; i < f->n && rc == CLI_OK; i++) {
        size_t len = 0;
        unsigned char *data = npy_bytes(f->tensors[i], tmpdir, &len);
        if (!data) {
            rc = cli_fail("%s: cannot make the .npy of output %s: %s", path, f->names[i],
                          lam_last_error());
            break;
        }
        char name[300];
        snprintf(name, sizeof name, "%s.npy", f->names[i]);
        size_t nl = strlen(name);
        if (len > 0xFFFFFFFFu - 64 || offset > 0xFFFFFFFFu - len - 30 - nl) {
            free(data);
            rc = cli_fail("%s: outputs over 4 GiB do not fit in a zip without ZIP64", path);
            break;
        }
        uint32_t crc = crc32_of(data, len, 0);
        unsigned char h[30];
        put32(h, 0x04034b50u), put16(h + 4, 20), put16(h + 6, 0), put16(h + 8, 0);
        put16(h + 10, 0), put16(h + 12, 0x21), put32(h + 14, crc), put32(h + 18, (uint32_t)len);
        put32(h + 22, (uint32_t)len), put16(h + 26, (unsigned)nl), put16(h + 28, 0);
        fwrite(h, 1, 30, out);
        fwrite(name, 1, nl, out);
        fwrite(data, 1, len, out);
        free(data);
        unsigned char *c = realloc(central, clen + 46 + nl);
        if (!c) {
            rc = cli_fail("out of memory");
            break;
        }
        central = c;
        unsigned char *e = central + clen;
        put32(e, 0x02014b50u), put16(e + 4, 20), put16(e + 6, 20), put16(e + 8, 0);
        put16(e + 10, 0), put16(e + 12, 0), put16(e + 14, 0x21), put32(e + 16, crc);
        put32(e + 20, (uint32_t)len), put32(e + 24, (uint32_t)len), put16(e + 28, (unsigned)nl);
        put16(e + 30, 0), put16(e + 32, 0), put16(e + 34, 0), put16(e + 36, 0);
        put32(e + 38, 0), put32(e + 42, offset);
        memcpy(e + 46, name, nl);
        clen += 46 + nl;
        offset += (uint32_t)(30 + nl + len);
    }
    if (rc == CLI_OK) {
        unsigned char end[22];
        put32(end, 0x06054b50u), put16(end + 4, 0), put16(end + 6, 0);
        put16(end + 8, (unsigned)f->n), put16(end + 10, (unsigned)f->n);
        put32(end + 12, (uint32_t)clen), put32(end + 16, offset), put16(end + 20, 0);
        fwrite(central, 1, clen, out);
        fwrite(end, 1, 22, out);
    }
    free(central);
    if (fclose(out) != 0 && rc == CLI_OK)
        rc = cli_fail("%s: write failed: %m", path);
    if (rc != CLI_OK)
        unlink(path);
    return rc;
}

/* OUT.npy -> OUT.<name>.npy for each output. */
static int write_numbered(const flat *f, const char *path)
{
    size_t n = strlen(path);
    size_t stem = n > 4 && !strcmp(path + n - 4, ".npy") ? n - 4 : n;
    for (size_t i = 0; i < f->n; i++) {
        char *p = malloc(stem + strlen(f->names[i]) + 6);
        if (!p)
            return cli_fail("out of memory");
        sprintf(p, "%.*s.%s.npy", (int)stem, path, f->names[i]);
        lam_status st = lam_npy_save(p, f->tensors[i]);
        free(p);
        if (st)
            return cli_fail_status(st, NULL);
    }
    return CLI_OK;
}

int cli_write_outputs(const lam_tensor *y, const lam_tuple *ys, const char *output)
{
    if (!output) {
        int r = y ? (lam_tensor_print(y, stdout) ? -1 : 0)
                  : ys ? print_tuple(ys, stdout) | (fputc('\n', stdout) == EOF)
                       : (puts("None") == EOF);
        return r ? cli_fail("cannot print the output: %s", lam_last_error()) : CLI_OK;
    }
    size_t n = strlen(output);
    bool npz = n > 4 && !strcmp(output + n - 4, ".npz");
    flat f = {0};
    int rc = CLI_OK;
    if (y ? flat_add(&f, "0", y) : ys ? flatten(&f, ys, "") : 0)
        rc = cli_fail("out of memory");
    else if (npz)
        rc = write_npz(&f, output);
    else if (y) {
        lam_status st = lam_npy_save(output, y);
        rc = st ? cli_fail_status(st, NULL) : CLI_OK;
    }
    else if (!ys)
        rc = cli_fail("the model returned None: there is no array to write to %s", output);
    else
        rc = write_numbered(&f, output);
    flat_free(&f);
    return rc;
}
