/* Shared helpers of the libFuzzer harnesses (tests/fuzz, docs/fuzzing.md).
 *
 * The trace and results readers take a path, so the harnesses write each
 * input to one anonymous in-memory file (memfd) and pass /proc/self/fd/N:
 * no disk traffic, nothing left behind, and the file is a regular file as
 * the readers expect. */
#ifndef LLMSIM_FUZZ_UTIL_H
#define LLMSIM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The path of the memfd holding data (valid until the next call). */
static inline const char *fz_file_with(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("llmsim-fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
        perror("writing the fuzz input");
        abort();
    }
    return path;
}

#endif
