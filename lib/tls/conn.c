/* Sockets and TLS with a deadline on every step. The socket is
 * non-blocking; each wait is one poll() bounded by the connection's
 * timeout, so a server that stalls costs at most that long per step. The
 * deadline is also checked on every turn of every loop, not only when
 * poll() waits: a server that never stops sending would otherwise never
 * make a read wait. */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include "core/lazy_openssl.h"
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *tls_io_str(tls_io io)
{
    switch (io) {
    case IO_OK: return "ok";
    case IO_REFUSED: return "connection refused";
    case IO_TIMEOUT: return "timed out";
    case IO_EOF: return "connection closed by the server";
    case IO_GARBAGE: return "not a reply of the protocol";
    case IO_TOO_LONG: return "a reply longer than any server needs";
    case IO_NOT_TLS: return "plain text where TLS was expected";
    case IO_ERROR: return "I/O error";
    }
    return "?";
}

static int past(long long deadline)
{
    return ms_monotonic_ms() >= deadline;
}

/* Waits until fd is ready for events or the deadline passes. */
static tls_io wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - ms_monotonic_ms();
        if (left <= 0)
            return IO_TIMEOUT;
        struct pollfd p = {fd, events, 0};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return IO_OK;
        if (n == 0)
            return IO_TIMEOUT;
        if (errno != EINTR)
            return IO_ERROR;
    }
}

void conn_init(tls_conn *c, unsigned timeout_ms, atomic_int *out_of_memory)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = timeout_ms;
    c->out_of_memory = out_of_memory;
}

void conn_out_of_memory(tls_conn *c)
{
    if (c->out_of_memory != NULL)
        atomic_store(c->out_of_memory, 1);
}

void conn_close(tls_conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    conn_init(c, c->timeout_ms, c->out_of_memory);
}

tls_io conn_connect(tls_conn *c, const struct sockaddr *addr, socklen_t addr_len)
{
    c->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return IO_ERROR;
    if (connect(c->fd, addr, addr_len) == 0)
        return IO_OK;
    if (errno == ECONNREFUSED)
        return IO_REFUSED;
    if (errno != EINPROGRESS)
        return IO_ERROR;
    tls_io io = wait_fd(c->fd, POLLOUT, ms_monotonic_ms() + c->timeout_ms);
    if (io != IO_OK)
        return io;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        return IO_ERROR;
    if (err == ECONNREFUSED)
        return IO_REFUSED;
    if (err == ETIMEDOUT)
        return IO_TIMEOUT;
    return err == 0 ? IO_OK : IO_ERROR;
}

/* After an SSL call returned r <= 0: wait for what it wants, or fail. */
static tls_io ssl_wait(tls_conn *c, int r, long long deadline)
{
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        return wait_fd(c->fd, POLLIN, deadline);
    case SSL_ERROR_WANT_WRITE:
        return wait_fd(c->fd, POLLOUT, deadline);
    case SSL_ERROR_ZERO_RETURN:
        return IO_EOF;
    case SSL_ERROR_SYSCALL:
        return ERR_peek_error() == 0 ? IO_EOF : IO_ERROR;
    default:
        return IO_ERROR;
    }
}

tls_io conn_write(tls_conn *c, const char *data, size_t len)
{
    long long deadline = ms_monotonic_ms() + c->timeout_ms;
    while (len > 0) {
        if (past(deadline))
            return IO_TIMEOUT;
        ssize_t n;
        if (c->ssl) {
            int r = SSL_write(c->ssl, data, (int)len);
            if (r <= 0) {
                tls_io io = ssl_wait(c, r, deadline);
                if (io != IO_OK)
                    return io;
                continue;
            }
            n = r;
        } else {
            n = send(c->fd, data, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    return errno == EPIPE || errno == ECONNRESET ? IO_EOF : IO_ERROR;
                tls_io io = wait_fd(c->fd, POLLOUT, deadline);
                if (io != IO_OK)
                    return io;
                continue;
            }
        }
        data += n;
        len -= (size_t)n;
    }
    return IO_OK;
}

/* Reads one chunk into the buffer, waiting until the deadline (and not at
 * all once it has passed). */
static tls_io read_some_from(tls_conn *c, int through_tls, long long deadline)
{
    if (past(deadline))
        return IO_TIMEOUT;
    if (c->in_cap - c->in_len < 4096) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
        char *in = realloc(c->in, cap);
        if (in == NULL) {
            conn_out_of_memory(c);
            return IO_ERROR;
        }
        c->in = in;
        c->in_cap = cap;
    }
    /* one byte kept for the terminating NUL of reply texts */
    size_t room = c->in_cap - c->in_len - 1;
    for (;;) {
        if (through_tls) {
            int r = SSL_read(c->ssl, c->in + c->in_len, (int)room);
            if (r > 0) {
                c->in_len += (size_t)r;
                return IO_OK;
            }
            tls_io io = ssl_wait(c, r, deadline);
            if (io != IO_OK)
                return io;
        } else {
            ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
            if (n > 0) {
                c->in_len += (size_t)n;
                return IO_OK;
            }
            if (n == 0)
                return IO_EOF;
            if (errno == EINTR)
                continue;
            if (errno == ECONNRESET)
                return IO_EOF;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return IO_ERROR;
            tls_io io = wait_fd(c->fd, POLLIN, deadline);
            if (io != IO_OK)
                return io;
        }
    }
}

/* Reads one chunk: through TLS once it is up, else the socket's bytes. */
static tls_io read_some(tls_conn *c, long long deadline)
{
    return read_some_from(c, c->ssl != NULL, deadline);
}

static void consume(tls_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

/* The parser sees each byte once however the reply is cut, and stops it
 * at its bounds: the buffer never holds much more than one reply. */
tls_io conn_read_reply(tls_conn *c, ms_tls_reply_kind kind, const char *tag, ms_tls_reply *reply,
                       char **text)
{
    long long deadline = ms_monotonic_ms() + c->timeout_ms;
    ms_tls_reply_parser parser;
    ms_tls_reply_parser_init(&parser, kind, tag);
    if (text)
        *text = NULL;
    for (;;) {
        ms_tls_parse p = ms_tls_reply_feed(&parser, c->in, c->in_len);
        *reply = parser.reply;
        if (p == MS_TLS_PARSE_GARBAGE)
            return IO_GARBAGE;
        if (p == MS_TLS_PARSE_TOO_LONG)
            return IO_TOO_LONG;
        if (p == MS_TLS_PARSE_DONE) {
            if (text && (*text = malloc(reply->length + 1)) == NULL)
                conn_out_of_memory(c);
            if (text && *text != NULL) {
                memcpy(*text, c->in, reply->length);
                (*text)[reply->length] = '\0';
            }
            consume(c, reply->length);
            return IO_OK;
        }
        tls_io io = read_some(c, deadline);
        if (io != IO_OK)
            return io;
    }
}

tls_io conn_read_until_close(tls_conn *c, size_t max)
{
    long long deadline = ms_monotonic_ms() + c->timeout_ms;
    while (c->in_len < max) {
        tls_io io = read_some(c, deadline);
        if (io == IO_EOF)
            return IO_OK;
        if (io != IO_OK)
            return io;
    }
    return IO_OK;
}

size_t conn_discard(tls_conn *c)
{
    size_t n = c->in_len;
    c->in_len = 0;
    return n;
}

static const struct {
    unsigned bit;
    int version;
} VERSIONS[] = {
    {MS_TLS_V1_0, TLS1_VERSION},
    {MS_TLS_V1_1, TLS1_1_VERSION},
    {MS_TLS_V1_2, TLS1_2_VERSION},
    {MS_TLS_V1_3, TLS1_3_VERSION},
};

/* Certificates are verified after the handshake, by ms_cert_check_chain on
 * the chain as sent, so OpenSSL's own verification (which it runs even
 * with SSL_VERIFY_NONE, only to ignore the result) is skipped: it would
 * build chains against an empty store on every connection for nothing. */
static int skip_verification(X509_STORE_CTX *store, void *arg)
{
    (void)store;
    (void)arg;
    return 1;
}

/* A client context that accepts anything the server offers, old versions
 * and weak ciphers included (security level 0): the check reports on what
 * was negotiated, it does not refuse it. One per check, shared by every
 * connection of every port (SSL_new is thread-safe on a shared context;
 * making a context costs far more than a connection under OpenSSL 3). The
 * versions are set per connection. Client session caching stays off, so no
 * connection resumes another's session. */
SSL_CTX *conn_client_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_security_level(ctx, 0);
    /* eNULL too: a server that would pick "no encryption" must be caught */
    SSL_CTX_set_cipher_list(ctx, "ALL:eNULL:@SECLEVEL=0");
    /* servers that close without close_notify are common: a close, not an error */
    SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, skip_verification, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

unsigned conn_version_bit(int ssl_version)
{
    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
        if (VERSIONS[i].version == ssl_version)
            return VERSIONS[i].bit;
    return 0;
}

/* Limits an SSL to the versions in bits (0: all). */
static void set_versions(SSL *ssl, unsigned versions)
{
    int min = 0, max = 0;
    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
        if (versions == 0 || (versions & VERSIONS[i].bit)) {
            if (min == 0)
                min = VERSIONS[i].version;
            max = VERSIONS[i].version;
        }
    SSL_set_min_proto_version(ssl, min);
    SSL_set_max_proto_version(ssl, max);
}

/* SNI carries host names only, never address literals (RFC 6066 3). */
static int is_address_literal(const char *name)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
}

/* Narrows what the connection's hello offers to offer (NULL: everything
 * the shared context offers). 0 when OpenSSL refuses a list. */
static int apply_offer(SSL *ssl, const tls_offer *offer)
{
    set_versions(ssl, offer ? offer->versions : 0);
    if (offer == NULL)
        return 1;
    return (offer->cipher_list == NULL || SSL_set_cipher_list(ssl, offer->cipher_list) == 1) &&
           (offer->ciphersuites == NULL || SSL_set_ciphersuites(ssl, offer->ciphersuites) == 1) &&
           (offer->groups == NULL || SSL_set1_groups_list(ssl, offer->groups) == 1);
}

static tls_io start_tls(tls_conn *c, SSL_CTX *ctx, const char *servername, const tls_offer *offer)
{
    ERR_clear_error();
    c->ssl_ctx = ctx;
    c->ssl = ctx ? SSL_new(ctx) : NULL;
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || !apply_offer(c->ssl, offer))
        return IO_ERROR;
    if (servername && !is_address_literal(servername))
        SSL_set_tlsext_host_name(c->ssl, servername);
    return IO_OK;
}

/* TLS records (RFC 8446 5.1) start with their content type, 20 to 24
 * (change_cipher_spec, alert, handshake, application_data, heartbeat):
 * never a printable character, so a plain-text greeting ("220 ", "* OK",
 * "+OK") is told apart by its first byte. */
static int is_record_type(unsigned char first)
{
    return first >= 20 && first <= 24;
}

void tls_printable_line(const char *text, size_t len, char *out, size_t size)
{
    size_t n = 0;
    while (n < len && n + 1 < size && text[n] != '\r' && text[n] != '\n') {
        out[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
        n++;
    }
    out[n] = '\0';
}

/* The first bytes the server sent, as OpenSSL was about to read them. */
typedef struct first_bytes {
    int fd;
    size_t len; /* 0 until the first read found something */
    char text[128];
} first_bytes;

/* A callback on the socket's BIO: before OpenSSL's first read that finds
 * bytes, a peek at them (left in the socket for OpenSSL to read). */
static long peek_first_bytes(BIO *bio, int oper, const char *argp, size_t len, int argi, long argl,
                             int ret, size_t *processed)
{
    (void)argp;
    (void)len;
    (void)argi;
    (void)argl;
    (void)processed;
    first_bytes *f = (first_bytes *)BIO_get_callback_arg(bio);
    if (oper == BIO_CB_READ && f->len == 0) {
        ssize_t n = recv(f->fd, f->text, sizeof f->text, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0)
            f->len = (size_t)n;
    }
    return ret;
}

/* A handshake that failed because the server speaks plain text: its first
 * line in message. */
static int answered_in_plain_text(const first_bytes *f, char *message, size_t message_size)
{
    if (f->len == 0 || is_record_type((unsigned char)f->text[0]))
        return 0;
    tls_printable_line(f->text, f->len, message, message_size);
    return 1;
}

/* SSL_connect until it is done, fails or the deadline passes. */
static tls_io handshake_steps(tls_conn *c, long long deadline, char *ssl_error, size_t ssl_error_size)
{
    while (!past(deadline)) {
        int r = SSL_connect(c->ssl);
        if (r == 1)
            return IO_OK;
        unsigned long e = ERR_peek_error();
        tls_io io = ssl_wait(c, r, deadline);
        if (io != IO_OK) {
            if (e != 0)
                ERR_error_string_n(e, ssl_error, ssl_error_size);
            return io;
        }
    }
    return IO_TIMEOUT;
}

static tls_io run_handshake(tls_conn *c, char *ssl_error, size_t ssl_error_size)
{
    first_bytes first = {.fd = c->fd};
    BIO *bio = SSL_get_rbio(c->ssl);
    BIO_set_callback_arg(bio, (char *)&first);
    BIO_set_callback_ex(bio, peek_first_bytes);
    tls_io io = handshake_steps(c, ms_monotonic_ms() + c->timeout_ms, ssl_error, ssl_error_size);
    BIO_set_callback_ex(bio, NULL); /* first lives on this stack */
    if (io != IO_OK && answered_in_plain_text(&first, ssl_error, ssl_error_size))
        return IO_NOT_TLS;
    return io;
}

tls_io conn_handshake(tls_conn *c, SSL_CTX *ctx, const char *servername, const tls_offer *offer,
                      char *ssl_error, size_t ssl_error_size)
{
    ssl_error[0] = '\0';
    tls_io io = start_tls(c, ctx, servername, offer);
    return io == IO_OK ? run_handshake(c, ssl_error, ssl_error_size) : io;
}

/* TLS records (RFC 8446 5.1): type, version, 16-bit length, then at most
 * 2^14 + 2048 bytes (TLS 1.2's ciphertext bound, the larger one). */
enum { TLS_RECORD_HEADER = 5, TLS_RECORD_MAX = 16384 + 2048 };

/* Moves the next whole TLS record from the socket into the SSL's read BIO:
 * OpenSSL then sees the server's flight one record at a time. */
static tls_io feed_record(tls_conn *c, BIO *rbio, long long deadline)
{
    size_t need = 0;
    while (need == 0) {
        if (c->in_len > 0 && !is_record_type((unsigned char)c->in[0]))
            return IO_NOT_TLS; /* a plain-text greeting: no use waiting for its "length" */
        if (c->in_len >= TLS_RECORD_HEADER) {
            size_t len = ((size_t)(unsigned char)c->in[3] << 8) | (unsigned char)c->in[4];
            if (len > TLS_RECORD_MAX)
                return IO_GARBAGE;
            if (c->in_len >= TLS_RECORD_HEADER + len) {
                need = TLS_RECORD_HEADER + len;
                break;
            }
        }
        tls_io io = read_some_from(c, 0, deadline);
        if (io != IO_OK)
            return io;
    }
    if (BIO_write(rbio, c->in, (int)need) != (int)need)
        return IO_ERROR;
    consume(c, need);
    return IO_OK;
}

/* What a probe heard before it stopped. */
typedef struct hello_heard {
    int hello; /* a ServerHello (or a TLS 1.3 HelloRetryRequest, which has the same type) */
    int alert; /* the description of the alert the server sent; -1 none */
} hello_heard;

/* OpenSSL calls this with each whole handshake message and alert it
 * received, just before processing it. */
static void note_server_hello(int write_p, int version, int content_type, const void *buf,
                              size_t len, SSL *ssl, void *arg)
{
    (void)version;
    (void)ssl;
    hello_heard *heard = arg;
    const unsigned char *bytes = buf;
    if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 && bytes[0] == SSL3_MT_SERVER_HELLO)
        heard->hello = 1;
    if (!write_p && content_type == SSL3_RT_ALERT && len == 2)
        heard->alert = bytes[1];
}

/* The server accepted the hello when OpenSSL received its whole hello
 * and processed it without error (a hello with a version or suite not
 * offered, or one OpenSSL cannot take, ends the handshake with an error in
 * the same call). The records are handed over one by one, so the probe
 * stops right there: the certificate that follows is never parsed, the key
 * exchange never done. */
tls_hello conn_probe_hello(tls_conn *c, SSL_CTX *ctx, const char *servername, const tls_offer *offer)
{
    tls_hello none = {0, NULL, -1, 0};
    hello_heard heard = {0, -1};
    if (start_tls(c, ctx, servername, offer) != IO_OK)
        return none;
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new_socket(c->fd, BIO_NOCLOSE);
    if (rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        return none;
    }
    BIO_set_mem_eof_return(rbio, -1); /* empty: "retry", not end of file */
    SSL_set_bio(c->ssl, rbio, wbio);
    SSL_set_msg_callback(c->ssl, note_server_hello);
    SSL_set_msg_callback_arg(c->ssl, &heard);
    long long deadline = ms_monotonic_ms() + c->timeout_ms;
    for (;;) {
        if (past(deadline))
            return none;
        int r = SSL_connect(c->ssl);
        if (r == 1 || (r < 0 && SSL_get_error(c->ssl, r) == SSL_ERROR_WANT_READ && heard.hello)) {
            /* both set from the hello */
            unsigned offered = offer && offer->versions ? offer->versions : ~0u;
            tls_hello h = {conn_version_bit(SSL_version(c->ssl)) & offered,
                           SSL_get_pending_cipher(c->ssl), -1, 0};
            return h;
        }
        none.alert = heard.alert;
        switch (SSL_get_error(c->ssl, r)) {
        case SSL_ERROR_WANT_READ: {
            tls_io io = feed_record(c, rbio, deadline);
            if (io != IO_OK) {
                none.closed = io == IO_EOF && heard.alert < 0;
                return none;
            }
            break;
        }
        case SSL_ERROR_WANT_WRITE:
            if (wait_fd(c->fd, POLLOUT, deadline) != IO_OK)
                return none;
            break;
        default:
            return none; /* an alert, or a hello OpenSSL refused */
        }
    }
}
