/* The built-in catalogs: models/catalog/prices.yaml, gpus.yaml and
 * llms.yaml, compiled into the binary, each parsed once (thread-safe,
 * pthread_once) with the same key-table machinery as scenarios.  The GPU and
 * LLM entry readers also serve inline entries of a scenario
 * (`gpu: {name: ...}`, `model: {name: ...}`). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "loader_internal.h"
#include "ynode.h"

#define CATALOG_NAME "models/catalog/prices.yaml"

static struct mdl_price *g_prices; /* parsed once, never freed (process lifetime) */
static size_t g_n_prices;
static struct llmsim_error g_err;
static int g_rc;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static const struct scn_key price_entry_keys[] = {
    {"id", SCN_K_NAME, offsetof(struct mdl_price, id), 0, 0, SCN_KF_REQUIRED, NULL},
    {"provider", SCN_STRBUF(struct mdl_price, provider), SCN_KF_REQUIRED, NULL},
    {"input_per_mtok", SCN_K_DOUBLE, offsetof(struct mdl_price, input_per_mtok), 0, 1e4, SCN_KF_REQUIRED, NULL},
    {"output_per_mtok", SCN_K_DOUBLE, offsetof(struct mdl_price, output_per_mtok), 0, 1e4, SCN_KF_REQUIRED, NULL},
    {"cache_write_5m_mult", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_write_5m_mult), 0, 100, SCN_KF_REQUIRED, NULL},
    {"cache_write_1h_mult", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_write_1h_mult), 0, 100, SCN_KF_REQUIRED, NULL},
    {"cache_read_mult", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_read_mult), 0, 100, SCN_KF_REQUIRED, NULL},
    {"cache_storage_per_mtok_hour", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_storage_per_mtok_hour), 0, 1e4, SCN_KF_REQUIRED, NULL},
    {"min_cache_tokens", SCN_K_DOUBLE, offsetof(struct mdl_price, min_cache_tokens), 0, 1e7, SCN_KF_REQUIRED, NULL},
    {"batch_discount", SCN_K_DOUBLE, offsetof(struct mdl_price, batch_discount), 0, 1, SCN_KF_REQUIRED, NULL},
    /* optional: only models with a long-context tier carry them */
    {"long_context_above_tokens", SCN_K_DOUBLE, offsetof(struct mdl_price, long_context_above_tokens), 0, 1e8, 0, NULL},
    {"long_input_per_mtok", SCN_K_DOUBLE, offsetof(struct mdl_price, long_input_per_mtok), 0, 1e4, 0, NULL},
    {"long_output_per_mtok", SCN_K_DOUBLE, offsetof(struct mdl_price, long_output_per_mtok), 0, 1e4, 0, NULL},
    {"source", SCN_STRBUF(struct mdl_price, source), SCN_KF_REQUIRED, NULL},
    {"date", SCN_STRBUF(struct mdl_price, date), SCN_KF_REQUIRED, NULL},
};

static void parse_catalog(void)
{
    struct yn_node *root = NULL;
    llmsim_error_clear(&g_err);
    g_rc = yn_parse(mdl_catalog_prices_yaml, strlen(mdl_catalog_prices_yaml), CATALOG_NAME, 100000,
                    16, &root, &g_err);
    if (g_rc)
        return;
    struct scn_ctx c = {.err = &g_err, .dir = ""};
    const struct yn_node *list = yn_get(root, "prices");
    if (list == NULL || list->type != YN_SEQ) {
        g_rc = llmsim_error_set(&g_err, LLMSIM_ESCENARIO, CATALOG_NAME, 1, 1, "expected a 'prices' list");
        yn_free(root);
        return;
    }
    g_prices = calloc(list->n ? list->n : 1, sizeof *g_prices);
    if (g_prices == NULL) {
        g_rc = llmsim_error_set(&g_err, LLMSIM_ENOMEM, CATALOG_NAME, 0, 0, "out of memory");
        yn_free(root);
        return;
    }
    for (size_t i = 0; i < list->n && g_rc == 0; i++) {
        size_t m = scn_path_push(&c, "prices");
        scn_path_push_index(&c, i);
        g_rc = scn_process_map(&c, list->vals[i], price_entry_keys,
                               sizeof price_entry_keys / sizeof price_entry_keys[0], &g_prices[i]);
        if (g_rc == 0)
            g_rc = scn_check_long_context(&c, list->vals[i], &g_prices[i]);
        scn_path_pop(&c, m);
        g_n_prices = i + 1;
    }
    yn_free(root);
}

int scn_check_long_context(struct scn_ctx *c, const struct yn_node *v, const struct mdl_price *p)
{
    int any = p->long_context_above_tokens > 0 || p->long_input_per_mtok > 0 || p->long_output_per_mtok > 0;
    if (!any)
        return 0;
    if (!(p->long_context_above_tokens > 0) || !(p->long_input_per_mtok > 0) || !(p->long_output_per_mtok > 0))
        return scn_fail(c, v, "a long-context tier needs long_context_above_tokens, long_input_per_mtok "
                              "and long_output_per_mtok, all above 0 (or none of them)");
    return 0;
}

int scn_price_catalog(const struct mdl_price **entries, size_t *n, struct llmsim_error *err)
{
    pthread_once(&g_once, parse_catalog);
    if (g_rc) {
        if (err)
            *err = g_err;
        return g_rc;
    }
    *entries = g_prices;
    *n = g_n_prices;
    return 0;
}

const struct mdl_price *scn_price_lookup(const char *id, const char **near)
{
    const struct mdl_price *e;
    size_t n;
    if (near)
        *near = NULL;
    if (scn_price_catalog(&e, &n, NULL) != 0)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(e[i].id, id))
            return &e[i];
    if (near) {
        const char *cands[512];
        size_t nc = n < 512 ? n : 512;
        for (size_t i = 0; i < nc; i++)
            cands[i] = e[i].id;
        *near = scn_did_you_mean(id, cands, nc);
    }
    return NULL;
}

/* ---- GPU and LLM catalogs ---------------------------------------------- */

#define GPU_CATALOG_NAME "models/catalog/gpus.yaml"
#define LLM_CATALOG_NAME "models/catalog/llms.yaml"
#define OFF(type, field) offsetof(type, field)
#define NKEYS(t) (sizeof(t) / sizeof((t)[0]))
#define REQ SCN_KF_REQUIRED
#define REQ_POS (SCN_KF_REQUIRED | SCN_KF_LO_OPEN)

/* SCN_K_NAME writes up to SIM_NAME_MAX bytes into the entry's id. */
_Static_assert(MDL_ID_MAX == SIM_NAME_MAX, "catalog ids are read as scenario names");

/* Catalog rows carry every key (mfu and mbu are optional: only measured GPUs
 * have them).  Upper bounds only catch typos (a few times today's largest). */
static const struct scn_key gpu_catalog_keys[] = {
    {"id", SCN_K_NAME, OFF(struct mdl_gpu, id), 0, 0, REQ, NULL},
    {"bf16_tflops", SCN_K_DOUBLE, OFF(struct mdl_gpu, bf16_tflops), 0, 1e5, REQ_POS, NULL},
    {"fp8_tflops", SCN_K_DOUBLE, OFF(struct mdl_gpu, fp8_tflops), 0, 1e5, REQ, NULL},
    {"memory_gib", SCN_K_DOUBLE, OFF(struct mdl_gpu, memory_gib), 0, 1e5, REQ_POS, NULL},
    {"bandwidth_gbs", SCN_K_DOUBLE, OFF(struct mdl_gpu, bandwidth_gbs), 0, 1e6, REQ_POS, NULL},
    {"link_gbs", SCN_K_DOUBLE, OFF(struct mdl_gpu, link_gbs), 0, 1e5, REQ_POS, NULL},
    {"hour_usd", SCN_K_DOUBLE, OFF(struct mdl_gpu, hour_usd), 0, 1e4, REQ, NULL},
    {"idle_w", SCN_K_DOUBLE, OFF(struct mdl_gpu, idle_w), 0, 1e5, REQ_POS, NULL},
    {"max_w", SCN_K_DOUBLE, OFF(struct mdl_gpu, max_w), 0, 1e5, REQ_POS, NULL},
    {"mfu", SCN_K_DOUBLE, OFF(struct mdl_gpu, mfu), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"mbu", SCN_K_DOUBLE, OFF(struct mdl_gpu, mbu), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"gemm_half_tokens", SCN_K_DOUBLE, OFF(struct mdl_gpu, gemm_half_tokens), 0, 1e5, SCN_KF_LO_OPEN, NULL},
    {"allreduce_latency_us", SCN_K_DOUBLE, OFF(struct mdl_gpu, allreduce_latency_us), 0, 1e6, SCN_KF_LO_OPEN, NULL},
    {"link_efficiency", SCN_K_DOUBLE, OFF(struct mdl_gpu, link_efficiency), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"layer_overhead_us", SCN_K_DOUBLE, OFF(struct mdl_gpu, layer_overhead_us), 0, 1e4, SCN_KF_LO_OPEN, NULL},
    {"source", SCN_STRBUF(struct mdl_gpu, source), REQ, NULL},
    {"date", SCN_STRBUF(struct mdl_gpu, date), REQ, NULL},
};

/* Inline entries: `name` (or `id`), the peaks, memory and price; no FP8
 * units and no scale-up link unless given; source and date optional.  The
 * memory is `memory_gib` (2^30 bytes, as the device reports it) or, under
 * the older name, `memory_gb`: a GPU datasheet's "GB" of HBM or GDDR is the
 * JEDEC binary gigabyte, so both keys mean 2^30 bytes; exactly one. */
static const struct scn_key gpu_inline_keys[] = {
    {"name", SCN_K_NAME, OFF(struct mdl_gpu, id), 0, 0, 0, NULL},
    {"id", SCN_K_NAME, OFF(struct mdl_gpu, id), 0, 0, 0, NULL},
    {"bf16_tflops", SCN_K_DOUBLE, OFF(struct mdl_gpu, bf16_tflops), 0, 1e5, REQ_POS, NULL},
    {"fp8_tflops", SCN_K_DOUBLE, OFF(struct mdl_gpu, fp8_tflops), 0, 1e5, 0, NULL},
    {"memory_gib", SCN_K_DOUBLE, OFF(struct mdl_gpu, memory_gib), 0, 1e5, SCN_KF_LO_OPEN, NULL},
    {"memory_gb", SCN_K_DOUBLE, OFF(struct mdl_gpu, memory_gib), 0, 1e5, SCN_KF_LO_OPEN, NULL},
    {"bandwidth_gbs", SCN_K_DOUBLE, OFF(struct mdl_gpu, bandwidth_gbs), 0, 1e6, REQ_POS, NULL},
    {"link_gbs", SCN_K_DOUBLE, OFF(struct mdl_gpu, link_gbs), 0, 1e5, 0, NULL},
    {"hour_usd", SCN_K_DOUBLE, OFF(struct mdl_gpu, hour_usd), 0, 1e4, REQ, NULL},
    {"idle_w", SCN_K_DOUBLE, OFF(struct mdl_gpu, idle_w), 0, 1e5, SCN_KF_LO_OPEN, NULL},
    {"max_w", SCN_K_DOUBLE, OFF(struct mdl_gpu, max_w), 0, 1e5, SCN_KF_LO_OPEN, NULL},
    {"mfu", SCN_K_DOUBLE, OFF(struct mdl_gpu, mfu), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"mbu", SCN_K_DOUBLE, OFF(struct mdl_gpu, mbu), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"gemm_half_tokens", SCN_K_DOUBLE, OFF(struct mdl_gpu, gemm_half_tokens), 0, 1e5, SCN_KF_LO_OPEN, NULL},
    {"allreduce_latency_us", SCN_K_DOUBLE, OFF(struct mdl_gpu, allreduce_latency_us), 0, 1e6, SCN_KF_LO_OPEN, NULL},
    {"link_efficiency", SCN_K_DOUBLE, OFF(struct mdl_gpu, link_efficiency), 0, 1, SCN_KF_LO_OPEN, NULL},
    {"layer_overhead_us", SCN_K_DOUBLE, OFF(struct mdl_gpu, layer_overhead_us), 0, 1e4, SCN_KF_LO_OPEN, NULL},
    {"source", SCN_STRBUF(struct mdl_gpu, source), 0, NULL},
    {"date", SCN_STRBUF(struct mdl_gpu, date), 0, NULL},
};

static const struct scn_key llm_catalog_keys[] = {
    {"id", SCN_K_NAME, OFF(struct mdl_llm, id), 0, 0, REQ, NULL},
    {"layers", SCN_K_INT, OFF(struct mdl_llm, layers), 1, 1000, REQ, NULL},
    {"hidden", SCN_K_INT, OFF(struct mdl_llm, hidden), 1, 1e6, REQ, NULL},
    {"intermediate", SCN_K_INT, OFF(struct mdl_llm, intermediate), 1, 1e7, REQ, NULL},
    {"heads", SCN_K_INT, OFF(struct mdl_llm, heads), 1, 1e5, REQ, NULL},
    {"kv_heads", SCN_K_INT, OFF(struct mdl_llm, kv_heads), 1, 1e5, REQ, NULL},
    {"head_dim", SCN_K_INT, OFF(struct mdl_llm, head_dim), 1, 1e5, REQ, NULL},
    {"vocab", SCN_K_INT, OFF(struct mdl_llm, vocab), 1, 1e8, REQ, NULL},
    {"params_b", SCN_K_DOUBLE, OFF(struct mdl_llm, params_b), 0, 1e5, REQ_POS, NULL},
    {"active_params_b", SCN_K_DOUBLE, OFF(struct mdl_llm, active_params_b), 0, 1e5, REQ_POS, NULL},
    {"experts", SCN_K_INT, OFF(struct mdl_llm, experts), 0, 1e5, REQ, NULL},
    {"experts_per_token", SCN_K_INT, OFF(struct mdl_llm, experts_per_token), 0, 1e5, REQ, NULL},
    {"kv_bytes_per_token", SCN_K_DOUBLE, OFF(struct mdl_llm, kv_bytes_per_token_override), 0, 1e9,
     REQ, NULL},
    {"tied_embeddings", SCN_K_BOOL, OFF(struct mdl_llm, tied_embeddings), 0, 0, 0, NULL},
    {"source", SCN_STRBUF(struct mdl_llm, source), REQ, NULL},
    {"date", SCN_STRBUF(struct mdl_llm, date), REQ, NULL},
};

/* Inline entries: `name` (or `id`) and the architecture; a dense model with
 * the standard KV cache unless said otherwise. */
static const struct scn_key llm_inline_keys[] = {
    {"name", SCN_K_NAME, OFF(struct mdl_llm, id), 0, 0, 0, NULL},
    {"id", SCN_K_NAME, OFF(struct mdl_llm, id), 0, 0, 0, NULL},
    {"layers", SCN_K_INT, OFF(struct mdl_llm, layers), 1, 1000, REQ, NULL},
    {"hidden", SCN_K_INT, OFF(struct mdl_llm, hidden), 1, 1e6, REQ, NULL},
    {"intermediate", SCN_K_INT, OFF(struct mdl_llm, intermediate), 1, 1e7, REQ, NULL},
    {"heads", SCN_K_INT, OFF(struct mdl_llm, heads), 1, 1e5, REQ, NULL},
    {"kv_heads", SCN_K_INT, OFF(struct mdl_llm, kv_heads), 1, 1e5, REQ, NULL},
    {"head_dim", SCN_K_INT, OFF(struct mdl_llm, head_dim), 1, 1e5, REQ, NULL},
    {"vocab", SCN_K_INT, OFF(struct mdl_llm, vocab), 1, 1e8, REQ, NULL},
    {"params_b", SCN_K_DOUBLE, OFF(struct mdl_llm, params_b), 0, 1e5, REQ_POS, NULL},
    {"active_params_b", SCN_K_DOUBLE, OFF(struct mdl_llm, active_params_b), 0, 1e5, SCN_KF_LO_OPEN,
     NULL},
    {"experts", SCN_K_INT, OFF(struct mdl_llm, experts), 0, 1e5, 0, NULL},
    {"experts_per_token", SCN_K_INT, OFF(struct mdl_llm, experts_per_token), 0, 1e5, 0, NULL},
    {"kv_bytes_per_token", SCN_K_DOUBLE, OFF(struct mdl_llm, kv_bytes_per_token_override), 0, 1e9,
     0, NULL},
    {"tied_embeddings", SCN_K_BOOL, OFF(struct mdl_llm, tied_embeddings), 0, 0, 0, NULL},
    {"source", SCN_STRBUF(struct mdl_llm, source), 0, NULL},
    {"date", SCN_STRBUF(struct mdl_llm, date), 0, NULL},
};

/* Reads an inline entry, which names itself with `name` or `id`, exactly one
 * of them.  The name is checked after the keys, so that a misspelt "nme"
 * gets its "did you mean". */
static int read_inline_entry(struct scn_ctx *c, const struct yn_node *n, const struct scn_key *keys,
                             size_t n_keys, void *out)
{
    if (n->type != YN_MAP)
        return scn_fail(c, n, "expected a mapping, got %s", yn_type_name(n->type));
    const struct yn_node *name = yn_get(n, "name"), *id = yn_get(n, "id");
    if (name && id)
        return scn_fail(c, id, "give 'name' or 'id', not both");
    int rc = scn_process_map(c, n, keys, n_keys, out);
    if (rc == 0 && !name && !id)
        rc = scn_fail(c, n, "missing required key 'name'");
    return rc;
}

/* A GPU's idle power must be below its maximum (either may be absent inline). */
static int check_gpu_power(struct scn_ctx *c, const struct yn_node *n, const struct mdl_gpu *g)
{
    if (g->idle_w > 0 && g->max_w > 0 && g->idle_w >= g->max_w) {
        size_t m = scn_path_push(c, "idle_w");
        int rc = scn_fail(c, yn_get(n, "idle_w"), "idle_w (%g W) must be below max_w (%g W)", g->idle_w,
                          g->max_w);
        scn_path_pop(c, m);
        return rc;
    }
    return 0;
}

int scn_read_gpu(struct scn_ctx *c, const struct yn_node *n, struct mdl_gpu *out, int inline_entry)
{
    memset(out, 0, sizeof *out);
    if (inline_entry) {
        int rc = read_inline_entry(c, n, gpu_inline_keys, NKEYS(gpu_inline_keys), out);
        if (rc)
            return rc;
        const struct yn_node *gib = yn_get(n, "memory_gib"), *gb = yn_get(n, "memory_gb");
        if (gib && gb)
            return scn_fail(c, gb, "give 'memory_gib' or 'memory_gb' (the same unit, 2^30 bytes), not both");
        if (!gib && !gb)
            return scn_fail(c, n, "missing required key 'memory_gib' (memory as the device reports it, GiB)");
        return check_gpu_power(c, n, out);
    }
    int rc = scn_process_map(c, n, gpu_catalog_keys, NKEYS(gpu_catalog_keys), out);
    return rc ? rc : check_gpu_power(c, n, out);
}

/* Cross-checks of an LLM entry once its keys are read. */
static int check_llm(struct scn_ctx *c, const struct yn_node *n, struct mdl_llm *m)
{
    const struct yn_node *active = yn_get(n, "active_params_b");
    const struct yn_node *experts = yn_get(n, "experts");
    if (m->experts > 0) {
        if (m->experts_per_token < 1 || m->experts_per_token > m->experts)
            return scn_fail(c, yn_get(n, "experts_per_token") ? yn_get(n, "experts_per_token") : n,
                            "a mixture of %d experts needs experts_per_token between 1 and %d",
                            m->experts, m->experts);
        if (active == NULL)
            return scn_fail(
                c, n, "a mixture of experts needs 'active_params_b' (parameters used per token)");
    } else if (m->experts_per_token != 0) {
        return scn_fail(c, yn_get(n, "experts_per_token"),
                        "experts_per_token %d needs 'experts' (0 or absent: a dense model)",
                        m->experts_per_token);
    }
    if (active == NULL)
        m->active_params_b = m->params_b;
    if (m->active_params_b > m->params_b)
        return scn_fail(c, active, "active_params_b %g exceeds params_b %g", m->active_params_b,
                        m->params_b);
    if (m->experts == 0 && m->active_params_b != m->params_b)
        return scn_fail(
            c, active ? active : experts,
            "a dense model (experts 0) uses all its parameters: active_params_b %g must equal "
            "params_b %g",
            m->active_params_b, m->params_b);
    if (m->kv_heads > m->heads || m->heads % m->kv_heads != 0)
        return scn_fail(c, yn_get(n, "kv_heads"), "kv_heads %d must divide heads %d", m->kv_heads,
                        m->heads);
    return 0;
}

int scn_read_llm(struct scn_ctx *c, const struct yn_node *n, struct mdl_llm *out, int inline_entry)
{
    memset(out, 0, sizeof *out);
    int rc;
    if (inline_entry) {
        rc = read_inline_entry(c, n, llm_inline_keys, NKEYS(llm_inline_keys), out);
    } else {
        rc = scn_process_map(c, n, llm_catalog_keys, NKEYS(llm_catalog_keys), out);
    }
    return rc ? rc : check_llm(c, n, out);
}

/* One parsed catalog: an array of entries whose first field is the id. */
struct entry_catalog {
    const char *name; /* for messages: "models/catalog/gpus.yaml" */
    const char *top;  /* top-level key: "gpus" */
    const char *text; /* the embedded YAML */
    size_t size;      /* sizeof one entry */
    int (*read)(struct scn_ctx *c, const struct yn_node *n, void *out);
    void *entries; /* parsed once, never freed (process lifetime) */
    size_t n;
    struct llmsim_error err;
    int rc;
};

static int read_gpu_row(struct scn_ctx *c, const struct yn_node *n, void *out)
{
    return scn_read_gpu(c, n, out, 0);
}

static int read_llm_row(struct scn_ctx *c, const struct yn_node *n, void *out)
{
    return scn_read_llm(c, n, out, 0);
}

_Static_assert(offsetof(struct mdl_gpu, id) == 0 && offsetof(struct mdl_llm, id) == 0,
               "catalog entries start with their id");

static struct entry_catalog g_gpus = {.name = GPU_CATALOG_NAME,
                                      .top = "gpus",
                                      .text = mdl_catalog_gpus_yaml,
                                      .size = sizeof(struct mdl_gpu),
                                      .read = read_gpu_row};
static struct entry_catalog g_llms = {.name = LLM_CATALOG_NAME,
                                      .top = "llms",
                                      .text = mdl_catalog_llms_yaml,
                                      .size = sizeof(struct mdl_llm),
                                      .read = read_llm_row};
static pthread_once_t g_gpus_once = PTHREAD_ONCE_INIT;
static pthread_once_t g_llms_once = PTHREAD_ONCE_INIT;

/* API latency profiles (models/catalog/api_latency.yaml): every key required. */
static const struct scn_key api_profile_keys[] = {
    {"id", SCN_K_NAME, OFF(struct mdl_api_profile, id), 0, 0, REQ, NULL},
    {"provider", SCN_STRBUF(struct mdl_api_profile, provider), REQ, NULL},
    {"network_ms", SCN_K_DOUBLE, OFF(struct mdl_api_profile, network_ms), 0, 1e6, REQ, NULL},
    {"ttft_base_ms", SCN_K_DOUBLE, OFF(struct mdl_api_profile, ttft_base_ms), 0, 1e7, REQ, NULL},
    {"prefill_tokens_per_s", SCN_K_DOUBLE, OFF(struct mdl_api_profile, prefill_tokens_per_s), 0, 1e9, REQ_POS, NULL},
    {"itl_mean_ms", SCN_K_DOUBLE, OFF(struct mdl_api_profile, itl_mean_ms), 0, 1e6, REQ_POS, NULL},
    {"itl_cv", SCN_K_DOUBLE, OFF(struct mdl_api_profile, itl_cv), 0, 10, REQ, NULL},
    {"ttft_p50_ms", SCN_K_DOUBLE, OFF(struct mdl_api_profile, ttft_p50_ms), 0, 1e7, REQ_POS, NULL},
    {"itl_requests", SCN_K_INT, OFF(struct mdl_api_profile, itl_requests), 1, 1e9, REQ, NULL},
    {"source", SCN_STRBUF(struct mdl_api_profile, source), REQ, NULL},
    {"date", SCN_STRBUF(struct mdl_api_profile, date), REQ, NULL},
};

_Static_assert(MDL_PROFILE_ID_MAX == SIM_NAME_MAX && offsetof(struct mdl_api_profile, id) == 0,
               "profile ids are read as scenario names, first in the entry");

static int read_api_profile_row(struct scn_ctx *c, const struct yn_node *n, void *out)
{
    return scn_process_map(c, n, api_profile_keys, NKEYS(api_profile_keys), out);
}

static struct entry_catalog g_profiles = {.name = "models/catalog/api_latency.yaml",
                                          .top = "api_latency",
                                          .text = mdl_catalog_api_latency_yaml,
                                          .size = sizeof(struct mdl_api_profile),
                                          .read = read_api_profile_row};
static pthread_once_t g_profiles_once = PTHREAD_ONCE_INIT;

static const char *entry_id(const struct entry_catalog *k, size_t i)
{
    return (const char *)k->entries + i * k->size;
}

static void parse_entries(struct entry_catalog *k)
{
    struct yn_node *root = NULL;
    llmsim_error_clear(&k->err);
    k->rc = yn_parse(k->text, strlen(k->text), k->name, 100000, 16, &root, &k->err);
    if (k->rc)
        return;
    struct scn_ctx c = {.err = &k->err, .dir = "", .file = k->name};
    const struct yn_node *list = root ? yn_get(root, k->top) : NULL;
    if (list == NULL || list->type != YN_SEQ || list->n == 0) {
        k->rc = llmsim_error_set(&k->err, LLMSIM_ESCENARIO, k->name, 1, 1,
                                 "expected a non-empty '%s' list", k->top);
        yn_free(root);
        return;
    }
    k->entries = calloc(list->n, k->size);
    if (k->entries == NULL) {
        k->rc = llmsim_error_set(&k->err, LLMSIM_ENOMEM, k->name, 0, 0, "out of memory");
        yn_free(root);
        return;
    }
    for (size_t i = 0; i < list->n && k->rc == 0; i++) {
        size_t m = scn_path_push(&c, k->top);
        scn_path_push_index(&c, i);
        k->rc = k->read(&c, list->vals[i], (char *)k->entries + i * k->size);
        for (size_t j = 0; j < i && k->rc == 0; j++)
            if (!strcmp(entry_id(k, j), entry_id(k, i)))
                k->rc = scn_fail(&c, list->vals[i], "duplicate id '%s'", entry_id(k, i));
        scn_path_pop(&c, m);
        k->n = i + 1;
    }
    yn_free(root);
}

static void parse_gpus(void)
{
    parse_entries(&g_gpus);
}

static void parse_llms(void)
{
    parse_entries(&g_llms);
}

static void parse_profiles(void)
{
    parse_entries(&g_profiles);
}

static int catalog_get(struct entry_catalog *k, const void **entries, size_t *n,
                       struct llmsim_error *err)
{
    if (k->rc) {
        if (err)
            *err = k->err;
        return k->rc;
    }
    *entries = k->entries;
    *n = k->n;
    return 0;
}

/* Whether every '-' or '.' separated token of id is a token of cand (each
 * used once); *extra gets the number of cand's tokens left over.  So
 * "llama-3-8b" matches "llama-3.1-8b" (one extra token, the minor version)
 * where the closest edit would be "llama-2-7b". */
static int tokens_subset(const char *id, const char *cand, size_t *extra)
{
    char ct[16][32];
    int used[16] = {0};
    size_t nct = 0;
    for (const char *p = cand; *p && nct < 16;) {
        size_t l = strcspn(p, "-.");
        if (l > 0 && l < 32) {
            memcpy(ct[nct], p, l);
            ct[nct++][l] = '\0';
        }
        p += l;
        if (*p)
            p++;
    }
    size_t matched = 0;
    for (const char *p = id; *p;) {
        size_t l = strcspn(p, "-.");
        if (l > 0) {
            size_t j;
            for (j = 0; j < nct; j++)
                if (!used[j] && strlen(ct[j]) == l && !strncmp(ct[j], p, l))
                    break;
            if (j == nct)
                return 0;
            used[j] = 1;
            matched++;
        }
        p += l;
        if (*p)
            p++;
    }
    *extra = nct - matched;
    return matched >= 2;
}

static const void *catalog_lookup(struct entry_catalog *k, const char *id, const char **near)
{
    if (near)
        *near = NULL;
    if (k->rc)
        return NULL;
    for (size_t i = 0; i < k->n; i++)
        if (!strcmp(entry_id(k, i), id))
            return entry_id(k, i);
    const char *near_subset = NULL;
    if (near) {
        /* An id cut short ("h100" for "h100-sxm") is the likeliest slip; it
         * goes before the closest edit ("h200"). */
        size_t len = strlen(id);
        for (size_t i = 0; i < k->n && len >= 3 && *near == NULL; i++)
            if (!strncmp(entry_id(k, i), id, len))
                *near = entry_id(k, i);
        /* Next, an id that leaves out a token ("llama-3-8b" for
         * "llama-3.1-8b"): the one with the fewest tokens left over. */
        size_t best_extra = (size_t)-1;
        for (size_t i = 0; i < k->n && *near == NULL; i++) {
            size_t extra;
            if (tokens_subset(id, entry_id(k, i), &extra) && extra > 0 && extra < best_extra) {
                best_extra = extra;
                near_subset = entry_id(k, i);
            }
        }
        if (*near == NULL)
            *near = near_subset;
        const char *cands[512];
        size_t nc = k->n < 512 ? k->n : 512;
        for (size_t i = 0; i < nc; i++)
            cands[i] = entry_id(k, i);
        if (*near == NULL)
            *near = scn_did_you_mean(id, cands, nc);
    }
    return NULL;
}

int scn_gpu_catalog(const struct mdl_gpu **entries, size_t *n, struct llmsim_error *err)
{
    pthread_once(&g_gpus_once, parse_gpus);
    const void *e = NULL;
    int rc = catalog_get(&g_gpus, &e, n, err);
    if (rc == 0)
        *entries = e;
    return rc;
}

const struct mdl_gpu *scn_gpu_lookup(const char *id, const char **near)
{
    pthread_once(&g_gpus_once, parse_gpus);
    return catalog_lookup(&g_gpus, id, near);
}

int scn_llm_catalog(const struct mdl_llm **entries, size_t *n, struct llmsim_error *err)
{
    pthread_once(&g_llms_once, parse_llms);
    const void *e = NULL;
    int rc = catalog_get(&g_llms, &e, n, err);
    if (rc == 0)
        *entries = e;
    return rc;
}

const struct mdl_llm *scn_llm_lookup(const char *id, const char **near)
{
    pthread_once(&g_llms_once, parse_llms);
    return catalog_lookup(&g_llms, id, near);
}

int scn_api_profile_catalog(const struct mdl_api_profile **entries, size_t *n,
                            struct llmsim_error *err)
{
    pthread_once(&g_profiles_once, parse_profiles);
    const void *e = NULL;
    int rc = catalog_get(&g_profiles, &e, n, err);
    if (rc == 0)
        *entries = e;
    return rc;
}

const struct mdl_api_profile *scn_api_profile_lookup(const char *id, const char **near)
{
    pthread_once(&g_profiles_once, parse_profiles);
    return catalog_lookup(&g_profiles, id, near);
}

void scn_api_latency_source(const struct sim_deployment_cfg *d, char *buf, size_t n)
{
    const struct mdl_api_profile *p = d->api_profile[0] ? scn_api_profile_lookup(d->api_profile, NULL) : NULL;
    const char *own = d->api_latency_given ? ", figures given in the scenario override it" : "";
    if (p)
        snprintf(buf, n, "measured profile %s (%s)%s", p->id, p->date, own);
    else if (d->api_latency_given)
        snprintf(buf, n, "given in the scenario (the pooled default for the rest)");
    else
        snprintf(buf, n, "pooled default (no measured profile for '%s')", d->model);
}
