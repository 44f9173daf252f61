/* The resource budget check run at the end of loading (see budget.c and
 * llmsim/scenario.h).  Private to scenarios/. */
#ifndef SCN_BUDGET_H
#define SCN_BUDGET_H

#include "llmsim/config.h"
#include "loader_internal.h"
#include "ynode.h"

/* Refuses (located at the key to change) a time distribution that can draw
 * absurd values, and, unless scn_set_force(1), a scenario over the budget.
 * Returns 0 or LLMSIM_ESCENARIO. */
int scn_budget_check(struct scn_ctx *c, const struct yn_node *root, const struct sim_scenario *sc);

#endif
