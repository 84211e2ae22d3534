/* A VGG-style network as one Sequential, written as PyTorch prints it:
 *
 *   def block(cin, cout):
 *       return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
 *   model = nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2),
 *                         *block(32, 64), *block(64, 64), nn.MaxPool2d(2),
 *                         nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(),
 *                         nn.Linear(256, 128), nn.ReLU(inplace=True), nn.Dropout(0.5),
 *                         nn.Linear(128, 10))
 *
 * lam_model_parse builds it from the text print(model) gives; the weights
 * and running statistics come from PyTorch's state_dict, saved as
 * safetensors by tools/gen-fixtures.py (gen_vgg, in tests/fixtures/vgg/ with
 * an input and PyTorch's output for it).  In eval mode the plan folds every
 * BatchNorm2d into its convolution and runs the ReLU in the convolution's
 * epilogue ("Conv2d+BatchNorm2d+ReLU"); the output is checked against
 * PyTorch's (|diff| <= 1e-5 + 1e-5 |expected|, <lamina/plan.h>).
 *
 *   examples/vgg [FIXTURE_DIR]     (default: $LAMINA_FIXTURES, else the source tree's)
 *
 * Exit status 1 when something fails or the output differs from PyTorch's. */
#include <lamina/lamina.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef VGG_FIXTURES_DIR
#define VGG_FIXTURES_DIR "tests/fixtures"
#endif

#define CHECK(call)                                                                                \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        if (st_ != LAM_OK) {                                                                       \
            fprintf(stderr, "error: %s: %s\n", lam_status_str(st_), lam_last_error());            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static const char model_text[] =
    "Sequential(\n"
    "  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
    "  (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  (2): ReLU(inplace=True)\n"
    "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (4): Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
    "  (5): BatchNorm2d(32, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  (6): ReLU(inplace=True)\n"
    "  (7): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (8): Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
    "  (9): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  (10): ReLU(inplace=True)\n"
    "  (11): Conv2d(64, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
    "  (12): BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  (13): ReLU(inplace=True)\n"
    "  (14): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (15): AdaptiveAvgPool2d(output_size=(2, 2))\n"
    "  (16): Flatten(start_dim=1, end_dim=-1)\n"
    "  (17): Linear(in_features=256, out_features=128, bias=True)\n"
    "  (18): ReLU(inplace=True)\n"
    "  (19): Dropout(p=0.5, inplace=False)\n"
    "  (20): Linear(in_features=128, out_features=10, bias=True)\n"
    ")";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The fixture's print(model), to check that it is this model's text. */
static int same_text(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    return strcmp(buf, model_text) == 0;
}

int main(int argc, char **argv)
{
    char dir[1024], path[1200];
    const char *env = getenv("LAMINA_FIXTURES");
    snprintf(dir, sizeof dir, "%s/vgg", argc > 1 ? argv[1] : env && *env ? env : VGG_FIXTURES_DIR);

    lam_module *model;
    CHECK(lam_model_parse(model_text, strlen(model_text), "vgg", &model));
    char *repr = lam_module_repr(model);
    printf("%s\n", repr);
    printf("repr round trip: %s\n", strcmp(repr, model_text) == 0 ? "identical" : "DIFFERS");
    int ok = strcmp(repr, model_text) == 0;
    lam_free(repr);
    printf("parameters: %lld\n", (long long)lam_module_num_parameters(model));

    /* PyTorch's weights and running statistics (strict: every key) */
    snprintf(path, sizeof path, "%s/repr.txt", dir);
    if (!same_text(path)) {
        fprintf(stderr, "error: %s is not this model's print(model) text\n", path);
        return 1;
    }
    snprintf(path, sizeof path, "%s/vgg.safetensors", dir);
    CHECK(lam_model_load_weights(model, path, true, NULL));
    lam_module_eval(model);
    lam_tensor *x, *want, *y = NULL;
    snprintf(path, sizeof path, "%s/input.npy", dir);
    CHECK(lam_npy_load(path, &x));
    snprintf(path, sizeof path, "%s/output.npy", dir);
    CHECK(lam_npy_load(path, &want));

    lam_plan *plan;
    CHECK(lam_plan_create(&plan, model, lam_tensor_ndim(x), lam_tensor_shape(x)));
    char *d = lam_plan_describe(plan);
    printf("plan: %s\n", d ? d : "?");
    lam_free(d);
    lam_plan_free(plan);

    CHECK(lam_module_forward(model, x, &y));
    const int64_t *ys = lam_tensor_shape(y);
    printf("input [%lld, 3, 32, 32] -> output [%lld, %lld]; first row:",
           (long long)lam_tensor_shape(x)[0], (long long)ys[0], (long long)ys[1]);
    for (int i = 0; i < 10; i++)
        printf(" %.4f", lam_tensor_cdata(y)[i]);
    printf("\n");
    double worst = 0.0, max_diff = 0.0;
    if (lam_tensor_numel(y) != lam_tensor_numel(want)) {
        fprintf(stderr, "error: output has %lld values, PyTorch's %lld\n",
                (long long)lam_tensor_numel(y), (long long)lam_tensor_numel(want));
        return 1;
    }
    for (int64_t i = 0; i < lam_tensor_numel(y); i++) {
        double e = lam_tensor_cdata(want)[i], diff = fabs(lam_tensor_cdata(y)[i] - e);
        double r = diff / (1e-5 + 1e-5 * fabs(e));
        if (diff > max_diff)
            max_diff = diff;
        if (!(r <= worst))
            worst = r;
    }
    ok = ok && worst <= 1.0;
    printf("against PyTorch (float64): max |diff| %.3g, %s\n", max_diff,
           worst <= 1.0 ? "within 1e-5 + 1e-5 |expected|" : "DIFFERS");

    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        lam_tensor_release(y);
        y = NULL;
        double t0 = now();
        CHECK(lam_module_forward(model, x, &y));
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("forward of %lld images: %.3f ms (best of 5)\n", (long long)lam_tensor_shape(x)[0],
           best * 1e3);
    lam_tensor_release(y);
    lam_tensor_release(want);
    lam_tensor_release(x);
    lam_module_release(model);
    return ok ? 0 : 1;
}
