/* bench_sweep: wall-clock time of a 100-point `llmsim sweep` at --jobs 1
 * and --jobs 2 (and the machine's core count when larger), and whether the
 * results files agree.
 *
 * The scenario is the M/M/4 Erlang C model (scenarios/examples/mmc.yaml)
 * swept over 25 arrival rates x 4 replica counts, 20,000 requests and one
 * replication per point: 2 million simulated requests in all.  The
 * benchmark runs the llmsim binary beside its folder (build/llmsim), as a
 * user would, so the figure includes loading each point's scenario, the
 * statistics and writing /points and /sweep.  --smoke runs 4 points once.
 *
 * The machine's speed drifts from one second to the next (a shared VM), so
 * one run of each --jobs value says little about their ratio: the sweep is
 * run REPS times (--reps N) for each value, the values taking turns, and
 * the table gives each value's median and fastest wall time; the speed-up
 * is the median over the repetitions of the ratio of the two runs of the
 * same turn (runs a few seconds apart see the same machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static int run(const char *cmd)
{
    int st = system(cmd);
    return st == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int smoke = 0, reps_n = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            smoke = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc && atoi(argv[i + 1]) >= 1 && atoi(argv[i + 1]) <= 25)
            reps_n = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_sweep [--smoke] [--reps N (1 to 25)]\n");
            return 2;
        }
    }
    if (smoke)
        reps_n = 1;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "bench_sweep: cannot find my own path\n");
        return 1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0'; /* build/bench */
    slash = strrchr(self, '/');
    *slash = '\0'; /* build */
    char llmsim[4200], scen[4200];
    snprintf(llmsim, sizeof llmsim, "%s/llmsim", self);
    /* The source tree's scenario (CMake passes the source folder). */
    snprintf(scen, sizeof scen, "%s/scenarios/examples/mmc.yaml", LLMSIM_SOURCE_DIR);
    char tmp[] = "/tmp/bench_sweep.XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    const char *rates = smoke ? "24,32" : "20:32:0.5";
    const char *reps = smoke ? "4,5" : "4,5,6,8";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int jobs[3] = {1, 2, (int)(cores > 2 ? (cores > 16 ? 16 : cores) : 0)};
    double t[3][25] = {{0}}, med[3] = {0}, best[3] = {0};
    int points = smoke ? 4 : 100;
    for (int r = 0; r < reps_n; r++) {
        for (int k = 0; k < 3; k++) {
            if (jobs[k] == 0 || (smoke && k == 2))
                continue;
            char cmd[16384];
            snprintf(cmd, sizeof cmd,
                     "'%s' sweep '%s' --vary workload.arrivals.rate_per_s=%s --vary deployments.pool.replicas=%s "
                     "--set horizon='{requests: 20000, warmup_s: 0}' --set replications=1 "
                     "--set output.requests=false --jobs %d --quiet --no-progress --force -o %s/j%d.h5",
                     llmsim, scen, rates, reps, jobs[k], tmp, jobs[k]);
            double t0 = bench_mono_s();
            if (run(cmd) != 0) {
                fprintf(stderr, "bench_sweep: the sweep failed: %s\n", cmd);
                return 1;
            }
            t[k][r] = bench_mono_s() - t0;
        }
    }
    printf("| points | requests per point | --jobs | runs | median wall s | fastest wall s | points/s (median) "
           "| simulated requests/s (median) |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int k = 0; k < 3; k++) {
        if (t[k][0] == 0)
            continue;
        double v[25];
        memcpy(v, t[k], sizeof v);
        med[k] = bench_median(v, reps_n);
        best[k] = v[0];
        printf("| %d | 20000 | %d | %d | %.3f | %.3f | %.1f | %.3g |\n", points, jobs[k], reps_n, med[k], best[k],
               points / med[k], points * 20000.0 / med[k]);
    }
    double ratio[25];
    for (int r = 0; r < reps_n; r++)
        ratio[r] = t[1][r] > 0 ? t[0][r] / t[1][r] : 0.0;
    printf("\nspeed-up at --jobs 2 per turn:");
    for (int r = 0; r < reps_n; r++)
        printf(" %.2fx", ratio[r]);
    double med_ratio = bench_median(ratio, reps_n);
    /* The files must agree whatever --jobs was (h5dump when present). */
    char cmp[16384];
    snprintf(cmp, sizeof cmp,
             "command -v h5dump >/dev/null 2>&1 || exit 0; "
             "h5dump -d /sweep %s/j1.h5 | tail -n +2 > %s/a && h5dump -d /sweep %s/j2.h5 | tail -n +2 > %s/b && "
             "cmp -s %s/a %s/b",
             tmp, tmp, tmp, tmp, tmp, tmp);
    int same = run(cmp) == 0;
    printf("\n/sweep identical at --jobs 1 and 2: %s; speed-up at --jobs 2: %.2fx (median of the turns; "
           "%.2fx from the fastest runs)\n",
           same ? "yes" : "NO", med_ratio, best[1] > 0 ? best[0] / best[1] : 0.0);
    char rm[4200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
    if (run(rm) != 0)
        fprintf(stderr, "bench_sweep: could not remove %s\n", tmp);
    return same ? 0 : 1;
}
