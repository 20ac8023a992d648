#!/usr/bin/env bash
# The report-ingest benchmark, everything side by side in one run, on one
# generated corpus (gen_corpus.py files, unwrapped by unwrap.py into the
# same reports as plain XML and as gzip):
#   expat_only       expat over the .gz files, no handlers (the reference
#                    of the first target) and with minimal handlers
#   mailsec/SQLite   mailsec report ingest --json --db sqlite:... over the .gz files,
#                    with its default readers (a reader per core, 1 to 4) and with
#                    --jobs 1 (one reader)
#   mailsec/PgSQL    the same into a PostgreSQL the script starts
#   dmarcts          dmarcts-report-parser -x into a MariaDB (dmarcts.sh),
#                    over the corpus's first reports (it is slow)
#   rss              peak RSS of mailsec report ingest on one big report and
#                    on a big mbox (/usr/bin/time -f %M)
#
#   bench/report/run.sh BUILD_DIR [REPORTS [RECORDS]]
#
# REPORTS reports (default 20000) of RECORDS records on average (default
# 50): about a million records. Environment:
#   PARTS="expat sqlite pgsql dmarcts rss"  the parts to run; each runs alone
#   ROUNDS=3              rounds of expat_only and of each mailsec ingest
#                         (a fresh database each); the fastest counts
#   DMARCTS_RECORDS=20000 about this many records for dmarcts
#   BIG_BYTES=1G          XML size of the single big report (stored as .gz)
#   MBOX_BYTES=1G         size of the big mbox (1G: about 18M records). The
#                         target names 10 GB; MBOX_BYTES=10G works, but
#                         generating it takes ten times as long as 1G does.
#   BEFORE=BUILD_DIR      with the sqlite and pgsql parts: also the same
#                         ingest by the mailsec of another build (the
#                         version before a change), its rounds alternating
#                         with this build's, and the ratio of the two
#
# Seconds are wall clock of the whole process (what a user waits for),
# records/s and MB/s (MB of XML, 10^6 bytes, after decompression, the same
# bytes for every tool) follow from them. The targets are judged on those.
# CPU seconds (user + system of the tool, plus its database server's for
# PostgreSQL and MariaDB; SQLite runs inside mailsec) and the rates per CPU
# second are shown beside: on a shared machine they move less than the wall
# clock. Compare rows of one run, not runs of different days.
#
# The mailsec rows need `mailsec report ingest` in BUILD_DIR/src/mailsec
# (and its PostgreSQL store for the PgSQL row); without them those rows say
# "skipped" and why. Needs: cc, libexpat1-dev, zlib1g-dev, jq, bc, time,
# mariadb-server, postgresql-15, dmarcts-report-parser (scripts/deps.txt).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -ge 1 ]] || { echo "usage: $0 BUILD_DIR [REPORTS [RECORDS]]" >&2; exit 2; }
build=$(cd "$1" && pwd)
reports=${2:-20000}
records=${3:-50}
parts=${PARTS:-expat sqlite pgsql dmarcts rss}
rounds=${ROUNDS:-3}
dmarcts_records=${DMARCTS_RECORDS:-20000}
big_bytes=${BIG_BYTES:-1G}
mbox_bytes=${MBOX_BYTES:-1G}
mailsec=$build/src/mailsec
before=${BEFORE:+$(cd "$BEFORE" && pwd)/src/mailsec}
RSS_LIMIT_KB=$((64 * 1024))

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-report.XXXXXX")
. "$here/db.sh"
cleanup() { db_stop_all || true; rm -rf "$work"; }
trap cleanup EXIT
trap "exit 1" INT TERM HUP # so that the servers are stopped then too

want() { [[ " $parts " == *" $1 "* ]]; }

# Results: R[row.key] from "key=value ..." lines; SKIP[row] says why a row is empty.
declare -A R SKIP
keep() {
    local row=$1 pair
    shift
    for pair in "$@"; do R[$row.${pair%%=*}]=${pair#*=}; done
}
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }

have_ingest() { [[ -x $mailsec ]] && "$mailsec" report ingest --help >/dev/null 2>&1; }

size_bytes() { # 1G -> bytes, as gen_corpus.py reads it
    local n=${1%[KkMmGg]}
    case ${1: -1} in
        K | k) echo $((n << 10)) ;; M | m) echo $((n << 20)) ;; G | g) echo $((n << 30)) ;; *) echo "$1" ;;
    esac
}

# --- the corpus ------------------------------------------------------------

make_corpus() {
    echo "corpus: gen_corpus.py files --reports $reports --records $records, unwrapped to .xml and .xml.gz"
    /usr/bin/python3 "$here/gen_corpus.py" files "$work/src" --reports "$reports" --records "$records" >/dev/null
    local line
    line=$(/usr/bin/python3 "$here/unwrap.py" "$work/src" "$work/xml" "$work/gz" "$work/manifest")
    rm -rf "$work/src"
    sync # the corpus just written goes to disk now, not during the first timed run
    cat "$work"/gz/* >/dev/null # and is read once before any tool is timed
    # shellcheck disable=SC2086 # key=value words
    keep corpus $line
    echo "corpus: ${R[corpus.reports]} reports, ${R[corpus.records]} records," \
        "${R[corpus.xml_bytes]} bytes of XML, ${R[corpus.gz_bytes]} bytes gzipped"
}

# --- expat_only --------------------------------------------------------------

run_expat() {
    cc -O2 -std=c17 -Wall -Wextra "$here/expat_only.c" -lexpat -lz -o "$work/expat_only"
    local line
    line=$("$work/expat_only" --rounds "$rounds" "$work/gz")
    echo "expat_only, no handlers:      $line"
    # shellcheck disable=SC2086
    keep expat $line
    R[expat.records]=${R[corpus.records]}
    R[expat.cpu_total]=${R[expat.cpu_seconds]}
    line=$("$work/expat_only" --handlers --rounds "$rounds" "$work/gz")
    echo "expat_only, minimal handlers: $line"
    # shellcheck disable=SC2086
    keep expat_h $line
    R[expat_h.cpu_total]=${R[expat_h.cpu_seconds]}
}

# --- mailsec report ingest ---------------------------------------------------

# ingest_rounds ROW URL RESET [SERVER_PID [OPTION...]]: ROUNDS runs of
# mailsec report ingest --json [OPTION...] over the .gz files, RESET (a
# command) before each; keeps the fastest. SERVER_PID (a command, or "")
# names the database server, whose CPU time is added to the client's.
# ROUNDS_DONE rounds (0) of ROW are there already: one more round is run.
ingest_rounds() {
    local row=$1 url=$2 reset=$3 server=${4:-} r rc wall user sys rss server0=0 server_cpu=0
    local extra=("${@:5}") from=${ROUNDS_DONE:-0} to=$rounds
    [[ -n ${ROUNDS_DONE:-} ]] && to=$((from + 1))
    for ((r = from; r < to; r++)); do
        $reset
        [[ -n $server ]] && server0=$(cpu_seconds "$($server)")
        rc=0
        /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
            "$mailsec" report ingest --json "${extra[@]}" --db "$url" "$work/gz" >"$work/ingest.json" \
            2>"$work/ingest.err" || rc=$?
        if ((rc > 1)) || ! jq -e '.tally.records' "$work/ingest.json" >/dev/null 2>&1; then
            SKIP[$row]="mailsec report ingest exited $rc: $(head -n 1 "$work/ingest.err")"
            echo "$row: skipped: ${SKIP[$row]}"
            return 0
        fi
        # time(1) puts "Command exited with non-zero status" before its line.
        read -r wall user sys rss < <(tail -n 1 "$work/time")
        [[ -n $server ]] && server_cpu=$(calc "$(cpu_seconds "$($server)") - $server0")
        echo "$row round $((r + 1)): ${wall}s, $(jq -c .tally "$work/ingest.json")"
        if ((r == 0)) || (($(calc "$wall < ${R[$row.seconds]}"))); then
            # The tally's own seconds are replaced by the wall clock, as for every tool.
            # shellcheck disable=SC2046
            keep "$row" $(jq -r '.tally | to_entries[] | "\(.key)=\(.value)"' "$work/ingest.json")
            keep "$row" seconds="$wall" cpu_seconds="$(calc "$user + $sys")" rss_kb="$rss" \
                cpu_total="$(calc "$user + $sys + $server_cpu")"
        fi
    done
    if [[ ${R[$row.records]} != "${R[corpus.records]}" ]]; then
        echo "$row: NOTE: ${R[$row.records]} records ingested, the corpus has ${R[corpus.records]}"
    fi
}

reset_sqlite() { rm -f "$work"/ingest.db*; }

run_sqlite() {
    if ! have_ingest; then
        SKIP[sqlite]="no 'mailsec report ingest' in $mailsec yet"
        echo "mailsec/SQLite: skipped: ${SKIP[sqlite]}"
        return 0
    fi
    if [[ -n $before ]]; then # this build and the one before, alternating
        local r
        for ((r = 0; r < rounds; r++)); do
            ROUNDS_DONE=$r ingest_rounds sqlite "sqlite:$work/ingest.db" reset_sqlite
            mailsec=$before ROUNDS_DONE=$r ingest_rounds sqlite_before "sqlite:$work/ingest.db" reset_sqlite
        done
    else
        ingest_rounds sqlite "sqlite:$work/ingest.db" reset_sqlite
    fi
    # one reader only, for comparison
    ingest_rounds sqlite_j1 "sqlite:$work/ingest.db" reset_sqlite "" --jobs 1
    reset_sqlite
}

run_pgsql() {
    if ! have_ingest; then
        SKIP[pgsql]="no 'mailsec report ingest' in $mailsec yet"
        echo "mailsec/PostgreSQL: skipped: ${SKIP[pgsql]}"
        return 0
    fi
    if ! pgsql_start; then
        SKIP[pgsql]="PostgreSQL did not start (above)"
        return 0
    fi
    echo "mailsec/PostgreSQL: server on $DB_ADDR:$PGSQL_PORT"
    if [[ -n $before ]]; then # this build and the one before, alternating
        local r
        for ((r = 0; r < rounds; r++)); do
            ROUNDS_DONE=$r ingest_rounds pgsql "$PGSQL_URL" pgsql_recreate pgsql_pid
            mailsec=$before ROUNDS_DONE=$r ingest_rounds pgsql_before "$PGSQL_URL" pgsql_recreate pgsql_pid
        done
    else
        ingest_rounds pgsql "$PGSQL_URL" pgsql_recreate pgsql_pid
    fi
    pgsql_stop
}

# --- dmarcts-report-parser ---------------------------------------------------

run_dmarcts() {
    # The corpus's first reports, up to about DMARCTS_RECORDS records.
    mkdir "$work/dm"
    awk -v want="$dmarcts_records" 'sum < want { print $1; sum += $2 }' "$work/manifest" |
        while read -r f; do ln -s "$work/xml/$f" "$work/dm/$f"; done
    local line
    "$here/dmarcts.sh" "$work/dm" | tee "$work/dmarcts.out" || true
    line=$(grep '^dmarcts ' "$work/dmarcts.out" || true)
    if [[ -z $line ]]; then
        SKIP[dmarcts]="dmarcts.sh failed (its output is above)"
        return 0
    fi
    # shellcheck disable=SC2086
    keep dmarcts ${line#dmarcts }
    R[dmarcts.cpu_total]=$(calc "${R[dmarcts.cpu_seconds]} + ${R[dmarcts.server_cpu_seconds]}")
}

# --- peak RSS ------------------------------------------------------------------

# rss_of ROW FILE: peak RSS of mailsec report ingest of FILE into a fresh SQLite.
rss_of() {
    local row=$1 file=$2 rc=0 wall rss
    rm -f "$work"/rss.db*
    /usr/bin/time -f '%e %M' -o "$work/time" \
        "$mailsec" report ingest --json --db "sqlite:$work/rss.db" "$file" >"$work/rss.json" 2>"$work/rss.err" || rc=$?
    if ((rc > 1)) || ! jq -e '.tally.records' "$work/rss.json" >/dev/null 2>&1; then
        SKIP[$row]="mailsec report ingest exited $rc: $(head -n 1 "$work/rss.err")"
        echo "$row: failed: ${SKIP[$row]}"
        return 0
    fi
    read -r wall rss < <(tail -n 1 "$work/time")
    keep "$row" seconds="$wall" rss_kb="$rss" records="$(jq .tally.records "$work/rss.json")"
    echo "$row: $(jq -c .tally "$work/rss.json"), ${wall}s, peak RSS ${rss} KiB"
    rm -f "$work"/rss.db*
}

run_rss() {
    if ! have_ingest; then
        SKIP[rss_big]="no 'mailsec report ingest' in $mailsec yet"
        SKIP[rss_mbox]=${SKIP[rss_big]}
        echo "peak RSS: skipped: ${SKIP[rss_big]}"
        return 0
    fi
    echo "peak RSS: one report of $big_bytes of XML (gzip): $(/usr/bin/python3 "$here/gen_corpus.py" big \
        "$work/big.xml.gz" --bytes "$big_bytes")"
    rss_of rss_big "$work/big.xml.gz"
    rm -f "$work/big.xml.gz"

    # The generator takes a report count: size it from a small mbox.
    local probe=200 per n
    /usr/bin/python3 "$here/gen_corpus.py" mbox "$work/probe.mbox" --reports $probe --records "$records" >/dev/null
    per=$(($(stat -c %s "$work/probe.mbox") / probe))
    rm -f "$work/probe.mbox"
    n=$(($(size_bytes "$mbox_bytes") / per + 1))
    echo "peak RSS: an mbox of $mbox_bytes ($n reports): $(/usr/bin/python3 "$here/gen_corpus.py" mbox \
        "$work/big.mbox" --reports "$n" --records "$records")"
    rss_of rss_mbox "$work/big.mbox"
    rm -f "$work/big.mbox"
}

# --- the tables ------------------------------------------------------------------

row() { # row KEY LABEL INPUT
    local key=$1 label=$2 input=$3
    if [[ -n ${SKIP[$key]:-} || -z ${R[$key.seconds]:-} ]]; then
        printf '%-34s %-14s %s\n' "$label" "$input" "skipped: ${SKIP[$key]:-not run (PARTS)}"
        return
    fi
    local recs=${R[$key.records]} secs=${R[$key.seconds]} bytes=${R[$key.xml_bytes]:-${R[corpus.xml_bytes]}}
    local cpu=${R[$key.cpu_total]}
    printf '%-34s %-14s %10d %9.2f %12.0f %9.1f %8.2f %12.0f %9.1f\n' "$label" "$input" "$recs" "$secs" \
        "$(calc "$recs / $secs")" "$(calc "$bytes / 1e6 / $secs")" "$cpu" \
        "$(calc "$recs / $cpu")" "$(calc "$bytes / 1e6 / $cpu")"
}

measured() { [[ -z ${SKIP[$1]:-} && -n ${R[$1.seconds]:-} ]]; }
rate() { # rate KEY [seconds|cpu_total]: records/s, or nothing
    if measured "$1"; then calc "${R[$1.records]} / ${R[$1.${2:-seconds}]}"; fi
}
mbps() { # mbps KEY [seconds|cpu_total]: MB of XML per second, or nothing
    if measured "$1"; then calc "${R[$1.xml_bytes]:-${R[corpus.xml_bytes]}} / 1e6 / ${R[$1.${2:-seconds}]}"; fi
}
ratio() { # ratio A B: A / B, or nothing when either is missing
    if [[ -n $1 && -n $2 ]]; then calc "$1 / $2"; fi
}
mib() { # mib KEY: peak RSS in MiB, or nothing
    if [[ -z ${SKIP[$1]:-} && -n ${R[$1.rss_kb]:-} ]]; then calc "${R[$1.rss_kb]} / 1024"; fi
}

target() { # target LABEL MEASURED(wall) MEASURED(CPU) FORMAT GOAL TEST(awk, on x)
    local label=$1 x=$2 xc=$3 fmt=$4 goal=$5 test=$6 shown met
    if [[ -z $x ]]; then
        printf '%-56s %11s %11s %10s %s\n' "$label" "-" "-" "$goal" "not measured"
        return
    fi
    # shellcheck disable=SC2059 # the format is ours
    shown=$(printf "$fmt" "$x")
    # shellcheck disable=SC2059
    [[ -n $xc ]] && xc=$(printf "$fmt" "$xc")
    met=$(awk -v x="$x" "BEGIN { print ($test) ? \"yes\" : \"NO\" }")
    printf '%-56s %11s %11s %10s %s\n' "$label" "$shown" "${xc:--}" "$goal" "$met"
}

load() { echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

report() {
    echo
    echo "machine at the start: $start_load; at the end: $(load)"
    echo "Seconds: wall clock. CPU s: the tool's, plus its database server's for PostgreSQL and MariaDB."
    printf '%-34s %-14s %10s %9s %12s %9s %8s %12s %9s\n' tool input records seconds records/s "MB/s" \
        "CPU s" "rec/CPU s" "MB/CPU s"
    row expat "expat_only, no handlers" ".gz corpus"
    row expat_h "expat_only, minimal handlers" ".gz corpus"
    row sqlite "mailsec ingest -> SQLite" ".gz corpus"
    row sqlite_j1 "mailsec ingest --jobs 1 -> SQLite" ".gz corpus"
    [[ -n $before ]] && row sqlite_before "BEFORE's ingest -> SQLite" ".gz corpus"
    row pgsql "mailsec ingest -> PostgreSQL" ".gz corpus"
    [[ -n $before ]] && row pgsql_before "BEFORE's ingest -> PostgreSQL" ".gz corpus"
    row dmarcts "dmarcts-report-parser -> MariaDB" ".xml, first"
    echo
    echo "Met: judged on wall clock; the CPU column is the same ratio on CPU time (client + server)."
    printf '%-56s %11s %11s %10s %s\n' target "wall" "CPU" goal met
    target "ingest into SQLite, MB/s / expat_only's (no handlers)" \
        "$(ratio "$(mbps sqlite)" "$(mbps expat)")" \
        "$(ratio "$(mbps sqlite cpu_total)" "$(mbps expat cpu_total)")" '%.2f' '>= 0.50' 'x >= 0.5'
    if [[ -n $before ]]; then
        target "the same, BEFORE's build" \
            "$(ratio "$(mbps sqlite_before)" "$(mbps expat)")" \
            "$(ratio "$(mbps sqlite_before cpu_total)" "$(mbps expat cpu_total)")" '%.2f' '>= 0.50' 'x >= 0.5'
        target "ingest into SQLite: this build's speed / BEFORE's" \
            "$(ratio "$(mbps sqlite)" "$(mbps sqlite_before)")" \
            "$(ratio "$(mbps sqlite cpu_total)" "$(mbps sqlite_before cpu_total)")" '%.2f' '(info)' 'x > 0'
    fi
    if [[ -n $before ]]; then
        target "ingest into PostgreSQL: this build's speed / BEFORE's" \
            "$(ratio "$(mbps pgsql)" "$(mbps pgsql_before)")" \
            "$(ratio "$(mbps pgsql cpu_total)" "$(mbps pgsql_before cpu_total)")" '%.2f' '(info)' 'x > 0'
    fi
    target "the same, --jobs 1" \
        "$(ratio "$(mbps sqlite_j1)" "$(mbps expat)")" \
        "$(ratio "$(mbps sqlite_j1 cpu_total)" "$(mbps expat cpu_total)")" '%.2f' '>= 0.50' 'x >= 0.5'
    target "mailsec -> SQLite records/s / dmarcts -> MariaDB's" \
        "$(ratio "$(rate sqlite)" "$(rate dmarcts)")" \
        "$(ratio "$(rate sqlite cpu_total)" "$(rate dmarcts cpu_total)")" '%.0fx' '>= 50x' 'x >= 50'
    target "mailsec -> PostgreSQL records/s / dmarcts -> MariaDB's" \
        "$(ratio "$(rate pgsql)" "$(rate dmarcts)")" \
        "$(ratio "$(rate pgsql cpu_total)" "$(rate dmarcts cpu_total)")" '%.0fx' '>= 50x' 'x >= 50'
    target "peak RSS, ingest of one report of $big_bytes (XML, gzip)" "$(mib rss_big)" "" \
        '%.1f MiB' '<= 64 MiB' "x * 1024 <= $RSS_LIMIT_KB"
    target "peak RSS, ingest of an mbox of $mbox_bytes (target: 10G)" "$(mib rss_mbox)" "" \
        '%.1f MiB' '<= 64 MiB' "x * 1024 <= $RSS_LIMIT_KB"
}

start_load=$(load)
if want expat || want sqlite || want pgsql || want dmarcts; then
    make_corpus
fi
want expat && run_expat
want sqlite && run_sqlite
want pgsql && run_pgsql
want dmarcts && run_dmarcts
want rss && run_rss
report
