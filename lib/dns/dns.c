/* The DNS module's small public pieces: names of codes, answers, name
 * checks, batches and single lookups, all built on submit/run (query.c). */
#include "dns_internal.h"

#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

/* The DNS layer reports how lookups ended in its answers; the checks built
 * on it turn those into findings, so it has no diagnostics of its own. */
const ms_diag_def ms_dns_diag_defs[] = {{NULL, MS_SEV_INFO, NULL, NULL}};

const char *ms_dns_rcode_str(ms_dns_rcode rcode)
{
    switch (rcode) {
    case MS_DNS_NOERROR:
        return "NOERROR";
    case MS_DNS_NODATA:
        return "NODATA";
    case MS_DNS_NXDOMAIN:
        return "NXDOMAIN";
    case MS_DNS_SERVFAIL:
        return "SERVFAIL";
    case MS_DNS_TIMEOUT:
        return "TIMEOUT";
    case MS_DNS_ERROR:
        return "ERROR";
    }
    return "ERROR";
}

const char *ms_dns_dnssec_state_str(ms_dns_dnssec_state state)
{
    switch (state) {
    case MS_DNS_DNSSEC_INSECURE:
        return "insecure";
    case MS_DNS_DNSSEC_SECURE:
        return "secure";
    case MS_DNS_DNSSEC_BOGUS:
        return "bogus";
    }
    return "insecure";
}

/* A name we send: presentation form, optional trailing dot, at most 253
 * octets without it, labels of 1 to 63 octets. The root is ".". Backslash
 * escapes are refused: libunbound would decode them, so the lengths we
 * checked would not be the lengths sent. */
int ms_dns_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 1 && name[0] == '.')
        return 1;
    if (len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > MS_DNS_MAX_NAME_TEXT)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] == '\\')
            return 0;
        if (name[i] != '.') {
            if (++label > MS_DNS_MAX_LABEL)
                return 0;
            continue;
        }
        if (label == 0)
            return 0; /* empty label: leading dot or ".." */
        label = 0;
    }
    return label > 0;
}

ms_dns_answer *ms_dns_answer_new(const char *qname, uint16_t qtype, ms_dns_rcode rcode)
{
    ms_dns_answer *a = calloc(1, sizeof *a);
    if (a == NULL)
        return NULL;
    a->qname = ms_strdup(qname);
    if (a->qname == NULL) {
        free(a);
        return NULL;
    }
    size_t len = strlen(a->qname);
    if (len > 1 && a->qname[len - 1] == '.')
        a->qname[len - 1] = '\0';
    a->qtype = qtype;
    a->rcode = rcode;
    a->dnssec = MS_DNS_DNSSEC_INSECURE;
    return a;
}

void ms_dns_answer_free(ms_dns_answer *answer)
{
    if (answer == NULL)
        return;
    for (size_t i = 0; i < answer->count; i++) {
        free((void *)answer->records[i].rdata);
        free(answer->records[i].text);
    }
    free(answer->records);
    free(answer->qname);
    free(answer->why_bogus);
    free(answer->canonname);
    free(answer);
}

/* Batches. Each query gets a slot of its own, allocated separately so its
 * address (the callback's argument) stays put while the batch grows. */
typedef struct batch_slot {
    ms_dns_batch *batch;
    ms_dns_answer *answer;
    int done;
} batch_slot;

struct ms_dns_batch {
    ms_ctx *ctx;
    batch_slot **slots;
    size_t count, capacity;
    size_t outstanding;
};

ms_status ms_dns_batch_new(ms_ctx *ctx, ms_dns_batch **out)
{
    if (ctx == NULL || out == NULL)
        return MS_ERR_INVALID;
    ms_dns_batch *batch = calloc(1, sizeof *batch);
    if (batch == NULL)
        return MS_ERR_NOMEM;
    batch->ctx = ctx;
    *out = batch;
    return MS_OK;
}

static void batch_on_answer(void *arg, ms_dns_answer *answer)
{
    batch_slot *slot = arg;
    slot->answer = answer;
    slot->done = 1;
    slot->batch->outstanding--;
}

static ms_status batch_grow(ms_dns_batch *batch)
{
    batch_slot **grown = ms_grow(batch->slots, batch->count, &batch->capacity, sizeof *grown, 16);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    batch->slots = grown;
    return MS_OK;
}

ms_status ms_dns_batch_add(ms_dns_batch *batch, const char *name, uint16_t type, size_t *index)
{
    if (batch == NULL || name == NULL)
        return MS_ERR_INVALID;
    ms_status st = batch_grow(batch);
    if (st != MS_OK)
        return st;
    batch_slot *slot = calloc(1, sizeof *slot);
    if (slot == NULL)
        return MS_ERR_NOMEM;
    slot->batch = batch;
    st = ms_dns_submit(batch->ctx, name, type, batch_on_answer, slot);
    if (st != MS_OK) {
        free(slot);
        return st;
    }
    batch->outstanding++;
    if (index != NULL)
        *index = batch->count;
    batch->slots[batch->count++] = slot;
    return MS_OK;
}

ms_status ms_dns_batch_wait(ms_dns_batch *batch)
{
    if (batch == NULL)
        return MS_ERR_INVALID;
    return ms_dns_run(batch->ctx);
}

const ms_dns_answer *ms_dns_batch_answer(const ms_dns_batch *batch, size_t index)
{
    if (batch == NULL || index >= batch->count)
        return NULL;
    return batch->slots[index]->answer;
}

void ms_dns_batch_free(ms_dns_batch *batch)
{
    if (batch == NULL)
        return;
    for (size_t i = 0; i < batch->count; i++) {
        batch_slot *slot = batch->slots[i];
        /* Not waited for: its query must not call back into freed memory. */
        if (!slot->done)
            ms_dns_forget_arg(batch->ctx, slot);
        ms_dns_answer_free(slot->answer);
        free(slot);
    }
    free(batch->slots);
    free(batch);
}

static void lookup_on_answer(void *arg, ms_dns_answer *answer)
{
    *(ms_dns_answer **)arg = answer;
}

ms_status ms_dns_lookup(ms_ctx *ctx, const char *name, uint16_t type, ms_dns_answer **out)
{
    if (ctx == NULL || name == NULL || out == NULL)
        return MS_ERR_INVALID;
    ms_dns_answer *answer = NULL;
    ms_status st = ms_dns_submit(ctx, name, type, lookup_on_answer, &answer);
    if (st != MS_OK)
        return st;
    st = ms_dns_run(ctx);
    if (st == MS_OK && answer == NULL)
        st = MS_ERR_NOMEM; /* the answer itself could not be allocated */
    if (st != MS_OK) {
        /* A run refused (inside a callback) leaves our query queued. */
        ms_dns_forget_arg(ctx, &answer);
        ms_dns_answer_free(answer);
        return st;
    }
    *out = answer;
    return MS_OK;
}

int ms_dns_answer_failed(const ms_dns_answer *answer)
{
    return answer == NULL || answer->rcode == MS_DNS_SERVFAIL || answer->rcode == MS_DNS_TIMEOUT ||
           answer->rcode == MS_DNS_ERROR;
}

/* libunbound's reason when the validator asked the server for the DNSKEY
 * of a trust anchor and got none back ("no DNSKEY rrset for trust anchor
 * . while building chain of trust"). */
static const char NO_ANCHOR_KEY[] = "no DNSKEY rrset for trust anchor";

int ms_dns_answer_dnssec_unavailable(const ms_dns_answer *answer)
{
    return answer != NULL && answer->dnssec == MS_DNS_DNSSEC_BOGUS && answer->why_bogus != NULL &&
           strstr(answer->why_bogus, NO_ANCHOR_KEY) != NULL;
}

static const char *server_name(const ms_ctx *ctx)
{
    return ctx->resolver != NULL ? ctx->resolver : "the system's resolvers";
}

char *ms_dns_failure_reason(const ms_ctx *ctx, const ms_dns_answer *answer)
{
    if (answer == NULL)
        return ms_strdup("no answer could be made");
    if (ms_dns_answer_dnssec_unavailable(answer))
        return ms_asprintf("%s does not serve DNSSEC: the DNSKEY records of the trust anchor "
                           "did not come back, so nothing can be validated (%s)",
                           server_name(ctx), answer->why_bogus);
    if (answer->dnssec == MS_DNS_DNSSEC_BOGUS)
        return ms_asprintf("DNSSEC validation failed: %s",
                           answer->why_bogus ? answer->why_bogus : "no reason given");
    switch (answer->rcode) {
    case MS_DNS_TIMEOUT:
        return ms_asprintf("no answer from %s within %g s", server_name(ctx),
                           ctx->timeout_ms / 1000.0);
    case MS_DNS_SERVFAIL:
        return ms_asprintf("%s answered SERVFAIL", server_name(ctx));
    default:
        return ms_asprintf("%s gave %s", server_name(ctx), ms_dns_rcode_str(answer->rcode));
    }
}
