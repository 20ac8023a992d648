/* Reports into the store: the walk finds each report, the matching parser
 * reads it, the store keeps it in one transaction per report.
 *
 * Reader threads (one per CPU but the writer's, up to INGEST_READERS_MAX) walk the same
 * paths and share the files between them by number: the walk meets files
 * in the same order in every thread, and each reads the files whose
 * number falls to it. One writer thread (pipeline.c) owns the store.
 *
 * Aggregate reports stream: bytes are read in chunks and pushed through
 * the parser, whose callbacks send the report's metadata (once its
 * identity is known) and each record, as it ends, down the reader's lane
 * to the writer, which stores it while the reader parses on — the next
 * report too: a reader never waits for the writer, and learns each
 * report's fate from its ticket, in order (collect()). A report already
 * stored is noticed by the reader itself, on a store connection of its
 * own, once the metadata is parsed: the rest is compared with the stored
 * original, not parsed (see "a report stored already" below). One stored
 * in this run is noticed when the writer meets its identity key, and the
 * reader stops sending it at the next chunk, parsing on only for its
 * content digest (a conflicting duplicate differs). TLS and failure
 * reports are small and read whole; the writer stores them between
 * aggregate reports (agg_lane_call).
 *
 * An mbox file is shared by the readers: the one whose file it is offers
 * it (share_mbox) and reads it, and every reader done with its own files
 * joins in. Each takes the next message from the splitter (under the
 * share lock: finding a message's end is a scan for the next "From "
 * line, far cheaper than parsing it), numbers it, and walks it; the
 * writer stores the messages in the mbox's order (agg_lane_order_begin),
 * so what one reader would store first (of two copies of a report, say)
 * is stored first. A reader that waits for an mbox to help with hands the
 * writer its lane first (share_wait): the writer may be waiting for the
 * end of that reader's last report.
 *
 * The tally and the caller's callbacks are shared: they are updated and
 * called under one lock (events), so the callbacks see one thread at a
 * time. */
#include "ingest_internal.h"
#include "core/task.h"
#include "report/mbox.h"
#include "store/internal.h"

#include "core/lazy_openssl.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The original held before the report's metadata is parsed. The metadata
 * opens every real report; a document that goes on this long without it
 * is not one we can key. */
enum { PENDING_RAW_MAX = 16 << 20 };
/* Records between two progress calls inside one large report. */
enum { PROGRESS_RECORDS = 1 << 16 };
/* Reader threads at most: past a few, the one writer is the limit. */
enum { INGEST_READERS_MAX = 4 };
/* The largest document compared byte for byte with the stored report of
 * its identity instead of being parsed (per reader); a larger one is
 * parsed to its end, as a new report is. */
enum { HOLD_MAX = 4 << 20 };
/* The most of a gzip stream's rest read ahead for its digest
 * (same_gzip_ahead): a small file's, read whole at once (WALK_CHUNK). */
enum { GZIP_AHEAD_MAX = 64 << 10 };

typedef struct ingest_run {
    ms_store *store;
    agg_pipe *pipe;
    const ms_ingest_callbacks *cb;
    ms_ingest_tally *tally;
    pthread_mutex_t events;    /* the tally and the callbacks */
    atomic_int store_status;   /* the store failed: the run stops */
    const char *const *paths;  /* what the readers walk */
    size_t path_count;
    unsigned readers;
    atomic_uint_least64_t files_claimed; /* what the walk met that a reader took (is_mine) */
    atomic_int wrote;          /* the store was written to: look-ups no longer share reads */
    /* the mbox file being shared (readers > 1) */
    pthread_mutex_t share_lock;
    pthread_cond_t share_changed; /* an mbox offered, a helper gone, a walk ended */
    struct mbox_job *job;         /* NULL: none to help with */
    uint64_t jobs_offered;        /* mbox files shared so far: each job's serial */
    unsigned walks_done;          /* readers whose walk has ended */
    uint64_t messages_cut;        /* ordered messages numbered so far */
} ingest_run;

/* An mbox file shared by the readers. Guarded by the share lock. */
typedef struct mbox_job {
    uint64_t serial; /* from 1, as offered */
    const char *file;
    int fd;
    mbox_split split;
    int exhausted;     /* no message left to take */
    unsigned helpers;  /* readers other than its owner reading it */
    atomic_long items; /* documents and skips made */
} mbox_job;

/* A SHA-256 being made; ok: it holds every byte given so far. */
typedef struct digest {
    EVP_MD_CTX *md;
    int ok;
    int has_sha256; /* md was set up for SHA-256 once: it is reused as it is */
} digest;

/* One reading thread and what it owns. */
typedef struct reader {
    ingest_run *run;
    agg_lane *lane;
    char *buf;                 /* INGEST_READ_CHUNK bytes */
    digest bytes;              /* of the document's bytes as read: its rejected row's key */
    digest stream;             /* of the gzip stream it came in, when it came as gzip */
    digest ahead;              /* stream's, and the rest of the stream read ahead */
    digest content;            /* of the aggregate report's parsed content */
    ms_buf content_buf;        /* content's next bytes, digested a block at a time */
    ms_store *peer;            /* the store on a connection of this reader's: look-ups */
    int peer_tried;
    ms_buf held;               /* the document's bytes while they may be compared (HOLD_MAX) */
    ms_buf held_gzip;          /* the gzip stream they came in, the same while it fits */
    unsigned index;            /* its lane's */
    uint64_t files_met;        /* files the walk met, this reader's or not */
    ms_status walk_status;
    ms_task thread;
} reader;

const char *ms_ingest_outcome_name(ms_ingest_outcome outcome)
{
    switch (outcome) {
    case MS_INGEST_NEW: return "new";
    case MS_INGEST_DUPLICATE: return "duplicate";
    case MS_INGEST_FAILED: return "failed";
    case MS_INGEST_CONFLICT: return "conflicting duplicate";
    }
    return "unknown";
}

static void set_error(ms_report_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(ms_report_error *err, const char *fmt, ...)
{
    if (err->message != NULL)
        return; /* keep the first, most specific reason */
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    err->message = ms_strdup(text);
}

static const char *doc_error(const ms_report_doc *doc)
{
    const char *why = ms_report_doc_error(doc);
    return why != NULL ? why : "read error";
}

/* ---- digests ----
 * Two SHA-256 digests, both made while reading (no second pass):
 *  - content: an aggregate report's published policy and every field of
 *    every record, as parsed. A report met again under a stored report's
 *    identity is compared by it: another value is a conflicting duplicate,
 *    while the same report in another wrapper or re-encoded (a BOM, white
 *    space, upper-case values) is a plain one.
 *  - bytes: the document as read (decompressed), for the key of a bad
 *    input's rejected row, with its origin: the same file found again at
 *    the same place is the same row. */

enum { CONTENT_BLOCK = 64 * 1024 }; /* content bytes digested at a time */

/* Once the context knows its digest, it is begun again with NULL (the
 * same digest): naming EVP_sha256() makes OpenSSL 3 look the algorithm up
 * among its providers every time, three times a report. */
static void digest_begin(digest *d)
{
    d->ok = d->md != NULL && EVP_DigestInit_ex(d->md, d->has_sha256 ? NULL : EVP_sha256(), NULL) == 1;
    d->has_sha256 = d->has_sha256 || d->ok;
}

static void digest_update(digest *d, const void *data, size_t len)
{
    d->ok = d->ok && EVP_DigestUpdate(d->md, data, len) == 1;
}

/* The hex digest, "" when it could not be made. */
static void digest_hex(digest *d, char out[INGEST_DIGEST_HEX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    out[0] = '\0';
    if (!d->ok || EVP_DigestFinal_ex(d->md, md, &len) != 1 || 2 * len >= INGEST_DIGEST_HEX)
        return;
    for (unsigned i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * len] = '\0';
    d->ok = 0; /* made: begun again before any other use */
}

/* A field of the content: its bytes and a terminator, or a mark for an
 * absent one, so that no two different reports give the same stream. */
static void content_add(reader *r, const char *field)
{
    ms_buf *b = &r->content_buf;
    if (field != NULL)
        ms_buf_append(b, field, strlen(field) + 1);
    else
        ms_buf_append(b, "\x01", 2);
    if (b->len >= CONTENT_BLOCK) {
        digest_update(&r->content, b->data, b->len);
        b->len = 0;
    }
}

static void content_auths(reader *r, const ms_report_agg_auth *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *fields[] = {a[i].domain, a[i].selector, a[i].scope, a[i].result, a[i].human_result};
        for (size_t j = 0; j < sizeof fields / sizeof fields[0]; j++)
            content_add(r, fields[j]);
    }
}

/* v in decimal at out, and a sep after it (0: none); returns the end. */
static char *put_decimal(char *out, uint64_t v, char sep)
{
    char digits[20]; /* UINT64_MAX has 20 */
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    while (n > 0)
        *out++ = digits[--n];
    if (sep != 0)
        *out++ = sep;
    return out;
}

static void content_record(reader *r, const ms_report_agg_record *rec)
{
    /* "count|reasons|dkim|spf", written without printf: this runs for
     * every record (the digest's bytes are as "%llu|%zu|%zu|%zu" made them) */
    char count[4 * 21];
    char *end = put_decimal(count, rec->count, '|');
    end = put_decimal(end, rec->reason_count, '|');
    end = put_decimal(end, rec->dkim_count, '|');
    *put_decimal(end, rec->spf_count, 0) = '\0';
    const char *fields[] = {count, rec->source_ip, rec->disposition, rec->dkim, rec->spf,
                            rec->envelope_to, rec->envelope_from, rec->header_from};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        content_add(r, fields[i]);
    for (size_t i = 0; i < rec->reason_count; i++) {
        content_add(r, rec->reasons[i].type);
        content_add(r, rec->reasons[i].comment);
    }
    content_auths(r, rec->dkim_results, rec->dkim_count);
    content_auths(r, rec->spf_results, rec->spf_count);
}

static void content_policy(reader *r, const ms_report_agg_meta *m)
{
    const char *fields[] = {m->adkim, m->aspf, m->p, m->sp, m->np, m->pct, m->fo, m->testing,
                            m->discovery_method};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        content_add(r, fields[i]);
}

static void digests_begin(reader *r)
{
    digest_begin(&r->bytes);
    digest_begin(&r->stream);
    digest_begin(&r->content);
    r->content_buf.len = 0;
}

/* The content digest (aggregate reports), the document's and the
 * input's key. */
static void digests_end(reader *r, const ms_report_origin *origin, char content[INGEST_DIGEST_HEX],
                        char bytes[INGEST_DIGEST_HEX], char input_key[INGEST_DIGEST_HEX])
{
    digest_update(&r->content, r->content_buf.data, r->content_buf.len);
    r->content.ok = r->content.ok && !r->content_buf.failed;
    digest_hex(&r->content, content);
    digest_hex(&r->bytes, bytes);
    const char *path = origin != NULL && origin->path != NULL ? origin->path : "";
    digest_begin(&r->bytes);
    digest_update(&r->bytes, path, strlen(path) + 1);
    digest_update(&r->bytes, bytes, strlen(bytes));
    digest_hex(&r->bytes, input_key);
}

static int run_failed(ingest_run *run)
{
    return atomic_load(&run->store_status) != MS_OK;
}

static void fail_run(ingest_run *run, ms_status st)
{
    int ok = MS_OK;
    atomic_compare_exchange_strong(&run->store_status, &ok, (int)st);
}

/* What the run ends with when the store failed with st: MS_ERR_NOMEM when
 * memory ran out (nothing wrong with the store), else MS_ERR_IO. */
static ms_status store_failure(ms_status st)
{
    return st == MS_ERR_NOMEM ? MS_ERR_NOMEM : MS_ERR_IO;
}

/* With the events lock held. */
static void progress_locked(ingest_run *run)
{
    if (run->cb != NULL && run->cb->progress != NULL)
        run->cb->progress(run->cb->arg, run->tally);
}

/* Adds records to the tally (negative: taken back) and shows progress. */
static void count_records(ingest_run *run, int64_t records)
{
    pthread_mutex_lock(&run->events);
    run->tally->records += (uint64_t)records;
    progress_locked(run);
    pthread_mutex_unlock(&run->events);
}

/* Counts the report's fate and tells the caller. records: what to take
 * back from the tally (a report not stored after all). */
static void conclude(ingest_run *run, const ms_ingest_event *ev, uint64_t records_back)
{
    if (ev->outcome != MS_INGEST_DUPLICATE) /* stored, set aside or a conflict recorded */
        atomic_store(&run->wrote, 1);
    pthread_mutex_lock(&run->events);
    run->tally->records -= records_back;
    switch (ev->outcome) {
    case MS_INGEST_NEW: run->tally->reports_new++; break;
    case MS_INGEST_DUPLICATE: run->tally->duplicates++; break;
    case MS_INGEST_CONFLICT: /* a duplicate, and counted as conflicting too */
        run->tally->duplicates++;
        run->tally->conflicting++;
        break;
    case MS_INGEST_FAILED: run->tally->failed++; break;
    }
    if (run->cb != NULL && run->cb->report != NULL)
        run->cb->report(run->cb->arg, ev);
    progress_locked(run);
    pthread_mutex_unlock(&run->events);
}

/* An aggregate report the writer has finished with. */
static void conclude_ticket(ingest_run *run, agg_ticket *t)
{
    if (t->status != MS_OK) {
        count_records(run, -(int64_t)t->records);
        fail_run(run, store_failure(t->status)); /* the run stops with the store's message */
        agg_ticket_free(t);
        return;
    }
    ms_report_origin origin = {t->file, t->path};
    ms_ingest_event ev = {.outcome = t->outcome, .kind = MS_REPORT_AGGREGATE, .origin = &origin,
                          .org = t->org, .report_id = t->report_id, .domain = t->domain,
                          .records = t->outcome == MS_INGEST_NEW ? t->records : 0, .error = &t->error};
    /* rolled back, or stored before: its records are not in the store */
    conclude(run, &ev, t->outcome == MS_INGEST_NEW ? 0 : t->records);
    agg_ticket_free(t);
}

/* Reports the aggregate reports the writer has finished for this reader;
 * wait: all of them. */
static void collect(reader *r, int wait)
{
    agg_ticket *t;
    while ((t = agg_lane_done(r->lane, wait)) != NULL)
        conclude_ticket(r->run, t);
}

/* ---- aggregate reports ---- */

typedef struct agg_ingest {
    reader *reader;
    const ms_report_origin *origin;
    agg_ticket *ticket;
    ms_report_agg_callbacks cb;
    ms_buf pending;   /* the original's bytes read before the metadata */
    int gzip;         /* the original is kept as the gzip stream it came in */
    int begun;        /* the metadata was parsed and the report sent */
    int duplicate;    /* the writer found it stored already */
    int holding;      /* the document's bytes so far are in reader->held */
    int holding_gzip; /* and their gzip stream in reader->held_gzip */
    int64_t stored_id; /* the reader found its identity stored (this id): compared, not parsed */
    char stored_original_digest[STORE_ORIGINAL_DIGEST_HEX]; /* that report's original digest ("": none) */
    int resumed;      /* it differs from the stored one: parsed after all, from its start */
    /* A callback refused the report (the parser knows only that): why, in
     * words made without memory, so that they survive its running out. */
    ms_status refused;
    char refused_why[160];
} agg_ingest;

/* ---- a report stored already ----
 * The reader asks its own connection to the store (store_open_peer)
 * whether the report's identity is stored, as soon as the metadata is
 * parsed. When it is, the parse stops there: the rest of the document is
 * read and held (up to HOLD_MAX) and compared, at its end, with the
 * stored report's bytes. A report stored with its original's digest
 * (reports.original_digest, schema version 8: the SHA-256 of the gzip
 * stream it came in when it came as gzip, else of its document) is
 * compared by it, the same digest made of what is read now: reading the
 * stored original and inflating it cost more (bench/report/reingest.sh).
 * The same report in another form (gzip then, plain XML now) differs
 * there and is parsed, as one re-encoded is. One stored before is
 * compared with its stored original: a document that came as gzip as the gzip stream it
 * came in (the stored original is that stream), a memcmp; otherwise, or
 * when those bytes differ, the stored original is decompressed and
 * compared with the document's bytes. The same bytes: a plain duplicate,
 * nothing of it sent to the writer. Other bytes (a conflicting duplicate,
 * or the same report re-encoded): the held document is parsed after all,
 * for the content digest the writer compares, as before. The connection
 * sees what the writer has made durable; a report stored in this run and
 * not yet synced is found by the writer, as before. */

/* The reader's connection to the store, opened at its first aggregate
 * report; NULL when it cannot be (the report is then parsed to its end). */
static ms_store *peer_store(reader *r)
{
    if (!r->peer_tried) {
        r->peer_tried = 1;
        if (store_open_peer(r->run->store, &r->peer) != MS_OK)
            r->peer = NULL;
    }
    return r->peer;
}

/* Keeps the chunk with the document's bytes before it; 0 when that would
 * pass HOLD_MAX (nothing kept). */
static int hold(agg_ingest *a, const char *data, size_t len)
{
    ms_buf *held = &a->reader->held;
    if (held->len + len > HOLD_MAX)
        return 0;
    ms_buf_append(held, data, len);
    return !held->failed;
}

/* Keeps the next bytes of the gzip stream for same_gzip_as_stored, while
 * they fit in HOLD_MAX. */
static void hold_gzip(agg_ingest *a, const char *data, size_t len)
{
    ms_buf *gz = &a->reader->held_gzip;
    a->holding_gzip = a->holding_gzip && gz->len + len <= HOLD_MAX;
    if (a->holding_gzip) {
        ms_buf_append(gz, data, len);
        a->holding_gzip = !gz->failed;
    }
}

/* Whether the report is stored already; its id in a->stored_id. A
 * connection that fails is not asked again. */
static int stored_already(agg_ingest *a, const ms_report_agg_meta *meta)
{
    reader *r = a->reader;
    int64_t id = 0;
    if (!a->holding || r->peer == NULL)
        return 0;
    /* While nothing is written (a corpus ingested again), the look-ups
     * share read transactions (store_agg_stored). */
    int share = !atomic_load(&r->run->wrote);
    if (store_agg_stored(r->peer, meta, share, &id, a->stored_original_digest) != MS_OK) {
        ms_store_close(r->peer);
        r->peer = NULL;
        return 0;
    }
    a->stored_id = id;
    if (id != 0 && a->gzip && a->stored_original_digest[0] == '\0') { /* the stream so far: what was pending */
        r->held_gzip.len = 0;
        a->holding_gzip = 1;
        hold_gzip(a, a->pending.data, a->pending.len);
    }
    return id != 0;
}

/* The stored original's chunks compared with the gzip stream held. */
typedef struct stored_gzip_compare {
    const ms_buf *held;
    size_t at;
    int differ;
} stored_gzip_compare;

static int compare_gzip_chunk(void *arg, const void *gz, size_t len)
{
    stored_gzip_compare *c = arg;
    c->differ = len > c->held->len - c->at || memcmp(c->held->data + c->at, gz, len) != 0;
    c->at += len;
    return c->differ;
}

/* Whether the gzip stream held is the stored report's original, byte for
 * byte. */
static int same_gzip_as_stored(agg_ingest *a)
{
    reader *r = a->reader;
    stored_gzip_compare c = {.held = &r->held_gzip};
    ms_status st = ms_store_raw_read(r->peer, a->stored_id, compare_gzip_chunk, &c);
    return st == MS_OK && !c.differ && c.at == r->held_gzip.len;
}

/* The stored original (gzip, one member or more) inflated and compared
 * with the held document as its chunks come from the store. */
typedef struct stored_compare {
    z_stream z;
    const ms_buf *held;
    size_t at;        /* bytes of held matched so far */
    int differ, ended;
    unsigned char *out;
    size_t out_size;
} stored_compare;

static int compare_chunk(void *arg, const void *gz, size_t len)
{
    stored_compare *c = arg;
    c->z.next_in = (Bytef *)(uintptr_t)gz;
    c->z.avail_in = (uInt)len;
    while (!c->differ) {
        if (c->ended && c->z.avail_in > 0) { /* another member follows */
            c->differ = inflateReset(&c->z) != Z_OK;
            c->ended = 0;
            continue;
        }
        c->z.next_out = c->out;
        c->z.avail_out = (uInt)c->out_size;
        int zr = inflate(&c->z, Z_NO_FLUSH);
        size_t got = c->out_size - c->z.avail_out;
        if ((zr != Z_OK && zr != Z_STREAM_END) || got > c->held->len - c->at ||
            memcmp(c->out, c->held->data + c->at, got) != 0) {
            c->differ = 1;
            break;
        }
        c->at += got;
        c->ended = zr == Z_STREAM_END;
        if (c->z.avail_in == 0 && c->z.avail_out > 0)
            break; /* this chunk is used up */
    }
    return c->differ;
}

/* Whether the held document is the stored report's original. out: a
 * buffer of out_size bytes to inflate into. */
static int same_as_stored(agg_ingest *a, unsigned char *out, size_t out_size)
{
    reader *r = a->reader;
    stored_compare c = {.held = &r->held, .out = out, .out_size = out_size};
    if (inflateInit2(&c.z, 15 + 32) != Z_OK)
        return 0;
    ms_status st = ms_store_raw_read(r->peer, a->stored_id, compare_chunk, &c);
    inflateEnd(&c.z);
    return st == MS_OK && !c.differ && c.ended && c.at == r->held.len;
}

/* Whether the document read is the stored report's original: by the
 * stored report's original digest (the running digest of the stream or
 * the document read is then complete); for a report stored without one,
 * as the gzip stream it came in or against the stored original inflated.
 * out: a buffer of out_size bytes to inflate into. */
static int same_bytes_as_stored(agg_ingest *a, unsigned char *out, size_t out_size)
{
    if (a->stored_original_digest[0] != '\0') {
        char read[INGEST_DIGEST_HEX];
        digest_hex(a->gzip ? &a->reader->stream : &a->reader->bytes, read);
        return strcmp(read, a->stored_original_digest) == 0;
    }
    return (a->holding_gzip && same_gzip_as_stored(a)) || same_as_stored(a, out, out_size);
}

/* The rest of a gzip stream read ahead (ms_report_doc_gzip_ahead), to a
 * digest. */
static int digest_ahead(void *arg, const void *gz, size_t len)
{
    digest_update(arg, gz, len);
    return 0;
}

/* A document that came as gzip, found stored with its stream's digest:
 * when the rest of the stream is at hand (a small file is read whole at
 * once), the digest is made there, without inflating it, and the same
 * digest ends the comparison (else the document is read on, and compared
 * at its end). Inflating the rest was a tenth of ingesting a stored
 * corpus again. */
static int same_gzip_ahead(agg_ingest *a, ms_report_doc *doc)
{
    reader *r = a->reader;
    if (!a->gzip || a->stored_original_digest[0] == '\0' || !r->stream.ok ||
        EVP_MD_CTX_copy_ex(r->ahead.md, r->stream.md) != 1)
        return 0;
    r->ahead.ok = 1;
    char whole[INGEST_DIGEST_HEX];
    if (ms_report_doc_gzip_ahead(doc, GZIP_AHEAD_MAX, digest_ahead, &r->ahead) != 1)
        return 0;
    digest_hex(&r->ahead, whole);
    return strcmp(whole, a->stored_original_digest) == 0;
}

/* The document differs from the stored report of its identity, or is too
 * large to compare: parsed after all from its first byte (held), with a
 * new parser, for the content digest. */
static ms_status resume_parse(agg_ingest *a, ms_report_agg_parser **parser)
{
    reader *r = a->reader;
    a->resumed = 1;
    a->holding = a->holding_gzip = 0;
    ms_report_agg_parser_free(*parser);
    *parser = NULL;
    digest_begin(&r->bytes); /* not made while the bytes were held */
    digest_update(&r->bytes, r->held.data, r->held.len);
    digest_begin(&r->content);
    r->content_buf.len = 0;
    ms_status st = ms_report_agg_parser_new(&a->cb, parser);
    if (st == MS_OK)
        st = ms_report_agg_parser_feed(*parser, r->held.data, r->held.len, &a->ticket->error);
    return st;
}

/* ---- reading one ---- */

/* A callback's refusal of the report: kept for ingest_aggregate; -1. */
__attribute__((format(printf, 3, 4))) static int refuse(agg_ingest *a, ms_status st,
                                                        const char *fmt, ...)
{
    if (a->refused == MS_OK) {
        a->refused = st;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->refused_why, sizeof a->refused_why, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int on_report_begin(void *arg, const ms_report_agg_meta *meta)
{
    agg_ingest *a = arg;
    agg_ticket *t = a->ticket;
    if (!a->resumed) {
        t->org = ms_strdup(meta->org_name);
        t->report_id = ms_strdup(meta->report_id);
        t->domain = ms_strdup(meta->domain);
        if (stored_already(a, meta))
            return MS_REPORT_AGG_STOP; /* the rest is compared, not parsed */
        a->holding = 0;
    }
    content_policy(a->reader, meta);
    ms_status st = agg_lane_begin(a->reader->lane, meta, a->origin, a->gzip);
    if (st != MS_OK)
        return refuse(a, st, "the report could not be queued: %s", ms_status_str(st));
    a->begun = 1;
    if (a->resumed) {
        /* stored already: the writer needs its content digest only */
        t->stored_before = 1;
        a->duplicate = 1;
        return 0;
    }
    st = agg_lane_raw(a->reader->lane, a->pending.data, a->pending.len);
    ms_buf_free(&a->pending);
    return st == MS_OK ? 0 : refuse(a, st, "the report's original could not be queued: %s",
                                    ms_status_str(st));
}

static int on_record(void *arg, const ms_report_agg_record *record)
{
    agg_ingest *a = arg;
    content_record(a->reader, record);
    if (a->duplicate)
        return 0; /* stored already: only its content digest is wanted */
    ms_status st = agg_lane_record(a->reader->lane, record);
    if (st != MS_OK)
        return refuse(a, st, "the record at line %ld could not be queued: %s", record->line,
                      ms_status_str(st));
    /* the tally learns of records by the batch: it is shared */
    if (++a->ticket->records % PROGRESS_RECORDS == 0)
        count_records(a->reader->run, PROGRESS_RECORDS);
    return 0;
}

/* The original's bytes: to the writer once the report is open; held
 * (bounded) until its metadata has been parsed; not wanted once the
 * report is known to be stored already. */
static ms_status keep_original(agg_ingest *a, const char *data, size_t len)
{
    if (a->stored_id != 0)
        hold_gzip(a, data, len);
    if (a->duplicate || a->stored_id != 0)
        return MS_OK;
    if (a->begun)
        return agg_lane_raw(a->reader->lane, data, len);
    if (a->pending.len + len > PENDING_RAW_MAX) {
        set_error(&a->ticket->error, "no report metadata in the first %d MiB", PENDING_RAW_MAX >> 20);
        return MS_ERR_LIMIT;
    }
    ms_buf_append(&a->pending, data, len);
    return a->pending.failed ? MS_ERR_NOMEM : MS_OK;
}

static int keep_gzip(void *arg, const void *gz, size_t len)
{
    agg_ingest *a = arg;
    digest_update(&a->reader->stream, gz, len);
    return keep_original(a, gz, len) != MS_OK;
}

/* What the next chunk of a report found stored leads to. */
typedef enum compared {
    COMPARED_HELD,  /* kept for the comparison at the end: read on */
    COMPARED_SAME,  /* the end, and the same bytes as the stored report: a plain duplicate */
    COMPARED_PARSE, /* it differs or outgrew HOLD_MAX: parsed after all, this chunk still to be */
} compared;

/* The next chunk (n bytes, 0 at the end) of a report found stored. */
static compared compare_next(agg_ingest *a, ms_report_agg_parser **parser, char *buf, size_t n,
                             ms_status *st)
{
    *st = MS_OK;
    if (n > 0 && hold(a, buf, n)) {
        if (a->stored_original_digest[0] != '\0' && !a->gzip) /* (a stream is digested as it comes) */
            digest_update(&a->reader->bytes, buf, n);
        return COMPARED_HELD;
    }
    if (n == 0 && same_bytes_as_stored(a, (unsigned char *)buf, INGEST_READ_CHUNK)) {
        a->ticket->same_as_stored = 1;
        return COMPARED_SAME;
    }
    *st = resume_parse(a, parser);
    return COMPARED_PARSE;
}

/* Reads the document through the parser, keeping the original and
 * making its digests. MS_OK when the report was read to its end. A report
 * the reader finds stored already is compared, not parsed (compare_next);
 * one the writer finds stored is parsed on for its content digest only:
 * nothing more of it goes to the writer. */
static ms_status agg_read(agg_ingest *a, ms_report_doc *doc, ms_report_agg_parser **parser, char *buf)
{
    for (;;) {
        ssize_t n = ms_report_doc_read(doc, buf, INGEST_READ_CHUNK);
        if (n < 0) {
            set_error(&a->ticket->error, "%s", doc_error(doc));
            return MS_ERR_IO;
        }
        if (a->stored_id != 0 && !a->resumed) { /* held, and compared at the end */
            ms_status st;
            compared c = compare_next(a, parser, buf, (size_t)n, &st);
            if (c == COMPARED_HELD)
                continue;
            if (c == COMPARED_SAME || st != MS_OK)
                return st;
        }
        digest_update(&a->reader->bytes, buf, (size_t)n);
        if (n == 0)
            return ms_report_agg_parser_finish(*parser, &a->ticket->error);
        if (a->holding && !hold(a, buf, (size_t)n))
            a->holding = 0; /* too large to compare: parsed as a new one is */
        int was_open = a->begun, was_stored = a->stored_id != 0;
        ms_status st = ms_report_agg_parser_feed(*parser, buf, (size_t)n, &a->ticket->error);
        if (st != MS_OK)
            return st;
        if (a->stored_id != 0 && !a->resumed) { /* found stored: the parse stopped at the metadata */
            if (!was_stored && same_gzip_ahead(a, doc)) {
                a->ticket->same_as_stored = 1;
                return MS_OK;
            }
            continue;
        }
        if (a->begun && !a->duplicate && agg_lane_duplicate(a->reader->lane))
            a->duplicate = 1; /* already stored: nothing more to keep */
        if (a->duplicate)
            continue;
        if (a->gzip)
            continue; /* the compressed bytes went to keep_gzip as they were read */
        /* A chunk that opened the report went out with the pending bytes. */
        st = was_open ? agg_lane_raw(a->reader->lane, buf, (size_t)n) : keep_original(a, buf, (size_t)n);
        if (st != MS_OK)
            return st;
    }
}

static void ingest_aggregate(reader *r, ms_report_doc *doc)
{
    collect(r, 0); /* what the writer finished meanwhile, in order */
    agg_ingest a = {.reader = r, .origin = ms_report_doc_origin(doc), .ticket = agg_ticket_new()};
    if (a.ticket == NULL) {
        fail_run(r->run, MS_ERR_NOMEM);
        return;
    }
    agg_ticket *t = a.ticket;
    t->file = ms_strdup(a.origin->file);
    t->path = ms_strdup(a.origin->path);
    digests_begin(r);
    if (r->held.failed)
        ms_buf_free(&r->held); /* memory ran out for the last one: try again */
    if (r->held_gzip.failed)
        ms_buf_free(&r->held_gzip);
    r->held.len = r->held_gzip.len = 0;
    a.holding = peer_store(r) != NULL;
    /* Received compressed (the usual case): kept as it came, not compressed again. */
    a.gzip = ms_report_doc_tap_gzip(doc, keep_gzip, &a);
    if (!a.gzip)
        a.pending.len = 0; /* whatever a refused tap was given */
    a.cb = (ms_report_agg_callbacks){.arg = &a, .report_begin = on_report_begin, .record = on_record};
    ms_report_agg_parser *parser = NULL;
    ms_status st = ms_report_agg_parser_new(&a.cb, &parser);
    if (st == MS_OK)
        st = agg_read(&a, doc, &parser, r->buf);
    if (a.refused != MS_OK) { /* the parser's reason would be "refused by the caller" */
        st = a.refused;
        ms_report_error_clear(&t->error);
        set_error(&t->error, "%s", a.refused_why);
    }
    if (st == MS_OK && !a.begun && !t->same_as_stored) {
        set_error(&t->error, "no report metadata and published policy");
        st = MS_ERR_INVALID;
    }
    if (st == MS_OK && a.begun && !a.duplicate) /* a duplicate's original is not stored */
        st = agg_lane_raw_end(r->lane);
    if (st != MS_OK) {
        set_error(&t->error, "%s", ms_status_str(st));
        t->failed = 1;
    }
    count_records(r->run, (int64_t)(t->records % PROGRESS_RECORDS)); /* the rest of them */
    char document[INGEST_DIGEST_HEX];
    digests_end(r, a.origin, t->digest, document, t->input_key);
    if (a.gzip)
        digest_hex(&r->stream, t->original_digest);
    else
        memcpy(t->original_digest, document, sizeof document);
    agg_lane_end(r->lane, t); /* the writer commits it or sets it aside */
    ms_report_agg_parser_free(parser);
    ms_buf_free(&a.pending);
}

/* ---- TLS and failure reports: read whole ---- */

/* The whole document, up to max bytes. */
static ms_status read_whole(ms_report_doc *doc, size_t max, ms_buf *out, ms_report_error *err)
{
    char chunk[64 * 1024];
    for (;;) {
        ssize_t n = ms_report_doc_read(doc, chunk, sizeof chunk);
        if (n < 0) {
            set_error(err, "%s", doc_error(doc));
            return MS_ERR_IO;
        }
        if (n == 0)
            return out->failed ? MS_ERR_NOMEM : MS_OK;
        if (out->len + (size_t)n > max) {
            set_error(err, "larger than %zu MiB", max >> 20);
            return MS_ERR_LIMIT;
        }
        ms_buf_append(out, chunk, (size_t)n);
    }
}

/* What differs between the kinds read whole: the size limit, the parser,
 * the store's call, and what the event names. */
typedef struct whole_kind {
    ms_report_kind kind;
    size_t max;
    ms_status (*parse)(const void *data, size_t len, void **out, ms_report_error *err);
    ms_status (*store)(ms_store *store, const void *report, ms_report_doc *doc, const ms_buf *gz,
                       int *duplicate);
    void (*describe)(const void *report, ms_ingest_event *ev);
    void (*free)(void *report);
} whole_kind;

static ms_status tlsrpt_parse(const void *data, size_t len, void **out, ms_report_error *err)
{
    return ms_report_tlsrpt_parse(data, len, (ms_report_tlsrpt **)out, err);
}

static ms_status tlsrpt_store(ms_store *store, const void *report, ms_report_doc *doc, const ms_buf *gz,
                              int *duplicate)
{
    return ms_store_put_tlsrpt(store, report, ms_report_doc_origin(doc), gz->data, gz->len, duplicate);
}

static void tlsrpt_describe(const void *report, ms_ingest_event *ev)
{
    const ms_report_tlsrpt *r = report;
    ev->org = r->org_name;
    ev->report_id = r->report_id;
    ev->domain = r->policy_count > 0 ? r->policies[0].policy_domain : NULL;
}

static void tlsrpt_free(void *report)
{
    ms_report_tlsrpt_free(report);
}

static ms_status failure_parse(const void *data, size_t len, void **out, ms_report_error *err)
{
    return ms_report_failure_parse(data, len, (ms_report_failure **)out, err);
}

static ms_status failure_store(ms_store *store, const void *report, ms_report_doc *doc, const ms_buf *gz,
                               int *duplicate)
{
    return ms_store_put_failure(store, report, ms_report_doc_message_key(doc), ms_report_doc_origin(doc),
                                gz->data, gz->len, duplicate);
}

static void failure_describe(const void *report, ms_ingest_event *ev)
{
    const ms_report_failure *r = report;
    ev->org = r->reporting_mta;
    ev->report_id = r->message_id;
    ev->domain = r->reported_domain;
    ev->records = 1;
}

static void failure_free(void *report)
{
    ms_report_failure_free(report);
}

static const whole_kind TLSRPT = {MS_REPORT_TLSRPT, MS_REPORT_TLSRPT_MAX, tlsrpt_parse, tlsrpt_store,
                                  tlsrpt_describe, tlsrpt_free};
static const whole_kind FAILURE = {MS_REPORT_FAILURE, MS_REPORT_MESSAGE_MAX, failure_parse, failure_store,
                                   failure_describe, failure_free};

/* What the writer does with a report read whole: store it, or set it
 * aside when it could not be read. */
typedef struct whole_job {
    const whole_kind *k;
    ms_report_doc *doc;
    void *report;        /* NULL: set aside with err */
    const ms_buf *gz;
    ms_report_error *err;
    const char *input_key;
    int duplicate;
    int refused;         /* the store refused the report's data: set aside with its reason */
} whole_job;

static ms_status store_whole(void *arg, ms_store *store)
{
    whole_job *j = arg;
    if (j->report != NULL) {
        ms_status st = j->k->store(store, j->report, j->doc, j->gz, &j->duplicate);
        if (!ms_store_report_fault(st))
            return st;
        j->refused = 1;
        set_error(j->err, "%s", ms_store_error(store));
    }
    return ms_store_put_rejected(store, ms_report_doc_origin(j->doc), ms_report_kind_name(j->k->kind),
                                 j->err, j->input_key);
}

static void ingest_whole(reader *r, ms_report_doc *doc, const whole_kind *k)
{
    ingest_run *run = r->run;
    collect(r, 1); /* the events in order */
    ms_report_error err = {NULL, 0, 0, -1};
    ms_buf text = MS_BUF_INIT, gz = MS_BUF_INIT;
    void *report = NULL;
    ms_status st = read_whole(doc, k->max, &text, &err);
    /* content: aggregate reports only */
    char content[INGEST_DIGEST_HEX], bytes[INGEST_DIGEST_HEX], input_key[INGEST_DIGEST_HEX];
    digests_begin(r);
    digest_update(&r->bytes, text.data, text.len);
    digests_end(r, ms_report_doc_origin(doc), content, bytes, input_key);
    if (st == MS_OK)
        st = k->parse(text.data, text.len, &report, &err);
    if (st == MS_OK)
        st = gz_compress_buffer(text.data, text.len, &gz);
    if (st != MS_OK)
        set_error(&err, "%s", ms_status_str(st));
    whole_job job = {k, doc, st == MS_OK ? report : NULL, &gz, &err, input_key, 0, 0};
    ms_status stored = agg_lane_call(r->lane, store_whole, &job);
    if (stored != MS_OK && !ms_store_report_fault(stored)) /* else only its rejected row is lost */
        fail_run(run, store_failure(stored));

    int failed = st != MS_OK || job.refused;
    ms_report_error none = {NULL, 0, 0, -1};
    ms_ingest_event ev = {
        .outcome = failed ? MS_INGEST_FAILED : job.duplicate ? MS_INGEST_DUPLICATE : MS_INGEST_NEW,
        .kind = k->kind, .origin = ms_report_doc_origin(doc), .error = failed ? &err : &none};
    if (report != NULL)
        k->describe(report, &ev);
    if (failed)
        ev.records = 0;
    if (!run_failed(run))
        conclude(run, &ev, 0);
    k->free(report);
    ms_buf_free(&text);
    ms_buf_free(&gz);
    ms_report_error_clear(&err);
}

/* ---- the walk's callbacks ---- */

static int on_document(void *arg, ms_report_doc *doc)
{
    reader *r = arg;
    switch (ms_report_doc_kind(doc)) {
    case MS_REPORT_AGGREGATE: ingest_aggregate(r, doc); break;
    case MS_REPORT_TLSRPT: ingest_whole(r, doc, &TLSRPT); break;
    case MS_REPORT_FAILURE: ingest_whole(r, doc, &FAILURE); break;
    }
    return run_failed(r->run); /* a failing store stops the walk */
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    ingest_run *run = ((reader *)arg)->run;
    pthread_mutex_lock(&run->events);
    run->tally->skipped++;
    if (run->cb != NULL && run->cb->skipped != NULL)
        run->cb->skipped(run->cb->arg, origin, reason);
    pthread_mutex_unlock(&run->events);
}

static void on_file(void *arg, const char *path, int64_t size)
{
    (void)path;
    ingest_run *run = ((reader *)arg)->run;
    pthread_mutex_lock(&run->events);
    run->tally->files++;
    run->tally->bytes += size > 0 ? (uint64_t)size : 0;
    progress_locked(run);
    pthread_mutex_unlock(&run->events);
}

/* Every reader walks all paths, in the same order; each file (or
 * anything the walk would report about a path) is the reader's that
 * claims its number first: the next to be claimed. A reader meets the
 * number only once all before it are claimed (by itself or another), so
 * exactly one reader takes each, and a reader busy with a large file
 * leaves the next ones to the others. Taken in turn instead (the number
 * modulo the readers), a reader given the larger files read on alone at
 * the end of the run while the other had long finished. */
static int is_mine(void *arg, const char *path)
{
    (void)path;
    reader *r = arg;
    uint64_t number = r->files_met++;
    return atomic_compare_exchange_strong(&r->run->files_claimed, &number, number + 1);
}

static ms_report_walk_callbacks walk_callbacks(reader *r)
{
    return (ms_report_walk_callbacks){.arg = r, .document = on_document, .skipped = on_skipped,
                                      .file = on_file, .want = r->run->readers > 1 ? is_mine : NULL};
}

/* ---- an mbox shared by the readers ---- */

/* Waits for the share to change (lock held). Every reader's wait there
 * goes through here: the lane is handed over first, since the writer may
 * be waiting for this reader's items (the end of its last report) and
 * serves no other lane meanwhile, so the readers that wait for the
 * writer (and the one that would wake this one) would wait forever.
 * (The share lock is taken before the pipe's, never while it is held.) */
static void share_wait(reader *r)
{
    agg_lane_hand_over(r->lane);
    pthread_cond_wait(&r->run->share_changed, &r->run->share_lock);
}

/* The next message of the job, numbered in the run's order: 1, 0 when
 * none is left, -1 when the mbox could not be read (*after: the messages
 * before). Share lock held. */
static int take_message(ingest_run *run, mbox_job *j, mbox_message *m, uint64_t *number, unsigned *after)
{
    int got = j->exhausted || run_failed(run) ? 0 : mbox_split_next(&j->split, m);
    if (got <= 0)
        j->exhausted = 1;
    if (got != 0)
        *number = ++run->messages_cut;
    *after = j->split.number;
    return got;
}

/* Reads messages of the job, one at a time, until none is left. */
static void mbox_work(reader *r, mbox_job *j, mbox_reader *mr)
{
    ingest_run *run = r->run;
    ms_report_walk_callbacks wcb = walk_callbacks(r);
    for (;;) {
        /* made before the number is taken: a number taken is always sent */
        agg_order *order = agg_order_new();
        mbox_message m;
        uint64_t number = 0;
        unsigned after = 0;
        int got = 0;
        pthread_mutex_lock(&run->share_lock);
        if (order != NULL)
            got = take_message(run, j, &m, &number, &after);
        pthread_mutex_unlock(&run->share_lock);
        if (order == NULL)
            fail_run(run, MS_ERR_NOMEM);
        if (got == 0) {
            free(order);
            return;
        }
        unsigned items = 0;
        int stopped = 0;
        agg_lane_order_begin(r->lane, order, number);
        ms_status st = got > 0 ? mbox_reader_walk(mr, j->file, &m, &wcb, &items, &stopped)
                               : mbox_reader_unreadable(j->file, after, "read error", &wcb, &items);
        agg_lane_order_end(r->lane, order);
        atomic_fetch_add(&j->items, (long)items);
        if (st != MS_OK)
            fail_run(run, st);
        if (got < 0)
            return;
    }
}

/* The walk met an mbox file of this reader's: offered to the other
 * readers and read with them. The documents and skips made, or -1 when
 * the walk is to read it (another mbox is being shared, or it cannot be
 * opened again). */
static long share_mbox(void *arg, const char *file, int fd, int64_t size)
{
    reader *r = arg;
    ingest_run *run = r->run;
    mbox_job *j = malloc(sizeof *j);
    mbox_reader *mr = j != NULL ? mbox_reader_open(fd, NULL, size) : NULL;
    if (mr == NULL || mbox_split_init(&j->split, fd, NULL, size) != 0) {
        mbox_reader_close(mr);
        free(j);
        return -1;
    }
    j->file = file;
    j->fd = fd;
    j->exhausted = 0;
    j->helpers = 0;
    atomic_init(&j->items, 0);
    pthread_mutex_lock(&run->share_lock);
    int taken = run->job == NULL;
    if (taken) {
        j->serial = ++run->jobs_offered;
        run->job = j;
        pthread_cond_broadcast(&run->share_changed);
    }
    pthread_mutex_unlock(&run->share_lock);
    if (taken)
        mbox_work(r, j, mr);
    mbox_reader_close(mr);
    if (!taken) {
        free(j);
        return -1;
    }
    pthread_mutex_lock(&run->share_lock);
    while (j->helpers > 0) /* they read its file descriptor */
        share_wait(r);
    run->job = NULL;
    pthread_cond_broadcast(&run->share_changed);
    pthread_mutex_unlock(&run->share_lock);
    long items = atomic_load(&j->items);
    free(j);
    return items;
}

/* Reads the job's messages with its owner and the other helpers. */
static void help_with(reader *r, mbox_job *j)
{
    mbox_reader *mr = mbox_reader_open(j->fd, NULL, j->split.size);
    if (mr != NULL)
        mbox_work(r, j, mr);
    mbox_reader_close(mr); /* not opened (no memory): the others read it */
}

/* A reader whose walk has ended helps with each mbox offered, once, until
 * every walk has ended (no mbox can be offered any more). */
static void help_with_mboxes(reader *r)
{
    ingest_run *run = r->run;
    uint64_t helped = 0; /* the serial of the last job helped with */
    pthread_mutex_lock(&run->share_lock);
    run->walks_done++;
    pthread_cond_broadcast(&run->share_changed);
    while (run->walks_done < run->readers) {
        mbox_job *j = run->job;
        if (j == NULL || j->exhausted || j->serial == helped) {
            share_wait(r);
            continue;
        }
        helped = j->serial;
        j->helpers++;
        pthread_mutex_unlock(&run->share_lock);
        help_with(r, j);
        pthread_mutex_lock(&run->share_lock);
        j->helpers--;
        pthread_cond_broadcast(&run->share_changed);
    }
    pthread_mutex_unlock(&run->share_lock);
}

static void *reader_main(void *arg)
{
    reader *r = arg;
    ms_report_walk_callbacks wcb = walk_callbacks(r);
    const mbox_share share = {share_mbox, r};
    r->walk_status = report_walk_sharing(r->run->paths, r->run->path_count, &wcb,
                                         r->run->readers > 1 ? &share : NULL);
    if (r->run->readers > 1)
        help_with_mboxes(r);
    collect(r, 1);
    return NULL;
}

/* How many readers: one per CPU, at most INGEST_READERS_MAX. The writer
 * needs about a third of a reader's CPU time (SQLite, small reports), so
 * it does not get a core of its own: on two cores two readers and the
 * writer measured 12% faster than one reader and the writer. */
static unsigned readers_for(const ms_ingest_callbacks *cb)
{
    if (cb != NULL && cb->readers > 0)
        return cb->readers < INGEST_READERS_MAX ? cb->readers : INGEST_READERS_MAX;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > INGEST_READERS_MAX ? INGEST_READERS_MAX : (unsigned)cpus;
}

static ms_status run_begin(ingest_run *run, ms_store *store, const ms_ingest_callbacks *cb,
                           ms_ingest_tally *tally, unsigned readers)
{
    *run = (ingest_run){.store = store, .cb = cb, .tally = tally, .readers = readers};
    atomic_init(&run->store_status, MS_OK);
    atomic_init(&run->files_claimed, 0);
    atomic_init(&run->wrote, 0);
    pthread_mutex_init(&run->events, NULL);
    pthread_mutex_init(&run->share_lock, NULL);
    pthread_cond_init(&run->share_changed, NULL);
    ms_status st = agg_pipe_start(store, readers, &run->pipe);
    if (st != MS_OK) {
        pthread_mutex_destroy(&run->events);
        pthread_mutex_destroy(&run->share_lock);
        pthread_cond_destroy(&run->share_changed);
    }
    return st;
}

static ms_status run_end(ingest_run *run, ms_status walk_status)
{
    agg_pipe_stop(run->pipe);
    pthread_mutex_destroy(&run->events);
    pthread_mutex_destroy(&run->share_lock);
    pthread_cond_destroy(&run->share_changed);
    /* the tally counts reports kept: make them so */
    ms_status synced = run_failed(run) ? MS_OK : ms_store_sync(run->store);
    if (synced != MS_OK)
        fail_run(run, store_failure(synced));
    return run_failed(run) ? (ms_status)atomic_load(&run->store_status) : walk_status;
}

static ms_status reader_init(reader *r, ingest_run *run, unsigned index)
{
    *r = (reader){.run = run, .lane = agg_pipe_lane(run->pipe, index), .index = index};
    r->buf = malloc(INGEST_READ_CHUNK);
    r->bytes.md = EVP_MD_CTX_new();
    r->stream.md = EVP_MD_CTX_new();
    r->ahead.md = EVP_MD_CTX_new();
    r->content.md = EVP_MD_CTX_new();
    return r->buf != NULL && r->bytes.md != NULL && r->stream.md != NULL && r->ahead.md != NULL &&
                   r->content.md != NULL
               ? MS_OK
               : MS_ERR_NOMEM;
}

static void reader_free(reader *r)
{
    free(r->buf);
    EVP_MD_CTX_free(r->bytes.md);
    EVP_MD_CTX_free(r->stream.md);
    EVP_MD_CTX_free(r->ahead.md);
    EVP_MD_CTX_free(r->content.md);
    ms_buf_free(&r->content_buf);
    ms_buf_free(&r->held);
    ms_buf_free(&r->held_gzip);
    ms_store_close(r->peer);
    r->peer = NULL;
    r->buf = NULL;
    r->bytes.md = r->stream.md = r->ahead.md = r->content.md = NULL;
}

ms_status ms_ingest_paths(ms_store *store, const char *const *paths, size_t count,
                          const ms_ingest_callbacks *cb, ms_ingest_tally *tally)
{
    ingest_run run;
    ms_status st = run_begin(&run, store, cb, tally, readers_for(cb));
    if (st != MS_OK)
        return st;
    run.paths = paths;
    run.path_count = count;
    reader rs[INGEST_READERS_MAX];
    unsigned n = run.readers, ready = 0, threads = 0;
    while (ready < n && reader_init(&rs[ready], &run, ready) == MS_OK)
        ready++;
    if (ready < n)
        reader_free(&rs[ready]); /* the one that failed */
    /* readers 0 .. n-2 on threads of their own, the last on this one */
    while (ready == n && threads + 1 < n &&
           ms_task_try(&rs[threads].thread, reader_main, &rs[threads]))
        threads++;
    if (ready == n && threads + 1 == n) {
        reader_main(&rs[n - 1]);
    } else {
        fail_run(&run, MS_ERR_NOMEM); /* a share of the files would go unread: stop all */
        pthread_mutex_lock(&run.share_lock);
        run.walks_done += n - threads; /* the readers that never ran: the others stop waiting */
        pthread_cond_broadcast(&run.share_changed);
        pthread_mutex_unlock(&run.share_lock);
    }
    ms_status walk_status = MS_OK;
    for (unsigned i = 0; i < threads; i++)
        ms_task_join(&rs[i].thread);
    for (unsigned i = 0; i < ready; i++) {
        if (walk_status == MS_OK)
            walk_status = rs[i].walk_status;
        reader_free(&rs[i]);
    }
    return run_end(&run, walk_status);
}

ms_status ms_ingest_buffer(ms_store *store, const char *name, const void *data, size_t len,
                           const ms_ingest_callbacks *cb, ms_ingest_tally *tally)
{
    ingest_run run;
    ms_status st = run_begin(&run, store, cb, tally, 1);
    if (st != MS_OK)
        return st;
    reader r;
    if ((st = reader_init(&r, &run, 0)) == MS_OK) {
        ms_report_walk_callbacks wcb = walk_callbacks(&r);
        st = ms_report_walk_buffer(name, data, len, &wcb);
        collect(&r, 1);
    }
    reader_free(&r);
    return run_end(&run, st);
}
