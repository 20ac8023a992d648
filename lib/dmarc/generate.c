/* Building records and zone-file lines.
 *
 * Tags come in one canonical order: v, p, sp, np, adkim, aspf, pct, t,
 * psd, fo, rua, ruf -- v first (required), p second (RFC 7489 parsers
 * expect it there), the policy modifiers next, then reporting, which holds
 * the long values. A spec that would give a broken record is refused with
 * the reasons; what is built is checked again with ms_dmarc_check_record,
 * so generation and checking cannot disagree. */
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen {
    const char *location;
    ms_diag_list *diags;
    int refused;
    ms_status status;
} gen;

static void refuse(gen *g, enum dmarc_diag_id id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(gen *g, enum dmarc_diag_id id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ms_status st = ms_diag_addv(g->diags, DMARC_DIAG(id), g->location, -1, fmt, ap);
    va_end(ap);
    g->refused = 1;
    if (st != MS_OK && g->status == MS_OK)
        g->status = st;
}

static int policy_ok(ms_dmarc_policy p, int allow_unset)
{
    return (allow_unset && p == MS_DMARC_POLICY_UNSET) || dmarc_policy_rank(p) > 0;
}

static void check_values(gen *g, const ms_dmarc_spec *s)
{
    if (s->p == MS_DMARC_POLICY_UNSET)
        refuse(g, DM_GEN_POLICY, "no policy (p) given");
    else if (!policy_ok(s->p, 0))
        refuse(g, DM_GEN_POLICY, "p has an invalid value (%d)", (int)s->p);
    if (!policy_ok(s->sp, 1))
        refuse(g, DM_GEN_VALUE, "sp has an invalid value (%d)", (int)s->sp);
    if (!policy_ok(s->np, 1))
        refuse(g, DM_GEN_VALUE, "np has an invalid value (%d)", (int)s->np);
    if (s->adkim < MS_DMARC_ALIGN_UNSET || s->adkim > MS_DMARC_ALIGN_STRICT)
        refuse(g, DM_GEN_VALUE, "adkim has an invalid value (%d)", (int)s->adkim);
    if (s->aspf < MS_DMARC_ALIGN_UNSET || s->aspf > MS_DMARC_ALIGN_STRICT)
        refuse(g, DM_GEN_VALUE, "aspf has an invalid value (%d)", (int)s->aspf);
    if (s->psd < MS_DMARC_PSD_UNSET || s->psd > MS_DMARC_PSD_U)
        refuse(g, DM_GEN_VALUE, "psd has an invalid value (%d)", (int)s->psd);
    if (s->pct < -1 || s->pct > 100)
        refuse(g, DM_GEN_VALUE, "pct=%d is outside 0..100", s->pct);
    if (s->testing < -1 || s->testing > 1)
        refuse(g, DM_GEN_VALUE, "t must be y (1), n (0) or left out (-1), not %d", s->testing);
    if (s->fo != NULL && !dmarc_fo_is_valid(s->fo, strlen(s->fo)))
        refuse(g, DM_GEN_VALUE, "fo=%s is not a ':'-separated list of 0, 1, d and s (0 and 1 "
               "not together, none twice)", s->fo);
    if (s->fo != NULL && (s->ruf == NULL || s->ruf[0] == NULL))
        refuse(g, DM_GEN_VALUE, "fo has no effect without ruf; give ruf or leave fo out");
}

/* A destination as it goes into the record: "mailto:" added to a bare
 * address, and "!" and "," percent-encoded since they delimit the size
 * suffix and the list -- except a size suffix at the end ("!10m"), which
 * is kept, as the checker reads it. */
static char *encode_uri(const char *in)
{
    ms_buf b = MS_BUF_INIT;
    const char *colon = strchr(in, ':'), *at = strchr(in, '@');
    const char *size = in + dmarc_uri_without_size(in, strlen(in));
    if (colon == NULL || (at != NULL && at < colon))
        ms_buf_puts(&b, "mailto:");
    for (const char *p = in; *p; p++) {
        if (p == size) {
            ms_buf_puts(&b, size);
            break;
        }
        if (*p == '!')
            ms_buf_puts(&b, "%21");
        else if (*p == ',')
            ms_buf_puts(&b, "%2C");
        else
            ms_buf_append(&b, p, 1);
    }
    return ms_buf_take(&b);
}

/* Checks the destinations of one tag with the checker's own URI parser and
 * appends them to the record. */
static void add_uris(gen *g, ms_buf *rec, const char *tag, const char *const *list)
{
    if (list == NULL || list[0] == NULL)
        return;
    size_t n = 0;
    while (list[n] != NULL)
        n++;
    if (n > MS_DMARC_URIS_HONOURED)
        refuse(g, DM_GEN_URI, "%zu %s destinations given; receivers need only send to two, so "
               "give at most two", n, tag);
    ms_buf_printf(rec, "; %s=", tag);
    for (size_t i = 0; i < n; i++) {
        char *uri = encode_uri(list[i]);
        ms_diag_list found = MS_DIAG_LIST_INIT;
        ms_dmarc_uri *parsed = NULL;
        size_t count = 0;
        ms_status st = uri ? dmarc_parse_uri_list(uri, strlen(uri), 0, tag, NULL, &parsed, &count,
                                                  &found)
                           : MS_ERR_NOMEM;
        if (st != MS_OK && g->status == MS_OK)
            g->status = st;
        for (size_t d = 0; d < found.count; d++)
            if (found.items[d].def->severity != MS_SEV_INFO)
                refuse(g, DM_GEN_URI, "%s destination \"%s\": %s", tag, list[i],
                       found.items[d].message);
        if (st == MS_OK && found.count == 0 && (count != 1 || !parsed[0].is_mailto))
            refuse(g, DM_GEN_URI, "%s destination \"%s\" is not a mailto URI", tag, list[i]);
        if (uri != NULL) {
            ms_buf_puts(rec, i > 0 ? "," : "");
            ms_buf_puts(rec, uri);
        }
        for (size_t u = 0; u < count; u++)
            dmarc_uri_free(&parsed[u]);
        free(parsed);
        free(uri);
        ms_diag_list_free(&found);
    }
}

static const char *align_str(ms_dmarc_align a)
{
    return a == MS_DMARC_ALIGN_STRICT ? "s" : "r";
}

static void build(gen *g, const ms_dmarc_spec *s, ms_buf *rec)
{
    static const char *const psd[] = {"", "y", "n", "u"};
    ms_buf_printf(rec, "v=DMARC1; p=%s", ms_dmarc_policy_str(s->p));
    if (s->sp != MS_DMARC_POLICY_UNSET)
        ms_buf_printf(rec, "; sp=%s", ms_dmarc_policy_str(s->sp));
    if (s->np != MS_DMARC_POLICY_UNSET)
        ms_buf_printf(rec, "; np=%s", ms_dmarc_policy_str(s->np));
    if (s->adkim != MS_DMARC_ALIGN_UNSET)
        ms_buf_printf(rec, "; adkim=%s", align_str(s->adkim));
    if (s->aspf != MS_DMARC_ALIGN_UNSET)
        ms_buf_printf(rec, "; aspf=%s", align_str(s->aspf));
    if (s->pct >= 0)
        ms_buf_printf(rec, "; pct=%d", s->pct);
    if (s->testing >= 0)
        ms_buf_printf(rec, "; t=%s", s->testing ? "y" : "n");
    if (s->psd != MS_DMARC_PSD_UNSET)
        ms_buf_printf(rec, "; psd=%s", psd[s->psd]);
    if (s->fo != NULL) {
        ms_buf_puts(rec, "; fo=");
        for (const char *p = s->fo; *p; p++)
            if (*p != ' ' && *p != '\t') {
                char c = (char)ms_ascii_lower((unsigned char)*p);
                ms_buf_append(rec, &c, 1);
            }
    }
    add_uris(g, rec, "rua", s->rua);
    add_uris(g, rec, "ruf", s->ruf);
}

/* The built record goes through the checker; its warnings are passed on
 * (they follow from what was asked, e.g. pct without t), and an error
 * would mean generator and checker disagree, so the record is withheld. */
static char *recheck(gen *g, char *text)
{
    ms_dmarc_record *parsed = NULL;
    ms_diag_list found = MS_DIAG_LIST_INIT;
    ms_status st = ms_dmarc_check_record(text, strlen(text), NULL, &parsed, &found);
    ms_dmarc_record_free(parsed);
    for (size_t i = 0; st == MS_OK && i < found.count; i++) {
        const ms_diag *d = &found.items[i];
        if (d->def->severity == MS_SEV_ERROR)
            refuse(g, DM_GEN_VALUE, "the record would not check clean: %s", d->message);
        else if (d->def->severity == MS_SEV_WARNING)
            st = ms_diag_add(g->diags, d->def, g->location, d->offset, "%s", d->message);
    }
    ms_diag_list_free(&found);
    if (st != MS_OK && g->status == MS_OK)
        g->status = st;
    if (g->refused || g->status != MS_OK) {
        free(text);
        return NULL;
    }
    return text;
}

ms_status ms_dmarc_generate(const ms_dmarc_spec *spec, char **record, ms_diag_list *diags)
{
    if (spec == NULL || record == NULL || diags == NULL)
        return MS_ERR_INVALID;
    *record = NULL;
    gen g = {NULL, diags, 0, MS_OK};
    char *domain = NULL, *location = NULL;
    if (spec->domain == NULL) {
        refuse(&g, DM_GEN_DOMAIN, "no domain given");
    } else if (ms_domain_normalize(spec->domain, &domain) != MS_OK ||
               !dmarc_is_hostname(domain, strlen(domain), spec->psd == MS_DMARC_PSD_Y ? 1 : 2)) {
        refuse(&g, DM_GEN_DOMAIN, "\"%s\" is not a domain name", spec->domain);
    } else if ((location = ms_asprintf("_dmarc.%s", domain)) == NULL) {
        g.status = MS_ERR_NOMEM;
    }
    g.location = location;
    check_values(&g, spec);

    ms_buf rec = MS_BUF_INIT;
    build(&g, spec, &rec); /* even when refused: it checks the URIs, so all reasons are given */
    char *text = ms_buf_take(&rec);
    if (text == NULL && g.status == MS_OK)
        g.status = MS_ERR_NOMEM;
    if (text != NULL && !g.refused && g.status == MS_OK)
        *record = recheck(&g, text);
    else
        free(text);
    free(domain);
    free(location);
    return g.status;
}

ms_status ms_dmarc_zone_line(const char *domain, const char *record, unsigned ttl, char **line)
{
    if (line == NULL)
        return MS_ERR_INVALID;
    *line = NULL;
    if (domain == NULL || record == NULL)
        return MS_ERR_INVALID;
    return ms_zone_txt_line("_dmarc.", domain, record, ttl, line);
}
