/* Per-request API cost lines; see llmsim/price.h.
 *
 * The arithmetic of design.md section 1, line by line: prices are USD per
 * million tokens, so each line is tokens x price / 1e6 (dividing by the exact
 * 1e6 rather than multiplying by the inexact 1e-6 keeps hand-checked figures
 * such as 2,000 x $3 / 1e6 = $0.006 exact).  The Batch API discount scales
 * every line, and the no-cache counterfactual, by (1 - batch_discount). */
#include "llmsim/price.h"

#include "llmsim/error.h"

#define TOKENS_PER_MTOK 1.0e6

void mdl_cost_lines(const struct mdl_price *p, const struct mdl_cost_tokens *t,
                    struct mdl_cost_lines *out)
{
    LLMSIM_ASSERT(p != NULL && t != NULL && out != NULL);
    double scale = t->batch ? 1.0 - p->batch_discount : 1.0; /* share of list price paid */
    double in = p->input_per_mtok;                             /* USD per MTok */

    out->input_usd = t->input_uncached * in / TOKENS_PER_MTOK * scale;
    out->cache_write_usd = (t->cache_write_5m * p->cache_write_5m_mult +
                            t->cache_write_1h * p->cache_write_1h_mult) *
                           in / TOKENS_PER_MTOK * scale;
    out->cache_read_usd = t->cache_read * p->cache_read_mult * in / TOKENS_PER_MTOK * scale;
    out->output_usd = t->output * p->output_per_mtok / TOKENS_PER_MTOK * scale;

    /* The same request with caching off: every prompt token at the input
     * price. */
    double prompt = t->input_uncached + t->cache_write_5m + t->cache_write_1h + t->cache_read;
    out->nocache_usd = (prompt * in / TOKENS_PER_MTOK + t->output * p->output_per_mtok /
                        TOKENS_PER_MTOK) * scale;
}

double mdl_cost_total(const struct mdl_cost_lines *c)
{
    return c->input_usd + c->cache_write_usd + c->cache_read_usd + c->output_usd;
}
