/* libFuzzer harness for the DKIM-Signature parser: arbitrary bytes are
 * parsed as a DKIM-Signature field's value (tag-list, base64, numbers, h=
 * list, cross-tag checks). The same bytes are also split as a message, as
 * verification splits one (header fields, body), and every field and the
 * body are canonicalized both ways, b= stripping included, which is
 * everything verification does before hashing. (fuzz_dkim_stream feeds
 * whole messages through the streaming verifier.) Everything is
 * freed, so LeakSanitizer sees any leak. */
#include "dkim/internal.h"
#include "mailsec/dkim.h"

#include <stdlib.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static void parse_value(const char *text, size_t len)
{
    ms_dkim_signature *sig = NULL;
    ms_diag_list diags = MS_DIAG_LIST_INIT;
    ms_status st = ms_dkim_signature_parse(text, len, "DKIM-Signature #1", &sig, &diags);
    if (st == MS_OK) {
        for (size_t i = 0; i < diags.count; i++) {
            const ms_diag *d = &diags.items[i];
            if (d->def == NULL || d->message == NULL || d->offset < -1 || d->offset > (long)len)
                __builtin_trap();
        }
        /* a usable signature has everything a verifier needs */
        if (sig->usable && (sig->d == NULL || sig->s == NULL || sig->b == NULL ||
                            sig->bh == NULL || sig->h_count == 0 ||
                            sig->alg == MS_DKIM_ALG_UNKNOWN))
            __builtin_trap();
        for (size_t i = 0; i < sig->h_count; i++)
            (void)strlen(sig->h[i]);
    } else if (st != MS_ERR_LIMIT) {
        __builtin_trap();
    }
    ms_dkim_signature_free(sig);
    ms_diag_list_free(&diags);
}

/* A canonical body is empty or ends with exactly one CRLF line end; only
 * relaxed makes an empty body empty. */
static void check_canonical_body(ms_dkim_canon c, const char *body, size_t len)
{
    if (len > 0 && (len < 2 || body[len - 2] != '\r' || body[len - 1] != '\n'))
        __builtin_trap();
    if (len == 0 && c == MS_DKIM_CANON_SIMPLE)
        __builtin_trap();
}

static void canonicalize(const char *data, size_t size)
{
    for (ms_dkim_canon c = MS_DKIM_CANON_SIMPLE; c <= MS_DKIM_CANON_RELAXED; c++) {
        dk_splitter sp;
        dk_splitter_init(&sp, data, size);
        const char *field = NULL;
        size_t flen = 0;
        ms_buf h = MS_BUF_INIT;
        while (dk_next_field(&sp, &field, &flen)) {
            /* fields lie inside the message, in order */
            if (field < data || field + flen > data + sp.pos || sp.pos > size)
                __builtin_trap();
            if (memchr(field, ':', flen) == NULL)
                continue; /* not a field: the verifier sets it aside */
            dk_canon_header(c, field, flen, 0, &h);
            dk_canon_header(c, field, flen, 1, &h);
        }
        ms_buf_free(&h);
        char *body = NULL;
        size_t len = 0;
        if (dk_canon_body(c, data + sp.pos, size - sp.pos, &body, &len) == MS_OK) {
            check_canonical_body(c, body, len);
            free(body);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_value((const char *)data, size);
    canonicalize((const char *)data, size);
    return 0;
}
