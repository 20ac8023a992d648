#!/usr/bin/env bash
# The SQL functions agree with the library on every address of the is_email
# conformance suite (tests.xml), under every profile, in both call forms:
#
#   isemail.sh ENGINE INFOFILE ORACLE CONFORMANCE_DIR
#
# ORACLE (oracle.c) prints the library's own answers; the same addresses go
# through SQL (as hex, so every byte arrives as written; the profile from a
# column, row by row) and each row must match. This checks the glue, not
# the verdicts: those are checked against the suite's expectations by
# tests/unit/email. Exit 77 (skipped) when the suite is absent.
set -uo pipefail

ENGINE=$1 INFO=$2 ORACLE=$3 SUITE=$4/isemail/tests.xml
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

if [[ ! -f $SUITE ]]; then
    echo "skipped: the is_email suite is not at $SUITE (set MAILSEC_CONFORMANCE_DIR)"
    exit 77
fi

WORK=$(mktemp -d)
trap 'sql_close; rm -rf "$WORK"' EXIT
sql_open "$ENGINE" "$INFO" >"$WORK/open.out" 2>&1 || {
    echo "FAIL - cannot open a scratch database: $(cat "$WORK/open.out")"
    exit 1
}

# N<TAB>HEX per address: XML entities decoded, and is_email's stand-ins for
# control characters (U+2400 + code) turned back into the characters.
perl -e '
    use strict; use warnings;
    local $/; my $xml = <STDIN>;
    utf8::decode($xml);
    while ($xml =~ m{<test id="(\d+)">\s*<address(?:\s*/>|>(.*?)</address>)}gs) {
        my ($id, $a) = ($1, $2 // "");
        $a =~ s/&#x([0-9A-Fa-f]+);/chr(hex $1)/ge;
        $a =~ s/&#(\d+);/chr($1)/ge;
        $a =~ s/&lt;/</g; $a =~ s/&gt;/>/g; $a =~ s/&quot;/"/g; $a =~ s/&apos;/\x27/g; $a =~ s/&amp;/&/g;
        $a =~ s/([\x{2400}-\x{241f}])/chr(ord($1) - 0x2400)/ge;
        utf8::encode($a);
        print "$id\t", unpack("H*", $a), "\n";
    }
' <"$SUITE" >"$WORK/addresses"
total=$(wc -l <"$WORK/addresses")
((total > 0)) || { echo "FAIL - no addresses found in $SUITE"; exit 1; }

# PostgreSQL text holds neither NUL nor invalid UTF-8: those stay out there.
if [[ $ENGINE == pgsql ]]; then
    perl -MEncode -ne 'my ($n, $h) = split /\t/; chomp $h; my $b = pack("H*", $h);
        print if $b !~ /\0/ && eval { Encode::decode("UTF-8", $b, Encode::FB_CROAK); 1 };' \
        "$WORK/addresses" >"$WORK/usable"
else
    cp "$WORK/addresses" "$WORK/usable"
fi
skipped=$((total - $(wc -l <"$WORK/usable")))

"$ORACLE" <"$WORK/usable" | sort >"$WORK/expected" || { echo "FAIL - the oracle failed"; exit 1; }

{
    if [[ $ENGINE == pgsql ]]; then
        addr_type=text
        hexof() { echo "encode(convert_to($1, 'UTF8'), 'hex')"; }
        bool() { echo "CASE WHEN $1 THEN 1 ELSE 0 END"; }
    else
        addr_type=LONGBLOB
        hexof() { echo "LOWER(HEX($1))"; }
        bool() { echo "$1"; }
    fi
    echo "CREATE TABLE d (n INT, addr $addr_type);"
    echo "CREATE TABLE p (profile VARCHAR(16));"
    echo "INSERT INTO p VALUES ('smtp'), ('rfc5322'), ('html5'), ('intl');"
    while IFS=$'\t' read -r n hex; do
        if [[ -z $hex ]]; then
            echo "INSERT INTO d VALUES ($n, '');"
        else
            echo "INSERT INTO d VALUES ($n, $(sql_hex_literal "$hex"));"
        fi
    done <"$WORK/usable"
    echo "SELECT n, profile, $(bool "is_email(addr, profile)"), email_diagnosis(addr, profile),"
    echo "  $(hexof "email_normalize(addr, profile)"), $(hexof "email_local(addr, profile)"),"
    echo "  $(hexof "email_domain(addr, profile)") FROM d CROSS JOIN p;"
    echo "SELECT n, 'default', $(bool "is_email(addr)"), email_diagnosis(addr),"
    echo "  $(hexof "email_normalize(addr)"), $(hexof "email_local(addr)"), $(hexof "email_domain(addr)") FROM d;"
} >"$WORK/test.sql"

if ! sql_run <"$WORK/test.sql" >"$WORK/got.unsorted" 2>"$WORK/err"; then
    echo "FAIL - the queries failed: $(head -c 2000 "$WORK/err")"
    exit 1
fi
sort "$WORK/got.unsorted" >"$WORK/got"

# One verdict per address: all of its rows (5 call forms) must match.
perl -e '
    use strict; use warnings;
    my ($expf, $gotf) = @ARGV;
    sub load { my %h; open my $f, "<", shift or die; while (<$f>) { chomp; my ($n, $p) = split /\t/; $h{$n}{$p} = $_ } \%h }
    my ($exp, $got) = (load($expf), load($gotf));
    my ($pass, $fail) = (0, 0);
    for my $n (sort { $a <=> $b } keys %$exp) {
        my @bad = grep { ($got->{$n}{$_} // "(no row)") ne $exp->{$n}{$_} } sort keys %{$exp->{$n}};
        if (!@bad) { print "ok   - tests.xml id $n\n"; $pass++; next; }
        print "FAIL - tests.xml id $n\n";
        print "       library: $exp->{$n}{$_}\n       sql:     ", $got->{$n}{$_} // "(no row)", "\n" for @bad;
        $fail++;
    }
    print "SUMMARY $pass $fail\n";
' "$WORK/expected" "$WORK/got" >"$WORK/report"
grep -v '^SUMMARY' "$WORK/report"
read -r _ passed failed < <(grep '^SUMMARY' "$WORK/report")
echo "is_email suite on $ENGINE: $passed agree, $failed differ, $skipped skipped (NUL or invalid UTF-8: not PostgreSQL text)"
((failed == 0 && passed > 0))
