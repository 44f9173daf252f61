/* llmsim: error codes, located error messages and the assert macro.
 *
 * Every library function of llmsim returns an int: 0 on success or one of the
 * negative LLMSIM_E* codes below, which come from one X-macro list so that
 * llmsim_strerror() can never fall out of step with the enum.  Where the
 * failure concerns user input (a scenario, a trace, a --set override) the
 * function also fills a caller-owned struct llmsim_error with the location and
 * a message; llmsim_error_format() renders it as "file:line:col: message", the
 * form every compiler and editor understands.  Lines and columns are 1-based;
 * 0 means "unknown" and is left out of the rendering.
 *
 * Only main() prints and exits.  Programmer errors (broken invariants, not bad
 * input) go through LLMSIM_ASSERT, which reports through one function.
 *
 * This header lives in models/ because models/ depends on nothing of ours and
 * every other library depends on it. */
#ifndef LLMSIM_ERROR_H
#define LLMSIM_ERROR_H

#include <stddef.h>

/* X(name, value, description) */
#define LLMSIM_ERRNO_MAP(X)                                                   \
    X(OK, 0, "success")                                                       \
    X(NOMEM, -1, "out of memory")                                             \
    X(INVAL, -2, "invalid argument")                                          \
    X(SCENARIO, -3, "invalid scenario")                                       \
    X(IO, -4, "input/output error")                                           \
    X(HDF5, -5, "HDF5 library error")                                         \
    X(RANGE, -6, "value out of range")                                        \
    X(LIMIT, -7, "size limit exceeded")                                       \
    X(NOTFOUND, -8, "not found")                                              \
    X(NUMERIC, -9, "numerical failure")                                       \
    X(STATE, -10, "operation not valid in this state")

enum llmsim_errno {
#define LLMSIM_X_ENUM(name, value, desc) LLMSIM_E##name = (value),
    LLMSIM_ERRNO_MAP(LLMSIM_X_ENUM)
#undef LLMSIM_X_ENUM
};

/* Static description of a code; never NULL ("unknown error" for foreign codes). */
const char *llmsim_strerror(int code);

#define LLMSIM_ERROR_FILE_MAX 256
#define LLMSIM_ERROR_MSG_MAX 768

/* A located error.  Owned by the caller; functions only write into it. */
struct llmsim_error {
    int code;                          /* LLMSIM_E* code, 0 when unset */
    char file[LLMSIM_ERROR_FILE_MAX];  /* input name ("" when not about input) */
    int line;                          /* 1-based, 0 when unknown */
    int col;                           /* 1-based, 0 when unknown */
    char msg[LLMSIM_ERROR_MSG_MAX];    /* one line, no trailing newline */
};

/* Clears *e (code 0, empty strings).  NULL is allowed and ignored. */
void llmsim_error_clear(struct llmsim_error *e);

/* Fills *e and returns code, so callers can write
 *     return llmsim_error_set(err, LLMSIM_ESCENARIO, file, line, col, "...", ...);
 * e may be NULL (the code is still returned).  file may be NULL. */
int llmsim_error_set(struct llmsim_error *e, int code, const char *file, int line, int col,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* Renders "file:line:col: message" (parts that are unknown are left out) into
 * buf of size n; returns the length that would have been written (snprintf). */
int llmsim_error_format(const struct llmsim_error *e, char *buf, size_t n);

/* Programmer-error check: always on (cheap invariants only), reports
 * "file:line: assertion failed: expr" on stderr and aborts. */
_Noreturn void llmsim_assert_fail(const char *file, int line, const char *expr);
#define LLMSIM_ASSERT(cond)                                                   \
    ((cond) ? (void)0 : llmsim_assert_fail(__FILE__, __LINE__, #cond))

#endif
