/* rua= and ruf= values: a comma-separated list of URIs (RFC 3986), each
 * with an optional "!size" suffix that RFC 7489 defined and RFC 9989 made
 * obsolete. Commas and "!" inside a URI must be percent-encoded, because
 * they delimit the list and the suffix. For mailto URIs the address is
 * percent-decoded and checked, since that is where reports will go. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    c = ms_ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int dmarc_is_hostname(const char *name, size_t len, size_t min_labels)
{
    unsigned flags = MS_DOMAIN_LDH | MS_DOMAIN_HOSTNAME | MS_DOMAIN_FINAL_DOT;
    return ms_domain_check(name, len, min_labels >= 2 ? flags | MS_DOMAIN_TWO_LABELS : flags);
}

/* The characters RFC 3986 allows in a URI after the scheme, apart from
 * '%' (checked separately): unreserved, sub-delims, ":", "@", "/", "?",
 * "#", "[" and "]". A "!" cannot reach here (it starts the size suffix) and
 * neither can "," (it separates URIs). */
static int is_uri_char(int c)
{
    return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=:@/?#[]", c) != NULL);
}

/* Why text is not a URI, or NULL when it is one. */
static const char *uri_syntax_error(const char *text, size_t len, size_t *scheme_len)
{
    size_t i = 0;
    if (len == 0 || !is_alpha((unsigned char)text[0]))
        return memchr(text, '@', len) ? "it has no scheme (write mailto: before the address)"
                                      : "it does not start with a scheme such as mailto:";
    while (i < len && (is_alpha((unsigned char)text[i]) || is_digit((unsigned char)text[i]) ||
                       text[i] == '+' || text[i] == '-' || text[i] == '.'))
        i++;
    if (i == len || text[i] != ':')
        return memchr(text, '@', len) ? "it has no scheme (write mailto: before the address)"
                                      : "it does not start with a scheme such as mailto:";
    *scheme_len = i;
    if (i + 1 == len)
        return "nothing follows the scheme";
    for (i++; i < len; i++) {
        int c = (unsigned char)text[i];
        if (c == '%') {
            if (i + 2 >= len || hex_value((unsigned char)text[i + 1]) < 0 ||
                hex_value((unsigned char)text[i + 2]) < 0)
                return "a '%' is not followed by two hexadecimal digits";
            i += 2;
        } else if (!is_uri_char(c)) {
            return c == ' ' ? "it contains a space" : "it contains a character URIs do not allow";
        }
    }
    return NULL;
}

/* "!" 1*DIGIT [ "k" / "m" / "g" / "t" ]: the units are powers of two
 * (RFC 7489 section 6.2). The number must fit in 64 bits, and so must the
 * product. Returns 0 when the suffix is malformed or overflows. */
static int parse_size(const char *text, size_t len, uint64_t *bytes)
{
    size_t i = 0;
    uint64_t n = 0;
    for (; i < len && is_digit((unsigned char)text[i]); i++) {
        unsigned d = (unsigned)(text[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return 0;
        n = n * 10 + d;
    }
    if (i == 0)
        return 0;
    unsigned shift = 0;
    if (i < len) {
        const char *units = "kmgt";
        const char *u = strchr(units, ms_ascii_lower((unsigned char)text[i]));
        if (text[i] == '\0' || u == NULL || i + 1 != len)
            return 0;
        shift = 10 * (unsigned)(u - units + 1);
    }
    if (shift > 0 && n > (UINT64_MAX >> shift))
        return 0;
    *bytes = n << shift;
    return 1;
}

size_t dmarc_uri_without_size(const char *text, size_t len)
{
    uint64_t ignored;
    for (size_t i = len; i > 0; i--)
        if (text[i - 1] == '!')
            return parse_size(text + i, len - i, &ignored) ? i - 1 : len;
    return len;
}

/* The atext characters of RFC 5322; bytes above 0x7f are allowed too, for
 * SMTPUTF8 local parts (RFC 6531). */
static int is_atext(int c)
{
    return is_alpha(c) || is_digit(c) || c >= 0x80 ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int local_part_ok(const char *s, size_t len)
{
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"')
        return 1;
    if (len == 0 || s[0] == '.' || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i];
        if (c == '.' ? s[i + 1] == '.' : !is_atext(c))
            return 0;
    }
    return 1;
}

/* Percent-decodes the mailto address (up to any "?hfields") into *out.
 * Returns a reason when the address is unusable, else NULL. */
static const char *mailto_address(const char *text, size_t len, char **out)
{
    const char *q = memchr(text, '?', len);
    size_t end = q ? (size_t)(q - text) : len;
    char *addr = malloc(end + 1);
    if (addr == NULL)
        return NULL; /* reported as out of memory by the caller */
    size_t n = 0;
    for (size_t i = 0; i < end; i++) {
        int c = (unsigned char)text[i];
        if (c == '%') { /* uri_syntax_error made sure two hex digits follow */
            c = hex_value((unsigned char)text[i + 1]) * 16 + hex_value((unsigned char)text[i + 2]);
            i += 2;
        }
        if (c <= ' ' || c == 0x7f) {
            free(addr);
            return "it contains a control character or space once percent-decoded";
        }
        addr[n++] = (char)c;
    }
    addr[n] = '\0';
    *out = addr;
    char *at = strrchr(addr, '@');
    if (n == 0)
        return "it has no address";
    if (at == NULL)
        return "the address has no '@'";
    if (!local_part_ok(addr, (size_t)(at - addr)))
        return at == addr ? "the address has nothing before '@'"
                          : "the part before '@' is not a valid local part (a ',' there means "
                            "several addresses, which DMARC does not allow in one URI)";
    if (!dmarc_is_hostname(at + 1, strlen(at + 1), 2))
        return at[1] == '\0' ? "the address has no domain after '@'"
                             : "the address's domain is not a valid host name (use A-labels)";
    return NULL;
}

void dmarc_uri_free(ms_dmarc_uri *uri)
{
    free(uri->uri);
    free(uri->address);
    free(uri->domain);
}

/* The array grows to the next power of two whenever count reaches one, so
 * long lists cost n log n copying, not n squared. */
static ms_status append_uri(ms_dmarc_uri **uris, size_t *count, ms_dmarc_uri *uri)
{
    size_t n = *count;
    if ((n & (n - 1)) == 0) {
        ms_dmarc_uri *grown = realloc(*uris, (n ? 2 * n : 1) * sizeof *grown);
        if (grown == NULL) {
            dmarc_uri_free(uri);
            return MS_ERR_NOMEM;
        }
        *uris = grown;
    }
    (*uris)[(*count)++] = *uri;
    return MS_OK;
}

/* Fills in the mailto fields; MS_OK with uri->address NULL when the address
 * is unusable (and reported). */
static ms_status check_mailto(ms_dmarc_uri *uri, size_t scheme_len, long offset,
                              const char *location, ms_diag_list *diags)
{
    char *address = NULL;
    const char *rest = uri->uri + scheme_len + 1;
    const char *why = mailto_address(rest, strlen(rest), &address);
    if (why == NULL && address == NULL)
        return MS_ERR_NOMEM;
    if (why != NULL) {
        free(address);
        return ms_diag_add(diags, DMARC_DIAG(DM_MAILTO_INVALID), location, offset,
                           "\"%s\" is not usable: %s", uri->uri, why);
    }
    char *at = strrchr(address, '@');
    uri->domain = ms_strdup(at + 1);
    if (uri->domain == NULL) {
        free(address);
        return MS_ERR_NOMEM;
    }
    for (char *p = uri->domain; *p; p++)
        *p = (char)ms_ascii_lower((unsigned char)*p);
    size_t dlen = strlen(uri->domain);
    if (dlen > 0 && uri->domain[dlen - 1] == '.')
        uri->domain[dlen - 1] = '\0';
    uri->address = address;
    uri->is_mailto = 1;
    return MS_OK;
}

/* One list entry, trimmed. Adds it to the list when it is usable. */
static ms_status parse_entry(const char *text, size_t len, long offset, const char *tag,
                             const char *location, ms_dmarc_uri **uris, size_t *count,
                             ms_diag_list *diags)
{
    if (len == 0)
        return ms_diag_add(diags, DMARC_DIAG(DM_URI_INVALID), location, offset,
                           "%s has an empty entry (two commas in a row, or a comma at an end)",
                           tag);
    const char *bang = memchr(text, '!', len);
    size_t uri_len = bang ? (size_t)(bang - text) : len;
    size_t scheme_len = 0;
    const char *why = uri_syntax_error(text, uri_len, &scheme_len);
    if (why != NULL)
        return ms_diag_add(diags, DMARC_DIAG(DM_URI_INVALID), location, offset,
                           "%s entry \"%.*s\" is not a URI: %s", tag, (int)uri_len, text, why);

    ms_dmarc_uri uri = {NULL, offset, 0, NULL, NULL, 0, 0};
    if (bang != NULL) {
        const char *size = bang + 1;
        size_t size_len = len - uri_len - 1;
        if (!parse_size(size, size_len, &uri.max_size))
            return ms_diag_add(diags, DMARC_DIAG(DM_URI_SIZE_INVALID), location,
                               offset + (long)uri_len,
                               "%s entry \"%.*s\": \"!%.*s\" is not a size (digits and an "
                               "optional k, m, g or t within 64 bits); a \"!\" that belongs "
                               "to the address must be written %%21",
                               tag, (int)len, text, (int)size_len, size);
        uri.has_max_size = 1;
    }
    uri.uri = malloc(uri_len + 1);
    if (uri.uri == NULL)
        return MS_ERR_NOMEM;
    memcpy(uri.uri, text, uri_len);
    uri.uri[uri_len] = '\0';

    ms_status st = MS_OK;
    if (uri.has_max_size)
        st = ms_diag_add(diags, DMARC_DIAG(DM_URI_SIZE_OBSOLETE), location, offset + (long)uri_len,
                         "%s entry \"%s\" limits reports to %llu bytes; RFC 9989 receivers "
                         "ignore the limit, RFC 7489 receivers may skip larger reports",
                         tag, uri.uri, (unsigned long long)uri.max_size);
    if (st == MS_OK && ms_ascii_ieq(text, scheme_len, "mailto")) {
        st = check_mailto(&uri, scheme_len, offset, location, diags);
        if (st == MS_OK && !uri.is_mailto) {
            dmarc_uri_free(&uri);
            return MS_OK;
        }
    } else if (st == MS_OK) {
        st = ms_diag_add(diags, DMARC_DIAG(DM_URI_NOT_MAILTO), location, offset,
                         "%s entry \"%s\" uses the %.*s scheme; receivers are only required to "
                         "support mailto and ignore schemes they do not support",
                         tag, uri.uri, (int)scheme_len, text);
    }
    if (st != MS_OK) {
        dmarc_uri_free(&uri);
        return st;
    }
    return append_uri(uris, count, &uri);
}

ms_status dmarc_parse_uri_list(const char *value, size_t len, long base, const char *tag,
                               const char *location, ms_dmarc_uri **uris, size_t *count,
                               ms_diag_list *diags)
{
    size_t listed = 0;
    size_t start = 0;
    for (;;) {
        const char *comma = memchr(value + start, ',', len - start);
        size_t end = comma ? (size_t)(comma - value) : len;
        size_t a = start, b = end;
        while (a < b && ms_is_wsp((unsigned char)value[a]))
            a++;
        while (b > a && ms_is_wsp((unsigned char)value[b - 1]))
            b--;
        ms_status st = parse_entry(value + a, b - a, base + (long)a, tag, location, uris, count,
                                   diags);
        if (st != MS_OK)
            return st;
        if (b > a)
            listed++;
        if (comma == NULL)
            break;
        start = end + 1;
    }
    if (listed > MS_DMARC_URIS_HONOURED)
        return ms_diag_add(diags, DMARC_DIAG(DM_TOO_MANY_URIS), location, base,
                           "%s lists %zu URIs; receivers need only send to two, so the ones "
                           "after the second may get no reports",
                           tag, listed);
    return MS_OK;
}
