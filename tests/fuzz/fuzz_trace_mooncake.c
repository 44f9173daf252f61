/* libFuzzer harness: the mooncake trace reader (scn_trace_read_mooncake) on
 * arbitrary bytes, passed through an in-memory file. */
#include "fuzz_trace_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_trace_run(scn_trace_read_mooncake, data, size);
}
