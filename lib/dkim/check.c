/* Checking a domain's selectors: fetch SELECTOR._domainkey.DOMAIN for every
 * selector in one DNS batch and lint each key record; and whether
 * _domainkey.DOMAIN exists at all, for the domain audit. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

void ms_dkim_check_result_free(ms_dkim_check_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->count; i++) {
        ms_dkim_selector_check *c = &r->items[i];
        free(c->selector);
        free(c->name);
        free(c->record);
        ms_dkim_key_free(c->key);
        ms_diag_list_free(&c->diags);
    }
    free(r->items);
    free(r->domain);
    free(r);
}

static int is_key_like(const ms_dns_record *rec)
{
    return rec->text && (strstr(rec->text, "p=") || strstr(rec->text, "v=DKIM1"));
}

const ms_dns_record *dk_pick_key_record(const ms_dns_answer *a, size_t *keys)
{
    *keys = 0;
    if (a->count == 1) {
        *keys = 1;
        return a->records[0].text ? &a->records[0] : NULL;
    }
    const ms_dns_record *pick = NULL;
    for (size_t i = 0; i < a->count; i++)
        if (is_key_like(&a->records[i])) {
            pick = &a->records[i];
            ++*keys;
        }
    return *keys == 1 ? pick : NULL;
}

/* One selector's answer: which record is the key, then lint it. */
static ms_status judge_answer(ms_dkim_selector_check *c, const ms_dns_answer *a, int *unchecked)
{
    c->rcode = a ? a->rcode : MS_DNS_ERROR;
    c->dnssec = a ? a->dnssec : MS_DNS_DNSSEC_INSECURE;
    if (a == NULL || a->rcode == MS_DNS_SERVFAIL || a->rcode == MS_DNS_TIMEOUT ||
        a->rcode == MS_DNS_ERROR) {
        *unchecked = 1;
        return ms_diag_add(&c->diags, DKD(DK_KEY_DNS_ERROR), c->name, -1, "TXT lookup: %s%s%s",
                           ms_dns_rcode_str(c->rcode), a && a->why_bogus ? ": " : "",
                           a && a->why_bogus ? a->why_bogus : "");
    }
    if (a->rcode != MS_DNS_NOERROR || a->count == 0)
        return ms_diag_add(&c->diags, DKD(DK_KEY_NOT_FOUND), c->name, -1, "TXT lookup: %s",
                           ms_dns_rcode_str(a->rcode));
    size_t keys = 0;
    const ms_dns_record *pick = dk_pick_key_record(a, &keys);
    if (keys > 1)
        return ms_diag_add(&c->diags, DKD(DK_KEY_MULTIPLE), c->name, -1,
                           "%zu TXT records look like key records", keys);
    if (pick == NULL)
        return ms_diag_add(&c->diags, DKD(DK_KEY_NOT_FOUND), c->name, -1,
                           "%zu TXT records, none of them a key record", a->count);
    if ((c->record = malloc(pick->text_len + 1)) == NULL)
        return MS_ERR_NOMEM;
    memcpy(c->record, pick->text, pick->text_len + 1);
    ms_status st = ms_dkim_key_parse(pick->text, pick->text_len, c->name, &c->key, &c->diags);
    if (st == MS_ERR_LIMIT)
        return ms_diag_add(&c->diags, DKD(DK_KEY_SYNTAX), c->name, -1,
                           "the record is %zu bytes, over the limit of %d", pick->text_len,
                           MS_DKIM_MAX_RECORD);
    return st;
}

ms_status ms_dkim_check(ms_ctx *ctx, const char *domain, const char *const *selectors,
                        size_t selector_count, ms_dkim_check_result **out)
{
    *out = NULL;
    if (ctx == NULL || domain == NULL || (selector_count > 0 && selectors == NULL))
        return MS_ERR_INVALID;
    ms_dkim_check_result *r = calloc(1, sizeof *r);
    if (r == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_domain_normalize(domain, &r->domain);
    if (st == MS_OK && selector_count > 0 &&
        (r->items = calloc(selector_count, sizeof *r->items)) == NULL)
        st = MS_ERR_NOMEM;
    ms_dns_batch *batch = NULL;
    size_t *qidx = calloc(selector_count ? selector_count : 1, sizeof *qidx);
    if (st == MS_OK && qidx == NULL)
        st = MS_ERR_NOMEM;
    if (st == MS_OK)
        st = ms_dns_batch_new(ctx, &batch);
    for (size_t i = 0; st == MS_OK && i < selector_count; i++) {
        ms_dkim_selector_check *c = &r->items[r->count++];
        c->selector = ms_strdup(selectors[i]);
        c->name = ms_asprintf("%s._domainkey.%s", selectors[i], r->domain);
        if (c->selector == NULL || c->name == NULL)
            st = MS_ERR_NOMEM;
        else if (ms_dns_batch_add(batch, c->name, MS_DNS_TXT, &qidx[i]) != MS_OK)
            qidx[i] = SIZE_MAX;
    }
    if (st == MS_OK && selector_count > 0)
        st = ms_dns_batch_wait(batch);
    for (size_t i = 0; st == MS_OK && i < r->count; i++) {
        const ms_dns_answer *a = qidx[i] == SIZE_MAX ? NULL : ms_dns_batch_answer(batch, qidx[i]);
        st = judge_answer(&r->items[i], a, &r->unchecked);
    }
    ms_dns_batch_free(batch);
    free(qidx);
    if (st != MS_OK) {
        ms_dkim_check_result_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}

ms_status ms_dkim_domainkey_exists(ms_ctx *ctx, const char *domain, int *exists,
                                   ms_dns_rcode *rcode)
{
    *exists = -1;
    char *norm = NULL;
    ms_status st = ms_domain_normalize(domain, &norm);
    if (st != MS_OK)
        return st;
    char *name = ms_asprintf("_domainkey.%s", norm);
    free(norm);
    if (name == NULL)
        return MS_ERR_NOMEM;
    ms_dns_answer *a = NULL;
    /* Any type will do; TXT is what old DomainKeys policy records used.
     * NODATA means the name exists (an empty non-terminal above selectors). */
    st = ms_dns_lookup(ctx, name, MS_DNS_TXT, &a);
    free(name);
    if (st != MS_OK)
        return st;
    if (rcode)
        *rcode = a->rcode;
    if (a->rcode == MS_DNS_NOERROR || a->rcode == MS_DNS_NODATA)
        *exists = 1;
    else if (a->rcode == MS_DNS_NXDOMAIN)
        *exists = 0;
    ms_dns_answer_free(a);
    return MS_OK;
}
