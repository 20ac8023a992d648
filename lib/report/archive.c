/* zip archives through libarchive, read as a stream: each regular entry is
 * walked as a source of its own (an entry may be XML, JSON, gzip, another
 * zip, a message). A zip that is a file (or a buffer) is read directly,
 * seekably, so libarchive can use the central directory; a zip inside a
 * message or a gzip stream is read from the local headers as it flows.
 *
 * Limits: at most MS_REPORT_ZIP_ENTRIES_MAX entries; each entry's output
 * at most MS_REPORT_INFLATED_MAX bytes; the output of the whole archive
 * at most MS_REPORT_RATIO_MAX times the archive bytes read so far, once
 * past WALK_RATIO_GRACE (the same rule as gzip, inflate.c). */
#include "report/walk_internal.h"

#include "core/lazy_archive.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where libarchive's bytes come from: a file (pread at our own offset),
 * memory (handed over in place), or any source (copied through buf). */
typedef struct zip_input {
    walk_src *src;
    int fd;
    const unsigned char *memory;
    int64_t size;   /* of the file or memory; -1 for a stream */
    int64_t offset; /* next byte of the file or memory */
    int64_t out_total; /* entry bytes read, all entries */
    bool bomb; /* an entry hit a limit: the rest of the archive is not read */
    bool entry_failed; /* an entry could not be read: the archive's next error is the same */
    unsigned char buf[WALK_CHUNK];
} zip_input;

static la_ssize_t zip_read(struct archive *a, void *data, const void **buffer)
{
    zip_input *in = data;
    ssize_t n;
    if (in->memory != NULL) {
        int64_t left = in->offset < in->size ? in->size - in->offset : 0; /* a seek may go past the end */
        n = left < WALK_CHUNK ? (ssize_t)left : WALK_CHUNK;
        *buffer = in->memory + in->offset;
    } else if (in->fd >= 0) {
        do
            n = pread(in->fd, in->buf, sizeof in->buf, in->offset);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            archive_set_error(a, errno, "read error: %s", strerror(errno));
            return -1;
        }
        *buffer = in->buf;
    } else {
        n = walk_src_read(in->src, in->buf, sizeof in->buf);
        if (n < 0) {
            archive_set_error(a, EIO, "%s", in->src->error ? in->src->error : "read error");
            return -1;
        }
        *buffer = in->buf;
    }
    in->offset += n;
    return n;
}

/* Only installed for files and memory. */
static la_int64_t zip_seek(struct archive *a, void *data, la_int64_t offset, int whence)
{
    (void)a;
    zip_input *in = data;
    int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? in->offset : in->size;
    if (base + offset < 0)
        return ARCHIVE_FATAL;
    in->offset = base + offset;
    return in->offset;
}

static la_int64_t zip_skip(struct archive *a, void *data, la_int64_t request)
{
    (void)a;
    zip_input *in = data;
    if (in->size < 0)
        return 0; /* a stream: libarchive reads and discards instead */
    if (request > in->size - in->offset)
        request = in->offset < in->size ? in->size - in->offset : 0;
    in->offset += request;
    return request;
}

static int zip_open(struct archive *a, zip_input *in, walk_src *src)
{
    in->src = src;
    in->fd = src->file_fd;
    in->memory = src->memory;
    in->size = -1;
    struct stat st;
    if (in->memory != NULL)
        in->size = (int64_t)src->memory_len;
    else if (in->fd >= 0 && fstat(in->fd, &st) == 0)
        in->size = (int64_t)st.st_size;
    else
        in->fd = -1;
    archive_read_set_read_callback(a, zip_read);
    archive_read_set_skip_callback(a, zip_skip);
    if (in->size >= 0)
        archive_read_set_seek_callback(a, zip_seek);
    archive_read_set_callback_data(a, in);
    return archive_read_open1(a);
}

/* One entry's data, as a source. */
typedef struct entry_src {
    walk_src base;
    struct archive *archive;
    zip_input *in;
    int64_t out;
} entry_src;

static ssize_t entry_read(walk_src *src, void *buf, size_t len)
{
    entry_src *e = (entry_src *)src;
    la_ssize_t n = archive_read_data(e->archive, buf, len);
    if (n < 0) {
        e->in->entry_failed = true;
        return walk_src_fail(src, "zip entry cannot be read: %s", archive_error_string(e->archive));
    }
    e->out += n;
    e->in->out_total += n;
    /* the archive bytes the zip reader consumed (read ahead ones do not count) */
    int64_t consumed = archive_filter_bytes(e->archive, 0);
    if (e->out > MS_REPORT_INFLATED_MAX) {
        e->in->bomb = true;
        return walk_src_fail(src, "decompressed size exceeds %lld bytes (MS_REPORT_INFLATED_MAX): not read further",
                             (long long)MS_REPORT_INFLATED_MAX);
    }
    if (e->in->out_total > WALK_RATIO_GRACE && e->in->out_total / (consumed > 0 ? consumed : 1) > MS_REPORT_RATIO_MAX) {
        e->in->bomb = true;
        return walk_src_fail(src,
                             "decompressed size exceeds %d times the compressed size (MS_REPORT_RATIO_MAX) "
                             "after %lld bytes from %lld: a compression bomb, not read further",
                             MS_REPORT_RATIO_MAX, (long long)e->in->out_total, (long long)consumed);
    }
    return n;
}

static void entry_close(walk_src *src)
{
    free(src);
}

static const walk_src_ops entry_ops = {entry_read, entry_close};

static void walk_entry(walk_ctx *ctx, struct archive *a, zip_input *in, struct archive_entry *entry, unsigned depth)
{
    const char *raw = archive_entry_pathname_utf8(entry);
    if (raw == NULL)
        raw = archive_entry_pathname(entry);
    char name[WALK_NAME_MAX + 1];
    walk_clean_name(raw ? raw : "(no name)", name, sizeof name);
    size_t mark = walk_path_push(ctx, "%s", name);
    if (archive_entry_is_encrypted(entry)) {
        walk_unreadable(ctx, "%s", "encrypted zip entry: cannot be read");
    } else {
        entry_src *e = calloc(1, sizeof *e);
        if (e == NULL) {
            ctx->nomem = true;
        } else {
            e->base.ops = &entry_ops;
            e->base.file_fd = -1;
            e->archive = a;
            e->in = in;
            walk_source(ctx, &e->base, depth + 1, false);
        }
    }
    walk_path_pop(ctx, mark);
}

void walk_zip(walk_ctx *ctx, walk_src *src, unsigned depth)
{
    if (ms_lazy_load(&ms_archive_lib) != MS_OK) {
        walk_unreadable(ctx, "zip archive cannot be read: %s", ms_lazy_error(&ms_archive_lib));
        return;
    }
    struct archive *a = archive_read_new();
    zip_input *in = calloc(1, sizeof *in);
    if (a == NULL || in == NULL) {
        ctx->nomem = true;
        free(in);
        if (a != NULL)
            archive_read_free(a);
        return;
    }
    archive_read_support_format_zip(a);
    if (zip_open(a, in, src) != ARCHIVE_OK) {
        walk_unreadable(ctx, "zip archive cannot be read: %s", archive_error_string(a));
    } else {
        unsigned entries = 0;
        while (!ctx->stop && !ctx->nomem) {
            struct archive_entry *entry;
            int rc = archive_read_next_header(a, &entry);
            if (rc == ARCHIVE_EOF)
                break;
            if (rc < ARCHIVE_WARN) {
                if (!in->entry_failed) /* else already handed over as that entry's failure */
                    walk_unreadable(ctx, "zip archive is corrupt after %u entries: %s", entries,
                                    archive_error_string(a));
                break;
            }
            if (++entries > MS_REPORT_ZIP_ENTRIES_MAX) {
                walk_unreadable(ctx, "zip archive has more than %d entries (MS_REPORT_ZIP_ENTRIES_MAX): the rest is not read",
                          MS_REPORT_ZIP_ENTRIES_MAX);
                break;
            }
            if (archive_entry_filetype(entry) != AE_IFREG)
                continue;
            walk_entry(ctx, a, in, entry, depth);
            if (in->bomb) {
                walk_unreadable(ctx, "%s", "zip archive not read further after an entry hit a decompression limit");
                break;
            }
        }
    }
    archive_read_free(a);
    free(in);
}
