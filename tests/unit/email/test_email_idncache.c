/* The per-thread cache of IDN verdicts (lib/email/unicode.c) on an
 * address list with many distinct internationalized domains, as a long
 * list holds them:
 *   - 20 000 distinct U-label and A-label domains checked once, then
 *     again: the second time (almost) every one is a hit, so libidn2 runs
 *     once per domain, not once per address;
 *   - every verdict and A-label length taken from the cache is the one
 *     the uncached em_idn_verdict() gives;
 *   - long names fill the cache's store of names: it empties and starts
 *     again, and the answers stay the same. */
#include "email/email_internal.h"

#include <stdio.h>
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

int main(void)
{
    static const check_test tests[] = {
        {"repeated_domains", repeated_domains},
        {"full_store", full_store},
    };
    run_checks(tests, sizeof tests / sizeof tests[0]);
    return failures ? 1 : 0;
}
