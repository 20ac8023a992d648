/* MTA-STS (RFC 8461): the policy file, MX pattern matching, and fetching
 * the policy over HTTPS with libcurl under the rules of section 3.3. */
#include "internal.h"

#include "core/http.h"
#include <stdlib.h>
#include <string.h>

enum {
    MTASTS_MAX_POLICY = 64 * 1024, /* RFC 8461 3.3: senders may stop at 64 KiB */
    MTASTS_MAX_AGE_LIMIT = 31557600,
    MTASTS_MIN_SENSIBLE_AGE = 86400,
    MTASTS_MAX_KEY = 32
};

const char *ms_audit_mtasts_mode_str(ms_audit_mtasts_mode mode)
{
    static const char *const NAMES[] = {"", "enforce", "testing", "none"};
    return NAMES[mode];
}

/* ---- the policy file ---- */

typedef struct policy_parse {
    ms_audit_mtasts_policy *policy;
    const char *where;
    ms_diag_list *diags;
    int seen_version, seen_mode, seen_max_age;
    int version_ok;
} policy_parse;

typedef struct line {
    const char *key, *value;
    size_t key_len, value_len;
    size_t offset;   /* of the line in the file */
    unsigned number; /* 1-based */
} line;

static int key_is(const line *l, const char *key)
{
    return l->key_len == strlen(key) && memcmp(l->key, key, l->key_len) == 0;
}

static int value_is(const line *l, const char *value)
{
    return l->value_len == strlen(value) && memcmp(l->value, value, l->value_len) == 0;
}

/* ["*."] sub-domain *("." sub-domain), as RFC 8461 3.2 allows. */
static int is_mx_pattern(const char *s, size_t len)
{
    return ms_domain_check(s, len, MS_DOMAIN_LDH | MS_DOMAIN_WILDCARD);
}

/* A second version/mode/max_age line: warned, the first one stands. */
static ms_status duplicate(policy_parse *p, const line *l)
{
    return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_DUPLICATE), p->where, (long)l->offset,
                       "line %u repeats \"%.*s\"; the first one is used", l->number,
                       (int)l->key_len, l->key);
}

static ms_status field_version(policy_parse *p, const line *l)
{
    if (p->seen_version)
        return duplicate(p, l);
    p->seen_version = 1;
    p->version_ok = value_is(l, "STSv1");
    if (p->version_ok)
        return MS_OK;
    return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_VERSION), p->where, (long)l->offset,
                       "line %u: version \"%.*s\" is not STSv1", l->number,
                       (int)(l->value_len > 40 ? 40 : l->value_len), l->value);
}

static ms_status field_mode(policy_parse *p, const line *l)
{
    static const char *const MODES[] = {"enforce", "testing", "none"};
    if (p->seen_mode)
        return duplicate(p, l);
    p->seen_mode = 1;
    for (int i = 0; i < 3; i++)
        if (value_is(l, MODES[i])) {
            p->policy->mode = (ms_audit_mtasts_mode)(MS_AUDIT_MTASTS_MODE_ENFORCE + i);
            return MS_OK;
        }
    return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MODE), p->where, (long)l->offset,
                       "line %u: mode \"%.*s\" is not enforce, testing or none", l->number,
                       (int)(l->value_len > 40 ? 40 : l->value_len), l->value);
}

static ms_status field_max_age(policy_parse *p, const line *l)
{
    if (p->seen_max_age)
        return duplicate(p, l);
    p->seen_max_age = 1;
    long value = 0;
    int ok = l->value_len >= 1 && l->value_len <= 10;
    for (size_t i = 0; ok && i < l->value_len; i++) {
        ok = l->value[i] >= '0' && l->value[i] <= '9';
        value = value * 10 + (l->value[i] - '0');
    }
    if (ok && value <= MTASTS_MAX_AGE_LIMIT) {
        p->policy->max_age = value;
        return MS_OK;
    }
    return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MAX_AGE), p->where, (long)l->offset,
                       "line %u: max_age \"%.*s\" is not a number of seconds from 0 to %d",
                       l->number, (int)(l->value_len > 40 ? 40 : l->value_len), l->value,
                       MTASTS_MAX_AGE_LIMIT);
}

static ms_status field_mx(policy_parse *p, const line *l)
{
    if (is_mx_pattern(l->value, l->value_len))
        return audit_push(&p->policy->mx, &p->policy->mx_count, l->value, l->value_len);
    return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MX_INVALID), p->where, (long)l->offset,
                       "line %u: mx \"%.*s\" is not a host name or *.domain pattern", l->number,
                       (int)(l->value_len > 80 ? 80 : l->value_len), l->value);
}

static ms_status field(policy_parse *p, const line *l)
{
    if (key_is(l, "version"))
        return field_version(p, l);
    if (key_is(l, "mode"))
        return field_mode(p, l);
    if (key_is(l, "max_age"))
        return field_max_age(p, l);
    if (key_is(l, "mx"))
        return field_mx(p, l);
    return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_UNKNOWN_FIELD), p->where, (long)l->offset,
                       "line %u: field \"%.*s\" is not defined by RFC 8461", l->number,
                       (int)l->key_len, l->key);
}

static int is_key_char(char c, int first)
{
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '_' || c == '-' || c == '.'));
}

/* Splits "key: value" (RFC 8461 3.2: key ":" *WSP value); 0 if malformed. */
static int split_line(const char *text, size_t len, line *l)
{
    size_t colon = 0;
    while (colon < len && text[colon] != ':')
        colon++;
    if (colon == len || colon == 0 || colon > MTASTS_MAX_KEY)
        return 0;
    for (size_t i = 0; i < colon; i++)
        if (!is_key_char(text[i], i == 0))
            return 0;
    size_t v = colon + 1, end = len;
    while (v < end && (text[v] == ' ' || text[v] == '\t'))
        v++;
    while (end > v && (text[end - 1] == ' ' || text[end - 1] == '\t'))
        end--;
    for (size_t i = v; i < end; i++)
        if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
            return 0;
    l->key = text;
    l->key_len = colon;
    l->value = text + v;
    l->value_len = end - v;
    return 1;
}

static ms_status parse_line(policy_parse *p, const char *text, size_t len, size_t offset,
                            unsigned number)
{
    if (len > 0 && text[len - 1] == '\r')
        len--;
    if (len == 0)
        return MS_OK;
    line l = {.offset = offset, .number = number};
    if (!split_line(text, len, &l))
        return ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_LINE), p->where, (long)offset,
                           "line %u is not \"key: value\": \"%.*s\"", number,
                           (int)(len > 60 ? 60 : len), text);
    return field(p, &l);
}

static ms_status check_required(policy_parse *p)
{
    ms_audit_mtasts_policy *pol = p->policy;
    ms_status st = MS_OK;
    if (!p->seen_version)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_VERSION), p->where, -1, "no version line");
    if (st == MS_OK && !p->seen_mode)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MODE), p->where, -1, "no mode line");
    if (st == MS_OK && !p->seen_max_age)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MAX_AGE), p->where, -1, "no max_age line");
    int needs_mx = pol->mode == MS_AUDIT_MTASTS_MODE_ENFORCE || pol->mode == MS_AUDIT_MTASTS_MODE_TESTING;
    if (st == MS_OK && needs_mx && pol->mx_count == 0)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MX_MISSING), p->where, -1,
                         "mode %s but no valid mx line", ms_audit_mtasts_mode_str(pol->mode));
    if (st == MS_OK && pol->max_age >= 0 && pol->max_age < MTASTS_MIN_SENSIBLE_AGE)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MAX_AGE_SHORT), p->where, -1,
                         "max_age is %ld seconds", pol->max_age);
    if (st == MS_OK && pol->mode == MS_AUDIT_MTASTS_MODE_TESTING)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_TESTING), p->where, -1, "mode: testing");
    if (st == MS_OK && pol->mode == MS_AUDIT_MTASTS_MODE_NONE)
        st = ms_diag_add(p->diags, AUDIT_DEF(A_MTASTS_MODE_NONE), p->where, -1, "mode: none");
    pol->usable = p->version_ok && pol->mode != MS_AUDIT_MTASTS_MODE_UNSET && pol->max_age >= 0 &&
                  (!needs_mx || pol->mx_count > 0);
    return st;
}

ms_status ms_audit_mtasts_check_policy(const char *text, size_t len, const char *location,
                                 ms_audit_mtasts_policy **out, ms_diag_list *diags)
{
    ms_audit_mtasts_policy *pol = calloc(1, sizeof *pol);
    if (pol == NULL)
        return MS_ERR_NOMEM;
    pol->max_age = -1;
    *out = pol;
    policy_parse p = {.policy = pol, .where = location, .diags = diags};
    ms_status st = MS_OK;
    size_t start = 0;
    unsigned number = 1;
    for (size_t i = 0; i <= len && st == MS_OK; i++) {
        if (i < len && text[i] != '\n')
            continue;
        st = parse_line(&p, text + start, i - start, start, number++);
        start = i + 1;
    }
    return st == MS_OK ? check_required(&p) : st;
}

void ms_audit_mtasts_policy_free(ms_audit_mtasts_policy *policy)
{
    if (policy == NULL)
        return;
    audit_free_strings(policy->mx, policy->mx_count);
    free(policy);
}

int ms_audit_mtasts_mx_matches(const char *pattern, const char *host)
{
    size_t hlen = strlen(host);
    if (hlen > 0 && host[hlen - 1] == '.')
        hlen--;
    if (pattern[0] == '*' && pattern[1] == '.') {
        /* the wildcard stands for exactly one label */
        const char *dot = memchr(host, '.', hlen);
        if (dot == NULL || dot == host)
            return 0;
        size_t rest = hlen - (size_t)(dot + 1 - host);
        return strlen(pattern + 2) == rest && ms_ascii_strncasecmp(dot + 1, pattern + 2, rest) == 0;
    }
    return strlen(pattern) == hlen && ms_ascii_strncasecmp(pattern, host, hlen) == 0;
}

/* ---- fetching ---- */

/* The handle that fetches url into *body; NULL when out of memory
 * (*connect_to: the caller's to free in any case). */
static CURL *make_handle(ms_ctx *ctx, const char *url, ms_http_body *body,
                         struct curl_slist **connect_to)
{
    CURL *h = curl_easy_init();
    if (h != NULL && ms_http_setup(h, ctx, url, "https", body, connect_to) != MS_OK) {
        curl_easy_cleanup(h);
        h = NULL;
    }
    return h;
}

static int is_text_plain(const char *content_type)
{
    if (content_type == NULL)
        return 0;
    size_t n = strcspn(content_type, "; \t");
    return n == 10 && ms_ascii_strncasecmp(content_type, "text/plain", 10) == 0;
}

static ms_status judge_response(CURL *h, CURLcode rc, const ms_http_body *f, const char *url,
                                ms_diag_list *diags)
{
    if (f->cut)
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_TOO_LARGE), url, -1,
                           "%s is larger than %d bytes", url, MTASTS_MAX_POLICY);
    if (rc != CURLE_OK)
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_FETCH), url, -1, "fetching %s: %s", url,
                           curl_easy_strerror(rc));
    long status = 0;
    char *content_type = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &content_type);
    if (status >= 300 && status < 400)
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_REDIRECT), url, -1,
                           "%s answers %ld (a redirect)", url, status);
    if (status != 200)
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_HTTP_STATUS), url, -1, "%s answers %ld", url,
                           status);
    if (!is_text_plain(content_type))
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_CONTENT_TYPE), url, -1,
                           "%s is served as \"%s\"", url, content_type ? content_type : "(none)");
    return MS_OK;
}

ms_status ms_audit_mtasts_fetch(ms_ctx *ctx, const char *domain, char **body, size_t *len,
                          ms_diag_list *diags)
{
    *body = NULL;
    *len = 0;
    /* Without libcurl the policy cannot be fetched: a finding, as when the
     * server does not answer. */
    if (ms_lazy_load(&ms_curl_lib) != MS_OK)
        return ms_diag_add(diags, AUDIT_DEF(A_MTASTS_FETCH), domain, -1, "fetching the MTA-STS policy of %s: %s",
                           domain, ms_lazy_error(&ms_curl_lib));
    char *url = ms_asprintf("https://mta-sts.%s/.well-known/mta-sts.txt", domain);
    ms_http_body f = {MS_BUF_INIT, MTASTS_MAX_POLICY, 0};
    struct curl_slist *connect_to = NULL;
    /* reference-counted, and thread-safe since libcurl 7.84; audits fetch
     * from several threads at once */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *h = url ? make_handle(ctx, url, &f, &connect_to) : NULL;
    if (h == NULL) {
        curl_slist_free_all(connect_to);
        curl_global_cleanup();
        free(url);
        return MS_ERR_NOMEM;
    }
    CURLcode rc = curl_easy_perform(h);
    size_t before = diags->count;
    /* a body that could not be kept ends the transfer with a write error:
     * memory, not the server */
    ms_status st = f.buf.failed ? MS_ERR_NOMEM : judge_response(h, rc, &f, url, diags);
    if (st == MS_OK && diags->count == before) {
        *len = f.buf.len;
        *body = ms_buf_take(&f.buf);
        if (*body == NULL)
            st = MS_ERR_NOMEM;
    }
    ms_buf_free(&f.buf);
    curl_easy_cleanup(h);
    curl_slist_free_all(connect_to);
    curl_global_cleanup();
    free(url);
    return st;
}
