/* The protocol reply parsers (ms_tls_reply_parse): where a reply ends, its
 * status, and whether it offers STARTTLS. The replies are the ones the RFCs
 * show and the ones Postfix and Dovecot send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mailsec/tls.h"

#include <stdlib.h>
#include <string.h>

static ms_tls_parse parse(ms_tls_reply_kind kind, const char *tag, const char *text,
                          ms_tls_reply *r)
{
    return ms_tls_reply_parse(kind, tag, text, strlen(text), r);
}

/* RFC 5321 4.2.1: a multi-line reply, the same code on every line. */
static void smtp_multiline_ehlo(void **state)
{
    (void)state;
    const char *ehlo = "250-mx.tlstest.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                       "250-STARTTLS\r\n250 8BITMIME\r\n";
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, ehlo, &r), MS_TLS_PARSE_DONE);
    assert_int_equal(r.code, 250);
    assert_true(r.ok);
    assert_true(r.starttls);
    assert_int_equal(r.lines, 5);
    assert_int_equal(r.length, strlen(ehlo));
}

static void smtp_reply_ends_at_last_line(void **state)
{
    (void)state;
    /* a second reply already buffered stays for the next call */
    const char *two = "220 ready\r\n250 2.0.0 Ok\r\n";
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, two, &r), MS_TLS_PARSE_DONE);
    assert_int_equal(r.code, 220);
    assert_int_equal(r.length, strlen("220 ready\r\n"));
    assert_int_equal(r.first_line_len, strlen("220 ready"));
}

static void smtp_incomplete(void **state)
{
    (void)state;
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "250-mx\r\n250-STARTTLS\r\n", &r),
                     MS_TLS_PARSE_MORE);
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "220 no line end yet", &r), MS_TLS_PARSE_MORE);
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "", &r), MS_TLS_PARSE_MORE);
}

static void smtp_421_and_bare_lf(void **state)
{
    (void)state;
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "421 4.3.2 Service not available\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_int_equal(r.code, 421);
    assert_false(r.ok);
    /* "220" alone is a complete line (RFC 5321 4.2: the text is optional) */
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "220\r\n", &r), MS_TLS_PARSE_DONE);
    assert_true(r.ok);
}

static void smtp_garbage(void **state)
{
    (void)state;
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "HTTP/1.1 400 Bad Request\r\n", &r),
                     MS_TLS_PARSE_GARBAGE);
    /* codes must agree across the lines of one reply */
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "250-a\r\n251 b\r\n", &r), MS_TLS_PARSE_GARBAGE);
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "250_x\r\n", &r), MS_TLS_PARSE_GARBAGE);
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "25\r\n", &r), MS_TLS_PARSE_GARBAGE);
}

static void smtp_starttls_is_a_keyword(void **state)
{
    (void)state;
    ms_tls_reply r;
    /* on the first line it is the host's name, and STARTTLSX is another keyword */
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "250-STARTTLS\r\n250 STARTTLSX\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.starttls);
    assert_int_equal(parse(MS_TLS_REPLY_SMTP, NULL, "250-mx\r\n250 starttls\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_true(r.starttls);
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
                     MS_TLS_PARSE_GARBAGE);
    free(long_line);
}

/* RFC 9051 7.1: the greeting, untagged data, the tagged completion. */
static void imap_greeting_and_capability(void **state)
{
    (void)state;
    ms_tls_reply r;
    const char *greeting = "* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ STARTTLS AUTH=PLAIN] "
                           "Dovecot (Debian) ready.\r\n";
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, NULL, greeting, &r), MS_TLS_PARSE_DONE);
    assert_true(r.ok);
    assert_true(r.starttls);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, NULL, "* PREAUTH ready\r\n", &r), MS_TLS_PARSE_DONE);
    assert_true(r.ok);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, NULL, "* BYE Too many connections\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.ok);

    const char *capa = "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na OK done\r\n";
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "a", capa, &r), MS_TLS_PARSE_DONE);
    assert_true(r.ok);
    assert_true(r.starttls);
    assert_int_equal(r.lines, 2);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "a", "* CAPABILITY IMAP4rev1 X-STARTTLS\r\na OK\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.starttls);
}

static void imap_tagged_status(void **state)
{
    (void)state;
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "b", "b OK Begin TLS negotiation now.\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_true(r.ok);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "b", "b NO TLS unavailable\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.ok);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "b", "b BAD command unknown\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.ok);
    /* another tag, or no "* " prefix: not this command's reply */
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "b", "c OK\r\n", &r), MS_TLS_PARSE_GARBAGE);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, NULL, "220 smtp here\r\n", &r), MS_TLS_PARSE_GARBAGE);
    assert_int_equal(parse(MS_TLS_REPLY_IMAP, "b", "* OK still going\r\n", &r), MS_TLS_PARSE_MORE);
}

/* RFC 1939 3, RFC 2449 5 (CAPA), RFC 2595 4 (STLS). */
static void pop3_replies(void **state)
{
    (void)state;
    ms_tls_reply r;
    assert_int_equal(parse(MS_TLS_REPLY_POP3, NULL, "+OK Dovecot (Debian) ready.\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_true(r.ok);
    assert_int_equal(parse(MS_TLS_REPLY_POP3, NULL, "-ERR [SYS/TEMP] go away\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.ok);
    assert_int_equal(parse(MS_TLS_REPLY_POP3, NULL, "+OKAY\r\n", &r), MS_TLS_PARSE_GARBAGE);

    const char *capa = "+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n";
    assert_int_equal(parse(MS_TLS_REPLY_POP3_MULTI, NULL, capa, &r), MS_TLS_PARSE_DONE);
    assert_true(r.starttls);
    assert_int_equal(r.length, strlen(capa));
    assert_int_equal(parse(MS_TLS_REPLY_POP3_MULTI, NULL, "+OK\r\nTOP\r\n", &r), MS_TLS_PARSE_MORE);
    assert_int_equal(parse(MS_TLS_REPLY_POP3_MULTI, NULL, "+OK\r\nUSER\r\n.\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.starttls);
    /* a negative CAPA reply is one line */
    assert_int_equal(parse(MS_TLS_REPLY_POP3_MULTI, NULL, "-ERR unknown\r\n", &r), MS_TLS_PARSE_DONE);
    assert_false(r.ok);
}

/* RFC 5804 1.7: capabilities then OK; STARTTLS replies OK / NO / BYE. */
static void sieve_replies(void **state)
{
    (void)state;
    ms_tls_reply r;
    const char *greeting = "\"IMPLEMENTATION\" \"Dovecot (Debian) Pigeonhole\"\r\n"
                           "\"SIEVE\" \"fileinto reject envelope\"\r\n\"SASL\" \"PLAIN LOGIN\"\r\n"
                           "\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"Dovecot (Debian) ready.\"\r\n";
    assert_int_equal(parse(MS_TLS_REPLY_SIEVE, NULL, greeting, &r), MS_TLS_PARSE_DONE);
    assert_true(r.ok);
    assert_true(r.starttls);
    assert_int_equal(r.lines, 6);
    assert_int_equal(parse(MS_TLS_REPLY_SIEVE, NULL, "\"IMPLEMENTATION\" \"x\"\r\nOK\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.starttls);
    assert_int_equal(parse(MS_TLS_REPLY_SIEVE, NULL, "NO (TRYLATER) \"busy\"\r\n", &r),
                     MS_TLS_PARSE_DONE);
    assert_false(r.ok);
    assert_int_equal(parse(MS_TLS_REPLY_SIEVE, NULL, "BYE \"bye\"\r\n", &r), MS_TLS_PARSE_DONE);
    assert_int_equal(parse(MS_TLS_REPLY_SIEVE, NULL, "\"SIEVE\" \"x\"\r\n", &r), MS_TLS_PARSE_MORE);
    assert_int_equal(parse(MS_TLS_REPLY_SIEVE, NULL, "220 smtp\r\n", &r), MS_TLS_PARSE_GARBAGE);
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
        cmocka_unit_test(smtp_multiline_ehlo),
        cmocka_unit_test(smtp_reply_ends_at_last_line),
        cmocka_unit_test(smtp_incomplete),
        cmocka_unit_test(smtp_421_and_bare_lf),
        cmocka_unit_test(smtp_garbage),
        cmocka_unit_test(smtp_starttls_is_a_keyword),
        cmocka_unit_test(smtp_line_too_long),
        cmocka_unit_test(imap_greeting_and_capability),
        cmocka_unit_test(imap_tagged_status),
        cmocka_unit_test(pop3_replies),
        cmocka_unit_test(sieve_replies),
        cmocka_unit_test(modes_and_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
