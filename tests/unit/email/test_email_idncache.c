/* The per-thread cache of IDN verdicts (lib/email/unicode.c) on an
 * address list with many distinct internationalized domains, as a long
 * list holds them:
 *   - 20 000 distinct U-label and A-label domains checked once, then
 *     again: the second time (almost) every one is a hit, so libidn2 runs
 *     once per domain, not once per address;
 *   - every verdict and A-label length taken from the cache is the one
 *     the uncached em_idn_verdict() gives;
 *   - long names fill the cache's store of names: it empties and starts
 *     again, and the answers stay the same;
 *   - a domain's DNS form (the normal form's domain) read from the cache
 *     is what libidn2 gives it in a thread whose cache has never seen it. */
#include "email/email_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/check.h"

enum { DOMAINS = 20000 };

/* The i-th domain of the list: a U-label (in NFC or not) or an A-label. */
static size_t domain(size_t i, char *buf, size_t cap)
{
    static const char *const words[] = {"m\xC3\xBCller", "\xD0\xBF\xD0\xBE\xD1\x87\xD1\x82\xD0\xB0",
                                        "\xE6\xB5\x8B\xE8\xAF\x95", "jose\xCC\x81", "xn--mller-kva",
                                        "\xCE\xB4\xCE\xBF\xCE\xBA\xCE\xB9\xCE\xBC\xCE\xAE"};
    static const char *const tlds[] = {"de", "\xD1\x80\xD1\x84", "example", "xn--p1ai"};
    int n = snprintf(buf, cap, "%s%zu.%s", words[i % 6], i / 6, tlds[(i / 6) % 4]);
    return (size_t)n;
}

/* The domain's verdict through the cache matches the uncached one. */
static void check_against_uncached(const char *d, size_t n)
{
    size_t want_len = 0;
    int transient = 0;
    enum em_diag want = em_idn_verdict((const unsigned char *)d, n, &want_len, &transient);
    enum em_diag got = em_idn_check((const unsigned char *)d, n, 0);
    /* em_idn_check() adds the total length limit, which a short local part never reaches */
    CHECK(got == want, "%s: cached verdict %d, uncached %d", d, (int)got, (int)want);
}

static void repeated_domains(void)
{
    char d[128];
    idn_cache_stats before = em_idn_cache_stats();
    for (size_t i = 0; i < DOMAINS; i++)
        em_idn_check((const unsigned char *)d, domain(i, d, sizeof d), 0);
    idn_cache_stats first = em_idn_cache_stats();
    CHECK(first.misses - before.misses == DOMAINS, "first pass: %zu misses for %d new domains",
          first.misses - before.misses, DOMAINS);
    for (size_t i = 0; i < DOMAINS; i++) {
        size_t n = domain(i, d, sizeof d);
        check_against_uncached(d, n);
    }
    idn_cache_stats second = em_idn_cache_stats();
    size_t hits = second.hits - first.hits;
    CHECK(hits >= DOMAINS * 99 / 100, "second pass: %zu hits of %d domains seen before", hits, DOMAINS);
    printf("second pass: %zu hits, %zu misses of %d domains\n", hits, second.misses - first.misses, DOMAINS);
}

/* Names of some 200 bytes: 2 MiB of them overflow the store. */
static void full_store(void)
{
    idn_cache_stats before = em_idn_cache_stats();
    char d[256];
    for (size_t i = 0; i < 12000; i++) {
        size_t n = 0;
        for (int label = 0; label < 6; label++)
            n += (size_t)snprintf(d + n, sizeof d - n, "%s\xC3\xBC%010zu%s", label ? "." : "", i + 100000u * (size_t)label,
                                  "abcdefghijklmnopqrstu");
        CHECK(n < 255, "test name of %zu bytes", n);
        check_against_uncached(d, n);
        if (i % 1000 == 0) /* seen again at once: a hit */
            check_against_uncached(d, n);
    }
    idn_cache_stats after = em_idn_cache_stats();
    CHECK(after.emptied > before.emptied, "the store of names never filled");
    CHECK(after.hits - before.hits >= 12, "%zu hits of names seen twice", after.hits - before.hits);
}

/* Each domain's DNS form, in a thread of its own: every one a miss. */
static void *fresh_dns_forms(void *arg)
{
    char **forms = arg, d[128];
    for (size_t i = 0; i < DOMAINS; i++) {
        size_t n = domain(i, d, sizeof d);
        forms[i] = em_domain_to_ascii(d, n);
    }
    idn_cache_stats st = em_idn_cache_stats();
    return st.hits == 0 ? forms : NULL;
}

static void dns_forms(void)
{
    char **forms = calloc(DOMAINS, sizeof *forms), d[128];
    pthread_t t;
    void *ok = NULL;
    CHECK(forms != NULL && pthread_create(&t, NULL, fresh_dns_forms, forms) == 0, "thread");
    if (forms == NULL)
        return;
    pthread_join(t, &ok);
    CHECK(ok != NULL, "a cache hit in a fresh thread");
    idn_cache_stats before = em_idn_cache_stats();
    size_t valid = 0;
    for (size_t i = 0; i < DOMAINS; i++) {
        size_t n = domain(i, d, sizeof d);
        em_idn_check((const unsigned char *)d, n, 0); /* cached now, if it was not */
        char *cached = em_domain_to_ascii(d, n);
        CHECK((cached == NULL) == (forms[i] == NULL) && (cached == NULL || strcmp(cached, forms[i]) == 0),
              "%s: DNS form %s from the cache, %s from libidn2", d, cached ? cached : "(none)",
              forms[i] ? forms[i] : "(none)");
        valid += cached != NULL;
        free(cached);
        free(forms[i]);
    }
    free(forms);
    idn_cache_stats after = em_idn_cache_stats();
    CHECK(valid > DOMAINS / 2, "only %zu domains with a DNS form", valid);
    /* the verdict and the DNS form each from the cache: libidn2 not asked again */
    CHECK(after.hits - before.hits >= 2 * DOMAINS * 99 / 100, "%zu hits for %d domains asked twice",
          after.hits - before.hits, DOMAINS);
}

int main(void)
{
    static const check_test tests[] = {
        {"repeated_domains", repeated_domains},
        {"dns_forms", dns_forms},
        {"full_store", full_store},
    };
    run_checks(tests, sizeof tests / sizeof tests[0]);
    return failures ? 1 : 0;
}
