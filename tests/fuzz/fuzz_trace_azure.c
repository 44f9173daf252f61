/* libFuzzer harness: the azure trace reader (scn_trace_read_azure) on
 * arbitrary bytes, passed through an in-memory file. */
#include "fuzz_trace_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_trace_run(scn_trace_read_azure, data, size);
}
