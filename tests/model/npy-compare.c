/* npy-compare ACTUAL.npy EXPECTED.npy: exit 0 when the shapes match and every
 * element is within 1e-5 + 1e-5 * |expected|; 1 otherwise (with the worst
 * error on stderr); 2 when a file cannot be read.  Used by cli-roundtrip.sh. */
#include "tests/model/modeltest.h"
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: npy-compare ACTUAL.npy EXPECTED.npy\n");
        return 2;
    }
    lam_tensor *a = NULL, *b = NULL;
    if (lam_npy_load(argv[1], &a) || lam_npy_load(argv[2], &b)) {
        fprintf(stderr, "npy-compare: %s\n", lam_last_error());
        lam_tensor_release(a);
        return 2;
    }
    double max_abs, excess = mt_excess(a, b, &max_abs);
    int rc = excess <= 0 ? 0 : 1;
    if (rc) {
        char sa[64], sb[64];
        fprintf(stderr, "npy-compare: %s %s vs %s %s: max abs error %g\n", argv[1],
                lam_shape_str(lam_tensor_ndim(a), lam_tensor_shape(a), sa, sizeof sa), argv[2],
                lam_shape_str(lam_tensor_ndim(b), lam_tensor_shape(b), sb, sizeof sb), max_abs);
    }
    lam_tensor_release(a);
    lam_tensor_release(b);
    return rc;
}
