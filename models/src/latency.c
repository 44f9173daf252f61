/* Latency models; see llmsim/latency.h. */
#include "llmsim/latency.h"

double mdl_api_ttft_s(const struct mdl_api_latency *m, double uncached_tokens, double cached_tokens)
{
    double t = (m->network_ms + m->ttft_base_ms) * 1e-3;
    if (m->prefill_tokens_per_s > 0)
        t += uncached_tokens / m->prefill_tokens_per_s;
    if (m->cached_prefill_tokens_per_s > 0)
        t += cached_tokens / m->cached_prefill_tokens_per_s;
    return t;
}

double mdl_linear_prefill_s(const struct mdl_linear_latency *m, double n)
{
    return m->prefill_a_s + m->prefill_b_s * n + m->prefill_c_s * n * n;
}

double mdl_linear_decode_step_s(const struct mdl_linear_latency *m, double batch, double context_tokens)
{
    return m->decode_a_s + m->decode_b_batch_s * batch + m->decode_c_context_s * context_tokens;
}

double mdl_linear_decode_alone_s(const struct mdl_linear_latency *m, double prompt_tokens,
                                 double output_tokens)
{
    /* Step j (j = 1 .. out-1) produces token j+1 while the context holds the
     * prompt and the j tokens produced so far: sum of a + b + c (n + j). */
    double steps = output_tokens - 1.0;
    if (steps <= 0)
        return 0.0;
    return steps * (m->decode_a_s + m->decode_b_batch_s + m->decode_c_context_s * prompt_tokens) +
           m->decode_c_context_s * steps * (steps + 1.0) / 2.0;
}
