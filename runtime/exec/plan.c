/* Plans: shape inference, Linear+activation fusion (and Linear into a narrow
 * Linear as one kernel, lam__kernel_table.mlp2), activation buffers and
 * the thread split for one input shape, made once and run without
 * allocating (see include/lamina/plan.h for the strategies). */
#include "runtime/exec/plan.h"
#include "runtime/layers/layers.h"
#include "runtime/core/parallel.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { STRAT_SERIAL, STRAT_BATCH, STRAT_COLUMNS };
static const char *const strategy_names[] = {"serial", "batch", "columns"};

/* Work below this many flops runs on the calling thread: waking a thread and
 * the barrier cost 2-4 microseconds on this 2-vCPU VM.  Measured on the seed
 * model (1,200 flops a row, ~18 ns a row on one thread): batch 256 (0.31
 * MFLOP) is slower on 2 threads (5.5 vs 4.3 us), batch 512 (0.61 MFLOP)
 * 1.2-1.6x faster, batch 1,024 1.6-1.9x. */
#define PARALLEL_MIN_FLOPS 0.5e6
/* Floats of activations per thread and block (two buffers): 256 KiB. */
#define BLOCK_FLOATS 32768
#define CACHE_LINE_FLOATS 16
#define CLAIM_STRIDE 8 /* int64 counters a cache line apart */

typedef struct plan_step {
    lam_module *m;
    int dep; /* m's index in the plan's deps (for its path in messages) */
    bool dense; /* runs rows with a fused epilogue (lam__module_ops.run_rows) */
    lam__epilogue ep;
    lam_module *act; /* the activation computed in the epilogue, if any */
    /* An eval-mode BatchNorm folded into m (lam__can_fold): `folded`, owned
     * by the plan, runs in m's place; it is refolded when m's or norm's
     * parameters or buffers change (the stamps: params_version and the sum
     * of the tensors' versions, of m then norm). */
    lam_module *norm, *folded;
    unsigned fold_pv[2];
    uint64_t fold_v[2];
    int in_ndim, out_ndim;
    int64_t in_shape[LAM_MAX_DIMS], out_shape[LAM_MAX_DIMS];
    int64_t in_row, out_row; /* floats per row of dim 0 */
    bool rowwise;
    bool pair; /* this step's run_rows then the next one's as one kernel (run_pair) */
    bool custom; /* a module with its own forward, run with a forward pool */
    bool pooled; /* a leaf whose forward_into takes scratch from the forward pool */
    /* Sample blocks (plan_segments): at a segment's first step, seg > 0
     * steps (it and the ones after it) run block by block, seg_rows samples
     * at a time, instead of each step over the whole batch; `blocks` marks
     * every step of a segment, `planes` those that run as (sample, channel)
     * planes split across the threads (lam__planewise). */
    int seg;
    int64_t seg_rows;
    bool blocks, planes;
    bool seg_threads; /* the threads take whole blocks (seg_blocks), not each step's work */
} plan_step;

struct lam_plan {
    lam_module *root;
    bool owns_root;
    bool generic; /* run through lam_module_forward */
    int in_ndim, out_ndim;
    int64_t in_shape[LAM_MAX_DIMS], out_shape[LAM_MAX_DIMS];
    plan_step *steps;
    size_t n_steps;
    int strategy, nthreads;
    int threads_requested; /* the thread count the plan was made for */
    bool blocked;          /* rows run through the whole pipeline in blocks */
    int64_t rows, block_rows;
    float *buf;
    size_t slot; /* floats per buffer */
    int64_t *claims; /* batch: blocks taken from each thread's range, one per cache line */
    bool in_use;
    unsigned stamp; /* root's tree_version when made: valid while it holds */
    lam__deps deps; /* the modules reached (for messages) */
    lam__fpool **pools; /* one per thread slot, when a step is custom */
    /* a segment's block intermediates: two buffers of seg_slot floats, per
     * thread when a segment's threads take whole blocks */
    float *seg_buf;
    size_t seg_slot;
    bool seg_threads; /* some segment's threads take whole blocks */
};

/* ---- building ---- */

typedef struct builder {
    plan_step *steps;
    size_t n, cap;
    lam__deps deps;
} builder;

#define MAX_DEPTH 64

/* Record m (child of deps[parent]); its index, or -1 when out of memory. */
static int dep_add(lam__deps *d, lam_module *m, int parent, size_t index, bool *oom)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        lam__dep *items = realloc(d->items, cap * sizeof *items);
        if (!items) {
            *oom = true;
            return -1;
        }
        d->items = items;
        d->cap = cap;
    }
    d->items[d->n] = (lam__dep){m, lam__module_version(m), parent, index};
    return (int)d->n++;
}

/* Every module under m (a generic plan depends on all of them), each once:
 * a module shared by several parents is checked after the first of them. */
static void dep_add_tree(lam__deps *d, lam__ptrmap *seen, lam_module *m, int parent,
                         size_t index, int depth, bool *oom)
{
    bool added;
    if (!lam__ptrmap_put(seen, m, 0, &added)) {
        *oom = true;
        return;
    }
    if (!added)
        return;
    int idx = dep_add(d, m, parent, index, oom);
    for (size_t i = 0; idx >= 0 && depth < MAX_DEPTH && i < m->n_children; i++)
        dep_add_tree(d, seen, m->children[i].module, idx, i, depth + 1, oom);
}

static bool plannable_leaf(const lam_module *m) { return m->ops->forward_into != NULL; }

/* A module with a forward of its own (a custom module, a plugin container)
 * is a step of its own: the plan runs its forward with a forward pool, on
 * row blocks when its type declares it row-independent. */
static bool custom_step(const lam_module *m)
{
    return m->ops->forward && !lam_module_is_modulelist(m) && !lam_module_is_sequential(m);
}

/* Flatten nested Sequentials into leaves, recording every module looked at;
 * false if something isn't a leaf (recorded too: it is why). */
static bool collect_leaves(builder *b, lam_module *m, int parent, size_t index, int depth,
                           bool *oom)
{
    int idx = dep_add(&b->deps, m, parent, index, oom);
    if (idx < 0 || depth > MAX_DEPTH)
        return false;
    if (lam_module_is_sequential(m)) {
        for (size_t i = 0; i < m->n_children; i++) {
            lam_module *c = m->children[i].module;
            /* PyTorch's values pass between its children (a tuple, or a
             * missing argument): the Sequential's own forward does that */
            if (c->ops->tuple_result || !collect_leaves(b, c, idx, i, depth + 1, oom))
                return false;
        }
        return true;
    }
    bool custom = !plannable_leaf(m) && custom_step(m);
    if (!plannable_leaf(m) && !custom)
        return false;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        plan_step *s = realloc(b->steps, cap * sizeof *s);
        if (!s) {
            *oom = true;
            return false;
        }
        b->steps = s;
        b->cap = cap;
    }
    memset(&b->steps[b->n], 0, sizeof b->steps[b->n]);
    b->steps[b->n].custom = custom;
    b->steps[b->n].pooled = !custom && m->ops->pooled_scratch;
    b->steps[b->n].m = m;
    b->steps[b->n++].dep = idx;
    return true;
}

/* Prefix the current error with the path from the plan's root to step s. */
static void locate_step(const lam_plan *p, const plan_step *s, lam_status st)
{
    lam_module *chain[MAX_DEPTH + 2];
    size_t index[MAX_DEPTH + 2];
    int n = 0;
    for (int d = s->dep; d >= 0 && n < MAX_DEPTH + 2; d = p->deps.items[d].parent, n++) {
        chain[n] = p->deps.items[d].m;
        index[n] = p->deps.items[d].index;
    }
    for (int i = 0; i < n / 2; i++) {
        lam_module *t = chain[i];
        chain[i] = chain[n - 1 - i];
        chain[n - 1 - i] = t;
        size_t u = index[i];
        index[i] = index[n - 1 - i];
        index[n - 1 - i] = u;
    }
    lam__error_locate(chain, index, n, st);
}

/* Floats per row of dim 0.  A shape without rows can be a valid empty
 * tensor whose other dims multiply past int64 ([0, 2^62, 2^62]); no row of
 * it is ever addressed, and its row size is 0.  Every other shape here has
 * passed lam__check_shape, so its products of dims fit. */
static int64_t row_size(int ndim, const int64_t *shape)
{
    if (ndim > 0 && shape[0] == 0)
        return 0;
    int64_t r = 1;
    for (int i = 1; i < ndim; i++)
        r *= shape[i];
    return r;
}

static void stamp_fold(plan_step *s)
{
    lam_module *m[2] = {s->m, s->norm};
    for (int k = 0; k < 2; k++) {
        s->fold_pv[k] = __atomic_load_n(&m[k]->params_version, __ATOMIC_ACQUIRE);
        s->fold_v[k] = lam__params_stamp(m[k]);
    }
}

static bool fold_current(const plan_step *s)
{
    lam_module *m[2] = {s->m, s->norm};
    for (int k = 0; k < 2; k++)
        if (__atomic_load_n(&m[k]->params_version, __ATOMIC_ACQUIRE) != s->fold_pv[k] ||
            lam__params_stamp(m[k]) != s->fold_v[k])
            return false;
    return true;
}

/* Fold norm into step s (stamped before reading, so that a write during
 * the fold is seen at the next run). */
static lam_status fold_step(plan_step *s, lam_module *norm)
{
    s->norm = norm;
    stamp_fold(s);
    return lam__fold(s->m, norm, s->out_ndim, s->out_shape, &s->folded);
}

/* Before a run: refold the steps whose modules' parameters changed. */
static lam_status refresh_folds(lam_plan *p)
{
    for (size_t i = 0; i < p->n_steps; i++) {
        plan_step *s = &p->steps[i];
        if (s->folded && !fold_current(s)) {
            lam_status st = fold_step(s, s->norm);
            if (st) {
                s->fold_pv[0]--; /* not current: tried again at the next run */
                locate_step(p, s, st);
                return st;
            }
        }
    }
    return LAM_OK;
}

static void release_folds(lam_plan *p)
{
    for (size_t i = 0; p->steps && i < p->n_steps; i++) {
        lam_module_release(p->steps[i].folded);
        p->steps[i].folded = NULL;
    }
}

/* The module a step runs: m, or m with a norm folded in. */
static inline lam_module *run_module(const plan_step *s) { return s->folded ? s->folded : s->m; }

static lam_status infer_shapes(lam_plan *p)
{
    int nd = p->in_ndim;
    int64_t shape[LAM_MAX_DIMS];
    memcpy(shape, p->in_shape, sizeof shape);
    size_t w = 0;
    for (size_t i = 0; i < p->n_steps; i++) {
        plan_step s = p->steps[i];
        s.in_ndim = nd;
        memcpy(s.in_shape, shape, sizeof shape);
        lam_status st = s.m->ops->output_shape(s.m, nd, shape, &s.out_ndim, s.out_shape);
        if (st) {
            locate_step(p, &s, st);
            return st;
        }
        /* a shape that no tensor can have (Linear(0, 2^20) on [2^30, 2^30, 0]);
         * lam_plan_create reports it as the forward does */
        int64_t numel;
        if (lam__check_shape(s.out_ndim, s.out_shape, &numel) != LAM_OK) {
            char prefix[96];
            snprintf(prefix, sizeof prefix, "%s output:", lam_module_type_name(s.m));
            lam__error_prefix(prefix);
            return LAM_ERR_SHAPE;
        }
        /* a following activation joins the epilogue of a layer that runs
         * rows with one (a Linear) or forwards with one (a convolution) */
        s.dense = !s.custom && lam__runs_rows(s.m);
        /* an eval-mode BatchNorm after a layer that can absorb a per-channel
         * scale and shift is folded into it (a copy of the layer with
         * folded weights runs in its place), and the activation after the
         * norm then joins the epilogue as usual */
        if (!s.custom && i + 1 < p->n_steps && !p->steps[i + 1].custom &&
            lam__can_fold(s.m, p->steps[i + 1].m, s.out_ndim, s.out_shape)) {
            lam_module *norm = p->steps[i + 1].m;
            int nd2;
            int64_t shape2[LAM_MAX_DIMS];
            if (norm->ops->output_shape(norm, s.out_ndim, s.out_shape, &nd2, shape2) == LAM_OK &&
                nd2 == s.out_ndim &&
                memcmp(shape2, s.out_shape, sizeof(int64_t) * (size_t)nd2) == 0) {
                st = fold_step(&s, norm);
                if (st) {
                    lam_module_release(s.folded);
                    locate_step(p, &s, st);
                    return st;
                }
                i++;
            }
            lam_clear_error();
        }
        if ((s.dense || (!s.custom && lam__forwards_ep(s.m))) && i + 1 < p->n_steps) {
            float alpha;
            lam_activation act = lam__epilogue_act(p->steps[i + 1].m, &alpha);
            if (act != LAM_ACTIVATION_IDENTITY) {
                s.act = p->steps[i + 1].m;
                s.ep.act = act;
                s.ep.alpha = alpha;
                i++;
            }
        }
        s.in_row = row_size(s.in_ndim, s.in_shape);
        s.out_row = row_size(s.out_ndim, s.out_shape);
        s.rowwise = lam__rowwise(s.m, s.in_ndim) && s.in_shape[0] == s.out_shape[0] &&
                    s.out_ndim >= 1;
        p->steps[w++] = s;
        nd = s.out_ndim;
        memcpy(shape, s.out_shape, sizeof shape);
    }
    p->n_steps = w;
    /* two layers that can run as one kernel (a Linear into a narrow Linear,
     * e.g. Linear(10, 50)-ReLU-Linear(50, 2), where the kernel table has it;
     * row blocks of at least 8 rows, see batch_task) */
    for (size_t i = 0; i + 1 < w; i++) {
        plan_step *s = &p->steps[i], *t = &p->steps[i + 1];
        if (s->dense && t->dense && s->rowwise && t->rowwise && lam__can_pair(s->m, t->m)) {
            s->pair = true;
            i++;
        }
    }
    p->out_ndim = nd;
    memcpy(p->out_shape, shape, sizeof shape);
    return LAM_OK;
}

/* A custom forward's work, unless its type says (flops): a multiply-add per
 * parameter of its subtree and row (its Linears), 10 per output element. */
static double step_flops(const plan_step *s)
{
    if (s->custom && !s->m->ops->flops) {
        double rows = s->in_ndim ? (double)s->in_shape[0] : 1.0;
        return 2.0 * rows * (double)lam_module_num_parameters(s->m) +
               10.0 * rows * (double)s->out_row;
    }
    return lam__flops(s->m, s->in_ndim, s->in_shape, s->out_ndim, s->out_shape);
}

static double estimate_flops(const lam_plan *p)
{
    double f = 0;
    for (size_t i = 0; i < p->n_steps; i++)
        f += step_flops(&p->steps[i]);
    return f;
}

/* The elements of a shape that lam__check_shape accepted. */
static int64_t shape_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* ---- sample blocks ----
 * A layer that computes each sample alone and splits its own work across
 * the threads (lam__sample_blocks: a convolution, with its folded norm and
 * joined activation) followed by layers that map (sample, channel) planes
 * alone (lam__planewise: a pool, an activation the epilogue did not take),
 * more such layers possibly after them (LeNet's conv, pool, conv, pool),
 * form a segment.  Run step by step, each layer writes the whole batch's
 * activations (8 x 64 x 112 x 112 floats: 25 MB) and the next reads them
 * back from memory; a segment runs block by block instead: a block of
 * samples through every step of it, its intermediates in two block
 * buffers sized for L2 (or one sample's, in L3, when a sample is larger),
 * the last step writing its rows of the whole output.  Every step keeps its
 * threads: the sample-block layers split their block themselves, the
 * plane-wise ones are split by planes (sample x channel) across the plan's
 * threads.  Or, when the blocks share out evenly enough among the threads
 * (seg_threads), each thread takes its range of whole blocks through the
 * segment (seg_blocks): one barrier for the segment, not one per step and
 * block, which on a busy machine (a thread the OS keeps off its core holds
 * up every barrier) matters more than a finer split; the sample-block
 * layers then run on that thread alone.  Each sample's and plane's
 * arithmetic is the same in any block and on any thread (the capabilities
 * promise it), so the bits are those of the step-by-step run for any block
 * size and thread count.  The capabilities decide, never a type's name.
 *
 * SEG_FLOATS bounds a block's largest intermediate (floats): 96 K (384 KiB,
 * with the convolution's packed weight and tiles in a 1 MiB L2).  A batch
 * whose intermediates fit already is not cut (nothing to gain, and each
 * block costs a barrier per step). */
#define SEG_FLOATS (96 * 1024)

static bool seg_head(const plan_step *s)
{
    return !s->custom && !s->dense && s->in_ndim >= 2 && s->out_ndim >= 2 &&
           s->in_shape[0] == s->out_shape[0] && s->in_row > 0 && s->out_row > 0 &&
           lam__sample_blocks(s->m, s->in_ndim);
}

static bool seg_plane(const plan_step *s)
{
    return !s->custom && !s->dense && !s->act && !s->folded && s->in_ndim >= 2 &&
           s->out_ndim == s->in_ndim && s->in_shape[0] == s->out_shape[0] &&
           s->in_shape[1] == s->out_shape[1] && s->in_shape[1] > 0 && s->in_row > 0 &&
           s->out_row > 0 && lam__planewise(s->m, s->in_ndim);
}

static void plan_segments(lam_plan *p)
{
    p->seg_slot = 0;
    /* LAMINA_SAMPLE_BLOCKS=0: plans made step by step (to compare) */
    const char *e = getenv("LAMINA_SAMPLE_BLOCKS");
    if (e && strcmp(e, "0") == 0)
        return;
    for (size_t i = 0; i < p->n_steps; i++) {
        if (!seg_head(&p->steps[i]))
            continue;
        size_t end = i; /* the last plane-wise step of the run */
        for (size_t j = i + 1; j < p->n_steps; j++) {
            if (seg_plane(&p->steps[j]))
                end = j;
            else if (!seg_head(&p->steps[j]))
                break;
        }
        if (end == i)
            continue;
        int64_t row = 0; /* the largest intermediate, per sample */
        for (size_t k = i; k < end; k++)
            row = p->steps[k].out_row > row ? p->steps[k].out_row : row;
        int64_t rows = p->steps[i].in_shape[0], b = SEG_FLOATS / row;
        b = b < 1 ? 1 : b;
        if (b < rows) {
            int64_t nb = (rows + b - 1) / b; /* equal blocks */
            b = (rows + nb - 1) / nb;
            /* the threads take whole blocks when a multiple of their count
             * of blocks leaves no thread more than 15% above its share */
            int64_t nth = p->nthreads, nbt = (nb + nth - 1) / nth * nth;
            int64_t bt = (rows + nbt - 1) / nbt;
            if (nth > 1 && (nbt / nth) * bt * nth * 20 <= rows * 23) {
                b = bt;
                p->steps[i].seg_threads = p->seg_threads = true;
            }
            p->steps[i].seg = (int)(end - i + 1);
            p->steps[i].seg_rows = b;
            for (size_t k = i; k <= end; k++) {
                p->steps[k].blocks = true;
                p->steps[k].planes = k > i && seg_plane(&p->steps[k]);
            }
            if ((size_t)(b * row) > p->seg_slot)
                p->seg_slot = (size_t)(b * row);
        }
        i = end;
    }
    p->seg_slot = (p->seg_slot + CACHE_LINE_FLOATS - 1) / CACHE_LINE_FLOATS * CACHE_LINE_FLOATS;
}

/* Whether m or a module below it runs rows through a weight matrix (a
 * Linear: lam__runs_rows), as a CNN's classifier does at the end of the
 * model's own forward. */
static bool runs_rows_below(const lam_module *m, int depth)
{
    if (lam__runs_rows(m))
        return true;
    for (size_t i = 0; depth < 64 && i < m->n_children; i++)
        if (m->children[i].module && runs_rows_below(m->children[i].module, depth + 1))
            return true;
    return false;
}

static lam_status choose_and_allocate(lam_plan *p, int threads)
{
    bool rowwise = p->in_ndim >= 1, dense = false;
    int64_t max_row = p->in_shape[0] ? row_size(p->in_ndim, p->in_shape) : 1;
    int64_t max_numel = 0; /* of the steps' outputs */
    for (size_t i = 0; i < p->n_steps; i++) {
        const plan_step *s = &p->steps[i];
        rowwise = rowwise && s->rowwise;
        dense = dense || s->dense;
        if (s->out_row > max_row)
            max_row = s->out_row;
        if (s->in_row > max_row)
            max_row = s->in_row;
        int64_t n = shape_numel(s->out_ndim, s->out_shape);
        if (n > max_numel)
            max_numel = n;
    }
    p->rows = p->in_shape[0];
    double flops = estimate_flops(p);
    if (threads <= 1 || flops < PARALLEL_MIN_FLOPS)
        p->strategy = STRAT_SERIAL;
    else if (rowwise && p->rows >= 4 * (int64_t)threads)
        p->strategy = STRAT_BATCH;
    else
        p->strategy = STRAT_COLUMNS;
    /* Rows too big for 8 of them to stay in L2 (an image through a CNN, a
     * sequence through a transformer block), with no step that streams a
     * weight matrix per block (a Linear: its GEMMs want 8 rows or more), go
     * in blocks of fewer rows, down to one: each row's activations stay in
     * cache through the steps, and each thread runs its own rows. */
    const bool big = max_row > BLOCK_FLOATS / 8 && !dense;
    p->nthreads = p->strategy == STRAT_SERIAL ? 1 : threads;
    if (p->strategy == STRAT_BATCH && p->rows < (int64_t)p->nthreads * (big ? 1 : 8))
        p->nthreads = (int)(big ? p->rows : (p->rows + 7) / 8);

    int slots;
    size_t slot;
    p->threads_requested = threads;
    p->blocked = rowwise && p->strategy != STRAT_COLUMNS;
    if (shape_numel(p->out_ndim, p->out_shape) == 0) {
        /* nothing to compute (lam__plan_exec returns at once) */
        p->strategy = STRAT_SERIAL;
        p->nthreads = 1;
        p->blocked = false;
        return LAM_OK;
    }
    if (p->blocked) {
        /* blocks of rows that keep both activation buffers in L2 */
        int64_t b = BLOCK_FLOATS / (max_row ? max_row : 1);
        if (big) {
            b = b < 1 ? 1 : b;
            /* images (4-d rows) through a custom step with a Linear inside
             * (a whole CNN, its classifier last): as many rows a block as
             * each thread's share, up to 8.  Every layer inside runs on
             * the whole block (a Sequential of blocks that do not declare
             * themselves rowwise does not cut it again; a convolution's
             * tasks go image by image), and the Linear reads its weight
             * once a block, not once an image (ResNet-50's fc: 8 MB) */
            bool head = false;
            for (size_t i = 0; i < p->n_steps && p->in_ndim == 4; i++)
                head = head || (p->steps[i].custom && runs_rows_below(p->steps[i].m, 0));
            int64_t share = (p->rows + p->nthreads - 1) / p->nthreads;
            if (head && b < share)
                b = share < 8 ? share : 8;
        } else
            b = b < 8 ? 8 : b > 512 ? 512 : b - b % 8;
        /* a multiple of the thread count of equal blocks (threads claim
         * them one at a time, see batch_task), at most b rows each */
        if (p->rows > 0) {
            int64_t nth = p->nthreads, nb = (p->rows + b - 1) / b;
            nb = (nb + nth - 1) / nth * nth;
            int64_t br = (p->rows + nb - 1) / nb;
            if (!big)
                br = (br + 7) / 8 * 8;
            b = br < b ? br : b;
        }
        p->block_rows = b;
        /* (b may exceed the rows: a plan for [1, 2^60] gets here, and fails) */
        if (__builtin_mul_overflow((size_t)b, (size_t)max_row, &slot))
            slot = SIZE_MAX;
        slots = 2 * p->nthreads;
    } else {
        /* whole-tensor ping-pong buffers, for the largest step output
         * (dim 0 may change along the way, as in Flatten(0, 1)) */
        p->block_rows = p->rows;
        slot = (size_t)max_numel;
        slots = 2;
        plan_segments(p);
        if (p->seg_slot) { /* a segment's intermediates stay in its block buffers */
            max_numel = 0;
            for (size_t i = 0; i < p->n_steps; i++) {
                const plan_step *s = &p->steps[i];
                int64_t n = shape_numel(s->out_ndim, s->out_shape);
                bool inner = s->blocks && i + 1 < p->n_steps && s[1].blocks && !s[1].seg;
                if (!inner && n > max_numel)
                    max_numel = n;
            }
            slot = (size_t)max_numel;
        }
    }
    size_t bytes;
    if (slot > SIZE_MAX - CACHE_LINE_FLOATS)
        return lam__oom("plan activation buffers (size past SIZE_MAX)");
    p->slot = (slot + CACHE_LINE_FLOATS - 1) / CACHE_LINE_FLOATS * CACHE_LINE_FLOATS;
    if (__builtin_mul_overflow((size_t)slots * sizeof(float), p->slot, &bytes))
        return lam__oom("plan activation buffers (size past SIZE_MAX)");
    if (p->n_steps > 1) {
        p->buf = lam__aligned_alloc(bytes);
        if (!p->buf)
            return lam__oom("plan activation buffers");
    }
    if (!p->blocked) {
        if (p->seg_slot) {
            size_t n = p->seg_threads ? 2 * (size_t)p->nthreads : 2;
            p->seg_buf = lam__aligned_alloc(n * p->seg_slot * sizeof(float));
            if (!p->seg_buf)
                return lam__oom("plan sample-block buffers");
        }
    }
    if (p->blocked) {
        p->claims = lam__aligned_alloc((size_t)p->nthreads * CLAIM_STRIDE * sizeof(int64_t));
        if (!p->claims)
            return lam__oom("plan block counters");
    }
    bool custom = false;
    for (size_t i = 0; i < p->n_steps; i++)
        custom = custom || p->steps[i].custom || p->steps[i].pooled;
    if (custom) {
        p->pools = calloc((size_t)p->nthreads, sizeof *p->pools);
        if (!p->pools)
            return lam__oom("plan forward pools");
        for (int i = 0; i < p->nthreads; i++)
            if (!(p->pools[i] = lam__fpool_new()))
                return lam__oom("plan forward pools");
    }
    return LAM_OK;
}

static bool has_custom_step(const lam_plan *p)
{
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].custom)
            return true;
    return false;
}

static void free_pools(lam_plan *p)
{
    if (p->pools)
        for (int i = 0; i < p->nthreads; i++)
            lam__fpool_free(p->pools[i]);
    free(p->pools);
    p->pools = NULL;
}

lam_status lam__plan_build(lam_plan **out, lam_module *m, int ndim, const int64_t *shape,
                           bool retain)
{
    *out = NULL;
    int64_t numel;
    lam_status st = lam__check_shape(ndim, shape, &numel);
    if (st)
        return st;
    lam_plan *p = calloc(1, sizeof *p);
    if (!p)
        return lam__oom("plan");
    p->root = m;
    p->stamp = lam__module_tree_version(m);
    p->in_ndim = ndim;
    memcpy(p->in_shape, shape, sizeof(int64_t) * (size_t)ndim);
    builder b = {0};
    bool oom = false;
    bool plannable = collect_leaves(&b, m, -1, LAM__NO_INDEX, 0, &oom) && b.n > 0;
    p->deps = b.deps;
    if (plannable) {
        p->steps = b.steps;
        p->n_steps = b.n;
        st = infer_shapes(p);
        st = lam__locate_shape_error(m, ndim, shape, st); /* the message with its path */
        if (!st)
            st = choose_and_allocate(p, lam__threads_for_call());
    }
    if (st && st != LAM_ERR_NO_MEMORY && p->steps && has_custom_step(p)) {
        /* a custom forward that does not declare its output shape (or
         * refuses this one) runs as its own forward, which says why */
        release_folds(p);
        free(p->steps);
        p->steps = NULL;
        p->n_steps = 0;
        lam__aligned_free(p->buf);
        lam__aligned_free(p->claims);
        lam__aligned_free(p->seg_buf);
        free_pools(p);
        p->buf = NULL;
        p->claims = NULL;
        p->seg_buf = NULL;
        p->seg_slot = 0;
        b.steps = NULL;
        b.n = 0;
        st = LAM_OK;
    }
    if (b.n == 0 || p->n_steps == 0) {
        free(b.steps);
        if (retain && !oom) {
            /* a public plan runs the module's own forward: any change below
             * it may change what that does */
            p->deps.n = 0;
            lam__ptrmap seen = {0};
            dep_add_tree(&p->deps, &seen, m, -1, LAM__NO_INDEX, 0, &oom);
            lam__ptrmap_free(&seen);
        }
        if (oom)
            st = lam__oom("plan");
        p->generic = true;
        p->strategy = STRAT_SERIAL;
        p->nthreads = 1;
        /* the output shape, where the module can tell */
        if (!st && m->ops->output_shape &&
            m->ops->output_shape(m, ndim, shape, &p->out_ndim, p->out_shape) != LAM_OK)
            p->out_ndim = 0;
        lam_clear_error();
    }
    if (st) {
        lam__plan_destroy(p);
        return st;
    }
    if (retain) {
        lam_module_retain(m);
        p->owns_root = true;
    }
    *out = p;
    return LAM_OK;
}

void lam__plan_destroy(lam_plan *p)
{
    if (!p)
        return;
    free_pools(p);
    release_folds(p);
    if (p->owns_root)
        lam_module_release(p->root);
    free(p->steps);
    free(p->deps.items);
    lam__aligned_free(p->buf);
    lam__aligned_free(p->claims);
    lam__aligned_free(p->seg_buf);
    free(p);
}

bool lam__plan_matches(const lam_plan *p, int ndim, const int64_t *shape, int threads)
{
    return p->in_ndim == ndim && memcmp(p->in_shape, shape, sizeof(int64_t) * (size_t)ndim) == 0 &&
           p->threads_requested == threads;
}

unsigned lam__plan_stamp(const lam_plan *p) { return p->stamp; }

bool lam__plan_stale(const lam_plan *p) { return lam__module_tree_version(p->root) != p->stamp; }

bool lam__plan_is_generic(const lam_plan *p) { return p->generic; }
void lam__plan_set_in_use(lam_plan *p, bool v) { p->in_use = v; }
bool lam__plan_in_use(const lam_plan *p) { return p->in_use; }

void lam__plan_shape(const lam_plan *p, int *ndim, int64_t *shape)
{
    *ndim = p->out_ndim;
    memcpy(shape, p->out_shape, sizeof p->out_shape);
}

/* ---- running ---- */

static void view(lam_tensor *v, float *data, int ndim, const int64_t *shape, int64_t rows)
{
    memset(v, 0, sizeof *v);
    v->data = data;
    v->ndim = ndim;
    memcpy(v->shape, shape, sizeof(int64_t) * (size_t)ndim);
    v->shape[0] = rows;
    v->numel = rows * row_size(ndim, shape);
    v->refcount = 1;
    v->borrowed = true;
}

/* The vectors of the last dim that a dense step (a Linear) multiplies in
 * `rows` rows of dim 0: rows times the dims between the first and the last;
 * a 1-D input is one vector.  (Counted on the dims, not as in_row / in_f:
 * in_features may be 0, and every row is then the bias.) */
static int64_t dense_vectors(const plan_step *s, int64_t rows)
{
    if (s->in_ndim == 1)
        return 1;
    int64_t v = rows;
    for (int i = 1; i < s->in_ndim - 1; i++)
        v *= s->in_shape[i];
    return v;
}

/* A custom step on `rows` rows: its forward (with the thread's forward pool
 * entered by the caller), its output copied to y. */
static lam_status run_custom(const plan_step *s, const float *x, float *y, int64_t rows,
                             void *args)
{
    lam_tensor vin, vout, *t = NULL;
    view(&vin, (float *)x, s->in_ndim, s->in_shape, rows);
    vin.lazy_src = true; /* unchanged until the forward returns: calls on it may wait */
    /* the forward may write its last result into y itself (no copy below) */
    view(&vout, y, s->out_ndim, s->out_shape, rows);
    lam__fwd_dest saved = lam__forward_dest_begin(s->m, &vout);
    lam_status st = lam__forward_step(s->m, &vin, args, &t);
    lam__forward_dest_end(saved);
    /* what was deferred happens now, while vin is there */
    lam_status synced = lam__sync();
    if (!st && synced) {
        lam_tensor_release(t);
        st = synced;
    }
    if (st)
        return st;
    int64_t numel = rows * s->out_row;
    bool ok = t->ndim == s->out_ndim && t->shape[0] == rows &&
              memcmp(t->shape + 1, s->out_shape + 1, sizeof(int64_t) * (size_t)(t->ndim - 1)) == 0;
    if (!ok) {
        char a[64], b[64];
        int64_t want[LAM_MAX_DIMS];
        memcpy(want, s->out_shape, sizeof want);
        want[0] = rows;
        st = lam__error(LAM_ERR_SHAPE, "%s: forward returned shape %s, but its output_shape says %s",
                        lam_module_type_name(s->m), lam_shape_str(t->ndim, t->shape, a, sizeof a),
                        lam_shape_str(s->out_ndim, want, b, sizeof b));
    } else if (t->data != y) {
        memcpy(y, t->data, (size_t)numel * sizeof(float));
    }
    lam_tensor_release(t);
    return st;
}

static lam_status run_step_rows(const plan_step *s, const float *x, float *y, int64_t rows,
                                int64_t n_begin, int64_t n_end, void *args)
{
    if (s->custom)
        return run_custom(s, x, y, rows, args);
    lam_module *m = run_module(s);
    if (s->dense)
        return m->ops->run_rows(m, x, dense_vectors(s, rows), y, s->ep, (size_t)n_begin,
                                (size_t)n_end);
    lam_tensor vin, vout;
    view(&vin, (float *)x, s->in_ndim, s->in_shape, rows);
    /* a step that is not rowwise runs whole (unless on sample blocks), and
     * its dim 0 may change */
    view(&vout, y, s->out_ndim, s->out_shape, s->rowwise || s->blocks ? rows : s->out_shape[0]);
    if (s->act) /* a joined activation (lam__forwards_ep) */
        return m->ops->forward_ep(m, &vin, &vout, s->ep);
    return m->ops->forward_into(m, &vin, &vout);
}

typedef struct run_ctx {
    lam_plan *p;
    const float *x;
    float *y;
    size_t step; /* for column splits */
    const float *sx;
    float *sy;
    int64_t rows; /* a sample block's (planes_task) */
    void *args;         /* for a custom step that is the plan's root */
    int failed;         /* batch: a block failed, stop claiming */
    lam_status status[64];
    size_t message_step; /* the step whose failure the message is */
    char message[1024];
    lam_module *within[LAM__WITHIN_MAX]; /* where in the step (lam__error_within) */
    int n_within;
} run_ctx;

static void record_failure(run_ctx *c, int ith, lam_status st, size_t step)
{
    c->status[ith < 64 ? ith : 63] = st;
    if (ith == 0 || !c->message[0]) {
        snprintf(c->message, sizeof c->message, "%s", lam_last_error());
        c->message_step = step;
        c->n_within = lam__error_within_take(c->within, LAM__WITHIN_MAX);
    }
}

/* Row blocks through the whole pipeline.  Each thread has a contiguous range
 * of blocks (what a fixed split would give it) and claims them one at a
 * time from its range's counter; when its range is done it takes the
 * blocks left in the others'.  So a thread that the OS keeps off its core
 * (a machine busy with other work) delays only the block it holds.  Rows
 * are independent and every row's arithmetic is the same in any block, so
 * the result does not depend on which thread ran which block. */
static void batch_blocks(void *ctx, int ith, int nth)
{
    run_ctx *c = ctx;
    lam_plan *p = c->p;
    float *a = p->buf ? p->buf + (size_t)(2 * ith) * p->slot : NULL;
    float *b = p->buf ? a + p->slot : NULL;
    int64_t in_row = row_size(p->in_ndim, p->in_shape);
    int64_t out_row = row_size(p->out_ndim, p->out_shape);
    const int64_t nblocks = (p->rows + p->block_rows - 1) / p->block_rows;
    /* each thread starts on its own contiguous range of blocks (the rows it
     * would get from a fixed split, and that stay in its cache from run to
     * run), then takes what is left of the others' */
    int victim = ith;
    for (;;) {
        const int64_t end = nblocks * (victim + 1) / nth;
        const int64_t blk = nblocks * victim / nth +
                            __atomic_fetch_add(&p->claims[(size_t)victim * CLAIM_STRIDE], 1,
                                               __ATOMIC_RELAXED);
        if (blk >= end) {
            /* a plan with forward pools runs only its own blocks: each
             * thread's pool and the plans its custom forwards cache then
             * see the same block shapes every run (a stolen short block
             * would make them grow later, when the OS happens to delay a
             * thread) */
            victim = victim + 1 < nth ? victim + 1 : 0;
            if (victim == ith || p->pools)
                return;
            continue;
        }
        if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
            return;
        int64_t r = blk * p->block_rows;
        int64_t n = p->rows - r < p->block_rows ? p->rows - r : p->block_rows;
        const float *x = c->x + r * in_row;
        for (size_t i = 0; i < p->n_steps; i++) {
            const plan_step *s = &p->steps[i];
            if (s->pair && n >= 8) {
                /* this step and the next as one kernel; same bits as two */
                const plan_step *t = &p->steps[++i];
                float *y = i + 1 == p->n_steps ? c->y + r * out_row : (x == a ? b : a);
                lam_status st = run_module(s)->ops->run_pair(run_module(s), s->ep, run_module(t),
                                                             t->ep, x, dense_vectors(s, n), y);
                if (st) {
                    record_failure(c, ith, st, i - 1);
                    __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
                    return;
                }
                x = y;
                continue;
            }
            float *y = i + 1 == p->n_steps ? c->y + r * out_row : (x == a ? b : a);
            lam_status st = run_step_rows(s, x, y, n, 0, s->out_shape[s->out_ndim - 1], c->args);
            if (st) {
                record_failure(c, ith, st, i);
                __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
                return;
            }
            x = y;
        }
    }
}

/* Blocks, with this thread slot's forward pool for custom steps. */
static void batch_task(void *ctx, int ith, int nth)
{
    run_ctx *c = ctx;
    if (!c->p->pools) {
        batch_blocks(ctx, ith, nth);
        return;
    }
    lam__fpool *prev = lam__fpool_enter(c->p->pools[ith]);
    batch_blocks(ctx, ith, nth);
    lam__fpool_leave(prev);
}

/* One Linear step's output columns split across threads. */
static void column_task(void *ctx, int ith, int nth)
{
    run_ctx *c = ctx;
    const plan_step *s = &c->p->steps[c->step];
    int64_t n = s->out_shape[s->out_ndim - 1], n0, n1;
    lam__split_range(n, ith, nth, 16, &n0, &n1);
    if (n0 >= n1)
        return;
    lam_status st = run_step_rows(s, c->sx, c->sy, s->in_shape[0], n0, n1, NULL);
    if (st)
        record_failure(c, ith, st, c->step);
}

/* A rowwise non-Linear step's rows split across threads. */
static void rows_task(void *ctx, int ith, int nth)
{
    run_ctx *c = ctx;
    const plan_step *s = &c->p->steps[c->step];
    int64_t r0, r1;
    lam__split_range(s->in_shape[0], ith, nth, 1, &r0, &r1);
    if (r0 >= r1)
        return;
    lam__fpool *prev = lam__fpool_enter(c->p->pools ? c->p->pools[ith] : NULL);
    lam_status st = run_step_rows(s, c->sx + r0 * s->in_row, c->sy + r0 * s->out_row, r1 - r0, 0,
                                  s->out_shape[s->out_ndim - 1], c->args);
    lam__fpool_leave(prev);
    if (st)
        record_failure(c, ith, st, c->step);
}

/* Planes [q0, q1) (sample q / C, channel q % C) of a plane-wise step on x
 * (rows of the step's input): as views [n', c', ...] into x and y, a
 * partial sample, whole samples, a partial sample. */
static lam_status run_planes(const plan_step *s, const float *x, float *y, int64_t q0, int64_t q1)
{
    lam_module *m = run_module(s);
    const int64_t C = s->in_shape[1], ip = s->in_row / C, op = s->out_row / C;
    while (q0 < q1) {
        int64_t n = 1, ch = C - q0 % C;
        if (q0 % C == 0 && q1 - q0 >= C)
            n = (q1 - q0) / C;
        else if (ch > q1 - q0)
            ch = q1 - q0;
        lam_tensor vin, vout;
        view(&vin, (float *)x + q0 * ip, s->in_ndim, s->in_shape, n);
        view(&vout, y + q0 * op, s->out_ndim, s->out_shape, n);
        if (ch != C) {
            vin.shape[1] = vout.shape[1] = ch;
            vin.numel = n * ch * ip;
            vout.numel = n * ch * op;
        }
        lam_status st = m->ops->forward_into(m, &vin, &vout);
        if (st)
            return st;
        q0 += n * ch;
    }
    return LAM_OK;
}

/* A plane-wise step of a segment on one sample block, split by planes. */
static void planes_task(void *ctx, int ith, int nth)
{
    run_ctx *c = ctx;
    const plan_step *s = &c->p->steps[c->step];
    int64_t q0, q1;
    lam__split_range(c->rows * s->in_shape[1], ith, nth, 1, &q0, &q1);
    if (q0 >= q1)
        return;
    lam_status st = run_planes(s, c->sx, c->sy, q0, q1);
    if (st)
        record_failure(c, ith, st, c->step);
}

static lam_status finish(run_ctx *c, int nth)
{
    for (int i = 0; i < (nth < 64 ? nth : 64); i++)
        if (c->status[i]) {
            lam__error(c->status[i], "%s", c->message);
            for (int k = c->n_within; k-- > 0;) /* the worker's, on this thread */
                lam__error_within(c->within[k]);
            return c->status[i];
        }
    return LAM_OK;
}

/* A segment (c->step its first step, c->sx its input, c->sy its output)
 * whose threads take whole blocks: each runs its own contiguous range of
 * blocks through every step of it, in its own two block buffers, alone
 * (the sample-block layers see they are in a parallel region and split
 * nothing).  A fixed split, not blocks claimed as batch_blocks does: a
 * convolution's scratch is per thread and sized at its first use, so every
 * thread must meet its blocks in the first run for the later runs to
 * allocate nothing. */
static void seg_blocks(void *ctx, int ith, int nth)
{
    run_ctx *c = ctx;
    lam_plan *p = c->p;
    const plan_step *h = &p->steps[c->step];
    float *buf = p->seg_buf + (size_t)(2 * ith) * p->seg_slot;
    const int64_t rows = h->in_shape[0], nblocks = (rows + h->seg_rows - 1) / h->seg_rows;
    for (int64_t blk = nblocks * ith / nth; blk < nblocks * (ith + 1) / nth; blk++) {
        if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
            return;
        const int64_t r0 = blk * h->seg_rows;
        const int64_t n = rows - r0 < h->seg_rows ? rows - r0 : h->seg_rows;
        const float *sx = c->sx + r0 * h->in_row;
        for (size_t k = 0; k < (size_t)h->seg; k++) {
            const plan_step *s = &p->steps[c->step + k];
            float *sy = k + 1 == (size_t)h->seg ? c->sy + r0 * s->out_row
                                                : buf + (k % 2) * p->seg_slot;
            lam_status st = s->planes ? run_planes(s, sx, sy, 0, n * s->in_shape[1])
                                      : run_step_rows(s, sx, sy, n, 0, s->out_shape[s->out_ndim - 1],
                                                      NULL);
            if (st) {
                record_failure(c, ith, st, c->step + k);
                __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
                return;
            }
            sx = sy;
        }
    }
}

/* The segment starting at step i0 (plan_segments), block by block: x is
 * the first step's whole input, y the last one's whole output. */
static lam_status run_segment(lam_plan *p, run_ctx *c, size_t i0, const float *x, float *y)
{
    const plan_step *h = &p->steps[i0];
    const int64_t rows = h->in_shape[0];
    for (int64_t r0 = 0; r0 < rows; r0 += h->seg_rows) {
        const int64_t n = rows - r0 < h->seg_rows ? rows - r0 : h->seg_rows;
        const float *sx = x + r0 * h->in_row;
        for (size_t k = 0; k < (size_t)h->seg; k++) {
            const size_t i = i0 + k;
            const plan_step *s = &p->steps[i];
            float *sy = k + 1 == (size_t)h->seg ? y + r0 * s->out_row
                                                : p->seg_buf + (k % 2) * p->seg_slot;
            int nth = p->nthreads;
            if (s->planes && nth > 1 && n * s->in_shape[1] > 1) {
                if (n * s->in_shape[1] < nth)
                    nth = (int)(n * s->in_shape[1]);
                c->step = i;
                c->sx = sx;
                c->sy = sy;
                c->rows = n;
                lam__parallel(nth, planes_task, c);
            } else {
                /* a sample-block layer splits the block itself */
                nth = 1;
                lam_status st = run_step_rows(s, sx, sy, n, 0, s->out_shape[s->out_ndim - 1], NULL);
                if (st)
                    record_failure(c, 0, st, i);
            }
            lam_status st = finish(c, nth);
            if (st)
                return st;
            sx = sy;
        }
    }
    return LAM_OK;
}

static lam_status run_columns(lam_plan *p, run_ctx *c)
{
    float *a = p->buf, *b = p->buf ? p->buf + p->slot : NULL;
    const float *x = c->x;
    for (size_t i = 0; i < p->n_steps; i++) {
        const plan_step *s = &p->steps[i];
        if (s->seg) {
            /* the segment's last step writes where it would have */
            size_t last = i + (size_t)s->seg - 1;
            float *y = last + 1 == p->n_steps ? c->y : (x == a ? b : a);
            lam_status st;
            if (s->seg_threads) {
                c->step = i;
                c->sx = x;
                c->sy = y;
                lam__parallel(p->nthreads, seg_blocks, c);
                st = finish(c, p->nthreads);
            } else {
                st = run_segment(p, c, i, x, y);
            }
            if (st)
                return st;
            x = y;
            i = last;
            continue;
        }
        float *y = i + 1 == p->n_steps ? c->y : (x == a ? b : a);
        c->step = i;
        c->sx = x;
        c->sy = y;
        int nth = p->nthreads;
        if (s->dense && nth > 1) {
            lam__parallel(nth, column_task, c);
        } else if (s->rowwise && nth > 1 && s->in_shape[0] >= nth) {
            lam__parallel(nth, rows_task, c);
            if (p->pools)
                lam__fpool_balance(p->pools, nth);
        } else {
            nth = 1;
            /* a custom step that is not row-independent runs here, whole;
             * its children and ops may still use the threads */
            const bool pool = s->custom || s->pooled;
            lam__fpool *prev = pool ? lam__fpool_enter(p->pools[0]) : NULL;
            lam_status st = run_step_rows(s, x, y, s->in_shape[0], 0, s->out_shape[s->out_ndim - 1],
                                          c->args);
            if (pool)
                lam__fpool_leave(prev);
            if (st)
                record_failure(c, 0, st, i);
        }
        lam_status st = finish(c, nth);
        if (st)
            return st;
        x = y;
    }
    return LAM_OK;
}

lam_status lam__plan_exec(lam_plan *p, const lam_tensor *in, void *args, lam_tensor *out)
{
    /* the steps run float32 activations: another input (ids for an
     * Embedding first) goes through the module's forward, which checks each
     * layer's type */
    if (p->generic || __builtin_expect(in->dtype != LAM_FLOAT32, 0)) {
        lam_tensor *y;
        lam_status st = lam_module_forward_args(p->root, in, args, &y);
        if (st)
            return st;
        if (!lam_tensor_same_shape(y, out)) {
            char a[64], b[64];
            st = lam__error(LAM_ERR_SHAPE, "plan: %s produced shape %s, the output tensor has %s",
                            lam_module_type_name(p->root), lam_shape_str(y->ndim, y->shape, a, sizeof a),
                            lam_shape_str(out->ndim, out->shape, b, sizeof b));
        } else {
            memcpy(out->data, y->data, (size_t)y->numel * sizeof(float));
        }
        lam_tensor_release(y);
        return st;
    }
    run_ctx c;
    c.p = p;
    c.x = in->data;
    c.y = out->data;
    c.failed = 0;
    memset(c.status, 0, sizeof c.status);
    c.message[0] = '\0';
    c.message_step = 0;
    /* per-call arguments reach a custom module that is the plan's root (a
     * Sequential passes none to its children) */
    c.args = p->n_steps == 1 && p->steps[0].custom && p->steps[0].m == p->root ? args : NULL;
    if (out->numel == 0) /* (an input without rows can still give elements: Linear(0, 3) on [0]) */
        return LAM_OK;
    lam_status st = refresh_folds(p);
    if (st)
        return st;
    if (c.args) {
        /* arguments may describe the rows (forward(x, condition)): the
         * forward sees the whole batch, on this thread */
        const plan_step *s = &p->steps[0];
        lam__fpool *prev = lam__fpool_enter(p->pools[0]);
        st = run_custom(s, c.x, c.y, s->in_shape[0], c.args);
        lam__fpool_leave(prev);
    } else if (!p->blocked) {
        st = run_columns(p, &c);
    } else {
        for (int i = 0; i < p->nthreads; i++)
            p->claims[(size_t)i * CLAIM_STRIDE] = 0;
        lam__parallel(p->nthreads, batch_task, &c);
        if (p->pools && p->nthreads > 1)
            lam__fpool_balance(p->pools, p->nthreads);
        st = finish(&c, p->nthreads);
    }
    if (st && !c.args) /* reported once, from where it failed */
        locate_step(p, &p->steps[c.message_step], st);
    return st;
}

/* ---- public API ---- */

static lam_status stale_error(const lam_plan *p)
{
    ptrdiff_t changed = lam__deps_changed(&p->deps);
    if (changed < 0) /* below a module the plan did not look into */
        return lam__error(LAM_ERR_RUNTIME,
                          "plan run: the model's structure or mode changed after the plan was "
                          "made; make a new plan");
    /* deps[changed]'s ancestors did not change: it is still in the model */
    plan_step at = {.m = p->deps.items[changed].m, .dep = (int)changed};
    lam__error(LAM_ERR_RUNTIME,
               "%s: its children or its train/eval mode changed after the plan was made "
               "(the model's structure or mode changed); make a new plan",
               lam_module_type_name(at.m));
    locate_step(p, &at, LAM_ERR_RUNTIME);
    lam__error_prefix("plan run:");
    return LAM_ERR_RUNTIME;
}

LAM_API lam_status lam_plan_create(lam_plan **out, lam_module *m, int ndim, const int64_t *shape)
{
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(m);
    LAM__CHECK_ARG(shape);
    return lam__plan_build(out, m, ndim, shape, true);
}

LAM_API void lam_plan_free(lam_plan *p) { lam__plan_destroy(p); }

LAM_API lam_status lam_plan_output_shape(const lam_plan *p, int *out_ndim, int64_t *out_shape)
{
    LAM__CHECK_ARG(p);
    LAM__CHECK_ARG(out_ndim);
    LAM__CHECK_ARG(out_shape);
    if (p->out_ndim == 0)
        return lam__error(LAM_ERR_NOT_IMPLEMENTED, "plan: %s does not declare its output shape",
                          lam_module_type_name(p->root));
    lam__plan_shape(p, out_ndim, out_shape);
    return LAM_OK;
}

LAM_API lam_status lam_plan_run_args(lam_plan *p, const lam_tensor *input, void *args,
                                     lam_tensor *output)
{
    LAM__SYNC();
    LAM__CHECK_ARG(p);
    LAM__CHECK_ARG(input);
    LAM__CHECK_ARG(output);
    if (input->ndim != p->in_ndim ||
        memcmp(input->shape, p->in_shape, sizeof(int64_t) * (size_t)p->in_ndim) != 0) {
        char a[64], b[64];
        return lam__error(LAM_ERR_SHAPE, "plan run: input shape %s, but the plan was made for %s",
                          lam_shape_str(input->ndim, input->shape, a, sizeof a),
                          lam_shape_str(p->in_ndim, p->in_shape, b, sizeof b));
    }
    if (p->out_ndim &&
        (output->ndim != p->out_ndim ||
         memcmp(output->shape, p->out_shape, sizeof(int64_t) * (size_t)p->out_ndim) != 0)) {
        char a[64], b[64];
        return lam__error(LAM_ERR_SHAPE, "plan run: output shape %s, but the plan produces %s",
                          lam_shape_str(output->ndim, output->shape, a, sizeof a),
                          lam_shape_str(p->out_ndim, p->out_shape, b, sizeof b));
    }
    if (__builtin_expect(lam__plan_stale(p), 0))
        return stale_error(p);
    if (__builtin_expect(output->dtype != LAM_FLOAT32, 0))
        return lam__dtype_error("plan run", "output", output);
    return lam__plan_exec(p, input, args, output);
}

LAM_API lam_status lam_plan_run(lam_plan *p, const lam_tensor *input, lam_tensor *output)
{
    LAM__CHECK_ARG(p);
    LAM__CHECK_ARG(input);
    LAM__CHECK_ARG(output);
    return lam_plan_run_args(p, input, NULL, output);
}

LAM_API char *lam_plan_describe(const lam_plan *p)
{
    LAM__CHECK_ARG_OR(p, NULL);
    lam__sb sb = {0};
    lam__sb_printf(&sb, "%s/%d:", strategy_names[p->strategy], p->nthreads);
    if (p->generic)
        lam__sb_printf(&sb, " %s (its own forward)", lam_module_type_name(p->root));
    for (size_t i = 0; i < p->n_steps; i++) {
        const plan_step *s = &p->steps[i];
        lam__sb_puts(&sb, i == 0 ? " " : s[-1].pair ? " & " : ", ");
        if (s->pair)
            lam__sb_puts(&sb, "[");
        if (s->seg)
            lam__sb_printf(&sb, "{blocks of %" PRId64 "%s: ", s->seg_rows,
                           s->seg_threads ? " on one thread each" : "");
        lam__sb_puts(&sb, lam_module_type_name(s->m));
        char note[128];
        if (s->m->ops->plan_note && s->m->ops->plan_note(s->m, note, sizeof note) > 0)
            lam__sb_printf(&sb, " (%s)", note);
        if (s->custom)
            lam__sb_printf(&sb, " (its own forward%s)",
                           s->rowwise ? ", row-independent" : "");
        if (s->norm)
            lam__sb_printf(&sb, "+%s", lam_module_type_name(s->norm));
        if (s->act)
            lam__sb_printf(&sb, "+%s", lam_module_type_name(s->act));
        if (i > 0 && s[-1].pair)
            lam__sb_puts(&sb, "]");
        if (s->blocks && (i + 1 == p->n_steps || !s[1].blocks || s[1].seg))
            lam__sb_puts(&sb, "}");
    }
    if (sb.failed) {
        free(sb.buf);
        lam__oom("plan description");
        return NULL;
    }
    return sb.buf;
}

LAM_API const char *lam_plan_strategy(const lam_plan *p, int *nthreads)
{
    LAM__CHECK_ARG_OR(p, NULL);
    if (nthreads)
        *nthreads = p->nthreads;
    return strategy_names[p->strategy];
}

LAM_API bool lam_plan_rows_independent(const lam_plan *p)
{
    LAM__CHECK_ARG_OR(p, false);
    if (p->generic || p->in_ndim < 1 || p->n_steps == 0)
        return false;
    for (size_t i = 0; i < p->n_steps; i++)
        if (!p->steps[i].rowwise)
            return false;
    return true;
}

LAM_API size_t lam_plan_buffer_bytes(const lam_plan *p)
{
    LAM__CHECK_ARG_OR(p, 0);
    size_t slots = p->buf ? (p->blocked ? 2 * (size_t)p->nthreads : 2) : 0;
    size_t seg = p->seg_slot * (p->seg_threads ? 2 * (size_t)p->nthreads : 2);
    return (slots * p->slot + seg) * sizeof(float);
}

/* ---- one layer run on its own (custom forwards call layers one by one) ----
 * Big enough work is still split across threads: rows for a rowwise layer
 * with enough of them, output columns for a Linear with few rows.  No
 * allocation: the plan and its single step live on the stack. */
lam_status lam__leaf_run(lam_module *m, const lam_tensor *in, lam_tensor *out)
{
    return lam__leaf_run_ep(m, in, out, (lam__epilogue){.act = LAM_ACTIVATION_IDENTITY});
}

lam_status lam__leaf_run_ep(lam_module *m, const lam_tensor *in, lam_tensor *out,
                            lam__epilogue ep)
{
    if (__builtin_expect(in->dtype != LAM_FLOAT32, 0)) /* ids: the layer sees their type */
        return m->ops->forward_into(m, in, out);
    int threads = lam__threads_for_call();
    plan_step s;
    memset(&s, 0, sizeof s);
    s.m = m;
    s.dense = lam__runs_rows(m);
    s.ep = ep;
    if (!s.dense && (ep.act != LAM_ACTIVATION_IDENTITY || ep.add))
        s.act = m; /* (only that it is set: run_step_rows then calls forward_ep) */
    s.in_ndim = in->ndim;
    s.out_ndim = out->ndim;
    memcpy(s.in_shape, in->shape, sizeof s.in_shape);
    memcpy(s.out_shape, out->shape, sizeof s.out_shape);
    s.in_row = row_size(in->ndim, in->shape);
    s.out_row = row_size(out->ndim, out->shape);
    int64_t rows = in->ndim ? in->shape[0] : 0;
    int64_t n_out = out->shape[out->ndim - 1];
    if (threads <= 1) /* the common case of a custom forward's layers: decide nothing */
        return run_step_rows(&s, in->data, out->data, rows, 0, n_out, NULL);
    s.rowwise = lam__rowwise(m, in->ndim) && in->shape[0] == out->shape[0];
    bool split_rows = s.rowwise && rows >= 4 * (int64_t)threads;
    bool split_cols = s.dense && !split_rows && n_out >= 32 * (int64_t)threads;
    if (!(split_rows || split_cols) ||
        lam__flops(m, in->ndim, in->shape, out->ndim, out->shape) < PARALLEL_MIN_FLOPS)
        return run_step_rows(&s, in->data, out->data, rows, 0, n_out, NULL);
    lam_plan p;
    memset(&p, 0, sizeof p);
    p.steps = &s;
    p.n_steps = 1;
    p.nthreads = threads;
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.p = &p;
    c.step = 0;
    c.sx = in->data;
    c.sy = out->data;
    lam__parallel(threads, split_rows ? rows_task : column_task, &c);
    return finish(&c, threads);
}
