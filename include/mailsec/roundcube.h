/* mailsec roundcube: Roundcube Webmail installations.
 *
 * What an installation is (its version, whether Debian's roundcube-core
 * package put it there, where its configuration and web root are), a
 * reader of its PHP configuration files that never runs PHP, the audit of
 * `mailsec roundcube audit`, and (below) the upgrade and rollback of
 * `mailsec roundcube upgrade` / `rollback`.
 */
#ifndef MAILSEC_ROUNDCUBE_H
#define MAILSEC_ROUNDCUBE_H

#include <stddef.h>

#include "mailsec/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits (MS_ERR_LIMIT beyond). */
enum {
    MS_RC_MAX_CONFIG_BYTES = 1 << 20, /* one PHP configuration file */
    MS_RC_MAX_SETTINGS = 4096,        /* $config assignments in one file */
    MS_RC_MAX_VALUE_BYTES = 64 * 1024 /* one value (an array's raw text included) */
};

/* ---- versions ---- */

typedef struct ms_rc_version {
    int major, minor, patch; /* "1.6.18" -> 1, 6, 18; a missing part is 0 */
} ms_rc_version;

/* Parses "1.6.18", "1.6", "1.6.18-rc" (the suffix is ignored) or a Debian
 * package version "1.6.5+dfsg-1+deb12u4" (the upstream part, after any
 * "EPOCH:"). MS_ERR_INVALID when it does not start with digits and a dot. */
ms_status ms_rc_version_parse(const char *text, ms_rc_version *out);
/* <0, 0, >0 as a is older than, the same as, newer than b. */
int ms_rc_version_cmp(const ms_rc_version *a, const ms_rc_version *b);

/* ---- installations ---- */

typedef struct ms_rc_install ms_rc_install;

/* Looks at DIR: a tarball installation (program/include/iniset.php holds
 * RCMAIL_VERSION), or Debian's roundcube-core: DIR is ROOT/var/lib/roundcube
 * or ROOT/usr/share/roundcube (ROOT is "/" for the real package, or the
 * root of a copy of its layout) and ROOT/var/lib/dpkg/status says
 * roundcube-core is installed; the version is then the package's.
 * MS_ERR_IO when DIR is not a Roundcube installation (*out stays NULL). */
ms_status ms_rc_install_open(const char *dir, ms_rc_install **out);
void ms_rc_install_free(ms_rc_install *inst);

/* The installation's directory, as given. */
const char *ms_rc_install_dir(const ms_rc_install *inst);
/* "1.6.18" for a tarball; for Debian the package version
 * ("1.6.5+dfsg-1+deb12u4"). */
const char *ms_rc_install_version_string(const ms_rc_install *inst);
/* The upstream version (for Debian the part before "+dfsg"/"-"). */
ms_rc_version ms_rc_install_version(const ms_rc_install *inst);
/* Non-zero for Debian's roundcube-core: its security fixes are backported,
 * so the upstream version alone does not say which are missing. */
int ms_rc_install_is_debian(const ms_rc_install *inst);
/* Where program/, SQL/, bin/ and installer/ are: DIR, or for Debian
 * ROOT/usr/share/roundcube. */
const char *ms_rc_install_code_dir(const ms_rc_install *inst);
/* The configuration directory: DIR/config, or for Debian ROOT/etc/roundcube. */
const char *ms_rc_install_config_dir(const ms_rc_install *inst);
/* The main configuration file: config/config.inc.php, else the legacy
 * config/main.inc.php (before 1.0); NULL when neither exists. */
const char *ms_rc_install_main_config(const ms_rc_install *inst);
/* The file that holds the database settings besides the main one, or NULL:
 * the legacy config/db.inc.php next to main.inc.php; for Debian
 * debian-db-roundcube.php. */
const char *ms_rc_install_db_config(const ms_rc_install *inst);
/* The public_html/ directory when there is one (releases ship it since
 * 1.4; for Debian ROOT/var/lib/roundcube/public_html), else NULL. Whether
 * the web server serves it or the installation directory is the site's
 * affair: the audit says what it can see. */
const char *ms_rc_install_public_html(const ms_rc_install *inst);

/* ---- PHP configuration files ---- */

typedef enum ms_rc_value_type {
    MS_RC_STRING, /* 'text' or "text", escapes decoded; several joined by "." */
    MS_RC_BOOL,   /* true / false (any case) */
    MS_RC_NULL,   /* null */
    MS_RC_INT,    /* decimal integer, optionally signed */
    MS_RC_ARRAY,  /* array(...) or [...]: the raw text, as written */
    MS_RC_OTHER   /* anything else (a constant, an expression): the raw text */
} ms_rc_value_type;

typedef struct ms_rc_setting {
    char *key;            /* "des_key" */
    ms_rc_value_type type;
    char *value;          /* decoded string; "1"/"0" for bools; "" for null; raw text */
    size_t value_len;     /* strings may hold NUL bytes */
    long long number;     /* MS_RC_INT's value; MS_RC_BOOL's 1 or 0 */
    size_t line;          /* from 1: the line the assignment starts on */
} ms_rc_setting;

typedef struct ms_rc_config {
    char *file;           /* the name findings use */
    ms_rc_setting *settings; /* in file order; a later one of the same key wins */
    size_t count;
} ms_rc_config;

/* Reads the `$config['key'] = value;` assignments of a Roundcube PHP
 * configuration file (also the legacy `$rcmail_config[...]`), without
 * running PHP: comments (// # and block), `<?php`, and statements that are
 * not such assignments are skipped. file names the text in findings.
 * MS_ERR_LIMIT past MS_RC_MAX_CONFIG_BYTES or MS_RC_MAX_SETTINGS. */
ms_status ms_rc_config_parse(const char *text, size_t len, const char *file, ms_rc_config *out);
/* Reads path (MS_ERR_IO when it cannot be read). */
ms_status ms_rc_config_read(const char *path, ms_rc_config *out);
void ms_rc_config_free(ms_rc_config *cfg);
/* The assignment in force for key (the last one), or NULL. */
const ms_rc_setting *ms_rc_config_get(const ms_rc_config *cfg, const char *key);

/* ---- audit ---- */

typedef struct ms_rc_audit_opts {
    const char *url;   /* ask the running site too (libcurl); NULL: files only */
    /* The web server's document root for this site; NULL: public_html/
     * when there is one, else the installation directory. */
    const char *web_root;
    /* A security data file (RELEASE<TAB>CVE ids or -<TAB>summary lines,
     * as lib/roundcube/security.tsv); NULL: the one built in. */
    const char *security_file;
} ms_rc_audit_opts;

typedef struct ms_rc_fix {
    char *version;     /* the release that fixed it: "1.6.11" */
    char *cve;         /* "CVE-2025-49113" (several: comma-separated), or "" when none is known */
    char *summary;     /* the CHANGELOG line */
    /* Debian: neither the CVE id nor the release is named in the package's
     * changelog, and the fix has no CVE id: whether it was backported is
     * not known. 0: the fix is missing. */
    int backport_unknown;
} ms_rc_fix;

typedef struct ms_rc_audit_result {
    char *version;         /* as ms_rc_install_version_string */
    int is_debian;
    char *main_config;     /* the file read, or NULL */
    char *schema_version;  /* the database's (system table), or NULL if not read */
    char *code_schema_version; /* the newest SQL/<driver>/ migration, or NULL */
    ms_rc_fix *fixes;      /* security fixes released after the version that it lacks */
    size_t fix_count;
    char *login_version;   /* the version the login page reveals (--url), or NULL */
    char *error;           /* why the audit could not be done, or NULL */
} ms_rc_audit_result;

/* Audits the installation at dir; findings are rc.* diagnostics.
 * MS_ERR_IO (result->error says why) when dir is not an installation. */
ms_status ms_rc_audit(ms_ctx *ctx, const char *dir, const ms_rc_audit_opts *opts,
                      ms_rc_audit_result *result, ms_diag_list *diags);
void ms_rc_audit_result_free(ms_rc_audit_result *result);

/* ---- upgrade and rollback (lib/roundcube/upgrade.c) ---- */

/* `mailsec roundcube upgrade`: the plan of what an upgrade changes, then
 * the upgrade itself (backup first, the new tree staged beside the
 * installation and switched in with one rename, the database schema
 * migrated as the release's bin/updatedb.sh does); `rollback` puts a
 * backup back. docs/roundcube.md says what is copied and what is kept. */

enum {
    MS_RC_MAX_TREE_ENTRIES = 200000,        /* files, links and folders in one tree */
    MS_RC_MAX_RELEASE_BYTES = 512 << 20,    /* a release unpacked */
    MS_RC_MAX_MIGRATION_BYTES = 1 << 20     /* one SQL/<driver>/N.sql file */
};

typedef struct ms_rc_upgrade_opts {
    int keep_installer;     /* leave the release's installer/ in place */
    const char *backup_dir; /* NULL: DIR.mailsec-backup-YYYYmmdd-HHMMSS beside DIR */
} ms_rc_upgrade_opts;

typedef struct ms_rc_list {
    char **items;
    size_t count, cap;
} ms_rc_list;

typedef struct ms_rc_plan {
    char *dir;            /* the installation */
    char *release_dir;    /* the release tree (unpacked when a tarball was given) */
    char *from_version, *to_version;
    ms_rc_list added;     /* files of the release the installation lacks */
    ms_rc_list replaced;  /* files of the installation the release changes */
    ms_rc_list removed;   /* files of the installation that go */
    ms_rc_list kept;      /* plugins, skins, configuration and other local files kept */
    ms_rc_list options_renamed; /* "old_name -> new_name" */
    ms_rc_list options_removed; /* option names; "(set in FILE)" added when set */
    char *db_driver;      /* "sqlite", "pgsql", "mysql"; NULL when no database is configured */
    char *db_where;       /* the SQLite file, or HOST/DATABASE (never the password) */
    char *schema_version; /* the database's roundcube-version */
    ms_rc_list migrations; /* SQL/<driver>/N.sql versions to apply, in order */
    char *error;          /* why there is no plan, or why the upgrade failed */
    void *priv;           /* the tree of the result, for ms_rc_upgrade_apply */
} ms_rc_plan;

/* What upgrading dir with the release (a directory or a .tar.gz / .tar.xz
 * / .tar.bz2) would do. Nothing is changed. MS_ERR_INVALID (plan->error
 * says why) for a Debian-packaged installation, a downgrade, a release
 * that is not a Roundcube tree; MS_ERR_IO when a tree or the database
 * cannot be read; MS_ERR_LIMIT past the limits above. */
ms_status ms_rc_upgrade_plan(const char *release, const char *dir, const ms_rc_upgrade_opts *opts,
                             ms_rc_plan *plan);
/* Carries the plan out: the backup, the switch to the new tree, the
 * schema migrations. *backup (allocated) names the backup once it is
 * complete, also when a later step fails (then plan->error says which and
 * that `rollback` puts everything back). */
ms_status ms_rc_upgrade_apply(ms_rc_plan *plan, const ms_rc_upgrade_opts *opts, char **backup);
void ms_rc_plan_free(ms_rc_plan *plan);

/* Puts the installation and its database back as the backup holds them.
 * *dir (allocated) names the installation restored; *error says why on
 * failure. Running it again after it was interrupted finishes it. */
ms_status ms_rc_rollback(const char *backup, char **dir, char **error);

#ifdef __cplusplus
}
#endif
#endif
