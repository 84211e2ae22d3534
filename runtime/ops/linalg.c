/* torch.matmul and F.linear on the kernel table's GEMM (<lamina/ops.h>).
 *
 * The GEMM computes y = x Wᵀ (+ bias) with W [N, K] packed once per call:
 * F.linear's weight is already W; matmul's right operand [K, N] is first
 * transposed.  Shapes and messages follow torch 1.13's matmul: a 1-D or 2-D
 * operand against a batched one is folded into one matrix product, two
 * batched operands broadcast their batch dims and multiply batch by batch.
 * Threads take ranges of output rows, or of output columns when there are
 * few rows; the GEMM gives the same bits for any M or column range, so the
 * result does not depend on the split. */
#include "runtime/ops/ops.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* nbatch products y[b] = a[b] · W[b]ᵀ of [M, K] by [N, K] into [M, N]. */
typedef struct gemm_job {
    int64_t nbatch, M, N, K;
    /* output batch dims (row-major over nbatch) and each operand's step per
     * index: a in floats, W in packed matrices (0 where broadcast) */
    int nbd;
    int64_t bshape[LAM_MAX_DIMS], astep[LAM_MAX_DIMS], wstep[LAM_MAX_DIMS];
    const float *a;
    const float *w;      /* nw matrices [N, K] (transposed if needed) */
    int64_t nw;
    float *packed;       /* nw * psize floats */
    size_t psize;
    const float *bias;   /* N floats or NULL */
    float *y;
} gemm_job;

static void batch_offsets(const gemm_job *j, int64_t b, int64_t *aoff, int64_t *widx)
{
    int64_t oa = 0, ow = 0;
    for (int d = j->nbd - 1; d >= 0; d--) {
        int64_t i = b % j->bshape[d];
        b /= j->bshape[d];
        oa += i * j->astep[d];
        ow += i * j->wstep[d];
    }
    *aoff = oa;
    *widx = ow;
}

static void pack_range(void *p, int64_t begin, int64_t end)
{
    const gemm_job *j = p;
    for (int64_t i = begin; i < end; i++)
        lam__kernels()->gemm_pack((size_t)j->N, (size_t)j->K, j->w + i * j->N * j->K,
                                  j->packed + (size_t)i * j->psize);
}

static void rows_range(void *p, int64_t begin, int64_t end)
{
    const gemm_job *j = p;
    const lam__kernel_table *k = lam__kernels();
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY};
    while (begin < end) {
        int64_t b = begin / j->M, i = begin % j->M;
        int64_t m = j->M - i < end - begin ? j->M - i : end - begin, aoff, widx;
        batch_offsets(j, b, &aoff, &widx);
        k->gemm((size_t)m, (size_t)j->N, (size_t)j->K, j->a + aoff + i * j->K, (size_t)j->K,
                j->packed + (size_t)widx * j->psize, j->bias, j->y + (b * j->M + i) * j->N,
                (size_t)j->N, ep, 0, (size_t)j->N);
        begin += m;
    }
}

static void columns_range(void *p, int64_t begin, int64_t end)
{
    const gemm_job *j = p;
    const lam__kernel_table *k = lam__kernels();
    lam__epilogue ep = {.act = LAM_ACTIVATION_IDENTITY};
    for (int64_t b = 0; b < j->nbatch; b++) {
        int64_t aoff, widx;
        batch_offsets(j, b, &aoff, &widx);
        k->gemm((size_t)j->M, (size_t)j->N, (size_t)j->K, j->a + aoff, (size_t)j->K,
                j->packed + (size_t)widx * j->psize, j->bias, j->y + b * j->M * j->N,
                (size_t)j->N, ep, (size_t)begin, (size_t)end);
    }
}

/* Pack the weights and run the products into j->y. */
static lam_status gemm_run(gemm_job *j)
{
    int64_t rows = j->nbatch * j->M;
    if (rows == 0 || j->N == 0)
        return LAM_OK;
    if (j->K == 0) { /* an empty sum: the bias, or zeros */
        for (int64_t r = 0; r < rows; r++)
            for (int64_t n = 0; n < j->N; n++)
                j->y[r * j->N + n] = j->bias ? j->bias[n] : 0.0f;
        return LAM_OK;
    }
    const lam__kernel_table *k = lam__kernels();
    j->psize = k->gemm_packed_size((size_t)j->N, (size_t)j->K);
    j->packed = lam__aligned_alloc(sizeof(float) * j->psize * (size_t)j->nw);
    if (!j->packed)
        return lam__oom("packed matmul operand");
    lam__ops_for(j->nw, 2.0 * (double)(j->N * j->K), 1, pack_range, j);
    int threads = lam__threads_for_call();
    double unit = 2.0 * (double)j->K * (double)j->N;
    if (rows >= 4 * (int64_t)threads || j->N < 32 * (int64_t)threads)
        lam__ops_for(rows, unit, 1, rows_range, j);
    else
        lam__ops_for(j->N, 2.0 * (double)j->K * (double)rows, 16, columns_range, j);
    lam__aligned_free(j->packed);
    j->packed = NULL;
    return LAM_OK;
}

typedef struct transpose_ctx {
    const float *src;
    float *dst;
    int64_t R, C; /* each matrix [R, C] -> [C, R] */
} transpose_ctx;

static void transpose_range(void *p, int64_t begin, int64_t end)
{
    const transpose_ctx *t = p;
    for (int64_t m = begin; m < end; m++) {
        const float *s = t->src + m * t->R * t->C;
        float *d = t->dst + m * t->R * t->C;
        for (int64_t r = 0; r < t->R; r++)
            for (int64_t c = 0; c < t->C; c++)
                d[c * t->R + r] = s[r * t->C + c];
    }
}

static lam_status mm_error(int64_t m1r, int64_t m1c, int64_t m2r, int64_t m2c)
{
    return lam__error(LAM_ERR_SHAPE,
                      "mat1 and mat2 shapes cannot be multiplied (%" PRId64 "x%" PRId64 " and %" PRId64
                      "x%" PRId64 ")",
                      m1r, m1c, m2r, m2c);
}

static lam_status mv_error(int64_t rows, int64_t cols, int64_t vec)
{
    return lam__error(LAM_ERR_SHAPE,
                      "size mismatch, got %" PRId64 ", %" PRId64 "x%" PRId64 ",%" PRId64, rows, rows,
                      cols, vec);
}

/* The product of the first n dims of a tensor's shape (or of a shape that
 * lam__check_shape accepted): its prefixes fit in int64. */
static int64_t prod(const int64_t *s, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= s[i];
    return p;
}

/* a * b for a message: an empty tensor's folded size may not fit in int64
 * ([2^40, 0, 2^40] folds to 2^80 rows of 0); such a size shows as INT64_MAX. */
static int64_t msg_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

LAM_API lam_status lam_tensor_matmul(lam_tensor **out, const lam_tensor *a, const lam_tensor *b)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(a);
    LAM__CHECK_ARG(b);
    int da = a->ndim, db = b->ndim;
    const int64_t *sa = a->shape, *sb = b->shape;
    /* the product's sizes: a is [.., M, K] (M = 1 for 1-D), b is [.., K, N]
     * (N = 1 for 1-D); the output drops the dims that 1-D operands lack */
    int64_t M = da >= 2 ? sa[da - 2] : 1, K = sa[da - 1];
    int64_t Kb = db >= 2 ? sb[db - 2] : sb[0], N = db >= 2 ? sb[db - 1] : 1;
    int nd = 0;
    int64_t shape[LAM_MAX_DIMS];
    gemm_job j;
    memset(&j, 0, sizeof j);
    j.nbatch = 1;
    j.nw = 1;
    lam_status st;
    if (da <= 2 && db <= 2) {
        if (K != Kb) {
            if (da == 1 && db == 1)
                return lam__error(LAM_ERR_SHAPE,
                                  "inconsistent tensor size, expected tensor [%" PRId64 "] and src [%" PRId64
                                  "] to have the same number of elements, but got %" PRId64 " and %" PRId64
                                  " elements respectively",
                                  K, Kb, K, Kb);
            return db == 1 ? mv_error(M, K, Kb) : mm_error(M, K, Kb, N);
        }
        if (da == 2)
            shape[nd++] = M;
        if (db == 2)
            shape[nd++] = N;
        if (nd == 0) /* the dot product: torch's 0-dim result is [1] here */
            shape[nd++] = 1;
    } else if (db <= 2) {
        /* a batched, b a matrix or vector: fold a's batch into its rows */
        int64_t rows = prod(sa, da - 1);
        if (K != Kb)
            return db == 2 ? mm_error(rows, K, Kb, N) : mv_error(rows, K, Kb);
        M = rows;
        memcpy(shape, sa, sizeof(int64_t) * (size_t)(da - 1));
        nd = da - 1;
        if (db == 2)
            shape[nd++] = N;
    } else if (da <= 2) {
        /* b batched, a a matrix or vector: torch multiplies bᵀ by aᵀ, folded */
        int64_t B = prod(sb, db - 2);
        if (K != Kb)
            return da == 2 ? mm_error(msg_mul(B, N), Kb, K, M) : mv_error(msg_mul(B, N), Kb, K);
        memcpy(shape, sb, sizeof(int64_t) * (size_t)(db - 2));
        nd = db - 2;
        if (da == 2)
            shape[nd++] = M;
        shape[nd++] = N;
        j.nbatch = j.nw = B;
        j.nbd = 1;
        j.bshape[0] = B;
        j.astep[0] = 0;
        j.wstep[0] = 1;
    } else {
        st = lam__broadcast_shape(da - 2, sa, db - 2, sb, &nd, shape);
        if (st)
            return st;
        /* the batch dims of two empty operands may broadcast to a shape too
         * large ([2^40, 1] and [1, 2^40]): refused before B is computed */
        int64_t numel;
        shape[nd] = M;
        shape[nd + 1] = N;
        if ((st = lam__check_shape(nd + 2, shape, &numel)))
            return st;
        int64_t B = prod(shape, nd);
        if (K != Kb)
            return lam__error(LAM_ERR_SHAPE,
                              "Expected size for first two dimensions of batch2 tensor to be: [%" PRId64
                              ", %" PRId64 "] but got: [%" PRId64 ", %" PRId64 "].",
                              B, K, B, Kb);
        j.nbatch = B;
        j.nw = prod(sb, db - 2);
        j.nbd = nd;
        memcpy(j.bshape, shape, sizeof(int64_t) * (size_t)nd);
        int64_t as[LAM_MAX_DIMS], bs[LAM_MAX_DIMS];
        lam__contiguous_strides(da - 2, sa, as);
        lam__contiguous_strides(db - 2, sb, bs);
        /* (only for a result with elements: strides of an empty operand may
         * not fit in int64) */
        for (int i = 0; i < nd && numel; i++) {
            int ia = i - (nd - (da - 2)), ib = i - (nd - (db - 2));
            j.astep[i] = ia >= 0 && sa[ia] != 1 ? as[ia] * M * K : 0;
            j.wstep[i] = ib >= 0 && sb[ib] != 1 ? bs[ib] : 0;
        }
        shape[nd++] = M;
        shape[nd++] = N;
    }
    lam_tensor *y;
    const lam_tensor *ins[2] = {a, b};
    st = lam__op_output("lam_tensor_matmul", out, nd, shape, ins, 2, false, &y);
    if (st)
        return st;
    j.M = M;
    j.N = N;
    j.K = K;
    j.a = a->data;
    j.y = lam_tensor_data(y);
    /* W = bᵀ, one [N, K] matrix per matrix of b (a 1-D b is already one row) */
    float *wt = NULL;
    if (db == 1 || N == 1) {
        j.w = b->data;
    } else if (M && N && K) {
        wt = malloc(sizeof(float) * (size_t)(j.nw * N * K));
        if (!wt)
            return lam__op_finish(out, y, lam__oom("matmul transpose"));
        transpose_ctx t = {b->data, wt, K, N};
        lam__ops_for(j.nw, 2.0 * (double)(N * K), 1, transpose_range, &t);
        j.w = wt;
    }
    st = gemm_run(&j);
    free(wt);
    return lam__op_finish(out, y, st);
}

LAM_API lam_status lam_tensor_linear(lam_tensor **out, const lam_tensor *x,
                                     const lam_tensor *weight, const lam_tensor *bias)
{
    LAM__SYNC();
    LAM__CHECK_ARG(out);
    LAM__CHECK_ARG(x);
    LAM__CHECK_ARG(weight); /* bias may be NULL */
    char buf[96];
    if (weight->ndim > 2)
        return lam__error(LAM_ERR_SHAPE, "t() expects a tensor with <= 2 dimensions, but self is %dD",
                          weight->ndim);
    if (weight->ndim != 2)
        return lam__error(LAM_ERR_SHAPE,
                          "lam_tensor_linear: lamina takes a 2-D weight [out_features, in_features], "
                          "got shape %s",
                          lam_shape_str(weight->ndim, weight->shape, buf, sizeof buf));
    int nd = x->ndim;
    int64_t K = x->shape[nd - 1], N = weight->shape[0], Kw = weight->shape[1];
    int64_t rows = prod(x->shape, nd - 1);
    if (K != Kw)
        return mm_error(rows, K, Kw, N);
    if (bias && bias->ndim != 1)
        return lam__error(LAM_ERR_SHAPE,
                          "lam_tensor_linear: lamina takes a 1-D bias (out_features values), got "
                          "shape %s",
                          lam_shape_str(bias->ndim, bias->shape, buf, sizeof buf));
    int64_t nb = bias ? bias->shape[0] : N;
    if (nb != N && nb != 1) {
        if (nd == 2 || nd == 3)
            return lam__error(LAM_ERR_SHAPE,
                              "The expanded size of the tensor (%" PRId64 ") must match the existing "
                              "size (%" PRId64 ") at non-singleton dimension 1.  Target sizes: [%" PRId64
                              ", %" PRId64 "].  Tensor sizes: [%" PRId64 "]",
                              N, nb, rows, N, nb);
        return lam__error(LAM_ERR_SHAPE,
                          "The size of tensor a (%" PRId64 ") must match the size of tensor b (%" PRId64
                          ") at non-singleton dimension %d",
                          N, nb, nd - 1);
    }
    int64_t shape[LAM_MAX_DIMS];
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)nd);
    shape[nd - 1] = N;
    lam_tensor *y;
    const lam_tensor *ins[3] = {x, weight, bias};
    lam_status st = lam__op_output("lam_tensor_linear", out, nd, shape, ins, 3, false, &y);
    if (st)
        return st;
    gemm_job j;
    memset(&j, 0, sizeof j);
    j.nbatch = j.nw = 1;
    j.M = rows;
    j.N = N;
    j.K = K;
    j.a = x->data;
    j.w = weight->data;
    j.y = lam_tensor_data(y);
    float *wide = NULL; /* a bias of one value, broadcast to N */
    if (bias && nb != N) {
        wide = malloc(sizeof(float) * (size_t)(N ? N : 1));
        if (!wide)
            return lam__op_finish(out, y, lam__oom("linear bias"));
        for (int64_t i = 0; i < N; i++)
            wide[i] = bias->data[0];
    }
    j.bias = wide ? wide : bias ? bias->data : NULL;
    st = gemm_run(&j);
    free(wide);
    return lam__op_finish(out, y, st);
}
