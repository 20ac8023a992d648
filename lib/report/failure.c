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

#include "core/lazy_gmime.h"
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * the first empty line. 0, or -1 when memory ran out (values were cut). */
static int each_field(const char *text, size_t len, field_fn fn, void *arg)
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
    int failed = value.failed;
    ms_buf_free(&value);
    return failed ? -1 : 0;
}

/* ---- The feedback-report fields ------------------------------------- */

typedef struct feedback_field {
    const char *name;
    size_t offset;   /* of the char * in ms_report_failure */
    const char *sep; /* repeated fields joined by this; NULL: the first kept */
    int lower;
} feedback_field;

#define AT(member) offsetof(ms_report_failure, member)
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
    ms_report_failure *report;
    int nomem;
    int incidents_seen;
    char *bad_incidents; /* an Incidents value that is no count, or too large */
    int incidents_too_large;
} reading;

static char **slot(ms_report_failure *r, size_t offset)
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
    if (name_len == 9 && ms_ascii_strncasecmp(name, "Incidents", 9) == 0) {
        if (rd->incidents_seen || rd->bad_incidents != NULL)
            return; /* the first one counts */
        char *s = ms_report_text_dup(value, value_len, &rd->nomem);
        int got = s != NULL ? ms_report_parse_count(s, &rd->report->incidents) : 0;
        if (got > 0) {
            rd->incidents_seen = 1;
            free(s);
        } else {
            rd->bad_incidents = s != NULL ? s : ms_strdup("");
            rd->incidents_too_large = got < 0;
        }
        return;
    }
    for (size_t i = 0; i < sizeof feedback_fields / sizeof feedback_fields[0]; i++) {
        const feedback_field *f = &feedback_fields[i];
        if (strlen(f->name) == name_len && ms_ascii_strncasecmp(f->name, name, name_len) == 0) {
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
    ms_report_failure *r = rd->report;
    static const struct {
        const char *name;
        size_t offset;
    } wanted[] = {{"From", AT(original_from)},
                  {"To", AT(original_to)},
                  {"Subject", AT(original_subject)},
                  {"Message-ID", AT(original_message_id)}};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (strlen(wanted[i].name) == name_len && ms_ascii_strncasecmp(wanted[i].name, name, name_len) == 0)
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
    if (each_field((const char *)bytes->data, bytes->len, on_feedback_field, w->rd) != 0)
        w->rd->nomem = 1;
    g_byte_array_free(bytes, TRUE);
    w->rd->report->has_feedback_part = 1;
    w->marked = 1;
}

static void read_original_part(walk *w, GMimeObject *part)
{
    GByteArray *bytes = part_bytes(part);
    if (each_field((const char *)bytes->data, bytes->len, on_original_field, w->rd) != 0)
        w->rd->nomem = 1;
    g_byte_array_free(bytes, TRUE);
    w->rd->report->has_original_part = 1;
}

static void on_part(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    walk *w = data;
    (void)parent;
    ms_report_failure *r = w->rd->report;
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
    ms_report_failure *r = w->rd->report;
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

/* ---- Checking the values ----------------------------------------------- */

/* Where the field "name:" is in the message, for an error's position: the
 * first line that starts with it, the column and offset of its value.
 * Nothing is filled when it is not found as written (a base64-encoded
 * feedback part). */
static void field_position(const char *msg, size_t len, const char *name, long *line, long *column,
                           int64_t *offset)
{
    size_t name_len = strlen(name);
    long number = 1;
    for (size_t at = 0; at < len; number++) {
        const char *start = msg + at;
        const char *nl = memchr(start, '\n', len - at);
        size_t line_len = nl ? (size_t)(nl - start) : len - at;
        if (line_len > name_len && ms_ascii_strncasecmp(start, name, name_len) == 0 && start[name_len] == ':') {
            size_t value = name_len + 1;
            while (value < line_len && (start[value] == ' ' || start[value] == '\t'))
                value++;
            *line = number;
            *column = (long)value + 1;
            *offset = (int64_t)(at + value);
            return;
        }
        at += line_len + 1;
    }
}

/* Refuses the report for a bad field value, at the field's position. */
__attribute__((format(printf, 5, 6))) static ms_status bad_field(ms_report_error *err, const void *message,
                                                                  size_t len, const char *name,
                                                                  const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    long line = 0, column = 0;
    int64_t offset = -1;
    field_position(message, len, name, &line, &column, &offset);
    return ms_report_fail(err, MS_ERR_INVALID, line, column, offset, "%s", what);
}

/* The year as written in an RFC 5322 date ("Mon, 1 Jan 0000 ..."): the
 * number after the month name, two- and three-digit years read as RFC
 * 5322 section 4.3 says; -1 when there is no such number. GMime reads
 * "0000" as 2000, so the range is checked on what was written too. */
static long written_year(const char *date)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    const char *p = date;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *word = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != ',')
            p++;
        size_t word_len = (size_t)(p - word);
        int is_month = 0;
        for (size_t m = 0; word_len == 3 && m < 12 && !is_month; m++)
            is_month = ms_ascii_strncasecmp(word, months + 3 * m, 3) == 0;
        if (!is_month)
            continue;
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        long year = 0;
        int digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
            year = year * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        if (digits == 2)
            year += year < 50 ? 2000 : 1900;
        else if (digits == 3)
            year += 1900;
        return year;
    }
    return -1;
}

/* Arrival-Date as Unix seconds: 1, 0 when it cannot be read, -1 when it
 * lies outside the dates a report may carry. */
static int parse_arrival_date(const char *date, int64_t *out)
{
    long year = written_year(date);
    if (year >= 0 && (year < 1970 || year > 9999))
        return -1;
    GDateTime *t = g_mime_utils_header_decode_date(date);
    if (t == NULL)
        return 0;
    int64_t when = (int64_t)g_date_time_to_unix(t);
    g_date_time_unref(t);
    if (!ms_report_time_in_range(when))
        return -1;
    *out = when;
    return 1;
}

/* The values with a fixed form: a bad one refuses the report, with the
 * field's position, as a bad value does in the other formats. */
static ms_status check_values(reading *rd, const void *message, size_t len, ms_report_error *err)
{
    ms_report_failure *r = rd->report;
    if (rd->bad_incidents != NULL && rd->incidents_too_large)
        return bad_field(err, message, len, "Incidents",
                         "Incidents '%.40s' is larger than %llu (MS_REPORT_COUNT_MAX)", rd->bad_incidents,
                         (unsigned long long)MS_REPORT_COUNT_MAX);
    if (rd->bad_incidents != NULL)
        return bad_field(err, message, len, "Incidents", "Incidents '%.40s' is not a count of messages",
                         rd->bad_incidents);
    if (r->source_ip != NULL && !ms_report_is_ip_address(r->source_ip))
        return bad_field(err, message, len, "Source-IP", "Source-IP '%.60s' is not an IP address",
                         r->source_ip);
    if (r->arrival_date != NULL) {
        const char *name = "Arrival-Date"; /* (or Received-Date, early drafts' name: no position then) */
        int got = parse_arrival_date(r->arrival_date, &r->arrival_time);
        if (got == 0)
            return bad_field(err, message, len, name, "%s '%.60s' is not a date", name, r->arrival_date);
        if (got < 0)
            return bad_field(err, message, len, name,
                             "%s '%.60s' is outside 1970-01-01..9999-12-31 (MS_REPORT_TIME_MIN..MAX)", name,
                             r->arrival_date);
    }
    if (!rd->incidents_seen)
        r->incidents = 1;
    return MS_OK;
}

ms_status ms_report_failure_parse(const void *message, size_t len, ms_report_failure **out,
                           ms_report_error *err)
{
    *out = NULL;
    if (len > MS_REPORT_MESSAGE_MAX)
        return ms_report_fail(err, MS_ERR_LIMIT, 0, 0, -1, "the message is larger than %d bytes",
                              MS_REPORT_MESSAGE_MAX);
    if (!report_gmime_init())
        return ms_report_fail(err, MS_ERR_IO, 0, 0, -1, "%s", ms_lazy_error(&ms_gmime_lib));
    ms_report_failure *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ms_report_fail(err, MS_ERR_NOMEM, 0, 0, -1, "out of memory");
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(message, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    reading rd = {.report = r};
    walk w = {&rd, 0};
    if (msg != NULL) {
        read_message(&w, msg);
        g_object_unref(msg);
    }
    g_object_unref(parser);
    g_object_unref(stream);
    ms_status st = MS_OK;
    if (rd.nomem)
        st = ms_report_fail(err, MS_ERR_NOMEM, 0, 0, -1, "out of memory");
    else if (msg == NULL || !w.marked)
        st = ms_report_fail(err, MS_ERR_INVALID, 0, 0, -1,
                            msg == NULL ? "the message could not be read as MIME"
                                        : "the message is not a failure report: it has no "
                                          "multipart/report; report-type=feedback-report and no "
                                          "message/feedback-report part");
    else
        st = check_values(&rd, message, len, err);
    free(rd.bad_incidents);
    if (st != MS_OK) {
        ms_report_failure_free(r);
        return st;
    }
    *out = r;
    return MS_OK;
}

void ms_report_failure_free(ms_report_failure *r)
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
