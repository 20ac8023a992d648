/* Messages and mboxes through GMime.
 *
 * GMime parses from a seekable stream in persistent mode, so a part's
 * content stays a window on that stream instead of being copied into
 * memory: a 10 GB mbox costs one message's structure at a time (each
 * message is freed before the next). The stream is the file itself when
 * the message or mbox is a file, the caller's memory for
 * ms_report_walk_buffer, and otherwise (a message inside a zip, a gzip'd
 * mbox, standard input) a spool file filled from the source, bounded by
 * MS_REPORT_MESSAGE_MAX for a message and MS_REPORT_INFLATED_MAX for an
 * mbox.
 *
 * Inside a message every leaf part is decoded (base64, quoted-printable,
 * uuencode) as it is read and walked like a file, so a base64 gzip
 * attachment streams through GMime's decoder and zlib without being held.
 * An attached message (message/rfc822) is written to a spool file and
 * walked as a message. A message with a multipart/report part whose
 * report-type is feedback-report, or with a message/feedback-report part,
 * is one failure report: the document is the whole message's bytes. */
#include "report/mbox.h"
#include "report/report_internal.h"
#include "report/walk_internal.h"

#include "core/lazy_gmime.h"
#include "core/lazy_openssl.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* multipart levels inside one message (each attached message starts
 * again, and counts as a wrapper against MS_REPORT_NESTING_MAX). */
#define WALK_MIME_DEPTH_MAX 32

/* ---- A GMime stream as a source ------------------------------------------ */

typedef struct gmime_src {
    walk_src base;
    GMimeStream *stream;
} gmime_src;

static ssize_t gmime_read(walk_src *src, void *buf, size_t len)
{
    gmime_src *g = (gmime_src *)src;
    ssize_t n = g_mime_stream_read(g->stream, buf, len);
    if (n < 0 && g_mime_stream_eos(g->stream))
        return 0; /* GMime's bounded streams answer -1 at their end */
    if (n < 0)
        return walk_src_fail(src, "%s", "message content cannot be read");
    return n;
}

static void gmime_close(walk_src *src)
{
    g_object_unref(((gmime_src *)src)->stream);
    free(src);
}

static const walk_src_ops gmime_ops = {gmime_read, gmime_close};

/* Takes the caller's reference to stream. */
static walk_src *src_gmime(GMimeStream *stream)
{
    gmime_src *g = calloc(1, sizeof *g);
    if (g == NULL) {
        g_object_unref(stream);
        return NULL;
    }
    g->base.ops = &gmime_ops;
    g->base.file_fd = -1;
    g->stream = stream;
    return &g->base;
}

/* ---- A seekable stream for the parser ------------------------------------- */

/* Why a stream could not be made. */
typedef struct why_buf {
    char text[256];
} why_buf;

/* Copies src into a spool file, at most limit bytes (limit_name says
 * which); the fd, or -1 with why set. */
static int spool_source(walk_src *src, int64_t limit, const char *limit_name, why_buf *why)
{
    int fd = walk_spool_fd();
    if (fd < 0) {
        snprintf(why->text, sizeof why->text, "cannot create a temporary file");
        return -1;
    }
    unsigned char *buf = malloc(WALK_CHUNK);
    int64_t total = 0;
    ssize_t n = 0;
    while (buf != NULL && (n = walk_src_read(src, buf, WALK_CHUNK)) > 0) {
        total += n;
        if (total > limit) {
            snprintf(why->text, sizeof why->text, "larger than %lld bytes (%s)", (long long)limit, limit_name);
            break;
        }
        if (write(fd, buf, (size_t)n) != n) {
            snprintf(why->text, sizeof why->text, "cannot write a temporary file");
            break;
        }
    }
    free(buf);
    if (buf == NULL)
        snprintf(why->text, sizeof why->text, "out of memory");
    else if (n < 0)
        snprintf(why->text, sizeof why->text, "%s", src->error ? src->error : "read error");
    else if (n == 0 && lseek(fd, 0, SEEK_SET) == 0)
        return fd;
    close(fd);
    return -1;
}

/* The bytes of src as a seekable GMime stream; NULL with why set. */
static GMimeStream *seekable_stream(walk_src *src, int64_t limit, const char *limit_name, why_buf *why)
{
    int fd;
    if (src->file_fd >= 0) {
        fd = dup(src->file_fd);
        if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
            if (fd >= 0)
                close(fd);
            snprintf(why->text, sizeof why->text, "cannot reopen the file");
            return NULL;
        }
    } else if (src->memory != NULL) {
        return g_mime_stream_mem_new_with_buffer((const char *)src->memory, src->memory_len);
    } else if ((fd = spool_source(src, limit, limit_name, why)) < 0) {
        return NULL;
    }
    return g_mime_stream_fs_new(fd); /* owns fd */
}

/* ---- Message keys ----------------------------------------------------------- */

/* The Message-ID without angle brackets and surrounding space; NULL when
 * there is none, or (*nomem set) when there was no memory for it. */
static char *normalised_message_id(GMimeMessage *msg, bool *nomem)
{
    const char *id = g_mime_message_get_message_id(msg);
    if (id == NULL)
        return NULL;
    while (*id == ' ' || *id == '\t' || *id == '<')
        id++;
    size_t len = strlen(id);
    while (len > 0 && (id[len - 1] == ' ' || id[len - 1] == '\t' || id[len - 1] == '>' || id[len - 1] == '\r' ||
                       id[len - 1] == '\n'))
        len--;
    if (len == 0)
        return NULL;
    char *key = malloc(len + 1);
    char *copy = key ? strndup(id, len) : NULL;
    if (copy == NULL) {
        free(key);
        *nomem = true;
        return NULL;
    }
    walk_clean_name(copy, key, len + 1 < WALK_NAME_MAX + 1 ? len + 1 : WALK_NAME_MAX + 1);
    free(copy);
    return key;
}

/* SHA-256 (hex) of stream[begin, end); NULL when it cannot be read, or
 * (*nomem set) when there was no memory for it. */
static char *message_digest(GMimeStream *stream, gint64 begin, gint64 end, bool *nomem)
{
    GMimeStream *range = g_mime_stream_substream(stream, begin, end);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = malloc(WALK_CHUNK);
    char *hex = NULL;
    if (range != NULL && md != NULL && buf != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
        ssize_t n;
        int ok = 1;
        while (ok && (n = g_mime_stream_read(range, (char *)buf, WALK_CHUNK)) > 0)
            ok = EVP_DigestUpdate(md, buf, (size_t)n);
        if (n < 0 && g_mime_stream_eos(range))
            n = 0; /* the end of a bounded stream */
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        if (ok && n == 0 && EVP_DigestFinal_ex(md, digest, &len) == 1 && (hex = malloc(2 * len + 1)) != NULL)
            for (unsigned i = 0; i < len; i++)
                snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        else if (ok && n == 0 && len > 0)
            *nomem = true; /* the digest was made, its hex had no memory */
    }
    if (buf == NULL)
        *nomem = true;
    free(buf);
    EVP_MD_CTX_free(md);
    if (range != NULL)
        g_object_unref(range);
    return hex;
}

/* ---- Parts ---------------------------------------------------------------------- */

/* A failure report: a multipart/report; report-type=feedback-report, or a
 * message/feedback-report part (inside multipart/mixed, as some receivers
 * send it, or as the whole body), anywhere in the message's own tree
 * (attached messages are separate messages). */
static bool has_feedback_report(GMimeObject *obj, unsigned level)
{
    if (level > WALK_MIME_DEPTH_MAX)
        return false;
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    if (ct != NULL && g_mime_content_type_is_type(ct, "message", "feedback-report"))
        return true;
    if (!GMIME_IS_MULTIPART(obj))
        return false;
    const char *type = g_mime_object_get_content_type_parameter(obj, "report-type");
    if (g_mime_content_type_is_type(ct, "multipart", "report") && type != NULL &&
        g_ascii_strcasecmp(type, "feedback-report") == 0)
        return true;
    int count = g_mime_multipart_get_count((GMimeMultipart *)obj);
    for (int i = 0; i < count; i++)
        if (has_feedback_report(g_mime_multipart_get_part((GMimeMultipart *)obj, i), level + 1))
            return true;
    return false;
}

/* "part 2.1 (report.xml.gz)": the IMAP section number and the file name,
 * or the content type when the part has no name. */
static size_t push_part(walk_ctx *ctx, GMimeObject *obj, const char *number)
{
    const char *filename = GMIME_IS_PART(obj) ? g_mime_part_get_filename((GMimePart *)obj) : NULL;
    char *type = filename ? NULL : g_mime_content_type_get_mime_type(g_mime_object_get_content_type(obj));
    char label[WALK_NAME_MAX + 1];
    walk_clean_name(filename ? filename : type ? type : "?", label, sizeof label);
    g_free(type);
    return walk_path_push(ctx, "part %s (%s)", number, label);
}

/* A leaf part: its content, transfer-decoded as it is read, walked. */
static void walk_leaf(walk_ctx *ctx, GMimePart *part, unsigned depth)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (content == NULL)
        return;
    GMimeStream *raw = g_mime_data_wrapper_get_stream(content);
    if (raw == NULL)
        return;
    GMimeStream *window = g_mime_stream_substream(raw, raw->bound_start, raw->bound_end);
    GMimeStream *decoded = g_mime_stream_filter_new(window);
    g_object_unref(window);
    GMimeContentEncoding encoding = g_mime_data_wrapper_get_encoding(content);
    if (encoding == GMIME_CONTENT_ENCODING_BASE64 || encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        encoding == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *filter = g_mime_filter_basic_new(encoding, FALSE);
        g_mime_stream_filter_add((GMimeStreamFilter *)decoded, filter);
        g_object_unref(filter);
    }
    walk_src *src = src_gmime(decoded);
    if (src == NULL) {
        ctx->nomem = true;
        return;
    }
    walk_source(ctx, src, depth + 1, false);
}

/* An attached message: written out to a spool file, walked as a message
 * (sniffed like anything else, so it counts as one more wrapper). */
static void walk_attached_message(walk_ctx *ctx, GMimeMessagePart *part, unsigned depth)
{
    GMimeMessage *msg = g_mime_message_part_get_message(part);
    if (msg == NULL)
        return;
    int fd = walk_spool_fd();
    if (fd < 0) {
        walk_unreadable(ctx, "%s", "attached message: cannot create a temporary file");
        return;
    }
    GMimeStream *out = g_mime_stream_fs_new(fd);
    g_mime_stream_fs_set_owner((GMimeStreamFs *)out, FALSE);
    ssize_t written = g_mime_object_write_to_stream((GMimeObject *)msg, NULL, out);
    g_mime_stream_flush(out);
    g_object_unref(out);
    walk_src *src = NULL;
    if (written < 0 || lseek(fd, 0, SEEK_SET) != 0)
        walk_unreadable(ctx, "%s", "attached message: cannot write a temporary file");
    else if ((src = walk_src_fd(fd, true)) == NULL)
        ctx->nomem = true;
    else
        walk_source(ctx, src, depth + 1, false);
    close(fd);
}

static void walk_parts(walk_ctx *ctx, GMimeObject *obj, const char *number, unsigned depth, unsigned level)
{
    if (ctx->stop || ctx->nomem)
        return;
    if (level > WALK_MIME_DEPTH_MAX) {
        walk_unreadable(ctx, "MIME parts nested deeper than %d levels: not read", WALK_MIME_DEPTH_MAX);
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        int count = g_mime_multipart_get_count((GMimeMultipart *)obj);
        for (int i = 0; i < count && !ctx->stop && !ctx->nomem; i++) {
            char child[128];
            if (*number == '\0')
                snprintf(child, sizeof child, "%d", i + 1);
            else
                snprintf(child, sizeof child, "%s.%d", number, i + 1);
            walk_parts(ctx, g_mime_multipart_get_part((GMimeMultipart *)obj, i), child, depth, level + 1);
        }
        return;
    }
    size_t mark = push_part(ctx, obj, *number ? number : "1");
    if (GMIME_IS_MESSAGE_PART(obj))
        walk_attached_message(ctx, (GMimeMessagePart *)obj, depth);
    else if (GMIME_IS_PART(obj))
        walk_leaf(ctx, (GMimePart *)obj, depth);
    walk_path_pop(ctx, mark);
}

/* One parsed message whose bytes are stream[begin, end). */
static void walk_parsed_message(walk_ctx *ctx, GMimeStream *stream, GMimeMessage *msg, gint64 begin, gint64 end,
                                unsigned depth)
{
    bool nomem = false;
    char *key = normalised_message_id(msg, &nomem);
    if (key == NULL && !nomem)
        key = message_digest(stream, begin, end, &nomem);
    if (nomem) { /* another key than the next run's, or none: not delivered */
        ctx->nomem = true;
        return;
    }
    const char *outer_key = ctx->message_key;
    ctx->message_key = key;
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    if (body != NULL && has_feedback_report(body, 0)) {
        GMimeStream *whole = g_mime_stream_substream(stream, begin, end);
        walk_src *src = src_gmime(whole);
        if (src == NULL)
            ctx->nomem = true;
        else
            walk_deliver(ctx, src, MS_REPORT_FAILURE);
        walk_src_close(src);
    } else if (body != NULL) {
        walk_parts(ctx, body, "", depth, 0);
    }
    ctx->message_key = outer_key;
    free(key);
}

void walk_message(walk_ctx *ctx, walk_src *src, unsigned depth)
{
    if (!report_gmime_init()) {
        walk_unreadable(ctx, "message cannot be read: %s", ms_lazy_error(&ms_gmime_lib));
        return;
    }
    why_buf why;
    GMimeStream *stream = seekable_stream(src, MS_REPORT_MESSAGE_MAX, "MS_REPORT_MESSAGE_MAX", &why);
    if (stream == NULL) {
        walk_unreadable(ctx, "message cannot be read: %s", why.text);
        return;
    }
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    g_mime_parser_set_persist_stream(parser, TRUE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    if (msg == NULL) {
        walk_unreadable(ctx, "%s", "message cannot be parsed");
    } else {
        gint64 begin = g_mime_parser_get_headers_begin(parser);
        gint64 end = g_mime_parser_tell(parser);
        walk_parsed_message(ctx, stream, msg, begin < 0 ? 0 : begin, end, depth);
        g_object_unref(msg);
    }
    g_object_unref(parser);
    g_object_unref(stream);
}

/* ---- mbox: one message at a time ------------------------------------------- */

struct mbox_reader {
    GMimeStream *stream; /* the whole mbox; offsets are the file's */
};

/* Takes the stream (NULL: out of memory). */
static mbox_reader *reader_on(GMimeStream *stream)
{
    mbox_reader *r = stream != NULL ? calloc(1, sizeof *r) : NULL;
    if (r != NULL)
        r->stream = stream;
    else if (stream != NULL)
        g_object_unref(stream);
    return r;
}

mbox_reader *mbox_reader_open(int fd, const void *memory, int64_t size)
{
    if (!report_gmime_init())
        return NULL;
    if (fd < 0)
        return reader_on(g_mime_stream_mem_new_with_buffer((const char *)memory, (size_t)size));
    /* A description of its own: GMime seeks the stream it reads, and
     * several threads read the same file. */
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int own = open(path, O_RDONLY | O_CLOEXEC);
    return own >= 0 ? reader_on(g_mime_stream_fs_new(own)) : NULL; /* the stream owns it */
}

void mbox_reader_close(mbox_reader *r)
{
    if (r != NULL) {
        g_object_unref(r->stream);
        free(r);
    }
}

/* Message m of the mbox in stream, parsed from its own bytes (GMime's mbox
 * format, so a "From " line there ends it as it would the whole mbox's
 * parse) and walked. One that cannot be parsed is set aside; the next one
 * is read all the same. */
static void walk_mbox_message(walk_ctx *ctx, GMimeStream *stream, const mbox_message *m, unsigned depth,
                              bool top)
{
    GMimeStream *bytes = g_mime_stream_substream(stream, m->marker, m->stop);
    GMimeParser *parser = g_mime_parser_new_with_stream(bytes);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
    g_mime_parser_set_persist_stream(parser, TRUE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    size_t mark = walk_path_push(ctx, "message %u (byte %lld)", m->number, (long long)m->marker);
    if (msg == NULL) {
        /* a "From " line at the very end, with nothing after it, is no
         * message (as when the whole mbox is parsed) */
        if (!g_mime_parser_eos(parser))
            walk_unreadable(ctx, "%s", "message cannot be parsed");
    } else {
        unsigned found = ctx->found, skips = ctx->skips;
        ctx->found = ctx->skips = 0;
        walk_parsed_message(ctx, bytes, msg, g_mime_parser_get_headers_begin(parser), g_mime_parser_tell(parser),
                            depth + 1);
        /* the messages of an mbox file (gzip'd or not) are items of their
         * own; an mbox inside a message or archive is not */
        if (top && ctx->found == 0 && ctx->skips == 0 && !ctx->nomem)
            walk_skip(ctx, "%s", "no report found in this message");
        ctx->found += found;
        ctx->skips += skips;
        g_object_unref(msg);
    }
    walk_path_pop(ctx, mark);
    g_object_unref(parser);
    g_object_unref(bytes);
}

ms_status mbox_reader_walk(mbox_reader *r, const char *file, const mbox_message *m,
                           const ms_report_walk_callbacks *cb, unsigned *items, int *stopped)
{
    walk_ctx ctx = {.cb = cb, .file = file};
    walk_path_push(&ctx, "%s", file);
    walk_mbox_message(&ctx, r->stream, m, 0, true);
    free(ctx.path.text);
    *items = ctx.found + ctx.skips;
    *stopped = ctx.stop;
    return ctx.nomem ? MS_ERR_NOMEM : MS_OK;
}

ms_status mbox_reader_unreadable(const char *file, unsigned after, const char *why,
                                 const ms_report_walk_callbacks *cb, unsigned *items)
{
    walk_ctx ctx = {.cb = cb, .file = file};
    walk_path_push(&ctx, "%s", file);
    walk_unreadable(&ctx, "mbox cannot be read after message %u: %s", after, why);
    free(ctx.path.text);
    *items = ctx.found + ctx.skips;
    return ctx.nomem ? MS_ERR_NOMEM : MS_OK;
}

/* The mbox's bytes for the splitter and the parser: the file itself, the
 * caller's memory, or a spool file (gzip'd, standard input). */
typedef struct mbox_bytes {
    int fd; /* ours to close, or -1 for memory */
    const unsigned char *memory;
    int64_t size;
} mbox_bytes;

static bool mbox_bytes_open(walk_src *src, mbox_bytes *b, why_buf *why)
{
    *b = (mbox_bytes){.fd = -1};
    if (src->file_fd < 0 && src->memory != NULL) {
        b->memory = src->memory;
        b->size = (int64_t)src->memory_len;
        return true;
    }
    b->fd = src->file_fd >= 0 ? dup(src->file_fd)
                              : spool_source(src, MS_REPORT_INFLATED_MAX, "MS_REPORT_INFLATED_MAX", why);
    struct stat st;
    if (b->fd >= 0 && fstat(b->fd, &st) == 0) {
        b->size = st.st_size;
        return true;
    }
    if (b->fd >= 0)
        close(b->fd);
    if (src->file_fd >= 0)
        snprintf(why->text, sizeof why->text, "cannot reopen the file");
    return false;
}

void walk_mbox(walk_ctx *ctx, walk_src *src, unsigned depth, bool top)
{
    if (!report_gmime_init()) {
        walk_unreadable(ctx, "mbox cannot be read: %s", ms_lazy_error(&ms_gmime_lib));
        return;
    }
    if (top && depth == 0 && src->file_fd >= 0 && ctx->share != NULL) {
        struct stat st;
        long items = fstat(src->file_fd, &st) == 0 ? ctx->share->take(ctx->share->arg, ctx->file, src->file_fd,
                                                                      st.st_size)
                                                   : -1;
        if (items >= 0) {
            ctx->found += (unsigned)items;
            return;
        }
    }
    why_buf why;
    mbox_bytes b;
    if (!mbox_bytes_open(src, &b, &why)) {
        walk_unreadable(ctx, "mbox cannot be read: %s", why.text);
        return;
    }
    mbox_split *split = malloc(sizeof *split);
    /* this thread alone reads it: the parser's stream may share the
     * splitter's file description (the splitter does not seek) */
    int parser_fd = b.fd >= 0 ? dup(b.fd) : -1;
    mbox_reader *reader = b.fd < 0 ? reader_on(g_mime_stream_mem_new_with_buffer((const char *)b.memory,
                                                                                 (size_t)b.size))
                          : parser_fd >= 0 ? reader_on(g_mime_stream_fs_new(parser_fd))
                                           : NULL;
    if (split == NULL || reader == NULL) {
        ctx->nomem = true;
    } else if (mbox_split_init(split, b.fd, b.memory, b.size) != 0) {
        walk_unreadable(ctx, "mbox cannot be read: %s", strerror(errno));
    } else {
        mbox_message m;
        int more = 0;
        while (!ctx->stop && !ctx->nomem && (more = mbox_split_next(split, &m)) > 0)
            walk_mbox_message(ctx, reader->stream, &m, depth, top);
        if (more < 0 && !ctx->stop && !ctx->nomem)
            walk_unreadable(ctx, "mbox cannot be read after message %u: %s", split->number, "read error");
    }
    mbox_reader_close(reader);
    free(split);
    if (b.fd >= 0)
        close(b.fd);
}
