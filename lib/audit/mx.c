/* MX: the domain's mail hosts and their addresses. One MX query, then the
 * A and AAAA of every host at once, from the MX answer's callback. */
#include "internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

typedef struct mx_run mx_run;

typedef struct address_query {
    mx_run *run;
    size_t host;
} address_query;

struct mx_run {
    ms_ctx *ctx;
    const char *domain;
    ms_audit_mx_result *mx;
    ms_diag_list *diags;
    address_query *queries; /* one per host, shared by its A and AAAA */
    ms_status status;       /* the first failure inside a callback */
};

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

static void note(mx_run *r, ms_status st)
{
    if (r->status == MS_OK)
        r->status = st;
}

static void worst_dnssec(ms_dns_dnssec_state *into, ms_dns_dnssec_state s)
{
    /* bogus beats insecure beats secure: a host is only as secure as its weakest answer */
    if (s == MS_DNS_DNSSEC_BOGUS || (s == MS_DNS_DNSSEC_INSECURE && *into == MS_DNS_DNSSEC_SECURE))
        *into = s;
}

static void on_address(void *arg, ms_dns_answer *a)
{
    address_query *q = arg;
    mx_run *r = q->run;
    if (a == NULL) {
        note(r, MS_ERR_NOMEM);
        return;
    }
    ms_audit_mx_host *host = &r->mx->hosts[q->host];
    worst_dnssec(&host->dnssec, a->dnssec);
    if (a->dnssec == MS_DNS_DNSSEC_BOGUS)
        note(r, ms_diag_add(r->diags, AUDIT_DEF(A_MX_BOGUS), host->name, -1,
                            "DNSSEC validation failed for %s %s: %s", host->name,
                            a->qtype == MS_DNS_A ? "A" : "AAAA",
                            a->why_bogus ? a->why_bogus : "no reason given"));
    else if (ms_dns_answer_failed(a))
        host->failed_rcode = a->rcode; /* reported once per host, in judge_hosts */
    if (a->canonname != NULL)
        host->is_alias = 1;
    size_t *count = a->qtype == MS_DNS_A ? &host->ipv4_count : &host->ipv6_count;
    *count = a->rcode == MS_DNS_NOERROR ? a->count : 0;
    ms_dns_answer_free(a);
}

static ms_status take_hosts(mx_run *r, const ms_dns_answer *a)
{
    ms_audit_mx_result *mx = r->mx;
    mx->hosts = calloc(a->count, sizeof *mx->hosts);
    r->queries = calloc(a->count, sizeof *r->queries);
    if (mx->hosts == NULL || r->queries == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < a->count; i++) {
        if (a->records[i].type != MS_DNS_MX || a->records[i].text == NULL)
            continue;
        ms_audit_mx_host *h = &mx->hosts[mx->count++];
        h->preference = a->records[i].preference;
        h->dnssec = MS_DNS_DNSSEC_SECURE;
        if ((h->name = ms_strdup(a->records[i].text)) == NULL)
            return MS_ERR_NOMEM;
    }
    return MS_OK;
}

static ms_status classify_null_mx(mx_run *r)
{
    ms_audit_mx_result *mx = r->mx;
    int nulls = 0;
    for (size_t i = 0; i < mx->count; i++)
        nulls += mx->hosts[i].name[0] == '\0';
    if (nulls == 0)
        return MS_OK;
    if (mx->count == 1 && mx->hosts[0].preference == 0) {
        mx->null_mx = 1;
        return ms_diag_add(r->diags, AUDIT_DEF(A_MX_NULL), r->domain, -1,
                           "%s publishes a null MX: it accepts no mail", r->domain);
    }
    return ms_diag_add(r->diags, AUDIT_DEF(A_MX_NULL_WITH_OTHERS), r->domain, -1,
                       "%s publishes a null MX among %zu MX records", r->domain, mx->count);
}

static ms_status ask_addresses(mx_run *r)
{
    ms_status st = MS_OK;
    for (size_t i = 0; i < r->mx->count && st == MS_OK; i++) {
        ms_audit_mx_host *h = &r->mx->hosts[i];
        if (h->name[0] == '\0')
            continue;
        if (is_ip_literal(h->name)) {
            st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_IP_LITERAL), r->domain, -1,
                             "MX %u %s is an IP address, not a host name", h->preference, h->name);
            continue;
        }
        r->queries[i] = (address_query){r, i};
        st = ms_dns_submit(r->ctx, h->name, MS_DNS_A, on_address, &r->queries[i]);
        if (st == MS_OK)
            st = ms_dns_submit(r->ctx, h->name, MS_DNS_AAAA, on_address, &r->queries[i]);
    }
    return st;
}

static void on_mx(void *arg, ms_dns_answer *a)
{
    mx_run *r = arg;
    if (a == NULL) {
        note(r, MS_ERR_NOMEM);
        return;
    }
    r->mx->rcode = a->rcode;
    r->mx->dnssec = a->dnssec;
    ms_status st = MS_OK;
    if (a->dnssec == MS_DNS_DNSSEC_BOGUS)
        st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_BOGUS), r->domain, -1,
                         "DNSSEC validation failed for %s MX: %s", r->domain,
                         a->why_bogus ? a->why_bogus : "no reason given");
    else if (ms_dns_answer_failed(a))
        st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_DNS_FAILURE), r->domain, -1,
                         "looking up %s MX gave %s", r->domain, ms_dns_rcode_str(a->rcode));
    else if (a->count == 0)
        st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_NONE), r->domain, -1,
                         "%s has no MX record (%s)", r->domain, ms_dns_rcode_str(a->rcode));
    else if ((st = take_hosts(r, a)) == MS_OK && (st = classify_null_mx(r)) == MS_OK)
        st = ask_addresses(r);
    note(r, st);
    ms_dns_answer_free(a);
}

static ms_status judge_hosts(mx_run *r)
{
    ms_status st = MS_OK;
    size_t with_ipv6 = 0, reachable = 0;
    for (size_t i = 0; i < r->mx->count && st == MS_OK; i++) {
        ms_audit_mx_host *h = &r->mx->hosts[i];
        if (h->name[0] == '\0' || is_ip_literal(h->name))
            continue;
        if (h->failed_rcode != MS_DNS_NOERROR) {
            st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_DNS_FAILURE), h->name, -1,
                             "looking up the addresses of MX host %s gave %s", h->name,
                             ms_dns_rcode_str(h->failed_rcode));
            continue;
        }
        reachable += h->ipv4_count + h->ipv6_count > 0;
        with_ipv6 += h->ipv6_count > 0;
        if (h->is_alias)
            st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_ALIAS), h->name, -1,
                             "MX host %s is a CNAME", h->name);
        if (st == MS_OK && h->ipv4_count == 0 && h->ipv6_count == 0)
            st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_NO_ADDRESS), h->name, -1,
                             "MX host %s has no A or AAAA record", h->name);
    }
    if (st == MS_OK && reachable > 0 && with_ipv6 == 0)
        st = ms_diag_add(r->diags, AUDIT_DEF(A_MX_NO_IPV6), r->domain, -1,
                         "none of the %zu MX hosts of %s has an AAAA record", reachable, r->domain);
    return st;
}

ms_status ms_audit_mx(ms_ctx *ctx, const char *domain, ms_audit_mx_result **out, ms_diag_list *diags)
{
    ms_audit_mx_result *mx = calloc(1, sizeof *mx);
    if (mx == NULL)
        return MS_ERR_NOMEM;
    mx_run r = {ctx, domain, mx, diags, NULL, MS_OK};
    ms_status st = ms_dns_submit(ctx, domain, MS_DNS_MX, on_mx, &r);
    if (st == MS_OK)
        st = ms_dns_run(ctx);
    if (st == MS_OK)
        st = r.status;
    if (st == MS_OK)
        st = judge_hosts(&r);
    free(r.queries);
    if (st != MS_OK) {
        ms_audit_mx_result_free(mx);
        return st;
    }
    *out = mx;
    return MS_OK;
}

void ms_audit_mx_result_free(ms_audit_mx_result *mx)
{
    if (mx == NULL)
        return;
    for (size_t i = 0; i < mx->count; i++)
        free(mx->hosts[i].name);
    free(mx->hosts);
    free(mx);
}
