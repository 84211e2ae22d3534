/* Model files that must be refused (tests/model/malformed, listed with the
 * text their message must contain in EXPECTED): each gives an error status
 * and a positioned message, never a crash, a hang or a leak. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/model/modeltest.h"

static void check(const char *file, const char *expect, bool from_memory)
{
    lam_module *m = (lam_module *)&m;
    lam_status st;
    if (from_memory) {
        size_t len;
        char *text = mt_read_file(mt_malformed(file), &len);
        cr_assert_not_null(text, "%s", file);
        st = lam_model_parse(text, len, file, &m);
        free(text);
    } else {
        st = lam_model_load(mt_malformed(file), &m);
    }
    cr_expect_neq(st, LAM_OK, "%s was accepted", file);
    cr_expect_null(m, "%s: *out not cleared", file);
    if (st == LAM_OK) {
        lam_module_release(m);
        return;
    }
    const char *msg = lam_last_error();
    cr_expect(strstr(msg, file) != NULL, "%s: message does not name the file: %s", file, msg);
    cr_expect(strstr(msg, expect) != NULL, "%s: message\n  %s\nlacks\n  %s", file, msg, expect);
}

static void check_all(bool from_memory)
{
    char **lines;
    size_t n = mt_read_lines(mt_malformed("EXPECTED"), &lines);
    cr_assert_geq(n, 20, "EXPECTED lists %zu files", n);
    for (size_t i = 0; i < n; i++) {
        char *tab = strchr(lines[i], '\t');
        cr_assert_not_null(tab, "bad EXPECTED line: %s", lines[i]);
        *tab = '\0';
        check(lines[i], tab + 1, from_memory);
    }
    mt_free_lines(lines);
}

Test(model_malformed, every_file_is_refused_by_load) { check_all(false); }
Test(model_malformed, every_file_is_refused_by_parse) { check_all(true); }

/* A FIFO (nobody writing) or a directory as the model file: refused at once
 * like the weights loaders refuse them, not a read that waits for a writer
 * forever.  The timeout only turns such a hang into a failure. */
Test(model_malformed, not_a_regular_file, .timeout = 60)
{
    char dir[512], path[600];
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/lamina-model-XXXXXX", t && *t ? t : "/tmp");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/model.lam", dir);
    cr_assert_eq(mkfifo(path, 0600), 0, "%s", strerror(errno));
    lam_module *m = (lam_module *)&m;
    cr_expect_eq(lam_model_load(path, &m), LAM_ERR_IO);
    cr_expect_null(m);
    cr_expect(strstr(lam_last_error(), "model.lam") && strstr(lam_last_error(), "not a regular file"), "%s",
              lam_last_error());
    unlink(path);
    cr_expect_eq(lam_model_load(dir, &m), LAM_ERR_IO);
    cr_expect(strstr(lam_last_error(), "not a regular file"), "%s", lam_last_error());
    rmdir(dir);
}

/* Every prefix of a valid file is refused cleanly (or parses, at full length). */
Test(model_malformed, truncated_files)
{
    size_t len;
    char *text = mt_read_file(mt_fixture("named_nested.lam"), &len);
    cr_assert_not_null(text);
    for (size_t n = 0; n < len; n++) {
        lam_module *m;
        lam_status st = lam_model_parse(text, n, "cut.lam", &m);
        if (st == LAM_OK) { /* only once the final ')' is in */
            cr_expect_geq(n, len - 1, "prefix of %zu bytes accepted", n);
            lam_module_release(m);
        } else {
            cr_expect(strncmp(lam_last_error(), "cut.lam:", 8) == 0, "%s", lam_last_error());
        }
    }
    free(text);
}

/* One byte changed anywhere in a valid file: never a crash. */
Test(model_malformed, flipped_bytes)
{
    size_t len;
    char *text = mt_read_file(mt_fixture("ctor_kwargs.lam"), &len);
    cr_assert_not_null(text);
    static const char subst[] = {'(', ')', ',', '=', '\'', '\0', '-', '9', 'x', '\n', '#', '\xff'};
    for (size_t i = 0; i < len; i++) {
        char saved = text[i];
        for (size_t k = 0; k < sizeof subst; k++) {
            text[i] = subst[k];
            lam_module *m = NULL;
            if (lam_model_parse(text, len, "flip.lam", &m) == LAM_OK)
                lam_module_release(m);
        }
        text[i] = saved;
    }
    free(text);
}
