/* Every descriptor liblamina opens is close-on-exec (issue 12): a program
 * that forks and execs while it loads or saves a model must not leak the
 * model's or the weights' descriptors into the child.  This program defines
 * open/open64/openat/fopen/fopen64 itself, so liblamina's calls land here;
 * each checks FD_CLOEXEC on what the real function returned.  Not a
 * Criterion test (Criterion opens files of its own). */
#define _GNU_SOURCE
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lamina/lamina.h>
#include <lamina/io.h>
#include <lamina/model.h>

static int watching, opened, leaky;

static void check(const char *fn, const char *path, int fd)
{
    if (!watching || fd < 0)
        return;
    opened++;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || !(flags & FD_CLOEXEC)) {
        fprintf(stderr, "FAIL: %s(\"%s\") gave descriptor %d without FD_CLOEXEC\n", fn, path, fd);
        leaky++;
    }
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define NEXT(name, type) ((type)dlsym(RTLD_NEXT, name))

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = NEXT("open", int (*)(const char *, int, ...))(path, flags, mode);
    check("open", path, fd);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = NEXT("open64", int (*)(const char *, int, ...))(path, flags, mode);
    check("open64", path, fd);
    return fd;
}

int openat(int dir, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    int fd = NEXT("openat", int (*)(int, const char *, int, ...))(dir, path, flags, mode);
    check("openat", path, fd);
    return fd;
}

FILE *fopen(const char *path, const char *how)
{
    FILE *fp = NEXT("fopen", FILE * (*)(const char *, const char *))(path, how);
    check("fopen", path, fp ? fileno(fp) : -1);
    return fp;
}

FILE *fopen64(const char *path, const char *how)
{
    FILE *fp = NEXT("fopen64", FILE * (*)(const char *, const char *))(path, how);
    check("fopen64", path, fp ? fileno(fp) : -1);
    return fp;
}

static int ok(lam_status st, const char *what)
{
    if (st == LAM_OK)
        return 1;
    fprintf(stderr, "FAIL: %s: %s\n", what, lam_last_error());
    leaky++;
    return 0;
}

int main(void)
{
    const char *t = getenv("TMPDIR");
    char dir[512], model[600], npy[600], st_path[600];
    snprintf(dir, sizeof dir, "%s/lamina-cloexec-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 99;
    }
    snprintf(model, sizeof model, "%s/m.lam", dir);
    snprintf(npy, sizeof npy, "%s/x.npy", dir);
    snprintf(st_path, sizeof st_path, "%s/w.safetensors", dir);
    FILE *fp = fopen(model, "w");
    if (!fp || fputs("Sequential(\n  (0): Linear(in_features=3, out_features=2, bias=True)\n)\n", fp) < 0 ||
        fclose(fp) != 0) {
        perror(model);
        return 99;
    }

    lam_module *m = NULL;
    lam_tensor *x = NULL;
    lam_state_dict *sd = NULL, *back = NULL;
    int64_t shape[2] = {1, 3};
    watching = 1;
    if (ok(lam_model_load(model, &m), "lam_model_load") && ok(lam_tensor_create(&x, 2, shape), "tensor") &&
        ok(lam_npy_save(npy, x), "lam_npy_save (new file)") && ok(lam_npy_save(npy, x), "lam_npy_save (replace)")) {
        lam_tensor_release(x);
        x = NULL;
        if (ok(lam_npy_load(npy, &x), "lam_npy_load") &&
            ok(lam_module_state_dict(m, &sd), "state_dict") &&
            ok(lam_safetensors_save(st_path, sd), "lam_safetensors_save"))
            ok(lam_safetensors_load(st_path, &back), "lam_safetensors_load");
    }
    watching = 0;
    lam_tensor_release(x);
    lam_state_dict_free(back);
    lam_state_dict_free(sd);
    lam_module_release(m);
    unlink(model);
    unlink(npy);
    unlink(st_path);
    rmdir(dir);
    if (opened < 5) {
        printf("FAIL: only %d opens seen: the interposition does not reach liblamina\n", opened);
        return 1;
    }
    printf("%d descriptors opened by liblamina, %d without FD_CLOEXEC\n", opened, leaky);
    return leaky ? 1 : 0;
}
