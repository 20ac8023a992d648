/* chunked RESOLVER TRUST_ANCHOR FILE...: each message verified five ways
 * must give the same verdicts:
 *   whole     ms_dkim_verify over the file as it is
 *   bytes     ms_dkim_verifier_write, one byte at a time
 *   fields    ms_dkim_verifier_header per field (split here, as a milter
 *             gets them), then ms_dkim_verifier_body one byte at a time
 *   crlf      ms_dkim_verify with every bare LF made CRLF
 *   lf        ms_dkim_verify with every CRLF made LF
 * Prints one line per file: the file name and the verdicts (every
 * signature's result and reason, then ARC's); exits 1 on any difference. */
#include "mailsec/dkim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

/* The verdicts as one line; NULL when verification itself failed. */
static char *summary(ms_status st, ms_dkim_verify_result *r)
{
    if (st != MS_OK) {
        char *s = malloc(64);
        snprintf(s, 64, "status %s", ms_status_str(st));
        return s;
    }
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "%zu signature(s):", r->signature_count);
    for (size_t i = 0; i < r->count && n < cap; i++)
        n += (size_t)snprintf(s + n, cap - n, " %s/%s", ms_dkim_result_str(r->items[i].result),
                              r->items[i].reason);
    if (n < cap)
        snprintf(s + n, cap - n, "; arc=%s i=%d reason=%s sealer=%s results=%s",
                 ms_dkim_arc_result_str(r->arc), r->arc_instance,
                 r->arc_reason ? r->arc_reason : "-", r->arc_sealer ? r->arc_sealer : "-",
                 r->arc_auth_results ? r->arc_auth_results : "-");
    ms_dkim_verify_result_free(r);
    return s;
}

static char *whole(ms_ctx *ctx, const char *msg, size_t len)
{
    ms_dkim_verify_result *r = NULL;
    ms_status st = ms_dkim_verify(ctx, msg, len, &r);
    return summary(st, r);
}

static char *bytes(ms_ctx *ctx, const char *msg, size_t len)
{
    ms_dkim_verifier *v = NULL;
    ms_dkim_verify_result *r = NULL;
    ms_status st = ms_dkim_verifier_new(ctx, NULL, &v);
    for (size_t i = 0; st == MS_OK && i < len; i++)
        st = ms_dkim_verifier_write(v, msg + i, 1);
    if (st == MS_OK)
        st = ms_dkim_verifier_finish(v, &r);
    ms_dkim_verifier_free(v);
    return summary(st, r);
}

/* The end of the line starting at pos, its line break included. */
static size_t line_end(const char *msg, size_t len, size_t pos)
{
    const char *lf = memchr(msg + pos, '\n', len - pos);
    return lf ? (size_t)(lf - msg) + 1 : len;
}

static size_t without_break(const char *msg, size_t start, size_t end)
{
    /* a CR is part of the line break only before a LF */
    if (end > start && msg[end - 1] == '\n') {
        end--;
        if (end > start && msg[end - 1] == '\r')
            end--;
    }
    return end;
}

static char *fields(ms_ctx *ctx, const char *msg, size_t len)
{
    ms_dkim_verifier *v = NULL;
    ms_dkim_verify_result *r = NULL;
    ms_status st = ms_dkim_verifier_new(ctx, NULL, &v);
    size_t pos = 0;
    while (st == MS_OK && pos < len) {
        size_t end = line_end(msg, len, pos);
        if (without_break(msg, pos, end) == pos) { /* the empty line */
            pos = end;
            break;
        }
        while (end < len && (msg[end] == ' ' || msg[end] == '\t'))
            end = line_end(msg, len, end);
        st = ms_dkim_verifier_header(v, msg + pos, without_break(msg, pos, end) - pos);
        pos = end;
    }
    for (; st == MS_OK && pos < len; pos++)
        st = ms_dkim_verifier_body(v, msg + pos, 1);
    if (st == MS_OK)
        st = ms_dkim_verifier_finish(v, &r);
    ms_dkim_verifier_free(v);
    return summary(st, r);
}

/* The message with its line ends rewritten: to_crlf 1 makes bare LF CRLF,
 * 0 makes CRLF LF. */
static char *line_ends(ms_ctx *ctx, const char *msg, size_t len, int to_crlf)
{
    char *out = malloc(2 * len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int crlf = msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n';
        if (!to_crlf && crlf)
            continue;
        if (to_crlf && msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
            out[n++] = '\r';
        out[n++] = msg[i];
    }
    char *s = whole(ctx, out, n);
    free(out);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: chunked RESOLVER TRUST_ANCHOR FILE...\n");
        return 2;
    }
    ms_ctx *ctx = NULL;
    if (ms_ctx_new(&ctx) != MS_OK || ms_ctx_set_resolver(ctx, argv[1]) != MS_OK ||
        ms_ctx_set_trust_anchor_file(ctx, argv[2]) != MS_OK) {
        fprintf(stderr, "chunked: cannot set up the context\n");
        return 2;
    }
    int status = 0;
    for (int i = 3; i < argc; i++) {
        size_t len = 0;
        char *msg = read_file(argv[i], &len);
        if (msg == NULL) {
            fprintf(stderr, "chunked: cannot read %s\n", argv[i]);
            return 2;
        }
        static const char *const WAYS[] = {"whole", "bytes", "fields", "crlf", "lf"};
        char *got[5] = {whole(ctx, msg, len), bytes(ctx, msg, len), fields(ctx, msg, len),
                        line_ends(ctx, msg, len, 1), line_ends(ctx, msg, len, 0)};
        printf("%s %s\n", argv[i], got[0]);
        for (int w = 1; w < 5; w++)
            if (strcmp(got[0], got[w]) != 0) {
                printf("FAIL %s: %s gives %s\n", argv[i], WAYS[w], got[w]);
                status = 1;
            }
        for (int w = 0; w < 5; w++)
            free(got[w]);
        free(msg);
    }
    ms_ctx_free(ctx);
    return status;
}
