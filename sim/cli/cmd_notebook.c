/* llmsim notebook: a Jupyter notebook (and an HTML report) for results files.
 *
 * The notebook is written by notebooks-export/build_notebook.py, run with
 * Python: this command checks its arguments and the results files (so that
 * usage errors read like those of the other commands), finds the builder and
 * the interpreter, and runs them.  The builder writes the notebook under a
 * temporary name and renames it when complete (docs/notebooks.md).
 *
 * Builder: $LLMSIM_NOTEBOOKS_DIR/build_notebook.py when that variable is set;
 * else the first found of DIR/../notebooks-export, DIR/../share/llmsim/
 * notebooks-export (DIR: the folder of the llmsim binary) and the source
 * tree's notebooks-export/ (LLMSIM_SOURCE_DIR, compiled in).  Interpreter:
 * $LLMSIM_PYTHON, else /usr/bin/python3 (where Debian's packages are), else
 * python3 on the PATH.
 *
 * Exit status: 0 written; 2 usage error or a file that is not a readable
 * llmsim results file; 1 runtime failure (no Python, no builder, a notebook
 * cell failed, a write failed). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "llmsim/results.h"

#ifndef LLMSIM_SOURCE_DIR
#define LLMSIM_SOURCE_DIR ""
#endif

#define BUILDER "build_notebook.py"

static const char usage[] =
    "usage: llmsim notebook RESULTS.h5... [-o REPORT.ipynb] [--html] [--no-execute] [--quiet]\n"
    "\n"
    "Writes a Jupyter notebook for results files: one run (replications or not), a sweep,\n"
    "a plan, a levers ladder, or several files side by side.  Its plots (latency CDFs\n"
    "per class and deployment, cost per 1k requests by line, time series, GPU busy\n"
    "share and MFU, cache hit ratio, replications, tail attribution; for studies each\n"
    "metric against the varied key with CI bands, the Pareto frontier, the levers\n"
    "ladder) each come with a caption saying what to read from it; a plot whose data\n"
    "the file lacks is replaced by a sentence saying why.  The notebook is executed\n"
    "headless (nbclient, kernel python3), so it opens with its outputs.\n"
    "\n"
    "  -o, --output REPORT.ipynb  the notebook (default: the first file's name with\n"
    "                        .ipynb, or NAME-compare.ipynb for several files)\n"
    "  --html                also write REPORT.html beside it: one self-contained page,\n"
    "                        images embedded\n"
    "  --no-execute          write the notebook without running it (no outputs)\n"
    "  -q, --quiet           print nothing on success\n"
    "  -h, --help            show this help\n"
    "\n"
    "Needs Python 3 with matplotlib, pandas, h5py, PyYAML, nbformat, nbclient,\n"
    "ipykernel and nbconvert (Debian packages: .ci/deps.sh installs them).\n"
    "Environment: LLMSIM_PYTHON (the interpreter), LLMSIM_NOTEBOOKS_DIR (the folder of\n"
    "build_notebook.py).\n";

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcasecmp(s + n - m, suffix) && s[n - m - 1] != '/';
}

static int regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* path with its results extension (or the last extension) replaced by
 * suffix; malloc'ed. */
static char *swap_ext(const char *path, const char *suffix)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    size_t keep = dot && (!slash || dot > slash + 1) ? (size_t)(dot - path) : strlen(path);
    char *out = malloc(keep + strlen(suffix) + 1);
    if (out) {
        memcpy(out, path, keep);
        strcpy(out + keep, suffix);
    }
    return out;
}

/* An output path must be new or a regular file, and not one of the inputs. */
static int check_out(const char *opt, const char *path, char *const *in, int n_in)
{
    struct stat st, si;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISREG(st.st_mode)) {
        cli_errorf("notebook: %s %s: exists and is not a regular file; refusing to replace it", opt,
                   path);
        return LLMSIM_EXIT_USAGE;
    }
    for (int i = 0; i < n_in; i++)
        if (stat(in[i], &si) == 0 && si.st_dev == st.st_dev && si.st_ino == st.st_ino) {
            cli_errorf("notebook: %s %s: is one of the results files read", opt, path);
            return LLMSIM_EXIT_USAGE;
        }
    return 0;
}

/* The builder script, malloc'ed; NULL with a message printed when none is
 * found. */
static char *find_builder(void)
{
    char buf[PATH_MAX + 64];
    const char *env = getenv("LLMSIM_NOTEBOOKS_DIR");
    if (env && env[0]) {
        snprintf(buf, sizeof buf, "%s/%s", env, BUILDER);
        if (regular_file(buf))
            return strdup(buf);
        cli_errorf("notebook: LLMSIM_NOTEBOOKS_DIR=%s: no %s there", env, BUILDER);
        return NULL;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            static const char *const rel[] = {"../notebooks-export", "../share/llmsim/notebooks-export"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(buf, sizeof buf, "%s/%s/%s", exe, rel[i], BUILDER);
                if (regular_file(buf))
                    return strdup(buf);
            }
        }
    }
    if (LLMSIM_SOURCE_DIR[0]) {
        snprintf(buf, sizeof buf, "%s/notebooks-export/%s", LLMSIM_SOURCE_DIR, BUILDER);
        if (regular_file(buf))
            return strdup(buf);
    }
    cli_errorf("notebook: cannot find %s (looked beside the llmsim binary and in %s/notebooks-export); "
               "set LLMSIM_NOTEBOOKS_DIR to the folder that holds it",
               BUILDER, LLMSIM_SOURCE_DIR[0] ? LLMSIM_SOURCE_DIR : "the source tree");
    return NULL;
}

static const char *find_python(void)
{
    const char *env = getenv("LLMSIM_PYTHON");
    if (env && env[0])
        return env;
    if (access("/usr/bin/python3", X_OK) == 0)
        return "/usr/bin/python3";
    return "python3";
}

/* Runs argv; returns the exit status for llmsim. */
static int run_builder(char **argv)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        cli_errorf("notebook: cannot start %s: %s", argv[0], strerror(errno));
        return LLMSIM_EXIT_RUNTIME;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        cli_errorf("notebook: cannot run %s: %s (set LLMSIM_PYTHON to a Python 3 interpreter)",
                   argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            cli_errorf("notebook: waiting for %s: %s", argv[0], strerror(errno));
            return LLMSIM_EXIT_RUNTIME;
        }
    if (WIFEXITED(status)) {
        int rc = WEXITSTATUS(status);
        if (rc == 0 || rc == LLMSIM_EXIT_USAGE)
            return rc;
        if (rc != 1 && rc != 127)
            cli_errorf("notebook: %s %s failed (exit status %d)", argv[0], argv[1], rc);
        return LLMSIM_EXIT_RUNTIME;
    }
    if (WIFSIGNALED(status))
        cli_errorf("notebook: %s %s stopped by signal %d", argv[0], argv[1], WTERMSIG(status));
    return LLMSIM_EXIT_RUNTIME;
}

int cmd_notebook(int argc, char **argv)
{
    const char *out = NULL;
    int html = 0, no_exec = 0, quiet = 0, options = 1, rc = 0;
    char **files = calloc((size_t)argc, sizeof *files);
    int n = 0;
    if (!files) {
        cli_errorf("notebook: out of memory");
        return LLMSIM_EXIT_RUNTIME;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options && a[0] == '-' && a[1] != '\0') {
            if (!strcmp(a, "--")) {
                options = 0;
            } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                fputs(usage, stdout);
                free(files);
                return LLMSIM_EXIT_OK;
            } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
                if (i + 1 >= argc) {
                    cli_errorf("notebook: %s needs a value (see `llmsim notebook --help`)", a);
                    free(files);
                    return LLMSIM_EXIT_USAGE;
                }
                out = argv[++i];
            } else if (!strncmp(a, "--output=", 9)) {
                out = a + 9;
            } else if (!strcmp(a, "--html")) {
                html = 1;
            } else if (!strcmp(a, "--no-execute")) {
                no_exec = 1;
            } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
                quiet = 1;
            } else {
                cli_errorf("notebook: unknown option '%s' (see `llmsim notebook --help`)", a);
                free(files);
                return LLMSIM_EXIT_USAGE;
            }
        } else {
            files[n++] = argv[i];
        }
    }
    if (n == 0) {
        cli_errorf("notebook: no results files (usage: llmsim notebook RESULTS.h5... [-o REPORT.ipynb] "
                   "[--html] [--no-execute])");
        free(files);
        return LLMSIM_EXIT_USAGE;
    }
    /* Every file must be an llmsim results file: said here, like compare. */
    for (int i = 0; i < n; i++) {
        struct ana_h5_info info;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        if (ana_h5_read(files[i], &info, &err) != 0) {
            char msg[LLMSIM_ERROR_FILE_MAX + LLMSIM_ERROR_MSG_MAX + 8];
            llmsim_error_format(&err, msg, sizeof msg);
            if (err.file[0])
                cli_errorf("notebook: %s", msg);
            else
                cli_errorf("notebook: %s: %s", files[i], msg);
            free(files);
            return err.code == LLMSIM_ENOMEM ? LLMSIM_EXIT_RUNTIME : LLMSIM_EXIT_USAGE;
        }
        ana_h5_info_free(&info);
    }
    char *def_out = NULL, *html_out = NULL, *builder = NULL;
    if (!out) {
        def_out = swap_ext(files[0], n > 1 ? "-compare.ipynb" : ".ipynb");
        out = def_out;
    }
    if (!out) {
        cli_errorf("notebook: out of memory");
        rc = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    if (!out[0] || !ends_with(out, ".ipynb")) {
        cli_errorf("notebook: -o '%s': a notebook's name ends in .ipynb, e.g. results/report.ipynb", out);
        rc = LLMSIM_EXIT_USAGE;
        goto done;
    }
    if ((rc = check_out("-o", out, files, n)) != 0)
        goto done;
    if (html) {
        html_out = swap_ext(out, ".html");
        if (!html_out) {
            cli_errorf("notebook: out of memory");
            rc = LLMSIM_EXIT_RUNTIME;
            goto done;
        }
        if ((rc = check_out("--html", html_out, files, n)) != 0)
            goto done;
    }
    if (!(builder = find_builder())) {
        rc = LLMSIM_EXIT_RUNTIME;
        goto done;
    }
    {
        /* python builder FILE... -o OUT [--html] [--no-execute] [--quiet] NULL */
        char **av = calloc((size_t)n + 9, sizeof *av);
        if (!av) {
            cli_errorf("notebook: out of memory");
            rc = LLMSIM_EXIT_RUNTIME;
            goto done;
        }
        int k = 0;
        av[k++] = (char *)find_python();
        av[k++] = builder;
        av[k++] = "-o";
        av[k++] = (char *)out;
        if (html)
            av[k++] = "--html";
        if (no_exec)
            av[k++] = "--no-execute";
        if (quiet)
            av[k++] = "--quiet";
        av[k++] = "--";
        for (int i = 0; i < n; i++)
            av[k++] = files[i];
        av[k] = NULL;
        rc = run_builder(av);
        free(av);
    }
done:
    free(builder);
    free(html_out);
    free(def_out);
    free(files);
    return rc;
}
