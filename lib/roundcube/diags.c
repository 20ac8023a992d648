/* Every diagnostic of `mailsec roundcube audit`. docs/diagnostics.md lists
 * the same codes; tests/roundcube/audit*.sh produce each of them. */
#include "internal.h"

#define E MS_SEV_ERROR
#define W MS_SEV_WARNING
#define I MS_SEV_INFO

const ms_diag_def ms_roundcube_diag_defs[RC_DIAG_COUNT + 1] = {
    [RC_NOT_INSTALLATION] = {"roundcube.not-installation", E,
        "The directory is not a Roundcube installation: no program/include/iniset.php with "
        "RCMAIL_VERSION, and not Debian's roundcube-core.",
        "Name the directory that holds Roundcube's index.php and program/ (for Debian's "
        "package, /var/lib/roundcube)."},
    [RC_VERSION] = {"roundcube.version", I,
        "The Roundcube version installed.", NULL},
    [RC_SECURITY_FIXES] = {"roundcube.security-fixes-missing", E,
        "Security fixes were released after the installed version: the installation has known "
        "vulnerabilities (several Roundcube ones were exploited in the wild).",
        "Upgrade to the newest release of your branch or a newer one (mailsec roundcube "
        "upgrade); for Debian's package, apt upgrade from the security archive."},
    [RC_DEBIAN_FIXES_UNKNOWN] = {"roundcube.debian-fix-unknown", W,
        "A security fix released upstream after the packaged version has no CVE id or release "
        "that the package's changelog names: mailsec cannot tell whether Debian backported it.",
        "Check /usr/share/doc/roundcube-core/changelog.Debian.gz and Debian's security "
        "tracker; keep the package up to date from the security archive."},
    [RC_NO_CONFIG] = {"roundcube.no-config", E,
        "No configuration file: neither config/config.inc.php nor the legacy main.inc.php. "
        "Roundcube does not run without one (or the installer was never finished).",
        "Write config/config.inc.php (start from config.inc.php.sample)."},
    [RC_CONFIG_UNREADABLE] = {"roundcube.config-unreadable", E,
        "A configuration file could not be read (permissions, or larger than 1 MiB): the "
        "settings in it were not checked.",
        "Run the audit as a user that can read it (the web server's, or root)."},
    [RC_INSTALLER_PRESENT] = {"roundcube.installer-present", E,
        "The installer directory is still there. With enable_installer on (or an old version "
        "that did not check it) anyone can use it; CVE-2020-12641 was exploited through it.",
        "Delete the installer/ directory (and public_html/installer.php since 1.7) once the "
        "installation works."},
    [RC_INSTALLER_ENABLED] = {"roundcube.installer-enabled", E,
        "enable_installer is true: the web installer answers anyone who finds it, shows the "
        "configuration (database password included) and can rewrite it.",
        "Set $config['enable_installer'] = false; (or remove the line) and delete installer/."},
    [RC_CONFIG_READABLE] = {"roundcube.config-world-readable", E,
        "A configuration file can be read by every local user: it holds the database DSN with "
        "its password, and des_key, which decrypts the IMAP passwords kept in sessions.",
        "chmod 640 the file, owned by root and the web server's group (chown root:www-data)."},
    [RC_DES_KEY_DEFAULT] = {"roundcube.des-key-default", E,
        "des_key is the value shipped in the sample configuration: anyone can decrypt the IMAP "
        "passwords Roundcube keeps in its sessions.",
        "Set des_key to 24 random characters (e.g. openssl rand -base64 18); users log in "
        "again."},
    [RC_DES_KEY_SHORT] = {"roundcube.des-key-short", W,
        "des_key is shorter than the 24 characters Roundcube expects: the encryption of "
        "session passwords is weaker, or fails.",
        "Set des_key to 24 random characters (e.g. openssl rand -base64 18)."},
    [RC_DEBUG] = {"roundcube.debug-on", W,
        "A protocol debug log is on (imap_debug, smtp_debug, ldap_debug, sql_debug, "
        "session_debug, memcache_debug, apc_debug or redis_debug): the logs then hold whole "
        "conversations, messages and sometimes credentials.",
        "Set it to false in production."},
    [RC_DISPLAY_ERRORS] = {"roundcube.display-errors", W,
        "debug_level includes 4: errors are shown in the browser, so paths, queries and "
        "configuration leak to visitors.",
        "Log errors instead of displaying them: debug_level 1."},
    [RC_NO_PUBLIC_HTML] = {"roundcube.web-root-not-public-html", W,
        "This version ships public_html/, a web root that exposes none of config/, logs/, "
        "temp/ or the code; serving the installation directory itself relies on .htaccess "
        "files, which nginx and php -S ignore.",
        "Point the web server's document root at public_html/."},
    [RC_EXPOSED_DIR] = {"roundcube.exposed-in-web-root", E,
        "A directory or file that must not be served is inside the web root: config/, logs/, "
        "temp/, .git or composer.json / composer.lock.",
        "Serve public_html/ instead, or move the item out of the web root, or deny it in the "
        "web server's configuration."},
    [RC_TLS_VERIFY_OFF] = {"roundcube.tls-verify-off", E,
        "IMAP, SMTP or ManageSieve connection options turn off certificate verification "
        "(verify_peer or verify_peer_name false, allow_self_signed true): anyone on the path "
        "can read the passwords.",
        "Remove the option and give the server a certificate the system trusts (or name its "
        "CA with cafile)."},
    [RC_SCHEMA_BEHIND] = {"roundcube.schema-behind", E,
        "The database schema (the roundcube-version row of the system table) is older than "
        "the code's newest SQL/<driver>/ migration: an upgrade did not update the database.",
        "Run bin/updatedb.sh --package=roundcube --dir=SQL (or mailsec roundcube upgrade)."},
    [RC_SCHEMA_UNKNOWN] = {"roundcube.schema-unchecked", I,
        "The database schema version was not checked: the DSN is not SQLite (or not a literal "
        "in the configuration), or the database could not be opened.",
        NULL},
    [RC_URL_EXPOSED] = {"roundcube.url-exposed", E,
        "The site answers a request that must fail: the installer, the configuration, logs/, "
        "temp/, .git/config or composer.json is reachable over HTTP.",
        "Remove the item or deny it in the web server (serve public_html/)."},
    [RC_URL_VERSION] = {"roundcube.url-version", I,
        "The login page reveals the Roundcube version (rcversion in its JavaScript "
        "environment, or the generator tag). Attackers read it to choose their exploit.",
        "Keep the installation up to date; the version is shown to logged-in users only when "
        "display_version is false (the default)."},
    [RC_URL_FAILED] = {"roundcube.url-failed", E,
        "The site could not be asked (no connection, TLS failure, timeout): the HTTP checks "
        "were not done, and the audit exits 2 (could not check).",
        "Check the URL, and that the site answers from this host."},
    [RC_SECURITY_DATA] = {"roundcube.security-data-line", W,
        "A line of the security data file (--security-file) is not RELEASE<TAB>CVE ids or "
        "-<TAB>summary: it was skipped, the other lines were used.",
        "Correct the line (docs/roundcube.md describes the format)."},
    [RC_DIAG_COUNT] = {NULL, 0, NULL, NULL},
};
