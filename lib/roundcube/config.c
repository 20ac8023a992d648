/* Roundcube's PHP configuration files, read without running PHP.
 *
 * A scanner walks the text token by token (comments, string literals and
 * heredocs are skipped whole, so nothing inside them is mistaken for code)
 * and picks out the assignments `$config['key'] = value;` (and the legacy
 * `$rcmail_config['key']`). A value is classified only when it is a
 * literal: strings (joined by "."), booleans, null, integers; an array is
 * kept as the text written; anything else is MS_RC_OTHER. Each step moves
 * forward, so any input ends, and every read is bounded by len. */
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct scanner {
    const char *text;
    size_t len;
    size_t pos;
    size_t line; /* of pos, from 1 */
} scanner;

static int at_end(const scanner *s)
{
    return s->pos >= s->len;
}

static char peek(const scanner *s, size_t ahead)
{
    return s->pos + ahead < s->len ? s->text[s->pos + ahead] : '\0';
}

static int looking_at(const scanner *s, const char *word)
{
    size_t n = strlen(word);
    return s->len - s->pos >= n && memcmp(s->text + s->pos, word, n) == 0;
}

static void advance(scanner *s, size_t n)
{
    for (size_t i = 0; i < n && s->pos < s->len; i++)
        if (s->text[s->pos++] == '\n')
            s->line++;
}

/* "//" and "#" comments end at the line end or at "?>", as in PHP. */
static void skip_line_comment(scanner *s)
{
    while (!at_end(s) && peek(s, 0) != '\n' && !looking_at(s, "?>"))
        advance(s, 1);
}

static void skip_block_comment(scanner *s)
{
    advance(s, 2);
    while (!at_end(s) && !looking_at(s, "*/"))
        advance(s, 1);
    advance(s, 2);
}

/* A quoted string from its opening quote to past its closing one. */
static void skip_quoted(scanner *s)
{
    char quote = peek(s, 0);
    advance(s, 1);
    while (!at_end(s) && peek(s, 0) != quote)
        advance(s, peek(s, 0) == '\\' ? 2 : 1);
    advance(s, 1);
}

/* <<<LABEL, <<<"LABEL" or <<<'LABEL' to the line that closes it. */
static void skip_heredoc(scanner *s)
{
    advance(s, 3);
    while (peek(s, 0) == ' ' || peek(s, 0) == '\t')
        advance(s, 1);
    if (peek(s, 0) == '"' || peek(s, 0) == '\'')
        advance(s, 1);
    size_t start = s->pos;
    while (!at_end(s) && (isalnum((unsigned char)peek(s, 0)) || peek(s, 0) == '_'))
        advance(s, 1);
    size_t label_len = s->pos - start;
    if (label_len == 0)
        return;
    const char *label = s->text + start;
    while (!at_end(s)) {
        advance(s, 1);
        if (s->text[s->pos - 1] != '\n')
            continue;
        while (peek(s, 0) == ' ' || peek(s, 0) == '\t') /* PHP 7.3: indented closer */
            advance(s, 1);
        if (s->len - s->pos >= label_len && memcmp(s->text + s->pos, label, label_len) == 0) {
            advance(s, label_len);
            return;
        }
    }
}

/* Skips a comment, string or heredoc at pos: 1 when there was one. */
static int skip_non_code(scanner *s)
{
    char c = peek(s, 0);
    if (c == '#' || (c == '/' && peek(s, 1) == '/'))
        skip_line_comment(s);
    else if (c == '/' && peek(s, 1) == '*')
        skip_block_comment(s);
    else if (c == '\'' || c == '"' || c == '`')
        skip_quoted(s);
    else if (looking_at(s, "<<<"))
        skip_heredoc(s);
    else
        return 0;
    return 1;
}

static void skip_space_and_comments(scanner *s)
{
    for (;;) {
        while (!at_end(s) && isspace((unsigned char)peek(s, 0)))
            advance(s, 1);
        char c = peek(s, 0);
        if (c == '#' || (c == '/' && (peek(s, 1) == '/' || peek(s, 1) == '*')))
            skip_non_code(s);
        else
            return;
    }
}

/* ---- string literals ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void put_utf8(ms_buf *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    ms_buf_append(out, b, n);
}

/* One escape of a double-quoted string, after the backslash at t[*i]. */
static void decode_double_escape(const char *t, size_t end, size_t *i, ms_buf *out)
{
    static const char simple_from[] = "ntrvef\\$\"";
    static const char simple_to[] = "\n\t\r\v\x1b\f\\$\"";
    size_t j = *i + 1;
    char c = j < end ? t[j] : '\0';
    const char *hit = c != '\0' ? strchr(simple_from, c) : NULL;
    if (hit != NULL) {
        ms_buf_append(out, &simple_to[hit - simple_from], 1);
        *i = j + 1;
    } else if (c >= '0' && c <= '7') {
        unsigned v = 0;
        size_t k = j;
        while (k < end && k < j + 3 && t[k] >= '0' && t[k] <= '7')
            v = v * 8 + (unsigned)(t[k++] - '0');
        char byte = (char)(v & 0xFF);
        ms_buf_append(out, &byte, 1);
        *i = k;
    } else if (c == 'x' && j + 1 < end && hex_value(t[j + 1]) >= 0) {
        unsigned v = (unsigned)hex_value(t[j + 1]);
        size_t k = j + 2;
        if (k < end && hex_value(t[k]) >= 0)
            v = v * 16 + (unsigned)hex_value(t[k++]);
        char byte = (char)v;
        ms_buf_append(out, &byte, 1);
        *i = k;
    } else if (c == 'u' && j + 1 < end && t[j + 1] == '{') {
        unsigned long cp = 0;
        size_t k = j + 2;
        while (k < end && hex_value(t[k]) >= 0 && cp <= 0x10FFFF)
            cp = cp * 16 + (unsigned long)hex_value(t[k++]);
        if (k < end && t[k] == '}' && k > j + 2 && cp <= 0x10FFFF) {
            put_utf8(out, cp);
            *i = k + 1;
        } else {
            ms_buf_append(out, "\\", 1); /* PHP refuses it; kept as written */
            *i = j;
        }
    } else {
        ms_buf_append(out, "\\", 1); /* an unknown escape stays as written */
        *i = j;
    }
}

/* Decodes the literal at t[*i] (a quote) into out; *i moves past it.
 * Returns 0 when it is not closed, or when a double-quoted string
 * interpolates a variable (its value is not in the file). */
static int decode_string(const char *t, size_t end, size_t *i, ms_buf *out)
{
    char quote = t[*i];
    size_t k = *i + 1;
    while (k < end && t[k] != quote) {
        if (t[k] == '\\' && quote == '\'') {
            if (k + 1 < end && (t[k + 1] == '\'' || t[k + 1] == '\\')) {
                ms_buf_append(out, &t[k + 1], 1);
                k += 2;
            } else {
                ms_buf_append(out, "\\", 1);
                k++;
            }
        } else if (t[k] == '\\') {
            decode_double_escape(t, end, &k, out);
        } else if (quote == '"' && t[k] == '$' && k + 1 < end &&
                   (isalpha((unsigned char)t[k + 1]) || t[k + 1] == '_' || t[k + 1] == '{')) {
            return 0;
        } else {
            ms_buf_append(out, &t[k], 1);
            k++;
        }
    }
    if (k >= end)
        return 0;
    *i = k + 1;
    return 1;
}

/* ---- values ---- */

static size_t skip_blank(const char *t, size_t i, size_t end)
{
    while (i < end && isspace((unsigned char)t[i]))
        i++;
    return i;
}

/* 'a' . "b" . 'c': 1 and the joined text in out, or 0. */
static int parse_concatenation(const char *t, size_t end, ms_buf *out)
{
    size_t i = 0;
    for (;;) {
        i = skip_blank(t, i, end);
        if (i >= end || (t[i] != '\'' && t[i] != '"'))
            return 0;
        if (!decode_string(t, end, &i, out))
            return 0;
        i = skip_blank(t, i, end);
        if (i >= end)
            return 1;
        if (t[i] != '.')
            return 0;
        i++;
    }
}

static int parse_integer(const char *t, size_t len, long long *out)
{
    size_t i = 0;
    int negative = 0;
    if (i < len && (t[i] == '-' || t[i] == '+'))
        negative = t[i++] == '-';
    if (i >= len || !isdigit((unsigned char)t[i]) || (t[i] == '0' && len - i > 1))
        return 0;
    long long v = 0;
    for (; i < len; i++) {
        if (!isdigit((unsigned char)t[i]) || v > (LLONG_MAX - 9) / 10)
            return 0;
        v = v * 10 + (t[i] - '0');
    }
    *out = negative ? -v : v;
    return 1;
}

static int word_is(const char *t, size_t len, const char *word)
{
    return len == strlen(word) && ms_ascii_strncasecmp(t, word, len) == 0;
}

static int starts_array(const char *t, size_t len)
{
    if (len > 0 && t[0] == '[')
        return 1;
    if (len < 5 || ms_ascii_strncasecmp(t, "array", 5) != 0)
        return 0;
    size_t i = skip_blank(t, 5, len);
    return i < len && t[i] == '(';
}

/* Classifies the value text (trimmed) into the setting. */
static ms_status classify(const char *t, size_t len, ms_rc_setting *set)
{
    ms_buf decoded = MS_BUF_INIT;
    set->number = 0;
    if (word_is(t, len, "true") || word_is(t, len, "false")) {
        set->type = MS_RC_BOOL;
        set->number = tolower((unsigned char)t[0]) == 't';
        ms_buf_puts(&decoded, set->number ? "1" : "0");
    } else if (word_is(t, len, "null")) {
        set->type = MS_RC_NULL;
        ms_buf_puts(&decoded, "");
    } else if (parse_integer(t, len, &set->number)) {
        set->type = MS_RC_INT;
        ms_buf_printf(&decoded, "%lld", set->number); /* "+5" and "-0" as PHP reads them */
    } else if (len > 0 && (t[0] == '\'' || t[0] == '"') && parse_concatenation(t, len, &decoded)) {
        set->type = MS_RC_STRING;
        if (decoded.data == NULL)
            ms_buf_puts(&decoded, "");
    } else {
        ms_buf_free(&decoded);
        set->type = starts_array(t, len) ? MS_RC_ARRAY : MS_RC_OTHER;
        ms_buf_append(&decoded, t, len);
        if (len == 0)
            ms_buf_puts(&decoded, "");
    }
    if (decoded.failed) {
        ms_buf_free(&decoded);
        return MS_ERR_NOMEM;
    }
    set->value_len = decoded.len;
    set->value = ms_buf_take(&decoded);
    return MS_OK;
}

/* ---- assignments ---- */

/* From pos (just past "="), the end of the value: the ";" at depth 0, a
 * "?>", or the end of the text. */
static void skip_value(scanner *s)
{
    int depth = 0;
    while (!at_end(s)) {
        if (skip_non_code(s))
            continue;
        char c = peek(s, 0);
        if (looking_at(s, "?>") || (c == ';' && depth == 0))
            return;
        if (c == '(' || c == '[' || c == '{')
            depth++;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0)
            depth--;
        advance(s, 1);
    }
}

static ms_status add_setting(ms_rc_config *cfg, const char *key, size_t key_len, const char *value,
                             size_t value_len, size_t line)
{
    if (cfg->count >= MS_RC_MAX_SETTINGS)
        return MS_ERR_LIMIT;
    ms_rc_setting *grown = realloc(cfg->settings, (cfg->count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    cfg->settings = grown;
    ms_rc_setting *set = &grown[cfg->count];
    memset(set, 0, sizeof *set);
    set->line = line;
    if (value_len > MS_RC_MAX_VALUE_BYTES)
        value_len = MS_RC_MAX_VALUE_BYTES; /* kept, cut: only its beginning is ever shown */
    set->key = ms_asprintf("%.*s", (int)key_len, key);
    if (set->key == NULL)
        return MS_ERR_NOMEM;
    ms_status st = classify(value, value_len, set);
    if (st != MS_OK) {
        free(set->key);
        return st;
    }
    cfg->count++;
    return MS_OK;
}

/* At "$config[" or "$rcmail_config[": reads the assignment when it is one
 * ("$config['key'] = value"); anything else is left for the main loop. */
static ms_status parse_assignment(scanner *s, size_t prefix_len, ms_rc_config *cfg)
{
    size_t line = s->line;
    advance(s, prefix_len);
    skip_space_and_comments(s);
    char quote = peek(s, 0);
    if (quote != '\'' && quote != '"')
        return MS_OK;
    ms_buf key = MS_BUF_INIT;
    size_t i = s->pos;
    int ok = decode_string(s->text, s->len, &i, &key);
    if (!ok || key.failed || key.len > 256) { /* not an assignment mailsec reads */
        int failed = key.failed;
        ms_buf_free(&key);
        return failed ? MS_ERR_NOMEM : MS_OK;
    }
    advance(s, i - s->pos);
    skip_space_and_comments(s);
    ms_status st = MS_OK;
    if (peek(s, 0) == ']') {
        advance(s, 1);
        skip_space_and_comments(s);
        if (peek(s, 0) == '=' && peek(s, 1) != '=' && peek(s, 1) != '>') {
            advance(s, 1);
            skip_space_and_comments(s);
            size_t start = s->pos;
            skip_value(s);
            size_t end = s->pos;
            while (end > start && isspace((unsigned char)s->text[end - 1]))
                end--;
            st = add_setting(cfg, key.data != NULL ? key.data : "", key.len, s->text + start,
                             end - start, line);
        }
    }
    ms_buf_free(&key);
    return st;
}

ms_status ms_rc_config_parse(const char *text, size_t len, const char *file, ms_rc_config *out)
{
    if (out == NULL || (text == NULL && len > 0))
        return MS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len > MS_RC_MAX_CONFIG_BYTES)
        return MS_ERR_LIMIT;
    out->file = ms_strdup(file != NULL ? file : "");
    if (out->file == NULL)
        return MS_ERR_NOMEM;
    scanner s = {text, len, 0, 1};
    while (!at_end(&s)) {
        if (skip_non_code(&s))
            continue;
        size_t prefix = looking_at(&s, "$config[")          ? strlen("$config[")
                        : looking_at(&s, "$rcmail_config[") ? strlen("$rcmail_config[")
                                                            : 0;
        /* "$config[" only at the start of a name: not "$myconfig[" */
        if (prefix > 0 && (s.pos == 0 || !(isalnum((unsigned char)text[s.pos - 1]) ||
                                           text[s.pos - 1] == '_' || text[s.pos - 1] == '$'))) {
            ms_status st = parse_assignment(&s, prefix, out);
            if (st != MS_OK) {
                ms_rc_config_free(out);
                return st;
            }
            continue;
        }
        advance(&s, 1);
    }
    return MS_OK;
}

ms_status ms_rc_config_read(const char *path, ms_rc_config *out)
{
    if (path == NULL || out == NULL)
        return MS_ERR_INVALID;
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    ms_status st = rc_read_file(path, MS_RC_MAX_CONFIG_BYTES, &text, &len);
    if (st != MS_OK)
        return st;
    st = ms_rc_config_parse(text, len, path, out);
    free(text);
    return st;
}

void ms_rc_config_free(ms_rc_config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->count; i++) {
        free(cfg->settings[i].key);
        free(cfg->settings[i].value);
    }
    free(cfg->settings);
    free(cfg->file);
    memset(cfg, 0, sizeof *cfg);
}

const ms_rc_setting *ms_rc_config_get(const ms_rc_config *cfg, const char *key)
{
    if (cfg == NULL || key == NULL)
        return NULL;
    for (size_t i = cfg->count; i-- > 0;)
        if (strcmp(cfg->settings[i].key, key) == 0)
            return &cfg->settings[i];
    return NULL;
}
