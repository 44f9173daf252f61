/* Checks an output path before a command computes anything (cli.h).
 *
 * Results are written to "<path>.tmp-<pid>" and renamed onto the path, and a
 * rename replaces whatever is there: a symbolic link, a FIFO, a device node,
 * or the scenario the run was read from.  So the path must be new or a
 * regular file, must not be one of the command's inputs (or the llmsim
 * binary), must end in the extension of what is written, and an existing
 * file under a results name must already be an HDF5 file: anything else
 * there (a CSV, a script, notes) is some other program's file. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "llmsim/config.h"
#include "llmsim/scenario.h"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcasecmp(s + n - m, suffix) && s[n - m - 1] != '/';
}

/* 1 when the regular file at path starts with the HDF5 signature at 0,
 * 512, 1024, 2048, ... (where a user block may put it); 0 when not; -1 when
 * it cannot be read. */
static int is_hdf5(const char *path, off_t size)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int found = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    for (off_t off = 0; off + 8 <= size && off <= ((off_t)1 << 30); off = off ? 2 * off : 512) {
        unsigned char b[8];
        if (pread(fd, b, 8, off) == 8 && !memcmp(b, sig, 8)) {
            found = 1;
            break;
        }
    }
    close(fd);
    return found;
}

int cli_check_output(const char *who, const char *opt, const char *path, enum cli_out_kind kind,
                     const char *const *inputs, size_t n_inputs)
{
    if (path == NULL || path[0] == '\0') {
        cli_errorf("%s: %s '': an empty path; give the file to write, e.g. %s", who, opt,
                   kind == CLI_OUT_HDF5 ? "results/out.h5" : "cal.yaml");
        return LLMSIM_EXIT_USAGE;
    }
    struct stat st;
    int exists = lstat(path, &st) == 0;
    if (!exists && errno != ENOENT) {
        cli_errorf("%s: %s %s: %s", who, opt, path,
                   errno == ENOTDIR ? "a folder on the path is a file" : strerror(errno));
        return LLMSIM_EXIT_USAGE;
    }
    if (exists && !S_ISREG(st.st_mode)) {
        cli_errorf("%s: %s %s: is %s; refusing to replace it (write to a regular file or a new path)", who,
                   opt, path, scn_file_kind(st.st_mode));
        return LLMSIM_EXIT_USAGE;
    }
    if (exists) {
        for (size_t i = 0; i <= n_inputs; i++) {
            const char *in = i < n_inputs ? inputs[i] : "/proc/self/exe";
            struct stat si;
            if (in == NULL || in[0] == '\0' || stat(in, &si) != 0)
                continue;
            if (si.st_dev == st.st_dev && si.st_ino == st.st_ino) {
                if (i == n_inputs)
                    cli_errorf("%s: %s %s: is the llmsim program itself; refusing to overwrite it", who, opt,
                               path);
                else
                    cli_errorf("%s: %s %s: is the input file %s; refusing to overwrite an input (write the "
                               "output elsewhere)",
                               who, opt, path, in);
                return LLMSIM_EXIT_USAGE;
            }
        }
    }
    if (kind == CLI_OUT_HDF5 && !ends_with(path, ".h5") && !ends_with(path, ".hdf5") &&
        !ends_with(path, ".he5")) {
        cli_errorf("%s: %s %s: results are written as HDF5; give a name ending in .h5 (or .hdf5, .he5)", who,
                   opt, path);
        return LLMSIM_EXIT_USAGE;
    }
    if (kind == CLI_OUT_YAML && !ends_with(path, ".yaml") && !ends_with(path, ".yml")) {
        cli_errorf("%s: %s %s: a calibration file is YAML; give a name ending in .yaml (or .yml)", who, opt,
                   path);
        return LLMSIM_EXIT_USAGE;
    }
    if (exists && kind == CLI_OUT_HDF5 && st.st_size > 0 && is_hdf5(path, st.st_size) == 0) {
        cli_errorf("%s: %s %s: exists and is not an HDF5 file; refusing to replace it (remove it, or choose "
                   "another name)",
                   who, opt, path);
        return LLMSIM_EXIT_USAGE;
    }
    return 0;
}

size_t cli_scenario_inputs(const struct sim_scenario *sc, const char *scenario_file, const char **in,
                           size_t cap)
{
    size_t n = 0;
    if (scenario_file && n < cap)
        in[n++] = scenario_file;
    if (sc == NULL)
        return n;
    if (sc->workload.trace_path[0] && n < cap)
        in[n++] = sc->workload.trace_path;
    for (size_t i = 0; i < sc->n_deployments && n < cap; i++)
        if (sc->deployments[i].calibration[0])
            in[n++] = sc->deployments[i].calibration;
    return n;
}
