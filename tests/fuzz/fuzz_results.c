/* libFuzzer harness: the results reader (ana_h5_read, as `llmsim compare`
 * uses it) on arbitrary bytes passed through an in-memory file.  HDF5 itself
 * is not instrumented (the distribution's library), so coverage guidance
 * reaches only llmsim's side; what this proves is that garbage, truncated
 * or mutated results files are refused without a crash, a hang or a leak. */
#include <stdio.h>
#include <stdlib.h>

#include <hdf5.h>

#include "fuzz_util.h"
#include "llmsim/results.h"

#define FZ_MAX_INPUT (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* memfds take no locks the way HDF5 asks for them on some kernels. */
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
    ana_h5_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_MAX_INPUT)
        return -1;
    const char *path = fz_file_with(data, size);
    struct ana_h5_info info;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    if (ana_h5_read(path, &info, &err) == 0)
        ana_h5_info_free(&info);
    char msg[2048];
    llmsim_error_format(&err, msg, sizeof msg);
    /* Every HDF5 object the reader opened is closed again, on every path
     * (HDF5's own count: the leak check for handles, since run.sh leaves
     * allocations made inside the uninstrumented library to HDF5). */
    ssize_t open_objects = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (open_objects != 0) {
        fprintf(stderr, "fuzz_results: %zd HDF5 objects left open after ana_h5_read\n", open_objects);
        abort();
    }
    return 0;
}
