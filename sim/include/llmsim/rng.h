/* llmsim: named random streams.
 *
 * Every source of randomness in a world draws from its own gsl_rng, seeded
 * from (scenario seed, replication, stream name) through a mixing function,
 * so that adding a class or a deployment never changes the draws of the
 * others, and replication r of two scenarios uses the same draws for the same
 * stream (common random numbers).  The generator is MT19937 with GSL's
 * seeding, fixed and documented: llmsim's own gsl_rng type mdl_mt19937
 * (llmsim/mt19937.h), which gives the words gsl_rng_mt19937 gives and lets
 * hot paths draw inline; GSL_RNG_TYPE and GSL_RNG_SEED are never read.
 *
 * Seed derivation: h = FNV-1a-64(stream name); then SplitMix64 finalisers
 * over seed, replication and h in turn; the low 32 bits (all that mt19937
 * uses) are taken and 0 is mapped to a fixed non-zero value, because GSL's
 * mt19937 treats seed 0 as its default seed 4357. */
#ifndef LLMSIM_RNG_H
#define LLMSIM_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

#include "llmsim/mt19937.h" /* the generator, and inline draws on it */

/* The 32-bit seed of one stream; never 0. */
unsigned long sim_stream_seed(uint64_t seed, uint32_t replication, const char *stream);

/* A new mdl_mt19937 generator seeded for the stream; NULL when out of
 * memory.  Free with gsl_rng_free. */
gsl_rng *sim_rng_alloc(uint64_t seed, uint32_t replication, const char *stream);

/* SplitMix64 finaliser (exposed for tests). */
uint64_t sim_splitmix64(uint64_t x);

#endif
