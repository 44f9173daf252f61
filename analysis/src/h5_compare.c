/* llmsim: reading what compare needs beyond /summary from a results file:
 * the replications attribute, the /scenario texts, and per-group figures
 * from /requests (compare.h).
 *
 * /requests is read through a native compound memory type holding only the
 * members needed (HDF5 matches members by name), one hyperslab of
 * SLAB_ROWS rows at a time; only the requests that /summary's per-request
 * metrics count (not warm-up, not rejected, not a wasted prefetch) are kept,
 * in a compact array.  Groups are then filled by a counting sort on the group
 * index, and each (scope, group) sorts its samples once per percentile
 * quantity; percentiles are type 7 (Hyndman and Fan), as in /summary. */
#include "llmsim/compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "llmsim/record.h"

#define SLAB_ROWS 65536
#define DEFAULT_BATCHES 10

/* Quantities: the first N_PCT get percentiles, the rest only a mean. */
enum {
    Q_TTFT,
    Q_E2E,
    Q_QUEUE,
    Q_ITL,
    Q_PERCEIVED,
    Q_SUCCESS,
    Q_SLO_MET,
    Q_CACHE_HIT,
    Q_COST,
    Q_COST_INPUT,
    Q_COST_CACHE_WRITE,
    Q_COST_CACHE_READ,
    Q_COST_OUTPUT,
    Q_COST_GPU,
    N_Q
};
#define N_PCT 5
static const char *const q_names[N_Q] = {
    "ttft_s",
    "e2e_s",
    "queue_s",
    "itl_s",
    "perceived_s",
    "success",
    "slo_met",
    "cache_hit_requests",
    "cost_usd",
    "cost_input_usd",
    "cost_cache_write_usd",
    "cost_cache_read_usd",
    "cost_output_usd",
    "cost_gpu_usd",
};

/* The members read from /requests. */
struct rq {
    int32_t replication, class_idx, deployment;
    uint32_t flags, output_tokens, cached_tokens;
    uint8_t success;
    double arrival_s, first_token_s, done_s, ttft_s, e2e_s, queue_s, mean_itl_s, perceived_s;
    double cost_input_usd, cost_cache_write_usd, cost_cache_read_usd, cost_output_usd, cost_gpu_usd;
};

/* A kept (measured) request. */
struct kept {
    int32_t replication, class_idx, deployment;
    uint8_t itl_ok, slo_met;
    double arrival_s;
    double q[N_Q]; /* NaN where the quantity does not apply (itl_s) */
};

static int fail_hdf5(struct llmsim_error *err, const char *path, const char *what)
{
    H5Eclear2(H5E_DEFAULT);
    return llmsim_error_set(err, LLMSIM_EHDF5, path, 0, 0, "%s", what);
}

/* ---- root attribute and /scenario ------------------------------------- */

/* A scalar string dataset (variable or fixed length) as a malloc'ed string;
 * *out NULL when absent.  Returns 0 or -1 (HDF5), -2 (memory). */
static int read_string_dataset(hid_t file, const char *name, char **out)
{
    *out = NULL;
    htri_t ex = H5Lexists(file, "scenario", H5P_DEFAULT);
    if (ex <= 0)
        return ex < 0 ? -1 : 0;
    char full[64];
    snprintf(full, sizeof full, "scenario/%s", name);
    ex = H5Lexists(file, full, H5P_DEFAULT);
    if (ex <= 0)
        return ex < 0 ? -1 : 0;
    int rc = -1;
    hid_t d = H5Dopen2(file, full, H5P_DEFAULT);
    hid_t ft = d >= 0 ? H5Dget_type(d) : -1;
    hid_t mt = -1;
    if (ft < 0 || H5Tget_class(ft) != H5T_STRING)
        goto out;
    htri_t vlen = H5Tis_variable_str(ft);
    if (vlen < 0 || (mt = H5Tcopy(H5T_C_S1)) < 0)
        goto out;
    if (vlen) {
        char *s = NULL;
        if (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(ft)) < 0 ||
            H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0)
            goto out;
        *out = strdup(s ? s : "");
        H5free_memory(s);
        rc = *out ? 0 : -2;
    } else {
        size_t size = H5Tget_size(ft);
        char *s = calloc(1, size + 1);
        if (!s) {
            rc = -2;
            goto out;
        }
        if (H5Tset_size(mt, size + 1) < 0 || H5Tset_strpad(mt, H5T_STR_NULLTERM) < 0 ||
            H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) < 0) {
            free(s);
            goto out;
        }
        *out = s;
        rc = 0;
    }
out:
    if (mt >= 0)
        H5Tclose(mt);
    if (ft >= 0)
        H5Tclose(ft);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* Opens path read-only after the checks ana_h5_read makes. */
static hid_t open_results(const char *path, struct llmsim_error *err, int *rc)
{
    *rc = 0;
    if (!path || !path[0]) {
        *rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no results path");
        return -1;
    }
    if (access(path, R_OK) < 0) {
        *rc = llmsim_error_set(err, LLMSIM_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (ana_h5_init() != 0) {
        *rc = fail_hdf5(err, path, "cannot switch off HDF5 error printing");
        return -1;
    }
    if (H5Fis_hdf5(path) <= 0) {
        *rc = fail_hdf5(err, path, "not an HDF5 file");
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        *rc = fail_hdf5(err, path, "cannot open the HDF5 file");
    return f;
}

int ana_h5_read_extra(const char *path, struct ana_h5_extra *x, struct llmsim_error *err)
{
    if (!x)
        return llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no output struct");
    memset(x, 0, sizeof *x);
    int rc;
    hid_t f = open_results(path, err, &rc);
    if (f < 0)
        return rc;
    htri_t has = H5Aexists(f, "replications");
    if (has > 0) {
        hid_t a = H5Aopen(f, "replications", H5P_DEFAULT);
        if (a < 0 || H5Aread(a, H5T_NATIVE_INT, &x->replications) < 0)
            rc = fail_hdf5(err, path, "cannot read the replications attribute");
        if (a >= 0)
            H5Aclose(a);
    } else if (has < 0) {
        rc = fail_hdf5(err, path, "cannot read the root attributes");
    }
    int e = 0;
    if (rc == 0 && ((e = read_string_dataset(f, "given", &x->given)) != 0 ||
                    (e = read_string_dataset(f, "resolved", &x->resolved)) != 0))
        rc = e == -2 ? llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory")
                     : fail_hdf5(err, path, "cannot read /scenario");
    if (H5Fclose(f) < 0 && rc == 0)
        rc = fail_hdf5(err, path, "cannot close the HDF5 file");
    if (rc != 0)
        ana_h5_extra_free(x);
    return rc;
}

void ana_h5_extra_free(struct ana_h5_extra *x)
{
    if (!x)
        return;
    free(x->given);
    free(x->resolved);
    x->given = x->resolved = NULL;
}

/* ---- /requests -------------------------------------------------------- */

/* The n strings of a 1-D variable-length string attribute, malloc'ed (each
 * and the array).  Returns 0, -1 (HDF5) or -2 (memory). */
static int read_names(hid_t d, const char *name, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    hid_t a = H5Aopen(d, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    int rc = -1;
    hid_t sp = H5Aget_space(a), mt = H5Tcopy(H5T_C_S1);
    hssize_t cnt = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    char **raw = NULL;
    if (cnt < 0 || mt < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
        H5Tset_cset(mt, H5T_CSET_UTF8) < 0)
        goto out;
    raw = calloc(cnt > 0 ? (size_t)cnt : 1, sizeof *raw);
    char **names = calloc(cnt > 0 ? (size_t)cnt : 1, sizeof *names);
    if (!raw || !names) {
        free(names);
        rc = -2;
        goto out;
    }
    if (cnt > 0 && H5Aread(a, mt, raw) < 0) {
        free(names);
        goto out;
    }
    rc = 0;
    for (hssize_t i = 0; i < cnt; i++) {
        names[i] = strdup(raw[i] ? raw[i] : "");
        if (!names[i])
            rc = -2;
        H5free_memory(raw[i]);
    }
    if (rc != 0) {
        for (hssize_t i = 0; i < cnt; i++)
            free(names[i]);
        free(names);
        goto out;
    }
    *out = names;
    *n = (size_t)cnt;
out:
    free(raw);
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    H5Aclose(a);
    return rc;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

/* The memory type of struct rq; -1 on failure.  *missing names a required
 * member the file type lacks (perceived_s is optional: NaN when absent). */
static hid_t rq_type(hid_t ftype, const char **missing, int *has_perceived)
{
    static const struct {
        const char *name;
        size_t off;
        int kind; /* 0 i32, 1 u32, 2 u8, 3 f64 */
    } m[] = {
        {"replication", offsetof(struct rq, replication), 0},
        {"class", offsetof(struct rq, class_idx), 0},
        {"deployment", offsetof(struct rq, deployment), 0},
        {"flags", offsetof(struct rq, flags), 1},
        {"output_tokens", offsetof(struct rq, output_tokens), 1},
        {"cached_tokens", offsetof(struct rq, cached_tokens), 1},
        {"success", offsetof(struct rq, success), 2},
        {"arrival_s", offsetof(struct rq, arrival_s), 3},
        {"first_token_s", offsetof(struct rq, first_token_s), 3},
        {"done_s", offsetof(struct rq, done_s), 3},
        {"ttft_s", offsetof(struct rq, ttft_s), 3},
        {"e2e_s", offsetof(struct rq, e2e_s), 3},
        {"queue_s", offsetof(struct rq, queue_s), 3},
        {"mean_itl_s", offsetof(struct rq, mean_itl_s), 3},
        {"perceived_s", offsetof(struct rq, perceived_s), 3},
        {"cost_input_usd", offsetof(struct rq, cost_input_usd), 3},
        {"cost_cache_write_usd", offsetof(struct rq, cost_cache_write_usd), 3},
        {"cost_cache_read_usd", offsetof(struct rq, cost_cache_read_usd), 3},
        {"cost_output_usd", offsetof(struct rq, cost_output_usd), 3},
        {"cost_gpu_usd", offsetof(struct rq, cost_gpu_usd), 3},
    };
    *missing = NULL;
    *has_perceived = 0;
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct rq));
    if (t < 0)
        return -1;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        if (H5Tget_member_index(ftype, m[i].name) < 0) {
            H5Eclear2(H5E_DEFAULT);
            if (strcmp(m[i].name, "perceived_s") == 0)
                continue;
            *missing = m[i].name;
            H5Tclose(t);
            return -1;
        }
        *has_perceived |= strcmp(m[i].name, "perceived_s") == 0;
        hid_t nt = m[i].kind == 0   ? H5T_NATIVE_INT32
                   : m[i].kind == 1 ? H5T_NATIVE_UINT32
                   : m[i].kind == 2 ? H5T_NATIVE_UINT8
                                    : H5T_NATIVE_DOUBLE;
        if (H5Tinsert(t, m[i].name, m[i].off, nt) < 0) {
            H5Tclose(t);
            return -1;
        }
    }
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double *slot(const struct ana_groups *g, size_t scope, size_t group, size_t q)
{
    return &g->v[((scope * g->n_groups + group) * N_Q + q) * ANA_GS_N];
}

/* Fills the figures of one (scope, group) from its requests idx[0..n-1]. */
static void fill_group(struct ana_groups *g, size_t scope, size_t group, const struct kept *k,
                       const size_t *idx, size_t n, double *scratch)
{
    for (size_t q = 0; q < N_Q; q++) {
        double *out = slot(g, scope, group, q);
        size_t m = 0;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            double v = k[idx[i]].q[q];
            if (isnan(v))
                continue;
            scratch[m++] = v;
            sum += v;
        }
        if (m == 0)
            continue;
        out[ANA_GS_MEAN] = sum / (double)m;
        if (q >= N_PCT)
            continue;
        qsort(scratch, m, sizeof *scratch, cmp_double);
        out[ANA_GS_P50] = ana_quantile7(scratch, m, 0.50);
        out[ANA_GS_P90] = ana_quantile7(scratch, m, 0.90);
        out[ANA_GS_P95] = ana_quantile7(scratch, m, 0.95);
        out[ANA_GS_P99] = ana_quantile7(scratch, m, 0.99);
    }
}

/* Reads the kept requests of /requests (dataset d) into *out. */
static int read_kept(hid_t d, const char *path, const struct ana_groups_opts *o, size_t nc,
                     size_t nd, struct kept **out, size_t *n_out, struct llmsim_error *err)
{
    *out = NULL;
    *n_out = 0;
    int rc = 0, has_perceived = 0;
    const char *missing = NULL;
    struct rq *buf = NULL;
    struct kept *k = NULL;
    hid_t ft = H5Dget_type(d), fs = H5Dget_space(d), mt = -1, ms = -1;
    if (ft < 0 || fs < 0) {
        rc = fail_hdf5(err, path, "cannot read the type of /requests");
        goto out;
    }
    if (H5Tget_class(ft) != H5T_COMPOUND || H5Sget_simple_extent_ndims(fs) != 1) {
        rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                              "/requests is not a 1-D compound dataset");
        goto out;
    }
    if ((mt = rq_type(ft, &missing, &has_perceived)) < 0) {
        rc = missing ? llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                                        "/requests has no column %s", missing)
                     : fail_hdf5(err, path, "cannot build the /requests memory type");
        goto out;
    }
    hsize_t total = 0;
    if (H5Sget_simple_extent_dims(fs, &total, NULL) < 0) {
        rc = fail_hdf5(err, path, "cannot read the size of /requests");
        goto out;
    }
    if (total > SIZE_MAX / sizeof *k) {
        rc = llmsim_error_set(err, LLMSIM_ELIMIT, path, 0, 0, "/requests is too large");
        goto out;
    }
    buf = malloc(SLAB_ROWS * sizeof *buf);
    k = malloc((total ? (size_t)total : 1) * sizeof *k);
    if (!buf || !k) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory for /requests");
        goto out;
    }
    double slo_ttft = o ? o->slo_ttft_s : 0, slo_itl = o ? o->slo_itl_s : 0,
           slo_e2e = o ? o->slo_e2e_s : 0;
    int has_slo = slo_ttft > 0 || slo_itl > 0 || slo_e2e > 0;
    size_t n = 0;
    for (hsize_t start = 0; start < total; start += SLAB_ROWS) {
        hsize_t cnt = total - start < SLAB_ROWS ? total - start : SLAB_ROWS;
        if (ms >= 0)
            H5Sclose(ms);
        ms = H5Screate_simple(1, &cnt, NULL);
        memset(buf, 0, (size_t)cnt * sizeof *buf);
        if (ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL) < 0 ||
            H5Dread(d, mt, ms, fs, H5P_DEFAULT, buf) < 0) {
            rc = fail_hdf5(err, path, "cannot read /requests");
            goto out;
        }
        for (size_t i = 0; i < (size_t)cnt; i++) {
            const struct rq *r = &buf[i];
            if (r->replication < 0 || r->replication >= SIM_MAX_REPLICATIONS || r->class_idx < 0 ||
                (size_t)r->class_idx >= nc || r->deployment < 0 || (size_t)r->deployment >= nd) {
                rc = llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                                      "/requests row %llu: replication, class or deployment "
                                      "out of range",
                                      (unsigned long long)(start + i));
                goto out;
            }
            if (r->flags & (SIM_RF_WARMUP | SIM_RF_REJECTED | SIM_RF_PREFETCH_WASTED))
                continue;
            struct kept *e = &k[n++];
            e->replication = r->replication;
            e->class_idx = r->class_idx;
            e->deployment = r->deployment;
            e->arrival_s = r->arrival_s;
            /* As in the summary: ITL needs two output tokens streamed apart. */
            e->itl_ok = r->output_tokens >= 2 && r->done_s > r->first_token_s;
            e->slo_met = (slo_ttft <= 0 || r->ttft_s <= slo_ttft) &&
                         (slo_itl <= 0 || !e->itl_ok || r->mean_itl_s <= slo_itl) &&
                         (slo_e2e <= 0 || r->e2e_s <= slo_e2e);
            e->q[Q_TTFT] = r->ttft_s;
            e->q[Q_E2E] = r->e2e_s;
            e->q[Q_QUEUE] = r->queue_s;
            e->q[Q_ITL] = e->itl_ok ? r->mean_itl_s : NAN;
            e->q[Q_PERCEIVED] = has_perceived ? r->perceived_s : NAN;
            e->q[Q_SUCCESS] = r->success ? 1.0 : 0.0;
            e->q[Q_SLO_MET] = has_slo ? (e->slo_met ? 1.0 : 0.0) : NAN;
            e->q[Q_CACHE_HIT] = r->cached_tokens > 0 ? 1.0 : 0.0;
            e->q[Q_COST_INPUT] = r->cost_input_usd;
            e->q[Q_COST_CACHE_WRITE] = r->cost_cache_write_usd;
            e->q[Q_COST_CACHE_READ] = r->cost_cache_read_usd;
            e->q[Q_COST_OUTPUT] = r->cost_output_usd;
            e->q[Q_COST_GPU] = r->cost_gpu_usd;
            e->q[Q_COST] = r->cost_input_usd + r->cost_cache_write_usd + r->cost_cache_read_usd +
                           r->cost_output_usd + r->cost_gpu_usd;
        }
    }
    *out = k;
    *n_out = n;
    k = NULL;
out:
    free(buf);
    free(k);
    if (ms >= 0)
        H5Sclose(ms);
    if (mt >= 0)
        H5Tclose(mt);
    if (fs >= 0)
        H5Sclose(fs);
    if (ft >= 0)
        H5Tclose(ft);
    return rc;
}

/* Splits the kept requests into groups and fills every figure. */
static int compute_groups(struct ana_groups *g, const struct ana_groups_opts *o,
                          const struct kept *k, size_t n, size_t nc)
{
    int rc = LLMSIM_ENOMEM;
    size_t *gi = NULL, *start = NULL, *idx = NULL, *sub = NULL;
    double *scratch = NULL;
    int32_t maxrep = 0;
    for (size_t i = 0; i < n; i++)
        if (k[i].replication > maxrep)
            maxrep = k[i].replication;
    g->t0 = g->t1 = NAN;
    if (maxrep >= 1) {
        g->by_replication = 1;
        g->n_groups = (size_t)maxrep + 1;
    } else {
        g->by_replication = 0;
        g->n_groups = o && o->batches ? o->batches : DEFAULT_BATCHES;
        double t0 = o ? o->t0 : NAN, t1 = o ? o->t1 : NAN;
        if (!isfinite(t0) || !isfinite(t1) || !(t1 > t0)) {
            t0 = INFINITY;
            t1 = -INFINITY;
            for (size_t i = 0; i < n; i++) {
                t0 = fmin(t0, k[i].arrival_s);
                t1 = fmax(t1, k[i].arrival_s);
            }
            t1 = nextafter(t1, INFINITY);
        }
        g->t0 = t0;
        g->t1 = t1;
    }
    size_t ng = g->n_groups, ns = g->n_scopes;
    size_t nv = ns * ng * N_Q * ANA_GS_N;
    g->v = malloc((nv ? nv : 1) * sizeof *g->v);
    gi = malloc((n ? n : 1) * sizeof *gi);
    start = calloc(ng + 1, sizeof *start);
    idx = malloc((n ? n : 1) * sizeof *idx);
    sub = malloc((n ? n : 1) * sizeof *sub);
    scratch = malloc((n ? n : 1) * sizeof *scratch);
    if (!g->v || !gi || !start || !idx || !sub || !scratch)
        goto out;
    for (size_t i = 0; i < nv; i++)
        g->v[i] = NAN;
    /* Group index of each request (ng = outside the batch window). */
    for (size_t i = 0; i < n; i++) {
        if (g->by_replication) {
            gi[i] = (size_t)k[i].replication;
        } else {
            double x = (k[i].arrival_s - g->t0) / (g->t1 - g->t0);
            gi[i] = x >= 0 && x < 1 ? (size_t)(x * (double)ng) : ng;
            if (gi[i] > ng)
                gi[i] = ng;
        }
        if (gi[i] < ng)
            start[gi[i] + 1]++;
    }
    for (size_t j = 0; j < ng; j++)
        start[j + 1] += start[j];
    {
        size_t *fill = sub; /* scratch positions, reused below */
        memcpy(fill, start, ng * sizeof *fill);
        for (size_t i = 0; i < n; i++)
            if (gi[i] < ng)
                idx[fill[gi[i]]++] = i;
    }
    for (size_t j = 0; j < ng; j++) {
        const size_t *grp = idx + start[j];
        size_t m = start[j + 1] - start[j];
        fill_group(g, 0, j, k, grp, m, scratch);
        for (size_t s = 1; s < ns; s++) {
            size_t c = 0;
            for (size_t i = 0; i < m; i++) {
                const struct kept *e = &k[grp[i]];
                if (s <= nc ? (size_t)e->class_idx == s - 1 : (size_t)e->deployment == s - 1 - nc)
                    sub[c++] = grp[i];
            }
            fill_group(g, s, j, k, sub, c, scratch);
        }
    }
    rc = 0;
out:
    free(gi);
    free(start);
    free(idx);
    free(sub);
    free(scratch);
    return rc;
}

int ana_h5_read_groups(const char *path, const struct ana_groups_opts *o, struct ana_groups *g,
                       struct llmsim_error *err)
{
    if (!g)
        return llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0, "no output struct");
    memset(g, 0, sizeof *g);
    int rc;
    hid_t f = open_results(path, err, &rc);
    if (f < 0)
        return rc;
    hid_t d = -1;
    char **cn = NULL, **dn = NULL;
    size_t nc = 0, nd = 0, n = 0;
    struct kept *k = NULL;
    htri_t ex = H5Lexists(f, "requests", H5P_DEFAULT);
    if (ex <= 0) {
        rc = ex < 0 ? fail_hdf5(err, path, "cannot look for /requests")
                    : llmsim_error_set(err, LLMSIM_ENOTFOUND, path, 0, 0,
                                       "no /requests table (output.requests was off)");
        goto out;
    }
    if ((d = H5Dopen2(f, "requests", H5P_DEFAULT)) < 0) {
        rc = fail_hdf5(err, path, "cannot open /requests");
        goto out;
    }
    int e;
    if ((e = read_names(d, "class_names", &cn, &nc)) != 0 ||
        (e = read_names(d, "deployment_names", &dn, &nd)) != 0) {
        rc = e == -2 ? llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory")
                     : (H5Eclear2(H5E_DEFAULT),
                        llmsim_error_set(err, LLMSIM_EINVAL, path, 0, 0,
                                         "/requests has no class_names or deployment_names"));
        goto out;
    }
    if ((rc = read_kept(d, path, o, nc, nd, &k, &n, err)) != 0)
        goto out;
    g->n_scopes = 1 + nc + nd;
    g->scopes = calloc(g->n_scopes, sizeof *g->scopes);
    if (!g->scopes) {
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
        goto out;
    }
    snprintf(g->scopes[0], ANA_SCOPE_MAX, "all");
    for (size_t i = 0; i < nc; i++)
        snprintf(g->scopes[1 + i], ANA_SCOPE_MAX, "class:%s", cn[i]);
    for (size_t i = 0; i < nd; i++)
        snprintf(g->scopes[1 + nc + i], ANA_SCOPE_MAX, "deployment:%s", dn[i]);
    g->has_slo = o && (o->slo_ttft_s > 0 || o->slo_itl_s > 0 || o->slo_e2e_s > 0);
    if (compute_groups(g, o, k, n, nc) != 0)
        rc = llmsim_error_set(err, LLMSIM_ENOMEM, path, 0, 0, "out of memory");
out:
    free(k);
    free_names(cn, nc);
    free_names(dn, nd);
    if (d >= 0)
        H5Dclose(d);
    if (H5Fclose(f) < 0 && rc == 0)
        rc = fail_hdf5(err, path, "cannot close the HDF5 file");
    if (rc != 0)
        ana_groups_free(g);
    return rc;
}

int ana_groups_values(const struct ana_groups *g, const char *scope, const char *quantity,
                      enum ana_gstat stat, double *out)
{
    if (!g || !g->v || !scope || !quantity || (int)stat < 0 || stat >= ANA_GS_N)
        return LLMSIM_ENOTFOUND;
    size_t s = 0, q = 0;
    while (s < g->n_scopes && strcmp(g->scopes[s], scope) != 0)
        s++;
    while (q < N_Q && strcmp(q_names[q], quantity) != 0)
        q++;
    if (s == g->n_scopes || q == N_Q || (stat != ANA_GS_MEAN && q >= N_PCT) ||
        (q == Q_SLO_MET && !g->has_slo))
        return LLMSIM_ENOTFOUND;
    for (size_t j = 0; j < g->n_groups; j++)
        out[j] = slot(g, s, j, q)[stat];
    return 0;
}

void ana_groups_free(struct ana_groups *g)
{
    if (!g)
        return;
    free(g->scopes);
    free(g->v);
    memset(g, 0, sizeof *g);
}
