/* Postfix's two files: main.cf (postconf(5), "SYNTAX") and master.cf
 * (master(5)). Both are read as logical lines: a line that starts with
 * white space continues the one before, and comment lines (first
 * non-blank character '#') and blank lines are skipped, even between the
 * parts of one logical line, as Postfix does. Every setting keeps the file
 * and the line its logical line starts on. */
#include "internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- logical lines ---- */

typedef struct cf_token {
    char *text;
    size_t line;
} cf_token;

typedef struct pf_line {
    ms_buf text;      /* the logical line, parts joined by one space */
    size_t line;      /* where it starts */
    /* the physical line on which each byte of text was written */
    size_t *byte_line;
    size_t byte_line_cap;
} pf_line;

static int is_blank_or_comment(const char *p, const char *end)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    return p == end || *p == '#';
}

static void line_append(pf_line *l, const char *p, size_t n, size_t line)
{
    if (l->text.len + n + 1 > l->byte_line_cap) {
        size_t cap = (l->text.len + n + 1) * 2;
        size_t *grown = realloc(l->byte_line, cap * sizeof *grown);
        if (grown == NULL) {
            l->text.failed = 1;
            return;
        }
        l->byte_line = grown;
        l->byte_line_cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        l->byte_line[l->text.len + i] = line;
    ms_buf_append(&l->text, p, n);
}

/* Calls fn for each logical line of text. Stops (and returns the status)
 * when fn fails. */
typedef ms_status (*pf_line_fn)(pf_line *l, void *arg);

static ms_status for_each_logical_line(const char *text, size_t len, pf_line_fn fn, void *arg)
{
    pf_line l = {MS_BUF_INIT, 0, NULL, 0};
    ms_status st = MS_OK;
    size_t number = 0;
    int open = 0;
    for (const char *p = text, *end = text + len; p < end && st == MS_OK;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        number++;
        if (!is_blank_or_comment(p, stop)) {
            const char *trimmed_end = stop;
            while (trimmed_end > p && isspace((unsigned char)trimmed_end[-1]))
                trimmed_end--;
            if (*p == ' ' || *p == '\t') {
                const char *q = p;
                while (q < trimmed_end && (*q == ' ' || *q == '\t'))
                    q++;
                if (open) {
                    line_append(&l, " ", 1, number);
                } else {
                    /* continuation with nothing before it: a line of its own */
                    l.line = number;
                    open = 1;
                }
                line_append(&l, q, (size_t)(trimmed_end - q), number);
            } else {
                if (open)
                    st = fn(&l, arg);
                l.text.len = 0;
                if (l.text.data)
                    l.text.data[0] = '\0';
                l.line = number;
                open = 1;
                line_append(&l, p, (size_t)(trimmed_end - p), number);
            }
            if (l.text.failed)
                st = MS_ERR_NOMEM;
        }
        p = nl ? nl + 1 : end;
    }
    if (open && st == MS_OK)
        st = fn(&l, arg);
    ms_buf_free(&l.text);
    free(l.byte_line);
    return st;
}

static ms_status add_setting(ms_conf_setting **items, size_t *count, const char *name, size_t name_len,
                             const char *value, size_t value_len, const char *file, size_t line)
{
    if (*count >= MS_CONF_MAX_SETTINGS)
        return MS_ERR_LIMIT;
    ms_conf_setting *grown = realloc(*items, (*count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    *items = grown;
    ms_conf_setting *s = &grown[*count];
    s->name = strndup(name, name_len);
    s->value = strndup(value, value_len);
    s->file = ms_strdup(file);
    s->line = line;
    if (s->name == NULL || s->value == NULL || s->file == NULL) {
        free(s->name), free(s->value), free(s->file);
        return MS_ERR_NOMEM;
    }
    (*count)++;
    return MS_OK;
}

static void free_settings(ms_conf_setting *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(items[i].name);
        free(items[i].value);
        free(items[i].file);
    }
    free(items);
}

typedef struct parse_state {
    const char *file;
    ms_diag_list *diags;
    size_t findings;
    void *out;
    int nomem; /* a finding could not be recorded: the parse says MS_ERR_NOMEM */
} parse_state;

/* What tells main.cf and master.cf apart when parse_file reads them. */
typedef struct pf_kind {
    const char *default_name;    /* names the file in findings when the caller gives none */
    pf_line_fn line_fn;          /* reads one logical line into the result */
    size_t out_size;             /* the result, zeroed before the first line */
    void (*free_out)(void *out); /* frees a result that a failed parse left half built */
} pf_kind;

/* A whole file of the given kind read line by line into out; file (NULL:
 * the kind's default name) names it in findings. On failure out is freed
 * and empty. */
static ms_status parse_file(const char *text, size_t len, const char *file, const pf_kind *kind,
                            void *out, ms_diag_list *diags)
{
    memset(out, 0, kind->out_size);
    ms_status st = MS_ERR_LIMIT;
    if (len <= MS_CONF_MAX_BYTES) {
        parse_state ps = {file ? file : kind->default_name, diags, 0, out, 0};
        st = for_each_logical_line(text, len, kind->line_fn, &ps);
        if (st == MS_OK && ps.nomem)
            st = MS_ERR_NOMEM;
    }
    if (st != MS_OK)
        kind->free_out(out);
    return st;
}

static void syntax_finding(parse_state *ps, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void syntax_finding(parse_state *ps, size_t line, const char *fmt, ...)
{
    if (ps->diags == NULL || ps->findings++ >= MS_CONF_MAX_FINDINGS)
        return;
    char *loc = cf_location(ps->file, line);
    va_list ap;
    va_start(ap, fmt);
    if (loc == NULL || ms_diag_addv(ps->diags, CF_DEF(CF_SYNTAX), loc, -1, fmt, ap) != MS_OK)
        ps->nomem = 1;
    va_end(ap);
    free(loc);
}

/* ---- main.cf ---- */

static int is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static ms_status maincf_line(pf_line *l, void *arg)
{
    parse_state *ps = arg;
    ms_conf_maincf *cf = ps->out;
    const char *s = l->text.data;
    size_t n = 0;
    while (is_name_char(s[n]))
        n++;
    const char *after = s + n;
    while (*after == ' ' || *after == '\t')
        after++;
    if (n == 0 || *after != '=') {
        syntax_finding(ps, l->line, "main.cf wants \"name = value\"; this line is \"%.60s\"", s);
        return MS_OK;
    }
    const char *value = after + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t vlen = strlen(value);
    while (vlen > 0 && isspace((unsigned char)value[vlen - 1]))
        vlen--;
    return add_setting(&cf->settings, &cf->count, s, n, value, vlen, ps->file, l->line);
}

static void maincf_free(void *cf)
{
    ms_conf_maincf_free(cf);
}

static const pf_kind MAINCF = {"main.cf", maincf_line, sizeof(ms_conf_maincf), maincf_free};

ms_status ms_conf_maincf_parse(const char *text, size_t len, const char *file, ms_conf_maincf *out,
                               ms_diag_list *diags)
{
    return parse_file(text, len, file, &MAINCF, out, diags);
}

void ms_conf_maincf_free(ms_conf_maincf *cf)
{
    if (cf == NULL)
        return;
    free_settings(cf->settings, cf->count);
    cf->settings = NULL;
    cf->count = 0;
}

/* The setting of that name that counts: the last one, as in Postfix. */
static const ms_conf_setting *last_named(const ms_conf_setting *items, size_t count, const char *name)
{
    for (size_t i = count; i-- > 0;)
        if (strcmp(items[i].name, name) == 0)
            return &items[i];
    return NULL;
}

const ms_conf_setting *ms_conf_maincf_get(const ms_conf_maincf *cf, const char *name)
{
    return last_named(cf->settings, cf->count, name);
}

/* Postfix 3.7's defaults (postconf -d) of the parameters the audit reads. */
static const struct {
    const char *name, *value;
} POSTFIX_DEFAULTS[] = {
    {"config_directory", "/etc/postfix"},
    {"smtpd_tls_security_level", ""},
    {"smtpd_use_tls", "no"},
    {"smtpd_enforce_tls", "no"},
    {"smtpd_tls_auth_only", "no"},
    {"smtpd_sasl_auth_enable", "no"},
    {"smtpd_sasl_type", "cyrus"},
    {"smtpd_sasl_path", "smtpd"},
    {"queue_directory", "/var/spool/postfix"},
    {"mail_owner", "postfix"},
    {"smtpd_tls_wrappermode", "no"},
    {"smtpd_tls_cert_file", ""},
    {"smtpd_tls_key_file", "$smtpd_tls_cert_file"},
    {"smtpd_tls_chain_files", ""},
    {"smtpd_tls_eccert_file", ""},
    {"smtpd_tls_eckey_file", "$smtpd_tls_eccert_file"},
    {"smtpd_tls_protocols", ">=TLSv1"},
    {"smtpd_tls_mandatory_protocols", ">=TLSv1"},
    {"smtpd_tls_ciphers", "medium"},
    {"smtpd_tls_mandatory_ciphers", "medium"},
    {"smtpd_tls_exclude_ciphers", ""},
    {"smtpd_tls_mandatory_exclude_ciphers", ""},
    {"tls_high_cipherlist", "aNULL:-aNULL:HIGH:@STRENGTH"},
    {"tls_medium_cipherlist", "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH"},
    {"tls_low_cipherlist", "aNULL:-aNULL:ALL:!EXPORT:+RC4:@STRENGTH"},
    {"tls_export_cipherlist", "aNULL:-aNULL:ALL:+RC4:@STRENGTH"},
    {"tls_null_cipherlist", "eNULL:!aNULL"},
    {"tls_preempt_cipherlist", "no"},
    {"compatibility_level", "0"},
};

const char *ms_conf_postfix_default(const char *name)
{
    for (size_t i = 0; i < sizeof POSTFIX_DEFAULTS / sizeof POSTFIX_DEFAULTS[0]; i++)
        if (strcmp(POSTFIX_DEFAULTS[i].name, name) == 0)
            return POSTFIX_DEFAULTS[i].value;
    return NULL;
}

static const char *raw_value(const ms_conf_maincf *cf, const char *name)
{
    const ms_conf_setting *s = ms_conf_maincf_get(cf, name);
    return s ? s->value : ms_conf_postfix_default(name);
}

/* Expands text into out; depth bounds $a -> $b -> $a loops, and *budget
 * the lookups of one expansion ("a = $b$b", "b = $c$c", ... doubles the
 * work at each level without growing the text). Returns 0 when the result
 * would pass MS_CONF_MAX_EXPANSION or the budget runs out, or memory ran
 * out (out->failed then says so, for every allocation of the expansion). */
static int expand(const ms_conf_maincf *cf, const char *text, ms_buf *out, int depth, long *budget)
{
    if (depth > MS_CONF_MAX_DEPTH)
        return 1; /* Postfix reports a loop; leave the rest unexpanded */
    for (const char *p = text; *p;) {
        if (out->len > MS_CONF_MAX_EXPANSION || *budget <= 0)
            return 0;
        if (*p != '$') {
            size_t n = strcspn(p, "$");
            ms_buf_append(out, p, n);
            p += n;
            continue;
        }
        p++;
        if (*p == '$') {
            ms_buf_puts(out, "$");
            p++;
            continue;
        }
        char close = *p == '{' ? '}' : *p == '(' ? ')' : '\0';
        if (close)
            p++;
        size_t n = 0;
        while (isalnum((unsigned char)p[n]) || p[n] == '_')
            n++;
        if (n == 0) {
            ms_buf_puts(out, "$");
            continue;
        }
        char *name = strndup(p, n);
        if (name == NULL) {
            out->failed = 1;
            return 0;
        }
        (*budget)--;
        p += n;
        const char *value = raw_value(cf, name);
        free(name);
        char op = close && (*p == '?' || *p == ':') ? *p : '\0';
        const char *alt = NULL;
        size_t alt_len = 0;
        if (op) {
            alt = ++p;
            int nest = 0;
            while (*p && (*p != close || nest > 0)) {
                nest += *p == '{' || *p == '(';
                nest -= (*p == '}' || *p == ')') && nest > 0;
                p++;
            }
            alt_len = (size_t)(p - alt);
        }
        if (close && *p == close)
            p++;
        int set = value != NULL && *value != '\0';
        /* ${name?alt}: alt when name is set; ${name:alt}: alt when it is not */
        if ((op == '?' && set) || (op == ':' && !set)) {
            char *t = strndup(alt, alt_len);
            out->failed |= t == NULL;
            int ok = t && expand(cf, t, out, depth + 1, budget);
            free(t);
            if (!ok)
                return 0;
        } else if (!op && value && !expand(cf, value, out, depth + 1, budget)) {
            return 0;
        }
    }
    return out->len <= MS_CONF_MAX_EXPANSION && *budget > 0;
}

ms_status cf_expand_text(const ms_conf_maincf *cf, const char *text, char **out)
{
    ms_buf buf = MS_BUF_INIT;
    ms_buf_puts(&buf, "");
    long budget = MS_CONF_MAX_LOOKUPS;
    int fits = expand(cf, text, &buf, 0, &budget);
    ms_status st = buf.failed ? MS_ERR_NOMEM : MS_OK;
    if (fits && !buf.failed) {
        *out = ms_buf_take(&buf);
    } else {
        *out = NULL;
        ms_buf_free(&buf);
    }
    return st;
}

ms_status cf_maincf_value(const ms_conf_maincf *cf, const char *name, char **out)
{
    const char *value = raw_value(cf, name);
    *out = NULL;
    return value ? cf_expand_text(cf, value, out) : MS_OK;
}

char *ms_conf_maincf_value(const ms_conf_maincf *cf, const char *name)
{
    char *value;
    (void)cf_maincf_value(cf, name, &value); /* NULL either way, as documented */
    return value;
}

/* ---- master.cf ---- */

/* Splits the logical line into white-space separated tokens; "{ ... }"
 * (Postfix 3.0) is one token, braces kept. */
static ms_status tokenize(const pf_line *l, cf_token **out, size_t *count)
{
    const char *s = l->text.data;
    *out = NULL;
    *count = 0;
    for (size_t i = 0; s[i];) {
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        size_t start = i;
        if (s[i] == '{') {
            int nest = 0;
            do {
                nest += s[i] == '{';
                nest -= s[i] == '}';
                i++;
            } while (s[i] && nest > 0);
        } else {
            while (s[i] && s[i] != ' ' && s[i] != '\t')
                i++;
        }
        if (*count >= MS_CONF_MAX_SETTINGS)
            return MS_ERR_LIMIT;
        cf_token *grown = realloc(*out, (*count + 1) * sizeof *grown);
        if (grown == NULL)
            return MS_ERR_NOMEM;
        *out = grown;
        grown[*count].text = strndup(s + start, i - start);
        grown[*count].line = l->byte_line[start];
        if (grown[*count].text == NULL)
            return MS_ERR_NOMEM;
        (*count)++;
    }
    return MS_OK;
}

static void free_tokens(cf_token *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(t[i].text);
    free(t);
}

static void free_service(ms_conf_service *s)
{
    free(s->name), free(s->type), free(s->private_), free(s->unpriv), free(s->chroot);
    free(s->wakeup), free(s->maxproc), free(s->command), free(s->file);
    free_settings(s->overrides, s->override_count);
    for (size_t i = 0; i < s->arg_count; i++)
        free(s->args[i]);
    free(s->args);
}

/* "name=value" or "{ name = value }" as an override. */
static ms_status add_override(parse_state *ps, ms_conf_service *s, const cf_token *t)
{
    const char *text = t->text;
    size_t len = strlen(text);
    if (text[0] == '{') {
        text++;
        len -= len >= 2 && text[len - 2] == '}' ? 2 : 1;
    }
    while (len > 0 && isspace((unsigned char)*text))
        text++, len--;
    while (len > 0 && isspace((unsigned char)text[len - 1]))
        len--;
    const char *eq = memchr(text, '=', len);
    if (eq == NULL || eq == text) {
        syntax_finding(ps, t->line, "\"-o %.60s\" is not \"-o name=value\"", t->text);
        return MS_OK;
    }
    size_t name_len = (size_t)(eq - text);
    while (name_len > 0 && isspace((unsigned char)text[name_len - 1]))
        name_len--;
    const char *value = eq + 1;
    while (value < text + len && isspace((unsigned char)*value))
        value++;
    return add_setting(&s->overrides, &s->override_count, text, name_len, value,
                       (size_t)(text + len - value), ps->file, t->line);
}

static ms_status add_arg(ms_conf_service *s, const char *text)
{
    char **grown = realloc(s->args, (s->arg_count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    s->args = grown;
    if ((grown[s->arg_count] = strdup(text)) == NULL)
        return MS_ERR_NOMEM;
    s->arg_count++;
    return MS_OK;
}

static ms_status build_service(parse_state *ps, const pf_line *l, cf_token *t, size_t n,
                               ms_conf_service *s)
{
    memset(s, 0, sizeof *s);
    char **fields[] = {&s->name, &s->type, &s->private_, &s->unpriv, &s->chroot, &s->wakeup,
                       &s->maxproc, &s->command};
    for (size_t i = 0; i < 8; i++) {
        *fields[i] = t[i].text;
        t[i].text = NULL;
    }
    s->file = ms_strdup(ps->file);
    s->line = l->line;
    if (s->file == NULL)
        return MS_ERR_NOMEM;
    ms_status st = MS_OK;
    for (size_t i = 8; i < n && st == MS_OK; i++) {
        if (strcmp(t[i].text, "-o") == 0 && i + 1 < n) {
            st = add_override(ps, s, &t[++i]);
        } else if (strncmp(t[i].text, "-o", 2) == 0 && t[i].text[2] != '\0') {
            cf_token joined = {t[i].text + 2, t[i].line};
            st = add_override(ps, s, &joined);
        } else {
            st = add_arg(s, t[i].text);
        }
    }
    return st;
}

static ms_status mastercf_line(pf_line *l, void *arg)
{
    parse_state *ps = arg;
    ms_conf_mastercf *cf = ps->out;
    cf_token *t;
    size_t n;
    ms_status st = tokenize(l, &t, &n);
    if (st == MS_OK && n < 8) {
        syntax_finding(ps, l->line,
                       "a master.cf service needs 8 fields (service type private unpriv chroot "
                       "wakeup maxproc command); this line is \"%.60s\"", l->text.data);
    } else if (st == MS_OK && cf->count >= MS_CONF_MAX_SETTINGS) {
        st = MS_ERR_LIMIT;
    } else if (st == MS_OK) {
        ms_conf_service *grown = realloc(cf->services, (cf->count + 1) * sizeof *grown);
        if (grown == NULL) {
            st = MS_ERR_NOMEM;
        } else {
            cf->services = grown;
            st = build_service(ps, l, t, n, &grown[cf->count]);
            cf->count++; /* freed with the rest, even half built */
        }
    }
    free_tokens(t, n);
    return st;
}

static void mastercf_free(void *cf)
{
    ms_conf_mastercf_free(cf);
}

static const pf_kind MASTERCF = {"master.cf", mastercf_line, sizeof(ms_conf_mastercf), mastercf_free};

ms_status ms_conf_mastercf_parse(const char *text, size_t len, const char *file,
                                 ms_conf_mastercf *out, ms_diag_list *diags)
{
    return parse_file(text, len, file, &MASTERCF, out, diags);
}

void ms_conf_mastercf_free(ms_conf_mastercf *cf)
{
    if (cf == NULL)
        return;
    for (size_t i = 0; i < cf->count; i++)
        free_service(&cf->services[i]);
    free(cf->services);
    cf->services = NULL;
    cf->count = 0;
}

const ms_conf_setting *ms_conf_service_override(const ms_conf_service *s, const char *name)
{
    return last_named(s->overrides, s->override_count, name);
}

int ms_conf_service_port(const ms_conf_service *s)
{
    if (s->type == NULL || strcmp(s->type, "inet") != 0)
        return 0;
    /* "host:port": the part after the last colon ("[::1]:587" too) */
    const char *port = strrchr(s->name, ':');
    port = port ? port + 1 : s->name;
    static const struct {
        const char *name;
        int port;
    } KNOWN[] = {{"smtp", 25}, {"submission", 587}, {"smtps", 465}, {"submissions", 465}, {"urd", 465}};
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (strcmp(port, KNOWN[i].name) == 0)
            return KNOWN[i].port;
    char *end;
    long n = strtol(port, &end, 10);
    return *port && *end == '\0' && n > 0 && n < 65536 ? (int)n : 0;
}
