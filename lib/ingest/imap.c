/* Reports from an IMAP mailbox, through libcurl (one connection, reused).
 *
 *   EXAMINE "box"        -> UIDVALIDITY (the key of the UIDs below)
 *   UID SEARCH ALL       -> the messages' UIDs
 *   for each UID not in the store's imap_seen table:
 *     fetch ;UID=n       -> the message, ingested from memory
 *     mark it seen       (after its reports are committed)
 *     UID MOVE n "dest"  (with --move-to)
 *
 * A message is marked only after every report in it is stored, set aside
 * as unreadable, or found to be a duplicate, so a run killed half-way
 * fetches the rest next time and nothing is counted twice. imap:// must
 * upgrade with STARTTLS: the password never crosses the network in the
 * clear. */
#include "ingest_internal.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

enum { IMAP_TIMEOUT_MS_DEFAULT = 30000 };
/* A server's answer to EXAMINE or SEARCH is small; a fetched message is
 * bounded by the same limit as any message that carries a report. */
enum { IMAP_LISTING_MAX = 16 << 20 };

typedef struct imap_session {
    CURL *curl;
    char *base;     /* imaps://host:port/ (no user, no mailbox) */
    char *mailbox;  /* decoded mailbox name */
    char *key;      /* what the store keys seen UIDs on: USER@HOST/MAILBOX */
    ms_buf body;
    size_t body_max;
    char errbuf[CURL_ERROR_SIZE];
} imap_session;

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
    imap_session *s = arg;
    size_t n = size * nmemb;
    if (s->body.len + n > s->body_max)
        return 0; /* curl then fails the transfer: too large */
    ms_buf_append(&s->body, data, n);
    return s->body.failed ? 0 : n;
}

/* Runs one request; the response is in s->body. */
static ms_status imap_request(imap_session *s, const char *url, const char *command, size_t max,
                              char **errmsg)
{
    ms_buf_free(&s->body);
    s->body_max = max;
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, command);
    CURLcode rc = curl_easy_perform(s->curl);
    if (rc == CURLE_OK && !s->body.failed)
        return MS_OK;
    if (*errmsg == NULL)
        *errmsg = ms_asprintf("%s: %s", command != NULL ? command : "FETCH",
                              s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc));
    return MS_ERR_IO;
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

static ms_status session_open(imap_session *s, const ms_imap_options *o, char **errmsg)
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
    curl_easy_setopt(s->curl, CURLOPT_USERNAME, user);
    curl_easy_setopt(s->curl, CURLOPT_PASSWORD, o->password ? o->password : "");
    curl_easy_setopt(s->curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* STARTTLS or fail */
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, (timeout + 999) / 1000);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
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
    ms_buf_free(&s->body);
}

/* "* OK [UIDVALIDITY 3857529045] ..." in the EXAMINE response. */
static ms_status read_uidvalidity(imap_session *s, uint32_t *out, char **errmsg)
{
    char *quoted = imap_quote(s->mailbox);
    char *command = quoted ? ms_asprintf("EXAMINE %s", quoted) : NULL;
    ms_status st = command ? imap_request(s, s->base, command, IMAP_LISTING_MAX, errmsg) : MS_ERR_NOMEM;
    free(quoted);
    free(command);
    if (st != MS_OK)
        return st;
    const char *p = s->body.data ? strstr(s->body.data, "[UIDVALIDITY ") : NULL;
    if (p == NULL) {
        *errmsg = ms_asprintf("%s: the server named no UIDVALIDITY", s->mailbox);
        return MS_ERR_IO;
    }
    *out = (uint32_t)strtoul(p + strlen("[UIDVALIDITY "), NULL, 10);
    return MS_OK;
}

/* "* SEARCH 1 2 3" lines -> UIDs. */
static ms_status search_uids(imap_session *s, uint32_t **uids, size_t *count, char **errmsg)
{
    char *escaped = curl_easy_escape(s->curl, s->mailbox, 0);
    char *url = escaped ? ms_asprintf("%s%s", s->base, escaped) : NULL;
    curl_free(escaped);
    ms_status st = url ? imap_request(s, url, "UID SEARCH ALL", IMAP_LISTING_MAX, errmsg) : MS_ERR_NOMEM;
    free(url);
    if (st != MS_OK)
        return st;
    size_t cap = 0;
    *uids = NULL;
    *count = 0;
    for (const char *line = s->body.data; line != NULL && *line; ) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, "* SEARCH", 8) == 0) {
            for (const char *p = line + 8; p < (end ? end : line + strlen(line));) {
                char *next;
                unsigned long uid = strtoul(p, &next, 10);
                if (next == p)
                    break;
                if (*count == cap) {
                    cap = cap ? 2 * cap : 256;
                    uint32_t *grown = realloc(*uids, cap * sizeof **uids);
                    if (grown == NULL)
                        return MS_ERR_NOMEM;
                    *uids = grown;
                }
                (*uids)[(*count)++] = (uint32_t)uid;
                p = next;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return MS_OK;
}

static ms_status fetch_one(imap_session *s, uint32_t uid, char **errmsg)
{
    char *escaped = curl_easy_escape(s->curl, s->mailbox, 0);
    char *url = escaped ? ms_asprintf("%s%s/;UID=%u", s->base, escaped, uid) : NULL;
    curl_free(escaped);
    ms_status st = url ? imap_request(s, url, NULL, MS_REPORT_MESSAGE_MAX, errmsg) : MS_ERR_NOMEM;
    free(url);
    return st;
}

static ms_status move_one(imap_session *s, uint32_t uid, const char *dest, char **errmsg)
{
    char *escaped = curl_easy_escape(s->curl, s->mailbox, 0);
    char *url = escaped ? ms_asprintf("%s%s", s->base, escaped) : NULL;
    char *quoted = imap_quote(dest);
    char *command = quoted ? ms_asprintf("UID MOVE %u %s", uid, quoted) : NULL;
    curl_free(escaped);
    ms_status st = url && command ? imap_request(s, url, command, IMAP_LISTING_MAX, errmsg) : MS_ERR_NOMEM;
    free(url);
    free(quoted);
    free(command);
    return st;
}

/* One message: ingest, mark seen, move. */
static ms_status take_message(imap_session *s, ms_store *store, uint32_t uidvalidity, uint32_t uid,
                              const ms_imap_options *o, const ms_ingest_callbacks *cb,
                              ms_ingest_tally *tally, char **errmsg)
{
    int seen = 0;
    ms_status st = ms_store_imap_seen(store, s->key, uidvalidity, uid, &seen);
    if (st != MS_OK || seen)
        return st;
    st = fetch_one(s, uid, errmsg);
    if (st != MS_OK)
        return st;
    char name[64];
    snprintf(name, sizeof name, "UID %u", uid);
    tally->files++;
    tally->bytes += s->body.len;
    st = ms_ingest_buffer(store, name, s->body.data, s->body.len, cb, tally);
    if (st == MS_OK)
        st = ms_store_imap_mark(store, s->key, uidvalidity, uid);
    if (st == MS_OK && o->move_to != NULL)
        st = move_one(s, uid, o->move_to, errmsg);
    return st;
}

ms_status ms_ingest_imap(ms_store *store, const ms_imap_options *opts,
                         const ms_ingest_callbacks *cb, ms_ingest_tally *tally, char **errmsg)
{
    *errmsg = NULL;
    imap_session s = {0};
    uint32_t uidvalidity = 0, *uids = NULL;
    size_t count = 0;
    ms_status st = session_open(&s, opts, errmsg);
    if (st == MS_OK)
        st = read_uidvalidity(&s, &uidvalidity, errmsg);
    if (st == MS_OK)
        st = search_uids(&s, &uids, &count, errmsg);
    for (size_t i = 0; st == MS_OK && i < count; i++)
        st = take_message(&s, store, uidvalidity, uids[i], opts, cb, tally, errmsg);
    if (st != MS_OK && *errmsg == NULL && ms_store_error(store) != NULL)
        *errmsg = ms_asprintf("store: %s", ms_store_error(store));
    free(uids);
    session_close(&s);
    return st;
}
