/* Every diagnostic of `mailsec conf audit` and the parsers behind it.
 * docs/diagnostics.md lists the same codes; tests/conf and
 * tests/cli/conf-*.test produce each of them. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define E MS_SEV_ERROR
#define W MS_SEV_WARNING
#define I MS_SEV_INFO

const ms_diag_def ms_conf_diag_defs[CF_COUNT + 1] = {
    [CF_SYNTAX] = {"conf.syntax", E,
        "A line the server cannot read: not \"name = value\", a master.cf service without its 8 "
        "fields, or a Dovecot section that is not closed.",
        "Fix the line; Postfix skips it with a warning, Dovecot refuses to start."},
    [CF_INCLUDE_MISSING] = {"conf.include-missing", E,
        "A Dovecot \"!include\" matches no file (or one that cannot be read): doveconf and "
        "Dovecot stop with an error.",
        "Correct the path, or use \"!include_try\" for a file that may be missing."},
    [CF_DEPRECATED] = {"conf.deprecated", W,
        "A deprecated or renamed setting: it still works in this version, but is ignored or "
        "refused by newer ones.",
        "Use the replacement the message names."},
    [CF_WRONG_VERSION] = {"conf.wrong-version", E,
        "A setting of another version: a Dovecot 2.3 name in a 2.4 configuration or the other "
        "way round (Dovecot refuses to start), or Postfix 3.6's protocol range (>=TLSv1.2) for "
        "an older Postfix, which does not read it.",
        "Use the name or syntax of the version you run (the message names it)."},
    [CF_TLS_OFF] = {"conf.tls-off", E,
        "TLS is off: Postfix has no certificate or smtpd_tls_security_level = none; Dovecot has "
        "ssl = no. Mail and passwords cross the network in the clear.",
        "Configure a certificate and key and turn TLS on (mailsec conf generate)."},
    [CF_SUBMISSION_MISSING] = {"conf.submission-missing", W,
        "No submission service (port 587, RFC 6409) in master.cf: mail clients have no port "
        "that is meant for them.",
        "Enable the submission service in master.cf (mailsec conf generate postfix)."},
    [CF_SUBMISSIONS_MISSING] = {"conf.submissions-missing", W,
        "No submissions service (port 465, implicit TLS, RFC 8314) in master.cf: RFC 8314 "
        "prefers it to STARTTLS for clients.",
        "Enable the port 465 service with smtpd_tls_wrappermode=yes: \"submissions\" in "
        "Postfix 3.5 and later, \"smtps\" before (the message names your version's)."},
    [CF_SUBMISSIONS_WRAPPERMODE] = {"conf.submissions-wrappermode", E,
        "Port 465 is configured without smtpd_tls_wrappermode=yes: clients expect TLS at once, "
        "Postfix speaks plain SMTP, and no client can connect.",
        "Add \"-o smtpd_tls_wrappermode=yes\" to the service."},
    [CF_AUTH_BEFORE_TLS] = {"conf.auth-before-tls", E,
        "SMTP AUTH is offered before STARTTLS: SASL is on, TLS is not required and "
        "smtpd_tls_auth_only is not yes, so passwords can cross the network in the clear.",
        "Set smtpd_tls_security_level=encrypt (port 587) or smtpd_tls_auth_only=yes."},
    [CF_CLEARTEXT_AUTH] = {"conf.cleartext-auth", E,
        "Dovecot allows plaintext authentication without TLS (disable_plaintext_auth = no in "
        "2.3, auth_allow_cleartext = yes in 2.4).",
        "Remove the setting (the default refuses it), and set ssl = required."},
    [CF_SSL_NOT_REQUIRED] = {"conf.ssl-not-required", I,
        "Dovecot's ssl = yes: clients may stay in plaintext (only authentication needs TLS).",
        "Set ssl = required, as Mozilla's configuration does, so no mail is read in the clear."},
    [CF_OLD_PROTOCOLS] = {"conf.old-protocols", W,
        "Protocols below TLS 1.2 (SSLv3, TLS 1.0, TLS 1.1) are allowed; RFC 8996 deprecates "
        "TLS 1.0 and 1.1.",
        "Allow TLS 1.2 and newer only, in your version's syntax (the message names it): Postfix "
        "3.6 and later >=TLSv1.2, before !SSLv2, !SSLv3, !TLSv1, !TLSv1.1 (smtpd_tls_protocols "
        "and smtpd_tls_mandatory_protocols); Dovecot 2.3 and later ssl_min_protocol = TLSv1.2, "
        "2.2 ssl_protocols = !SSLv2 !SSLv3 !TLSv1 !TLSv1.1."},
    [CF_WEAK_CIPHERS] = {"conf.weak-ciphers", E,
        "The cipher list, as the local OpenSSL expands it, enables broken suites: NULL "
        "encryption, anonymous key exchange, EXPORT, RC4, or DES, 3DES and other 64-bit block "
        "ciphers (RFC 7465, RFC 7525).",
        "Use Mozilla's intermediate list (mailsec conf generate prints it), or the server's default."},
    [CF_LEGACY_CIPHERS] = {"conf.legacy-ciphers", W,
        "The cipher list, as the local OpenSSL expands it, enables TLS 1.2 suites without forward "
        "secrecy (static RSA key exchange: a stolen key decrypts recorded sessions) or CBC suites "
        "with SHA-1, which Mozilla's intermediate profile leaves out.",
        "Use Mozilla's intermediate list (mailsec conf generate prints it), or the server's default."},
    [CF_DHE_WITHOUT_DH] = {"conf.dhe-without-dh", W,
        "Dovecot's cipher list has DHE suites, but no DH parameters are configured (ssl_dh in "
        "2.3, ssl_server_dh_file in 2.4): those suites are never negotiated.",
        "Set ssl_dh = </usr/share/dovecot/dh.pem (or a file made by openssl dhparam 2048), or "
        "leave the DHE suites out, as mailsec conf generate does when ssl_dh is not set."},
    [CF_CERT_FILE_MISSING] = {"conf.cert-file-missing", E,
        "A certificate or key file named in the configuration does not exist or cannot be read: "
        "the server cannot offer TLS.",
        "Correct the path, or create the file (mailsec cert bundle)."},
    [CF_CHAIN_FILES_ORDER] = {"conf.chain-files-order", E,
        "smtpd_tls_chain_files is not \"key, then its certificate chain\": Postfix wants each "
        "private key before the certificates that go with it (postconf(5)).",
        "Write the key first, then the leaf, then the intermediates (mailsec cert bundle "
        "--format postfix-chain)."},
    [CF_CERT_AND_CHAIN] = {"conf.cert-and-chain-files", I,
        "Both smtpd_tls_chain_files and smtpd_tls_cert_file are set; Postfix uses "
        "smtpd_tls_chain_files and ignores the other.",
        "Remove smtpd_tls_cert_file and smtpd_tls_key_file so the configuration says what is used."},
    [CF_PROFILE] = {"conf.profile", W,
        "A setting differs from the chosen Mozilla profile (intermediate or modern).",
        "Make the change the message names."},
    [CF_DUPLICATE] = {"conf.duplicate", W,
        "A main.cf parameter is set twice; the later line wins (postconf warns: \"overriding "
        "earlier entry\"), so editing the first one changes nothing.",
        "Keep one line per parameter."},
    [CF_LIVE_MISMATCH] = {"conf.live-mismatch", E,
        "The certificate a running port sends is not the one the configuration names: the "
        "server was not reloaded since the files changed, or it reads another configuration.",
        "Reload the server (postfix reload, doveadm reload) and check which files it reads."},
    [CF_LIVE_NO_TLS] = {"conf.live-no-tls", E,
        "A port the configuration sets up does not answer with TLS on the host given to --live "
        "(closed, unreachable, or no TLS): clients of that port get no service.",
        "Check that the server runs with this configuration and that the port is reachable."},
    [CF_SASL_ON_PORT_25] = {"conf.sasl-on-port-25", W,
        "SMTP AUTH is enabled on port 25, where other mail servers deliver: password guessing "
        "comes there, and users belong on submission (587) and submissions (465).",
        "Set smtpd_sasl_auth_enable = no in main.cf and -o smtpd_sasl_auth_enable=yes on the "
        "submission and submissions services of master.cf only."},
    [CF_SASL_TYPE] = {"conf.sasl-type", E,
        "A Postfix service with SMTP AUTH asks Cyrus SASL (smtpd_sasl_type = cyrus, the default), "
        "not the Dovecot whose configuration was given: nobody can log in through Dovecot.",
        "Set smtpd_sasl_type = dovecot and smtpd_sasl_path to the path of Dovecot's auth listener "
        "for Postfix (service auth { unix_listener ... })."},
    [CF_SASL_PATH] = {"conf.sasl-path-mismatch", E,
        "Postfix's smtpd_sasl_path is not a socket Dovecot's auth service listens on "
        "(service auth { unix_listener PATH }): AUTH fails with \"SASL authentication failure: "
        "cannot connect to Dovecot server\".",
        "Make the two name the same file: smtpd_sasl_path = private/auth (under queue_directory) "
        "and unix_listener /var/spool/postfix/private/auth in Dovecot's service auth."},
    [CF_SASL_ACCESS] = {"conf.sasl-listener-access", E,
        "Dovecot's auth listener for Postfix does not let Postfix (mail_owner) connect: its "
        "user, group and mode leave the postfix user out.",
        "In the unix_listener section: mode = 0660, user = postfix, group = postfix."},
    [CF_COUNT] = {NULL, 0, NULL, NULL},
};

char *cf_location(const char *file, size_t line)
{
    return line ? ms_asprintf("%s:%zu", file, line) : ms_strdup(file);
}

ms_status cf_read_file(const char *path, char **text, size_t *len, char **error)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        *error = ms_asprintf("%s: %s", path, strerror(errno));
        return *error ? MS_ERR_IO : MS_ERR_NOMEM;
    }
    ms_buf b = MS_BUF_INIT;
    ms_buf_puts(&b, "");
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= MS_CONF_MAX_BYTES)
        ms_buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (b.failed) {
        ms_buf_free(&b);
        return MS_ERR_NOMEM;
    }
    if (bad || b.len > MS_CONF_MAX_BYTES) {
        *error = ms_asprintf("%s: %s", path, bad ? "read error" : "larger than 4 MiB");
        ms_buf_free(&b);
        return *error ? MS_ERR_IO : MS_ERR_NOMEM;
    }
    *len = b.len;
    *text = ms_buf_take(&b);
    return MS_OK;
}
