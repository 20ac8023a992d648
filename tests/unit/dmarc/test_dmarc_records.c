/* Data-driven DMARC record tests: tests/data/dmarc/records.txt holds the
 * cases (format described at the top of that file); each becomes one
 * cmocka test named after the case. Two more tests check that every code
 * in ms_dmarc_diag_defs is produced by some case and is a DMARC code with
 * a summary (that each is documented in docs/diagnostics.md the build
 * checks: lib/core/gen_diag_texts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "mailsec/dmarc.h"
#include "unit/testutil.h"

enum kind { K_RECORD, K_GENERATE, K_PLAN };

#define MAX_OFFSETS 8

typedef struct tcase {
    char name[128];
    int line;
    enum kind kind;
    int has_subject;
    char *subject; /* unescaped */
    size_t subject_len;
    char *domain;
    char *expect;  /* space-separated codes; NULL when no expect line */
    char *offsets[MAX_OFFSETS];
    size_t offset_count;
    int usable;    /* -1: not checked */
    int as_p_none;
    char *rua;     /* NULL: not checked */
    char *values;  /* "KEY=VALUE ...": the parsed tags; NULL: not checked */
    char *output;  /* NULL: not checked */
} tcase;

typedef struct suite {
    tcase *cases;
    size_t count;
} suite;

static char *source_path(const char *rel)
{
    const char *dir = getenv("MAILSEC_SOURCE_DIR");
    return ms_asprintf("%s/%s", dir ? dir : ".", rel);
}

/* \\ \t \n \r \xHH; anything else is kept. */
static char *unescape(const char *in, size_t *out_len)
{
    size_t n = strlen(in), o = 0;
    char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '\\' || i + 1 == n) {
            out[o++] = in[i];
            continue;
        }
        char c = in[++i];
        if (c == 't')
            out[o++] = '\t';
        else if (c == 'n')
            out[o++] = '\n';
        else if (c == 'r')
            out[o++] = '\r';
        else if (c == 'x' && i + 2 < n) {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else
            out[o++] = c;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static char *field(const char *line, const char *key)
{
    size_t k = strlen(key);
    if (strncmp(line, key, k) != 0 || line[k] != ':')
        return NULL;
    const char *v = line + k + 1;
    if (*v == ' ')
        v++; /* one space separates key and value; the rest is the value */
    return (char *)v;
}

static void parse_line(tcase *c, char *line)
{
    char *v;
    size_t len;
    if ((v = field(line, "name")))
        snprintf(c->name, sizeof c->name, "%s", v);
    else if ((v = field(line, "record")) || (v = field(line, "generate")) ||
             (v = field(line, "plan"))) {
        c->kind = line[0] == 'r' ? K_RECORD : line[0] == 'g' ? K_GENERATE : K_PLAN;
        c->subject = unescape(v, &len);
        c->subject_len = len;
        c->has_subject = 1;
    } else if ((v = field(line, "domain")))
        c->domain = ms_strdup(v);
    else if ((v = field(line, "expect")))
        c->expect = ms_strdup(v);
    else if ((v = field(line, "offset"))) {
        assert_true(c->offset_count < MAX_OFFSETS);
        c->offsets[c->offset_count++] = ms_strdup(v);
    } else if ((v = field(line, "usable")))
        c->usable = atoi(v);
    else if ((v = field(line, "as-p-none")))
        c->as_p_none = atoi(v);
    else if ((v = field(line, "rua")))
        c->rua = ms_strdup(v);
    else if ((v = field(line, "values")))
        c->values = ms_strdup(v);
    else if ((v = field(line, "output")))
        c->output = unescape(v, &len);
    else
        fail_msg("records.txt line %d: unknown line \"%s\"", c->line, line);
}

static suite load_cases(void)
{
    suite s = {NULL, 0};
    char *path = source_path("tests/data/dmarc/records.txt");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    free(path);
    char buf[4096];
    tcase *cur = NULL;
    int lineno = 0;
    while (fgets(buf, sizeof buf, f)) {
        lineno++;
        buf[strcspn(buf, "\n")] = '\0';
        if (buf[0] == '#')
            continue;
        if (buf[0] == '\0') {
            cur = NULL;
            continue;
        }
        if (cur == NULL) {
            s.cases = realloc(s.cases, (s.count + 1) * sizeof *s.cases);
            cur = &s.cases[s.count++];
            memset(cur, 0, sizeof *cur);
            cur->line = lineno;
            cur->usable = cur->as_p_none = -1;
        }
        parse_line(cur, buf);
    }
    fclose(f);
    return s;
}

static void free_cases(suite *s)
{
    for (size_t i = 0; i < s->count; i++) {
        tcase *c = &s->cases[i];
        free(c->subject);
        free(c->domain);
        free(c->expect);
        for (size_t o = 0; o < c->offset_count; o++)
            free(c->offsets[o]);
        free(c->rua);
        free(c->values);
        free(c->output);
    }
    free(s->cases);
}

/* ---- running one case ---- */

typedef struct outcome {
    ms_diag_list diags;
    ms_dmarc_record *rec;
    char *generated;
    ms_dmarc_plan plan;
} outcome;

static ms_dmarc_policy policy_arg(const char *v)
{
    if (strcmp(v, "none") == 0)
        return MS_DMARC_POLICY_NONE;
    if (strcmp(v, "quarantine") == 0)
        return MS_DMARC_POLICY_QUARANTINE;
    if (strcmp(v, "reject") == 0)
        return MS_DMARC_POLICY_REJECT;
    return (ms_dmarc_policy)42; /* deliberately invalid */
}

typedef struct spec_args {
    ms_dmarc_spec spec;
    const char *rua[8], *ruf[8];
    size_t nrua, nruf;
    char *copy;
} spec_args;

static void parse_spec(spec_args *a, const char *text)
{
    ms_dmarc_spec init = MS_DMARC_SPEC_INIT;
    a->spec = init;
    a->nrua = a->nruf = 0;
    a->copy = ms_strdup(text);
    for (char *tok = strtok(a->copy, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        const char *k = tok, *v = eq + 1;
        if (strcmp(k, "domain") == 0)
            a->spec.domain = v;
        else if (strcmp(k, "p") == 0)
            a->spec.p = policy_arg(v);
        else if (strcmp(k, "sp") == 0)
            a->spec.sp = policy_arg(v);
        else if (strcmp(k, "np") == 0)
            a->spec.np = policy_arg(v);
        else if (strcmp(k, "adkim") == 0)
            a->spec.adkim = *v == 's' ? MS_DMARC_ALIGN_STRICT : MS_DMARC_ALIGN_RELAXED;
        else if (strcmp(k, "aspf") == 0)
            a->spec.aspf = *v == 's' ? MS_DMARC_ALIGN_STRICT : MS_DMARC_ALIGN_RELAXED;
        else if (strcmp(k, "psd") == 0)
            a->spec.psd = *v == 'y' ? MS_DMARC_PSD_Y : *v == 'n' ? MS_DMARC_PSD_N : MS_DMARC_PSD_U;
        else if (strcmp(k, "pct") == 0)
            a->spec.pct = atoi(v);
        else if (strcmp(k, "t") == 0)
            a->spec.testing = *v == 'y' ? 1 : *v == 'n' ? 0 : atoi(v);
        else if (strcmp(k, "fo") == 0)
            a->spec.fo = v;
        else if (strcmp(k, "rua") == 0 && a->nrua < 7)
            a->rua[a->nrua++] = v;
        else if (strcmp(k, "ruf") == 0 && a->nruf < 7)
            a->ruf[a->nruf++] = v;
        else
            fail_msg("unknown spec key %s", k);
    }
    a->rua[a->nrua] = NULL;
    a->ruf[a->nruf] = NULL;
    a->spec.rua = a->nrua ? a->rua : NULL;
    a->spec.ruf = a->nruf ? a->ruf : NULL;
}

static void run_case(const tcase *c, outcome *out)
{
    memset(out, 0, sizeof *out);
    if (c->kind == K_RECORD) {
        assert_int_equal(ms_dmarc_check_record(c->subject, c->subject_len, c->domain, &out->rec,
                                               &out->diags), MS_OK);
        assert_non_null(out->rec);
        return;
    }
    spec_args a;
    parse_spec(&a, c->subject);
    if (c->kind == K_GENERATE)
        assert_int_equal(ms_dmarc_generate(&a.spec, &out->generated, &out->diags), MS_OK);
    else
        assert_int_equal(ms_dmarc_plan_make(&a.spec, &out->plan, &out->diags), MS_OK);
    free(a.copy);
}

static void free_outcome(outcome *o)
{
    ms_diag_list_free(&o->diags);
    ms_dmarc_record_free(o->rec);
    free(o->generated);
    ms_dmarc_plan_free(&o->plan);
}

/* ---- comparing ---- */

static void print_diags(const ms_diag_list *d)
{
    for (size_t i = 0; i < d->count; i++)
        print_message("    got %s @%ld: %s\n", d->items[i].def->code, d->items[i].offset,
                      d->items[i].message);
}

static int expected_has(const char *expect, const char *code)
{
    size_t n = strlen(code);
    for (const char *p = expect; (p = strstr(p, code)) != NULL; p += n)
        if ((p == expect || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
    return 0;
}

static void check_codes(const tcase *c, const ms_diag_list *d)
{
    assert_non_null(c->expect);
    int ok = 1;
    for (size_t i = 0; i < d->count; i++)
        if (!expected_has(c->expect, d->items[i].def->code)) {
            print_message("  unexpected %s\n", d->items[i].def->code);
            ok = 0;
        }
    char *copy = ms_strdup(c->expect);
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " "))
        if (!ms_diag_has(d, tok)) {
            print_message("  missing %s\n", tok);
            ok = 0;
        }
    free(copy);
    if (!ok) {
        print_diags(d);
        fail_msg("case %s (records.txt line %d): codes differ", c->name, c->line);
    }
}

static void check_offsets(const tcase *c, const ms_diag_list *d)
{
    for (size_t o = 0; o < c->offset_count; o++) {
        char code[64];
        long want;
        assert_int_equal(sscanf(c->offsets[o], "%63[^@]@%ld", code, &want), 2);
        int found = 0;
        for (size_t i = 0; i < d->count; i++)
            if (strcmp(d->items[i].def->code, code) == 0 && d->items[i].offset == want)
                found = 1;
        if (!found) {
            print_diags(d);
            fail_msg("case %s: no %s at offset %ld", c->name, code, want);
        }
    }
}

/* The parsed value of tag key, written as in the record ("-": unset). */
static char *record_value(const ms_dmarc_record *rec, const char *key)
{
    static const char *const align[] = {"-", "r", "s"};
    static const char *const psd[] = {"-", "y", "n", "u"};
    const char *policy = NULL;
    if (strcmp(key, "p") == 0)
        policy = ms_dmarc_policy_str(rec->p);
    else if (strcmp(key, "sp") == 0)
        policy = ms_dmarc_policy_str(rec->sp);
    else if (strcmp(key, "np") == 0)
        policy = ms_dmarc_policy_str(rec->np);
    if (policy != NULL)
        return ms_strdup(policy[0] ? policy : "-");
    if (strcmp(key, "adkim") == 0)
        return ms_strdup(align[rec->adkim]);
    if (strcmp(key, "aspf") == 0)
        return ms_strdup(align[rec->aspf]);
    if (strcmp(key, "psd") == 0)
        return ms_strdup(psd[rec->psd]);
    if (strcmp(key, "pct") == 0)
        return rec->pct < 0 ? ms_strdup("-") : ms_asprintf("%d", rec->pct);
    if (strcmp(key, "t") == 0)
        return ms_strdup(rec->testing < 0 ? "-" : rec->testing ? "y" : "n");
    if (strcmp(key, "ri") == 0)
        return rec->ri < 0 ? ms_strdup("-") : ms_asprintf("%ld", rec->ri);
    if (strcmp(key, "fo") == 0)
        return ms_strdup(rec->fo ? rec->fo : "-");
    if (strcmp(key, "rf") == 0)
        return ms_strdup(rec->rf ? rec->rf : "-");
    fail_msg("values: unknown tag %s", key);
    return NULL;
}

/* Every KEY=VALUE of the case's values line against the parsed record. */
static void check_values(const tcase *c, const ms_dmarc_record *rec)
{
    char *list = ms_strdup(c->values), *save = NULL;
    for (char *kv = strtok_r(list, " ", &save); kv != NULL; kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL)
            fail_msg("case %s: values: \"%s\" is not KEY=VALUE", c->name, kv);
        *eq = '\0';
        char *got = record_value(rec, kv);
        if (strcmp(got, eq + 1) != 0)
            fail_msg("case %s: %s is \"%s\", expected \"%s\"", c->name, kv, got, eq + 1);
        free(got);
    }
    free(list);
}

static void check_rua(const tcase *c, const ms_dmarc_record *rec)
{
    ms_buf b = MS_BUF_INIT;
    for (size_t i = 0; i < rec->rua_count; i++) {
        const ms_dmarc_uri *u = &rec->rua[i];
        ms_buf_printf(&b, "%s%s", i ? " " : "", u->is_mailto ? u->address : u->uri);
        if (u->has_max_size)
            ms_buf_printf(&b, "!%llu", (unsigned long long)u->max_size);
    }
    char *got = ms_buf_take(&b);
    if (strcmp(got, c->rua) != 0)
        fail_msg("case %s: rua is \"%s\", expected \"%s\"", c->name, got, c->rua);
    free(got);
}

/* A generated record must check without errors, and its warnings must be
 * the ones generate passed on. */
static void check_generated(const tcase *c, const outcome *o)
{
    if (c->output != NULL) {
        assert_non_null(o->generated);
        assert_string_equal(o->generated, c->output);
    }
    if (o->generated == NULL) {
        assert_int_equal(ms_diag_worst(&o->diags), MS_SEV_ERROR);
        return;
    }
    ms_dmarc_record *rec = NULL;
    ms_diag_list d = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_dmarc_check_record(o->generated, strlen(o->generated), NULL, &rec, &d),
                     MS_OK);
    assert_true(rec->usable);
    for (size_t i = 0; i < d.count; i++) {
        ms_severity sev = d.items[i].def->severity;
        assert_true(sev != MS_SEV_ERROR);
        if (sev == MS_SEV_WARNING)
            assert_true(ms_diag_has(&o->diags, d.items[i].def->code));
    }
    ms_diag_list_free(&d);
    ms_dmarc_record_free(rec);
}

static void test_case(void **state)
{
    const tcase *c = *state;
    assert_true(c->has_subject);
    outcome o;
    run_case(c, &o);
    check_codes(c, &o.diags);
    check_offsets(c, &o.diags);
    if (c->kind == K_RECORD) {
        if (c->usable >= 0)
            assert_int_equal(o.rec->usable, c->usable);
        if (c->as_p_none >= 0)
            assert_int_equal(o.rec->as_p_none, c->as_p_none);
        if (c->rua != NULL)
            check_rua(c, o.rec);
        if (c->values != NULL)
            check_values(c, o.rec);
        /* The classification and the checker agree on "starts with v=DMARC1". */
        if (ms_dmarc_is_record(c->subject, c->subject_len) == 0)
            assert_false(o.rec->usable);
        for (size_t i = 0; i < o.diags.count; i++) {
            const ms_diag *d = &o.diags.items[i];
            assert_true(d->offset >= -1 && d->offset < (long)c->subject_len + 1);
            if (c->domain != NULL)
                assert_non_null(d->location);
        }
    } else if (c->kind == K_GENERATE) {
        check_generated(c, &o);
    } else if (c->expect != NULL && c->expect[0] == '\0') {
        assert_int_equal(o.plan.count, 13);
    } else {
        assert_int_equal(o.plan.count, 0);
    }
    free_outcome(&o);
}

/* ---- the catalogue ---- */

static suite *all_cases;

static void test_every_code_is_produced(void **state)
{
    (void)state;
    size_t n = 0;
    while (ms_dmarc_diag_defs[n].code != NULL)
        n++;
    int *seen = calloc(n, sizeof *seen);
    for (size_t i = 0; i < all_cases->count; i++) {
        outcome o;
        run_case(&all_cases->cases[i], &o);
        for (size_t d = 0; d < o.diags.count; d++)
            for (size_t k = 0; k < n; k++)
                if (o.diags.items[d].def == &ms_dmarc_diag_defs[k])
                    seen[k] = 1;
        free_outcome(&o);
    }
    int missing = 0;
    for (size_t k = 0; k < n; k++)
        if (!seen[k]) {
            print_message("  no case produces %s\n", ms_dmarc_diag_defs[k].code);
            missing++;
        }
    free(seen);
    assert_int_equal(missing, 0);
}

/* The table holds the DMARC module's own codes only, each with a text. */
static void test_codes_are_dmarc_codes(void **state)
{
    (void)state;
    for (const ms_diag_def *d = ms_dmarc_diag_defs; d->code != NULL; d++) {
        assert_non_null(d->summary);
        if (strncmp(d->code, "dmarc.", 6) != 0)
            fail_msg("%s in the DMARC table is not a dmarc. code", d->code);
    }
}

int main(void)
{
    suite s = load_cases();
    all_cases = &s;
    struct CMUnitTest *tests = calloc(s.count + 2, sizeof *tests);
    for (size_t i = 0; i < s.count; i++) {
        tests[i].name = s.cases[i].name;
        tests[i].test_func = test_case;
        tests[i].initial_state = &s.cases[i];
    }
    tests[s.count].name = "every-code-is-produced-by-a-case";
    tests[s.count].test_func = test_every_code_is_produced;
    tests[s.count + 1].name = "every-code-is-a-dmarc-code";
    tests[s.count + 1].test_func = test_codes_are_dmarc_codes;
    int failed = _cmocka_run_group_tests("dmarc-records", tests, s.count + 2, NULL, NULL);
    free(tests);
    free_cases(&s);
    return failed;
}
