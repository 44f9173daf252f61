/* llmsim: published joint outcome tables for a strong and a weak tier.
 *
 * A joint table gives, over the questions of a benchmark, the shares that
 * both tiers answer, only the strong one, only the weak one, and neither:
 * sampling these jointly keeps the correlation between tiers that routing
 * depends on (a question hard for one model is usually hard for the other).
 * Scenarios name a preset in `quality.joint.preset`; the shares of the
 * first entry are the default. */
#ifndef LLMSIM_QUALITY_H
#define LLMSIM_QUALITY_H

#include <stddef.h>

struct mdl_joint_preset {
    const char *id;           /* "routellm-mmlu", ... */
    const char *benchmark;    /* "MMLU", ... */
    int questions;            /* questions the shares are over */
    const char *strong_model; /* the models the shares were measured on */
    const char *weak_model;
    double both, only_strong, only_weak, neither; /* shares, sum 1 */
    const char *source;
    const char *date;
};

/* The presets, default first; *n gets their count. */
const struct mdl_joint_preset *mdl_joint_presets(size_t *n);

/* The preset with this id, or NULL. */
const struct mdl_joint_preset *mdl_joint_preset_find(const char *id);

#endif
