#!/usr/bin/env bash
# The views read a SQLite store they may not write (docs/store.md):
#
#   readonly.sh MAILSEC_BINARY
#
#   - as another user (nobody), the store file 0644 in a directory only its
#     owner may write, then the file 0444 in a directory 0555;
#   - on a read-only file system (a read-only bind mount in a mount
#     namespace of its own).
# Each view must answer as it does for the owner, and the store must be
# left exactly as it was: no byte changed, no file made or changed beside
# it. (The owner's own read leaves the write-ahead log's -wal and -shm
# files, as any SQLite reader does; the second part removes them, so the
# other user finds neither and cannot make them.)
# Needs root (to become nobody and to mount); exits 77 (skipped) without.
set -uo pipefail

BIN=$(realpath "$1")
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [[ $(id -u) != 0 ]] || ! command -v setpriv >/dev/null; then
    echo "SKIP - needs root and setpriv"
    exit 77
fi
source tests/lib/testlib.sh
cleanup() {
    mountpoint -q "$WORK/ro" 2>/dev/null && umount "$WORK/ro"
    chmod -R u+w "$WORK" 2>/dev/null
}
on_exit cleanup
chmod 0755 "$WORK"

STORE=$WORK/store
mkdir -m 0755 "$STORE"
"$BIN" report ingest --jobs 1 --db "$STORE/reports.db" tests/data/reports/aggregate/rfc7489-outlook.xml \
    tests/data/reports/tlsrpt/rfc8460-example.json tests/data/reports/failure/rfc6591-message.eml \
    >"$WORK/ingest" 2>&1 || die "ingest: $(cat "$WORK/ingest")"
chmod 0644 "$STORE/reports.db"
before=$(sha256sum <"$STORE/reports.db")
"$BIN" report list --json --db "$STORE/reports.db" >"$WORK/owner.json" || die "list as the owner"

# check WHO DB: every view, run by WHO (a command prefix), answers.
check() {
    local who=$1 db=$2 view out=$WORK/out err=$WORK/err
    for view in "list --json" "summary --json" "sources --json" "export" "tls --json" "failures --json" "show --json 1"; do
        # shellcheck disable=SC2086
        $who "$BIN" report $view --db "$db" >"$out" 2>"$err"
        local status=$?
        if [[ $status != 0 ]]; then
            fail "$who report $view on $db: exit $status: $(head -c 300 "$err")"
            continue
        fi
        ok "$who report $view on $db: exit 0"
        case $view in
        "list --json")
            if cmp -s "$out" "$WORK/owner.json"; then
                ok "$who report list: what the owner sees"
            else
                fail "$who report list: not what the owner sees: $(head -c 300 "$out")"
            fi
            ;;
        "summary --json")
            if json_true '.results[0].messages == 16' "$out" >/dev/null; then
                ok "$who report summary: 16 messages"
            else
                fail "$who report summary: $(head -c 300 "$out")"
            fi
            ;;
        "sources --json")
            if grep -q "cache" "$err"; then
                ok "$who report sources: says it uses the cache"
            else
                fail "$who report sources: does not say it uses the cache: $(head -c 300 "$err")"
            fi
            ;;
        "export")
            if [[ $(wc -l <"$out") == 4 ]]; then
                ok "$who report export: 4 lines"
            else
                fail "$who report export: $(head -c 300 "$out")"
            fi
            ;;
        esac
    done
    if [[ $(sha256sum <"$STORE/reports.db") == "$before" ]]; then
        ok "$who: the store file is unchanged"
    else
        fail "$who: the store file changed"
    fi
    if [[ $(listing) == "$3" ]]; then
        ok "$who: the files beside the store are unchanged"
    else
        fail "$who: the files beside the store changed: $(listing)"
    fi
}
listing() { ls -l --time-style=+%s.%N "$STORE" | sed 1d; }

NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
check "$NOBODY" "$STORE/reports.db" "$(listing)"

# The log's files are empty once every connection has closed.
[[ ! -s $STORE/reports.db-wal ]] || die "the owner's read left a write-ahead log"
rm -f "$STORE/reports.db-wal" "$STORE/reports.db-shm"
chmod 0444 "$STORE/reports.db"
chmod 0555 "$STORE"
check "$NOBODY" "$STORE/reports.db" "$(listing)"
chmod 0755 "$STORE"

# A read-only file system: root may write anything else, not this.
mkdir "$WORK/ro"
if unshare -m true 2>/dev/null; then
    unshare -m bash -c '
        mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" || exit 77
        for view in "list --json" "summary --json" "export" "show --json 1"; do
            "$3" report $view --db "$2/reports.db" >"$4/out.ro" 2>"$4/err.ro" ||
                { echo "report $view on a read-only file system: exit $?: $(head -c 300 "$4/err.ro")"; exit 1; }
        done
        cmp -s "$4/out.ro" /dev/null && { echo "report show: nothing printed"; exit 1; }
        exit 0' _ "$STORE" "$WORK/ro" "$BIN" "$WORK"
    case $? in
    0) ok "read-only file system: every view answers" ;;
    77) echo "(no read-only mount here: that part skipped)" ;;
    *) fail "read-only file system" ;;
    esac
fi

finish "readonly: every view reads a store it may not write"
