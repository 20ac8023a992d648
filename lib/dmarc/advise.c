/* dmarc advise: where a domain's roll-out stands on the plan (plan.c),
 * whether its reports say the step is safe to leave, what blocks it, and
 * the record to publish next.
 *
 * A pure judgement over facts the caller gathered (the published record,
 * the reports' published policies, sources, reporters, days): no DNS and
 * no store here, so the decisions are tested on plain structs and the
 * command only collects. The sources come classified by lib/sources
 * (ms_sources_classify); the defaults and their reasons are in
 * docs/dmarc-rollout.md. */
#include "internal.h"
#include "core/catalogue.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY 86400
/* Rates are compared in per ten thousand, so 98.5% stays exact. */
#define RATE_SCALE 10000

/* Reporters whose aggregate reports cover most mailboxes: one of them must
 * be among the reporters before a step is judged. Matched as a
 * case-insensitive part of the reporting organisation's name, as they
 * write it ("google.com", "Yahoo", "Enterprise Outlook"). */
static const char *const LARGE_PROVIDERS[] = {
    "google", "yahoo", "outlook", "microsoft", "aol", "icloud", "apple",
    "comcast", "gmx", "web.de", "mail.ru", "yandex", "orange", "t-online",
};

/* How a record or its history departs from the plan. A table of its own,
 * as the discovery's: these come from the advice, not from the record's
 * text, so tests/data/dmarc/records.txt cannot produce them. */
enum advise_diag_id { A_OFF_PLAN, A_SKIPPED_QUARANTINE, A_COUNT };

const ms_diag_def ms_dmarc_advise_diag_defs[A_COUNT + 1] = {
    [A_OFF_PLAN] = MS_DIAG(dmarc_advise_off_plan),
    [A_SKIPPED_QUARANTINE] = MS_DIAG(dmarc_advise_skipped_quarantine),
    [A_COUNT] = MS_DIAG_END,
};

#define ADVISE_DIAG(id) (&ms_dmarc_advise_diag_defs[(id)])

const char *ms_dmarc_advise_action_str(ms_dmarc_advise_action a)
{
    static const char *const NAMES[] = {"next", "done", "hold", "step back", "start"};
    return a <= MS_DMARC_ADVISE_START ? NAMES[a] : "";
}

void ms_dmarc_advise_defaults(ms_dmarc_advise_options *opt)
{
    *opt = (ms_dmarc_advise_options){.threshold = 98.0, .min_reporters = 2, .min_days = 0,
                                     .min_messages = 500};
}

/* ---- small helpers ---- */

static char *day_text(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0)
        return ms_strdup("?");
    return ms_strdup(buf);
}

static uint64_t rate(uint64_t part, uint64_t whole)
{
    return whole ? (uint64_t)((double)part * RATE_SCALE / (double)whole) : 0;
}

/* The threshold in the same unit as rate(). */
static uint64_t threshold_rate(const ms_dmarc_advise_options *o)
{
    return (uint64_t)(o->threshold * 100 + 0.5);
}

/* needle (lower case) occurs in text, ignoring case. */
static int contains_nocase(const char *text, const char *needle)
{
    size_t n = strlen(needle);
    for (; *text != '\0'; text++)
        if (ms_ascii_strncasecmp(text, needle, n) == 0)
            return 1;
    return 0;
}

static int is_large_provider(const char *org)
{
    for (size_t i = 0; i < sizeof LARGE_PROVIDERS / sizeof LARGE_PROVIDERS[0]; i++)
        if (org != NULL && contains_nocase(org, LARGE_PROVIDERS[i]))
            return 1;
    return 0;
}

/* name is domain itself or one of its subdomains. */
static int within(const char *name, const char *domain)
{
    size_t n = strlen(name), d = strlen(domain);
    if (n == d)
        return ms_ascii_strcasecmp(name, domain) == 0;
    return n > d && name[n - d - 1] == '.' && ms_ascii_strcasecmp(name + n - d, domain) == 0;
}

static int is_subdomain(const char *name, const char *domain)
{
    return within(name, domain) && strlen(name) > strlen(domain);
}

static int is_known(const ms_dmarc_advise_facts *f, const char *ip)
{
    size_t lo = 0, hi = f->known_ip_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->known_ips[mid], ip);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The domain's own mail: aligned sources, and services that authenticate
 * (for another domain) or send partly aligned. Spoofing and forwarding
 * are not the domain's to fix. */
static int is_legitimate(ms_sources_class cls)
{
    return cls == MS_SOURCES_ALIGNED || cls == MS_SOURCES_UNALIGNED || cls == MS_SOURCES_MIXED;
}

static ms_sources_class classify(const ms_store_source *s)
{
    ms_sources_verdict v;
    (void)ms_sources_classify(s, &v); /* the class is set even when its evidence is not */
    ms_sources_verdict_clear(&v);
    return v.cls;
}

/* Messages that did not pass DMARC. */
static uint64_t failing_of(const ms_store_source *s)
{
    return ms_store_sum(s->unaligned, s->failing);
}

static int add_reason(ms_dmarc_advice *a, char *text)
{
    if (text == NULL)
        return 0;
    char **grown = realloc(a->reasons, (a->reason_count + 1) * sizeof *grown);
    if (grown == NULL) {
        free(text);
        return 0;
    }
    a->reasons = grown;
    a->reasons[a->reason_count++] = text;
    return 1;
}

/* ---- where the domain is ---- */

static int policy_matches(const ms_dmarc_policy_seen *h, const ms_dmarc_record *r)
{
    int pct = r->pct == 100 ? -1 : r->pct, hpct = h->pct == 100 ? -1 : h->pct;
    return h->p == r->p && hpct == pct && h->testing == r->testing;
}

/* The record's findings that mean it is not a plan step as published. */
static ms_status copy_departures(const ms_diag_list *findings, ms_diag_list *out)
{
    static const char *const CODES[] = {
        "dmarc.sp-weaker",     "dmarc.np-weaker",        "dmarc.pct-without-t",
        "dmarc.t-without-pct", "dmarc.pct-t-conflict",   "dmarc.report-destination-unverified",
    };
    for (size_t i = 0; findings != NULL && i < findings->count; i++) {
        const ms_diag *d = &findings->items[i];
        for (size_t k = 0; k < sizeof CODES / sizeof CODES[0]; k++)
            if (strcmp(d->def->code, CODES[k]) == 0) {
                ms_status st = ms_diag_add(out, d->def, d->location, d->offset, "%s", d->message);
                if (st != MS_OK)
                    return st;
            }
    }
    return MS_OK;
}

static ms_status locate_step(const ms_dmarc_advise_facts *f, ms_dmarc_advice *a)
{
    const ms_dmarc_record *r = f->record;
    ms_dmarc_policy p = r->as_p_none || r->p == MS_DMARC_POLICY_UNSET ? MS_DMARC_POLICY_NONE : r->p;
    int pct = p == MS_DMARC_POLICY_NONE ? -1 : r->pct;
    a->step = dmarc_plan_step_index(p, pct);
    ms_status st = copy_departures(f->record_findings, &a->departures);
    if (st == MS_OK && a->step < 0) {
        a->step = dmarc_plan_step_below(p, pct);
        st = ms_diag_add(&a->departures, ADVISE_DIAG(A_OFF_PLAN), NULL, -1,
                         "p=%s with pct=%d is not a step of the plan: treated as the step below",
                         ms_dmarc_policy_str(p), pct);
    }
    int quarantined = 0;
    for (size_t i = 0; i < f->history_count; i++)
        quarantined |= f->history[i].p == MS_DMARC_POLICY_QUARANTINE;
    if (st == MS_OK && p == MS_DMARC_POLICY_REJECT && f->history_count > 0 && !quarantined)
        st = ms_diag_add(&a->departures, ADVISE_DIAG(A_SKIPPED_QUARANTINE), NULL, -1,
                         "p=reject is published, but none of the %zu policies the reports saw "
                         "was p=quarantine",
                         f->history_count);
    return st;
}

/* Reports of a lagging receiver may overlap a change by a day: the last
 * report of the old policy marks the start, not the first of the new. */
int64_t ms_dmarc_step_since(const ms_dmarc_record *record, const ms_dmarc_policy_seen *history,
                            size_t count)
{
    int64_t first = 0, last = 0, others_end = 0;
    for (size_t i = 0; record != NULL && i < count; i++) {
        const ms_dmarc_policy_seen *h = &history[i];
        if (policy_matches(h, record)) {
            if (first == 0 || h->first < first)
                first = h->first;
            if (h->last > last)
                last = h->last;
        } else if (h->last > others_end) {
            others_end = h->last;
        }
    }
    if (first == 0)
        return 0;
    if (others_end > first)
        first = others_end < last ? others_end : last;
    return first;
}

/* ---- the criteria ---- */

static void set_criterion(ms_dmarc_advice *a, const char *name, int met, uint64_t value,
                          uint64_t target, char *figures)
{
    ms_dmarc_criterion *c = &a->criteria[a->criterion_count++];
    *c = (ms_dmarc_criterion){name, met, figures, value, target};
}

static void judge_reporters(const ms_dmarc_advise_facts *f, const ms_dmarc_advise_options *o,
                            ms_dmarc_advice *a)
{
    ms_buf b = MS_BUF_INIT, large = MS_BUF_INIT;
    for (size_t i = 0; i < f->reporter_count; i++) {
        ms_buf_printf(&b, "%s%s", i ? ", " : "", f->reporters[i].name);
        if (is_large_provider(f->reporters[i].name))
            ms_buf_printf(&large, "%s%s", large.len ? ", " : "", f->reporters[i].name);
    }
    int has_large = large.len > 0;
    char *large_text = ms_buf_take(&large);
    char *names = ms_buf_take(&b);
    char *fig = ms_asprintf("%zu reporters (%s), at least %u needed; large mailbox providers: %s",
                            f->reporter_count, names ? names : "", o->min_reporters,
                            has_large && large_text ? large_text : "none");
    free(names);
    free(large_text);
    set_criterion(a, "reporters", f->reporter_count >= o->min_reporters && has_large,
                  f->reporter_count, o->min_reporters, fig);
}

static void judge_days(const ms_dmarc_advise_facts *f, const ms_dmarc_advise_options *o,
                       ms_dmarc_advice *a)
{
    unsigned need = o->min_days ? o->min_days : a->step == 0 ? 14 : 7;
    uint64_t days = a->since > 0 && f->now > a->since ? (uint64_t)(f->now - a->since) / DAY : 0;
    char *since = a->since ? day_text(a->since) : NULL;
    char *fig = a->since ? ms_asprintf("%llu days at this step (since %s), at least %u needed",
                                       (unsigned long long)days, since ? since : "?", need)
                         : ms_asprintf("no stored report has seen this record yet; at least %u "
                                       "days needed", need);
    free(since);
    set_criterion(a, "days", days >= need, days, need, fig);
}

/* ---- the sources, one at a time ---- */

void ms_dmarc_tally_init(ms_dmarc_tally *t, const char *domain, const ms_dmarc_advise_options *o)
{
    *t = (ms_dmarc_tally){.domain = domain, .allowed = RATE_SCALE - threshold_rate(o)};
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void source_clear(ms_store_source *s)
{
    free(s->source_ip);
    free(s->rdns);
    free(s->group);
    names_free(s->spf_domains, s->spf_domain_count);
    names_free(s->dkim_domains, s->dkim_domain_count);
    *s = (ms_store_source){0};
}

/* The first MS_DMARC_NAMES_KEPT of names: what a fix names. */
static int names_copy(char *const *names, size_t n, char ***out, size_t *count)
{
    *count = n < MS_DMARC_NAMES_KEPT ? n : MS_DMARC_NAMES_KEPT;
    *out = *count ? calloc(*count, sizeof **out) : NULL;
    if (*count && *out == NULL) {
        *count = 0;
        return 0;
    }
    for (size_t i = 0; i < *count; i++)
        if (((*out)[i] = ms_strdup(names[i])) == NULL)
            return 0;
    return 1;
}

/* What a blocker needs of a source: its address, names and counts (its
 * header From domains are not kept). */
static int source_copy(ms_store_source *d, const ms_store_source *s)
{
    *d = (ms_store_source){.messages = s->messages, .aligned = s->aligned,
                           .unaligned = s->unaligned, .failing = s->failing,
                           .dkim_pass_spf_fail = s->dkim_pass_spf_fail, .forwarded = s->forwarded};
    d->source_ip = ms_strdup(s->source_ip ? s->source_ip : "");
    d->rdns = s->rdns ? ms_strdup(s->rdns) : NULL;
    d->group = s->group ? ms_strdup(s->group) : NULL;
    int ok = d->source_ip && (d->rdns || !s->rdns) && (d->group || !s->group) &&
             names_copy(s->spf_domains, s->spf_domain_count, &d->spf_domains, &d->spf_domain_count) &&
             names_copy(s->dkim_domains, s->dkim_domain_count, &d->dkim_domains, &d->dkim_domain_count);
    if (!ok)
        source_clear(d);
    return ok;
}

void ms_dmarc_tally_free(ms_dmarc_tally *t)
{
    for (size_t i = 0; i < t->checked_count; i++)
        free(t->checked[i]);
    for (size_t i = 0; i < t->blocker_count; i++)
        source_clear(&t->blockers[i]);
    for (size_t i = 0; i < t->subdomain_count; i++)
        free(t->subdomains[i]);
    *t = (ms_dmarc_tally){0};
}

/* Blockers by failing messages, most first, then address. */
static int blocker_before(uint64_t fail_a, const char *ip_a, uint64_t fail_b, const char *ip_b)
{
    return fail_a != fail_b ? fail_a > fail_b : strcmp(ip_a, ip_b) < 0;
}

/* The slot a new entry takes in a full top-N list: the last in order,
 * if the new entry comes before it; -1 otherwise. */
static long worst_slot(const uint64_t *fail, char *const *ips, size_t n, uint64_t f, const char *ip)
{
    size_t worst = 0;
    for (size_t i = 1; i < n; i++)
        if (blocker_before(fail[worst], ips[worst], fail[i], ips[i]))
            worst = i;
    return blocker_before(f, ip, fail[worst], ips[worst]) ? (long)worst : -1;
}

static ms_status keep_blocker(ms_dmarc_tally *t, const ms_store_source *s, uint64_t fail)
{
    t->blocker_total++;
    long slot = (long)t->blocker_count;
    if (t->blocker_count == MS_DMARC_BLOCKERS_MAX) {
        uint64_t fails[MS_DMARC_BLOCKERS_MAX];
        char *ips[MS_DMARC_BLOCKERS_MAX];
        for (size_t i = 0; i < MS_DMARC_BLOCKERS_MAX; i++) {
            fails[i] = failing_of(&t->blockers[i]);
            ips[i] = t->blockers[i].source_ip;
        }
        slot = worst_slot(fails, ips, MS_DMARC_BLOCKERS_MAX, fail, s->source_ip ? s->source_ip : "");
        if (slot < 0)
            return MS_OK;
    }
    ms_store_source copy;
    if (!source_copy(&copy, s)) {
        t->blocker_total--;
        return MS_ERR_NOMEM;
    }
    if ((size_t)slot < t->blocker_count)
        source_clear(&t->blockers[slot]);
    else
        t->blocker_count++;
    t->blockers[slot] = copy;
    return MS_OK;
}

/* An unaligned source to look up in the days before the window. */
static ms_status keep_checked(ms_dmarc_tally *t, const ms_store_source *s)
{
    const char *ip = s->source_ip ? s->source_ip : "";
    long slot = (long)t->checked_count;
    if (t->checked_count == MS_DMARC_CHECKED_MAX &&
        (slot = worst_slot(t->checked_unaligned, t->checked, MS_DMARC_CHECKED_MAX, s->unaligned, ip)) < 0)
        return MS_OK;
    char *copy = ms_strdup(ip);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    if ((size_t)slot < t->checked_count)
        free(t->checked[slot]);
    else
        t->checked_count++;
    t->checked[slot] = copy;
    t->checked_unaligned[slot] = s->unaligned;
    return MS_OK;
}

/* The subdomains seen, kept sorted and distinct up to
 * MS_DMARC_SUBDOMAINS_MAX; past that, subdomain_more is set. */
static ms_status note_subdomain(ms_dmarc_tally *t, const char *name)
{
    size_t lo = 0, hi = t->subdomain_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ms_ascii_strcasecmp(t->subdomains[mid], name);
        if (c == 0)
            return MS_OK;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (t->subdomain_count == MS_DMARC_SUBDOMAINS_MAX) {
        t->subdomain_more = 1;
        return MS_OK;
    }
    char *copy = ms_strdup(name);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    memmove(t->subdomains + lo + 1, t->subdomains + lo, (t->subdomain_count - lo) * sizeof *t->subdomains);
    t->subdomains[lo] = copy;
    t->subdomain_count++;
    return MS_OK;
}

/* The subdomains in the source's header From; 1 when it sends for one. */
static int tally_subdomains(ms_dmarc_tally *t, const ms_store_source *s, ms_status *st)
{
    int sends_sub = 0;
    for (size_t k = 0; k < s->header_from_count && *st == MS_OK; k++)
        if (is_subdomain(s->header_froms[k], t->domain)) {
            sends_sub = 1;
            *st = note_subdomain(t, s->header_froms[k]);
        }
    return sends_sub;
}

ms_status ms_dmarc_tally_add(ms_dmarc_tally *t, const ms_store_source *s)
{
    ms_sources_class cls = classify(s);
    uint64_t fail = failing_of(s);
    ms_status st = MS_OK;
    if (is_legitimate(cls) && fail > 0 && (cls != MS_SOURCES_ALIGNED || rate(fail, s->messages) > t->allowed))
        st = keep_blocker(t, s, fail);
    if (st == MS_OK && cls != MS_SOURCES_ALIGNED && is_legitimate(cls) && s->unaligned > 0)
        st = keep_checked(t, s);
    int sends_sub = st == MS_OK ? tally_subdomains(t, s, &st) : 0;
    if (st != MS_OK)
        return st;
    if (sends_sub && cls != MS_SOURCES_ALIGNED && is_legitimate(cls))
        t->subdomain_failing_sources++;
    t->messages = ms_store_sum(t->messages, s->messages);
    t->failing = ms_store_sum(t->failing, fail);
    if (is_legitimate(cls)) {
        t->legit = ms_store_sum(t->legit, s->messages);
        t->legit_pass = ms_store_sum(t->legit_pass, s->aligned);
    }
    if (cls == MS_SOURCES_SPOOFING) {
        t->spoofing = ms_store_sum(t->spoofing, fail);
        t->spoofers++;
    } else if (cls == MS_SOURCES_FORWARDING) {
        t->forwarding = ms_store_sum(t->forwarding, fail);
        t->forwarders++;
    } else if (cls != MS_SOURCES_ALIGNED) {
        t->own_failing = ms_store_sum(t->own_failing, fail);
        t->own_failers++;
        if (s->unaligned > 0)
            t->unaligned_sources++;
    }
    return MS_OK;
}

/* ---- the criteria over the tally ---- */

/* The window's sums, all zero without sources. */
static const ms_dmarc_tally *window_of(const ms_dmarc_advise_facts *f)
{
    static const ms_dmarc_tally NONE = {0};
    return f->sources ? f->sources : &NONE;
}

/* The unaligned sources not seen before the window: all of them but the
 * checked ones that were. */
static uint64_t new_unaligned(const ms_dmarc_advise_facts *f)
{
    const ms_dmarc_tally *t = window_of(f);
    uint64_t known = 0;
    for (size_t i = 0; i < t->checked_count; i++)
        known += (uint64_t)is_known(f, t->checked[i]);
    return t->unaligned_sources > known ? t->unaligned_sources - known : 0;
}

static void judge_messages(const ms_dmarc_advise_options *o, const ms_dmarc_tally *t,
                           ms_dmarc_advice *a)
{
    char *fig = ms_asprintf("%llu messages in the window, at least %llu needed",
                            (unsigned long long)t->messages, (unsigned long long)o->min_messages);
    set_criterion(a, "messages", t->messages >= o->min_messages, t->messages, o->min_messages, fig);
}

static void judge_pass_rate(const ms_dmarc_advise_options *o, const ms_dmarc_tally *t,
                            ms_dmarc_advice *a)
{
    uint64_t r = rate(t->legit_pass, t->legit), need = threshold_rate(o);
    char *fig = t->legit ? ms_asprintf("%.2f%% of %llu messages from legitimate sources passed "
                                       "DMARC (%llu), at least %.2f%% needed",
                                       r / 100.0, (unsigned long long)t->legit,
                                       (unsigned long long)t->legit_pass, o->threshold)
                         : ms_strdup("no mail from legitimate sources in the window");
    set_criterion(a, "pass-rate", t->legit > 0 && r >= need, r, need, fig);
}

static void judge_new_sources(uint64_t new_unaligned, ms_dmarc_advice *a)
{
    char *fig = ms_asprintf("%llu new sources authenticated for another domain and not aligned",
                            (unsigned long long)new_unaligned);
    set_criterion(a, "new-sources", new_unaligned == 0, new_unaligned, 0, fig);
}

static void judge_failures(const ms_dmarc_tally *t, ms_dmarc_advice *a)
{
    char *fig = ms_asprintf("%llu messages failed DMARC: %llu spoofing (%llu sources), %llu "
                            "forwarding (%llu sources), %llu from the domain's own sources (%llu)",
                            (unsigned long long)t->failing, (unsigned long long)t->spoofing,
                            (unsigned long long)t->spoofers, (unsigned long long)t->forwarding,
                            (unsigned long long)t->forwarders, (unsigned long long)t->own_failing,
                            (unsigned long long)t->own_failers);
    set_criterion(a, "failures", t->own_failers == 0, t->own_failing, 0, fig);
}

/* Subdomains in the reports' header From (the first few named), and the
 * legitimate sources that send for them without passing DMARC. */
static void judge_subdomains(const ms_dmarc_tally *t, ms_dmarc_advice *a)
{
    ms_buf names = MS_BUF_INIT;
    for (size_t i = 0; i < t->subdomain_count && i < MS_DMARC_SUBDOMAINS_SHOWN; i++)
        ms_buf_printf(&names, "%s%s", i ? ", " : "", t->subdomains[i]);
    if (t->subdomain_count > MS_DMARC_SUBDOMAINS_SHOWN)
        ms_buf_puts(&names, ", ...");
    char *list = ms_buf_take(&names);
    char *fig = t->subdomain_count
                    ? ms_asprintf("%s%zu subdomains seen (%s); %llu legitimate sources sending for "
                                  "them fail DMARC",
                                  t->subdomain_more ? "more than " : "", t->subdomain_count,
                                  list ? list : "", (unsigned long long)t->subdomain_failing_sources)
                    : ms_strdup("no mail from subdomains in the window");
    free(list);
    set_criterion(a, "subdomains", t->subdomain_failing_sources == 0, t->subdomain_failing_sources,
                  0, fig);
}

/* ---- the blockers ---- */

/* What the operator should change so the source's mail aligns. */
static char *fix_for(const ms_dmarc_advise_facts *f, const ms_store_source *s)
{
    const char *d = f->domain;
    int strict_dkim = f->record && f->record->adkim == MS_DMARC_ALIGN_STRICT;
    int strict_spf = f->record && f->record->aspf == MS_DMARC_ALIGN_STRICT;
    ms_buf b = MS_BUF_INIT;
    for (size_t i = 0; i < s->dkim_domain_count; i++) {
        const char *x = s->dkim_domains[i];
        if (!within(x, d))
            ms_buf_printf(&b, "%sDKIM signs with d=%s: sign with d=%s (publish the service's "
                          "key under %s, the robust fix)", b.len ? "; " : "", x, d, d);
        else if (strict_dkim && ms_ascii_strcasecmp(x, d) != 0)
            ms_buf_printf(&b, "%sDKIM signs with d=%s, inside %s: adkim=r (relaxed alignment) "
                          "aligns it, or sign with d=%s", b.len ? "; " : "", x, d, d);
    }
    for (size_t i = 0; i < s->spf_domain_count; i++) {
        const char *x = s->spf_domains[i];
        if (!within(x, d))
            ms_buf_printf(&b, "%sSPF passes for %s: use a bounce (Return-Path) domain under %s "
                          "and add the service's SPF include to %s's SPF record",
                          b.len ? "; " : "", x, d, d);
        else if (strict_spf && ms_ascii_strcasecmp(x, d) != 0)
            ms_buf_printf(&b, "%sSPF passes for %s, inside %s: aspf=r (relaxed alignment) "
                          "aligns it", b.len ? "; " : "", x, d);
    }
    if (b.len == 0)
        ms_buf_printf(&b, "its mail passes neither SPF nor DKIM for %s: add its servers to %s's "
                      "SPF record and sign with d=%s", d, d, d);
    return ms_buf_take(&b);
}

static int cmp_blocker(const void *pa, const void *pb)
{
    const ms_dmarc_blocker *a = pa, *b = pb;
    if (a->failing != b->failing)
        return a->failing > b->failing ? -1 : 1;
    return strcmp(a->source_ip, b->source_ip);
}

/* The tally's blockers (legitimate sources with more failing mail than
 * the threshold allows), with their fixes. */
static ms_status find_blockers(const ms_dmarc_advise_facts *f, ms_dmarc_advice *a)
{
    const ms_dmarc_tally *t = window_of(f);
    a->blocker_total = t->blocker_total;
    a->blockers = calloc(t->blocker_count ? t->blocker_count : 1, sizeof *a->blockers);
    if (a->blockers == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < t->blocker_count; i++) {
        const ms_store_source *s = &t->blockers[i];
        ms_dmarc_blocker *bl = &a->blockers[a->blocker_count++];
        *bl = (ms_dmarc_blocker){s->source_ip, s->rdns && *s->rdns ? s->rdns : NULL, s->group,
                                 classify(s), s->messages, failing_of(s),
                                 !is_known(f, s->source_ip), fix_for(f, s)};
        if (bl->fix == NULL)
            return MS_ERR_NOMEM;
    }
    qsort(a->blockers, a->blocker_count, sizeof *a->blockers, cmp_blocker);
    return MS_OK;
}

/* ---- what to do ---- */

/* Step back: the step enforces, and since it began receivers quarantined
 * or rejected mail while the domain's own sources fell below the
 * threshold. */
static int should_step_back(const ms_dmarc_advise_facts *f, const ms_dmarc_advise_options *o,
                            const ms_dmarc_advice *a, ms_dmarc_advice *out)
{
    if (a->step <= 0 || a->since == 0)
        return 0;
    if (f->step_sources == NULL)
        return 0;
    uint64_t legit = f->step_sources->legit, pass = f->step_sources->legit_pass, enforced = 0;
    for (size_t i = 0; i < f->day_count; i++)
        enforced = ms_store_sum(enforced, ms_store_sum(f->days[i].quarantined, f->days[i].rejected));
    uint64_t r = rate(pass, legit);
    if (legit == 0 || enforced == 0 || r >= threshold_rate(o))
        return 0;
    char *since = day_text(a->since);
    add_reason(out, ms_asprintf("since %s, when this step began, %.2f%% of %llu messages from "
                                "legitimate sources passed DMARC and receivers quarantined or "
                                "rejected %llu messages: legitimate mail is being lost",
                                since ? since : "?", r / 100.0, (unsigned long long)legit,
                                (unsigned long long)enforced));
    free(since);
    return 1;
}

/* The base of the plan: the published record's tags other than p, pct
 * and t, which the plan sets. */
static ms_status make_plan(const ms_dmarc_advise_facts *f, ms_dmarc_plan *plan)
{
    const ms_dmarc_record *r = f->record;
    const char *rua[MS_DMARC_URIS_HONOURED + 1] = {NULL}, *ruf[MS_DMARC_URIS_HONOURED + 1] = {NULL};
    for (size_t i = 0; i < r->rua_count && i < MS_DMARC_URIS_HONOURED; i++)
        rua[i] = r->rua[i].uri;
    for (size_t i = 0; i < r->ruf_count && i < MS_DMARC_URIS_HONOURED; i++)
        ruf[i] = r->ruf[i].uri;
    ms_dmarc_spec spec = MS_DMARC_SPEC_INIT;
    spec.domain = f->domain;
    spec.sp = r->sp;
    spec.np = r->np;
    spec.adkim = r->adkim;
    spec.aspf = r->aspf;
    spec.psd = r->psd;
    spec.fo = r->fo;
    spec.rua = rua;
    spec.ruf = r->ruf_count ? ruf : NULL;
    ms_diag_list refusals = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_plan_make(&spec, plan, &refusals);
    ms_diag_list_free(&refusals);
    return st;
}

static ms_status propose(const ms_dmarc_advise_facts *f, int step, ms_dmarc_advice *a)
{
    ms_dmarc_plan plan = {0};
    ms_status st = make_plan(f, &plan);
    if (st != MS_OK || step < 0 || (size_t)step >= plan.count) {
        ms_dmarc_plan_free(&plan);
        return st;
    }
    a->next_step = step;
    a->next_name = ms_strdup(plan.steps[step].name);
    a->next_record = ms_strdup(plan.steps[step].record);
    ms_dmarc_plan_free(&plan);
    if (a->next_name == NULL || a->next_record == NULL)
        return MS_ERR_NOMEM;
    return ms_dmarc_zone_line(f->domain, a->next_record, 3600, &a->next_zone_line);
}

static ms_status decide(const ms_dmarc_advise_facts *f, const ms_dmarc_advise_options *o,
                        ms_dmarc_advice *a)
{
    if (should_step_back(f, o, a, a)) {
        a->action = MS_DMARC_ADVISE_STEP_BACK;
        return propose(f, a->step - 1, a);
    }
    for (size_t i = 0; i < a->departures.count; i++)
        add_reason(a, ms_strdup(a->departures.items[i].message));
    for (size_t i = 0; i < a->criterion_count; i++)
        if (!a->criteria[i].met)
            add_reason(a, ms_asprintf("%s: %s", a->criteria[i].name, a->criteria[i].figures));
    if (a->blocker_count > 0)
        add_reason(a, ms_asprintf("%llu legitimate sources fail DMARC beyond the threshold (see "
                                  "the blockers)", (unsigned long long)a->blocker_total));
    if (a->reason_count > 0) {
        a->action = MS_DMARC_ADVISE_HOLD;
        /* A record off the plan: the plan's record for the step it is at. */
        int off_plan = ms_diag_has(&a->departures, "dmarc.advise-off-plan") ||
                       ms_diag_has(&a->departures, "dmarc.pct-without-t") ||
                       ms_diag_has(&a->departures, "dmarc.t-without-pct") ||
                       ms_diag_has(&a->departures, "dmarc.pct-t-conflict");
        return off_plan ? propose(f, a->step, a) : MS_OK;
    }
    if (a->step == MS_DMARC_PLAN_STEPS - 1) {
        a->action = MS_DMARC_ADVISE_DONE;
        return MS_OK;
    }
    a->action = MS_DMARC_ADVISE_NEXT;
    return propose(f, a->step + 1, a);
}

ms_status ms_dmarc_advise(const ms_dmarc_advise_facts *f, const ms_dmarc_advise_options *o,
                          ms_dmarc_advice *a)
{
    if (f == NULL || o == NULL || a == NULL || f->domain == NULL)
        return MS_ERR_INVALID;
    *a = (ms_dmarc_advice){.step = -1, .next_step = -1, .departures = MS_DIAG_LIST_INIT};
    if (f->record == NULL || !f->record->usable) {
        a->action = MS_DMARC_ADVISE_START;
        a->step_name = ms_strdup("no usable DMARC record");
        add_reason(a, ms_asprintf("_dmarc.%s has no usable DMARC record: publish the plan's "
                                  "first step (mailsec dmarc plan --domain %s --rua ADDRESS)",
                                  f->domain, f->domain));
        return a->step_name ? MS_OK : MS_ERR_NOMEM;
    }
    ms_status st = locate_step(f, a);
    if (st != MS_OK)
        return st;
    ms_dmarc_plan plan = {0};
    st = make_plan(f, &plan);
    if (st == MS_OK && (size_t)a->step < plan.count)
        a->step_name = ms_strdup(plan.steps[a->step].name);
    ms_dmarc_plan_free(&plan);
    if (st != MS_OK)
        return st;
    a->since = ms_dmarc_step_since(f->record, f->history, f->history_count);

    const ms_dmarc_tally *t = window_of(f);
    judge_reporters(f, o, a);
    judge_days(f, o, a);
    judge_messages(o, t, a);
    judge_pass_rate(o, t, a);
    judge_new_sources(new_unaligned(f), a);
    judge_failures(t, a);
    judge_subdomains(t, a);
    for (size_t i = 0; i < a->criterion_count; i++)
        if (a->criteria[i].figures == NULL)
            return MS_ERR_NOMEM;
    st = find_blockers(f, a);
    return st == MS_OK ? decide(f, o, a) : st;
}

void ms_dmarc_advice_free(ms_dmarc_advice *a)
{
    if (a == NULL)
        return;
    free(a->step_name);
    ms_diag_list_free(&a->departures);
    for (size_t i = 0; i < a->criterion_count; i++)
        free(a->criteria[i].figures);
    for (size_t i = 0; i < a->blocker_count; i++)
        free(a->blockers[i].fix);
    free(a->blockers);
    for (size_t i = 0; i < a->reason_count; i++)
        free(a->reasons[i]);
    free(a->reasons);
    free(a->next_name);
    free(a->next_record);
    free(a->next_zone_line);
    *a = (ms_dmarc_advice){.step = -1, .next_step = -1};
}
