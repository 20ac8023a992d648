#!/usr/bin/env bash
# symbols.sh LIBRARY SOURCE_DIR: the library's surface is its promise.
#   1. libmailsec.so exports exactly the names in lib/libmailsec.sym (no
#      internal function, whatever its name, is visible to a program that
#      links the library, and nothing listed is missing);
#   2. that list is exactly what include/mailsec/*.h declare: the functions
#      (not static inline ones, not function-pointer types) and the extern
#      data. A function added to a header and not to the list, or left in
#      the list after leaving the headers, fails here.
set -uo pipefail
lib=$1 src=$2
list=$(grep -E '^[A-Za-z_]' "$src/lib/libmailsec.sym" | sort)
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDRBV]$/ {print $3}' | sort)
declared=$(/usr/bin/python3 - "$src/include/mailsec" <<'PY'
import glob, re, sys
names = set()
for path in glob.glob(sys.argv[1] + "/*.h"):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    inline = set(re.findall(r"static\s+inline[^;{(]*\b(\w+)\s*\(", text))
    for name in re.findall(r"\b(ms_\w+)\s*\((?!\s*\*)", text):
        if name not in inline:
            names.add(name)
    names.update(re.findall(r"\bextern\s+const\s+\w+\s+(\w+)\s*\[", text))
print("\n".join(sorted(names)))
PY
)
status=0
report() { # TITLE NAMES
    [[ -z $2 ]] && return
    echo "FAIL - $1:"
    sed 's/^/         /' <<<"$2"
    status=1
}
report "exported by $(basename "$lib") but not in lib/libmailsec.sym" "$(comm -13 <(echo "$list") <(echo "$exported"))"
report "in lib/libmailsec.sym but not exported" "$(comm -23 <(echo "$list") <(echo "$exported"))"
report "declared in include/mailsec but not in lib/libmailsec.sym" "$(comm -13 <(echo "$list") <(echo "$declared"))"
report "in lib/libmailsec.sym but declared in no public header" "$(comm -23 <(echo "$list") <(echo "$declared"))"
if ((status == 0)); then
    echo "ok   - $(wc -l <<<"$exported") symbols exported, all of them and only them declared in include/mailsec"
fi
exit $status
