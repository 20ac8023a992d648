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
#include "../unit/testutil.h"
#include "stream_feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static size_t one_byte(void *arg, size_t left)
{
    (void)arg, (void)left;
    return 1;
}

static char *bytes(ms_ctx *ctx, const char *msg, size_t len)
{
    ms_dkim_verify_result *r;
    ms_status st = dkim_feed(ctx, msg, len, 0, one_byte, NULL, &r);
    return summary(st, r);
}

static char *fields(ms_ctx *ctx, const char *msg, size_t len)
{
    ms_dkim_verify_result *r;
    ms_status st = dkim_feed(ctx, msg, len, 1, one_byte, NULL, &r);
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
        char *msg = test_read_file(argv[i], &len);
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
