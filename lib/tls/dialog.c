/* The plain-text part of each protocol, up to the point where TLS starts:
 *   SMTP/LMTP  greeting (220), EHLO/LHLO, STARTTLS offered?, STARTTLS -> 220
 *   IMAP       greeting (* OK), a CAPABILITY, a STARTTLS -> tagged OK
 *   POP3       greeting (+OK), CAPA, STLS -> +OK
 *   Sieve      greeting (capabilities, OK), STARTTLS -> OK
 * Whatever the server sends after its STARTTLS reply is thrown away before
 * the handshake, so it can never be taken for a reply inside TLS. */
#define _GNU_SOURCE /* memmem */
#include "dialog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The EHLO name: a name that is ours and resolves nowhere (RFC 2606). */
#define EHLO_NAME "mailsec.invalid"
#define SIEVE_NOOP_TAG "mailsec-injected"

typedef struct proto {
    ms_tls_reply_kind greeting_kind;
    const char *capa_cmd;           /* NULL: the greeting lists the capabilities */
    const char *capa_tag;
    ms_tls_reply_kind capa_kind;
    const char *starttls_cmd;
    const char *starttls_tag;
    const char *injected;           /* pipelined after STARTTLS in the injection test */
    ms_tls_reply_kind reply_kind;
    const char *starttls_name;      /* for messages */
} proto;

static const proto *proto_of(ms_tls_mode mode)
{
    static const proto SMTP = {MS_TLS_REPLY_SMTP, "EHLO " EHLO_NAME "\r\n", NULL, MS_TLS_REPLY_SMTP,
                               "STARTTLS\r\n", NULL, "NOOP\r\n", MS_TLS_REPLY_SMTP, "STARTTLS"};
    static const proto LMTP = {MS_TLS_REPLY_SMTP, "LHLO " EHLO_NAME "\r\n", NULL, MS_TLS_REPLY_SMTP,
                               "STARTTLS\r\n", NULL, "NOOP\r\n", MS_TLS_REPLY_SMTP, "STARTTLS"};
    static const proto IMAP = {MS_TLS_REPLY_IMAP, "a CAPABILITY\r\n", "a", MS_TLS_REPLY_IMAP,
                               "b STARTTLS\r\n", "b", "c NOOP\r\n", MS_TLS_REPLY_IMAP, "STARTTLS"};
    static const proto POP3 = {MS_TLS_REPLY_POP3, "CAPA\r\n", NULL, MS_TLS_REPLY_POP3_MULTI,
                               "STLS\r\n", NULL, "NOOP\r\n", MS_TLS_REPLY_POP3, "STLS"};
    /* ManageSieve's NOOP echoes its argument (RFC 5804 2.11): the reply is recognisable */
    static const proto SIEVE = {MS_TLS_REPLY_SIEVE, NULL, NULL, MS_TLS_REPLY_SIEVE,
                                "STARTTLS\r\n", NULL, "NOOP \"" SIEVE_NOOP_TAG "\"\r\n",
                                MS_TLS_REPLY_SIEVE, "STARTTLS"};
    switch (mode) {
    case MS_TLS_SMTP: return &SMTP;
    case MS_TLS_LMTP: return &LMTP;
    case MS_TLS_IMAP: return &IMAP;
    case MS_TLS_POP3: return &POP3;
    case MS_TLS_SIEVE: return &SIEVE;
    case MS_TLS_IMPLICIT: break;
    }
    return NULL;
}

static int fail(dialog_result *r, int diag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(dialog_result *r, int diag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->failed_diag = diag;
    return 0;
}

/* The failure of an I/O step, as a diagnostic. */
static int io_fail(dialog_result *r, tls_io io, const char *step)
{
    switch (io) {
    case IO_TIMEOUT:
        return fail(r, T_TIMEOUT, "no answer to %s before the time-out", step);
    case IO_EOF:
        return fail(r, T_DROPPED, "the server closed the connection at %s", step);
    case IO_GARBAGE:
        return fail(r, T_GARBAGE, "the answer to %s is not a reply of the protocol", step);
    default:
        return fail(r, T_DROPPED, "%s: %s", step, tls_io_str(io));
    }
}

/* The first line of a reply, printable, for messages. */
static void first_line(const char *text, const ms_tls_reply *reply, char *out, size_t size)
{
    tls_printable_line(text ? text : "", text ? reply->first_line_len : 0, out, size);
}

/* Reads the reply to step (for messages: "the greeting"...); 0 when there
 * is none, with r saying why. A reply past its bounds is named as such. */
static int read_reply(tls_conn *c, ms_tls_reply_kind kind, const char *tag, const char *step,
                      ms_tls_reply *reply, char **text, dialog_result *r)
{
    tls_io io = conn_read_reply(c, kind, tag, reply, text);
    if (io == IO_OK)
        return 1;
    if (io != IO_TOO_LONG)
        return io_fail(r, io, step);
    if (reply->lines >= MS_TLS_MAX_REPLY_LINES)
        return fail(r, T_REPLY_TOO_LONG, "the answer to %s is a reply longer than %d lines", step,
                    MS_TLS_MAX_REPLY_LINES);
    return fail(r, T_REPLY_TOO_LONG, "the answer to %s is a reply longer than %d bytes", step,
                MS_TLS_MAX_REPLY);
}

/* ---- passwords offered before TLS ---- */

/* Appends item to r->password_offer, ", "-separated; cut at its size. */
static void offer_add(dialog_result *r, const char *item, size_t len)
{
    size_t used = strlen(r->password_offer);
    snprintf(r->password_offer + used, sizeof r->password_offer - used, "%s%.*s", used ? ", " : "",
             (int)len, item);
}

/* The word of line[0, len) that starts at *pos (after blanks and the
 * brackets of an IMAP response code); its length, 0 at the end. */
static size_t next_word(const char *line, size_t len, size_t *pos)
{
    while (*pos < len && strchr(" []", line[*pos]))
        (*pos)++;
    size_t start = *pos;
    while (*pos < len && !strchr(" []", line[*pos]))
        (*pos)++;
    return *pos - start;
}

static int word_is(const char *word, size_t len, const char *name)
{
    return len == strlen(name) && ms_ascii_strncasecmp(word, name, len) == 0;
}

/* SMTP: the EHLO keyword AUTH (or the old "AUTH="), with its mechanisms.
 * The first line is the server's name and greeting, not a keyword. */
static void smtp_password_offer(const char *line, size_t len, int first, dialog_result *r)
{
    if (first || len < 8 || r->password_offer[0] != '\0')
        return;
    const char *kw = line + 4; /* after "250-" or "250 " */
    size_t kw_len = len - 4;
    if (ms_ascii_strncasecmp(kw, "AUTH", 4) == 0 && (kw_len == 4 || kw[4] == ' ' || kw[4] == '='))
        offer_add(r, kw, kw_len);
}

/* POP3: USER (and PASS) in plain text, SASL with PLAIN or LOGIN. */
static void pop3_password_offer(const char *line, size_t len, dialog_result *r)
{
    size_t pos = 0;
    size_t n = next_word(line, len, &pos);
    if (word_is(line + pos - n, n, "USER")) {
        offer_add(r, "USER", 4);
        return;
    }
    if (!word_is(line + pos - n, n, "SASL"))
        return;
    while ((n = next_word(line, len, &pos)) > 0) {
        const char *word = line + pos - n;
        if (word_is(word, n, "PLAIN") || word_is(word, n, "LOGIN")) {
            offer_add(r, line, len);
            return;
        }
    }
}

/* IMAP: a CAPABILITY list (untagged, or in a response code). LOGIN is
 * always allowed unless LOGINDISABLED is listed (RFC 9051 6.2.3);
 * AUTH=PLAIN and AUTH=LOGIN send the password as it is. */
static void imap_password_offer(const char *line, size_t len, int *listed, int *disabled,
                                dialog_result *r)
{
    size_t pos = 0, n;
    int in_list = 0;
    while ((n = next_word(line, len, &pos)) > 0) {
        const char *word = line + pos - n;
        if (!in_list) {
            in_list = word_is(word, n, "CAPABILITY");
            continue;
        }
        *listed = 1;
        if (word_is(word, n, "LOGINDISABLED"))
            *disabled = 1;
        else if (word_is(word, n, "AUTH=PLAIN") || word_is(word, n, "AUTH=LOGIN"))
            offer_add(r, word, n);
    }
}

/* The line of text[0, len) starting at *pos, without its CRLF or LF, its
 * length in *n; *pos moves past it. NULL after the last line. */
static const char *next_line(const char *text, size_t len, size_t *pos, size_t *n)
{
    if (*pos >= len)
        return NULL;
    const char *line = text + *pos;
    const char *nl = memchr(line, '\n', len - *pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    *n = end - *pos;
    if (*n > 0 && line[*n - 1] == '\r')
        (*n)--;
    *pos = end + 1;
    return line;
}

/* What the capability reply text[0, len) offers for a password while the
 * session is still plain text. */
static void find_password_offer(ms_tls_mode mode, const char *text, size_t len, dialog_result *r)
{
    int imap_listed = 0, imap_disabled = 0;
    size_t pos = 0, l;
    for (const char *line; (line = next_line(text, len, &pos, &l)) != NULL;) {
        if (mode == MS_TLS_SMTP)
            smtp_password_offer(line, l, line == text, r);
        else if (mode == MS_TLS_POP3)
            pop3_password_offer(line, l, r);
        else if (mode == MS_TLS_IMAP)
            imap_password_offer(line, l, &imap_listed, &imap_disabled, r);
    }
    if (imap_listed && !imap_disabled)
        offer_add(r, "LOGIN (no LOGINDISABLED)", strlen("LOGIN (no LOGINDISABLED)"));
}

int dialog_to_tls(tls_conn *c, ms_tls_mode mode, int inject, dialog_result *r)
{
    memset(r, 0, sizeof *r);
    r->failed_diag = -1;
    const proto *p = proto_of(mode);
    if (p == NULL)
        return 1; /* implicit TLS: nothing before the handshake */

    ms_tls_reply reply;
    char *text = NULL;
    char line[256];
    if (!read_reply(c, p->greeting_kind, NULL, "the greeting", &reply, &text, r))
        return 0;
    first_line(text, &reply, line, sizeof line);
    if ((r->greeting = strdup(line)) == NULL)
        conn_out_of_memory(c);
    free(text);
    if (!reply.ok)
        return fail(r, T_GREETING_REFUSED, "the server refused the session: %s", line);
    r->starttls_offered = reply.starttls;

    tls_io io;
    if (p->capa_cmd) {
        if ((io = conn_write(c, p->capa_cmd, strlen(p->capa_cmd))) != IO_OK)
            return io_fail(r, io, "the capability request");
        if (!read_reply(c, p->capa_kind, p->capa_tag, "the capability request", &reply, &text, r))
            return 0;
        first_line(text, &reply, line, sizeof line);
        /* no text: it could not be kept (the check says out of memory) */
        if (reply.ok && text != NULL)
            find_password_offer(mode, text, reply.length, r);
        free(text);
        /* a refused EHLO or CAPA: no extensions, so no STARTTLS either */
        r->starttls_offered = reply.ok && reply.starttls;
        if (!reply.ok && mode != MS_TLS_SMTP && mode != MS_TLS_LMTP && mode != MS_TLS_POP3)
            return fail(r, T_GARBAGE, "the capability request was refused: %s", line);
    }
    if (!r->starttls_offered)
        return fail(r, T_STARTTLS_NOT_OFFERED, "the server does not offer %s", p->starttls_name);

    char cmd[64];
    snprintf(cmd, sizeof cmd, "%s%s", p->starttls_cmd, inject ? p->injected : "");
    /* one write: the pipelined command arrives in the same segment */
    if ((io = conn_write(c, cmd, strlen(cmd))) != IO_OK)
        return io_fail(r, io, p->starttls_name);
    if (!read_reply(c, p->reply_kind, p->starttls_tag, p->starttls_name, &reply, &text, r))
        return 0;
    first_line(text, &reply, line, sizeof line);
    free(text);
    int accepted = mode == MS_TLS_SMTP || mode == MS_TLS_LMTP ? reply.code == 220 : reply.ok;
    if (!accepted)
        return fail(r, T_STARTTLS_REFUSED, "%s was answered with: %s", p->starttls_name, line);
    r->discarded = conn_discard(c);
    return 1;
}

const char *dialog_greeting_mode(const char *line)
{
    static const ms_tls_mode SPEAK_FIRST[] = {MS_TLS_SMTP, MS_TLS_IMAP, MS_TLS_POP3, MS_TLS_SIEVE};
    char text[256];
    int n = snprintf(text, sizeof text, "%s\n", line);
    if (n < 0 || (size_t)n >= sizeof text)
        return NULL;
    for (size_t i = 0; i < sizeof SPEAK_FIRST / sizeof SPEAK_FIRST[0]; i++) {
        ms_tls_reply reply;
        if (ms_tls_reply_parse(proto_of(SPEAK_FIRST[i])->greeting_kind, NULL, text, (size_t)n, &reply) !=
            MS_TLS_PARSE_GARBAGE)
            return ms_tls_mode_str(SPEAK_FIRST[i]);
    }
    return NULL;
}

const char *dialog_quit_command(ms_tls_mode mode)
{
    switch (mode) {
    case MS_TLS_SMTP:
    case MS_TLS_LMTP:
    case MS_TLS_POP3:
        return "QUIT\r\n";
    case MS_TLS_IMAP:
        return "d LOGOUT\r\n";
    case MS_TLS_SIEVE:
        return "LOGOUT\r\n";
    case MS_TLS_IMPLICIT:
        break;
    }
    return NULL;
}

/* Lines of text[0, len) for which is_reply says "a reply ends here". */
static size_t count_lines(const char *text, size_t len, int (*is_reply)(const char *, size_t))
{
    size_t n = 0, pos = 0, l;
    for (const char *line; (line = next_line(text, len, &pos, &l)) != NULL;)
        if (is_reply(line, l))
            n++;
    return n;
}

static int smtp_final(const char *s, size_t n)
{
    return n >= 3 && s[0] >= '1' && s[0] <= '5' && (n == 3 || s[3] == ' ');
}

static int pop3_status(const char *s, size_t n)
{
    return (n >= 3 && strncmp(s, "+OK", 3) == 0) || (n >= 4 && strncmp(s, "-ERR", 4) == 0);
}

static int sieve_status(const char *s, size_t n)
{
    return (n >= 2 && ms_ascii_strncasecmp(s, "OK", 2) == 0) || (n >= 2 && ms_ascii_strncasecmp(s, "NO", 2) == 0) ||
           (n >= 3 && ms_ascii_strncasecmp(s, "BYE", 3) == 0);
}

static int sieve_noop_echo(const char *s, size_t n)
{
    return sieve_status(s, n) && memmem(s, n, SIEVE_NOOP_TAG, strlen(SIEVE_NOOP_TAG)) != NULL;
}

static int imap_injected_tag(const char *s, size_t n)
{
    return n >= 2 && s[0] == 'c' && s[1] == ' ';
}

/* After the handshake the injection test sends only the quit command. The
 * replies inside TLS are then counted: a safe server answers that one
 * command (Sieve first repeats its capabilities, RFC 5804 2.2); more
 * replies mean it also answered the command injected before TLS. IMAP's
 * and ManageSieve's injected commands are recognisable by their tag. */
int dialog_injection_answered(ms_tls_mode mode, const char *text, size_t len)
{
    switch (mode) {
    case MS_TLS_SMTP:
    case MS_TLS_LMTP:
        return count_lines(text, len, smtp_final) > 1;
    case MS_TLS_POP3:
        return count_lines(text, len, pop3_status) > 1;
    case MS_TLS_IMAP:
        return count_lines(text, len, imap_injected_tag) > 0;
    case MS_TLS_SIEVE:
        /* the echoed NOOP tag, or more status lines than capabilities + LOGOUT */
        return count_lines(text, len, sieve_noop_echo) > 0 || count_lines(text, len, sieve_status) > 2;
    case MS_TLS_IMPLICIT:
        break;
    }
    return 0;
}
