#!/usr/bin/env bash
# dmarcts-report-parser (Debian's package) writing DMARC aggregate reports
# into a real MariaDB, timed: the peer for mailsec's records per second.
#
#   bench/report/dmarcts.sh [--records N] [PATH...]
#
# PATH: plain XML report files, or directories of them (*.xml). Without
# PATH the script makes its own: gen_corpus.py files (mean 50 records a
# report) for about N records (default 20000), unwrapped to plain XML by
# unwrap.py. dmarcts reads them with -x (XML files).
#
# MariaDB, not PostgreSQL: it is dmarcts' default and the only database its
# Debian package pulls the driver for (libclass-dbi-mysql-perl). The server
# is mariadbd with its own datadir on a random loopback high port under
# mktemp, default settings (every report committed durably, as dmarcts
# does it), stopped and removed on exit. dmarcts creates its schema on
# its first connection; that run (over no report) is not timed.
#
# Prints what it did, then one line for run.sh:
#   dmarcts reports=R records=N expected=E xml_bytes=B seconds=S cpu_seconds=C
# records: rows in rptrecord after the run (SELECT count(*)); expected:
# <record> elements in the input; seconds: wall clock of the one timed run;
# cpu_seconds: dmarcts' own CPU time; server_cpu_seconds: mariadbd's during
# the run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
records=20000
while [[ ${1:-} == --* ]]; do
    case $1 in
        --records) records=$2; shift 2 ;;
        *) echo "usage: $0 [--records N] [PATH...]" >&2; exit 2 ;;
    esac
done

DMARCTS=/usr/sbin/dmarcts-report-parser
[[ -x $DMARCTS ]] || { echo "dmarcts: $DMARCTS not found (Debian package dmarcts-report-parser)" >&2; exit 2; }
[[ -x /usr/sbin/mariadbd ]] || { echo "dmarcts: mariadbd not found (Debian package mariadb-server)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-dmarcts.XXXXXX")
. "$here/db.sh"
cleanup() { db_stop_all || true; rm -rf "$work"; }
trap cleanup EXIT
trap "exit 1" INT TERM HUP # so that the servers are stopped then too

# The input files, one per line in $work/files.
if (($# == 0)); then
    /usr/bin/python3 "$here/gen_corpus.py" files "$work/src" --reports $(((records + 49) / 50)) --records 50 >/dev/null
    /usr/bin/python3 "$here/unwrap.py" "$work/src" "$work/xml" "$work/gz" >/dev/null
    set -- "$work/xml"
fi
for p in "$@"; do
    if [[ -d $p ]]; then
        find "$p" -maxdepth 1 -name '*.xml' -xtype f | sort
    else
        echo "$p"
    fi
done >"$work/files"
nfiles=$(wc -l <"$work/files")
((nfiles > 0)) || { echo "dmarcts: no XML files in $*" >&2; exit 2; }
xml_bytes=$(xargs -d '\n' cat <"$work/files" | wc -c)
expected=$(xargs -d '\n' cat <"$work/files" | grep -o '<record>' | wc -l)

mariadb_start || exit 1
echo "dmarcts: MariaDB $(mariadb_sql 'SELECT VERSION()') on $DB_ADDR:$MARIADB_PORT"

# dmarcts reads its configuration from the current directory.
mkdir "$work/run"
cat >"$work/run/dmarcts-report-parser.conf" <<CONF
\$debug = 0;
\$delete_reports = 0;
\$dbtype = 'mysql';
\$dbname = 'dmarc';
\$dbuser = 'dmarc';
\$dbpass = 'dmarc';
\$dbhost = '$DB_ADDR';
\$dbport = '$MARIADB_PORT';
\$imapreadfolder = 'unused';
\$maxsize_xml = 50000;
\$compress_xml = 0;
\$delete_failed = 0;
1;
CONF
cd "$work/run"
echo '<nothing/>' >"$work/empty.xml"
"$DMARCTS" -x "$work/empty.xml" >"$work/schema.log" 2>&1 || true
mariadb_sql 'SELECT count(*) FROM rptrecord' >/dev/null ||
    { echo "dmarcts: it did not create its schema:" >&2; cat "$work/schema.log" >&2; exit 1; }

echo "dmarcts: $nfiles files, $xml_bytes bytes of XML, $expected records: dmarcts-report-parser -x ..."
server_cpu0=$(cpu_seconds "$(mariadb_pid)")
start=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$work/cpu" xargs -d '\n' "$DMARCTS" -x <"$work/files" >"$work/run.log" 2>&1 ||
    echo "dmarcts: exited non-zero, see below" >&2
end=$(date +%s.%N)
server_cpu=$(echo "$(cpu_seconds "$(mariadb_pid)") - $server_cpu0" | bc -l)

stored=$(mariadb_sql 'SELECT count(*) FROM rptrecord')
reports=$(mariadb_sql 'SELECT count(*) FROM report')
seconds=$(echo "$end - $start" | bc -l)
cpu=$(tail -n 1 "$work/cpu" | awk '{ print $1 + $2 }') # after "Command exited with ..." if it failed
if grep -q . "$work/run.log"; then
    echo "dmarcts: what it said (first lines):"
    head -n 5 "$work/run.log"
fi
printf 'dmarcts: stored %d reports, %d of %d records in %.2f s: %.0f records/s\n' \
    "$reports" "$stored" "$expected" "$seconds" "$(echo "$stored / $seconds" | bc -l)"
printf 'dmarcts: its CPU time %.2f s, the server %.2f s\n' "$cpu" "$server_cpu"
printf 'dmarcts reports=%d records=%d expected=%d xml_bytes=%d seconds=%.3f cpu_seconds=%.3f server_cpu_seconds=%.3f\n' \
    "$reports" "$stored" "$expected" "$xml_bytes" "$seconds" "$cpu" "$server_cpu"
