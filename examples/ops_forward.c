/* Example 4: a custom forward written with tensor ops (<lamina/ops.h>),
 * the C form of
 *
 *   class GatedResidual(nn.Module):
 *       def __init__(self):
 *           super().__init__()
 *           self.layers = nn.ModuleList([nn.Linear(10, 10), nn.Linear(10, 10),
 *                                        nn.Linear(10, 4)])
 *       def forward(self, x):
 *           h = torch.tanh(self.layers[0](x))
 *           g = torch.sigmoid(self.layers[1](x))
 *           return torch.softmax(self.layers[2](x + g * h), dim=-1)
 *
 * Each op takes `lam_tensor **out`: NULL there makes a new tensor, a tensor
 * there is written into (here: the activations in place).  A shape that does
 * not fit gives PyTorch's message; the run at the end shows one. */
#include <lamina/lamina.h>
#include <stdio.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        if (st_ != LAM_OK) {                                                                       \
            fprintf(stderr, "error: %s: %s\n", lam_status_str(st_), lam_last_error());            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static lam_status gated_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers"), *l0, *l1, *l2;
    lam_tensor *h = NULL, *g = NULL, *y = NULL;
    lam_status st = lam_container_get(layers, 0, &l0);
    if (!st) st = lam_container_get(layers, 1, &l1);
    if (!st) st = lam_container_get(layers, 2, &l2);
    if (!st) st = lam_module_forward(l0, x, &h);
    if (!st) st = lam_tensor_tanh(&h, h);       /* in place: h = tanh(h) */
    if (!st) st = lam_module_forward(l1, x, &g);
    if (!st) st = lam_tensor_sigmoid(&g, g);
    if (!st) st = lam_tensor_mul(&g, g, h);     /* g = g * h */
    if (!st) st = lam_tensor_add(&g, x, g);     /* g = x + g */
    if (!st) st = lam_module_forward(l2, g, &y);
    if (!st) st = lam_tensor_softmax(&y, y, -1);
    lam_tensor_release(h);
    lam_tensor_release(g);
    if (st) {
        lam_tensor_release(y);
        return st;
    }
    *out = y;
    return LAM_OK;
}

int main(void)
{
    lam_manual_seed(0);
    lam_module *l[3], *layers, *model;
    CHECK(lam_linear_create(&l[0], 10, 10, true));
    CHECK(lam_linear_create(&l[1], 10, 10, true));
    CHECK(lam_linear_create(&l[2], 10, 4, true));
    CHECK(lam_modulelist_create(&layers, 3, l));
    for (int i = 0; i < 3; i++)
        lam_module_release(l[i]);
    lam_custom_spec spec = {.type_name = "GatedResidual", .forward = gated_forward};
    CHECK(lam_custom_create(&model, &spec));
    CHECK(lam_module_add_child(model, "layers", layers));
    lam_module_release(layers);
    lam_module_eval(model);

    char *repr = lam_module_repr(model);
    printf("%s\n", repr);
    lam_free(repr);

    float x[20] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f, 0.0f, -2.0f, 1.0f, 0.1f,
                   -0.5f, 1.0f, -0.25f, -2.0f, 0.75f, -1.5f, 0.3f, 2.0f, -1.0f, -0.1f};
    int64_t shape[2] = {2, 10};
    lam_tensor *input, *output = NULL;
    CHECK(lam_tensor_wrap(&input, x, 2, shape));
    CHECK(lam_module_forward(model, input, &output));
    printf("output: ");
    lam_tensor_print(output, stdout);

    /* the ops outside a module: a column mean, and a mismatch */
    lam_tensor *mean = NULL, *bad = NULL;
    int dim0 = 0;
    CHECK(lam_tensor_mean(&mean, output, 1, &dim0, false));
    printf("mean over the batch: ");
    lam_tensor_print(mean, stdout);
    lam_status st = lam_tensor_add(&bad, output, input);
    printf("output + input: %s: %s\n", lam_status_str(st), lam_last_error());

    lam_tensor_release(mean);
    lam_tensor_release(output);
    lam_tensor_release(input);
    lam_module_release(model);
    return 0;
}
