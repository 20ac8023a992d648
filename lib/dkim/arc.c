/* ARC: the Authenticated Received Chain (RFC 8617), validated as its
 * section 5.2 says.
 *
 * Each intermediary that handled the message added one set of three
 * fields with the same instance i=: ARC-Authentication-Results (what it
 * saw), ARC-Message-Signature (a DKIM signature of the message as it
 * passed on) and ARC-Seal (a signature over all the sets so far, with cv=
 * its view of the chain before it). Here the sets are gathered and their
 * form and cv= chain checked (steps 1-4) when the body starts; the newest
 * ARC-Message-Signature and every ARC-Seal are then checked by the
 * verifier with the DKIM signatures, keys in the same DNS batch, the body
 * hashed in the same pass; dk_arc_conclude turns their verdicts into the
 * chain's (steps 5-7). Older ARC-Message-Signatures are not verified:
 * RFC 8617 makes that optional and the verdict does not depend on it. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const char *ms_dkim_arc_result_str(ms_dkim_arc_result r)
{
    static const char *const NAMES[] = {"none", "pass", "fail"};
    return r <= MS_DKIM_ARC_FAIL ? NAMES[r] : "unknown";
}

/* Parsed ARC-Message-Signatures and ARC-Seals by instance, while gathering. */
typedef struct gathered {
    dk_check message_signatures[MS_DKIM_ARC_MAX_INSTANCES + 1];
    dk_check seals[MS_DKIM_ARC_MAX_INSTANCES + 1];
    dk_arc_cv cv[MS_DKIM_ARC_MAX_INSTANCES + 1];
} gathered;

/* The value of an ARC-Authentication-Results field, after "i=N;" (leading
 * white space and line breaks skipped), and N; 0 when it does not start
 * with a valid instance. */
static unsigned results_instance(const dk_field *f, const char **rest, size_t *rest_len)
{
    const char *p = memchr(f->raw, ':', f->raw_len) + 1;
    const char *end = f->raw + f->raw_len - 2; /* without the final CRLF */
#define SKIP_FWS()                                                                       \
    while (p < end && (ms_is_wsp(*p) || *p == '\r' || *p == '\n'))                       \
        p++
    SKIP_FWS();
    if (p == end || (*p != 'i' && *p != 'I'))
        return 0;
    p++;
    SKIP_FWS();
    if (p == end || *p != '=')
        return 0;
    p++;
    SKIP_FWS();
    unsigned n = 0;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 3)
        n = n * 10 + (unsigned)(*p++ - '0');
    SKIP_FWS();
    if (p == digits || p == end || *p != ';' || n < 1 || n > MS_DKIM_ARC_MAX_INSTANCES)
        return 0;
    p++;
    SKIP_FWS();
#undef SKIP_FWS
    *rest = p;
    *rest_len = (size_t)(end - p);
    return n;
}

static ms_status fail_structure(dk_arc *arc, const char *detail)
{
    arc->failure = "structure";
    return ms_diag_add(&arc->diags, DKD(DK_ARC_STRUCTURE), NULL, -1, "%s", detail);
}

/* Parses an ARC-Message-Signature or ARC-Seal into its slot by instance;
 * a field without a valid i=, or whose slot is taken, is a structure
 * failure (arc->failure, said in arc->diags). */
static ms_status parse_signature(dk_arc *arc, gathered *g, const dk_field *f, dk_kind kind)
{
    const char *colon = memchr(f->raw, ':', f->raw_len);
    size_t vlen = f->raw_len - 2 - (size_t)(colon + 1 - f->raw);
    const char *name = kind == DK_ARC_SEAL ? "ARC-Seal" : "ARC-Message-Signature";
    dk_check tmp = {.kind = kind, .self = f, .body = SIZE_MAX, .query = SIZE_MAX};
    dk_arc_cv cv = DK_CV_MISSING;
    ms_status st = dk_arc_signature_parse(kind, colon + 1, vlen, name, &tmp.v.sig, &tmp.instance,
                                          &cv, &tmp.v.diags);
    if (st == MS_ERR_LIMIT) {
        ms_diag_list_free(&tmp.v.diags);
        return fail_structure(arc, "an ARC field is longer than mailsec reads");
    }
    if (st != MS_OK) {
        dk_check_free(&tmp);
        return st;
    }
    dk_check *slot = kind == DK_ARC_SEAL ? &g->seals[tmp.instance] : &g->message_signatures[tmp.instance];
    if (tmp.instance == 0 || slot->v.sig != NULL) {
        dk_check_free(&tmp);
        return fail_structure(arc,
                              tmp.instance == 0 ? "an ARC field has no valid i= instance"
                                                : "two ARC fields of one kind have the same i=");
    }
    if ((tmp.v.header = malloc(vlen + 1)) == NULL) {
        dk_check_free(&tmp);
        return MS_ERR_NOMEM;
    }
    memcpy(tmp.v.header, colon + 1, vlen);
    tmp.v.header[vlen] = '\0';
    if (tmp.v.sig->usable && tmp.v.sig->d && tmp.v.sig->s &&
        (tmp.v.key_name = ms_asprintf("%s._domainkey.%s", tmp.v.sig->s, tmp.v.sig->d)) == NULL) {
        dk_check_free(&tmp);
        return MS_ERR_NOMEM;
    }
    if (kind == DK_ARC_SEAL)
        g->cv[tmp.instance] = cv;
    *slot = tmp;
    if (tmp.instance > arc->highest)
        arc->highest = tmp.instance;
    return MS_OK;
}

/* Step 1 and 2: every ARC field in a slot, each instance 1..N complete. */
static ms_status collect(dk_arc *arc, gathered *g, const dk_field *fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const dk_field *f = &fields[i];
        ms_status st = MS_OK;
        if (dk_field_is(f, "ARC-Authentication-Results")) {
            const char *rest = NULL;
            size_t rest_len = 0;
            unsigned n = results_instance(f, &rest, &rest_len);
            if (n > arc->highest)
                arc->highest = n;
            if (n == 0 || arc->sets[n].results != NULL)
                st = fail_structure(arc,
                                    n == 0 ? "an ARC-Authentication-Results has no valid i= instance"
                                           : "two ARC-Authentication-Results have the same i=");
            else
                arc->sets[n].results = f;
        } else if (dk_field_is(f, "ARC-Message-Signature")) {
            st = parse_signature(arc, g, f, DK_ARC_MESSAGE_SIGNATURE);
        } else if (dk_field_is(f, "ARC-Seal")) {
            st = parse_signature(arc, g, f, DK_ARC_SEAL);
        } else {
            continue;
        }
        /* at most three fields per instance 1..50 find a slot: any more is
         * a structure failure, so this loop keeps a bounded number */
        if (st != MS_OK || arc->failure != NULL)
            return st;
    }
    const ms_dkim_signature *newest = g->seals[arc->highest].v.sig;
    if (newest != NULL && newest->d != NULL && (arc->sealer = ms_asprintf("%s", newest->d)) == NULL)
        return MS_ERR_NOMEM;
    for (unsigned n = 1; n <= arc->highest; n++) {
        arc->sets[n].message_signature = g->message_signatures[n].self;
        arc->sets[n].seal = g->seals[n].self;
        const dk_arc_set *s = &arc->sets[n];
        const char *missing = s->results == NULL             ? "ARC-Authentication-Results"
                              : s->message_signature == NULL ? "ARC-Message-Signature"
                              : s->seal == NULL              ? "ARC-Seal"
                                                             : NULL;
        if (missing != NULL) {
            arc->failure = "structure";
            return ms_diag_add(&arc->diags, DKD(DK_ARC_STRUCTURE), NULL, -1,
                               "the ARC set i=%u of %u has no %s", n, arc->highest, missing);
        }
    }
    return MS_OK;
}

/* Step 3 and 4: the newest seal does not say the chain failed; the first
 * says cv=none, every later one cv=pass. */
static ms_status check_chain(dk_arc *arc, const gathered *g)
{
    unsigned n = arc->highest;
    if (g->cv[n] == DK_CV_FAIL) {
        arc->failure = "chain-failed";
        return ms_diag_add(&arc->diags, DKD(DK_ARC_CHAIN_FAILED), NULL, -1,
                           "ARC-Seal i=%u says cv=fail: an earlier hop found the chain broken", n);
    }
    for (unsigned i = 1; i <= n; i++) {
        dk_arc_cv want = i == 1 ? DK_CV_NONE : DK_CV_PASS;
        if (g->cv[i] == want || g->cv[i] == DK_CV_MISSING) /* missing: the seal is unusable */
            continue;
        arc->failure = "chain-failed";
        return ms_diag_add(&arc->diags, DKD(DK_ARC_CHAIN_FAILED), NULL, -1,
                           "ARC-Seal i=%u says cv=%s where cv=%s belongs", i,
                           g->cv[i] == DK_CV_FAIL ? "fail" : g->cv[i] == DK_CV_PASS ? "pass" : "none",
                           want == DK_CV_NONE ? "none" : "pass");
    }
    return MS_OK;
}

/* The checks the verifier runs: the newest ARC-Message-Signature, then the
 * seals newest first. The other parsed fields are dropped. */
static ms_status keep_checks(dk_arc *arc, gathered *g)
{
    unsigned n = arc->highest;
    if ((arc->checks = calloc(n + 1, sizeof *arc->checks)) == NULL)
        return MS_ERR_NOMEM;
    arc->checks[arc->check_count++] = g->message_signatures[n];
    memset(&g->message_signatures[n], 0, sizeof g->message_signatures[n]);
    for (unsigned i = n; i >= 1; i--) {
        arc->checks[arc->check_count++] = g->seals[i];
        memset(&g->seals[i], 0, sizeof g->seals[i]);
    }
    return MS_OK;
}

ms_status dk_arc_gather(dk_arc *arc, const dk_field *fields, size_t count)
{
    gathered *g = calloc(1, sizeof *g);
    if (g == NULL)
        return MS_ERR_NOMEM;
    ms_status st = collect(arc, g, fields, count);
    if (st == MS_OK && arc->failure == NULL && arc->highest > 0)
        st = check_chain(arc, g);
    if (st == MS_OK && arc->failure == NULL && arc->highest > 0)
        st = keep_checks(arc, g);
    for (unsigned i = 0; i <= MS_DKIM_ARC_MAX_INSTANCES; i++) {
        dk_check_free(&g->message_signatures[i]);
        dk_check_free(&g->seals[i]);
    }
    free(g);
    return st;
}

void dk_arc_seal_data(const dk_arc *arc, unsigned instance, ms_buf *buf)
{
    for (unsigned i = 1; i <= instance; i++) {
        const dk_arc_set *s = &arc->sets[i];
        dk_canon_header(MS_DKIM_CANON_RELAXED, s->results->raw, s->results->raw_len, 0, buf);
        dk_canon_header(MS_DKIM_CANON_RELAXED, s->message_signature->raw,
                        s->message_signature->raw_len, 0, buf);
        dk_canon_header(MS_DKIM_CANON_RELAXED, s->seal->raw, s->seal->raw_len, i == instance, buf);
    }
}

/* The chain failed at check c: its reason, and its findings for the reader. */
static ms_status failed_at(ms_dkim_verify_result *r, dk_check *c)
{
    int seal = c->kind == DK_ARC_SEAL;
    free(r->arc_reason);
    r->arc_reason = ms_asprintf("%s-%s", seal ? "seal" : "message-signature", c->v.reason);
    if (r->arc_reason == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_diag_add(&r->diags, DKD(seal ? DK_ARC_SEAL_FAILED : DK_ARC_MESSAGE_SIGNATURE_FAILED),
                               NULL, -1, "%s i=%u (d=%s s=%s): %s %s",
                               seal ? "ARC-Seal" : "ARC-Message-Signature", c->instance,
                               c->v.sig->d ? c->v.sig->d : "?", c->v.sig->s ? c->v.sig->s : "?",
                               ms_dkim_result_str(c->v.result), c->v.reason);
    return st == MS_OK ? ms_diag_list_move(&r->diags, &c->v.diags) : st;
}

/* The newest set's facts: its sealer and what it recorded. */
static ms_status describe(dk_arc *arc, ms_dkim_verify_result *r)
{
    unsigned n = arc->highest;
    r->arc_instance = (int)n;
    const dk_arc_set *s = n ? &arc->sets[n] : NULL;
    const char *rest = NULL;
    size_t rest_len = 0;
    if (s != NULL && s->results != NULL && results_instance(s->results, &rest, &rest_len) == n) {
        /* unfolded: the line breaks go, the white space after them stays */
        if ((r->arc_auth_results = malloc(rest_len + 1)) == NULL)
            return MS_ERR_NOMEM;
        size_t k = 0;
        for (size_t i = 0; i < rest_len; i++)
            if (rest[i] != '\r' && rest[i] != '\n')
                r->arc_auth_results[k++] = rest[i];
        r->arc_auth_results[k] = '\0';
    }
    r->arc_sealer = arc->sealer;
    arc->sealer = NULL;
    return MS_OK;
}

ms_status dk_arc_conclude(dk_arc *arc, ms_dkim_verify_result *r)
{
    if (arc->highest == 0) {
        r->arc = MS_DKIM_ARC_NONE;
        return MS_OK;
    }
    ms_status st = describe(arc, r);
    if (st != MS_OK)
        return st;
    r->arc = MS_DKIM_ARC_PASS;
    if (arc->failure != NULL) {
        r->arc = MS_DKIM_ARC_FAIL;
        if ((r->arc_reason = ms_asprintf("%s", arc->failure)) == NULL)
            return MS_ERR_NOMEM;
        return ms_diag_list_move(&r->diags, &arc->diags);
    }
    /* step 5, then 6: the newest message signature, then the seals, newest first */
    for (size_t i = 0; i < arc->check_count; i++)
        if (arc->checks[i].v.result != MS_DKIM_PASS) {
            r->arc = MS_DKIM_ARC_FAIL;
            return failed_at(r, &arc->checks[i]);
        }
    return MS_OK;
}

void dk_arc_free(dk_arc *arc)
{
    for (size_t i = 0; i < arc->check_count; i++)
        dk_check_free(&arc->checks[i]);
    free(arc->checks);
    free(arc->sealer);
    ms_diag_list_free(&arc->diags);
    memset(arc, 0, sizeof *arc);
}
