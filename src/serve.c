/* mailsec serve: the dashboard's HTTP server on libmicrohttpd. Loopback
 * unless told otherwise; elsewhere only with credentials and TLS (or an
 * explicit --insecure-http). Every request is bounded (size, time, idle
 * time, connections) and runs in its own thread, so a slow client stalls no
 * other; every response carries the security headers; the store is opened
 * read-only (docs/serve.md). */
#include "cli.h"
#include "commands.h"
#include "serve_options.h"
#include "report_views.h"
#include "serve.h"
#include "serve_auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include "lazy_mhd.h"
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char USAGE[] =
    "Usage: mailsec serve [options]\n\n"
    "The web dashboard over the report store: pages and charts of the DMARC\n"
    "aggregate, failure and SMTP TLS reports, and the same data as JSON under /api/.\n\n"
    "An address that is not loopback needs --password-file or --token-file, and\n"
    "--cert and --key or --insecure-http. Stops on SIGINT or SIGTERM.\n"
    "Exit status: 0 stopped by a signal, 2 could not start.\n\n";

static const char COMMAND[] = "serve";

/* The bounds on requests (docs/serve.md, "Limits"). */
enum {
    CONNECTIONS_MAX = 64,           /* at once; more wait in the listen queue */
    CONNECTION_MEMORY = 64 * 1024,  /* a request's line and headers */
    IDLE_SECONDS = 30,              /* a connection silent this long is closed */
    REQUEST_SECONDS = 30,           /* a request's time to arrive and be answered */
    STORES_MAX = 8,                 /* store connections: requests reading at once */
    PEM_MAX = 1024 * 1024           /* --cert, --key */
};

/* ---- the store handles, shared by the request threads ---- */

/* A handle serves one request at a time (store.h); handles are opened as
 * requests need them, up to STORES_MAX, and kept. */
typedef struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t returned;
    const char *url;
    ms_store *idle[STORES_MAX];
    size_t idle_count, open_count;
} store_pool;

static ms_store *pool_take(store_pool *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->idle_count == 0 && p->open_count == STORES_MAX)
        pthread_cond_wait(&p->returned, &p->lock);
    if (p->idle_count > 0) {
        ms_store *s = p->idle[--p->idle_count];
        pthread_mutex_unlock(&p->lock);
        return s;
    }
    p->open_count++;
    pthread_mutex_unlock(&p->lock);
    ms_store *s = NULL;
    char *why = NULL;
    if (ms_store_open_read(p->url, &s, &why) != MS_OK) {
        fprintf(stderr, "mailsec serve: opening the store: %s\n", why ? why : "failed");
        free(why);
        pthread_mutex_lock(&p->lock);
        p->open_count--;
        pthread_cond_signal(&p->returned);
        pthread_mutex_unlock(&p->lock);
        return NULL;
    }
    return s;
}

/* broken: the handle failed (a lost connection); it is closed, and the
 * next request opens a new one. */
static void pool_give(store_pool *p, ms_store *s, int broken)
{
    pthread_mutex_lock(&p->lock);
    if (broken) {
        ms_store_close(s);
        p->open_count--;
    } else {
        p->idle[p->idle_count++] = s;
    }
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->lock);
}

static void pool_close(store_pool *p)
{
    for (size_t i = 0; i < p->idle_count; i++)
        ms_store_close(p->idle[i]);
    p->idle_count = p->open_count = 0;
}

/* ---- the time a request may take ---- */

/* Each connection has REQUEST_SECONDS from its opening (with keep-alive:
 * from the previous answer) to send its request and take the answer; the
 * watchdog shuts down those that overrun, so a client that sends, or
 * reads, a byte now and then cannot hold a connection for ever. */
typedef struct watch_slot {
    int used;
    int fd;
    time_t deadline;
} watch_slot;

typedef struct request_watch {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    watch_slot slots[CONNECTIONS_MAX];
    int stop;
    pthread_t thread;
} request_watch;

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    request_watch *w = cls;
    pthread_mutex_lock(&w->lock);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (size_t i = 0; info != NULL && i < CONNECTIONS_MAX; i++)
            if (!w->slots[i].used) {
                w->slots[i] = (watch_slot){1, info->connect_fd, time(NULL) + REQUEST_SECONDS};
                *socket_context = &w->slots[i];
                break;
            }
    } else if (*socket_context != NULL) { /* closed: before its socket is */
        ((watch_slot *)*socket_context)->used = 0;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&w->lock);
}

/* A request answered: the next one on the connection gets its own time. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
    (void)state, (void)toe;
    request_watch *w = cls;
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    pthread_mutex_lock(&w->lock);
    if (info != NULL && info->socket_context != NULL)
        ((watch_slot *)info->socket_context)->deadline = time(NULL) + REQUEST_SECONDS;
    pthread_mutex_unlock(&w->lock);
}

static void *watchdog(void *arg)
{
    request_watch *w = arg;
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        time_t now = time(NULL);
        for (size_t i = 0; i < CONNECTIONS_MAX; i++)
            if (w->slots[i].used && w->slots[i].deadline != 0 && now >= w->slots[i].deadline) {
                shutdown(w->slots[i].fd, SHUT_RDWR); /* the connection's thread sees it end */
                w->slots[i].deadline = 0;
            }
        struct timespec next;
        clock_gettime(CLOCK_REALTIME, &next);
        next.tv_sec += 1;
        pthread_cond_timedwait(&w->wake, &w->lock, &next);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void watch_stop(request_watch *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
}

/* ---- the server's state ---- */

typedef struct server {
    store_pool pool;
    serve_auth auth;
    request_watch watch;
    int tls;
} server;

/* ---- responses ---- */

static const char CSP[] = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                          "frame-ancestors 'none'; base-uri 'none'";

/* Queues body (malloc'd, taken) with the security headers every response
 * carries. */
static enum MHD_Result respond(const server *srv, struct MHD_Connection *conn, int status, const char *type,
                               char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Content-Security-Policy", CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (srv->tls)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                srv->auth.user_count ? "Basic realm=\"mailsec\", charset=\"UTF-8\"" : "Bearer");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

/* A memory stream for a body; NULL when out of memory. */
typedef struct body {
    FILE *f;
    char *data;
    size_t len;
} body;

static int body_open(body *b)
{
    b->data = NULL;
    b->len = 0;
    b->f = open_memstream(&b->data, &b->len);
    return b->f != NULL;
}

/* Closes the stream: 1 when everything was written. */
static int body_close(body *b)
{
    int ok = !ferror(b->f);
    ok = fclose(b->f) == 0 && ok;
    if (!ok) {
        free(b->data);
        b->data = NULL;
    }
    return ok;
}

static enum MHD_Result respond_text(const server *srv, struct MHD_Connection *conn, int status,
                                    const char *type, const char *text)
{
    char *copy = strdup(text);
    return copy ? respond(srv, conn, status, type, copy, strlen(copy)) : MHD_NO;
}

static enum MHD_Result respond_error(const server *srv, struct MHD_Connection *conn, int status,
                                     const char *message)
{
    body b;
    if (!body_open(&b))
        return MHD_NO;
    page_error(b.f, status, message);
    if (!body_close(&b))
        return MHD_NO;
    return respond(srv, conn, status, "text/html; charset=utf-8", b.data, b.len);
}

/* ---- authentication ---- */

static int authorized(const server *srv, struct MHD_Connection *conn)
{
    if (!serve_auth_required(&srv->auth))
        return 1;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0)
        return serve_auth_token_ok(&srv->auth, h + 7);
    char *password = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &password);
    int ok = serve_auth_password_ok(&srv->auth, user, password);
    if (password != NULL) {
        explicit_bzero(password, strlen(password));
        MHD_free(password);
    }
    MHD_free(user);
    return ok;
}

/* ---- the query ---- */

static const char *arg(struct MHD_Connection *conn, const char *name)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
    return v && *v ? v : NULL;
}

/* Reads the URL's parameters; NULL, or why they are wrong. */
static const char *parse_query(struct MHD_Connection *conn, serve_query *q)
{
    memset(q, 0, sizeof *q);
    const char *domain = arg(conn, "domain"), *id = arg(conn, "id");
    q->since = arg(conn, "since");
    q->until = arg(conn, "until");
    q->ip = arg(conn, "ip");
    if (domain != NULL) {
        if (ms_store_domain_key(domain, &q->domain_key) != MS_OK)
            return "the domain is not a domain name";
        q->filter.domain = q->domain_key;
    }
    if (q->since && !report_date_bound(q->since, 0, &q->filter.since))
        return "since is not a date (YYYY-MM-DD)";
    if (q->until && !report_date_bound(q->until, 1, &q->filter.until))
        return "until is not a date (YYYY-MM-DD)";
    if (id != NULL) {
        size_t n = strlen(id);
        errno = 0;
        long long v = n <= 19 && strspn(id, "0123456789") == n ? strtoll(id, NULL, 10) : 0;
        if (v < 1 || errno == ERANGE)
            return "id is not a report number";
        q->id = v;
    }
    if (q->ip != NULL && strlen(q->ip) > INET6_ADDRSTRLEN)
        return "ip is not an address";
    return NULL;
}

/* ---- routing ---- */

static const struct route {
    const char *path;
    serve_page_fn page;
} PAGES[] = {
    {"/", page_overview},          {"/domain", page_domain}, {"/source", page_source},
    {"/failures", page_failures},  {"/report", page_report}, {"/tls", page_tls},
};

/* /api/VIEW: the document `mailsec report VIEW --json` prints. */
static const char *const API_VIEWS[] = {"summary", "sources", "list", "show", "failures", "tls"};

static enum MHD_Result serve_page(const server *srv, struct MHD_Connection *conn, serve_page_fn page,
                                  const serve_query *q)
{
    ms_store *store = pool_take((store_pool *)&srv->pool);
    if (store == NULL)
        return respond_error(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "The store cannot be opened.");
    body b;
    if (!body_open(&b)) {
        pool_give((store_pool *)&srv->pool, store, 0);
        return MHD_NO;
    }
    int status = page(b.f, store, q);
    pool_give((store_pool *)&srv->pool, store, status >= 500);
    if (!body_close(&b))
        return respond_error(srv, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Out of memory.");
    return respond(srv, conn, status, "text/html; charset=utf-8", b.data, b.len);
}

static enum MHD_Result serve_api(const server *srv, struct MHD_Connection *conn, const char *view,
                                 const serve_query *q)
{
    if (strcmp(view, "show") == 0 && q->id == 0)
        return respond_text(srv, conn, MHD_HTTP_BAD_REQUEST, "application/json",
                            "{\"error\":\"give the report number: ?id=N\",\"result\":\"unchecked\"}\n");
    ms_store *store = pool_take((store_pool *)&srv->pool);
    if (store == NULL)
        return respond_text(srv, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                            "{\"error\":\"the store cannot be opened\",\"result\":\"unchecked\"}\n");
    json_t *doc = NULL;
    int rc = report_view_document(view, store, &q->filter, q->id, &doc);
    if (rc != 0) {
        json_t *text = rc == -2 ? json_sprintf("no report %lld", (long long)q->id)
                                : json_sprintf("the store failed: %s", ms_store_error(store));
        doc = json_pack("{s:i, s:s++, s:[], s:o, s:s}", "schema_version", CLI_JSON_SCHEMA_VERSION, "command",
                        "report ", view, "results", "error", text ? text : json_string("the store failed"),
                        "result", "unchecked");
    }
    pool_give((store_pool *)&srv->pool, store, rc == -1);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
    json_decref(doc);
    if (text == NULL)
        return MHD_NO;
    size_t len = strlen(text);
    int status = rc == 0 ? MHD_HTTP_OK : rc == -2 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR;
    return respond(srv, conn, status, "application/json", text, len);
}

static serve_page_fn find_page(const char *url)
{
    for (size_t i = 0; i < sizeof PAGES / sizeof PAGES[0]; i++)
        if (strcmp(url, PAGES[i].path) == 0)
            return PAGES[i].page;
    return NULL;
}

/* The view of /api/VIEW, or NULL. */
static const char *find_api_view(const char *url)
{
    if (strncmp(url, "/api/", 5) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof API_VIEWS / sizeof API_VIEWS[0]; i++)
        if (strcmp(url + 5, API_VIEWS[i]) == 0)
            return API_VIEWS[i];
    return NULL;
}

static enum MHD_Result route(const server *srv, struct MHD_Connection *conn, const char *url)
{
    if (strcmp(url, "/static/style.css") == 0)
        return respond_text(srv, conn, MHD_HTTP_OK, "text/css; charset=utf-8", SERVE_STYLE_CSS);
    if (strcmp(url, "/static/icon.svg") == 0 || strcmp(url, "/favicon.ico") == 0)
        return respond_text(srv, conn, MHD_HTTP_OK, "image/svg+xml", SERVE_ICON_SVG);
    serve_page_fn page = find_page(url);
    const char *view = find_api_view(url);
    if (page == NULL && view == NULL)
        return respond_error(srv, conn, MHD_HTTP_NOT_FOUND, "No such page.");
    serve_query q;
    const char *wrong = parse_query(conn, &q);
    enum MHD_Result ok;
    if (wrong != NULL && view != NULL)
        ok = respond_text(srv, conn, MHD_HTTP_BAD_REQUEST, "application/json",
                          "{\"error\":\"a parameter is wrong: domain, since, until (YYYY-MM-DD), id, ip\","
                          "\"result\":\"unchecked\"}\n");
    else if (wrong != NULL)
        ok = respond_error(srv, conn, MHD_HTTP_BAD_REQUEST, wrong);
    else if (view != NULL)
        ok = serve_api(srv, conn, view, &q);
    else
        ok = serve_page(srv, conn, page, &q);
    free(q.domain_key);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **state)
{
    (void)version, (void)upload_data;
    const server *srv = cls;
    static int seen;
    if (*state == NULL) { /* the headers are in: answer now, whatever follows */
        *state = &seen;
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return respond_error(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET and HEAD.");
        if (!authorized(srv, conn))
            return respond_error(srv, conn, MHD_HTTP_UNAUTHORIZED, "Sign in to see the reports.");
        return route(srv, conn, url);
    }
    /* A body sent with GET is not read. */
    *upload_data_size = 0;
    return MHD_YES;
}

__attribute__((format(printf, 2, 0))) static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("mailsec serve: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- starting ---- */

typedef struct serve_args {
    const char *db, *listen, *password_file, *token_file, *cert, *key;
    int insecure_http;
} serve_args;

static int serve_option(void *arg, int opt, const char *value)
{
    serve_args *a = arg;
    switch (opt) {
    case OPT_DB: a->db = value; return 1;
    case OPT_LISTEN: a->listen = value; return 1;
    case OPT_PASSWORD_FILE: a->password_file = value; return 1;
    case OPT_TOKEN_FILE: a->token_file = value; return 1;
    case OPT_CERT: a->cert = value; return 1;
    case OPT_KEY: a->key = value; return 1;
    case OPT_INSECURE_HTTP: a->insecure_http = 1; return 1;
    }
    return CLI_OPTION_UNHANDLED;
}

typedef struct listen_addr {
    struct sockaddr_storage sa;
    int ipv6;
    int loopback;
} listen_addr;

/* ADDR:PORT, ADDR an IPv4 address or an IPv6 one in brackets; PORT 1 to
 * 65535. 1, else 0. */
static int parse_listen(const char *text, listen_addr *out)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(text, ':');
    unsigned long port;
    if (colon == NULL || (size_t)(colon - text) >= sizeof host || !cli_parse_uint(colon + 1, 65535, &port) ||
        port == 0)
        return 0;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(out, 0, sizeof *out);
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;
        host[n - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return 0;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        out->ipv6 = 1;
        out->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
        return 1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return 0;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    out->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    return 1;
}

/* A PEM file read whole (at most PEM_MAX), or NULL with a message. */
static char *read_pem(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = f ? malloc(PEM_MAX + 1) : NULL;
    size_t n = text ? fread(text, 1, PEM_MAX + 1, f) : 0;
    int bad = f == NULL || text == NULL || ferror(f) || n > PEM_MAX;
    int saved = errno;
    if (f)
        fclose(f);
    if (bad) {
        fprintf(stderr, "mailsec serve: %s: %s\n", path, n > PEM_MAX ? "larger than 1 MiB" : strerror(saved));
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* What the options allow: the rules for an address that is not loopback. */
static int check_exposure(const serve_args *a, const listen_addr *addr, const serve_auth *auth)
{
    if ((a->cert == NULL) != (a->key == NULL))
        return cli_usage_error(COMMAND, "--cert and --key go together");
    if (a->cert && a->insecure_http)
        return cli_usage_error(COMMAND, "--insecure-http and --cert contradict each other");
    if (addr->loopback)
        return -1;
    if (!serve_auth_required(auth)) {
        fprintf(stderr, "mailsec serve: refusing to listen on %s without authentication: it is not a loopback "
                        "address, so anyone who reaches it would read the reports; give --password-file or "
                        "--token-file\n", a->listen);
        return EXIT_UNCHECKED;
    }
    if (a->cert == NULL && !a->insecure_http) {
        fprintf(stderr, "mailsec serve: refusing to listen on %s without TLS: passwords and reports would "
                        "cross the network in clear; give --cert and --key, or --insecure-http behind a TLS "
                        "proxy\n", a->listen);
        return EXIT_UNCHECKED;
    }
    return -1;
}

static struct MHD_Daemon *start_daemon(server *srv, const listen_addr *addr, char *cert, char *key)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (addr->ipv6)
        flags |= MHD_USE_IPv6;
    if (cert != NULL)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
        {MHD_OPTION_END, 0, NULL},
    };
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
                            MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, /* first: it logs the others */
                            MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr->sa,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_SECONDS,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, &srv->watch,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv->watch,
                            MHD_OPTION_ARRAY, cert != NULL ? tls_options : &tls_options[2],
                            MHD_OPTION_END);
}

/* Serves until SIGINT or SIGTERM; the signals are blocked before the
 * server's threads start, so they inherit the mask and this thread alone
 * takes them. */
static int run(server *srv, const serve_args *a, const listen_addr *addr)
{
    if (ms_lazy_load(&ms_mhd_lib) != MS_OK) {
        fprintf(stderr, "mailsec serve: %s\n", ms_lazy_error(&ms_mhd_lib));
        return EXIT_UNCHECKED;
    }
    char *cert = a->cert ? read_pem(a->cert) : NULL, *key = a->key ? read_pem(a->key) : NULL;
    if (a->cert && (cert == NULL || key == NULL)) {
        free(cert), free(key);
        return EXIT_UNCHECKED;
    }
    if (cert && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        fprintf(stderr, "mailsec serve: this libmicrohttpd was built without TLS\n");
        free(cert), free(key);
        return EXIT_UNCHECKED;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    srv->tls = cert != NULL;
    if (pthread_create(&srv->watch.thread, NULL, watchdog, &srv->watch) != 0) {
        fprintf(stderr, "mailsec serve: cannot start a thread\n");
        free(cert), free(key);
        return EXIT_UNCHECKED;
    }
    struct MHD_Daemon *d = start_daemon(srv, addr, cert, key);
    if (key)
        explicit_bzero(key, strlen(key));
    free(cert), free(key);
    if (d == NULL) {
        fprintf(stderr, "mailsec serve: cannot listen on %s\n", a->listen);
        watch_stop(&srv->watch);
        return EXIT_UNCHECKED;
    }
    printf("mailsec serve: listening on %s://%s/\n", srv->tls ? "https" : "http", a->listen);
    fflush(stdout);
    sigdelset(&stop, SIGPIPE);
    int sig = 0;
    while (sigwait(&stop, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
        ;
    MHD_stop_daemon(d);
    watch_stop(&srv->watch);
    return EXIT_CLEAN;
}

int cmd_serve(int argc, char **argv)
{
    cli_common c;
    serve_args a = {.listen = "127.0.0.1:8470"};
    int status = cli_parse(argc, argv, &CLI_OPTIONS_serve, USAGE, COMMAND, &c, serve_option, &a);
    if (status >= 0)
        return status;
    if (optind < argc)
        return cli_usage_error(COMMAND, "unexpected argument \"%s\"", argv[optind]);
    listen_addr addr;
    if (!parse_listen(a.listen, &addr))
        return cli_usage_error(COMMAND, "--listen takes ADDR:PORT (127.0.0.1:8470, [::1]:8470), not \"%s\"",
                               a.listen);
    server srv = {.pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .returned = PTHREAD_COND_INITIALIZER},
                  .watch = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER}};
    char why[512];
    if (serve_auth_load(&srv.auth, a.password_file, a.token_file, why, sizeof why) != 0) {
        fprintf(stderr, "mailsec serve: %s\n", why);
        return EXIT_UNCHECKED;
    }
    status = check_exposure(&a, &addr, &srv.auth);
    srv.pool.url = a.db ? a.db : getenv("MAILSEC_DB");
    /* The store is opened once before listening, so a wrong --db fails now. */
    ms_store *first = status < 0 ? pool_take(&srv.pool) : NULL;
    if (status < 0 && first == NULL)
        status = EXIT_UNCHECKED;
    if (status < 0) {
        pool_give(&srv.pool, first, 0);
        status = run(&srv, &a, &addr);
    }
    pool_close(&srv.pool);
    serve_auth_free(&srv.auth);
    return status;
}
