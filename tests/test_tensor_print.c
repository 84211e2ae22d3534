/* lam_tensor_str / lam_tensor_print against PyTorch 1.13's str(tensor), byte
 * for byte (lamina issue 12, item 11): non-finite values, int and scientific
 * modes, negative zero, 1-D to 4-D, long rows that wrap at 80 columns, more
 * than 1000 elements (summarised with "..."), empty tensors.  The fixture is
 * tests/fixtures/print/print.txt, written by tools/gen-print-fixtures.py. */
#include <criterion/criterion.h>
#include "fixture.h"

Test(tensor_print, matches_pytorch)
{
    fx_file *fx = FX_OPEN("print/print.txt");
    const char *const *cases;
    long n = fx_list(fx, "cases", &cases);
    cr_assert_gt(n, 0, "fixture has no cases");
    int failed = 0;
    for (long i = 0; i < n; i++) {
        lam_tensor *t = fx_lam_tensor(fx, cases[i]);
        cr_assert_not_null(t, "fixture lacks tensor %s", cases[i]);
        const char *want = fx_text(fx, cases[i]);
        cr_assert_not_null(want, "fixture lacks text %s", cases[i]);
        char *got = lam_tensor_str(t);
        cr_assert_not_null(got, "%s: %s", cases[i], lam_last_error());
        if (strcmp(got, want) != 0) {
            failed++;
            cr_log_error("%s:\n got:\n%s\nwant:\n%s", cases[i], got, want);
        }
        lam_free(got);
        lam_tensor_release(t);
    }
    cr_expect_eq(failed, 0, "%d of %ld tensors print differently from PyTorch", failed, n);
    fx_close(fx);
}

/* print(tensor) is the same text and a newline. */
Test(tensor_print, print_writes_the_string_and_a_newline)
{
    fx_file *fx = FX_OPEN("print/print.txt");
    lam_tensor *t = fx_lam_tensor(fx, "sum_3d");
    cr_assert_not_null(t);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    cr_assert_eq(lam_tensor_print(t, mem), LAM_OK, "%s", lam_last_error());
    fclose(mem);
    const char *want = fx_text(fx, "sum_3d");
    cr_assert_eq(len, strlen(want) + 1);
    cr_expect_eq(strncmp(buf, want, strlen(want)), 0);
    cr_expect_eq(buf[len - 1], '\n');
    free(buf);
    lam_tensor_release(t);
    fx_close(fx);
}
