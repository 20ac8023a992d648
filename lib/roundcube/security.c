/* Which released security fixes an installation lacks.
 *
 * The facts are lines "RELEASE<TAB>CVE ids or -<TAB>summary" (security.tsv,
 * built in; or a file the user gives). A fix counts for installed version V
 * when it was released after V in V's branch (1.6.x for 1.6.5), or in a
 * newer branch without the same fix in a release of V's branch up to V
 * (a branch's fixes are mostly released in every maintained branch at
 * once, under the same words). Fixes of older branches never count.
 *
 * Debian's roundcube-core keeps its upstream version and backports fixes,
 * so for it a fix that counts is taken as applied when the package's
 * changelog (changelog.Debian.gz) names its CVE id or its release
 * ("security fixes from v1.6.14"); a fix with neither is missing when it
 * has a CVE id, and unknown when it has none. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct fix_row {
    ms_rc_version version;
    char *release;  /* as written: "1.6.14", "1.7-rc5" */
    char *cves;     /* "" when none */
    char *summary;
} fix_row;

typedef struct fix_table {
    fix_row *rows;
    size_t count;
} fix_table;

static void table_free(fix_table *t)
{
    for (size_t i = 0; i < t->count; i++) {
        free(t->rows[i].release);
        free(t->rows[i].cves);
        free(t->rows[i].summary);
    }
    free(t->rows);
    t->rows = NULL;
    t->count = 0;
}

/* One data line into the table: 1 added, 0 not a valid line, -1 out of
 * memory. */
static int add_row(fix_table *t, const char *line, size_t len)
{
    const char *tab1 = memchr(line, '\t', len);
    const char *tab2 = tab1 != NULL ? memchr(tab1 + 1, '\t', len - (size_t)(tab1 + 1 - line)) : NULL;
    if (tab2 == NULL || tab1 == line || tab2 == tab1 + 1 || tab2 + 1 == line + len)
        return 0;
    char *release = ms_asprintf("%.*s", (int)(tab1 - line), line);
    if (release == NULL)
        return -1;
    ms_rc_version v;
    if (ms_rc_version_parse(release, &v) != MS_OK) {
        free(release);
        return 0;
    }
    size_t cve_len = (size_t)(tab2 - tab1 - 1);
    int no_cve = cve_len == 1 && tab1[1] == '-';
    fix_row row = {v, release, ms_asprintf("%.*s", no_cve ? 0 : (int)cve_len, tab1 + 1),
                   ms_asprintf("%.*s", (int)(line + len - tab2 - 1), tab2 + 1)};
    fix_row *grown = row.cves != NULL && row.summary != NULL
                         ? realloc(t->rows, (t->count + 1) * sizeof *grown)
                         : NULL;
    if (grown == NULL) {
        free(row.release);
        free(row.cves);
        free(row.summary);
        return -1;
    }
    t->rows = grown;
    t->rows[t->count++] = row;
    return 1;
}

/* Reads the data lines; a line that is not a fix is set aside with a
 * roundcube.security-data-line finding. */
static ms_status load_lines(fix_table *t, const char *const *lines, size_t line_count,
                            const char *file, ms_diag_list *diags)
{
    for (size_t i = 0; i < line_count; i++) {
        const char *line = lines[i];
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' '))
            len--;
        if (len == 0 || line[0] == '#')
            continue;
        if (t->count >= RC_SECURITY_MAX_FIXES)
            return MS_ERR_LIMIT;
        int added = add_row(t, line, len);
        if (added < 0)
            return MS_ERR_NOMEM;
        if (added == 0 &&
            ms_diag_add(diags, &ms_roundcube_diag_defs[RC_SECURITY_DATA], file, -1,
                        "%s:%zu: not RELEASE<TAB>CVE ids or -<TAB>summary; line skipped", file,
                        i + 1) != MS_OK)
            return MS_ERR_NOMEM;
    }
    return MS_OK;
}

static ms_status load_file(fix_table *t, const char *path, ms_diag_list *diags)
{
    char *text = NULL;
    size_t len = 0;
    ms_status st = rc_read_file(path, RC_SECURITY_MAX_BYTES, &text, &len);
    if (st != MS_OK)
        return st;
    /* split in place: each line a string */
    size_t count = 1;
    for (size_t i = 0; i < len; i++)
        count += text[i] == '\n' || text[i] == '\0';
    const char **lines = malloc(count * sizeof *lines);
    if (lines == NULL) {
        free(text);
        return MS_ERR_NOMEM;
    }
    size_t n = 0;
    lines[n++] = text;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' || text[i] == '\0') {
            text[i] = '\0';
            lines[n++] = text + i + 1;
        }
    st = load_lines(t, lines, n, path, diags);
    free(lines);
    free(text);
    return st;
}

static ms_status load_builtin(fix_table *t, ms_diag_list *diags)
{
    size_t n = 0;
    while (rc_security_builtin[n] != NULL)
        n++;
    return load_lines(t, rc_security_builtin, n, "lib/roundcube/security.tsv", diags);
}

/* ---- which fixes count ---- */

static int branch_cmp(const ms_rc_version *a, const ms_rc_version *b)
{
    ms_rc_version x = {a->major, a->minor, 0}, y = {b->major, b->minor, 0};
    return ms_rc_version_cmp(&x, &y);
}

/* The same fix is in a release of V's branch up to V. */
static int in_branch_up_to(const fix_table *t, const fix_row *fix, const ms_rc_version *v)
{
    for (size_t i = 0; i < t->count; i++) {
        const fix_row *r = &t->rows[i];
        if (branch_cmp(&r->version, v) == 0 && ms_rc_version_cmp(&r->version, v) <= 0 &&
            ms_ascii_strcasecmp(r->summary, fix->summary) == 0)
            return 1;
    }
    return 0;
}

/* ---- Debian's changelog ---- */

/* changelog.Debian.gz, uncompressed, into *changelog; it stays NULL when
 * the file cannot be read. */
static ms_status read_debian_changelog(const ms_rc_install *inst, char **changelog)
{
    char *path = rc_path(inst->debian_root, "usr/share/doc/roundcube-core/changelog.Debian.gz");
    if (path == NULL)
        return MS_ERR_NOMEM;
    gzFile gz = gzopen(path, "rb");
    free(path);
    if (gz == NULL)
        return MS_OK;
    ms_buf text = MS_BUF_INIT;
    char chunk[16384];
    int n;
    while ((n = gzread(gz, chunk, sizeof chunk)) > 0 && text.len < RC_CHANGELOG_MAX_BYTES)
        ms_buf_append(&text, chunk, (size_t)n);
    int unreadable = n < 0;
    gzclose(gz);
    ms_status st = text.failed ? MS_ERR_NOMEM : MS_OK;
    if (st == MS_OK && !unreadable && (*changelog = ms_buf_take(&text)) == NULL)
        st = MS_ERR_NOMEM;
    ms_buf_free(&text);
    return st;
}

/* needle occurs in text as a whole token: not followed by a digit or by
 * "." and a digit ("v1.6.1" is not "v1.6.14"). */
static int names_token(const char *text, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        char next = p[n];
        if (!isdigit((unsigned char)next) && !(next == '.' && isdigit((unsigned char)p[n + 1])))
            return 1;
    }
    return 0;
}

static int changelog_names_fix(const char *changelog, const fix_row *fix)
{
    char release[80];
    snprintf(release, sizeof release, "v%s", fix->release);
    if (names_token(changelog, release))
        return 1;
    /* each CVE id of a comma-separated list */
    for (const char *p = fix->cves; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char cve[64];
        if (len > 0 && len < sizeof cve) {
            memcpy(cve, p, len);
            cve[len] = '\0';
            if (names_token(changelog, cve))
                return 1;
        }
        p += len + (comma != NULL);
    }
    return 0;
}

/* Debian: the fix, or the same fix in a release of V's branch, is named. */
static int debian_has(const fix_table *t, const fix_row *fix, const ms_rc_version *v,
                      const char *changelog)
{
    if (changelog == NULL)
        return 0;
    if (changelog_names_fix(changelog, fix))
        return 1;
    for (size_t i = 0; i < t->count; i++) {
        const fix_row *r = &t->rows[i];
        if (r != fix && branch_cmp(&r->version, v) == 0 &&
            ms_ascii_strcasecmp(r->summary, fix->summary) == 0 && changelog_names_fix(changelog, r))
            return 1;
    }
    return 0;
}

/* ---- the result ---- */

static int already_listed(const ms_rc_audit_result *result, const fix_row *fix)
{
    for (size_t i = 0; i < result->fix_count; i++)
        if (ms_ascii_strcasecmp(result->fixes[i].summary, fix->summary) == 0)
            return 1;
    return 0;
}

static ms_status list_fix(ms_rc_audit_result *result, const fix_row *fix, int unknown)
{
    ms_rc_fix *grown = realloc(result->fixes, (result->fix_count + 1) * sizeof *grown);
    if (grown == NULL)
        return MS_ERR_NOMEM;
    result->fixes = grown;
    ms_rc_fix *f = &grown[result->fix_count];
    f->version = ms_strdup(fix->release);
    f->cve = ms_strdup(fix->cves);
    f->summary = ms_strdup(fix->summary);
    f->backport_unknown = unknown;
    if (f->version == NULL || f->cve == NULL || f->summary == NULL) {
        free(f->version);
        free(f->cve);
        free(f->summary);
        return MS_ERR_NOMEM;
    }
    result->fix_count++;
    return MS_OK;
}

/* Pass 0 lists the fixes of V's branch, pass 1 those of newer branches,
 * so a fix released in both is listed under the release to upgrade to
 * within the branch. */
static ms_status collect(const fix_table *t, const ms_rc_install *inst, const char *changelog,
                         ms_rc_audit_result *result)
{
    const ms_rc_version *v = &inst->version;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < t->count; i++) {
            const fix_row *r = &t->rows[i];
            int branch = branch_cmp(&r->version, v);
            if (ms_rc_version_cmp(&r->version, v) <= 0 || branch < 0 || (branch == 0) != (pass == 0))
                continue;
            if (branch > 0 && in_branch_up_to(t, r, v))
                continue;
            if (already_listed(result, r))
                continue;
            int unknown = 0;
            if (inst->is_debian) {
                if (debian_has(t, r, v, changelog))
                    continue;
                unknown = changelog == NULL || r->cves[0] == '\0';
            }
            ms_status st = list_fix(result, r, unknown);
            if (st != MS_OK)
                return st;
        }
    }
    return MS_OK;
}

/* "CVE-a, CVE-b, CVE-c and 4 more" of the fixes of one kind. */
static char *cve_sample(const ms_rc_audit_result *result, int unknown, size_t *with_cve)
{
    ms_buf b = MS_BUF_INIT;
    size_t shown = 0;
    *with_cve = 0;
    for (size_t i = 0; i < result->fix_count; i++) {
        const ms_rc_fix *f = &result->fixes[i];
        if (f->backport_unknown != unknown || f->cve[0] == '\0')
            continue;
        (*with_cve)++;
        if (shown < 5)
            ms_buf_printf(&b, "%s%s", shown++ ? ", " : "", f->cve);
    }
    if (*with_cve > shown)
        ms_buf_printf(&b, " and %zu more", *with_cve - shown);
    if (b.data == NULL)
        ms_buf_puts(&b, "");
    return ms_buf_take(&b);
}

static ms_status report(const ms_rc_install *inst, const ms_rc_audit_result *result,
                        int changelog_read, ms_diag_list *diags)
{
    size_t missing = 0, unknown = 0;
    for (size_t i = 0; i < result->fix_count; i++)
        result->fixes[i].backport_unknown ? unknown++ : missing++;
    ms_status st = MS_OK;
    size_t with_cve;
    if (missing > 0) {
        char *cves = cve_sample(result, 0, &with_cve);
        if (cves == NULL)
            return MS_ERR_NOMEM;
        st = ms_diag_add(diags, &ms_roundcube_diag_defs[RC_SECURITY_FIXES], inst->dir, -1,
                         "%zu security fix%s released after %s %s missing%s%s%s", missing,
                         missing == 1 ? "" : "es", inst->version_string,
                         missing == 1 ? "is" : "are", with_cve ? " (" : "", cves,
                         with_cve ? ")" : "");
        free(cves);
    }
    if (st == MS_OK && unknown > 0)
        st = ms_diag_add(diags, &ms_roundcube_diag_defs[RC_DEBIAN_FIXES_UNKNOWN], inst->dir, -1,
                         changelog_read
                             ? "%zu security fix%s released upstream after %s: the package's "
                               "changelog names neither %s release nor a CVE id"
                             : "%zu security fix%s released upstream after %s: the package's "
                               "changelog (usr/share/doc/roundcube-core/changelog.Debian.gz) "
                               "could not be read%s",
                         unknown, unknown == 1 ? "" : "es", inst->version_string,
                         changelog_read ? "its" : "");
    return st;
}

ms_status rc_check_security(const ms_rc_install *inst, const char *security_file,
                            ms_rc_audit_result *result, ms_diag_list *diags)
{
    fix_table table = {NULL, 0};
    ms_status st = security_file != NULL ? load_file(&table, security_file, diags)
                                         : load_builtin(&table, diags);
    char *changelog = NULL;
    if (st == MS_OK && inst->is_debian)
        st = read_debian_changelog(inst, &changelog);
    if (st == MS_OK)
        st = collect(&table, inst, changelog, result);
    if (st == MS_OK)
        st = report(inst, result, changelog != NULL, diags);
    free(changelog);
    table_free(&table);
    return st;
}
