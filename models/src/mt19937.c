/* MT19937 as a gsl_rng type; see llmsim/mt19937.h.
 *
 * Parameters of MT19937 (Matsumoto and Nishimura 1998, table 2): word size
 * 32, degree n = 624, middle word m = 397, separation r = 31 (upper mask
 * 0x80000000), twist matrix row a = 0x9908b0df; tempering shifts u = 11,
 * s = 7 with mask b = 0x9d2c5680, t = 15 with mask c = 0xefc60000, l = 18.
 *
 * The recurrence x[k+n] = x[k+m] ^ ((x[k]^u | x[k+1]^l) A) is computed in
 * place over the state vector, x[k+n] overwriting x[k].  In three pieces:
 * for k < n - m every operand is still an old word; for n - m <= k < n - 1
 * the x[k+m] operand is the new word written n - m = 227 places earlier;
 * the last word wraps round to x[0] (new) for its lower bits.  Within each
 * piece the iterations are independent at any distance below 227, so the
 * loops vectorise, the matrix product by A being a shift and a masked xor
 * (no table lookup, no branch).  Tempering then maps the whole block into
 * out[].
 *
 * Seeding is the authors' 2002 init_genrand: x[0] = seed, x[i] = 1812433253
 * (x[i-1] ^ (x[i-1] >> 30)) + i modulo 2^32 (Knuth's multiplier, TAOCP vol.
 * 2, 3rd ed., p. 106), the first block being twisted at the first draw.  As
 * GSL's mt19937 does, seed 0 stands for 4357, the test is on the whole
 * unsigned long, and only the low 32 bits of a seed are used. */
#include "llmsim/mt19937.h"

#include <stddef.h>

#define MT_M 397
#define MT_UPPER UINT32_C(0x80000000)
#define MT_LOWER UINT32_C(0x7fffffff)
#define MT_A UINT32_C(0x9908b0df)
#define MT_DEFAULT_SEED 4357UL

/* One step of the recurrence: the upper bit of hi, the lower 31 of lo, times
 * A (a right shift, xored with a when the bit shifted out is 1), xored into
 * mid. */
static inline uint32_t twist(uint32_t hi, uint32_t lo, uint32_t mid)
{
    uint32_t y = (hi & MT_UPPER) | (lo & MT_LOWER);
    return mid ^ (y >> 1) ^ (-(y & 1u) & MT_A);
}

static inline uint32_t temper(uint32_t y)
{
    y ^= y >> 11;
    y ^= (y << 7) & UINT32_C(0x9d2c5680);
    y ^= (y << 15) & UINT32_C(0xefc60000);
    y ^= y >> 18;
    return y;
}

/* Cuts a run of n words to whole vectors of the widest clone below. */
#define WHOLE_VECTORS(n) ((n) & ~(size_t)7)

/* Compiled twice, for AVX2 (8 words a vector) and for the x86-64 baseline's
 * SSE2 (4), the loader picking by the CPU (GCC's target_clones).  GCC at -O2
 * vectorises only loops that need no scalar remainder, so each piece of the
 * twist is cut at a multiple of 8 words and its remainder (3 words, then 4)
 * is a loop of its own; the tempering, 624 words, divides evenly. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* GCC on x86-64 Linux (ifunc); clang wants the clones declared before the
 * header's first use, and other targets have no "avx2": one build there. */
#define MT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MT_CLONES
#endif
MT_CLONES void mdl_mt_refill(struct mdl_mt_state *s)
{
    uint32_t *x = s->mt;
    size_t k;
    for (k = 0; k < WHOLE_VECTORS(MDL_MT_N - MT_M); k++)
        x[k] = twist(x[k], x[k + 1], x[k + MT_M]);
    for (; k < MDL_MT_N - MT_M; k++)
        x[k] = twist(x[k], x[k + 1], x[k + MT_M]);
    for (; k < MDL_MT_N - MT_M + WHOLE_VECTORS(MT_M - 1); k++)
        x[k] = twist(x[k], x[k + 1], x[k + MT_M - MDL_MT_N]);
    for (; k < MDL_MT_N - 1; k++)
        x[k] = twist(x[k], x[k + 1], x[k + MT_M - MDL_MT_N]);
    x[MDL_MT_N - 1] = twist(x[MDL_MT_N - 1], x[0], x[MT_M - 1]);
    for (k = 0; k < MDL_MT_N; k++)
        s->out[k] = temper(x[k]);
    s->next = 0;
}

static void mt_set(void *vstate, unsigned long seed)
{
    struct mdl_mt_state *s = vstate;
    if (seed == 0)
        seed = MT_DEFAULT_SEED;
    uint32_t prev = (uint32_t)(seed & 0xffffffffUL);
    s->mt[0] = prev;
    for (uint32_t i = 1; i < MDL_MT_N; i++) {
        prev = UINT32_C(1812433253) * (prev ^ (prev >> 30)) + i;
        s->mt[i] = prev;
    }
    s->next = MDL_MT_N; /* the first draw twists */
}

static unsigned long mt_get(void *vstate)
{
    return mdl_mt_word(vstate);
}

static double mt_get_double(void *vstate)
{
    return mdl_mt_uniform(vstate);
}

/* The name is GSL's: the words are the same, and gsl_rng_name stays what it
 * was before llmsim had its own type. */
const gsl_rng_type mdl_mt19937_type = {
    .name = "mt19937",
    .max = 0xffffffffUL,
    .min = 0,
    .size = sizeof(struct mdl_mt_state),
    .set = mt_set,
    .get = mt_get,
    .get_double = mt_get_double,
};

const gsl_rng_type *const mdl_mt19937 = &mdl_mt19937_type;
