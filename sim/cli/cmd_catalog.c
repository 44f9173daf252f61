/* llmsim catalog: list the built-in catalogs (GPUs, LLMs, API prices). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "llmsim/hardware.h"
#include "llmsim/quality.h"
#include "llmsim/scenario.h"

static int invalid(const char *what, const struct llmsim_error *err)
{
    char msg[1200];
    llmsim_error_format(err, msg, sizeof msg);
    cli_errorf("built-in %s catalog is invalid: %s", what, msg);
    return LLMSIM_EXIT_RUNTIME;
}

static int list_gpus(void)
{
    const struct mdl_gpu *g;
    size_t n;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (scn_gpu_catalog(&g, &n, &err) != 0)
        return invalid("GPU", &err);
    printf(
        "GPUs: dense peak TFLOP/s, memory GiB (as the device reports it), bandwidth and scale-up link GB/s, USD per GPU-hour;\n"
        "mfu/mbu: measured efficiencies of the roofline model (default %.2f/%.2f elsewhere)\n\n",
        MDL_ROOFLINE_DEFAULT_MFU, MDL_ROOFLINE_DEFAULT_MBU);
    printf("%-12s %7s %7s %7s %9s %6s %7s %9s %10s  %s\n", "id", "bf16", "fp8", "GiB", "bandwidth",
           "link", "$/hour", "mfu/mbu", "idle/max W", "source, date");
    for (size_t i = 0; i < n; i++) {
        char eff[32] = "-";
        if (g[i].mfu > 0 || g[i].mbu > 0)
            snprintf(eff, sizeof eff, "%.2f/%.2f",
                     g[i].mfu > 0 ? g[i].mfu : MDL_ROOFLINE_DEFAULT_MFU,
                     g[i].mbu > 0 ? g[i].mbu : MDL_ROOFLINE_DEFAULT_MBU);
        char fp8[16] = "-";
        if (g[i].fp8_tflops > 0)
            snprintf(fp8, sizeof fp8, "%.0f", g[i].fp8_tflops);
        char power[32];
        snprintf(power, sizeof power, "%.0f/%.0f", g[i].idle_w, g[i].max_w);
        printf("%-12s %7.0f %7s %7.2f %9.0f %6.0f %7.2f %9s %10s  %s, %s\n", g[i].id, g[i].bf16_tflops,
               fp8, g[i].memory_gib, g[i].bandwidth_gbs, g[i].link_gbs, g[i].hour_usd, eff, power,
               g[i].source, g[i].date);
    }
    return LLMSIM_EXIT_OK;
}

static int list_models(void)
{
    const struct mdl_llm *m;
    size_t n;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (scn_llm_catalog(&m, &n, &err) != 0)
        return invalid("LLM", &err);
    printf(
        "LLMs: architecture, parameters in billions (total/active), MoE experts (routed/top-k),\n"
        "KV-cache KiB per token at 16 bits\n\n");
    printf("%-15s %6s %6s %6s %5s %4s %5s %7s %15s %7s %8s  %s\n", "id", "layers", "hidden",
           "inter", "heads", "kv", "hdim", "vocab", "params", "experts", "KV KiB", "source, date");
    for (size_t i = 0; i < n; i++) {
        char params[32], experts[16] = "-";
        snprintf(params, sizeof params, "%.2f/%.2f", m[i].params_b, m[i].active_params_b);
        if (m[i].experts > 0)
            snprintf(experts, sizeof experts, "%d/%d", m[i].experts, m[i].experts_per_token);
        printf("%-15s %6d %6d %6d %5d %4d %5d %7d %15s %7s %8.1f  %s, %s\n", m[i].id, m[i].layers,
               m[i].hidden, m[i].intermediate, m[i].heads, m[i].kv_heads, m[i].head_dim, m[i].vocab,
               params, experts, mdl_llm_kv_bytes_per_token(&m[i], MDL_DTYPE_BF16) / 1024.0,
               m[i].source, m[i].date);
    }
    return LLMSIM_EXIT_OK;
}

static int list_prices(void)
{
    const struct mdl_price *p;
    size_t n;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (scn_price_catalog(&p, &n, &err) != 0)
        return invalid("price", &err);
    printf(
        "API prices, USD per million tokens (cache columns: multipliers of the input price)\n\n");
    printf("%-24s %-10s %8s %8s %8s %8s %8s %9s %8s  %s\n", "id", "provider", "input", "output",
           "write5m", "write1h", "read", "min-cache", "batch", "source, date");
    for (size_t i = 0; i < n; i++)
        printf("%-24s %-10s %8.3f %8.3f %8.3g %8.3g %8.3g %9.0f %7.0f%%  %s, %s\n", p[i].id,
               p[i].provider, p[i].input_per_mtok, p[i].output_per_mtok, p[i].cache_write_5m_mult,
               p[i].cache_write_1h_mult, p[i].cache_read_mult, p[i].min_cache_tokens,
               p[i].batch_discount * 100, p[i].source, p[i].date);
    return LLMSIM_EXIT_OK;
}

static int list_api_latency(void)
{
    const struct mdl_api_profile *p;
    size_t n;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (scn_api_profile_catalog(&p, &n, &err) != 0)
        return invalid("api latency", &err);
    printf("Measured latency profiles of hosted models (latency: {profile: ID}, or an api deployment\n"
           "whose model is the id); others get the pooled default (docs/calibration.md)\n\n");
    printf("%-28s %8s %8s %9s %8s %6s %8s  %s\n", "id", "TTFT p50", "base ms", "prefill/s", "ITL ms",
           "ITL cv", "requests", "source, date");
    for (size_t i = 0; i < n; i++)
        printf("%-28s %8.0f %8.0f %9.0f %8.1f %6.2f %8d  %s, %s\n", p[i].id, p[i].ttft_p50_ms,
               p[i].ttft_base_ms, p[i].prefill_tokens_per_s, p[i].itl_mean_ms, p[i].itl_cv,
               p[i].itl_requests, p[i].source, p[i].date);
    return LLMSIM_EXIT_OK;
}

static int list_quality(void)
{
    size_t n = 0;
    const struct mdl_joint_preset *q = mdl_joint_presets(&n);
    printf("Joint outcome tables for a strong and a weak tier (quality.joint.preset; the first is the default)\n\n");
    printf("%-16s %-7s %9s %7s %12s %10s %8s  %s\n", "preset", "bench", "questions", "both", "only_strong",
           "only_weak", "neither", "models; source, date");
    for (size_t i = 0; i < n; i++)
        printf("%-16s %-7s %9d %6.2f%% %11.2f%% %9.2f%% %7.2f%%  %s vs %s; %s, %s\n", q[i].id, q[i].benchmark,
               q[i].questions, 100 * q[i].both, 100 * q[i].only_strong, 100 * q[i].only_weak, 100 * q[i].neither,
               q[i].strong_model, q[i].weak_model, q[i].source, q[i].date);
    return LLMSIM_EXIT_OK;
}

static const struct {
    const char *name;
    int (*list)(void);
} catalogs[] = {
    {"gpus", list_gpus},     {"models", list_models},   {"prices", list_prices},
    {"api-latency", list_api_latency}, {"quality", list_quality},
};
#define N_CATALOGS (sizeof catalogs / sizeof catalogs[0])

int cmd_catalog(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: llmsim catalog [gpus|models|prices|api-latency|quality]\n\n"
             "Lists the catalogs compiled into llmsim (models/catalog/*.yaml and the published joint\n"
             "quality tables), with the source and date of every figure; with no argument, all of\n"
             "them.  A scenario can give a GPU or model that is not listed inline, override a\n"
             "deployment's GPU price with 'gpu_hour_usd', override any API price under 'price', and\n"
             "pick a measured latency profile with 'latency: {profile: ID}'.");
        return LLMSIM_EXIT_OK;
    }
    if (argc > 2) {
        cli_errorf("catalog: too many arguments");
        return LLMSIM_EXIT_USAGE;
    }
    int rc = LLMSIM_EXIT_OK;
    for (size_t i = 0; i < N_CATALOGS && rc == LLMSIM_EXIT_OK; i++) {
        if (argc == 2 && strcmp(argv[1], catalogs[i].name) != 0)
            continue;
        if (argc == 1 && i > 0)
            putchar('\n');
        rc = catalogs[i].list();
        if (argc == 2)
            return rc;
    }
    if (argc == 1)
        return rc;
    const char *names[N_CATALOGS];
    for (size_t i = 0; i < N_CATALOGS; i++)
        names[i] = catalogs[i].name;
    const char *near = scn_did_you_mean(argv[1], names, N_CATALOGS);
    if (near)
        cli_errorf("catalog: unknown catalog '%s' (did you mean '%s'?)", argv[1], near);
    else
        cli_errorf("catalog: unknown catalog '%s' (expected gpus, models, prices, api-latency or "
                   "quality)", argv[1]);
    return LLMSIM_EXIT_USAGE;
}
