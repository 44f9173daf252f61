/* The body of the two trace harnesses: reader(t, path, err) on the input. */
#ifndef LLMSIM_FUZZ_TRACE_COMMON_H
#define LLMSIM_FUZZ_TRACE_COMMON_H

#include <stdlib.h>

#include "fuzz_util.h"
#include "llmsim/scenario.h"

#define FZ_TRACE_MAX_INPUT (1u << 20)

static inline void fz_trace_free(struct sim_trace *t)
{
    free(t->t_s);
    free(t->input_tokens);
    free(t->output_tokens);
    free(t->hash_off);
    free(t->hash_ids);
}

static inline int fz_trace_run(int (*reader)(struct sim_trace *, const char *, struct llmsim_error *),
                               const uint8_t *data, size_t size)
{
    if (size > FZ_TRACE_MAX_INPUT)
        return -1;
    const char *path = fz_file_with(data, size);
    struct sim_trace t;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = reader(&t, path, &err);
    if (rc == 0) {
        /* What the simulator relies on: sorted, finite, non-negative times
         * (NaN seconds were accepted once: issue 11 item 5, now the
         * regression tests/bad/trace_nan_time.csv). */
        for (size_t i = 0; i < t.n; i++)
            if (!(t.t_s[i] >= 0.0 && t.t_s[i] <= 1e300) || (i && t.t_s[i] < t.t_s[i - 1]))
                abort();
        if (t.hash_off != NULL && t.hash_off[0] != 0)
            abort();
        fz_trace_free(&t);
    } else {
        char msg[2048];
        llmsim_error_format(&err, msg, sizeof msg);
    }
    return 0;
}

#endif
