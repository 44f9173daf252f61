/* llmsim: SLO verdicts, the Pareto frontier and the plan search (see
 * llmsim/study.h). */
#include "llmsim/study.h"

#include <math.h>
#include <string.h>

double ana_row_stat(const struct ana_summary_row *rows, size_t n, const char *scope, const char *metric,
                    const char *stat)
{
    const struct ana_summary_row *r = ana_summary_find(rows, n, scope, metric);
    if (!r)
        return NAN;
    static const struct {
        const char *name;
        size_t off;
    } f[] = {
        {"mean", offsetof(struct ana_summary_row, mean)},
        {"p50", offsetof(struct ana_summary_row, p50)},
        {"p90", offsetof(struct ana_summary_row, p90)},
        {"p95", offsetof(struct ana_summary_row, p95)},
        {"p99", offsetof(struct ana_summary_row, p99)},
        {"ci95", offsetof(struct ana_summary_row, ci95)},
        {"mean_ci95", offsetof(struct ana_summary_row, ci95)},
        {"p50_ci95", offsetof(struct ana_summary_row, p50_ci95)},
        {"p90_ci95", offsetof(struct ana_summary_row, p90_ci95)},
        {"p95_ci95", offsetof(struct ana_summary_row, p95_ci95)},
        {"p99_ci95", offsetof(struct ana_summary_row, p99_ci95)},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!strcmp(stat, f[i].name)) {
            if (r->count == 0)
                return NAN;
            double v;
            memcpy(&v, (const char *)r + f[i].off, sizeof v);
            return v;
        }
    return NAN;
}

void ana_slo_check(const struct sim_slo_cfg *slo, const struct ana_summary_row *rows, size_t n,
                   struct ana_slo_check *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = ANA_SLO_NONE;
    out->value = out->ci95 = out->target = NAN;
    out->headroom = INFINITY;
    out->stable = 1;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(rows[i].scope, "deployment:", 11) && !strcmp(rows[i].metric, "stable") && rows[i].count > 0 &&
            rows[i].mean < 1)
            out->stable = 0;
    if (!slo)
        return;
    const char *pname = slo->percentile <= 50 ? "p50" : slo->percentile <= 90 ? "p90" : slo->percentile <= 95 ? "p95" : "p99";
    char ciname[16];
    snprintf(ciname, sizeof ciname, "%s_ci95", pname);
    const struct {
        const char *metric;
        double target;
    } t[] = {{"ttft_s", slo->ttft_s}, {"itl_s", slo->itl_s}, {"e2e_s", slo->e2e_s}};
    int any = 0, missed = 0, uncertain = 0;
    for (int i = 0; i < 3; i++) {
        if (!(t[i].target > 0))
            continue;
        any = 1;
        double v = ana_row_stat(rows, n, "all", t[i].metric, pname);
        double h = ana_row_stat(rows, n, "all", t[i].metric, ciname);
        if (!isfinite(v)) {
            missed = 1; /* nothing measured: not shown to hold */
            continue;
        }
        if (isfinite(h)) {
            if (v - h > t[i].target)
                missed = 1;
            else if (v + h > t[i].target)
                uncertain = 1;
        } else {
            out->point_estimate = 1;
            if (v > t[i].target)
                missed = 1;
        }
        double room = (t[i].target - v) / t[i].target;
        if (room < out->headroom) {
            out->headroom = room;
            out->metric = t[i].metric;
            out->value = v;
            out->ci95 = h;
            out->target = t[i].target;
        }
    }
    if (!any)
        return;
    out->verdict = missed ? ANA_SLO_MISSED : uncertain ? ANA_SLO_UNCERTAIN : ANA_SLO_MET;
}

void ana_pareto(const double *cost, const double *latency, const double *quality, const int *eligible, size_t n,
                int *on)
{
    int use_q = quality != NULL;
    for (size_t i = 0; i < n && use_q; i++)
        if (eligible[i] && !isfinite(quality[i]))
            use_q = 0;
    for (size_t i = 0; i < n; i++) {
        on[i] = eligible[i] && isfinite(cost[i]) && isfinite(latency[i]);
        for (size_t j = 0; j < n && on[i]; j++) {
            if (j == i || !eligible[j] || !isfinite(cost[j]) || !isfinite(latency[j]))
                continue;
            int ge = cost[j] <= cost[i] && latency[j] <= latency[i] && (!use_q || quality[j] >= quality[i]);
            int gt = cost[j] < cost[i] || latency[j] < latency[i] || (use_q && quality[j] > quality[i]);
            if (ge && gt)
                on[i] = 0;
        }
    }
}

static int done_bracket(const struct ana_search *s, double a, double b)
{
    double lo = a < b ? a : b, hi = a < b ? b : a;
    if (s->integer)
        return hi - lo <= 1;
    double tol = s->rel_tol > 0 ? s->rel_tol : 0.01;
    return hi - lo <= tol * fabs(hi);
}

static double midpoint(const struct ana_search *s, double a, double b)
{
    double m = 0.5 * (a + b);
    return s->integer ? floor(m) : m;
}

int ana_plan_search(const struct ana_search *s, int (*ok)(void *ctx, double x), void *ctx, double *x, int *found)
{
    *found = 0;
    *x = NAN;
    int maxd = s->max_doublings > 0 ? s->max_doublings : 16;
    double lo = s->integer ? ceil(s->lo) : s->lo;
    double pass, fail;
    int r = ok(ctx, lo);
    if (r < 0)
        return r;
    if (!s->maximize) {
        if (r == 1) {
            *x = lo;
            *found = 1;
            return 0;
        }
        fail = lo;
        if (isnan(s->hi)) {
            double v = lo > 0 ? lo : 1;
            int k = 0;
            for (;;) {
                if (k++ >= maxd)
                    return 0;
                v *= 2;
                if ((r = ok(ctx, v)) < 0)
                    return r;
                if (r == 1)
                    break;
                fail = v;
            }
            pass = v;
        } else {
            double hi = s->integer ? floor(s->hi) : s->hi;
            if ((r = ok(ctx, hi)) < 0)
                return r;
            if (r == 0)
                return 0;
            pass = hi;
        }
        while (!done_bracket(s, fail, pass)) {
            double m = midpoint(s, fail, pass);
            if ((r = ok(ctx, m)) < 0)
                return r;
            if (r == 1)
                pass = m;
            else
                fail = m;
        }
    } else {
        if (r == 0)
            return 0;
        pass = lo;
        if (isnan(s->hi)) {
            double v = lo > 0 ? lo : 1;
            int k = 0;
            for (;;) {
                if (k++ >= maxd) {
                    *x = v;
                    *found = 1; /* holds as far as the doubling went */
                    return 0;
                }
                v *= 2;
                if ((r = ok(ctx, v)) < 0)
                    return r;
                if (r == 0)
                    break;
                pass = v;
            }
            fail = v;
        } else {
            double hi = s->integer ? floor(s->hi) : s->hi;
            if ((r = ok(ctx, hi)) < 0)
                return r;
            if (r == 1) {
                *x = hi;
                *found = 1;
                return 0;
            }
            fail = hi;
        }
        while (!done_bracket(s, pass, fail)) {
            double m = s->integer ? floor(0.5 * (pass + fail)) : 0.5 * (pass + fail);
            if (s->integer && m <= pass)
                break;
            if ((r = ok(ctx, m)) < 0)
                return r;
            if (r == 1)
                pass = m;
            else
                fail = m;
        }
    }
    *x = pass;
    *found = 1;
    return 0;
}
