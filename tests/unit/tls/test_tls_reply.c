/* The protocol reply parsers (ms_tls_reply_parse, and ms_tls_reply_feed
 * for replies arriving in pieces): where a reply ends, its status, whether
 * it offers STARTTLS, and the bounds of a reply. The replies are the ones
 * the RFCs show and the ones Postfix and Dovecot send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailsec/tls.h"

#include <stdlib.h>
#include <string.h>

/* One reply and what parsing it whole gives: the outcome, and the fields
 * a case names (ANY, 0: not checked; WHOLE: the length of the text). */
enum { ANY, YES, NO };
#define WHOLE SIZE_MAX
typedef struct reply_case {
    ms_tls_reply_kind kind;
    const char *tag;
    const char *text;
    ms_tls_parse want;
    int ok, starttls;
    int code;
    size_t lines, length, first_line_len;
} reply_case;

#define SMTP MS_TLS_REPLY_SMTP
#define IMAP MS_TLS_REPLY_IMAP
#define POP3 MS_TLS_REPLY_POP3
#define POP3_MULTI MS_TLS_REPLY_POP3_MULTI
#define SIEVE MS_TLS_REPLY_SIEVE
#define DONE MS_TLS_PARSE_DONE
#define MORE MS_TLS_PARSE_MORE
#define GARBAGE MS_TLS_PARSE_GARBAGE

static const reply_case REPLIES[] = {
    /* RFC 5321 4.2.1: a multi-line reply, the same code on every line */
    {SMTP, NULL, "250-mx.tlstest.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
     DONE, .code = 250, .ok = YES, .starttls = YES, .lines = 5, .length = WHOLE},
    /* a second reply already buffered stays for the next call */
    {SMTP, NULL, "220 ready\r\n250 2.0.0 Ok\r\n", DONE, .code = 220,
     .length = sizeof "220 ready\r\n" - 1, .first_line_len = sizeof "220 ready" - 1},
    {SMTP, NULL, "250-mx\r\n250-STARTTLS\r\n", .want = MORE},
    {SMTP, NULL, "220 no line end yet", .want = MORE},
    {SMTP, NULL, "", .want = MORE},
    {SMTP, NULL, "421 4.3.2 Service not available\n", DONE, .code = 421, .ok = NO},
    /* "220" alone is a complete line (RFC 5321 4.2: the text is optional) */
    {SMTP, NULL, "220\r\n", DONE, .ok = YES},
    {SMTP, NULL, "HTTP/1.1 400 Bad Request\r\n", .want = GARBAGE},
    /* codes must agree across the lines of one reply */
    {SMTP, NULL, "250-a\r\n251 b\r\n", .want = GARBAGE},
    {SMTP, NULL, "250_x\r\n", .want = GARBAGE},
    {SMTP, NULL, "25\r\n", .want = GARBAGE},
    /* STARTTLS on the first line is the host's name, and STARTTLSX is another keyword */
    {SMTP, NULL, "250-STARTTLS\r\n250 STARTTLSX\r\n", DONE, .starttls = NO},
    {SMTP, NULL, "250-mx\r\n250 starttls\r\n", DONE, .starttls = YES},

    /* RFC 9051 7.1: the greeting, untagged data, the tagged completion */
    {IMAP, NULL, "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n",
     DONE, .ok = YES, .starttls = YES},
    {IMAP, NULL, "* PREAUTH ready\r\n", DONE, .ok = YES},
    {IMAP, NULL, "* BYE Too many connections\r\n", DONE, .ok = NO},
    {IMAP, "a", "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na OK done\r\n", DONE, .ok = YES,
     .starttls = YES, .lines = 2},
    {IMAP, "a", "* CAPABILITY IMAP4rev1 X-STARTTLS\r\na OK\r\n", DONE, .starttls = NO},
    {IMAP, "b", "b OK Begin TLS negotiation now.\r\n", DONE, .ok = YES},
    {IMAP, "b", "b NO TLS unavailable\r\n", DONE, .ok = NO},
    {IMAP, "b", "b BAD command unknown\r\n", DONE, .ok = NO},
    /* another tag, or no "* " prefix: not this command's reply */
    {IMAP, "b", "c OK\r\n", .want = GARBAGE},
    {IMAP, NULL, "220 smtp here\r\n", .want = GARBAGE},
    {IMAP, "b", "* OK still going\r\n", .want = MORE},

    /* RFC 1939 3, RFC 2449 5 (CAPA), RFC 2595 4 (STLS) */
    {POP3, NULL, "+OK Dovecot (Debian) ready.\r\n", DONE, .ok = YES},
    {POP3, NULL, "-ERR [SYS/TEMP] go away\r\n", DONE, .ok = NO},
    {POP3, NULL, "+OKAY\r\n", .want = GARBAGE},
    {POP3_MULTI, NULL, "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n", DONE,
     .starttls = YES, .length = WHOLE},
    {POP3_MULTI, NULL, "+OK\r\nTOP\r\n", .want = MORE},
    {POP3_MULTI, NULL, "+OK\r\nUSER\r\n.\r\n", DONE, .starttls = NO},
    /* a negative CAPA reply is one line */
    {POP3_MULTI, NULL, "-ERR unknown\r\n", DONE, .ok = NO},

    /* RFC 5804 1.7: capabilities then OK; STARTTLS replies OK / NO / BYE */
    {SIEVE, NULL,
     "\"IMPLEMENTATION\" \"Dovecot (Debian) Pigeonhole\"\r\n\"SIEVE\" \"fileinto reject envelope\"\r\n"
     "\"SASL\" \"PLAIN LOGIN\"\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"Dovecot (Debian) ready.\"\r\n",
     DONE, .ok = YES, .starttls = YES, .lines = 6},
    {SIEVE, NULL, "\"IMPLEMENTATION\" \"x\"\r\nOK\r\n", DONE, .starttls = NO},
    {SIEVE, NULL, "NO (TRYLATER) \"busy\"\r\n", DONE, .ok = NO},
    {SIEVE, NULL, "BYE \"bye\"\r\n", .want = DONE},
    {SIEVE, NULL, "\"SIEVE\" \"x\"\r\n", .want = MORE},
    {SIEVE, NULL, "220 smtp\r\n", .want = GARBAGE},
};

/* Whether a reply's flag is what the case says (ANY: not checked). */
static int flag_is(int want, int got)
{
    return want == ANY || (want == YES) == (got != 0);
}

/* Whether a reply's number is what the case says (0: not checked). */
static int number_is(size_t want, size_t got)
{
    return want == 0 || want == got;
}

static void each_reply(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof REPLIES / sizeof REPLIES[0]; i++) {
        const reply_case *c = &REPLIES[i];
        ms_tls_reply r = {0};
        ms_tls_parse got = ms_tls_reply_parse(c->kind, c->tag, c->text, strlen(c->text), &r);
        size_t length = c->length == WHOLE ? strlen(c->text) : c->length;
        if (got != c->want || !flag_is(c->ok, r.ok) || !flag_is(c->starttls, r.starttls) ||
            !number_is((size_t)c->code, (size_t)r.code) || !number_is(c->lines, r.lines) ||
            !number_is(length, r.length) || !number_is(c->first_line_len, r.first_line_len))
            fail_msg("reply %zu (%s): outcome %d, code %d, ok %d, starttls %d, %zu lines, length %zu, first "
                     "line %zu",
                     i, c->text, got, r.code, r.ok, r.starttls, (size_t)r.lines, (size_t)r.length,
                     (size_t)r.first_line_len);
    }
}

static void smtp_line_too_long(void **state)
{
    (void)state;
    size_t n = MS_TLS_MAX_REPLY + 10;
    char *long_line = malloc(n);
    assert_non_null(long_line);
    memset(long_line, 'x', n);
    memcpy(long_line, "250 ", 4);
    ms_tls_reply r;
    assert_int_equal(ms_tls_reply_parse(MS_TLS_REPLY_SMTP, NULL, long_line, n, &r),
                     MS_TLS_PARSE_TOO_LONG);
    free(long_line);
}

/* ---- replies in pieces, and the bounds of a reply ---- */

/* A reply of each kind, as servers send them, with text after the reply's
 * end where a server may pipeline more. */
typedef struct sample {
    ms_tls_reply_kind kind;
    const char *tag;
    const char *text;
} sample;

static const sample SAMPLES[] = {
    {MS_TLS_REPLY_SMTP, NULL, "220 mx.tlstest.example ESMTP\r\n"},
    {MS_TLS_REPLY_SMTP, NULL, "250-mx\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n250 next\r\n"},
    {MS_TLS_REPLY_SMTP, NULL, "250-mx\n250-a\n251 b\n"},
    {MS_TLS_REPLY_IMAP, NULL, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"},
    {MS_TLS_REPLY_IMAP, "a", "* CAPABILITY IMAP4rev1 STARTTLS\r\n* OK note\r\na OK done\r\nb OK\r\n"},
    {MS_TLS_REPLY_IMAP, "b", "* x\r\nc OK\r\n"},
    {MS_TLS_REPLY_POP3, NULL, "+OK Dovecot (Debian) ready.\r\n"},
    {MS_TLS_REPLY_POP3_MULTI, NULL, "+OK\r\nTOP\r\nSTLS\r\nUSER\r\n.\r\n+OK\r\n"},
    {MS_TLS_REPLY_SIEVE, NULL, "\"IMPLEMENTATION\" \"x\"\r\n\"STARTTLS\"\r\nOK \"ready\"\r\n"},
    {MS_TLS_REPLY_SIEVE, NULL, "\"SIEVE\" \"x\"\r\n220 smtp\r\n"},
};

static void assert_same_reply(const ms_tls_reply *a, const ms_tls_reply *b)
{
    assert_int_equal(a->length, b->length);
    assert_int_equal(a->code, b->code);
    assert_int_equal(a->ok, b->ok);
    assert_int_equal(a->starttls, b->starttls);
    assert_int_equal(a->lines, b->lines);
    assert_int_equal(a->first_line_len, b->first_line_len);
}

/* Feeds text[0, len) in pieces of the sizes cut() gives, as a connection
 * receives it; the outcome of the last feed. */
static ms_tls_parse feed_in_pieces(const sample *s, size_t len, size_t (*cut)(size_t, unsigned *),
                                   unsigned seed, ms_tls_reply *out)
{
    ms_tls_reply_parser p;
    ms_tls_reply_parser_init(&p, s->kind, s->tag);
    ms_tls_parse state = MS_TLS_PARSE_MORE;
    for (size_t have = 0; have < len && state == MS_TLS_PARSE_MORE;) {
        have += cut(len - have, &seed);
        if (have > len)
            have = len;
        state = ms_tls_reply_feed(&p, s->text, have);
        /* it remembers where it stopped: nothing before that is read again */
        assert_true(p.parsed <= p.searched && p.searched <= have);
    }
    *out = p.reply;
    return state;
}

static size_t one_byte(size_t left, unsigned *seed)
{
    (void)left;
    (void)seed;
    return 1;
}

static size_t random_piece(size_t left, unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return 1 + (*seed >> 16) % (left < 7 ? left : 7);
}

static void pieces_parse_as_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SAMPLES / sizeof SAMPLES[0]; i++) {
        const sample *s = &SAMPLES[i];
        size_t len = strlen(s->text);
        ms_tls_reply whole, piecewise;
        ms_tls_parse expected = ms_tls_reply_parse(s->kind, s->tag, s->text, len, &whole);
        assert_int_equal(feed_in_pieces(s, len, one_byte, 0, &piecewise), expected);
        assert_same_reply(&piecewise, &whole);
        for (unsigned seed = 1; seed <= 50; seed++) {
            assert_int_equal(feed_in_pieces(s, len, random_piece, seed, &piecewise), expected);
            assert_same_reply(&piecewise, &whole);
        }
    }
}

/* Once the reply is over, more bytes change nothing. */
static void feed_after_the_end(void **state)
{
    (void)state;
    const char *text = "220 ready\r\n250 more\r\n";
    ms_tls_reply_parser p;
    ms_tls_reply_parser_init(&p, MS_TLS_REPLY_SMTP, NULL);
    assert_int_equal(ms_tls_reply_feed(&p, text, 5), MS_TLS_PARSE_MORE);
    assert_int_equal(ms_tls_reply_feed(&p, text, strlen(text)), MS_TLS_PARSE_DONE);
    assert_int_equal(p.reply.length, strlen("220 ready\r\n"));
    assert_int_equal(ms_tls_reply_feed(&p, text, strlen(text)), MS_TLS_PARSE_DONE);
    assert_int_equal(p.reply.length, strlen("220 ready\r\n"));
}

/* A reply of `lines` lines of the kind: first, middle lines, last. */
static char *reply_of_lines(ms_tls_reply_kind kind, size_t lines, size_t *len)
{
    const char *first = "250-mx.example\r\n", *middle = "250-X\r\n", *last = "250 end\r\n";
    if (kind == MS_TLS_REPLY_IMAP)
        first = "* CAPABILITY IMAP4rev1\r\n", middle = "* OK x\r\n", last = "a OK done\r\n";
    else if (kind == MS_TLS_REPLY_POP3_MULTI)
        first = "+OK\r\n", middle = "X\r\n", last = ".\r\n";
    else if (kind == MS_TLS_REPLY_SIEVE)
        first = "\"IMPLEMENTATION\" \"x\"\r\n", middle = "\"X\"\r\n", last = "OK\r\n";
    size_t cap = strlen(first) + lines * strlen(first) + strlen(last) + 1;
    char *text = malloc(cap);
    assert_non_null(text);
    strcpy(text, first);
    for (size_t i = 2; i < lines; i++)
        strcat(text, middle);
    strcat(text, last);
    *len = strlen(text);
    return text;
}

static const ms_tls_reply_kind MULTILINE[] = {MS_TLS_REPLY_SMTP, MS_TLS_REPLY_IMAP,
                                              MS_TLS_REPLY_POP3_MULTI, MS_TLS_REPLY_SIEVE};

/* MS_TLS_MAX_REPLY_LINES lines pass, one more does not, in every protocol. */
static void line_bound(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof MULTILINE / sizeof MULTILINE[0]; k++) {
        const char *tag = MULTILINE[k] == MS_TLS_REPLY_IMAP ? "a" : NULL;
        size_t len;
        ms_tls_reply r;
        char *at_bound = reply_of_lines(MULTILINE[k], MS_TLS_MAX_REPLY_LINES, &len);
        assert_int_equal(ms_tls_reply_parse(MULTILINE[k], tag, at_bound, len, &r), MS_TLS_PARSE_DONE);
        assert_int_equal(r.lines, MS_TLS_MAX_REPLY_LINES);
        assert_int_equal(r.length, len);
        free(at_bound);
        char *over = reply_of_lines(MULTILINE[k], MS_TLS_MAX_REPLY_LINES + 1, &len);
        assert_int_equal(ms_tls_reply_parse(MULTILINE[k], tag, over, len, &r), MS_TLS_PARSE_TOO_LONG);
        free(over);
    }
}

/* An endless reply is stopped at the bound, not when it ends: the lines
 * after the bound are never needed. */
static void endless_reply_stops_at_the_bound(void **state)
{
    (void)state;
    size_t len;
    char *text = reply_of_lines(MS_TLS_REPLY_SMTP, 2 * MS_TLS_MAX_REPLY_LINES, &len);
    len -= strlen("250 end\r\n"); /* never the last line */
    ms_tls_reply_parser p;
    ms_tls_reply_parser_init(&p, MS_TLS_REPLY_SMTP, NULL);
    ms_tls_parse st = MS_TLS_PARSE_MORE;
    size_t have = 0;
    while (st == MS_TLS_PARSE_MORE && have < len)
        st = ms_tls_reply_feed(&p, text, ++have);
    assert_int_equal(st, MS_TLS_PARSE_TOO_LONG);
    /* said on the first byte of the line after the bound's last */
    assert_int_equal(p.reply.lines, MS_TLS_MAX_REPLY_LINES);
    assert_true(have < len);
    free(text);
}

/* MS_TLS_MAX_REPLY bytes pass; one more byte, complete or not, does not. */
static void byte_bound(void **state)
{
    (void)state;
    char *text = malloc(MS_TLS_MAX_REPLY + 2);
    assert_non_null(text);
    memset(text, 'x', MS_TLS_MAX_REPLY + 2);
    memcpy(text, "250 ", 4);
    memcpy(text + MS_TLS_MAX_REPLY - 2, "\r\n", 2);
    ms_tls_reply r;
    assert_int_equal(ms_tls_reply_parse(MS_TLS_REPLY_SMTP, NULL, text, MS_TLS_MAX_REPLY, &r),
                     MS_TLS_PARSE_DONE);
    assert_int_equal(r.length, MS_TLS_MAX_REPLY);
    memcpy(text + MS_TLS_MAX_REPLY - 2, "x\r\n", 3);
    assert_int_equal(ms_tls_reply_parse(MS_TLS_REPLY_SMTP, NULL, text, MS_TLS_MAX_REPLY + 1, &r),
                     MS_TLS_PARSE_TOO_LONG);
    /* no line end yet at the bound: too long already */
    assert_int_equal(ms_tls_reply_parse(MS_TLS_REPLY_SMTP, NULL, text, MS_TLS_MAX_REPLY, &r),
                     MS_TLS_PARSE_TOO_LONG);
    assert_int_equal(ms_tls_reply_parse(MS_TLS_REPLY_SMTP, NULL, text, MS_TLS_MAX_REPLY - 1, &r),
                     MS_TLS_PARSE_MORE);
    free(text);
}

static void modes_and_ports(void **state)
{
    (void)state;
    ms_tls_mode m;
    assert_int_equal(ms_tls_mode_parse("imap", &m), MS_OK);
    assert_int_equal(m, MS_TLS_IMAP);
    assert_int_equal(ms_tls_mode_parse("none", &m), MS_OK);
    assert_int_equal(m, MS_TLS_IMPLICIT);
    assert_int_equal(ms_tls_mode_parse("SIEVE", &m), MS_OK);
    assert_int_equal(m, MS_TLS_SIEVE);
    assert_int_equal(ms_tls_mode_parse("http", &m), MS_ERR_INVALID);
    assert_string_equal(ms_tls_mode_str(MS_TLS_POP3), "pop3");
    /* the ports of the issue: RFC 3207/6409 (25, 587), RFC 8314 (465, 993, 995) */
    assert_int_equal(ms_tls_default_mode(25), MS_TLS_SMTP);
    assert_int_equal(ms_tls_default_mode(587), MS_TLS_SMTP);
    assert_int_equal(ms_tls_default_mode(465), MS_TLS_IMPLICIT);
    assert_int_equal(ms_tls_default_mode(143), MS_TLS_IMAP);
    assert_int_equal(ms_tls_default_mode(993), MS_TLS_IMPLICIT);
    assert_int_equal(ms_tls_default_mode(110), MS_TLS_POP3);
    assert_int_equal(ms_tls_default_mode(995), MS_TLS_IMPLICIT);
    assert_int_equal(ms_tls_default_mode(4190), MS_TLS_SIEVE);
    assert_int_equal(ms_tls_default_mode(8080), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_reply),
        cmocka_unit_test(smtp_line_too_long),
        cmocka_unit_test(pieces_parse_as_whole),
        cmocka_unit_test(feed_after_the_end),
        cmocka_unit_test(line_bound),
        cmocka_unit_test(endless_reply_stops_at_the_bound),
        cmocka_unit_test(byte_bound),
        cmocka_unit_test(modes_and_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
