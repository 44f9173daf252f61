/* The HDF5 results file (analysis/src/h5.c): round trips checked with the
 * HDF5 C API byte for byte, the complete flag, abort, every documented
 * failure, and pandas.read_hdf on the files written. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <unistd.h>

#include <hdf5.h>

#include "llmsim/results.h"
#include "testutil.h"

#define N_PER_REP 3000 /* rows per replication: more than one 4096-row chunk in all */
#define N_REPS 2
#define N_TS 600

static const char *const class_names[] = {"lookup", "analysis"};
static const char *const deployment_names[] = {"sonnet", "llama8b"};
static const char scenario_given[] = "name: h5-test\nseed: 7\n# \xc3\xa9t\xc3\xa9\n";
static const char scenario_resolved[] = "name: h5-test\nseed: 7\nreplications: 2\n";

/* Record i of replication rep: high-entropy values, with the extremes of
 * every type and a few special doubles (NaN payload, -0, infinities). */
static struct sim_request_record make_req(int rep, uint64_t i)
{
    struct sim_request_record r;
    memset(&r, 0, sizeof r);
    double a = 1000.25 * rep + 0.1375 * (double)i;
    r.id = i == 11 ? UINT64_MAX : i;
    r.replication = rep;
    r.class_idx = (int32_t)(i % 2);
    r.session = i == 3 ? INT64_MIN : i % 3 == 0 ? -1 : (int64_t)(i * 7919);
    r.turn = (int32_t)(i % 5);
    r.deployment = (int32_t)((i / 2) % 2);
    r.replica = i == 5 ? INT32_MIN : (int32_t)(i % 4);
    r.difficulty = (int32_t)(i % 3);
    r.arrival_s = a;
    r.dispatch_s = i == 7 ? -0.0 : a + 1e-6;
    r.prefill_start_s = i == 8 ? INFINITY : a + 0.0123;
    r.first_token_s = i == 9 ? -INFINITY : a + 0.4567 + 1e-4 * (double)(i % 97);
    r.done_s = a + 2.385 + 1e-3 * (double)(i % 89);
    r.ttft_s = 0.4567 + 1e-4 * (double)(i % 97) + 0.01 * rep;
    r.e2e_s = r.done_s - r.arrival_s;
    r.queue_s = i == 10 ? nan("0x5a5a") : 0.0123;
    r.mean_itl_s = 0.0185 + 1e-7 * (double)i;
    r.input_tokens = i == 12 ? UINT32_MAX : (uint32_t)(5060 + i % 311);
    r.cached_tokens = (uint32_t)(i % 2 ? 5000 : 0);
    r.cache_write_tokens = (uint32_t)(i % 2 ? 0 : 5000);
    r.output_tokens = (uint32_t)(1 + i % 700);
    r.cost_input_usd = 3e-6 * 60;
    r.cost_cache_write_usd = i % 2 ? 0 : 3.75e-6 * 5000;
    r.cost_cache_read_usd = i % 2 ? 0.3e-6 * 5000 : 0;
    r.cost_output_usd = 15e-6 * (double)r.output_tokens;
    r.cost_gpu_usd = 1.0 / 3.0 * 1e-4;
    r.cost_nocache_usd = 3e-6 * 5060 + r.cost_output_usd;
    r.preemptions = i == 15 ? UINT32_MAX : (uint32_t)(i % 4 == 1 ? 0x01020304u + i : 0);
    r.success = (uint8_t)(i == 13 ? 255 : i % 2);
    r.flags = i == 14   ? UINT32_MAX
              : i == 16 ? SIM_RF_REJECTED
                        : (a < 30 ? SIM_RF_WARMUP : 0) | (r.preemptions ? SIM_RF_PREEMPTED : 0);
    return r;
}

static struct sim_ts_record make_ts(int rep, int i)
{
    struct sim_ts_record t;
    memset(&t, 0, sizeof t);
    t.t_s = 10.0 * i + 0.125;
    t.replication = rep;
    t.deployment = i % 2;
    t.replica = i % 3 - 1;
    t.queue_len = i * 3;
    t.running = i == 4 ? INT32_MAX : i % 17;
    t.kv_used_frac = 0.001 * i;
    t.cache_tokens = 1e5 + i;
    t.busy_frac = i == 5 ? nan("") : 0.5 + 1e-4 * i;
    t.replicas = 4;
    t.cost_cum_usd = 0.0299 * i;
    return t;
}

static struct ana_h5_meta make_meta(int compression)
{
    struct ana_h5_meta m = {
        .scenario_name = "h5-test",
        .seed = 0xfedcba9876543210ULL,
        .replications = N_REPS,
        .scenario_text = scenario_given,
        .scenario_resolved = scenario_resolved,
        .class_names = class_names,
        .n_classes = 2,
        .deployment_names = deployment_names,
        .n_deployments = 2,
        .write_requests = 1,
        .compression = compression,
    };
    return m;
}

static const struct ana_summary_row summary_rows[] = {
    {"all", "ttft_s", 5990, 0.5, 0.49, 0.52, 0.53, 0.55, 0.001, 0.002, 0.003, 0.004, 0.005},
    {"class:lookup", "cost_per_1k_usd", 2, 12.5, 12.4, 12.6, 12.61, 12.62, NAN, NAN, NAN, NAN, NAN},
    {"deployment:llama8b", "littles_law_rel_err", 0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN},
};
#define N_SUMMARY (sizeof summary_rows / sizeof summary_rows[0])

/* Writes a full file; returns what ana_h5_close returned. */
static int write_file(const char *path, int compression, int ok, int with_summary)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    struct ana_h5_meta meta = make_meta(compression);
    struct ana_h5 *h = NULL;
    int rc = ana_h5_open(&h, path, &meta, &err);
    ck_assert_msg(rc == 0, "open: %s", err.msg);
    struct sim_sink sink = ana_h5_sink(h);
    ck_assert_ptr_nonnull(sink.request);
    ck_assert_ptr_nonnull(sink.timeseries);
    for (int rep = 0; rep < N_REPS; rep++) {
        for (uint64_t i = 0; i < N_PER_REP; i++) {
            struct sim_request_record r = make_req(rep, i);
            ck_assert_int_eq(sink.request(sink.ctx, &r), 0);
            if (i % 10 == 0 && i / 10 < N_TS / N_REPS) {
                struct sim_ts_record t = make_ts(rep, (int)(i / 10));
                ck_assert_int_eq(sink.timeseries(sink.ctx, &t), 0);
            }
        }
    }
    if (with_summary) {
        rc = ana_h5_write_summary(h, summary_rows, N_SUMMARY, &err);
        ck_assert_msg(rc == 0, "summary: %s", err.msg);
    }
    rc = ana_h5_close(h, ok, &err);
    ck_assert_msg(rc == 0, "close: %s", err.msg);
    return rc;
}

/* Number of entries in dir (without . and ..); the first one's name in first. */
static int count_entries(const char *dir, char *first, size_t n)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int k = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (k++ == 0 && first)
            snprintf(first, n, "%s", e->d_name);
    }
    closedir(d);
    return k;
}

/* The memory types of the records, built here independently of h5.c. */
static hid_t request_mtype(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct sim_request_record));
#define INS(name, field, type)                                                                     \
    ck_assert_int_ge(H5Tinsert(t, name, offsetof(struct sim_request_record, field), type), 0)
    INS("id", id, H5T_NATIVE_UINT64);
    INS("replication", replication, H5T_NATIVE_INT32);
    INS("class", class_idx, H5T_NATIVE_INT32);
    INS("session", session, H5T_NATIVE_INT64);
    INS("turn", turn, H5T_NATIVE_INT32);
    INS("deployment", deployment, H5T_NATIVE_INT32);
    INS("replica", replica, H5T_NATIVE_INT32);
    INS("difficulty", difficulty, H5T_NATIVE_INT32);
    INS("arrival_s", arrival_s, H5T_NATIVE_DOUBLE);
    INS("dispatch_s", dispatch_s, H5T_NATIVE_DOUBLE);
    INS("prefill_start_s", prefill_start_s, H5T_NATIVE_DOUBLE);
    INS("first_token_s", first_token_s, H5T_NATIVE_DOUBLE);
    INS("done_s", done_s, H5T_NATIVE_DOUBLE);
    INS("ttft_s", ttft_s, H5T_NATIVE_DOUBLE);
    INS("e2e_s", e2e_s, H5T_NATIVE_DOUBLE);
    INS("queue_s", queue_s, H5T_NATIVE_DOUBLE);
    INS("mean_itl_s", mean_itl_s, H5T_NATIVE_DOUBLE);
    INS("input_tokens", input_tokens, H5T_NATIVE_UINT32);
    INS("cached_tokens", cached_tokens, H5T_NATIVE_UINT32);
    INS("cache_write_tokens", cache_write_tokens, H5T_NATIVE_UINT32);
    INS("output_tokens", output_tokens, H5T_NATIVE_UINT32);
    INS("cost_input_usd", cost_input_usd, H5T_NATIVE_DOUBLE);
    INS("cost_cache_write_usd", cost_cache_write_usd, H5T_NATIVE_DOUBLE);
    INS("cost_cache_read_usd", cost_cache_read_usd, H5T_NATIVE_DOUBLE);
    INS("cost_output_usd", cost_output_usd, H5T_NATIVE_DOUBLE);
    INS("cost_gpu_usd", cost_gpu_usd, H5T_NATIVE_DOUBLE);
    INS("cost_nocache_usd", cost_nocache_usd, H5T_NATIVE_DOUBLE);
    INS("preemptions", preemptions, H5T_NATIVE_UINT32);
    INS("success", success, H5T_NATIVE_UINT8);
    INS("flags", flags, H5T_NATIVE_UINT32);
    INS("tiers", tiers, H5T_NATIVE_INT32);
    INS("cost_escalated_usd", cost_escalated_usd, H5T_NATIVE_DOUBLE);
    INS("perceived_s", perceived_s, H5T_NATIVE_DOUBLE);
#undef INS
    return t;
}

static hid_t ts_mtype(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(struct sim_ts_record));
#define INS(field, type)                                                                           \
    ck_assert_int_ge(H5Tinsert(t, #field, offsetof(struct sim_ts_record, field), type), 0)
    INS(t_s, H5T_NATIVE_DOUBLE);
    INS(replication, H5T_NATIVE_INT32);
    INS(deployment, H5T_NATIVE_INT32);
    INS(replica, H5T_NATIVE_INT32);
    INS(queue_len, H5T_NATIVE_INT32);
    INS(running, H5T_NATIVE_INT32);
    INS(kv_used_frac, H5T_NATIVE_DOUBLE);
    INS(cache_tokens, H5T_NATIVE_DOUBLE);
    INS(busy_frac, H5T_NATIVE_DOUBLE);
    INS(replicas, H5T_NATIVE_INT32);
    INS(cost_cum_usd, H5T_NATIVE_DOUBLE);
#undef INS
    return t;
}

static const char *const request_names[] = {"id",
                                            "replication",
                                            "class",
                                            "session",
                                            "turn",
                                            "deployment",
                                            "replica",
                                            "difficulty",
                                            "arrival_s",
                                            "dispatch_s",
                                            "prefill_start_s",
                                            "first_token_s",
                                            "done_s",
                                            "ttft_s",
                                            "e2e_s",
                                            "queue_s",
                                            "mean_itl_s",
                                            "input_tokens",
                                            "cached_tokens",
                                            "cache_write_tokens",
                                            "output_tokens",
                                            "cost_input_usd",
                                            "cost_cache_write_usd",
                                            "cost_cache_read_usd",
                                            "cost_output_usd",
                                            "cost_gpu_usd",
                                            "cost_nocache_usd",
                                            "preemptions",
                                            "success",
                                            "flags",
                                            "tiers",
                                            "cost_escalated_usd",
                                            "perceived_s"};

/* Reads the whole 1-D dataset name into a calloc'ed array of n structs. */
static void *read_table(hid_t f, const char *name, hid_t mtype, size_t size, hsize_t *n)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t sp = H5Dget_space(d);
    ck_assert_int_eq(H5Sget_simple_extent_ndims(sp), 1);
    ck_assert_int_ge(H5Sget_simple_extent_dims(sp, n, NULL), 0);
    void *buf = calloc(*n ? *n : 1, size);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_ge(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), 0);
    H5Sclose(sp);
    H5Dclose(d);
    return buf;
}

static int read_int_attr(hid_t loc, const char *name)
{
    int v = -12345;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_INT, &v), 0);
    H5Aclose(a);
    return v;
}

/* A variable-length UTF-8 string attribute (or scalar dataset when dset). */
static void check_vlen_string(hid_t loc, const char *name, int dset, const char *want)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *s = NULL;
    if (dset) {
        hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
        ck_assert_int_ge(d, 0);
        ck_assert_int_ge(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s), 0);
        H5Dclose(d);
    } else {
        hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
        ck_assert_int_ge(a, 0);
        ck_assert_int_ge(H5Aread(a, t, &s), 0);
        H5Aclose(a);
    }
    ck_assert_ptr_nonnull(s);
    if (want)
        ck_assert_str_eq(s, want);
    else
        ck_assert_msg(strlen(s) == 20 && s[4] == '-' && s[10] == 'T' && s[19] == 'Z',
                      "created_utc \"%s\" is not YYYY-MM-DDTHH:MM:SSZ", s);
    H5free_memory(s);
    H5Tclose(t);
}

static void check_names_attr(hid_t d, const char *name, const char *const *want, size_t n)
{
    hid_t a = H5Aopen(d, name, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    hid_t sp = H5Aget_space(a);
    hsize_t dim = 0;
    H5Sget_simple_extent_dims(sp, &dim, NULL);
    ck_assert_uint_eq(dim, n);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char *v[8] = {0};
    ck_assert_int_ge(H5Aread(a, t, v), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(v[i], want[i]);
        H5free_memory(v[i]);
    }
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
}

/* Attribute name of d is an array of n strings whose entry i is want. */
static void check_attr_entry(hid_t d, const char *name, size_t n, size_t i, const char *want)
{
    hid_t a = H5Aopen(d, name, H5P_DEFAULT);
    ck_assert_int_ge(a, 0);
    hid_t sp = H5Aget_space(a);
    hsize_t dim = 0;
    H5Sget_simple_extent_dims(sp, &dim, NULL);
    ck_assert_uint_eq(dim, n);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char **v = calloc(n, sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_ge(H5Aread(a, t, v), 0);
    ck_assert_str_eq(v[i], want);
    for (size_t k = 0; k < n; k++)
        H5free_memory(v[k]);
    free(v);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
}

/* Opens path and checks every table, attribute and string byte for byte. */
static void check_file(const char *path, int compression, int complete)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_eq(read_int_attr(f, "complete"), complete);
    ck_assert_int_eq(read_int_attr(f, "schema_version"), ANA_SCHEMA_VERSION);
    ck_assert_int_eq(read_int_attr(f, "replications"), N_REPS);
    check_vlen_string(f, "llmsim_version", 0, "0.1.0");
    check_vlen_string(f, "scenario_name", 0, "h5-test");
    check_vlen_string(f, "created_utc", 0, NULL);
    uint64_t seed = 0;
    hid_t a = H5Aopen(f, "seed", H5P_DEFAULT);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_UINT64, &seed), 0);
    H5Aclose(a);
    ck_assert(seed == 0xfedcba9876543210ULL);
    check_vlen_string(f, "scenario/given", 1, scenario_given);
    check_vlen_string(f, "scenario/resolved", 1, scenario_resolved);

    /* /requests: member names and order, chunking, filters, every byte. */
    hid_t d = H5Dopen2(f, "requests", H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    hid_t ft = H5Dget_type(d);
    size_t nmemb = sizeof request_names / sizeof request_names[0];
    ck_assert_int_eq(H5Tget_nmembers(ft), (int)nmemb);
    for (unsigned i = 0; i < nmemb; i++) {
        char *nm = H5Tget_member_name(ft, i);
        ck_assert_str_eq(nm, request_names[i]);
        H5free_memory(nm);
    }
    hid_t dcpl = H5Dget_create_plist(d);
    ck_assert_int_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t chunk = 0;
    ck_assert_int_eq(H5Pget_chunk(dcpl, 1, &chunk), 1);
    ck_assert_msg(chunk * H5Tget_size(ft) <= (1u << 20), "chunk of %llu bytes",
                  (unsigned long long)(chunk * H5Tget_size(ft)));
    ck_assert_int_eq(H5Pget_nfilters(dcpl), compression > 0 ? 2 : 0);
    check_names_attr(d, "class_names", class_names, 2);
    check_names_attr(d, "deployment_names", deployment_names, 2);
    ck_assert_int_gt(H5Aexists(d, "units"), 0);
    ck_assert_int_gt(H5Aexists(d, "description"), 0);
    /* Every field of the record is a member: the packed row is the sum of
     * the field sizes. */
    hid_t mt0 = request_mtype();
    size_t fields = 0;
    for (unsigned i = 0; i < nmemb; i++) {
        hid_t m = H5Tget_member_type(mt0, i);
        fields += H5Tget_size(m);
        H5Tclose(m);
    }
    H5Tclose(mt0);
    ck_assert_uint_eq(H5Tget_size(ft), fields);
    size_t ip = 0;
    while (strcmp(request_names[ip], "preemptions") != 0)
        ip++;
    check_attr_entry(d, "units", nmemb, ip, "count");
    check_attr_entry(d, "description", nmemb, ip, "times preempted for KV memory and recomputed");
    H5Pclose(dcpl);
    H5Tclose(ft);
    H5Dclose(d);

    hid_t mt = request_mtype();
    hsize_t n = 0;
    struct sim_request_record *rr = read_table(f, "requests", mt, sizeof *rr, &n);
    ck_assert_uint_eq(n, (hsize_t)N_REPS * N_PER_REP);
    for (int rep = 0; rep < N_REPS; rep++)
        for (uint64_t i = 0; i < N_PER_REP; i++) {
            struct sim_request_record want = make_req(rep, i);
            ck_assert_msg(memcmp(&want, &rr[(size_t)rep * N_PER_REP + i], sizeof want) == 0,
                          "request %d/%llu differs", rep, (unsigned long long)i);
        }
    free(rr);
    H5Tclose(mt);

    mt = ts_mtype();
    struct sim_ts_record *tt = read_table(f, "timeseries", mt, sizeof *tt, &n);
    ck_assert_uint_eq(n, N_TS);
    for (int rep = 0, k = 0; rep < N_REPS; rep++)
        for (int i = 0; i < N_TS / N_REPS; i++, k++) {
            struct sim_ts_record want = make_ts(rep, i);
            ck_assert_msg(memcmp(&want, &tt[k], sizeof want) == 0, "timeseries row %d differs", k);
        }
    free(tt);
    H5Tclose(mt);
    ck_assert_int_ge(H5Fclose(f), 0);
}

START_TEST(test_roundtrip)
{
    int compression = _i; /* 0: none, 1: gzip-1 + shuffle */
    char *dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    char path[4096], first[256];
    snprintf(path, sizeof path, "%s/r.h5", dir);
    write_file(path, compression, 1, 1);
    ck_assert_int_eq(count_entries(dir, first, sizeof first), 1); /* no temporary left */
    ck_assert_str_eq(first, "r.h5");
    check_file(path, compression, 1);

    struct ana_h5_info info;
    struct llmsim_error err;
    ck_assert_int_eq(ana_h5_read(path, &info, &err), 0);
    ck_assert_int_eq(info.complete, 1);
    ck_assert_int_eq(info.schema_version, ANA_SCHEMA_VERSION);
    ck_assert_str_eq(info.llmsim_version, "0.1.0");
    ck_assert_str_eq(info.scenario_name, "h5-test");
    ck_assert(info.seed == 0xfedcba9876543210ULL);
    ck_assert_uint_eq(info.n_rows, N_SUMMARY);
    for (size_t i = 0; i < N_SUMMARY; i++) {
        const struct ana_summary_row *w = &summary_rows[i], *g = &info.rows[i];
        ck_assert_str_eq(g->scope, w->scope);
        ck_assert_str_eq(g->metric, w->metric);
        ck_assert_uint_eq(g->count, w->count);
        const double *wd = &w->mean, *gd = &g->mean;
        for (int k = 0; k < 10; k++) /* mean, p50, p90, p95, p99, ci95, p50_ci95 ... p99_ci95 */
            ck_assert(memcmp(&wd[k], &gd[k], sizeof(double)) == 0);
    }
    ck_assert_ptr_eq(ana_summary_find(info.rows, info.n_rows, "class:lookup", "cost_per_1k_usd"),
                     &info.rows[1]);
    ana_h5_info_free(&info);
    ck_assert_ptr_null(info.rows);
    ana_h5_info_free(&info); /* twice is harmless */
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_incomplete)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/partial.h5", dir);
    write_file(path, 0, 0, 0); /* interrupted: no summary, ok = 0 */
    ck_assert_int_eq(count_entries(dir, NULL, 0), 1);
    check_file(path, 0, 0);
    struct ana_h5_info info;
    struct llmsim_error err;
    ck_assert_int_eq(ana_h5_read(path, &info, &err), 0);
    ck_assert_int_eq(info.complete, 0);
    ck_assert_uint_eq(info.n_rows, 0);
    ck_assert_ptr_null(info.rows);
    ana_h5_info_free(&info);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_abort)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/aborted.h5", dir);
    struct ana_h5_meta meta = make_meta(0);
    struct ana_h5 *h = NULL;
    struct llmsim_error err;
    ck_assert_int_eq(ana_h5_open(&h, path, &meta, &err), 0);
    struct sim_sink sink = ana_h5_sink(h);
    for (uint64_t i = 0; i < 5000; i++) {
        struct sim_request_record r = make_req(0, i);
        ck_assert_int_eq(sink.request(sink.ctx, &r), 0);
    }
    ck_assert_int_eq(count_entries(dir, NULL, 0), 1); /* the temporary */
    ana_h5_abort(h);
    ck_assert_int_eq(count_entries(dir, NULL, 0), 0);
    ana_h5_abort(NULL);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_no_directory)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/missing/r.h5", dir);
    struct ana_h5_meta meta = make_meta(0);
    struct ana_h5 *h = (struct ana_h5 *)&meta; /* must be reset to NULL */
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = ana_h5_open(&h, path, &meta, &err);
    ck_assert_int_eq(rc, LLMSIM_EIO);
    ck_assert_int_eq(err.code, LLMSIM_EIO);
    ck_assert_ptr_null(h);
    ck_assert_str_eq(err.file, path);
    ck_assert_msg(strstr(err.msg, "No such file or directory") && strstr(err.msg, "r.h5.tmp-"),
                  "message: %s", err.msg);
    ck_assert_int_eq(count_entries(dir, NULL, 0), 0);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_invalid_arguments)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/r.h5", dir);
    struct ana_h5_meta meta = make_meta(10);
    struct ana_h5 *h = NULL;
    struct llmsim_error err;
    ck_assert_int_eq(ana_h5_open(&h, path, &meta, &err), LLMSIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "0-9") != NULL, "message: %s", err.msg);
    meta.compression = -1;
    ck_assert_int_eq(ana_h5_open(&h, path, &meta, &err), LLMSIM_EINVAL);
    meta.compression = 0;
    ck_assert_int_eq(ana_h5_open(&h, "", &meta, &err), LLMSIM_EINVAL);
    ck_assert_int_eq(ana_h5_open(&h, path, NULL, &err), LLMSIM_EINVAL);
    ck_assert_int_eq(count_entries(dir, NULL, 0), 0);

    /* No /requests table; /summary written once only; NULL names allowed. */
    meta.write_requests = 0;
    meta.class_names = NULL;
    meta.scenario_name = NULL;
    meta.scenario_text = NULL;
    ck_assert_int_eq(ana_h5_open(&h, path, &meta, &err), 0);
    struct sim_sink sink = ana_h5_sink(h);
    ck_assert_ptr_null(sink.request);
    ck_assert_int_eq(ana_h5_write_summary(h, NULL, 0, &err), 0);
    ck_assert_int_eq(ana_h5_write_summary(h, summary_rows, N_SUMMARY, &err), LLMSIM_ESTATE);
    ck_assert_int_eq(ana_h5_close(h, 1, &err), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    ck_assert_int_eq(H5Lexists(f, "requests", H5P_DEFAULT), 0);
    ck_assert_int_gt(H5Lexists(f, "timeseries", H5P_DEFAULT), 0);
    check_vlen_string(f, "scenario/given", 1, "");
    H5Fclose(f);
    struct ana_h5_info info;
    ck_assert_int_eq(ana_h5_read(path, &info, &err), 0);
    ck_assert_int_eq(info.complete, 1);
    ck_assert_uint_eq(info.n_rows, 0);
    ck_assert_str_eq(info.scenario_name, "");
    ana_h5_info_free(&info);
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_read_errors)
{
    char *dir = tu_tmpdir();
    char path[4096];
    struct ana_h5_info info;
    struct llmsim_error err;

    snprintf(path, sizeof path, "%s/absent.h5", dir);
    ck_assert_int_eq(ana_h5_read(path, &info, &err), LLMSIM_EIO);
    ck_assert_str_eq(err.file, path);
    ck_assert_msg(strstr(err.msg, "No such file") != NULL, "message: %s", err.msg);

    snprintf(path, sizeof path, "%s/text.h5", dir);
    FILE *fp = fopen(path, "w");
    fputs("not hdf5\n", fp);
    fclose(fp);
    ck_assert_int_eq(ana_h5_read(path, &info, &err), LLMSIM_EHDF5);
    ck_assert_str_eq(err.msg, "not an HDF5 file");

    snprintf(path, sizeof path, "%s/foreign.h5", dir);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    H5Fclose(f);
    ck_assert_int_eq(ana_h5_read(path, &info, &err), LLMSIM_EINVAL);
    ck_assert_msg(strstr(err.msg, "not an llmsim results file") != NULL, "message: %s", err.msg);
    ck_assert_ptr_null(info.rows);

    /* Truncated files are refused before HDF5 reads them: the fuzzer's 48
     * bytes (a version-0 superblock cut short), on which HDF5 1.10 asked
     * for 4 GiB, and a whole results file cut to half its length (its
     * superblock records the full length). */
    static const unsigned char cut[48] = {
        0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0, 0, 8, 8, 0xa6, 0xff, 0xff, 0x0f, 0, 0, 0,
        0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94,
        0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, 0x94, '\n'};
    snprintf(path, sizeof path, "%s/cut.h5", dir);
    fp = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(cut, 1, sizeof cut, fp), sizeof cut);
    fclose(fp);
    ck_assert_int_eq(ana_h5_read(path, &info, &err), LLMSIM_EHDF5);
    ck_assert_msg(strstr(err.msg, "truncated: 48 bytes from the superblock on, which needs 96") != NULL,
                  "message: %s", err.msg);
    snprintf(path, sizeof path, "%s/half.h5", dir);
    write_file(path, 0, 1, 1);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
    ck_assert_int_eq(ana_h5_read(path, &info, &err), LLMSIM_EHDF5);
    ck_assert_msg(strstr(err.msg, "truncated: its superblock records") != NULL, "message: %s", err.msg);
    ck_assert_ptr_null(info.rows);

    /* A newer schema is refused. */
    snprintf(path, sizeof path, "%s/future.h5", dir);
    write_file(path, 0, 1, 1);
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
    int v = ANA_SCHEMA_VERSION + 1;
    ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT, &v), 0);
    H5Aclose(a);
    H5Fclose(f);
    ck_assert_int_eq(ana_h5_read(path, &info, &err), LLMSIM_ERANGE);
    ck_assert_ptr_null(info.rows);
    tu_remove_dir(dir);
}
END_TEST

/* A write that fails part-way (file size limit, as on a full disk): the sink
 * reports it, close returns it, and nothing is left behind. */
START_TEST(test_write_failure)
{
    char *dir = tu_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/big.h5", dir);
    struct ana_h5_meta meta = make_meta(0);
    struct ana_h5 *h = NULL;
    struct llmsim_error err;
    ck_assert_int_eq(ana_h5_open(&h, path, &meta, &err), 0);
    struct sim_sink sink = ana_h5_sink(h);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4u << 20;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = 0;
    uint64_t i;
    for (i = 0; i < 200000 && rc == 0; i++) {
        struct sim_request_record r = make_req(0, i);
        rc = sink.request(sink.ctx, &r);
    }
    if (rc == 0) /* HDF5 may hold the last chunks in its cache until close */
        rc = ana_h5_close(h, 1, &err);
    else
        ck_assert_int_eq(ana_h5_close(h, 1, &err), rc);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert_int_eq(rc, LLMSIM_EHDF5);
    ck_assert_int_eq(err.code, LLMSIM_EHDF5);
    ck_assert_str_eq(err.file, path);
    ck_assert_msg(strstr(err.msg, "cannot") != NULL, "message: %s", err.msg);
    ck_assert_int_eq(count_entries(dir, NULL, 0), 0);
    tu_remove_dir(dir);
}
END_TEST

/* pandas.read_hdf loads /requests, /summary and /timeseries. */
START_TEST(test_pandas)
{
    int compression = _i;
    if (tu_run("/usr/bin/python3 -c 'import pandas, tables'", NULL) != 0) {
        printf("test_pandas: skipped: /usr/bin/python3 cannot import pandas and tables\n");
        return;
    }
    char *dir = tu_tmpdir();
    char path[1024], cmd[8192];
    snprintf(path, sizeof path, "%s/p.h5", dir);
    write_file(path, compression, 1, 1);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -W ignore -c 'import pandas as p; "
             "d=p.read_hdf(\"%s\",\"requests\"); print(len(d), repr(d.ttft_s.quantile(.95))); "
             "s=p.read_hdf(\"%s\",\"summary\"); t=p.read_hdf(\"%s\",\"timeseries\"); "
             "print(len(s), len(t), s.scope[1], s.metric[1], d[\"class\"].max())'",
             path, path, path);
    char *out = NULL;
    int st = tu_run(cmd, &out);
    ck_assert_msg(st == 0, "python failed (%d): %s", st, out ? out : "");
    unsigned long nreq = 0, nsum = 0, nts = 0;
    double p95 = 0;
    char scope[64] = "", metric[64] = "";
    int cmax = -1;
    int got =
        sscanf(out, "%lu %lf %lu %lu %63s %63s %d", &nreq, &p95, &nsum, &nts, scope, metric, &cmax);
    ck_assert_msg(got == 7, "unexpected output: %s", out);
    ck_assert_uint_eq(nreq, (unsigned long)N_REPS * N_PER_REP);
    ck_assert_uint_eq(nsum, N_SUMMARY);
    ck_assert_uint_eq(nts, N_TS);
    ck_assert_str_eq(scope, "class:lookup");
    ck_assert_str_eq(metric, "cost_per_1k_usd");
    ck_assert_int_eq(cmax, 1);

    /* The same type-7 percentile computed here. */
    double *x = malloc(sizeof(double) * N_REPS * N_PER_REP);
    size_t n = 0;
    for (int rep = 0; rep < N_REPS; rep++)
        for (uint64_t i = 0; i < N_PER_REP; i++)
            x[n++] = make_req(rep, i).ttft_s;
    for (size_t i = 1; i < n; i++) /* insertion sort: values are nearly sorted per block */
        for (size_t j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1];
            x[j - 1] = t;
        }
    double h = (double)(n - 1) * 0.95;
    size_t lo = (size_t)h;
    double want = x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
    ck_assert_double_eq_tol(p95, want, 1e-12);
    free(x);
    free(out);
    tu_remove_dir(dir);
}
END_TEST

static Suite *h5_suite(void)
{
    Suite *s = suite_create("h5");
    TCase *tc = tcase_create("h5");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_roundtrip, 0, 2);
    tcase_add_test(tc, test_incomplete);
    tcase_add_test(tc, test_abort);
    tcase_add_test(tc, test_no_directory);
    tcase_add_test(tc, test_invalid_arguments);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_write_failure);
    tcase_add_loop_test(tc, test_pandas, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Before any other HDF5 call: no exit handler (a test leaves a file
     * whose close failed) and no automatic error printing. */
    if (ana_h5_init() != 0)
        return 1;
    SRunner *sr = srunner_create(h5_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
