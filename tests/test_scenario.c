/* The scenario loader: values, defaults, overrides, the resolved form, the
 * price catalog and the Azure trace reader. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llmsim/scenario.h"
#include "testutil.h"

static void load_ok(struct sim_scenario *sc, const char *path, const struct scn_override *o, size_t n)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_file(sc, path, o, n, &err);
    char msg[2048];
    llmsim_error_format(&err, msg, sizeof msg);
    ck_assert_msg(rc == 0, "%s: %s", path, msg);
}

static int load_err(const char *path, const struct scn_override *o, size_t n, char *msg, size_t size)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_file(&sc, path, o, n, &err);
    llmsim_error_format(&err, msg, size);
    return rc;
}

START_TEST(test_minimal_values)
{
    struct sim_scenario sc;
    load_ok(&sc, "data/minimal.yaml", NULL, 0);
    ck_assert_str_eq(sc.name, "base");
    ck_assert_uint_eq(sc.seed, 7);
    ck_assert_double_eq(sc.duration_s, 600);
    ck_assert_int_eq(sc.replications, 1);
    ck_assert_int_eq(sc.workload.process, SIM_ARRIVAL_POISSON);
    ck_assert_double_eq(sc.workload.rate_per_s, 2.5);
    ck_assert_uint_eq(sc.workload.n_classes, 1);
    const struct sim_class_cfg *c = &sc.workload.classes[0];
    ck_assert_double_eq(c->share, 1.0);
    ck_assert_uint_eq(c->n_segments, 2);
    ck_assert_int_eq(c->segments[0].stable, 1);
    ck_assert_double_eq(c->segments[0].tokens.mean, 1200);
    ck_assert_int_eq(c->segments[1].tokens.kind, MDL_DIST_LOGNORMAL);
    ck_assert_double_eq_tol(c->segments[1].tokens.sd, 40.0, 1e-12);
    ck_assert_double_eq(c->output_tokens.max, 2048);
    ck_assert_uint_eq(sc.n_deployments, 1);
    const struct sim_deployment_cfg *d = &sc.deployments[0];
    ck_assert_int_eq(d->kind, SIM_DEPLOY_API);
    ck_assert_double_eq(d->price.input_per_mtok, 3.0);
    ck_assert_double_eq(d->price.output_per_mtok, 15.0);
    ck_assert_double_eq(d->price.min_cache_tokens, 2048);
    ck_assert_int_eq(sc.routing.policy, SIM_ROUTE_FIXED);
    ck_assert_int_eq(sc.routing.to, 0);
    ck_assert_str_eq(sc.output.path, "results/base.h5");
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_overrides)
{
    struct scn_override o[] = {
        {"workload.arrivals.rate_per_s", "7.25"},
        {"deployments.sonnet.price.output_per_mtok", "12.5"},
        {"workload.classes.0.output_tokens", "{dist: gamma, mean: 100, cv: 0.5}"},
        {"workload.classes.chat.prompt.system.tokens", "1500"},
        {"seed", "123456789012345"},
        {"output.path", "/tmp/x.h5"},
    };
    struct sim_scenario sc;
    load_ok(&sc, "data/minimal.yaml", o, sizeof o / sizeof o[0]);
    ck_assert_double_eq(sc.workload.rate_per_s, 7.25);
    ck_assert_double_eq(sc.deployments[0].price.output_per_mtok, 12.5);
    ck_assert_double_eq(sc.deployments[0].price.input_per_mtok, 3.0);
    ck_assert_int_eq(sc.workload.classes[0].output_tokens.kind, MDL_DIST_GAMMA);
    ck_assert_double_eq(sc.workload.classes[0].segments[0].tokens.mean, 1500);
    ck_assert_uint_eq(sc.seed, 123456789012345ULL);
    ck_assert_str_eq(sc.output.path, "/tmp/x.h5");
    sim_scenario_free(&sc);
}
END_TEST

START_TEST(test_override_errors)
{
    char msg[2048];
    struct scn_override bad_value[] = {{"workload.arrivals.rate_per_s", "-1"}};
    ck_assert_int_eq(load_err("data/minimal.yaml", bad_value, 1, msg, sizeof msg), LLMSIM_ESCENARIO);
    ck_assert_str_eq(msg, "--set workload.arrivals.rate_per_s:1:1: workload.arrivals.rate_per_s: must be > 0, got -1");
    struct scn_override bad_key[] = {{"workload.arrivals.rate", "3"}};
    ck_assert_int_eq(load_err("data/minimal.yaml", bad_key, 1, msg, sizeof msg), LLMSIM_ESCENARIO);
    ck_assert_str_eq(msg, "--set workload.arrivals.rate:1:1: workload.arrivals: unknown key 'rate' (did you mean 'rate_per_s'?)");
    struct scn_override bad_elem[] = {{"deployments.haiku.replicas", "3"}};
    ck_assert_int_eq(load_err("data/minimal.yaml", bad_elem, 1, msg, sizeof msg), LLMSIM_ESCENARIO);
    ck_assert_ptr_nonnull(strstr(msg, "no element named 'haiku'"));
    struct scn_override bad_yaml[] = {{"workload.arrivals", "{process: poisson"}};
    ck_assert_int_eq(load_err("data/minimal.yaml", bad_yaml, 1, msg, sizeof msg), LLMSIM_ESCENARIO);
    ck_assert_ptr_nonnull(strstr(msg, "--set workload.arrivals:"));
    ck_assert_ptr_nonnull(strstr(msg, "YAML syntax error"));
    /* Empty path components are refused, not skipped (issue 11 item 9). */
    const char *empty_comp[] = {"seed.", ".seed", "workload..arrivals.rate_per_s"};
    for (size_t i = 0; i < 3; i++) {
        struct scn_override o = {empty_comp[i], "1"};
        ck_assert_int_eq(load_err("data/minimal.yaml", &o, 1, msg, sizeof msg), LLMSIM_ESCENARIO);
        ck_assert_msg(strstr(msg, "has an empty component") != NULL, "%s: %s", empty_comp[i], msg);
    }
    /* An override of an empty scenario names the file. */
    struct scn_override seed1 = {"seed", "1"};
    struct sim_scenario sc;
    struct llmsim_error e2;
    llmsim_error_clear(&e2);
    ck_assert_int_eq(scn_load_string(&sc, "", 0, "empty.yaml", &seed1, 1, &e2), LLMSIM_ESCENARIO);
    llmsim_error_format(&e2, msg, sizeof msg);
    ck_assert_str_eq(msg, "empty.yaml:1:1: the scenario is empty, so --set seed cannot override a key of it");

    char arg[] = "novalue";
    struct scn_override one;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_parse_override(arg, &one, &err), LLMSIM_EINVAL);
    char arg2[] = "a.b=c=d";
    ck_assert_int_eq(scn_parse_override(arg2, &one, &err), 0);
    ck_assert_str_eq(one.key, "a.b");
    ck_assert_str_eq(one.value, "c=d");
}
END_TEST

/* Loads a (text loaded as is when path is NULL), then checks that its
 * resolved form loads again and resolves to itself. */
static void round_trip(const char *path, const struct scn_override *o, size_t n)
{
    struct sim_scenario a, b;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (path)
        load_ok(&a, path, o, n);
    else
        ck_assert_int_eq(scn_load_string(&a, scn_default_scenario_yaml, strlen(scn_default_scenario_yaml),
                                         SCN_DEFAULT_NAME, NULL, 0, &err), 0);
    char *ya = scn_resolved_yaml(&a);
    ck_assert_ptr_nonnull(ya);
    int rc = scn_load_string(&b, ya, strlen(ya), "resolved.yaml", NULL, 0, &err);
    char msg[2048];
    llmsim_error_format(&err, msg, sizeof msg);
    ck_assert_msg(rc == 0, "%s: %s\n%s", path ? path : "default", msg, ya);
    char *yb = scn_resolved_yaml(&b);
    ck_assert_str_eq(ya, yb);
    /* What the text may leave implicit must come back too: the engine and
     * the rules it sets. */
    ck_assert_uint_eq(a.n_deployments, b.n_deployments);
    for (size_t i = 0; i < a.n_deployments; i++) {
        const struct sim_deployment_cfg *da = &a.deployments[i], *db = &b.deployments[i];
        ck_assert_msg(da->engine == db->engine, "%s: deployment %s: engine %s reloads as %s\n%s",
                      path ? path : "default", da->name, mdl_engine_name(da->engine),
                      mdl_engine_name(db->engine), ya);
        ck_assert_int_eq(da->admit_whole_prompt, db->admit_whole_prompt);
        ck_assert_double_eq(da->kv_watermark, db->kv_watermark);
        ck_assert_int_eq(da->preempt_keeps_cache, db->preempt_keeps_cache);
        ck_assert_int_eq(da->chunked_prefill, db->chunked_prefill);
        ck_assert_int_eq(da->prefix_cache, db->prefix_cache);
        ck_assert_int_eq(da->max_batch, db->max_batch);
        ck_assert_double_eq(da->gpu_memory_utilization, db->gpu_memory_utilization);
        ck_assert_double_eq(da->kv_capacity_tokens, db->kv_capacity_tokens);
    }
    free(ya);
    free(yb);
    sim_scenario_free(&a);
    sim_scenario_free(&b);
}

/* The resolved form loads again and resolves to itself: the default, every
 * example, and every routing policy. */
START_TEST(test_resolved_round_trip)
{
    round_trip("data/minimal.yaml", NULL, 0);
    round_trip(NULL, NULL, 0);
    DIR *dir = opendir("../scenarios/examples");
    ck_assert_ptr_nonnull(dir);
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "../scenarios/examples/%s", e->d_name);
        round_trip(path, NULL, 0);
    }
    closedir(dir);
    const char *routes[] = {
        "{policy: rules, rules: [{when: {class: faq, prompt_tokens_lt: 100, prompt_tokens_ge: 2, prompt_chars_lt: 1000, "
        "prompt_chars_ge: 1, words_lt: 20, words_ge: 1, question_mark: true, segment: question, no_segment: document}, "
        "to: haiku}, {when: {question_mark: false}, to: sonnet}], default: sonnet}",
        "{policy: classifier, strong: sonnet, weak: haiku, confusion: [[0.7, 0.3], [0.1, 0.9]]}",
        "{policy: classifier, by_difficulty: {simple: haiku, moderate: haiku, complex: sonnet}, accuracy: 0.8}",
        "{policy: cascade, tiers: [haiku, sonnet], detect: 0.8, false_alarm: 0.05}",
        "{policy: spillover, tiers: [haiku, sonnet], max_queue: 3}",
        "{policy: cost_aware, quality_target: 0.9}",
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        struct scn_override o[] = {
            {"routing", routes[i]},
            {"quality.haiku", "{simple: 0.9, moderate: 0.8, complex: 0.5, classes: {faq: 0.95}}"},
            {"output_control", "{max_tokens: 500, truncation_penalty: 0.2, verbosity: 0.8, verbosity_penalty: 0.1}"},
            {"deployments.haiku.rate_limits", "{requests_per_min: 100, on_limit: queue}"},
            {"workload.classes.faq.features", "{words: {dist: uniform, min: 3, max: 30}, question_mark: 0.8}"},
        };
        round_trip("../scenarios/examples/routing-walkthrough.yaml", o, sizeof o / sizeof o[0]);
    }
    /* Every engine on a roofline deployment with its scheduler given. */
    const char *engines[] = {"vllm-v1", "vllm-v0", "sglang"};
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        struct scn_override o[] = {{"deployments.llama8b.engine", engines[i]}};
        round_trip("../scenarios/examples/batching-azure.yaml", o, 1);
    }
}
END_TEST

/* The engines' defaults, which the resolved form spells out (utilisation,
 * batch limits, chunked prefill, prefix cache, host parameters), reload to
 * themselves; and a deployment timed by the linear model, whose engine
 * still rules admission and preemption, keeps its engine. */
START_TEST(test_resolved_round_trip_engine_defaults)
{
    const char *engines[] = {"vllm-v1", "vllm-v0", "sglang"};
    for (size_t i = 0; i < sizeof engines / sizeof engines[0]; i++) {
        struct scn_override o[] = {{"deployments.llama8b.engine", engines[i]},
                                   {"deployments.llama8b.scheduler", "{policy: continuous}"}};
        round_trip("../scenarios/examples/batching-azure.yaml", o, 2);
        struct scn_override ol[] = {
            {"deployments.llama8b.engine", engines[i]},
            {"deployments.llama8b.scheduler", "{policy: continuous, max_batched_tokens: 4096}"}};
        round_trip("../scenarios/examples/self-hosted-linear.yaml", ol, 2);
    }
}
END_TEST

/* The engine's defaults reach the deployment and its resolved form, and a
 * setting the scenario gives wins over them. */
START_TEST(test_engine_defaults_resolved)
{
    static const struct {
        const char *engine;
        enum mdl_engine e;
        double util, batched_tokens;
        int max_batch, chunked, prefix_cache, whole_prompt;
        double watermark;
    } want[] = {
        {"vllm-v1", MDL_ENGINE_VLLM_V1, 0.92, 8192, 1024, 1, 1, 0, 0.0},
        {"vllm-v0", MDL_ENGINE_VLLM_V0, 0.90, INFINITY, 256, 0, 0, 1, 0.01},
        {"sglang", MDL_ENGINE_SGLANG, 0.88, 8192, 256, 1, 1, 1, 0.0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        /* batching-azure on one H100 (79.19 GiB: the large defaults of V1),
         * its scheduler reduced to the policy. */
        struct scn_override o[] = {{"deployments.llama8b.engine", want[i].engine},
                                   {"deployments.llama8b.scheduler", "{policy: continuous}"}};
        struct sim_scenario sc;
        load_ok(&sc, "../scenarios/examples/batching-azure.yaml", o, 2);
        const struct sim_deployment_cfg *d = &sc.deployments[0];
        ck_assert_int_eq(d->engine, want[i].e);
        ck_assert_int_eq(d->roofline.engine, want[i].e);
        ck_assert_double_eq(d->gpu_memory_utilization, want[i].util);
        ck_assert_double_eq(d->max_batched_tokens, want[i].batched_tokens);
        ck_assert_int_eq(d->max_batch, want[i].max_batch);
        ck_assert_int_eq(d->chunked_prefill, want[i].chunked);
        ck_assert_int_eq(d->prefix_cache, want[i].prefix_cache);
        ck_assert_int_eq(d->admit_whole_prompt, want[i].whole_prompt);
        ck_assert_double_eq(d->kv_watermark, want[i].watermark);
        const struct mdl_engine_info *ei = mdl_engine_info(want[i].e);
        ck_assert_double_eq(d->roofline.step_overhead_s, ei->host_step_s);
        ck_assert_double_eq(d->roofline.host_seq_s, ei->host_seq_s);
        /* The resolved form names the engine, the prefix cache either way and
         * every roofline parameter, with the KV budget as a comment. */
        char *y = scn_resolved_yaml(&sc);
        char line[64];
        snprintf(line, sizeof line, "    engine: %s\n", want[i].engine);
        ck_assert_msg(strstr(y, line) != NULL, "%s", y);
        ck_assert_ptr_nonnull(strstr(y, want[i].prefix_cache ? "prefix_cache: {enabled: true}"
                                                             : "prefix_cache: {enabled: false}"));
        for (int k = 0; k < MDL_N_PARAMS; k++) {
            char key[64];
            snprintf(key, sizeof key, ", %s: ", mdl_roofline_params[k].name);
            ck_assert_msg(strstr(y, key) != NULL, "%s missing in\n%s", key, y);
        }
        snprintf(line, sizeof line, "# KV budget per GPU (%s): 79.19 GiB x %.2f", want[i].engine,
                 want[i].util);
        ck_assert_msg(strstr(y, line) != NULL, "'%s' not in\n%s", line, y);
        free(y);
        sim_scenario_free(&sc);
    }
    /* A setting given in the scenario wins over the engine's default. */
    struct scn_override o[] = {
        {"deployments.llama8b.engine", "vllm-v0"},
        {"deployments.llama8b.scheduler", "{policy: continuous, chunked_prefill: true}"},
        {"deployments.llama8b.prefix_cache", "{enabled: true}"},
        {"deployments.llama8b.gpu_memory_utilization", "0.85"}};
    struct sim_scenario sc;
    load_ok(&sc, "../scenarios/examples/batching-azure.yaml", o, 4);
    ck_assert_int_eq(sc.deployments[0].chunked_prefill, 1);
    /* V0's token budget with chunked prefill. */
    ck_assert_double_eq(sc.deployments[0].max_batched_tokens, 2048);
    ck_assert_int_eq(sc.deployments[0].prefix_cache, 1);
    ck_assert_double_eq(sc.deployments[0].gpu_memory_utilization, 0.85);
    sim_scenario_free(&sc);
}
END_TEST

/* engine: is checked like every other name. */
START_TEST(test_engine_errors)
{
    char msg[2048];
    struct scn_override typo[] = {{"deployments.llama8b.engine", "vllm-v2"}};
    ck_assert_int_eq(
        load_err("../scenarios/examples/batching-azure.yaml", typo, 1, msg, sizeof msg),
        LLMSIM_ESCENARIO);
    ck_assert_str_eq(msg, "--set deployments.llama8b.engine:1:1: deployments.llama8b.engine: "
                          "unknown engine 'vllm-v2' "
                          "(did you mean 'vllm-v1'?)");
    struct scn_override far[] = {{"deployments.llama8b.engine", "tensorrt"}};
    ck_assert_int_eq(load_err("../scenarios/examples/batching-azure.yaml", far, 1, msg, sizeof msg),
                     LLMSIM_ESCENARIO);
    ck_assert_msg(strstr(msg, "unknown engine 'tensorrt' (expected vllm-v1, vllm-v0 or sglang)") !=
                      NULL,
                  "%s", msg);
    /* An API deployment has no engine. */
    struct scn_override api[] = {{"deployments.sonnet.engine", "vllm-v1"}};
    ck_assert_int_eq(load_err("data/minimal.yaml", api, 1, msg, sizeof msg), LLMSIM_ESCENARIO);
    ck_assert_str_eq(
        msg, "--set deployments.sonnet.engine:1:1: deployments.sonnet.engine: 'engine' applies to "
             "self-hosted deployments only");
}
END_TEST

/* A joint table without shares takes a published preset (RouteLLM MMLU by
 * default), with exactly the catalogued shares. */
START_TEST(test_joint_presets)
{
    const char *presets[] = {NULL, "routellm-mmlu", "routellm-gsm8k"};
    const double both[] = {0.628, 0.628, 0.5663}, only_strong[] = {0.1778, 0.1778, 0.2904};
    for (int i = 0; i < 3; i++) {
        char joint[160];
        snprintf(joint, sizeof joint, "{joint: {strong: sonnet, weak: haiku%s%s}}", presets[i] ? ", preset: " : "",
                 presets[i] ? presets[i] : "");
        struct scn_override o[] = {{"quality", joint}};
        struct sim_scenario sc;
        load_ok(&sc, "../scenarios/examples/routing-walkthrough.yaml", o, 1);
        ck_assert(sc.joint.enabled);
        ck_assert_double_eq(sc.joint.both, both[i]);
        ck_assert_double_eq(sc.joint.only_strong, only_strong[i]);
        ck_assert_double_eq_tol(sc.joint.both + sc.joint.only_strong + sc.joint.only_weak + sc.joint.neither, 1.0, 1e-12);
        sim_scenario_free(&sc);
    }
}
END_TEST

START_TEST(test_default_scenario)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_load_string(&sc, scn_default_scenario_yaml, strlen(scn_default_scenario_yaml),
                                     SCN_DEFAULT_NAME, NULL, 0, &err), 0);
    ck_assert_str_eq(sc.deployments[0].model, "claude-sonnet-4-6");
    ck_assert_uint_eq(sc.workload.n_classes, 2);
    ck_assert_double_eq_tol(sc.workload.classes[0].share + sc.workload.classes[1].share, 1.0, 1e-15);
    sim_scenario_free(&sc);
}
END_TEST

/* Every line of the API price tables of the reference is in the catalog. */
START_TEST(test_price_catalog)
{
    const struct mdl_price *p;
    size_t n;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_price_catalog(&p, &n, &err), 0);
    static const struct {
        const char *id;
        double in, out, read_price, min_cache;
    } want[] = {
        {"claude-opus-4-6", 5, 25, 0.5, 4096},   {"claude-opus-4-5", 5, 25, 0.5, 4096},
        {"claude-opus-4-1", 15, 75, 1.5, 1024},  {"claude-opus-4", 15, 75, 1.5, 1024},
        {"claude-sonnet-4-6", 3, 15, 0.3, 2048}, {"claude-sonnet-4-5", 3, 15, 0.3, 1024},
        {"claude-sonnet-4", 3, 15, 0.3, 1024},   {"claude-sonnet-3-7", 3, 15, 0.3, 1024},
        {"claude-haiku-4-5", 1, 5, 0.1, 4096},   {"claude-haiku-3-5", 0.8, 4, 0.08, 2048},
        {"claude-haiku-3", 0.25, 1.25, 0.03, 2048},
        {"gpt-5", 1.25, 10, 0.125, 1024},        {"gpt-5-mini", 0.25, 2, 0.025, 1024},
        {"gpt-5-nano", 0.05, 0.4, 0.005, 1024},  {"gpt-4.1", 2, 8, 0.5, 1024},
        {"gpt-4.1-mini", 0.4, 1.6, 0.1, 1024},   {"gpt-4o", 2.5, 10, 1.25, 1024},
        {"gpt-4o-mini", 0.15, 0.6, 0.075, 1024}, {"gemini-2.5-pro", 1.25, 10, 0.125, -1},
        {"gemini-2.5-flash", 0.3, 2.5, 0.075, -1}, {"gemini-2.5-flash-lite", 0.1, 0.4, 0.01, -1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct mdl_price *e = scn_price_lookup(want[i].id, NULL);
        ck_assert_msg(e != NULL, "%s missing", want[i].id);
        ck_assert_double_eq_tol(e->input_per_mtok, want[i].in, 1e-12);
        ck_assert_double_eq_tol(e->output_per_mtok, want[i].out, 1e-12);
        ck_assert_double_eq_tol(e->input_per_mtok * e->cache_read_mult, want[i].read_price, 1e-12);
        if (want[i].min_cache >= 0)
            ck_assert_double_eq(e->min_cache_tokens, want[i].min_cache);
        ck_assert_double_eq(e->batch_discount, 0.5);
        ck_assert_msg(e->source[0] && e->date[0], "%s lacks source or date", e->id);
    }
    const char *near = NULL;
    ck_assert_ptr_null(scn_price_lookup("claude-sonet-4-6", &near));
    ck_assert_str_eq(near, "claude-sonnet-4-6");
}
END_TEST

START_TEST(test_azure_trace)
{
    struct sim_trace t;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_trace_read_azure(&t, "../scenarios/traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv", &err), 0);
    ck_assert_uint_eq(t.n, 19366);
    ck_assert_double_eq(t.t_s[0], 0.0);
    /* First two rows: 18:15:46.6805900 (374, 44) and 18:15:50.9951690 (396, 109). */
    ck_assert_uint_eq(t.input_tokens[0], 374);
    ck_assert_uint_eq(t.output_tokens[0], 44);
    ck_assert_double_eq_tol(t.t_s[1], 4.314579, 1e-5);
    double sum_in = 0;
    for (size_t i = 0; i < t.n; i++) {
        sum_in += t.input_tokens[i];
        if (i)
            ck_assert(t.t_s[i] >= t.t_s[i - 1]);
    }
    /* Published facts of this file: ~5.53 req/s over ~3,502 s, mean input ~1,155 tokens. */
    ck_assert_double_eq_tol(t.t_s[t.n - 1], 3502, 1.0);
    ck_assert_double_eq_tol(sum_in / (double)t.n, 1155, 1.0);
    free(t.t_s);
    free(t.input_tokens);
    free(t.output_tokens);
}
END_TEST

/* Azure timestamps are parsed strictly (issue 11 item 5): each bad field is
 * refused at its file line and column, whatever the order of the rows. */
START_TEST(test_azure_timestamps)
{
    static const struct {
        const char *ts; /* NULL: the NUL-byte case */
        int ok, col;
        const char *msg;
    } cases[] = {
        {"2023-11-16 18:15:nan", 0, 18, "digits only"},
        {"2023-11-16 -1:-5:00", 0, 12, "digits only"},
        {"2023-02-31 00:00:00", 0, 9, "day does not exist"},
        {"2023-02-29 00:00:00", 0, 9, "day does not exist"},
        {"2024-02-29 00:00:01.5", 1, 0, NULL},
        {"2023-11-16 24:00:00", 0, 12, "hour out of range"},
        {"2023-11-16 18:15:06.", 0, 20, "fraction"},
        {"2023-11-16 18:15:06.12x", 0, 23, "digits only"},
        {"9999-12-31 00:00:00", 0, 1, "year out of range"},
        {"2023-11-16", 0, 11, "truncated"},
        {"1e1", 0, 2, "seconds written as digits"},
        {"+6", 0, 1, "seconds written as digits"},
        {" 6", 0, 1, "seconds written as digits"},
        {"0x1p10", 0, 2, "seconds written as digits"},
        {"1e308", 0, 2, "seconds written as digits"},
        {"99999999999", 0, 1, "too large"},
        {"12.5", 1, 0, NULL},
        {NULL, 0, 6, "NUL byte"},
    };
    char *dir = tu_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        /* The bad row is the file's line 3 but sorts before line 2. */
        fputs("TIMESTAMP,ContextTokens,GeneratedTokens\n2090-01-01 00:00:00,10,10\n", f);
        if (cases[i].ts)
            fprintf(f, "%s,10,10\n", cases[i].ts);
        else
            fwrite("2023-\0-01 00:00:00,10,10\n", 1, 25, f);
        fclose(f);
        struct sim_trace t;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        int rc = scn_trace_read_azure(&t, path, &err);
        const char *what = cases[i].ts ? cases[i].ts : "(NUL)";
        if (cases[i].ok) {
            ck_assert_msg(rc == 0, "%s: %s", what, err.msg);
            ck_assert_uint_eq(t.n, 2);
            free(t.t_s);
            free(t.input_tokens);
            free(t.output_tokens);
            continue;
        }
        ck_assert_msg(rc == LLMSIM_ESCENARIO, "%s: accepted (rc %d)", what, rc);
        ck_assert_msg(err.line == 3 && err.col == cases[i].col, "%s: at %d:%d (%s)", what, err.line, err.col,
                      err.msg);
        ck_assert_msg(strstr(err.msg, cases[i].msg) != NULL, "%s: %s", what, err.msg);
    }
    /* A FIFO is refused at once instead of blocking; so is a device. */
    snprintf(path, sizeof path, "%s/fifo.csv", dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    struct sim_trace t;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_trace_read_azure(&t, path, &err), LLMSIM_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a FIFO (named pipe), not a regular file"));
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_trace_read_mooncake(&t, path, &err), LLMSIM_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a FIFO (named pipe), not a regular file"));
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_trace_read_azure(&t, "/dev/zero", &err), LLMSIM_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "is a character device, not a regular file"));
    tu_remove_dir(dir);
}
END_TEST

START_TEST(test_edit_distance)
{
    ck_assert_uint_eq(scn_edit_distance("kitten", "sitting"), 3);
    ck_assert_uint_eq(scn_edit_distance("", "abc"), 3);
    ck_assert_uint_eq(scn_edit_distance("same", "same"), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("loader");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_minimal_values);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_override_errors);
    tcase_add_test(tc, test_resolved_round_trip);
    tcase_add_test(tc, test_resolved_round_trip_engine_defaults);
    tcase_add_test(tc, test_engine_defaults_resolved);
    tcase_add_test(tc, test_engine_errors);
    tcase_add_test(tc, test_joint_presets);
    tcase_add_test(tc, test_default_scenario);
    tcase_add_test(tc, test_price_catalog);
    tcase_add_test(tc, test_azure_trace);
    tcase_add_test(tc, test_azure_timestamps);
    tcase_add_test(tc, test_edit_distance);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
