/* liblamina-mpi — lam_mpi_run: one model over the rows of .npy files, split
 * across the ranks of a communicator, into one .npy (opened, sized, synced
 * and closed with MPI-IO).
 *
 * Each rank: opens every input's header (so that every rank checks the
 * whole input, and ranks that see different files find out), takes its
 * contiguous range of rows, and runs it a chunk at a time: map the chunk
 * (lam_npy_reader_map: no copy; a chunk that spans two shards, or a file
 * that is not float32 in this host's byte order, is read with pread into a
 * buffer instead), ask the kernel to read the next one ahead,
 * run the plan, and start writing the output rows at their offset while
 * the next chunk is computed into the other of two output buffers: with
 * direct I/O where the file system takes it (run_rows_direct, see "Direct
 * output" below), else with MPI_File_iwrite_at (run_rows).  Byte identity with one process comes from lamina's
 * determinism contract: a row's output depends only on that row for a model
 * whose rows are independent (checked), whatever the batch, the chunk and
 * the thread count.
 *
 * Every step that can fail on one rank only ends in lam_mpi_agree, so all
 * ranks leave together; the output goes to a temporary file that rank 0
 * renames once every rank has written and closed it. */
#define _GNU_SOURCE /* O_DIRECT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__) && defined(O_DIRECT) && defined(__has_include)
#if __has_include(<linux/aio_abi.h>)
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#define LAM_DIRECT_OUTPUT 1
#endif
#endif

#include "mpi/mpi_internal.h"

/* one MPI write moves at most this many bytes (the count is an int) */
#define MAX_CHUNK_BYTES ((int64_t)1 << 30)

typedef struct shard {
    lam_npy_reader *r;
    int64_t first, rows; /* its rows in the concatenation */
} shard;

typedef struct job {
    MPI_Comm comm;
    int rank, size;
    shard *shards;
    int n_shards;
    int ndim;
    int64_t shape[LAM_MAX_DIMS]; /* the whole input's; shape[0] the total rows */
    int64_t in_row, out_row;     /* floats per row */
    int64_t first, rows, chunk;  /* this rank's range, rows per forward */
    lam_plan *plan, *tail;       /* for chunk rows, and for the last, shorter chunk */
    float *in, *out[2];          /* in: allocated the first time a chunk is read rather than mapped */
    const float *x;              /* the current chunk's input: j->in, or a mapping */
    const shard *mapped;         /* the shard x is a mapping of, or NULL */
    int64_t mapped_rows;         /* its rows */
    bool no_map;                 /* mapping failed once (or is not possible): read from then on */
    char *target;
    char tmp[PATH_MAX + 64];
    int has_mode;
    mode_t mode;
    lam_mpi_run_stats *stats;
} job;

/* lam_mpi_agree, recording the first failure in the stats */
static lam_status agree(job *j, lam_status local)
{
    int failed;
    lam_status st = lam_mpi_agree(j->comm, local, &failed);
    if (st != LAM_OK && j->stats->failed_rank < 0) {
        j->stats->failed_rank = failed;
        j->stats->failed_here = local != LAM_OK;
    }
    return st;
}

static int64_t row_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 1; i < ndim; i++)
        n *= shape[i];
    return n;
}

static char *shape_text(int ndim, const int64_t *shape, char *buf, size_t size)
{
    return lam_shape_str(ndim, shape, buf, size);
}

/* Open every shard; the whole input's shape into j. */
static lam_status open_inputs(job *j, int n, const char *const *inputs)
{
    char a[96], b[96];
    j->shards = calloc((size_t)n, sizeof *j->shards);
    if (!j->shards)
        return lam__mpi_fail(LAM_ERR_NO_MEMORY, "out of memory");
    j->n_shards = n;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        shard *s = &j->shards[i];
        if (!inputs[i])
            return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_run: inputs[%d] is NULL", i);
        if (lam_npy_reader_open(inputs[i], &s->r) != LAM_OK)
            return lam__mpi_lamina_fail(LAM_ERR_IO, NULL);
        int nd = lam_npy_reader_ndim(s->r);
        const int64_t *sh = lam_npy_reader_shape(s->r);
        if (nd < 2)
            return lam__mpi_fail(LAM_ERR_SHAPE, "%s: shape %s: the rows to split are axis 0 of an array of at "
                                 "least 2 dimensions (reshape a single sample to (1, n))", inputs[i],
                                 shape_text(nd, sh, a, sizeof a));
        if (i == 0) {
            j->ndim = nd;
            memcpy(j->shape, sh, sizeof j->shape);
        } else if (nd != j->ndim || memcmp(sh + 1, j->shape + 1, (size_t)(nd - 1) * sizeof *sh)) {
            return lam__mpi_fail(LAM_ERR_SHAPE, "%s: shape %s does not continue %s's %s (every input needs "
                                 "the same shape but for axis 0)", inputs[i], shape_text(nd, sh, a, sizeof a),
                                 inputs[0], shape_text(j->ndim, j->shards[0].r ? lam_npy_reader_shape(j->shards[0].r)
                                                                             : j->shape, b, sizeof b));
        }
        s->first = total;
        s->rows = sh[0];
        if (__builtin_add_overflow(total, sh[0], &total))
            return lam__mpi_fail(LAM_ERR_SHAPE, "%s: the inputs' rows add up past 2^63", inputs[i]);
    }
    j->shape[0] = total;
    j->in_row = row_numel(j->ndim, j->shape);
    return LAM_OK;
}

/* Every rank must see the same input shape as rank 0. */
static lam_status same_as_rank0(job *j)
{
    int64_t mine[1 + LAM_MAX_DIMS] = {j->ndim}, root[1 + LAM_MAX_DIMS];
    memcpy(mine + 1, j->shape, sizeof j->shape);
    memcpy(root, mine, sizeof root);
    int err = MPI_Bcast(root, 1 + LAM_MAX_DIMS, MPI_INT64_T, 0, j->comm);
    if (err != MPI_SUCCESS)
        return lam__mpi_call_fail(err, "MPI_Bcast of the input shape");
    if (memcmp(mine, root, sizeof mine)) {
        char a[96], b[96];
        return lam__mpi_fail(LAM_ERR_SHAPE, "the input here is %s but rank 0's is %s (every rank must read the "
                             "same files)", shape_text(j->ndim, j->shape, a, sizeof a),
                             shape_text((int)root[0], root + 1, b, sizeof b));
    }
    return LAM_OK;
}

LAM_MPI_API int64_t lam_mpi_default_chunk_rows(lam_module *m, int ndim, const int64_t *shape)
{
    enum { PROBE = 1024 };
    if (!m || !shape) {
        lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_default_chunk_rows: %s is NULL", m ? "shape" : "m");
        return 0;
    }
    if (ndim < 2 || ndim > LAM_MAX_DIMS) {
        lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_default_chunk_rows: ndim %d is not in 2..%d", ndim,
                      LAM_MAX_DIMS);
        return 0;
    }
    int64_t probe[LAM_MAX_DIMS], out[LAM_MAX_DIMS];
    memcpy(probe, shape, (size_t)ndim * sizeof *shape);
    probe[0] = PROBE;
    lam_plan *p = NULL;
    int out_ndim;
    if (lam_plan_create(&p, m, ndim, probe) != LAM_OK || lam_plan_output_shape(p, &out_ndim, out) != LAM_OK) {
        lam__mpi_lamina_fail(LAM_ERR_SHAPE, NULL);
        lam_plan_free(p);
        return 0;
    }
    double per_row = 4.0 * ((double)row_numel(ndim, shape) + 2.0 * (double)row_numel(out_ndim, out)) +
                     (double)lam_plan_buffer_bytes(p) / PROBE;
    lam_plan_free(p);
    double rows = (double)LAM_MPI_CHUNK_BYTES / (per_row > 1 ? per_row : 1);
    return rows < 1 ? 1 : rows > (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)rows;
}

/* The plan for chunks of `rows` rows, checked to keep rows independent. */
static lam_status make_plan(job *j, lam_module *m, int64_t rows, lam_plan **out)
{
    int64_t shape[LAM_MAX_DIMS], oshape[LAM_MAX_DIMS];
    int ondim;
    memcpy(shape, j->shape, sizeof shape);
    shape[0] = rows;
    if (lam_plan_create(out, m, j->ndim, shape) != LAM_OK)
        return lam__mpi_lamina_fail(LAM_ERR_SHAPE, NULL);
    if (!lam_plan_rows_independent(*out))
        return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "the model does not treat the rows of its input "
                             "independently (it holds a module that mixes rows or does not declare that it "
                             "does not): split across ranks or chunks, its output would differ");
    if (lam_plan_output_shape(*out, &ondim, oshape) != LAM_OK)
        return lam__mpi_lamina_fail(LAM_ERR_SHAPE, NULL);
    j->out_row = row_numel(ondim, oshape);
    return LAM_OK;
}

/* Plans, buffers and the output's header, after the split. */
static lam_status prepare(job *j, lam_module *m, const lam_mpi_run_options *opt, char *header, size_t *hlen)
{
    lam_mpi_split_rows(j->shape[0], j->size, j->rank, &j->first, &j->rows);
    int64_t chunk = opt && opt->chunk_rows > 0 ? opt->chunk_rows : lam_mpi_default_chunk_rows(m, j->ndim, j->shape);
    if (chunk <= 0)
        return LAM_ERR_SHAPE; /* lam_mpi_default_chunk_rows said why */
    int64_t widest = j->in_row > 1 ? j->in_row : 1;
    if (chunk > MAX_CHUNK_BYTES / 4 / widest)
        chunk = MAX_CHUNK_BYTES / 4 / widest > 0 ? MAX_CHUNK_BYTES / 4 / widest : 1;
    if (chunk > j->rows)
        chunk = j->rows > 0 ? j->rows : 1; /* a rank without rows still checks the model */
    j->chunk = chunk;
    lam_status st = make_plan(j, m, chunk, &j->plan);
    if (st != LAM_OK)
        return st;
    if (j->out_row > 0 && chunk > MAX_CHUNK_BYTES / 4 / j->out_row)
        return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "a chunk of %" PRId64 " rows makes more than %" PRId64
                             " bytes of output: ask for fewer rows per chunk", chunk, MAX_CHUNK_BYTES);
    int64_t tail = j->rows % chunk;
    if (tail && (st = make_plan(j, m, tail, &j->tail)) != LAM_OK)
        return st;
    int64_t oshape[LAM_MAX_DIMS];
    int ondim;
    if (lam_plan_output_shape(j->plan, &ondim, oshape) != LAM_OK)
        return lam__mpi_lamina_fail(LAM_ERR_SHAPE, NULL);
    oshape[0] = j->shape[0];
    if (lam_npy_header(ondim, oshape, header, LAM_NPY_HEADER_MAX, hlen) != LAM_OK)
        return lam__mpi_lamina_fail(LAM_ERR_SHAPE, "the output's header");
    return LAM_OK;
}

/* Rank 0: where the output goes (a symlink's target), its mode, the
 * temporary name next to it. */
static lam_status choose_paths(job *j, const char *output)
{
    struct stat st;
    char *target = NULL;
    if (lstat(output, &st) == 0 && S_ISLNK(st.st_mode)) {
        target = realpath(output, NULL);
        if (!target) {
            /* a dangling link: its target, relative to the link's directory */
            char link[PATH_MAX];
            ssize_t n = readlink(output, link, sizeof link - 1);
            if (n < 0)
                return lam__mpi_fail(LAM_ERR_IO, "%s: cannot read the link: %s", output, strerror(errno));
            link[n] = '\0';
            const char *slash = strrchr(output, '/');
            int dir = link[0] == '/' || !slash ? 0 : (int)(slash - output + 1);
            target = malloc((size_t)dir + (size_t)n + 1);
            if (target)
                snprintf(target, (size_t)dir + (size_t)n + 1, "%.*s%s", dir, output, link);
        }
    } else {
        target = strdup(output);
    }
    if (!target)
        return lam__mpi_fail(LAM_ERR_NO_MEMORY, "out of memory");
    j->target = target;
    if (stat(target, &st) == 0) {
        if (!S_ISREG(st.st_mode))
            return lam__mpi_fail(LAM_ERR_IO, "%s: not a regular file (the output of an MPI run is written to a "
                                 "temporary file and renamed there)", output);
        j->has_mode = 1;
        j->mode = st.st_mode & 07777;
    } else if (errno != ENOENT) {
        return lam__mpi_fail(LAM_ERR_IO, "%s: %s", output, strerror(errno));
    }
    if (strlen(target) >= PATH_MAX)
        return lam__mpi_fail(LAM_ERR_IO, "%s: the path is too long", output);
    snprintf(j->tmp, sizeof j->tmp, "%s.lamina-mpi.%ld.tmp", target, (long)getpid());
    return LAM_OK;
}

/* Rank 0's temporary name to every rank. */
static lam_status share_tmp(job *j)
{
    int err = MPI_Bcast(j->tmp, (int)sizeof j->tmp, MPI_CHAR, 0, j->comm);
    return err == MPI_SUCCESS ? LAM_OK : lam__mpi_call_fail(err, "MPI_Bcast of the output's temporary name");
}

/* Rows [row, row + n) of the concatenated inputs into dst. */
static lam_status read_rows(const job *j, int64_t row, int64_t n, float *dst, bool prefetch)
{
    for (int i = 0; i < j->n_shards && n > 0; i++) {
        const shard *s = &j->shards[i];
        if (row >= s->first + s->rows || row + n <= s->first)
            continue;
        int64_t b = row > s->first ? row : s->first;
        int64_t e = row + n < s->first + s->rows ? row + n : s->first + s->rows;
        lam_status st = prefetch ? lam_npy_reader_prefetch(s->r, b - s->first, e - b)
                                 : lam_npy_reader_read(s->r, b - s->first, e - b, dst + (b - row) * j->in_row);
        if (st != LAM_OK)
            return lam__mpi_lamina_fail(st, NULL);
    }
    return LAM_OK;
}

static void to_little_endian(float *v, int64_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, v + i, 4);
        u = __builtin_bswap32(u);
        memcpy(v + i, &u, 4);
    }
#else
    (void)v, (void)n;
#endif
}

/* The mapping of the current chunk (if it is one) released. */
static void release_chunk(job *j)
{
    if (j->mapped)
        lam_npy_reader_unmap(j->mapped->r, j->x, j->mapped_rows);
    j->mapped = NULL;
    j->x = NULL;
}

/* Rows [row, row + n) of the concatenated inputs as j->x: a mapping when
 * they lie in one shard (no copy of the input), else read into j->in. */
static lam_status load_rows(job *j, int64_t row, int64_t n)
{
    for (int i = 0; i < j->n_shards && !j->no_map; i++) {
        const shard *s = &j->shards[i];
        if (row < s->first || row + n > s->first + s->rows)
            continue;
        if (lam_npy_reader_map(s->r, row - s->first, n, &j->x) == LAM_OK) {
            j->mapped = s;
            j->mapped_rows = n;
            return LAM_OK;
        }
        j->no_map = true; /* not float32 here, or no address space: read from now on (errors are read's) */
    }
    if (!j->in) {
        size_t in_bytes = (size_t)(j->chunk * j->in_row) * sizeof(float);
        j->in = malloc(in_bytes ? in_bytes : 1);
        if (!j->in)
            return lam__mpi_fail(LAM_ERR_NO_MEMORY, "out of memory for chunks of %" PRId64 " rows (%zu bytes): "
                                 "ask for fewer rows per chunk", j->chunk, in_bytes);
    }
    j->x = j->in;
    return read_rows(j, row, n, j->in, false);
}

/* The chunk at row `done` of this rank's range as j->x (*n rows; release
 * it with release_chunk), and the page cache asked for the next one (*next
 * rows, 0 at the end). */
static lam_status read_chunk(job *j, int64_t done, lam_mpi_run_stats *stats, int64_t *n,
                             int64_t *next)
{
    *n = j->rows - done < j->chunk ? j->rows - done : j->chunk;
    *next = j->rows - done - *n < j->chunk ? j->rows - done - *n : j->chunk;
    double t = MPI_Wtime();
    lam_status st = load_rows(j, j->first + done, *n);
    stats->read_seconds += MPI_Wtime() - t;
    if (st == LAM_OK && *next > 0)
        st = read_rows(j, j->first + done + *n, *next, NULL, true);
    return st;
}

/* The forward of the n rows at j->x (row `done` of the range) into y, in
 * the file's byte order; the chunk's mapping released. */
static lam_status run_chunk(job *j, int64_t done, int64_t n, void *args, float *y_rows,
                            lam_mpi_run_stats *stats)
{
    int64_t ishape[LAM_MAX_DIMS], oshape[LAM_MAX_DIMS];
    int ondim;
    lam_plan *p = n == j->chunk ? j->plan : j->tail;
    memcpy(ishape, j->shape, sizeof ishape);
    ishape[0] = n;
    lam_plan_output_shape(p, &ondim, oshape);
    lam_status st = LAM_OK;
    lam_tensor *x = NULL, *y = NULL;
    double t = MPI_Wtime();
    /* lam_plan_run reads its input only (const): a mapping serves as well as j->in */
    if (lam_tensor_wrap(&x, (float *)(uintptr_t)j->x, j->ndim, ishape) != LAM_OK ||
        lam_tensor_wrap(&y, y_rows, ondim, oshape) != LAM_OK ||
        lam_plan_run_args(p, x, args, y) != LAM_OK) {
        char what[96];
        snprintf(what, sizeof what, "forward of rows [%" PRId64 ", %" PRId64 ")", j->first + done,
                 j->first + done + n);
        st = lam__mpi_lamina_fail(LAM_ERR_RUNTIME, what);
    }
    lam_tensor_release(x);
    lam_tensor_release(y);
    stats->compute_seconds += MPI_Wtime() - t;
    release_chunk(j);
    if (st == LAM_OK)
        to_little_endian(y_rows, n * j->out_row);
    return st;
}

static lam_status wait_write(MPI_Request *req, double *seconds)
{
    double t = MPI_Wtime();
    MPI_Status ms;
    int err = MPI_Wait(req, &ms);
    *seconds += MPI_Wtime() - t;
    return err == MPI_SUCCESS ? LAM_OK : lam__mpi_call_fail(err, "writing the output");
}

/* This rank's rows, chunk by chunk. */
static lam_status run_rows(job *j, MPI_File fh, MPI_Offset data_off, void *args, lam_mpi_run_stats *stats)
{
    MPI_Request req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    lam_status st = LAM_OK;
    int cur = 0;
    size_t out_bytes = (size_t)(j->chunk * j->out_row) * sizeof(float);
    j->out[0] = malloc(out_bytes ? out_bytes : 1);
    j->out[1] = malloc(out_bytes ? out_bytes : 1);
    if (!j->out[0] || !j->out[1])
        return lam__mpi_fail(LAM_ERR_NO_MEMORY, "out of memory for the output of chunks of %" PRId64 " rows (2 x "
                             "%zu bytes): ask for fewer rows per chunk", j->chunk, out_bytes);
    if (j->rows > 0)
        st = read_rows(j, j->first, j->chunk < j->rows ? j->chunk : j->rows, NULL, true);
    for (int64_t done = 0; done < j->rows && st == LAM_OK;) {
        int64_t n, next;
        if ((st = read_chunk(j, done, stats, &n, &next)) != LAM_OK)
            break;
        if ((st = wait_write(&req[cur], &stats->write_seconds)) != LAM_OK)
            break;
        if ((st = run_chunk(j, done, n, args, j->out[cur], stats)) != LAM_OK)
            break;
        MPI_Offset off = data_off + (MPI_Offset)(j->first + done) * j->out_row * 4;
        int err = MPI_File_iwrite_at(fh, off, j->out[cur], (int)(n * j->out_row * 4), MPI_BYTE, &req[cur]);
        if (err != MPI_SUCCESS)
            st = lam__mpi_call_fail(err, "writing the output");
        cur ^= 1;
        done += n;
    }
    for (int i = 0; i < 2; i++) {
        lam_status w = wait_write(&req[i], &stats->write_seconds);
        if (st == LAM_OK)
            st = w;
    }
    return st;
}

#ifdef LAM_DIRECT_OUTPUT
/* Direct output.  Where the file system takes O_DIRECT, a rank writes its
 * rows with direct I/O, submitted with Linux's native asynchronous I/O
 * (io_submit) so that the writes proceed while the next chunk is computed.
 * Direct I/O moves the rows from the rank's buffer to the file system
 * without copying them into the page cache: a write-once output that is
 * synced at the end anyway gains nothing from the cache, and filling new
 * page-cache pages is where most of a small model's time went (on a virtual
 * machine, first touches of memory the host has reclaimed are slow).
 *
 * Direct I/O needs offsets, lengths and memory aligned to the device's
 * block: a chunk's output is computed into a page-aligned staging buffer at
 * its offset within the file's 4 KiB page, the whole pages are written
 * directly, the partial page at the end is carried to the start of the
 * other buffer, and the partial pages at the two ends of the rank's range
 * (which it shares with the neighbouring rank, or the header) go through
 * MPI-IO like every write of the buffered path.  A file system that refuses
 * a direct write (EINVAL: other alignment, no O_DIRECT) gets that write and
 * every later one through MPI-IO instead. */
enum { DIO_ALIGN = 4096, DIO_PIECES = 8, DIO_MIN_PIECE = 256 << 10, DIO_MIN_STAGE = 2 << 20 };

typedef struct dio {
    int fd;                        /* the temporary file opened O_DIRECT, or -1 */
    bool direct;                   /* write whole pages through fd (else everything with MPI-IO) */
    aio_context_t ctx;
    char *buf[2];                  /* staging buffers, DIO_ALIGN-aligned */
    int64_t cap;                   /* bytes in each */
    int pending[2];                /* writes in flight from buf[k] */
    struct iocb cb[2][DIO_PIECES];
    int64_t base;                  /* file offset of buf[cur][0], a multiple of DIO_ALIGN */
} dio;

static int64_t dio_down(int64_t v) { return v / DIO_ALIGN * DIO_ALIGN; }
static int64_t dio_up(int64_t v) { return (v + DIO_ALIGN - 1) / DIO_ALIGN * DIO_ALIGN; }

/* Open the temporary file for direct writes and allocate the staging
 * buffers for chunks of out_bytes bytes: each holds at least DIO_MIN_STAGE
 * bytes, so that small chunks are written a few together (a direct write
 * waits for the device: many small ones would be slow).  d->fd stays -1
 * (MPI-IO) where the file system or the kernel does not take it;
 * LAM_ERR_NO_MEMORY only. */
static lam_status dio_open(const job *j, dio *d, size_t out_bytes)
{
    memset(d, 0, sizeof *d);
    d->fd = -1;
    size_t cap = (size_t)dio_up((int64_t)out_bytes > DIO_MIN_STAGE ? (int64_t)out_bytes : DIO_MIN_STAGE) + 2 * DIO_ALIGN;
    d->cap = (int64_t)cap;
    for (int k = 0; k < 2; k++)
        if (posix_memalign((void **)&d->buf[k], DIO_ALIGN, cap) != 0) {
            d->buf[k] = NULL;
            return lam__mpi_fail(LAM_ERR_NO_MEMORY, "out of memory for the output's staging buffers (2 x %zu "
                                 "bytes): ask for fewer rows per chunk", cap);
        }
    int fd = open(j->tmp, O_WRONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0)
        return LAM_OK;
    if (syscall(SYS_io_setup, 2 * DIO_PIECES, &d->ctx) != 0) {
        d->ctx = 0;
        close(fd);
        return LAM_OK;
    }
    d->fd = fd;
    d->direct = true;
    return LAM_OK;
}

static lam_status dio_mpi_write(MPI_File fh, int64_t off, const char *p, int64_t len)
{
    MPI_Status ms;
    int err = MPI_File_write_at(fh, (MPI_Offset)off, p, (int)len, MPI_BYTE, &ms);
    return err == MPI_SUCCESS ? LAM_OK : lam__mpi_call_fail(err, "writing the output");
}

/* Wait for the writes in flight from buffer `k` (from both when k < 0):
 * LAM_OK or the first failure. */
static lam_status dio_wait(dio *d, MPI_File fh, int k, double *seconds)
{
    lam_status st = LAM_OK;
    double t = MPI_Wtime();
    while (k < 0 ? d->pending[0] + d->pending[1] > 0 : d->pending[k] > 0) {
        struct io_event ev[2 * DIO_PIECES];
        long n = syscall(SYS_io_getevents, d->ctx, 1L, (long)(2 * DIO_PIECES), ev, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = lam__mpi_fail(LAM_ERR_IO, "writing the output: io_getevents: %s", strerror(errno));
            break;
        }
        for (long i = 0; i < n; i++) {
            const struct iocb *cb = (const struct iocb *)(uintptr_t)ev[i].obj;
            d->pending[ev[i].data]--;
            int64_t res = (int64_t)ev[i].res;
            if (res == (int64_t)cb->aio_nbytes || st != LAM_OK)
                continue;
            if (res == -EINVAL) { /* the file system wants other alignment: MPI-IO from here on */
                d->direct = false;
                st = dio_mpi_write(fh, cb->aio_offset, (const char *)(uintptr_t)cb->aio_buf, (int64_t)cb->aio_nbytes);
            } else {
                st = lam__mpi_fail(LAM_ERR_IO, "writing the output: %s", res < 0 ? strerror((int)-res) : "short write");
            }
        }
    }
    *seconds += MPI_Wtime() - t;
    return st;
}

/* Bytes [s, e) of the file, which lie at buf[k] + (s - d->base): the whole
 * pages directly (in flight when this returns), partial pages and anything
 * after the direct path was given up with MPI-IO. */
static lam_status dio_issue(dio *d, MPI_File fh, int k, int64_t s, int64_t e)
{
    const char *p = d->buf[k] - d->base;
    int64_t head = dio_up(s) < e ? dio_up(s) : e, body = dio_down(e);
    lam_status st = LAM_OK;
    if (!d->direct || body <= head) /* nothing to write directly */
        return dio_mpi_write(fh, s, p + s, e - s);
    if (head > s && (st = dio_mpi_write(fh, s, p + s, head - s)) != LAM_OK)
        return st;
    int64_t len = body - head;
    int pieces = (int)((len + DIO_MIN_PIECE - 1) / DIO_MIN_PIECE);
    pieces = pieces > DIO_PIECES ? DIO_PIECES : pieces;
    int64_t piece = dio_up((len + pieces - 1) / pieces);
    struct iocb *list[DIO_PIECES];
    int n = 0;
    for (int64_t off = head; off < body; off += piece, n++) {
        struct iocb *cb = &d->cb[k][n];
        memset(cb, 0, sizeof *cb);
        cb->aio_data = (uint64_t)k;
        cb->aio_lio_opcode = IOCB_CMD_PWRITE;
        cb->aio_fildes = (uint32_t)d->fd;
        cb->aio_buf = (uint64_t)(uintptr_t)(p + off);
        cb->aio_nbytes = (uint64_t)(body - off < piece ? body - off : piece);
        cb->aio_offset = off;
        list[n] = cb;
    }
    for (int done = 0; done < n;) {
        long r = syscall(SYS_io_submit, d->ctx, (long)(n - done), list + done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) { /* refused: these pieces, and every later write, through MPI-IO */
            d->direct = false;
            for (; done < n && st == LAM_OK; done++)
                st = dio_mpi_write(fh, (int64_t)list[done]->aio_offset, (const char *)(uintptr_t)list[done]->aio_buf,
                                   (int64_t)list[done]->aio_nbytes);
            break;
        }
        d->pending[k] += (int)r;
        done += (int)r;
    }
    if (st == LAM_OK && body < e)
        st = dio_mpi_write(fh, body, p + body, e - body);
    return st;
}

/* Wait for every write, make them durable and close (also after a
 * failure: nothing may be in flight from a buffer that is freed). */
static lam_status dio_close(dio *d, MPI_File fh, double *seconds)
{
    lam_status st = LAM_OK;
    if (d->ctx) {
        st = dio_wait(d, fh, -1, seconds);
        syscall(SYS_io_destroy, d->ctx);
        d->ctx = 0;
    }
    if (d->fd >= 0) {
        double t = MPI_Wtime();
        if (fdatasync(d->fd) != 0 && st == LAM_OK)
            st = lam__mpi_fail(LAM_ERR_IO, "writing the output: %s", strerror(errno));
        close(d->fd);
        *seconds += MPI_Wtime() - t;
    }
    d->fd = -1;
    free(d->buf[0]);
    free(d->buf[1]);
    d->buf[0] = d->buf[1] = NULL;
    return st;
}

/* run_rows with the output written through a dio. */
static lam_status run_rows_direct(job *j, MPI_File fh, MPI_Offset data_off, void *args, lam_mpi_run_stats *stats)
{
    dio d;
    int64_t rb = j->out_row * 4;
    lam_status st = dio_open(j, &d, (size_t)(j->chunk * rb));
    int64_t a = (int64_t)data_off + j->first * rb, issued = a;
    int cur = 0;
    d.base = dio_down(a);
    if (st == LAM_OK && j->rows > 0)
        st = read_rows(j, j->first, j->chunk < j->rows ? j->chunk : j->rows, NULL, true);
    for (int64_t done = 0; done < j->rows && st == LAM_OK;) {
        int64_t n, next;
        if ((st = read_chunk(j, done, stats, &n, &next)) != LAM_OK)
            break;
        /* buf[cur] holds the carried bytes [d.base, s) and nothing in flight */
        int64_t s = a + done * rb, e = s + n * rb;
        float *y_rows = (float *)(void *)(d.buf[cur] + (s - d.base));
        if ((st = run_chunk(j, done, n, args, y_rows, stats)) != LAM_OK)
            break;
        done += n;
        if (done < j->rows && e - d.base + next * rb <= d.cap)
            continue; /* the next chunk fits behind this one */
        int64_t stop = done == j->rows ? e : dio_down(e); /* whole pages until the last chunk */
        if (stop > issued) {
            double t = MPI_Wtime();
            st = dio_issue(&d, fh, cur, issued, stop);
            stats->write_seconds += MPI_Wtime() - t;
            issued = stop;
        }
        if (st != LAM_OK || done == j->rows)
            break;
        /* the partial page at the end starts the other buffer, once its writes are done */
        if ((st = dio_wait(&d, fh, cur ^ 1, &stats->write_seconds)) != LAM_OK)
            break;
        int64_t nb = dio_down(e);
        memcpy(d.buf[cur ^ 1], d.buf[cur] + (nb - d.base), (size_t)(e - nb));
        d.base = nb;
        cur ^= 1;
    }
    stats->direct_output = d.fd >= 0 && d.direct; /* false when the file system refused a direct write */
    lam_status c = dio_close(&d, fh, &stats->write_seconds);
    return st != LAM_OK ? st : c;
}
#endif

static void job_free(job *j)
{
    release_chunk(j); /* a chunk mapped when a later step failed */
    for (int i = 0; j->shards && i < j->n_shards; i++)
        lam_npy_reader_close(j->shards[i].r);
    free(j->shards);
    lam_plan_free(j->plan);
    lam_plan_free(j->tail);
    free(j->in);
    free(j->out[0]);
    free(j->out[1]);
    free(j->target);
}

/* A barrier that waits without spinning: Open MPI's blocking collectives
 * poll, so a rank that finished its rows first would keep a core busy
 * until the slowest one finishes, a core that the other ranks' threads or
 * anything else on a shared node could use.  Sleeps between tests (50 us
 * doubling to 2 ms: at most 2 ms late). */
static void quiet_barrier(MPI_Comm comm)
{
    MPI_Request req;
    if (MPI_Ibarrier(comm, &req) != MPI_SUCCESS)
        return; /* the collective steps after it then wait as before */
    int done = 0;
    long ns = 50000;
    while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) {
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        ns = ns < 2000000 ? ns * 2 : ns;
    }
}

/* The whole file from the collective open to the rename (or removal). */
static lam_status write_output(job *j, const lam_mpi_run_options *opt, const char *header, size_t hlen,
                               lam_mpi_run_stats *stats)
{
    MPI_File fh = MPI_FILE_NULL;
    lam_status st = LAM_OK;
    int err = MPI_File_open(j->comm, j->tmp, MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
    if (err != MPI_SUCCESS)
        st = lam__mpi_call_fail(err, j->tmp);
    if ((st = agree(j, st)) != LAM_OK) {
        if (fh != MPI_FILE_NULL)
            MPI_File_close(&fh);
        if (j->rank == 0)
            unlink(j->tmp);
        return st;
    }
    MPI_Offset total = (MPI_Offset)hlen + (MPI_Offset)j->shape[0] * j->out_row * 4;
    err = MPI_File_set_size(fh, total); /* collective; a stale longer file cannot keep a tail */
    if (err != MPI_SUCCESS)
        st = lam__mpi_call_fail(err, j->tmp);
    if (st == LAM_OK && j->rank == 0) {
        MPI_Status ms;
        err = MPI_File_write_at(fh, 0, header, (int)hlen, MPI_BYTE, &ms);
        if (err != MPI_SUCCESS)
            st = lam__mpi_call_fail(err, j->tmp);
    }
#ifdef LAM_DIRECT_OUTPUT
    if (st == LAM_OK && !(opt && opt->mpi_io_output))
        st = run_rows_direct(j, fh, (MPI_Offset)hlen, opt ? opt->args : NULL, stats);
    else
#endif
    if (st == LAM_OK)
        st = run_rows(j, fh, (MPI_Offset)hlen, opt ? opt->args : NULL, stats);
    double t = MPI_Wtime();
    quiet_barrier(j->comm); /* every rank, failed or not */
    err = MPI_File_sync(fh); /* collective: every rank calls it, failed or not */
    if (err != MPI_SUCCESS && st == LAM_OK)
        st = lam__mpi_call_fail(err, j->tmp);
    err = MPI_File_close(&fh);
    if (err != MPI_SUCCESS && st == LAM_OK)
        st = lam__mpi_call_fail(err, j->tmp);
    stats->write_seconds += MPI_Wtime() - t;
    st = agree(j, st);
    lam_status rn = LAM_OK;
    if (j->rank == 0) {
        if (st == LAM_OK) {
            if (j->has_mode && chmod(j->tmp, j->mode) != 0)
                rn = lam__mpi_fail(LAM_ERR_IO, "%s: cannot set its mode: %s", j->tmp, strerror(errno));
            if (rn == LAM_OK && rename(j->tmp, j->target) != 0)
                rn = lam__mpi_fail(LAM_ERR_IO, "cannot rename %s to %s: %s", j->tmp, j->target, strerror(errno));
        }
        if (st != LAM_OK || rn != LAM_OK)
            unlink(j->tmp);
    }
    if (st == LAM_OK)
        st = agree(j, rn);
    return st;
}

LAM_MPI_API lam_status lam_mpi_run(MPI_Comm comm, lam_module *m, int n_inputs, const char *const *inputs,
                                   const char *output, const lam_mpi_run_options *opt, lam_mpi_run_stats *stats)
{
    job j = {.comm = comm};
    lam_mpi_run_stats local_stats = {0};
    lam_status st = LAM_OK;
    double t0 = MPI_Wtime();
    char header[LAM_NPY_HEADER_MAX];
    size_t hlen = 0;

    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    stats->failed_rank = -1;
    stats->failed_here = true; /* for the argument errors, which every rank finds alike */
    j.stats = stats;
    if (MPI_Comm_rank(comm, &j.rank) != MPI_SUCCESS || MPI_Comm_size(comm, &j.size) != MPI_SUCCESS)
        return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_run: not a valid communicator");
    /* argument errors are the same on every rank: no need to agree */
    if (!m || !inputs || !output)
        return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_run: %s is NULL",
                             !m ? "m" : !inputs ? "inputs" : "output");
    if (n_inputs < 1)
        return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_run: no inputs (n_inputs is %d)", n_inputs);
    if (opt && opt->chunk_rows < 0)
        return lam__mpi_fail(LAM_ERR_INVALID_ARGUMENT, "lam_mpi_run: chunk_rows is %" PRId64, opt->chunk_rows);

    stats->failed_here = false;
    st = open_inputs(&j, n_inputs, inputs);
    if ((st = agree(&j, st)) != LAM_OK)
        goto out;
    st = same_as_rank0(&j);
    if ((st = agree(&j, st)) != LAM_OK)
        goto out;
    st = prepare(&j, m, opt, header, &hlen);
    if (st == LAM_OK && j.rank == 0)
        st = choose_paths(&j, output);
    if ((st = agree(&j, st)) != LAM_OK)
        goto out;
    if ((st = agree(&j, share_tmp(&j))) != LAM_OK)
        goto out;
    stats->total_rows = j.shape[0];
    stats->first_row = j.first;
    stats->rows = j.rows;
    stats->chunk_rows = j.chunk;
    if (opt && opt->on_tmpfile)
        opt->on_tmpfile(j.tmp, opt->user);
    st = write_output(&j, opt, header, hlen, stats);
    if (opt && opt->on_tmpfile)
        opt->on_tmpfile(NULL, opt->user);
out:
    job_free(&j);
    stats->seconds = MPI_Wtime() - t0;
    return st;
}
