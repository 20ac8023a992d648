#!/bin/bash
# Case-insensitive keywords are compared in ASCII, whatever the locale: in
# a Turkish locale glibc's strcasecmp says "I" and "i" differ, and before
# lib/core's ms_ascii_strcasecmp an SPF record's "IP4:" was reported as an
# unknown mechanism there. The locale is compiled for the test (localedef,
# from Debian's locales package) into a temporary LOCPATH.
# Usage: locale.sh MAILSEC
set -euo pipefail
MAILSEC=$1
if ! command -v localedef >/dev/null || [[ ! -f /usr/share/i18n/locales/tr_TR ]]; then
    echo "SKIP: localedef and the tr_TR locale source (Debian: locales) are needed"
    exit 77
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
localedef -i tr_TR -f UTF-8 "$WORK/tr_TR.UTF-8" 2>/dev/null || true
[[ -d $WORK/tr_TR.UTF-8 ]] || { echo "FAIL: localedef made no tr_TR.UTF-8"; exit 1; }

# the locale really is the Turkish one: its "I" lower-cases to dotless ı
[[ $(printf 'I' | LOCPATH=$WORK LC_ALL=tr_TR.UTF-8 awk '{ print tolower($0) }') != i ]] ||
    { echo "FAIL: tr_TR.UTF-8 did not load"; exit 1; }

status=0
out=$(LOCPATH=$WORK LC_ALL=tr_TR.UTF-8 "$MAILSEC" spf check --json \
    --record 'v=spf1 IP4:192.0.2.1 IP6:2001:db8::1 -ALL' --domain example.com) || status=$?
if [[ $status != 0 ]] || ! jq -e '.results[0].diagnostics | length == 0' <<<"$out" >/dev/null; then
    echo "FAIL: in tr_TR.UTF-8, 'IP4:' and 'IP6:' are not SPF mechanisms (exit $status): $out"
    exit 1
fi
echo "PASS"
