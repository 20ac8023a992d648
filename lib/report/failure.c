/* DMARC failure reports (RFC 6591 ARF as profiled by RFC 7489 section 7.3
 * and RFC 9991): a message whose body is multipart/report;
 * report-type=feedback-report, holding a human-readable part, a
 * message/feedback-report part of "Name: value" fields, and the original
 * message (message/rfc822) or its header (text/rfc822-headers).
 *
 * GMime splits the message into parts and undoes transfer encodings; the
 * feedback fields and the original's header are read here, so parts GMime
 * types differently (message/feedback-report as a leaf part or as an
 * embedded message) read the same. Reports that lack parts are read as
 * far as they go; only a message with nothing that marks it as a failure
 * report is refused.
 */
#include "report_internal.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- "Name: value" fields ------------------------------------------- */

typedef void (*field_fn)(void *arg, const char *name, size_t name_len, const char *value,
                         size_t value_len);

/* Appends to a field's value, which keeps its first MS_REPORT_FIELD_MAX
 * bytes (a cut UTF-8 sequence is repaired later like any other). */
static void append_capped(ms_buf *value, const char *s, size_t len)
{
    size_t room = value->len < MS_REPORT_FIELD_MAX ? MS_REPORT_FIELD_MAX - value->len : 0;
    ms_buf_append(value, s, len < room ? len : room);
}

/* Calls fn for each field of a header block (folded lines joined), up to
 * the first empty line. */
static void each_field(const char *text, size_t len, field_fn fn, void *arg)
{
    ms_buf value = MS_BUF_INIT;
    const char *name = NULL;
    size_t name_len = 0;
    size_t i = 0;
    while (i < len) {
        const char *line = text + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t line_len = nl ? (size_t)(nl - line) : len - i;
        i += line_len + (nl != NULL);
        if (line_len > 0 && line[line_len - 1] == '\r')
            line_len--;
        if (line_len == 0)
            break; /* the end of the header */
        if ((line[0] == ' ' || line[0] == '\t') && name != NULL) {
            append_capped(&value, line, line_len);
            continue;
        }
        if (name != NULL)
            fn(arg, name, name_len, value.data ? value.data : "", value.len);
        name = NULL;
        value.len = 0;
        if (value.data)
            value.data[0] = '\0';
        const char *colon = memchr(line, ':', line_len);
        if (colon == NULL)
            continue; /* not a field: skipped */
        name = line;
        name_len = (size_t)(colon - line);
        while (name_len > 0 && (name[name_len - 1] == ' ' || name[name_len - 1] == '\t'))
            name_len--;
        append_capped(&value, colon + 1, line_len - (size_t)(colon + 1 - line));
    }
    if (name != NULL)
        fn(arg, name, name_len, value.data ? value.data : "", value.len);
    ms_buf_free(&value);
}

/* ---- The feedback-report fields ------------------------------------- */

typedef struct feedback_field {
    const char *name;
    size_t offset;   /* of the char * in ms_failure_report */
    const char *sep; /* repeated fields joined by this; NULL: the first kept */
    int lower;
} feedback_field;

#define AT(member) offsetof(ms_failure_report, member)
static const feedback_field feedback_fields[] = {
    {"Feedback-Type", AT(feedback_type), NULL, 1},
    {"User-Agent", AT(user_agent), NULL, 0},
    {"Version", AT(version), NULL, 0},
    {"Original-Mail-From", AT(original_mail_from), NULL, 0},
    {"Original-Rcpt-To", AT(original_rcpt_to), ", ", 0},
    {"Original-Envelope-Id", AT(original_envelope_id), NULL, 0},
    {"Arrival-Date", AT(arrival_date), NULL, 0},
    {"Received-Date", AT(arrival_date), NULL, 0}, /* the name in early ARF drafts */
    {"Reporting-MTA", AT(reporting_mta), NULL, 0},
    {"Source-IP", AT(source_ip), NULL, 0},
    {"Authentication-Results", AT(authentication_results), "; ", 0},
    {"Reported-Domain", AT(reported_domain), NULL, 1},
    {"Delivery-Result", AT(delivery_result), NULL, 1},
    {"Auth-Failure", AT(auth_failure), ", ", 1},
    {"Identity-Alignment", AT(identity_alignment), NULL, 1},
    {"DKIM-Domain", AT(dkim_domain), NULL, 1},
    {"DKIM-Identity", AT(dkim_identity), NULL, 0},
    {"DKIM-Selector", AT(dkim_selector), NULL, 0},
    {"SPF-DNS", AT(spf_dns), "; ", 0},
};

typedef struct reading {
    ms_failure_report *report;
    int nomem;
    int incidents_seen;
} reading;

static char **slot(ms_failure_report *r, size_t offset)
{
    return (char **)((char *)r + offset);
}

/* Keeps a value in *dst: the first one, or all joined by sep. */
static void keep_value(reading *rd, char **dst, const char *value, size_t len, const char *sep,
                       int lower)
{
    char *clean = ms_report_text_dup(value, len, &rd->nomem);
    if (clean == NULL)
        return;
    if (lower)
        ms_report_ascii_lower(clean);
    if (*dst == NULL) {
        *dst = clean;
        return;
    }
    if (sep != NULL && strlen(*dst) + strlen(clean) < MS_REPORT_FIELD_MAX) {
        char *joined = ms_asprintf("%s%s%s", *dst, sep, clean);
        if (joined == NULL) {
            rd->nomem = 1;
        } else {
            free(*dst);
            *dst = joined;
        }
    }
    free(clean);
}

static void on_feedback_field(void *arg, const char *name, size_t name_len, const char *value,
                              size_t value_len)
{
    reading *rd = arg;
    if (name_len == 9 && strncasecmp(name, "Incidents", 9) == 0) {
        char *s = ms_report_text_dup(value, value_len, &rd->nomem);
        uint64_t n;
        if (s != NULL && ms_report_parse_count(s, &n)) {
            rd->report->incidents = n;
            rd->incidents_seen = 1;
        }
        free(s);
        return;
    }
    for (size_t i = 0; i < sizeof feedback_fields / sizeof feedback_fields[0]; i++) {
        const feedback_field *f = &feedback_fields[i];
        if (strlen(f->name) == name_len && strncasecmp(f->name, name, name_len) == 0) {
            keep_value(rd, slot(rd->report, f->offset), value, value_len, f->sep, f->lower);
            return;
        }
    }
}

/* ---- The original message's header ---------------------------------- */

/* A header value as a reader sees it: RFC 2047 words decoded, tidied. */
static void keep_decoded(reading *rd, char **dst, const char *value, size_t len)
{
    if (*dst != NULL)
        return;
    char *raw = ms_report_text_dup(value, len, &rd->nomem);
    if (raw == NULL)
        return;
    char *decoded = g_mime_utils_header_decode_text(NULL, raw);
    free(raw);
    if (decoded == NULL)
        return;
    *dst = ms_report_text_dup(decoded, strlen(decoded), &rd->nomem);
    g_free(decoded);
}

static void on_original_field(void *arg, const char *name, size_t name_len, const char *value,
                              size_t value_len)
{
    reading *rd = arg;
    ms_failure_report *r = rd->report;
    static const struct {
        const char *name;
        size_t offset;
    } wanted[] = {{"From", AT(original_from)},
                  {"To", AT(original_to)},
                  {"Subject", AT(original_subject)},
                  {"Message-ID", AT(original_message_id)}};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (strlen(wanted[i].name) == name_len && strncasecmp(wanted[i].name, name, name_len) == 0)
            keep_decoded(rd, slot(r, wanted[i].offset), value, value_len);
}

/* ---- Walking the parts ---------------------------------------------- */

/* The decoded bytes of a leaf part, or the header text of an embedded
 * message (possibly empty); free with g_byte_array_free(). */
static GByteArray *part_bytes(GMimeObject *part)
{
    GMimeStream *mem = g_mime_stream_mem_new();
    if (GMIME_IS_PART(part)) {
        GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
        if (content != NULL)
            g_mime_data_wrapper_write_to_stream(content, mem);
    } else if (GMIME_IS_MESSAGE_PART(part)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
        if (inner != NULL) {
            char *headers = g_mime_object_get_headers(GMIME_OBJECT(inner), NULL);
            if (headers != NULL) {
                g_mime_stream_write_string(mem, headers);
                g_free(headers);
            }
        }
    }
    GByteArray *bytes = g_byte_array_new();
    GByteArray *held = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    if (held != NULL && held->len > 0)
        g_byte_array_append(bytes, held->data, held->len);
    g_object_unref(mem);
    return bytes;
}

static int is_type(GMimeObject *part, const char *type, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(part);
    return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

typedef struct walk {
    reading *rd;
    int marked; /* something says "failure report" */
} walk;

static void read_feedback_part(walk *w, GMimeObject *part)
{
    GByteArray *bytes = part_bytes(part);
    each_field((const char *)bytes->data, bytes->len, on_feedback_field, w->rd);
    g_byte_array_free(bytes, TRUE);
    w->rd->report->has_feedback_part = 1;
    w->marked = 1;
}

static void read_original_part(walk *w, GMimeObject *part)
{
    GByteArray *bytes = part_bytes(part);
    each_field((const char *)bytes->data, bytes->len, on_original_field, w->rd);
    g_byte_array_free(bytes, TRUE);
    w->rd->report->has_original_part = 1;
}

static void on_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    walk *w = data;
    (void)parent;
    ms_failure_report *r = w->rd->report;
    if (is_type(part, "message", "feedback-report")) {
        if (!r->has_feedback_part)
            read_feedback_part(w, part);
    } else if (is_type(part, "message", "rfc822") || is_type(part, "message", "global") ||
               is_type(part, "text", "rfc822-headers") ||
               is_type(part, "message", "global-headers")) {
        if (!r->has_original_part)
            read_original_part(w, part);
    } else if (is_type(part, "multipart", "report")) {
        const char *kind = g_mime_object_get_content_type_parameter(part, "report-type");
        if (kind != NULL && g_ascii_strcasecmp(kind, "feedback-report") == 0)
            w->marked = 1;
    }
}

static void read_message(walk *w, GMimeMessage *msg)
{
    ms_failure_report *r = w->rd->report;
    const char *id = g_mime_message_get_message_id(msg);
    if (id != NULL)
        r->message_id = ms_report_text_dup(id, strlen(id), &w->rd->nomem);
    const char *date = g_mime_object_get_header(GMIME_OBJECT(msg), "Date");
    if (date != NULL)
        r->report_date = ms_report_text_dup(date, strlen(date), &w->rd->nomem);
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    if (body == NULL)
        return;
    on_part(NULL, body, w); /* the body itself may be the feedback part */
    if (GMIME_IS_MULTIPART(body))
        g_mime_multipart_foreach(GMIME_MULTIPART(body), on_part, w);
}

static void arrival_time(ms_failure_report *r)
{
    if (r->arrival_date == NULL)
        return;
    GDateTime *t = g_mime_utils_header_decode_date(r->arrival_date);
    if (t != NULL) {
        r->arrival_time = (int64_t)g_date_time_to_unix(t);
        g_date_time_unref(t);
    }
}

ms_status ms_failure_parse(const void *message, size_t len, ms_failure_report **out,
                           ms_report_error *err)
{
    *out = NULL;
    if (len > MS_REPORT_MESSAGE_MAX)
        return ms_report_fail(err, MS_ERR_LIMIT, 0, 0, -1, "the message is larger than %d bytes",
                              MS_REPORT_MESSAGE_MAX);
    report_gmime_init();
    ms_failure_report *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ms_report_fail(err, MS_ERR_NOMEM, 0, 0, -1, "out of memory");
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(message, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    reading rd = {r, 0, 0};
    walk w = {&rd, 0};
    if (msg != NULL) {
        read_message(&w, msg);
        g_object_unref(msg);
    }
    g_object_unref(parser);
    g_object_unref(stream);
    if (rd.nomem) {
        ms_failure_report_free(r);
        return ms_report_fail(err, MS_ERR_NOMEM, 0, 0, -1, "out of memory");
    }
    if (msg == NULL || !w.marked) {
        ms_failure_report_free(r);
        return ms_report_fail(err, MS_ERR_INVALID, 0, 0, -1,
                              msg == NULL ? "the message could not be read as MIME"
                                          : "the message is not a failure report: it has no "
                                            "multipart/report; report-type=feedback-report and no "
                                            "message/feedback-report part");
    }
    if (!rd.incidents_seen)
        r->incidents = 1;
    arrival_time(r);
    *out = r;
    return MS_OK;
}

void ms_failure_report_free(ms_failure_report *r)
{
    if (r == NULL)
        return;
    char **strings[] = {
        &r->message_id, &r->report_date, &r->feedback_type, &r->user_agent, &r->version,
        &r->reported_domain, &r->source_ip, &r->arrival_date, &r->original_mail_from,
        &r->original_rcpt_to, &r->original_envelope_id, &r->reporting_mta,
        &r->authentication_results, &r->auth_failure, &r->identity_alignment,
        &r->delivery_result, &r->dkim_domain, &r->dkim_selector, &r->dkim_identity, &r->spf_dns,
        &r->original_from, &r->original_to, &r->original_subject, &r->original_message_id};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        free(*strings[i]);
    free(r);
}
