/* Helpers shared by the io tests (see iotest.h). */
#include "config.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iotest.h"

#if defined(__SANITIZE_ADDRESS__)
#define IO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IO_ASAN 1
#endif
#endif
#ifdef IO_ASAN
#include <sanitizer/lsan_interface.h>
#endif

void io_leak_check(void)
{
#ifdef IO_ASAN
    cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked (LeakSanitizer report above)");
#endif
}

static char tmpdir[512];
static char pathbuf[1024];

const char *io_fixture(const char *name)
{
    const char *dir = getenv("LAMINA_IO_FIXTURES");
    snprintf(pathbuf, sizeof pathbuf, "%s/%s", dir && *dir ? dir : IO_FIXTURES, name);
    return pathbuf;
}

static void cleanup(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[1024];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

const char *io_tmp(const char *name)
{
    static char path[1024];
    if (!tmpdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/lamina-io-XXXXXX", t && *t ? t : "/tmp");
        cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp %s", tmpdir);
        atexit(cleanup);
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

void io_write(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

unsigned char *io_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    cr_assert_eq(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    rewind(f);
    unsigned char *b = malloc((size_t)n + 1);
    cr_assert_not_null(b);
    cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

int io_mappings_of(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[2048];
    int n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strstr(line, path))
            n++;
    fclose(f);
    return n;
}
