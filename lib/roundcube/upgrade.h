/* What the upgrade's files share (upgrade.c, tree.c, backup.c, db.c). */
#ifndef MAILSEC_LIB_ROUNDCUBE_UPGRADE_H
#define MAILSEC_LIB_ROUNDCUBE_UPGRADE_H

#include "core/file.h"
#include "roundcube/internal.h"

#include <sys/stat.h>
#include <sys/types.h>

/* ---- trees (tree.c) ---- */

typedef enum rc_source { RC_FROM_RELEASE, RC_FROM_INSTALL } rc_source;

/* One file, link or folder, its path relative to the tree's root ("" is
 * the root itself). */
typedef struct rc_entry {
    char *path;
    mode_t mode; /* type and permissions, as lstat gives them */
    off_t size;
    rc_source source; /* in a result tree: where it comes from */
} rc_entry;

typedef struct rc_tree {
    rc_entry *items; /* sorted by path: a folder before what it holds */
    size_t count, cap;
} rc_tree;

/* Every entry under root, links not followed; MS_ERR_LIMIT past
 * MS_RC_MAX_TREE_ENTRIES or 64 levels. */
ms_status rc_tree_scan(const char *root, rc_tree *out, char **error);
/* The entry at path, or NULL. */
const rc_entry *rc_tree_find(const rc_tree *t, const char *path);
ms_status rc_tree_add(rc_tree *t, const rc_entry *e);
void rc_tree_sort(rc_tree *t);
void rc_tree_free(rc_tree *t);
/* Non-zero when a's file under root_a and b's under root_b differ (type,
 * permissions, size, link target or content). */
int rc_entry_differs(const char *root_a, const rc_entry *a, const char *root_b, const rc_entry *b);
/* Builds the tree `result` at dest (which must not exist): each entry
 * copied from release_root or install_root as its source says, with its
 * permissions and times; as root, release files get the owner of
 * install_root. Synced to disk before it returns. */
ms_status rc_tree_build(const rc_tree *result, const char *release_root, const char *install_root,
                        const char *dest, char **error);
/* Copies the regular file from to the new file to (which must not
 * exist), with the permissions and times of sb. Not synced. */
ms_status rc_copy_file(const char *from, const char *to, const struct stat *sb, char **error);
/* Removes path and everything under it (links not followed). */
ms_status rc_remove_tree(const char *path, char **error);
/* Every file of the file system holding dir written to disk (syncfs):
 * before a tree is switched in, and once a backup is unpacked. */
ms_status rc_sync_tree(const char *dir, char **error);

/* ---- the database (db.c) ---- */

typedef enum rc_db_driver { RC_DB_SQLITE, RC_DB_PGSQL, RC_DB_MYSQL } rc_db_driver;

typedef struct rc_dsn {
    rc_db_driver driver;
    char *user, *pass, *host, *port, *socket;
    char *name; /* the database; for SQLite the file */
} rc_dsn;

/* Parses Roundcube's db_dsnw ("pgsql://user:pass@host:port/db",
 * "mysql://user:pass@unix(/run/mysqld/mysqld.sock)/db",
 * "sqlite:////var/lib/roundcube/db.sqlite?mode=0646"). */
ms_status rc_dsn_parse(const char *text, rc_dsn *out, char **error);
void rc_dsn_free(rc_dsn *dsn);
const char *rc_db_driver_name(rc_db_driver driver);
/* The folder of SQL/ for the driver: "sqlite", "postgres", "mysql". */
const char *rc_db_sql_folder(rc_db_driver driver);
/* The system table's roundcube-version, digits only; NULL (and MS_OK)
 * when the database has no system table. */
ms_status rc_db_schema_version(const rc_dsn *dsn, char **version, char **error);
/* The statements of a migration file, split as rcube_db::exec_script
 * splits them: blank lines and "--" comments skipped; a line "GO", or a
 * line ending in ";", ends a statement (the ";" dropped). */
typedef struct rc_sql_script {
    char **stmts;
    size_t count, cap;
} rc_sql_script;
ms_status rc_sql_split(const char *text, rc_sql_script *out);
void rc_sql_script_free(rc_sql_script *s);
/* The database into backup_dir (db.sqlite, or db.sql and db-objects). */
ms_status rc_db_backup(const rc_dsn *dsn, const char *backup_dir, char **error);
/* The database back from backup_dir: what it held then, and nothing else. */
ms_status rc_db_restore(const rc_dsn *dsn, const char *backup_dir, char **error);
/* Applies sql_dir/VERSION.sql as updatedb.sh does: statements split at
 * lines ending in ";", then the system table's roundcube-version set to
 * VERSION (from 2013011000 on). One transaction per file where the
 * database has transactional DDL (SQLite, PostgreSQL). */
ms_status rc_db_migrate(const rc_dsn *dsn, const char *sql_dir, const char *version, char **error);

/* ---- backups (backup.c) ---- */

/* The installation tree as a tar archive (every file, link and folder with
 * owner, permissions and times). */
ms_status rc_archive_tree(const char *root, const char *archive, char **error);
/* The archive unpacked at dest (which must not exist). */
ms_status rc_unpack_backup(const char *archive, const char *dest, char **error);
/* A release tarball unpacked at dest (an empty folder), bounded and refusing
 * entries that leave dest; *root (allocated) is the release tree in it. */
ms_status rc_unpack_release(const char *tarball, const char *dest, char **root, char **error);

/* ---- steps ---- */

/* The test hook of the kill tests: when MAILSEC_TEST_KILL_AT names step,
 * the process kills itself (SIGKILL) there. */
void rc_test_kill_point(const char *step);
/* A line appended to the journal file, synced. */
ms_status rc_journal(const char *backup_dir, const char *line, char **error);

#endif
