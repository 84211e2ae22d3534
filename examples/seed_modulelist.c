/* Canonical example 2: the same four layers in a ModuleList inside a custom
 * module whose forward loops over the list.
 *
 *   class MyModel(nn.Module):
 *       def __init__(self):
 *           super().__init__()
 *           self.layers = nn.ModuleList([nn.Linear(10, 50), nn.ReLU(),
 *                                        nn.Linear(50, 2), nn.Sigmoid()])
 *       def forward(self, x):
 *           for layer in self.layers:
 *               x = layer(x)
 *           return x
 *
 * The ModuleList is a child of MyModel, so its modules ARE registered: their
 * parameters are MyModel's, named layers.0.weight, layers.0.bias, ... */
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

/* MyModel.forward: x flows through every layer of self.layers in turn */
static lam_status my_forward(lam_module *self, const lam_tensor *x, void *args, lam_tensor **out)
{
    (void)args;
    lam_module *layers = lam_module_child(self, "layers");
    const lam_tensor *cur = x; /* borrowed input, then each layer's output */
    lam_tensor *owned = NULL;
    for (size_t i = 0; i < lam_container_len(layers); i++) {
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

int main(void)
{
    lam_manual_seed(0);
    lam_module *l[4], *layers, *model;
    CHECK(lam_linear_create(&l[0], 10, 50, true));
    CHECK(lam_relu_create(&l[1]));
    CHECK(lam_linear_create(&l[2], 50, 2, true));
    CHECK(lam_sigmoid_create(&l[3]));
    CHECK(lam_modulelist_create(&layers, 4, l));
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);

    lam_custom_spec spec = {.type_name = "MyModel", .forward = my_forward};
    CHECK(lam_custom_create(&model, &spec));
    CHECK(lam_module_add_child(model, "layers", layers)); /* self.layers = ModuleList(...) */
    lam_module_release(layers);
    lam_module_eval(model);

    char *repr = lam_module_repr(model);
    printf("%s\n", repr);
    lam_free(repr);

    lam_state_dict *sd;
    CHECK(lam_module_state_dict(model, &sd));
    printf("state_dict keys:");
    for (size_t i = 0; i < lam_state_dict_len(sd); i++)
        printf(" %s", lam_state_dict_key(sd, i));
    printf("\n");
    lam_state_dict_free(sd);

    float x[10] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f, 0.0f, -2.0f, 1.0f, 0.1f};
    int64_t shape[2] = {1, 10};
    lam_tensor *input, *output;
    CHECK(lam_tensor_wrap(&input, x, 2, shape));
    CHECK(lam_module_forward(model, input, &output));
    printf("output: ");
    lam_tensor_print(output, stdout);

    /* A bare ModuleList has no forward, as in PyTorch. */
    lam_tensor *bad;
    lam_status st = lam_module_forward(lam_module_child(model, "layers"), input, &bad);
    printf("ModuleList forward: %s: %s\n", lam_status_str(st), lam_last_error());

    lam_tensor_release(output);
    lam_tensor_release(input);
    lam_module_release(model);
    return 0;
}
