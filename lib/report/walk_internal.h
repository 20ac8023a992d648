/* The walk's internals (lib/report/walk*.c, sniff.c, inflate.c, archive.c,
 * mime.c): byte sources, content sniffing and the recursive unwrapping.
 *
 * Everything the walk reads is a walk_src: a pull stream of bytes (a file,
 * standard input, memory, a gzip member being inflated, a zip entry, a
 * decoded MIME part). walk_source() peeks at its first bytes, decides what
 * it is by content (sniff.c) and either hands it to the caller as a
 * document or unwraps it (gzip, zip, message, mbox), recursing into what is
 * inside with one more level of nesting. docs/report-ingest.md describes
 * the rules and limits. */
#ifndef MAILSEC_REPORT_WALK_INTERNAL_H
#define MAILSEC_REPORT_WALK_INTERNAL_H

#include "mailsec/report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes looked at to decide what a source is. */
#define WALK_SNIFF_BYTES 4096
/* Output after which the decompression ratio rule applies: the first
 * blocks of a stream may legitimately compress far better than the rest. */
#define WALK_RATIO_GRACE ((int64_t)1 << 20)
/* Chunk size of the internal reads (inflate input, spooling, digests). */
#define WALK_CHUNK (64 * 1024)
/* Longest origin component (file names from zip entries, gzip headers and
 * MIME parameters are cut here). */
#define WALK_NAME_MAX 200

/* ---- Byte sources ---------------------------------------------------- */

typedef struct walk_src walk_src;

typedef struct walk_src_ops {
    /* Up to len bytes into buf: the count, 0 at the end, -1 on error (with
     * walk_src_fail called). */
    ssize_t (*read)(walk_src *src, void *buf, size_t len);
    void (*close)(walk_src *src);
} walk_src_ops;

struct walk_src {
    const walk_src_ops *ops;
    /* The first bytes, read ahead by walk_src_peek and replayed. */
    unsigned char *peek;
    size_t peek_len, peek_pos, peek_cap;
    bool eof;       /* the underlying read returned 0 */
    char *error;    /* why a read failed (owned), NULL if none */
    /* A regular file the bytes come from unchanged, from offset 0: zip and
     * mbox read it directly (seekable). -1 otherwise. Not owned. */
    int file_fd;
    /* Bytes in memory the source reads unchanged, from the start: a message
     * parser can use them without spooling. NULL otherwise. Not owned. */
    const unsigned char *memory;
    size_t memory_len;
};

/* Reads through the peek buffer, then from the source. */
ssize_t walk_src_read(walk_src *src, void *buf, size_t len);
/* Makes at least want bytes (or all there are, or what came before an
 * error) available in src->peek; returns src->peek_len, or -1 on an error
 * before any byte. */
ssize_t walk_src_peek(walk_src *src, size_t want);
void walk_src_close(walk_src *src);
/* Records why the source failed (the first reason wins); returns -1. */
ssize_t walk_src_fail(walk_src *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Memory (not copied: the bytes must outlive the source). */
walk_src *walk_src_memory(const void *data, size_t len);
/* A file descriptor (not closed); file_fd set when it is a regular file at
 * offset 0. */
walk_src *walk_src_fd(int fd, bool regular);
/* gzip (RFC 1952, concatenated members allowed) inflated on the fly, with
 * the size and ratio limits. Takes ownership of inner. */
walk_src *walk_src_inflate(walk_src *inner);
/* The FNAME of the gzip header, sanitised; NULL when absent. */
const char *walk_inflate_name(walk_src *src);
/* ms_report_doc_tap_gzip for a source: 0 when src is not an inflater or
 * the bytes it consumed so far are no longer at hand. */
int walk_inflate_tap(walk_src *src, ms_report_gzip_fn keep, void *arg);
/* ms_report_doc_gzip_ahead for a source made by walk_src_inflate. */
int walk_inflate_ahead(walk_src *src, size_t max, ms_report_gzip_fn look, void *arg);

/* ---- Content sniffing (sniff.c) --------------------------------------- */

typedef enum walk_format {
    WALK_UNKNOWN = 0,
    WALK_EMPTY,
    WALK_GZIP,
    WALK_ZIP,
    WALK_XML,
    WALK_JSON,
    WALK_MBOX,
    WALK_MESSAGE,
    WALK_HTML /* '<' but an HTML page: the greeting of a message, not a report */
} walk_format;

walk_format walk_sniff(const unsigned char *data, size_t len);
const char *walk_format_name(walk_format format);

/* ---- The walk ---------------------------------------------------------- */

/* Origin paths are built as a stack of ": "-separated components. */
typedef struct walk_path {
    char *text;
    size_t len, cap;
} walk_path;

typedef struct walk_ctx {
    const ms_report_walk_callbacks *cb;
    const char *file;  /* the current file, as given or found */
    walk_path path;    /* the current origin path */
    bool stop;         /* the caller asked to stop */
    bool nomem;        /* an allocation failed: the walk ends with MS_ERR_NOMEM */
    unsigned found;    /* documents handed over for the current item */
    unsigned skips;    /* skipped callbacks made for the current item */
    /* The key of the message nearest to what is being walked (NULL outside
     * messages): its Message-ID or a digest of its bytes. */
    const char *message_key;
    walk_format top_format; /* what the current item turned out to be */
    const struct mbox_share *share; /* who takes the mbox files met (NULL: the walk reads them) */
} walk_ctx;

/* Pushes ": component" (or the first component) on the origin path;
 * returns the length to pop back to. */
size_t walk_path_push(walk_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void walk_path_pop(walk_ctx *ctx, size_t mark);

/* Reports the current path as skipped: it holds no report (not a report
 * at all, or a part passed over on purpose). */
void walk_skip(walk_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current path may hold reports but could not be read (a truncated or
 * corrupt archive, an encrypted entry, wrappers nested too deep, a file
 * that cannot be opened): handed over as a document whose first read
 * fails with the reason, so the caller counts it as a report it could not
 * read and sets it aside, as it does a truncated gzip, instead of losing
 * it in the skips. */
void walk_unreadable(walk_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decides what src is and hands over or unwraps it. depth counts the
 * wrappers around it (a file is 0). Takes ownership of src. top says the
 * source is a whole item (file, mbox message, buffer): content that is no
 * report is then reported as skipped, while inside a wrapper it is
 * silently ignored (the greeting of a message). */
void walk_source(walk_ctx *ctx, walk_src *src, unsigned depth, bool top);

/* Hands src over as one document of the kind. Does not take ownership. */
void walk_deliver(walk_ctx *ctx, walk_src *src, ms_report_kind kind);

/* zip (archive.c): every regular entry walked at depth + 1. */
void walk_zip(walk_ctx *ctx, walk_src *src, unsigned depth);

/* Messages and mboxes (mime.c). */
void walk_message(walk_ctx *ctx, walk_src *src, unsigned depth);
/* top: the mbox is a whole item (a file, gzip'd or not): each message
 * without a report is reported as skipped. */
void walk_mbox(walk_ctx *ctx, walk_src *src, unsigned depth, bool top);

/* Copies a name from input (zip entry, gzip FNAME, MIME filename) for an
 * origin path: control characters become '?', cut at WALK_NAME_MAX. */
void walk_clean_name(const char *in, char *out, size_t cap);

/* A temporary file (unlinked at once) in $TMPDIR or /tmp; -1 on failure. */
int walk_spool_fd(void);

#endif
