#!/bin/bash
# mailsec roundcube audit --url against a real PHP server (php -S on a
# loopback high port) serving a release: the installation directory served
# as the web root exposes the installer, the configuration, a log, .git and
# composer.json; public_html/ served exposes nothing; the login page tells
# the version; an older installation whose installer answers no longer
# exposes it once `roundcube upgrade` has run; a site that does not answer
# cannot be checked (exit 2).
# Usage: audit-url.sh MAILSEC
set -euo pipefail
MAILSEC=$1
source "$(dirname "$0")/audit-lib.sh"
source "$(dirname "$0")/../lib/servers.sh"
# 1.6.18: its login page runs on Debian 12's PHP 8.2 without vendor/
# (1.7 needs PHP 8.5's array_last() from a polyfill vendor/ would hold)
VERSION=1.6.18
OLD=1.5.15
rc_need_release $VERSION
PHP_MODULES=$(php -m 2>/dev/null || true)
if ! grep -qx dom <<<"$PHP_MODULES" || ! grep -qx pdo_sqlite <<<"$PHP_MODULES"; then
    echo "SKIP: php-cli with php-xml and php-sqlite3 is needed (scripts/deps.txt)"
    exit 77
fi
WORK=$(mktemp -d)
PHP_PID=
stop_php() {
    if [[ -n $PHP_PID ]]; then
        kill "$PHP_PID" 2>/dev/null || true
        wait "$PHP_PID" 2>/dev/null || true
        PHP_PID=
    fi
}
trap 'stop_php; rm -rf "$WORK"' EXIT
OUT=$WORK/out.json

# serve DOCROOT: php -S on a free port, $URL its address once it answers.
serve() {
    local port tries
    port=$(free_port) || { echo "FAIL - no free port"; exit 1; }
    (cd "$1" && exec php -S "127.0.0.1:$port" -t "$1" >"$WORK/php.log" 2>&1) &
    PHP_PID=$!
    URL=http://127.0.0.1:$port
    for tries in $(seq 100); do
        curl -s -o /dev/null "$URL/" && return 0
        sleep 0.1
    done
    fail "php -S did not answer: $(cat "$WORK/php.log")"
}

rc_install $VERSION "$WORK/rc"
# what a careless installation leaves behind
cp -a "$(rc_release $VERSION)/installer" "$WORK/rc/installer"
echo "\$config['enable_installer'] = true;" >>"$WORK/rc/config/config.inc.php"
mkdir -p "$WORK/rc/.git"
printf '[core]\n\trepositoryformatversion = 0\n\tbare = false\n' >"$WORK/rc/.git/config"
cp "$WORK/rc/composer.json-dist" "$WORK/rc/composer.json"
echo "[06-Dec-2026 10:00:00 +0000]: <abc> IMAP Error: Login failed for admin" >"$WORK/rc/logs/errors.log"

echo "== the installation directory served: everything exposed"
serve "$WORK/rc"
rc_audit "$OUT" --url "$URL/" "$WORK/rc"
expect_status 1 "$OUT"
for path in /installer/ /config/config.inc.php /logs/errors.log /.git/config /composer.json; do
    expect_code "$OUT" roundcube.url-exposed "$path"
done
expect_no_code "$OUT" roundcube.url-failed
stop_php

echo "== public_html/ served: nothing exposed, the version on the login page"
serve "$WORK/rc/public_html"
rc_audit "$OUT" --url "$URL" "$WORK/rc"
expect_no_code "$OUT" roundcube.url-exposed
expect_code "$OUT" roundcube.url-version "$URL"
json_true --arg v "$VERSION" '.results[0].login_page_version == $v' "$OUT" ||
    fail "login page version: $(jq -c '.results[0].login_page_version' "$OUT")"
# php -S answers /logs/ and /temp/ with the login page (its fallback to
# index.php): 200, but not an exposure
[[ $(curl -s -o /dev/null -w '%{http_code}' "$URL/logs/") == 200 ]] || fail "php -S fallback changed"
echo "== the same, the installer removed and disabled: a clean audit"
rm -rf "$WORK/rc/installer"
sed -i '/enable_installer/d' "$WORK/rc/config/config.inc.php"
rm -rf "$WORK/rc/.git" "$WORK/rc/composer.json"
rc_audit "$OUT" --url "$URL" "$WORK/rc"
expect_status 0 "$OUT"
json_true '[.results[0].diagnostics[] | select(.severity != "info")] | length == 0' "$OUT" ||
    fail "findings left: $(rc_codes "$OUT" | tr '\n' ' ')"
stop_php

echo "== $OLD with its installer left reachable, then upgraded to $VERSION"
rc_need_release $OLD
rc_install $OLD "$WORK/old"
cp -a "$(rc_release $OLD)/installer" "$WORK/old/installer"
echo "\$config['enable_installer'] = true;" >>"$WORK/old/config/config.inc.php"
serve "$WORK/old"
rc_audit "$OUT" --url "$URL/" "$WORK/old"
expect_code "$OUT" roundcube.url-exposed /installer/
stop_php
# exit 1: the audit after the upgrade still finds enable_installer = true
set +e
"$MAILSEC" roundcube upgrade --yes --backup-dir "$WORK/backup" --release "$(rc_release $VERSION)" \
    --to "$WORK/old" >"$WORK/upgrade.out" 2>&1
status=$?
set -e
[[ $status == 1 ]] && grep -q roundcube.installer-enabled "$WORK/upgrade.out" ||
    fail "upgrade: exit $status: $(tail -5 "$WORK/upgrade.out")"
[[ ! -e $WORK/old/installer ]] || fail "the upgrade left installer/"
serve "$WORK/old"
rc_audit "$OUT" --url "$URL/" "$WORK/old"
expect_no_code "$OUT" roundcube.url-exposed /installer/
stop_php
serve "$WORK/old/public_html"
rc_audit "$OUT" --url "$URL" "$WORK/old"
expect_no_code "$OUT" roundcube.url-exposed
expect_code "$OUT" roundcube.url-version "$URL"
stop_php

echo "== a site that does not answer: could not check"
rc_audit "$OUT" --url "$URL" "$WORK/rc"
expect_status 2 "$OUT"
expect_code "$OUT" roundcube.url-failed
rc_codes_listed audit-url
echo "PASS"
