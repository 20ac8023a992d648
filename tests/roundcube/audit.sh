#!/bin/bash
# mailsec roundcube audit on crafted installations: each finding of the
# files and configuration one by one, each from a clean installation that
# has none, with the FILE:LINE of the setting that causes it.
# Usage: audit.sh MAILSEC
set -euo pipefail
MAILSEC=$1
source "$(dirname "$0")/audit-lib.sh"
for v in 1.4.16 1.6.18 1.7.3; do rc_need_release "$v"; done
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
NEWEST=1.7.3

# A fresh clean installation of the newest release for each case.
fresh() {
    rm -rf "$WORK/rc"
    rc_install "${1:-$NEWEST}" "$WORK/rc"
    CONF=$WORK/rc/config/config.inc.php
}
OUT=$WORK/out.json

echo "== a clean installation of the newest release: nothing to report"
fresh
rc_audit "$OUT" "$WORK/rc"
expect_status 0 "$OUT"
expect_code "$OUT" roundcube.version
json_true '[.results[0].diagnostics[] | select(.severity != "info")] | length == 0' "$OUT" ||
    fail "clean installation has findings: $(rc_codes "$OUT" | tr '\n' ' ')"
json_true --arg v "$NEWEST" '.results[0].version == $v and .results[0].debian == false
    and (.results[0].missing_fixes | length) == 0
    and .results[0].database_schema == .results[0].code_schema' "$OUT" ||
    fail "version, fixes or schema wrong: $(cat "$OUT")"

echo "== not an installation: could not check"
mkdir -p "$WORK/empty"
rc_audit "$OUT" "$WORK/empty"
expect_status 2 "$OUT"
expect_code "$OUT" roundcube.not-installation

echo "== an old release: the security fixes released after it"
fresh 1.4.16
rc_audit "$OUT" "$WORK/rc"
expect_status 1 "$OUT"
expect_code "$OUT" roundcube.security-fixes-missing "$WORK/rc"
# CVE-2025-49113 (exploited in the wild) was fixed in 1.5.10 and 1.6.11
json_true '[.results[0].missing_fixes[] | select(.cve == "CVE-2025-49113")] | length == 1' "$OUT" ||
    fail "CVE-2025-49113 not listed once for 1.4.16"
# nothing of its own branch up to 1.4.16, nothing listed twice
json_true '[.results[0].missing_fixes[] | select(.release | startswith("1.4."))] | length == 0' "$OUT" ||
    fail "a 1.4 fix listed for 1.4.16"
json_true '[.results[0].missing_fixes[].summary | ascii_downcase] | (length == (unique | length))' "$OUT" ||
    fail "a fix listed twice"

echo "== the newest release of an older branch: fixes of the newer branch it has are not listed"
fresh 1.6.18
rc_audit "$OUT" "$WORK/rc"
json_true '[.results[0].missing_fixes[] | select(.summary == "Fix RCE via `cmd_learn` driver of markasjunk plugin")] | length == 0' "$OUT" ||
    fail "1.7.3's markasjunk fix is in 1.6.18 too"

echo "== installer/ left in place"
fresh
cp -a "$(rc_release $NEWEST)/installer" "$WORK/rc/installer"
rc_audit "$OUT" "$WORK/rc"
expect_status 1 "$OUT"
expect_code "$OUT" roundcube.installer-present "$WORK/rc/installer"

echo "== enable_installer true, at its line"
fresh
echo "\$config['enable_installer'] = TRUE; // for the upgrade" >>"$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.installer-enabled "config.inc.php:$(wc -l <"$CONF")"

echo "== configuration readable by every user"
fresh
chmod 644 "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_status 1 "$OUT"
expect_code "$OUT" roundcube.config-world-readable "$CONF"

echo "== des_key: the sample's, not set at all, too short"
fresh
sed -i "s/^\$config\['des_key'\].*/\$config['des_key'] = \"rcmail-!24ByteDESkey*Str\";/" "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.des-key-default "config.inc.php:$(line_of "$CONF" des_key)"
fresh
sed -i "/des_key/d" "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.des-key-default "$CONF"
fresh
sed -i "s/^\$config\['des_key'\].*/\$config['des_key'] = 'short' . 'key';/" "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_status 0 "$OUT" # a warning
expect_code "$OUT" roundcube.des-key-short "config.inc.php:$(line_of "$CONF" des_key)"

echo "== debug and error display"
fresh
printf "%s\n" "\$config['imap_debug'] = true;" "\$config['debug_level'] = 4;" >>"$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.debug-on "config.inc.php:$(line_of "$CONF" imap_debug)"
expect_code "$OUT" roundcube.display-errors "config.inc.php:$(line_of "$CONF" debug_level)"
fresh
printf "%s\n" "\$config['imap_debug'] = false;" "\$config['debug_level'] = 1;" >>"$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_no_code "$OUT" roundcube.debug-on
expect_no_code "$OUT" roundcube.display-errors

echo "== the installation directory as web root: public_html/ not used, private files served"
fresh
rc_audit "$OUT" --web-root "$WORK/rc" "$WORK/rc"
expect_code "$OUT" roundcube.web-root-not-public-html "$WORK/rc"
for item in config logs temp composer.json; do
    expect_code "$OUT" roundcube.exposed-in-web-root "$WORK/rc/$item"
done
echo "== a .git and composer.lock in public_html/"
fresh
mkdir "$WORK/rc/public_html/.git"
: >"$WORK/rc/public_html/composer.lock"
rc_audit "$OUT" "$WORK/rc"
expect_status 1 "$OUT"
expect_code "$OUT" roundcube.exposed-in-web-root "public_html/.git"
expect_code "$OUT" roundcube.exposed-in-web-root "public_html/composer.lock"
expect_no_code "$OUT" roundcube.web-root-not-public-html

echo "== IMAP and SMTP TLS without certificate verification"
fresh
cat >>"$CONF" <<'CONF'
$config['imap_conn_options'] = [
    'ssl' => [
        'verify_peer'      => FALSE,
        "verify_peer_name" => false,
    ],
];
$config['smtp_conn_options'] = array('ssl' => array('allow_self_signed' => true));
CONF
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.tls-verify-off "config.inc.php:$(line_of "$CONF" imap_conn_options)"
expect_code "$OUT" roundcube.tls-verify-off "config.inc.php:$(line_of "$CONF" smtp_conn_options)"
fresh
echo "\$config['imap_conn_options'] = ['ssl' => ['verify_peer' => true, 'cafile' => '/etc/ssl/ca.pem']];" >>"$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_no_code "$OUT" roundcube.tls-verify-off

echo "== the database schema behind the code's"
fresh
sqlite3 "$WORK/rc/db/roundcube.db" "UPDATE system SET value = '2020020101' WHERE name = 'roundcube-version'"
rc_audit "$OUT" "$WORK/rc"
expect_status 1 "$OUT"
expect_code "$OUT" roundcube.schema-behind "config.inc.php:$(line_of "$CONF" db_dsnw)"
json_true '.results[0].database_schema == "2020020101"' "$OUT" || fail "schema version not reported"
echo "== a 1.4.16 database (its own initial schema) under 1.7.3's code"
fresh
rm "$WORK/rc/db/roundcube.db"
sqlite3 "$WORK/rc/db/roundcube.db" <"$(rc_release 1.4.16)/SQL/sqlite.initial.sql"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.schema-behind
json_true '.results[0].database_schema == "2019092900"' "$OUT" || fail "1.4.16's schema is 2019092900"
echo "== a database the audit does not open"
fresh
sed -i "s|^\$config\['db_dsnw'\].*|\$config['db_dsnw'] = 'mysql://rc:secret@localhost/roundcube';|" "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_status 0 "$OUT"
expect_code "$OUT" roundcube.schema-unchecked "config.inc.php:$(line_of "$CONF" db_dsnw)"

echo "== no configuration; a configuration that cannot be read"
fresh
rm "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_status 1 "$OUT"
expect_code "$OUT" roundcube.no-config
fresh
rm "$CONF"
mkdir "$CONF"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.config-unreadable "$CONF"

echo "== the legacy main.inc.php and db.inc.php (\$rcmail_config)"
fresh
rm "$CONF"
cat >"$WORK/rc/config/main.inc.php" <<'CONF'
<?php
$rcmail_config = array();
$rcmail_config['des_key'] = 'rcmail-!24ByteDESkey*Str';
CONF
echo "<?php \$rcmail_config['db_dsnw'] = 'sqlite:///$WORK/rc/db/roundcube.db';" >"$WORK/rc/config/db.inc.php"
chmod 604 "$WORK/rc/config/db.inc.php"
rc_audit "$OUT" "$WORK/rc"
expect_code "$OUT" roundcube.des-key-default "main.inc.php:3"
expect_code "$OUT" roundcube.config-world-readable "db.inc.php"
expect_no_code "$OUT" roundcube.schema-unchecked # the DSN in db.inc.php was read

echo "== a security data file with a bad line"
fresh 1.6.18
printf '# test data\n1.6.19\tCVE-2099-0001\tFix something\nnot a line\n1.7.9\t-\tFix another thing\n' >"$WORK/sec.tsv"
rc_audit "$OUT" --security-file "$WORK/sec.tsv" "$WORK/rc"
expect_code "$OUT" roundcube.security-data-line "sec.tsv"
json_true '[.results[0].missing_fixes[].release] == ["1.6.19", "1.7.9"]' "$OUT" ||
    fail "fixes from the data file: $(jq -c '.results[0].missing_fixes' "$OUT")"

echo "== text output: FILE:LINE and the fixes"
fresh 1.6.18
echo "\$config['enable_installer'] = true;" >>"$CONF"
set +e
"$MAILSEC" roundcube audit --security-file "$WORK/sec.tsv" "$WORK/rc" >"$WORK/out.txt" 2>&1
status=$?
set -e
[[ $status == 1 ]] || fail "text mode exit $status"
grep -qF "config.inc.php:$(wc -l <"$CONF"): enable_installer is true" "$WORK/out.txt" || fail "text: no FILE:LINE"
grep -qF "1.6.19 CVE-2099-0001: Fix something" "$WORK/out.txt" || fail "text: fix not listed"
rc_codes_listed audit
echo "PASS"
