/* DMARC aggregate reports: a push parser over expat.
 *
 * The bytes reach expat through ms_xml_input (xml_input.c: byte-order
 * mark, declared encoding, invalid UTF-8, stray <xs:schema> tags). expat
 * runs with no DTD, no entities and bounded depth; its callbacks walk a
 * table of the elements we read, matched on local names so namespace
 * prefixes do not matter.
 * Metadata strings live until the parser is freed; record strings live in
 * an arena reset at every <record>, so memory does not grow with the
 * number of records. Records that come before <policy_published> are held
 * in a bounded buffer and handed over once report_begin has been called.
 */
#include "report_internal.h"
#include "core/arena.h"
#include "xml_input.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DMARC2_NS "urn:ietf:params:xml:ns:dmarc-2.0"

enum {
    NAME_SHOWN = 40,        /* characters of an element name kept for messages */
    ERRORS_MAX = MS_REPORT_FIELD_MAX, /* bytes of the joined <error> texts */
    AMPLIFICATION_MAX = 10  /* expat's billion-laughs guard (no entities anyway) */
};

/* ---- The elements we read ------------------------------------------ */

typedef enum node {
    N_IGNORE = 0, /* unknown element: it and everything inside is skipped */
    N_DOCUMENT,   /* above the root */
    N_FEEDBACK,
    N_METADATA,
    N_DATE_RANGE,
    N_POLICY,
    N_RECORD,
    N_ROW,
    N_EVALUATED,
    N_REASON,
    N_IDENTIFIERS,
    N_AUTH,
    N_AUTH_DKIM,
    N_AUTH_SPF,
    N_LEAF /* an element whose text is a field */
} node;

typedef enum field {
    F_NONE = 0,
    /* metadata and policy: kept until the parser is freed */
    F_VERSION, F_ORG_NAME, F_EMAIL, F_EXTRA_CONTACT, F_REPORT_ID, F_ERROR, F_GENERATOR,
    F_BEGIN, F_END,
    F_DOMAIN, F_ADKIM, F_ASPF, F_P, F_SP, F_NP, F_PCT, F_FO, F_TESTING, F_DISCOVERY,
    F_META_COUNT,
    /* record fields: in the arena */
    F_SOURCE_IP = F_META_COUNT, F_COUNT, F_DISPOSITION, F_EVAL_DKIM, F_EVAL_SPF,
    F_REASON_TYPE, F_REASON_COMMENT,
    F_ENVELOPE_TO, F_ENVELOPE_FROM, F_HEADER_FROM,
    F_AUTH_DOMAIN, F_AUTH_SELECTOR, F_AUTH_SCOPE, F_AUTH_RESULT, F_AUTH_HUMAN
} field;

/* The children each element may have, by the element's node: the
 * grammar of the report, looked up on every element start. */
typedef struct rule {
    const char *name; /* local name */
    node child;
    field field;      /* for N_LEAF */
} rule;

static const rule document_children[] = {
    {"feedback", N_FEEDBACK, F_NONE},
};
static const rule feedback_children[] = {
    {"record", N_RECORD, F_NONE},
    {"version", N_LEAF, F_VERSION},
    {"report_metadata", N_METADATA, F_NONE},
    {"policy_published", N_POLICY, F_NONE},
};
static const rule metadata_children[] = {
    {"org_name", N_LEAF, F_ORG_NAME},
    {"email", N_LEAF, F_EMAIL},
    {"extra_contact_info", N_LEAF, F_EXTRA_CONTACT},
    {"report_id", N_LEAF, F_REPORT_ID},
    {"date_range", N_DATE_RANGE, F_NONE},
    {"error", N_LEAF, F_ERROR},
    {"generator", N_LEAF, F_GENERATOR},
};
static const rule date_range_children[] = {
    {"begin", N_LEAF, F_BEGIN},
    {"end", N_LEAF, F_END},
};
static const rule policy_children[] = {
    {"domain", N_LEAF, F_DOMAIN},
    {"adkim", N_LEAF, F_ADKIM},
    {"aspf", N_LEAF, F_ASPF},
    {"p", N_LEAF, F_P},
    {"sp", N_LEAF, F_SP},
    {"np", N_LEAF, F_NP},
    {"pct", N_LEAF, F_PCT},
    {"fo", N_LEAF, F_FO},
    {"testing", N_LEAF, F_TESTING},
    {"discovery_method", N_LEAF, F_DISCOVERY},
};
static const rule record_children[] = {
    {"row", N_ROW, F_NONE},
    {"identifiers", N_IDENTIFIERS, F_NONE},
    {"identities", N_IDENTIFIERS, F_NONE}, /* early drafts' name */
    {"auth_results", N_AUTH, F_NONE},
};
static const rule row_children[] = {
    {"source_ip", N_LEAF, F_SOURCE_IP},
    {"count", N_LEAF, F_COUNT},
    {"policy_evaluated", N_EVALUATED, F_NONE},
};
static const rule evaluated_children[] = {
    {"disposition", N_LEAF, F_DISPOSITION},
    {"dkim", N_LEAF, F_EVAL_DKIM},
    {"spf", N_LEAF, F_EVAL_SPF},
    {"reason", N_REASON, F_NONE},
};
static const rule reason_children[] = {
    {"type", N_LEAF, F_REASON_TYPE},
    {"comment", N_LEAF, F_REASON_COMMENT},
};
static const rule identifiers_children[] = {
    {"envelope_to", N_LEAF, F_ENVELOPE_TO},
    {"envelope_from", N_LEAF, F_ENVELOPE_FROM},
    {"header_from", N_LEAF, F_HEADER_FROM},
};
static const rule auth_children[] = {
    {"dkim", N_AUTH_DKIM, F_NONE},
    {"spf", N_AUTH_SPF, F_NONE},
};
static const rule auth_dkim_children[] = {
    {"domain", N_LEAF, F_AUTH_DOMAIN},
    {"selector", N_LEAF, F_AUTH_SELECTOR},
    {"result", N_LEAF, F_AUTH_RESULT},
    {"human_result", N_LEAF, F_AUTH_HUMAN},
};
static const rule auth_spf_children[] = {
    {"domain", N_LEAF, F_AUTH_DOMAIN},
    {"scope", N_LEAF, F_AUTH_SCOPE},
    {"result", N_LEAF, F_AUTH_RESULT},
    {"human_result", N_LEAF, F_AUTH_HUMAN},
};

typedef struct children {
    const rule *rules;
    size_t count;
} children;

#define CHILDREN(list) {list, sizeof list / sizeof list[0]}

static const children children_of[N_LEAF + 1] = {
    [N_DOCUMENT] = CHILDREN(document_children),
    [N_FEEDBACK] = CHILDREN(feedback_children),
    [N_METADATA] = CHILDREN(metadata_children),
    [N_DATE_RANGE] = CHILDREN(date_range_children),
    [N_POLICY] = CHILDREN(policy_children),
    [N_RECORD] = CHILDREN(record_children),
    [N_ROW] = CHILDREN(row_children),
    [N_EVALUATED] = CHILDREN(evaluated_children),
    [N_REASON] = CHILDREN(reason_children),
    [N_IDENTIFIERS] = CHILDREN(identifiers_children),
    [N_AUTH] = CHILDREN(auth_children),
    [N_AUTH_DKIM] = CHILDREN(auth_dkim_children),
    [N_AUTH_SPF] = CHILDREN(auth_spf_children),
};

/* Fields whose values are enumerations or domains: lower-cased. */
static int field_is_lowered(field f)
{
    switch (f) {
    case F_DOMAIN: case F_ADKIM: case F_ASPF: case F_P: case F_SP: case F_NP:
    case F_TESTING: case F_DISCOVERY: case F_DISPOSITION: case F_EVAL_DKIM:
    case F_EVAL_SPF: case F_REASON_TYPE: case F_AUTH_SCOPE: case F_AUTH_RESULT:
        return 1;
    default:
        return 0;
    }
}

/* ---- The parser ------------------------------------------------------ */

/* A position in the document, as errors give it. */
typedef struct place {
    long line, column;
    int64_t offset;
} place;

struct ms_report_agg_parser {
    ms_report_agg_callbacks cb;
    XML_Parser xml;

    /* input */
    ms_xml_input input;
    int encoding_set;          /* XML_SetEncoding done */
    int64_t fed;               /* bytes handed to expat */
    int64_t event_end;         /* where expat's last event ended */

    /* where we are */
    int depth; /* open elements */
    node stack[MS_REPORT_DEPTH_MAX + 2];
    /* Each open element's local name, for messages: a known element's is
     * its rule's name, so only an unknown one is copied (to unknown_names). */
    const char *names[MS_REPORT_DEPTH_MAX + 2];
    char unknown_names[MS_REPORT_DEPTH_MAX + 2][NAME_SHOWN + 1];
    field leaf;
    char text[MS_REPORT_FIELD_MAX + 1]; /* a field's text, unless it is read into the arena */
    char *leaf_text; /* where the leaf's text is read to: text, or the record's arena (start_leaf) */
    size_t text_len;

    /* the report */
    char *meta_text[F_META_COUNT];
    int64_t begin, end;
    int has_begin, has_end, has_metadata, has_policy, dmarc2_ns;
    int begun, skip_records, root_closed;

    /* the current record */
    ms_report_agg_record rec;
    ms_arena strings;
    int in_record, has_count;
    size_t record_elements;
    ms_report_agg_auth *auth;     /* the <dkim>/<spf> result being read, NULL if dropped */
    ms_report_agg_reason *reason; /* the <reason> being read, NULL if dropped */
    ms_buf early;          /* records before <policy_published>, serialised */
    uint64_t handed;

    /* where <report_metadata> and <policy_published> closed, for what
     * they lack */
    place metadata_end, policy_end;
    char *notes; /* what the parser made of something unusual (meta.notes) */

    /* the outcome */
    ms_status status; /* MS_OK until something failed */
    char *message;
    long err_line, err_column;
    int64_t err_offset;
};

/* The innermost elements, for messages: "<feedback><record><row>". */
static void element_path(const ms_report_agg_parser *p, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    int from = p->depth > 4 ? p->depth - 3 : 1;
    if (from > 1)
        used += (size_t)snprintf(out, size, "...");
    for (int d = from; d <= p->depth && used < size; d++)
        used += (size_t)snprintf(out + used, size - used, "<%s>", p->names[d]);
}

/* expat's current position. */
static place here(const ms_report_agg_parser *p)
{
    int64_t at = (int64_t)XML_GetCurrentByteIndex(p->xml);
    return (place){.line = (long)XML_GetCurrentLineNumber(p->xml),
                   .column = (long)XML_GetCurrentColumnNumber(p->xml) + 1,
                   .offset = at < 0 ? -1 : at + p->input.dropped_lead};
}

/* Records the first failure, at a place and inside the elements named by
 * where ("" for none), and stops expat. */
static void fail_at(ms_report_agg_parser *p, ms_status status, place at, const char *where, const char *what)
{
    if (p->status != MS_OK)
        return;
    p->status = status;
    p->err_line = at.line;
    p->err_column = at.column;
    p->err_offset = at.offset;
    p->message = where[0] ? ms_asprintf("%s (in %s)", what, where) : ms_strdup(what);
    XML_StopParser(p->xml, XML_FALSE);
}

/* Records the first failure at expat's current position and stops it. */
__attribute__((format(printf, 3, 4))) static void fail(ms_report_agg_parser *p, ms_status status,
                                                       const char *fmt, ...)
{
    if (p->status != MS_OK)
        return;
    char what[400], where[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    element_path(p, where, sizeof where);
    fail_at(p, status, here(p), where, what);
}

/* Every event but character data is one token that expat held whole in
 * memory: a tag, a comment, a processing instruction. Those past the limit
 * are refused here, however the bytes were fed; a token still incomplete
 * is caught after each feed (to_expat), so expat's buffer stays bounded. */
static void note_event(ms_report_agg_parser *p, int is_text)
{
    int64_t at = (int64_t)XML_GetCurrentByteIndex(p->xml);
    int count = XML_GetCurrentByteCount(p->xml);
    if (at >= 0)
        p->event_end = at + count;
    if (!is_text && count > MS_REPORT_TOKEN_MAX)
        fail(p, MS_ERR_LIMIT, "an XML token (tag, comment or processing instruction) is longer "
                              "than %d bytes", MS_REPORT_TOKEN_MAX);
}

/* ---- Storing fields ---------------------------------------------------- */

static void set_meta(ms_report_agg_parser *p, field f, const char *text, size_t len)
{
    free(p->meta_text[f]);
    p->meta_text[f] = NULL;
    if (len > 0 && (p->meta_text[f] = ms_strdup(text)) == NULL)
        fail(p, MS_ERR_NOMEM, "out of memory");
}

/* <error> may occur many times: joined by "; ", at most ERRORS_MAX bytes. */
static void add_error_text(ms_report_agg_parser *p, const char *text, size_t len)
{
    char *old = p->meta_text[F_ERROR];
    size_t old_len = old ? strlen(old) : 0;
    if (len == 0 || old_len + 2 + len > ERRORS_MAX)
        return;
    char *joined = old ? ms_asprintf("%s; %s", old, text) : ms_strdup(text);
    if (joined == NULL) {
        fail(p, MS_ERR_NOMEM, "out of memory");
        return;
    }
    free(old);
    p->meta_text[F_ERROR] = joined;
}

static void set_time(ms_report_agg_parser *p, const char *text, int64_t *out, int *has)
{
    if (text[0] == '\0')
        return; /* empty: reported as missing when the metadata is checked */
    int got = ms_report_parse_unix_time(text, out);
    if (got == 0) {
        fail(p, MS_ERR_INVALID, "'%.60s' is not a Unix time", text);
        return;
    }
    if (got < 0) {
        fail(p, MS_ERR_INVALID, "'%.60s' is after 9999-12-31 (MS_REPORT_TIME_MAX)", text);
        return;
    }
    *has = 1;
}

/* <count>: a number no larger than any receiver can have seen. */
static void set_count(ms_report_agg_parser *p, const char *text)
{
    p->has_count = text != NULL;
    if (text == NULL)
        return;
    int got = ms_report_parse_count(text, &p->rec.count);
    if (got == 0)
        fail(p, MS_ERR_INVALID, "'%.60s' is not a message count", text);
    else if (got < 0)
        fail(p, MS_ERR_INVALID, "the message count '%.60s' is larger than %llu (MS_REPORT_COUNT_MAX)", text,
             (unsigned long long)MS_REPORT_COUNT_MAX);
}

static void set_record_field(ms_report_agg_parser *p, field f, const char *text, size_t len)
{
    const char *s = NULL;
    if (len > 0 && text != p->text) {
        ms_arena_keep(&p->strings, len + 1); /* read into the arena already (start_leaf) */
        s = text;
    } else if (len > 0 && (s = ms_arena_strndup(&p->strings, text, len)) == NULL) {
        fail(p, MS_ERR_NOMEM, "out of memory");
        return;
    }
    ms_report_agg_record *r = &p->rec;
    switch (f) {
    case F_SOURCE_IP: r->source_ip = s; break;
    case F_COUNT: set_count(p, s); break;
    case F_DISPOSITION: r->disposition = s; break;
    case F_EVAL_DKIM: r->dkim = s; break;
    case F_EVAL_SPF: r->spf = s; break;
    case F_REASON_TYPE: if (p->reason) p->reason->type = s; break;
    case F_REASON_COMMENT: if (p->reason) p->reason->comment = s; break;
    case F_ENVELOPE_TO: r->envelope_to = s; break;
    case F_ENVELOPE_FROM: r->envelope_from = s; break;
    case F_HEADER_FROM: r->header_from = s; break;
    case F_AUTH_DOMAIN: if (p->auth) p->auth->domain = s; break;
    case F_AUTH_SELECTOR: if (p->auth) p->auth->selector = s; break;
    case F_AUTH_SCOPE: if (p->auth) p->auth->scope = s; break;
    case F_AUTH_RESULT: if (p->auth) p->auth->result = s; break;
    case F_AUTH_HUMAN: if (p->auth) p->auth->human_result = s; break;
    default: break;
    }
}

/* The text of a field element has been read: tidy it and keep it. */
static void store_field(ms_report_agg_parser *p, field f)
{
    char *text = p->leaf_text;
    size_t len = ms_report_text_tidy(text, p->text_len);
    if (field_is_lowered(f))
        ms_report_ascii_lower(text);
    switch (f) {
    case F_BEGIN: set_time(p, text, &p->begin, &p->has_begin); break;
    case F_END: set_time(p, text, &p->end, &p->has_end); break;
    case F_ERROR: add_error_text(p, text, len); break;
    default:
        if (f < F_META_COUNT)
            set_meta(p, f, text, len);
        else if (p->in_record)
            set_record_field(p, f, text, len);
    }
}

/* ---- Records before the policy: serialised, bounded ------------------- */

static void spill_u64(ms_buf *b, uint64_t v) { ms_buf_append(b, (const char *)&v, sizeof v); }

static void spill_str(ms_buf *b, const char *s)
{
    uint64_t len = s ? strlen(s) : UINT64_MAX;
    spill_u64(b, len);
    if (s != NULL)
        ms_buf_append(b, s, (size_t)len + 1);
}

static void spill_auth(ms_buf *b, const ms_report_agg_auth *a)
{
    spill_str(b, a->domain);
    spill_str(b, a->selector);
    spill_str(b, a->scope);
    spill_str(b, a->result);
    spill_str(b, a->human_result);
}

static void spill_record(ms_report_agg_parser *p, const ms_report_agg_record *r)
{
    ms_buf *b = &p->early;
    spill_u64(b, r->count);
    spill_u64(b, (uint64_t)r->line);
    spill_u64(b, r->reason_count);
    spill_u64(b, r->dkim_count);
    spill_u64(b, r->spf_count);
    spill_str(b, r->source_ip);
    spill_str(b, r->disposition);
    spill_str(b, r->dkim);
    spill_str(b, r->spf);
    spill_str(b, r->envelope_to);
    spill_str(b, r->envelope_from);
    spill_str(b, r->header_from);
    for (size_t i = 0; i < r->reason_count; i++) {
        spill_str(b, r->reasons[i].type);
        spill_str(b, r->reasons[i].comment);
    }
    for (size_t i = 0; i < r->dkim_count; i++)
        spill_auth(b, &r->dkim_results[i]);
    for (size_t i = 0; i < r->spf_count; i++)
        spill_auth(b, &r->spf_results[i]);
    if (b->failed)
        fail(p, MS_ERR_NOMEM, "out of memory");
    else if (b->len > MS_REPORT_EARLY_RECORDS_MAX)
        fail(p, MS_ERR_LIMIT,
             "more than %d bytes of records come before <policy_published>; "
             "records are read only after the report's metadata and policy",
             MS_REPORT_EARLY_RECORDS_MAX);
}

static uint64_t unspill_u64(const char **at)
{
    uint64_t v;
    memcpy(&v, *at, sizeof v);
    *at += sizeof v;
    return v;
}

static const char *unspill_str(const char **at)
{
    uint64_t len = unspill_u64(at);
    if (len == UINT64_MAX)
        return NULL;
    const char *s = *at;
    *at += len + 1;
    return s;
}

static void unspill_auth(const char **at, ms_report_agg_auth *a)
{
    a->domain = unspill_str(at);
    a->selector = unspill_str(at);
    a->scope = unspill_str(at);
    a->result = unspill_str(at);
    a->human_result = unspill_str(at);
}

static void hand_over(ms_report_agg_parser *p, const ms_report_agg_record *r);

/* Clears a record but for its entry arrays: only their first *_count
 * entries are ever read, and each is cleared as it is started
 * (start_entry) or filled whole (replay_early). Clearing the arrays too,
 * three kilobytes a record, cost a tenth of the parse. */
static void record_clear(ms_report_agg_record *r)
{
    r->source_ip = r->disposition = r->dkim = r->spf = NULL;
    r->envelope_to = r->envelope_from = r->header_from = NULL;
    r->count = 0;
    r->reason_count = r->dkim_count = r->spf_count = 0;
    r->line = 0;
}

/* Hands the held-back records over, in document order. */
static void replay_early(ms_report_agg_parser *p)
{
    if (p->early.data == NULL)
        return; /* no record came early */
    const char *at = p->early.data, *end = p->early.data + p->early.len;
    ms_report_agg_record r;
    while (at < end && p->status == MS_OK) {
        record_clear(&r);
        r.count = unspill_u64(&at);
        r.line = (long)unspill_u64(&at);
        r.reason_count = (size_t)unspill_u64(&at);
        r.dkim_count = (size_t)unspill_u64(&at);
        r.spf_count = (size_t)unspill_u64(&at);
        r.source_ip = unspill_str(&at);
        r.disposition = unspill_str(&at);
        r.dkim = unspill_str(&at);
        r.spf = unspill_str(&at);
        r.envelope_to = unspill_str(&at);
        r.envelope_from = unspill_str(&at);
        r.header_from = unspill_str(&at);
        for (size_t i = 0; i < r.reason_count; i++) {
            r.reasons[i].type = unspill_str(&at);
            r.reasons[i].comment = unspill_str(&at);
        }
        for (size_t i = 0; i < r.dkim_count; i++)
            unspill_auth(&at, &r.dkim_results[i]);
        for (size_t i = 0; i < r.spf_count; i++)
            unspill_auth(&at, &r.spf_results[i]);
        hand_over(p, &r);
    }
    ms_buf_free(&p->early);
}

/* ---- The report's beginning and its records --------------------------- */

static void hand_over(ms_report_agg_parser *p, const ms_report_agg_record *r)
{
    if (p->skip_records)
        return;
    if (p->cb.record != NULL && p->cb.record(p->cb.arg, r) != 0) {
        fail(p, MS_ERR_INVALID, "the record at line %ld was refused by the caller", r->line);
        return;
    }
    p->handed++;
}

/* The domain an address or a contact URL names: "dmarc@Example.COM" or
 * "<mailto:dmarc@example.com>" gives "example.com", "https://example.com/dmarc"
 * too; *domain NULL when it names none, MS_ERR_NOMEM when memory ran out. */
static ms_status contact_domain(const char *contact, char **domain)
{
    *domain = NULL;
    const char *start = strrchr(contact, '@');
    const char *scheme = strstr(contact, "://");
    if (start != NULL)
        start++;
    else if (scheme != NULL)
        start = scheme + 3;
    else
        return MS_OK;
    size_t len = strcspn(start, " \t<>/?#:;,\"'");
    if (len == 0)
        return MS_OK;
    if ((*domain = ms_asprintf("%.*s", (int)len, start)) == NULL)
        return MS_ERR_NOMEM;
    ms_report_ascii_lower(*domain);
    return MS_OK;
}

/* An empty (or absent) <org_name>: RFC 7489 types it as a string, which
 * may be empty, and a real report's records are worth more than its
 * label. The report is named after the domain of <email>, or of
 * <extra_contact_info>, and the note says so. */
static void name_unnamed_reporter(ms_report_agg_parser *p)
{
    static const struct {
        field f;
        const char *element;
    } contacts[] = {{F_EMAIL, "<email>"}, {F_EXTRA_CONTACT, "<extra_contact_info>"}};
    for (size_t i = 0; i < sizeof contacts / sizeof contacts[0] && p->meta_text[F_ORG_NAME] == NULL; i++) {
        const char *contact = p->meta_text[contacts[i].f];
        char *domain = NULL;
        if (contact != NULL && contact_domain(contact, &domain) != MS_OK) {
            fail(p, MS_ERR_NOMEM, "out of memory");
            return;
        }
        if (domain == NULL)
            continue;
        char *note = ms_asprintf("<org_name> is empty or missing: the report is named after the domain of %s",
                                 contacts[i].element);
        if (note == NULL) {
            free(domain);
            fail(p, MS_ERR_NOMEM, "out of memory");
            return;
        }
        p->meta_text[F_ORG_NAME] = domain;
        free(p->notes);
        p->notes = note;
    }
}

/* What the metadata and policy lack, said at the element that lacks it. */
static int check_metadata(ms_report_agg_parser *p)
{
    const char *missing = NULL;
    if (p->meta_text[F_ORG_NAME] == NULL)
        missing = "<org_name> (and no <email> to name the reporter by)";
    else if (p->meta_text[F_REPORT_ID] == NULL)
        missing = "<report_id>";
    else if (!p->has_begin)
        missing = "<date_range><begin>";
    else if (!p->has_end)
        missing = "<date_range><end>";
    if (missing != NULL) {
        char what[200];
        snprintf(what, sizeof what, "the report has no %s", missing);
        fail_at(p, MS_ERR_INVALID, p->metadata_end, "<feedback><report_metadata>", what);
        return 0;
    }
    if (p->meta_text[F_DOMAIN] == NULL) {
        fail_at(p, MS_ERR_INVALID, p->policy_end, "<feedback><policy_published>",
                "the report has no <domain>");
        return 0;
    }
    return 1;
}

static void begin_report(ms_report_agg_parser *p)
{
    name_unnamed_reporter(p);
    if (p->status != MS_OK || !check_metadata(p))
        return;
    p->begun = 1;
    const char *const *t = (const char *const *)p->meta_text;
    ms_report_agg_meta meta = {
        .schema = p->dmarc2_ns ? MS_REPORT_AGG_SCHEMA_RFC9990
                  : t[F_VERSION] ? MS_REPORT_AGG_SCHEMA_RFC7489
                                 : MS_REPORT_AGG_SCHEMA_DRAFT,
        .version = t[F_VERSION],
        .org_name = t[F_ORG_NAME],
        .email = t[F_EMAIL],
        .extra_contact_info = t[F_EXTRA_CONTACT],
        .report_id = t[F_REPORT_ID],
        .begin = p->begin,
        .end = p->end,
        .generator = t[F_GENERATOR],
        .errors = t[F_ERROR],
        .domain = t[F_DOMAIN],
        .adkim = t[F_ADKIM],
        .aspf = t[F_ASPF],
        .p = t[F_P],
        .sp = t[F_SP],
        .np = t[F_NP],
        .pct = t[F_PCT],
        .fo = t[F_FO],
        .testing = t[F_TESTING],
        .discovery_method = t[F_DISCOVERY],
        .notes = p->notes,
    };
    int answer = p->cb.report_begin ? p->cb.report_begin(p->cb.arg, &meta) : 0;
    if (answer == MS_REPORT_AGG_SKIP) {
        p->skip_records = 1;
    } else if (answer == MS_REPORT_AGG_STOP) {
        /* as if the report ended here: the rest is not read */
        p->root_closed = 1;
        XML_StopParser(p->xml, XML_FALSE);
        return;
    } else if (answer != 0) {
        fail(p, MS_ERR_INVALID, "the report was refused by the caller");
        return;
    }
    replay_early(p);
}

static void start_record(ms_report_agg_parser *p)
{
    record_clear(&p->rec);
    ms_arena_reset(&p->strings);
    p->rec.line = (long)XML_GetCurrentLineNumber(p->xml);
    p->in_record = 1;
    p->has_count = 0;
    p->record_elements = 0;
    p->auth = NULL;
    p->reason = NULL;
}

static void end_record(ms_report_agg_parser *p)
{
    ms_report_agg_record *r = &p->rec;
    p->in_record = 0;
    if (r->source_ip == NULL) {
        fail(p, MS_ERR_INVALID, "the record at line %ld has no <source_ip>", r->line);
        return;
    }
    if (!ms_report_is_ip_address(r->source_ip)) {
        fail(p, MS_ERR_INVALID, "the record at line %ld: <source_ip> '%.60s' is not an IP address",
             r->line, r->source_ip);
        return;
    }
    if (!p->has_count) {
        fail(p, MS_ERR_INVALID, "the record at line %ld has no <count>", r->line);
        return;
    }
    if (p->begun)
        hand_over(p, r);
    else
        spill_record(p, r);
}

/* A field element begins. A record field's text is read straight into
 * the record's arena when its block has room for the longest text, so it
 * is not copied there at the end; it takes the very bytes a copy would
 * (nothing else is cut from the arena inside a field). Otherwise, and for
 * the metadata, it is read into text. */
static void start_leaf(ms_report_agg_parser *p, field f)
{
    p->leaf = f;
    p->text_len = 0;
    p->leaf_text = NULL;
    if (f >= F_META_COUNT && p->in_record)
        p->leaf_text = ms_arena_tail(&p->strings, MS_REPORT_FIELD_MAX + 1);
    if (p->leaf_text == NULL)
        p->leaf_text = p->text;
}

/* <dkim>, <spf> and <reason> entries: kept up to the limits, the rest
 * dropped; empty ones are not counted. */
static void start_entry(ms_report_agg_parser *p, node kind)
{
    ms_report_agg_record *r = &p->rec;
    if (kind == N_REASON) {
        p->reason = r->reason_count < MS_REPORT_REASON_MAX ? &r->reasons[r->reason_count] : NULL;
        if (p->reason)
            memset(p->reason, 0, sizeof *p->reason);
        return;
    }
    size_t n = kind == N_AUTH_DKIM ? r->dkim_count : r->spf_count;
    ms_report_agg_auth *slots = kind == N_AUTH_DKIM ? r->dkim_results : r->spf_results;
    p->auth = n < MS_REPORT_AUTH_MAX ? &slots[n] : NULL;
    if (p->auth)
        memset(p->auth, 0, sizeof *p->auth);
}

static void end_entry(ms_report_agg_parser *p, node kind)
{
    ms_report_agg_record *r = &p->rec;
    if (kind == N_REASON) {
        if (p->reason && (p->reason->type || p->reason->comment))
            r->reason_count++;
        p->reason = NULL;
        return;
    }
    if (p->auth && (p->auth->domain || p->auth->result)) {
        if (kind == N_AUTH_DKIM)
            r->dkim_count++;
        else
            r->spf_count++;
    }
    p->auth = NULL;
}

/* ---- expat callbacks -------------------------------------------------- */

/* The rule for the child element local of parent; NULL when it is not one
 * we read. */
static const rule *child_rule(node parent, const char *local)
{
    const children *c = &children_of[parent]; /* none for N_IGNORE and N_LEAF */
    for (size_t i = 0; i < c->count; i++) {
        const rule *r = &c->rules[i];
        if (r->name[0] == local[0] && strcmp(r->name, local) == 0)
            return r;
    }
    return NULL;
}

/* An unknown element's name, cut to what messages show. */
static const char *copy_name(char *out, const char *name)
{
    size_t n = strnlen(name, NAME_SHOWN);
    memcpy(out, name, n);
    out[n] = '\0';
    return out;
}

static void check_namespaces(ms_report_agg_parser *p, const XML_Char **atts)
{
    for (size_t i = 0; atts[i] != NULL; i += 2) {
        const char *name = atts[i];
        if (strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':') &&
            strcmp(atts[i + 1], DMARC2_NS) == 0)
            p->dmarc2_ns = 1;
    }
}

static void XMLCALL on_start(void *arg, const XML_Char *name, const XML_Char **atts)
{
    ms_report_agg_parser *p = arg;
    if (p->status != MS_OK)
        return; /* expat may still call after a stop */
    note_event(p, 0);
    if (p->status != MS_OK)
        return;
    const char *colon = strrchr(name, ':');
    const char *local = colon ? colon + 1 : name;
    node parent = p->stack[p->depth];
    if (p->depth >= MS_REPORT_DEPTH_MAX) {
        fail(p, MS_ERR_LIMIT, "elements are nested more than %d deep", MS_REPORT_DEPTH_MAX);
        return;
    }
    p->depth++;
    const rule *r = child_rule(parent, local);
    p->names[p->depth] = r != NULL ? r->name : copy_name(p->unknown_names[p->depth], local);
    if (atts[0] != NULL)
        check_namespaces(p, atts);
    node kind = r != NULL ? r->child : N_IGNORE;
    p->stack[p->depth] = kind;
    if (parent == N_DOCUMENT && kind != N_FEEDBACK) {
        fail(p, MS_ERR_INVALID, "the root element is <%.40s>, not <feedback>", local);
        return;
    }
    if (p->in_record && ++p->record_elements > MS_REPORT_RECORD_ELEMENTS_MAX) {
        fail(p, MS_ERR_LIMIT, "the record at line %ld has more than %d elements", p->rec.line,
             MS_REPORT_RECORD_ELEMENTS_MAX);
        return;
    }
    switch (kind) {
    case N_LEAF: start_leaf(p, r->field); break;
    case N_RECORD: start_record(p); break;
    case N_REASON: case N_AUTH_DKIM: case N_AUTH_SPF: start_entry(p, kind); break;
    default: break;
    }
}

static void XMLCALL on_end(void *arg, const XML_Char *name)
{
    ms_report_agg_parser *p = arg;
    (void)name;
    if (p->status != MS_OK || p->root_closed)
        return;
    note_event(p, 0);
    node kind = p->stack[p->depth];
    switch (kind) {
    case N_LEAF: store_field(p, p->leaf); break;
    case N_RECORD: end_record(p); break;
    case N_REASON: case N_AUTH_DKIM: case N_AUTH_SPF: end_entry(p, kind); break;
    case N_METADATA:
        p->has_metadata = 1;
        p->metadata_end = here(p);
        break;
    case N_POLICY:
        p->has_policy = 1;
        p->policy_end = here(p);
        break;
    default: break;
    }
    if ((kind == N_METADATA || kind == N_POLICY) && p->has_metadata && p->has_policy &&
        !p->begun && p->status == MS_OK)
        begin_report(p);
    if (kind == N_FEEDBACK && p->status == MS_OK) {
        if (!p->begun)
            fail(p, MS_ERR_INVALID, "the report has no %s",
                 !p->has_metadata ? "<report_metadata>" : "<policy_published>");
        p->depth--;
        p->root_closed = 1;
        /* The report is complete: whatever follows the root is not read. */
        XML_StopParser(p->xml, XML_FALSE);
        return;
    }
    p->depth--;
}

static void XMLCALL on_text(void *arg, const XML_Char *s, int len)
{
    ms_report_agg_parser *p = arg;
    if (p->status != MS_OK)
        return;
    note_event(p, 1);
    if (p->stack[p->depth] != N_LEAF)
        return;
    if ((size_t)len > MS_REPORT_FIELD_MAX - p->text_len) {
        fail(p, MS_ERR_LIMIT, "the text is longer than %d bytes", MS_REPORT_FIELD_MAX);
        return;
    }
    memcpy(p->leaf_text + p->text_len, s, (size_t)len);
    p->text_len += (size_t)len;
}

static void XMLCALL on_other(void *arg, const XML_Char *data)
{
    (void)data;
    note_event(arg, 0);
}

static void XMLCALL on_pi(void *arg, const XML_Char *target, const XML_Char *data)
{
    (void)target;
    (void)data;
    note_event(arg, 0);
}

static void XMLCALL on_cdata(void *arg) { note_event(arg, 0); }

static void XMLCALL on_xml_decl(void *arg, const XML_Char *version, const XML_Char *encoding,
                                int standalone)
{
    (void)version;
    (void)encoding;
    (void)standalone;
    note_event(arg, 0);
}

static void XMLCALL on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    fail(arg, MS_ERR_INVALID, "a DOCTYPE declaration is not accepted in a report");
}

static void XMLCALL on_entity_decl(void *arg, const XML_Char *name, int is_param,
                                   const XML_Char *value, int value_len, const XML_Char *base,
                                   const XML_Char *sysid, const XML_Char *pubid,
                                   const XML_Char *notation)
{
    (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid, (void)pubid,
        (void)notation;
    fail(arg, MS_ERR_INVALID, "an entity declaration (%.40s) is not accepted in a report", name);
}

static int XMLCALL on_external_entity(XML_Parser xml, const XML_Char *context,
                                      const XML_Char *base, const XML_Char *sysid,
                                      const XML_Char *pubid)
{
    (void)xml, (void)context, (void)base, (void)sysid, (void)pubid;
    return XML_STATUS_ERROR; /* never fetched */
}

/* ---- Feeding expat ---------------------------------------------------- */

static void expat_failed(ms_report_agg_parser *p)
{
    enum XML_Error code = XML_GetErrorCode(p->xml);
    char where[200];
    element_path(p, where, sizeof where);
    p->status = MS_ERR_INVALID;
    p->err_line = (long)XML_GetCurrentLineNumber(p->xml);
    p->err_column = (long)XML_GetCurrentColumnNumber(p->xml) + 1;
    int64_t at = (int64_t)XML_GetCurrentByteIndex(p->xml);
    p->err_offset = at < 0 ? -1 : at + p->input.dropped_lead;
    const char *what = XML_ErrorString(code);
    if (code == XML_ERROR_NO_ELEMENTS && p->depth > 0)
        what = "the document ends before the report is complete";
    else if (code == XML_ERROR_UNKNOWN_ENCODING || code == XML_ERROR_INCORRECT_ENCODING)
        what = "the declared encoding is not supported";
    p->message = where[0] ? ms_asprintf("XML error: %s (in %s)", what, where)
                          : ms_asprintf("XML error: %s", what);
}

/* The input's sink: the next bytes for expat. */
static void to_expat(void *arg, const void *data, size_t len, int final)
{
    ms_report_agg_parser *p = arg;
    if (p->status != MS_OK || p->root_closed)
        return;
    if (!p->encoding_set) {
        if (p->input.encoding != NULL)
            XML_SetEncoding(p->xml, p->input.encoding);
        p->encoding_set = 1;
    }
    p->fed += (int64_t)len;
    enum XML_Status st = XML_Parse(p->xml, data, (int)len, final);
    if (p->status != MS_OK || p->root_closed)
        return; /* a callback failed, or the report is complete */
    if (st != XML_STATUS_OK) {
        expat_failed(p);
        return;
    }
    if (p->fed - p->event_end > MS_REPORT_TOKEN_MAX)
        fail(p, MS_ERR_LIMIT, "an XML token (tag, comment or processing instruction) is longer "
                              "than %d bytes", MS_REPORT_TOKEN_MAX);
}

/* The input's question: should it stop sending? */
static int expat_stopped(void *arg)
{
    const ms_report_agg_parser *p = arg;
    return p->status != MS_OK || p->root_closed;
}

/* After the input ran: an allocation it failed is ours too. */
static void check_input(ms_report_agg_parser *p)
{
    if (p->input.nomem && p->status == MS_OK) {
        p->status = MS_ERR_NOMEM;
        p->message = ms_strdup("out of memory");
    }
}

/* ---- The public face ------------------------------------------------- */

ms_status ms_report_agg_parser_new(const ms_report_agg_callbacks *cb, ms_report_agg_parser **out)
{
    *out = NULL;
    ms_report_agg_parser *p = calloc(1, sizeof *p);
    if (p == NULL)
        return MS_ERR_NOMEM;
    if (cb != NULL)
        p->cb = *cb;
    p->xml = XML_ParserCreate(NULL);
    if (p->xml == NULL) {
        free(p);
        return MS_ERR_NOMEM;
    }
    XML_SetUserData(p->xml, p);
    XML_SetElementHandler(p->xml, on_start, on_end);
    XML_SetCharacterDataHandler(p->xml, on_text);
    XML_SetCommentHandler(p->xml, on_other);
    XML_SetProcessingInstructionHandler(p->xml, on_pi);
    XML_SetCdataSectionHandler(p->xml, on_cdata, on_cdata);
    XML_SetXmlDeclHandler(p->xml, on_xml_decl);
    XML_SetStartDoctypeDeclHandler(p->xml, on_doctype);
    XML_SetEntityDeclHandler(p->xml, on_entity_decl);
    XML_SetExternalEntityRefHandler(p->xml, on_external_entity);
    XML_SetParamEntityParsing(p->xml, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetUnknownEncodingHandler(p->xml, ms_xml_unknown_encoding, NULL);
#ifdef XML_DTD
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(p->xml, AMPLIFICATION_MAX);
#endif
    ms_xml_input_init(&p->input, to_expat, expat_stopped, p);
    p->stack[0] = N_DOCUMENT;
    p->err_offset = -1;
    *out = p;
    return MS_OK;
}

void ms_report_agg_parser_free(ms_report_agg_parser *p)
{
    if (p == NULL)
        return;
    XML_ParserFree(p->xml);
    for (int f = 0; f < F_META_COUNT; f++)
        free(p->meta_text[f]);
    ms_arena_free(&p->strings);
    free(p->notes);
    ms_buf_free(&p->early);
    ms_xml_input_free(&p->input);
    free(p->message);
    free(p);
}

static ms_status outcome(const ms_report_agg_parser *p, ms_report_error *err)
{
    if (p->status == MS_OK)
        return MS_OK;
    return ms_report_fail(err, p->status, p->err_line, p->err_column, p->err_offset, "%s",
                          p->message ? p->message : "out of memory");
}

ms_status ms_report_agg_parser_feed(ms_report_agg_parser *p, const void *data, size_t len, ms_report_error *err)
{
    if (p->status == MS_OK && !p->root_closed) {
        ms_xml_input_feed(&p->input, data, len);
        check_input(p);
    }
    return outcome(p, err);
}

ms_status ms_report_agg_parser_finish(ms_report_agg_parser *p, ms_report_error *err)
{
    if (p->status == MS_OK && ms_xml_input_is_blank(&p->input)) {
        p->status = MS_ERR_INVALID;
        p->message = ms_strdup("the document is empty");
    }
    if (p->status == MS_OK && !p->root_closed) {
        ms_xml_input_finish(&p->input);
        check_input(p);
    }
    if (p->status == MS_OK && !p->root_closed) {
        /* expat accepted the end, so nothing was ever opened */
        p->status = MS_ERR_INVALID;
        p->message = ms_strdup("the document has no <feedback> element");
    }
    return outcome(p, err);
}

uint64_t ms_report_agg_parser_records(const ms_report_agg_parser *p)
{
    return p->handed;
}
