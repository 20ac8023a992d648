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
/* The gzip form of a whole buffer, appended to out. */
ms_status gz_compress_buffer(const void *data, size_t len, ms_buf *out);

#endif
