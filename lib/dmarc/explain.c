/* A parsed record in plain words: one line per tag, saying what the tag
 * asks for or, when it is absent, which default is in effect; then one
 * summary line saying what receivers do with failing mail. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lines {
    ms_dmarc_explanation *ex;
    int failed;
} lines;

static void add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(lines *l, const char *fmt, ...)
{
    if (l->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *line = ms_vasprintf(fmt, ap);
    va_end(ap);
    char **grown = line ? realloc(l->ex->lines, (l->ex->count + 1) * sizeof *grown) : NULL;
    if (grown == NULL) {
        free(line);
        l->failed = 1;
        return;
    }
    l->ex->lines = grown;
    l->ex->lines[l->ex->count++] = line;
}

/* What happens to failing mail under a policy, as a past participle. */
static const char *treatment(ms_dmarc_policy p)
{
    switch (p) {
    case MS_DMARC_POLICY_QUARANTINE: return "quarantined (typically delivered to the spam folder)";
    case MS_DMARC_POLICY_REJECT: return "rejected";
    default: return "delivered as usual (no action requested; reports only)";
    }
}

/* The same, short, for the summary. */
static const char *verb(ms_dmarc_policy p)
{
    switch (p) {
    case MS_DMARC_POLICY_QUARANTINE: return "quarantined";
    case MS_DMARC_POLICY_REJECT: return "rejected";
    default: return "delivered normally";
    }
}

static void explain_policies(lines *l, const ms_dmarc_record *rec, const char *dom)
{
    const char *fallback = rec->as_p_none
        ? "receivers treat the record as p=none because it has a valid rua."
        : "with no valid rua either, receivers ignore the record.";
    if (rec->p != MS_DMARC_POLICY_UNSET)
        add(l, "p=%s: mail from %s that fails DMARC should be %s.", ms_dmarc_policy_str(rec->p),
            dom, treatment(rec->p));
    else
        add(l, "p is %s: %s", rec->p_invalid ? "invalid" : "absent", fallback);
    if (rec->sp_invalid)
        add(l, "sp is invalid (not none, quarantine or reject): %s", fallback);
    else if (rec->sp != MS_DMARC_POLICY_UNSET)
        add(l, "sp=%s: mail from existing subdomains of %s that fails DMARC should be %s.",
            ms_dmarc_policy_str(rec->sp), dom, treatment(rec->sp));
    else
        add(l, "sp is absent: existing subdomains get the p policy.");
    if (rec->np_invalid)
        add(l, "np is invalid (not none, quarantine or reject): %s", fallback);
    else if (rec->np != MS_DMARC_POLICY_UNSET)
        add(l, "np=%s: mail from non-existent subdomains of %s that fails DMARC should be %s "
            "(RFC 9989; RFC 7489 receivers use sp or p instead).",
            ms_dmarc_policy_str(rec->np), dom, treatment(rec->np));
    else
        add(l, "np is absent: non-existent subdomains get the %s policy.",
            rec->sp != MS_DMARC_POLICY_UNSET ? "sp" : "p");
}

/* One alignment tag (adkim, aspf): how the domain its method checks
 * (what) must match the From domain. */
static void explain_mode(lines *l, const char *tag, const char *method, const char *what,
                         ms_dmarc_align mode)
{
    if (mode == MS_DMARC_ALIGN_STRICT)
        add(l, "%s=s: strict %s alignment: the %s must be exactly the From domain.", tag, method,
            what);
    else
        add(l, "%s%s: relaxed %s alignment: the %s and the From domain need only share their "
            "organizational domain.",
            tag, mode == MS_DMARC_ALIGN_RELAXED ? "=r" : " is absent (default r)", method, what);
}

static void explain_alignment(lines *l, const ms_dmarc_record *rec)
{
    explain_mode(l, "adkim", "DKIM", "DKIM signing domain", rec->adkim);
    explain_mode(l, "aspf", "SPF", "SPF-checked (MAIL FROM) domain", rec->aspf);
}

static void explain_testing(lines *l, const ms_dmarc_record *rec)
{
    if (rec->pct >= 0)
        add(l, "pct=%d: RFC 7489 receivers apply the policy to %d%% of failing mail and the next "
            "weaker policy to the rest; RFC 9989 removed pct and its receivers ignore it.",
            rec->pct, rec->pct);
    else
        add(l, "pct is absent: RFC 7489 receivers apply the policy to all failing mail.");
    if (rec->testing == 1)
        add(l, "t=y: testing mode: RFC 9989 receivers apply the next weaker policy (reject "
            "becomes quarantine, quarantine becomes none); RFC 7489 receivers ignore t.");
    else
        add(l, "t%s: not testing: the policy is applied as written.",
            rec->testing == 0 ? "=n" : " is absent (default n)");
    switch (rec->psd) {
    case MS_DMARC_PSD_Y:
        add(l, "psd=y: the domain declares itself a public suffix domain; its subdomains are "
            "organizational domains of their own.");
        break;
    case MS_DMARC_PSD_N:
        add(l, "psd=n: the domain is an organizational domain (for itself and its subdomains), "
            "not a public suffix domain.");
        break;
    default:
        add(l, "psd%s: receivers find the organizational domain with the DNS tree walk.",
            rec->psd == MS_DMARC_PSD_U ? "=u" : " is absent (default u)");
        break;
    }
}

static void explain_uris(lines *l, const char *tag, const char *what, const ms_dmarc_uri *uris,
                         size_t count)
{
    if (count == 0) {
        add(l, "%s is absent or has no valid URI: no %s reports will be sent.", tag, what);
        return;
    }
    ms_buf b = MS_BUF_INIT;
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            ms_buf_puts(&b, ", ");
        ms_buf_puts(&b, uris[i].is_mailto ? uris[i].address : uris[i].uri);
    }
    char *list = ms_buf_take(&b);
    if (list == NULL) {
        l->failed = 1;
        return;
    }
    add(l, "%s: %s reports go to %s.", tag, what, list);
    free(list);
}

static void explain_reporting(lines *l, const ms_dmarc_record *rec)
{
    explain_uris(l, "rua", "aggregate", rec->rua, rec->rua_count);
    explain_uris(l, "ruf", "failure", rec->ruf, rec->ruf_count);
    const char *fo = rec->fo ? rec->fo : "0";
    if (rec->ruf_count == 0 && rec->fo != NULL)
        add(l, "fo=%s: no effect without ruf.", rec->fo);
    else if (rec->ruf_count == 0)
        add(l, "fo is absent (default 0): it would only matter with ruf.");
    else
        add(l, "fo=%s%s: failure reports are requested when %s%s%s.", fo,
            rec->fo ? "" : " (default)",
            strchr(fo, '1') ? "any mechanism fails to produce an aligned pass"
                            : "both SPF and DKIM fail to produce an aligned pass",
            strpbrk(fo, "dD") ? "; also for every failed DKIM signature" : "",
            strpbrk(fo, "sS") ? "; also for every SPF failure" : "");
    if (rec->rf != NULL)
        add(l, "rf=%s: removed by RFC 9989 (it chose the failure report format); ignored.",
            rec->rf);
    if (rec->ri >= 0)
        add(l, "ri=%ld: removed by RFC 9989 (it asked for a report interval in seconds); "
            "ignored.", rec->ri);
}

static void summarize(lines *l, const ms_dmarc_record *rec, const char *dom)
{
    if (!rec->usable) {
        add(l, "Summary: receivers ignore this record, so it applies no DMARC policy to %s.", dom);
        return;
    }
    ms_dmarc_policy p = rec->as_p_none ? MS_DMARC_POLICY_NONE : rec->p;
    ms_dmarc_policy sp = rec->as_p_none || rec->sp == MS_DMARC_POLICY_UNSET ? p : rec->sp;
    ms_dmarc_policy np = rec->as_p_none || rec->np == MS_DMARC_POLICY_UNSET ? sp : rec->np;
    if (rec->testing == 1) {
        p = dmarc_policy_weaker(p);
        sp = dmarc_policy_weaker(sp);
        np = dmarc_policy_weaker(np);
    }
    int partial = rec->pct >= 0 && rec->pct < 100 && dmarc_policy_rank(rec->p) > 1;
    char tail[160] = "";
    if (partial)
        snprintf(tail, sizeof tail, " RFC 7489 receivers apply %s to %d%% of failing mail and "
                 "the next weaker policy to the rest.", ms_dmarc_policy_str(rec->p), rec->pct);
    add(l, "Summary: mail that fails DMARC is %s when from %s, %s when from its existing "
        "subdomains, and %s when from non-existent subdomains%s.%s",
        verb(p), dom, verb(sp), verb(np),
        rec->testing == 1 ? " (t=y: one step weaker than written)" : "", tail);
}

ms_status ms_dmarc_explain(const ms_dmarc_record *rec, const char *domain,
                           ms_dmarc_explanation *out)
{
    if (rec == NULL || out == NULL)
        return MS_ERR_INVALID;
    *out = (ms_dmarc_explanation){NULL, 0};
    lines l = {out, 0};
    const char *dom = domain ? domain : "the domain";
    if (rec->usable)
        add(&l, "v=DMARC1: a DMARC policy record.");
    else
        add(&l, "This text is not a record receivers would use (see the diagnostics); the tags "
            "are explained as written.");
    explain_policies(&l, rec, dom);
    explain_alignment(&l, rec);
    explain_testing(&l, rec);
    explain_reporting(&l, rec);
    summarize(&l, rec, dom);
    if (l.failed) {
        ms_dmarc_explanation_free(out);
        return MS_ERR_NOMEM;
    }
    return MS_OK;
}

void ms_dmarc_explanation_free(ms_dmarc_explanation *ex)
{
    if (ex == NULL)
        return;
    for (size_t i = 0; i < ex->count; i++)
        free(ex->lines[i]);
    free(ex->lines);
    *ex = (ms_dmarc_explanation){NULL, 0};
}
