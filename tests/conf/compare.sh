#!/usr/bin/env bash
# compare.sh MAILSEC: what the real tools say about each configuration in
# data/, against `mailsec conf audit` on the same files.
#  - every warning or error of `postconf -c DIR -n` / `postconf -c DIR -M`
#    and `doveconf -c FILE -n` that names a file and line has a finding of
#    the matching kind at that file and line:
#      postconf "missing '='", "bad field count"      -> conf.syntax
#      postconf "overriding earlier entry"             -> conf.duplicate
#      doveconf "Obsolete setting in F:N"              -> conf.deprecated
#      doveconf "line N: Unknown setting"              -> conf.wrong-version
#      doveconf "line N: No matches"                   -> conf.include-missing
#      doveconf "line N: Unexpected '}'", "Missing '}' (section started at F:N)"
#                                                      -> conf.syntax
#  - a configuration the tools accept without a word gets none of those
#    codes from mailsec either (but conf.deprecated for Postfix: postconf
#    warns about deprecated parameters only from 3.9, DEPRECATION_README;
#    Debian 12 has 3.7).
set -uo pipefail
BIN=$1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source tests/lib/testlib.sh


# has_finding JSON CODE LOCATION
has_finding() {
    json_true --arg c "$2" --arg l "$3" 'any(.results[0].diagnostics[]; .code == $c and .location == $l)' "$1" >/dev/null
}

# The tool's complaints as "CODE LOCATION" lines.
postconf_expect() {
    local dir=$1
    postconf -c "$dir" -n 2>&1 >/dev/null |
        sed -n -e "s/^postconf: fatal: \(.*\), line \([0-9]*\): missing '='.*/conf.syntax \1:\2/p" \
            -e 's/^postconf: warning: \(.*\), line \([0-9]*\): overriding earlier entry.*/conf.duplicate \1:\2/p' | sort -u
    postconf -c "$dir" -M 2>&1 >/dev/null |
        sed -n 's/^postconf: fatal: file \(.*\): line \([0-9]*\): bad field count.*/conf.syntax \1:\2/p'
}

doveconf_expect() {
    local file=$1
    doveconf -c "$file" -n 2>&1 >/dev/null | sort -u | sed -n \
        -e 's/^doveconf: Warning: Obsolete setting in \([^:]*\):\([0-9]*\):.*/conf.deprecated \1:\2/p' \
        -e 's/^doveconf: Fatal: Error in configuration file \(.*\) line \([0-9]*\): Unknown setting.*/conf.wrong-version \1:\2/p' \
        -e 's/^doveconf: Fatal: Error in configuration file \(.*\) line \([0-9]*\): No matches.*/conf.include-missing \1:\2/p' \
        -e "s/^doveconf: Fatal: Error in configuration file \(.*\) line \([0-9]*\): Unexpected '}'.*/conf.syntax \1:\2/p" \
        -e "s/^doveconf: Fatal: Error in configuration file .*: Missing '}' (section started at \(.*\):\([0-9]*\)).*/conf.syntax \1:\2/p"
}

# Everything the tool printed that is a warning or error, for the "clean" check.
tool_noise() {
    if [[ $1 == postfix ]]; then
        { postconf -c "$2" -n 2>&1 >/dev/null; postconf -c "$2" -M 2>&1 >/dev/null; } | grep -E 'warning|fatal|error'
    else
        doveconf -c "$2" -n 2>&1 >/dev/null | grep -v 'NOTE: You can get a new clean config' | grep -E 'Warning|Error|Fatal'
    fi
}

check() { # KIND PATH
    local kind=$1 path=$2 json=$WORK/out.json expect
    if [[ $kind == postfix ]]; then
        "$BIN" conf audit --postfix "$path" --json >"$json"
        expect=$(postconf_expect "$path")
    else
        "$BIN" conf audit --dovecot "$path" --json >"$json"
        expect=$(doveconf_expect "$path")
    fi
    if ! json_true '.results[0].error == null' "$json" >/dev/null; then
        fail "$path: mailsec could not read it"
        return
    fi
    if [[ -z $expect ]]; then
        local noise
        noise=$(tool_noise "$kind" "$path")
        if [[ -n $noise ]]; then
            fail "$path: the tool complains in a way this test does not map: $noise"
        elif json_true --arg k "$kind" 'any(.results[0].diagnostics[]; .code == "conf.syntax" or .code == "conf.duplicate" or (.code == "conf.deprecated" and $k == "dovecot") or .code == "conf.wrong-version" or .code == "conf.include-missing")' "$json" >/dev/null; then
            fail "$path: the tool is silent, mailsec reports $(jq -c '[.results[0].diagnostics[] | select(.code | test("syntax|duplicate|deprecated|wrong-version|include")) | [.code, .location]]' "$json")"
        else
            ok "$path: the tool is silent, and so is mailsec's parser"
        fi
        return
    fi
    while read -r code location; do
        if has_finding "$json" "$code" "$location"; then
            ok "$path: $code at $location, where the tool complains"
        else
            fail "$path: the tool complains at $location; mailsec has no $code there: $(jq -c '[.results[0].diagnostics[] | [.code, .location]]' "$json")"
        fi
    done <<<"$expect"
}

D=tests/conf/data
for dir in $D/debian/postfix $D/debian-notls/postfix $D/seed/postfix $D/cases/pf-*; do
    check postfix "$dir"
done
for file in $D/debian/dovecot/dovecot.conf $D/seed/dovecot/dovecot.conf $D/cases/dv-*.conf; do
    # 2.4 syntax: Debian 12 has no 2.4 doveconf; those files are tested by parsing (conf-audit.test)
    grep -q '^dovecot_config_version' "$file" && continue
    check dovecot "$file"
done
finish compare
