/* The Mooncake trace reader (scn_trace_read_mooncake): the two FAST'25
 * traces shipped in scenarios/traces/mooncake-fast25/, a small hand-made file
 * exercising sorting and the JSON shapes allowed, and bad inputs, each with
 * its exact located message. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "testutil.h"

#define TRACES "../scenarios/traces/mooncake-fast25/"

static void trace_free(struct sim_trace *t)
{
    free(t->t_s);
    free(t->input_tokens);
    free(t->output_tokens);
    free(t->hash_off);
    free(t->hash_ids);
    memset(t, 0, sizeof *t);
}

static void read_ok(struct sim_trace *t, const char *path)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_trace_read_mooncake(t, path, &err);
    char buf[1200];
    llmsim_error_format(&err, buf, sizeof buf);
    ck_assert_msg(rc == 0, "%s: rc %d: %s", path, rc, buf);
}

/* Invariants every successfully read trace satisfies. */
static void check_invariants(const struct sim_trace *t)
{
    ck_assert_uint_eq(t->block_tokens, 512);
    ck_assert_ptr_nonnull(t->hash_off);
    ck_assert_ptr_nonnull(t->hash_ids);
    ck_assert_double_eq(t->t_s[0], 0.0);
    ck_assert(t->hash_off[0] == 0);
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            ck_assert(t->t_s[i] >= t->t_s[i - 1]);
        uint64_t blocks = ((uint64_t)t->input_tokens[i] + 511) / 512;
        ck_assert_msg(t->hash_off[i + 1] - t->hash_off[i] == blocks, "row %zu: %llu blocks for %u tokens", i,
                      (unsigned long long)(t->hash_off[i + 1] - t->hash_off[i]), t->input_tokens[i]);
    }
}

static void check_ids(const struct sim_trace *t, size_t row, uint32_t first, size_t count, int consecutive)
{
    ck_assert(t->hash_off[row + 1] - t->hash_off[row] == count);
    const uint32_t *ids = t->hash_ids + t->hash_off[row];
    ck_assert_uint_eq(ids[0], first);
    for (size_t k = 1; consecutive && k < count; k++)
        ck_assert_uint_eq(ids[k], first + k);
}

START_TEST(test_conversation)
{
    struct sim_trace t;
    read_ok(&t, TRACES "conversation_trace.jsonl");
    ck_assert_uint_eq(t.n, 12031);
    check_invariants(&t);
    /* {"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0, 1, ..., 13]} */
    ck_assert_uint_eq(t.input_tokens[0], 6758);
    ck_assert_uint_eq(t.output_tokens[0], 500);
    check_ids(&t, 0, 0, 14, 1);
    /* {"timestamp": 0, "input_length": 7322, "output_length": 490, "hash_ids": [0, 14, 15, ..., 27]} */
    ck_assert_double_eq(t.t_s[1], 0.0);
    ck_assert_uint_eq(t.input_tokens[1], 7322);
    ck_assert_uint_eq(t.output_tokens[1], 490);
    ck_assert(t.hash_off[2] - t.hash_off[1] == 15);
    ck_assert_uint_eq(t.hash_ids[t.hash_off[1]], 0);
    ck_assert_uint_eq(t.hash_ids[t.hash_off[1] + 1], 14);
    ck_assert_uint_eq(t.hash_ids[t.hash_off[2] - 1], 27);
    /* Row 11 is the first at 3000 ms; the last row is at 3,536,999 ms. */
    ck_assert_double_eq(t.t_s[9], 0.0);
    ck_assert_double_eq(t.t_s[10], 3.0);
    ck_assert_double_eq_tol(t.t_s[t.n - 1], 3536.999, 1e-9);
    /* Every request starts with the same block (id 0). */
    uint64_t sum_in = 0;
    for (size_t i = 0; i < t.n; i++) {
        ck_assert_uint_eq(t.hash_ids[t.hash_off[i]], 0);
        sum_in += t.input_tokens[i];
    }
    ck_assert(sum_in == 144793823u);
    ck_assert(t.hash_off[t.n] == 288500u);
    trace_free(&t);
}
END_TEST

START_TEST(test_synthetic)
{
    struct sim_trace t;
    read_ok(&t, TRACES "synthetic_trace.jsonl");
    ck_assert_uint_eq(t.n, 3993);
    check_invariants(&t);
    /* {"timestamp": 0, "input_length": 40160, "output_length": 6, "hash_ids": [0, ..., 78]} */
    ck_assert_uint_eq(t.input_tokens[0], 40160);
    ck_assert_uint_eq(t.output_tokens[0], 6);
    check_ids(&t, 0, 0, 79, 1);
    /* {"timestamp": 0, "input_length": 36640, "output_length": 4, "hash_ids": [79, ..., 150]} */
    ck_assert_uint_eq(t.input_tokens[1], 36640);
    ck_assert_uint_eq(t.output_tokens[1], 4);
    check_ids(&t, 1, 79, 72, 1);
    ck_assert_double_eq_tol(t.t_s[2], 0.040, 1e-12);
    ck_assert_double_eq_tol(t.t_s[t.n - 1], 1022.025, 1e-9);
    ck_assert(t.hash_off[t.n] == 121877u);
    trace_free(&t);
}
END_TEST

/* Unsorted and equal timestamps (stable sort), keys in any order, blank lines,
 * CRLF, whitespace around tokens, fractional milliseconds, input 0 with no
 * blocks, output 0 kept, the largest id. */
START_TEST(test_small)
{
    struct sim_trace t;
    read_ok(&t, "data/mooncake_small.jsonl");
    ck_assert_uint_eq(t.n, 4);
    check_invariants(&t);
    /* sorted: 1000 ms (line 5), 1000.5 ms (line 3), 2500 ms (line 1), 2500 ms (line 4) */
    ck_assert_double_eq(t.t_s[0], 0.0);
    ck_assert_double_eq_tol(t.t_s[1], 0.0005, 1e-15);
    ck_assert_double_eq(t.t_s[2], 1.5);
    ck_assert_double_eq(t.t_s[3], 1.5);
    const uint32_t in[] = {1, 1024, 1100, 0}, out[] = {9, 7, 0, 3};
    const uint64_t off[] = {0, 1, 3, 6, 6};
    const uint32_t ids[] = {4294967295u, 1, 2, 1, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(t.input_tokens[i], in[i]);
        ck_assert_uint_eq(t.output_tokens[i], out[i]);
    }
    for (size_t i = 0; i < 5; i++)
        ck_assert(t.hash_off[i] == off[i]);
    for (size_t i = 0; i < 6; i++)
        ck_assert_uint_eq(t.hash_ids[i], ids[i]);
    trace_free(&t);
}
END_TEST

struct bad_case {
    const char *path;
    int code;
    const char *expected; /* llmsim_error_format output */
};

static const struct bad_case bad_cases[] = {
    {"data/mooncake_bad_syntax.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_syntax.jsonl:2:75: expected ',' or ']' in hash_ids, found '1'"},
    {"data/mooncake_bad_count.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_count.jsonl:3:73: hash_ids has 2 blocks but input_length 1025 needs ceil(1025 / 512) = 3"},
    {"data/mooncake_bad_key.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_key.jsonl:2:2: unknown key \"timestmap\" (did you mean \"timestamp\"?); a mooncake row has "
     "exactly timestamp, input_length, output_length and hash_ids"},
    {"data/mooncake_bad_negative.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_negative.jsonl:3:57: output_length must not be negative"},
    {"data/mooncake_bad_fraction.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_fraction.jsonl:1:34: input_length must be a whole number (no fraction or exponent)"},
    {"data/mooncake_bad_hash_range.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_hash_range.jsonl:1:72: hash_ids element is out of range (at most 4294967295)"},
    {"data/mooncake_bad_missing.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_missing.jsonl:1:57: missing key \"hash_ids\""},
    {"data/mooncake_bad_duplicate.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_duplicate.jsonl:1:76: duplicate key \"timestamp\""},
    {"data/mooncake_bad_trailing.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_trailing.jsonl:1:76: unexpected '{' after the object (one object per line)"},
    {"data/mooncake_bad_time.jsonl", LLMSIM_ESCENARIO,
     "data/mooncake_bad_time.jsonl:1:15: timestamp must not be negative (milliseconds from the trace start)"},
    {"data/mooncake_bad_empty.jsonl", LLMSIM_ESCENARIO, "data/mooncake_bad_empty.jsonl:2:1: trace has no requests"},
};

START_TEST(test_bad)
{
    const struct bad_case *c = &bad_cases[_i];
    struct sim_trace t;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_trace_read_mooncake(&t, c->path, &err);
    char buf[1200];
    llmsim_error_format(&err, buf, sizeof buf);
    ck_assert_msg(rc == c->code, "%s: rc %d, expected %d (%s)", c->path, rc, c->code, buf);
    ck_assert_str_eq(buf, c->expected);
    /* Nothing is left allocated on failure. */
    ck_assert_uint_eq(t.n, 0);
    ck_assert_ptr_null(t.t_s);
    ck_assert_ptr_null(t.hash_off);
    ck_assert_ptr_null(t.hash_ids);
}
END_TEST

/* Errors built in memory: shapes that are awkward to keep as fixtures. */
START_TEST(test_bad_inline)
{
    static const struct {
        const char *text;
        const char *expected_tail; /* after "<path>:" */
    } cases[] = {
        {"{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1],}\n",
         "1:73: expected '\"' to start a key, found '}'"},
        {"[1, 2]\n", "1:1: expected '{' (one JSON object per line), found '['"},
        {"{\"timestamp\": 0 \"input_length\": 1}\n", "1:17: expected ',' or '}' after a value, found '\"'"},
        {"{\"timestamp\": \"0\", \"input_length\": 1}\n", "1:15: expected a number for timestamp, found '\"'"},
        {"{\"timestamp\": 01, \"input_length\": 1}\n",
         "1:15: leading zeros are not allowed in JSON numbers (timestamp)"},
        {"{\"timestamp\": 1, \"input_length\": 10000001}\n", "1:34: input_length is out of range (at most 10000000)"},
        {"{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1]\n",
         "1:72: expected ',' or '}' after a value, found end of line"},
        {"{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1, ]}\n",
         "1:73: expected a number for hash_ids element, found ']'"},
        {"{\"time\\u0073tamp\": 1}\n", "1:7: escape sequences are not allowed in keys"},
        {"{\"timestamp\": 1e999, \"input_length\": 1}\n", "1:15: timestamp is out of range"},
        {"{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [1]}\n{\"colour\": 1}\n",
         "2:2: unknown key \"colour\"; a mooncake row has exactly timestamp, input_length, output_length and "
         "hash_ids"},
    };
    char *dir = tu_tmpdir();
    ck_assert_ptr_nonnull(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/t.jsonl", dir);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(cases[k].text, f);
        fclose(f);
        struct sim_trace t;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        int rc = scn_trace_read_mooncake(&t, path, &err);
        char buf[1200], want[1200];
        llmsim_error_format(&err, buf, sizeof buf);
        snprintf(want, sizeof want, "%s:%s", path, cases[k].expected_tail);
        ck_assert_msg(rc == LLMSIM_ESCENARIO, "case %zu: rc %d (%s)", k, rc, buf);
        ck_assert_str_eq(buf, want);
        ck_assert_ptr_null(t.t_s);
    }
    remove(path);
    remove(dir);
    free(dir);
}
END_TEST

START_TEST(test_missing_file)
{
    struct sim_trace t;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_trace_read_mooncake(&t, "data/no_such_trace.jsonl", &err), LLMSIM_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "cannot open trace"));
    ck_assert_uint_eq(t.n, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_mooncake");
    TCase *tc = tcase_create("reader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_conversation);
    tcase_add_test(tc, test_synthetic);
    tcase_add_test(tc, test_small);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_bad_inline);
    tcase_add_test(tc, test_missing_file);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
