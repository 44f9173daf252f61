/* Arrival processes beyond the renewal ones of world_source.c: a Poisson
 * process whose rate changes in time, and the clients of a closed workload.
 *
 * Time-varying rate.  The rate at time t is
 *
 *     lambda(t) = base(t) x m_mmpp(state at t) x (product of the spikes active at t)
 *
 * where base is rate_per_s (poisson) or the diurnal profile at the hour of
 * the clock (sim_diurnal_rate), m_mmpp the multiplier of the modulating
 * two-state Markov chain (1 without one) and a spike multiplies the rate
 * over its interval [at_s, at_s + duration_s).  The arrivals are a
 * non-homogeneous Poisson process with this rate (a Cox process with the
 * mmpp), drawn exactly by thinning (Lewis and Shedler, "Simulation of
 * nonhomogeneous Poisson processes by thinning", Naval Research Logistics
 * Quarterly 26(3), 1979) against a piecewise-constant majorant: time is cut
 * into segments at every hour of the clock (diurnal), every spike edge and
 * every switch of the mmpp state, inside which every factor but the sine
 * profile is constant.  In a segment [a, e) with majorant b (the maximum of
 * lambda over it) a candidate comes an exponential gap of mean 1/b later;
 * past e it is dropped and drawing restarts at e (exact: the process has
 * independent increments and the exponential no memory); inside it is kept
 * with probability lambda(t) / b, which is 1 for everything but the sine
 * profile (no uniform is drawn then).  With the sine profile b is its
 * maximum over the hour, so at least cos(2 pi / 24) ~ 0.97 of the
 * candidates are kept at any trough/peak ratio >= 0: the work stays one
 * draw or two per arrival plus one per segment.
 *
 * The gaps and thinning uniforms come from the stream "arrivals", the
 * mmpp's sojourns and its first state from "arrivals/mmpp", so the state
 * path does not depend on the rate it modulates.
 *
 * Closed workload.  Each of the N clients starts thinking at time 0 (a
 * first think time, so the clients do not all send at once), sends a
 * request, and when its answer is done (or the request is rejected) thinks
 * again (stream "arrivals": one think-time draw per request) before its
 * next request.  A client stops at the horizon: when its next request
 * would come after duration_s, or once `requests` requests are out.  Up to
 * N arrival events are pending, one per thinking client. */
#include <math.h>

#include <gsl/gsl_randist.h>

#include "llmsim/rng.h"
#include "world_internal.h"

#define SECONDS_PER_HOUR 3600.0

static int inval(struct llmsim_error *err, const char *what)
{
    return llmsim_error_set(err, LLMSIM_EINVAL, NULL, 0, 0, "%s", what);
}

static int finite_nonneg(double x)
{
    return isfinite(x) && x >= 0;
}

int simi_arrivals_varying(const struct sim_workload_cfg *wl)
{
    return wl->process == SIM_ARRIVAL_DIURNAL ||
           (wl->process == SIM_ARRIVAL_POISSON && (wl->mmpp.enabled || wl->n_spikes > 0));
}

static int check_diurnal(const struct sim_diurnal_cfg *d, struct llmsim_error *err)
{
    double sum = 0;
    if (d->shape == SIM_DIURNAL_SINE) {
        if (!(finite_nonneg(d->trough_per_s) && finite_nonneg(d->peak_per_s) &&
              d->peak_per_s >= d->trough_per_s && d->peak_per_s > 0))
            return inval(err,
                         "workload: diurnal needs 0 <= trough_per_s <= peak_per_s, peak_per_s > 0");
        if (!(d->peak_hour >= 0 && d->peak_hour < 24))
            return inval(err, "workload: diurnal peak_hour must be in [0, 24)");
        sum = d->peak_per_s;
    } else if (d->shape == SIM_DIURNAL_TABLE) {
        if (d->n_hours != 24 && d->n_hours != SIM_HOURS_PER_WEEK)
            return inval(err, "workload: a diurnal table has 24 or 168 hourly rates");
        for (int i = 0; i < d->n_hours; i++) {
            if (!finite_nonneg(d->hourly_per_s[i]))
                return inval(err, "workload: diurnal hourly rates must be finite and >= 0");
            sum += d->hourly_per_s[i];
        }
    } else {
        return inval(err, "workload: unknown diurnal shape");
    }
    if (!(sum > 0))
        return inval(err, "workload: a diurnal profile needs a positive rate in some hour");
    if (d->has_weekly) {
        double wsum = 0;
        for (int i = 0; i < 7; i++) {
            if (!finite_nonneg(d->weekly[i]))
                return inval(err, "workload: weekly multipliers must be finite and >= 0");
            wsum += d->weekly[i];
        }
        if (!(wsum > 0))
            return inval(err, "workload: weekly multipliers need one above 0");
    }
    if (!(d->start_hour >= 0 && d->start_hour < 24) || d->start_day < 0 || d->start_day > 6)
        return inval(err, "workload: diurnal start_hour must be in [0, 24) and start_day in 0..6");
    return 0;
}

int simi_arrivals_init(struct sim_world *w, struct llmsim_error *err)
{
    const struct sim_scenario *sc = w->sc;
    const struct sim_workload_cfg *wl = &sc->workload;
    int rc;
    if (wl->process == SIM_ARRIVAL_DIURNAL && (rc = check_diurnal(&wl->diurnal, err)) != 0)
        return rc;
    if (wl->process == SIM_ARRIVAL_CLOSED) {
        if (wl->closed.clients < 1 || wl->closed.clients > SIM_MAX_CLIENTS)
            return inval(err, "workload: a closed workload has 1 to 10^6 clients");
        if (!(mdl_dist_mean(&wl->closed.think_time_s) >= 0))
            return inval(err, "workload: the think time's mean must be >= 0");
    }
    if ((wl->mmpp.enabled || wl->n_spikes > 0) && !simi_arrivals_varying(wl))
        return inval(err, "workload: mmpp and spikes modulate a poisson or diurnal process");
    if (wl->n_spikes > SIM_MAX_SPIKES)
        return inval(err, "workload: too many spikes");
    for (size_t i = 0; i < wl->n_spikes; i++) {
        const struct sim_spike_cfg *s = &wl->spikes[i];
        if (!(finite_nonneg(s->at_s) && isfinite(s->duration_s) && s->duration_s > 0 &&
              finite_nonneg(s->multiplier)))
            return inval(err,
                         "workload: a spike needs at_s >= 0, duration_s > 0 and multiplier >= 0");
    }
    if (wl->mmpp.enabled) {
        const struct sim_mmpp_cfg *m = &wl->mmpp;
        for (int i = 0; i < 2; i++)
            if (!(finite_nonneg(m->multiplier[i]) && isfinite(m->mean_sojourn_s[i]) &&
                  m->mean_sojourn_s[i] > 0))
                return inval(err, "workload: mmpp multipliers must be >= 0 and sojourns > 0");
        if (!(m->multiplier[0] + m->multiplier[1] > 0))
            return inval(err, "workload: an mmpp needs a state with a multiplier above 0");
        w->rng_mmpp = sim_rng_alloc(sc->seed, w->replication, "arrivals/mmpp");
        if (w->rng_mmpp == NULL)
            return llmsim_error_set(err, LLMSIM_ENOMEM, NULL, 0, 0, "out of memory");
        /* The first state from the stationary distribution (pi_i proportional
         * to the mean sojourn), so the rate is stationary from time 0. */
        double pi0 = m->mean_sojourn_s[0] / (m->mean_sojourn_s[0] + m->mean_sojourn_s[1]);
        w->mmpp_state = mdl_rng_uniform(w->rng_mmpp) < pi0 ? 0 : 1;
        w->mmpp_until_s = gsl_ran_exponential(w->rng_mmpp, m->mean_sojourn_s[w->mmpp_state]);
    }
    return 0;
}

void simi_arrivals_free(struct sim_world *w)
{
    gsl_rng_free(w->rng_mmpp);
    w->rng_mmpp = NULL;
}

/* The profile's sine part at hour h of the day. */
static double sine_at(const struct sim_diurnal_cfg *d, double h)
{
    return sim_diurnal_rate(&(struct sim_diurnal_cfg){.shape = SIM_DIURNAL_SINE,
                                                      .peak_per_s = d->peak_per_s,
                                                      .trough_per_s = d->trough_per_s,
                                                      .peak_hour = d->peak_hour},
                            fmod(h, 24.0));
}

/* Hour of the clock (unwrapped: hours since Monday 00:00 of the first week)
 * at virtual time t. */
static double clock_hour(const struct sim_diurnal_cfg *d, double t)
{
    return d->start_day * 24.0 + d->start_hour + t / SECONDS_PER_HOUR;
}

/* The end of the segment that starts at t: the next time any factor of the
 * rate (or, for the sine profile, the majorant) may change. */
static double segment_end(const struct sim_world *w, double t)
{
    const struct sim_workload_cfg *wl = &w->sc->workload;
    double e = INFINITY;
    if (wl->process == SIM_ARRIVAL_DIURNAL) {
        double h0 = clock_hour(&wl->diurnal, 0), h = clock_hour(&wl->diurnal, t);
        e = (floor(h) + 1.0 - h0) * SECONDS_PER_HOUR;
        if (!(e > t)) /* t rounded onto the boundary */
            e = (floor(h) + 2.0 - h0) * SECONDS_PER_HOUR;
    }
    if (wl->mmpp.enabled && w->mmpp_until_s < e)
        e = w->mmpp_until_s;
    for (size_t i = 0; i < wl->n_spikes; i++) {
        const struct sim_spike_cfg *s = &wl->spikes[i];
        double edge = s->at_s > t ? s->at_s : s->at_s + s->duration_s;
        if (edge > t && edge < e)
            e = edge;
    }
    return e;
}

/* The constant factors of the rate in the segment [t, e): mmpp and spikes. */
static double segment_multiplier(const struct sim_world *w, double t, double e)
{
    const struct sim_workload_cfg *wl = &w->sc->workload;
    double m = wl->mmpp.enabled ? wl->mmpp.multiplier[w->mmpp_state] : 1.0;
    double mid = 0.5 * (t + e); /* inside the segment, clear of its edges */
    if (!isfinite(mid))
        mid = t;
    for (size_t i = 0; i < wl->n_spikes; i++) {
        const struct sim_spike_cfg *s = &wl->spikes[i];
        if (mid >= s->at_s && mid < s->at_s + s->duration_s)
            m *= s->multiplier;
    }
    return m;
}

/* The next arrival after w->last_arrival_s and no later than limit: 0 with
 * *out set, or 1 when none comes by then. */
static int varying_next(struct sim_world *w, double limit, double *out)
{
    const struct sim_workload_cfg *wl = &w->sc->workload;
    const struct sim_diurnal_cfg *d = &wl->diurnal;
    int sine = wl->process == SIM_ARRIVAL_DIURNAL && d->shape == SIM_DIURNAL_SINE;
    double t = w->last_arrival_s;
    while (t <= limit) {
        double e = segment_end(w, t);
        double bound = segment_multiplier(w, t, e), sine_max = 0;
        if (wl->process == SIM_ARRIVAL_POISSON) {
            bound *= wl->rate_per_s;
        } else {
            double ha = clock_hour(d, t), hb = isfinite(e) ? clock_hour(d, e) : ha + 1.0;
            double hmid = fmod(0.5 * (ha + hb), (double)SIM_HOURS_PER_WEEK);
            if (sine) {
                /* The maximum of the raised cosine over [ha, hb] (at most an
                 * hour): the peak when it falls inside, else an end. */
                double sa = sine_at(d, ha), sb = sine_at(d, hb);
                sine_max = sa > sb ? sa : sb;
                double to_peak = fmod(fmod(d->peak_hour - fmod(ha, 24.0), 24.0) + 24.0, 24.0);
                if (to_peak <= hb - ha)
                    sine_max = d->peak_per_s;
                bound *= sine_max * (d->has_weekly ? d->weekly[(int)floor(hmid) / 24] : 1.0);
            } else {
                bound *= sim_diurnal_rate(d, hmid);
            }
        }
        if (bound > 0) {
            double c = t + gsl_ran_exponential(w->rng_arrivals, 1.0) / bound;
            if (c < e) {
                t = c;
                if (t > limit)
                    break;
                if (!sine ||
                    mdl_rng_uniform(w->rng_arrivals) * sine_max < sine_at(d, clock_hour(d, t))) {
                    *out = t;
                    return 0;
                }
                continue;
            }
        }
        if (!isfinite(e))
            break; /* a zero rate from here on */
        t = e;
        if (wl->mmpp.enabled && t >= w->mmpp_until_s) {
            w->mmpp_state ^= 1;
            w->mmpp_until_s =
                t + gsl_ran_exponential(w->rng_mmpp, wl->mmpp.mean_sojourn_s[w->mmpp_state]);
        }
    }
    return 1;
}

int simi_arrivals_next(struct sim_world *w, double *out)
{
    double limit = w->sc->duration_s > 0 ? w->sc->duration_s : INFINITY;
    return varying_next(w, limit, out);
}

/* Client i, whose previous answer came at `from` (0 at the start), thinks
 * and is scheduled to send its next request, unless the horizon stops it. */
static int client_next(struct sim_world *w, uint32_t i, double from)
{
    const struct sim_scenario *sc = w->sc;
    if (sc->max_requests > 0 && w->scheduled >= sc->max_requests)
        return 0;
    double t =
        from + simi_nonneg(mdl_dist_sample(&sc->workload.closed.think_time_s, w->rng_arrivals));
    if (sc->duration_s > 0 && t > sc->duration_s)
        return 0;
    int rc = simi_schedule(w, t, SIMI_EV_ARRIVAL, 0, i);
    if (rc != 0)
        return rc;
    w->scheduled++;
    w->clients_thinking++;
    w->arrival_pending = 1;
    if (t > w->last_arrival_s)
        w->last_arrival_s = t;
    return 0;
}

int simi_arrivals_closed_start(struct sim_world *w)
{
    for (uint32_t i = 0; i < (uint32_t)w->sc->workload.closed.clients; i++) {
        int rc = client_next(w, i, 0.0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

void simi_arrivals_client_sends(struct sim_world *w)
{
    LLMSIM_ASSERT(w->clients_thinking > 0);
    w->clients_thinking--;
    w->arrival_pending = w->clients_thinking > 0;
}

int simi_arrivals_client_done(struct sim_world *w, const struct simi_req *r)
{
    LLMSIM_ASSERT(r->client != SIMI_NONE);
    return client_next(w, r->client, w->now_s);
}
