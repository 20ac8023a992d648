/* The staged roll-out from monitoring to reject.
 *
 * Two receiver generations read the same record during the transition:
 * RFC 7489 receivers honour pct (the policy for pct% of failing mail, the
 * next weaker one for the rest) and do not know t; RFC 9989 receivers
 * ignore pct and, with t=y, apply the next weaker policy to all failing
 * mail. So each partial step publishes pct=N together with t=y: RFC 7489
 * receivers ramp up by percentage, RFC 9989 receivers stay one policy
 * below until the "all" step drops both tags. Every record comes from
 * ms_dmarc_generate, so it checks clean. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct step_def {
    const char *name;
    ms_dmarc_policy p;
    int pct; /* -1: the whole of the policy, no pct and no t */
} step_def;

/* The ramp each enforcing policy climbs: pct 1, 5, 10, 25, 50, then the
 * whole of the policy. */
#define RAMP(policy, word)                                                                     \
    {word " 1%", policy, 1}, {word " 5%", policy, 5}, {word " 10%", policy, 10},               \
        {word " 25%", policy, 25}, {word " 50%", policy, 50}, {word " all", policy, -1}

static const step_def steps[] = {
    {"monitor", MS_DMARC_POLICY_NONE, -1},
    RAMP(MS_DMARC_POLICY_QUARANTINE, "quarantine"),
    RAMP(MS_DMARC_POLICY_REJECT, "reject"),
};

#define STEP_COUNT (sizeof steps / sizeof steps[0])
_Static_assert(STEP_COUNT == MS_DMARC_PLAN_STEPS, "MS_DMARC_PLAN_STEPS is the plan's length");

int dmarc_plan_step_below(ms_dmarc_policy p, int pct)
{
    int below = -1;
    for (size_t i = 0; i < STEP_COUNT; i++) {
        if (steps[i].p != p)
            continue;
        if (below < 0)
            below = (int)i - 1; /* the step before the policy's first */
        if (steps[i].pct >= 0 && steps[i].pct <= pct)
            below = (int)i;
    }
    return below;
}

int dmarc_plan_step_index(ms_dmarc_policy p, int pct)
{
    if (pct == 100)
        pct = -1;
    for (size_t i = 0; i < STEP_COUNT; i++)
        if (steps[i].p == p && steps[i].pct == pct)
            return (int)i;
    return -1;
}

static char *rfc7489_text(const step_def *s)
{
    if (s->p == MS_DMARC_POLICY_NONE)
        return ms_strdup("Failing mail is delivered as usual; receivers send aggregate reports.");
    if (s->pct < 0)
        return ms_asprintf("All failing mail is %s.",
                           s->p == MS_DMARC_POLICY_REJECT ? "rejected" : "quarantined");
    if (s->p == MS_DMARC_POLICY_QUARANTINE)
        return ms_asprintf("pct=%d: %d%% of failing mail is quarantined; the rest gets the next "
                           "weaker policy, none, and is delivered as usual. t=y is unknown to "
                           "these receivers.", s->pct, s->pct);
    return ms_asprintf("pct=%d: %d%% of failing mail is rejected; the rest gets the next weaker "
                       "policy and is quarantined. t=y is unknown to these receivers.",
                       s->pct, s->pct);
}

static char *rfc9989_text(const step_def *s)
{
    if (s->p == MS_DMARC_POLICY_NONE)
        return ms_strdup("Failing mail is delivered as usual; receivers send aggregate reports.");
    if (s->pct < 0 && s->p == MS_DMARC_POLICY_QUARANTINE)
        return ms_strdup("All failing mail is quarantined. For these receivers this is the first "
                         "enforcing step: the partial steps before were in testing mode.");
    if (s->pct < 0)
        return ms_strdup("All failing mail is rejected. For these receivers this is the first "
                         "step that rejects: the partial reject steps quarantined.");
    if (s->p == MS_DMARC_POLICY_QUARANTINE)
        return ms_strdup("pct is ignored; t=y asks for the next weaker policy, none, for all "
                         "failing mail: still monitoring (some, such as mailing lists, may "
                         "rewrite From as a precaution).");
    return ms_strdup("pct is ignored; t=y asks for the next weaker policy, quarantine, for all "
                     "failing mail: the same as the \"quarantine all\" step.");
}

/* What to see in the reports before leaving a step. */
/* The check texts name the domain as "{domain}". */
static char *with_domain(const char *text, const char *domain)
{
    ms_buf b = MS_BUF_INIT;
    const char *mark;
    while ((mark = strstr(text, "{domain}")) != NULL) {
        ms_buf_append(&b, text, (size_t)(mark - text));
        ms_buf_puts(&b, domain);
        text = mark + strlen("{domain}");
    }
    ms_buf_puts(&b, text);
    return ms_buf_take(&b);
}

static ms_status add_checks(ms_dmarc_plan_step *st, const step_def *s, const char *domain)
{
    const char *list[6];
    size_t n = 0;
    if (s->p == MS_DMARC_POLICY_NONE) {
        list[n++] = "Aggregate reports arrive at the rua address from the large mailbox "
                    "providers (give it a few days).";
        list[n++] = "Every legitimate sending source is identified: own mail servers, "
                    "newsletter and CRM services, ticketing, invoicing, forwarders.";
        list[n++] = "Every legitimate source passes SPF or DKIM aligned with {domain} (DKIM "
                    "signing with the domain is the robust fix).";
        list[n++] = "Over at least two weeks, at least 98% of mail from legitimate sources "
                    "passes DMARC.";
    } else {
        list[n++] = "Aggregate reports over at least a week at this step show at least 98% "
                    "DMARC pass for mail from legitimate sources.";
        list[n++] = "All sending services are aligned with {domain}; no new legitimate source "
                    "appears among the failing ones.";
        list[n++] = "No unexpected failing sources: what still fails is spoofing, or known "
                    "forwarders and mailing lists.";
        list[n++] = s->p == MS_DMARC_POLICY_QUARANTINE
                        ? "Users report no legitimate mail from {domain} landing in spam folders."
                        : "No bounces or complaints about legitimate mail from {domain} being "
                          "rejected.";
        if (s->pct < 0 && s->p == MS_DMARC_POLICY_REJECT)
            list[n++] = "Keep reading the reports, and align every new sending service before "
                        "it goes live; consider np=reject for non-existent subdomains.";
    }
    st->checks = calloc(n, sizeof *st->checks);
    if (st->checks == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        st->checks[i] = with_domain(list[i], domain);
        if (st->checks[i] == NULL)
            return MS_ERR_NOMEM;
        st->check_count++;
    }
    return MS_OK;
}

/* Builds one step: the base spec with the step's p, pct and t; *refused
 * is set when ms_dmarc_generate said no. */
static ms_status make_step(ms_dmarc_plan_step *st, const step_def *s, const ms_dmarc_spec *base,
                           ms_diag_list *diags, int *refused)
{
    const char *domain = base->domain;
    ms_dmarc_spec spec = *base;
    spec.p = s->p;
    spec.pct = s->pct;
    spec.testing = s->pct >= 0 ? 1 : -1;
    ms_diag_list found = MS_DIAG_LIST_INIT;
    ms_status status = ms_dmarc_generate(&spec, &st->record, &found);
    if (status == MS_OK && st->record == NULL) {
        *refused = 1;
        return ms_diag_list_move(diags, &found);
    }
    ms_diag_list_free(&found);
    if (status != MS_OK)
        return status;
    st->name = ms_strdup(s->name);
    st->rfc7489 = rfc7489_text(s);
    st->rfc9989 = rfc9989_text(s);
    if (st->name == NULL || st->rfc7489 == NULL || st->rfc9989 == NULL)
        return MS_ERR_NOMEM;
    return add_checks(st, s, domain);
}

ms_status ms_dmarc_plan_make(const ms_dmarc_spec *base, ms_dmarc_plan *out, ms_diag_list *diags)
{
    if (base == NULL || out == NULL || diags == NULL)
        return MS_ERR_INVALID;
    *out = (ms_dmarc_plan){NULL, 0};
    if (base->rua == NULL || base->rua[0] == NULL)
        return ms_diag_add(diags, DMARC_DIAG(DM_PLAN_RUA_MISSING), NULL, -1,
                           "no rua given: a roll-out needs aggregate reports to decide each step");
    out->steps = calloc(STEP_COUNT, sizeof *out->steps);
    if (out->steps == NULL)
        return MS_ERR_NOMEM;
    ms_status status = MS_OK;
    int refused = 0;
    for (size_t i = 0; i < STEP_COUNT && status == MS_OK && !refused; i++) {
        out->count++;
        status = make_step(&out->steps[i], &steps[i], base, diags, &refused);
    }
    if (status != MS_OK || refused)
        ms_dmarc_plan_free(out);
    return status;
}

void ms_dmarc_plan_free(ms_dmarc_plan *plan)
{
    if (plan == NULL)
        return;
    for (size_t i = 0; i < plan->count; i++) {
        ms_dmarc_plan_step *st = &plan->steps[i];
        free(st->name);
        free(st->record);
        free(st->rfc7489);
        free(st->rfc9989);
        for (size_t c = 0; c < st->check_count; c++)
            free(st->checks[c]);
        free(st->checks);
    }
    free(plan->steps);
    *plan = (ms_dmarc_plan){NULL, 0};
}
