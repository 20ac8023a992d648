#!/usr/bin/env bash
# runpath.sh FILE...: no RUNPATH or RPATH entry of these ELF files (the
# mailsec binary, libmailsec, the SQLite extension, as built) is empty or
# relative. The loader reads an empty entry (as in "/build/lib:") as the
# current directory, a relative one as relative to it: either way a library
# planted where the command is run would be loaded.
set -uo pipefail
passed=0 failed=0
for file in "$@"; do
    if [[ ! -f $file ]]; then
        echo "FAIL - $file: missing"
        failed=$((failed + 1))
        continue
    fi
    paths=$(readelf -d "$file" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]$/\2/p')
    bad=
    while IFS= read -r path; do
        [[ -z $path ]] && continue
        # split on ':' keeping empty fields, the last one too
        IFS=: read -r -a entries <<<"$path:"
        for entry in "${entries[@]}"; do
            [[ $entry == /* || $entry == '$ORIGIN'* ]] || bad+=" \"$entry\" in [$path]"
        done
    done <<<"$paths"
    if [[ -n $bad ]]; then
        echo "FAIL - $(basename "$file"): empty or relative entry:$bad"
        failed=$((failed + 1))
    else
        echo "ok   - $(basename "$file"): ${paths:-no RUNPATH}"
        passed=$((passed + 1))
    fi
done
echo "runpath.sh: $passed passed, $failed failed"
((failed == 0 && passed > 0))
