/* ms_email_mx_check against the DNS test bed
 * (tests/dnsbed/zones/mailtest.example.zone): the verdicts, and the
 * per-call cache (each distinct domain asked once: MX, A, AAAA), and the
 * cache kept across calls (ms_email_mx_cache): what it holds is not asked
 * again, what it does not is. */
#include "mailsec/dns.h"
#include "mailsec/email.h"
#include "unit/testutil.h"

#include <stdio.h>
#include <string.h>

/* The same list twice through one cache: the first call asks the 6
 * domains, the second nothing, with the same answers; a new domain in a
 * third call is asked (3 queries). */
static int across_calls(ms_ctx *ctx, const char *const *domains, const ms_email_mx_status *want, size_t n)
{
    ms_email_mx_cache *cache = ms_email_mx_cache_new();
    ms_email_mx_status got[16];
    int failures = 0;
    unsigned long sent[3];
    for (int round = 0; round < 2 && cache != NULL; round++) {
        unsigned long before = ms_dns_queries_sent(ctx);
        memset(got, 0xff, sizeof got);
        if (ms_email_mx_check_cached(ctx, cache, domains, n, got) != MS_OK) {
            printf("FAIL: ms_email_mx_check_cached, round %d\n", round + 1);
            failures++;
        }
        sent[round] = ms_dns_queries_sent(ctx) - before;
        for (size_t i = 0; i < n; i++) {
            if (got[i] != want[i]) {
                printf("FAIL: round %d: %s: want %s, got %s\n", round + 1, domains[i],
                       ms_email_mx_status_name(want[i]), ms_email_mx_status_name(got[i]));
                failures++;
            }
        }
    }
    const char *const more[] = {"withmx.mailtest.example", "other.mailtest.example"};
    unsigned long before = ms_dns_queries_sent(ctx);
    if (cache == NULL || ms_email_mx_check_cached(ctx, cache, more, 2, got) != MS_OK) {
        printf("FAIL: ms_email_mx_check_cached with a new domain\n");
        failures++;
    }
    sent[2] = ms_dns_queries_sent(ctx) - before;
    if (cache != NULL && (sent[0] != 18 || sent[1] != 0 || sent[2] != 3 || got[0] != MS_EMAIL_MX_OK)) {
        printf("FAIL: queries sent %lu, %lu, %lu: want 18, then 0 (all cached), then 3 (one new domain)\n",
               sent[0], sent[1], sent[2]);
        failures++;
    }
    ms_email_mx_cache_free(cache);
    return failures;
}

int main(void)
{
    char resolver[256], anchor[4096];
    if (!dnsbed_get("RESOLVER", resolver, sizeof resolver) || !dnsbed_get("TRUST_ANCHOR", anchor, sizeof anchor)) {
        printf("FAIL: the DNS test bed is not running\n");
        return 1;
    }
    ms_ctx *ctx;
    if (ms_ctx_new(&ctx) != MS_OK || ms_ctx_set_resolver(ctx, resolver) != MS_OK ||
        ms_ctx_set_trust_anchor_file(ctx, anchor) != MS_OK)
        return 1;
    static const char *const domains[] = {
        "withmx.mailtest.example", "aonly.mailtest.example", "withmx.mailtest.example",
        "nullmx.mailtest.example", "nosuch.mailtest.example", "txtonly.mailtest.example",
        "aaaaonly.mailtest.example", "withmx.mailtest.example",
    };
    static const ms_email_mx_status want[] = {
        MS_EMAIL_MX_OK, MS_EMAIL_MX_FALLBACK, MS_EMAIL_MX_OK, MS_EMAIL_MX_NULL,
        MS_EMAIL_MX_NXDOMAIN, MS_EMAIL_MX_NONE, MS_EMAIL_MX_FALLBACK, MS_EMAIL_MX_OK,
    };
    enum { N = sizeof domains / sizeof domains[0] };
    ms_email_mx_status got[N];
    int failures = 0;
    unsigned long before = ms_dns_queries_sent(ctx);
    if (ms_email_mx_check(ctx, domains, N, got) != MS_OK) {
        printf("FAIL: ms_email_mx_check\n");
        failures++;
    }
    unsigned long sent = ms_dns_queries_sent(ctx) - before;
    for (size_t i = 0; i < N && failures == 0; i++) {
        if (got[i] != want[i]) {
            printf("FAIL: %s: want %s, got %s\n", domains[i], ms_email_mx_status_name(want[i]),
                   ms_email_mx_status_name(got[i]));
            failures++;
        }
    }
    /* 6 distinct domains x (MX, A, AAAA) */
    if (sent != 18) {
        printf("FAIL: %lu queries sent, want 18 (each distinct domain once)\n", sent);
        failures++;
    }
    failures += across_calls(ctx, domains, want, N);
    ms_ctx_free(ctx);
    printf("%s: %d failures\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
