/* TLS-RPT (RFC 8460 3), BIMI and MTA-STS (RFC 8461 3.1) DNS records: each a
 * tag=value list (lib/core/taglist.c) starting with its version tag. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int starts_with(const char *text, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(text, prefix, n) == 0;
}

static int tag_is(const ms_tag *t, const char *name)
{
    return ms_ascii_ieq(t->name, t->name_len, name);
}

/* The version tag must come first, spelt exactly (RFC 8460 and 8461 use
 * case-sensitive %s strings). */
static int version_first(const char *text, size_t len, const char *version_tag)
{
    if (!starts_with(text, len, version_tag))
        return 0;
    size_t n = strlen(version_tag);
    return len == n || text[n] == ';' || text[n] == ' ' || text[n] == '\t';
}

/* What one kind of record is made of, and its findings. */
typedef struct record_grammar {
    const char *version;       /* the version tag it starts with: "v=TLSRPTv1" */
    const char *const *known;  /* the tags it defines, up to a NULL; NULL: any (extensions) */
    const char *noun;          /* what its grammar calls a tag: "field" (RFC 8460), "tag" */
    const char *defined_by;    /* "by RFC 8460": where the unknown-tag finding sends the reader */
    const ms_diag_def *syntax, *bad_version, *unknown;
} record_grammar;

static int is_known(const record_grammar *g, const ms_tag *t)
{
    for (const char *const *name = g->known; *name != NULL; name++)
        if (tag_is(t, *name))
            return 1;
    return 0;
}

/* What every record here starts with: its tag list, read with its
 * syntax errors and unknown tags reported, and the version tag first
 * (*version_ok). */
static ms_status read_record(const char *text, size_t len, const record_grammar *g,
                             const char *where, ms_taglist *tags, int *version_ok,
                             ms_diag_list *diags)
{
    ms_taglist_parse(text, len, tags);
    ms_status st = MS_OK;
    for (size_t i = 0; i < tags->error_count && st == MS_OK; i++)
        st = ms_diag_add(diags, g->syntax, where, (long)tags->errors[i].offset, "%s at byte %zu",
                         ms_taglist_error_str(tags->errors[i].kind), tags->errors[i].offset);
    *version_ok = version_first(text, len, g->version);
    if (st == MS_OK && !*version_ok)
        st = ms_diag_add(diags, g->bad_version, where, 0, "the record starts \"%.*s\", not \"%s\"",
                         (int)(len < 20 ? len : 20), text, g->version);
    for (size_t i = 0; g->known != NULL && i < tags->count && st == MS_OK; i++) {
        const ms_tag *t = &tags->tags[i];
        if (!is_known(g, t))
            st = ms_diag_add(diags, g->unknown, where, (long)t->name_offset,
                             "%s \"%.*s\" is not defined %s", g->noun,
                             (int)(t->name_len > 40 ? 40 : t->name_len), t->name, g->defined_by);
    }
    return st;
}

static int is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == ':' || c == '[' || c == ']';
}

/* https://HOST[:PORT][/...] with a plausible host. */
static int is_https_uri(const char *s, size_t len)
{
    static const char PREFIX[] = "https://";
    if (len <= sizeof PREFIX - 1 || ms_ascii_strncasecmp(s, PREFIX, sizeof PREFIX - 1) != 0)
        return 0;
    size_t i = sizeof PREFIX - 1, host_start = i;
    while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#') {
        if (!is_host_char(s[i]))
            return 0;
        i++;
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return i > host_start && s[host_start] != '.';
}

/* mailto:LOCAL@DOMAIN with both parts present and no white space. */
static int is_mailto_uri(const char *s, size_t len)
{
    static const char PREFIX[] = "mailto:";
    if (len <= sizeof PREFIX - 1 || ms_ascii_strncasecmp(s, PREFIX, sizeof PREFIX - 1) != 0)
        return 0;
    const char *addr = s + sizeof PREFIX - 1;
    size_t alen = len - (sizeof PREFIX - 1);
    const char *at = memchr(addr, '@', alen);
    if (at == NULL || at == addr || at == addr + alen - 1)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if ((unsigned char)addr[i] <= ' ' || (unsigned char)addr[i] >= 0x7f)
            return 0;
    return 1;
}

/* ---- TLS-RPT ---- */

static ms_status tlsrpt_rua(ms_audit_tlsrpt_record *rec, const ms_tag *t, const char *where,
                            ms_diag_list *diags)
{
    ms_status st = MS_OK;
    size_t start = 0;
    for (size_t i = 0; i <= t->value_len && st == MS_OK; i++) {
        if (i < t->value_len && t->value[i] != ',')
            continue;
        size_t s = start, e = i;
        while (s < e && (t->value[s] == ' ' || t->value[s] == '\t'))
            s++;
        while (e > s && (t->value[e - 1] == ' ' || t->value[e - 1] == '\t'))
            e--;
        const char *uri = t->value + s;
        if (is_mailto_uri(uri, e - s) || is_https_uri(uri, e - s))
            st = audit_push(&rec->rua, &rec->rua_count, uri, e - s);
        else
            st = ms_diag_add(diags, AUDIT_DEF(A_TLSRPT_URI_INVALID), where,
                             (long)(t->value_offset + s), "rua entry \"%.*s\" is not a mailto: or https: URI",
                             (int)(e - s > 80 ? 80 : e - s), uri);
        start = i + 1;
    }
    return st;
}

ms_status ms_audit_tlsrpt_check_record(const char *text, size_t len, const char *location,
                                 ms_audit_tlsrpt_record **out, ms_diag_list *diags)
{
    ms_audit_tlsrpt_record *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return MS_ERR_NOMEM;
    *out = rec;
    static const char *const KNOWN[] = {"v", "rua", NULL};
    static const record_grammar TLSRPT = {"v=TLSRPTv1", KNOWN, "field", "by RFC 8460",
                                          AUDIT_DEF(A_TLSRPT_SYNTAX), AUDIT_DEF(A_TLSRPT_VERSION),
                                          AUDIT_DEF(A_TLSRPT_UNKNOWN_FIELD)};
    ms_taglist tags;
    int version_ok;
    ms_status st = read_record(text, len, &TLSRPT, location, &tags, &version_ok, diags);
    const ms_tag *rua = ms_taglist_find(&tags, "rua");
    if (st == MS_OK && rua != NULL)
        st = tlsrpt_rua(rec, rua, location, diags);
    if (st == MS_OK && rec->rua_count == 0)
        st = ms_diag_add(diags, AUDIT_DEF(A_TLSRPT_RUA_MISSING), location, -1,
                         rua ? "rua holds no valid URI: no TLS reports will be sent"
                             : "no rua field: no TLS reports will be sent");
    rec->usable = version_ok && rec->rua_count > 0;
    return st;
}

void ms_audit_tlsrpt_record_free(ms_audit_tlsrpt_record *rec)
{
    if (rec == NULL)
        return;
    audit_free_strings(rec->rua, rec->rua_count);
    free(rec);
}

/* ---- BIMI ---- */

static int ends_with_svg(const char *s, size_t len)
{
    const char *q = memchr(s, '?', len);
    size_t path_len = q ? (size_t)(q - s) : len;
    return path_len >= 4 && ms_ascii_strncasecmp(s + path_len - 4, ".svg", 4) == 0;
}

static ms_status bimi_url(const ms_tag *t, char **slot, const char *where, ms_diag_list *diags)
{
    if (!is_https_uri(t->value, t->value_len))
        return ms_diag_add(diags, AUDIT_DEF(A_BIMI_NOT_HTTPS), where, (long)t->value_offset,
                           "%.*s=\"%.*s\" is not an https URL", (int)t->name_len, t->name,
                           (int)(t->value_len > 80 ? 80 : t->value_len), t->value);
    *slot = audit_strndup(t->value, t->value_len);
    return *slot ? MS_OK : MS_ERR_NOMEM;
}

static ms_status bimi_location(ms_audit_bimi_record *rec, const ms_tag *l, const char *where,
                               ms_diag_list *diags)
{
    if (l == NULL)
        return ms_diag_add(diags, AUDIT_DEF(A_BIMI_LOCATION_MISSING), where, -1, "no l= tag");
    if (l->value_len == 0) {
        rec->declined = 1;
        return ms_diag_add(diags, AUDIT_DEF(A_BIMI_DECLINED), where, (long)l->name_offset,
                           "l= is empty: the domain declines to show a logo");
    }
    ms_status st = bimi_url(l, &rec->location, where, diags);
    if (st == MS_OK && rec->location != NULL && !ends_with_svg(l->value, l->value_len))
        st = ms_diag_add(diags, AUDIT_DEF(A_BIMI_NOT_SVG), where, (long)l->value_offset,
                         "the logo URL does not name an .svg file");
    return st;
}

ms_status ms_audit_bimi_check_record(const char *text, size_t len, const char *location,
                               ms_audit_bimi_record **out, ms_diag_list *diags)
{
    ms_audit_bimi_record *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return MS_ERR_NOMEM;
    *out = rec;
    static const char *const KNOWN[] = {"v", "l", "a", NULL};
    static const record_grammar BIMI = {"v=BIMI1", KNOWN, "tag", "for BIMI", AUDIT_DEF(A_BIMI_SYNTAX),
                                        AUDIT_DEF(A_BIMI_VERSION), AUDIT_DEF(A_BIMI_UNKNOWN_TAG)};
    ms_taglist tags;
    int version_ok;
    ms_status st = read_record(text, len, &BIMI, location, &tags, &version_ok, diags);
    if (st == MS_OK)
        st = bimi_location(rec, ms_taglist_find(&tags, "l"), location, diags);
    const ms_tag *a = ms_taglist_find(&tags, "a");
    if (st == MS_OK && a != NULL && a->value_len > 0)
        st = bimi_url(a, &rec->authority, location, diags);
    else if (st == MS_OK && rec->location != NULL)
        st = ms_diag_add(diags, AUDIT_DEF(A_BIMI_NO_AUTHORITY), location, -1,
                         "no a= mark certificate");
    rec->usable = version_ok && (rec->declined || rec->location != NULL);
    return st;
}

void ms_audit_bimi_record_free(ms_audit_bimi_record *rec)
{
    if (rec == NULL)
        return;
    free(rec->location);
    free(rec->authority);
    free(rec);
}

/* ---- MTA-STS TXT ---- */

static int is_valid_sts_id(const char *s, size_t len)
{
    if (len == 0 || len > 32)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

ms_status ms_audit_mtasts_check_txt(const char *text, size_t len, const char *location, char **id,
                              ms_diag_list *diags)
{
    *id = NULL;
    /* RFC 8461 3.1: other fields may follow (extensions) */
    static const record_grammar STS = {"v=STSv1", NULL, NULL, NULL, AUDIT_DEF(A_MTASTS_TXT_SYNTAX),
                                       AUDIT_DEF(A_MTASTS_TXT_VERSION), NULL};
    ms_taglist tags;
    int version_ok;
    ms_status st = read_record(text, len, &STS, location, &tags, &version_ok, diags);
    const ms_tag *t = ms_taglist_find(&tags, "id");
    if (st != MS_OK)
        return st;
    if (t == NULL || !is_valid_sts_id(t->value, t->value_len))
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_TXT_ID), location,
                           t ? (long)t->value_offset : -1,
                           t ? "id=\"%.*s\" is not 1 to 32 letters and digits" : "no id= field%.*s",
                           t ? (int)(t->value_len > 40 ? 40 : t->value_len) : 0, t ? t->value : "");
    *id = audit_strndup(t->value, t->value_len);
    return *id ? MS_OK : MS_ERR_NOMEM;
}
