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
    double prompt = t->input_uncached + t->cache_write_5m + t->cache_write_1h + t->cache_read;
    /* Past the long-context threshold the whole request is repriced, not
     * only the tokens above it, and the threshold counts cached tokens too
     * (Anthropic's long-context pricing; see models/catalog/prices.yaml). */
    int long_ctx = p->long_context_above_tokens > 0 && prompt > p->long_context_above_tokens;
    double in = long_ctx ? p->long_input_per_mtok : p->input_per_mtok; /* USD per MTok */
    double out_price = long_ctx ? p->long_output_per_mtok : p->output_per_mtok;

    out->input_usd = t->input_uncached * in / TOKENS_PER_MTOK * scale;
    out->cache_write_usd = (t->cache_write_5m * p->cache_write_5m_mult +
                            t->cache_write_1h * p->cache_write_1h_mult) *
                           in / TOKENS_PER_MTOK * scale;
    out->cache_read_usd = t->cache_read * p->cache_read_mult * in / TOKENS_PER_MTOK * scale;
    out->output_usd = t->output * out_price / TOKENS_PER_MTOK * scale;

    /* The same request with caching off: every prompt token at the input
     * price (the same prompt, so the same tier). */
    out->nocache_usd = (prompt * in / TOKENS_PER_MTOK + t->output * out_price /
                        TOKENS_PER_MTOK) * scale;
}

double mdl_cost_total(const struct mdl_cost_lines *c)
{
    return c->input_usd + c->cache_write_usd + c->cache_read_usd + c->output_usd;
}
