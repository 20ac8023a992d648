/* Failure reports (RFC 9991, docs/milter.md): built at the end of a message
 * that failed DMARC, for each ruf= destination of the record that applied
 * when its fo= asks and the destination may receive them, then sent by one
 * thread from a bounded queue, so the mail path never waits for a report.
 * The transport and the authorisation check are `report send`'s. */
#include "internal.h"
#include "core/task.h"
#include "report/send_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the decision and the building ---- */

/* Whether fo= asks for a report of this DMARC failure (RFC 9989 fo=,
 * colon-separated options). 0 (the default) and 1 both hold for a message
 * that failed DMARC: no mechanism produced an aligned pass; d: a DKIM
 * signature failed evaluation; s: SPF failed. Unknown options are ignored;
 * when none is known, the default applies. */
static int fo_asks(const char *fo, int dkim_failed, int spf_failed)
{
    int known = 0;
    const char *p = fo ? fo : "0";
    while (*p) {
        size_t len = strcspn(p, ":");
        const char *start = p;
        while (len > 0 && (*start == ' ' || *start == '\t'))
            start++, len--;
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        if (len == 1 && (*start == '0' || *start == '1'))
            return 1;
        if (len == 1 && (*start == 'd' || *start == 's')) {
            known = 1;
            if ((*start == 'd' && dkim_failed) || (*start == 's' && spf_failed))
                return 1;
        }
        p += strcspn(p, ":");
        if (*p == ':')
            p++;
    }
    return !known;
}

static ms_status note(ms_buf *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static ms_status note(ms_buf *notes, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (line == NULL)
        return MS_ERR_NOMEM;
    ms_buf_puts(notes, line);
    ms_buf_puts(notes, "\n");
    free(line);
    return notes->failed ? MS_ERR_NOMEM : MS_OK;
}

/* Why no report may go to this ruf= entry, or NULL when one may (*nomem
 * when the answer could not be written). */
static char *refusal(const milter_failure_input *in, const ms_dmarc_uri *u, int *nomem)
{
    const ms_dmarc_discovery *d = in->discovery;
    const ms_dmarc_destination *dest = report_send_find_destination(d, u->uri, 1);
    char *why = NULL;
    if (!u->is_mailto)
        why = ms_asprintf("only mailto: destinations are supported");
    else if (!report_send_address_usable(u->address))
        why = ms_asprintf("not an address reports can be mailed to");
    else if (dest == NULL || (dest->external && !dest->verified))
        why = ms_asprintf("%s has not authorised reports about %s: there is no v=DMARC1 TXT"
                          " record at %s._report._dmarc.%s",
                          u->domain, d->policy_domain, d->policy_domain, u->domain);
    else
        return NULL;
    *nomem = why == NULL;
    return why;
}

static const char *delivery_result(ms_milter_action action)
{
    switch (action) {
    case MS_MILTER_REJECT: return "reject";
    case MS_MILTER_QUARANTINE:
    case MS_MILTER_HEADER: return "spam";
    case MS_MILTER_TEMPFAIL: return "other";
    case MS_MILTER_ACCEPT: break;
    }
    return "delivered";
}

static ms_status add_report(ms_milter_verdict *v, const milter_failure_input *in,
                            const ms_dmarc_uri *u, char *message, size_t len)
{
    ms_milter_failure_report *bigger =
        realloc(v->failure_reports, (v->failure_report_count + 1) * sizeof *bigger);
    if (bigger == NULL) {
        free(message);
        return MS_ERR_NOMEM;
    }
    v->failure_reports = bigger;
    ms_milter_failure_report *r = &bigger[v->failure_report_count++];
    *r = (ms_milter_failure_report){
        .policy_domain = ms_strdup(in->discovery->policy_domain),
        .source_ip = ms_strdup(in->client_ip),
        .to = ms_strdup(u->address),
        .message = message,
        .len = len,
    };
    return r->policy_domain && r->source_ip && r->to ? MS_OK : MS_ERR_NOMEM;
}

/* The report to one ruf= entry, or a note saying why there is none. */
static ms_status build_one(const milter_failure_input *in, const ms_dmarc_uri *u,
                           ms_milter_verdict *v, ms_buf *notes)
{
    int nomem = 0;
    char *why = refusal(in, u, &nomem);
    if (why != NULL || nomem) {
        ms_status st = nomem ? MS_ERR_NOMEM
                             : note(notes, "failure report to %s not sent: %s", u->uri, why);
        free(why);
        return st;
    }
    const ms_milter_config *c = in->config;
    ms_report_failure_out out = {
        .from = c->failure_from,
        .to = u->address,
        .reporting_mta = c->authserv_id,
        .reported_domain = in->from_domain,
        .source_ip = in->client_ip,
        .original_mail_from = in->mail_from,
        .original_rcpt_to = in->rcpt,
        .authentication_results = in->auth_results,
        .identity_alignment = "none",
        .delivery_result = delivery_result(in->action),
        .arrival = in->now,
        .date = in->now,
        .headers = in->headers,
        .headers_len = in->headers_len,
        .redact = c->failure_redact,
    };
    char *message = NULL;
    size_t len = 0;
    ms_status st = ms_report_failure_build(&out, u->has_max_size ? (size_t)u->max_size : 0,
                                           &message, &len);
    if (st == MS_OK)
        return add_report(v, in, u, message, len);
    if (st == MS_ERR_LIMIT)
        return note(notes, "failure report to %s not sent: larger than the %llu bytes it accepts"
                           " (its !size)", u->uri, (unsigned long long)u->max_size);
    if (st == MS_ERR_INVALID)
        return note(notes, "failure report to %s not sent: the message lacks what a report needs",
                    u->uri);
    return st;
}

ms_status milter_failure_build(const milter_failure_input *in, ms_milter_verdict *v)
{
    const ms_dmarc_record *rec = in->record;
    if (!in->config->failure_reports || rec == NULL || rec->ruf_count == 0 ||
        in->client_ip == NULL || !fo_asks(rec->fo, in->dkim_failed, in->spf_failed))
        return MS_OK;
    ms_buf notes = MS_BUF_INIT;
    ms_status st = MS_OK;
    size_t count = rec->ruf_count;
    if (count > MS_MILTER_FAILURE_DESTINATIONS_MAX) {
        st = note(&notes, "failure reports to %zu ruf= destinations of %s not sent: at most %d"
                          " are served", count - MS_MILTER_FAILURE_DESTINATIONS_MAX,
                  in->discovery->policy_domain, MS_MILTER_FAILURE_DESTINATIONS_MAX);
        count = MS_MILTER_FAILURE_DESTINATIONS_MAX;
    }
    for (size_t i = 0; i < count && st == MS_OK; i++)
        st = build_one(in, &rec->ruf[i], v, &notes);
    if (st == MS_OK && notes.len > 0) {
        v->failure_notes = ms_buf_take(&notes);
        st = v->failure_notes ? MS_OK : MS_ERR_NOMEM;
    }
    ms_buf_free(&notes);
    return st;
}

static void report_free(ms_milter_failure_report *r)
{
    free(r->policy_domain);
    free(r->source_ip);
    free(r->to);
    free(r->message);
}

void milter_failure_reports_free(ms_milter_verdict *v)
{
    for (size_t i = 0; i < v->failure_report_count; i++)
        report_free(&v->failure_reports[i]);
    free(v->failure_reports);
    v->failure_reports = NULL;
    v->failure_report_count = 0;
    free(v->failure_notes);
    v->failure_notes = NULL;
}

/* ---- the sender ---- */

/* When a report last went for a (policy domain, source IP). */
typedef struct rate_entry {
    char *key;               /* "domain ip"; NULL: free */
    int64_t at_ms;           /* monotonic */
} rate_entry;

struct ms_milter_sender {
    const ms_milter_config *config;
    ms_milter_log_fn log;
    void *log_arg;
    ms_task thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    ms_milter_failure_report queue[MS_MILTER_FAILURE_QUEUE_MAX]; /* a ring */
    size_t head, count;
    rate_entry rates[MS_MILTER_FAILURE_RATE_MAX];
};

static void say(ms_milter_sender *s, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(ms_milter_sender *s, int error, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->log(s->log_arg, error, line);
}

static ms_status deliver(const ms_milter_config *c, const ms_milter_failure_report *r, char **why)
{
    ms_buf message = {.data = r->message, .len = r->len, .cap = r->len};
    if (c->failure_smtp != NULL)
        return report_send_smtp(c->failure_smtp, c->failure_from, r->to, &message, why);
    return report_send_sendmail(c->failure_sendmail, c->failure_from, &message, why);
}

static void *sender_main(void *arg)
{
    ms_milter_sender *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->count == 0 && !s->stopping)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->stopping)
            break;
        ms_milter_failure_report r = s->queue[s->head];
        s->head = (s->head + 1) % MS_MILTER_FAILURE_QUEUE_MAX;
        s->count--;
        pthread_mutex_unlock(&s->lock);
        char *why = NULL;
        if (deliver(s->config, &r, &why) == MS_OK)
            say(s, 0, "failure report about %s (source %s) sent to %s", r.policy_domain,
                r.source_ip, r.to);
        else
            say(s, 1, "failure report about %s (source %s) to %s failed: %s", r.policy_domain,
                r.source_ip, r.to, why ? why : "out of memory");
        free(why);
        report_free(&r);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

ms_status ms_milter_sender_start(const ms_milter_config *config, ms_milter_log_fn log, void *arg,
                                 ms_milter_sender **out)
{
    *out = NULL;
    ms_milter_sender *s = calloc(1, sizeof *s);
    if (s == NULL)
        return MS_ERR_NOMEM;
    s->config = config;
    s->log = log;
    s->log_arg = arg;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return MS_ERR_NOMEM;
    }
    if (pthread_cond_init(&s->wake, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return MS_ERR_NOMEM;
    }
    if (!ms_task_try(&s->thread, sender_main, s)) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return MS_ERR_NOMEM;
    }
    *out = s;
    return MS_OK;
}

/* Under the lock: 1 when a report went for key within the interval; else
 * the key is remembered as sent now (a free entry, an expired one, or the
 * oldest, evicted). 0 with *nomem when the key could not be kept. */
static int rate_limited(ms_milter_sender *s, const char *key, int64_t now, int *nomem)
{
    int64_t interval = (int64_t)s->config->failure_interval * 1000;
    rate_entry *slot = &s->rates[0]; /* a free entry, else the oldest */
    for (size_t i = 0; i < MS_MILTER_FAILURE_RATE_MAX; i++) {
        rate_entry *e = &s->rates[i];
        if (e->key != NULL && strcmp(e->key, key) == 0) {
            if (now - e->at_ms < interval)
                return 1;
            e->at_ms = now;
            return 0;
        }
        if (slot->key != NULL && (e->key == NULL || e->at_ms < slot->at_ms))
            slot = e;
    }
    char *copy = ms_strdup(key);
    if (copy == NULL) {
        *nomem = 1;
        return 0;
    }
    free(slot->key);
    slot->key = copy;
    slot->at_ms = now;
    return 0;
}

void ms_milter_sender_offer(ms_milter_sender *s, const char *id, ms_milter_verdict *v)
{
    if (s == NULL || v->failure_report_count == 0) {
        milter_failure_reports_free(v);
        return;
    }
    /* one verdict's reports share the domain and the source */
    const ms_milter_failure_report *first = &v->failure_reports[0];
    char *key = ms_asprintf("%s %s", first->policy_domain, first->source_ip);
    int nomem = key == NULL;
    pthread_mutex_lock(&s->lock);
    int limited = key && rate_limited(s, key, ms_monotonic_ms(), &nomem);
    size_t queued = 0;
    for (size_t i = 0; !limited && !nomem && i < v->failure_report_count; i++) {
        ms_milter_failure_report *r = &v->failure_reports[i];
        if (s->count == MS_MILTER_FAILURE_QUEUE_MAX)
            break;
        s->queue[(s->head + s->count) % MS_MILTER_FAILURE_QUEUE_MAX] = *r;
        s->count++;
        *r = (ms_milter_failure_report){0};
        queued++;
    }
    if (queued > 0)
        pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    size_t dropped = v->failure_report_count - queued;
    if (limited)
        say(s, 0, "%s failure report about %s (source %s) not sent: one went within"
                  " failure-interval (%u s)", id, first->policy_domain, first->source_ip,
            s->config->failure_interval);
    else if (nomem)
        say(s, 1, "%s failure report about %s not sent: out of memory", id, first->policy_domain);
    else if (dropped > 0)
        say(s, 1, "%s %zu failure report%s about %s dropped: %d are waiting to be sent", id,
            dropped, dropped == 1 ? "" : "s", first->policy_domain, MS_MILTER_FAILURE_QUEUE_MAX);
    free(key);
    milter_failure_reports_free(v);
}

void ms_milter_sender_stop(ms_milter_sender *s)
{
    if (s == NULL)
        return;
    /* the queued reports are dropped (and said so) at once; the one being
     * sent, if any, is finished before the thread is joined */
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    size_t dropped = s->count;
    for (; s->count > 0; s->count--, s->head = (s->head + 1) % MS_MILTER_FAILURE_QUEUE_MAX)
        report_free(&s->queue[s->head]);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    if (dropped > 0)
        say(s, 1, "%zu failure report%s not sent: the milter stopped", dropped,
            dropped == 1 ? "" : "s");
    ms_task_join(&s->thread);
    for (size_t i = 0; i < MS_MILTER_FAILURE_RATE_MAX; i++)
        free(s->rates[i].key);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
