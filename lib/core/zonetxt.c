/* TXT record data in zone-file syntax: the one splitter `dmarc generate
 * --format zone` and `dkim keygen` share. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* One character-string in zone-file syntax: '"' and '\' escaped, bytes
 * outside printable ASCII as \DDD. */
static void quote_chunk(ms_buf *b, const char *s, size_t len)
{
    ms_buf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            ms_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            ms_buf_printf(b, "\\%03u", c);
        else
            ms_buf_append(b, (const char *)&c, 1);
    }
    ms_buf_puts(b, "\"");
}

void ms_buf_txt_strings(ms_buf *b, const char *text, size_t len)
{
    /* A character-string holds at most 255 octets (RFC 1035 3.3); the
     * receiver concatenates the strings (RFC 6376 3.6.2.2, RFC 9989 4.5). */
    size_t off = 0;
    do {
        size_t n = len - off > 255 ? 255 : len - off;
        if (off > 0)
            ms_buf_puts(b, " ");
        quote_chunk(b, text + off, n);
        off += n;
    } while (off < len);
}

ms_status ms_zone_txt_line(const char *prefix, const char *domain, const char *record,
                           unsigned ttl, char **line)
{
    char *name = NULL;
    ms_status st = ms_domain_normalize(domain, &name);
    if (st != MS_OK)
        return st;
    ms_buf b = MS_BUF_INIT;
    ms_buf_printf(&b, "%s%s. %u IN TXT ", prefix, name, ttl);
    free(name);
    ms_buf_txt_strings(&b, record, strlen(record));
    *line = ms_buf_take(&b);
    return *line ? MS_OK : MS_ERR_NOMEM;
}
