/* The quick pass against the full parser (lib/email/parse.c): for every
 * input, ms_email_check() — quick pass first — must give exactly what
 * em_check_full() gives under every profile (validity, category,
 * diagnosis, offset, parts), and em_parse_run() exactly what
 * em_parse_full() gives. The inputs:
 *   - the is_email 3.05 suite's addresses (when the suite is present),
 *   - tests/data/email/addresses.txt,
 *   - every string up to 6 bytes over an alphabet that reaches each of
 *     the quick pass's decisions on plain forms, and up to 5 bytes over
 *     one for quoted strings, literals and non-ASCII bytes,
 *   - every one-byte replacement, insertion and deletion (all 256 byte
 *     values) of addresses of each form the quick pass takes,
 *   - the length limits: local part 64, label 63, address 254, around
 *     each limit.
 * A quick pass that always gives up would pass all of that, so each form
 * it is there for must also be taken by it, with its diagnosis. */
#include "email/email_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/check.h"
#include "unit/email/text.h"
#include "unit/testutil.h"

static long compared, taken;

static void show(const unsigned char *s, size_t n, char *out, size_t cap)
{
    size_t m = 0;
    for (size_t i = 0; i < n && m + 5 < cap; i++)
        m += (size_t)snprintf(out + m, cap - m, s[i] >= 32 && s[i] < 127 ? "%c" : "\\x%02x", s[i]);
    out[m] = '\0';
}

static int same_result(const ms_email_result *a, const ms_email_result *b)
{
    return a->valid == b->valid && a->category == b->category && strcmp(a->diagnosis, b->diagnosis) == 0 &&
           a->error_offset == b->error_offset && a->local_start == b->local_start &&
           a->local_len == b->local_len && a->domain_start == b->domain_start && a->domain_len == b->domain_len;
}

static int same_parse(const em_parse *a, const em_parse *b)
{
    return a->diag == b->diag && a->diag_offset == b->diag_offset && a->local_start == b->local_start &&
           a->local_end == b->local_end && a->domain_start == b->domain_start && a->domain_end == b->domain_end &&
           a->local_octets == b->local_octets && a->domain_octets == b->domain_octets &&
           a->has_utf8 == b->has_utf8 && a->domain_utf8 == b->domain_utf8 && a->has_cfws == b->has_cfws &&
           a->is_literal == b->is_literal;
}

/* The differential itself, for one input. */
static void compare(const unsigned char *s, size_t n)
{
    char shown[1200];
    compared++;
    em_parse quick;
    if (em_parse_quick(s, n, 0, &quick) || em_parse_quick(s, n, 1, &quick))
        taken++;
    for (int p = 0; p < 4; p++) {
        ms_email_result fast, full;
        ms_email_check((const char *)s, n, (ms_email_profile)p, &fast);
        em_check_full((const char *)s, n, (ms_email_profile)p, &full);
        if (!same_result(&fast, &full)) {
            show(s, n, shown, sizeof shown);
            CHECK(0, "[%s] profile %s: checked %d %s @%zu %zu+%zu %zu+%zu, full parser %d %s @%zu %zu+%zu %zu+%zu",
                  shown, ms_email_profile_name((ms_email_profile)p), fast.valid, fast.diagnosis, fast.error_offset,
                  fast.local_start, fast.local_len, fast.domain_start, fast.domain_len, full.valid, full.diagnosis,
                  full.error_offset, full.local_start, full.local_len, full.domain_start, full.domain_len);
        }
    }
    for (int utf8 = 0; utf8 <= 1; utf8++) {
        em_parse run, full;
        em_parse_run(s, n, utf8, &run);
        em_parse_full(s, n, utf8, &full);
        if (!same_parse(&run, &full)) {
            show(s, n, shown, sizeof shown);
            CHECK(0, "[%s] utf8=%d: em_parse_run and em_parse_full differ (diag %d / %d)", shown, utf8, run.diag,
                  full.diag);
        }
    }
}

/* ---- is_email's suite (decoded as test_email_isemail.c does) ---- */

static void isemail_suite(void)
{
    const char *dir = getenv("MAILSEC_CONFORMANCE_DIR");
    const char *src = getenv("MAILSEC_SOURCE_DIR");
    char path[4096];
    if (dir != NULL)
        snprintf(path, sizeof path, "%s/isemail/tests.xml", dir);
    else
        snprintf(path, sizeof path, "%s/../shared/conformance/isemail/tests.xml", src ? src : ".");
    char *xml = test_read_file(path, NULL);
    if (xml == NULL) {
        printf("is_email suite not found at %s: those cases are left out\n", path);
        return;
    }
    int cases = 0;
    for (const char *p = strstr(xml, "<address>"); p != NULL; p = strstr(p, "<address>")) {
        p += strlen("<address>");
        const char *end = strstr(p, "</address>");
        if (end == NULL)
            break;
        char *addr = malloc((size_t)(end - p) * 3 + 1);
        size_t n = isemail_xml_decode(p, (size_t)(end - p), addr);
        compare((const unsigned char *)addr, n);
        free(addr);
        cases++;
    }
    free(xml);
    printf("is_email suite: %d addresses\n", cases);
    CHECK(cases >= 160, "is_email suite: only %d addresses read", cases);
}

/* ---- tests/data/email/addresses.txt: the fifth tab-separated field ---- */

static void data_file(void)
{
    char path[4096], line[4096];
    const char *src = getenv("MAILSEC_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/email/addresses.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "cannot open %s", path);
    if (f == NULL)
        return;
    int cases = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *field = line;
        for (int k = 0; k < 4 && field != NULL; k++) {
            field = strchr(field, '\t');
            field = field ? field + 1 : NULL;
        }
        if (field == NULL)
            continue;
        size_t n = unescape(field);
        compare((const unsigned char *)field, n);
        cases++;
    }
    fclose(f);
    printf("addresses.txt: %d addresses\n", cases);
    CHECK(cases > 50, "addresses.txt: only %d addresses read", cases);
}

/* ---- generated ---- */

/* Every string of up to MAX_EXHAUSTIVE bytes over letters, a digit, the
 * separators, an atext special, a byte the quick pass never takes, and
 * non-ASCII: 9^6 strings and the shorter ones. */
enum { MAX_EXHAUSTIVE = 6 };

static void exhaustive_over(const unsigned char *alphabet, size_t k, size_t max)
{
    unsigned char buf[MAX_EXHAUSTIVE];
    size_t idx[MAX_EXHAUSTIVE];
    long before = compared;
    for (size_t n = 0; n <= max; n++) {
        memset(idx, 0, sizeof idx);
        for (;;) {
            for (size_t i = 0; i < n; i++)
                buf[i] = alphabet[idx[i]];
            compare(buf, n);
            size_t i = 0;
            while (i < n && ++idx[i] == k)
                idx[i++] = 0;
            if (i == n)
                break;
        }
    }
    printf("exhaustive up to %zu bytes over %zu symbols: %ld strings\n", max, k, compared - before);
}

static void exhaustive(void)
{
    static const unsigned char PLAIN_FORMS[] = {'a', 'x', '0', '-', '.', '@', '+', ' ', 0xC3};
    static const unsigned char OTHER_FORMS[] = {'a', '1', '.', '@', '"', '\\', '[', ']', ':', ' ', 0xC3};
    exhaustive_over(PLAIN_FORMS, sizeof PLAIN_FORMS, MAX_EXHAUSTIVE);
    exhaustive_over(OTHER_FORMS, sizeof OTHER_FORMS, MAX_EXHAUSTIVE - 1);
}

/* Each form the quick pass is there for, with the diagnosis it gives
 * (utf8: under profile intl, else the others). */
static const struct {
    const char *addr;
    int utf8;
    const char *diagnosis;
} TAKEN[] = {
    {"john.doe@example.com", 0, "email.valid"},
    {"user+tag@gmail.com", 0, "email.valid"},
    {"a@b.co", 0, "email.valid"},
    {"a-b_c@d-e.f-g.hi", 0, "email.valid"},
    {"x@xn--bcher-kva.example", 0, "email.valid"},
    {"first.middle.last@sub.domain.example.museum", 1, "email.valid"},
    {"o'brien@example.ie", 0, "email.valid"},
    {"1@2.example", 0, "email.valid"},
    {"{a}|b~c@123.example.org", 0, "email.valid"},
    {"\"john doe\"@example.com", 0, "email.rfc5321-quoted-string"},
    {"\"a\\\"b\\\\c\"@example.org", 1, "email.rfc5321-quoted-string"},
    {"john@[192.0.2.1]", 0, "email.rfc5321-address-literal"},
    {"john@[IPv6:2001:db8::1]", 1, "email.rfc5321-address-literal"},
    {"john@[IPv6:2001:db8::1:2:3:4:5:6]", 0, "email.rfc5322-ipv6-max-grps"},
    {"john@[mail.example]", 0, "email.rfc5322-domain-literal"},
    {"jos\xc3\xa9@example.com", 0, "email.err-non-ascii"},
    {"\xe7\x94\xa8\xe6\x88\xb7@example.com", 0, "email.err-non-ascii"},
    {"john@b\xc3\xbc" "cher.example", 0, "email.err-non-ascii"},
    {"john.doe.example.com", 0, "email.err-no-domain-sep"},
    {"john@", 0, "email.err-no-domain"},
    {"@example.com", 0, "email.err-no-local-part"},
    {"john.@example.com", 0, "email.err-dot-end"},
    {"john@example.com.", 0, "email.err-dot-end"},
    {"john@example-", 0, "email.err-domain-hyphen-end"},
    {"john@example.com; DROP TABLE t", 0, "email.err-expecting-atext"},
    {"<john@example.com>", 1, "email.err-expecting-atext"},
    {"john@@example.com", 0, "email.err-expecting-atext"},
    {"\"john doe\"@example.com,", 0, "email.err-expecting-atext"},
    {"(c)john@example.com", 0, "email.cfws-comment"},
    {"(c)john.doe@example.com(d)", 1, "email.cfws-comment"},
    {"john@example.com(home)", 0, "email.cfws-comment"},
    {"()john@example.com", 0, "email.cfws-comment"},
    {"john(comment)@example.com", 0, "email.deprec-cfws-near-at"},
    {"(a)j.d(b)@example.com(c)", 1, "email.deprec-cfws-near-at"},
    {"john.doe @ example.com", 0, "email.deprec-cfws-near-at"},
    {"john @ example.com(c)", 0, "email.deprec-cfws-near-at"},
};

/* ... and some it must leave to the full parser */
static const struct {
    const char *addr;
    int utf8;
} LEFT[] = {
    {"jos\xc3\xa9@example.com", 1},    /* UTF-8 for profile intl */
    {"john@b\xc3\xbc" "cher.example", 1},
    {"a..b\xc3\xa9@example.com", 0},   /* an error before the byte */
    {"john @example.com", 0},          /* comments and white space of other forms */
    {"john@ example.com", 0},
    {"john  @  example.com", 0},
    {"john(a b)@example.com", 0},
    {"john((c))@example.com", 0},
    {"john(a\\)b)@example.com", 0},
    {"john.(c)@example.com", 0},
    {"(c)\"john\"@example.com", 0},
    {"john(c)@example", 0},
    {"john(c)@[192.0.2.1]", 0},
    {"john@example.com (c)", 0},
    {"john@example.com(c)(d)", 0},
    {"\"a\x01" "b\"@example.com", 0},     /* obsolete qtext */
    {"\"a\"@[192.0.2.1]", 0},          /* two findings */
    {"john@localhost", 0},             /* one label */
    {"john@example.123", 0},
    {"john..doe@example.com", 0},      /* the first error is not at the end */
    {"john@-example.com", 0},
    {"john_doe@exa_mple.com", 0},      /* RFC 5322 only, then maybe more */
};

static const char *const PLAIN[] = {
    "john.doe@example.com",   "user+tag@gmail.com",       "a@b.co",
    "a-b_c@d-e.f-g.hi",       "x@xn--bcher-kva.example",  "first.middle.last@sub.domain.example.museum",
    "o'brien@example.ie",     "1@2.example",              "{a}|b~c@123.example.org",
    "\"john doe\"@example.com", "\"a\\\"b\\\\c\"@example.org", "john@[192.0.2.1]",
    "john@[IPv6:2001:db8::1]", "jos\xc3\xa9@example.com",  "john@b\xc3\xbc" "cher.example",
    "(c)j.d@example.com(d)",  "john(comment)@a.bc",       "jo.d @ ex.com",
};

/* every one-byte replacement, insertion and deletion, all byte values */
static void mutations(void)
{
    long before = compared;
    unsigned char buf[128];
    for (size_t k = 0; k < sizeof PLAIN / sizeof PLAIN[0]; k++) {
        const unsigned char *s = (const unsigned char *)PLAIN[k];
        size_t n = strlen(PLAIN[k]);
        for (size_t i = 0; i <= n; i++) {
            for (unsigned c = 0; c < 256; c++) {
                if (i < n) { /* replace */
                    memcpy(buf, s, n);
                    buf[i] = (unsigned char)c;
                    compare(buf, n);
                }
                memcpy(buf, s, i); /* insert */
                buf[i] = (unsigned char)c;
                memcpy(buf + i + 1, s + i, n - i);
                compare(buf, n + 1);
            }
            if (i < n) { /* delete */
                memcpy(buf, s, i);
                memcpy(buf + i, s + i + 1, n - i - 1);
                compare(buf, n - 1);
            }
        }
    }
    printf("one-byte mutations of %zu addresses: %ld strings\n", sizeof PLAIN / sizeof PLAIN[0],
           compared - before);
}

/* local@domain with the local part of local_len "a"s and the domain made
 * of labels of the given lengths (letters), ".com"-less: the last label
 * is the top-level one. */
static size_t build(unsigned char *buf, size_t local_len, const size_t *labels, size_t nlabels)
{
    size_t m = 0;
    for (size_t i = 0; i < local_len; i++)
        buf[m++] = i % 2 ? 'b' : 'a';
    buf[m++] = '@';
    for (size_t l = 0; l < nlabels; l++) {
        if (l > 0)
            buf[m++] = '.';
        for (size_t i = 0; i < labels[l]; i++)
            buf[m++] = (unsigned char)('c' + i % 20);
    }
    return m;
}

/* around every limit: local part 64, label 63 (first, middle, last),
 * address 254 */
static void limits(void)
{
    unsigned char buf[600];
    long before = compared;
    for (size_t local = 60; local <= 67; local++) {
        size_t labels[] = {7, 3};
        compare(buf, build(buf, local, labels, 2));
    }
    for (size_t len = 60; len <= 67; len++) {
        size_t first[] = {len, 3}, middle[] = {5, len, 3}, last[] = {5, len};
        compare(buf, build(buf, 5, first, 2));
        compare(buf, build(buf, 5, middle, 3));
        compare(buf, build(buf, 5, last, 2));
    }
    /* whole address 250..258 octets: 64-octet local part, domain of
     * labels under 63 */
    for (size_t extra = 0; extra <= 8; extra++) {
        size_t labels[] = {60, 60, 60, 2 + extra};
        size_t n = build(buf, 64, labels, 4);
        compare(buf, n);
        size_t shorter[] = {60, 60, 60 + extra, 2};
        compare(buf, build(buf, 60, shorter, 4));
    }
    /* the same limits with comments and white space around the local part */
    for (size_t local = 60; local <= 67; local++) {
        size_t labels[] = {7, 3}, longer[] = {60, 60, 60, 2};
        unsigned char plain[600];
        size_t n = build(plain, local, labels, 2), at = local;
        static const char *const around[][2] = {{"(c)", ""}, {"", "(c)"}, {"", " "}, {"(c)", "(d)"}};
        for (size_t k = 0; k < sizeof around / sizeof around[0]; k++) {
            size_t pre = strlen(around[k][0]), post = strlen(around[k][1]);
            memcpy(buf, around[k][0], pre);
            memcpy(buf + pre, plain, at);
            memcpy(buf + pre + at, around[k][1], post);
            memcpy(buf + pre + at + post, plain + at, n - at);
            size_t m = pre + at + post + n - at;
            if (around[k][1][0] == ' ') { /* " @ ": a space after the "@" too */
                memmove(buf + pre + at + post + 2, buf + pre + at + post + 1, n - at - 1);
                buf[pre + at + post + 1] = ' ';
                m++;
            }
            compare(buf, m);
        }
        n = build(plain, local, longer, 4); /* 250 to 257 octets, 3 more with "(c)" */
        memcpy(buf, "(c)", 3);
        memcpy(buf + 3, plain, n);
        compare(buf, n + 3);
    }
    /* domain over 255 with a short local part */
    size_t many[] = {63, 63, 63, 63, 5};
    compare(buf, build(buf, 1, many, 5));
    printf("length limits: %ld strings\n", compared - before);
}

/* The quick pass takes each form it is there for, with its diagnosis,
 * and leaves the others. */
static void forms(void)
{
    for (size_t k = 0; k < sizeof TAKEN / sizeof TAKEN[0]; k++) {
        const unsigned char *s = (const unsigned char *)TAKEN[k].addr;
        em_parse p;
        int took = em_parse_quick(s, strlen(TAKEN[k].addr), TAKEN[k].utf8, &p);
        CHECK(took, "the quick pass does not take %s", TAKEN[k].addr);
        if (took)
            CHECK(strcmp(ms_email_diag_defs[p.diag].code, TAKEN[k].diagnosis) == 0, "%s: %s, not %s",
                  TAKEN[k].addr, ms_email_diag_defs[p.diag].code, TAKEN[k].diagnosis);
        compare(s, strlen(TAKEN[k].addr));
    }
    for (size_t k = 0; k < sizeof LEFT / sizeof LEFT[0]; k++) {
        em_parse p;
        CHECK(!em_parse_quick((const unsigned char *)LEFT[k].addr, strlen(LEFT[k].addr), LEFT[k].utf8, &p),
              "the quick pass takes %s", LEFT[k].addr);
        compare((const unsigned char *)LEFT[k].addr, strlen(LEFT[k].addr));
    }
}

int main(void)
{
    forms();
    isemail_suite();
    data_file();
    exhaustive();
    mutations();
    limits();
    printf("%ld inputs compared, %ld taken by the quick pass, %d differences\n", compared, taken,
           failures);
    CHECK(taken > 1000, "the quick pass took only %ld inputs", taken);
    return failures ? 1 : 0;
}
