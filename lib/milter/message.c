/* One message through the milter (docs/milter.md): the header fields kept
 * (up to max_header_bytes), the body streamed into the DKIM verifier
 * (incoming) or signer (outgoing), then at the end SPF, DMARC with its
 * overrides, the Authentication-Results field and the action. */
#include "internal.h"
#include "core/grow.h"

#include "mailsec/dmarc.h"
#include "mailsec/dns.h"
#include "mailsec/spf.h"

#include <stdlib.h>
#include <string.h>

typedef struct kept_field {
    char *name;
    char *value;
} kept_field;

struct ms_milter_message {
    const ms_milter_config *config;
    ms_ctx *ctx;
    char *queue_id, *client_ip, *helo, *mail_from, *rcpt;
    int outgoing;
    kept_field *fields;
    size_t field_count, field_cap;
    size_t header_bytes;
    int headers_over;          /* beyond max_header_bytes: not evaluated */
    int started;               /* the header was fed to the verifier or signer */
    int dkim_over;             /* the verifier refused the header (its own bound) */
    ms_dkim_verifier *verifier;
    ms_dkim_signer *signer;
    char *sign_domain;         /* outgoing: the From domain keys were found for */
    size_t sign_count;
};

/* The verdict with the strings its evaluation points to. */
typedef struct verdict_impl {
    ms_milter_verdict pub;
    char *from_domain, *envelope_from, *envelope_to, *policy_domain, *policy_record;
    char *spf_domain, *source_ip, *override_comment;
} verdict_impl;

static ms_status copy_opt(const char *in, char **out)
{
    *out = NULL;
    if (in == NULL)
        return MS_OK;
    *out = ms_strdup(in);
    return *out ? MS_OK : MS_ERR_NOMEM;
}

static int is_outgoing(const ms_milter_config *c, const ms_milter_envelope *e)
{
    if (e->client_ip == NULL)
        return 1; /* local origin: the MTA's own sendmail command */
    if (e->auth_authen != NULL && e->auth_authen[0] != '\0')
        return 1;
    return milter_net_contains(c->relays, c->relay_count, e->client_ip);
}

ms_status ms_milter_message_new(const ms_milter_config *config, ms_ctx *ctx,
                                const ms_milter_envelope *e, ms_milter_message **out)
{
    *out = NULL;
    ms_milter_message *m = calloc(1, sizeof *m);
    if (m == NULL)
        return MS_ERR_NOMEM;
    m->config = config;
    m->ctx = ctx;
    m->outgoing = is_outgoing(config, e);
    ms_status st = copy_opt(e->queue_id, &m->queue_id);
    if (st == MS_OK)
        st = copy_opt(e->client_ip, &m->client_ip);
    if (st == MS_OK)
        st = copy_opt(e->helo, &m->helo);
    if (st == MS_OK)
        st = copy_opt(e->mail_from ? e->mail_from : "", &m->mail_from);
    if (st == MS_OK)
        st = copy_opt(e->rcpt, &m->rcpt);
    if (st != MS_OK) {
        ms_milter_message_free(m);
        return st;
    }
    *out = m;
    return MS_OK;
}

void ms_milter_message_free(ms_milter_message *m)
{
    if (m == NULL)
        return;
    free(m->queue_id);
    free(m->client_ip);
    free(m->helo);
    free(m->mail_from);
    free(m->rcpt);
    for (size_t i = 0; i < m->field_count; i++) {
        free(m->fields[i].name);
        free(m->fields[i].value);
    }
    free(m->fields);
    ms_dkim_verifier_free(m->verifier);
    ms_dkim_signer_free(m->signer);
    free(m->sign_domain);
    free(m);
}

ms_status ms_milter_message_header(ms_milter_message *m, const char *name, const char *value)
{
    size_t nlen = strlen(name), vlen = strlen(value);
    /* name, colon, value, line end */
    size_t bytes = nlen + vlen + 3;
    if (m->headers_over || m->started || bytes > m->config->max_header_bytes - m->header_bytes) {
        m->headers_over = 1;
        m->header_bytes = m->config->max_header_bytes;
        return MS_OK;
    }
    kept_field *fields = ms_grow(m->fields, m->field_count, &m->field_cap, sizeof *fields, 32);
    if (fields == NULL)
        return MS_ERR_NOMEM;
    m->fields = fields;
    kept_field *f = &m->fields[m->field_count];
    f->name = ms_strdup(name);
    f->value = ms_strdup(value);
    if (f->name == NULL || f->value == NULL) {
        free(f->name);
        free(f->value);
        return MS_ERR_NOMEM;
    }
    m->field_count++;
    m->header_bytes += bytes;
    return MS_OK;
}

/* The values of the fields named so; *count of them. */
static size_t count_fields(const ms_milter_message *m, const char *name, size_t *last)
{
    size_t n = 0;
    for (size_t i = 0; i < m->field_count; i++) {
        if (ms_ascii_strcasecmp(m->fields[i].name, name) == 0) {
            n++;
            if (last)
                *last = i;
        }
    }
    return n;
}

/* The From domain: MS_OK with *domain, MS_ERR_INVALID with *several set
 * when there is more than one From field. */
static ms_status from_domain(const ms_milter_message *m, char **domain, int *several)
{
    size_t at = 0;
    size_t n = count_fields(m, "From", &at);
    *domain = NULL;
    *several = n > 1;
    if (n != 1)
        return MS_ERR_INVALID;
    return ms_milter_from_domain(m->fields[at].value, strlen(m->fields[at].value), domain);
}

/* "Name:value" as the field appeared (the MTA hands over the value with
 * its leading space), fed to the verifier or the signer. */
static ms_status feed_fields(ms_milter_message *m)
{
    ms_buf b = MS_BUF_INIT;
    ms_status st = MS_OK;
    for (size_t i = 0; i < m->field_count && st == MS_OK; i++) {
        b.len = 0;
        ms_buf_puts(&b, m->fields[i].name);
        ms_buf_puts(&b, ":");
        ms_buf_puts(&b, m->fields[i].value);
        if (b.failed) {
            st = MS_ERR_NOMEM;
            break;
        }
        st = m->verifier ? ms_dkim_verifier_header(m->verifier, b.data, b.len)
                         : ms_dkim_signer_header(m->signer, b.data, b.len);
    }
    ms_buf_free(&b);
    return st;
}

/* Outgoing: a signer with every key configured for the From domain. */
static ms_status start_signer(ms_milter_message *m)
{
    char *domain = NULL;
    int several = 0;
    ms_status found = from_domain(m, &domain, &several);
    if (found == MS_ERR_NOMEM)
        return found;
    if (found != MS_OK)
        return MS_OK; /* nothing to sign for: logged at the end */
    const ms_milter_config *c = m->config;
    ms_dkim_sign_options opts[8];
    size_t n = 0;
    for (size_t i = 0; i < c->key_count && n < sizeof opts / sizeof opts[0]; i++) {
        if (strcmp(c->keys[i].domain, domain) != 0)
            continue;
        memset(&opts[n], 0, sizeof opts[n]);
        opts[n].domain = c->keys[i].domain;
        opts[n].selector = c->keys[i].selector;
        opts[n].key = c->keys[i].key;
        opts[n].time = (int64_t)ms_ctx_now(m->ctx);
        n++;
    }
    m->sign_domain = domain;
    if (n == 0)
        return MS_OK;
    ms_status st = ms_dkim_signer_new(opts, n, &m->signer);
    if (st != MS_OK)
        return st;
    m->sign_count = n;
    return feed_fields(m);
}

/* At the end of the header: the verifier or signer gets the fields kept. */
static ms_status start(ms_milter_message *m)
{
    if (m->started)
        return MS_OK;
    m->started = 1;
    if (m->headers_over)
        return MS_OK;
    if (m->outgoing)
        return start_signer(m);
    ms_status st = ms_dkim_verifier_new(m->ctx, NULL, &m->verifier);
    if (st != MS_OK)
        return st;
    st = feed_fields(m);
    if (st == MS_ERR_LIMIT) {
        /* the verifier's own bound on header fields: judged like ours */
        ms_dkim_verifier_free(m->verifier);
        m->verifier = NULL;
        m->dkim_over = 1;
        return MS_OK;
    }
    return st;
}

ms_status ms_milter_message_body(ms_milter_message *m, const void *data, size_t len)
{
    ms_status st = start(m);
    if (st != MS_OK)
        return st;
    if (m->verifier)
        return ms_dkim_verifier_body(m->verifier, data, len);
    if (m->signer)
        return ms_dkim_signer_body(m->signer, data, len);
    return MS_OK;
}

/* ---- Authentication-Results ---- */

static int is_token_char(unsigned char c)
{
    /* RFC 2045 token: printable ASCII but SPACE and tspecials */
    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

void milter_ar_value(ms_buf *b, const char *text)
{
    size_t len = strlen(text);
    if (len > 255)
        len = 255;
    int token = len > 0;
    for (size_t i = 0; i < len && token; i++)
        token = is_token_char((unsigned char)text[i]) || text[i] == '@' || text[i] == '/';
    if (token) {
        ms_buf_append(b, text, len);
        return;
    }
    ms_buf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 32 || c > 126)
            continue;
        if (c == '"' || c == '\\')
            ms_buf_puts(b, "\\");
        ms_buf_append(b, (const char *)&c, 1);
    }
    ms_buf_puts(b, "\"");
}

/* ---- the evaluation ---- */

typedef struct evaluation {
    /* SPF */
    const char *spf_result;
    char *spf_domain;
    const char *spf_scope;
    /* DKIM */
    ms_dkim_verify_result *dkim;
    const char *dkim_note;     /* why there are no DKIM results, or NULL */
    /* DMARC */
    char *from;
    const char *dmarc;         /* "pass", "fail", "none", "temperror", "permerror" */
    const char *dmarc_note;
    ms_dmarc_discovery *discovery;
    ms_dmarc_record *record;   /* the applicable record */
    ms_dmarc_policy policy;    /* the policy it asks for this From */
    const char *policy_tag;    /* the tag it comes from: "p", "sp" or "np" */
    int dkim_aligned, spf_aligned;
    ms_dmarc_policy disposition;
    const char *override;      /* RFC 9990 PolicyOverrideType, or NULL */
    const char *override_comment;
    ms_milter_action action;
} evaluation;

static const char *spf_word(ms_spf_result r)
{
    return ms_spf_result_str(r);
}

static ms_status check_spf(ms_milter_message *m, evaluation *ev)
{
    ev->spf_scope = m->mail_from[0] ? "mfrom" : "helo";
    ev->spf_result = "none";
    ms_spf_request req = {0};
    req.ip = m->client_ip;
    req.sender = m->mail_from;
    req.helo = m->helo;
    ms_spf_eval *out = NULL;
    ms_status st = ms_spf_eval_host(m->ctx, &req, &out);
    if (st == MS_ERR_INVALID)
        return MS_OK; /* no domain to check: none */
    if (st != MS_OK)
        return st;
    ev->spf_result = spf_word(out->result);
    ev->spf_domain = ms_strdup(out->domain);
    ms_spf_eval_free(out);
    return ev->spf_domain ? MS_OK : MS_ERR_NOMEM;
}

static ms_status check_dkim(ms_milter_message *m, evaluation *ev)
{
    if (m->headers_over || m->dkim_over) {
        ev->dkim_note = "header section too large";
        return MS_OK;
    }
    ms_status st = start(m);
    if (st != MS_OK)
        return st;
    if (m->verifier == NULL)
        return MS_OK;
    st = ms_dkim_verifier_finish(m->verifier, &ev->dkim);
    return st;
}

/* Relaxed: the domain is the From's organizational domain or below it;
 * strict: the same name. */
static int aligned(const char *domain, const char *from, const char *org, ms_dmarc_align mode)
{
    if (domain == NULL || from == NULL)
        return 0;
    if (mode == MS_DMARC_ALIGN_STRICT)
        return ms_ascii_strcasecmp(domain, from) == 0;
    return ms_domain_is_within(domain, org ? org : from);
}

static int list_has(char *const *list, size_t count, const char *word)
{
    for (size_t i = 0; word != NULL && i < count; i++)
        if (ms_ascii_strcasecmp(list[i], word) == 0)
            return 1;
    return 0;
}

/* The message's list identifier in *id, or NULL when it has no single
 * readable List-Id field; MS_ERR_NOMEM only when out of memory. */
static ms_status list_id(const ms_milter_message *m, char **id)
{
    size_t at = 0;
    *id = NULL;
    if (count_fields(m, "List-Id", &at) != 1)
        return MS_OK;
    const char *v = m->fields[at].value;
    ms_status st = ms_milter_list_id(v, strlen(v), id);
    return st == MS_ERR_NOMEM ? st : MS_OK;
}

/* The local overrides of a DMARC failure, in order: a mailing list, an
 * ARC chain sealed by a trusted forwarder, a trusted forwarder's IP. */
static ms_status apply_overrides(ms_milter_message *m, evaluation *ev)
{
    const ms_milter_config *c = m->config;
    char *id = NULL;
    ms_status st = list_id(m, &id);
    if (st != MS_OK)
        return st;
    if (list_has(c->lists, c->list_count, id)) {
        ev->override = "mailing_list";
        ev->override_comment = "List-Id configured";
    } else if (ev->dkim && ev->dkim->arc == MS_DKIM_ARC_PASS &&
               list_has(c->forwarder_domains, c->forwarder_domain_count, ev->dkim->arc_sealer)) {
        ev->override = "trusted_forwarder";
        ev->override_comment = "ARC chain passes, sealed by a trusted forwarder";
    } else if (milter_net_contains(c->forwarder_ips, c->forwarder_ip_count, m->client_ip)) {
        ev->override = "forwarded";
        ev->override_comment = "trusted forwarder's address";
    }
    free(id);
    if (ev->override)
        ev->disposition = MS_DMARC_POLICY_NONE;
    return MS_OK;
}

/* pct below 100 (RFC 7489) or t=y (RFC 9989): messages not sampled get the
 * next lower policy. */
static void apply_sampling(evaluation *ev)
{
    int pct = ev->record->pct;
    int testing = ev->record->testing == 1;
    if (!testing && (pct < 0 || pct >= 100))
        return;
    if (!testing && pct > 0 && (int)arc4random_uniform(100) < pct)
        return;
    ev->disposition = ev->disposition == MS_DMARC_POLICY_REJECT ? MS_DMARC_POLICY_QUARANTINE
                                                                : MS_DMARC_POLICY_NONE;
    ev->override = "sampled_out";
    ev->override_comment = testing ? "t=y" : "pct";
}

/* RFC 9989: a non-existent domain is one for which A, AAAA and MX are each
 * answered NXDOMAIN or NODATA. A lookup that failed or timed out (the
 * context's timeout bounds the wait) tells nothing, so the name is taken
 * to exist: the weaker of the two readings. */
static ms_status domain_exists(ms_ctx *ctx, const char *domain, int *exists)
{
    static const uint16_t types[] = {MS_DNS_A, MS_DNS_AAAA, MS_DNS_MX};
    size_t index[sizeof types / sizeof types[0]];
    size_t n = sizeof types / sizeof types[0];
    *exists = 1;
    ms_dns_batch *batch = NULL;
    ms_status st = ms_dns_batch_new(ctx, &batch);
    for (size_t i = 0; i < n && st == MS_OK; i++)
        st = ms_dns_batch_add(batch, domain, types[i], &index[i]);
    if (st == MS_OK)
        st = ms_dns_batch_wait(batch);
    if (st == MS_OK) {
        size_t absent = 0;
        for (size_t i = 0; i < n; i++) {
            const ms_dns_answer *a = ms_dns_batch_answer(batch, index[i]);
            if (a && (a->rcode == MS_DNS_NXDOMAIN || a->rcode == MS_DNS_NODATA))
                absent++;
        }
        *exists = absent < n;
    }
    ms_dns_batch_free(batch);
    return st;
}

/* A failing From domain below the domain whose record applies: np= (RFC
 * 9989) when the name does not exist. Asked only when np= is published and
 * the message failed, so passing mail costs no lookup. */
static ms_status apply_np(ms_milter_message *m, evaluation *ev)
{
    int exists = 1;
    ms_status st = domain_exists(m->ctx, ev->from, &exists);
    if (st != MS_OK || exists)
        return st;
    ev->policy = ev->record->np;
    ev->policy_tag = "np";
    return MS_OK;
}

static ms_status check_dmarc(ms_milter_message *m, evaluation *ev)
{
    ev->dmarc = "none";
    ev->disposition = MS_DMARC_POLICY_NONE;
    if (m->headers_over) {
        ev->dmarc = "permerror";
        ev->dmarc_note = "header section too large";
        return MS_OK;
    }
    int several = 0;
    ms_status st = from_domain(m, &ev->from, &several);
    if (st == MS_ERR_NOMEM)
        return st;
    if (st != MS_OK) {
        ev->dmarc = "permerror";
        /* RFC 5322 allows one From field: a second one is how a forger
         * shows one author and gets another checked */
        ev->dmarc_note = several ? "several From fields" : "no readable From address";
        if (several)
            ev->disposition = MS_DMARC_POLICY_REJECT;
        return MS_OK;
    }
    st = ms_dmarc_discover(m->ctx, ev->from, &ev->discovery);
    if (st != MS_OK)
        return st;
    const ms_dmarc_discovery *d = ev->discovery;
    if (d->could_not_check) {
        ev->dmarc = "temperror";
        return MS_OK;
    }
    if (d->policy_domain == NULL || d->policy_record_text == NULL)
        return MS_OK;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    st = ms_dmarc_check_record(d->policy_record_text, d->policy_record_text_len, d->policy_domain,
                               &ev->record, &diags);
    ms_diag_list_free(&diags);
    if (st != MS_OK)
        return st;
    if (!ev->record->usable)
        return MS_OK;
    const ms_dmarc_record *r = ev->record;
    int own = ms_ascii_strcasecmp(d->policy_domain, ev->from) == 0;
    int use_sp = !r->as_p_none && !own && r->sp != MS_DMARC_POLICY_UNSET;
    ev->policy = r->as_p_none ? MS_DMARC_POLICY_NONE : use_sp ? r->sp : r->p;
    ev->policy_tag = use_sp ? "sp" : "p";
    const char *org = d->org_domain ? d->org_domain : d->policy_domain;
    for (size_t i = 0; ev->dkim && i < ev->dkim->count; i++) {
        const ms_dkim_verdict *v = &ev->dkim->items[i];
        if (v->result == MS_DKIM_PASS && aligned(v->sig->d, ev->from, org, r->adkim))
            ev->dkim_aligned = 1;
    }
    ev->spf_aligned = strcmp(ev->spf_result, "pass") == 0 && strcmp(ev->spf_scope, "mfrom") == 0 &&
                      aligned(ev->spf_domain, ev->from, org, r->aspf);
    if (ev->dkim_aligned || ev->spf_aligned) {
        ev->dmarc = "pass";
        return MS_OK;
    }
    ev->dmarc = "fail";
    if (!own && !r->as_p_none && r->np != MS_DMARC_POLICY_UNSET) {
        st = apply_np(m, ev);
        if (st != MS_OK)
            return st;
    }
    ev->disposition = ev->policy;
    if (ev->disposition != MS_DMARC_POLICY_NONE) {
        st = apply_overrides(m, ev);
        if (st != MS_OK)
            return st;
    }
    if (ev->disposition != MS_DMARC_POLICY_NONE)
        apply_sampling(ev);
    return MS_OK;
}

static ms_milter_action action_for(const ms_milter_config *c, ms_dmarc_policy disposition)
{
    if (disposition == MS_DMARC_POLICY_REJECT)
        return c->on_reject;
    if (disposition == MS_DMARC_POLICY_QUARANTINE)
        return c->on_quarantine;
    return MS_MILTER_ACCEPT;
}

static void ar_dkim(ms_buf *b, const evaluation *ev)
{
    if (ev->dkim_note) {
        ms_buf_printf(b, ";\n\tdkim=permerror (%s)", ev->dkim_note);
        return;
    }
    if (ev->dkim == NULL || ev->dkim->count == 0) {
        ms_buf_puts(b, ";\n\tdkim=none");
        return;
    }
    for (size_t i = 0; i < ev->dkim->count; i++) {
        const ms_dkim_verdict *v = &ev->dkim->items[i];
        ms_buf_printf(b, ";\n\tdkim=%s", ms_dkim_result_str(v->result));
        if (v->result != MS_DKIM_PASS && v->reason)
            ms_buf_printf(b, " (%s)", v->reason);
        if (v->sig->d) {
            ms_buf_puts(b, " header.d=");
            milter_ar_value(b, v->sig->d);
        }
        if (v->sig->s) {
            ms_buf_puts(b, " header.s=");
            milter_ar_value(b, v->sig->s);
        }
    }
}

static char *auth_results(const ms_milter_message *m, const evaluation *ev)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, " ");
    ms_buf_puts(&b, m->config->authserv_id);
    ms_buf_printf(&b, ";\n\tspf=%s", ev->spf_result);
    if (ev->spf_domain) {
        ms_buf_puts(&b, strcmp(ev->spf_scope, "mfrom") == 0 ? " smtp.mailfrom=" : " smtp.helo=");
        milter_ar_value(&b, ev->spf_domain);
    }
    ar_dkim(&b, ev);
    ms_buf_printf(&b, ";\n\tdmarc=%s", ev->dmarc);
    if (ev->dmarc_note)
        ms_buf_printf(&b, " (%s)", ev->dmarc_note);
    else if (ev->record && ev->record->usable)
        ms_buf_printf(&b, " (%s=%s dis=%s%s%s)", ev->policy_tag, ms_dmarc_policy_str(ev->policy),
                      ms_dmarc_policy_str(ev->disposition), ev->override ? " override=" : "",
                      ev->override ? ev->override : "");
    if (ev->from) {
        ms_buf_puts(&b, " header.from=");
        milter_ar_value(&b, ev->from);
    }
    const char *arc = ev->dkim ? ms_dkim_arc_result_str(ev->dkim->arc) : "none";
    ms_buf_printf(&b, ";\n\tarc=%s", arc);
    if (ev->dkim && ev->dkim->arc_sealer) {
        ms_buf_printf(&b, " (i=%d) header.d=", ev->dkim->arc_instance);
        milter_ar_value(&b, ev->dkim->arc_sealer);
    }
    return ms_buf_take(&b);
}

/* Forged fields: those carrying our authserv-id (RFC 8601 5), by their
 * index among the Authentication-Results fields, the last first so the
 * MTA's indices stay right as it deletes. */
static ms_status forged_fields(const ms_milter_message *m, ms_milter_verdict *v)
{
    size_t total = count_fields(m, "Authentication-Results", NULL);
    if (total == 0)
        return MS_OK;
    v->remove_auth_results = calloc(total, sizeof *v->remove_auth_results);
    if (v->remove_auth_results == NULL)
        return MS_ERR_NOMEM;
    unsigned index = (unsigned)total;
    for (size_t i = m->field_count; i-- > 0;) {
        if (ms_ascii_strcasecmp(m->fields[i].name, "Authentication-Results") != 0)
            continue;
        char *id = NULL;
        const char *value = m->fields[i].value;
        ms_status st = ms_milter_auth_results_id(value, strlen(value), &id);
        if (st == MS_ERR_NOMEM)
            return st;
        if (st == MS_OK && ms_ascii_strcasecmp(id, m->config->authserv_id) == 0)
            v->remove_auth_results[v->remove_count++] = index;
        free(id);
        index--;
    }
    return MS_OK;
}

static ms_status log_incoming(ms_buf *log, const evaluation *ev, ms_milter_action action)
{
    ms_buf_printf(log, "in spf=%s", ev->spf_result);
    if (ev->dkim_note)
        ms_buf_puts(log, " dkim=permerror");
    for (size_t i = 0; ev->dkim && i < ev->dkim->count; i++) {
        const ms_dkim_verdict *v = &ev->dkim->items[i];
        ms_buf_printf(log, " dkim=%s", ms_dkim_result_str(v->result));
        ms_buf_puts(log, "(d=");
        milter_ar_value(log, v->sig->d ? v->sig->d : "");
        ms_buf_puts(log, ")");
    }
    ms_buf_printf(log, " dmarc=%s from=", ev->dmarc);
    milter_ar_value(log, ev->from ? ev->from : "-");
    if (ev->policy_tag && strcmp(ev->policy_tag, "np") == 0)
        ms_buf_puts(log, " policy=np");
    if (ev->override)
        ms_buf_printf(log, " override=%s", ev->override);
    ms_buf_printf(log, " action=%s", ms_milter_action_str(action));
    return log->failed ? MS_ERR_NOMEM : MS_OK;
}

static const char *domain_of(const char *address)
{
    const char *at = address ? strrchr(address, '@') : NULL;
    return at && at[1] ? at + 1 : NULL;
}

static ms_status dup_into(char **field, const char *value)
{
    return copy_opt(value, field);
}

/* The evaluation as ms_store_put_evaluation takes it. */
static ms_status fill_evaluation(ms_milter_message *m, const evaluation *ev, verdict_impl *vi)
{
    ms_milter_verdict *v = &vi->pub;
    if (ev->from == NULL)
        return MS_OK; /* nothing to report to anyone */
    ms_store_evaluation *e = &v->evaluation;
    ms_status st = MS_OK;
    if (st == MS_OK) st = dup_into(&vi->from_domain, ev->from);
    if (st == MS_OK) st = dup_into(&vi->envelope_from, domain_of(m->mail_from));
    if (st == MS_OK) st = dup_into(&vi->envelope_to, domain_of(m->rcpt));
    if (st == MS_OK) st = dup_into(&vi->source_ip, m->client_ip);
    if (st == MS_OK) st = dup_into(&vi->spf_domain, ev->spf_domain ? ev->spf_domain : m->helo);
    if (st == MS_OK && ev->record && ev->record->usable) {
        st = dup_into(&vi->policy_domain, ev->discovery->policy_domain);
        if (st == MS_OK)
            st = dup_into(&vi->policy_record, ev->discovery->policy_record_text);
    }
    if (st == MS_OK) st = dup_into(&vi->override_comment, ev->override_comment);
    if (st != MS_OK)
        return st;
    size_t n = ev->dkim ? ev->dkim->count : 0;
    if (n > 0) {
        v->eval_dkim = calloc(n, sizeof *v->eval_dkim);
        if (v->eval_dkim == NULL)
            return MS_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            v->eval_dkim[i].domain = v->dkim[i].domain;
            v->eval_dkim[i].selector = v->dkim[i].selector;
            v->eval_dkim[i].result = v->dkim[i].result;
        }
    }
    e->time = (int64_t)ms_ctx_now(m->ctx);
    e->source_ip = vi->source_ip;
    e->header_from = vi->from_domain;
    e->envelope_from = vi->envelope_from;
    e->envelope_to = vi->envelope_to;
    e->policy_domain = vi->policy_domain;
    e->policy_record = vi->policy_record;
    e->disposition = ms_dmarc_policy_str(ev->disposition);
    e->dkim_aligned = ev->dkim_aligned ? "pass" : "fail";
    e->spf_aligned = ev->spf_aligned ? "pass" : "fail";
    e->spf_domain = vi->spf_domain;
    e->spf_scope = ev->spf_scope;
    e->spf_result = ev->spf_result;
    e->dkim = v->eval_dkim;
    e->dkim_count = n;
    if (ev->override) {
        v->override.type = ev->override;
        v->override.comment = vi->override_comment;
        e->overrides = &v->override;
        e->override_count = 1;
    }
    v->has_evaluation = 1;
    return MS_OK;
}

static ms_status keep_dkim(const evaluation *ev, ms_milter_verdict *v)
{
    size_t n = ev->dkim ? ev->dkim->count : 0;
    if (n == 0)
        return MS_OK;
    v->dkim = calloc(n, sizeof *v->dkim);
    if (v->dkim == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const ms_dkim_verdict *d = &ev->dkim->items[i];
        v->dkim[i].domain = ms_strdup(d->sig->d ? d->sig->d : "");
        v->dkim[i].selector = ms_strdup(d->sig->s ? d->sig->s : "");
        v->dkim[i].result = ms_dkim_result_str(d->result);
        v->dkim[i].reason = d->reason;
        v->dkim_count++;
        if (v->dkim[i].domain == NULL || v->dkim[i].selector == NULL)
            return MS_ERR_NOMEM;
    }
    return MS_OK;
}

static void evaluation_free(evaluation *ev)
{
    free(ev->spf_domain);
    ms_dkim_verify_result_free(ev->dkim);
    free(ev->from);
    ms_dmarc_discovery_free(ev->discovery);
    ms_dmarc_record_free(ev->record);
}

/* The header section as it was received: "Name:value" lines. */
static ms_status header_section(const ms_milter_message *m, ms_buf *out)
{
    for (size_t i = 0; i < m->field_count; i++) {
        ms_buf_puts(out, m->fields[i].name);
        ms_buf_puts(out, ":");
        ms_buf_puts(out, m->fields[i].value);
        ms_buf_puts(out, "\n");
    }
    return out->failed ? MS_ERR_NOMEM : MS_OK;
}

static int dkim_failed(const evaluation *ev)
{
    for (size_t i = 0; ev->dkim && i < ev->dkim->count; i++)
        if (ev->dkim->items[i].result == MS_DKIM_FAIL ||
            ev->dkim->items[i].result == MS_DKIM_PERMERROR)
            return 1;
    return 0;
}

/* A DMARC failure: the failure reports the applied record asks for. */
static ms_status failure_reports(const ms_milter_message *m, const evaluation *ev,
                                 ms_milter_verdict *v)
{
    if (!m->config->failure_reports || strcmp(ev->dmarc, "fail") != 0 || ev->record == NULL)
        return MS_OK;
    ms_buf headers = MS_BUF_INIT;
    ms_status st = header_section(m, &headers);
    milter_failure_input in = {
        .config = m->config,
        .discovery = ev->discovery,
        .record = ev->record,
        .from_domain = ev->from,
        .client_ip = m->client_ip,
        .mail_from = m->mail_from,
        .rcpt = m->rcpt,
        .auth_results = v->auth_results,
        .headers = headers.data,
        .headers_len = headers.len,
        .dkim_failed = dkim_failed(ev),
        .spf_failed = strcmp(ev->spf_result, "fail") == 0 ||
                      strcmp(ev->spf_result, "softfail") == 0 ||
                      strcmp(ev->spf_result, "permerror") == 0,
        .action = v->action,
        .now = (int64_t)ms_ctx_now(m->ctx),
    };
    if (st == MS_OK)
        st = milter_failure_build(&in, v);
    ms_buf_free(&headers);
    return st;
}

/* The text after "550 5.7.1 ": why, in words the sender's postmaster reads. */
static char *reject_reply(const evaluation *ev)
{
    if (ev->dmarc_note)
        return ms_asprintf("%s", ev->dmarc_note);
    if (ev->policy_tag && strcmp(ev->policy_tag, "np") == 0)
        return ms_asprintf("DMARC policy of %s (np=reject, for names that do not exist) rejects "
                           "this message: %s does not exist in the DNS",
                           ev->discovery->policy_domain, ev->from);
    return ms_asprintf("DMARC policy of %s rejects this message: "
                       "not authenticated as its From domain",
                       ev->from ? ev->from : "the sender");
}

static ms_status finish_incoming(ms_milter_message *m, verdict_impl *vi)
{
    ms_milter_verdict *v = &vi->pub;
    evaluation ev = {0};
    /* DKIM first: the verifier is finished whatever SPF's DNS does */
    ms_status st = check_dkim(m, &ev);
    if (st == MS_OK)
        st = check_spf(m, &ev);
    if (st == MS_OK)
        st = check_dmarc(m, &ev);
    if (st == MS_OK) {
        v->action = action_for(m->config, ev.disposition);
        v->auth_results = auth_results(m, &ev);
        if (v->auth_results == NULL)
            st = MS_ERR_NOMEM;
    }
    if (st == MS_OK && v->action == MS_MILTER_REJECT) {
        v->reply = reject_reply(&ev);
        if (v->reply == NULL)
            st = MS_ERR_NOMEM;
    }
    if (st == MS_OK)
        st = forged_fields(m, v);
    if (st == MS_OK)
        st = keep_dkim(&ev, v);
    if (st == MS_OK)
        st = fill_evaluation(m, &ev, vi);
    if (st == MS_OK)
        st = failure_reports(m, &ev, v);
    if (st == MS_OK) {
        ms_buf log = MS_BUF_INIT;
        st = log_incoming(&log, &ev, v->action);
        v->log = ms_buf_take(&log);
    }
    evaluation_free(&ev);
    return st;
}

/* The signer's values, their "\r\n" line breaks as "\n" (the MTA writes
 * the line ends). */
static ms_status finish_outgoing(ms_milter_message *m, ms_milter_verdict *v)
{
    v->outgoing = 1;
    v->action = MS_MILTER_ACCEPT;
    ms_status st = start(m);
    if (st != MS_OK)
        return st;
    if (m->signer == NULL) {
        v->log = ms_asprintf("out not signed (%s)", m->headers_over ? "header section too large"
                                                    : m->sign_domain ? "no key for the From domain"
                                                                     : "no readable From address");
        return v->log ? MS_OK : MS_ERR_NOMEM;
    }
    char **values = NULL;
    size_t count = 0;
    st = ms_dkim_signer_finish(m->signer, &values, &count);
    if (st != MS_OK)
        return st;
    v->signatures = values;
    v->signature_count = count;
    for (size_t i = 0; i < count; i++) {
        char *w = values[i];
        for (char *r = values[i]; *r; r++)
            if (!(r[0] == '\r' && r[1] == '\n'))
                *w++ = *r;
        *w = '\0';
    }
    v->log = ms_asprintf("out signed d=%s (%zu signature%s)", m->sign_domain, count,
                         count == 1 ? "" : "s");
    return v->log ? MS_OK : MS_ERR_NOMEM;
}

ms_status ms_milter_message_finish(ms_milter_message *m, ms_milter_verdict **out)
{
    *out = NULL;
    verdict_impl *vi = calloc(1, sizeof *vi);
    if (vi == NULL)
        return MS_ERR_NOMEM;
    ms_status st = m->outgoing ? finish_outgoing(m, &vi->pub) : finish_incoming(m, vi);
    if (st != MS_OK) {
        ms_milter_verdict_free(&vi->pub);
        return st;
    }
    *out = &vi->pub;
    return MS_OK;
}

void ms_milter_verdict_free(ms_milter_verdict *v)
{
    if (v == NULL)
        return;
    verdict_impl *vi = (verdict_impl *)v;
    free(v->reply);
    free(v->auth_results);
    free(v->remove_auth_results);
    for (size_t i = 0; i < v->signature_count; i++)
        free(v->signatures[i]);
    free(v->signatures);
    free(v->log);
    for (size_t i = 0; i < v->dkim_count; i++) {
        free(v->dkim[i].domain);
        free(v->dkim[i].selector);
    }
    free(v->dkim);
    free(v->eval_dkim);
    milter_failure_reports_free(v);
    free(vi->from_domain);
    free(vi->envelope_from);
    free(vi->envelope_to);
    free(vi->policy_domain);
    free(vi->policy_record);
    free(vi->spf_domain);
    free(vi->source_ip);
    free(vi->override_comment);
    free(vi);
}
