/* Regular, bounded input files (see infile.h).  The file is opened with
 * O_NONBLOCK so that opening a FIFO without a writer returns at once; fstat
 * then tells what was opened, and blocking mode is restored for reading. */
#include "infile.h"
#include "llmsim/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *scn_file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISLNK(m))
        return "a symbolic link";
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int scn_open_input(const char *path, unsigned long long max_bytes, FILE **out, char *why, size_t why_size)
{
    *out = NULL;
    if (why_size)
        why[0] = '\0';
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        const char *k = scn_file_kind(st.st_mode);
        snprintf(why, why_size, "is %s%s; refusing to read it (give a regular file)", k,
                 strcmp(k, "not a regular file") ? ", not a regular file" : "");
        close(fd);
        return -2;
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        snprintf(why, why_size, "is %llu bytes, more than the limit of %llu; refusing to read it",
                 (unsigned long long)st.st_size, max_bytes);
        close(fd);
        return -2;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *out = f;
    return 0;
}
