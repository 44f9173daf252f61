/* llmsim catalog: list the built-in catalogs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "llmsim/scenario.h"

static int list_prices(void)
{
    const struct mdl_price *p;
    size_t n;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (scn_price_catalog(&p, &n, &err) != 0) {
        char msg[1200];
        llmsim_error_format(&err, msg, sizeof msg);
        cli_errorf("built-in price catalog is invalid: %s", msg);
        return LLMSIM_EXIT_RUNTIME;
    }
    printf("API prices, USD per million tokens (cache columns: multipliers of the input price)\n\n");
    printf("%-24s %-10s %8s %8s %8s %8s %8s %9s %8s  %s\n", "id", "provider", "input", "output",
           "write5m", "write1h", "read", "min-cache", "batch", "source, date");
    for (size_t i = 0; i < n; i++)
        printf("%-24s %-10s %8.3f %8.3f %8.3g %8.3g %8.3g %9.0f %7.0f%%  %s, %s\n", p[i].id, p[i].provider,
               p[i].input_per_mtok, p[i].output_per_mtok, p[i].cache_write_5m_mult,
               p[i].cache_write_1h_mult, p[i].cache_read_mult, p[i].min_cache_tokens,
               p[i].batch_discount * 100, p[i].source, p[i].date);
    return LLMSIM_EXIT_OK;
}

int cmd_catalog(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: llmsim catalog [prices]\n\n"
             "Lists the catalogs compiled into llmsim (models/catalog/*.yaml), with the source and\n"
             "date of every figure.  A scenario can override any price of a deployment under 'price'.");
        return LLMSIM_EXIT_OK;
    }
    if (argc > 2) {
        cli_errorf("catalog: too many arguments");
        return LLMSIM_EXIT_USAGE;
    }
    if (argc == 1 || !strcmp(argv[1], "prices"))
        return list_prices();
    if (!strcmp(argv[1], "gpus") || !strcmp(argv[1], "models")) {
        cli_errorf("catalog: the %s catalog comes with the GPU serving models, not in this version", argv[1]);
        return LLMSIM_EXIT_USAGE;
    }
    cli_errorf("catalog: unknown catalog '%s' (expected prices)", argv[1]);
    return LLMSIM_EXIT_USAGE;
}
