/* Writing an RFC 9990 aggregate report (`report send`): the XML streamed
 * record by record into gzip (zlib), so memory holds the compressed
 * document only, bounded by the writer's limit. Text is written as the
 * parser reads it back (UTF-8 repaired, control characters removed, white
 * space folded: ms_report_text_tidy) and escaped; enumerated values are
 * checked against the schema's lists, so every document written validates
 * against RFC 9990's schema (tests/report/data/dmarc-2.0.xsd). */
#include "report/report_internal.h"
#include "report/send_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct ms_report_agg_writer {
    z_stream z;
    int z_open;
    ms_buf gz;        /* the compressed document so far */
    uint64_t max_gz;
    ms_buf xml;       /* XML not yet compressed */
    ms_buf text;      /* scratch for one value */
    uint64_t records;
    ms_status failed; /* sticky: the document can no longer be completed */
};

int report_send_canonical_ip(const char *ip, char out[INET6_ADDRSTRLEN])
{
    unsigned char addr[16];
    if (ip != NULL && inet_pton(AF_INET, ip, addr) == 1)
        return inet_ntop(AF_INET, addr, out, INET6_ADDRSTRLEN) != NULL;
    if (ip == NULL || inet_pton(AF_INET6, ip, addr) != 1)
        return 0;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (memcmp(addr, mapped, sizeof mapped) == 0)
        return inet_ntop(AF_INET, addr + 12, out, INET6_ADDRSTRLEN) != NULL;
    return inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN) != NULL && strchr(out, '.') == NULL &&
           strcmp(out, "::") != 0;
}

/* ---- Values ------------------------------------------------------------- */

static int in_list(const char *word, const char *const *list)
{
    for (size_t i = 0; word != NULL && list[i] != NULL; i++)
        if (strcmp(word, list[i]) == 0)
            return 1;
    return 0;
}

static const char *const ALIGNMENTS[] = {"r", "s", NULL};
static const char *const POLICIES[] = {"none", "quarantine", "reject", NULL};
static const char *const DISPOSITIONS[] = {"none", "pass", "quarantine", "reject", NULL};
static const char *const DMARC_RESULTS[] = {"pass", "fail", NULL};
static const char *const TESTING[] = {"n", "y", NULL};
static const char *const DISCOVERY[] = {"psl", "treewalk", NULL};
static const char *const OVERRIDES[] = {"forwarded",    "sampled_out",  "trusted_forwarder",
                                        "mailing_list", "local_policy", "other",
                                        NULL};
static const char *const DKIM_RESULTS[] = {"none",    "pass",      "fail",      "policy",
                                           "neutral", "temperror", "permerror", NULL};
static const char *const SPF_SCOPES[] = {"helo", "mfrom", NULL};
static const char *const SPF_RESULTS[] = {"none",     "neutral",   "pass",      "fail",
                                          "softfail", "temperror", "permerror", NULL};

/* Appends text as the parser will read it back, escaped for XML: UTF-8
 * repaired, tidied, and the two non-characters XML refuses (U+FFFE,
 * U+FFFF) replaced. */
static void put_text(ms_report_agg_writer *w, const char *s)
{
    ms_buf *t = &w->text;
    t->len = 0;
    ms_report_utf8_repair(s, strlen(s), t);
    ms_buf_append(t, "", 0);
    if (t->failed || t->data == NULL)
        return;
    size_t len = ms_report_text_tidy(t->data, t->len);
    if (len > MS_REPORT_FIELD_MAX) { /* what the parser takes: cut at a character */
        len = MS_REPORT_FIELD_MAX;
        while (len > 0 && ((unsigned char)t->data[len] & 0xC0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t->data[i];
        if (c == 0xEF && i + 2 < len && (unsigned char)t->data[i + 1] == 0xBF &&
            ((unsigned char)t->data[i + 2] == 0xBE || (unsigned char)t->data[i + 2] == 0xBF)) {
            ms_buf_puts(&w->xml, "\xEF\xBF\xBD");
            i += 2;
        } else if (c == '&') {
            ms_buf_puts(&w->xml, "&amp;");
        } else if (c == '<') {
            ms_buf_puts(&w->xml, "&lt;");
        } else if (c == '>') {
            ms_buf_puts(&w->xml, "&gt;");
        } else {
            ms_buf_append(&w->xml, (const char *)&c, 1);
        }
    }
}

/* <name>text</name>, nothing when text is NULL (an optional element). */
static void element(ms_report_agg_writer *w, const char *indent, const char *name, const char *text)
{
    if (text == NULL)
        return;
    ms_buf_printf(&w->xml, "%s<%s>", indent, name);
    put_text(w, text);
    ms_buf_printf(&w->xml, "</%s>\n", name);
}

/* ---- Compression -------------------------------------------------------- */

/* Compresses what the XML buffer holds (all of it at the end). */
static ms_status deflate_xml(ms_report_agg_writer *w, int flush)
{
    if (w->xml.failed || w->text.failed)
        return w->failed = MS_ERR_NOMEM;
    w->z.next_in = (Bytef *)w->xml.data;
    w->z.avail_in = (uInt)w->xml.len;
    int zr;
    do {
        unsigned char out[16384];
        w->z.next_out = out;
        w->z.avail_out = sizeof out;
        zr = deflate(&w->z, flush);
        if (zr == Z_STREAM_ERROR)
            return w->failed = MS_ERR_INVALID;
        ms_buf_append(&w->gz, (const char *)out, sizeof out - w->z.avail_out);
        if (w->gz.failed)
            return w->failed = MS_ERR_NOMEM;
        if (w->gz.len > w->max_gz)
            return w->failed = MS_ERR_LIMIT;
    } while (w->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    w->xml.len = 0;
    return MS_OK;
}

/* ---- The document ------------------------------------------------------- */

/* Whether text is something once tidied, as the parser reads it: 1 or 0;
 * -1 when there was no memory to tidy it. */
static int has_text(const char *text)
{
    int nomem = 0;
    char *tidy = text ? ms_report_text_dup(text, strlen(text), &nomem) : NULL;
    int has = nomem ? -1 : tidy != NULL;
    free(tidy);
    return has;
}

static ms_status check_meta(const ms_report_agg_meta *m)
{
    int texts[] = {has_text(m->org_name), has_text(m->email), has_text(m->report_id),
                   has_text(m->domain)};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] < 0)
            return MS_ERR_NOMEM;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i] == 0)
            return MS_ERR_INVALID;
    if (!in_list(m->p, POLICIES) || (m->sp != NULL && !in_list(m->sp, POLICIES)) ||
        (m->adkim != NULL && !in_list(m->adkim, ALIGNMENTS)) ||
        (m->aspf != NULL && !in_list(m->aspf, ALIGNMENTS)) ||
        (m->testing != NULL && !in_list(m->testing, TESTING)) ||
        (m->discovery_method != NULL && !in_list(m->discovery_method, DISCOVERY)))
        return MS_ERR_INVALID;
    if (!ms_report_time_in_range(m->begin) || !ms_report_time_in_range(m->end) || m->end < m->begin)
        return MS_ERR_INVALID;
    return MS_OK;
}

static void write_head(ms_report_agg_writer *w, const ms_report_agg_meta *m)
{
    ms_buf_puts(&w->xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                         "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
                         "  <version>1.0</version>\n"
                         "  <report_metadata>\n");
    element(w, "    ", "org_name", m->org_name);
    element(w, "    ", "email", m->email);
    element(w, "    ", "extra_contact_info", m->extra_contact_info);
    element(w, "    ", "report_id", m->report_id);
    ms_buf_printf(&w->xml, "    <date_range>\n      <begin>%lld</begin>\n      <end>%lld</end>\n"
                           "    </date_range>\n",
                  (long long)m->begin, (long long)m->end);
    element(w, "    ", "error", m->errors);
    ms_buf_puts(&w->xml, "  </report_metadata>\n  <policy_published>\n");
    element(w, "    ", "domain", m->domain);
    element(w, "    ", "discovery_method", m->discovery_method);
    element(w, "    ", "adkim", m->adkim);
    element(w, "    ", "aspf", m->aspf);
    element(w, "    ", "p", m->p);
    element(w, "    ", "sp", m->sp ? m->sp : m->p); /* required; sp defaults to p */
    element(w, "    ", "testing", m->testing);
    element(w, "    ", "fo", m->fo);
    ms_buf_puts(&w->xml, "  </policy_published>\n");
}

ms_status ms_report_agg_writer_new(const ms_report_agg_meta *meta, uint64_t max_gz,
                                   ms_report_agg_writer **out)
{
    *out = NULL;
    ms_status st = check_meta(meta);
    if (st != MS_OK)
        return st;
    ms_report_agg_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return MS_ERR_NOMEM;
    w->max_gz = max_gz > 0 && max_gz < MS_REPORT_SEND_GZ_MAX ? max_gz : MS_REPORT_SEND_GZ_MAX;
    /* gzip framing (15 + 16), no file name or time in the header: the same
     * evaluations give the same bytes */
    if (deflateInit2(&w->z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(w);
        return MS_ERR_NOMEM;
    }
    w->z_open = 1;
    write_head(w, meta);
    st = deflate_xml(w, Z_NO_FLUSH);
    if (st != MS_OK) {
        ms_report_agg_writer_free(w);
        return st;
    }
    *out = w;
    return MS_OK;
}

static ms_status check_record(const ms_report_agg_record *r, char ip[INET6_ADDRSTRLEN])
{
    if (!report_send_canonical_ip(r->source_ip, ip))
        return MS_ERR_INVALID;
    if (r->count == 0 || r->count > MS_REPORT_COUNT_MAX)
        return MS_ERR_LIMIT;
    if (r->header_from == NULL || !in_list(r->disposition, DISPOSITIONS) ||
        !in_list(r->dkim, DMARC_RESULTS) || !in_list(r->spf, DMARC_RESULTS))
        return MS_ERR_INVALID;
    if (r->reason_count > MS_REPORT_REASON_MAX || r->dkim_count > MS_REPORT_AUTH_MAX ||
        r->spf_count > MS_REPORT_AUTH_MAX || r->spf_count == 0)
        return MS_ERR_INVALID;
    for (size_t i = 0; i < r->reason_count; i++)
        if (!in_list(r->reasons[i].type, OVERRIDES))
            return MS_ERR_INVALID;
    for (size_t i = 0; i < r->dkim_count; i++)
        if (r->dkim_results[i].domain == NULL || r->dkim_results[i].selector == NULL ||
            !in_list(r->dkim_results[i].result, DKIM_RESULTS))
            return MS_ERR_INVALID;
    for (size_t i = 0; i < r->spf_count; i++)
        if (r->spf_results[i].domain == NULL || !in_list(r->spf_results[i].result, SPF_RESULTS) ||
            (r->spf_results[i].scope != NULL && !in_list(r->spf_results[i].scope, SPF_SCOPES)))
            return MS_ERR_INVALID;
    return MS_OK;
}

static void write_auth(ms_report_agg_writer *w, const char *kind, const ms_report_agg_auth *a)
{
    ms_buf_printf(&w->xml, "      <%s>\n", kind);
    /* the schema requires domain (and a DKIM selector): an empty one is
     * written empty */
    ms_buf_puts(&w->xml, "        <domain>");
    put_text(w, a->domain);
    ms_buf_puts(&w->xml, "</domain>\n");
    if (strcmp(kind, "dkim") == 0) {
        ms_buf_puts(&w->xml, "        <selector>");
        put_text(w, a->selector);
        ms_buf_puts(&w->xml, "</selector>\n");
    } else {
        element(w, "        ", "scope", a->scope);
    }
    element(w, "        ", "result", a->result);
    element(w, "        ", "human_result", a->human_result);
    ms_buf_printf(&w->xml, "      </%s>\n", kind);
}

ms_status ms_report_agg_writer_record(ms_report_agg_writer *w, const ms_report_agg_record *r)
{
    if (w->failed != MS_OK)
        return w->failed;
    char ip[INET6_ADDRSTRLEN];
    ms_status st = check_record(r, ip);
    if (st != MS_OK)
        return st; /* this record refused; the document goes on */
    ms_buf_printf(&w->xml, "  <record>\n    <row>\n      <source_ip>%s</source_ip>\n"
                           "      <count>%llu</count>\n      <policy_evaluated>\n",
                  ip, (unsigned long long)r->count);
    element(w, "        ", "disposition", r->disposition);
    element(w, "        ", "dkim", r->dkim);
    element(w, "        ", "spf", r->spf);
    for (size_t i = 0; i < r->reason_count; i++) {
        ms_buf_puts(&w->xml, "        <reason>\n");
        element(w, "          ", "type", r->reasons[i].type);
        element(w, "          ", "comment", r->reasons[i].comment);
        ms_buf_puts(&w->xml, "        </reason>\n");
    }
    ms_buf_puts(&w->xml, "      </policy_evaluated>\n    </row>\n    <identifiers>\n");
    element(w, "      ", "envelope_to", r->envelope_to);
    element(w, "      ", "envelope_from", r->envelope_from);
    ms_buf_puts(&w->xml, "      <header_from>");
    put_text(w, r->header_from);
    ms_buf_puts(&w->xml, "</header_from>\n    </identifiers>\n    <auth_results>\n");
    for (size_t i = 0; i < r->dkim_count; i++)
        write_auth(w, "dkim", &r->dkim_results[i]);
    for (size_t i = 0; i < r->spf_count; i++)
        write_auth(w, "spf", &r->spf_results[i]);
    ms_buf_puts(&w->xml, "    </auth_results>\n  </record>\n");
    w->records++;
    /* compressed every few records: fewer, larger deflate calls */
    return w->xml.len >= 65536 ? deflate_xml(w, Z_NO_FLUSH) : MS_OK;
}

uint64_t ms_report_agg_writer_records(const ms_report_agg_writer *w)
{
    return w->records;
}

ms_status ms_report_agg_writer_finish(ms_report_agg_writer *w, const void **gz, size_t *len)
{
    *gz = NULL;
    *len = 0;
    if (w->failed != MS_OK)
        return w->failed;
    if (w->records == 0)
        return MS_ERR_INVALID; /* the schema wants at least one record */
    ms_buf_puts(&w->xml, "</feedback>\n");
    ms_status st = deflate_xml(w, Z_FINISH);
    if (st != MS_OK)
        return st;
    *gz = w->gz.data;
    *len = w->gz.len;
    return MS_OK;
}

void ms_report_agg_writer_free(ms_report_agg_writer *w)
{
    if (w == NULL)
        return;
    if (w->z_open)
        deflateEnd(&w->z);
    ms_buf_free(&w->gz);
    ms_buf_free(&w->xml);
    ms_buf_free(&w->text);
    free(w);
}
