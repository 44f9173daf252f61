/* Published joint outcome tables; see llmsim/quality.h. */
#include "llmsim/quality.h"

#include <string.h>

/* RouteLLM's evaluation data: per-question correctness of GPT-4-1106 and
 * Mixtral-8x7B-Instruct on each benchmark, as gathered in the project's
 * reference facts (shares in percent there, rounded to 0.01). */
static const struct mdl_joint_preset presets[] = {
    {"routellm-mmlu", "MMLU", 14042, "gpt-4-1106-preview", "mixtral-8x7b-instruct", 0.6280, 0.1778, 0.0528, 0.1414,
     "RouteLLM (lm-sys/RouteLLM) evaluation data, per-question correctness; strong 80.58%, weak 68.08%", "2024"},
    {"routellm-gsm8k", "GSM8K", 1319, "gpt-4-1106-preview", "mixtral-8x7b-instruct", 0.5663, 0.2904, 0.0720, 0.0713,
     "RouteLLM (lm-sys/RouteLLM) evaluation data, per-question correctness; strong 85.67%, weak 63.84%", "2024"},
};

const struct mdl_joint_preset *mdl_joint_presets(size_t *n)
{
    *n = sizeof presets / sizeof presets[0];
    return presets;
}

const struct mdl_joint_preset *mdl_joint_preset_find(const char *id)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strcmp(presets[i].id, id) == 0)
            return &presets[i];
    return NULL;
}
