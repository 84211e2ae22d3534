/* LeNet-5 as a Sequential, written as PyTorch prints it:
 *
 *   model = nn.Sequential(
 *       nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
 *       nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
 *       nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
 *       nn.Linear(84, 10))
 *
 * The model text below is what print(model) gives; lam_model_parse builds it
 * (the weights come from the default generator here; load PyTorch's
 * state_dict with lam_model_load_weights to get its numbers). */
#include <lamina/lamina.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
    "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
    "  (1): ReLU()\n"
    "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (3): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n"
    "  (4): ReLU()\n"
    "  (5): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (6): Flatten(start_dim=1, end_dim=-1)\n"
    "  (7): Linear(in_features=400, out_features=120, bias=True)\n"
    "  (8): ReLU()\n"
    "  (9): Linear(in_features=120, out_features=84, bias=True)\n"
    "  (10): ReLU()\n"
    "  (11): Linear(in_features=84, out_features=10, bias=True)\n"
    ")";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(void)
{
    lam_manual_seed(0);
    lam_module *model;
    CHECK(lam_model_parse(model_text, strlen(model_text), "lenet5", &model));
    lam_module_eval(model);
    char *repr = lam_module_repr(model);
    printf("%s\n", repr);
    printf("repr round trip: %s\n", strcmp(repr, model_text) == 0 ? "identical" : "DIFFERS");
    lam_free(repr);
    printf("parameters: %lld\n", (long long)lam_module_num_parameters(model));

    /* a batch of 256 28x28 "images" */
    int64_t shape[4] = {256, 1, 28, 28};
    lam_tensor *x, *y = NULL;
    CHECK(lam_tensor_create(&x, 4, shape));
    float *xd = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        xd[i] = (float)((i * 37) % 255) / 255.0f;
    CHECK(lam_module_forward(model, x, &y));
    const int64_t *ys = lam_tensor_shape(y);
    printf("output shape: [%lld, %lld]; first row:", (long long)ys[0], (long long)ys[1]);
    for (int i = 0; i < 10; i++)
        printf(" %.4f", lam_tensor_cdata(y)[i]);
    printf("\n");

    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        lam_tensor_release(y);
        y = NULL;
        double t0 = now();
        CHECK(lam_module_forward(model, x, &y));
        double t = now() - t0;
        best = t < best ? t : best;
    }
    printf("batch 256: %.2f ms, %.0f images/s (%d threads)\n", best * 1e3, 256 / best,
           lam_get_num_threads());
    lam_tensor_release(y);
    lam_tensor_release(x);
    lam_module_release(model);
    return 0;
}
