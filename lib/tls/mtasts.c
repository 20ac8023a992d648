/* MTA-STS for `tls check` (RFC 8461): would a sender that applies the
 * policy domain's policy deliver to the SMTP ports of this host?
 *
 * The lookup does what a sender does without a cached policy (RFC 8461
 * 3.1-3.3), with lib/audit's pieces: the _mta-sts TXT record, the policy
 * fetched over HTTPS, parsed. The match (section 4) needs the ports'
 * results: the MX host name must match an mx pattern (4.1), and the
 * certificate must chain to a trusted root, cover the MX host name and be
 * within its dates (4.2). Under mode enforce a failure means senders refuse
 * delivery (an error); under mode testing they deliver and report it over
 * TLS-RPT (a warning); mode none and no policy are notes. */
#include "internal.h"
#include "mailsec/dns.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *ms_tls_mtasts_state_str(ms_tls_mtasts_state state)
{
    switch (state) {
    case MS_TLS_MTASTS_NOT_CHECKED: return "not-checked";
    case MS_TLS_MTASTS_NO_POLICY: return "no-policy";
    case MS_TLS_MTASTS_UNUSABLE: return "unusable";
    case MS_TLS_MTASTS_POLICY: return "policy";
    }
    return "?";
}

static ms_status add(ms_diag_list *diags, int diag, const char *location, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static ms_status add(ms_diag_list *diags, int diag, const char *location, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status st = ms_diag_addv(diags, &ms_tls_diag_defs[diag], location, -1, fmt, ap);
    va_end(ap);
    return st;
}

/* The one TXT record starting "v=STSv1" (RFC 8461 3.1: with several, senders
 * assume there is no policy); *count receives how many there are. */
static const ms_dns_record *sts_record(const ms_dns_answer *a, size_t *count)
{
    static const char PREFIX[] = "v=STSv1";
    const ms_dns_record *found = NULL;
    *count = 0;
    for (size_t i = 0; i < a->count; i++) {
        const ms_dns_record *rr = &a->records[i];
        if (rr->type == MS_DNS_TXT && rr->text && rr->text_len >= sizeof PREFIX - 1 &&
            strncmp(rr->text, PREFIX, sizeof PREFIX - 1) == 0) {
            found = rr;
            (*count)++;
        }
    }
    return found;
}

/* The policy fetched over HTTPS and checked: MS_TLS_MTASTS_POLICY when it
 * is usable, else why not. */
static ms_status fetch_policy(ms_ctx *ctx, ms_tls_mtasts *m, ms_diag_list *found,
                              ms_tls_mtasts_state *state, char *why, size_t why_size)
{
    char *where = ms_asprintf("https://mta-sts.%s/.well-known/mta-sts.txt", m->domain);
    if (where == NULL)
        return MS_ERR_NOMEM;
    char *body = NULL;
    size_t len = 0;
    ms_status st = ms_audit_mtasts_fetch(ctx, m->domain, &body, &len, found);
    if (st == MS_OK && body != NULL)
        st = ms_audit_mtasts_check_policy(body, len, where, &m->policy, found);
    if (st == MS_OK && body != NULL && m->policy != NULL && m->policy->usable)
        *state = MS_TLS_MTASTS_POLICY;
    else
        snprintf(why, why_size, "%s could not be %s", where, body ? "used" : "fetched");
    free(where);
    free(body);
    return st == MS_ERR_NOMEM ? st : MS_OK; /* other failures: said in found and why */
}

/* The record, the fetch and the policy; findings (mtasts.*) to found, the
 * state the lookup ended in to *state. MS_ERR_NOMEM when memory ran out. */
static ms_status find_policy(ms_ctx *ctx, ms_tls_mtasts *m, const char *qname,
                             ms_diag_list *found, ms_tls_mtasts_state *state, char *why,
                             size_t why_size)
{
    ms_dns_answer *a = NULL;
    ms_status st = ms_dns_lookup(ctx, qname, MS_DNS_TXT, &a);
    *state = MS_TLS_MTASTS_UNUSABLE;
    if (st == MS_ERR_NOMEM)
        return st;
    if (st != MS_OK || ms_dns_answer_failed(a)) {
        snprintf(why, why_size, "the TXT lookup failed (%s)",
                 a ? ms_dns_rcode_str(a->rcode) : ms_status_str(st));
        ms_dns_answer_free(a);
        return MS_OK;
    }
    size_t count;
    const ms_dns_record *rr = sts_record(a, &count);
    st = MS_OK;
    if (count == 0)
        *state = MS_TLS_MTASTS_NO_POLICY;
    else if (count > 1)
        snprintf(why, why_size, "%zu records start with v=STSv1, so senders use none", count);
    else if ((st = ms_audit_mtasts_check_txt(rr->text, rr->text_len, qname, &m->id, found)) !=
                 MS_OK ||
             ms_diag_count(found, MS_SEV_ERROR) > 0)
        snprintf(why, why_size, "the TXT record is not valid");
    else
        st = fetch_policy(ctx, m, found, state, why, why_size);
    ms_dns_answer_free(a);
    return st == MS_ERR_NOMEM ? st : MS_OK;
}

ms_status tls_mtasts_lookup(ms_ctx *ctx, const char *domain, ms_tls_check_result *res)
{
    ms_tls_mtasts *m = &res->mtasts;
    m->mx_match = -1;
    m->domain = strdup(domain);
    char *qname = ms_asprintf("_mta-sts.%s", domain);
    if (m->domain == NULL || qname == NULL) {
        free(qname);
        return MS_ERR_NOMEM;
    }
    ms_diag_list found = MS_DIAG_LIST_INIT;
    char why[512] = "";
    ms_status st = find_policy(ctx, m, qname, &found, &m->state, why, sizeof why);
    if (st == MS_OK && m->state == MS_TLS_MTASTS_NO_POLICY)
        st = add(&res->diags, T_MTASTS_NONE, qname, "no MTA-STS record at %s", qname);
    else if (st == MS_OK && m->state == MS_TLS_MTASTS_UNUSABLE)
        st = add(&res->diags, T_MTASTS_UNUSABLE, qname, "MTA-STS policy of %s: %s", domain, why);
    else if (st == MS_OK && m->policy->mode == MS_AUDIT_MTASTS_MODE_NONE)
        st = add(&res->diags, T_MTASTS_MODE_NONE, qname, "the MTA-STS policy of %s has mode none",
                 domain);
    if (st == MS_OK)
        st = ms_diag_list_move(&res->diags, &found);
    ms_diag_list_free(&found);
    free(qname);
    return st;
}

/* RFC 8461 4.2, judged from the port's certificate checks: the chain
 * verified to a trusted root, and neither the host name nor a date failed. */
static int certificate_valid(const ms_tls_port_result *r, char *why, size_t why_size)
{
    static const struct {
        const char *code, *why;
    } FAILS[] = {
        {"cert.host-mismatch", "the certificate does not cover the MX host name"},
        {"cert.expired", "a certificate of the chain has expired"},
        {"cert.not-yet-valid", "a certificate of the chain is not valid yet"},
    };
    if (r->state != MS_TLS_PORT_TLS) {
        snprintf(why, why_size, "no TLS session could be set up");
        return 0;
    }
    if (r->chain_count == 0) {
        snprintf(why, why_size, "the server sent no certificate");
        return 0;
    }
    if (!r->cert.verified) {
        snprintf(why, why_size, "the chain does not verify to a trusted root");
        return 0;
    }
    for (size_t i = 0; i < sizeof FAILS / sizeof FAILS[0]; i++)
        if (ms_diag_has(&r->diags, FAILS[i].code)) {
            snprintf(why, why_size, "%s", FAILS[i].why);
            return 0;
        }
    return 1;
}

static int mx_listed(const ms_audit_mtasts_policy *policy, const char *host)
{
    for (size_t i = 0; i < policy->mx_count; i++)
        if (ms_audit_mtasts_mx_matches(policy->mx[i], host))
            return 1;
    return 0;
}

ms_status tls_mtasts_match(ms_tls_check_result *res, const char *mx_host)
{
    ms_tls_mtasts *m = &res->mtasts;
    for (size_t i = 0; i < res->count; i++)
        res->ports[i].mtasts_cert_valid = -1;
    if (m->state != MS_TLS_MTASTS_POLICY || m->policy->mode == MS_AUDIT_MTASTS_MODE_NONE)
        return MS_OK;
    int enforce = m->policy->mode == MS_AUDIT_MTASTS_MODE_ENFORCE;
    const char *mode = ms_audit_mtasts_mode_str(m->policy->mode);
    if ((m->mx_host = strdup(mx_host)) == NULL)
        return MS_ERR_NOMEM;
    m->mx_match = mx_listed(m->policy, mx_host);
    ms_status st = MS_OK;
    if (!m->mx_match)
        st = add(&res->diags, enforce ? T_MTASTS_MX_MISMATCH : T_MTASTS_MX_MISMATCH_TESTING,
                 mx_host, "%s matches no mx line of the MTA-STS policy of %s (mode %s)", mx_host,
                 m->domain, mode);
    for (size_t i = 0; st == MS_OK && i < res->count; i++) {
        ms_tls_port_result *r = &res->ports[i];
        if (r->mode != MS_TLS_SMTP || r->state == MS_TLS_PORT_CLOSED ||
            r->state == MS_TLS_PORT_UNREACHABLE)
            continue;
        char location[300], why[200];
        snprintf(location, sizeof location, "%s:%u", res->host, r->port);
        r->mtasts_cert_valid = certificate_valid(r, why, sizeof why);
        r->mtasts = r->mtasts_cert_valid && m->mx_match ? MS_TLS_MTASTS_PORT_PASS
                                                        : MS_TLS_MTASTS_PORT_FAIL;
        if (!r->mtasts_cert_valid)
            st = add(&r->diags, enforce ? T_MTASTS_CERT_INVALID : T_MTASTS_CERT_INVALID_TESTING,
                     location, "port %u: %s, so MTA-STS senders %s (policy of %s, mode %s)",
                     r->port, why, enforce ? "will not deliver" : "deliver but report a failure",
                     m->domain, mode);
        else if (m->mx_match)
            st = add(&r->diags, T_MTASTS_PASS, location,
                     "port %u: %s is listed and the certificate is valid for it (policy of %s, "
                     "mode %s)",
                     r->port, mx_host, m->domain, mode);
    }
    return st;
}
