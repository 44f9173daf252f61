/* bench_vidur: llmsim against Vidur on Vidur's own workload.
 *
 * Runs the llmsim binary (build/llmsim) on scenarios/examples/vidur-workload.yaml
 * (Llama-2-70B, two A100-80GB, tp 2, 512 in / 128 out, Poisson 2.5/s, batch
 * cap 128; 10^5 requests, the results file with /summary and /timeseries),
 * as a whole process, five times, and prints the median wall time, the CPU
 * time and peak RSS (wait4), and the speed-up over Vidur's measured 299.4 s
 * wall for the same 10^5 requests (bench/README.md says where it was
 * measured).  --smoke runs 1,000 requests once. */
#define _DEFAULT_SOURCE /* wait4 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define VIDUR_WALL_S 299.4 /* Vidur, 10^5 requests, this machine type, 2026-11-29 */

int main(int argc, char **argv)
{
    int smoke = argc > 1 && !strcmp(argv[1], "--smoke");
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "bench_vidur: cannot find my own path\n");
        return 1;
    }
    self[n] = '\0';
    *strrchr(self, '/') = '\0'; /* build/bench */
    *strrchr(self, '/') = '\0'; /* build */
    char llmsim[4200], scen[4200], out[64];
    snprintf(llmsim, sizeof llmsim, "%s/llmsim", self);
    snprintf(scen, sizeof scen, "%s/scenarios/examples/vidur-workload.yaml", LLMSIM_SOURCE_DIR);
    snprintf(out, sizeof out, "/tmp/bench_vidur.%ld.h5", (long)getpid());
    const char *requests = smoke ? "horizon.requests=1000" : "horizon.requests=100000";
    int reps = smoke ? 1 : 5;
    double wall[5], cpu[5];
    long rss = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_mono_s();
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execl(llmsim, llmsim, "run", scen, "--set", requests, "-o", out, "--quiet", "--no-progress", (char *)NULL);
            _exit(127);
        }
        int st;
        struct rusage ru;
        if (wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "bench_vidur: %s run %s failed\n", llmsim, scen);
            return 1;
        }
        wall[r] = bench_mono_s() - t0;
        cpu[r] = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
                 1e-6 * (double)ru.ru_stime.tv_usec;
        if (ru.ru_maxrss > rss)
            rss = ru.ru_maxrss;
    }
    unlink(out);
    qsort(wall, (size_t)reps, sizeof *wall, bench_cmp_double);
    qsort(cpu, (size_t)reps, sizeof *cpu, bench_cmp_double);
    double w = wall[reps / 2], c = cpu[reps / 2];
    printf("| requests | runs | wall s (median) | wall s (min) | CPU s (median) | peak RSS MiB | Vidur wall s | speed-up |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    if (smoke)
        printf("| 1000 | 1 | %.3f | %.3f | %.3f | %.1f | - | - |\n", w, wall[0], c, rss / 1024.0);
    else
        printf("| 100000 | %d | %.3f | %.3f | %.3f | %.1f | %.1f | %.0fx |\n", reps, w, wall[0], c, rss / 1024.0,
               VIDUR_WALL_S, VIDUR_WALL_S / w);
    return 0;
}
