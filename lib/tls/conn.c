/* Sockets and TLS with a deadline on every step. The socket is
 * non-blocking; each wait is one poll() bounded by the connection's
 * timeout, so a server that stalls costs at most that long per step. */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
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
    case IO_ERROR: return "I/O error";
    }
    return "?";
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. */
static tls_io wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
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

void conn_init(tls_conn *c, unsigned timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->timeout_ms = timeout_ms;
}

void conn_close(tls_conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ssl_ctx)
        SSL_CTX_free(c->ssl_ctx);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    conn_init(c, c->timeout_ms);
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
    tls_io io = wait_fd(c->fd, POLLOUT, now_ms() + c->timeout_ms);
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
    long long deadline = now_ms() + c->timeout_ms;
    while (len > 0) {
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

/* Reads one chunk into the buffer, waiting until the deadline. */
static tls_io read_some(tls_conn *c, long long deadline)
{
    if (c->in_cap - c->in_len < 4096) {
        size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
        char *in = realloc(c->in, cap);
        if (in == NULL)
            return IO_ERROR;
        c->in = in;
        c->in_cap = cap;
    }
    /* one byte kept for the terminating NUL of reply texts */
    size_t room = c->in_cap - c->in_len - 1;
    for (;;) {
        if (c->ssl) {
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

static void consume(tls_conn *c, size_t n)
{
    memmove(c->in, c->in + n, c->in_len - n);
    c->in_len -= n;
}

tls_io conn_read_reply(tls_conn *c, ms_tls_reply_kind kind, const char *tag, ms_tls_reply *reply,
                       char **text)
{
    long long deadline = now_ms() + c->timeout_ms;
    if (text)
        *text = NULL;
    for (;;) {
        ms_tls_parse p = ms_tls_reply_parse(kind, tag, c->in, c->in_len, reply);
        if (p == MS_TLS_PARSE_GARBAGE)
            return IO_GARBAGE;
        if (p == MS_TLS_PARSE_DONE) {
            if (text && (*text = malloc(reply->length + 1)) != NULL) {
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
    long long deadline = now_ms() + c->timeout_ms;
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

/* A client context that accepts anything the server offers, old versions
 * and weak ciphers included (security level 0): the check reports on what
 * was negotiated, it does not refuse it. Verification is done afterwards
 * on the chain by ms_cert_check_chain. */
static SSL_CTX *lenient_ctx(unsigned versions)
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
    int min = 0, max = 0;
    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
        if (versions == 0 || (versions & VERSIONS[i].bit)) {
            if (min == 0)
                min = VERSIONS[i].version;
            max = VERSIONS[i].version;
        }
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, max);
    return ctx;
}

/* SNI carries host names only, never address literals (RFC 6066 3). */
static int is_address_literal(const char *name)
{
    unsigned char tmp[16];
    return inet_pton(AF_INET, name, tmp) == 1 || inet_pton(AF_INET6, name, tmp) == 1;
}

tls_io conn_handshake(tls_conn *c, const char *servername, unsigned versions, char *ssl_error,
                      size_t ssl_error_size)
{
    ssl_error[0] = '\0';
    ERR_clear_error();
    c->ssl_ctx = lenient_ctx(versions);
    c->ssl = c->ssl_ctx ? SSL_new(c->ssl_ctx) : NULL;
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return IO_ERROR;
    if (servername && !is_address_literal(servername))
        SSL_set_tlsext_host_name(c->ssl, servername);
    long long deadline = now_ms() + c->timeout_ms;
    for (;;) {
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
}
