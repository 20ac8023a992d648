/* What a run of bytes is, by content alone (never by a file name or a
 * declared MIME type: receivers label the same gzip file application/gzip,
 * application/x-gzip, application/octet-stream or text/xml). The rules, in
 * order, are listed in docs/report-ingest.md. */
#include "core/internal.h"
#include "report/walk_internal.h"

#include <string.h>

static bool has_prefix(const unsigned char *d, size_t n, const char *prefix)
{
    size_t len = strlen(prefix);
    return n >= len && memcmp(d, prefix, len) == 0;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Index of the first occurrence of needle in d[from, n), or n. */
static size_t find(const unsigned char *d, size_t n, size_t from, const char *needle)
{
    size_t len = strlen(needle);
    for (size_t i = from; i + len <= n; i++)
        if (memcmp(d + i, needle, len) == 0)
            return i;
    return n;
}

/* Root elements that make a '<' document an HTML page (a message's
 * greeting) rather than a report. Anything else is handed to the XML
 * parser, which says what is wrong with it. */
static bool is_html_element(const unsigned char *name, size_t len)
{
    static const char *const html[] = {"html", "head", "body", "div", "p", "table", "span", "meta",
                                       "title", "br", "font", "center", "style", "a", "img"};
    for (size_t i = 0; i < sizeof html / sizeof html[0]; i++)
        if (strlen(html[i]) == len && ms_ascii_strncasecmp((const char *)name, html[i], len) == 0)
            return true;
    return false;
}

/* d starts with '<': XML, unless its first element (after the prolog:
 * declaration, comments, processing instructions, DOCTYPE) is HTML. */
static walk_format xml_or_html(const unsigned char *d, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (is_space(d[i])) {
            i++;
            continue;
        }
        if (d[i] != '<')
            return WALK_XML;
        if (has_prefix(d + i, n - i, "<?")) {
            i = find(d, n, i, "?>") + 2;
        } else if (has_prefix(d + i, n - i, "<!--")) {
            i = find(d, n, i, "-->") + 3;
        } else if (n - i >= 9 && ms_ascii_strncasecmp((const char *)d + i, "<!DOCTYPE", 9) == 0) {
            size_t j = i + 9;
            while (j < n && is_space(d[j]))
                j++;
            if (n - j >= 4 && ms_ascii_strncasecmp((const char *)d + j, "html", 4) == 0)
                return WALK_HTML;
            i = find(d, n, i, ">") + 1;
        } else {
            size_t start = i + 1, end = start;
            while (end < n && !is_space(d[end]) && d[end] != '>' && d[end] != '/')
                end++;
            const unsigned char *colon = memchr(d + start, ':', end - start);
            if (colon != NULL)
                start = (size_t)(colon - d) + 1; /* the local name */
            return is_html_element(d + start, end - start) ? WALK_HTML : WALK_XML;
        }
    }
    return WALK_XML; /* the root element lies beyond the window */
}

/* Header fields whose presence makes a block of "Name: value" lines a
 * message (RFC 5322 section 3.6, RFC 2045, RFC 5321 trace fields). */
static bool is_message_field(const unsigned char *name, size_t len)
{
    static const char *const fields[] = {
        "from",       "to",           "cc",           "subject",      "date",        "message-id",
        "received",   "return-path",  "mime-version", "content-type", "delivered-to", "dkim-signature",
        "reply-to",   "sender",       "arc-seal",     "authentication-results",
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strlen(fields[i]) == len && ms_ascii_strncasecmp((const char *)name, fields[i], len) == 0)
            return true;
    return false;
}

/* A header block: every complete line up to the first empty one (or the
 * end of the window) is a field "name:" (name: printable ASCII without
 * ':', RFC 5322 section 2.2) or a folded continuation, the first line is a
 * field, and one of the names is a well-known message field. */
static bool looks_like_headers(const unsigned char *d, size_t n)
{
    size_t i = 0;
    bool known = false, first = true;
    while (i < n) {
        const unsigned char *nl = memchr(d + i, '\n', n - i);
        if (nl == NULL)
            break; /* a partial last line: judged by the lines before */
        size_t end = (size_t)(nl - d);
        size_t len = end - i;
        if (len > 0 && d[end - 1] == '\r')
            len--;
        if (len == 0)
            break; /* the end of the header block */
        if (d[i] == ' ' || d[i] == '\t') {
            if (first)
                return false;
        } else {
            size_t name = 0;
            while (name < len && d[i + name] > 32 && d[i + name] < 127 && d[i + name] != ':')
                name++;
            if (name == 0 || name >= len || d[i + name] != ':')
                return false;
            known = known || is_message_field(d + i, name);
        }
        first = false;
        i = end + 1;
    }
    return known;
}

walk_format walk_sniff(const unsigned char *d, size_t n)
{
    if (n == 0)
        return WALK_EMPTY;
    if (n >= 3 && d[0] == 0x1f && d[1] == 0x8b && d[2] == 8)
        return WALK_GZIP; /* RFC 1952: ID1 ID2 and CM = deflate */
    if (has_prefix(d, n, "PK\3\4") || has_prefix(d, n, "PK\5\6"))
        return WALK_ZIP; /* a local file header, or the end record of an empty archive */
    if (has_prefix(d, n, "From ")) {
        /* an mbox's "From " line is followed by a message's header block;
         * a greeting that starts with "From the team" is not */
        const unsigned char *nl = memchr(d, '\n', n);
        if (nl != NULL && looks_like_headers(nl + 1, n - (size_t)(nl + 1 - d)))
            return WALK_MBOX;
    }
    /* UTF-16 with a byte order mark: XML is the only report format that
     * may be written so (RFC 8259 requires JSON in UTF-8). */
    if (n >= 4 && ((d[0] == 0xff && d[1] == 0xfe && d[2] == '<' && d[3] == 0) ||
                   (d[0] == 0xfe && d[1] == 0xff && d[2] == 0 && d[3] == '<')))
        return WALK_XML;
    size_t i = has_prefix(d, n, "\xef\xbb\xbf") ? 3 : 0;
    while (i < n && is_space(d[i]))
        i++;
    if (i == n)
        return WALK_EMPTY;
    if (d[i] == '<')
        return xml_or_html(d + i, n - i);
    if (d[i] == '{')
        return WALK_JSON;
    if (looks_like_headers(d, n))
        return WALK_MESSAGE;
    return WALK_UNKNOWN;
}

const char *walk_format_name(walk_format format)
{
    switch (format) {
    case WALK_EMPTY:
        return "empty (nothing but white space)";
    case WALK_GZIP:
        return "gzip file";
    case WALK_ZIP:
        return "zip archive";
    case WALK_XML:
        return "XML document";
    case WALK_JSON:
        return "JSON document";
    case WALK_MBOX:
        return "mbox";
    case WALK_MESSAGE:
        return "message";
    case WALK_HTML:
        return "an HTML page";
    case WALK_UNKNOWN:
        break;
    }
    return "unrecognised content (not XML, JSON, gzip, zip, a message or an mbox)";
}
