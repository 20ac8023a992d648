/* Tag=value lists, the syntax DKIM keys (RFC 6376 3.2), TLS-RPT (RFC 8460)
 * and BIMI records share: "name=value" separated by ";", white space
 * allowed around both, a trailing ";" allowed. The tokenizer keeps going
 * after a bad item, so one mistake never hides the others. */
#include "internal.h"

#include <string.h>
#include <strings.h>

/* White space a tag list may hold around its parts: WSP, and the CR LF of
 * folded lines (FWS) as they come from DNS or a header. */
static int is_fws(char c)
{
    return ms_is_wsp(c) || c == '\r' || c == '\n';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_name_char(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* VALCHAR: printable ASCII but ";" (and white space inside is allowed). */
static int is_value_char(unsigned char c)
{
    return (c >= 0x21 && c <= 0x7e && c != ';') || is_fws((char)c);
}

static ms_status add_error(ms_taglist *list, ms_taglist_error_kind kind, size_t offset)
{
    if (list->error_count == MS_TAGLIST_MAX_ERRORS)
        return MS_OK;
    list->errors[list->error_count++] = (ms_taglist_error){kind, offset};
    return MS_OK;
}

static void trim(const char *text, size_t *start, size_t *end)
{
    while (*start < *end && is_fws(text[*start]))
        (*start)++;
    while (*end > *start && is_fws(text[*end - 1]))
        (*end)--;
}

static ms_status add_tag(ms_taglist *list, const char *text, size_t name_start, size_t name_end,
                         size_t value_start, size_t value_end)
{
    if (list->count == MS_TAGLIST_MAX_TAGS)
        return add_error(list, MS_TAGLIST_TOO_MANY, name_start);
    list->tags[list->count++] = (ms_tag){text + name_start, name_end - name_start, name_start,
                                         text + value_start, value_end - value_start, value_start};
    return MS_OK;
}

/* One item between separators, text[start..end). */
static ms_status parse_item(ms_taglist *list, const char *text, size_t start, size_t end)
{
    size_t eq = start;
    while (eq < end && text[eq] != '=')
        eq++;
    size_t name_start = start, name_end = eq;
    trim(text, &name_start, &name_end);
    if (name_start == name_end && eq == end)
        return MS_OK; /* empty item: "a=b;;" or trailing white space */
    if (eq == end)
        return add_error(list, MS_TAGLIST_NO_EQUALS, name_start);
    if (name_start == name_end)
        return add_error(list, MS_TAGLIST_EMPTY_NAME, eq);
    if (!is_alpha(text[name_start]))
        return add_error(list, MS_TAGLIST_BAD_NAME, name_start);
    for (size_t i = name_start; i < name_end; i++)
        if (!is_name_char(text[i]))
            return add_error(list, MS_TAGLIST_BAD_NAME, i);
    size_t value_start = eq + 1, value_end = end;
    trim(text, &value_start, &value_end);
    for (size_t i = value_start; i < value_end; i++)
        if (!is_value_char((unsigned char)text[i]))
            return add_error(list, MS_TAGLIST_BAD_VALUE, i);
    return add_tag(list, text, name_start, name_end, value_start, value_end);
}

ms_status ms_taglist_parse(const char *text, size_t len, ms_taglist *out)
{
    *out = (ms_taglist){0};
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != ';')
            continue;
        ms_status st = parse_item(out, text, start, i);
        if (st != MS_OK)
            return st;
        start = i + 1;
    }
    return MS_OK;
}

const ms_tag *ms_taglist_find(const ms_taglist *list, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < list->count; i++)
        if (list->tags[i].name_len == n && strncasecmp(list->tags[i].name, name, n) == 0)
            return &list->tags[i];
    return NULL;
}

const char *ms_taglist_error_str(ms_taglist_error_kind kind)
{
    switch (kind) {
    case MS_TAGLIST_NO_EQUALS: return "an item without \"=\"";
    case MS_TAGLIST_EMPTY_NAME: return "a value without a tag name";
    case MS_TAGLIST_BAD_NAME: return "a tag name with a character other than letters, digits and \"_\"";
    case MS_TAGLIST_BAD_VALUE: return "a value with a control or non-ASCII character";
    case MS_TAGLIST_TOO_MANY: return "more tags than any record needs";
    }
    return "a syntax error";
}
