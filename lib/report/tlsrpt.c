/* SMTP TLS reports (RFC 8460 section 4): one JSON document, parsed whole
 * with jansson.
 *
 * Decisions (docs/report-formats.md):
 *  - duplicate object keys are refused (JSON_REJECT_DUPLICATES): a report
 *    that says two things about one member cannot be read one way;
 *  - nesting deeper than MS_REPORT_DEPTH_MAX is refused before anything is
 *    read from the tree;
 *  - organization-name, report-id and date-range are required (they
 *    identify the report); every other member may be missing;
 *  - counts may be written as integers, reals or digit strings; a string
 *    where an array of strings belongs (policy-string, mx-host) is taken
 *    as a one-element array; invalid UTF-8 is repaired before parsing.
 */
#include "report_internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
    ms_report_error *err;
    ms_status status;
    /* The entry being read, for messages: "policies[2].failure-details[0]"
     * (jansson keeps no line numbers for values, so this is the position);
     * empty at the top level. */
    char where[96];
} reader;

__attribute__((format(printf, 3, 4))) static void read_fail(reader *r, ms_status status,
                                                            const char *fmt, ...)
{
    if (r->status != MS_OK)
        return;
    r->status = status;
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* MS_ERR_NOMEM when there was no memory to say why */
    if (r->where[0] != '\0')
        r->status = ms_report_fail(r->err, status, 0, 0, -1, "%s (in %s)", what, r->where);
    else
        r->status = ms_report_fail(r->err, status, 0, 0, -1, "%s", what);
}

/* The deepest nesting of arrays and objects under v, counting v as 1;
 * stops counting past limit. */
static int json_depth(json_t *v, int limit)
{
    if (limit <= 0)
        return 1;
    int deepest = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *child;
        json_object_foreach(v, key, child) {
            int d = json_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            int d = json_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    } else {
        return 0;
    }
    return deepest + 1;
}

/* A string member, tidied; NULL when absent or empty. Numbers and
 * booleans are written out, as some reporters use them for codes. */
static char *text_member(reader *r, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    char number[64];
    const char *s = NULL;
    size_t len = 0;
    if (json_is_string(v)) {
        s = json_string_value(v);
        len = json_string_length(v);
    } else if (json_is_integer(v)) {
        len = (size_t)snprintf(number, sizeof number, "%lld", (long long)json_integer_value(v));
        s = number;
    } else if (json_is_real(v)) {
        len = (size_t)snprintf(number, sizeof number, "%.17g", json_real_value(v));
        s = number;
    } else if (v != NULL && !json_is_null(v)) {
        read_fail(r, MS_ERR_INVALID, "\"%s\" is not a string", key);
        return NULL;
    }
    if (len > MS_REPORT_FIELD_MAX) {
        read_fail(r, MS_ERR_LIMIT, "\"%s\" is longer than the field limit", key);
        return NULL;
    }
    int nomem = 0;
    char *out = ms_report_text_dup(s, len, &nomem);
    if (nomem)
        read_fail(r, MS_ERR_NOMEM, "out of memory reading \"%s\"", key);
    return out;
}

/* An array of strings (or one string), tidied and joined by sep. */
static char *joined_member(reader *r, json_t *obj, const char *key, const char *sep)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v) || json_is_string(v))
        return text_member(r, obj, key);
    if (!json_is_array(v)) {
        read_fail(r, MS_ERR_INVALID, "\"%s\" is not an array of strings", key);
        return NULL;
    }
    ms_buf buf = MS_BUF_INIT;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            read_fail(r, MS_ERR_INVALID, "\"%s\" holds something that is not a string", key);
            ms_buf_free(&buf);
            return NULL;
        }
        int nomem = 0;
        char *s = ms_report_text_dup(json_string_value(item), json_string_length(item), &nomem);
        if (s != NULL) {
            if (buf.len > 0)
                ms_buf_puts(&buf, sep);
            ms_buf_puts(&buf, s);
            free(s);
        }
        if (nomem)
            buf.failed = 1;
    }
    if (buf.failed) {
        read_fail(r, MS_ERR_NOMEM, "out of memory reading \"%s\"", key);
        ms_buf_free(&buf);
        return NULL;
    }
    return buf.len > 0 ? ms_buf_take(&buf) : (ms_buf_free(&buf), NULL);
}

/* A session count: integer, real (truncated) or digit string, at most
 * MS_REPORT_COUNT_MAX; 0 when absent. */
static uint64_t count_member(reader *r, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    uint64_t n = 0;
    int got = 0; /* as ms_report_parse_count: 1 read, 0 not a count, -1 too large */
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        n = (uint64_t)json_integer_value(v);
        got = n <= MS_REPORT_COUNT_MAX ? 1 : -1;
    } else if (json_is_real(v) && json_real_value(v) >= 0) {
        got = json_real_value(v) < (double)MS_REPORT_COUNT_MAX + 1 ? 1 : -1;
        n = got > 0 ? (uint64_t)json_real_value(v) : 0;
    } else if (json_is_string(v)) {
        got = ms_report_parse_count(json_string_value(v), &n);
    }
    if (got < 0)
        read_fail(r, MS_ERR_INVALID, "\"%s\" is larger than %llu (MS_REPORT_COUNT_MAX)", key,
                  (unsigned long long)MS_REPORT_COUNT_MAX);
    else if (got == 0)
        read_fail(r, MS_ERR_INVALID, "\"%s\" is not a session count", key);
    return got > 0 ? n : 0;
}

static void read_failure(reader *r, json_t *obj, ms_report_tlsrpt_failure *f)
{
    if (!json_is_object(obj)) {
        read_fail(r, MS_ERR_INVALID, "an entry of \"%s\" is not an object", "failure-details");
        return;
    }
    f->result_type = text_member(r, obj, "result-type");
    if (f->result_type)
        ms_report_ascii_lower(f->result_type);
    f->sending_mta_ip = text_member(r, obj, "sending-mta-ip");
    f->receiving_mx_hostname = text_member(r, obj, "receiving-mx-hostname");
    f->receiving_mx_helo = text_member(r, obj, "receiving-mx-helo");
    f->receiving_ip = text_member(r, obj, "receiving-ip");
    f->failed_session_count = count_member(r, obj, "failed-session-count");
    f->additional_information = text_member(r, obj, "additional-information");
    f->failure_reason_code = text_member(r, obj, "failure-reason-code");
}

static void read_policy(reader *r, json_t *obj, ms_report_tlsrpt_policy *pol)
{
    if (!json_is_object(obj)) {
        read_fail(r, MS_ERR_INVALID, "an entry of \"%s\" is not an object", "policies");
        return;
    }
    json_t *policy = json_object_get(obj, "policy");
    if (json_is_object(policy)) {
        pol->policy_type = text_member(r, policy, "policy-type");
        if (pol->policy_type)
            ms_report_ascii_lower(pol->policy_type);
        pol->policy_domain = text_member(r, policy, "policy-domain");
        if (pol->policy_domain)
            ms_report_ascii_lower(pol->policy_domain);
        pol->policy_string = joined_member(r, policy, "policy-string", "\n");
        pol->mx_host = joined_member(r, policy, "mx-host", " ");
    } else if (policy != NULL) {
        read_fail(r, MS_ERR_INVALID, "\"%s\" is not an object", "policy");
    }
    json_t *summary = json_object_get(obj, "summary");
    if (json_is_object(summary)) {
        pol->successful = count_member(r, summary, "total-successful-session-count");
        pol->failed = count_member(r, summary, "total-failure-session-count");
    }
    json_t *details = json_object_get(obj, "failure-details");
    if (json_is_array(details) && json_array_size(details) > 0) {
        size_t n = json_array_size(details);
        pol->failures = calloc(n, sizeof *pol->failures);
        if (pol->failures == NULL) {
            read_fail(r, MS_ERR_NOMEM, "out of memory reading \"%s\"", "failure-details");
            return;
        }
        size_t policy_where = strlen(r->where);
        for (size_t i = 0; i < n && r->status == MS_OK; i++) {
            snprintf(r->where + policy_where, sizeof r->where - policy_where, ".failure-details[%zu]", i);
            read_failure(r, json_array_get(details, i), &pol->failures[i]);
            pol->failure_count = i + 1;
        }
    }
}

static void read_report(reader *r, json_t *root, ms_report_tlsrpt *rep)
{
    if (!json_is_object(root)) {
        read_fail(r, MS_ERR_INVALID, "%s", "the document is not a JSON object");
        return;
    }
    rep->org_name = text_member(r, root, "organization-name");
    rep->report_id = text_member(r, root, "report-id");
    rep->contact_info = text_member(r, root, "contact-info");
    json_t *range = json_object_get(root, "date-range");
    if (r->status != MS_OK)
        return;
    if (rep->org_name == NULL)
        {
            read_fail(r, MS_ERR_INVALID, "the report has no \"%s\"", "organization-name");
            return;
        }
    if (rep->report_id == NULL)
        {
            read_fail(r, MS_ERR_INVALID, "the report has no \"%s\"", "report-id");
            return;
        }
    if (!json_is_object(range))
        {
            read_fail(r, MS_ERR_INVALID, "the report has no \"%s\" object", "date-range");
            return;
        }
    const char *names[2] = {"start-datetime", "end-datetime"};
    int64_t *times[2] = {&rep->begin, &rep->end};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(range, names[i]);
        int got = json_is_string(v) ? ms_report_parse_rfc3339(json_string_value(v), times[i]) : 0;
        if (got == 0) {
            read_fail(r, MS_ERR_INVALID, "\"%s\" is missing or not an RFC 3339 date-time",
                      names[i]);
            return;
        }
        if (got < 0) {
            read_fail(r, MS_ERR_INVALID, "\"%s\" '%.40s' is outside 1970-01-01..9999-12-31 "
                      "(MS_REPORT_TIME_MIN..MS_REPORT_TIME_MAX)", names[i], json_string_value(v));
            return;
        }
    }
    json_t *policies = json_object_get(root, "policies");
    if (policies == NULL || json_is_null(policies))
        return;
    if (!json_is_array(policies))
        {
            read_fail(r, MS_ERR_INVALID, "\"%s\" is not an array", "policies");
            return;
        }
    size_t n = json_array_size(policies);
    if (n == 0)
        return;
    rep->policies = calloc(n, sizeof *rep->policies);
    if (rep->policies == NULL)
        {
            read_fail(r, MS_ERR_NOMEM, "out of memory reading \"%s\"", "policies");
            return;
        }
    for (size_t i = 0; i < n && r->status == MS_OK; i++) {
        snprintf(r->where, sizeof r->where, "policies[%zu]", i);
        read_policy(r, json_array_get(policies, i), &rep->policies[i]);
        rep->policy_count = i + 1;
    }
}

/* Repairs invalid UTF-8 and drops a byte-order mark, so jansson sees what
 * a reader of the report would. */
static char *prepare_json(const char *json, size_t len, size_t *out_len)
{
    if (len >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        json += 3, len -= 3;
    ms_buf buf = MS_BUF_INIT;
    ms_report_utf8_repair(json, len, &buf);
    if (buf.failed) {
        ms_buf_free(&buf);
        return NULL;
    }
    *out_len = buf.len;
    return buf.data ? ms_buf_take(&buf) : ms_strdup("");
}

ms_status ms_report_tlsrpt_parse(const void *json, size_t len, ms_report_tlsrpt **out,
                          ms_report_error *err)
{
    *out = NULL;
    if (len > MS_REPORT_TLSRPT_MAX)
        return ms_report_fail(err, MS_ERR_LIMIT, 0, 0, -1,
                              "the TLS report is larger than %d bytes", MS_REPORT_TLSRPT_MAX);
    size_t text_len = 0;
    char *text = prepare_json(json, len, &text_len);
    if (text == NULL)
        return ms_report_fail(err, MS_ERR_NOMEM, 0, 0, -1, "out of memory");
    json_error_t jerr;
    json_t *root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (root == NULL)
        return ms_report_fail(err, MS_ERR_INVALID, jerr.line > 0 ? jerr.line : 0,
                              jerr.column > 0 ? jerr.column : 0, jerr.position,
                              "JSON error: %s", jerr.text);
    if (json_depth(root, MS_REPORT_DEPTH_MAX + 1) > MS_REPORT_DEPTH_MAX) {
        json_decref(root);
        return ms_report_fail(err, MS_ERR_LIMIT, 0, 0, -1,
                              "arrays and objects are nested more than %d deep",
                              MS_REPORT_DEPTH_MAX);
    }
    ms_report_tlsrpt *rep = calloc(1, sizeof *rep);
    if (rep == NULL) {
        json_decref(root);
        return ms_report_fail(err, MS_ERR_NOMEM, 0, 0, -1, "out of memory");
    }
    reader r = {.err = err, .status = MS_OK};
    read_report(&r, root, rep);
    json_decref(root);
    if (r.status != MS_OK) {
        ms_report_tlsrpt_free(rep);
        return r.status;
    }
    *out = rep;
    return MS_OK;
}

void ms_report_tlsrpt_free(ms_report_tlsrpt *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->policy_count; i++) {
        ms_report_tlsrpt_policy *p = &r->policies[i];
        for (size_t k = 0; k < p->failure_count; k++) {
            ms_report_tlsrpt_failure *f = &p->failures[k];
            free(f->result_type);
            free(f->sending_mta_ip);
            free(f->receiving_mx_hostname);
            free(f->receiving_mx_helo);
            free(f->receiving_ip);
            free(f->additional_information);
            free(f->failure_reason_code);
        }
        free(p->failures);
        free(p->policy_type);
        free(p->policy_domain);
        free(p->policy_string);
        free(p->mx_host);
    }
    free(r->policies);
    free(r->org_name);
    free(r->report_id);
    free(r->contact_info);
    free(r);
}
