/* mdrive: drives milters over the Sendmail milter protocol (version 6) the
 * way Postfix's smtpd and cleanup do, and measures them. A benchmark tool
 * (bench/milter/run.sh compiles it with cc), not part of mailsec.
 *
 *   mdrive [options] MESSAGE MILTER...
 *
 * MILTER is inet:PORT@ADDR (IPv4) or unix:/PATH; several make a chain, asked
 * in order as Postfix asks its smtpd_milters. Per message, as Postfix does
 * for an SMTP session that sends one message (smtpd opens a new connection
 * to each milter per SMTP session):
 *   for each milter: connect, OPTNEG (version 6, every action and protocol
 *   step offered), then stage by stage CONNECT, HELO, MAIL, RCPT, DATA, each
 *   preceded by the macros Postfix sends by default (milter_*_macros) and
 *   each milter's reply read unless it asked for none (SMFIP_NR_*);
 *   the content, milter after milter (Postfix's cleanup sends the queue file
 *   to each in turn, with the changes of the ones before it applied):
 *   HEADERs (Postfix's own Received field withheld, as Postfix does; leading
 *   space as negotiated), EOH, BODY in CRLF chunks of at most 65535 bytes,
 *   EOM, then every modification reply (add/insert/change header,
 *   quarantine, ...) until the final one (accept, continue, reject,
 *   tempfail, discard, replycode);
 *   then ABORT and QUIT to each (what Postfix sends after the message and at
 *   the end of the session), and the connections are closed.
 * With -m N, N messages share one connection per milter (ABORT between
 * them, as Postfix does for several messages in one SMTP session).
 *
 * A milter that rejects or tempfails ends the message: the later milters
 * are not asked (Postfix's behaviour). Every reply is checked: a protocol
 * error, a timeout (-t) or an unexpected reply counts the message failed.
 *
 * Prints one JSON line: messages, failures, seconds, messages/s, latency
 * percentiles (ms, from the first connect to the last final reply of the
 * chain), the final replies and the modifications counted. -o FILE writes
 * the first message as the last milter left it (headers, then body). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_MILTERS 4
#define MAX_HEADERS 256
#define MAX_REPLY (1 << 20)     /* larger reply packets are a protocol error */
#define CHUNK 65535             /* MILTER_CHUNK_SIZE */

/* protocol constants (libmilter's mfdef.h) */
#define ACTIONS_ALL 0x1FFu      /* every SMFIF_ action Postfix offers */
#define PROTO_ALL 0x1FFFFFu     /* every SMFIP_ step/no-reply bit of version 6 */
enum {
    P_NOCONNECT = 0x1, P_NOHELO = 0x2, P_NOMAIL = 0x4, P_NORCPT = 0x8, P_NOBODY = 0x10,
    P_NOHDRS = 0x20, P_NOEOH = 0x40, P_NR_HDR = 0x80, P_NODATA = 0x200, P_NR_CONN = 0x1000,
    P_NR_HELO = 0x2000, P_NR_MAIL = 0x4000, P_NR_RCPT = 0x8000, P_NR_DATA = 0x10000,
    P_NR_EOH = 0x40000, P_NR_BODY = 0x80000, P_HDR_LEADSPC = 0x100000,
};

typedef struct header {
    char *name;
    char *value;   /* without the one space after the colon; folded lines joined by \n */
} header;

typedef struct message {
    header h[MAX_HEADERS];
    size_t count;
    char *body;    /* CRLF line ends */
    size_t body_len;
} message;

typedef struct milter_conn {
    int fd;
    uint32_t mask;     /* the protocol bits the milter chose */
    int accepted;      /* replied accept: no more events for this message */
    int accepted_conn; /* accepted at CONNECT or HELO: none for the connection */
} milter_conn;

/* what the run counts (under stats_lock) */
enum { R_ACCEPT, R_CONTINUE, R_REJECT, R_TEMPFAIL, R_DISCARD, R_REPLYCODE, R_N };
static const char *const reply_names[R_N] = {"accept", "continue", "reject", "tempfail", "discard", "replycode"};
enum { A_ADDHEADER, A_INSHEADER, A_CHGHEADER, A_QUARANTINE, A_OTHER, A_N };
static const char *const action_names[A_N] = {"addheader", "insheader", "chgheader", "quarantine", "other"};

static struct {
    const char *milters[MAX_MILTERS];
    size_t milter_count;
    const char *client_ip, *helo, *mail_from, *rcpt, *check_file;
    long count, per_conn;
    int concurrency, timeout;
    message template;
} cfg = {.client_ip = "127.0.0.1", .helo = "client.bench.example", .mail_from = "sender@dkimtest.example",
         .rcpt = "rcpt@bench.invalid", .count = 1000, .per_conn = 1, .concurrency = 10, .timeout = 60};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long next_message;
static double *latencies;
static long done, failed;
static long replies[R_N], actions[A_N];
static atomic_int check_written;

static void die(const char *what)
{
    fprintf(stderr, "mdrive: %s\n", what);
    exit(2);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the message ---- */

static char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        die("out of memory");
    return p;
}

/* Reads an RFC 5322 message (LF or CRLF) into header fields and a CRLF body. */
static void load_message(const char *path, message *m)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die("cannot open the message");
    static char raw[4 << 20];
    size_t len = fread(raw, 1, sizeof raw - 1, f);
    if (!feof(f))
        die("the message is over 4 MiB");
    fclose(f);
    raw[len] = 0;
    char *p = raw, *end = raw + len;
    while (p < end) {
        char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t line = eol ? (size_t)(eol - p) : (size_t)(end - p);
        size_t text = line > 0 && p[line - 1] == '\r' ? line - 1 : line;
        char *next = eol ? eol + 1 : end;
        if (text == 0) {            /* the blank line: the body follows */
            p = next;
            break;
        }
        if (p[0] == ' ' || p[0] == '\t') {  /* a folded line: joined with \n */
            if (m->count == 0)
                die("the message starts with a continuation line");
            header *h = &m->h[m->count - 1];
            size_t old = strlen(h->value);
            h->value = realloc(h->value, old + 1 + text + 1);
            if (h->value == NULL)
                die("out of memory");
            h->value[old] = '\n';
            memcpy(h->value + old + 1, p, text);
            h->value[old + 1 + text] = 0;
        } else {
            char *colon = memchr(p, ':', text);
            if (colon == NULL || m->count == MAX_HEADERS)
                die("a header line without a colon, or too many fields");
            char *v = colon + 1;
            if (v < p + text && *v == ' ')
                v++;
            m->h[m->count].name = xstrndup(p, (size_t)(colon - p));
            m->h[m->count].value = xstrndup(v, (size_t)(p + text - v));
            m->count++;
        }
        p = next;
    }
    /* the body with CRLF line ends, as Postfix sends it */
    m->body = malloc(2 * (size_t)(end - p) + 3);
    if (m->body == NULL)
        die("out of memory");
    size_t n = 0;
    for (; p < end; p++) {
        if (*p == '\n' && (n == 0 || m->body[n - 1] != '\r'))
            m->body[n++] = '\r';
        m->body[n++] = *p;
    }
    m->body_len = n;
}

static void copy_headers(const message *src, message *dst)
{
    dst->count = src->count;
    for (size_t i = 0; i < src->count; i++) {
        dst->h[i].name = xstrndup(src->h[i].name, strlen(src->h[i].name));
        dst->h[i].value = xstrndup(src->h[i].value, strlen(src->h[i].value));
    }
    dst->body = src->body;
    dst->body_len = src->body_len;
}

static void free_headers(message *m)
{
    for (size_t i = 0; i < m->count; i++) {
        free(m->h[i].name);
        free(m->h[i].value);
    }
    m->count = 0;
}

/* A value as the milter sent it: without the leading space Postfix adds
 * itself when the milter did not negotiate SMFIP_HDR_LEADSPC. */
static char *stored_value(const milter_conn *c, const char *v)
{
    if ((c->mask & P_HDR_LEADSPC) && v[0] == ' ')
        v++;
    return xstrndup(v, strlen(v));
}

/* SMFIR_INSHEADER: index 0 is the top of the fields the milters see (the
 * model leaves out Postfix's own Received field, which no milter sees). */
static void insert_header(message *m, const milter_conn *c, uint32_t index, const char *name, const char *v)
{
    if (m->count == MAX_HEADERS)
        return;
    size_t at = index > m->count ? m->count : index;
    memmove(&m->h[at + 1], &m->h[at], (m->count - at) * sizeof m->h[0]);
    m->h[at].name = xstrndup(name, strlen(name));
    m->h[at].value = stored_value(c, v);
    m->count++;
}

/* SMFIR_CHGHEADER: the index-th (from 1) field of that name; an empty value deletes it */
static void change_header(message *m, const milter_conn *c, uint32_t index, const char *name, const char *v)
{
    uint32_t seen = 0;
    if (index == 0)
        index = 1;
    for (size_t i = 0; i < m->count; i++) {
        if (strcasecmp(m->h[i].name, name) != 0 || ++seen != index)
            continue;
        free(m->h[i].value);
        if (v[0] == 0) {
            free(m->h[i].name);
            memmove(&m->h[i], &m->h[i + 1], (m->count - i - 1) * sizeof m->h[0]);
            m->count--;
        } else {
            m->h[i].value = stored_value(c, v);
        }
        return;
    }
}

/* ---- the wire ---- */

enum direction { TO_PEER, FROM_PEER };

/* All len bytes of buf sent to the peer or received from it, through the
 * interruptions and short counts a socket allows: 0, or -1 when the
 * connection fails or closes first. */
static int transfer_all(int fd, char *buf, size_t len, enum direction dir)
{
    while (len > 0) {
        ssize_t n = dir == TO_PEER ? send(fd, buf, len, MSG_NOSIGNAL) : recv(fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    return transfer_all(fd, (char *)buf, len, TO_PEER); /* send() only reads buf */
}

static int read_all(int fd, void *buf, size_t len)
{
    return transfer_all(fd, buf, len, FROM_PEER);
}

/* one packet: 4-byte length (command included), the command, the data */
static int send_packet(int fd, char cmd, const void *data, size_t len)
{
    unsigned char head[5];
    uint32_t n = htonl((uint32_t)len + 1);
    memcpy(head, &n, 4);
    head[4] = (unsigned char)cmd;
    if (len == 0)
        return write_all(fd, head, 5);
    if (len + 5 <= 4096) {      /* small packets in one write */
        char buf[4096];
        memcpy(buf, head, 5);
        memcpy(buf + 5, data, len);
        return write_all(fd, buf, len + 5);
    }
    return write_all(fd, head, 5) == 0 ? write_all(fd, data, len) : -1;
}

/* a reply packet into buf (MAX_REPLY bytes); its command, -1 on error */
static int read_packet(int fd, char *buf, uint32_t *len)
{
    uint32_t n;
    if (read_all(fd, &n, 4) != 0)
        return -1;
    n = ntohl(n);
    if (n < 1 || n > MAX_REPLY)
        return -1;
    unsigned char cmd;
    if (read_all(fd, &cmd, 1) != 0 || read_all(fd, buf, n - 1) != 0)
        return -1;
    buf[n - 1] = 0;     /* buf has room: MAX_REPLY + 1 */
    *len = n - 1;
    return cmd;
}

/* appends "s\0" to a packet being built */
static size_t put(char *buf, size_t at, size_t cap, const char *s)
{
    size_t n = strlen(s) + 1;
    if (at + n > cap)
        die("a packet grew over its buffer");
    memcpy(buf + at, s, n);
    return at + n;
}

/* SMFIC_MACRO for stage STAGE: NAME, VALUE pairs ending with NULL */
static int send_macros(int fd, char stage, const char *const *pairs)
{
    char buf[2048];
    size_t n = 0;
    buf[n++] = stage;
    for (; pairs[0] != NULL; pairs += 2) {
        n = put(buf, n, sizeof buf, pairs[0]);
        n = put(buf, n, sizeof buf, pairs[1]);
    }
    return send_packet(fd, 'D', buf, n);
}

static int connect_milter(const char *spec)
{
    int fd;
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(spec + 5) >= sizeof sa.sun_path)
            return -1;
        strcpy(sa.sun_path, spec + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
            goto fail;
    } else if (strncmp(spec, "inet:", 5) == 0) {
        const char *at = strchr(spec, '@');
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(spec + 5))};
        if (at == NULL || inet_pton(AF_INET, at + 1, &sa.sin_addr) != 1)
            return -1;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
            goto fail;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    } else {
        return -1;
    }
    struct timeval tv = {.tv_sec = cfg.timeout};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* OPTNEG: what Postfix offers with milter_protocol = 6 */
static int negotiate(milter_conn *c, char *buf)
{
    uint32_t offer[3] = {htonl(6), htonl(ACTIONS_ALL), htonl(PROTO_ALL)};
    uint32_t len;
    if (send_packet(c->fd, 'O', offer, sizeof offer) != 0 || read_packet(c->fd, buf, &len) != 'O' || len < 12)
        return -1;
    uint32_t got[3];
    memcpy(got, buf, sizeof got);
    if (ntohl(got[0]) < 2 || ntohl(got[0]) > 6)
        return -1;
    c->mask = ntohl(got[2]);
    return 0;
}

/* ---- one exchange ---- */

typedef enum { GO_ON, STOP_OK, STOP_REFUSED, BROKEN } outcome;

static void count_reply(int r)
{
    pthread_mutex_lock(&stats_lock);
    replies[r]++;
    pthread_mutex_unlock(&stats_lock);
}

static void count_action(int a)
{
    pthread_mutex_lock(&stats_lock);
    actions[a]++;
    pthread_mutex_unlock(&stats_lock);
}

/* The reply to a step before EOM: continue goes on, accept ends the
 * milter's part in this message, a refusal ends the message. */
static outcome step_reply(milter_conn *c, char *buf, int *skip)
{
    uint32_t len;
    for (;;) {
        int cmd = read_packet(c->fd, buf, &len);
        switch (cmd) {
        case 'c': return GO_ON;
        case 'p': continue;                   /* progress: still working */
        case 's': if (skip) { *skip = 1; return GO_ON; } return BROKEN;
        case 'a': c->accepted = 1; count_reply(R_ACCEPT); return GO_ON;
        case 'r': count_reply(R_REJECT); return STOP_REFUSED;
        case 't': count_reply(R_TEMPFAIL); return STOP_REFUSED;
        case 'd': count_reply(R_DISCARD); return STOP_REFUSED;
        case 'y': count_reply(R_REPLYCODE); return STOP_REFUSED;
        default: return BROKEN;
        }
    }
}

/* sends a step (its macros first) and reads its reply unless the milter
 * asked for none */
static outcome step(milter_conn *c, char *buf, uint32_t skip_bit, uint32_t noreply_bit, char stage,
                    const char *const *macros, char cmd, const void *data, size_t len)
{
    if (c->accepted || (c->mask & skip_bit))
        return GO_ON;
    if (macros && macros[0] && send_macros(c->fd, stage, macros) != 0)
        return BROKEN;
    if (send_packet(c->fd, cmd, data, len) != 0)
        return BROKEN;
    return (c->mask & noreply_bit) ? GO_ON : step_reply(c, buf, NULL);
}

/* The EOM replies: modifications applied to m, until the final one. */
static outcome eom_replies(milter_conn *c, char *buf, message *m)
{
    uint32_t len;
    for (;;) {
        int cmd = read_packet(c->fd, buf, &len);
        uint32_t index = 0;
        if ((cmd == 'i' || cmd == 'm')) {
            if (len < 6)
                return BROKEN;
            memcpy(&index, buf, 4);
            index = ntohl(index);
        }
        const char *name = buf + (cmd == 'i' || cmd == 'm' ? 4 : 0);
        const char *value = name + strlen(name) + 1;
        if ((cmd == 'h' || cmd == 'i' || cmd == 'm') && value > buf + len)
            return BROKEN;
        switch (cmd) {
        case 'h': insert_header(m, c, (uint32_t)m->count, name, value); count_action(A_ADDHEADER); continue;
        case 'i': insert_header(m, c, index, name, value); count_action(A_INSHEADER); continue;
        case 'm': change_header(m, c, index, name, value); count_action(A_CHGHEADER); continue;
        case 'q': count_action(A_QUARANTINE); continue;
        case '+': case '-': case '2': case 'e': case 'b': count_action(A_OTHER); continue;
        case 'p': continue;
        case 'a': count_reply(R_ACCEPT); return STOP_OK;
        case 'c': count_reply(R_CONTINUE); return STOP_OK;
        case 'r': count_reply(R_REJECT); return STOP_REFUSED;
        case 't': count_reply(R_TEMPFAIL); return STOP_REFUSED;
        case 'd': count_reply(R_DISCARD); return STOP_REFUSED;
        case 'y': count_reply(R_REPLYCODE); return STOP_REFUSED;
        default: return BROKEN;
        }
    }
}

/* HEADERs, EOH, BODY chunks and EOM to one milter */
static outcome content(milter_conn *c, char *buf, message *m, const char *const *eoh_macros)
{
    if (c->accepted)
        return GO_ON;
    outcome o = GO_ON;
    static __thread char hdr[MAX_REPLY];
    for (size_t i = 0; i < m->count && o == GO_ON && !(c->mask & P_NOHDRS); i++) {
        size_t n = 0;
        n = put(hdr, n, sizeof hdr - 1, m->h[i].name);
        if (c->mask & P_HDR_LEADSPC)
            hdr[n++] = ' ';     /* put left room for it */
        n = put(hdr, n, sizeof hdr - 1, m->h[i].value);
        o = step(c, buf, 0, P_NR_HDR, 'L', eoh_macros, 'L', hdr, n);
    }
    if (o == GO_ON)
        o = step(c, buf, P_NOEOH, P_NR_EOH, 'N', eoh_macros, 'N', NULL, 0);
    int skip = 0;
    for (size_t at = 0; at < m->body_len && o == GO_ON && !skip && !c->accepted && !(c->mask & P_NOBODY);
         at += CHUNK) {
        size_t len = m->body_len - at < CHUNK ? m->body_len - at : CHUNK;
        if (send_macros(c->fd, 'B', eoh_macros) != 0 || send_packet(c->fd, 'B', m->body + at, len) != 0)
            return BROKEN;
        if (!(c->mask & P_NR_BODY))
            o = step_reply(c, buf, &skip);
    }
    if (o != GO_ON || c->accepted)
        return o;
    if (send_macros(c->fd, 'E', eoh_macros) != 0 || send_packet(c->fd, 'E', NULL, 0) != 0)
        return BROKEN;
    return eom_replies(c, buf, m);
}

static void write_check(const message *m)
{
    if (cfg.check_file == NULL || atomic_exchange(&check_written, 1))
        return;
    FILE *f = fopen(cfg.check_file, "wb");
    if (f == NULL)
        return;
    for (size_t i = 0; i < m->count; i++) {
        fprintf(f, "%s: ", m->h[i].name);
        for (const char *v = m->h[i].value; *v; v++)
            fputs(*v == '\n' ? "\r\n" : (char[]){*v, 0}, f);
        fputs("\r\n", f);
    }
    fputs("\r\n", f);
    fwrite(m->body, 1, m->body_len, f);
    fclose(f);
}

/* the envelope steps of one message, milter by milter per step */
static outcome envelope(milter_conn *mc, char *buf, const char *qid)
{
    char from[512], to[512];
    snprintf(from, sizeof from, "<%s>", cfg.mail_from);
    snprintf(to, sizeof to, "<%s>", cfg.rcpt);
    const char *const mail_macros[] = {"{mail_addr}", cfg.mail_from, "{mail_host}", strchr(cfg.mail_from, '@') + 1,
                                       "{mail_mailer}", "smtp", NULL};
    const char *const rcpt_macros[] = {"i", qid, "{rcpt_addr}", cfg.rcpt, "{rcpt_host}", strchr(cfg.rcpt, '@') + 1,
                                       "{rcpt_mailer}", "smtp", NULL};
    const char *const data_macros[] = {"i", qid, NULL};
    outcome o = GO_ON;
    for (size_t k = 0; k < cfg.milter_count && o == GO_ON; k++)
        o = step(&mc[k], buf, P_NOMAIL, P_NR_MAIL, 'M', mail_macros, 'M', from, strlen(from) + 1);
    for (size_t k = 0; k < cfg.milter_count && o == GO_ON; k++)
        o = step(&mc[k], buf, P_NORCPT, P_NR_RCPT, 'R', rcpt_macros, 'R', to, strlen(to) + 1);
    for (size_t k = 0; k < cfg.milter_count && o == GO_ON; k++)
        o = step(&mc[k], buf, P_NODATA, P_NR_DATA, 'T', data_macros, 'T', NULL, 0);
    return o;
}

/* a new connection to each milter: OPTNEG, CONNECT, HELO */
static outcome session(milter_conn *mc, char *buf)
{
    char conn[256];
    size_t n = 0;
    n = put(conn, n, sizeof conn, "client.bench.example");
    conn[n++] = '4';
    conn[n++] = 0x30;           /* client port 12345, network order */
    conn[n++] = 0x39;
    n = put(conn, n, sizeof conn, cfg.client_ip);
    char underscore[320];
    snprintf(underscore, sizeof underscore, "client.bench.example [%s]", cfg.client_ip);
    const char *const conn_macros[] = {"j", "mx.bench.example", "{daemon_name}", "smtpd", "{daemon_addr}",
                                       "127.0.0.1", "v", "Postfix 3.7", "_", underscore, NULL};
    outcome o = GO_ON;
    for (size_t k = 0; k < cfg.milter_count; k++) {
        mc[k] = (milter_conn){.fd = connect_milter(cfg.milters[k])};
        if (mc[k].fd < 0 || negotiate(&mc[k], buf) != 0)
            return BROKEN;
    }
    for (size_t k = 0; k < cfg.milter_count && o == GO_ON; k++)
        o = step(&mc[k], buf, P_NOCONNECT, P_NR_CONN, 'C', conn_macros, 'C', conn, n);
    for (size_t k = 0; k < cfg.milter_count && o == GO_ON; k++)
        o = step(&mc[k], buf, P_NOHELO, P_NR_HELO, 'H', NULL, 'H', cfg.helo, strlen(cfg.helo) + 1);
    for (size_t k = 0; k < cfg.milter_count; k++)
        mc[k].accepted_conn = mc[k].accepted;
    return o;
}

static void close_session(milter_conn *mc)
{
    for (size_t k = 0; k < cfg.milter_count; k++) {
        if (mc[k].fd < 0)
            continue;
        send_packet(mc[k].fd, 'Q', NULL, 0);
        close(mc[k].fd);
        mc[k].fd = -1;
    }
}

/* one message through the chain; 0 when every milter gave a final reply */
static int one_message(milter_conn *mc, char *buf, long number, int *need_session)
{
    char qid[32];
    snprintf(qid, sizeof qid, "B%09lX", number);
    const char *const eoh_macros[] = {"i", qid, NULL};
    outcome o = GO_ON;
    if (*need_session) {
        o = session(mc, buf);
        *need_session = 0;
    }
    if (o == GO_ON) {
        for (size_t k = 0; k < cfg.milter_count; k++)
            mc[k].accepted = mc[k].accepted_conn;
        o = envelope(mc, buf, qid);
    }
    message m = {0};
    copy_headers(&cfg.template, &m);
    for (size_t k = 0; k < cfg.milter_count && (o == GO_ON || o == STOP_OK); k++)
        o = content(&mc[k], buf, &m, eoh_macros);
    if (o == STOP_OK || o == GO_ON)
        write_check(&m);
    free_headers(&m);
    /* the end of the message (ABORT) for every milter, as Postfix's mail_reset */
    for (size_t k = 0; k < cfg.milter_count && o != BROKEN; k++)
        if (!mc[k].accepted_conn && send_packet(mc[k].fd, 'A', NULL, 0) != 0)
            o = BROKEN;
    if (o == BROKEN || o == STOP_REFUSED)
        *need_session = 1;      /* Postfix's session goes on, but a clean restart is simpler */
    return o == BROKEN ? -1 : 0;
}

static void *worker(void *arg)
{
    (void)arg;
    static __thread char buf[MAX_REPLY + 1];
    milter_conn mc[MAX_MILTERS];
    for (size_t k = 0; k < MAX_MILTERS; k++)
        mc[k].fd = -1;
    int need_session = 1;
    long in_session = 0;
    for (;;) {
        long number = atomic_fetch_add(&next_message, 1);
        if (number >= cfg.count)
            break;
        double start = now_ms();
        int rc = one_message(mc, buf, number, &need_session);
        if (++in_session >= cfg.per_conn || need_session) {
            close_session(mc);
            need_session = 1;
            in_session = 0;
        }
        double took = now_ms() - start;
        pthread_mutex_lock(&stats_lock);
        if (rc == 0)
            latencies[done++] = took;
        else
            failed++;
        pthread_mutex_unlock(&stats_lock);
    }
    close_session(mc);
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double p)
{
    if (done == 0)
        return 0;
    long i = (long)(done * p / 100);
    return latencies[i >= done ? done - 1 : i];
}

static void usage(void)
{
    fputs("usage: mdrive [-n COUNT] [-c CONCURRENCY] [-m MESSAGES_PER_CONNECTION] [-t TIMEOUT_S]\n"
          "              [-i CLIENT_IP] [-H HELO] [-f MAIL_FROM] [-r RCPT] [-o CHECK_FILE]\n"
          "              MESSAGE inet:PORT@ADDR|unix:/PATH...\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "n:c:m:t:i:H:f:r:o:")) != -1) {
        switch (opt) {
        case 'n': cfg.count = atol(optarg); break;
        case 'c': cfg.concurrency = atoi(optarg); break;
        case 'm': cfg.per_conn = atol(optarg); break;
        case 't': cfg.timeout = atoi(optarg); break;
        case 'i': cfg.client_ip = optarg; break;
        case 'H': cfg.helo = optarg; break;
        case 'f': cfg.mail_from = optarg; break;
        case 'r': cfg.rcpt = optarg; break;
        case 'o': cfg.check_file = optarg; break;
        default: usage();
        }
    }
    if (argc - optind < 2 || argc - optind - 1 > MAX_MILTERS || cfg.count < 1 || cfg.count > 10000000 ||
        cfg.concurrency < 1 || cfg.concurrency > 1000 || cfg.per_conn < 1 || cfg.timeout < 1 ||
        strchr(cfg.mail_from, '@') == NULL || strchr(cfg.rcpt, '@') == NULL)
        usage();
    load_message(argv[optind], &cfg.template);
    for (int i = optind + 1; i < argc; i++)
        cfg.milters[cfg.milter_count++] = argv[i];
    latencies = calloc((size_t)cfg.count, sizeof *latencies);
    pthread_t *threads = calloc((size_t)cfg.concurrency, sizeof *threads);
    if (latencies == NULL || threads == NULL)
        die("out of memory");
    double begin = now_ms();
    for (int i = 0; i < cfg.concurrency; i++)
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0)
            die("cannot start a thread");
    for (int i = 0; i < cfg.concurrency; i++)
        pthread_join(threads[i], NULL);
    double seconds = (now_ms() - begin) / 1e3;
    qsort(latencies, (size_t)done, sizeof *latencies, by_value);
    printf("{\"sent\": %ld, \"failed\": %ld, \"seconds\": %.2f, \"msgs_per_s\": %.1f, "
           "\"p50_ms\": %.2f, \"p90_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"replies\": {",
           done, failed, seconds, done / seconds, pct(50), pct(90), pct(99), pct(100));
    for (int r = 0; r < R_N; r++)
        printf("%s\"%s\": %ld", r ? ", " : "", reply_names[r], replies[r]);
    printf("}, \"actions\": {");
    for (int a = 0; a < A_N; a++)
        printf("%s\"%s\": %ld", a ? ", " : "", action_names[a], actions[a]);
    printf("}}\n");
    free(threads);
    free(latencies);
    free_headers(&cfg.template);
    free(cfg.template.body);
    return failed ? 1 : 0;
}
