/* Reports from an IMAP mailbox, through libcurl (one connection, reused).
 *
 *   EXAMINE "box"              -> UIDVALIDITY (the key of the UIDs below)
 *   UID SEARCH ALL             -> the messages' UIDs
 *   for each UID not in the store's imap_seen table:
 *     UID FETCH n RFC822.SIZE  -> its size: over MS_REPORT_MESSAGE_MAX, it
 *                                 is passed over without being downloaded
 *     fetch ;UID=n             -> the message, ingested from memory
 *     mark it seen             (after its reports are committed)
 *     UID MOVE n "dest"        (with --move-to)
 *
 * A message is marked only after every report in it is stored, set aside
 * as unreadable, or found to be a duplicate, so a run killed half-way
 * fetches the rest next time and nothing is counted twice. A message over
 * the size limit is passed over so the rest of the mailbox flows: set
 * aside in the store with the reason, marked, moved to --failed-to when
 * given (as is one with a report set aside, or none). The server's
 * answers are parsed with distrust (imap_parse.c); every operation has a
 * deadline. imap:// must upgrade with STARTTLS: the password never crosses
 * the network in the clear. */
#include "imap_parse.h"
#include "ingest_internal.h"

#include "core/http.h"
#include "core/lazy_curl.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
    IMAP_TIMEOUT_MS_DEFAULT = 30000,
    /* A message's download may take the timeout plus a second for each
     * this many bytes of its size: 64 MiB, the most fetched, in 17 min. */
    FETCH_BYTES_PER_SECOND = 64 << 10
};

typedef struct imap_session {
    CURL *curl;
    char *base;     /* imaps://host:port/ (no user, no mailbox) */
    char *mailbox;  /* decoded mailbox name */
    char *key;      /* what the store keys seen UIDs on: USER@HOST/MAILBOX */
    long timeout_ms; /* of each operation */
    ms_http_body body; /* the answer; cut: it went past its bound */
    char errbuf[CURL_ERROR_SIZE];
} imap_session;

/* Runs one request, "what" naming it in errors; the answer, at most max
 * bytes, is in s->body. The whole request must be over in deadline_ms. */
static ms_status imap_request(imap_session *s, const char *url, const char *command, size_t max,
                              long deadline_ms, const char *what, char **errmsg)
{
    ms_buf_free(&s->body.buf);
    s->body.max = max;
    s->body.cut = 0;
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, command);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, deadline_ms);
    CURLcode rc = curl_easy_perform(s->curl);
    if (rc == CURLE_OK && !s->body.buf.failed)
        return MS_OK;
    if (s->body.buf.failed)
        return MS_ERR_NOMEM;
    if (s->body.cut)
        *errmsg = ms_asprintf("%s: the answer is over %zu bytes", what, max);
    else
        *errmsg = ms_asprintf("%s: %s", what, s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
    return s->body.cut ? MS_ERR_LIMIT : MS_ERR_IO;
}

/* An IMAP quoted string (RFC 3501 section 4.3). */
static char *imap_quote(const char *s)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            ms_buf_puts(&b, "\\");
        ms_buf_append(&b, s, 1);
    }
    ms_buf_puts(&b, "\"");
    return ms_buf_take(&b);
}

/* Splits imap[s]://[USER@]HOST[:PORT]/MAILBOX with curl's URL parser. */
static ms_status parse_mailbox_url(imap_session *s, const char *url, char **user, char **errmsg)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    ms_status st = MS_ERR_INVALID;
    if (u == NULL)
        return MS_ERR_NOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        *errmsg = ms_asprintf("%s: not a URL", url);
        goto out;
    }
    if (strcmp(scheme, "imaps") != 0 && strcmp(scheme, "imap") != 0) {
        *errmsg = ms_asprintf("%s: the URL must be imaps:// or imap://", url);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_USER, user, CURLU_URLDECODE);
    if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK || strlen(path) < 2) {
        *errmsg = ms_asprintf("%s: no mailbox in the URL (imaps://USER@HOST/MAILBOX)", url);
        goto out;
    }
    s->mailbox = ms_strdup(path + 1);
    s->base = ms_asprintf("%s://%s%s%s/", scheme, host, port ? ":" : "", port ? port : "");
    /* The same mailbox whether reached over imaps:// or imap:// + STARTTLS. */
    s->key = ms_asprintf("%s@%s/%s", *user ? *user : "", host, s->mailbox);
    st = s->mailbox && s->base && s->key ? MS_OK : MS_ERR_NOMEM;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return st;
}

static ms_status session_open(imap_session *s, const ms_ingest_imap_options *o, char **errmsg)
{
    char *user = NULL;
    ms_status st = parse_mailbox_url(s, o->url, &user, errmsg);
    if (st != MS_OK)
        return st;
    if (user == NULL || *user == '\0') {
        curl_free(user);
        *errmsg = ms_asprintf("%s: no user in the URL (imaps://USER@HOST/MAILBOX)", o->url);
        return MS_ERR_INVALID;
    }
    s->curl = curl_easy_init();
    if (s->curl == NULL) {
        curl_free(user);
        return MS_ERR_NOMEM;
    }
    long timeout = o->timeout_ms ? (long)o->timeout_ms : IMAP_TIMEOUT_MS_DEFAULT;
    s->timeout_ms = timeout;
    curl_easy_setopt(s->curl, CURLOPT_USERNAME, user);
    curl_easy_setopt(s->curl, CURLOPT_PASSWORD, o->password ? o->password : "");
    curl_easy_setopt(s->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* STARTTLS or fail */
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    /* Each request has its deadline (imap_request); within it, connecting
     * and a silence of the timeout's length end it too. */
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, (timeout + 999) / 1000);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, ms_http_body_write);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->body);
    if (o->ca_file != NULL)
        curl_easy_setopt(s->curl, CURLOPT_CAINFO, o->ca_file);
    curl_free(user);
    return MS_OK;
}

static void session_close(imap_session *s)
{
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    free(s->base);
    free(s->mailbox);
    free(s->key);
    ms_buf_free(&s->body.buf);
}

/* "* OK [UIDVALIDITY 3857529045] ..." in the EXAMINE answer. */
static ms_status read_uidvalidity(imap_session *s, uint32_t *out, char **errmsg)
{
    char *quoted = imap_quote(s->mailbox);
    char *command = quoted ? ms_asprintf("EXAMINE %s", quoted) : NULL;
    ms_status st = command ? imap_request(s, s->base, command, IMAP_LISTING_MAX, s->timeout_ms, "EXAMINE",
                                          errmsg)
                           : MS_ERR_NOMEM;
    free(quoted);
    free(command);
    char *why = NULL;
    if (st == MS_OK && (st = imap_parse_uidvalidity(s->body.buf.data, s->body.buf.len, out, &why)) == MS_ERR_IO)
        *errmsg = ms_asprintf("%s: EXAMINE: %s", s->mailbox, why);
    free(why);
    return st;
}

/* The mailbox's URL, with what follows it (";UID=5" or ""). */
static char *mailbox_url(imap_session *s, const char *suffix)
{
    char *escaped = curl_easy_escape(s->curl, s->mailbox, 0);
    char *url = escaped ? ms_asprintf("%s%s%s", s->base, escaped, suffix) : NULL;
    curl_free(escaped);
    return url;
}

/* Runs command on the mailbox (selected first). */
static ms_status mailbox_request(imap_session *s, const char *command, const char *what, char **errmsg)
{
    char *url = mailbox_url(s, "");
    ms_status st = url ? imap_request(s, url, command, IMAP_LISTING_MAX, s->timeout_ms, what, errmsg)
                       : MS_ERR_NOMEM;
    free(url);
    return st;
}

static ms_status search_uids(imap_session *s, uint32_t **uids, size_t *count, char **errmsg)
{
    ms_status st = mailbox_request(s, "UID SEARCH ALL", "UID SEARCH", errmsg);
    char *why = NULL;
    if (st == MS_OK && (st = imap_parse_search(s->body.buf.data, s->body.buf.len, uids, count, &why)) == MS_ERR_IO)
        *errmsg = ms_asprintf("%s: UID SEARCH: %s", s->mailbox, why);
    free(why);
    return st;
}

/* The message's size as the server gives it; *found 0 when the message is
 * no longer there. */
static ms_status fetch_size(imap_session *s, uint32_t uid, uint64_t *size, int *found, char **errmsg)
{
    char command[64], what[64];
    snprintf(command, sizeof command, "UID FETCH %" PRIu32 " (UID RFC822.SIZE)", uid);
    snprintf(what, sizeof what, "UID %" PRIu32 ": FETCH RFC822.SIZE", uid);
    ms_status st = mailbox_request(s, command, what, errmsg);
    char *why = NULL;
    if (st == MS_OK && (st = imap_parse_size(s->body.buf.data, s->body.buf.len, uid, size, found, &why)) == MS_ERR_IO)
        *errmsg = ms_asprintf("%s: %s", what, why);
    free(why);
    return st;
}

/* Downloads the message (size: as announced) into s->body; MS_ERR_LIMIT
 * when the server sends more than MS_REPORT_MESSAGE_MAX after all. */
static ms_status fetch_one(imap_session *s, uint32_t uid, uint64_t size, char **errmsg)
{
    char suffix[32], what[32];
    snprintf(suffix, sizeof suffix, "/;UID=%" PRIu32, uid);
    snprintf(what, sizeof what, "UID %" PRIu32 ": FETCH", uid);
    char *url = mailbox_url(s, suffix);
    long deadline = s->timeout_ms + (long)(size / FETCH_BYTES_PER_SECOND) * 1000;
    ms_status st = url ? imap_request(s, url, NULL, MS_REPORT_MESSAGE_MAX, deadline, what, errmsg)
                       : MS_ERR_NOMEM;
    free(url);
    return st;
}

static ms_status move_one(imap_session *s, uint32_t uid, const char *dest, char **errmsg)
{
    char *quoted = imap_quote(dest);
    char *command = quoted ? ms_asprintf("UID MOVE %" PRIu32 " %s", uid, quoted) : NULL;
    char what[32];
    snprintf(what, sizeof what, "UID %" PRIu32 ": MOVE", uid);
    ms_status st = command ? mailbox_request(s, command, what, errmsg) : MS_ERR_NOMEM;
    free(quoted);
    free(command);
    return st;
}

/* One run of fetch: what every message's handling needs. */
typedef struct fetch_run {
    imap_session s;
    ms_store *store;
    const ms_ingest_imap_options *o;
    const ms_ingest_callbacks *cb;
    ms_ingest_tally *tally;
    uint32_t uidvalidity;
    char **errmsg;
} fetch_run;

/* The message is done with: remembered in the store (no later run
 * fetches it again), then moved to dest when given. */
static ms_status finish_message(fetch_run *r, uint32_t uid, const char *dest)
{
    ms_status st = ms_store_imap_mark(r->store, r->s.key, r->uidvalidity, uid);
    if (st == MS_OK && dest != NULL)
        st = move_one(&r->s, uid, dest, r->errmsg);
    return st;
}

/* A message that cannot be taken in is passed over, so the rest of the
 * mailbox flows: set aside in the store with the reason (kind "message"),
 * counted as failed, told to the caller, then finished like any other, to
 * --failed-to when given. Fails only when the store or the move does. */
static ms_status pass_over(fetch_run *r, uint32_t uid, const char *reason)
{
    char name[32];
    snprintf(name, sizeof name, "UID %" PRIu32, uid);
    ms_report_origin origin = {.file = name, .path = name};
    ms_report_error err = {.message = (char *)reason, .offset = -1};
    /* one row per message, however often it is met */
    char *input_key = ms_asprintf("imap:%s;UIDVALIDITY=%" PRIu32 ";UID=%" PRIu32, r->s.key,
                                  r->uidvalidity, uid);
    ms_status st = input_key ? ms_store_put_rejected(r->store, &origin, "message", &err, input_key)
                             : MS_ERR_NOMEM;
    free(input_key);
    if (st != MS_OK)
        return st;
    r->tally->failed++;
    if (r->o->passed_over != NULL)
        r->o->passed_over(r->cb->arg, uid, reason);
    if (r->cb->progress != NULL)
        r->cb->progress(r->cb->arg, r->tally);
    return finish_message(r, uid, r->o->failed_to);
}

/* Whether the message just ingested (the tally's change) had a report set
 * aside, or held none: then it goes to --failed-to, when given. */
static int message_failed(const ms_ingest_tally *before, const ms_ingest_tally *after)
{
    uint64_t reports = after->reports_new + after->duplicates + after->conflicting + after->failed;
    uint64_t reports_before = before->reports_new + before->duplicates + before->conflicting + before->failed;
    return after->failed > before->failed || reports == reports_before;
}

/* Downloads and ingests one message of the announced size; one the server
 * sends more than MS_REPORT_MESSAGE_MAX of is passed over. */
static ms_status ingest_message(fetch_run *r, uint32_t uid, uint64_t size)
{
    char *why = NULL;
    ms_status st = fetch_one(&r->s, uid, size, &why);
    if (st == MS_ERR_LIMIT) {
        char *reason = ms_asprintf("over the limit of %d bytes for one message (the server"
                                   " announced %" PRIu64 "): not downloaded", MS_REPORT_MESSAGE_MAX, size);
        st = reason ? pass_over(r, uid, reason) : MS_ERR_NOMEM;
        free(reason);
        free(why);
        return st;
    }
    if (st != MS_OK) {
        *r->errmsg = why;
        return st;
    }
    char name[32];
    snprintf(name, sizeof name, "UID %" PRIu32, uid);
    r->tally->files++;
    r->tally->bytes += r->s.body.buf.len;
    ms_ingest_tally before = *r->tally;
    st = ms_ingest_buffer(r->store, name, r->s.body.buf.data, r->s.body.buf.len, r->cb, r->tally);
    if (st != MS_OK) { /* the store failed itself (a report it refused is set aside) */
        const char *store_error = ms_store_error(r->store);
        *r->errmsg = ms_asprintf("%s: store: %s", name, store_error ? store_error : ms_status_str(st));
        return st;
    }
    return finish_message(r, uid, message_failed(&before, r->tally) && r->o->failed_to != NULL
                                      ? r->o->failed_to : r->o->move_to);
}

/* One message: skipped when seen before, passed over when too big,
 * else fetched, ingested, marked and moved. */
static ms_status take_message(fetch_run *r, uint32_t uid)
{
    int seen = 0, found = 0;
    uint64_t size = 0;
    ms_status st = ms_store_imap_seen(r->store, r->s.key, r->uidvalidity, uid, &seen);
    if (st != MS_OK || seen)
        return st;
    if ((st = fetch_size(&r->s, uid, &size, &found, r->errmsg)) != MS_OK || !found)
        return st; /* not found: expunged since the listing, nothing to take */
    if (size > MS_REPORT_MESSAGE_MAX) {
        char *reason = ms_asprintf("%" PRIu64 " bytes, over the limit of %d bytes for one message:"
                                   " not downloaded", size, MS_REPORT_MESSAGE_MAX);
        st = reason ? pass_over(r, uid, reason) : MS_ERR_NOMEM;
        free(reason);
        return st;
    }
    return ingest_message(r, uid, size);
}

ms_status ms_ingest_imap(ms_store *store, const ms_ingest_imap_options *opts,
                         const ms_ingest_callbacks *cb, ms_ingest_tally *tally, char **errmsg)
{
    *errmsg = NULL;
    if (ms_lazy_load(&ms_curl_lib) != MS_OK) {
        *errmsg = ms_strdup(ms_lazy_error(&ms_curl_lib));
        return MS_ERR_IO;
    }
    fetch_run r = {.store = store, .o = opts, .cb = cb, .tally = tally, .errmsg = errmsg};
    uint32_t *uids = NULL;
    size_t count = 0;
    ms_status st = session_open(&r.s, opts, errmsg);
    if (st == MS_OK)
        st = read_uidvalidity(&r.s, &r.uidvalidity, errmsg);
    if (st == MS_OK)
        st = search_uids(&r.s, &uids, &count, errmsg);
    for (size_t i = 0; st == MS_OK && i < count; i++)
        st = take_message(&r, uids[i]);
    if (st != MS_OK && *errmsg == NULL && ms_store_error(store) != NULL)
        *errmsg = ms_asprintf("store: %s", ms_store_error(store));
    free(uids);
    session_close(&r.s);
    return st;
}
