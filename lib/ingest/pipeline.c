/* Several cores for aggregate reports: reader threads read, decompress
 * and parse, each sending its reports down its own lane, with the kept
 * original gzip-compressed by the lane (as it came when it came so); one
 * writer thread owns the store and takes reports from the lanes one whole
 * report at a time. The writer is the one part that cannot run on more
 * than one core, so it does only what must be done in order: compressing
 * the originals there was a tenth of its time on an mbox's reports. Everything a
 * reader sends is queued in order and nothing waits for an answer, so a
 * reader parses its next report while the writer stores the last one:
 * their times overlap instead of adding up, for many small reports as for
 * one large one.
 *
 * A report travels as BEGIN (its metadata), batches of records and of the
 * original's bytes, and END (its ticket). The writer decides the report's
 * fate (new, duplicate, set aside) and hands the ticket back; the reader
 * collects tickets in order (agg_lane_done). A report the reader found
 * stored with the same bytes comes as its END alone (same_as_stored);
 * any other duplicate is known when the writer meets the identity key:
 * it then skips the rest of that report and raises a flag the reader
 * checks between chunks, so the reader stops sending it too (it parses on
 * only for the content digest the writer compares at END: a conflicting
 * duplicate).
 *
 * Records are packed into a batch (the parser's strings live only
 * during its callback): the strings and the used entries of a record's
 * arrays go to the batch's arena, the rest to a small packed_record, so a
 * report's records take about the bytes they hold, not three kilobytes
 * each. Small reports share a batch: a report's records travel as a range
 * of the batch (an ITEM_RECORDS item), and the reader fills the batch on
 * with the next report's; the batch goes back to the lane's pool once the
 * reader is done with it and the writer with its every range. Memory is
 * bounded: a reader waits while its lane's items in flight hold
 * PIPE_BYTES, or all PIPE_ITEMS batches are out. The bound holds a few
 * hundred small reports, so the readers go on while the writer writes a
 * group's rollups out and commits it (about a tenth of a second on the
 * bench's corpus): with a batch a report, 64 of them, the readers
 * waited then. Only the
 * writer uses the store; a reader that needs it for something else
 * (a TLS or failure report) sends a call (agg_lane_call).
 *
 * An idle writer is woken by the batch, not for every item (send), so a
 * reader's last few items may wait in its lane unseen. That is harmless
 * while the reader goes on (its next items or its own wait for the writer
 * wake it), but the writer may be waiting for exactly those items (the
 * end of the report it is storing, which it must finish before it serves
 * any other lane): a reader that waits for anything but the writer (for
 * work shared with the other readers) first hands its lane over
 * (agg_lane_hand_over), or the writer and every reader waiting for it
 * would wait as long as it does.
 *
 * The messages of an mbox that several readers share are stored in the
 * mbox's order: each reader marks where each of its messages begins (with
 * its number in that order) and ends, and the writer takes a message only
 * once every message before it is stored. The lanes are the reorder
 * buffer: a reader whose message must wait fills its lane and then waits,
 * so memory stays within PIPE_BYTES per lane. */
#include "ingest_internal.h"
#include "core/task.h"
#include "store/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum {
    PIPE_BYTES = 4 << 20,      /* bytes of records and originals in flight per lane */
    PIPE_ITEMS = 64,           /* record batches per lane (small reports share one) */
    BATCH_RECORDS = 256,
    WAKE_ITEMS = 8,            /* items queued before an idle writer is woken: two small reports */
    BATCH_ARENA = 2 << 20,     /* the largest record that bounded fields allow fits; also the
                                  largest piece of an original in one item */
};

/* A record as it travels: ms_report_agg_record without its fixed arrays, whose
 * used entries are in the batch's arena. */
typedef struct packed_record {
    const char *source_ip, *disposition, *dkim, *spf;
    const char *envelope_to, *envelope_from, *header_from;
    uint64_t count;
    long line;
    size_t reason_count, dkim_count, spf_count;
    const ms_report_agg_reason *reasons;
    const ms_report_agg_auth *dkim_results, *spf_results;
} packed_record;

typedef enum item_kind {
    ITEM_RECORDS, ITEM_RAW, ITEM_BEGIN, ITEM_END, ITEM_CALL,
    ITEM_ORDER_BEGIN, ITEM_ORDER_END /* an ordered message: its number in count */
} item_kind;

typedef struct item {
    item_kind kind;
    struct item *next;
    size_t count;            /* records, or raw bytes in the arena */
    size_t weight;           /* bytes counted in the lane's in_flight while it is queued */
    packed_record *records;  /* a batch's [BATCH_RECORDS] */
    char *arena;             /* record strings and entries, raw bytes, or the metadata's strings */
    size_t used, cap;
    /* ITEM_RECORDS: the records [first, first + count) of batch */
    struct item *batch;
    size_t first;
    unsigned refs;           /* a batch's: the reader's while it fills it, and its queued ranges' */
    /* ITEM_BEGIN */
    ms_report_agg_meta meta;
    ms_report_origin origin;
    /* ITEM_END */
    agg_ticket *ticket;
    /* ITEM_CALL */
    agg_call_fn call;
    void *call_arg;
    ms_status call_status;
} item;

/* One reader's way to the writer. Guarded by the pipe's lock. */
struct agg_lane {
    agg_pipe *pipe;
    pthread_cond_t freed;    /* the reader waits for a batch, a ticket, a call */
    int reader_waiting;
    item *head, *tail;       /* to the writer, in order */
    size_t queued;           /* items in that list */
    item *spare;             /* recycled batches */
    size_t allocated;
    size_t in_flight;        /* bytes the queued items hold (their weight) */
    item *filling;           /* the batch the reader fills */
    item *range;             /* the item its next range will travel in */
    size_t sent, sent_used;  /* its records and arena bytes sent in ranges so far (the reader's) */
    agg_ticket *done_head, *done_tail; /* finished tickets, in order */
    size_t outstanding;      /* tickets sent and not yet collected */
    int call_done;
    /* reports are numbered as the reader begins them */
    long begun;              /* the reader's side */
    atomic_long duplicate;   /* the number of the last report found stored already */
    long writing;            /* the writer's side */
    /* the reader's compressor of the original (deflate's state is a
     * quarter megabyte: made once, reset per report) */
    gz_writer gz;
    int gz_ready, compressing;
};

struct agg_pipe {
    ms_store *store;
    ms_task writer;
    /* Each side signals the other only when it is waiting: a wake-up is a
     * system call, and most items find the other side busy. */
    pthread_mutex_t lock;
    pthread_cond_t work;     /* the writer waits for items */
    int writer_waiting, stopping;
    agg_lane *lanes;
    unsigned lane_count;
    agg_lane *current;       /* the lane whose report or ordered message the writer is storing */
    uint64_t next_message;   /* the ordered message to store next (from 1) */
    int in_message;          /* the writer is inside an ordered message */
    unsigned next_lane;      /* where the search for the next report starts */
    /* the writer's report */
    int in_txn, skipping;
    ms_status report_status; /* the first store failure of the report */
    ms_report_agg_record unpacked;  /* the record handed to the store */
};

/* ---- items ---- */

static item *batch_new(void)
{
    item *it = calloc(1, sizeof *it);
    if (it != NULL) {
        it->cap = BATCH_ARENA;
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

/* With the lock held. */
static void wake_writer(agg_lane *l)
{
    if (l->pipe->writer_waiting && l->queued > 0)
        pthread_cond_signal(&l->pipe->work);
}

/* Waits (lock held) for the writer to change something of this lane. */
static void wait_writer(agg_lane *l)
{
    wake_writer(l); /* the lane handed over before waiting for it */
    l->reader_waiting = 1;
    pthread_cond_wait(&l->freed, &l->pipe->lock);
    l->reader_waiting = 0;
}

/* Waits (lock held) while the lane's items in flight hold PIPE_BYTES. */
static void wait_for_room(agg_lane *l)
{
    while (l->in_flight >= PIPE_BYTES)
        wait_writer(l);
}

/* A free record batch, waiting for room and while all PIPE_ITEMS are out. */
static item *take(agg_lane *l)
{
    pthread_mutex_t *lock = &l->pipe->lock;
    pthread_mutex_lock(lock);
    wait_for_room(l);
    while (l->spare == NULL && l->allocated >= PIPE_ITEMS)
        wait_writer(l);
    item *it = l->spare;
    if (it != NULL)
        l->spare = it->next;
    else
        l->allocated++;
    pthread_mutex_unlock(lock);
    if (it == NULL && (it = batch_new()) == NULL) {
        pthread_mutex_lock(lock);
        l->allocated--;
        pthread_mutex_unlock(lock);
        return NULL;
    }
    it->next = NULL;
    it->count = it->used = 0;
    it->refs = 1; /* the reader's */
    return it;
}

/* Queues the item. An idle writer is woken once a few items wait (or the
 * reader is about to wait for it): not for every item, since each wake-up
 * costs the reader (the busier thread) a system call and, often, the CPU
 * it was running on. An ordered message's marks wake it too: the reader
 * may go idle after its last message while another reader waits for the
 * writer to store it (that one's messages come after). */
static void send(agg_lane *l, item *it)
{
    pthread_mutex_lock(&l->pipe->lock);
    if (l->tail != NULL)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    l->queued++;
    l->in_flight += it->weight;
    if (it->batch != NULL)
        it->batch->refs++;
    if (it->kind == ITEM_CALL || it->kind == ITEM_ORDER_BEGIN || it->kind == ITEM_ORDER_END ||
        l->queued >= WAKE_ITEMS)
        wake_writer(l);
    pthread_mutex_unlock(&l->pipe->lock);
}

/* An ordered message's two marks, allocated together (agg_order_new);
 * the writer frees them when it is done with the END. */
struct agg_order {
    item begin, end;
};

static agg_order *order_of(item *end)
{
    return (agg_order *)((char *)end - offsetof(agg_order, end));
}

/* ---- the writer ---- */

static void note_failure(agg_pipe *p, ms_status st)
{
    if (p->report_status == MS_OK && st != MS_OK)
        p->report_status = st;
}

static void writer_begin(agg_pipe *p, agg_lane *l, const item *it)
{
    int duplicate = 0;
    l->writing++;
    p->report_status = MS_OK;
    ms_status st = ms_store_agg_begin(p->store, &it->meta, &it->origin, &duplicate);
    note_failure(p, st);
    if (st != MS_OK)
        return;
    if (duplicate) {
        p->skipping = 1;
        atomic_store(&l->duplicate, l->writing); /* the reader may stop reading it */
        return;
    }
    p->in_txn = 1;
}

static ms_status writer_commit(agg_pipe *p, const agg_ticket *t)
{
    ms_status st = p->report_status;
    if (st == MS_OK)
        st = ms_store_agg_digest(p->store, t->digest[0] ? t->digest : NULL, NULL, NULL);
    store_agg_original_digest(p->store, t->original_digest);
    if (st == MS_OK)
        return ms_store_commit(p->store); /* a failed commit has rolled back */
    ms_store_rollback(p->store);
    return st;
}

/* A report found stored already: the same content, or a conflicting one
 * (recorded by the store). A report the reader could not read to its end
 * has no digest to compare. */
static ms_status writer_duplicate(agg_pipe *p, agg_ticket *t)
{
    int conflicting = 0;
    ms_status st = MS_OK;
    if (!t->failed && t->digest[0] != '\0')
        st = ms_store_agg_digest(p->store, t->digest, &(ms_report_origin){t->file, t->path},
                                 &conflicting);
    t->outcome = conflicting ? MS_INGEST_CONFLICT : MS_INGEST_DUPLICATE;
    return st;
}

/* Stores the report, or rolls it back. The status is the store's failure
 * (the run stops), or that of the store refusing the report's data. */
static ms_status writer_store(agg_pipe *p, agg_ticket *t)
{
    if (!t->failed && p->in_txn)
        return writer_commit(p, t);
    if (p->in_txn)
        ms_store_rollback(p->store);
    if (!t->failed) /* begun but not opened: the store failed at BEGIN */
        return p->report_status != MS_OK ? p->report_status : MS_ERR_IO;
    return MS_OK;
}

/* The report's fate, written into its ticket. A report the store refused
 * (ms_store_report_fault: a count beyond the bounds, data the database
 * rejects) is set aside like one that could not be read, with the
 * store's reason: one report never stops the run. */
static void writer_end(agg_pipe *p, agg_ticket *t)
{
    ms_status st;
    if (t->same_as_stored) { /* the reader compared it with the stored one: it sent nothing else */
        t->outcome = MS_INGEST_DUPLICATE;
        t->status = MS_OK;
        return;
    }
    if (t->stored_before && !p->skipping && !t->failed) {
        /* Stored when the reader looked, deleted since: its records were
         * not sent, so it cannot be stored from this read. */
        t->failed = 1;
        ms_report_error_clear(&t->error);
        t->error = (ms_report_error){ms_strdup("the stored report with this identity was removed while "
                                               "this one was read: ingest it again"), 0, 0, -1};
    }
    if (p->skipping) {
        st = writer_duplicate(p, t);
    } else {
        st = writer_store(p, t);
        t->outcome = !t->failed && st == MS_OK ? MS_INGEST_NEW : MS_INGEST_FAILED;
        if (ms_store_report_fault(st)) {
            ms_report_error_clear(&t->error);
            t->error = (ms_report_error){ms_strdup(ms_store_error(p->store)), 0, 0, -1};
            st = MS_OK;
        }
        if (t->outcome == MS_INGEST_FAILED && st == MS_OK)
            st = ms_store_put_rejected(p->store, &(ms_report_origin){t->file, t->path}, "aggregate",
                                       &t->error, t->input_key);
    }
    /* The store refusing a conflict's or a rejected row (its origin is not
     * UTF-8, say) loses that row only: the report is counted all the same. */
    t->status = ms_store_report_fault(st) ? MS_OK : st;
    p->in_txn = p->skipping = 0;
}

/* The packed record as the store takes it, in the writer's one record. */
static const ms_report_agg_record *unpack(ms_report_agg_record *d, const packed_record *r)
{
    d->source_ip = r->source_ip;
    d->disposition = r->disposition;
    d->dkim = r->dkim;
    d->spf = r->spf;
    d->envelope_to = r->envelope_to;
    d->envelope_from = r->envelope_from;
    d->header_from = r->header_from;
    d->count = r->count;
    d->line = r->line;
    d->reason_count = r->reason_count;
    d->dkim_count = r->dkim_count;
    d->spf_count = r->spf_count;
    memcpy(d->reasons, r->reasons, r->reason_count * sizeof *r->reasons);
    memcpy(d->dkim_results, r->dkim_results, r->dkim_count * sizeof *r->dkim_results);
    memcpy(d->spf_results, r->spf_results, r->spf_count * sizeof *r->spf_results);
    return d;
}

static void writer_handle(agg_pipe *p, agg_lane *l, item *it)
{
    int open = p->in_txn && p->report_status == MS_OK;
    switch (it->kind) {
    case ITEM_RECORDS:
        for (size_t i = it->first; i < it->first + it->count && open && p->report_status == MS_OK; i++)
            note_failure(p, ms_store_agg_record(p->store, unpack(&p->unpacked, &it->batch->records[i])));
        break;
    case ITEM_RAW:
        if (open)
            note_failure(p, ms_store_raw_append(p->store, it->arena, it->count));
        break;
    case ITEM_BEGIN: writer_begin(p, l, it); break;
    case ITEM_END: writer_end(p, it->ticket); break;
    case ITEM_CALL: it->call_status = it->call(it->call_arg, p->store); break;
    case ITEM_ORDER_BEGIN: p->in_message = 1; break;
    case ITEM_ORDER_END:
        p->in_message = 0;
        p->next_message++;
        break;
    }
}

/* A batch one of its holders is done with: back to the pool when it was
 * the last. Lock held. */
static void batch_release(agg_lane *l, item *b)
{
    if (--b->refs == 0) {
        b->next = l->spare;
        l->spare = b;
    }
}

/* The item is done with: a range's batch released, a ticket to the
 * finished list, a BEGIN freed, a call answered. Lock held. */
static void writer_release(agg_lane *l, item *it)
{
    l->in_flight -= it->weight;
    if (it->kind == ITEM_RECORDS) {
        batch_release(l, it->batch);
        free(it);
    } else if (it->kind == ITEM_END) {
        agg_ticket *t = it->ticket;
        t->next = NULL;
        if (l->done_tail != NULL)
            l->done_tail->next = t;
        else
            l->done_head = t;
        l->done_tail = t;
    } else if (it->kind == ITEM_BEGIN || it->kind == ITEM_RAW) {
        item_free(it);
    } else if (it->kind == ITEM_CALL) {
        l->call_done = 1;
    } else if (it->kind == ITEM_ORDER_END) {
        free(order_of(it)); /* its BEGIN, before it in the lane, is released already */
    }
    if (l->reader_waiting)
        pthread_cond_signal(&l->freed);
}

/* Whether the writer can take the lane's first item: anything but an
 * ordered message whose turn has not come. */
static int lane_ready(const agg_pipe *p, const agg_lane *l)
{
    return l->head != NULL && (l->head->kind != ITEM_ORDER_BEGIN || l->head->count == p->next_message);
}

/* The lane to serve next (lock held): the one whose report or ordered
 * message is open, else the next one ready, in turn. NULL: wait. */
static agg_lane *pick_lane(agg_pipe *p)
{
    if (p->current != NULL)
        return lane_ready(p, p->current) ? p->current : NULL;
    for (unsigned i = 0; i < p->lane_count; i++) {
        agg_lane *l = &p->lanes[(p->next_lane + i) % p->lane_count];
        if (lane_ready(p, l)) {
            p->next_lane = (p->next_lane + i + 1) % p->lane_count;
            return l;
        }
    }
    return NULL;
}

/* Takes what the lane has queued, in one go: one lock for many items, and
 * the reader is not woken item by item. It stops before an ordered message
 * whose turn will not have come (the lane is ready: the first item can be
 * taken). */
static item *take_queue(const agg_pipe *p, agg_lane *l)
{
    uint64_t next = p->next_message;
    item *chain = l->head, *last = NULL, *it = chain;
    size_t taken = 0;
    for (; it != NULL; last = it, it = it->next, taken++)
        if (it->kind == ITEM_ORDER_BEGIN && it->count != next++)
            break;
    if (it == NULL) {
        l->head = l->tail = NULL;
        l->queued = 0;
    } else {
        last->next = NULL;
        l->head = it;
        l->queued -= taken;
    }
    return chain;
}

static void *writer_main(void *arg)
{
    agg_pipe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        agg_lane *l = pick_lane(p);
        if (l == NULL) {
            if (p->stopping && p->current == NULL)
                break;
            p->writer_waiting = 1;
            pthread_cond_wait(&p->work, &p->lock);
            p->writer_waiting = 0;
            continue;
        }
        item *chain = take_queue(p, l);
        pthread_mutex_unlock(&p->lock);

        for (item *it = chain; it != NULL; it = it->next) {
            if (it->kind == ITEM_BEGIN || it->kind == ITEM_ORDER_BEGIN)
                p->current = l; /* its items until END; only this thread reads it */
            writer_handle(p, l, it);
            if ((it->kind == ITEM_END && !p->in_message) || it->kind == ITEM_ORDER_END)
                p->current = NULL;
        }
        pthread_mutex_lock(&p->lock);
        for (item *it = chain, *next; it != NULL; it = next) {
            next = it->next; /* release reuses it */
            writer_release(l, it);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

ms_status agg_pipe_start(ms_store *store, unsigned lanes, agg_pipe **out)
{
    agg_pipe *p = calloc(1, sizeof *p);
    if (p == NULL || lanes == 0 || (p->lanes = calloc(lanes, sizeof *p->lanes)) == NULL) {
        free(p);
        return MS_ERR_NOMEM;
    }
    p->store = store;
    p->lane_count = lanes;
    p->next_message = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    for (unsigned i = 0; i < lanes; i++) {
        p->lanes[i].pipe = p;
        pthread_cond_init(&p->lanes[i].freed, NULL);
        atomic_init(&p->lanes[i].duplicate, 0);
    }
    if (!ms_task_try(&p->writer, writer_main, p)) {
        p->lane_count = 0; /* nothing to stop */
        agg_pipe_stop(p);
        return MS_ERR_NOMEM;
    }
    *out = p;
    return MS_OK;
}

agg_lane *agg_pipe_lane(agg_pipe *p, unsigned i)
{
    return &p->lanes[i];
}

static void lane_free(agg_lane *l)
{
    if (l->gz_ready)
        gz_writer_free(&l->gz);
    item_free(l->filling);
    free(l->range);
    for (item *it = l->spare, *next; it != NULL; it = next) {
        next = it->next;
        item_free(it);
    }
    for (agg_ticket *t = l->done_head, *next; t != NULL; t = next) {
        next = t->next;
        agg_ticket_free(t);
    }
    pthread_cond_destroy(&l->freed);
}

void agg_pipe_stop(agg_pipe *p)
{
    if (p == NULL)
        return;
    if (p->lane_count > 0) {
        pthread_mutex_lock(&p->lock);
        p->stopping = 1;
        pthread_cond_signal(&p->work);
        pthread_mutex_unlock(&p->lock);
        ms_task_join(&p->writer);
    }
    for (unsigned i = 0; i < p->lane_count; i++)
        lane_free(&p->lanes[i]);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    free(p->lanes);
    free(p);
}

/* Copies src into the item's arena; 0 when it is full. */
static int copy_string(item *b, const char **dst, const char *src)
{
    if (src == NULL) {
        *dst = NULL;
        return 1;
    }
    size_t n = strlen(src) + 1;
    if (n > b->cap - b->used)
        return 0;
    memcpy(b->arena + b->used, src, n);
    *dst = b->arena + b->used;
    b->used += n;
    return 1;
}

/* The metadata's and origin's strings, each a field of d or o. */
#define META_STRINGS(d, o)                                                                           \
    {&(d)->version, &(d)->org_name, &(d)->email, &(d)->extra_contact_info, &(d)->report_id,          \
     &(d)->generator, &(d)->errors, &(d)->domain, &(d)->adkim, &(d)->aspf, &(d)->p, &(d)->sp,          \
     &(d)->np, &(d)->pct, &(d)->fo, &(d)->testing, &(d)->discovery_method, &(d)->notes,             \
     &(o)->file, &(o)->path}

/* A BEGIN item holding copies of meta and origin in one allocation. */
static item *begin_item(const ms_report_agg_meta *meta, const ms_report_origin *origin)
{
    item *it = calloc(1, sizeof *it);
    if (it == NULL)
        return NULL;
    it->kind = ITEM_BEGIN;
    it->meta = *meta; /* the numbers; every string is replaced below */
    it->origin = *origin;
    const char **fields[] = META_STRINGS(&it->meta, &it->origin);
    size_t n = sizeof fields / sizeof fields[0];
    for (size_t i = 0; i < n; i++)
        it->cap += *fields[i] != NULL ? strlen(*fields[i]) + 1 : 0;
    if ((it->arena = malloc(it->cap ? it->cap : 1)) == NULL) {
        free(it);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        copy_string(it, fields[i], *fields[i]); /* fits: sized above */
    return it;
}

static ms_status send_raw(agg_lane *l, const void *data, size_t len);

static ms_status compressed_to_writer(void *arg, const void *data, size_t len)
{
    return send_raw(arg, data, len);
}

ms_status agg_lane_begin(agg_lane *l, const ms_report_agg_meta *meta, const ms_report_origin *origin,
                         int raw_is_gzip)
{
    l->compressing = !raw_is_gzip;
    if (l->compressing) {
        ms_status st = l->gz_ready ? gz_writer_reset(&l->gz) : gz_writer_init(&l->gz, compressed_to_writer, l);
        l->gz_ready = st == MS_OK;
        if (st != MS_OK)
            return st;
    }
    item *it = begin_item(meta, origin);
    if (it == NULL)
        return MS_ERR_NOMEM;
    l->begun++;
    send(l, it);
    return MS_OK;
}

int agg_lane_duplicate(agg_lane *l)
{
    return atomic_load(&l->duplicate) == l->begun;
}

/* The records of the batch being filled that are not sent yet, to the
 * writer as a range: its item was made before the first of them was
 * packed (agg_lane_record), so sending cannot fail. */
static void flush_records(agg_lane *l)
{
    item *b = l->filling;
    if (b == NULL || b->count == l->sent)
        return;
    item *range = l->range;
    l->range = NULL;
    *range = (item){.kind = ITEM_RECORDS, .batch = b, .first = l->sent, .count = b->count - l->sent,
                    .weight = (b->count - l->sent) * sizeof *b->records + (b->used - l->sent_used)};
    l->sent = b->count;
    l->sent_used = b->used;
    send(l, range);
}

/* The batch is full: its last range sent, the reader's hold on it given up. */
static void retire_batch(agg_lane *l)
{
    flush_records(l);
    pthread_mutex_lock(&l->pipe->lock);
    batch_release(l, l->filling);
    pthread_mutex_unlock(&l->pipe->lock);
    l->filling = NULL;
    l->sent = l->sent_used = 0;
}

/* n entries of size each from the arena, aligned for the entries' (all
 * pointer) fields; NULL when it is full. */
static void *arena_take(item *b, size_t n, size_t size)
{
    const size_t align = _Alignof(ms_report_agg_auth);
    size_t at = (b->used + align - 1) & ~(align - 1);
    if (at > b->cap || n * size > b->cap - at)
        return NULL;
    b->used = at + n * size;
    return b->arena + at;
}

static int copy_auths(item *b, const ms_report_agg_auth **dst, const ms_report_agg_auth *src, size_t n)
{
    ms_report_agg_auth *d = arena_take(b, n, sizeof *d);
    int ok = d != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = copy_string(b, &d[i].domain, src[i].domain) && copy_string(b, &d[i].selector, src[i].selector) &&
             copy_string(b, &d[i].scope, src[i].scope) && copy_string(b, &d[i].result, src[i].result) &&
             copy_string(b, &d[i].human_result, src[i].human_result);
    *dst = d;
    return ok;
}

static int copy_reasons(item *b, const ms_report_agg_reason **dst, const ms_report_agg_reason *src, size_t n)
{
    ms_report_agg_reason *d = arena_take(b, n, sizeof *d);
    int ok = d != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = copy_string(b, &d[i].type, src[i].type) && copy_string(b, &d[i].comment, src[i].comment);
    *dst = d;
    return ok;
}

/* The record packed into the batch's next slot; 0 when its arena is full. */
static int copy_record(item *b, const ms_report_agg_record *r)
{
    packed_record *d = &b->records[b->count];
    d->count = r->count;
    d->line = r->line;
    d->reason_count = r->reason_count;
    d->dkim_count = r->dkim_count;
    d->spf_count = r->spf_count;
    int ok = copy_string(b, &d->source_ip, r->source_ip) && copy_string(b, &d->disposition, r->disposition) &&
             copy_string(b, &d->dkim, r->dkim) && copy_string(b, &d->spf, r->spf) &&
             copy_string(b, &d->envelope_to, r->envelope_to) &&
             copy_string(b, &d->envelope_from, r->envelope_from) &&
             copy_string(b, &d->header_from, r->header_from) &&
             copy_reasons(b, &d->reasons, r->reasons, r->reason_count) &&
             copy_auths(b, &d->dkim_results, r->dkim_results, r->dkim_count) &&
             copy_auths(b, &d->spf_results, r->spf_results, r->spf_count);
    if (ok)
        b->count++;
    return ok;
}

ms_status agg_lane_record(agg_lane *l, const ms_report_agg_record *record)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (l->range == NULL && (l->range = malloc(sizeof *l->range)) == NULL)
            return MS_ERR_NOMEM;
        if (l->filling == NULL && (l->filling = take(l)) == NULL)
            return MS_ERR_NOMEM;
        size_t used = l->filling->used;
        if (copy_record(l->filling, record)) {
            if (l->filling->count == BATCH_RECORDS)
                retire_batch(l);
            return MS_OK;
        }
        l->filling->used = used; /* drop the partial copy, send the rest, retry in a fresh batch */
        retire_batch(l);
    }
    return MS_ERR_LIMIT;
}

/* An item holding a piece of the original, allocated to its size: a
 * small report's few kilobytes do not take a batch. */
static item *raw_item(agg_lane *l, const void *data, size_t len)
{
    pthread_mutex_lock(&l->pipe->lock);
    wait_for_room(l);
    pthread_mutex_unlock(&l->pipe->lock);
    item *it = calloc(1, sizeof *it);
    if (it == NULL || (it->arena = malloc(len)) == NULL) {
        free(it);
        return NULL;
    }
    it->kind = ITEM_RAW;
    it->count = it->weight = len;
    memcpy(it->arena, data, len);
    return it;
}

/* Bytes of the original as the writer stores them, in items of at most
 * BATCH_ARENA bytes. */
static ms_status send_raw(agg_lane *l, const void *data, size_t len)
{
    const char *bytes = data;
    flush_records(l); /* records go on while a large report is read */
    while (len > 0) {
        size_t n = len < BATCH_ARENA ? len : BATCH_ARENA;
        item *it = raw_item(l, bytes, n);
        if (it == NULL)
            return MS_ERR_NOMEM;
        bytes += n;
        len -= n;
        send(l, it);
    }
    return MS_OK;
}

ms_status agg_lane_raw(agg_lane *l, const void *data, size_t len)
{
    return l->compressing ? gz_writer_write(&l->gz, data, len) : send_raw(l, data, len);
}

ms_status agg_lane_raw_end(agg_lane *l)
{
    int compressing = l->compressing;
    l->compressing = 0;
    return compressing ? gz_writer_finish(&l->gz) : MS_OK;
}

/* A ticket travels as the END item it is allocated with. */
typedef struct ticket_box {
    item end;
    agg_ticket ticket;
} ticket_box;

static ticket_box *box_of(agg_ticket *t)
{
    return (ticket_box *)((char *)t - offsetof(ticket_box, ticket));
}

agg_ticket *agg_ticket_new(void)
{
    ticket_box *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->ticket.error = (ms_report_error){NULL, 0, 0, -1};
    return &b->ticket;
}

void agg_ticket_free(agg_ticket *t)
{
    if (t == NULL)
        return;
    free(t->file);
    free(t->path);
    free(t->org);
    free(t->report_id);
    free(t->domain);
    ms_report_error_clear(&t->error);
    free(box_of(t));
}

void agg_lane_end(agg_lane *l, agg_ticket *t)
{
    if (t->failed && l->filling != NULL) { /* nothing more of it is wanted */
        l->filling->count = l->sent;
        l->filling->used = l->sent_used;
    }
    flush_records(l);
    item *it = &box_of(t)->end;
    *it = (item){.kind = ITEM_END, .ticket = t};
    pthread_mutex_lock(&l->pipe->lock);
    l->outstanding++;
    pthread_mutex_unlock(&l->pipe->lock);
    send(l, it);
}

agg_ticket *agg_lane_done(agg_lane *l, int wait)
{
    pthread_mutex_lock(&l->pipe->lock);
    while (wait && l->done_head == NULL && l->outstanding > 0)
        wait_writer(l);
    agg_ticket *t = l->done_head;
    if (t != NULL) {
        l->done_head = t->next;
        if (l->done_head == NULL)
            l->done_tail = NULL;
        l->outstanding--;
    }
    pthread_mutex_unlock(&l->pipe->lock);
    return t;
}

ms_status agg_lane_call(agg_lane *l, agg_call_fn fn, void *arg)
{
    item it = {.kind = ITEM_CALL, .call = fn, .call_arg = arg};
    pthread_mutex_lock(&l->pipe->lock);
    l->call_done = 0;
    pthread_mutex_unlock(&l->pipe->lock);
    send(l, &it);
    pthread_mutex_lock(&l->pipe->lock);
    while (!l->call_done)
        wait_writer(l);
    pthread_mutex_unlock(&l->pipe->lock);
    return it.call_status;
}

agg_order *agg_order_new(void)
{
    return calloc(1, sizeof(agg_order));
}

void agg_lane_order_begin(agg_lane *l, agg_order *o, uint64_t number)
{
    o->begin = (item){.kind = ITEM_ORDER_BEGIN, .count = number};
    send(l, &o->begin);
}

void agg_lane_hand_over(agg_lane *l)
{
    flush_records(l);
    pthread_mutex_lock(&l->pipe->lock);
    wake_writer(l);
    pthread_mutex_unlock(&l->pipe->lock);
}

void agg_lane_order_end(agg_lane *l, agg_order *o)
{
    flush_records(l);
    o->end = (item){.kind = ITEM_ORDER_END};
    send(l, &o->end);
}
