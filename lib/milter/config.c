/* The milter's configuration file (docs/milter.md): "key value" lines, #
 * comments, blank lines. Every key is known; a bad line stops the load
 * with FILE:LINE and what is wrong, so a typo never runs silently. */
#include "internal.h"
#include "report/send_internal.h"
#include "core/lazy_openssl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

const char *ms_milter_action_str(ms_milter_action a)
{
    switch (a) {
    case MS_MILTER_ACCEPT: return "accept";
    case MS_MILTER_REJECT: return "reject";
    case MS_MILTER_QUARANTINE: return "quarantine";
    case MS_MILTER_HEADER: return "header";
    case MS_MILTER_TEMPFAIL: return "tempfail";
    }
    return "accept";
}

int milter_net_parse(const char *text, ms_milter_net *net)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    if (len == 0 || len >= sizeof addr)
        return -1;
    memcpy(addr, text, len);
    addr[len] = '\0';
    memset(net, 0, sizeof *net);
    unsigned max;
    if (inet_pton(AF_INET, addr, net->addr) == 1) {
        net->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, net->addr) == 1) {
        net->family = AF_INET6;
        max = 128;
    } else {
        return -1;
    }
    net->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0') || strlen(p) > 3)
            return -1;
        unsigned long n = strtoul(p, NULL, 10);
        for (const char *q = p; *q; q++)
            if (*q < '0' || *q > '9')
                return -1;
        if (n > max)
            return -1;
        net->prefix = (unsigned)n;
    }
    return 0;
}

int milter_net_contains(const ms_milter_net *nets, size_t count, const char *ip)
{
    unsigned char a[16];
    int family;
    if (ip == NULL)
        return 0;
    if (inet_pton(AF_INET, ip, a) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, ip, a) == 1)
        family = AF_INET6;
    else
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (nets[i].family != family)
            continue;
        unsigned bits = nets[i].prefix, bytes = bits / 8, rest = bits % 8;
        if (memcmp(a, nets[i].addr, bytes) != 0)
            continue;
        if (rest != 0) {
            unsigned char mask = (unsigned char)(0xffu << (8 - rest));
            if ((a[bytes] & mask) != (nets[i].addr[bytes] & mask))
                continue;
        }
        return 1;
    }
    return 0;
}

/* ---- the file ---- */

typedef struct config_reader {
    const char *path;
    unsigned line;
    char **errmsg;
} config_reader;

static ms_status config_error(config_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static ms_status config_error(config_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = ms_vasprintf(fmt, ap);
    va_end(ap);
    *r->errmsg = ms_asprintf("%s:%u: %s", r->path, r->line, what ? what : "out of memory");
    free(what);
    return MS_ERR_INVALID;
}

/* Splits the line into at most max words at white space; *count is how
 * many there were (more than max is counted, not stored). */
static void split_words(char *line, char **words, size_t max, size_t *count)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (n < max)
            words[n] = p;
        n++;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (*p != '\0')
            *p++ = '\0';
    }
    *count = n;
}

static ms_status grow(void **items, size_t *count, size_t size, config_reader *r)
{
    if (*count >= MS_MILTER_MAX_LIST)
        return config_error(r, "more than %u entries of this key", MS_MILTER_MAX_LIST);
    void *bigger = realloc(*items, (*count + 1) * size);
    if (bigger == NULL)
        return MS_ERR_NOMEM;
    *items = bigger;
    return MS_OK;
}

static ms_status add_string(char ***list, size_t *count, const char *value, config_reader *r)
{
    ms_status st = grow((void **)list, count, sizeof **list, r);
    if (st != MS_OK)
        return st;
    char *copy = ms_strdup(value);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    for (char *p = copy; *p; p++)
        *p = (char)ms_ascii_lower((unsigned char)*p);
    (*list)[(*count)++] = copy;
    return MS_OK;
}

static ms_status add_net(ms_milter_net **list, size_t *count, const char *value, config_reader *r)
{
    ms_milter_net net;
    if (milter_net_parse(value, &net) != 0)
        return config_error(r, "'%s' is not an IP address or ADDRESS/PREFIX", value);
    ms_status st = grow((void **)list, count, sizeof **list, r);
    if (st != MS_OK)
        return st;
    (*list)[(*count)++] = net;
    return MS_OK;
}

static ms_status add_key(ms_milter_config *c, char **w, config_reader *r)
{
    char *domain = NULL;
    ms_status st = ms_domain_normalize(w[0], &domain);
    if (st == MS_ERR_NOMEM)
        return st; /* not the line's fault */
    if (st != MS_OK ||
        !ms_domain_check(domain, strlen(domain), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE)) {
        free(domain);
        return config_error(r, "'%s' is not a domain name", w[0]);
    }
    if (!ms_domain_check(w[1], strlen(w[1]), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE)) {
        free(domain);
        return config_error(r, "'%s' is not a selector (DNS labels)", w[1]);
    }
    st = grow((void **)&c->keys, &c->key_count, sizeof *c->keys, r);
    if (st != MS_OK) {
        free(domain);
        return st;
    }
    ms_milter_sign_key *k = &c->keys[c->key_count];
    memset(k, 0, sizeof *k);
    k->domain = domain;
    k->selector = ms_strdup(w[1]);
    k->path = ms_strdup(w[2]);
    c->key_count++;
    if (k->selector == NULL || k->path == NULL)
        return MS_ERR_NOMEM;
    char *why = NULL;
    st = ms_dkim_privkey_load(k->path, &k->key, &why);
    if (st != MS_OK) {
        ms_status err = st == MS_ERR_NOMEM
                            ? st
                            : config_error(r, "key %s: %s", k->path, why ? why : ms_status_str(st));
        free(why);
        return err;
    }
    return MS_OK;
}

static ms_status set_string(char **field, const char *value)
{
    free(*field);
    *field = ms_strdup(value);
    return *field ? MS_OK : MS_ERR_NOMEM;
}

/* A whole number within [min, max]. */
static ms_status set_number(unsigned long *out, const char *value, unsigned long min,
                            unsigned long max, config_reader *r)
{
    if (*value < '0' || *value > '9' || strlen(value) > 10)
        return config_error(r, "'%s' is not a number from %lu to %lu", value, min, max);
    for (const char *p = value; *p; p++)
        if (*p < '0' || *p > '9')
            return config_error(r, "'%s' is not a number from %lu to %lu", value, min, max);
    unsigned long n = strtoul(value, NULL, 10);
    if (n < min || n > max)
        return config_error(r, "'%s' is not a number from %lu to %lu", value, min, max);
    *out = n;
    return MS_OK;
}

typedef struct action_word {
    const char *word;
    ms_milter_action action;
} action_word;

static ms_status set_action(ms_milter_action *out, const char *value, const action_word *words,
                            size_t count, config_reader *r)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(value, words[i].word) == 0) {
            *out = words[i].action;
            return MS_OK;
        }
    }
    char allowed[96] = "";
    for (size_t i = 0; i < count; i++) {
        strncat(allowed, i ? ", " : "", sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, words[i].word, sizeof allowed - strlen(allowed) - 1);
    }
    return config_error(r, "'%s' is not one of %s", value, allowed);
}

static const action_word reject_words[] = {
    {"reject", MS_MILTER_REJECT}, {"quarantine", MS_MILTER_QUARANTINE}, {"none", MS_MILTER_ACCEPT}};
static const action_word quarantine_words[] = {
    {"quarantine", MS_MILTER_QUARANTINE}, {"header", MS_MILTER_HEADER}, {"none", MS_MILTER_ACCEPT}};
static const action_word error_words[] = {
    {"tempfail", MS_MILTER_TEMPFAIL}, {"accept", MS_MILTER_ACCEPT}};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const action_word yes_no_words[] = {{"yes", 1}, {"no", 0}};
static const action_word on_off_words[] = {{"on", 1}, {"off", 0}};
/* the values are ms_report_redact's */
static const action_word redact_words[] = {{"local-part", 1}, {"none", 0}};

/* "HOST:PORT" as `report send --smtp` takes it. */
static int is_host_port(const char *v)
{
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v || colon[1] == '\0' || strlen(colon + 1) > 5)
        return 0;
    for (const char *p = colon + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    long port = strtol(colon + 1, NULL, 10);
    for (const char *p = v; p < colon; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == '@')
            return 0;
    return port > 0 && port < 65536;
}

/* The failure-* keys (failure reports, docs/milter.md); 1 when key is not one. */
static int failure_key(ms_milter_config *c, const char *key, const char *v, config_reader *r,
                       ms_status *st)
{
    ms_milter_action a;
    unsigned long number;
    if (strcmp(key, "failure-reports") == 0) {
        if ((*st = set_action(&a, v, on_off_words, COUNT(on_off_words), r)) == MS_OK)
            c->failure_reports = a == 1;
    } else if (strcmp(key, "failure-redact") == 0) {
        if ((*st = set_action(&a, v, redact_words, COUNT(redact_words), r)) == MS_OK)
            c->failure_redact = a == 1 ? MS_REPORT_REDACT_LOCAL_PART : MS_REPORT_REDACT_NONE;
    } else if (strcmp(key, "failure-from") == 0) {
        *st = report_send_address_usable(v) ? set_string(&c->failure_from, v)
                                            : config_error(r, "'%s' is not a mail address", v);
    } else if (strcmp(key, "failure-interval") == 0) {
        if ((*st = set_number(&number, v, 1, 30u * 86400u, r)) == MS_OK)
            c->failure_interval = (unsigned)number;
    } else if (strcmp(key, "failure-sendmail") == 0) {
        *st = v[0] == '/' ? set_string(&c->failure_sendmail, v)
                          : config_error(r, "'%s' is not an absolute path", v);
    } else if (strcmp(key, "failure-smtp") == 0) {
        *st = is_host_port(v) ? set_string(&c->failure_smtp, v)
                              : config_error(r, "'%s' is not HOST:PORT", v);
    } else {
        return 1;
    }
    return 0;
}

/* One "key value..." line. */
static ms_status config_line(ms_milter_config *c, char **w, size_t n, config_reader *r)
{
    const char *key = w[0];
    size_t want = strcmp(key, "sign") == 0 ? 4 : 2;
    if (n != want)
        return config_error(r, "%s takes %zu value%s, not %zu", key, want - 1,
                            want == 2 ? "" : "s", n - 1);
    const char *v = w[1];
    unsigned long number;
    ms_status st;
    ms_milter_action a;
    if (strcmp(key, "authserv-id") == 0) {
        if (!ms_domain_check(v, strlen(v), MS_DOMAIN_LDH | MS_DOMAIN_HOSTNAME))
            return config_error(r, "'%s' is not a host name", v);
        return set_string(&c->authserv_id, v);
    }
    if (strcmp(key, "sign") == 0)
        return add_key(c, w + 1, r);
    if (strcmp(key, "relay") == 0)
        return add_net(&c->relays, &c->relay_count, v, r);
    if (strcmp(key, "forwarder-ip") == 0)
        return add_net(&c->forwarder_ips, &c->forwarder_ip_count, v, r);
    if (strcmp(key, "forwarder-domain") == 0) {
        if (!ms_domain_check(v, strlen(v), MS_DOMAIN_LDH | MS_DOMAIN_UNDERSCORE))
            return config_error(r, "'%s' is not a domain name", v);
        return add_string(&c->forwarder_domains, &c->forwarder_domain_count, v, r);
    }
    if (strcmp(key, "mailing-list") == 0)
        return add_string(&c->lists, &c->list_count, v, r);
    if (strcmp(key, "on-reject") == 0)
        return set_action(&c->on_reject, v, reject_words, COUNT(reject_words), r);
    if (strcmp(key, "on-quarantine") == 0)
        return set_action(&c->on_quarantine, v, quarantine_words, COUNT(quarantine_words), r);
    if (strcmp(key, "on-error") == 0)
        return set_action(&c->on_error, v, error_words, COUNT(error_words), r);
    if (strcmp(key, "quarantine-header") == 0) {
        for (const char *p = v; *p; p++)
            if (*p < 33 || *p > 126 || *p == ':')
                return config_error(r, "'%s' is not a header field name", v);
        return set_string(&c->quarantine_header, v);
    }
    if (strcmp(key, "timeout") == 0) {
        if ((st = set_number(&number, v, 1, 600, r)) != MS_OK)
            return st;
        c->timeout_ms = (unsigned)number * 1000u;
        return MS_OK;
    }
    if (strcmp(key, "max-header-bytes") == 0) {
        if ((st = set_number(&number, v, 4096, MS_DKIM_MAX_HEADER_BYTES, r)) != MS_OK)
            return st;
        c->max_header_bytes = number;
        return MS_OK;
    }
    if (strcmp(key, "store") == 0)
        return set_string(&c->store_url, v);
    if (strcmp(key, "resolver") == 0)
        return set_string(&c->resolver, v);
    if (strcmp(key, "trust-anchor") == 0)
        return set_string(&c->trust_anchor, v);
    if (strcmp(key, "syslog") == 0) {
        if ((st = set_action(&a, v, yes_no_words, COUNT(yes_no_words), r)) != MS_OK)
            return st;
        c->syslog = a == 1;
        return MS_OK;
    }
    if (failure_key(c, key, v, r, &st) == 0)
        return st;
    return config_error(r, "unknown key '%s'", key);
}

static ms_status read_file(const char *path, char **text, size_t *len, char **errmsg)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *errmsg = ms_asprintf("%s: %s", path, strerror(errno));
        return MS_ERR_IO;
    }
    char *buf = malloc(MS_MILTER_MAX_CONFIG_BYTES + 1);
    if (buf == NULL) {
        fclose(f);
        return MS_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, MS_MILTER_MAX_CONFIG_BYTES + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        *errmsg = ms_asprintf("%s: read error", path);
        return MS_ERR_IO;
    }
    if (n > MS_MILTER_MAX_CONFIG_BYTES) {
        free(buf);
        *errmsg = ms_asprintf("%s: larger than %u bytes", path, MS_MILTER_MAX_CONFIG_BYTES);
        return MS_ERR_LIMIT;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return MS_OK;
}

static ms_status config_parse(ms_milter_config *c, char *text, size_t len, config_reader *r)
{
    char *p = text, *end = text + len;
    while (p < end) {
        r->line++;
        char *eol = memchr(p, '\n', (size_t)(end - p));
        char *next = eol ? eol + 1 : end;
        if (eol == NULL)
            eol = end;
        if (memchr(p, '\0', (size_t)(eol - p)) != NULL)
            return config_error(r, "a NUL byte in the line");
        *eol = '\0';
        if (eol > p && eol[-1] == '\r')
            eol[-1] = '\0';
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        char *words[5];
        size_t n;
        split_words(p, words, 5, &n);
        if (n > 0) {
            ms_status st = config_line(c, words, n, r);
            if (st != MS_OK)
                return st;
        }
        p = next;
    }
    /* Without relay lines, the host itself is the relay: Postfix hands the
     * sendmail command's mail over as a connection from 127.0.0.1 */
    if (c->relay_count == 0) {
        c->relays = calloc(2, sizeof *c->relays);
        if (c->relays == NULL)
            return MS_ERR_NOMEM;
        milter_net_parse("127.0.0.1", &c->relays[0]);
        milter_net_parse("::1", &c->relays[1]);
        c->relay_count = 2;
    }
    r->line = 0;
    if (c->authserv_id == NULL) {
        *r->errmsg = ms_asprintf("%s: authserv-id is required", r->path);
        return MS_ERR_INVALID;
    }
    if (c->failure_reports && c->failure_from == NULL) {
        *r->errmsg = ms_asprintf("%s: failure-reports on requires failure-from", r->path);
        return MS_ERR_INVALID;
    }
    return MS_OK;
}

ms_status ms_milter_config_load(const char *path, ms_milter_config **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    /* every message's DKIM needs OpenSSL: a milter without it is refused
     * here, with the package to install, not at its first message */
    if (ms_lazy_load(&ms_crypto_lib) != MS_OK) {
        *errmsg = ms_strdup(ms_lazy_error(&ms_crypto_lib));
        return MS_ERR_IO;
    }
    ms_milter_config *c = calloc(1, sizeof *c);
    if (c == NULL)
        return MS_ERR_NOMEM;
    c->on_reject = MS_MILTER_REJECT;
    c->on_quarantine = MS_MILTER_QUARANTINE;
    c->on_error = MS_MILTER_TEMPFAIL;
    c->timeout_ms = MS_MILTER_DEFAULT_TIMEOUT_MS;
    c->max_header_bytes = MS_MILTER_DEFAULT_HEADER_BYTES;
    c->quarantine_header = ms_strdup("X-Mailsec-Quarantine");
    c->failure_redact = MS_REPORT_REDACT_LOCAL_PART;
    c->failure_interval = MS_MILTER_DEFAULT_FAILURE_INTERVAL;
    c->failure_sendmail = ms_strdup("/usr/sbin/sendmail");
    char *text = NULL;
    size_t len = 0;
    ms_status st = c->quarantine_header && c->failure_sendmail
                       ? read_file(path, &text, &len, errmsg)
                       : MS_ERR_NOMEM;
    if (st == MS_OK) {
        config_reader r = {path, 0, errmsg};
        st = config_parse(c, text, len, &r);
    }
    free(text);
    if (st != MS_OK) {
        ms_milter_config_free(c);
        return st;
    }
    *out = c;
    return MS_OK;
}

static void free_strings(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

void ms_milter_config_free(ms_milter_config *c)
{
    if (c == NULL)
        return;
    free(c->authserv_id);
    for (size_t i = 0; i < c->key_count; i++) {
        free(c->keys[i].domain);
        free(c->keys[i].selector);
        free(c->keys[i].path);
        ms_dkim_privkey_free(c->keys[i].key);
    }
    free(c->keys);
    free(c->relays);
    free(c->forwarder_ips);
    free_strings(c->forwarder_domains, c->forwarder_domain_count);
    free_strings(c->lists, c->list_count);
    free(c->quarantine_header);
    free(c->store_url);
    free(c->resolver);
    free(c->trust_anchor);
    free(c->failure_from);
    free(c->failure_sendmail);
    free(c->failure_smtp);
    free(c);
}

ms_status ms_milter_ctx_new(const ms_milter_config *config, ms_ctx **out)
{
    ms_ctx *ctx = NULL;
    ms_status st = ms_ctx_new(&ctx);
    if (st == MS_OK && config->resolver)
        st = ms_ctx_set_resolver(ctx, config->resolver);
    if (st == MS_OK && config->trust_anchor)
        st = ms_ctx_set_trust_anchor_file(ctx, config->trust_anchor);
    if (st == MS_OK)
        st = ms_ctx_set_timeout_ms(ctx, config->timeout_ms);
    if (st != MS_OK) {
        ms_ctx_free(ctx);
        return st;
    }
    *out = ctx;
    return MS_OK;
}
