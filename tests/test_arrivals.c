/* Time-varying and closed arrivals (workload.arrivals: diurnal, mmpp,
 * spikes, closed) against their closed forms.
 *
 * Every check is a hypothesis test at a stated level on a fixed seed, so
 * the outcome is deterministic; the levels are small (family-wise 0.001)
 * so that a correct generator fails by bad luck with probability 0.001,
 * and each case also shows the test has power (a wrong profile is
 * rejected).
 *
 *  - Diurnal: the number of arrivals in each hour of a Poisson process with
 *    rate lambda(t) is Poisson with mean E_h = integral of lambda over the
 *    hour, independent across hours.  Pearson's X^2 = sum (O - E)^2 / E
 *    over the k hours is then chi-square with k degrees of freedom (k, not
 *    k - 1: the total is not fixed; every E_h here is >= 100, so the normal
 *    approximation behind the chi-square holds); the test rejects above its
 *    0.999 quantile.  Each hour also gets a z bound |O - E| / sqrt(E) <=
 *    z(1 - 0.001 / 2k) (Bonferroni: family-wise level 0.001 over the k hours).
 *  - MMPP: with switching rates a = 1/t0, b = 1/t1 and state rates r0, r1,
 *    the stationary mean rate is pi0 r0 + pi1 r1 (pi_i = t_i / (t0 + t1)),
 *    and started in the stationary distribution, E N(T) = that x T exactly,
 *    Var N(T) = lambda T + 2 s2 / (a + b) (T - (1 - exp(-(a + b) T)) / (a + b))
 *    with s2 = pi0 pi1 (r0 - r1)^2 the variance of the rate (the count of a
 *    Cox process: Poisson noise plus the integral of the rate's
 *    autocovariance s2 exp(-(a + b) |u|)).  Over R = 8 runs the test
 *    bounds |N - E N| by 3.29 sd (two-sided 0.001), and checks the variance
 *    of counts in 50 s windows against the same formula, within a Student t
 *    interval (0.999) of the runs' window variances (the MMPP is
 *    over-dispersed: a Poisson process at the mean rate gives a variance 30
 *    times smaller, far outside the interval).
 *  - Spikes: counts inside and outside the spike are Poisson with the
 *    multiplied and the base mean; z bounds with Bonferroni over the two.
 *  - Closed: N clients, think time Z (exponential), one FIFO server with
 *    exponential service S.  The interactive response time law
 *    X = N / (R + Z) (Denning and Buzen, "The operational analysis of
 *    queueing network models", Computing Surveys 10(3), 1978) is checked
 *    with batch means: the measured window is cut into B = 20 batches,
 *    each gives Y_b = X_b (R_b + Z) (completions per second times the mean
 *    response of the batch plus Z), and the mean of the Y_b must be within
 *    t(0.9995, B - 1) standard errors of N.  Mean value analysis gives the
 *    exact throughput of this product-form network (Reiser and Lavenberg,
 *    JACM 27(2), 1980: R(n) = S (1 + Q(n - 1)), X(n) = n / (R(n) + Z),
 *    Q(n) = X(n) R(n)), which the measured X must match within its own
 *    batch-means interval at the same level. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "llmsim/config.h"
#include "llmsim/record.h"
#include "llmsim/scenario.h"
#include "llmsim/world.h"
#include "testutil.h"

#define TWO_PI 6.283185307179586476925

/* Records of one run: arrival and done times, flags. */
struct recs {
    size_t n, cap;
    double *arr, *done;
    uint32_t *flags;
};

static int collect(void *ctx, const struct sim_request_record *r)
{
    struct recs *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4096;
        c->arr = realloc(c->arr, c->cap * sizeof *c->arr);
        c->done = realloc(c->done, c->cap * sizeof *c->done);
        c->flags = realloc(c->flags, c->cap * sizeof *c->flags);
        ck_assert(c->arr && c->done && c->flags);
    }
    c->arr[c->n] = r->arrival_s;
    c->done[c->n] = r->done_s;
    c->flags[c->n] = r->flags;
    c->n++;
    return 0;
}

static void recs_free(struct recs *c)
{
    free(c->arr);
    free(c->done);
    free(c->flags);
    memset(c, 0, sizeof *c);
}

/* A scenario with the given arrivals and horizon, one class, served by an
 * api deployment (fast and unbounded: arrivals tests) or one FIFO server
 * with exponential service of mean 0.1 s (closed tests). */
static void run_seed(const char *arrivals, const char *horizon, int fifo, uint64_t seed,
                     struct recs *out)
{
    char yaml[4096];
    const char *dep = fifo ? "  - {name: srv, kind: self-hosted, replicas: 1, gpu_hour_usd: 1, "
                             "scheduler: {policy: none},\n"
                             "     latency: {model: service_time, service_time_s: {dist: "
                             "exponential, mean: 0.1}}}\n"
                           : "  - {name: api, kind: api, model: claude-haiku-4-5}\n";
    snprintf(
        yaml, sizeof yaml,
        "name: arrivals\nseed: 31\nhorizon: %s\nworkload:\n  arrivals: %s\n  classes:\n"
        "    - {name: q, prompt: [{segment: q, tokens: 50}], output_tokens: 5}\ndeployments:\n%s",
        horizon, arrivals, dep);
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    sc.seed = seed;
    memset(out, 0, sizeof *out);
    struct sim_sink sink = {.ctx = out, .request = collect};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
}

static void run_yaml(const char *arrivals, const char *horizon, int fifo, struct recs *out)
{
    run_seed(arrivals, horizon, fifo, 31, out);
}

/* Hourly counts of arrivals in [0, k hours). */
static void hour_counts(const struct recs *c, double *o, int k)
{
    for (int h = 0; h < k; h++)
        o[h] = 0;
    for (size_t i = 0; i < c->n; i++) {
        int h = (int)floor(c->arr[i] / 3600.0);
        if (h >= 0 && h < k)
            o[h]++;
    }
}

/* Pearson's X^2 and the largest |z| of observed o against expected e. */
static double chi2(const double *o, const double *e, int k, double *zmax)
{
    double x = 0;
    *zmax = 0;
    for (int h = 0; h < k; h++) {
        double d = o[h] - e[h];
        x += d * d / e[h];
        if (fabs(d) / sqrt(e[h]) > *zmax)
            *zmax = fabs(d) / sqrt(e[h]);
    }
    return x;
}

/* The integral of the raised cosine trough + (peak - trough)(1 + cos(2 pi (h - ph) / 24)) / 2
 * over clock hours [h0, h1], in requests (rates per second). */
static double sine_integral(double peak, double trough, double ph, double h0, double h1)
{
    double w = TWO_PI / 24.0;
    double amp = 0.5 * (peak - trough);
    double hours = (trough + amp) * (h1 - h0) + amp / w * (sin(w * (h1 - ph)) - sin(w * (h0 - ph)));
    return hours * 3600.0;
}

START_TEST(test_diurnal_sine_day)
{
    /* 24 hours from 06:30 (a fractional start, so segment edges are not
     * multiples of 3600 s of virtual time), peak 1.2/s at 14:00, trough 0.2/s. */
    struct recs c;
    run_yaml("{process: diurnal, profile: {peak_per_s: 1.2, trough_per_s: 0.2, peak_hour: 14, "
             "start_hour: 6.5}}",
             "{duration_s: 86400}", 0, &c);
    double o[24], e[24], wrong[24], zmax;
    hour_counts(&c, o, 24);
    for (int h = 0; h < 24; h++) {
        e[h] = sine_integral(1.2, 0.2, 14, 6.5 + h, 7.5 + h);
        wrong[h] = sine_integral(1.2, 0.2, 2, 6.5 + h, 7.5 + h); /* the peak 12 h off */
    }
    double x = chi2(o, e, 24, &zmax);
    double crit = gsl_cdf_chisq_Qinv(0.001, 24), zcrit = gsl_cdf_ugaussian_Qinv(0.001 / 48);
    ck_assert_msg(x <= crit, "X^2 = %g over 24 hours, 0.999 quantile %g", x, crit);
    ck_assert_msg(zmax <= zcrit, "an hour off by %g sd (bound %g)", zmax, zcrit);
    /* The mean rate: (1.2 + 0.2) / 2 over the day. */
    ck_assert_msg(fabs((double)c.n - 0.7 * 86400) <= 3.29 * sqrt(0.7 * 86400), "%zu arrivals", c.n);
    double zw;
    ck_assert_msg(chi2(o, wrong, 24, &zw) > crit,
                  "a profile with the peak at 02:00 is not rejected");
    recs_free(&c);
}
END_TEST

START_TEST(test_diurnal_table_week)
{
    /* A 24-hour table with weekly multipliers, from Friday 06:00, a week. */
    static const double table[24] = {0.02, 0.015, 0.01, 0.01, 0.01, 0.015, 0.03,  0.05,
                                     0.08, 0.1,   0.11, 0.12, 0.12, 0.12,  0.125, 0.12,
                                     0.11, 0.1,   0.09, 0.08, 0.07, 0.05,  0.04,  0.03};
    static const double weekly[7] = {1.0, 1.05, 1.1, 1.05, 0.95, 0.45, 0.4};
    char arr[1024];
    int len = snprintf(arr, sizeof arr, "{process: diurnal, profile: {hourly_per_s: [");
    for (int i = 0; i < 24; i++)
        len += snprintf(arr + len, sizeof arr - (size_t)len, "%s%.17g", i ? ", " : "", table[i]);
    len += snprintf(arr + len, sizeof arr - (size_t)len, "], weekly: [");
    for (int i = 0; i < 7; i++)
        len += snprintf(arr + len, sizeof arr - (size_t)len, "%s%.17g", i ? ", " : "", weekly[i]);
    snprintf(arr + len, sizeof arr - (size_t)len, "], start_hour: 6, start_day: 4}}");
    struct recs c;
    run_yaml(arr, "{duration_s: 604800}", 0, &c);
    double o[168], e[168], flat[168], zmax;
    hour_counts(&c, o, 168);
    for (int k = 0; k < 168; k++) {
        int clock = (4 * 24 + 6 + k) % 168;
        e[k] = table[clock % 24] * weekly[clock / 24] * 3600.0;
        flat[k] = table[clock % 24] * 3600.0 * (7.0 / 6.0); /* the week's shape ignored */
    }
    double x = chi2(o, e, 168, &zmax);
    double crit = gsl_cdf_chisq_Qinv(0.001, 168), zcrit = gsl_cdf_ugaussian_Qinv(0.001 / 336);
    ck_assert_msg(x <= crit, "X^2 = %g over 168 hours, 0.999 quantile %g", x, crit);
    ck_assert_msg(zmax <= zcrit, "an hour off by %g sd (bound %g)", zmax, zcrit);
    double zf;
    ck_assert_msg(chi2(o, flat, 168, &zf) > crit,
                  "ignoring the weekly multipliers is not rejected");
    recs_free(&c);
}
END_TEST

START_TEST(test_mmpp_mean_and_dispersion)
{
    /* Base 2/s, multipliers 0.5 and 4 (rates 1 and 8), sojourns 30 s and 6 s;
     * R independent runs (seeds). */
    enum { R = 8, NW = 400 };
    const double T = 20000, r0 = 1, r1 = 8, t0 = 30, t1 = 6, tau = T / NW;
    double pi0 = t0 / (t0 + t1), pi1 = 1 - pi0, ab = 1 / t0 + 1 / t1;
    double lam = pi0 * r0 + pi1 * r1, s2 = pi0 * pi1 * (r0 - r1) * (r0 - r1);
    double var_T = lam * T + 2 * s2 / ab * (T - (1 - exp(-ab * T)) / ab);
    double var_tau = lam * tau + 2 * s2 / ab * (tau - (1 - exp(-ab * tau)) / ab);
    double total = 0, vr[R], vm = 0, vv = 0;
    for (int k = 0; k < R; k++) {
        struct recs c;
        run_seed("{process: poisson, rate_per_s: 2, mmpp: {multipliers: [0.5, 4], mean_sojourn_s: "
                 "[30, 6]}}",
                 "{duration_s: 20000}", 0, 100 + (uint64_t)k, &c);
        total += (double)c.n;
        /* The sample variance of the counts in NW windows of tau. */
        double cnt[NW] = {0}, mean = 0;
        for (size_t i = 0; i < c.n; i++) {
            int w = (int)(c.arr[i] / tau);
            if (w >= 0 && w < NW)
                cnt[w]++;
        }
        for (int w = 0; w < NW; w++)
            mean += cnt[w] / NW;
        vr[k] = 0;
        for (int w = 0; w < NW; w++)
            vr[k] += (cnt[w] - mean) * (cnt[w] - mean) / (NW - 1);
        vm += vr[k] / R;
        recs_free(&c);
    }
    /* The mean rate: R independent counts, exact mean and variance. */
    double z = (total - R * lam * T) / sqrt(R * var_T);
    ck_assert_msg(fabs(z) <= 3.29, "%g arrivals in %d runs, expected %g +/- %g (z = %g)", total, R,
                  R * lam * T, sqrt(R * var_T), z);
    /* The window variance: its mean over the R runs within a Student t
     * interval (0.999) of the Cox formula.  (The counts of a window are a
     * mixture, far from normal, so the spread of a sample variance is taken
     * from the runs rather than from a chi-square.) */
    for (int k = 0; k < R; k++)
        vv += (vr[k] - vm) * (vr[k] - vm) / (R - 1);
    double h = gsl_cdf_tdist_Pinv(0.9995, R - 1) * sqrt(vv / R);
    ck_assert_msg(fabs(vm - var_tau) <= h, "window variance %g +/- %g, Cox formula %g", vm, h,
                  var_tau);
    ck_assert_msg(fabs(lam * tau - var_tau) > h, "the test cannot tell the MMPP from Poisson (%g)",
                  h);
}
END_TEST

START_TEST(test_spikes)
{
    struct recs c;
    run_yaml(
        "{process: poisson, rate_per_s: 1, spikes: [{at_s: 1000, duration_s: 500, multiplier: 6}]}",
        "{duration_s: 3000}", 0, &c);
    double in = 0, out = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (c.arr[i] >= 1000 && c.arr[i] < 1500)
            in++;
        else
            out++;
    }
    double zc = gsl_cdf_ugaussian_Qinv(0.001 / 4); /* two-sided, Bonferroni over two counts */
    ck_assert_msg(fabs(in - 3000) <= zc * sqrt(3000), "%g arrivals in the spike, expected 3000",
                  in);
    ck_assert_msg(fabs(out - 2500) <= zc * sqrt(2500), "%g arrivals outside, expected 2500", out);
    recs_free(&c);
}
END_TEST

START_TEST(test_deterministic)
{
    const char *arr = "{process: diurnal, profile: {peak_per_s: 3, trough_per_s: 0, peak_hour: 1},"
                      " mmpp: {multipliers: [1, 3], mean_sojourn_s: [100, 20]},"
                      " spikes: [{at_s: 600, duration_s: 60, multiplier: 0}]}";
    struct recs a, b;
    run_yaml(arr, "{duration_s: 3600}", 0, &a);
    run_yaml(arr, "{duration_s: 3600}", 0, &b);
    ck_assert_uint_eq(a.n, b.n);
    ck_assert_uint_gt(a.n, 1000);
    for (size_t i = 0; i < a.n; i++)
        ck_assert(a.arr[i] == b.arr[i]);
    /* The zero spike is an outage: nothing arrives in [600, 660). */
    for (size_t i = 0; i < a.n; i++)
        ck_assert_msg(!(a.arr[i] >= 600 && a.arr[i] < 660), "arrival at %g inside the outage",
                      a.arr[i]);
    recs_free(&a);
    recs_free(&b);
}
END_TEST

/* Exact throughput of N clients with think time z at one exponential FIFO
 * server of mean service s (mean value analysis). */
static double mva_x(int n, double s, double z)
{
    double q = 0, x = 0;
    for (int k = 1; k <= n; k++) {
        double r = s * (1 + q);
        x = k / (r + z);
        q = x * r;
    }
    return x;
}

START_TEST(test_closed_response_time_law)
{
    const int N = 20, B = 20;
    const double Z = 2.0, S = 0.1, warm = 300, T = 6300;
    struct recs c;
    run_yaml("{process: closed, clients: 20, think_time_s: {dist: exponential, mean: 2}}",
             "{duration_s: 6300, warmup_s: 300}", 1, &c);
    /* Never more than N requests in the system: each client waits for its answer. */
    long in = 0, peak = 0;
    /* Sweep the sorted arrivals and completions (a completion first on a tie). */
    double *a = malloc(c.n * sizeof *a), *d = malloc(c.n * sizeof *d);
    ck_assert(a && d);
    memcpy(a, c.arr, c.n * sizeof *a);
    memcpy(d, c.done, c.n * sizeof *d);
    qsort(a, c.n, sizeof *a, tu_cmp_double);
    qsort(d, c.n, sizeof *d, tu_cmp_double);
    for (size_t i = 0, j = 0; i < c.n;) {
        if (j < c.n && d[j] <= a[i]) {
            in--;
            j++;
        } else {
            in++;
            i++;
            if (in > peak)
                peak = in;
        }
    }
    free(a);
    free(d);
    ck_assert_int_le(peak, N);
    ck_assert_int_ge(peak, N / 2);

    /* Batch means over completions in [warm, T). */
    double cnt[20] = {0}, rsum[20] = {0}, len = (T - warm) / B;
    for (size_t i = 0; i < c.n; i++) {
        if (c.done[i] < warm || c.done[i] >= T)
            continue;
        int b = (int)((c.done[i] - warm) / len);
        if (b >= B)
            b = B - 1;
        cnt[b]++;
        rsum[b] += c.done[i] - c.arr[i];
    }
    double ym = 0, yv = 0, xm = 0, xv = 0, y[20], x[20];
    for (int b = 0; b < B; b++) {
        x[b] = cnt[b] / len;
        y[b] = x[b] * (rsum[b] / cnt[b] + Z);
        ym += y[b] / B;
        xm += x[b] / B;
    }
    for (int b = 0; b < B; b++) {
        yv += (y[b] - ym) * (y[b] - ym) / (B - 1);
        xv += (x[b] - xm) * (x[b] - xm) / (B - 1);
    }
    double t = gsl_cdf_tdist_Pinv(0.9995, B - 1);
    double hy = t * sqrt(yv / B), hx = t * sqrt(xv / B);
    ck_assert_msg(fabs(ym - N) <= hy, "X (R + Z) = %g +/- %g, N = %d", ym, hy, N);
    double xe = mva_x(N, S, Z);
    ck_assert_msg(fabs(xm - xe) <= hx, "X = %g +/- %g, mean value analysis %g", xm, hx, xe);
    /* Power: the open-loop guess N / Z (ignoring the response time) is rejected. */
    ck_assert_msg(fabs(xm - N / Z) > hx, "X = %g cannot be told from N / Z", xm);
    recs_free(&c);
}
END_TEST

START_TEST(test_closed_horizons)
{
    struct recs c;
    /* By requests: exactly that many, whatever the clients. */
    run_yaml("{process: closed, clients: 7, think_time_s: {dist: exponential, mean: 0.5}}",
             "{requests: 250}", 1, &c);
    ck_assert_uint_eq(c.n, 250);
    recs_free(&c);
    /* By duration: no arrival after it; every request finishes. */
    run_yaml("{process: closed, clients: 3, think_time_s: 1.5}", "{duration_s: 120}", 1, &c);
    ck_assert_uint_gt(c.n, 100);
    for (size_t i = 0; i < c.n; i++)
        ck_assert(c.arr[i] <= 120 && c.done[i] >= c.arr[i]);
    recs_free(&c);
}
END_TEST

START_TEST(test_closed_rejected_requests_go_on)
{
    /* Prompts of 3,000 tokens never fit a KV cache of 1,024: every request
     * is rejected at once, and its client thinks and asks again.  Each
     * client then sends about T / Z requests: Poisson(3 x 100) in all. */
    const char *yaml =
        "name: rej\nseed: 3\nhorizon: {duration_s: 100}\nworkload:\n"
        "  arrivals: {process: closed, clients: 3, think_time_s: {dist: exponential, mean: 1}}\n"
        "  classes: [{name: q, prompt: [{segment: q, tokens: 3000}], output_tokens: 10}]\n"
        "deployments:\n  - {name: gpu, kind: self-hosted, model: llama-3.1-8b, gpu: h100-sxm, "
        "replicas: 1,\n"
        "     kv_capacity_tokens: 1024, scheduler: {policy: continuous, max_batch: 8}}\n";
    struct sim_scenario sc;
    tu_load_yaml(&sc, yaml, NULL, 0);
    struct recs c = {0};
    struct sim_sink sink = {.ctx = &c, .request = collect};
    tu_run_world(&sc, &sink, NULL, NULL);
    sim_scenario_free(&sc);
    ck_assert_msg(fabs((double)c.n - 300) <= 3.29 * sqrt(300), "%zu requests", c.n);
    for (size_t i = 0; i < c.n; i++)
        ck_assert(c.flags[i] & SIM_RF_REJECTED);
    recs_free(&c);
}
END_TEST

START_TEST(test_resolved_round_trip)
{
    const char *arrs[] = {
        "{process: diurnal, profile: {peak_per_s: 2, trough_per_s: 0.5, peak_hour: 13.5, weekly: "
        "[1, 1, 1, 1, 1, "
        "0.5, 0.5], start_hour: 3, start_day: 6}, spikes: [{at_s: 10, duration_s: 5, multiplier: "
        "3}]}",
        "{process: poisson, rate_per_s: 4, mmpp: {multipliers: [0, 2], mean_sojourn_s: [10, 20]}}",
        "{process: closed, clients: 12, think_time_s: {dist: lognormal, mean: 4, cv: 0.5}}",
    };
    for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
        char yaml[2048];
        snprintf(yaml, sizeof yaml,
                 "name: rt\nhorizon: {duration_s: 60}\nworkload:\n  arrivals: %s\n  classes:\n"
                 "    - {name: q, prompt: [{segment: q, tokens: 50}], output_tokens: 5}\n"
                 "deployments:\n  - {name: api, kind: api, model: claude-haiku-4-5}\n",
                 arrs[i]);
        struct sim_scenario a, b;
        tu_load_yaml(&a, yaml, NULL, 0);
        char *text = scn_resolved_yaml(&a);
        ck_assert_ptr_nonnull(text);
        tu_load_yaml(&b, text, NULL, 0);
        char *text2 = scn_resolved_yaml(&b);
        ck_assert_str_eq(text, text2);
        ck_assert_int_eq(a.workload.process, b.workload.process);
        ck_assert(memcmp(&a.workload.diurnal, &b.workload.diurnal, sizeof a.workload.diurnal) == 0);
        ck_assert(memcmp(&a.workload.mmpp, &b.workload.mmpp, sizeof a.workload.mmpp) == 0);
        ck_assert_uint_eq(a.workload.n_spikes, b.workload.n_spikes);
        ck_assert_int_eq(a.workload.closed.clients, b.workload.closed.clients);
        ck_assert(mdl_dist_mean(&a.workload.closed.think_time_s) ==
                  mdl_dist_mean(&b.workload.closed.think_time_s));
        free(text);
        free(text2);
        sim_scenario_free(&a);
        sim_scenario_free(&b);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("arrivals");
    TCase *t = tcase_create("arrivals");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_diurnal_sine_day);
    tcase_add_test(t, test_diurnal_table_week);
    tcase_add_test(t, test_mmpp_mean_and_dispersion);
    tcase_add_test(t, test_spikes);
    tcase_add_test(t, test_deterministic);
    tcase_add_test(t, test_closed_response_time_law);
    tcase_add_test(t, test_closed_horizons);
    tcase_add_test(t, test_closed_rejected_requests_go_on);
    tcase_add_test(t, test_resolved_round_trip);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
