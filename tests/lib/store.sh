# What the store tests share (sourced, not run): a store of their own for a
# MODE, and its removal.
#
#   store_for MODE NAME WORK   sqlite: DB is WORK/reports.db; pgsql (and
#                              pgsql-...): a new database mailsec_NAME_PID
#                              on the store-pgsql fixture's server
#                              (MAILSEC_STORE_PG_INFO): DB is its URL, PG_URL
#                              the server's, DBNAME its name. Status 1 when
#                              it cannot be made or MODE is unknown.
#   store_drop                 drops that database (nothing for SQLite)
#   test_store MODE NAME       for a script using testlib.sh: store_for in
#                              its WORK, the database dropped at exit; the
#                              test dies when no store can be made

store_for() {
    local mode=$1 name=$2 work=$3
    case $mode in
    sqlite) DB=$work/reports.db ;;
    pgsql | pgsql-*)
        local info=${MAILSEC_STORE_PG_INFO:?MAILSEC_STORE_PG_INFO is not set}
        PG_URL=$(sed -n 's/^URL=//p' "$info")
        DBNAME=mailsec_${name}_$$
        psql -q "$PG_URL" -c "CREATE DATABASE $DBNAME" >/dev/null || return 1
        DB=${PG_URL%/*}/$DBNAME
        ;;
    *) return 1 ;;
    esac
}

store_drop() {
    [[ -n ${DBNAME:-} ]] && psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $DBNAME" >/dev/null 2>&1
    return 0
}

test_store() {
    on_exit store_drop
    store_for "$1" "$2" "$WORK" || die "could not make a store for mode $1"
}
