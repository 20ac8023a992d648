/* Reverse DNS of sending sources, cached in the store: a report run over a
 * year of reports names thousands of IPs, and their names change slowly. */
#include "core/internal.h"
#include "mailsec/dns.h"
#include "mailsec/sources.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* The reverse-lookup name of ip into *out (caller frees); MS_ERR_INVALID
 * when ip is not an address. */
static ms_status reverse_name(const char *ip, char **out)
{
    unsigned char a[16];
    ms_buf b = MS_BUF_INIT;
    *out = NULL;
    if (inet_pton(AF_INET, ip, a) == 1) {
        ms_buf_printf(&b, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2], a[1], a[0]);
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        static const char hex[] = "0123456789abcdef";
        for (int i = 15; i >= 0; i--)
            ms_buf_printf(&b, "%c.%c.", hex[a[i] & 0xf], hex[a[i] >> 4]);
        ms_buf_puts(&b, "ip6.arpa");
    } else {
        return MS_ERR_INVALID;
    }
    *out = ms_buf_take(&b);
    return *out != NULL ? MS_OK : MS_ERR_NOMEM;
}

char *ms_sources_reverse_name(const char *ip)
{
    char *name;
    reverse_name(ip, &name);
    return name;
}

char *ms_sources_group_by_org(void *ctx, const char *rdns_name)
{
    char *org = NULL;
    if (ms_domain_org_psl(ctx, rdns_name, &org) != MS_OK)
        return ms_strdup(rdns_name);
    return org;
}

/* Whether the store already knows this IP's name, recently enough. */
static int cached(ms_store *store, const char *ip, int64_t oldest)
{
    char *name = NULL;
    int64_t fetched = 0;
    if (ms_store_rdns_get(store, ip, &name, &fetched) != MS_OK)
        return 0;
    int fresh = name != NULL && fetched >= oldest;
    free(name);
    return fresh;
}

/* The first PTR target; "" when the name has none. NULL when the lookup
 * failed, so nothing is cached. */
static const char *ptr_name(const ms_dns_answer *a)
{
    if (ms_dns_answer_failed(a))
        return NULL;
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].type == MS_DNS_PTR && a->records[i].text != NULL)
            return a->records[i].text;
    return "";
}

ms_status ms_sources_resolve(ms_ctx *ctx, ms_store *store, const char *const *ips, size_t count,
                             int64_t max_age)
{
    int64_t now = (int64_t)ms_ctx_now(ctx);
    int64_t oldest = max_age > 0 ? now - max_age : INT64_MIN;
    ms_dns_batch *batch = NULL;
    size_t *which = calloc(count ? count : 1, sizeof *which); /* batch index -> ips index */
    size_t asked = 0;
    ms_status st = which ? ms_dns_batch_new(ctx, &batch) : MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < count; i++) {
        char *reverse;
        ms_status named = reverse_name(ips[i], &reverse);
        if (named == MS_ERR_NOMEM)
            st = named; /* not "no address": an address would go unnamed */
        if (named == MS_OK && !cached(store, ips[i], oldest)) {
            size_t index;
            st = ms_dns_batch_add(batch, reverse, MS_DNS_PTR, &index);
            if (st == MS_OK) { /* index is set only then */
                which[index] = i;
                asked++;
            }
        }
        free(reverse);
    }
    if (st == MS_OK && asked > 0)
        st = ms_dns_batch_wait(batch);
    for (size_t k = 0; st == MS_OK && k < asked; k++) {
        const char *name = ptr_name(ms_dns_batch_answer(batch, k));
        if (name != NULL)
            st = ms_store_rdns_put(store, ips[which[k]], name, now);
    }
    ms_dns_batch_free(batch);
    free(which);
    return st;
}
