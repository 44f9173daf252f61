/* llmsim: latency models with no notion of time or events.
 *
 * Each function maps token counts (and, for the distributions, a gsl_rng) to
 * durations in seconds; the engine in sim/ decides when those durations
 * start.  Models (design.md section 4):
 *
 *   api           hosted model: TTFT = network + base + uncached input tokens
 *                 / prefill rate + cached input tokens / cached prefill rate;
 *                 then output at a per-request inter-token latency drawn from
 *                 itl_ms.
 *   service_time  a distribution of whole-request service times, ignoring
 *                 tokens (for validation against queueing theory).  The first
 *                 token comes when service ends.
 *   linear        prefill = a + b n + c n^2 for n prompt tokens; one decode
 *                 step = a + b_batch B + c_context C for a batch of B requests
 *                 holding C context tokens in all (the DistServe fit form).
 *                 The first token is produced by the prefill; each later token
 *                 needs one decode step. */
#ifndef LLMSIM_LATENCY_H
#define LLMSIM_LATENCY_H

#include "llmsim/dist.h"

enum mdl_latency_kind { MDL_LAT_API = 0, MDL_LAT_SERVICE_TIME, MDL_LAT_LINEAR, MDL_LAT_ROOFLINE };

struct mdl_api_latency {
    double network_ms;                  /* round trip added to TTFT, ms */
    double ttft_base_ms;                /* fixed server-side time to first token, ms */
    double prefill_tokens_per_s;        /* uncached prompt processing rate, tokens/s */
    double cached_prefill_tokens_per_s; /* cached prompt tokens, tokens/s (much faster) */
    struct mdl_dist itl_ms;             /* per-request inter-token latency, ms */
};

/* A measured latency profile of a hosted model (models/catalog/api_latency.yaml):
 * the api model's parameters fitted to one provider's measurements. */
#define MDL_PROFILE_ID_MAX 64
struct mdl_api_profile {
    char id[MDL_PROFILE_ID_MAX];        /* "together/llama-2-70b-chat" */
    char provider[32];
    double network_ms;                  /* assumed, as the pooled default's */
    double ttft_base_ms;                /* measured TTFT p50 - network - prefill */
    double prefill_tokens_per_s;        /* assumed, as the pooled default's */
    double itl_mean_ms;                 /* measured mean decode inter-token latency */
    double itl_cv;                      /* its coefficient of variation across requests */
    double ttft_p50_ms;                 /* measured TTFT median, for reference */
    int itl_requests;                   /* requests behind the ITL figures */
    char source[160];
    char date[16];
};

/* The embedded catalog of profiles, NUL-terminated YAML text. */
extern const char mdl_catalog_api_latency_yaml[];

struct mdl_linear_latency {
    double prefill_a_s;        /* s */
    double prefill_b_s;        /* s per prompt token */
    double prefill_c_s;        /* s per prompt token squared */
    double decode_a_s;         /* s per step */
    double decode_b_batch_s;   /* s per request in the batch, per step */
    double decode_c_context_s; /* s per context token in the batch, per step */
};

/* Time to first token of an api request, seconds (no queueing). */
double mdl_api_ttft_s(const struct mdl_api_latency *m, double uncached_tokens, double cached_tokens);

double mdl_linear_prefill_s(const struct mdl_linear_latency *m, double prompt_tokens);
double mdl_linear_decode_step_s(const struct mdl_linear_latency *m, double batch, double context_tokens);

/* Total time of the output_tokens - 1 decode steps that follow the prefill of
 * one request running alone (batch 1), whose context grows from
 * prompt_tokens + 1 by one token per step: closed form, O(1). */
double mdl_linear_decode_alone_s(const struct mdl_linear_latency *m, double prompt_tokens,
                                 double output_tokens);

#endif
