/* libFuzzer harness for the DKIM-Signature parser: arbitrary bytes are
 * parsed as a DKIM-Signature field's value (tag-list, base64, numbers, h=
 * list, cross-tag checks). The same bytes are also read as a message, as
 * verification reads one (LF to CRLF, header fields, body), and every
 * field and the body are canonicalized both ways, b= stripping included,
 * which is everything verification does before hashing. Everything is
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

static void canonicalize(const char *data, size_t size)
{
    dk_message m;
    if (dk_message_parse(data, size, &m) != MS_OK)
        return;
    for (ms_dkim_canon c = MS_DKIM_CANON_SIMPLE; c <= MS_DKIM_CANON_RELAXED; c++) {
        ms_buf h = MS_BUF_INIT;
        for (size_t i = 0; i < m.field_count; i++) {
            const dk_field *f = &m.fields[i];
            /* fields lie inside the CRLF copy and start with their name */
            if (f->raw < m.data || f->raw + f->raw_len > m.data + m.len || f->name_len > f->raw_len)
                __builtin_trap();
            dk_canon_header(c, f->raw, f->raw_len, 0, &h);
            dk_canon_header(c, f->raw, f->raw_len, 1, &h);
        }
        ms_buf_free(&h);
        char *body = NULL;
        size_t len = 0;
        if (dk_canon_body(c, m.body, m.body_len, &body, &len) == MS_OK) {
            /* a canonical body is empty or ends with exactly one CRLF line end */
            if (len > 0 && (len < 2 || body[len - 2] != '\r' || body[len - 1] != '\n'))
                __builtin_trap();
            if (len == 0 && c == MS_DKIM_CANON_SIMPLE)
                __builtin_trap();
            free(body);
        }
    }
    dk_message_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_value((const char *)data, size);
    canonicalize((const char *)data, size);
    return 0;
}
