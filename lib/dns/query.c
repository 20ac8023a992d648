/* Submitting queries and running them to completion.
 *
 * Every query handed to libunbound has a `pending` entry in the ctx's DNS
 * state until its answer is ready. Answers are not passed to callers from
 * inside libunbound's callback: they go to a ready queue first, and
 * ms_dns_run delivers them in the ctx's own thread, outside every lock.
 * That way a caller's callback may submit new queries, or fail to, without
 * re-entering libunbound, and answers made up locally (a bad name, a
 * timeout) take the same road as real ones.
 *
 * A state's queries go to a resolver: one libunbound context. Either the
 * ctx has one of its own, made on first use, and ms_dns_run reads the
 * answers itself (polls ub_fd, calls ub_process); or the ctx is attached to
 * a shared resolver (ms_dns_shared_new), used by many contexts in many
 * threads at once, whose dispatcher thread reads the answers and wakes the
 * run waiting for each. Either way the resolver's lock is held around every
 * libunbound call and every change to a list, so libunbound's callback
 * (inside ub_process) never runs while a query is cancelled and freed. */
#define _GNU_SOURCE /* pipe2 */
#include "dns_internal.h"

#include "core/lazy_unbound.h" /* loaded by ms_dns_resolver_new, before any of these calls */
#include "core/task.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct dns_state dns_state;
typedef struct pending pending;
struct pending {
    pending *next, *prev;
    dns_state *state;
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

/* One libunbound context and what the queries sent through it share. A
 * ctx's own resolver is one of these too, without a dispatcher. */
typedef struct ms_dns_shared resolver;
struct ms_dns_shared {
    pthread_mutex_t lock;  /* libunbound's calls, every attached state's lists, all below */
    struct ub_ctx *ub;     /* NULL until the first query of a shared resolver */
    ms_ctx *config;        /* a shared resolver's configuration (a clone); NULL otherwise */
    int shared;            /* answers are read by the dispatcher thread */
    int dispatching;       /* the dispatcher thread runs */
    ms_task dispatcher;
    int stop_pipe[2];      /* a byte written stops the dispatcher */
    int broken;            /* ub_process failed: no more answers will come */
    size_t refs;           /* attached states, plus the owner of a shared one */
    size_t in_flight;      /* queries libunbound has and nobody gave up on */
    size_t max_in_flight;  /* 0: no bound */
    dns_state *states;     /* attached, to wake them all when it breaks */
};

/* What the DNS module keeps per ms_ctx (ctx->dns). */
struct dns_state {
    resolver *res;
    dns_state *next, *prev;  /* in res->states */
    pthread_cond_t answered; /* an answer was made ready (shared resolvers) */
    pending_list in_flight;  /* handed to libunbound */
    pending_list ready;      /* answered, callback not yet called */
    unsigned long sent;
    int running;
    int out_of_memory; /* an answer could not be built: the run says so */
};

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

/* ---- resolvers ---------------------------------------------------------- */

static resolver *resolver_alloc(void)
{
    resolver *res = calloc(1, sizeof *res);
    if (res == NULL)
        return NULL;
    if (pthread_mutex_init(&res->lock, NULL) != 0) {
        free(res);
        return NULL;
    }
    res->stop_pipe[0] = res->stop_pipe[1] = -1;
    res->refs = 1; /* the caller's */
    return res;
}

/* Called with the lock held: no answer will come any more, so every run
 * waiting for one is woken to give up. */
static void mark_broken(resolver *res)
{
    res->broken = 1;
    for (dns_state *s = res->states; s != NULL; s = s->next)
        pthread_cond_signal(&s->answered);
}

/* A shared resolver's dispatcher: reads libunbound's answers as they come
 * and hands each to the state that asked (on_result), so that no run waits
 * for another's answers. */
static void *dispatch(void *arg)
{
    resolver *res = arg;
    struct pollfd fds[2] = {{.fd = ub_fd(res->ub), .events = POLLIN},
                            {.fd = res->stop_pipe[0], .events = POLLIN}};
    for (;;) {
        int n = poll(fds, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && fds[1].revents != 0)
            return NULL;
        pthread_mutex_lock(&res->lock);
        int failed = n < 0 || ub_process(res->ub) != 0;
        if (failed)
            mark_broken(res);
        pthread_mutex_unlock(&res->lock);
        if (failed)
            return NULL;
    }
}

static int start_dispatcher(resolver *res)
{
    /* not inherited by the programs a server runs (the milter's sendmail) */
    if (pipe2(res->stop_pipe, O_CLOEXEC) != 0)
        return -1;
    if (!ms_task_try(&res->dispatcher, dispatch, res)) {
        close(res->stop_pipe[0]);
        close(res->stop_pipe[1]);
        res->stop_pipe[0] = res->stop_pipe[1] = -1;
        return -1;
    }
    res->dispatching = 1;
    return 0;
}

/* Builds the libunbound context (and a shared resolver's dispatcher) from
 * config. Called with the lock held, or before anyone else sees res. */
static ms_status resolver_start(resolver *res, const ms_ctx *config)
{
    ms_status st = ms_dns_resolver_new(config, &res->ub);
    if (st != MS_OK)
        return st;
    if (res->shared && start_dispatcher(res) != 0) {
        ub_ctx_delete(res->ub);
        res->ub = NULL;
        return MS_ERR_NOMEM;
    }
    return MS_OK;
}

static void resolver_destroy(resolver *res)
{
    if (res->dispatching) {
        char stop = 1;
        while (write(res->stop_pipe[1], &stop, 1) < 0 && errno == EINTR)
            ;
        ms_task_join(&res->dispatcher);
    }
    if (res->stop_pipe[0] >= 0) {
        close(res->stop_pipe[0]);
        close(res->stop_pipe[1]);
    }
    /* Stops libunbound's worker thread; queries given up on die with it. */
    if (res->ub != NULL)
        ub_ctx_delete(res->ub);
    ms_ctx_free(res->config);
    pthread_mutex_destroy(&res->lock);
    free(res);
}

/* Drops one reference; the last one frees the resolver. */
static void resolver_release(resolver *res)
{
    pthread_mutex_lock(&res->lock);
    int last = --res->refs == 0;
    pthread_mutex_unlock(&res->lock);
    if (last)
        resolver_destroy(res);
}

/* ---- states --------------------------------------------------------------- */

/* A new state sending its queries through res (a reference taken). */
static dns_state *state_new(resolver *res)
{
    dns_state *state = calloc(1, sizeof *state);
    if (state == NULL)
        return NULL;
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc == 0) {
        /* the deadlines are ms_monotonic_ms's */
        rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        if (rc == 0)
            rc = pthread_cond_init(&state->answered, &attr);
        pthread_condattr_destroy(&attr);
    }
    if (rc != 0) {
        free(state);
        return NULL;
    }
    state->res = res;
    pthread_mutex_lock(&res->lock);
    res->refs++;
    state->next = res->states;
    if (res->states != NULL)
        res->states->prev = state;
    res->states = state;
    pthread_mutex_unlock(&res->lock);
    return state;
}

/* ctx->dns_free: queries never run are dropped without their callbacks. */
static void state_free(void *opaque)
{
    dns_state *state = opaque;
    if (state == NULL)
        return;
    resolver *res = state->res;
    pthread_mutex_lock(&res->lock);
    pending *p;
    while ((p = state->in_flight.head) != NULL) {
        if (res->ub != NULL)
            (void)ub_cancel(res->ub, p->async_id); /* its callback will not come */
        list_remove(&state->in_flight, p);
        res->in_flight--;
        pending_free(p);
    }
    while ((p = state->ready.head) != NULL) {
        list_remove(&state->ready, p);
        pending_free(p);
    }
    if (state->prev != NULL)
        state->prev->next = state->next;
    else
        res->states = state->next;
    if (state->next != NULL)
        state->next->prev = state->prev;
    pthread_mutex_unlock(&res->lock);
    pthread_cond_destroy(&state->answered);
    free(state);
    resolver_release(res);
}

/* Gives ctx the state, dropping the one it had (its own resolver, or
 * another shared one). */
static void ctx_set_state(ms_ctx *ctx, dns_state *state)
{
    if (ctx->dns_free != NULL)
        ctx->dns_free(ctx->dns);
    ctx->dns = state;
    ctx->dns_free = state_free;
}

/* A ctx's own resolver is built on first use, so setting up a ctx costs
 * nothing and configuration changes (which drop ctx->dns) take effect next
 * time. */
static ms_status get_state(ms_ctx *ctx, dns_state **out)
{
    if (ctx->dns == NULL) {
        resolver *res = resolver_alloc();
        if (res == NULL)
            return MS_ERR_NOMEM;
        ms_status st = resolver_start(res, ctx);
        dns_state *state = st == MS_OK ? state_new(res) : NULL;
        resolver_release(res); /* the state's reference keeps it */
        if (st != MS_OK)
            return st;
        if (state == NULL)
            return MS_ERR_NOMEM;
        ctx_set_state(ctx, state);
    }
    *out = ctx->dns;
    return MS_OK;
}

/* ---- the public face of shared resolvers ---------------------------------- */

ms_status ms_dns_shared_new(const ms_ctx *config, size_t max_in_flight, ms_dns_shared **out)
{
    if (config == NULL || out == NULL)
        return MS_ERR_INVALID;
    resolver *res = resolver_alloc();
    if (res == NULL)
        return MS_ERR_NOMEM;
    ms_status st = ms_ctx_clone(config, &res->config);
    if (st != MS_OK) {
        resolver_destroy(res);
        return st;
    }
    res->shared = 1;
    res->max_in_flight = max_in_flight;
    *out = res;
    return MS_OK;
}

ms_status ms_dns_shared_attach(ms_dns_shared *shared, ms_ctx *ctx)
{
    if (shared == NULL || ctx == NULL)
        return MS_ERR_INVALID;
    dns_state *state = state_new(shared);
    if (state == NULL)
        return MS_ERR_NOMEM;
    ctx_set_state(ctx, state);
    return MS_OK;
}

void ms_dns_shared_free(ms_dns_shared *shared)
{
    if (shared != NULL)
        resolver_release(shared);
}

/* ---- queries and answers -------------------------------------------------- */

/* Moves a query to the ready queue with its answer (the lock held): NULL
 * when there was no memory for it, which ms_dns_run then reports as
 * MS_ERR_NOMEM rather than let a caller take it for a DNS failure. */
static void make_ready(dns_state *state, pending *p, ms_dns_answer *answer)
{
    if (answer == NULL)
        state->out_of_memory = 1;
    list_remove(&state->in_flight, p);
    state->res->in_flight--;
    p->answer = answer;
    list_push(&state->ready, p);
    pthread_cond_signal(&state->answered);
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

/* libunbound's callback, called from inside ub_process (the lock held). */
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

/* A query we do not send (a name we refuse, a shared resolver at its bound)
 * gets its MS_DNS_ERROR answer through the ready queue, like any other. */
static ms_status answer_locally(dns_state *state, pending *p)
{
    p->answer = ms_dns_answer_new(p->qname, p->qtype, MS_DNS_ERROR);
    if (p->answer == NULL) {
        pending_free(p);
        return MS_ERR_NOMEM;
    }
    list_push(&state->ready, p);
    return MS_OK;
}

/* Hands p to libunbound (the lock held). */
static ms_status send_query(dns_state *state, pending *p)
{
    resolver *res = state->res;
    if (res->ub == NULL) {
        ms_status st = resolver_start(res, res->config); /* a shared one's first query */
        if (st != MS_OK) {
            pending_free(p);
            return st;
        }
    }
    if (res->broken) {
        pending_free(p);
        return MS_ERR_DNS;
    }
    if (res->max_in_flight != 0 && res->in_flight >= res->max_in_flight)
        return answer_locally(state, p);
    list_push(&state->in_flight, p);
    res->in_flight++;
    if (ub_resolve_async(res->ub, p->qname, p->qtype, 1 /* IN */, p, on_result, &p->async_id) !=
        0) {
        list_remove(&state->in_flight, p);
        res->in_flight--;
        pending_free(p);
        return MS_ERR_DNS;
    }
    state->sent++;
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
    pthread_mutex_lock(&state->res->lock);
    st = ms_dns_name_valid(name) ? send_query(state, p) : answer_locally(state, p);
    pthread_mutex_unlock(&state->res->lock);
    return st;
}

/* Calls the callbacks of everything answered so far, the lock released
 * around each. They may submit more queries; those join this run. */
static void deliver_ready(dns_state *state)
{
    pending *p;
    while ((p = state->ready.head) != NULL) {
        list_remove(&state->ready, p);
        ms_dns_answer *answer = p->answer;
        p->answer = NULL;
        ms_dns_callback callback = p->callback;
        void *arg = p->arg;
        pthread_mutex_unlock(&state->res->lock);
        pending_free(p);
        callback(arg, answer);
        pthread_mutex_lock(&state->res->lock);
    }
}

/* Gives up on every query still in flight with the given outcome. */
static void abandon_in_flight(dns_state *state, ms_dns_rcode rcode)
{
    pending *p;
    while ((p = state->in_flight.head) != NULL) {
        (void)ub_cancel(state->res->ub, p->async_id); /* it may have just finished */
        make_ready(state, p, ms_dns_answer_new(p->qname, p->qtype, rcode));
    }
}

/* Waits (the lock held, released while waiting) until the deadline or
 * until answers came. Returns -1 when no answer can come any more. */
static int wait_for_answers(dns_state *state, long long deadline_ms)
{
    resolver *res = state->res;
    if (res->shared) {
        /* the dispatcher reads the answers and signals */
        struct timespec until = {.tv_sec = (time_t)(deadline_ms / 1000),
                                 .tv_nsec = (long)(deadline_ms % 1000) * 1000000};
        if (!res->broken)
            (void)pthread_cond_timedwait(&state->answered, &res->lock, &until);
        return res->broken ? -1 : 0;
    }
    /* a ctx's own resolver: this thread reads them */
    long long left = deadline_ms - ms_monotonic_ms();
    struct pollfd pfd = {.fd = ub_fd(res->ub), .events = POLLIN};
    pthread_mutex_unlock(&res->lock);
    int n = poll(&pfd, 1, left > 60000 ? 60000 : left < 0 ? 0 : (int)left);
    int poll_errno = errno;
    pthread_mutex_lock(&res->lock);
    if (n < 0)
        return poll_errno == EINTR ? 0 : -1;
    if (n == 0)
        return 0;
    return ub_process(res->ub) == 0 ? 0 : -1;
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
    pthread_mutex_lock(&state->res->lock);
    for (;;) {
        deliver_ready(state);
        if (state->in_flight.count == 0)
            break;
        if (deadline - ms_monotonic_ms() <= 0) {
            abandon_in_flight(state, MS_DNS_TIMEOUT);
        } else if (wait_for_answers(state, deadline) != 0) {
            abandon_in_flight(state, MS_DNS_ERROR);
            status = MS_ERR_DNS;
        }
    }
    if (state->out_of_memory) {
        state->out_of_memory = 0;
        status = MS_ERR_NOMEM;
    }
    pthread_mutex_unlock(&state->res->lock);
    state->running = 0;
    return status;
}

unsigned long ms_dns_queries_sent(const ms_ctx *ctx)
{
    const dns_state *state = ctx ? ctx->dns : NULL;
    return state ? state->sent : 0;
}

static void forget_in(dns_state *state, pending_list *list, void *arg)
{
    pending *p = list->head;
    while (p != NULL) {
        pending *next = p->next;
        if (p->arg == arg) {
            if (list == &state->in_flight) {
                (void)ub_cancel(state->res->ub, p->async_id);
                state->res->in_flight--;
            }
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
    pthread_mutex_lock(&state->res->lock);
    forget_in(state, &state->in_flight, arg);
    forget_in(state, &state->ready, arg);
    pthread_mutex_unlock(&state->res->lock);
}
