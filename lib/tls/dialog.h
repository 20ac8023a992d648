/* The protocol dialogs up to TLS (dialog.c). */
#ifndef MAILSEC_LIB_TLS_DIALOG_H
#define MAILSEC_LIB_TLS_DIALOG_H

#include "internal.h"

#include <stdarg.h>
#include <strings.h>

typedef struct dialog_result {
    int failed_diag;      /* T_* when the dialog failed, else -1 */
    char message[512];    /* why, in words */
    char *greeting;       /* the greeting's first line, printable (owned) */
    int starttls_offered;
    char password_offer[160]; /* what the capabilities offer for a password before TLS (SMTP
                               * "AUTH PLAIN LOGIN", IMAP "LOGIN (no LOGINDISABLED)...", POP3
                               * "USER..."); "" when nothing */
    size_t discarded;     /* plain-text bytes after the STARTTLS reply, thrown away */
} dialog_result;

/* Speaks mode's protocol until TLS can start; with inject, a harmless
 * command is pipelined with STARTTLS in the same write. 1 when the
 * handshake may start, 0 when not (r says why). */
int dialog_to_tls(tls_conn *c, ms_tls_mode mode, int inject, dialog_result *r);
/* The mode ("smtp", "imap", "pop3", "sieve") whose greeting line is, or
 * NULL when it is none of theirs. */
const char *dialog_greeting_mode(const char *line);
/* The command that ends a session of this protocol. */
const char *dialog_quit_command(ms_tls_mode mode);
/* Non-zero when the replies read inside TLS after the quit command include
 * one to the injected command. */
int dialog_injection_answered(ms_tls_mode mode, const char *text, size_t len);

#endif
