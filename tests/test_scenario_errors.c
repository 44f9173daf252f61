/* Broken scenarios and the exact error each must produce.
 *
 * Every tests/bad/NAME.yaml is loaded; the formatted error must equal the one
 * line in tests/bad/NAME.err, and the code must be a scenario/limit/io error.
 * LLMSIM_UPDATE_GOLDEN=1 in the environment rewrites the .err files instead
 * (review the diff before committing: a golden file changes only on purpose).
 * The corpus must hold at least 15 cases, among them an empty file, a YAML
 * syntax error, an alias bomb, a duplicate key, a wrong type, a dangling name
 * and an absurd request count. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/scenario.h"
#include "testutil.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_corpus)
{
    DIR *d = opendir("bad");
    ck_assert_ptr_nonnull(d);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    ck_assert_uint_ge(n, 15);
    const char *required[] = {"empty.yaml", "syntax.yaml", "alias_bomb.yaml", "duplicate_key.yaml",
                              "wrong_type.yaml", "dangling_route.yaml", "absurd_requests.yaml"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= strcmp(names[j], required[i]) == 0;
        ck_assert_msg(found, "corpus lacks %s", required[i]);
    }
    int update = getenv("LLMSIM_UPDATE_GOLDEN") != NULL;
    for (size_t i = 0; i < n; i++) {
        char path[512], errpath[512];
        snprintf(path, sizeof path, "bad/%s", names[i]);
        snprintf(errpath, sizeof errpath, "bad/%.*s.err", (int)(strlen(names[i]) - 5), names[i]);
        struct sim_scenario sc;
        struct llmsim_error err;
        llmsim_error_clear(&err);
        int rc = scn_load_file(&sc, path, NULL, 0, &err);
        ck_assert_msg(rc == LLMSIM_ESCENARIO || rc == LLMSIM_ELIMIT || rc == LLMSIM_EIO,
                      "%s: expected a scenario error, got %d", path, rc);
        char msg[2048];
        llmsim_error_format(&err, msg, sizeof msg);
        if (update) {
            FILE *f = fopen(errpath, "w");
            ck_assert_ptr_nonnull(f);
            fprintf(f, "%s\n", msg);
            fclose(f);
        } else {
            char *want = tu_read_file(errpath, NULL);
            ck_assert_msg(want != NULL, "%s is missing (run with LLMSIM_UPDATE_GOLDEN=1)", errpath);
            size_t wl = strlen(want);
            while (wl && (want[wl - 1] == '\n' || want[wl - 1] == '\r'))
                want[--wl] = '\0';
            ck_assert_msg(strcmp(msg, want) == 0, "%s:\n  got:  %s\n  want: %s", path, msg, want);
            free(want);
        }
        free(names[i]);
    }
}
END_TEST

/* The alias bomb must be refused at the first alias, long before expansion. */
START_TEST(test_alias_bomb_is_cheap)
{
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_int_eq(scn_load_file(&sc, "bad/alias_bomb.yaml", NULL, 0, &err), LLMSIM_ESCENARIO);
    ck_assert_int_eq(err.line, 1);
    ck_assert_ptr_nonnull(strstr(err.msg, "anchors are not allowed"));
}
END_TEST

/* A deeply nested document is refused by the depth limit, not the stack. */
START_TEST(test_deep_nesting)
{
    size_t depth = 100000;
    char *text = malloc(2 * depth + 1);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < depth; i++) {
        text[i] = '[';
        text[2 * depth - 1 - i] = ']';
    }
    text[2 * depth] = '\0';
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_string(&sc, text, strlen(text), "deep.yaml", NULL, 0, &err);
    ck_assert_int_eq(rc, LLMSIM_ELIMIT);
    ck_assert_ptr_nonnull(strstr(err.msg, "nesting deeper"));
    free(text);
}
END_TEST

/* Many keys in one mapping: the duplicate check stays O(n log n). */
START_TEST(test_wide_mapping)
{
    size_t n = 200000;
    char *text = malloc(n * 16 + 16);
    ck_assert_ptr_nonnull(text);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "k%zu: %zu\n", i, i);
    len += (size_t)sprintf(text + len, "k17: 1\n");
    struct sim_scenario sc;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_load_string(&sc, text, len, "wide.yaml", NULL, 0, &err);
    ck_assert_int_eq(rc, LLMSIM_ESCENARIO);
    ck_assert_int_eq(err.line, (int)n + 1);
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate key 'k17' (first defined at line 18)"));
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scenario_errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus);
    tcase_add_test(tc, test_alias_bomb_is_cheap);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_wide_mapping);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
