/* <lamina/version.h>: the header's version, configure's (PACKAGE_VERSION,
 * which lam_version() returns) and lam_version_number() agree, and the
 * comparison macros order versions. */
#include <criterion/criterion.h>
#include <lamina/lamina.h>
#include <stdio.h>
#include <string.h>

Test(version, header_matches_library)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", LAM_VERSION_MAJOR, LAM_VERSION_MINOR,
             LAM_VERSION_PATCH);
    cr_expect_str_eq(LAM_VERSION_STRING, want);
    /* lam_version() is configure's PACKAGE_VERSION (AC_INIT reads version.h) */
    cr_expect_str_eq(lam_version(), LAM_VERSION_STRING);
    cr_expect_eq(lam_version_number(), LAM_VERSION_NUMBER);
    cr_expect_eq(lam_version_number(),
                 LAM_VERSION_MAJOR * 1000000L + LAM_VERSION_MINOR * 1000L + LAM_VERSION_PATCH);
}

#if !LAM_VERSION_AT_LEAST(LAM_VERSION_MAJOR, LAM_VERSION_MINOR, LAM_VERSION_PATCH)
#error "LAM_VERSION_AT_LEAST must hold for the header's own version in #if"
#endif
#if LAM_VERSION_AT_LEAST(LAM_VERSION_MAJOR, LAM_VERSION_MINOR, LAM_VERSION_PATCH + 1)
#error "LAM_VERSION_AT_LEAST must fail for a newer patch level"
#endif

Test(version, at_least_orders_versions)
{
    cr_expect(LAM_VERSION_AT_LEAST(0, 0, 0));
    cr_expect(LAM_VERSION_AT_LEAST(LAM_VERSION_MAJOR, LAM_VERSION_MINOR, LAM_VERSION_PATCH));
    cr_expect(!LAM_VERSION_AT_LEAST(LAM_VERSION_MAJOR, LAM_VERSION_MINOR, LAM_VERSION_PATCH + 1));
    cr_expect(!LAM_VERSION_AT_LEAST(LAM_VERSION_MAJOR, LAM_VERSION_MINOR + 1, 0));
    cr_expect(!LAM_VERSION_AT_LEAST(LAM_VERSION_MAJOR + 1, 0, 0));
    /* a higher minor outranks any patch level, a higher major any minor */
    cr_expect_lt(LAM_VERSION_ENCODE(1, 2, 999), LAM_VERSION_ENCODE(1, 3, 0));
    cr_expect_lt(LAM_VERSION_ENCODE(1, 999, 999), LAM_VERSION_ENCODE(2, 0, 0));
}
