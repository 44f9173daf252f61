/* Progress on stderr for long runs, sweeps and plans (see cli.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define FIRST_AFTER_S 1.0  /* short runs print nothing */
#define EVERY_S 0.25       /* at most four lines a second */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0f s", s);
    else if (s < 3600)
        snprintf(buf, n, "%d min %02d s", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%d h %02d min", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void cli_progress_init(struct cli_progress *p, int mode, const char *what)
{
    memset(p, 0, sizeof *p);
    p->on = mode > 0 || (mode < 0 && isatty(STDERR_FILENO));
    p->what = what;
    p->t0 = now_s();
    p->last = -1;
}

void cli_progress_units(struct cli_progress *p, double total, const char *unit)
{
    p->total = total;
    p->unit = unit;
}

void cli_progress_update(void *ctx, double done)
{
    struct cli_progress *p = ctx;
    if (!p || !p->on)
        return;
    double t = now_s(), el = t - p->t0;
    if (el < FIRST_AFTER_S || (p->last >= 0 && t - p->last < EVERY_S && done < 1))
        return;
    p->last = t;
    if (done < 0)
        done = 0;
    if (done > 1)
        done = 1;
    char e[32], eta[32];
    fmt_time(e, sizeof e, el);
    fmt_time(eta, sizeof eta, done > 0 ? el * (1 - done) / done : NAN);
    char units[64] = "";
    if (p->unit && p->total > 0)
        snprintf(units, sizeof units, " (%.0f/%.0f %s, %.3g/s)", done * p->total, p->total, p->unit,
                 el > 0 ? done * p->total / el : 0.0);
    fprintf(stderr, "\r%s: %3.0f%% done%s, %s elapsed, ETA %s   ", p->what, 100 * done, units, e, eta);
    fflush(stderr);
    p->printed = 1;
}

void cli_progress_end(struct cli_progress *p)
{
    if (p && p->printed) {
        fputc('\n', stderr);
        p->printed = 0;
    }
}
