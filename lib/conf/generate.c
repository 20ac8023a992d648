/* `mailsec conf generate`: the settings of a Mozilla profile (Server Side
 * TLS guidelines 5.7, https://ssl-config.mozilla.org, postfix and dovecot
 * templates) in the names of the given version, as snippets, or as edits
 * of the files in place that keep comments and unrelated settings. The
 * audit compares a configuration with the same settings (cf_profile_wants),
 * so the two never disagree. */
#include "internal.h"
#include "core/file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Mozilla's intermediate list is its ECDHE suites, then three DHE ones,
 * which need DH parameters on the server. */
#define MOZILLA_ECDHE                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
const char MS_CONF_MOZILLA_INTERMEDIATE_CIPHERS[] =
    MOZILLA_ECDHE ":DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

/* SMTP AUTH: Postfix's smtpd asks Dovecot's auth service over a unix
 * socket in Postfix's queue directory. smtpd_sasl_path is relative to
 * queue_directory (smtpd runs there, chrooted or not); Dovecot needs the
 * full path, which assumes the default queue_directory /var/spool/postfix.
 * Postfix's mail_owner (postfix) connects: the socket is its, mode 0660. */
#define POSTFIX_SASL_PATH "private/auth"
#define DOVECOT_AUTH_SOCKET "/var/spool/postfix/" POSTFIX_SASL_PATH
static const char DOVECOT_AUTH_LISTENER[] =
    "# SASL: Postfix's smtpd_sasl_path = " POSTFIX_SASL_PATH " (queue_directory /var/spool/postfix)\n"
    "service auth {\n"
    "  unix_listener " DOVECOT_AUTH_SOCKET " {\n"
    "    mode = 0660\n"
    "    user = postfix\n"
    "    group = postfix\n"
    "  }\n"
    "}\n";

ms_conf_profile ms_conf_profile_from_name(const char *name)
{
    if (name && strcmp(name, "intermediate") == 0)
        return MS_CONF_PROFILE_INTERMEDIATE;
    if (name && strcmp(name, "modern") == 0)
        return MS_CONF_PROFILE_MODERN;
    return MS_CONF_PROFILE_NONE;
}

static void want(cf_want *out, size_t *n, const char *name, char *value)
{
    if (*n < CF_MAX_WANTS) {
        out[*n].name = name;
        out[*n].value = value;
        (*n)++;
    } else {
        free(value);
    }
}

void cf_wants_free(cf_want *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i].value);
}

static size_t postfix_wants(const ms_conf_generate_opts *o, cf_want *out, const char **error)
{
    size_t n = 0;
    int modern = o->profile == MS_CONF_PROFILE_MODERN;
    if (o->version < 30 || o->version > 39) {
        *error = "Postfix versions 3.0 to 3.9 are known (--version 3.7)";
        return 0;
    }
    if (o->chain_file && o->version < 34) {
        *error = "smtpd_tls_chain_files needs Postfix 3.4 or later; give the certificate file with its chain as --cert";
        return 0;
    }
    want(out, &n, "smtpd_tls_security_level", strdup("may"));
    want(out, &n, "smtpd_tls_auth_only", strdup("yes"));
    if (o->cert_file && o->key_file) {
        if (o->version >= 34)
            want(out, &n, "smtpd_tls_chain_files",
                 o->chain_file ? ms_asprintf("%s, %s, %s", o->key_file, o->cert_file, o->chain_file)
                               : ms_asprintf("%s, %s", o->key_file, o->cert_file));
        else {
            want(out, &n, "smtpd_tls_cert_file", strdup(o->cert_file));
            want(out, &n, "smtpd_tls_key_file", strdup(o->key_file));
        }
    }
    /* ">=" is Postfix 3.6 syntax; older versions take the exclusion list */
    const char *protocols = o->version >= 36 ? (modern ? ">=TLSv1.3" : ">=TLSv1.2")
                            : modern          ? "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1, !TLSv1.2"
                                              : "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1";
    want(out, &n, "smtpd_tls_protocols", strdup(protocols));
    want(out, &n, "smtpd_tls_mandatory_protocols", strdup(protocols));
    if (!modern) {
        want(out, &n, "smtpd_tls_mandatory_ciphers", strdup("medium"));
        want(out, &n, "tls_medium_cipherlist", strdup(MS_CONF_MOZILLA_INTERMEDIATE_CIPHERS));
    }
    want(out, &n, "tls_preempt_cipherlist", strdup("no"));
    return n;
}

static size_t dovecot_wants(const ms_conf_generate_opts *o, int dh_params, cf_want *out,
                            const char **error)
{
    size_t n = 0;
    int modern = o->profile == MS_CONF_PROFILE_MODERN;
    if (o->version != 22 && o->version != 23 && o->version != 24) {
        *error = "Dovecot versions 2.2, 2.3 and 2.4 are known (--version 2.3)";
        return 0;
    }
    if (o->chain_file) {
        *error = "Dovecot reads the chain from the certificate file: make one with "
                 "\"mailsec cert bundle --format dovecot\" and give it as --cert";
        return 0;
    }
    int v24 = o->version == 24;
    want(out, &n, "ssl", strdup("required"));
    if (o->cert_file && o->key_file) {
        if (v24) {
            want(out, &n, "ssl_server_cert_file", strdup(o->cert_file));
            want(out, &n, "ssl_server_key_file", strdup(o->key_file));
        } else {
            want(out, &n, "ssl_cert", ms_asprintf("<%s", o->cert_file));
            want(out, &n, "ssl_key", ms_asprintf("<%s", o->key_file));
        }
    }
    if (o->version == 22) {
        /* 2.2 has no ssl_min_protocol, and makes its own DH parameters:
         * 1024 bits unless told otherwise, too few for the DHE suites */
        want(out, &n, "ssl_protocols", strdup(modern ? "!SSLv2 !SSLv3 !TLSv1 !TLSv1.1 !TLSv1.2"
                                                     : "!SSLv2 !SSLv3 !TLSv1 !TLSv1.1"));
        if (!modern)
            want(out, &n, "ssl_dh_parameters_length", strdup("2048"));
    } else {
        want(out, &n, "ssl_min_protocol", strdup(modern ? "TLSv1.3" : "TLSv1.2"));
    }
    /* 2.3 and 2.4 read DH parameters from ssl_dh / ssl_server_dh_file only:
     * without them the DHE suites are dead text (2.2 makes its own) */
    if (!modern)
        want(out, &n, "ssl_cipher_list",
             strdup(dh_params || o->version == 22 ? MS_CONF_MOZILLA_INTERMEDIATE_CIPHERS
                                                  : MOZILLA_ECDHE));
    if (v24) {
        want(out, &n, "ssl_server_prefer_ciphers", strdup("client"));
        want(out, &n, "auth_allow_cleartext", strdup("no"));
    } else {
        want(out, &n, "ssl_prefer_server_ciphers", strdup("no"));
        want(out, &n, "disable_plaintext_auth", strdup("yes"));
    }
    return n;
}

const char cf_no_memory[] = "out of memory";

size_t cf_profile_wants(const ms_conf_generate_opts *opts, int dh_params, cf_want *out,
                        const char **error)
{
    *error = NULL;
    if (opts->profile == MS_CONF_PROFILE_NONE) {
        *error = "give --profile modern or --profile intermediate";
        return 0;
    }
    size_t n = opts->server == MS_CONF_POSTFIX ? postfix_wants(opts, out, error)
                                               : dovecot_wants(opts, dh_params, out, error);
    for (size_t i = 0; i < n; i++)
        if (out[i].value == NULL) {
            cf_wants_free(out, n);
            *error = cf_no_memory;
            return 0;
        }
    return n;
}

const char *const *cf_replaced_names(const ms_conf_generate_opts *opts)
{
    static const char *const POSTFIX_OLD[] = {"smtpd_use_tls", "smtpd_enforce_tls",
        "smtpd_tls_dh1024_param_file", "smtpd_tls_eecdh_grade", NULL};
    static const char *const POSTFIX_OLD_CHAIN[] = {"smtpd_use_tls", "smtpd_enforce_tls",
        "smtpd_tls_dh1024_param_file", "smtpd_tls_eecdh_grade", "smtpd_tls_cert_file",
        "smtpd_tls_key_file", "smtpd_tls_eccert_file", "smtpd_tls_eckey_file",
        "smtpd_tls_dcert_file", "smtpd_tls_dkey_file", NULL};
    /* every version: the 1.x names of what is written (ssl_cert_file, ...);
     * 2.2: the 2.3 names it refuses */
    static const char *const DOVECOT_22_OLD[] = {"ssl_disable", "ssl_cert_file", "ssl_key_file",
        "ssl_min_protocol", "ssl_dh", NULL};
    static const char *const DOVECOT_23_OLD[] = {"ssl_disable", "ssl_cert_file", "ssl_key_file",
        "ssl_dh_parameters_length", "ssl_protocols", "ssl_parameters_regenerate", NULL};
    static const char *const DOVECOT_24_OLD[] = {"ssl_disable", "ssl_cert_file", "ssl_key_file",
        "ssl_dh_parameters_length", "ssl_protocols", "ssl_parameters_regenerate", "ssl_cert",
        "ssl_key", "ssl_dh", "ssl_ca", "ssl_prefer_server_ciphers", "disable_plaintext_auth",
        "ssl_key_password", NULL};
    /* modern is TLS 1.3 only: a TLS 1.2 cipher list is dead text (and an
     * old weak one would still alarm the audit), and so are DH parameters */
    static const char *const DOVECOT_22_MODERN_OLD[] = {"ssl_disable", "ssl_cert_file",
        "ssl_key_file", "ssl_min_protocol", "ssl_dh", "ssl_cipher_list", NULL};
    static const char *const DOVECOT_23_MODERN_OLD[] = {"ssl_disable", "ssl_cert_file",
        "ssl_key_file", "ssl_dh_parameters_length", "ssl_protocols", "ssl_parameters_regenerate",
        "ssl_cipher_list", NULL};
    static const char *const DOVECOT_24_MODERN_OLD[] = {"ssl_disable", "ssl_cert_file",
        "ssl_key_file", "ssl_dh_parameters_length", "ssl_protocols", "ssl_parameters_regenerate",
        "ssl_cert", "ssl_key", "ssl_dh", "ssl_ca", "ssl_prefer_server_ciphers",
        "disable_plaintext_auth", "ssl_key_password", "ssl_cipher_list", NULL};
    int modern = opts->profile == MS_CONF_PROFILE_MODERN;
    if (opts->server == MS_CONF_POSTFIX)
        return opts->version >= 34 && opts->cert_file ? POSTFIX_OLD_CHAIN : POSTFIX_OLD;
    if (opts->version == 24)
        return modern ? DOVECOT_24_MODERN_OLD : DOVECOT_24_OLD;
    if (opts->version == 22)
        return modern ? DOVECOT_22_MODERN_OLD : DOVECOT_22_OLD;
    return modern ? DOVECOT_23_MODERN_OLD : DOVECOT_23_OLD;
}

/* ---- snippets ---- */

static const char *profile_name(ms_conf_profile p)
{
    return p == MS_CONF_PROFILE_MODERN ? "modern" : "intermediate";
}

/* master.cf: the submission (587, STARTTLS required before AUTH) and
 * submissions (465, TLS at once) services, as in the stock master.cf of
 * the version: Postfix 3.5 renamed the 465 service from "smtps" to
 * "submissions" (RFC 8314's name); both names mean port 465. chroot is
 * the chroot field, as the existing smtp service has it ("y" in Debian's
 * master.cf, "n" or "-" in others: running chrooted needs the copied
 * files that packaging sets up). Both services ask Dovecot's auth
 * listener (DOVECOT_AUTH_LISTENER) for SMTP AUTH. Both blocks are
 * allocated. */
#define SASL_OVERRIDES                                                                             \
    "  -o smtpd_sasl_auth_enable=yes\n"                                                            \
    "  -o smtpd_sasl_type=dovecot\n"                                                               \
    "  -o smtpd_sasl_path=" POSTFIX_SASL_PATH "\n"                                                 \
    "  -o smtpd_tls_auth_only=yes\n"
static int master_services(int version, const char *chroot, char *blocks[2])
{
    blocks[0] = ms_asprintf("submission inet n       -       %-7s -       -       smtpd\n"
                            "  -o syslog_name=postfix/submission\n"
                            "  -o smtpd_tls_security_level=encrypt\n" SASL_OVERRIDES,
                            chroot);
    const char *name = version >= 35 ? "submissions" : "smtps";
    blocks[1] = ms_asprintf("%s       -       %-7s -       -       smtpd\n"
                            "  -o syslog_name=postfix/%s\n"
                            "  -o smtpd_tls_wrappermode=yes\n" SASL_OVERRIDES,
                            version >= 35 ? "submissions inet n" : "smtps     inet  n", chroot, name);
    if (blocks[0] && blocks[1])
        return 1;
    free(blocks[0]), free(blocks[1]);
    return 0;
}

/* The chroot field of master.cf's service on port 25 (smtpd or
 * postscreen), or "y" (Debian's) when there is none. Allocated. */
static char *smtp_chroot(const char *master_text)
{
    ms_conf_mastercf cf;
    ms_diag_list ignored = MS_DIAG_LIST_INIT; /* the audit reports the syntax */
    const char *chroot = "y";
    char *out = NULL;
    if (ms_conf_mastercf_parse(master_text, strlen(master_text), "master.cf", &cf, &ignored) == MS_OK) {
        for (size_t i = 0; i < cf.count; i++)
            if (strcmp(cf.services[i].type, "inet") == 0 && ms_conf_service_port(&cf.services[i]) == 25) {
                chroot = cf.services[i].chroot;
                break;
            }
        out = ms_strdup(chroot);
        ms_conf_mastercf_free(&cf);
    } else {
        out = ms_strdup(chroot);
    }
    ms_diag_list_free(&ignored);
    return out;
}

/* What TLS 1.2 and newer on port 25 means for mail from old senders. */
static const char PORT25_NOTE[] =
    "# TLS: smtpd_tls_protocols applies to port 25 too: a sender that cannot speak\n"
    "# TLS: TLS 1.2 fails the handshake there and usually sends in plaintext instead\n"
    "# TLS: (opportunistic TLS), so its mail still arrives, unencrypted.\n";

ms_status ms_conf_generate(const ms_conf_generate_opts *opts, ms_conf_snippets *out)
{
    memset(out, 0, sizeof *out);
    if (opts->cert_file == NULL || opts->key_file == NULL) {
        out->error = strdup("give --cert FILE and --key FILE");
        return MS_ERR_INVALID;
    }
    cf_want w[CF_MAX_WANTS];
    const char *error;
    size_t n = cf_profile_wants(opts, 0, w, &error); /* a snippet cannot see ssl_dh */
    if (n == 0) {
        out->error = strdup(error);
        return MS_ERR_INVALID;
    }
    ms_buf b = MS_BUF_INIT;
    if (opts->server == MS_CONF_POSTFIX)
        ms_buf_printf(&b, "# mailsec conf generate: Mozilla %s profile, Postfix %d.%d\n%s",
                      profile_name(opts->profile), opts->version / 10, opts->version % 10,
                      PORT25_NOTE);
    else
        ms_buf_printf(&b, "# mailsec conf generate: Mozilla %s profile, Dovecot %d.%d\n",
                      profile_name(opts->profile), opts->version / 10, opts->version % 10);
    for (size_t i = 0; i < n; i++)
        ms_buf_printf(&b, "%s = %s\n", w[i].name, w[i].value);
    cf_wants_free(w, n);
    char *text = ms_buf_take(&b);
    if (text == NULL)
        return MS_ERR_NOMEM;
    if (opts->server == MS_CONF_POSTFIX) {
        out->main_cf = text;
        char *blocks[2];
        if (master_services(opts->version, "y", blocks)) {
            out->master_cf = ms_asprintf("%s%s", blocks[0], blocks[1]);
            free(blocks[0]), free(blocks[1]);
        }
        if (out->master_cf == NULL)
            return MS_ERR_NOMEM;
    } else {
        out->dovecot = ms_asprintf("%s%s", text, DOVECOT_AUTH_LISTENER);
        free(text);
        if (out->dovecot == NULL)
            return MS_ERR_NOMEM;
    }
    return MS_OK;
}

void ms_conf_snippets_free(ms_conf_snippets *s)
{
    free(s->main_cf);
    free(s->master_cf);
    free(s->dovecot);
    free(s->error);
    memset(s, 0, sizeof *s);
}

/* ---- edits in place ---- */

/* The file as lines (each keeps its '\n'), to replace some and add others. */
typedef struct lines {
    char **line;
    size_t count;
} lines;

static int lines_split(const char *text, lines *l)
{
    memset(l, 0, sizeof *l);
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        char **grown = realloc(l->line, (l->count + 1) * sizeof *grown);
        if (grown == NULL)
            return 0;
        l->line = grown;
        if ((grown[l->count] = strndup(p, n)) == NULL)
            return 0;
        l->count++;
        p += n;
    }
    return 1;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->line[i]);
    free(l->line);
}

static char *lines_join(const lines *l, const char *append)
{
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "");
    for (size_t i = 0; i < l->count; i++)
        if (l->line[i])
            ms_buf_puts(&b, l->line[i]);
    if (append && *append) {
        if (b.len > 0 && b.data[b.len - 1] != '\n')
            ms_buf_puts(&b, "\n");
        ms_buf_puts(&b, append);
    }
    return ms_buf_take(&b);
}

static int starts_blank(const char *s)
{
    return *s == ' ' || *s == '\t';
}

static int is_comment_or_blank(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return *s == '#' || *s == '\n' || *s == '\r' || *s == '\0';
}

/* Postfix: the continuation lines after line i. */
static size_t continuation_end(const lines *l, size_t i)
{
    size_t j = i + 1;
    while (j < l->count && l->line[j] && starts_blank(l->line[j]) && !is_comment_or_blank(l->line[j]))
        j++;
    return j;
}

static void comment_out(lines *l, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++) {
        char *c = ms_asprintf("#mailsec: %s", l->line[k]);
        if (c) {
            free(l->line[k]);
            l->line[k] = c;
        }
    }
}

static int name_in(const char *name, const char *const *names)
{
    for (; *names; names++)
        if (strcmp(*names, name) == 0)
            return 1;
    return 0;
}

/* A top-level setting line (Postfix: not indented; Dovecot: depth 0). */
static int setting_name(const char *line, char *name, size_t size)
{
    size_t n = 0;
    while (line[n] && (isalnum((unsigned char)line[n]) || line[n] == '_') && n + 1 < size) {
        name[n] = line[n];
        n++;
    }
    name[n] = '\0';
    const char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    return n > 0 && *p == '=';
}

/* Replaces, comments out and appends the wanted settings in text.
 * dovecot: lines inside sections are left alone (brace depth). */
static char *edit_settings(const char *text, const cf_want *w, size_t n,
                           const char *const *replaced, int dovecot, const char *header)
{
    lines l;
    if (!lines_split(text, &l)) {
        lines_free(&l);
        return NULL;
    }
    int done[CF_MAX_WANTS] = {0};
    int depth = 0;
    for (size_t i = 0; i < l.count; i++) {
        const char *line = l.line[i];
        const char *start = line;
        while (dovecot && (*start == ' ' || *start == '\t'))
            start++;
        char name[128];
        int top = dovecot ? depth == 0 : !starts_blank(line);
        if (dovecot && !is_comment_or_blank(line)) {
            for (const char *c = start; *c && *c != '#'; c++)
                depth += *c == '{' ? 1 : *c == '}' ? -1 : 0;
            if (depth < 0)
                depth = 0;
        }
        if (!top || is_comment_or_blank(line) || !setting_name(start, name, sizeof name))
            continue;
        size_t end = dovecot ? i + 1 : continuation_end(&l, i);
        size_t k = 0;
        while (k < n && strcmp(w[k].name, name) != 0)
            k++;
        if (k < n) {
            /* a later line of the same name would win over this one: the
             * first is changed, the others commented out */
            if (done[k]) {
                comment_out(&l, i, end);
            } else {
                char *repl = ms_asprintf("%s = %s\n", w[k].name, w[k].value);
                if (repl) {
                    free(l.line[i]);
                    l.line[i] = repl;
                    for (size_t j = i + 1; j < end; j++) {
                        free(l.line[j]);
                        l.line[j] = NULL;
                    }
                }
                done[k] = 1;
            }
        } else if (name_in(name, replaced)) {
            comment_out(&l, i, end);
        }
        i = end - 1;
    }
    ms_buf add = MS_BUF_INIT;
    ms_buf_puts(&add, "");
    for (size_t k = 0; k < n; k++)
        if (!done[k]) {
            if (add.len == 0 && header)
                ms_buf_puts(&add, header);
            ms_buf_printf(&add, "%s = %s\n", w[k].name, w[k].value);
        }
    char *extra = ms_buf_take(&add);
    char *out = extra ? lines_join(&l, extra) : NULL;
    free(extra);
    lines_free(&l);
    return out;
}

/* master.cf: the services listening on port (an uncommented first line
 * whose port is port) are replaced by the new text; else it is appended. */
static char *edit_master(const char *text, const char *const *blocks, const int *ports, size_t count)
{
    lines l;
    if (!lines_split(text, &l)) {
        lines_free(&l);
        return NULL;
    }
    int done[4] = {0};
    for (size_t i = 0; i < l.count; i++) {
        if (l.line[i] == NULL || starts_blank(l.line[i]) || is_comment_or_blank(l.line[i]))
            continue;
        char svc[128], type[16];
        if (sscanf(l.line[i], "%127s %15s", svc, type) != 2)
            continue;
        ms_conf_service s = {.name = svc, .type = type};
        int port = ms_conf_service_port(&s);
        size_t end = continuation_end(&l, i);
        for (size_t k = 0; k < count; k++) {
            if (port != ports[k])
                continue;
            if (done[k]) {
                comment_out(&l, i, end);
            } else {
                free(l.line[i]);
                l.line[i] = strdup(blocks[k]);
                for (size_t j = i + 1; j < end; j++) {
                    free(l.line[j]);
                    l.line[j] = NULL;
                }
                done[k] = 1;
            }
        }
        i = end - 1;
    }
    ms_buf add = MS_BUF_INIT;
    ms_buf_puts(&add, "");
    for (size_t k = 0; k < count; k++)
        if (!done[k])
            ms_buf_puts(&add, blocks[k]);
    char *extra = ms_buf_take(&add);
    char *out = extra ? lines_join(&l, extra) : NULL;
    free(extra);
    lines_free(&l);
    return out;
}

static ms_status add_edit(ms_conf_edits *e, const char *path, char *old_text, char *new_text)
{
    ms_conf_edit *grown = realloc(e->files, (e->count + 1) * sizeof *grown);
    if (grown == NULL || new_text == NULL) {
        free(old_text), free(new_text);
        if (grown)
            e->files = grown;
        return MS_ERR_NOMEM;
    }
    e->files = grown;
    ms_conf_edit *f = &grown[e->count++];
    f->path = strdup(path);
    f->old_text = old_text;
    f->new_text = new_text;
    f->backup = NULL;
    f->changed = old_text == NULL || strcmp(old_text, new_text) != 0;
    return f->path ? MS_OK : MS_ERR_NOMEM;
}

static char *read_or_error(const char *path, ms_conf_edits *out)
{
    size_t len;
    char *error = NULL, *text;
    if (cf_read_file(path, &text, &len, &error) != MS_OK)
        out->error = error;
    return text;
}

static ms_status plan_postfix(const ms_conf_generate_opts *opts, const char *dir, const cf_want *w,
                              size_t n, ms_conf_edits *out)
{
    char *main_path = ms_asprintf("%s/main.cf", dir);
    char *master_path = ms_asprintf("%s/master.cf", dir);
    ms_status st = MS_ERR_IO;
    char *main_text = main_path ? read_or_error(main_path, out) : NULL;
    char *master_text = main_text && master_path ? read_or_error(master_path, out) : NULL;
    if (main_text && master_text) {
        char *header = ms_asprintf("\n# TLS: Mozilla %s profile (mailsec conf generate)\n%s",
                                   profile_name(opts->profile), PORT25_NOTE);
        char *new_main = edit_settings(main_text, w, n, cf_replaced_names(opts), 0, header);
        free(header);
        char *blocks[2] = {NULL, NULL};
        char *chroot = smtp_chroot(master_text);
        const int ports[2] = {587, 465};
        char *new_master = chroot && master_services(opts->version, chroot, blocks)
                               ? edit_master(master_text, (const char *const *)blocks, ports, 2)
                               : NULL;
        free(chroot);
        free(blocks[0]), free(blocks[1]);
        st = add_edit(out, main_path, main_text, new_main);
        main_text = NULL;
        if (st == MS_OK)
            st = add_edit(out, master_path, master_text, new_master);
        else
            free(new_master), free(master_text);
        master_text = NULL;
    }
    free(main_text);
    free(master_text);
    free(main_path);
    free(master_path);
    return st;
}

/* Dovecot's auth listener for Postfix is appended, with the TLS settings,
 * unless the configuration already has a listener on that path. */
static ms_status plan_dovecot(const ms_conf_generate_opts *opts, const char *dir, const cf_want *w,
                              size_t n, int has_listener, ms_conf_edits *out)
{
    char *path = ms_asprintf("%s/conf.d/10-ssl.conf", dir);
    struct stat sb;
    if (path && stat(path, &sb) != 0) {
        free(path);
        path = ms_asprintf("%s/dovecot.conf", dir);
    }
    if (path == NULL)
        return MS_ERR_NOMEM;
    char *text = read_or_error(path, out);
    ms_status st = MS_ERR_IO;
    if (text) {
        char *header = ms_asprintf("\n# TLS: Mozilla %s profile (mailsec conf generate)\n",
                                   profile_name(opts->profile));
        char *edited = edit_settings(text, w, n, cf_replaced_names(opts), 1, header);
        free(header);
        if (edited && !has_listener) {
            char *with_listener = ms_asprintf("%s\n%s", edited, DOVECOT_AUTH_LISTENER);
            free(edited);
            edited = with_listener;
        }
        st = add_edit(out, path, text, edited);
    }
    free(path);
    return st;
}

/* What the Dovecot configuration in dir (dovecot.conf and what it
 * includes) already has: DH parameters, and a service auth listener on
 * DOVECOT_AUTH_SOCKET. Neither when it cannot be read. */
static void dovecot_dir_has(const char *dir, int version, int *dh, int *auth_listener)
{
    static const char LISTENER[] = "service auth/unix_listener " DOVECOT_AUTH_SOCKET;
    char *path = ms_asprintf("%s/dovecot.conf", dir);
    ms_conf_dovecot cf;
    *dh = *auth_listener = 0;
    if (path && ms_conf_dovecot_read(path, &cf, NULL) == MS_OK) {
        *dh = cf_dovecot_has_dh(&cf, version);
        for (size_t i = 0; i < cf.count && !*auth_listener; i++)
            *auth_listener = strcmp(cf.settings[i].section, LISTENER) == 0;
        ms_conf_dovecot_free(&cf);
    }
    free(path);
}

ms_status ms_conf_plan_edits(const ms_conf_generate_opts *opts, const char *dir, ms_conf_edits *out)
{
    memset(out, 0, sizeof *out);
    if (opts->cert_file == NULL || opts->key_file == NULL) {
        out->error = strdup("give --cert FILE and --key FILE");
        return MS_ERR_INVALID;
    }
    int dh_params = 0, has_listener = 0;
    if (opts->server == MS_CONF_DOVECOT)
        dovecot_dir_has(dir, opts->version, &dh_params, &has_listener);
    cf_want w[CF_MAX_WANTS];
    const char *error;
    size_t n = cf_profile_wants(opts, dh_params, w, &error);
    if (n == 0) {
        out->error = strdup(error);
        return MS_ERR_INVALID;
    }
    ms_status st = opts->server == MS_CONF_POSTFIX ? plan_postfix(opts, dir, w, n, out)
                                                   : plan_dovecot(opts, dir, w, n, has_listener, out);
    cf_wants_free(w, n);
    return st;
}

/* Every changed file staged, then all renamed, or none (lib/core/file.c). */
ms_status ms_conf_apply_edits(ms_conf_edits *edits, char **error)
{
    *error = NULL;
    const ms_file_opts opts = {.new_mode = 0644, .backup = 1};
    ms_file_txn t;
    ms_file_txn_init(&t);
    ms_conf_edit *staged[MS_FILE_TXN_MAX];
    ms_status st = MS_OK;
    for (size_t i = 0; i < edits->count && st == MS_OK; i++) {
        ms_conf_edit *f = &edits->files[i];
        if (!f->changed)
            continue;
        size_t k = t.count;
        st = ms_file_txn_stage(&t, f->path, f->new_text, strlen(f->new_text), &opts);
        if (st == MS_OK)
            staged[k] = f;
    }
    if (st == MS_OK)
        st = ms_file_txn_commit(&t);
    if (st == MS_OK) {
        for (size_t k = 0; k < t.count; k++) {
            staged[k]->backup = t.files[k].backup;
            t.files[k].backup = NULL;
        }
    } else {
        *error = t.error;
        t.error = NULL;
    }
    ms_file_txn_free(&t);
    return st;
}

void ms_conf_edits_free(ms_conf_edits *e)
{
    for (size_t i = 0; i < e->count; i++) {
        free(e->files[i].path);
        free(e->files[i].old_text);
        free(e->files[i].new_text);
        free(e->files[i].backup);
    }
    free(e->files);
    free(e->error);
    memset(e, 0, sizeof *e);
}
