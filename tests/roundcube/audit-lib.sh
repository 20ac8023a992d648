# What the roundcube audit tests share (sourced, not run): the releases,
# an installation made clean, and checks on the audit's JSON.
#
# The releases are ../shared/roundcube/roundcubemail-X.Y.Z.tar.gz beside the
# source tree, or $MAILSEC_ROUNDCUBE_DIR; without them the test says so and
# is skipped (exit 77).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/json.sh"

RC_RELEASES=${MAILSEC_ROUNDCUBE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/shared/roundcube}

rc_need_release() {
    if [[ ! -f $RC_RELEASES/roundcubemail-$1.tar.gz ]]; then
        echo "SKIP: no Roundcube release $1 in $RC_RELEASES (set MAILSEC_ROUNDCUBE_DIR)"
        exit 77
    fi
}

# rc_release VERSION: the unpacked release (once per test) under $WORK/rel.
rc_release() {
    local dir=$WORK/rel/roundcubemail-$1
    if [[ ! -d $dir ]]; then
        mkdir -p "$WORK/rel"
        tar -xzf "$RC_RELEASES/roundcubemail-$1.tar.gz" -C "$WORK/rel"
    fi
    echo "$dir"
}

# rc_config_file: the configuration of a clean installation (its database
# in $1/db), on stdout.
rc_config_text() {
    cat <<CONF
<?php
// a clean configuration: every setting the audit looks at, set right
\$config = [];
\$config['db_dsnw'] = 'sqlite:///$1/db/roundcube.db?mode=0640';
\$config['imap_host'] = 'ssl://mail.example.com:993';
\$config['smtp_host'] = 'tls://mail.example.com:587';
\$config['des_key'] = 'Zq7vR2mXc9LpT4wKs8NbY1fH';
\$config['plugins'] = ['archive', 'zipdownload'];
\$config['enable_installer'] = false;
CONF
}

# rc_install VERSION DEST: the release installed as its INSTALL says, done
# right: installer removed, a local config readable by its group only,
# a SQLite database made from the release's own initial schema.
rc_install() {
    local src
    src=$(rc_release "$1")
    # hard links: fast, and the tests only add, remove or replace files
    # (never write into one of the release's)
    cp -al "$src" "$2"
    rm -rf "$2/installer" "$2/public_html/installer.php"
    mkdir -p "$2/db"
    # the release's initial schema, made once per release and copied
    if [[ ! -f $src.db ]]; then
        sqlite3 "$src.db.new" <"$src/SQL/sqlite.initial.sql"
        mv "$src.db.new" "$src.db"
    fi
    cp "$src.db" "$2/db/roundcube.db"
    rc_config_text "$2" >"$2/config/config.inc.php"
    chmod 640 "$2/config/config.inc.php"
}

# rc_audit OUT ARGS...: runs the audit with --json into OUT; the exit
# status in $RC_STATUS.
rc_audit() {
    local out=$1
    shift
    set +e
    "$MAILSEC" roundcube audit --json "$@" >"$out" 2>"$out.err"
    RC_STATUS=$?
    set -e
}

# codes OUT: the finding codes, one per line, sorted.
rc_codes() {
    jq -r '.results[0].diagnostics[].code' "$1" | sort -u
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_code OUT CODE [LOCATION-SUFFIX]: a finding with CODE, its location
# ending in LOCATION-SUFFIX when given.
RC_ASSERTED=()
expect_code() {
    local out=$1 code=$2 where=${3:-}
    RC_ASSERTED+=("$code")
    json_true --arg c "$code" --arg w "$where" \
        '[.results[0].diagnostics[] | select(.code == $c and ((.location // "") | endswith($w)))] | length > 0' "$out" ||
        fail "$code${where:+ at *$where} expected; got: $(rc_codes "$out" | tr '\n' ' ') $(cat "$out.err")"
}

# expect_no_code OUT CODE [WHERE]: no CODE (at a location ending in WHERE).
expect_no_code() {
    local out=$1 code=$2 where=${3:-}
    json_true --arg c "$code" --arg w "$where" \
        '[.results[0].diagnostics[] | select(.code == $c and ((.location // "") | endswith($w)))] | length == 0' "$out" ||
        fail "$code${where:+ at *$where} not expected"
}

expect_status() {
    [[ $RC_STATUS == "$1" ]] || fail "exit status $RC_STATUS, expected $1 ($(cat "$2.err"))"
}

# line_of FILE TEXT: the number of the first line holding TEXT.
line_of() {
    grep -nF -- "$2" "$1" | head -1 | cut -d: -f1
}

# rc_codes_listed SCRIPT: the codes this script asserted are exactly its
# lines of tests/data/roundcube/audit-codes.txt (the list the diagnostics
# catalogue reads).
rc_codes_listed() {
    local list asserted
    list=$(awk -v s="$1" '$1 == s { print $2 }' "$(dirname "${BASH_SOURCE[0]}")/../data/roundcube/audit-codes.txt" | sort -u)
    asserted=$(printf '%s\n' "${RC_ASSERTED[@]}" | sort -u)
    [[ $list == "$asserted" ]] ||
        fail "codes asserted and audit-codes.txt differ: $(diff <(echo "$list") <(echo "$asserted") | grep '^[<>]' | tr '\n' ' ')"
}
