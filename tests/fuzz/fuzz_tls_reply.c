/* libFuzzer harness for the mail protocol reply parsers (lib/tls/reply.c)
 * and the injection-test reply counter (lib/tls/dialog.c).
 *
 * The first byte picks the reply kind (and, for IMAP, whether a tag is
 * expected); the rest is what a server sent. Checked:
 *  - a complete reply lies inside the input and ends at a line end, its
 *    first line inside it;
 *  - parsing only the reply's own bytes gives the same reply (a reply does
 *    not depend on what follows it);
 *  - parsing a prefix that cuts the reply's last line never says DONE with
 *    another length (replies arriving in pieces parse the same);
 *  - counting replies for the injection test never reads out of bounds.
 * Nothing is allocated, so there is nothing to leak. */
#include "tls/dialog.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_tls_reply: check failed at line %d: %s\n", __LINE__, #c);       \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static const ms_tls_reply_kind KINDS[] = {MS_TLS_REPLY_SMTP, MS_TLS_REPLY_IMAP, MS_TLS_REPLY_POP3,
                                          MS_TLS_REPLY_POP3_MULTI, MS_TLS_REPLY_SIEVE};
static const ms_tls_mode MODES[] = {MS_TLS_SMTP, MS_TLS_IMAP, MS_TLS_POP3, MS_TLS_POP3, MS_TLS_SIEVE};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t k = data[0] % 5;
    const char *tag = (k == 1 && (data[0] & 0x80)) ? "a" : NULL;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    ms_tls_reply r;
    ms_tls_parse p = ms_tls_reply_parse(KINDS[k], tag, buf, len, &r);
    CHECK(p == MS_TLS_PARSE_MORE || p == MS_TLS_PARSE_DONE || p == MS_TLS_PARSE_GARBAGE);
    if (p == MS_TLS_PARSE_DONE) {
        CHECK(r.length > 0 && r.length <= len);
        CHECK(buf[r.length - 1] == '\n');
        CHECK(r.first_line_len < r.length);
        CHECK(r.lines >= 1);
        CHECK(r.ok == 0 || r.ok == 1);

        ms_tls_reply again;
        CHECK(ms_tls_reply_parse(KINDS[k], tag, buf, r.length, &again) == MS_TLS_PARSE_DONE);
        CHECK(again.length == r.length && again.code == r.code && again.ok == r.ok &&
              again.starttls == r.starttls && again.lines == r.lines);

        /* the last line cut short: not complete yet (or garbage), never another reply */
        ms_tls_reply cut;
        ms_tls_parse pc = ms_tls_reply_parse(KINDS[k], tag, buf, r.length - 1, &cut);
        CHECK(pc != MS_TLS_PARSE_DONE || cut.length < r.length);
    }
    (void)dialog_injection_answered(MODES[k], buf, len);
    return 0;
}
