/* A calibration transfers to measurements it was not fitted on.
 *
 * The fitted parameters are hardware ones (GEMM and bandwidth efficiencies,
 * the fixed time per layer, all-reduce latency and link efficiency), so a
 * calibration made on some models or tensor-parallel degrees of a GPU must
 * predict the others.  Data: the Vidur operator profiles in
 * models/calibration/vidur-steps.csv (A100-80GB and H100; Llama-2 7B/70B,
 * Llama-3 8B/70B; tp 1-8; linear-layer and all-reduce kernels).  Each case
 * fits on one part and predicts the held-out linear rows.
 *
 * Bounds: the issue asks for held-out errors within 15% median (goal 10%).
 * Measured with `llmsim calibrate check` on these splits: 7-8B models ->
 * 70B models 4.2% overall (largest group 6.8%), tp 1-2 -> tp 4-8 3.8%
 * (7.6%), Llama-3 -> Llama-2 on A100 3.9% (5.2%).  Each overall median is
 * asserted at the 10% goal and each group (GPU, model, tp) at the 15%
 * acceptance bound. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llmsim/calibrate.h"
#include "llmsim/scenario.h"
#include "testutil.h"

static struct mdl_cal_step *rows;
static size_t n_rows;

static void load(void)
{
    struct llmsim_error err;
    llmsim_error_clear(&err);
    int rc = scn_steps_csv_read("../models/calibration/vidur-steps.csv", NULL, &rows, &n_rows, &err);
    ck_assert_msg(rc == 0, "%s", err.msg);
    ck_assert_uint_gt(n_rows, 10000);
}

static int is_70b(const struct mdl_cal_step *s)
{
    return strstr(s->llm.id, "70b") != NULL;
}

static int cmp_abs(const void *a, const void *b)
{
    double x = fabs(*(const double *)a), y = fabs(*(const double *)b);
    return (x > y) - (x < y);
}

static double median_abs(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_abs);
    return n % 2 ? fabs(v[n / 2]) : 0.5 * (fabs(v[n / 2 - 1]) + fabs(v[n / 2]));
}

/* Fits the rows `train` selects (and every all-reduce row), predicts the
 * linear rows `test` selects; asserts the held-out medians. */
static void transfer(int (*train)(const struct mdl_cal_step *), int (*test)(const struct mdl_cal_step *),
                     const char *what)
{
    load();
    struct mdl_cal_step *tr = malloc(n_rows * sizeof *tr);
    double *err_all = malloc(n_rows * sizeof(double));
    ck_assert(tr != NULL && err_all != NULL);
    size_t nt = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].kind == MDL_CAL_ALLREDUCE || train(&rows[i]))
            tr[nt++] = rows[i];
    struct mdl_cal_options opt;
    mdl_cal_options_default(&opt);
    opt.folds = 0;
    struct mdl_cal_entry *e = NULL;
    int ne = 0;
    struct llmsim_error err;
    llmsim_error_clear(&err);
    ck_assert_msg(mdl_cal_fit_steps(tr, nt, &opt, &e, &ne, &err) == 0, "%s", err.msg);

    /* Groups: GPU, model, tp of the held-out linear rows (a handful). */
    enum { MAXG = 64 };
    const struct mdl_cal_step *key[MAXG];
    double *gerr[MAXG];
    size_t gn[MAXG], ngroups = 0, na = 0;
    for (size_t i = 0; i < n_rows; i++) {
        const struct mdl_cal_step *s = &rows[i];
        if (s->kind != MDL_CAL_LINEAR || !test(s))
            continue;
        int k = 0;
        while (k < ne && strcmp(e[k].gpu, s->gpu.id) != 0)
            k++;
        ck_assert_msg(k < ne, "%s: no entry for %s", what, s->gpu.id);
        double x = mdl_cal_step_predict(s, e[k].value) / s->time_s - 1;
        err_all[na++] = x;
        size_t j = 0;
        while (j < ngroups && !(key[j]->tp == s->tp && !strcmp(key[j]->gpu.id, s->gpu.id) &&
                                !strcmp(key[j]->llm.id, s->llm.id)))
            j++;
        if (j == ngroups) {
            ck_assert_uint_lt(ngroups, MAXG);
            key[j] = s;
            gerr[j] = malloc(n_rows * sizeof(double));
            ck_assert(gerr[j] != NULL);
            gn[j] = 0;
            ngroups++;
        }
        gerr[j][gn[j]++] = x;
    }
    ck_assert_uint_gt(na, 500);
    for (size_t j = 0; j < ngroups; j++) {
        double m = median_abs(gerr[j], gn[j]);
        ck_assert_msg(m <= 0.15, "%s: %s %s tp %d held out: median |error| %.1f%%", what, key[j]->gpu.id,
                      key[j]->llm.id, key[j]->tp, 100 * m);
        free(gerr[j]);
    }
    double m = median_abs(err_all, na);
    ck_assert_msg(m <= 0.10, "%s: held-out median |error| %.1f%%", what, 100 * m);
    free(e);
    free(err_all);
    free(tr);
    free(rows);
}

static int small(const struct mdl_cal_step *s)
{
    return !is_70b(s);
}

static int big(const struct mdl_cal_step *s)
{
    return is_70b(s);
}

static int low_tp(const struct mdl_cal_step *s)
{
    return s->tp <= 2;
}

static int high_tp(const struct mdl_cal_step *s)
{
    return s->tp >= 4;
}

static int llama3_a100(const struct mdl_cal_step *s)
{
    return !strcmp(s->gpu.id, "a100-80gb") && !strncmp(s->llm.id, "llama-3", 7);
}

static int llama2_a100(const struct mdl_cal_step *s)
{
    return !strcmp(s->gpu.id, "a100-80gb") && !strncmp(s->llm.id, "llama-2", 7);
}

START_TEST(test_small_models_to_70b)
{
    transfer(small, big, "7-8B -> 70B");
}
END_TEST

START_TEST(test_low_tp_to_high_tp)
{
    transfer(low_tp, high_tp, "tp 1-2 -> tp 4-8");
}
END_TEST

START_TEST(test_llama3_to_llama2)
{
    transfer(llama3_a100, llama2_a100, "Llama-3 -> Llama-2 (A100)");
}
END_TEST

static Suite *transfer_suite(void)
{
    Suite *s = suite_create("calibrate_transfer");
    TCase *tc = tcase_create("held_out");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_small_models_to_70b);
    tcase_add_test(tc, test_low_tp_to_high_tp);
    tcase_add_test(tc, test_llama3_to_llama2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(transfer_suite());
}
