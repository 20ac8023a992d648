/* The original of every report is kept gzip-compressed beside its rows.
 * This compresses a stream of bytes into bounded chunks and hands each
 * chunk to a sink: the store once the report's transaction is open, a
 * small pending buffer before that (the report's identity is only known
 * after its metadata, the first few hundred bytes). */
#include "ingest_internal.h"

#include <stdlib.h>
#include <string.h>

/* Level 1: the original is kept for re-deriving, rarely read; speed
 * matters more than the last few percent of size. */
enum { GZ_LEVEL = 1, GZ_WINDOW_BITS = 15 + 16 /* gzip header */, GZ_MEM_LEVEL = 8 };

ms_status gz_writer_init(gz_writer *w, gz_sink_fn sink, void *arg)
{
    memset(w, 0, sizeof *w);
    w->sink = sink;
    w->arg = arg;
    if (deflateInit2(&w->z, GZ_LEVEL, Z_DEFLATED, GZ_WINDOW_BITS, GZ_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
        return MS_ERR_NOMEM;
    w->open = 1;
    return MS_OK;
}

ms_status gz_writer_reset(gz_writer *w)
{
    return deflateReset(&w->z) == Z_OK ? MS_OK : MS_ERR_INVALID;
}

void gz_writer_free(gz_writer *w)
{
    if (w->open)
        deflateEnd(&w->z);
    w->open = 0;
}

/* Runs deflate until it needs more input (or, when finishing, until the
 * stream end), handing every filled chunk to the sink. */
static ms_status gz_pump(gz_writer *w, int flush)
{
    for (;;) {
        w->z.next_out = w->chunk;
        w->z.avail_out = sizeof w->chunk;
        int rc = deflate(&w->z, flush);
        if (rc == Z_STREAM_ERROR)
            return MS_ERR_INVALID;
        size_t produced = sizeof w->chunk - w->z.avail_out;
        if (produced > 0) {
            ms_status st = w->sink(w->arg, w->chunk, produced);
            if (st != MS_OK)
                return st;
        }
        if (flush == Z_FINISH ? rc == Z_STREAM_END : w->z.avail_out != 0)
            return MS_OK;
    }
}

ms_status gz_writer_write(gz_writer *w, const void *data, size_t len)
{
    w->z.next_in = (Bytef *)data;
    w->z.avail_in = (uInt)len;
    return gz_pump(w, Z_NO_FLUSH);
}

ms_status gz_writer_finish(gz_writer *w)
{
    w->z.next_in = NULL;
    w->z.avail_in = 0;
    return gz_pump(w, Z_FINISH);
}

/* ---- whole buffers: TLS and failure reports ---- */

static ms_status append_to_buf(void *arg, const void *data, size_t len)
{
    ms_buf *buf = arg;
    ms_buf_append(buf, data, len);
    return buf->failed ? MS_ERR_NOMEM : MS_OK;
}

ms_status gz_compress_buffer(const void *data, size_t len, ms_buf *out)
{
    gz_writer w;
    ms_status st = gz_writer_init(&w, append_to_buf, out);
    if (st == MS_OK)
        st = gz_writer_write(&w, data, len);
    if (st == MS_OK)
        st = gz_writer_finish(&w);
    gz_writer_free(&w);
    return st;
}
