#!/usr/bin/env bash
# signverify.sh MAILSEC SOURCE_DIR: DKIM verification against real signers.
#
# For each case of tests/data/dkim/signed-cases.txt: sign a message from
# tests/data/dkim/messages with the real signers (dkimpy's dkimsign, OpenDKIM's
# opendkim-testmsg, or dkimpy's sign() for l= and x=) and the test-only keys
# in tests/data/dkim/keys, whose public halves the DNS test bed serves
# (tests/dnsbed/zones/dkimtest.example.zone); break it as the case says;
# then check that `mailsec dkim verify` gives the expected result and reason
# for every signature, and that dkimpy's verifier, asked the same DNS,
# reaches the same verdict.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/json.sh"
bin=$1 src=$2
data=$src/tests/data/dkim
here=$src/tests/dkim
py=/usr/bin/python3 # Debian's python, where python3-dkim lives
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for tool in dkimsign /usr/sbin/opendkim-testmsg "$py" jq; do
    command -v "$tool" >/dev/null || { echo "FAIL - $tool is not installed (scripts/deps.txt)"; exit 1; }
done
. "$(dirname "${BASH_SOURCE[0]}")/../lib/dnsbed.sh"
domain=dkimtest.example

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# sign_one SPEC < in > out
sign_one() {
    read -r -a w <<<"$1"
    case ${w[0]} in
    dkimsign)
        local canon=${w[3]} alg=${w[4]:-rsa-sha256}
        dkimsign --hcanon "${canon%/*}" --bcanon "${canon#*/}" --signalg "$alg" \
            "${w[1]}" "$domain" "$data/keys/${w[2]}"
        ;;
    dkimpy)
        "$py" "$here/dkimpy-sign.py" "${w[@]:3}" "${w[1]}" "$domain" "$data/keys/${w[2]}"
        ;;
    opendkim)
        # -C: CRLF line ends in the signature field; without it
        # opendkim-testmsg 2.11.0~beta2 garbles the end of b=
        /usr/sbin/opendkim-testmsg -C -d "$domain" -s "${w[1]}" -k "$data/keys/${w[2]}"
        ;;
    *) return 1 ;;
    esac
}

# mutate KIND FILE: change the signed message in place
mutate() {
    local f=$2
    case $1 in
    none) ;;
    subject) sed -i 's/^Subject: .*/Subject: Changed after signing/' "$f" ;;
    body) awk 'b && !done && /[a-z]/ { sub(/[a-z]+/, "CHANGED"); done = 1 } /^\r?$/ { b = 1 } { print }' "$f" >"$f.new" && mv "$f.new" "$f" ;;
    append) printf 'Appended by a mailing list\n' >>"$f" ;;
    truncate) sed -i '$d' "$f" ;;
    crlf) sed -i 's/\r\?$/\r/' "$f" ;;
    refold) sed -i 's/^Subject: \([^ ]*\) /Subject:   \1  \n\t  /' "$f" ;;
    spaces) awk 'b { sub(/\r?$/, "   ") } /^\r?$/ { b = 1 } { print }' "$f" >"$f.new" && mv "$f.new" "$f" ;;
    from2) { printf 'From: Mallory <mallory@example.net>\n'; cat "$f"; } >"$f.new" && mv "$f.new" "$f" ;;
    *) return 1 ;;
    esac
}

# sign_case N NAME MSG SIGNERS MUTATION: makes $work/N.eml; problems go to
# $work/N.problems. Signing is slow (every signer is a Python start-up), so
# the cases are signed two at a time and verified afterwards.
sign_case() {
    local n=$1 name=$2 msg=$3 signers=$4 mutation=$5
    local f=$work/$n.eml step=0 spec
    : >"$work/$n.problems"
    cp "$data/messages/$msg" "$f.0"
    IFS='+' read -r -a specs <<<"$signers"
    for spec in "${specs[@]}"; do
        spec=$(trim "$spec")
        if ! sign_one "$spec" <"$f.$step" >"$f.$((step + 1))" 2>"$f.err"; then
            echo "signer failed: $spec: $(head -c 300 "$f.err")" >>"$work/$n.problems"
        fi
        step=$((step + 1))
    done
    mv "$f.$step" "$f"
    mutate "$mutation" "$f" || echo "unknown mutation $mutation" >>"$work/$n.problems"
}

names=() expects=() codes_list=() refs=() opts=() n=0
while IFS='|' read -r name msg signers mutation expected codes dkimpy options; do
    name=$(trim "$name")
    [[ -z $name || $name == \#* ]] && continue
    n=$((n + 1))
    names[n]=$name expects[n]=$(trim "$expected") codes_list[n]=$(trim "$codes") refs[n]=$(trim "$dkimpy")
    opts[n]=$(trim "${options:-}")
    while (($(jobs -rp | wc -l) >= 2)); do wait -n; done
    sign_case "$n" "$name" "$(trim "$msg")" "$signers" "$(trim "$mutation")" &
done <"$data/signed-cases.txt"
wait

# dkimpy's verdicts, all files in one run: "FILE WORD..." per line
files=()
for ((i = 1; i <= n; i++)); do [[ ${refs[i]} == same ]] && files+=("$work/$i.eml"); done
"$py" "$here/dkimpy-verify.py" "$resolver" "${files[@]}" >"$work/dkimpy.out" 2>"$work/dkimpy.err" ||
    { echo "FAIL - dkimpy-verify.py: $(head -c 500 "$work/dkimpy.err")"; exit 1; }

passed=0 failed=0
for ((i = 1; i <= n; i++)); do
    f=$work/$i.eml name=${names[i]} expected=${expects[i]} codes=${codes_list[i]} dkimpy=${refs[i]}
    read -r -a options <<<"${opts[i]}"
    mapfile -t problems <"$work/$i.problems"
    "$bin" dkim verify --json --resolver "$resolver" --trust-anchor "$anchor" --timeout 5 \
        ${options[@]+"${options[@]}"} "$f" >"$work/out.json" 2>"$work/err"
    got=$(jq -r '[.results[0].signatures[] | "\(.result)/\(.reason)"] | join(" ")' "$work/out.json" 2>/dev/null)
    [[ $got == "$expected" ]] || problems+=("mailsec: \"$got\", expected \"$expected\"")
    # anything on stderr (a sanitizer report, a leak) is a failure too
    [[ -s $work/err ]] && problems+=("stderr: $(head -c 1000 "$work/err")")
    if [[ $codes != - ]]; then
        for code in $codes; do
            json_true --arg c "$code" 'any(.results[0].signatures[].diagnostics[]; .code == $c)' \
                "$work/out.json" >/dev/null || problems+=("no $code finding")
        done
    fi
    if [[ $dkimpy == same ]]; then
        ref=$(awk -v f="$f" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "$work/dkimpy.out")
        ours=$(jq -r '[.results[0].signatures[] | if .result == "pass" then "pass" else "fail" end] | join(" ")' "$work/out.json")
        [[ -n $ref && $ref == "$ours" ]] || problems+=("dkimpy says \"$ref\", mailsec \"$ours\"")
    fi
    if ((${#problems[@]} == 0)); then
        echo "ok   - $name ($expected; dkimpy: $dkimpy)${opts[i]:+ with ${opts[i]}}"
        passed=$((passed + 1))
    else
        echo "FAIL - $name"
        printf '       %s\n' "${problems[@]}"
        head -c 2000 "$work/out.json" | sed 's/^/       /'
        failed=$((failed + 1))
    fi
done
echo "dkim signverify: $passed passed, $failed failed"
((failed == 0 && passed > 0))
