/* Two cores for one report: the caller's thread reads, decompresses and
 * parses; a writer thread owns the store and the compressor of the kept
 * original. Records cross between them in batches (copied into the batch's
 * arena, since the parser's strings live only during its callback), so
 * parsing and storing overlap instead of adding up.
 *
 * The store handle is only ever used by the writer while reports flow;
 * the reader touches it only after agg_pipe_settle(), when the writer is
 * idle. Beginning a report is synchronous (a duplicate stops the reading);
 * committing is not: the reader goes on to the next report and collects
 * the commit's outcome later (agg_pipe_settle), so a run of small reports
 * does not wait twice per report. Memory is bounded: at most PIPE_ITEMS
 * batches exist, and the reader waits for a free one. */
#include "ingest_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    PIPE_ITEMS = 6,            /* batches in flight: bounds memory */
    BATCH_RECORDS = 256,
    BATCH_ARENA = 2 << 20      /* the largest record that bounded fields allow fits */
};

typedef enum item_kind { ITEM_RECORDS, ITEM_RAW, ITEM_BEGIN, ITEM_COMMIT, ITEM_ROLLBACK, ITEM_STOP } item_kind;

typedef struct item {
    item_kind kind;
    struct item *next;
    size_t count;            /* records, or raw bytes in the arena */
    ms_agg_record *records;  /* [BATCH_RECORDS] */
    char *arena;             /* record strings, or raw bytes */
    size_t used;
} item;

struct agg_pipe {
    ms_store *store;
    pthread_t writer;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    item *head, *tail;       /* to the writer, in order */
    item *spare;             /* recycled batches */
    size_t allocated;
    item *filling;           /* the reader's record batch */
    /* the synchronous request in flight */
    int replied;
    ms_status reply;
    int duplicate;
    const ms_agg_meta *meta;
    const ms_report_origin *origin;
    /* the last commit sent, until settled */
    int commit_sent, commit_done;
    ms_status commit_status;
    /* the writer's report */
    gz_writer raw;           /* one compressor, reset per report */
    int raw_ready;
    int in_txn;
    ms_status report_status; /* the first store failure of the report */
};

/* ---- items ---- */

static item *item_new(void)
{
    item *it = calloc(1, sizeof *it);
    if (it != NULL) {
        it->records = malloc(BATCH_RECORDS * sizeof *it->records);
        it->arena = malloc(BATCH_ARENA);
    }
    if (it == NULL || it->records == NULL || it->arena == NULL) {
        if (it != NULL) {
            free(it->records);
            free(it->arena);
        }
        free(it);
        return NULL;
    }
    return it;
}

static void item_free(item *it)
{
    if (it != NULL) {
        free(it->records);
        free(it->arena);
        free(it);
    }
}

/* A free batch, waiting while all PIPE_ITEMS are queued. */
static item *take(agg_pipe *p, item_kind kind)
{
    pthread_mutex_lock(&p->lock);
    while (p->spare == NULL && p->allocated >= PIPE_ITEMS)
        pthread_cond_wait(&p->changed, &p->lock);
    item *it = p->spare;
    if (it != NULL)
        p->spare = it->next;
    else
        p->allocated++;
    pthread_mutex_unlock(&p->lock);
    if (it == NULL && (it = item_new()) == NULL) {
        pthread_mutex_lock(&p->lock);
        p->allocated--;
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    it->kind = kind;
    it->next = NULL;
    it->count = 0;
    it->used = 0;
    return it;
}

static void send(agg_pipe *p, item *it)
{
    pthread_mutex_lock(&p->lock);
    if (p->tail != NULL)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

/* Sends a request and waits for the writer's answer. */
static ms_status request(agg_pipe *p, item_kind kind)
{
    item *it = take(p, kind);
    if (it == NULL)
        return MS_ERR_NOMEM;
    pthread_mutex_lock(&p->lock);
    p->replied = 0;
    pthread_mutex_unlock(&p->lock);
    send(p, it);
    pthread_mutex_lock(&p->lock);
    while (!p->replied)
        pthread_cond_wait(&p->changed, &p->lock);
    ms_status st = p->reply;
    pthread_mutex_unlock(&p->lock);
    return st;
}

/* ---- the writer ---- */

static ms_status raw_to_store(void *arg, const void *data, size_t len)
{
    return ms_store_raw_append(arg, data, len);
}

static void note_failure(agg_pipe *p, ms_status st)
{
    if (p->report_status == MS_OK && st != MS_OK)
        p->report_status = st;
}

static ms_status writer_begin(agg_pipe *p)
{
    p->duplicate = 0;
    p->report_status = MS_OK;
    ms_status st = ms_store_agg_begin(p->store, p->meta, p->origin, &p->duplicate);
    if (st != MS_OK || p->duplicate)
        return st;
    p->in_txn = 1;
    /* deflate's state is a quarter megabyte: made once, reset per report */
    st = p->raw_ready ? gz_writer_reset(&p->raw) : gz_writer_init(&p->raw, raw_to_store, p->store);
    p->raw_ready = st == MS_OK;
    note_failure(p, st);
    return st;
}

static ms_status writer_end(agg_pipe *p, int commit)
{
    ms_status st = p->report_status;
    if (p->in_txn && commit && st == MS_OK)
        st = gz_writer_finish(&p->raw);
    if (p->in_txn && commit && st == MS_OK)
        st = ms_store_commit(p->store); /* a failed commit has rolled back */
    else if (p->in_txn)
        ms_store_rollback(p->store);
    p->in_txn = 0;
    return commit ? st : MS_OK;
}

/* One item; returns its answer for synchronous ones. */
static ms_status writer_handle(agg_pipe *p, const item *it)
{
    switch (it->kind) {
    case ITEM_RECORDS:
        for (size_t i = 0; i < it->count && p->report_status == MS_OK && p->in_txn; i++)
            note_failure(p, ms_store_agg_record(p->store, &it->records[i]));
        return MS_OK;
    case ITEM_RAW:
        if (p->report_status == MS_OK && p->in_txn)
            note_failure(p, gz_writer_write(&p->raw, it->arena, it->count));
        return MS_OK;
    case ITEM_BEGIN: return writer_begin(p);
    case ITEM_COMMIT: return writer_end(p, 1);
    case ITEM_ROLLBACK: return writer_end(p, 0);
    case ITEM_STOP: return MS_OK;
    }
    return MS_OK;
}

static int is_request(item_kind kind)
{
    return kind == ITEM_BEGIN || kind == ITEM_ROLLBACK;
}

static void *writer_main(void *arg)
{
    agg_pipe *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->head == NULL)
            pthread_cond_wait(&p->changed, &p->lock);
        item *it = p->head;
        p->head = it->next;
        if (p->head == NULL)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);

        ms_status st = writer_handle(p, it);
        item_kind kind = it->kind;
        pthread_mutex_lock(&p->lock);
        if (is_request(kind)) {
            p->reply = st;
            p->replied = 1;
        }
        if (kind == ITEM_COMMIT) {
            p->commit_status = st;
            p->commit_done = 1;
        }
        it->next = p->spare;
        p->spare = it;
        pthread_cond_broadcast(&p->changed);
        pthread_mutex_unlock(&p->lock);
        if (kind == ITEM_STOP)
            return NULL;
    }
}

/* ---- the reader's side ---- */

ms_status agg_pipe_start(ms_store *store, agg_pipe **out)
{
    agg_pipe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return MS_ERR_NOMEM;
    p->store = store;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    if (pthread_create(&p->writer, NULL, writer_main, p) != 0) {
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->changed);
        free(p);
        return MS_ERR_NOMEM;
    }
    *out = p;
    return MS_OK;
}

void agg_pipe_stop(agg_pipe *p)
{
    if (p == NULL)
        return;
    item *stop = take(p, ITEM_STOP);
    if (stop == NULL) /* no memory even for the last item: make one the hard way */
        stop = calloc(1, sizeof *stop);
    if (stop != NULL) {
        stop->kind = ITEM_STOP;
        send(p, stop);
        pthread_join(p->writer, NULL);
    }
    if (p->raw_ready)
        gz_writer_free(&p->raw);
    item_free(p->filling);
    for (item *it = p->spare, *next; it != NULL; it = next) {
        next = it->next;
        item_free(it);
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->changed);
    free(p);
}

ms_status agg_pipe_begin(agg_pipe *p, const ms_agg_meta *meta, const ms_report_origin *origin,
                         int *duplicate)
{
    p->meta = meta; /* valid while the reader waits */
    p->origin = origin;
    ms_status st = request(p, ITEM_BEGIN);
    *duplicate = p->duplicate;
    return st;
}

static ms_status flush_records(agg_pipe *p)
{
    if (p->filling != NULL && p->filling->count > 0) {
        send(p, p->filling);
        p->filling = NULL;
    }
    return MS_OK;
}

static int copy_string(item *b, const char **dst, const char *src)
{
    if (src == NULL) {
        *dst = NULL;
        return 1;
    }
    size_t n = strlen(src) + 1;
    if (n > BATCH_ARENA - b->used)
        return 0;
    memcpy(b->arena + b->used, src, n);
    *dst = b->arena + b->used;
    b->used += n;
    return 1;
}

static int copy_auth(item *b, ms_agg_auth *d, const ms_agg_auth *s)
{
    return copy_string(b, &d->domain, s->domain) && copy_string(b, &d->selector, s->selector) &&
           copy_string(b, &d->scope, s->scope) && copy_string(b, &d->result, s->result) &&
           copy_string(b, &d->human_result, s->human_result);
}

/* The record into the batch's next slot; 0 when its arena is full. Only
 * the used parts of the arrays are copied. */
static int copy_record(item *b, const ms_agg_record *r)
{
    ms_agg_record *d = &b->records[b->count];
    d->count = r->count;
    d->line = r->line;
    d->reason_count = r->reason_count;
    d->dkim_count = r->dkim_count;
    d->spf_count = r->spf_count;
    int ok = copy_string(b, &d->source_ip, r->source_ip) && copy_string(b, &d->disposition, r->disposition) &&
             copy_string(b, &d->dkim, r->dkim) && copy_string(b, &d->spf, r->spf) &&
             copy_string(b, &d->envelope_to, r->envelope_to) &&
             copy_string(b, &d->envelope_from, r->envelope_from) &&
             copy_string(b, &d->header_from, r->header_from);
    for (size_t i = 0; ok && i < r->reason_count; i++)
        ok = copy_string(b, &d->reasons[i].type, r->reasons[i].type) &&
             copy_string(b, &d->reasons[i].comment, r->reasons[i].comment);
    for (size_t i = 0; ok && i < r->dkim_count; i++)
        ok = copy_auth(b, &d->dkim_results[i], &r->dkim_results[i]);
    for (size_t i = 0; ok && i < r->spf_count; i++)
        ok = copy_auth(b, &d->spf_results[i], &r->spf_results[i]);
    if (ok)
        b->count++;
    return ok;
}

ms_status agg_pipe_record(agg_pipe *p, const ms_agg_record *record)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (p->filling == NULL && (p->filling = take(p, ITEM_RECORDS)) == NULL)
            return MS_ERR_NOMEM;
        size_t used = p->filling->used;
        if (copy_record(p->filling, record)) {
            if (p->filling->count == BATCH_RECORDS)
                flush_records(p);
            return MS_OK;
        }
        p->filling->used = used; /* drop the partial copy, send the rest, retry in a fresh batch */
        flush_records(p);
    }
    return MS_ERR_LIMIT;
}

ms_status agg_pipe_raw(agg_pipe *p, const void *data, size_t len)
{
    const char *bytes = data;
    while (len > 0) {
        item *it = take(p, ITEM_RAW);
        if (it == NULL)
            return MS_ERR_NOMEM;
        it->count = len < BATCH_ARENA ? len : BATCH_ARENA;
        memcpy(it->arena, bytes, it->count);
        bytes += it->count;
        len -= it->count;
        send(p, it);
    }
    return MS_OK;
}

ms_status agg_pipe_rollback(agg_pipe *p)
{
    if (p->filling != NULL)
        p->filling->count = p->filling->used = 0; /* nothing of it is wanted */
    return request(p, ITEM_ROLLBACK);
}

ms_status agg_pipe_commit(agg_pipe *p)
{
    flush_records(p);
    item *it = take(p, ITEM_COMMIT);
    if (it == NULL)
        return MS_ERR_NOMEM;
    pthread_mutex_lock(&p->lock);
    p->commit_sent = 1;
    p->commit_done = 0;
    pthread_mutex_unlock(&p->lock);
    send(p, it);
    return MS_OK;
}

int agg_pipe_settle(agg_pipe *p, ms_status *status)
{
    pthread_mutex_lock(&p->lock);
    int had = p->commit_sent;
    while (p->commit_sent && !p->commit_done)
        pthread_cond_wait(&p->changed, &p->lock);
    *status = p->commit_status;
    p->commit_sent = 0;
    pthread_mutex_unlock(&p->lock);
    return had;
}
