/* `mailsec conf audit`: what Postfix's and Dovecot's files say about TLS
 * and authentication. Every finding names the file and line of the
 * setting it is about (or the file alone for a setting that is missing).
 * Sources: postconf(5), master(5), Postfix's DEPRECATION_README and
 * TLS_README; Dovecot's doveconf(1), "SSL configuration" and the 2.4
 * upgrade notes; Mozilla's Server Side TLS guidelines 5.7. */
#include "internal.h"

#include "mailsec/cert.h"

#include "core/lazy_openssl.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One audit: where its findings go, and whether memory ran out on the way
 * (a finding not added, a value or file not read): then the audit says
 * MS_ERR_NOMEM, never an answer with something quietly missing. */
typedef struct audit_run {
    ms_diag_list *d;
    int nomem;
} audit_run;

/* Notes a status of the audit's own work: only running out of memory
 * matters here, the rest each caller judges. */
static void note(audit_run *run, ms_status st)
{
    if (st == MS_ERR_NOMEM)
        run->nomem = 1;
}

static void add_at(audit_run *run, const ms_diag_def *def, const char *where, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));

static void add_at(audit_run *run, const ms_diag_def *def, const char *where, const char *fmt,
                   va_list ap)
{
    if (where == NULL) /* its "FILE:LINE" could not be made */
        run->nomem = 1;
    else
        note(run, ms_diag_addv(run->d, def, where, -1, fmt, ap));
}

/* A finding at where ("FILE:LINE", made by cf_location). */
static void add_where(audit_run *run, int code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_where(audit_run *run, int code, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_at(run, CF_DEF(code), where, fmt, ap);
    va_end(ap);
}

/* A finding at line of file (0: the file as a whole). */
static void add(audit_run *run, int code, const char *file, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add(audit_run *run, int code, const char *file, size_t line, const char *fmt, ...)
{
    char *where = cf_location(file, line);
    va_list ap;
    va_start(ap, fmt);
    add_at(run, CF_DEF(code), where, fmt, ap);
    va_end(ap);
    free(where);
}

static int is_yes(const char *v)
{
    return v && (ms_ascii_strcasecmp(v, "yes") == 0 || ms_ascii_strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* ---- protocols ---- */

static const char *const PROTOCOLS[] = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
enum { N_PROTOCOLS = 6, TLS12 = 4 };

static int protocol_index(const char *name, size_t n)
{
    for (int i = 0; i < N_PROTOCOLS; i++)
        if (strlen(PROTOCOLS[i]) == n && ms_ascii_strncasecmp(PROTOCOLS[i], name, n) == 0)
            return i;
    return -1;
}

/* Postfix's protocol list (postconf(5), smtpd_tls_protocols): ">=V",
 * "<=V", "!V" exclusions, or plain names (only those). Fills allowed[]. */
static void postfix_protocols(const char *value, int allowed[N_PROTOCOLS])
{
    int any_plain = 0;
    int plain[N_PROTOCOLS] = {0};
    int lo = 0, hi = N_PROTOCOLS - 1;
    int excluded[N_PROTOCOLS] = {0};
    for (const char *p = value; *p;) {
        size_t skip = strspn(p, " \t,:");
        p += skip;
        size_t n = strcspn(p, " \t,:");
        if (n == 0)
            break;
        if (n > 2 && p[0] == '>' && p[1] == '=') {
            int i = protocol_index(p + 2, n - 2);
            if (i >= 0)
                lo = i;
        } else if (n > 2 && p[0] == '<' && p[1] == '=') {
            int i = protocol_index(p + 2, n - 2);
            if (i >= 0)
                hi = i;
        } else if (p[0] == '!') {
            int i = protocol_index(p + 1, n - 1);
            if (i >= 0)
                excluded[i] = 1;
        } else {
            int i = protocol_index(p, n);
            if (i >= 0)
                plain[i] = any_plain = 1;
        }
        p += n;
    }
    for (int i = 0; i < N_PROTOCOLS; i++)
        allowed[i] = i >= lo && i <= hi && !excluded[i] && (!any_plain || plain[i]);
}

/* "TLSv1, TLSv1.1" of the allowed protocols below TLS 1.2 (SSLv2 is in
 * no OpenSSL Postfix 3 builds with; left out). Empty when none. */
static void old_allowed(const int allowed[N_PROTOCOLS], char *out, size_t size)
{
    out[0] = '\0';
    for (int i = 1; i < TLS12; i++)
        if (allowed[i]) {
            if (out[0])
                strncat(out, ", ", size - strlen(out) - 1);
            strncat(out, PROTOCOLS[i], size - strlen(out) - 1);
        }
}

/* ---- ciphers ----
 * A cipher string is judged by what the local OpenSSL makes of it
 * (ciphers.c): the suites it enables, each in its worst category. */

/* "CATEGORY suites (N: NAME, ...)" for each category of [from, to] with
 * suites, "; " between; anonymous suites left out when anon_ok. */
static void describe_suites(const cf_cipher_verdict *v, cf_cipher_category from,
                            cf_cipher_category to, int anon_ok, ms_buf *out)
{
    for (int c = from; c <= (int)to; c++) {
        if (v->count[c] == 0 || (anon_ok && c == CF_CIPHER_ANON))
            continue;
        ms_buf_printf(out, "%s%s suites (%zu: %s)", out->len ? "; " : "",
                      cf_cipher_category_name((cf_cipher_category)c), v->count[c], v->names[c].data);
    }
}

/* conf.weak-ciphers for the broken suites value enables, conf.legacy-ciphers
 * for those without forward secrecy or with CBC and SHA-1. anon_ok: the
 * anonymous suites are meant (Postfix's opportunistic TLS, TLS_README).
 * Returns how many DHE suites the list enables. */
static size_t judge_ciphers(audit_run *run, const char *setting, const char *value, const char *file,
                          size_t line, int anon_ok)
{
    cf_cipher_verdict v;
    if (cf_ciphers_judge(value, &v) != MS_OK) {
        run->nomem = 1;
        return 0;
    }
    if (v.none) {
        add(run, CF_SYNTAX, file, line,
            "%s = %s: %s selects no TLS 1.2 cipher suite from it, so the server cannot use the "
            "list (Dovecot does not start, Postfix's TLS handshakes fail)",
            setting, value, OpenSSL_version(OPENSSL_VERSION));
        return 0;
    }
    size_t dhe = v.dhe;
    ms_buf broken = MS_BUF_INIT, legacy = MS_BUF_INIT;
    describe_suites(&v, CF_CIPHER_NULL, CF_CIPHER_64BIT, anon_ok, &broken);
    describe_suites(&v, CF_CIPHER_NO_FS, CF_CIPHER_CBC_SHA1, anon_ok, &legacy);
    run->nomem |= broken.failed || legacy.failed;
    if (broken.len)
        add(run, CF_WEAK_CIPHERS, file, line, "%s = %s lets in %s", setting, value, broken.data);
    if (legacy.len)
        add(run, CF_LEGACY_CIPHERS, file, line, "%s = %s lets in %s", setting, value, legacy.data);
    ms_buf_free(&broken);
    ms_buf_free(&legacy);
    cf_cipher_verdict_free(&v);
    return dhe;
}

/* ---- certificate files, through lib/cert ---- */

/* Re-files lint's findings under the configuration's location, naming the
 * setting and the file in the message. */
static void move_cert_findings(audit_run *run, ms_diag_list *found, const char *where,
                               const char *setting, int chain_files)
{
    for (size_t i = 0; i < found->count; i++) {
        const ms_diag *f = &found->items[i];
        /* a key in the chain file is what smtpd_tls_chain_files is for */
        if (chain_files && (strcmp(f->def->code, "cert.key-in-public-file") == 0 ||
                            strcmp(f->def->code, "cert.key-bundled") == 0))
            continue;
        note(run, ms_diag_add(run->d, f->def, where, -1, "%s (%s): %s", setting,
                              f->location ? f->location : "", f->message));
    }
    ms_diag_list_free(found);
}

static int file_exists(const char *path, const char *setting, const char *where, audit_run *run)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        return 1;
    add_where(run, CF_CERT_FILE_MISSING, where, "%s: %s does not exist or is not a file", setting,
              path);
    return 0;
}

static void lint_files(ms_ctx *ctx, const char *const *files, size_t count, const char *key,
                       const char *ca_file, const char *where, const char *setting, int chain_files,
                       audit_run *run)
{
    if (where == NULL) { /* its "FILE:LINE" could not be made */
        run->nomem = 1;
        return;
    }
    ms_cert_lint_opts o = {.key_file = key, .ca_file = ca_file};
    ms_cert_lint_result r;
    ms_diag_list found = MS_DIAG_LIST_INIT;
    ms_status st = ms_cert_lint(ctx, files, count, &o, &r, &found);
    note(run, st);
    if (st != MS_OK && st != MS_ERR_NOMEM)
        add_where(run, CF_CERT_FILE_MISSING, where, "%s: %s", setting,
                  r.error ? r.error : "cannot be read");
    move_cert_findings(run, &found, where, setting, chain_files);
    ms_cert_lint_result_free(&r);
}

/* smtpd_tls_chain_files: each key directly followed by its certificates. */
static void check_chain_order(const char *const *files, size_t count, const char *where,
                              audit_run *run)
{
    int expect_key = 1; /* until the first key: a certificate here has no key before it */
    for (size_t i = 0; i < count; i++) {
        size_t len;
        char *error = NULL, *text;
        ms_status st = cf_read_file(files[i], &text, &len, &error);
        free(error);
        note(run, st);
        if (st != MS_OK)
            return;
        ms_cert_pem_file pem;
        ms_diag_list ignored = MS_DIAG_LIST_INIT; /* lint_files reports the PEM text */
        st = ms_cert_pem_scan(text, len, files[i], &pem, &ignored);
        ms_diag_list_free(&ignored);
        free(text);
        note(run, st);
        if (st != MS_OK)
            return;
        for (size_t b = 0; b < pem.count; b++) {
            const ms_cert_pem_block *blk = &pem.blocks[b];
            if (blk->kind == MS_CERT_PEM_PRIVATE_KEY) {
                expect_key = 0;
            } else if (blk->kind == MS_CERT_PEM_CERTIFICATE) {
                if (expect_key) {
                    add_where(run, CF_CHAIN_FILES_ORDER, where,
                              "smtpd_tls_chain_files: the certificate at %s line %zu comes before "
                              "any private key; Postfix wants the key first",
                              files[i], blk->line);
                    ms_cert_pem_file_free(&pem);
                    return;
                }
            }
        }
        ms_cert_pem_file_free(&pem);
    }
}

static size_t split_list(char *value, const char **out, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(value, " \t,", &save); tok && n < max;
         tok = strtok_r(NULL, " \t,", &save))
        out[n++] = tok;
    return n;
}

/* ---- Postfix ---- */

typedef struct pf {
    const char *main_path, *master_path;
    int version; /* 30..39: the advice is written in this version's names */
    ms_conf_maincf main;
    ms_conf_mastercf master;
} pf;

static size_t line_of(const ms_conf_maincf *cf, const char *name)
{
    const ms_conf_setting *s = ms_conf_maincf_get(cf, name);
    return s ? s->line : 0;
}

/* main.cf's value of name (ms_conf_maincf_value): NULL when not set. */
static char *main_value(audit_run *run, const pf *p, const char *name)
{
    char *value;
    note(run, cf_maincf_value(&p->main, name, &value));
    return value;
}

/* A parameter as a service sees it: its -o override, else main.cf. */
static char *service_value(audit_run *run, const pf *p, const ms_conf_service *s,
                           const char *name, size_t *line, const char **file)
{
    const ms_conf_setting *o = s ? ms_conf_service_override(s, name) : NULL;
    if (o == NULL) {
        *line = line_of(&p->main, name);
        *file = p->main_path;
        return main_value(run, p, name);
    }
    *line = o->line;
    *file = o->file;
    char *value;
    note(run, cf_expand_text(&p->main, o->value, &value));
    return value;
}

/* smtpd_tls_security_level, or what the obsolete smtpd_use_tls and
 * smtpd_enforce_tls make of an empty one (postconf(5)). */
static char *security_level(audit_run *run, const pf *p, const ms_conf_service *s, size_t *line,
                            const char **file)
{
    char *level = service_value(run, p, s, "smtpd_tls_security_level", line, file);
    if (level && *level)
        return level;
    free(level);
    size_t l2;
    const char *f2;
    char *enforce = service_value(run, p, s, "smtpd_enforce_tls", &l2, &f2);
    char *use = service_value(run, p, s, "smtpd_use_tls", line, file);
    const char *result = is_yes(enforce) ? "encrypt" : is_yes(use) ? "may" : "none";
    if (is_yes(enforce))
        *line = l2, *file = f2;
    free(enforce);
    free(use);
    char *copy = ms_strdup(result);
    run->nomem |= copy == NULL;
    return copy;
}

static void postfix_deprecated(const pf *p, audit_run *run)
{
    static const struct {
        const char *name, *instead;
    } OLD[] = {
        {"smtpd_use_tls", "smtpd_tls_security_level = may"},
        {"smtpd_enforce_tls", "smtpd_tls_security_level = encrypt"},
        {"smtp_use_tls", "smtp_tls_security_level = may"},
        {"smtp_enforce_tls", "smtp_tls_security_level = encrypt"},
        {"lmtp_use_tls", "lmtp_tls_security_level"},
        {"lmtp_enforce_tls", "lmtp_tls_security_level"},
        {"smtp_tls_per_site", "smtp_tls_policy_maps"},
        {"lmtp_tls_per_site", "lmtp_tls_policy_maps"},
        {"disable_dns_lookups", "smtp_dns_support_level"},
        {"smtpd_tls_dh1024_param_file", "nothing (leave it at the default: Postfix's built-in group)"},
        {"smtpd_tls_eecdh_grade", "nothing (leave it at the default; tls_eecdh_auto_curves chooses curves)"},
    };
    for (size_t i = 0; i < p->main.count; i++) {
        const ms_conf_setting *s = &p->main.settings[i];
        for (size_t k = 0; k < sizeof OLD / sizeof OLD[0]; k++)
            if (strcmp(s->name, OLD[k].name) == 0)
                add(run, CF_DEPRECATED, s->file, s->line,
                    "%s is deprecated (DEPRECATION_README; postconf warns from Postfix 3.9): use %s",
                    s->name, OLD[k].instead);
    }
    for (size_t j = 0; j < p->master.count; j++)
        for (size_t i = 0; i < p->master.services[j].override_count; i++) {
            const ms_conf_setting *s = &p->master.services[j].overrides[i];
            for (size_t k = 0; k < sizeof OLD / sizeof OLD[0]; k++)
                if (strcmp(s->name, OLD[k].name) == 0)
                    add(run, CF_DEPRECATED, s->file, s->line,
                        "-o %s is deprecated (DEPRECATION_README): use %s", s->name, OLD[k].instead);
        }
}

static void postfix_duplicates(const pf *p, audit_run *run)
{
    for (size_t i = 1; i < p->main.count; i++)
        for (size_t k = i; k-- > 0;)
            if (strcmp(p->main.settings[k].name, p->main.settings[i].name) == 0) {
                add(run, CF_DUPLICATE, p->main.settings[i].file, p->main.settings[i].line,
                    "%s is set again: this line overrides line %zu", p->main.settings[i].name,
                    p->main.settings[k].line);
                break;
            }
}

static void postfix_protocols_check(const pf *p, const ms_conf_service *s, const char *param,
                                    audit_run *run)
{
    size_t line;
    const char *file;
    char *value = service_value(run, p, s, param, &line, &file);
    if (value == NULL)
        return;
    int allowed[N_PROTOCOLS];
    postfix_protocols(value, allowed);
    char old[64];
    old_allowed(allowed, old, sizeof old);
    /* ">=" is Postfix 3.6 syntax: older versions take the exclusion list,
     * and an older Postfix does not read the range at all (a default is
     * that version's own) */
    if (p->version < 36 && line && strpbrk(value, "<>"))
        add(run, CF_WRONG_VERSION, file, line,
            "%s = %s is Postfix 3.6 syntax: Postfix %d.%d does not understand the range; set %s = "
            "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1",
            param, value, p->version / 10, p->version % 10, param);
    else if (old[0])
        add(run, CF_OLD_PROTOCOLS, file, line, "%s = %s%s allows %s: for Postfix %d.%d, set %s = %s",
            param, value, line ? "" : " (the default)", old, p->version / 10, p->version % 10, param,
            p->version >= 36 ? ">=TLSv1.2" : "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1");
    free(value);
}

static void postfix_ciphers(const pf *p, audit_run *run)
{
    static const char *const GRADES[] = {"smtpd_tls_ciphers", "smtpd_tls_mandatory_ciphers"};
    for (size_t i = 0; i < 2; i++) {
        const ms_conf_setting *s = ms_conf_maincf_get(&p->main, GRADES[i]);
        char *v = s ? main_value(run, p, GRADES[i]) : NULL;
        if (v && (!ms_ascii_strcasecmp(v, "export") || !ms_ascii_strcasecmp(v, "low") || !ms_ascii_strcasecmp(v, "null")))
            add(run, CF_WEAK_CIPHERS, s->file, s->line,
                "%s = %s: the %s grade lets in %s ciphers", s->name, v, v,
                !ms_ascii_strcasecmp(v, "null") ? "NULL-encryption" : "EXPORT and DES");
        free(v);
    }
    /* cipher lists set by hand (Postfix's own defaults leave anonymous
     * ciphers in on purpose, for opportunistic TLS: TLS_README) */
    static const char *const LISTS[] = {"tls_high_cipherlist", "tls_medium_cipherlist",
                                        "tls_low_cipherlist"};
    for (size_t i = 0; i < 3; i++) {
        const ms_conf_setting *s = ms_conf_maincf_get(&p->main, LISTS[i]);
        if (s == NULL)
            continue;
        char *v = main_value(run, p, LISTS[i]);
        if (v)
            (void)judge_ciphers(run, s->name, v, s->file, s->line, 1);
        free(v);
    }
}

static void postfix_certificates(ms_ctx *ctx, const pf *p, const char *ca_file, audit_run *run)
{
    char *chain = main_value(run, p, "smtpd_tls_chain_files");
    char *cert = main_value(run, p, "smtpd_tls_cert_file");
    char *key = main_value(run, p, "smtpd_tls_key_file");
    if (chain && *chain) {
        char *where = cf_location(p->main_path, line_of(&p->main, "smtpd_tls_chain_files"));
        if (cert && *cert)
            add(run, CF_CERT_AND_CHAIN, p->main_path, line_of(&p->main, "smtpd_tls_cert_file"),
                "smtpd_tls_cert_file = %s is ignored: smtpd_tls_chain_files is set (at line %zu)", cert,
                line_of(&p->main, "smtpd_tls_chain_files"));
        const char *files[MS_CERT_MAX_CHAIN];
        size_t n = split_list(chain, files, MS_CERT_MAX_CHAIN);
        int all = 1;
        for (size_t i = 0; i < n; i++)
            all &= file_exists(files[i], "smtpd_tls_chain_files", where, run);
        if (all && n > 0) {
            check_chain_order(files, n, where, run);
            lint_files(ctx, files, n, NULL, ca_file, where, "smtpd_tls_chain_files", 1, run);
        }
        free(where);
    } else if (cert && *cert) {
        char *where = cf_location(p->main_path, line_of(&p->main, "smtpd_tls_cert_file"));
        char *kwhere = cf_location(p->main_path, line_of(&p->main, "smtpd_tls_key_file"));
        int ok = file_exists(cert, "smtpd_tls_cert_file", where, run);
        if (key && *key && strcmp(key, cert) != 0) /* the default: the key is in the cert file */
            ok &= file_exists(key, "smtpd_tls_key_file", kwhere, run);
        if (ok) {
            const char *files[1] = {cert};
            lint_files(ctx, files, 1, key && *key && strcmp(key, cert) != 0 ? key : NULL, ca_file,
                       where, "smtpd_tls_cert_file", 0, run);
        }
        free(where);
        free(kwhere);
    }
    free(chain);
    free(cert);
    free(key);
}

static int has_certificate(audit_run *run, const pf *p)
{
    static const char *const NAMES[] = {"smtpd_tls_chain_files", "smtpd_tls_cert_file",
                                        "smtpd_tls_eccert_file", "smtpd_tls_dcert_file"};
    for (size_t i = 0; i < 4; i++) {
        char *v = main_value(run, p, NAMES[i]);
        int set = v && *v;
        free(v);
        if (set)
            return 1;
    }
    return 0;
}

/* SASL offered on a service before TLS: AUTH over plaintext. */
static void check_sasl(const pf *p, const ms_conf_service *s, const char *what, audit_run *run)
{
    size_t line, l2, l3;
    const char *file, *f2, *f3;
    char *sasl = service_value(run, p, s, "smtpd_sasl_auth_enable", &line, &file);
    char *level = security_level(run, p, s, &l2, &f2);
    char *auth_only = service_value(run, p, s, "smtpd_tls_auth_only", &l3, &f3);
    char *wrapper = service_value(run, p, s, "smtpd_tls_wrappermode", &l3, &f3);
    /* where SASL was turned on: the -o line, the main.cf line, or (SASL
     * from main.cf, TLS relaxed by the service) the service's line */
    int inherited = s && ms_conf_service_override(s, "smtpd_sasl_auth_enable") == NULL;
    if (is_yes(sasl) && level && strcmp(level, "encrypt") != 0 && !is_yes(auth_only) &&
        !is_yes(wrapper))
        add(run, CF_AUTH_BEFORE_TLS, inherited ? s->file : file, inherited ? s->line : line,
            "%s: smtpd_sasl_auth_enable = yes with smtpd_tls_security_level = %s and "
            "smtpd_tls_auth_only = no: AUTH is offered before STARTTLS", what, level);
    free(sasl);
    free(level);
    free(auth_only);
    free(wrapper);
}

/* SMTP AUTH belongs on submission and submissions, not on port 25 where
 * other servers deliver (and password guessing arrives). */
static void check_sasl_port_25(const pf *p, const ms_conf_service *s, const char *what,
                               audit_run *run)
{
    size_t line;
    const char *file;
    char *sasl = service_value(run, p, s, "smtpd_sasl_auth_enable", &line, &file);
    if (is_yes(sasl))
        add(run, CF_SASL_ON_PORT_25, file, line, "%s: smtpd_sasl_auth_enable = yes", what);
    free(sasl);
}

static void postfix_services(const pf *p, audit_run *run)
{
    const ms_conf_service *submission = NULL, *submissions = NULL;
    for (size_t i = 0; i < p->master.count; i++) {
        const ms_conf_service *s = &p->master.services[i];
        if (strcmp(s->command, "smtpd") != 0)
            continue;
        int port = ms_conf_service_port(s);
        char what[200];
        snprintf(what, sizeof what, "service %s (port %d)", s->name, port);
        if (port == 587 && submission == NULL)
            submission = s;
        if (port == 465) {
            if (submissions == NULL)
                submissions = s;
            size_t line;
            const char *file;
            char *wrapper = service_value(run, p, s, "smtpd_tls_wrappermode", &line, &file);
            if (!is_yes(wrapper))
                add(run, CF_SUBMISSIONS_WRAPPERMODE, s->file, s->line,
                    "%s has no -o smtpd_tls_wrappermode=yes: clients on port 465 start with TLS and "
                    "get plain SMTP", what);
            free(wrapper);
        }
        /* a service without overrides of its own is what main.cf says,
         * and main.cf's findings cover it */
        static const char *const OWN[] = {"smtpd_sasl_auth_enable", "smtpd_tls_security_level",
                                          "smtpd_tls_auth_only", "smtpd_tls_wrappermode",
                                          "smtpd_use_tls", "smtpd_enforce_tls"};
        int own = 0;
        for (size_t k = 0; k < sizeof OWN / sizeof OWN[0]; k++)
            own |= ms_conf_service_override(s, OWN[k]) != NULL;
        if (port != 0 && own)
            check_sasl(p, s, what, run);
        if (port == 25)
            check_sasl_port_25(p, s, what, run);
        if (ms_conf_service_override(s, "smtpd_tls_protocols"))
            postfix_protocols_check(p, s, "smtpd_tls_protocols", run);
        if (ms_conf_service_override(s, "smtpd_tls_mandatory_protocols"))
            postfix_protocols_check(p, s, "smtpd_tls_mandatory_protocols", run);
    }
    if (submission == NULL)
        add(run, CF_SUBMISSION_MISSING, p->master_path, 0,
            "no submission service (port 587) in master.cf");
    if (submissions == NULL) /* Postfix 3.5's stock master.cf renamed "smtps" */
        add(run, CF_SUBMISSIONS_MISSING, p->master_path, 0,
            "no service on port 465 in master.cf: add the \"%s\" service with "
            "-o smtpd_tls_wrappermode=yes (as in Postfix %d.%d's master.cf)",
            p->version >= 35 ? "submissions" : "smtps", p->version / 10, p->version % 10);
}

/* Two protocol lists that allow the same protocols, however written. */
static int same_protocols(const char *a, const char *b)
{
    int in_a[N_PROTOCOLS], in_b[N_PROTOCOLS];
    postfix_protocols(a, in_a);
    postfix_protocols(b, in_b);
    return memcmp(in_a, in_b, sizeof in_a) == 0;
}

static void compare_profile(const pf *p, ms_conf_profile profile, audit_run *run)
{
    ms_conf_generate_opts o = {.server = MS_CONF_POSTFIX, .version = p->version, .profile = profile};
    cf_want w[CF_MAX_WANTS];
    const char *error;
    size_t n = cf_profile_wants(&o, 0, w, &error);
    run->nomem |= error == cf_no_memory;
    for (size_t i = 0; i < n; i++) {
        char *now = main_value(run, p, w[i].name);
        const ms_conf_setting *s = ms_conf_maincf_get(&p->main, w[i].name);
        int same = now && strcmp(now, w[i].value) == 0;
        /* the same protocols written another way count as the same */
        if (!same && now && (strcmp(w[i].name, "smtpd_tls_protocols") == 0 ||
                             strcmp(w[i].name, "smtpd_tls_mandatory_protocols") == 0))
            same = same_protocols(now, w[i].value);
        if (!same)
            add(run, CF_PROFILE, s ? s->file : p->main_path, s ? s->line : 0,
                "Mozilla %s: set %s = %s (now %s%s%s)",
                profile == MS_CONF_PROFILE_MODERN ? "modern" : "intermediate", w[i].name, w[i].value,
                now && *now ? "\"" : "", now && *now ? now : "empty", now && *now ? "\"" : "");
        free(now);
    }
    cf_wants_free(w, n);
}

/* The smtpd services listening on TCP and the certificate each uses. */
static void postfix_live_ports(audit_run *run, const pf *p, cf_live_ports *l)
{
    for (size_t i = 0; i < p->master.count; i++) {
        const ms_conf_service *s = &p->master.services[i];
        int port = ms_conf_service_port(s);
        if (port == 0 || strcmp(s->command, "smtpd") != 0)
            continue;
        size_t line;
        const char *file;
        char *chain = service_value(run, p, s, "smtpd_tls_chain_files", &line, &file);
        char *cert = service_value(run, p, s, "smtpd_tls_cert_file", &line, &file);
        char *wrapper = service_value(run, p, s, "smtpd_tls_wrappermode", &line, &file);
        char *where = cf_location(s->file, s->line);
        note(run, cf_live_add(l, (unsigned)port, is_yes(wrapper), 0, chain && *chain ? chain : cert,
                              where));
        free(where);
        free(chain);
        free(cert);
        free(wrapper);
    }
}

/* main.cf and master.cf of opts->postfix_dir; pf_free in every case. */
static ms_status pf_read(const ms_conf_audit_opts *opts, pf *p, char **error, ms_diag_list *d)
{
    memset(p, 0, sizeof *p);
    char *main_path = ms_asprintf("%s/main.cf", opts->postfix_dir);
    char *master_path = ms_asprintf("%s/master.cf", opts->postfix_dir);
    p->main_path = main_path;
    p->master_path = master_path;
    p->version = opts->postfix_version ? opts->postfix_version : 37;
    if (main_path == NULL || master_path == NULL)
        return MS_ERR_NOMEM;
    size_t len;
    char *text;
    ms_status st = cf_read_file(main_path, &text, &len, error);
    if (st == MS_OK)
        st = ms_conf_maincf_parse(text, len, main_path, &p->main, d);
    free(text);
    if (st == MS_OK)
        st = cf_read_file(master_path, &text, &len, error);
    if (st == MS_OK) {
        st = ms_conf_mastercf_parse(text, len, master_path, &p->master, d);
        free(text);
    }
    return st;
}

static void pf_free(pf *p)
{
    ms_conf_maincf_free(&p->main);
    ms_conf_mastercf_free(&p->master);
    free((char *)p->main_path);
    free((char *)p->master_path);
}

/* STARTTLS offered by the SMTP server, with a certificate to offer it with. */
static void postfix_tls_on(const pf *p, audit_run *run)
{
    size_t line;
    const char *file;
    char *level = security_level(run, p, NULL, &line, &file);
    if (level == NULL)
        return; /* out of memory, noted */
    if (strcmp(level, "none") == 0)
        add(run, CF_TLS_OFF, file, line,
            "smtpd_tls_security_level is %s: the SMTP server offers no STARTTLS",
            line ? "none" : "not set (and smtpd_use_tls is not yes)");
    else if (!has_certificate(run, p))
        add(run, CF_TLS_OFF, p->main_path, line_of(&p->main, "smtpd_tls_security_level"),
            "smtpd_tls_security_level = %s but no certificate is configured "
            "(smtpd_tls_chain_files or smtpd_tls_cert_file): TLS cannot work", level);
    free(level);
}

static ms_status audit_postfix(ms_ctx *ctx, const ms_conf_audit_opts *opts, ms_conf_audit_result *r,
                               audit_run *run)
{
    pf p;
    ms_status st = pf_read(opts, &p, &r->error, run->d);
    if (st == MS_OK) {
        r->postfix_read = 1;
        r->postfix_settings = p.main.count;
        r->postfix_services = p.master.count;
        postfix_deprecated(&p, run);
        postfix_duplicates(&p, run);
        postfix_tls_on(&p, run);
        check_sasl(&p, NULL, "main.cf (port 25 and every service without overrides)", run);
        postfix_protocols_check(&p, NULL, "smtpd_tls_protocols", run);
        postfix_protocols_check(&p, NULL, "smtpd_tls_mandatory_protocols", run);
        postfix_ciphers(&p, run);
        postfix_services(&p, run);
        postfix_certificates(ctx, &p, opts->ca_file, run);
        if (opts->profile != MS_CONF_PROFILE_NONE)
            compare_profile(&p, opts->profile, run);
        if (opts->live_host) {
            cf_live_ports l = {0};
            postfix_live_ports(run, &p, &l);
            r->live_ports += l.count;
            st = cf_live_check(ctx, opts->live_host, opts->ca_file, &l, run->d, &r->error);
            cf_live_free(&l);
        }
    }
    pf_free(&p);
    return st;
}

/* ---- Dovecot ---- */

typedef struct dv_rename {
    const char *old23, *new24, *note;
} dv_rename;

/* Dovecot 2.4's renames of the TLS and authentication settings ("Upgrading
 * Dovecot CE from 2.3 to 2.4"). */
static const dv_rename RENAMES[] = {
    {"ssl_cert", "ssl_server_cert_file", "and the value is the file name, without \"<\""},
    {"ssl_key", "ssl_server_key_file", "and the value is the file name, without \"<\""},
    {"ssl_alt_cert", "ssl_server_alt_cert_file", ""},
    {"ssl_alt_key", "ssl_server_alt_key_file", ""},
    {"ssl_ca", "ssl_server_ca_file", ""},
    {"ssl_dh", "ssl_server_dh_file", ""},
    {"ssl_key_password", "ssl_server_key_password", ""},
    {"ssl_cert_username_field", "ssl_server_cert_username_field", ""},
    {"ssl_prefer_server_ciphers", "ssl_server_prefer_ciphers", "(values client or server)"},
    {"disable_plaintext_auth", "auth_allow_cleartext", "with the opposite meaning"},
    {"ssl_client_ca_file", "ssl_client_ca_file", ""},
};

/* Dovecot 1.x names that doveconf 2.2 and 2.3 still read, converting each
 * (with an "Obsolete setting" warning); 2.4 refuses them. */
static const struct {
    const char *old, *now;
} OLD_1X[] = {
    {"ssl_cert_file", "ssl_cert"}, /* the value is a file name: "ssl_cert = <FILE" */
    {"ssl_key_file", "ssl_key"},
    {"ssl_ca_file", "ssl_ca"},
    {"ssl_disable", "ssl"},        /* inverted: ssl_disable = yes is ssl = no */
};

static ms_status replace_text(char **field, const char *text)
{
    char *copy = ms_strdup(text);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    free(*field);
    *field = copy;
    return MS_OK;
}

/* One 1.x setting read as doveconf reads it: renamed in cf, so that the
 * checks after it see what Dovecot uses. */
static ms_status map_1x_setting(ms_conf_dovecot_setting *s, const char *now, audit_run *run)
{
    int disable = strcmp(s->name, "ssl_disable") == 0;
    const char *value = disable ? (is_yes(s->value) ? "no" : "yes") : s->value;
    add(run, CF_DEPRECATED, s->file, s->line,
        "%s is a Dovecot 1.x name (doveconf: \"Obsolete setting\"), read as %s = %s%s: write that",
        s->name, now, disable ? "" : "<", value);
    ms_status st = replace_text(&s->value, value);
    if (st == MS_OK)
        st = replace_text(&s->name, now);
    s->from_file = !disable;
    return st;
}

/* protocols = imap pop3 imaps pop3s: TLS at once is a listener of the
 * imap-login and pop3-login services since 2.0; doveconf reads "imaps" as
 * "imap" and "pop3s" as "pop3". */
static ms_status map_1x_protocols(ms_conf_dovecot_setting *s, audit_run *run)
{
    char *copy = ms_strdup(s->value);
    if (copy == NULL)
        return MS_ERR_NOMEM;
    const char *kept[32]; /* each protocol once: "imap imaps" reads "imap" */
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
        const char *name = tok;
        if (strcmp(tok, "imaps") == 0 || strcmp(tok, "pop3s") == 0) {
            int imap = tok[0] == 'i';
            name = imap ? "imap" : "pop3";
            add(run, CF_DEPRECATED, s->file, s->line,
                "protocols: \"%s\" is a Dovecot 1.x protocol (doveconf: \"Obsolete setting\"), read "
                "as \"%s\": remove it (TLS at once on port %s is a listener of %s-login)",
                tok, name, imap ? "993" : "995", name);
        }
        int seen = 0;
        for (size_t k = 0; k < n; k++)
            seen |= strcmp(kept[k], name) == 0;
        if (!seen && n < sizeof kept / sizeof kept[0])
            kept[n++] = name;
    }
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "");
    for (size_t k = 0; k < n; k++)
        ms_buf_printf(&b, "%s%s", k ? " " : "", kept[k]);
    free(copy);
    ms_status st = b.failed ? MS_ERR_NOMEM : replace_text(&s->value, b.data);
    ms_buf_free(&b);
    return st;
}

/* The 1.x names, read as doveconf 2.2 and 2.3 read them; in 2.4 they are
 * errors and stay unread. */
static ms_status dovecot_1x_names(ms_conf_dovecot *cf, int version, audit_run *run)
{
    ms_status st = MS_OK;
    for (size_t i = 0; i < cf->count && st == MS_OK; i++) {
        ms_conf_dovecot_setting *s = &cf->settings[i];
        for (size_t k = 0; k < sizeof OLD_1X / sizeof OLD_1X[0]; k++) {
            if (strcmp(s->name, OLD_1X[k].old) != 0)
                continue;
            if (version == 24)
                add(run, CF_WRONG_VERSION, s->file, s->line,
                    "%s is a Dovecot 1.x name that 2.4 refuses (2.3 read it as %s)", s->name,
                    OLD_1X[k].now);
            else
                st = map_1x_setting(s, OLD_1X[k].now, run);
            break;
        }
        if (st == MS_OK && strcmp(s->name, "protocols") == 0 && s->section[0] == '\0' &&
            (strstr(s->value, "imaps") || strstr(s->value, "pop3s"))) {
            if (version == 24)
                add(run, CF_WRONG_VERSION, s->file, s->line,
                    "protocols = %s: \"imaps\" and \"pop3s\" are Dovecot 1.x protocols that 2.4 "
                    "refuses: write imap and pop3", s->value);
            else
                st = map_1x_protocols(s, run);
        }
    }
    return st;
}

/* Settings of 2.2 that 2.3 replaced, and what replaced them. */
static const struct {
    const char *old22, *new23, *advice;
} RENAMES_22[] = {
    {"ssl_protocols", "ssl_min_protocol",
     "ssl_protocols has been replaced by ssl_min_protocol (Dovecot 2.3): ssl_min_protocol = TLSv1.2"},
    {"ssl_dh_parameters_length", "ssl_dh",
     "ssl_dh_parameters_length is obsolete since Dovecot 2.3 (doveconf: \"no longer needed\"): "
     "remove it; DH parameters come from ssl_dh = </usr/share/dovecot/dh.pem"},
    {"ssl_parameters_regenerate", NULL,
     "ssl_parameters_regenerate is obsolete since Dovecot 2.3 (doveconf: \"no longer needed\"): "
     "remove it"},
};

static void dovecot_names(const ms_conf_dovecot *cf, int version, audit_run *run)
{
    for (size_t i = 0; i < cf->count; i++) {
        const ms_conf_dovecot_setting *s = &cf->settings[i];
        for (size_t k = 0; k < sizeof RENAMES_22 / sizeof RENAMES_22[0]; k++) {
            if (version != 22 && strcmp(s->name, RENAMES_22[k].old22) == 0)
                add(run, version == 24 ? CF_WRONG_VERSION : CF_DEPRECATED, s->file, s->line, "%s",
                    RENAMES_22[k].advice);
            else if (version == 22 && RENAMES_22[k].new23 && strcmp(s->name, RENAMES_22[k].new23) == 0)
                add(run, CF_WRONG_VERSION, s->file, s->line,
                    "%s is a Dovecot 2.3 name: 2.2 refuses it and uses %s", s->name,
                    RENAMES_22[k].old22);
        }
        for (size_t k = 0; k < sizeof RENAMES / sizeof RENAMES[0]; k++) {
            if (strcmp(RENAMES[k].old23, RENAMES[k].new24) == 0)
                continue;
            if (version == 24 && strcmp(s->name, RENAMES[k].old23) == 0)
                add(run, CF_WRONG_VERSION, s->file, s->line,
                    "%s is a Dovecot 2.3 name: 2.4 calls it %s %s", s->name, RENAMES[k].new24,
                    RENAMES[k].note);
            else if (version != 24 && strcmp(s->name, RENAMES[k].new24) == 0)
                add(run, CF_WRONG_VERSION, s->file, s->line, "%s is a Dovecot 2.4 name: %d.%d calls it %s",
                    s->name, version / 10, version % 10, RENAMES[k].old23);
        }
    }
}

/* The effective top-level value: the configuration's or Dovecot's default. */
static const char *dv_value(const ms_conf_dovecot *cf, const char *name, const char *dflt,
                            const ms_conf_dovecot_setting **where)
{
    *where = ms_conf_dovecot_get(cf, name);
    return *where ? (*where)->value : dflt;
}

/* Dovecot 2.2's default ssl_protocols (2.2.17 and later; 2.3 dropped the setting). */
static const char DOVECOT22_PROTOCOLS[] = "!SSLv2 !SSLv3";

/* Protocols below TLS 1.2: 2.3 and 2.4 ssl_min_protocol (2.3 still reads
 * 2.2's ssl_protocols when ssl_min_protocol is not set); 2.2 ssl_protocols. */
static void dovecot_protocols(const ms_conf_dovecot *cf, const char *main_file, int version,
                              audit_run *run)
{
    const ms_conf_dovecot_setting *s;
    if (version != 22) {
        const char *min = dv_value(cf, "ssl_min_protocol", "TLSv1.2", &s);
        int mi = protocol_index(min, strlen(min));
        if (strcmp(min, "ANY") == 0 || (mi >= 0 && mi < TLS12))
            add(run, CF_OLD_PROTOCOLS, s->file, s->line,
                "ssl_min_protocol = %s allows protocols below TLS 1.2", min);
        if (s)
            return;
    }
    const char *protocols = dv_value(cf, "ssl_protocols", DOVECOT22_PROTOCOLS, &s);
    if (s == NULL && version != 22)
        return;
    int allowed[N_PROTOCOLS];
    postfix_protocols(protocols, allowed); /* the same "!name" syntax */
    char old[64];
    old_allowed(allowed, old, sizeof old);
    if (old[0])
        add(run, CF_OLD_PROTOCOLS, s ? s->file : main_file, s ? s->line : 0,
            "ssl_protocols = %s%s allows %s%s", protocols, s ? "" : " (Dovecot 2.2's default)", old,
            version == 22 ? ": set ssl_protocols = !SSLv2 !SSLv3 !TLSv1 !TLSv1.1 (2.2 has no "
                            "ssl_min_protocol)"
                          : "");
}

static void dovecot_checks(ms_ctx *ctx, const ms_conf_dovecot *cf, const char *main_file,
                           int version, const ms_conf_audit_opts *opts, audit_run *run)
{
    const ms_conf_dovecot_setting *s;
    const char *ssl = dv_value(cf, "ssl", "yes", &s);
    if (strcmp(ssl, "no") == 0)
        add(run, CF_TLS_OFF, s->file, s->line, "ssl = no: IMAP and POP3 run without TLS");
    else if (strcmp(ssl, "required") != 0)
        add(run, CF_SSL_NOT_REQUIRED, s ? s->file : main_file, s ? s->line : 0,
            "ssl = %s%s: clients may read mail without TLS", ssl, s ? "" : " (the default)");
    if (version == 24) {
        const char *v = dv_value(cf, "auth_allow_cleartext", "no", &s);
        if (is_yes(v))
            add(run, CF_CLEARTEXT_AUTH, s->file, s->line,
                "auth_allow_cleartext = yes: passwords may be sent without TLS");
    } else {
        const char *v = dv_value(cf, "disable_plaintext_auth", "yes", &s);
        if (!is_yes(v))
            add(run, CF_CLEARTEXT_AUTH, s->file, s->line,
                "disable_plaintext_auth = %s: passwords may be sent without TLS", v);
    }
    dovecot_protocols(cf, main_file, version, run);
    const char *ciphers = dv_value(cf, "ssl_cipher_list", "", &s);
    if (s && judge_ciphers(run, "ssl_cipher_list", ciphers, s->file, s->line, 0) > 0 &&
        !cf_dovecot_has_dh(cf, version))
        add(run, CF_DHE_WITHOUT_DH, s->file, s->line,
            "ssl_cipher_list = %s has DHE suites, but %s is not set: Dovecot has no DH parameters "
            "for them, and they are never negotiated", ciphers,
            version == 24 ? "ssl_server_dh_file" : "ssl_dh");
    /* the certificate and key */
    const char *cert_name = version == 24 ? "ssl_server_cert_file" : "ssl_cert";
    const char *key_name = version == 24 ? "ssl_server_key_file" : "ssl_key";
    const ms_conf_dovecot_setting *cert = ms_conf_dovecot_get(cf, cert_name);
    const ms_conf_dovecot_setting *key = ms_conf_dovecot_get(cf, key_name);
    if (cert && *cert->value && strcmp(ssl, "no") != 0) {
        char *where = cf_location(cert->file, cert->line);
        int ok = file_exists(cert->value, cert_name, where, run);
        if (key && *key->value) {
            char *kwhere = cf_location(key->file, key->line);
            ok &= file_exists(key->value, key_name, kwhere, run);
            free(kwhere);
        }
        if (ok) {
            const char *files[1] = {cert->value};
            lint_files(ctx, files, 1, key ? key->value : NULL, opts->ca_file, where, cert_name, 0, run);
        }
        free(where);
    } else if (strcmp(ssl, "no") != 0) {
        add(run, CF_TLS_OFF, main_file, 0, "ssl = %s but %s is not set: Dovecot cannot start TLS", ssl,
            cert_name);
    }
    if (opts->profile == MS_CONF_PROFILE_NONE)
        return;
    ms_conf_generate_opts o = {.server = MS_CONF_DOVECOT, .version = version, .profile = opts->profile};
    cf_want w[CF_MAX_WANTS];
    const char *error;
    size_t n = cf_profile_wants(&o, cf_dovecot_has_dh(cf, version), w, &error);
    run->nomem |= error == cf_no_memory;
    /* Dovecot's defaults, by version: 2.2, 2.3, 2.4 */
    static const struct {
        const char *name, *dflt[3];
    } DEFAULTS[] = {{"ssl", {"yes", "yes", "yes"}},
                    {"ssl_min_protocol", {NULL, "TLSv1.2", "TLSv1.2"}},
                    {"ssl_protocols", {DOVECOT22_PROTOCOLS, NULL, NULL}},
                    {"ssl_dh_parameters_length", {"1024", NULL, NULL}},
                    {"ssl_prefer_server_ciphers", {"no", "no", NULL}},
                    {"ssl_server_prefer_ciphers", {NULL, NULL, "client"}},
                    {"disable_plaintext_auth", {"yes", "yes", NULL}},
                    {"auth_allow_cleartext", {NULL, NULL, "no"}}};
    for (size_t i = 0; i < n; i++) {
        const char *dflt = "";
        for (size_t k = 0; k < sizeof DEFAULTS / sizeof DEFAULTS[0]; k++)
            if (strcmp(DEFAULTS[k].name, w[i].name) == 0) {
                const char *v = DEFAULTS[k].dflt[version == 22 ? 0 : version == 23 ? 1 : 2];
                dflt = v ? v : "";
            }
        const char *now = dv_value(cf, w[i].name, dflt, &s);
        int same = strcmp(now, w[i].value) == 0;
        if (!same && strcmp(w[i].name, "ssl_protocols") == 0)
            same = same_protocols(now, w[i].value);
        if (!same)
            add(run, CF_PROFILE, s ? s->file : main_file, s ? s->line : 0,
                "Mozilla %s: set %s = %s (now %s%s%s)",
                opts->profile == MS_CONF_PROFILE_MODERN ? "modern" : "intermediate", w[i].name,
                w[i].value, *now ? "\"" : "", *now ? now : "empty", *now ? "\"" : "");
    }
    cf_wants_free(w, n);
}

/* A setting in exactly this section, or NULL. */
static const ms_conf_dovecot_setting *in_section(const ms_conf_dovecot *cf, const char *section,
                                                 const char *name)
{
    for (size_t i = cf->count; i-- > 0;)
        if (strcmp(cf->settings[i].section, section) == 0 && strcmp(cf->settings[i].name, name) == 0)
            return &cf->settings[i];
    return NULL;
}

/* The IMAP and POP3 listeners: those with a port in the configuration
 * (service imap-login / pop3-login, inet_listener NAME { port, ssl }), else
 * Dovecot's defaults for the protocols served (143 and 993, 110 and 995).
 * The certificate: "protocol imap/pop3 { ssl_cert }" over the global one. */
static void dovecot_live_ports(audit_run *run, const ms_conf_dovecot *cf, int version,
                               const char *main_file, cf_live_ports *l)
{
    const char *cert_name = version == 24 ? "ssl_server_cert_file" : "ssl_cert";
    static const struct {
        const char *login, *protocol, *plain_name, *tls_name;
        unsigned plain_port, tls_port;
        int kind;
    } PROTOS[] = {{"service imap-login/inet_listener ", "protocol imap", "imap", "imaps", 143, 993, 1},
                  {"service pop3-login/inet_listener ", "protocol pop3", "pop3", "pop3s", 110, 995, 2}};
    const ms_conf_dovecot_setting *protocols = ms_conf_dovecot_get(cf, "protocols");
    const ms_conf_dovecot_setting *global = ms_conf_dovecot_get(cf, cert_name);
    for (size_t k = 0; k < 2; k++) {
        const ms_conf_dovecot_setting *own = in_section(cf, PROTOS[k].protocol, cert_name);
        const char *cert = own ? own->value : global ? global->value : "";
        size_t before = l->count;
        for (size_t i = 0; i < cf->count; i++) {
            const ms_conf_dovecot_setting *s = &cf->settings[i];
            size_t n = strlen(PROTOS[k].login);
            if (strcmp(s->name, "port") != 0 || strncmp(s->section, PROTOS[k].login, n) != 0)
                continue;
            const ms_conf_dovecot_setting *ssl = in_section(cf, s->section, "ssl");
            char *where = cf_location(s->file, s->line);
            note(run, cf_live_add(l, (unsigned)strtoul(s->value, NULL, 10),
                                  ssl && is_yes(ssl->value), PROTOS[k].kind, cert, where));
            free(where);
        }
        int served = protocols ? strstr(protocols->value, PROTOS[k].plain_name) != NULL : 1;
        if (l->count == before && served) {
            char *where = cf_location(protocols ? protocols->file : main_file,
                                      protocols ? protocols->line : 0);
            note(run, cf_live_add(l, PROTOS[k].plain_port, 0, PROTOS[k].kind, cert, where));
            note(run, cf_live_add(l, PROTOS[k].tls_port, 1, PROTOS[k].kind, cert, where));
            free(where);
        }
    }
}

static ms_status audit_dovecot(ms_ctx *ctx, const ms_conf_audit_opts *opts, ms_conf_audit_result *r,
                               audit_run *run)
{
    struct stat sb;
    char *path = stat(opts->dovecot_conf, &sb) == 0 && S_ISDIR(sb.st_mode)
                     ? ms_asprintf("%s/dovecot.conf", opts->dovecot_conf)
                     : ms_strdup(opts->dovecot_conf);
    if (path == NULL)
        return MS_ERR_NOMEM;
    ms_conf_dovecot cf;
    ms_status st = ms_conf_dovecot_read(path, &cf, run->d);
    if (st == MS_ERR_IO) { /* read it again for why */
        size_t len;
        char *text;
        st = cf_read_file(path, &text, &len, &r->error);
        free(text);
        free(path);
        return st == MS_ERR_NOMEM ? st : MS_ERR_IO;
    }
    if (st == MS_OK) {
        r->dovecot_read = 1;
        r->dovecot_settings = cf.count;
        r->dovecot_files = cf.file_count;
        int version = opts->dovecot_version ? opts->dovecot_version : ms_conf_dovecot_syntax(&cf);
        r->dovecot_version = version;
        st = dovecot_1x_names(&cf, version, run);
        if (st == MS_OK) {
            dovecot_names(&cf, version, run);
            dovecot_checks(ctx, &cf, path, version, opts, run);
        }
        if (st == MS_OK && opts->live_host) {
            cf_live_ports l = {0};
            dovecot_live_ports(run, &cf, version, path, &l);
            r->live_ports += l.count;
            st = cf_live_check(ctx, opts->live_host, opts->ca_file, &l, run->d, &r->error);
            cf_live_free(&l);
        }
        ms_conf_dovecot_free(&cf);
    }
    free(path);
    return st;
}

/* ---- SASL: Postfix's smtpd asking Dovecot's auth service ---- */

enum { MAX_AUTH_LISTENERS = 16 };

/* A unix_listener of Dovecot's "service auth": the socket's path (relative
 * ones are under base_dir) and who may connect. */
typedef struct auth_listener {
    char *path; /* absolute */
    const char *user, *group, *mode; /* NULL: Dovecot's defaults (root, root, 0600) */
    const ms_conf_dovecot_setting *first; /* where it is written */
    int reported;                         /* its access was found wanting: said once */
} auth_listener;

static size_t auth_listeners(audit_run *run, const ms_conf_dovecot *cf, auth_listener *out,
                             size_t max)
{
    static const char PREFIX[] = "service auth/unix_listener ";
    const ms_conf_dovecot_setting *where;
    const char *base = dv_value(cf, "base_dir", "/run/dovecot", &where);
    size_t n = 0;
    for (size_t i = 0; i < cf->count; i++) {
        const ms_conf_dovecot_setting *s = &cf->settings[i];
        if (strncmp(s->section, PREFIX, sizeof PREFIX - 1) != 0)
            continue;
        const char *name = s->section + sizeof PREFIX - 1;
        size_t k = 0;
        while (k < n && strcmp(out[k].first->section, s->section) != 0)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            char *path = name[0] == '/' ? ms_strdup(name) : ms_asprintf("%s/%s", base, name);
            if (path == NULL) {
                run->nomem = 1;
                continue;
            }
            out[n++] = (auth_listener){.path = path, .first = s};
        }
        if (strcmp(s->name, "user") == 0)
            out[k].user = s->value;
        else if (strcmp(s->name, "group") == 0)
            out[k].group = s->value;
        else if (strcmp(s->name, "mode") == 0)
            out[k].mode = s->value;
    }
    return n;
}

/* Connecting to a unix socket needs write permission on it. */
static int lets_in(const auth_listener *l, const char *owner)
{
    unsigned long mode = strtoul(l->mode ? l->mode : "0600", NULL, 8);
    const char *user = l->user && *l->user ? l->user : "root";
    const char *group = l->group && *l->group ? l->group : "root";
    return (mode & 0002) || (strcmp(user, owner) == 0 && (mode & 0200)) ||
           (strcmp(group, owner) == 0 && (mode & 0020));
}

/* One service with SMTP AUTH against Dovecot's listeners. */
static void check_sasl_wiring(const pf *p, const ms_conf_service *s, const char *what,
                              auth_listener *l, size_t n, audit_run *run)
{
    size_t line;
    const char *file;
    char *type = service_value(run, p, s, "smtpd_sasl_type", &line, &file);
    if (type == NULL || strcmp(type, "dovecot") != 0) {
        add(run, CF_SASL_TYPE, file, line, "%s: smtpd_sasl_auth_enable = yes with smtpd_sasl_type = %s%s",
            what, type ? type : "cyrus", line ? "" : " (the default)");
        free(type);
        return;
    }
    free(type);
    char *path = service_value(run, p, s, "smtpd_sasl_path", &line, &file);
    char *queue = main_value(run, p, "queue_directory");
    char *full = path == NULL || strncmp(path, "inet:", 5) == 0 ? NULL
                 : path[0] == '/'                               ? ms_strdup(path)
                                                                : ms_asprintf("%s/%s", queue ? queue : "", path);
    run->nomem |= path != NULL && full == NULL && strncmp(path, "inet:", 5) != 0;
    auth_listener *match = NULL;
    for (size_t i = 0; full && i < n && match == NULL; i++)
        if (strcmp(l[i].path, full) == 0)
            match = &l[i];
    char *owner = main_value(run, p, "mail_owner");
    if (full && match == NULL) {
        ms_buf paths = MS_BUF_INIT;
        for (size_t i = 0; i < n; i++)
            ms_buf_printf(&paths, "%s%s", i ? ", " : "", l[i].path);
        run->nomem |= paths.failed;
        add(run, CF_SASL_PATH, file, line,
            "%s: smtpd_sasl_path = %s is %s, where Dovecot's service auth has %s%s", what,
            path, full, n ? "unix_listener " : "no unix_listener",
            n && paths.data ? paths.data : "");
        ms_buf_free(&paths);
    } else if (match && !match->reported && !lets_in(match, owner ? owner : "postfix")) {
        match->reported = 1;
        add(run, CF_SASL_ACCESS, match->first->file, match->first->line,
            "unix_listener %s (user %s, group %s, mode %s) does not let %s connect", match->path,
            match->user ? match->user : "root", match->group ? match->group : "root",
            match->mode ? match->mode : "0600", owner ? owner : "postfix");
    }
    free(owner);
    free(full);
    free(queue);
    free(path);
}

/* Every smtpd service of master.cf that enables SMTP AUTH must reach one
 * of Dovecot's auth listeners: type dovecot, the same path, a listener
 * Postfix may connect to. Both configurations are read again, quietly:
 * their own findings were reported by their audits. */
static void sasl_wiring(const ms_conf_audit_opts *opts, audit_run *run)
{
    ms_diag_list quiet = MS_DIAG_LIST_INIT;
    char *error = NULL;
    pf p;
    ms_conf_dovecot cf = {0};
    struct stat sb;
    char *dv_path = stat(opts->dovecot_conf, &sb) == 0 && S_ISDIR(sb.st_mode)
                        ? ms_asprintf("%s/dovecot.conf", opts->dovecot_conf)
                        : ms_strdup(opts->dovecot_conf);
    ms_status st = pf_read(opts, &p, &error, &quiet);
    note(run, st);
    run->nomem |= dv_path == NULL;
    if (st == MS_OK && dv_path != NULL) {
        st = ms_conf_dovecot_read(dv_path, &cf, &quiet);
        note(run, st);
    }
    if (st == MS_OK && dv_path != NULL) {
        auth_listener l[MAX_AUTH_LISTENERS];
        size_t n = auth_listeners(run, &cf, l, MAX_AUTH_LISTENERS);
        for (size_t i = 0; i < p.master.count; i++) {
            const ms_conf_service *s = &p.master.services[i];
            size_t line;
            const char *file;
            char *sasl = service_value(run, &p, s, "smtpd_sasl_auth_enable", &line, &file);
            if (strcmp(s->command, "smtpd") == 0 && is_yes(sasl)) {
                char what[200];
                snprintf(what, sizeof what, "service %s (port %d)", s->name, ms_conf_service_port(s));
                check_sasl_wiring(&p, s, what, l, n, run);
            }
            free(sasl);
        }
        for (size_t i = 0; i < n; i++)
            free(l[i].path);
        ms_conf_dovecot_free(&cf);
    }
    pf_free(&p);
    free(dv_path);
    free(error);
    ms_diag_list_free(&quiet);
}

ms_status ms_conf_audit(ms_ctx *ctx, const ms_conf_audit_opts *opts, ms_conf_audit_result *result,
                        ms_diag_list *diags)
{
    memset(result, 0, sizeof *result);
    audit_run run = {.d = diags};
    ms_status st = MS_OK;
    if (opts->postfix_dir)
        st = audit_postfix(ctx, opts, result, &run);
    if (st == MS_OK && opts->dovecot_conf)
        st = audit_dovecot(ctx, opts, result, &run);
    if (st == MS_OK && opts->postfix_dir && opts->dovecot_conf)
        sasl_wiring(opts, &run);
    return st == MS_OK && run.nomem ? MS_ERR_NOMEM : st;
}

void ms_conf_audit_result_free(ms_conf_audit_result *result)
{
    free(result->error);
    result->error = NULL;
}
