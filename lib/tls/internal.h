/* What the files of lib/tls share. */
#ifndef MAILSEC_LIB_TLS_INTERNAL_H
#define MAILSEC_LIB_TLS_INTERNAL_H

#include "core/internal.h"
#include "mailsec/tls.h"

#include "core/lazy_openssl.h"
#include <stdatomic.h>
#include <sys/socket.h>

/* Diagnostics (diags.c), indexes into ms_tls_diag_defs. */
enum {
    T_CLOSED,
    T_UNREACHABLE,
    T_TIMEOUT,
    T_DROPPED,
    T_GARBAGE,
    T_GREETING_REFUSED,
    T_STARTTLS_NOT_OFFERED,
    T_STARTTLS_REFUSED,
    T_HANDSHAKE_FAILED,
    T_PLAINTEXT_AFTER_STARTTLS,
    T_INJECTION_VULNERABLE,
    T_INJECTION_SAFE,
    T_OLD_VERSION,
    T_NO_MODERN_VERSION,
    T_NO_TLS13,
    T_WEAK_CIPHER,
    T_NO_FORWARD_SECRECY,
    T_CERTIFICATES_DIFFER,
    T_DANE_MATCH,
    T_DANE_NO_MATCH,
    T_DANE_NO_RECORDS,
    T_DANE_INSECURE,
    T_DANE_LOOKUP_FAILED,
    T_DANE_UNUSABLE,
    T_MTASTS_NONE,
    T_MTASTS_UNUSABLE,
    T_MTASTS_MODE_NONE,
    T_MTASTS_MX_MISMATCH,
    T_MTASTS_MX_MISMATCH_TESTING,
    T_MTASTS_CERT_INVALID,
    T_MTASTS_CERT_INVALID_TESTING,
    T_MTASTS_PASS,
    T_REPLY_TOO_LONG,
    T_CLOSED_NAMED,
    T_NO_OPEN_PORT,
    T_AUTH_BEFORE_STARTTLS,
    T_LOGIN_BEFORE_STARTTLS,
    T_MX_TOO_MANY,
    T_DANE_ADDRESS_INSECURE,
    T_CBC_CIPHER,
    T_CLIENT_CIPHER_ORDER,
    T_WEAK_DH,
    T_ANONYMOUS_CIPHER,
    T_COUNT
};

/* One connection: a socket, its read buffer, and TLS once it is up. Every
 * read and write waits at most timeout_ms. */
typedef struct tls_conn {
    int fd;
    SSL_CTX *ssl_ctx; /* the check's shared context (conn_client_ctx), not owned */
    SSL *ssl;
    char *in;        /* bytes read and not yet consumed */
    size_t in_len, in_cap;
    unsigned timeout_ms;
    /* Set to 1 when memory runs out for this connection (conn_out_of_memory):
     * the port's flag, shared by its threads, that voids its whole check
     * (its findings would miss what was not read). NULL: nowhere. */
    atomic_int *out_of_memory;
} tls_conn;

/* How an I/O step ended. */
typedef enum tls_io {
    IO_OK = 0,
    IO_REFUSED,  /* connect: nothing listens */
    IO_TIMEOUT,
    IO_EOF,      /* the peer closed the connection */
    IO_GARBAGE,  /* the reply parser gave up */
    IO_TOO_LONG, /* the reply passed its bounds (MS_TLS_MAX_REPLY, MS_TLS_MAX_REPLY_LINES) */
    IO_NOT_TLS,  /* the handshake was answered in plain text (a greeting) */
    IO_ERROR     /* any other socket or TLS failure */
} tls_io;

const char *tls_io_str(tls_io io);
/* text[0, len) up to its first line end, control and 8-bit bytes as '?',
 * cut to fit out (size bytes, NUL included): for messages. */
void tls_printable_line(const char *text, size_t len, char *out, size_t size);

/* A connection not open yet; out_of_memory as in tls_conn (may be NULL). */
void conn_init(tls_conn *c, unsigned timeout_ms, atomic_int *out_of_memory);
/* Records that memory ran out for the connection (see tls_conn). */
void conn_out_of_memory(tls_conn *c);
void conn_close(tls_conn *c);
tls_io conn_connect(tls_conn *c, const struct sockaddr *addr, socklen_t addr_len);
tls_io conn_write(tls_conn *c, const char *data, size_t len);
/* Reads until one complete reply is buffered, then takes it off the
 * buffer; the reply's bytes are copied to text (NUL-terminated, may be
 * NULL) when text is not NULL. */
tls_io conn_read_reply(tls_conn *c, ms_tls_reply_kind kind, const char *tag, ms_tls_reply *reply,
                       char **text);
/* Reads whatever comes until the peer closes or the time is up (at most
 * max bytes); IO_OK on a clean close, IO_TIMEOUT otherwise. */
tls_io conn_read_until_close(tls_conn *c, size_t max);
/* Drops buffered bytes; returns how many there were. */
size_t conn_discard(tls_conn *c);
/* The client context every connection of a check shares; SSL_CTX_free it
 * when the check is done. */
SSL_CTX *conn_client_ctx(void);
/* What a connection's hello offers, narrower than the shared context. */
typedef struct tls_offer {
    unsigned versions;        /* MS_TLS_V* bits to allow, a contiguous range (0: all) */
    const char *cipher_list;  /* TLS 1.2 and below, OpenSSL's syntax; NULL: the context's */
    const char *ciphersuites; /* TLS 1.3; NULL: the context's */
    const char *groups;       /* key exchange groups; NULL: the context's */
} tls_offer;

/* The TLS handshake on the connection, as a client, offering offer (NULL:
 * everything). ssl_error receives OpenSSL's reason on failure; with
 * IO_NOT_TLS, the first line the server sent instead of TLS. */
tls_io conn_handshake(tls_conn *c, SSL_CTX *ctx, const char *servername, const tls_offer *offer,
                      char *ssl_error, size_t ssl_error_size);

/* What the server's hello chose. */
typedef struct tls_hello {
    unsigned version;          /* MS_TLS_V* bit; 0: the server refused the offer (an alert,
                                * plain text, a time-out) */
    const SSL_CIPHER *cipher;  /* the suite chosen (OpenSSL's static table); NULL if none */
    int alert;                 /* with version 0: the alert the server refused with
                                * (SSL_AD_*); -1 none (a close, plain text, a time-out) */
    int closed;                /* with version 0: the server closed without an alert */
} tls_hello;

/* Which version and suite of offer the server chooses. The handshake stops
 * as soon as the server's hello has been accepted, before its certificate
 * is parsed. */
tls_hello conn_probe_hello(tls_conn *c, SSL_CTX *ctx, const char *servername, const tls_offer *offer);
/* The MS_TLS_V* bit of an OpenSSL version number (TLS1_2_VERSION...); 0
 * for others. */
unsigned conn_version_bit(int ssl_version);

/* Cipher suites (ciphers.c). */

/* How the probes of one port reach the handshake: open() brings a new
 * connection to the point where TLS starts (connect, the protocol's dialog
 * up to STARTTLS), or returns 0 and leaves nothing open. */
typedef struct tls_target {
    int (*open)(void *arg, tls_conn *c);
    void *arg;
    SSL_CTX *ssl_ctx;
    const char *servername;
    atomic_int *out_of_memory; /* as in tls_conn: set when memory runs out */
} tls_target;

ms_tls_cipher_class tls_cipher_class(const SSL_CIPHER *c);
/* Fills r's ciphers, groups, dh_bits and handshakes for the versions
 * accepted (MS_TLS_V* bits), each version in a thread of its own. When
 * memory runs out (the lists may then miss entries), *t->out_of_memory
 * is set. */
void tls_enumerate_ciphers(const tls_target *t, unsigned versions, ms_tls_port_result *r);
/* The findings about what tls_enumerate_ciphers found; MS_ERR_NOMEM. */
ms_status tls_cipher_findings(ms_tls_port_result *r, const char *location);
void tls_cipher_results_free(ms_tls_port_result *r);

/* MTA-STS (mtasts.c). The lookup (TXT record, policy over HTTPS) runs
 * while the ports are checked; the match needs their results. */
ms_status tls_mtasts_lookup(ms_ctx *ctx, const char *domain, ms_tls_check_result *res);
ms_status tls_mtasts_match(ms_tls_check_result *res, const char *mx_host);

#endif
