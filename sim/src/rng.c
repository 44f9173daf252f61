/* Named random streams; see llmsim/rng.h.
 *
 * Seed derivation (all arithmetic modulo 2^64):
 *
 *   h = FNV-1a-64(stream name)   offset basis 0xcbf29ce484222325,
 *                                prime 0x100000001b3 (Fowler, Noll, Vo)
 *   z = splitmix64(seed)
 *   z = splitmix64(z ^ replication)
 *   z = splitmix64(z ^ h)
 *   s = z & 0xffffffff, and 0 becomes ZERO_SEED_SUBSTITUTE
 *
 * splitmix64(x) is the first output of Steele, Lea and Flood's SplitMix64
 * generator started from state x: x plus the golden-ratio increment
 * 0x9e3779b97f4a7c15, then Stafford's "variant 13" finaliser (the mixer of
 * java.util.SplittableRandom).  Each step is a bijection of 64-bit words, so
 * for a given seed, distinct replications (and then distinct name hashes)
 * give distinct 64-bit values; only the truncation to the 32 bits mt19937
 * takes can make two streams collide (probability 2^-32 per pair).
 *
 * The generator is always llmsim's mt19937 (llmsim/mt19937.h: the words of
 * gsl_rng_mt19937, with a state the hot paths read inline), seeded with
 * gsl_rng_set; this file never calls gsl_rng_env_setup, and since
 * gsl_rng_set overwrites the whole state, neither GSL_RNG_TYPE nor
 * GSL_RNG_SEED (nor a gsl_rng_env_setup called elsewhere in the process)
 * changes any draw. */
#include "llmsim/rng.h"

#include "llmsim/error.h"

#define FNV64_OFFSET_BASIS UINT64_C(0xcbf29ce484222325)
#define FNV64_PRIME UINT64_C(0x100000001b3)

/* GSL's mt19937 maps seed 0 to its default 4357, which would make the
 * stream that happens to hash to 0 share its draws with seed 4357.  This
 * constant (the 32-bit golden ratio) replaces it; the resulting alias is
 * 2^-32 unlikely, as for any pair of streams. */
#define ZERO_SEED_SUBSTITUTE 0x9e3779b9UL

uint64_t sim_splitmix64(uint64_t x)
{
    uint64_t z = x + UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = FNV64_OFFSET_BASIS;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= FNV64_PRIME;
    }
    return h;
}

unsigned long sim_stream_seed(uint64_t seed, uint32_t replication, const char *stream)
{
    LLMSIM_ASSERT(stream != NULL);
    uint64_t z = sim_splitmix64(seed);
    z = sim_splitmix64(z ^ (uint64_t)replication);
    z = sim_splitmix64(z ^ fnv1a64(stream));
    unsigned long s = (unsigned long)(z & UINT64_C(0xffffffff));
    return s != 0 ? s : ZERO_SEED_SUBSTITUTE;
}

gsl_rng *sim_rng_alloc(uint64_t seed, uint32_t replication, const char *stream)
{
    gsl_rng *r = gsl_rng_alloc(mdl_mt19937);
    if (r == NULL)
        return NULL;
    gsl_rng_set(r, sim_stream_seed(seed, replication, stream));
    return r;
}
