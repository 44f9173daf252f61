/* Error codes and located messages; see llmsim/error.h. */
#include "llmsim/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *llmsim_strerror(int code)
{
    switch (code) {
#define LLMSIM_X_CASE(name, value, desc)                                      \
    case (value):                                                             \
        return desc;
        LLMSIM_ERRNO_MAP(LLMSIM_X_CASE)
#undef LLMSIM_X_CASE
    default:
        return "unknown error";
    }
}

void llmsim_error_clear(struct llmsim_error *e)
{
    if (e == NULL)
        return;
    memset(e, 0, sizeof *e);
}

int llmsim_error_set(struct llmsim_error *e, int code, const char *file, int line, int col,
                     const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    e->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

int llmsim_error_format(const struct llmsim_error *e, char *buf, size_t n)
{
    const char *msg = e->msg[0] ? e->msg : llmsim_strerror(e->code);
    if (e->file[0] == '\0')
        return snprintf(buf, n, "%s", msg);
    if (e->line <= 0)
        return snprintf(buf, n, "%s: %s", e->file, msg);
    if (e->col <= 0)
        return snprintf(buf, n, "%s:%d: %s", e->file, e->line, msg);
    return snprintf(buf, n, "%s:%d:%d: %s", e->file, e->line, e->col, msg);
}

_Noreturn void llmsim_assert_fail(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    abort();
}
