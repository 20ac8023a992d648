/* Domain names as the rest of the library wants them: A-labels, lower
 * case, no trailing dot, lengths checked; and the organizational domain
 * by the Public Suffix List (RFC 7489's method). */
#include "internal.h"

#include <idn2.h>
#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_NAME = 253, MAX_LABEL = 63 };

static int labels_are_valid(const char *name)
{
    size_t total = strlen(name);
    if (total == 0 || total > MAX_NAME)
        return 0;
    const char *label = name;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t len = dot ? (size_t)(dot - label) : strlen(label);
        if (len == 0 || len > MAX_LABEL)
            return 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)label[i];
            if (c <= ' ' || c >= 0x7f)
                return 0;
        }
        if (dot == NULL)
            return 1;
        label = dot + 1;
    }
}

static int label_char_ok(unsigned char c, unsigned flags)
{
    if (!(flags & MS_DOMAIN_LDH))
        return c > ' ' && c < 0x7f && c != '\\';
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           (c == '_' && (flags & MS_DOMAIN_UNDERSCORE));
}

int ms_domain_check(const char *name, size_t len, unsigned flags)
{
    if ((flags & MS_DOMAIN_WILDCARD) && len >= 2 && name[0] == '*' && name[1] == '.') {
        name += 2;
        len -= 2;
    }
    if ((flags & MS_DOMAIN_FINAL_DOT) && len > 0 && name[len - 1] == '.')
        len--;
    if (len == 0 || len > MAX_NAME)
        return 0;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            if (!label_char_ok((unsigned char)name[i], flags))
                return 0;
            continue;
        }
        size_t label = i - start;
        if (label == 0 || label > MAX_LABEL)
            return 0;
        if ((flags & MS_DOMAIN_HOSTNAME) && (name[start] == '-' || name[i - 1] == '-'))
            return 0;
        labels++;
        start = i + 1;
    }
    return labels >= ((flags & MS_DOMAIN_TWO_LABELS) ? 2 : 1);
}

static int is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 0;
    return 1;
}

/* libidn2 turns U-labels into A-labels. Names that are pure ASCII but not
 * host names (the underscore in _dmarc labels) are kept as they are, since
 * the DNS allows them. NULL when the name cannot be converted. */
/* The name in A-labels: MS_ERR_INVALID when IDNA refuses it (its own
 * out-of-memory included), MS_ERR_NOMEM for ours. */
static ms_status to_a_labels(const char *name, char **out)
{
    *out = NULL;
    char *ascii = NULL;
    if (!is_ascii(name)) {
        int rc = idn2_to_ascii_8z(name, &ascii, IDN2_NONTRANSITIONAL);
        if (rc == IDN2_MALLOC)
            return MS_ERR_NOMEM;
        if (rc != IDN2_OK)
            return MS_ERR_INVALID;
    }
    *out = ms_strdup(ascii ? ascii : name);
    idn2_free(ascii);
    return *out ? MS_OK : MS_ERR_NOMEM;
}

ms_status ms_domain_normalize(const char *in, char **out)
{
    *out = NULL;
    if (in == NULL)
        return MS_ERR_INVALID;
    size_t len = strlen(in);
    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0 || len > 1024)
        return MS_ERR_INVALID;
    char *trimmed = strndup(in, len);
    if (trimmed == NULL)
        return MS_ERR_NOMEM;

    char *result;
    ms_status st = to_a_labels(trimmed, &result);
    free(trimmed);
    if (st != MS_OK)
        return st;
    for (char *p = result; *p; p++)
        *p = (char)ms_ascii_lower((unsigned char)*p);
    if (!labels_are_valid(result)) {
        free(result);
        return MS_ERR_INVALID;
    }
    *out = result;
    return MS_OK;
}

size_t ms_domain_label_count(const char *name)
{
    size_t n = 1;
    for (const char *p = name; *p; p++)
        if (*p == '.')
            n++;
    return n;
}

const char *ms_domain_parent_with_labels(const char *name, size_t labels)
{
    size_t have = ms_domain_label_count(name);
    const char *p = name;
    while (have > labels) {
        p = strchr(p, '.') + 1;
        have--;
    }
    return p;
}

int ms_domain_is_within(const char *name, const char *ancestor)
{
    size_t nlen = strlen(name), alen = strlen(ancestor);
    if (nlen == alen)
        return strcmp(name, ancestor) == 0;
    return nlen > alen && name[nlen - alen - 1] == '.' &&
           strcmp(name + nlen - alen, ancestor) == 0;
}

/* The PSL is loaded once per context: psl_latest() reads the newer of the
 * built-in list and Debian's publicsuffix package. */
static const psl_ctx_t *context_psl(ms_ctx *ctx)
{
    if (ctx->psl == NULL)
        ctx->psl = psl_latest(NULL);
    return ctx->psl;
}

void ms_ctx_free_psl(void *psl)
{
    psl_free(psl);
}

ms_status ms_domain_org_psl(ms_ctx *ctx, const char *name, char **out)
{
    *out = NULL;
    const psl_ctx_t *psl = context_psl(ctx);
    if (psl == NULL)
        return MS_ERR_NOMEM;
    const char *registrable = psl_registrable_domain(psl, name);
    /* A public suffix itself has no registrable domain; RFC 7489 then
     * treats the name as its own organizational domain. */
    *out = ms_strdup(registrable ? registrable : name);
    return *out ? MS_OK : MS_ERR_NOMEM;
}
