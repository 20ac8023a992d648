/* The audit of one domain: MX, SPF, DMARC, DKIM, MTA-STS, TLS-RPT, BIMI,
 * DNSSEC and (when asked) SMTP TLS, each area into its own diagnostics and a
 * grade.
 *
 * Five tasks run at the same time, each in a thread with its own context
 * (contexts are not shared between threads): MX, SPF, DMARC, DKIM, and the
 * TXT records of MTA-STS, TLS-RPT and BIMI with the domain's SOA (whose
 * DNSSEC state the DNSSEC area reads) followed by the MTA-STS policy fetch.
 * The MX task goes on to the SMTP TLS of the hosts it found (lib/tls,
 * every host at once), while the others run.
 * Within a task every independent lookup is in flight at once, so an
 * audit takes about as long as its longest chain of dependent lookups.
 * What needs two tasks' results — MX coverage by the MTA-STS policy, BIMI
 * against the DMARC policy, DNSSEC — is judged once all have finished. */
#include "internal.h"

#include "mailsec/dkim.h"
#include "mailsec/dmarc.h"
#include "mailsec/spf.h"
#include "mailsec/tls.h"

#include "core/task.h"
#include <stdlib.h>
#include <string.h>

const char *ms_audit_area_name(ms_audit_area_id area)
{
    static const char *const NAMES[] = {"mx",      "spf",     "dmarc", "dkim",   "mta-sts",
                                        "tls-rpt", "bimi",    "dnssec", "smtp-tls"};
    return area < MS_AUDIT_AREA_COUNT ? NAMES[area] : "";
}

static int starts_with_ci(const char *text, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && ms_ascii_strncasecmp(text, prefix, n) == 0;
}

/* The one TXT record starting with prefix, or NULL; *count says how many. */
static const ms_dns_record *single_txt(const ms_dns_answer *a, const char *prefix, size_t *count)
{
    const ms_dns_record *found = NULL;
    *count = 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].type == MS_DNS_TXT &&
            starts_with_ci(a->records[i].text, a->records[i].text_len, prefix)) {
            found = &a->records[i];
            (*count)++;
        }
    return *count == 1 ? found : NULL;
}

static ms_status lookup_failed(ms_audit_area *area, const ms_dns_answer *a)
{
    area->unchecked = 1;
    return ms_diag_add(&area->diags, AUDIT_DEF(A_LOOKUP_FAILED), a->qname, -1,
                       "looking up %s gave %s", a->qname, ms_dns_rcode_str(a->rcode));
}

/* ---- TXT-record areas ---- */

typedef struct txt_round {
    ms_dns_batch *batch;
    size_t mtasts, tlsrpt, bimi, soa;
} txt_round;

static ms_status ask_txt(ms_ctx *ctx, const char *domain, txt_round *r)
{
    static const char *const PREFIXES[] = {"_mta-sts.", "_smtp._tls.", "default._bimi."};
    size_t *slots[] = {&r->mtasts, &r->tlsrpt, &r->bimi};
    ms_status st = ms_dns_batch_new(ctx, &r->batch);
    for (int i = 0; i < 3 && st == MS_OK; i++) {
        char *name = ms_asprintf("%s%s", PREFIXES[i], domain);
        st = name ? ms_dns_batch_add(r->batch, name, MS_DNS_TXT, slots[i]) : MS_ERR_NOMEM;
        free(name);
    }
    if (st == MS_OK)
        st = ms_dns_batch_add(r->batch, domain, MS_DNS_SOA, &r->soa);
    return st == MS_OK ? ms_dns_batch_wait(r->batch) : st;
}

static ms_status audit_tlsrpt(ms_audit_report *rep, const ms_dns_answer *a)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_TLSRPT];
    if (ms_dns_answer_failed(a))
        return lookup_failed(area, a);
    size_t count;
    const ms_dns_record *rr = single_txt(a, "v=TLSRPT", &count);
    if (count > 1)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_TLSRPT_MULTIPLE), a->qname, -1,
                           "%s has %zu TLS-RPT records", a->qname, count);
    if (rr == NULL)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_TLSRPT_NONE), a->qname, -1,
                           "no TLS-RPT record at %s", a->qname);
    ms_audit_tlsrpt_record *rec = NULL;
    ms_status st = ms_audit_tlsrpt_check_record(rr->text, rr->text_len, a->qname, &rec, &area->diags);
    ms_audit_tlsrpt_record_free(rec);
    if (st == MS_OK && (rep->tlsrpt_record = ms_strdup(rr->text)) == NULL)
        st = MS_ERR_NOMEM;
    return st;
}

static int dmarc_enforced(const ms_dmarc_discovery *d)
{
    const ms_dmarc_record *r = d ? d->record : NULL;
    return r != NULL && r->usable &&
           (r->p == MS_DMARC_POLICY_QUARANTINE || r->p == MS_DMARC_POLICY_REJECT) &&
           (r->pct < 0 || r->pct == 100) && r->testing != 1;
}

/* A logo is shown only under an enforcing DMARC policy. */
static ms_status check_bimi_dmarc(ms_audit_report *rep, const ms_dmarc_discovery *dmarc)
{
    if (!rep->bimi_shows_logo || dmarc_enforced(dmarc))
        return MS_OK;
    return ms_diag_add(&rep->areas[MS_AUDIT_BIMI].diags, AUDIT_DEF(A_BIMI_DMARC), rep->domain, -1,
                       "%s publishes BIMI, but its DMARC record does not enforce quarantine or "
                       "reject on all mail", rep->domain);
}

static ms_status audit_bimi(ms_audit_report *rep, const ms_dns_answer *a)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_BIMI];
    if (ms_dns_answer_failed(a))
        return lookup_failed(area, a);
    size_t count;
    const ms_dns_record *rr = single_txt(a, "v=BIMI", &count);
    if (count > 1)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_BIMI_MULTIPLE), a->qname, -1,
                           "%s has %zu BIMI records", a->qname, count);
    if (rr == NULL)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_BIMI_NONE), a->qname, -1,
                           "no BIMI record at %s", a->qname);
    ms_audit_bimi_record *rec = NULL;
    ms_status st = ms_audit_bimi_check_record(rr->text, rr->text_len, a->qname, &rec, &area->diags);
    rep->bimi_shows_logo = st == MS_OK && rec->usable && !rec->declined;
    ms_audit_bimi_record_free(rec);
    if (st == MS_OK && (rep->bimi_record = ms_strdup(rr->text)) == NULL)
        st = MS_ERR_NOMEM;
    return st;
}

/* Every MX host must match a pattern of the policy (RFC 8461 4.1). */
static ms_status check_coverage(ms_audit_report *rep)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_MTASTS];
    const ms_audit_mtasts_policy *pol = rep->mtasts_policy;
    if (rep->mx == NULL || pol == NULL || !pol->usable || pol->mode == MS_AUDIT_MTASTS_MODE_NONE)
        return MS_OK;
    ms_status st = MS_OK;
    for (size_t i = 0; i < rep->mx->count && st == MS_OK; i++) {
        const char *host = rep->mx->hosts[i].name;
        int covered = host[0] == '\0';
        for (size_t k = 0; k < pol->mx_count && !covered; k++)
            covered = ms_audit_mtasts_mx_matches(pol->mx[k], host);
        if (!covered)
            st = ms_diag_add(&area->diags, AUDIT_DEF(A_MTASTS_NOT_COVERED), host, -1,
                             "MX host %s matches no mx line of the policy (mode %s)", host,
                             ms_audit_mtasts_mode_str(pol->mode));
    }
    return st;
}

static ms_status audit_mtasts(ms_ctx *ctx, ms_audit_report *rep, const ms_dns_answer *a)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_MTASTS];
    if (ms_dns_answer_failed(a))
        return lookup_failed(area, a);
    size_t count;
    const ms_dns_record *rr = single_txt(a, "v=STS", &count);
    if (count > 1)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_MTASTS_MULTIPLE), a->qname, -1,
                           "%s has %zu MTA-STS records", a->qname, count);
    if (rr == NULL)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_MTASTS_NONE), a->qname, -1,
                           "no MTA-STS record at %s", a->qname);
    ms_status st = ms_audit_mtasts_check_txt(rr->text, rr->text_len, a->qname, &rep->mtasts_id,
                                       &area->diags);
    char *body = NULL;
    size_t len = 0;
    if (st == MS_OK)
        st = ms_audit_mtasts_fetch(ctx, rep->domain, &body, &len, &area->diags);
    if (st == MS_OK && body != NULL) {
        char *where = ms_asprintf("https://mta-sts.%s/.well-known/mta-sts.txt", rep->domain);
        st = where ? ms_audit_mtasts_check_policy(body, len, where, &rep->mtasts_policy, &area->diags)
                   : MS_ERR_NOMEM;
        free(where);
    }
    free(body);
    return st;
}

/* ---- DNSSEC: the domain's SOA and every MX host's addresses ---- */

static ms_status audit_dnssec(ms_audit_report *rep, const ms_dns_answer *soa)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_DNSSEC];
    if (rep->mx != NULL && rep->mx->dnssec == MS_DNS_DNSSEC_BOGUS)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_DNSSEC_BOGUS), rep->domain, -1,
                           "validation failed for the MX records of %s", rep->domain);
    if (soa->dnssec == MS_DNS_DNSSEC_BOGUS)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_DNSSEC_BOGUS), rep->domain, -1,
                           "validation failed for %s: %s", rep->domain,
                           soa->why_bogus ? soa->why_bogus : "no reason given");
    if (ms_dns_answer_failed(soa))
        return lookup_failed(area, soa);
    ms_status st = MS_OK;
    if (soa->dnssec == MS_DNS_DNSSEC_INSECURE)
        st = ms_diag_add(&area->diags, AUDIT_DEF(A_DNSSEC_UNSIGNED), rep->domain, -1,
                         "answers for %s are not signed", rep->domain);
    for (size_t i = 0; rep->mx && i < rep->mx->count && st == MS_OK; i++) {
        const ms_audit_mx_host *h = &rep->mx->hosts[i];
        if (h->name[0] != '\0' && h->dnssec == MS_DNS_DNSSEC_INSECURE)
            st = ms_diag_add(&area->diags, AUDIT_DEF(A_DNSSEC_MX_UNSIGNED), h->name, -1,
                             "the addresses of MX host %s are not signed", h->name);
    }
    return st;
}

/* ---- MX, SPF, DMARC, DKIM: the modules' own checks ---- */

static ms_status audit_mx(ms_ctx *ctx, ms_audit_report *rep)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_MX];
    ms_status st = ms_audit_mx(ctx, rep->domain, &rep->mx, &area->diags);
    area->unchecked = st == MS_OK && (ms_diag_has(&area->diags, "mx.dns-failure") ||
                                      ms_diag_has(&area->diags, "mx.dnssec-bogus"));
    return st;
}

/* The SMTP TLS area: the MX hosts' port 25 as `tls check --mx` checks it,
 * with DANE; the MTA-STS area already matches the hosts to the policy.
 * Each finding keeps its host[address]:port location. */
static ms_status audit_smtp_tls(ms_ctx *ctx, ms_audit_report *rep, const ms_audit_options *o)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_SMTP_TLS];
    if (rep->mx == NULL || rep->areas[MS_AUDIT_MX].unchecked) {
        area->unchecked = 1; /* the MX area says why */
        return MS_OK;
    }
    ms_tls_port port = {o->smtp_port ? o->smtp_port : 25, MS_TLS_SMTP};
    ms_tls_check_opts opts = {.dane = 1, .ca_file = o->ca_file};
    ms_tls_mx_result *res = NULL;
    ms_status st = ms_tls_check_mx_hosts(ctx, rep->domain, rep->mx, NULL, &port, 1, &opts, &res);
    if (st != MS_OK)
        return st;
    area->unchecked = res->could_not_check;
    for (size_t i = 0; i < res->count && st == MS_OK; i++) {
        ms_tls_check_result *c = res->hosts[i].check;
        for (size_t p = 0; p < c->count && st == MS_OK; p++)
            st = ms_diag_list_move(&area->diags, &c->ports[p].diags);
        if (st == MS_OK)
            st = ms_diag_list_move(&area->diags, &c->diags);
    }
    if (st == MS_OK)
        st = ms_diag_list_move(&area->diags, &res->diags);
    ms_tls_mx_result_free(res);
    return st;
}

static ms_status audit_spf(ms_ctx *ctx, ms_audit_report *rep)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_SPF];
    ms_spf_check *c = NULL;
    ms_status st = ms_spf_check_domain(ctx, rep->domain, NULL, &c);
    if (st != MS_OK)
        return st;
    area->unchecked = c->could_not_check;
    rep->spf_lookups = c->lookups;
    if (c->root != NULL && c->root->text != NULL && (rep->spf_record = ms_strdup(c->root->text)) == NULL)
        st = MS_ERR_NOMEM;
    if (st == MS_OK)
        st = ms_diag_list_move(&area->diags, &c->diags);
    ms_spf_check_free(c);
    return st;
}

static ms_status audit_dmarc(ms_ctx *ctx, ms_audit_report *rep, ms_dmarc_discovery **d)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_DMARC];
    ms_status st = ms_dmarc_discover(ctx, rep->domain, d);
    if (st != MS_OK)
        return st;
    area->unchecked = (*d)->could_not_check;
    if ((*d)->record_text != NULL && (rep->dmarc_record = ms_strdup((*d)->record_text)) == NULL)
        return MS_ERR_NOMEM;
    return ms_diag_list_move(&area->diags, &(*d)->diags);
}

static size_t count_selectors(const char *const *selectors)
{
    size_t n = 0;
    while (selectors != NULL && selectors[n] != NULL)
        n++;
    return n;
}

static ms_status audit_dkim(ms_ctx *ctx, ms_audit_report *rep, const ms_audit_options *o)
{
    ms_audit_area *area = &rep->areas[MS_AUDIT_DKIM];
    size_t n = count_selectors(o ? o->selectors : NULL);
    if (n > 0) {
        ms_dkim_check_result *r = NULL;
        ms_status st = ms_dkim_check(ctx, rep->domain, o->selectors, n, &r);
        if (st != MS_OK)
            return st;
        area->unchecked = r->unchecked;
        for (size_t i = 0; i < r->count && st == MS_OK; i++)
            st = ms_diag_list_move(&area->diags, &r->items[i].diags);
        ms_dkim_check_result_free(r);
        return st;
    }
    int exists = 0;
    ms_dns_rcode rcode;
    ms_status st = ms_dkim_domainkey_exists(ctx, rep->domain, &exists, &rcode);
    if (st != MS_OK)
        return st;
    if (exists < 0) {
        area->unchecked = 1;
        return ms_diag_add(&area->diags, AUDIT_DEF(A_LOOKUP_FAILED), rep->domain, -1,
                           "looking up _domainkey.%s gave %s", rep->domain, ms_dns_rcode_str(rcode));
    }
    if (exists == 0)
        return ms_diag_add(&area->diags, AUDIT_DEF(A_DKIM_NOT_FOUND), rep->domain, -1,
                           "_domainkey.%s does not exist", rep->domain);
    return ms_diag_add(&area->diags, AUDIT_DEF(A_DKIM_NO_SELECTOR), rep->domain, -1,
                       "_domainkey.%s exists; give --selector to check its keys", rep->domain);
}

/* ---- grades and the whole ---- */

static void grade(ms_audit_report *rep)
{
    rep->grade = 'A';
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++) {
        ms_audit_area *a = &rep->areas[i];
        if (a->skipped) {
            a->grade = '-';
            continue;
        }
        int worst = ms_diag_worst(&a->diags);
        a->grade = a->unchecked ? '?' : worst == MS_SEV_ERROR ? 'F' : worst == MS_SEV_WARNING ? 'B' : 'A';
        /* '?' ranks between B and F: unknown is worse than imperfect */
        static const char ORDER[] = "AB?F";
        if (strchr(ORDER, a->grade) > strchr(ORDER, rep->grade))
            rep->grade = a->grade;
    }
}

/* ---- the tasks, in threads ---- */

typedef struct task task;
struct task {
    ms_status (*run)(task *t);
    ms_ctx *ctx;          /* the task's own */
    ms_audit_report *rep;
    const ms_audit_options *options;
    ms_dmarc_discovery *dmarc; /* the DMARC task's result */
    txt_round txt;             /* the TXT task's answers */
    ms_status status;
    ms_task task;
};

static ms_status run_mx(task *t)
{
    ms_status st = audit_mx(t->ctx, t->rep);
    if (st == MS_OK && t->options && t->options->smtp_tls)
        st = audit_smtp_tls(t->ctx, t->rep, t->options);
    return st;
}
static ms_status run_spf(task *t) { return audit_spf(t->ctx, t->rep); }
static ms_status run_dmarc(task *t) { return audit_dmarc(t->ctx, t->rep, &t->dmarc); }
static ms_status run_dkim(task *t) { return audit_dkim(t->ctx, t->rep, t->options); }

static ms_status run_txt(task *t)
{
    ms_status st = ask_txt(t->ctx, t->rep->domain, &t->txt);
    if (st == MS_OK)
        st = audit_tlsrpt(t->rep, ms_dns_batch_answer(t->txt.batch, t->txt.tlsrpt));
    if (st == MS_OK)
        st = audit_bimi(t->rep, ms_dns_batch_answer(t->txt.batch, t->txt.bimi));
    if (st == MS_OK)
        st = audit_mtasts(t->ctx, t->rep, ms_dns_batch_answer(t->txt.batch, t->txt.mtasts));
    return st;
}

static void *task_main(void *arg)
{
    task *t = arg;
    t->status = t->run(t);
    return NULL;
}

enum { TASK_MX, TASK_SPF, TASK_DMARC, TASK_DKIM, TASK_TXT, TASK_COUNT };

static ms_status start_tasks(ms_ctx *ctx, ms_audit_report *rep, const ms_audit_options *o,
                             task tasks[TASK_COUNT])
{
    static ms_status (*const RUN[TASK_COUNT])(task *) = {run_mx, run_spf, run_dmarc, run_dkim,
                                                         run_txt};
    for (int i = 0; i < TASK_COUNT; i++) {
        tasks[i] = (task){.run = RUN[i], .rep = rep, .options = o};
        ms_status st = ms_ctx_clone(ctx, &tasks[i].ctx);
        if (st != MS_OK)
            return st;
        ms_task_run(&tasks[i].task, task_main, &tasks[i]);
    }
    return MS_OK;
}

/* Waits for every task started; the first failure wins (when starting
 * failed, st says why and the tasks after it never ran). */
static ms_status join_tasks(task tasks[TASK_COUNT], ms_status st)
{
    for (int i = 0; i < TASK_COUNT; i++) {
        ms_task_join(&tasks[i].task);
        if (st == MS_OK)
            st = tasks[i].status;
    }
    return st;
}

static void free_tasks(task tasks[TASK_COUNT])
{
    for (int i = 0; i < TASK_COUNT; i++) {
        ms_dmarc_discovery_free(tasks[i].dmarc);
        ms_dns_batch_free(tasks[i].txt.batch);
        ms_ctx_free(tasks[i].ctx);
    }
}

static ms_status audit(ms_ctx *ctx, ms_audit_report *rep, const ms_audit_options *o)
{
    task tasks[TASK_COUNT] = {0};
    ms_status st = join_tasks(tasks, start_tasks(ctx, rep, o, tasks));
    if (st == MS_OK)
        st = check_coverage(rep);
    if (st == MS_OK)
        st = check_bimi_dmarc(rep, tasks[TASK_DMARC].dmarc);
    if (st == MS_OK)
        st = audit_dnssec(rep, ms_dns_batch_answer(tasks[TASK_TXT].txt.batch, tasks[TASK_TXT].txt.soa));
    free_tasks(tasks);
    return st;
}

ms_status ms_audit_domain(ms_ctx *ctx, const char *domain, const ms_audit_options *options,
                          ms_audit_report **out)
{
    *out = NULL;
    ms_audit_report *rep = calloc(1, sizeof *rep);
    if (rep == NULL)
        return MS_ERR_NOMEM;
    rep->areas[MS_AUDIT_SMTP_TLS].skipped = options == NULL || !options->smtp_tls;
    ms_status st = ms_domain_normalize(domain, &rep->domain);
    if (st == MS_ERR_INVALID) {
        rep->could_not_check = 1;
        rep->domain = ms_strdup(domain);
        st = rep->domain ? MS_OK : MS_ERR_NOMEM;
    } else if (st == MS_OK) {
        st = audit(ctx, rep, options);
    }
    if (st != MS_OK) {
        ms_audit_report_free(rep);
        return st;
    }
    grade(rep);
    *out = rep;
    return MS_OK;
}

void ms_audit_report_free(ms_audit_report *rep)
{
    if (rep == NULL)
        return;
    for (int i = 0; i < MS_AUDIT_AREA_COUNT; i++)
        ms_diag_list_free(&rep->areas[i].diags);
    free(rep->domain);
    free(rep->spf_record);
    free(rep->dmarc_record);
    free(rep->mtasts_id);
    free(rep->tlsrpt_record);
    free(rep->bimi_record);
    ms_audit_mtasts_policy_free(rep->mtasts_policy);
    ms_audit_mx_result_free(rep->mx);
    free(rep);
}
