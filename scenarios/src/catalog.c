/* The price catalog: models/catalog/prices.yaml, compiled into the binary,
 * parsed once (thread-safe) with the same key-table machinery as scenarios. */
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
    {"provider", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, NULL},
    {"input_per_mtok", SCN_K_DOUBLE, offsetof(struct mdl_price, input_per_mtok), 0, 1e4, SCN_KF_REQUIRED, NULL},
    {"output_per_mtok", SCN_K_DOUBLE, offsetof(struct mdl_price, output_per_mtok), 0, 1e4, SCN_KF_REQUIRED, NULL},
    {"cache_write_5m_mult", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_write_5m_mult), 0, 100, SCN_KF_REQUIRED, NULL},
    {"cache_write_1h_mult", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_write_1h_mult), 0, 100, SCN_KF_REQUIRED, NULL},
    {"cache_read_mult", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_read_mult), 0, 100, SCN_KF_REQUIRED, NULL},
    {"cache_storage_per_mtok_hour", SCN_K_DOUBLE, offsetof(struct mdl_price, cache_storage_per_mtok_hour), 0, 1e4, SCN_KF_REQUIRED, NULL},
    {"min_cache_tokens", SCN_K_DOUBLE, offsetof(struct mdl_price, min_cache_tokens), 0, 1e7, SCN_KF_REQUIRED, NULL},
    {"batch_discount", SCN_K_DOUBLE, offsetof(struct mdl_price, batch_discount), 0, 1, SCN_KF_REQUIRED, NULL},
    {"source", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, NULL},
    {"date", SCN_K_FN, 0, 0, 0, SCN_KF_REQUIRED, NULL},
};

static int copy_str(struct scn_ctx *c, const struct yn_node *v, char *dst, size_t size)
{
    const char *s = NULL;
    int rc = scn_get_scalar(c, v, &s);
    if (rc)
        return rc;
    if (strlen(s) >= size)
        return scn_fail(c, v, "longer than %zu characters", size - 1);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int h_provider(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct mdl_price *p = obj;
    return copy_str(c, v, p->provider, sizeof p->provider);
}

static int h_source(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct mdl_price *p = obj;
    return copy_str(c, v, p->source, sizeof p->source);
}

static int h_date(struct scn_ctx *c, const struct yn_node *v, void *obj)
{
    struct mdl_price *p = obj;
    return copy_str(c, v, p->date, sizeof p->date);
}

static void parse_catalog(void)
{
    struct yn_node *root = NULL;
    llmsim_error_clear(&g_err);
    g_rc = yn_parse(mdl_catalog_prices_yaml, strlen(mdl_catalog_prices_yaml), CATALOG_NAME, 100000,
                    16, &root, &g_err);
    if (g_rc)
        return;
    struct scn_ctx c = {.err = &g_err, .dir = ""};
    struct scn_key keys[sizeof price_entry_keys / sizeof price_entry_keys[0]];
    memcpy(keys, price_entry_keys, sizeof keys);
    keys[1].fn = h_provider;
    keys[10].fn = h_source;
    keys[11].fn = h_date;
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
        g_rc = scn_process_map(&c, list->vals[i], keys, sizeof keys / sizeof keys[0], &g_prices[i]);
        scn_path_pop(&c, m);
        g_n_prices = i + 1;
    }
    yn_free(root);
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
