/* What the ingest module's files share. */
#ifndef MAILSEC_LIB_INGEST_INTERNAL_H
#define MAILSEC_LIB_INGEST_INTERNAL_H

#include "core/internal.h"
#include "mailsec/ingest.h"

#include <zlib.h>

/* Bytes read from a report per step, and the size of a compressed chunk of
 * its original handed to the store. */
enum { INGEST_READ_CHUNK = 256 * 1024, GZ_CHUNK = 256 * 1024 };

typedef ms_status (*gz_sink_fn)(void *arg, const void *data, size_t len);

typedef struct gz_writer {
    z_stream z;
    int open;
    gz_sink_fn sink;
    void *arg;
    unsigned char chunk[GZ_CHUNK];
} gz_writer;

ms_status gz_writer_init(gz_writer *w, gz_sink_fn sink, void *arg);
ms_status gz_writer_write(gz_writer *w, const void *data, size_t len);
ms_status gz_writer_finish(gz_writer *w);
void gz_writer_free(gz_writer *w);
/* Ready for the next stream, keeping the allocated state. */
ms_status gz_writer_reset(gz_writer *w);
/* The gzip form of a whole buffer, appended to out. */
ms_status gz_compress_buffer(const void *data, size_t len, ms_buf *out);

/* The writer thread that stores aggregate reports while reader threads
 * parse them (pipeline.c). Each reader has a lane; nothing a reader sends
 * waits for the writer, and each report's fate comes back in its ticket. */
typedef struct agg_pipe agg_pipe;
typedef struct agg_lane agg_lane;

/* One aggregate report's fate: the reader fills in what it read and
 * whether it failed; the writer sets outcome and status. */
/* Hex SHA-256 and its terminator. */
enum { INGEST_DIGEST_HEX = 65 };

typedef struct agg_ticket {
    struct agg_ticket *next;
    int failed;                /* the reader could not read it (error says why) */
    ms_ingest_outcome outcome; /* the writer's verdict */
    ms_status status;          /* not MS_OK: the store failed, the run stops */
    char *file, *path, *org, *report_id, *domain;
    uint64_t records;          /* records the reader handed over */
    ms_report_error error;     /* the reader's, or the store's when it refused the report */
    /* The reader found the report stored already (on its own connection):
     * same_as_stored, with these very bytes, so nothing of it was sent (a
     * plain duplicate); stored_before, with other bytes, so only its
     * metadata and content digest were sent, and the writer must find it
     * stored too. */
    int same_as_stored, stored_before;
    char digest[INGEST_DIGEST_HEX];    /* of the content parsed ("" when not made) */
    char original_digest[INGEST_DIGEST_HEX]; /* of its gzip stream or document, as it came ("": none) */
    char input_key[INGEST_DIGEST_HEX]; /* of its origin and digest: its rejected row */
} agg_ticket;

agg_ticket *agg_ticket_new(void);
void agg_ticket_free(agg_ticket *t);

ms_status agg_pipe_start(ms_store *store, unsigned lanes, agg_pipe **out);
/* Waits for the writer to finish every item sent, then stops it. */
void agg_pipe_stop(agg_pipe *p);
agg_lane *agg_pipe_lane(agg_pipe *p, unsigned i);

/* The functions below are one reader's, on its own lane. */

/* Opens the next report (copies meta and origin). raw_is_gzip: the bytes
 * of agg_lane_raw are the original already gzip-compressed, kept as they
 * are; otherwise the lane compresses them. */
ms_status agg_lane_begin(agg_lane *l, const ms_report_agg_meta *meta, const ms_report_origin *origin,
                         int raw_is_gzip);
/* The writer found the report begun last already stored: stop sending it. */
int agg_lane_duplicate(agg_lane *l);
/* Copies the record into the next batch for the writer. */
ms_status agg_lane_record(agg_lane *l, const ms_report_agg_record *record);
/* The next bytes of the original. */
ms_status agg_lane_raw(agg_lane *l, const void *data, size_t len);
/* The original's last compressed bytes sent, once all of it was given:
 * before agg_lane_end of a report read whole and stored (a report given up
 * or found stored needs none; the next agg_lane_begin starts afresh). */
ms_status agg_lane_raw_end(agg_lane *l);
/* Ends the report (begun or not): the writer commits it with t->digest,
 * or, when t->failed or the store refuses it, rolls it back and sets it
 * aside with t->error under t->input_key; a duplicate's digest is
 * compared with the stored one's. Takes t. */
void agg_lane_end(agg_lane *l, agg_ticket *t);
/* The lane's next finished ticket, in the order they were sent; NULL when
 * none is finished (wait: when none is outstanding). The caller frees it. */
agg_ticket *agg_lane_done(agg_lane *l, int wait);
/* Hands the writer everything sent on the lane: the records being
 * batched are sent, and an idle writer is woken to take them. Call it
 * before waiting for anything but the writer: the writer may be waiting
 * for this lane (the end of the report it is storing), and it serves no
 * other lane meanwhile. */
void agg_lane_hand_over(agg_lane *l);
/* Ordered messages (an mbox shared by several readers): the writer stores
 * message number n (from 1, counted over the whole run) only after every
 * message before it. A reader sends its messages in increasing order, each
 * between agg_lane_order_begin and agg_lane_order_end, with the agg_order
 * allocated before its number was taken (so a number taken is always
 * sent); the writer frees it. */
typedef struct agg_order agg_order;
agg_order *agg_order_new(void);
void agg_lane_order_begin(agg_lane *l, agg_order *o, uint64_t number);
void agg_lane_order_end(agg_lane *l, agg_order *o);
/* Runs fn(arg, store) on the writer thread, between reports, and waits. */
typedef ms_status (*agg_call_fn)(void *arg, ms_store *store);
ms_status agg_lane_call(agg_lane *l, agg_call_fn fn, void *arg);

#endif
