/* `mailsec roundcube audit`: the checks of one installation's files and
 * configuration, then (security.c) the fixes it lacks and (web.c) what the
 * running site answers. Each check appends roundcube.* findings; a check
 * that cannot look (a file it cannot read) says so and the others go on. */
#include "internal.h"
#include "core/lazy_sqlite.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The des_key of config.inc.php.sample and defaults.inc.php. */
static const char DEFAULT_DES_KEY[] = "rcmail-!24ByteDESkey*Str";
enum { DES_KEY_LENGTH = 24 };

typedef struct audit {
    const ms_rc_install *inst;
    ms_rc_config main;     /* empty when not read */
    ms_rc_config db;       /* the database settings' own file, when there is one */
    int main_read;
    ms_rc_audit_result *result;
    ms_diag_list *diags;
} audit;

static const ms_diag_def *def(enum rc_diag which)
{
    return &ms_roundcube_diag_defs[which];
}

/* A finding about a setting, located "FILE:LINE". */
static ms_status at_setting(audit *a, enum rc_diag which, const ms_rc_config *cfg,
                            const ms_rc_setting *set, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static ms_status at_setting(audit *a, enum rc_diag which, const ms_rc_config *cfg,
                            const ms_rc_setting *set, const char *fmt, ...)
{
    char *where = ms_asprintf("%s:%zu", cfg->file, set->line);
    if (where == NULL)
        return MS_ERR_NOMEM;
    va_list ap;
    va_start(ap, fmt);
    ms_status st = ms_diag_addv(a->diags, def(which), where, -1, fmt, ap);
    va_end(ap);
    free(where);
    return st;
}

/* The assignment in force: the main file's, else the database file's
 * (the main file includes it first, so its own settings win). */
static const ms_rc_setting *lookup(const audit *a, const char *key, const ms_rc_config **from)
{
    const ms_rc_setting *set = ms_rc_config_get(&a->main, key);
    *from = &a->main;
    if (set == NULL) {
        set = ms_rc_config_get(&a->db, key);
        *from = &a->db;
    }
    return set;
}

/* PHP's truth of a literal; 0 for what is not a literal. */
static int is_true(const ms_rc_setting *set)
{
    switch (set->type) {
    case MS_RC_BOOL:
    case MS_RC_INT:
        return set->number != 0;
    case MS_RC_STRING:
        return set->value_len > 0 && !(set->value_len == 1 && set->value[0] == '0');
    default:
        return 0;
    }
}

/* ---- the configuration files ---- */

static ms_status read_config(audit *a, const char *path, ms_rc_config *cfg, int *read)
{
    ms_status st = ms_rc_config_read(path, cfg);
    if (st == MS_OK) {
        *read = 1;
        return MS_OK;
    }
    if (st == MS_ERR_NOMEM)
        return st;
    return ms_diag_add(a->diags, def(RC_CONFIG_UNREADABLE), path, -1, "%s: %s", path,
                       st == MS_ERR_LIMIT ? "larger than 1 MiB" : "cannot be read");
}

static ms_status read_configs(audit *a)
{
    const char *main = a->inst->main_config;
    if (main == NULL)
        return ms_diag_add(a->diags, def(RC_NO_CONFIG), a->inst->config_dir, -1,
                           "%s holds neither config.inc.php nor main.inc.php",
                           a->inst->config_dir);
    a->result->main_config = ms_strdup(main);
    if (a->result->main_config == NULL)
        return MS_ERR_NOMEM;
    ms_status st = read_config(a, main, &a->main, &a->main_read);
    int db_read = 0;
    if (st == MS_OK && a->inst->db_config != NULL)
        st = read_config(a, a->inst->db_config, &a->db, &db_read);
    return st;
}

/* Files that hold the database password or des_key, readable by others. */
static ms_status check_permissions(audit *a)
{
    char *debian_db = NULL;
    if (a->inst->is_debian && (debian_db = rc_path(a->inst->config_dir, "debian-db.php")) == NULL)
        return MS_ERR_NOMEM;
    const char *files[] = {a->inst->main_config, a->inst->db_config, debian_db};
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < sizeof files / sizeof files[0]; i++) {
        struct stat sb;
        if (files[i] == NULL || stat(files[i], &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (sb.st_mode & S_IROTH)
            st = ms_diag_add(a->diags, def(RC_CONFIG_READABLE), files[i], -1,
                             "%s: mode %04o lets every local user read it", files[i],
                             (unsigned)(sb.st_mode & 07777));
    }
    free(debian_db);
    return st;
}

/* The installer where the web server can reach it. Debian's package keeps
 * one in /usr/share/roundcube/installer that no web root links to: only
 * one linked into /var/lib/roundcube counts there. */
static ms_status check_installer(audit *a)
{
    static const char *const debian_places[] = {"var/lib/roundcube/installer",
                                                "var/lib/roundcube/public_html/installer",
                                                "var/lib/roundcube/public_html/installer.php"};
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < (a->inst->is_debian ? 3 : 1); i++) {
        char *place = a->inst->is_debian ? rc_path(a->inst->debian_root, debian_places[i])
                                         : rc_path(a->inst->code_dir, "installer");
        if (place == NULL)
            return MS_ERR_NOMEM;
        if (rc_exists(place))
            st = ms_diag_add(a->diags, def(RC_INSTALLER_PRESENT), place, -1,
                             "%s is still there", place);
        free(place);
    }
    const ms_rc_config *from;
    const ms_rc_setting *set = lookup(a, "enable_installer", &from);
    if (st == MS_OK && set != NULL && is_true(set))
        st = at_setting(a, RC_INSTALLER_ENABLED, from, set, "enable_installer is %s",
                        set->type == MS_RC_BOOL ? "true" : set->value);
    return st;
}

static ms_status check_des_key(audit *a)
{
    const ms_rc_config *from;
    const ms_rc_setting *set = lookup(a, "des_key", &from);
    if (set == NULL)
        return ms_diag_add(a->diags, def(RC_DES_KEY_DEFAULT), a->main.file, -1,
                           "%s: des_key is not set, so the default of defaults.inc.php (\"%s\") "
                           "is used",
                           a->main.file, DEFAULT_DES_KEY);
    if (set->type != MS_RC_STRING)
        return MS_OK; /* computed: its value is not in the file */
    if (set->value_len == strlen(DEFAULT_DES_KEY) && memcmp(set->value, DEFAULT_DES_KEY, set->value_len) == 0)
        return at_setting(a, RC_DES_KEY_DEFAULT, from, set, "des_key is the sample's \"%s\"",
                          DEFAULT_DES_KEY);
    if (set->value_len < DES_KEY_LENGTH)
        return at_setting(a, RC_DES_KEY_SHORT, from, set,
                          "des_key has %zu characters; Roundcube expects %d", set->value_len,
                          DES_KEY_LENGTH);
    return MS_OK;
}

static ms_status check_debug(audit *a)
{
    static const char *const debug_keys[] = {"imap_debug",     "smtp_debug",  "ldap_debug",
                                             "sql_debug",      "memcache_debug", "apc_debug",
                                             "redis_debug",    "session_debug"};
    const ms_rc_config *from;
    ms_status st = MS_OK;
    const ms_rc_setting *level = lookup(a, "debug_level", &from);
    /* debug_level is a bit mask: 1 log, 4 show the errors to the browser */
    if (level != NULL && level->type == MS_RC_INT && (level->number & 4))
        st = at_setting(a, RC_DISPLAY_ERRORS, from, level,
                        "debug_level is %lld: errors are shown to visitors", level->number);
    for (size_t i = 0; st == MS_OK && i < sizeof debug_keys / sizeof debug_keys[0]; i++) {
        const ms_rc_setting *set = lookup(a, debug_keys[i], &from);
        if (set != NULL && is_true(set))
            st = at_setting(a, RC_DEBUG, from, set, "%s is on", debug_keys[i]);
    }
    return st;
}

/* ---- TLS options ---- */

/* The array text without white space, lower-cased, double quotes made
 * single: "'verify_peer' => FALSE" becomes "'verify_peer'=>false". */
static char *squeeze(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (isspace(c))
            continue;
        out[n++] = c == '"' ? '\'' : (char)tolower(c);
    }
    out[n] = '\0';
    return out;
}

static ms_status check_tls_options(audit *a)
{
    static const char *const keys[] = {"imap_conn_options", "smtp_conn_options",
                                       "managesieve_conn_options", "ldap_conn_options"};
    static const char *const weakening[] = {"'verify_peer'=>false", "'verify_peer'=>0",
                                            "'verify_peer_name'=>false", "'verify_peer_name'=>0",
                                            "'allow_self_signed'=>true", "'allow_self_signed'=>1"};
    ms_status st = MS_OK;
    for (size_t k = 0; st == MS_OK && k < sizeof keys / sizeof keys[0]; k++) {
        const ms_rc_config *from;
        const ms_rc_setting *set = lookup(a, keys[k], &from);
        if (set == NULL || set->type != MS_RC_ARRAY)
            continue;
        char *text = squeeze(set->value, set->value_len);
        if (text == NULL)
            return MS_ERR_NOMEM;
        for (size_t w = 0; st == MS_OK && w < sizeof weakening / sizeof weakening[0]; w++)
            if (strstr(text, weakening[w]) != NULL) {
                st = at_setting(a, RC_TLS_VERIFY_OFF, from, set, "%s sets %s", keys[k],
                                weakening[w]);
                break;
            }
        free(text);
    }
    return st;
}

/* ---- the web root ---- */

static ms_status check_web_root(audit *a, const char *web_root_opt)
{
    const char *web_root = web_root_opt != NULL          ? web_root_opt
                           : a->inst->public_html != NULL ? a->inst->public_html
                                                          : a->inst->dir;
    char *root = realpath(web_root, NULL);
    char *install = realpath(a->inst->is_debian ? a->inst->code_dir : a->inst->dir, NULL);
    ms_status st = MS_OK;
    ms_rc_version with_public_html = {1, 4, 0};
    if (root != NULL && install != NULL && strcmp(root, install) == 0 && !a->inst->is_debian &&
        ms_rc_version_cmp(&a->inst->version, &with_public_html) >= 0)
        st = ms_diag_add(a->diags, def(RC_NO_PUBLIC_HTML), web_root, -1,
                         "the web root is the installation directory %s, not its public_html/",
                         web_root);
    static const char *const private_items[] = {"config", "logs", "temp", ".git",
                                                "composer.json", "composer.lock"};
    for (size_t i = 0; st == MS_OK && root != NULL && i < sizeof private_items / sizeof private_items[0]; i++) {
        char *item = rc_path(root, private_items[i]);
        if (item == NULL) {
            st = MS_ERR_NOMEM;
            break;
        }
        if (rc_exists(item))
            st = ms_diag_add(a->diags, def(RC_EXPOSED_DIR), item, -1,
                             "%s is inside the web root %s", private_items[i], web_root);
        free(item);
    }
    free(root);
    free(install);
    return st;
}

/* ---- the database schema ---- */

/* The newest migration of SQL/<driver>/ (the greatest NNNNNNNNNN.sql)
 * into *version; it stays NULL when there is none or the folder cannot
 * be read. */
static ms_status code_schema_version(const ms_rc_install *inst, const char *driver, char **version)
{
    char *sql = ms_asprintf("%s/SQL/%s", inst->code_dir, driver);
    if (sql == NULL)
        return MS_ERR_NOMEM;
    DIR *d = opendir(sql);
    free(sql);
    if (d == NULL)
        return MS_OK;
    char best[32] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || n > 24 || strcmp(e->d_name + n - 4, ".sql") != 0)
            continue;
        size_t digits = strspn(e->d_name, "0123456789");
        if (digits != n - 4)
            continue;
        if (digits > strlen(best) || (digits == strlen(best) && strncmp(e->d_name, best, digits) > 0))
            snprintf(best, sizeof best, "%.*s", (int)digits, e->d_name);
    }
    closedir(d);
    if (best[0] == '\0')
        return MS_OK;
    *version = ms_strdup(best);
    return *version != NULL ? MS_OK : MS_ERR_NOMEM;
}

/* The file of "sqlite:////var/lib/rc/db.sqlite?mode=0640" (a relative path
 * is the installation directory's, as Roundcube runs there) into *path;
 * it stays NULL when the DSN names no file. */
static ms_status sqlite_path(const ms_rc_install *inst, const char *dsn, char **path)
{
    const char *p = dsn + strlen("sqlite:///");
    size_t len = strcspn(p, "?");
    if (len == 0)
        return MS_OK;
    *path = p[0] == '/' ? ms_asprintf("%.*s", (int)len, p)
                        : ms_asprintf("%s/%.*s", inst->dir, (int)len, p);
    return *path != NULL ? MS_OK : MS_ERR_NOMEM;
}

/* The database's roundcube-version into *version; it stays NULL when the
 * database or the row cannot be read. */
static ms_status database_schema_version(const char *path, const char *prefix, char **version)
{
    sqlite3 *db = NULL;
    ms_status st = MS_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        char *sql = sqlite3_mprintf("SELECT value FROM \"%w\" WHERE name = 'roundcube-version'",
                                    prefix);
        sqlite3_stmt *stmt = NULL;
        if (sql != NULL && sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
            sqlite3_step(stmt) == SQLITE_ROW) {
            const unsigned char *v = sqlite3_column_text(stmt, 0);
            if (v != NULL && strlen((const char *)v) < 32 &&
                (*version = ms_strdup((const char *)v)) == NULL)
                st = MS_ERR_NOMEM;
        }
        sqlite3_finalize(stmt);
        sqlite3_free(sql);
    }
    sqlite3_close(db);
    return st;
}

/* Schema versions are dates with two more digits: compare as numbers. */
static int schema_cmp(const char *a, const char *b)
{
    size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
    if (la != lb)
        return la < lb ? -1 : 1;
    return strncmp(a, b, la);
}

static ms_status check_schema(audit *a)
{
    const ms_rc_config *from;
    const ms_rc_setting *dsn = lookup(a, "db_dsnw", &from);
    if (dsn == NULL || dsn->type != MS_RC_STRING || strncmp(dsn->value, "sqlite:///", 10) != 0) {
        if (dsn == NULL)
            return ms_diag_add(a->diags, def(RC_SCHEMA_UNKNOWN), a->main.file, -1,
                               "%s: db_dsnw is not set", a->main.file);
        return at_setting(a, RC_SCHEMA_UNKNOWN, from, dsn, "%s",
                          dsn->type != MS_RC_STRING
                              ? "db_dsnw is computed, not written as a string"
                              : "db_dsnw is not a SQLite database (only SQLite is opened)");
    }
    const ms_rc_config *dsn_from = from;
    const ms_rc_setting *prefix_set = lookup(a, "db_prefix", &from);
    char *table = ms_asprintf("%ssystem", prefix_set != NULL && prefix_set->type == MS_RC_STRING
                                              ? prefix_set->value
                                              : "");
    char *path = NULL;
    ms_status st = table != NULL ? sqlite_path(a->inst, dsn->value, &path) : MS_ERR_NOMEM;
    if (st != MS_OK || path == NULL) {
        if (st == MS_OK)
            st = at_setting(a, RC_SCHEMA_UNKNOWN, dsn_from, dsn, "db_dsnw names no file");
        free(table);
        return st;
    }
    st = code_schema_version(a->inst, "sqlite", &a->result->code_schema_version);
    if (st == MS_OK)
        st = database_schema_version(path, table, &a->result->schema_version);
    const char *code = a->result->code_schema_version, *db = a->result->schema_version;
    if (st == MS_OK && db == NULL)
        st = at_setting(a, RC_SCHEMA_UNKNOWN, dsn_from, dsn,
                        "%s: no roundcube-version row in table %s could be read", path, table);
    else if (st == MS_OK && code != NULL && schema_cmp(db, code) < 0)
        st = at_setting(a, RC_SCHEMA_BEHIND, dsn_from, dsn,
                        "the database %s has schema %s, the code's SQL/sqlite/ goes to %s", path,
                        db, code);
    free(table);
    free(path);
    return st;
}

/* ---- the audit ---- */

static ms_status check_files(audit *a, const ms_rc_audit_opts *opts)
{
    ms_status st = check_installer(a);
    if (st == MS_OK)
        st = check_permissions(a);
    if (st == MS_OK && a->main_read)
        st = check_des_key(a);
    if (st == MS_OK && a->main_read)
        st = check_debug(a);
    if (st == MS_OK && a->main_read)
        st = check_tls_options(a);
    if (st == MS_OK)
        st = check_web_root(a, opts->web_root);
    if (st == MS_OK && a->main_read)
        st = check_schema(a);
    return st;
}

ms_status ms_rc_audit(ms_ctx *ctx, const char *dir, const ms_rc_audit_opts *opts,
                      ms_rc_audit_result *result, ms_diag_list *diags)
{
    if (ctx == NULL || dir == NULL || result == NULL || diags == NULL)
        return MS_ERR_INVALID;
    memset(result, 0, sizeof *result);
    ms_rc_audit_opts none = {NULL, NULL, NULL};
    if (opts == NULL)
        opts = &none;
    ms_rc_install *inst = NULL;
    ms_status st = ms_rc_install_open(dir, &inst);
    if (st == MS_ERR_IO) {
        result->error = ms_asprintf("%s is not a Roundcube installation", dir);
        if (result->error == NULL)
            return MS_ERR_NOMEM;
        st = ms_diag_add(diags, def(RC_NOT_INSTALLATION), dir, -1,
                         "%s: no program/include/iniset.php with RCMAIL_VERSION, and not "
                         "Debian's roundcube-core",
                         dir);
        return st == MS_OK ? MS_ERR_IO : st;
    }
    if (st != MS_OK)
        return st;
    result->version = ms_strdup(inst->version_string);
    result->is_debian = inst->is_debian;
    audit a = {inst, {NULL, NULL, 0}, {NULL, NULL, 0}, 0, result, diags};
    st = result->version != NULL ? MS_OK : MS_ERR_NOMEM;
    if (st == MS_OK)
        st = ms_diag_add(diags, def(RC_VERSION), dir, -1, "Roundcube %s%s", inst->version_string,
                         inst->is_debian ? " (Debian's roundcube-core)" : "");
    if (st == MS_OK)
        st = rc_check_security(inst, opts->security_file, result, diags);
    if (st == MS_OK)
        st = read_configs(&a);
    if (st == MS_OK)
        st = check_files(&a, opts);
    if (st == MS_OK && opts->url != NULL)
        st = rc_check_url(ctx, opts->url, result, diags);
    ms_rc_config_free(&a.main);
    ms_rc_config_free(&a.db);
    ms_rc_install_free(inst);
    return st;
}

void ms_rc_audit_result_free(ms_rc_audit_result *result)
{
    if (result == NULL)
        return;
    free(result->version);
    free(result->main_config);
    free(result->schema_version);
    free(result->code_schema_version);
    for (size_t i = 0; i < result->fix_count; i++) {
        free(result->fixes[i].version);
        free(result->fixes[i].cve);
        free(result->fixes[i].summary);
    }
    free(result->fixes);
    free(result->login_version);
    free(result->error);
    memset(result, 0, sizeof *result);
}
