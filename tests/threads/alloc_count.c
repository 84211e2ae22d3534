/* Zero allocations in steady state: malloc and friends are interposed (the
 * executable's definitions win over libc's for liblamina too) and counted
 * across 100 forwards after the first, for plans and for the simple forward
 * (which allocates exactly its output tensor: the struct and the data).
 * Skips (77) under sanitizers, whose own allocator the interposition would
 * bypass, and outside glibc. */
#include <errno.h>
#include <lamina/lamina.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "tests/threads/models.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(thread_sanitizer)
#define NO_INTERPOSE 1
#endif
#endif
#if !defined(__GLIBC__)
#define NO_INTERPOSE 1
#endif

#ifndef NO_INTERPOSE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static long allocations;
static int counting;

static void count(void)
{
    if (__atomic_load_n(&counting, __ATOMIC_RELAXED))
        __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { count(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
int posix_memalign(void **out, size_t align, size_t n)
{
    count();
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) { count(); return __libc_memalign(align, n); }
void *memalign(size_t align, size_t n) { count(); return __libc_memalign(align, n); }

static int failures;

static void check(const char *what, long got, long expected)
{
    printf("%-58s %4ld allocations in 100 forwards (expected %ld)\n", what, got, expected);
    if (got != expected)
        failures++;
}

static long plan_allocations(lam_module *m, int64_t rows, int64_t cols, int threads)
{
    lam_set_num_threads(threads);
    lam_tensor *x = make_input(rows, cols, 1), *y;
    lam_plan *p;
    int nd;
    int64_t os[LAM_MAX_DIMS];
    if (!x || lam_plan_create(&p, m, 2, lam_tensor_shape(x)) || lam_plan_output_shape(p, &nd, os) ||
        lam_tensor_create(&y, nd, os)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return -1;
    }
    if (lam_plan_run(p, x, y)) /* first run: anything lazy happens here */
        return -1;
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 100; i++)
        if (lam_plan_run(p, x, y))
            return -1;
    counting = 0;
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    return allocations;
}

static long forward_allocations(lam_module *m, int64_t rows, int64_t cols, int threads)
{
    lam_set_num_threads(threads);
    lam_tensor *x = make_input(rows, cols, 2), *y;
    if (!x || lam_module_forward(m, x, &y))
        return -1;
    lam_tensor_release(y);
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 100; i++) {
        if (lam_module_forward(m, x, &y))
            return -1;
        lam_tensor_release(y);
    }
    counting = 0;
    lam_tensor_release(x);
    return allocations;
}

/* lam_module_forward of m, counting only inside the forwards, while another
 * model is built, put in eval mode and run between them: m's cached plan is
 * m's own and stays valid. */
static long forward_allocations_among_others(lam_module *m, int64_t rows, int64_t cols)
{
    lam_set_num_threads(1);
    lam_tensor *x = make_input(rows, cols, 2), *y;
    if (!x || lam_module_forward(m, x, &y))
        return -1;
    lam_tensor_release(y);
    allocations = 0;
    for (int i = 0; i < 100; i++) {
        lam_module *other = make_seed_model();
        lam_tensor *z;
        if (!other || lam_module_forward(other, x, &z))
            return -1;
        lam_tensor_release(z);
        lam_module_train(other, true);
        counting = 1;
        lam_status st = lam_module_forward(m, x, &y);
        counting = 0;
        if (st)
            return -1;
        lam_tensor_release(y);
        lam_module_release(other);
    }
    lam_tensor_release(x);
    return allocations;
}

static lam_status copy_forward(lam_module *self, const lam_tensor *in, void *args, lam_tensor **out)
{
    (void)self, (void)args;
    return lam_tensor_clone(out, in);
}

/* Sequential(Linear(10, 50), <custom module>, Linear(50, 2)): cannot be planned */
static lam_module *make_unplannable(void)
{
    lam_custom_spec spec = {.type_name = "Copy", .forward = copy_forward};
    lam_module *l[3], *m = NULL;
    if (lam_linear_create(&l[0], 10, 50, true) || lam_custom_create(&l[1], &spec) ||
        lam_linear_create(&l[2], 50, 2, true))
        return NULL;
    lam_sequential_create(&m, 3, l);
    for (int i = 0; i < 3; i++)
        lam_module_release(l[i]);
    return m;
}

static long into_allocations(lam_module *m, int64_t rows, int64_t cols, int threads)
{
    lam_set_num_threads(threads);
    lam_tensor *x = make_input(rows, cols, 3), *y;
    int nd;
    int64_t os[LAM_MAX_DIMS];
    if (!x || lam_module_output_shape(m, 2, lam_tensor_shape(x), &nd, os) ||
        lam_tensor_create(&y, nd, os) || lam_module_forward_into(m, x, y)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return -1;
    }
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 100; i++)
        if (lam_module_forward_into(m, x, y))
            return -1;
    counting = 0;
    lam_tensor_release(x);
    lam_tensor_release(y);
    return allocations;
}

/* The torchvision plugin's blocks (issue 15): a small model of each kind of
 * block, planned for [rows, 8, 8, 6]; every block's intermediates (children's
 * outputs, residual sums, concatenations, shuffles, SE scales) come from the
 * plan's forward pools. */
static const char TV_MODEL[] =
    "Sequential(\n"
    "  (0): Conv2dNormActivation(\n"
    "    (0): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "    (2): ReLU(inplace=True)\n"
    "  )\n"
    "  (1): BasicBlock(\n"
    "    (conv1): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "    (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "    (relu): ReLU(inplace=True)\n"
    "    (conv2): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "    (bn2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  )\n"
    "  (2): InvertedResidual(\n"
    "    (conv): Sequential(\n"
    "      (0): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=8)\n"
    "      (1): SqueezeExcitation(\n"
    "        (avgpool): AdaptiveAvgPool2d(output_size=1)\n"
    "        (fc1): Conv2d(8, 4, kernel_size=(1, 1), stride=(1, 1))\n"
    "        (fc2): Conv2d(4, 8, kernel_size=(1, 1), stride=(1, 1))\n"
    "        (activation): ReLU()\n"
    "        (scale_activation): Hardsigmoid()\n"
    "      )\n"
    "    )\n"
    "  )\n"
    "  (3): InvertedResidual(\n"
    "    (branch1): Sequential()\n"
    "    (branch2): Sequential(\n"
    "      (0): Conv2d(4, 4, kernel_size=(1, 1), stride=(1, 1))\n"
    "    )\n"
    "  )\n"
    "  (4): _DenseBlock(\n"
    "    (denselayer1): _DenseLayer(\n"
    "      (norm1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (relu1): ReLU(inplace=True)\n"
    "      (conv1): Conv2d(8, 4, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "      (norm2): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (relu2): ReLU(inplace=True)\n"
    "      (conv2): Conv2d(4, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
    "    )\n"
    "  )\n"
    "  (5): AdaptiveAvgPool2d(output_size=1)\n"
    "  (6): Flatten(start_dim=1, end_dim=-1)\n"
    "  (7): Linear(in_features=12, out_features=10, bias=True)\n"
    ")\n";

/* MobileNetV2's block without the skip (a stride-2 depthwise convolution
 * and ReLU6 between two pointwise ones); TV_RESNET (models.h), a top-level
 * model type: planned, a batch runs in row blocks (one image each) on every
 * thread. */
static const char MV2_BLOCK[] =
    "Sequential(\n"
    "  (0): InvertedResidual(\n"
    "    (conv): Sequential(\n"
    "      (0): Conv2dNormActivation(\n"
    "        (0): Conv2d(8, 48, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "        (1): BatchNorm2d(48, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "        (2): ReLU6(inplace=True)\n"
    "      )\n"
    "      (1): Conv2dNormActivation(\n"
    "        (0): Conv2d(48, 48, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=48, bias=False)\n"
    "        (1): BatchNorm2d(48, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "        (2): ReLU6(inplace=True)\n"
    "      )\n"
    "      (2): Conv2d(48, 16, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "      (3): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "    )\n"
    "  )\n"
    ")\n";


/* MobileNetV2 (width 0.25, its first two stages): the blocks' inner
 * Sequentials are planned, and their BatchNorms folded, in the first
 * forward, after earlier blocks' intermediates went back to the pool; the
 * folded weights must not keep those pool buffers, or the second forward
 * makes new ones (issue 15: at MobileNetV2's full size the second forward
 * ran 40% slower than the third, faulting the new pages in). */
static const char MV2_SMALL[] =
    "MobileNetV2(\n"
    "  (features): Sequential(\n"
    "    (0): Conv2dNormActivation(\n"
    "      (0): Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)\n"
    "      (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (2): ReLU6(inplace=True)\n"
    "    )\n"
    "    (1): InvertedResidual(\n"
    "      (conv): Sequential(\n"
    "        (0): Conv2dNormActivation(\n"
    "          (0): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=8, bias=False)\n"
    "          (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "          (2): ReLU6(inplace=True)\n"
    "        )\n"
    "        (1): Conv2d(8, 8, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "        (2): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      )\n"
    "    )\n"
    "    (2): InvertedResidual(\n"
    "      (conv): Sequential(\n"
    "        (0): Conv2dNormActivation(\n"
    "          (0): Conv2d(8, 48, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "          (1): BatchNorm2d(48, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "          (2): ReLU6(inplace=True)\n"
    "        )\n"
    "        (1): Conv2dNormActivation(\n"
    "          (0): Conv2d(48, 48, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=48, bias=False)\n"
    "          (1): BatchNorm2d(48, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "          (2): ReLU6(inplace=True)\n"
    "        )\n"
    "        (2): Conv2d(48, 8, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "        (3): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      )\n"
    "    )\n"
    "    (3): InvertedResidual(\n"
    "      (conv): Sequential(\n"
    "        (0): Conv2dNormActivation(\n"
    "          (0): Conv2d(8, 48, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "          (1): BatchNorm2d(48, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "          (2): ReLU6(inplace=True)\n"
    "        )\n"
    "        (1): Conv2dNormActivation(\n"
    "          (0): Conv2d(48, 48, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=48, bias=False)\n"
    "          (1): BatchNorm2d(48, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "          (2): ReLU6(inplace=True)\n"
    "        )\n"
    "        (2): Conv2d(48, 8, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "        (3): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      )\n"
    "    )\n"
    "    (4): Conv2dNormActivation(\n"
    "      (0): Conv2d(8, 1280, kernel_size=(1, 1), stride=(1, 1), bias=False)\n"
    "      (1): BatchNorm2d(1280, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "      (2): ReLU6(inplace=True)\n"
    "    )\n"
    "  )\n"
    "  (classifier): Sequential(\n"
    "    (0): Dropout(p=0.2, inplace=False)\n"
    "    (1): Linear(in_features=1280, out_features=10, bias=True)\n"
    "  )\n"
    ")\n";

/* A plan of m on `threads` threads for images of `shape`, an input of
 * values (i % period) - period / 2 and an output tensor; false (with the
 * message) when one cannot be made. */
static bool image_plan(lam_module *m, const int64_t shape[4], int threads, int period,
                       lam_tensor **x, lam_plan **p, lam_tensor **y)
{
    lam_set_num_threads(threads);
    int nd;
    int64_t os[LAM_MAX_DIMS];
    if (lam_tensor_create(x, 4, shape) || lam_plan_create(p, m, 4, shape) ||
        lam_plan_output_shape(*p, &nd, os) || lam_tensor_create(y, nd, os)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return false;
    }
    float *d = lam_tensor_data(*x);
    for (int64_t i = 0; i < lam_tensor_numel(*x); i++)
        d[i] = (float)(i % period) - (float)(period / 2);
    return true;
}

static long tv_plan_allocations_after(lam_module *m, const int64_t shape[4], int threads, int warm)
{
    lam_tensor *x, *y;
    lam_plan *p;
    if (!image_plan(m, shape, threads, 7, &x, &p, &y))
        return -1;
    for (int i = 0; i < warm; i++)
        if (lam_plan_run(p, x, y))
            return -1;
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 100; i++)
        if (lam_plan_run(p, x, y)) {
            fprintf(stderr, "run failed: %s\n", lam_last_error());
            return -1;
        }
    counting = 0;
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    return allocations;
}

/* Pages faulted in (minor faults, the whole process) by the second run of
 * a new plan of m for `shape`: its buffers, pool entries included, are
 * resident once the first run is done, whichever buffer each request gets
 * in the second (issue 15: a ResNet's second forward faulted in ~3 MB per
 * image, one stem output the first forward took from the pool but never
 * wrote). */
static long second_run_faults(lam_module *m, const int64_t shape[4], int threads)
{
    lam_tensor *x, *y;
    lam_plan *p;
    if (!image_plan(m, shape, threads, 5, &x, &p, &y))
        return -1;
    struct rusage r0, r1;
    if (lam_plan_run(p, x, y) || getrusage(RUSAGE_SELF, &r0) || lam_plan_run(p, x, y) ||
        getrusage(RUSAGE_SELF, &r1))
        return -1;
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    return r1.ru_minflt - r0.ru_minflt;
}

/* Two runs first: the first folds each block's BatchNorms into their
 * convolutions (a custom forward's folds are made on first use), and from
 * the second on the deferred calls ask the pools for the fused calls'
 * buffers. */
static long tv_plan_allocations(lam_module *m, int64_t rows, int threads)
{
    const int64_t shape[4] = {rows, 8, 8, 6};
    return tv_plan_allocations_after(m, shape, threads, 2);
}

/* The torchvision plugin's transformers (issue 16): a ViT and a Swin
 * planned for [rows, 3, 16, 16].  Their token tensors, windows and merged
 * patches come from the plan's pools (host ops), as the blocks' above do:
 * a Swin whose feature maps are multiples of its window (no padding). */
static const char VIT_MODEL[] =
    "VisionTransformer(\n"
    "  image_size=16\n"
    "  (conv_proj): Conv2d(3, 8, kernel_size=(8, 8), stride=(8, 8))\n"
    "  (encoder): Encoder(\n"
    "    (dropout): Dropout(p=0.0, inplace=False)\n"
    "    (layers): Sequential(\n"
    "      (encoder_layer_0): EncoderBlock(\n"
    "        (ln_1): LayerNorm((8,), eps=1e-06, elementwise_affine=True)\n"
    "        (self_attention): MultiheadAttention(\n"
    "          embed_dim=8, num_heads=2, dropout=0.0, add_bias_kv=False, add_zero_attn=False, kdim=8, vdim=8, batch_first=True\n"
    "          (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=True)\n"
    "        )\n"
    "        (dropout): Dropout(p=0.0, inplace=False)\n"
    "        (ln_2): LayerNorm((8,), eps=1e-06, elementwise_affine=True)\n"
    "        (mlp): MLPBlock(\n"
    "          (0): Linear(in_features=8, out_features=16, bias=True)\n"
    "          (1): GELU(approximate='none')\n"
    "          (2): Dropout(p=0.0, inplace=False)\n"
    "          (3): Linear(in_features=16, out_features=8, bias=True)\n"
    "          (4): Dropout(p=0.0, inplace=False)\n"
    "        )\n"
    "      )\n"
    "    )\n"
    "    (ln): LayerNorm((8,), eps=1e-06, elementwise_affine=True)\n"
    "  )\n"
    "  (heads): Sequential(\n"
    "    (head): Linear(in_features=8, out_features=10, bias=True)\n"
    "  )\n"
    ")\n";

static const char SWIN_MODEL[] =
    "SwinTransformer(\n"
    "  (features): Sequential(\n"
    "    (0): Sequential(\n"
    "      (0): Conv2d(3, 8, kernel_size=(4, 4), stride=(4, 4))\n"
    "      (1): Permute()\n"
    "      (2): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
    "    )\n"
    "    (1): Sequential(\n"
    "      (0): SwinTransformerBlock(\n"
    "        (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
    "        (attn): ShiftedWindowAttention(\n"
    "          window_size=[2, 2], shift_size=[0, 0], num_heads=2\n"
    "          (qkv): Linear(in_features=8, out_features=24, bias=True)\n"
    "          (proj): Linear(in_features=8, out_features=8, bias=True)\n"
    "        )\n"
    "        (stochastic_depth): StochasticDepth(p=0.0, mode=row)\n"
    "        (norm2): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
    "        (mlp): MLP(\n"
    "          (0): Linear(in_features=8, out_features=32, bias=True)\n"
    "          (1): GELU(approximate='none')\n"
    "          (2): Dropout(p=0.0, inplace=False)\n"
    "          (3): Linear(in_features=32, out_features=8, bias=True)\n"
    "          (4): Dropout(p=0.0, inplace=False)\n"
    "        )\n"
    "      )\n"
    "      (1): SwinTransformerBlock(\n"
    "        (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
    "        (attn): ShiftedWindowAttention(\n"
    "          window_size=[2, 2], shift_size=[1, 1], num_heads=2\n"
    "          (qkv): Linear(in_features=8, out_features=24, bias=True)\n"
    "          (proj): Linear(in_features=8, out_features=8, bias=True)\n"
    "        )\n"
    "        (stochastic_depth): StochasticDepth(p=0.05, mode=row)\n"
    "        (norm2): LayerNorm((8,), eps=1e-05, elementwise_affine=True)\n"
    "        (mlp): MLP(\n"
    "          (0): Linear(in_features=8, out_features=32, bias=True)\n"
    "          (1): GELU(approximate='none')\n"
    "          (2): Dropout(p=0.0, inplace=False)\n"
    "          (3): Linear(in_features=32, out_features=8, bias=True)\n"
    "          (4): Dropout(p=0.0, inplace=False)\n"
    "        )\n"
    "      )\n"
    "    )\n"
    "    (2): PatchMerging(\n"
    "      (reduction): Linear(in_features=32, out_features=16, bias=False)\n"
    "      (norm): LayerNorm((32,), eps=1e-05, elementwise_affine=True)\n"
    "    )\n"
    "    (3): Sequential(\n"
    "      (0): SwinTransformerBlock(\n"
    "        (norm1): LayerNorm((16,), eps=1e-05, elementwise_affine=True)\n"
    "        (attn): ShiftedWindowAttention(\n"
    "          window_size=[2, 2], shift_size=[0, 0], num_heads=2\n"
    "          (qkv): Linear(in_features=16, out_features=48, bias=True)\n"
    "          (proj): Linear(in_features=16, out_features=16, bias=True)\n"
    "        )\n"
    "        (stochastic_depth): StochasticDepth(p=0.1, mode=row)\n"
    "        (norm2): LayerNorm((16,), eps=1e-05, elementwise_affine=True)\n"
    "        (mlp): MLP(\n"
    "          (0): Linear(in_features=16, out_features=64, bias=True)\n"
    "          (1): GELU(approximate='none')\n"
    "          (2): Dropout(p=0.0, inplace=False)\n"
    "          (3): Linear(in_features=64, out_features=16, bias=True)\n"
    "          (4): Dropout(p=0.0, inplace=False)\n"
    "        )\n"
    "      )\n"
    "    )\n"
    "  )\n"
    "  (norm): LayerNorm((16,), eps=1e-05, elementwise_affine=True)\n"
    "  (permute): Permute()\n"
    "  (avgpool): AdaptiveAvgPool2d(output_size=1)\n"
    "  (flatten): Flatten(start_dim=1, end_dim=-1)\n"
    "  (head): Linear(in_features=16, out_features=10, bias=True)\n"
    ")\n";

/* Convolutions and pools run in sample blocks (runtime/exec/plan.c,
 * plan_segments): the block buffers are the plan's, the convolution's
 * scratch is kept per thread. */
static const char VGG_BLOCK[] =
    "Sequential(\n"
    "  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))\n"
    "  (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
    "  (2): ReLU(inplace=True)\n"
    "  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=True)\n"
    "  (4): Hardswish()\n"
    ")\n";
static const char LENET[] =
    "Sequential(\n"
    "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
    "  (1): ReLU()\n"
    "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
    "  (3): Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))\n"
    "  (4): ReLU()\n"
    "  (5): AvgPool2d(kernel_size=2, stride=2, padding=0)\n"
    "  (6): Flatten(start_dim=1, end_dim=-1)\n"
    "  (7): Linear(in_features=400, out_features=10, bias=True)\n"
    ")\n";

static long image_allocations(lam_module *m, int64_t rows, int64_t c, int64_t h, int threads);

static long tv_image_allocations(lam_module *m, int64_t rows, int threads)
{
    return image_allocations(m, rows, 3, 16, threads);
}

static long image_allocations(lam_module *m, int64_t rows, int64_t c, int64_t h, int threads)
{
    lam_set_num_threads(threads);
    int64_t shape[4] = {rows, c, h, h};
    lam_tensor *x, *y;
    lam_plan *p;
    int nd;
    int64_t os[LAM_MAX_DIMS];
    if (lam_tensor_create(&x, 4, shape) || lam_plan_create(&p, m, 4, shape) ||
        lam_plan_output_shape(p, &nd, os) || lam_tensor_create(&y, nd, os)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return -1;
    }
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        d[i] = (float)(i % 7) - 3.0f;
    if (lam_plan_run(p, x, y))
        return -1;
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 100; i++)
        if (lam_plan_run(p, x, y)) {
            fprintf(stderr, "run failed: %s\n", lam_last_error());
            return -1;
        }
    counting = 0;
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    return allocations;
}

/* A plan of m for a 3-D input (a sequence model): allocations in 100 runs
 * after the first.  The layers' scratch (attention projections, the
 * feed-forward hidden rows, the encoder's ping-pong buffers) comes from the
 * plan's forward pool. */
static long seq_plan_allocations(lam_module *m, int64_t d0, int64_t d1, int64_t d2, int threads)
{
    lam_set_num_threads(threads);
    int64_t shape[3] = {d0, d1, d2};
    lam_tensor *x, *y;
    lam_plan *p;
    int nd;
    int64_t os[LAM_MAX_DIMS];
    if (lam_tensor_create(&x, 3, shape) || lam_plan_create(&p, m, 3, shape) ||
        lam_plan_output_shape(p, &nd, os) || lam_tensor_create(&y, nd, os)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return -1;
    }
    float *d = lam_tensor_data(x);
    for (int64_t i = 0; i < lam_tensor_numel(x); i++)
        d[i] = (float)(i % 13) * 0.1f - 0.6f;
    if (lam_plan_run(p, x, y))
        return -1;
    allocations = 0;
    counting = 1;
    for (int i = 0; i < 100; i++)
        if (lam_plan_run(p, x, y)) {
            fprintf(stderr, "run failed: %s\n", lam_last_error());
            return -1;
        }
    counting = 0;
    lam_plan_free(p);
    lam_tensor_release(x);
    lam_tensor_release(y);
    return allocations;
}

#endif /* NO_INTERPOSE */

int main(void)
{
#ifdef NO_INTERPOSE
    puts("SKIP: allocation interposition needs glibc and no sanitizer");
    return 77;
#else
    lam_manual_seed(0);
    lam_module *seed = make_seed_model(), *mlp = make_mlp(784, 1024, 10);
    if (!seed || !mlp)
        return 1;
    check("plan: seed model, batch 1, 1 thread", plan_allocations(seed, 1, 10, 1), 0);
    check("plan: seed model, batch 65536, 2 threads", plan_allocations(seed, 65536, 10, 2), 0);
    check("plan: MLP 784-1024-1024-10, batch 1, 2 threads", plan_allocations(mlp, 1, 784, 2), 0);
    check("plan: MLP 784-1024-1024-10, batch 64, 2 threads", plan_allocations(mlp, 64, 784, 2), 0);
    check("plan: MLP 784-1024-1024-10, batch 7, 3 threads", plan_allocations(mlp, 7, 784, 3), 0);
    /* the simple forward allocates only the tensor it returns */
    check("forward: seed model, batch 1", forward_allocations(seed, 1, 10, 1), 200);
    check("forward: MLP, batch 256, 2 threads", forward_allocations(mlp, 256, 784, 2), 200);
    /* other models built and changed meanwhile: the seed model's plan stays */
    check("forward: seed model, other models built between calls",
          forward_allocations_among_others(seed, 1, 10), 200);
    /* a Sequential that cannot be planned is remembered as such: each call
     * allocates only its three children's outputs (no plan made and dropped) */
    lam_module *unplannable = make_unplannable();
    if (!unplannable)
        return 1;
    check("forward: Sequential with a custom module, batch 4",
          forward_allocations(unplannable, 4, 10, 1), 600);
    /* until it changes: with a ReLU in the custom module's place it is planned */
    lam_module *relu;
    if (lam_relu_create(&relu) || lam_container_set(unplannable, 1, relu))
        return 1;
    lam_module_release(relu);
    check("forward: the same with a ReLU in its place, batch 4",
          forward_allocations(unplannable, 4, 10, 1), 200);
    lam_module_release(unplannable);
    int n = 10;
    /* custom forwards (issue 11.2): intermediates from the plan's forward
     * pools; a C custom module (row-independent or not) and a plugin
     * container (tests/plugins/gated.c) */
    lam_module *list = make_loop_model_shaped(10, 50, 2, true);
    lam_module *list_nr = make_loop_model_shaped(10, 50, 2, false);
    lam_module *gated = make_gated_plugin(64);
    if (!list || !list_nr || !gated) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return 1;
    }
    check("plan: custom ModuleList forward, batch 1, 1 thread", plan_allocations(list, 1, 10, 1), 0);
    check("plan: custom ModuleList forward, batch 1024, 2 threads",
          plan_allocations(list, 1024, 10, 2), 0);
    check("plan: custom forward, not rowwise, batch 4096, 2 threads",
          plan_allocations(list_nr, 4096, 10, 2), 0);
    check("plan: GatedResidual plugin, batch 4096, 1 thread", plan_allocations(gated, 4096, 64, 1), 0);
    check("plan: GatedResidual plugin, batch 4096, 2 threads", plan_allocations(gated, 4096, 64, 2), 0);
    check("plan: GatedResidual plugin, batch 3, 2 threads", plan_allocations(gated, 3, 64, 2), 0);
    check("forward: custom ModuleList forward, batch 1024, 2 threads",
          forward_allocations(list, 1024, 10, 2), 200);
    check("forward: GatedResidual plugin, batch 2048, 2 threads",
          forward_allocations(gated, 2048, 64, 2), 200);
    check("forward_into: custom ModuleList forward, batch 1024, 2 threads",
          into_allocations(list, 1024, 10, 2), 0);
    check("forward_into: GatedResidual plugin, batch 4096, 2 threads",
          into_allocations(gated, 4096, 64, 2), 0);
    check("forward_into: seed Sequential, batch 64, 1 thread", into_allocations(seed, 64, 10, 1), 0);
    check("forward_into: Linear layer of the MLP, batch 8, 2 threads",
          into_allocations(lam_module_child(mlp, "0"), 8, 784, 2), 0);
    n += 12;
    /* the shipped torchvision plugin's blocks */
    lam_module *tv = NULL;
    if (lam_plugin_load(LAM_TEST_TV_PLUGIN, NULL) ||
        lam_model_parse(TV_MODEL, sizeof TV_MODEL - 1, "tv.lam", &tv)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(tv);
    check("plan: torchvision blocks, batch 1, 1 thread", tv_plan_allocations(tv, 1, 1), 0);
    check("plan: torchvision blocks, batch 5, 2 threads", tv_plan_allocations(tv, 5, 2), 0);
    n += 2;
    lam_module *mv2 = NULL, *resnet = NULL;
    if (lam_model_parse(MV2_BLOCK, sizeof MV2_BLOCK - 1, "mv2.lam", &mv2) ||
        lam_model_parse(TV_RESNET, sizeof TV_RESNET - 1, "resnet.lam", &resnet)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(mv2);
    lam_module_eval(resnet);
    check("plan: MobileNetV2 block, stride 2, batch 1, 1 thread", tv_plan_allocations(mv2, 1, 1), 0);
    check("plan: MobileNetV2 block, stride 2, batch 6, 2 threads", tv_plan_allocations(mv2, 6, 2), 0);
    /* one row: the 1x1 maps from layer2 on, the pool and the Linear on a
     * single row (run twice first, as every case here) */
    check("plan: ResNet (row blocks), batch 1, 1 thread", tv_plan_allocations(resnet, 1, 1), 0);
    check("plan: ResNet (row blocks), batch 2, 1 thread", tv_plan_allocations(resnet, 2, 1), 0);
    check("plan: ResNet (row blocks), batch 9, 2 threads", tv_plan_allocations(resnet, 9, 2), 0);
    check("plan: ResNet (row blocks), batch 9, 3 threads", tv_plan_allocations(resnet, 9, 3), 0);
    n += 6;
    /* a few pages of slack: the kernel may fault a page in for its own
     * reasons (without the pre-faulting of pool buffers: 121 and 198) */
    const struct { int64_t shape[4]; int threads; } big[] = {{{1, 8, 256, 256}, 1}, {{3, 8, 192, 160}, 2}};
    for (int i = 0; i < 2; i++) {
        long f = second_run_faults(resnet, big[i].shape, big[i].threads);
        printf("%-58s %4ld pages faulted in (expected at most 16)\n",
               i ? "plan: ResNet, 3x8x192x160, 2 threads, second run" : "plan: ResNet, 1x8x256x256, 1 thread, second run", f);
        if (f < 0 || f > 16)
            failures++;
    }
    n += 2;
    lam_module_release(mv2);
    lam_module_release(resnet);
    /* one run first only: from the second on nothing is allocated, on a
     * model parsed anew for each (its folds are made in that first run) */
    const struct { int64_t shape[4]; int threads; const char *what; } small[] = {
        {{1, 3, 16, 12}, 1, "plan: MobileNetV2 (2 stages), batch 1, 1 thread, after 1 run"},
        {{4, 3, 20, 12}, 2, "plan: MobileNetV2 (2 stages), batch 4, 2 threads, after 1 run"},
    };
    for (int i = 0; i < 2; i++) {
        lam_module *sm = NULL;
        if (lam_model_parse(MV2_SMALL, sizeof MV2_SMALL - 1, "mv2-small.lam", &sm)) {
            fprintf(stderr, "setup failed: %s\n", lam_last_error());
            return 1;
        }
        lam_module_eval(sm);
        check(small[i].what, tv_plan_allocations_after(sm, small[i].shape, small[i].threads, 1), 0);
        lam_module_release(sm);
    }
    n += 2;
    lam_module *vit = NULL, *swin = NULL;
    if (lam_model_parse(VIT_MODEL, sizeof VIT_MODEL - 1, "vit.lam", &vit) ||
        lam_model_parse(SWIN_MODEL, sizeof SWIN_MODEL - 1, "swin.lam", &swin)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(vit);
    lam_module_eval(swin);
    check("plan: VisionTransformer, batch 1, 1 thread", tv_image_allocations(vit, 1, 1), 0);
    check("plan: VisionTransformer, batch 3, 2 threads", tv_image_allocations(vit, 3, 2), 0);
    check("plan: SwinTransformer, batch 1, 1 thread", tv_image_allocations(swin, 1, 1), 0);
    check("plan: SwinTransformer, batch 3, 2 threads", tv_image_allocations(swin, 3, 2), 0);
    n += 4;
    lam_module_release(vit);
    lam_module_release(swin);
    lam_module *vgg = NULL, *lenet = NULL;
    if (lam_model_parse(VGG_BLOCK, sizeof VGG_BLOCK - 1, "vgg.lam", &vgg) ||
        lam_model_parse(LENET, sizeof LENET - 1, "lenet.lam", &lenet)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(vgg);
    lam_module_eval(lenet);
    check("plan: Conv-BN-ReLU-MaxPool blocks, batch 7, 1 thread", image_allocations(vgg, 7, 3, 40, 1),
          0);
    check("plan: Conv-BN-ReLU-MaxPool blocks, batch 7, 2 threads",
          image_allocations(vgg, 7, 3, 40, 2), 0);
    check("plan: Conv-BN-ReLU-MaxPool blocks, batch 8, 2 threads",
          image_allocations(vgg, 8, 3, 40, 2), 0);
    check("plan: LeNet blocks, batch 65, 3 threads", image_allocations(lenet, 65, 1, 28, 3), 0);
    check("plan: LeNet blocks, batch 256, 2 threads", image_allocations(lenet, 256, 1, 28, 2), 0);
    n += 5;
    lam_module_release(vgg);
    lam_module_release(lenet);
    /* issue 16's sequence models: TransformerEncoder (post-norm and
     * norm_first, with a final LayerNorm) and MultiheadAttention alone */
    lam_module *layer = NULL, *layer_nf = NULL, *enc = NULL, *enc_nf = NULL, *norm = NULL,
               *mha = NULL;
    int64_t nshape[1] = {32};
    if (lam_transformer_encoder_layer_create(&layer, 32, 4, 64, 0.1, "relu", 1e-5, true, false) ||
        lam_transformer_encoder_layer_create(&layer_nf, 32, 4, 64, 0.1, "gelu", 1e-5, false,
                                             true) ||
        lam_layer_norm_create(&norm, 1, nshape, 1e-5, true) ||
        lam_transformer_encoder_create(&enc, layer, 2, NULL) ||
        lam_transformer_encoder_create(&enc_nf, layer_nf, 3, norm) ||
        lam_multihead_attention_create(&mha, 32, 4, 0.0, true, false, false, 0, 0, false)) {
        fprintf(stderr, "setup failed: %s\n", lam_last_error());
        return 1;
    }
    lam_module_eval(enc);
    lam_module_eval(enc_nf);
    lam_module_eval(layer);
    check("plan: TransformerEncoder, batch 1 x 128, 1 thread",
          seq_plan_allocations(enc, 1, 128, 32, 1), 0);
    check("plan: TransformerEncoder, batch 8 x 128, 2 threads",
          seq_plan_allocations(enc, 8, 128, 32, 2), 0);
    check("plan: TransformerEncoder norm_first + norm, 17 x 3, 2 threads",
          seq_plan_allocations(enc_nf, 17, 3, 32, 2), 0);
    check("plan: TransformerEncoderLayer, batch 2 x 9, 1 thread",
          seq_plan_allocations(layer, 2, 9, 32, 1), 0);
    check("plan: MultiheadAttention, 70 x 2, 2 threads", seq_plan_allocations(mha, 70, 2, 32, 2), 0);
    n += 5;
    lam_module_release(layer);
    lam_module_release(layer_nf);
    lam_module_release(norm);
    lam_module_release(enc);
    lam_module_release(enc_nf);
    lam_module_release(mha);
    lam_module_release(tv);
    lam_module_release(list);
    lam_module_release(list_nr);
    lam_module_release(gated);
    lam_module_release(seed);
    lam_module_release(mlp);
    printf("%d passed, %d failed\n", n - failures, failures);
    return failures ? 1 : 0;
#endif
}
