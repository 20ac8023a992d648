/* Key rotation, one step at a time (docs/dkim.md "Rotating keys"):
 *   publish  the new selector's record goes into DNS, beside the old one;
 *   switch   once DNS serves the new key, the signer moves to it;
 *   revoke   after the old signatures have had time to be verified, the old
 *            selector's record is replaced by a revoked one (empty p=).
 * Each step says what to publish and whether DNS already serves it. */
#include "privkey.h"

#include <stdlib.h>

#define ROTATE_ZONE_TTL 3600

/* A revoked record (RFC 6376 3.6.1: "An empty value means that this public
 * key has been revoked"); k= is left out, so it fits either key type. */
static const char REVOKED_RECORD[] = "v=DKIM1; p=";

const char *ms_dkim_rotate_step_str(ms_dkim_rotate_step step)
{
    static const char *const NAMES[] = {"publish", "switch", "revoke"};
    return step <= MS_DKIM_ROTATE_REVOKE ? NAMES[step] : "unknown";
}

void ms_dkim_rotate_result_free(ms_dkim_rotate_result *r)
{
    if (r == NULL)
        return;
    free(r->selector);
    free(r->record);
    free(r->zone_line);
    ms_dkim_check_result_free(r->check);
    free(r);
}

/* Whether the looked-up selector is in the state the step wants. */
static ms_status judge(ms_dkim_rotate_result *r, const ms_dkim_privkey *new_key)
{
    ms_dkim_selector_check *s = &r->check->items[0];
    if (r->check->unchecked)
        return MS_OK;
    if (r->step != MS_DKIM_ROTATE_REVOKE) {
        /* a missing record already has its key-not-found finding */
        r->done = ms_dkim_selector_matches(s, new_key) == 1;
        return MS_OK;
    }
    r->done = s->key != NULL && s->key->revoked;
    if (r->done)
        return MS_OK;
    return ms_diag_add(&s->diags, DKD(DK_KEY_NOT_REVOKED), s->name, -1, "%s serves %s", s->name,
                       s->record ? "a key that is not revoked" : "no key record at all");
}

ms_status ms_dkim_rotate(ms_ctx *ctx, const char *domain, const char *old_selector,
                         const char *new_selector, const ms_dkim_privkey *new_key,
                         ms_dkim_rotate_step step, ms_dkim_rotate_result **out)
{
    if (out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    if (ctx == NULL || domain == NULL || old_selector == NULL || new_selector == NULL ||
        new_key == NULL || step > MS_DKIM_ROTATE_REVOKE)
        return MS_ERR_INVALID;
    ms_dkim_rotate_result *r = calloc(1, sizeof *r);
    if (r == NULL)
        return MS_ERR_NOMEM;
    r->step = step;
    const char *selector = step == MS_DKIM_ROTATE_REVOKE ? old_selector : new_selector;
    ms_status st = MS_OK;
    if ((r->selector = ms_strdup(selector)) == NULL)
        st = MS_ERR_NOMEM;
    if (st == MS_OK && step == MS_DKIM_ROTATE_REVOKE)
        st = (r->record = ms_strdup(REVOKED_RECORD)) ? MS_OK : MS_ERR_NOMEM;
    else if (st == MS_OK)
        st = ms_dkim_privkey_record(new_key, &r->record);
    if (st == MS_OK)
        st = ms_dkim_zone_line(domain, selector, r->record, ROTATE_ZONE_TTL, &r->zone_line);
    if (st == MS_OK)
        st = ms_dkim_check(ctx, domain, &selector, 1, &r->check);
    if (st == MS_OK)
        st = judge(r, new_key);
    if (st != MS_OK) {
        ms_dkim_rotate_result_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}
