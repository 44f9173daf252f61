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

#endif
