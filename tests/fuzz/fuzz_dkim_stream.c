/* libFuzzer harness for the streaming DKIM verifier: the input is a
 * message (after a first byte that seeds the chunk sizes). It is verified
 * three ways, which must give the same verdicts:
 *   - ms_dkim_verify over the whole message;
 *   - ms_dkim_verifier_write in pseudo-random chunks (1 to 64 bytes);
 *   - ms_dkim_verifier_header per field (split here, as a milter gets them,
 *     bare LF or CRLF as written), then ms_dkim_verifier_body in
 *     pseudo-random chunks.
 * Key lookups go to a closed port on the loopback with a 1 ms limit, so
 * they end as temperror at once, the same way for every path; everything
 * before them (splitting, parsing, the ARC structure, the body hashes,
 * l=, the reasons) is compared. Everything is freed, so LeakSanitizer sees
 * any leak. */
#include "mailsec/dkim.h"
#include "../dkim/stream_feed.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ms_ctx *ctx;

/* The verdicts as a string (malloc'ed). */
static char *summary(ms_status st, ms_dkim_verify_result *r)
{
    size_t cap = 1 << 14, n = 0;
    char *s = malloc(cap);
    if (s == NULL)
        abort();
    n += (size_t)snprintf(s, cap, "%s", ms_status_str(st));
    if (st == MS_OK) {
        n += (size_t)snprintf(s + n, cap - n, " %zu:", r->signature_count);
        for (size_t i = 0; i < r->count && n < cap; i++)
            n += (size_t)snprintf(s + n, cap - n, " %s/%s", ms_dkim_result_str(r->items[i].result),
                                  r->items[i].reason);
        for (size_t i = 0; i < r->diags.count && n < cap; i++)
            n += (size_t)snprintf(s + n, cap - n, " %s", r->diags.items[i].def->code);
        if (n < cap)
            snprintf(s + n, cap - n, " arc=%s %d %s %s %s", ms_dkim_arc_result_str(r->arc),
                     r->arc_instance, r->arc_reason ? r->arc_reason : "-",
                     r->arc_sealer ? r->arc_sealer : "-",
                     r->arc_auth_results ? r->arc_auth_results : "-");
        /* a failed chain says why; a passing or absent one does not */
        if ((r->arc == MS_DKIM_ARC_FAIL) != (r->arc_reason != NULL))
            __builtin_trap();
    }
    ms_dkim_verify_result_free(r);
    return s;
}

static size_t next_chunk(uint32_t *seed, size_t left)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t n = 1 + (*seed >> 16) % 64;
    return n < left ? n : left;
}

static char *whole(const char *msg, size_t len)
{
    ms_dkim_verify_result *r = NULL;
    ms_status st = ms_dkim_verify(ctx, msg, len, &r);
    return summary(st, r);
}

static size_t random_chunk(void *seed, size_t left)
{
    return next_chunk(seed, left);
}

static char *chunks(const char *msg, size_t len, uint32_t seed)
{
    ms_dkim_verify_result *r;
    ms_status st = dkim_feed(ctx, msg, len, 0, random_chunk, &seed, &r);
    return summary(st, r);
}

static char *fields(const char *msg, size_t len, uint32_t seed)
{
    ms_dkim_verify_result *r;
    ms_status st = dkim_feed(ctx, msg, len, 1, random_chunk, &seed, &r);
    return summary(st, r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ctx == NULL && (ms_ctx_new(&ctx) != MS_OK || ms_ctx_set_resolver(ctx, "127.0.0.1@9") != MS_OK ||
                        ms_ctx_set_timeout_ms(ctx, 1) != MS_OK))
        abort();
    if (size < 1)
        return 0;
    uint32_t seed = data[0];
    const char *msg = (const char *)data + 1;
    size_t len = size - 1;
    char *a = whole(msg, len), *b = chunks(msg, len, seed), *c = fields(msg, len, seed);
    if (strcmp(a, b) != 0 || strcmp(a, c) != 0) {
        fprintf(stderr, "whole:  %s\nchunks: %s\nfields: %s\n", a, b, c);
        __builtin_trap();
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
