/* Helpers shared by the model-file tests. */
#ifndef LAMINA_TESTS_MODELTEST_H
#define LAMINA_TESTS_MODELTEST_H

#include <lamina/lamina.h>
#include <lamina/model.h>
#include <lamina/io.h>
#include <stddef.h>

/* $MODEL_FIXTURES/name (or the compiled-in tests/model/fixtures); static buffer per call slot */
const char *mt_fixture(const char *name);
/* tests/model/malformed/name */
const char *mt_malformed(const char *name);

/* Whole file in a new buffer (NUL-terminated; *len without the NUL); NULL on failure. */
char *mt_read_file(const char *path, size_t *len);

/* Lines of a MANIFEST/EXPECTED-style file without '#' comments and blanks;
 * returns the count, *lines a NULL-terminated array (free with mt_free_lines). */
size_t mt_read_lines(const char *path, char ***lines);
void mt_free_lines(char **lines);

/* max |a-b| - (1e-5 + 1e-5 |b|) over the elements: <= 0 means within tolerance.
 * Shapes must match (returns +inf otherwise). */
double mt_excess(const lam_tensor *a, const lam_tensor *b, double *max_abs);

/* Parse `text` as a model; status out, *out set on success. */
lam_status mt_parse(const char *text, lam_module **out);

#endif
