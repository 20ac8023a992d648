#!/usr/bin/env bash
# The e-mail module's data files, through SQL (see lib.sh):
#
#   data.sh ENGINE INFOFILE addresses tests/data/email/addresses.txt
#       each line's is_email(ADDRESS, PROFILE) must be VALID and its
#       email_diagnosis(ADDRESS, PROFILE) must be DIAGNOSIS
#   data.sh ENGINE INFOFILE normalize tests/data/email/normalize.txt
#       each line's email_normalize(ADDRESS, PROFILE) must be NORMAL
#       (NULL for "-")
#
# The files' expectations come from the RFCs (see their headers); here they
# check that the SQL functions give exactly those answers. Addresses travel
# as hex, so every byte reaches the function as written; the profile comes
# from a column, row by row. PostgreSQL text cannot hold NUL bytes or
# invalid UTF-8: such lines are skipped there, and counted.
set -uo pipefail

ENGINE=$1 INFO=$2 KIND=$3 FILE=$4
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

WORK=$(mktemp -d)
trap 'sql_close; rm -rf "$WORK"' EXIT
sql_open "$ENGINE" "$INFO" >"$WORK/open.out" 2>&1 || {
    echo "FAIL - cannot open a scratch database: $(cat "$WORK/open.out")"
    exit 1
}

# Writes the SQL (load, then one query) and the expected rows.
perl -CS -e '
    use strict; use warnings;
    my ($engine, $kind, $file, $sqlf, $expf) = @ARGV;
    open my $in, "<:raw", $file or die "$file: $!";
    open my $sql, ">:raw", $sqlf or die; open my $exp, ">:raw", $expf or die;
    sub unescape {
        my $s = shift;
        $s =~ s/\\(x([0-9A-Fa-f]{2})|t|r|n|\\)/
            defined $2 ? chr(hex $2) : $1 eq "t" ? "\t" : $1 eq "r" ? "\r" : $1 eq "n" ? "\n" : "\\"/ge;
        return $s;
    }
    use Encode ();
    # Strict UTF-8 (no surrogates, no overlongs), as PostgreSQL checks it.
    sub pg_can_hold {
        my $s = shift;
        return 0 if $s =~ /\0/;
        return eval { Encode::decode("UTF-8", $s, Encode::FB_CROAK); 1 } ? 1 : 0;
    }
    my $type = $engine eq "pgsql" ? "text" : "LONGBLOB";
    print $sql "CREATE TABLE d (n INT, profile VARCHAR(16), addr $type);\n";
    my ($line, $skipped) = (0, 0);
    while (my $l = <$in>) {
        $line++;
        chomp $l;
        next if $l =~ /^\s*(#|$)/;
        my @f = split /\t/, $l, -1;
        my ($profile, $addr, @want);
        if ($kind eq "addresses") {
            ($profile, my $valid, undef, my $diag, $addr) = @f;
            @want = ($valid, $diag);
        } else {
            ($profile, $addr, my $normal) = @f;
            @want = ($normal eq "-" ? "NULL" : unpack("H*", unescape($normal)));
        }
        $addr = unescape($addr);
        if ($engine eq "pgsql" && !pg_can_hold($addr)) { $skipped++; next; }
        my $hex = unpack("H*", $addr);
        my $lit = $engine eq "pgsql" ? "convert_from(decode(\x27$hex\x27, \x27hex\x27), \x27UTF8\x27)"
                                     : "UNHEX(\x27$hex\x27)";
        $lit = "\x27\x27" if $hex eq "";
        print $sql "INSERT INTO d VALUES ($line, \x27$profile\x27, $lit);\n";
        (my $shown = $f[$kind eq "addresses" ? 4 : 1]) =~ s/[^\x20-\x7e]/?/g;
        print $exp join("\t", $line, "$profile $shown", @want), "\n";
    }
    my $bool = $engine eq "pgsql" ? "CASE WHEN is_email(addr, profile) THEN 1 ELSE 0 END" : "is_email(addr, profile)";
    my $hexof = $engine eq "pgsql" ? "encode(convert_to(%s, \x27UTF8\x27), \x27hex\x27)" : "LOWER(HEX(%s))";
    if ($kind eq "addresses") {
        print $sql "SELECT n, $bool, email_diagnosis(addr, profile) FROM d ORDER BY n;\n";
    } else {
        printf $sql "SELECT n, $hexof FROM d ORDER BY n;\n", "email_normalize(addr, profile)";
    }
    print STDERR "skipped $skipped\n";
' "$ENGINE" "$KIND" "$FILE" "$WORK/test.sql" "$WORK/expected" 2>"$WORK/skipped" || {
    echo "FAIL - cannot read $FILE: $(cat "$WORK/skipped")"
    exit 1
}
skipped=$(sed -n 's/^skipped //p' "$WORK/skipped")

if ! sql_run <"$WORK/test.sql" >"$WORK/got" 2>"$WORK/err"; then
    echo "FAIL - the queries failed: $(head -c 2000 "$WORK/err")"
    exit 1
fi

# Expected: LINE NAME WANT...; got: LINE GOT...
perl -e '
    use strict; use warnings;
    my ($expf, $gotf, $file) = @ARGV;
    open my $g, "<", $gotf or die; my %got;
    while (<$g>) { chomp; my ($n, @v) = split /\t/, $_, -1; $got{$n} = \@v; }
    open my $e, "<", $expf or die;
    my ($pass, $fail) = (0, 0);
    while (<$e>) {
        chomp; my ($n, $name, @want) = split /\t/, $_, -1;
        my $got = $got{$n};
        if ($got && join("\t", @$got) eq join("\t", @want)) {
            print "ok   - $file:$n $name\n"; $pass++;
        } else {
            print "FAIL - $file:$n $name\n       expected: @want\n       got:      ",
                ($got ? "@$got" : "(no row)"), "\n"; $fail++;
        }
    }
    print "SUMMARY $pass $fail\n";
' "$WORK/expected" "$WORK/got" "$(basename "$FILE")" >"$WORK/report"
grep -v '^SUMMARY' "$WORK/report"
read -r _ passed failed < <(grep '^SUMMARY' "$WORK/report")
echo "$(basename "$FILE") on $ENGINE: $passed passed, $failed failed, $skipped skipped (NUL or invalid UTF-8: not PostgreSQL text)"
((failed == 0 && passed > 0))
