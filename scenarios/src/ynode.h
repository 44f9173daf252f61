/* A small YAML document tree built from libyaml's event stream.
 *
 * libyaml's own document API keeps aliases, accepts duplicate keys and has no
 * limits, so the loader builds this tree instead: scalars, mappings and
 * sequences, each with the 1-based line and column of where it starts and the
 * name of the input it came from.  Anchors and aliases are refused (a 329-byte
 * "billion laughs" file would otherwise expand to 10^8 nodes), duplicate keys
 * are refused, and the node count and nesting depth are bounded.
 *
 * Ownership: yn_parse returns a tree the caller frees with yn_free; every node
 * owns its children and its scalar text.  `file` points to a string the
 * caller keeps alive for as long as the tree. */
#ifndef SCN_YNODE_H
#define SCN_YNODE_H

#include <stddef.h>

#include "llmsim/error.h"

enum yn_type { YN_SCALAR, YN_MAP, YN_SEQ };

struct yn_node {
    enum yn_type type;
    const char *file;       /* input name, not owned */
    int line, col;          /* 1-based start of the node */
    char *str;              /* scalar text (NUL-terminated, owned) */
    size_t len;             /* scalar length in bytes */
    int plain;              /* scalar was unquoted (so "null", "~" and "" mean nothing) */
    size_t n;               /* map: pairs; seq: items */
    size_t cap;
    struct yn_node **keys;  /* map keys (scalars), owned */
    struct yn_node **vals;  /* map values / seq items, owned */
};

/* Parses one YAML document.  An empty document gives *root = NULL and
 * returns 0 (the caller decides whether that is an error).  A second
 * document in the stream is an error.  Returns 0 or LLMSIM_ESCENARIO /
 * LLMSIM_ENOMEM with err located at the offending mark. */
int yn_parse(const char *text, size_t len, const char *file, unsigned max_nodes, unsigned max_depth,
             struct yn_node **root, struct llmsim_error *err);

void yn_free(struct yn_node *n);

/* Value for key in a mapping, or NULL. */
struct yn_node *yn_get(const struct yn_node *map, const char *key);

/* Replaces (or adds, for a mapping key that is absent) a value; takes
 * ownership of val.  Returns 0 or LLMSIM_ENOMEM. */
int yn_map_set(struct yn_node *map, const char *key, struct yn_node *val, const char *file, int line,
               int col);

/* A scalar that denotes nothing: plain "", "~", "null", "Null", "NULL". */
int yn_is_null(const struct yn_node *n);

const char *yn_type_name(enum yn_type t);

/* The node as one line of YAML flow text that parses back to the same
 * tree (malloc'ed; NULL when out of memory): the value of a --set. */
char *yn_to_flow(const struct yn_node *n);

#endif
