/* An mbox read one message at a time: the splitter cuts it at its "From "
 * lines without parsing anything (mbox_split.c), and each message is then
 * parsed and walked on its own (mime.c). The walk reads every mbox so;
 * lib/ingest shares one mbox file between its reader threads the same way
 * (one thread cuts, several walk), so both give the same messages, the same
 * origins and the same documents. */
#ifndef MAILSEC_REPORT_MBOX_H
#define MAILSEC_REPORT_MBOX_H

#include "mailsec/report.h"

#include <stdint.h>

/* Bytes the splitter reads at a time. */
enum { MBOX_SCAN = 64 * 1024 };

/* Where one message lies: its "From " line at marker, and the bytes its
 * parser is given, [marker, stop): up to the end of the next message's
 * "From " line (so the parser meets the line that ends this message, as
 * it does reading the whole mbox), or to the end of the mbox. */
typedef struct mbox_message {
    unsigned number; /* from 1, in the mbox's order */
    int64_t marker;
    int64_t stop;
} mbox_message;

/* The splitter: bytes read with pread from fd (the file offset is left
 * alone), or from memory when fd < 0. */
typedef struct mbox_split {
    int fd;
    const unsigned char *memory;
    int64_t size;
    int64_t next;    /* the next message's "From " line; size when none is left */
    unsigned number; /* messages cut so far */
    unsigned char buf[MBOX_SCAN];
} mbox_split;

/* Finds the first message (a line beginning with "From "). 0, or -1 when
 * the bytes cannot be read. */
int mbox_split_init(mbox_split *s, int fd, const void *memory, int64_t size);
/* The next message: 1, 0 when none is left, -1 on a read error. */
int mbox_split_next(mbox_split *s, mbox_message *m);

/* One thread's way into an mbox file: an open file description of its
 * own (the parser seeks), or the memory of the mbox. */
typedef struct mbox_reader mbox_reader;
/* fd: reopened for this reader (not taken); memory when fd < 0. NULL when
 * it cannot be. */
mbox_reader *mbox_reader_open(int fd, const void *memory, int64_t size);
void mbox_reader_close(mbox_reader *r);
/* Walks message m of the mbox file named file as the walk does (origin
 * "file: message N (byte B): ..."), calling cb. *items: the documents and
 * skips it made. MS_ERR_NOMEM when memory ran out; MS_OK otherwise,
 * including when cb asked to stop (*stopped set). */
ms_status mbox_reader_walk(mbox_reader *r, const char *file, const mbox_message *m,
                           const ms_report_walk_callbacks *cb, unsigned *items, int *stopped);

/* The mbox file could not be read after message after (why): handed over
 * as an unreadable document, as the walk does. *items: 1. */
ms_status mbox_reader_unreadable(const char *file, unsigned after, const char *why,
                                 const ms_report_walk_callbacks *cb, unsigned *items);

/* An mbox file found by the walk, offered to the caller to read (lib/ingest
 * shares it between threads). Return the documents and skips made for it,
 * or -1 to leave it to the walk. */
typedef struct mbox_share {
    long (*take)(void *arg, const char *file, int fd, int64_t size);
    void *arg;
} mbox_share;

/* ms_report_walk, offering every mbox file met (a regular file, not
 * compressed) to share. */
ms_status report_walk_sharing(const char *const *paths, size_t count, const ms_report_walk_callbacks *cb,
                              const mbox_share *share);

#endif
