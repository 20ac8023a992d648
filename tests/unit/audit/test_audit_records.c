/* TLS-RPT, BIMI and MTA-STS record and policy checks, case by case from
 * tests/data/audit/records.txt; and MTA-STS mx pattern matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailsec/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_LINE = 4096 };

/* Undoes the data file's escapes: \n \r \t \\ \| \xHH. */
static size_t unescape(const char *in, char *out)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p != '\\' || p[1] == '\0') {
            out[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'x': {
            char hex[3] = {p[1], p[2], 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 2;
            break;
        }
        default: out[n++] = *p;
        }
    }
    out[n] = '\0';
    return n;
}

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Splits at the first " | " that is not escaped. */
static char *split(char *s)
{
    for (char *p = s; (p = strstr(p, " | ")) != NULL; p++)
        if (p == s || p[-1] != '\\') {
            *p = '\0';
            return p + 3;
        }
    return NULL;
}

static ms_status run_case(const char *kind, const char *text, size_t len, ms_diag_list *diags)
{
    if (strcmp(kind, "tlsrpt") == 0) {
        ms_audit_tlsrpt_record *rec = NULL;
        ms_status st = ms_audit_tlsrpt_check_record(text, len, "_smtp._tls.example.com", &rec, diags);
        ms_audit_tlsrpt_record_free(rec);
        return st;
    }
    if (strcmp(kind, "bimi") == 0) {
        ms_audit_bimi_record *rec = NULL;
        ms_status st = ms_audit_bimi_check_record(text, len, "default._bimi.example.com", &rec, diags);
        ms_audit_bimi_record_free(rec);
        return st;
    }
    if (strcmp(kind, "mtasts-txt") == 0) {
        char *id = NULL;
        ms_status st = ms_audit_mtasts_check_txt(text, len, "_mta-sts.example.com", &id, diags);
        free(id);
        return st;
    }
    if (strcmp(kind, "mtasts-policy") == 0) {
        ms_audit_mtasts_policy *pol = NULL;
        ms_status st = ms_audit_mtasts_check_policy(text, len, "policy", &pol, diags);
        ms_audit_mtasts_policy_free(pol);
        return st;
    }
    return MS_ERR_INVALID;
}

/* Every expected code is found and every code found is expected. */
static int codes_match(const ms_diag_list *diags, const char *expected, char *why, size_t size)
{
    char want[MAX_LINE];
    snprintf(want, sizeof want, " %s ", strcmp(expected, "-") == 0 ? "" : expected);
    for (size_t i = 0; i < diags->count; i++) {
        char probe[128];
        snprintf(probe, sizeof probe, " %s ", diags->items[i].def->code);
        if (strstr(want, probe) == NULL) {
            snprintf(why, size, "unexpected %s (%s)", diags->items[i].def->code,
                     diags->items[i].message);
            return 0;
        }
    }
    char copy[MAX_LINE];
    snprintf(copy, sizeof copy, "%s", strcmp(expected, "-") == 0 ? "" : expected);
    for (char *code = strtok(copy, " "); code; code = strtok(NULL, " "))
        if (!ms_diag_has(diags, code)) {
            snprintf(why, size, "missing %s", code);
            return 0;
        }
    return 1;
}

static void every_case_in_the_data_file_gives_exactly_its_codes(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/audit/records.txt", getenv("MAILSEC_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[MAX_LINE], text[MAX_LINE];
    int number = 0, passed = 0, failed = 0;
    while (fgets(line, sizeof line, f)) {
        number++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *rest = split(line), *expected = rest ? split(rest) : NULL;
        assert_non_null(expected);
        const char *kind = trim(line);
        /* the text is everything between the separators, spaces included */
        size_t len = unescape(rest, text);
        ms_diag_list diags = MS_DIAG_LIST_INIT;
        assert_int_equal(run_case(kind, text, len, &diags), MS_OK);
        char why[512] = "";
        if (codes_match(&diags, trim(expected), why, sizeof why)) {
            passed++;
        } else {
            printf("FAIL line %d (%s \"%s\"): %s\n", number, kind, text, why);
            failed++;
        }
        ms_diag_list_free(&diags);
    }
    fclose(f);
    printf("audit records: %d passed, %d failed\n", passed, failed);
    assert_int_equal(failed, 0);
    assert_true(passed > 50);
}

static void policy_fields_are_read_as_written(void **state)
{
    (void)state;
    const char *text = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
                       "max_age: 1209600\n";
    ms_audit_mtasts_policy *pol = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_audit_mtasts_check_policy(text, strlen(text), NULL, &pol, &diags), MS_OK);
    assert_true(pol->usable);
    assert_int_equal(pol->mode, MS_AUDIT_MTASTS_MODE_ENFORCE);
    assert_int_equal(pol->max_age, 1209600);
    assert_int_equal(pol->mx_count, 2);
    assert_string_equal(pol->mx[1], "*.example.net");
    ms_audit_mtasts_policy_free(pol);
    ms_diag_list_free(&diags);
}

/* RFC 8461 4.1: a wildcard matches exactly one leftmost label. */
static void mx_patterns_match_as_rfc_8461_says(void **state)
{
    (void)state;
    assert_true(ms_audit_mtasts_mx_matches("mail.example.com", "mail.example.com"));
    assert_true(ms_audit_mtasts_mx_matches("mail.example.com", "MAIL.Example.com."));
    assert_false(ms_audit_mtasts_mx_matches("mail.example.com", "mail2.example.com"));
    assert_true(ms_audit_mtasts_mx_matches("*.example.com", "mx1.example.com"));
    assert_false(ms_audit_mtasts_mx_matches("*.example.com", "a.mx1.example.com"));
    assert_false(ms_audit_mtasts_mx_matches("*.example.com", "example.com"));
    assert_false(ms_audit_mtasts_mx_matches("*.example.com", ".example.com"));
}

static void tlsrpt_and_bimi_keep_their_uris(void **state)
{
    (void)state;
    const char *t = "v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x";
    ms_audit_tlsrpt_record *rec = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    assert_int_equal(ms_audit_tlsrpt_check_record(t, strlen(t), NULL, &rec, &diags), MS_OK);
    assert_true(rec->usable);
    assert_int_equal(rec->rua_count, 2);
    assert_string_equal(rec->rua[1], "https://r.example.com/x");
    ms_audit_tlsrpt_record_free(rec);
    const char *b = "v=BIMI1; l=https://example.com/l.svg; a=https://example.com/a.pem";
    ms_audit_bimi_record *bimi = NULL;
    assert_int_equal(ms_audit_bimi_check_record(b, strlen(b), NULL, &bimi, &diags), MS_OK);
    assert_true(bimi->usable);
    assert_string_equal(bimi->location, "https://example.com/l.svg");
    assert_string_equal(bimi->authority, "https://example.com/a.pem");
    ms_audit_bimi_record_free(bimi);
    assert_int_equal(diags.count, 0);
    ms_diag_list_free(&diags);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_case_in_the_data_file_gives_exactly_its_codes),
        cmocka_unit_test(policy_fields_are_read_as_written),
        cmocka_unit_test(mx_patterns_match_as_rfc_8461_says),
        cmocka_unit_test(tlsrpt_and_bimi_keep_their_uris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
