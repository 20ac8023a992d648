# Shared by the SQL test scripts (sourced): run SQL in a scratch database
# of the server that tests/lib/pgsql.sh or mariadb.sh started.
#
#   sql_open ENGINE INFOFILE [ENCODING]
#                                  a fresh database for this test (PostgreSQL:
#                                  in ENCODING, UTF8 by default, with CREATE
#                                  EXTENSION email; MariaDB: the functions are
#                                  server-wide, created by the
#                                  sql-mariadb-install fixture)
#   sql_run < SQL                  runs statements; stdout: the rows of each
#                                  SELECT, columns tab-separated, NULL as
#                                  NULL, booleans as PostgreSQL prints them
#                                  (t/f) or MariaDB (1/0); stderr: errors.
#                                  Stops at the first error, status non-zero.
#   sql_close                      drops the database
#
# String literals follow the SQL standard in both engines (MariaDB runs
# with NO_BACKSLASH_ESCAPES): 'it''s', backslashes are plain characters.

SQL_ENGINE= SQL_DB= SQL_INFO=
declare -A SQL_KEYS=()

sql_info() { sed -n "s/^$1=//p" "$SQL_INFO"; }

# The info file's keys, read once (a client runs for every case).
sql_load_info() {
    local key value
    SQL_KEYS=()
    while IFS='=' read -r key value; do
        SQL_KEYS[$key]=$value
    done <"$SQL_INFO"
}

sql_client() {
    local db=$1
    ((${#SQL_KEYS[@]})) || sql_load_info
    case $SQL_ENGINE in
    pgsql)
        PGCLIENTENCODING=UTF8 "${SQL_KEYS[PSQL]}" -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -P null=NULL \
            -h "${SQL_KEYS[HOST]}" -p "${SQL_KEYS[PORT]}" -U "${SQL_KEYS[USER]}" -d "$db" -f -
        ;;
    mariadb)
        "${SQL_KEYS[CLIENT]}" --no-defaults --protocol=tcp -h "${SQL_KEYS[HOST]}" -P "${SQL_KEYS[PORT]}" \
            -u "${SQL_KEYS[USER]}" ${db:+-D "$db"} -N -B -r --default-character-set=utf8mb4 \
            --init-command="SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')"
        ;;
    esac
}

sql_open() {
    SQL_ENGINE=$1 SQL_INFO=$2
    local encoding=${3:-UTF8}
    [[ -f $SQL_INFO ]] || { echo "no server: $SQL_INFO is missing (did the start fixture fail?)" >&2; return 1; }
    SQL_DB=t_$$_$RANDOM
    case $SQL_ENGINE in
    pgsql)
        echo "CREATE DATABASE $SQL_DB TEMPLATE template0 ENCODING '$encoding' LC_COLLATE 'C' LC_CTYPE 'C';" |
            sql_client postgres || return 1
        echo "CREATE EXTENSION email;" | sql_client "$SQL_DB"
        ;;
    mariadb)
        echo "CREATE DATABASE $SQL_DB CHARACTER SET utf8mb4;" | sql_client ""
        ;;
    *) echo "unknown engine $SQL_ENGINE" >&2; return 1 ;;
    esac
}

sql_run() { sql_client "$SQL_DB"; }

sql_close() {
    [[ -n $SQL_DB ]] || return 0
    case $SQL_ENGINE in
    pgsql) echo "DROP DATABASE IF EXISTS $SQL_DB;" | sql_client postgres ;;
    mariadb) echo "DROP DATABASE IF EXISTS $SQL_DB;" | sql_client "" ;;
    esac
    SQL_DB=
}

# The engine's spelling of a boolean result.
sql_bool() {
    case $SQL_ENGINE:$1 in
    pgsql:true) echo t ;;
    pgsql:false) echo f ;;
    mariadb:true) echo 1 ;;
    mariadb:false) echo 0 ;;
    esac
}

# Hex of a string's bytes, for loading arbitrary bytes through SQL.
sql_hex_literal() {
    case $SQL_ENGINE in
    pgsql) echo "convert_from(decode('$1', 'hex'), 'UTF8')" ;;
    mariadb) echo "UNHEX('$1')" ;;
    esac
}
