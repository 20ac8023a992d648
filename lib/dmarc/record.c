/* Parsing and checking a DMARC policy record (RFC 9989 section 4.7-4.8,
 * with RFC 7489 where older receivers still differ).
 *
 * The work is done in three passes over the text, so each stays simple:
 *  1. split into tag=value pairs, reporting syntax errors with offsets;
 *  2. check the version and duplicates, then interpret each known tag;
 *  3. look at the tags together (p missing, pct with t, rua missing, ...).
 * The text is never assumed to be NUL-terminated or printable: every
 * access is bounded by len, and values are copied out only once they are
 * known to be printable ASCII. */
#include "internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One tag=value pair as found in the text. */
typedef struct dmarc_tag {
    const char *name;
    size_t name_len;
    long name_off;
    const char *value;
    size_t value_len;
    long value_off;
    size_t segment;  /* 0 for the text before the first ';' */
    int value_ok;    /* the value is non-empty printable ASCII */
    int duplicate;   /* an earlier tag has the same name */
} dmarc_tag;

/* Where a known tag was seen, for the checks that combine tags. */
typedef struct tag_seen {
    const dmarc_tag *tag; /* first occurrence, or NULL */
    int invalid;          /* its value could not be used */
} tag_seen;

enum known_tag {
    T_V, T_P, T_SP, T_NP, T_ADKIM, T_ASPF, T_FO, T_RF, T_RI, T_PCT, T_T, T_PSD, T_RUA, T_RUF,
    T_KNOWN
};

static const char *const known_names[T_KNOWN] = {
    "v", "p", "sp", "np", "adkim", "aspf", "fo", "rf", "ri", "pct", "t", "psd", "rua", "ruf",
};

typedef struct parser {
    const char *text;
    size_t len;
    const char *location;
    ms_diag_list *diags;
    ms_dmarc_record *rec;
    dmarc_tag *tags;
    size_t count, capacity;
    tag_seen seen[T_KNOWN];
    ms_status status; /* the first allocation failure, if any */
} parser;

static void reportv(parser *ps, enum dmarc_diag_id id, long offset, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void report(parser *ps, enum dmarc_diag_id id, long offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void reportv(parser *ps, enum dmarc_diag_id id, long offset, const char *fmt, va_list ap)
{
    ms_status st = ms_diag_addv(ps->diags, DMARC_DIAG(id), ps->location, offset, fmt, ap);
    if (st != MS_OK && ps->status == MS_OK)
        ps->status = st;
}

static void report(parser *ps, enum dmarc_diag_id id, long offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    reportv(ps, id, offset, fmt, ap);
    va_end(ap);
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A short, printable rendering of input bytes for messages: at most 48
 * bytes, others shown as \xHH, "..." when cut. */
typedef struct excerpt {
    char text[256];
} excerpt;

static excerpt show(const char *s, size_t len)
{
    excerpt e;
    size_t n = 0, shown = len > 48 ? 48 : len;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
            e.text[n++] = (char)c;
        else
            n += (size_t)snprintf(e.text + n, sizeof e.text - n, "\\x%02x", c);
    }
    if (shown < len) {
        memcpy(e.text + n, "...", 3);
        n += 3;
    }
    e.text[n] = '\0';
    return e;
}

#define SHOW(s, len) (show((s), (len)).text)

/* ---- pass 1: tag=value pairs ---- */

static void add_tag(parser *ps, const dmarc_tag *tag)
{
    if (ps->status != MS_OK)
        return;
    if (ps->count == ps->capacity) {
        size_t capacity = ps->capacity ? 2 * ps->capacity : 16;
        dmarc_tag *grown = realloc(ps->tags, capacity * sizeof *grown);
        if (grown == NULL) {
            ps->status = MS_ERR_NOMEM;
            return;
        }
        ps->tags = grown;
        ps->capacity = capacity;
    }
    ps->tags[ps->count++] = *tag;
}

/* Where the value has a byte outside %x20-3A / %x3C-7E, or -1. */
static long first_bad_value_byte(const char *value, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c > 0x7e)
            return (long)i;
    }
    return -1;
}

/* One non-empty segment between separators, as lib/core's tokenizer split
 * it: DMARC's names are letters only and its values never empty. */
static void split_segment(parser *ps, const ms_tag_item *item, size_t segment)
{
    const char *t = ps->text;
    size_t a = item->start, b = item->end;
    if (!item->has_equals) {
        report(ps, DM_TAG_MISSING_EQUALS, (long)a, "\"%s\" has no '=' (tag=value expected)",
               SHOW(t + a, b - a));
        return;
    }
    if (item->name_len == 0) {
        report(ps, DM_TAG_NAME_EMPTY, (long)a, "\"%s\" has no tag name before '='",
               SHOW(t + a, b - a));
        return;
    }
    for (size_t i = a; i < a + item->name_len; i++) {
        if (!is_alpha((unsigned char)t[i])) {
            report(ps, DM_TAG_NAME_INVALID, (long)i,
                   "tag name \"%s\" has a character other than a letter at byte %zu",
                   SHOW(item->name, item->name_len), i);
            return;
        }
    }

    dmarc_tag tag = {item->name, item->name_len, (long)item->name_offset, item->value,
                     item->value_len, (long)item->value_offset, segment, 1, 0};
    long bad = first_bad_value_byte(tag.value, tag.value_len);
    if (tag.value_len == 0) {
        report(ps, DM_VALUE_EMPTY, (long)item->equals, "tag \"%s\" has an empty value",
               SHOW(tag.name, tag.name_len));
        tag.value_ok = 0;
    } else if (bad >= 0) {
        report(ps, DM_VALUE_BAD_CHAR, tag.value_off + bad,
               "the value of \"%s\" has byte 0x%02x at byte %ld, which is not printable ASCII",
               SHOW(tag.name, tag.name_len), (unsigned char)tag.value[bad], tag.value_off + bad);
        tag.value_ok = 0;
    }
    add_tag(ps, &tag);
}

/* DMARC's separators take WSP only around them (dmarc-sep = *WSP ";"
 * *WSP); an empty segment is an error except the final one after a
 * trailing ";". */
static void split_tags(parser *ps, size_t start)
{
    size_t pos = start;
    ms_tag_item item;
    for (size_t segment = 0;
         ps->status == MS_OK && ms_tag_next(ps->text, ps->len, 0, &pos, &item); segment++) {
        if (item.start < item.end)
            split_segment(ps, &item, segment);
        else if (item.separator)
            report(ps, DM_EMPTY_TAG, (long)(pos - 1), "empty tag before the ';' at byte %zu",
                   pos - 1);
    }
}

/* ---- pass 2: version, duplicates, and each tag on its own ---- */

static int known_tag(const dmarc_tag *tag)
{
    for (int k = 0; k < T_KNOWN; k++)
        if (ms_ascii_ieq(tag->name, tag->name_len, known_names[k]))
            return k;
    return -1;
}

static void check_version(parser *ps)
{
    const dmarc_tag *first = ps->count > 0 && ps->tags[0].segment == 0 ? &ps->tags[0] : NULL;
    if (first != NULL && ms_ascii_ieq(first->name, first->name_len, "v")) {
        if (first->value_len == 6 && memcmp(first->value, "DMARC1", 6) == 0)
            return;
        ps->rec->usable = 0;
        if (ms_ascii_ieq(first->value, first->value_len, "DMARC1"))
            report(ps, DM_VERSION_INVALID, first->value_off,
                   "v=%s: the value is case-sensitive and must be \"DMARC1\"",
                   SHOW(first->value, first->value_len));
        else if (first->value_len > 6 && memcmp(first->value, "DMARC1", 6) == 0)
            report(ps, DM_VERSION_INVALID, first->value_off,
                   "v=%s: a ';' is missing after \"DMARC1\"",
                   SHOW(first->value, first->value_len));
        else
            report(ps, DM_VERSION_INVALID, first->value_off,
                   "v=%s: the only DMARC version is \"DMARC1\"",
                   SHOW(first->value, first->value_len));
        return;
    }
    ps->rec->usable = 0;
    for (size_t i = 0; i < ps->count; i++) {
        if (ms_ascii_ieq(ps->tags[i].name, ps->tags[i].name_len, "v")) {
            report(ps, DM_VERSION_NOT_FIRST, ps->tags[i].name_off,
                   "v is at byte %ld, but receivers only accept records that start with "
                   "\"v=DMARC1\"", ps->tags[i].name_off);
            return;
        }
    }
    report(ps, DM_VERSION_MISSING, 0, "the record has no v=DMARC1 tag");
}

/* Sorting tags by name (case-insensitively, then by position) finds
 * duplicates in n log n, which matters for 64 KiB of "a=b;a=b;...". */
static int compare_names(const void *pa, const void *pb)
{
    const dmarc_tag *a = *(const dmarc_tag *const *)pa, *b = *(const dmarc_tag *const *)pb;
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    for (size_t i = 0; i < n; i++) {
        int ca = ms_ascii_lower((unsigned char)a->name[i]), cb = ms_ascii_lower((unsigned char)b->name[i]);
        if (ca != cb)
            return ca - cb;
    }
    if (a->name_len != b->name_len)
        return a->name_len < b->name_len ? -1 : 1;
    return a->name_off < b->name_off ? -1 : a->name_off > b->name_off;
}

static int same_name(const dmarc_tag *a, const dmarc_tag *b)
{
    if (a->name_len != b->name_len)
        return 0;
    for (size_t i = 0; i < a->name_len; i++)
        if (ms_ascii_lower((unsigned char)a->name[i]) != ms_ascii_lower((unsigned char)b->name[i]))
            return 0;
    return 1;
}

static void mark_duplicates(parser *ps)
{
    if (ps->count < 2)
        return;
    dmarc_tag **order = malloc(ps->count * sizeof *order);
    if (order == NULL) {
        ps->status = MS_ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < ps->count; i++)
        order[i] = &ps->tags[i];
    qsort(order, ps->count, sizeof *order, compare_names);
    const dmarc_tag *kept = order[0];
    for (size_t i = 1; i < ps->count; i++) {
        dmarc_tag *t = order[i];
        if (!same_name(t, kept)) {
            kept = t;
            continue;
        }
        t->duplicate = 1;
        report(ps, DM_DUPLICATE_TAG, t->name_off,
               "tag \"%s\" at byte %ld repeats the one at byte %ld; only the first is used here",
               SHOW(t->name, t->name_len), t->name_off, kept->name_off);
    }
    free(order);
}

static int parse_policy(const dmarc_tag *tag, ms_dmarc_policy *out)
{
    static const char *const names[] = {"none", "quarantine", "reject"};
    static const ms_dmarc_policy values[] = {MS_DMARC_POLICY_NONE, MS_DMARC_POLICY_QUARANTINE,
                                             MS_DMARC_POLICY_REJECT};
    for (size_t i = 0; i < 3; i++) {
        if (ms_ascii_ieq(tag->value, tag->value_len, names[i])) {
            *out = values[i];
            return 1;
        }
    }
    return 0;
}

/* Index of value among the single-letter choices, or -1. */
static int parse_letter(const dmarc_tag *tag, const char *choices)
{
    if (tag->value_len != 1)
        return -1;
    const char *c = strchr(choices, ms_ascii_lower((unsigned char)tag->value[0]));
    return c != NULL && *c != '\0' ? (int)(c - choices) : -1;
}

/* Digits only, at most max; -1 when not. */
static int64_t parse_number(const dmarc_tag *tag, int64_t max)
{
    int64_t n = 0;
    for (size_t i = 0; i < tag->value_len; i++) {
        char c = tag->value[i];
        if (c < '0' || c > '9')
            return -1;
        n = n * 10 + (c - '0');
        if (n > max)
            return -1;
    }
    return n;
}

static char *copy_value(parser *ps, const dmarc_tag *tag)
{
    char *s = malloc(tag->value_len + 1);
    if (s == NULL) {
        ps->status = MS_ERR_NOMEM;
        return NULL;
    }
    memcpy(s, tag->value, tag->value_len);
    s[tag->value_len] = '\0';
    return s;
}

/* fo: "0" and "1" exclusive, "d" and "s" each at most once, separated by
 * ':' (RFC 7489 allowed white space around the colons, so we do too). */
int dmarc_fo_is_valid(const char *v, size_t len)
{
    int seen[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (;;) {
        while (i < len && ms_is_wsp((unsigned char)v[i]))
            i++;
        const char *kinds = "01ds";
        const char *k = i < len && v[i] != '\0' ? strchr(kinds, ms_ascii_lower((unsigned char)v[i])) : NULL;
        if (k == NULL || seen[k - kinds]++)
            return 0;
        for (i++; i < len && ms_is_wsp((unsigned char)v[i]); i++)
            ;
        if (i == len)
            return !(seen[0] && seen[1]);
        if (v[i] != ':')
            return 0;
        i++;
    }
}

/* rf: colon-separated report format names; afrf is the only one ever
 * registered. */
static int rf_is_valid(const char *v, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && v[i] != ':')
            continue;
        size_t a = start, b = i;
        while (a < b && ms_is_wsp((unsigned char)v[a]))
            a++;
        while (b > a && ms_is_wsp((unsigned char)v[b - 1]))
            b--;
        if (!ms_ascii_ieq(v + a, b - a, "afrf"))
            return 0;
        start = i + 1;
    }
    return 1;
}

/* Tag k's value, which receivers will not use: marked so in seen[] and
 * reported at the value. */
static void invalid_value(parser *ps, int k, enum dmarc_diag_id id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void invalid_value(parser *ps, int k, enum dmarc_diag_id id, const char *fmt, ...)
{
    ps->seen[k].invalid = 1;
    va_list ap;
    va_start(ap, fmt);
    reportv(ps, id, ps->seen[k].tag->value_off, fmt, ap);
    va_end(ap);
}

/* Tag k, which RFC 9989 removed; what it did is in `what`. */
static void removed_tag(parser *ps, enum dmarc_diag_id id, int k, const char *what)
{
    const dmarc_tag *tag = ps->seen[k].tag;
    report(ps, id, tag->name_off, "%s=%s: RFC 9989 removed %s (%s); receivers ignore it",
           known_names[k], SHOW(tag->value, tag->value_len), known_names[k], what);
}

static void interpret_policy(parser *ps, int k, const dmarc_tag *tag, ms_dmarc_policy *field)
{
    if (!parse_policy(tag, field))
        ps->seen[k].invalid = 1; /* reported in pass 3, where rua is known */
}

static void interpret_tag(parser *ps, int k, const dmarc_tag *tag)
{
    ms_dmarc_record *rec = ps->rec;
    const char *v = tag->value;
    size_t n = tag->value_len;
    long off = tag->value_off;
    int i;
    int64_t num;

    switch (k) {
    case T_P: interpret_policy(ps, k, tag, &rec->p); break;
    case T_SP: interpret_policy(ps, k, tag, &rec->sp); break;
    case T_NP: interpret_policy(ps, k, tag, &rec->np); break;
    case T_ADKIM:
    case T_ASPF:
        if ((i = parse_letter(tag, "rs")) < 0)
            invalid_value(ps, k, k == T_ADKIM ? DM_ADKIM_INVALID : DM_ASPF_INVALID,
                          "%s=%s: expected r (relaxed) or s (strict); receivers use relaxed",
                          known_names[k], SHOW(v, n));
        else
            *(k == T_ADKIM ? &rec->adkim : &rec->aspf) =
                i == 0 ? MS_DMARC_ALIGN_RELAXED : MS_DMARC_ALIGN_STRICT;
        break;
    case T_T:
        if ((i = parse_letter(tag, "yn")) < 0)
            invalid_value(ps, k, DM_T_INVALID, "t=%s: expected y or n; receivers use n",
                          SHOW(v, n));
        else
            rec->testing = i == 0;
        break;
    case T_PSD:
        if ((i = parse_letter(tag, "ynu")) < 0)
            invalid_value(ps, k, DM_PSD_INVALID, "psd=%s: expected y, n or u; receivers use u",
                          SHOW(v, n));
        else
            rec->psd = i == 0 ? MS_DMARC_PSD_Y : i == 1 ? MS_DMARC_PSD_N : MS_DMARC_PSD_U;
        break;
    case T_PCT:
        if ((num = parse_number(tag, 100)) < 0)
            invalid_value(ps, k, DM_PCT_INVALID,
                          "pct=%s: expected an integer from 0 to 100; RFC 7489 receivers use 100",
                          SHOW(v, n));
        else
            rec->pct = (int)num;
        break;
    case T_FO:
        if (!dmarc_fo_is_valid(v, n))
            invalid_value(ps, k, DM_FO_INVALID,
                          "fo=%s: expected 0, 1, d or s separated by ':' (0 and 1 not "
                          "together, none twice); receivers use 0", SHOW(v, n));
        else
            rec->fo = copy_value(ps, tag);
        break;
    case T_RF:
        removed_tag(ps, DM_RF_REMOVED, k, "it chose the failure report format; afrf was the "
                                          "default and only format");
        if (!rf_is_valid(v, n))
            invalid_value(ps, k, DM_RF_INVALID, "rf=%s: afrf is the only registered report format",
                          SHOW(v, n));
        else
            rec->rf = copy_value(ps, tag);
        break;
    case T_RI:
        removed_tag(ps, DM_RI_REMOVED, k, "it asked for an aggregate report interval in "
                                          "seconds, default 86400");
        if ((num = parse_number(tag, UINT32_MAX)) < 0 || num > (int64_t)LONG_MAX)
            invalid_value(ps, k, DM_RI_INVALID,
                          "ri=%s: expected a number of seconds (0 to 4294967295)", SHOW(v, n));
        else
            rec->ri = (long)num;
        break;
    case T_RUA:
    case T_RUF: {
        ms_status st = k == T_RUA
            ? dmarc_parse_uri_list(v, n, off, "rua", ps->location, &rec->rua, &rec->rua_count,
                                   ps->diags)
            : dmarc_parse_uri_list(v, n, off, "ruf", ps->location, &rec->ruf, &rec->ruf_count,
                                   ps->diags);
        if (st != MS_OK && ps->status == MS_OK)
            ps->status = st;
        break;
    }
    default:
        break;
    }
}

static void interpret_tags(parser *ps)
{
    for (size_t i = 0; i < ps->count && ps->status == MS_OK; i++) {
        const dmarc_tag *tag = &ps->tags[i];
        if (tag->duplicate)
            continue;
        int k = known_tag(tag);
        if (k < 0) {
            report(ps, DM_UNKNOWN_TAG, tag->name_off, "unknown tag \"%s\" is ignored",
                   SHOW(tag->name, tag->name_len));
            continue;
        }
        ps->seen[k].tag = tag;
        if (!tag->value_ok) {
            ps->seen[k].invalid = 1;
            continue;
        }
        if (k != T_V)
            interpret_tag(ps, k, tag);
    }
}

/* ---- pass 3: the tags together ---- */

static long seen_offset(const parser *ps, int k)
{
    return ps->seen[k].tag ? ps->seen[k].tag->name_off : -1;
}

static const char *const policy_tag_names[] = {"p", "sp", "np"};

/* RFC 9989 section 4.10.1: a missing or invalid p, or an invalid sp or np,
 * makes receivers act as if p=none when rua has a valid URI, and ignore
 * the record otherwise. */
static void check_policy_validity(parser *ps)
{
    ms_dmarc_record *rec = ps->rec;
    int rua_ok = rec->rua_count > 0;
    const char *outcome = rua_ok ? "receivers act as if the record said p=none"
                                 : "with no valid rua, receivers ignore the whole record";
    int fallback = 0;
    static const enum dmarc_diag_id invalid_ids[] = {DM_P_INVALID, DM_SP_INVALID, DM_NP_INVALID};
    static const int keys[] = {T_P, T_SP, T_NP};
    int *invalid_flags[] = {&rec->p_invalid, &rec->sp_invalid, &rec->np_invalid};
    for (int i = 0; i < 3; i++) {
        const tag_seen *s = &ps->seen[keys[i]];
        if (s->tag == NULL || !s->invalid)
            continue;
        fallback = 1;
        *invalid_flags[i] = 1;
        report(ps, invalid_ids[i], s->tag->value_off,
               "%s=%s: expected none, quarantine or reject; %s", policy_tag_names[i],
               s->tag->value_ok ? SHOW(s->tag->value, s->tag->value_len) : "", outcome);
    }
    if (ps->seen[T_P].tag == NULL) {
        fallback = 1;
        if (rua_ok)
            report(ps, DM_P_MISSING, -1, "no p tag; receivers treat the record as p=none");
        else
            report(ps, DM_P_MISSING_NO_RUA, -1,
                   "no p tag and no valid rua; receivers apply no DMARC policy from this record");
    }
    if (fallback) {
        if (rua_ok)
            rec->as_p_none = 1;
        else
            rec->usable = 0;
    }
}

static ms_dmarc_policy effective_sp(const ms_dmarc_record *rec)
{
    return rec->sp != MS_DMARC_POLICY_UNSET ? rec->sp : rec->p;
}

static int enforcing(const ms_dmarc_record *rec)
{
    if (rec->as_p_none)
        return 0;
    return dmarc_policy_rank(rec->p) > 1 || dmarc_policy_rank(rec->sp) > 1 ||
           dmarc_policy_rank(rec->np) > 1;
}

static void check_policies(parser *ps)
{
    const ms_dmarc_record *rec = ps->rec;
    if (rec->as_p_none)
        return;
    if (rec->p == MS_DMARC_POLICY_NONE)
        report(ps, DM_P_NONE, ps->seen[T_P].tag->value_off,
               "p=none: failing mail is delivered normally; the record only asks for reports");
    if (rec->sp != MS_DMARC_POLICY_UNSET && rec->p != MS_DMARC_POLICY_UNSET &&
        dmarc_policy_rank(rec->sp) < dmarc_policy_rank(rec->p))
        report(ps, DM_SP_WEAKER, ps->seen[T_SP].tag->value_off,
               "sp=%s is weaker than p=%s: subdomains are less protected than the domain",
               ms_dmarc_policy_str(rec->sp), ms_dmarc_policy_str(rec->p));
    if (rec->np != MS_DMARC_POLICY_UNSET) {
        report(ps, DM_NP_RFC9989, seen_offset(ps, T_NP),
               "np=%s applies to non-existent subdomains at RFC 9989 receivers; RFC 7489 "
               "receivers apply %s=%s to them instead",
               ms_dmarc_policy_str(rec->np), rec->sp != MS_DMARC_POLICY_UNSET ? "sp" : "p",
               ms_dmarc_policy_str(effective_sp(rec)));
        ms_dmarc_policy sub = effective_sp(rec);
        if (sub != MS_DMARC_POLICY_UNSET && dmarc_policy_rank(rec->np) < dmarc_policy_rank(sub))
            report(ps, DM_NP_WEAKER, ps->seen[T_NP].tag->value_off,
                   "np=%s is weaker than the %s=%s that existing subdomains get",
                   ms_dmarc_policy_str(rec->np), rec->sp != MS_DMARC_POLICY_UNSET ? "sp" : "p",
                   ms_dmarc_policy_str(sub));
    }
}

static void check_testing(parser *ps)
{
    const ms_dmarc_record *rec = ps->rec;
    int enforce = enforcing(rec);
    if (rec->testing == 1) {
        ms_dmarc_policy p = rec->as_p_none ? MS_DMARC_POLICY_NONE : rec->p;
        if (!enforce)
            report(ps, DM_TESTING, ps->seen[T_T].tag->value_off,
                   "t=y has no effect here: every policy in the record is none");
        else
            report(ps, DM_TESTING, ps->seen[T_T].tag->value_off,
                   "t=y: RFC 9989 receivers apply the next weaker policy (p=%s is applied as "
                   "%s); reports are sent as usual",
                   ms_dmarc_policy_str(p), ms_dmarc_policy_str(dmarc_policy_weaker(p)));
        if (enforce && ps->seen[T_PCT].tag == NULL)
            report(ps, DM_T_WITHOUT_PCT, ps->seen[T_T].tag->name_off,
                   "t=y without pct: RFC 7489 receivers do not know t and apply the full "
                   "policy to all failing mail");
    }
}

static void check_pct(parser *ps)
{
    const ms_dmarc_record *rec = ps->rec;
    if (rec->pct < 0)
        return;
    long off = ps->seen[T_PCT].tag->name_off;
    if (!enforcing(rec)) {
        report(ps, DM_PCT_REMOVED, off,
               "pct=%d: RFC 9989 removed pct, and with no quarantine or reject policy it has no "
               "effect at RFC 7489 receivers either", rec->pct);
        return;
    }
    if (rec->pct == 100)
        report(ps, DM_PCT_REMOVED, off,
               "pct=100: RFC 9989 removed pct; 100 was RFC 7489's default (the policy applies "
               "to all failing mail), so the tag can simply go");
    else
        report(ps, DM_PCT_REMOVED, off,
               "pct=%d: RFC 9989 removed pct and its receivers ignore it (t=y is the testing "
               "signal); RFC 7489 receivers apply the policy to %d%% of failing mail and the "
               "next weaker policy (quarantine becomes none, reject becomes quarantine) to the "
               "rest", rec->pct, rec->pct);
    if (rec->pct < 100 && rec->testing < 0 && ps->seen[T_T].tag == NULL)
        report(ps, DM_PCT_WITHOUT_T, off,
               "pct=%d without t=y: RFC 9989 receivers apply the full policy to all failing "
               "mail, not to %d%%", rec->pct, rec->pct);
    else if (rec->pct < 100 && rec->testing == 0)
        report(ps, DM_PCT_T_CONFLICT, off,
               "pct=%d with t=n: RFC 7489 receivers apply the policy to %d%% of failing mail, "
               "RFC 9989 receivers to all of it", rec->pct, rec->pct);
    else if (rec->pct == 100 && rec->testing == 1)
        report(ps, DM_PCT_T_CONFLICT, off,
               "pct=100 with t=y: RFC 7489 receivers apply the full policy, RFC 9989 receivers "
               "the next weaker one");
}

static void check_reporting(parser *ps)
{
    const ms_dmarc_record *rec = ps->rec;
    if (ps->seen[T_RUA].tag == NULL)
        report(ps, DM_RUA_MISSING, -1, "no rua: receivers will send no aggregate reports");
    if (ps->seen[T_RUF].tag != NULL && rec->ruf_count > 0)
        report(ps, DM_RUF_PRESENT, ps->seen[T_RUF].tag->name_off,
               "ruf asks for failure reports; few receivers send them, and they can carry "
               "personal data from the failing messages");
    if (ps->seen[T_FO].tag != NULL && ps->seen[T_RUF].tag == NULL)
        report(ps, DM_FO_WITHOUT_RUF, ps->seen[T_FO].tag->name_off,
               "fo is ignored because the record has no ruf");
    if (rec->psd == MS_DMARC_PSD_Y)
        report(ps, DM_PSD_Y, ps->seen[T_PSD].tag->value_off,
               "psd=y declares a public suffix domain (RFC 9989); for an ordinary domain this "
               "makes every subdomain its own organizational domain");
}

static void check_order(parser *ps)
{
    /* RFC 7489's grammar had p right after v; RFC 9989 lets tags come in any order. */
    if (!ps->rec->usable || ps->seen[T_P].tag == NULL || ps->count < 2)
        return;
    const dmarc_tag *second = &ps->tags[1];
    if (!ms_ascii_ieq(second->name, second->name_len, "p"))
        report(ps, DM_P_NOT_SECOND, ps->seen[T_P].tag->name_off,
               "p is not the second tag; RFC 7489 parsers may expect it right after v=DMARC1");
}

/* ---- entry points ---- */

int dmarc_policy_rank(ms_dmarc_policy p)
{
    switch (p) {
    case MS_DMARC_POLICY_NONE: return 1;
    case MS_DMARC_POLICY_QUARANTINE: return 2;
    case MS_DMARC_POLICY_REJECT: return 3;
    default: return 0;
    }
}

ms_dmarc_policy dmarc_policy_weaker(ms_dmarc_policy p)
{
    switch (p) {
    case MS_DMARC_POLICY_REJECT: return MS_DMARC_POLICY_QUARANTINE;
    case MS_DMARC_POLICY_QUARANTINE: return MS_DMARC_POLICY_NONE;
    default: return p;
    }
}

const char *ms_dmarc_policy_str(ms_dmarc_policy p)
{
    switch (p) {
    case MS_DMARC_POLICY_NONE: return "none";
    case MS_DMARC_POLICY_QUARANTINE: return "quarantine";
    case MS_DMARC_POLICY_REJECT: return "reject";
    default: return "";
    }
}

int ms_dmarc_is_record(const char *text, size_t len)
{
    size_t i = 0;
    if (text == NULL || len < 1 || (text[0] != 'v' && text[0] != 'V'))
        return 0;
    for (i = 1; i < len && ms_is_wsp((unsigned char)text[i]); i++)
        ;
    if (i == len || text[i] != '=')
        return 0;
    for (i++; i < len && ms_is_wsp((unsigned char)text[i]); i++)
        ;
    if (len - i < 6 || memcmp(text + i, "DMARC1", 6) != 0)
        return 0;
    for (i += 6; i < len && ms_is_wsp((unsigned char)text[i]); i++)
        ;
    return i == len || text[i] == ';';
}

void ms_dmarc_record_free(ms_dmarc_record *rec)
{
    if (rec == NULL)
        return;
    for (size_t i = 0; i < rec->rua_count; i++)
        dmarc_uri_free(&rec->rua[i]);
    for (size_t i = 0; i < rec->ruf_count; i++)
        dmarc_uri_free(&rec->ruf[i]);
    free(rec->rua);
    free(rec->ruf);
    free(rec->fo);
    free(rec->rf);
    free(rec);
}

static ms_dmarc_record *record_new(void)
{
    ms_dmarc_record *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return NULL;
    rec->usable = 1;
    rec->pct = -1;
    rec->testing = -1;
    rec->ri = -1;
    return rec;
}

/* "v=spf1" at the start (after any white space): a record published at
 * the wrong name, or the wrong record type at _dmarc. */
static int looks_like_spf(const char *text, size_t len)
{
    return len >= 6 && ms_ascii_ieq(text, 6, "v=spf1") && (len == 6 || ms_is_wsp((unsigned char)text[6]));
}

static void check_text(parser *ps)
{
    size_t lead = 0;
    while (lead < ps->len && ms_is_wsp((unsigned char)ps->text[lead]))
        lead++;
    if (lead == ps->len) {
        ps->rec->usable = 0;
        report(ps, DM_EMPTY, -1, ps->len ? "the record is only white space" : "the record is empty");
        return;
    }
    if (looks_like_spf(ps->text + lead, ps->len - lead)) {
        ps->rec->usable = 0;
        report(ps, DM_SPF_RECORD, (long)lead,
               "the record starts with \"v=spf1\": this is an SPF record, not a DMARC record");
        return;
    }
    if (lead > 0) {
        ps->rec->usable = 0;
        report(ps, DM_LEADING_SPACE, 0,
               "%zu byte(s) of white space before the first tag; receivers will not recognise "
               "the record", lead);
    }
    split_tags(ps, lead);
    if (ps->status != MS_OK)
        return;
    check_version(ps);
    mark_duplicates(ps);
    interpret_tags(ps);
    if (ps->status != MS_OK)
        return;
    check_policy_validity(ps);
    check_policies(ps);
    check_testing(ps);
    check_pct(ps);
    check_reporting(ps);
    check_order(ps);
}

ms_status ms_dmarc_check_record(const char *text, size_t len, const char *domain,
                                ms_dmarc_record **out, ms_diag_list *diags)
{
    if (out == NULL || diags == NULL || (text == NULL && len > 0))
        return MS_ERR_INVALID;
    *out = NULL;
    ms_dmarc_record *rec = record_new();
    char *location = NULL;
    if (domain != NULL) {
        size_t dlen = strlen(domain);
        if (dlen > 0 && domain[dlen - 1] == '.')
            dlen--;
        location = ms_asprintf("_dmarc.%.*s", (int)dlen, domain);
    }
    if (rec == NULL || (domain != NULL && location == NULL)) {
        ms_dmarc_record_free(rec);
        free(location);
        return MS_ERR_NOMEM;
    }
    parser ps = {text ? text : "", len, location, diags, rec, NULL, 0, 0, {{NULL, 0}}, MS_OK};
    check_text(&ps);
    free(ps.tags);
    free(location);
    if (ps.status != MS_OK) {
        ms_dmarc_record_free(rec);
        return ps.status;
    }
    *out = rec;
    return MS_OK;
}
