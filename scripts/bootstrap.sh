#!/usr/bin/env bash
# The README's first command: install the Debian packages mailsec needs,
# build it, and run it on the example data in examples/.
#
#   scripts/bootstrap.sh            (as root, or a user who may sudo)
#
# Builds into build/; the binary is build/src/mailsec.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

packages=$(sed 's/#.*//' scripts/deps.txt | xargs)
missing=()
for p in $packages; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
    echo "== Installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== Building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILSEC_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"

echo "== Example: checking the records in examples/records.txt"
scripts/demo.sh build/src/mailsec
