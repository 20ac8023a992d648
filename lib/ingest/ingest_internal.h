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

/* The writer thread that stores an aggregate report while the caller's
 * thread parses it (pipeline.c). */
typedef struct agg_pipe agg_pipe;

ms_status agg_pipe_start(ms_store *store, agg_pipe **out);
void agg_pipe_stop(agg_pipe *p);
/* Opens the report's transaction (synchronous). */
ms_status agg_pipe_begin(agg_pipe *p, const ms_agg_meta *meta, const ms_report_origin *origin,
                         int *duplicate);
/* Copies the record into the next batch for the writer. */
ms_status agg_pipe_record(agg_pipe *p, const ms_agg_record *record);
/* The next bytes of the original, compressed and stored by the writer. */
ms_status agg_pipe_raw(agg_pipe *p, const void *data, size_t len);
/* Drops the open report (synchronous). */
ms_status agg_pipe_rollback(agg_pipe *p);
/* Commits the open report once its records are stored; returns at once. */
ms_status agg_pipe_commit(agg_pipe *p);
/* Waits for the last commit sent (if any: returns 1) and gives its
 * outcome; afterwards the writer is idle and the store free to use. */
int agg_pipe_settle(agg_pipe *p, ms_status *status);

#endif
