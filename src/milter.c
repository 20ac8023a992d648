/* mailsec milter: the libmilter glue (docs/milter.md). libmilter runs one
 * thread per MTA connection and calls the xxfi_ functions below; each
 * connection has a context of its own (taken from a pool, see below) and
 * its message, every context asks DNS through one shared resolver, the
 * configuration is read-only once loaded, and the store and the log are
 * shared under a lock.
 * The checks themselves are lib/milter's. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <mailsec/dns.h>
#include <mailsec/milter.h>
#include <mailsec/store.h>

#include "cli.h"
#include "commands.h"
#include "milter_options.h"
#include "lazy_milter.h"

#define COMMAND "mailsec milter"
#define DEFAULT_CONFIG "/etc/mailsec/milter.conf"
/* libmilter's own limit on a silent MTA (seconds); each DNS step is
 * bounded by the configuration's timeout, far below it */
#define MTA_TIMEOUT_SECONDS 300

static const char USAGE[] =
    "Usage: mailsec milter --socket unix:/PATH|inet:PORT@ADDR [--config FILE] [--user USER]\n"
    "\n"
    "A mail filter for Postfix (smtpd_milters, non_smtpd_milters) and Sendmail:\n"
    "SPF, DKIM, DMARC and ARC on incoming mail (one Authentication-Results field,\n"
    "the DMARC policy applied), DKIM signatures on outgoing mail. Runs in the\n"
    "foreground and logs one line per message to stderr (docs/milter.md).\n"
    "\n";


typedef struct milter_args {
    const char *socket;
    const char *config;
    const char *user;
} milter_args;

/* What every connection shares: read-only but for the store and the log. */
static struct {
    ms_milter_config *config;
    ms_ctx *ctx;             /* cloned per connection */
    ms_dns_shared *dns;      /* the one resolver every connection's ctx uses */
    ms_store *store;         /* under store_lock; NULL: not recording */
    pthread_mutex_t store_lock;
    ms_milter_sender *sender; /* failure reports; NULL when off */
    /* connections with state: smfi_main() may return while some still run
     * in libmilter's threads, and they use all of the above */
    size_t open_conns;       /* under conns_lock */
    pthread_mutex_t conns_lock;
    pthread_cond_t conns_gone;
} g = {.store_lock = PTHREAD_MUTEX_INITIALIZER,
       .conns_lock = PTHREAD_MUTEX_INITIALIZER,
       .conns_gone = PTHREAD_COND_INITIALIZER};

/* One MTA connection (libmilter's private data). */
typedef struct conn {
    ms_ctx *ctx;
    char *client_ip;         /* NULL: local origin */
    char *helo;
    char *mail_from;
    char *rcpt;              /* the first */
    char *auth;
    int leadspc;             /* header values come with their leading space */
    ms_milter_message *msg;
    int failed;              /* an internal error in this message */
} conn;

static void log_line(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_line(int priority, const char *fmt, ...)
{
    /* a line is bounded: the rest of a longer one is cut */
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    flockfile(stderr);
    fprintf(stderr, "%s: %s\n", COMMAND, line);
    fflush(stderr);
    funlockfile(stderr);
    if (g.config && g.config->syslog)
        syslog(priority, "%s", line);
}

static void log_from_sender(void *arg, int error, const char *line)
{
    (void)arg;
    log_line(error ? LOG_WARNING : LOG_INFO, "%s", line);
}

/* The verdict's failure reports to the sender thread, and why others were
 * not built to the log. */
/* How long a stopping milter waits for its connections to end. */
enum { STOP_WAIT_SECONDS = 30 };

static void conns_add(int delta)
{
    pthread_mutex_lock(&g.conns_lock);
    g.open_conns += (size_t)delta;
    if (g.open_conns == 0)
        pthread_cond_broadcast(&g.conns_gone);
    pthread_mutex_unlock(&g.conns_lock);
}

/* 1 when every connection has ended within STOP_WAIT_SECONDS. */
static int conns_wait_gone(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += STOP_WAIT_SECONDS;
    pthread_mutex_lock(&g.conns_lock);
    int timed_out = 0;
    while (g.open_conns > 0 && !timed_out)
        timed_out = pthread_cond_timedwait(&g.conns_gone, &g.conns_lock, &until) == ETIMEDOUT;
    size_t left = g.open_conns;
    pthread_mutex_unlock(&g.conns_lock);
    if (left > 0)
        log_line(LOG_ERR, "%zu connection%s still open after %d s: stopping without them", left,
                 left == 1 ? "" : "s", STOP_WAIT_SECONDS);
    return left == 0;
}

static void offer_failure_reports(const char *id, ms_milter_verdict *v)
{
    for (const char *line = v->failure_notes; line && *line;) {
        size_t len = strcspn(line, "\n");
        log_line(LOG_NOTICE, "%s %.*s", id, (int)len, line);
        line += len + (line[len] == '\n');
    }
    ms_milter_sender_offer(g.sender, id, v);
}

static void reset_message(conn *c)
{
    ms_milter_message_free(c->msg);
    c->msg = NULL;
    free(c->mail_from);
    free(c->rcpt);
    free(c->auth);
    c->mail_from = c->rcpt = c->auth = NULL;
    c->failed = 0;
}

/* Queries outstanding at once for the whole milter, every connection's
 * together: a message asks a few dozen at most (SPF's limits bound it);
 * beyond libunbound's own (num-queries-per-thread, 1024 by default) it
 * would drop queries rather than answer them. */
#define DNS_IN_FLIGHT_MAX 1000

/* Contexts kept between connections. Postfix opens a connection per SMTP
 * session. A context's resolver (libunbound: a worker thread, its random
 * generator seeded, its cache) would cost far more to build than a whole
 * message's checks, and one per connection open at once would cost more
 * memory than everything else: so there is one for all (g.dns), built at
 * the first query, and a context is attached to it. A kept context also
 * keeps its Public Suffix List loaded. A connection takes an idle one or
 * clones a new one from the configured context; at most IDLE_CONTEXTS_MAX
 * wait idle, more are freed. */
#define IDLE_CONTEXTS_MAX 64
static struct {
    pthread_mutex_t lock;
    ms_ctx *idle[IDLE_CONTEXTS_MAX];
    size_t count;
} contexts = {.lock = PTHREAD_MUTEX_INITIALIZER};

static ms_status context_take(ms_ctx **out)
{
    pthread_mutex_lock(&contexts.lock);
    ms_ctx *idle = contexts.count > 0 ? contexts.idle[--contexts.count] : NULL;
    pthread_mutex_unlock(&contexts.lock);
    if (idle != NULL) {
        *out = idle;
        return MS_OK;
    }
    ms_ctx *fresh = NULL;
    ms_status st = ms_ctx_clone(g.ctx, &fresh);
    if (st == MS_OK)
        st = ms_dns_shared_attach(g.dns, fresh);
    if (st != MS_OK) {
        ms_ctx_free(fresh);
        return st;
    }
    *out = fresh;
    return MS_OK;
}

static void context_give_back(ms_ctx *ctx)
{
    pthread_mutex_lock(&contexts.lock);
    if (ctx != NULL && contexts.count < IDLE_CONTEXTS_MAX) {
        contexts.idle[contexts.count++] = ctx;
        ctx = NULL;
    }
    pthread_mutex_unlock(&contexts.lock);
    ms_ctx_free(ctx);
}

static void contexts_free(void)
{
    pthread_mutex_lock(&contexts.lock);
    while (contexts.count > 0)
        ms_ctx_free(contexts.idle[--contexts.count]);
    pthread_mutex_unlock(&contexts.lock);
}

static void conn_free(conn *c)
{
    if (c == NULL)
        return;
    reset_message(c);
    free(c->client_ip);
    free(c->helo);
    context_give_back(c->ctx);
    free(c);
    conns_add(-1);
}

static conn *get_conn(SMFICTX *ctx)
{
    return smfi_getpriv(ctx);
}

/* An internal failure: what the configuration says (tempfail or accept). */
static sfsistat failure(SMFICTX *ctx, const char *step, ms_status st)
{
    const char *id = smfi_getsymval(ctx, "i");
    int tempfail = g.config->on_error == MS_MILTER_TEMPFAIL;
    /* a DNS resolver library that could not be loaded says what to install */
    const char *dns_missing = ms_dns_library_error();
    log_line(LOG_ERR, "%s error in %s: %s%s%s; %s", id ? id : "-", step, ms_status_str(st),
             dns_missing ? ": " : "", dns_missing ? dns_missing : "",
             tempfail ? "tempfail" : "accepted unchecked");
    if (!tempfail)
        return SMFIS_ACCEPT;
    smfi_setreply(ctx, "451", "4.7.1", "message could not be checked, try again later");
    return SMFIS_TEMPFAIL;
}

/* The connection's state, made at its first event. */
static conn *new_conn(SMFICTX *ctx)
{
    conn *c = get_conn(ctx);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof *c);
    if (c == NULL || context_take(&c->ctx) != MS_OK) {
        free(c);
        return NULL;
    }
    conns_add(1);
    smfi_setpriv(ctx, c);
    return c;
}

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                             unsigned long *pf2, unsigned long *pf3)
{
    (void)f2, (void)f3;
    conn *c = new_conn(ctx);
    if (c == NULL)
        return SMFIS_REJECT; /* the MTA goes on as its milter_default_action says */
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE);
    /* header values with their leading white space, so the fields are
     * given to DKIM exactly as they were */
    *pf1 = f1 & SMFIP_HDR_LEADSPC;
    c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
    (void)hostname;
    conn *c = new_conn(ctx);
    if (c == NULL)
        return SMFIS_TEMPFAIL;
    char text[INET6_ADDRSTRLEN];
    const void *raw = NULL;
    int family = addr ? addr->sa_family : AF_UNSPEC;
    if (family == AF_INET)
        raw = &((const struct sockaddr_in *)(const void *)addr)->sin_addr;
    else if (family == AF_INET6)
        raw = &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr;
    if (raw && inet_ntop(family, raw, text, sizeof text) != NULL) {
        c->client_ip = strdup(text);
        if (c->client_ip == NULL)
            return failure(ctx, "connect", MS_ERR_NOMEM);
    }
    return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
    conn *c = get_conn(ctx);
    free(c->helo);
    c->helo = strdup(helo ? helo : "");
    return c->helo ? SMFIS_CONTINUE : failure(ctx, "HELO", MS_ERR_NOMEM);
}

/* "<user@example.com>" without the brackets. */
static char *bare_address(const char *arg)
{
    size_t len = strlen(arg);
    if (len >= 2 && arg[0] == '<' && arg[len - 1] == '>')
        return strndup(arg + 1, len - 2);
    return strdup(arg);
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
    conn *c = get_conn(ctx);
    reset_message(c);
    c->mail_from = bare_address(argv[0] ? argv[0] : "");
    const char *auth = smfi_getsymval(ctx, "{auth_authen}");
    if (auth && auth[0])
        c->auth = strdup(auth);
    if (c->mail_from == NULL || (auth && auth[0] && c->auth == NULL))
        return failure(ctx, "MAIL FROM", MS_ERR_NOMEM);
    return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
    conn *c = get_conn(ctx);
    if (c->rcpt == NULL && argv[0]) {
        c->rcpt = bare_address(argv[0]);
        if (c->rcpt == NULL)
            return failure(ctx, "RCPT TO", MS_ERR_NOMEM);
    }
    return SMFIS_CONTINUE;
}

/* The message's evaluation, begun at its first header field. */
static ms_status ensure_message(SMFICTX *ctx, conn *c)
{
    if (c->msg != NULL)
        return MS_OK;
    ms_milter_envelope e = {
        .queue_id = smfi_getsymval(ctx, "i"),
        .client_ip = c->client_ip,
        .helo = c->helo,
        .mail_from = c->mail_from ? c->mail_from : "",
        .rcpt = c->rcpt,
        .auth_authen = c->auth,
    };
    return ms_milter_message_new(g.config, c->ctx, &e, &c->msg);
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
    conn *c = get_conn(ctx);
    if (c->failed)
        return SMFIS_CONTINUE;
    ms_status st = ensure_message(ctx, c);
    if (st == MS_OK && c->leadspc) {
        st = ms_milter_message_header(c->msg, name, value);
    } else if (st == MS_OK) {
        size_t len = strlen(value);
        char *spaced = malloc(len + 2);
        if (spaced) {
            spaced[0] = ' ';
            memcpy(spaced + 1, value, len + 1);
        }
        st = spaced ? ms_milter_message_header(c->msg, name, spaced) : MS_ERR_NOMEM;
        free(spaced);
    }
    if (st != MS_OK)
        c->failed = (int)st;
    return SMFIS_CONTINUE;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    conn *c = get_conn(ctx);
    if (c->failed)
        return SMFIS_CONTINUE;
    ms_status st = ensure_message(ctx, c);
    if (st == MS_OK)
        st = ms_milter_message_body(c->msg, data, len);
    if (st != MS_OK)
        c->failed = (int)st;
    return SMFIS_CONTINUE;
}

/* A value to add: with its leading space when the MTA writes the value as
 * given, else without. */
static char *field_value(const conn *c, char *value)
{
    return c->leadspc || value[0] != ' ' ? value : value + 1;
}

static void record(const char *id, const ms_milter_verdict *v)
{
    if (g.store == NULL || !v->has_evaluation)
        return;
    pthread_mutex_lock(&g.store_lock);
    ms_status st = ms_store_put_evaluation(g.store, &v->evaluation);
    pthread_mutex_unlock(&g.store_lock);
    if (st != MS_OK)
        log_line(LOG_WARNING, "%s not recorded in the store: %s", id, ms_status_str(st));
}

/* The verdict's changes and action; -1 when the MTA refused a change. */
static sfsistat apply(SMFICTX *ctx, conn *c, ms_milter_verdict *v, const char *id)
{
    for (size_t i = 0; i < v->remove_count; i++)
        if (smfi_chgheader(ctx, "Authentication-Results", (int)v->remove_auth_results[i], NULL) !=
            MI_SUCCESS)
            return failure(ctx, "removing a forged Authentication-Results", MS_ERR_IO);
    for (size_t i = v->signature_count; i-- > 0;)
        if (smfi_insheader(ctx, 0, "DKIM-Signature", field_value(c, v->signatures[i])) != MI_SUCCESS)
            return failure(ctx, "adding DKIM-Signature", MS_ERR_IO);
    if (v->auth_results &&
        smfi_insheader(ctx, 0, "Authentication-Results", field_value(c, v->auth_results)) != MI_SUCCESS)
        return failure(ctx, "adding Authentication-Results", MS_ERR_IO);
    log_line(v->action == MS_MILTER_ACCEPT ? LOG_INFO : LOG_NOTICE, "%s %s%s%s", id, v->log,
             v->remove_count ? " removed-forged-auth-results=" : "",
             v->remove_count ? "yes" : "");
    record(id, v);
    switch (v->action) {
    case MS_MILTER_REJECT:
        smfi_setreply(ctx, "550", "5.7.1", v->reply);
        return SMFIS_REJECT;
    case MS_MILTER_QUARANTINE:
        if (smfi_quarantine(ctx, "DMARC policy (mailsec milter)") != MI_SUCCESS)
            log_line(LOG_WARNING, "%s the MTA refused to quarantine", id);
        return SMFIS_ACCEPT;
    case MS_MILTER_HEADER:
        if (smfi_insheader(ctx, 0, g.config->quarantine_header,
                           c->leadspc ? " DMARC policy quarantine" : "DMARC policy quarantine") !=
            MI_SUCCESS)
            return failure(ctx, "adding the quarantine header", MS_ERR_IO);
        return SMFIS_ACCEPT;
    case MS_MILTER_TEMPFAIL:
        smfi_setreply(ctx, "451", "4.7.1", v->reply ? v->reply : "try again later");
        return SMFIS_TEMPFAIL;
    case MS_MILTER_ACCEPT:
        break;
    }
    return SMFIS_ACCEPT;
}

static sfsistat on_eom(SMFICTX *ctx)
{
    conn *c = get_conn(ctx);
    const char *qid = smfi_getsymval(ctx, "i");
    char id[64];
    snprintf(id, sizeof id, "%s", qid && qid[0] ? qid : "-");
    ms_status st = c->failed ? (ms_status)c->failed : ensure_message(ctx, c);
    ms_milter_verdict *v = NULL;
    if (st == MS_OK)
        st = ms_milter_message_finish(c->msg, &v);
    sfsistat result = st == MS_OK ? apply(ctx, c, v, id) : failure(ctx, "the evaluation", st);
    if (v != NULL)
        offer_failure_reports(id, v); /* after the verdict: the mail never waits */
    ms_milter_verdict_free(v);
    reset_message(c);
    return result;
}

static sfsistat on_abort(SMFICTX *ctx)
{
    conn *c = get_conn(ctx);
    if (c)
        reset_message(c);
    return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
    conn_free(get_conn(ctx));
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
    .xxfi_name = "mailsec",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
    .xxfi_connect = on_connect,
    .xxfi_helo = on_helo,
    .xxfi_envfrom = on_envfrom,
    .xxfi_envrcpt = on_envrcpt,
    .xxfi_header = on_header,
    .xxfi_body = on_body,
    .xxfi_eom = on_eom,
    .xxfi_abort = on_abort,
    .xxfi_close = on_close,
    .xxfi_negotiate = on_negotiate,
};

static int milter_option(void *arg, int opt, const char *value)
{
    milter_args *a = arg;
    switch (opt) {
    case OPT_SOCKET: a->socket = value; return 1;
    case OPT_CONFIG: a->config = value; return 1;
    case OPT_USER: a->user = value; return 1;
    default: return CLI_OPTION_UNHANDLED;
    }
}

/* The unix socket's owner becomes the user (the MTA's user joins its
 * group); then the process gives up root for good. */
static int drop_privileges(const char *user, const char *socket)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        fprintf(stderr, "%s: no user %s\n", COMMAND, user);
        return -1;
    }
    if (strncmp(socket, "unix:", 5) == 0 || strncmp(socket, "local:", 6) == 0) {
        const char *path = strchr(socket, ':') + 1;
        if (chown(path, pw->pw_uid, pw->pw_gid) != 0) {
            fprintf(stderr, "%s: %s: %s\n", COMMAND, path, strerror(errno));
            return -1;
        }
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "%s: cannot become %s: %s\n", COMMAND, user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 && pw->pw_uid != 0) {
        fprintf(stderr, "%s: could get root back after becoming %s\n", COMMAND, user);
        return -1;
    }
    return 0;
}

static int open_store(void)
{
    if (g.config->store_url == NULL)
        return 0;
    char *why = NULL;
    ms_status st = ms_store_open(g.config->store_url, &g.store, &why);
    if (st != MS_OK) {
        fprintf(stderr, "%s: store: %s\n", COMMAND, why ? why : ms_status_str(st));
        free(why);
        return -1;
    }
    return 0;
}

static int load(const milter_args *a, const cli_common *c)
{
    char *why = NULL;
    ms_status st = ms_milter_config_load(a->config, &g.config, &why);
    if (st != MS_OK) {
        fprintf(stderr, "%s: %s\n", COMMAND, why ? why : ms_status_str(st));
        free(why);
        return -1;
    }
    st = ms_milter_ctx_new(g.config, &g.ctx);
    if (st == MS_OK && c->resolver)
        st = ms_ctx_set_resolver(g.ctx, c->resolver);
    if (st == MS_OK && c->trust_anchor)
        st = ms_ctx_set_trust_anchor_file(g.ctx, c->trust_anchor);
    if (st == MS_OK)
        st = ms_dns_shared_new(g.ctx, DNS_IN_FLIGHT_MAX, &g.dns);
    if (st != MS_OK) {
        fprintf(stderr, "%s: %s\n", COMMAND, ms_status_str(st));
        return -1;
    }
    return 0;
}

static int serve(const milter_args *a)
{
    if (ms_lazy_load(&ms_milter_lib) != MS_OK) {
        fprintf(stderr, "%s: %s\n", COMMAND, ms_lazy_error(&ms_milter_lib));
        return EXIT_UNCHECKED;
    }
    /* the socket is made rw for its group (0660) */
    umask(0117);
    if (smfi_setconn((char *)a->socket) != MI_SUCCESS || smfi_register(filter) != MI_SUCCESS ||
        smfi_settimeout(MTA_TIMEOUT_SECONDS) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "%s: cannot listen on %s\n", COMMAND, a->socket);
        return EXIT_UNCHECKED;
    }
    umask(0077);
    if (a->user && drop_privileges(a->user, a->socket) != 0)
        return EXIT_UNCHECKED;
    if (open_store() != 0)
        return EXIT_UNCHECKED;
    if (g.config->syslog)
        openlog("mailsec-milter", LOG_PID, LOG_MAIL);
    if (g.config->failure_reports &&
        ms_milter_sender_start(g.config, log_from_sender, NULL, &g.sender) != MS_OK) {
        fprintf(stderr, "%s: cannot start the failure-report sender\n", COMMAND);
        return EXIT_UNCHECKED;
    }
    log_line(LOG_INFO, "listening on %s (authserv-id %s, %zu signing key%s)", a->socket,
             g.config->authserv_id, g.config->key_count, g.config->key_count == 1 ? "" : "s");
    /* libmilter stops on SIGTERM, SIGINT and SIGHUP and returns here */
    int rc = smfi_main();
    if (!conns_wait_gone())
        return -1; /* what they use stays: the process ends without freeing it */
    ms_milter_sender_stop(g.sender);
    g.sender = NULL;
    log_line(LOG_INFO, "stopped");
    return rc == MI_SUCCESS ? EXIT_CLEAN : EXIT_UNCHECKED;
}

int cmd_milter(int argc, char **argv)
{
    cli_common c;
    milter_args a = {.config = DEFAULT_CONFIG};
    int status = cli_parse(argc, argv, &CLI_OPTIONS_milter, USAGE, COMMAND, &c,
                           milter_option, &a);
    if (status >= 0)
        return status;
    if (optind < argc)
        return cli_usage_error(COMMAND, "unexpected argument \"%s\"", argv[optind]);
    if (a.socket == NULL)
        return cli_usage_error(COMMAND, "--socket is required (unix:/PATH or inet:PORT@ADDR)");
    if (strncmp(a.socket, "unix:", 5) != 0 && strncmp(a.socket, "local:", 6) != 0 &&
        strncmp(a.socket, "inet:", 5) != 0 && strncmp(a.socket, "inet6:", 6) != 0)
        return cli_usage_error(COMMAND, "--socket takes unix:/PATH or inet:PORT@ADDR, not \"%s\"",
                               a.socket);
    status = load(&a, &c) == 0 ? serve(&a) : EXIT_UNCHECKED;
    if (status < 0)
        return EXIT_UNCHECKED; /* connections still running: nothing they use is freed */
    if (g.store)
        ms_store_close(g.store);
    contexts_free();
    ms_dns_shared_free(g.dns);
    ms_ctx_free(g.ctx);
    ms_milter_config_free(g.config);
    return status;
}
