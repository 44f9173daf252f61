/* llmsim: loading scenarios from YAML.
 *
 * scn_load_file / scn_load_string parse a scenario (design.md section 5) into
 * a struct sim_scenario: defaults applied, catalog names resolved to copies
 * of the entries, every value range-checked, every name resolved.  Problems
 * are reported through struct llmsim_error as "file:line:col: message" with
 * the key path, and a "did you mean" where a near key exists.  YAML aliases
 * and anchors are refused (they make exponential "billion laughs" documents
 * possible), duplicate keys are refused, documents are limited in size, node
 * count and nesting depth.
 *
 * Overrides (--set key.path=value) are applied to the parsed document before
 * it is turned into structs, so they get exactly the same validation.  Key
 * paths use dots; a sequence element is selected by its `name` (e.g.
 * deployments.llama8b.replicas) or by its index (workload.classes.0.share).
 *
 * The resolved scenario can be written back as YAML (scn_resolved_yaml), which
 * is what the results file stores beside the text as given.
 *
 * Ownership: the caller frees the scenario with sim_scenario_free and the
 * strings returned here with free(). */
#ifndef LLMSIM_SCENARIO_H
#define LLMSIM_SCENARIO_H

#include <stddef.h>

#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/hardware.h"

/* Input size limits. */
#define SCN_MAX_FILE_BYTES (64u << 20) /* scenario text */
#define SCN_MAX_NODES 1000000u         /* YAML nodes in one document */
#define SCN_MAX_DEPTH 64u              /* nesting depth */

struct scn_override {
    const char *key;   /* dotted key path */
    const char *value; /* YAML scalar or flow text, e.g. "8" or "{dist: exponential, mean: 2}" */
};

/* Loads a scenario from text.  name is used in messages and to resolve
 * relative paths (traces) against its directory.  Returns 0, LLMSIM_ESCENARIO
 * (err filled), LLMSIM_EIO, LLMSIM_ENOMEM. */
int scn_load_string(struct sim_scenario *out, const char *text, size_t len, const char *name,
                    const struct scn_override *ovr, size_t n_ovr, struct llmsim_error *err);

/* Reads path and loads it as above. */
int scn_load_file(struct sim_scenario *out, const char *path, const struct scn_override *ovr,
                  size_t n_ovr, struct llmsim_error *err);

/* The built-in default scenario (the lesson's RAG assistant, from baseline). */
extern const char scn_default_scenario_yaml[];
#define SCN_DEFAULT_NAME "<built-in default scenario>"

/* The resolved scenario as YAML text (malloc'ed), or NULL when out of memory. */
char *scn_resolved_yaml(const struct sim_scenario *s);

/* Parses one "key=value" argument into *o (pointing into arg, which is
 * modified: the '=' is replaced by NUL).  Returns 0 or LLMSIM_EINVAL. */
int scn_parse_override(char *arg, struct scn_override *o, struct llmsim_error *err);

/* Reads an Azure LLM inference trace (2023 CSV: TIMESTAMP,ContextTokens,
 * GeneratedTokens) into *t, times relative to the first row.  Returns 0,
 * LLMSIM_EIO, LLMSIM_ESCENARIO (err located at the bad line), LLMSIM_ENOMEM. */
int scn_trace_read_azure(struct sim_trace *t, const char *path, struct llmsim_error *err);

/* Reads a Mooncake trace (kvcache-ai/Mooncake, FAST'25: JSON lines, one
 * object per line with exactly the keys "timestamp" (milliseconds, >= 0),
 * "input_length", "output_length" and "hash_ids" (the ids of the prompt's
 * 512-token blocks, ceil(input_length / 512) of them, each < 2^32)) into *t:
 * times in seconds relative to the first row, rows sorted by time (stable),
 * block_tokens = SCN_MOONCAKE_BLOCK_TOKENS and the block ids in hash_off /
 * hash_ids.  Returns 0, LLMSIM_EIO, LLMSIM_ESCENARIO (err located at the bad
 * line and column), LLMSIM_ELIMIT, LLMSIM_ENOMEM. */
#define SCN_MOONCAKE_BLOCK_TOKENS 512u
int scn_trace_read_mooncake(struct sim_trace *t, const char *path, struct llmsim_error *err);

/* The price catalog: parsed once from the embedded YAML.  Returns the entry
 * with this id or NULL; *near gets the closest id for a "did you mean". */
int scn_price_catalog(const struct mdl_price **entries, size_t *n, struct llmsim_error *err);
const struct mdl_price *scn_price_lookup(const char *id, const char **near);

/* The GPU and LLM catalogs, parsed once from the embedded YAML like the price
 * catalog.  Lookups return NULL for an unknown id and set *near to the
 * closest id (or NULL). */
int scn_gpu_catalog(const struct mdl_gpu **entries, size_t *n, struct llmsim_error *err);
const struct mdl_gpu *scn_gpu_lookup(const char *id, const char **near);
int scn_llm_catalog(const struct mdl_llm **entries, size_t *n, struct llmsim_error *err);
const struct mdl_llm *scn_llm_lookup(const char *id, const char **near);

/* The catalog of measured API latency profiles (models/catalog/api_latency.yaml),
 * parsed once like the others; lookups as scn_gpu_lookup. */
int scn_api_profile_catalog(const struct mdl_api_profile **entries, size_t *n,
                            struct llmsim_error *err);
const struct mdl_api_profile *scn_api_profile_lookup(const char *id, const char **near);
/* Which latency figures api deployment d uses, for people: its measured
 * profile (id, date), the pooled default (the median of 19 llmperf runs of
 * hosted Llama-2, docs/calibration.md), and whether the scenario overrides
 * figures; NUL-terminated in buf[n]. */
void scn_api_latency_source(const struct sim_deployment_cfg *d, char *buf, size_t n);

/* What a file of mode m is, for messages: "a directory", "a symbolic
 * link", "a FIFO (named pipe)", "a character device", "a block device",
 * "a socket", else "not a regular file". */
#include <sys/types.h>
const char *scn_file_kind(mode_t m);

/* Levenshtein distance, for "did you mean". */
size_t scn_edit_distance(const char *a, const char *b);
/* The candidate nearest to word within a small edit distance (a third of
 * the word, 1 to 3 edits) or of which word is a truncation, or NULL: the
 * "did you mean" of every llmsim message. */
const char *scn_did_you_mean(const char *word, const char *const *cands, size_t n);

/* Reads the step-time measurements of `llmsim calibrate steps` (a CSV file:
 * docs/calibrate.md) into *rows (malloc'ed, free() it) and *n.  GPU and
 * model names resolve against sc's deployments (inline entries; sc may be
 * NULL) and then the catalogs; a row's engine is that of the scenario
 * deployment on its GPU, else vllm-v1.  Returns 0, LLMSIM_EIO, LLMSIM_ESCENARIO
 * (err located at the offending field: file:line:col), LLMSIM_ELIMIT,
 * LLMSIM_ENOMEM. */
struct mdl_cal_step;
int scn_steps_csv_read(const char *path, const struct sim_scenario *sc, struct mdl_cal_step **rows, size_t *n,
                       struct llmsim_error *err);

/* Applies the entry of calibration file `path` (written by `llmsim
 * calibrate`) that matches r's GPU id and engine to r's parameters, as a
 * scenario's `latency: {calibration: ...}` does.  Returns 0, or
 * LLMSIM_ESCENARIO with err located in the file (or at path:1:1 when it has
 * no entry for this GPU and engine). */
struct mdl_roofline;
int scn_calibration_apply_file(const char *path, struct mdl_roofline *r, struct llmsim_error *err);

/* The resource budget (docs/scenario-reference.md, "Resource budget").  After
 * loading, the run a scenario asks for is estimated; past any limit below
 * the load fails (LLMSIM_ESCENARIO, located at the key to change) unless
 * scn_set_force(1) was called (the command line's --force).  Time
 * distributions that can draw negative times or times past
 * SCN_BUDGET_SPAN_S are refused whatever --force says. */
#define SCN_BUDGET_SPAN_S SIM_MAX_DURATION_S /* virtual seconds per replication (ten years) */
#define SCN_BUDGET_TS_ROWS 1e7               /* time-series rows, all replications together */
#define SCN_BUDGET_BYTES (16.0 * 1024 * 1024 * 1024) /* results-file bytes before compression */

enum scn_span_from { SCN_SPAN_DURATION, SCN_SPAN_RATE, SCN_SPAN_TRACE };
struct scn_budget {
    double arrival_span_s;   /* when arrivals stop, virtual seconds */
    enum scn_span_from span_from; /* what bounds it */
    double span_s;           /* arrival span plus a drain allowance (mean service and think times) */
    double rows_per_sample;  /* time-series rows per sample: one per deployment and self-hosted replica */
    double ts_rows;          /* time-series rows, all replications (0 without a time series) */
    double request_rows;     /* /requests rows, all replications (0 with output.requests false) */
    double bytes;            /* both tables' rows times their record sizes */
};
/* The estimate for a loaded scenario (lower bounds: drains can be longer). */
void scn_budget_estimate(const struct sim_scenario *sc, struct scn_budget *b);
/* Process-wide: 1 lets loads go past the budget (set once, before loading). */
void scn_set_force(int force);
int scn_get_force(void);

#endif
