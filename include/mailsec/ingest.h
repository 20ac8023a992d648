/* mailsec ingest: reports from files, mail and IMAP into the store.
 *
 * The one place where the report walk (report.h), the parsers and the
 * store (store.h) meet. Each report is stored in its own transaction, so
 * one bad report never loses the others and a killed run loses nothing:
 * running it again stores what is missing and counts the rest as
 * duplicates. A report that cannot be read is set aside in the store with
 * its reason and position.
 */
#ifndef MAILSEC_INGEST_H
#define MAILSEC_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "mailsec/core.h"
#include "mailsec/report.h"
#include "mailsec/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a run did; every run ends with it. */
typedef struct ms_ingest_tally {
    uint64_t files;      /* files (and fetched messages) read */
    uint64_t bytes;      /* their size on disk */
    uint64_t reports_new;
    uint64_t duplicates; /* stored before (the same identity), not stored again */
    uint64_t conflicting; /* of those, how many had other content: the first
                            is kept, the conflict recorded in the store */
    uint64_t failed;     /* reports that could not be read or stored, set aside */
    uint64_t skipped;    /* files or parts that held no report */
    uint64_t records;    /* aggregate records stored */
} ms_ingest_tally;

typedef enum ms_ingest_outcome {
    MS_INGEST_NEW = 0,
    MS_INGEST_DUPLICATE,
    MS_INGEST_FAILED,
    MS_INGEST_CONFLICT   /* a duplicate whose content differs from the stored one */
} ms_ingest_outcome;

/* "new", "duplicate", "failed", "conflicting duplicate" */
const char *ms_ingest_outcome_name(ms_ingest_outcome outcome);

/* One report's fate, for the caller to show. */
typedef struct ms_ingest_event {
    ms_ingest_outcome outcome;
    ms_report_kind kind;
    const ms_report_origin *origin;
    const char *org;       /* reporting organisation, when known */
    const char *report_id; /* when known */
    const char *domain;    /* policy domain, when known */
    uint64_t records;
    const ms_report_error *error; /* FAILED: why and where */
} ms_ingest_event;

typedef struct ms_ingest_callbacks {
    void *arg;
    void (*report)(void *arg, const ms_ingest_event *event);      /* may be NULL */
    void (*skipped)(void *arg, const ms_report_origin *origin, const char *reason); /* may be NULL */
    /* Called after each report and file: for a progress line. */
    void (*progress)(void *arg, const ms_ingest_tally *tally);    /* may be NULL */
    /* Files are read by this many threads at once (0: one per CPU but the
     * writer's, at least 1, at most 4); one writer thread stores. The callbacks above are then called
     * from those threads, never two at once, and reports are told in the
     * order they finish. */
    unsigned readers;
} ms_ingest_callbacks;

/* Ingests files and directories (see ms_report_walk). MS_OK when every
 * report found was dealt with (stored, duplicate or set aside: a report
 * the store refuses, such as one whose counts are beyond the store's
 * bounds, is set aside like one that cannot be read, and one that ran out
 * of memory while read says so in its reason); MS_ERR_IO when the store
 * itself failed (its message: ms_store_error), MS_ERR_NOMEM when memory
 * ran out in the store or the walk: either stops the run, and a run
 * again stores what is missing. */
ms_status ms_ingest_paths(ms_store *store, const char *const *paths, size_t count,
                          const ms_ingest_callbacks *cb, ms_ingest_tally *tally);
/* The same for one message or document in memory (IMAP fetch). */
ms_status ms_ingest_buffer(ms_store *store, const char *name, const void *data, size_t len,
                           const ms_ingest_callbacks *cb, ms_ingest_tally *tally);

/* IMAP fetch (libcurl): every message of the mailbox not ingested before
 * (by UIDVALIDITY and UID, kept in the store), then optionally moved. */
typedef struct ms_ingest_imap_options {
    const char *url;      /* imaps://USER@HOST[:PORT]/MAILBOX or imap://... (STARTTLS required) */
    const char *password; /* never from the command line: the CLI reads a file or the environment */
    const char *ca_file;  /* NULL: the system's CAs */
    const char *move_to;  /* NULL: leave messages where they are */
    /* A message over MS_REPORT_MESSAGE_MAX is passed over, never
     * downloaded: set aside in the store (kind "message"), counted as
     * failed, remembered as fetched, and moved here (NULL: left where it
     * is); so is a message with a report set aside, or with none. */
    const char *failed_to;
    /* Told of each message passed over, with the callbacks' arg; may be NULL. */
    void (*passed_over)(void *arg, uint32_t uid, const char *reason);
    unsigned timeout_ms;  /* per operation; 0: 30 s (a message's download:
                             one more second per 64 KiB of its size) */
} ms_ingest_imap_options;

/* MS_ERR_IO with *errmsg (caller frees) when the server could not be
 * reached, refused the login or the mailbox. */
ms_status ms_ingest_imap(ms_store *store, const ms_ingest_imap_options *opts,
                         const ms_ingest_callbacks *cb, ms_ingest_tally *tally, char **errmsg);

#ifdef __cplusplus
}
#endif
#endif
