/* A sending source's class, from how its messages fared (see
 * include/mailsec/sources.h for what each class means).
 *
 * The store splits a source's messages three ways: aligned (DMARC pass),
 * unaligned (some SPF or DKIM pass, none aligned) and failing (nothing
 * passed). The largest share decides, if it holds a majority; failing
 * sources are then told apart by the signs of forwarding the reports
 * carry. */
#include "core/internal.h"
#include "mailsec/sources.h"

#include <stdlib.h>

/* Share of a source's failing messages with a sign of forwarding above
 * which the source is called forwarding: forwarders rarely mark every
 * message, but a spoofer never gets any marked. */
#define FORWARDING_SHARE 0.25

static const struct {
    const char *name, *advice;
} CLASSES[] = {
    [MS_SOURCES_ALIGNED] = {"aligned", "authenticated and aligned: nothing to do"},
    [MS_SOURCES_UNALIGNED] = {"unaligned",
                             "authenticated, but not for your domain: a real service that needs "
                             "SPF (its servers in your record) or DKIM (signing with your domain) "
                             "before you enforce the policy"},
    [MS_SOURCES_FORWARDING] = {"forwarding",
                              "your users' mail relayed by a forwarder or a mailing list: the "
                              "relay breaks SPF (and DKIM if it alters the message); ARC on the "
                              "receiving side, or DKIM that survives, keeps it delivered"},
    [MS_SOURCES_SPOOFING] = {"spoofing",
                            "mail in your name that no authentication supports: what p=quarantine "
                            "and p=reject are for"},
    [MS_SOURCES_MIXED] = {"mixed", "no single kind of traffic: look at the records (report show)"},
};

const char *ms_sources_class_name(ms_sources_class cls)
{
    return cls <= MS_SOURCES_MIXED ? CLASSES[cls].name : "unknown";
}

const char *ms_sources_class_advice(ms_sources_class cls)
{
    return cls <= MS_SOURCES_MIXED ? CLASSES[cls].advice : "";
}

/* A sign; NULL: memory ran out for its words (*nomem set). */
static void add_sign(ms_sources_verdict *v, char *text, int *nomem)
{
    if (text == NULL)
        *nomem = 1;
    else if (v->sign_count < MS_SOURCES_SIGNS_MAX)
        v->signs[v->sign_count++] = text;
    else
        free(text);
}

static double share(uint64_t part, uint64_t whole)
{
    return whole > 0 ? (double)part / (double)whole : 0.0;
}

/* Failing messages: forwarded, or forged? */
static ms_sources_class judge_failing(const ms_store_source *s, ms_sources_verdict *v, int *nomem)
{
    if (s->forwarded > 0)
        add_sign(v, ms_asprintf("receivers marked %llu messages forwarded or from a mailing list",
                                (unsigned long long)s->forwarded), nomem);
    if (s->dkim_pass_spf_fail > 0)
        add_sign(v, ms_asprintf("DKIM passed where SPF failed for %llu messages, as after forwarding",
                                (unsigned long long)s->dkim_pass_spf_fail), nomem);
    uint64_t forwarding = s->forwarded + s->dkim_pass_spf_fail;
    if (share(forwarding, s->failing) >= FORWARDING_SHARE)
        return MS_SOURCES_FORWARDING;
    add_sign(v, ms_asprintf("%llu messages passed neither SPF nor DKIM for any domain",
                            (unsigned long long)s->failing), nomem);
    if (s->rdns != NULL && s->rdns[0] == '\0')
        add_sign(v, ms_strdup("the IP has no reverse DNS name"), nomem);
    return MS_SOURCES_SPOOFING;
}

ms_status ms_sources_classify(const ms_store_source *s, ms_sources_verdict *v)
{
    *v = (ms_sources_verdict){0};
    int nomem = 0;
    uint64_t total = s->aligned + s->unaligned + s->failing;
    if (s->aligned * 2 > total) {
        v->cls = MS_SOURCES_ALIGNED;
        add_sign(v, ms_asprintf("%.0f%% of %llu messages passed DMARC", 100 * share(s->aligned, total),
                                (unsigned long long)total), &nomem);
    } else if (s->unaligned * 2 > total) {
        v->cls = MS_SOURCES_UNALIGNED;
        add_sign(v, ms_asprintf("%llu of %llu messages passed SPF or DKIM for another domain",
                                (unsigned long long)s->unaligned, (unsigned long long)total), &nomem);
    } else if (s->failing * 2 > total) {
        v->cls = judge_failing(s, v, &nomem);
    } else {
        v->cls = MS_SOURCES_MIXED;
        add_sign(v, ms_asprintf("%llu aligned, %llu unaligned, %llu failing", (unsigned long long)s->aligned,
                                (unsigned long long)s->unaligned, (unsigned long long)s->failing), &nomem);
    }
    return nomem ? MS_ERR_NOMEM : MS_OK;
}

void ms_sources_verdict_clear(ms_sources_verdict *v)
{
    for (size_t i = 0; i < v->sign_count; i++)
        free(v->signs[i]);
    v->sign_count = 0;
}
