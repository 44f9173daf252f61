/* API cost lines (models/src/cost.c) against hand-computed figures. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/price.h"
#include "llmsim/scenario.h"
#include "testutil.h"

/* claude-sonnet-4-6 as in models/catalog/prices.yaml. */
static struct mdl_price sonnet(void)
{
    struct mdl_price p;
    memset(&p, 0, sizeof p);
    strcpy(p.id, "claude-sonnet-4-6");
    strcpy(p.provider, "anthropic");
    p.input_per_mtok = 3.0;
    p.output_per_mtok = 15.0;
    p.cache_write_5m_mult = 1.25;
    p.cache_write_1h_mult = 2.0;
    p.cache_read_mult = 0.1;
    p.cache_storage_per_mtok_hour = 0.0;
    p.min_cache_tokens = 2048;
    p.batch_discount = 0.5;
    return p;
}

static struct mdl_cost_tokens tokens(double uncached, double w5m, double w1h, double read,
                                     double output, int batch)
{
    struct mdl_cost_tokens t = {uncached, w5m, w1h, read, output, batch};
    return t;
}

START_TEST(test_long_context_tier)
{
    /* claude-sonnet-4-5 from the catalog: 3 / 15 up to 200K prompt tokens,
     * 6 / 22.50 above, for the whole request (models/catalog/prices.yaml). */
    const struct mdl_price *p = scn_price_lookup("claude-sonnet-4-5", NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_double_eq(p->long_context_above_tokens, 200000);
    struct mdl_cost_lines c;
    /* 250K in, 2K out: 250,000 x 6 / 1e6 = 1.50 and 2,000 x 22.5 / 1e6 = 0.045. */
    struct mdl_cost_tokens t = tokens(250000, 0, 0, 0, 2000, 0);
    mdl_cost_lines(p, &t, &c);
    ck_assert_double_eq_tol(c.input_usd, 1.5, 1e-12);
    ck_assert_double_eq_tol(c.output_usd, 0.045, 1e-12);
    ck_assert_double_eq_tol(c.nocache_usd, 1.545, 1e-12);
    /* Exactly 200,000 is not above the threshold: base prices. */
    t = tokens(200000, 0, 0, 0, 2000, 0);
    mdl_cost_lines(p, &t, &c);
    ck_assert_double_eq_tol(mdl_cost_total(&c), 0.6 + 0.03, 1e-12);
    /* Cached tokens count toward the threshold and are repriced: 50K uncached
     * + 200K read = 250K; the read at 0.1 x 6 = 0.6 per MTok. */
    t = tokens(50000, 0, 0, 200000, 0, 0);
    mdl_cost_lines(p, &t, &c);
    ck_assert_double_eq_tol(c.input_usd, 0.3, 1e-12);
    ck_assert_double_eq_tol(c.cache_read_usd, 0.12, 1e-12);
    ck_assert_double_eq_tol(c.nocache_usd, 1.5, 1e-12); /* same prompt, same tier */
    /* A 1h write of 210K: 2 x 6 = 12 per MTok; the Batch API halves it. */
    t = tokens(0, 0, 210000, 0, 0, 1);
    mdl_cost_lines(p, &t, &c);
    ck_assert_double_eq_tol(c.cache_write_usd, 210000 * 12.0 / 1e6 * 0.5, 1e-12);
    /* Sonnet 4.6 has no tier: 250K in at 3. */
    const struct mdl_price *q = scn_price_lookup("claude-sonnet-4-6", NULL);
    ck_assert_ptr_nonnull(q);
    ck_assert_double_eq(q->long_context_above_tokens, 0);
    t = tokens(250000, 0, 0, 0, 0, 0);
    mdl_cost_lines(q, &t, &c);
    ck_assert_double_eq_tol(c.input_usd, 0.75, 1e-12);
}
END_TEST

START_TEST(test_plain_request)
{
    /* 2,000 input x $3/MTok + 500 output x $15/MTok = 0.006 + 0.0075. */
    struct mdl_price p = sonnet();
    struct mdl_cost_tokens t = tokens(2000, 0, 0, 0, 500, 0);
    struct mdl_cost_lines c;
    mdl_cost_lines(&p, &t, &c);
    ck_assert_double_eq_tol(c.input_usd, 0.006, 1e-12);
    ck_assert_double_eq_tol(c.output_usd, 0.0075, 1e-12);
    ck_assert_double_eq(c.cache_write_usd, 0.0);
    ck_assert_double_eq(c.cache_read_usd, 0.0);
    ck_assert_double_eq_tol(mdl_cost_total(&c), 0.0135, 1e-12);
    ck_assert_double_eq_tol(c.nocache_usd, 0.0135, 1e-12);
}
END_TEST

START_TEST(test_cache_multipliers)
{
    /* 10,000 tokens of each kind at $3/MTok input: $0.03 per 10,000 plain. */
    struct mdl_price p = sonnet();
    struct mdl_cost_lines c;

    struct mdl_cost_tokens t = tokens(0, 10000, 0, 0, 0, 0);
    mdl_cost_lines(&p, &t, &c);
    ck_assert_double_eq_tol(c.cache_write_usd, 0.03 * 1.25, 1e-12); /* $3.75/MTok */
    ck_assert_double_eq_tol(c.nocache_usd, 0.03, 1e-12);

    t = tokens(0, 0, 10000, 0, 0, 0);
    mdl_cost_lines(&p, &t, &c);
    ck_assert_double_eq_tol(c.cache_write_usd, 0.03 * 2.0, 1e-12); /* $6/MTok */

    t = tokens(0, 0, 0, 10000, 0, 0);
    mdl_cost_lines(&p, &t, &c);
    ck_assert_double_eq_tol(c.cache_read_usd, 0.003, 1e-12); /* $0.30/MTok */
    ck_assert_double_eq(c.input_usd, 0.0);
    ck_assert_double_eq(c.cache_write_usd, 0.0);
    ck_assert_double_eq_tol(c.nocache_usd, 0.03, 1e-12);

    /* All lines at once: 1,500 uncached, 2,385 5m writes, 700 1h writes,
     * 12,000 reads, 431 output. */
    t = tokens(1500, 2385, 700, 12000, 431, 0);
    mdl_cost_lines(&p, &t, &c);
    ck_assert_double_eq_tol(c.input_usd, 1500 * 3.0 / 1e6, 1e-12);
    ck_assert_double_eq_tol(c.cache_write_usd, (2385 * 3.75 + 700 * 6.0) / 1e6, 1e-12);
    ck_assert_double_eq_tol(c.cache_read_usd, 12000 * 0.30 / 1e6, 1e-12);
    ck_assert_double_eq_tol(c.output_usd, 431 * 15.0 / 1e6, 1e-12);
    ck_assert_double_eq_tol(mdl_cost_total(&c),
                            (1500 * 3.0 + 2385 * 3.75 + 700 * 6.0 + 12000 * 0.30 + 431 * 15.0) /
                                1e6,
                            1e-12);
    ck_assert_double_eq_tol(c.nocache_usd, ((1500 + 2385 + 700 + 12000) * 3.0 + 431 * 15.0) / 1e6,
                            1e-12);
}
END_TEST

START_TEST(test_batch_halves_everything)
{
    struct mdl_price p = sonnet();
    struct mdl_cost_tokens t = tokens(1500, 2385, 700, 12000, 431, 0);
    struct mdl_cost_lines full, half;
    mdl_cost_lines(&p, &t, &full);
    t.batch = 1;
    mdl_cost_lines(&p, &t, &half);
    ck_assert_double_eq_tol(half.input_usd, full.input_usd / 2, 1e-15);
    ck_assert_double_eq_tol(half.cache_write_usd, full.cache_write_usd / 2, 1e-15);
    ck_assert_double_eq_tol(half.cache_read_usd, full.cache_read_usd / 2, 1e-15);
    ck_assert_double_eq_tol(half.output_usd, full.output_usd / 2, 1e-15);
    ck_assert_double_eq_tol(half.nocache_usd, full.nocache_usd / 2, 1e-15);
    ck_assert_double_eq_tol(mdl_cost_total(&half), mdl_cost_total(&full) / 2, 1e-15);

    /* The $0.0135 request through the Batch API. */
    t = tokens(2000, 0, 0, 0, 500, 1);
    mdl_cost_lines(&p, &t, &half);
    ck_assert_double_eq_tol(mdl_cost_total(&half), 0.00675, 1e-12);
}
END_TEST

START_TEST(test_nocache_counterfactual)
{
    /* Whatever the split between uncached, written and read tokens, the
     * counterfactual bills all of them at the input price. */
    struct mdl_price p = sonnet();
    const double splits[][4] = {
        {9000, 0, 0, 0}, {0, 9000, 0, 0}, {0, 0, 9000, 0}, {0, 0, 0, 9000}, {1234, 2345, 3456, 1965},
    };
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        struct mdl_cost_tokens t =
            tokens(splits[i][0], splits[i][1], splits[i][2], splits[i][3], 250, 0);
        struct mdl_cost_lines c;
        mdl_cost_lines(&p, &t, &c);
        ck_assert_double_eq_tol(c.nocache_usd, (9000 * 3.0 + 250 * 15.0) / 1e6, 1e-12);
    }
}
END_TEST

START_TEST(test_lesson_hit_rate)
{
    /* design.md section 1: with no write premium and hit rate h = 0.9, the
     * cached portion costs (1 - h) + h x 0.1 = 0.19 of its uncached price.
     * 1,000 requests share a 10,000-token prefix: 100 miss (written at
     * x1.0), 900 read at x0.1. */
    struct mdl_price p = sonnet();
    p.cache_write_5m_mult = 1.0;
    double billed = 0.0, nocache = 0.0;
    for (int i = 0; i < 1000; i++) {
        struct mdl_cost_tokens t =
            i % 10 == 0 ? tokens(0, 10000, 0, 0, 0, 0) : tokens(0, 0, 0, 10000, 0, 0);
        struct mdl_cost_lines c;
        mdl_cost_lines(&p, &t, &c);
        billed += mdl_cost_total(&c);
        nocache += c.nocache_usd;
    }
    double ratio = billed / nocache;
    /* To 4 significant digits: |ratio - 0.19| < 0.5e-4. */
    ck_assert_double_eq_tol(ratio, 0.19, 0.5e-4);
    ck_assert_double_eq_tol(nocache, 1000 * 10000 * 3.0 / 1e6, 1e-9);
}
END_TEST

static Suite *cost_suite(void)
{
    Suite *s = suite_create("cost");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plain_request);
    tcase_add_test(tc, test_long_context_tier);
    tcase_add_test(tc, test_cache_multipliers);
    tcase_add_test(tc, test_batch_halves_everything);
    tcase_add_test(tc, test_nocache_counterfactual);
    tcase_add_test(tc, test_lesson_hit_rate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(cost_suite());
}
