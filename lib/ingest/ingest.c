/* Reports into the store: the walk finds each report, the matching parser
 * reads it, the store keeps it in one transaction per report.
 *
 * Aggregate reports stream: bytes are read in chunks and pushed through
 * the parser, whose callbacks open the report's transaction (once its
 * identity is known) and hand each record, as it ends, to the writer
 * thread (pipeline.c), which stores it and compresses the kept original
 * while this thread parses on. A report already stored is noticed at its
 * metadata and not read further. TLS and failure reports are small and
 * read whole; they are stored from this thread, between aggregate reports,
 * when the writer is idle. */
#include "ingest_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Compressed original held before the report's metadata is parsed. The
 * metadata opens every real report; a document that goes on this long
 * without it is not one we can key. */
enum { PENDING_RAW_MAX = 16 << 20 };
/* Records between two progress calls inside one large report. */
enum { PROGRESS_RECORDS = 1 << 16 };

/* An aggregate report sent for commit whose outcome the writer has not
 * given yet (see settle()). Copies: the walk's origin is gone by then. */
typedef struct pending_report {
    int active;
    char *file, *path, *org, *report_id, *domain;
    uint64_t records;
} pending_report;

typedef struct ingest_run {
    ms_store *store;
    agg_pipe *pipe;          /* stores aggregate reports on a second core */
    const ms_ingest_callbacks *cb;
    ms_ingest_tally *tally;
    ms_status store_status; /* the store failed: the run stops */
    pending_report pending;
    char *buf;              /* INGEST_READ_CHUNK bytes, for the whole run */
} ingest_run;

const char *ms_ingest_outcome_name(ms_ingest_outcome outcome)
{
    switch (outcome) {
    case MS_INGEST_NEW: return "new";
    case MS_INGEST_DUPLICATE: return "duplicate";
    case MS_INGEST_FAILED: return "failed";
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

static void progress(ingest_run *run)
{
    if (run->cb != NULL && run->cb->progress != NULL)
        run->cb->progress(run->cb->arg, run->tally);
}

static void conclude(ingest_run *run, ms_ingest_event *ev);

static void pending_clear(pending_report *p)
{
    free(p->file);
    free(p->path);
    free(p->org);
    free(p->report_id);
    free(p->domain);
    *p = (pending_report){0};
}

/* Collects the outcome of the last commit sent to the writer and tells the
 * caller. Afterwards the writer is idle: call before this thread uses the
 * store itself, and before the next report's event. */
static void settle(ingest_run *run)
{
    ms_status st;
    if (!agg_pipe_settle(run->pipe, &st) || !run->pending.active)
        return;
    pending_report *p = &run->pending;
    if (st != MS_OK) {
        run->tally->records -= p->records; /* rolled back */
        run->store_status = MS_ERR_IO;     /* the run stops with the store's message */
    } else {
        ms_report_origin origin = {p->file, p->path};
        ms_report_error none = {NULL, 0, 0, -1};
        ms_ingest_event ev = {.outcome = MS_INGEST_NEW, .kind = MS_REPORT_AGGREGATE, .origin = &origin,
                              .org = p->org, .report_id = p->report_id, .domain = p->domain,
                              .records = p->records, .error = &none};
        p->active = 0;
        conclude(run, &ev);
    }
    pending_clear(p);
}

/* Counts the report's fate, tells the caller, and sets failures aside in
 * the store with their reason. */
static void conclude(ingest_run *run, ms_ingest_event *ev)
{
    settle(run); /* events in order, and the store free for put_rejected */
    switch (ev->outcome) {
    case MS_INGEST_NEW: run->tally->reports_new++; break;
    case MS_INGEST_DUPLICATE: run->tally->duplicates++; break;
    case MS_INGEST_FAILED:
        run->tally->failed++;
        if (run->store_status == MS_OK &&
            ms_store_put_rejected(run->store, ev->origin, ms_report_kind_name(ev->kind), ev->error) != MS_OK)
            run->store_status = MS_ERR_IO;
        break;
    }
    if (run->cb != NULL && run->cb->report != NULL)
        run->cb->report(run->cb->arg, ev);
    progress(run);
}

/* ---- aggregate reports ---- */

typedef struct agg_ingest {
    ingest_run *run;
    const ms_report_origin *origin;
    ms_buf pending;   /* the original's bytes read before the metadata */
    int begun;        /* the metadata was parsed */
    int in_txn;
    int duplicate;
    char *org, *report_id, *domain;
    uint64_t records;
    ms_report_error error;
} agg_ingest;

static int store_failed(agg_ingest *a)
{
    a->run->store_status = MS_ERR_IO;
    return -1;
}

static int on_report_begin(void *arg, const ms_agg_meta *meta)
{
    agg_ingest *a = arg;
    a->begun = 1;
    a->org = ms_strdup(meta->org_name);
    a->report_id = ms_strdup(meta->report_id);
    a->domain = ms_strdup(meta->domain);
    if (agg_pipe_begin(a->run->pipe, meta, a->origin, &a->duplicate) != MS_OK)
        return store_failed(a);
    settle(a->run); /* the previous report's commit is done by now: report it */
    if (a->run->store_status != MS_OK)
        return -1;
    if (a->duplicate)
        return MS_AGG_SKIP;
    a->in_txn = 1;
    ms_status st = agg_pipe_raw(a->run->pipe, a->pending.data, a->pending.len);
    ms_buf_free(&a->pending);
    return st == MS_OK ? 0 : store_failed(a);
}

static int on_record(void *arg, const ms_agg_record *record)
{
    agg_ingest *a = arg;
    ms_status st = agg_pipe_record(a->run->pipe, record);
    if (st != MS_OK) {
        set_error(&a->error, "the record at line %ld could not be queued: %s", record->line, ms_status_str(st));
        return -1;
    }
    a->records++;
    a->run->tally->records++;
    if (a->records % PROGRESS_RECORDS == 0)
        progress(a->run);
    return 0;
}

/* The original's bytes: to the writer once the report is open; held
 * (bounded) until its metadata has been parsed. */
static ms_status keep_original(agg_ingest *a, const char *data, size_t len)
{
    if (a->in_txn)
        return agg_pipe_raw(a->run->pipe, data, len);
    if (a->begun)
        return MS_OK; /* a duplicate: nothing to keep */
    if (a->pending.len + len > PENDING_RAW_MAX) {
        set_error(&a->error, "no report metadata in the first %d MiB", PENDING_RAW_MAX >> 20);
        return MS_ERR_LIMIT;
    }
    ms_buf_append(&a->pending, data, len);
    return a->pending.failed ? MS_ERR_NOMEM : MS_OK;
}

/* Reads the document through the parser, keeping the original. MS_OK when
 * the report was read to its end (or found to be a duplicate). */
static ms_status agg_read(agg_ingest *a, ms_report_doc *doc, ms_agg_parser *parser, char *buf)
{
    for (;;) {
        ssize_t n = ms_report_doc_read(doc, buf, INGEST_READ_CHUNK);
        if (n < 0) {
            set_error(&a->error, "%s", doc_error(doc));
            return MS_ERR_IO;
        }
        if (n == 0)
            return ms_agg_parser_finish(parser, &a->error);
        int was_open = a->in_txn;
        ms_status st = ms_agg_parser_feed(parser, buf, (size_t)n, &a->error);
        if (st != MS_OK)
            return st;
        if (a->duplicate)
            return MS_OK; /* already stored: the rest changes nothing */
        /* A chunk that opened the report went out with the pending bytes. */
        st = was_open ? agg_pipe_raw(a->run->pipe, buf, (size_t)n) : keep_original(a, buf, (size_t)n);
        if (st != MS_OK)
            return st;
    }
}

/* Ends the report: rolls back a failed one at once; sends a good one for
 * commit and leaves its outcome pending (settle() reports it). Returns
 * MS_OK with *sent set when the commit went out. */
static ms_status agg_finish(agg_ingest *a, ms_status st, int *sent)
{
    *sent = 0;
    if (st == MS_OK && !a->duplicate && !a->begun) {
        set_error(&a->error, "no report metadata and published policy");
        st = MS_ERR_INVALID;
    }
    if (!a->in_txn)
        return st;
    a->in_txn = 0;
    if (st != MS_OK) {
        agg_pipe_rollback(a->run->pipe);
        return st;
    }
    st = agg_pipe_commit(a->run->pipe);
    *sent = st == MS_OK;
    return st;
}

/* The committed report's event waits for the writer's answer. */
static void leave_pending(ingest_run *run, agg_ingest *a)
{
    pending_report *p = &run->pending;
    const ms_report_origin *o = a->origin;
    *p = (pending_report){.active = 1, .file = ms_strdup(o->file), .path = ms_strdup(o->path),
                          .records = a->records};
    /* hand over the strings */
    p->org = a->org;
    p->report_id = a->report_id;
    p->domain = a->domain;
    a->org = a->report_id = a->domain = NULL;
}

static void ingest_aggregate(ingest_run *run, ms_report_doc *doc)
{
    agg_ingest a = {.run = run, .origin = ms_report_doc_origin(doc), .error = {NULL, 0, 0, -1}};
    ms_agg_callbacks cb = {.arg = &a, .report_begin = on_report_begin, .record = on_record};
    ms_agg_parser *parser = NULL;
    int sent = 0;
    ms_status st = ms_agg_parser_new(&cb, &parser);
    if (st == MS_OK)
        st = agg_read(&a, doc, parser, run->buf);
    st = agg_finish(&a, st, &sent);
    if (sent) {
        leave_pending(run, &a);
    } else {
        if (st != MS_OK) {
            run->tally->records -= a.records; /* rolled back */
            set_error(&a.error, "%s", ms_status_str(st));
        }
        ms_ingest_event ev = {
            .outcome = st != MS_OK ? MS_INGEST_FAILED : MS_INGEST_DUPLICATE,
            .kind = MS_REPORT_AGGREGATE, .origin = a.origin, .org = a.org, .report_id = a.report_id,
            .domain = a.domain, .error = &a.error};
        if (run->store_status == MS_OK)
            conclude(run, &ev);
    }
    ms_agg_parser_free(parser);
    ms_buf_free(&a.pending);
    free(a.org);
    free(a.report_id);
    free(a.domain);
    ms_report_error_clear(&a.error);
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
    return ms_tlsrpt_parse(data, len, (ms_tlsrpt_report **)out, err);
}

static ms_status tlsrpt_store(ms_store *store, const void *report, ms_report_doc *doc, const ms_buf *gz,
                              int *duplicate)
{
    return ms_store_put_tlsrpt(store, report, ms_report_doc_origin(doc), gz->data, gz->len, duplicate);
}

static void tlsrpt_describe(const void *report, ms_ingest_event *ev)
{
    const ms_tlsrpt_report *r = report;
    ev->org = r->org_name;
    ev->report_id = r->report_id;
    ev->domain = r->policy_count > 0 ? r->policies[0].policy_domain : NULL;
}

static void tlsrpt_free(void *report)
{
    ms_tlsrpt_report_free(report);
}

static ms_status failure_parse(const void *data, size_t len, void **out, ms_report_error *err)
{
    return ms_failure_parse(data, len, (ms_failure_report **)out, err);
}

static ms_status failure_store(ms_store *store, const void *report, ms_report_doc *doc, const ms_buf *gz,
                               int *duplicate)
{
    return ms_store_put_failure(store, report, ms_report_doc_message_key(doc), ms_report_doc_origin(doc),
                                gz->data, gz->len, duplicate);
}

static void failure_describe(const void *report, ms_ingest_event *ev)
{
    const ms_failure_report *r = report;
    ev->org = r->reporting_mta;
    ev->report_id = r->message_id;
    ev->domain = r->reported_domain;
    ev->records = 1;
}

static void failure_free(void *report)
{
    ms_failure_report_free(report);
}

static const whole_kind TLSRPT = {MS_REPORT_TLSRPT, MS_REPORT_TLSRPT_MAX, tlsrpt_parse, tlsrpt_store,
                                  tlsrpt_describe, tlsrpt_free};
static const whole_kind FAILURE = {MS_REPORT_FAILURE, MS_REPORT_MESSAGE_MAX, failure_parse, failure_store,
                                   failure_describe, failure_free};

static void ingest_whole(ingest_run *run, ms_report_doc *doc, const whole_kind *k)
{
    settle(run); /* this thread is about to use the store */
    if (run->store_status != MS_OK)
        return;
    ms_report_error err = {NULL, 0, 0, -1};
    ms_buf text = MS_BUF_INIT, gz = MS_BUF_INIT;
    void *report = NULL;
    int duplicate = 0;
    ms_status st = read_whole(doc, k->max, &text, &err);
    if (st == MS_OK)
        st = k->parse(text.data, text.len, &report, &err);
    if (st == MS_OK)
        st = gz_compress_buffer(text.data, text.len, &gz);
    if (st == MS_OK && k->store(run->store, report, doc, &gz, &duplicate) != MS_OK)
        run->store_status = MS_ERR_IO;
    if (st != MS_OK)
        set_error(&err, "%s", ms_status_str(st));

    ms_ingest_event ev = {
        .outcome = st != MS_OK ? MS_INGEST_FAILED : duplicate ? MS_INGEST_DUPLICATE : MS_INGEST_NEW,
        .kind = k->kind, .origin = ms_report_doc_origin(doc), .error = &err};
    if (report != NULL)
        k->describe(report, &ev);
    if (run->store_status == MS_OK)
        conclude(run, &ev);
    k->free(report);
    ms_buf_free(&text);
    ms_buf_free(&gz);
    ms_report_error_clear(&err);
}

/* ---- the walk's callbacks ---- */

static int on_document(void *arg, ms_report_doc *doc)
{
    ingest_run *run = arg;
    switch (ms_report_doc_kind(doc)) {
    case MS_REPORT_AGGREGATE: ingest_aggregate(run, doc); break;
    case MS_REPORT_TLSRPT: ingest_whole(run, doc, &TLSRPT); break;
    case MS_REPORT_FAILURE: ingest_whole(run, doc, &FAILURE); break;
    }
    return run->store_status != MS_OK; /* a failing store stops the walk */
}

static void on_skipped(void *arg, const ms_report_origin *origin, const char *reason)
{
    ingest_run *run = arg;
    run->tally->skipped++;
    if (run->cb != NULL && run->cb->skipped != NULL)
        run->cb->skipped(run->cb->arg, origin, reason);
}

static void on_file(void *arg, const char *path, int64_t size)
{
    (void)path;
    ingest_run *run = arg;
    run->tally->files++;
    run->tally->bytes += size > 0 ? (uint64_t)size : 0;
    progress(run);
}

static ms_report_walk_callbacks walk_callbacks(ingest_run *run)
{
    return (ms_report_walk_callbacks){
        .arg = run, .document = on_document, .skipped = on_skipped, .file = on_file};
}

/* A run: the writer thread and the read buffer for its length. */
static ms_status run_begin(ingest_run *run, ms_store *store, const ms_ingest_callbacks *cb,
                           ms_ingest_tally *tally)
{
    *run = (ingest_run){.store = store, .cb = cb, .tally = tally};
    run->buf = malloc(INGEST_READ_CHUNK);
    if (run->buf == NULL)
        return MS_ERR_NOMEM;
    ms_status st = agg_pipe_start(store, &run->pipe);
    if (st != MS_OK)
        free(run->buf);
    return st;
}

static ms_status run_end(ingest_run *run, ms_status walk_status)
{
    settle(run);
    agg_pipe_stop(run->pipe);
    pending_clear(&run->pending);
    free(run->buf);
    return run->store_status != MS_OK ? run->store_status : walk_status;
}

ms_status ms_ingest_paths(ms_store *store, const char *const *paths, size_t count,
                          const ms_ingest_callbacks *cb, ms_ingest_tally *tally)
{
    ingest_run run;
    ms_status st = run_begin(&run, store, cb, tally);
    if (st != MS_OK)
        return st;
    ms_report_walk_callbacks wcb = walk_callbacks(&run);
    return run_end(&run, ms_report_walk(paths, count, &wcb));
}

ms_status ms_ingest_buffer(ms_store *store, const char *name, const void *data, size_t len,
                           const ms_ingest_callbacks *cb, ms_ingest_tally *tally)
{
    ingest_run run;
    ms_status st = run_begin(&run, store, cb, tally);
    if (st != MS_OK)
        return st;
    ms_report_walk_callbacks wcb = walk_callbacks(&run);
    return run_end(&run, ms_report_walk_buffer(name, data, len, &wcb));
}
