/* Tag=value lists: DMARC records (RFC 9989 4.7), DKIM keys and signatures
 * (RFC 6376 3.2), TLS-RPT (RFC 8460 3) and BIMI records share one shape:
 *
 *   tag-list  = tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  = [WS] tag-name [WS] "=" [WS] tag-value [WS]
 *
 * where WS is WSP, or FWS (WSP and the CR LF of folded lines, as they come
 * from a header or a zone file) for DKIM and its kin. ms_tag_next is the
 * one tokenizer: it splits at ";" and "=" and trims, and leaves the meaning
 * of names and values to each grammar. ms_taglist_parse adds RFC 6376's
 * character rules and a bounded list for the records that use them; DMARC
 * keeps its own rules (letters-only names, empty values are errors) and
 * its own diagnostics. Nothing is allocated: items point into the text. */
#include "internal.h"

#include <string.h>

/* White space a tag list may hold around its parts: WSP, and the CR LF of
 * folded lines (FWS) as they come from DNS or a header. */
static int is_white(char c, unsigned flags)
{
    return ms_is_wsp(c) || ((flags & MS_TAG_FWS) && (c == '\r' || c == '\n'));
}

static void trim(const char *text, unsigned flags, size_t *start, size_t *end)
{
    while (*start < *end && is_white(text[*start], flags))
        (*start)++;
    while (*end > *start && is_white(text[*end - 1], flags))
        (*end)--;
}

int ms_tag_next(const char *text, size_t len, unsigned flags, size_t *pos, ms_tag_item *item)
{
    if (*pos > len)
        return 0;
    const char *semi = memchr(text + *pos, ';', len - *pos);
    size_t start = *pos, end = semi ? (size_t)(semi - text) : len;
    *item = (ms_tag_item){0};
    item->separator = semi != NULL;
    *pos = end + 1;
    trim(text, flags, &start, &end);
    MS_ASSERT(start <= end && end <= len);
    item->start = start;
    item->end = end;
    const char *eq = memchr(text + start, '=', end - start);
    if (eq == NULL)
        return 1;
    item->has_equals = 1;
    item->equals = (size_t)(eq - text);
    size_t name_end = (size_t)(eq - text), value_start = name_end + 1, value_end = end;
    trim(text, flags, &start, &name_end);
    trim(text, flags, &value_start, &value_end);
    MS_ASSERT(item->start <= start && value_end <= item->end);
    item->name = text + start;
    item->name_len = name_end - start;
    item->name_offset = start;
    item->value = text + value_start;
    item->value_len = value_end - value_start;
    item->value_offset = value_start;
    return 1;
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
    return (c >= 0x21 && c <= 0x7e && c != ';') || is_white((char)c, MS_TAG_FWS);
}

static void add_error(ms_taglist *list, ms_taglist_error_kind kind, size_t offset,
                      const ms_tag_item *item)
{
    if (list->error_count < MS_TAGLIST_MAX_ERRORS)
        list->errors[list->error_count++] =
            (ms_taglist_error){kind, offset, item->start, item->end - item->start};
}

/* RFC 6376's rules for one item: tag-name = ALPHA *(ALPHA / DIGIT / "_"),
 * tag-value = VALCHARs with inner FWS. */
static void check_item(ms_taglist *list, const ms_tag_item *item)
{
    if (!item->has_equals) {
        if (item->start < item->end) /* "a=b;;" and a trailing ";" are allowed */
            add_error(list, MS_TAGLIST_NO_EQUALS, item->start, item);
        return;
    }
    if (item->name_len == 0)
        return add_error(list, MS_TAGLIST_EMPTY_NAME, item->start, item);
    if (!is_alpha(item->name[0]))
        return add_error(list, MS_TAGLIST_BAD_NAME, item->name_offset, item);
    for (size_t i = 0; i < item->name_len; i++)
        if (!is_name_char(item->name[i]))
            return add_error(list, MS_TAGLIST_BAD_NAME, item->name_offset + i, item);
    for (size_t i = 0; i < item->value_len; i++)
        if (!is_value_char((unsigned char)item->value[i]))
            return add_error(list, MS_TAGLIST_BAD_VALUE, item->value_offset + i, item);
    if (list->count == MS_TAGLIST_MAX_TAGS)
        return add_error(list, MS_TAGLIST_TOO_MANY, item->name_offset, item);
    list->tags[list->count++] = (ms_tag){item->name, item->name_len, item->name_offset,
                                         item->value, item->value_len, item->value_offset};
}

void ms_taglist_parse(const char *text, size_t len, ms_taglist *out)
{
    *out = (ms_taglist){0};
    size_t pos = 0;
    ms_tag_item item;
    while (ms_tag_next(text, len, MS_TAG_FWS, &pos, &item))
        check_item(out, &item);
}

const ms_tag *ms_taglist_find(const ms_taglist *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (ms_ascii_ieq(list->tags[i].name, list->tags[i].name_len, name))
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

int ms_tag_is(const ms_tag *tag, const char *name)
{
    size_t n = strlen(name);
    return tag->name_len == n && memcmp(tag->name, name, n) == 0;
}
