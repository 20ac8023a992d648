/* Dovecot's configuration (doveconf(1), "Dovecot configuration file"
 * syntax of 2.3 and 2.4): "key = value" lines, sections opened by
 * "name {" or "name value {" and closed by "}", "!include" and
 * "!include_try" with globs relative to the including file, "key = <file"
 * values, values continued by a backslash at the end of the line, and
 * quoted values. Settings are flattened to (section path, name, value)
 * with the file and line each was written on. */
#include "internal.h"

#include <ctype.h>
#include <glob.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

typedef struct dv_state {
    ms_conf_dovecot *out;
    ms_diag_list *diags;
    size_t findings;
    int follow_includes;
    int depth; /* of includes */
    const char *prefix; /* the section an !include is in: its file's settings go there */
    int nomem;          /* a finding could not be recorded: the parse says MS_ERR_NOMEM */
} dv_state;

static void finding(dv_state *s, int code, const char *file, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void finding(dv_state *s, int code, const char *file, size_t line, const char *fmt, ...)
{
    if (s->diags == NULL || s->findings++ >= MS_CONF_MAX_FINDINGS)
        return;
    char *loc = cf_location(file, line);
    va_list ap;
    va_start(ap, fmt);
    if (loc == NULL || ms_diag_addv(s->diags, CF_DEF(code), loc, -1, fmt, ap) != MS_OK)
        s->nomem = 1;
    va_end(ap);
    free(loc);
}

static ms_status add(dv_state *s, const char *section, const char *name, size_t name_len,
                     const char *value, size_t value_len, int from_file, const char *file,
                     size_t line)
{
    ms_conf_dovecot *cf = s->out;
    if (cf->count >= MS_CONF_MAX_SETTINGS)
        return MS_ERR_LIMIT;
    ms_conf_dovecot_setting *grown = realloc(cf->settings, (cf->count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    cf->settings = grown;
    ms_conf_dovecot_setting *d = &grown[cf->count];
    d->section = strdup(section);
    d->name = strndup(name, name_len);
    d->value = strndup(value, value_len);
    d->file = strdup(file);
    d->from_file = from_file;
    d->line = line;
    if (!d->section || !d->name || !d->value || !d->file) {
        free(d->section), free(d->name), free(d->value), free(d->file);
        return MS_ERR_NOMEM;
    }
    cf->count++;
    return MS_OK;
}

static ms_status add_file(ms_conf_dovecot *cf, const char *path)
{
    if (cf->file_count >= MS_CONF_MAX_FILES)
        return MS_ERR_LIMIT;
    char **grown = realloc(cf->files, (cf->file_count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    cf->files = grown;
    if ((grown[cf->file_count] = strdup(path)) == NULL)
        return MS_ERR_NOMEM;
    cf->file_count++;
    return MS_OK;
}

static ms_status parse_text(dv_state *s, const char *text, size_t len, const char *file);

/* The include's pattern, relative to the including file's directory. */
static char *include_pattern(const char *file, const char *pattern)
{
    if (pattern[0] == '/')
        return strdup(pattern);
    char *copy = strdup(file);
    if (copy == NULL)
        return NULL;
    char *path = ms_asprintf("%s/%s", dirname(copy), pattern);
    free(copy);
    return path;
}

static ms_status include(dv_state *s, const char *file, size_t line, const char *pattern, int try,
                         const char *section)
{
    if (s->depth >= MS_CONF_MAX_DEPTH) {
        finding(s, CF_SYNTAX, file, line, "includes nested more than %s deep at \"%s\"", "32", pattern);
        return MS_OK;
    }
    char *path = include_pattern(file, pattern);
    if (path == NULL)
        return MS_ERR_NOMEM;
    glob_t g;
    int rc = glob(path, 0, NULL, &g);
    if (rc != 0) {
        if (!try)
            finding(s, CF_INCLUDE_MISSING, file, line,
                    "\"!include %s\": no file matches %s (doveconf fails on this; use "
                    "!include_try for optional files)", pattern, path);
        free(path);
        if (rc != GLOB_NOMATCH)
            globfree(&g);
        return MS_OK;
    }
    free(path);
    ms_status st = MS_OK;
    for (size_t i = 0; i < g.gl_pathc && st == MS_OK; i++) {
        char *error = NULL, *text;
        size_t n;
        st = cf_read_file(g.gl_pathv[i], &text, &n, &error);
        if (st == MS_ERR_IO) {
            st = MS_OK;
            if (!try)
                finding(s, CF_INCLUDE_MISSING, file, line, "\"!include\": %s%s", error, "");
            free(error);
            continue;
        }
        if (st != MS_OK)
            break;
        st = add_file(s->out, g.gl_pathv[i]);
        s->depth++;
        const char *outer = s->prefix;
        s->prefix = section;
        if (st == MS_OK)
            st = parse_text(s, text, n, g.gl_pathv[i]);
        s->prefix = outer;
        s->depth--;
        free(text);
    }
    globfree(&g);
    return st;
}

/* Strips a '#' comment: doveconf ends a value at any '#' outside quotes
 * ("mail_location = maildir:~/Mail#dir" reads "maildir:~/Mail"). */
static size_t strip_comment(const char *p, size_t n)
{
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            quoted = !quoted;
        else if (p[i] == '#' && !quoted)
            return i;
    }
    return n;
}

static int is_key_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '/' || c == '@' ||
           c == '!' || c == '*' || c == ':' || c == '$';
}

typedef struct dv_line {
    const char *p;
    size_t n;
    size_t line;
} dv_line;

/* Handles one logical line inside `section` (a buffer the caller grows
 * and cuts back as sections open and close). */
static ms_status one_line(dv_state *s, const char *file, dv_line l, ms_buf *section,
                          size_t *section_lens, size_t *depth, size_t *open_lines)
{
    const char *p = l.p;
    size_t n = strip_comment(p, l.n);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    if (n == 0)
        return MS_OK;
    if (p[0] == '}') {
        if (*depth == 0) {
            finding(s, CF_SYNTAX, file, l.line, "\"}\" closes no section%s%s", "", "");
        } else {
            (*depth)--;
            section->len = section_lens[*depth];
            section->data[section->len] = '\0';
        }
        if (n > 1)
            return one_line(s, file, (dv_line){p + 1, n - 1, l.line}, section, section_lens, depth,
                            open_lines);
        return MS_OK;
    }
    if (p[0] == '!') {
        int try = n > 12 && strncmp(p, "!include_try", 12) == 0 && isspace((unsigned char)p[12]);
        int inc = try || (n > 8 && strncmp(p, "!include", 8) == 0 && isspace((unsigned char)p[8]));
        if (!inc) {
            char *shown = strndup(p, n > 60 ? 60 : n);
            finding(s, CF_SYNTAX, file, l.line, "unknown directive \"%s\"%s", shown ? shown : "", "");
            free(shown);
            return MS_OK;
        }
        const char *arg = p + (try ? 12 : 8);
        while (isspace((unsigned char)*arg))
            arg++;
        size_t arg_len = (size_t)(p + n - arg);
        if (arg_len >= 2 && arg[0] == '"' && arg[arg_len - 1] == '"')
            arg++, arg_len -= 2;
        if (!s->follow_includes)
            return add(s, section->data, try ? "!include_try" : "!include", try ? 12 : 8, arg,
                       arg_len, 0, file, l.line);
        char *pattern = strndup(arg, arg_len);
        if (pattern == NULL)
            return MS_ERR_NOMEM;
        ms_status st = include(s, file, l.line, pattern, try, section->data);
        free(pattern);
        return st;
    }
    size_t k = 0;
    while (k < n && is_key_char(p[k]))
        k++;
    if (k == 0) {
        char *shown = strndup(p, n > 60 ? 60 : n);
        finding(s, CF_SYNTAX, file, l.line, "expected \"key = value\" or a section, not \"%s\"%s",
                shown ? shown : "", "");
        free(shown);
        return MS_OK;
    }
    size_t after = k;
    while (after < n && (p[after] == ' ' || p[after] == '\t'))
        after++;
    if (after < n && p[after] == '=') {
        const char *v = p + after + 1;
        const char *end = p + n;
        while (v < end && isspace((unsigned char)*v))
            v++;
        int from_file = 0;
        if (v < end && *v == '<') {
            from_file = 1;
            v++;
            while (v < end && isspace((unsigned char)*v))
                v++;
        }
        if (end - v >= 2 && (*v == '"' || *v == '\'') && end[-1] == *v)
            v++, end--;
        return add(s, section->data, p, k, v, (size_t)(end - v), from_file, file, l.line);
    }
    /* a section: "name {" or "name value {" */
    if (p[n - 1] == '{') {
        if (*depth >= MS_CONF_MAX_DEPTH) {
            finding(s, CF_SYNTAX, file, l.line, "sections nested deeper than %s%s", "32", "");
            return MS_OK;
        }
        size_t head = n - 1;
        while (head > 0 && isspace((unsigned char)p[head - 1]))
            head--;
        section_lens[*depth] = section->len;
        open_lines[*depth] = l.line;
        (*depth)++;
        if (section->len > 0)
            ms_buf_puts(section, "/");
        /* one space between name and value, whatever was written */
        size_t i = 0;
        int space = 0;
        for (; i < head; i++) {
            if (isspace((unsigned char)p[i])) {
                space = 1;
                continue;
            }
            if (space)
                ms_buf_puts(section, " ");
            space = 0;
            ms_buf_append(section, p + i, 1);
        }
        return section->failed ? MS_ERR_NOMEM : MS_OK;
    }
    char *shown = strndup(p, n > 60 ? 60 : n);
    finding(s, CF_SYNTAX, file, l.line, "expected \"key = value\" or \"name {\", not \"%s\"%s",
            shown ? shown : "", "");
    free(shown);
    return MS_OK;
}

static ms_status parse_text(dv_state *s, const char *text, size_t len, const char *file)
{
    if (len > MS_CONF_MAX_BYTES)
        return MS_ERR_LIMIT;
    ms_buf section = MS_BUF_INIT;
    ms_buf_puts(&section, s->prefix ? s->prefix : "");
    size_t section_lens[MS_CONF_MAX_DEPTH + 1];
    size_t open_lines[MS_CONF_MAX_DEPTH + 1];
    size_t depth = 0;
    ms_buf joined = MS_BUF_INIT; /* a value continued by "\" */
    size_t joined_line = 0;
    ms_status st = section.failed ? MS_ERR_NOMEM : MS_OK;
    size_t number = 0;
    for (const char *p = text, *end = text + len; p < end && st == MS_OK;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        number++;
        while (p < stop && isspace((unsigned char)*p))
            p++;
        const char *e = stop;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        if (e > p && e[-1] == '\\' && (joined.len > 0 || *p != '#')) {
            if (joined.len == 0)
                joined_line = number;
            ms_buf_append(&joined, p, (size_t)(e - p - 1));
            if (joined.failed)
                st = MS_ERR_NOMEM;
        } else if (joined.len > 0) {
            ms_buf_append(&joined, p, (size_t)(e - p));
            if (joined.failed)
                st = MS_ERR_NOMEM;
            else
                st = one_line(s, file, (dv_line){joined.data, joined.len, joined_line}, &section,
                              section_lens, &depth, open_lines);
            joined.len = 0;
        } else if (e > p && *p != '#') {
            st = one_line(s, file, (dv_line){p, (size_t)(e - p), number}, &section, section_lens,
                          &depth, open_lines);
        }
        p = nl ? nl + 1 : end;
    }
    if (st == MS_OK && joined.len > 0)
        st = one_line(s, file, (dv_line){joined.data, joined.len, joined_line}, &section,
                      section_lens, &depth, open_lines);
    if (st == MS_OK && depth > 0)
        finding(s, CF_SYNTAX, file, open_lines[0],
                "section \"%s\" is not closed (a \"}\" is missing)", section.data);
    ms_buf_free(&section);
    ms_buf_free(&joined);
    return st;
}

ms_status ms_conf_dovecot_parse(const char *text, size_t len, const char *file,
                                int follow_includes, ms_conf_dovecot *out, ms_diag_list *diags)
{
    memset(out, 0, sizeof *out);
    dv_state s = {out, diags, 0, follow_includes, 0, NULL, 0};
    if (file == NULL)
        file = "dovecot.conf";
    ms_status st = add_file(out, file);
    if (st == MS_OK)
        st = parse_text(&s, text, len, file);
    if (st == MS_OK && s.nomem)
        st = MS_ERR_NOMEM;
    if (st != MS_OK)
        ms_conf_dovecot_free(out);
    return st;
}

ms_status ms_conf_dovecot_read(const char *path, ms_conf_dovecot *out, ms_diag_list *diags)
{
    memset(out, 0, sizeof *out);
    char *error = NULL, *text;
    size_t n;
    ms_status st = cf_read_file(path, &text, &n, &error);
    free(error);
    if (st != MS_OK)
        return st;
    st = ms_conf_dovecot_parse(text, n, path, 1, out, diags);
    free(text);
    return st;
}

void ms_conf_dovecot_free(ms_conf_dovecot *cf)
{
    if (cf == NULL)
        return;
    for (size_t i = 0; i < cf->count; i++) {
        free(cf->settings[i].section);
        free(cf->settings[i].name);
        free(cf->settings[i].value);
        free(cf->settings[i].file);
    }
    free(cf->settings);
    for (size_t i = 0; i < cf->file_count; i++)
        free(cf->files[i]);
    free(cf->files);
    memset(cf, 0, sizeof *cf);
}

const ms_conf_dovecot_setting *ms_conf_dovecot_get(const ms_conf_dovecot *cf, const char *name)
{
    for (size_t i = cf->count; i-- > 0;)
        if (cf->settings[i].section[0] == '\0' && strcmp(cf->settings[i].name, name) == 0)
            return &cf->settings[i];
    return NULL;
}

int ms_conf_dovecot_syntax(const ms_conf_dovecot *cf)
{
    return ms_conf_dovecot_get(cf, "dovecot_config_version") ? 24 : 23;
}

int cf_dovecot_has_dh(const ms_conf_dovecot *cf, int version)
{
    if (version == 22)
        return 1;
    const ms_conf_dovecot_setting *s =
        ms_conf_dovecot_get(cf, version == 24 ? "ssl_server_dh_file" : "ssl_dh");
    return s && *s->value;
}
