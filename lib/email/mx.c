/* Deliverability through lib/dns: MX (RFC 5321 section 5.1), null MX
 * (RFC 7505), the A/AAAA fallback. Every distinct domain is asked once
 * (a per-call cache, and across calls the caller's ms_email_mx_cache), and
 * all of a chunk's queries are in flight at once: MX, A and AAAA together,
 * so the fallback costs no second round. */
#include "email_internal.h"

#include "mailsec/dns.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>

/* Domains per DNS batch: bounds memory and the resolver's queue. */
enum { MX_CHUNK = 256 };

const char *ms_email_mx_status_name(ms_email_mx_status status)
{
    static const char *const names[] = {"mx", "fallback", "null-mx", "nxdomain", "none", "tempfail"};
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "tempfail";
}

static ms_email_mx_status verdict(const ms_dns_answer *mx, const ms_dns_answer *a, const ms_dns_answer *aaaa)
{
    if (ms_dns_answer_failed(mx))
        return MS_EMAIL_MX_TEMPFAIL;
    if (mx->rcode == MS_DNS_NXDOMAIN)
        return MS_EMAIL_MX_NXDOMAIN;
    if (mx->rcode == MS_DNS_NOERROR && mx->count > 0) {
        /* RFC 7505: a single MX of preference 0 naming the root. */
        if (mx->count == 1 && mx->records[0].preference == 0 && mx->records[0].text != NULL &&
            (mx->records[0].text[0] == '\0' || strcmp(mx->records[0].text, ".") == 0))
            return MS_EMAIL_MX_NULL;
        return MS_EMAIL_MX_OK;
    }
    /* No MX: the domain itself is the implicit MX when it has an address. */
    if ((a && a->rcode == MS_DNS_NOERROR && a->count > 0) ||
        (aaaa && aaaa->rcode == MS_DNS_NOERROR && aaaa->count > 0))
        return MS_EMAIL_MX_FALLBACK;
    if (ms_dns_answer_failed(a) || ms_dns_answer_failed(aaaa))
        return MS_EMAIL_MX_TEMPFAIL;
    return MS_EMAIL_MX_NONE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static ms_status check_chunk(ms_ctx *ctx, const char *const *names, size_t n, ms_email_mx_status *out)
{
    ms_dns_batch *b = NULL;
    ms_status st = ms_dns_batch_new(ctx, &b);
    if (st != MS_OK)
        return st;
    size_t *idx = malloc(3 * n * sizeof *idx);
    if (idx == NULL) {
        ms_dns_batch_free(b);
        return MS_ERR_NOMEM;
    }
    static const uint16_t types[3] = {MS_DNS_MX, MS_DNS_A, MS_DNS_AAAA};
    for (size_t i = 0; i < n && st == MS_OK; i++)
        for (int t = 0; t < 3 && st == MS_OK; t++)
            st = ms_dns_batch_add(b, names[i], types[t], &idx[3 * i + (size_t)t]);
    if (st == MS_OK)
        st = ms_dns_batch_wait(b);
    if (st == MS_OK)
        for (size_t i = 0; i < n; i++)
            out[i] = verdict(ms_dns_batch_answer(b, idx[3 * i]), ms_dns_batch_answer(b, idx[3 * i + 1]),
                             ms_dns_batch_answer(b, idx[3 * i + 2]));
    free(idx);
    ms_dns_batch_free(b);
    return st;
}

ms_status ms_email_mx_check(ms_ctx *ctx, const char *const *domains, size_t count, ms_email_mx_status *out)
{
    if (ctx == NULL || (count > 0 && (domains == NULL || out == NULL)))
        return MS_ERR_INVALID;
    if (count == 0)
        return MS_OK;
    /* The cache: sort a copy of the pointers, ask each distinct name once. */
    const char **sorted = malloc(count * sizeof *sorted);
    if (sorted == NULL)
        return MS_ERR_NOMEM;
    memcpy(sorted, domains, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, cmp_str);
    size_t distinct = 0;
    for (size_t i = 0; i < count; i++)
        if (distinct == 0 || strcmp(sorted[distinct - 1], sorted[i]) != 0)
            sorted[distinct++] = sorted[i];
    ms_email_mx_status *st = malloc(distinct * sizeof *st);
    ms_status rc = st ? MS_OK : MS_ERR_NOMEM;
    for (size_t i = 0; i < distinct && rc == MS_OK; i += MX_CHUNK)
        rc = check_chunk(ctx, sorted + i, distinct - i < MX_CHUNK ? distinct - i : MX_CHUNK, st + i);
    if (rc == MS_OK) {
        for (size_t i = 0; i < count; i++) {
            const char **hit = bsearch(&domains[i], sorted, distinct, sizeof *sorted, cmp_str);
            out[i] = hit ? st[hit - sorted] : MS_EMAIL_MX_TEMPFAIL;
        }
    }
    free(st);
    free(sorted);
    return rc;
}

/* ---- the cache across calls: open addressing, FNV-1a, doubling at half
 * full, never past MS_EMAIL_MX_CACHE_MAX names ---- */

struct ms_email_mx_cache {
    char **names;
    ms_email_mx_status *status;
    size_t cap, count; /* cap a power of two, 0 before the first put */
};

ms_email_mx_cache *ms_email_mx_cache_new(void)
{
    return calloc(1, sizeof(ms_email_mx_cache));
}

void ms_email_mx_cache_free(ms_email_mx_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->cap; i++)
        free(c->names[i]);
    free(c->names);
    free(c->status);
    free(c);
}

static size_t cache_slot(const ms_email_mx_cache *c, const char *name)
{
    size_t h = 1469598103934665603u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    size_t i = h & (c->cap - 1);
    while (c->names[i] != NULL && strcmp(c->names[i], name) != 0)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static const ms_email_mx_status *cache_get(const ms_email_mx_cache *c, const char *name)
{
    if (c->cap == 0)
        return NULL;
    size_t i = cache_slot(c, name);
    return c->names[i] != NULL ? &c->status[i] : NULL;
}

static int cache_grow(ms_email_mx_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    ms_email_mx_cache n = {calloc(cap, sizeof(char *)), calloc(cap, sizeof(ms_email_mx_status)), cap, c->count};
    if (n.names == NULL || n.status == NULL) {
        free(n.names);
        free(n.status);
        return 0;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (c->names[i] != NULL) {
            size_t j = cache_slot(&n, c->names[i]);
            n.names[j] = c->names[i];
            n.status[j] = c->status[i];
        }
    }
    free(c->names);
    free(c->status);
    *c = n;
    return 1;
}

/* Remembers name's verdict; nothing when full or out of memory (the
 * cache only saves lookups). */
static void cache_put(ms_email_mx_cache *c, const char *name, ms_email_mx_status status)
{
    if (c->count >= MS_EMAIL_MX_CACHE_MAX || (c->count * 2 >= c->cap && !cache_grow(c)))
        return;
    size_t i = cache_slot(c, name);
    if (c->names[i] != NULL || (c->names[i] = ms_strdup(name)) == NULL)
        return;
    c->status[i] = status;
    c->count++;
}

ms_status ms_email_mx_check_cached(ms_ctx *ctx, ms_email_mx_cache *cache, const char *const *domains,
                                   size_t count, ms_email_mx_status *out)
{
    if (cache == NULL)
        return ms_email_mx_check(ctx, domains, count, out);
    if (ctx == NULL || (count > 0 && (domains == NULL || out == NULL)))
        return MS_ERR_INVALID;
    /* miss[i]: where domain i's answer is in asked[], or SIZE_MAX when
     * the cache answered it */
    const char **asked = malloc((count ? count : 1) * sizeof *asked);
    size_t *miss = malloc((count ? count : 1) * sizeof *miss);
    ms_email_mx_status *answers = malloc((count ? count : 1) * sizeof *answers);
    ms_status rc = asked && miss && answers ? MS_OK : MS_ERR_NOMEM;
    size_t nasked = 0;
    for (size_t i = 0; i < count && rc == MS_OK; i++) {
        const ms_email_mx_status *hit = cache_get(cache, domains[i]);
        if (hit != NULL) {
            out[i] = *hit;
            miss[i] = SIZE_MAX;
        } else {
            miss[i] = nasked;
            asked[nasked++] = domains[i];
        }
    }
    if (rc == MS_OK)
        rc = ms_email_mx_check(ctx, asked, nasked, answers);
    for (size_t i = 0; i < count && rc == MS_OK; i++) {
        if (miss[i] == SIZE_MAX)
            continue;
        out[i] = answers[miss[i]];
        cache_put(cache, domains[i], out[i]);
    }
    free(asked);
    free(miss);
    free(answers);
    return rc;
}

void ms_email_result_apply_mx(ms_email_result *r, ms_email_profile profile, ms_email_mx_status mx)
{
    const char *d = r->diagnosis;
    int plain = strcmp(d, "email.valid") == 0;
    int tld = strcmp(d, "email.rfc5321-tld") == 0 || strcmp(d, "email.rfc5321-tld-numeric") == 0;
    if ((!plain && !tld) || mx == MS_EMAIL_MX_TEMPFAIL)
        return;
    enum em_diag nd;
    if (mx == MS_EMAIL_MX_OK)
        nd = EM_VALID; /* is_email: a domain with an MX is not questioned further */
    else if (tld)
        return; /* the TLD finding outranks the DNS warning */
    else if (mx == MS_EMAIL_MX_FALLBACK)
        nd = EM_DNSWARN_NO_MX_RECORD;
    else
        nd = EM_DNSWARN_NO_RECORD;
    r->diagnosis = ms_email_diag_defs[nd].code;
    r->category = (ms_email_category)em_diag_infos[nd].category;
    if (profile == MS_EMAIL_PROFILE_RFC5322)
        r->valid = 1;
    else if (profile == MS_EMAIL_PROFILE_HTML5)
        r->valid = r->valid && nd != EM_DNSWARN_NO_RECORD;
    else
        r->valid = nd != EM_DNSWARN_NO_RECORD;
}
