/* The public face of the validator: profiles, the result, the normal
 * form. parse.c does the parsing. */
#include "email_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

static const char *const profile_names[] = {"smtp", "rfc5322", "html5", "intl"};

int ms_email_profile_parse(const char *name, ms_email_profile *out)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof profile_names / sizeof profile_names[0]; i++) {
        if (strcmp(name, profile_names[i]) == 0) {
            if (out != NULL)
                *out = (ms_email_profile)i;
            return 1;
        }
    }
    return 0;
}

const char *ms_email_profile_name(ms_email_profile profile)
{
    if ((unsigned)profile < sizeof profile_names / sizeof profile_names[0])
        return profile_names[profile];
    return "unknown";
}

const char *ms_email_category_name(ms_email_category category)
{
    switch (category) {
    case MS_EMAIL_CAT_VALID: return "valid";
    case MS_EMAIL_CAT_DNSWARN: return "dnswarn";
    case MS_EMAIL_CAT_RFC5321: return "rfc5321";
    case MS_EMAIL_CAT_CFWS: return "cfws";
    case MS_EMAIL_CAT_DEPREC: return "deprecated";
    case MS_EMAIL_CAT_RFC5322: return "rfc5322";
    case MS_EMAIL_CAT_ERR: return "error";
    }
    return "error";
}

/* A code point NFC leaves alone wherever it stands, by libunistring's
 * Unicode data: canonical combining class 0 (nothing reorders around it),
 * its own NFC (no decomposition, or one that composes back to it: not a
 * singleton, not excluded from composition), and never the second of a
 * composition pair (no neighbour combines with it). The seconds are the
 * combining marks and the Hangul vowel and final jamo; a mark that is
 * never one is refused all the same (it is only normalised: right, only
 * slower). unit-email-nfc checks every code point this takes. */
int em_nfc_stable(unsigned cp)
{
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) /* not characters */
        return 0;
    if (uc_combining_class(cp) != 0 || uc_is_general_category(cp, UC_CATEGORY_M) ||
        (cp >= 0x1161 && cp <= 0x11C2)) /* Hangul jungseong and jongseong */
        return 0;
    ucs4_t pair[UC_DECOMPOSITION_MAX_LENGTH];
    int n = uc_canonical_decomposition(cp, pair);
    return n < 0 || (n == 2 && uc_composition(pair[0], pair[1]) == cp);
}

int em_nfc_quick(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = s[i] < 0x80 ? 1 : em_utf8_decode(s + i, len - i, &cp);
        if (n == 0 || (n > 1 && !em_nfc_stable(cp)))
            return 0;
        i += n;
    }
    return 1;
}

/* RFC 6532 3.1: an address is compared in NFC, and that is its normal
 * form; judge it in that form too. A few canonical singletons become
 * ASCII (U+037E GREEK QUESTION MARK is ";"), so the NFC form can be worse
 * than the input. Only reached for UTF-8 input (profile intl). */
static enum em_diag judge_nfc(const unsigned char *s, size_t len, enum em_diag d, em_parse *p)
{
    if (em_nfc_quick(s, len))
        return d; /* in NFC already: the same parse */
    uint8_t room[1024]; /* an address that fits: no allocation */
    size_t n = sizeof room;
    uint8_t *nfc = u8_normalize(UNINORM_NFC, s, len, room, &n);
    if (nfc == NULL)
        return d;
    em_parse q;
    em_parse_run(nfc, n, 1, &q);
    if (nfc != room)
        free(nfc);
    if (em_diag_infos[q.diag].rank > em_diag_infos[d].rank) {
        p->diag_offset = p->local_start;
        return q.diag;
    }
    return d;
}

/* The result under the profile, from the parse p of s (inline: once per
 * address, a few loads and stores). */
static inline void result_of(const unsigned char *s, size_t len, ms_email_profile profile, em_parse *p,
                      ms_email_result *out)
{
    enum em_diag d = p->diag;
    if (p->has_utf8 && em_diag_infos[d].category < MS_EMAIL_CAT_ERR)
        d = judge_nfc(s, len, d, p);
    ms_email_category cat = (ms_email_category)em_diag_infos[d].category;
    int valid;
    switch (profile) {
    case MS_EMAIL_PROFILE_RFC5322:
        valid = cat < MS_EMAIL_CAT_ERR;
        break;
    case MS_EMAIL_PROFILE_HTML5:
        /* a valid ASCII address is in the WHATWG form, which is wider (the
         * fuzz harness checks it); of the others, only those the quick
         * pass could not rule out need matching */
        valid = d == EM_VALID || (!p->not_html5 && em_html5_match(s, len));
        if (valid && cat == MS_EMAIL_CAT_ERR)
            d = EM_HTML5_ONLY;
        break;
    default:
        valid = cat <= MS_EMAIL_CAT_DNSWARN;
        break;
    }
    out->valid = valid;
    out->category = cat;
    out->diagnosis = ms_email_diag_defs[d].code;
    out->error_offset = p->diag_offset;
    if (cat < MS_EMAIL_CAT_ERR) {
        out->local_start = p->local_start;
        out->local_len = p->local_end - p->local_start;
        out->domain_start = p->domain_start;
        out->domain_len = p->domain_end - p->domain_start;
    } else {
        out->local_start = out->local_len = out->domain_start = out->domain_len = 0;
    }
}

void ms_email_check(const char *addr, size_t len, ms_email_profile profile, ms_email_result *out)
{
    if (addr == NULL) {
        em_check_full(addr, len, profile, out);
        return;
    }
    const unsigned char *s = (const unsigned char *)addr;
    int utf8 = profile == MS_EMAIL_PROFILE_INTL;
    em_parse p;
    if (!em_parse_quick(s, len, utf8, &p))
        em_parse_full(s, len, utf8, &p);
    result_of(s, len, profile, &p, out);
}

void em_check_full(const char *addr, size_t len, ms_email_profile profile, ms_email_result *out)
{
    const unsigned char *s = (const unsigned char *)addr;
    if (addr == NULL)
        len = 0, s = (const unsigned char *)"";
    em_parse p;
    em_parse_full(s, len, profile == MS_EMAIL_PROFILE_INTL, &p);
    result_of(s, len, profile, &p, out);
}

/* The local part without comments and folding white space (outside
 * quoted strings), NFC-normalised when it is not ASCII. */
static char *strip_cfws(const char *s, size_t n, int nfc);

static char *local_form(const char *s, size_t n)
{
    return strip_cfws(s, n, 1);
}

static char *strip_cfws(const char *s, size_t n, int nfc)
{
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    size_t m = 0, depth = 0;
    int quoted = 0, ascii = 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            ascii = 0;
        if (depth > 0) {
            if (c == '\\')
                i++;
            else if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            continue;
        }
        if (quoted) {
            if (c == '\\' && i + 1 < n) {
                buf[m++] = (char)c;
                c = (unsigned char)s[++i];
            } else if (c == '"') {
                quoted = 0;
            } else if (c == '\r' || c == '\n') {
                continue; /* a fold inside quotes is unfolded */
            }
            buf[m++] = (char)c;
            continue;
        }
        if (c == '(') {
            depth = 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '"')
            quoted = 1;
        buf[m++] = (char)c;
    }
    buf[m] = '\0';
    if (ascii || !nfc)
        return buf;
    size_t outlen = 0;
    uint8_t *norm = u8_normalize(UNINORM_NFC, (const uint8_t *)buf, m, NULL, &outlen);
    free(buf);
    if (norm == NULL)
        return NULL;
    char *res = malloc(outlen + 1);
    if (res != NULL) {
        memcpy(res, norm, outlen);
        res[outlen] = '\0';
    }
    free(norm);
    return res;
}

/* The domain without comments and white space. A domain literal's span
 * is the literal itself, where "(" is text: only its white space goes. */
static char *domain_text(const char *s, size_t n)
{
    if (n == 0 || s[0] != '[')
        return strip_cfws(s, n, 0); /* libidn2 does the NFC, as in the check */
    char *buf = malloc(n + 1);
    size_t m = 0;
    if (buf == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) { /* a quoted pair stays whole */
            buf[m++] = s[i++];
            buf[m++] = s[i];
        } else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            buf[m++] = s[i];
        }
    }
    buf[m] = '\0';
    return buf;
}

static ms_status normalize(const char *addr, size_t len, ms_email_profile profile, int unicode,
                           char **out)
{
    if (out == NULL)
        return MS_ERR_INVALID;
    *out = NULL;
    if (addr == NULL)
        return MS_ERR_INVALID;
    ms_email_result r;
    ms_email_check(addr, len, profile, &r);
    /* A NUL can only be in a valid address as an obsolete quoted pair
     * (rfc5322); a C string cannot carry it, so there is no normal form. */
    if (!r.valid || memchr(addr, '\0', len) != NULL)
        return MS_ERR_INVALID;
    if (r.category == MS_EMAIL_CAT_ERR) {
        /* html5-only: the WHATWG form has exactly one "@", no CFWS. */
        const char *at = memchr(addr, '@', len);
        r.local_start = 0;
        r.local_len = (size_t)(at - addr);
        r.domain_start = r.local_len + 1;
        r.domain_len = len - r.domain_start;
    }
    char *local = local_form(addr + r.local_start, r.local_len);
    char *dom = domain_text(addr + r.domain_start, r.domain_len);
    char *conv = NULL;
    if (local == NULL || dom == NULL) {
        free(local);
        free(dom);
        return MS_ERR_NOMEM;
    }
    if (dom[0] == '[') {
        conv = dom; /* address literals stay as written */
        dom = NULL;
    } else {
        conv = unicode ? em_domain_to_unicode(dom, strlen(dom)) : em_domain_to_ascii(dom, strlen(dom));
        if (conv == NULL) {
            /* Not convertible (an A-label libidn2 refuses, valid only
             * under rfc5322 and html5): keep it, in lower case. */
            conv = em_ascii_lower(dom, strlen(dom));
        }
    }
    char *res = conv != NULL ? ms_asprintf("%s@%s", local, conv) : NULL;
    free(local);
    free(dom);
    free(conv);
    if (res == NULL)
        return MS_ERR_NOMEM;
    *out = res;
    return MS_OK;
}

/* ASCII letters of p (n bytes, all ASCII) in lower case, 8 bytes a step:
 * a byte from 'A' to 'Z' is the one whose sum with 0x80 - 'A' reaches
 * 0x80 and whose sum with 0x80 - 'Z' - 1 does not (no sum carries into
 * the next byte: every byte is below 0x80); its 0x20 bit is then set. The
 * change is idempotent, so the last step may go over bytes done. */
static void ascii_lower_in_place(char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            p[i] = (char)(p[i] + (((unsigned)p[i] - (unsigned)'A' < 26u) << 5));
        return;
    }
    for (size_t i = 0;; i += 8) {
        if (i + 8 > n)
            i = n - 8;
        uint64_t x;
        memcpy(&x, p + i, 8);
        uint64_t upper = (x + ones * (0x80 - 'A')) & ~(x + ones * (0x80 - 'Z' - 1)) & highs;
        x |= upper >> 2;
        memcpy(p + i, &x, 8);
        if (i + 8 == n)
            return;
    }
}

/* The normal form of a plain address (dot-atom "@" LDH domain, nothing
 * else, all ASCII, no A-label) is the address with its domain in lower
 * case: what normalize() computes for it, without allocating. Returns 0
 * when r does not describe such an address. */
static int plain_normal_form(const char *addr, size_t len, ms_email_profile profile, const ms_email_result *r,
                             char *buf, size_t cap, size_t *out_len)
{
    if (r->category != MS_EMAIL_CAT_VALID || r->diagnosis != ms_email_diag_defs[EM_VALID].code ||
        r->local_start != 0 || r->domain_start != r->local_len + 1 || r->domain_start + r->domain_len != len ||
        addr[r->local_len] != '@' || len + 1 > cap)
        return 0;
    /* (a NUL is never in a VALID address: neither atext nor LDH; nor,
     * outside profile intl, a byte that is not ASCII) */
    const unsigned char *s = (const unsigned char *)addr;
    unsigned high = 0; /* no early exit: a vector loop */
    for (size_t i = 0; profile == MS_EMAIL_PROFILE_INTL && i < len; i++)
        high |= s[i];
    if ((high & 0x80) || em_has_alabel(s + r->domain_start, r->domain_len))
        return 0;
    memcpy(buf, addr, len);
    ascii_lower_in_place(buf + r->domain_start, r->domain_len);
    buf[len] = '\0';
    *out_len = len;
    return 1;
}

ms_status ms_email_normalize_into(const char *addr, size_t len, ms_email_profile profile, const ms_email_result *r,
                                  char *buf, size_t cap, size_t *out_len)
{
    if (addr == NULL || r == NULL || buf == NULL || out_len == NULL || !r->valid)
        return MS_ERR_INVALID;
    if (plain_normal_form(addr, len, profile, r, buf, cap, out_len))
        return MS_OK;
    char *normal;
    ms_status st = normalize(addr, len, profile, 0, &normal);
    if (st != MS_OK)
        return st;
    *out_len = strlen(normal);
    if (*out_len < cap)
        memcpy(buf, normal, *out_len + 1);
    else
        st = MS_ERR_LIMIT;
    free(normal);
    return st;
}

ms_status ms_email_normalize(const char *addr, size_t len, ms_email_profile profile, char **out)
{
    return normalize(addr, len, profile, 0, out);
}

ms_status ms_email_normalize_unicode(const char *addr, size_t len, ms_email_profile profile,
                                     char **out)
{
    return normalize(addr, len, profile, 1, out);
}
