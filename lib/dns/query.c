/* Submitting queries and running them to completion.
 *
 * Every query handed to libunbound has a `pending` entry in the ctx's DNS
 * state until its answer is ready. Answers are not passed to callers from
 * inside libunbound's callback: they go to a ready queue first, and
 * ms_dns_run delivers them after ub_process returns. That way a caller's
 * callback may submit new queries, or fail to, without re-entering
 * libunbound, and answers made up locally (a bad name, a timeout) take the
 * same road as real ones. */
#include "dns_internal.h"

#include "core/lazy_unbound.h" /* loaded by ms_dns_resolver_new, before any of these calls */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct pending pending;
struct pending {
    pending *next, *prev;
    struct dns_state *state;
    int async_id;
    char *qname;
    uint16_t qtype;
    ms_dns_callback callback;
    void *arg;
    ms_dns_answer *answer; /* set once answered, while on the ready queue */
};

typedef struct pending_list {
    pending *head, *tail;
    size_t count;
} pending_list;

/* What the DNS module keeps per ms_ctx (ctx->dns). */
typedef struct dns_state {
    struct ub_ctx *ub;
    pending_list in_flight; /* handed to libunbound */
    pending_list ready;     /* answered, callback not yet called */
    unsigned long sent;
    int running;
    int out_of_memory; /* an answer could not be built: the run says so */
} dns_state;

static void list_push(pending_list *list, pending *p)
{
    p->next = NULL;
    p->prev = list->tail;
    if (list->tail != NULL)
        list->tail->next = p;
    else
        list->head = p;
    list->tail = p;
    list->count++;
}

static void list_remove(pending_list *list, pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        list->head = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    else
        list->tail = p->prev;
    p->next = p->prev = NULL;
    list->count--;
}

static void pending_free(pending *p)
{
    if (p == NULL)
        return;
    ms_dns_answer_free(p->answer);
    free(p->qname);
    free(p);
}

static void list_free(pending_list *list)
{
    pending *p = list->head;
    while (p != NULL) {
        pending *next = p->next;
        pending_free(p);
        p = next;
    }
    *list = (pending_list){NULL, NULL, 0};
}

/* ctx->dns_free: queries never run are dropped without their callbacks. */
static void state_free(void *opaque)
{
    dns_state *state = opaque;
    if (state == NULL)
        return;
    /* Stops libunbound's worker thread before we free what it points to. */
    if (state->ub != NULL)
        ub_ctx_delete(state->ub);
    list_free(&state->in_flight);
    list_free(&state->ready);
    free(state);
}

/* The resolver is built on first use, so setting up a ctx costs nothing
 * and configuration changes (which drop ctx->dns) take effect next time. */
static ms_status get_state(ms_ctx *ctx, dns_state **out)
{
    if (ctx->dns == NULL) {
        dns_state *state = calloc(1, sizeof *state);
        if (state == NULL)
            return MS_ERR_NOMEM;
        ms_status st = ms_dns_resolver_new(ctx, &state->ub);
        if (st != MS_OK) {
            free(state);
            return st;
        }
        ctx->dns = state;
        ctx->dns_free = state_free;
    }
    *out = ctx->dns;
    return MS_OK;
}

/* Moves a query to the ready queue with its answer: NULL when there was no
 * memory for it, which ms_dns_run then reports as MS_ERR_NOMEM rather than
 * let a caller take it for a DNS failure. */
static void make_ready(dns_state *state, pending *p, ms_dns_answer *answer)
{
    if (answer == NULL)
        state->out_of_memory = 1;
    list_remove(&state->in_flight, p);
    p->answer = answer;
    list_push(&state->ready, p);
}

static int same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 1 && a[la - 1] == '.')
        la--;
    if (lb > 1 && b[lb - 1] == '.')
        lb--;
    return la == lb && ms_ascii_strncasecmp(a, b, la) == 0;
}

static ms_dns_rcode map_rcode(const struct ub_result *r)
{
    if (r->bogus)
        return MS_DNS_SERVFAIL;
    switch (r->rcode) {
    case 0:
        return r->havedata ? MS_DNS_NOERROR : MS_DNS_NODATA;
    case 2:
        return MS_DNS_SERVFAIL;
    case 3:
        return MS_DNS_NXDOMAIN;
    default:
        return MS_DNS_ERROR;
    }
}

static ms_dns_dnssec_state map_dnssec(const struct ub_result *r)
{
    if (r->secure)
        return MS_DNS_DNSSEC_SECURE;
    return r->bogus ? MS_DNS_DNSSEC_BOGUS : MS_DNS_DNSSEC_INSECURE;
}

/* The answer for a result: MS_DNS_ERROR for malformed RDATA (no
 * half-decoded answers), NULL when memory ran out. */
static ms_dns_answer *answer_from_result(const pending *p, const struct ub_result *r)
{
    ms_dns_answer *a = ms_dns_answer_new(p->qname, p->qtype, map_rcode(r));
    if (a == NULL)
        return NULL;
    a->dnssec = map_dnssec(r);
    ms_status st = MS_OK;
    if (r->bogus && r->why_bogus != NULL && (a->why_bogus = ms_strdup(r->why_bogus)) == NULL)
        st = MS_ERR_NOMEM;
    if (st == MS_OK && r->canonname != NULL && !same_name(r->canonname, p->qname)) {
        if ((a->canonname = ms_strdup(r->canonname)) == NULL)
            st = MS_ERR_NOMEM;
        size_t len = a->canonname ? strlen(a->canonname) : 0;
        if (len > 1 && a->canonname[len - 1] == '.')
            a->canonname[len - 1] = '\0';
    }
    if (st == MS_OK && a->rcode == MS_DNS_NOERROR)
        st = ms_dns_decode_records(a, r);
    if (st != MS_OK) {
        ms_dns_answer_free(a);
        a = st == MS_ERR_NOMEM ? NULL : ms_dns_answer_new(p->qname, p->qtype, MS_DNS_ERROR);
    }
    return a;
}

/* libunbound's callback, called from inside ub_process. */
static void on_result(void *mydata, int err, struct ub_result *result)
{
    pending *p = mydata;
    ms_dns_answer *answer;
    if (err != 0 || result == NULL)
        answer = ms_dns_answer_new(p->qname, p->qtype, MS_DNS_ERROR);
    else
        answer = answer_from_result(p, result);
    if (result != NULL)
        ub_resolve_free(result);
    make_ready(p->state, p, answer);
}

static pending *pending_new(dns_state *state, const char *name, uint16_t type,
                            ms_dns_callback callback, void *arg)
{
    pending *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->qname = ms_strdup(name);
    if (p->qname == NULL) {
        free(p);
        return NULL;
    }
    p->state = state;
    p->qtype = type;
    p->callback = callback;
    p->arg = arg;
    return p;
}

/* A name we refuse gets its MS_DNS_ERROR answer through the ready queue,
 * like any other, without a packet being sent. */
static ms_status refuse(dns_state *state, pending *p)
{
    list_push(&state->in_flight, p);
    ms_dns_answer *answer = ms_dns_answer_new(p->qname, p->qtype, MS_DNS_ERROR);
    if (answer == NULL) {
        list_remove(&state->in_flight, p);
        pending_free(p);
        return MS_ERR_NOMEM;
    }
    make_ready(state, p, answer);
    return MS_OK;
}

ms_status ms_dns_submit(ms_ctx *ctx, const char *name, uint16_t type, ms_dns_callback callback,
                        void *arg)
{
    dns_state *state;
    if (ctx == NULL || name == NULL || callback == NULL)
        return MS_ERR_INVALID;
    ms_status st = get_state(ctx, &state);
    if (st != MS_OK)
        return st;
    pending *p = pending_new(state, name, type, callback, arg);
    if (p == NULL)
        return MS_ERR_NOMEM;
    if (!ms_dns_name_valid(name))
        return refuse(state, p);
    list_push(&state->in_flight, p);
    if (ub_resolve_async(state->ub, name, type, 1 /* IN */, p, on_result, &p->async_id) != 0) {
        list_remove(&state->in_flight, p);
        pending_free(p);
        return MS_ERR_DNS;
    }
    state->sent++;
    return MS_OK;
}

/* Calls the callbacks of everything answered so far. They may submit more
 * queries; those join this run. */
static void deliver_ready(dns_state *state)
{
    pending *p;
    while ((p = state->ready.head) != NULL) {
        list_remove(&state->ready, p);
        ms_dns_answer *answer = p->answer;
        p->answer = NULL;
        ms_dns_callback callback = p->callback;
        void *arg = p->arg;
        pending_free(p);
        callback(arg, answer);
    }
}

/* Gives up on every query still in flight with the given outcome. */
static void abandon_in_flight(dns_state *state, ms_dns_rcode rcode)
{
    pending *p;
    while ((p = state->in_flight.head) != NULL) {
        (void)ub_cancel(state->ub, p->async_id); /* it may have just finished */
        make_ready(state, p, ms_dns_answer_new(p->qname, p->qtype, rcode));
    }
}

/* Waits up to timeout_ms for libunbound's results and processes them.
 * Returns -1 when libunbound failed. */
static int wait_and_process(dns_state *state, long long timeout_ms)
{
    struct pollfd pfd = {.fd = ub_fd(state->ub), .events = POLLIN};
    int n = poll(&pfd, 1, timeout_ms > 60000 ? 60000 : (int)timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -1;
    if (n == 0)
        return 0;
    return ub_process(state->ub) == 0 ? 0 : -1;
}

ms_status ms_dns_run(ms_ctx *ctx)
{
    dns_state *state = ctx ? ctx->dns : NULL;
    if (ctx == NULL)
        return MS_ERR_INVALID;
    if (state == NULL)
        return MS_OK; /* nothing was ever submitted */
    if (state->running)
        return MS_ERR_INVALID; /* called from a callback: the outer run goes on */
    state->running = 1;
    ms_status status = MS_OK;
    /* One deadline for the whole run, dependent queries included: the
     * timeout bounds how long the caller waits, not each query. */
    long long deadline = ms_monotonic_ms() + ctx->timeout_ms;
    for (;;) {
        deliver_ready(state);
        if (state->in_flight.count == 0)
            break;
        long long left = deadline - ms_monotonic_ms();
        if (left <= 0) {
            abandon_in_flight(state, MS_DNS_TIMEOUT);
        } else if (wait_and_process(state, left) != 0) {
            abandon_in_flight(state, MS_DNS_ERROR);
            status = MS_ERR_DNS;
        }
    }
    state->running = 0;
    if (state->out_of_memory) {
        state->out_of_memory = 0;
        status = MS_ERR_NOMEM;
    }
    return status;
}

unsigned long ms_dns_queries_sent(const ms_ctx *ctx)
{
    const dns_state *state = ctx ? ctx->dns : NULL;
    return state ? state->sent : 0;
}

static void forget_in(pending_list *list, void *arg, struct ub_ctx *ub)
{
    pending *p = list->head;
    while (p != NULL) {
        pending *next = p->next;
        if (p->arg == arg) {
            if (p->answer == NULL)
                (void)ub_cancel(ub, p->async_id);
            list_remove(list, p);
            pending_free(p);
        }
        p = next;
    }
}

void ms_dns_forget_arg(ms_ctx *ctx, void *arg)
{
    dns_state *state = ctx ? ctx->dns : NULL;
    if (state == NULL)
        return;
    forget_in(&state->in_flight, arg, state->ub);
    forget_in(&state->ready, arg, state->ub);
}
