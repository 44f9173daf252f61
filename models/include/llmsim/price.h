/* llmsim: API price table entries and per-request cost arithmetic.
 *
 * A struct mdl_price holds one model's list prices in USD per million tokens
 * and the multipliers of its provider's prompt cache.  mdl_cost_lines() turns
 * token counts into the cost lines of design.md section 1:
 *
 *   input       = uncached input tokens x input price
 *   cache write = cache-write tokens x input price x write multiplier (5m or 1h)
 *   cache read  = cache-read tokens x input price x read multiplier
 *   output      = output tokens x output price
 *   batch       : every line x (1 - batch_discount)
 *   long context: past the entry's threshold (the whole prompt, cached tokens
 *                 included), every line at the long-context prices
 *
 * and the no-cache counterfactual (all input tokens at the input price, same
 * batch discount), so cache savings are exact rather than estimated.
 *
 * The catalog of entries (models/catalog/prices.yaml) is compiled into the
 * binary as text (mdl_catalog_prices_yaml); scenarios/ parses it. */
#ifndef LLMSIM_PRICE_H
#define LLMSIM_PRICE_H

#include <stdint.h>

#define MDL_NAME_MAX 64

struct mdl_price {
    char id[MDL_NAME_MAX];           /* catalog id, e.g. "claude-sonnet-4-6" */
    char provider[32];               /* "anthropic", "openai", "google", ... */
    double input_per_mtok;           /* USD per million uncached input tokens */
    double output_per_mtok;          /* USD per million output tokens */
    double cache_write_5m_mult;      /* x input price for a 5-minute cache write */
    double cache_write_1h_mult;      /* x input price for a 1-hour cache write */
    double cache_read_mult;          /* x input price for a cache read */
    double cache_storage_per_mtok_hour; /* USD per million cached tokens per hour (gemini explicit) */
    double min_cache_tokens;         /* shortest cacheable prompt, tokens */
    double batch_discount;           /* share taken off every line by the Batch API (0.5) */
    /* Long-context tier: a request whose prompt (uncached, cache-write and
     * cache-read tokens together) exceeds long_context_above_tokens is
     * billed entirely, every line, at these input and output prices (the
     * cache multipliers apply to the long-context input price); 0: no tier. */
    double long_context_above_tokens;
    double long_input_per_mtok;
    double long_output_per_mtok;
    char source[160];                /* where the figures come from */
    char date[16];                   /* when they were read, YYYY-MM or YYYY-MM-DD */
};

/* Token counts of one request for costing.  input_uncached + cache_write +
 * cache_read is the whole prompt. */
struct mdl_cost_tokens {
    double input_uncached; /* billed at the input price */
    double cache_write_5m; /* billed at input x write_5m multiplier */
    double cache_write_1h; /* billed at input x write_1h multiplier */
    double cache_read;     /* billed at input x read multiplier */
    double output;         /* billed at the output price */
    int batch;             /* nonzero: Batch API discount on every line */
};

struct mdl_cost_lines {
    double input_usd;
    double cache_write_usd;
    double cache_read_usd;
    double output_usd;
    double nocache_usd; /* counterfactual: the same request with caching off */
};

void mdl_cost_lines(const struct mdl_price *p, const struct mdl_cost_tokens *t,
                    struct mdl_cost_lines *out);

/* Sum of the billed lines (not the counterfactual). */
double mdl_cost_total(const struct mdl_cost_lines *c);

/* The embedded catalogs, NUL-terminated YAML text. */
extern const char mdl_catalog_prices_yaml[];

#endif
