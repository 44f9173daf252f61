/* llmsim: the HDF5 results file, writer (a record sink) and reader.
 *
 * Layout (design.md section 7; results.h):
 *
 *   /            attributes llmsim_version, schema_version, scenario_name,
 *                seed, replications, created_utc, complete
 *   /scenario    datasets given and resolved: scalar variable-length UTF-8
 *                strings; table settings: the resolved scenario as (key,
 *                value) rows, since PyTables cannot read variable-length
 *                strings
 *                Tables class_names and deployment_names (code, name): the
 *                names the integer class and deployment columns refer to,
 *                for pandas (which does not read the attributes of the same
 *                names on /requests and /timeseries)
 *   /requests    struct sim_request_record rows   \  1-D, chunked, extendible
 *   /timeseries  struct sim_ts_record rows         /  compound datasets
 *   /summary     struct ana_summary_row rows (written once, contiguous)
 *
 * Every table is described once, in a column table below (member name, C
 * offset, units, description), from which the compound types and the `units`
 * and `description` attributes (string arrays aligned with the members) are
 * built.  The file type is the packed compound (no padding).  Rows are packed
 * into a buffer of exactly one chunk and written one whole chunk at a time;
 * the memory type of the buffer equals the file type, so HDF5 converts
 * nothing, and without compression the buffer is stored as the chunk
 * (H5Dwrite_chunk, HDF5 1.10.3).  Packing, rather than writing the C structs as they are, also keeps
 * the indeterminate bytes of struct padding out of the file.  Chunks hold the
 * largest power-of-two number of rows that fits in 1 MiB, the default chunk
 * cache (4096 requests rows, 16384 timeseries rows).
 *
 * pandas.read_hdf(path, "requests") needs no PyTables attributes: PyTables
 * classifies any 1-D compound dataset as a Table, and pandas reads a Table
 * without pandas metadata as a "generic table" (checked with pandas 1.5.3 and
 * PyTables 3.7.0, uncompressed and gzip + shuffle).  PyTables warns
 * (NaturalNameWarning) that the member name `class` is a Python keyword; the
 * name is part of the file contract, so the warning stays for pd.read_hdf
 * (the loader of notebooks-export/ reads with h5py and has none).
 *
 * Durability: the file is written as "<path>.tmp-<pid>" and only renamed onto
 * <path> after H5Fclose and an fsync; the directory is fsynced after the
 * rename.  HDF5 failures are mapped to LLMSIM_EHDF5 with one message that
 * names the operation and HDF5's innermost error description.  Automatic
 * error printing is switched off for every thread that enters this module
 * (the setting is per thread in a thread-safe HDF5), and H5dont_atexit() is
 * called once, before this module's first other HDF5 call.
 *
 * Writeback while running: a large /requests table (200 MB at 10^6 requests)
 * would otherwise sit dirty in the page cache until the fsync of the close,
 * which then waits for the whole of it to reach the disk (0.1 s of a 1 s run,
 * issue 12).  On Linux, every WB_BYTES of chunks written asks the kernel to
 * start writing the file back (sync_file_range with SYNC_FILE_RANGE_WRITE:
 * it submits the dirty pages and does not wait for them), so the disk works
 * while the simulation goes on and the fsync finds only the tail.  It is a
 * hint: durability still rests on the fsync, and a failed hint is ignored. */
#if defined(__linux__)
#define _GNU_SOURCE /* sync_file_range */
#endif
#include "llmsim/results.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>
#include <yaml.h>

#define LLMSIM_VERSION_STRING "0.1.0"
#define CHUNK_BYTES_MAX ((size_t)1 << 20) /* the default chunk cache */
#define COLS_MAX 40
#define WB_BYTES ((size_t)16 << 20) /* chunk bytes between writeback hints */

/* ---- column tables ---------------------------------------------------- */

enum col_kind { K_U8, K_I32, K_U32, K_I64, K_U64, K_F64, K_STR };

struct column {
    const char *name; /* member name in the file */
    size_t offset;    /* offset of the field in its C struct */
    size_t size;      /* bytes of the C field (and of the file member) */
    enum col_kind kind;
    const char *units; /* "s", "tokens", "USD", "count", "1" (dimensionless), "" (identifier) */
    const char *desc;  /* one sentence */
};

/* clang-format off */
#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)
#define RQ(field, name, kind, units, desc)                                                     \
    {name, offsetof(struct sim_request_record, field),                                        \
     FIELD_SIZE(struct sim_request_record, field), kind, units, desc}
#define TS(field, kind, units, desc)                                                           \
    {#field, offsetof(struct sim_ts_record, field), FIELD_SIZE(struct sim_ts_record, field),    \
     kind, units, desc}
#define SU(field, kind, units, desc)                                                           \
    {#field, offsetof(struct ana_summary_row, field),                                         \
     FIELD_SIZE(struct ana_summary_row, field), kind, units, desc}
/* clang-format on */

static const struct column request_cols[] = {
    RQ(id, "id", K_U64, "", "arrival order within the replication, from 0"),
    RQ(replication, "replication", K_I32, "", "replication index, from 0"),
    RQ(class_idx, "class", K_I32, "", "request class, index into the class_names attribute"),
    RQ(session, "session", K_I64, "", "session id, -1 when not in a session"),
    RQ(turn, "turn", K_I32, "", "turn within the session, 0 when not in a session"),
    RQ(deployment, "deployment", K_I32, "", "index into the deployment_names attribute"),
    RQ(replica, "replica", K_I32, "", "replica that served the request, 0 for api deployments"),
    RQ(difficulty, "difficulty", K_I32, "", "0 simple, 1 moderate, 2 complex"),
    RQ(arrival_s, "arrival_s", K_F64, "s", "virtual time of arrival"),
    RQ(dispatch_s, "dispatch_s", K_F64, "s", "virtual time the request was routed to a queue"),
    RQ(prefill_start_s, "prefill_start_s", K_F64, "s", "virtual time service (prefill) started"),
    RQ(first_token_s, "first_token_s", K_F64, "s", "virtual time of the first output token"),
    RQ(done_s, "done_s", K_F64, "s", "virtual time of the last output token"),
    RQ(ttft_s, "ttft_s", K_F64, "s", "time to first token, from arrival"),
    RQ(e2e_s, "e2e_s", K_F64, "s", "time to the last token, from arrival"),
    RQ(queue_s, "queue_s", K_F64, "s", "time until service started, from arrival"),
    RQ(mean_itl_s, "mean_itl_s", K_F64, "s",
       "(done - first token) / (output tokens - 1), 0 for one output token"),
    RQ(input_tokens, "input_tokens", K_U32, "tokens", "whole prompt"),
    RQ(cached_tokens, "cached_tokens", K_U32, "tokens", "prompt tokens read from a cache"),
    RQ(cache_write_tokens, "cache_write_tokens", K_U32, "tokens",
       "prompt tokens written to a cache"),
    RQ(output_tokens, "output_tokens", K_U32, "tokens", "output tokens"),
    RQ(cost_input_usd, "cost_input_usd", K_F64, "USD", "uncached input line"),
    RQ(cost_cache_write_usd, "cost_cache_write_usd", K_F64, "USD", "cache write line"),
    RQ(cost_cache_read_usd, "cost_cache_read_usd", K_F64, "USD", "cache read line"),
    RQ(cost_output_usd, "cost_output_usd", K_F64, "USD", "output line"),
    RQ(cost_gpu_usd, "cost_gpu_usd", K_F64, "USD", "GPU time used, at the hourly rate"),
    RQ(cost_nocache_usd, "cost_nocache_usd", K_F64, "USD",
       "counterfactual cost with caching off (API lines + GPU)"),
    RQ(preemptions, "preemptions", K_U32, "count", "times preempted for KV memory and recomputed"),
    RQ(success, "success", K_U8, "", "1 when the answer was judged successful"),
    RQ(flags, "flags", K_U32, "",
       "bit 0: warm-up (left out of summaries), bit 1: truncated, bit 2: rejected (never served), "
       "bit 3: preempted at least once, bit 4: Batch API, bit 5: got a 429, bit 6: escalated by a "
       "cascade, bit 7: spilled over, bit 8: prefetch hit, bit 9: wasted prefetch, bit 10: waited "
       "in the client-side rate-limit queue"),
    RQ(tiers, "tiers", K_I32, "count", "deployments that answered it in turn (cascade: 1 + escalations)"),
    RQ(cost_escalated_usd, "cost_escalated_usd", K_F64, "USD",
       "part of the cost lines paid to lower cascade tiers"),
    RQ(perceived_s, "perceived_s", K_F64, "s",
       "what the user waited for: TTFT when streaming, else E2E; prefetch hits from the user's message"),
};

static const struct column ts_cols[] = {
    TS(t_s, K_F64, "s", "sampling instant"),
    TS(replication, K_I32, "", "replication index, from 0"),
    TS(deployment, K_I32, "", "index into the deployment_names attribute"),
    TS(replica, K_I32, "", "replica, -1 for the deployment as a whole"),
    TS(queue_len, K_I32, "requests", "requests waiting (not yet in service)"),
    TS(running, K_I32, "requests", "requests in service"),
    TS(kv_used_frac, K_F64, "1", "share of KV memory in use"),
    TS(cache_tokens, K_F64, "tokens", "tokens held in caches"),
    TS(busy_frac, K_F64, "1", "share of the last interval the servers were busy"),
    TS(replicas, K_I32, "replicas", "replicas provisioned"),
    TS(cost_cum_usd, K_F64, "USD", "cost accrued so far"),
};

static const struct column summary_cols[] = {
    SU(scope, K_STR, "", "\"all\", \"class:NAME\" or \"deployment:NAME\""),
    SU(metric, K_STR, "", "metric name; its suffix gives the units"),
    SU(count, K_U64, "", "samples: requests, or replications for run-level metrics"),
    SU(mean, K_F64, "metric", "mean"),
    SU(p50, K_F64, "metric", "median (type 7)"),
    SU(p90, K_F64, "metric", "90th percentile (type 7)"),
    SU(p95, K_F64, "metric", "95th percentile (type 7)"),
    SU(p99, K_F64, "metric", "99th percentile (type 7)"),
    SU(ci95, K_F64, "metric", "half-width of the 95% confidence interval of the mean"),
    SU(p50_ci95, K_F64, "metric", "half-width of the 95% confidence interval of p50"),
    SU(p90_ci95, K_F64, "metric", "half-width of the 95% confidence interval of p90"),
    SU(p95_ci95, K_F64, "metric", "half-width of the 95% confidence interval of p95"),
    SU(p99_ci95, K_F64, "metric", "half-width of the 95% confidence interval of p99"),
};
/* Columns a reader does without (files written before they existed): the
 * first SUMMARY_REQUIRED columns are required. */
#define SUMMARY_REQUIRED 9

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* A column table with its packed layout.  Consecutive fields that are also
 * contiguous in the C struct form one run, copied with one memcpy (the
 * request record packs in two runs: the padding before `flags` is skipped). */
struct layout {
    const struct column *cols;
    size_t ncols;
    size_t rec_size; /* sizeof the C struct */
    size_t row_size; /* bytes of a packed row */
    size_t nruns;
    struct run {
        size_t src, dst, len; /* byte offsets in the struct and the row, length */
        int str;              /* a fixed-length string: copy up to the NUL, zero the rest */
    } runs[COLS_MAX];
    int request_runs; /* the runs are RQ_RUNS's (pack_row) */
};

/* The two runs of the request record: [0, end of success) and [flags, end
 * of the record).  Written a row per finished request: with constant
 * lengths its two copies compile to a few moves, not two calls of memcpy
 * and a loop over the runs. */
#define RQ_RUN0_LEN (offsetof(struct sim_request_record, success) + sizeof(uint8_t))
#define RQ_RUN1_SRC offsetof(struct sim_request_record, flags)
#define RQ_RUN1_LEN (sizeof(struct sim_request_record) - RQ_RUN1_SRC)

/* Whether the columns cover their C struct in struct order: each column
 * starts where the previous one ended or after less padding than its own
 * alignment (its size; 1 for strings), and the struct ends less than 8 bytes
 * (the largest alignment) after the last.  A field left out of a table (a
 * record field added to the engine but not here) breaks this. */
static int layout_covers(const struct column *cols, size_t ncols, size_t rec_size)
{
    size_t end = 0;
    for (size_t i = 0; i < ncols; i++) {
        size_t align = cols[i].kind == K_STR ? 1 : cols[i].size;
        if (cols[i].offset < end || cols[i].offset - end >= align)
            return 0;
        end = cols[i].offset + cols[i].size;
    }
    return end <= rec_size && rec_size - end < 8;
}

static void layout_init(struct layout *L, const struct column *cols, size_t ncols, size_t rec_size)
{
    LLMSIM_ASSERT(ncols <= COLS_MAX);
    LLMSIM_ASSERT(layout_covers(cols, ncols, rec_size));
    L->cols = cols;
    L->ncols = ncols;
    L->rec_size = rec_size;
    L->nruns = 0;
    size_t dst = 0;
    for (size_t i = 0; i < ncols; i++) {
        const struct column *c = &cols[i];
        struct run *prev = L->nruns ? &L->runs[L->nruns - 1] : NULL;
        int str = c->kind == K_STR;
        if (prev && !prev->str && !str && prev->src + prev->len == c->offset) {
            prev->len += c->size;
        } else {
            L->runs[L->nruns++] = (struct run){c->offset, dst, c->size, str};
        }
        dst += c->size;
    }
    L->row_size = dst;
    const struct run *r = L->runs;
    L->request_runs = rec_size == sizeof(struct sim_request_record) && L->nruns == 2 && !r[0].str &&
                      !r[1].str && r[0].src == 0 && r[0].dst == 0 && r[0].len == RQ_RUN0_LEN &&
                      r[1].src == RQ_RUN1_SRC && r[1].dst == RQ_RUN0_LEN && r[1].len == RQ_RUN1_LEN;
}

static inline void pack_row(const struct layout *L, unsigned char *dst, const void *rec)
{
    const unsigned char *src = rec;
    if (L->request_runs) {
        memcpy(dst, src, RQ_RUN0_LEN);
        memcpy(dst + RQ_RUN0_LEN, src + RQ_RUN1_SRC, RQ_RUN1_LEN);
        return;
    }
    for (size_t i = 0; i < L->nruns; i++) {
        const struct run *r = &L->runs[i];
        if (r->str) {
            size_t k = strnlen((const char *)src + r->src, r->len);
            memcpy(dst + r->dst, src + r->src, k);
            memset(dst + r->dst + k, 0, r->len - k);
        } else {
            memcpy(dst + r->dst, src + r->src, r->len);
        }
    }
}

/* ---- HDF5 plumbing ---------------------------------------------------- */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static _Thread_local int thread_quiet; /* automatic error printing is off in this thread */

static void lib_init(void)
{
    /* Only fails when it was called before, by this process's other HDF5
     * code, which serves the same purpose. */
    (void)H5dont_atexit();
}

/* Called on entry to every function of this module that calls HDF5. */
static int h5_enter(void)
{
    pthread_once(&lib_once, lib_init);
    if (!thread_quiet) {
        if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0)
            return -1;
        thread_quiet = 1;
    }
    return 0;
}

int ana_h5_init(void)
{
    return h5_enter() < 0 ? LLMSIM_EHDF5 : 0;
}

struct detail {
    char *buf;
    size_t n;
};

/* Keeps the innermost (most specific) description of the error stack, on
 * one line.  System call failures come as "what: time = ..., filename = ...,
 * errno = N, error message = 'text', ..." (with a newline inside the time);
 * those are shortened to "what: text". */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    struct detail *d = data;
    if (n != 0 || !e->desc)
        return 0;
    const char *desc = e->desc;
    const char *msg = strstr(desc, "error message = '");
    if (strstr(desc, "errno =") && msg) {
        const char *colon = strchr(desc, ':');
        int what = (int)(colon ? colon - desc : 0);
        msg += strlen("error message = '");
        const char *end = strchr(msg, '\'');
        int len = (int)(end ? end - msg : (ptrdiff_t)strlen(msg));
        snprintf(d->buf, d->n, "%.*s%s%.*s", what, desc, what ? ": " : "", len, msg);
    } else {
        snprintf(d->buf, d->n, "%s", desc);
    }
    for (char *p = d->buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return 0;
}

/* Fills err with LLMSIM_EHDF5, "<what> (HDF5: <innermost description>)",
 * file = path, and clears HDF5's error stack.  Returns LLMSIM_EHDF5. */
static int h5fail(struct llmsim_error *err, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int h5fail(struct llmsim_error *err, const char *path, const char *fmt, ...)
{
    char what[384];
    char detail[320] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    struct detail d = {detail, sizeof detail};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &d);
    H5Eclear2(H5E_DEFAULT);
    if (detail[0])
        return llmsim_error_set(err, LLMSIM_EHDF5, path, 0, 0, "%s (HDF5: %s)", what, detail);
    return llmsim_error_set(err, LLMSIM_EHDF5, path, 0, 0, "%s", what);
}

static hid_t base_type(enum col_kind k, int file)
{
    switch (k) {
    case K_U8:
        return file ? H5T_STD_U8LE : H5T_NATIVE_UINT8;
    case K_I32:
        return file ? H5T_STD_I32LE : H5T_NATIVE_INT32;
    case K_U32:
        return file ? H5T_STD_U32LE : H5T_NATIVE_UINT32;
    case K_I64:
        return file ? H5T_STD_I64LE : H5T_NATIVE_INT64;
    case K_U64:
        return file ? H5T_STD_U64LE : H5T_NATIVE_UINT64;
    case K_F64:
        return file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE;
    case K_STR:
        break;
    }
    LLMSIM_ASSERT(0 && "no base type for strings");
    return -1;
}

/* A fixed-length, NUL-terminated UTF-8 string type of size bytes. */
static hid_t fixed_string_type(size_t size)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* A variable-length UTF-8 string type (h5py reads its values as str). */
static hid_t vlen_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* The compound type of a layout: packed (the file row) or at the C struct's
 * offsets (for reading into structs); little-endian file types or native
 * memory types.  Returns -1 on failure. */
static hid_t compound_type(const struct layout *L, int packed, int file)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, packed ? L->row_size : L->rec_size);
    if (t < 0)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < L->ncols; i++) {
        const struct column *c = &L->cols[i];
        hid_t mt = c->kind == K_STR ? fixed_string_type(c->size) : base_type(c->kind, file);
        if (mt < 0) {
            H5Tclose(t);
            return -1;
        }
        herr_t e = H5Tinsert(t, c->name, packed ? off : c->offset, mt);
        if (c->kind == K_STR)
            H5Tclose(mt);
        if (e < 0) {
            H5Tclose(t);
            return -1;
        }
        off += c->size;
    }
    return t;
}

/* Writes attribute name of (file type ftype, memory type mtype) over space. */
static herr_t attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                         const void *buf)
{
    hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return -1;
    herr_t e = H5Awrite(a, mtype, buf);
    if (H5Aclose(a) < 0)
        e = -1;
    return e;
}

static herr_t attr_scalar(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *buf)
{
    hid_t s = H5Screate(H5S_SCALAR);
    if (s < 0)
        return -1;
    herr_t e = attr_write(loc, name, ftype, mtype, s, buf);
    if (H5Sclose(s) < 0)
        e = -1;
    return e;
}

static herr_t attr_int(hid_t loc, const char *name, int v)
{
    return attr_scalar(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, &v);
}

static herr_t attr_u64(hid_t loc, const char *name, uint64_t v)
{
    return attr_scalar(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

static herr_t attr_str(hid_t loc, const char *name, const char *v)
{
    hid_t t = vlen_string_type();
    if (t < 0)
        return -1;
    const char *p = v ? v : "";
    herr_t e = attr_scalar(loc, name, t, t, &p);
    if (H5Tclose(t) < 0)
        e = -1;
    return e;
}

/* A 1-D array of n variable-length UTF-8 strings (NULL entries become ""). */
static herr_t attr_strs(hid_t loc, const char *name, const char *const *v, size_t n)
{
    const char **p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = 0; i < n; i++)
        p[i] = v && v[i] ? v[i] : "";
    hsize_t dim = n;
    herr_t e = -1;
    hid_t t = vlen_string_type();
    hid_t s = H5Screate_simple(1, &dim, NULL);
    if (t >= 0 && s >= 0)
        e = attr_write(loc, name, t, t, s, p);
    if (s >= 0 && H5Sclose(s) < 0)
        e = -1;
    if (t >= 0 && H5Tclose(t) < 0)
        e = -1;
    free(p);
    return e;
}

/* The `units` and `description` attributes of a table, aligned with its
 * members. */
static herr_t attr_columns(hid_t loc, const struct layout *L)
{
    const char *u[COLS_MAX], *d[COLS_MAX];
    for (size_t i = 0; i < L->ncols; i++) {
        u[i] = L->cols[i].units;
        d[i] = L->cols[i].desc;
    }
    if (attr_strs(loc, "units", u, L->ncols) < 0)
        return -1;
    return attr_strs(loc, "description", d, L->ncols);
}

/* H5Dwrite of a whole dataset of n elements from buf (memory type mtype),
 * with the type-conversion buffer sized to them.  Where HDF5 converts on
 * the way (variable-length strings, a packed compound from memory), it
 * allocates and zeroes the whole buffer its transfer list allows, 1 MiB by
 * default (H5Pset_buffer), for every write: a sweep point's few rows of
 * settings and summary cost megabytes of memset, on the thread that writes
 * the points in order.  The buffer must hold one element of the larger of
 * the two types, and n of them need no more. */
static herr_t dwrite_all(hid_t d, hid_t mtype, size_t n, const void *buf)
{
    hid_t ft = H5Dget_type(d);
    if (ft < 0)
        return -1;
    size_t ms = H5Tget_size(mtype), fs = H5Tget_size(ft);
    H5Tclose(ft);
    /* H5Dget_type describes the file type as in memory: a variable-length
     * string is a pointer (8 bytes) there and 16 bytes on disk, so twice the
     * larger size bounds an element of either form. */
    size_t elem = 2 * (ms > fs ? ms : fs);
    hid_t dxpl = H5P_DEFAULT;
    if (elem > 0 && n < ((size_t)1 << 20) / elem) {
        size_t size = (n > 0 ? n : 1) * elem; /* all n in one pass */
        if ((dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0)
            return -1;
        if (H5Pset_buffer(dxpl, size, NULL, NULL) < 0) {
            H5Pclose(dxpl);
            return -1;
        }
    }
    herr_t e = H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, dxpl, buf);
    if (dxpl != H5P_DEFAULT && H5Pclose(dxpl) < 0)
        e = -1;
    return e;
}

/* A scalar variable-length UTF-8 string dataset. */
static herr_t string_dataset(hid_t loc, const char *name, const char *v)
{
    herr_t e = -1;
    hid_t t = vlen_string_type();
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t d = -1;
    if (t >= 0 && s >= 0)
        d = H5Dcreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0) {
        const char *p = v ? v : "";
        e = dwrite_all(d, t, 1, &p);
        if (H5Dclose(d) < 0)
            e = -1;
    }
    if (s >= 0 && H5Sclose(s) < 0)
        e = -1;
    if (t >= 0 && H5Tclose(t) < 0)
        e = -1;
    return e;
}

/* ---- opening files to read ------------------------------------------------ */

/* Whether the HDF5 superblock of the file at path fits in the file: a file
 * shorter than its own superblock, or whose superblock records an end of
 * file past the real one, is truncated, and HDF5 1.10 may size buffers from
 * its garbage before noticing (a 48-byte file made it ask for 4 GiB: a
 * finding of tests/fuzz/fuzz_results).  Refusing it first is what HDF5
 * would conclude anyway ("truncated file").  The superblock is looked for
 * where HDF5 looks: at 0, 512, 1024, ... (a user block before it).
 * Returns 1 when it fits (or when the format is one HDF5 must judge
 * itself), 0 with why filled when it does not. */
static int superblock_fits(const char *path, char *why, size_t why_size)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1; /* HDF5 reports it */
    int fits = 1;
    unsigned char sb[64];
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        unsigned long long size = (unsigned long long)st.st_size;
        for (unsigned long long base = 0; base + 16 <= size; base = base ? 2 * base : 512) {
            size_t got;
            if (fseeko(f, (off_t)base, SEEK_SET) != 0 || (got = fread(sb, 1, sizeof sb, f)) < 16)
                break;
            if (memcmp(sb, sig, 8) != 0)
                continue;
            unsigned v = sb[8], o, fixed, min, eof_at;
            if (v <= 1) {
                o = sb[13];
                fixed = v == 0 ? 24 : 28;
                eof_at = fixed + 2 * o;
                min = fixed + 4 * o + 2 * o + 24; /* addresses, root symbol table entry */
            } else if (v <= 3) {
                o = sb[9];
                fixed = 12;
                eof_at = fixed + 2 * o;
                min = fixed + 4 * o + 4; /* addresses, checksum */
            } else {
                break; /* a version HDF5 judges itself */
            }
            if (o != 2 && o != 4 && o != 8 && o != 16 && o != 32)
                break; /* HDF5 refuses these itself */
            unsigned long long have = size - base, eof = 0;
            if (have < min) {
                snprintf(why, why_size, "truncated: %llu bytes from the superblock on, which needs %u", have, min);
                fits = 0;
            } else if (o <= 8 && eof_at + o <= got) {
                for (unsigned i = 0; i < o; i++)
                    eof |= (unsigned long long)sb[eof_at + i] << (8 * i);
                if (eof != ~0ULL >> (64 - 8 * o) && eof > have) {
                    snprintf(why, why_size, "truncated: its superblock records %llu bytes, the file has %llu", eof,
                             have);
                    fits = 0;
                }
            }
            break;
        }
    }
    fclose(f);
    return fits;
}

/* H5Fopen read-only, after superblock_fits; a truncated file fails with
 * the reason on HDF5's error stack (so h5fail reports it). */
static hid_t open_read(const char *path)
{
    char why[160];
    if (!superblock_fits(path, why, sizeof why)) {
        H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_FILE, H5E_TRUNCATED, "%s", why);
        return -1;
    }
    return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); /* the one H5Fopen for reading */
}

/* ---- writer ----------------------------------------------------------- */

struct table {
    const char *name; /* dataset name under / */
    struct layout L;
    hid_t dset;         /* -1 when the table is not written */
    hid_t mtype;        /* packed native compound of the buffer */
    unsigned char *buf; /* one chunk of packed rows */
    size_t cap;         /* rows per chunk (and in buf) */
    size_t nbuf;        /* rows buffered */
    hsize_t nrows;      /* rows in the file */
    int direct;         /* chunks are stored from buf as they are (H5Dwrite_chunk) */
};

struct ana_h5 {
    char *path; /* final name */
    char *tmp;  /* "<path>.tmp-<pid>", written until close */
    hid_t file;
    hid_t group;      /* the open point group (ana_h5_group_begin), -1 at the root */
    char where[128];  /* its path ("/points/p0003/"), "/" at the root: for messages */
    struct table req; /* /requests (dset -1 when meta.write_requests == 0) */
    struct table ts;  /* /timeseries */
    struct table greq; /* the point group's requests */
    int summary_written;
    int failed;              /* an append failed; the file is not trusted */
    struct llmsim_error err; /* the first append failure, reported by close */
    int wb_fd;               /* the temporary file, for writeback hints; -1: none */
    size_t wb_pending;       /* chunk bytes written since the last hint */
};

/* Counts bytes written to the file and, past WB_BYTES, starts their
 * writeback (see the top of the file). */
static void writeback_hint(struct ana_h5 *h, size_t bytes)
{
    h->wb_pending += bytes;
    if (h->wb_pending < WB_BYTES || h->wb_fd < 0)
        return;
    h->wb_pending = 0;
#if defined(__linux__)
    (void)sync_file_range(h->wb_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
}

static size_t chunk_rows(size_t row_size)
{
    size_t rows = 1;
    while (rows * 2 * row_size <= CHUNK_BYTES_MAX)
        rows *= 2;
    return rows;
}

static void table_init(struct table *t, const char *name, const struct column *cols, size_t ncols,
                       size_t rec_size)
{
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dset = -1;
    t->mtype = -1;
    layout_init(&t->L, cols, ncols, rec_size);
}

static int table_create(struct ana_h5 *h, struct table *t, int compression,
                        struct llmsim_error *err)
{
    int rc = 0;
    hid_t ftype = -1, space = -1, dcpl = -1;
    t->cap = chunk_rows(t->L.row_size);
    t->buf = malloc(t->cap * t->L.row_size);
    if (!t->buf)
        return llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0,
                                "out of memory for the /%s buffer", t->name);
    hsize_t dim = 0, maxdim = H5S_UNLIMITED, chunk = t->cap;
    if ((t->mtype = compound_type(&t->L, 1, 0)) < 0 || (ftype = compound_type(&t->L, 1, 1)) < 0 ||
        (space = H5Screate_simple(1, &dim, &maxdim)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 1, &chunk) < 0 ||
        H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER) < 0) {
        rc = h5fail(err, h->path, "cannot set up /%s", t->name);
        goto out;
    }
    if (compression > 0 &&
        (H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, (unsigned)compression) < 0)) {
        rc = h5fail(err, h->path, "cannot set up gzip compression for /%s", t->name);
        goto out;
    }
    t->dset = H5Dcreate2(h->group >= 0 ? h->group : h->file, t->name, ftype, space, H5P_DEFAULT,
                         dcpl, H5P_DEFAULT);
    if (t->dset < 0) {
        rc = h5fail(err, h->path, "cannot create /%s", t->name);
        goto out;
    }
    if (attr_columns(t->dset, &t->L) < 0)
        rc = h5fail(err, h->path, "cannot write the column attributes of /%s", t->name);
    /* Without filters, and where the buffer's bytes are the file's (a
     * little-endian machine), a chunk goes to the file as it is. */
    t->direct = compression <= 0 && H5Tequal(t->mtype, ftype) > 0;
out:
    if (dcpl >= 0 && H5Pclose(dcpl) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a property list");
    if (space >= 0 && H5Sclose(space) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a dataspace");
    if (ftype >= 0 && H5Tclose(ftype) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a datatype");
    return rc;
}

/* Appends the buffered rows to the dataset. */
static int table_flush(struct ana_h5 *h, struct table *t, struct llmsim_error *err)
{
    if (t->dset < 0 || t->nbuf == 0)
        return 0;
    int rc = 0;
    hid_t fspace = -1, mspace = -1;
    hsize_t start = t->nrows, count = t->nbuf, size = t->nrows + t->nbuf;
    if (t->direct && start % t->cap == 0) {
        /* One whole chunk, written by H5Dwrite_chunk: no selection, no
         * conversion, no trip through the chunk cache (where HDF5 would
         * zero a cache entry, copy the chunk into it and write that: a
         * fifth of its time for /requests).  The rows of a last, partial
         * chunk past the end are zeros, not rows of an earlier chunk. */
        memset(t->buf + t->nbuf * t->L.row_size, 0, (t->cap - t->nbuf) * t->L.row_size);
        if (H5Dset_extent(t->dset, &size) < 0 ||
            H5Dwrite_chunk(t->dset, H5P_DEFAULT, 0, &start, t->cap * t->L.row_size, t->buf) < 0)
            return h5fail(err, h->path, "cannot write %zu rows to /%s at row %llu", t->nbuf, t->name,
                          (unsigned long long)start);
        t->nrows = size;
        t->nbuf = 0;
        writeback_hint(h, t->cap * t->L.row_size);
        return 0;
    }
    if (H5Dset_extent(t->dset, &size) < 0 || (fspace = H5Dget_space(t->dset)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &start, NULL, &count, NULL) < 0 ||
        (mspace = H5Screate_simple(1, &count, NULL)) < 0 ||
        H5Dwrite(t->dset, t->mtype, mspace, fspace, H5P_DEFAULT, t->buf) < 0) {
        rc = h5fail(err, h->path, "cannot write %zu rows to /%s at row %llu", t->nbuf, t->name,
                    (unsigned long long)start);
    }
    if (mspace >= 0 && H5Sclose(mspace) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a dataspace of /%s", t->name);
    if (fspace >= 0 && H5Sclose(fspace) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a dataspace of /%s", t->name);
    if (rc == 0) {
        t->nrows = size;
        t->nbuf = 0;
    }
    return rc;
}

static int table_append(struct ana_h5 *h, struct table *t, const void *rec)
{
    if (h->failed)
        return h->err.code;
    pack_row(&t->L, t->buf + t->nbuf * t->L.row_size, rec);
    if (++t->nbuf < t->cap)
        return 0;
    int rc = h5_enter() < 0 ? llmsim_error_set(&h->err, LLMSIM_EHDF5, h->path, 0, 0,
                                               "cannot switch off HDF5 error printing")
                            : table_flush(h, t, &h->err);
    if (rc != 0)
        h->failed = 1;
    return rc;
}

/* Closes the table's HDF5 objects; returns -1 when one failed to close. */
static int table_close(struct table *t)
{
    int bad = 0;
    if (t->dset >= 0 && H5Dclose(t->dset) < 0)
        bad = -1;
    if (t->mtype >= 0 && H5Tclose(t->mtype) < 0)
        bad = -1;
    t->dset = t->mtype = -1;
    free(t->buf);
    t->buf = NULL;
    return bad;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void handle_free(struct ana_h5 *h)
{
    if (h->wb_fd >= 0)
        close(h->wb_fd);
    free(h->path);
    free(h->tmp);
    free(h);
}

/* Closes everything that is open without checking (failure paths). */
static void close_quietly(struct ana_h5 *h)
{
    table_close(&h->req);
    table_close(&h->ts);
    table_close(&h->greq);
    if (h->group >= 0)
        H5Gclose(h->group);
    h->group = -1;
    if (h->file >= 0)
        H5Fclose(h->file);
    h->file = -1;
    H5Eclear2(H5E_DEFAULT);
}

static void utc_now(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    if (t == (time_t)-1 || !gmtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, n, "unknown");
}

static char *dir_of(const char *path);

/* Removes the "<path>.tmp-<pid>" files of processes that are gone (killed
 * before they could clean up); those of live processes stay. */
static void remove_stale_tmp(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t bl = strlen(base);
    char *dir = dir_of(path);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const char *nm = e->d_name, *p = nm + bl + 5;
        if (strncmp(nm, base, bl) || strncmp(nm + bl, ".tmp-", 5) || *p < '1' || *p > '9')
            continue;
        char *end;
        errno = 0;
        long pid = strtol(p, &end, 10);
        if (*end || errno || (long)(pid_t)pid != pid || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t n = strlen(dir) + strlen(nm) + 2;
        char *full = malloc(n);
        struct stat st;
        if (full) {
            snprintf(full, n, "%s/%s", dir, nm);
            if (lstat(full, &st) == 0 && S_ISREG(st.st_mode))
                unlink(full);
        }
        free(full);
    }
    if (d)
        closedir(d);
    free(dir);
}

static int settings_table(struct ana_h5 *h, const char *name, const char *yaml_text,
                          struct llmsim_error *err);
static int name_tables(struct ana_h5 *h, const struct ana_h5_meta *meta, int classes,
                       struct llmsim_error *err);

int ana_h5_open(struct ana_h5 **out, const char *path, const struct ana_h5_meta *meta,
                struct llmsim_error *err)
{
    if (!out || !path || !path[0] || !meta)
        return llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no results path or metadata");
    *out = NULL;
    if (meta->compression < 0 || meta->compression > 9)
        return llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                                "gzip compression level %d is not in 0-9", meta->compression);
    if (h5_enter() < 0)
        return h5fail(err, path, "cannot switch off HDF5 error printing");
    if (meta->compression > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
        return h5fail(err, path, "this HDF5 library has no gzip filter");

    int rc = 0;
    hid_t g = -1;
    struct ana_h5 *h = calloc(1, sizeof *h);
    if (!h)
        return llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    h->file = -1;
    h->group = -1;
    h->wb_fd = -1;
    snprintf(h->where, sizeof h->where, "/");
    table_init(&h->req, "requests", request_cols, NCOLS(request_cols),
               sizeof(struct sim_request_record));
    table_init(&h->greq, "requests", request_cols, NCOLS(request_cols),
               sizeof(struct sim_request_record));
    table_init(&h->ts, "timeseries", ts_cols, NCOLS(ts_cols), sizeof(struct sim_ts_record));
    size_t n = strlen(path) + 32;
    h->path = dup_string(path);
    h->tmp = malloc(n);
    if (!h->path || !h->tmp) {
        handle_free(h);
        return llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    }
    snprintf(h->tmp, n, "%s.tmp-%ld", path, (long)getpid());
    remove_stale_tmp(path);

    /* Creating the file ourselves first gives a plain errno message ("No such
     * file or directory") for the common failures. */
    int fd = open(h->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot create %s: %s", h->tmp,
                              strerror(errno));
        handle_free(h);
        return rc;
    }
    h->wb_fd = fd; /* kept for writeback hints; HDF5 opens the file itself */
    h->file = H5Fcreate(h->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (h->file < 0) {
        rc = h5fail(err, path, "cannot create the HDF5 file %s", h->tmp);
        goto fail;
    }

    char created[32];
    utc_now(created, sizeof created);
    if (attr_str(h->file, "llmsim_version", LLMSIM_VERSION_STRING) < 0 ||
        attr_int(h->file, "schema_version", ANA_SCHEMA_VERSION) < 0 ||
        attr_str(h->file, "scenario_name", meta->scenario_name) < 0 ||
        attr_u64(h->file, "seed", meta->seed) < 0 ||
        attr_int(h->file, "replications", meta->replications) < 0 ||
        attr_str(h->file, "created_utc", created) < 0 || attr_int(h->file, "complete", 0) < 0 ||
        attr_str(h->file, "kind", meta->kind ? meta->kind : "run") < 0) {
        rc = h5fail(err, path, "cannot write the root attributes");
        goto fail;
    }

    g = H5Gcreate2(h->file, "scenario", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0 || string_dataset(g, "given", meta->scenario_text) < 0 ||
        string_dataset(g, "resolved", meta->scenario_resolved) < 0) {
        rc = h5fail(err, path, "cannot write /scenario");
        goto fail;
    }
    herr_t e = H5Gclose(g);
    g = -1;
    if (e < 0) {
        rc = h5fail(err, path, "cannot close /scenario");
        goto fail;
    }
    if ((rc = settings_table(h, "scenario/settings", meta->scenario_resolved, err)) != 0)
        goto fail;

    if (meta->no_tables) {
        *out = h;
        return 0;
    }
    if ((rc = name_tables(h, meta, 1, err)) != 0)
        goto fail;
    if (meta->write_requests) {
        if ((rc = table_create(h, &h->req, meta->compression, err)) != 0)
            goto fail;
        if (attr_strs(h->req.dset, "class_names", meta->class_names, meta->n_classes) < 0 ||
            attr_strs(h->req.dset, "deployment_names", meta->deployment_names,
                      meta->n_deployments) < 0) {
            rc = h5fail(err, path, "cannot write the name attributes of /requests");
            goto fail;
        }
    }
    if ((rc = table_create(h, &h->ts, meta->compression, err)) != 0)
        goto fail;
    if (attr_strs(h->ts.dset, "deployment_names", meta->deployment_names, meta->n_deployments) <
        0) {
        rc = h5fail(err, path, "cannot write the name attributes of /timeseries");
        goto fail;
    }
    *out = h;
    return 0;

fail:
    if (g >= 0)
        H5Gclose(g);
    close_quietly(h);
    unlink(h->tmp);
    handle_free(h);
    return rc;
}

static int sink_request(void *ctx, const struct sim_request_record *r)
{
    struct ana_h5 *h = ctx;
    return table_append(h, h->group >= 0 ? &h->greq : &h->req, r);
}

static int sink_timeseries(void *ctx, const struct sim_ts_record *t)
{
    struct ana_h5 *h = ctx;
    return table_append(h, &h->ts, t);
}

struct sim_sink ana_h5_sink(struct ana_h5 *h)
{
    LLMSIM_ASSERT(h != NULL);
    struct sim_sink s = {h, NULL, h->group >= 0 ? NULL : sink_timeseries, NULL, NULL};
    if ((h->group >= 0 ? h->greq.dset : h->req.dset) >= 0)
        s.request = sink_request;
    return s;
}

int ana_h5_write_summary(struct ana_h5 *h, const struct ana_summary_row *rows, size_t n,
                         struct llmsim_error *err)
{
    if (!h || (!rows && n > 0))
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "no summary rows");
    if (h->summary_written)
        return llmsim_error_set(err, LLMSIM_ESTATE, h->path, 0, 0, "%ssummary is already written",
                                h->where);
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    struct layout L;
    layout_init(&L, summary_cols, NCOLS(summary_cols), sizeof(struct ana_summary_row));
    unsigned char *buf = malloc((n ? n : 1) * L.row_size);
    if (!buf)
        return llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory");
    for (size_t i = 0; i < n; i++)
        pack_row(&L, buf + i * L.row_size, &rows[i]);

    int rc = 0;
    hid_t mtype = -1, ftype = -1, space = -1, d = -1;
    hsize_t dim = n;
    if ((mtype = compound_type(&L, 1, 0)) < 0 || (ftype = compound_type(&L, 1, 1)) < 0 ||
        (space = H5Screate_simple(1, &dim, NULL)) < 0 ||
        (d = H5Dcreate2(h->group >= 0 ? h->group : h->file, "summary", ftype, space, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (n > 0 && dwrite_all(d, mtype, n, buf) < 0) ||
        attr_columns(d, &L) < 0)
        rc = h5fail(err, h->path, "cannot write %ssummary", h->where);
    if (d >= 0 && H5Dclose(d) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close %ssummary", h->where);
    if (space >= 0 && H5Sclose(space) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a dataspace");
    if (ftype >= 0 && H5Tclose(ftype) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a datatype");
    if (mtype >= 0 && H5Tclose(mtype) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close a datatype");
    free(buf);
    if (rc == 0)
        h->summary_written = 1;
    return rc;
}

/* fsyncs a file or directory. */
static int sync_path(const char *p, int dir)
{
    int fd = open(p, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
    if (fd < 0)
        return -1;
    int e = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return e;
}

/* The directory part of path ("." when there is none), malloc'ed. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return dup_string(".");
    if (slash == path)
        return dup_string("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

int ana_h5_close(struct ana_h5 *h, int ok, struct llmsim_error *err)
{
    if (!h)
        return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "no results file handle");
    int rc = 0;
    if (h->failed) {
        rc = h->err.code;
        if (err)
            *err = h->err;
    } else if (h5_enter() < 0) {
        rc = h5fail(err, h->path, "cannot switch off HDF5 error printing");
    }
    if (rc == 0)
        rc = table_flush(h, &h->req, err);
    if (rc == 0)
        rc = table_flush(h, &h->ts, err);
    if (rc == 0 && h->group >= 0)
        rc = ana_h5_group_end(h, err);
    if (rc == 0 && ok) {
        int one = 1;
        hid_t a = H5Aopen(h->file, "complete", H5P_DEFAULT);
        herr_t e = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT, &one);
        if (a >= 0 && H5Aclose(a) < 0)
            e = -1;
        if (e < 0)
            rc = h5fail(err, h->path, "cannot set the complete attribute");
    }
    if (rc == 0) {
        int bad = table_close(&h->req) | table_close(&h->ts);
        herr_t e = H5Fclose(h->file);
        h->file = -1;
        if (bad || e < 0)
            rc = h5fail(err, h->path, "cannot close the HDF5 file %s", h->tmp);
    }
    if (rc != 0) {
        /* A file whose writes failed may be inconsistent: never let it take
         * the final name. */
        close_quietly(h);
        unlink(h->tmp);
        handle_free(h);
        return rc;
    }
    struct stat st;
    if (sync_path(h->tmp, 0) < 0) {
        rc = llmsim_error_set(err, LLMSIM_EIO, h->path, 0, 0, "cannot fsync %s: %s", h->tmp,
                              strerror(errno));
        unlink(h->tmp);
    } else if (lstat(h->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* Something else appeared at the path while writing: never replace it. */
        rc = llmsim_error_set(err, LLMSIM_EIO, h->path, 0, 0,
                              "is no longer a regular file or a new path; not replaced, the results are in %s",
                              h->tmp);
    } else if (rename(h->tmp, h->path) < 0) {
        rc = llmsim_error_set(err, LLMSIM_EIO, h->path, 0, 0, "cannot rename %s onto it: %s",
                              h->tmp, strerror(errno));
        unlink(h->tmp);
    } else {
        char *dir = dir_of(h->path);
        if (!dir)
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory");
        else if (sync_path(dir, 1) < 0)
            rc = llmsim_error_set(err, LLMSIM_EIO, h->path, 0, 0,
                                  "written, but cannot fsync its directory %s: %s", dir,
                                  strerror(errno));
        free(dir);
    }
    handle_free(h);
    return rc;
}

void ana_h5_abort(struct ana_h5 *h)
{
    if (!h)
        return;
    h5_enter();
    close_quietly(h);
    unlink(h->tmp);
    handle_free(h);
}

/* ---- reader ----------------------------------------------------------- */

/* Reads the string attribute name (fixed or variable length) into buf. */
static herr_t read_str_attr(hid_t loc, const char *name, char *buf, size_t n)
{
    herr_t e = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    hid_t mt = -1;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING)
        goto out;
    htri_t vlen = H5Tis_variable_str(ft);
    H5T_cset_t cset = H5Tget_cset(ft);
    if (vlen < 0 || cset < 0 || (mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, cset) < 0)
        goto out;
    if (vlen) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Aread(a, mt, &s) < 0)
            goto out;
        snprintf(buf, n, "%s", s ? s : "");
        e = H5free_memory(s);
    } else {
        size_t size = H5Tget_size(ft);
        char *s = size ? calloc(1, size + 1) : NULL;
        if (!s)
            goto out;
        if (H5Tset_size(mt, size + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
            H5Aread(a, mt, s) < 0) {
            free(s);
            goto out;
        }
        snprintf(buf, n, "%s", s);
        free(s);
        e = 0;
    }
out:
    if (mt >= 0 && H5Tclose(mt) < 0)
        e = -1;
    if (ft >= 0 && H5Tclose(ft) < 0)
        e = -1;
    if (H5Aclose(a) < 0)
        e = -1;
    return e;
}

static herr_t read_num_attr(hid_t loc, const char *name, hid_t mtype, void *v)
{
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    herr_t e = H5Aread(a, mtype, v);
    if (H5Aclose(a) < 0)
        e = -1;
    return e;
}

static int read_summary(hid_t file, const char *path, struct ana_h5_info *info,
                        struct llmsim_error *err)
{
    int rc = 0;
    struct layout L;
    layout_init(&L, summary_cols, NCOLS(summary_cols), sizeof(struct ana_summary_row));
    hid_t d = -1, ft = -1, sp = -1, mt = -1;
    if ((d = H5Dopen2(file, "summary", H5P_DEFAULT)) < 0 || (ft = H5Dget_type(d)) < 0 ||
        (sp = H5Dget_space(d)) < 0) {
        rc = h5fail(err, path, "cannot open /summary");
        goto out;
    }
    if (H5Tget_class(ft) != H5T_COMPOUND || H5Sget_simple_extent_ndims(sp) != 1) {
        rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                              "/summary is not a 1-D compound dataset");
        goto out;
    }
    size_t ncols = 0;
    for (size_t i = 0; i < L.ncols; i++) {
        if (H5Tget_member_index(ft, L.cols[i].name) < 0) {
            H5Eclear2(H5E_DEFAULT);
            if (i >= SUMMARY_REQUIRED)
                break;
            rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "/summary has no column %s",
                                  L.cols[i].name);
            goto out;
        }
        ncols = i + 1;
    }
    L.ncols = ncols; /* read the leading columns the file has (the others stay NaN) */
    hsize_t dim = 0;
    if (H5Sget_simple_extent_dims(sp, &dim, NULL) < 0) {
        rc = h5fail(err, path, "cannot read the size of /summary");
        goto out;
    }
    if (dim > SIZE_MAX / sizeof(struct ana_summary_row)) {
        rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, 0, 0, "/summary is too large");
        goto out;
    }
    if (dim == 0)
        goto out;
    info->rows = calloc((size_t)dim, sizeof *info->rows);
    if (!info->rows) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory for /summary");
        goto out;
    }
    for (size_t i = 0; i < (size_t)dim; i++)
        info->rows[i].p50_ci95 = info->rows[i].p90_ci95 = info->rows[i].p95_ci95 =
            info->rows[i].p99_ci95 = NAN;
    if ((mt = compound_type(&L, 0, 0)) < 0 ||
        H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, info->rows) < 0) {
        rc = h5fail(err, path, "cannot read /summary");
        goto out;
    }
    info->n_rows = (size_t)dim;
    for (size_t i = 0; i < info->n_rows; i++) {
        info->rows[i].scope[ANA_SCOPE_MAX - 1] = '\0';
        info->rows[i].metric[ANA_METRIC_MAX - 1] = '\0';
    }
out:
    if (mt >= 0 && H5Tclose(mt) < 0 && rc == 0)
        rc = h5fail(err, path, "cannot close a datatype");
    if (sp >= 0 && H5Sclose(sp) < 0 && rc == 0)
        rc = h5fail(err, path, "cannot close a dataspace");
    if (ft >= 0 && H5Tclose(ft) < 0 && rc == 0)
        rc = h5fail(err, path, "cannot close a datatype");
    if (d >= 0 && H5Dclose(d) < 0 && rc == 0)
        rc = h5fail(err, path, "cannot close /summary");
    return rc;
}

int ana_h5_read(const char *path, struct ana_h5_info *info, struct llmsim_error *err)
{
    if (!info)
        return llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no info struct");
    memset(info, 0, sizeof *info);
    if (!path || !path[0])
        return llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no results path");
    if (access(path, R_OK) < 0)
        return llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    if (h5_enter() < 0)
        return h5fail(err, path, "cannot switch off HDF5 error printing");
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return llmsim_error_set(err, LLMSIM_EHDF5, path, 0, 0, "not an HDF5 file");
    }
    hid_t f = open_read(path);
    if (f < 0)
        return h5fail(err, path, "cannot open the HDF5 file");
    int rc = 0;
    htri_t has = H5Aexists(f, "llmsim_version");
    if (has <= 0) {
        rc = has < 0 ? h5fail(err, path, "cannot read the root attributes")
                     : llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                                        "not an llmsim results file (no llmsim_version attribute)");
        goto out;
    }
    if (read_str_attr(f, "llmsim_version", info->llmsim_version, sizeof info->llmsim_version) < 0 ||
        read_num_attr(f, "schema_version", H5T_NATIVE_INT, &info->schema_version) < 0 ||
        read_str_attr(f, "scenario_name", info->scenario_name, sizeof info->scenario_name) < 0 ||
        read_num_attr(f, "seed", H5T_NATIVE_UINT64, &info->seed) < 0 ||
        read_num_attr(f, "complete", H5T_NATIVE_INT, &info->complete) < 0) {
        rc = h5fail(err, path, "cannot read the root attributes of an llmsim results file");
        goto out;
    }
    if (info->schema_version < 1 || info->schema_version > ANA_SCHEMA_VERSION) {
        rc = llmsim_error_set(err, LLMSIM_ERANGE, path, 0, 0,
                              "schema version %d is not supported (this llmsim reads 1 to %d)",
                              info->schema_version, ANA_SCHEMA_VERSION);
        goto out;
    }
    htri_t has_summary = H5Lexists(f, "summary", H5P_DEFAULT);
    if (has_summary < 0)
        rc = h5fail(err, path, "cannot look for /summary");
    else if (has_summary > 0)
        rc = read_summary(f, path, info, err);
out:
    if (H5Fclose(f) < 0 && rc == 0)
        rc = h5fail(err, path, "cannot close the HDF5 file");
    if (rc != 0)
        ana_h5_info_free(info);
    return rc;
}

void ana_h5_info_free(struct ana_h5_info *info)
{
    if (!info)
        return;
    free(info->rows);
    info->rows = NULL;
    info->n_rows = 0;
}

/* ---- tables for pandas: names of codes, the resolved scenario's keys ----- */

/* A table `name` at h's current place with one row per code: `code` (int64,
 * 0 to n-1) and `name`, the text the integer columns `class` and
 * `deployment` refer to (the same names as the attributes of /requests,
 * which pandas does not read). */
static int names_table(struct ana_h5 *h, const char *name, const char *const *names, size_t n,
                       const char *what, struct llmsim_error *err)
{
    int64_t *codes = malloc((n ? n : 1) * sizeof *codes);
    char **text = malloc((n ? n : 1) * sizeof *text);
    if (!codes || !text) {
        free(codes);
        free(text);
        return llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        codes[i] = (int64_t)i;
        text[i] = (char *)(names && names[i] ? names[i] : "");
    }
    struct ana_col cols[2];
    memset(cols, 0, sizeof cols);
    snprintf(cols[0].name, sizeof cols[0].name, "code");
    cols[0].type = ANA_COL_I64;
    cols[0].i64 = codes;
    cols[0].desc = what;
    snprintf(cols[1].name, sizeof cols[1].name, "name");
    cols[1].type = ANA_COL_STR;
    cols[1].str = text;
    cols[1].desc = "the name the code stands for";
    int rc = ana_h5_write_table(h, name, cols, 2, n, err);
    free(codes);
    free(text);
    return rc;
}

/* The scalars of a YAML document as (dot path, value) rows.  A list element
 * is named by its `name` key when it has one (as --set chooses elements),
 * else by its index; an empty mapping or list is one row, "{}" or "[]". */
struct flat {
    char **key, **val;
    size_t n, cap;
    int oom;
};

static void flat_add(struct flat *F, const char *key, const char *val)
{
    if (F->oom)
        return;
    if (F->n == F->cap) {
        size_t cap = F->cap ? 2 * F->cap : 64;
        char **k = realloc(F->key, cap * sizeof *k);
        if (k)
            F->key = k;
        char **v = k ? realloc(F->val, cap * sizeof *v) : NULL;
        if (v)
            F->val = v;
        if (!k || !v) {
            F->oom = 1;
            return;
        }
        F->cap = cap;
    }
    F->key[F->n] = dup_string(key);
    F->val[F->n] = dup_string(val);
    if (!F->key[F->n] || !F->val[F->n]) {
        free(F->key[F->n]);
        free(F->val[F->n]);
        F->oom = 1;
        return;
    }
    F->n++;
}

static void flat_free(struct flat *F)
{
    for (size_t i = 0; i < F->n; i++) {
        free(F->key[i]);
        free(F->val[i]);
    }
    free(F->key);
    free(F->val);
}

/* path joined with part by a dot (no dot when path is empty), malloc'ed. */
static char *path_join(const char *path, const char *part)
{
    size_t n = strlen(path) + strlen(part) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", path, path[0] ? "." : "", part);
    return p;
}

static const char *scalar_of(yaml_node_t *nd)
{
    return nd && nd->type == YAML_SCALAR_NODE ? (const char *)nd->data.scalar.value : NULL;
}

static void flatten(yaml_document_t *doc, yaml_node_t *nd, const char *path, int depth,
                    struct flat *F)
{
    if (!nd || F->oom)
        return;
    if (depth > 64) {
        flat_add(F, path, "...");
        return;
    }
    if (nd->type == YAML_SCALAR_NODE) {
        flat_add(F, path, (const char *)nd->data.scalar.value);
    } else if (nd->type == YAML_MAPPING_NODE) {
        if (nd->data.mapping.pairs.start == nd->data.mapping.pairs.top)
            flat_add(F, path, "{}");
        for (yaml_node_pair_t *p = nd->data.mapping.pairs.start; p < nd->data.mapping.pairs.top; p++) {
            const char *k = scalar_of(yaml_document_get_node(doc, p->key));
            char *sub = path_join(path, k ? k : "?");
            if (!sub) {
                F->oom = 1;
                return;
            }
            flatten(doc, yaml_document_get_node(doc, p->value), sub, depth + 1, F);
            free(sub);
        }
    } else if (nd->type == YAML_SEQUENCE_NODE) {
        if (nd->data.sequence.items.start == nd->data.sequence.items.top)
            flat_add(F, path, "[]");
        size_t i = 0;
        for (yaml_node_item_t *it = nd->data.sequence.items.start; it < nd->data.sequence.items.top;
             it++, i++) {
            yaml_node_t *el = yaml_document_get_node(doc, *it);
            const char *name = NULL;
            if (el && el->type == YAML_MAPPING_NODE)
                for (yaml_node_pair_t *p = el->data.mapping.pairs.start;
                     p < el->data.mapping.pairs.top && !name; p++) {
                    const char *k = scalar_of(yaml_document_get_node(doc, p->key));
                    if (k && !strcmp(k, "name"))
                        name = scalar_of(yaml_document_get_node(doc, p->value));
                }
            char idx[24];
            snprintf(idx, sizeof idx, "%zu", i);
            char *sub = path_join(path, name && name[0] ? name : idx);
            if (!sub) {
                F->oom = 1;
                return;
            }
            flatten(doc, el, sub, depth + 1, F);
            free(sub);
        }
    }
}

/* A table `name` at h's current place with the resolved scenario as one row
 * per scalar: `key` (its --set path) and `value` (its YAML text). */
static int settings_table(struct ana_h5 *h, const char *name, const char *yaml_text,
                          struct llmsim_error *err)
{
    const char *text = yaml_text ? yaml_text : "";
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = llmsim_error_set(err, LLMSIM_EINVAL, h->path, (int)parser.problem_mark.line + 1,
                                  (int)parser.problem_mark.column + 1,
                                  "cannot read the resolved scenario for %s%s: %s", h->where, name,
                                  parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        return rc;
    }
    struct flat F = {0};
    flatten(&doc, yaml_document_get_root_node(&doc), "", 0, &F);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    int rc;
    if (F.oom) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory");
    } else {
        struct ana_col cols[2];
        memset(cols, 0, sizeof cols);
        snprintf(cols[0].name, sizeof cols[0].name, "key");
        cols[0].type = ANA_COL_STR;
        cols[0].str = F.key;
        cols[0].desc = "the key's path, as --set takes it (list elements by name, else index)";
        snprintf(cols[1].name, sizeof cols[1].name, "value");
        cols[1].type = ANA_COL_STR;
        cols[1].str = F.val;
        cols[1].desc = "the value, as YAML text";
        rc = ana_h5_write_table(h, name, cols, 2, F.n, err);
    }
    flat_free(&F);
    return rc;
}

/* The name tables of a place that has /requests or /timeseries rows. */
static int name_tables(struct ana_h5 *h, const struct ana_h5_meta *meta, int classes,
                       struct llmsim_error *err)
{
    int rc = 0;
    /* At the root they go in /scenario (the codes number the scenario's
     * classes and deployments in order), so the root's members stay those
     * of the file contract; in a point group they sit beside its requests. */
    const char *cls = h->group >= 0 ? "class_names" : "scenario/class_names";
    const char *dep = h->group >= 0 ? "deployment_names" : "scenario/deployment_names";
    if (classes)
        rc = names_table(h, cls, meta->class_names, meta->n_classes,
                         "the code in the class column of requests", err);
    if (rc == 0)
        rc = names_table(h, dep, meta->deployment_names, meta->n_deployments,
                         "the code in the deployment column of requests and timeseries", err);
    return rc;
}

/* ---- point groups and tables of run-time columns ------------------------ */

int ana_h5_group_begin(struct ana_h5 *h, const char *name, const struct ana_h5_meta *meta,
                       struct llmsim_error *err)
{
    if (!h || !name || !name[0] || !meta)
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "no group name");
    if (h->group >= 0)
        return llmsim_error_set(err, LLMSIM_ESTATE, h->path, 0, 0, "group %s is still open",
                                h->where);
    if (h->failed) {
        if (err)
            *err = h->err;
        return h->err.code;
    }
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    int rc = 0;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        (h->group = H5Gcreate2(h->file, name, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0) {
        rc = h5fail(err, h->path, "cannot create the group /%s", name);
        h->group = -1;
    }
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (rc != 0)
        return rc;
    snprintf(h->where, sizeof h->where, "/%s/", name);
    h->summary_written = 0;
    if (string_dataset(h->group, "scenario_resolved", meta->scenario_resolved) < 0)
        return h5fail(err, h->path, "cannot write %sscenario_resolved", h->where);
    if ((rc = settings_table(h, "scenario_settings", meta->scenario_resolved, err)) != 0 ||
        (meta->write_requests && (rc = name_tables(h, meta, 1, err)) != 0))
        return rc;
    if (meta->write_requests) {
        table_init(&h->greq, "requests", request_cols, NCOLS(request_cols),
                   sizeof(struct sim_request_record));
        if ((rc = table_create(h, &h->greq, meta->compression, err)) != 0)
            return rc;
        if (attr_strs(h->greq.dset, "class_names", meta->class_names, meta->n_classes) < 0 ||
            attr_strs(h->greq.dset, "deployment_names", meta->deployment_names,
                      meta->n_deployments) < 0)
            return h5fail(err, h->path, "cannot write the name attributes of %srequests", h->where);
    }
    return 0;
}

int ana_h5_group_end(struct ana_h5 *h, struct llmsim_error *err)
{
    if (!h || h->group < 0)
        return llmsim_error_set(err, LLMSIM_ESTATE, h ? h->path : NULL, 0, 0, "no group is open");
    if (h->failed) {
        if (err)
            *err = h->err;
        return h->err.code;
    }
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    int rc = table_flush(h, &h->greq, err);
    if (table_close(&h->greq) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close %srequests", h->where);
    if (H5Gclose(h->group) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close the group %s", h->where);
    h->group = -1;
    snprintf(h->where, sizeof h->where, "/");
    h->summary_written = 1; /* the root's /summary is not written in files with groups */
    return rc;
}

static hid_t here(const struct ana_h5 *h)
{
    return h->group >= 0 ? h->group : h->file;
}

int ana_h5_write_text(struct ana_h5 *h, const char *name, const char *text, struct llmsim_error *err)
{
    if (!h || !name)
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "no dataset name");
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    if (string_dataset(here(h), name, text) < 0)
        return h5fail(err, h->path, "cannot write %s%s", h->where, name);
    return 0;
}

int ana_h5_set_attr(struct ana_h5 *h, const char *name, const char *str, const int64_t *num,
                    struct llmsim_error *err)
{
    if (!h || !name || (!str && !num))
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "no attribute");
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    hid_t loc = here(h);
    htri_t ex = H5Aexists(loc, name);
    if (ex > 0 && H5Adelete(loc, name) < 0)
        ex = -1;
    if (ex < 0)
        return h5fail(err, h->path, "cannot replace the attribute %s of %s", name, h->where);
    herr_t e = str ? attr_str(loc, name, str) : attr_scalar(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, num);
    if (e < 0)
        return h5fail(err, h->path, "cannot write the attribute %s of %s", name, h->where);
    return 0;
}

int ana_h5_write_table(struct ana_h5 *h, const char *name, const struct ana_col *cols, size_t ncols,
                       size_t nrows, struct llmsim_error *err)
{
    if (!h || !name || !cols || ncols == 0)
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "no table columns");
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    /* Packed rows: doubles and int64s as they are, strings fixed-length
     * (the longest value + 1, at least 2 bytes), which pandas and h5py read
     * as bytes columns. */
    size_t *off = calloc(ncols, sizeof *off), *sz = calloc(ncols, sizeof *sz);
    const char **units = calloc(ncols, sizeof *units), **desc = calloc(ncols, sizeof *desc);
    unsigned char *buf = NULL;
    hid_t mt = -1, ft = -1, space = -1, d = -1;
    int rc = 0;
    if (!off || !sz || !units || !desc) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory");
        goto out;
    }
    size_t row = 0;
    for (size_t j = 0; j < ncols; j++) {
        sz[j] = 8;
        if (cols[j].type == ANA_COL_STR) {
            sz[j] = 2;
            for (size_t i = 0; i < nrows; i++) {
                size_t k = cols[j].str && cols[j].str[i] ? strlen(cols[j].str[i]) + 1 : 1;
                if (k > sz[j])
                    sz[j] = k;
            }
        }
        off[j] = row;
        row += sz[j];
        units[j] = cols[j].units ? cols[j].units : "";
        desc[j] = cols[j].desc ? cols[j].desc : "";
    }
    buf = calloc(nrows ? nrows : 1, row);
    if (!buf) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, h->path, 0, 0, "out of memory for %s%s", h->where, name);
        goto out;
    }
    for (size_t i = 0; i < nrows; i++)
        for (size_t j = 0; j < ncols; j++) {
            unsigned char *p = buf + i * row + off[j];
            if (cols[j].type == ANA_COL_F64)
                memcpy(p, &cols[j].f64[i], 8);
            else if (cols[j].type == ANA_COL_I64)
                memcpy(p, &cols[j].i64[i], 8);
            else if (cols[j].str && cols[j].str[i])
                memcpy(p, cols[j].str[i], strlen(cols[j].str[i]));
        }
    if ((mt = H5Tcreate(H5T_COMPOUND, row)) < 0 || (ft = H5Tcreate(H5T_COMPOUND, row)) < 0) {
        rc = h5fail(err, h->path, "cannot set up %s%s", h->where, name);
        goto out;
    }
    for (size_t j = 0; j < ncols && rc == 0; j++) {
        hid_t m, f;
        if (cols[j].type == ANA_COL_STR) {
            m = f = fixed_string_type(sz[j]);
        } else {
            m = base_type(cols[j].type == ANA_COL_F64 ? K_F64 : K_I64, 0);
            f = base_type(cols[j].type == ANA_COL_F64 ? K_F64 : K_I64, 1);
        }
        if (m < 0 || H5Tinsert(mt, cols[j].name, off[j], m) < 0 || H5Tinsert(ft, cols[j].name, off[j], f) < 0)
            rc = h5fail(err, h->path, "cannot set up the column %s of %s%s", cols[j].name, h->where, name);
        if (cols[j].type == ANA_COL_STR && m >= 0)
            H5Tclose(m);
    }
    if (rc != 0)
        goto out;
    hsize_t dim = nrows;
    if ((space = H5Screate_simple(1, &dim, NULL)) < 0 ||
        (d = H5Dcreate2(here(h), name, ft, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (nrows > 0 && dwrite_all(d, mt, nrows, buf) < 0) ||
        attr_strs(d, "units", units, ncols) < 0 || attr_strs(d, "description", desc, ncols) < 0)
        rc = h5fail(err, h->path, "cannot write %s%s", h->where, name);
out:
    if (d >= 0 && H5Dclose(d) < 0 && rc == 0)
        rc = h5fail(err, h->path, "cannot close %s%s", h->where, name);
    if (space >= 0)
        H5Sclose(space);
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    free(buf);
    free(off);
    free(sz);
    free(units);
    free(desc);
    return rc;
}

int ana_h5_copy_group(struct ana_h5 *h, const char *src_path, const char *name, struct llmsim_error *err)
{
    if (!h || !src_path || !name)
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "nothing to copy");
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    hid_t src = open_read(src_path);
    if (src < 0)
        return h5fail(err, src_path, "cannot open the HDF5 file");
    int rc = 0;
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        H5Ocopy(src, name, h->file, name, H5P_DEFAULT, lcpl) < 0)
        rc = h5fail(err, h->path, "cannot copy /%s from %s", name, src_path);
    if (lcpl >= 0)
        H5Pclose(lcpl);
    if (H5Fclose(src) < 0 && rc == 0)
        rc = h5fail(err, src_path, "cannot close the HDF5 file");
    return rc;
}

/* ---- reading tables of run-time columns ---------------------------------- */

int ana_cols_alloc(struct ana_col *cols, const struct ana_col_spec *spec, size_t ncols, size_t nrows)
{
    memset(cols, 0, ncols * sizeof *cols);
    size_t k = nrows ? nrows : 1;
    int rc = 0;
    for (size_t j = 0; j < ncols; j++) {
        snprintf(cols[j].name, sizeof cols[j].name, "%s", spec[j].name);
        cols[j].type = spec[j].type;
        cols[j].units = spec[j].units;
        cols[j].desc = spec[j].desc;
        if (spec[j].type == ANA_COL_F64)
            rc = (cols[j].f64 = malloc(k * sizeof(double))) ? rc : LLMSIM_ENOMEM;
        else if (spec[j].type == ANA_COL_I64)
            rc = (cols[j].i64 = malloc(k * sizeof(int64_t))) ? rc : LLMSIM_ENOMEM;
        else
            rc = (cols[j].str = malloc(k * sizeof(char *))) ? rc : LLMSIM_ENOMEM;
    }
    return rc;
}

void ana_cols_release(struct ana_col *cols, size_t ncols)
{
    for (size_t j = 0; j < ncols; j++) {
        free(cols[j].f64);
        free(cols[j].i64);
        free(cols[j].str);
    }
}

void ana_cols_free(struct ana_col *cols, size_t ncols, size_t nrows)
{
    if (!cols)
        return;
    for (size_t j = 0; j < ncols; j++) {
        free(cols[j].f64);
        free(cols[j].i64);
        if (cols[j].str)
            for (size_t i = 0; i < nrows; i++)
                free(cols[j].str[i]);
        free(cols[j].str);
        free(cols[j].units_owned);
        free(cols[j].desc_owned);
    }
    free(cols);
}

/* Reads element i of the string-array attribute name of d (malloc'ed; "" when absent). */
static char *read_strs_attr_at(hid_t d, const char *name, size_t i)
{
    char *out = NULL;
    if (H5Aexists(d, name) > 0) {
        hid_t a = H5Aopen(d, name, H5P_DEFAULT), sp = a >= 0 ? H5Aget_space(a) : -1;
        hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
        hid_t t = vlen_string_type();
        if (n > 0 && (size_t)n > i && t >= 0) {
            char **v = calloc((size_t)n, sizeof *v);
            if (v && H5Aread(a, t, v) >= 0) {
                out = dup_string(v[i] ? v[i] : "");
                H5Dvlen_reclaim(t, sp, H5P_DEFAULT, v);
            }
            free(v);
        }
        if (t >= 0)
            H5Tclose(t);
        if (sp >= 0)
            H5Sclose(sp);
        if (a >= 0)
            H5Aclose(a);
    }
    H5Eclear2(H5E_DEFAULT);
    return out ? out : dup_string("");
}

int ana_h5_read_table(const char *path, const char *name, struct ana_col **cols_out, size_t *ncols_out,
                      size_t *nrows_out, struct llmsim_error *err)
{
    *cols_out = NULL;
    *ncols_out = *nrows_out = 0;
    if (h5_enter() < 0)
        return h5fail(err, path, "cannot switch off HDF5 error printing");
    hid_t f = open_read(path);
    if (f < 0)
        return h5fail(err, path, "cannot open the HDF5 file");
    int rc = 0;
    hid_t d = -1, ft = -1, sp = -1;
    struct ana_col *cols = NULL;
    int nm = 0;
    hsize_t dim = 0;
    if ((d = H5Dopen2(f, name, H5P_DEFAULT)) < 0 || (ft = H5Dget_type(d)) < 0 || (sp = H5Dget_space(d)) < 0 ||
        H5Tget_class(ft) != H5T_COMPOUND || H5Sget_simple_extent_ndims(sp) != 1 ||
        H5Sget_simple_extent_dims(sp, &dim, NULL) < 0 || (nm = H5Tget_nmembers(ft)) <= 0) {
        rc = h5fail(err, path, "cannot read /%s as a 1-D compound table", name);
        goto out;
    }
    if (dim > 100000000ULL) {
        rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, 0, 0, "/%s is too large", name);
        goto out;
    }
    cols = calloc((size_t)nm, sizeof *cols);
    if (!cols) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
        goto out;
    }
    for (int j = 0; j < nm && rc == 0; j++) {
        char *mn = H5Tget_member_name(ft, (unsigned)j);
        H5T_class_t cl = H5Tget_member_class(ft, (unsigned)j);
        struct ana_col *c = &cols[j];
        if (!mn) {
            rc = h5fail(err, path, "cannot read the columns of /%s", name);
            break;
        }
        snprintf(c->name, sizeof c->name, "%s", mn);
        H5free_memory(mn);
        c->units = c->units_owned = read_strs_attr_at(d, "units", (size_t)j);
        c->desc = c->desc_owned = read_strs_attr_at(d, "description", (size_t)j);
        size_t n = dim ? (size_t)dim : 1;
        hid_t mt = -1, memt = -1;
        void *dst = NULL;
        size_t fixed = 0;
        char *fixbuf = NULL;
        if (cl == H5T_FLOAT) {
            c->type = ANA_COL_F64;
            dst = c->f64 = calloc(n, sizeof(double));
            memt = H5T_NATIVE_DOUBLE;
        } else if (cl == H5T_INTEGER) {
            c->type = ANA_COL_I64;
            dst = c->i64 = calloc(n, sizeof(int64_t));
            memt = H5T_NATIVE_INT64;
        } else if (cl == H5T_STRING) {
            c->type = ANA_COL_STR;
            c->str = calloc(n, sizeof(char *));
            hid_t mtype = H5Tget_member_type(ft, (unsigned)j);
            htri_t vl = mtype >= 0 ? H5Tis_variable_str(mtype) : -1;
            fixed = vl == 0 ? H5Tget_size(mtype) : 0;
            if (mtype >= 0)
                H5Tclose(mtype);
            memt = fixed ? fixed_string_type(fixed) : vlen_string_type();
            dst = fixed ? (void *)(fixbuf = calloc(n, fixed)) : (void *)c->str;
            if (!c->str)
                dst = NULL;
        } else {
            rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "/%s: column %s has an unsupported type",
                                  name, c->name);
            break;
        }
        if (!dst) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
        } else if ((mt = H5Tcreate(H5T_COMPOUND, cl == H5T_STRING ? (fixed ? fixed : sizeof(char *)) : 8)) < 0 ||
                   H5Tinsert(mt, c->name, 0, memt) < 0 ||
                   (dim > 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0)) {
            rc = h5fail(err, path, "cannot read the column %s of /%s", c->name, name);
        }
        if (mt >= 0)
            H5Tclose(mt);
        if (cl == H5T_STRING && memt >= 0)
            H5Tclose(memt);
        for (size_t i = 0; rc == 0 && fixbuf && i < (size_t)dim; i++) {
            char *v = malloc(fixed + 1);
            if (v) {
                memcpy(v, fixbuf + i * fixed, fixed);
                v[fixed] = '\0';
            }
            c->str[i] = v;
        }
        free(fixbuf);
        if (rc == 0 && cl == H5T_STRING)
            for (size_t i = 0; i < (size_t)dim; i++)
                if (!c->str[i] && !(c->str[i] = dup_string("")))
                    rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    }
out:
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    if (rc != 0) {
        ana_cols_free(cols, (size_t)(nm > 0 ? nm : 0), (size_t)dim);
        return rc;
    }
    *cols_out = cols;
    *ncols_out = (size_t)nm;
    *nrows_out = (size_t)dim;
    return 0;
}

int ana_h5_read_text(const char *path, const char *name, char **text, struct llmsim_error *err)
{
    *text = NULL;
    if (h5_enter() < 0)
        return h5fail(err, path, "cannot switch off HDF5 error printing");
    hid_t f = open_read(path);
    if (f < 0)
        return h5fail(err, path, "cannot open the HDF5 file");
    int rc = 0;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT), t = vlen_string_type();
    char *v = NULL;
    if (d < 0 || t < 0 || H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
        rc = h5fail(err, path, "cannot read /%s", name);
    else if (!(*text = dup_string(v ? v : "")))
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
    if (v)
        H5free_memory(v);
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

int ana_h5_read_attr(const char *path, const char *name, char *str, size_t n, int64_t *num,
                     struct llmsim_error *err)
{
    if (h5_enter() < 0)
        return h5fail(err, path, "cannot switch off HDF5 error printing");
    hid_t f = open_read(path);
    if (f < 0)
        return h5fail(err, path, "cannot open the HDF5 file");
    int rc = 0;
    htri_t ex = H5Aexists(f, name);
    if (ex <= 0)
        rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no root attribute %s", name);
    else if (str ? read_str_attr(f, name, str, n) < 0 : read_num_attr(f, name, H5T_NATIVE_INT64, num) < 0)
        rc = h5fail(err, path, "cannot read the root attribute %s", name);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* ---- merge: listing groups and copying root attributes -------------------- */

int ana_h5_list(const char *path, const char *group, char ***names_out, size_t *n_out, struct llmsim_error *err)
{
    *names_out = NULL;
    *n_out = 0;
    if (h5_enter() < 0)
        return h5fail(err, path, "cannot switch off HDF5 error printing");
    hid_t f = open_read(path);
    if (f < 0)
        return h5fail(err, path, "cannot open the HDF5 file");
    int rc = 0;
    hid_t g = -1;
    char **names = NULL;
    size_t n = 0;
    htri_t ex = strcmp(group, "/") ? H5Lexists(f, group, H5P_DEFAULT) : 1;
    H5G_info_t gi;
    if (ex < 0) {
        rc = h5fail(err, path, "cannot look for /%s", group);
        goto out;
    }
    if (ex == 0)
        goto out;
    if ((g = H5Gopen2(f, group, H5P_DEFAULT)) < 0 || H5Gget_info(g, &gi) < 0) {
        rc = h5fail(err, path, "cannot open the group /%s", group);
        goto out;
    }
    names = calloc(gi.nlinks ? (size_t)gi.nlinks : 1, sizeof *names);
    if (!names) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
        goto out;
    }
    for (hsize_t i = 0; i < gi.nlinks; i++, n++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, NULL, 0, H5P_DEFAULT);
        if (len < 0) {
            rc = h5fail(err, path, "cannot list the group /%s", group);
            goto out;
        }
        if (!(names[n] = malloc((size_t)len + 1))) {
            rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
            goto out;
        }
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, names[n], (size_t)len + 1, H5P_DEFAULT) < 0) {
            n++;
            rc = h5fail(err, path, "cannot list the group /%s", group);
            goto out;
        }
    }
out:
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    H5Eclear2(H5E_DEFAULT);
    if (rc != 0) {
        ana_h5_names_free(names, n);
        return rc;
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

void ana_h5_names_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

struct attr_copy {
    hid_t dst;
    const char *const *skip;
    size_t n_skip;
};

/* Copies one attribute onto ctx->dst with its file type and shape. */
static herr_t copy_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    const struct attr_copy *c = data;
    for (size_t i = 0; i < c->n_skip; i++)
        if (!strcmp(name, c->skip[i]))
            return 0;
    herr_t e = -1;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), ft = -1, mt = -1, sp = -1, b = -1;
    void *buf = NULL;
    int vlen = 0;
    hssize_t np;
    if (a < 0 || (ft = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0 ||
        (mt = H5Tget_native_type(ft, H5T_DIR_ASCEND)) < 0 || (np = H5Sget_simple_extent_npoints(sp)) < 0)
        goto out;
    vlen = H5Tis_variable_str(mt) > 0 || H5Tdetect_class(mt, H5T_VLEN) > 0;
    if (!(buf = calloc(np ? (size_t)np : 1, H5Tget_size(mt))) || H5Aread(a, mt, buf) < 0) {
        vlen = 0;
        goto out;
    }
    htri_t ex = H5Aexists(c->dst, name);
    if (ex < 0 || (ex > 0 && H5Adelete(c->dst, name) < 0))
        goto out;
    if ((b = H5Acreate2(c->dst, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT)) >= 0 && H5Awrite(b, mt, buf) >= 0)
        e = 0;
out:
    if (vlen && H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf) < 0)
        e = -1;
    free(buf);
    if (b >= 0 && H5Aclose(b) < 0)
        e = -1;
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    if (a >= 0)
        H5Aclose(a);
    return e;
}

int ana_h5_copy_attrs(struct ana_h5 *h, const char *src_path, const char *const *skip, size_t n_skip,
                      struct llmsim_error *err)
{
    if (!h || !src_path)
        return llmsim_error_set(err, LLMSIM_EINVAL, h ? h->path : NULL, 0, 0, "nothing to copy");
    if (h5_enter() < 0)
        return h5fail(err, h->path, "cannot switch off HDF5 error printing");
    hid_t src = open_read(src_path);
    if (src < 0)
        return h5fail(err, src_path, "cannot open the HDF5 file");
    struct attr_copy c = {h->file, skip, n_skip};
    int rc = 0;
    if (H5Aiterate2(src, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_attr, &c) < 0)
        rc = h5fail(err, h->path, "cannot copy the root attributes of %s", src_path);
    if (H5Fclose(src) < 0 && rc == 0)
        rc = h5fail(err, src_path, "cannot close the HDF5 file");
    return rc;
}
