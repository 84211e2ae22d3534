/* npytool — .npy files for the MPI tests, written and read in pieces so
 * that they can be larger than the memory a test allows:
 *
 *   npytool gen OUT.npy ROWS COLS SEED [f4|f8|be4]   uniform [-1, 1) values
 *   npytool cat OUT.npy IN.npy...                     concatenate along axis 0 ('<f4')
 *
 * Values come from a 64-bit LCG on (SEED, element index), so any slice of a
 * generated file can be regenerated alone. */
#include <lamina/lamina.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float value(uint64_t seed, uint64_t i)
{
    uint64_t r = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (i * 0xD1B54A32D192ED03ull);
    r ^= r >> 31;
    r *= 0xBF58476D1CE4E5B9ull;
    r ^= r >> 29;
    return (float)((double)(r >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* a version 1.0 header for descr with numpy's padding */
static size_t header(char *buf, const char *descr, int64_t rows, int64_t cols)
{
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRId64 ", %" PRId64
                     "), }", descr, rows, cols);
    int total = (10 + n + 1 + 63) / 64 * 64;
    int hl = total - 10;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', (size_t)(hl - n - 1));
    buf[total - 1] = '\n';
    return (size_t)total;
}

static int gen(const char *out, int64_t rows, int64_t cols, uint64_t seed, const char *type)
{
    FILE *f = fopen(out, "wb");
    if (!f)
        return perror(out), 1;
    char h[LAM_NPY_HEADER_MAX];
    size_t hl;
    int64_t shape[2] = {rows, cols};
    if (!strcmp(type, "f4")) {
        if (lam_npy_header(2, shape, h, sizeof h, &hl) != LAM_OK)
            return fprintf(stderr, "%s\n", lam_last_error()), 1;
    } else {
        hl = header(h, !strcmp(type, "f8") ? "<f8" : ">f4", rows, cols);
    }
    fwrite(h, 1, hl, f);
    for (uint64_t i = 0; i < (uint64_t)(rows * cols); i++) {
        float v = value(seed, i);
        unsigned char b[8];
        if (!strcmp(type, "f8")) {
            double d = v;
            memcpy(b, &d, 8);
            fwrite(b, 1, 8, f);
        } else {
            memcpy(b, &v, 4);
            if (!strcmp(type, "be4")) {
                unsigned char t = b[0]; b[0] = b[3]; b[3] = t;
                t = b[1]; b[1] = b[2]; b[2] = t;
            }
            fwrite(b, 1, 4, f);
        }
    }
    return fclose(f) ? (perror(out), 1) : 0;
}

static int cat(const char *out, int n, char **in)
{
    lam_npy_reader **r = calloc((size_t)n, sizeof *r);
    int64_t shape[LAM_MAX_DIMS] = {0}, row = 1;
    int ndim = 0;
    for (int i = 0; i < n; i++) {
        if (lam_npy_reader_open(in[i], &r[i]) != LAM_OK)
            return fprintf(stderr, "%s\n", lam_last_error()), 1;
        ndim = lam_npy_reader_ndim(r[i]);
        const int64_t *s = lam_npy_reader_shape(r[i]);
        int64_t rows = shape[0];
        memcpy(shape, s, sizeof shape);
        shape[0] += rows;
    }
    for (int i = 1; i < ndim; i++)
        row *= shape[i];
    FILE *f = fopen(out, "wb");
    char h[LAM_NPY_HEADER_MAX];
    size_t hl;
    if (!f || lam_npy_header(ndim, shape, h, sizeof h, &hl) != LAM_OK)
        return fprintf(stderr, "%s: cannot write\n", out), 1;
    fwrite(h, 1, hl, f);
    float *buf = malloc((size_t)row * sizeof *buf * 1024);
    for (int i = 0; i < n; i++) {
        int64_t rows = lam_npy_reader_shape(r[i])[0];
        for (int64_t b = 0; b < rows; b += 1024) {
            int64_t k = rows - b < 1024 ? rows - b : 1024;
            if (lam_npy_reader_read(r[i], b, k, buf) != LAM_OK)
                return fprintf(stderr, "%s\n", lam_last_error()), 1;
            fwrite(buf, sizeof *buf, (size_t)(k * row), f);
        }
        lam_npy_reader_close(r[i]);
    }
    free(buf);
    free(r);
    return fclose(f) ? (perror(out), 1) : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "gen"))
        return gen(argv[2], strtoll(argv[3], NULL, 10), strtoll(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
                   argc > 6 ? argv[6] : "f4");
    if (argc >= 4 && !strcmp(argv[1], "cat"))
        return cat(argv[2], argc - 3, argv + 3);
    fprintf(stderr, "usage: npytool gen OUT ROWS COLS SEED [f4|f8|be4] | npytool cat OUT IN...\n");
    return 2;
}
