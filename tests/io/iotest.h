/* Helpers shared by the io tests: fixture paths, temporary files, bytes. */
#ifndef LAMINA_TESTS_IO_IOTEST_H
#define LAMINA_TESTS_IO_IOTEST_H

#include <stddef.h>
#include <stdint.h>
#include <lamina/lamina.h>
#include <lamina/io.h>

/* <fixtures>/name, from $LAMINA_IO_FIXTURES or the IO_FIXTURES define
 * ($(abs_top_srcdir)/tests/io/fixtures).  Static buffer, one at a time. */
const char *io_fixture(const char *name);
/* A fresh path "<tmpdir>/name" in a private directory under $TMPDIR (or
 * /tmp); the directory and its files are removed at exit. */
const char *io_tmp(const char *name);
/* Write / read whole files; abort the test (cr_assert) on failure.
 * io_read returns malloc'ed bytes. */
void io_write(const char *path, const void *buf, size_t len);
unsigned char *io_read(const char *path, size_t *len);
/* Number of lines of /proc/self/maps that mention `path`. */
int io_mappings_of(const char *path);
/* Under AddressSanitizer: fail the current test if anything allocated so
 * far is unreachable (Criterion's workers exit without running LSan, so
 * every test calls this last).  A no-op in other builds. */
void io_leak_check(void);
/* value[i] = i * 0.25 - 3, the pattern of tools/gen-io-fixtures.py */
static inline float io_pattern(int64_t i) { return (float)((double)i * 0.25 - 3.0); }

#endif
