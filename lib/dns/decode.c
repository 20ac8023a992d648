/* Turning libunbound's RDATA into ms_dns_record values.
 *
 * The bytes come from the network: every length is checked against what is
 * left, and anything that does not add up makes the whole answer an error
 * rather than a half-decoded record. */
#include "dns_internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unbound.h>

static int plain_label_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '.' && c != '\\';
}

static void append_label(ms_buf *out, const unsigned char *label, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = label[i];
        if (plain_label_char(c))
            ms_buf_append(out, (const char *)&c, 1);
        else if (c == '.' || c == '\\')
            ms_buf_printf(out, "\\%c", c);
        else
            ms_buf_printf(out, "\\%03u", c);
    }
}

ms_status ms_dns_name_from_wire(const unsigned char *wire, size_t len, char **name)
{
    ms_buf out = MS_BUF_INIT;
    size_t pos = 0;
    *name = NULL;
    /* A name is at most 255 octets; anything longer is not a name. */
    if (len == 0 || len > MS_DNS_MAX_NAME_WIRE)
        return MS_ERR_LIMIT;
    while (pos < len) {
        size_t label_len = wire[pos];
        /* 0xC0 is a compression pointer, 0x40/0x80 obsolete label types:
         * neither may appear in the RDATA libunbound hands us. */
        if (label_len > MS_DNS_MAX_LABEL || pos + 1 + label_len > len)
            break;
        if (label_len == 0) {
            if (pos + 1 != len)
                break; /* the root label must end the name and the RDATA */
            /* The root alone (a null MX) comes out as "": no trailing dot. */
            *name = ms_buf_take(&out);
            return *name ? MS_OK : MS_ERR_NOMEM;
        }
        if (pos > 0)
            ms_buf_puts(&out, ".");
        append_label(&out, wire + pos + 1, label_len);
        pos += 1 + label_len;
    }
    ms_buf_free(&out);
    return MS_ERR_LIMIT;
}

/* TXT: character-strings (a length octet, then that many bytes) joined
 * with nothing between them. */
static ms_status decode_txt(ms_dns_record *rec)
{
    ms_buf text = MS_BUF_INIT;
    size_t pos = 0;
    unsigned n = 0;
    while (pos < rec->rdata_len) {
        size_t slen = rec->rdata[pos];
        if (pos + 1 + slen > rec->rdata_len) {
            ms_buf_free(&text);
            return MS_ERR_LIMIT;
        }
        ms_buf_append(&text, (const char *)rec->rdata + pos + 1, slen);
        pos += 1 + slen;
        n++;
    }
    rec->text_len = text.len;
    rec->nstrings = n;
    rec->text = ms_buf_take(&text);
    return rec->text ? MS_OK : MS_ERR_NOMEM;
}

static ms_status decode_address(ms_dns_record *rec, int family, size_t want)
{
    char tmp[INET6_ADDRSTRLEN];
    if (rec->rdata_len != want)
        return MS_ERR_LIMIT;
    if (inet_ntop(family, rec->rdata, tmp, sizeof tmp) == NULL)
        return MS_ERR_LIMIT;
    rec->text = ms_strdup(tmp);
    if (rec->text == NULL)
        return MS_ERR_NOMEM;
    rec->text_len = strlen(rec->text);
    return MS_OK;
}

static ms_status decode_name_at(ms_dns_record *rec, size_t offset)
{
    if (offset >= rec->rdata_len)
        return MS_ERR_LIMIT;
    ms_status st = ms_dns_name_from_wire(rec->rdata + offset, rec->rdata_len - offset, &rec->text);
    if (st == MS_OK)
        rec->text_len = strlen(rec->text);
    return st;
}

static ms_status decode_mx(ms_dns_record *rec)
{
    if (rec->rdata_len < 3)
        return MS_ERR_LIMIT;
    rec->preference = (uint16_t)((rec->rdata[0] << 8) | rec->rdata[1]);
    return decode_name_at(rec, 2);
}

static ms_status decode_one(ms_dns_record *rec)
{
    switch (rec->type) {
    case MS_DNS_TXT:
        return decode_txt(rec);
    case MS_DNS_A:
        return decode_address(rec, AF_INET, 4);
    case MS_DNS_AAAA:
        return decode_address(rec, AF_INET6, 16);
    case MS_DNS_MX:
        return decode_mx(rec);
    case MS_DNS_CNAME:
    case MS_DNS_NS:
    case MS_DNS_PTR:
        return decode_name_at(rec, 0);
    default:
        return MS_OK; /* raw RDATA only */
    }
}

static size_t count_records(const struct ub_result *result)
{
    size_t n = 0;
    if (result->data != NULL)
        while (result->data[n] != NULL)
            n++;
    return n;
}

ms_status ms_dns_decode_records(ms_dns_answer *answer, const struct ub_result *result)
{
    size_t n = count_records(result);
    if (n == 0)
        return MS_OK;
    answer->records = calloc(n, sizeof *answer->records);
    if (answer->records == NULL)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        ms_dns_record *rec = &answer->records[i];
        size_t len = result->len[i] < 0 ? 0 : (size_t)result->len[i];
        unsigned char *copy = malloc(len ? len : 1);
        if (copy == NULL)
            return MS_ERR_NOMEM;
        memcpy(copy, result->data[i], len);
        answer->count = i + 1; /* so ms_dns_answer_free sees this one */
        rec->type = (uint16_t)result->qtype;
        /* libunbound reports one TTL for the RRset; every record gets it. */
        rec->ttl = result->ttl < 0 ? 0 : (uint32_t)result->ttl;
        rec->rdata = copy;
        rec->rdata_len = len;
        ms_status st = decode_one(rec);
        if (st != MS_OK)
            return st;
    }
    return MS_OK;
}
