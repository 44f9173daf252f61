/* llmsim: the command-line entry point.  Dispatches to one function per
 * subcommand (cmd_*.c); only this layer prints and exits. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <gsl/gsl_errno.h>

#include "cli.h"
#include "llmsim/results.h"

#define LLMSIM_VERSION "0.1.0"

void cli_errorf(const char *fmt, ...)
{
    va_list ap;
    fputs("llmsim: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(FILE *f)
{
    fputs("usage: llmsim COMMAND [OPTIONS]\n"
          "\n"
          "A discrete-event simulator and what-if modeller for LLM inference latency and cost.\n"
          "\n"
          "commands:\n"
          "  run [SCENARIO.yaml]     simulate a scenario (the built-in default without one)\n"
          "  validate SCENARIO...    check scenarios without running them\n"
          "  sweep [SCENARIO.yaml] --vary KEY=V1,V2,...\n"
          "                          run the scenario at every combination of the values\n"
          "  plan [SCENARIO.yaml] --search KEY\n"
          "                          the least capacity (or most load) that meets the SLO\n"
          "  levers [SCENARIO.yaml]  the baseline, each lever alone and the levers stacked\n"
          "  merge SHARD.h5... -o OUT.h5\n"
          "                          merge the shard files of a sweep, plan or levers run\n"
          "  compare A.h5 B.h5 ...   compare the headline metrics of results files\n"
          "  notebook RESULTS.h5...  a Jupyter notebook (and HTML report) with plots of\n"
          "                          results files\n"
          "  catalog [prices|gpus|models|api-latency|quality]\n"
          "                          list the built-in catalogs\n"
          "  calibrate steps|requests|check ...\n"
          "                          fit the step-time model to measurements (calibration\n"
          "                          file), or check a calibration against measurements\n"
          "\n"
          "`llmsim COMMAND --help` describes each command.  Exit codes: 0 ok, 1 runtime failure,\n"
          "2 usage or scenario error.\n",
          f);
}

int main(int argc, char **argv)
{
    /* GSL must never abort the process: its failures are mapped to our codes. */
    gsl_set_error_handler_off();
#if defined(__GLIBC__)
    /* Blocks up to 32 MiB (glibc's largest mmap threshold) come from the heap,
     * and freed heap memory is handed back to the kernel only past 256 MiB
     * at its top.  A sweep or a plan allocates and frees each point's sample
     * arrays, HDF5 buffers and world pools, which by default are separate
     * mmaps: every point then paid fresh zeroed pages, munmap and the
     * process-wide memory-map lock that serialises the --jobs threads' page
     * faults.  Measured on bench_sweep (100 points, 2-core VM, quiet):
     * --jobs 1 2.0-2.5 s -> 1.6 s, --jobs 2 1.15-1.33 s -> 0.82-0.86 s
     * (speed-up 1.76-1.89x -> 1.88-1.98x); a single 10^6-request run is
     * unchanged in time and 16 MiB larger at its peak.  Results do not
     * depend on it. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
    /* Before any other HDF5 call: no exit handler, no automatic error printing. */
    ana_h5_init();
    if (argc < 2) {
        usage(stderr);
        return LLMSIM_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return LLMSIM_EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("llmsim %s\n", LLMSIM_VERSION);
        return LLMSIM_EXIT_OK;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return cmd_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "catalog"))
        return cmd_catalog(argc - 1, argv + 1);
    if (!strcmp(cmd, "calibrate"))
        return cmd_calibrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep"))
        return cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "plan"))
        return cmd_plan(argc - 1, argv + 1);
    if (!strcmp(cmd, "levers"))
        return cmd_levers(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge"))
        return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "notebook"))
        return cmd_notebook(argc - 1, argv + 1);
    cli_errorf("unknown command '%s' (try `llmsim --help`)", cmd);
    return LLMSIM_EXIT_USAGE;
}
