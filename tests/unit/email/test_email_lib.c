/* The validator's behaviour case by case (tests/data/email/addresses.txt,
 * normalize.txt), plus the API's edges: parts, profiles, NULL, length. */
#include "mailsec/email.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/check.h"
#include "unit/email/text.h"

static FILE *open_data(const char *name)
{
    char path[4096];
    const char *src = getenv("MAILSEC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/email/%s", src ? src : ".", name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        printf("FAIL: cannot open %s\n", path);
        exit(1);
    }
    return f;
}

/* Splits a tab-separated line into at most n fields. */
static int split(char *line, char **fields, int n)
{
    int k = 0;
    line[strcspn(line, "\n")] = '\0';
    for (char *p = line; k < n;) {
        fields[k++] = p;
        char *tab = strchr(p, '\t');
        if (tab == NULL)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return k;
}

static void addresses(void)
{
    FILE *f = open_data("addresses.txt");
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *fl[5];
        if (split(line, fl, 5) != 5) {
            CHECK(0, "malformed line: %s", line);
            continue;
        }
        ms_email_profile prof;
        CHECK(ms_email_profile_parse(fl[0], &prof), "profile %s", fl[0]);
        size_t n = unescape(fl[4]);
        /* an exact-size heap copy: ASan catches any read past len */
        char *addr = malloc(n ? n : 1);
        memcpy(addr, fl[4], n);
        ms_email_result r;
        ms_email_check(addr, n, prof, &r);
        CHECK(r.valid == atoi(fl[1]) && strcmp(ms_email_category_name(r.category), fl[2]) == 0 &&
                  strcmp(r.diagnosis, fl[3]) == 0,
              "%s [%s]: want %s %s %s, got %d %s %s", fl[0], fl[4], fl[1], fl[2], fl[3], r.valid,
              ms_email_category_name(r.category), r.diagnosis);
        CHECK(ms_email_diag_def(r.diagnosis) != NULL, "%s not in the table", r.diagnosis);
        free(addr);
        cases++;
    }
    fclose(f);
    printf("addresses.txt: %d cases\n", cases);
}

static void normal_forms(void)
{
    FILE *f = open_data("normalize.txt");
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *fl[4];
        if (split(line, fl, 4) != 4) {
            CHECK(0, "malformed line: %s", line);
            continue;
        }
        ms_email_profile prof;
        ms_email_profile_parse(fl[0], &prof);
        size_t n = unescape(fl[1]);
        unescape(fl[2]);
        unescape(fl[3]);
        char *a = NULL, *u = NULL;
        ms_status s1 = ms_email_normalize(fl[1], n, prof, &a);
        ms_status s2 = ms_email_normalize_unicode(fl[1], n, prof, &u);
        if (strcmp(fl[2], "-") == 0) {
            CHECK(s1 == MS_ERR_INVALID && a == NULL, "[%s] should be refused", fl[1]);
            CHECK(s2 == MS_ERR_INVALID && u == NULL, "[%s] should be refused (unicode)", fl[1]);
        } else {
            CHECK(s1 == MS_OK && a && strcmp(a, fl[2]) == 0, "[%s]: want [%s], got [%s]", fl[1], fl[2],
                  a ? a : "(null)");
            CHECK(s2 == MS_OK && u && strcmp(u, fl[3]) == 0, "[%s]: want [%s], got [%s]", fl[1], fl[3],
                  u ? u : "(null)");
        }
        free(a);
        free(u);
        cases++;
    }
    fclose(f);
    printf("normalize.txt: %d cases\n", cases);
}

static void api_edges(void)
{
    ms_email_result r;
    const char *a = "(c) John.Doe@Example.com ";
    ms_email_check(a, strlen(a), MS_EMAIL_PROFILE_RFC5322, &r);
    CHECK(r.valid && r.local_start == 4 && r.local_len == 8 && r.domain_start == 13 && r.domain_len == 11,
          "parts: %zu+%zu %zu+%zu", r.local_start, r.local_len, r.domain_start, r.domain_len);
    /* the length is what counts, not a NUL */
    ms_email_check("john@example.com.evil", 16, MS_EMAIL_PROFILE_SMTP, &r);
    CHECK(r.valid, "prefix of the buffer");
    ms_email_check("john\0@example.com", 17, MS_EMAIL_PROFILE_SMTP, &r);
    CHECK(!r.valid && strcmp(r.diagnosis, "email.err-expecting-atext") == 0 && r.error_offset == 4,
          "embedded NUL: %s at %zu", r.diagnosis, r.error_offset);
    ms_email_check(NULL, 5, MS_EMAIL_PROFILE_SMTP, &r);
    CHECK(!r.valid && r.category == MS_EMAIL_CAT_ERR, "NULL address");
    ms_email_profile p = MS_EMAIL_PROFILE_HTML5;
    CHECK(!ms_email_profile_parse("SMTP", &p) && p == MS_EMAIL_PROFILE_HTML5, "profile names are lower case");
    CHECK(ms_email_profile_parse("intl", &p) && p == MS_EMAIL_PROFILE_INTL, "intl");
    CHECK(strcmp(ms_email_profile_name(MS_EMAIL_PROFILE_RFC5322), "rfc5322") == 0, "name");
    /* 64 octets of local part is the limit, 65 is over (RFC 5321 4.5.3.1.1) */
    char buf[300];
    memset(buf, 'a', 64);
    strcpy(buf + 64, "@example.com");
    ms_email_check(buf, strlen(buf), MS_EMAIL_PROFILE_SMTP, &r);
    CHECK(r.valid, "64-octet local part");
    memset(buf, 'a', 65);
    strcpy(buf + 65, "@example.com");
    ms_email_check(buf, strlen(buf), MS_EMAIL_PROFILE_SMTP, &r);
    CHECK(!r.valid && strcmp(r.diagnosis, "email.rfc5322-local-too-long") == 0, "65-octet local part");
    /* deep comment nesting needs no stack */
    size_t deep = 100000;
    char *big = malloc(2 * deep + 32);
    memset(big, '(', deep);
    memset(big + deep, ')', deep);
    strcpy(big + 2 * deep, "john@example.com");
    ms_email_check(big, strlen(big), MS_EMAIL_PROFILE_RFC5322, &r);
    CHECK(r.valid && r.category == MS_EMAIL_CAT_CFWS, "deeply nested comment");
    free(big);
    char *out = (char *)1;
    CHECK(ms_email_normalize("x", 1, MS_EMAIL_PROFILE_SMTP, &out) == MS_ERR_INVALID && out == NULL,
          "normalize sets *out to NULL when refusing");
}

/* is_email's DNS rules (its tests 5 and 166): a dotless domain is
 * RFC5321_TLD unless DNS found an MX; no MX but A -> no-mx-record. */
static void apply_mx(void)
{
    ms_email_result r;
    ms_email_check("test@io", 7, MS_EMAIL_PROFILE_SMTP, &r);
    CHECK(!r.valid && strcmp(r.diagnosis, "email.rfc5321-tld") == 0, "test@io offline");
    ms_email_result_apply_mx(&r, MS_EMAIL_PROFILE_SMTP, MS_EMAIL_MX_OK);
    CHECK(r.valid && r.category == MS_EMAIL_CAT_VALID && strcmp(r.diagnosis, "email.valid") == 0,
          "test@io with an MX: %s", r.diagnosis);
    ms_email_check("test@org", 8, MS_EMAIL_PROFILE_SMTP, &r);
    ms_email_result_apply_mx(&r, MS_EMAIL_PROFILE_SMTP, MS_EMAIL_MX_NONE);
    CHECK(!r.valid && strcmp(r.diagnosis, "email.rfc5321-tld") == 0, "test@org without records");
    ms_email_check("a@b.example", 11, MS_EMAIL_PROFILE_SMTP, &r);
    ms_email_result_apply_mx(&r, MS_EMAIL_PROFILE_SMTP, MS_EMAIL_MX_FALLBACK);
    CHECK(r.valid && r.category == MS_EMAIL_CAT_DNSWARN && strcmp(r.diagnosis, "email.dnswarn-no-mx-record") == 0,
          "fallback");
    ms_email_check("a@b.example", 11, MS_EMAIL_PROFILE_SMTP, &r);
    ms_email_result_apply_mx(&r, MS_EMAIL_PROFILE_SMTP, MS_EMAIL_MX_NULL);
    CHECK(!r.valid && strcmp(r.diagnosis, "email.dnswarn-no-record") == 0, "null MX");
    ms_email_check("a@b.example", 11, MS_EMAIL_PROFILE_SMTP, &r);
    ms_email_result_apply_mx(&r, MS_EMAIL_PROFILE_SMTP, MS_EMAIL_MX_TEMPFAIL);
    CHECK(r.valid && strcmp(r.diagnosis, "email.valid") == 0, "tempfail changes nothing");
    ms_email_check("\"q\"@b.example", 13, MS_EMAIL_PROFILE_RFC5322, &r);
    ms_email_result_apply_mx(&r, MS_EMAIL_PROFILE_RFC5322, MS_EMAIL_MX_NULL);
    CHECK(strcmp(r.diagnosis, "email.rfc5321-quoted-string") == 0, "only plain syntax is touched");
}

int main(void)
{
    apply_mx();
    addresses();
    normal_forms();
    api_edges();
    printf("%s: %d failures\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
