#!/bin/bash
# mailsec roundcube audit on Debian's roundcube-core: a copy of the
# package's layout built here (/etc/roundcube, /usr/share/roundcube,
# /var/lib/roundcube with the package's links, made relative so the copy
# stands on its own; /var/lib/dpkg/status; the package's
# changelog.Debian.gz naming the upstream releases and CVE ids it
# backported), the code from a release. The version is the package's, and
# the fixes its changelog names are taken as applied.
# Usage: audit-debian.sh MAILSEC
set -euo pipefail
MAILSEC=$1
source "$(dirname "$0")/audit-lib.sh"
rc_need_release 1.6.18
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OUT=$WORK/out.json
PKG_VERSION=1.6.5+dfsg-1+deb12u14

# debian_root ROOT CHANGELOG-TEXT|-: the package installed under ROOT.
debian_root() {
    local root=$1 src
    src=$(rc_release 1.6.18)
    mkdir -p "$root/usr/share" "$root/etc/roundcube" "$root/var/lib/roundcube/public_html/program" \
        "$root/var/lib/roundcube/plugins" "$root/var/lib/roundcube/skins" "$root/var/lib/roundcube/temp" \
        "$root/var/log/roundcube" "$root/var/lib/dpkg" "$root/var/lib/dbconfig-common/sqlite3/roundcube"
    cp -a "$src" "$root/usr/share/roundcube"
    # the package ships the installer here, and links no web root to it
    rm -rf "$root/usr/share/roundcube/config" "$root/usr/share/roundcube/public_html" \
        "$root/usr/share/roundcube/logs" "$root/usr/share/roundcube/temp"
    cp "$src/config/defaults.inc.php" "$src/config/mimetypes.php" "$root/etc/roundcube/"
    local lib=$root/var/lib/roundcube
    ln -s ../../../etc/roundcube "$lib/config"
    ln -s ../../../usr/share/roundcube/program "$lib/program"
    ln -s ../../../usr/share/roundcube/SQL "$lib/SQL"
    ln -s ../../../usr/share/roundcube/index.php "$lib/index.php"
    ln -s ../../log/roundcube "$lib/logs"
    ln -s ../../../../usr/share/roundcube/skins/elastic "$lib/skins/elastic"
    cp "$src/public_html/index.php" "$lib/public_html/index.php"
    ln -s ../plugins "$lib/public_html/plugins"
    ln -s ../skins "$lib/public_html/skins"
    ln -s ../../program/js "$lib/public_html/program/js"
    # the database settings as the package writes them (dbconfig-common)
    cat >"$root/etc/roundcube/debian-db.php" <<'PHP'
<?php
$dbuser='roundcube';
$dbpass='';
$basepath='/var/lib/dbconfig-common/sqlite3/roundcube';
$dbname='roundcube';
$dbserver='';
$dbport='';
$dbtype='sqlite3';
PHP
    cat >"$root/etc/roundcube/debian-db-roundcube.php" <<'PHP'
<?php
require("/etc/roundcube/debian-db.php");
switch ($dbtype) {
 case "sqlite":
 case "sqlite3":
   $config['db_dsnw'] = "sqlite:///$basepath/$dbname?mode=0640";
   break;
 default:
   $config['db_dsnw'] = "$dbtype://$dbuser:$dbpass@$dbserver$dbport/$dbname";
   break;
 }
PHP
    cat >"$root/etc/roundcube/config.inc.php" <<'PHP'
<?php
$config = [];
include("/etc/roundcube/debian-db-roundcube.php");
$config['imap_host'] = 'localhost:143';
$config['smtp_host'] = 'localhost:587';
$config['des_key'] = 'Zq7vR2mXc9LpT4wKs8NbY1fH';
$config['skin'] = 'elastic';
PHP
    chmod 640 "$root/etc/roundcube/config.inc.php" "$root/etc/roundcube/debian-db.php" \
        "$root/etc/roundcube/debian-db-roundcube.php"
    cat >"$root/var/lib/dpkg/status" <<STATUS
Package: dbconfig-common
Status: install ok installed
Version: 2.0.24

Package: roundcube-core
Status: install ok installed
Priority: optional
Section: web
Architecture: all
Source: roundcube
Version: $PKG_VERSION
Description: skinnable AJAX based webmail solution for IMAP servers

STATUS
    if [[ $2 != - ]]; then
        mkdir -p "$root/usr/share/doc/roundcube-core"
        printf '%s\n' "$2" | gzip -9n >"$root/usr/share/doc/roundcube-core/changelog.Debian.gz"
    fi
}

# The package's changelog as Debian writes it: the upstream releases whose
# security fixes were cherry-picked, and CVE ids. It names every 1.6
# security release from 1.6.6 on but 1.6.8 (of whose three CVEs it names
# two) and 1.6.18 (whose fixes have no CVE id).
CHANGELOG=$(
    cat <<'TEXT'
roundcube (1.6.5+dfsg-1+deb12u14) bookworm-security; urgency=high

  * Cherry pick upstream security fixes from v1.6.17 (closes: #1155011).

 -- Debian Roundcube Maintainers <pkg-roundcube-maintainers@alioth-lists.debian.net>  Sat, 28 Nov 2026 09:39:00 +0100

roundcube (1.6.5+dfsg-1+deb12u8) bookworm-security; urgency=high

  * Cherry pick upstream security fixes from v1.6.14 and v1.6.15, v1.6.16.
  * Cherry pick upstream security fixes from v1.6.12 and v1.6.13.
  * Fix CVE-2025-49113: Post-Auth RCE via PHP Object Deserialization.
  * Fix CVE-2024-42009 and CVE-2024-42008.
  * Cherry pick upstream security fixes from v1.6.7.

 -- Debian Roundcube Maintainers <pkg-roundcube-maintainers@alioth-lists.debian.net>  Mon, 02 Jun 2025 10:01:44 +0200
TEXT
)

echo "== the package, audited at /var/lib/roundcube"
debian_root "$WORK/root" "$CHANGELOG"
rc_audit "$OUT" "$WORK/root/var/lib/roundcube"
expect_status 1 "$OUT"
json_true --arg v "$PKG_VERSION" '.results[0].version == $v and .results[0].debian == true' "$OUT" ||
    fail "not seen as Debian's $PKG_VERSION: $(jq -c '.results[0] | {version, debian}' "$OUT")"
# named by CVE or release: applied
json_true '[.results[0].missing_fixes[] | select((.cve // "") | test("CVE-2025-49113|CVE-2024-42009|CVE-2024-42008|CVE-2024-3738"))] | length == 0' "$OUT" ||
    fail "a backported fix is listed"
json_true '[.results[0].missing_fixes[] | select(.release | test("^1\\.6\\.(7|1[1-7])$"))] | length == 0' "$OUT" ||
    fail "a fix of a release the changelog names is listed"
# 1.6.8's third CVE: missing, an error
json_true '[.results[0].missing_fixes[] | select(.cve == "CVE-2024-42010" and .backport_unknown == false)] | length == 1' "$OUT" ||
    fail "CVE-2024-42010 not missing"
expect_code "$OUT" roundcube.security-fixes-missing
# 1.6.18's fixes have no CVE id and the release is not named: unknown
json_true '[.results[0].missing_fixes[] | select(.release == "1.6.18" and .backport_unknown)] | length > 0' "$OUT" ||
    fail "1.6.18's fixes not unknown"
expect_code "$OUT" roundcube.debian-fix-unknown
# the package's own installer in /usr/share is not served: no finding
expect_no_code "$OUT" roundcube.installer-present
expect_no_code "$OUT" roundcube.web-root-not-public-html
expect_no_code "$OUT" roundcube.exposed-in-web-root
expect_no_code "$OUT" roundcube.config-world-readable
# the DSN is computed from debian-db.php: the schema is not checked (the
# assignment in force is the file's last)
expect_code "$OUT" roundcube.schema-unchecked "debian-db-roundcube.php:$(line_of "$WORK/root/etc/roundcube/debian-db-roundcube.php" '"$dbtype://')"
json_true '.results[0].config | endswith("etc/roundcube/config.inc.php")' "$OUT" || fail "config not /etc/roundcube's"

echo "== the same, audited at /usr/share/roundcube"
rc_audit "$WORK/out2.json" "$WORK/root/usr/share/roundcube"
json_true --arg v "$PKG_VERSION" '.results[0].version == $v and .results[0].debian' "$WORK/out2.json" ||
    fail "/usr/share/roundcube not seen as the package"
[[ $(jq -c '.results[0].missing_fixes' "$OUT") == "$(jq -c '.results[0].missing_fixes' "$WORK/out2.json")" ]] ||
    fail "the two directories give different fixes"

echo "== the package's findings: debian-db.php readable by all, an installer linked into the web root, .git"
chmod 644 "$WORK/root/etc/roundcube/debian-db.php"
ln -s ../../../../usr/share/roundcube/installer "$WORK/root/var/lib/roundcube/public_html/installer"
mkdir "$WORK/root/var/lib/roundcube/public_html/.git"
rc_audit "$OUT" "$WORK/root/var/lib/roundcube"
expect_code "$OUT" roundcube.config-world-readable "etc/roundcube/debian-db.php"
expect_code "$OUT" roundcube.installer-present "public_html/installer"
expect_code "$OUT" roundcube.exposed-in-web-root "public_html/.git"

echo "== without the package's changelog: every fix after 1.6.5 is unknown"
rm -rf "$WORK/root"
debian_root "$WORK/root" -
rc_audit "$OUT" "$WORK/root/var/lib/roundcube"
expect_code "$OUT" roundcube.debian-fix-unknown
json_true '(.results[0].missing_fixes | length > 0) and all(.results[0].missing_fixes[]; .backport_unknown)' "$OUT" ||
    fail "fixes not all unknown without the changelog"

echo "== roundcube-core removed (config files left): not the package, the code's own version"
sed -i 's/^Status: install ok installed$/Status: deinstall ok config-files/' "$WORK/root/var/lib/dpkg/status"
rc_audit "$OUT" "$WORK/root/var/lib/roundcube"
[[ -f $WORK/root/var/lib/roundcube/program/include/iniset.php ]] || fail "the copy's links are broken"
json_true '.results[0].debian == false and .results[0].version == "1.6.18"' "$OUT" ||
    fail "a removed package still seen: $(jq -c '.results[0] | {version, debian}' "$OUT")"
rc_codes_listed audit-debian
echo "PASS"
