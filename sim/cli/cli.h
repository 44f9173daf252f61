/* llmsim command line: one function per subcommand.  Each returns the
 * process exit code: 0 ok, 1 runtime failure, 2 usage or scenario error. */
#ifndef LLMSIM_CLI_H
#define LLMSIM_CLI_H

#define LLMSIM_EXIT_OK 0
#define LLMSIM_EXIT_RUNTIME 1
#define LLMSIM_EXIT_USAGE 2

#include <stddef.h>

/* argv[0] is the subcommand name. */
int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_levers(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_notebook(int argc, char **argv);
/* `llmsim calibrate requests`: argv[0] is "requests" (cmd_calibrate_requests.c). */
int cmd_calibrate_requests(int argc, char **argv);

/* Writes calibration entries (mdl_cal_write, `kind` "steps" or "requests",
 * `data` the measurement file) to path through "<path>.tmp-<pid>", renamed
 * when complete; `who` names the command in messages.  Returns an exit code. */
struct mdl_cal_entry;
int cli_write_calibration(const char *who, const char *path, const char *kind, const char *data,
                          const struct mdl_cal_entry *e, int n);

/* Output paths (outpath.c).  Checks path before anything is computed:
 * refuses an empty path, anything there but a regular file (a directory, a
 * symbolic link, a FIFO, a device), the same file as one of the inputs or
 * as the llmsim binary, a name without the kind's extension (.h5, .hdf5,
 * .he5 / .yaml, .yml), and for HDF5 an existing non-empty file that is not
 * HDF5.  Prints "llmsim: WHO: OPT PATH: why" and returns LLMSIM_EXIT_USAGE,
 * or 0.  opt names where the path came from ("-o", "output.path"). */
enum cli_out_kind { CLI_OUT_HDF5, CLI_OUT_YAML };
int cli_check_output(const char *who, const char *opt, const char *path, enum cli_out_kind kind,
                     const char *const *inputs, size_t n_inputs);
/* The files a loaded scenario was read from: scenario_file (when not
 * NULL), its trace, its calibration files (empirical distribution files are
 * not kept; the HDF5 content rule covers them).  Fills in[0..cap), returns
 * the count. */
struct sim_scenario;
size_t cli_scenario_inputs(const struct sim_scenario *sc, const char *scenario_file, const char **in,
                           size_t cap);

/* Progress on stderr (done, rate, ETA) for long runs, sweeps and plans:
 * mode 1 always (--progress), 0 never (--no-progress), -1 when stderr is a
 * terminal; nothing in the first second, at most four updates a second,
 * one line rewritten with \r and ended by cli_progress_end. */
struct cli_progress {
    int on, printed;
    const char *what; /* "run", "sweep", ... */
    const char *unit; /* NULL, or what total counts ("points") */
    double total, t0, last;
};
void cli_progress_init(struct cli_progress *p, int mode, const char *what);
void cli_progress_units(struct cli_progress *p, double total, const char *unit);
/* done in [0, 1]; ctx is the struct cli_progress (an ana_run_opts callback). */
void cli_progress_update(void *ctx, double done);
void cli_progress_end(struct cli_progress *p);

/* JSON: a string with escapes (NULL as ""), a number with `digits`
 * significant digits (NaN and infinities as null). */
#include <stdio.h>
void cli_json_str(FILE *f, const char *s);
void cli_json_num(FILE *f, double v, int digits);

/* Prints "llmsim: message" to stderr (one line). */
void cli_errorf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#endif
