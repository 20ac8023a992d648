/* Replacing a TXT RRset with an RFC 2136 dynamic update signed with TSIG
 * (RFC 8945). ldns builds, signs and parses the messages; this file decides
 * what to send and what the answer means. The old RRset travels as a
 * prerequisite, so the primary applies the update only when the name still
 * holds exactly what was read (docs/dmarc-publish.md).
 *
 * The exchange is one DNS message over TCP (RFC 7766), with one deadline
 * for connecting, sending and reading: a server that drips its answer is
 * cut off like one that says nothing. */
#include "dns_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/lazy_ldns.h"

enum {
    DEFAULT_TTL = 3600,
    TSIG_FUDGE = 300,       /* seconds of clock skew the primary may allow (RFC 8945 5.2.3) */
    TXT_STRING_MAX = 255,   /* octets in one character-string */
    MAX_VALUE = 4096,       /* octets of a value we agree to publish */
    MAX_EXPECT = 16,        /* records of an RRset given as read */
    TSIG_ERROR_RDF = 5      /* the Error field of TSIG RDATA, as ldns numbers its fields */
};

/* RFC 8945 TSIG error codes (in the TSIG record, not the header's RCODE). */
enum { TSIG_BADSIG = 16, TSIG_BADKEY = 17, TSIG_BADTIME = 18 };

const char *ms_dns_update_outcome_str(ms_dns_update_outcome outcome)
{
    switch (outcome) {
    case MS_DNS_UPDATE_APPLIED: return "applied";
    case MS_DNS_UPDATE_UNCHANGED: return "unchanged";
    case MS_DNS_UPDATE_DRY_RUN: return "dry-run";
    case MS_DNS_UPDATE_PREREQ_FAILED: return "prerequisite-failed";
    case MS_DNS_UPDATE_BAD_KEY: return "bad-key";
    case MS_DNS_UPDATE_REFUSED: return "refused";
    case MS_DNS_UPDATE_NO_ANSWER: return "no-answer";
    case MS_DNS_UPDATE_FAILED: return "failed";
    }
    return "failed";
}

void ms_dns_update_result_free(ms_dns_update_result *result)
{
    if (result == NULL)
        return;
    for (size_t i = 0; i < result->old_count; i++)
        free(result->old_values[i]);
    free(result->old_values);
    free(result->zone);
    free(result->update_text);
    free(result->message);
    memset(result, 0, sizeof *result);
}

/* ---- the primary's address ---- */

typedef struct server_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[80]; /* "ADDR port PORT", for messages */
    char host[64];
    unsigned port;
} server_addr;

/* "ADDR", "ADDR:PORT", "[ADDR6]:PORT" or a bare IPv6 address: numeric
 * only, so no lookup outside lib/dns's resolver decides where the key goes. */
static int parse_server(const char *server, server_addr *out)
{
    char host[64];
    const char *port = "53";
    size_t len = strlen(server);
    const char *colon = strchr(server, ':');
    if (server[0] == '[') {
        const char *close = strchr(server, ']');
        if (close == NULL || (size_t)(close - server - 1) >= sizeof host)
            return 0;
        memcpy(host, server + 1, (size_t)(close - server - 1));
        host[close - server - 1] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return 0;
    } else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
        if ((size_t)(colon - server) >= sizeof host)
            return 0;
        memcpy(host, server, (size_t)(colon - server));
        host[colon - server] = '\0';
        port = colon + 1;
    } else {
        if (len >= sizeof host)
            return 0;
        memcpy(host, server, len + 1);
    }
    char *end = NULL;
    errno = 0;
    unsigned long p = strtoul(port, &end, 10);
    if (port[0] < '0' || port[0] > '9' || *end != '\0' || errno != 0 || p == 0 || p > 65535)
        return 0;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
        return 0;
    memcpy(&out->ss, ai->ai_addr, ai->ai_addrlen);
    out->len = ai->ai_addrlen;
    freeaddrinfo(ai);
    memcpy(out->host, host, sizeof host);
    out->port = (unsigned)p;
    snprintf(out->text, sizeof out->text, "%s port %lu", host, p);
    return 1;
}

/* ---- one exchange over TCP, under one deadline ---- */

/* 1 ready, 0 deadline passed, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - ms_monotonic_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int send_all(int fd, const uint8_t *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 1)
                return 0;
        } else {
            return 0;
        }
    }
    return 1;
}

static int recv_all(int fd, uint8_t *data, size_t len, int64_t deadline)
{
    while (len > 0) {
        ssize_t n = recv(fd, data, len, 0);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (wait_fd(fd, POLLIN, deadline) != 1)
                return 0;
        } else {
            return 0; /* closed before the whole message came */
        }
    }
    return 1;
}

/* A connected socket, or -1 with *err (an errno; ETIMEDOUT at the deadline). */
static int connect_by(const server_addr *srv, int64_t deadline, int *err)
{
    int fd = socket(srv->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) == 0)
        return fd;
    *err = errno;
    if (*err == EINPROGRESS) {
        socklen_t elen = sizeof *err;
        int ready = wait_fd(fd, POLLOUT, deadline);
        if (ready == 0)
            *err = ETIMEDOUT;
        else if (ready < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &elen) != 0)
            *err = errno;
        if (*err == 0)
            return fd;
    }
    close(fd);
    return -1;
}

/* Sends query and reads one answer (at most 65535 octets, RFC 1035 4.2.2).
 * 1 with *answer (caller frees); 0 with *why. */
static int exchange(const server_addr *srv, const uint8_t *query, size_t qlen, unsigned timeout_ms,
                    uint8_t **answer, size_t *alen, char **why)
{
    int64_t deadline = ms_monotonic_ms() + timeout_ms;
    *answer = NULL;
    int err = 0;
    int fd = connect_by(srv, deadline, &err);
    if (fd < 0) {
        if (err == ETIMEDOUT)
            *why = ms_asprintf("no connection to %s within %.0f s", srv->text, timeout_ms / 1000.0);
        else
            *why = ms_asprintf("cannot connect to %s: %s", srv->text, strerror(err));
        return 0;
    }
    uint8_t prefix[2] = {(uint8_t)(qlen >> 8), (uint8_t)qlen};
    uint8_t *buf = NULL;
    int ok = send_all(fd, prefix, 2, deadline) && send_all(fd, query, qlen, deadline) &&
             recv_all(fd, prefix, 2, deadline);
    size_t n = ok ? ((size_t)prefix[0] << 8 | prefix[1]) : 0;
    if (ok && (n < LDNS_HEADER_SIZE || (buf = malloc(n)) == NULL || !recv_all(fd, buf, n, deadline)))
        ok = 0;
    close(fd);
    if (!ok) {
        free(buf);
        *why = ms_asprintf("no answer from %s within %.0f s", srv->text, timeout_ms / 1000.0);
        return 0;
    }
    *answer = buf;
    *alen = n;
    return 1;
}

/* ---- messages ---- */

/* An RR with no RDATA: "RRset does not exist" (class NONE) or "delete the
 * RRset" (class ANY), RFC 2136 2.4.3 and 2.5.2. */
static ldns_rr *empty_rr(const char *owner, ldns_rr_class klass)
{
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *name = ldns_dname_new_frm_str(owner);
    if (rr == NULL || name == NULL) {
        ldns_rr_free(rr);
        ldns_rdf_deep_free(name);
        return NULL;
    }
    ldns_rr_set_owner(rr, name);
    ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
    ldns_rr_set_class(rr, klass);
    ldns_rr_set_ttl(rr, 0);
    return rr;
}

/* The value as TXT RDATA: character-strings of at most 255 octets. */
static ldns_rr *txt_rr(const char *owner, uint32_t ttl, ldns_rr_class klass, const char *value,
                       size_t len)
{
    ldns_rr *rr = empty_rr(owner, klass);
    if (rr == NULL)
        return NULL;
    ldns_rr_set_ttl(rr, ttl);
    size_t off = 0;
    do {
        size_t n = len - off > TXT_STRING_MAX ? TXT_STRING_MAX : len - off;
        uint8_t piece[TXT_STRING_MAX + 1];
        piece[0] = (uint8_t)n;
        memcpy(piece + 1, value + off, n);
        ldns_rdf *rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, piece);
        if (rdf == NULL || !ldns_rr_push_rdf(rr, rdf)) {
            ldns_rdf_deep_free(rdf);
            ldns_rr_free(rr);
            return NULL;
        }
        off += n;
    } while (off < len);
    return rr;
}

/* The character-strings of a TXT RR, joined. */
static char *txt_value(const ldns_rr *rr, size_t *len)
{
    ms_buf buf = MS_BUF_INIT;
    ms_buf_append(&buf, "", 0);
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        const ldns_rdf *rdf = ldns_rr_rdf(rr, i);
        if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_STR && ldns_rdf_size(rdf) >= 1)
            ms_buf_append(&buf, (const char *)ldns_rdf_data(rdf) + 1, ldns_rdf_size(rdf) - 1);
    }
    *len = buf.len;
    return ms_buf_take(&buf);
}

/* One RR's data in zone-file form: its strings, quoted and escaped by ldns. */
static void append_rdata(ms_buf *buf, const ldns_rr *rr)
{
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        char *s = ldns_rdf2str(ldns_rr_rdf(rr, i));
        ms_buf_printf(buf, " %s", s != NULL ? s : "\"\"");
        free(s);
    }
}

/* The update as nsupdate commands (the secret never appears). */
static char *update_as_text(const server_addr *srv, const char *zone, const char *name,
                            const ms_dns_tsig_key *key, const ldns_rr_list *old, const ldns_rr *add)
{
    ms_buf buf = MS_BUF_INIT;
    ms_buf_printf(&buf, "server %s %u\n", srv->host, srv->port);
    ms_buf_printf(&buf, "key %s:%s <secret>\n", key->algorithm, key->name);
    ms_buf_printf(&buf, "zone %s.\n", zone);
    if (ldns_rr_list_rr_count(old) == 0)
        ms_buf_printf(&buf, "prereq nxrrset %s. IN TXT\n", name);
    for (size_t i = 0; i < ldns_rr_list_rr_count(old); i++) {
        ms_buf_printf(&buf, "prereq yxrrset %s. IN TXT", name);
        append_rdata(&buf, ldns_rr_list_rr(old, i));
        ms_buf_puts(&buf, "\n");
    }
    ms_buf_printf(&buf, "update delete %s. IN TXT\n", name);
    ms_buf_printf(&buf, "update add %s. %u IN TXT", name, (unsigned)ldns_rr_ttl(add));
    append_rdata(&buf, add);
    ms_buf_puts(&buf, "\nsend\n");
    return ms_buf_take(&buf);
}

/* ---- the zone ---- */

/* The closest enclosing zone: SOA queries for the name and each ancestor,
 * all at once through the ctx's resolver; the longest name with an SOA
 * wins. A failed lookup below it stops the search: the zone is unknown,
 * and guessing a parent would send the key to the wrong zone. */
static char *find_zone(ms_ctx *ctx, const char *name, char **why)
{
    ms_dns_batch *batch = NULL;
    char *zone = NULL;
    if (ms_dns_batch_new(ctx, &batch) != MS_OK)
        return NULL;
    size_t count = 0;
    for (const char *n = name; n != NULL && *n != '\0'; count++) {
        if (ms_dns_batch_add(batch, n, MS_DNS_SOA, NULL) != MS_OK)
            goto done;
        n = strchr(n, '.');
        n = n != NULL ? n + 1 : NULL;
    }
    if (ms_dns_batch_wait(batch) != MS_OK)
        goto done;
    for (size_t i = 0; i < count; i++) {
        const ms_dns_answer *a = ms_dns_batch_answer(batch, i);
        if (ms_dns_answer_failed(a)) {
            char *reason = ms_dns_failure_reason(ctx, a);
            *why = ms_asprintf("cannot find the zone of %s: SOA %s: %s (give --zone)", name,
                               a != NULL ? a->qname : "?", reason != NULL ? reason : "lookup failed");
            free(reason);
            goto done;
        }
        if (a->rcode == MS_DNS_NOERROR && a->canonname == NULL)
            for (size_t k = 0; k < a->count; k++)
                if (a->records[k].type == MS_DNS_SOA) {
                    zone = ms_strdup(a->qname);
                    goto done;
                }
    }
    *why = ms_asprintf("no zone encloses %s (no SOA record above it)", name);
done:
    ms_dns_batch_free(batch);
    return zone;
}

/* ---- reading the RRset from the primary ---- */

static uint16_t answer_tsig_error(const ldns_pkt *pkt)
{
    const ldns_rr *tsig = ldns_pkt_tsig(pkt);
    if (tsig == NULL || ldns_rr_rd_count(tsig) <= TSIG_ERROR_RDF)
        return 0;
    return ldns_rdf2native_int16(ldns_rr_rdf(tsig, TSIG_ERROR_RDF));
}

/* Sends pkt and parses the answer, checking it answers this query.
 * 1 with *answer; 0 with *outcome and *why. */
static int ask(const server_addr *srv, ldns_pkt *pkt, unsigned timeout_ms, ldns_pkt **answer,
               uint8_t **wire_out, size_t *wire_len, ms_dns_update_outcome *outcome, char **why)
{
    uint8_t *query = NULL, *wire = NULL;
    size_t qlen = 0, alen = 0;
    *answer = NULL;
    if (ldns_pkt2wire(&query, pkt, &qlen) != LDNS_STATUS_OK) {
        *outcome = MS_DNS_UPDATE_FAILED;
        *why = ms_strdup("cannot encode the message");
        return 0;
    }
    int ok = exchange(srv, query, qlen, timeout_ms, &wire, &alen, why);
    free(query);
    if (!ok) {
        *outcome = MS_DNS_UPDATE_NO_ANSWER;
        return 0;
    }
    if (ldns_wire2pkt(answer, wire, alen) != LDNS_STATUS_OK || !ldns_pkt_qr(*answer) ||
        ldns_pkt_id(*answer) != ldns_pkt_id(pkt)) {
        ldns_pkt_free(*answer);
        *answer = NULL;
        free(wire);
        *outcome = MS_DNS_UPDATE_FAILED;
        *why = ms_asprintf("%s sent something that does not answer the message", srv->text);
        return 0;
    }
    if (wire_out != NULL) {
        *wire_out = wire;
        *wire_len = alen;
    } else {
        free(wire);
    }
    return 1;
}

static const char *rcode_name(ldns_pkt_rcode rcode)
{
    ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
    return lt != NULL ? lt->name : "an unknown RCODE";
}

/* The TXT RRset at name as the primary holds it now: into *old (TXT RRs
 * of that owner only). 1 on success; 0 with *outcome and *why. */
static int read_rrset(const server_addr *srv, const char *name, unsigned timeout_ms,
                      ldns_rr_list *old, ms_dns_update_outcome *outcome, char **why)
{
    ldns_rdf *owner = ldns_dname_new_frm_str(name);
    ldns_pkt *q = owner != NULL ? ldns_pkt_query_new(ldns_rdf_clone(owner), LDNS_RR_TYPE_TXT,
                                                     LDNS_RR_CLASS_IN, 0)
                                : NULL;
    ldns_pkt *a = NULL;
    int ok = 0;
    *outcome = MS_DNS_UPDATE_FAILED;
    if (q == NULL) {
        *why = ms_strdup("out of memory");
        goto done;
    }
    ldns_pkt_set_random_id(q);
    if (!ask(srv, q, timeout_ms, &a, NULL, NULL, outcome, why))
        goto done;
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(a);
    if (rcode == LDNS_RCODE_REFUSED || rcode == LDNS_RCODE_NOTAUTH ||
        (rcode == LDNS_RCODE_NOERROR && !ldns_pkt_aa(a)) ||
        (rcode == LDNS_RCODE_NXDOMAIN && !ldns_pkt_aa(a))) {
        *outcome = MS_DNS_UPDATE_REFUSED;
        *why = ms_asprintf("%s is not authoritative for %s (%s): give the zone's primary", srv->text,
                           name, rcode_name(rcode));
        goto done;
    }
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        *why = ms_asprintf("%s answered %s to the TXT query for %s", srv->text, rcode_name(rcode), name);
        goto done;
    }
    ldns_rr_list *answer = ldns_pkt_answer(a);
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
        ldns_rr *rr = ldns_rr_list_rr(answer, i);
        if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
            continue;
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME) {
            *why = ms_asprintf("%s is an alias (CNAME): update the record it points to", name);
            goto done;
        }
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT) {
            if (ldns_rr_list_rr_count(old) >= MAX_EXPECT) {
                *why = ms_asprintf("%s holds more than %d TXT records", name, MAX_EXPECT);
                goto done;
            }
            ldns_rr *copy = ldns_rr_clone(rr);
            if (copy == NULL || !ldns_rr_list_push_rr(old, copy)) {
                ldns_rr_free(copy);
                *why = ms_strdup("out of memory");
                goto done;
            }
        }
    }
    ok = 1;
done:
    ldns_rdf_deep_free(owner);
    ldns_pkt_free(q);
    ldns_pkt_free(a);
    return ok;
}

/* ---- the update ---- */

typedef struct update_job {
    ms_ctx *ctx;
    const ms_dns_txt_update *in;
    ms_dns_update_result *out;
    server_addr srv;
    ldns_rr_list *old;    /* the RRset read or given */
    ldns_rr *add;         /* the new record */
    ldns_rr_list *prereq; /* what must hold */
    ldns_rr_list *update; /* delete the RRset, add the record */
} update_job;

static ms_status set_message(ms_dns_update_result *r, ms_dns_update_outcome outcome, char *message)
{
    r->outcome = outcome;
    free(r->message);
    r->message = message;
    return message != NULL ? MS_OK : MS_ERR_NOMEM;
}

static int push(ldns_rr_list *list, ldns_rr *rr)
{
    if (rr != NULL && ldns_rr_list_push_rr(list, rr))
        return 1;
    ldns_rr_free(rr);
    return 0;
}

/* The old RRset from the caller's values. */
static int old_from_expected(update_job *job)
{
    for (size_t i = 0; i < job->in->expect_count; i++) {
        const char *v = job->in->expect[i];
        if (!push(job->old, txt_rr(job->in->name, 0, LDNS_RR_CLASS_IN, v, strlen(v))))
            return 0;
    }
    return 1;
}

/* result->old_values from the old RRset. */
static int note_old_values(update_job *job)
{
    size_t n = ldns_rr_list_rr_count(job->old);
    ms_dns_update_result *r = job->out;
    r->old_values = n > 0 ? calloc(n, sizeof *r->old_values) : NULL;
    if (n > 0 && r->old_values == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if ((r->old_values[i] = txt_value(ldns_rr_list_rr(job->old, i), &len)) == NULL)
            return 0;
        r->old_count++;
    }
    return 1;
}

/* Non-zero when the old RRset is exactly the new record (same TTL unless
 * none was asked for): nothing to do. */
static int already_there(const update_job *job)
{
    if (job->in->expect_given || ldns_rr_list_rr_count(job->old) != 1)
        return 0;
    const ldns_rr *rr = ldns_rr_list_rr(job->old, 0);
    size_t len;
    char *v = txt_value(rr, &len);
    int same = v != NULL && len == strlen(job->in->value) && memcmp(v, job->in->value, len) == 0 &&
               (job->in->ttl == 0 || job->in->ttl == ldns_rr_ttl(rr));
    free(v);
    return same;
}

/* Prerequisites: the old RRset exactly (value dependent: class IN, TTL 0),
 * or "no TXT RRset" when there was none; then delete the RRset, add the
 * record. */
static int build_sections(update_job *job)
{
    size_t n = ldns_rr_list_rr_count(job->old);
    if (n == 0 && !push(job->prereq, empty_rr(job->in->name, LDNS_RR_CLASS_NONE)))
        return 0;
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(job->old, i));
        if (rr != NULL)
            ldns_rr_set_ttl(rr, 0);
        if (!push(job->prereq, rr))
            return 0;
    }
    return push(job->update, empty_rr(job->in->name, LDNS_RR_CLASS_ANY)) &&
           push(job->update, ldns_rr_clone(job->add));
}

/* What the primary's answer to the update means. */
static ms_status judge_answer(update_job *job, ldns_pkt *answer, const uint8_t *wire, size_t len,
                              const ldns_rdf *query_mac)
{
    const ms_dns_tsig_key *key = job->in->key;
    const char *srv = job->srv.text, *name = job->in->name, *zone = job->out->zone;
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(answer);
    uint16_t tsig_error = answer_tsig_error(answer);
    ms_dns_update_result *r = job->out;
    if (rcode == LDNS_RCODE_NOTAUTH && tsig_error >= TSIG_BADSIG && tsig_error <= TSIG_BADTIME) {
        static const char *const WHY[] = {"BADSIG: the secret is wrong",
                                          "BADKEY: it does not know this key, or does not allow it for this zone",
                                          "BADTIME: the clocks differ by more than 5 minutes"};
        return set_message(r, MS_DNS_UPDATE_BAD_KEY,
                           ms_asprintf("%s did not accept TSIG key %s (%s): %s", srv, key->name,
                                       key->algorithm, WHY[tsig_error - TSIG_BADSIG]));
    }
    switch (rcode) {
    case LDNS_RCODE_NOERROR:
        break;
    case LDNS_RCODE_NXRRSET:
    case LDNS_RCODE_YXRRSET:
    case LDNS_RCODE_NXDOMAIN:
    case LDNS_RCODE_YXDOMAIN:
        return set_message(r, MS_DNS_UPDATE_PREREQ_FAILED,
                           ms_asprintf("%s answered %s: the TXT record at %s is no longer the one "
                                       "read, so nothing was changed; look again and retry",
                                       srv, rcode_name(rcode), name));
    case LDNS_RCODE_REFUSED:
        return set_message(r, MS_DNS_UPDATE_REFUSED,
                           ms_asprintf("%s refused the update (REFUSED): zone %s does not allow "
                                       "updates with key %s here",
                                       srv, zone, key->name));
    case LDNS_RCODE_NOTAUTH:
        return set_message(r, MS_DNS_UPDATE_REFUSED,
                           ms_asprintf("%s answered NOTAUTH: it is not the primary of zone %s", srv,
                                       zone));
    case LDNS_RCODE_NOTZONE:
        return set_message(r, MS_DNS_UPDATE_REFUSED,
                           ms_asprintf("%s answered NOTZONE: %s is not in zone %s", srv, name, zone));
    default:
        return set_message(r, MS_DNS_UPDATE_FAILED,
                           ms_asprintf("%s answered %s to the update", srv, rcode_name(rcode)));
    }
    /* Only a signed answer proves the primary, not someone on the path,
     * says the update was applied. */
    if (ldns_pkt_tsig(answer) == NULL ||
        !ldns_pkt_tsig_verify(answer, wire, len, key->name, key->secret, query_mac))
        return set_message(r, MS_DNS_UPDATE_FAILED,
                           ms_asprintf("%s answered NOERROR, but the answer's TSIG signature does "
                                       "not verify with key %s: whether the update was applied "
                                       "is unknown",
                                       srv, key->name));
    return set_message(r, MS_DNS_UPDATE_APPLIED,
                       ms_asprintf("%s applied the update to zone %s (answer signed with key %s)", srv,
                                   zone, key->name));
}

static ms_status send_update(update_job *job)
{
    const ms_dns_tsig_key *key = job->in->key;
    ms_dns_update_result *r = job->out;
    ldns_rdf *zone = ldns_dname_new_frm_str(r->zone);
    ldns_pkt *pkt = zone != NULL ? ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, job->prereq,
                                                       job->update, NULL)
                                 : NULL;
    if (pkt == NULL) {
        ldns_rdf_deep_free(zone);
        return MS_ERR_NOMEM;
    }
    ldns_pkt_set_rd(pkt, false);
    ldns_pkt_set_random_id(pkt);
    ms_status st;
    if (ldns_pkt_tsig_sign(pkt, key->name, key->secret, TSIG_FUDGE,
                           ms_dns_tsig_algorithm_wire_name(key->algorithm), NULL) != LDNS_STATUS_OK) {
        st = set_message(r, MS_DNS_UPDATE_FAILED,
                         ms_asprintf("cannot sign with key %s (%s)", key->name, key->algorithm));
        ldns_pkt_free(pkt);
        return st;
    }
    const ldns_rdf *mac = ldns_rr_rdf(ldns_pkt_tsig(pkt), 3);
    ldns_pkt *answer = NULL;
    uint8_t *wire = NULL;
    size_t len = 0;
    ms_dns_update_outcome outcome;
    char *why = NULL;
    if (ask(&job->srv, pkt, job->ctx->timeout_ms, &answer, &wire, &len, &outcome, &why))
        st = judge_answer(job, answer, wire, len, mac);
    else
        st = set_message(r, outcome, why);
    ldns_pkt_free(answer);
    free(wire);
    ldns_pkt_free(pkt);
    return st;
}

static ms_status check_input(const ms_dns_txt_update *in, server_addr *srv)
{
    if (in->name == NULL || !ms_dns_plain_name(in->name, strlen(in->name)) || in->value == NULL ||
        strlen(in->value) > MAX_VALUE || in->key == NULL || in->key->name == NULL ||
        ms_dns_tsig_algorithm_wire_name(in->key->algorithm) == NULL || in->server == NULL ||
        !parse_server(in->server, srv) || in->expect_count > MAX_EXPECT ||
        (in->zone != NULL && !ms_dns_plain_name(in->zone, strlen(in->zone))))
        return MS_ERR_INVALID;
    for (size_t i = 0; i < in->expect_count; i++)
        if (in->expect[i] == NULL || strlen(in->expect[i]) > MAX_VALUE)
            return MS_ERR_INVALID;
    return MS_OK;
}

static ms_status run_update(update_job *job)
{
    ms_dns_update_result *r = job->out;
    const ms_dns_txt_update *in = job->in;
    char *why = NULL;
    if (in->zone != NULL) {
        r->zone = ms_strdup(in->zone);
        if (r->zone == NULL)
            return MS_ERR_NOMEM;
        size_t zl = strlen(r->zone);
        if (zl > 0 && r->zone[zl - 1] == '.')
            r->zone[zl - 1] = '\0';
        for (char *s = r->zone; *s != '\0'; s++)
            if (*s >= 'A' && *s <= 'Z')
                *s = (char)(*s - 'A' + 'a');
    } else if ((r->zone = find_zone(job->ctx, in->name, &why)) == NULL) {
        return set_message(r, MS_DNS_UPDATE_FAILED, why != NULL ? why : ms_strdup("out of memory"));
    }
    if (!ms_domain_is_within(in->name, r->zone))
        return set_message(r, MS_DNS_UPDATE_REFUSED,
                           ms_asprintf("%s is not within zone %s", in->name, r->zone));
    ms_dns_update_outcome outcome;
    if (in->expect_given) {
        if (!old_from_expected(job))
            return MS_ERR_NOMEM;
    } else if (!read_rrset(&job->srv, in->name, job->ctx->timeout_ms, job->old, &outcome, &why)) {
        return set_message(r, outcome, why);
    }
    if (!note_old_values(job))
        return MS_ERR_NOMEM;
    uint32_t ttl = in->ttl;
    if (ttl == 0)
        ttl = ldns_rr_list_rr_count(job->old) > 0 && !in->expect_given
                  ? ldns_rr_ttl(ldns_rr_list_rr(job->old, 0))
                  : DEFAULT_TTL;
    r->ttl = ttl;
    job->add = txt_rr(in->name, ttl, LDNS_RR_CLASS_IN, in->value, strlen(in->value));
    if (job->add == NULL || !build_sections(job))
        return MS_ERR_NOMEM;
    r->update_text = update_as_text(&job->srv, r->zone, in->name, in->key, job->old, job->add);
    if (r->update_text == NULL)
        return MS_ERR_NOMEM;
    if (already_there(job))
        return set_message(r, MS_DNS_UPDATE_UNCHANGED,
                           ms_asprintf("%s already holds this record: nothing to change", in->name));
    if (in->dry_run)
        return set_message(r, MS_DNS_UPDATE_DRY_RUN,
                           ms_asprintf("dry run: the update for zone %s was not sent", r->zone));
    return send_update(job);
}

ms_status ms_dns_update_txt(ms_ctx *ctx, const ms_dns_txt_update *in, ms_dns_update_result *result)
{
    memset(result, 0, sizeof *result);
    update_job job = {.ctx = ctx, .in = in, .out = result};
    ms_status st = check_input(in, &job.srv);
    if (st != MS_OK)
        return st;
    if (ms_lazy_load(&ms_ldns_lib) != MS_OK) /* nothing was sent */
        return set_message(result, MS_DNS_UPDATE_FAILED, ms_strdup(ms_lazy_error(&ms_ldns_lib)));
    job.old = ldns_rr_list_new();
    job.prereq = ldns_rr_list_new();
    job.update = ldns_rr_list_new();
    if (job.old == NULL || job.prereq == NULL || job.update == NULL)
        st = MS_ERR_NOMEM;
    else
        st = run_update(&job);
    ldns_rr_list_deep_free(job.old);
    ldns_rr_list_deep_free(job.prereq);
    ldns_rr_list_deep_free(job.update);
    ldns_rr_free(job.add);
    if (st != MS_OK)
        ms_dns_update_result_free(result);
    return st;
}

/* ---- checking what is served ---- */

ms_status ms_dns_txt_served(const ms_ctx *ctx, const char *name, const char *value, int *served,
                            char **detail)
{
    *served = -1;
    *detail = NULL;
    /* A context of its own: the caller's resolver may have cached the old
     * record when it read it. */
    ms_ctx *fresh = NULL;
    ms_status st = ms_ctx_clone(ctx, &fresh);
    ms_dns_answer *a = NULL;
    if (st == MS_OK)
        st = ms_dns_lookup(fresh, name, MS_DNS_TXT, &a);
    if (st != MS_OK) {
        ms_ctx_free(fresh);
        return st;
    }
    size_t vlen = strlen(value);
    if (ms_dns_answer_failed(a)) {
        *detail = ms_dns_failure_reason(fresh, a);
    } else if (a->count == 1 && a->records[0].text != NULL && a->records[0].text_len == vlen &&
               memcmp(a->records[0].text, value, vlen) == 0) {
        *served = 1;
        *detail = ms_asprintf("%s serves the new record", name);
    } else {
        *served = 0;
        if (a->count == 0)
            *detail = ms_asprintf("%s has no TXT record yet (%s)", name, ms_dns_rcode_str(a->rcode));
        else
            *detail = ms_asprintf("%s serves %zu TXT record%s, not only the new one (a cache "
                                  "keeps the old one up to its TTL; a secondary may not have "
                                  "the update yet)",
                                  name, a->count, a->count == 1 ? "" : "s");
    }
    ms_dns_answer_free(a);
    ms_ctx_free(fresh);
    return *detail != NULL ? MS_OK : MS_ERR_NOMEM;
}
