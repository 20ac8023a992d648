/* `report send` (docs/report.md): for each policy domain and UTC day with
 * recorded evaluations, one RFC 9990 aggregate report, to each rua=
 * destination the domain publishes now, once.
 *
 * Exactly once: before a report leaves for a destination its state is
 * recorded as built, and once sendmail or the SMTP server has accepted it,
 * as sent (both durable). A run that finds a report sent leaves it; one
 * that finds it built (a run killed between the two) sends it again, the
 * same report with the same Report-ID and Message-ID, which receivers
 * recognise as a duplicate. */
#include "report/report_internal.h"
#include "report/send_internal.h"
#include "core/file.h"
#include "mailsec/dmarc.h"
#include "mailsec/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *ms_report_send_outcome_name(ms_report_send_outcome outcome)
{
    switch (outcome) {
    case MS_REPORT_SEND_SENT: return "sent";
    case MS_REPORT_SEND_ALREADY_SENT: return "already-sent";
    case MS_REPORT_SEND_WOULD_SEND: return "would-send";
    case MS_REPORT_SEND_WRITTEN: return "written";
    case MS_REPORT_SEND_NO_DESTINATION: return "no-destination";
    case MS_REPORT_SEND_SKIPPED: return "skipped";
    case MS_REPORT_SEND_FAILED: return "failed";
    }
    return "";
}

typedef struct sender {
    ms_ctx *ctx;
    ms_store *store;
    const ms_report_send_options *o;
    ms_report_send_fn fn;
    void *arg;
    char *receiver;              /* the domain of the reporting address */
    const char *sendmail;
} sender;

/* One period's report as it is being built and sent. */
typedef struct period_report {
    const ms_store_eval_period *period;
    char report_id[300];
    char file_name[700];
    ms_report_agg_writer *writer;
    uint64_t messages;
    const void *gz;
    size_t gz_len;
    ms_status build_status;
} period_report;

static void tell(sender *s, const period_report *r, ms_report_send_outcome outcome,
                 const char *destination, const char *file, const char *reason)
{
    ms_report_send_event ev = {
        .outcome = outcome,
        .policy_domain = r->period->policy_domain,
        .day = r->period->day,
        .destination = destination,
        .report_id = r->gz ? r->report_id : NULL,
        .file = file,
        .records = r->writer ? ms_report_agg_writer_records(r->writer) : 0,
        .messages = r->gz ? r->messages : 0,
        .bytes = r->gz_len,
        .reason = reason,
    };
    s->fn(s->arg, &ev);
}

/* ---- Building ----------------------------------------------------------- */

/* <policy_published> from the record the evaluations applied. */
typedef struct published {
    ms_dmarc_record *rec;
    const char *p, *sp, *adkim, *aspf, *testing;
} published;

static const char *align_word(ms_dmarc_align a)
{
    return a == MS_DMARC_ALIGN_STRICT ? "s" : a == MS_DMARC_ALIGN_RELAXED ? "r" : NULL;
}

static const char *policy_word(ms_dmarc_policy p)
{
    return p == MS_DMARC_POLICY_UNSET ? NULL : ms_dmarc_policy_str(p);
}

static ms_status read_published(const char *text, const char *domain, published *out)
{
    *out = (published){0};
    if (text == NULL)
        return MS_OK;
    ms_diag_list diags = {0};
    ms_status st = ms_dmarc_check_record(text, strlen(text), domain, &out->rec, &diags);
    ms_diag_list_free(&diags);
    if (st != MS_OK || out->rec == NULL)
        return st;
    const ms_dmarc_record *r = out->rec;
    /* a record without a valid p= is applied as p=none (RFC 9989 4.10.1) */
    out->p = r->as_p_none ? "none" : policy_word(r->p);
    out->sp = r->as_p_none ? NULL : policy_word(r->sp);
    out->adkim = align_word(r->adkim);
    out->aspf = align_word(r->aspf);
    out->testing = r->testing == 1 ? "y" : r->testing == 0 ? "n" : NULL;
    return MS_OK;
}

/* The store's group as the writer's record (one SPF result: the one the
 * receiver checked; an empty domain when it checked none). */
static int put_group(void *arg, const ms_store_eval_group *g)
{
    period_report *r = arg;
    const ms_store_evaluation *e = &g->evaluation;
    ms_report_agg_record rec = {
        .source_ip = e->source_ip,
        .count = g->count,
        .disposition = e->disposition,
        .dkim = e->dkim_aligned,
        .spf = e->spf_aligned,
        .envelope_to = e->envelope_to,
        .envelope_from = e->envelope_from,
        .header_from = e->header_from,
        .spf_count = 1,
        .spf_results = {{.domain = e->spf_domain ? e->spf_domain : "",
                         .scope = e->spf_scope,
                         .result = e->spf_result ? e->spf_result : "none"}},
    };
    for (size_t i = 0; i < e->override_count && rec.reason_count < MS_REPORT_REASON_MAX; i++)
        rec.reasons[rec.reason_count++] =
            (ms_report_agg_reason){.type = e->overrides[i].type, .comment = e->overrides[i].comment};
    for (size_t i = 0; i < e->dkim_count && rec.dkim_count < MS_REPORT_AUTH_MAX; i++)
        rec.dkim_results[rec.dkim_count++] = (ms_report_agg_auth){
            .domain = e->dkim[i].domain, .selector = e->dkim[i].selector ? e->dkim[i].selector : "",
            .result = e->dkim[i].result};
    ms_status st = ms_report_agg_writer_record(r->writer, &rec);
    if (st == MS_OK)
        r->messages += g->count;
    /* a group the schema refuses is left out (never the case for what the
     * store accepted); a writer that failed stops the walk */
    if (st == MS_ERR_NOMEM || (st == MS_ERR_LIMIT && g->count <= MS_REPORT_COUNT_MAX)) {
        r->build_status = st;
        return 1;
    }
    return 0;
}

/* A failure of the store as ms_report_send returns it: MS_ERR_IO
 * (ms_store_error says why), but running out of memory as such. */
static ms_status store_failure(ms_status st)
{
    return st == MS_OK || st == MS_ERR_NOMEM ? st : MS_ERR_IO;
}

/* YYYYMMDD of a day, for its Report-ID. */
static void format_day(char out[40], int64_t day)
{
    time_t t = (time_t)day;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Builds the period's report. MS_OK with r->gz set; MS_ERR_LIMIT (too
 * large), MS_ERR_INVALID (nothing to report) with *why; MS_ERR_IO when the
 * store failed. */
static ms_status build(sender *s, period_report *r, const ms_dmarc_discovery *now, char **why)
{
    const ms_store_eval_period *p = r->period;
    char day[40];
    format_day(day, p->day);
    /* the same for every run: what makes a resend a duplicate */
    snprintf(r->report_id, sizeof r->report_id, "%s.%s", day, p->policy_domain);
    snprintf(r->file_name, sizeof r->file_name, "%s!%s!%lld!%lld!%s.xml.gz", s->receiver,
             p->policy_domain, (long long)p->day, (long long)(p->day + 86399), day);
    published pub;
    ms_status st = read_published(p->policy_record, p->policy_domain, &pub);
    if (st == MS_OK && pub.p == NULL && now->record != NULL) { /* none recorded: today's */
        ms_dmarc_record_free(pub.rec);
        st = read_published(now->policy_record_text, p->policy_domain, &pub);
    }
    if (st != MS_OK)
        return st;
    ms_report_agg_meta meta = {
        .org_name = s->o->org_name,
        .email = s->o->from,
        .report_id = r->report_id,
        .begin = p->day,
        .end = p->day + 86399,
        .domain = p->policy_domain,
        .p = pub.p ? pub.p : "none",
        .sp = pub.sp,
        .adkim = pub.adkim,
        .aspf = pub.aspf,
        .testing = pub.testing,
        .fo = pub.rec ? pub.rec->fo : NULL,
    };
    st = ms_report_agg_writer_new(&meta, 0, &r->writer);
    ms_dmarc_record_free(pub.rec);
    if (st == MS_OK)
        st = ms_store_eval_groups(s->store, p->policy_domain, p->day, put_group, r);
    if (st != MS_OK)
        return store_failure(st);
    st = r->build_status;
    if (st == MS_OK)
        st = ms_report_agg_writer_finish(r->writer, &r->gz, &r->gz_len);
    if (st == MS_ERR_LIMIT)
        *why = ms_asprintf("the report is larger than %llu bytes compressed",
                           (unsigned long long)MS_REPORT_SEND_GZ_MAX);
    else if (st == MS_ERR_INVALID)
        *why = ms_strdup("no evaluation of the day could be reported");
    if ((st == MS_ERR_LIMIT || st == MS_ERR_INVALID) && *why == NULL)
        st = MS_ERR_NOMEM;
    return st;
}

static void write_file(sender *s, period_report *r)
{
    char *path = ms_asprintf("%s/%s", s->o->out_dir, r->file_name), *error = NULL;
    ms_file_opts opts = {.new_mode = 0644};
    ms_status st = path ? ms_file_replace(path, r->gz, r->gz_len, &opts, &error) : MS_ERR_NOMEM;
    if (st == MS_OK)
        tell(s, r, MS_REPORT_SEND_WRITTEN, NULL, path, NULL);
    else
        tell(s, r, MS_REPORT_SEND_FAILED, NULL, path,
             st == MS_ERR_NOMEM || error == NULL ? "out of memory" : error);
    free(path);
    free(error);
}

/* ---- Sending ------------------------------------------------------------ */

int report_send_address_usable(const char *a)
{
    if (a == NULL || strlen(a) > 254)
        return 0;
    const char *at = strchr(a, '@');
    if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p <= ' ' || *p >= 0x7F || *p == '<' || *p == '>' || *p == '"' || *p == ',')
            return 0;
    return 1;
}

const ms_dmarc_destination *report_send_find_destination(const ms_dmarc_discovery *d,
                                                         const char *uri, int is_ruf)
{
    for (size_t i = 0; i < d->destination_count; i++)
        if (d->destinations[i].is_ruf == is_ruf && d->destinations[i].uri != NULL &&
            strcmp(d->destinations[i].uri, uri) == 0)
            return &d->destinations[i];
    return NULL;
}

/* Why the report may not go to this rua entry in *why (caller frees), or
 * *why NULL when it may. MS_ERR_NOMEM when a refusal's reason could not be
 * written: never taken for leave to send. */
static ms_status refusal(const period_report *r, const ms_dmarc_uri *u,
                         const ms_dmarc_destination *dest, char **why)
{
    *why = NULL;
    if (!u->is_mailto)
        *why = ms_asprintf("only mailto: destinations are supported (%s)", u->uri);
    else if (!report_send_address_usable(u->address))
        *why = ms_asprintf("%s is not an address reports can be mailed to", u->uri);
    else if (dest == NULL || (dest->external && !dest->verified))
        *why = ms_asprintf("%s has not authorised reports about %s: there is no v=DMARC1 TXT"
                           " record at %s._report._dmarc.%s",
                           u->domain, r->period->policy_domain, r->period->policy_domain,
                           u->domain);
    else
        return MS_OK;
    return *why != NULL ? MS_OK : MS_ERR_NOMEM;
}

static ms_status deliver(sender *s, const char *to, const ms_buf *message, char **why)
{
    if (s->o->smtp != NULL)
        return report_send_smtp(s->o->smtp, s->o->from, to, message, why);
    return report_send_sendmail(s->sendmail, s->o->from, message, why);
}

/* The report to one destination; MS_ERR_IO only when the store failed,
 * MS_ERR_NOMEM when memory ran out. */
static ms_status send_to(sender *s, period_report *r, const ms_dmarc_uri *u,
                         const ms_dmarc_destination *dest)
{
    const char *domain = r->period->policy_domain;
    char *why = NULL;
    ms_status st = refusal(r, u, dest, &why);
    if (st != MS_OK || why != NULL) {
        if (why != NULL)
            tell(s, r, MS_REPORT_SEND_SKIPPED, u->uri, NULL, why);
        free(why);
        return st;
    }
    ms_store_send_state state;
    st = ms_store_send_state_get(s->store, domain, r->period->day, u->uri, &state);
    if (st != MS_OK)
        return store_failure(st);
    if (state == MS_STORE_SEND_SENT) {
        tell(s, r, MS_REPORT_SEND_ALREADY_SENT, u->uri, NULL, NULL);
        return MS_OK;
    }
    ms_buf message = MS_BUF_INIT;
    report_send_mail mail = {
        .from = s->o->from, .to = u->address, .org_name = s->o->org_name,
        .receiver = s->receiver, .policy_domain = domain, .report_id = r->report_id,
        .file_name = r->file_name, .begin = r->period->day, .end = r->period->day + 86399,
        .date = time(NULL), .gz = r->gz, .gz_len = r->gz_len,
    };
    report_send_mail_compose(&mail, &message);
    if (message.failed) {
        tell(s, r, MS_REPORT_SEND_FAILED, u->uri, NULL, "out of memory");
    } else if (u->has_max_size && message.len > u->max_size) {
        why = ms_asprintf("the report's mail is %zu bytes, more than the %llu the destination"
                          " accepts (its !size)",
                          message.len, (unsigned long long)u->max_size);
        tell(s, r, MS_REPORT_SEND_SKIPPED, u->uri, NULL, why);
    } else if (s->o->dry_run) {
        tell(s, r, MS_REPORT_SEND_WOULD_SEND, u->uri, NULL, NULL);
    } else {
        st = ms_store_send_state_set(s->store, domain, r->period->day, u->uri, r->report_id,
                                     MS_STORE_SEND_BUILT);
        if (st == MS_OK && deliver(s, u->address, &message, &why) == MS_OK) {
            st = ms_store_send_state_set(s->store, domain, r->period->day, u->uri, r->report_id,
                                         MS_STORE_SEND_SENT);
            if (st == MS_OK)
                tell(s, r, MS_REPORT_SEND_SENT, u->uri, NULL, NULL);
        } else if (st == MS_OK) {
            tell(s, r, MS_REPORT_SEND_FAILED, u->uri, NULL, why ? why : "delivery failed");
        }
    }
    free(why);
    ms_buf_free(&message);
    return store_failure(st);
}

/* Whether any destination still waits for the report (else it need not
 * be built, unless it is to be written to a file). */
static ms_status anything_to_send(sender *s, const period_report *r, const ms_dmarc_record *rec,
                                  int *any)
{
    *any = 0;
    for (size_t i = 0; !*any && i < rec->rua_count; i++) {
        ms_store_send_state state;
        ms_status st = ms_store_send_state_get(s->store, r->period->policy_domain, r->period->day,
                                               rec->rua[i].uri, &state);
        if (st != MS_OK)
            return store_failure(st);
        *any = state != MS_STORE_SEND_SENT;
    }
    return MS_OK;
}

static ms_status send_period(sender *s, const ms_store_eval_period *period)
{
    period_report r = {.period = period};
    ms_dmarc_discovery *d = NULL;
    ms_status st = ms_dmarc_discover(s->ctx, period->policy_domain, &d);
    if (st != MS_OK || d->could_not_check) {
        tell(s, &r, MS_REPORT_SEND_FAILED, NULL, NULL,
             "the DNS did not answer for the domain's DMARC record: run again later");
        ms_dmarc_discovery_free(d);
        return st == MS_ERR_NOMEM ? st : MS_OK;
    }
    const ms_dmarc_record *rec = d->record && d->record->usable ? d->record : NULL;
    int any = 0;
    if (rec != NULL)
        st = anything_to_send(s, &r, rec, &any);
    char *why = NULL;
    int unbuildable = 0; /* skipped as a whole, for every destination */
    if (st == MS_OK && (any || s->o->out_dir != NULL)) {
        st = build(s, &r, d, &why);
        if (st == MS_ERR_LIMIT || st == MS_ERR_INVALID) {
            tell(s, &r, MS_REPORT_SEND_SKIPPED, NULL, NULL, why);
            st = MS_OK;
            unbuildable = 1;
        } else if (st == MS_OK && s->o->out_dir != NULL) {
            write_file(s, &r);
        }
    }
    if (st == MS_OK && rec == NULL)
        tell(s, &r, MS_REPORT_SEND_NO_DESTINATION, NULL, NULL,
             "the domain publishes no DMARC record now");
    for (size_t i = 0; st == MS_OK && rec != NULL && !unbuildable && i < rec->rua_count; i++) {
        if (!any && r.gz == NULL)
            tell(s, &r, MS_REPORT_SEND_ALREADY_SENT, rec->rua[i].uri, NULL, NULL);
        else if (r.gz != NULL)
            st = send_to(s, &r, &rec->rua[i], report_send_find_destination(d, rec->rua[i].uri, 0));
    }
    if (st == MS_OK && rec != NULL && rec->rua_count == 0)
        tell(s, &r, MS_REPORT_SEND_NO_DESTINATION, NULL, NULL, "the domain's DMARC record has no rua=");
    free(why);
    ms_report_agg_writer_free(r.writer);
    ms_dmarc_discovery_free(d);
    return st;
}

ms_status ms_report_send(ms_ctx *ctx, struct ms_store *store, const ms_report_send_options *o,
                         ms_report_send_fn fn, void *arg)
{
    const char *at = o->from ? strrchr(o->from, '@') : NULL;
    if (o->org_name == NULL || !report_send_address_usable(o->from) || at == NULL)
        return MS_ERR_INVALID;
    sender s = {.ctx = ctx, .store = store, .o = o, .fn = fn, .arg = arg,
                .receiver = ms_strdup(at + 1),
                .sendmail = o->sendmail ? o->sendmail : "/usr/sbin/sendmail"};
    if (s.receiver == NULL)
        return MS_ERR_NOMEM;
    ms_report_ascii_lower(s.receiver);
    ms_store_eval_period *periods = NULL;
    size_t count = 0;
    ms_status st = store_failure(ms_store_eval_periods(store, o->since, o->until, &periods, &count));
    for (size_t i = 0; st == MS_OK && i < count; i++)
        st = send_period(&s, &periods[i]);
    ms_store_eval_periods_free(periods, count);
    free(s.receiver);
    return st;
}
