/* Every diagnostic of `mailsec roundcube audit`. Their texts are
 * docs/diagnostics.md's (core/catalogue.h); tests/roundcube/audit*.sh
 * produce each of them. */
#include "internal.h"
#include "core/catalogue.h"

const ms_diag_def ms_roundcube_diag_defs[RC_DIAG_COUNT + 1] = {
    [RC_NOT_INSTALLATION] = MS_DIAG(roundcube_not_installation),
    [RC_VERSION] = MS_DIAG(roundcube_version),
    [RC_SECURITY_FIXES] = MS_DIAG(roundcube_security_fixes_missing),
    [RC_DEBIAN_FIXES_UNKNOWN] = MS_DIAG(roundcube_debian_fix_unknown),
    [RC_NO_CONFIG] = MS_DIAG(roundcube_no_config),
    [RC_CONFIG_UNREADABLE] = MS_DIAG(roundcube_config_unreadable),
    [RC_INSTALLER_PRESENT] = MS_DIAG(roundcube_installer_present),
    [RC_INSTALLER_ENABLED] = MS_DIAG(roundcube_installer_enabled),
    [RC_CONFIG_READABLE] = MS_DIAG(roundcube_config_world_readable),
    [RC_DES_KEY_DEFAULT] = MS_DIAG(roundcube_des_key_default),
    [RC_DES_KEY_SHORT] = MS_DIAG(roundcube_des_key_short),
    [RC_DEBUG] = MS_DIAG(roundcube_debug_on),
    [RC_DISPLAY_ERRORS] = MS_DIAG(roundcube_display_errors),
    [RC_NO_PUBLIC_HTML] = MS_DIAG(roundcube_web_root_not_public_html),
    [RC_EXPOSED_DIR] = MS_DIAG(roundcube_exposed_in_web_root),
    [RC_TLS_VERIFY_OFF] = MS_DIAG(roundcube_tls_verify_off),
    [RC_SCHEMA_BEHIND] = MS_DIAG(roundcube_schema_behind),
    [RC_SCHEMA_UNKNOWN] = MS_DIAG(roundcube_schema_unchecked),
    [RC_URL_EXPOSED] = MS_DIAG(roundcube_url_exposed),
    [RC_URL_VERSION] = MS_DIAG(roundcube_url_version),
    [RC_URL_FAILED] = MS_DIAG(roundcube_url_failed),
    [RC_SECURITY_DATA] = MS_DIAG(roundcube_security_data_line),
    [RC_DIAG_COUNT] = MS_DIAG_END,
};
