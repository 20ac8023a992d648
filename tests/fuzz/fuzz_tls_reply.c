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
 *    another length;
 *  - fed in pieces (ms_tls_reply_feed) — one byte at a time, and in pieces
 *    of sizes drawn from the input — the outcome and the reply are the same
 *    as parsed whole, and the parser never goes back before where it
 *    stopped (a slow unit here means parsing is not linear any more);
 *  - a reply over its bounds (lines, bytes) is TOO_LONG, and one within
 *    them never is;
 *  - counting replies for the injection test never reads out of bounds.
 * Nothing is allocated, so there is nothing to leak. */
#include "tls/dialog.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"

static const ms_tls_reply_kind KINDS[] = {MS_TLS_REPLY_SMTP, MS_TLS_REPLY_IMAP, MS_TLS_REPLY_POP3,
                                          MS_TLS_REPLY_POP3_MULTI, MS_TLS_REPLY_SIEVE};
static const ms_tls_mode MODES[] = {MS_TLS_SMTP, MS_TLS_IMAP, MS_TLS_POP3, MS_TLS_POP3, MS_TLS_SIEVE};

static int same_reply(const ms_tls_reply *a, const ms_tls_reply *b)
{
    return a->length == b->length && a->code == b->code && a->ok == b->ok &&
           a->starttls == b->starttls && a->lines == b->lines && a->first_line_len == b->first_line_len;
}

/* The next piece's size, 1 to 16 bytes, from a generator seeded by the
 * input (so the fuzzer explores the cuts along with the bytes). */
static size_t next_piece(uint32_t *seed)
{
    *seed = *seed * 1664525u + 1013904223u;
    return 1 + (*seed >> 24) % 16;
}

/* buf fed in pieces: max_piece 1 feeds byte by byte, 0 in the generator's sizes. */
static ms_tls_parse feed_in_pieces(ms_tls_reply_kind kind, const char *tag, const char *buf, size_t len,
                                   size_t max_piece, uint32_t seed, ms_tls_reply *out)
{
    ms_tls_reply_parser p;
    ms_tls_reply_parser_init(&p, kind, tag);
    ms_tls_parse state = ms_tls_reply_feed(&p, buf, 0);
    size_t searched = 0;
    for (size_t have = 0; have < len && state == MS_TLS_PARSE_MORE;) {
        size_t piece = max_piece ? max_piece : next_piece(&seed);
        have = piece < len - have ? have + piece : len;
        state = ms_tls_reply_feed(&p, buf, have);
        CHECK(p.parsed <= p.searched && p.searched <= have && p.searched >= searched);
        searched = p.searched;
    }
    *out = p.reply;
    return state;
}

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
    CHECK(p == MS_TLS_PARSE_MORE || p == MS_TLS_PARSE_DONE || p == MS_TLS_PARSE_GARBAGE ||
          p == MS_TLS_PARSE_TOO_LONG);
    CHECK(r.lines <= MS_TLS_MAX_REPLY_LINES);
    if (p == MS_TLS_PARSE_TOO_LONG)
        CHECK(r.lines == MS_TLS_MAX_REPLY_LINES || len >= MS_TLS_MAX_REPLY);
    if (p == MS_TLS_PARSE_DONE)
        CHECK(r.length <= MS_TLS_MAX_REPLY);

    ms_tls_reply pieces;
    CHECK(feed_in_pieces(KINDS[k], tag, buf, len, 1, 0, &pieces) == p && same_reply(&pieces, &r));
    uint32_t seed = (uint32_t)size * 2654435761u ^ data[0];
    CHECK(feed_in_pieces(KINDS[k], tag, buf, len, 0, seed, &pieces) == p && same_reply(&pieces, &r));
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
