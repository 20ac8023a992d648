#!/usr/bin/env bash
# The documented MariaDB install and uninstall steps, as CTest fixture
# steps around the MariaDB tests (docs/sql.md):
#
#   mariadb-udf.sh install INFOFILE    runs install.sql twice (it must be
#                                      re-runnable), checks mysql.func
#   mariadb-udf.sh uninstall INFOFILE  runs uninstall.sql, checks that no
#                                      function is left
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

action=$1 SQL_ENGINE=mariadb SQL_INFO=$2
[[ -f $SQL_INFO ]] || { echo "FAIL - no server: $SQL_INFO is missing"; exit 1; }

registered() {
    echo "SELECT GROUP_CONCAT(CONCAT(name, ':', ret) ORDER BY name) FROM mysql.func WHERE dl = 'mailsec_email.so';" |
        sql_client mysql
}

# mysql.func's ret: 0 STRING, 2 INTEGER
EXPECTED="email_diagnosis:0,email_domain:0,email_local:0,email_normalize:0,is_email:2"
failed=0
case $action in
install)
    for run in first second; do
        if sql_client "" <"$(sql_info INSTALL_SQL)"; then
            echo "ok   - install.sql, $run run"
        else
            echo "FAIL - install.sql, $run run"
            failed=1
        fi
    done
    got=$(registered)
    if [[ $got == "$EXPECTED" ]]; then
        echo "ok   - mysql.func holds the five functions"
    else
        echo "FAIL - mysql.func: expected '$EXPECTED', got '$got'"
        failed=1
    fi
    got=$(echo "SELECT is_email('john.doe@example.com');" | sql_client "" 2>&1)
    if [[ $got == 1 ]]; then
        echo "ok   - is_email answers after install"
    else
        echo "FAIL - is_email after install: $got"
        failed=1
    fi
    ;;
uninstall)
    if sql_client "" <"$(sql_info UNINSTALL_SQL)"; then
        echo "ok   - uninstall.sql"
    else
        echo "FAIL - uninstall.sql"
        failed=1
    fi
    got=$(registered)
    if [[ $got == NULL ]]; then
        echo "ok   - mysql.func holds none of the functions"
    else
        echo "FAIL - mysql.func still holds: $got"
        failed=1
    fi
    ;;
*) echo "usage: $0 install|uninstall INFOFILE" >&2; exit 2 ;;
esac
exit $failed
