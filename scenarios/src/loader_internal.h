/* Shared machinery of the scenario loader: the key-table walker, typed value
 * readers and located errors.  Private to scenarios/. */
#ifndef SCN_LOADER_INTERNAL_H
#define SCN_LOADER_INTERNAL_H

#include <stddef.h>

#include "llmsim/config.h"
#include "llmsim/error.h"
#include "llmsim/hardware.h"
#include "ynode.h"

#define SCN_DIST_CV_MAX 100.0               /* cv of a distribution (and sd / mean) */
#define SCN_EMPIRICAL_MAX_VALUES 10000000u  /* values in an empirical distribution file */
#define SCN_EMPIRICAL_MAX_BYTES (1ull << 30) /* bytes of that file */

struct scn_ctx {
    struct llmsim_error *err;
    char path[512];  /* dotted key path of the node being read */
    size_t path_len;
    const char *dir; /* directory of the scenario file, for relative paths ("" = cwd) */
    const char *file; /* name of the scenario, for messages about the whole document */
};

/* Value readers.  Each checks the node type and range and reports
 * "file:line:col: key.path: message" on failure. */
int scn_fail(struct scn_ctx *c, const struct yn_node *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
size_t scn_path_push(struct scn_ctx *c, const char *key);
size_t scn_path_push_index(struct scn_ctx *c, size_t i);
/* Pushes the item's `name` (or `segment`) when it has one, else its index,
 * so paths read like the --set paths that select it. */
size_t scn_path_push_item(struct scn_ctx *c, const struct yn_node *item, size_t i);
void scn_path_pop(struct scn_ctx *c, size_t mark);

int scn_get_scalar(struct scn_ctx *c, const struct yn_node *n, const char **out);
int scn_get_double(struct scn_ctx *c, const struct yn_node *n, double *out);
int scn_get_bool(struct scn_ctx *c, const struct yn_node *n, int *out);
int scn_get_name(struct scn_ctx *c, const struct yn_node *n, char *buf, size_t size);
int scn_get_dist(struct scn_ctx *c, const struct yn_node *n, struct mdl_dist *d, double lo, double hi);

/* Key tables (the netplan pattern): one row per accepted key. */
enum scn_ktype {
    SCN_K_DOUBLE, /* double at off, range [lo, hi] ((lo, hi] with SCN_KF_LO_OPEN) */
    SCN_K_INT,    /* int at off, integral, range [lo, hi] */
    SCN_K_U64,    /* uint64_t at off, integral, range [lo, hi] */
    SCN_K_BOOL,   /* int at off, true/false */
    SCN_K_NAME,   /* char[SIM_NAME_MAX] at off */
    SCN_K_STRDUP, /* char * at off, malloc'ed */
    SCN_K_STRBUF, /* char[hi] at off: a string of at most hi - 1 bytes */
    SCN_K_DIST,   /* struct mdl_dist at off; mean within [lo, hi] */
    SCN_K_FN      /* custom handler */
};
#define SCN_KF_REQUIRED 1u
#define SCN_KF_LO_OPEN 2u

/* Table columns type..hi of a SCN_K_STRBUF row for a char array field. */
#define SCN_STRBUF(type, field) SCN_K_STRBUF, offsetof(type, field), 0, (double)sizeof(((type *)0)->field)

typedef int (*scn_key_fn)(struct scn_ctx *c, const struct yn_node *val, void *obj);

struct scn_key {
    const char *key;
    enum scn_ktype type;
    size_t off;
    double lo, hi;
    unsigned flags;
    scn_key_fn fn;
};

/* Reads mapping n into obj: keys are processed in table order (so a later
 * row can rely on an earlier one), unknown keys are reported with a "did you
 * mean", missing required keys at the mapping's start. */
int scn_process_map(struct scn_ctx *c, const struct yn_node *n, const struct scn_key *table,
                    size_t n_keys, void *obj);

/* Reads a GPU or LLM entry (catalog row or inline scenario mapping) with the
 * catalog's key table.  Inline entries may leave out source/date. */
/* Applies the entry of calibration file `path` that matches r's GPU and
 * engine to r's parameters.  Errors in the file are reported at their place
 * in it; a file without an entry for this GPU and engine, at node `at`. */
int scn_calibration_apply(struct scn_ctx *c, const struct yn_node *at, const char *path, struct mdl_roofline *r);

int scn_read_gpu(struct scn_ctx *c, const struct yn_node *n, struct mdl_gpu *out, int inline_entry);
int scn_read_llm(struct scn_ctx *c, const struct yn_node *n, struct mdl_llm *out, int inline_entry);


/* A price entry's long-context keys are all set (above 0) or all unset;
 * else a located error at v. */
struct mdl_price;
int scn_check_long_context(struct scn_ctx *c, const struct yn_node *v, const struct mdl_price *p);

#endif
