/* `mailsec roundcube upgrade` and `rollback`.
 *
 * The plan: which files the new installation has (the release's, and the
 * installation's own: configuration, added plugins and skins, other local
 * files; docs/roundcube.md lists the rules), which options the release
 * renamed or dropped, which schema migrations the database needs.
 *
 * The upgrade, in steps written to the backup's journal: the backup (the
 * tree as an archive, the database through its own tools), the new tree
 * built complete beside the installation (.NAME.mailsec-new), then
 * switched in with one renameat2(RENAME_EXCHANGE), so a kill leaves either
 * the old tree or the new one in place, never a mix; then the
 * migrations, one file at a time. A re-run continues where a kill
 * stopped: the code is then already the release's and only the
 * migrations the schema lacks are left. `rollback` unpacks the archive
 * beside the installation, switches it in the same way, and loads the
 * database back. */
#define _GNU_SOURCE
#include "core/grow.h"
#include "roundcube/upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MANIFEST_MAX_BYTES = 64 * 1024, RCMAIL_INSTALL_MAX_BYTES = 1 << 20 };

static const char MANIFEST[] = "manifest", FILES_ARCHIVE[] = "files.tar";

/* What the private part of a plan holds. */
typedef struct plan_priv {
    rc_tree result;
    char *unpacked; /* the folder a tarball was unpacked in, removed with the plan */
    int lock;       /* held from the plan to its end: one upgrade or rollback at a time */
    rc_dsn dsn;
    int has_db;
} plan_priv;

/* ---- lists ---- */

static ms_status list_add(ms_rc_list *l, char *item)
{
    if (!item)
        return MS_ERR_NOMEM;
    char **items = ms_grow(l->items, l->count, &l->cap, sizeof *items, 16);
    if (!items) {
        free(item);
        return MS_ERR_NOMEM;
    }
    l->items = items;
    l->items[l->count++] = item;
    return MS_OK;
}

static void list_free(ms_rc_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- which files the new installation has ---- */

/* The first component of path into top (at most size bytes). */
static void first_component(const char *path, char *top, size_t size)
{
    size_t len = strcspn(path, "/");
    if (len >= size)
        len = size - 1;
    memcpy(top, path, len);
    top[len] = '\0';
}

/* The top two components ("plugins/NAME") of a path under plugins/ or
 * skins/, or NULL (allocated). */
static char *addon_of(const char *path)
{
    if (strncmp(path, "plugins/", 8) && strncmp(path, "skins/", 6))
        return NULL;
    const char *name = strchr(path, '/') + 1;
    if (!*name)
        return NULL;
    size_t len = (size_t)(name - path) + strcspn(name, "/");
    return ms_asprintf("%.*s", (int)len, path);
}

/* The installation's own files inside folders the release owns: local
 * configuration a release never carries. */
static int is_local_file(const char *path)
{
    static const char *const local[] = {"composer.json", ".htaccess", ".user.ini", "public_html/.htaccess",
                                        "public_html/.user.ini"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (!strcmp(path, local[i]))
            return 1;
    /* plugins/NAME/config.inc.php: a plugin's own configuration */
    if (!strncmp(path, "plugins/", 8)) {
        const char *slash = strchr(path + 8, '/');
        return slash && !strcmp(slash, "/config.inc.php");
    }
    return 0;
}

/* Folders whose content is the installation's and the release's together,
 * the release's files winning: the configuration (config.inc.php is never
 * in a release), logs, temporary files, and the plugin and skin folders
 * themselves (each plugin or skin in them is one unit). */
static int is_merged_folder(const char *top)
{
    static const char *const merged[] = {"", "config", "logs", "temp", "plugins", "skins"};
    for (size_t i = 0; i < sizeof merged / sizeof merged[0]; i++)
        if (!strcmp(top, merged[i]))
            return 1;
    return 0;
}

/* Whether the installation's entry at path stays in the new installation. */
static int install_keeps(const char *path, const rc_tree *release, int keep_installer)
{
    char top[256];
    first_component(path, top, sizeof top);
    if (is_local_file(path))
        return 1;
    if (!strcmp(top, "installer"))
        return keep_installer && !rc_tree_find(release, "installer");
    if (strcmp(top, path) == 0 && is_merged_folder(top))
        return 1;
    char *addon = addon_of(path);
    if (addon) {
        /* a plugin or skin of the release is the release's; one it lacks is kept */
        int kept = !rc_tree_find(release, addon);
        free(addon);
        return kept;
    }
    if (!strcmp(top, "config") || !strcmp(top, "logs") || !strcmp(top, "temp"))
        return 1;
    /* what the release has at the top is the release's; the rest is local */
    return !rc_tree_find(release, top);
}

static int release_brings(const char *path, int keep_installer)
{
    char top[256];
    first_component(path, top, sizeof top);
    return keep_installer || strcmp(top, "installer") != 0;
}

static ms_status result_tree(const rc_tree *release, const rc_tree *install, int keep_installer, rc_tree *out)
{
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < install->count; i++) {
        rc_entry e = install->items[i];
        if (install_keeps(e.path, release, keep_installer)) {
            e.source = RC_FROM_INSTALL;
            st = rc_tree_add(out, &e);
        }
    }
    rc_tree_sort(out);
    size_t kept = out->count;
    for (size_t i = 0; st == MS_OK && i < release->count; i++) {
        rc_entry e = release->items[i];
        const rc_entry *have = NULL;
        for (size_t lo = 0, hi = kept; lo < hi;) { /* among the kept entries only */
            size_t mid = (lo + hi) / 2;
            int c = strcmp(out->items[mid].path, e.path);
            if (c == 0) {
                have = &out->items[mid];
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (!release_brings(e.path, keep_installer))
            continue;
        if (have && (is_local_file(e.path) || S_ISDIR(have->mode)))
            continue; /* the local file stays; a folder both have is the installation's */
        if (have) {
            /* a merged folder's file: the release's wins */
            rc_entry *mine = (rc_entry *)have;
            mine->mode = e.mode;
            mine->size = e.size;
            mine->source = RC_FROM_RELEASE;
            continue;
        }
        e.source = RC_FROM_RELEASE;
        st = rc_tree_add(out, &e);
    }
    rc_tree_sort(out);
    return st;
}

/* added / replaced / removed / kept, from the two trees and the result. */
static ms_status plan_files(ms_rc_plan *plan, const rc_tree *release, const rc_tree *install,
                            const rc_tree *result)
{
    ms_status st = MS_OK;
    for (size_t i = 0; st == MS_OK && i < result->count; i++) {
        const rc_entry *e = &result->items[i];
        const rc_entry *old = rc_tree_find(install, e->path);
        if (S_ISDIR(e->mode) || e->source != RC_FROM_RELEASE)
            continue;
        if (!old)
            st = list_add(&plan->added, ms_strdup(e->path));
        else if (rc_entry_differs(plan->release_dir, rc_tree_find(release, e->path), plan->dir, old))
            st = list_add(&plan->replaced, ms_strdup(e->path));
    }
    for (size_t i = 0; st == MS_OK && i < install->count; i++) {
        const rc_entry *e = &install->items[i];
        const rc_entry *now = rc_tree_find(result, e->path);
        if (!now && !S_ISDIR(e->mode))
            st = list_add(&plan->removed, ms_strdup(e->path));
        else if (now && now->source == RC_FROM_INSTALL && e->path[0]) {
            /* kept, named once: a plugin or skin as a whole, a top-level entry,
             * a configuration file */
            char *addon = addon_of(e->path);
            int unit = is_local_file(e->path) ||
                       (addon ? !strcmp(addon, e->path)
                              : (!strchr(e->path, '/') && !is_merged_folder(e->path)) ||
                                    (!strncmp(e->path, "config/", 7) && !S_ISDIR(e->mode)));
            free(addon);
            if (unit)
                st = list_add(&plan->kept, ms_asprintf("%s%s", e->path, S_ISDIR(e->mode) ? "/" : ""));
        }
    }
    return st;
}

/* ---- configuration options ---- */

/* The quoted strings of the PHP array assigned to `public $NAME = [...]`
 * in text, in order (a map gives key, value, key, value...). */
static ms_status php_array_strings(const char *text, const char *name, ms_rc_list *out)
{
    char *needle = ms_asprintf("$%s", name);
    if (!needle)
        return MS_ERR_NOMEM;
    const char *p = strstr(text, needle);
    free(needle);
    if (!p)
        return MS_OK;
    p += strcspn(p, "[(");
    if (!*p)
        return MS_OK;
    char close = *p == '[' ? ']' : ')';
    ms_status st = MS_OK;
    for (p++; st == MS_OK && *p && *p != close; p++) {
        if (*p != '\'' && *p != '"')
            continue;
        char quote = *p++;
        size_t len = strcspn(p, quote == '\'' ? "'" : "\"");
        if (!p[len])
            break;
        st = list_add(out, ms_asprintf("%.*s", (int)len, p));
        p += len;
    }
    return st;
}

static int list_has(const ms_rc_list *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (!strcmp(l->items[i], s))
            return 1;
    return 0;
}

static char *option_note(const char *key, const ms_rc_config *local)
{
    const ms_rc_setting *set = local ? ms_rc_config_get(local, key) : NULL;
    if (!set)
        return ms_strdup(key);
    const char *file = strrchr(local->file, '/') ? strrchr(local->file, '/') + 1 : local->file;
    return ms_asprintf("%s (set in %s:%zu)", key, file, set->line);
}

static ms_status plan_options(ms_rc_plan *plan, const ms_rc_install *inst)
{
    char *old_path = rc_path(plan->dir, "config/defaults.inc.php");
    char *new_path = rc_path(plan->release_dir, "config/defaults.inc.php");
    char *install_php = rc_path(plan->release_dir, "program/include/rcmail_install.php");
    ms_rc_config old_defaults = {0}, new_defaults = {0}, local = {0};
    ms_rc_list replaced = {0}, obsolete = {0};
    char *php = NULL;
    size_t php_len = 0;
    ms_status st = old_path && new_path && install_php ? MS_OK : MS_ERR_NOMEM;
    int have_old = st == MS_OK && ms_rc_config_read(old_path, &old_defaults) == MS_OK;
    int have_new = st == MS_OK && ms_rc_config_read(new_path, &new_defaults) == MS_OK;
    int have_local = ms_rc_install_main_config(inst) &&
                     ms_rc_config_read(ms_rc_install_main_config(inst), &local) == MS_OK;
    if (st == MS_OK && rc_read_file(install_php, RCMAIL_INSTALL_MAX_BYTES, &php, &php_len) == MS_OK) {
        st = php_array_strings(php, "replaced_config", &replaced);
        if (st == MS_OK)
            st = php_array_strings(php, "obsolete_config", &obsolete);
    }
    ms_rc_config *mine = have_local ? &local : NULL;
    /* renamed: the release's replaced_config, for an option that was known or set */
    for (size_t i = 0; st == MS_OK && i + 1 < replaced.count; i += 2) {
        const char *from = replaced.items[i], *to = replaced.items[i + 1];
        int known = (have_old && ms_rc_config_get(&old_defaults, from)) || (mine && ms_rc_config_get(mine, from));
        if (known && !(have_new && ms_rc_config_get(&new_defaults, from))) {
            char *note = option_note(from, mine);
            st = list_add(&plan->options_renamed, note ? ms_asprintf("%s -> %s", note, to) : NULL);
            free(note);
        }
    }
    /* removed: defaults the release no longer has, and options it calls obsolete */
    for (size_t i = 0; st == MS_OK && have_old && have_new && i < old_defaults.count; i++) {
        const char *key = old_defaults.settings[i].key;
        int listed = 0;
        for (size_t j = 0; j + 1 < replaced.count; j += 2)
            listed |= !strcmp(replaced.items[j], key);
        if (!listed && !ms_rc_config_get(&new_defaults, key) && ms_rc_config_get(&old_defaults, key) ==
                                                                      &old_defaults.settings[i])
            st = list_add(&plan->options_removed, option_note(key, mine));
    }
    for (size_t i = 0; st == MS_OK && mine && i < obsolete.count; i++) {
        if (!ms_rc_config_get(mine, obsolete.items[i]))
            continue;
        char *note = option_note(obsolete.items[i], mine);
        if (note && list_has(&plan->options_removed, note))
            free(note);
        else
            st = list_add(&plan->options_removed, note);
    }
    free(php);
    list_free(&replaced);
    list_free(&obsolete);
    ms_rc_config_free(&old_defaults);
    ms_rc_config_free(&new_defaults);
    ms_rc_config_free(&local);
    free(old_path);
    free(new_path);
    free(install_php);
    return st;
}

/* ---- the database ---- */

/* The DSN the installation's configuration gives (db_dsnw), else its
 * defaults'. *found is 0 when no file sets one. */
static ms_status install_dsn(const char *dir, rc_dsn *dsn, int *found, char **error)
{
    ms_rc_install *inst = NULL;
    *found = 0;
    if (ms_rc_install_open(dir, &inst) != MS_OK) {
        *error = ms_asprintf("%s: not a Roundcube installation", dir);
        return MS_ERR_IO;
    }
    char *defaults = rc_path(ms_rc_install_config_dir(inst), "defaults.inc.php");
    const char *files[] = {ms_rc_install_main_config(inst), ms_rc_install_db_config(inst), defaults};
    ms_status st = defaults ? MS_OK : MS_ERR_NOMEM;
    char *text = NULL, *prefix = NULL;
    for (size_t i = 0; st == MS_OK && i < 3 && !text; i++) {
        ms_rc_config cfg = {0};
        if (!files[i] || ms_rc_config_read(files[i], &cfg) != MS_OK)
            continue;
        const ms_rc_setting *s = ms_rc_config_get(&cfg, "db_dsnw");
        const ms_rc_setting *p = ms_rc_config_get(&cfg, "db_prefix");
        if (p && p->type == MS_RC_STRING && p->value_len && !prefix)
            prefix = ms_strdup(p->value);
        if (s && s->type == MS_RC_STRING)
            text = ms_strdup(s->value);
        else if (s) {
            *error = ms_asprintf("%s:%zu: db_dsnw is not a plain string mailsec can read", files[i], s->line);
            st = MS_ERR_INVALID;
        }
        ms_rc_config_free(&cfg);
    }
    if (st == MS_OK && prefix) {
        /* updatedb.sh rewrites every table name then; mailsec does not */
        *error = ms_asprintf("the database tables have a prefix (db_prefix '%s'): mailsec upgrades only "
                             "databases without one; use Roundcube's bin/installto.sh",
                             prefix);
        st = MS_ERR_INVALID;
    }
    if (st == MS_OK && text) {
        st = rc_dsn_parse(text, dsn, error);
        *found = st == MS_OK;
    }
    free(text);
    free(prefix);
    free(defaults);
    ms_rc_install_free(inst);
    return st;
}

static int cmp_version_names(const void *a, const void *b)
{
    long long x = strtoll(*(char *const *)a, NULL, 10), y = strtoll(*(char *const *)b, NULL, 10);
    return x < y ? -1 : x > y;
}

/* updatedb.sh: SQL/<driver>/N.sql with N above the schema's version (a
 * database without the system table counts as 2012080700). */
static ms_status plan_migrations(ms_rc_plan *plan, const rc_dsn *dsn)
{
    char *folder = ms_asprintf("%s/SQL/%s", plan->release_dir, rc_db_sql_folder(dsn->driver));
    if (!folder)
        return MS_ERR_NOMEM;
    long long current = plan->schema_version ? strtoll(plan->schema_version, NULL, 10) : 2012080700;
    rc_tree files = {0};
    char *why = NULL;
    ms_status st = rc_tree_scan(folder, &files, &why);
    if (st != MS_OK) {
        free(plan->error);
        plan->error = ms_asprintf("the release has no migrations for %s: %s", plan->db_driver, why ? why : "");
    }
    for (size_t i = 0; st == MS_OK && i < files.count; i++) {
        const char *name = files.items[i].path;
        size_t digits = strspn(name, "0123456789");
        if (digits && digits < 19 && !strcmp(name + digits, ".sql") && strtoll(name, NULL, 10) > current)
            st = list_add(&plan->migrations, ms_asprintf("%.*s", (int)digits, name));
    }
    if (st == MS_OK && plan->migrations.count)
        qsort(plan->migrations.items, plan->migrations.count, sizeof(char *), cmp_version_names);
    rc_tree_free(&files);
    free(why);
    free(folder);
    return st;
}

static ms_status plan_database(ms_rc_plan *plan, plan_priv *priv)
{
    char *why = NULL;
    ms_status st = install_dsn(plan->dir, &priv->dsn, &priv->has_db, &why);
    if (st == MS_OK && priv->has_db) {
        const rc_dsn *d = &priv->dsn;
        plan->db_driver = ms_strdup(rc_db_driver_name(d->driver));
        plan->db_where = d->driver == RC_DB_SQLITE
                             ? ms_strdup(d->name)
                             : ms_asprintf("%s/%s", d->socket ? d->socket : d->host ? d->host : "localhost", d->name);
        st = rc_db_schema_version(d, &plan->schema_version, &why);
        if (st == MS_OK)
            st = plan_migrations(plan, d);
    }
    if (st != MS_OK && why) {
        free(plan->error);
        plan->error = ms_asprintf("the database: %s", why);
    }
    free(why);
    return st;
}

/* ---- the plan ---- */

static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash == path ? ms_strdup("/") : ms_asprintf("%.*s", (int)(slash - path), path);
}

/* PARENT/.NAME.SUFFIX beside the installation. */
static char *beside(const char *dir, const char *suffix)
{
    char *parent = parent_of(dir);
    char *p = parent ? ms_asprintf("%s/.%s.%s", strcmp(parent, "/") ? parent : "", strrchr(dir, '/') + 1, suffix)
                     : NULL;
    free(parent);
    return p;
}

/* The lock beside the installation (.NAME.mailsec-lock), held while an
 * upgrade or a rollback runs: what a killed run left beside it is then
 * known to be no one's. -1 (and *error) when another run holds it. */
static int take_lock(const char *dir, char **error)
{
    char *path = beside(dir, "mailsec-lock");
    int fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
    if (fd < 0)
        *error = ms_asprintf("%s: %s", path ? path : dir, strerror(errno));
    else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        *error = ms_asprintf("another mailsec upgrade or rollback of %s is running (%s is locked)", dir, path);
        close(fd);
        fd = -1;
    }
    free(path);
    return fd;
}

static ms_status fail(ms_rc_plan *plan, ms_status st, char *message)
{
    if (!plan->error)
        plan->error = message;
    else
        free(message);
    return st;
}

static ms_status open_release(ms_rc_plan *plan, plan_priv *priv, const char *release)
{
    struct stat sb;
    if (stat(release, &sb) != 0)
        return fail(plan, MS_ERR_IO, ms_asprintf("%s: %s", release, strerror(errno)));
    if (S_ISDIR(sb.st_mode)) {
        plan->release_dir = realpath(release, NULL);
        return plan->release_dir ? MS_OK : MS_ERR_NOMEM;
    }
    priv->unpacked = beside(plan->dir, "mailsec-release");
    char *why = NULL;
    /* a killed run's, removed under the lock */
    if (priv->unpacked && rc_remove_tree(priv->unpacked, &why) != MS_OK)
        return fail(plan, MS_ERR_IO, why);
    if (!priv->unpacked || mkdir(priv->unpacked, 0700) != 0) {
        free(priv->unpacked);
        priv->unpacked = NULL;
        return fail(plan, MS_ERR_IO, ms_asprintf("unpacking beside %s: %s", plan->dir, strerror(errno)));
    }
    ms_status st = rc_unpack_release(release, priv->unpacked, &plan->release_dir, &why);
    if (st != MS_OK)
        fail(plan, st, why), why = NULL;
    free(why);
    return st;
}

static ms_status check_versions(ms_rc_plan *plan, const ms_rc_install *inst, const ms_rc_install *rel)
{
    if (ms_rc_install_is_debian(inst))
        return fail(plan, MS_ERR_INVALID,
                    ms_asprintf("%s was installed by Debian's roundcube-core package: upgrade it with apt "
                                "(apt update && apt upgrade), not with mailsec",
                                plan->dir));
    plan->from_version = ms_strdup(ms_rc_install_version_string(inst));
    plan->to_version = ms_strdup(ms_rc_install_version_string(rel));
    if (!plan->from_version || !plan->to_version)
        return MS_ERR_NOMEM;
    ms_rc_version from = ms_rc_install_version(inst), to = ms_rc_install_version(rel);
    if (ms_rc_version_cmp(&to, &from) < 0)
        return fail(plan, MS_ERR_INVALID,
                    ms_asprintf("the release is %s, older than the installation's %s: mailsec does not "
                                "downgrade (a backup of the older version is put back with `mailsec "
                                "roundcube rollback`)",
                                plan->to_version, plan->from_version));
    return MS_OK;
}

static ms_status plan_trees(ms_rc_plan *plan, plan_priv *priv, int keep_installer)
{
    rc_tree release = {0}, install = {0};
    char *why = NULL;
    ms_status st = rc_tree_scan(plan->release_dir, &release, &why);
    if (st == MS_OK)
        st = rc_tree_scan(plan->dir, &install, &why);
    if (st == MS_OK)
        st = result_tree(&release, &install, keep_installer, &priv->result);
    if (st == MS_OK)
        st = plan_files(plan, &release, &install, &priv->result);
    if (st != MS_OK && why)
        fail(plan, st, why), why = NULL;
    free(why);
    rc_tree_free(&release);
    rc_tree_free(&install);
    return st;
}

ms_status ms_rc_upgrade_plan(const char *release, const char *dir, const ms_rc_upgrade_opts *opts,
                             ms_rc_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan_priv *priv = calloc(1, sizeof *priv);
    if (!priv || !release || !dir)
        return free(priv), MS_ERR_INVALID;
    plan->priv = priv;
    priv->lock = -1;
    plan->dir = realpath(dir, NULL);
    if (!plan->dir || !rc_is_dir(plan->dir) || strchr(plan->dir, '\n') || !strcmp(plan->dir, "/"))
        return fail(plan, MS_ERR_IO, ms_asprintf("%s: not a folder mailsec can upgrade", dir));
    char *why = NULL;
    if ((priv->lock = take_lock(plan->dir, &why)) < 0)
        return fail(plan, MS_ERR_IO, why);
    ms_rc_install *inst = NULL, *rel = NULL;
    ms_status st = MS_OK;
    if (ms_rc_install_open(plan->dir, &inst) != MS_OK)
        st = fail(plan, MS_ERR_IO, ms_asprintf("%s: not a Roundcube installation", plan->dir));
    if (st == MS_OK)
        st = open_release(plan, priv, release);
    if (st == MS_OK && ms_rc_install_open(plan->release_dir, &rel) != MS_OK)
        st = fail(plan, MS_ERR_INVALID, ms_asprintf("%s: not a Roundcube release", release));
    if (st == MS_OK)
        st = check_versions(plan, inst, rel);
    if (st == MS_OK)
        st = plan_trees(plan, priv, opts && opts->keep_installer);
    if (st == MS_OK)
        st = plan_options(plan, inst);
    if (st == MS_OK)
        st = plan_database(plan, priv);
    if (st == MS_OK) {
        ms_rc_list *lists[] = {&plan->added, &plan->replaced, &plan->removed, &plan->kept};
        for (size_t i = 0; i < 4; i++)
            if (lists[i]->count)
                qsort(lists[i]->items, lists[i]->count, sizeof(char *), cmp_str);
    }
    ms_rc_install_free(inst);
    ms_rc_install_free(rel);
    return st;
}

void ms_rc_plan_free(ms_rc_plan *plan)
{
    plan_priv *priv = plan->priv;
    if (priv) {
        rc_tree_free(&priv->result);
        if (priv->unpacked) {
            char *why = NULL;
            rc_remove_tree(priv->unpacked, &why);
            free(why);
            free(priv->unpacked);
        }
        rc_dsn_free(&priv->dsn);
        if (priv->lock >= 0)
            close(priv->lock);
        free(priv);
    }
    ms_rc_list *lists[] = {&plan->added,           &plan->replaced,        &plan->removed,   &plan->kept,
                           &plan->options_renamed, &plan->options_removed, &plan->migrations};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        list_free(lists[i]);
    free(plan->dir);
    free(plan->release_dir);
    free(plan->from_version);
    free(plan->to_version);
    free(plan->db_driver);
    free(plan->db_where);
    free(plan->schema_version);
    free(plan->error);
    memset(plan, 0, sizeof *plan);
}

/* ---- the upgrade ---- */

static char *default_backup_dir(const char *dir)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return ms_asprintf("%s.mailsec-backup-%s", dir, stamp);
}

static ms_status write_manifest(const ms_rc_plan *plan, const char *backup, char **error)
{
    char *path = rc_path(backup, MANIFEST);
    char *text = ms_asprintf("dir=%s\nfrom=%s\nto=%s\ndriver=%s\nschema=%s\ncomplete=1\n", plan->dir,
                             plan->from_version, plan->to_version, plan->db_driver ? plan->db_driver : "",
                             plan->schema_version ? plan->schema_version : "");
    ms_file_opts opts = {.new_mode = 0600};
    ms_status st = path && text ? ms_file_replace(path, text, strlen(text), &opts, error) : MS_ERR_NOMEM;
    free(path);
    free(text);
    return st;
}

/* The backup folder, made (mode 0700: it holds the database and the
 * configuration's passwords). The default name gets "-2", "-3"... when
 * a backup of the same second is there (a re-run after a kill). */
static ms_status make_backup_dir(const ms_rc_upgrade_opts *opts, const char *dir, char **backup, char **error)
{
    if (opts && opts->backup_dir) {
        *backup = ms_strdup(opts->backup_dir);
        if (*backup && mkdir(*backup, 0700) == 0)
            return MS_OK;
    } else {
        char *base = default_backup_dir(dir);
        for (int n = 1; base && n < 100; n++) {
            *backup = n == 1 ? ms_strdup(base) : ms_asprintf("%s-%d", base, n);
            if (!*backup || mkdir(*backup, 0700) == 0 || errno != EEXIST)
                break;
            free(*backup);
            *backup = NULL;
        }
        free(base);
        if (*backup && rc_is_dir(*backup))
            return MS_OK;
    }
    if (!*backup)
        return MS_ERR_NOMEM;
    *error = ms_asprintf("%s: %s", *backup, strerror(errno));
    return MS_ERR_IO;
}

static ms_status make_backup(const ms_rc_plan *plan, const char *backup, char **error)
{
    const plan_priv *priv = plan->priv;
    char *archive = rc_path(backup, FILES_ARCHIVE);
    ms_status st = archive ? rc_journal(backup, "backup started", error) : MS_ERR_NOMEM;
    if (st == MS_OK)
        st = rc_archive_tree(plan->dir, archive, error);
    if (st == MS_OK)
        rc_test_kill_point("backup");
    if (st == MS_OK && priv->has_db)
        st = rc_db_backup(&priv->dsn, backup, error);
    /* the manifest last: a backup without one is incomplete */
    if (st == MS_OK)
        st = write_manifest(plan, backup, error);
    if (st == MS_OK)
        st = rc_journal(backup, "backup complete", error);
    free(archive);
    return st;
}

/* Puts the tree at staged in place of dir: exchanged when dir exists, so
 * one of the two is always complete at dir; the old tree is removed. */
static ms_status switch_in(const char *staged, const char *dir, const char *backup, char **error)
{
    int exchanged = rc_exists(dir);
    int r = exchanged ? renameat2(AT_FDCWD, staged, AT_FDCWD, dir, RENAME_EXCHANGE) : rename(staged, dir);
    if (r != 0) {
        *error = ms_asprintf("switching %s and %s: %s", staged, dir, strerror(errno));
        return MS_ERR_IO;
    }
    char *parent = parent_of(dir);
    int fd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(parent);
    ms_status st = backup ? rc_journal(backup, "switched", error) : MS_OK;
    if (st == MS_OK)
        rc_test_kill_point("switched");
    if (st == MS_OK && exchanged)
        st = rc_remove_tree(staged, error);
    return st;
}

static ms_status build_and_switch(ms_rc_plan *plan, const char *backup, char **error)
{
    plan_priv *priv = plan->priv;
    char *staged = beside(plan->dir, "mailsec-new");
    if (!staged)
        return MS_ERR_NOMEM;
    /* what a killed run left there is no one's: start it again */
    ms_status st = rc_remove_tree(staged, error);
    if (st == MS_OK)
        st = rc_tree_build(&priv->result, plan->release_dir, plan->dir, staged, error);
    if (st == MS_OK)
        st = rc_journal(backup, "staged", error);
    if (st == MS_OK)
        rc_test_kill_point("staged");
    if (st == MS_OK)
        st = switch_in(staged, plan->dir, backup, error);
    free(staged);
    return st;
}

static ms_status migrate(ms_rc_plan *plan, const char *backup, char **error)
{
    plan_priv *priv = plan->priv;
    char *folder = ms_asprintf("%s/SQL/%s", plan->dir, rc_db_sql_folder(priv->dsn.driver));
    ms_status st = folder ? MS_OK : MS_ERR_NOMEM;
    for (size_t i = 0; st == MS_OK && i < plan->migrations.count; i++) {
        st = rc_db_migrate(&priv->dsn, folder, plan->migrations.items[i], error);
        char *line = st == MS_OK ? ms_asprintf("migrated %s", plan->migrations.items[i]) : NULL;
        if (st == MS_OK)
            st = line ? rc_journal(backup, line, error) : MS_ERR_NOMEM;
        free(line);
        if (st == MS_OK)
            rc_test_kill_point("migration");
    }
    free(folder);
    return st;
}

ms_status ms_rc_upgrade_apply(ms_rc_plan *plan, const ms_rc_upgrade_opts *opts, char **backup_out)
{
    *backup_out = NULL;
    if (!plan->priv || !plan->dir)
        return MS_ERR_INVALID;
    char *backup = NULL, *why = NULL;
    ms_status st = make_backup_dir(opts, plan->dir, &backup, &why);
    if (st == MS_OK)
        st = make_backup(plan, backup, &why);
    if (st != MS_OK) {
        fail(plan, st, ms_asprintf("the backup in %s failed, nothing was changed: %s", backup ? backup : "", why ? why : ""));
        free(why);
        free(backup);
        return st;
    }
    *backup_out = backup;
    st = build_and_switch(plan, backup, &why);
    if (st == MS_OK && plan->db_driver)
        st = migrate(plan, backup, &why);
    if (st == MS_OK)
        st = rc_journal(backup, "done", &why);
    if (st != MS_OK)
        fail(plan, st,
             ms_asprintf("%s; run the upgrade again to finish it, or `mailsec roundcube rollback %s` to put "
                         "everything back",
                         why ? why : "failed", backup));
    free(why);
    return st;
}

/* ---- rollback ---- */

/* The value of key in the manifest's "key=value" lines, or NULL. */
static char *manifest_value(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");
        if (len > klen && !strncmp(line, key, klen) && line[klen] == '=')
            return ms_asprintf("%.*s", (int)(len - klen - 1), line + klen + 1);
        line += len + (line[len] == '\n');
    }
    return NULL;
}

static ms_status restore_database(const char *dir, const char *backup, const char *driver, char **error)
{
    if (!driver || !*driver)
        return MS_OK;
    rc_dsn dsn = {0};
    int found = 0;
    ms_status st = install_dsn(dir, &dsn, &found, error);
    if (st == MS_OK && (!found || strcmp(rc_db_driver_name(dsn.driver), driver))) {
        *error = ms_asprintf("%s: the restored configuration names no %s database", dir, driver);
        st = MS_ERR_INVALID;
    }
    if (st == MS_OK)
        st = rc_db_restore(&dsn, backup, error);
    rc_dsn_free(&dsn);
    return st;
}

ms_status ms_rc_rollback(const char *backup, char **dir_out, char **error)
{
    *dir_out = NULL;
    *error = NULL;
    char *manifest = rc_path(backup, MANIFEST), *text = NULL;
    size_t len = 0;
    if (!manifest)
        return MS_ERR_NOMEM;
    ms_status st = rc_read_file(manifest, MANIFEST_MAX_BYTES, &text, &len);
    free(manifest);
    char *complete = st == MS_OK ? manifest_value(text, "complete") : NULL;
    char *dir = st == MS_OK ? manifest_value(text, "dir") : NULL;
    char *driver = st == MS_OK ? manifest_value(text, "driver") : NULL;
    if (!complete || !dir || dir[0] != '/') {
        *error = ms_asprintf("%s is not a complete mailsec backup (an upgrade stopped while backing up "
                             "changes nothing: the installation is as it was)",
                             backup);
        st = MS_ERR_INVALID;
    }
    char *archive = st == MS_OK ? rc_path(backup, FILES_ARCHIVE) : NULL;
    char *staged = st == MS_OK ? beside(dir, "mailsec-rollback") : NULL;
    if (st == MS_OK && (!archive || !staged))
        st = MS_ERR_NOMEM;
    int lock = st == MS_OK ? take_lock(dir, error) : -1;
    if (st == MS_OK && lock < 0)
        st = MS_ERR_IO;
    if (st == MS_OK)
        st = rc_remove_tree(staged, error);
    if (st == MS_OK)
        st = rc_unpack_backup(archive, staged, error);
    if (st == MS_OK)
        st = switch_in(staged, dir, NULL, error);
    if (st == MS_OK)
        st = restore_database(dir, backup, driver, error);
    if (st == MS_OK) {
        /* what an upgrade killed after its switch left beside the installation */
        char *upgrade_staged = beside(dir, "mailsec-new");
        st = upgrade_staged ? rc_remove_tree(upgrade_staged, error) : MS_ERR_NOMEM;
        free(upgrade_staged);
    }
    if (st == MS_OK)
        st = rc_journal(backup, "rolled back", error);
    if (st == MS_OK)
        *dir_out = dir, dir = NULL;
    if (lock >= 0)
        close(lock);
    free(archive);
    free(staged);
    free(complete);
    free(dir);
    free(driver);
    free(text);
    return st;
}
