/* Opening the files a scenario names (the scenario itself, traces, empirical
 * distributions, calibrations): regular files only, of bounded size, so that
 * a FIFO, a terminal or /dev/zero is refused instead of blocking or reading
 * forever.  Private to scenarios/. */
#ifndef SCN_INFILE_H
#define SCN_INFILE_H

#include <stddef.h>
#include <stdio.h>

#define SCN_TRACE_MAX_BYTES (16ull << 30) /* a request trace or a steps CSV */

/* Opens path for reading.  Returns 0 and the stream in *out; -1 when open()
 * failed (errno says why); -2 when the path is not a regular file or is
 * larger than max_bytes, with the reason in why ("is a FIFO, not a regular
 * file; refusing to read it"), written to follow the file's name. */
int scn_open_input(const char *path, unsigned long long max_bytes, FILE **out, char *why, size_t why_size);

#endif
