/* The tee sink; see llmsim/record.h. */
#include "llmsim/record.h"

static int tee_request(void *ctx, const struct sim_request_record *r)
{
    struct sim_tee *t = ctx;
    int rc = 0;
    if (t->a.request && (rc = t->a.request(t->a.ctx, r)) != 0)
        return rc;
    if (t->b.request)
        rc = t->b.request(t->b.ctx, r);
    return rc;
}

static int tee_ts(void *ctx, const struct sim_ts_record *r)
{
    struct sim_tee *t = ctx;
    int rc = 0;
    if (t->a.timeseries && (rc = t->a.timeseries(t->a.ctx, r)) != 0)
        return rc;
    if (t->b.timeseries)
        rc = t->b.timeseries(t->b.ctx, r);
    return rc;
}

static int tee_iter(void *ctx, const struct sim_iter_record *r)
{
    struct sim_tee *t = ctx;
    int rc = 0;
    if (t->a.iteration && (rc = t->a.iteration(t->a.ctx, r)) != 0)
        return rc;
    if (t->b.iteration)
        rc = t->b.iteration(t->b.ctx, r);
    return rc;
}

static int tee_scale(void *ctx, const struct sim_scale_record *r)
{
    struct sim_tee *t = ctx;
    int rc = 0;
    if (t->a.scale && (rc = t->a.scale(t->a.ctx, r)) != 0)
        return rc;
    if (t->b.scale)
        rc = t->b.scale(t->b.ctx, r);
    return rc;
}

struct sim_sink sim_tee_sink(struct sim_tee *t)
{
    struct sim_sink s = {t, tee_request, tee_ts, tee_iter, tee_scale};
    return s;
}
