/* The fast paths against the slow ones on the mixed corpora of
 * bench/email/gen_mix.py (0%, 20% and 50% non-ASCII: Unicode local parts,
 * IDN domains in NFC and decomposed, quoted strings, comments, literals,
 * long inputs, broken input), generated here with fixed seeds:
 *   - ms_email_check() (fast path first) gives exactly em_check_full()'s
 *     answer under every profile;
 *   - ms_email_normalize_into() (no allocation for a plain address) gives
 *     exactly ms_email_normalize()'s normal form, or MS_ERR_LIMIT with
 *     the right length when the buffer is too small;
 *   - the NFC quick check (em_nfc_quick) takes only what is in NFC;
 *   - the per-thread cache of domain verdicts changes no answer: every
 *     domain's cached verdict and A-label length is what the uncached
 *     em_idn_verdict() says, and the 50% corpus checked forward in one
 *     thread, backward in another (each starts cold, and hits the cache at
 *     other places) and again here gives the same results.
 * The plain addresses must take the allocation-free path, or the test
 * would prove nothing about it. */
#include "email/email_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uninorm.h>

#include "unit/check.h"

static long compared, plain_normal;

static int same_result(const ms_email_result *a, const ms_email_result *b)
{
    return a->valid == b->valid && a->category == b->category && strcmp(a->diagnosis, b->diagnosis) == 0 &&
           a->error_offset == b->error_offset && a->local_start == b->local_start &&
           a->local_len == b->local_len && a->domain_start == b->domain_start && a->domain_len == b->domain_len;
}

static void compare_normal(const char *a, size_t n, ms_email_profile p, const ms_email_result *r)
{
    char *slow = NULL;
    ms_status want = ms_email_normalize(a, n, p, &slow);
    char buf[1024];
    size_t len = 0;
    ms_status got = ms_email_normalize_into(a, n, p, r, buf, sizeof buf, &len);
    CHECK(got == want, "%s profile %d: normalize_into %d, normalize %d", a, (int)p, (int)got, (int)want);
    if (got == MS_OK && want == MS_OK) {
        CHECK(len == strlen(slow) && strcmp(buf, slow) == 0, "%s: normal form \"%s\", want \"%s\"", a, buf, slow);
        /* too small a buffer: said, with the length needed */
        char tiny[4];
        size_t need = 0;
        if (len >= sizeof tiny)
            CHECK(ms_email_normalize_into(a, n, p, r, tiny, sizeof tiny, &need) == MS_ERR_LIMIT && need == len,
                  "%s: a short buffer is not refused", a);
        if (p == MS_EMAIL_PROFILE_SMTP && strcmp(a, slow) != 0 && len == n)
            plain_normal++; /* the domain was lower-cased */
    }
    free(slow);
}

/* The NFC quick check never takes for NFC what is not. */
static void compare_nfc(const char *a, size_t n)
{
    if (!em_nfc_quick((const unsigned char *)a, n))
        return;
    size_t len = 0;
    uint8_t *nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)a, n, NULL, &len);
    CHECK(nfc != NULL && len == n && memcmp(nfc, a, n) == 0, "%s: taken as NFC, and it is not", a);
    free(nfc);
}

/* The cached verdict of a's domain, at the A-label length's limit and one
 * byte past it, against the uncached one. */
static void compare_idn(const char *a, size_t n)
{
    const char *at = NULL;
    for (size_t i = 0; i < n; i++)
        if (a[i] == '@')
            at = a + i;
    if (at == NULL)
        return;
    const unsigned char *d = (const unsigned char *)at + 1;
    size_t dn = n - (size_t)(d - (const unsigned char *)a), len = 0;
    int ascii = 1;
    for (size_t i = 0; i < dn; i++)
        ascii &= d[i] < 0x80;
    if (ascii && !em_has_alabel(d, dn))
        return; /* ASCII without A-labels: never asks libidn2, never cached */
    int transient = 0;
    enum em_diag want = em_idn_verdict(d, dn, &len, &transient);
    if (transient || len > 253)
        return;
    enum em_diag at_limit = em_idn_check(d, dn, 253 - len), past = em_idn_check(d, dn, 254 - len);
    CHECK(at_limit == want && past == (want == EM_VALID ? EM_RFC5322_TOO_LONG : want),
          "%s: cached %d / %d, uncached %d (A-label length %zu)", a, (int)at_limit, (int)past, (int)want, len);
}

/* Names of one length, half valid and half not (U+2603 is disallowed in
 * IDNA2008), many more than the cache has slots: a cache that answered for
 * another name of the same length would be caught. */
static void compare_idn_same_length(void)
{
    char a[64];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(a, sizeof a, "x@%s%05d.example", i % 2 ? "\xe2\x98\x83" : "\xc3\xa9" "a", i / 2);
        compare_idn(a, (size_t)n);
    }
}

/* What email.h promises of a result of category valid, and the command's
 * output relies on (it writes such an address and its normal form without
 * looking for bytes to quote or escape): a dot-atom "@" a host name, atext,
 * "." and "@" only, and UTF-8 under profile intl. */
static void check_valid_bytes(const char *a, size_t n, ms_email_profile p, const ms_email_result *r)
{
    static const char ATEXT[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.@";
    if (r->category != MS_EMAIL_CAT_VALID)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        CHECK((c != 0 && strchr(ATEXT, c) != NULL) || (c >= 0x80 && p == MS_EMAIL_PROFILE_INTL),
              "%s profile %d: byte 0x%02x in an address of category valid", a, (int)p, c);
    }
    char buf[1024];
    size_t len;
    if (ms_email_normalize_into(a, n, p, r, buf, sizeof buf, &len) != MS_OK)
        return;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        CHECK((c != 0 && strchr(ATEXT, c) != NULL) || (c >= 0x80 && p == MS_EMAIL_PROFILE_INTL),
              "%s profile %d: byte 0x%02x in the normal form %s", a, (int)p, c, buf);
    }
}

static void compare(const char *a, size_t n)
{
    compared++;
    compare_nfc(a, n);
    compare_idn(a, n);
    for (int p = 0; p < 4; p++) {
        ms_email_result fast, full;
        ms_email_check(a, n, (ms_email_profile)p, &fast);
        em_check_full(a, n, (ms_email_profile)p, &full);
        CHECK(same_result(&fast, &full), "%s profile %d: %s against %s", a, p, fast.diagnosis, full.diagnosis);
        compare_normal(a, n, (ms_email_profile)p, &fast);
        check_valid_bytes(a, n, (ms_email_profile)p, &fast);
    }
}

/* The lines of the last corpus, kept for the threads below. */
static char **kept;
static long kept_count;

typedef struct {
    int backward;
    ms_email_result *results; /* kept_count x 4 profiles */
} cache_run;

static void *check_all(void *arg)
{
    cache_run *run = arg;
    for (long k = 0; k < kept_count; k++) {
        long i = run->backward ? kept_count - 1 - k : k;
        for (int p = 0; p < 4; p++)
            ms_email_check(kept[i], strlen(kept[i]), (ms_email_profile)p, &run->results[i * 4 + p]);
    }
    return NULL;
}

static void cache_across_threads(void)
{
    cache_run runs[3] = {{0, NULL}, {1, NULL}, {0, NULL}};
    pthread_t threads[2];
    for (int t = 0; t < 3; t++)
        runs[t].results = calloc((size_t)kept_count * 4, sizeof(ms_email_result));
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&threads[t], NULL, check_all, &runs[t]) == 0, "pthread_create");
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    check_all(&runs[2]); /* this thread's cache is warm from compare() */
    for (long i = 0; i < kept_count * 4; i++)
        CHECK(same_result(&runs[0].results[i], &runs[1].results[i]) &&
                  same_result(&runs[0].results[i], &runs[2].results[i]),
              "%s profile %ld: %s / %s / %s across threads", kept[i / 4], i % 4, runs[0].results[i].diagnosis,
              runs[1].results[i].diagnosis, runs[2].results[i].diagnosis);
    for (int t = 0; t < 3; t++)
        free(runs[t].results);
}

static void keep(const char *line)
{
    char **more = realloc(kept, (size_t)(kept_count + 1) * sizeof *kept);
    CHECK(more != NULL, "out of memory");
    if (more != NULL) {
        kept = more;
        kept[kept_count++] = strdup(line);
    }
}

static void forget(void)
{
    for (long i = 0; i < kept_count; i++)
        free(kept[i]);
    free(kept);
    kept = NULL;
    kept_count = 0;
}

static void corpus(const char *source, int percent, int count, int seed)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/bench/email/gen_mix.py %d %d %d", source, percent, count, seed);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL, "cannot run %s", cmd);
    if (f == NULL)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lines = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = '\0';
        compare(line, (size_t)n);
        keep(line);
        lines++;
    }
    free(line);
    CHECK(pclose(f) == 0 && lines == count, "%s: %ld lines", cmd, lines);
}

int main(void)
{
    const char *source = getenv("MAILSEC_SOURCE_DIR");
    if (source == NULL)
        source = ".";
    corpus(source, 0, 20000, 1);
    forget();
    corpus(source, 20, 20000, 2);
    forget();
    corpus(source, 50, 20000, 3);
    cache_across_threads();
    forget();
    compare_idn_same_length();
    /* plain addresses with upper case: the allocation-free normal form */
    compare("John.Doe@Example.COM", 20);
    compare("a@B.C.example", 13);
    printf("%ld inputs compared, %ld plain normal forms, %d differences\n", compared, plain_normal, failures);
    CHECK(plain_normal > 100, "only %ld plain addresses with upper case", plain_normal);
    return failures ? 1 : 0;
}
