/* llmsim validate: load scenarios, report the first error of each. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "llmsim/scenario.h"

int cmd_validate(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: llmsim validate [--force] SCENARIO.yaml...\n\n"
             "Loads each scenario as `llmsim run` would (catalog names resolved, traces read) and\n"
             "reports the first problem of each as FILE:LINE:COL: message.  Exit code 0 when all\n"
             "are valid, 2 otherwise.  A scenario past the resource budget (virtual span,\n"
             "time-series rows, results bytes) is refused unless --force is given, as with run.");
        return LLMSIM_EXIT_OK;
    }
    int first = 1;
    if (argc >= 2 && !strcmp(argv[1], "--force")) {
        scn_set_force(1);
        first = 2;
    }
    if (argc <= first) {
        cli_errorf("validate: no scenario given (usage: llmsim validate SCENARIO.yaml...)");
        return LLMSIM_EXIT_USAGE;
    }
    int bad = 0;
    for (int i = first; i < argc; i++) {
        struct sim_scenario sc;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        if (scn_load_file(&sc, argv[i], NULL, 0, &err) != 0) {
            char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 32];
            llmsim_error_format(&err, msg, sizeof msg);
            fprintf(stderr, "%s\n", msg);
            bad++;
            continue;
        }
        printf("%s: ok (%zu class%s, %zu deployment%s)\n", argv[i], sc.workload.n_classes,
               sc.workload.n_classes == 1 ? "" : "es", sc.n_deployments, sc.n_deployments == 1 ? "" : "s");
        sim_scenario_free(&sc);
    }
    return bad ? LLMSIM_EXIT_USAGE : LLMSIM_EXIT_OK;
}
