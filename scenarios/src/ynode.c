/* YAML event stream to a bounded tree; see ynode.h.  libyaml marks are
 * 0-based, ours are 1-based. */
#include "ynode.h"

#include <stdlib.h>
#include <string.h>

#include <yaml.h>

struct builder {
    const char *file;
    unsigned max_nodes, max_depth;
    unsigned nodes;
    struct llmsim_error *err;
};

const char *yn_type_name(enum yn_type t)
{
    switch (t) {
    case YN_SCALAR:
        return "a scalar";
    case YN_MAP:
        return "a mapping";
    case YN_SEQ:
        return "a sequence";
    }
    return "?";
}

void yn_free(struct yn_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            yn_free(n->keys[i]);
        yn_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->str);
    free(n);
}

static struct yn_node *node_new(struct builder *b, enum yn_type t, yaml_mark_t m)
{
    if (++b->nodes > b->max_nodes) {
        llmsim_error_set(b->err, LLMSIM_ELIMIT, b->file, (int)m.line + 1, (int)m.column + 1,
                         "document has more than %u nodes; refusing to load it", b->max_nodes);
        return NULL;
    }
    struct yn_node *n = calloc(1, sizeof *n);
    if (n == NULL) {
        llmsim_error_set(b->err, LLMSIM_ENOMEM, b->file, 0, 0, "out of memory");
        return NULL;
    }
    n->type = t;
    n->file = b->file;
    n->line = (int)m.line + 1;
    n->col = (int)m.column + 1;
    return n;
}

static int push_child(struct yn_node *parent, struct yn_node *key, struct yn_node *val)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        struct yn_node **v = realloc(parent->vals, cap * sizeof *v);
        if (v == NULL)
            return LLMSIM_ENOMEM;
        parent->vals = v;
        if (parent->type == YN_MAP) {
            struct yn_node **k = realloc(parent->keys, cap * sizeof *k);
            if (k == NULL)
                return LLMSIM_ENOMEM;
            parent->keys = k;
        }
        parent->cap = cap;
    }
    if (parent->type == YN_MAP)
        parent->keys[parent->n] = key;
    parent->vals[parent->n++] = val;
    return 0;
}

static int cmp_keyp(const void *a, const void *b)
{
    const struct yn_node *x = *(const struct yn_node *const *)a;
    const struct yn_node *y = *(const struct yn_node *const *)b;
    int c = strcmp(x->str, y->str);
    if (c != 0)
        return c;
    /* Later occurrences sort after earlier ones, so the report names the
     * second occurrence. */
    return (x->line != y->line) ? (x->line < y->line ? -1 : 1) : (x->col < y->col ? -1 : (x->col > y->col));
}

/* Duplicate keys: sort a copy of the key pointers (O(n log n), so a hostile
 * mapping with 10^5 keys stays cheap). */
static int check_duplicates(struct builder *b, const struct yn_node *map)
{
    if (map->n < 2)
        return 0;
    const struct yn_node **ks = malloc(map->n * sizeof *ks);
    if (ks == NULL)
        return llmsim_error_set(b->err, LLMSIM_ENOMEM, b->file, 0, 0, "out of memory");
    for (size_t i = 0; i < map->n; i++)
        ks[i] = map->keys[i];
    qsort(ks, map->n, sizeof *ks, cmp_keyp);
    int rc = 0;
    for (size_t i = 1; i < map->n; i++) {
        if (strcmp(ks[i]->str, ks[i - 1]->str) == 0) {
            rc = llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, ks[i]->line, ks[i]->col,
                                  "duplicate key '%s' (first defined at line %d)", ks[i]->str,
                                  ks[i - 1]->line);
            break;
        }
    }
    free(ks);
    return rc;
}

static int parser_error(struct builder *b, const yaml_parser_t *p)
{
    const char *what = p->problem ? p->problem : "YAML syntax error";
    yaml_mark_t m = p->problem_mark;
    if (p->context)
        return llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, (int)m.line + 1, (int)m.column + 1,
                                "YAML syntax error: %s %s (line %d)", what, p->context,
                                (int)p->context_mark.line + 1);
    return llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, (int)m.line + 1, (int)m.column + 1,
                            "YAML syntax error: %s", what);
}

/* Builds the node whose start event is *ev (already consumed); recursive in
 * depth, bounded by max_depth. */
static int build(struct builder *b, yaml_parser_t *p, yaml_event_t *ev, unsigned depth,
                 struct yn_node **out)
{
    *out = NULL;
    yaml_mark_t m = ev->start_mark;
    const yaml_char_t *anchor = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, (int)m.line + 1, (int)m.column + 1,
                                "YAML aliases are not allowed (alias '*%s'); write the value out",
                                (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        break;
    default:
        return llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, (int)m.line + 1, (int)m.column + 1,
                                "unexpected YAML event");
    }
    if (anchor != NULL)
        return llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, (int)m.line + 1, (int)m.column + 1,
                                "YAML anchors are not allowed (anchor '&%s'); write the value out",
                                (const char *)anchor);
    if (depth > b->max_depth)
        return llmsim_error_set(b->err, LLMSIM_ELIMIT, b->file, (int)m.line + 1, (int)m.column + 1,
                                "nesting deeper than %u levels; refusing to load it", b->max_depth);

    if (ev->type == YAML_SCALAR_EVENT) {
        struct yn_node *n = node_new(b, YN_SCALAR, m);
        if (n == NULL)
            return b->err ? b->err->code : LLMSIM_ENOMEM;
        n->len = ev->data.scalar.length;
        n->str = malloc(n->len + 1);
        if (n->str == NULL) {
            yn_free(n);
            return llmsim_error_set(b->err, LLMSIM_ENOMEM, b->file, 0, 0, "out of memory");
        }
        memcpy(n->str, ev->data.scalar.value, n->len);
        n->str[n->len] = '\0';
        /* A tagged scalar ("!!str 5") is a string, like a quoted one. */
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.tag == NULL;
        if (strlen(n->str) != n->len) {
            int line = n->line, col = n->col;
            yn_free(n);
            return llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, line, col,
                                    "scalar contains a NUL character");
        }
        *out = n;
        return 0;
    }

    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    struct yn_node *n = node_new(b, is_map ? YN_MAP : YN_SEQ, m);
    if (n == NULL)
        return b->err ? b->err->code : LLMSIM_ENOMEM;
    int rc = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(p, &e)) {
            rc = parser_error(b, p);
            break;
        }
        if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        struct yn_node *key = NULL, *val = NULL;
        if (is_map) {
            rc = build(b, p, &e, depth + 1, &key);
            yaml_event_delete(&e);
            if (rc != 0)
                break;
            if (key->type != YN_SCALAR) {
                rc = llmsim_error_set(b->err, LLMSIM_ESCENARIO, b->file, key->line, key->col,
                                      "mapping keys must be plain strings, not %s",
                                      yn_type_name(key->type));
                yn_free(key);
                break;
            }
            if (!yaml_parser_parse(p, &e)) {
                yn_free(key);
                rc = parser_error(b, p);
                break;
            }
        }
        rc = build(b, p, &e, depth + 1, &val);
        yaml_event_delete(&e);
        if (rc != 0) {
            yn_free(key);
            break;
        }
        if (push_child(n, key, val) != 0) {
            yn_free(key);
            yn_free(val);
            rc = llmsim_error_set(b->err, LLMSIM_ENOMEM, b->file, 0, 0, "out of memory");
            break;
        }
    }
    if (rc == 0 && is_map)
        rc = check_duplicates(b, n);
    if (rc != 0) {
        yn_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

int yn_parse(const char *text, size_t len, const char *file, unsigned max_nodes, unsigned max_depth,
             struct yn_node **root, struct llmsim_error *err)
{
    *root = NULL;
    struct builder b = {file, max_nodes, max_depth, 0, err};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return llmsim_error_set(err, LLMSIM_ENOMEM, file, 0, 0, "out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    int rc = 0;
    struct yn_node *doc = NULL;
    int docs = 0;
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&p, &e)) {
            rc = parser_error(&b, &p);
            break;
        }
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (++docs > 1) {
                rc = llmsim_error_set(err, LLMSIM_ESCENARIO, file, (int)e.start_mark.line + 1,
                                      (int)e.start_mark.column + 1,
                                      "more than one YAML document in the file; a scenario is one document");
                yaml_event_delete(&e);
                break;
            }
        } else if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
                   t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            rc = build(&b, &p, &e, 1, &doc);
            if (rc == 0 && doc->type == YN_SCALAR && doc->plain && doc->len == 0) {
                yn_free(doc); /* "---" followed by nothing */
                doc = NULL;
            }
        }
        yaml_event_delete(&e);
        if (rc != 0)
            break;
    }
    yaml_parser_delete(&p);
    if (rc != 0) {
        yn_free(doc);
        return rc;
    }
    *root = doc;
    return 0;
}

struct yn_node *yn_get(const struct yn_node *map, const char *key)
{
    if (map == NULL || map->type != YN_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->str, key) == 0)
            return map->vals[i];
    return NULL;
}

int yn_map_set(struct yn_node *map, const char *key, struct yn_node *val, const char *file, int line,
               int col)
{
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i]->str, key) == 0) {
            yn_free(map->vals[i]);
            map->vals[i] = val;
            return 0;
        }
    }
    struct yn_node *k = calloc(1, sizeof *k);
    if (k == NULL)
        return LLMSIM_ENOMEM;
    k->type = YN_SCALAR;
    k->file = file;
    k->line = line;
    k->col = col;
    k->plain = 1;
    k->len = strlen(key);
    k->str = strdup(key);
    if (k->str == NULL) {
        free(k);
        return LLMSIM_ENOMEM;
    }
    if (push_child(map, k, val) != 0) {
        yn_free(k);
        return LLMSIM_ENOMEM;
    }
    return 0;
}

int yn_is_null(const struct yn_node *n)
{
    if (n == NULL)
        return 1;
    if (n->type != YN_SCALAR || !n->plain)
        return 0;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

/* ---- flow text ---------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
    int oom;
};

static void put(struct buf *b, const char *s, size_t k)
{
    if (b->oom)
        return;
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + k + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, k);
    b->n += k;
    b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A scalar as it must be written to read back the same: plain when it was
 * plain and holds nothing that flow syntax would split, else double-quoted. */
static void put_scalar(struct buf *b, const struct yn_node *n)
{
    int plain = n->plain && n->len > 0 && strcspn(n->str, ",[]{}#\"'\n") == n->len &&
                !strstr(n->str, ": ") && n->str[0] != ' ' && n->str[n->len - 1] != ':';
    if (plain) {
        put(b, n->str, n->len);
        return;
    }
    if (n->plain && n->len == 0) {
        put(b, "~", 1);
        return;
    }
    put(b, "\"", 1);
    for (size_t i = 0; i < n->len; i++) {
        char c = n->str[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', c};
            put(b, e, 2);
        } else if (c == '\n') {
            put(b, "\\n", 2);
        } else {
            put(b, &c, 1);
        }
    }
    put(b, "\"", 1);
}

static void put_node(struct buf *b, const struct yn_node *n)
{
    if (n->type == YN_SCALAR) {
        put_scalar(b, n);
    } else if (n->type == YN_SEQ) {
        puts_(b, "[");
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                puts_(b, ", ");
            put_node(b, n->vals[i]);
        }
        puts_(b, "]");
    } else {
        puts_(b, "{");
        for (size_t i = 0; i < n->n; i++) {
            if (i)
                puts_(b, ", ");
            put_scalar(b, n->keys[i]);
            puts_(b, ": ");
            put_node(b, n->vals[i]);
        }
        puts_(b, "}");
    }
}

char *yn_to_flow(const struct yn_node *n)
{
    struct buf b = {0};
    put_node(&b, n);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (!b.p)
        return strdup("\"\"");
    return b.p;
}
