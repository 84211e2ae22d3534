/* lamina — plans: zero-allocation inference for one input shape.
 *
 * A plan is made once for a module and an input shape: it infers every
 * intermediate shape, fuses Linear with a following activation into one pass
 * (and, where the CPU's kernels have it, a Linear into a narrow Linear of at
 * most 8 outputs, e.g. Linear(10, 50)-ReLU-Linear(50, 2)-Sigmoid, into one
 * kernel whose hidden layer stays in registers; same bits as unfused),
 * sizes ping-pong activation buffers (per thread, padded to cache lines) and
 * chooses how to use the threads:
 *   - tiny work (the seed model at batch 1) runs on the calling thread;
 *   - a large batch is cut into cache-sized row blocks, each running the
 *     whole pipeline; the threads claim blocks one at a time (a thread the
 *     OS delays holds up only its block), with one barrier at the end.
 *     Blocks hold at least 8 rows where a step is a Linear (its GEMM wants
 *     them); rows bigger than that allows (an image through a row-
 *     independent CNN) go fewer to a block, down to one, each thread
 *     running its own images through the whole network; a row-independent
 *     module of its own forward that holds a Linear (a CNN with its
 *     classifier) takes images up to 8 a block (each thread's share), its
 *     Sequentials inside still going image by image, so that the
 *     classifier's weight is read once a block rather than once an image;
 *   - a small batch of large layers splits each Linear over output columns.
 * lam_plan_run then allocates nothing.  Results are bit-identical for any
 * thread count.  A plan may be run by one thread at a time; make one plan per
 * user thread (they are cheap) to run a model concurrently.
 *
 * Sequentials of built-in and plugin layers (nested Sequentials included) are
 * planned layer by layer.  A module with its own forward (a custom module, a
 * plugin container) that declares its output shape is a step of the plan:
 * its forward runs with a per-thread pool for the tensors it makes (reused
 * from run to run: no allocation after the first), and on row blocks across
 * threads when it declares itself row-independent (LAM_CUSTOM_ROWWISE,
 * LAM_LAYER_ROWWISE).  lam_plan_run_args passes the argument to such a
 * module when it is the plan's root, and it then sees the whole batch on
 * the calling thread.  A module without a declared shape runs through
 * lam_module_forward inside the plan, which then allocates its
 * intermediates.
 *
 * lam_module_forward on a Sequential uses cached plans the same way.
 *
 * BatchNorm folding.  An eval-mode BatchNorm1d/2d (running statistics,
 * affine or not) right after a Conv1d/Conv2d/ConvTranspose1d/2d or a
 * Linear whose output channels are the norm's channels (a convolution's
 * dim 1; a Linear's last dim, so a 2-D Linear output) is folded into it:
 * the plan keeps a copy of that layer with weight * scale and bias * scale
 * + shift per channel (scale = weight / sqrt(running_var + eps), shift =
 * bias - running_mean * scale, computed in double and rounded once), runs
 * it in the layer's place, and still fuses the activation after the norm
 * into its epilogue: "Conv2d+BatchNorm2d+ReLU".  The copy is refolded at
 * the first run after either module's parameters or buffers change
 * (written through lamina, as for the parameters below, or replaced); a
 * change of train/eval mode makes a new plan, and a norm in training mode
 * (or without running statistics) is never folded.  The plan asks the
 * layers' capabilities, not their type names: a plugin layer that
 * declares them (channel_affine; affine_axis and fold_affine,
 * <lamina/plugin.h>) folds or is folded by the same rule.  Folding changes
 * the rounding: a folded output is not the unfolded one bit for bit;
 * tests/test_fold.c holds folded outputs within 1e-5 + 1e-5 |expected| of
 * PyTorch's float64 forward (measured within 1e-6 + 1e-5 |expected|, the
 * fixtures' usual tolerance).  Inside a custom forward that a plan runs,
 * the same layers called one by one (a convolution, the norm on its
 * result, the activation on that) are folded and fused the same way, with
 * the same bits.  Run the layers one by one outside a plan (or with a
 * forward hook installed) for the unfolded bits.
 *
 * Sample blocks.  A layer that computes each sample alone and splits its
 * own work across the threads (a convolution, with its folded BatchNorm
 * and fused activation), followed by layers that map each (sample,
 * channel) plane alone (the pools, an activation the epilogue did not
 * take: "Conv2d+BatchNorm2d+ReLU, MaxPool2d"; LeNet's conv, pool, conv,
 * pool), runs block by block when the whole batch's intermediates would
 * not stay in cache: a block of samples goes through all of these layers
 * (its intermediates in two block buffers of at most 384 KiB, or one
 * sample's when a sample is larger), the convolution splitting the block
 * across the threads, the pools the block's planes ("{blocks of 3:
 * Conv2d+BatchNorm2d+ReLU, MaxPool2d}"); or, when the blocks share out
 * evenly among the threads, each thread running its own range of blocks
 * through them, with one barrier at the end ("{blocks of 19 on one thread
 * each: ...}").  The bits are those
 * of running each layer over the whole batch, for any block size and
 * thread count (tests/test_blocks.c).  The plan asks the layers'
 * capabilities ("computes samples alone", "maps planes alone"), not their
 * type names; the built-in convolutions, pools and activations declare
 * them, plugin layers with LAM_LAYER_SAMPLE_BLOCKS and LAM_LAYER_PLANEWISE
 * (plugin ABI 1.7, <lamina/plugin.h>).
 * LAMINA_SAMPLE_BLOCKS=0 in the environment when a plan is made plans it
 * layer by layer over the whole batch instead (to compare).
 *
 * Validity.  A plan records the modules it was made from (the model and the
 * modules below it that it reached) with their versions, and holds while
 * none of them changes its children or its train/eval mode.  After such a
 * change -- to the model itself, to a module nested in it, or to a module it
 * shares with another model (lam_module_eval on the other model moves the
 * shared module too) -- lam_plan_run fails with LAM_ERR_RUNTIME, "plan run:
 * Sequential[1] Sequential: its children or its train/eval mode changed after
 * the plan was made ...; make a new plan", and lam_module_forward makes a new
 * cached plan by itself.  Nothing done to other models affects a plan.
 * Parameters are not part of a plan: every run computes with the parameters
 * as they are then (replaced ones included; tensor.h says which writes are
 * seen; a folded BatchNorm is refolded from them).  Changing a model while another thread runs it is a race, as in
 * PyTorch.
 *
 * Threads: a plan is used by one thread at a time (lam_plan_run and
 * lam_plan_run_args write its buffers); its queries (output_shape, strategy,
 * describe) only read it.  Several plans of one module may run at once on
 * different threads.  A plan runs on the calling thread and that thread's
 * lamina workers, with the thread count chosen when it was made
 * (lam_set_num_threads afterwards does not change it). */
#ifndef LAMINA_PLAN_H
#define LAMINA_PLAN_H

#include "module.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lam_plan lam_plan;

/* Plan `m` for inputs of `shape` (takes a reference to m). Shape errors are
 * reported as lam_module_forward would report them. */
LAM_API lam_status lam_plan_create(lam_plan **out, lam_module *m, int ndim, const int64_t *shape);
LAM_API void lam_plan_free(lam_plan *p);
/* The output shape (out_shape holds LAM_MAX_DIMS entries). */
LAM_API lam_status lam_plan_output_shape(const lam_plan *p, int *out_ndim, int64_t *out_shape);
/* Run: input must have the planned shape and output the output shape
 * (wrap your own buffers with lam_tensor_wrap once, outside the loop). */
LAM_API lam_status lam_plan_run(lam_plan *p, const lam_tensor *input, lam_tensor *output);
/* The same with a per-call argument for custom modules. */
LAM_API lam_status lam_plan_run_args(lam_plan *p, const lam_tensor *input, void *args,
                                     lam_tensor *output);
/* How the plan uses threads: "serial", "batch" or "columns", and the count
 * (nthreads may be NULL). */
LAM_API const char *lam_plan_strategy(const lam_plan *p, int *nthreads);
/* What the plan runs, on one line: the strategy and thread count, then the
 * steps in order.  A layer with a fused activation prints as
 * "Linear+ReLU", one with a folded BatchNorm as "Conv2d+BatchNorm2d+ReLU";
 * two layers run as one kernel as "[Linear+ReLU & Linear]"; layers run
 * block by block as "{blocks of 17: Conv2d+ReLU, MaxPool2d}";
 * a module with its own forward as "serial/1: MyModel (its own forward)",
 * or "batch/2: MyModel (its own forward, row-independent)"; a layer that
 * fuses inside its forward says what in parentheses
 * ("TransformerEncoderLayer (residual adds in the GEMM epilogues of
 * self_attn.out_proj and linear2)").
 * For example "batch/2: [Linear+ReLU & Linear+Sigmoid]".  The format is for
 * people (lamina summary, logs), not for parsing.  Free with lam_free; NULL
 * on failure. */
LAM_API char *lam_plan_describe(const lam_plan *p);

/* Whether every step of the plan treats the rows of dim 0 independently
 * (built-in row-wise layers, and modules that declare LAM_CUSTOM_ROWWISE or
 * LAM_LAYER_ROWWISE), so that running the rows in pieces -- chunks, or
 * other processes -- gives the same bits as one run over all of them.
 * false for a plan that runs a module through lam_module_forward, and for
 * NULL (with the message). */
LAM_API bool lam_plan_rows_independent(const lam_plan *p);
/* The bytes of activation buffers the plan holds (what lam_plan_run uses
 * besides the input and the output); for a plan that runs rows in blocks
 * it does not grow with the batch.  0 for NULL (with the message). */
LAM_API size_t lam_plan_buffer_bytes(const lam_plan *p);

#ifdef __cplusplus
}
#endif
#endif
