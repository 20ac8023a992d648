/* DMARC discovery: the record at _dmarc.<domain> and what surrounds it.
 *
 * Two rounds of DNS, each a batch with every query in flight at once:
 *  1. TXT at _dmarc.<name> for every name of the RFC 9989 tree walk (the
 *     walk is fixed by the label count, so all of it can be asked at once:
 *     a deep name costs one round trip, not eight), TXT at the domain itself
 *     (a record published at the wrong name), and _dmarc at the PSL
 *     organizational domain when the walk does not pass it;
 *  2. for each report destination: the external-destination verification
 *     record (RFC 9989 section 3.3 ... <domain>._report._dmarc.<dest>) and
 *     the destination domain's MX.
 */
#include "mailsec/dmarc.h"

#include "core/internal.h"
#include "core/catalogue.h"

#include <stdlib.h>
#include <string.h>

enum {
    D_NO_POLICY,
    D_POLICY_INHERITED,
    D_MULTIPLE_RECORDS,
    D_SPF_AT_DMARC_NAME,
    D_UNRELATED_TXT,
    D_RECORD_AT_DOMAIN,
    D_DNS_FAILURE,
    D_DNSSEC_BOGUS,
    D_RESOLVER_NO_DNSSEC,
    D_DISCOVERY_DIFFERS,
    D_DEST_UNVERIFIED,
    D_DEST_NO_MX,
    D_DEST_NULL_MX,
    D_DEST_LOOKUP_FAILED,
    D_INVALID_DOMAIN,
    D_DEST_EXTERNAL,
};

const ms_diag_def ms_dmarc_discovery_diag_defs[] = {
    [D_NO_POLICY] = MS_DIAG(dmarc_no_policy),
    [D_POLICY_INHERITED] = MS_DIAG(dmarc_policy_inherited),
    [D_MULTIPLE_RECORDS] = MS_DIAG(dmarc_multiple_records),
    [D_SPF_AT_DMARC_NAME] = MS_DIAG(dmarc_spf_at_dmarc_name),
    [D_UNRELATED_TXT] = MS_DIAG(dmarc_unrelated_txt),
    [D_RECORD_AT_DOMAIN] = MS_DIAG(dmarc_record_at_domain),
    [D_DNS_FAILURE] = MS_DIAG(dmarc_dns_failure),
    [D_DNSSEC_BOGUS] = MS_DIAG(dmarc_dnssec_bogus),
    [D_RESOLVER_NO_DNSSEC] = MS_DIAG(dmarc_resolver_no_dnssec),
    [D_DISCOVERY_DIFFERS] = MS_DIAG(dmarc_discovery_differs),
    [D_DEST_UNVERIFIED] = MS_DIAG(dmarc_report_destination_unverified),
    [D_DEST_NO_MX] = MS_DIAG(dmarc_report_destination_no_mx),
    [D_DEST_NULL_MX] = MS_DIAG(dmarc_report_destination_null_mx),
    [D_DEST_LOOKUP_FAILED] = MS_DIAG(dmarc_report_destination_lookup_failed),
    [D_INVALID_DOMAIN] = MS_DIAG(dmarc_invalid_domain),
    [D_DEST_EXTERNAL] = MS_DIAG(dmarc_report_destination_external),
    MS_DIAG_END,
};

#define DEF(id) (&ms_dmarc_discovery_diag_defs[id])

/* ---- round 1: the tree walk ---- */

/* The names the walk visits: the domain, then (with 8 or more labels) its
 * 7-label ancestor, then one label less each step down to the TLD. */
static size_t walk_names(const char *domain, const char *names[MS_DMARC_WALK_MAX])
{
    size_t n = 0;
    names[n++] = domain;
    size_t labels = ms_domain_label_count(domain);
    size_t next = labels >= 8 ? 7 : labels - 1;
    for (size_t l = next; l >= 1 && n < MS_DMARC_WALK_MAX; l--)
        names[n++] = ms_domain_parent_with_labels(domain, l);
    return n;
}

static int is_spf_text(const char *text, size_t len)
{
    return len >= 6 && ms_ascii_strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

/* The one DMARC record in an answer, or NULL; *count says how many. */
static const ms_dns_record *single_dmarc_record(const ms_dns_answer *a, size_t *count)
{
    const ms_dns_record *found = NULL;
    *count = 0;
    for (size_t i = 0; i < a->count; i++) {
        if (a->records[i].type != MS_DNS_TXT)
            continue;
        if (ms_dmarc_is_record(a->records[i].text, a->records[i].text_len)) {
            found = &a->records[i];
            (*count)++;
        }
    }
    return *count == 1 ? found : NULL;
}

static char *dmarc_name(const char *domain)
{
    return ms_asprintf("_dmarc.%s", domain);
}

/* Parses a found record just enough to read psd and usability: *out is
 * NULL for a record too long to parse. MS_ERR_NOMEM. */
static ms_status parse_quietly(const ms_dns_record *rr, ms_dmarc_record **out)
{
    *out = NULL;
    if (rr == NULL)
        return MS_OK;
    ms_diag_list ignored = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_check_record(rr->text, rr->text_len, NULL, out, &ignored);
    ms_diag_list_free(&ignored);
    if (st == MS_ERR_NOMEM)
        return st;
    if (st != MS_OK) {
        ms_dmarc_record_free(*out);
        *out = NULL;
    }
    return MS_OK;
}

typedef struct walk_round {
    ms_dns_batch *batch;
    size_t step_index[MS_DMARC_WALK_MAX];
    size_t at_domain_index;
    size_t psl_index;
    int psl_in_walk;
} walk_round;

static ms_status ask_round_one(ms_dmarc_discovery *d, walk_round *r)
{
    const char *names[MS_DMARC_WALK_MAX];
    d->step_count = walk_names(d->domain, names);
    ms_status st = MS_OK;
    for (size_t i = 0; i < d->step_count && st == MS_OK; i++) {
        d->steps[i].domain = ms_strdup(names[i]);
        char *q = dmarc_name(names[i]);
        if (d->steps[i].domain == NULL || q == NULL)
            st = MS_ERR_NOMEM;
        else
            st = ms_dns_batch_add(r->batch, q, MS_DNS_TXT, &r->step_index[i]);
        free(q);
        if (st == MS_OK && strcmp(names[i], d->psl_org_domain) == 0)
            r->psl_in_walk = 1, r->psl_index = r->step_index[i];
    }
    if (st == MS_OK)
        st = ms_dns_batch_add(r->batch, d->domain, MS_DNS_TXT, &r->at_domain_index);
    if (st == MS_OK && !r->psl_in_walk) {
        char *q = dmarc_name(d->psl_org_domain);
        st = q ? ms_dns_batch_add(r->batch, q, MS_DNS_TXT, &r->psl_index) : MS_ERR_NOMEM;
        free(q);
    }
    return st == MS_OK ? ms_dns_batch_wait(r->batch) : st;
}

/* Reports what else is published at _dmarc.<domain>. */
static ms_status check_other_txt(ms_dmarc_discovery *d, const ms_dns_answer *a, const char *where)
{
    ms_status st = MS_OK;
    for (size_t i = 0; i < a->count && st == MS_OK; i++) {
        const ms_dns_record *rr = &a->records[i];
        if (rr->type != MS_DNS_TXT || ms_dmarc_is_record(rr->text, rr->text_len))
            continue;
        if (is_spf_text(rr->text, rr->text_len))
            st = ms_diag_add(&d->diags, DEF(D_SPF_AT_DMARC_NAME), where, -1,
                             "%s publishes an SPF record (\"%.60s\"); SPF is read at the domain itself",
                             where, rr->text);
        else
            st = ms_diag_add(&d->diags, DEF(D_UNRELATED_TXT), where, -1,
                             "%s also publishes a TXT record that is not DMARC: \"%.60s\"", where,
                             rr->text);
    }
    return st;
}

/* A failed lookup: the server that does not serve DNSSEC, a zone whose
 * signatures fail, or a server that failed or did not answer. */
static ms_status report_dns_failure(const ms_ctx *ctx, ms_dmarc_discovery *d,
                                    const ms_dns_answer *a)
{
    char *why = ms_dns_failure_reason(ctx, a);
    if (why == NULL)
        return MS_ERR_NOMEM;
    const ms_diag_def *def = ms_dns_answer_dnssec_unavailable(a) ? DEF(D_RESOLVER_NO_DNSSEC)
                             : a->dnssec == MS_DNS_DNSSEC_BOGUS      ? DEF(D_DNSSEC_BOGUS)
                                                                 : DEF(D_DNS_FAILURE);
    ms_status st = ms_diag_add(&d->diags, def, a->qname, -1, "looking up %s TXT: %s", a->qname, why);
    free(why);
    return st;
}

/* A TXT record's text with its length: it may hold NULs, which a reader
 * must see rather than have the text cut at. */
static char *copy_text(const ms_dns_record *rr, size_t *len)
{
    char *copy = malloc(rr->text_len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, rr->text, rr->text_len);
    copy[rr->text_len] = '\0';
    *len = rr->text_len;
    return copy;
}

/* The record at _dmarc.<domain> itself: found, several, absent, or failed. */
static ms_status check_own_record(const ms_ctx *ctx, ms_dmarc_discovery *d,
                                  const ms_dns_answer *a)
{
    d->dnssec = a->dnssec;
    if (ms_dns_answer_failed(a)) {
        d->could_not_check = 1;
        return report_dns_failure(ctx, d, a);
    }
    ms_status st = check_other_txt(d, a, a->qname);
    size_t count;
    const ms_dns_record *rr = single_dmarc_record(a, &count);
    if (st == MS_OK && count > 1)
        st = ms_diag_add(&d->diags, DEF(D_MULTIPLE_RECORDS), a->qname, -1,
                         "%s has %zu DMARC records; receivers discard all of them", a->qname, count);
    if (st != MS_OK || rr == NULL)
        return st;
    d->record_text = copy_text(rr, &d->record_text_len);
    if (d->record_text == NULL)
        return MS_ERR_NOMEM;
    return ms_dmarc_check_record(rr->text, rr->text_len, d->domain, &d->record, &d->diags);
}

static ms_status check_record_at_domain(ms_dmarc_discovery *d, const ms_dns_answer *a)
{
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].type == MS_DNS_TXT &&
            ms_dmarc_is_record(a->records[i].text, a->records[i].text_len))
            return ms_diag_add(&d->diags, DEF(D_RECORD_AT_DOMAIN), d->domain, -1,
                               "%s publishes \"%.60s\" at the domain itself; receivers only look at _dmarc.%s",
                               d->domain, a->records[i].text, d->domain);
    return MS_OK;
}

/* Walks the answers in order (RFC 9989 section 4.10): the first usable
 * record is the policy; the organizational domain is the record with
 * psd=n, the name below a record with psd=y, or else the last record
 * found; with no record at all, the domain itself. A step whose lookup
 * failed leaves the policy or the organizational domain unknown, so the
 * check could not be done: that is no finding against the domain. */
static ms_status interpret_walk(const ms_ctx *ctx, ms_dmarc_discovery *d, const walk_round *r)
{
    const char *last_found = NULL;
    const char *org = NULL;
    ms_status st = MS_OK;
    for (size_t i = 0; i < d->step_count && org == NULL && st == MS_OK; i++) {
        ms_dmarc_walk_step *step = &d->steps[i];
        const ms_dns_answer *a = ms_dns_batch_answer(r->batch, r->step_index[i]);
        step->used = 1;
        step->rcode = a->rcode;
        step->dnssec = a->dnssec;
        if (i > 0 && ms_dns_answer_failed(a)) {
            d->could_not_check = 1;
            st = report_dns_failure(ctx, d, a);
            continue;
        }
        const ms_dns_record *rr = single_dmarc_record(a, &step->dmarc_records);
        ms_dmarc_record *rec;
        if ((st = parse_quietly(rr, &rec)) != MS_OK)
            break;
        if (rec == NULL || !rec->usable) {
            ms_dmarc_record_free(rec);
            continue;
        }
        step->psd = rec->psd;
        if (d->policy_domain == NULL) {
            d->policy_domain = ms_strdup(step->domain);
            d->policy_record_text = copy_text(rr, &d->policy_record_text_len);
            if (d->policy_domain == NULL || d->policy_record_text == NULL)
                st = MS_ERR_NOMEM;
        }
        last_found = step->domain;
        if (rec->psd == MS_DMARC_PSD_N)
            org = step->domain;
        else if (rec->psd == MS_DMARC_PSD_Y)
            org = i == 0 ? step->domain
                         : ms_domain_parent_with_labels(d->domain,
                                                        ms_domain_label_count(step->domain) + 1);
        ms_dmarc_record_free(rec);
    }
    if (org == NULL)
        org = last_found ? last_found : d->domain;
    if (st == MS_OK && (d->org_domain = ms_strdup(org)) == NULL)
        st = MS_ERR_NOMEM;
    return st;
}

/* RFC 7489 section 6.6.3: the record at the domain, else at its PSL
 * organizational domain. The fallback is only for a domain with no DMARC
 * record at all: several records, or one a receiver cannot use, end policy
 * discovery with no policy (unlike RFC 9989's walk, which goes on). */
static ms_status interpret_psl(ms_dmarc_discovery *d, const walk_round *r)
{
    const char *policy = NULL;
    size_t count;
    if (d->record != NULL && d->record->usable)
        policy = d->domain;
    else if (d->steps[0].dmarc_records == 0) {
        const ms_dns_record *rr =
            single_dmarc_record(ms_dns_batch_answer(r->batch, r->psl_index), &count);
        ms_dmarc_record *rec;
        if (parse_quietly(rr, &rec) != MS_OK)
            return MS_ERR_NOMEM;
        if (rec != NULL && rec->usable)
            policy = d->psl_org_domain;
        ms_dmarc_record_free(rec);
    }
    if (policy != NULL && (d->psl_policy_domain = ms_strdup(policy)) == NULL)
        return MS_ERR_NOMEM;
    return MS_OK;
}

static int same_or_both_null(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static ms_status compare_generations(ms_dmarc_discovery *d)
{
    if (!same_or_both_null(d->policy_domain, d->psl_policy_domain))
        return ms_diag_add(&d->diags, DEF(D_DISCOVERY_DIFFERS), d->domain, -1,
                           "RFC 9989 receivers apply the record of %s, RFC 7489 receivers %s",
                           d->policy_domain ? d->policy_domain : "no record",
                           d->psl_policy_domain ? d->psl_policy_domain : "no record");
    if (strcmp(d->org_domain, d->psl_org_domain) != 0)
        return ms_diag_add(&d->diags, DEF(D_DISCOVERY_DIFFERS), d->domain, -1,
                           "the organizational domain is %s for RFC 9989 receivers (tree walk) "
                           "but %s for RFC 7489 receivers (Public Suffix List); relaxed alignment "
                           "differs between them",
                           d->org_domain, d->psl_org_domain);
    return MS_OK;
}

static ms_status report_policy_source(ms_dmarc_discovery *d)
{
    if (d->record != NULL || d->could_not_check)
        return MS_OK;
    if (d->policy_domain == NULL)
        return ms_diag_add(&d->diags, DEF(D_NO_POLICY), d->domain, -1,
                           "no DMARC record at _dmarc.%s or any parent the tree walk visits; "
                           "receivers apply no DMARC policy to mail from %s",
                           d->domain, d->domain);
    return ms_diag_add(&d->diags, DEF(D_POLICY_INHERITED), d->domain, -1,
                       "no record at _dmarc.%s; receivers apply the record of %s "
                       "(its np= for names that do not exist, sp= otherwise)",
                       d->domain, d->policy_domain);
}

/* ---- round 2: report destinations ---- */

typedef struct dest_query {
    size_t verify_index;
    size_t mx_index;
    int asked_verify;
} dest_query;

static ms_status collect_destinations(ms_dmarc_discovery *d, const ms_dmarc_record *rec)
{
    size_t total = rec->rua_count + rec->ruf_count;
    if (total == 0)
        return MS_OK;
    d->destinations = calloc(total, sizeof *d->destinations);
    if (d->destinations == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < total; i++) {
        int is_ruf = i >= rec->rua_count;
        const ms_dmarc_uri *u = is_ruf ? &rec->ruf[i - rec->rua_count] : &rec->rua[i];
        ms_dmarc_destination *dest = &d->destinations[d->destination_count++];
        dest->is_ruf = is_ruf;
        dest->uri = ms_strdup(u->uri);
        if (dest->uri == NULL)
            return MS_ERR_NOMEM;
        if (!u->is_mailto || u->domain == NULL)
            continue;
        ms_status st = ms_domain_normalize(u->domain, &dest->domain);
        if (st == MS_ERR_NOMEM)
            return st;
        if (st != MS_OK)
            continue;
        dest->external = !ms_domain_is_within(dest->domain, d->org_domain);
    }
    return MS_OK;
}

static ms_status ask_round_two(ms_dmarc_discovery *d, ms_dns_batch *batch, dest_query *q,
                               const char *publisher)
{
    ms_status st = MS_OK;
    for (size_t i = 0; i < d->destination_count && st == MS_OK; i++) {
        const ms_dmarc_destination *dest = &d->destinations[i];
        if (dest->domain == NULL)
            continue;
        st = ms_dns_batch_add(batch, dest->domain, MS_DNS_MX, &q[i].mx_index);
        if (st != MS_OK || !dest->external)
            continue;
        char *name = ms_asprintf("%s._report._dmarc.%s", publisher, dest->domain);
        st = name ? ms_dns_batch_add(batch, name, MS_DNS_TXT, &q[i].verify_index) : MS_ERR_NOMEM;
        q[i].asked_verify = 1;
        free(name);
    }
    return st == MS_OK ? ms_dns_batch_wait(batch) : st;
}

static int is_null_mx(const ms_dns_answer *a)
{
    return a->count == 1 && a->records[0].preference == 0 && a->records[0].text != NULL &&
           a->records[0].text[0] == '\0';
}

static int verification_found(const ms_dns_answer *a)
{
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].type == MS_DNS_TXT &&
            ms_dmarc_is_record(a->records[i].text, a->records[i].text_len))
            return 1;
    return 0;
}

static ms_status judge_destination(ms_dmarc_discovery *d, ms_dmarc_destination *dest,
                                   const ms_dns_answer *mx, const ms_dns_answer *verify)
{
    const char *where = dest->uri;
    if (ms_dns_answer_failed(mx) || (verify != NULL && ms_dns_answer_failed(verify)))
        return ms_diag_add(&d->diags, DEF(D_DEST_LOOKUP_FAILED), where, -1,
                           "could not check %s: %s MX gave %s", dest->uri, dest->domain,
                           ms_dns_rcode_str(mx->rcode));
    ms_status st = MS_OK;
    dest->has_mx = mx->rcode == MS_DNS_NOERROR && mx->count > 0 && !is_null_mx(mx);
    if (is_null_mx(mx))
        st = ms_diag_add(&d->diags, DEF(D_DEST_NULL_MX), where, -1,
                         "%s publishes a null MX: reports sent to %s cannot be delivered",
                         dest->domain, dest->uri);
    else if (!dest->has_mx)
        st = ms_diag_add(&d->diags, DEF(D_DEST_NO_MX), where, -1,
                         "%s has no MX record (%s)", dest->domain, ms_dns_rcode_str(mx->rcode));
    if (st != MS_OK || verify == NULL)
        return st;
    dest->verified = verification_found(verify);
    if (!dest->verified)
        st = ms_diag_add(&d->diags, DEF(D_DEST_UNVERIFIED), where, -1,
                         "%s is outside %s and %s publishes no v=DMARC1 record, so receivers "
                         "will not send %s reports there",
                         dest->domain, d->org_domain, verify->qname,
                         dest->is_ruf ? "failure" : "aggregate");
    return st;
}

static ms_status check_destinations(ms_ctx *ctx, ms_dmarc_discovery *d)
{
    const ms_dmarc_record *rec = d->record;
    const char *publisher = d->domain;
    ms_dmarc_record *inherited = NULL;
    if (rec == NULL && d->policy_record_text != NULL) {
        ms_diag_list ignored = MS_DIAG_LIST_INIT;
        if (ms_dmarc_check_record(d->policy_record_text, d->policy_record_text_len, NULL,
                                  &inherited, &ignored) == MS_OK)
            rec = inherited;
        ms_diag_list_free(&ignored);
        publisher = d->policy_domain;
    }
    ms_status st = rec ? collect_destinations(d, rec) : MS_OK;
    ms_dmarc_record_free(inherited);
    if (st != MS_OK || d->destination_count == 0)
        return st;

    ms_dns_batch *batch = NULL;
    dest_query *q = calloc(d->destination_count, sizeof *q);
    if (q == NULL || (st = ms_dns_batch_new(ctx, &batch)) != MS_OK) {
        free(q);
        return q ? st : MS_ERR_NOMEM;
    }
    st = ask_round_two(d, batch, q, publisher);
    for (size_t i = 0; i < d->destination_count && st == MS_OK; i++) {
        if (d->destinations[i].domain == NULL)
            continue;
        const ms_dns_answer *verify =
            q[i].asked_verify ? ms_dns_batch_answer(batch, q[i].verify_index) : NULL;
        st = judge_destination(d, &d->destinations[i], ms_dns_batch_answer(batch, q[i].mx_index),
                               verify);
    }
    ms_dns_batch_free(batch);
    free(q);
    return st;
}

/* ---- without DNS: what only the destination can authorise ---- */

static ms_status note_external(const ms_dmarc_uri *u, int is_ruf, const char *domain,
                               const char *org, ms_diag_list *diags)
{
    char *dest = NULL;
    if (!u->is_mailto || u->domain == NULL)
        return MS_OK;
    ms_status st = ms_domain_normalize(u->domain, &dest);
    if (st != MS_OK)
        return st == MS_ERR_NOMEM ? st : MS_OK;
    if (!ms_domain_is_within(dest, org))
        st = ms_diag_add(diags, DEF(D_DEST_EXTERNAL), u->uri, -1,
                         "%s is outside %s: receivers send %s reports there only if %s publishes "
                         "TXT \"v=DMARC1\" at %s._report._dmarc.%s",
                         u->uri, org, is_ruf ? "failure" : "aggregate", dest, domain, dest);
    free(dest);
    return st;
}

ms_status ms_dmarc_note_external_destinations(ms_ctx *ctx, const ms_dmarc_record *rec,
                                              const char *domain, ms_diag_list *diags)
{
    char *name = NULL, *org = NULL;
    if (rec == NULL || domain == NULL)
        return MS_OK;
    ms_status st = ms_domain_normalize(domain, &name);
    if (st != MS_OK) /* no domain to be outside of: nothing to say */
        return st == MS_ERR_NOMEM ? st : MS_OK;
    st = ms_domain_org_psl(ctx, name, &org);
    for (size_t i = 0; i < rec->rua_count && st == MS_OK; i++)
        st = note_external(&rec->rua[i], 0, name, org, diags);
    for (size_t i = 0; i < rec->ruf_count && st == MS_OK; i++)
        st = note_external(&rec->ruf[i], 1, name, org, diags);
    free(name);
    free(org);
    return st;
}

/* ---- the whole ---- */

static ms_status discover(ms_ctx *ctx, ms_dmarc_discovery *d)
{
    ms_status st = ms_domain_org_psl(ctx, d->domain, &d->psl_org_domain);
    if (st != MS_OK)
        return st;
    walk_round r = {0};
    if ((st = ms_dns_batch_new(ctx, &r.batch)) != MS_OK)
        return st;
    st = ask_round_one(d, &r);
    if (st == MS_OK)
        st = check_own_record(ctx, d, ms_dns_batch_answer(r.batch, r.step_index[0]));
    if (st == MS_OK)
        st = check_record_at_domain(d, ms_dns_batch_answer(r.batch, r.at_domain_index));
    if (st == MS_OK)
        st = interpret_walk(ctx, d, &r);
    if (st == MS_OK)
        st = interpret_psl(d, &r);
    ms_dns_batch_free(r.batch);
    if (st == MS_OK)
        st = report_policy_source(d);
    if (st == MS_OK && !d->could_not_check)
        st = compare_generations(d);
    if (st == MS_OK && !d->could_not_check)
        st = check_destinations(ctx, d);
    return st;
}

ms_status ms_dmarc_discover(ms_ctx *ctx, const char *domain, ms_dmarc_discovery **out)
{
    *out = NULL;
    ms_dmarc_discovery *d = calloc(1, sizeof *d);
    if (d == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_domain_normalize(domain, &d->domain);
    if (st == MS_ERR_INVALID) {
        d->domain = ms_strdup(domain);
        d->could_not_check = 1;
        st = d->domain ? ms_diag_add(&d->diags, DEF(D_INVALID_DOMAIN), domain, -1,
                                     "\"%s\" is not a valid domain name", domain)
                       : MS_ERR_NOMEM;
    } else if (st == MS_OK) {
        st = discover(ctx, d);
    }
    if (st != MS_OK) {
        ms_dmarc_discovery_free(d);
        return st;
    }
    *out = d;
    return MS_OK;
}

void ms_dmarc_discovery_free(ms_dmarc_discovery *d)
{
    if (d == NULL)
        return;
    free(d->domain);
    free(d->record_text);
    ms_dmarc_record_free(d->record);
    for (size_t i = 0; i < d->step_count; i++)
        free(d->steps[i].domain);
    free(d->policy_domain);
    free(d->policy_record_text);
    free(d->org_domain);
    free(d->psl_org_domain);
    free(d->psl_policy_domain);
    for (size_t i = 0; i < d->destination_count; i++) {
        free(d->destinations[i].uri);
        free(d->destinations[i].domain);
    }
    free(d->destinations);
    ms_diag_list_free(&d->diags);
    free(d);
}
