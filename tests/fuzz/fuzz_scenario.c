/* libFuzzer harness: the scenario loader (scn_load_string) on arbitrary
 * text.  The name points into a directory that does not exist, so relative
 * trace and distribution paths fail to open instead of reading the
 * examples' large traces on every run (the trace readers have their own
 * harnesses). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "llmsim/scenario.h"

#define FZ_MAX_INPUT (256u << 10) /* well under SCN_MAX_FILE_BYTES: keeps runs fast */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return -1;
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_string(&sc, (const char *)data, size, "/nonexistent-llmsim-fuzz/scenario.yaml",
                             NULL, 0, &err);
    if (rc == 0) {
        char *y = scn_resolved_yaml(&sc);
        free(y);
        sim_scenario_free(&sc);
    } else {
        char msg[2048];
        llmsim_error_format(&err, msg, sizeof msg);
    }
    return 0;
}
