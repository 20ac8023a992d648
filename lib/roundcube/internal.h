/* What the roundcube module's files share. */
#ifndef MAILSEC_LIB_ROUNDCUBE_INTERNAL_H
#define MAILSEC_LIB_ROUNDCUBE_INTERNAL_H

#include "mailsec/roundcube.h"

#include "core/internal.h"

struct ms_rc_install {
    char *dir;          /* as given */
    char *code_dir;     /* program/, SQL/, installer/: dir, or ROOT/usr/share/roundcube */
    char *version_string;
    ms_rc_version version;
    int is_debian;
    char *debian_root;  /* "/" for the real package, the copy's root otherwise */
    char *config_dir;
    char *main_config;  /* NULL when none exists */
    char *db_config;    /* NULL when none exists */
    char *public_html;  /* NULL when the version has none */
};

/* Reads a whole regular file of at most max bytes into *out (NUL-terminated,
 * *len without it). MS_ERR_IO when it cannot be read, MS_ERR_LIMIT when it
 * is larger. */
ms_status rc_read_file(const char *path, size_t max, char **out, size_t *len);
/* path joined with name by one "/"; NULL when out of memory. */
char *rc_path(const char *dir, const char *name);
/* Non-zero when path exists (lstat: a dangling link exists too). */
int rc_exists(const char *path);
/* Non-zero when path is a directory (stat: links followed). */
int rc_is_dir(const char *path);

/* The diagnostics (diags.c), by index. */
enum rc_diag {
    RC_NOT_INSTALLATION,
    RC_VERSION,
    RC_SECURITY_FIXES,
    RC_DEBIAN_FIXES_UNKNOWN,
    RC_NO_CONFIG,
    RC_CONFIG_UNREADABLE,
    RC_INSTALLER_PRESENT,
    RC_INSTALLER_ENABLED,
    RC_CONFIG_READABLE,
    RC_DES_KEY_DEFAULT,
    RC_DES_KEY_SHORT,
    RC_DEBUG,
    RC_DISPLAY_ERRORS,
    RC_NO_PUBLIC_HTML,
    RC_EXPOSED_DIR,
    RC_TLS_VERIFY_OFF,
    RC_SCHEMA_BEHIND,
    RC_SCHEMA_UNKNOWN,
    RC_URL_EXPOSED,
    RC_URL_VERSION,
    RC_URL_FAILED,
    RC_SECURITY_DATA,
    RC_DIAG_COUNT
};

extern const ms_diag_def ms_roundcube_diag_defs[];

/* ---- the security fixes (security.c) ---- */

enum {
    RC_SECURITY_MAX_BYTES = 4 << 20,     /* a security data file */
    RC_SECURITY_MAX_FIXES = 20000,
    RC_CHANGELOG_MAX_BYTES = 16 << 20    /* Debian's changelog, uncompressed (1 MB today) */
};

/* The lines of lib/roundcube/security.tsv, built in (security_data.c,
 * made by CMake), ended by NULL. */
extern const char *const rc_security_builtin[];

/* The fixes the installation lacks, into result->fixes; findings
 * roundcube.security-fixes-missing, roundcube.debian-fix-unknown and
 * roundcube.security-data-line. */
ms_status rc_check_security(const ms_rc_install *inst, const char *security_file,
                            ms_rc_audit_result *result, ms_diag_list *diags);

/* ---- the running site (web.c) ---- */

/* Asks the site at url for what must not be served, and the version its
 * login page shows (result->login_version). */
ms_status rc_check_url(ms_ctx *ctx, const char *url, ms_rc_audit_result *result,
                       ms_diag_list *diags);

#endif
