/* Canonical example 1: a Sequential pipeline.
 *
 *   model = nn.Sequential(nn.Linear(10, 50), nn.ReLU(), nn.Linear(50, 2), nn.Sigmoid())
 *   y = model(torch.randn(1, 10))
 *
 * Sequential defines forward: each module's output is the next one's input. */
#include <lamina/lamina.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        lam_status st_ = (call);                                                                   \
        if (st_ != LAM_OK) {                                                                       \
            fprintf(stderr, "error: %s: %s\n", lam_status_str(st_), lam_last_error());            \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

int main(void)
{
    lam_manual_seed(0);
    lam_module *l[4];
    CHECK(lam_linear_create(&l[0], 10, 50, true));
    CHECK(lam_relu_create(&l[1]));
    CHECK(lam_linear_create(&l[2], 50, 2, true));
    CHECK(lam_sigmoid_create(&l[3]));

    lam_module *model;
    CHECK(lam_sequential_create(&model, 4, l)); /* the Sequential takes its own references */
    for (int i = 0; i < 4; i++)
        lam_module_release(l[i]);
    lam_module_eval(model);

    char *repr = lam_module_repr(model);
    printf("%s\n", repr);
    lam_free(repr);

    lam_state_dict *params;
    CHECK(lam_module_named_parameters(model, true, true, &params));
    printf("parameters:");
    for (size_t i = 0; i < lam_state_dict_len(params); i++)
        printf(" %s", lam_state_dict_key(params, i));
    printf("  (%lld values)\n", (long long)lam_module_num_parameters(model));
    lam_state_dict_free(params);

    float x[10] = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 1.5f, 0.0f, -2.0f, 1.0f, 0.1f};
    int64_t shape[2] = {1, 10};
    lam_tensor *input, *output;
    CHECK(lam_tensor_wrap(&input, x, 2, shape));
    CHECK(lam_module_forward(model, input, &output));
    printf("output: ");
    lam_tensor_print(output, stdout);

    lam_tensor_release(output);
    lam_tensor_release(input);
    lam_module_release(model);
    return 0;
}
