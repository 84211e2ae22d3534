/* Canonical example 3: a custom forward that applies some layers only when a
 * per-call argument says so.
 *
 *   class ConditionalModel(nn.Module):
 *       def __init__(self):
 *           super().__init__()
 *           self.layers = nn.ModuleList([nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2),
 *                                        nn.Sigmoid(), nn.Linear(10, 100)])
 *       def forward(self, x, condition):
 *           for i, layer in enumerate(self.layers):
 *               if i < 3 or condition:
 *                   x = layer(x)
 *           return x
 *
 * As written, with condition=True the last layer receives 2 features where it
 * expects 10: lamina stops there with a clear error and the process goes on.
 * The corrected model makes the conditional layer Linear(2, 100). */
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

/* forward(x, condition): args points at a bool */
static lam_status conditional_forward(lam_module *self, const lam_tensor *x, void *args,
                                      lam_tensor **out)
{
    bool condition = args && *(const bool *)args;
    lam_module *layers = lam_module_child(self, "layers");
    const lam_tensor *cur = x;
    lam_tensor *owned = NULL;
    for (size_t i = 0; i < lam_container_len(layers); i++) {
        if (!(i < 3 || condition))
            continue;
        lam_module *layer;
        lam_tensor *next = NULL;
        lam_status st = lam_container_get(layers, (int64_t)i, &layer);
        if (st == LAM_OK)
            st = lam_module_forward(layer, cur, &next);
        lam_tensor_release(owned);
        if (st != LAM_OK)
            return st;
        cur = owned = next;
    }
    return owned ? (*out = owned, LAM_OK) : lam_tensor_clone(out, x);
}

static lam_status build(lam_module **model, int64_t last_in)
{
    lam_module *l[5] = {0}, *layers = NULL;
    lam_status st = lam_linear_create(&l[0], 10, 50, true);
    if (!st) st = lam_relu_create(&l[1]);
    if (!st) st = lam_linear_create(&l[2], 50, 2, true);
    if (!st) st = lam_sigmoid_create(&l[3]);
    if (!st) st = lam_linear_create(&l[4], last_in, 100, true);
    if (!st) st = lam_modulelist_create(&layers, 5, l);
    for (int i = 0; i < 5; i++)
        lam_module_release(l[i]);
    lam_custom_spec spec = {.type_name = "ConditionalModel", .forward = conditional_forward};
    if (!st) st = lam_custom_create(model, &spec);
    if (!st) st = lam_module_add_child(*model, "layers", layers);
    lam_module_release(layers);
    return st;
}

static void run(lam_module *model, lam_tensor *input, bool condition)
{
    lam_tensor *y;
    lam_status st = lam_module_forward_args(model, input, &condition, &y);
    if (st != LAM_OK) {
        printf("condition=%s: error (%s): %s\n", condition ? "True" : "False", lam_status_str(st),
               lam_last_error());
        return;
    }
    printf("condition=%s: output shape [%lld, %lld]\n", condition ? "True" : "False",
           (long long)lam_tensor_dim(y, 0), (long long)lam_tensor_dim(y, 1));
    lam_tensor_release(y);
}

int main(void)
{
    lam_manual_seed(0);
    float x[10] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f, 0.0f, -2.0f, 1.0f, 0.1f};
    int64_t shape[2] = {1, 10};
    lam_tensor *input;
    CHECK(lam_tensor_wrap(&input, x, 2, shape));

    lam_module *model;
    CHECK(build(&model, 10));
    char *repr = lam_module_repr(model);
    printf("%s\n", repr);
    lam_free(repr);
    printf("-- as written --\n");
    run(model, input, false);
    run(model, input, true); /* layers[4] expects 10 features and gets 2 */
    lam_module_release(model);

    printf("-- corrected: layers[4] = Linear(2, 100) --\n");
    CHECK(build(&model, 2));
    run(model, input, false);
    run(model, input, true);
    lam_module_release(model);

    lam_tensor_release(input);
    return 0;
}
