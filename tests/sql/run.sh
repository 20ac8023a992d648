#!/usr/bin/env bash
# Runs named SQL cases against a real server (see lib.sh).
#
#   run.sh ENGINE INFOFILE FILE.cases      ENGINE: pgsql or mariadb
#
# A case file holds one case per line:
#   NAME | EXPRESSION | EXPECTED
# EXPRESSION is a value (run as SELECT EXPRESSION) or whole statements
# (when it starts with SELECT, WITH, CREATE, INSERT, UPDATE, DELETE, DROP,
# ALTER, GRANT, SET or DO), of which the last gives the result. EXPECTED is
#   true / false        a boolean (PostgreSQL t/f, MariaDB 1/0)
#   NULL                SQL NULL
#   error: TEXT         the statement fails with an error containing TEXT
#   anything else       the exact text of the single result value
#   setup: STATEMENTS   (a line of its own) run before every later case,
#                       in its session: each case that runs statements
#                       has a new session of the same scratch database;
#                       consecutive value cases expected to succeed share
#                       one (rerun one by one if any of them fails)
#   encoding: NAME      (a line of its own, PostgreSQL) the scratch
#                       database's encoding instead of UTF8
# Blank lines and lines starting with # are ignored. Fields are split at
# " | "; write "\|" for a "|" that must not split (as in " \| "). In
# EXPRESSION, "\n" is a line break (for MariaDB's DELIMITER command).
set -uo pipefail

ENGINE=$1 INFO=$2 FILE=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

WORK=$(mktemp -d)
trap 'sql_close; rm -rf "$WORK"' EXIT
encoding=$(sed -n 's/^encoding:[[:space:]]*//p' "$FILE" | head -n 1)
sql_open "$ENGINE" "$INFO" "$encoding" >"$WORK/open.out" 2>&1 || {
    echo "FAIL - cannot open a scratch database: $(cat "$WORK/open.out")"
    exit 1
}

passed=0 failed=0 setup=
C_NAME=() C_EXPR=() C_EXP=() C_LINE=() C_SETUP=()

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }

is_statement() {
    local re='^(select|with|create|insert|update|delete|drop|alter|grant|set|do)[[:space:]]' rc=1
    shopt -s nocasematch
    [[ $1 =~ $re ]] && rc=0
    shopt -u nocasematch
    return $rc
}

to_sql() {
    local sql=$1
    is_statement "$sql" || sql="SELECT $sql"
    [[ $sql == *\; ]] || sql+=";"
    echo "${sql//\\n/$'\n'}"
}

want_of() {
    case $1 in
    true | false) sql_bool "$1" ;;
    *) echo "$1" ;;
    esac
}

report() {  # NAME LINE SQL PROBLEM
    if [[ -z $4 ]]; then
        echo "ok   - $1"
        passed=$((passed + 1))
    else
        echo "FAIL - $1 ($FILE:$2)"
        echo "       $3"
        echo "       $4"
        failed=$((failed + 1))
    fi
}

run_case() {
    local name=$1 expr=$2 expected=$3 line=$4 setup=$5 sql got want
    sql=$(to_sql "$expr")
    printf '%s\n%s\n' "$setup" "$sql" | sql_run >"$WORK/out" 2>"$WORK/err"
    local status=$?
    got=$(cat "$WORK/out")
    local problem=
    case $expected in
    error:*)
        want=$(trim "${expected#error:}")
        if ((status == 0)); then
            problem="expected an error containing '$want', got success: '$got'"
        elif ! grep -qiF -- "$want" "$WORK/err"; then
            problem="expected an error containing '$want', got: $(cat "$WORK/err")"
        fi
        ;;
    *)
        want=$(want_of "$expected")
        if ((status != 0)); then
            problem="error: $(cat "$WORK/err")"
        elif [[ $got != "$want" ]]; then
            problem="expected '$want', got '$got'"
        fi
        ;;
    esac
    report "$name" "$line" "$sql" "$problem"
}

# Cases I..J-1 that are plain values expected to succeed, under the same
# setup, run in one session (a client per case is slow on a busy machine).
# Should the batch fail as a whole, each case runs on its own, so that the
# error is reported against its case.
run_batch() {
    local i=$1 j=$2 k n=0 sql= lines
    for ((k = i; k < j; k++)); do
        sql+="$(to_sql "${C_EXPR[k]}")"$'\n'
    done
    if printf '%s\n%s' "${C_SETUP[i]}" "$sql" | sql_run >"$WORK/out" 2>"$WORK/err" &&
        mapfile -t lines <"$WORK/out" && ((${#lines[@]} == j - i)); then
        for ((k = i; k < j; k++, n++)); do
            local want problem=
            want=$(want_of "${C_EXP[k]}")
            [[ ${lines[n]} == "$want" ]] || problem="expected '$want', got '${lines[n]}'"
            report "${C_NAME[k]}" "${C_LINE[k]}" "$(to_sql "${C_EXPR[k]}")" "$problem"
        done
        return
    fi
    for ((k = i; k < j; k++)); do
        run_case "${C_NAME[k]}" "${C_EXPR[k]}" "${C_EXP[k]}" "${C_LINE[k]}" "${C_SETUP[k]}"
    done
}

batchable() { ! is_statement "${C_EXPR[$1]}" && [[ ${C_EXP[$1]} != error:* ]]; }

line_no=0
while IFS= read -r line || [[ -n $line ]]; do
    line_no=$((line_no + 1))
    [[ -z ${line//[[:space:]]/} || $line == \#* || $line == encoding:* ]] && continue
    if [[ $line == setup:* ]]; then
        setup+="$(trim "${line#setup:}")"$'\n'
        continue
    fi
    # Split on " | ", then restore escaped bars.
    rest=${line//\\|/$'\x01'}
    if [[ $rest != *" | "*" | "* ]]; then
        echo "FAIL - malformed case ($FILE:$line_no): $line"
        failed=$((failed + 1))
        continue
    fi
    name=${rest%% | *}
    rest=${rest#* | }
    expr=${rest%% | *}
    expected=${rest#* | }
    name=$(trim "${name//$'\x01'/|}")
    expr=$(trim "${expr//$'\x01'/|}")
    expected=$(trim "${expected//$'\x01'/|}")
    C_NAME+=("$name") C_EXPR+=("$expr") C_EXP+=("$expected") C_LINE+=("$line_no") C_SETUP+=("$setup")
done <"$FILE"

count=${#C_NAME[@]} i=0
while ((i < count)); do
    if batchable "$i"; then
        j=$((i + 1))
        while ((j < count)) && batchable "$j" && [[ ${C_SETUP[j]} == "${C_SETUP[i]}" ]]; do
            j=$((j + 1))
        done
        run_batch "$i" "$j"
        i=$j
    else
        run_case "${C_NAME[i]}" "${C_EXPR[i]}" "${C_EXP[i]}" "${C_LINE[i]}" "${C_SETUP[i]}"
        i=$((i + 1))
    fi
done

echo "$(basename "$FILE" .cases) on $ENGINE: $passed passed, $failed failed"
((failed == 0 && passed > 0))
