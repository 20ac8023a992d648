#!/usr/bin/env bash
# roundcube.sh ALLOC_FAIL: the Roundcube audit (ms_rc_audit, lib/roundcube)
# with every allocation failed in turn (alloc_fail's roundcube_audit), over
# installations made here, small but complete enough for every check to
# look at something:
#   tarball  1.6.5 as a release unpacks: installer left, config readable by
#            all, debug on, TLS verification off, a short des_key, the web
#            root the installation itself, a SQLite schema behind the code's;
#   legacy   1.3.10 with main.inc.php and db.inc.php (PostgreSQL: the schema
#            not read), no des_key;
#   debian   a copy of Debian's roundcube-core layout (dpkg status, the
#            package's changelog naming some fixes), its web root given;
#   noconfig 1.5.2 without a configuration file;
#   empty    a directory that is no installation.
# Each input of $WORK/inputs names an installation (and a web root). The
# tarball is also asked over HTTP (--url): Python's http.server serves it
# on a loopback high port, its installer, configuration and logs exposed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.sh"
source "$ROOT/tests/lib/servers.sh"
alloc_fail=$1

# iniset VERSION DIR: what names the release's version.
iniset() {
    mkdir -p "$2/program/include"
    printf "<?php\ndefine('RCMAIL_VERSION', '%s');\n" "$1" >"$2/program/include/iniset.php"
}

# sqlite_db FILE TABLE SCHEMA: a database whose system table holds SCHEMA.
sqlite_db() {
    mkdir -p "$(dirname "$1")"
    sqlite3 "$1" "CREATE TABLE $2 (name varchar(64) NOT NULL PRIMARY KEY, value text);
                  INSERT INTO $2 VALUES ('roundcube-version', '$3');"
}

# migrations DIR VERSION...: SQL/sqlite/VERSION.sql files.
migrations() {
    local dir=$1
    shift
    mkdir -p "$dir/SQL/sqlite"
    for v in "$@"; do echo "-- $v" >"$dir/SQL/sqlite/$v.sql"; done
}

tarball=$WORK/trees/tarball
iniset 1.6.5 "$tarball"
migrations "$tarball" 2022081200 2023111200 notaversion
mkdir -p "$tarball/installer" "$tarball/config" "$tarball/logs" "$tarball/temp"
sqlite_db "$tarball/db/rc.db" rc_system 2022081200
cat >"$tarball/config/config.inc.php" <<'PHP'
<?php
$config['db_dsnw'] = 'sqlite:///db/rc.db?mode=0640';
$config['db_prefix'] = 'rc_';
$config['des_key'] = 'short';
$config['enable_installer'] = true;
$config['debug_level'] = 5;
$config['imap_debug'] = true;
$config['smtp_debug'] = 1;
$config['imap_conn_options'] = array('ssl' => array('verify_peer' => FALSE));
$config['smtp_conn_options'] = ['ssl' => ["allow_self_signed" => true]];
PHP
chmod 644 "$tarball/config/config.inc.php"
# what the site serves: a login page that reveals its version, the installer
printf '<html><script>var rcmail = {"rcversion":10605};</script></html>\n' >"$tarball/index.html"
printf '<html><title>Roundcube Webmail Installer</title></html>\n' >"$tarball/installer/index.html"
echo "an error" >"$tarball/logs/errors.log"

legacy=$WORK/trees/legacy
iniset 1.3.10 "$legacy"
mkdir -p "$legacy/config"
printf "<?php\n\$rcmail_config['imap_debug'] = false;\n" >"$legacy/config/main.inc.php"
printf "<?php\n\$rcmail_config['db_dsnw'] = 'pgsql://rc:secret@localhost/rc';\n" >"$legacy/config/db.inc.php"
chmod 640 "$legacy/config/main.inc.php" "$legacy/config/db.inc.php"

root=$WORK/trees/debian
mkdir -p "$root/var/lib/dpkg" "$root/var/lib/roundcube/public_html/installer" "$root/etc/roundcube" \
    "$root/usr/share/doc/roundcube-core" "$root/srv/www"
iniset 1.6.5 "$root/usr/share/roundcube"
migrations "$root/usr/share/roundcube" 2022081200
sqlite_db "$root/var/lib/dbconfig-common/sqlite3/roundcube/roundcube" system 2022081200
printf 'Package: roundcube-core\nStatus: install ok installed\nVersion: 1.6.5+dfsg-1+deb12u1\n\n' \
    >"$root/var/lib/dpkg/status"
cat >"$root/etc/roundcube/config.inc.php" <<'PHP'
<?php
include("/etc/roundcube/debian-db-roundcube.php");
$config['des_key'] = 'rcmail-!24ByteDESkey*Str';
$config['ldap_conn_options'] = ['ssl' => ['verify_peer_name' => 0]];
PHP
printf "<?php\n\$config['db_dsnw'] = 'sqlite:///%s?mode=0640';\n" \
    "$root/var/lib/dbconfig-common/sqlite3/roundcube/roundcube" >"$root/etc/roundcube/debian-db-roundcube.php"
echo "<?php" >"$root/etc/roundcube/debian-db.php"
chmod 640 "$root/etc/roundcube/config.inc.php"
chmod 644 "$root/etc/roundcube/debian-db-roundcube.php" "$root/etc/roundcube/debian-db.php"
printf 'roundcube (1.6.5+dfsg-1+deb12u1) bookworm-security; urgency=medium\n\n  * Backport security fixes from v1.6.6 (CVE-2024-37383).\n' |
    gzip >"$root/usr/share/doc/roundcube-core/changelog.Debian.gz"

noconfig=$WORK/trees/noconfig
iniset 1.5.2 "$noconfig"
mkdir -p "$noconfig/config" "$noconfig/public_html"

mkdir -p "$WORK/trees/empty" "$WORK/inputs"
echo ../trees/tarball >"$WORK/inputs/tarball"
echo ../trees/legacy >"$WORK/inputs/legacy"
printf '../trees/debian/var/lib/roundcube\n../trees/debian/var/lib/roundcube\n' >"$WORK/inputs/debian"
printf '../trees/debian/usr/share/roundcube\n../trees/debian/srv/www\n' >"$WORK/inputs/debian-share"
echo ../trees/noconfig >"$WORK/inputs/noconfig"
echo ../trees/empty >"$WORK/inputs/empty"

port=$(free_port) || die "no free port"
(cd "$tarball" && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 "$port") >"$WORK/http.log" 2>&1 &
http_pid=$!
on_exit "stop_pid $http_pid TERM 5"
for _ in $(seq 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null && break
    kill -0 "$http_pid" 2>/dev/null || die "http.server: $(cat "$WORK/http.log")"
    sleep 0.1
done
printf '../trees/tarball\n../trees/tarball\nhttp://127.0.0.1:%s\n' "$port" >"$WORK/inputs/tarball-url"

"$alloc_fail" roundcube_audit "$WORK/inputs" || die "roundcube_audit: an answer changed without saying so"
ok "roundcube_audit: every allocation failure handled"
finish roundcube
