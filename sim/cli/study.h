/* Shared machinery of `llmsim sweep`, `plan` and `levers`: options, loading
 * a point (the scenario with the base overrides and the point's own),
 * running points in threads, writing them as /points groups and the
 * /sweep table. */
#ifndef LLMSIM_CLI_STUDY_H
#define LLMSIM_CLI_STUDY_H

#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "llmsim/results.h"
#include "llmsim/runner.h"
#include "llmsim/scenario.h"
#include "llmsim/study.h"

#define STUDY_MAX_SETS 256
#define STUDY_MAX_POINTS 100000

struct study_args {
    const char *cmd;      /* "sweep", "plan", "levers" */
    const char *scenario; /* NULL: the built-in default */
    struct scn_override sets[STUDY_MAX_SETS];
    size_t n_sets;
    char seed_buf[32], reps_buf[32];
    const char *out;
    int jobs, progress, quiet, json;
    int shard_i, shard_n; /* this process runs the points with index % shard_n == shard_i */
    int shard_given;
};

extern volatile sig_atomic_t study_stop;
void study_catch_signals(void);

/* Sets defaults (jobs 1, progress auto, shard 0/1). */
void study_args_init(struct study_args *a, const char *cmd);
/* Takes the option at argv[*i] if it is a common one (-o, --set, --seed,
 * --replications, --jobs, --progress, --no-progress, --quiet, --json,
 * --shard, --force (scn_set_force); the scenario as the first non-option argument): returns 1 when
 * taken (*i advanced past its value), 0 when not a common option, -1 after
 * printing an error. */
int study_arg(struct study_args *a, int argc, char **argv, int *i);
/* Reads SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT (less
 * SLURM_ARRAY_TASK_MIN), OMPI_COMM_WORLD_RANK / _SIZE or PMI_RANK /
 * PMI_SIZE when --shard was not given.  Returns 0, or -1 after an error. */
int study_shard_env(struct study_args *a);

/* One point: its overrides ("key", "value" pairs after the base ones) and,
 * once run, its summary. */
struct study_point {
    size_t index;
    size_t n_sets;
    struct scn_override sets[40];
    char *owned[80];   /* strings behind sets */
    size_t n_owned;
    const char *origin; /* how the overrides were given, for messages: "--vary", "lever", ... */
    char label[512];   /* "key=value, key=value" */
    int replications;  /* 0: the scenario's */
    /* results */
    int rc; /* 0, 1 interrupted, negative failed */
    struct llmsim_error err;
    struct ana_summary_row *rows;
    size_t n_rows;
    struct ana_run_counts counts;
    char *resolved;
    FILE *spool; /* requests, when the scenario's output.requests is on and a file is written */
    char **names; /* class names then deployment names (for the requests table) */
    size_t n_classes, n_deployments;
    struct sim_slo_cfg slo;
    int done;
    int written; /* its group is in the file (study_run_points) */
};

/* Adds an override to a point (copies both strings). Returns 0 or -1. */
int study_point_set(struct study_point *p, const char *key, const char *value);
void study_point_free(struct study_point *p);

/* Loads the scenario with the base overrides of a, then extra (their
 * error messages name `origin` instead of --set). */
int study_load(const struct study_args *a, const struct scn_override *extra, size_t n_extra, const char *origin,
               struct sim_scenario *out, struct llmsim_error *err);
/* The given text of the scenario (malloc'ed). */
char *study_given_text(const struct study_args *a);

/* Runs the points (those with run != NULL && run[i], or all) in up to
 * a->jobs threads; each point's replications one after the other, so the
 * results are the same whatever jobs is.  When h5 is not NULL, finished
 * points are written as groups points/pNNNN in index order as soon as they
 * and every earlier one are done.  Stops starting points when study_stop is
 * set.  Returns 0 (every point ran), 1 (interrupted) or -1 (a point failed:
 * its error printed). */
int study_run_points(const struct study_args *a, struct study_point *pts, size_t n, size_t n_total,
                     struct ana_h5 *h5, struct cli_progress *prog);

/* The exit code after study_run_points failed: 2 when a point's scenario
 * was refused (a usage or scenario error), else 1. */
int study_failure_exit(const struct study_point *pts, size_t n);

/* Runs one point now, its replications in up to jobs threads (no
 * requests kept), showing progress on prog when not NULL.  Returns its rc. */
int study_eval_point(const struct study_args *a, struct study_point *p, int jobs, struct cli_progress *prog);
void study_print_point_error(const struct study_args *a, const struct study_point *p);
/* Writes a finished point as its group (name from its index and n_total). */
int study_write_point(struct ana_h5 *h5, const struct study_point *p, size_t n_total, struct llmsim_error *err);

/* The group name of point i among n_total: "points/p0003". */
void study_group_name(char *buf, size_t size, size_t i, size_t n_total);

/* Leading columns of the /sweep table besides `point`. */
struct study_key_col {
    const char *name;  /* a key path, or "lever", ... */
    const char **vals; /* per row (rows are the written points, in order) */
    int numeric;       /* 1: write as float64 */
};
/* Writes /sweep (one row per point with rc == 0, in the order given):
 * point, the key columns, the headline metrics with their _ci95, stable,
 * slo_met, pareto.  The pareto flags are computed here and returned in
 * pareto_out[k] for the k-th written row when not NULL. */
int study_write_sweep(struct ana_h5 *h5, const struct study_point *const *pts, size_t n,
                      const struct study_key_col *keys, size_t n_keys, int *pareto_out, struct llmsim_error *err);
/* The pareto flags of n points without writing anything. */
void study_pareto(const struct study_point *const *pts, size_t n, int *on);
/* The latency that the frontier uses, the same for every point: at the
 * SLO's percentile, TTFT when the SLO sets a TTFT target, else E2E when it
 * sets one, else the inter-token latency; e2e_s p95 without an SLO.  (A
 * stable point that misses the SLO can be on the frontier: the frontier is
 * about trade-offs, slo_met says which points are acceptable.) */
double study_latency(const struct study_point *p, const char **name);

/* Opens the results file (no root tables) with kind and the base scenario
 * text; default path: the scenario's output.path with "-KIND" before its
 * extension.  Writes the root attributes every study file has:
 * points_total (n_total), pareto_latency (study_latency's name for the
 * base scenario's SLO, for `llmsim merge`) and, on shards, shard_index and
 * shard_count.  Returns 0 or an exit code (the error printed). */
int study_open_file(const struct study_args *a, const struct sim_scenario *base, const char *kind, size_t n_total,
                    struct ana_h5 **h5, char *path, size_t path_size);

/* Whether a string is a plain number. */
int study_is_number(const char *s);

#endif
