/* llmsim: the MT19937 generator as a gsl_rng type, and inline draws on it.
 *
 * mdl_mt19937 is Matsumoto and Nishimura's Mersenne Twister (ACM TOMACS
 * 8(1), 1998, "Mersenne Twister: a 623-dimensionally equidistributed uniform
 * pseudo-random number generator") seeded with their 2002 init_genrand
 * recurrence, seed 0 standing for 4357 as in GSL: for every seed it gives the
 * same 32-bit words as gsl_rng_mt19937, and its get_double the same doubles
 * (word / 2^32).  It is a gsl_rng_type (GSL reference manual, "Random Number
 * Generator Algorithms"), so every gsl_ran_* sampler works on it unchanged;
 * its state struct is ours, so the hot paths below draw without a call
 * through the type's function pointers.
 *
 * The state keeps the words of the current block already tempered: the
 * twist of all 624 state words and their tempering run together, out of
 * line, once per 624 draws, in loops the compiler vectorises, and a draw is
 * then one load.
 *
 * The inline draws take any gsl_rng: on one of another type they are GSL's
 * own calls, so their results never depend on which generator type a caller
 * made. */
#ifndef LLMSIM_MT19937_H
#define LLMSIM_MT19937_H

#include <math.h>
#include <stdint.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define MDL_MT_N 624 /* words in the state vector (and in one block of output) */

struct mdl_mt_state {
    uint32_t next;          /* index into out[] of the next word; MDL_MT_N: block used up */
    uint32_t out[MDL_MT_N]; /* the current block, tempered */
    uint32_t mt[MDL_MT_N];  /* the state vector that produced it */
};

/* The type; compare a gsl_rng's type with &mdl_mt19937_type. */
extern const gsl_rng_type mdl_mt19937_type;
/* The same as a pointer, in the style of gsl_rng_mt19937. */
extern const gsl_rng_type *const mdl_mt19937;

/* Twists the state vector into the next block and starts it (next = 0). */
void mdl_mt_refill(struct mdl_mt_state *s);

/* The next 32-bit word. */
static inline uint32_t mdl_mt_word(struct mdl_mt_state *s)
{
    if (__builtin_expect(s->next >= MDL_MT_N, 0))
        mdl_mt_refill(s);
    return s->out[s->next++];
}

/* gsl_rng_uniform on the state: [0, 1), the word over 2^32 (exact; the
 * compiler turns the division by a power of two into a multiplication). */
static inline double mdl_mt_uniform(struct mdl_mt_state *s)
{
    return mdl_mt_word(s) / 4294967296.0;
}

/* The state of r when r is one of ours, else NULL. */
static inline struct mdl_mt_state *mdl_mt_of(const gsl_rng *r)
{
    if (__builtin_expect(r->type == &mdl_mt19937_type, 1))
        return r->state;
    return NULL;
}

/* gsl_rng_uniform(r). */
static inline double mdl_rng_uniform(const gsl_rng *r)
{
    struct mdl_mt_state *s = mdl_mt_of(r);
    return s != NULL ? mdl_mt_uniform(s) : gsl_rng_uniform(r);
}

/* gsl_ran_exponential(r, mu), bit for bit: inversion of one uniform u, as
 * -mu ln(1 - u) with log1p (GSL >= 2.0; Knuth, TAOCP vol. 2, 3rd ed.,
 * section 3.4.1 D).  u = 0 gives +0; u < 1 always, so the result is finite. */
static inline double mdl_ran_exponential(const gsl_rng *r, double mu)
{
    struct mdl_mt_state *s = mdl_mt_of(r);
    if (s == NULL)
        return gsl_ran_exponential(r, mu);
    double u = mdl_mt_uniform(s);
    return -mu * log1p(-u);
}

/* gsl_ran_lognormal(r, zeta, sigma), bit for bit: exp(zeta + sigma z) with z
 * the first normal of Marsaglia and Bray's polar method (SIAM Review 6(3),
 * 1964; Knuth, TAOCP vol. 2, section 3.4.1 C, algorithm P): points (u, v)
 * uniform on the square [-1, 1)^2 are drawn until one lies inside the unit
 * circle and off the origin, and z = u sqrt(-2 ln(r2) / r2).  The second
 * normal (v) is discarded, as GSL does.  The operations and their order are
 * GSL's, which decides the last bit: 2U - 1 for each coordinate, u^2 + v^2
 * summed in that order, -2 ln(r2) divided by r2, and sigma z added to zeta.
 * Every product is its own statement so that no compiler contracts it with
 * the following sum into a fused multiply-add, whose single rounding would
 * change the last bit (GCC does not contract in ISO C mode, Clang contracts
 * within one expression when the target has FMA). */
static inline double mdl_ran_lognormal(const gsl_rng *r, double zeta, double sigma)
{
    struct mdl_mt_state *s = mdl_mt_of(r);
    if (s == NULL)
        return gsl_ran_lognormal(r, zeta, sigma);
    double u, v, r2;
    do {
        double twice_u = 2 * mdl_mt_uniform(s);
        u = -1 + twice_u;
        double twice_v = 2 * mdl_mt_uniform(s);
        v = -1 + twice_v;
        double uu = u * u, vv = v * v;
        r2 = uu + vv;
    } while (r2 > 1.0 || r2 == 0);
    double z = u * sqrt(-2.0 * log(r2) / r2);
    double sz = sigma * z;
    return exp(sz + zeta);
}

#endif
