/* libFuzzer harness: --set overrides.  Each input line is one KEY=VALUE
 * argument, parsed by scn_parse_override as the command line does and
 * applied to a small valid scenario (tests/data/minimal.yaml's) through
 * scn_load_string, so the override paths (dotted keys, names and indexes of
 * sequence elements, flow values) and the validation after them are
 * exercised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "llmsim/scenario.h"

#define FZ_MAX_INPUT (16u << 10)
#define FZ_MAX_OVR 64

static const char base_yaml[] =
    "name: base\n"
    "seed: 7\n"
    "horizon: {duration_s: 600}\n"
    "workload:\n"
    "  arrivals: {process: poisson, rate_per_s: 2.5}\n"
    "  classes:\n"
    "    - name: chat\n"
    "      prompt:\n"
    "        - {segment: system, tokens: 1200, stable: true}\n"
    "        - {segment: question, tokens: {dist: lognormal, mean: 80, cv: 0.5}}\n"
    "      output_tokens: {dist: lognormal, mean: 250, cv: 0.7, max: 2048}\n"
    "deployments:\n"
    "  - name: sonnet\n"
    "    kind: api\n"
    "    model: claude-sonnet-4-6\n"
    "  - name: local\n"
    "    kind: self-hosted\n"
    "    model: llama-3.1-8b\n"
    "    gpu: h100-sxm\n"
    "    replicas: 1\n"
    "routing: {policy: fixed, to: sonnet}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return -1;
    char *buf = malloc(size + 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    struct scn_override ovr[FZ_MAX_OVR];
    size_t n = 0;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int bad = 0;
    for (char *line = buf, *next; line != NULL && n < FZ_MAX_OVR; line = next) {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (scn_parse_override(line, &ovr[n], &err) != 0) {
            bad = 1;
            break;
        }
        n++;
    }
    if (!bad) {
        struct sim_scenario sc;
        int rc = scn_load_string(&sc, base_yaml, sizeof base_yaml - 1, "/nonexistent-llmsim-fuzz/base.yaml",
                                 ovr, n, &err);
        if (rc == 0) {
            char *y = scn_resolved_yaml(&sc);
            free(y);
            sim_scenario_free(&sc);
        }
    }
    char msg[2048];
    llmsim_error_format(&err, msg, sizeof msg);
    free(buf);
    return 0;
}
