/* SPF parser and macro tests: the cases in tests/data/spf/records.txt
 * (findings with their byte offsets), and the macro expansions RFC 7208
 * section 7.4 lists as examples. */
#include "mailsec/spf.h"
#include "spf/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* \r, \n, \t and \xHH in the data file stand for those bytes. */
static size_t unescape(const char *in, char *out)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (p[0] == '\\' && p[1] == 'r') { out[n++] = '\r'; p++; }
        else if (p[0] == '\\' && p[1] == 'n') { out[n++] = '\n'; p++; }
        else if (p[0] == '\\' && p[1] == 't') { out[n++] = '\t'; p++; }
        else if (p[0] == '\\' && p[1] == 'x' && p[2] && p[3]) {
            char hex[3] = {p[2], p[3], 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 3;
        } else out[n++] = *p;
    }
    out[n] = '\0';
    return n;
}

static void test_records_file(void **state)
{
    (void)state;
    char path[4096];
    const char *src = getenv("MAILSEC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/spf/records.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192], text[8192];
    int cases = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        size_t len = unescape(tab + 1, text);
        ms_spf_record *rec = NULL;
        ms_diag_list diags = MS_DIAG_LIST_INIT;
        assert_int_equal(ms_spf_parse(text, len, "example.com", &rec, &diags), MS_OK);
        char got[2048] = "";
        for (size_t i = 0; i < diags.count; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s@%ld", i ? " " : "",
                     diags.items[i].def->code, diags.items[i].offset);
        const char *want = strcmp(line, "ok") == 0 ? "" : line;
        if (strcmp(got, want) != 0 || rec->valid != (want[0] == '\0')) {
            fprintf(stderr, "record \"%s\": got [%s] valid=%d, expected [%s]\n", tab + 1, got, rec->valid, want);
            bad++;
        }
        cases++;
        ms_spf_record_free(rec);
        ms_diag_list_free(&diags);
    }
    fclose(f);
    assert_true(cases > 40);
    assert_int_equal(bad, 0);
}

static void check_expand(const spf_macro_env *env, const char *macro, const char *want)
{
    int bad = 0;
    char *got = spf_macro_expand(macro, env, 1, &bad);
    if (got == NULL || strcmp(got, want) != 0)
        fprintf(stderr, "%s: got \"%s\", expected \"%s\"\n", macro, got ? got : "(null)", want);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* RFC 7208 7.4: sender strong-bad@email.example.com, client 192.0.2.3 or
 * 2001:db8::cb01, <domain> email.example.com. */
static void test_rfc7208_macro_examples(void **state)
{
    (void)state;
    spf_macro_env env;
    memset(&env, 0, sizeof env);
    env.sender = "strong-bad@email.example.com";
    env.domain = "email.example.com";
    env.ip[0] = 192, env.ip[1] = 0, env.ip[2] = 2, env.ip[3] = 3;
    check_expand(&env, "%{s}", "strong-bad@email.example.com");
    check_expand(&env, "%{o}", "email.example.com");
    check_expand(&env, "%{d}", "email.example.com");
    check_expand(&env, "%{d4}", "email.example.com");
    check_expand(&env, "%{d3}", "email.example.com");
    check_expand(&env, "%{d2}", "example.com");
    check_expand(&env, "%{d1}", "com");
    check_expand(&env, "%{dr}", "com.example.email");
    check_expand(&env, "%{d2r}", "example.email");
    check_expand(&env, "%{l}", "strong-bad");
    check_expand(&env, "%{l-}", "strong.bad");
    check_expand(&env, "%{lr}", "strong-bad");
    check_expand(&env, "%{lr-}", "bad.strong");
    check_expand(&env, "%{l1r-}", "strong");
    check_expand(&env, "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
    check_expand(&env, "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
    check_expand(&env, "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    check_expand(&env, "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com");
    check_expand(&env, "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net");
    static const unsigned char V6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcb, 0x01};
    memcpy(env.ip, V6, 16);
    env.is_v6 = 1;
    check_expand(&env, "%{ir}.%{v}._spf.%{d2}",
                 "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com");
    /* 7.3: %% %_ %-, and upper-case letters are URL-escaped. */
    check_expand(&env, "a%%b%_c%-d", "a%b c%20d");
    check_expand(&env, "%{S}", "strong-bad%40email.example.com");
}

/* 7.3: a target over 253 octets loses labels from the left. */
static void test_target_trimmed(void **state)
{
    (void)state;
    char name[400];
    memset(name, 0, sizeof name);
    for (int i = 0; i < 60; i++)
        strcat(name, "abcde.");
    strcat(name, "example.com");
    char *t = NULL;
    assert_int_equal(spf_target_name(name, &t), MS_OK);
    assert_non_null(t);
    assert_true(strlen(t) <= 253);
    assert_true(strlen(t) > 253 - 6);
    assert_string_equal(t + strlen(t) - 11, "example.com");
    free(t);
    assert_int_equal(spf_target_name("a..b.example", &t), MS_OK);
    assert_null(t);
    assert_int_equal(spf_target_name("", &t), MS_OK);
    assert_null(t);
}

static void test_is_record(void **state)
{
    (void)state;
    assert_true(ms_spf_is_record("v=spf1", 6));
    assert_true(ms_spf_is_record("V=SpF1 -all", 11));
    assert_false(ms_spf_is_record("v=spf10", 7));
    assert_false(ms_spf_is_record("v=spf1\t-all", 11));
    assert_false(ms_spf_is_record(" v=spf1", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_file),
        cmocka_unit_test(test_rfc7208_macro_examples),
        cmocka_unit_test(test_target_trimmed),
        cmocka_unit_test(test_is_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
