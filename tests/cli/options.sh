#!/usr/bin/env bash
# options.sh MAILSEC SOURCE_DIR MANPAGE: every long option that any command's
# --help shows is in the manual page (MANPAGE, made by the build from
# docs/mailsec.1.in and src/options/*.opts, where it is written \-\-name) and
# in the documentation (README.md or docs/*.md, as --name), and the command's
# code handles it: given with a value and then --help, it is never refused as
# "in its src/options file but not handled" (cli_parse says so when an
# option's function does not know it). The commands are read from the binary
# itself: `mailsec --help` lists the groups, each group's --help its commands.
set -uo pipefail
bin=$1 src=$2 man=$3
passed=0 failed=0

commands() {
    local group
    for group in $("$bin" --help | sed -n '/^Groups:/,/^$/p' | awk '/^  [a-z]/ {print $1}'); do
        if "$bin" "$group" --help | grep -q '^Commands:'; then
            "$bin" "$group" --help | sed -n '/^Commands:/,/^$/p' | grep -E '^  [a-z]+( |$)' |
                awk -v g="$group" '{print g " " $1}'
        else
            echo "$group"
        fi
    done | sort -u
}

docs=$(cat "$src/README.md" "$src"/docs/*.md)
while read -r command; do
    [[ -z $command ]] && continue
    # shellcheck disable=SC2086 # a command is a group and a word
    if ! help=$("$bin" $command --help 2>&1); then
        echo "FAIL - mailsec $command --help fails"; failed=$((failed + 1)); continue
    fi
    for option in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sort -u); do
        problems=()
        grep -qF -- "${option//-/\\-}" "$man" || problems+=("not in the manual page")
        grep -qE -- "${option}([^a-z0-9-]|\$)" <<<"$docs" || problems+=("not in README.md or docs/*.md")
        # A value (a flag takes it as an argument) and --help: parsing stops
        # at --help, or earlier at a value the option refuses, never at an
        # option the code does not know.
        # shellcheck disable=SC2086 # a command is a group and a word
        refusal=$("$bin" $command "$option" x --help 2>&1 >/dev/null)
        [[ $refusal == *"but not handled"* ]] && problems+=("not handled by the command's code")
        if ((${#problems[@]} > 0)); then
            echo "FAIL - mailsec $command: $option ${problems[*]}"; failed=$((failed + 1))
        else
            passed=$((passed + 1))
        fi
    done
done < <(commands)
echo "options: $passed passed, $failed failed"
((failed == 0 && passed > 0))
