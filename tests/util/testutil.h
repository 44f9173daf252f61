/* Helpers shared by the Check suites. */
#ifndef LLMSIM_TESTUTIL_H
#define LLMSIM_TESTUTIL_H

#include <stddef.h>

/* Reads a whole file into a malloc'ed NUL-terminated buffer (NULL on error). */
char *tu_read_file(const char *path, size_t *len);

/* Runs a shell command, capturing stdout+stderr into a malloc'ed buffer;
 * returns the exit status (or -1). */
int tu_run(const char *cmd, char **output);

/* A fresh temporary directory path (malloc'ed), created. */
char *tu_tmpdir(void);
/* Removes the files of a flat directory made by tu_tmpdir, the directory
 * itself, and frees the name. */
void tu_remove_dir(char *dir);

/* Runs a Check suite (CK_NORMAL output) and returns the process exit status:
 * EXIT_SUCCESS when every test passed. */
struct Suite;
int tu_run_suite(struct Suite *s);

/* Loads a scenario from YAML text (name "test.yaml") with optional --set
 * overrides; fails the current test with the located message on error. */
struct sim_scenario;
struct scn_override;
void tu_load_yaml(struct sim_scenario *sc, const char *yaml, const struct scn_override *o, size_t n);

/* Runs replication 0 of sc to the end into sink, failing the current test
 * on any error; copies the world's statistics to *st and its first
 * deployment's to *dep0 (either may be NULL). */
struct sim_sink;
struct sim_world_stats;
struct sim_deployment_stats;
void tu_run_world(const struct sim_scenario *sc, const struct sim_sink *sink, struct sim_world_stats *st,
                  struct sim_deployment_stats *dep0);

/* Runs every replication of sc through the statistics (and extra, when not
 * NULL, first) and returns the summary rows (free() them). */
struct ana_summary_row;
void tu_summarize(const struct sim_scenario *sc, const struct sim_sink *extra, struct ana_summary_row **rows,
                  size_t *n);

/* What a world reports through a sink: every request record (when
 * keep_requests; n_req counts them either way) and every scale record, in
 * arrays that grow.  tu_log_sink fills *out with the callbacks; tu_log_free
 * frees the arrays. */
struct sim_request_record;
struct sim_scale_record;
struct tu_log {
    int keep_requests;
    struct sim_request_record *req;
    size_t n_req, cap_req;
    struct sim_scale_record *sc;
    size_t n_sc, cap_sc;
};
void tu_log_sink(struct tu_log *l, struct sim_sink *out);
void tu_log_free(struct tu_log *l);

/* qsort comparison of doubles, ascending. */
int tu_cmp_double(const void *a, const void *b);

/* The mean of a summary row, failing the test when there is none. */
double tu_metric(const struct ana_summary_row *rows, size_t n, const char *scope, const char *metric);

#endif
