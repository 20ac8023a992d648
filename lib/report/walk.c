/* ms_report_walk: finds reports in files, directories, standard input and
 * buffers, by content, and hands each one over as a stream
 * (docs/report-ingest.md). This file holds the byte sources common to all
 * wrappers, the origin paths, the dispatch on sniffed content and the
 * directory walk; inflate.c, archive.c and mime.c unwrap gzip, zip and
 * mail. */
#include "core/internal.h"
#include "report/mbox.h"
#include "report/walk_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory levels below a path given (deeper trees are reported and
 * skipped: a Maildir is three levels deep). */
#define WALK_DIR_DEPTH_MAX 64

/* ---- Byte sources ---------------------------------------------------- */

static char *text_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *text_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = ms_vasprintf(fmt, ap);
    va_end(ap);
    return text;
}

/* A source's error when its message could not be allocated: the source
 * fails all the same (src->error is what says it failed). Never freed. */
static char out_of_memory[] = "out of memory";

ssize_t walk_src_fail(walk_src *src, const char *fmt, ...)
{
    if (src->error == NULL) {
        va_list ap;
        va_start(ap, fmt);
        src->error = ms_vasprintf(fmt, ap);
        va_end(ap);
        if (src->error == NULL)
            src->error = out_of_memory;
    }
    return -1;
}

/* One read of the source itself, remembering the end. */
static ssize_t src_read_raw(walk_src *src, void *buf, size_t len)
{
    if (src->eof)
        return 0;
    ssize_t n = src->ops->read(src, buf, len);
    if (n == 0)
        src->eof = true;
    return n;
}

ssize_t walk_src_read(walk_src *src, void *buf, size_t len)
{
    if (len > SSIZE_MAX)
        len = SSIZE_MAX;
    if (src->peek_pos < src->peek_len) {
        size_t n = src->peek_len - src->peek_pos;
        if (n > len)
            n = len;
        memcpy(buf, src->peek + src->peek_pos, n);
        src->peek_pos += n;
        return (ssize_t)n;
    }
    if (src->error != NULL)
        return -1;
    return src_read_raw(src, buf, len);
}

ssize_t walk_src_peek(walk_src *src, size_t want)
{
    if (want > src->peek_cap) {
        unsigned char *peek = realloc(src->peek, want);
        if (peek == NULL)
            return walk_src_fail(src, "out of memory");
        src->peek = peek;
        src->peek_cap = want;
    }
    while (src->peek_len < want && !src->eof && src->error == NULL) {
        ssize_t n = src_read_raw(src, src->peek + src->peek_len, want - src->peek_len);
        if (n < 0)
            break;
        src->peek_len += (size_t)n;
    }
    if (src->peek_len == 0 && src->error != NULL)
        return -1;
    return (ssize_t)src->peek_len;
}

void walk_src_close(walk_src *src)
{
    if (src == NULL)
        return;
    free(src->peek);
    if (src->error != out_of_memory)
        free(src->error);
    src->ops->close(src);
}

/* Memory: the caller's bytes, not copied. */
typedef struct mem_src {
    walk_src base;
    const unsigned char *data;
    size_t len, pos;
} mem_src;

static ssize_t mem_read(walk_src *src, void *buf, size_t len)
{
    mem_src *m = (mem_src *)src;
    size_t n = m->len - m->pos;
    if (n > len)
        n = len;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static void mem_close(walk_src *src)
{
    free(src);
}

static const walk_src_ops mem_ops = {mem_read, mem_close};

walk_src *walk_src_memory(const void *data, size_t len)
{
    mem_src *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->base.ops = &mem_ops;
    m->base.file_fd = -1;
    m->data = data;
    m->len = len;
    m->base.memory = data;
    m->base.memory_len = len;
    return &m->base;
}

/* A file descriptor: a file, standard input, a pipe. */
typedef struct fd_src {
    walk_src base;
    int fd;
} fd_src;

static ssize_t fd_read(walk_src *src, void *buf, size_t len)
{
    fd_src *f = (fd_src *)src;
    for (;;) {
        ssize_t n = read(f->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return walk_src_fail(src, "read error: %s", strerror(errno));
    }
}

static const walk_src_ops fd_ops = {fd_read, mem_close};

walk_src *walk_src_fd(int fd, bool regular)
{
    fd_src *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->base.ops = &fd_ops;
    f->fd = fd;
    f->base.file_fd = regular && lseek(fd, 0, SEEK_CUR) == 0 ? fd : -1;
    return &f->base;
}

int walk_spool_fd(void)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/mailsec-spool-XXXXXX", dir) >= (int)sizeof path)
        return -1;
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path);
    return fd;
}

/* ---- Origin paths ------------------------------------------------------ */

void walk_clean_name(const char *in, char *out, size_t cap)
{
    size_t limit = cap - 1 < WALK_NAME_MAX ? cap - 1 : WALK_NAME_MAX;
    size_t n = 0;
    for (; in[n] != '\0' && n < limit; n++) {
        unsigned char c = (unsigned char)in[n];
        out[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[n] = '\0';
}

size_t walk_path_push(walk_ctx *ctx, const char *fmt, ...)
{
    walk_path *p = &ctx->path;
    size_t mark = p->len;
    va_list ap;
    va_start(ap, fmt);
    char *component = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (component == NULL) {
        ctx->nomem = true;
        return mark;
    }
    size_t n = strlen(component);
    size_t need = p->len + 2 + n + 1;
    if (need > p->cap) {
        size_t cap = need * 2;
        char *text = realloc(p->text, cap);
        if (text == NULL) {
            ctx->nomem = true;
            free(component);
            return mark;
        }
        p->text = text;
        p->cap = cap;
    }
    if (p->len > 0) {
        memcpy(p->text + p->len, ": ", 2);
        p->len += 2;
    }
    memcpy(p->text + p->len, component, n + 1);
    p->len += n;
    free(component);
    return mark;
}

void walk_path_pop(walk_ctx *ctx, size_t mark)
{
    if (ctx->path.text != NULL && mark <= ctx->path.len) {
        ctx->path.len = mark;
        ctx->path.text[mark] = '\0';
    }
}

void walk_skip(walk_ctx *ctx, const char *fmt, ...)
{
    ctx->skips++;
    if (ctx->cb->skipped == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *reason = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (reason == NULL) {
        ctx->nomem = true;
        return;
    }
    ms_report_origin origin = {ctx->file, ctx->path.text ? ctx->path.text : ctx->file};
    ctx->cb->skipped(ctx->cb->arg, &origin, reason);
    free(reason);
}

/* ---- Documents ----------------------------------------------------------- */

struct ms_report_doc {
    walk_src *src;
    ms_report_kind kind;
    ms_report_origin origin;
    const char *message_key;
    bool failed;
};

ssize_t ms_report_doc_read(ms_report_doc *doc, void *buf, size_t len)
{
    if (doc->failed)
        return -1;
    ssize_t n = walk_src_read(doc->src, buf, len);
    if (n < 0)
        doc->failed = true;
    return n;
}

/* The reason alone: the caller has the origin (ms_report_doc_origin) and
 * puts it in front, once. */
const char *ms_report_doc_error(const ms_report_doc *doc)
{
    if (!doc->failed)
        return NULL;
    return doc->src->error ? doc->src->error : out_of_memory;
}

ms_report_kind ms_report_doc_kind(const ms_report_doc *doc)
{
    return doc->kind;
}

const ms_report_origin *ms_report_doc_origin(const ms_report_doc *doc)
{
    return &doc->origin;
}

const char *ms_report_doc_message_key(const ms_report_doc *doc)
{
    return doc->message_key;
}

int ms_report_doc_tap_gzip(ms_report_doc *doc, ms_report_gzip_fn keep, void *arg)
{
    return walk_inflate_tap(doc->src, keep, arg);
}

int ms_report_doc_gzip_ahead(ms_report_doc *doc, size_t max, ms_report_gzip_fn look, void *arg)
{
    return doc->failed ? 0 : walk_inflate_ahead(doc->src, max, look, arg);
}

void walk_deliver(walk_ctx *ctx, walk_src *src, ms_report_kind kind)
{
    ms_report_doc doc = {
        .src = src,
        .kind = kind,
        .origin = {ctx->file, ctx->path.text ? ctx->path.text : ctx->file},
        .message_key = ctx->message_key,
    };
    ctx->found++;
    if (ctx->cb->document != NULL && ctx->cb->document(ctx->cb->arg, &doc) != 0)
        ctx->stop = true;
}

/* A source whose only read fails with the reason it was made with. */
static ssize_t unreadable_read(walk_src *src, void *buf, size_t len)
{
    (void)buf;
    (void)len;
    return walk_src_fail(src, "%s", "read error");
}

static const walk_src_ops unreadable_ops = {unreadable_read, mem_close};

void walk_unreadable(walk_ctx *ctx, const char *fmt, ...)
{
    walk_src *src = calloc(1, sizeof *src);
    if (src == NULL) {
        ctx->nomem = true;
        return;
    }
    src->ops = &unreadable_ops;
    src->file_fd = -1;
    va_list ap;
    va_start(ap, fmt);
    src->error = ms_vasprintf(fmt, ap);
    va_end(ap);
    if (src->error == NULL)
        ctx->nomem = true;
    else
        walk_deliver(ctx, src, MS_REPORT_AGGREGATE);
    walk_src_close(src);
}

/* ---- Dispatch on content ------------------------------------------------- */

static void walk_gzip(walk_ctx *ctx, walk_src *src, unsigned depth, bool top)
{
    walk_src *inner = walk_src_inflate(src);
    if (inner == NULL) {
        ctx->nomem = true;
        return;
    }
    /* Reading the first bytes parses the gzip header, which may name the
     * file that was compressed: the next component of the origin. */
    walk_src_peek(inner, WALK_SNIFF_BYTES);
    const char *name = walk_inflate_name(inner);
    size_t mark = walk_path_push(ctx, "%s", name ? name : "(gunzip)");
    walk_source(ctx, inner, depth + 1, top);
    walk_path_pop(ctx, mark);
}

void walk_source(walk_ctx *ctx, walk_src *src, unsigned depth, bool top)
{
    if (ctx->stop || ctx->nomem) {
        walk_src_close(src);
        return;
    }
    ssize_t n = walk_src_peek(src, WALK_SNIFF_BYTES);
    if (n < 0) {
        walk_unreadable(ctx, "%s", src->error);
        walk_src_close(src);
        return;
    }
    walk_format format = walk_sniff(src->peek, (size_t)n);
    if (depth == 0)
        ctx->top_format = format;
    bool wrapper = format == WALK_GZIP || format == WALK_ZIP || format == WALK_MESSAGE || format == WALK_MBOX;
    if (wrapper && depth >= MS_REPORT_NESTING_MAX) {
        walk_unreadable(ctx, "%s nested deeper than %d wrappers (MS_REPORT_NESTING_MAX): not read",
                        walk_format_name(format), MS_REPORT_NESTING_MAX);
        walk_src_close(src);
        return;
    }
    switch (format) {
    case WALK_XML:
        walk_deliver(ctx, src, MS_REPORT_AGGREGATE);
        break;
    case WALK_JSON:
        walk_deliver(ctx, src, MS_REPORT_TLSRPT);
        break;
    case WALK_GZIP:
        walk_gzip(ctx, src, depth, top); /* the inflater owns src */
        return;
    case WALK_ZIP:
        walk_zip(ctx, src, depth);
        break;
    case WALK_MESSAGE:
        walk_message(ctx, src, depth);
        break;
    case WALK_MBOX:
        walk_mbox(ctx, src, depth, top);
        break;
    case WALK_EMPTY:
    case WALK_HTML:
    case WALK_UNKNOWN:
        if (top)
            walk_skip(ctx, "not a report: %s", walk_format_name(format));
        break;
    }
    walk_src_close(src);
}

/* One item: a file, standard input, a buffer. */
static void walk_item(walk_ctx *ctx, const char *name, walk_src *src)
{
    ctx->file = name;
    ctx->path.len = 0;
    walk_path_push(ctx, "%s", name);
    ctx->found = ctx->skips = 0;
    ctx->top_format = WALK_UNKNOWN;
    ctx->message_key = NULL;
    walk_source(ctx, src, 0, true);
    if (ctx->found == 0 && ctx->skips == 0 && !ctx->nomem)
        walk_skip(ctx, "no report found in this %s", walk_format_name(ctx->top_format));
}

/* ---- Files and directories ------------------------------------------------ */

/* The directories being walked, from the path given down: a directory met
 * again (a bind mount, a hard-linked directory) is a loop. */
typedef struct dir_stack {
    dev_t dev[WALK_DIR_DEPTH_MAX + 1];
    ino_t ino[WALK_DIR_DEPTH_MAX + 1];
    unsigned depth;
} dir_stack;

static void walk_path_arg(walk_ctx *ctx, const char *path, dir_stack *dirs);

/* Whether this walk takes the path (callbacks.want). */
static bool mine(walk_ctx *ctx, const char *path)
{
    return ctx->cb->want == NULL || ctx->cb->want(ctx->cb->arg, path) != 0;
}

/* A path passed over on purpose (a loop, a link to a directory, a device). */
static void skip_path(walk_ctx *ctx, const char *path, const char *reason)
{
    ctx->file = path;
    ctx->path.len = 0;
    walk_path_push(ctx, "%s", path);
    walk_skip(ctx, "%s", reason);
}

/* A path that may hold reports and could not be read: not stored, so it
 * is handed over as an unreadable document (see walk_unreadable). */
static void unreadable_path(walk_ctx *ctx, const char *path, const char *reason, const char *detail)
{
    ctx->file = path;
    ctx->path.len = 0;
    walk_path_push(ctx, "%s", path);
    if (detail != NULL)
        walk_unreadable(ctx, "%s: %s", reason, detail);
    else
        walk_unreadable(ctx, "%s", reason);
}

static void walk_file(walk_ctx *ctx, const char *path, const struct stat *st, dir_stack *dirs);

/* A directory's entry of the given type (d_type). Readers that share a
 * walk each walk every path; a regular file that is another reader's is
 * passed over as its entry says, without a stat: those stats were a
 * tenth of ingesting a stored corpus again. One that is this reader's is
 * opened as any file is (and passed over if it is no longer a regular
 * file); any other entry, or one of unknown type, is looked at. */
static void walk_dir_entry(walk_ctx *ctx, const char *path, unsigned char type, dir_stack *dirs)
{
    if (type != DT_REG || ctx->cb->want == NULL) {
        walk_path_arg(ctx, path, dirs);
        return;
    }
    if (mine(ctx, path))
        walk_file(ctx, path, NULL, dirs);
}

static int not_dot(const struct dirent *e)
{
    return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

static void walk_dir(walk_ctx *ctx, const char *path, const struct stat *st, dir_stack *dirs)
{
    for (unsigned i = 0; i < dirs->depth; i++)
        if (dirs->dev[i] == st->st_dev && dirs->ino[i] == st->st_ino) {
            if (mine(ctx, path))
                skip_path(ctx, path, "directory loop: this directory contains itself");
            return;
        }
    if (dirs->depth > WALK_DIR_DEPTH_MAX) {
        if (mine(ctx, path))
            unreadable_path(ctx, path, "directories nested too deep: not read", NULL);
        return;
    }
    struct dirent **names;
    int count = scandir(path, &names, not_dot, alphasort);
    if (count < 0) {
        if (mine(ctx, path))
            unreadable_path(ctx, path, "cannot read directory", strerror(errno));
        return;
    }
    dirs->dev[dirs->depth] = st->st_dev;
    dirs->ino[dirs->depth] = st->st_ino;
    dirs->depth++;
    for (int i = 0; i < count; i++) {
        char *child = NULL;
        if (!ctx->stop && !ctx->nomem) {
            const char *sep = path[strlen(path) - 1] == '/' ? "" : "/";
            if ((child = text_format("%s%s%s", path, sep, names[i]->d_name)) == NULL)
                ctx->nomem = true;
            else
                walk_dir_entry(ctx, child, names[i]->d_type, dirs);
        }
        free(child);
        free(names[i]);
    }
    free(names);
    dirs->depth--;
}

static void walk_fd(walk_ctx *ctx, const char *name, int fd, const struct stat *st)
{
    bool regular = S_ISREG(st->st_mode);
    if (ctx->cb->file != NULL)
        ctx->cb->file(ctx->cb->arg, name, regular ? (int64_t)st->st_size : -1);
    walk_src *src = walk_src_fd(fd, regular);
    if (src == NULL) {
        ctx->nomem = true;
        return;
    }
    walk_item(ctx, name, src);
}

static void walk_path_arg(walk_ctx *ctx, const char *path, dir_stack *dirs)
{
    struct stat st;
    if (strcmp(path, "-") == 0) {
        if (!mine(ctx, path))
            return;
        if (fstat(STDIN_FILENO, &st) != 0)
            unreadable_path(ctx, path, "cannot read standard input", strerror(errno));
        else
            walk_fd(ctx, path, STDIN_FILENO, &st);
        return;
    }
    if (lstat(path, &st) != 0) {
        if (mine(ctx, path))
            unreadable_path(ctx, path, "cannot open", strerror(errno));
        return;
    }
    /* Symbolic links to files are read; to directories, not followed (a
     * link to a parent would loop). A path given by the user is followed. */
    if (S_ISLNK(st.st_mode)) {
        if (stat(path, &st) != 0) {
            if (mine(ctx, path))
                unreadable_path(ctx, path, "cannot open", strerror(errno));
            return;
        }
        if (S_ISDIR(st.st_mode) && dirs->depth > 0) {
            if (mine(ctx, path))
                skip_path(ctx, path, "symbolic link to a directory: not followed");
            return;
        }
    }
    if (S_ISDIR(st.st_mode)) {
        walk_dir(ctx, path, &st, dirs);
        return;
    }
    if (mine(ctx, path))
        walk_file(ctx, path, &st, dirs);
}

/* A path that is not a directory, this walk's: read when it is a regular
 * file. st: what stat said of it (NULL: a directory's entry said it is a
 * regular file). */
static void walk_file(walk_ctx *ctx, const char *path, const struct stat *st, dir_stack *dirs)
{
    /* A pipe given by name (a shell's <(...)) is read like standard input;
     * found in a directory, it is passed over (opening it could block). */
    bool stream_ok = st != NULL && dirs->depth == 0 && (S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode));
    if (st != NULL && !S_ISREG(st->st_mode) && !stream_ok) {
        skip_path(ctx, path, "not a regular file");
        return;
    }
    /* O_NONBLOCK: a directory's entry may have become a FIFO since */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (st == NULL ? O_NONBLOCK : 0));
    if (fd < 0) {
        unreadable_path(ctx, path, "cannot open", strerror(errno));
        return;
    }
    struct stat opened;
    if (fstat(fd, &opened) != 0 || (!S_ISREG(opened.st_mode) && !stream_ok))
        skip_path(ctx, path, "not a regular file");
    else
        walk_fd(ctx, path, fd, &opened);
    close(fd);
}

ms_status ms_report_walk(const char *const *paths, size_t count, const ms_report_walk_callbacks *cb)
{
    return report_walk_sharing(paths, count, cb, NULL);
}

ms_status report_walk_sharing(const char *const *paths, size_t count, const ms_report_walk_callbacks *cb,
                              const mbox_share *share)
{
    if (cb == NULL || (paths == NULL && count > 0))
        return MS_ERR_INVALID;
    walk_ctx ctx = {.cb = cb, .share = share};
    for (size_t i = 0; i < count && !ctx.stop && !ctx.nomem; i++) {
        dir_stack dirs = {.depth = 0};
        walk_path_arg(&ctx, paths[i], &dirs);
    }
    free(ctx.path.text);
    return ctx.nomem ? MS_ERR_NOMEM : MS_OK;
}

ms_status ms_report_walk_buffer(const char *name, const void *data, size_t len, const ms_report_walk_callbacks *cb)
{
    if (cb == NULL || name == NULL || (data == NULL && len > 0))
        return MS_ERR_INVALID;
    walk_ctx ctx = {.cb = cb};
    walk_src *src = walk_src_memory(data ? data : "", len);
    if (src == NULL)
        return MS_ERR_NOMEM;
    walk_item(&ctx, name, src);
    free(ctx.path.text);
    return ctx.nomem ? MS_ERR_NOMEM : MS_OK;
}
