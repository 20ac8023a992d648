/* ms_tls_check: every port at once, one thread per port. Each port's
 * thread makes its own connections, and starts the ones that need nothing
 * from the others in threads of their own at once, so that over a network
 * a port costs about one dialog's round trips, not the sum of them:
 *   1. the main session: the dialog, the handshake, what was negotiated
 *      and the chain (checked by the cert module as the handshake parsed
 *      it, against one trust store for the whole check);
 *   2. the injection test (STARTTLS ports): a command pipelined with
 *      STARTTLS, then only the quit command inside TLS, replies counted;
 *   3. the TLS versions the server accepts: two probes with the main
 *      session, then, in the port's thread, any the answers left unknown;
 *      each probe stops once the server's hello is accepted;
 *   4. with opts->ciphers, once the versions are known: the suites of each
 *      version, the groups and the DH size (ciphers.c, a thread per version).
 * Every connection shares one SSL_CTX. Meanwhile the calling thread looks
 * up the TLSA records for DANE and the MTA-STS policy. */
#include "cert/internal.h"
#include "dialog.h"
#include "mailsec/dns.h"

#include <arpa/inet.h>
#include "core/lazy_openssl.h"
#include "core/task.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const uint16_t ms_tls_default_ports[MS_TLS_DEFAULT_PORT_COUNT] = {25, 587, 465, 143, 993, 110, 995, 4190};

static const char *const MODE_NAMES[] = {
    [MS_TLS_IMPLICIT] = "tls", [MS_TLS_SMTP] = "smtp", [MS_TLS_LMTP] = "lmtp",
    [MS_TLS_IMAP] = "imap",    [MS_TLS_POP3] = "pop3", [MS_TLS_SIEVE] = "sieve",
};

const char *ms_tls_mode_str(ms_tls_mode mode)
{
    return (unsigned)mode < sizeof MODE_NAMES / sizeof MODE_NAMES[0] ? MODE_NAMES[mode] : "?";
}

ms_status ms_tls_mode_parse(const char *name, ms_tls_mode *out)
{
    if (name == NULL)
        return MS_ERR_INVALID;
    if (ms_ascii_strcasecmp(name, "none") == 0 || ms_ascii_strcasecmp(name, "implicit") == 0) {
        *out = MS_TLS_IMPLICIT;
        return MS_OK;
    }
    for (size_t i = 0; i < sizeof MODE_NAMES / sizeof MODE_NAMES[0]; i++)
        if (ms_ascii_strcasecmp(name, MODE_NAMES[i]) == 0) {
            *out = (ms_tls_mode)i;
            return MS_OK;
        }
    return MS_ERR_INVALID;
}

int ms_tls_default_mode(unsigned port)
{
    switch (port) {
    case 25:
    case 587:
        return MS_TLS_SMTP;
    case 24:
        return MS_TLS_LMTP;
    case 465:
    case 993:
    case 995:
        return MS_TLS_IMPLICIT;
    case 143:
        return MS_TLS_IMAP;
    case 110:
        return MS_TLS_POP3;
    case 4190:
        return MS_TLS_SIEVE;
    }
    return -1;
}

const char *ms_tls_version_str(unsigned bit)
{
    switch (bit) {
    case MS_TLS_V1_0: return "TLSv1";
    case MS_TLS_V1_1: return "TLSv1.1";
    case MS_TLS_V1_2: return "TLSv1.2";
    case MS_TLS_V1_3: return "TLSv1.3";
    }
    return "?";
}

const char *ms_tls_port_state_str(ms_tls_port_state state)
{
    switch (state) {
    case MS_TLS_PORT_TLS: return "tls";
    case MS_TLS_PORT_CLOSED: return "closed";
    case MS_TLS_PORT_NO_TLS: return "no-tls";
    case MS_TLS_PORT_UNREACHABLE: return "unreachable";
    }
    return "?";
}

const char *ms_tls_dane_state_str(ms_tls_dane_state state)
{
    switch (state) {
    case MS_TLS_DANE_NOT_CHECKED: return "not-checked";
    case MS_TLS_DANE_NO_RECORDS: return "no-records";
    case MS_TLS_DANE_MATCH: return "match";
    case MS_TLS_DANE_NO_MATCH: return "no-match";
    }
    return "?";
}

/* The trust store every port's chain is checked against, built by the
 * first port that needs it while the others go on with their handshakes:
 * once per check, not once per port (the system's store takes tens of
 * milliseconds to build). */
typedef struct shared_trust {
    pthread_mutex_t lock;
    const char *ca_file;  /* NULL: the system's */
    int built;
    X509_STORE *store;    /* NULL when it could not be built: each chain check says why */
} shared_trust;

static X509_STORE *trust_get(shared_trust *t)
{
    pthread_mutex_lock(&t->lock);
    if (!t->built) {
        t->store = cert_trust_store(t->ca_file);
        t->built = 1;
    }
    pthread_mutex_unlock(&t->lock);
    return t->store;
}

/* What one port's thread needs. */
typedef struct port_job {
    ms_ctx *ctx; /* a clone: one context per thread */
    const struct sockaddr_storage *addr;
    socklen_t addr_len;
    const char *servername; /* SNI; may be NULL */
    const char *cert_host;  /* the name the certificate must cover */
    const ms_tls_check_opts *opts;
    int named;              /* the caller named the port: closed is an error, not a note */
    SSL_CTX *ssl_ctx;       /* shared by every job */
    shared_trust *trust;    /* shared by every job */
    const SSL_CIPHER *negotiated; /* the main session's suite (OpenSSL's static table) */
    X509 *peer[MS_TLS_MAX_CHAIN]; /* the chain as sent, parsed once by the handshake */
    size_t peer_count;
    unsigned timeout_ms;
    char location[300];     /* "host:port", for diagnostics */
    ms_tls_port_result *result;
    /* Memory ran out somewhere in the port's check (its threads, its
     * connections): the result would miss what was not recorded, so the
     * whole check says MS_ERR_NOMEM. */
    atomic_int out_of_memory;
    ms_task task;
} port_job;

static void out_of_memory(port_job *job)
{
    atomic_store(&job->out_of_memory, 1);
}

static void add(port_job *job, int diag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(port_job *job, int diag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ms_diag_addv(&job->result->diags, &ms_tls_diag_defs[diag], job->location, -1, fmt, ap) != MS_OK)
        out_of_memory(job);
    va_end(ap);
}

/* A copy of s for the port's result; NULL for NULL. */
static char *copy(port_job *job, const char *s)
{
    char *dup = s ? strdup(s) : NULL;
    if (s != NULL && dup == NULL)
        out_of_memory(job);
    return dup;
}

/* Connects, or records why not (closed, unreachable). */
static int open_conn(port_job *job, tls_conn *c, int record)
{
    conn_init(c, job->timeout_ms, &job->out_of_memory);
    tls_io io = conn_connect(c, (const struct sockaddr *)job->addr, job->addr_len);
    if (io == IO_OK)
        return 1;
    if (record) {
        ms_tls_port_result *r = job->result;
        if (io == IO_REFUSED) {
            r->state = MS_TLS_PORT_CLOSED;
            add(job, job->named ? T_CLOSED_NAMED : T_CLOSED, "port %u is closed (connection refused)",
                r->port);
        } else {
            r->state = MS_TLS_PORT_UNREACHABLE;
            add(job, T_UNREACHABLE, "port %u: %s", r->port,
                io == IO_TIMEOUT ? "connection timed out" : "could not connect");
        }
    }
    conn_close(c);
    return 0;
}

/* A server that limits a client's connections turns the extra ones away
 * in its greeting (Postfix: "421 4.7.0 Error: too many connections"), and
 * counts a connection as gone only a moment after it closed. A connection
 * of the check turned away is tried again alone, after a pause. Sleeps and
 * returns 1 for retries 0, 1 and 2; returns 0 after that. */
static int retry_pause(unsigned attempt)
{
    static const unsigned PAUSE_MS[] = {20, 60, 180};
    if (attempt >= sizeof PAUSE_MS / sizeof PAUSE_MS[0])
        return 0;
    struct timespec pause = {0, (long)PAUSE_MS[attempt] * 1000000L};
    nanosleep(&pause, NULL);
    return 1;
}

static const char *signature_type_name(int nid)
{
    switch (nid) {
    case EVP_PKEY_RSA: return "RSA-PKCS1";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    case EVP_PKEY_ED448: return "Ed448";
    }
    return OBJ_nid2sn(nid);
}

/* What the handshake settled on. */
static void record_session(port_job *job, SSL *ssl)
{
    ms_tls_port_result *r = job->result;
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    r->version = copy(job, SSL_get_version(ssl));
    r->versions_accepted |= conn_version_bit(SSL_version(ssl));
    r->cipher = copy(job, cipher ? SSL_CIPHER_get_name(cipher) : NULL);
    int group = SSL_get_negotiated_group(ssl);
    if (group != 0 && group != NID_undef)
        r->group = copy(job, SSL_group_to_name(ssl, group));
    int type = 0, digest = 0;
    if (SSL_get_peer_signature_type_nid(ssl, &type) == 1) {
        char buf[128];
        if (SSL_get_peer_signature_nid(ssl, &digest) == 1 && digest != NID_undef)
            snprintf(buf, sizeof buf, "%s with %s", signature_type_name(type), OBJ_nid2sn(digest));
        else
            snprintf(buf, sizeof buf, "%s", signature_type_name(type));
        r->signature = copy(job, buf);
    }
    job->negotiated = cipher;
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
    int n = chain ? sk_X509_num(chain) : 0;
    if (n > MS_TLS_MAX_CHAIN)
        n = MS_TLS_MAX_CHAIN;
    r->chain_der = calloc((size_t)n + 1, sizeof *r->chain_der);
    r->chain_len = calloc((size_t)n + 1, sizeof *r->chain_len);
    if (r->chain_der == NULL || r->chain_len == NULL) {
        out_of_memory(job);
        return;
    }
    for (int i = 0; i < n; i++) {
        unsigned char *der = NULL;
        int len = i2d_X509(sk_X509_value(chain, i), &der);
        if (len <= 0)
            break;
        r->chain_der[i] = der;
        r->chain_len[i] = (size_t)len;
        r->chain_count++;
        if (X509_up_ref(sk_X509_value(chain, i)))
            job->peer[job->peer_count++] = sk_X509_value(chain, i);
    }
}

/* The findings about the suite the main session negotiated: when the
 * suites were not enumerated (the enumeration names it otherwise). */
static void negotiated_cipher_findings(port_job *job)
{
    ms_tls_port_result *r = job->result;
    const SSL_CIPHER *cipher = job->negotiated;
    if (cipher == NULL)
        return;
    const char *name = SSL_CIPHER_get_name(cipher);
    ms_tls_cipher_class cls = tls_cipher_class(cipher);
    if (cls >= MS_TLS_CIPHER_64BIT_BLOCK)
        add(job, T_WEAK_CIPHER, "port %u negotiated %s (%d bits)", r->port, name,
            SSL_CIPHER_get_bits(cipher, NULL));
    if (SSL_CIPHER_get_kx_nid(cipher) == NID_kx_rsa)
        add(job, T_NO_FORWARD_SECRECY, "port %u negotiated %s, static RSA key exchange", r->port, name);
}

/* A handshake answered in plain text. On a port checked as TLS at once,
 * the server's greeting (a STARTTLS or plain-text port): said at once,
 * with the protocol it belongs to, instead of OpenSSL's "wrong version
 * number" (which reads like a broken TLS set-up). */
static void plain_text_instead_of_tls(port_job *job, const char *text)
{
    ms_tls_port_result *r = job->result;
    if (r->mode != MS_TLS_IMPLICIT) {
        add(job, T_GARBAGE, "port %u answered the TLS handshake after STARTTLS in plain text: \"%s\"",
            r->port, text);
        return;
    }
    const char *mode = dialog_greeting_mode(text);
    free(r->greeting);
    r->greeting = copy(job, text);
    add(job, T_GARBAGE, "port %u answers in plain text, not TLS: \"%s\"%s%s%s", r->port, text,
        mode ? ": a greeting of mode " : "", mode ? mode : "",
        mode ? ", which starts TLS with STARTTLS if at all" : "");
}

/* A failed handshake or dialog, as a diagnostic. */
static void handshake_failed(port_job *job, tls_io io, const char *ssl_error)
{
    unsigned port = job->result->port;
    if (io == IO_NOT_TLS)
        plain_text_instead_of_tls(job, ssl_error);
    else if (io == IO_TIMEOUT)
        add(job, T_TIMEOUT, "port %u: the TLS handshake timed out", port);
    else if (io == IO_EOF)
        add(job, T_DROPPED, "port %u: the server closed the connection during the TLS handshake",
            port);
    else
        add(job, T_HANDSHAKE_FAILED, "port %u: %s", port,
            ssl_error[0] ? ssl_error : "the TLS handshake failed");
}

/* 1: the main session; the result has what was negotiated and the chain. */
static int main_session(port_job *job)
{
    ms_tls_port_result *r = job->result;
    tls_conn c;
    if (!open_conn(job, &c, 1))
        return 0;
    dialog_result d;
    int ready = dialog_to_tls(&c, r->mode, 0, &d);
    r->greeting = d.greeting;
    r->starttls_offered = d.starttls_offered;
    if (d.password_offer[0] != '\0')
        add(job, r->mode == MS_TLS_SMTP ? T_AUTH_BEFORE_STARTTLS : T_LOGIN_BEFORE_STARTTLS,
            "port %u accepts a password before STARTTLS: %s", r->port, d.password_offer);
    if (!ready) {
        r->state = MS_TLS_PORT_NO_TLS;
        add(job, d.failed_diag, "port %u: %s", r->port, d.message);
        conn_close(&c);
        return 0;
    }
    if (d.discarded > 0)
        add(job, T_PLAINTEXT_AFTER_STARTTLS, "port %u: %zu bytes after the STARTTLS reply, discarded",
            r->port, d.discarded);
    char ssl_error[256];
    tls_io io = conn_handshake(&c, job->ssl_ctx, job->servername, NULL, ssl_error, sizeof ssl_error);
    if (io != IO_OK) {
        r->state = MS_TLS_PORT_NO_TLS;
        handshake_failed(job, io, ssl_error);
        conn_close(&c);
        return 0;
    }
    r->state = MS_TLS_PORT_TLS;
    record_session(job, c.ssl);
    const char *quit = dialog_quit_command(r->mode);
    if (quit)
        conn_write(&c, quit, strlen(quit));
    conn_close(&c);
    return 1;
}

/* 2: the STARTTLS command injection test, in a thread of its own from
 * the start (it needs nothing from the main session). A server that is not
 * open to it either throws the pipelined bytes away (Postfix) or feeds
 * them to its TLS layer, which then fails the handshake (Dovecot): both
 * are safe. The thread writes only its own fields; the port's thread
 * turns them into the result after joining. */
typedef enum injection_outcome {
    INJECTION_NOT_RUN = 0,      /* no connection, or no STARTTLS to test */
    INJECTION_HANDSHAKE_FAILED, /* safe: the command was read as TLS data */
    INJECTION_DISCARDED,        /* safe: the command was not answered */
    INJECTION_ANSWERED          /* vulnerable */
} injection_outcome;

typedef struct injection_test {
    port_job *job;
    injection_outcome outcome;
    int turned_away; /* refused in the greeting: see retry_pause */
    ms_task task;
    int started; /* in a thread of its own, next to the main session */
} injection_test;

static void *run_injection_test(void *arg)
{
    injection_test *t = arg;
    port_job *job = t->job;
    ms_tls_mode mode = job->result->mode;
    t->turned_away = 0;
    tls_conn c;
    if (!open_conn(job, &c, 0))
        return NULL;
    dialog_result d;
    char ssl_error[256];
    int ready = dialog_to_tls(&c, mode, 1, &d);
    t->turned_away = d.failed_diag == T_GREETING_REFUSED;
    if (ready) {
        const char *quit = dialog_quit_command(mode);
        if (conn_handshake(&c, job->ssl_ctx, job->servername, NULL, ssl_error, sizeof ssl_error) != IO_OK) {
            t->outcome = INJECTION_HANDSHAKE_FAILED;
        } else if (conn_write(&c, quit, strlen(quit)) == IO_OK) {
            conn_read_until_close(&c, MS_TLS_MAX_REPLY);
            t->outcome = dialog_injection_answered(mode, c.in, c.in_len) ? INJECTION_ANSWERED
                                                                         : INJECTION_DISCARDED;
        }
    }
    free(d.greeting);
    conn_close(&c);
    return NULL;
}

static void report_injection(port_job *job, injection_outcome outcome)
{
    ms_tls_port_result *r = job->result;
    switch (outcome) {
    case INJECTION_NOT_RUN:
        return;
    case INJECTION_HANDSHAKE_FAILED:
        r->injection = MS_TLS_INJECTION_SAFE;
        add(job, T_INJECTION_SAFE,
            "port %u: with a command pipelined after STARTTLS, the server failed the handshake "
            "(it read the command as TLS data) and answered nothing",
            r->port);
        return;
    case INJECTION_DISCARDED:
        r->injection = MS_TLS_INJECTION_SAFE;
        add(job, T_INJECTION_SAFE, "port %u discarded the command pipelined with STARTTLS", r->port);
        return;
    case INJECTION_ANSWERED:
        r->injection = MS_TLS_INJECTION_VULNERABLE;
        add(job, T_INJECTION_VULNERABLE,
            "port %u answered inside TLS a command sent in plain text with STARTTLS", r->port);
        return;
    }
}

/* 3: the TLS versions the server accepts. A server answers a hello with
 * the highest version it shares with the client, so a probe offering a
 * range of versions tells which one of them is accepted (the server's
 * choice) and that those above it in the range are refused:
 *   - the main session offers every version: those above the one it
 *     negotiated are refused, with no probe;
 *   - below it, each probe offers the versions not known yet.
 * Before the main session has said anything, the two probes most servers
 * need run with it, each in a thread of its own: 1.0-1.2 and 1.0-1.1 (a
 * server with TLS 1.2 and 1.3 needs exactly these; one with 1.0-1.3 then
 * needs 1.0 alone). Over a network a probe costs its own dialog, four or
 * five round trips; one after another they made most of a port's time.
 * Whatever is still unknown afterwards is probed in the port's thread, one
 * probe after another (each offer depends on the last answer). */
static const unsigned ALL_VERSIONS = MS_TLS_V1_0 | MS_TLS_V1_1 | MS_TLS_V1_2 | MS_TLS_V1_3;

typedef struct versions_known {
    unsigned probed, accepted; /* MS_TLS_V* bits */
} versions_known;

/* What a hello offering the versions in offer, answered with the version
 * chosen (0: none, an alert), says. */
static void learn_versions(versions_known *k, unsigned offer, unsigned chosen)
{
    unsigned below = chosen ? chosen - 1 : 0; /* the bits under the chosen one */
    k->probed |= offer & ~below;              /* the chosen one and those refused */
    k->accepted |= chosen;
}

typedef struct version_probe {
    port_job *job;
    unsigned offer;
    unsigned chosen;
    int ran;         /* the port was brought to the handshake */
    int turned_away; /* refused in the greeting: see retry_pause */
    ms_task task;
} version_probe;

/* One probe offering the versions in offer; ran stays 0 when the port
 * could not be brought to the handshake (the versions stay unknown). */
static void *run_version_probe(void *arg)
{
    version_probe *p = arg;
    tls_conn c;
    if (!open_conn(p->job, &c, 0))
        return NULL;
    dialog_result d;
    p->ran = dialog_to_tls(&c, p->job->result->mode, 0, &d);
    p->turned_away = d.failed_diag == T_GREETING_REFUSED;
    if (p->ran) {
        tls_offer offer = {.versions = p->offer};
        p->chosen = conn_probe_hello(&c, p->job->ssl_ctx, p->job->servername, &offer).version;
    }
    free(d.greeting);
    conn_close(&c);
    return NULL;
}

/* A probe in the port's thread, tried again when turned away. */
static void probe_alone(port_job *job, unsigned offer, version_probe *p)
{
    unsigned attempt = 0;
    do {
        *p = (version_probe){.job = job, .offer = offer};
        run_version_probe(p);
    } while (p->turned_away && retry_pause(attempt++));
}

/* Everything a port's thread starts next to its main session. */
typedef struct side_tests {
    injection_test injection;
    version_probe early[2]; /* 1.0-1.2 and 1.0-1.1 */
    size_t early_count;     /* those started */
} side_tests;

static void start_side_tests(port_job *job, side_tests *s)
{
    *s = (side_tests){.injection = {.job = job}};
    if (!job->opts->skip_injection && job->result->mode != MS_TLS_IMPLICIT)
        s->injection.started = ms_task_try(&s->injection.task, run_injection_test, &s->injection);
    if (job->opts->skip_versions)
        return;
    static const unsigned EARLY[] = {MS_TLS_V1_0 | MS_TLS_V1_1 | MS_TLS_V1_2, MS_TLS_V1_0 | MS_TLS_V1_1};
    for (size_t i = 0; i < sizeof EARLY / sizeof EARLY[0]; i++) {
        version_probe *p = &s->early[s->early_count];
        *p = (version_probe){.job = job, .offer = EARLY[i]};
        /* one that did not start is made up for later */
        s->early_count += (size_t)ms_task_try(&p->task, run_version_probe, p);
    }
}

/* After the main session: the early probes' answers, then one probe after
 * another for what is still unknown. */
static void find_versions(port_job *job, side_tests *s)
{
    ms_tls_port_result *r = job->result;
    versions_known k = {0};
    unsigned negotiated = r->versions_accepted;
    if (negotiated != 0)
        learn_versions(&k, ALL_VERSIONS, negotiated);
    for (size_t i = 0; i < s->early_count; i++)
        if (s->early[i].ran)
            learn_versions(&k, s->early[i].offer, s->early[i].chosen);
    for (unsigned unknown = ALL_VERSIONS & ~k.probed; unknown != 0; unknown = ALL_VERSIONS & ~k.probed) {
        version_probe p;
        probe_alone(job, unknown, &p);
        if (!p.ran)
            break;
        learn_versions(&k, p.offer, p.chosen);
    }
    r->versions_probed |= k.probed;
    r->versions_accepted |= k.accepted;
    unsigned old = r->versions_accepted & (MS_TLS_V1_0 | MS_TLS_V1_1);
    if (old)
        add(job, T_OLD_VERSION, "port %u accepts %s%s%s", r->port,
            old & MS_TLS_V1_0 ? "TLS 1.0" : "", old == (MS_TLS_V1_0 | MS_TLS_V1_1) ? " and " : "",
            old & MS_TLS_V1_1 ? "TLS 1.1" : "");
    if ((r->versions_probed & (MS_TLS_V1_2 | MS_TLS_V1_3)) == (MS_TLS_V1_2 | MS_TLS_V1_3) &&
        !(r->versions_accepted & (MS_TLS_V1_2 | MS_TLS_V1_3)))
        add(job, T_NO_MODERN_VERSION, "port %u accepts neither TLS 1.2 nor TLS 1.3", r->port);
    if ((r->versions_probed & MS_TLS_V1_3) && !(r->versions_accepted & MS_TLS_V1_3))
        add(job, T_NO_TLS13, "port %u does not accept TLS 1.3", r->port);
}

/* A new connection of the port brought to the handshake, tried again
 * when turned away (tls_target.open, for the cipher enumeration). */
static int conn_ready(void *arg, tls_conn *c)
{
    port_job *job = arg;
    for (unsigned attempt = 0;; attempt++) {
        if (!open_conn(job, c, 0))
            return 0;
        dialog_result d;
        int ready = dialog_to_tls(c, job->result->mode, 0, &d);
        free(d.greeting);
        if (ready)
            return 1;
        conn_close(c);
        if (d.failed_diag != T_GREETING_REFUSED || !retry_pause(attempt))
            return 0;
    }
}

/* Whether the enumeration found the suite the main session negotiated. */
static int enumerated(const ms_tls_port_result *r, const SSL_CIPHER *cipher)
{
    for (size_t v = 0; v < r->cipher_versions; v++)
        for (size_t i = 0; i < r->ciphers[v].count; i++)
            if (r->ciphers[v].ciphers[i].id == SSL_CIPHER_get_protocol_id(cipher))
                return 1;
    return 0;
}

/* 4: the suites of every version accepted (ciphers.c), once the versions
 * are known. */
static void find_ciphers(port_job *job)
{
    ms_tls_port_result *r = job->result;
    if (job->opts->ciphers && !job->opts->skip_versions && r->versions_accepted != 0) {
        tls_target t = {conn_ready, job, job->ssl_ctx, job->servername, &job->out_of_memory};
        tls_enumerate_ciphers(&t, r->versions_accepted, r);
        if (tls_cipher_findings(r, job->location) != MS_OK)
            out_of_memory(job);
    }
    if (job->negotiated != NULL && !enumerated(r, job->negotiated))
        negotiated_cipher_findings(job);
}

static void join_side_tests(side_tests *s)
{
    ms_task_join(&s->injection.task);
    for (size_t i = 0; i < s->early_count; i++)
        ms_task_join(&s->early[i].task);
}

/* Reports on the side tests when the main session set up TLS (otherwise
 * the port's result says why not, and what they found means nothing). An
 * injection test that did not start, or was turned away, runs alone. */
static void finish_side_tests(port_job *job, side_tests *s, int tls_up)
{
    join_side_tests(s);
    if (!tls_up)
        return;
    if (!job->opts->skip_injection && job->result->mode != MS_TLS_IMPLICIT) {
        injection_test *t = &s->injection;
        if (!t->started)
            run_injection_test(t);
        for (unsigned attempt = 0; t->turned_away && retry_pause(attempt); attempt++)
            run_injection_test(t);
        report_injection(job, t->outcome);
    }
    if (!job->opts->skip_versions)
        find_versions(job, s);
    find_ciphers(job);
}

/* The main session turned away while the side tests held connections:
 * tried again alone, forgetting the refusal each time. */
static int main_session_alone_again(port_job *job, side_tests *s)
{
    ms_tls_port_result *r = job->result;
    int side_tests_ran = s->injection.started || s->early_count > 0;
    if (!side_tests_ran)
        return 0;
    join_side_tests(s);
    for (unsigned attempt = 0;
         ms_diag_has(&r->diags, "tls.greeting-refused") && retry_pause(attempt); attempt++) {
        ms_diag_list_free(&r->diags);
        free(r->greeting);
        r->greeting = NULL;
        if (main_session(job))
            return 1;
    }
    return 0;
}

static void check_chain(port_job *job)
{
    ms_tls_port_result *r = job->result;
    if (job->peer_count == 0)
        return;
    ms_cert_check_opts copts = {
        .host = job->cert_host,
        .ca_file = job->opts->ca_file,
        .days_warning = job->opts->days_warning,
        .location = job->location,
    };
    if (cert_check_parsed_chain(job->ctx, job->peer, job->peer_count, trust_get(job->trust), &copts,
                                &r->cert, &r->diags) == MS_ERR_NOMEM)
        out_of_memory(job);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* A server that closes early makes TLS writes raise SIGPIPE, which would
 * kill the caller's process. The library must not change the process's
 * signal handling, so each port's thread blocks SIGPIPE for itself and
 * drops any that became pending before it ends. */
static void block_sigpipe(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

static void drop_sigpipe(const sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&set, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void *run_port(void *arg)
{
    port_job *job = arg;
    sigset_t old;
    block_sigpipe(&old);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    side_tests side;
    start_side_tests(job, &side);
    int tls_up = main_session(job) || main_session_alone_again(job, &side);
    if (tls_up)
        check_chain(job);
    finish_side_tests(job, &side, tls_up);
    job->result->seconds = seconds_since(&start);
    drop_sigpipe(&old);
    return NULL;
}

/* ---- the whole host ---- */

static void port_result_free(ms_tls_port_result *r)
{
    free(r->address);
    free(r->greeting);
    free(r->version);
    free(r->cipher);
    free(r->group);
    free(r->signature);
    tls_cipher_results_free(r);
    for (size_t i = 0; i < r->chain_count; i++)
        OPENSSL_free(r->chain_der[i]);
    free(r->chain_der);
    free(r->chain_len);
    if (r->chain_count > 0)
        ms_cert_chain_info_free(&r->cert);
    ms_diag_list_free(&r->diags);
}

void ms_tls_check_result_free(ms_tls_check_result *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->count; i++)
        port_result_free(&result->ports[i]);
    free(result->ports);
    free(result->host);
    free(result->servername);
    free(result->mtasts.domain);
    free(result->mtasts.id);
    free(result->mtasts.mx_host);
    ms_audit_mtasts_policy_free(result->mtasts.policy);
    ms_diag_list_free(&result->diags);
    free(result);
}

static ms_status same_certificate(ms_tls_check_result *res)
{
    const ms_tls_port_result *first = NULL;
    size_t tls_ports = 0;
    res->same_certificate = 1;
    char differ[512] = "";
    for (size_t i = 0; i < res->count; i++) {
        const ms_tls_port_result *r = &res->ports[i];
        if (r->state != MS_TLS_PORT_TLS || r->chain_count == 0)
            continue;
        tls_ports++;
        if (first == NULL) {
            first = r;
            continue;
        }
        if (r->chain_len[0] != first->chain_len[0] ||
            memcmp(r->chain_der[0], first->chain_der[0], r->chain_len[0]) != 0) {
            res->same_certificate = 0;
            size_t used = strlen(differ);
            snprintf(differ + used, sizeof differ - used, "%s%u", used ? ", " : "", r->port);
        }
    }
    if (tls_ports < 2)
        res->same_certificate = -1;
    else if (!res->same_certificate)
        return ms_diag_add(&res->diags, &ms_tls_diag_defs[T_CERTIFICATES_DIFFER], res->host, -1,
                           "ports %s send another certificate than port %u", differ, first->port);
    return MS_OK;
}

/* A port that accepted a connection was checked, whatever it said then;
 * with none, nothing about the host is known. */
static ms_status count_open_ports(ms_tls_check_result *res)
{
    for (size_t i = 0; i < res->count; i++)
        if (res->ports[i].state == MS_TLS_PORT_TLS || res->ports[i].state == MS_TLS_PORT_NO_TLS)
            res->open_ports++;
    if (res->open_ports > 0)
        return MS_OK;
    const ms_diag_def *def = &ms_tls_diag_defs[T_NO_OPEN_PORT];
    size_t addresses = res->address_count ? res->address_count : 1;
    size_t ports = res->count / addresses;
    if (res->count == 1)
        return ms_diag_add(&res->diags, def, res->host, -1,
                           "port %u did not accept a connection: nothing was checked",
                           res->ports[0].port);
    if (addresses == 1)
        return ms_diag_add(&res->diags, def, res->host, -1,
                           "none of the %zu ports accepted a connection: nothing was checked",
                           ports);
    if (ports == 1)
        return ms_diag_add(&res->diags, def, res->host, -1,
                           "port %u accepted a connection on none of the %zu addresses: nothing "
                           "was checked",
                           res->ports[0].port, addresses);
    return ms_diag_add(&res->diags, def, res->host, -1,
                       "none of the %zu ports on %zu addresses accepted a connection: nothing was "
                       "checked",
                       ports, addresses);
}

/* With --dane: the TLSA lookup, in this thread while the ports are
 * checked, and what the matching needs after. */
typedef struct dane_lookup_result {
    ms_dns_answer *tlsa;
    char *qname;
    int found;  /* DNSSEC-signed records, to be matched */
    int failed; /* the lookup failed: it says nothing about the records */
    ms_status status; /* MS_ERR_NOMEM: memory ran out (the lookup, a finding) */
} dane_lookup_result;

/* The TLSA records of _25._tcp.NAME, or why there are none to use (a
 * finding on the host). */
static ms_status dane_lookup(ms_ctx *ctx, const char *name, ms_tls_check_result *res,
                             dane_lookup_result *d)
{
    if ((d->qname = ms_asprintf("_25._tcp.%s", name)) == NULL)
        return MS_ERR_NOMEM;
    ms_dns_answer *a = NULL;
    ms_status st = ms_dns_lookup(ctx, d->qname, MS_DNS_TLSA, &a);
    if (st == MS_ERR_NOMEM)
        return MS_ERR_NOMEM;
    const ms_diag_def *defs = ms_tls_diag_defs;
    if (st != MS_OK || ms_dns_answer_failed(a)) {
        d->failed = 1;
        st = ms_diag_add(&res->diags, &defs[T_DANE_LOOKUP_FAILED], d->qname, -1,
                         "TLSA lookup: %s%s%s", a ? ms_dns_rcode_str(a->rcode) : ms_status_str(st),
                         a && a->why_bogus ? ": " : "", a && a->why_bogus ? a->why_bogus : "");
    } else if (a->count == 0) {
        st = ms_diag_add(&res->diags, &defs[T_DANE_NO_RECORDS], d->qname, -1,
                         "no TLSA records (%s, %s)", ms_dns_rcode_str(a->rcode),
                         ms_dns_dnssec_state_str(a->dnssec));
    } else if (a->dnssec != MS_DNS_DNSSEC_SECURE) {
        st = ms_diag_add(&res->diags, &defs[T_DANE_INSECURE], d->qname, -1,
                         "%zu TLSA records, DNSSEC %s: not usable for DANE", a->count,
                         ms_dns_dnssec_state_str(a->dnssec));
    } else {
        d->tlsa = a;
        d->found = 1;
        return MS_OK;
    }
    ms_dns_answer_free(a);
    return st;
}

/* By usage, selector, matching type, then data. */
static int tlsa_order(const void *x, const void *y)
{
    const ms_tls_tlsa *a = x, *b = y;
    if (a->usage != b->usage)
        return a->usage < b->usage ? -1 : 1;
    if (a->selector != b->selector)
        return a->selector < b->selector ? -1 : 1;
    if (a->mtype != b->mtype)
        return a->mtype < b->mtype ? -1 : 1;
    int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);
    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

/* The records matched against each SMTP port's chain, in the order of
 * their values: resolvers rotate a record set, and the findings (which
 * record matched, in what order they are listed) must not change with it. */
static ms_status dane_match_ports(ms_tls_check_result *res, const ms_dns_answer *a, const char *qname,
                                  const char *name)
{
    ms_tls_tlsa *records = calloc(a->count, sizeof *records);
    if (records == NULL)
        return MS_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < a->count; i++)
        if (a->records[i].type == MS_DNS_TLSA &&
            ms_tls_tlsa_parse(a->records[i].rdata, a->records[i].rdata_len, &records[n]) == MS_OK)
            n++;
    qsort(records, n, sizeof *records, tlsa_order);
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < res->count; i++) {
        ms_tls_port_result *r = &res->ports[i];
        if (r->mode != MS_TLS_SMTP || r->state != MS_TLS_PORT_TLS)
            continue;
        char location[300];
        snprintf(location, sizeof location, "%s (port %u)", qname, r->port);
        st = ms_tls_dane_match(records, n, r->chain_der, r->chain_len, r->chain_count, name,
                               location, &r->diags, &r->dane);
    }
    free(records);
    return st;
}

/* The addresses a host stands for: the address itself when it is one,
 * else every A and AAAA record of the name, asked through lib/dns (the
 * context's resolver, trust anchor and DNSSEC): IPv4 first, each family
 * in numeric order, so that reports of the same host compare whatever
 * order the DNS answers in. */
typedef struct host_address {
    struct sockaddr_storage addr;
    socklen_t len;
    char text[INET6_ADDRSTRLEN];
} host_address;

typedef struct host_addresses {
    host_address a[MS_TLS_MAX_ADDRESSES];
    size_t count;
    int literal;   /* host is an address */
    int out_of_memory; /* the lookup ran out of memory: the check says MS_ERR_NOMEM */
    ms_dns_dnssec_state dnssec; /* a name: insecure when an A or AAAA answer is (failures aside) */
    char why[300]; /* with no address: why, in words */
} host_addresses;

/* Adds the address in presentation form; 0 when it is not one. */
static int add_address(host_addresses *h, const char *text)
{
    if (h->count == MS_TLS_MAX_ADDRESSES)
        return 1;
    host_address *a = &h->a[h->count];
    memset(a, 0, sizeof *a);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->addr;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        a->len = sizeof *v4;
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        a->len = sizeof *v6;
    } else {
        return 0;
    }
    snprintf(a->text, sizeof a->text, "%s", text);
    h->count++;
    return 1;
}

/* IPv4 before IPv6, then by the address's bytes. */
static int address_order(const void *x, const void *y)
{
    const host_address *a = x, *b = y;
    if (a->addr.ss_family != b->addr.ss_family)
        return a->addr.ss_family == AF_INET ? -1 : 1;
    if (a->addr.ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)&a->addr)->sin_addr,
                      &((const struct sockaddr_in *)&b->addr)->sin_addr, 4);
    return memcmp(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr,
                  &((const struct sockaddr_in6 *)&b->addr)->sin6_addr, 16);
}

/* The A and AAAA records of name, asked at once. A lookup that failed
 * says why only when the other found no address either. */
static void resolve_name(ms_ctx *ctx, const char *name, host_addresses *h)
{
    static const uint16_t TYPES[] = {MS_DNS_A, MS_DNS_AAAA};
    ms_dns_batch *batch = NULL;
    size_t index[2];
    ms_status st = ms_dns_batch_new(ctx, &batch);
    for (size_t i = 0; i < 2 && st == MS_OK; i++)
        st = ms_dns_batch_add(batch, name, TYPES[i], &index[i]);
    if (st == MS_OK)
        st = ms_dns_batch_wait(batch);
    if (st != MS_OK) {
        h->out_of_memory = st == MS_ERR_NOMEM;
        snprintf(h->why, sizeof h->why, "the address lookup failed: %s", ms_status_str(st));
        ms_dns_batch_free(batch);
        return;
    }
    h->dnssec = MS_DNS_DNSSEC_SECURE;
    for (size_t i = 0; i < 2; i++) {
        const ms_dns_answer *a = ms_dns_batch_answer(batch, index[i]);
        /* insecure beats secure; a failed lookup (bogus too) is said as a
         * failure, not judged here */
        if (!ms_dns_answer_failed(a) && a->dnssec != MS_DNS_DNSSEC_SECURE)
            h->dnssec = MS_DNS_DNSSEC_INSECURE;
        if (ms_dns_answer_failed(a)) {
            char *reason = ms_dns_failure_reason(ctx, a);
            if (reason == NULL)
                h->out_of_memory = 1;
            snprintf(h->why, sizeof h->why, "the address lookup failed: %s",
                     reason ? reason : "no answer");
            free(reason);
            continue;
        }
        for (size_t k = 0; k < a->count; k++)
            if (a->records[k].type == TYPES[i] && a->records[k].text)
                add_address(h, a->records[k].text);
    }
    ms_dns_batch_free(batch);
    qsort(h->a, h->count, sizeof h->a[0], address_order);
    if (h->count == 0 && h->why[0] == '\0')
        snprintf(h->why, sizeof h->why, "no address (no A or AAAA record)");
}

static void resolve_host(ms_ctx *ctx, const char *host, host_addresses *h)
{
    memset(h, 0, sizeof *h);
    h->literal = add_address(h, host);
    if (!h->literal)
        resolve_name(ctx, host, h);
}

static void set_port(struct sockaddr_storage *addr, uint16_t port)
{
    if (addr->ss_family == AF_INET)
        ((struct sockaddr_in *)addr)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)addr)->sin6_port = htons(port);
}

/* Fills in each job: every port on every address, address by address
 * (so the first count results are the first address's, in the order of
 * ports); one cloned context per job. Without an address, one result per
 * port says why. */
static ms_status prepare_jobs(ms_ctx *ctx, ms_tls_check_result *res, const ms_tls_port *ports,
                              size_t count, int named, const host_addresses *h,
                              const ms_tls_check_opts *opts, SSL_CTX *ssl_ctx, shared_trust *trust,
                              port_job *jobs, struct sockaddr_storage *addrs)
{
    const char *name = opts->servername ? opts->servername : res->host;
    for (size_t i = 0; i < res->count; i++) {
        ms_tls_port_result *r = &res->ports[i];
        port_job *job = &jobs[i];
        size_t address = i / count;
        r->port = ports[i % count].port;
        r->mode = ports[i % count].mode;
        r->mtasts_cert_valid = -1;
        r->address = strdup(h->count ? h->a[address].text : "");
        if (r->address == NULL)
            return MS_ERR_NOMEM;
        job->result = r;
        job->opts = opts;
        job->named = named;
        job->ssl_ctx = ssl_ctx;
        job->trust = trust;
        job->servername = name;
        job->cert_host = name;
        job->timeout_ms = opts->timeout_ms ? opts->timeout_ms : MS_TLS_TIMEOUT_MS;
        if (h->literal || h->count == 0)
            snprintf(job->location, sizeof job->location, "%s:%u", res->host, r->port);
        else
            snprintf(job->location, sizeof job->location, "%s[%s]:%u", res->host,
                     h->a[address].text, r->port);
        if (h->count == 0) {
            r->state = MS_TLS_PORT_UNREACHABLE;
            add(job, T_UNREACHABLE, "%s", h->why);
            continue;
        }
        addrs[i] = h->a[address].addr;
        set_port(&addrs[i], r->port);
        job->addr = &addrs[i];
        job->addr_len = h->a[address].len;
        if (ms_ctx_clone(ctx, &job->ctx) != MS_OK)
            return MS_ERR_NOMEM;
    }
    return MS_OK;
}

/* One thread per port (in this thread when no thread can be had). */
static void start_jobs(port_job *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (jobs[i].ctx == NULL)
            continue;
        ms_task_run(&jobs[i].task, run_port, &jobs[i]);
    }
}

/* Whether memory ran out in any port's check (once they are finished). */
static int jobs_out_of_memory(port_job *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (atomic_load(&jobs[i].out_of_memory))
            return 1;
    return 0;
}

static void finish_jobs(port_job *jobs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ms_task_join(&jobs[i].task);
        ms_ctx_free(jobs[i].ctx);
        jobs[i].ctx = NULL;
        for (size_t k = 0; k < jobs[i].peer_count; k++)
            X509_free(jobs[i].peer[k]);
        jobs[i].peer_count = 0;
    }
}

/* RFC 7672 2.2.2: a sender uses TLSA records only when the MX host's
 * address records are DNSSEC-secure too; else it does not even look them
 * up. A host given as an address has no address records to judge (the
 * caller vouches for it). */
static ms_status lookup_dane(ms_ctx *ctx, ms_tls_check_result *res, const char *name,
                             const host_addresses *h, dane_lookup_result *d)
{
    ms_status st = dane_lookup(ctx, name, res, d);
    if (st != MS_OK || !d->found || h->literal || h->count == 0 || h->dnssec == MS_DNS_DNSSEC_SECURE)
        return st;
    d->found = 0;
    return ms_diag_add(&res->diags, &ms_tls_diag_defs[T_DANE_ADDRESS_INSECURE], res->host, -1,
                       "%zu DNSSEC-signed TLSA record%s at %s, but the address records of %s are "
                       "%s: senders do not use DANE for this host",
                       d->tlsa->count, d->tlsa->count == 1 ? "" : "s", d->qname, res->host,
                       ms_dns_dnssec_state_str(h->dnssec));
}

/* The matching needs the chains: after the ports are done. */
static ms_status match_dane(ms_tls_check_result *res, const char *name, dane_lookup_result *d)
{
    ms_status st = d->status;
    if (st == MS_OK && d->found)
        st = dane_match_ports(res, d->tlsa, d->qname, name);
    else if (st == MS_OK && !d->failed)
        for (size_t i = 0; i < res->count; i++)
            if (res->ports[i].mode == MS_TLS_SMTP && res->ports[i].state == MS_TLS_PORT_TLS)
                res->ports[i].dane = MS_TLS_DANE_NO_RECORDS;
    ms_dns_answer_free(d->tlsa);
    free(d->qname);
    return st;
}

ms_status ms_tls_check(ms_ctx *ctx, const char *host, const ms_tls_port *ports, size_t count,
                       const ms_tls_check_opts *opts, ms_tls_check_result **out)
{
    static const ms_tls_check_opts DEFAULTS = {0};
    *out = NULL;
    if (host == NULL || *host == '\0' || count > MS_TLS_MAX_PORTS)
        return MS_ERR_INVALID;
    if (opts == NULL)
        opts = &DEFAULTS;
    ms_tls_port defaults[MS_TLS_DEFAULT_PORT_COUNT];
    int named = count > 0;
    if (count == 0) {
        for (size_t i = 0; i < MS_TLS_DEFAULT_PORT_COUNT; i++) {
            defaults[i].port = ms_tls_default_ports[i];
            defaults[i].mode = (ms_tls_mode)ms_tls_default_mode(ms_tls_default_ports[i]);
        }
        ports = defaults;
        count = MS_TLS_DEFAULT_PORT_COUNT;
    }
    host_addresses *h = malloc(sizeof *h);
    if (h == NULL)
        return MS_ERR_NOMEM;
    resolve_host(ctx, host, h);
    const char *name = opts->servername ? opts->servername : host;
    dane_lookup_result dane = {0};
    size_t total = count * (h->count ? h->count : 1);
    ms_tls_check_result *res = calloc(1, sizeof *res);
    port_job *jobs = calloc(total, sizeof *jobs);
    struct sockaddr_storage *addrs = calloc(total, sizeof *addrs);
    SSL_CTX *ssl_ctx = conn_client_ctx();
    shared_trust trust = {.lock = PTHREAD_MUTEX_INITIALIZER, .ca_file = opts->ca_file};
    ms_status st = MS_ERR_NOMEM;
    if (!h->out_of_memory && res && jobs && addrs && ssl_ctx && (res->ports = calloc(total, sizeof *res->ports)) != NULL &&
        (res->host = strdup(host)) != NULL) {
        res->count = total;
        res->address_count = h->count;
        res->servername = opts->servername ? strdup(opts->servername) : NULL;
        st = opts->servername && !res->servername ? MS_ERR_NOMEM : MS_OK;
        if (st == MS_OK)
            st = prepare_jobs(ctx, res, ports, count, named, h, opts, ssl_ctx, &trust, jobs, addrs);
    }
    if (st != MS_OK) {
        free(h);
        if (jobs && res)
            finish_jobs(jobs, res->count);
        SSL_CTX_free(ssl_ctx);
        free(jobs);
        free(addrs);
        ms_tls_check_result_free(res);
        return st;
    }
    /* the DNS and HTTPS lookups run here while the ports are checked */
    start_jobs(jobs, res->count);
    if (opts->dane)
        dane.status = lookup_dane(ctx, res, name, h, &dane);
    free(h);
    ms_status mtasts = opts->mta_sts ? tls_mtasts_lookup(ctx, opts->mta_sts, res) : MS_OK;
    finish_jobs(jobs, res->count);
    SSL_CTX_free(ssl_ctx);
    X509_STORE_free(trust.store);
    pthread_mutex_destroy(&trust.lock);
    ms_status dane_st = opts->dane ? match_dane(res, name, &dane) : MS_OK;
    st = jobs_out_of_memory(jobs, res->count) ? MS_ERR_NOMEM : mtasts;
    if (st == MS_OK)
        st = dane_st;
    if (st == MS_OK && opts->mta_sts)
        st = tls_mtasts_match(res, name);
    if (st == MS_OK)
        st = same_certificate(res);
    if (st == MS_OK)
        st = count_open_ports(res);
    free(jobs);
    free(addrs);
    if (st != MS_OK) {
        ms_tls_check_result_free(res);
        return st;
    }
    *out = res;
    return MS_OK;
}
